"""The diff file format (docs/diff.md): bytes in and out of an ``.idiff``
-- the header, the records and their encodings, the body written through
one zstd stream and read back with every check -- and the errors a diff
raises.

Layer: xml / sources / diff (DESIGN.md §2), under :mod:`incrdump.diff`
(which decides what goes into a diff and applies one); over ``_lowlevel``
for the record tuples only: nothing here opens a dump. Everything read is
hostile: lengths are bounded before use, every varint is canonical, every
payload is consumed exactly, and a failure is a :class:`CorruptDiffError`
naming the file and the record.
"""
import os
import struct
import uuid
import zlib

import zstandard

from . import _extra
from . import _lowlevel as L
from ._files import Pending
from .errors import IncrdumpError, UnsupportedVersionError

#: the first 8 bytes of every diff file
MAGIC = b"\x89IDIFF\r\n"
#: (major, minor) written; a reader refuses another major or a newer minor
VERSION = (1, 0)
HEADER_SIZE = 112
_HEADER = struct.Struct("<8sHHI16sQQQQQQQQQI")  # up to the header CRC
assert _HEADER.size + 4 == HEADER_SIZE

# record types (docs/diff.md "Records")
R_END = 0
R_SITEINFO = 1
R_DELETE_PAGE = 2
R_DELETE_REVISION = 3
R_PUT_PAGE = 4
R_PUT_REVISION = 5
_RECORD_NAMES = {R_END: "END", R_SITEINFO: "SITEINFO", R_DELETE_PAGE: "DELETE_PAGE",
                 R_DELETE_REVISION: "DELETE_REVISION", R_PUT_PAGE: "PUT_PAGE",
                 R_PUT_REVISION: "PUT_REVISION"}

# text methods (docs/diff.md "Texts")
T_STORED = 0      # the bytes as they are
T_ZSTD = 1        # one zstd frame, no prefix
T_DELTA_BASE = 2  # zstd frame with a text of the base dump as prefix
T_DELTA_PREV = 3  # zstd frame with the page's previous text of this role in the diff
T_SAME_BASE = 4   # equal to a text of the base dump: no frame

MAX_TEXT = 1 << 30             # as the dump (csrc dump_internal.h DUMP_MAX_TEXT)
MAX_RECORD = (1 << 31) - 1     # payload bytes of one record
DEFAULT_LEVEL = 19
_INT64_MAX = (1 << 63) - 1


class DiffError(IncrdumpError):
    """A diff cannot be written or applied."""


class CorruptDiffError(DiffError, ValueError):
    """The diff file is damaged or truncated: a checksum, length or
    structure test failed. Nothing was changed."""


class WrongBaseError(DiffError):
    """The dump is not the one the diff applies to (another uuid, or
    another sequence number). Nothing was changed."""


class AlreadyAppliedError(WrongBaseError):
    """The dump already is at (or past) the diff's ``to_sequence``."""


# ---- bytes: varints, optional bytes, the reader ----------------------------------------


# Varints as the records' extra bytes write them (unsigned LEB128; signed
# values zigzag-mapped), so the two encoders cannot drift apart.
_uv = _extra._uvarint
_sv = _extra._svarint


def _ob(out, b):
    """Append optional bytes: varint 0 for None, else varint len+1 and the bytes."""
    if b is None:
        out.append(0)
    else:
        _uv(out, len(b) + 1)
        out += b


class _Reader:
    """Decoder over one record's payload; every read is bounds-checked and
    a failure raises CorruptDiffError naming the record."""

    __slots__ = ("b", "pos", "end", "what")

    def __init__(self, b, what):
        self.b, self.pos, self.end, self.what = b, 0, len(b), what

    def fail(self, why):
        raise CorruptDiffError(f"{self.what}: {why}")

    def uv(self):
        b, pos, shift, v = self.b, self.pos, 0, 0
        while True:
            if pos >= self.end:
                self.fail("truncated varint")
            c = b[pos]
            pos += 1
            if shift == 63 and c > 1:
                self.fail("varint over 64 bits")
            v |= (c & 0x7F) << shift
            if c < 0x80:
                if c == 0 and shift:
                    self.fail("over-long varint")
                break
            shift += 7
        self.pos = pos
        return v

    def sv(self):
        u = self.uv()
        return (u >> 1) ^ -(u & 1)

    def u8(self):
        if self.pos >= self.end:
            self.fail("truncated")
        self.pos += 1
        return self.b[self.pos - 1]

    def u32(self):
        if self.pos + 4 > self.end:
            self.fail("truncated")
        self.pos += 4
        return struct.unpack_from("<I", self.b, self.pos - 4)[0]

    def raw(self, n):
        if n > self.end - self.pos:
            self.fail(f"a length of {n} runs past the record")
        self.pos += n
        return bytes(self.b[self.pos - n:self.pos])

    def ob(self):
        n = self.uv()
        return None if n == 0 else self.raw(n - 1)

    def small(self, limit, name):
        v = self.uv()
        if v > limit:
            self.fail(f"{name} {v} out of range")
        return v

    def done(self):
        if self.pos != self.end:
            self.fail(f"{self.end - self.pos} bytes left over")


# ---- records <-> bytes -------------------------------------------------------------------


def _enc_site(rec):
    out = bytearray()
    for v in rec[:8]:
        _ob(out, v)
    _uv(out, len(rec.namespaces))
    for ns in rec.namespaces:
        _sv(out, ns.key)
        _ob(out, ns.name)
        _ob(out, ns.casing)
    return out


def _dec_site(r):
    fields = [r.ob() for _ in range(8)]
    n = r.small(1 << 20, "namespace count")
    nss = [L.NamespaceRec(r.sv(), r.ob(), r.ob()) for _ in range(n)]
    return L.SiteRec(*fields, nss)


def _enc_page(rec, out=None):
    out = bytearray() if out is None else out
    _sv(out, rec.id)
    _sv(out, rec.ns)
    _ob(out, rec.title)
    _uv(out, rec.title_prefix)
    _ob(out, rec.redirect)
    _ob(out, rec.restrictions)
    _ob(out, rec.extra)
    return out


def _dec_page(r):
    return L.PageRec(r.sv(), r.sv(), r.ob(), r.small(0xFFFFFFFF, "title prefix"), r.ob(),
                     r.ob(), r.ob())


def _enc_rev_head(rec, out):
    """The revision's fields and its slots without texts."""
    _sv(out, rec.id)
    _sv(out, rec.page_id)
    _sv(out, rec.parent_id)
    _sv(out, rec.timestamp)
    _ob(out, rec.timestamp_text)
    _uv(out, rec.flags)
    _uv(out, rec.contributor)
    _sv(out, rec.user_id)
    _ob(out, rec.user_text)
    _ob(out, rec.comment)
    _ob(out, rec.sha1)
    _ob(out, rec.extra)
    _uv(out, len(rec.slots))


def _enc_slot(s, out):
    _ob(out, s.role)
    _sv(out, s.origin)
    _ob(out, s.model)
    _ob(out, s.format)
    _ob(out, s.sha1)
    _sv(out, s.size)
    _uv(out, s.flags)
    _ob(out, s.location)
    _ob(out, s.text_id)


def _dec_rev_head(r):
    head = [r.sv(), r.sv(), r.sv(), r.sv(), r.ob(), r.small(0xFFFFFFFF, "revision flags"),
            r.small(255, "contributor kind"), r.sv(), r.ob(), r.ob(), r.ob(), r.ob()]
    nslots = r.small(1 << 16, "slot count")
    return head, nslots


def _dec_slot(r):
    return [r.ob(), r.sv(), r.ob(), r.ob(), r.ob(), r.sv(), r.small(0xFFFFFFFF, "slot flags"),
            r.ob(), r.ob()]


class _TextRef:
    """A text of a PUT_REVISION record as read: how to rebuild it."""

    __slots__ = ("method", "length", "crc", "page", "rev", "slot", "frame", "data")

    def __init__(self, method, length, crc, page=None, rev=None, slot=None, frame=None,
                 data=None):
        self.method, self.length, self.crc = method, length, crc
        self.page, self.rev, self.slot, self.frame, self.data = page, rev, slot, frame, data


def _dec_text(r):
    method = r.u8()
    if method > T_SAME_BASE:
        r.fail(f"unknown text method {method}")
    length = r.uv()
    if length > MAX_TEXT:
        r.fail(f"a text of {length} bytes is over the limit")
    if method == T_STORED:   # the record's CRC covers these bytes
        return _TextRef(method, length, None, data=r.raw(length))
    ref = _TextRef(method, length, r.u32())
    if method in (T_DELTA_BASE, T_SAME_BASE):
        ref.page = r.sv()
    if method != T_ZSTD:
        ref.rev = r.sv()
        ref.slot = r.small(1 << 16, "slot index")
    if method != T_SAME_BASE:
        ref.frame = r.raw(r.uv())
    return ref


# ---- the header --------------------------------------------------------------------------


class DiffHeader:
    """The fixed header of a diff file (docs/diff.md "Header")."""

    __slots__ = ("version", "flags", "uuid", "from_sequence", "to_sequence", "base_pages",
                 "base_revisions", "pages", "revisions", "records", "body_size",
                 "body_raw_size", "body_crc")

    def __init__(self, **kw):
        for name in self.__slots__:
            setattr(self, name, kw.get(name, 0))
        if not kw.get("version"):
            self.version = VERSION

    def pack(self):
        head = _HEADER.pack(MAGIC, self.version[0], self.version[1], self.flags, self.uuid,
                            self.from_sequence, self.to_sequence, self.base_pages,
                            self.base_revisions, self.pages, self.revisions, self.records,
                            self.body_size, self.body_raw_size, self.body_crc)
        return head + struct.pack("<I", zlib.crc32(head))

    @classmethod
    def unpack(cls, data, name):
        if len(data) < 8 or data[:8] != MAGIC:
            raise CorruptDiffError(f"{name}: not an incrdump diff (bad magic)")
        if len(data) < HEADER_SIZE:
            raise CorruptDiffError(f"{name}: truncated header ({len(data)} of {HEADER_SIZE} bytes)")
        (_, major, minor, flags, uuid, frm, to, bp, br, p, r, nrec, bsize, braw,
         bcrc) = _HEADER.unpack_from(data)
        (crc,) = struct.unpack_from("<I", data, _HEADER.size)
        if crc != zlib.crc32(data[:_HEADER.size]):
            raise CorruptDiffError(f"{name}: header checksum mismatch")
        if major != VERSION[0] or minor > VERSION[1]:
            raise UnsupportedVersionError(
                f"{name}: diff format {major}.{minor} is not supported (this incrdump reads "
                f"{VERSION[0]}.0 to {VERSION[0]}.{VERSION[1]})")
        if flags:
            raise UnsupportedVersionError(f"{name}: unknown header flags 0x{flags:x}")
        if to <= frm or to > _INT64_MAX:
            raise CorruptDiffError(f"{name}: sequence {frm} -> {to} is not increasing")
        return cls(version=(major, minor), flags=flags, uuid=uuid, from_sequence=frm,
                   to_sequence=to, base_pages=bp, base_revisions=br, pages=p, revisions=r,
                   records=nrec, body_size=bsize, body_raw_size=braw, body_crc=bcrc)

    @property
    def uuid_text(self):
        return str(uuid.UUID(bytes=bytes(self.uuid)))

    def as_dict(self):
        """The header's fields, for printing."""
        return {"format": "%d.%d" % self.version, "uuid": self.uuid_text,
                "from_sequence": self.from_sequence, "to_sequence": self.to_sequence,
                "base_pages": self.base_pages, "base_revisions": self.base_revisions,
                "pages": self.pages, "revisions": self.revisions, "records": self.records,
                "body_size": self.body_size, "body_raw_size": self.body_raw_size}


def read_header(path):
    """The :class:`DiffHeader` of the diff at ``path`` (checked, not the body)."""
    with open(path, "rb") as f:
        return DiffHeader.unpack(f.read(HEADER_SIZE), os.fspath(path))


# ---- writing -------------------------------------------------------------------------------


class _CrcSink:
    """A file wrapper counting and checksumming what the compressor writes."""

    def __init__(self, f):
        self.f, self.size, self.crc = f, 0, 0

    def write(self, b):
        self.f.write(b)
        self.size += len(b)
        self.crc = zlib.crc32(b, self.crc)
        return len(b)

    def flush(self):
        self.f.flush()


class _DiffFile:
    """A diff being written under a temporary name: records go through one
    zstd stream; :meth:`finish` writes the header and renames."""

    def __init__(self, path, level):
        self.out = Pending(path, True, "the diff")
        self.path = self.out.path
        self.f = self.out.open()
        try:
            self.f.write(b"\0" * HEADER_SIZE)
            self.sink = _CrcSink(self.f)
            self.z = zstandard.ZstdCompressor(level=level).stream_writer(
                self.sink, closefd=False)
        except BaseException:
            self.discard()
            raise
        self.raw = 0
        self.records = 0

    def record(self, rtype, payload):
        n = len(payload)
        if n > MAX_RECORD:
            raise DiffError(f"a {_RECORD_NAMES[rtype]} record of {n} bytes is over the limit")
        head = bytearray((rtype,))
        _uv(head, n)
        crc = zlib.crc32(payload, zlib.crc32(head))
        self.z.write(head)
        self.z.write(payload)
        self.z.write(struct.pack("<I", crc))
        self.raw += len(head) + n + 4
        if rtype != R_END:
            self.records += 1

    def finish(self, header):
        """End the body, write the header, sync; the file stays temporary
        until :meth:`publish`."""
        end = bytearray()
        _uv(end, self.records)
        self.record(R_END, end)
        self.z.flush(zstandard.FLUSH_FRAME)
        header.records = self.records
        header.body_size = self.sink.size
        header.body_raw_size = self.raw
        header.body_crc = self.sink.crc
        self.f.seek(0)
        self.f.write(header.pack())
        self.f.flush()
        os.fsync(self.f.fileno())
        self.f.close()

    def publish(self):
        """Rename the finished file to its name."""
        self.out.publish(sync_dir=True)

    def discard(self):
        """Remove the temporary file."""
        try:
            self.f.close()
        except Exception:
            pass
        self.out.discard()


# ---- reading and applying -------------------------------------------------------------------


class _Body:
    """The records of a diff's body, decompressed as a stream."""

    def __init__(self, f, header, name):
        self.name = name
        f.seek(HEADER_SIZE)
        self.stream = zstandard.ZstdDecompressor().stream_reader(f, read_across_frames=False)
        self.buf = b""
        self.pos = 0
        self.raw = 0
        self.limit = header.body_raw_size

    def _read(self, n):
        pos, buf = self.pos, self.buf
        if pos + n <= len(buf):
            self.pos = pos + n
            out = buf[pos:pos + n]
        else:
            parts = [buf[pos:]]
            have = len(buf) - pos
            while True:
                try:
                    chunk = self.stream.read(max(n - have, 1 << 16))
                except zstandard.ZstdError as e:
                    raise CorruptDiffError(
                        f"{self.name}: the body does not decompress ({e})") from None
                if not chunk:
                    raise CorruptDiffError(
                        f"{self.name}: the body ends in the middle of a record")
                if have + len(chunk) >= n:
                    take = n - have
                    parts.append(chunk[:take])
                    self.buf, self.pos = chunk, take
                    break
                parts.append(chunk)
                have += len(chunk)
            out = b"".join(parts)
        self.raw += n
        if self.raw > self.limit:
            raise CorruptDiffError(f"{self.name}: the body is longer than its header says")
        return out

    def records(self):
        """Yield (index, type, payload) for every record up to and
        including END, checking each record's CRC; then check nothing
        follows."""
        index = 0
        while True:
            t = self._read(1)
            head = bytearray(t)
            n, shift = 0, 0
            while True:
                c = self._read(1)[0]
                head.append(c)
                n |= (c & 0x7F) << shift
                if c < 0x80:
                    if c == 0 and shift:
                        raise CorruptDiffError(f"{self.name}: record {index}: over-long length")
                    break
                shift += 7
                if shift > 28:
                    raise CorruptDiffError(f"{self.name}: record {index}: bad length")
            if n > MAX_RECORD:
                raise CorruptDiffError(f"{self.name}: record {index}: a length of {n} bytes")
            rtype = t[0]
            if rtype not in _RECORD_NAMES:
                raise CorruptDiffError(f"{self.name}: record {index}: unknown type {rtype}")
            payload = self._read(n)
            (crc,) = struct.unpack("<I", self._read(4))
            if crc != zlib.crc32(payload, zlib.crc32(head)):
                raise CorruptDiffError(f"{self.name}: record {index} "
                                       f"({_RECORD_NAMES[rtype]}): checksum mismatch")
            yield index, rtype, payload
            if rtype == R_END:
                break
            index += 1
        if self.pos < len(self.buf) or self.stream.read(1):
            raise CorruptDiffError(f"{self.name}: data after the END record")
        if self.raw != self.limit:
            raise CorruptDiffError(f"{self.name}: the body is shorter than its header says")


def _parse(rtype, payload, what):
    """The decoded content of one record (see docs/diff.md "Records")."""
    r = _Reader(payload, what)
    if rtype == R_SITEINFO:
        v = _dec_site(r)
    elif rtype in (R_DELETE_PAGE, R_DELETE_REVISION, R_END):
        v = r.uv() if rtype == R_END else r.sv()
    elif rtype == R_PUT_PAGE:
        v = _dec_page(r)
        if v.title is None or v.title_prefix > len(v.title):
            r.fail("page without a title, or a prefix longer than it")
    else:
        head, nslots = _dec_rev_head(r)
        slots = []
        for _ in range(nslots):
            s = _dec_slot(r)
            s.append(_dec_text(r) if s[6] & L.SLOT_HAS_TEXT else None)
            slots.append(s)
        v = (head, slots)
    r.done()
    return v


def _open_checked(path):
    """(file, header, name) with the file-level checks done: header,
    size, body CRC."""
    name = os.fspath(path)
    f = open(name, "rb")  # noqa: SIM115 -- the caller closes it
    try:
        header = DiffHeader.unpack(f.read(HEADER_SIZE), name)
        size = os.fstat(f.fileno()).st_size
        if size != HEADER_SIZE + header.body_size:
            raise CorruptDiffError(
                f"{name}: {size} bytes, the header says {HEADER_SIZE + header.body_size}"
                f" ({'truncated' if size < HEADER_SIZE + header.body_size else 'data after the body'})")
        crc = 0
        while True:
            chunk = f.read(1 << 20)
            if not chunk:
                break
            crc = zlib.crc32(chunk, crc)
        if crc != header.body_crc:
            raise CorruptDiffError(f"{name}: body checksum mismatch")
    except BaseException:
        f.close()
        raise
    return f, header, name


def verify(path):
    """Check a whole diff file without a dump: header, body checksum,
    every record's length, CRC and structure, the END record and the
    record count. Returns the :class:`DiffHeader`; raises
    :class:`CorruptDiffError` (or UnsupportedVersionError)."""
    f, header, name = _open_checked(path)
    with f:
        _verify_body(f, header, name)
    return header


def records(path):
    """Yield the records of a verified diff as ``(name, value)`` pairs, for
    inspection: ("SITEINFO", SiteRec), ("DELETE_PAGE", page id),
    ("DELETE_REVISION", revision id), ("PUT_PAGE", PageRec),
    ("PUT_REVISION", (RevRec without texts, [text or None per slot])) where
    a text is a dict: method (T_* name), length and, for references, page,
    rev and slot. The whole file is verified first (:func:`verify`)."""
    f, header, name = _open_checked(path)
    with f:
        _verify_body(f, header, name)
        methods = {T_STORED: "STORED", T_ZSTD: "ZSTD", T_DELTA_BASE: "DELTA_BASE",
                   T_DELTA_PREV: "DELTA_PREV", T_SAME_BASE: "SAME_BASE"}
        for index, rtype, payload in _Body(f, header, name).records():
            if rtype == R_END:
                return
            v = _parse(rtype, payload, f"{name}: record {index}")
            if rtype == R_PUT_REVISION:
                head, slots = v
                texts = []
                for s in slots:
                    ref = s[9]
                    texts.append(None if ref is None else {
                        "method": methods[ref.method], "length": ref.length,
                        "page": ref.page, "rev": ref.rev, "slot": ref.slot,
                        "frame_bytes": len(ref.frame) if ref.frame is not None else None})
                v = (L.RevRec(*head, [L.SlotRec(*s[:9], None) for s in slots]), texts)
            yield _RECORD_NAMES[rtype], v


def _verify_body(f, header, name):
    count = None
    for index, rtype, payload in _Body(f, header, name).records():
        v = _parse(rtype, payload, f"{name}: record {index} ({_RECORD_NAMES[rtype]})")
        if rtype == R_END:
            count = v
            if index != v or v != header.records:
                raise CorruptDiffError(f"{name}: END counts {v} records, {index} were read, "
                                       f"the header says {header.records}")
    if count is None:
        raise CorruptDiffError(f"{name}: no END record")
