"""Space use of the storage engine: churn does not bloat the file, freed
blocks are reused once no reader can see them, and an emptied file shrinks.

The churn tests compare the file after "insert N, delete half, insert as
many again" with a fresh build of the same final content (sorted, appended),
both committed in batches of BATCH operations.

Scale: a copy-on-write file always holds the blocks the last commit replaced
(they stay until the next commit, for crash safety), so its size is at
least live + (blocks touched by the last commit). The batch is therefore
chosen so that one commit touches a few percent of the leaves, as a day's
changes touch the indexes of a real dump (tens of thousands of edits
against millions of pages); at this N, batches of 1,000 random operations
would touch over half of the leaves, and no copy-on-write file could stay
within 1.3x whatever its allocator does.
"""

import os
import random
import struct

from incrdump import _lowlevel as ll

RW = ll.WRITE | ll.CREATE
N = 50_000
BATCH = 100
MAX_RATIO = 1.3


def apply_ops(path, key_type, ops, flags=ll.PUT_UPSERT):
    """Apply (key, value-or-None) operations to tree 0 of a new store,
    committing every BATCH operations. Returns the file size after reopen."""
    with ll.Store(path, RW) as s:
        s.begin()
        s.tree_create(0, key_type)
        s.commit()
        for i in range(0, len(ops), BATCH):
            s.begin()
            for k, v in ops[i:i + BATCH]:
                if v is None:
                    s.delete(0, k)
                else:
                    s.put(0, k, v, flags)
            s.commit()
    with ll.Store(path) as r:
        chk = r.check()
        size = r.info()["file_size"]
    assert size == os.path.getsize(path) == chk["nblocks"] * 4096
    return size, chk


def churn_vs_fresh(tmp_path, key_type, first, second, value):
    """first: N keys inserted in the given order; a random half of them is
    deleted; second: N/2 more keys inserted in the given order."""
    rng = random.Random(7)
    deleted = rng.sample(first, len(first) // 2)
    ops = [(k, value(k)) for k in first] + [(k, None) for k in deleted] + [(k, value(k)) for k in second]
    final = sorted(set(first).difference(deleted).union(second))
    churn, cc = apply_ops(str(tmp_path / "churn.dump"), key_type, ops)
    fresh, cf = apply_ops(str(tmp_path / "fresh.dump"), key_type, [(k, value(k)) for k in final], ll.PUT_APPEND)
    assert cc["entries"] == cf["entries"] == len(final)
    with ll.Store(str(tmp_path / "churn.dump")) as r, r.cursor(0) as c:
        got = list(c.items())
    assert [k for k, _ in got] == final and all(v == value(k) for k, v in got)
    ratio = churn / fresh
    detail = (f"churned {churn / 1e6:.2f} MB ({cc['live_blocks']} live, {cc['free_blocks']} free, "
              f"{cc['pending_blocks']} pending blocks) vs fresh {fresh / 1e6:.2f} MB "
              f"({cf['live_blocks']} live): ratio {ratio:.3f}")
    print(detail)
    return ratio, detail


def test_churn_int_keys(tmp_path):
    """Page-id-like keys: ids arrive in ascending order, a random half is
    deleted, new ids come after the old ones; 100-byte values."""
    def value(k):
        return struct.pack("<q", k) * 12 + b"pad!"

    ratio, detail = churn_vs_fresh(tmp_path, ll.KEY_INT, list(range(N)), list(range(N, N + N // 2)), value)
    assert ratio <= MAX_RATIO, detail


WORDS = (
    "the of and in to a is was for on as by with he at from his an were are which this also be has or "
    "had first one their its new after who they have her she two been other when there all during into "
    "school time may years more most only over city some world would where later up such used many can "
    "state about national out known university united then made Ελλάδα Москва 東京 São_Paulo"
).split()


def titles(rng, n):
    """n distinct title-like byte keys (namespace byte + UTF-8 title), in
    random order: long shared prefixes, like a wiki's title index."""
    out = set()
    while len(out) < n:
        words = [rng.choice(WORDS) for _ in range(rng.choice([1, 1, 2, 2, 2, 3, 3, 4, 6]))]
        t = "_".join([words[0].capitalize()] + words[1:])
        if rng.random() < 0.3:
            t += "_(%s)" % rng.choice(["film", "album", "disambiguation", str(rng.randrange(1900, 2030))])
        if rng.random() < 0.5:
            t += "_%d" % rng.randrange(100_000)
        out.add(bytes([rng.choice([0, 0, 0, 1, 4, 14])]) + t.encode())
    out = sorted(out)
    rng.shuffle(out)
    return out


def test_churn_title_keys(tmp_path):
    """Title keys (-> a 100-byte record) created and deleted in random title order."""
    ks = titles(random.Random(3), N + N // 2)

    def value(k):  # a small page record: id, then metadata
        return struct.pack("<q", len(k)) + k[:92].ljust(92, b"-")

    ratio, detail = churn_vs_fresh(tmp_path, ll.KEY_BYTES, ks[:N], ks[N:], value)
    assert ratio <= MAX_RATIO, detail


# ---- reuse and shrinking ------------------------------------------------------


def fill(s, n, size, tag=b""):
    """Tree 0 (int) holds keys 0..n-1 with `size`-byte values; one commit."""
    s.begin()
    if s.tree_stat(0)[0] == 0:
        s.tree_create(0, ll.KEY_INT)
    for i in range(n):
        s.put(0, i, (tag + b"%d:" % i).ljust(size, b"."))
    s.commit()


def test_emptied_file_shrinks(tmp_dump):
    with ll.Store(tmp_dump, RW) as s:
        empty = s.info()["file_size"]
        fill(s, 5000, 300)
        s.begin()
        s.tree_create(1, ll.KEY_BYTES)
        for i in range(200):
            s.put(1, b"big/%d" % i, bytes(20_000))  # value extents of several blocks
        s.commit()
        full = s.info()["file_size"]
        assert full > 5_000_000
        for first in range(0, 5000, 1000):  # delete everything, in batches
            s.begin()
            for i in range(first, first + 1000):
                s.delete(0, i)
            s.commit()
        s.begin()
        s.tree_drop(1)
        s.commit()
        for _ in range(2):  # the last frees wait one commit, then the free tail goes
            s.begin()
            s.commit()
        chk = s.check()
        size = s.info()["file_size"]
        print(f"empty {empty} B, full {full} B, emptied {size} B ({chk})")
        assert chk["entries"] == 0
        assert size == os.path.getsize(tmp_dump) == chk["nblocks"] * 4096
        assert size <= empty + 4 * 4096, chk
    with ll.Store(tmp_dump, ll.WRITE) as s:  # and it is still a working dump
        s.check()
        fill(s, 100, 50)
        assert s.tree_stat(0) == (ll.KEY_INT, 100)


def rewrite(s, n, size, tag):
    """Replace every value of tree 0 (same sizes): every leaf and value
    extent is copied, the old ones are freed by this commit."""
    fill(s, n, size, tag)
    return s.info()["file_size"]


def test_freed_space_reused_by_next_commit(tmp_dump):
    n, size = 1000, 2000  # values in one-block extents: ~1,000 blocks per rewrite
    with ll.Store(tmp_dump, RW) as s:
        fill(s, n, size, b"r0")
        sizes = [rewrite(s, n, size, b"r%d" % r) for r in range(1, 7)]
        # commit r frees ~1,000 blocks; commit r+1 writes as many and takes them
        s.begin()
        info = s.info()  # in a transaction: the writer's view of free space
        s.abort()
        print("file sizes per rewrite:", sizes, info)
        assert info["pending_blocks"] == 0 and info["free_blocks"] >= n
        assert all(x <= sizes[0] for x in sizes), sizes  # no growth after the first rewrite
        assert sizes[-1] <= 2.2 * n * 4096
        s.check()


def test_reader_snapshot_blocks_reuse(tmp_dump):
    n, size = 1000, 2000
    with ll.Store(tmp_dump, RW) as s:
        fill(s, n, size, b"r0")
        rewrite(s, n, size, b"r1")
        steady = rewrite(s, n, size, b"r2")
        reader = ll.Store(tmp_dump)  # holds the snapshot with r2 values
        gen = reader.info()["generation"]
        grown = [rewrite(s, n, size, b"r%d" % r) for r in range(3, 6)]
        print("steady", steady, "with a reader:", grown)
        # r3 may reuse what commit r2 freed (r1's blocks: the reader cannot
        # see them); r4 may not reuse what r3 freed (r2's blocks, the
        # reader's view), so it must grow the file by about a full rewrite
        assert grown[0] <= steady, (steady, grown)
        assert grown[1] >= grown[0] + n * 4096, (steady, grown)
        assert grown[2] >= grown[1], (steady, grown)
        s.begin()
        assert s.info()["pending_blocks"] >= n  # kept for the reader
        s.abort()
        # the reader's view is intact
        assert reader.info()["generation"] == gen
        assert reader.check()["entries"] == n
        with reader.cursor(0) as c:
            got = list(c.items())
        assert got == [(i, (b"r2%d:" % i).ljust(size, b".")) for i in range(n)]
        reader.close()
        # with the reader gone, everything pending is free again: no growth
        after = [rewrite(s, n, size, b"r%d" % r) for r in range(6, 9)]
        print("after the reader closed:", after)
        assert all(a <= grown[-1] for a in after), after
        s.begin()
        assert s.info()["pending_blocks"] == 0
        s.abort()
        assert s.check()["entries"] == n


def test_reader_refresh_releases_space(tmp_dump):
    """A reader that moves forward (refresh) stops pinning old blocks."""
    n, size = 500, 2000
    with ll.Store(tmp_dump, RW) as s, ll.Store(tmp_dump) as reader:
        fill(s, n, size, b"r0")
        reader.refresh()
        a = rewrite(s, n, size, b"r1")
        b = rewrite(s, n, size, b"r2")
        assert b >= a + n * 4096  # the reader pins r0's and r1's blocks
        reader.refresh()
        assert reader.get(0, 7) == (b"r2%d:" % 7).ljust(size, b".")
        c = rewrite(s, n, size, b"r3")  # r1's blocks are reusable now
        d = rewrite(s, n, size, b"r4")
        assert c <= b and d <= b, (a, b, c, d)
        reader.check()
