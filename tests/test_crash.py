"""Crash safety (DESIGN.md section 8): a killed writer leaves a dump that opens
at the last or the previous commit and passes the integrity check.

Two kinds of crash:
- simulated power cuts through the fault-injecting I/O layer (csrc/vfs.h):
  a deterministic multi-commit workload is crashed at *every* write and sync
  it performs, with unsynced writes kept, dropped, torn at sector size, or a
  random mix of the three;
- real SIGKILLs of a writer process (tests/helpers/writer.py) at random
  moments, on one file whose history accumulates across the kills.
After each crash the file is opened normally: it must open, pass check(),
hold exactly the content of an acceptable commit (compared against a dict
model), report the matching generation, and accept a new commit.
"""
import importlib.util
import os
import pathlib
import random
import shutil
import signal
import subprocess
import sys
import time

import pytest

from incrdump import _lowlevel as L
from incrdump.errors import DumpIOError

pytestmark = pytest.mark.crash

HELPERS = pathlib.Path(__file__).resolve().parent / "helpers"

# ---------------------------------------------------------------------------
# The model: {tree: (key_type, {key: value})}, and how to read a Store into it.


def read_all(store):
    """Every tree of the store's snapshot as a model dict."""
    out = {}
    for t in range(L.MAX_TREES):
        kt, count = store.tree_stat(t)
        if not kt:
            continue
        with store.cursor(t) as c:
            items = dict(c.items())
        assert len(items) == count, f"tree {t}: stat says {count} entries, cursor found {len(items)}"
        out[t] = (kt, items)
    return out


def apply_op(op, model=None, store=None):
    """Apply one workload op to the model and/or to the store."""
    kind, t = op[0], op[1]
    if kind == "create":
        if model is not None:
            model[t] = (op[2], {})
        if store:
            store.tree_create(t, op[2])
    elif kind == "drop":
        if model is not None:
            del model[t]
        if store:
            store.tree_drop(t)
    elif kind == "put":
        if model is not None:
            model[t][1][op[2]] = op[3]
        if store:
            store.put(t, op[2], op[3])
    elif kind == "del":
        if model is not None:
            del model[t][1][op[2]]
        if store:
            store.delete(t, op[2])
    else:  # pragma: no cover
        raise AssertionError(op)


def copy_model(model):
    return {t: (kt, dict(items)) for t, (kt, items) in model.items()}


# ---------------------------------------------------------------------------
# The deterministic workload. The base file holds trees 0 (int) and 5 (bytes);
# the workload's commits then exercise every kind of change: inserts,
# replaces inline <-> extent values (> 768 bytes), long keys (> 512 bytes,
# stored in extents), values spanning more than one 64-block write chunk,
# deletes that empty leaves and merge nodes, tree create / drop / re-create
# with another key type, and an empty commit.


def _val(rnd, n):
    pattern = bytes(rnd.getrandbits(8) for _ in range(64))
    return (pattern * (n // 64 + 1))[:n]


def base_ops():
    rnd = random.Random(7)
    ops = [("create", 0, L.KEY_INT), ("create", 5, L.KEY_BYTES)]
    for k in range(0, 400, 2):
        ops.append(("put", 0, k, _val(rnd, 1500 if k % 50 == 0 else rnd.randrange(20, 200))))
    for i in range(60):
        key = b"page/%04d" % i + (b"~" * 700 if i % 15 == 0 else b"")
        ops.append(("put", 5, key, _val(rnd, rnd.randrange(0, 120))))
    return [ops]


def workload_commits():
    rnd = random.Random(2024)
    commits = []
    # 1: a new bytes tree with long keys and large values; tree 0 grows.
    ops = [("create", 1, L.KEY_BYTES)]
    for i in range(120):
        key = b"k%05d" % i
        if i % 10 == 3:
            key += b"L" * rnd.randrange(513, 2500)      # long key, in an extent
        size = rnd.choice([0, 10, 100, 700, 769, 1000, 5000])
        ops.append(("put", 1, key, _val(rnd, size)))
    for k in range(1, 400, 4):
        ops.append(("put", 0, k, _val(rnd, rnd.randrange(30, 90))))
    commits.append(ops)
    # 2: replaces small -> large and large -> small in tree 0.
    ops = []
    for k in range(0, 400, 6):
        ops.append(("put", 0, k, _val(rnd, 2000 if k % 12 == 0 else 40)))
    commits.append(ops)
    # 3: a tree of 300 entries and one value larger than a 64-block chunk.
    ops = [("create", 2, L.KEY_INT)]
    for k in range(300):
        ops.append(("put", 2, k * 1000, _val(rnd, 100)))
    ops.append(("put", 2, -1, _val(rnd, 300_000)))
    commits.append(ops)
    # 4: heavy deletes (leaves empty, nodes merge), long keys among them.
    ops = [("del", 0, k) for k in range(0, 300) if k % 2 == 0 or k % 4 == 1]
    ops += [("del", 1, b"k%05d" % i) for i in range(0, 120, 2) if i % 10 != 3]
    commits.append(ops)
    # 5: drop the big tree; delete the long keys of tree 1 too.
    ops = [("drop", 2)]
    ops += [("del", 1, op[2]) for op in commits[0] if op[0] == "put" and op[1] == 1 and len(op[2]) > 512]
    commits.append(ops)
    # 6: an empty commit.
    commits.append([])
    # 7: re-create tree 2 with the other key type; empty tree 5 entirely.
    ops = [("create", 2, L.KEY_BYTES)]
    ops += [("put", 2, b"x" * n, _val(rnd, n * 3)) for n in (0, 1, 511, 512, 513, 600)]
    ops += [("del", 5, op[2]) for op in base_ops()[0] if op[0] == "put" and op[1] == 5]
    commits.append(ops)
    return commits


@pytest.fixture(scope="module")
def fastdir(tmp_path_factory):
    """A directory for the simulated crashes, in memory when possible. The
    fault layer simulates the power cut itself (the real file plays the
    disk), so real fsyncs add nothing to these tests but time: thousands
    of runs, each with several syncs."""
    import tempfile

    shm = pathlib.Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK):
        d = tempfile.mkdtemp(prefix="incrdump-crash-", dir=shm)
        yield pathlib.Path(d)
        shutil.rmtree(d, ignore_errors=True)
    else:
        yield tmp_path_factory.mktemp("crash")


@pytest.fixture(scope="module")
def scenario(fastdir):
    """(base file, base generation, commits, models): models[i] is the
    content after i workload commits (models[0] = the base file)."""
    base = str(fastdir / "base.dump")
    model = {}
    with L.Store(base, L.CREATE | L.WRITE) as s:
        for ops in base_ops():
            s.begin()
            for op in ops:
                apply_op(op, model, s)
            s.commit()
        s.check()
        base_gen = s.info()["generation"]
    commits = workload_commits()
    models = [copy_model(model)]
    for ops in commits:
        for op in ops:
            apply_op(op, model)
        models.append(copy_model(model))
    return base, base_gen, commits, models


def run_commits(store, commits):
    """Run the workload on store; return how many commits were acknowledged
    (store.commit() returned) before a DumpIOError, and that error (None if
    every call succeeded)."""
    acked = 0
    try:
        for ops in commits:
            store.begin()
            for op in ops:
                apply_op(op, store=store)
            store.commit()
            acked += 1
        store.info()   # after a crash at the very last operation, this fails
    except DumpIOError as e:
        return acked, e
    return acked, None


def crash_run(base, path, commits, crash_at, mode, seed, pinned=False):
    """Copy the base file to path and run the workload on it through the
    fault layer, crashing at operation crash_at. (acked, error). pinned:
    a reader holds the base snapshot meanwhile, so nothing freed during
    the workload is reused and the free-space record carries pending
    extents of every commit (the power cut ends the reader too)."""
    shutil.copyfile(base, path)
    reader = L.Store(path) if pinned else None
    s = L.Store(path, L.WRITE, faults=(crash_at, mode, seed))
    try:
        return run_commits(s, commits)
    finally:
        s.close()
        if reader:
            reader.close()


@pytest.fixture(scope="module", params=["alone", "pinned"])
def op_map(request, scenario, fastdir):
    """Where each commit's I/O operations lie in the fault layer's numbering.

    ends[i] is the number of operations (writes, syncs, truncates) done once
    workload commit i has returned, counted with crash_at = 0 (never crash).
    Commit i owns operations (ends[i-1], ends[i]] -- its value extents are
    written during put(), its nodes and free-space record during commit()
    -- and they end with: header write, sync, and only when the file
    shrinks, a best-effort truncate. Whether commit i ends with a truncate
    is learned from one crash exactly at ends[i]: the truncate is the only
    operation that comes after the commit is durable, so it is the only
    crash point at which store.commit() still returns successfully."""
    base, _, commits, _ = scenario
    pinned = request.param == "pinned"
    path = str(fastdir / "count.dump")
    shutil.copyfile(base, path)
    ends = [0]
    reader = L.Store(path) if pinned else None
    with L.Store(path, L.WRITE, faults=(0, L.CRASH_KEEP, 0)) as s:
        for ops in commits:
            s.begin()
            for op in ops:
                apply_op(op, store=s)
            s.commit()
            ends.append(s.io_ops())
        s.check()
        if pinned:
            s.begin()
            assert s.info()["pending_blocks"] > 0 and s.info()["free_blocks"] == 0
            s.abort()
            reader.close()
    truncates = [False]
    for i in range(1, len(commits) + 1):
        acked, err = crash_run(base, path, commits, ends[i], L.CRASH_KEEP, 0, pinned)
        assert err is not None and "simulated crash" in str(err), (i, err)
        assert acked in (i - 1, i), (i, acked)
        truncates.append(acked == i)
    return ends, truncates, pinned


def expected_states(k, ends, truncates):
    """For a crash at operation k: (commit in progress c, commits that must
    have been acknowledged, the set of acceptable recovered states).

    Commit c's header reaches the disk only by its write at operation
    S = ends[c] - truncates[c] - 1, made durable by the sync at S + 1.
    - k <= S: commit c's header was never written (a crash at an operation
      means that operation did not happen). Only commit c-1 is on disk;
      commit c raised.  -> exactly c-1.
    - k == S + 1 (the final sync): the header write was issued but not
      synced; the power cut keeps it, drops it, or tears it (a torn slot
      fails its checksum and the other slot, c-1, wins). commit c raised,
      but the disk may hold either. -> c-1 or c.
    - k == S + 2 (only when commit c truncates): commit c is durable and
      acknowledged. -> exactly c.
    No other state is acceptable: a crash never loses an acknowledged
    commit, nor exposes a half-written one."""
    c = next(i for i in range(1, len(ends)) if k <= ends[i])
    sync = ends[c] - (1 if truncates[c] else 0)
    if k < sync:
        return c, c - 1, {c - 1}
    if k == sync:
        return c, c - 1, {c - 1, c}
    return c, c, {c}


def verify_recovered(path, base_gen, commits, models, allowed, mode_name):
    """Open the crashed file normally and check it; return the state index.
    The recovered file must then take the rest of the workload (allocation
    after a crash must not hand out a block that is still in use) and one
    more commit, ending at the model's final content."""
    with L.Store(path, L.WRITE) as s:
        s.check()
        content = read_all(s)
        gen = s.info()["generation"]
        matches = [i for i in range(len(models)) if models[i] == content]
        assert matches, f"{mode_name}: content matches no commit of the workload (generation {gen})"
        state = gen - base_gen if gen - base_gen in matches else matches[0]
        assert state in allowed, f"{mode_name}: recovered state {state}, acceptable {sorted(allowed)}"
        assert gen == base_gen + state, f"{mode_name}: generation {gen} but content of commit {state}"
        acked, err = run_commits(s, commits[state:])
        assert (acked, err) == (len(commits) - state, None), f"{mode_name}: resuming the workload: {err}"
        s.begin()
        s.put(0, 10**9, b"after the crash")
        s.commit()
        s.check()
    with L.Store(path) as s:
        s.check()
        expect = copy_model(models[-1])
        expect[0][1][10**9] = b"after the crash"
        assert read_all(s) == expect, f"{mode_name}: the file is wrong after resuming the workload"
        assert s.info()["generation"] == base_gen + len(commits) + 1
    return state


MODES = {"KEEP": L.CRASH_KEEP, "DROP": L.CRASH_DROP, "TORN": L.CRASH_TORN, "RANDOM": L.CRASH_RANDOM}


def sweep(scenario, op_map, workdir, mode_name, seeds_for, points=None):
    base, base_gen, commits, models = scenario
    ends, truncates, pinned = op_map
    total = ends[-1]
    path = str(workdir / f"crash-{mode_name}.dump")
    failures, states = [], {}
    points = range(1, total + 1) if points is None else points
    for k in points:
        c, must_ack, allowed = expected_states(k, ends, truncates)
        for seed in seeds_for(k):
            where = f"{mode_name} crash at operation {k}/{total} (seed {seed}, in commit {c})"
            try:
                acked, err = crash_run(base, path, commits, k, MODES[mode_name], seed, pinned)
                assert err is not None and "simulated crash" in str(err), f"{where}: {err!r}"
                assert acked == must_ack, f"{where}: {acked} commits acknowledged, expected {must_ack}"
                if mode_name == "KEEP":     # every issued write reached the disk
                    allowed = {max(allowed)}
                elif mode_name == "DROP":   # no unsynced write did
                    allowed = {min(allowed)}
                state = verify_recovered(path, base_gen, commits, models, allowed, where)
                states[state - must_ack] = states.get(state - must_ack, 0) + 1
            except Exception as e:  # collect, report all at the end
                failures.append(f"{where}: {type(e).__name__}: {e}")
    return failures, states, total


def _report(failures):
    return f"{len(failures)} failing crash points:\n" + "\n".join(failures[:15])


def test_workload_is_deterministic_and_large_enough(scenario, op_map):
    base, base_gen, commits, models = scenario
    ends, truncates, pinned = op_map
    assert len(commits) == 7 and ends[-1] >= 100
    assert all(ends[i] > ends[i - 1] for i in range(1, len(ends)))
    # Two counting runs number the operations identically (crash points
    # are only meaningful if they are reproducible).
    for _ in range(2):
        assert crash_run(base, base + ".again", commits, 0, L.CRASH_KEEP, 0, pinned) == (len(commits), None)
        with L.Store(base + ".again") as s:
            assert read_all(s) == models[-1]
            assert s.info()["generation"] == base_gen + len(commits)
            s.check()


SEEDS = {
    "KEEP": lambda k: [k],                                  # the seed is unused
    "DROP": lambda k: [k],
    "TORN": lambda k: [k + 50_021 * i for i in range(6)],     # six tearings per point
    "RANDOM": lambda k: [k + 50_021 * i for i in range(8)],   # eight mixes per point
}


@pytest.mark.parametrize("mode_name", ["KEEP", "DROP", "TORN", "RANDOM"])
def test_crash_at_every_operation(scenario, op_map, fastdir, mode_name):
    """Every write and sync point of the workload, in every mode; TORN and
    RANDOM with several seeds (different tearings / keep-drop-tear mixes)
    per point."""
    failures, states, total = sweep(scenario, op_map, fastdir, mode_name, SEEDS[mode_name])
    assert not failures, _report(failures)
    runs = total * len(SEEDS[mode_name](1))
    assert sum(states.values()) == runs
    if mode_name == "KEEP":     # each commit's final-sync crash recovers that commit
        assert states.get(1, 0) == len(scenario[2])
    if mode_name == "DROP":     # ... and none does when unsynced writes are lost
        assert states.get(1, 0) == 0
    print(f"\n{mode_name} ({'pinned' if op_map[2] else 'alone'}): {total} crash points x "
          f"{len(SEEDS[mode_name](1))} seeds, recovered at the acknowledged commit {states.get(0, 0)}x, "
          f"at the unacknowledged one {states.get(1, 0)}x")


def test_crash_while_creating(fastdir):
    """A crash while a new file is being created (before the creating open
    returns). Nothing was acknowledged, so there is no commit to keep, but
    the file must stay usable: a killed process (KEEP: every write issued
    reaches the file) or a clean power cut (DROP) leaves a file that opens
    with STORE_CREATE as the empty generation-1 dump -- an empty file is
    created afresh. Only a power cut that tears the header block itself
    (TORN, RANDOM) may leave a file that is refused as not a dump
    (CorruptDumpError); it never opens with anything in it."""
    from incrdump.errors import CorruptDumpError

    tmp_path = fastdir / "creating"
    tmp_path.mkdir()
    with L.Store(str(tmp_path / "count.dump"), L.CREATE | L.WRITE, faults=(0, L.CRASH_KEEP, 0)) as s:
        n_create = s.io_ops()
    assert n_create >= 2   # at least a write and a sync
    refused = 0
    for mode_name, mode in MODES.items():
        for k in range(1, n_create + 1):
            for seed in range(8):
                path = str(tmp_path / f"new-{mode_name}-{k}-{seed}.dump")
                with pytest.raises(DumpIOError, match="simulated crash"):
                    L.Store(path, L.CREATE | L.WRITE, faults=(k, mode, seed))
                try:
                    s = L.Store(path, L.CREATE | L.WRITE)
                except CorruptDumpError:
                    assert mode_name in ("TORN", "RANDOM"), f"{mode_name} crash at {k}: file refused"
                    refused += 1
                    continue
                with s:
                    assert s.info()["generation"] == 1 and read_all(s) == {}
                    s.check()
                    s.begin()
                    s.tree_create(0, L.KEY_INT)
                    s.commit()
                    s.check()
    assert refused < 2 * n_create * 8


# ---------------------------------------------------------------------------
# Real SIGKILLs.


def _load_helper(name):
    spec = importlib.util.spec_from_file_location(f"_incrdump_test_{name}", HELPERS / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _read_line(proc, deadline):
    """One line of the child's stdout, or fail once the deadline passes."""
    import select

    while True:
        left = deadline - time.monotonic()
        assert left > 0, "the writer process did not answer in time"
        ready, _, _ = select.select([proc.stdout], [], [], left)
        if ready:
            return proc.stdout.readline()


def test_sigkill_writer_at_random_moments(tmp_path):
    """A writer process commits in a loop and is killed with SIGKILL at a
    random moment, 20 times over on the same file. After every kill the
    file passes check() and holds exactly the content after commit c or
    c+1, where c is the last commit the writer reported: the writer prints
    after commit() returns, so a kill between the return and the print
    leaves commit c+1 durable but unreported; anything else is a bug."""
    writer = _load_helper("writer")
    path = str(tmp_path / "killed.dump")
    model = writer.Model()
    rnd = random.Random(20240611)
    state = 0
    outcomes = {"c": 0, "c+1": 0}
    for round_ in range(20):
        proc = subprocess.Popen(
            [sys.executable, str(HELPERS / "writer.py"), path],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            bufsize=0,  # no read-ahead: communicate() must see every line
        )
        try:
            first = _read_line(proc, time.monotonic() + 30).split()
            assert first == [b"start", str(state).encode()], (first, proc.stderr.read() if proc.poll() is not None else b"")
            time.sleep(rnd.uniform(0.0, 0.4))
            assert proc.poll() is None, proc.stderr.read()
            proc.send_signal(signal.SIGKILL)
            out, err = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=30)
        assert proc.returncode == -signal.SIGKILL, err
        printed = [int(x) for x in out.split()]
        reported = printed[-1] if printed else state
        assert printed == list(range(state + 1, reported + 1))
        with L.Store(path) as s:
            s.check()
            n = int.from_bytes(s.get(writer.INT_TREE, writer.COUNTER), "little") if s.tree_stat(writer.INT_TREE)[0] else 0
            assert n in (reported, reported + 1), f"round {round_}: file at commit {n}, writer reported {reported}"
            assert read_all(s) == model.advance(n).trees, f"round {round_}: content differs from commit {n}"
            assert s.info()["generation"] == 1 + n
        outcomes["c" if n == reported else "c+1"] += 1
        state = n
    assert state > 20   # the writer got work done between the kills
    print(f"SIGKILL: 20 kills, {state} commits, file at the reported commit {outcomes['c']}x, one past {outcomes['c+1']}x")
