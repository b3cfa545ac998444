"""The demo run by ``scripts/demo``: a real MediaWiki history in a dump.

Layer: a tool over the Python API (``dump``, ``load``), the XML reader and,
for one read-only look at how texts are stored, ``_lowlevel``. It imports
the bundled aawiki full-history export into a history dump, reads pages by
title and revisions by id at random, checks every revision's text against
the ``<sha1>`` the XML gives, writes the dump back out as XML (the input,
byte for byte), adds a revision in a transaction, deletes a
revision other texts are stored against, runs the integrity check, and
shows the same through the ``incrdump`` command. Everything it prints is
measured in this run; any mismatch makes it exit 1.
"""
import argparse
import datetime
import os
import random
import subprocess
import sys
import tempfile
import time

from . import _lowlevel
from .dump import Contributor, Dump, Revision
from .errors import CorruptDumpError, IncrdumpError
from .load import load
from .maintenance import check_file
from .sources import open_source
from .xmlread import XMLReader, sha1_base36
from .xmlwrite import export

DEFAULT_SOURCE = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    "..", "shared", "data", "real", "aawiki-20260101-pages-meta-history.xml.7z",
)
#: the line the demo's edit appends to a page's latest text
EDIT_MARK = "[[Category:Edited by the incrdump demo]]"
#: the TEXT tree of a dump (docs/format.md, "Dump layout")
TEXT_TREE = 5
_RAW, _DELTA, _EQUAL = 0, 1, 2  # entry kinds (csrc/dump_text.h, docs/format.md)
_KIND_NAMES = ("Raw", "Delta", "Equal")
_SIGN = 1 << 63
#: pages per committed batch of the import (so that progress shows)
IMPORT_BATCH_PAGES = 100


class DemoFailure(Exception):
    """Something the demo verifies did not hold."""


# ---- the source, read independently of the dump --------------------------------------


class _CountingReader:
    """A binary stream that counts the bytes read through it."""

    def __init__(self, f):
        self._f = f
        self.name = getattr(f, "name", "<stream>")
        self.count = 0

    def read(self, size=-1):
        data = self._f.read(size)
        self.count += len(data)
        return data

    def read1(self, size=-1):
        data = getattr(self._f, "read1", self._f.read)(size)
        self.count += len(data)
        return data


def read_reference(path):
    """Read the export once, on its own: what the dump must reproduce.

    Returns a dict: xml_bytes (decompressed size), pages, revisions, titles
    (page title -> number of revisions), page_of (revision id -> page
    title), expected ((revision id, slot role) -> sha1), declared (how many
    of those the XML states; the rest are hashed from the XML's text), and
    no_text (slots without text in the XML: deleted or stubs).
    """
    ref = {"pages": 0, "revisions": 0, "titles": {}, "page_of": {}, "expected": {},
           "declared": 0, "no_text": 0}
    with open_source(path) as raw:
        counting = _CountingReader(raw)
        with XMLReader(counting, name=raw.name, allow_control_chars=True) as reader:
            ref["sitename"] = reader.siteinfo.sitename if reader.siteinfo else None
            for page in reader:
                n = 0
                for rev in page:
                    n += 1
                    ref["page_of"][rev.id] = page.title
                    single = len(rev.slots) == 1
                    for role, slot in rev.slots.items():
                        if slot.text is None:
                            ref["no_text"] += 1
                            continue
                        want = rev.sha1 if role == "main" and single and rev.sha1 else slot.sha1
                        if want:
                            ref["declared"] += 1
                        else:
                            want = sha1_base36(slot.text.encode())
                        ref["expected"][(rev.id, role)] = want
                ref["titles"][page.title] = n
                ref["pages"] += 1
                ref["revisions"] += n
    ref["xml_bytes"] = counting.count
    return ref


# ---- how texts are stored: the TEXT tree's entry headers ------------------------------


def _varint(value, pos, where):
    """(LEB128 varint at value[pos:], next pos); CorruptDumpError if cut short."""
    result = shift = 0
    while True:
        if pos >= len(value) or shift > 63:
            raise CorruptDumpError(f"text entry {where}: truncated varint")
        byte = value[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return result, pos


def text_layout(path):
    """How each text of the dump at ``path`` is stored, read from the entry
    headers of its TEXT tree (docs/format.md "Text storage"): a dict
    (page id, revision id, slot index) -> (kind name, base revision id or
    None). A Delta's base is the text it is compressed against; an Equal's
    is the text it repeats. Open no Dump on the file meanwhile."""
    layout = {}
    with _lowlevel.Store(path) as store:
        for key, value in store.cursor(TEXT_TREE).items():
            if len(key) != 17 or not value:
                raise CorruptDumpError(f"text entry {key!r}: bad key or empty value")
            page = int.from_bytes(key[:8], "big") - _SIGN  # S(x) is x + 2^63 mod 2^64
            rev = int.from_bytes(key[8:16], "big") - _SIGN
            kind = value[0]
            base = None
            if kind == _DELTA:
                _, pos = _varint(value, 1, (page, rev))  # depth
                distance, _ = _varint(value, pos, (page, rev))
                base = rev - distance
            elif kind == _EQUAL:
                distance, _ = _varint(value, 1, (page, rev))
                base = rev - distance
            elif kind != _RAW:
                raise CorruptDumpError(f"text entry {(page, rev)}: unknown kind {kind}")
            layout[(page, rev, key[16])] = (_KIND_NAMES[kind], base)
    return layout


def _dependants(layout):
    """(page id, base revision id) -> sorted (revision id, slot index) of
    the texts stored against it."""
    deps = {}
    for (page, rev, slot), (_kind, base) in layout.items():
        if base is not None:
            deps.setdefault((page, base), []).append((rev, slot))
    for revs in deps.values():
        revs.sort()
    return deps


# ---- output helpers ---------------------------------------------------------------------


def _us(seconds):
    return f"{seconds * 1e6:,.0f} us"


def _n(count, noun):
    return f"{count:,} {noun}" + ("" if count == 1 else "s")


def _kinds(counts):
    return ", ".join(f"{counts[k]} {k}" for k in _KIND_NAMES if counts.get(k))


def _pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def _clip(text, n=60):
    text = text.replace("\n", " ")
    return text if len(text) <= n else text[: n - 3] + "..."


def _verify(dump, expected, rev_ids):
    """Read every (revision, slot) text of rev_ids from ``dump`` by id and
    compare its sha1 with ``expected``. Returns (checked, text bytes, list of
    per-revision read times, mismatches)."""
    checked = nbytes = 0
    times, bad = [], []
    for rid in rev_ids:
        t0 = time.perf_counter()
        rev = dump.revision(rid)
        texts = {role: slot.text_bytes() for role, slot in rev.slots.items()}
        times.append(time.perf_counter() - t0)
        for role, data in texts.items():
            want = expected.get((rid, role))
            if want is None:
                continue
            checked += 1
            if data is None or sha1_base36(data) != want:
                bad.append((rid, role))
            else:
                nbytes += len(data)
    return checked, nbytes, times, bad


# ---- the demo -----------------------------------------------------------------------------


class _Demo:
    """One run: the steps in order, sharing what earlier ones found."""

    def __init__(self, source, path, seed, out):
        self.source, self.path, self.out = source, path, out
        self.rnd = random.Random(seed)
        self.summary = {}

    def section(self, title):
        self.out(f"\n== {title}")

    def read_source(self):
        self.section(f"the source: {os.path.basename(self.source)}")
        t0 = time.perf_counter()
        ref = self.ref = read_reference(self.source)
        dt = time.perf_counter() - t0
        self.expected = dict(ref["expected"])
        self.out(f"{ref['xml_bytes']:,} bytes of XML ({os.path.getsize(self.source):,} "
                 f"compressed): {ref['pages']:,} pages, {ref['revisions']:,} revisions")
        self.out(f"(read once with incrdump.xmlread in {dt:.2f} s, keeping every revision's "
                 f"<sha1>)")

    def import_dump(self):
        self.section("import into a history dump (incrdump.load)")
        ref, out = self.ref, self.out
        tty = sys.stdout.isatty()
        last = [0.0]

        def progress(stats):
            line = (f"  ... {stats['pages']:,} pages, {stats['revisions']:,} revisions, "
                    f"{stats['text_bytes'] / 1e6:.1f} M characters of text, "
                    f"{stats['seconds']:.2f} s")
            if tty:
                print("\r" + line, end="", flush=True)
            elif stats["seconds"] - last[0] >= 0.1 and stats["pages"] < ref["pages"]:
                last[0] = stats["seconds"]
                out(line)

        stats = load(self.path, self.source, kind="history", progress=progress,
                     batch_pages=IMPORT_BATCH_PAGES, allow_control_chars=True)
        if tty:
            print()
        size = os.path.getsize(self.path)
        blocks = check_file(self.path)
        spare = blocks["free_blocks"] + blocks["pending_blocks"]
        out(f"{stats['pages']:,} pages, {stats['revisions']:,} revisions in "
            f"{stats['seconds']:.2f} s (committed every {IMPORT_BATCH_PAGES} pages)")
        out(f"dump {size:,} bytes = {size / ref['xml_bytes']:.1%} of the XML: "
            f"{blocks['nblocks']} blocks of 4 KiB,")
        out(f"  {spare} of them free space left by the batch commits (later writes reuse it)")
        if (stats["pages"], stats["revisions"]) != (ref["pages"], ref["revisions"]):
            raise DemoFailure(f"the dump has {stats['pages']} pages and {stats['revisions']} "
                              f"revisions, the XML {ref['pages']} and {ref['revisions']}")
        kinds = {}
        for kind, _ in text_layout(self.path).values():
            kinds[kind] = kinds.get(kind, 0) + 1
        out(f"{sum(kinds.values()):,} texts: {kinds.get('Raw', 0):,} Raw (compressed alone), "
            f"{kinds.get('Delta', 0):,} Delta (against an earlier text of the page),")
        out(f"  {kinds.get('Equal', 0):,} Equal (the same as an earlier text of the page)")
        self.summary.update(pages=stats["pages"], revisions=stats["revisions"],
                            dump_bytes=size, xml_bytes=ref["xml_bytes"])

    def random_access(self):
        self.section("random access (incrdump.open)")
        titles, page_of = self.ref["titles"], self.ref["page_of"]
        with Dump(self.path) as dump:
            for title in self.rnd.sample(sorted(titles), min(3, len(titles))):
                t0 = time.perf_counter()
                page = dump.page_by_title(title)
                dt = time.perf_counter() - t0
                revs = list(page)
                latest = revs[-1] if revs else None
                who = latest.user.text if latest is not None and latest.user is not None else "-"
                when = latest.timestamp.date() if latest is not None else "-"
                self.out(f"dump.page_by_title({title!r}): {_us(dt)}")
                self.out(f"  page {page.id}, ns {page.namespace}, {_n(len(revs), 'revision')}, "
                         f"latest {when} by {who}")
            for rid in self.rnd.sample(sorted(page_of), min(3, len(page_of))):
                t0 = time.perf_counter()
                rev = dump.revision(rid)
                text = rev.text
                dt = time.perf_counter() - t0
                shown = ("no text" if text is None
                         else f"{len(text.encode()):,} bytes {_clip(text, 40)!r}")
                self.out(f"dump.revision({rid}).text: {_us(dt)}")
                self.out(f"  {rev.page.title!r} {rev.timestamp_text}, {shown}")

    def verify_all(self):
        self.section("every revision by id, in random order, against the XML's sha1")
        ref = self.ref
        order = sorted(ref["page_of"])
        self.rnd.shuffle(order)
        with Dump(self.path) as dump:  # a fresh handle: nothing decoded yet
            t0 = time.perf_counter()
            checked, nbytes, times, bad = _verify(dump, ref["expected"], order)
            elapsed = time.perf_counter() - t0
        hashed = len(ref["expected"]) - ref["declared"]
        note = f" ({hashed:,} without a <sha1>: against the XML text's hash)" if hashed else ""
        self.out(f"{checked - len(bad):,} of {len(ref['expected']):,} texts match{note}; "
                 f"{nbytes / 1e6:.1f} MB in {elapsed:.2f} s")
        if ref["no_text"]:
            self.out(f"({ref['no_text']:,} slots have no text in the XML: deleted or stubs)")
        if times:
            self.out(f"dump.revision(id) with its text: p50 {_us(_pct(times, 0.5))}, "
                     f"p99 {_us(_pct(times, 0.99))}, max {_us(max(times))}")
        if bad or checked != len(ref["expected"]):
            raise DemoFailure(f"{_n(len(bad), 'text')} read back different from the XML, "
                              f"e.g. (revision, slot) {bad[:5]}")

    def export_xml(self):
        self.section("back to XML (incrdump.xml.export, as incrdump2xml)")
        out = self.out
        xml_path = self.path + ".xml"
        t0 = time.perf_counter()
        stats = export(self.path, xml_path, schema="input")
        dt = time.perf_counter() - t0
        size = os.path.getsize(xml_path)
        out(f"{stats['pages']:,} pages, {stats['revisions']:,} revisions: {size:,} bytes of "
            f"XML in {dt:.2f} s")
        with open_source(self.source) as f, open(xml_path, "rb") as g:
            same, at = True, 0
            while True:
                a, b = f.read(1 << 20), g.read(1 << 20)
                if a != b:
                    same = False
                    at += next((i for i in range(min(len(a), len(b))) if a[i] != b[i]),
                               min(len(a), len(b)))
                    break
                if not a:
                    break
                at += len(a)
        if same:
            out("identical to the input, byte for byte (its schema, layout, escaping of")
            out("  quotes and short tags are MediaWiki's, kept by the import)")
        else:
            out(f"differs from the input from byte {at:,} on (a layout no parser reports,")
            out("  e.g. blank lines); reading it back:")
            back = read_reference(xml_path)
            if back["expected"] != self.ref["expected"]:
                raise DemoFailure("the exported XML carries other texts or sha1s than the input")
            out(f"  the same {len(back['expected']):,} texts and sha1s as the input")
        os.unlink(xml_path)
        self.summary["export_identical"] = same

    def add_revision(self):
        """Append a line to the latest text of the page with most revisions."""
        self.section("write: add a revision in a transaction")
        titles = self.ref["titles"]
        title = self.title = max(titles, key=lambda t: (titles[t], t))
        with Dump(self.path, "w") as dump:
            page = dump.page_by_title(title)
            latest = page.latest()
            before = dump.info()
            new_id = self.new_id = max(self.ref["page_of"]) + 1
            text = (latest.text or "").rstrip("\n") + "\n" + EDIT_MARK
            sha1 = sha1_base36(text.encode())
            now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
            t0 = time.perf_counter()
            with dump.transaction() as txn:
                txn.put_revision(Revision(
                    new_id, now, page_id=page.id, parent_id=latest.id,
                    user=Contributor("incrdump demo"), comment="incrdump demo: append a category",
                    text=text, sha1=sha1, model=latest.model, format=latest.format))
            dt = time.perf_counter() - t0
            after = dump.info()
            count = sum(1 for _ in page)
        self.out(f"{title!r}: added revision {new_id} (parent {latest.id}), committed in "
                 f"{dt * 1e3:.1f} ms")
        self.out(f"  {titles[title]} -> {count} revisions, generation {before['generation']} -> "
                 f"{after['generation']}, file {before['file_size']:,} -> "
                 f"{after['file_size']:,} bytes")
        self.expected[(new_id, "main")] = sha1
        self.summary.update(added=new_id, edited=title)

    def _pick_victim(self, layout):
        """(page id, revision id, [(revision, slot) stored against it]): the
        revision with the most Delta dependants (each must be decoded and
        compressed again), else the edited page's oldest revision."""
        deps = _dependants(layout)
        if deps:
            def weight(item):
                (page, base), stored = item
                deltas = sum(layout[(page, r, slot)][0] == "Delta" for r, slot in stored)
                return deltas, len(stored), -base
            (page_id, victim), users = max(deps.items(), key=weight)
            return page_id, victim, users
        with Dump(self.path) as dump:
            page = dump.page_by_title(self.title)
            return page.id, next(iter(page)).id, []

    def delete_revision(self):
        self.section("delete a revision that other texts are stored against")
        old_layout = text_layout(self.path)
        page_id, victim, users = self._pick_victim(old_layout)
        with Dump(self.path, "w") as dump:
            title = dump.page(page_id).title
            t0 = time.perf_counter()
            with dump.transaction() as txn:
                txn.delete_revision(victim)
            dt = time.perf_counter() - t0
            gone = dump.get_revision(victim) is None
        revs = sorted({rid for rid, _ in users})
        listed = ", ".join(map(str, revs[:8])) + (", ..." if len(revs) > 8 else "")
        self.out(f"{title!r}: deleted revision {victim}, committed in {dt * 1e3:.1f} ms")
        self.out(f"  {_n(len(users), 'text')} stored against it: {listed or 'none'}")
        if not gone:
            raise DemoFailure(f"revision {victim} is still there after its delete")
        layout = text_layout(self.path)
        was, now = {}, {}
        for rid, slot in users:
            kind, base = layout[(page_id, rid, slot)]
            if base == victim:
                raise DemoFailure(f"revision {rid} is still stored against deleted {victim}")
            now[kind] = now.get(kind, 0) + 1
            old = old_layout[(page_id, rid, slot)][0]
            was[old] = was.get(old, 0) + 1
        if users:
            self.out(f"  re-encoded: were {_kinds(was)}; now {_kinds(now)}, "
                     f"none against {victim}")
        rev_ids = [r for r, t in self.ref["page_of"].items() if t == title and r != victim]
        if title == self.title:
            rev_ids.append(self.new_id)
        with Dump(self.path) as dump:  # a fresh handle: every text decoded from the file
            checked, _, _, bad = _verify(dump, self.expected, rev_ids)
        if bad:
            raise DemoFailure(f"after the delete, {_n(len(bad), 'text')} read back "
                              f"different: {bad[:5]}")
        self.out(f"{_n(checked, 'remaining text')} of {title!r} read back with their sha1 "
                 f"(fresh handle)")
        self.victim = self.summary["deleted"] = victim

    def check(self):
        self.section("integrity check")
        with Dump(self.path) as dump:
            t0 = time.perf_counter()
            result = dump.check()
            dt = time.perf_counter() - t0
            info = dump.info()
        self.out(f"dump.check(): OK -- {result['pages']:,} pages, {result['revisions']:,} "
                 f"revisions, {_n(result['texts'], 'text')} in {dt:.2f} s")
        self.out(f"  every record and index checked; every text ({result['text_bytes']:,} "
                 f"bytes) decoded")
        self.out("  and checked against its length and CRC")
        if result["revisions"] != self.ref["revisions"]:  # one added, one deleted
            raise DemoFailure(f"{result['revisions']} revisions after the edits, "
                              f"expected {self.ref['revisions']}")
        self.summary.update(generation=info["generation"], file_size=info["file_size"])

    def command_line(self):
        self.section("the same from the command line")
        out, path, new_id = self.out, self.path, str(self.new_id)
        _cli(out, path, ["info"], max_lines=20)
        _cli(out, path, ["get", "--title", self.title], max_lines=8)
        _cli(out, path, ["get", "--revision", new_id, "--text"], tail=2,
             shown=["get", "--revision", new_id, "--text", "|", "tail", "-n", "2"])
        _cli(out, path, ["get", "--revision", str(self.victim)], expect=1)
        _cli(out, path, ["check"], max_lines=0, tail=1)
        with Dump(path) as dump:
            pid = dump.page_by_title(self.title).id
        _cli(out, path, ["export", "--current", "--skip-header", "--skip-footer",
                         "--start", str(pid), "--end", str(pid + 1)], max_lines=16)


def run(source, path, *, seed=1, out=print, show_cli=True):
    """Run the demo on export ``source``, writing the dump at ``path`` (which
    must not exist). Prints through ``out``; returns a dict of what it did
    (pages, revisions, added and deleted revision ids, edited page title,
    sizes). Raises DemoFailure when a check fails."""
    demo = _Demo(source, path, seed, out)
    demo.read_source()
    demo.import_dump()
    demo.random_access()
    demo.verify_all()
    demo.export_xml()
    demo.add_revision()
    demo.delete_revision()
    demo.check()
    if show_cli:
        demo.command_line()
    return demo.summary


def _cli(out, path, args, *, max_lines=None, tail=None, shown=None, expect=0):
    """Run ``incrdump ARGS... DUMP`` (the dump path right after the command,
    as the CLI takes it) and print the command with its output; DemoFailure
    if the exit status is not ``expect``."""
    directory, name = os.path.split(os.path.abspath(path))
    argv = [args[0], name] + args[1:]
    shown = [args[0], name] + (shown or args)[1:]
    package_parent = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_parent, env.get("PYTHONPATH")) if p)
    r = subprocess.run([sys.executable, "-m", "incrdump.cli", *argv], cwd=directory, env=env,
                       capture_output=True, timeout=120)
    out("$ incrdump " + " ".join(_quote(a) for a in shown))
    lines = r.stdout.decode("utf-8", "replace").splitlines()
    if tail is not None:
        head = lines[:max_lines] if max_lines else []
        lines = head + lines[-tail:]
    elif max_lines is not None and len(lines) > max_lines:
        lines = lines[:max_lines] + [f"... ({len(lines) - max_lines} more lines)"]
    for line in lines:
        out("  " + _clip(line, 100))
    for line in r.stderr.decode("utf-8", "replace").splitlines():
        out("  (stderr) " + line)
    if r.returncode != expect:
        raise DemoFailure(f"incrdump {' '.join(argv)}: exit {r.returncode}, expected {expect}")
    if expect:
        out(f"  (exit {r.returncode})")


def _quote(arg):
    return f"'{arg}'" if any(c in arg for c in " '\"$") else arg


def main(argv=None):
    """Run the demo; returns the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", nargs="?", default=DEFAULT_SOURCE,
                        help="MediaWiki XML export (plain, .bz2, .gz, .xz, .zst or .7z); "
                             "default: the bundled aawiki full history")
    parser.add_argument("--out", help="dump file to write and keep (default: a temporary file)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the random choices")
    parser.add_argument("--no-cli", action="store_true", help="skip the command-line part")
    args = parser.parse_args(argv)
    if not os.path.exists(args.source):
        print(f"demo: {args.source}: no such file", file=sys.stderr)
        return 1
    tmp = None if args.out else tempfile.TemporaryDirectory()
    path = args.out or os.path.join(tmp.name, "demo.idump")
    t0 = time.perf_counter()
    try:
        if os.path.exists(path):
            os.unlink(path)
        run(args.source, path, seed=args.seed, show_cli=not args.no_cli)
        where = path if args.out else "a temporary file, removed now"
        print(f"\ndone in {time.perf_counter() - t0:.1f} s; the dump was {where}")
        return 0
    except (DemoFailure, IncrdumpError) as e:
        print(f"demo: FAILED: {e}", file=sys.stderr)
        return 1
    finally:
        if tmp:
            tmp.cleanup()


if __name__ == "__main__":
    sys.exit(main())
