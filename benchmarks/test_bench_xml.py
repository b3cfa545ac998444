"""Smoke tests of bench_xml.py: its small input, its round-trip check, and one quick run.

Layer: benchmarks, not tests of the package: nothing here fails on time.
Run explicitly (tests/ is the default test path):

    pytest benchmarks/test_bench_xml.py        # about 10 s

test_script_runs runs the whole benchmark on a few pages of the corpus
(``--quick``) so the script keeps working; the other tests check that the
pieces it is built from can report what they must (the pages cut out, a
difference between input and export, a piped child's own peak RSS).
"""

import json
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_xml as bx  # noqa: E402
from _common import Runner, build_reader  # noqa: E402

from incrdump.xmlread import XMLReader  # noqa: E402

CORPUS = bx.DEFAULT_XML

pytestmark = pytest.mark.skipif(not os.path.exists(CORPUS), reason="no benchmark corpus")


def test_quick_xml_cuts_whole_pages(tmp_path):
    """The --quick input: the corpus's header, pages 4..12 whole, the
    closing tag; every revision as the XML reader sees it in the corpus."""
    small = str(tmp_path / "q.xml")
    bx.quick_xml(CORPUS, small)
    data = open(small, "rb").read()
    assert data.startswith(b'<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.11/"')
    assert data.endswith(b"  </page>\n</mediawiki>\n") and data.count(b"</mediawiki>") == 1
    assert data.count(b"\n  <page>\n") == data.count(b"\n  </page>\n") == bx.QUICK_PAGES
    with XMLReader(small, allow_control_chars=True) as dump:
        assert dump.siteinfo.sitename == "PEPWiki"
        got = [(p.id, [(r.id, r.sha1) for r in p]) for p in dump]
    assert len(got) == bx.QUICK_PAGES
    want = []
    with XMLReader(CORPUS, allow_control_chars=True) as dump:
        for i, p in enumerate(dump):
            if i >= bx.QUICK_SKIP + bx.QUICK_PAGES:
                break
            revs = [(r.id, r.sha1) for r in p]
            if i >= bx.QUICK_SKIP:
                want.append((p.id, revs))
    assert got == want
    # fewer pages than asked: the file ends after the last one, still closed
    bx.quick_xml(small, str(tmp_path / "r.xml"), skip=7, keep=50)
    with XMLReader(str(tmp_path / "r.xml"), allow_control_chars=True) as dump:
        assert [p.id for p in dump] == [pid for pid, _ in got[7:]]
    with pytest.raises(ValueError):
        bx.quick_xml(small, str(tmp_path / "s.xml"), skip=9, keep=1)


def test_round_trip_check_reports_a_difference(tmp_path):
    """An export that is not the input (schema 0.10 instead of 0.11) is
    caught by SHA-1, with the first differing offset, from the file and
    from the pipe."""
    work = str(tmp_path)
    small = str(tmp_path / "q.xml")
    bx.quick_xml(CORPUS, small)
    sha1, size = bx.sha1_file(small)
    runner = Runner(build_reader(work, run_only=True), work)
    cmds = bx.Commands()
    assert cmds.export, "incrdump export is not available"
    dump = str(tmp_path / "d.incrdump")
    runner.timed(cmds.import_argv(small, dump))
    plain = cmds.export_argv
    cmds.export_argv = lambda d, out=None: plain(d, out) + ["--schema", "0.10"]
    res = bx.run_exports(runner, cmds, dump, {"xml": small, "sha1": sha1, "bytes": size})
    assert res["file"]["sha1"] == res["pipe"]["sha1"] != sha1
    diff = res["file"]["first_difference"]
    head = open(small, "rb").read(diff["offset"])
    assert b"export-0." in head[-40:] and diff["input"] != diff["export"]
    assert "0.11" in diff["input"] and "0.10" in diff["export"]
    assert not os.path.exists(str(tmp_path / "export.xml"))
    assert bx.first_difference(small, small) is None


def test_xml_safe_copy(tmp_path):
    """MediaWiki's input: the controls XML forbids become spaces, nothing
    else changes (UTF-8 included); a clean file is not copied."""
    src, dst = tmp_path / "a.xml", tmp_path / "b.xml"
    src.write_bytes("<t>a\x0cb\x00\x1f\tc\r\nÅ€😀\x7f</t>".encode())
    assert bx.xml_safe_copy(str(src), str(dst)) == 3
    assert dst.read_bytes() == "<t>a b  \tc\r\nÅ€😀\x7f</t>".encode()
    dst.unlink()
    src.write_bytes(b"<t>\tplain\n</t>")
    assert bx.xml_safe_copy(str(src), str(dst)) == 0 and not dst.exists()


def test_piped_child_reports_its_own_peak_rss(tmp_path):
    """With stdout read through a pipe, a child's peak RSS is still its own
    (this process's 200 MB are not in it), and its output arrives whole."""
    runner = Runner(build_reader(str(tmp_path), run_only=True), str(tmp_path))
    ballast = bytearray(200 << 20)
    ballast[::4096] = b"\1" * len(ballast[::4096])
    r = runner.timed(["head", "-c", "3000000", "/dev/zero"], read_stdout=bx.sha1_stream)
    del ballast
    assert r["stdout"] == (bx.hashlib.sha1(bytes(3000000)).hexdigest(), 3000000)
    assert r["rss_mb"] < 20


def test_script_runs(tmp_path, capsys):
    """bench_xml.py --quick end to end: every row, the round trip, the
    figures in the JSON, no leftovers."""
    out = tmp_path / "r.json"
    assert bx.main(["--quick", "--dir", str(tmp_path), "--json", str(out)]) == 0
    table = capsys.readouterr().out
    for row in ("import, plain XML: time", "import, plain XML: peak RSS",
                "import, .xz file: time", "import, .xz file: peak RSS",
                "history dump: file size", "export -o OUT.xml: time",
                "DUMP > /dev/null: time", "export DUMP to a pipe: time",
                "export -o OUT.xml: peak RSS", "round trip: SHA-1 of export -o OUT.xml",
                "round trip: SHA-1 of export to a pipe"):
        assert row in table
    assert "| identical | identical |" in table and "DIFFERENT" not in table
    res = json.loads(out.read_text())
    assert res["round_trip"] is True
    assert res["imports"]["xml"]["stats"]["pages"] == bx.QUICK_PAGES
    for k in ("pages", "revisions", "text_bytes"):
        assert res["imports"]["xz"]["stats"][k] == res["imports"]["xml"]["stats"][k]
    assert res["imports"]["xml"]["size"] == res["imports"]["xz"]["size"]
    for key in ("file", "devnull", "pipe"):
        f = res["exports"][key]
        assert f["wall"] > 0 and 0 < f["rss_mb"] < 200
    assert res["exports"]["pipe"]["bytes"] == res["input"]["bytes"] > 2_000_000
    for name in ("xz -9", "zstd -19 --long=27"):
        a = res["anchors"][name]
        assert 0 < a["size"] < res["input"]["bytes"] and a["decompress"]["wall"] > 0
    # Without --keep the work directory is gone.
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("bench_xml.")]


def test_mediawiki_unavailable_is_reported(tmp_path, monkeypatch):
    """--mediawiki where MediaWiki cannot run: a row says why, no failure."""
    sys.path.insert(0, os.path.join(bx.REPO, "tests"))
    import mediawiki as mw
    monkeypatch.setattr(mw, "unavailable_reason", lambda: "php not found (test)")
    runner = Runner(build_reader(str(tmp_path), run_only=True), str(tmp_path))
    got = bx.run_mediawiki(runner, {"xml": os.devnull})
    assert got == {"error": "php not found (test)"}
