#!/usr/bin/env python3
"""Dumps on the bench corpus: size, import, random reads and full scans, against xz and zstd.

Layer: a benchmark script over the public APIs -- the ``incrdump`` Python
package, and ``csrc/incrdump.h`` through ``benchmarks/bench_read.c``
(compiled here with every ``csrc/*.c``, -O2). It measures; it passes or
fails nothing on time. Everything runs in one run on one machine and is
printed as one table of absolute figures and ratios against anchors
measured in the same run (issue 3, "Benchmark"):

  size     the history, current and stub dumps built by ``incrdump.load``,
           against ``xz -9`` (and for history ``zstd -19 --long=27``) of the
           XML each was built from; the history dump after
           ``incrdump.compact`` when the package has it
  import   wall and CPU seconds of each import, MB of XML per second and
           the peak RSS of the importing process, against the compression
           time of ``xz -9`` and ``zstd -19 --long=27`` of the same XML
  reads    one revision's text by a random id (dump_get_revision_by_id +
           revision_get_text in C; ``dump.revision(id).text`` in Python),
           p50 and p99 of wall clock and thread CPU time: warm (one handle,
           after an untimed warm-up over other random ids), cold (a new
           handle per read, its first read timed; opening timed apart), and
           from C also with the dump's blocks dropped from the OS page
           cache before each read
  scan     every revision's text: a page cursor and a revision cursor in C;
           ``for page in dump: for rev in page: rev.text`` in Python; MB of
           revision text per second against the time ``xz -dc`` and
           ``zstd -dc`` take to decompress the whole XML

The current and stub XML are derived from the input by ``derive_xml`` (a
streaming line filter, documented there): current keeps each page's
highest revision id, stub empties every ``<text>`` to ``<text bytes=".."
sha1=".." />``. Every child (compressors, imports, Python readers) runs as
its own process, started by ``bench_read run`` which measures its wall
clock, CPU time and peak RSS (``wait4``; bench_read.c says why not from
here). Files live in a temporary directory; with ``--keep`` it is kept (by
default ``$TMPDIR/bench_dump-<input name>``) and the decompressed and
derived XML and the anchors' figures are reused by the next ``--keep`` run
on the same input.

Usage::

    python benchmarks/bench_dump.py              # the PEPs corpus: about 5 minutes on 2 cores
    python benchmarks/bench_dump.py --keep       # the same, anchors cached for the next --keep
    python benchmarks/bench_dump.py --quick      # a small real fixture, under a minute
"""

import argparse
import importlib.util
import json
import math
import os
import random
import re
import shutil
import sys
import tempfile
import time
import zlib

from _common import fmt_ratio as _ratio, fmt_time as _time, fmt_time_ratio as _time_ratio  # noqa: E501
from _common import (MB, REPO, Runner, anchor, build_reader, environment,  # noqa: F401
                     load_cache, log, save_cache, source_identity)

if importlib.util.find_spec("incrdump") is None:   # not installed: this checkout's package
    sys.path.insert(0, REPO)

DEFAULT_XML = "/work/shared/data/bench/peps-history.xml.xz"
QUICK_XML = "/work/shared/data/real/aawiki-20260101-pages-meta-history.xml.7z"
CACHE_VERSION = 1
KINDS = ("history", "current", "stub")


# ---- the derived XML -----------------------------------------------------------

_TEXT_START = re.compile(rb"^(\s*)<text\b([^>]*?)\s*(/?)>")
_ATTR = re.compile(rb'([\w:.-]+)="([^"]*)"')
_ID = re.compile(rb"^\s*<id>\s*(-?\d+)\s*</id>")
_SHA1 = re.compile(rb"^\s*<sha1>([^<]*)</sha1>")


def derive_xml(src, current_out, stub_out):
    """Write the current-only and the stub version of the export XML ``src``.

    A streaming filter over lines, for XML formatted as MediaWiki writes it
    (one element per line; ``<`` inside text and comments escaped, so in a
    revision a line with a literal ``<`` is markup, and ``</text>`` only
    ends a text). Memory: one page's header and two revisions.

    * current: each page keeps its header, the revision with the highest
      id (as ``dumpBackup.php --current`` writes page_latest) and anything
      after its revisions; everything outside pages is copied.
    * stub: everything is copied except the content of ``<text>``: a text
      element becomes ``<text ATTRS />`` with its attributes minus
      ``xml:space`` (for this corpus ``bytes`` and ``sha1``), as in a
      MediaWiki stub dump. MediaWiki 1.39 also writes ``location`` and
      ``id`` (the text table address), which an XML export does not have.
      Self-closing texts (empty or deleted) are copied as they are.

    Returns the corpus figures: pages, and per revision [id, page id, text
    bytes (-1: unknown), sha1 ("" if none), 1 if it has text content]; the
    ids of the current revisions; byte sizes of the three files.
    """
    revs, current = [], []
    in_page = in_rev = in_text = seen_rev = False
    page_head, rev_lines, tail = [], [], []
    best = best_id = page_id = None
    rev = None
    pages = 0
    with open(src, "rb") as f, open(current_out, "wb") as cur, open(stub_out, "wb") as stub:
        cw, sw = cur.write, stub.write
        for line in f:
            if in_text:
                rev_lines.append(line)
                if b"</text>" in line:
                    in_text = False
                continue
            s = line.strip()
            if s == b"<page>":
                in_page, seen_rev, page_head, tail = True, False, [line], []
                best = best_id = page_id = None
                sw(line)
            elif s == b"</page>":
                pages += 1
                cw(b"".join(page_head))
                if best is not None:
                    cw(b"".join(best))
                    current.append(best_id)
                cw(b"".join(tail))
                cw(line)
                sw(line)
                in_page = False
            elif s == b"<revision>":
                in_rev, seen_rev, rev_lines = True, True, [line]
                rev = [None, page_id, -1, "", 0]
                sw(line)
            elif s == b"</revision>":
                rev_lines.append(line)
                sw(line)
                in_rev = False
                if rev[0] is None:
                    raise ValueError("%s: a revision without <id> in page %s" % (src, page_id))
                revs.append(rev)
                if best_id is None or rev[0] > best_id:
                    best, best_id = rev_lines, rev[0]
            elif in_rev:
                rev_lines.append(line)
                m = _TEXT_START.match(line)
                if m:
                    attrs = _ATTR.findall(m.group(2))
                    for k, v in attrs:
                        if k == b"bytes":
                            rev[2] = int(v)
                        elif k == b"sha1" and not rev[3]:
                            rev[3] = v.decode()
                    if m.group(3):                          # <text ... /> as it is
                        sw(line)
                        continue
                    rev[4] = 1
                    in_text = b"</text>" not in line[m.end():]
                    sw(m.group(1) + b"<text" + b"".join(
                        b' %s="%s"' % (k, v) for k, v in attrs if k != b"xml:space") + b" />\n")
                    continue
                if rev[0] is None:
                    m = _ID.match(line)
                    if m:
                        rev[0] = int(m.group(1))
                m = _SHA1.match(line)
                if m and m.group(1):
                    rev[3] = m.group(1).decode()
                sw(line)
            elif in_page:
                if not seen_rev:
                    page_head.append(line)
                    m = _ID.match(line) if page_id is None else None
                    if m:
                        page_id = int(m.group(1))
                else:
                    tail.append(line)
                sw(line)
            else:
                cw(line)
                sw(line)
    if in_text or in_page:
        raise ValueError("%s: the XML ends inside a %s" % (src, "text" if in_text else "page"))
    return {"pages": pages, "revisions": revs, "current": current,
            "bytes": {"history": os.path.getsize(src), "current": os.path.getsize(current_out),
                      "stub": os.path.getsize(stub_out)}}


# ---- child processes (timed by _common.Runner) ---------------------------------------

def child_argv(mode, *args):
    """This script, run as a child measuring one thing through the Python API."""
    return [sys.executable, os.path.abspath(__file__), "--child", mode, *map(str, args)]


# ---- incrdump through its CLI and Python API ---------------------------------------

def write_ids(path, revs):
    """Lines "id bytes sha1" for bench_read.c and the Python reader child."""
    with open(path, "w") as f:
        for r in revs:
            f.write("%d %d %s\n" % (r[0], r[2], r[3] or "-"))


def read_ids(path):
    with open(path) as f:
        return [(int(a), int(b), c) for a, b, c in (line.split() for line in f)]


def _text_bytes(text):
    if isinstance(text, str):
        return text.encode("utf-8", "surrogatepass")
    return bytes(text)


def _open_dump(path):
    import incrdump
    return incrdump.open(path)


def child_reads(dump_path, ids_path, warm_path, cold_path):
    """Python API reads (run as a child). Prints one JSON line: latencies in
    ns of warm reads (one handle, warm-up first) and of cold reads (a new
    handle each: opening and the first read timed apart), the CRC-32 of the
    texts read, and how many sha1s were checked against the XML."""
    from incrdump.xmlread import sha1_base36
    ids, warm, cold = read_ids(ids_path), read_ids(warm_path), read_ids(cold_path)
    perf, cpu = time.perf_counter_ns, time.thread_time_ns
    checked = 0

    def check(rid, sha1, text):
        nonlocal checked
        if sha1 != "-" and sha1_base36(text) != sha1:
            raise SystemExit("bench_dump: revision %d: sha1 differs from the XML" % rid)
        checked += sha1 != "-"

    crc_warm = crc_cold = 0
    lat, lat_cpu = [], []
    with _open_dump(dump_path) as d:
        for rid, _, _ in warm:
            d.revision(rid).text
        for rid, _, sha1 in ids:
            c0 = cpu()
            t0 = perf()
            text = d.revision(rid).text
            t1 = perf()
            lat_cpu.append(cpu() - c0)
            lat.append(t1 - t0)
            b = _text_bytes(text)
            crc_warm = zlib.crc32(b, crc_warm)
            check(rid, sha1, b)
    cold_lat, cold_cpu, cold_open = [], [], []
    for rid, _, sha1 in cold:
        t0 = perf()
        d = _open_dump(dump_path)
        c1 = cpu()
        t1 = perf()
        text = d.revision(rid).text
        t2 = perf()
        cold_cpu.append(cpu() - c1)
        d.close()
        cold_open.append(t1 - t0)
        cold_lat.append(t2 - t1)
        b = _text_bytes(text)
        crc_cold = zlib.crc32(b, crc_cold)
        check(rid, sha1, b)
    print(json.dumps({"warm_ns": lat, "warm_cpu_ns": lat_cpu, "cold_ns": cold_lat,
                      "cold_cpu_ns": cold_cpu, "cold_open_ns": cold_open,
                      "crc_warm": crc_warm, "crc_cold": crc_cold, "sha1_checked": checked}))


def child_scan(dump_path):
    """A full scan through the Python API (run as a child). Prints one JSON
    line: pages, revisions, characters of text, wall and CPU seconds."""
    pages = revs = chars = 0
    with _open_dump(dump_path) as d:
        w0, c0 = time.perf_counter(), time.process_time()
        for page in d:
            pages += 1
            for rev in page:
                revs += 1
                t = rev.text
                if t is not None:
                    chars += len(t)
        wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    print(json.dumps({"pages": pages, "revisions": revs, "chars": chars, "wall": wall,
                      "cpu": cpu}))


def child_load(xml, dump_path, kind):
    """incrdump.load of xml into a new dump of this kind, with the default
    configuration (run as a child). Control characters are allowed: the
    PEPs corpus has form feeds."""
    import incrdump
    incrdump.load(dump_path, xml, kind=kind, allow_control_chars=True)


def child_compact(src, dst):
    """incrdump.compact(src, dst) with its defaults (run as a child)."""
    import incrdump
    incrdump.compact(src, dst)


def have_compact():
    try:
        import incrdump
    except ImportError:
        return False
    return callable(getattr(incrdump, "compact", None))


# ---- the run -------------------------------------------------------------------------

def percentile(values, p):
    """Nearest-rank percentile of a non-empty list."""
    v = sorted(values)
    return v[min(len(v) - 1, max(0, math.ceil(p * len(v)) - 1))]


def lat_summary(ns, cpu_ns):
    """Percentiles in µs of per-read wall clock and thread CPU times."""
    return {"n": len(ns), "p50_us": percentile(ns, 0.50) / 1e3,
            "p99_us": percentile(ns, 0.99) / 1e3, "max_us": max(ns) / 1e3,
            "cpu_p50_us": percentile(cpu_ns, 0.50) / 1e3,
            "cpu_p99_us": percentile(cpu_ns, 0.99) / 1e3}


def prepare(args, work, cache):
    """Decompressed and derived XML in work; the corpus figures."""
    files = {k: os.path.join(work, k + ".xml") for k in KINDS}
    corpus = cache.get("corpus")
    if corpus and all(os.path.exists(files[k]) and os.path.getsize(files[k]) ==
                      corpus["bytes"][k] for k in KINDS):
        log("reusing the XML in %s" % work)
        return files, corpus
    from incrdump.sources import open_source
    log("decompressing %s ..." % args.xml)
    with open_source(args.xml) as src, open(files["history"], "wb") as out:
        shutil.copyfileobj(src, out, 1 << 20)
    log("deriving the current and stub XML ...")
    corpus = derive_xml(files["history"], files["current"], files["stub"])
    cache.pop("anchors", None)
    cache["corpus"] = corpus
    return files, corpus


def run_anchors(args, runner, files, cache):
    """xz -9 and zstd -19 --long=27 of the history XML (both decompressed
    too), xz -9 of the current and stub XML; cached with --keep."""
    out = cache.setdefault("anchors", {})
    plan = [("history", "xz -9", True), ("history", "zstd -19 --long=27", True),
            ("current", "xz -9", False), ("stub", "xz -9", False)]
    for kind, name, decomp in plan:
        key = "%s %s" % (kind, name)
        if key in out and "error" not in out[key]:
            continue
        out[key] = anchor(runner, name, files[kind], decomp)
        if args.keep:
            save_cache(runner.work, cache)
    return out


def run_imports(runner, files):
    dumps, res = {}, {}
    for kind in KINDS:
        path = os.path.join(runner.work, kind + ".incrdump")
        if os.path.exists(path):
            os.unlink(path)
        log("incrdump.load(kind=%r) ..." % kind)
        res[kind] = runner.timed(child_argv("load", files[kind], path, kind))
        res[kind]["size"] = os.path.getsize(path)
        dumps[kind] = path
    return dumps, res


def run_compact(runner, dumps):
    if not have_compact():
        return None
    dst = os.path.join(runner.work, "compacted.incrdump")
    if os.path.exists(dst):
        os.unlink(dst)
    log("incrdump.compact ...")
    r = runner.timed(child_argv("compact", dumps["history"], dst))
    r["size"] = os.path.getsize(dst)
    os.unlink(dst)
    return r


def run_reads(args, runner, dump, corpus):
    """C and Python random reads of the same seeded samples."""
    cands = [r for r in corpus["revisions"] if r[4] or r[2] == 0]
    rng = random.Random(args.seed)
    n, m = args.reads, args.cold_reads
    if 2 * n + m <= len(cands):     # distinct ids: none read twice, warm-up ones not timed
        drawn = rng.sample(cands, 2 * n + m)
    else:                           # a small dump: with replacement
        drawn = rng.choices(cands, k=2 * n + m)
    sample, warmup, cold = drawn[:n], drawn[n:2 * n], drawn[2 * n:]
    paths = {}
    for name, revs in (("ids", sample), ("warmup", warmup), ("cold", cold)):
        paths[name] = os.path.join(runner.work, name + ".txt")
        write_ids(paths[name], revs)
    res = {}
    log("C reads: warm (%d), cold (%d), evicted (%d) ..." % (len(sample), len(cold), len(cold)))
    exe = runner.exe
    c_warm, _ = runner.json([exe, "warm", dump, paths["ids"], paths["warmup"]], "c-warm")
    c_cold, _ = runner.json([exe, "cold", dump, paths["cold"]], "c-cold")
    c_evict, _ = runner.json([exe, "evict", dump, paths["cold"]], "c-evict")
    log("Python reads: warm (%d), cold (%d) ..." % (len(sample), len(cold)))
    py, _ = runner.json(child_argv("reads", dump, paths["ids"], paths["warmup"], paths["cold"]),
                        "py-reads")
    if py["crc_warm"] != c_warm["crc"] or py["crc_cold"] != c_cold["crc"] or \
            c_cold["crc"] != c_evict["crc"]:
        raise RuntimeError("C and Python read different texts for the same revisions")
    res["C warm"] = lat_summary(c_warm["lat_ns"], c_warm["cpu_ns"])
    res["C cold"] = dict(lat_summary(c_cold["lat_ns"], c_cold["cpu_ns"]),
                         open_p50_us=percentile(c_cold["open_ns"], 0.5) / 1e3)
    res["C evicted"] = dict(lat_summary(c_evict["lat_ns"], c_evict["cpu_ns"]),
                            open_p50_us=percentile(c_evict["open_ns"], 0.5) / 1e3,
                            resident=c_evict["resident_after_evict"] /
                            max(1, c_evict["file_pages"] * len(cold)))
    res["Python warm"] = lat_summary(py["warm_ns"], py["warm_cpu_ns"])
    res["Python cold"] = dict(lat_summary(py["cold_ns"], py["cold_cpu_ns"]),
                              open_p50_us=percentile(py["cold_open_ns"], 0.5) / 1e3)
    res["sha1_checked"] = py["sha1_checked"]
    res["size_mismatches"] = c_warm["size_mismatches"] + c_cold["size_mismatches"]
    return res


def run_scans(runner, dump, corpus):
    expect_revs = len(corpus["revisions"])
    expect_bytes = sum(r[2] for r in corpus["revisions"] if r[4])
    log("C scan ...")
    c, cfig = runner.json([runner.exe, "scan", dump], "c-scan")
    log("Python scan ...")
    py, pfig = runner.json(child_argv("scan", dump), "py-scan")
    if c["revisions"] != expect_revs or py["revisions"] != expect_revs:
        raise RuntimeError("scan: %d revisions from C, %d from Python, %d in the XML"
                           % (c["revisions"], py["revisions"], expect_revs))
    # The volume of text is what C read (MediaWiki's bytes= may be a few
    # bytes off where the sha1 matches: see bench_read.c); Python reads the
    # same texts as str.
    return {"C": {"wall": c["wall_ns"] / 1e9, "cpu": c["cpu_ns"] / 1e9, "rss_mb": cfig["rss_mb"],
                  "bytes": c["text_bytes"], "declared_bytes": expect_bytes},
            "Python": {"wall": py["wall"], "cpu": py["cpu"], "rss_mb": pfig["rss_mb"],
                       "bytes": c["text_bytes"], "chars": py["chars"]}}


# ---- the table ----------------------------------------------------------------------

def _mb(n):
    return "%.2f MB" % (n / MB)


def table(res):
    """The result table (Markdown) as a list of lines."""
    rows = []
    row = lambda *cells: rows.append("| " + " | ".join(cells) + " |")
    a, imp, c = res["anchors"], res["imports"], res["corpus"]
    xml_mb = c["bytes"]
    for kind in KINDS:
        x = a.get("%s xz -9" % kind, {})
        row("%s dump: file size" % kind, _mb(imp[kind]["size"]),
            "xz -9 of the %s XML (%s)" % (kind, _mb(xml_mb[kind])),
            _mb(x["size"]) if x.get("size") else x.get("error", "–"),
            _ratio(imp[kind]["size"], x.get("size")), "≤ 1" if kind == "history" else "")
        if kind == "history":
            z = a.get("history zstd -19 --long=27", {})
            row("history dump: file size", _mb(imp[kind]["size"]), "zstd -19 --long=27 of the XML",
                _mb(z["size"]) if z.get("size") else z.get("error", "–"),
                _ratio(imp[kind]["size"], z.get("size")), "")
            comp = res.get("compact")
            if comp:
                row("history dump after incrdump.compact: file size", _mb(comp["size"]),
                    "xz -9 of the history XML", _mb(x["size"]) if x.get("size") else "–",
                    _ratio(comp["size"], x.get("size")), "≤ 1")
            else:
                row("history dump after incrdump.compact", "not available", "", "", "", "")
    for kind in KINDS:
        names = ("xz -9", "zstd -19 --long=27") if kind == "history" else ("xz -9",)
        for name in names:
            x = a.get("%s %s" % (kind, name), {})
            if "compress" not in x:
                row("import %s" % kind, _time(imp[kind], xml_mb[kind]), name, x.get("error", "–"),
                    "", "")
                continue
            row("import %s: time" % kind, _time(imp[kind], xml_mb[kind]),
                "%s of the %s XML" % (name, kind), _time(x["compress"], xml_mb[kind]),
                _time_ratio(imp[kind], x["compress"]),
                "≤ 0.33" if kind == "history" and name == "xz -9" else "")
        x = a.get("%s xz -9" % kind, {})
        rss = x["compress"]["rss_mb"] if "compress" in x else None
        row("import %s: peak RSS" % kind, "%.0f MB" % imp[kind]["rss_mb"],
            "xz -9 of the %s XML" % kind, "%.0f MB" % rss if rss else "–",
            _ratio(imp[kind]["rss_mb"], rss), "< 200 MB" if kind == "history" else "")
    comp = res.get("compact")
    if comp:
        x = a.get("history xz -9", {})
        row("incrdump.compact of the history dump: time", _time(comp),
            "xz -9 of the history XML", _time(x["compress"]) if "compress" in x else "–",
            _time_ratio(comp, x["compress"]) if "compress" in x else "", "")
    r = res["reads"]
    for name, what in (("C warm", "C, warm handle"),
                       ("C cold", "C, new handle, first read"),
                       ("C evicted", "C, new handle, dump evicted from the OS page cache"),
                       ("Python warm", "Python, warm handle"),
                       ("Python cold", "Python, new handle, first read")):
        f = r[name]
        cell = "p50 %.1f µs, p99 %.1f µs; CPU p50 %.1f, p99 %.1f µs" % (
            f["p50_us"], f["p99_us"], f["cpu_p50_us"], f["cpu_p99_us"])
        if "open_p50_us" in f:
            cell += " (+ open p50 %.0f µs)" % f["open_p50_us"]
        row("one revision's text by random id: %s (%d reads)" % (what, f["n"]), cell,
            "1 ms", "1000 µs", "%.3f" % (f["p99_us"] / 1000),
            "" if name == "C evicted" else "p99 ≪ 1 ms")
    s = res["scans"]
    for name, what in (("C", "C cursors"), ("Python", "Python for page/for rev")):
        f = s[name]
        for anchor_name, label in (("xz -9", "xz -dc"), ("zstd -19 --long=27", "zstd -dc")):
            x = a.get("history %s" % anchor_name, {})
            if "decompress" not in x:
                continue
            row("full text scan, %s: time (peak RSS %.0f MB)" % (what, f["rss_mb"]),
                _time(f, f["bytes"]), "%s of the XML" % label,
                _time(x["decompress"], f["bytes"]), _time_ratio(f, x["decompress"]), "")
    head = ["| measure | incrdump | anchor | anchor's figure | ratio | goal |",
            "|---|---:|---|---:|---:|---|"]
    return head + rows


def report(res, out=None):
    """Print the header notes and the table (to stdout by default)."""
    out = out or sys.stdout
    c = res["corpus"]
    env = res["environment"]
    revs = c["revisions"]
    text = c["text_bytes"]
    p = lambda *a: print(*a, file=out)
    p()
    p("# Dumps — %s" % os.path.basename(res["settings"]["xml"]))
    p()
    p("%s pages, %s revisions, %.1f MB of XML, %.1f MB of revision text (main slot); "
      "current XML %.1f MB (%s revisions), stub XML %.1f MB (derive_xml in bench_dump.py)."
      % (f"{c['pages']:,}", f"{revs:,}", c["bytes"]["history"] / MB, text / MB,
         c["bytes"]["current"] / MB, f"{c['current_revisions']:,}", c["bytes"]["stub"] / MB))
    p("incrdump %s; dumps built by incrdump.load(xml, kind=K) with the default configuration; "
      "compact: incrdump.compact with its defaults. "
      "Python %s, %s CPUs, load average %.2f at the start, %.2f at the end; total run %.0f s%s."
      % (env["incrdump"], env["python"], env["cpus"], env["loadavg_start"][0],
         env["loadavg_end"][0], res["total_s"],
         " (anchors reused from an earlier --keep run)" if res.get("anchors_cached") else ""))
    p("Ratios: incrdump divided by the anchor (sizes; times as wall clock, CPU in "
      "parentheses): below 1 incrdump is smaller or faster. Reads: wall clock per read and the "
      "thread's CPU time per read (what the read costs without waiting for a core); the "
      "ratio is the wall clock p99 / 1 ms. "
      "Scans: MB/s is MB of revision text per second for both sides.")
    ev = res["reads"]["C evicted"]["resident"]
    p("Page cache: the XML and the dumps were written or read just before, so apart from the "
      "evicted row every read and scan is served from the OS page cache (%s MB of RAM): "
      "\"cold\" means a new handle with empty incrdump caches, not a cold disk. The evicted "
      "row drops the dump file's pages with posix_fadvise(DONTNEED) before each open "
      "(mincore: %.1f %% of them still resident after the drop). %d texts read from Python "
      "were checked against the sha1 in the XML, and C and Python read the same bytes "
      "(CRC-32)%s."
      % (env.get("ram_mb", "?"), 100 * ev, res["reads"]["sha1_checked"],
         "; %d of the texts C read differ in length from the XML's bytes= attribute, which "
         "MediaWiki sometimes gets wrong: their sha1 matches" % res["reads"]["size_mismatches"]
         if res["reads"].get("size_mismatches") else ""))
    p()
    for line in table(res):
        p(line)
    p()


def run(args, work):
    t_start = time.perf_counter()
    env = environment()
    ident = source_identity(args.xml)
    cache = load_cache(work, ident, CACHE_VERSION) if args.keep else {}
    anchors_cached = bool(cache.get("anchors"))
    cache.update(version=CACHE_VERSION, source=ident, tools=env["tools"])
    files, corpus = prepare(args, work, cache)
    if args.keep:
        save_cache(work, cache)
    runner = Runner(build_reader(work), work)
    anchors = run_anchors(args, runner, files, cache)
    dumps, imports = run_imports(runner, files)
    compact = run_compact(runner, dumps)
    reads = run_reads(args, runner, dumps["history"], corpus)
    scans = run_scans(runner, dumps["history"], corpus)
    env["loadavg_end"] = os.getloadavg()
    res = {"settings": {"xml": args.xml, "reads": args.reads, "cold_reads": args.cold_reads,
                        "seed": args.seed},
           "environment": env,
           "corpus": {"pages": corpus["pages"], "revisions": len(corpus["revisions"]),
                      "current_revisions": len(corpus["current"]),
                      "text_bytes": sum(r[2] for r in corpus["revisions"] if r[4]),
                      "bytes": corpus["bytes"]},
           "anchors": anchors, "anchors_cached": anchors_cached, "imports": imports,
           "compact": compact, "reads": reads, "scans": scans,
           "total_s": time.perf_counter() - t_start}
    report(res)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=1)
    return res


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--xml", help="input dump, .xml or compressed (default: the PEPs corpus, "
                    "with --quick a small real fixture)")
    ap.add_argument("--quick", action="store_true",
                    help="smoke run on %s, fewer reads" % os.path.basename(QUICK_XML))
    ap.add_argument("--reads", type=int, help="warm random reads (default 2000; --quick 200)")
    ap.add_argument("--cold-reads", type=int,
                    help="cold random reads, a new handle each (default 500; --quick 50)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--dir", help="work directory (default: a new temporary one; with --keep "
                    "$TMPDIR/bench_dump-<input name>)")
    ap.add_argument("--keep", action="store_true",
                    help="keep the work directory; reuse its XML and anchors next time")
    ap.add_argument("--json", help="also write every figure to this file")
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        mode, rest = args.child[0], args.child[1:]
        {"reads": child_reads, "scan": child_scan, "load": child_load,
         "compact": child_compact}[mode](*rest)
        return 0
    args.xml = args.xml or (QUICK_XML if args.quick else DEFAULT_XML)
    if args.reads is None:
        args.reads = 200 if args.quick else 2000
    if args.cold_reads is None:
        args.cold_reads = 50 if args.quick else 500
    if args.keep:
        stem = os.path.basename(args.xml).split(".")[0]
        work = args.dir or os.path.join(tempfile.gettempdir(), "bench_dump-" + stem)
        os.makedirs(work, exist_ok=True)
        log("work directory (kept): %s" % work)
        run(args, work)
        return 0
    work = tempfile.mkdtemp(prefix="bench_dump.", dir=args.dir)
    try:
        run(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
