#!/usr/bin/env python3
"""XML reading throughput: incrdump.xmlread against `xz -dc` alone, one run.

Layer: a benchmark script over ``incrdump.sources`` and ``incrdump.xmlread``.
It measures; it never passes or fails on time. For one compressed export
(default: the benchmark corpus ``../shared/data/bench/peps-history.xml.xz``)
it times, in the same run, each row the best of --repeat rounds taken in
turns:

  xz -dc (anchor)       the xz program decompressing to a pipe we drain
  source only           incrdump.sources.open_source: decompression in-process
  expat, no handlers    the same decompressed bytes through a bare expat
                        parser (the floor for any expat-based reader)
  XMLReader             every page and revision, touching each text
  XMLReader, plain      the same from a decompressed copy (parsing alone)

and prints MB/s of uncompressed XML and each time as a ratio of the
anchor's (above 1: slower than `xz -dc`).

The corpus holds form feeds (U+000C), which XML 1.0 forbids and expat
rejects, so the readers run with ``allow_control_chars=True``.

    python benchmarks/bench_xmlread.py [--file F] [--repeat N] [--no-plain]
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from xml.parsers import expat

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from incrdump.sources import open_source  # noqa: E402
from incrdump.xmlread import XMLReader  # noqa: E402

DEFAULT_FILE = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "data", "bench",
    "peps-history.xml.xz",
)
BLOCK = 1 << 20


def run_xz(path):
    """`xz -dc path`, output drained through a pipe; returns bytes seen."""
    proc = subprocess.Popen(["xz", "-dc", path], stdout=subprocess.PIPE)
    n = 0
    while True:
        chunk = proc.stdout.read(BLOCK)
        if not chunk:
            break
        n += len(chunk)
    if proc.wait() != 0:
        sys.exit("bench_xmlread: xz -dc failed")
    return {"bytes": n}


def run_source(path):
    """Decompress in-process through open_source; returns bytes seen."""
    n = 0
    with open_source(path) as src:
        while True:
            chunk = src.read(BLOCK)
            if not chunk:
                break
            n += len(chunk)
    return {"bytes": n}


def run_expat(path):
    """A bare expat parser over the decompressed bytes (form feeds blanked)."""
    parser = expat.ParserCreate()
    parser.buffer_text = True
    parser.buffer_size = BLOCK
    n = 0
    with open_source(path) as src:
        while True:
            chunk = src.read(BLOCK)
            if not chunk:
                break
            n += len(chunk)
            parser.Parse(chunk.replace(b"\x0c", b" "), False)
    parser.Parse(b"", True)
    return {"bytes": n}


def run_reader(path):
    """Every page and revision through XMLReader, each text touched."""
    pages = revisions = chars = 0
    with XMLReader(path, allow_control_chars=True) as dump:
        for page in dump:
            pages += 1
            for rev in page:
                revisions += 1
                chars += len(rev.text or "")
    return {"pages": pages, "revisions": revisions, "chars": chars}


def cpu_seconds():
    """CPU time of this process and its waited-for children (xz)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def timed(fn, path):
    t0, c0 = time.perf_counter(), cpu_seconds()
    info = fn(path)
    return time.perf_counter() - t0, cpu_seconds() - c0, info


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--file", default=DEFAULT_FILE, help="an .xml.xz export (default: the bench corpus)")
    ap.add_argument("--repeat", type=int, default=2, help="rounds; the best is kept (default 2)")
    ap.add_argument("--no-plain", action="store_true", help="skip the decompressed-copy row")
    args = ap.parse_args(argv)
    path = os.path.abspath(args.file)
    if not os.path.exists(path):
        sys.exit(f"bench_xmlread: {path} not found")
    if shutil.which("xz") is None:
        sys.exit("bench_xmlread: needs the xz program")

    tmpdir = None
    rows = [
        ("xz -dc (anchor)", run_xz, path),
        ("source only (lzma in-process)", run_source, path),
        ("expat, no handlers", run_expat, path),
        ("XMLReader (.xz)", run_reader, path),
    ]
    if not args.no_plain:
        tmpdir = tempfile.mkdtemp(prefix="bench_xmlread.")
        plain = os.path.join(tmpdir, "dump.xml")
        with open(plain, "wb") as out:
            subprocess.run(["xz", "-dc", path], stdout=out, check=True)
        rows.append(("XMLReader (plain .xml)", run_reader, plain))

    load0 = os.getloadavg()
    best = {}
    try:
        for r in range(args.repeat):
            for label, fn, p in rows:
                wall, cpu, info = timed(fn, p)
                print(f"round {r + 1}: {label}: {wall:.2f} s", file=sys.stderr)
                if label not in best or wall < best[label][0]:
                    best[label] = (wall, cpu, info)
    finally:
        if tmpdir:
            shutil.rmtree(tmpdir)
    load1 = os.getloadavg()

    size = best["xz -dc (anchor)"][2]["bytes"]
    anchor = best["xz -dc (anchor)"][0]
    info = best["XMLReader (.xz)"][2]
    print(f"file: {path}")
    print(f"XML: {size:,} bytes; {info['pages']:,} pages, {info['revisions']:,} revisions, "
          f"{info['chars']:,} characters of text")
    print(f"best of {args.repeat}; load average {load0[0]:.2f} at start, {load1[0]:.2f} at end\n")
    print("| reading | wall s | CPU s | MB/s | time / xz -dc |")
    print("|---|---:|---:|---:|---:|")
    for label, _, _ in rows:
        wall, cpu, _ = best[label]
        print(f"| {label} | {wall:.2f} | {cpu:.2f} | {size / wall / 1e6:.0f} | {wall / anchor:.2f} |")


if __name__ == "__main__":
    main()
