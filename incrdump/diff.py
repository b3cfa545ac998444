"""Diff dumps (``.idiff``): the changes that take one dump from one
sequence number to the next, written by ``incrdump diff OLD NEW`` or as a
by-product of ``incrdump update --diff``, and applied by ``incrdump apply``.

Layer: xml / sources / diff (DESIGN.md §2). Reads and writes records
through ``_lowlevel`` (records as tuples, so a diff carries them exactly,
fidelity details included) and uses :class:`incrdump.dump.Dump` only where
an update hands one over (:class:`DiffRecorder`). The bytes of the file
are :mod:`incrdump._diffio`'s; docs/diff.md is the normative format.

A diff names the dump it applies to -- its uuid and ``from_sequence`` --
and the ``to_sequence`` it leaves; every record is length-prefixed and
checked with CRC-32, the body is one zstd frame with its own length and
CRC in the header, and :func:`apply` verifies the whole file before it
changes anything, then applies every record in one transaction. Revision
text is zstd-compressed with a text the receiver already has as a prefix:
the same revision's former text, the page's previous text in the diff,
the parent revision, or the page's latest earlier revision in the base --
whether or not the diff removes it: the receiver reads bases from a
snapshot of the dump as it was before the transaction.

    write_diff("old.idump", "new.idump", "changes.idiff")
    apply("copy.idump", "changes.idiff")     # copy.idump now equals new.idump
"""
import os
import struct
import uuid
import zlib

import zstandard

from . import _lowlevel as L
from ._diffio import (
    DEFAULT_LEVEL,
    HEADER_SIZE,
    MAGIC,
    R_DELETE_PAGE,
    R_DELETE_REVISION,
    R_PUT_PAGE,
    R_PUT_REVISION,
    R_SITEINFO,
    T_DELTA_BASE,
    T_DELTA_PREV,
    T_SAME_BASE,
    T_STORED,
    VERSION,
    AlreadyAppliedError,
    CorruptDiffError,
    DiffError,
    DiffHeader,
    WrongBaseError,
    _Body,
    _DiffFile,
    _enc_page,
    _enc_rev_head,
    _enc_site,
    _enc_slot,
    _open_checked,
    _parse,
    _RECORD_NAMES,
    _sv,
    _uv,
    _verify_body,
    read_header,
    records,
    verify,
)
from .errors import DumpIOError, IncrdumpError, NotFoundError

__all__ = [
    "write_diff", "apply", "verify", "read_header", "records", "DiffHeader", "DiffRecorder",
    "DiffError", "CorruptDiffError", "WrongBaseError", "AlreadyAppliedError",
    "MAGIC", "VERSION",
]

_INT64_MIN = -(1 << 63)


def _key(rec):
    """The title key of a page record: (namespace, title without prefix)."""
    return rec.ns, rec.title[rec.title_prefix:]


def _text_roles(rec):
    """{role: slot index} of the slots of rec with a stored text."""
    return {s.role: i for i, s in enumerate(rec.slots) if s.flags & L.SLOT_HAS_TEXT}


def _get_rev(dh, rev_id):
    try:
        return dh.get_revision(rev_id)
    except NotFoundError:
        return None


def _get_page(dh, page_id):
    try:
        return dh.get_page(page_id)
    except NotFoundError:
        return None


def _get_site(dh):
    try:
        return dh.get_siteinfo()
    except NotFoundError:
        return None


def _revisions(dh, page_id):
    """The RevRecs of a page in id order (empty if the page is missing)."""
    try:
        cur = dh.revisions(page_id)
    except NotFoundError:
        return []
    out = []
    try:
        while True:
            rec = cur.next()
            if rec is None:
                return out
            out.append(rec)
    finally:
        cur.close()


class _Planner:
    """Compares the base and the new state page by page and writes the
    records that take one to the other (docs/diff.md "Order of records").

    base and new are DumpHandles (new may be a writer's view inside its
    transaction). Pass 1 (:meth:`compare_page`) keeps only ids; pass 2
    (:meth:`write`) reads records and texts again and encodes them."""

    def __init__(self, base, new, level):
        self.base, self.new, self.level = base, new, level
        self.delete_pages = []
        self.delete_revs = []
        self.put_pages = {}          # page id -> new PageRec
        self.put_revs = {}           # page id -> [rev ids]
        self.base_revs = {}          # page id -> [(rev id, {role: slot})] of the base
        self.stats = {"pages_deleted": 0, "pages_put": 0, "revisions_deleted": 0,
                      "revisions_put": 0, "texts": 0, "text_bytes": 0, "frame_bytes": 0,
                      "same": 0, "delta": 0, "stored": 0}

    def compare_page(self, page_id, texts_for):
        """Plan one page. texts_for(rev_id) says whether texts of a revision
        whose records are equal on both sides must be compared too."""
        old_page = _get_page(self.base, page_id)
        new_page = _get_page(self.new, page_id)
        if old_page is None and new_page is None:
            return
        if new_page is None:
            self.delete_pages.append(page_id)
            return
        if old_page != new_page:
            self.put_pages[page_id] = new_page
        old = _revisions(self.base, page_id) if old_page is not None else []
        new = _revisions(self.new, page_id)
        by_id = {rec.id: rec for rec in old}
        puts = []
        new_ids = set()
        for rec in new:
            new_ids.add(rec.id)
            was = by_id.get(rec.id)
            if was is None or was != rec:
                puts.append(rec.id)
            elif texts_for(rec.id) and any(
                    self._text(self.base, page_id, rec.id, i)
                    != self._text(self.new, page_id, rec.id, i)
                    for i, s in enumerate(rec.slots) if s.flags & L.SLOT_HAS_TEXT):
                puts.append(rec.id)
        self.delete_revs.extend(rid for rid in by_id if rid not in new_ids)
        if puts:
            self.put_revs[page_id] = puts
            self.base_revs[page_id] = [(rec.id, _text_roles(rec)) for rec in old]

    @staticmethod
    def _text(dh, page_id, rev_id, slot):
        try:
            return dh.get_text(page_id, rev_id, slot)
        except NotFoundError:
            return None

    # -- pass 2 ----------------------------------------------------------------------------
    def write(self, out):
        site = _get_site(self.new)
        if site is not None and site != _get_site(self.base):
            out.record(R_SITEINFO, _enc_site(site))
        freed = {}
        for pid in sorted(self.delete_pages):
            rec = _get_page(self.base, pid)
            freed[_key(rec)] = None
            payload = bytearray()
            _sv(payload, pid)
            out.record(R_DELETE_PAGE, payload)
        deleted_pages = set(self.delete_pages)
        for rid in sorted(self.delete_revs):
            payload = bytearray()
            _sv(payload, rid)
            out.record(R_DELETE_REVISION, payload)
        self._write_pages(out, freed, deleted_pages)
        for pid in sorted(self.put_revs):
            self._write_revisions(out, pid)
        s = self.stats
        s["pages_deleted"] = len(self.delete_pages)
        s["pages_put"] = len(self.put_pages)
        s["revisions_deleted"] = len(self.delete_revs)
        s["revisions_put"] = sum(len(v) for v in self.put_revs.values())

    def _write_pages(self, out, owners, deleted):
        """PUT_PAGE records in an order in which no title is ever held by
        two pages; a cycle of moves (a swap) parks one page under a title
        no wiki page can have first."""
        pending = dict(self.put_pages)
        where = {}

        def owner(key):
            if key in owners:
                return owners[key]
            try:
                rec = self.base.get_page_by_title(key[0], key[1])
            except NotFoundError:
                return None
            return None if rec.id in deleted else rec.id

        def put(rec):
            pid = rec.id
            old = where.get(pid)
            if old is None and pid not in where:
                base_rec = _get_page(self.base, pid)
                old = _key(base_rec) if base_rec is not None else None
            if old is not None and old != _key(rec):
                owners[old] = None
            owners[_key(rec)] = pid
            where[pid] = _key(rec)
            out.record(R_PUT_PAGE, _enc_page(rec))

        while pending:
            progressed = False
            for pid in sorted(pending):
                rec = pending[pid]
                holder = owner(_key(rec))
                if holder is None or holder == pid:
                    put(rec)
                    del pending[pid]
                    progressed = True
            if not progressed:
                pid = min(pending)
                rec = pending[pid]
                prefix = rec.title[:rec.title_prefix]
                put(rec._replace(title=prefix + b"\0incrdump-diff-move-%d" % pid))

    def _write_revisions(self, out, page_id):
        base_revs = self.base_revs.get(page_id, [])
        prev = {}   # role -> (rev id, slot index, text): the page's last text in the diff
        for rid in self.put_revs[page_id]:
            rec = self.new.get_revision(rid)
            payload = bytearray()
            _enc_rev_head(rec, payload)
            same = _get_rev(self.base, rid)
            parent = None
            if rec.flags & L.REV_HAS_PARENT:
                parent = _get_rev(self.base, rec.parent_id)
            for i, s in enumerate(rec.slots):
                _enc_slot(s, payload)
                if not s.flags & L.SLOT_HAS_TEXT:
                    continue
                text = self.new.get_text(page_id, rid, i)
                self._encode_text(payload, text, s.role, rec, same, parent, prev, base_revs)
                prev[s.role] = (rid, i, text)
            out.record(R_PUT_REVISION, payload)

    @staticmethod
    def _base_candidate(rec, role):
        """(page, rev, slot) of rec's text of role in the base, or None."""
        if rec is None:
            return None
        i = _text_roles(rec).get(role)
        return None if i is None else (rec.page_id, rec.id, i)

    def _choose_base(self, role, rec, same, parent, prev, base_revs):
        """(T_DELTA_BASE, (page, rev, slot)) or (T_DELTA_PREV, (rev, slot,
        text)) for a new text of role of rec, or None. In this order: the
        revision's own former text, the page's previous text in the diff
        when it is the parent, the parent in the base, the page's previous
        text in the diff, the page's latest earlier text of this role in
        the base (removed by the diff or not), the page's earliest one."""
        own = self._base_candidate(same, role)
        if own is not None:
            return T_DELTA_BASE, own
        if role in prev and rec.flags & L.REV_HAS_PARENT and prev[role][0] == rec.parent_id:
            return T_DELTA_PREV, prev[role]
        par = self._base_candidate(parent, role)
        if par is not None:
            return T_DELTA_BASE, par
        if role in prev:
            return T_DELTA_PREV, prev[role]
        earlier = [(brid, roles[role]) for brid, roles in base_revs if role in roles]
        below = [c for c in earlier if c[0] < rec.id]
        if below or earlier:
            brid, slot = below[-1] if below else earlier[0]
            return T_DELTA_BASE, (rec.page_id, brid, slot)
        return None

    def _delta(self, text, base):
        """A zstd frame of text with base as its prefix, or None when the
        base hardly helps: the delta is over 1/8 of the text and not 20 %
        smaller than the text compressed alone."""
        d = zstandard.ZstdCompressionDict(base, dict_type=zstandard.DICT_TYPE_RAWCONTENT)
        frame = zstandard.ZstdCompressor(level=self.level, dict_data=d, write_checksum=False,
                                         write_content_size=True,
                                         write_dict_id=False).compress(text)
        if len(frame) * 8 > len(text):
            alone = zstandard.ZstdCompressor(level=self.level, write_checksum=False).compress(text)
            if len(frame) * 5 > 4 * len(alone):
                return None
        return frame if len(frame) < len(text) else None

    def _encode_text(self, out, text, role, rec, same, parent, prev, base_revs):
        """Append the text of one slot (docs/diff.md "Texts")."""
        s = self.stats
        s["texts"] += 1
        s["text_bytes"] += len(text)
        n, crc = len(text), zlib.crc32(text)
        choice = self._choose_base(role, rec, same, parent, prev, base_revs)
        frame = None
        if choice is not None:
            method, ref = choice
            if method == T_DELTA_BASE:
                base = self.base.get_text(*ref)
                if base == text:
                    out.append(T_SAME_BASE)
                    _uv(out, n)
                    out += struct.pack("<I", crc)
                    _sv(out, ref[0])
                    _sv(out, ref[1])
                    _uv(out, ref[2])
                    s["same"] += 1
                    return
            else:
                base = ref[2]
            if base:
                frame = self._delta(text, base)
        if frame is None:
            # No (useful) base: the text goes in as it is, and the body's
            # compression sees every such text of the diff together (new
            # pages share templates and boilerplate, a bot leaves one
            # message on many pages), which beats one frame per text.
            out.append(T_STORED)
            _uv(out, n)
            out += text
            s["stored"] += 1
            s["frame_bytes"] += n
            return
        out.append(method)
        _uv(out, n)
        out += struct.pack("<I", crc)
        if method == T_DELTA_BASE:
            _sv(out, ref[0])
        _sv(out, ref[1] if method == T_DELTA_BASE else ref[0])
        _uv(out, ref[2] if method == T_DELTA_BASE else ref[1])
        _uv(out, len(frame))
        out += frame
        s["delta"] += 1
        s["frame_bytes"] += len(frame)


def _identity(dh):
    """(uuid bytes, sequence, pages, revisions) of a DumpHandle's view."""
    i = dh.info()
    return i["uuid"], dh.get_sequence(), i["pages"], i["revisions"]


def _uuid_text(b):
    return str(uuid.UUID(bytes=bytes(b)))


def _refuse_same_file(out, *dumps):
    """Writing the diff over one of the dumps would destroy it."""
    if os.path.exists(out):
        for d in dumps:
            if os.path.exists(d) and os.path.samefile(out, d):
                raise DiffError(f"{out} is the dump {d} itself: the diff needs another name")


def write_diff(old, new, out, *, level=DEFAULT_LEVEL, progress=None):
    """Write the diff that takes dump ``old`` to dump ``new`` into file
    ``out`` (written under a temporary name, renamed when complete).

    ``new`` must be a later state of the same dump: the same uuid (a copy
    of ``old``'s file, updated) and a higher sequence number; anything
    else raises :class:`WrongBaseError`. Pages are compared one by one,
    records and texts, so the diff holds exactly what differs. ``level``
    is the zstd level of texts and body. ``progress(stats)`` is called
    now and then. Returns the statistics (counts, bytes, sequences).
    """
    _refuse_same_file(out, old, new)
    a = L.DumpHandle(os.fspath(old))
    try:
        b = L.DumpHandle(os.fspath(new))
        try:
            ua, sa, pa, ra = _identity(a)
            ub, sb, pb, rb = _identity(b)
            if ua != ub:
                raise WrongBaseError(
                    f"{new} is not a later state of {old}: it is dump {_uuid_text(ub)}, "
                    f"{old} is dump {_uuid_text(ua)} (a diff joins two states of one dump: "
                    f"copy OLD, update the copy, then diff)")
            if sb <= sa:
                raise WrongBaseError(
                    f"{new} (sequence {sb}) is not later than {old} (sequence {sa})")
            plan = _Planner(a, b, level)
            ids = _merged_page_ids(a, b)
            for n, pid in enumerate(ids):
                plan.compare_page(pid, lambda rid: True)
                if progress is not None and n % 1000 == 999:
                    progress({"pages": n + 1})
            header = DiffHeader(uuid=ua, from_sequence=sa, to_sequence=sb, base_pages=pa,
                                base_revisions=ra, pages=pb, revisions=rb)
            f = _DiffFile(out, level)
            try:
                plan.write(f)
                f.finish(header)
                f.publish()
            except BaseException:
                f.discard()
                raise
        finally:
            b.close()
    finally:
        a.close()
    stats = dict(plan.stats)
    stats.update(from_sequence=sa, to_sequence=sb, records=header.records,
                 size=HEADER_SIZE + header.body_size)
    return stats


def _merged_page_ids(a, b):
    """Sorted union of the page ids of two DumpHandles."""
    ids = set()
    for dh in (a, b):
        cur = dh.pages(L.PAGES_BY_ID, _INT64_MIN, 0)
        try:
            while True:
                rec = cur.next()
                if rec is None:
                    break
                ids.add(rec.id)
        finally:
            cur.close()
    return sorted(ids)


# ---- the by-product of an update ------------------------------------------------------


class DiffRecorder:
    """An observer for :func:`incrdump.update.update` that writes the
    update's diff to ``path``.

    The update calls :meth:`begin` once its transaction is open, :meth:`op`
    before each operation (with the dump as it is before it) and
    :meth:`commit` right before committing: the recorder
    notes which pages the operations touch, then compares exactly those
    pages between a snapshot of the dump as it was before the update and
    the transaction's view. The file is written under a temporary name;
    call :meth:`publish` once the update committed (it appears under
    ``path``) or :meth:`discard` if it did not. ``stats`` holds the
    counts after :meth:`commit`.
    """

    def __init__(self, path, *, level=DEFAULT_LEVEL):
        self.path = os.fspath(path)
        self.level = level
        self.pages = set()
        self.revs = set()
        self._base = None
        self._file = None
        self.stats = None

    def _open_base(self, dump):
        if self._base is None:
            _refuse_same_file(self.path, dump.path)
            # The update holds the writer lock and has not committed: a
            # reader opened now sees the dump as it was before the update,
            # and keeps seeing it while the update writes.
            self._base = L.DumpHandle(dump.path)

    def begin(self, dump):
        """The update's transaction is open: take the snapshot of the base."""
        self._open_base(dump)

    def _page_of(self, dump, rev_id):
        with dump._lock:
            try:
                return dump._handle().get_revision(rev_id).page_id
            except NotFoundError:
                return None

    def op(self, op, dump):
        """Note the pages (and revisions) operation ``op`` touches."""
        from . import changes as C

        self._open_base(dump)
        if isinstance(op, C.PutPage):
            self.pages.add(op.page.id)
        elif isinstance(op, C.PutRevision):
            self.pages.add(op.page_id)
            self.revs.add(op.rev.id)
        elif isinstance(op, (C.DeletePage, C.MovePage)):
            self.pages.add(op.page_id)
        elif isinstance(op, (C.DeleteRevision, C.HideRevision)):
            self.revs.add(op.rev_id)
            pid = self._page_of(dump, op.rev_id)
            if pid is not None:
                self.pages.add(pid)
        elif isinstance(op, C.MergeRevisions):
            self.pages.add(op.into_page_id)
            for rid in op.rev_ids:
                self.revs.add(rid)
                pid = self._page_of(dump, rid)
                if pid is not None:
                    self.pages.add(pid)
        else:
            raise DiffError(f"the diff recorder does not know the operation {op!r}")

    def commit(self, dump):
        """Write the diff of the touched pages (before the update commits)."""
        self._open_base(dump)
        base = self._base
        with dump._lock:
            new = dump._handle()
            ua, sa, pa, ra = _identity(base)
            ub, sb, pb, rb = _identity(new)
            if sb != sa + 1:
                raise DiffError(f"{dump.path}: the update left the sequence at {sb}; a diff "
                                f"from sequence {sa} needs {sa + 1}")
            to_seq = sb
            plan = _Planner(base, new, self.level)
            revs = self.revs
            for pid in sorted(self.pages):
                plan.compare_page(pid, revs.__contains__)
            header = DiffHeader(uuid=ua, from_sequence=sa, to_sequence=to_seq,
                                base_pages=pa, base_revisions=ra, pages=pb, revisions=rb)
            f = _DiffFile(self.path, self.level)
            try:
                plan.write(f)
                f.finish(header)
            except BaseException:
                f.discard()
                raise
        self._file = f
        self.stats = dict(plan.stats)
        self.stats.update(from_sequence=sa, to_sequence=to_seq, records=header.records,
                          size=HEADER_SIZE + header.body_size)
        self._close_base()

    def _close_base(self):
        if self._base is not None:
            self._base.close()
            self._base = None

    def publish(self):
        """The update committed: the diff appears under its name."""
        self._close_base()
        if self._file is None:
            raise DiffError("no diff was written (the update did not reach its commit)")
        self._file.publish()
        self._file = None

    def discard(self):
        """The update failed: remove what was written."""
        self._close_base()
        if self._file is not None:
            self._file.discard()
            self._file = None


def _check_base(header, dump_uuid, seq, dump_name, diff_name):
    """Raise WrongBaseError / AlreadyAppliedError unless the dump is the
    diff's base."""
    if bytes(dump_uuid) != bytes(header.uuid):
        raise WrongBaseError(
            f"{diff_name} applies to dump {header.uuid_text} at sequence "
            f"{header.from_sequence}; {dump_name} is another dump ({_uuid_text(dump_uuid)})")
    if seq >= header.to_sequence:
        raise AlreadyAppliedError(
            f"{diff_name} takes dump {header.uuid_text} from sequence {header.from_sequence} "
            f"to {header.to_sequence}; {dump_name} is already at sequence {seq} "
            f"(applied already?)")
    if seq != header.from_sequence:
        hint = f" (apply the diffs from sequence {seq} first)" if seq < header.from_sequence \
            else ""
        raise WrongBaseError(
            f"{diff_name} applies to sequence {header.from_sequence} of dump "
            f"{header.uuid_text}; {dump_name} is at sequence {seq}{hint}")


class _Applier:
    """Turns decoded records into writes on the writer handle, rebuilding
    texts from the base snapshot and from the diff itself."""

    def __init__(self, writer, base, name):
        self.w, self.base, self.name = writer, base, name
        self.page = None
        self.prev = {}
        self.counts = {"pages_deleted": 0, "pages_put": 0, "revisions_deleted": 0,
                       "revisions_put": 0, "texts": 0}

    def fail(self, what, why):
        raise CorruptDiffError(f"{self.name}: {what}: {why}")

    def apply(self, rtype, v, what):
        w = self.w
        if rtype == R_SITEINFO:
            w.put_siteinfo(v)
        elif rtype == R_DELETE_PAGE:
            w.delete_page(v)
            self.counts["pages_deleted"] += 1
        elif rtype == R_DELETE_REVISION:
            w.delete_revision(v)
            self.counts["revisions_deleted"] += 1
        elif rtype == R_PUT_PAGE:
            w.put_page(v)
            self.counts["pages_put"] += 1
        elif rtype == R_PUT_REVISION:
            self._put_revision(v, what)

    def _put_revision(self, v, what):
        head, slots = v
        rid, page_id = head[0], head[1]
        if page_id != self.page:
            self.page = page_id
            self.prev = {}
        recs = []
        for i, s in enumerate(slots):
            ref = s[9]
            text = None
            if ref is not None:
                text = self._text(ref, s[0], what)
                self.counts["texts"] += 1
            recs.append(L.SlotRec(*s[:9], text))
        for i, s in enumerate(recs):
            if s.text is not None:
                self.prev[s.role] = (rid, i, s.text)
        self.w.put_revision(L.RevRec(*head, recs))
        self.counts["revisions_put"] += 1

    def _text(self, ref, role, what):
        m = ref.method
        if m == T_STORED:
            text = ref.data
        else:
            base = None
            if m in (T_DELTA_BASE, T_SAME_BASE):
                try:
                    base = self.base.get_text(ref.page, ref.rev, ref.slot)
                except NotFoundError:
                    raise WrongBaseError(
                        f"{self.name}: {what}: the dump has no text for page {ref.page}, "
                        f"revision {ref.rev}, slot {ref.slot}: it is not the diff's base"
                    ) from None
            elif m == T_DELTA_PREV:
                p = self.prev.get(role)
                if p is None or p[0] != ref.rev or p[1] != ref.slot:
                    self.fail(what, f"refers to revision {ref.rev} slot {ref.slot}, which is "
                                    f"not the page's previous text of role {role!r} in the diff")
                base = p[2]
            if m == T_SAME_BASE:
                text = base
            else:
                try:
                    if base:
                        d = zstandard.ZstdCompressionDict(
                            base, dict_type=zstandard.DICT_TYPE_RAWCONTENT)
                        dctx = zstandard.ZstdDecompressor(dict_data=d)
                    else:
                        dctx = zstandard.ZstdDecompressor()
                    text = dctx.decompress(ref.frame, max_output_size=ref.length)
                except zstandard.ZstdError as e:
                    self.fail(what, f"a text frame does not decode ({e})")
        if m != T_STORED and (len(text) != ref.length or zlib.crc32(text) != ref.crc):
            if m in (T_DELTA_BASE, T_SAME_BASE):
                raise WrongBaseError(
                    f"{self.name}: {what}: a text rebuilt from page {ref.page} revision "
                    f"{ref.rev} of the dump does not match: the dump differs from the "
                    f"diff's base")
            self.fail(what, "a text does not match its length and checksum")
        return text


def apply(dump_path, diff_path, *, progress=None):
    """Apply the diff at ``diff_path`` to the dump at ``dump_path``.

    The dump must be the diff's base: same uuid, sequence number equal to
    the diff's ``from_sequence`` (:class:`WrongBaseError`; one already at
    ``to_sequence`` or later gives :class:`AlreadyAppliedError`). The
    whole file is verified first (:class:`CorruptDiffError`); then every
    record is applied in one transaction, the page and revision counts
    are checked against the header, and the sequence becomes
    ``to_sequence``. On any error nothing is changed. Returns statistics.
    """
    dump_name, diff_name = os.fspath(dump_path), os.fspath(diff_path)
    f, header, _ = _open_checked(diff_name)
    with f:
        probe = L.DumpHandle(dump_name)
        try:
            dump_uuid, seq, _, _ = _identity(probe)
        finally:
            probe.close()
        _check_base(header, dump_uuid, seq, dump_name, diff_name)
        _verify_body(f, header, diff_name)

        writer = L.DumpHandle(dump_name, L.DUMP_WRITE)
        base = None
        try:
            writer.begin()
            # the writer lock is held: a reader opened now sees the
            # transaction's starting point and keeps it while we write
            base = L.DumpHandle(dump_name)
            dump_uuid, seq, pages, revs = _identity(writer)
            _check_base(header, dump_uuid, seq, dump_name, diff_name)
            if (pages, revs) != (header.base_pages, header.base_revisions):
                raise WrongBaseError(
                    f"{diff_name}: its base has {header.base_pages} pages and "
                    f"{header.base_revisions} revisions; {dump_name} has {pages} and {revs} "
                    f"at sequence {seq}: the dump was changed by something else")
            ap = _Applier(writer, base, diff_name)
            body = _Body(f, header, diff_name)
            for index, rtype, payload in body.records():
                what = f"record {index} ({_RECORD_NAMES[rtype]})"
                v = _parse(rtype, payload, f"{diff_name}: {what}")
                try:
                    ap.apply(rtype, v, what)
                except (DiffError, MemoryError, DumpIOError):
                    raise  # an I/O failure is not a wrong base
                except IncrdumpError as e:
                    raise WrongBaseError(f"{diff_name}: {what} cannot be applied to "
                                         f"{dump_name}: {e}") from e
                if progress is not None and index % 1000 == 999:
                    progress(dict(ap.counts))
            _, _, pages, revs = _identity(writer)
            if (pages, revs) != (header.pages, header.revisions):
                raise WrongBaseError(
                    f"{diff_name}: the result should have {header.pages} pages and "
                    f"{header.revisions} revisions, not {pages} and {revs}: {dump_name} "
                    f"differs from the diff's base")
            writer.set_sequence(header.to_sequence)
            writer.commit()
        except BaseException:
            if not writer.closed:
                try:
                    writer.abort()
                except IncrdumpError:
                    pass  # no transaction was open
            raise
        finally:
            if base is not None:
                base.close()
            writer.close()
    stats = dict(ap.counts)
    stats.update(from_sequence=header.from_sequence, to_sequence=header.to_sequence,
                 records=header.records)
    return stats
