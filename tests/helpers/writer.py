"""A writer process for the SIGKILL test (tests/test_crash.py).

Usage: python writer.py PATH [LIMIT]

Opens (creating if needed) the dump at PATH, reads how many commits it
already holds (the counter in tree 0 at key COUNTER), prints "start N",
then commits N+1, N+2, ... (up to LIMIT, default forever), printing and
flushing each commit number right after store.commit() returns. Commit n
always applies batch(n), so the content after commit n is a pure function
of n: Model reproduces it without the file. Importable for batch/Model.
"""
import random
import sys

COUNTER = -(2**63)          # the smallest int key: tree 0's first entry
INT_TREE, BYTES_TREE, CHURN_TREE = 0, 1, 2


def _value(n, key, size):
    head = b"%d:%r:" % (n, key)
    return (head * (size // len(head) + 1))[:size]


def batch(n):
    """The ops of commit n: ("create", tree, key_type) | ("drop", tree) |
    ("put", tree, key, value) | ("del", tree, key). Deletes of absent keys
    are allowed (they do nothing)."""
    from incrdump import _lowlevel as L

    rnd = random.Random(n)
    ops = []
    if n == 1:
        ops += [("create", INT_TREE, L.KEY_INT), ("create", BYTES_TREE, L.KEY_BYTES)]
    ops.append(("put", INT_TREE, COUNTER, n.to_bytes(8, "little")))
    for _ in range(12):
        key = rnd.randrange(2000)
        size = rnd.choice([0, 8, 100, 700, 769, 3000, 9000])
        ops.append(("put", INT_TREE, key, _value(n, key, size)))
    for _ in range(6):
        ops.append(("del", INT_TREE, rnd.randrange(2000)))
    if n % 3 == 0:   # long keys (> 512 bytes live in extents) come and go
        key = b"%03d" % (n % 37) + b"K" * (400 + (n * 7) % 400)
        ops.append(("put", BYTES_TREE, key, _value(n, key, rnd.choice([5, 1000]))))
        ops.append(("del", BYTES_TREE, b"%03d" % ((n + 11) % 37) + b"K" * (400 + ((n + 11) * 7) % 400)))
    if n % 40 == 0:  # a whole tree dropped and rebuilt
        if n > 40:
            ops.append(("drop", CHURN_TREE))
        ops.append(("create", CHURN_TREE, L.KEY_INT))
        ops += [("put", CHURN_TREE, k, _value(n, k, 60)) for k in range(150)]
    return ops


class Model:
    """The expected content after commit n, advanced one commit at a time."""

    def __init__(self):
        self.n = 0
        self.trees = {}          # tree -> (key_type, {key: value})

    def advance(self, n):
        while self.n < n:
            self.n += 1
            for op in batch(self.n):
                kind, t = op[0], op[1]
                if kind == "create":
                    self.trees[t] = (op[2], {})
                elif kind == "drop":
                    del self.trees[t]
                elif kind == "put":
                    self.trees[t][1][op[2]] = op[3]
                else:
                    self.trees[t][1].pop(op[2], None)
        return self


def apply(store, ops):
    from incrdump.errors import NotFoundError

    for op in ops:
        kind, t = op[0], op[1]
        if kind == "create":
            store.tree_create(t, op[2])
        elif kind == "drop":
            store.tree_drop(t)
        elif kind == "put":
            store.put(t, op[2], op[3])
        else:
            try:
                store.delete(t, op[2])
            except NotFoundError:
                pass


def main(argv):
    from incrdump import _lowlevel as L

    path = argv[1]
    limit = int(argv[2]) if len(argv) > 2 else None
    with L.Store(path, L.CREATE | L.WRITE) as s:
        n = int.from_bytes(s.get(INT_TREE, COUNTER), "little") if s.tree_stat(INT_TREE)[0] else 0
        print("start", n, flush=True)
        while limit is None or n < limit:
            n += 1
            s.begin()
            apply(s, batch(n))
            s.commit()
            print(n, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
