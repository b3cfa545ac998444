"""The Python API of dumps (incrdump.dump, incrdump.load): real and crafted
dumps loaded and read back field by field against incrdump.xmlread, random
access, kinds, transactions, handles, threads, map() and compact().

The XML reader is the reference here: whatever it reads from a file, a dump
loaded from that file must give back (values, texts and the fidelity
details the XML writer of issue 4 needs).
"""
import datetime
import hashlib
import os
import pathlib
import pickle
import random
import shutil
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import incrdump
from incrdump import _extra
from incrdump.dump import _contributor_c
from incrdump.errors import (
    CorruptDumpError,
    ExistsError,
    IncrdumpError,
    InvalidArgumentError,
    MisuseError,
    NotFoundError,
    ReadOnlyError,
)
from incrdump.xmlread import XMLReader, sha1_base36

HERE = pathlib.Path(__file__).resolve().parent
REAL = HERE.parent.parent / "shared" / "data" / "real"
CRAFTED = HERE / "data" / "crafted-fidelity-0.11.xml"
needs_real = pytest.mark.skipif(not REAL.is_dir(), reason=f"real dumps not present at {REAL}")
HAVE_7Z = shutil.which("7z") is not None

# small real files, each loaded whole (the 7z one needs the 7z program)
SMALL = [
    "enwiki-pair-0.10.xml",
    "enwiki-article-pear-0.10.xml",
    "enwiki-article-pear-0.3.xml",
    "simplewiki-extract-deleted-0.10.xml",
    "simplewiki-extract-sparkdumper-0.11.xml",
    "stub-history-sample.xml.gz",
    "stub-articles-sample.xml.gz",
    "wikidatawiki-pages-articles-sample1.xml.bz2",
    "wikidatawiki-pages-articles-sample2.xml.bz2",
    "wikidatawiki-pages-articles-sample4.xml.bz2",
    "elwikivoyage-pages-articles-multistream-p2566p2583.xml.bz2",
    "aawiki-20260101-pages-meta-current.xml.bz2",
    "aawiki-20260101-pages-meta-history.xml.7z",
    "empty-dump.xml",
]
LARGE = ["ltgwiki-pages-articles-sample.xml.bz2", "elwikivoyage-pages-articles-sample.xml.bz2"]


def source(name):
    if name == CRAFTED.name:
        return CRAFTED
    if not REAL.is_dir():
        pytest.skip(f"real dumps not present at {REAL}")
    if name.endswith(".7z") and not HAVE_7Z:
        pytest.skip("the 7z program (p7zip-full) is missing")
    return REAL / name


@pytest.fixture(scope="session")
def loaded(tmp_path_factory):
    """loaded(name, **options) -> path of a dump loaded from that fixture
    (built once per session and options)."""
    cache = {}
    base = tmp_path_factory.mktemp("loaded")

    def get(name, **options):
        if name.startswith("stub-"):  # stub XML has no texts: only a stub import takes it
            options.setdefault("kind", "stub")
        key = (name, tuple(sorted(options.items())))
        if key not in cache:
            path = base / f"{len(cache)}-{name}.idump"
            incrdump.load(path, str(source(name)), **options)
            cache[key] = str(path)
        return cache[key]

    return get


# ---- field-by-field comparison with the XML reader -----------------------------------

PAGE_FIELDS = ("id", "namespace", "title", "redirect", "restrictions", "namespace_from_title",
               "attributes", "is_redirect")
REV_FIELDS = ("id", "parent_id", "timestamp", "timestamp_text", "minor", "comment", "deleted",
              "sha1", "elements", "attributes", "text", "model", "format", "origin", "bytes")
USER_FIELDS = ("name", "id", "ip", "deleted", "elements", "attributes", "text")
SLOT_FIELDS = ("role", "origin", "model", "format", "text_attributes", "deleted", "bytes",
               "sha1", "location", "text_id", "space", "elements", "attributes")


def raw(extras):
    return [(e.name, e.xml, e.parent, e.position) for e in extras]


def same_page(page, xpage):
    for f in PAGE_FIELDS:
        assert getattr(page, f) == getattr(xpage, f), f
    assert tuple(page.elements) == tuple(xpage.elements)
    assert raw(page.extras) == raw(xpage.extras)


def same_revision(rev, xrev, kind="history"):
    for f in REV_FIELDS:
        if f == "text" and kind == "stub":
            continue
        assert getattr(rev, f) == getattr(xrev, f), f
    assert rev.timestamp.tzinfo is not None and rev.timestamp.utcoffset() == datetime.timedelta(0)
    assert raw(rev.extras) == raw(xrev.extras)
    for f in USER_FIELDS:
        assert getattr(rev.user, f) == getattr(xrev.user, f), "user." + f
    assert raw(rev.user.extras) == raw(xrev.user.extras)
    assert list(rev.slots) == list(xrev.slots)
    for role, xs in xrev.slots.items():
        s = rev.slots[role]
        for f in SLOT_FIELDS:
            assert getattr(s, f) == getattr(xs, f), f"slot {role}.{f}"
        assert raw(s.extras) == raw(xs.extras)
        if kind == "stub":
            assert s.text is None
        else:
            assert s.text == xs.text, f"slot {role} text"
            assert s.stub == xs.stub
            if xs.text is not None:
                assert s.text_bytes() == xs.text.encode("utf-8")


def compare_with_xml(path, src, kind="history", articles=False):
    """Check every page and revision of the dump at path against the XML.
    Returns (pages, revisions) compared."""
    npages = nrevs = 0
    with incrdump.open(path) as dump, XMLReader(str(src)) as reader:
        si, xsi = dump.siteinfo, reader.siteinfo
        if xsi is not None:
            for f in ("sitename", "dbname", "base", "generator", "case", "elements",
                      "attributes"):
                assert getattr(si, f) == getattr(xsi, f), f
            assert raw(si.extras) == raw(xsi.extras)
            assert (si.namespaces is None) == (xsi.namespaces is None)
            for key, ns in (xsi.namespaces or {}).items():
                got = si.namespaces[key]
                assert (got.key, got.name, got.case, got.attributes) == (
                    ns.key, ns.name, ns.case, ns.attributes)
            assert list(si.namespaces or ()) == list(xsi.namespaces or ())
            assert si.version == reader.version and si.lang == reader.lang
            assert si.root_attributes == reader.attributes
        expected_ids = []
        for xpage in reader:
            if articles and not incrdump._lowlevel.is_article(xpage.namespace):
                assert dump.get_page(xpage.id) is None
                continue
            expected_ids.append(xpage.id)
            xrevs = list(xpage)
            page = dump.page(xpage.id)
            same_page(page, xpage)
            revs = list(page)
            if kind == "current":
                want = [max(xrevs, key=lambda r: r.id)] if xrevs else []
            else:
                want = sorted(xrevs, key=lambda r: r.id)
            assert [r.id for r in revs] == [r.id for r in want]
            for rev, xrev in zip(revs, want):
                same_revision(rev, xrev, kind)
                assert rev.page_id == xpage.id and rev.page is page
                same_revision(dump.revision(xrev.id), xrev, kind)
                nrevs += 1
            npages += 1
        assert sorted(expected_ids) == [p.id for p in dump]
        info = dump.info()
        assert (info["pages"], info["revisions"]) == (npages, nrevs)
        assert raw(dump.siteinfo.top_extras if dump.siteinfo else []) == raw(reader.extras)
    return npages, nrevs


@needs_real
@pytest.mark.parametrize("name", SMALL)
def test_real_fixture_reads_back_as_the_xml(loaded, name):
    compare_with_xml(loaded(name), source(name))


@needs_real
@pytest.mark.parametrize("name", LARGE)
def test_larger_real_fixtures_read_back_as_the_xml(loaded, name):
    compare_with_xml(loaded(name), source(name))


def test_crafted_fidelity_details_read_back(loaded):
    path = loaded(CRAFTED.name)
    pages, revs = compare_with_xml(path, CRAFTED)
    assert (pages, revs) == (4, 6)
    with incrdump.open(path) as dump:
        rev = dump.revision(100)
        assert list(rev.slots) == ["main", "mediainfo"]
        assert rev.slots["mediainfo"].text == "{}" and rev.text == "Hellö"
        deleted = dump.revision(101)
        assert deleted.deleted == (True, True, True) and deleted.text is None
        assert deleted.user.deleted and deleted.user.text is None and deleted.comment is None
        assert [e.name for e in deleted.extras] == ["futurefield"]
        assert dump.revision(103).text == "" and dump.revision(103).user.ip == "2001:db8::1"
        assert dump.revision(103).timestamp == datetime.datetime(
            2020, 1, 3, 0, 0, 0, 500000, tzinfo=datetime.timezone.utc)
        assert len(dump.revision(103).comment) > 255
        assert dump.page(12).redirect == "" and dump.page(11).redirect == "Multi"
        assert dump.revision(120).user.id == -1 and dump.revision(120).bytes == -1
        assert dump.revision(130).user.id == 0 and dump.revision(130).comment == ""


@needs_real
def test_sha1_of_every_text_matches_the_xml(loaded):
    """Every stored text hashes to the <sha1> the XML gives for it (where the
    XML's own text does)."""
    name = "aawiki-20260101-pages-meta-current.xml.bz2"
    checked = 0
    with incrdump.open(loaded(name)) as dump:
        for page in dump:
            for rev in page:
                if rev.text is not None and rev.sha1:
                    assert sha1_base36(rev.text_bytes()) == rev.sha1, rev.id
                    checked += 1
    assert checked > 400


def test_extras_are_empty_for_canonical_records(loaded):
    """Ordinary records cost nothing extra: the fidelity details of a real
    0.11 dump are all canonical or in the text-attribute profile."""
    if not REAL.is_dir():
        pytest.skip("no real dumps")
    name = "aawiki-20260101-pages-meta-current.xml.bz2"
    with XMLReader(str(source(name))) as reader:
        profile, learned = {}, {}
        nonempty = 0
        for page in reader:
            nonempty += bool(_extra.encode_page(page))
            for rev in page:
                fits = _contributor_c(rev.user)[3]
                nonempty += bool(_extra.encode_revision(rev, rev.user, fits,
                                                        list(rev.slots.values()), profile,
                                                        learned))
    assert nonempty == 0
    assert 1 <= len(profile) <= 4


# ---- kinds and filters ------------------------------------------------------------------


@needs_real
@pytest.mark.parametrize("kind", ["current", "stub"])
def test_kinds_from_a_history_dump(loaded, kind):
    name = "simplewiki-extract-deleted-0.10.xml"
    path = loaded(name, kind=kind)
    compare_with_xml(path, source(name), kind=kind)
    with incrdump.open(path) as dump:
        info = dump.info()
        assert info["kind"] == kind
        if kind == "stub":
            assert info["texts"] == 0
            assert all(r.text is None and r.bytes is not None for p in dump for r in p)


@needs_real
def test_articles_filter(loaded):
    name = "enwiki-pair-0.10.xml"  # one article, one talk page
    path = loaded(name, articles=True)
    n, _ = compare_with_xml(path, source(name), articles=True)
    assert n == 1
    with incrdump.open(path) as dump:
        assert dump.info()["articles"] is True and dump.articles
    with incrdump.open(path, "w") as dump:
        with pytest.raises(InvalidArgumentError):
            with dump.transaction() as txn:
                txn.put_page(id=99, title="Talk:X", namespace=1)


def test_xz_codec_and_depth_one(tmp_path):
    path = tmp_path / "x.idump"
    incrdump.load(path, str(CRAFTED), codec="xz", max_depth=1)
    compare_with_xml(str(path), CRAFTED)
    with incrdump.open(path) as dump:
        assert dump.codec == "xz" and dump.info()["codec"] == "xz"


# ---- random access -------------------------------------------------------------------------


def test_lookups_by_id_and_title(loaded):
    with incrdump.open(loaded(CRAFTED.name)) as dump:
        assert dump.page(11).title == "Talk:Redirected"
        assert dump.page_by_title("Talk:Redirected").id == 11
        assert dump.page_by_title("talk:Redirected").id == 11       # prefix case-folded
        assert dump.page_by_title("Redirected", namespace=1).id == 11
        assert dump.page_by_title("Talk:Redirected", namespace=1).id == 11
        assert dump.page_by_title("User_talk:Carol").id == 13
        assert dump.page_by_title("Carol", 3).id == 13
        assert dump.page_by_title("Multi", 0).id == 10
        assert dump.get_page_by_title("Redirected") is None            # namespace 0
        assert dump.get_page_by_title("Multi", 1) is None
        assert dump.revision(110).page.id == 11
        assert dump.revision(110).text == "#REDIRECT [[Multi]]"


def test_missing_is_a_key_error_and_get_returns_none(loaded):
    with incrdump.open(loaded(CRAFTED.name)) as dump:
        for call in (lambda: dump.page(999), lambda: dump.revision(999),
                     lambda: dump.page_by_title("Nope")):
            with pytest.raises(NotFoundError) as e:
                call()
            assert isinstance(e.value, KeyError) and isinstance(e.value, IncrdumpError)
        with pytest.raises(KeyError, match="no revision with id 999"):
            dump.revision(999)
        assert dump.get_page(999) is None and dump.get_revision(999) is None
        assert dump.get_page_by_title("Nope") is None
        assert dump.get_page(10).id == 10 and dump.get_revision(100).id == 100


def test_page_ranges_and_namespaces(loaded):
    with incrdump.open(loaded(CRAFTED.name)) as dump:
        assert [p.id for p in dump.pages()] == [10, 11, 12, 13]
        assert [p.id for p in dump.pages(11, 13)] == [11, 12]
        assert [p.id for p in dump.pages(start=12)] == [12, 13]
        assert [p.id for p in dump.pages(end=11)] == [10]
        assert [p.id for p in dump.pages(namespace=0)] == [10, 12]
        assert [p.id for p in dump.pages(namespace={1, 3})] == [11, 13]
        assert [p.title for p in dump.pages(namespace=0, order="title")] == ["Bare", "Multi"]
        assert len(dump) == 4
        page = dump.page(10)
        assert [r.id for r in page] == [r.id for r in page] == [100, 101, 103]  # re-iterable
        assert page.latest().id == 103


def test_metadata_scan_reads_no_text(loaded, monkeypatch):
    with incrdump.open(loaded(CRAFTED.name)) as dump:
        calls = []
        real = dump._read_text
        monkeypatch.setattr(dump, "_read_text", lambda *a: calls.append(a) or real(*a))
        for page in dump:
            for rev in page:
                rev.id, rev.user, rev.comment, rev.sha1, rev.bytes, rev.slots["main"].model
        assert calls == []
        assert dump.revision(100).text == "Hellö"
        assert len(calls) == 1


# ---- handles --------------------------------------------------------------------------------


def test_closed_handle_refuses_work(loaded):
    dump = incrdump.open(loaded(CRAFTED.name))
    pages = iter(dump)
    next(pages)
    rev = dump.revision(100)
    dump.close()
    dump.close()  # idempotent
    assert dump.closed
    for call in (lambda: dump.page(10), lambda: dump.revision(100), lambda: list(dump),
                 lambda: dump.info(), lambda: dump.siteinfo, lambda: next(pages),
                 lambda: rev.text, lambda: dump.transaction()):
        with pytest.raises(MisuseError, match="closed"):
            call()


def test_open_options(tmp_path, loaded):
    path = loaded(CRAFTED.name)
    with pytest.raises(InvalidArgumentError):
        incrdump.open(path, "a")
    with pytest.raises(InvalidArgumentError):
        incrdump.open(tmp_path / "n.idump", "w", kind="everything")
    with pytest.raises(InvalidArgumentError, match="kind"):
        incrdump.open(path, kind="stub")
    with incrdump.open(path, kind="history", codec="zstd") as dump:
        assert dump.kind == "history"
    with pytest.raises(NotFoundError):
        incrdump.open(tmp_path / "missing.idump")
    with incrdump.open(path) as dump, pytest.raises(ReadOnlyError):
        dump.transaction()


# ---- writing ---------------------------------------------------------------------------------


def ts(day):
    return datetime.datetime(2021, 1, day, tzinfo=datetime.timezone.utc)


def test_transactions_commit_and_abort(tmp_path):
    path = tmp_path / "t.idump"
    with incrdump.open(path, "w") as dump:
        with dump.transaction() as txn:
            txn.put_page(id=1, title="One")
            txn.put_revision(id=10, page_id=1, timestamp=ts(1), text="first",
                             user=incrdump.User(name="Ann", id=5), comment="c", minor=True)
            assert dump.revision(10).text == "first"  # the handle sees its own writes
        with pytest.raises(RuntimeError):
            with dump.transaction() as txn:
                txn.put_revision(id=11, page_id=1, timestamp=ts(2), text="second")
                raise RuntimeError("boom")
        assert dump.get_revision(11) is None
        txn = dump.transaction()
        with pytest.raises(MisuseError):
            dump.transaction()  # one at a time per handle
        txn.put_revision(id=12, page_id=1, timestamp="2021-01-03T00:00:00Z", text="third")
        txn.abort()
        assert not txn.active
        with pytest.raises(MisuseError):
            txn.put_page(id=2, title="Two")
        with pytest.raises(MisuseError):
            txn.commit()
    with incrdump.open(path) as dump:
        assert [r.id for r in dump.page(1)] == [10]
        rev = dump.revision(10)
        assert (rev.text, rev.user.name, rev.user.id, rev.comment, rev.minor) == (
            "first", "Ann", 5, "c", True)
        assert rev.timestamp == ts(1) and rev.timestamp_text == "2021-01-01T00:00:00Z"
        assert rev.parent_id is None and rev.deleted == (False, False, False)


def test_titles_are_unique_and_a_refused_write_keeps_the_transaction(tmp_path):
    with incrdump.open(tmp_path / "u.idump", "w") as dump:
        with dump.transaction() as txn:
            txn.put_page(id=1, title="Same")
            with pytest.raises(ExistsError):
                txn.put_page(id=2, title="Same")
            txn.put_page(id=3, title="Other")
        assert [p.id for p in dump] == [1, 3]


def test_readers_see_commits_after_refresh(tmp_path):
    path = tmp_path / "r.idump"
    with incrdump.open(path, "w") as writer:
        with writer.transaction() as txn:
            txn.put_page(id=1, title="One")
        with incrdump.open(path) as reader:
            assert reader.siteinfo is None
            with writer.transaction() as txn:
                txn.put_siteinfo(incrdump.SiteInfo("Site", "sitewiki", namespaces={
                    0: incrdump.Namespace(0, ""), 1: incrdump.Namespace(1, "Talk")}))
                txn.put_page(id=2, title="Talk:Two", namespace=1)
            assert reader.get_page(2) is None and reader.siteinfo is None  # its snapshot
            reader.refresh()
            assert reader.page_by_title("Talk:Two").id == 2
            assert reader.siteinfo.dbname == "sitewiki"


def test_put_revision_needs_an_existing_page(tmp_path):
    with incrdump.open(tmp_path / "t.idump", "w") as dump:
        with pytest.raises(NotFoundError), dump.transaction() as txn:
            txn.put_revision(id=1, page_id=5, timestamp=ts(1), text="x")
        with pytest.raises(InvalidArgumentError), dump.transaction() as txn:
            txn.put_revision(id=1, timestamp=ts(1), text="x")  # no page id at all


def test_copy_between_dumps_keeps_everything(loaded, tmp_path):
    src_path = loaded(CRAFTED.name)
    dst = tmp_path / "copy.idump"
    with incrdump.open(src_path) as src, incrdump.open(dst, "w") as out:
        with out.transaction() as txn:
            site = src.siteinfo
            txn.put_siteinfo(site)
            for page in src:
                txn.put_page(page)
                for rev in page:
                    txn.put_revision(rev)
    compare_with_xml(str(dst), CRAFTED)


def test_deletes(tmp_path):
    path = tmp_path / "d.idump"
    texts = {}
    base = "".join(f"line {i} of a page that grows slowly\n" for i in range(300))
    with incrdump.open(path, "w") as dump:
        with dump.transaction() as txn:
            for pid in (1, 2):
                txn.put_page(id=pid, title=f"P{pid}")
                for k in range(6):
                    rid = pid * 100 + k
                    texts[rid] = base + f"edit {k}\n" * k
                    txn.put_revision(id=rid, page_id=pid, timestamp=ts(k + 1), text=texts[rid],
                                     parent_id=rid - 1 if k else None)
        with dump.transaction() as txn:
            txn.delete_revision(101)  # a base others may be deltas against
            txn.delete_revision(103)
            txn.delete_page(2)
            with pytest.raises(NotFoundError):
                txn.delete_revision(101)
            with pytest.raises(NotFoundError):
                txn.delete_page(2)
    with incrdump.open(path) as dump:
        assert [p.id for p in dump] == [1]
        assert [r.id for r in dump.page(1)] == [100, 102, 104, 105]
        for rid in (100, 102, 104, 105):
            assert dump.revision(rid).text == texts[rid]
        assert dump.get_revision(201) is None and dump.get_page(2) is None
        assert dump.check()["revisions"] == 4


def test_current_kind_keeps_the_latest(tmp_path):
    with incrdump.open(tmp_path / "c.idump", "w", kind="current") as dump:
        with dump.transaction() as txn:
            txn.put_page(id=1, title="P")
            txn.put_revision(id=5, page_id=1, timestamp=ts(5), text="five")
            txn.put_revision(id=3, page_id=1, timestamp=ts(3), text="three")  # older: ignored
            txn.put_revision(id=7, page_id=1, timestamp=ts(7), text="seven")
        assert [(r.id, r.text) for r in dump.page(1)] == [(7, "seven")]


def test_mcr_slots_by_hand(tmp_path):
    with incrdump.open(tmp_path / "m.idump", "w") as dump:
        with dump.transaction() as txn:
            txn.put_page(id=1, title="File:X.png", namespace=6)
            slots = [incrdump.Slot("main", "main text", model="wikitext", format="text/x-wiki"),
                     incrdump.Slot("mediainfo", '{"x": 1}', model="wikibase-mediainfo",
                                   origin=9, bytes=8)]
            txn.put_revision(id=9, page_id=1, timestamp=ts(1), slots=slots)
        rev = dump.revision(9)
        assert list(rev.slots) == ["main", "mediainfo"]
        assert rev.slots["mediainfo"].text == '{"x": 1}' and rev.slots["mediainfo"].origin == 9
        assert rev.text_bytes("mediainfo") == b'{"x": 1}'
        assert rev.elements[-1] == "content" and rev.slots["mediainfo"].elements == (
            "role", "origin", "model", "text")


# ---- threads, processes, pickling ---------------------------------------------------------


def _expected_texts(path):
    with incrdump.open(path) as dump:
        return {r.id: r.text for p in dump for r in p}


def test_threads_share_one_handle(loaded):
    name = "aawiki-20260101-pages-meta-current.xml.bz2" if REAL.is_dir() else CRAFTED.name
    path = loaded(name)
    expected = _expected_texts(path)
    ids = sorted(expected)
    errors = []
    with incrdump.open(path) as dump:
        def reader(seed):
            rnd = random.Random(seed)
            try:
                for _ in range(300):
                    rid = rnd.choice(ids)
                    assert dump.revision(rid).text == expected[rid]
                n = sum(1 for p in dump for r in p)
                assert n == len(ids)
            except BaseException as e:  # noqa: BLE001 -- reported below
                errors.append(e)

        threads = [threading.Thread(target=reader, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert errors == []


def page_summary(page):
    revs = list(page)
    return (page.id, page.title, [r.id for r in revs],
            hashlib.sha1("".join(r.text or "" for r in revs).encode()).hexdigest())


def revision_ids(page):
    for rev in page:
        yield rev.id


def test_map_across_processes_equals_a_serial_scan(loaded):
    name = "aawiki-20260101-pages-meta-current.xml.bz2" if REAL.is_dir() else CRAFTED.name
    path = loaded(name)
    with incrdump.open(path) as dump:
        serial = [page_summary(p) for p in dump]
        serial_ids = [r.id for p in dump for r in p]
    assert list(incrdump.map(page_summary, path, processes=2)) == serial
    assert list(incrdump.map(revision_ids, path, processes=2)) == serial_ids
    assert list(incrdump.map(page_summary, path, processes=1)) == serial


def test_values_pickle_without_their_handle(loaded):
    with incrdump.open(loaded(CRAFTED.name)) as dump:
        rev = pickle.loads(pickle.dumps(dump.revision(100)))
        page = pickle.loads(pickle.dumps(dump.page(10)))
    assert rev.text == "Hellö" and rev.slots["mediainfo"].text == "{}"
    assert rev.user.name == "Älice" and page.title == "Multi" and list(page) == []


# ---- load and compact --------------------------------------------------------------------


def test_load_refuses_to_overwrite_and_leaves_nothing_on_error(tmp_path):
    path = tmp_path / "l.idump"
    incrdump.load(path, str(CRAFTED))
    with pytest.raises(ExistsError):
        incrdump.load(path, str(CRAFTED))
    bad = tmp_path / "bad.xml"
    text = CRAFTED.read_text(encoding="utf-8")
    bad.write_text(text[: text.index("<page>", text.index("<page>") + 1) + 30], encoding="utf-8")
    out = tmp_path / "bad.idump"
    with pytest.raises(IncrdumpError):
        incrdump.load(out, str(bad))
    assert not out.exists()
    assert sorted(os.listdir(tmp_path)) == ["bad.xml", "l.idump"]


def test_load_commits_in_batches_and_reports_progress(tmp_path):
    seen = []
    stats = incrdump.load(tmp_path / "b.idump", str(CRAFTED), batch_pages=1,
                          progress=seen.append)
    assert [s["pages"] for s in seen] == [1, 2, 3, 4, 4]
    assert stats["pages"] == 4 and stats["revisions"] == 6
    with incrdump.open(tmp_path / "b.idump") as dump:
        assert dump.info()["generation"] >= 5


@pytest.mark.parametrize("codec", ["zstd", "xz"])
def test_compact_keeps_every_record(loaded, tmp_path, codec):
    name = "elwikivoyage-pages-articles-sample.xml.bz2" if REAL.is_dir() else CRAFTED.name
    src = loaded(name)
    dst = tmp_path / "c.idump"
    stats = incrdump.compact(src, dst, codec=codec, level=3 if codec == "zstd" else None)
    assert stats["size_after"] == os.path.getsize(dst)
    compare_with_xml(str(dst), source(name))
    with incrdump.open(dst) as dump:
        info = dump.info()
        assert info["codec"] == codec
        if codec == "zstd" and REAL.is_dir():
            assert info["dictionary_bytes"] > 0 and stats["dictionary_bytes"] > 0
        assert dump.check()["revisions"] == info["revisions"]


def _all_texts(path):
    with incrdump.open(path) as dump:
        return [(page.id, rev.id, tuple((role, slot.text) for role, slot in rev.slots.items()))
                for page in dump for rev in page]


@pytest.mark.parametrize("name", ["aawiki-20260101-pages-meta-history.xml.7z", CRAFTED.name])
def test_compact_packed_reads_back_identically(loaded, tmp_path, name):
    src = loaded(name)
    packed, plain = tmp_path / "p.idump", tmp_path / "u.idump"
    incrdump.compact(src, packed, level=3, batch_pages=7)  # packed is the default
    incrdump.compact(src, plain, level=3, packed=False)
    want = _all_texts(src)
    assert _all_texts(packed) == want and _all_texts(plain) == want
    compare_with_xml(str(packed), source(name))
    with incrdump.open(packed) as dump, incrdump.open(plain) as other:
        assert dump.info()["packed"] and not other.info()["packed"]
        assert dump.check()["revisions"] == len(want)
        for _, rev_id, slots in random.Random(5).sample(want, min(50, len(want))):
            rev = dump.revision(rev_id)  # random access, in any order
            assert tuple((r, s.text) for r, s in rev.slots.items()) == slots


def test_packed_dump_later_writes(tmp_path):
    """A packed dump updated in place: its own writes visible before the
    commit (still buffered), an abort drops them, deletes and replacements
    of packed texts re-encode what depends on them, appends after packs."""
    path = tmp_path / "w.idump"
    rnd = random.Random(7)
    words = ["alpha", "beta", "gamma", "delta", "PEP", "syntax", "\u00e9t\u00e9", "\u65e5\u672c"]
    model = {}
    with incrdump.open(path, "w", packed=True, level=3) as dump:
        with dump.transaction() as txn:
            for page in (1, 2):
                txn.put_page(id=page, title=f"P{page}")
                text = " ".join(rnd.choice(words) for _ in range(3000))
                for i in range(60):
                    rev = page * 1000 + i
                    if i % 9 == 8:
                        text = model[rnd.choice([r for r in model if r // 1000 == page])]  # revert
                    else:
                        cut = rnd.randrange(len(text))
                        text = text[:cut] + rnd.choice(words) + " " + text[cut + rnd.randrange(40):]
                    txn.put_revision(id=rev, page_id=page, timestamp=ts(1), text=text)
                    model[rev] = text
                    assert dump.revision(rev).text == text  # buffered, yet readable
        assert dump.info()["packed"]
        with pytest.raises(RuntimeError):
            with dump.transaction() as txn:
                txn.put_revision(id=1100, page_id=1, timestamp=ts(2), text="dropped")
                raise RuntimeError("abort")
        assert dump.get_revision(1100) is None
        with dump.transaction() as txn:
            for rev in rnd.sample(sorted(model), 25):
                txn.delete_revision(rev)
                del model[rev]
            txn.put_revision(id=1030, page_id=1, timestamp=ts(3), text="replaced")
            model[1030] = "replaced"
            txn.put_revision(id=1200, page_id=1, timestamp=ts(3), text=model[1010] if 1010 in model else "x")
            model[1200] = model[1010] if 1010 in model else "x"
        assert dump.check()["revisions"] == len(model)
    with incrdump.open(path) as dump:
        for rev, text in model.items():
            assert dump.revision(rev).text == text


# ---- flat memory ------------------------------------------------------------------------------


def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def scan(path):
    n = 0
    with incrdump.open(path) as dump:
        for page in dump:
            for rev in page:
                n += len(rev.text or "")
    return n


@needs_real
def test_full_scan_keeps_memory_flat(loaded):
    path = loaded("elwikivoyage-pages-articles-sample.xml.bz2")
    total = scan(path)  # warm up caches and allocators
    before = rss()
    for _ in range(3):
        assert scan(path) == total
    growth = rss() - before
    assert growth < 16 << 20, f"RSS grew by {growth >> 20} MiB over three full scans"


# ---- the extra encoding: hostile bytes, round trips ------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64))
def test_extra_decoders_reject_garbage_cleanly(data):
    for decode in (lambda b: _extra.decode_revision(b, 2),
                   lambda b: _extra.decode_page(b, None, None),
                   _extra.decode_site):
        try:
            decode(data)
        except CorruptDumpError:
            pass


NAMES = st.sampled_from(["id", "text", "x", "Ünïcode", "comment", "a:b", ""])
PAIRS = st.lists(st.tuples(NAMES, st.text(max_size=8)), max_size=3).map(tuple)
RAWS = st.lists(st.builds(incrdump.RawElement, NAMES, st.text(max_size=20), NAMES,
                          st.integers(0, 300)), max_size=2)


USERS = st.sampled_from([("A", 1, None, False), (None, None, "1.2.3.4", False),
                         (None, None, None, True), ("", -1, None, False),
                         ("B", None, "5.6.7.8", False), ("C", -7, None, True)])
SMALL_INTS = st.one_of(st.none(), st.integers(-3, 10))


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(elements=st.lists(NAMES, max_size=12).map(tuple),
       attributes=st.dictionaries(NAMES, PAIRS, max_size=2), extras=RAWS, text_attrs=PAIRS,
       user_elements=st.lists(NAMES, max_size=3).map(tuple), user=USERS, size=SMALL_INTS,
       origin=SMALL_INTS)
def test_fidelity_details_round_trip_through_a_dump(tmp_path, elements, attributes, extras,
                                                    text_attrs, user_elements, user, size,
                                                    origin):
    path = tmp_path / "h.idump"
    name, uid, ip, deleted = user
    contributor = incrdump.Contributor(name, uid, ip, deleted, elements=user_elements,
                                       attributes={}, extras=extras)
    slot = incrdump.Slot("main", "text", bytes=size, origin=origin, text_attributes=text_attrs)
    rev = incrdump.Revision(1, ts(1), page_id=1, user=contributor, slots=[slot],
                            elements=elements, attributes=attributes, extras=extras)
    with incrdump.open(path, "w") as dump:
        with dump.transaction() as txn:
            txn.put_page(id=1, title="P", elements=elements, attributes=attributes,
                         extras=extras)
            txn.put_revision(rev)
        got = dump.revision(1)
        page = dump.page(1)
        text = got.text
    os.unlink(path)
    assert (page.elements, page.attributes, raw(page.extras)) == (
        elements, attributes, raw(extras))
    assert (got.elements, got.attributes, raw(got.extras)) == (elements, attributes, raw(extras))
    u = got.user
    assert (u.name, u.id, u.ip, u.deleted) == user
    assert u.elements == user_elements and raw(u.extras) == raw(extras)
    s = got.slots["main"]
    assert (s.bytes, s.origin, s.text_attributes, text) == (size, origin, text_attrs, "text")
