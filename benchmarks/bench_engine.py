#!/usr/bin/env python3
"""Storage engine benchmark: incrdump against LMDB and SQLite, one run, side by side.

Layer: a benchmark script over ``incrdump._lowlevel`` (the engine-level
Python API), the ``lmdb`` package and the standard ``sqlite3`` module. It
measures; it never passes or fails on time. Output is a table of absolute
figures and of time ratios against the two anchors measured in the same run.

For each key kind (``int``: int64 keys with 100-byte values; ``str``:
unique MediaWiki-like titles of 10-60 bytes with 100-byte values) and each
engine it measures, on the same data in the same order with the same commit
pattern (a durable commit every --batch inserts):

  insert sorted   keys in ascending order into an empty file (incrdump
                  STORE_PUT_APPEND, LMDB append=True, SQLite a plain INSERT)
  insert random   the same keys shuffled (seeded) into an empty file
  lookup          --lookups random existing keys, one get each
  scan            a full forward range scan touching every key and value
  file size       of the file each build left behind

Lookups and scans run on the sorted-built file and on the random-built one.
See benchmarks/README.md for the settings of each engine and how to read
the table.
"""

import argparse
import gc
import json
import os
import platform
import random
import shutil
import sqlite3
import sys
import tempfile
import time

try:
    import lmdb
except ImportError:  # pragma: no cover - reported, not hidden
    sys.exit("bench_engine: needs the lmdb package (pip install -e '.[bench]')")

from incrdump import _lowlevel as ll

VALUE_SIZE = 100
ENGINES = ("incrdump", "lmdb", "sqlite")
LABEL = {"incrdump": "incrdump", "lmdb": "LMDB", "sqlite": "SQLite"}


# ---- data -----------------------------------------------------------------

def make_values(n, seed):
    """n distinct-looking 100-byte values (seeded pseudo-random bytes)."""
    blob = random.Random(seed).randbytes(n * VALUE_SIZE)
    return [blob[i : i + VALUE_SIZE] for i in range(0, n * VALUE_SIZE, VALUE_SIZE)]


def make_int_keys(n, seed):
    """n distinct non-negative int64 keys, sorted (sparse, like ids after deletions)."""
    return sorted(random.Random(seed).sample(range(1 << 62), n))


_SYLLABLES = (
    "ka ri to na mo shi ber lin ton ham ford wick ville burg stad ness gar ol "
    "an de la ver mon tre al san ta mar i o el en ro sa li ne us ter ik zo "
    "ché mü ño ål ça"
).split()
_NAMESPACES = (  # (prefix, weight): roughly the mix of a Wikipedia title table
    ("", 55), ("Talk:", 12), ("User:", 8), ("User_talk:", 8), ("Wikipedia:", 5),
    ("File:", 5), ("Template:", 4), ("Category:", 3),
)
_SUFFIXES = (
    "_(disambiguation)", "_(film)", "_(album)", "_(band)", "_(song)",
    "_(novel)", "_(river)", "_(surname)",
)


def make_titles(n, seed):
    """n unique UTF-8 titles of 10-60 bytes, sorted bytewise.

    Words come from a seeded vocabulary drawn with Zipf-like weights, so
    titles share prefixes the way a wiki's do ("List_of_", "Talk:",
    "User:Kari", "..._(disambiguation)", "/Archive_3").
    """
    rng = random.Random(seed)
    vocab = []
    for _ in range(20000):
        w = "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(1, 4)))
        vocab.append(w.capitalize())
    cum, acc = [], 0.0
    for rank in range(len(vocab)):
        acc += 1.0 / (rank + 1) ** 0.9
        cum.append(acc)
    ns_names = [p for p, _ in _NAMESPACES]
    ns_cum, acc = [], 0
    for _, w in _NAMESPACES:
        acc += w
        ns_cum.append(acc)
    choices, rand, randint = rng.choices, rng.random, rng.randint
    seen = set()
    while len(seen) < n:
        need = n - len(seen)
        nss = choices(ns_names, cum_weights=ns_cum, k=need)
        words = choices(vocab, cum_weights=cum, k=need * 4)
        for i, ns in enumerate(nss):
            nw = randint(1, 4)
            ws = words[4 * i : 4 * i + nw]
            r = rand()
            if r < 0.04:
                ws = ["List", "of"] + ws
            elif r < 0.07:
                ws = [str(randint(1800, 2024)), "in"] + ws
            elif r < 0.08:
                ws = [str(randint(1800, 2024))]
            t = ns + "_".join(ws)
            r = rand()
            if r < 0.08:
                t += _SUFFIXES[int(r * 100) % len(_SUFFIXES)]
            elif ns.endswith("talk:") or ns == "Talk:":
                if r < 0.30:
                    t += "/Archive_%d" % randint(1, 40)
            b = t.encode("utf-8")
            if 10 <= len(b) <= 60:
                seen.add(b)
    return sorted(seen)


def make_dataset(kind, n, lookups, seed):
    """Keys in sorted order, their values, a shuffled order and a lookup probe."""
    keys = make_int_keys(n, seed) if kind == "int" else make_titles(n, seed)
    values = make_values(n, seed + 1)
    rng = random.Random(seed + 2)
    order = list(range(n))
    rng.shuffle(order)
    probe = [rng.randrange(n) for _ in range(lookups)]
    return {"keys": keys, "values": values, "shuffle": order, "probe": probe}


def lmdb_key(k):
    """LMDB key bytes for an int key: big-endian, so memcmp order is numeric order."""
    return k.to_bytes(8, "big")


def start():
    """Start a span: (wall clock, process CPU time)."""
    return time.perf_counter(), time.process_time()


def stop(t0):
    """Seconds since start(t0) as (wall, cpu). CPU time is the process's user
    plus system time: it leaves out waits (fsync, other processes on the CPU)."""
    return time.perf_counter() - t0[0], time.process_time() - t0[1]


# ---- engines ----------------------------------------------------------------
# Each engine has build() (timed inserts into an empty file), open_read() and
# lookup()/scan() (timed) on a reopened read-only handle, and size(). Every
# timed loop has the same shape in every engine: one Python-level call per
# key, a commit every `batch` calls, callables bound to locals beforehand.

class Incrdump:
    name = "incrdump"
    TREE = 0

    def __init__(self, kind, cache_bytes):
        self.kind = kind
        self.cache = cache_bytes

    def path(self, d, tag):
        return os.path.join(d, "incrdump-%s.dump" % tag)

    def native(self, keys):
        return keys

    def build(self, path, items, batch, append):
        s = ll.Store(path, ll.WRITE | ll.CREATE)
        s.set_cache_size(self.cache)
        s.begin()
        s.tree_create(self.TREE, ll.KEY_INT if self.kind == "int" else ll.KEY_BYTES)
        s.commit()
        put, begin, commit, tree = s.put, s.begin, s.commit, self.TREE
        flags = ll.PUT_APPEND if append else ll.PUT_UPSERT
        t0 = start()
        begin()
        c = 0
        for k, v in items:
            put(tree, k, v, flags)
            c += 1
            if c == batch:
                commit()
                begin()
                c = 0
        commit()
        s.close()
        return stop(t0)

    def open_read(self, path):
        self.s = ll.Store(path, 0)
        self.s.set_cache_size(self.cache)

    def close(self):
        self.s.close()

    def lookup(self, probe):
        get, tree = self.s.get, self.TREE
        nb = 0
        t0 = start()
        for k in probe:
            nb += len(get(tree, k))
        return stop(t0), nb

    def scan(self):
        cnt = nb = 0
        t0 = start()
        with self.s.cursor(self.TREE) as cur:
            for k, v in cur.items():
                cnt += 1
                nb += len(v)
        return stop(t0), cnt, nb

    def size(self, path):
        return os.path.getsize(path)


class Lmdb:
    name = "lmdb"

    def __init__(self, kind, cache_bytes):
        self.kind = kind

    def path(self, d, tag):
        return os.path.join(d, "lmdb-%s" % tag)

    def native(self, keys):
        return [lmdb_key(k) for k in keys] if self.kind == "int" else keys

    def build(self, path, items, batch, append):
        # sync=True, metasync=True (the defaults): fsync at every commit.
        env = lmdb.open(path, map_size=self.map_size, subdir=True, sync=True,
                        metasync=True, max_dbs=0)
        t0 = start()
        txn = env.begin(write=True)
        put = txn.put
        c = 0
        if append:
            for k, v in items:
                put(k, v, append=True)
                c += 1
                if c == batch:
                    txn.commit()
                    txn = env.begin(write=True)
                    put = txn.put
                    c = 0
        else:
            for k, v in items:
                put(k, v)
                c += 1
                if c == batch:
                    txn.commit()
                    txn = env.begin(write=True)
                    put = txn.put
                    c = 0
        txn.commit()
        env.close()
        return stop(t0)

    map_size = 1 << 34  # address space only; the file grows as pages are written

    def open_read(self, path):
        self.env = lmdb.open(path, readonly=True, subdir=True, map_size=self.map_size)
        self.txn = self.env.begin(buffers=False)

    def close(self):
        self.txn.abort()
        self.env.close()

    def lookup(self, probe):
        get = self.txn.get
        nb = 0
        t0 = start()
        for k in probe:
            nb += len(get(k))
        return stop(t0), nb

    def scan(self):
        cnt = nb = 0
        t0 = start()
        with self.txn.cursor() as cur:
            for k, v in cur:
                cnt += 1
                nb += len(v)
        return stop(t0), cnt, nb

    def size(self, path):
        return os.path.getsize(os.path.join(path, "data.mdb"))


class Sqlite:
    name = "sqlite"
    journal = "wal"

    def __init__(self, kind, cache_bytes):
        self.kind = kind
        self.cache_kib = cache_bytes // 1024
        ktype = "INTEGER" if kind == "int" else "BLOB"
        self.ddl = ("CREATE TABLE t (k %s PRIMARY KEY NOT NULL, v BLOB NOT NULL) WITHOUT ROWID"
                    % ktype)

    def path(self, d, tag):
        return os.path.join(d, "sqlite-%s.db" % tag)

    def native(self, keys):
        return keys

    def _pragmas(self, con):
        con.execute("PRAGMA cache_size=-%d" % self.cache_kib)

    def build(self, path, items, batch, append, many=False):
        con = sqlite3.connect(path, isolation_level=None)
        con.execute("PRAGMA page_size=4096")
        con.execute("PRAGMA journal_mode=%s" % self.journal)
        con.execute("PRAGMA synchronous=FULL")
        self._pragmas(con)
        con.execute(self.ddl)
        cur = con.cursor()
        ex = cur.execute
        sql = "INSERT INTO t VALUES (?, ?)"
        t0 = start()
        if many:
            for i in range(0, len(items), batch):
                ex("BEGIN")
                cur.executemany(sql, items[i : i + batch])
                ex("COMMIT")
        else:
            ex("BEGIN")
            c = 0
            for row in items:
                ex(sql, row)
                c += 1
                if c == batch:
                    ex("COMMIT")
                    ex("BEGIN")
                    c = 0
            ex("COMMIT")
        con.close()  # in WAL mode: checkpoints the rest of the log into the file
        return stop(t0)

    def open_read(self, path):
        self.con = sqlite3.connect("file:%s?mode=ro" % path, uri=True, isolation_level=None)
        self._pragmas(self.con)
        self.cur = self.con.cursor()
        self.cur.execute("BEGIN")  # one read transaction, as for the others

    def close(self):
        self.cur.execute("COMMIT")
        self.con.close()

    def lookup(self, probe):
        ex = self.cur.execute
        sql = "SELECT v FROM t WHERE k = ?"
        nb = 0
        t0 = start()
        for k in probe:
            nb += len(ex(sql, (k,)).fetchone()[0])
        return stop(t0), nb

    def scan(self):
        cnt = nb = 0
        t0 = start()
        for k, v in self.cur.execute("SELECT k, v FROM t ORDER BY k"):
            cnt += 1
            nb += len(v)
        return stop(t0), cnt, nb

    def size(self, path):
        extra = [path + "-wal"] if os.path.exists(path + "-wal") else []
        return sum(os.path.getsize(p) for p in [path] + extra)


ENGINE_CLASSES = {"incrdump": Incrdump, "lmdb": Lmdb, "sqlite": Sqlite}


# ---- measuring --------------------------------------------------------------

class Quiet:
    """Collect garbage, then keep the cyclic GC off while timing (as timeit does)."""

    def __enter__(self):
        gc.collect()
        gc.disable()

    def __exit__(self, *exc):
        gc.enable()


def run_kind(kind, args, log):
    """Measure every engine on one key kind; returns {op: {engine: record}}.

    A record holds "seconds" (wall clock) and "cpu_seconds" (process CPU) of
    the run kept, "ops", and for file sizes "bytes". Inserts run once each;
    lookups and scans --repeat times, engines taking turns within each
    round so that a burst of load from other processes hits all of them,
    and the fastest round of each engine is kept (by --clock).
    """
    t0 = time.perf_counter()
    data = make_dataset(kind, args.n, args.lookups, args.seed)
    n = args.n
    log("[%s] data: %d keys, %d lookups, made in %.1f s"
        % (kind, n, args.lookups, time.perf_counter() - t0))
    if kind == "str":
        lens = [len(k) for k in data["keys"]]
        log("[%s] title bytes: min %d, mean %.1f, max %d; e.g. %s"
            % (kind, min(lens), sum(lens) / n, max(lens),
               ", ".join(repr(k.decode()) for k in random.Random(1).sample(data["keys"], 4))))
    workdir = tempfile.mkdtemp(prefix="bench-%s-" % kind, dir=args.dir)
    pick = 0 if args.clock == "wall" else 1
    res = {}

    def record(op, eng, span, ops, **extra):
        r = {"seconds": span[0], "cpu_seconds": span[1], "ops": ops} if span else {}
        r.update(extra)
        res.setdefault(op, {})[eng] = r
        if span:
            log("[%s] %-26s %-8s %8.3f s wall %8.3f s cpu %10.0f/s"
                % (kind, op, eng, span[0], span[1], ops / span[pick]))

    engines = [ENGINE_CLASSES[e](kind, args.cache_mb << 20) for e in args.engines]
    natives = {}
    try:
        for e in engines:
            keys = e.native(data["keys"])
            sorted_items = list(zip(keys, data["values"]))
            random_items = [sorted_items[i] for i in data["shuffle"]]
            probe = [keys[i] for i in data["probe"]]
            natives[e.name] = (sorted_items, random_items, probe)

        # inserts: each engine once per order, into a new file
        for tag, append in (("sorted", True), ("random", False)):
            for e in engines:
                items = natives[e.name][0 if append else 1]
                p = e.path(workdir, tag)
                with Quiet():
                    span = e.build(p, items, args.batch, append)
                record("insert " + tag, e.name, span, n)
                record("file size (%s-built)" % tag, e.name, None, None, bytes=e.size(p))

        if args.batched:
            for tag, append in (("sorted", True), ("random", False)):
                for e in engines:
                    items = natives[e.name][0 if append else 1]
                    p = e.path(workdir, tag + "-many")
                    if e.name == "sqlite":
                        with Quiet():
                            span = e.build(p, items, args.batch, append, many=True)
                    elif e.name == "lmdb":
                        with Quiet():
                            span = lmdb_putmulti(e, p, items, args.batch, append)
                    else:
                        continue
                    record("insert %s, batch API" % tag, e.name, span, n)
                    shutil.rmtree(p) if os.path.isdir(p) else os.remove(p)

        # reads: reopen read-only, warm with one untimed full scan, then rounds
        for tag in ("sorted", "random"):
            for e in engines:
                e.open_read(e.path(workdir, tag))
            try:
                for e in engines:
                    with Quiet():
                        _, cnt, nb = e.scan()
                    if (cnt, nb) != (n, n * VALUE_SIZE):
                        raise SystemExit("%s: warm-up scan saw %d entries, %d bytes"
                                         % (e.name, cnt, nb))
                best_lookup, best_scan = {}, {}
                for _ in range(args.repeat):
                    for e in engines:
                        probe = natives[e.name][2]
                        with Quiet():
                            span, nb = e.lookup(probe)
                        if nb != len(probe) * VALUE_SIZE:
                            raise SystemExit("%s: lookups returned %d bytes" % (e.name, nb))
                        if e.name not in best_lookup or span[pick] < best_lookup[e.name][pick]:
                            best_lookup[e.name] = span
                    for e in engines:
                        with Quiet():
                            span, cnt, nb = e.scan()
                        if (cnt, nb) != (n, n * VALUE_SIZE):
                            raise SystemExit("%s: scan saw %d entries" % (e.name, cnt))
                        if e.name not in best_scan or span[pick] < best_scan[e.name][pick]:
                            best_scan[e.name] = span
                for e in engines:
                    record("lookup (%s-built)" % tag, e.name, best_lookup[e.name], args.lookups)
                for e in engines:
                    record("scan (%s-built)" % tag, e.name, best_scan[e.name], n)
            finally:
                for e in engines:
                    e.close()
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            log("[%s] files kept in %s" % (kind, workdir))
    return res


def lmdb_putmulti(e, path, items, batch, append):
    """LMDB's batch insert: Cursor.putmulti once per commit."""
    env = lmdb.open(path, map_size=e.map_size, subdir=True, sync=True, metasync=True)
    t0 = start()
    for i in range(0, len(items), batch):
        with env.begin(write=True) as txn:
            txn.cursor().putmulti(items[i : i + batch], append=append)
    env.close()
    return stop(t0)


# ---- report -----------------------------------------------------------------

def fmt_rate(x):
    if x >= 1e6:
        return "%.2fM/s" % (x / 1e6)
    if x >= 1e3:
        return "%.0fk/s" % (x / 1e3)
    return "%.0f/s" % x


def measure(op, r, clock):
    """The figure compared for a record: bytes for sizes, else seconds on the
    chosen clock (inserts always on the wall clock: they wait for the disk)."""
    if r.get("bytes") is not None:
        return r["bytes"]
    return r["cpu_seconds"] if clock == "cpu" and not op.startswith("insert") else r["seconds"]


def fmt_cell(op, r, clock):
    if r is None:
        return "-"
    if r.get("bytes") is not None:
        return "%.1f MB" % (r["bytes"] / 1e6)
    secs = measure(op, r, clock)
    return "%s s %8s" % (("%#.3g" % secs).rjust(5), fmt_rate(r["ops"] / secs))


def ratio(op_a, a, op_b, b, clock):
    if a is None or b is None:
        return "-"
    return "%.2f" % (measure(op_a, a, clock) / measure(op_b, b, clock))


def table(kind, res, args):
    ref = "incrdump"
    title = {"int": "int64 keys, %d-byte values" % VALUE_SIZE,
             "str": "title keys (10-60 bytes), %d-byte values" % VALUE_SIZE}[kind]
    head = ["operation"] + [LABEL[e] for e in args.engines]
    others = [e for e in args.engines if e != ref] if ref in args.engines else []
    head += ["%s/%s" % (ref, LABEL[o]) for o in others]
    rows = []
    for op, per in res.items():
        # batch-API rows: incrdump has none, so its per-key figure is the numerator
        op_ref = op.replace(", batch API", "")
        row = [op] + [fmt_cell(op, per.get(e), args.clock) for e in args.engines]
        row += [ratio(op_ref, res.get(op_ref, {}).get(ref), op, per.get(o), args.clock)
                for o in others]
        rows.append(row)
    widths = [max(len(r[i]) for r in [head] + rows) for i in range(len(head))]
    out = ["", "%s: n=%d, commit every %d, %d lookups, best of %d for reads (%s clock)"
           % (title, args.n, args.batch, args.lookups, args.repeat, args.clock)]
    line = lambda r: "| " + " | ".join(
        c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))) + " |"
    out.append(line(head))
    out.append("|" + "|".join("-" * (w + 2) if i == 0 else "-" * (w + 1) + ":"
                              for i, w in enumerate(widths)) + "|")
    out += [line(r) for r in rows]
    return "\n".join(out)


def incrdump_build():
    """Which incrdump was measured: git commit (+ "dirty" if csrc/ or incrdump/
    differ from it) and the extension module's modification time."""
    import subprocess
    from incrdump import _incrdump
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    try:
        head = subprocess.run(["git", "-C", root, "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", root, "status", "--porcelain", "--", "csrc",
                                "incrdump"], capture_output=True, text=True).stdout.strip()
        head += "-dirty" if dirty else ""
    except (OSError, subprocess.CalledProcessError):
        head = "unknown"
    so = _incrdump.__file__
    built = time.strftime("%Y-%m-%d %H:%M", time.localtime(os.path.getmtime(so)))
    return "%s, %s built %s" % (head, os.path.basename(so), built)


def environment():
    return {
        "incrdump": incrdump_build(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "sqlite": sqlite3.sqlite_version,
        "lmdb_py": lmdb.__version__,
        "lmdb_c": "%d.%d.%d" % lmdb.version(),
        "loadavg_start": os.getloadavg(),
    }


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=1_000_000, help="keys per kind (default 1,000,000)")
    p.add_argument("--batch", type=int, default=10_000,
                   help="durable commit every BATCH inserts, for every engine (default 10,000)")
    p.add_argument("--lookups", type=int, default=200_000,
                   help="random point lookups of existing keys (default 200,000)")
    p.add_argument("--only", choices=("int", "str"), help="run one key kind only")
    p.add_argument("--engines", default=",".join(ENGINES),
                   help="comma-separated subset of %s" % ",".join(ENGINES))
    p.add_argument("--repeat", type=int, default=3,
                   help="lookups and scans: best of REPEAT runs (default 3)")
    p.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                   help="lookups and scans: keep and show wall-clock time (default) or "
                        "process CPU time, steadier on a loaded machine; inserts always "
                        "use the wall clock; the JSON holds both")
    p.add_argument("--cache-mb", type=int, default=64,
                   help="page/node cache of incrdump and SQLite in MiB (default 64, "
                        "incrdump's default); LMDB reads through mmap")
    p.add_argument("--sqlite-journal", choices=("wal", "delete"), default="wal",
                   help="SQLite journal_mode, always with synchronous=FULL (default wal)")
    p.add_argument("--batched", action="store_true",
                   help="also time SQLite executemany and LMDB putmulti inserts")
    p.add_argument("--seed", type=int, default=20240601)
    p.add_argument("--dir", help="directory for the files (default: system temp dir)")
    p.add_argument("--keep", action="store_true", help="keep the files")
    p.add_argument("--json", help="also write the results to this JSON file")
    p.add_argument("--report", metavar="JSON",
                   help="measure nothing: print the tables of a saved --json file "
                        "(with --clock to switch between wall and CPU time)")
    args = p.parse_args(argv)
    args.engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    bad = set(args.engines) - set(ENGINES)
    if bad:
        p.error("unknown engine(s): %s" % ", ".join(sorted(bad)))
    if args.lookups > 0 and args.n == 0:
        p.error("--lookups needs --n > 0")
    return args


def main(argv=None, out=None):
    """Run, print the tables to out (default stdout), progress to stderr."""
    out = out or sys.stdout
    args = parse_args(argv)
    if args.report:
        with open(args.report) as f:
            saved = json.load(f)
        for k, v in saved["settings"].items():
            if k != "clock":
                setattr(args, k, v)
        env, results = saved["environment"], saved["results"]
        kinds = list(results)
    else:
        Sqlite.journal = args.sqlite_journal
        log = lambda m: print(m, file=sys.stderr, flush=True)
        env = environment()
        kinds = [args.only] if args.only else ["int", "str"]
        results = {}
        for kind in kinds:
            results[kind] = run_kind(kind, args, log)
        env["loadavg_end"] = os.getloadavg()
    print("Storage engines through Python: incrdump (_lowlevel.Store), LMDB %s (py-lmdb %s), "
          "SQLite %s (sqlite3, WITHOUT ROWID, journal_mode=%s, synchronous=FULL)"
          % (env["lmdb_c"], env["lmdb_py"], env["sqlite"], args.sqlite_journal.upper()), file=out)
    print("incrdump %s. Python %s, %s CPUs, load average %.2f at start, %.2f at end."
          % (env.get("incrdump", "(build unknown)"), env["python"], env["cpus"],
             env["loadavg_start"][0], env["loadavg_end"][0]), file=out)
    print("Cells: seconds and operations per second. Ratio columns: incrdump time (or size) "
          "divided by the other engine's; < 1 means incrdump is faster (or smaller).", file=out)
    print("Caches warm: files reopened read-only and read once in full before timing; "
          "incrdump and SQLite caches %d MiB, LMDB through mmap." % args.cache_mb, file=out)
    for kind in kinds:
        print(table(kind, results[kind], args), file=out)
    if args.json and not args.report:
        with open(args.json, "w") as f:
            json.dump({"environment": env, "settings": {
                k: v for k, v in vars(args).items() if k not in ("json", "dir", "report")},
                "results": results}, f, indent=1)
    return results


if __name__ == "__main__":
    main()
