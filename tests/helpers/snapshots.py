"""Processes for the concurrency tests (tests/test_concurrency.py).

Usage: python snapshots.py ROLE PATH [ARGS...]; each role talks to the test
over stdin/stdout, one line per message, and exits by itself.

  writer PATH N        commits 1..N (see commit_ops), prints "done N"
  reader PATH N GEN0   scans while the writer commits (see reader()); prints
                       one JSON line of counts, exits 1 on a violation
  hold PATH            begins a write transaction, puts, prints "holding",
                       commits when a line arrives on stdin, prints "released"
  try-begin PATH       opens for writing, calls begin(); prints "busy SECONDS"
                       or "began"
  pin PATH             opens a reader snapshot, prints "pinned GEN", waits
                       for a line on stdin, re-scans the snapshot and prints
                       "intact" or "changed", then closes

The writer's commits keep an invariant that only a consistent snapshot
shows: expected(n) is the exact content after commit n, so a reader can
compare a whole scan against it.
"""
import json
import sys
import time

K = 100          # tree 0: keys 0..K-1 all rewritten by every commit
WINDOW = 20      # tree 1: holds the last WINDOW commit numbers
COUNTER = -1     # tree 0: the commit number


def _fill(tag, size):
    return (tag * (size // len(tag) + 1))[:size]


def val0(n, k):
    return _fill(b"n%d/k%d;" % (n, k), 48)


def big0(n):     # > 768 bytes: an extent, rewritten (freed) every commit
    return _fill(b"big%d|" % n, 800 + (n * 37) % 3000)


def val1(j):
    return _fill(b"w%d." % j, 900)


def val2(m, k):
    return _fill(b"t%d:%d," % (m, k), 30 + k)


def expected(n):
    """{tree: {key: value}} after commit n (n = 0: the initial state)."""
    t0 = {COUNTER: n.to_bytes(8, "little")}
    t0.update({k: val0(n, k) for k in range(K)})
    t0[K] = big0(n)
    out = {0: t0, 1: {j: val1(j) for j in range(max(1, n - WINDOW + 1), n + 1)}}
    m = n // 100
    if m % 2 == 1:
        out[2] = {k: val2(m, k) for k in range(50)}
    return out


def commit_ops(s, n):
    """Apply commit n (inside a transaction) to store s."""
    from incrdump import _lowlevel as L

    s.put(0, COUNTER, n.to_bytes(8, "little"))
    for k in range(K):
        s.put(0, k, val0(n, k))
    s.put(0, K, big0(n))
    s.put(1, n, val1(n))
    if n - WINDOW >= 1:
        s.delete(1, n - WINDOW)
    if n % 100 == 0:
        m = n // 100
        if m % 2 == 1:
            s.tree_create(2, L.KEY_INT)
            for k in range(50):
                s.put(2, k, val2(m, k))
        else:
            s.tree_drop(2)


def setup(path):
    """Create the file at commit 0. Returns its generation."""
    from incrdump import _lowlevel as L

    with L.Store(path, L.CREATE | L.WRITE) as s:
        s.begin()
        s.tree_create(0, L.KEY_INT)
        s.tree_create(1, L.KEY_INT)
        for t, items in expected(0).items():
            for k, v in items.items():
                s.put(t, k, v)
        s.commit()
        return s.info()["generation"]


def scan(s):
    """The snapshot's trees 0..2 as {tree: {key: value}}."""
    out = {}
    for t in range(3):
        if s.tree_stat(t)[0]:
            with s.cursor(t) as c:
                out[t] = dict(c.items())
    return out


def snapshot_number(s, gen0):
    """(commit number by the counter, by the generation) of s's snapshot."""
    n = int.from_bytes(s.get(0, COUNTER), "little")
    return n, s.info()["generation"] - gen0


def writer(path, total):
    from incrdump import _lowlevel as L

    with L.Store(path, L.WRITE) as s:
        for n in range(1, total + 1):
            s.begin()
            commit_ops(s, n)
            s.commit()
    print("done", total, flush=True)


def reader(path, total, gen0, deadline=150.0, hold=150):
    """Scan until the writer's last commit is seen. Every scan must equal
    expected(n) for the snapshot's counter n, agree with the generation,
    and generations never go back. Alongside, an old snapshot is kept open
    without refresh until the writer is `hold` commits past it, then
    scanned and compared again; blocks it can see must not have been
    reused. Every other old snapshot is read then for the first time, so
    its nodes come from the disk, not from the handle's cache (values in
    extents are read from the disk every time)."""
    from incrdump import _lowlevel as L

    t_end = time.monotonic() + deadline
    stats = {"scans": 0, "generations": 0, "old_snapshots": 0, "max_lag": 0}
    last_gen = -1
    gens = set()
    old = old_n = None

    def fail(msg):
        stats["violation"] = msg
        print(json.dumps(stats), flush=True)
        sys.exit(1)

    with L.Store(path) as s:
        print("ready", flush=True)
        n = 0
        while n < total:
            if time.monotonic() > t_end:
                fail(f"deadline passed at commit {n}")
            s.refresh()
            n, by_gen = snapshot_number(s, gen0)
            gen = s.info()["generation"]
            if gen < last_gen:
                fail(f"generation went back from {last_gen} to {gen}")
            if by_gen != n:
                fail(f"generation {gen} but the counter says commit {n}")
            last_gen = gen
            gens.add(gen)
            got = scan(s)
            if got != expected(n):
                fail(f"scan of commit {n} (generation {gen}) is not its snapshot")
            stats["scans"] += 1
            if old is None:
                old = L.Store(path)
                old_n = old.info()["generation"] - gen0
                if stats["old_snapshots"] % 2 == 1 and scan(old) != expected(old_n):
                    fail(f"fresh snapshot of commit {old_n} is not its snapshot")
            elif n - old_n >= hold:
                got = scan(old)
                if got != expected(old_n) or snapshot_number(old, gen0) != (old_n, old_n):
                    fail(f"old snapshot of commit {old_n} changed while the writer reached {n}")
                old.check()
                stats["old_snapshots"] += 1
                stats["max_lag"] = max(stats["max_lag"], n - old_n)
                old.close()
                old = None
        if old is not None:
            old.close()
        s.check()
    stats["generations"] = len(gens)
    print(json.dumps(stats), flush=True)


def hold(path):
    from incrdump import _lowlevel as L

    with L.Store(path, L.WRITE) as s:
        s.begin()
        s.put(0, 10**6, b"uncommitted")
        print("holding", flush=True)
        sys.stdin.readline()
        s.commit()
        print("released", flush=True)


def try_begin(path):
    from incrdump import _lowlevel as L
    from incrdump.errors import BusyError

    with L.Store(path, L.WRITE) as s:
        t0 = time.monotonic()
        try:
            s.begin()
        except BusyError:
            print("busy", time.monotonic() - t0, flush=True)
            return
        s.abort()
        print("began", flush=True)


def pin(path):
    from incrdump import _lowlevel as L

    with L.Store(path) as s:
        before = scan(s)
        print("pinned", s.info()["generation"], flush=True)
        sys.stdin.readline()
        s.check()
        print("intact" if scan(s) == before else "changed", flush=True)


def main(argv):
    role, path = argv[1], argv[2]
    if role == "writer":
        writer(path, int(argv[3]))
    elif role == "reader":
        reader(path, int(argv[3]), int(argv[4]))
    elif role == "hold":
        hold(path)
    elif role == "try-begin":
        try_begin(path)
    elif role == "pin":
        pin(path)
    else:
        raise SystemExit(f"unknown role {role}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
