"""Smoke tests of bench_dump.py: its XML filter, and one quick run.

Layer: benchmarks, not tests of the package: nothing here fails on time.
Run explicitly (tests/ is the default test path):

    pytest benchmarks/test_bench_dump.py

The filter tests check that the derived current and stub XML are what
MediaWiki would write (the current one byte for byte against a real
pages-meta-current dump); test_script_runs runs the whole benchmark on a
small real fixture (``--quick``) so the script keeps working.
"""

import json
import os
import shutil
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_dump as bd  # noqa: E402

from incrdump.sources import open_source  # noqa: E402
from incrdump.xmlread import XMLReader  # noqa: E402

REAL = "/work/shared/data/real"
AA_HISTORY = os.path.join(REAL, "aawiki-20260101-pages-meta-history.xml.7z")
AA_CURRENT = os.path.join(REAL, "aawiki-20260101-pages-meta-current.xml.bz2")

SMALL = b"""<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.11/" version="0.11">
  <siteinfo>
    <sitename>W</sitename>
  </siteinfo>
  <page>
    <title>A</title>
    <ns>0</ns>
    <id>5</id>
    <revision>
      <id>9</id>
      <timestamp>2001-01-01T00:00:00Z</timestamp>
      <text bytes="11" sha1="s9" xml:space="preserve">two
  lines</text>
      <sha1>s9</sha1>
    </revision>
    <revision>
      <id>7</id>
      <parentid>3</parentid>
      <timestamp>2001-01-02T00:00:00Z</timestamp>
      <text bytes="27" sha1="s7" xml:space="preserve">&lt;revision&gt;
    &lt;id&gt;99&lt;/id&gt;
</text>
      <sha1>s7</sha1>
    </revision>
  </page>
  <page>
    <title>B</title>
    <ns>0</ns>
    <id>6</id>
    <revision>
      <id>10</id>
      <timestamp>2001-01-03T00:00:00Z</timestamp>
      <text bytes="0" sha1="phoiac9h4m842xq45sp7s6u21eteeq1" />
      <sha1>phoiac9h4m842xq45sp7s6u21eteeq1</sha1>
    </revision>
  </page>
</mediawiki>
"""


def _unpack(src, dst):
    with open_source(src) as f, open(dst, "wb") as out:
        shutil.copyfileobj(f, out)


def test_derive_xml_small(tmp_path):
    src, cur, stub = (str(tmp_path / n) for n in ("h.xml", "c.xml", "s.xml"))
    with open(src, "wb") as f:
        f.write(SMALL)
    corpus = bd.derive_xml(src, cur, stub)
    assert corpus["pages"] == 2
    assert corpus["revisions"] == [[9, 5, 11, "s9", 1], [7, 5, 27, "s7", 1],
                                   [10, 6, 0, "phoiac9h4m842xq45sp7s6u21eteeq1", 0]]
    # current: the highest id (9, first in the file), not the last one.
    assert corpus["current"] == [9, 10]
    current = open(cur, "rb").read()
    assert b"<id>9</id>" in current and b"<id>7</id>" not in current
    assert b"&lt;id&gt;99" not in current and b"two\n  lines</text>" in current
    # stub: every text element emptied, its bytes and sha1 kept.
    stubbed = open(stub, "rb").read()
    assert b'      <text bytes="11" sha1="s9" />\n' in stubbed
    assert b'      <text bytes="27" sha1="s7" />\n' in stubbed
    assert b"two" not in stubbed and b"&lt;revision" not in stubbed
    assert b"<parentid>3</parentid>" in stubbed
    assert stubbed.count(b"<revision>") == 3
    assert corpus["bytes"] == {"history": len(SMALL), "current": len(current),
                               "stub": len(stubbed)}


def test_derive_xml_matches_wikimedia(tmp_path):
    """The current XML derived from aawiki's history dump is Wikimedia's own
    pages-meta-current dump of the same day, byte for byte; the stub XML
    parses, has every revision, and no text content."""
    if not shutil.which("7z"):
        pytest.skip("7z (p7zip-full) is not installed")
    src, cur, stub, ref = (str(tmp_path / n) for n in ("h.xml", "c.xml", "s.xml", "r.xml"))
    _unpack(AA_HISTORY, src)
    _unpack(AA_CURRENT, ref)
    corpus = bd.derive_xml(src, cur, stub)
    assert open(cur, "rb").read() == open(ref, "rb").read()
    history = {}
    with XMLReader(src) as dump:
        for page in dump:
            for rev in page:
                history[rev.id] = (page.id, rev.bytes, rev.sha1)
    assert [(r[0], r[1], r[2], r[3]) for r in corpus["revisions"]] == \
        [(k, *v) for k, v in history.items()]
    seen = 0
    with XMLReader(stub) as dump:
        for page in dump:
            for rev in page:
                seen += 1
                assert not rev.text
                assert (page.id, rev.bytes, rev.sha1) == history[rev.id]
    assert seen == len(history) == 1307


def test_script_runs(tmp_path, capsys):
    """bench_dump.py --quick end to end: the table, the figures, no leftovers."""
    if not shutil.which("7z"):
        pytest.skip("7z (p7zip-full) is not installed: the --quick fixture is a .7z")
    out = tmp_path / "r.json"
    bd.main(["--quick", "--reads", "100", "--cold-reads", "20", "--dir", str(tmp_path),
             "--json", str(out)])
    table = capsys.readouterr().out
    for row in ("history dump: file size", "current dump: file size", "stub dump: file size",
                "import history: time", "import history: peak RSS",
                "C, warm handle", "Python, new handle, first read",
                "full text scan, C cursors", "full text scan, Python"):
        assert row in table
    res = json.loads(out.read_text())
    assert res["corpus"]["revisions"] == 1307 and res["corpus"]["current_revisions"] == 507
    assert all(res["imports"][k]["size"] > 0 for k in bd.KINDS)
    assert res["reads"]["C warm"]["n"] == 100 and res["reads"]["Python cold"]["n"] == 20
    assert res["reads"]["sha1_checked"] == 120
    # The C scan read exactly the text the XML holds (the XML's bytes=
    # attributes are not exact: MediaWiki's rev_len).
    xml = str(tmp_path / "aawiki.xml")
    _unpack(AA_HISTORY, xml)
    with XMLReader(xml) as dump:
        total = sum(len(rev.text.encode()) for page in dump for rev in page if rev.text)
    assert res["scans"]["C"]["bytes"] == total
    assert res["scans"]["Python"]["chars"] > 0
    # Without --keep the work directory (XML, dumps) is gone.
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("bench_dump.")]


def test_runner_reports_the_childs_own_peak_rss(tmp_path):
    """A child's peak RSS is its own, not this (large) process's: started
    straight from Python with vfork + exec, `true` would report ours."""
    runner = bd.Runner(bd.build_reader(str(tmp_path)), str(tmp_path))
    ballast = bytearray(200 << 20)
    ballast[::4096] = b"\1" * len(ballast[::4096])       # resident, not just reserved
    small = runner.timed(["true"])
    big = runner.timed([sys.executable, "-c", "x = bytearray(100 << 20); x[::4096] = "
                        "b'\\1' * len(x[::4096])"])
    del ballast
    assert small["rss_mb"] < 20
    assert 100 < big["rss_mb"] < 200
    assert big["cpu"] > 0 and big["wall"] >= big["cpu"] / 2
