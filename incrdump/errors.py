"""Exceptions raised by incrdump, all rooted at :class:`IncrdumpError`.

Layer: leaf of the Python package (imports nothing of ours). Each C status
code maps to exactly one class; classes mix in the builtin whose meaning
matches, so ``except KeyError`` and ``except OSError`` work as users expect.
"""


class IncrdumpError(Exception):
    """Root of every error raised by incrdump."""

    code = None

    def __init__(self, message="", code=None, errno=None):
        super().__init__(message)
        if code is not None:
            self.code = code
        self.message = message
        if errno:
            self.errno = errno

    def __str__(self):
        return self.message


class NotFoundError(IncrdumpError, KeyError):
    """No such key, page, revision or file."""

    code = 1

    def __str__(self):  # KeyError would repr() the message
        return self.message


class CorruptDumpError(IncrdumpError):
    """The file fails a checksum or structural test; nothing returned is trusted."""

    code = 2


class DumpIOError(IncrdumpError, OSError):
    """The operating system refused a read, write or sync."""

    code = 3

    def __init__(self, message="", code=None, errno=None):
        IncrdumpError.__init__(self, message, code)
        self.errno = errno
        self.strerror = message

    def __str__(self):
        return self.message


class UnsupportedVersionError(IncrdumpError):
    """The file was written in a format version this build cannot read (or write)."""

    code = 4


class BusyError(IncrdumpError):
    """Another writer holds the dump."""

    code = 5


class InvalidArgumentError(IncrdumpError, ValueError):
    """A bad argument: key too long, wrong key type, unknown flag."""

    code = 6


class MisuseError(IncrdumpError):
    """A call out of sequence: no transaction open, handle closed, ..."""

    code = 8


class ReadOnlyError(IncrdumpError):
    """A write on a handle opened read-only."""

    code = 9


class ExistsError(IncrdumpError):
    """An insert-only write found the key already present."""

    code = 10


_BY_CODE = {
    cls.code: cls
    for cls in (
        NotFoundError,
        CorruptDumpError,
        DumpIOError,
        UnsupportedVersionError,
        BusyError,
        InvalidArgumentError,
        MisuseError,
        ReadOnlyError,
        ExistsError,
    )
}


def error_for(code, message, errno=None):
    """The exception instance for a C status code (MemoryError for DUMP_NOMEM)."""
    if code == 7:
        return MemoryError(message or "out of memory")
    cls = _BY_CODE.get(code)
    if cls is None:
        return IncrdumpError(f"unknown status {code}: {message}", code)
    return cls(message, code, errno)
