"""The value objects of the Python API: pages, revisions, slots, contributors
and the site info, in the vocabulary of mwxml and :mod:`incrdump.xmlread`.

Layer: Python API (DESIGN.md §2), beside :mod:`incrdump.dump` (the handle
that makes them) and over ``_extra`` (for RawElement) and ``errors``. They
carry the fields of xmlread's objects of the same names, including the
fidelity details (``elements``, ``attributes``, ``extras``,
``text_attributes``), so code written for one reads the other and either can
be written into a dump. Objects read from a dump are plain copies; only a
slot's text is read later, through the handle that made it, on first access
of ``.text``. They can also be made by hand, for writing.
"""
import collections
import datetime

from ._extra import RawElement
from .errors import InvalidArgumentError

__all__ = ["SiteInfo", "Namespace", "Page", "Revision", "Slot", "Contributor", "User",
           "Deleted", "RawElement"]

_UTC = datetime.timezone.utc
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=_UTC)
_UNREAD = object()

Deleted = collections.namedtuple("Deleted", "text comment user")
Deleted.__doc__ = """Which parts of a revision are marked ``deleted="deleted"``
(also :class:`incrdump.xmlread.Deleted`)."""
_NOT_DELETED = Deleted(False, False, False)


def _enc(s):
    """str (or bytes) -> bytes; None stays None."""
    if s is None:
        return None
    if isinstance(s, str):
        return s.encode("utf-8", "surrogateescape")
    return bytes(s)


def _dec(b):
    """UTF-8 bytes from C -> str; None stays None. C never validates text,
    so bytes that are not UTF-8 come back as surrogate escapes."""
    if b is None:
        return None
    try:
        return b.decode("utf-8")
    except UnicodeDecodeError:
        return b.decode("utf-8", "surrogateescape")


def _canonical_ts(t):
    d = _EPOCH + datetime.timedelta(seconds=t)
    return (f"{d.year:04d}-{d.month:02d}-{d.day:02d}T"
            f"{d.hour:02d}:{d.minute:02d}:{d.second:02d}Z")


def _parse_ts(value):
    """A datetime (UTC if naive) from an ISO 8601 string, a datetime, or
    seconds since the epoch."""
    if isinstance(value, datetime.datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=_UTC)
    if isinstance(value, (int, float)):
        return _EPOCH + datetime.timedelta(seconds=value)
    if isinstance(value, str):
        try:
            ts = datetime.datetime.fromisoformat(value.strip())
        except ValueError:
            raise InvalidArgumentError(f"not an ISO 8601 time: {value[:40]!r}") from None
        return ts if ts.tzinfo is not None else ts.replace(tzinfo=_UTC)
    raise InvalidArgumentError(f"a timestamp must be a datetime, str or number, not {value!r}")


class _Value:
    """Pickling for the slotted value classes: the dump handle stays behind
    (lazy text is read first)."""

    __slots__ = ()

    def __getstate__(self):
        self._materialize()
        state = {}
        for cls in type(self).__mro__:
            for name in getattr(cls, "__slots__", ()):
                if name != "_dump" and hasattr(self, name):
                    state[name] = getattr(self, name)
        return state

    def __setstate__(self, state):
        if "_dump" in getattr(type(self), "__slots__", ()):
            self._dump = None
        for k, v in state.items():
            setattr(self, k, v)

    def _materialize(self):
        pass


# ---- site info -----------------------------------------------------------------


class Namespace:
    """One namespace of the site info: ``key``, ``name`` (``""`` for the main
    namespace), ``case`` (None when absent) and ``attributes`` (the XML
    element's attributes in order)."""

    __slots__ = ("key", "name", "case", "attributes")

    def __init__(self, key, name, case=None, attributes=()):
        self.key, self.name, self.case, self.attributes = key, name, case, attributes

    def __eq__(self, other):
        return (isinstance(other, Namespace) and (self.key, self.name, self.case, self.attributes)
                == (other.key, other.name, other.case, other.attributes))

    def __repr__(self):
        return f"Namespace({self.key!r}, {self.name!r}, case={self.case!r})"


class SiteInfo:
    """The dump's ``<siteinfo>``: ``sitename``, ``dbname``, ``base``,
    ``generator``, ``case`` (None when absent), ``namespaces`` (key ->
    :class:`Namespace` in document order, None when there was no
    ``<namespaces>``), plus what the XML root said: ``version`` (the export
    schema, e.g. "0.11"), ``lang``, ``root_attributes`` and ``top_extras``
    (top-level elements other than pages). ``elements``, ``attributes``
    and ``extras`` are the fidelity details, as in
    :class:`incrdump.xmlread.SiteInfo`; ``style`` the XML writer's habits
    (a dict, see :data:`incrdump.xmlwrite.DEFAULT_STYLE`; None: unknown).
    """

    __slots__ = ("sitename", "dbname", "base", "generator", "case", "namespaces",
                 "elements", "attributes", "extras", "version", "lang", "root_attributes",
                 "top_extras", "style", "_by_name")

    def __init__(self, sitename=None, dbname=None, base=None, generator=None, case=None,
                 namespaces=None, *, elements=(), attributes=None, extras=None, version=None,
                 lang=None, root_attributes=(), top_extras=None, style=None):
        self.sitename, self.dbname, self.base = sitename, dbname, base
        self.generator, self.case, self.namespaces = generator, case, namespaces
        self.elements = tuple(elements)
        self.attributes = dict(attributes or {})
        self.extras = list(extras or [])
        self.version, self.lang = version, lang
        self.root_attributes = tuple(root_attributes)
        self.top_extras = list(top_extras or [])
        self.style = dict(style) if style else None
        self._by_name = None

    def namespace_of(self, title):
        """The namespace key a prefixed ``title`` belongs to (0 if none): see
        :func:`namespace_of`."""
        if self._by_name is None:
            self._by_name = namespace_names(self.namespaces)
        return namespace_of(self._by_name, title)

    def __repr__(self):
        return f"<SiteInfo {self.dbname or self.sitename!r} version={self.version!r}>"


def _fold(name):
    return " ".join(name.replace("_", " ").split()).casefold()


def namespace_names(namespaces):
    """The lookup table :func:`namespace_of` needs, from a key ->
    :class:`Namespace` mapping (or None): each name as written, then
    folded (case ignored, underscores read as spaces); the first namespace
    to claim a name keeps it."""
    by_name = {}
    for ns in (namespaces or {}).values():
        if ns.name:
            by_name.setdefault(ns.name, ns.key)
    for ns in (namespaces or {}).values():
        if ns.name:
            by_name.setdefault(_fold(ns.name), ns.key)
    return by_name


def namespace_of(by_name, title):
    """The namespace key a prefixed ``title`` belongs to (0 if none): the
    text before the first colon matched against the names of ``by_name``
    (from :func:`namespace_names`), exactly first, then folded. Used for
    schema 0.3, which has no ``<ns>``, and to read a title's prefix."""
    if not by_name or ":" not in title:
        return 0
    prefix = title.split(":", 1)[0]
    key = by_name.get(prefix)
    if key is None:
        key = by_name.get(_fold(prefix), 0)
    return key


# ---- values --------------------------------------------------------------------


class Contributor(_Value):
    """``<contributor>``: a user (``name``, ``id``), an IP address (``ip``),
    or ``deleted``. ``text`` is mwxml's ``user.text``: the name, or the IP.
    ``elements``, ``attributes`` and ``extras`` are the fidelity details
    (None on a contributor made by hand: canonical)."""

    __slots__ = ("name", "id", "ip", "deleted", "elements", "attributes", "extras")

    def __init__(self, name=None, id=None, ip=None, deleted=False, *, elements=None,
                 attributes=None, extras=None):
        self.name, self.id, self.ip, self.deleted = name, id, ip, deleted
        self.elements, self.attributes, self.extras = elements, attributes, extras

    @property
    def text(self):
        """The user name, or the IP address of an anonymous edit; None if deleted."""
        return self.name if self.name is not None else self.ip

    def __eq__(self, other):
        return (isinstance(other, Contributor) and (self.name, self.id, self.ip, self.deleted)
                == (other.name, other.id, other.ip, other.deleted))

    def __repr__(self):
        if self.deleted:
            return "Contributor(deleted=True)"
        if self.ip is not None:
            return f"Contributor(ip={self.ip!r})"
        return f"Contributor(name={self.name!r}, id={self.id!r})"


#: mwxml's name for a contributor
User = Contributor


class Slot(_Value):
    """One content slot of a revision: ``role`` ("main" first), ``origin``,
    ``model``, ``format``, ``sha1`` and ``bytes`` (alias ``size``) as the XML
    gave them, ``deleted``, the stub references ``location`` and
    ``text_id``, and ``text``: the content, read from the dump on first
    access (None when the dump holds no text for it: a stub dump, a
    deleted text). ``text_attributes`` are the ``<text>`` attributes in
    order; ``space`` reads ``xml:space`` from them.
    """

    __slots__ = ("role", "origin", "model", "format", "sha1", "bytes", "deleted", "location",
                 "text_id", "text_attributes", "elements", "attributes", "extras", "stored",
                 "_text", "_dump", "_page_id", "_rev_id", "_index")

    def __init__(self, role="main", text=None, *, origin=None, model=None, format=None,
                 sha1=None, bytes=None, deleted=False, location=None, text_id=None,
                 text_attributes=None, elements=None, attributes=None, extras=None):
        self.role, self.origin, self.model, self.format = role, origin, model, format
        self.sha1, self.bytes, self.deleted = sha1, bytes, deleted
        self.location, self.text_id, self.text_attributes = location, text_id, text_attributes
        self.elements, self.attributes, self.extras = elements, attributes, extras
        self._text = text
        self.stored = text is not None
        self._dump = None

    @property
    def text(self):
        """The content (str), or None when the dump holds none."""
        t = self._text
        if t is _UNREAD:
            raw = self._dump._read_text(self._page_id, self._rev_id, self._index)
            t = self._text = _dec(raw)
        return t

    @text.setter
    def text(self, value):
        self._text = value
        self.stored = value is not None

    def text_bytes(self):
        """The content as UTF-8 bytes (not cached), or None."""
        t = self._text
        if t is _UNREAD:
            return self._dump._read_text(self._page_id, self._rev_id, self._index)
        return _enc(t)

    @property
    def size(self):
        """``bytes``: the text's size as the XML declared it (None if absent)."""
        return self.bytes

    @property
    def space(self):
        """The ``xml:space`` attribute of ``<text>``, or None."""
        for k, v in self.text_attributes or ():
            if k == "xml:space":
                return v
        return None

    @property
    def has_text(self):
        """True: the slot had a ``<text>`` element (as xmlread's Slot)."""
        return True

    @property
    def stub(self):
        """True for a stub reference (location or id) without content."""
        return (self.text is None and not self.deleted
                and (self.text_id is not None or self.location is not None))

    def _materialize(self):
        self.text  # noqa: B018 -- read lazy text before pickling

    def __repr__(self):
        return f"<Slot {self.role!r} model={self.model!r} bytes={self.bytes!r}>"


class MainSlotFields:
    """``text``, ``model``, ``format``, ``origin`` and ``bytes`` of a
    revision read its main slot (``slots["main"]``); shared by this
    module's :class:`Revision` and :class:`incrdump.xmlread.Revision`."""

    __slots__ = ()

    @property
    def text(self):
        """The main slot's text (None when deleted, a stub, or not stored)."""
        return self.slots["main"].text

    @property
    def model(self):
        """The main slot's content model (None before schema 0.8)."""
        return self.slots["main"].model

    @property
    def format(self):
        """The main slot's content format (None before schema 0.8)."""
        return self.slots["main"].format

    @property
    def origin(self):
        """The main slot's origin revision id (schema 0.11), else None."""
        return self.slots["main"].origin

    @property
    def bytes(self):
        """The main ``<text bytes=..>`` size as the XML gave it, or None."""
        return self.slots["main"].bytes


class Revision(MainSlotFields, _Value):
    """One revision. Absent optional fields are None.

    ``id``, ``page_id``, ``parent_id``, ``timestamp`` (timezone-aware UTC;
    ``timestamp_text`` the XML text), ``user`` (:class:`Contributor`),
    ``minor``, ``comment``, ``sha1``, ``deleted`` (:class:`Deleted`),
    ``suppressed``, ``slots`` (role -> :class:`Slot`, "main" first);
    ``text``, ``model``, ``format``, ``origin`` and ``bytes`` read the main
    slot. ``page`` is the :class:`Page` (looked up when not known).
    Constructible by hand for writing: ``Revision(id, timestamp, text=..,
    user=Contributor(..), ...)``.
    """

    __slots__ = ("id", "page_id", "parent_id", "timestamp", "user", "minor", "comment",
                 "sha1", "deleted", "suppressed", "slots", "elements", "attributes", "extras",
                 "_ts_text", "_page", "_dump")

    def __init__(self, id, timestamp, *, page_id=None, parent_id=None, user=None, minor=False,
                 comment=None, text=None, sha1=None, model=None, format=None, origin=None,
                 bytes=None, slots=None, deleted=None, suppressed=False, timestamp_text=None,
                 elements=None, attributes=None, extras=None):
        self.id, self.page_id, self.parent_id = id, page_id, parent_id
        self.timestamp = _parse_ts(timestamp)
        self._ts_text = timestamp_text if timestamp_text is not None else (
            timestamp.strip() if isinstance(timestamp, str) else None)
        self.user, self.minor, self.comment, self.sha1 = user, minor, comment, sha1
        self.deleted = Deleted(*deleted) if deleted is not None else _NOT_DELETED
        self.suppressed = suppressed
        if slots is None:
            slots = {"main": Slot("main", text, origin=origin, model=model, format=format,
                                  bytes=bytes, deleted=self.deleted.text)}
        elif not isinstance(slots, dict):
            slots = {s.role: s for s in slots}
        self.slots = slots
        self.elements, self.attributes, self.extras = elements, attributes, extras
        self._page = None
        self._dump = None

    @property
    def timestamp_text(self):
        """The timestamp as the XML wrote it (canonical ``YYYY-MM-DDTHH:MM:SSZ``
        unless the source said otherwise)."""
        if self._ts_text is not None:
            return self._ts_text
        return _canonical_ts(int((self.timestamp - _EPOCH) // datetime.timedelta(seconds=1)))

    def text_bytes(self, role="main"):
        """A slot's text as UTF-8 bytes, or None."""
        return self.slots[role].text_bytes()

    @property
    def page(self):
        """The :class:`Page` this revision belongs to."""
        if self._page is None and self._dump is not None:
            self._page = self._dump.page(self.page_id)
        return self._page

    def _materialize(self):
        for s in self.slots.values():
            s._materialize()

    def as_dict(self, text=False):
        """The revision's fields as JSON-ready data (texts with text=True)."""
        u = self.user
        d = {
            "id": self.id, "page_id": self.page_id, "parent_id": self.parent_id,
            "timestamp": self.timestamp_text, "minor": self.minor, "comment": self.comment,
            "user": None if u is None else {"id": u.id, "name": u.name, "ip": u.ip,
                                            "deleted": u.deleted},
            "sha1": self.sha1, "deleted": self.deleted._asdict(), "suppressed": self.suppressed,
            "slots": {
                role: {"origin": s.origin, "model": s.model, "format": s.format, "sha1": s.sha1,
                       "bytes": s.bytes, "stored": s.stored}
                for role, s in self.slots.items()
            },
        }
        if text:
            for role, s in self.slots.items():
                d["slots"][role]["text"] = s.text
        return d

    def __repr__(self):
        return f"<Revision id={self.id} page={self.page_id} {self.timestamp_text}>"


class Page(_Value):
    """One page: ``id``, ``namespace``, ``title`` (with its namespace
    prefix, as in ``<title>``), ``redirect`` (the target; ``""`` for a bare
    ``<redirect/>``; None), ``restrictions``. Iterating a page yields its
    revisions in id order, read lazily from the dump (each iteration starts
    afresh). ``elements``, ``attributes`` and ``extras`` are the fidelity
    details; ``namespace_from_title`` is True when the XML had no ``<ns>``.
    ``revision_order`` records where the XML listed revisions out of id
    order (pairs (id, id of the revision before it, 0: first); see
    :mod:`incrdump._extra`); export writes them back in that order.
    """

    __slots__ = ("id", "namespace", "title", "redirect", "restrictions", "elements",
                 "attributes", "extras", "revision_order", "_dump")

    def __init__(self, id, title, namespace=0, *, redirect=None, restrictions=None,
                 elements=None, attributes=None, extras=None, revision_order=()):
        self.id, self.title, self.namespace = id, title, namespace
        self.redirect, self.restrictions = redirect, restrictions
        self.elements, self.attributes, self.extras = elements, attributes, extras
        self.revision_order = revision_order
        self._dump = None

    def __iter__(self):
        if self._dump is None:
            return iter(())
        return self._dump._iter_revisions(self)

    def revisions(self):
        """Iterator over the page's revisions in id order."""
        return iter(self)

    def latest(self):
        """The revision with the highest id (None if the page has none).
        Reads metadata only."""
        last = None
        for last in self:
            pass
        return last

    @property
    def namespace_from_title(self):
        """True when the namespace came from the title (schema 0.3: no <ns>)."""
        return self.elements is not None and "ns" not in self.elements

    @property
    def is_redirect(self):
        return self.redirect is not None

    def as_dict(self):
        """The page's fields as JSON-ready data."""
        return {"id": self.id, "namespace": self.namespace, "title": self.title,
                "redirect": self.redirect, "restrictions": self.restrictions}

    def __repr__(self):
        return f"<Page id={self.id} ns={self.namespace} title={self.title!r}>"
