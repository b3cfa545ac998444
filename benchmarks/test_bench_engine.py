"""pytest-benchmark view of bench_engine.py: lookups and scans, per engine.

Layer: benchmarks, not tests of the package: nothing here fails on time.
Run explicitly (tests/ is the default test path):

    pytest benchmarks/ --benchmark-group-by=group --benchmark-columns=min,mean,ops

Each group ("int lookup", "str scan", ...) holds the three engines side by
side on the same small data set (BENCH_N keys, default 20,000). The
assertions only check that each engine returned what was stored, and
test_script_runs keeps bench_engine.py itself from rotting.
"""

import json
import os
import sys

import pytest

pytest.importorskip("lmdb")
pytest.importorskip("pytest_benchmark")

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_engine as be  # noqa: E402

N = int(os.environ.get("BENCH_N", "20000"))
LOOKUPS = min(N, 20000)


@pytest.fixture(scope="module", params=["int", "str"])
def dataset(request):
    return request.param, be.make_dataset(request.param, N, LOOKUPS, seed=7)


@pytest.fixture(params=be.ENGINES)
def opened(request, dataset, tmp_path):
    """(engine opened read-only on a sorted-built, warmed file, its probe keys)."""
    kind, data = dataset
    e = be.ENGINE_CLASSES[request.param](kind, 64 << 20)
    keys = e.native(data["keys"])
    path = e.path(str(tmp_path), "sorted")
    e.build(path, list(zip(keys, data["values"])), 10_000, True)
    e.open_read(path)
    e.scan()
    yield kind, e, [keys[i] for i in data["probe"]]
    e.close()


def test_lookup(benchmark, opened):
    kind, e, probe = opened
    benchmark.group = "%s lookup" % kind
    benchmark.name = e.name
    _, nbytes = benchmark(e.lookup, probe)
    assert nbytes == len(probe) * be.VALUE_SIZE


def test_scan(benchmark, opened):
    kind, e, _ = opened
    benchmark.group = "%s scan" % kind
    benchmark.name = e.name
    _, count, nbytes = benchmark(e.scan)
    assert (count, nbytes) == (N, N * be.VALUE_SIZE)


def test_script_runs(tmp_path, capsys):
    out = tmp_path / "r.json"
    be.main(["--n", "3000", "--lookups", "500", "--repeat", "1", "--batched",
             "--dir", str(tmp_path), "--json", str(out)])
    table = capsys.readouterr().out
    for row in ("insert sorted", "insert random", "lookup (sorted-built)",
                "scan (random-built)", "file size (sorted-built)", "incrdump/LMDB"):
        assert row in table
    res = json.loads(out.read_text())["results"]
    assert set(res) == {"int", "str"}
    assert set(res["int"]["insert random"]) == set(be.ENGINES)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("bench-")]
