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


# ---- errors of the XML and source layers (Python only: no C status code) ----


class SourceError(IncrdumpError, OSError):
    """An input dump could not be opened or read: ``filename`` names it.

    Raised for a missing or unreadable file, an unsupported compression, a
    failing decompressor program, and (through the subclasses) for corrupt or
    truncated compressed data. Also an ``OSError``, with ``errno`` set when
    the operating system gave one.
    """

    def __init__(self, message="", filename=None, errno=None):
        IncrdumpError.__init__(self, message)
        self.errno = errno
        self.strerror = message
        self.filename = filename

    def __str__(self):
        return self.message

    def __reduce__(self):  # OSError's own would drop filename
        return type(self), (self.message, self.filename, self.errno)


class SourceNotFoundError(SourceError, FileNotFoundError):
    """The input file does not exist (also a ``FileNotFoundError``)."""


class CorruptSourceError(SourceError):
    """The compressed input is damaged: the decompressor rejected its data."""


class TruncatedSourceError(CorruptSourceError):
    """The compressed input ends before its end-of-stream marker."""


class XMLFormatError(IncrdumpError, ValueError):
    """The XML is malformed or is not a MediaWiki export we can read.

    ``filename``, ``line`` (1-based) and ``column`` (1-based, in characters
    as expat counts them) say where; ``reason`` is the message without the
    position. ``str()`` reads ``file:line:column: reason``.
    """

    def __init__(self, reason, filename=None, line=None, column=None):
        self.reason = reason
        self.filename = filename
        self.line = line
        self.column = column
        where = ":".join(str(x) for x in (filename, line, column) if x is not None)
        IncrdumpError.__init__(self, f"{where}: {reason}" if where else reason)


class UnsafeXMLError(XMLFormatError):
    """The XML declares a DTD, entities or external resources: refused unread."""


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
