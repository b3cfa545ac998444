#!/usr/bin/env python3
"""Incremental updates on the bench corpus: one day's ``update`` against a rebuild from scratch.

Layer: a benchmark script over the Python API (:func:`incrdump.update.update`,
:func:`incrdump.load`, :func:`incrdump.compact`, :func:`incrdump.xml.export`),
timed in process with ``time.perf_counter`` (a day's update is milliseconds:
starting Python would be most of a timed command). It measures; it passes or
fails nothing on time. Issue 5, "Benchmark":

  split    the corpus split by date (tests/helpers/daysplit.py): the last
           DAYS dates with revisions are one adds/changes file each, all
           before them the base
  rebuild  ``load`` of the whole corpus into a new dump (what an update
           replaces): seconds, and seconds per revision
  update   base, then ``update`` with each day in turn: seconds per day
           (median, mean, max) and per revision put, against the rebuild
           (goal: proportional to the change, not the dump); the fixed
           cost of an update (the median of 9 empty change sets: open,
           transaction, commit with its syncs) and the cost per revision
           beyond it
  size     the file after the DAYS updates against a fresh build of the
           same content (goal <= 1.10), its live blocks against the fresh
           build's, and ``compact`` of each: compacting restores the fresh
           layout (the two compacted files have the same size)
  export   the updated dump's export against the fresh build's: identical
           (SHA-1); a difference makes the script exit 1

for a history and a current dump. ``--quick`` uses the aawiki history
fixture (507 pages, 1,307 revisions) instead of the corpus.

Usage::

    python benchmarks/bench_update.py                 # the corpus, 30 days (about 2 minutes)
    python benchmarks/bench_update.py --quick         # aawiki, 30 days (seconds)
    python benchmarks/bench_update.py --days 60 --kinds history --json out.json
"""
import argparse
import hashlib
import io
import json
import os
import shutil
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "helpers"))

from _common import MB, environment, log  # noqa: E402

import daysplit  # noqa: E402
import incrdump  # noqa: E402
from incrdump import _lowlevel as L  # noqa: E402
from incrdump.update import update  # noqa: E402
from incrdump.xml import export  # noqa: E402

DATA = os.path.join(os.path.dirname(os.path.dirname(HERE)), "shared", "data")
CORPUS = os.path.join(DATA, "bench", "peps-history.xml.xz")
QUICK = os.path.join(DATA, "real", "aawiki-20260101-pages-meta-history.xml.7z")


def export_sha1(path):
    buf = io.BytesIO()
    export(path, buf)
    return hashlib.sha1(buf.getvalue()).hexdigest()


def live_blocks(path):
    with L.Store(path) as s:
        return s.check()["live_blocks"]


def run_kind(kind, source, base, days, work, acc):
    """Every figure of one kind of dump."""
    r = {"kind": kind}
    fresh = os.path.join(work, f"fresh-{kind}.idump")
    upd = os.path.join(work, f"upd-{kind}.idump")
    log(f"{kind}: rebuild (load of the whole input)")
    t = time.perf_counter()
    st = incrdump.load(fresh, source, kind=kind, overwrite=True, allow_control_chars=acc)
    r["rebuild_s"] = time.perf_counter() - t
    r["revisions_total"] = st["revisions"]
    log(f"{kind}: base")
    incrdump.load(upd, base, kind=kind, overwrite=True, allow_control_chars=acc)
    r["base_size"] = os.path.getsize(upd)
    times, puts = [], []
    for i, day in enumerate(days, 1):
        t = time.perf_counter()
        st = update(upd, day, allow_control_chars=acc)
        times.append(time.perf_counter() - t)
        puts.append(st["revisions"])
    log(f"{kind}: {len(days)} updates in {sum(times):.2f} s")
    r["day_s"] = times
    r["day_revisions"] = puts
    r["size_fresh"] = os.path.getsize(fresh)
    r["size_updated"] = os.path.getsize(upd)
    r["live_fresh"] = live_blocks(fresh)
    r["live_updated"] = live_blocks(upd)
    with incrdump.Dump(upd) as d:
        d.check()
    r["export_identical"] = export_sha1(upd) == export_sha1(fresh)
    # the fixed cost of an update (open, transaction, two syncs, commit):
    # empty change sets on a copy of the updated dump
    empty = os.path.join(work, "empty.ichanges")
    with open(empty, "w") as f:
        f.write('{"format": "incrdump-changes", "version": 1}\n')
    scratch = os.path.join(work, f"scratch-{kind}.idump")
    shutil.copy(upd, scratch)
    fixed = []
    for _ in range(9):
        t = time.perf_counter()
        update(scratch, empty)
        fixed.append(time.perf_counter() - t)
    r["empty_s"] = statistics.median(fixed)
    os.unlink(scratch)
    log(f"{kind}: compact")
    c1, c2 = os.path.join(work, f"c-upd-{kind}.idump"), os.path.join(work, f"c-fresh-{kind}.idump")
    incrdump.compact(upd, c1, overwrite=True)
    incrdump.compact(fresh, c2, overwrite=True)
    r["compact_updated"] = os.path.getsize(c1)
    r["compact_fresh"] = os.path.getsize(c2)
    return r


def table(results, days):
    rows = []
    for r in results:
        ts = r["day_s"]
        med, mean, top = statistics.median(ts), statistics.fmean(ts), max(ts)
        revs = r["day_revisions"]
        per_rev_day = sum(ts) / max(1, sum(revs))
        marginal = max(0.0, sum(ts) - len(ts) * r["empty_s"]) / max(1, sum(revs))
        per_rev_rebuild = r["rebuild_s"] / max(1, r["revisions_total"])
        rows.append([
            ("kind", r["kind"]),
            ("rebuild (load all)", f"{r['rebuild_s']:.2f} s"),
            (f"one day's update, median of {days}", f"{med * 1000:.1f} ms "
             f"({statistics.median(revs):.0f} revisions)"),
            ("  mean / max", f"{mean * 1000:.1f} / {top * 1000:.1f} ms"),
            ("  median day / rebuild", f"{med / r['rebuild_s']:.5f}"),
            ("  an empty update (fixed cost)", f"{r['empty_s'] * 1000:.1f} ms"),
            ("  per revision: update / rebuild", f"{per_rev_day * 1000:.2f} / "
             f"{per_rev_rebuild * 1000:.2f} ms = {per_rev_day / per_rev_rebuild:.2f}"),
            ("  per revision beyond the fixed cost", f"{marginal * 1000:.2f} ms = "
             f"{marginal / per_rev_rebuild:.2f} x the rebuild's"),
            ("file: fresh build", f"{r['size_fresh'] / MB:.3f} MB"),
            (f"file: after {days} updates", f"{r['size_updated'] / MB:.3f} MB"),
            ("  ratio (goal <= 1.10)", f"{r['size_updated'] / r['size_fresh']:.3f}"),
            ("  live blocks ratio", f"{r['live_updated'] / r['live_fresh']:.3f}"),
            ("compact(updated) / compact(fresh)",
             f"{r['compact_updated'] / MB:.3f} / {r['compact_fresh'] / MB:.3f} MB = "
             f"{r['compact_updated'] / r['compact_fresh']:.3f}"),
            ("export identical to the fresh build", "yes" if r["export_identical"] else "NO"),
        ])
    names = [k for k, _ in rows[0]]
    width = max(len(n) for n in names)
    cols = [[v for _, v in row] for row in rows]
    cw = [max(len(v) for v in col) for col in cols]
    out = []
    for i, name in enumerate(names):
        cells = " | ".join(col[i].ljust(w) for col, w in zip(cols, cw))
        out.append(f"| {name.ljust(width)} | {cells} |")
        if i == 0:
            out.append("|" + "-" * (width + 2) + "|" + "|".join("-" * (w + 2) for w in cw) + "|")
    return "\n".join(out)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--source", help="history XML to split (default: the bench corpus)")
    ap.add_argument("--quick", action="store_true", help="the aawiki fixture instead")
    ap.add_argument("--days", type=int, default=30, help="daily change sets (default 30)")
    ap.add_argument("--kinds", default="history,current", help="dump kinds to run")
    ap.add_argument("--dir", help="work directory (default: a temporary one)")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    ap.add_argument("--json", metavar="FILE", help="save every figure")
    args = ap.parse_args(argv)
    source = args.source or (QUICK if args.quick else CORPUS)
    acc = source == CORPUS or source.endswith(".xml.xz")
    work = args.dir or tempfile.mkdtemp(prefix="bench-update-")
    os.makedirs(work, exist_ok=True)
    env = environment()
    try:
        log(f"split {source} into a base and {args.days} days")
        t = time.perf_counter()
        base, days, dates = daysplit.split_by_date(source, work, args.days,
                                                   allow_control_chars=acc)
        split_s = time.perf_counter() - t
        results = [run_kind(k, source, base, days, work, acc) for k in args.kinds.split(",")]
    finally:
        if not args.keep and not args.dir:
            shutil.rmtree(work, ignore_errors=True)
    env["loadavg_end"] = os.getloadavg()
    print(f"# bench_update: {os.path.basename(source)}, base + {args.days} days "
          f"({dates[0]} .. {dates[-1]}); split in {split_s:.1f} s")
    print(f"# {env['incrdump']}; Python {env['python']}; {env['cpus']} CPUs; load "
          f"{env['loadavg_start'][0]:.2f} -> {env['loadavg_end'][0]:.2f}")
    print()
    print(table(results, args.days))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"env": env, "source": source, "days": args.days,
                       "dates": [str(d) for d in dates], "results": results}, f, indent=1)
    return 0 if all(r["export_identical"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
