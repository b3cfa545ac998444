"""One-to-one Python wrappers over the C core (``csrc/incrdump.h``): the
storage engine (:class:`Store`, :class:`Cursor`) and dumps
(:class:`DumpHandle` and its cursors, records as plain tuples; the C XML
writer's :class:`XmlOptions` and :class:`XmlSink`).

Layer: directly over the cffi module ``incrdump._incrdump``; the classes of
the public API (``incrdump.dump``) build on this. Every call goes through
one gate per handle type (:func:`_check` for a Store, :func:`_dump_check`
for a Dump) that turns a status code into an exception from
:mod:`incrdump.errors`. Values are copied out of C at once (C pointers are
borrowed until the next call on the handle) and C objects made for one call
(Page, Revision) are freed before it returns. A handle is not thread-safe;
callers serialise access to it.
"""

from ._incrdump import ffi, lib
from .errors import error_for

OK = lib.DUMP_OK
NOTFOUND = lib.DUMP_NOTFOUND

KEY_INT = lib.STORE_KEY_INT
KEY_BYTES = lib.STORE_KEY_BYTES
MAX_TREES = lib.STORE_MAX_TREES
MAX_KEY = lib.STORE_MAX_KEY

WRITE = lib.STORE_WRITE
CREATE = lib.STORE_CREATE

PUT_UPSERT = lib.STORE_PUT_UPSERT
PUT_INSERT = lib.STORE_PUT_INSERT
PUT_REPLACE = lib.STORE_PUT_REPLACE
PUT_APPEND = lib.STORE_PUT_APPEND

SEEK_GE = lib.STORE_SEEK_GE
SEEK_LE = lib.STORE_SEEK_LE

CRASH_KEEP = lib.STORE_CRASH_KEEP
CRASH_DROP = lib.STORE_CRASH_DROP
CRASH_TORN = lib.STORE_CRASH_TORN
CRASH_RANDOM = lib.STORE_CRASH_RANDOM


_unpack = ffi.unpack
_get_int = lib.store_get_int
_get_bytes = lib.store_get_bytes
_fetch = lib.store_cursor_fetch
FETCH_MAX = 1024          # entries per store_cursor_fetch call
FETCH_BYTES = 1 << 20     # initial buffer; grows for larger values


def _check(rc, handle):
    """Raise the exception for status rc, with the handle's message."""
    if rc == OK:
        return
    msg = ffi.string(lib.store_errmsg(handle)).decode("utf-8", "replace") if handle else ""
    errno = lib.store_errno(handle) if handle else 0
    raise error_for(rc, msg or ffi.string(lib.dump_status_name(rc)).decode(), errno)


def status_name(rc):
    """Name of a status code, e.g. 'DUMP_CORRUPT'."""
    return ffi.string(lib.dump_status_name(rc)).decode()


class Store:
    """An open dump file at the storage-engine level (trees of keys -> bytes)."""

    def __init__(self, path, flags=0, *, faults=None):
        """Open path with WRITE/CREATE flags. faults=(crash_at, mode, seed)
        routes I/O through the fault-injecting layer (tests only)."""
        out = ffi.new("Store **")
        bpath = path.encode() if isinstance(path, str) else bytes(path)
        if faults is None:
            rc = lib.store_open(bpath, flags, out)
        else:
            crash_at, mode, seed = faults
            rc = lib.store_open_faulty(bpath, flags, crash_at, mode, seed, out)
        self._h = out[0]
        if rc != OK:
            try:
                _check(rc, self._h)
            finally:
                lib.store_close(self._h)
                self._h = ffi.NULL
        self._cursors = set()
        self._vlen = ffi.new("size_t *")
        self._vptr = ffi.new("const uint8_t **")
        self._vchar = ffi.cast("const char **", self._vptr)  # same slot, for ffi.unpack

    @property
    def handle(self):
        if not self._h:
            from .errors import MisuseError

            raise MisuseError("the store is closed")
        return self._h

    def close(self):
        """Close the handle (aborting an open transaction). Idempotent."""
        if self._h:
            for c in list(self._cursors):
                c.close()
            lib.store_close(self._h)
            self._h = ffi.NULL

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        self.close()

    # snapshot / transactions
    def info(self):
        """Dict describing the handle's snapshot."""
        i = ffi.new("StoreInfo *")
        _check(lib.store_info(self.handle, i), self._h)
        return {
            "generation": i.generation,
            "uuid": bytes(ffi.buffer(i.uuid, 16)),
            "version": (i.version_major, i.version_minor),
            "nblocks": i.nblocks,
            "free_blocks": i.free_blocks,
            "pending_blocks": i.pending_blocks,
            "file_size": i.file_size,
        }

    def refresh(self):
        _check(lib.store_refresh(self.handle), self._h)

    def set_cache_size(self, nbytes):
        _check(lib.store_set_cache_size(self.handle, nbytes), self._h)

    def begin(self):
        _check(lib.store_begin(self.handle), self._h)

    def commit(self):
        _check(lib.store_commit(self.handle), self._h)

    def abort(self):
        _check(lib.store_abort(self.handle), self._h)

    @property
    def in_txn(self):
        return bool(lib.store_in_txn(self.handle))

    def io_ops(self):
        return lib.store_io_ops(self.handle)

    # trees
    def tree_create(self, tree, key_type):
        _check(lib.store_tree_create(self.handle, tree, key_type), self._h)

    def tree_drop(self, tree):
        _check(lib.store_tree_drop(self.handle, tree), self._h)

    def tree_stat(self, tree):
        """(key_type or 0, entry count)."""
        kt = ffi.new("int *")
        n = ffi.new("uint64_t *")
        _check(lib.store_tree_stat(self.handle, tree, kt, n), self._h)
        return kt[0], n[0]

    def _value(self):
        n = self._vlen[0]
        return _unpack(self._vchar[0], n) if n else b""

    def get(self, tree, key):
        """Value for key (int or bytes); NotFoundError if absent."""
        h = self._h
        if not h:
            h = self.handle  # raises: closed
        if key.__class__ is int:
            rc = _get_int(h, tree, key, self._vptr, self._vlen)
        else:
            rc = _get_bytes(h, tree, key, len(key), self._vptr, self._vlen)
        if rc:
            _check(rc, h)
        n = self._vlen[0]
        return _unpack(self._vchar[0], n) if n else b""

    def put(self, tree, key, value, flags=PUT_UPSERT):
        h = self.handle
        if isinstance(key, int):
            rc = lib.store_put_int(h, tree, key, value, len(value), flags)
        else:
            rc = lib.store_put_bytes(h, tree, key, len(key), value, len(value), flags)
        if rc != OK:
            _check(rc, h)

    def delete(self, tree, key):
        h = self.handle
        if isinstance(key, int):
            rc = lib.store_del_int(h, tree, key)
        else:
            rc = lib.store_del_bytes(h, tree, key, len(key))
        if rc != OK:
            _check(rc, h)

    def cursor(self, tree):
        return Cursor(self, tree)

    def check(self):
        """Integrity check; returns a dict of counts or raises CorruptDumpError."""
        c = ffi.new("StoreCheck *")
        _check(lib.store_check(self.handle, c), self._h)
        return {
            "nblocks": c.nblocks,
            "live_blocks": c.live_blocks,
            "free_blocks": c.free_blocks,
            "pending_blocks": c.pending_blocks,
            "trees": c.trees,
            "entries": c.entries,
        }


class Cursor:
    """Ordered iteration over one tree, both ways from any key."""

    def __init__(self, store, tree):
        out = ffi.new("StoreCursor **")
        _check(lib.store_cursor_open(store.handle, tree, out), store.handle)
        self._c = out[0]
        self._store = store
        kt, _ = store.tree_stat(tree)
        self._int = kt == KEY_INT
        store._cursors.add(self)
        self._kptr = ffi.new("const uint8_t **")
        self._klen = ffi.new("size_t *")
        self._ikey = ffi.new("int64_t *")

    @property
    def _h(self):
        if not self._c:
            from .errors import MisuseError

            raise MisuseError("the cursor is closed")
        return self._c

    def close(self):
        if self._c:
            lib.store_cursor_close(self._c)
            self._c = ffi.NULL
            self._store._cursors.discard(self)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _move(self, rc):
        """True if positioned, False at the end; raises on errors."""
        if rc == NOTFOUND:
            return False
        _check(rc, self._store.handle)
        return True

    def first(self):
        return self._move(lib.store_cursor_first(self._h))

    def last(self):
        return self._move(lib.store_cursor_last(self._h))

    def next(self):
        return self._move(lib.store_cursor_next(self._h))

    def prev(self):
        return self._move(lib.store_cursor_prev(self._h))

    def seek(self, key, dir=SEEK_GE):
        if isinstance(key, int):
            return self._move(lib.store_cursor_seek_int(self._h, key, dir))
        return self._move(lib.store_cursor_seek_bytes(self._h, key, len(key), dir))

    def key(self):
        h = self._store.handle
        if self._int:
            _check(lib.store_cursor_key_int(self._h, self._ikey), h)
            return self._ikey[0]
        _check(lib.store_cursor_key_bytes(self._h, self._kptr, self._klen), h)
        return bytes(ffi.buffer(self._kptr[0], self._klen[0])) if self._klen[0] else b""

    def value(self):
        s = self._store
        _check(lib.store_cursor_value(self._h, s._vptr, s._vlen), s.handle)
        return s._value()

    def items(self, start=None, reverse=False):
        """Yield (key, value) from start (or an end) in order or reverse.

        Entries are read from C in batches (store_cursor_fetch), so a change
        made through the same handle while iterating shows up from the next
        batch on, not necessarily at the next item.
        """
        if start is None:
            more = self.last() if reverse else self.first()
        else:
            more = self.seek(start, SEEK_LE if reverse else SEEK_GE)
        direction = -1 if reverse else 1
        cap = FETCH_BYTES
        buf = ffi.new("uint8_t[]", cap)
        off = ffi.new("size_t[]", 2 * FETCH_MAX + 1)
        ikeys = ffi.new("int64_t[]", FETCH_MAX) if self._int else ffi.NULL
        count, more_p, need = ffi.new("size_t *"), ffi.new("int *"), ffi.new("size_t *")
        cbuf = ffi.cast("char *", buf)
        while more:
            rc = _fetch(self._h, direction, FETCH_MAX, buf, cap, off, ikeys, count, more_p, need)
            if rc:
                _check(rc, self._store.handle)
            n = count[0]
            more = more_p[0]
            if n == 0:
                if more:  # one entry larger than the buffer
                    cap = max(need[0], 2 * cap)
                    buf = ffi.new("uint8_t[]", cap)
                    cbuf = ffi.cast("char *", buf)
                continue
            offs = _unpack(off, 2 * n + 1)
            data = _unpack(cbuf, offs[-1])
            # Slicing in comprehensions and yielding through zip keeps the
            # per-entry work in C as far as Python allows.
            values = [data[a:b] for a, b in zip(offs[1::2], offs[2::2])]
            if self._int:
                keys = _unpack(ikeys, n)
            else:
                keys = [data[a:b] for a, b in zip(offs[0:-1:2], offs[1::2])]
            yield from zip(keys, values)


# ---- Dumps: pages, revisions and their text (csrc/incrdump.h) ----------------
#
# Records cross this boundary as plain tuples of ints and bytes (None for an
# absent DumpText, b"" for a present empty one); incrdump.dump gives them
# meaning. Nothing borrowed from C outlives the call that produced it.

import collections as _collections

KIND_HISTORY = lib.DUMP_KIND_HISTORY
KIND_CURRENT = lib.DUMP_KIND_CURRENT
KIND_STUB = lib.DUMP_KIND_STUB
CODEC_ZSTD = lib.DUMP_CODEC_ZSTD
CODEC_XZ = lib.DUMP_CODEC_XZ
DUMP_WRITE = lib.DUMP_OPEN_WRITE
DUMP_CREATE = lib.DUMP_OPEN_CREATE
PAGES_BY_ID = lib.DUMP_PAGES_BY_ID
PAGES_BY_TITLE = lib.DUMP_PAGES_BY_TITLE

CONTRIB_NONE = lib.DUMP_CONTRIB_NONE
CONTRIB_USER = lib.DUMP_CONTRIB_USER
CONTRIB_IP = lib.DUMP_CONTRIB_IP
CONTRIB_DELETED = lib.DUMP_CONTRIB_DELETED

REV_MINOR = lib.DUMP_REV_MINOR
REV_HAS_PARENT = lib.DUMP_REV_HAS_PARENT
REV_COMMENT_DELETED = lib.DUMP_REV_COMMENT_DELETED
REV_USER_DELETED = lib.DUMP_REV_USER_DELETED
REV_TEXT_DELETED = lib.DUMP_REV_TEXT_DELETED
REV_SUPPRESSED = lib.DUMP_REV_SUPPRESSED
SLOT_HAS_TEXT = lib.DUMP_SLOT_HAS_TEXT
SLOT_DELETED = lib.DUMP_SLOT_DELETED

#: (key, name, casing) of one namespace; name/casing bytes or None
NamespaceRec = _collections.namedtuple("NamespaceRec", "key name casing")
#: DumpSiteInfo; namespaces is a list of NamespaceRec
SiteRec = _collections.namedtuple(
    "SiteRec", "sitename dbname base generator casing lang schema extra namespaces"
)
#: PageInfo
PageRec = _collections.namedtuple(
    "PageRec", "id ns title title_prefix redirect restrictions extra"
)
#: SlotInfo; text is only used when writing (None when read)
SlotRec = _collections.namedtuple(
    "SlotRec", "role origin model format sha1 size flags location text_id text"
)
#: RevisionInfo; slots is a list of SlotRec, the main slot first
RevRec = _collections.namedtuple(
    "RevRec",
    "id page_id parent_id timestamp timestamp_text flags contributor user_id "
    "user_text comment sha1 extra slots",
)

_buffer = ffi.buffer
_NULL = ffi.NULL
_EMPTY = ffi.new("uint8_t[1]")  # the pointer of a present, empty DumpText


def _dump_check(rc, h):
    """Raise the exception for status rc of a dump call, with the message."""
    if rc == OK:
        return
    msg = ffi.string(lib.dump_errmsg(h)).decode("utf-8", "replace") if h else ""
    errno = 0
    if h:
        s = lib.dump_store(h)
        if s:
            errno = lib.store_errno(s)
    raise error_for(rc, msg or status_name(rc), errno)


def _get(t):
    """DumpText -> bytes, or None when absent."""
    p = t.ptr
    if not p:
        return None
    n = t.len
    return _buffer(p, n)[:] if n else b""


def _put(keep, t, value):
    """Point DumpText t at value (bytes or None); keep holds the buffers."""
    if value is None:
        return
    n = len(value)
    if n:
        b = ffi.from_buffer("uint8_t[]", value)
        keep.append(b)
        t.ptr = b
        t.len = n
    else:
        t.ptr = _EMPTY


def _page_rec(pi):
    return PageRec(pi.id, pi.ns, _get(pi.title), pi.title_prefix, _get(pi.redirect),
                   _get(pi.restrictions), _get(pi.extra))


def _rev_rec(ri):
    slots = []
    for i in range(ri.nslots):
        s = ri.slots[i]
        slots.append(SlotRec(_get(s.role), s.origin, _get(s.model), _get(s.format),
                             _get(s.sha1), s.size, s.flags, _get(s.location),
                             _get(s.text_id), None))
    return RevRec(ri.id, ri.page_id, ri.parent_id, ri.timestamp, _get(ri.timestamp_text),
                  ri.flags, ri.contributor, ri.user_id, _get(ri.user_text),
                  _get(ri.comment), _get(ri.sha1), _get(ri.extra), slots)


def _fill_page(rec, keep):
    pi = ffi.new("PageInfo *")
    pi.id = rec.id
    pi.ns = rec.ns
    _put(keep, pi.title, rec.title)
    pi.title_prefix = rec.title_prefix
    _put(keep, pi.redirect, rec.redirect)
    _put(keep, pi.restrictions, rec.restrictions)
    _put(keep, pi.extra, rec.extra)
    return pi


def _fill_rev(rec, keep):
    ri = ffi.new("RevisionInfo *")
    ri.id = rec.id
    ri.page_id = rec.page_id
    ri.parent_id = rec.parent_id
    ri.timestamp = rec.timestamp
    _put(keep, ri.timestamp_text, rec.timestamp_text)
    ri.flags = rec.flags
    ri.contributor = rec.contributor
    ri.user_id = rec.user_id
    _put(keep, ri.user_text, rec.user_text)
    _put(keep, ri.comment, rec.comment)
    _put(keep, ri.sha1, rec.sha1)
    _put(keep, ri.extra, rec.extra)
    n = len(rec.slots)
    arr = ffi.new("SlotInfo[]", max(n, 1))
    keep.append(arr)
    for i, s in enumerate(rec.slots):
        si = arr[i]
        _put(keep, si.role, s.role)
        si.origin = s.origin
        _put(keep, si.model, s.model)
        _put(keep, si.format, s.format)
        _put(keep, si.sha1, s.sha1)
        si.size = s.size
        si.flags = s.flags
        _put(keep, si.location, s.location)
        _put(keep, si.text_id, s.text_id)
        _put(keep, si.text, s.text)
    ri.nslots = n
    ri.slots = arr
    return ri


class DumpHandle:
    """An open dump at the C API level: ``dump_*`` calls, records as tuples.

    Not thread-safe (one thread at a time; ``incrdump.dump.Dump`` adds the
    lock). Cursors made from it are closed by :meth:`close`.
    """

    def __init__(self, path, flags=0, config=None, *, faults=None):
        """Open path with DUMP_WRITE/DUMP_CREATE flags; config is a dict of
        DumpConfig fields (kind, articles, codec, level, max_depth, packed), used only
        when the file is created. faults=(crash_at, mode, seed) routes I/O
        through the fault-injecting layer (dump_open_faulty; tests only)."""
        out = ffi.new("Dump **")
        bpath = path.encode() if isinstance(path, str) else bytes(path)
        cfg = ffi.new("DumpConfig *", config) if config is not None else _NULL
        if faults is None:
            rc = lib.dump_open(bpath, flags, cfg, out)
        else:
            crash_at, mode, seed = faults
            rc = lib.dump_open_faulty(bpath, flags, cfg, crash_at, mode, seed, out)
        self._h = out[0]
        self._cursors = set()
        if rc != OK:
            try:
                _dump_check(rc, self._h)
            finally:
                lib.dump_close(self._h)
                self._h = _NULL
        self._tptr = ffi.new("const uint8_t **")
        self._tlen = ffi.new("size_t *")
        self._page_out = ffi.new("Page **")
        self._rev_out = ffi.new("Revision **")
        self._xml_res = ffi.new("DumpXmlResult *")

    @property
    def handle(self):
        """The ``Dump *``; MisuseError once closed."""
        if not self._h:
            from .errors import MisuseError

            raise MisuseError("the dump is closed")
        return self._h

    @property
    def closed(self):
        return not self._h

    def close(self):
        """Close open cursors, then the handle (aborting a transaction). Idempotent."""
        if self._h:
            for c in list(self._cursors):
                c.close()
            lib.dump_close(self._h)
            self._h = _NULL

    def __del__(self):
        self.close()

    def _check(self, rc):
        if rc != OK:
            _dump_check(rc, self._h)

    # -- the handle ---------------------------------------------------------
    def info(self):
        """DumpInfo as a dict."""
        i = ffi.new("DumpInfo *")
        self._check(lib.dump_info(self.handle, i))
        c = i.config
        return {
            "kind": c.kind, "articles": c.articles, "codec": c.codec, "level": c.level,
            "max_depth": c.max_depth, "packed": c.packed, "generation": i.generation,
            "uuid": bytes(_buffer(i.uuid, 16)), "pages": i.pages, "revisions": i.revisions,
            "texts": i.texts, "file_size": i.file_size, "dictionary_len": i.dictionary_len,
        }

    def store_info(self):
        """store_info() of the storage handle underneath, as a dict."""
        h = self.handle
        s = lib.dump_store(h)
        i = ffi.new("StoreInfo *")
        rc = lib.store_info(s, i)
        if rc != OK:
            _check(rc, s)
        return {
            "generation": i.generation, "uuid": bytes(_buffer(i.uuid, 16)),
            "version": (i.version_major, i.version_minor), "nblocks": i.nblocks,
            "free_blocks": i.free_blocks, "pending_blocks": i.pending_blocks,
            "file_size": i.file_size,
        }

    def tree_stat(self, tree):
        """(key type or 0, entries) of one tree of the storage underneath."""
        s = lib.dump_store(self.handle)
        kt = ffi.new("int *")
        n = ffi.new("uint64_t *")
        rc = lib.store_tree_stat(s, tree, kt, n)
        if rc != OK:
            _check(rc, s)
        return kt[0], n[0]

    def refresh(self):
        self._check(lib.dump_refresh(self.handle))

    def set_cache_size(self, nbytes):
        self._check(lib.dump_set_cache_size(self.handle, nbytes))

    def io_ops(self):
        """Writes and syncs counted so far by a handle opened with faults
        (store_io_ops; 0 otherwise)."""
        return lib.store_io_ops(lib.dump_store(self.handle))

    def check(self):
        """dump_check(): counts, or CorruptDumpError with the first problem."""
        c = ffi.new("DumpCheck *")
        self._check(lib.dump_check(self.handle, c))
        return {"pages": c.pages, "revisions": c.revisions, "texts": c.texts,
                "text_bytes": c.text_bytes}

    # -- site info and dictionary ------------------------------------------
    def get_siteinfo(self):
        """SiteRec, or NotFoundError if never set."""
        si = ffi.new("DumpSiteInfo *")
        self._check(lib.dump_get_siteinfo(self.handle, si))
        nss = [NamespaceRec(si.namespaces[i].key, _get(si.namespaces[i].name),
                            _get(si.namespaces[i].casing)) for i in range(si.nnamespaces)]
        return SiteRec(_get(si.sitename), _get(si.dbname), _get(si.base), _get(si.generator),
                       _get(si.casing), _get(si.lang), _get(si.schema), _get(si.extra), nss)

    def put_siteinfo(self, rec):
        keep = []
        si = ffi.new("DumpSiteInfo *")
        for name in ("sitename", "dbname", "base", "generator", "casing", "lang", "schema",
                     "extra"):
            _put(keep, getattr(si, name), getattr(rec, name))
        n = len(rec.namespaces)
        arr = ffi.new("DumpNamespace[]", max(n, 1))
        for i, ns in enumerate(rec.namespaces):
            arr[i].key = ns.key
            _put(keep, arr[i].name, ns.name)
            _put(keep, arr[i].casing, ns.casing)
        si.nnamespaces = n
        si.namespaces = arr
        self._check(lib.dump_put_siteinfo(self.handle, si))

    def set_dictionary(self, data):
        self._check(lib.dump_set_dictionary(self.handle, data, len(data)))

    def get_sequence(self):
        """The dump's sequence number (META "sequence"; 0 when never set)."""
        out = ffi.new("uint64_t *")
        self._check(lib.dump_get_sequence(self.handle, out))
        return out[0]

    def set_sequence(self, seq):
        """Set the sequence number, in a transaction."""
        self._check(lib.dump_set_sequence(self.handle, seq))

    # -- lookups -------------------------------------------------------------
    def get_page(self, page_id):
        """PageRec of page_id; NotFoundError when missing."""
        out = self._page_out
        rc = lib.dump_get_page_by_id(self.handle, page_id, out)
        if rc != OK:
            _dump_check(rc, self._h)
        p = out[0]
        try:
            return _page_rec(lib.page_info(p))
        finally:
            lib.page_free(p)

    def get_page_by_title(self, ns, name):
        """PageRec of (namespace, title without its prefix); NotFoundError."""
        out = self._page_out
        rc = lib.dump_get_page_by_title(self.handle, ns, name, len(name), out)
        if rc != OK:
            _dump_check(rc, self._h)
        p = out[0]
        try:
            return _page_rec(lib.page_info(p))
        finally:
            lib.page_free(p)

    def get_revision(self, rev_id):
        """RevRec of rev_id; NotFoundError when missing."""
        out = self._rev_out
        rc = lib.dump_get_revision_by_id(self.handle, rev_id, out)
        if rc != OK:
            _dump_check(rc, self._h)
        r = out[0]
        try:
            return _rev_rec(lib.revision_info(r))
        finally:
            lib.revision_free(r)

    def get_text(self, page_id, rev_id, slot):
        """Bytes of a stored slot text; NotFoundError when none is stored."""
        rc = lib.dump_get_text(self.handle, page_id, rev_id, slot, self._tptr, self._tlen)
        if rc != OK:
            _dump_check(rc, self._h)
        n = self._tlen[0]
        return _buffer(self._tptr[0], n)[:] if n else b""

    # -- cursors -------------------------------------------------------------
    def pages(self, order=PAGES_BY_ID, lo=0, hi=0):
        """A PageCursor (ids in [lo, hi), hi <= 0: unbounded; or by title)."""
        return DumpPageCursor(self, order, lo, hi)

    def revisions(self, page_id):
        """A RevisionCursor over page_id's revisions in id order."""
        return DumpRevisionCursor(self, page_id)

    # -- writing ---------------------------------------------------------------
    def begin(self):
        self._check(lib.dump_begin(self.handle))

    def commit(self):
        self._check(lib.dump_commit(self.handle))

    def abort(self):
        self._check(lib.dump_abort(self.handle))

    def put_page(self, rec):
        keep = []
        self._check(lib.dump_put_page(self.handle, _fill_page(rec, keep)))

    def delete_page(self, page_id):
        self._check(lib.dump_delete_page(self.handle, page_id))

    def put_revision(self, rec):
        keep = []
        self._check(lib.dump_put_revision(self.handle, _fill_rev(rec, keep)))

    def delete_revision(self, rev_id):
        self._check(lib.dump_delete_revision(self.handle, rev_id))

    # -- XML export ------------------------------------------------------------
    def xml_page(self, page_id, options, sink):
        """dump_xml_page(): write page_id as export XML through sink (an
        :class:`XmlSink`) with options (:class:`XmlOptions`). Returns
        (handled, written, revisions, bytes); handled is False when the page
        is not canonical and nothing was written. An exception raised by the
        sink's write is raised again here."""
        res = self._xml_res
        sink.error = None
        rc = lib.dump_xml_page(self.handle, page_id, options.c, sink.c, _NULL, res)
        if sink.error is not None:
            err, sink.error = sink.error, None
            raise err
        if rc != OK:
            _dump_check(rc, self._h)
        return bool(res.handled), bool(res.written), res.revisions, res.bytes


XML_REVSTART = lib.DUMP_XML_REVSTART
XML_REVEND = lib.DUMP_XML_REVEND
XML_SITUATIONS = 64   # entries of DumpXmlOptions.text_attrs


class XmlOptions:
    """A DumpXmlOptions for :meth:`DumpHandle.xml_page`. schema 10 or 11;
    revstart/revend None for no bound; quot/apos, minor_tag/sha1_tag (bytes,
    None: the default) the writer's style; text_attrs maps a situation
    (0..63) to its space-separated <text> attribute keys (missing: the
    default)."""

    def __init__(self, schema, stub=False, current=False, revstart=None, revend=None,
                 quot=False, apos=False, minor_tag=None, sha1_tag=None, text_attrs=None):
        o = ffi.new("DumpXmlOptions *")
        self._keep = []
        o.schema = schema
        o.stub = int(bool(stub))
        o.current = int(bool(current))
        o.quot = int(bool(quot))
        o.apos = int(bool(apos))
        for name, tag in (("minor_tag", minor_tag), ("sha1_tag", sha1_tag)):
            if tag is not None:
                b = ffi.new("char[]", tag)
                self._keep.append(b)
                setattr(o, name, b)
        rng = 0
        if revstart is not None:
            rng |= XML_REVSTART
            o.revstart = revstart
        if revend is not None:
            rng |= XML_REVEND
            o.revend = revend
        o.range = rng
        for sit, keys in (text_attrs or {}).items():
            b = ffi.new("char[]", keys.encode("utf-8"))
            self._keep.append(b)
            o.text_attrs[sit] = b
        self.c = o


class XmlSink:
    """The DumpXmlSink handed to C: calls ``write`` with each chunk as a
    buffer over C memory, valid only during the call (so ``write`` must
    consume it before returning, as file objects do). The callback object
    lives as long as this one."""

    def __init__(self, write):
        self.error = None

        def cb(ctx, data, n):
            try:
                write(_buffer(data, n))
                return 0
            except BaseException as e:  # noqa: BLE001 -- raised again by xml_page
                self.error = e
                return 1

        self.c = ffi.callback("DumpXmlSink", cb)


class DumpPageCursor:
    """dump_pages(): next() gives a PageRec, or None at the end."""

    def __init__(self, dh, order, lo, hi):
        out = ffi.new("PageCursor **")
        dh._check(lib.dump_pages(dh.handle, order, lo, hi, out))
        self._c = out[0]
        self._dh = dh
        self._out = ffi.new("const PageInfo **")
        dh._cursors.add(self)

    def next(self):
        if not self._c:
            from .errors import MisuseError

            raise MisuseError("the cursor is closed")
        rc = lib.page_cursor_next(self._c, self._out)
        if rc == NOTFOUND:
            return None
        if rc != OK:
            _dump_check(rc, self._dh._h)
        return _page_rec(self._out[0])

    def close(self):
        if self._c:
            lib.page_cursor_close(self._c)
            self._c = _NULL
            self._dh._cursors.discard(self)


class DumpRevisionCursor:
    """dump_revisions(): next() gives a RevRec, or None at the end; text()
    the current revision's slot text."""

    def __init__(self, dh, page_id):
        out = ffi.new("RevisionCursor **")
        dh._check(lib.dump_revisions(dh.handle, page_id, out))
        self._c = out[0]
        self._dh = dh
        self._out = ffi.new("const RevisionInfo **")
        self._tptr = ffi.new("const uint8_t **")
        self._tlen = ffi.new("size_t *")
        dh._cursors.add(self)

    def _cursor(self):
        if not self._c:
            from .errors import MisuseError

            raise MisuseError("the cursor is closed")
        return self._c

    def next(self):
        rc = lib.revision_cursor_next(self._cursor(), self._out)
        if rc == NOTFOUND:
            return None
        if rc != OK:
            _dump_check(rc, self._dh._h)
        return _rev_rec(self._out[0])

    def text(self, slot):
        """Bytes of the current revision's slot text; NotFoundError if none."""
        rc = lib.revision_cursor_text(self._cursor(), slot, self._tptr, self._tlen)
        if rc != OK:
            _dump_check(rc, self._dh._h)
        n = self._tlen[0]
        return _buffer(self._tptr[0], n)[:] if n else b""

    def close(self):
        if self._c:
            lib.revision_cursor_close(self._c)
            self._c = _NULL
            self._dh._cursors.discard(self)


def is_article(ns):
    """dump_is_article(): 1 if namespace ns belongs in an articles dump."""
    return bool(lib.dump_is_article(ns))
