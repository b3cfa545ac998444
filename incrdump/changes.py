"""The change model of an update: the operations a change set is made of,
and our change-set files (JSON Lines, ``.ichanges``), read and written.

Layer: xml / sources / diff (DESIGN.md §2), over ``values`` and ``errors``
only: nothing here opens a dump. :mod:`incrdump.update` applies the
operations; :mod:`incrdump.diff` writes and reads them as diff dumps.

A change set is a sequence of operations applied in order inside one
transaction. Each operation is one of the dataclasses below: two that
carry new content (:class:`PutPage`, :class:`PutRevision`) and the wiki
events that make no new revision (:class:`DeletePage`,
:class:`DeleteRevision`, :class:`MovePage`, :class:`HideRevision`,
:class:`MergeRevisions`). Undeletion is not an operation of its own: the
page and its revisions appear again (PutPage + PutRevision, or in XML).

Every operation has a keyword-only ``line`` (None when made by hand): the
line of the change-set file it was read from, for error messages. It does
not take part in comparisons.

The file format (docs/changes.md is normative): UTF-8 text, one JSON
object per line, ``"op"`` naming the operation; blank lines are ignored;
an optional first line ``{"format": "incrdump-changes", "version": 1}``.
:func:`read_changes` yields the operations of a file (a
:class:`ChangeSetError` naming file and line for anything malformed);
:func:`write_changes` writes them; :func:`op_to_json` /
:func:`op_from_json` convert one operation.
"""
import dataclasses
import io
import json
import os
from typing import Optional

from .errors import IncrdumpError
from .values import Contributor, Page, Revision, Slot

__all__ = [
    "PutPage", "PutRevision", "DeletePage", "DeleteRevision", "MovePage", "HideRevision",
    "MergeRevisions", "OPS", "ChangeSetError", "read_changes", "write_changes",
    "op_to_json", "op_from_json", "is_change_set", "FORMAT", "VERSION", "EXTENSIONS",
]

#: the value of the optional header line's "format"
FORMAT = "incrdump-changes"
#: the format version this module reads and writes
VERSION = 1
#: file name endings read as change sets (anything else is export XML)
EXTENSIONS = (".ichanges", ".jsonl")


class ChangeSetError(IncrdumpError, ValueError):
    """A change set is malformed, or one of its operations cannot be applied
    (a missing page, a title taken). ``filename`` and ``line`` (1-based)
    say where; ``reason`` is the message without them; ``str()`` reads
    ``file:line: reason``."""

    def __init__(self, reason, filename=None, line=None):
        self.reason = reason
        self.filename = filename
        self.line = line
        where = ":".join(str(x) for x in (filename, line) if x is not None)
        IncrdumpError.__init__(self, f"{where}: {reason}" if where else reason)

    def __reduce__(self):
        return type(self), (self.reason, self.filename, self.line)


# ---- the operations ---------------------------------------------------------------

_LINE = dataclasses.field(default=None, compare=False, repr=False, kw_only=True)


@dataclasses.dataclass
class PutPage:
    """Insert or replace a page record: ``page`` is a
    :class:`incrdump.values.Page` or an xmlread Page (its revisions are
    not read). A page id already in the dump with another title or
    namespace is a move; a title another page holds is refused."""

    page: object
    line: Optional[int] = _LINE


@dataclasses.dataclass
class PutRevision:
    """Insert or replace a revision with its slot texts: ``rev`` is a
    :class:`incrdump.values.Revision` or an xmlread Revision, ``page_id``
    the page it belongs to (which must exist). An existing id is replaced
    (its texts too); an id that belongs to another page is refused (a
    history merge is :class:`MergeRevisions`). In a current dump a
    revision older than the page's latest is not stored."""

    rev: object
    page_id: int
    line: Optional[int] = _LINE


@dataclasses.dataclass
class DeletePage:
    """The page was deleted on the wiki: it goes, with all its revisions
    and their texts."""

    page_id: int
    line: Optional[int] = _LINE


@dataclasses.dataclass
class DeleteRevision:
    """One revision goes (with its texts; texts stored against it are
    re-encoded). Wikis do not delete single revisions (they hide them:
    :class:`HideRevision`), but imports over a history and a current dump's
    bookkeeping do."""

    rev_id: int
    line: Optional[int] = _LINE


@dataclasses.dataclass
class MovePage:
    """The page was renamed: its title (with the namespace prefix, as in
    ``<title>``) and namespace become these; its id and revisions stay.
    Refused when another page holds the title at that point of the change
    set (move a page out of the way first; a swap takes three moves)."""

    page_id: int
    namespace: int
    title: str
    line: Optional[int] = _LINE


@dataclasses.dataclass
class HideRevision:
    """RevisionDelete: each part that is True becomes ``deleted="deleted"``
    -- ``text`` (the texts of every slot are removed from the dump; the
    sha1s go too), ``comment`` (removed), ``user`` (the contributor becomes
    deleted) -- and ``suppressed`` marks the deletion as hidden from
    administrators too. A part that is False is left as it is: a part
    shown again is a PutRevision of the revision as the wiki shows it."""

    rev_id: int
    text: bool = False
    comment: bool = False
    user: bool = False
    suppressed: bool = False
    line: Optional[int] = _LINE


@dataclasses.dataclass
class MergeRevisions:
    """History merge (Special:MergeHistory): the revisions ``rev_ids`` move
    from their page to the page ``into_page_id``, keeping their ids,
    fields and texts."""

    rev_ids: tuple
    into_page_id: int
    line: Optional[int] = _LINE

    def __post_init__(self):
        self.rev_ids = tuple(self.rev_ids)


#: JSON name -> operation class
OPS = {
    "put_page": PutPage,
    "put_revision": PutRevision,
    "delete_page": DeletePage,
    "delete_revision": DeleteRevision,
    "move_page": MovePage,
    "hide_revision": HideRevision,
    "merge_revisions": MergeRevisions,
}
_NAME = {cls: name for name, cls in OPS.items()}


# ---- JSON: pages and revisions -----------------------------------------------------


def _page_json(page):
    d = {"id": page.id, "namespace": page.namespace if page.namespace is not None else 0,
         "title": page.title}
    if page.redirect is not None:
        d["redirect"] = page.redirect
    if page.restrictions is not None:
        d["restrictions"] = page.restrictions
    return d


def _user_json(u):
    if u is None:
        return None
    if u.deleted:
        return {"deleted": True}
    if u.ip is not None and u.name is None:
        return {"ip": u.ip}
    d = {"name": u.name}
    if u.id is not None:
        d["id"] = u.id
    return d


def _slot_json(s):
    d = {"role": s.role}
    for name in ("origin", "model", "format", "sha1", "bytes"):
        v = getattr(s, name, None)
        if v is not None:
            d[name] = v
    if s.deleted:
        d["deleted"] = True
    text = s.text
    if text is not None:
        d["text"] = text
    return d


def _revision_json(rev, page_id):
    d = {"page_id": page_id, "id": rev.id}
    if rev.parent_id is not None:
        d["parent_id"] = rev.parent_id
    d["timestamp"] = rev.timestamp_text
    user = _user_json(rev.user)
    if user is not None:
        d["user"] = user
    if rev.minor:
        d["minor"] = True
    if rev.comment is not None:
        d["comment"] = rev.comment
    deleted = [name for name, v in zip(("text", "comment", "user"), rev.deleted) if v]
    if deleted:
        d["deleted"] = deleted
    if getattr(rev, "suppressed", False):
        d["suppressed"] = True
    if rev.sha1 is not None:
        d["sha1"] = rev.sha1
    d["slots"] = [_slot_json(s) for s in rev.slots.values()]
    return d


def op_to_json(op):
    """One operation as a JSON-ready dict (the line of a change-set file).
    Pages and revisions keep their fields, not the XML fidelity details
    (element order, unknown elements): a change set of ours says what
    changed, export writes it in the canonical form."""
    name = _NAME.get(type(op))
    if name is None:
        raise TypeError(f"not a change-set operation: {op!r}")
    if isinstance(op, PutPage):
        return {"op": name, **_page_json(op.page)}
    if isinstance(op, PutRevision):
        return {"op": name, **_revision_json(op.rev, op.page_id)}
    d = {"op": name}
    for f in dataclasses.fields(op):
        if f.name != "line":
            v = getattr(op, f.name)
            d[f.name] = list(v) if isinstance(v, tuple) else v
    return d


class _Fields:
    """Reads one JSON object's fields with type checks; ``fail`` raises."""

    def __init__(self, data, fail, what):
        self.data, self.fail, self.what = data, fail, what
        self.used = {"op"}

    def get(self, name, types, required=False, default=None):
        self.used.add(name)
        if name not in self.data or self.data[name] is None:
            if required:
                self.fail(f"{self.what}: {name!r} is missing")
            return default
        v = self.data[name]
        if bool in types or not isinstance(v, bool):  # True is not an id
            if isinstance(v, types):
                return v
        names = " or ".join(t.__name__.replace("str", "string").replace("int", "integer")
                            .replace("bool", "true/false").replace("dict", "object")
                            .replace("list", "array") for t in types)
        self.fail(f"{self.what}: {name!r} must be {names}, not {json.dumps(v)[:40]}")

    def id(self, name, required=True):
        v = self.get(name, (int,), required)
        if v is not None and not 0 <= v < 1 << 63:
            self.fail(f"{self.what}: {name!r} must be a non-negative id, not {v}")
        return v

    def done(self):
        extra = sorted(set(self.data) - self.used)
        if extra:
            self.fail(f"{self.what}: unknown field {extra[0]!r}")


def _user_from(data, fail):
    if data is None:
        return None
    if not isinstance(data, dict):
        fail(f"'user' must be an object, not {json.dumps(data)[:40]}")
    f = _Fields(data, fail, "user")
    f.used.discard("op")
    deleted = f.get("deleted", (bool,), default=False)
    name = f.get("name", (str,))
    uid = f.get("id", (int,))
    ip = f.get("ip", (str,))
    f.done()
    if deleted:
        if name is not None or uid is not None or ip is not None:
            fail("user: a deleted user has no name, id or ip")
        return Contributor(deleted=True)
    if name is None and ip is None:
        fail("user: needs 'name', 'ip' or 'deleted'")
    return Contributor(name=name, id=uid, ip=ip)


def _slot_from(data, fail, i):
    if not isinstance(data, dict):
        fail(f"slot {i}: must be an object")
    f = _Fields(data, fail, f"slot {i}")
    f.used.discard("op")
    role = f.get("role", (str,), required=True)
    kw = {name: f.get(name, (str,)) for name in ("model", "format", "sha1")}
    kw["origin"] = f.id("origin", required=False)
    kw["bytes"] = f.get("bytes", (int,))
    kw["deleted"] = f.get("deleted", (bool,), default=False)
    text = f.get("text", (str,))
    f.done()
    return Slot(role, text, **kw)


def _revision_from(data, fail):
    f = _Fields(data, fail, "put_revision")
    page_id = f.id("page_id")
    rid = f.id("id")
    parent = f.get("parent_id", (int,))
    ts = f.get("timestamp", (str,), required=True)
    user = _user_from(f.get("user", (dict,)), fail)
    minor = f.get("minor", (bool,), default=False)
    comment = f.get("comment", (str,))
    deleted = f.get("deleted", (list,), default=[])
    unknown = [x for x in deleted if x not in ("text", "comment", "user")]
    if unknown:
        fail(f"put_revision: 'deleted' lists text, comment and user, not {unknown[0]!r}")
    suppressed = f.get("suppressed", (bool,), default=False)
    sha1 = f.get("sha1", (str,))
    slots_data = f.get("slots", (list,))
    if slots_data is not None:
        main_fields = {}
    else:
        main_fields = {name: f.get(name, (str,)) for name in ("text", "model", "format")}
    f.done()
    if slots_data is not None:
        if not slots_data:
            fail("put_revision: 'slots' is empty (a revision has a main slot)")
        slots = [_slot_from(s, fail, i) for i, s in enumerate(slots_data)]
        if slots[0].role != "main":
            fail("put_revision: the first slot must be the main slot")
        roles = [s.role for s in slots]
        if len(set(roles)) != len(roles):
            fail("put_revision: two slots with the same role")
        slots = {s.role: s for s in slots}
    else:
        slots = {"main": Slot("main", main_fields["text"], model=main_fields["model"],
                              format=main_fields["format"], deleted="text" in deleted)}
    try:
        rev = Revision(rid, ts, page_id=page_id, parent_id=parent, user=user, minor=minor,
                       comment=comment, sha1=sha1, slots=slots,
                       deleted=("text" in deleted, "comment" in deleted,
                                "user" in deleted or (user is not None and user.deleted)),
                       suppressed=suppressed)
    except IncrdumpError as e:  # a bad timestamp
        fail(f"put_revision: {e}")
    return PutRevision(rev, page_id)


def op_from_json(data, *, line=None, fail=None):
    """The operation of one parsed JSON object (see :func:`op_to_json`).
    ``fail(reason)`` raises the caller's error; by default a
    :class:`ChangeSetError` without a file name."""
    if fail is None:
        def fail(reason):
            raise ChangeSetError(reason, None, line)
    if not isinstance(data, dict):
        fail(f"an operation must be a JSON object, not {json.dumps(data)[:40]}")
    name = data.get("op")
    cls = OPS.get(name) if isinstance(name, str) else None
    if cls is None:
        if "op" not in data:
            fail("no 'op' field")
        fail(f"unknown op {json.dumps(name)[:40]} (one of {', '.join(OPS)})")
    if cls is PutRevision:
        op = _revision_from(data, fail)
    elif cls is PutPage:
        f = _Fields(data, fail, name)
        pid = f.id("id")
        ns = f.get("namespace", (int,), default=0)
        title = f.get("title", (str,), required=True)
        redirect = f.get("redirect", (str,))
        restrictions = f.get("restrictions", (str,))
        f.done()
        if not title:
            fail("put_page: the title is empty")
        op = PutPage(Page(pid, title, ns, redirect=redirect, restrictions=restrictions))
    else:
        f = _Fields(data, fail, name)
        if cls is DeletePage:
            op = DeletePage(f.id("page_id"))
        elif cls is DeleteRevision:
            op = DeleteRevision(f.id("rev_id"))
        elif cls is MovePage:
            pid = f.id("page_id")
            ns = f.get("namespace", (int,), required=True)
            title = f.get("title", (str,), required=True)
            if not title:
                fail("move_page: the title is empty")
            op = MovePage(pid, ns, title)
        elif cls is HideRevision:
            op = HideRevision(f.id("rev_id"), *(f.get(k, (bool,), default=False)
                                                for k in ("text", "comment", "user",
                                                          "suppressed")))
        else:  # MergeRevisions
            ids = f.get("rev_ids", (list,), required=True)
            if not ids or not all(isinstance(x, int) and not isinstance(x, bool) and x >= 0
                                  for x in ids):
                fail("merge_revisions: 'rev_ids' must be a non-empty array of ids")
            op = MergeRevisions(tuple(ids), f.id("into_page_id"))
        f.done()
    op.line = line
    return op


# ---- files ---------------------------------------------------------------------------


def read_changes(source, *, name=None):
    """Yield the operations of a change-set file, each with its ``line``.

    ``source`` is a path or a binary (or text) file object; ``name`` is
    used in messages (default: the path or the object's name). Anything
    malformed -- bad UTF-8, a line that is not one JSON object, an unknown
    op or field, a field of the wrong type, a header of another format or
    a newer version -- raises :class:`ChangeSetError` with file and line,
    after the operations before it were yielded. A missing file raises
    :class:`incrdump.errors.SourceNotFoundError`.
    """
    from .errors import SourceError, SourceNotFoundError

    own = False
    if isinstance(source, (str, bytes, os.PathLike)):
        path = os.fsdecode(source)
        name = name or path
        try:
            f = open(path, "rb")  # noqa: SIM115 -- closed below
        except FileNotFoundError:
            raise SourceNotFoundError(f"{path}: no such file", path, 2) from None
        except OSError as e:
            raise SourceError(f"{path}: cannot open ({e.strerror})", path, e.errno) from None
        own = True
    else:
        f = source
        name = name or getattr(source, "name", None) or "<stream>"
    try:
        lineno = 0
        for raw in f:
            lineno += 1

            def fail(reason, lineno=lineno):
                raise ChangeSetError(reason, name, lineno)

            if isinstance(raw, bytes):
                try:
                    raw = raw.decode("utf-8")
                except UnicodeDecodeError as e:
                    fail(f"not UTF-8 (byte {e.start + 1} of the line)")
            if lineno == 1 and raw.startswith("\ufeff"):
                raw = raw[1:]
            if not raw.strip():
                continue
            try:
                data = json.loads(raw)
            except json.JSONDecodeError as e:
                fail(f"not JSON: {e.msg} at column {e.colno}")
            if isinstance(data, dict) and "format" in data and "op" not in data:
                if lineno != 1:
                    fail("a format header is only allowed on the first line")
                if data.get("format") != FORMAT:
                    fail(f"not an incrdump change set (format {json.dumps(data['format'])[:40]})")
                version = data.get("version")
                if version != VERSION:
                    fail(f"change-set version {json.dumps(version)[:20]} is not supported "
                         f"(this incrdump reads version {VERSION})")
                continue
            yield op_from_json(data, line=lineno, fail=fail)
    finally:
        if own:
            f.close()


def write_changes(target, ops, *, header=True):
    """Write operations as a change-set file: ``target`` is a path or a
    text file object. With ``header`` the format line comes first.
    Returns the number of operations written."""
    own = isinstance(target, (str, bytes, os.PathLike))
    f = io.open(os.fsdecode(target), "w", encoding="utf-8", newline="\n") if own else target
    n = 0
    try:
        if header:
            f.write(json.dumps({"format": FORMAT, "version": VERSION}) + "\n")
        for op in ops:
            f.write(json.dumps(op_to_json(op), ensure_ascii=False) + "\n")
            n += 1
    finally:
        if own:
            f.close()
    return n


def is_change_set(path):
    """True when ``path`` names a change-set file (by its ending, see
    :data:`EXTENSIONS`); anything else is read as export XML."""
    return isinstance(path, (str, bytes, os.PathLike)) and os.fsdecode(path).lower().endswith(
        EXTENSIONS)
