"""Build whole dumps: MediaWiki XML into a new dump (:func:`load`), and one
dump rewritten into another with the strongest encoding (:func:`compact`).

Layer: over the Python API (:mod:`incrdump.dump`) and the XML reader
(:mod:`incrdump.xmlread` over :mod:`incrdump.sources`); the CLI's
``import`` and ``compact`` call these.

Both write a new file beside the destination under a temporary name and
rename it into place only when everything is committed, so a failure (bad
XML, a damaged input, an interrupt) leaves no half-built dump behind under
the destination's name (nor a temporary file, unless the process is
killed outright); an existing destination is untouched until the final
rename. Work is committed in batches that never split a page (about
:data:`BATCH_BYTES` of text or :data:`BATCH_PAGES` pages), and memory
stays flat: one revision of the input at a time (the XML reader hands
revisions out as it parses).

What :func:`load` refuses, beyond what the XML reader does (each an
:class:`~incrdump.errors.XMLFormatError` naming the file, and the line
and column where the page or revision starts): a page id already read
from an earlier input file; a revision id met twice (in one page, or in
another page that was stored); in a history or current import, a slot
without its text that is not marked deleted (a stub dump: import it with
``kind="stub"``); a ``<sha1>`` (or ``<text sha1=...>``) that is neither
empty nor 31 base-36 digits, which MediaWiki never writes; a page or
revision the dump refuses (e.g. a title two pages share).
"""
import array
import os
import time

from . import _extra
from . import _lowlevel as L
from ._files import Pending
from .dump import Dump, SiteInfo
from .errors import (
    ExistsError,
    InvalidArgumentError,
    NotFoundError,
    XMLFormatError,
)
from .xmlread import XMLReader

__all__ = ["load", "compact", "BATCH_BYTES", "BATCH_PAGES", "COMPACT_LEVELS"]

#: main-slot elements that every export schema puts before <text>
_BEFORE_TEXT = frozenset(("origin", "model", "format"))
#: text bytes after which a batch is committed (at the next page boundary)
BATCH_BYTES = 64 << 20
#: pages after which a batch is committed
BATCH_PAGES = 2000
#: node cache while loading: the load appends in key order and rarely
#: revisits a node, so a small cache costs no time and keeps the peak
#: memory down (corpus from .xz: 246 MB with the 64 MiB default, 201 MB
#: with 8 MiB, the same speed)
LOAD_CACHE_BYTES = 8 << 20
#: seconds between two calls of load's progress callback
PROGRESS_SECONDS = 0.25
#: the level compact uses for each codec by default: the strongest sensible
COMPACT_LEVELS = {"zstd": 19, "xz": 9}
#: bytes of first revisions sampled to train compact's zstd dictionary
DICT_SAMPLE_BYTES = 64 << 20


class _Output(Pending):
    """A new dump file under a temporary name beside ``path``
    (:class:`incrdump._files.Pending`); renamed onto path by :meth:`finish`."""

    def __init__(self, path, overwrite):
        super().__init__(path, overwrite, "the dump")
        self.close()  # the dump layer opens it by name

    def finish(self):
        self.publish()


def _text_size(rev):
    n = 0
    for s in rev.slots.values():
        t = s.text
        if t is not None:
            n += len(t)
    return n


def load(dump_path, sources, *, kind="history", articles=False, codec="zstd", level=None,
         max_depth=None, progress=None, allow_control_chars=False, overwrite=False,
         batch_bytes=BATCH_BYTES, batch_pages=BATCH_PAGES):
    """Load MediaWiki export XML into a new dump at ``dump_path``.

    ``sources``: a path, or a list of paths read one after the other (parts
    of one wiki, e.g. the page-range split files of a large wiki); any
    compression :func:`incrdump.sources.open_source` knows, ``"-"`` for
    standard input (binary file objects work too). The site info comes
    from the first source that has one. ``kind`` "history" keeps every
    revision, "current" only each page's latest (highest id), "stub" no
    text; ``articles`` keeps only article namespaces (``dump_is_article``);
    ``codec``, ``level``, ``max_depth`` as for :class:`incrdump.Dump`.
    ``allow_control_chars``: accept the C0 control characters XML forbids
    (see :class:`incrdump.xmlread.XMLReader`). ``overwrite`` replaces an
    existing file (else ExistsError) -- only once the new dump is complete.

    Bad input (the module docstring lists what is refused) raises
    :class:`~incrdump.errors.XMLFormatError` or
    :class:`~incrdump.errors.SourceError` naming the file, and leaves
    ``dump_path`` as it was.

    ``progress``, if given, is called after each committed batch, about
    every :data:`PROGRESS_SECONDS` in between, and once at the end, with a
    dict: pages, revisions, skipped (pages outside the articles filter),
    text_bytes (characters of text read), xml_bytes (decompressed input
    read), input_bytes and input_size (the inputs' stored, compressed bytes
    read so far and their total; None when unknown: a pipe, a 7z archive),
    source (the name of the input being read), seconds. Returns the same
    dict for the whole load.
    """
    if isinstance(sources, (str, bytes, os.PathLike)) or hasattr(sources, "read"):
        sources = [sources]
    sources = list(sources)
    out = _Output(dump_path, overwrite)
    stats = {"pages": 0, "revisions": 0, "skipped": 0, "text_bytes": 0, "xml_bytes": 0,
             "input_bytes": None, "input_size": None, "source": None, "seconds": 0.0}
    started = time.monotonic()
    try:
        with Dump(out.tmp, "w", kind=kind, articles=articles, codec=codec, level=level,
                  max_depth=max_depth, cache_size=LOAD_CACHE_BYTES) as dump:
            loader = _Loader(dump, kind, articles, stats, started, progress, batch_bytes,
                             batch_pages, [_stored_size(s) for s in sources])
            loader.run(sources, allow_control_chars)
        out.finish()
    except BaseException:
        out.discard()
        raise
    stats["seconds"] = time.monotonic() - started
    return stats


def _stored_size(source):
    """The size of a regular input file, else None (stdin, a pipe, an object)."""
    if not isinstance(source, (str, bytes, os.PathLike)) or source == "-":
        return None
    try:
        st = os.stat(source)
    except OSError:
        return None
    return st.st_size if os.path.isfile(source) else None




def revision_problem(rev, kind):
    """Why an input revision (an xmlread Revision) cannot go into a dump of
    ``kind``, or None: an <origin>, <model> or <format> after <text>; a
    slot without its text that is not marked deleted (unless a stub dump).
    Shared by load and :mod:`incrdump.update`."""
    elements = rev.elements
    if "text" in elements:
        late = [n for n in elements[elements.index("text") + 1:] if n in _BEFORE_TEXT]
        if late:
            # every schema (0.3-0.11) puts them before <text>
            return f"revision {rev.id}: <{late[0]}> after <text>, where no export schema allows it"
    for role, slot in rev.slots.items():
        if kind != "stub" and slot.text is None and not slot.deleted:
            what = "a stub's text reference" if slot.stub else "no text"
            return (f"revision {rev.id}, slot {role!r}: {what}, not the text "
                    f"(a stub dump? import it as kind stub: --stub)")
    return None


def _about(what, error):
    """The dump's refusal as a message that names ``what`` once."""
    message = str(error)
    return message if message.startswith(what) else f"{what}: {message}"


class _Loader:
    """One load's state: the open batch, counters, progress, checks."""

    def __init__(self, dump, kind, articles, stats, started, progress, batch_bytes,
                 batch_pages, sizes):
        self.dump = dump
        self.kind = kind
        self.articles = articles
        self.stats = stats
        self.started = started
        self.progress = progress
        self.batch_bytes = batch_bytes
        self.batch_pages = batch_pages
        self.sizes = sizes
        self.txn = None
        self.batch_text = self.batch_count = 0
        self.next_report = started + PROGRESS_SECONDS
        self.xml_done = 0  # decompressed bytes of the inputs already read
        self.reader = None
        self.index = 0  # of the input being read

    def run(self, sources, allow_control_chars):
        site_done = False
        top_extras = []
        style = None  # the XML writer's habits, from the input with the site info
        try:
            for self.index, source in enumerate(sources):
                with XMLReader(source, allow_control_chars=allow_control_chars) as reader:
                    self.reader = reader
                    self.stats["source"] = reader.name
                    site_here = not site_done and reader.siteinfo is not None
                    if site_here:
                        self.txn = self.txn or self.dump.transaction()
                        self.txn.put_siteinfo(reader.siteinfo, version=reader.version,
                                              lang=reader.lang, root_attributes=reader.attributes)
                        site_done = True
                    for page in reader:
                        self.page(page)
                    if site_here:
                        style = reader.style
                    top_extras.extend(reader.extras)
                    self.xml_done += reader.bytes_read
                    self.reader = None
            if top_extras or style:  # top-level elements other than pages (log items...)
                self.txn = self.txn or self.dump.transaction()
                self.txn.put_siteinfo(self.dump.siteinfo or SiteInfo(),
                                      top_extras=top_extras or None, style=style or None)
            if self.txn is not None:
                self.txn.commit()
                self.txn = None
            self.report()
        finally:
            if self.txn is not None and self.txn.active:
                self.txn.abort()

    # -- one page -----------------------------------------------------------------
    def page(self, page):
        stats = self.stats
        if self.articles and not L.is_article(page.namespace):
            stats["skipped"] += 1
            return
        dump = self.dump
        if self.index and dump.get_page(page.id) is not None:
            self.fail(page, f"duplicate page id {page.id}: already read from an earlier input")
        txn = self.txn = self.txn or dump.transaction()
        self.put_page(page)
        header = tuple(page.elements)
        current = self.kind == "current"
        ids = array.array("q")
        latest = None
        for rev in page:
            self.check_revision(page, rev, ids)
            ids.append(rev.id)
            if current:
                if latest is None or rev.id > latest.id:
                    latest = rev
            else:
                self.put_revision(page, rev)
            if time.monotonic() >= self.next_report:
                self.report()
        if latest is not None:
            self.put_revision(page, latest)
            ids = array.array("q", (latest.id,))
        page.revision_order = _extra.revision_order(ids)
        if page.extras or tuple(page.elements) != header or page.revision_order:
            self.put_page(page)  # children met after the first revision
        stats["pages"] += 1
        self.batch_count += 1
        if self.batch_text >= self.batch_bytes or self.batch_count >= self.batch_pages:
            txn.commit()
            self.txn = None
            self.batch_text = self.batch_count = 0
            self.report()

    def check_revision(self, page, rev, ids):
        if ids and rev.id <= ids[-1]:
            # out of id order (kept, see _extra): a repeat of an earlier id?
            other = None
            if self.kind != "current":
                other = self.dump.get_revision(rev.id)
            if rev.id == ids[-1] or other is not None:
                where = page.id if other is None else other.page_id
                self.fail(rev, f"duplicate revision id {rev.id}: already in page {where}")
        problem = revision_problem(rev, self.kind)
        if problem:
            self.fail(rev, problem)

    def put_page(self, page):
        try:
            self.txn.put_page(page)
        except (InvalidArgumentError, ExistsError) as e:  # the dump refuses it
            self.fail(page, _about(f"page {page.id}", e))

    def put_revision(self, page, rev):
        try:
            self.txn.put_revision(rev, page_id=page.id)
        except (InvalidArgumentError, ExistsError) as e:  # the dump refuses it
            other = self.dump.get_revision(rev.id)
            if other is not None and other.page_id != page.id:
                self.fail(rev, f"duplicate revision id {rev.id}: already in page "
                               f"{other.page_id}")
            self.fail(rev, _about(f"revision {rev.id}", e))
        n = _text_size(rev)
        self.batch_text += n
        self.stats["text_bytes"] += n
        self.stats["revisions"] += 1

    def fail(self, obj, reason):
        """Raise an XMLFormatError at the start of obj (a Page or Revision)."""
        raise XMLFormatError(reason, self.reader.name, getattr(obj, "line", None),
                             getattr(obj, "column", None))

    # -- progress -----------------------------------------------------------------
    def report(self):
        """Bring the progress fields of the stats up to date; pass them on."""
        stats = self.stats
        now = time.monotonic()
        self.next_report = now + PROGRESS_SECONDS
        stats["seconds"] = now - self.started
        reader = self.reader
        stats["xml_bytes"] = self.xml_done + (reader.bytes_read if reader is not None else 0)
        total = None if None in self.sizes else sum(self.sizes)
        done = sum(self.sizes[:self.index]) if total is not None else None
        if reader is None:
            done = total
        elif done is not None:
            position, _ = reader.input_position()
            done = None if position is None else done + position
        stats["input_bytes"] = done
        stats["input_size"] = total if done is not None else None
        if self.progress is not None:
            self.progress(dict(stats))


# ---- compact ------------------------------------------------------------------------


def _train_dictionary(dh, sample_bytes, dict_size):
    """A zstd dictionary trained on the dump's first revisions (main
    slots), or None when there is too little text to train on."""
    import zstandard

    samples = []
    total = 0
    cur = dh.pages()
    try:
        while total < sample_bytes:
            page = cur.next()
            if page is None:
                break
            revs = dh.revisions(page.id)
            try:
                rev = revs.next()
                if rev is not None and rev.slots and rev.slots[0].flags & L.SLOT_HAS_TEXT:
                    text = revs.text(0)
                    if text:
                        samples.append(text)
                        total += len(text)
            finally:
                revs.close()
    finally:
        cur.close()
    if len(samples) < 8 or total < 64 * 1024:
        return None
    if dict_size is None:
        dict_size = max(32 << 10, min(1 << 20, total // 100))
    try:
        return zstandard.train_dictionary(dict_size, samples).as_bytes()
    except zstandard.ZstdError:
        return None


def compact(src, dst, *, codec="zstd", level=None, max_depth=None, dictionary=True,
            dict_size=None, packed=True, progress=None, overwrite=False, batch_bytes=BATCH_BYTES,
            batch_pages=BATCH_PAGES):
    """Rewrite the dump ``src`` into a new dump ``dst`` with the strongest
    encoding: pages in id order, each page's revisions together in id
    order, ``codec`` ("zstd" or "xz") at ``level`` (default
    :data:`COMPACT_LEVELS`). zstd is the default because it measured
    smallest (on the benchmark corpus, zstd 19 with a dictionary: 11.4 MB;
    xz 9: 12.8 MB) and decodes faster. With zstd, a dictionary trained on the first
    revisions (``zstandard.train_dictionary``; ``dict_size`` bytes, default
    about 1% of the sample) is stored before any text, unless
    ``dictionary`` is False. ``packed`` (default) stores each page's
    consecutive texts in shared frames (packs, docs/format.md "Text
    storage"): smaller, for dumps that are read far more than updated. Kind, articles and (unless given) max_depth
    are the source's. Records are copied as they are (fidelity details
    included). Returns a dict: pages, revisions, texts, size_before,
    size_after, dictionary_bytes, seconds.
    """
    started = time.monotonic()
    if level is None:
        level = COMPACT_LEVELS.get(codec)
    out = None
    with Dump(src) as source:
        config = source._handle().info()
        if max_depth is None:
            max_depth = config["max_depth"] or None
        out = _Output(dst, overwrite)
        stats = {"pages": 0, "revisions": 0, "texts": 0, "dictionary_bytes": 0,
                 "size_before": os.path.getsize(source.path)}
        try:
            with Dump(out.tmp, "w", kind=source.kind, articles=source.articles, codec=codec,
                      level=level, max_depth=max_depth, packed=packed) as target:
                with source._lock, target._lock:
                    _copy(source._handle(), target, codec, dictionary, dict_size, stats,
                          progress, batch_bytes, batch_pages, started)
            out.finish()
        except BaseException:
            out.discard()
            raise
    stats["size_after"] = os.path.getsize(os.fspath(dst))
    stats["seconds"] = time.monotonic() - started
    return stats


def _copy(sh, target, codec, dictionary, dict_size, stats, progress, batch_bytes, batch_pages,
          started):
    th = target._handle()
    th.begin()
    try:
        try:
            th.put_siteinfo(sh.get_siteinfo())  # as it is: its extra holds the profile
        except NotFoundError:
            pass
        if codec == "zstd" and dictionary and target.kind != "stub":
            d = _train_dictionary(sh, DICT_SAMPLE_BYTES, dict_size)
            if d:
                th.set_dictionary(d)
                stats["dictionary_bytes"] = len(d)
        batch_text = batch_count = 0
        pages = sh.pages()
        try:
            while True:
                page = pages.next()
                if page is None:
                    break
                th.put_page(page)
                revs = sh.revisions(page.id)
                try:
                    while True:
                        rev = revs.next()
                        if rev is None:
                            break
                        slots = []
                        for i, s in enumerate(rev.slots):
                            text = None
                            if s.flags & L.SLOT_HAS_TEXT:
                                text = revs.text(i)
                                batch_text += len(text)
                                stats["texts"] += 1
                            slots.append(s._replace(text=text))
                        th.put_revision(rev._replace(slots=slots))
                        stats["revisions"] += 1
                finally:
                    revs.close()
                stats["pages"] += 1
                batch_count += 1
                if batch_text >= batch_bytes or batch_count >= batch_pages:
                    th.commit()
                    th.begin()
                    batch_text = batch_count = 0
                    if progress is not None:
                        stats["seconds"] = time.monotonic() - started
                        progress(dict(stats))
        finally:
            pages.close()
        th.commit()
    except BaseException:
        try:
            th.abort()
        except Exception:
            pass
        raise
    target._load_site()
