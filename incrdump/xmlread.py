"""Stream MediaWiki export XML (schema 0.3 to 0.11) into Python objects.

Layer: xml / sources (DESIGN.md §2), over ``sources``, ``errors`` and the
standard library's expat binding; nothing here writes anything.

    with XMLReader("enwiki-pages-meta-history.xml.bz2") as dump:
        dump.siteinfo.dbname
        for page in dump:            # pages, lazily
            for rev in page:         # revisions, lazily, as the parse goes
                rev.id, rev.timestamp, rev.user.name, rev.text, rev.sha1

One expat event stream drives everything: a page is handed out as soon as
its header (title, ns, id, redirect, restrictions) is read, and its
revisions are parsed only as the caller asks for them. Moving on to the
next page skips (parses and drops) what is left of the current one. Memory
is therefore bounded by one revision plus one input block, whatever the size
of the file or the length of a page's history.

Fidelity: every element and attribute of the export schema is kept with
its presence (None means absent, ``""`` present and empty), attributes in
document order, the order of each object's child elements (``elements``),
and the timestamp's original text. Anything else -- ``<upload>``,
``<logitem>``, ``<discussionthreadinginfo>``, elements newer than 0.11 -- is
kept as a :class:`RawElement` (re-serialized XML, attributes in order) with
its position, never dropped. What expat cannot tell (``<x/>`` versus
``<x />``, attribute quoting, character references) is not recorded.

Security (DESIGN.md §8): a document type declaration with an internal
subset or an external identifier is refused before any of it is used, so
no entity is ever declared, expanded or fetched (no file or network
access); parameter entity parsing is off. Entity amplification ("billion
laughs") cannot start without declarations; libexpat >= 2.4 (this Python:
see ``pyexpat.EXPAT_VERSION``) also stops amplification on its own. A
single value longer than ``max_value_size`` characters is an error rather
than an exhausted machine.

Errors: malformed XML, a missing required field, a duplicate page id or an
out-of-place element raise :class:`XMLFormatError` with file, line and
column; a damaged compressed input raises :class:`SourceError`.
"""
import codecs
import collections
import dataclasses
import datetime
import hashlib
import os
import re
from typing import Optional
from xml.parsers import expat

from .errors import MisuseError, UnsafeXMLError, XMLFormatError
from .sources import open_source
from .values import Deleted, MainSlotFields, namespace_names, namespace_of

__all__ = [
    "XMLReader",
    "SiteInfo",
    "Namespace",
    "Page",
    "Revision",
    "Contributor",
    "Slot",
    "Deleted",
    "RawElement",
    "sha1_base36",
]

# Bytes of input per expat Parse() call, and expat's character data buffer
# (fewer callbacks). 256 KiB each: as fast as 1 MiB on the benchmark corpus,
# and peak RSS of an import from .xz 136 MB instead of 195 MB -- glibc raises
# its mmap threshold to the largest block freed, so 1 MiB blocks sent every
# smaller allocation to a fragmenting heap.
_BLOCK = 1 << 18
_CHAR_BUFFER = 1 << 18
DEFAULT_MAX_VALUE_SIZE = 1 << 28  # characters in one value or raw element

_INT = re.compile(r"\s*-?[0-9]+\s*\Z")

# allow_control_chars: the C0 controls XML 1.0 forbids travel through expat
# as the noncharacters U+FDD0 + byte (32 of each), then are mapped back.
_CONTROL_BYTES = bytes(b for b in range(32) if b not in (9, 10, 13))
_CONTROL_SUB = {b: chr(0xFDD0 + b).encode() for b in _CONTROL_BYTES}
_NONCHAR_UTF8 = re.compile(b"\xef\xb7[\x90-\xaf]")


def sha1_base36(data):
    """MediaWiki's revision hash: SHA-1 of ``data`` in base 36, 31 digits.

    ``data`` is bytes (the UTF-8 text); the result is lower-case and
    zero-padded, exactly as ``<sha1>`` and ``<text sha1="...">`` write it.
    """
    n = int.from_bytes(hashlib.sha1(data).digest(), "big")
    digits = []
    while n:
        n, r = divmod(n, 36)
        digits.append("0123456789abcdefghijklmnopqrstuvwxyz"[r])
    return "".join(reversed(digits)).rjust(31, "0")


# ---- value objects ---------------------------------------------------------


@dataclasses.dataclass(slots=True)
class RawElement:
    """An element kept as XML text because it is not modelled (upload, logitem,
    discussion threading, anything newer than schema 0.11).

    ``xml`` is the element re-serialized from the parse: attributes in
    document order, text escaped, an element without content written
    ``<name ... />``. ``parent`` is the enclosing element's name and
    ``position`` its index among that parent's child elements; ``offset`` is
    the byte offset of its start tag in the decompressed input.
    """

    name: str
    xml: str
    parent: str
    position: int
    offset: int = dataclasses.field(default=0, compare=False)


@dataclasses.dataclass(slots=True)
class Namespace:
    """One ``<namespace key=.. case=..>name</namespace>`` of the siteinfo.

    ``name`` is ``""`` for the main namespace; ``case`` is None when the
    attribute is absent (schema 0.3). ``attributes`` holds all of the
    element's attributes in document order.
    """

    key: int
    name: str
    case: Optional[str] = None
    attributes: tuple = ()


@dataclasses.dataclass(slots=True)
class SiteInfo:
    """The ``<siteinfo>`` block. Absent fields are None.

    ``namespaces`` maps each key to its :class:`Namespace`, in document
    order (None if there is no ``<namespaces>`` element). ``elements``
    lists the child element names in order; ``extras`` keeps anything not
    modelled (e.g. ``<namespacealiases>``) as :class:`RawElement`.
    """

    sitename: Optional[str] = None
    dbname: Optional[str] = None
    base: Optional[str] = None
    generator: Optional[str] = None
    case: Optional[str] = None
    namespaces: Optional[dict] = None
    elements: tuple = ()
    attributes: dict = dataclasses.field(default_factory=dict)
    extras: list = dataclasses.field(default_factory=list)
    _by_name: Optional[dict] = dataclasses.field(default=None, repr=False, compare=False)

    def namespace_of(self, title):
        """The namespace key a prefixed ``title`` belongs to (0 if none).

        Used for schema 0.3, which has no ``<ns>``: the text before the
        first colon is matched against the namespace names, exactly first,
        then ignoring case and with underscores read as spaces
        (:func:`incrdump.values.namespace_of`).
        """
        if self._by_name is None:
            self._by_name = namespace_names(self.namespaces)
        return namespace_of(self._by_name, title)


@dataclasses.dataclass(slots=True)
class Contributor:
    """``<contributor>``: a user (``name`` and ``id``), an IP (``ip``), or
    ``deleted`` (``deleted="deleted"``, no children). Absent children are
    None; ``attributes`` maps an element name (``"contributor"`` itself or a
    child) to its attributes in order.
    """

    name: Optional[str] = None
    id: Optional[int] = None
    ip: Optional[str] = None
    deleted: bool = False
    elements: tuple = ()
    attributes: dict = dataclasses.field(default_factory=dict)
    extras: list = dataclasses.field(default_factory=list)

    @property
    def text(self):
        """The user name, or the IP address for an anonymous edit (mwxml's
        ``user.text``); None if deleted."""
        return self.name if self.name is not None else self.ip


@dataclasses.dataclass(slots=True)
class Slot:
    """One content slot: the main slot (the revision's own ``<origin>``,
    ``<model>``, ``<format>`` and ``<text>``) or an MCR ``<content>`` slot.

    ``text`` is the content, or None when the ``<text>`` element is empty
    and marked deleted or is a stub reference. The ``<text>`` attributes
    are kept in order in ``text_attributes`` and read into ``bytes``,
    ``sha1``, ``deleted``, ``location``, ``text_id`` and ``space``
    (``xml:space``); each is None (False for ``deleted``) when absent.
    """

    role: Optional[str] = None
    origin: Optional[int] = None
    model: Optional[str] = None
    format: Optional[str] = None
    text: Optional[str] = None
    text_attributes: tuple = ()
    deleted: bool = False
    bytes: Optional[int] = None
    sha1: Optional[str] = None
    location: Optional[str] = None
    text_id: Optional[str] = None
    space: Optional[str] = None
    has_text: bool = False
    elements: tuple = ()
    attributes: dict = dataclasses.field(default_factory=dict)
    extras: list = dataclasses.field(default_factory=list)

    @property
    def stub(self):
        """True for a stub dump's ``<text>``: a storage reference (``id`` or
        ``location``) instead of the content."""
        return self.text is None and not self.deleted and (
            self.text_id is not None or self.location is not None
        )




@dataclasses.dataclass(slots=True)
class Revision(MainSlotFields):
    """One ``<revision>``. Absent optional fields are None.

    ``timestamp`` is timezone-aware (UTC) and ``timestamp_text`` the exact
    input text. ``user`` is the :class:`Contributor`; ``comment`` is None
    when absent or deleted (see ``deleted``); ``sha1`` is the ``<sha1>``
    text (``""`` for ``<sha1/>``). ``slots`` maps role to :class:`Slot`,
    ``"main"`` first; ``text``, ``model``, ``format``, ``origin`` and
    ``bytes`` read the main slot. ``elements`` lists the child element
    names in document order; ``attributes`` maps an element name (the
    revision's own or a child's) to its attributes; ``extras`` keeps
    unmodelled children as :class:`RawElement`. ``page`` is the
    :class:`Page` it belongs to; ``offset`` the byte offset of its start tag
    in the parser's input (see :class:`XMLReader`), ``line`` and ``column``
    (1-based) where that tag starts.
    """

    id: int
    parent_id: Optional[int]
    timestamp: datetime.datetime
    timestamp_text: str
    user: Optional[Contributor]
    minor: bool
    comment: Optional[str]
    deleted: Deleted
    sha1: Optional[str]
    slots: dict
    elements: tuple = ()
    attributes: dict = dataclasses.field(default_factory=dict)
    extras: list = dataclasses.field(default_factory=list)
    page: Optional["Page"] = dataclasses.field(default=None, repr=False, compare=False)
    offset: int = dataclasses.field(default=0, repr=False, compare=False)
    line: Optional[int] = dataclasses.field(default=None, repr=False, compare=False)
    column: Optional[int] = dataclasses.field(default=None, repr=False, compare=False)


class Page:
    """One ``<page>``: its header fields, then its revisions, lazily.

    ``id``, ``title`` and ``namespace`` are always set (``namespace`` comes
    from ``<ns>``, or from the title for schema 0.3: then
    ``namespace_from_title`` is True). ``redirect`` is the
    ``<redirect title="...">`` target, ``""`` for an old flag-only
    ``<redirect/>``, None when absent. ``restrictions`` is the raw text.
    ``elements`` lists the names of the page's children other than
    revisions, in order; ``attributes`` maps an element name to its
    attributes; ``offset`` is the byte offset of ``<page>`` in the
    parser's input (see :class:`XMLReader`), ``line`` and ``column``
    (1-based) where it starts.

    A Page is a one-pass iterator over its :class:`Revision` objects,
    parsed as you ask. ``extras`` collects the page's unmodelled children
    (``<upload>``, ...) as they are passed; it is complete once the page
    has been read to its end (or skipped by moving to the next page).
    ``items()`` yields revisions and those extras in document order.
    """

    __slots__ = (
        "id", "namespace", "title", "redirect", "restrictions",
        "namespace_from_title", "elements", "attributes", "extras", "offset",
        "revision_order", "line", "column", "_reader", "_done",
    )

    def __init__(self, reader, offset, line=None, column=None):
        self._reader = reader
        self._done = False
        self.offset = offset
        self.line = line
        self.column = column
        self.id = None
        self.namespace = None
        self.title = None
        self.redirect = None
        self.restrictions = None
        self.namespace_from_title = False
        self.elements = []
        self.attributes = {}
        self.extras = []
        self.revision_order = ()  # set by incrdump.load (see incrdump._extra)

    def __iter__(self):
        return self

    def __next__(self):
        while True:
            item = self._next_item()
            if isinstance(item, Revision):
                return item
            self.extras.append(item)

    def items(self):
        """Yield the rest of the page's revisions and :class:`RawElement`
        children (uploads, ...) in document order."""
        while True:
            try:
                item = self._next_item()
            except StopIteration:
                return
            if isinstance(item, RawElement):
                self.extras.append(item)
            yield item

    def _next_item(self):
        if self._done:
            raise StopIteration
        kind, obj = self._reader._next_event()
        if kind is _REV or kind is _PEXTRA:
            return obj
        if kind is _ENDPAGE:
            self._done = True
            raise StopIteration
        raise AssertionError(f"event {kind} inside a page")  # pragma: no cover

    def _skip(self):
        """Consume the rest of this page (the caller moved on)."""
        for item in self.items():
            pass

    @property
    def is_redirect(self):
        """True when the page has a ``<redirect>`` element."""
        return self.redirect is not None

    def __repr__(self):
        return f"<Page id={self.id} ns={self.namespace} title={self.title!r}>"


# ---- the reader -----------------------------------------------------------

# events: (kind, object)
_PAGE, _REV, _PEXTRA, _ENDPAGE, _TOP = "page", "rev", "pextra", "endpage", "top"

# contexts
_OUTSIDE, _ROOT, _SITEINFO, _NAMESPACES, _PAGECTX, _REVISION, _CONTRIB, _CONTENT, _AFTER = range(9)

_KNOWN = {
    _ROOT: {"siteinfo", "page", "logitem"},
    _SITEINFO: {"sitename", "dbname", "base", "generator", "case", "namespaces", "namespacealiases"},
    _NAMESPACES: {"namespace"},
    _PAGECTX: {"title", "ns", "id", "redirect", "restrictions", "revision", "upload",
               "discussionthreadinginfo"},
    _REVISION: {"id", "parentid", "timestamp", "contributor", "minor", "comment", "origin",
                "model", "format", "text", "sha1", "content"},
    _CONTRIB: {"username", "id", "ip"},
    _CONTENT: {"role", "origin", "model", "format", "text"},
}
_SITEINFO_LEAVES = frozenset(("sitename", "dbname", "base", "generator", "case"))
_PAGE_LEAVES = frozenset(("title", "ns", "id", "redirect", "restrictions"))
_REVISION_LEAVES = frozenset(
    ("id", "parentid", "timestamp", "minor", "comment", "origin", "model", "format", "text", "sha1")
)
_SLOT_FIELDS = frozenset(("origin", "model", "format", "text"))
#: decompressed input bytes sampled for the writer's style (XMLReader.style)
_STYLE_SAMPLE = 32 << 20
_STYLE_PATTERNS = (b"&quot;", b"&#039;", b"<minor />", b"<minor/>", b"<sha1 />", b"<sha1/>")
_CONTRIB_LEAVES = frozenset(("username", "id", "ip"))
_CONTENT_LEAVES = frozenset(("role", "origin", "model", "format", "text"))


class _Frame:
    __slots__ = ("ctx", "name", "obj", "children", "elements", "offset")

    def __init__(self, ctx, name, obj, offset):
        self.ctx = ctx
        self.name = name
        self.obj = obj
        self.children = 0
        self.elements = []
        self.offset = offset


class _Raw:
    """Re-serializes one unmodelled element (and its subtree) from events."""

    __slots__ = ("parts", "depth", "open", "size", "element")

    def __init__(self, name, attrs, element):
        self.parts = ["<", name, _attr_text(attrs)]
        self.depth = 1
        self.open = True  # start tag not closed yet: may become <x />
        self.size = 0
        self.element = element

    def start(self, name, attrs):
        if self.open:
            self.parts.append(">")
        self.parts += ("<", name, _attr_text(attrs))
        self.open = True
        self.depth += 1

    def end(self, name):
        if self.open:
            self.parts.append(" />")
            self.open = False
        else:
            self.parts += ("</", name, ">")
        self.depth -= 1
        return self.depth == 0

    def text(self, data):
        if self.open:
            self.parts.append(">")
            self.open = False
        self.parts.append(_escape_text(data))
        self.size += len(data)

    def comment(self, data):
        if self.open:
            self.parts.append(">")
            self.open = False
        self.parts += ("<!--", data, "-->")


def escape_text(s):
    """Element text as MediaWiki escapes it: & < > only (also the export's,
    :mod:`incrdump.xmlwrite`)."""
    if "&" in s:
        s = s.replace("&", "&amp;")
    if "<" in s:
        s = s.replace("<", "&lt;")
    if ">" in s:
        s = s.replace(">", "&gt;")
    return s


def _escape_text(s):
    """Text of a re-serialized element: a CR as a reference, so that it
    survives being parsed again."""
    s = escape_text(s)
    if "\r" in s:
        s = s.replace("\r", "&#13;")
    return s


def _escape_attr(s):
    s = _escape_text(s)
    if '"' in s:
        s = s.replace('"', "&quot;")
    if "\n" in s or "\t" in s:
        s = s.replace("\n", "&#10;").replace("\t", "&#9;")
    return s


def _attr_text(attrs):
    if not attrs:
        return ""
    return "".join(
        f' {attrs[i]}="{_escape_attr(attrs[i + 1])}"' for i in range(0, len(attrs), 2)
    )


def _markup_terminator(data, j):
    """What ends the markup that the ``<`` at data[j] opens."""
    if data.startswith(b"<!--", j):
        return b"-->"
    if data.startswith(b"<![CDATA[", j):
        return b"]]>"
    if data.startswith(b"<?", j):
        return b"?>"
    return b">"


def _markup_state(data, start, end, state):
    """Whether data[end] is inside markup, given ``state`` at data[start]:
    the terminator of the open markup (``b">"`` for a tag), or None in
    character data. Looks at the last ``<`` before ``end`` only, so a ``<``
    inside a comment, CDATA section or PI, or a ``>`` inside an attribute
    value, can mislead it (MediaWiki writes neither)."""
    j = data.rfind(b"<", start, end)
    if j < 0:
        if state is None or data.find(state, start, end) >= 0:
            return None
        return state
    term = _markup_terminator(data, j)
    return None if data.find(term, j + 1, end) >= 0 else term


def _began(frame):
    return f" (the <{frame.name}> began at byte {frame.offset})"


def _pairs(attrs):
    return tuple(zip(attrs[::2], attrs[1::2]))


class _IdSet:
    """Set of non-negative ints as a bitmap in 512-id chunks: a dense id range
    costs about 0.4 bytes per id (a Python set costs ~60)."""

    __slots__ = ("chunks", "other")

    def __init__(self):
        self.chunks = {}
        self.other = set()  # negative ids (never in real dumps)

    def add(self, n):
        """Add ``n``; return False if it was already present."""
        if n < 0:
            if n in self.other:
                return False
            self.other.add(n)
            return True
        chunk = self.chunks.get(n >> 9)
        if chunk is None:
            chunk = self.chunks[n >> 9] = bytearray(64)
        byte, bit = (n >> 3) & 63, 1 << (n & 7)
        if chunk[byte] & bit:
            return False
        chunk[byte] |= bit
        return True


class XMLReader:
    """A MediaWiki export file, read as a stream of pages.

    ``source`` is a path, ``"-"`` for standard input (both opened with
    :func:`incrdump.sources.open_source`, any supported compression), or a
    readable binary file object. ``name`` overrides the name used in error
    messages. ``strict=True`` also refuses elements that are not in the
    export schema 0.11 (by default they are kept as :class:`RawElement`).
    ``max_value_size`` bounds one element's text (characters).

    ``allow_control_chars=True`` accepts, in UTF-8 or UTF-16 input, the control
    characters XML 1.0 forbids (U+0000-U+001F but tab, LF, CR: e.g. form
    feeds copied from plain-text sources) and keeps them in the values
    exactly. MediaWiki never writes them (its XML writer passes text through
    UtfNormal, which turns them into U+FFFD), so by default they are
    malformed XML, as for any XML 1.0 parser. In this mode an input that
    also holds the noncharacters U+FDD0-U+FDEF is refused (they carry the
    controls through expat), and columns after a control character on the
    same line are off by two per character.

    On construction the reader parses up to the end of ``<siteinfo>``:
    ``siteinfo`` (None if the file has none), ``version`` (the root's
    ``version`` attribute), ``lang`` and ``attributes`` (the root's
    attributes in order) are then available.

    Iterating yields :class:`Page` objects; top-level elements other than
    pages (``<logitem>`` in a log dump, unknown ones) are collected in
    ``extras`` -- or use :meth:`items` to receive them in order instead.
    Use as a context manager, or call :meth:`close`.

    Carriage returns are kept in values. XML 1.0 makes every parser turn
    CR and CRLF into LF, but MediaWiki's dumpBackup writes a text's CRs
    raw, and ``sha1`` and ``bytes`` count them: a text that lost them no
    longer matches its sha1 and cannot be exported byte for byte. So each
    raw CR byte in character data is handed to expat as the character
    reference ``&#13;``, which XML keeps as U+000D. Whether a CR is in
    character data is decided by a scan of each input block that carries
    its state across blocks: after a ``>`` that closes the markup opened by
    the last ``<`` (``-->``, ``]]>``, ``?>`` for comments, CDATA sections
    and PIs), a CR is text. CRs inside markup -- between attributes, in an
    attribute value, comment or CDATA section -- get XML's normal treatment
    (in an attribute value a CR becomes a space; write ``&#13;`` to keep
    one). A ``<`` inside a comment or a ``>`` inside an attribute value can
    mislead the scan; MediaWiki writes neither. A block without CR costs
    one ``find`` (for a CR) and a look at its last ``<``. CRs before the
    root element and after its end stay raw (no character reference may
    stand there). Whitespace between elements may then hold CRs and is
    still ignored. Side effects: each CR kept moves the columns after it
    on its line by 4, and an input whose lines end in a lone CR is counted
    as one line.

    Encodings: UTF-8 (with or without a byte order mark), UTF-16 (with a
    byte order mark or an ``<?xml`` declaration, either byte order; decoded
    here and parsed as UTF-8), and what expat itself reads (ISO-8859-1,
    US-ASCII). Byte offsets (``Page.offset`` and the like) count the
    parser's input: the input itself for UTF-8, plus 4 per kept CR and 2
    per control character mapped by ``allow_control_chars``; the UTF-8
    form of a UTF-16 input. ``bytes_read`` counts the (decompressed) input
    bytes read so far.

    Errors surface in document order: everything before the faulty spot is
    handed out first, whatever the block boundaries, then the error is
    raised (and raised again on any later call). Page ids are checked for
    duplicates with a bitmap, about one bit per id in the range used.
    """

    def __init__(self, source, *, name=None, strict=False,
                 max_value_size=DEFAULT_MAX_VALUE_SIZE, allow_control_chars=False):
        self._file = None
        self._owns_file = False
        if isinstance(source, (str, bytes, os.PathLike)):
            path = os.fsdecode(source) if not isinstance(source, str) else source
            self._file = open_source(path, name=name)
            self._owns_file = True
            self.name = self._file.name
        else:
            self._file = source
            self._owns_file = False
            self.name = name or getattr(source, "name", None) or "<stream>"
            if not isinstance(self.name, str):
                self.name = str(self.name)
        # read1: take what a pipe has now rather than wait for a full block
        self._read = getattr(self._file, "read1", self._file.read)
        self.strict = strict
        self.max_value_size = max_value_size
        self.allow_control_chars = allow_control_chars
        self._map_controls = None  # decided on the first block (UTF-8 only)
        self._controls_seen = ()  # the control characters met so far
        self._tail = b""
        self.siteinfo = None
        self.version = None
        self.lang = None
        self.attributes = ()
        self.extras = []
        self._style_budget = _STYLE_SAMPLE  # input bytes still sampled for style
        self._style_raw = dict.fromkeys(_STYLE_PATTERNS, 0)
        self._style_values = {'"': 0, "'": 0}
        self._last_bytes = b""  # the end of the input: what follows </mediawiki>
        self._events = collections.deque()
        self._failure = None
        self._eof = False
        self._current = None  # the page handed out last
        self._page = None  # the page being parsed
        self._header_done = False
        self._raw = None
        self._leaf_name = None  # the value element being read, if any
        self._leaf_attrs = None
        self._chars = None
        self._chars_size = 0
        self._page_ids = _IdSet()
        self._prelude_done = False  # siteinfo read, or known to be absent
        self._stack = [_Frame(_OUTSIDE, None, None, 0)]
        self.bytes_read = 0  # decompressed input bytes read so far
        self._head = b""  # first bytes, until the encoding is known
        self._decoder = None  # UTF-16 input: its decoder (fed to expat as UTF-8)
        self._markup = None  # carriage returns: the open markup's terminator
        self._cr_before_root = True  # carriage returns: <mediawiki not met yet
        self._cr_tail = b""  # carriage returns: the last bytes of the last block
        self._parser = None  # made once the first bytes tell the encoding
        try:
            while not self._prelude_done and not self._eof and self._failure is None:
                self._feed()
            if self._failure is not None and not self._prelude_done:
                raise self._failure
        except BaseException:
            self.close()
            raise

    # -- public API --------------------------------------------------------
    def __iter__(self):
        for item in self.items():
            if isinstance(item, Page):
                yield item
            else:
                self.extras.append(item)

    def items(self):
        """Yield every :class:`Page` and top-level :class:`RawElement`
        (``<logitem>``, ...) in document order."""
        while True:
            if self._current is not None:
                self._current._skip()
                self._current = None
            event = self._next_event()
            if event is None:
                return
            kind, obj = event
            if kind is _PAGE:
                self._current = obj
                yield obj
            elif kind is _TOP:
                yield obj
            else:  # pragma: no cover
                raise AssertionError(f"event {kind} outside a page")

    def input_position(self):
        """(consumed, size) of the input file as stored (compressed bytes),
        for a progress display; either is None when unknown (a pipe, a
        file object given by the caller, a 7z archive)."""
        f = self._file
        position = getattr(f, "position", None)
        if position is None:
            return None, None
        return position(), getattr(f, "size", None)

    @property
    def style(self):
        """How the input's writer wrote what a parser cannot report, judged
        from its first :data:`_STYLE_SAMPLE` bytes: a dict with some of
        ``quot`` / ``apos`` (element text escapes double quotes as
        ``&quot;`` / apostrophes as ``&#039;``: Wikimedia's dumps do the
        first, MediaWiki 1.39 neither), ``minor`` and ``sha1`` (``"<minor/>"``
        or ``"<minor />"``, likewise for an empty sha1), and once the whole
        input is read ``end``: the white space after ``</mediawiki>``
        (MediaWiki writes a newline; Wikimedia's files end without one). A key is absent
        when the sample showed nothing either way. Export writes a dump in
        its input's style (:data:`incrdump.xmlwrite.DEFAULT_STYLE`)."""
        raw, values = self._style_raw, self._style_values
        style = {}
        for key, char, ref in (("quot", '"', b"&quot;"), ("apos", "'", b"&#039;")):
            if values[char]:
                # most quotes of the element text came from a reference (a
                # writer escapes all or none; references in attribute
                # values only add to raw[ref])
                style[key] = 2 * raw[ref] > values[char]
        for key in ("minor", "sha1"):
            spaced, tight = raw[f"<{key} />".encode()], raw[f"<{key}/>".encode()]
            if spaced or tight:
                style[key] = f"<{key} />" if spaced > tight else f"<{key}/>"
        if self._eof:
            tail = self._last_bytes
            at = tail.rfind(b"</mediawiki>")
            rest = tail[at + 12:] if at >= 0 else None
            if rest is not None and (not rest or rest.isspace()):
                style["end"] = rest.decode("ascii")
        return style

    def close(self):
        """Close the input if this reader opened it (idempotent)."""
        parser, self._parser = getattr(self, "_parser", None), None
        if parser is not None:
            for attr in ("StartElementHandler", "EndElementHandler", "CharacterDataHandler"):
                setattr(parser, attr, None)
        if self._owns_file and self._file is not None:
            self._file.close()
        self._file = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- event pump ----------------------------------------------------------
    def _next_event(self):
        """The next parse event; a failure is raised once every event
        before it has been handed out, whatever the block boundaries."""
        while not self._events:
            if self._failure is not None:
                raise self._failure
            if self._eof:
                return None
            self._feed()
        return self._events.popleft()

    def _feed(self):
        """Parse one more block; a failure is recorded, not raised."""
        if self._file is None:
            raise MisuseError(f"{self.name}: the reader is closed")
        try:
            data = self._read(_BLOCK)
            self.bytes_read += len(data)
            end = not data
            if self._parser is None:
                head = self._head + data
                if not end and len(head) < 4:
                    self._head = head  # not enough to tell the encoding yet
                    return
                self._head = b""
                self._start_parser(head)
                data = head
            if self._decoder is not None:
                data = self._decoder.decode(data, end).encode("utf-8", "surrogatepass")
            if data and self.allow_control_chars:
                data = self._carry_controls(data)
            if data:
                self._last_bytes = (self._last_bytes + data)[-64:]
                if self._style_budget > 0:
                    self._style_budget -= len(data)
                    raw = self._style_raw
                    for pattern in _STYLE_PATTERNS:
                        raw[pattern] += data.count(pattern)
                data = self._protect_cr(data)
                self._parser.Parse(data, False)
            if end:
                self._parser.Parse(b"", True)
                self._eof = True
                if self._stack[-1].ctx != _AFTER:  # pragma: no cover - expat catches it
                    self._fail("the document ends early")
        except UnicodeDecodeError as e:  # only a UTF-16 input cut inside a character
            self._failure = XMLFormatError(
                f"malformed UTF-16: {e.reason} at the end of the input", self.name,
                self._parser.CurrentLineNumber, self._parser.CurrentColumnNumber + 1)
        except expat.ExpatError as e:
            err = XMLFormatError(
                f"malformed XML: {expat.ErrorString(e.code)}", self.name, e.lineno, e.offset + 1
            )
            err.__suppress_context__ = True
            self._failure = self._source_failure(err)
        except XMLFormatError as e:
            self._failure = self._source_failure(e)
        except Exception as e:  # SourceError, or a bug
            self._failure = e

    def _source_failure(self, err):
        """Bad XML from a compressed input may be damaged data that the
        decoder has not caught yet: read a little further to see."""
        probe = getattr(self._file, "probe", None) if self._owns_file else None
        cause = probe() if probe is not None else None
        if cause is None:
            return err
        cause.__context__ = err
        return cause

    def _start_parser(self, head):
        """Make the parser for an input starting with ``head`` (4 bytes, or
        the whole input if shorter).

        UTF-16 (a byte order mark, or ``<`` and ``?`` as 16-bit units) is
        decoded here and given to expat as UTF-8, which overrides the
        document's encoding declaration: the byte-level passes below
        (control characters, carriage returns) then see every input alike.
        Lone surrogates pass the decoder (``surrogatepass``) so that expat
        rejects them with their line and column.
        """
        encoding = None
        if head.startswith((b"\xff\xfe", b"\xfe\xff")):
            encoding = "utf-16"  # the decoder reads and drops the mark
        elif len(head) >= 4 and head[0] and not head[1] and head[2] and not head[3]:
            encoding = "utf-16-le"
        elif len(head) >= 4 and not head[0] and head[1] and not head[2] and head[3]:
            encoding = "utf-16-be"
        if encoding is not None:
            self._decoder = codecs.getincrementaldecoder(encoding)("surrogatepass")
        self._parser = self._make_parser("UTF-8" if encoding else None)

    def _protect_cr(self, data):
        """Carriage returns in character data -> ``&#13;`` (see the class
        docstring). CRs before ``<mediawiki`` and after ``</mediawiki``
        stay raw (a character reference is not allowed outside the root
        element), and so do CRs inside markup."""
        tail = self._cr_tail
        self._cr_tail = data[-12:] if len(data) >= 12 else (tail + data)[-12:]
        start = 0
        if self._cr_before_root:
            k = (tail + data).find(b"<mediawiki")
            if k < 0:
                return data
            self._cr_before_root = False
            start = k - len(tail)
            if start < 0:  # "<mediawiki" began in the previous block
                start = 0
                self._markup = b">"
        state = self._markup if start == 0 else None
        i = data.find(b"\r", start)
        if i < 0:
            self._markup = _markup_state(data, start, len(data), state)
            return data
        if self._stack[-1].ctx == _AFTER:
            return data
        end = len(data)
        k = (tail + data[:12]).find(b"</mediawiki")
        if k >= 0:
            end = max(k - len(tail), 0)
        else:
            k = data.find(b"</mediawiki", start)
            if k >= 0:
                end = k
        out = []
        copied = pos = start  # data[:copied] is in out; state holds at pos
        while 0 <= i < end:
            state = _markup_state(data, pos, i, state)
            if state is None:
                # character data up to the next '<': all its CRs at once
                n = data.find(b"<", i, end)
                if n < 0:
                    n = end
                out.append(data[copied:i])
                out.append(data[i:n].replace(b"\r", b"&#13;"))
                copied = pos = n
                i = data.find(b"\r", n)
            else:
                pos = i
                i = data.find(b"\r", i + 1)
        if not out:
            self._markup = _markup_state(data, pos, len(data), state)
            return data
        out.append(data[copied:])
        self._markup = _markup_state(data, pos, len(data), state)
        return b"".join(out)

    def _carry_controls(self, data):
        """allow_control_chars: forbidden controls -> U+FDD0 + byte."""
        if self._map_controls is None:
            head = data[:4]
            self._map_controls = not (
                head.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in head
            )  # UTF-16 (BOM or zero bytes): nothing to do
        if not self._map_controls:
            return data
        if _NONCHAR_UTF8.search(self._tail + data[:2]) or _NONCHAR_UTF8.search(data):
            self._fail("allow_control_chars: the input contains noncharacters U+FDD0-U+FDEF")
        self._tail = data[-2:]
        if len(data.translate(None, _CONTROL_BYTES)) != len(data):
            seen = set(self._controls_seen)
            for c in _CONTROL_BYTES:
                b = bytes((c,))
                if b in data:
                    seen.add(chr(0xFDD0 + c))
                    data = data.replace(b, _CONTROL_SUB[c])
            self._controls_seen = tuple(sorted(seen))
        return data

    def _unmap(self, value):
        for c in self._controls_seen:
            if c in value:
                value = value.replace(c, chr(ord(c) - 0xFDD0))
        return value

    # -- expat plumbing ---------------------------------------------------------
    def _make_parser(self, encoding=None):
        p = expat.ParserCreate(encoding)
        p.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
        p.ordered_attributes = True
        p.specified_attributes = True
        p.buffer_text = True
        p.buffer_size = _CHAR_BUFFER
        p.StartDoctypeDeclHandler = self._on_doctype
        p.EntityDeclHandler = self._on_entity_decl
        p.ElementDeclHandler = self._on_decl
        p.AttlistDeclHandler = self._on_decl
        p.NotationDeclHandler = self._on_decl
        p.ExternalEntityRefHandler = self._on_external_entity
        p.StartElementHandler = self._start
        p.EndElementHandler = self._end
        p.CharacterDataHandler = self._text
        p.CommentHandler = self._comment
        return p

    def _fail(self, reason, cls=XMLFormatError):
        """Raise ``cls`` at the parser's current position (the event being
        handled: for a value, its end tag)."""
        p = self._parser
        raise cls(reason, self.name, p.CurrentLineNumber, p.CurrentColumnNumber + 1)

    def _on_doctype(self, name, sysid, pubid, has_internal_subset):
        if has_internal_subset or sysid or pubid:
            self._fail(
                "refused: a document type declaration with an internal subset or an "
                "external identifier (entities and DTDs are never processed)",
                cls=UnsafeXMLError,
            )

    def _on_entity_decl(self, name, *args):
        self._fail(f"refused: entity declaration {name!r} (entities are never processed)",
                   cls=UnsafeXMLError)

    def _on_decl(self, name, *args):
        self._fail("refused: DTD declarations are never processed", cls=UnsafeXMLError)

    def _on_external_entity(self, context, base, sysid, pubid):
        self._fail(f"refused: external entity {sysid!r} (never fetched)", cls=UnsafeXMLError)

    def _comment(self, data):
        if self._raw is not None:
            self._raw.comment(data)

    def _text(self, data):
        if self._raw is not None:
            self._raw.text(data)
            if self._raw.size > self.max_value_size:
                self._fail(f"<{self._raw.element.name}> is longer than {self.max_value_size} characters")
        elif self._chars is not None:
            self._chars.append(data)
            self._chars_size += len(data)
            if self._chars_size > self.max_value_size:
                self._fail(f"<{self._leaf_name}> is longer than {self.max_value_size} characters")
        elif not data.isspace():
            self._fail(f"unexpected text {data.strip()[:40]!r} inside <{self._stack[-1].name}>")

    # -- start tags ---------------------------------------------------------------
    def _start(self, name, attrs):
        if self._controls_seen and attrs:
            attrs = [self._unmap(a) for a in attrs]
        if self._raw is not None:
            self._raw.start(name, attrs)
            return
        if self._leaf_name is not None:
            self._fail(f"element <{name}> inside <{self._leaf_name}>, which holds only text")
        frame = self._stack[-1]
        ctx = frame.ctx
        position = frame.children
        frame.children += 1
        if name != "revision" or ctx != _PAGECTX:
            frame.elements.append(name)

        if ctx == _REVISION:
            if name in _REVISION_LEAVES:
                return self._leaf(frame, name, attrs)
            if name == "contributor":
                if frame.elements.count("contributor") > 1:
                    self._fail("duplicate <contributor> in a revision")
                user = Contributor()
                if attrs:
                    user.attributes["contributor"] = _pairs(attrs)
                    user.deleted = ("deleted", "deleted") in user.attributes["contributor"]
                return self._push(_CONTRIB, name, user)
            if name == "content":
                slot = Slot()
                if attrs:
                    slot.attributes["content"] = _pairs(attrs)
                return self._push(_CONTENT, name, slot)
        elif ctx == _CONTRIB:
            if name in _CONTRIB_LEAVES:
                return self._leaf(frame, name, attrs)
        elif ctx == _PAGECTX:
            if name == "revision":
                if not self._header_done:
                    self._end_page_header(frame)
                rev = _RevisionBuilder()
                rev.line = self._parser.CurrentLineNumber
                rev.column = self._parser.CurrentColumnNumber + 1
                if attrs:
                    rev.attributes["revision"] = _pairs(attrs)
                return self._push(_REVISION, name, rev)
            if name in _PAGE_LEAVES:
                if self._header_done:
                    self._fail(f"<{name}> after the page's first revision")
                return self._leaf(frame, name, attrs)
            if name == "upload" and not self._header_done:
                self._end_page_header(frame)
        elif ctx == _CONTENT:
            if name in _CONTENT_LEAVES:
                return self._leaf(frame, name, attrs)
        elif ctx == _NAMESPACES:
            if name == "namespace":
                return self._leaf(frame, name, attrs)
        elif ctx == _SITEINFO:
            if name in _SITEINFO_LEAVES:
                return self._leaf(frame, name, attrs)
            if name == "namespaces":
                if frame.obj.namespaces is not None:
                    self._fail("duplicate <namespaces>")
                frame.obj.namespaces = {}
                return self._push(_NAMESPACES, name, frame.obj)
        elif ctx == _ROOT:
            if name != "siteinfo":
                self._prelude_done = True
            if name == "page":
                p = self._parser
                page = Page(self, p.CurrentByteIndex, p.CurrentLineNumber,
                            p.CurrentColumnNumber + 1)
                if attrs:
                    page.attributes["page"] = _pairs(attrs)
                self._page = page
                self._header_done = False
                return self._push(_PAGECTX, name, page)
            if name == "siteinfo":
                if self.siteinfo is not None or position != 0:
                    self._fail("<siteinfo> must come once, first")
                info = SiteInfo()
                if attrs:
                    info.attributes["siteinfo"] = _pairs(attrs)
                return self._push(_SITEINFO, name, info)
        elif ctx == _OUTSIDE:
            if name != "mediawiki":
                self._fail(f"not a MediaWiki export: the root element is <{name}>, not <mediawiki>")
            self.attributes = _pairs(attrs)
            for key, value in self.attributes:
                if key == "version":
                    self.version = value
                elif key == "xml:lang":
                    self.lang = value
            if self.version is None:
                for key, value in self.attributes:
                    m = re.search(r"export-([0-9.]+)/?$", value) if key == "xmlns" else None
                    if m:
                        self.version = m.group(1)
            return self._push(_ROOT, name, None)

        # not modelled here: keep it whole
        if self.strict and name not in _KNOWN.get(ctx, ()):
            self._fail(f"unknown element <{name}> inside <{frame.name}>")
        offset = self._parser.CurrentByteIndex
        self._raw = _Raw(name, attrs, RawElement(name, "", frame.name, position, offset))

    def _push(self, ctx, name, obj):
        self._stack.append(_Frame(ctx, name, obj, self._parser.CurrentByteIndex))

    def _leaf(self, frame, name, attrs):
        """Start collecting the text of a value element (leaves never nest,
        so no frame is pushed: ``_leaf_name`` marks one open)."""
        if frame.ctx != _NAMESPACES and frame.elements.count(name) > 1:
            self._fail(f"duplicate <{name}> inside <{frame.name}>")
        self._leaf_name = name
        self._leaf_attrs = attrs
        self._chars = []
        self._chars_size = 0

    # -- end tags -------------------------------------------------------------------
    def _end(self, name):
        raw = self._raw
        if raw is not None:
            if raw.end(name):
                self._raw = None
                element = raw.element
                element.xml = self._unmap("".join(raw.parts))
                self._deliver(element)
            return
        if self._leaf_name is not None:
            value = "".join(self._chars)
            self._chars = None
            self._leaf_name = None
            if self._controls_seen:
                value = self._unmap(value)
            if self._style_budget > 0:
                counts = self._style_values
                counts['"'] += value.count('"')
                counts["'"] += value.count("'")
            self._set_leaf(self._stack[-1], name, value, self._leaf_attrs)
            return
        frame = self._stack.pop()
        ctx = frame.ctx
        if ctx == _REVISION:
            rev = frame.obj.build(self, frame)
            self._events.append((_REV, rev))
        elif ctx == _PAGECTX:
            if not self._header_done:
                self._end_page_header(frame)
            frame.obj.elements = tuple(frame.elements)
            self._page = None
            self._events.append((_ENDPAGE, frame.obj))
        elif ctx == _CONTRIB:
            user = frame.obj
            user.elements = tuple(frame.elements)
            self._stack[-1].obj.user = user
        elif ctx == _CONTENT:
            slot = frame.obj
            slot.elements = tuple(frame.elements)
            if slot.role is None:
                self._fail(f"<content> without <role>{_began(frame)}")
            if not slot.has_text:
                self._fail(f"<content> without <text>{_began(frame)}")
            slots = self._stack[-1].obj.slots
            if slot.role in slots:
                self._fail(f"duplicate slot role {slot.role!r}{_began(frame)}")
            slots[slot.role] = slot
        elif ctx == _NAMESPACES:
            pass
        elif ctx == _SITEINFO:
            info = frame.obj
            info.elements = tuple(frame.elements)
            self.siteinfo = info
            self._prelude_done = True
        elif ctx == _ROOT:
            self._prelude_done = True
            self._stack.append(_Frame(_AFTER, None, None, 0))

    def _deliver(self, element):
        """Attach a finished RawElement to its parent."""
        frame = self._stack[-1]
        ctx = frame.ctx
        if ctx == _ROOT:
            self._events.append((_TOP, element))
        elif ctx == _PAGECTX:
            if self._header_done:
                self._events.append((_PEXTRA, element))
            else:
                frame.obj.extras.append(element)
        else:  # siteinfo (and its namespaces), revision, contributor, content
            frame.obj.extras.append(element)

    def _end_page_header(self, frame):
        page = frame.obj
        if page.title is None:
            self._fail(f"<page> without <title>{_began(frame)}")
        if page.id is None:
            self._fail(f"<page> without <id>{_began(frame)}")
        if page.namespace is None:
            page.namespace = self.siteinfo.namespace_of(page.title) if self.siteinfo else 0
            page.namespace_from_title = True
        if not self._page_ids.add(page.id):
            self._fail(f"duplicate page id {page.id}{_began(frame)}")
        page.elements = tuple(frame.elements)
        self._header_done = True
        self._events.append((_PAGE, page))

    # -- leaf values --------------------------------------------------------------
    def _int(self, name, value):
        if not _INT.match(value):
            self._fail(f"<{name}> is not an integer: {value[:40]!r}")
        return int(value)

    def _set_leaf(self, parent, name, value, attrs):
        ctx = parent.ctx
        obj = parent.obj
        pairs = _pairs(attrs) if attrs else ()
        if ctx == _REVISION:
            if name in _SLOT_FIELDS:
                self._set_slot_field(obj.main, name, value, pairs)
                if pairs and name != "text":
                    obj.attributes[name] = pairs
                return
            if pairs:
                obj.attributes[name] = pairs
            if name == "id":
                obj.id = self._int(name, value)
            elif name == "timestamp":
                obj.timestamp_text = value
                obj.timestamp = self._timestamp(value)
            elif name == "parentid":
                obj.parent_id = self._int(name, value)
            elif name == "comment":
                obj.comment_deleted = ("deleted", "deleted") in pairs
                obj.comment = None if (obj.comment_deleted and not value) else value
            elif name == "sha1":
                obj.sha1 = value
            elif name == "minor":
                if value.strip():
                    self._fail("<minor> must be empty")
                obj.minor = True
        elif ctx == _CONTRIB:
            if pairs:
                obj.attributes[name] = pairs
            if name == "username":
                obj.name = value
            elif name == "id":
                obj.id = self._int(name, value)
            else:
                obj.ip = value
        elif ctx == _PAGECTX:
            if pairs:
                obj.attributes[name] = pairs
            if name == "title":
                obj.title = value
            elif name == "id":
                obj.id = self._int(name, value)
            elif name == "ns":
                obj.namespace = self._int(name, value)
            elif name == "redirect":
                obj.redirect = dict(pairs).get("title", value)
            else:
                obj.restrictions = value
        elif ctx == _CONTENT:
            if name == "role":
                if pairs:
                    obj.attributes[name] = pairs
                obj.role = value
            else:
                self._set_slot_field(obj, name, value, pairs)
                if pairs and name != "text":
                    obj.attributes[name] = pairs
        elif ctx == _NAMESPACES:
            info = obj
            key = None
            case = None
            for k, v in pairs:
                if k == "key":
                    key = self._int("namespace key", v)
                elif k == "case":
                    case = v
            if key is None:
                self._fail("<namespace> without a key attribute")
            if key in info.namespaces:
                self._fail(f"duplicate namespace key {key}")
            info.namespaces[key] = Namespace(key, value, case, pairs)
        elif ctx == _SITEINFO:
            if pairs:
                obj.attributes[name] = pairs
            setattr(obj, name, value)

    def _set_slot_field(self, slot, name, value, pairs):
        if name == "text":
            slot.has_text = True
            slot.text_attributes = pairs
            for k, v in pairs:
                if k == "bytes":
                    slot.bytes = self._int("text bytes", v)
                elif k == "sha1":
                    slot.sha1 = v
                elif k == "deleted":
                    slot.deleted = v == "deleted"
                elif k == "id":
                    slot.text_id = v
                elif k == "location":
                    slot.location = v
                elif k == "xml:space":
                    slot.space = v
            if not value and (slot.deleted or slot.text_id is not None or slot.location is not None):
                slot.text = None
            else:
                slot.text = value
        elif name == "origin":
            slot.origin = self._int(name, value)
        elif name == "model":
            slot.model = value
        else:
            slot.format = value

    def _timestamp(self, value):
        try:
            ts = datetime.datetime.fromisoformat(value.strip())
        except ValueError:
            self._fail(f"<timestamp> is not an ISO 8601 time: {value[:40]!r}")
        if ts.tzinfo is None:
            ts = ts.replace(tzinfo=datetime.timezone.utc)
        return ts


class _RevisionBuilder:
    """A revision's fields while its element is open."""

    __slots__ = ("id", "parent_id", "timestamp", "timestamp_text", "user", "minor",
                 "comment", "comment_deleted", "sha1", "main", "slots", "attributes",
                 "extras", "line", "column")

    def __init__(self):
        self.line = self.column = None
        self.id = self.parent_id = self.timestamp = self.timestamp_text = None
        self.user = self.comment = self.sha1 = None
        self.minor = self.comment_deleted = False
        self.main = Slot(role="main")
        self.slots = {"main": self.main}
        self.attributes = {}
        self.extras = []

    def build(self, reader, frame):
        for value, what in ((self.id, "<id>"), (self.timestamp, "<timestamp>"),
                            (self.user, "<contributor>"), (self.main.has_text or None, "<text>")):
            if value is None:
                reader._fail(f"<revision> without {what}{_began(frame)}")
        user_deleted = self.user.deleted
        main = self.main
        main.elements = tuple(n for n in frame.elements if n in _SLOT_FIELDS)
        return Revision(
            id=self.id,
            parent_id=self.parent_id,
            timestamp=self.timestamp,
            timestamp_text=self.timestamp_text,
            user=self.user,
            minor=self.minor,
            comment=self.comment,
            deleted=Deleted(main.deleted, self.comment_deleted, user_deleted),
            sha1=self.sha1,
            slots=self.slots,
            elements=tuple(frame.elements),
            attributes=self.attributes,
            extras=self.extras,
            page=reader._page,
            offset=frame.offset,
            line=self.line,
            column=self.column,
        )
