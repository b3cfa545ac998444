"""Simulated power cuts in the middle of ``update`` and ``apply`` (issue 5,
Must show: "a crash (fault injection, and SIGKILL) in the middle of update
or apply leaves the dump at its previous generation; re-running
succeeds"; the SIGKILL half is in tests/test_update.py and
tests/test_diff.py).

The writer's handle is opened over the fault-injecting I/O layer of
csrc/vfs.h (``dump_open_faulty``; in Python ``Dump(..., _faults=...)`` and
``_lowlevel.DumpHandle(..., faults=...)``): the crash_at-th write or sync
does not happen, the unsynced writes reach the file as the mode says
(KEEP, DROP, TORN, RANDOM: the modes of tests/test_crash.py), and every
later operation fails. A counting run (crash_at 0) gives the number of
I/O operations of the update (the aawiki history fixture's base and its
35 daily files, tests/helpers/daysplit.py: 460 revisions) and of
applying the diff that update writes, and where the commit starts (the writer is given a 256 KiB node cache,
so that it also writes before the commit, as a large update does). The
crash point is then swept over all of them (every few operations, each
mode on its own offset, and every mode at the last operation):

- the operation must fail with the simulated crash (so no point can pass
  by never crashing);
- the file, opened normally, passes check() and is at its previous
  generation and sequence with the previous export bytes -- always when
  the crash came before the commit started, and otherwise unless it came
  after the commit's durable point, where it must be at the new
  generation and sequence with the new export bytes (and in KEEP mode
  at the last operation it must be, or the sweep never reached the
  durable point);
- running the operation again, normally, succeeds and gives the new
  export bytes; an apply whose crash came after the durable point is
  refused as already applied.
"""
import os
import pathlib
import shutil
import sys

import pytest

import incrdump
from incrdump import _lowlevel as L
from incrdump import diff as diffmod
from incrdump import update as updatemod
from incrdump.diff import AlreadyAppliedError, DiffRecorder, apply
from incrdump.errors import DumpIOError
from incrdump.load import load
from incrdump.update import update

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "helpers"))
import daysplit  # noqa: E402
from dumpfiles import export_bytes  # noqa: E402

DATA = HERE.parent.parent / "shared" / "data"
AAWIKI = DATA / "real" / "aawiki-20260101-pages-meta-history.xml.7z"
DAYS = 35
STEP = 12   # each mode crashes at every STEP-th operation, the modes staggered
CACHE = 1 << 18   # the writer's node cache: small, so that it writes before the commit too
MODES = {"KEEP": L.CRASH_KEEP, "DROP": L.CRASH_DROP, "TORN": L.CRASH_TORN,
         "RANDOM": L.CRASH_RANDOM}

pytestmark = pytest.mark.skipif(not AAWIKI.exists(), reason="shared/data is not beside the repo")


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """In memory when possible: the fault layer plays the power cut itself,
    real fsyncs only cost time (as in tests/test_crash.py)."""
    import tempfile

    shm = pathlib.Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK):
        d = tempfile.mkdtemp(prefix="incrdump-ucrash-", dir=shm)
        yield pathlib.Path(d)
        shutil.rmtree(d, ignore_errors=True)
    else:
        yield tmp_path_factory.mktemp("ucrash")


@pytest.fixture(scope="module")
def setup(workdir):
    """The base dump, the day files, the diff of updating the base with all
    of them, and the states before and after: (generation, sequence,
    export bytes)."""
    (workdir / "split").mkdir()
    base_xml, days, _ = daysplit.split_by_date(str(AAWIKI), str(workdir / "split"), DAYS)
    base = workdir / "base.idump"
    load(str(base), base_xml)
    new = workdir / "new.idump"
    shutil.copy(base, new)
    rec = DiffRecorder(str(workdir / "all.idiff"))
    try:
        update(str(new), days, observer=rec)
    except BaseException:
        rec.discard()
        raise
    rec.publish()
    return {"base": base, "days": days, "diff": workdir / "all.idiff",
            "old": state(base), "new": state(new)}


def state(path):
    """(generation, sequence, export bytes) of a dump that passes check()."""
    with incrdump.Dump(str(path)) as d:
        d.check()
        gen, seq = d.info()["generation"], d.sequence
    return gen, seq, export_bytes(path)


class Faults:
    """Where the writer's handle crashes, and what it counted: ``at_commit``
    (operations done when the commit began) and ``total`` (when the handle
    was closed)."""

    def __init__(self, crash_at, mode, seed):
        self.spec = (crash_at, mode, seed)
        self.at_commit = None
        self.total = None


def faulty_update(monkeypatch, faults):
    """Make update() open its dump over the fault layer (Dump's _faults)."""

    class FaultyDump(incrdump.Dump):
        def __init__(self, path, mode="r", **kw):
            if mode == "w":
                kw.update(_faults=faults.spec, cache_size=CACHE)
            super().__init__(path, mode, **kw)

        def close(self):
            if self._dh is not None and self.mode == "w":
                faults.total = self._dh.io_ops()
            super().close()

    monkeypatch.setattr(updatemod, "Dump", FaultyDump)


class CommitProbe:
    """An update observer noting the writer's operations right before the commit."""

    def __init__(self, faults):
        self.faults = faults

    def op(self, op, dump):
        pass

    def commit(self, dump):
        self.faults.at_commit = dump._dh.io_ops()


def run_update(monkeypatch, setup, path, faults):
    with monkeypatch.context() as m:
        faulty_update(m, faults)
        return update(str(path), setup["days"], observer=CommitProbe(faults))


def faulty_apply(monkeypatch, faults):
    """Make apply() open its writer over the fault layer (DumpHandle's faults);
    its readers (the base check, the delta base) read the file normally."""
    plain = L.DumpHandle

    class FaultyHandle(plain):
        def __init__(self, path, flags=0, config=None):
            self._writer = bool(flags & L.DUMP_WRITE)
            super().__init__(path, flags, config, faults=faults.spec if self._writer else None)
            if self._writer:
                self.set_cache_size(CACHE)

        def commit(self):
            if self._writer:
                faults.at_commit = self.io_ops()
            super().commit()

        def close(self):
            if self._writer and not self.closed:
                faults.total = self.io_ops()
            super().close()

    monkeypatch.setattr(diffmod.L, "DumpHandle", FaultyHandle)


def run_apply(monkeypatch, setup, path, faults):
    with monkeypatch.context() as m:
        faulty_apply(m, faults)
        return apply(str(path), str(setup["diff"]))


RUNNERS = {"update": run_update, "apply": run_apply}


def crash_points(total):
    """(crash_at, mode name, seed): every STEP-th operation for each mode, the
    modes staggered so that together they hit every STEP/4-th, and every
    mode at the last operation."""
    points = []
    for i, name in enumerate(MODES):
        start = 1 + i * STEP // len(MODES)
        points += [(k, name, k) for k in range(start, total + 1, STEP)]
        points.append((total, name, 7))
    return sorted(set(points))


@pytest.mark.parametrize("operation", ["update", "apply"])
def test_crash_at_every_stage(setup, workdir, monkeypatch, operation):
    run = RUNNERS[operation]
    old, new = setup["old"], setup["new"]
    assert (new[0], new[1]) == (old[0] + 1, old[1] + 1) and new[2] != old[2]

    # the counting run: the same operation, never crashing
    path = workdir / f"{operation}-count.idump"
    shutil.copy(setup["base"], path)
    count = Faults(0, L.CRASH_KEEP, 0)
    run(monkeypatch, setup, path, count)
    assert state(path) == new
    total, at_commit = count.total, count.at_commit
    # enough points before and inside the commit to sweep
    assert at_commit is not None and 0 < at_commit and total - at_commit >= 4 * len(MODES), \
        (at_commit, total)

    outcomes = {"old": 0, "new": 0}
    for crash_at, mode_name, seed in crash_points(total):
        where = f"{operation}: crash at operation {crash_at} of {total} " \
                f"(commit from {at_commit + 1}), {mode_name}, seed {seed}"
        path = workdir / f"{operation}.idump"
        shutil.copy(setup["base"], path)
        faults = Faults(crash_at, MODES[mode_name], seed)
        with pytest.raises(DumpIOError, match="simulated crash") as info:
            run(monkeypatch, setup, path, faults)
        # the crash happened at the chosen operation of this run's writer
        assert f"at operation {crash_at}" in str(info.value) or faults.total == crash_at, \
            f"{where}: {info.value}"
        if crash_at <= at_commit:
            assert faults.at_commit is None, f"{where}: the commit began"
        got = state(path)
        if got[:2] == old[:2]:
            assert got[2] == old[2], f"{where}: previous generation, different export"
            outcomes["old"] += 1
            run(monkeypatch, setup, path, Faults(0, L.CRASH_KEEP, 0))  # re-run succeeds
            assert state(path) == new, f"{where}: the re-run's result"
        else:
            assert crash_at > at_commit, f"{where}: a crash before the commit left {got[:2]}"
            assert got[:2] == new[:2], f"{where}: neither the previous nor the new state"
            assert got[2] == new[2], f"{where}: new generation, different export"
            outcomes["new"] += 1
            if operation == "apply":
                with pytest.raises(AlreadyAppliedError):
                    apply(str(path), str(setup["diff"]))
                assert state(path) == new
        if crash_at == total and mode_name == "KEEP":
            # the last operation's writes reach the disk: past the durable point
            assert got[:2] == new[:2], f"{where}: the commit's last writes did not commit"
    assert outcomes["old"] >= 20 and outcomes["new"] >= 1, outcomes
    print(f"{operation}: {total} I/O operations (commit from {at_commit + 1}); "
          f"crash outcomes {outcomes}")


def test_dump_faults_keyword(setup, workdir):
    """Dump(path, "w", _faults=...) routes the handle's I/O through the fault
    layer: a counting handle counts, a crash at the first operation fails
    the commit and leaves the file as it was."""
    path = workdir / "kw.idump"
    shutil.copy(setup["base"], path)
    with incrdump.Dump(str(path), "w", _faults=(0, L.CRASH_KEEP, 0)) as d:
        assert d._dh.io_ops() == 0
        with d.transaction() as t:
            t.set_sequence(d.sequence + 5)
        assert d._dh.io_ops() > 0
    assert state(path)[1] == setup["old"][1] + 5
    shutil.copy(setup["base"], path)
    d = incrdump.Dump(str(path), "w", _faults=(1, L.CRASH_DROP, 0))
    try:
        t = d.transaction()
        t.set_sequence(d.sequence + 5)
        with pytest.raises(DumpIOError, match="simulated crash"):
            t.commit()
    finally:
        d.close()
    assert state(path) == setup["old"]
    # a plain handle counts nothing
    with incrdump.Dump(str(path)) as d:
        assert d._dh.io_ops() == 0
