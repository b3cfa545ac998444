"""Open a dump input, compressed or not, as one binary stream of its XML.

Layer: xml / sources (DESIGN.md §2), over the standard library, the
``zstandard`` package and the ``7z`` program; nothing of ours but ``errors``.
``open_source(path)`` takes a path or ``"-"`` (standard input), recognizes
the compression by its magic bytes (never by the name), and returns a
:class:`Source`: a read-only binary file object of the decompressed bytes.

=========  ==========================  =======================================
format     magic                       decoder
=========  ==========================  =======================================
bzip2      ``BZh1``..``BZh9``          :mod:`bz2` (multistream files read whole)
gzip       ``1f 8b``                   :mod:`gzip` (every member)
xz         ``fd 37 7a 58 5a 00``       :mod:`lzma` (every stream)
zstd       ``28 b5 2f fd`` / skippable ``zstandard``, frame by frame
7z         ``37 7a bc af 27 1c``       ``7z e -so`` (Debian: p7zip-full)
plain      anything else               none (the XML parser judges it)
=========  ==========================  =======================================

Invariant: every failure reaches the caller as a :class:`SourceError`
naming the file -- missing (:class:`SourceNotFoundError`), damaged
(:class:`CorruptSourceError`) or cut short (:class:`TruncatedSourceError`);
a truncated or corrupt input is never returned as a shorter clean stream.
Checksums cover whole blocks (bzip2), members (gzip), blocks or streams
(xz, zstd) or the whole file (7z), so bytes handed out before the error may
already be damaged: a caller that writes must discard its work on any error.
Memory stays bounded whatever the compression ratio: every decoder is asked
for at most one read's worth of output at a time.
"""
import bz2
import gzip
import io
import lzma
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import zlib

from .errors import (
    CorruptSourceError,
    SourceError,
    SourceNotFoundError,
    TruncatedSourceError,
)

try:
    import zstandard
except ImportError:  # pragma: no cover - a declared dependency
    zstandard = None

__all__ = ["Source", "open_source", "detect_compression", "COMPRESSIONS"]

#: Names :func:`detect_compression` returns (None means plain).
COMPRESSIONS = ("bz2", "gzip", "xz", "zstd", "7z")

_MAGIC_LEN = 6
_ZSTD_FRAME = b"\x28\xb5\x2f\xfd"
# Formats we recognize only to refuse them with a clear message.
_UNSUPPORTED = (
    (b"PK\x03\x04", "zip"),
    (b"\x04\x22\x4d\x18", "lz4"),
    (b"\x5d\x00\x00", "legacy lzma (.lzma)"),
)

_ZSTD_INPUT = 1024  # compressed bytes per decompress() call: bounds the output
_READ_ALL_BLOCK = 1 << 20
_PROBE_LIMIT = 4 << 20  # a bzip2 block is at most 900 kB of output


def detect_compression(prefix):
    """The compression of data starting with ``prefix`` (its first 6 bytes).

    Returns one of :data:`COMPRESSIONS`, or None for anything else (plain
    XML, or data the XML parser will reject).
    """
    if prefix[:3] == b"BZh" and prefix[3:4] in b"123456789" and len(prefix) > 3:
        return "bz2"
    if prefix[:2] == b"\x1f\x8b":
        return "gzip"
    if prefix[:6] == b"\xfd7zXZ\x00":
        return "xz"
    if prefix[:4] == _ZSTD_FRAME:
        return "zstd"
    if len(prefix) >= 4 and prefix[1:4] == b"\x2a\x4d\x18" and prefix[0] & 0xF0 == 0x50:
        return "zstd"  # a skippable frame first
    if prefix[:6] == b"7z\xbc\xaf\x27\x1c":
        return "7z"
    return None


class Source(io.BufferedIOBase):
    """The decompressed bytes of one input, read-only and forward-only.

    ``name`` is the display name used in errors (the path, or ``<stdin>``);
    ``compression`` is one of :data:`COMPRESSIONS` or None. Reads raise
    :class:`SourceError` subclasses only. ``close()`` releases the file and
    stops a decompressor process; closing early is fine. ``size`` is the
    input's size in bytes (compressed, as stored) when it is a regular
    file read here, else None; :meth:`position` says how far reading got.
    """

    def __init__(self, name, compression, reader, closers=(), file=None):
        super().__init__()
        self.name = name
        self.compression = compression
        self._reader = reader
        self._closers = list(closers)
        self._eof = False
        self._file = file
        self.size = None
        if file is not None:
            try:
                st = os.fstat(file.fileno())
                if stat.S_ISREG(st.st_mode):
                    self.size = st.st_size
            except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
                pass
        if self.size is None:
            self._file = None

    def position(self):
        """Bytes of the input (compressed, as stored) consumed so far, or
        None when unknown (a pipe, a 7z archive read by the 7z program).
        Decoders read ahead a little, so this runs slightly ahead of the
        data handed out; with :attr:`size` it gives a fraction done."""
        f = self._file
        if f is None or self.closed:
            return None
        try:
            return f.tell()
        except (OSError, ValueError):
            return None

    # -- reading ---------------------------------------------------------
    def readable(self):
        """True: a Source is for reading."""
        return True

    def read(self, size=-1):
        """Up to ``size`` decompressed bytes (all that remain if negative)."""
        self._check_open()
        if size is None or size < 0:
            chunks = []
            while True:
                chunk = self.read(_READ_ALL_BLOCK)
                if not chunk:
                    return b"".join(chunks)
                chunks.append(chunk)
        if self._eof or size == 0:
            return b""
        try:
            data = self._reader.read(size)
        except SourceError:
            raise
        except EOFError as e:
            raise TruncatedSourceError(
                f"{self.name}: truncated {self.compression} data ({e})", self.name
            ) from e
        except (lzma.LZMAError, zlib.error, _ZstdError) as e:
            raise CorruptSourceError(
                f"{self.name}: corrupt {self.compression} data ({e})", self.name
            ) from e
        except OSError as e:
            if e.errno is None and self.compression is not None:
                # bz2 and gzip report bad data as a bare OSError
                raise CorruptSourceError(
                    f"{self.name}: corrupt {self.compression} data ({e})", self.name
                ) from e
            raise SourceError(f"{self.name}: read failed: {e.strerror or e}", self.name, e.errno) from e
        if not data:
            self._eof = True
        return data

    def read1(self, size=-1):
        """Like :meth:`read`, but from a plain pipe return what is there
        now rather than wait for ``size`` bytes."""
        if self.compression is None and not self._eof and size and size > 0 \
                and hasattr(self._reader, "read1"):
            self._check_open()
            try:
                data = self._reader.read1(size)
            except OSError as e:
                raise SourceError(f"{self.name}: read failed: {e.strerror or e}", self.name, e.errno) from e
            if not data:
                self._eof = True
            return data
        return self.read(size)

    def readinto(self, buffer):
        """Fill ``buffer`` with decompressed bytes; return how many."""
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def probe(self, limit=_PROBE_LIMIT):
        """Read ahead (and drop) up to ``limit`` bytes; return the
        :class:`SourceError` this raises, or None.

        For a reader that met bad XML: decoders check their CRCs only at
        the end of a block (bzip2: 900 kB, 7z: the whole file), so damaged
        data may reach the parser first. If the source fails just after,
        that failure is the real cause.
        """
        if self.compression is None or self.closed:
            return None
        try:
            while limit > 0:
                data = self.read(min(limit, _READ_ALL_BLOCK))
                if not data:
                    return None
                limit -= len(data)
        except SourceError as e:
            return e
        return None

    # -- life cycle ------------------------------------------------------
    def close(self):
        """Release the file and any decompressor process (idempotent)."""
        if self.closed:
            return
        closers, self._closers = self._closers, []
        try:
            for close in reversed(closers):
                close()
        finally:
            super().close()

    def _check_open(self):
        if self.closed:
            raise ValueError(f"{self.name}: read on a closed Source")

    def __repr__(self):
        return f"<Source {self.name!r} compression={self.compression}>"


if zstandard is not None:
    _ZstdError = zstandard.ZstdError
else:  # pragma: no cover
    class _ZstdError(Exception):
        pass


class _PrefixedReader(io.RawIOBase):
    """``prefix`` then the rest of ``raw``: magic sniffing on a pipe."""

    def __init__(self, prefix, raw):
        super().__init__()
        self._prefix = prefix
        self._raw = raw

    def readable(self):
        return True

    def readinto(self, buffer):
        if self._prefix:
            n = min(len(buffer), len(self._prefix))
            buffer[:n] = self._prefix[:n]
            self._prefix = self._prefix[n:]
            return n
        data = self._raw.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


class _ZstdReader(io.RawIOBase):
    """Zstandard frames one after another, with a truncation check.

    ``zstandard``'s stream_reader ends quietly on a cut frame, so frames are
    decoded here with ``decompressobj``: a frame that has begun and not
    reached its end when the input runs out is a TruncatedSourceError.
    Input goes in 1 KiB at a time so a pathological frame cannot expand
    into more than a few tens of MB per call.
    """

    def __init__(self, raw, name):
        super().__init__()
        self._raw = raw
        self._name = name
        self._dctx = zstandard.ZstdDecompressor()
        self._obj = None  # the frame being decoded, None between frames
        self._pending = memoryview(b"")  # input not yet given to a decoder
        self._out = b""
        self._pos = 0  # bytes of _out already returned
        self._done = False

    def readable(self):
        return True

    def readinto(self, buffer):
        while self._pos == len(self._out) and not self._done:
            self._step()
        n = min(len(buffer), len(self._out) - self._pos)
        buffer[:n] = self._out[self._pos:self._pos + n]
        self._pos += n
        return n

    def _step(self):
        if not self._pending:
            self._pending = memoryview(self._raw.read(64 * 1024))
            if not self._pending:
                if self._obj is not None:
                    raise TruncatedSourceError(
                        f"{self._name}: truncated zstd data (the input ends inside a frame)",
                        self._name,
                    )
                self._done = True
                return
        if self._obj is None:
            self._obj = self._dctx.decompressobj()
        piece, self._pending = self._pending[:_ZSTD_INPUT], self._pending[_ZSTD_INPUT:]
        self._out = b""  # let the previous output go before the next is made
        self._out = self._obj.decompress(piece)
        self._pos = 0
        if self._obj.eof:
            self._pending = memoryview(self._obj.unused_data + bytes(self._pending))
            self._obj = None


class _ProcessReader(io.RawIOBase):
    """The standard output of a decompressor program, checked at its end.

    At end of output the program's exit status is read: non-zero means the
    archive was damaged or cut, reported with the program's own message.
    """

    def __init__(self, argv, name, describe):
        super().__init__()
        self._name = name
        self._describe = describe
        self._stderr = tempfile.TemporaryFile()
        try:
            self._proc = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self._stderr
            )
        except OSError as e:
            self._stderr.close()
            raise SourceError(f"{name}: cannot run {argv[0]}: {e}", name, e.errno) from e
        self._finished = False

    def readable(self):
        return True

    def readinto(self, buffer):
        if self._finished:
            return 0
        n = self._proc.stdout.readinto(buffer)
        if n:
            return n
        self._finished = True
        rc = self._proc.wait()
        if rc != 0:
            self._stderr.seek(0)
            raise _7z_error(self._name, self._stderr.read(), rc)
        return 0

    def close(self):
        if self._proc.poll() is None:
            self._proc.kill()  # only our own child, by its handle
        self._proc.stdout.close()
        self._proc.wait()
        self._stderr.close()
        super().close()


def _7z_error(name, stderr, rc):
    """The SourceError for a failed 7z run: its error lines, without the
    banner; "Unexpected end of archive" means truncated."""
    lines = []
    for line in stderr.decode("utf-8", "replace").splitlines():
        line = " ".join(line.split())
        if not line or line == "ERRORS:" or line.startswith(("7-Zip", "p7zip", "Scanning")):
            continue
        if line.startswith("ERROR: ") and " : " in line:
            line = line.rsplit(" : ", 1)[0][7:]  # "ERROR: Data Error : a.xml"
            if line == name or os.path.basename(name) == line:
                continue  # "ERROR: path : path" only repeats the name
        if line.startswith("Open ERROR: "):
            line = line[12:]
        if line not in lines:
            lines.append(line)
    msg = "; ".join(lines)[:300] or f"exit status {rc}"
    if "end of archive" in msg.lower():
        return TruncatedSourceError(f"{name}: truncated 7z archive (7z: {msg})", name)
    return CorruptSourceError(f"{name}: damaged 7z archive (7z: {msg})", name)


def _check_single_7z_entry(path, name):
    """Refuse a 7z archive holding more than one file (its contents would be
    concatenated); a damaged archive fails here already."""
    proc = subprocess.run(
        ["7z", "l", "-slt", "-bd", "--", path],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out = proc.stdout.decode("utf-8", "replace")
    if proc.returncode != 0:
        raise _7z_error(name, proc.stderr or proc.stdout, proc.returncode)
    entries = out.split("\n----------\n", 1)[-1]
    files = [
        block for block in entries.split("\n\n")
        if "Path = " in block and "Folder = +" not in block
    ]
    if len(files) != 1:
        raise SourceError(f"{name}: the 7z archive holds {len(files)} files, expected one dump", name)


def _open_file(path, name):
    try:
        return open(path, "rb")
    except FileNotFoundError as e:
        raise SourceNotFoundError(f"{name}: no such file", name, e.errno) from e
    except IsADirectoryError as e:
        raise SourceError(f"{name}: is a directory", name, e.errno) from e
    except OSError as e:
        raise SourceError(f"{name}: cannot open: {e.strerror or e}", name, e.errno) from e


def open_source(path, *, name=None):
    """Open ``path`` (a path, or ``"-"`` for standard input) as a :class:`Source`.

    The compression is found from the first bytes, whatever the name says.
    ``name`` overrides the name used in messages. Raises
    :class:`SourceError` (or a subclass).

    Decoding runs in the calling thread: measured on the benchmark corpus,
    a decoding thread (the decoders release the GIL) or a separate ``xz``
    process made parsing no faster, as the parser is the slower half.
    """
    if path == "-":
        name = name or "<stdin>"
        raw = sys.stdin.buffer
        owned = None
    else:
        path = os.fspath(path)
        name = name or path
        raw = owned = _open_file(path, name)
    closers = [owned.close] if owned is not None else []
    try:
        if raw.seekable():
            try:
                prefix = raw.read(_MAGIC_LEN)
                raw.seek(0)
            except OSError as e:
                raise SourceError(f"{name}: read failed: {e.strerror or e}", name, e.errno) from e
        else:
            prefix = b""
            while len(prefix) < _MAGIC_LEN:
                more = raw.read(_MAGIC_LEN - len(prefix))
                if not more:
                    break
                prefix += more
            raw = io.BufferedReader(_PrefixedReader(prefix, raw), 1 << 16)
        compression = detect_compression(prefix)
        if compression is None:
            for magic, label in _UNSUPPORTED:
                if prefix.startswith(magic):
                    raise SourceError(f"{name}: {label} compression is not supported", name)
            reader = raw
        elif compression == "bz2":
            reader = bz2.BZ2File(raw)
        elif compression == "gzip":
            reader = gzip.GzipFile(fileobj=raw, mode="rb")
        elif compression == "xz":
            reader = lzma.LZMAFile(raw)
        elif compression == "zstd":
            if zstandard is None:  # pragma: no cover
                raise SourceError(f"{name}: zstd input needs the 'zstandard' package", name)
            reader = _ZstdReader(raw, name)
        else:  # 7z: needs a seekable file, read by the 7z program
            if owned is None:
                raise SourceError(
                    f"{name}: a 7z archive cannot be read from a pipe; pass its path", name
                )
            if shutil.which("7z") is None:
                raise SourceError(
                    f"{name}: 7z archives need the 7z program (Debian package p7zip-full)", name
                )
            _check_single_7z_entry(path, name)
            owned.close()
            closers = []
            raw = None
            reader = _ProcessReader(["7z", "e", "-so", "-bd", "--", path], name, "7z")
        if reader is not raw:
            closers.append(reader.close)
        source = Source(name, compression, reader, closers,
                        file=raw if raw is not None and raw.seekable() else None)
    except BaseException:
        for close in reversed(closers):
            close()
        raise
    return source
