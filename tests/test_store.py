"""Behaviour of the storage engine through incrdump._lowlevel (Store, Cursor).

What a user of csrc/incrdump.h sees: files, snapshots, transactions, trees,
point operations with their flags and errors, cursors, and the integrity
check. Crash safety and corrupt files are tested elsewhere.
"""

import os
import random
import time

import pytest

from incrdump import _lowlevel as ll
from incrdump.errors import (
    BusyError,
    CorruptDumpError,
    ExistsError,
    IncrdumpError,
    InvalidArgumentError,
    MisuseError,
    NotFoundError,
    ReadOnlyError,
)

RW = ll.WRITE | ll.CREATE
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1


def rbytes(n, seed=0):
    """n deterministic pseudo-random bytes."""
    return random.Random(seed * 1000003 + n).randbytes(n)


def make(path, trees=((0, ll.KEY_INT), (1, ll.KEY_BYTES))):
    """A new writable store with the given (tree, key type) pairs committed."""
    s = ll.Store(path, RW)
    s.begin()
    for t, kt in trees:
        s.tree_create(t, kt)
    s.commit()
    return s


def scan(store, tree, start=None, reverse=False):
    with store.cursor(tree) as c:
        return list(c.items(start, reverse))


def keys(store, tree, start=None, reverse=False):
    return [k for k, _ in scan(store, tree, start, reverse)]


# ---- files, info ------------------------------------------------------------


def test_create_fresh_file(tmp_dump):
    with ll.Store(tmp_dump, RW) as s:
        info = s.info()
        assert info["generation"] == 1
        assert info["version"] == (1, 0)
        assert len(info["uuid"]) == 16 and info["uuid"] != bytes(16)
        assert info["file_size"] == os.path.getsize(tmp_dump) > 0
        assert s.tree_stat(0) == (0, 0)
        assert s.check()["entries"] == 0
        assert not s.in_txn


def test_data_survives_reopen(tmp_dump):
    with make(tmp_dump) as s:
        s.begin()
        s.put(0, 7, b"seven")
        s.put(1, b"k", b"v")
        s.commit()
    with ll.Store(tmp_dump) as r:  # read-only
        assert r.get(0, 7) == b"seven"
        assert r.get(1, b"k") == b"v"
        assert r.tree_stat(0) == (ll.KEY_INT, 1)
        assert r.tree_stat(1) == (ll.KEY_BYTES, 1)
    with ll.Store(tmp_dump, ll.WRITE) as w:  # no CREATE needed for an existing file
        assert w.get(0, 7) == b"seven"
        w.begin()
        w.put(0, 8, b"eight")
        w.commit()
    with ll.Store(tmp_dump) as r:
        assert scan(r, 0) == [(7, b"seven"), (8, b"eight")]


def test_create_flag_on_existing_file_keeps_its_content(tmp_dump):
    with make(tmp_dump) as s:
        s.begin()
        s.put(0, 1, b"x")
        s.commit()
        uuid = s.info()["uuid"]
    with ll.Store(tmp_dump, RW) as s:
        assert s.get(0, 1) == b"x"
        assert s.info()["uuid"] == uuid


def test_uuid_stable_generation_counts_commits_not_aborts(tmp_dump):
    with ll.Store(tmp_dump, RW) as s:
        uuid = s.info()["uuid"]
        g0 = s.info()["generation"]
        s.begin()
        s.tree_create(0, ll.KEY_INT)
        s.commit()
        assert s.info()["generation"] == g0 + 1
        s.begin()
        s.put(0, 1, b"a")
        s.abort()
        assert s.info()["generation"] == g0 + 1
        s.begin()
        s.commit()  # an empty commit is still a commit
        assert s.info()["generation"] == g0 + 2
        s.begin()
        s.put(0, 1, b"a")
        s.commit()
        assert s.info()["generation"] == g0 + 3
        assert s.info()["uuid"] == uuid
    with ll.Store(tmp_dump) as r:
        assert r.info()["uuid"] == uuid
        assert r.info()["generation"] == g0 + 3


def test_each_new_dump_gets_its_own_uuid(tmp_path):
    uuids = set()
    for i in range(3):
        with ll.Store(str(tmp_path / f"{i}.dump"), RW) as s:
            uuids.add(s.info()["uuid"])
    assert len(uuids) == 3


def test_open_missing_file_without_create(tmp_dump):
    for flags in (0, ll.WRITE):
        with pytest.raises(NotFoundError):
            ll.Store(tmp_dump, flags)
        assert not os.path.exists(tmp_dump)


def test_open_text_file_is_corrupt_and_left_alone(tmp_dump):
    text = ("This is not a dump, just some text.\n" * 300).encode()[:10240]
    with open(tmp_dump, "wb") as f:
        f.write(text)
    for flags in (0, ll.WRITE, RW):
        with pytest.raises(CorruptDumpError):
            ll.Store(tmp_dump, flags)
    with open(tmp_dump, "rb") as f:
        assert f.read() == text


def test_open_short_garbage_is_corrupt(tmp_dump):
    with open(tmp_dump, "wb") as f:
        f.write(b"INCRDUMP" + bytes(100))
    with pytest.raises(CorruptDumpError):
        ll.Store(tmp_dump)


def test_open_empty_file(tmp_dump):
    open(tmp_dump, "wb").close()
    with pytest.raises(CorruptDumpError):
        ll.Store(tmp_dump)
    with ll.Store(tmp_dump, RW) as s:  # CREATE initialises an empty file
        assert s.info()["generation"] == 1
        s.check()


def test_closed_handle_refuses_work(tmp_dump):
    s = make(tmp_dump)
    c = s.cursor(0)
    s.close()
    s.close()  # idempotent
    with pytest.raises(MisuseError):
        s.get(0, 1)
    with pytest.raises(MisuseError):
        s.begin()
    with pytest.raises(MisuseError):
        s.info()
    with pytest.raises(MisuseError):
        c.first()


# ---- transactions -------------------------------------------------------------


def test_write_without_transaction_is_misuse(tmp_dump):
    with make(tmp_dump) as s:
        with pytest.raises(MisuseError):
            s.put(0, 1, b"x")
        with pytest.raises(MisuseError):
            s.delete(0, 1)
        with pytest.raises(MisuseError):
            s.tree_create(5, ll.KEY_INT)
        with pytest.raises(MisuseError):
            s.tree_drop(0)
        with pytest.raises(MisuseError):
            s.commit()
        with pytest.raises(MisuseError):
            s.abort()
        s.begin()
        with pytest.raises(MisuseError):
            s.begin()
        with pytest.raises(MisuseError):
            s.refresh()
        s.put(0, 1, b"x")  # the transaction is still usable
        s.commit()
        assert s.get(0, 1) == b"x"


def test_read_only_handle_refuses_begin(tmp_dump):
    make(tmp_dump).close()
    with ll.Store(tmp_dump) as r:
        with pytest.raises(ReadOnlyError):
            r.begin()
        assert not r.in_txn
        with pytest.raises(IncrdumpError):
            r.put(0, 1, b"x")
    with ll.Store(tmp_dump) as r:
        assert r.tree_stat(0) == (ll.KEY_INT, 0)


def test_abort_discards_everything(tmp_dump):
    with make(tmp_dump) as s:
        s.begin()
        s.put(0, 1, b"one")
        s.put(1, b"a", b"A")
        s.commit()
        before = s.info()
        s.begin()
        assert s.in_txn
        s.put(0, 1, b"changed")
        s.put(0, 2, b"two")
        s.delete(1, b"a")
        s.tree_create(9, ll.KEY_BYTES)
        s.put(9, b"z", b"Z")
        assert s.get(0, 1) == b"changed"
        s.abort()
        assert not s.in_txn
        assert s.get(0, 1) == b"one"
        with pytest.raises(NotFoundError):
            s.get(0, 2)
        assert s.get(1, b"a") == b"A"
        assert s.tree_stat(9) == (0, 0)
        assert s.tree_stat(0) == (ll.KEY_INT, 1)
        assert s.info()["generation"] == before["generation"]
        s.check()
    with ll.Store(tmp_dump) as r:
        assert scan(r, 0) == [(1, b"one")]
        assert scan(r, 1) == [(b"a", b"A")]
        assert r.tree_stat(9) == (0, 0)


def test_abort_of_a_big_transaction_leaves_file_consistent(tmp_dump):
    with make(tmp_dump) as s:
        s.begin()
        for i in range(3000):
            s.put(0, i, rbytes(100, i))
        s.commit()
        s.begin()
        for i in range(0, 3000, 2):
            s.delete(0, i)
        for i in range(3000, 6000):
            s.put(0, i, rbytes(900, i))
        s.abort()
        assert s.check()["entries"] == 3000
        s.begin()  # the next transaction starts from the committed state
        s.put(0, -1, b"m")
        s.commit()
        assert s.check()["entries"] == 3001
        assert keys(s, 0) == list(range(-1, 3000))


def test_close_with_open_transaction_aborts(tmp_dump):
    s = make(tmp_dump)
    s.begin()
    s.put(0, 1, b"x")
    s.put(1, b"k", b"v")
    gen = s.info()["generation"]
    s.close()
    with ll.Store(tmp_dump, ll.WRITE) as s2:
        assert s2.info()["generation"] == gen
        with pytest.raises(NotFoundError):
            s2.get(0, 1)
        assert s2.tree_stat(1) == (ll.KEY_BYTES, 0)
        s2.begin()  # the writer lock was released
        s2.commit()
        s2.check()


def test_own_writes_visible_in_transaction_only(tmp_dump):
    with make(tmp_dump) as w, ll.Store(tmp_dump) as r:
        w.begin()
        w.put(0, 5, b"five")
        assert w.get(0, 5) == b"five"
        assert scan(w, 0) == [(5, b"five")]
        with pytest.raises(NotFoundError):
            r.get(0, 5)
        r.refresh()  # nothing committed yet
        with pytest.raises(NotFoundError):
            r.get(0, 5)
        w.commit()
        with pytest.raises(NotFoundError):
            r.get(0, 5)
        r.refresh()
        assert r.get(0, 5) == b"five"


def test_second_writer_is_busy_at_once(tmp_dump):
    with make(tmp_dump) as w1, ll.Store(tmp_dump, ll.WRITE) as w2:
        w1.begin()
        w1.put(0, 1, b"first")
        t0 = time.monotonic()
        with pytest.raises(BusyError):
            w2.begin()
        assert time.monotonic() - t0 < 0.5  # at once, never a wait
        assert not w2.in_txn
        with pytest.raises(MisuseError):  # the failed begin opened nothing
            w2.put(0, 2, b"x")
        w1.commit()
        w2.begin()
        assert w2.get(0, 1) == b"first"  # begin moves to the newest commit
        w2.put(0, 2, b"second")
        with pytest.raises(BusyError):
            w1.begin()
        w2.abort()
        w1.begin()  # abort released the lock too
        w1.commit()
    with ll.Store(tmp_dump) as r:
        assert scan(r, 0) == [(1, b"first")]


def test_reader_keeps_its_snapshot_until_refresh(tmp_dump):
    with make(tmp_dump) as w:
        w.begin()
        for i in range(2000):
            w.put(0, i, b"old%d" % i)
            w.put(1, b"key%05d" % i, rbytes(i % 1000, i))
        w.commit()
        with ll.Store(tmp_dump) as r:
            gen = r.info()["generation"]
            for _ in range(3):  # several commits, so old blocks could be recycled
                w.begin()
                for i in range(0, 2000, 3):
                    w.delete(0, i)
                for i in range(2000):
                    w.put(1, b"key%05d" % i, b"new")
                w.tree_create(2, ll.KEY_INT)
                w.put(2, 1, b"x")
                w.commit()
                w.begin()
                w.tree_drop(2)
                for i in range(0, 2000, 3):
                    w.put(0, i, b"new%d" % i)
                for i in range(1, 2000, 3):
                    w.put(0, i, b"new%d" % i)
                w.commit()
            assert r.info()["generation"] == gen
            assert r.get(0, 3) == b"old3"
            assert scan(r, 0) == [(i, b"old%d" % i) for i in range(2000)]
            assert scan(r, 1) == [(b"key%05d" % i, rbytes(i % 1000, i)) for i in range(2000)]
            assert r.check()["entries"] == 4000
            r.refresh()
            assert r.info()["generation"] == w.info()["generation"] > gen
            assert r.get(0, 3) == b"new3"
            assert r.get(0, 2) == b"old2"
            assert r.get(1, b"key00007") == b"new"
            assert r.check()["entries"] == 4000


def test_writer_handle_moves_its_snapshot_on_begin(tmp_dump):
    make(tmp_dump).close()
    with ll.Store(tmp_dump, ll.WRITE) as a, ll.Store(tmp_dump, ll.WRITE) as b:
        b.begin()
        b.put(0, 1, b"from b")
        b.commit()
        with pytest.raises(NotFoundError):
            a.get(0, 1)
        a.begin()
        assert a.get(0, 1) == b"from b"
        a.abort()
        assert a.get(0, 1) == b"from b"


# ---- trees --------------------------------------------------------------------


def test_tree_create_stat_drop(tmp_dump):
    with ll.Store(tmp_dump, RW) as s:
        s.begin()
        s.tree_create(0, ll.KEY_INT)
        s.tree_create(ll.MAX_TREES - 1, ll.KEY_BYTES)
        assert s.tree_stat(0) == (ll.KEY_INT, 0)
        assert s.tree_stat(ll.MAX_TREES - 1) == (ll.KEY_BYTES, 0)
        assert s.tree_stat(1) == (0, 0)
        with pytest.raises(ExistsError):
            s.tree_create(0, ll.KEY_INT)
        with pytest.raises(ExistsError):
            s.tree_create(0, ll.KEY_BYTES)
        with pytest.raises(InvalidArgumentError):
            s.tree_create(ll.MAX_TREES, ll.KEY_INT)
        with pytest.raises(InvalidArgumentError):
            s.tree_create(2, 3)
        with pytest.raises(InvalidArgumentError):
            s.tree_create(2, 0)
        with pytest.raises(InvalidArgumentError):
            s.tree_stat(ll.MAX_TREES)
        with pytest.raises(NotFoundError):
            s.tree_drop(1)
        for i in range(500):
            s.put(0, i, rbytes(50, i))
        assert s.tree_stat(0) == (ll.KEY_INT, 500)
        s.commit()
        assert s.check()["trees"] == 2

        s.begin()
        s.tree_drop(0)
        assert s.tree_stat(0) == (0, 0)
        with pytest.raises(NotFoundError):
            s.get(0, 1)
        with pytest.raises(NotFoundError):
            s.put(0, 1, b"x")
        with pytest.raises(NotFoundError):
            s.cursor(0)
        s.tree_create(0, ll.KEY_BYTES)  # the number is free again, any key type
        assert s.tree_stat(0) == (ll.KEY_BYTES, 0)
        s.put(0, b"b", b"bytes now")
        s.commit()
        c = s.check()
        assert (c["trees"], c["entries"]) == (2, 1)
    with ll.Store(tmp_dump) as r:
        assert r.tree_stat(0) == (ll.KEY_BYTES, 1)
        assert scan(r, 0) == [(b"b", b"bytes now")]
        with pytest.raises(NotFoundError):
            r.get(5, 1)


def test_tree_drop_frees_its_blocks(tmp_dump):
    with make(tmp_dump) as s:
        s.begin()
        for i in range(5000):
            s.put(0, i, rbytes(1000, i))  # value extents too
        s.commit()
        grown = s.check()["live_blocks"]
        s.begin()
        s.tree_drop(0)
        s.commit()
        s.begin()
        s.commit()
        c = s.check()
        assert c["entries"] == 0 and c["trees"] == 1
        assert c["live_blocks"] < 10 < grown


def test_cursor_on_dropped_tree(tmp_dump):
    with make(tmp_dump) as s:
        s.begin()
        s.put(0, 1, b"x")
        c = s.cursor(0)
        assert c.first()
        s.tree_drop(0)
        # the C API answers DUMP_NOTFOUND ("tree no longer exists"); through
        # the cursor's moves that reads as "no entry", and the key is gone
        assert not c.next()
        assert not c.first()
        with pytest.raises(NotFoundError):
            c.key()
        c.close()
        s.abort()
        with s.cursor(0) as c2:  # the committed tree is back after abort
            assert c2.first() is False  # it was empty when committed


# ---- point operations -----------------------------------------------------------


def test_put_flags(tmp_dump):
    with make(tmp_dump) as s:
        s.begin()
        for t, k, k2 in ((0, 10, 20), (1, b"m", b"z")):
            s.put(t, k, b"1", ll.PUT_INSERT)
            with pytest.raises(ExistsError):
                s.put(t, k, b"2", ll.PUT_INSERT)
            assert s.get(t, k) == b"1"
            s.put(t, k, b"3", ll.PUT_REPLACE)
            assert s.get(t, k) == b"3"
            with pytest.raises(NotFoundError):
                s.put(t, k2, b"4", ll.PUT_REPLACE)
            with pytest.raises(NotFoundError):
                s.get(t, k2)
            s.put(t, k, b"5")  # upsert, present
            s.put(t, k2, b"6", ll.PUT_UPSERT)  # upsert, absent
            assert (s.get(t, k), s.get(t, k2)) == (b"5", b"6")
            assert s.tree_stat(t)[1] == 2
        with pytest.raises(InvalidArgumentError):
            s.put(0, 30, b"x", 8)  # unknown flag
        with pytest.raises(NotFoundError):
            s.get(0, 30)
        s.commit()  # the failed puts did not poison the transaction
    with ll.Store(tmp_dump) as r:
        assert scan(r, 0) == [(10, b"5"), (20, b"6")]
        assert scan(r, 1) == [(b"m", b"5"), (b"z", b"6")]


def test_put_append(tmp_dump):
    with make(tmp_dump) as s:
        s.begin()
        for i in range(-500, 3000):
            s.put(0, i, b"%d" % i, ll.PUT_APPEND)
        for k in (2999, 0, -501):  # equal or smaller
            with pytest.raises(InvalidArgumentError):
                s.put(0, k, b"bad", ll.PUT_APPEND)
        assert s.get(0, 2999) == b"2999"
        with pytest.raises(NotFoundError):
            s.get(0, -501)
        s.put(0, -501, b"-501")  # an ordinary put may go anywhere
        s.put(0, 3000, b"3000", ll.PUT_APPEND)
        for i in range(1000):
            s.put(1, b"p%06d" % i, b"v", ll.PUT_APPEND)
        with pytest.raises(InvalidArgumentError):
            s.put(1, b"p000999", b"v", ll.PUT_APPEND)
        with pytest.raises(InvalidArgumentError):
            s.put(1, b"p", b"v", ll.PUT_APPEND)  # a prefix sorts first
        s.put(1, b"p000999\x00", b"w", ll.PUT_APPEND)  # a longer key sorts after
        s.commit()
        assert keys(s, 0) == list(range(-501, 3001))
        assert s.get(0, 1234) == b"1234"
        assert len(keys(s, 1)) == 1001
        assert s.check()["entries"] == 3502 + 1001
    with ll.Store(tmp_dump) as r:
        r.check()
        assert r.tree_stat(0)[1] == 3502


def test_wrong_key_type_is_invalid_argument(tmp_dump):
    with make(tmp_dump) as s:
        s.begin()
        s.put(0, 1, b"x")
        s.put(1, b"\x00\x00\x00\x00\x00\x00\x00\x01", b"y")
        for call in (
            lambda: s.get(0, b"a"),
            lambda: s.get(1, 1),
            lambda: s.put(0, b"a", b"v"),
            lambda: s.put(1, 1, b"v"),
            lambda: s.delete(0, b"a"),
            lambda: s.delete(1, 1),
        ):
            with pytest.raises(InvalidArgumentError) as ei:
                call()
            assert isinstance(ei.value, ValueError)
        with s.cursor(0) as c, pytest.raises(ValueError):
            c.seek(b"a")
        with s.cursor(1) as c, pytest.raises(InvalidArgumentError):
            c.seek(1)
        s.commit()
        assert scan(s, 0) == [(1, b"x")]
        assert s.tree_stat(1)[1] == 1


def test_missing_key_is_not_found_and_key_error(tmp_dump):
    with make(tmp_dump) as s:
        for t, k in ((0, 42), (1, b"nope")):
            with pytest.raises(NotFoundError) as ei:
                s.get(t, k)
            assert isinstance(ei.value, KeyError)
            with pytest.raises(KeyError):
                s.get(t, k)
        s.begin()
        s.put(0, 41, b"x")
        with pytest.raises(KeyError):
            s.delete(0, 42)
        with pytest.raises(NotFoundError):
            s.delete(1, b"nope")
        s.delete(0, 41)
        with pytest.raises(NotFoundError):
            s.delete(0, 41)
        s.commit()
        with pytest.raises(NotFoundError):  # a tree that does not exist
            s.get(7, 1)


def test_empty_key_and_empty_value(tmp_dump):
    with make(tmp_dump) as s:
        s.begin()
        s.put(1, b"", b"empty key")
        s.put(1, b"\x00", b"")
        s.put(1, b"a", b"")
        s.put(0, 0, b"")
        assert s.get(1, b"") == b"empty key"
        assert s.get(1, b"\x00") == b""
        s.commit()
    with ll.Store(tmp_dump) as r:
        assert scan(r, 1) == [(b"", b"empty key"), (b"\x00", b""), (b"a", b"")]
        assert r.get(1, b"a") == b""
        assert r.get(0, 0) == b""
        with r.cursor(1) as c:
            assert c.seek(b"", ll.SEEK_GE) and c.key() == b""
            assert c.seek(b"", ll.SEEK_LE) and c.key() == b""
            assert not c.prev()
    with ll.Store(tmp_dump, ll.WRITE) as s:
        s.begin()
        s.delete(1, b"")
        s.commit()
        assert keys(s, 1) == [b"\x00", b"a"]


KEY_SIZES = [1, 255, 511, 512, 513, 1000, 4079, 4080, 4081, 20000, ll.MAX_KEY - 1, ll.MAX_KEY]


def test_long_byte_keys(tmp_dump):
    # all keys share a long prefix and differ only at the end (or in length)
    def key(n, tail):
        return b"k" * (n - 1) + bytes([tail]) if n else b""

    model = {}
    with make(tmp_dump) as s:
        s.begin()
        for n in KEY_SIZES:
            for tail in (ord("a"), ord("b")):
                k = key(n, tail)
                s.put(1, k, b"%d/%d" % (n, tail))
                model[k] = b"%d/%d" % (n, tail)
        with pytest.raises(InvalidArgumentError):
            s.put(1, b"x" * (ll.MAX_KEY + 1), b"v")
        with pytest.raises(InvalidArgumentError):
            s.put(1, b"x" * (ll.MAX_KEY + 1), b"v", ll.PUT_INSERT)
        with pytest.raises(InvalidArgumentError):
            s.get(1, b"x" * (ll.MAX_KEY + 1))
        with pytest.raises(InvalidArgumentError):
            s.delete(1, b"x" * (ll.MAX_KEY + 1))
        for k, v in model.items():
            assert s.get(1, k) == v
        s.commit()
    expect = sorted(model.items())
    with ll.Store(tmp_dump) as r:
        assert scan(r, 1) == expect
        assert scan(r, 1, reverse=True) == expect[::-1]
        for i, (k, v) in enumerate(expect):
            assert r.get(1, k) == v
            with r.cursor(1) as c:
                assert c.seek(k) and c.key() == k
                # a probe just above k (k + "\x00") lands on the next key, or LE on k
                assert c.seek(k + b"\x00", ll.SEEK_LE) and c.key() == k
                if i + 1 < len(expect):
                    assert c.seek(k + b"\x00") and c.key() == expect[i + 1][0]
        assert r.check()["entries"] == len(model)
    with ll.Store(tmp_dump, ll.WRITE) as s:
        s.begin()
        for k in list(model)[::2]:
            s.delete(1, k)
            del model[k]
        s.commit()
        assert scan(s, 1) == sorted(model.items())
        s.check()


VALUE_SIZES = [0, 1, 767, 768, 769, 4080, 4081, 8160, 8161, 1 << 20]


@pytest.mark.parametrize("size", VALUE_SIZES)
def test_value_sizes(tmp_dump, size):
    v = rbytes(size)
    with make(tmp_dump) as s:
        s.begin()
        s.put(0, 1, v)
        s.put(1, b"k" * 600, v)  # a long key with a value of every size
        assert s.get(0, 1) == v
        s.commit()
        assert s.get(0, 1) == v
    with ll.Store(tmp_dump) as r:
        assert r.get(0, 1) == v
        assert r.get(1, b"k" * 600) == v
        with r.cursor(0) as c:
            assert c.first() and c.value() == v
        r.check()


def test_values_change_size_in_place(tmp_dump):
    # replacing a value moves it between inline and extent storage both ways
    with make(tmp_dump) as s:
        for size in [10, 769, 5, 100000, 768, 4081, 0, 1 << 20, 3]:
            s.begin()
            s.put(0, 1, rbytes(size, 1))
            s.put(0, 2, rbytes(size, 2), ll.PUT_UPSERT)
            assert s.get(0, 1) == rbytes(size, 1)
            s.commit()
            assert s.get(0, 2) == rbytes(size, 2)
            s.check()
        s.begin()
        s.commit()  # pending blocks of the last replacement become free
        c = s.check()
        assert c["live_blocks"] < 20, c


def test_full_branches_survive_copy_on_write(tmp_dump):
    # Ascending inserts leave branch nodes full to the byte. Rewriting the
    # leaves later moves them to higher block numbers, whose child pointers
    # encode longer: the branches must split, not overflow their block.
    # (Regression: the file failed check() / heap overflow in node_encode.)
    def key(i):
        return b"%03d" % (i // 7) + b"y" * 300 + b"%06d" % i

    with make(tmp_dump) as s:
        s.begin()
        for i in range(2000):
            s.put(1, key(i), bytes(100))
        s.commit()
        for rnd in range(3):
            s.begin()
            for i in range(rnd, 2000, 3):
                s.put(1, key(i), bytes([rnd + 1]) * 100)
            s.commit()
            assert s.check()["entries"] == 2000
    with ll.Store(tmp_dump) as r:
        r.check()
        got = scan(r, 1)
        assert [k for k, _ in got] == [key(i) for i in range(2000)]
        assert all(v == bytes([i % 3 + 1]) * 100 for i, (_, v) in enumerate(got))


def test_many_entries_round_trip(tmp_dump):
    rng = random.Random(5)
    model = {}
    with make(tmp_dump) as s:
        for batch in range(4):
            s.begin()
            for _ in range(5000):
                k = rng.randrange(-(10**12), 10**12)
                v = rbytes(rng.choice([0, 8, 90, 800, 5000]), k & 0xFFFF)
                s.put(0, k, v)
                model[k] = v
            s.commit()
    with ll.Store(tmp_dump) as r:
        assert r.tree_stat(0) == (ll.KEY_INT, len(model))
        assert scan(r, 0) == sorted(model.items())
        for k in rng.sample(sorted(model), 500):
            assert r.get(0, k) == model[k]
        assert r.check()["entries"] == len(model)


# ---- cursors ----------------------------------------------------------------------


INT_KEYS = sorted({INT64_MIN, INT64_MIN + 1, -(2**40), -1000, -1, 0, 1, 2, 1000, 2**40, INT64_MAX - 1, INT64_MAX})


def test_cursor_int_keys_extremes(tmp_dump):
    with make(tmp_dump) as s:
        s.begin()
        for k in reversed(INT_KEYS):
            s.put(0, k, b"%d" % k)
        s.commit()
        assert keys(s, 0) == INT_KEYS
        assert keys(s, 0, reverse=True) == INT_KEYS[::-1]
        with s.cursor(0) as c:
            assert c.first() and c.key() == INT64_MIN and c.value() == b"%d" % INT64_MIN
            assert not c.prev()
            assert c.last() and c.key() == INT64_MAX
            assert not c.next()
            assert c.seek(INT64_MIN, ll.SEEK_LE) and c.key() == INT64_MIN
            assert c.seek(INT64_MAX, ll.SEEK_GE) and c.key() == INT64_MAX
            assert c.seek(-999, ll.SEEK_GE) and c.key() == -1
            assert c.seek(-999, ll.SEEK_LE) and c.key() == -1000
            assert c.seek(-1, ll.SEEK_LE) and c.key() == -1
            assert c.seek(3, ll.SEEK_GE) and c.key() == 1000
            assert c.seek(3, ll.SEEK_LE) and c.key() == 2
            assert c.prev() and c.key() == 1
            assert c.next() and c.next() and c.key() == 1000
        for k in INT_KEYS:
            assert s.get(0, k) == b"%d" % k
        s.begin()
        s.delete(0, INT64_MIN)
        s.delete(0, INT64_MAX)
        s.commit()
        with s.cursor(0) as c:
            assert not c.seek(INT64_MIN, ll.SEEK_LE)
            assert not c.seek(INT64_MAX, ll.SEEK_GE)
            assert c.seek(INT64_MAX, ll.SEEK_LE) and c.key() == INT64_MAX - 1


def test_cursor_empty_tree_and_unpositioned(tmp_dump):
    with make(tmp_dump) as s, s.cursor(0) as c, s.cursor(1) as cb:
        for cur, k in ((c, 5), (cb, b"x")):
            assert not cur.first()
            assert not cur.last()
            assert not cur.seek(k, ll.SEEK_GE)
            assert not cur.seek(k, ll.SEEK_LE)
            assert list(cur.items()) == []
            with pytest.raises(MisuseError):
                cur.key()
            with pytest.raises(MisuseError):
                cur.value()
        with pytest.raises(InvalidArgumentError):
            c.seek(5, 7)


def test_cursor_at_end_is_unpositioned(tmp_dump):
    with make(tmp_dump) as s:
        s.begin()
        s.put(0, 1, b"a")
        s.put(0, 2, b"b")
        s.commit()
        with s.cursor(0) as c:
            assert c.last() and not c.next()
            with pytest.raises(MisuseError):
                c.key()
            assert not c.seek(3, ll.SEEK_GE)
            with pytest.raises(MisuseError):
                c.value()
            assert c.seek(3, ll.SEEK_LE) and c.key() == 2


@pytest.fixture
def populated(tmp_dump):
    """A store with 3000 int keys (multiples of 3) and 3000 byte keys with
    shared prefixes, over many leaves and at least two levels."""
    s = make(tmp_dump)
    s.begin()
    ints = list(range(-4500, 4500, 3))
    byts = sorted(b"page/%s/%d" % (b"abc"[i % 3:][:1] * (i % 7), i) for i in range(3000))
    random.Random(1).shuffle(ints)
    for k in ints:
        s.put(0, k, b"i%d" % k)
    for k in byts:
        s.put(1, k, k[::-1])
    s.commit()
    yield s, sorted(ints), byts
    s.close()


def test_iteration_from_any_key_both_ways(populated):
    s, ints, byts = populated
    assert keys(s, 0) == ints
    assert keys(s, 0, reverse=True) == ints[::-1]
    assert keys(s, 1) == byts
    assert keys(s, 1, reverse=True) == byts[::-1]
    rng = random.Random(2)
    for start in rng.sample(ints, 40) + [ints[0], ints[-1], ints[0] - 1, ints[-1] + 1]:
        for probe in (start, start + 1, start - 1):
            assert keys(s, 0, probe) == [k for k in ints if k >= probe]
            assert keys(s, 0, probe, reverse=True) == [k for k in ints if k <= probe][::-1]
    for start in rng.sample(byts, 40) + [b"", b"\xff", byts[0], byts[-1]]:
        for probe in (start, start + b"\x00", start[:-1]):
            assert keys(s, 1, probe) == [k for k in byts if k >= probe]
            assert keys(s, 1, probe, reverse=True) == [k for k in byts if k <= probe][::-1]


def test_cursor_changes_direction_anywhere(populated):
    s, ints, _ = populated
    with s.cursor(0) as c:
        assert c.seek(ints[1500])
        i = 1500
        rng = random.Random(3)
        for _ in range(3000):
            if rng.random() < 0.5:
                ok, i = c.next(), i + 1
            else:
                ok, i = c.prev(), i - 1
            if not 0 <= i < len(ints):
                assert not ok
                assert c.seek(ints[1500])
                i = 1500
                continue
            assert ok and c.key() == ints[i] and c.value() == b"i%d" % ints[i]


def test_cursor_survives_deleting_current_key(populated):
    s, ints, byts = populated
    s.begin()
    with s.cursor(0) as c:
        assert c.seek(ints[100])
        seen = []
        # delete every key as we pass it: next() continues with the following key
        while len(seen) < 1000:
            k = c.key()
            seen.append(k)
            s.delete(0, k)
            assert c.next()
        assert seen == ints[100:1100]
        assert c.key() == ints[1100]
        # backwards: prev() after deleting the current key gives the one before it
        assert c.seek(ints[2000])
        s.delete(0, ints[2000])
        assert c.prev() and c.key() == ints[1999]
        s.delete(0, ints[1999])
        assert c.prev() and c.key() == ints[1998]
    with s.cursor(1) as c:
        assert c.seek(byts[500])
        s.delete(1, byts[500])
        assert c.next() and c.key() == byts[501]
    s.commit()
    remaining = ints[:100] + ints[1100:1999] + ints[2001:]
    assert keys(s, 0) == remaining
    assert s.check()["entries"] == len(remaining) + len(byts) - 1


def test_cursor_sees_inserts_and_replacements_through_same_handle(populated):
    s, ints, _ = populated
    s.begin()
    with s.cursor(0) as c:
        assert c.seek(0) and c.key() == 0
        s.put(0, 1, b"new")  # between 0 and 3
        s.put(0, 3, b"replaced")
        assert c.next() and (c.key(), c.value()) == (1, b"new")
        assert c.next() and (c.key(), c.value()) == (3, b"replaced")
        # many inserts that split leaves under the cursor
        for k in range(4, 3000, 3):
            s.put(0, k, b"x" * 200)
        assert c.next() and c.key() == 4
        assert c.prev() and c.key() == 3
        # delete everything after the cursor: next() reports the end
        for k in [k for k in keys(s, 0) if k > 3]:
            s.delete(0, k)
        assert not c.next()
    s.abort()
    assert keys(s, 0) == ints


def test_cursor_reads_committed_snapshot_of_reader(populated, tmp_dump):
    s, ints, _ = populated
    with ll.Store(tmp_dump) as r, r.cursor(0) as c:
        assert c.seek(ints[10])
        s.begin()
        for k in ints[:2000]:
            s.delete(0, k)
        s.commit()
        got = [c.key()]
        while c.next() and len(got) < 100:
            got.append(c.key())
        assert got == ints[10:110]


# ---- integrity check ------------------------------------------------------------


def test_check_counts(tmp_dump):
    with ll.Store(tmp_dump, RW) as s:
        c0 = s.check()
        assert (c0["trees"], c0["entries"]) == (0, 0)
        assert c0["nblocks"] == c0["live_blocks"] + c0["free_blocks"] + c0["pending_blocks"]
        s.begin()
        s.tree_create(0, ll.KEY_INT)
        s.tree_create(3, ll.KEY_BYTES)
        s.tree_create(4, ll.KEY_BYTES)
        for i in range(1234):
            s.put(0, i, rbytes(i % 2000, i))
        for i in range(567):
            s.put(3, b"t%d" % i, b"")
        s.commit()
        c = s.check()
        assert (c["trees"], c["entries"]) == (3, 1234 + 567)
        assert c["nblocks"] == c["live_blocks"] + c["free_blocks"] + c["pending_blocks"]
        assert c["nblocks"] * 4096 == s.info()["file_size"] == os.path.getsize(tmp_dump)
        assert c["nblocks"] == s.info()["nblocks"]
        # values over 768 bytes live in extents: well over one block per such value
        big = sum(1 for i in range(1234) if i % 2000 > 768)
        assert c["live_blocks"] > big
        s.begin()
        for i in range(0, 1234, 2):
            s.delete(0, i)
        s.tree_drop(4)
        s.commit()
        c2 = s.check()
        assert (c2["trees"], c2["entries"]) == (2, 617 + 567)
        assert c2["pending_blocks"] + c2["free_blocks"] > 0
        assert c2["nblocks"] == c2["live_blocks"] + c2["free_blocks"] + c2["pending_blocks"]
    with ll.Store(tmp_dump) as r:
        assert r.check() == c2
