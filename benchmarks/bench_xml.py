#!/usr/bin/env python3
"""XML in and out on the bench corpus: ``incrdump import`` and ``export`` against xz and zstd.

Layer: a benchmark script over the command-line tools (``incrdump import``,
``incrdump export``, ``incrdump2xml``), timed as a user runs them. It
measures; it passes or fails nothing on time. Everything runs in one run
on one machine and is printed as one table of absolute figures and
ratios against anchors measured in the same run (issue 4, "Benchmark"):

  import   ``incrdump import XML -o DUMP`` of the plain XML and of the
           .xz file: wall and CPU seconds, MB of XML per second, peak RSS;
           against ``xz -9`` and ``zstd -19 --long=27`` compressing the
           same XML (goals: time ratio to xz -9 at most 0.33, RSS < 200 MB)
  export   the whole history as XML: ``incrdump export DUMP -o OUT.xml``,
           ``incrdump2xml DUMP > /dev/null`` and ``incrdump export DUMP``
           into a pipe this script drains; against ``xz -dc`` and
           ``zstd -dc`` of the XML to /dev/null (goals: ratio to xz -dc at
           most 1, RSS < 200 MB)
  round trip  the SHA-1 of the exported file and of the piped output
           against the SHA-1 of the input XML: import then export must give
           back the input bytes (a difference is reported with its first
           differing offset, and the script exits 1)
  MediaWiki   with ``--mediawiki``, for reference: a new wiki
           (tests/mediawiki.py: Debian's MediaWiki 1.39 on SQLite in
           /dev/shm), ``importDump.php --no-updates`` of the XML and
           ``dumpBackup.php --full`` of it: adds about a minute on the
           corpus (importDump 40 s, dumpBackup 6 s, on a copy whose form
           feeds are spaces: MediaWiki's libxml2 rejects them); the wiki is
           deleted afterwards.

Every child runs under ``bench_read run`` (``_common.Runner``: wall
clock, CPU time and the child's own peak RSS from ``wait4``), built here
as the bare launcher from ``bench_read.c`` alone. The corpus
(``/work/shared/data/bench/peps-history.xml.xz``, 373 MB of XML) is
decompressed once into the work directory, and its SHA-1 is taken then.
It holds form feeds (U+000C), which XML 1.0 forbids, so imports get
``--allow-control-chars`` when the command has it. ``--quick`` takes a
few small pages of the corpus instead (about 2.5 MB) for a smoke run.

Usage::

    python benchmarks/bench_xml.py               # the corpus: under 2 minutes on 2 cores
    python benchmarks/bench_xml.py --keep        # keep the XML and the anchors' figures
    python benchmarks/bench_xml.py --mediawiki   # also MediaWiki's importDump/dumpBackup
    python benchmarks/bench_xml.py --quick       # a few pages, seconds
"""

import argparse
import hashlib
import importlib.util
import json
import lzma
import os
import shutil
import subprocess
import sys
import tempfile
import time

from _common import fmt_ratio as _ratio, fmt_time as _time, fmt_time_ratio as _time_ratio  # noqa: E501
from _common import (MB, REPO, Runner, anchor, build_reader, environment, load_cache, log,
                     save_cache, source_identity)

if importlib.util.find_spec("incrdump") is None:   # not installed: this checkout's package
    sys.path.insert(0, REPO)

DEFAULT_XML = "/work/shared/data/bench/peps-history.xml.xz"
CACHE_VERSION = 1
# --quick: pages QUICK_SKIP+1 .. QUICK_SKIP+QUICK_PAGES of the input (the
# corpus's first pages are its largest: page 1 alone is 12.5 MB).
QUICK_SKIP, QUICK_PAGES = 3, 9
CHUNK = 1 << 20


# ---- the input -----------------------------------------------------------------------

def sha1_stream(f):
    """(hex SHA-1, byte count) of a binary file read to its end."""
    h, n = hashlib.sha1(), 0
    while True:
        b = f.read(CHUNK)
        if not b:
            return h.hexdigest(), n
        h.update(b)
        n += len(b)


def sha1_file(path):
    with open(path, "rb") as f:
        return sha1_stream(f)


def first_difference(a, b):
    """Where files a and b first differ: (offset, a's bytes there, b's),
    each a little context; None if they are equal."""
    with open(a, "rb") as fa, open(b, "rb") as fb:
        offset = 0
        while True:
            x, y = fa.read(CHUNK), fb.read(CHUNK)
            if x == y:
                if not x:
                    return None
                offset += len(x)
                continue
            i = next((k for k in range(min(len(x), len(y))) if x[k] != y[k]),
                     min(len(x), len(y)))
            lo = max(0, i - 60)
            return offset + i, x[lo:i + 60], y[lo:i + 60]


def decompress(src, dst):
    """Write src (any compression incrdump.sources knows) plain to dst; its
    (sha1, size)."""
    from incrdump.sources import open_source
    h, n = hashlib.sha1(), 0
    with open_source(src) as f, open(dst, "wb") as out:
        while True:
            b = f.read(CHUNK)
            if not b:
                break
            h.update(b)
            out.write(b)
            n += len(b)
    return h.hexdigest(), n


def iter_lines(f):
    """The lines of a binary file, read in large chunks (the readline that
    io.BufferedIOBase subclasses inherit reads a byte at a time)."""
    rest = b""
    while True:
        b = f.read(CHUNK)
        if not b:
            if rest:
                yield rest
            return
        lines = (rest + b).split(b"\n")
        rest = lines.pop()
        for line in lines:
            yield line + b"\n"


def quick_xml(src, dst, skip=QUICK_SKIP, keep=QUICK_PAGES):
    """Write a small export to dst: src's header (everything before its
    first <page>), its pages skip+1 .. skip+keep and ``</mediawiki>``.
    Line-based, for XML formatted as MediaWiki writes it (a line that is
    ``<page>`` or ``</mediawiki>`` alone is markup: text escapes ``<``)."""
    from incrdump.sources import open_source
    pages = 0
    with open_source(src) as f, open(dst, "wb") as out:
        for line in iter_lines(f):
            s = line.strip()
            if s == b"<page>":
                pages += 1
                if pages > skip + keep:
                    break
            elif s == b"</mediawiki>":
                break
            if pages == 0 or pages > skip:
                out.write(line)
        out.write(b"</mediawiki>\n")
    if pages <= skip:
        raise ValueError("%s: fewer than %d pages" % (src, skip + 1))


def prepare(args, work, cache):
    """The plain XML (and an .xz of it) in work; their figures.

    Returns {"xml": path, "xz": path of the xz-compressed input, "sha1",
    "bytes"}. The full run imports the input .xz itself; --quick and a
    plain input get an .xz written here with Python's lzma (preset 6).
    """
    stem = os.path.basename(args.xml).split(".")[0] + ("-quick" if args.quick else "")
    xml = os.path.join(work, stem + ".xml")
    got = cache.get("input")
    if got and os.path.exists(xml) and os.path.getsize(xml) == got["bytes"]:
        log("reusing %s" % xml)
    else:
        cache.pop("anchors", None)
        if args.quick:
            log("writing pages %d-%d of %s ..." % (QUICK_SKIP + 1, QUICK_SKIP + QUICK_PAGES,
                                                  args.xml))
            quick_xml(args.xml, xml)
            sha1, size = sha1_file(xml)
        else:
            log("decompressing %s ..." % args.xml)
            sha1, size = decompress(args.xml, xml)
        got = cache["input"] = {"sha1": sha1, "bytes": size}
    # (not xml + ".xz": that is where the xz -9 anchor writes)
    xz = args.xml if args.xml.endswith(".xz") and not args.quick else \
        os.path.join(work, stem + "-input.xml.xz")
    if xz != args.xml and not os.path.exists(xz):
        with open(xml, "rb") as f, lzma.open(xz + ".tmp", "wb", preset=6) as out:
            shutil.copyfileobj(f, out, CHUNK)
        os.replace(xz + ".tmp", xz)
    return {"xml": xml, "xz": xz, "sha1": got["sha1"], "bytes": got["bytes"]}


# ---- the commands ----------------------------------------------------------------------

def console_script(name):
    """The console script ``name`` installed beside this Python (no shell
    shim in between), else on PATH; None if neither."""
    here = os.path.join(os.path.dirname(sys.executable), name)
    if os.access(here, os.X_OK):
        return here
    return shutil.which(name)


def help_text(argv):
    """The --help output of a command, or None if it fails."""
    try:
        p = subprocess.run(argv + ["--help"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return p.stdout if p.returncode == 0 else None


def _entry_point(func):
    """argv running incrdump.cli's ``func`` through this Python, the
    checkout first on sys.path (for a script that is not installed)."""
    return [sys.executable, "-c", "import sys; sys.path.insert(0, %r); "
            "from incrdump.cli import %s; sys.exit(%s())" % (REPO, func, func)]


class Commands:
    """The incrdump commands measured, and what they offer: ``incrdump``,
    whether it has ``export``, and ``incrdump2xml`` (each the installed
    script, else its entry point in incrdump.cli through this Python)."""

    def __init__(self):
        path = console_script("incrdump")
        self.incrdump = [path] if path else _entry_point("main")
        self.import_help = help_text(self.incrdump + ["import"]) or ""
        self.export = help_text(self.incrdump + ["export"]) is not None
        path = console_script("incrdump2xml")
        x = [path] if path else _entry_point("main2xml")
        self.incrdump2xml = x if help_text(x) is not None else None

    def describe(self):
        """Which programs ran, for the header."""
        def name(argv, func):
            return argv[0] if len(argv) == 1 else "incrdump.cli:%s through Python" % func
        return "%s (export: %s; incrdump2xml: %s)" % (
            name(self.incrdump, "main"), "yes" if self.export else "not available",
            name(self.incrdump2xml, "main2xml") if self.incrdump2xml else "not available")

    def import_argv(self, src, dump):
        argv = self.incrdump + ["import", src, "-o", dump, "--json"]
        if "--allow-control-chars" in self.import_help:
            argv.append("--allow-control-chars")
        return argv

    def export_argv(self, dump, out=None):
        return self.incrdump + ["export", dump] + (["-o", out] if out else [])


def run_imports(runner, cmds, files):
    """incrdump import of the plain XML and of the .xz: figures, the dump's
    size and the counts it printed. Keeps the first dump for the exports."""
    res = {}
    for name, src in (("xml", files["xml"]), ("xz", files["xz"])):
        dump = os.path.join(runner.work, "history-%s.incrdump" % name)
        if os.path.exists(dump):
            os.unlink(dump)
        out = os.path.join(runner.work, "import-%s.out" % name)
        log("incrdump import %s ..." % os.path.basename(src))
        r = runner.timed(cmds.import_argv(src, dump), stdout_path=out)
        with open(out) as f:
            r["stats"] = json.load(f)
        os.unlink(out)
        r["size"] = os.path.getsize(dump)
        r["dump"] = dump
        res[name] = r
    os.unlink(res["xz"].pop("dump"))
    return res


def run_exports(runner, cmds, dump, files):
    """The three exports of the whole history, each output's SHA-1."""
    res = {}
    out = os.path.join(runner.work, "export.xml")
    if os.path.exists(out):
        os.unlink(out)
    log("incrdump export -o ...")
    r = res["file"] = runner.timed(cmds.export_argv(dump, out))
    r["sha1"], r["bytes"] = sha1_file(out)
    if r["sha1"] != files["sha1"]:
        diff = first_difference(files["xml"], out)
        if diff:
            r["first_difference"] = {"offset": diff[0], "input": diff[1].decode("utf-8", "replace"),
                                     "export": diff[2].decode("utf-8", "replace")}
    os.unlink(out)
    if cmds.incrdump2xml:
        log("incrdump2xml > /dev/null ...")
        res["devnull"] = runner.timed(cmds.incrdump2xml + [dump])
        res["devnull"]["argv0"] = "incrdump2xml"
    else:
        log("incrdump export > /dev/null (no incrdump2xml) ...")
        res["devnull"] = runner.timed(cmds.export_argv(dump))
        res["devnull"]["argv0"] = "incrdump export"
    log("incrdump export | (SHA-1 here) ...")
    r = res["pipe"] = runner.timed(cmds.export_argv(dump), read_stdout=sha1_stream)
    r["sha1"], r["bytes"] = r.pop("stdout")
    return res


# ---- MediaWiki, for reference ---------------------------------------------------------------

# The C0 controls XML 1.0 forbids (all but tab, LF, CR); in UTF-8 these
# bytes are never part of a longer character.
_FORBIDDEN = bytes(c for c in range(32) if c not in (9, 10, 13))
_TO_SPACE = bytes.maketrans(_FORBIDDEN, b" " * len(_FORBIDDEN))


def xml_safe_copy(src, dst):
    """Copy src to dst with every C0 control XML forbids replaced by a space
    (same length); returns how many were replaced (0: dst is not written)."""
    n = 0
    with open(src, "rb") as f:
        for b in iter(lambda: f.read(CHUNK), b""):
            n += len(b) - len(b.translate(None, _FORBIDDEN))
    if n:
        with open(src, "rb") as f, open(dst, "wb") as out:
            for b in iter(lambda: f.read(CHUNK), b""):
                out.write(b.translate(_TO_SPACE))
    return n


def run_mediawiki(runner, files):
    """importDump.php and dumpBackup.php --full in a new wiki (deleted
    after). Returns their figures, or {"error": why not}.

    MediaWiki reads XML with libxml2, which stops at the control
    characters XML 1.0 forbids (the corpus's form feeds: "PCDATA invalid
    Char value 12"), so it imports a copy with those replaced by spaces.
    """
    sys.path.insert(0, os.path.join(REPO, "tests"))
    import mediawiki as mw

    reason = mw.unavailable_reason()
    if reason:
        return {"error": reason}
    src = os.path.join(runner.work, "mediawiki-input.xml")
    replaced = xml_safe_copy(files["xml"], src)
    if not replaced:
        src = files["xml"]
    wiki = None
    try:
        log("MediaWiki: install.php ...")
        wiki = mw.MediaWiki.create()
        # The harness's environment for maintenance scripts (MW_CONFIG_FILE
        # etc.); the scripts run under the launcher, not wiki.run(), for
        # their own peak RSS and no timeout.
        env = mw._env(wiki.settings)
        php = [mw.PHP, "-d", "display_errors=stderr"]
        maint = mw.MW_DIR / "maintenance"
        log("MediaWiki: importDump.php --no-updates (about 40 s on the corpus) ...")
        imp = runner.timed(php + [str(maint / "importDump.php"), "--no-updates", src],
                           env=env, cwd=str(wiki.root))
        wiki.run("initSiteStats.php", "--update", timeout=600)
        out = os.path.join(runner.work, "mediawiki-full.xml")
        log("MediaWiki: dumpBackup.php --full ...")
        dmp = runner.timed(php + [str(maint / "dumpBackup.php"), "--full", "--quiet"],
                           stdout_path=out, env=env, cwd=str(wiki.root))
        dmp["sha1"], dmp["bytes"] = sha1_file(out)
        dmp["same_as_input"] = dmp["sha1"] == sha1_file(src)[0]
        os.unlink(out)
        return {"version": mw.mediawiki_version(), "import": imp, "dump": dmp,
                "controls_replaced": replaced}
    except (RuntimeError, OSError) as e:      # MediaWikiError is a RuntimeError
        return {"error": str(e).splitlines()[0]}
    finally:
        if wiki is not None:
            wiki.destroy()
        if src != files["xml"]:
            os.unlink(src)


# ---- the table -------------------------------------------------------------------------------

def _rss(f):
    return "%.0f MB" % f["rss_mb"]


def table(res):
    """The result table (Markdown) as a list of lines."""
    rows = []
    row = lambda *cells: rows.append("| " + " | ".join(cells) + " |")
    a, imp, n = res["anchors"], res["imports"], res["input"]["bytes"]
    xz, zs = a.get("xz -9", {}), a.get("zstd -19 --long=27", {})

    def vs(label, f, name, step, goal):
        x = a.get(name, {})
        if step not in x:
            row(label, _time(f, n), name, x.get("error", "–"), "")
            return
        what = "%s of the XML" % (name if step == "compress" else
                                  {"xz -9": "xz -dc", "zstd -19 --long=27": "zstd -dc"}[name])
        row(label, _time(f, n), "%s: %s" % (what, _time(x[step], n)),
            _time_ratio(f, x[step]), goal)

    for key, label in (("xml", "import, plain XML"), ("xz", "import, .xz file")):
        f = imp[key]
        vs("%s: time" % label, f, "xz -9", "compress", "≤ 0.33")
        vs("%s: time" % label, f, "zstd -19 --long=27", "compress", "")
        row("%s: peak RSS" % label, _rss(f),
            "xz -9: %s" % _rss(xz["compress"]) if "compress" in xz else "xz -9: –",
            _ratio(f["rss_mb"], xz["compress"]["rss_mb"]) if "compress" in xz else "–",
            "< 200 MB")
    row("history dump: file size (import defaults)", "%.2f MB" % (imp["xml"]["size"] / MB),
        "xz -9: %.2f MB" % (xz["size"] / MB) if xz.get("size") else "xz -9: –",
        _ratio(imp["xml"]["size"], xz.get("size")), "")
    if zs.get("size"):
        row("history dump: file size (import defaults)", "%.2f MB" % (imp["xml"]["size"] / MB),
            "zstd -19 --long=27: %.2f MB" % (zs["size"] / MB),
            _ratio(imp["xml"]["size"], zs["size"]), "")
    ex = res.get("exports")
    if not ex:
        row("export", "not available (`incrdump export --help` fails)", "", "", "")
    else:
        for key, label in (("file", "export -o OUT.xml"),
                           ("devnull", "%s DUMP > /dev/null" % ex["devnull"]["argv0"]),
                           ("pipe", "export DUMP to a pipe")):
            f = ex[key]
            vs("%s: time" % label, f, "xz -9", "decompress", "≤ 1")
            vs("%s: time" % label, f, "zstd -19 --long=27", "decompress", "")
        for key, label in (("file", "export -o OUT.xml"), ("pipe", "export DUMP to a pipe")):
            f = ex[key]
            row("%s: peak RSS" % label, _rss(f),
                "xz -dc: %s" % _rss(xz["decompress"]) if "decompress" in xz else "xz -dc: –",
                _ratio(f["rss_mb"], xz["decompress"]["rss_mb"]) if "decompress" in xz else "–",
                "< 200 MB")
        for key, label in (("file", "round trip: SHA-1 of export -o OUT.xml"),
                           ("pipe", "round trip: SHA-1 of export to a pipe")):
            f = ex[key]
            same = f["sha1"] == res["input"]["sha1"] and f["bytes"] == n
            row(label, "%s (%s bytes)" % (f["sha1"], f"{f['bytes']:,}"),
                "input XML: %s (%s bytes)" % (res["input"]["sha1"], f"{n:,}"),
                "identical" if same else "**DIFFERENT**", "identical")
    mw = res.get("mediawiki")
    if mw and "error" in mw:
        row("MediaWiki (reference)", "", "not run: %s" % mw["error"], "", "")
    elif mw:
        v = mw["version"]
        row("import: time, MediaWiki reference", _time(imp["xml"], n),
            "importDump.php --no-updates (MediaWiki %s, SQLite): %s, peak RSS %s"
            % (v, _time(mw["import"], n), _rss(mw["import"])),
            _time_ratio(imp["xml"], mw["import"]), "")
        if ex:
            row("export: time, MediaWiki reference", _time(ex["file"], n),
                "dumpBackup.php --full: %s, peak RSS %s; output %s bytes, %s what it imported"
                % (_time(mw["dump"], mw["dump"]["bytes"]), _rss(mw["dump"]),
                   f"{mw['dump']['bytes']:,}",
                   "identical to" if mw["dump"]["same_as_input"] else "differs from"),
                _time_ratio(ex["file"], mw["dump"]), "")
    head = ["| measure | incrdump | anchor | ratio | goal |", "|---|---:|---|---:|---|"]
    return head + rows


def report(res, out=None):
    """Print the header notes and the table (to stdout by default)."""
    out = out or sys.stdout
    env = res["environment"]
    st = res["imports"]["xml"]["stats"]
    p = lambda *a: print(*a, file=out)
    p()
    p("# XML import and export — %s%s" % (os.path.basename(res["settings"]["xml"]),
                                          " (--quick)" if res["settings"]["quick"] else ""))
    p()
    p("%s pages, %s revisions (as `incrdump import` counted them), %.1f MB of XML, "
      "SHA-1 %s." % (f"{st.get('pages', 0):,}", f"{st.get('revisions', 0):,}",
                     res["input"]["bytes"] / MB, res["input"]["sha1"]))
    p("incrdump %s; commands: %s. Python %s, %s CPUs, load average %.2f at the start, %.2f "
      "at the end; total run %.0f s%s."
      % (env["incrdump"], res["commands"], env["python"], env["cpus"],
         env["loadavg_start"][0], env["loadavg_end"][0], res["total_s"],
         " (anchors reused from an earlier --keep run)" if res.get("anchors_cached") else ""))
    p("Ratios: incrdump divided by the anchor, on the wall clock (CPU in parentheses): below "
      "1 incrdump is faster or smaller. MB/s is MB of XML per second. Anchors run "
      "single-threaded (-T1) and decompress to /dev/null, so the export row to /dev/null "
      "compares like with like (-o also writes the XML to a file); every figure is one child "
      "process's own (wall clock, user + system CPU, peak RSS), and every file was written "
      "or read just before, so it is read from the OS page cache. The pipe's reader is this "
      "script, taking the SHA-1 of what it reads (hashlib, about 2 GB/s).")
    ex = res.get("exports")
    if ex:
        d = ex["file"].get("first_difference")
        p("Round trip: input %s, export -o %s, export to a pipe %s: %s."
          % (res["input"]["sha1"], ex["file"]["sha1"], ex["pipe"]["sha1"],
             "identical" if res["round_trip"] else "DIFFERENT"))
        if d:
            p("First difference at byte %d: input %r, export %r."
              % (d["offset"], d["input"], d["export"]))
    mw = res.get("mediawiki")
    if mw and "error" not in mw:
        p("MediaWiki %s: importDump.php %.0f s, dumpBackup.php --full %.0f s (the wiki on "
          "SQLite in a temporary directory, /dev/shm where writable)%s."
          % (mw["version"], mw["import"]["wall"], mw["dump"]["wall"],
             "; its XML reader (libxml2) rejects the control characters XML forbids, so it "
             "imported a copy with those %d bytes replaced by spaces"
             % mw["controls_replaced"] if mw["controls_replaced"] else ""))
    p()
    for line in table(res):
        p(line)
    p()


# ---- the run ----------------------------------------------------------------------------------

def run(args, work):
    t_start = time.perf_counter()
    env = environment()
    ident = dict(source_identity(args.xml), quick=args.quick)
    cache = load_cache(work, ident, CACHE_VERSION) if args.keep else {}
    anchors_cached = bool(cache.get("anchors"))
    cache.update(version=CACHE_VERSION, source=ident, tools=env["tools"])
    files = prepare(args, work, cache)
    if args.keep:
        save_cache(work, cache)
    runner = Runner(build_reader(work, run_only=True), work)
    # incrdump first: a command that fails stops the run before the
    # anchors' minutes are spent.
    cmds = Commands()
    imports = run_imports(runner, cmds, files)
    dump = imports["xml"].pop("dump")
    exports = run_exports(runner, cmds, dump, files) if cmds.export else None
    if not cmds.export:
        log("incrdump export is not available: no export figures")
    os.unlink(dump)
    anchors = cache.setdefault("anchors", {})
    for name in ("xz -9", "zstd -19 --long=27"):
        if name not in anchors or "error" in anchors[name]:
            anchors[name] = anchor(runner, name, files["xml"], True)
            if args.keep:
                save_cache(work, cache)
    mediawiki = run_mediawiki(runner, files) if args.mediawiki else None
    env["loadavg_end"] = os.getloadavg()
    res = {"settings": {"xml": args.xml, "quick": args.quick, "mediawiki": args.mediawiki},
           "environment": env, "input": {"sha1": files["sha1"], "bytes": files["bytes"]},
           "commands": cmds.describe(),
           "anchors": anchors, "anchors_cached": anchors_cached, "imports": imports,
           "exports": exports, "mediawiki": mediawiki,
           "round_trip": bool(exports) and all(
               exports[k]["sha1"] == files["sha1"] and exports[k]["bytes"] == files["bytes"]
               for k in ("file", "pipe")),
           "total_s": time.perf_counter() - t_start}
    report(res)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=1)
    return res


def main(argv=None):
    """Run the benchmark; exit status 1 if an export differs from the input."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--xml", default=DEFAULT_XML,
                    help="input export, .xml or compressed (default: the PEPs corpus)")
    ap.add_argument("--quick", action="store_true",
                    help="pages %d-%d of the input only (about 2.5 MB of the corpus): a smoke run"
                    % (QUICK_SKIP + 1, QUICK_SKIP + QUICK_PAGES))
    ap.add_argument("--mediawiki", action="store_true",
                    help="also time MediaWiki's importDump.php and dumpBackup.php --full "
                         "(a new wiki; adds about a minute on the corpus)")
    ap.add_argument("--dir", help="work directory (default: a new temporary one; with --keep "
                    "$TMPDIR/bench_xml-<input name>)")
    ap.add_argument("--keep", action="store_true",
                    help="keep the work directory; reuse its XML and the anchors' figures "
                         "next time")
    ap.add_argument("--json", help="also write every figure to this file")
    args = ap.parse_args(argv)
    if args.keep:
        stem = os.path.basename(args.xml).split(".")[0] + ("-quick" if args.quick else "")
        work = args.dir or os.path.join(tempfile.gettempdir(), "bench_xml-" + stem)
        os.makedirs(work, exist_ok=True)
        log("work directory (kept): %s" % work)
        res = run(args, work)
    else:
        work = tempfile.mkdtemp(prefix="bench_xml.", dir=args.dir)
        try:
            res = run(args, work)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    if res["exports"] and not res["round_trip"]:
        log("bench_xml: the exported XML differs from the input")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
