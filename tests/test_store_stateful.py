"""Stateful test of the storage engine against a dict model.

A Hypothesis state machine drives one writable Store over four trees (two
with int keys, two with byte keys; trees may be dropped and re-created with
either key type) and keeps two models: what is committed, and what the open
transaction sees. Keys and values range from empty to several blocks long,
biased towards small sizes and the inline limits (512-byte keys, 768-byte
values); byte keys come from a tiny alphabet with long shared prefixes so
the nodes' prefix compression and long-key extents are exercised.

Some examples start from a three-level tree with branches full to the byte,
so branch splits, merges and copy-on-write of full nodes are reached too.

After every step the handle's contents must equal the model it should see,
and the integrity check runs: on the handle itself outside a transaction;
inside one on a second, read-only handle, which sees the last committed
snapshot and must match the committed model exactly.

Settings: profile "default" keeps the file well under a minute on two
cores; INCRDUMP_HYPOTHESIS_PROFILE=long runs many more and longer examples.
"""

import os
import random
import shutil
import tempfile

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from incrdump import _lowlevel as ll
from incrdump.errors import (
    ExistsError,
    InvalidArgumentError,
    MisuseError,
    NotFoundError,
)

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
TREES = (0, 1, 2, 3)
INITIAL = {0: ll.KEY_INT, 1: ll.KEY_INT, 2: ll.KEY_BYTES, 3: ll.KEY_BYTES}

_COMMON = dict(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
settings.register_profile("incrdump-store-default", max_examples=200, stateful_step_count=50, **_COMMON)
settings.register_profile("incrdump-store-long", max_examples=1000, stateful_step_count=100, **_COMMON)
PROFILE = os.environ.get("INCRDUMP_HYPOTHESIS_PROFILE", "default")


# ---- data -------------------------------------------------------------------------

# Sizes: mostly small, sometimes at the inline limits, sometimes several blocks.
SIZES = st.one_of(
    st.integers(0, 12),
    st.integers(0, 60),
    st.integers(0, 200),
    st.integers(500, 530),  # byte keys: inline up to 512
    st.integers(755, 780),  # values: inline up to 768
    st.integers(4070, 4090),  # one block payload is 4080
    st.integers(4000, 20000),
)

INT_KEYS = st.one_of(
    st.integers(-30, 30),
    st.integers(-30, 30),
    st.sampled_from([INT64_MIN, INT64_MIN + 1, -1, 0, 1, INT64_MAX - 1, INT64_MAX]),
    st.integers(INT64_MIN, INT64_MAX),
)

_TAIL = st.lists(st.sampled_from(b"ab\x00\xff"), max_size=5).map(bytes)


def _byte_key(parts):
    pad, tail, where = parts
    if where == 0:
        return b"a" * pad + tail  # long shared prefix, differing at the end
    if where == 1:
        return tail + b"b" * pad  # short prefix, long common suffix
    return (tail + b"a")[:pad]  # prefixes of each other


BYTE_KEYS = st.tuples(SIZES, _TAIL, st.integers(0, 2)).map(_byte_key)

VALUES = st.tuples(SIZES, st.integers(0, 3)).map(lambda t: value_bytes(*t))

FLAGS = st.sampled_from([ll.PUT_UPSERT, ll.PUT_UPSERT, ll.PUT_INSERT, ll.PUT_REPLACE, ll.PUT_APPEND])


def seeded_size(rng):
    r = rng.random()
    if r < 0.7:
        return rng.randrange(0, 60)
    if r < 0.8:
        return rng.randrange(500, 530)
    if r < 0.9:
        return rng.randrange(755, 780)
    return rng.randrange(4000, 20000)


def seeded_int_key(rng):
    return rng.choice([rng.randrange(-1000, 1000), rng.randrange(INT64_MIN, INT64_MAX + 1)])


def seeded_byte_key(rng):
    tail = bytes(rng.choice(b"ab\x00\xff") for _ in range(rng.randrange(6)))
    return _byte_key((seeded_size(rng), tail, rng.randrange(3)))


def value_bytes(size, seed):
    """Deterministic bytes; the seed makes same-size values differ."""
    return random.Random(size * 7 + seed).randbytes(size)


def copy_model(m):
    return {t: (kt, dict(d)) for t, (kt, d) in m.items()}


# ---- the machine ----------------------------------------------------------------------


class StoreMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.dir = tempfile.mkdtemp(prefix="incrdump-stateful-")
        self.path = os.path.join(self.dir, "model.dump")
        self.store = ll.Store(self.path, ll.WRITE | ll.CREATE)
        self.store.begin()
        for t, kt in INITIAL.items():
            self.store.tree_create(t, kt)
        self.store.commit()
        self.committed = {t: (kt, {}) for t, kt in INITIAL.items()}
        self.txn = None  # model of the open transaction, or None

    def teardown(self):
        self.store.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    # -- helpers --

    @property
    def view(self):
        """The model the handle sees now."""
        return self.txn if self.txn is not None else self.committed

    def draw_key(self, data, tree, wrong=False):
        """A key for tree: often one already present, else a fresh one of the
        tree's type (or, with wrong=True, of the other type)."""
        kt = self.view[tree][0] if tree in self.view else data.draw(st.sampled_from([ll.KEY_INT, ll.KEY_BYTES]))
        if wrong:
            kt = ll.KEY_BYTES if kt == ll.KEY_INT else ll.KEY_INT
        present = sorted(self.view[tree][1]) if tree in self.view and not wrong else []
        if present and data.draw(st.booleans(), label="existing key"):
            return data.draw(st.sampled_from(present), label="key")
        return data.draw(INT_KEYS if kt == ll.KEY_INT else BYTE_KEYS, label="key")

    def expect_scan(self, tree, start, reverse):
        items = sorted(self.view[tree][1].items())
        if reverse:
            items = items[::-1]
        if start is not None:
            items = [kv for kv in items if (kv[0] <= start if reverse else kv[0] >= start)]
        return items

    @initialize(sizes=st.lists(st.integers(0, 150), min_size=4, max_size=4), seed=st.integers(0, 2**32))
    def load(self, sizes, seed):
        """Start from committed content in every tree (possibly none); keys
        come from a seeded generator shaped like the strategies below."""
        rng = random.Random(seed)
        self.begin_txn()
        for tree, n in zip(TREES, sizes):
            kt, d = self.txn[tree]
            for _ in range(n):
                key = seeded_int_key(rng) if kt == ll.KEY_INT else seeded_byte_key(rng)
                d[key] = value_bytes(rng.choice([0, 9, 100, 767, 768, 769, 5000]), tree)
                self.store.put(tree, key, d[key])
        self.store.commit()
        self.committed, self.txn = self.txn, None

    @initialize(big=st.sampled_from([0, 0, 0, 0, 0, 0, 0, 2000]))
    def load_big(self, big):
        """Now and then a tree of three levels whose branches are full to the
        byte: ascending keys with long separators ("%03d" % (i // 7) + 300
        bytes + "%06d" % i), so branch splits, merges and copies are reached."""
        if not big:
            return
        self.begin_txn()
        kt, d = self.txn[2]
        for i in range(big):
            key = b"%03d" % (i // 7) + b"y" * 300 + b"%06d" % i
            d[key] = value_bytes(100, i & 3)
            self.store.put(2, key, d[key])
        self.store.commit()
        self.committed, self.txn = self.txn, None

    # -- transactions --

    @precondition(lambda self: self.txn is None)
    @rule(data=st.data(), write_first=st.integers(0, 5))
    def begin(self, data, write_first):
        if write_first == 0:  # a write outside a transaction is refused
            tree = data.draw(st.sampled_from(TREES), label="tree")
            with pytest.raises(MisuseError):
                self.store.put(tree, self.draw_key(data, tree), b"v")
        self.begin_txn()

    @precondition(lambda self: self.txn is not None)
    @rule(how=st.sampled_from(["commit", "commit", "commit", "abort", "reopen"]))
    def finish(self, how):
        """End the transaction: commit, abort, or close the handle (= abort)."""
        gen = self.store.info()["generation"]
        if how == "commit":
            self.store.commit()
            self.committed = self.txn
            gen += 1
        elif how == "abort":
            self.store.abort()
        else:
            self.reopen_store()
        self.txn = None
        assert not self.store.in_txn
        assert self.store.info()["generation"] == gen

    @precondition(lambda self: self.txn is None)
    @rule()
    def reopen(self):
        self.reopen_store()

    def ensure_txn(self):
        """Writes begin a transaction when none is open. (Hypothesis's swarm
        testing may switch off the begin rule for a whole example.)"""
        if self.txn is None:
            self.begin_txn()

    def begin_txn(self):
        self.store.begin()
        assert self.store.in_txn
        self.txn = copy_model(self.committed)

    def reopen_store(self):
        self.store.close()
        self.store = ll.Store(self.path, ll.WRITE)

    # -- writes --

    @rule(data=st.data(), tree=st.sampled_from(TREES), flag=FLAGS, value=VALUES)
    def put(self, data, tree, flag, value):
        self.ensure_txn()
        if tree not in self.txn:
            with pytest.raises(NotFoundError):
                self.store.put(tree, self.draw_key(data, tree), value, flag)
            return
        kt, d = self.txn[tree]
        wrong = data.draw(st.integers(0, 15), label="wrong type?") == 0
        key = self.draw_key(data, tree, wrong)
        if wrong:
            with pytest.raises(InvalidArgumentError):
                self.store.put(tree, key, value, flag)
        elif flag == ll.PUT_INSERT and key in d:
            with pytest.raises(ExistsError):
                self.store.put(tree, key, value, flag)
        elif flag == ll.PUT_REPLACE and key not in d:
            with pytest.raises(NotFoundError):
                self.store.put(tree, key, value, flag)
        elif flag == ll.PUT_APPEND and d and key <= max(d):
            with pytest.raises(InvalidArgumentError):
                self.store.put(tree, key, value, flag)
        else:
            self.store.put(tree, key, value, flag)
            d[key] = value
        assert self.store.tree_stat(tree) == (kt, len(d))

    @rule(data=st.data(), tree=st.sampled_from(TREES), n=st.integers(10, 300),
          size=st.sampled_from([0, 30, 300, 800]), step=st.sampled_from([1, 2, 7]),
          grouped=st.sampled_from([0, 0, 100, 300]))
    def put_many(self, data, tree, n, size, step, grouped):
        """A run of neighbouring keys: enough to split leaves and branches.
        Grouped byte keys ("%03d" % (i // 8) + base + "y" * grouped + "%05d" % i)
        make long separators, so branch nodes fill up after a few dozen leaves."""
        self.ensure_txn()
        if tree not in self.txn:
            return
        kt, d = self.txn[tree]
        base = self.draw_key(data, tree)
        for i in range(0, n * step, step):
            if kt == ll.KEY_INT:
                key = base + i
            else:
                key = (b"%03d" % (i // 8) + base + b"y" * grouped if grouped else base) + b"%05d" % i
            if kt == ll.KEY_INT and not INT64_MIN <= key <= INT64_MAX:
                break
            v = value_bytes(size, i & 3)
            self.store.put(tree, key, v)
            d[key] = v
        assert self.store.tree_stat(tree) == (kt, len(d))

    @rule(data=st.data(), tree=st.sampled_from(TREES))
    def delete(self, data, tree):
        self.ensure_txn()
        if tree not in self.txn:
            with pytest.raises(NotFoundError):
                self.store.delete(tree, self.draw_key(data, tree))
            return
        kt, d = self.txn[tree]
        key = self.draw_key(data, tree)
        if key in d:
            self.store.delete(tree, key)
            del d[key]
        else:
            with pytest.raises(NotFoundError):
                self.store.delete(tree, key)
        assert self.store.tree_stat(tree) == (kt, len(d))

    @rule(tree=st.sampled_from(TREES), frac=st.sampled_from([0.3, 0.6, 0.9, 1.0]), data=st.data())
    def delete_many(self, tree, frac, data):
        """Delete a contiguous range of present keys: merges and borrows."""
        self.ensure_txn()
        if tree not in self.txn or not self.txn[tree][1]:
            return
        kt, d = self.txn[tree]
        ks = sorted(d)
        n = max(1, int(len(ks) * frac))
        start = data.draw(st.integers(0, len(ks) - n), label="start")
        with self.store.cursor(tree) as c:
            # delete through a cursor walk: each next() re-finds its place
            assert c.seek(ks[start])
            for k in ks[start:start + n]:
                assert c.key() == k
                self.store.delete(tree, k)
                del d[k]
                moved = c.next()
                assert moved == (k != ks[start + n - 1] or start + n < len(ks))
        assert self.store.tree_stat(tree) == (kt, len(d))

    @rule(tree=st.sampled_from(TREES), frac=st.sampled_from([0.2, 0.5, 1.0]),
          size=st.sampled_from([0, 50, 700, 800, 5000]), data=st.data())
    def rewrite_many(self, tree, frac, size, data):
        """Replace the values of a range of present keys with REPLACE: every
        leaf in the range is copied, values move between inline and extents."""
        self.ensure_txn()
        if tree not in self.txn or not self.txn[tree][1]:
            return
        kt, d = self.txn[tree]
        ks = sorted(d)
        n = max(1, int(len(ks) * frac))
        start = data.draw(st.integers(0, len(ks) - n), label="start")
        for j, k in enumerate(ks[start:start + n]):
            d[k] = value_bytes(size, j & 3)
            self.store.put(tree, k, d[k], ll.PUT_REPLACE)
        assert self.store.tree_stat(tree) == (kt, len(d))

    @rule(tree=st.sampled_from(TREES), kt=st.sampled_from([ll.KEY_INT, ll.KEY_BYTES]))
    def tree_create(self, tree, kt):
        self.ensure_txn()
        if tree in self.txn:
            with pytest.raises(ExistsError):
                self.store.tree_create(tree, kt)
        else:
            self.store.tree_create(tree, kt)
            self.txn[tree] = (kt, {})
        assert self.store.tree_stat(tree) == (self.txn[tree][0], len(self.txn[tree][1]))

    @rule(tree=st.sampled_from(TREES))
    def tree_drop(self, tree):
        self.ensure_txn()
        if tree in self.txn:
            self.store.tree_drop(tree)
            del self.txn[tree]
        else:
            with pytest.raises(NotFoundError):
                self.store.tree_drop(tree)
        assert self.store.tree_stat(tree) == (0, 0)

    # -- reads --

    @rule(data=st.data(), tree=st.sampled_from(TREES))
    def get(self, data, tree):
        if tree not in self.view:
            with pytest.raises(NotFoundError):
                self.store.get(tree, self.draw_key(data, tree))
            return
        d = self.view[tree][1]
        wrong = data.draw(st.integers(0, 15), label="wrong type?") == 0
        key = self.draw_key(data, tree, wrong)
        if wrong:
            with pytest.raises(InvalidArgumentError):
                self.store.get(tree, key)
        elif key in d:
            assert self.store.get(tree, key) == d[key]
        else:
            with pytest.raises(NotFoundError):
                self.store.get(tree, key)

    @rule(data=st.data(), tree=st.sampled_from(TREES), reverse=st.booleans(),
          limit=st.sampled_from([1, 3, 20, None]))
    def scan(self, data, tree, reverse, limit):
        if tree not in self.view:
            with pytest.raises(NotFoundError):
                self.store.cursor(tree)
            return
        start = None if data.draw(st.integers(0, 4)) == 0 else self.draw_key(data, tree)
        expect = self.expect_scan(tree, start, reverse)
        with self.store.cursor(tree) as c:
            got = []
            for kv in c.items(start, reverse):
                got.append(kv)
                if limit is not None and len(got) >= limit:
                    break
            assert got == expect[: len(got)]
            assert len(got) == (len(expect) if limit is None else min(limit, len(expect)))
            # the same walk by single steps, then turn round: the entries
            # already passed, in the other direction
            fwd, back = (c.prev, c.next) if reverse else (c.next, c.prev)
            if start is None:
                ok = c.last() if reverse else c.first()
            else:
                ok = c.seek(start, ll.SEEK_LE if reverse else ll.SEEK_GE)
            walked = []
            while ok:
                walked.append((c.key(), c.value()))
                if len(walked) == len(got):
                    break
                ok = fwd()
            assert walked == got
            if walked:
                returned = []
                while back() and len(returned) < len(walked) - 1:
                    returned.append(c.key())
                assert returned == [k for k, _ in walked[:-1][::-1]]

    # -- invariants --

    @invariant()
    def integrity(self):
        """The check passes and the contents match the models, every step."""
        committed_entries = sum(len(d) for _, d in self.committed.values())
        if self.txn is None:
            chk = self.store.check()
            assert chk["nblocks"] == chk["live_blocks"] + chk["free_blocks"] + chk["pending_blocks"]
            assert (chk["trees"], chk["entries"]) == (len(self.committed), committed_entries)
            assert_contents(self.store, self.committed)
        else:
            assert_contents(self.store, self.txn)
            with ll.Store(self.path) as r:  # sees the last committed snapshot
                chk = r.check()
                assert (chk["trees"], chk["entries"]) == (len(self.committed), committed_entries)
                assert_contents(r, self.committed)


def assert_contents(store, model):
    for t in TREES:
        kt, d = model.get(t, (0, {}))
        assert store.tree_stat(t) == (kt, len(d))
        if kt:
            with store.cursor(t) as c:
                assert list(c.items()) == sorted(d.items())


StoreMachine.TestCase.settings = settings.get_profile(f"incrdump-store-{PROFILE}")
TestStoreMachine = StoreMachine.TestCase
