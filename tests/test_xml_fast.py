"""The C writer of XML export (csrc/dump_xml.c, ``dump_xml_page``) against
the Python one (:class:`incrdump.xmlwrite.XMLWriter`): the same bytes.

``export(..., fast=True)`` (the default) hands each page to C first; C
writes the pages whose records are in canonical form (an empty ``extra``)
and leaves the others to Python. Here both paths export the same dumps in
every mode (full, current, stub, stub-current), both schemas and several
revision-id ranges, and must agree byte for byte: every real fixture, the
crafted fidelity file, random dumps built through the Python API (deleted
fields, IPs, missing ids, empty texts, MCR slots, non-ASCII, texts full of
``& < > " '``, non-canonical timestamps, text-attribute profiles, writer
styles), and the benchmark corpus, whose round trip through C must give its
own bytes back. Every comparison also counts the pages C handled, and checks
that count against the records' extras read independently, so a C path that
always declined (and left everything to Python) would fail.
"""
import datetime
import hashlib
import io
import lzma
import pathlib

import pytest
from damage import damage_one_text
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import incrdump
from incrdump import _extra
from incrdump import _lowlevel as L
from incrdump.dump import Contributor, Deleted, RawElement, Revision, SiteInfo, Slot
from incrdump.errors import CorruptDumpError
from incrdump.load import load
from incrdump.xmlwrite import export
from test_dump_histories import history, make_revision

HERE = pathlib.Path(__file__).resolve().parent
DATA = HERE.parents[1] / "shared" / "data"
REAL = DATA / "real"
CORPUS = DATA / "bench" / "peps-history.xml.xz"
CRAFTED = HERE / "data" / "crafted-fidelity-0.11.xml"
FIXTURES = sorted(p.name for p in REAL.glob("*.xml*")
                  if not p.name.startswith("bad-") and "index" not in p.name)
MODES = ("full", "current", "stub", "stub-current")
SCHEMAS = ("0.10", "0.11")


@pytest.fixture
def counted(monkeypatch):
    """Counts of xml_page calls and of the pages C handled."""
    counts = {"calls": 0, "handled": 0}
    real = L.DumpHandle.xml_page

    def xml_page(self, page_id, options, sink):
        counts["calls"] += 1
        result = real(self, page_id, options, sink)
        counts["handled"] += result[0]
        return result

    monkeypatch.setattr(L.DumpHandle, "xml_page", xml_page)
    return counts


def canonical_pages(path):
    """(pages, pages whose record and every revision record have an empty
    extra), read through the low-level API, not the XML writer."""
    dh = L.DumpHandle(str(path))
    try:
        pages = canon = 0
        cur = dh.pages()
        while (p := cur.next()) is not None:
            pages += 1
            ok = not p.extra
            revs = dh.revisions(p.id)
            while ok and (r := revs.next()) is not None:
                ok = not r.extra
            revs.close()
            canon += ok
        cur.close()
        return pages, canon
    finally:
        dh.close()


def rev_ids(path):
    with incrdump.open(path) as d:
        return sorted(r.id for p in d for r in p)


def ranges(ids):
    """Revision ranges (revstart, revend): none, open-ended both ways, a
    middle band, and one that selects nothing."""
    if not ids:
        return [(None, None), (5, None)]
    q = len(ids) // 4
    return [(None, None), (ids[len(ids) // 2], None), (None, ids[len(ids) // 2]),
            (ids[q], ids[3 * q] if 3 * q > q else ids[q] + 1), (ids[-1] + 1, None)]


def run_both(path, counted, **kw):
    """Export with C and with Python only; they must agree. Returns the XML."""
    fast, slow = io.BytesIO(), io.BytesIO()
    stats_fast = export(str(path), fast, **kw)
    stats_slow = export(str(path), slow, fast=False, **kw)
    assert fast.getvalue() == slow.getvalue(), kw
    assert stats_fast == stats_slow, kw
    assert stats_fast["bytes"] == len(fast.getvalue())
    return fast.getvalue()


def check_everything(path, counted):
    """Every mode x schema x range agrees; C handles exactly the canonical
    pages of a plain full export. Returns (pages, canonical pages)."""
    for mode in MODES:
        for schema in SCHEMAS:
            for revstart, revend in ranges(rev_ids(path)):
                run_both(path, counted, mode=mode, schema=schema, revstart=revstart,
                         revend=revend)
    pages, canon = canonical_pages(path)
    counted["calls"] = counted["handled"] = 0
    run_both(path, counted)
    assert counted["calls"] == pages
    assert counted["handled"] == canon
    return pages, canon


# ---- real fixtures and the crafted file ------------------------------------------

@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    """name -> dump, imported on first use (stub fixtures as stub dumps)."""
    d = tmp_path_factory.mktemp("fast")
    cache = {}

    def get(name):
        if name not in cache:
            src = CRAFTED if name == "crafted" else REAL / name
            kind = "stub" if name.startswith("stub-") else "history"
            path = d / f"{name}.idump"
            load(path, str(src), kind=kind, allow_control_chars=True)
            cache[name] = path
        return cache[name]
    return get


@pytest.mark.parametrize("name", FIXTURES + ["crafted"])
def test_fixture_same_bytes_from_c_and_python(imported, counted, name):
    check_everything(imported(name), counted)


def test_c_writes_most_fixture_pages(imported, counted):
    total = canon = 0
    for name in FIXTURES:
        p, c = canonical_pages(imported(name))
        total += p
        canon += c
    assert total > 5000 and canon > 0.95 * total


def test_other_dump_kinds(imported, counted, tmp_path):
    """A current dump and a stub dump of the same history."""
    for kind in ("current", "stub"):
        path = tmp_path / f"{kind}.idump"
        load(path, str(REAL / "aawiki-20260101-pages-meta-history.xml.7z"), kind=kind)
        pages, canon = check_everything(path, counted)
        assert canon == pages > 100


def test_a_failing_write_stops_the_export(imported, counted):
    class Full(io.RawIOBase):
        def __init__(self):
            self.n = 0

        def writable(self):
            return True

        def write(self, b):
            self.n += len(b)
            if self.n > 1_000_000:
                raise OSError(28, "No space left on device")
            return len(b)

    path = str(imported("aawiki-20260101-pages-meta-history.xml.7z"))
    with pytest.raises(OSError, match="No space left"):
        export(path, Full(), threads=1)
    # raised from C's sink, in the call that did not return
    assert counted["calls"] == counted["handled"] + 1 > 1
    # with two threads the other one stops too (in its own call, or between)
    with pytest.raises(OSError, match="No space left"):
        export(path, Full(), threads=2)


def test_a_damaged_text_is_an_error_not_empty_text(imported, counted, tmp_path):
    src = imported("aawiki-20260101-pages-meta-history.xml.7z")
    path = tmp_path / "damaged.idump"
    path.write_bytes(src.read_bytes())
    damage_one_text(path)
    with pytest.raises(CorruptDumpError):
        export(str(path), io.BytesIO())
    assert counted["handled"] > 0
    # without text nothing is read: the stub is written
    run_both(path, counted, mode="stub")


# ---- random dumps ----------------------------------------------------------------

SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.function_scoped_fixture])
T0 = datetime.datetime(2004, 1, 1, tzinfo=datetime.timezone.utc)
SPECIAL = list("&<>\"'\n\r\t ;#x") + ["\u00e9", "\u20ac", "\U0001d11e", "&amp;", "]]>"]
words = st.lists(st.sampled_from(SPECIAL) | st.characters(blacklist_categories=("Cs",)),
                 max_size=25).map("".join)
maybe_text = st.none() | st.just("") | words


@st.composite
def contributors(draw):
    form = draw(st.sampled_from(["none", "user", "name", "id", "ip", "deleted", "odd"]))
    if form == "none":
        return None
    if form == "user":
        return Contributor(draw(words), draw(st.integers(0, 10**9)))
    if form == "name":
        return Contributor(draw(words))
    if form == "id":
        return Contributor(id=draw(st.integers(0, 10**6)))
    if form == "ip":
        return Contributor(ip=draw(st.sampled_from(["127.0.0.1", "2001:db8::1", "", "<&>"])))
    if form == "deleted":
        return Contributor(deleted=True)
    return Contributor("x", -5)  # C cannot hold it: an extra, left to Python


@st.composite
def slots(draw, role, kind):
    size = draw(st.none() | st.just(0) | st.integers(1, 10**7))
    s = Slot(role, None if kind == "stub" else draw(st.none() | st.just("") | words),
             origin=draw(st.none() | st.integers(0, 10**9)),
             model=draw(st.none() | st.sampled_from(["wikitext", "", "json&<x>"])),
             format=draw(st.none() | st.sampled_from(["text/x-wiki", "", "a'b\"c"])),
             sha1=draw(st.none() | st.just("") | st.just("phoiac9h4m842xq45sp7s6u21eteeq1")
                       | words),
             bytes=size, deleted=draw(st.booleans()),
             location=draw(st.none() | st.sampled_from(["tt:12", "es:DB://x/1 & 2"])),
             text_id=draw(st.none() | st.sampled_from(["12", "\"7\""])))
    if draw(st.integers(0, 2)) == 0:
        # explicit <text> attributes in some order: the first of a
        # situation becomes the dump's profile entry, others stay extras
        values = _extra.text_values(s.bytes, s.sha1, s.deleted, s.location, s.text_id)
        keys = list(values) + (["xml:space"] if draw(st.booleans()) else [])
        keys = draw(st.permutations(keys))
        s.text_attributes = tuple((k, "preserve" if k == "xml:space" else values[k])
                                  for k in keys)
    return s


@st.composite
def timestamps(draw):
    form = draw(st.integers(0, 5))
    if form == 0:  # the extremes of years 1..9999
        dt = draw(st.sampled_from([
            datetime.datetime(1, 1, 1, tzinfo=datetime.timezone.utc),
            datetime.datetime(9999, 12, 31, 23, 59, 59, tzinfo=datetime.timezone.utc)]))
        return {"timestamp": dt}
    dt = T0 + datetime.timedelta(seconds=draw(st.integers(-10**9, 10**9)))
    if form == 1:  # text that is not the canonical form: written as it was
        return {"timestamp": dt.strftime("%Y-%m-%d %H:%M:%S")}
    return {"timestamp": dt}


@st.composite
def revisions(draw, rev_id, page_id, kind, prev):
    roles = ["main"] + draw(st.lists(st.sampled_from(["mediainfo", "aux", "", "r\u00f4le&"]),
                                     unique=True, max_size=2))
    ss = {r: draw(slots(r, kind)) for r in roles}
    extras = None
    if draw(st.integers(0, 9)) == 0:  # an unmodelled element: not canonical
        extras = [RawElement("upload", "<upload><x>1</x></upload>", "revision", 3)]
    return Revision(rev_id, page_id=page_id,
                    parent_id=draw(st.none() | st.just(prev) | st.integers(0, 10**6)),
                    user=draw(contributors()), minor=draw(st.booleans()),
                    comment=draw(maybe_text), sha1=draw(st.none() | st.just("") | words),
                    slots=ss, deleted=Deleted(*draw(st.tuples(*[st.booleans()] * 3))),
                    extras=extras, **draw(timestamps()))


STYLES = [None, {"quot": True, "apos": True, "minor": "<minor />", "sha1": "<sha1 />"},
          {"quot": True, "apos": False, "minor": "<minor/>", "sha1": "<sha1></sha1>"}]


def test_random_dumps_same_bytes_from_c_and_python(tmp_path_factory, counted):
    totals = {"pages": 0, "canonical": 0}

    @SETTINGS
    @given(data=st.data())
    def one_dump(data):
        kind = data.draw(st.sampled_from(["history", "history", "current", "stub"]),
                         label="kind")
        style = data.draw(st.sampled_from(STYLES), label="style")
        path = tmp_path_factory.mktemp("r") / "r.idump"
        rev_id = 1
        with incrdump.open(path, "w", kind=kind) as dump, dump.transaction() as txn:
            txn.put_siteinfo(SiteInfo("Random", "randwiki"), version="0.11", style=style)
            for n in range(data.draw(st.integers(1, 4), label="pages")):
                pid = n + 1 + 10 * data.draw(st.integers(0, 10**5), label="id")
                txn.put_page(id=pid, title=data.draw(words, label="title") + f" {n}",
                             namespace=data.draw(st.integers(-2, 15), label="ns"),
                             redirect=data.draw(maybe_text, label="redirect"),
                             restrictions=data.draw(maybe_text, label="restrictions"))
                prev = None
                for _ in range(data.draw(st.integers(0, 4), label="revisions")):
                    rev_id += data.draw(st.integers(1, 3), label="gap")
                    txn.put_revision(data.draw(revisions(rev_id, pid, kind, prev), label="rev"))
                    prev = rev_id
        pages, canon = check_everything(path, counted)
        totals["pages"] += pages
        totals["canonical"] += canon

    one_dump()
    # most random pages are canonical, so C wrote them (check_everything
    # checked that it handled exactly those)
    assert totals["canonical"] > totals["pages"] // 3 > 0, totals


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.function_scoped_fixture])
@given(hists=st.lists(history(max_revs=8), min_size=1, max_size=3),
       packed=st.booleans())
def test_edit_histories_same_bytes(tmp_path_factory, counted, hists, packed):
    """test_dump_histories' edit histories (reverts, blanking, ~300 KB texts
    that cross the 1 MiB chunks, MCR slots): every page is C's."""
    path = tmp_path_factory.mktemp("h") / "h.idump"
    rev_id = 100
    with incrdump.open(path, "w", packed=packed) as dump, dump.transaction() as txn:
        for n, hist in enumerate(hists):
            txn.put_page(id=10 + n, title=f"P\u00e4ge & {n}", namespace=0)
            for i, (text, extra) in enumerate(hist):
                rev_id += 1
                txn.put_revision(make_revision(rev_id, 10 + n, i, text, extra))
    pages, canon = check_everything(path, counted)
    assert canon == pages == len(hists)


def test_random_dumps_reach_c(tmp_path, counted):
    """A hand-made page of every awkward field is canonical: C writes it."""
    path = tmp_path / "h.idump"
    with incrdump.open(path, "w") as dump, dump.transaction() as txn:
        txn.put_page(id=3, title="T\u00e9st & <x> \"q\" 'a'", namespace=4, redirect="",
                     restrictions="")
        txn.put_revision(Revision(
            7, T0, page_id=3, parent_id=0, user=Contributor(ip="10.0.0.1"), minor=True,
            comment="", sha1="", deleted=Deleted(True, True, True),
            slots={"main": Slot("main", "a & b < c > d \"e\" 'f'\r\n", origin=7, model="",
                                format="", sha1="", bytes=0, deleted=True, location="tt:1",
                                text_id="1"),
                   "aux": Slot("aux", "", model="json")}))
        txn.put_revision(Revision(8, "2004-01-01 00:00:01", page_id=3,
                                  user=Contributor(deleted=True), comment="c & d",
                                  deleted=Deleted(False, True, False)))
    pages, canon = check_everything(path, counted)
    assert pages == canon == 1
    xml = run_both(path, counted).decode()
    for part in ("<redirect />", "<restrictions />", "<ip>10.0.0.1</ip>", "<minor/>",
                 '<comment deleted="deleted" />', "<origin>7</origin>", "<model />", "<sha1/>",
                 '<text bytes="0" sha1="" deleted="deleted" location="tt:1" id="1">',
                 "a &amp; b &lt; c &gt; d \"e\" 'f'\r\n</text>", "<role>aux</role>",
                 "<timestamp>2004-01-01 00:00:01</timestamp>",
                 '<contributor deleted="deleted" />', '<comment deleted="deleted">c &amp; d<'):
        assert part in xml, part


# ---- the benchmark corpus ------------------------------------------------------------

def test_corpus_round_trips_through_c(tmp_path, counted):
    if not CORPUS.exists():
        pytest.skip("benchmark corpus not present")
    dump = tmp_path / "corpus.idump"
    load(dump, str(CORPUS), allow_control_chars=True)
    out = tmp_path / "out.xml"
    export(str(dump), str(out))
    assert counted["calls"] == 742 and counted["handled"] >= 700

    def digest(f):
        h = hashlib.sha256()
        n = 0
        for block in iter(lambda: f.read(1 << 22), b""):
            h.update(block)
            n += len(block)
        return h.hexdigest(), n
    with open(out, "rb") as f:
        got = digest(f)
    with lzma.open(CORPUS) as f:
        want = digest(f)
    assert got == want
