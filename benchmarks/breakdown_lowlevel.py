#!/usr/bin/env python3
"""Where the time of a lookup and of a scan step goes: C engine, cffi, wrapper.

Layer: a benchmark script over ``incrdump._incrdump`` (the raw cffi ``lib``)
and ``incrdump._lowlevel``, with LMDB as the anchor. It measures; it never
passes or fails on time.

It builds one file (sorted inserts, --n keys, 100-byte values), reopens it,
warms it with a full scan, then times the same work peeled in layers, each
best of --repeat:

  lookup:  empty Python loop  < the cheapest cffi call (store_in_txn, the
           floor of any call into C)  < raw lib.store_get_* call  < + copying the
           value to bytes  < Store.get  ;  LMDB Transaction.get
  scan:    empty loop  < raw lib cursor calls (next, key, value)  < + copying
           key and value  < Cursor.items()  ;  LMDB cursor iteration

The difference between two adjacent rows is the cost of that layer, in
nanoseconds per operation. The "sketch" rows time leaner versions of
Store.get and Cursor.items() defined at the bottom of this file, to size what
a rewrite of the _lowlevel hot paths would gain; nothing in the package is
changed.
"""

import argparse
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_engine as be  # noqa: E402
from incrdump import _lowlevel as ll  # noqa: E402
from incrdump._incrdump import ffi, lib  # noqa: E402


def timed(fn, repeat):
    best = None
    for _ in range(repeat):
        with be.Quiet():
            t0 = time.perf_counter()
            fn()
            t = time.perf_counter() - t0
        best = t if best is None or t < best else best
    return best


def lookup_layers(store, probe, int_keys):
    h = store.handle
    vp, vl = ffi.new("const uint8_t **"), ffi.new("size_t *")
    buf = ffi.buffer
    get_i, get_b = lib.store_get_int, lib.store_get_bytes

    def empty():
        for k in probe:
            pass

    if int_keys:
        def raw():
            for k in probe:
                get_i(h, 0, k, vp, vl)

        def raw_copy():
            for k in probe:
                get_i(h, 0, k, vp, vl)
                buf(vp[0], vl[0])[:]
    else:
        def raw():
            for k in probe:
                get_b(h, 0, k, len(k), vp, vl)

        def raw_copy():
            for k in probe:
                get_b(h, 0, k, len(k), vp, vl)
                buf(vp[0], vl[0])[:]

    get = store.get

    def wrapper():
        for k in probe:
            get(0, k)

    in_txn = lib.store_in_txn

    def floor():
        for k in probe:
            in_txn(h)

    lean = lean_get(store)

    def sketch():
        for k in probe:
            lean(0, k)

    return [("empty loop", empty), ("cffi floor: store_in_txn", floor),
            ("lib.store_get_* only", raw),
            ("+ copy value to bytes", raw_copy), ("Store.get", wrapper),
            ("sketch: lean get", sketch)]


def scan_layers(store, int_keys):
    first, nxt = lib.store_cursor_first, lib.store_cursor_next
    key_i, key_b = lib.store_cursor_key_int, lib.store_cursor_key_bytes
    value = lib.store_cursor_value
    kp, kl, ik = ffi.new("const uint8_t **"), ffi.new("size_t *"), ffi.new("int64_t *")
    vp, vl = ffi.new("const uint8_t **"), ffi.new("size_t *")
    buf = ffi.buffer
    n = store.tree_stat(0)[1]

    def with_cursor(body):
        def run():
            out = ffi.new("StoreCursor **")
            lib.store_cursor_open(store.handle, 0, out)
            try:
                body(out[0])
            finally:
                lib.store_cursor_close(out[0])
        return run

    def empty(c):
        for _ in range(n):
            pass

    def raw(c):
        rc = first(c)
        if int_keys:
            while rc == 0:
                key_i(c, ik)
                value(c, vp, vl)
                rc = nxt(c)
        else:
            while rc == 0:
                key_b(c, kp, kl)
                value(c, vp, vl)
                rc = nxt(c)

    def raw_copy(c):
        rc = first(c)
        if int_keys:
            while rc == 0:
                key_i(c, ik)
                value(c, vp, vl)
                ik[0], buf(vp[0], vl[0])[:]
                rc = nxt(c)
        else:
            while rc == 0:
                key_b(c, kp, kl)
                value(c, vp, vl)
                buf(kp[0], kl[0])[:], buf(vp[0], vl[0])[:]
                rc = nxt(c)

    def wrapper():
        with store.cursor(0) as cur:
            for kv in cur.items():
                pass

    def sketch():
        with store.cursor(0) as cur:
            for kv in lean_items(cur):
                pass

    return [("empty loop", with_cursor(empty)), ("lib cursor calls only", with_cursor(raw)),
            ("+ copy key, value", with_cursor(raw_copy)), ("Cursor.items()", wrapper),
            ("sketch: lean items()", sketch)]


# ---- sketches of a leaner _lowlevel hot path (measured here, not in the package) ----
# Same checks and exceptions as _lowlevel, fewer Python frames per operation:
# C functions and out-parameters bound once, a `const char **` view of the
# value out-parameter so ffi.unpack copies straight to bytes, the closed-handle
# test inlined, _check reached only when a status is not OK.

def lean_get(store):
    get_i, get_b, unpack = lib.store_get_int, lib.store_get_bytes, ffi.unpack
    vp, vl = store._vptr, store._vlen
    cvp = ffi.cast("const char **", vp)   # same memory, char-typed for unpack

    def get(tree, key):
        h = store._h
        if not h:
            return store.handle   # raises the closed-store error
        if key.__class__ is int:
            rc = get_i(h, tree, key, vp, vl)
        else:
            rc = get_b(h, tree, key, len(key), vp, vl)
        if rc:
            ll._check(rc, h)
        n = vl[0]
        return unpack(cvp[0], n) if n else b""

    return get


def lean_items(cur):
    """Forward items() from the first key, yielding the same (key, value) pairs."""
    value, step, unpack = lib.store_cursor_value, lib.store_cursor_next, ffi.unpack
    store = cur._store
    vp, vl = store._vptr, store._vlen
    cvp = ffi.cast("const char **", vp)
    kp, kl, ik = cur._kptr, cur._klen, cur._ikey
    ckp = ffi.cast("const char **", kp)
    c = cur._h
    rc = lib.store_cursor_first(c)
    if cur._int:
        key = lib.store_cursor_key_int
        while rc == 0:
            rc = key(c, ik) or value(c, vp, vl)
            if rc:
                break
            n = vl[0]
            yield ik[0], (unpack(cvp[0], n) if n else b"")
            c = cur._c          # closed while suspended: stop, never touch freed memory
            if not c:
                return cur._h   # raises the closed-cursor error
            rc = step(c)
    else:
        key = lib.store_cursor_key_bytes
        while rc == 0:
            rc = key(c, kp, kl) or value(c, vp, vl)
            if rc:
                break
            m, n = kl[0], vl[0]
            yield (unpack(ckp[0], m) if m else b""), (unpack(cvp[0], n) if n else b"")
            c = cur._c
            if not c:
                return cur._h
            rc = step(c)
    if rc != ll.NOTFOUND:
        ll._check(rc, store.handle)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=1_000_000)
    p.add_argument("--lookups", type=int, default=200_000)
    p.add_argument("--only", choices=("int", "str"))
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--cache-mb", type=int, default=64)
    p.add_argument("--seed", type=int, default=20240601)
    p.add_argument("--dir")
    args = p.parse_args(argv)
    for kind in [args.only] if args.only else ["int", "str"]:
        d = be.make_dataset(kind, args.n, args.lookups, args.seed)
        items = list(zip(d["keys"], d["values"]))
        work = tempfile.mkdtemp(prefix="breakdown-", dir=args.dir)
        try:
            inc, lm = be.Incrdump(kind, args.cache_mb << 20), be.Lmdb(kind, 0)
            inc.build(os.path.join(work, "i.dump"), items, 10_000, True)
            lkeys = lm.native(d["keys"])
            lm.build(os.path.join(work, "lmdb"), list(zip(lkeys, d["values"])), 10_000, True)
            inc.open_read(os.path.join(work, "i.dump"))
            lm.open_read(os.path.join(work, "lmdb"))
            inc.scan(), lm.scan()  # warm
            probe = [d["keys"][i] for i in d["probe"]]
            lprobe = [lkeys[i] for i in d["probe"]]
            lget = lm.txn.get

            def lmdb_get():
                for k in lprobe:
                    lget(k)

            def lmdb_scan():
                with lm.txn.cursor() as c:
                    for kv in c:
                        pass

            print("\n%s keys, n=%d, cache %d MiB, best of %d; ns per operation"
                  % (kind, args.n, args.cache_mb, args.repeat))
            for what, layers, count, anchor in (
                    ("lookup", lookup_layers(inc.s, probe, kind == "int"), len(probe),
                     ("LMDB Transaction.get", lmdb_get)),
                    ("scan step", scan_layers(inc.s, kind == "int"), args.n,
                     ("LMDB cursor iteration", lmdb_scan))):
                print("| %-24s | %8s | %8s |" % (what, "ns/op", "layer"))
                print("|%s|%s:|%s:|" % ("-" * 26, "-" * 9, "-" * 9))
                prev = None
                for name, fn in layers:
                    ns = timed(fn, args.repeat) / count * 1e9
                    delta = "" if prev is None else "%+.0f" % (ns - prev)
                    if name.startswith("cffi floor"):
                        print("| %-24s | %8.0f | %8s |" % (name, ns, delta))
                        continue  # a reference, not a layer: the next delta is from the loop
                    print("| %-24s | %8.0f | %8s |" % (name, ns, delta))
                    prev = ns
                ns = timed(anchor[1], args.repeat) / count * 1e9
                print("| %-24s | %8.0f | %8s |" % (anchor[0], ns, ""))
            inc.close()
            lm.close()
        finally:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
