"""Incremental updates (issue 5): :func:`incrdump.update.update` and
``incrdump update``.

- update-equals-rebuild: the aawiki history fixture split by date into a
  base and 35 daily adds/changes files (tests/helpers/daysplit.py, written
  with XMLReader + XMLWriter); base + every update exports the same bytes
  as a fresh import of the whole file and passes check(), for a history
  and a current dump (whose size must stay near a fresh current build),
  and compact() of the result is the fresh layout again. The benchmark
  corpus does the same in a test marked slow, where a copy of the base
  also follows every day by the diff the update wrote, to the same bytes.
- deletions, undeletions, moves (a chain, a swap, across namespaces),
  RevisionDelete and suppression, history merges and replaced revisions,
  as .ichanges files and XML built from the real fixtures, against an
  independent model (plain dicts built from the XML and changed by the
  test), field by field and every remaining text.
- bad input: typed errors naming file and line, the dump byte for byte as
  it was; the CLI's exit codes.
- crash: a subprocess SIGKILLed in the middle of an update leaves the
  previous generation (same export bytes); running it again succeeds.
  Simulated power cuts at every stage of an update and an apply (the
  fault-injecting VFS, dump_open_faulty) are in tests/test_update_crash.py.
"""
import copy
import json
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import textwrap
import time

import pytest

import incrdump
from incrdump import cli
from incrdump.changes import (
    ChangeSetError,
    DeletePage,
    DeleteRevision,
    HideRevision,
    MergeRevisions,
    MovePage,
    PutPage,
    PutRevision,
    op_to_json,
    read_changes,
    write_changes,
)
from incrdump.errors import NotFoundError, SourceNotFoundError, XMLFormatError
from incrdump.load import compact, load
from incrdump.update import PARKED_PREFIX, update
from incrdump.xmlread import XMLReader
from incrdump.xmlwrite import XMLWriter, export

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "helpers"))
import daysplit  # noqa: E402
from dumpfiles import export_bytes, file_hash  # noqa: E402

DATA = HERE.parent.parent / "shared" / "data"
AAWIKI = DATA / "real" / "aawiki-20260101-pages-meta-history.xml.7z"
CORPUS = DATA / "bench" / "peps-history.xml.xz"
DAYS = 35

pytestmark = pytest.mark.skipif(not AAWIKI.exists(), reason="shared/data is not beside the repo")


def live_blocks(path):
    from incrdump import _lowlevel as L

    with L.Store(str(path)) as s:
        return s.check()["live_blocks"]


# ---- update equals rebuild ---------------------------------------------------------


@pytest.fixture(scope="module")
def aasplit(tmp_path_factory):
    d = tmp_path_factory.mktemp("aasplit")
    base, days, dates = daysplit.split_by_date(str(AAWIKI), str(d), DAYS)
    return base, days


@pytest.mark.parametrize("kind", ["history", "current"])
def test_update_equals_rebuild(aasplit, tmp_path, kind):
    base, days = aasplit
    fresh, upd = tmp_path / "fresh.idump", tmp_path / "upd.idump"
    load(str(fresh), str(AAWIKI), kind=kind)
    load(str(upd), base, kind=kind)
    with incrdump.Dump(str(upd)) as d:
        gen, seq = d.info()["generation"], d.sequence
    assert seq == 0
    puts = 0
    for i, day in enumerate(days, 1):
        stats = update(str(upd), day)
        puts += stats["revisions"]
        assert stats["generation"] == gen + i and stats["sequence"] == i
    with incrdump.Dump(str(upd)) as d:
        d.check()
        base_revs = sum(1 for p in XMLReader(base) for _ in p)
    if kind == "history":
        assert puts == 1307 - base_revs  # every revision of the days, once
    assert export_bytes(upd) == export_bytes(fresh)
    # A current dump replaces, a history dump appends. What the dump holds
    # (live blocks) stays near a fresh build: within 10 % for a current
    # dump; a history dump whose 35 days bring 37 % of its revisions has
    # B-tree leaves filled by insertion (15 %). The file itself also keeps
    # the copy-on-write headroom of its largest transaction (days 24 and
    # 26 rewrite 20 % of the pages): free blocks inside the file, reused by
    # the next updates (test_current_dump_does_not_grow); on the corpus
    # (days of realistic size) the file is within 1 % (the slow test).
    ratio_live = live_blocks(upd) / live_blocks(fresh)
    ratio_file = os.path.getsize(upd) / os.path.getsize(fresh)
    print(f"{kind}: live blocks {ratio_live:.3f}x, file {ratio_file:.3f}x a fresh build")
    assert ratio_live <= (1.10 if kind == "current" else 1.15)
    # compact restores the fresh layout: the same file as compacting the fresh build
    compact(str(upd), str(tmp_path / "c1.idump"))
    compact(str(fresh), str(tmp_path / "c2.idump"))
    assert os.path.getsize(tmp_path / "c1.idump") == os.path.getsize(tmp_path / "c2.idump")
    assert export_bytes(tmp_path / "c1.idump") == export_bytes(fresh)


def test_current_dump_does_not_grow(aasplit, tmp_path):
    """Replacing the latest revision again and again reuses the space: a
    current dump given a new revision of every page 12 times over stays
    within 10 % of its size after the second round."""
    base, days = aasplit
    dump = tmp_path / "cur.idump"
    load(str(dump), str(AAWIKI), kind="current")
    with incrdump.Dump(str(dump)) as d:
        pages = [(p.id, p.latest().id, p.latest().text or "") for p in d]
    sizes = []
    next_id = 10 ** 6
    for round_ in range(12):
        ops = []
        for pid, latest, text in pages:
            rev = incrdump.Revision(next_id, "2026-02-01T00:00:00Z", text=f"edit {round_} of "
                                    f"{pid}\n" + text[:2000], comment="bot",
                                    user=incrdump.Contributor("Bot", 7), parent_id=latest)
            ops.append(PutRevision(rev, pid))
            next_id += 1
        path = tmp_path / f"round{round_}.ichanges"
        write_changes(str(path), ops)
        update(str(dump), str(path))
        sizes.append(os.path.getsize(dump))
    with incrdump.Dump(str(dump)) as d:
        d.check()
        assert d.info()["revisions"] == len(pages)
    assert sizes[-1] <= 1.10 * sizes[1], sizes


@pytest.mark.slow
@pytest.mark.skipif(not CORPUS.exists(), reason="no benchmark corpus")
@pytest.mark.parametrize("kind", ["history", "current"])
def test_update_equals_rebuild_corpus(tmp_path, kind):
    base, days, _ = daysplit.split_by_date(str(CORPUS), str(tmp_path), 30,
                                          allow_control_chars=True)
    from incrdump.diff import DiffRecorder, apply

    fresh, upd = tmp_path / "fresh.idump", tmp_path / "upd.idump"
    mirror = tmp_path / "mirror.idump"
    load(str(fresh), str(CORPUS), kind=kind, allow_control_chars=True)
    load(str(upd), base, kind=kind, allow_control_chars=True)
    shutil.copyfile(upd, mirror)  # a copy that follows by diffs only
    for i, day in enumerate(days):
        recorder = DiffRecorder(str(tmp_path / f"day-{i}.idiff"))
        update(str(upd), day, allow_control_chars=True, observer=recorder)
        recorder.publish()
        apply(str(mirror), str(tmp_path / f"day-{i}.idiff"))
    for path in (upd, mirror):
        with incrdump.Dump(str(path)) as d:
            d.check()
            assert d.sequence == len(days)
    want = export_bytes(fresh)
    assert export_bytes(upd) == want
    assert export_bytes(mirror) == want
    assert os.path.getsize(upd) <= 1.10 * os.path.getsize(fresh)


# ---- the model -----------------------------------------------------------------------


def rev_fields(rev):
    """The fields a user sees of a revision (xmlread's or the dump's)."""
    u = rev.user
    return {
        "parent_id": rev.parent_id, "timestamp": rev.timestamp_text, "minor": bool(rev.minor),
        "comment": rev.comment, "sha1": rev.sha1, "deleted": tuple(rev.deleted),
        "suppressed": bool(getattr(rev, "suppressed", False)),
        "user": None if u is None else (u.name, u.id, u.ip, bool(u.deleted)),
        "slots": {role: {"text": s.text, "deleted": bool(s.deleted), "model": s.model,
                         "format": s.format, "sha1": s.sha1, "bytes": s.bytes}
                  for role, s in rev.slots.items()},
    }


def read_fixture(path):
    """{page id: {"namespace", "title", "redirect", "revs": {id: fields}}} and
    {page id: (xmlread page, [xmlread revisions])} of an XML file."""
    model, objects = {}, {}
    with XMLReader(str(path)) as r:
        for p in r:
            revs = list(p)
            model[p.id] = {"namespace": p.namespace, "title": p.title, "redirect": p.redirect,
                           "revs": {x.id: rev_fields(x) for x in revs}}
            objects[p.id] = (p, revs)
    return model, objects


def read_dump(path):
    """The same shape as read_fixture's model, read from a dump (every text)."""
    out = {}
    with incrdump.Dump(str(path)) as d:
        for p in d:
            out[p.id] = {"namespace": p.namespace, "title": p.title, "redirect": p.redirect,
                         "revs": {x.id: rev_fields(x) for x in p}}
    return out


def assert_same(dump_model, model):
    assert sorted(dump_model) == sorted(model), "page ids differ"
    for pid, want in model.items():
        got = dump_model[pid]
        for k in ("namespace", "title", "redirect"):
            assert got[k] == want[k], (pid, k)
        assert sorted(got["revs"]) == sorted(want["revs"]), f"page {pid}: revision ids"
        for rid, fields in want["revs"].items():
            for k, v in fields.items():
                assert got["revs"][rid][k] == v, (pid, rid, k)


def hide(fields, text=False, comment=False, user=False, suppressed=False):
    """What RevisionDelete does to a revision, in the model."""
    t, c, u = fields["deleted"]
    if text:
        t = True
        fields["sha1"] = ""
        for s in fields["slots"].values():
            s["text"], s["deleted"] = None, True
    if comment:
        c = True
        fields["comment"] = None
    if user:
        u = True
        fields["user"] = (None, None, None, True)
    fields["deleted"] = (t, c, u)
    fields["suppressed"] = fields["suppressed"] or suppressed


def write_xml(path, pages, siteinfo_from=AAWIKI):
    """An export XML file of (page, revisions) pairs, with the fixture's site info."""
    with XMLReader(str(siteinfo_from)) as r, open(path, "wb") as f:
        w = XMLWriter(f, style=r.style)
        w.header(daysplit._Site(r))
        for page, revs in pages:
            w.page(page, revs)
        w.footer()


@pytest.fixture(scope="module")
def fixture_model():
    return read_fixture(AAWIKI)


def test_wiki_events_against_model(tmp_path, fixture_model):
    """Deletions, undeletions, moves, RevisionDelete, suppression, merges
    and replaced revisions, in five change sets of ours and XML files,
    against a model kept by this test."""
    model0, objects = fixture_model
    model = copy.deepcopy(model0)
    dump = tmp_path / "w.idump"
    load(str(dump), str(AAWIKI))

    by_size = sorted(model, key=lambda pid: -len(model[pid]["revs"]))
    main, talk, user1, portal, user2, cat1, user3, cat2 = by_size[:8]
    user_pages = [pid for pid in model if model[pid]["namespace"] == 2]
    a, b = [pid for pid in user_pages if pid not in by_size[:8]][:2]
    gone1, gone2 = [pid for pid in model if model[pid]["namespace"] == 3][:2]

    # day 1: two pages deleted; RevisionDelete on the main page's history:
    # texts that later revisions are stored against, comments, users
    main_ids = sorted(model[main]["revs"])
    day = [DeletePage(gone1), DeletePage(gone2),
           HideRevision(main_ids[1], text=True),
           HideRevision(main_ids[4], text=True, comment=True, user=True, suppressed=True),
           HideRevision(main_ids[5], comment=True),
           HideRevision(main_ids[40], user=True),
           HideRevision(main_ids[41], text=True)]
    del model[gone1], model[gone2]
    hide(model[main]["revs"][main_ids[1]], text=True)
    hide(model[main]["revs"][main_ids[4]], text=True, comment=True, user=True, suppressed=True)
    hide(model[main]["revs"][main_ids[5]], comment=True)
    hide(model[main]["revs"][main_ids[40]], user=True)
    hide(model[main]["revs"][main_ids[41]], text=True)
    write_changes(str(tmp_path / "d1.ichanges"), day)

    # day 2: moves -- a chain A->B, B->C given in the order that needs B
    # free first (user1 takes user2's title; user2 moves on), a swap of two
    # titles in two moves, and a move across namespaces
    t2 = model[user2]["title"]
    ta, tb = model[a]["title"], model[b]["title"]
    day = [MovePage(user1, 2, t2), MovePage(user2, 2, t2 + "/archive"),
           MovePage(a, 2, tb), MovePage(b, 2, ta),
           MovePage(portal, 0, "Community Portal")]
    model[user1]["title"], model[user2]["title"] = t2, t2 + "/archive"
    model[a]["title"], model[b]["title"] = tb, ta
    model[portal]["namespace"], model[portal]["title"] = 0, "Community Portal"
    write_changes(str(tmp_path / "d2.ichanges"), day)

    # day 3: undeletion of gone1 from XML (its page and all its revisions
    # again), of gone2 in a change set with only two of its revisions; a
    # history merge of cat2's first three revisions into cat1
    write_xml(tmp_path / "d3.xml", [objects[gone1]])
    model[gone1] = copy.deepcopy(model0[gone1])
    page2, revs2 = objects[gone2]
    ops = [PutPage(page2)] + [PutRevision(r, gone2) for r in revs2[:2]]
    model[gone2] = copy.deepcopy(model0[gone2])
    model[gone2]["revs"] = {r.id: rev_fields(r) for r in revs2[:2]}
    merged = sorted(model[cat2]["revs"])[:3]
    ops.append(MergeRevisions(merged, cat1))
    for rid in merged:
        model[cat1]["revs"][rid] = model[cat2]["revs"].pop(rid)
    write_changes(str(tmp_path / "d3.ichanges"), ops)

    # day 4: revisions replaced (another comment and text; the base of a
    # delta chain), one deleted, a new one added to talk, a redirect set
    talk_ids = sorted(model[talk]["revs"])
    old = objects[talk][1][2]
    new = incrdump.Revision(old.id, old.timestamp_text, parent_id=old.parent_id, user=old.user,
                            comment="rewritten", text=old.text + "\nmore", sha1=None,
                            minor=old.minor)
    added = incrdump.Revision(10 ** 6, "2026-01-02T03:04:05Z", parent_id=talk_ids[-1],
                              user=incrdump.Contributor(ip="192.0.2.1"), comment="new",
                              text="a new revision", model="wikitext", format="text/x-wiki")
    redirect = incrdump.Page(user3, model[user3]["title"], 2, redirect="User:Somewhere")
    ops = [PutRevision(new, talk), DeleteRevision(talk_ids[3]), PutRevision(added, talk),
           PutPage(redirect)]
    model[talk]["revs"][old.id] = rev_fields(new)
    del model[talk]["revs"][talk_ids[3]]
    model[talk]["revs"][added.id] = rev_fields(added)
    model[user3]["redirect"] = "User:Somewhere"
    write_changes(str(tmp_path / "d4.ichanges"), ops)

    with incrdump.Dump(str(dump)) as d:
        gen = d.info()["generation"]
    update(str(dump), [str(tmp_path / "d1.ichanges")])
    update(str(dump), [str(tmp_path / "d2.ichanges")])
    update(str(dump), [str(tmp_path / "d3.xml"), str(tmp_path / "d3.ichanges")])
    stats = update(str(dump), str(tmp_path / "d4.ichanges"))
    assert stats["generation"] == gen + 4 and stats["sequence"] == 4
    with incrdump.Dump(str(dump)) as d:
        d.check()  # decodes every text frame against its checksum
        assert not any(p.title.startswith(PARKED_PREFIX) for p in d)
    assert_same(read_dump(dump), model)
    # the export is readable XML with the same content (XML does not say
    # whether a deletion is suppressed)
    out = tmp_path / "out.xml"
    export(str(dump), str(out))
    for page in model.values():
        for fields in page["revs"].values():
            fields["suppressed"] = False
    assert_same(read_fixture(out)[0], model)
    text = out.read_text()
    assert '<comment deleted="deleted" />' in text and '<contributor deleted="deleted" />' in text
    assert 'deleted="deleted" />' in text


def test_hidden_texts_reencode_dependants(tmp_path, fixture_model):
    """Hiding the texts that a page's later revisions are stored against
    (every other revision of the longest history) leaves every remaining
    text readable and unchanged."""
    model, _ = fixture_model
    main = max(model, key=lambda pid: len(model[pid]["revs"]))
    ids = sorted(model[main]["revs"])
    dump = tmp_path / "h.idump"
    load(str(dump), str(AAWIKI))
    write_changes(str(tmp_path / "h.ichanges"), [HideRevision(i, text=True) for i in ids[::2]])
    update(str(dump), str(tmp_path / "h.ichanges"))
    with incrdump.Dump(str(dump)) as d:
        d.check()
        for i in ids:
            rev = d.revision(i)
            if i in ids[::2]:
                assert rev.text is None and rev.deleted.text and rev.sha1 == ""
            else:
                assert rev.text == model[main]["revs"][i]["slots"]["main"]["text"]


def test_moves_through_taken_titles(tmp_path, fixture_model):
    """A swap of three titles in a circle, and a move onto a page that a
    later operation deletes; a title still taken at the end is refused."""
    model, _ = fixture_model
    cats = [pid for pid in model if model[pid]["namespace"] == 14][:3]
    x, y, z = cats
    tx, ty, tz = (model[p]["title"] for p in cats)
    victim = [pid for pid in model if model[pid]["namespace"] == 14][3]
    tv = model[victim]["title"]
    dump = tmp_path / "m.idump"
    load(str(dump), str(AAWIKI))
    write_changes(str(tmp_path / "ok.ichanges"), [
        MovePage(x, 14, ty), MovePage(y, 14, tz), MovePage(z, 14, tx),
        PutPage(incrdump.Page(x + 0, ty, 14)),  # put again under the same title: no change
        MovePage(z, 14, tv), DeletePage(victim)])
    update(str(dump), str(tmp_path / "ok.ichanges"))
    with incrdump.Dump(str(dump)) as d:
        assert d.page(x).title == ty and d.page(y).title == tz and d.page(z).title == tv
        assert d.get_page(victim) is None
        assert d.page_by_title(ty).id == x
        d.check()
    before = file_hash(dump)
    write_changes(str(tmp_path / "bad.ichanges"), [MovePage(y, 14, "Category:Elsewhere"),
                                                  MovePage(x, 14, tv)])
    with pytest.raises(ChangeSetError) as e:
        update(str(dump), str(tmp_path / "bad.ichanges"))
    assert e.value.line == 3 and e.value.filename.endswith("bad.ichanges")
    assert "neither moved nor deleted" in str(e.value)
    assert file_hash(dump) == before


# ---- bad input ------------------------------------------------------------------------


@pytest.fixture
def small_dump(tmp_path):
    path = tmp_path / "s.idump"
    load(str(path), str(AAWIKI))
    return path


BAD_LINES = [
    ('{"op": "delete_page", "page_id": 1269}\nnot json\n', 2, "not JSON"),
    ('{"op": "frobnicate"}\n', 1, "unknown op"),
    ('{"op": "delete_page"}\n', 1, "'page_id' is missing"),
    ('{"op": "delete_page", "page_id": "12"}\n', 1, "must be integer"),
    ('{"op": "delete_page", "page_id": 1269, "x": 1}\n', 1, "unknown field 'x'"),
    ('{"format": "incrdump-changes", "version": 99}\n', 1, "version 99"),
    ('\n{"op": "delete_page", "page_id": 1269}\n{"op": "delete_page", "page_id": 424242}\n', 3,
     "page 424242 is not in the dump"),
    ('{"op": "move_page", "page_id": 1271, "namespace": 0, "title": "Main Page"}\n', 1,
     "neither moved nor deleted"),
    ('{"op": "put_revision", "page_id": 1271, "id": 1269, "timestamp": "2020-01-01T00:00:00Z",'
     ' "text": "x"}\n', 1, "belongs to page 1269"),
    ('{"op": "put_revision", "page_id": 1271, "id": 5, "timestamp": "yesterday"}\n', 1,
     "ISO 8601"),
    ('{"op": "hide_revision", "rev_id": 99999999, "text": true}\n', 1, "not in the dump"),
    ('{"op": "merge_revisions", "rev_ids": [], "into_page_id": 1269}\n', 1, "non-empty"),
    (b'{"op": "delete_page", "page_id": 1\xff}\n', 1, "not UTF-8"),
]


@pytest.mark.parametrize("content,line,message", BAD_LINES)
def test_bad_change_set_changes_nothing(small_dump, tmp_path, content, line, message):
    path = tmp_path / "bad.ichanges"
    if isinstance(content, str):
        content = content.encode()
    path.write_bytes(content)
    before = file_hash(small_dump)
    with pytest.raises(ChangeSetError) as e:
        update(str(small_dump), [str(path)])
    assert e.value.filename == str(path) and e.value.line == line, str(e.value)
    assert message in str(e.value)
    assert str(e.value).startswith(f"{path}:{line}: ")
    assert file_hash(small_dump) == before


def test_bad_xml_after_good_changes_nothing(small_dump, tmp_path, fixture_model):
    """A valid change set, then XML that breaks after some pages: nothing of
    either is applied, and the error names the XML file, line and column."""
    _, objects = fixture_model
    good = tmp_path / "good.ichanges"
    write_changes(str(good), [DeletePage(1269)])
    xml = tmp_path / "bad.xml"
    write_xml(xml, [objects[pid] for pid in list(objects)[:5]])
    data = xml.read_bytes()
    cut = data.index(b"</page>", len(data) // 2)
    xml.write_bytes(data[:cut] + b"<oops>" + data[cut:])
    before = file_hash(small_dump)
    with pytest.raises(XMLFormatError) as e:
        update(str(small_dump), [str(good), str(xml)])
    assert e.value.filename == str(xml) and e.value.line > 1
    assert file_hash(small_dump) == before
    # a revision without its text in a history dump
    stub = tmp_path / "stub.xml"
    write_xml(stub, [objects[1271]])
    data = stub.read_bytes()
    at = data.rindex(b"<text ")
    end = data.index(b"</text>", at) + len(b"</text>")
    stub.write_bytes(data[:at] + b'<text bytes="12" id="55" />' + data[end:])
    with pytest.raises(XMLFormatError, match="a stub's text reference"):
        update(str(small_dump), str(stub))
    assert file_hash(small_dump) == before


def test_missing_inputs(tmp_path, small_dump):
    with pytest.raises(NotFoundError):
        update(str(tmp_path / "nope.idump"), str(AAWIKI))
    assert not (tmp_path / "nope.idump").exists()
    before = file_hash(small_dump)
    with pytest.raises(SourceNotFoundError):
        update(str(small_dump), [str(AAWIKI), str(tmp_path / "missing.xml")])
    assert file_hash(small_dump) == before


def test_observer_sees_every_op_before_it_applies(small_dump, tmp_path, fixture_model):
    _, objects = fixture_model
    xml = tmp_path / "one.xml"
    write_xml(xml, [objects[1271]])
    ch = tmp_path / "one.ichanges"
    write_changes(str(ch), [DeletePage(1269)])

    class Obs:
        def __init__(self):
            self.seen, self.committed = [], None

        def op(self, op, dump):
            if isinstance(op, DeletePage):
                assert dump.get_page(op.page_id) is not None  # not applied yet
            self.seen.append(type(op).__name__)

        def commit(self, dump):
            self.committed = dump.sequence

    obs = Obs()
    reports = []
    update(str(small_dump), [str(xml), str(ch)], observer=obs, progress=reports.append)
    last = reports[-1]
    assert last["revisions"] == len(objects[1271][1]) and last["deleted_pages"] == 1
    assert last["input_bytes"] == last["input_size"] == xml.stat().st_size + ch.stat().st_size
    assert obs.seen[0] == "PutPage" and obs.seen[-1] == "DeletePage"
    assert obs.seen.count("PutRevision") == len(objects[1271][1])
    assert obs.committed == 1

    class Refuse(Obs):
        def commit(self, dump):
            raise RuntimeError("no")

    ch2 = tmp_path / "two.ichanges"
    write_changes(str(ch2), [DeletePage(1270)])
    before = file_hash(small_dump)
    with pytest.raises(RuntimeError):
        update(str(small_dump), str(ch2), observer=Refuse())
    assert file_hash(small_dump) == before


def test_change_set_round_trip(fixture_model, tmp_path):
    """Every op survives write_changes/read_changes; revisions keep their fields."""
    _, objects = fixture_model
    page, revs = objects[1269]
    ops = [PutPage(page), *(PutRevision(r, page.id) for r in revs[:3]), DeletePage(3),
           DeleteRevision(4), MovePage(5, 1, "Talk:X"), HideRevision(6, True, False, True, True),
           MergeRevisions([7, 8], 9)]
    path = tmp_path / "rt.ichanges"
    write_changes(str(path), ops)
    back = list(read_changes(str(path)))
    assert [o.line for o in back] == list(range(2, len(ops) + 2))
    for a, b in zip(ops, back):
        assert type(a) is type(b)
        if isinstance(a, PutRevision):
            assert rev_fields(a.rev) == rev_fields(b.rev) and a.page_id == b.page_id
        elif isinstance(a, PutPage):
            assert (a.page.id, a.page.title, a.page.namespace) == (
                b.page.id, b.page.title, b.page.namespace)
        else:
            assert a == b
    assert json.loads(path.read_text().splitlines()[0]) == {"format": "incrdump-changes",
                                                            "version": 1}
    assert op_to_json(ops[-1]) == {"op": "merge_revisions", "rev_ids": [7, 8], "into_page_id": 9}


# ---- the CLI ---------------------------------------------------------------------------


def test_cli_update(small_dump, tmp_path, capsys):
    ch = tmp_path / "c.ichanges"
    write_changes(str(ch), [DeletePage(1269)])
    assert cli.main(["update", str(small_dump), str(ch), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["deleted_pages"] == 1 and out["sequence"] == 1
    bad = tmp_path / "b.ichanges"
    bad.write_text('{"op": "delete_page", "page_id": 1269}\n')  # gone now
    before = file_hash(small_dump)
    assert cli.main(["update", str(small_dump), str(bad)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"incrdump update: {bad}:1: ") and "not in the dump" in err
    assert file_hash(small_dump) == before
    with pytest.raises(SystemExit) as e:
        cli.main(["update", str(small_dump)])
    assert e.value.code == 2
    with pytest.raises(SystemExit) as e:
        cli.main(["update", "--help"])
    assert e.value.code == 0
    assert "one transaction" in capsys.readouterr().out


# ---- crash ------------------------------------------------------------------------------

_UPDATER = textwrap.dedent("""
    import os, sys, time
    from incrdump.update import update

    dump, stop_at, sources = sys.argv[1], int(sys.argv[2]), sys.argv[3:]

    class Obs:
        n = 0
        def op(self, op, d):
            self.n += 1
            if self.n == stop_at:
                print("ready", flush=True)
                time.sleep(60)      # killed here, in the middle of the transaction
        def commit(self, d):
            if stop_at == -1:
                print("ready", flush=True)
                time.sleep(60)      # killed right before the commit
    update(dump, sources, observer=Obs())
    print("done", flush=True)
""")


def _run_until_ready(dump, stop_at, sources):
    p = subprocess.Popen([sys.executable, "-c", _UPDATER, str(dump), str(stop_at), *sources],
                         stdout=subprocess.PIPE, text=True)
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


def test_sigkill_during_update(aasplit, tmp_path):
    """SIGKILL after 50, 300 and all operations (right before the commit)
    of an update of 800+ revisions: the dump opens at its previous
    generation with the same export; the update then runs to the end and
    gives what an uninterrupted update gives."""
    base, days = aasplit
    dump, ref = tmp_path / "k.idump", tmp_path / "ref.idump"
    load(str(dump), base)
    load(str(ref), base)
    update(str(ref), days)
    want = export_bytes(ref)
    before_export = export_bytes(dump)
    gen = incrdump.Dump(str(dump)).info()["generation"]
    for stop_at in (50, 300, -1):
        _run_until_ready(dump, stop_at, days)
        with incrdump.Dump(str(dump)) as d:
            assert d.info()["generation"] == gen and d.sequence == 0
            d.check()
        assert export_bytes(dump) == before_export
    stats = update(str(dump), days)
    assert stats["generation"] == gen + 1 and stats["sequence"] == 1
    assert export_bytes(dump) == want


_TIMED = textwrap.dedent("""
    import sys, time
    from incrdump.update import update
    print("start", flush=True)
    t = time.monotonic()
    update(sys.argv[1], sys.argv[2:])
    print(time.monotonic() - t, flush=True)
""")


def test_sigkill_at_random_moments(aasplit, tmp_path):
    """Kills at random moments of a real update (no pause; the moment
    drawn over the update's own duration, measured first): the dump is
    always at the old generation with the old export, or at the new one
    with the new export, and the update then succeeds."""
    import random
    import shutil

    base, days = aasplit
    first, ref = tmp_path / "first.idump", tmp_path / "ref.idump"
    load(str(first), base)
    old = export_bytes(first)
    gen = incrdump.Dump(str(first)).info()["generation"]
    shutil.copy(first, ref)
    out = subprocess.run([sys.executable, "-c", _TIMED, str(ref), *days], check=True,
                         capture_output=True, text=True).stdout.split()
    duration = float(out[1])
    want = export_bytes(ref)
    rnd = random.Random(5)
    outcomes = []
    for trial in range(8):
        dump = tmp_path / f"k{trial}.idump"
        shutil.copy(first, dump)
        p = subprocess.Popen([sys.executable, "-c", _TIMED, str(dump), *days],
                             stdout=subprocess.PIPE, text=True)
        assert p.stdout.readline().strip() == "start"
        time.sleep(rnd.uniform(0, duration * 1.1))
        p.send_signal(signal.SIGKILL)
        p.wait()
        with incrdump.Dump(str(dump)) as d:
            g = d.info()["generation"]
            d.check()
        assert g in (gen, gen + 1)
        assert export_bytes(dump) == (old if g == gen else want)
        outcomes.append(g - gen)
        if g == gen:
            update(str(dump), days)
            assert export_bytes(dump) == want
    assert 0 in outcomes, outcomes  # at least one kill landed inside the update


# ---- kinds, XML specifics ----------------------------------------------------------------


def test_current_and_articles_dumps_pass_over_what_they_do_not_hold(tmp_path, fixture_model):
    model, objects = fixture_model
    main = 1269
    ids = sorted(model[main]["revs"])
    cur = tmp_path / "cur.idump"
    load(str(cur), str(AAWIKI), kind="current")
    old = objects[main][1][0]
    ch = tmp_path / "c.ichanges"
    write_changes(str(ch), [HideRevision(ids[0], comment=True), DeleteRevision(ids[1]),
                            PutRevision(old, main), HideRevision(ids[-1], user=True)])
    stats = update(str(cur), str(ch))
    assert stats["skipped"] == 2 and stats["hidden"] == 1
    with incrdump.Dump(str(cur)) as d:
        revs = list(d.page(main))
        assert [r.id for r in revs] == [ids[-1]] and revs[0].user.deleted
        d.check()

    art = tmp_path / "art.idump"
    load(str(art), str(AAWIKI), articles=True)
    user_page = next(pid for pid in model if model[pid]["namespace"] == 2)
    portal = next(pid for pid in model if model[pid]["namespace"] == 4)
    write_changes(str(ch), [DeletePage(user_page), MovePage(portal, 5, "Wikipedia talk:X"),
                            HideRevision(next(iter(model[user_page]["revs"])), text=True)])
    stats = update(str(art), str(ch))
    assert stats["skipped"] == 2 and stats["deleted_pages"] == 1
    with incrdump.Dump(str(art)) as d:
        assert d.get_page(portal) is None  # moved out of the article namespaces
        d.check()


def test_xml_merge_and_document_order(tmp_path, fixture_model):
    """XML that lists a stored revision under another page moves it there
    (twice in one update is an error); revisions listed out of id order
    export in the order a fresh import of the whole file gives."""
    _, objects = fixture_model
    (pa, ra), (pb, rb) = objects[1981], objects[1982]
    # the whole file: page a with its revisions in the order 0, 2, 1, 3...
    order = [ra[0], ra[2], ra[1]] + ra[3:]
    write_xml(tmp_path / "all.xml", [(pa, order), (pb, rb)])
    write_xml(tmp_path / "base.xml", [(pa, order[:1]), (pb, rb)])
    write_xml(tmp_path / "day.xml", [(pa, order[1:])])
    fresh, upd = tmp_path / "f.idump", tmp_path / "u.idump"
    load(str(fresh), str(tmp_path / "all.xml"))
    load(str(upd), str(tmp_path / "base.xml"))
    update(str(upd), str(tmp_path / "day.xml"))
    assert export_bytes(upd) == export_bytes(fresh)
    # b's first revision shows up under a: a merge, told to an observer
    write_xml(tmp_path / "merge.xml", [(pa, [rb[0]])])

    class Obs:
        ops = []

        def op(self, op, dump):
            self.ops.append(op)

        def commit(self, dump):
            pass

    update(str(upd), str(tmp_path / "merge.xml"), observer=Obs())
    names = [type(o).__name__ for o in Obs.ops]
    assert names[:3] == ["PutPage", "PutRevision", "MergeRevisions"], names
    Obs.ops = Obs.ops[:3]
    assert Obs.ops[-1].rev_ids == (rb[0].id,) and Obs.ops[-1].into_page_id == pa.id
    with incrdump.Dump(str(upd)) as d:
        assert d.revision(rb[0].id).page_id == pa.id
        assert d.revision(rb[0].id).text == rb[0].text
        d.check()
    write_xml(tmp_path / "twice.xml", [(pa, [rb[1]]), (pb, [rb[1]])])
    before = file_hash(upd)
    with pytest.raises(XMLFormatError, match="duplicate revision id"):
        update(str(upd), str(tmp_path / "twice.xml"))
    assert file_hash(upd) == before


def test_cli_sigterm_from_stdin(small_dump, tmp_path, fixture_model):
    """`incrdump update DUMP -` reading a pipe, terminated half-way: exit
    143, the dump unchanged; the whole input then applies."""
    _, objects = fixture_model
    xml = tmp_path / "in.xml"
    write_xml(xml, [objects[pid] for pid in list(objects)[:40]])
    data = xml.read_bytes().replace(b"<comment>", b"<comment>changed ")
    before = file_hash(small_dump)
    p = subprocess.Popen([sys.executable, "-m", "incrdump.cli", "update", str(small_dump), "-"],
                         stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    p.stdin.write(data[: len(data) // 2])
    p.stdin.flush()
    time.sleep(1.0)
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=30)
    assert p.returncode == 143, err
    assert b"terminated" in err
    assert file_hash(small_dump) == before
    p = subprocess.run([sys.executable, "-m", "incrdump.cli", "update", str(small_dump), "-"],
                       input=data, capture_output=True)
    assert p.returncode == 0, p.stderr
    with incrdump.Dump(str(small_dump)) as d:
        assert d.page(list(objects)[0]).latest().comment.startswith("changed ")
