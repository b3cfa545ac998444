"""The Python API of a dump: pages, revisions and their text, in mwxml's words.

Layer: Python API (DESIGN.md §2), over ``_lowlevel`` (the ``dump_*``
calls of ``csrc/incrdump.h``), ``values`` and ``_extra`` (the fidelity
details kept in the records' opaque ``extra`` bytes); xml, sources, diff,
drivers and the CLI build on it. Nothing here parses or writes XML.

    with incrdump.open("enwiki.idump") as dump:
        dump.siteinfo.dbname
        for page in dump:                 # pages in id order, lazily
            for rev in page:              # its revisions in id order, lazily
                rev.id, rev.timestamp, rev.user.text, rev.comment
                rev.text                  # read (and decoded) only when asked
        dump.page(12).title, dump.page_by_title("Talk:Pear"), dump.revision(98765).text

    with incrdump.open("new.idump", "w", kind="current") as dump:
        with dump.transaction() as txn:   # commit on success, abort on error
            txn.put_siteinfo(siteinfo)
            txn.put_page(page)            # an xmlread Page, a dump Page, or fields
            txn.put_revision(rev)

Values (:mod:`incrdump.values`, re-exported here): :class:`Page`,
:class:`Revision`, :class:`Slot` and :class:`Contributor` carry the fields
of :mod:`incrdump.xmlread`'s objects of the same names (and the same
fidelity details: ``elements``, ``attributes``, ``extras``,
``text_attributes``), so code written for one reads the other, and either
can be written into a dump. They are copied out of C at once (the C objects are freed before the call returns); only a
slot's text is read later, on first access of ``.text``, so a metadata scan
never decodes text. Missing pages and revisions raise
:class:`~incrdump.errors.NotFoundError` (a ``KeyError``); the ``get_*``
methods return None instead.

Threads: a :class:`Dump` may be shared between threads. One lock per handle
serialises every call into C (iterators take it for each step), so
concurrent readers are safe but not parallel; for parallel reading open one
handle per thread, or use :func:`map` (one handle per process). A
transaction belongs to the handle, not to a thread: other threads reading
through the same handle see its uncommitted changes.
"""
import datetime
import inspect
import multiprocessing
import os
import threading
import uuid as _uuid

from . import _extra
from . import _lowlevel as L
from ._extra import RawElement
from .errors import InvalidArgumentError, MisuseError, NotFoundError
from .values import (
    _EPOCH,
    _NOT_DELETED,
    _UNREAD,
    _UTC,
    Contributor,
    Deleted,
    Namespace,
    Page,
    Revision,
    SiteInfo,
    Slot,
    User,
    _canonical_ts,
    _dec,
    _enc,
    _parse_ts,
)

__all__ = [
    "Dump", "open", "map", "Transaction", "SiteInfo", "Namespace", "Page", "Revision",
    "Slot", "Contributor", "User", "Deleted", "RawElement", "KINDS", "CODECS",
]

KINDS = {"history": L.KIND_HISTORY, "current": L.KIND_CURRENT, "stub": L.KIND_STUB}
CODECS = {"zstd": L.CODEC_ZSTD, "xz": L.CODEC_XZ}
_KIND_NAME = {v: k for k, v in KINDS.items()}
_CODEC_NAME = {v: k for k, v in CODECS.items()}
_CODEC_NAME[0] = "zstd"

_SLOT_FIELDS = frozenset(("origin", "model", "format", "text"))
_INT64_MIN = -(1 << 63)


# ---- the handle --------------------------------------------------------------------


class Dump:
    """An open dump file.

    ``mode="r"`` reads; ``mode="w"`` also writes, creating the file when it
    is missing (an existing dump is opened, never truncated). The creation
    options -- ``kind`` ("history", "current" or "stub"), ``articles``
    (only article namespaces), ``codec`` ("zstd" or "xz"), ``level`` (None:
    the codec's default), ``max_depth`` (longest delta chain, default
    16) and ``packed`` (store a page's consecutive texts in shared frames,
    the read-mostly layout :func:`incrdump.compact` writes) -- are fixed
    when the file is created; given for an existing file,
    kind, articles and codec must match it (InvalidArgumentError).
    ``cache_size`` sets the node cache in bytes. ``_faults=(crash_at, mode,
    seed)`` (private, for tests) opens the file over the fault-injecting
    I/O layer (``_lowlevel.DumpHandle(..., faults=...)``).

    Use as a context manager or call :meth:`close`; a closed handle raises
    :class:`~incrdump.errors.MisuseError`. Thread-safe (see the module doc).
    """

    def __init__(self, path, mode="r", *, kind=None, articles=None, codec=None, level=None,
                 max_depth=None, cache_size=None, packed=None, _faults=None):
        self._dh = None
        self._lock = threading.RLock()
        self._txn = None
        self.path = os.fspath(path)
        if mode not in ("r", "w"):
            raise InvalidArgumentError(f"mode must be 'r' or 'w', not {mode!r}")
        if kind is not None and kind not in KINDS:
            raise InvalidArgumentError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
        if codec is not None and codec not in CODECS:
            raise InvalidArgumentError(f"codec must be one of {', '.join(CODECS)}, not {codec!r}")
        self.mode = mode
        flags, config = 0, None
        if mode == "w":
            flags = L.DUMP_WRITE | L.DUMP_CREATE
            config = {"kind": KINDS[kind or "history"], "articles": int(bool(articles)),
                      "codec": CODECS[codec or "zstd"], "level": level or 0,
                      "max_depth": max_depth or 0, "packed": int(bool(packed))}
        dh = L.DumpHandle(self.path, flags, config, faults=_faults)
        try:
            if cache_size:
                dh.set_cache_size(cache_size)
            info = dh.info()
            have = {"kind": _KIND_NAME.get(info["kind"]), "articles": bool(info["articles"]),
                    "codec": _CODEC_NAME.get(info["codec"])}
            for name, want in (("kind", kind), ("articles", articles), ("codec", codec)):
                if want is not None and (bool(want) if name == "articles" else want) != have[name]:
                    raise InvalidArgumentError(
                        f"{self.path}: the dump's {name} is {have[name]!r}, not {want!r}")
            self.kind, self.articles, self.codec = have["kind"], have["articles"], have["codec"]
        except BaseException:
            dh.close()
            raise
        self._dh = dh
        self._load_site()

    # -- the handle -----------------------------------------------------------
    def _handle(self):
        dh = self._dh
        if dh is None:
            raise MisuseError(f"{self.path}: the dump is closed")
        return dh

    @property
    def closed(self):
        """True once :meth:`close` was called."""
        return self._dh is None

    def close(self):
        """Close the handle (aborting an open transaction). Idempotent."""
        with self._lock:
            dh, self._dh = self._dh, None
            if self._txn is not None:
                self._txn._done = True
                self._txn = None
            if dh is not None:
                dh.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        dh = getattr(self, "_dh", None)
        if dh is not None:
            dh.close()

    def __repr__(self):
        state = "closed" if self._dh is None else f"{self.kind}, mode {self.mode!r}"
        return f"<incrdump.Dump {self.path!r} ({state})>"

    def info(self):
        """The dump at a glance: kind, articles, codec, level, max_depth,
        packed, pages, revisions, texts, dictionary_bytes, the site's name, and the
        file's identity (uuid, generation, format, blocks, file_size)."""
        with self._lock:
            dh = self._handle()
            i = dh.info()
            s = dh.store_info()
            seq = dh.get_sequence()
        site = self._site_rec
        return {
            "path": self.path, "kind": _KIND_NAME.get(i["kind"], i["kind"]),
            "articles": bool(i["articles"]), "codec": _CODEC_NAME.get(i["codec"], i["codec"]),
            "level": i["level"], "max_depth": i["max_depth"], "packed": bool(i["packed"]),
            "pages": i["pages"],
            "revisions": i["revisions"], "texts": i["texts"],
            "dictionary_bytes": i["dictionary_len"],
            "sitename": _dec(site.sitename) if site else None,
            "dbname": _dec(site.dbname) if site else None,
            "uuid": str(_uuid.UUID(bytes=i["uuid"])), "generation": i["generation"],
            "sequence": seq, "format": "%d.%d" % s["version"], "blocks": s["nblocks"],
            "file_size": i["file_size"],
        }

    @property
    def sequence(self):
        """The dump's sequence number: 0 as built, one more per update or
        applied diff (docs/diff.md). Inside a transaction, its own value."""
        with self._lock:
            return self._handle().get_sequence()

    def __len__(self):
        """Number of pages."""
        with self._lock:
            return self._handle().info()["pages"]

    def refresh(self):
        """Move a reader to the newest commit (other handles' writes)."""
        with self._lock:
            self._handle().refresh()
            self._load_site()

    def check(self):
        """Full integrity check (dump_check): counts of pages, revisions,
        texts and text_bytes, or CorruptDumpError with the first problem."""
        with self._lock:
            return self._handle().check()

    # -- site info --------------------------------------------------------------
    def _load_site(self):
        """(Re)read the site info of the handle's snapshot."""
        try:
            rec = self._dh.get_siteinfo()
        except NotFoundError:
            rec = None
        self._site_rec = rec
        self._site = None
        fields, self._site_keep, self._profile = _extra.decode_site(rec.extra if rec else b"")
        self._site_fields = fields

    @property
    def siteinfo(self):
        """The :class:`SiteInfo`, or None if the dump has none."""
        with self._lock:
            self._handle()
            if self._site is None and self._site_rec is not None:
                self._site = self._make_site()
            return self._site

    def _make_site(self):
        rec, f = self._site_rec, self._site_fields
        elements = f.get("elements", ())
        nsattrs = f.get("namespaces", {})
        namespaces = None
        if rec.namespaces or "namespaces" in elements:
            namespaces = {}
            for ns in rec.namespaces:
                case = _dec(ns.casing)
                attrs = nsattrs.get(ns.key)
                if attrs is None:
                    attrs = (("key", str(ns.key)),)
                    if case is not None:
                        attrs += (("case", case),)
                namespaces[ns.key] = Namespace(ns.key, _dec(ns.name) or "", case, attrs)
        return SiteInfo(
            _dec(rec.sitename), _dec(rec.dbname), _dec(rec.base), _dec(rec.generator),
            _dec(rec.casing), namespaces, elements=elements,
            attributes=f.get("attributes"), extras=f.get("extras"),
            version=_dec(rec.schema), lang=_dec(rec.lang), root_attributes=f.get("root", ()),
            top_extras=f.get("top"), style=f.get("style"))

    def _write_site(self, rec=None):
        """Put the site info (rec, or the current one) with the current
        profile in its extra. In a transaction, under the lock."""
        fields = self._site_fields
        if rec is None:
            rec = self._site_rec or L.SiteRec(None, None, None, None, None, None, None, None, [])
        else:
            fields = rec[1]
            rec = rec[0]
        extra = _extra.encode_site(fields, self._site_keep, self._profile)
        rec = rec._replace(extra=extra)
        self._dh.put_siteinfo(rec)
        self._site_rec = rec
        self._site_fields = fields
        self._site = None

    # -- reading ----------------------------------------------------------------
    def _page_obj(self, rec):
        p = Page.__new__(Page)
        p.id = rec.id
        p.namespace = rec.ns
        p.title = _dec(rec.title)
        p.redirect = _dec(rec.redirect)
        p.restrictions = _dec(rec.restrictions)
        p.elements, p.attributes, p.extras, p.revision_order = _extra.decode_page(
            rec.extra, p.redirect, p.restrictions)
        p._dump = self
        return p

    def _rev_obj(self, rec, page):
        r = Revision.__new__(Revision)
        flags = rec.flags
        r.id = rec.id
        r.page_id = rec.page_id
        r.parent_id = rec.parent_id if flags & L.REV_HAS_PARENT else None
        tt = _dec(rec.timestamp_text)
        r._ts_text = tt
        r.timestamp = None
        if tt is not None:
            try:
                r.timestamp = _parse_ts(tt)
            except InvalidArgumentError:
                pass
        if r.timestamp is None:
            r.timestamp = _EPOCH + datetime.timedelta(seconds=rec.timestamp)
        r.minor = bool(flags & L.REV_MINOR)
        r.comment = _dec(rec.comment)
        r.sha1 = _dec(rec.sha1)
        r.suppressed = bool(flags & L.REV_SUPPRESSED)
        nslots = len(rec.slots)
        x = _extra.decode_revision(rec.extra, nslots)
        if x is not None and x.parent_id is not None:
            r.parent_id = x.parent_id

        # contributor
        kind = rec.contributor
        if x is not None and x.user_fields is not None:
            name, uid, ip, udel = x.user_fields
        elif kind == L.CONTRIB_NONE:
            name = uid = ip = None
            udel = False
        else:
            name = uid = ip = None
            udel = kind == L.CONTRIB_DELETED
            if kind == L.CONTRIB_USER:
                name = _dec(rec.user_text)
                uid = rec.user_id if rec.user_id >= 0 else None
            elif kind == L.CONTRIB_IP:
                ip = _dec(rec.user_text)
        if kind == L.CONTRIB_NONE and (x is None or x.user_fields is None):
            user = None
        else:
            user = Contributor.__new__(Contributor)
            user.name, user.id, user.ip, user.deleted = name, uid, ip, udel
            ue = x.user_elements if x is not None else None
            user.elements = ue if ue is not None else _extra.contributor_elements(
                name, uid, ip, udel)
            ua = x.user_attributes if x is not None else None
            user.attributes = ua if ua is not None else (
                {"contributor": (("deleted", "deleted"),)} if udel else {})
            user.extras = list(x.user_extras) if x is not None else []
        r.user = user

        # slots
        profile = self._profile
        slots = {}
        mains = None
        for i, s in enumerate(rec.slots):
            slot = Slot.__new__(Slot)
            role = _dec(s.role)
            slot.role = role if role is not None else ("main" if i == 0 else "")
            slot.origin = s.origin if s.origin != -1 else None
            size = s.size if s.size != -1 else None
            if x is not None:
                if x.slot_origin and i in x.slot_origin:
                    slot.origin = x.slot_origin[i]
                if x.slot_bytes and i in x.slot_bytes:
                    size = x.slot_bytes[i]
            slot.bytes = size
            slot.model = _dec(s.model)
            slot.format = _dec(s.format)
            slot.sha1 = _dec(s.sha1)
            slot.location = _dec(s.location)
            slot.text_id = _dec(s.text_id)
            slot.deleted = bool(s.flags & L.SLOT_DELETED)
            stored = slot.stored = bool(s.flags & L.SLOT_HAS_TEXT)
            explicit = x.slot_text_attributes if x is not None else None
            if explicit and i in explicit:
                slot.text_attributes = explicit[i]
            else:
                values = _extra.text_values(size, slot.sha1, slot.deleted, slot.location,
                                            slot.text_id)
                slot.text_attributes = _extra.text_attributes(values, size, stored, profile)
            if i == 0:
                mains = slot
                slot.elements = None  # set below, from the revision's elements
            else:
                se = x.slot_elements.get(i) if x is not None and x.slot_elements else None
                slot.elements = se if se is not None else _extra.slot_elements(
                    slot.origin, slot.model, slot.format)
            sa = x.slot_attributes.get(i) if x is not None and x.slot_attributes else None
            slot.attributes = sa if sa is not None else {}
            sx = x.slot_extras.get(i) if x is not None and x.slot_extras else None
            slot.extras = sx if sx is not None else []
            slot._text = _UNREAD if stored else None
            slot._dump = self
            slot._page_id = rec.page_id
            slot._rev_id = rec.id
            slot._index = i
            slots[slot.role] = slot
        r.slots = slots

        comment_deleted = bool(flags & L.REV_COMMENT_DELETED)
        r.deleted = Deleted(bool(flags & L.REV_TEXT_DELETED), comment_deleted,
                            bool(user.deleted) if user is not None
                            else bool(flags & L.REV_USER_DELETED))
        if x is not None and x.elements is not None:
            r.elements = x.elements
        else:
            r.elements = _extra.revision_elements(
                r.parent_id is not None, user is not None, r.minor,
                r.comment is not None or comment_deleted,
                mains is not None and mains.origin is not None,
                mains is not None and mains.model is not None,
                mains is not None and mains.format is not None, r.sha1 is not None, nslots)
        if mains is not None:
            mains.elements = tuple(n for n in r.elements if n in _SLOT_FIELDS)
        if x is not None and x.attributes is not None:
            r.attributes = x.attributes
        else:
            r.attributes = {"comment": (("deleted", "deleted"),)} if comment_deleted else {}
        r.extras = list(x.extras) if x is not None else []
        r._page = page
        r._dump = self
        return r

    def _read_text(self, page_id, rev_id, index):
        with self._lock:
            try:
                return self._handle().get_text(page_id, rev_id, index)
            except NotFoundError:
                return None

    def page(self, page_id):
        """The :class:`Page` with this id; NotFoundError (a KeyError) if none."""
        with self._lock:
            try:
                rec = self._handle().get_page(page_id)
            except NotFoundError:
                raise NotFoundError(f"no page with id {page_id}", 1) from None
        return self._page_obj(rec)

    def get_page(self, page_id):
        """The :class:`Page` with this id, or None."""
        try:
            return self.page(page_id)
        except NotFoundError:
            return None

    def _title_keys(self, title, namespace):
        """Candidate (namespace, title without prefix) lookups for a title."""
        si = self.siteinfo
        if namespace is None:
            ns = si.namespace_of(title) if si is not None else 0
            if ns != 0:
                return [(ns, title.split(":", 1)[1])]
            return [(0, title)]
        keys = []
        if namespace != 0 and ":" in title:
            if si is None or si.namespace_of(title) == namespace:
                keys.append((namespace, title.split(":", 1)[1]))
        keys.append((namespace, title))
        return keys

    def page_by_title(self, title, namespace=None):
        """The :class:`Page` titled ``title``; NotFoundError if none.

        ``namespace`` None: the namespace is read from the title's prefix
        (``"Talk:Pear"``), using the site info's namespace names. With a
        namespace, the title may carry its prefix or not. Underscores are
        also tried as spaces.
        """
        keys = self._title_keys(title, namespace)
        keys += [(ns, name.replace("_", " ")) for ns, name in keys if "_" in name]
        with self._lock:
            dh = self._handle()
            for ns, name in keys:
                try:
                    rec = dh.get_page_by_title(ns, _enc(name))
                except NotFoundError:
                    continue
                return self._page_obj(rec)
        where = f" in namespace {namespace}" if namespace is not None else ""
        raise NotFoundError(f"no page titled {title!r}{where}", 1)

    def get_page_by_title(self, title, namespace=None):
        """As :meth:`page_by_title`, None when missing."""
        try:
            return self.page_by_title(title, namespace)
        except NotFoundError:
            return None

    def revision(self, rev_id):
        """The :class:`Revision` with this id; NotFoundError (a KeyError) if none."""
        with self._lock:
            try:
                rec = self._handle().get_revision(rev_id)
            except NotFoundError:
                raise NotFoundError(f"no revision with id {rev_id}", 1) from None
            return self._rev_obj(rec, None)

    def get_revision(self, rev_id):
        """The :class:`Revision` with this id, or None."""
        try:
            return self.revision(rev_id)
        except NotFoundError:
            return None

    def __iter__(self):
        return self.pages()

    def pages(self, start=None, end=None, namespace=None, *, order="id"):
        """Iterator over pages: ids in [start, end) (either may be None),
        of ``namespace`` (an int or a collection of ints; None: all).
        ``order="title"`` lists one namespace by title instead (bytewise)."""
        self._handle()
        if order == "title":
            if not isinstance(namespace, int) or start is not None or end is not None:
                raise InvalidArgumentError("order='title' needs one namespace and no id range")
            return self._iter_pages(L.PAGES_BY_TITLE, namespace, 0, None)
        if order != "id":
            raise InvalidArgumentError(f"order must be 'id' or 'title', not {order!r}")
        lo = _INT64_MIN if start is None else start
        if end is not None and (end <= 0 or end <= lo):
            return iter(())
        nsset = None
        if namespace is not None:
            nsset = frozenset((namespace,)) if isinstance(namespace, int) else frozenset(namespace)
        return self._iter_pages(L.PAGES_BY_ID, lo, end or 0, nsset)

    def _iter_pages(self, order, lo, hi, nsset):
        with self._lock:
            cur = self._handle().pages(order, lo, hi)
        try:
            while True:
                with self._lock:
                    self._handle()
                    rec = cur.next()
                if rec is None:
                    return
                if nsset is None or rec.ns in nsset:
                    yield self._page_obj(rec)
        finally:
            with self._lock:
                cur.close()

    def _iter_revisions(self, page):
        with self._lock:
            try:
                cur = self._handle().revisions(page.id)
            except NotFoundError:
                return
        try:
            while True:
                with self._lock:
                    self._handle()
                    rec = cur.next()
                    if rec is None:
                        return
                    rev = self._rev_obj(rec, page)
                yield rev
        finally:
            with self._lock:
                cur.close()

    # -- writing ---------------------------------------------------------------
    def transaction(self):
        """Begin a write transaction: a :class:`Transaction`, best used as a
        context manager (commit on success, abort on an exception)."""
        return Transaction(self)

    def _title_prefix(self, title, ns):
        if ns == 0 or ":" not in title:
            return 0
        si = self.siteinfo
        if si is not None and si.namespaces and si.namespace_of(title) != ns:
            return 0
        return len(_enc(title.split(":", 1)[0])) + 1

    def _put_page(self, page, fields):
        if page is None:
            page = Page(**fields)
        elif fields:
            page = _override(Page, page, fields,
                             ("id", "title", "namespace", "redirect", "restrictions",
                              "elements", "attributes", "extras"))
        title = page.title
        if title is None or page.id is None:
            raise InvalidArgumentError("a page needs an id and a title")
        ns = page.namespace if page.namespace is not None else 0
        rec = L.PageRec(page.id, ns, _enc(title), self._title_prefix(title, ns),
                        _enc(page.redirect), _enc(page.restrictions), _extra.encode_page(page))
        self._dh.put_page(rec)

    def _put_revision(self, rev, page_id, fields):
        if rev is None:
            rev = Revision(page_id=page_id, **fields)
        elif fields:
            rev = _override(Revision, rev, fields, None)
        if page_id is None:
            page_id = getattr(rev, "page_id", None)
            if page_id is None:
                page = getattr(rev, "page", None)
                page_id = getattr(page, "id", None)
        if page_id is None:
            raise InvalidArgumentError(f"revision {rev.id}: no page id (pass page_id=)")
        ts = rev.timestamp
        if isinstance(ts, datetime.datetime):
            if ts.tzinfo is None:
                ts = ts.replace(tzinfo=_UTC)
        else:
            ts = _parse_ts(ts)
        seconds = (ts - _EPOCH) // datetime.timedelta(seconds=1)
        ts_text = getattr(rev, "timestamp_text", None)
        if ts_text is None and ts.microsecond:
            ts_text = ts.isoformat().replace("+00:00", "Z")
        if ts_text is not None and ts_text == _canonical_ts(seconds):
            ts_text = None

        deleted = rev.deleted or _NOT_DELETED
        user = rev.user
        kind, uid, utext, fits = _contributor_c(user)
        flags = 0
        if rev.minor:
            flags |= L.REV_MINOR
        parent = rev.parent_id
        if parent is not None and parent >= 0:  # a negative one goes in extra
            flags |= L.REV_HAS_PARENT
        if deleted[0]:
            flags |= L.REV_TEXT_DELETED
        if deleted[1]:
            flags |= L.REV_COMMENT_DELETED
        if deleted[2] or kind == L.CONTRIB_DELETED:
            flags |= L.REV_USER_DELETED
        if getattr(rev, "suppressed", False):
            flags |= L.REV_SUPPRESSED

        slot_objs = list(rev.slots.values())
        if not slot_objs or slot_objs[0].role != "main":
            main = rev.slots.get("main")
            if main is None:
                raise InvalidArgumentError(f"revision {rev.id}: no main slot")
            slot_objs = [main] + [s for s in slot_objs if s is not main]
        stub = self.kind == "stub"
        slots = []
        for s in slot_objs:
            text = None if stub else _slot_text(s)
            sflags = 0
            if text is not None:
                sflags |= L.SLOT_HAS_TEXT
            if s.deleted:
                sflags |= L.SLOT_DELETED
            origin, size = s.origin, s.bytes
            slots.append(L.SlotRec(
                _enc(s.role), origin if origin is not None and origin >= 0 else -1,
                _enc(s.model), _enc(s.format), _enc(s.sha1),
                size if size is not None and size >= 0 else -1, sflags,
                _enc(s.location), _enc(s.text_id), text))
        learned = {}
        extra = _extra.encode_revision(rev, user, fits, slot_objs, self._profile, learned)
        if learned:
            self._write_site()
        rec = L.RevRec(rev.id, page_id, parent if flags & L.REV_HAS_PARENT else 0,
                       seconds, _enc(ts_text), flags, kind, uid, _enc(utext), _enc(rev.comment),
                       _enc(rev.sha1), extra, slots)
        self._dh.put_revision(rec)

    def _put_siteinfo(self, si, version, lang, root_attributes, top_extras, style=None):
        if style is None:
            style = getattr(si, "style", None)
        if version is None:
            version = getattr(si, "version", None)
        if lang is None:
            lang = getattr(si, "lang", None)
        if root_attributes is None:
            root_attributes = getattr(si, "root_attributes", None)
        if top_extras is None:
            top_extras = getattr(si, "top_extras", None)
        namespaces = []
        nsattrs = {}
        for ns in (si.namespaces or {}).values():
            namespaces.append(L.NamespaceRec(ns.key, _enc(ns.name), _enc(ns.case)))
            attrs = tuple(getattr(ns, "attributes", None) or ())
            canon = (("key", str(ns.key)),) + ((("case", ns.case),) if ns.case is not None else ())
            if attrs and attrs != canon:
                nsattrs[ns.key] = attrs
        elements = tuple(getattr(si, "elements", None) or ())
        if not elements:
            elements = tuple(n for n in ("sitename", "dbname", "base", "generator", "case")
                             if getattr(si, n, None) is not None)
            if si.namespaces is not None:
                elements += ("namespaces",)
        fields = {"elements": elements, "attributes": getattr(si, "attributes", None),
                  "extras": getattr(si, "extras", None), "namespaces": nsattrs,
                  "root": tuple(root_attributes or ()), "top": top_extras,
                  "style": dict(style) if style else None}
        rec = L.SiteRec(_enc(si.sitename), _enc(si.dbname), _enc(si.base), _enc(si.generator),
                        _enc(si.case), _enc(lang), _enc(version), None, namespaces)
        self._write_site((rec, fields))


def _slot_text(s):
    """A slot's text as bytes (None: none), without decoding a dump's text."""
    if isinstance(s, Slot):
        return s.text_bytes()
    t = s.text
    if t is None:
        return None
    return _enc(t)


def _contributor_c(user):
    """(C contributor kind, user_id, user_text, fits) of a contributor;
    fits is False when C's fields cannot hold its values exactly."""
    if user is None:
        return L.CONTRIB_NONE, -1, None, True
    name = getattr(user, "name", None)
    uid = getattr(user, "id", None)
    ip = getattr(user, "ip", None)
    if getattr(user, "deleted", False):
        return L.CONTRIB_DELETED, -1, None, name is None and uid is None and ip is None
    if ip is not None:
        if name is None and uid is None:
            return L.CONTRIB_IP, -1, ip, True
        return L.CONTRIB_USER, uid if uid is not None and uid >= 0 else -1, name, False
    if uid is not None and uid < 0:
        return L.CONTRIB_USER, -1, name, False
    return L.CONTRIB_USER, uid if uid is not None else -1, name, True


def _override(cls, obj, fields, names):
    """A cls copied from obj's attributes with fields replacing some."""
    if names is None:  # Revision
        kw = {k: getattr(obj, k, None) for k in (
            "page_id", "parent_id", "user", "minor", "comment", "sha1", "slots", "deleted",
            "suppressed", "elements", "attributes", "extras")}
        kw["timestamp_text"] = getattr(obj, "timestamp_text", None)
        kw["minor"] = bool(kw["minor"])
        kw["suppressed"] = bool(kw["suppressed"])
        if kw["page_id"] is None and getattr(obj, "page", None) is not None:
            kw["page_id"] = obj.page.id
        kw.update(fields)
        return cls(fields.get("id", obj.id), fields.get("timestamp", obj.timestamp),
                   **{k: v for k, v in kw.items() if k not in ("id", "timestamp")})
    kw = {k: getattr(obj, k, None) for k in names}
    kw.update(fields)
    return cls(**kw)


class Transaction:
    """A write transaction on a :class:`Dump` (from :meth:`Dump.transaction`).

    As a context manager it commits when the block ends normally and aborts
    when it raises. Nothing is visible to other handles before
    :meth:`commit`. One transaction at a time per handle (MisuseError) and
    per file (BusyError from another handle).
    """

    def __init__(self, dump):
        with dump._lock:
            dh = dump._handle()
            if dump._txn is not None:
                raise MisuseError(f"{dump.path}: a transaction is already open on this handle")
            dh.begin()
            self._dump = dump
            self._done = False
            dump._txn = self
            try:
                dump._load_site()  # the newest commit's
            except BaseException:
                dh.abort()
                dump._txn = None
                raise

    def _live(self):
        if self._done:
            raise MisuseError("the transaction is finished")
        return self._dump

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if self._done:
            return False
        if exc_type is None:
            self.commit()
        else:
            try:
                self.abort()
            except Exception:  # the original error matters more
                pass
        return False

    @property
    def active(self):
        """True until commit or abort."""
        return not self._done

    def commit(self):
        """Make everything durable; on failure the transaction is aborted."""
        d = self._live()
        with d._lock:
            self._done = True
            d._txn = None
            try:
                d._handle().commit()
            finally:
                if d._dh is not None:
                    d._load_site()

    def abort(self):
        """Discard everything done in the transaction."""
        d = self._live()
        with d._lock:
            self._done = True
            d._txn = None
            d._handle().abort()
            d._load_site()

    def put_siteinfo(self, siteinfo, *, version=None, lang=None, root_attributes=None,
                     top_extras=None, style=None):
        """Replace the site info with ``siteinfo`` (an xmlread or dump
        SiteInfo). version, lang and root_attributes are the XML root's
        (XMLReader.version, .lang, .attributes); top_extras its top-level
        elements other than pages; style the XML writer's details
        (XMLReader.style, :data:`incrdump.xmlwrite.DEFAULT_STYLE`)."""
        d = self._live()
        with d._lock:
            d._put_siteinfo(siteinfo, version, lang, root_attributes, top_extras, style)

    def put_page(self, page=None, **fields):
        """Insert or replace a page: an xmlread or dump Page, or the fields
        (``id``, ``title``, ``namespace``, ``redirect``, ``restrictions``);
        fields given with a page override its values."""
        d = self._live()
        with d._lock:
            d._put_page(page, fields)

    def put_revision(self, rev=None, *, page_id=None, **fields):
        """Insert or replace a revision of an existing page: an xmlread or
        dump Revision, or the fields of :class:`Revision`. The page id comes
        from ``page_id``, else from the revision (``page_id`` or ``page``).
        Texts are stored unless the dump is a stub; in a current dump an
        older revision than the page's latest is not stored."""
        d = self._live()
        with d._lock:
            d._put_revision(rev, page_id, fields)

    def delete_page(self, page_id):
        """Delete a page with all its revisions; NotFoundError if missing."""
        d = self._live()
        with d._lock:
            try:
                d._dh.delete_page(page_id)
            except NotFoundError:
                raise NotFoundError(f"no page with id {page_id}", 1) from None

    def delete_revision(self, rev_id):
        """Delete a revision (texts that depended on it are re-encoded);
        NotFoundError if missing."""
        d = self._live()
        with d._lock:
            try:
                d._dh.delete_revision(rev_id)
            except NotFoundError:
                raise NotFoundError(f"no revision with id {rev_id}", 1) from None

    def set_dictionary(self, data):
        """Set the trained compression dictionary for first revisions: only
        before any text is stored (MisuseError otherwise)."""
        d = self._live()
        with d._lock:
            d._dh.set_dictionary(bytes(data))

    def set_sequence(self, sequence):
        """Set the dump's sequence number (:attr:`Dump.sequence`), committed
        with the rest of the transaction. Updates and diffs set it; other
        writers have no reason to."""
        d = self._live()
        with d._lock:
            d._dh.set_sequence(sequence)


def open(path, mode="r", **options):  # noqa: A001 -- the module's verb, as io.open
    """Open a dump: ``incrdump.open(path, "r")`` or ``incrdump.open(path,
    "w", kind=..., ...)``. Same as :class:`Dump`."""
    return Dump(path, mode, **options)


# ---- map: one dump across processes ----------------------------------------------

_WORKER = {}


def page_ranges(path, parts):
    """Split the dump's pages into at most ``parts`` id ranges [lo, hi) of
    about equal page counts (the last hi is None: unbounded)."""
    with Dump(path) as dump:
        total = len(dump)
        parts = max(1, min(parts, total))
        cuts = {total * k // parts for k in range(1, parts)}
        bounds = []
        for i, page in enumerate(dump.pages()):
            if i in cuts:
                bounds.append(page.id)
    los = [None] + bounds
    his = bounds + [None]
    return list(zip(los, his))


def _map_init(fn, path, namespace):
    _WORKER.clear()
    _WORKER.update(fn=fn, path=path, namespace=namespace, dump=None)


def _map_range(rng):
    dump = _WORKER.get("dump")
    if dump is None:
        dump = _WORKER["dump"] = Dump(_WORKER["path"])
    fn = _WORKER["fn"]
    out = []
    for page in dump.pages(rng[0], rng[1], _WORKER["namespace"]):
        result = fn(page)
        if inspect.isgenerator(result):
            out.extend(result)
        else:
            out.append(result)
    return out


def map(fn, path, processes=None, *, namespace=None):  # noqa: A001 -- mwxml's name
    """Call ``fn(page)`` for every page of the dump at ``path`` in
    ``processes`` worker processes (default: one per CPU) and yield what it
    returns -- each item when ``fn`` is a generator function -- in page-id
    order, as a serial scan would.

    The pages are split into id ranges of about equal page counts (several
    per process, for balance); each worker opens its own handle. ``fn`` and
    its results cross process boundaries: results must pickle (a Page or
    Revision does, without its handle), and ``fn`` too unless the start
    method is ``fork``. ``processes=1`` runs in this process.
    """
    path = os.fspath(path)
    processes = processes or os.cpu_count() or 1
    ranges = page_ranges(path, processes * 4)
    if processes == 1 or len(ranges) == 1:
        _map_init(fn, path, namespace)
        try:
            for rng in ranges:
                yield from _map_range(rng)
        finally:
            dump = _WORKER.get("dump")
            if dump is not None:
                dump.close()
            _WORKER.clear()
        return
    with multiprocessing.Pool(processes, initializer=_map_init,
                              initargs=(fn, path, namespace)) as pool:
        for batch in pool.imap(_map_range, ranges):
            yield from batch
