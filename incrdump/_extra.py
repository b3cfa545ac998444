"""The ``extra`` bytes of dump records: what the XML said that C does not model.

Layer: Python API, private helper of :mod:`incrdump.dump` (imports only
``errors``). C stores ``PageInfo.extra``, ``RevisionInfo.extra`` and
``DumpSiteInfo.extra`` as opaque bytes; this module gives them a meaning so
that a page or revision read from a dump carries the same fidelity details
as the one :class:`incrdump.xmlread.XMLReader` produced (element order,
attributes in order, unmodelled elements), which byte-exact XML export needs.

Page and revision records (version 1)
-------------------------------------
Only *departures from the canonical form* are stored, so the extra of an
ordinary record is empty (zero bytes)::

    extra   := b""                         everything canonical
             | 0x01 entry*                 version 1
    entry   := tag:uvarint len:uvarint payload[len]   (unknown tags skipped;
                                           a payload must be read exactly)
    str     := uvarint n; n even: NAMES[n / 2]; n odd: (n - 1) / 2 bytes UTF-8
    strs    := uvarint count, str*
    pairs   := uvarint count, (str key, str value)*
    attrs   := uvarint count, (str element, pairs)*
    raws    := uvarint count, (str name, str parent, uvarint position, str xml)*

    tag  payload             meaning
     1   strs                the record's child element names, in order
     2   attrs               attributes by element name (``attributes``)
     3   raws                unmodelled children (``extras``)
     4   strs                contributor: child element names
     5   attrs               contributor: attributes
     6   raws                contributor: unmodelled children
     7   u8 bits, fields     contributor values C cannot hold (bits 1 name
                             str, 2 id svarint, 4 ip str, 8 deleted)
     8   uvarint slot, strs  a slot's element names (not the main slot's)
     9   uvarint slot, attrs a slot's attributes
    10   uvarint slot, raws  a slot's unmodelled children
    11   uvarint slot, pairs a slot's ``<text>`` attributes, when the profile
                             (below) does not give them
    12   uvarint slot, svarint  a negative slot origin (C's -1 means absent)
    13   uvarint slot, svarint  a negative slot size
    14   svarint             a negative parent id (C takes none)
    15   uvarint n, (svarint id, svarint after)*   page: revisions the XML
                             listed out of id order (below)

Canonical forms (what MediaWiki's dumpBackup writes): a revision's
children are id, parentid?, timestamp, contributor, minor?, comment?,
origin?, model?, format?, text, one content per extra slot, then sha1?
(MediaWiki 1.39 writes the revision's sha1 after every slot), each
present when its field is; its attributes are ``comment
deleted="deleted"`` when the comment is deleted; a contributor is
username? id? (or ip, or nothing when deleted, then with ``deleted="deleted"``);
a content slot is role, origin?, model?, format?, text; a page is title,
ns, id, redirect?, restrictions? with ``redirect title=..`` for a non-empty
target. Everything else (no attributes, no raw elements) is canonical.

``<text>`` attributes: their values follow from the slot's fields (bytes,
sha1, deleted, location, id) plus ``xml:space="preserve"``; only their
*order*, and whether xml:space is present, vary between writers. A per-dump
**text-attribute profile** maps a slot's situation -- which of bytes
(and bytes == 0), sha1, deleted, location and id are present, as a bit set
-- to the key order seen first for it. A slot whose attributes follow its
profile entry stores nothing; the first slot of a new situation adds the
entry (entries are never changed, so older records keep decoding alike).
The profile lives in the site info's extra.

Revision order: a page's revisions are stored (and iterated) in id order.
When the XML listed them otherwise, the page's tag 15 keeps the fewest
revisions that must move to restore the document order (those outside a
longest increasing run of ids), each with the id of the revision written
just before it (0: first in the page); a moved revision whose predecessor no
longer exists is written at the end of the page.

Site info (version 1)
---------------------
``0x01`` followed by a UTF-8 JSON object; readers ignore keys they do not
know and a writer keeps them: ``elements`` (child names of <siteinfo>),
``attributes``, ``extras`` ([name, parent, position, xml]), ``namespaces``
(key -> attribute pairs, when not the canonical ``key``/``case``),
``root`` (the <mediawiki> attributes in order), ``top`` (top-level
elements other than pages, as extras), ``text_attrs`` (the profile:
[[situation, [keys]], ...]), ``style`` (how the input's writer escaped
and wrote short tags: {"quot": bool, "apos": bool, "minor": "<minor/>" or
"<minor />", "sha1": likewise, "end": white space after </mediawiki>}; see
incrdump.xmlwrite.DEFAULT_STYLE).
"""
import dataclasses
import json

from .errors import CorruptDumpError

VERSION = 1

#: names coded as one byte (version 1: append only, never reorder)
NAMES = (
    "id", "parentid", "timestamp", "contributor", "minor", "comment", "origin", "model",
    "format", "text", "sha1", "content", "role", "username", "ip", "title", "ns",
    "redirect", "restrictions", "revision", "upload", "discussionthreadinginfo", "bytes",
    "deleted", "location", "xml:space", "preserve", "page", "siteinfo", "logitem",
    "namespace", "key", "case", "mediawiki", "filename", "src", "size",
)
_CODE = {}
for _i, _n in enumerate(NAMES):
    _CODE.setdefault(_n, _i)

T_ELEMENTS, T_ATTRS, T_EXTRAS = 1, 2, 3
T_USER_ELEMENTS, T_USER_ATTRS, T_USER_EXTRAS, T_USER_FIELDS = 4, 5, 6, 7
T_SLOT_ELEMENTS, T_SLOT_ATTRS, T_SLOT_EXTRAS, T_SLOT_TEXT_ATTRS = 8, 9, 10, 11
T_SLOT_ORIGIN, T_SLOT_BYTES = 12, 13
T_PARENT = 14
T_ORDER = 15

#: order of derived <text> attributes when no profile entry says otherwise
TEXT_KEYS = ("bytes", "sha1", "deleted", "location", "id")
_SIT_BITS = {"bytes": 1, "sha1": 4, "deleted": 8, "location": 16, "id": 32}
SIT_ZERO = 2  # bytes == 0


@dataclasses.dataclass(slots=True)
class RawElement:
    """An element kept as XML text because it is not modelled (an upload,
    log item, discussion threading info, anything newer than schema 0.11).

    Same fields as :class:`incrdump.xmlread.RawElement`: ``xml`` is the
    element as XML, ``parent`` the enclosing element's name and ``position``
    its index among that parent's child elements. ``offset`` (a byte offset
    in the XML it was read from) is not stored in a dump: 0.
    """

    name: str
    xml: str
    parent: str
    position: int
    offset: int = dataclasses.field(default=0, compare=False)


# ---- primitives ---------------------------------------------------------------


class _Writer:
    __slots__ = ("out",)

    def __init__(self):
        self.out = bytearray((VERSION,))

    def entry(self, tag, payload):
        _uvarint(self.out, tag)
        _uvarint(self.out, len(payload))
        self.out += payload


def _uvarint(out, n):
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)


def _svarint(out, n):
    _uvarint(out, (n << 1) if n >= 0 else ((-n << 1) - 1))


def _str(out, s):
    code = _CODE.get(s)
    if code is not None:
        _uvarint(out, code << 1)
    else:
        b = s.encode("utf-8", "surrogatepass")
        _uvarint(out, (len(b) << 1) | 1)
        out += b


def _strs(out, items):
    _uvarint(out, len(items))
    for s in items:
        _str(out, s)


def _pairs(out, pairs):
    _uvarint(out, len(pairs))
    for k, v in pairs:
        _str(out, k)
        _str(out, v)


def _attrs(out, attrs):
    _uvarint(out, len(attrs))
    for name, pairs in attrs.items():
        _str(out, name)
        _pairs(out, pairs)


def _raws(out, raws):
    _uvarint(out, len(raws))
    for r in raws:
        _str(out, r.name)
        _str(out, r.parent)
        _uvarint(out, r.position)
        _str(out, r.xml)


def _payload(fn, *args):
    out = bytearray()
    fn(out, *args)
    return out


class _Reader:
    """Bounds-checked reading of one payload (everything from disk is hostile)."""

    __slots__ = ("b", "pos", "end", "what")

    def __init__(self, b, pos, end, what):
        self.b, self.pos, self.end, self.what = b, pos, end, what

    def fail(self, why):
        raise CorruptDumpError(f"{self.what} extra: {why}")

    def uvarint(self):
        n = shift = 0
        b, pos, end = self.b, self.pos, self.end
        while True:
            if pos >= end:
                self.fail("truncated varint")
            c = b[pos]
            pos += 1
            n |= (c & 0x7F) << shift
            if c < 0x80:
                break
            shift += 7
            if shift > 63:
                self.fail("varint too long")
        self.pos = pos
        return n

    def svarint(self):
        n = self.uvarint()
        return (n >> 1) if not n & 1 else -((n + 1) >> 1)

    def str(self):
        n = self.uvarint()
        if not n & 1:
            n >>= 1
            if n >= len(NAMES):
                self.fail(f"unknown name code {n}")
            return NAMES[n]
        n >>= 1
        if n > self.end - self.pos:
            self.fail("string overruns its entry")
        s = bytes(self.b[self.pos:self.pos + n])
        self.pos += n
        try:
            return s.decode("utf-8", "surrogatepass")
        except UnicodeDecodeError:
            self.fail("string is not UTF-8")

    def count(self):
        n = self.uvarint()
        if n > self.end - self.pos:  # every item takes at least one byte
            self.fail("count overruns its entry")
        return n

    def strs(self):
        return tuple(self.str() for _ in range(self.count()))

    def pairs(self):
        return tuple((self.str(), self.str()) for _ in range(self.count()))

    def attrs(self):
        out = {}
        for _ in range(self.count()):
            name = self.str()
            out[name] = self.pairs()
        return out

    def raws(self):
        out = []
        for _ in range(self.count()):
            name, parent = self.str(), self.str()
            position = self.uvarint()
            out.append(RawElement(name, self.str(), parent, position))
        return out

    def done(self):
        if self.pos != self.end:
            self.fail("entry longer than its fields")


def _entries(extra, what):
    """Yield (tag, reader over its payload) for each entry of a record extra."""
    if not extra:
        return
    if extra[0] != VERSION:
        raise CorruptDumpError(f"{what} extra: unknown version {extra[0]}")
    r = _Reader(extra, 1, len(extra), what)
    while r.pos < len(extra):
        tag = r.uvarint()
        n = r.uvarint()
        if n > len(extra) - r.pos:
            r.fail(f"entry {tag} overruns the record")
        sub = _Reader(extra, r.pos, r.pos + n, what)
        r.pos += n
        yield tag, sub


# ---- canonical forms ------------------------------------------------------------


def _norm_attrs(attrs):
    if not attrs:
        return {}
    return {k: tuple((a, b) for a, b in v) for k, v in attrs.items()}


def revision_elements(has_parent, has_user, minor, has_comment, main_origin, main_model,
                      main_format, has_sha1, nslots):
    """The canonical child element names of a revision."""
    e = ["id"]
    if has_parent:
        e.append("parentid")
    e.append("timestamp")
    if has_user:
        e.append("contributor")
    if minor:
        e.append("minor")
    if has_comment:
        e.append("comment")
    if main_origin:
        e.append("origin")
    if main_model:
        e.append("model")
    if main_format:
        e.append("format")
    e.append("text")
    e.extend(("content",) * (nslots - 1))
    if has_sha1:
        e.append("sha1")
    return tuple(e)


def contributor_elements(name, id_, ip, deleted):
    """The canonical child element names of a contributor."""
    if ip is not None:
        return ("ip",)
    e = ()
    if name is not None:
        e += ("username",)
    if id_ is not None:
        e += ("id",)
    return e


def slot_elements(origin, model, format_):
    """The canonical child element names of a <content> slot."""
    e = ["role"]
    if origin is not None:
        e.append("origin")
    if model is not None:
        e.append("model")
    if format_ is not None:
        e.append("format")
    e.append("text")
    return tuple(e)


def page_elements(redirect, restrictions):
    """The canonical child element names of a page (revisions excluded)."""
    e = ("title", "ns", "id")
    if redirect is not None:
        e += ("redirect",)
    if restrictions is not None:
        e += ("restrictions",)
    return e


_DELETED = (("deleted", "deleted"),)


def text_values(size, sha1, deleted, location, text_id):
    """The <text> attribute values that follow from a slot's fields."""
    d = {}
    if size is not None:
        d["bytes"] = str(size)
    if sha1 is not None:
        d["sha1"] = sha1
    if deleted:
        d["deleted"] = "deleted"
    if location is not None:
        d["location"] = location
    if text_id is not None:
        d["id"] = text_id
    return d


def situation(values, size):
    """The profile key of a slot whose derived <text> attributes are values."""
    sit = 0
    for k in values:
        sit |= _SIT_BITS[k]
    if size == 0:
        sit |= SIT_ZERO
    return sit


def text_attributes(values, size, stored, profile):
    """The <text> attribute pairs of a slot with no explicit ones."""
    keys = profile.get(situation(values, size)) if profile else None
    if keys is None:
        keys = [k for k in TEXT_KEYS if k in values]
        if stored and "deleted" not in values:
            keys.append("xml:space")
    return tuple((k, "preserve" if k == "xml:space" else values[k]) for k in keys)


def _profile_keys(pairs, values):
    """The key order of pairs if it is expressible by a profile entry
    (exactly the derived values, plus xml:space="preserve"), else None."""
    keys = []
    seen = set()
    for k, v in pairs:
        if k in seen:
            return None
        seen.add(k)
        if k == "xml:space":
            if v != "preserve":
                return None
        elif values.get(k) != v:
            return None
        keys.append(k)
    if len(seen) - ("xml:space" in seen) != len(values):
        return None
    return tuple(keys)


# ---- page records -----------------------------------------------------------------


def encode_page(page):
    """Extra bytes of a page (any object with the xmlread Page fields)."""
    w = None
    elements = getattr(page, "elements", None)
    redirect = page.redirect
    if elements is not None:
        elements = tuple(elements)
        if elements != page_elements(redirect, page.restrictions):
            w = w or _Writer()
            w.entry(T_ELEMENTS, _payload(_strs, elements))
    attrs = _norm_attrs(getattr(page, "attributes", None))
    canon = {"redirect": (("title", redirect),)} if redirect else {}
    if elements is not None and attrs != canon:
        w = w or _Writer()
        w.entry(T_ATTRS, _payload(_attrs, attrs))
    extras = getattr(page, "extras", None)
    if extras:
        w = w or _Writer()
        w.entry(T_EXTRAS, _payload(_raws, extras))
    order = getattr(page, "revision_order", None)
    if order:
        w = w or _Writer()
        out = bytearray()
        _uvarint(out, len(order))
        for rid, after in order:
            _svarint(out, rid)
            _svarint(out, after)
        w.entry(T_ORDER, out)
    return bytes(w.out) if w else b""


def revision_order(ids):
    """The tag-15 pairs (id, after) that restore the document order ``ids``
    (a sequence of revision ids) from id order; () when already sorted."""
    n = len(ids)
    if all(ids[i] < ids[i + 1] for i in range(n - 1)):
        return ()
    import bisect
    tails, tails_at, back = [], [], [-1] * n  # longest increasing run (patience)
    for i, v in enumerate(ids):
        k = bisect.bisect_left(tails, v)
        if k == len(tails):
            tails.append(v)
            tails_at.append(i)
        else:
            tails[k] = v
            tails_at[k] = i
        back[i] = tails_at[k - 1] if k else -1
    keep = set()
    i = tails_at[-1]
    while i >= 0:
        keep.add(i)
        i = back[i]
    return tuple((ids[i], ids[i - 1] if i else 0) for i in range(n) if i not in keep)


def decode_page(extra, redirect, restrictions):
    """(elements, attributes, extras, revision order pairs) of a page record."""
    elements = attrs = None
    extras = []
    order = ()
    for tag, r in _entries(extra, "page"):
        if tag == T_ELEMENTS:
            elements = r.strs()
        elif tag == T_ATTRS:
            attrs = r.attrs()
        elif tag == T_EXTRAS:
            extras = r.raws()
        elif tag == T_ORDER:
            order = tuple((r.svarint(), r.svarint()) for _ in range(r.count()))
        else:
            continue
        r.done()
    if elements is None:
        elements = page_elements(redirect, restrictions)
    if attrs is None:
        attrs = {"redirect": (("title", redirect),)} if redirect else {}
    return elements, attrs, extras, order


# ---- revision records -------------------------------------------------------------


def encode_revision(rev, user, user_fits, slots, profile, learned):
    """Extra bytes of a revision.

    rev has the xmlread Revision fields; user its contributor (or None);
    user_fits is False when C's contributor fields cannot hold the user's
    values; slots the slot objects, main first. profile is the dump's
    text-attribute profile; new entries are added to it and to learned.
    """
    w = None
    main = slots[0]
    deleted = rev.deleted
    comment_deleted = bool(deleted and deleted[1])
    elements = getattr(rev, "elements", None)
    if elements is not None:
        elements = tuple(elements)
        canon = revision_elements(
            rev.parent_id is not None, user is not None, rev.minor,
            rev.comment is not None or comment_deleted, main.origin is not None,
            main.model is not None, main.format is not None, rev.sha1 is not None, len(slots))
        if elements != canon:
            w = _Writer()
            w.entry(T_ELEMENTS, _payload(_strs, elements))
        attrs = _norm_attrs(rev.attributes)
        if attrs != ({"comment": _DELETED} if comment_deleted else {}):
            w = w or _Writer()
            w.entry(T_ATTRS, _payload(_attrs, attrs))
    extras = getattr(rev, "extras", None)
    if extras:
        w = w or _Writer()
        w.entry(T_EXTRAS, _payload(_raws, extras))
    if rev.parent_id is not None and rev.parent_id < 0:
        w = w or _Writer()
        w.entry(T_PARENT, _payload(_svarint, rev.parent_id))
    if user is not None:
        name, uid, ip, udel = user.name, user.id, user.ip, user.deleted
        ue = getattr(user, "elements", None)
        if ue is not None and tuple(ue) != contributor_elements(name, uid, ip, udel):
            w = w or _Writer()
            w.entry(T_USER_ELEMENTS, _payload(_strs, tuple(ue)))
        ua = _norm_attrs(getattr(user, "attributes", None))
        if ue is not None and ua != ({"contributor": _DELETED} if udel else {}):
            w = w or _Writer()
            w.entry(T_USER_ATTRS, _payload(_attrs, ua))
        ux = getattr(user, "extras", None)
        if ux:
            w = w or _Writer()
            w.entry(T_USER_EXTRAS, _payload(_raws, ux))
        if not user_fits:
            w = w or _Writer()
            out = bytearray()
            bits = ((name is not None) | (uid is not None) << 1 | (ip is not None) << 2
                    | bool(udel) << 3)
            out.append(bits)
            if name is not None:
                _str(out, name)
            if uid is not None:
                _svarint(out, uid)
            if ip is not None:
                _str(out, ip)
            w.entry(T_USER_FIELDS, out)
    for i, s in enumerate(slots):
        if i:
            se = getattr(s, "elements", None)
            if se is not None and tuple(se) != slot_elements(s.origin, s.model, s.format):
                w = w or _Writer()
                out = bytearray()
                _uvarint(out, i)
                _strs(out, tuple(se))
                w.entry(T_SLOT_ELEMENTS, out)
        sa = getattr(s, "attributes", None)
        if sa:
            w = w or _Writer()
            out = bytearray()
            _uvarint(out, i)
            _attrs(out, _norm_attrs(sa))
            w.entry(T_SLOT_ATTRS, out)
        sx = getattr(s, "extras", None)
        if sx:
            w = w or _Writer()
            out = bytearray()
            _uvarint(out, i)
            _raws(out, sx)
            w.entry(T_SLOT_EXTRAS, out)
        size = s.bytes
        if s.origin is not None and s.origin < 0:
            w = w or _Writer()
            out = bytearray()
            _uvarint(out, i)
            _svarint(out, s.origin)
            w.entry(T_SLOT_ORIGIN, out)
        if size is not None and size < 0:
            w = w or _Writer()
            out = bytearray()
            _uvarint(out, i)
            _svarint(out, size)
            w.entry(T_SLOT_BYTES, out)
        pairs = getattr(s, "text_attributes", None)
        if pairs is None:
            continue
        values = text_values(size, s.sha1, s.deleted, s.location, s.text_id)
        keys = _profile_keys(pairs, values)
        if keys is not None:
            sit = situation(values, size)
            have = profile.get(sit)
            if have is None:
                profile[sit] = learned[sit] = keys
                continue
            if have == keys:
                continue
        w = w or _Writer()
        out = bytearray()
        _uvarint(out, i)
        _pairs(out, tuple(pairs))
        w.entry(T_SLOT_TEXT_ATTRS, out)
    return bytes(w.out) if w else b""


class RevisionExtra:
    """The decoded extra of a revision record (None: canonical / derived)."""

    __slots__ = ("elements", "attributes", "extras", "user_elements", "user_attributes",
                 "user_extras", "user_fields", "slot_elements", "slot_attributes",
                 "slot_extras", "slot_text_attributes", "slot_origin", "slot_bytes",
                 "parent_id")

    def __init__(self):
        self.parent_id = None
        self.elements = self.attributes = self.user_elements = None
        self.user_attributes = self.user_fields = None
        self.extras = self.user_extras = ()
        self.slot_elements = self.slot_attributes = self.slot_extras = None
        self.slot_text_attributes = self.slot_origin = self.slot_bytes = None


def _slot_entry(r, nslots, table):
    i = r.uvarint()
    if i >= nslots:
        r.fail(f"slot {i} of {nslots}")
    if table is None:
        table = {}
    return i, table


#: per-slot fields of a revision's extra: tag -> (attribute, reader)
_SLOT_FIELDS = {
    T_SLOT_ELEMENTS: ("slot_elements", _Reader.strs),
    T_SLOT_ATTRS: ("slot_attributes", _Reader.attrs),
    T_SLOT_EXTRAS: ("slot_extras", _Reader.raws),
    T_SLOT_TEXT_ATTRS: ("slot_text_attributes", _Reader.pairs),
    T_SLOT_ORIGIN: ("slot_origin", _Reader.svarint),
    T_SLOT_BYTES: ("slot_bytes", _Reader.svarint),
}


def decode_revision(extra, nslots):
    """A :class:`RevisionExtra` (None when extra is empty)."""
    if not extra:
        return None
    x = RevisionExtra()
    for tag, r in _entries(extra, "revision"):
        if tag == T_ELEMENTS:
            x.elements = r.strs()
        elif tag == T_ATTRS:
            x.attributes = r.attrs()
        elif tag == T_EXTRAS:
            x.extras = r.raws()
        elif tag == T_USER_ELEMENTS:
            x.user_elements = r.strs()
        elif tag == T_USER_ATTRS:
            x.user_attributes = r.attrs()
        elif tag == T_USER_EXTRAS:
            x.user_extras = r.raws()
        elif tag == T_USER_FIELDS:
            if r.pos >= r.end:
                r.fail("empty contributor fields")
            bits = r.b[r.pos]
            r.pos += 1
            name = r.str() if bits & 1 else None
            uid = r.svarint() if bits & 2 else None
            ip = r.str() if bits & 4 else None
            x.user_fields = (name, uid, ip, bool(bits & 8))
        elif tag in _SLOT_FIELDS:
            name, read = _SLOT_FIELDS[tag]
            i, values = _slot_entry(r, nslots, getattr(x, name))
            values[i] = read(r)
            setattr(x, name, values)
        elif tag == T_PARENT:
            x.parent_id = r.svarint()
        else:
            continue
        r.done()
    return x


# ---- site info ----------------------------------------------------------------------

SITE_KEYS = ("elements", "attributes", "extras", "namespaces", "root", "top", "text_attrs",
             "style")


def _raw_list(raws):
    return [[r.name, r.parent, r.position, r.xml] for r in raws]


def _raw_objs(items, what):
    try:
        return [RawElement(str(n), str(x), str(p), int(pos)) for n, p, pos, x in items]
    except (TypeError, ValueError):
        raise CorruptDumpError(f"{what}: malformed extras") from None


def encode_site(fields, keep, profile):
    """Site-info extra: fields is a dict of the SITE_KEYS values (None:
    omit), keep a dict of unknown keys to carry over, profile the
    text-attribute profile."""
    obj = dict(keep)
    for k in ("elements", "root"):
        if fields.get(k) is not None:
            obj[k] = [list(p) if isinstance(p, tuple) else p for p in fields[k]]
    if fields.get("attributes"):
        obj["attributes"] = {k: [list(p) for p in v] for k, v in fields["attributes"].items()}
    for k in ("extras", "top"):
        if fields.get(k):
            obj[k] = _raw_list(fields[k])
    if fields.get("namespaces"):
        obj["namespaces"] = {str(k): [list(p) for p in v]
                             for k, v in fields["namespaces"].items()}
    if fields.get("style"):
        obj["style"] = dict(fields["style"])
    if profile:
        obj["text_attrs"] = [[sit, list(keys)] for sit, keys in sorted(profile.items())]
    return bytes((VERSION,)) + json.dumps(obj, ensure_ascii=False,
                                          separators=(",", ":")).encode("utf-8")


def decode_site(extra):
    """(fields dict, unknown keys dict, profile) of a site-info extra."""
    if not extra:
        return {}, {}, {}
    what = "site info extra"
    if extra[0] != VERSION:
        raise CorruptDumpError(f"{what}: unknown version {extra[0]}")
    try:
        obj = json.loads(bytes(extra[1:]).decode("utf-8"))
        if not isinstance(obj, dict):
            raise ValueError("not an object")
        fields = {}
        if "elements" in obj:
            fields["elements"] = tuple(str(e) for e in obj["elements"])
        if "root" in obj:
            fields["root"] = tuple((str(k), str(v)) for k, v in obj["root"])
        if "attributes" in obj:
            fields["attributes"] = {str(k): tuple((str(a), str(b)) for a, b in v)
                                    for k, v in obj["attributes"].items()}
        if "namespaces" in obj:
            fields["namespaces"] = {int(k): tuple((str(a), str(b)) for a, b in v)
                                    for k, v in obj["namespaces"].items()}
        for k in ("extras", "top"):
            if k in obj:
                fields[k] = _raw_objs(obj[k], what)
        if "style" in obj:
            style = obj["style"]
            if not isinstance(style, dict):
                raise ValueError("style is not an object")
            fields["style"] = {str(k): v for k, v in style.items()
                               if isinstance(v, (bool, str))}
        profile = {}
        for sit, keys in obj.get("text_attrs", ()):
            profile[int(sit)] = tuple(str(k) for k in keys)
    except (ValueError, TypeError, AttributeError, UnicodeDecodeError) as e:
        raise CorruptDumpError(f"{what}: {e}") from None
    keep = {k: v for k, v in obj.items() if k not in SITE_KEYS}
    return fields, keep, profile
