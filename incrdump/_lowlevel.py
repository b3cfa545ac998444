"""One-to-one Python wrappers over the C storage engine (``csrc/incrdump.h``).

Layer: directly over the cffi module ``incrdump._incrdump``; the classes of
the public API build on this. Every call goes through :func:`_check`, the
single gate that turns a status code into an exception from
:mod:`incrdump.errors`. Values are copied out of C at once (C pointers are
borrowed until the next call on the handle). A handle is not thread-safe;
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
