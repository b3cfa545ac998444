"""One writer, many readers, across processes (DESIGN.md sections 3 and 8).

- A reader process scanning while another process commits thousands of
  updates sees only committed snapshots, and an old snapshot it keeps open
  stays intact however far the writer moves on.
- A second writer gets BusyError at once, never a wait.
- A reader in another process pins its snapshot: while it is open the
  writer's file grows instead of reusing the blocks that reader can see;
  once it closes, later commits reuse them and the file stops growing.
The processes are tests/helpers/snapshots.py; every one is time-bounded and
killed if still alive when its test ends.
"""
import importlib.util
import json
import pathlib
import select
import subprocess
import sys
import time

import pytest

from incrdump import _lowlevel as L
from incrdump.errors import BusyError

HELPER = pathlib.Path(__file__).resolve().parent / "helpers" / "snapshots.py"


def _load_helper():
    spec = importlib.util.spec_from_file_location("_incrdump_test_snapshots", HELPER)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


snap = _load_helper()


class Proc:
    """A helper process with line-based, time-bounded I/O; killed on exit."""

    def __init__(self, *args):
        self.p = subprocess.Popen(
            [sys.executable, str(HELPER), *map(str, args)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            # Unbuffered: a buffered readline() reads ahead, and select()
            # and communicate() look at the descriptor, not that buffer.
            bufsize=0,
        )

    def line(self, timeout=30.0):
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no answer from {self.p.args[2:]} within {timeout} s")
            ready, _, _ = select.select([self.p.stdout], [], [], left)
            if ready:
                out = self.p.stdout.readline().decode()
                if not out:
                    self.p.wait(timeout=10)
                    raise AssertionError(f"{self.p.args[2:]} exited ({self.p.returncode}): {self.p.stderr.read().decode()}")
                return out.strip()

    def send(self, text="go"):
        self.p.stdin.write(text.encode() + b"\n")
        self.p.stdin.flush()

    def finish(self, timeout=30.0):
        """Wait for exit; return (returncode, remaining stdout, stderr)."""
        out, err = self.p.communicate(timeout=timeout)
        return self.p.returncode, out.decode(), err.decode()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.p.poll() is None:
            self.p.kill()
        self.p.wait(timeout=30)
        for f in (self.p.stdin, self.p.stdout, self.p.stderr):
            f.close()


def test_reader_sees_only_committed_snapshots(tmp_path):
    """3000 commits by one process, scanned meanwhile by another. Every
    commit rewrites all K keys of tree 0 with its number (and a value in an
    extent), adds one key to tree 1 and deletes an old one, and every 100th
    commit creates or drops tree 2: a scan mixing two commits, or showing an
    uncommitted one, differs from snap.expected(n) for every n."""
    path = tmp_path / "shared.dump"
    gen0 = snap.setup(str(path))
    total = 3000
    t0 = time.monotonic()
    with Proc("reader", path, total, gen0) as reader:
        assert reader.line() == "ready"
        with Proc("writer", path, total) as writer:
            assert writer.line(timeout=150) == f"done {total}"
            rc, _, err = writer.finish()
            assert rc == 0, err
        rc, out, err = reader.finish(timeout=60)
        stats = json.loads(out.strip().splitlines()[-1]) if out.strip() else {}
        assert rc == 0 and "violation" not in stats, (stats, err)
    elapsed = time.monotonic() - t0
    # The reader really raced the writer: many scans of many generations,
    # and old snapshots read long after the writer moved past them.
    assert stats["scans"] >= 100, stats
    assert stats["generations"] >= 100, stats
    assert stats["old_snapshots"] >= 3, stats
    with L.Store(str(path)) as s:
        s.check()
        assert snap.scan(s) == snap.expected(total)
        assert s.info()["generation"] == gen0 + total
    print(f"\nconcurrency: {total} commits in {elapsed:.1f} s; reader: {stats}")


def test_second_writer_is_busy_at_once(tmp_path):
    """While one process holds a write transaction, another process's
    begin() raises BusyError immediately (no waiting for the lock), as does
    a second handle in this process; readers keep seeing the last commit,
    without the holder's uncommitted write. After the holder commits, a new
    writer can begin."""
    path = tmp_path / "busy.dump"
    gen0 = snap.setup(str(path))
    with Proc("hold", path) as holder:
        assert holder.line() == "holding"
        with Proc("try-begin", path) as other:
            answer = other.line().split()
            assert answer[0] == "busy", answer
            assert float(answer[1]) < 1.0, answer       # not a wait on the lock
            assert other.finish()[0] == 0
            print(f"\nbusy: the second writer's begin() failed after {float(answer[1]) * 1e6:.0f} us")
        with L.Store(str(path), L.WRITE) as s:
            t = time.monotonic()
            with pytest.raises(BusyError):
                s.begin()
            assert time.monotonic() - t < 1.0
            assert not s.in_txn
            assert s.info()["generation"] == gen0
            with pytest.raises(KeyError):
                s.get(0, 10**6)                            # uncommitted: invisible
            holder.send()
            assert holder.line() == "released"
            assert holder.finish()[0] == 0
            s.begin()                                      # the lock is free again
            assert s.get(0, 10**6) == b"uncommitted"       # now committed
            s.abort()
    with Proc("try-begin", path) as other:
        assert other.line() == "began"


def _rewrite_all(s, n):
    """One commit that replaces every value (each in an extent) and returns
    the file length in blocks afterwards."""
    s.begin()
    for k in range(40):
        s.put(0, k, bytes([n % 256]) * 2000)
    s.commit()
    return s.info()["nblocks"]


def test_reader_in_another_process_pins_its_blocks(tmp_path):
    """Blocks freed by a commit are reused only once no reader can still
    see them: with a reader process holding an old snapshot, every commit
    that rewrites the data must grow the file; after the reader closes,
    the next commits reuse the freed blocks and the file stops growing."""
    path = str(tmp_path / "pinned.dump")
    with L.Store(path, L.CREATE | L.WRITE) as s:
        s.begin()
        s.tree_create(0, L.KEY_INT)
        s.commit()
        # Steady state without readers: the file length settles.
        sizes = [_rewrite_all(s, n) for n in range(6)]
        steady = sizes[-1]
        assert sizes[-3:] == [steady] * 3, sizes

        with Proc("pin", path) as pin:
            assert pin.line().split() == ["pinned", str(s.info()["generation"])]
            grown = [_rewrite_all(s, n) for n in range(6, 16)]
            # The first commit may reuse what the pinned snapshot's own
            # commit freed (the reader cannot see it). From then on every
            # commit writes its 40 new extents past the end: nothing the
            # pinned reader can see -- nor anything freed after its
            # snapshot -- is reused.
            assert grown[0] <= steady + 2, (steady, grown)
            for before, after in zip(grown, grown[1:]):
                assert after >= before + 40, (steady, grown)
            s.begin()
            assert s.info()["pending_blocks"] >= 10 * 40
            s.abort()
            s.check()
            pin.send()
            assert pin.line() == "intact"      # its snapshot survived all that
            assert pin.finish()[0] == 0

        peak = grown[-1]
        after = [_rewrite_all(s, n) for n in range(16, 26)]
        # The reader is gone: freed blocks are reused, the file grows no more.
        assert max(after) <= peak, (peak, after)
        assert after[-3:] == [after[-1]] * 3, after
        # ... and the free tail is trimmed: back to the unpinned length.
        assert after[-1] <= steady + 2, (steady, after)
        s.check()
        print(f"\npinning: steady {steady} blocks, pinned growth to {peak}, after release {after}")
