"""What the whole-dump benchmarks share: children timed from a C launcher, the anchors, the header.

Layer: benchmark support, imported by ``bench_dump.py`` and ``bench_xml.py``
(which put this directory on ``sys.path`` by being run or imported from
it). It measures; it judges nothing.

* ``build_reader`` compiles ``bench_read.c``: whole, with every
  ``csrc/*.c`` (bench_dump's C reads), or with ``run_only`` as the bare
  launcher, which needs nothing from ``csrc/``.
* ``Runner`` runs a child under ``bench_read run``, which forks it and
  reports its wall clock, CPU seconds and peak RSS from ``wait4``. Started
  straight from Python, a child would report at least this process's own
  peak RSS: Linux carries ``ru_maxrss`` across ``execve``. ``wait4`` also
  counts the children the child waited for, so the figures of
  ``sh -c 'a | b'`` cover the whole pipeline (CPU added, RSS the largest).
* ``COMPRESSORS`` and ``anchor``: ``xz -9`` and ``zstd -19 --long=27``,
  single-threaded, and their decompression.
* ``environment``: what was measured (commit, extension build, tools) and
  the load average; ``source_identity``, ``load_cache`` and ``save_cache``
  for the ``--keep`` caches.
"""

import json
import os
import platform
import shutil
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MB = 1e6


def log(msg):
    """Progress, on stderr (the tables go to stdout)."""
    print(msg, file=sys.stderr, flush=True)


# ---- the launcher --------------------------------------------------------------------

def build_reader(work, run_only=False):
    """Compile benchmarks/bench_read.c (-O2) into work; its path.

    Whole, it is linked with every csrc/*.c (the C reads of bench_dump).
    With ``run_only`` it is only the ``run`` launcher
    (-DBENCH_READ_RUN_ONLY), built in a fraction of a second from
    bench_read.c alone, whatever state csrc/ is in.
    """
    cc = os.environ.get("CC") or shutil.which("gcc") or shutil.which("cc")
    if not cc:
        sys.exit("benchmarks: needs a C compiler (gcc)")
    src = os.path.join(REPO, "benchmarks", "bench_read.c")
    if run_only:
        exe = os.path.join(work, "bench_run")
        subprocess.run([cc, "-std=c11", "-D_GNU_SOURCE=", "-DBENCH_READ_RUN_ONLY", "-O2",
                        "-o", exe, src], check=True)
        return exe
    csrc = os.path.join(REPO, "csrc")
    exe = os.path.join(work, "bench_read")
    sources = sorted(os.path.join(csrc, n) for n in os.listdir(csrc) if n.endswith(".c"))
    subprocess.run([cc, "-std=c11", "-D_GNU_SOURCE=", "-O2", "-I", csrc, "-o", exe,
                    src, *sources, "-lzstd", "-llzma", "-lz", "-lm"], check=True)
    return exe


class Runner:
    """Runs children under ``bench_read run`` (see bench_read.c): their wall
    clock, CPU time (user + system) and peak RSS. Started directly from
    this Python process, a child's peak RSS would include this process's
    own peak: Linux carries ru_maxrss across execve()."""

    def __init__(self, exe, work):
        self.exe, self.work = exe, work

    def timed(self, argv, stdin_path=None, stdout_path=None, *, read_stdout=None, env=None,
              cwd=None):
        """Run argv; return {"wall", "cpu", "rss_mb"} of the child.

        stdin and stdout are redirected to the files given, else
        /dev/null. With ``read_stdout`` (a function of a binary file),
        stdout is a pipe that this process hands to it while the child
        runs; what it returns is in the result as "stdout". ``env`` and
        ``cwd`` are the child's (the launcher passes them on). A child
        that fails raises RuntimeError.
        """
        res = os.path.join(self.work, "run.json")
        cmd = [self.exe, "run", res, *argv]
        with open(stdin_path or os.devnull, "rb") as fin:
            if read_stdout is None:
                with open(stdout_path or os.devnull, "wb") as fout:
                    rc = subprocess.run(cmd, stdin=fin, stdout=fout, env=env,
                                        cwd=cwd).returncode
                got = None
            else:
                with subprocess.Popen(cmd, stdin=fin, stdout=subprocess.PIPE, env=env,
                                      cwd=cwd) as proc:
                    try:
                        got = read_stdout(proc.stdout)
                    finally:
                        proc.stdout.close()
                    rc = proc.wait()
        if rc != 0:
            raise RuntimeError("%s failed (exit %d)" % (" ".join(map(str, argv)), rc))
        with open(res) as f:
            r = json.load(f)
        os.unlink(res)
        out = {"wall": r["wall_ns"] / 1e9, "cpu": r["cpu_ns"] / 1e9,
               "rss_mb": r["maxrss_kb"] * 1024 / MB}
        if read_stdout is not None:
            out["stdout"] = got
        return out

    def json(self, argv, name):
        """timed() with stdout captured; returns (the JSON object on the last
        line of stdout, the child's figures)."""
        out = os.path.join(self.work, name + ".out")
        fig = self.timed(argv, stdout_path=out)
        with open(out, "rb") as f:
            lines = f.read().splitlines()
        os.unlink(out)
        return json.loads(lines[-1]), fig


# ---- anchors -----------------------------------------------------------------------

COMPRESSORS = {
    "xz -9": (["xz", "-9", "-T1", "-c"], ["xz", "-dc"], ".xz"),
    "zstd -19 --long=27": (["zstd", "-q", "-19", "--long=27", "-T1", "-c"],
                           ["zstd", "-q", "-dc", "--long=27"], ".zst"),
}


def anchor(runner, name, xml, decompress):
    """Compress xml with the named anchor (and decompress it to /dev/null
    when asked): size, and the child's wall/CPU/RSS of each step."""
    comp, decomp, ext = COMPRESSORS[name]
    if not shutil.which(comp[0]):
        return {"error": "%s not found" % comp[0]}
    out = os.path.join(runner.work, os.path.basename(xml) + ext)
    log("anchor: %s %s ..." % (name, os.path.basename(xml)))
    r = {"size": None, "compress": runner.timed(comp, xml, out)}
    r["size"] = os.path.getsize(out)
    if decompress:
        r["decompress"] = runner.timed(decomp, out, None)
    os.unlink(out)
    return r


def tool_versions():
    """The anchors' versions, part of the cache key."""
    out = {}
    for tool in ("xz", "zstd"):
        try:
            out[tool] = subprocess.run([tool, "--version"], capture_output=True, text=True,
                                       check=True).stdout.splitlines()[0]
        except (OSError, subprocess.CalledProcessError):
            out[tool] = None
    return out


# ---- what was measured, and where --------------------------------------------------------

def incrdump_build():
    """Which incrdump was measured: the git commit (+ "-dirty" if csrc/ or
    incrdump/ differ from it) and when the extension module was built."""
    try:
        head = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", REPO, "status", "--porcelain", "--", "csrc",
                                "incrdump"], capture_output=True, text=True).stdout.strip()
        head += "-dirty" if dirty else ""
    except (OSError, subprocess.CalledProcessError):
        head = "unknown"
    try:
        from incrdump import _incrdump
        so = _incrdump.__file__
        built = "%s built %s" % (os.path.basename(so), time.strftime(
            "%Y-%m-%d %H:%M", time.localtime(os.path.getmtime(so))))
    except ImportError:
        built = "extension module not built"
    return "%s, %s" % (head, built)


def environment():
    """The header's facts; the caller adds "loadavg_end" when done."""
    ram = None
    try:
        ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // (1 << 20)
    except (ValueError, OSError):
        pass
    return {"incrdump": incrdump_build(), "python": sys.version.split()[0],
            "platform": platform.platform(), "cpus": os.cpu_count(), "ram_mb": ram,
            "loadavg_start": os.getloadavg(), "tools": tool_versions()}


def source_identity(path):
    """Path, size and modification time of an input: the cache key."""
    st = os.stat(path)
    return {"path": os.path.abspath(path), "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def load_cache(work, ident, version):
    """The cache.json of a kept directory if it is for this input, this
    cache version and the anchors' current versions; else {}."""
    path = os.path.join(work, "cache.json")
    try:
        with open(path) as f:
            cache = json.load(f)
    except (OSError, ValueError):
        return {}
    if cache.get("version") != version or cache.get("source") != ident or \
            cache.get("tools") != tool_versions():
        return {}
    return cache


def save_cache(work, cache):
    with open(os.path.join(work, "cache.json"), "w") as f:
        json.dump(cache, f)


# ---- table cells -----------------------------------------------------------------------

def fmt_time(f, nbytes=None):
    """'W s wall, C s CPU[; R MB/s]' of a Runner result."""
    s = "%.2f s wall, %.2f s CPU" % (f["wall"], f["cpu"])
    if nbytes:
        s += "; %.1f MB/s" % (nbytes / MB / f["wall"])
    return s


def fmt_ratio(a, b):
    return "%.2f" % (a / b) if a is not None and b else "–"


def fmt_time_ratio(f, g):
    """Wall-clock ratio with the CPU ratio in parentheses."""
    return "%s (CPU %s)" % (fmt_ratio(f["wall"], g["wall"]), fmt_ratio(f["cpu"], g["cpu"]))
