"""Corruption: a damaged dump gives a typed error, never a crash, a hang or a wrong value.

The damage is applied to a small dump of a few commits (int and byte-string
trees, values inline and in extents, long keys, an empty tree):

- every single-bit flip of both header slots (2 x 4096 x 8 = 65536 flips);
- a seeded sample of single-bit flips in every other block (tree nodes, value
  and key extents, the free-space record, free and pending blocks);
- truncation at every block boundary and at a few other lengths;
- a header slot of a future major version;
- a committed corpus of corrupt files (tests/data/corrupt/), each paired with
  the error it must raise.

Every probe opens the damaged file read-only and reads everything (a full
scan of every tree, extent values and long keys included, then check()),
then opens it for writing, begins and aborts a transaction. Acceptable: a
typed error (CorruptDumpError, UnsupportedVersionError, DumpIOError) or
content equal to a committed snapshot, exactly; and the file's bytes never
change. The probes run in child processes (this file run as a script), so a
segfault, an abort or a hang in the C core fails the test, naming the probe
in progress, instead of killing pytest.
"""
import itertools
import json
import os
import pickle
import random
import re
import signal
import struct
import subprocess
import sys
import tempfile
import time
import zlib

import pytest

from incrdump import _lowlevel as ll
from incrdump._lowlevel import ffi, lib
from incrdump.errors import (
    CorruptDumpError,
    DumpIOError,
    MisuseError,
    UnsupportedVersionError,
)

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
CORPUS = os.path.join(HERE, "data", "corrupt")

BLOCK = 4096
TYPED = (CorruptDumpError, UnsupportedVersionError, DumpIOError)
INT, BYTES = ll.KEY_INT, ll.KEY_BYTES

# A child's watchdog is re-armed every WATCHDOG_PROBES probes (~1 ms each);
# if they take over WATCHDOG_SECONDS, the child reports a hang and exits.
# CHILD_TIMEOUT is the parent's limit for a whole child.
WATCHDOG_PROBES = 256
WATCHDOG_SECONDS = 60
CHILD_TIMEOUT = 600
_job_numbers = itertools.count()


# ---- the dump under test -----------------------------------------------------


def freeze(model):
    """{tree: (key_type, {key: value})} -> {tree: (key_type, count, sorted items)},
    the form read_everything() returns (Python's bytes order is the dump's)."""
    return {t: (kt, len(d), sorted(d.items())) for t, (kt, d) in model.items()}


def build_dump(path):
    """Write the test dump at path; return {generation: frozen model}.

    gen 1 is the empty file; 2 loads the trees (height 2 int tree, long keys,
    extent values, an empty key, an empty tree) and a 20-block value; 3 drops
    that value, leaving a hole later commits only partly reuse (free blocks in
    the last snapshot); 4 and 5 change entries of every kind, so the last
    commit has pending blocks, and its predecessor is still intact on disk.
    """
    rng = random.Random(20240611)
    model, models = {}, {1: {}}
    s = ll.Store(path, ll.WRITE | ll.CREATE)

    def put(t, k, v):
        s.put(t, k, v)
        model[t][1][k] = v

    def delete(t, k):
        s.delete(t, k)
        del model[t][1][k]

    def commit():
        s.commit()
        models[s.info()["generation"]] = freeze(model)

    s.begin()
    for t, kt in ((0, INT), (7, BYTES), (63, BYTES)):
        s.tree_create(t, kt)
        model[t] = (kt, {})
    for _ in range(220):
        put(0, rng.randrange(-(2**62), 2**62), rng.randbytes(rng.choice((0, 3, 12, 30, 60))))
    put(0, -(2**63), b"smallest")
    put(0, 2**63 - 1, rng.randbytes(1500))
    put(0, 10**15, rng.randbytes(20 * 4080))          # 20 blocks, dropped in gen 3
    for n in (769, 4080, 4081, 9000):
        put(0, n, rng.randbytes(n))
    put(7, b"", b"the empty key")
    for i in range(30):
        put(7, b"Page/%04d" % i, rng.randbytes(rng.choice((0, 20, 200, 768))))
    for n in (513, 1000, 4081):
        put(7, b"K" * n, b"long key %d" % n)
    for i in range(4):
        put(7, b"Media/%d" % i, rng.randbytes(rng.choice((800, 5000))))
    commit()

    s.begin()
    delete(0, 10**15)
    put(0, 4080, b"now inline")
    commit()

    for gen in (4, 5):
        s.begin()
        for k in rng.sample(sorted(model[0][1]), 10):
            delete(0, k)
        for _ in range(10):
            put(0, rng.randrange(-(2**62), 2**62), b"gen %d" % gen)
        put(0, 9000, rng.randbytes(3000 + gen))
        put(7, b"Page/%04d" % gen, rng.randbytes(900))
        put(7, b"K" * (600 + gen), b"long key of gen %d" % gen)
        delete(7, b"Media/%d" % (gen - 3))
        commit()
    s.close()
    return models


def slot_fields(block):
    """The fields of a header slot image the tests need (blockfile.c offsets)."""
    major, minor = struct.unpack_from("<HH", block, 24)
    gen, = struct.unpack_from("<Q", block, 32)
    nblocks, = struct.unpack_from("<Q", block, 56)
    trees = {}
    for i in range(64):
        root, count, height, kt = struct.unpack_from("<QQBB", block, 96 + 24 * i)
        if kt:
            trees[i] = (root, count, height)
    return {"major": major, "minor": minor, "gen": gen, "nblocks": nblocks, "trees": trees}


def restamp(block, no):
    """block with its checksum redone, as blockfile.c computes it: crc32 over
    the 8-byte little-endian block number, then bytes 4..4095."""
    b = bytearray(block)
    b[0:4] = struct.pack("<I", zlib.crc32(bytes(b[4:]), zlib.crc32(struct.pack("<Q", no))))
    return bytes(b)


class Fixture:
    """The pristine dump, its models, and facts about its last snapshot."""

    def __init__(self, root):
        self.root = root
        self.path = os.path.join(root, "pristine.dump")
        self.models = build_dump(self.path)
        with open(self.path, "rb") as f:
            self.data = f.read()
        self.m = max(self.models)
        self.m_slot = self.m % 2
        self.newest = slot_fields(self.data[self.m_slot * BLOCK:(self.m_slot + 1) * BLOCK])
        self.nblocks = self.newest["nblocks"]
        with ll.Store(self.path) as s:
            self.check = s.check()
        self.models_path = os.path.join(root, "models.pickle")
        with open(self.models_path, "wb") as f:
            pickle.dump(self.models, f)
        self.seq = 0

    def run(self, jobs):
        """run_children with this dump as the pristine file and its models."""
        return run_children(self.root, self.models_path, jobs, self.path)

    def work(self, name, data):
        """Write data to a fresh file under the fixture's directory; its path."""
        self.seq += 1
        path = os.path.join(self.root, "%s-%d.dump" % (name, self.seq))
        with open(path, "wb") as f:
            f.write(data)
        return path


@pytest.fixture(scope="module")
def dump(tmp_path_factory):
    return Fixture(str(tmp_path_factory.mktemp("corruption")))


# ---- probing (runs in the child) ---------------------------------------------


def read_everything(s):
    """{tree: (key_type, count, [(key, value), ...])} of the handle's snapshot:
    tree_stat, then a forward cursor scan of every tree. Calls lib directly
    (through the one _check gate) because this runs ~70,000 times."""
    h = s.handle
    kt, cnt = ffi.new("int *"), ffi.new("uint64_t *")
    cp = ffi.new("StoreCursor **")
    ik, kp, kl = ffi.new("int64_t *"), ffi.new("const uint8_t **"), ffi.new("size_t *")
    vp, vl = ffi.new("const uint8_t **"), ffi.new("size_t *")
    buf, check = ffi.buffer, ll._check
    out = {}
    for t in range(ll.MAX_TREES):
        check(lib.store_tree_stat(h, t, kt, cnt), h)
        if not kt[0]:
            continue
        check(lib.store_cursor_open(h, t, cp), h)
        c, items, is_int = cp[0], [], kt[0] == INT
        try:
            rc = lib.store_cursor_first(c)
            while rc == ll.OK:
                if is_int:
                    check(lib.store_cursor_key_int(c, ik), h)
                    key = ik[0]
                else:
                    check(lib.store_cursor_key_bytes(c, kp, kl), h)
                    key = buf(kp[0], kl[0])[:]
                check(lib.store_cursor_value(c, vp, vl), h)
                items.append((key, buf(vp[0], vl[0])[:]))
                rc = lib.store_cursor_next(c)
            if rc != ll.NOTFOUND:
                check(rc, h)
        finally:
            lib.store_cursor_close(c)
        out[t] = (kt[0], cnt[0], items)
    return out


def probe(path, models, allowed):
    """Damage-probe one file. Returns a dict:

    outcome  "gen N" (read everything, equal to model N, check() passed) or
             the name of the typed error class raised first;
    stage    where that error surfaced: open, read, check (read-only
             handle), wopen, begin (handle opened with STORE_WRITE);
    message  its message;
    fail     None, or why this outcome is unacceptable: an untyped
             exception, content equal to no allowed model, a write handle
             refusing a file that read clean (other than for a newer
             minor version).
    allowed: generations whose content is acceptable; None = any content.
    """
    r = {"outcome": None, "stage": None, "message": "", "fail": None}

    def typed(stage, e):
        r.update(outcome=type(e).__name__, stage=stage, message=str(e))

    def untyped(stage, e):
        r["fail"] = "untyped %s at %s: %s" % (type(e).__name__, stage, e)

    stage = "open"
    try:
        s = ll.Store(path)
        try:
            stage = "read"
            gen = s.info()["generation"]
            content = read_everything(s)
            stage = "check"
            s.check()
        finally:
            s.close()
        if allowed is None:
            r["outcome"] = "gen %d" % gen
        else:
            match = [g for g in allowed if models[g] == content]
            if match != [gen]:
                r["fail"] = "wrong content: snapshot of generation %d reads as %s" % (
                    gen, "model %s" % match if match else "no allowed model %s" % sorted(allowed))
            r["outcome"] = "gen %d" % gen
    except TYPED as e:
        typed(stage, e)
    except Exception as e:  # noqa: BLE001 -- the point of the test
        untyped(stage, e)
        return r

    read_clean = r["outcome"].startswith("gen ")
    stage = "wopen"
    try:
        s = ll.Store(path, ll.WRITE)
        try:
            stage = "begin"
            s.begin()
            s.abort()
        finally:
            s.close()
    except TYPED as e:
        if read_clean and not (stage == "begin" and isinstance(e, UnsupportedVersionError)):
            r["fail"] = r["fail"] or "read clean, but %s at %s: %s" % (type(e).__name__, stage, e)
        elif r["stage"] is None:
            typed(stage, e)     # a newer minor: readable, but no writer may begin
    except Exception as e:  # noqa: BLE001
        untyped(stage, e)
    return r


def child_main(job_path):
    """Run one job (a JSON file written by run_children) and write its result."""
    import faulthandler

    with open(job_path) as f:
        job = json.load(f)
    with open(job["models"], "rb") as f:
        models = pickle.load(f)
    progress = os.open(job["progress"], os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)

    def note(text):
        os.pwrite(progress, text.encode().ljust(256)[:256], 0)

    result = {"probes": 0, "outcomes": {}, "by_block": {}, "files": {}, "nfail": 0, "failures": []}

    def record(desc, r, block=None, expect_file=None, path=None):
        result["probes"] += 1
        label = r["outcome"]
        result["outcomes"][label] = result["outcomes"].get(label, 0) + 1
        if block is not None:
            per = result["by_block"].setdefault(str(block), {})
            per[label] = per.get(label, 0) + 1
        if expect_file is not None:
            with open(path, "rb") as f:
                if f.read() != expect_file:
                    r["fail"] = r["fail"] or "the file's bytes changed"
        if r["fail"]:
            result["nfail"] += 1
            if len(result["failures"]) < 25:
                result["failures"].append("%s: %s (outcome %s at %s: %s)" % (
                    desc, r["fail"], label, r["stage"], r["message"][:200]))

    def run_probe(desc, path, allowed):
        note(desc)
        if result["probes"] % WATCHDOG_PROBES == 0:   # (re-arming costs ~0.15 ms)
            faulthandler.dump_traceback_later(WATCHDOG_SECONDS, exit=True)
        return probe(path, models, allowed)

    kind = job["kind"]
    if kind == "flips":
        # Flip bits of a private copy in place, probe, put the byte back.
        image = bytearray(open(job["pristine"], "rb").read())
        path = job["work"]
        with open(path, "wb") as f:
            f.write(image)
        fd = os.open(path, os.O_RDWR)
        flips = job.get("flips") or [(i // 8, i % 8) for i in range(*job["bit_range"])]
        for off, bit in flips:
            old = image[off]
            image[off] = old ^ (1 << bit)
            os.pwrite(fd, bytes([image[off]]), off)
            desc = "bit %d of byte %d of block %d" % (bit, off % BLOCK, off // BLOCK)
            r = run_probe(desc, path, job["allowed"])
            record(desc, r, off // BLOCK, bytes(image), path)
            image[off] = old
            os.pwrite(fd, bytes([old]), off)
        os.close(fd)
    elif kind == "sizes":
        pristine = open(job["pristine"], "rb").read()
        tail = random.Random(7).randbytes(8 * BLOCK)
        path = job["work"]
        for size, allowed in job["sizes"]:
            image = pristine[:size] + tail[:max(0, size - len(pristine))]
            with open(path, "wb") as f:
                f.write(image)
            desc = "file cut to %d bytes" % size if size < len(pristine) else \
                "file grown to %d bytes" % size
            record(desc, run_probe(desc, path, allowed), None, image, path)
    elif kind == "files":
        for path in job["paths"]:
            image = open(path, "rb").read()
            r = run_probe(path, path, None)
            record(os.path.basename(path), r, None, image, path)
            result["files"][path] = r
    faulthandler.cancel_dump_traceback_later()
    note("done")
    with open(job["result"], "w") as f:
        json.dump(result, f)


# ---- running children (pytest side) ---------------------------------------------


def run_children(root, models_path, jobs, pristine=None):
    """Run each job in its own child process, concurrently, with scratch
    files under root; return the results. A child killed by a signal,
    exiting non-zero or running past CHILD_TIMEOUT fails the test, naming
    the probe it was running; so does any unacceptable outcome."""
    procs = []
    for job in jobs:
        base = os.path.join(root, "job%d" % next(_job_numbers))
        job = dict(job, models=models_path, pristine=pristine, work=base + ".dump",
                   progress=base + ".progress", result=base + ".result")
        with open(base + ".json", "w") as f:
            json.dump(job, f)
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            p for p in (REPO, os.environ.get("PYTHONPATH")) if p))
        err = open(base + ".stderr", "w+")
        p = subprocess.Popen([sys.executable, "-X", "faulthandler", os.path.abspath(__file__),
                              "child", base + ".json"], stdout=err, stderr=err, env=env)
        procs.append((p, job, err))
    deadline = time.monotonic() + CHILD_TIMEOUT
    results, problems = [], []
    for p, job, err in procs:
        try:
            rc = p.wait(timeout=max(1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
            rc = p.wait()
            rc = "timeout"
        doing = ""
        if os.path.exists(job["progress"]):
            with open(job["progress"], "rb") as f:
                doing = f.read().decode(errors="replace").strip()
        err.seek(0)
        stderr = err.read()[-3000:]
        err.close()
        if rc == "timeout":
            problems.append("child hung (over %ds) while probing: %s" % (CHILD_TIMEOUT, doing))
        elif rc < 0:
            problems.append("child killed by %s while probing: %s\n%s" % (
                signal.Signals(-rc).name, doing, stderr))
        elif "Timeout (" in stderr:      # the child's faulthandler watchdog
            problems.append("child hung while probing: %s\n%s" % (doing, stderr))
        elif rc != 0:
            problems.append("child exited with status %d while probing: %s\n%s" % (
                rc, doing, stderr))
        else:
            with open(job["result"]) as f:
                results.append(json.load(f))
    assert not problems, "\n\n".join(problems)
    nfail = sum(r["nfail"] for r in results)
    failures = [x for r in results for x in r["failures"]]
    assert nfail == 0, "%d unacceptable outcomes; the first:\n%s" % (
        nfail, "\n".join(failures[:25]))
    return results


def merged(results, key):
    """Sum the children's "outcomes" or "by_block" counts; union their "files"."""
    out = {}
    for r in results:
        for k, v in r[key].items():
            if key == "files":
                out[k] = v
            elif isinstance(v, dict):
                d = out.setdefault(k, {})
                for label, n in v.items():
                    d[label] = d.get(label, 0) + n
            else:
                out[k] = out.get(k, 0) + v
    return out


def workers():
    return max(1, min(4, os.cpu_count() or 1))


# ---- the tests -----------------------------------------------------------------


def test_fixture_is_what_the_other_tests_assume(dump):
    """The dump has what the damage tests rely on: both snapshots readable
    and different, free and pending blocks, branch nodes, no free tail."""
    m = dump.m
    assert m == 5 and dump.models[m] != dump.models[m - 1]
    with ll.Store(dump.path) as s:
        assert read_everything(s) == dump.models[m]
    assert dump.check["free_blocks"] > 0 and dump.check["pending_blocks"] > 0
    assert dump.check["nblocks"] == dump.nblocks and len(dump.data) == dump.nblocks * BLOCK
    assert dump.newest["trees"][0][2] >= 2            # int tree: a branch over leaves
    assert dump.newest["trees"][63] == (0, 0, 0)      # an empty tree
    # Without the newest slot, the previous commit reads back whole: the
    # fallback the header flips rely on (a torn header write looks the same).
    data = bytearray(dump.data)
    data[dump.m_slot * BLOCK:(dump.m_slot + 1) * BLOCK] = bytes(BLOCK)
    with ll.Store(dump.work("no-newest-slot", data)) as s:
        assert s.info()["generation"] == m - 1
        assert read_everything(s) == dump.models[m - 1]
        s.check()


def test_every_header_bit_flip(dump):
    """All 65536 single-bit flips of blocks 0 and 1.

    A damaged slot is rejected (CRC-32 detects every single-bit error, and
    the magic is checked first), so the reader falls back to the other slot
    exactly as after a torn header write. Hence the outcome is determined:
    a flip in the newest slot (generation m) reads snapshot m - 1, a flip in
    the older slot reads snapshot m -- content equal to that model, check()
    clean. Anything else (a typed error included) fails here, because both
    snapshots are intact (test_fixture_is_what_the_other_tests_assume)."""
    total = 2 * BLOCK * 8
    n = workers()
    edges = [total * i // n for i in range(n + 1)]
    jobs = [{"kind": "flips", "bit_range": [edges[i], edges[i + 1]],
             "allowed": [dump.m, dump.m - 1]} for i in range(n)]
    results = dump.run(jobs)
    assert sum(r["probes"] for r in results) == total
    by_block = merged(results, "by_block")
    assert by_block[str(dump.m_slot)] == {"gen %d" % (dump.m - 1): BLOCK * 8}
    assert by_block[str(1 - dump.m_slot)] == {"gen %d" % dump.m: BLOCK * 8}


def test_sampled_bit_flips_in_every_other_block(dump):
    """A seeded sample of single-bit flips in every block past the header:
    8 in its 16-byte block header, 40 in its payload area.

    Checksums cover every block and a full read plus check() reads every
    live block, so a flip in a live block must raise CorruptDumpError; a flip
    in a free or pending block changes nothing (snapshot m, check() clean).
    No fallback to m - 1 is possible (the header is intact). So, per block,
    all flips agree, and the blocks that read clean are exactly as many as
    check() counts free and pending."""
    rng = random.Random(99)
    flips = []
    for b in range(2, dump.nblocks):
        base = b * BLOCK
        flips += [(base + rng.randrange(16), rng.randrange(8)) for _ in range(8)]
        flips += [(base + rng.randrange(16, BLOCK), rng.randrange(8)) for _ in range(40)]
    n = workers()
    jobs = [{"kind": "flips", "flips": flips[i::n], "allowed": [dump.m]} for i in range(n)]
    results = dump.run(jobs)
    assert sum(r["probes"] for r in results) == len(flips)
    clean, damaged = set(), set()
    for block, labels in merged(results, "by_block").items():
        assert len(labels) == 1, "block %s: flips disagree: %s" % (block, labels)
        label, = labels
        if label == "gen %d" % dump.m:
            clean.add(int(block))
        else:
            assert label == "CorruptDumpError", "block %s: %s" % (block, labels)
            damaged.add(int(block))
    assert len(clean) == dump.check["free_blocks"] + dump.check["pending_blocks"]
    assert len(damaged) == dump.check["live_blocks"] - 2     # live includes the slots


def test_truncation_at_every_block_boundary(dump):
    """The file cut at every block boundary and at a few other lengths.

    A commit trims free tail blocks, so the file ends at the last snapshot's
    nblocks and every cut removes something the snapshot needs: a typed
    error. Bytes past nblocks (a crashed commit's leftovers) are ignored:
    a file grown with junk reads as snapshot m."""
    size = len(dump.data)
    cuts = sorted(set(range(0, size, BLOCK)) | {1, 100, BLOCK - 1, BLOCK + 1, 2 * BLOCK + 17,
                                                size // 2 + 3, size - BLOCK + 1, size - 1})
    sizes = [[c, []] for c in cuts] + [[size + g, [dump.m]] for g in (1, BLOCK, 3 * BLOCK + 5)]
    results = dump.run([{"kind": "sizes", "sizes": sizes[i::2]} for i in range(2)])
    assert sum(r["probes"] for r in results) == len(sizes)
    outcomes = merged(results, "outcomes")
    assert outcomes.get("gen %d" % dump.m) == 3
    assert sum(n for label, n in outcomes.items() if label in
               ("CorruptDumpError", "DumpIOError", "UnsupportedVersionError")) == len(cuts)


def version_variant(dump, slots, major=None, minor=None):
    """The dump with the version fields of the given slots changed and their
    checksums redone (a slot written by another build, not damage)."""
    data = bytearray(dump.data)
    for no in slots:
        block = bytearray(data[no * BLOCK:(no + 1) * BLOCK])
        if major is not None:
            block[24:26] = struct.pack("<H", major)
        if minor is not None:
            block[26:28] = struct.pack("<H", minor)
        data[no * BLOCK:(no + 1) * BLOCK] = restamp(block, no)
    return bytes(data)


def test_future_versions(dump):
    """A major version this build does not know refuses the file with
    UnsupportedVersionError naming the version -- in both slots, or in the
    newest slot only (falling back would let a writer overwrite it). In the
    older slot only, the newest slot rules. A newer minor reads, but a
    writer refuses to begin."""
    m_slot, old_slot = dump.m_slot, 1 - dump.m_slot
    cases = {
        "major2_both": (version_variant(dump, (0, 1), major=2), "UnsupportedVersionError", "open",
                        r"version 2\.0\b"),
        "major2_newest": (version_variant(dump, (m_slot,), major=2, minor=3),
                          "UnsupportedVersionError", "open", r"version 2\.3\b"),
        "major0_both": (version_variant(dump, (0, 1), major=0), "UnsupportedVersionError", "open",
                        r"version 0\.0\b"),
        "major2_older": (version_variant(dump, (old_slot,), major=2), "gen %d" % dump.m, None, ""),
        "minor1_both": (version_variant(dump, (0, 1), minor=1), "UnsupportedVersionError", "begin",
                        r"1\.1"),
    }
    paths = {name: dump.work(name, data) for name, (data, *_) in cases.items()}
    files = merged(dump.run([{"kind": "files", "paths": list(paths.values())}]), "files")
    for name, (_, outcome, stage, pattern) in cases.items():
        r = files[paths[name]]
        assert (r["outcome"], r["stage"]) == (outcome, stage), (name, r)
        assert re.search(pattern, r["message"]), (name, r["message"])
    # A newer minor is otherwise the same dump: it reads the same content.
    with ll.Store(paths["minor1_both"]) as s:
        assert read_everything(s) == dump.models[dump.m]


def test_failed_write_transaction_leaves_the_file_alone(dump):
    """On a dump that opens but has a damaged leaf, a write transaction that
    hits the damage fails, is poisoned (commit refuses and aborts), and not a
    byte of the file changes."""
    root = dump.newest["trees"][7][0]     # every access to tree 7 reads its root
    data = bytearray(dump.data)
    data[root * BLOCK + 100] ^= 0x10
    path = dump.work("damaged-root", data)
    with ll.Store(path, ll.WRITE) as s:
        s.begin()
        with pytest.raises(CorruptDumpError, match=r"block %d\b.*checksum" % root):
            s.put(7, b"Page/0001", b"new value")
        with pytest.raises(MisuseError):
            s.commit()
        assert not s.in_txn
        with pytest.raises(CorruptDumpError):
            s.get(7, b"Page/0002")
    with open(path, "rb") as f:
        assert f.read() == bytes(data)


# The corrupt-file corpus: each file, made by tests/data/corrupt/make_corpus.py,
# paired with the error it must raise, where it surfaces first (open, read =
# scanning the trees, check, begin = a write transaction) and what its message
# must say.
CORPUS_TABLE = [
    ("empty.dump", CorruptDumpError, "open", r"empty file"),
    ("not_a_dump.txt", CorruptDumpError, "open", r"not an incrdump file"),
    ("short.dump", CorruptDumpError, "open", r"not an incrdump file \(only 100 bytes\)"),
    ("bad_magic.dump", CorruptDumpError, "open", r"slot 0: not an incrdump.*slot 1: not an"),
    ("header_checksum.dump", CorruptDumpError, "open", r"slot 0: checksum mismatch.*slot 1: che"),
    ("header_bad_root.dump", CorruptDumpError, "open", r"invalid tree root record"),
    ("future_major.dump", UnsupportedVersionError, "open", r"unsupported format version 2\.0"),
    ("future_minor.dump", UnsupportedVersionError, "begin", r"format 1\.1 is newer"),
    ("truncated.dump", CorruptDumpError, "open", r"truncated"),
    ("leaf_checksum.dump", CorruptDumpError, "read", r"block \d+ \(offset \d+\): checksum"),
    ("leaf_keys_unsorted.dump", CorruptDumpError, "read", r"block \d+: tree node: keys not incr"),
    ("leaf_wrong_level.dump", CorruptDumpError, "read", r"block \d+: node at level 1, expected 0"),
    ("value_extent_checksum.dump", CorruptDumpError, "read", r"block \d+ .*checksum mismatch"),
    ("long_key_checksum.dump", CorruptDumpError, "read", r"block \d+ .*checksum mismatch"),
    ("freespace_padding.dump", CorruptDumpError, "check", r"free-space record: nonzero padding"),
    ("block_unaccounted.dump", CorruptDumpError, "check", r"block \d+ is neither used nor free"),
]


def test_corrupt_corpus_files_raise_their_error():
    """Each corpus file raises its paired error, where the table says, with a
    message that names the defect -- and its bytes stay as they were."""
    names = sorted(n for n in os.listdir(CORPUS)
                   if os.path.isfile(os.path.join(CORPUS, n)) and not n.endswith(".py"))
    assert names == sorted(n for n, *_ in CORPUS_TABLE), "corpus and table disagree"
    paths = [os.path.join(CORPUS, n) for n, *_ in CORPUS_TABLE]

    with tempfile.TemporaryDirectory() as tmp:
        models_path = os.path.join(tmp, "models.pickle")
        with open(models_path, "wb") as f:
            pickle.dump({}, f)
        results = run_children(tmp, models_path, [{"kind": "files", "paths": paths}])
    files = merged(results, "files")
    for (name, cls, stage, pattern), path in zip(CORPUS_TABLE, paths):
        r = files[path]
        assert (r["outcome"], r["stage"]) == (cls.__name__, stage), (name, r)
        assert re.search(pattern, r["message"]), (name, r["message"])


if __name__ == "__main__" and len(sys.argv) == 3 and sys.argv[1] == "child":
    child_main(sys.argv[2])
