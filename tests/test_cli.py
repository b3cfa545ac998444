"""The engine-level command line (incrdump check / info) and the demo."""
import json
import os
import re
import shutil
import subprocess
import sys

import pytest

import incrdump
from incrdump import _lowlevel as L
from incrdump import demo

CORRUPT = os.path.join(os.path.dirname(__file__), "data", "corrupt")


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "incrdump.cli", *args], capture_output=True, text=True, timeout=60)


@pytest.fixture
def small_dump(tmp_path):
    path = str(tmp_path / "small.idump")
    with L.Store(path, L.CREATE | L.WRITE) as s:
        s.begin()
        s.tree_create(3, L.KEY_BYTES)
        for i in range(500):
            s.put(3, b"title %d" % i, b"x" * (i * 7))
        s.commit()
    return path


def test_check_ok_and_json(small_dump):
    r = run_cli("check", small_dump)
    assert r.returncode == 0, r.stderr
    assert f"{small_dump}: OK" in r.stdout
    r = run_cli("check", "--json", small_dump)
    data = json.loads(r.stdout)
    assert data["entries"] == 500 and data["trees"] == 1
    assert data["live_blocks"] + data["free_blocks"] + data["pending_blocks"] == data["nblocks"]


def test_info_json(small_dump):
    data = json.loads(run_cli("info", "--json", small_dump).stdout)
    assert data["format"] == "1.0"
    assert data["trees"] == {"3": {"keys": "bytes", "entries": 500}}
    assert data["generation"] == 2
    assert data["file_size"] == os.path.getsize(small_dump)


def test_check_reports_damage_with_exit_1(small_dump, tmp_path):
    bad = str(tmp_path / "bad.idump")
    shutil.copy(small_dump, bad)
    with open(bad, "r+b") as f:  # flip one bit in every block past the headers
        size = os.path.getsize(bad)
        for off in range(2 * 4096 + 100, size, 4096):
            f.seek(off)
            b = f.read(1)
            f.seek(off)
            f.write(bytes([b[0] ^ 1]))
    r = run_cli("check", bad)
    assert r.returncode == 1
    assert "CORRUPT" in r.stderr and "checksum mismatch" in r.stderr


@pytest.mark.parametrize(
    "name, words",
    [("bad_magic.dump", "not an incrdump file"), ("future_major.dump", "unsupported format version"),
     ("truncated.dump", "truncated")],
)
def test_errors_are_one_line_and_exit_1(name, words):
    r = run_cli("info", os.path.join(CORRUPT, name))
    assert r.returncode == 1
    assert r.stderr.startswith("incrdump info: ") and words in r.stderr
    assert "Traceback" not in r.stderr and r.stderr.count("\n") == 1


def test_missing_file_and_usage(tmp_path):
    r = run_cli("info", str(tmp_path / "nope.idump"))
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert run_cli().returncode == 2


def test_demo_runs_on_the_bundled_dump(tmp_path, capsys):
    if not os.path.exists(demo.DEFAULT_SOURCE):
        pytest.skip("shared/data is not beside the repository")
    out = str(tmp_path / "demo.idump")
    assert demo.main(["--out", out]) == 0
    text = capsys.readouterr().out
    assert "507 pages, 1,307 revisions" in text
    assert "1,307 of 1,307 texts match" in text and "dump.check(): OK" in text
    assert "$ incrdump info demo.idump" in text and "demo.idump: OK" in text
    added = int(re.search(r"added revision (\d+)", text).group(1))
    deleted = int(re.search(r"deleted revision (\d+)", text).group(1))
    with incrdump.open(out) as dump:
        assert len(dump) == 507 and dump.info()["revisions"] == 1307
        assert dump.get_revision(deleted) is None
        page = dump.page_by_title("Main Page")
        assert page.latest().id == added and page.latest().text.endswith(demo.EDIT_MARK)
        assert dump.check()["texts"] == 1307
    # the texts stored against the deleted revision now point elsewhere
    assert all(base != deleted for _, base in demo.text_layout(out).values())


def test_demo_fails_when_a_text_differs_from_the_xml(tmp_path, monkeypatch):
    if not os.path.exists(demo.DEFAULT_SOURCE):
        pytest.skip("shared/data is not beside the repository")
    real = demo.read_reference

    def one_wrong_sha1(path):
        ref = real(path)
        key = min(ref["expected"])
        ref["expected"][key] = "0" * 31
        return ref

    monkeypatch.setattr(demo, "read_reference", one_wrong_sha1)
    with pytest.raises(demo.DemoFailure, match="1 text read back different"):
        demo.run(demo.DEFAULT_SOURCE, str(tmp_path / "demo.idump"), out=lambda line: None,
                 show_cli=False)


def test_tools_entry_point_runs_the_same_cli(small_dump):
    tool = os.path.join(os.path.dirname(os.path.dirname(__file__)), "tools", "incrdump")
    r = subprocess.run([sys.executable, tool, "check", "--json", small_dump], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["entries"] == 500


# ---- dumps: import, info, get, check, compact ------------------------------------------

CRAFTED = os.path.join(os.path.dirname(__file__), "data", "crafted-fidelity-0.11.xml")


@pytest.fixture
def crafted_dump(tmp_path):
    path = str(tmp_path / "crafted.idump")
    r = run_cli("import", CRAFTED, "-o", path)
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""  # progress only on a terminal
    assert "4 pages, 6 revisions" in r.stdout
    return path


def run_bytes(*args):
    return subprocess.run([sys.executable, "-m", "incrdump.cli", *args], capture_output=True,
                          timeout=60)


def test_dump_info_and_check(crafted_dump):
    data = json.loads(run_cli("info", "--json", crafted_dump).stdout)
    assert (data["kind"], data["pages"], data["revisions"], data["texts"]) == ("history", 4, 6, 6)
    assert data["codec"] == "zstd" and data["sitename"] == "Crafted"
    assert data["dbname"] == "craftwiki" and data["file_size"] == os.path.getsize(crafted_dump)
    r = run_cli("info", crafted_dump)
    assert "kind: history" in r.stdout and "pages: 4" in r.stdout
    r = run_cli("check", crafted_dump)
    assert r.returncode == 0 and f"{crafted_dump}: OK" in r.stdout
    data = json.loads(run_cli("check", "--json", crafted_dump).stdout)
    assert (data["pages"], data["revisions"]) == (4, 6)


def test_get_page_and_revision(crafted_dump):
    r = run_cli("get", crafted_dump, "--page", "10", "--json")
    assert r.returncode == 0, r.stderr
    page = json.loads(r.stdout)
    assert page["title"] == "Multi" and [v["id"] for v in page["revisions"]] == [100, 101, 103]
    assert page["revisions"][0]["user"]["name"] == "Älice"
    r = run_cli("get", crafted_dump, "--title", "Talk:Redirected")
    assert "title: Talk:Redirected" in r.stdout and "revisions: 1" in r.stdout
    assert "110" in r.stdout and "Bob" in r.stdout
    r = run_bytes("get", crafted_dump, "--title", "Redirected", "--namespace", "1", "--text")
    assert r.returncode == 0 and r.stdout == b"#REDIRECT [[Multi]]"
    assert run_bytes("get", crafted_dump, "--revision", "100", "--text").stdout == "Hellö".encode()
    r = run_bytes("get", crafted_dump, "--revision", "100", "--text", "--slot", "mediainfo")
    assert r.stdout == b"{}"
    rev = json.loads(run_cli("get", crafted_dump, "--revision", "101", "--json").stdout)
    assert rev["deleted"] == {"text": True, "comment": True, "user": True}
    assert rev["parent_id"] == 100 and rev["minor"] is True
    r = run_cli("get", crafted_dump, "--revision", "103")
    assert "user:" in r.stdout and "2001:db8::1" in r.stdout


@pytest.mark.parametrize("args, words", [
    (("--revision", "999"), "no revision with id 999"),
    (("--page", "999"), "no page with id 999"),
    (("--title", "Nowhere"), "no page titled 'Nowhere'"),
    (("--revision", "101", "--text"), "deleted"),
    (("--revision", "100", "--text", "--slot", "nope"), "no slot 'nope'"),
])
def test_get_missing_exits_1_with_one_line(crafted_dump, args, words):
    r = run_cli("get", crafted_dump, *args)
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr.startswith("incrdump get: ") and words in r.stderr
    assert r.stderr.count("\n") == 1 and "Traceback" not in r.stderr


def test_get_into_a_closed_pipe_is_quiet(tmp_path):
    """`incrdump get ... | head -c 10`: the reader leaves early; no traceback,
    no error message, exit 0."""
    path = str(tmp_path / "big.idump")
    with incrdump.open(path, "w") as dump, dump.transaction() as txn:
        txn.put_page(id=1, title="Big")
        txn.put_revision(id=1, page_id=1, timestamp="2020-01-01T00:00:00Z",
                         text="x" * (4 << 20))
    proc = subprocess.Popen([sys.executable, "-m", "incrdump.cli", "get", path, "--revision",
                             "1", "--text"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout.read(10) == b"x" * 10
    proc.stdout.close()
    err = proc.stderr.read()
    assert proc.wait(timeout=60) == 0
    assert err == b""


def test_get_usage_errors_exit_2(crafted_dump):
    assert run_cli("get", crafted_dump).returncode == 2  # no selector
    assert run_cli("get", crafted_dump, "--page", "1", "--revision", "2").returncode == 2
    assert run_cli("get", crafted_dump, "--page", "10", "--namespace", "1").returncode == 2


def test_import_kinds_and_refusals(tmp_path, crafted_dump):
    r = run_cli("import", CRAFTED, "-o", crafted_dump)
    assert r.returncode == 1 and "already exists" in r.stderr and r.stderr.count("\n") == 1
    stub = str(tmp_path / "stub.idump")
    assert run_cli("import", "--stub", CRAFTED, "-o", stub).returncode == 0
    data = json.loads(run_cli("info", "--json", stub).stdout)
    assert (data["kind"], data["revisions"], data["texts"]) == ("stub", 6, 0)
    cur = str(tmp_path / "cur.idump")
    r = run_cli("import", "--kind", "current", "--articles", "--json", CRAFTED, "-o", cur)
    assert r.returncode == 0, r.stderr
    stats = json.loads(r.stdout)
    assert (stats["pages"], stats["revisions"], stats["skipped"]) == (2, 2, 2)
    bad = tmp_path / "bad.xml"
    bad.write_text("<mediawiki><page><title>x</title></mediawiki>")
    r = run_cli("import", str(bad), "-o", str(tmp_path / "bad.idump"))
    assert r.returncode == 1 and "bad.xml:1:" in r.stderr and r.stderr.count("\n") == 1
    assert not os.path.exists(tmp_path / "bad.idump")


def test_compact(tmp_path, crafted_dump):
    out = str(tmp_path / "small.idump")
    r = run_cli("compact", crafted_dump, out)
    assert r.returncode == 0, r.stderr
    assert "4 pages, 6 revisions" in r.stdout
    assert json.loads(run_cli("info", "--json", out).stdout)["codec"] == "zstd"
    assert run_bytes("get", out, "--revision", "100", "--text").stdout == "Hellö".encode()
    assert run_cli("compact", crafted_dump, out).returncode == 1  # exists
    r = run_cli("compact", "--codec", "xz", "--force", "--json", crafted_dump, out)
    assert r.returncode == 0 and json.loads(r.stdout)["revisions"] == 6
    assert json.loads(run_cli("info", "--json", out).stdout)["codec"] == "xz"
    assert run_bytes("get", out, "--revision", "100", "--text").stdout == "Hellö".encode()


def test_check_reports_a_damaged_dump(crafted_dump):
    with open(crafted_dump, "r+b") as f:
        size = os.path.getsize(crafted_dump)
        for off in range(2 * 4096 + 100, size, 4096):
            f.seek(off)
            b = f.read(1)
            f.seek(off)
            f.write(bytes([b[0] ^ 1]))
    r = run_cli("check", crafted_dump)
    assert r.returncode == 1 and "CORRUPT" in r.stderr and r.stderr.count("\n") == 1


@pytest.mark.parametrize("command", ["info", "check", "get", "import", "compact"])
def test_every_command_explains_itself(command):
    r = run_cli(command, "--help")
    assert r.returncode == 0 and "usage: incrdump " + command in r.stdout
    assert len(r.stdout.split("\n\n", 2)[1]) > 60  # a description, not just the usage
