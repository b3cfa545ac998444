"""incrdump2xml / ``incrdump export``: every real fixture and the benchmark
corpus come back out of a dump as the XML they went in as.

- Every file of ../shared/data/real (``bad-`` aside) is imported and
  exported in its own schema (``--schema input``); the output, read back
  with the XML reader, carries the same pages, revisions, fields, texts and
  sha1s as the input, element order and attributes included, and is the
  input byte for byte -- in Wikimedia's style (``&quot;``, ``<minor />``,
  no newline at the end) as in MediaWiki 1.39's -- but for one hand-edited
  file.
- The benchmark corpus round-trips byte for byte through the two commands.
- Output compressed by the file's extension, the temporary name, refusal
  to overwrite, and a failure half-way leaving nothing behind.

Byte-identity with MediaWiki's own dumpBackup.php is shown in
tests/test_mediawiki_reference.py (it needs the wiki).
"""
import bz2
import gzip
import hashlib
import lzma
import os
import pathlib
import subprocess
import sys

import pytest
import zstandard

import incrdump
from incrdump.load import load
from incrdump.sources import open_source
from incrdump.xmlread import XMLReader
from damage import damage_one_text
from incrdump.xmlwrite import XMLWriter

DATA = pathlib.Path(__file__).resolve().parents[2] / "shared" / "data"
REAL = DATA / "real"
CORPUS = DATA / "bench" / "peps-history.xml.xz"
FIXTURES = sorted(p.name for p in REAL.glob("*.xml*")
                  if not p.name.startswith("bad-") and "index" not in p.name)
# Every fixture comes back byte for byte in its own schema and style, but
# the one that was edited by hand (blank lines inside revisions, which a
# parser does not report).
NOT_BYTE_EXACT = {"simplewiki-extract-deleted-0.10.xml"}


def run(*args, check=True, stdin=None):
    name, *rest = args
    exe = pathlib.Path(sys.executable).parent / name
    if exe.exists():
        cmd = [str(exe)]
    else:  # not installed as scripts: the module
        cmd = [sys.executable, "-m", "incrdump.cli"] + (["export"] if name == "incrdump2xml"
                                                        else [])
    return subprocess.run(cmd + [str(a) for a in rest], capture_output=True, check=check,
                          stdin=stdin)


def parsed(path):
    """Everything the XML reader sees in a file, texts included."""
    with XMLReader(str(path), allow_control_chars=True) as r:
        site = r.siteinfo
        pages = []
        for page in r:
            revs = []
            for rev in page:
                slots = [(s.role, s.origin, s.model, s.format, s.sha1, s.bytes, s.deleted,
                          s.location, s.text_id, tuple(s.text_attributes), s.text)
                         for s in rev.slots.values()]
                user = rev.user
                revs.append((rev.id, rev.parent_id, rev.timestamp_text, rev.minor, rev.comment,
                             rev.sha1, tuple(rev.deleted), tuple(rev.elements),
                             {k: tuple(v) for k, v in rev.attributes.items()},
                             None if user is None else (user.name, user.id, user.ip,
                                                        user.deleted, tuple(user.elements)),
                             [(x.name, x.xml) for x in rev.extras], slots))
            pages.append((page.id, page.namespace, page.title, page.redirect,
                          page.restrictions, tuple(page.elements),
                          [(x.name, x.xml) for x in page.extras], revs))
        extras = [(x.name, x.xml) for x in r.extras]
    siteinfo = None if site is None else (
        site.sitename, site.dbname, site.base, site.generator, site.case,
        [(n.key, n.name, n.case) for n in (site.namespaces or {}).values()])
    return siteinfo, pages, extras


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    """Each fixture imported once: name -> dump path."""
    d = tmp_path_factory.mktemp("fixtures")
    out = {}
    for name in FIXTURES:
        kind = "stub" if name.startswith("stub-") else "history"
        path = d / f"{name}.idump"
        load(path, str(REAL / name), kind=kind, allow_control_chars=True)
        out[name] = path
    return out


@pytest.mark.parametrize("name", FIXTURES)
def test_every_fixture_exports_what_it_imported(imported, tmp_path, name):
    src = REAL / name
    out = tmp_path / "out.xml"
    run("incrdump2xml", imported[name], "-o", out, "--schema", "input")
    want_site, want_pages, want_extras = parsed(src)
    got_site, got_pages, got_extras = parsed(out)
    assert got_site == want_site
    assert got_extras == want_extras
    assert len(got_pages) == len(want_pages)
    for got, want in zip(got_pages, want_pages):
        assert got == want, f"page {want[0]}"
    assert sum(len(p[-1]) for p in got_pages) == sum(len(p[-1]) for p in want_pages)
    with open_source(str(src)) as f:
        raw = f.read()
    if name in NOT_BYTE_EXACT:
        assert out.read_bytes() != raw  # else it is no exception
    else:
        assert out.read_bytes() == raw


@pytest.mark.slow
def test_corpus_round_trips_byte_for_byte(tmp_path):
    if not CORPUS.exists():
        pytest.skip("benchmark corpus not present")
    xml = tmp_path / "corpus.xml"
    with lzma.open(CORPUS) as f, open(xml, "wb") as g:
        while True:
            block = f.read(1 << 22)
            if not block:
                break
            g.write(block)
    dump = tmp_path / "corpus.idump"
    run("incrdump", "import", "--allow-control-chars", xml, "-o", dump)
    out = tmp_path / "out.xml"
    run("incrdump", "export", dump, "-o", out)

    def digest(p):
        h = hashlib.sha256()
        with open(p, "rb") as f:
            for block in iter(lambda: f.read(1 << 22), b""):
                h.update(block)
        return h.hexdigest(), os.path.getsize(p)
    assert digest(out) == digest(xml)
    # the same through standard output
    with open(tmp_path / "stdout.xml", "wb") as f:
        subprocess.run([sys.executable, "-m", "incrdump.cli", "export", str(dump)], stdout=f,
                       check=True)
    assert digest(tmp_path / "stdout.xml") == digest(xml)


def test_output_compressed_by_extension(imported, tmp_path):
    dump = imported["enwiki-article-pear-0.10.xml"]
    plain = run("incrdump2xml", dump).stdout
    assert plain.startswith(b"<mediawiki ") and plain.endswith(b"</mediawiki>\n")
    readers = {".bz2": bz2.decompress, ".gz": gzip.decompress, ".xz": lzma.decompress,
               ".zst": lambda b: zstandard.ZstdDecompressor().decompressobj().decompress(b)}
    for ext, decompress in readers.items():
        out = tmp_path / f"out.xml{ext}"
        run("incrdump2xml", dump, "-o", out)
        data = out.read_bytes()
        assert data != plain
        assert decompress(data) == plain, ext
        with open_source(str(out)) as f:  # and our own reader recognizes it
            assert f.read() == plain
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".partial")]
    r = run("incrdump2xml", dump, "-o", tmp_path / "out.xml.7z", check=False)
    assert r.returncode == 1 and b"cannot write .7z" in r.stderr
    assert not (tmp_path / "out.xml.7z").exists()


def test_existing_output_needs_force(imported, tmp_path):
    dump = imported["enwiki-pair-0.10.xml"]
    out = tmp_path / "out.xml"
    out.write_bytes(b"keep me")
    r = run("incrdump2xml", dump, "-o", out, check=False)
    assert r.returncode == 1
    assert b"already exists" in r.stderr and b"--force" in r.stderr
    assert out.read_bytes() == b"keep me"
    run("incrdump2xml", dump, "-o", out, "--force")
    assert out.read_bytes().startswith(b"<mediawiki ")


def test_failure_half_way_leaves_nothing(imported, tmp_path):
    src = imported["aawiki-20260101-pages-meta-history.xml.7z"]
    dump = tmp_path / "damaged.idump"
    dump.write_bytes(src.read_bytes())
    damage_one_text(dump)
    out = tmp_path / "out.xml.gz"
    r = run("incrdump2xml", dump, "-o", out, check=False)
    assert r.returncode == 1
    assert r.stderr.startswith(b"incrdump2xml: ") and b"corrupt" in r.stderr.lower()
    assert os.listdir(tmp_path) == ["damaged.idump"]
    # an existing output stays as it was
    out.write_bytes(b"old")
    r = run("incrdump", "export", dump, "-o", out, "--force", check=False)
    assert r.returncode == 1
    assert out.read_bytes() == b"old"
    assert sorted(os.listdir(tmp_path)) == ["damaged.idump", "out.xml.gz"]


def test_modes_and_kinds(imported, tmp_path):
    dump = imported["aawiki-20260101-pages-meta-history.xml.7z"]
    full = run("incrdump2xml", dump).stdout
    current = run("incrdump2xml", dump, "--current").stdout
    stub = run("incrdump2xml", dump, "--stub").stdout
    for name, data in (("full", full), ("current", current), ("stub", stub)):
        (tmp_path / f"{name}.xml").write_bytes(data)
    _, full_pages, _ = parsed(tmp_path / "full.xml")
    _, cur_pages, _ = parsed(tmp_path / "current.xml")
    _, stub_pages, _ = parsed(tmp_path / "stub.xml")
    assert [p[:3] for p in cur_pages] == [p[:3] for p in full_pages]
    for fp, cp in zip(full_pages, cur_pages):
        latest = max(fp[-1], key=lambda r: r[0])
        assert cp[-1] == [latest]
    for fp, sp in zip(full_pages, stub_pages):
        assert [r[:7] for r in sp[-1]] == [r[:7] for r in fp[-1]]
        for rev in sp[-1]:
            for slot in rev[-1]:
                assert not slot[-1]  # no text
    assert b"</text>" not in stub and b"</text>" in full
    # a stub dump has no text to give: any mode writes stubs
    stub_dump = imported["stub-history-sample.xml.gz"]
    assert run("incrdump2xml", stub_dump, "--full").stdout == run(
        "incrdump2xml", stub_dump, "--stub").stdout


def test_page_and_revision_selection(imported):
    dump = imported["aawiki-20260101-pages-meta-history.xml.7z"]
    with incrdump.open(dump) as d:
        pages = [(p.id, p.namespace, [r.id for r in p]) for p in d]
    revs = sorted(r for _, _, rs in pages for r in rs)
    lo, hi = revs[len(revs) // 4], revs[len(revs) // 2]
    xml = run("incrdump2xml", dump, "--revstart", lo, "--revend", hi, "--skip-header",
              "--skip-footer").stdout
    assert xml.startswith(b"  <page>\n") and xml.endswith(b"  </page>\n")
    got = [int(x) for x in __import__("re").findall(rb"    <revision>\n      <id>(\d+)<", xml)]
    assert got == [r for _, _, rs in pages for r in rs if lo <= r < hi]
    ids = [p for p, _, _ in pages]
    xml = run("incrdump2xml", dump, "--start", ids[3], "--end", ids[9], "--stub").stdout
    got = [int(x) for x in __import__("re").findall(rb"  <page>\n    <title>[^\n]*\n"
                                                     rb"    <ns>-?\d+</ns>\n    <id>(\d+)<", xml)]
    assert got == ids[3:9]
    namespaces = {ns for _, ns, _ in pages}
    assert len(namespaces) > 2
    keep = sorted(namespaces)[:2]
    both = run("incrdump2xml", dump, "--namespace", ",".join(map(str, keep))).stdout
    rest = run("incrdump2xml", dump, "--namespace", "!" + ",".join(map(str, keep))).stdout
    n_both = both.count(b"<page>")
    n_rest = rest.count(b"<page>")
    assert n_both == sum(1 for _, ns, _ in pages if ns in keep) > 0
    assert n_both + n_rest == len(pages)
    r = run("incrdump2xml", dump, "--namespace", "x,y", check=False)
    assert r.returncode == 2 and b"namespace" in r.stderr


def test_other_schemas_need_the_dumps_own(imported):
    dump = imported["enwiki-article-pear-0.3.xml"]
    r = run("incrdump2xml", dump, "--schema", "0.8", check=False)
    assert r.returncode == 2 and b"invalid choice" in r.stderr
    from incrdump.errors import InvalidArgumentError
    from incrdump.xmlwrite import export
    with pytest.raises(InvalidArgumentError, match="0.8.*here 0.3"):
        export(dump, "-", schema="0.8")
    assert run("incrdump2xml", dump, "--schema", "input").stdout == (
        REAL / "enwiki-article-pear-0.3.xml").read_bytes()


def test_style_of_the_input_is_kept(imported):
    """Wikimedia's files escape quotes in text and end without a newline;
    MediaWiki 1.39 does neither: each dump remembers its input's way."""
    wm = run("incrdump2xml", imported["aawiki-20260101-pages-meta-history.xml.7z"]).stdout
    assert b"&quot;" in wm and b"<minor />" in wm and wm.endswith(b"</mediawiki>")
    mw = run("incrdump2xml", imported["stub-history-sample.xml.gz"]).stdout
    assert b"<minor/>" in mw and mw.endswith(b"</mediawiki>\n")


def test_writer_takes_the_readers_objects(tmp_path):
    """XMLWriter writes xmlread's objects as well as the dump's: a file in
    MediaWiki 1.39's layout goes through reader and writer unchanged."""
    src = REAL / "enwiki-pair-0.10.xml"
    out = tmp_path / "out.xml"
    with XMLReader(str(src)) as r, open(out, "wb") as f:
        w = XMLWriter(f, schema="0.10")
        site = r.siteinfo
        w.header(site)
        for page in r:
            w.page(page, page)
        w.footer()
    head = src.read_bytes()
    got = out.read_bytes()
    # the reader's SiteInfo does not carry the root element: the writer's
    # canonical one differs from the file's only there
    assert got[got.index(b"<siteinfo>"):] == head[head.index(b"<siteinfo>"):]


@pytest.mark.parametrize("name", ["aawiki-20260101-pages-meta-history.xml.7z",
                                  "wikidatawiki-pages-articles-sample2.xml.bz2",
                                  "crafted-fidelity-0.11.xml"])
def test_two_threads_write_what_one_writes(imported, tmp_path, monkeypatch, name):
    """Pages are written by two threads in batches and put in order: the
    bytes are one thread's, also when a thread must wait with a full buffer
    (tiny batches and buffers here) and for pages the Python writer does
    (the crafted file's fidelity details)."""
    import incrdump.xmlwrite as xw
    if name in imported:
        dump = imported[name]
    else:
        dump = tmp_path / "d.idump"
        load(dump, str(pathlib.Path(__file__).parent / "data" / name))
    monkeypatch.setattr(xw, "_BATCH_PAGES", 3)
    monkeypatch.setattr(xw, "_AHEAD_BYTES", 4096)
    for mode in ("full", "current", "stub"):
        one, two = tmp_path / "one.xml", tmp_path / "two.xml"
        s1 = xw.export(dump, one, mode=mode, threads=1)
        s2 = xw.export(dump, two, mode=mode, threads=2)
        assert s1 == s2
        assert two.read_bytes() == one.read_bytes(), mode
        s3 = xw.export(dump, two, mode=mode, threads=2, fast=False)
        assert s3 == s1 and two.read_bytes() == one.read_bytes()


def test_a_failing_thread_stops_the_export(imported, tmp_path):
    src = imported["aawiki-20260101-pages-meta-history.xml.7z"]
    dump = tmp_path / "damaged.idump"
    dump.write_bytes(src.read_bytes())
    damage_one_text(dump)
    from incrdump.errors import CorruptDumpError
    from incrdump.xmlwrite import export
    with pytest.raises(CorruptDumpError):
        export(dump, tmp_path / "out.xml", threads=2)
    assert sorted(os.listdir(tmp_path)) == ["damaged.idump"]
