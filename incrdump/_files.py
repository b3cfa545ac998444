"""Files that appear under their name only when complete.

Layer: a leaf helper of the Python package (imports only ``errors``), used
by everything that writes a new file the user names: ``load``/``compact``
(a dump), ``xmlwrite.export`` (XML) and ``diff`` (a diff dump). The file is
written beside its destination as ``.NAME.XXXXXXXX.partial`` (so the rename
stays on one file system) and renamed onto NAME by :meth:`Pending.publish`;
:meth:`Pending.discard` removes it. A crash leaves at most a ``.partial``
file, never a half-written NAME.
"""
import os
import secrets

from .errors import DumpIOError, ExistsError

__all__ = ["Pending"]


class Pending:
    """A new file at ``tmp``, to become ``path``. ``overwrite`` False: an
    existing path is an ExistsError (before anything is created). ``what``
    names the file in errors ("the dump", "the XML")."""

    def __init__(self, path, overwrite, what="the file"):
        self.path = os.fspath(path)
        if not overwrite and os.path.exists(self.path):
            raise ExistsError(f"{self.path}: already exists (overwrite it with --force)", 10)
        if os.path.isdir(self.path):
            raise ExistsError(f"{self.path}: is a directory", 10)
        directory, name = os.path.split(os.path.abspath(self.path))
        while True:
            # mode 0o666 less the umask, as for any new file (mkstemp's 0o600 is not)
            self.tmp = os.path.join(directory, f".{name}.{secrets.token_hex(4)}.partial")
            try:
                self.fd = os.open(self.tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o666)
            except FileExistsError:
                continue
            except OSError as e:
                raise DumpIOError(f"{self.path}: cannot create {what} ({e.strerror})",
                                  3, e.errno) from None
            return

    def open(self, buffering=-1):
        """The temporary file as a binary file object (owns the descriptor)."""
        fd, self.fd = self.fd, None
        return os.fdopen(fd, "w+b", buffering=buffering)

    def close(self):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def publish(self, sync_dir=False):
        """Rename the (closed, complete) temporary file onto its name."""
        self.close()
        os.replace(self.tmp, self.path)
        if sync_dir:  # make the rename itself durable
            try:
                fd = os.open(os.path.dirname(os.path.abspath(self.path)), os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
            except OSError:
                pass

    def discard(self):
        """Remove the temporary file (idempotent)."""
        self.close()
        try:
            os.unlink(self.tmp)
        except FileNotFoundError:
            pass
