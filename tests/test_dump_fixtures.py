"""Every revision of every real dump reads back exactly from an incrdump dump.

Each file of ../shared/data/real (the ``bad-`` ones aside) and the benchmark
corpus is loaded into a history dump; every page and revision is then read
back and compared with what the XML reader gives for the same file: the text
byte for byte, the sha1 as the XML states it, and -- wherever the source's
sha1 does describe its own text -- the SHA-1 of the text read back. Also
here: a full scan of the corpus keeps memory flat, and a damaged text frame
is a CorruptDumpError, never wrong text.
"""
import os
import pathlib
import random
import subprocess
import sys
import textwrap

import pytest

import incrdump
from incrdump import _lowlevel as L
from incrdump.errors import CorruptDumpError
from incrdump.load import load
from incrdump.sources import open_source
from incrdump.xmlread import XMLReader, sha1_base36

DATA = pathlib.Path(__file__).resolve().parents[2] / "shared" / "data"
REAL = DATA / "real"
CORPUS = DATA / "bench" / "peps-history.xml.xz"
FIXTURES = sorted(p.name for p in REAL.glob("*.xml*")
                  if not p.name.startswith("bad-") and "index" not in p.name)
TEXT_TREE = 5   # docs/format.md "Dump layout"


def source_revisions(path):
    """{rev id: (page id, ns, title, Revision)} from the XML, texts included."""
    out = {}
    with XMLReader(open_source(str(path)), allow_control_chars=True) as reader:
        for page in reader:
            for rev in page:
                out[rev.id] = (page.id, page.namespace, page.title, rev)
    return out


def compare(dump_path, path):
    """Compare a dump with its source; returns (revisions, sha1-checked texts)."""
    want = source_revisions(path)
    checked = 0
    with incrdump.open(dump_path) as dump:
        got = 0
        for page in dump:
            for rev in page:
                got += 1
                pid, ns, title, src = want[rev.id]
                assert (page.id, page.namespace, page.title) == (pid, ns, title)
                assert rev.parent_id == src.parent_id
                assert rev.timestamp == src.timestamp
                assert rev.timestamp_text == src.timestamp_text
                assert rev.minor == src.minor
                assert rev.comment == src.comment
                assert tuple(rev.deleted) == tuple(src.deleted)
                assert rev.sha1 == src.sha1
                su, du = src.user, rev.user
                if su is None:
                    assert du is None or (du.name, du.id, du.ip) == (None, None, None)
                else:
                    assert (du.name, du.id, du.ip, du.deleted) == (su.name, su.id, su.ip,
                                                                  su.deleted)
                assert list(rev.slots) == list(src.slots)
                for role, ss in src.slots.items():
                    ds = rev.slots[role]
                    assert (ds.model, ds.format, ds.origin, ds.sha1, ds.bytes) == (
                        ss.model, ss.format, ss.origin, ss.sha1, ss.bytes)
                    assert ds.text == ss.text, f"rev {rev.id} slot {role}: text differs"
                    sha = ss.sha1 or (src.sha1 if role == "main" else None)
                    if ss.text is not None and sha and sha1_base36(ss.text.encode()) == sha:
                        assert sha1_base36(ds.text.encode()) == sha
                        checked += 1
        assert got == len(want)
    return got, checked


@pytest.mark.parametrize("name", FIXTURES)
def test_real_fixture_reads_back_exactly(tmp_path, name):
    dump_path = str(tmp_path / "f.idump")
    kind = "stub" if name.startswith("stub-") else "history"  # stubs carry no text
    load(dump_path, str(REAL / name), kind=kind, allow_control_chars=True)
    revs, checked = compare(dump_path, REAL / name)
    with incrdump.open(dump_path) as dump:
        dump.check()
        assert dump.info()["revisions"] == revs
    if revs and "stub" not in name and "0.3" not in name:   # 0.3 has no <sha1>
        assert checked > 0


@pytest.fixture(scope="module")
def corpus_dump(tmp_path_factory):
    if not CORPUS.exists():
        pytest.skip("benchmark corpus not present")
    path = str(tmp_path_factory.mktemp("corpus") / "peps.idump")
    load(path, str(CORPUS), allow_control_chars=True)
    return path


def test_corpus_reads_back_exactly(corpus_dump):
    revs, checked = compare(corpus_dump, CORPUS)
    assert revs == 17815
    assert checked == 17815          # every corpus sha1 describes its text


def test_corpus_random_access_by_id(corpus_dump):
    want = source_revisions(CORPUS)
    ids = random.Random(3).sample(sorted(want), 500)
    with incrdump.open(corpus_dump) as dump:
        for rid in ids:
            pid, _, title, src = want[rid]
            rev = dump.revision(rid)
            assert rev.page_id == pid and rev.text == src.text
            assert dump.page_by_title(title).id == pid


SCAN = textwrap.dedent("""
    import sys, incrdump
    def rss():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * 4096
    marks, n, total = [], 0, 0
    with incrdump.open(sys.argv[1]) as dump:
        for page in dump:
            for rev in page:
                total += len(rev.text)
                n += 1
                if n % 1000 == 0:
                    marks.append(rss())
    print(n, total, *marks)
""")


def test_corpus_full_scan_keeps_memory_flat(corpus_dump):
    out = subprocess.run([sys.executable, "-c", SCAN, corpus_dump], check=True,
                         capture_output=True, text=True).stdout.split()
    n, total, marks = int(out[0]), int(out[1]), [int(x) for x in out[2:]]
    assert n == 17815 and total > 300_000_000
    # After warm-up (caches filled by the first ~2,000 revisions), resident
    # memory may not grow with the amount read: < 32 MiB over ~370 MB of text.
    growth = max(marks[2:]) - marks[2]
    assert growth < 32 << 20, f"RSS grew by {growth >> 20} MiB during the scan: {marks}"


def small_dump(path):
    texts = ["first text " * 50, "first text " * 50 + "an edit", "first text " * 50]
    with incrdump.open(path, "w") as dump, dump.transaction() as txn:
        txn.put_page(id=1, title="A")
        for i, t in enumerate(texts):
            txn.put_revision(id=10 + i, page_id=1, timestamp="2020-01-01T00:00:0%dZ" % i,
                             text=t)
    return texts


def rewrite_text_entry(path, rev, change):
    """Change the stored text frame of (page 1, rev, main slot) through the
    storage engine: the block checksums stay valid, only the frame is wrong."""
    key = (1 ^ (1 << 63)).to_bytes(8, "big") + (rev ^ (1 << 63)).to_bytes(8, "big") + b"\0"
    with L.Store(path, L.WRITE) as s:
        s.begin()
        s.put(TEXT_TREE, key, change(bytes(s.get(TEXT_TREE, key))))
        s.commit()


@pytest.mark.parametrize("rev", [10, 11, 12])
def test_corrupted_text_frame_is_corrupt_dump_error(tmp_path, rev):
    path = str(tmp_path / "c.idump")
    texts = small_dump(path)

    def flip_last(frame):
        return frame[:-1] + bytes([frame[-1] ^ 0x40])
    rewrite_text_entry(path, rev, flip_last)
    with incrdump.open(path) as dump:
        with pytest.raises(CorruptDumpError, match="text"):
            dump.revision(rev).text  # noqa: B018
        # the others are intact unless they depend on the damaged one
        for i, t in enumerate(texts):
            if 10 + i == rev:
                continue
            try:
                assert dump.revision(10 + i).text == t
            except CorruptDumpError:
                assert rev == 10   # 11 (a delta) and 12 (equal) depend on 10
        with pytest.raises(CorruptDumpError):
            dump.check()


def test_bit_flip_in_file_never_gives_wrong_text(tmp_path):
    path = str(tmp_path / "b.idump")
    texts = small_dump(path)
    data = pathlib.Path(path).read_bytes()
    rng = random.Random(7)
    for trial in range(60):
        pos = rng.randrange(2 * 4096, len(data))
        bad = bytearray(data)
        bad[pos] ^= 1 << rng.randrange(8)
        p = tmp_path / f"flip{trial}.idump"
        p.write_bytes(bad)
        try:
            with incrdump.open(str(p)) as dump:
                for i, t in enumerate(texts):
                    try:
                        got = dump.revision(10 + i).text
                    except (CorruptDumpError, KeyError):
                        continue
                    assert got == t
        except CorruptDumpError:
            pass
        os.unlink(p)
