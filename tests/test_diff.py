"""Diff dumps (issue 5, point 2): :mod:`incrdump.diff`, ``incrdump diff``,
``incrdump update --diff`` and ``incrdump apply`` (docs/diff.md).

- a chain: the aawiki history fixture split by date into a base and 30
  days (tests/helpers/daysplit.py); a sender updated day by day writes
  each day's diff as a by-product (DiffRecorder, as ``update --diff``)
  and ``write_diff(previous copy, sender)`` writes it again; two receivers
  apply one chain each. Every receiver exports the sender's bytes and a
  fresh import's, and passes check(); for a history and a current dump
  (whose diffs delta-encode new texts against the revisions they remove).
- wiki events: deletions, undeletion, moves (a swap, a chain, across
  namespaces), RevisionDelete and suppression, history merges, replaced
  and deleted revisions, carried by diffs of both kinds.
- refusals, each leaving the dump byte for byte as it was: another dump,
  another sequence, the same diff twice, every truncation, flipped bytes
  in header and body, a record whose own CRC fails inside a body whose
  checksum was made to match; ``incrdump diff`` of unrelated dumps.
- crash: a subprocess SIGKILLed in the middle of apply (after some
  records, right before the commit, at random moments) leaves the
  previous generation and sequence; applying again succeeds.
- the sequence number: 0 after import, +1 per update and per apply.
"""
import os
import pathlib
import random
import shutil
import signal
import struct
import subprocess
import sys
import textwrap
import time
import zlib

import pytest
import zstandard

import incrdump
from incrdump import cli, diff
from incrdump.changes import (
    DeletePage,
    DeleteRevision,
    HideRevision,
    MergeRevisions,
    MovePage,
    PutPage,
    PutRevision,
    write_changes,
)
from incrdump.diff import (
    AlreadyAppliedError,
    CorruptDiffError,
    DiffRecorder,
    WrongBaseError,
    apply,
    write_diff,
)
from incrdump.load import load
from incrdump.update import update

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "helpers"))
import daysplit  # noqa: E402
from dumpfiles import export_bytes, file_hash  # noqa: E402

DATA = HERE.parent.parent / "shared" / "data"
AAWIKI = DATA / "real" / "aawiki-20260101-pages-meta-history.xml.7z"
DAYS = 30

pytestmark = pytest.mark.skipif(not AAWIKI.exists(), reason="shared/data is not beside the repo")


def state(path):
    """(generation, sequence) of a dump."""
    with incrdump.Dump(str(path)) as d:
        return d.info()["generation"], d.sequence


def update_with_diff(dump, sources, out):
    """update() with the diff written as its by-product (what the CLI's
    --diff does)."""
    rec = DiffRecorder(str(out))
    try:
        stats = update(str(dump), sources, observer=rec)
    except BaseException:
        rec.discard()
        raise
    rec.publish()
    return stats


@pytest.fixture(scope="module")
def aasplit(tmp_path_factory):
    d = tmp_path_factory.mktemp("aasplit")
    base, days, _ = daysplit.split_by_date(str(AAWIKI), str(d), DAYS)
    return base, days


# ---- base + every diff equals the sender and a rebuild ------------------------------


@pytest.mark.parametrize("kind", ["history", "current"])
def test_chain_of_diffs_equals_rebuild(aasplit, tmp_path, kind):
    base, days = aasplit
    sender, prev = tmp_path / "sender.idump", tmp_path / "prev.idump"
    by_update, by_diff = tmp_path / "r1.idump", tmp_path / "r2.idump"
    load(str(sender), base, kind=kind)
    shutil.copy(sender, by_update)
    shutil.copy(sender, by_diff)
    gen0 = state(by_update)[0]
    assert state(sender)[1] == 0
    removed_bases = 0
    methods = set()
    for i, day in enumerate(days, 1):
        shutil.copy(sender, prev)
        stats = update_with_diff(sender, day, tmp_path / f"u{i}.idiff")
        assert stats["sequence"] == i
        write_diff(str(prev), str(sender), str(tmp_path / f"d{i}.idiff"))
        for out in (tmp_path / f"u{i}.idiff", tmp_path / f"d{i}.idiff"):
            h = diff.read_header(str(out))
            assert (h.from_sequence, h.to_sequence) == (i - 1, i)
        # the by-product and the comparison find the same records
        assert (tmp_path / f"u{i}.idiff").read_bytes() == (tmp_path / f"d{i}.idiff").read_bytes()
        st = apply(str(by_update), str(tmp_path / f"u{i}.idiff"))
        assert (st["from_sequence"], st["to_sequence"]) == (i - 1, i)
        apply(str(by_diff), str(tmp_path / f"d{i}.idiff"))
        removed_bases += _deltas_against_removed(tmp_path / f"u{i}.idiff")
        methods |= {t["method"] for name, v in diff.records(str(tmp_path / f"u{i}.idiff"))
                    if name == "PUT_REVISION" for t in v[1] if t}
        assert state(by_update) == (gen0 + i, i)
    want = export_bytes(sender)
    fresh = tmp_path / "fresh.idump"
    load(str(fresh), str(AAWIKI), kind=kind)
    assert export_bytes(fresh) == want
    for r in (by_update, by_diff):
        assert export_bytes(r) == want
        assert export_bytes(r, "stub") == export_bytes(sender, "stub")
        with incrdump.Dump(str(r)) as d:
            d.check()
            assert d.sequence == DAYS
    # (a current dump puts one revision per page: no previous text in the diff)
    assert {"STORED", "DELTA_BASE", "SAME_BASE"} | (
        {"DELTA_PREV"} if kind == "history" else set()) <= methods
    if kind == "current":
        # a current dump's diff stores the new latest text against the
        # revision it removes (the receiver still has it: seed 004)
        assert removed_bases > 0


def _deltas_against_removed(path):
    """Texts in the diff stored against a revision the same diff deletes."""
    deleted, refs = set(), []
    for name, v in diff.records(str(path)):
        if name == "DELETE_REVISION":
            deleted.add(v)
        elif name == "PUT_REVISION":
            refs += [t["rev"] for t in v[1] if t and t["method"] in ("DELTA_BASE", "SAME_BASE")]
    return sum(1 for r in refs if r in deleted)


def test_diff_texts_use_the_base(aasplit, tmp_path):
    """A day that edits existing pages is stored as deltas against the
    base: the diff is much smaller than its texts, and far smaller than
    the same revisions in XML compressed with xz."""
    import lzma

    base, days = aasplit
    sender = tmp_path / "s.idump"
    load(str(sender), base)
    for day in days[:20]:
        update(str(sender), day)
    shutil.copy(sender, tmp_path / "prev.idump")
    big = days[20]   # 2015-04-16: 500 KB of XML, mostly edits of existing pages
    update(str(sender), big)
    stats = write_diff(str(tmp_path / "prev.idump"), str(sender), str(tmp_path / "d.idiff"))
    assert stats["delta"] > stats["stored"] and stats["text_bytes"] > 300_000
    size = os.path.getsize(tmp_path / "d.idiff")
    assert size < stats["text_bytes"] // 10
    assert size < len(lzma.compress(pathlib.Path(big).read_bytes(), preset=9))
    methods = [t["method"] for name, v in diff.records(str(tmp_path / "d.idiff"))
               if name == "PUT_REVISION" for t in v[1] if t]
    # null revisions (moves) equal to their parent's text; later edits of
    # a page against its previous text in the diff
    assert {"SAME_BASE", "DELTA_PREV"} <= set(methods)


# ---- wiki events ------------------------------------------------------------------------


def test_wiki_events_carried_by_diffs(tmp_path):
    """Deletions, undeletion, moves, RevisionDelete, suppression, merges,
    replaced/deleted/added revisions: each day's diff (both kinds) brings
    a copy to the sender's exact state."""
    src = tmp_path / "orig.idump"
    load(str(src), str(AAWIKI))
    sender, prev = tmp_path / "sender.idump", tmp_path / "prev.idump"
    r1, r2 = tmp_path / "r1.idump", tmp_path / "r2.idump"
    for p in (sender, r1, r2):
        shutil.copy(src, p)

    with incrdump.Dump(str(src)) as d:
        pages = list(d)
        revs = {p.id: list(p) for p in pages}
        by_size = sorted(pages, key=lambda p: -len(revs[p.id]))
        main, talk, cat1, cat2 = by_size[0], by_size[1], by_size[5], by_size[7]
        users = [p for p in pages if p.namespace == 2 and p not in by_size[:8]]
        a, b, c = users[:3]
        gone1, gone2 = [p for p in pages if p.namespace == 3][:2]
        main_ids = [r.id for r in revs[main.id]]
        talk_ids = [r.id for r in revs[talk.id]]
        cat2_ids = [r.id for r in revs[cat2.id]]
        old = revs[talk.id][2]
        days = [
            [DeletePage(gone1.id), DeletePage(gone2.id),
             HideRevision(main_ids[1], text=True),
             HideRevision(main_ids[4], text=True, comment=True, user=True, suppressed=True),
             HideRevision(main_ids[5], comment=True), HideRevision(main_ids[7], user=True)],
            # a swap in three moves, a chain, a move across namespaces
            [MovePage(a.id, 2, "User:Parked"), MovePage(b.id, 2, a.title),
             MovePage(a.id, 2, b.title), MovePage(c.id, 2, "User:Elsewhere"),
             MovePage(cat1.id, 0, "Formerly a category")],
            # undeletion (page and revisions again), a history merge
            [PutPage(gone1)] + [PutRevision(r, gone1.id) for r in revs[gone1.id]]
            + [MergeRevisions(cat2_ids[:3], cat1.id)],
            # a revision replaced, one deleted, one added; a redirect set
            [PutRevision(incrdump.Revision(
                old.id, old.timestamp_text, parent_id=old.parent_id, user=old.user,
                comment="rewritten", text=old.text + "\nmore", minor=old.minor), talk.id),
             DeleteRevision(talk_ids[3]),
             PutRevision(incrdump.Revision(
                 10 ** 6, "2026-01-02T03:04:05Z", parent_id=talk_ids[-1],
                 user=incrdump.Contributor(ip="192.0.2.1"), comment="new",
                 text=revs[talk.id][-1].text + "\nan edit", model="wikitext",
                 format="text/x-wiki"), talk.id),
             PutPage(incrdump.Page(c.id, "User:Elsewhere", 2, redirect="User:Somewhere"))],
        ]
        for i, ops in enumerate(days, 1):
            write_changes(str(tmp_path / f"d{i}.ichanges"), ops)
    seen = set()
    for i in range(1, len(days) + 1):
        shutil.copy(sender, prev)
        update_with_diff(sender, [str(tmp_path / f"d{i}.ichanges")], tmp_path / f"u{i}.idiff")
        write_diff(str(prev), str(sender), str(tmp_path / f"w{i}.idiff"))
        assert (tmp_path / f"u{i}.idiff").read_bytes() == (tmp_path / f"w{i}.idiff").read_bytes()
        seen |= {name for name, _ in diff.records(str(tmp_path / f"u{i}.idiff"))}
        apply(str(r1), str(tmp_path / f"u{i}.idiff"))
        apply(str(r2), str(tmp_path / f"w{i}.idiff"))
        want = export_bytes(sender)
        assert export_bytes(r1) == want and export_bytes(r2) == want, f"day {i}"
    assert seen == {"DELETE_PAGE", "DELETE_REVISION", "PUT_PAGE", "PUT_REVISION"}
    for r in (r1, r2):
        with incrdump.Dump(str(r)) as d:
            d.check()
            assert d.page(a.id).title == b.title and d.page(b.id).title == a.title
            assert d.revision(main_ids[4]).text is None and d.revision(main_ids[4]).suppressed
            assert all(d.revision(x).page_id == cat1.id for x in cat2_ids[:3])
            assert d.get_page(gone2.id) is None and len(list(d.page(gone1.id))) == \
                len(revs[gone1.id])
            assert d.get_revision(talk_ids[3]) is None
            assert d.revision(old.id).text == old.text + "\nmore"


def test_moves_in_a_cycle(tmp_path):
    """Three titles rotated among three pages in one diff: the diff parks
    one page under a title no wiki page can have, and the receiver ends
    with the sender's titles."""
    src = tmp_path / "a.idump"
    load(str(src), str(AAWIKI))
    shutil.copy(src, tmp_path / "b.idump")
    shutil.copy(src, tmp_path / "r.idump")
    with incrdump.Dump(str(src)) as d:
        x, y, z = [p for p in d if p.namespace == 14][:3]
    with incrdump.Dump(str(tmp_path / "b.idump"), "w") as d:
        with d.transaction() as t:
            t.put_page(x, title="Category:tmp")
            t.put_page(z, title=x.title)
            t.put_page(y, title=z.title)
            t.put_page(x, title=y.title)
            t.set_sequence(1)
    write_diff(str(src), str(tmp_path / "b.idump"), str(tmp_path / "c.idiff"))
    puts = [v for name, v in diff.records(str(tmp_path / "c.idiff")) if name == "PUT_PAGE"]
    assert len(puts) == 4 and any(b"\0" in p.title for p in puts)
    apply(str(tmp_path / "r.idump"), str(tmp_path / "c.idiff"))
    assert export_bytes(tmp_path / "r.idump") == export_bytes(tmp_path / "b.idump")


# ---- refusals -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def two_days(aasplit, tmp_path_factory):
    """A base dump, the diffs of days 1 and 2 (a change of 14 kB of XML
    and one of 4 kB), and the sender after both."""
    base, days = aasplit
    d = tmp_path_factory.mktemp("two")
    load(str(d / "base.idump"), base)
    shutil.copy(d / "base.idump", d / "sender.idump")
    update_with_diff(d / "sender.idump", days[0], d / "1.idiff")
    update_with_diff(d / "sender.idump", days[1], d / "2.idiff")
    return d


def test_wrong_base_refused(two_days, tmp_path):
    d = two_days
    dump = tmp_path / "x.idump"
    shutil.copy(d / "base.idump", dump)
    before = file_hash(dump)
    with pytest.raises(WrongBaseError) as e:
        apply(str(dump), str(d / "2.idiff"))
    msg = str(e.value)
    assert "sequence 1" in msg and "at sequence 0" in msg and "apply the diffs" in msg
    assert file_hash(dump) == before
    # another dump (same content, another file: another uuid)
    other = tmp_path / "other.idump"
    load(str(other), str(AAWIKI))
    with incrdump.Dump(str(other)) as o, incrdump.Dump(str(dump)) as x:
        uo, ux = o.info()["uuid"], x.info()["uuid"]
    before = file_hash(other)
    with pytest.raises(WrongBaseError) as e:
        apply(str(other), str(d / "1.idiff"))
    assert uo in str(e.value) and ux in str(e.value)
    assert file_hash(other) == before


def test_same_diff_twice_refused(two_days, tmp_path):
    d = two_days
    dump = tmp_path / "x.idump"
    shutil.copy(d / "base.idump", dump)
    apply(str(dump), str(d / "1.idiff"))
    before = file_hash(dump)
    with pytest.raises(AlreadyAppliedError) as e:
        apply(str(dump), str(d / "1.idiff"))
    assert "already at sequence 1" in str(e.value)
    assert file_hash(dump) == before
    apply(str(dump), str(d / "2.idiff"))
    with pytest.raises(AlreadyAppliedError):
        apply(str(dump), str(d / "1.idiff"))
    assert export_bytes(dump) == export_bytes(d / "sender.idump")


def test_truncated_and_flipped_diffs_refused(two_days, tmp_path):
    """Every truncation and a flipped bit at every 7th byte: refused before
    anything changes; the intact diff then applies."""
    d = two_days
    dump = tmp_path / "x.idump"
    shutil.copy(d / "base.idump", dump)
    good = (d / "1.idiff").read_bytes()
    before = file_hash(dump)
    bad = tmp_path / "bad.idiff"
    cases = [good[:n] for n in range(0, len(good), 3)]
    cases += [good[:i] + bytes([good[i] ^ (1 << (i % 8))]) + good[i + 1:]
              for i in range(0, len(good), 7)]
    cases.append(good + b"\0")
    for data in cases:
        bad.write_bytes(data)
        with pytest.raises((CorruptDiffError, incrdump.UnsupportedVersionError)):
            apply(str(dump), str(bad))
    assert file_hash(dump) == before
    apply(str(dump), str(d / "1.idiff"))


def _raw_body(data):
    """The decompressed body of a diff file's bytes."""
    return zstandard.ZstdDecompressor().stream_reader(data[diff.HEADER_SIZE:]).read()


def _rebuild(good, mutate):
    """The diff with its body decompressed, changed by mutate(raw) and
    compressed again, the header's sizes and CRCs made to match: only the
    records' own checks are left to find the damage."""
    h = diff.DiffHeader.unpack(good[:diff.HEADER_SIZE], "x")
    raw = mutate(bytearray(_raw_body(good)))
    body = zstandard.ZstdCompressor(level=3).compress(bytes(raw))
    h.body_size, h.body_raw_size, h.body_crc = len(body), len(raw), zlib.crc32(body)
    return h.pack() + body


def test_record_checks(two_days, tmp_path):
    d = two_days
    good = (d / "1.idiff").read_bytes()
    ok = tmp_path / "ok.idiff"   # the rebuild alone is sound

    ok.write_bytes(_rebuild(good, lambda raw: raw))
    diff.verify(str(ok))
    dump = tmp_path / "x.idump"
    shutil.copy(d / "base.idump", dump)
    before = file_hash(dump)

    def flip(at):
        def m(raw):
            raw[at] ^= 0x20
            return raw
        return m

    raw_len = len(_raw_body(good))
    bad = tmp_path / "bad.idiff"
    messages = []
    for at in list(range(0, raw_len, max(1, raw_len // 60))) + [raw_len - 1]:
        bad.write_bytes(_rebuild(good, flip(at)))
        with pytest.raises(CorruptDiffError) as e:
            apply(str(dump), str(bad))
        messages.append(str(e.value))
    # records cut short, removed, or the END record missing
    for mutate in (lambda raw: raw[:-1], lambda raw: raw[:-5], lambda raw: raw + b"\0",
                   lambda raw: raw[:len(raw) // 2]):
        bad.write_bytes(_rebuild(good, mutate))
        with pytest.raises(CorruptDiffError):
            apply(str(dump), str(bad))
    assert file_hash(dump) == before
    assert all("record" in m for m in messages)
    assert sum("checksum mismatch" in m for m in messages) > len(messages) // 2
    apply(str(dump), str(ok))
    apply(str(dump), str(d / "2.idiff"))
    assert export_bytes(dump) == export_bytes(d / "sender.idump")


def test_newer_version_refused(two_days, tmp_path):
    good = bytearray((two_days / "1.idiff").read_bytes())
    struct.pack_into("<H", good, 8, 2)   # major 2
    struct.pack_into("<I", good, 108, zlib.crc32(bytes(good[:108])))
    p = tmp_path / "v2.idiff"
    p.write_bytes(bytes(good))
    with pytest.raises(incrdump.UnsupportedVersionError) as e:
        diff.verify(str(p))
    assert "2.0" in str(e.value)


def test_diff_refuses_unrelated_dumps(two_days, tmp_path):
    d = two_days
    other = tmp_path / "other.idump"
    load(str(other), str(AAWIKI))
    with pytest.raises(WrongBaseError) as e:
        write_diff(str(d / "base.idump"), str(other), str(tmp_path / "o.idiff"))
    assert "is not a later state" in str(e.value)
    with pytest.raises(WrongBaseError) as e:   # backwards: NEW is older
        write_diff(str(d / "sender.idump"), str(d / "base.idump"), str(tmp_path / "o.idiff"))
    assert "not later than" in str(e.value)
    assert not (tmp_path / "o.idiff").exists()
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".partial")]
    # the output may not be one of the dumps
    shutil.copy(d / "sender.idump", tmp_path / "s.idump")
    before = file_hash(tmp_path / "s.idump")
    with pytest.raises(diff.DiffError):
        write_diff(str(d / "base.idump"), str(tmp_path / "s.idump"), str(tmp_path / "s.idump"))
    assert file_hash(tmp_path / "s.idump") == before


def test_diff_over_several_sequences(two_days, tmp_path):
    """write_diff(base at 0, sender at 2) makes one diff 0 -> 2: it applies
    to the base, not to a copy at 1 (nor twice)."""
    d = two_days
    write_diff(str(d / "base.idump"), str(d / "sender.idump"), str(tmp_path / "02.idiff"))
    x, y = tmp_path / "x.idump", tmp_path / "y.idump"
    shutil.copy(d / "base.idump", x)
    shutil.copy(d / "base.idump", y)
    apply(str(y), str(d / "1.idiff"))
    with pytest.raises(WrongBaseError) as e:
        apply(str(y), str(tmp_path / "02.idiff"))
    assert "applies to sequence 0" in str(e.value) and "is at sequence 1" in str(e.value)
    apply(str(x), str(tmp_path / "02.idiff"))
    assert state(x)[1] == 2 and export_bytes(x) == export_bytes(d / "sender.idump")
    apply(str(y), str(d / "2.idiff"))
    assert export_bytes(y) == export_bytes(x)
    with pytest.raises(AlreadyAppliedError):
        apply(str(y), str(tmp_path / "02.idiff"))


# ---- the command line ---------------------------------------------------------------------


def test_cli_diff_update_apply(two_days, tmp_path, capsys):
    d = two_days
    sender, recv = tmp_path / "s.idump", tmp_path / "r.idump"
    shutil.copy(d / "base.idump", sender)
    shutil.copy(d / "base.idump", recv)
    # update --diff
    changes = tmp_path / "c.ichanges"
    with incrdump.Dump(str(sender)) as dd:
        victim = next(iter(dd)).id
    write_changes(str(changes), [DeletePage(victim)])
    out = tmp_path / "u.idiff"
    assert cli.main(["update", str(sender), str(changes), "--diff", str(out), "-q"]) == 0
    assert out.exists()
    assert cli.main(["apply", str(recv), str(out)]) == 0
    assert "sequence 0 -> 1" in capsys.readouterr().out
    assert export_bytes(recv) == export_bytes(sender)
    # applied twice: exit 1, one line naming the sequences
    assert cli.main(["apply", str(recv), str(out)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("incrdump apply: ") and "already at sequence 1" in err
    # a failing update writes no diff
    bad = tmp_path / "bad.ichanges"
    write_changes(str(bad), [DeletePage(victim)])   # the page is gone now
    assert cli.main(["update", str(sender), str(bad), "--diff", str(tmp_path / "no.idiff")]) == 1
    capsys.readouterr()
    assert not (tmp_path / "no.idiff").exists()
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".partial")]
    # diff OLD NEW
    assert cli.main(["diff", str(d / "base.idump"), str(d / "sender.idump"),
                     "-o", str(tmp_path / "d.idiff")]) == 0
    assert "sequence 0 -> 2" in capsys.readouterr().out
    assert cli.main(["diff", str(d / "base.idump"), str(d / "sender.idump"),
                     "-o", str(tmp_path / "d.idiff")]) == 1   # exists
    assert "--force" in capsys.readouterr().err
    x = tmp_path / "x.idump"
    shutil.copy(d / "base.idump", x)
    assert cli.main(["apply", str(x), str(tmp_path / "d.idiff"), "--json"]) == 0
    capsys.readouterr()
    assert export_bytes(x) == export_bytes(d / "sender.idump")
    # unrelated dumps (another file: another uuid)
    other = tmp_path / "other.idump"
    load(str(other), str(AAWIKI))
    assert cli.main(["diff", str(sender), str(other), "-o", str(tmp_path / "e.idiff")]) == 1
    assert "not a later state" in capsys.readouterr().err
    assert not (tmp_path / "e.idiff").exists()


# ---- crash -------------------------------------------------------------------------------

_APPLIER = textwrap.dedent("""
    import sys, time
    from incrdump import _lowlevel, diff
    dump, path, stop_at = sys.argv[1], sys.argv[2], int(sys.argv[3])
    H = _lowlevel.DumpHandle
    put, begin, commit = H.put_revision, H.begin, H.commit
    n = 0
    def begin_small(self):
        self.set_cache_size(1 << 20)   # dirty blocks reach the file early
        begin(self)
    def put_revision(self, rec):
        global n
        put(self, rec)
        n += 1
        if n == stop_at:
            print("ready", flush=True)
            time.sleep(60)             # killed here, in the middle of the transaction
    def commit_late(self):
        if stop_at == -1:
            print("ready", flush=True)
            time.sleep(60)             # killed right before the commit
        commit(self)
    H.begin, H.put_revision, H.commit = begin_small, put_revision, commit_late
    diff.apply(dump, path)
    print("done", flush=True)
""")


@pytest.fixture(scope="module")
def big_diff(aasplit, tmp_path_factory):
    """The diff of all 30 days in one (base -> sender at sequence 1)."""
    base, days = aasplit
    d = tmp_path_factory.mktemp("big")
    load(str(d / "base.idump"), base)
    shutil.copy(d / "base.idump", d / "sender.idump")
    update_with_diff(d / "sender.idump", days, d / "all.idiff")
    return d


def test_sigkill_during_apply(big_diff, tmp_path):
    d = big_diff
    dump = tmp_path / "k.idump"
    shutil.copy(d / "base.idump", dump)
    gen = state(dump)[0]
    before = export_bytes(dump)
    for stop_at in (20, 400, -1):
        p = subprocess.Popen([sys.executable, "-c", _APPLIER, str(dump), str(d / "all.idiff"),
                              str(stop_at)], stdout=subprocess.PIPE, text=True)
        try:
            line = p.stdout.readline()
            assert line.strip() == "ready", line
            os.kill(p.pid, signal.SIGKILL)
            p.wait(timeout=30)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        assert p.returncode == -signal.SIGKILL
        assert state(dump) == (gen, 0)
        with incrdump.Dump(str(dump)) as dd:
            dd.check()
        assert export_bytes(dump) == before
    st = apply(str(dump), str(d / "all.idiff"))
    assert st["to_sequence"] == 1 and state(dump) == (gen + 1, 1)
    assert export_bytes(dump) == export_bytes(d / "sender.idump")


def test_sigkill_at_random_moments(big_diff, tmp_path):
    """Kills at random moments of a real apply (no pause; the process
    lives about 0.15 s, the apply itself 0.04 s): the dump is at the old
    state or the new one, never between; apply then finishes."""
    d = big_diff
    dump = tmp_path / "r.idump"
    old, new = None, export_bytes(d / "sender.idump")
    rnd = random.Random(7)
    code = "import sys; from incrdump.diff import apply; apply(sys.argv[1], sys.argv[2])"
    outcomes = []
    for _ in range(8):
        shutil.copy(d / "base.idump", dump)
        gen = state(dump)[0]
        old = old or export_bytes(dump)
        p = subprocess.Popen([sys.executable, "-c", code, str(dump), str(d / "all.idiff")])
        time.sleep(rnd.uniform(0.06, 0.2))
        p.send_signal(signal.SIGKILL)
        p.wait()
        g, seq = state(dump)
        assert (g, seq) in ((gen, 0), (gen + 1, 1))
        assert export_bytes(dump) == (old if seq == 0 else new)
        outcomes.append(seq)
        if seq == 0:
            apply(str(dump), str(d / "all.idiff"))
            assert export_bytes(dump) == new
        with pytest.raises(AlreadyAppliedError):
            apply(str(dump), str(d / "all.idiff"))
    print("killed before the commit:", outcomes.count(0), "after:", outcomes.count(1))


# ---- the sequence number --------------------------------------------------------------


def test_sequence_number(tmp_path):
    dump = tmp_path / "s.idump"
    load(str(dump), str(AAWIKI))
    with incrdump.Dump(str(dump), "w") as d:
        assert d.sequence == 0 and d.info()["sequence"] == 0
        with pytest.raises(incrdump.MisuseError):
            d._handle().set_sequence(1)          # only inside a transaction
        with d.transaction() as t:
            t.set_sequence(5)
            assert d.sequence == 5
            t.abort()
        assert d.sequence == 0
        with pytest.raises(incrdump.InvalidArgumentError):
            with d.transaction() as t:
                t.set_sequence(1 << 63)
        with d.transaction() as t:
            t.set_sequence(3)
    assert state(dump)[1] == 3
    # a malformed stored value is corruption, found by check() too
    from incrdump import _lowlevel
    with _lowlevel.Store(str(dump), _lowlevel.WRITE) as s:
        s.begin()
        s.put(0, b"sequence", b"\x83\x00")
        s.commit()
    with incrdump.Dump(str(dump)) as d:
        with pytest.raises(incrdump.CorruptDumpError):
            d.sequence
        with pytest.raises(incrdump.CorruptDumpError):
            d.check()
