"""Command-line logic of ``incrdump`` (the console script's ``main``).

Top layer: parses arguments and calls into the package; no logic of its own.
Exit codes: 0 success; 1 the operation failed (a damaged or missing file,
a page or revision that is not there, bad input XML); 2 bad usage.
Errors are one line on stderr, ``incrdump COMMAND: message``. Output that
is data has a ``--json`` form; progress goes to stderr, and only when it is
a terminal.
"""
import argparse
import json
import os
import sys

from . import __version__
from .errors import CorruptDumpError, IncrdumpError, NotFoundError

# The tree and key of a dump's configuration record (the lead's layout:
# tree 0 META, key "config"): how `info` and `check` tell a dump that fails
# to open from a plain storage file.
_META_TREE = 0
_CONFIG_KEY = b"config"


def _print(data, as_json):
    if as_json:
        print(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False))
        return
    for key, value in data.items():
        if isinstance(value, dict):
            print(f"{key}:")
            for k, v in value.items():
                print(f"  {k}: {v}")
        else:
            print(f"{key}: {value}")


def _open_dump(path):
    """The Dump at path, or None when path is a storage file but no dump."""
    from . import _lowlevel
    from .dump import Dump

    try:
        return Dump(path)
    except CorruptDumpError:
        with _lowlevel.Store(path) as store:  # raises for a damaged file
            key_type, _ = store.tree_stat(_META_TREE)
            if key_type == _lowlevel.KEY_BYTES:
                try:
                    store.get(_META_TREE, _CONFIG_KEY)
                except NotFoundError:
                    return None
                raise  # a dump whose records are damaged
        return None


def cmd_check(args):
    """Verify a dump: every block and tree of the file and, for a dump,
    every record, index and text frame (each text decoded and checked
    against its length and checksum). Exit 1 if anything is damaged."""
    from .maintenance import check_file

    try:
        dump = _open_dump(args.dump)
        if dump is None:
            result = check_file(args.dump)
        else:
            with dump:
                result = dump.check()
                result["generation"] = dump.info()["generation"]
    except CorruptDumpError as e:
        print(f"incrdump check: {args.dump}: CORRUPT: {e}", file=sys.stderr)
        return 1
    _print(result, args.json)
    if not args.json:
        print(f"{args.dump}: OK")
    return 0


def cmd_info(args):
    """Show what a file holds: for a dump its kind, pages, revisions,
    stored texts, codec and site; for any file its identity (uuid),
    generation, format version and size."""
    from .maintenance import describe

    dump = _open_dump(args.dump)
    if dump is None:
        _print(describe(args.dump), args.json)
        return 0
    with dump:
        _print(dump.info(), args.json)
    return 0


def _rev_line(rev):
    user = rev.user.text if rev.user is not None and rev.user.text is not None else (
        "(deleted)" if rev.user is not None and rev.user.deleted else "")
    comment = (rev.comment or "").replace("\n", " ")
    if len(comment) > 60:
        comment = comment[:57] + "..."
    size = "" if rev.bytes is None else rev.bytes
    return f"  {rev.id}  {rev.timestamp_text}  {user}  {size}  {comment}".rstrip()


def _write_text(rev, role):
    slot = rev.slots.get(role)
    if slot is None:
        raise NotFoundError(f"revision {rev.id} has no slot {role!r}", 1)
    data = slot.text_bytes()
    if data is None:
        why = "deleted" if slot.deleted else "not stored in this dump"
        raise NotFoundError(f"revision {rev.id}: the text of slot {role!r} is {why}", 1)
    out = sys.stdout.buffer
    out.write(data)
    out.flush()


def cmd_get(args):
    """Print one page or revision of a dump. A page (--page ID, or --title
    TITLE with its namespace prefix or with --namespace N) shows its fields
    and its revisions; with --text, its latest revision's text. A revision
    (--revision ID) shows its metadata; with --text, its raw text (UTF-8,
    as stored) on standard output. --json prints the data as JSON. Exit 1
    when the page or revision is not there."""
    from .dump import Dump

    if args.namespace is not None and args.title is None:
        print("incrdump get: --namespace goes with --title", file=sys.stderr)
        return 2
    with Dump(args.dump) as dump:
        if args.revision is not None:
            rev = dump.revision(args.revision)
            if args.text:
                _write_text(rev, args.slot)
            elif args.json:
                _print(rev.as_dict(), True)
            else:
                data = rev.as_dict()
                slots = data.pop("slots")
                _print(data, False)
                for role, fields in slots.items():
                    print(f"slot {role}: " + ", ".join(f"{k}={v}" for k, v in fields.items()))
            return 0
        if args.page is not None:
            page = dump.page(args.page)
        else:
            page = dump.page_by_title(args.title, args.namespace)
        if args.text:
            rev = page.latest()
            if rev is None:
                raise NotFoundError(f"page {page.id} has no revisions", 1)
            _write_text(rev, args.slot)
        elif args.json:
            data = page.as_dict()
            data["revisions"] = [rev.as_dict() for rev in page]
            _print(data, True)
        else:
            _print(page.as_dict(), False)
            revs = list(page)
            print(f"revisions: {len(revs)}")
            for rev in revs:
                print(_rev_line(rev))
    return 0


def _progress_printer(verb):
    """A progress callback writing one updating line to stderr, or None
    when stderr is not a terminal."""
    if not sys.stderr.isatty():
        return None

    def show(stats):
        mb = stats.get("text_bytes", 0) / 1e6
        print(f"\r{verb}: {stats['pages']} pages, {stats['revisions']} revisions, "
              f"{mb:.1f} MB of text, {stats['seconds']:.0f} s", end="", file=sys.stderr,
              flush=True)

    return show


class _Terminated(Exception):
    """SIGTERM during an import: unwinds like an error, so that the
    temporary file is removed."""


def _on_sigterm(signum, frame):
    raise _Terminated()


def _import_progress():
    """A progress callback for load() drawing one updating line on stderr
    (with a bar and percent when the inputs' stored sizes are known), or
    None when stderr is not a terminal. ``show.drawn`` tells whether a
    line is on the screen."""
    if not sys.stderr.isatty():
        return None

    def show(stats):
        secs = stats["seconds"]
        mb = stats["xml_bytes"] / 1e6
        rate = f"{mb / secs:.1f} MB/s" if secs >= 0.5 else "-- MB/s"
        counts = (f"{stats['pages']:,} pages, {stats['revisions']:,} revisions, "
                  f"{mb:,.1f} MB at {rate}, {int(secs) // 60}:{int(secs) % 60:02d}")
        try:
            width = os.get_terminal_size(sys.stderr.fileno()).columns or 80
        except OSError:
            width = 80
        line = f"import: {counts}"
        done, size = stats["input_bytes"], stats["input_size"]
        if done is not None and size:
            frac = min(done / size, 1.0)
            filled = int(frac * 20)
            line = f"import {frac:4.0%} [{'#' * filled}{'.' * (20 - filled)}] {counts}"
            if len(line) >= width:
                line = f"import {frac:4.0%} {counts}"
        print("\r" + line[:width - 1] + "\x1b[K", end="", file=sys.stderr, flush=True)
        show.drawn = True

    show.drawn = False
    return show


class _Interruptible:
    """Around a long command: SIGTERM becomes _Terminated (so the command's
    temporary files are removed), and an unfinished progress line is ended
    before any message."""

    def __init__(self, progress):
        self.progress = progress
        self.previous = None

    def __enter__(self):
        import signal

        try:
            self.previous = signal.signal(signal.SIGTERM, _on_sigterm)
        except ValueError:  # not the main thread: leave signals alone
            self.previous = None
        return self

    def __exit__(self, *exc):
        import signal

        if self.previous is not None:
            signal.signal(signal.SIGTERM, self.previous)
        self.end_line()
        return False

    def end_line(self):
        p = self.progress
        if p is not None and p.drawn:
            print(file=sys.stderr)
            p.drawn = False


def cmd_import(args):
    """Load MediaWiki XML export files (schema 0.3 to 0.11, UTF-8 or UTF-16;
    plain, .bz2 (multistream too), .gz, .xz, .zst or .7z; "-" for standard
    input) into a new dump. Several sources are read in order as parts of
    one wiki (page-range split files). Bad input -- malformed XML, a damaged
    archive, a revision without text in a non-stub import, a duplicate page
    or revision id -- is an error naming the file (and for XML its line and
    column), and DUMP is left as it was. The dump is written under a
    temporary name and appears under DUMP only when complete. A progress
    line is drawn on stderr when it is a terminal (not with --quiet)."""
    from .load import load

    kind = args.kind or "history"
    progress = None if args.quiet else _import_progress()
    try:
        with _Interruptible(progress):
            stats = load(args.output, args.sources, kind=kind, articles=args.articles,
                         codec=args.codec, level=args.level, max_depth=args.max_depth,
                         progress=progress, allow_control_chars=args.allow_control_chars,
                         overwrite=args.force)
    except _Terminated:
        print("incrdump import: terminated", file=sys.stderr)
        return 143
    if args.json:
        _print(stats, True)
    elif not args.quiet:
        print(f"{args.output}: {stats['pages']} pages, {stats['revisions']} revisions "
              f"({kind}) in {stats['seconds']:.1f} s")
    return 0


def cmd_compact(args):
    """Rewrite dump SRC into a new dump DST with the strongest encoding:
    pages in id order, each page's texts together, zstd (default) or xz
    at the codec's highest level; with zstd, a dictionary trained on the
    first revisions. SRC is not changed."""
    from .load import compact

    stats = compact(args.src, args.dst, codec=args.codec, level=args.level,
                    dictionary=not args.no_dictionary, packed=not args.no_packed,
                    progress=_progress_printer("compact"),
                    overwrite=args.force)
    if sys.stderr.isatty():
        print(file=sys.stderr)
    if args.json:
        _print(stats, True)
    else:
        before, after = stats["size_before"], stats["size_after"]
        ratio = f" ({after / before:.1%})" if before else ""
        print(f"{args.dst}: {stats['pages']} pages, {stats['revisions']} revisions, "
              f"{before} -> {after} bytes{ratio}")
    return 0


def _update_progress():
    """A progress callback for update() drawing one updating line on
    stderr, or None when stderr is not a terminal."""
    if not sys.stderr.isatty():
        return None

    def show(stats):
        secs = stats["seconds"]
        line = (f"update: {stats['pages']:,} pages, {stats['revisions']:,} revisions, "
                f"{stats['ops']:,} changes, {stats['xml_bytes'] / 1e6:,.1f} MB of XML, "
                f"{int(secs) // 60}:{int(secs) % 60:02d}")
        done, size = stats["input_bytes"], stats["input_size"]
        if done is not None and size:
            line = f"update {min(done / size, 1.0):4.0%} {line[8:]}"
        try:
            width = os.get_terminal_size(sys.stderr.fileno()).columns or 80
        except OSError:
            width = 80
        print("\r" + line[:width - 1] + "\x1b[K", end="", file=sys.stderr, flush=True)
        show.drawn = True

    show.drawn = False
    return show


def cmd_update(args):
    """Apply change sets to DUMP in place, in one transaction: MediaWiki
    export XML (adds/changes files such as Wikimedia's daily
    pages-meta-hist-incr, or any export; any supported compression; "-"
    for standard input) and change-set files of ours (.ichanges or .jsonl:
    page deletions and undeletions, moves, revision deletion and
    suppression, history merges; docs/changes.md), in the order given.
    A page in the XML is put as it is there (another title is a move), a
    revision is added or replaces the stored one with its id. If anything
    fails -- bad input (named with file and line), an operation the dump
    refuses, an interrupt -- DUMP is left exactly as it was. A progress
    line is drawn on stderr when it is a terminal (not with --quiet)."""
    from .update import update

    progress = None if args.quiet else _update_progress()
    try:
        with _Interruptible(progress):
            recorder = None
            if args.diff is not None:  # the diff dump as a by-product (docs/diff.md)
                from .diff import DiffRecorder

                recorder = DiffRecorder(args.diff)
            try:
                stats = update(args.dump, args.changes, progress=progress, observer=recorder,
                               allow_control_chars=args.allow_control_chars)
            except BaseException:
                if recorder is not None:
                    recorder.discard()
                raise
            if recorder is not None:
                recorder.publish()
    except _Terminated:
        print("incrdump update: terminated (the dump is unchanged)", file=sys.stderr)
        return 143
    if args.json:
        _print(stats, True)
    elif not args.quiet:
        other = sum(stats[k] for k in ("deleted_pages", "deleted_revisions", "moves", "hidden",
                                       "merged"))
        print(f"{args.dump}: {stats['pages']} pages and {stats['revisions']} revisions put, "
              f"{other} other changes; generation {stats['generation']}, sequence "
              f"{stats['sequence']} ({stats['seconds']:.1f} s)")
    return 0


def cmd_diff(args):
    """Write the diff dump (.idiff, docs/diff.md) that takes dump OLD to
    dump NEW. NEW must be a later state of the same dump: a copy of OLD's
    file that was updated (same uuid, higher sequence number). The two are
    compared page by page and revision by revision; texts in the diff are
    compressed against texts OLD already has. OUT is written under a
    temporary name and appears only when complete."""
    from .diff import write_diff

    if os.path.exists(args.output) and not args.force:
        print(f"incrdump diff: {args.output} exists (--force to replace it)", file=sys.stderr)
        return 1
    stats = write_diff(args.old, args.new, args.output, level=args.level)
    if args.json:
        _print(stats, True)
    else:
        print(f"{args.output}: sequence {stats['from_sequence']} -> {stats['to_sequence']}, "
              f"{stats['records']} records ({stats['pages_put']} pages and "
              f"{stats['revisions_put']} revisions put, {stats['pages_deleted']} pages and "
              f"{stats['revisions_deleted']} revisions deleted), {stats['size']} bytes")
    return 0


def cmd_apply(args):
    """Apply a diff dump (.idiff) to DUMP in place, in one transaction. The
    diff names the dump (uuid) and sequence number it applies to: any
    other dump, or one at another sequence -- including a diff applied
    already -- is refused with both named. The whole diff is verified
    (every record's length and CRC-32) before anything changes; a damaged
    or truncated diff is refused and DUMP is left as it was."""
    from .diff import apply

    stats = apply(args.dump, args.diff)
    if args.json:
        _print(stats, True)
    else:
        print(f"{args.dump}: sequence {stats['from_sequence']} -> {stats['to_sequence']} "
              f"({stats['pages_put']} pages and {stats['revisions_put']} revisions put, "
              f"{stats['pages_deleted']} pages and {stats['revisions_deleted']} revisions "
              f"deleted)")
    return 0


def cmd_export(args):
    """Write a dump as MediaWiki export XML, byte for byte as MediaWiki 1.39's
    dumpBackup.php writes it (schema 0.11, or 0.10 with --schema). OUT's
    extension picks a compression (.bz2, .gz, .xz, .zst; anything else is
    plain XML); OUT is written under a temporary name and appears only when
    complete. Without -o, the XML goes to standard output."""
    from .xmlwrite import export

    namespaces, exclude = args.namespace if args.namespace else (None, False)
    out = args.output or "-"
    progress = None
    if out != "-" and sys.stderr.isatty() and not args.quiet:
        import time
        started = time.monotonic()

        def show(stats):
            secs = time.monotonic() - started
            print(f"\rexport: {stats['pages']} pages, {stats['revisions']} revisions, "
                  f"{stats['bytes'] / 1e6:.1f} MB of XML, {secs:.0f} s", end="",
                  file=sys.stderr, flush=True)
        progress = show
    stats = export(args.dump, out, mode=args.mode, schema=args.schema,
                   namespaces=namespaces, exclude_namespaces=exclude, start=args.start,
                   end=args.end, revstart=args.revstart, revend=args.revend,
                   skip_header=args.skip_header, skip_footer=args.skip_footer,
                   overwrite=args.force or out == "-", level=args.level, progress=progress)
    if progress is not None:
        print(file=sys.stderr)
    if args.json and out != "-":
        _print(stats, True)
    return 0


#: dumpBackup's namespace filter also takes these names
_NS_NAMES = {f"NS_{n}": i for i, n in enumerate((
    "MAIN", "TALK", "USER", "USER_TALK", "PROJECT", "PROJECT_TALK", "FILE", "FILE_TALK",
    "MEDIAWIKI", "MEDIAWIKI_TALK", "TEMPLATE", "TEMPLATE_TALK", "HELP", "HELP_TALK",
    "CATEGORY", "CATEGORY_TALK"))}


def _namespace_list(text):
    """'0,1' -> ({0, 1}, False); '!1,3' -> ({1, 3}, True); NS_TALK for 1."""
    exclude = text.startswith("!")
    items = text[1:] if exclude else text
    try:
        keys = frozenset(_NS_NAMES[x.strip()] if x.strip() in _NS_NAMES else int(x)
                         for x in items.split(",") if x.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a list of namespace numbers: {text!r} (e.g. 0,1 or !1,3)") from None
    if not keys:
        raise argparse.ArgumentTypeError(f"no namespace numbers in {text!r}")
    return keys, exclude


def _setup_export(p):
    p.add_argument("dump", metavar="DUMP", help="the dump to read")
    p.add_argument("-o", "--output", metavar="OUT",
                   help="the XML file to write (.bz2/.gz/.xz/.zst: compressed); "
                        "default: standard output")
    modes = p.add_mutually_exclusive_group()
    modes.add_argument("--full", dest="mode", action="store_const", const="full",
                       help="every revision with its text (default)")
    modes.add_argument("--current", dest="mode", action="store_const", const="current",
                       help="each page's latest revision only")
    modes.add_argument("--stub", dest="mode", action="store_const", const="stub",
                       help="every revision, text as a reference without content")
    modes.add_argument("--stub-current", dest="mode", action="store_const",
                       const="stub-current", help="the latest revisions as stubs")
    p.set_defaults(mode="full")
    p.add_argument("--schema", choices=("0.10", "0.11", "input"), default="0.11",
                   help="export schema version (default 0.11); 'input': the version "
                        "the dump was imported from (0.3 to 0.11), to reproduce that XML")
    p.add_argument("--namespace", "--namespaces", type=_namespace_list, metavar="N[,M]",
                   help="only these namespaces (numbers or NS_TALK-style names); "
                        "'!N[,M]': all but these")
    p.add_argument("--start", type=_nonneg_int, metavar="ID", help="first page id")
    p.add_argument("--end", type=_nonneg_int, metavar="ID", help="page id to stop before")
    p.add_argument("--revstart", type=_nonneg_int, metavar="ID", help="first revision id")
    p.add_argument("--revend", type=_nonneg_int, metavar="ID",
                   help="revision id to stop before")
    p.add_argument("--skip-header", action="store_true",
                   help="leave out <mediawiki> and the site info")
    p.add_argument("--skip-footer", action="store_true", help="leave out </mediawiki>")
    p.add_argument("--level", type=int, metavar="N",
                   help="compression level of OUT (default: bz2 9, gz 6, xz 6, zst 3)")
    p.add_argument("--force", action="store_true", help="replace OUT if it exists")
    p.add_argument("--quiet", action="store_true", help="no progress line on a terminal")
    p.add_argument("--json", action="store_true", help="print the counts as JSON")


def _nonneg_int(text):
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None


def _setup_dump_only(p):
    p.add_argument("dump", metavar="DUMP", help="path of the dump file")
    p.add_argument("--json", action="store_true", help="print machine-readable JSON")


def _setup_get(p):
    p.add_argument("dump", metavar="DUMP", help="path of the dump file")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--page", type=_nonneg_int, metavar="ID", help="the page with this id")
    which.add_argument("--title", metavar="TITLE",
                       help="the page with this title (e.g. 'Talk:Pear'; see --namespace)")
    which.add_argument("--revision", type=_nonneg_int, metavar="ID",
                       help="the revision with this id")
    p.add_argument("--namespace", type=_nonneg_int, metavar="N",
                   help="with --title: the namespace number (the title may then omit "
                        "its prefix); default: read it from the title's prefix")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print JSON")
    out.add_argument("--text", action="store_true",
                     help="print the text only (a page: its latest revision's)")
    p.add_argument("--slot", default="main", metavar="ROLE",
                   help="with --text: the slot whose text to print (default: main)")


def _setup_import(p):
    p.add_argument("sources", metavar="SRC", nargs="+",
                   help="XML export file(s), any supported compression; '-' for stdin")
    p.add_argument("-o", "--output", required=True, metavar="DUMP",
                   help="the dump file to create")
    kinds = p.add_mutually_exclusive_group()
    kinds.add_argument("--kind", choices=("history", "current", "stub"),
                       help="history: every revision (default); current: each page's "
                            "latest only; stub: metadata without text")
    kinds.add_argument("--full", dest="kind", action="store_const", const="history",
                       help="same as --kind history (as dumpBackup.php)")
    kinds.add_argument("--current", dest="kind", action="store_const", const="current",
                       help="same as --kind current")
    kinds.add_argument("--stub", dest="kind", action="store_const", const="stub",
                       help="same as --kind stub")
    p.add_argument("--articles", action="store_true",
                   help="keep only article namespaces (no talk pages, no User:)")
    p.add_argument("--codec", choices=("zstd", "xz"), default="zstd",
                   help="text compression (default zstd)")
    p.add_argument("--level", type=int, metavar="N", help="compression level")
    p.add_argument("--max-depth", type=int, metavar="N",
                   help="longest delta chain (default 16; 1 = no deltas)")
    p.add_argument("--allow-control-chars", action="store_true",
                   help="accept control characters XML forbids (e.g. form feeds) in the input")
    p.add_argument("--force", action="store_true",
                   help="replace DUMP if it exists (only once the new dump is complete)")
    p.add_argument("-q", "--quiet", action="store_true",
                   help="no progress line and no summary (errors are still reported)")
    p.add_argument("--json", action="store_true", help="print the counts as JSON")


def _setup_update(p):
    p.add_argument("dump", metavar="DUMP", help="the dump to change (it must exist)")
    p.add_argument("changes", metavar="CHANGES", nargs="+",
                   help="export XML (any supported compression; '-' for stdin) or "
                        ".ichanges/.jsonl change sets, applied in this order")
    p.add_argument("--allow-control-chars", action="store_true",
                   help="accept control characters XML forbids (e.g. form feeds) in the XML")
    p.add_argument("--diff", metavar="OUT.idiff",
                   help="also write the update's diff dump (docs/diff.md) to OUT.idiff, "
                        "for copies of DUMP to apply with 'incrdump apply'")
    p.add_argument("-q", "--quiet", action="store_true",
                   help="no progress line and no summary (errors are still reported)")
    p.add_argument("--json", action="store_true", help="print the counts as JSON")


def _setup_diff(p):
    p.add_argument("old", metavar="OLD", help="the dump as the receiver has it")
    p.add_argument("new", metavar="NEW", help="the same dump, updated")
    p.add_argument("-o", "--output", required=True, metavar="CHANGES.idiff",
                   help="the diff file to write")
    p.add_argument("--level", type=int, default=19, metavar="N",
                   help="zstd level of the diff's texts and body (default 19)")
    p.add_argument("--force", action="store_true", help="replace the output if it exists")
    p.add_argument("--json", action="store_true", help="print the counts as JSON")


def _setup_apply(p):
    p.add_argument("dump", metavar="DUMP", help="the dump to change")
    p.add_argument("diff", metavar="CHANGES.idiff", help="the diff to apply")
    p.add_argument("--json", action="store_true", help="print the counts as JSON")


def _setup_compact(p):
    p.add_argument("src", metavar="SRC", help="the dump to read")
    p.add_argument("dst", metavar="DST", help="the dump to create")
    p.add_argument("--codec", choices=("zstd", "xz"), default="zstd",
                   help="text compression of DST (default zstd)")
    p.add_argument("--level", type=int, metavar="N",
                   help="compression level (default: the codec's highest: xz 9, zstd 19)")
    p.add_argument("--no-dictionary", action="store_true",
                   help="with zstd: do not train a dictionary on the first revisions")
    p.add_argument("--no-packed", action="store_true",
                   help="one entry per text (as import writes) instead of packs of a page's texts")
    p.add_argument("--force", action="store_true", help="replace DST if it exists")
    p.add_argument("--json", action="store_true", help="print the counts as JSON")


COMMANDS = {
    "check": ("verify a dump's blocks, trees, records and texts (exit 1 if damaged)",
              cmd_check, _setup_dump_only),
    "info": ("show a dump's kind, counts, codec, site and identity", cmd_info,
             _setup_dump_only),
    "get": ("print one page or revision (fields, JSON or text)", cmd_get, _setup_get),
    "import": ("load MediaWiki XML into a new dump", cmd_import, _setup_import),
    "export": ("write a dump as MediaWiki XML (as dumpBackup.php)", cmd_export, _setup_export),
    "compact": ("rewrite a dump with the strongest encoding", cmd_compact, _setup_compact),
    "diff": ("write the diff dump (.idiff) from one state of a dump to a later one",
             cmd_diff, _setup_diff),
    "apply": ("apply a diff dump (.idiff) to a dump in place", cmd_apply, _setup_apply),
    "update": ("apply change sets (adds/changes XML, .ichanges) to a dump in place",
               cmd_update, _setup_update),
}


def build_parser():
    """Return the argument parser of the ``incrdump`` command."""
    parser = argparse.ArgumentParser(
        prog="incrdump",
        description="Work with incrdump files: binary MediaWiki dumps that "
        "update in place and read at random.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    parser.commands = {}
    for name, (help_, func, setup) in sorted(COMMANDS.items()):
        p = sub.add_parser(name, help=help_, description=func.__doc__)
        setup(p)
        p.set_defaults(func=func)
        parser.commands[name] = p
    return parser


def main(argv=None, prog=None):
    """Run ``incrdump`` with ``argv`` (default: sys.argv[1:]); return the exit code."""
    parser = build_parser()
    if prog is not None:  # incrdump2xml: usage and errors under its own name
        parser.commands[argv[0]].prog = prog
    args = parser.parse_args(argv)
    name = prog or f"incrdump {args.command}"
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return args.func(args)
    except BrokenPipeError:
        # the reader of our output went away (`incrdump get ... | head`):
        # not an error of ours; keep Python from complaining at exit too
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except (IncrdumpError, OSError) as e:
        msg = str(e).replace("\n", " ")
        print(f"{name}: {msg}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{name}: interrupted", file=sys.stderr)
        return 130


def main2xml(argv=None):
    """``incrdump2xml DUMP [options]``: the same as ``incrdump export``."""
    return main(["export"] + list(sys.argv[1:] if argv is None else argv),
                prog="incrdump2xml")


if __name__ == "__main__":
    sys.exit(main())
