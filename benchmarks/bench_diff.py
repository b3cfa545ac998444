"""Diff dumps (issue 5): the size of each daily diff against the same day's
adds/changes XML compressed with ``bzip2 -9`` and ``xz -9``, and the time
to write it (an update with ``--diff``) and to apply it.

Layer: benchmark; measures, judges nothing. The input is split by date
into a base and the last DAYS dates with revisions (one XML file each,
tests/helpers/daysplit.py). The base is imported as the sender and copied
as the receiver; each day the sender is updated with the day's XML,
writing the diff as a by-product (:class:`incrdump.diff.DiffRecorder`),
and the receiver applies it. At the end both export the same bytes (SHA-1
compared) and the receiver passes check().

    python benchmarks/bench_diff.py                         # the bench corpus, 30 days
    python benchmarks/bench_diff.py --source shared/data/real/aawiki-...-history.xml.7z
    python benchmarks/bench_diff.py --days 30 --keep /tmp/benchdiff --json out.json

Prints one row per day and the mean and median of diff/xz and diff/bzip2.
"""
import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, REPO)
sys.path.insert(0, os.path.join(REPO, "tests", "helpers"))

import daysplit  # noqa: E402

import incrdump  # noqa: E402
from incrdump.diff import DiffRecorder, apply  # noqa: E402
from incrdump.load import load  # noqa: E402
from incrdump.update import update  # noqa: E402
from incrdump.xmlwrite import export  # noqa: E402

CORPUS = os.path.join(os.path.dirname(REPO), "shared", "data", "bench", "peps-history.xml.xz")


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def compressed_size(path, argv):
    """Bytes of ``argv < path`` (e.g. xz -9 -c)."""
    with open(path, "rb") as f:
        out = subprocess.run(argv, stdin=f, stdout=subprocess.PIPE, check=True).stdout
    return len(out)


def export_sha1(path):
    h = hashlib.sha1()

    class Sink:
        def write(self, b):
            h.update(b)
            return len(b)

        def flush(self):
            pass

    export(path, Sink())
    return h.hexdigest()


def split_busy(source, out_dir, days, min_revisions, allow_cc):
    """As daysplit.split_by_date, but each "day" is a run of consecutive
    dates holding at least min_revisions revisions (counted from the end):
    busier days than a sparse history's last dates."""
    count, style, version = daysplit.dates(source, allow_cc)
    ordered = sorted(count, reverse=True)
    periods, cur, n = [], [], 0
    for d in ordered:
        cur.append(d)
        n += count[d]
        if n >= min_revisions:
            periods.append(cur)
            cur, n = [], 0
            if len(periods) == days:
                break
    if len(periods) < days:
        raise SystemExit(f"{source}: not enough revisions for {days} periods of {min_revisions}")
    periods = [sorted(p) for p in reversed(periods)]
    slot = {d: i + 1 for i, p in enumerate(periods) for d in p}
    base, day_paths = daysplit.write_split(source, out_dir, slot, days, style, version,
                                           allow_control_chars=allow_cc)
    labels = [f"{p[0]}..{p[-1]}" if len(p) > 1 else str(p[0]) for p in periods]
    return base, day_paths, labels


def run(source, days, work, allow_cc, min_revisions=0):
    split = os.path.join(work, "split")
    os.makedirs(split, exist_ok=True)
    t = time.monotonic()
    if min_revisions:
        base, day_files, dates = split_busy(source, split, days, min_revisions, allow_cc)
    else:
        base, day_files, dates = daysplit.split_by_date(source, split, days,
                                                        allow_control_chars=allow_cc)
    log(f"split into a base and {days} days in {time.monotonic() - t:.1f} s")
    sender, receiver = os.path.join(work, "sender.idump"), os.path.join(work, "receiver.idump")
    t = time.monotonic()
    load(sender, base, allow_control_chars=allow_cc, overwrite=True)
    log(f"base imported in {time.monotonic() - t:.1f} s")
    shutil.copy(sender, receiver)
    rows = []
    for i, (day, date) in enumerate(zip(day_files, dates), 1):
        out = os.path.join(work, f"day-{i:02d}.idiff")
        rec = DiffRecorder(out)
        t = time.monotonic()
        try:
            stats = update(sender, day, observer=rec, allow_control_chars=allow_cc)
        except BaseException:
            rec.discard()
            raise
        rec.publish()
        t_update = time.monotonic() - t
        t = time.monotonic()
        apply(receiver, out)
        t_apply = time.monotonic() - t
        row = {"day": i, "date": str(date), "revisions": stats["revisions"],
               "xml": os.path.getsize(day), "bzip2": compressed_size(day, ["bzip2", "-9", "-c"]),
               "xz": compressed_size(day, ["xz", "-9", "-c"]), "diff": os.path.getsize(out),
               "update_s": t_update, "apply_s": t_apply,
               "text_bytes": rec.stats["text_bytes"], "deltas": rec.stats["delta"],
               "same": rec.stats["same"], "stored": rec.stats["stored"]}
        rows.append(row)
        log(f"day {i:2d} {date}: {row['revisions']} revisions, diff {row['diff']} B, "
            f"xz {row['xz']} B")
    same = export_sha1(sender) == export_sha1(receiver)
    with incrdump.Dump(receiver) as d:
        d.check()
        seq = d.sequence
    return rows, same, seq


def report(rows, same, seq, source):
    print(f"# bench_diff: {os.path.basename(source)}, {len(rows)} days, "
          f"{sum(r['revisions'] for r in rows)} revisions")
    print()
    print("| day | date | revs | XML | bzip2 -9 | xz -9 | diff | diff/xz | diff/bz2 | "
          "update+diff | apply |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['day']} | {r['date']} | {r['revisions']} | {r['xml']:,} | {r['bzip2']:,} | "
              f"{r['xz']:,} | {r['diff']:,} | {r['diff'] / r['xz']:.2f} | "
              f"{r['diff'] / r['bzip2']:.2f} | {r['update_s'] * 1000:.0f} ms | "
              f"{r['apply_s'] * 1000:.0f} ms |")
    vx = [r["diff"] / r["xz"] for r in rows]
    vb = [r["diff"] / r["bzip2"] for r in rows]
    tot = {k: sum(r[k] for r in rows) for k in ("xml", "bzip2", "xz", "diff")}
    print()
    print("| | diff/xz -9 | diff/bzip2 -9 |")
    print("|---|---:|---:|")
    print(f"| mean | {statistics.mean(vx):.3f} | {statistics.mean(vb):.3f} |")
    print(f"| median | {statistics.median(vx):.3f} | {statistics.median(vb):.3f} |")
    print(f"| all days (sum of sizes) | {tot['diff'] / tot['xz']:.3f} | "
          f"{tot['diff'] / tot['bzip2']:.3f} |")
    print(f"| days smaller than xz | {sum(v < 1 for v in vx)} of {len(vx)} | "
          f"{sum(v < 1 for v in vb)} of {len(vb)} |")
    print()
    print(f"sum: XML {tot['xml']:,} B, bzip2 {tot['bzip2']:,} B, xz {tot['xz']:,} B, "
          f"diffs {tot['diff']:,} B; receiver at sequence {seq}, export "
          f"{'identical to' if same else 'DIFFERENT from'} the sender's")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--source", default=CORPUS, help="history XML (default: the bench corpus)")
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--min-revisions", type=int, default=0, metavar="N",
                    help="make each day a run of consecutive dates with at least N revisions "
                         "(default: one date per day)")
    ap.add_argument("--keep", metavar="DIR", help="work in DIR and keep it")
    ap.add_argument("--json", metavar="OUT", help="also write the rows as JSON")
    args = ap.parse_args(argv)
    allow_cc = True   # the corpus holds raw U+000C
    work = args.keep or tempfile.mkdtemp(prefix="bench_diff.")
    os.makedirs(work, exist_ok=True)
    try:
        rows, same, seq = run(args.source, args.days, work, allow_cc, args.min_revisions)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    report(rows, same, seq, args.source)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"source": args.source, "rows": rows, "identical": same}, f, indent=1)
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
