"""Apply change sets to an existing dump in place: :func:`update`.

Layer: xml / sources / diff (DESIGN.md §2), over the Python API
(:mod:`incrdump.dump`), the XML reader and :mod:`incrdump.changes` (the
operations and our change-set files); the CLI's ``update`` calls
:func:`update`, and :mod:`incrdump.diff` may apply its operations with
:class:`Applier`.

A change set is any mix of MediaWiki export XML (adds/changes files such
as Wikimedia's daily ``pages-meta-hist-incr``, or any export: pages with
revisions, compressed or not) and change-set files of ours (``.ichanges``
/ ``.jsonl``, docs/changes.md). All of them are applied in the order given
inside ONE transaction: when anything fails -- malformed input, an
operation the dump refuses, an interrupt, a crash -- the dump stays at its
previous commit, byte for byte (a killed process leaves the previous
commit: the store is copy-on-write).

What XML means here: a ``<page>`` puts the page record (a title or
namespace other than the stored one is a move; a page not in the dump is
added -- which is also how an undeletion arrives); each ``<revision>``
inserts a new revision or replaces the stored one with that id; a revision
id stored under another page moves to this one (a history merge seen in a
full dump). The dump's site info is kept (the XML's is not read).
A history dump appends, a current dump keeps each page's latest revision
(an older one in the input is passed over), a stub dump stores no text;
an articles dump passes over pages outside its namespaces (and deletes a
page that moved out of them).

Titles: at the end of the change set no two pages may share a title, but
on the way they may: when a page takes the title another page holds (a
swap of two titles, a move onto a page that a later operation moves away
or deletes), the holder is parked under a private title until the change
set moves or deletes it; one still parked at the end is an error naming
the operation that displaced it.
"""
import os
import time

from . import _lowlevel as L
from ._extra import contributor_elements, revision_order
from .changes import (
    ChangeSetError,
    DeletePage,
    DeleteRevision,
    HideRevision,
    MergeRevisions,
    MovePage,
    PutPage,
    PutRevision,
    is_change_set,
    read_changes,
)
from .dump import Contributor, Dump
from .errors import (
    ExistsError,
    IncrdumpError,
    InvalidArgumentError,
    NotFoundError,
    SourceNotFoundError,
    XMLFormatError,
)
from .load import PROGRESS_SECONDS, _about, _stored_size, _text_size, revision_problem
from .xmlread import XMLReader
from .xmlwrite import document_order

__all__ = ["update", "Applier", "PARKED_PREFIX"]

#: titles of pages parked while a change set moves titles around (U+FFFE
#: is a noncharacter: no wiki title holds one)
PARKED_PREFIX = "\ufffeincrdump-parked-"

_DELETED = (("deleted", "deleted"),)


def _insert_element(elements, name, before):
    """elements (a tuple of child names) with name added in front of the
    first of ``before`` present (at the end if none is)."""
    if elements is None or name in elements:
        return elements
    elements = tuple(elements)
    for i, n in enumerate(elements):
        if n in before:
            return elements[:i] + (name,) + elements[i:]
    return elements + (name,)


class Applier:
    """Applies change-set operations to ``dump`` inside the open transaction
    ``txn``, in order: :meth:`apply` for each, then :meth:`finish` (which
    refuses a page left without its title) before the caller commits.

    ``observer``, if given, is called as ``observer.op(op, dump)`` before
    each operation is applied (the dump as it is before it); a PutRevision
    that moves a revision from another page (``implicit_merge``, XML) is
    also reported as a MergeRevisions of that one revision, right before
    the move. Refusals raise the error ``fail(reason, op)`` raises (by
    default a :class:`~incrdump.changes.ChangeSetError` with the op's
    ``line``); the transaction must then be aborted. Counters are kept in ``stats``:
    pages, revisions (put), deleted_pages, deleted_revisions, moves,
    hidden, merged (revisions moved between pages), skipped (operations a
    current or articles dump has no use for), text_bytes.
    """

    def __init__(self, dump, txn, *, observer=None, fail=None):
        self.dump = dump
        self.txn = txn
        self.observer = observer
        self.kind = dump.kind
        self.articles = dump.articles
        self.fail = fail or self._fail
        self.parked = {}  # page id -> (reason for the error, op, fail)
        self.put_ids = set()  # revision ids put by this change set
        #: a PutRevision whose id is stored under another page moves it
        #: there (XML: a history merge seen in a full dump); False: refused
        self.implicit_merge = False
        self.stats = {"pages": 0, "revisions": 0, "deleted_pages": 0, "deleted_revisions": 0,
                      "moves": 0, "hidden": 0, "merged": 0, "skipped": 0, "text_bytes": 0}

    @staticmethod
    def _fail(reason, op):
        raise ChangeSetError(reason, None, getattr(op, "line", None))

    def apply(self, op):
        """Apply one operation (observer first)."""
        if self.observer is not None:
            self.observer.op(op, self.dump)
        handler = self._HANDLERS.get(type(op))
        if handler is None:
            raise InvalidArgumentError(f"not a change-set operation: {op!r}")
        handler(self, op)

    def finish(self):
        """Refuse the change set if a page is still parked (it lost its
        title to another page and was neither moved nor deleted)."""
        for pid, (reason, op, fail) in self.parked.items():
            fail(reason, op)

    # -- helpers ---------------------------------------------------------------------
    def _missing(self, op, what, partial):
        """A page or revision the op names is not in the dump: passed over
        where the dump's kind explains it (``partial``), else refused."""
        if partial:
            self.stats["skipped"] += 1
            return
        self.fail(f"{what} is not in the dump", op)

    def _outside(self, namespace):
        return self.articles and not L.is_article(namespace)

    def _put_page(self, page, op):
        """Put a page record, parking a page that holds its title."""
        txn = self.txn
        try:
            txn.put_page(page)
        except ExistsError:
            owner = self._title_owner(page)
            if owner is None or owner.id == page.id:
                raise
            old_title = owner.title
            owner.title = f"{PARKED_PREFIX}{owner.id}"
            try:
                txn.put_page(owner)
                txn.put_page(page)
            except (InvalidArgumentError, ExistsError) as e:
                self.fail(f"page {page.id}: {e}", op)
            self.parked[owner.id] = (
                f"page {page.id} took the title {old_title!r} of page {owner.id}, which "
                f"was neither moved nor deleted afterwards", op, self.fail)
        except InvalidArgumentError as e:
            self.fail(_about(f"page {page.id}", e), op)
        self.parked.pop(page.id, None)

    def _title_owner(self, page):
        dump = self.dump
        ns = page.namespace if page.namespace is not None else 0
        prefix = dump._title_prefix(page.title, ns)
        name = page.title.encode("utf-8", "surrogateescape")[prefix:]
        with dump._lock:
            try:
                rec = dump._handle().get_page_by_title(ns, name)
            except NotFoundError:
                return None
        return dump._page_obj(rec)

    def _delete_page(self, page_id):
        self.txn.delete_page(page_id)
        self.parked.pop(page_id, None)
        self.stats["deleted_pages"] += 1

    # -- the operations --------------------------------------------------------------
    def _op_put_page(self, op):
        page = op.page
        if self._outside(page.namespace):
            if self.dump.get_page(page.id) is not None:
                self._delete_page(page.id)  # moved out of the dump's namespaces
            else:
                self.stats["skipped"] += 1
            return
        self._put_page(page, op)
        self.stats["pages"] += 1

    def _op_put_revision(self, op):
        rev, page_id = op.rev, op.page_id
        txn = self.txn
        try:
            txn.put_revision(rev, page_id=page_id)
        except NotFoundError:
            return self._missing(op, f"page {page_id} (of revision {rev.id})", self.articles)
        except InvalidArgumentError as e:
            other = self.dump.get_revision(rev.id)
            if other is None or other.page_id == page_id:
                self.fail(_about(f"revision {rev.id}", e), op)
            if not self.implicit_merge:
                self.fail(f"revision {rev.id} belongs to page {other.page_id}, not {page_id} "
                          f"(a history merge is a merge_revisions)", op)
            if rev.id in self.put_ids:
                self.fail(f"duplicate revision id {rev.id}: already in page {other.page_id}", op)
            # stored under another page: the wiki merged it into this one;
            # an observer is told so before anything changes
            if self.observer is not None:
                self.observer.op(MergeRevisions((rev.id,), page_id, line=op.line), self.dump)
            txn.delete_revision(rev.id)
            try:
                txn.put_revision(rev, page_id=page_id)
            except InvalidArgumentError as e2:
                self.fail(_about(f"revision {rev.id}", e2), op)
            self.stats["merged"] += 1
        self.put_ids.add(rev.id)
        self.stats["revisions"] += 1
        self.stats["text_bytes"] += _text_size(rev)

    def _op_delete_page(self, op):
        try:
            self._delete_page(op.page_id)
        except NotFoundError:
            self._missing(op, f"page {op.page_id}", self.articles)

    def _op_delete_revision(self, op):
        try:
            self.txn.delete_revision(op.rev_id)
        except NotFoundError:
            return self._missing(op, f"revision {op.rev_id}",
                                 self.articles or self.kind == "current")
        self.stats["deleted_revisions"] += 1

    def _op_move_page(self, op):
        page = self.dump.get_page(op.page_id)
        if page is None:
            return self._missing(op, f"page {op.page_id}", self.articles)
        if self._outside(op.namespace):
            self._delete_page(op.page_id)
            return
        page.title, page.namespace = op.title, op.namespace
        self._put_page(page, op)
        self.stats["moves"] += 1

    def _op_hide_revision(self, op):
        rev = self.dump.get_revision(op.rev_id)
        if rev is None:
            return self._missing(op, f"revision {op.rev_id}",
                                 self.articles or self.kind == "current")
        text, comment, user = rev.deleted
        if op.text and not text:
            text = True
            for slot in rev.slots.values():
                slot.text = None  # removed from the dump
                slot.deleted = True
                slot.text_attributes = None  # derived again: bytes, sha1, deleted
            rev.sha1 = ""  # MediaWiki writes <sha1/> for a hidden text
            rev.elements = _insert_element(rev.elements, "sha1", ())
        if op.comment and not comment:
            comment = True
            rev.comment = None
            rev.elements = _insert_element(rev.elements, "comment",
                                           ("origin", "model", "format", "text", "content",
                                            "sha1"))
            rev.attributes = dict(rev.attributes or {}, comment=_DELETED)
        if op.user and not user:
            user = True
            rev.elements = _insert_element(rev.elements, "contributor",
                                           ("minor", "comment", "origin", "model", "format",
                                            "text", "content", "sha1"))
            rev.user = Contributor(deleted=True,
                                   elements=contributor_elements(None, None, None, True),
                                   attributes={"contributor": _DELETED}, extras=[])
        rev.deleted = type(rev.deleted)(text, comment, user)
        if op.suppressed:
            rev.suppressed = True
        self.txn.put_revision(rev, page_id=rev.page_id)
        self.stats["hidden"] += 1

    def _op_merge_revisions(self, op):
        dump, txn = self.dump, self.txn
        if dump.get_page(op.into_page_id) is None:
            return self._missing(op, f"page {op.into_page_id}", self.articles)
        revs = []
        for rid in sorted(set(op.rev_ids)):
            rev = dump.get_revision(rid)
            if rev is None:
                self._missing(op, f"revision {rid}", self.articles or self.kind == "current")
                continue
            if rev.page_id == op.into_page_id:
                continue
            rev._materialize()  # the texts, before the revision goes
            revs.append(rev)
        for rev in revs:
            txn.delete_revision(rev.id)
        for rev in revs:
            txn.put_revision(rev, page_id=op.into_page_id)
            self.stats["merged"] += 1

    _HANDLERS = {
        PutPage: _op_put_page,
        PutRevision: _op_put_revision,
        DeletePage: _op_delete_page,
        DeleteRevision: _op_delete_revision,
        MovePage: _op_move_page,
        HideRevision: _op_hide_revision,
        MergeRevisions: _op_merge_revisions,
    }


class _Update:
    """One update's sources: XML read into operations, change sets read,
    progress reported."""

    def __init__(self, dump, applier, stats, started, progress, sizes, allow_control_chars):
        self.dump = dump
        self.applier = applier
        self.stats = stats
        self.started = started
        self.progress = progress
        self.sizes = sizes
        self.allow_control_chars = allow_control_chars
        self.next_report = started + PROGRESS_SECONDS
        self.index = 0
        self.reader = None
        self.xml_done = 0

    def run(self, sources):
        for self.index, source in enumerate(sources):
            self.stats["source"] = os.fsdecode(source) if isinstance(
                source, (str, bytes, os.PathLike)) else getattr(source, "name", "<stream>")
            if is_change_set(source):
                self.change_set(source)
            else:
                self.xml(source)
        self.reader = None
        self.report()

    def tick(self):
        if time.monotonic() >= self.next_report:
            self.report()

    # -- our change sets ---------------------------------------------------------------
    def change_set(self, source):
        name = os.fsdecode(source)

        def fail(reason, op):
            raise ChangeSetError(reason, name, getattr(op, "line", None))

        self.applier.fail = fail
        self.applier.implicit_merge = False
        for op in read_changes(source):
            try:
                self.applier.apply(op)
            except (NotFoundError, ExistsError, InvalidArgumentError) as e:
                if isinstance(e, ChangeSetError):
                    raise
                fail(str(e), op)
            self.stats["ops"] += 1
            self.tick()

    # -- export XML --------------------------------------------------------------------
    def xml(self, source):
        with XMLReader(source, allow_control_chars=self.allow_control_chars) as reader:
            self.reader = reader
            name = reader.name

            def fail(reason, obj):
                if isinstance(obj, PutRevision):
                    obj = obj.rev
                elif isinstance(obj, PutPage):
                    obj = obj.page
                raise XMLFormatError(reason, name, getattr(obj, "line", None),
                                     getattr(obj, "column", None))

            self.applier.fail = fail
            self.applier.implicit_merge = True
            for page in reader:
                self.page(page, fail)
            self.xml_done += reader.bytes_read
            self.reader = None

    def page(self, page, fail):
        applier, dump = self.applier, self.dump
        current = dump.kind == "current"
        if applier._outside(page.namespace):
            applier.apply(PutPage(page))  # deletes a page that moved out
            self.stats["skipped_pages"] += 1
            return
        old = dump.get_page(page.id)
        stored_order = old.revision_order if old is not None else ()
        page.revision_order = stored_order
        try:
            applier.apply(PutPage(page))
        except (NotFoundError, ExistsError, InvalidArgumentError) as e:
            fail(_about(f"page {page.id}", e), page)
        header = tuple(page.elements)
        ids = []
        seen = set()
        added = set()  # ids the page did not hold before: for the document order
        latest = None
        for rev in page:
            problem = revision_problem(rev, dump.kind)
            if problem:
                fail(problem, rev)
            if rev.id in seen:
                fail(f"duplicate revision id {rev.id}: already in page {page.id}", rev)
            seen.add(rev.id)
            ids.append(rev.id)
            if old is not None and not current and not self.held(page.id, rev.id):
                added.add(rev.id)
            if current:
                if latest is None or rev.id > latest.id:
                    latest = rev
            else:
                self.revision(page, rev, fail)
            self.tick()
        if latest is not None:
            self.revision(page, latest, fail)
        order = () if current else self.order(old, stored_order, ids, added)
        if page.extras or tuple(page.elements) != header or order != stored_order:
            page.revision_order = order
            applier.apply(PutPage(page))  # children met after the first revision
        self.stats["xml_pages"] += 1

    def revision(self, page, rev, fail):
        try:
            self.applier.apply(PutRevision(rev, page.id))
        except (NotFoundError, ExistsError, InvalidArgumentError) as e:
            fail(_about(f"revision {rev.id}", e), rev)

    def held(self, page_id, rev_id):
        """True when the page holds the revision (before it is put)."""
        dump = self.dump
        with dump._lock:
            try:
                return dump._handle().get_revision(rev_id).page_id == page_id
            except NotFoundError:
                return False

    def order(self, old, stored_order, ids, added):
        """The page's document order pairs after this update: unchanged
        while everything is in id order; else the stored document order
        (replaced revisions where they were) with the added ids after it,
        in the input's order."""
        if not stored_order and all(a < b for a, b in zip(ids, ids[1:])):
            return ()
        if old is None:
            return revision_order(ids)
        kept = [r.id for r in document_order(self.dump, self.dump.page(old.id))
                if r.id not in added]
        return revision_order(kept + [i for i in ids if i in added])

    # -- progress ----------------------------------------------------------------------
    def report(self):
        stats = self.stats
        now = time.monotonic()
        self.next_report = now + PROGRESS_SECONDS
        stats["seconds"] = now - self.started
        stats.update(self.applier.stats)
        reader = self.reader
        stats["xml_bytes"] = self.xml_done + (reader.bytes_read if reader is not None else 0)
        total = None if None in self.sizes else sum(self.sizes)
        done = None
        if total is not None:
            done = sum(self.sizes[:self.index])
            if reader is not None:
                position, _ = reader.input_position()
                done = None if position is None else done + position
            elif self.index < len(self.sizes) and stats.get("source") is not None:
                done += self.sizes[self.index]
        stats["input_bytes"] = done
        stats["input_size"] = total if done is not None else None
        if self.progress is not None:
            self.progress(dict(stats))


def update(dump_path, sources, *, progress=None, observer=None, allow_control_chars=False):
    """Apply change sets to the dump at ``dump_path`` in one transaction.

    ``sources``: a path or a list of paths, applied in order -- export XML
    (any compression :func:`incrdump.sources.open_source` knows; ``"-"``
    for standard input) or, for names ending in ``.ichanges`` or
    ``.jsonl``, change-set files of ours (docs/changes.md). The module
    docstring says what each means.

    Bad input raises :class:`~incrdump.errors.XMLFormatError` (XML: file,
    line and column), :class:`~incrdump.changes.ChangeSetError` (change
    sets: file and line; also an operation the dump refuses) or
    :class:`~incrdump.errors.SourceError`, and the dump is left as it was.
    A missing dump is :class:`~incrdump.errors.NotFoundError` (nothing is
    created).

    ``observer``, if given, is called as ``observer.op(op, dump)`` for
    every operation (:mod:`incrdump.changes`) before it is applied, the
    dump as it was before it; ``observer.begin(dump)`` (if it has one)
    once the transaction is open; ``observer.commit(dump)`` right before
    the commit, once the sequence number (``dump.sequence``) has been
    advanced by one. An exception from the observer aborts the update.

    ``progress``, if given, is called about every
    :data:`~incrdump.load.PROGRESS_SECONDS` and at the end with a dict:
    pages and revisions put, deleted_pages, deleted_revisions, moves,
    hidden, merged, skipped, ops (operations read from change sets),
    xml_pages, skipped_pages, text_bytes, xml_bytes, input_bytes,
    input_size, source, seconds. Returns that dict for the whole update,
    with generation and sequence after the commit.
    """
    if isinstance(sources, (str, bytes, os.PathLike)) or hasattr(sources, "read"):
        sources = [sources]
    sources = list(sources)
    path = os.fspath(dump_path)
    if not os.path.isfile(path):
        raise NotFoundError(f"{path}: no such dump", 1)
    for s in sources:
        if isinstance(s, (str, bytes, os.PathLike)) and os.fsdecode(s) != "-" \
                and not os.path.exists(s):
            raise SourceNotFoundError(f"{os.fsdecode(s)}: no such file", os.fsdecode(s), 2)
    started = time.monotonic()
    stats = {"ops": 0, "xml_pages": 0, "skipped_pages": 0, "xml_bytes": 0,
             "input_bytes": None, "input_size": None, "source": None, "seconds": 0.0}
    with Dump(path, "w") as dump:
        txn = dump.transaction()
        try:
            applier = Applier(dump, txn, observer=observer)
            stats.update(applier.stats)
            if observer is not None and hasattr(observer, "begin"):
                observer.begin(dump)
            run = _Update(dump, applier, stats, started, progress,
                          [_stored_size(s) for s in sources], allow_control_chars)
            run.run(sources)
            applier.finish()
            txn.set_sequence(dump.sequence + 1)
            if observer is not None:
                observer.commit(dump)
            txn.commit()
        except BaseException:
            if txn.active:
                try:
                    txn.abort()
                except IncrdumpError:
                    pass
            raise
        info = dump.info()
    stats["generation"] = info["generation"]
    stats["sequence"] = info.get("sequence")
    stats["seconds"] = time.monotonic() - started
    return stats
