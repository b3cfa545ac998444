"""The engine-level command line (incrdump check / info) and the demo."""
import json
import os
import shutil
import subprocess
import sys

import pytest

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
    assert "loaded 507 pages" in text and "check: OK" in text
    with L.Store(out) as s:
        assert s.tree_stat(demo.PAGES) == (L.KEY_INT, 507)
        assert s.tree_stat(demo.TITLES) == (L.KEY_BYTES, 507)
        assert b"[[Category:Edited by the demo]]" in b"".join(v for _, v in s.cursor(demo.PAGES).items())


def test_tools_entry_point_runs_the_same_cli(small_dump):
    tool = os.path.join(os.path.dirname(os.path.dirname(__file__)), "tools", "incrdump")
    r = subprocess.run([sys.executable, tool, "check", "--json", small_dump], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["entries"] == 500
