"""Build whole dumps: MediaWiki XML into a new dump (:func:`load`), and one
dump rewritten into another with the strongest encoding (:func:`compact`).

Layer: over the Python API (:mod:`incrdump.dump`) and the XML reader
(:mod:`incrdump.xmlread` over :mod:`incrdump.sources`); the CLI's
``import`` and ``compact`` call these.

Both write a new file beside the destination under a temporary name and
rename it into place only when everything is committed, so a failure (bad
XML, a damaged input, an interrupt) leaves no half-built dump behind under
the destination's name. Work is committed in batches that never split a
page (about :data:`BATCH_BYTES` of text or :data:`BATCH_PAGES` pages), and
memory stays flat: one revision of the input at a time (the XML reader
hands revisions out as it parses).
"""
import array
import os
import tempfile
import time

from . import _extra
from . import _lowlevel as L
from .dump import Dump, SiteInfo
from .errors import ExistsError, NotFoundError
from .xmlread import XMLReader

__all__ = ["load", "compact", "BATCH_BYTES", "BATCH_PAGES", "COMPACT_LEVELS"]

#: text bytes after which a batch is committed (at the next page boundary)
BATCH_BYTES = 64 << 20
#: pages after which a batch is committed
BATCH_PAGES = 2000
#: node cache while loading: the load appends in key order and rarely
#: revisits a node, so a small cache costs no time and keeps the peak
#: memory down (corpus from .xz: 246 MB with the 64 MiB default, 201 MB
#: with 8 MiB, the same speed)
LOAD_CACHE_BYTES = 8 << 20
#: the level compact uses for each codec by default: the strongest sensible
COMPACT_LEVELS = {"zstd": 19, "xz": 9}
#: bytes of first revisions sampled to train compact's zstd dictionary
DICT_SAMPLE_BYTES = 64 << 20


class _Output:
    """A new dump file under a temporary name beside ``path``; renamed onto
    path by :meth:`finish`, removed by :meth:`discard`."""

    def __init__(self, path, overwrite):
        self.path = os.fspath(path)
        if not overwrite and os.path.exists(self.path):
            raise ExistsError(f"{self.path}: already exists (overwrite it with --force)", 10)
        directory, name = os.path.split(os.path.abspath(self.path))
        fd, self.tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".partial", dir=directory)
        os.close(fd)

    def finish(self):
        os.replace(self.tmp, self.path)

    def discard(self):
        try:
            os.unlink(self.tmp)
        except FileNotFoundError:
            pass


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
    of one wiki); any compression :func:`incrdump.sources.open_source`
    knows, ``"-"`` for standard input. The site info comes from the first
    source that has one. ``kind`` "history" keeps every revision, "current"
    only each page's latest (highest id), "stub" no text; ``articles``
    keeps only article namespaces (``dump_is_article``); ``codec``,
    ``level``, ``max_depth`` as for :class:`incrdump.Dump`.
    ``allow_control_chars``: accept the C0 control characters XML forbids
    (see :class:`incrdump.xmlread.XMLReader`). ``overwrite`` replaces an
    existing file (else ExistsError).

    ``progress``, if given, is called after each committed batch (and at
    the end) with a dict: pages, revisions, skipped (pages outside the
    articles filter), text_bytes (characters of text read), seconds.
    Returns the same dict for the whole load.
    """
    if isinstance(sources, (str, bytes, os.PathLike)):
        sources = [sources]
    out = _Output(dump_path, overwrite)
    stats = {"pages": 0, "revisions": 0, "skipped": 0, "text_bytes": 0, "seconds": 0.0}
    started = time.monotonic()
    try:
        with Dump(out.tmp, "w", kind=kind, articles=articles, codec=codec, level=level,
                  max_depth=max_depth, cache_size=LOAD_CACHE_BYTES) as dump:
            _load_into(dump, sources, kind, articles, allow_control_chars, stats, started,
                       progress, batch_bytes, batch_pages)
        out.finish()
    except BaseException:
        out.discard()
        raise
    stats["seconds"] = time.monotonic() - started
    return stats


def _load_into(dump, sources, kind, articles, allow_control_chars, stats, started, progress,
               batch_bytes, batch_pages):
    site_done = False
    top_extras = []
    txn = None
    batch_text = batch_count = 0
    current = kind == "current"
    try:
        for source in sources:
            with XMLReader(source, allow_control_chars=allow_control_chars) as reader:
                if not site_done and reader.siteinfo is not None:
                    txn = txn or dump.transaction()
                    txn.put_siteinfo(reader.siteinfo, version=reader.version, lang=reader.lang,
                                     root_attributes=reader.attributes)
                    site_done = True
                for page in reader:
                    if articles and not L.is_article(page.namespace):
                        stats["skipped"] += 1
                        continue
                    txn = txn or dump.transaction()
                    txn.put_page(page)
                    header = tuple(page.elements)
                    if current:
                        latest = None
                        for rev in page:
                            if latest is None or rev.id > latest.id:
                                latest = rev
                        revs = (latest,) if latest is not None else ()
                    else:
                        revs = page
                    ids = array.array("q")
                    for rev in revs:
                        ids.append(rev.id)
                        txn.put_revision(rev, page_id=page.id)
                        n = _text_size(rev)
                        batch_text += n
                        stats["text_bytes"] += n
                        stats["revisions"] += 1
                    page.revision_order = _extra.revision_order(ids)
                    if (page.extras or tuple(page.elements) != header
                            or page.revision_order):
                        txn.put_page(page)  # children met after the first revision
                    stats["pages"] += 1
                    batch_count += 1
                    if batch_text >= batch_bytes or batch_count >= batch_pages:
                        txn.commit()
                        txn = None
                        batch_text = batch_count = 0
                        if progress is not None:
                            stats["seconds"] = time.monotonic() - started
                            progress(dict(stats))
                top_extras.extend(reader.extras)
        if top_extras:  # top-level elements other than pages (log items...)
            txn = txn or dump.transaction()
            txn.put_siteinfo(dump.siteinfo or SiteInfo(), top_extras=top_extras)
        if txn is not None:
            txn.commit()
            txn = None
        if progress is not None:
            stats["seconds"] = time.monotonic() - started
            progress(dict(stats))
    finally:
        if txn is not None and txn.active:
            txn.abort()


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
