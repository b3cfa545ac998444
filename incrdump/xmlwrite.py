"""Write MediaWiki export XML exactly as MediaWiki 1.39's dumpBackup.php does.

Layer: xml (DESIGN.md §2), over the value objects (:mod:`incrdump.values`
and :mod:`incrdump.xmlread`'s, which carry the same fields) and the Python
API (:mod:`incrdump.dump`) for :func:`export`; nothing here parses.

    export("enwiki.incrdump", "enwiki-pages-meta-history.xml.bz2")
    export(dump, sys.stdout.buffer, mode="current", schema="0.10")

The layout is MediaWiki's ``XmlDumpWriter``: two spaces of indent per
level, one element per line, ``<minor/>`` and an empty ``<sha1/>`` written
without a space, every other empty element as ``<name ... />``; element
text escapes ``&``, ``<`` and ``>`` only (quotes and carriage returns are
written as they are), attribute values also ``"``, ``'`` (``&#039;``), and
tab, LF and CR as character references. A page or revision read from MediaWiki XML keeps
the order of its child elements, its attributes, the order of the
``<text>`` attributes and any element incrdump does not model
(``<upload>``, ``<logitem>`` ...) -- :mod:`incrdump._extra` stores them --
and is written back with them, so that importing dumpBackup's output and
exporting it again gives the same bytes. What an XML parser cannot report
is written MediaWiki's way: the indentation, ``<x />`` versus
``<x></x>``, character references in text.

Modes (dumpBackup's ``--full``, ``--current``, ``--stub``): "full" writes
every revision with its text; "current" only each page's latest revision
(the highest id); "stub" every revision with ``<text>`` as a reference
(its bytes, sha1 and, when the dump has them, location and id) and no
content; "stub-current" both. Schema "0.10" leaves out what 0.11 added:
``<origin>``, the ``sha1`` and ``location`` attributes of ``<text>`` and
every slot but the main one (as MediaWiki does).

:func:`export` hands each page to the C writer first (``dump_xml_page``,
csrc/dump_xml.c), which writes the pages whose records are in canonical form
(an empty ``extra``: the XML follows from the C fields alone) with the same
bytes, several times faster; the others, and every page with ``fast=False``,
go through :class:`XMLWriter`.
"""
import io
import os
import queue
import re
import sys
import threading

from . import _extra
from . import _lowlevel as L
from ._files import Pending
from .errors import CorruptDumpError, InvalidArgumentError
from .xmlread import escape_text as _esc  # & < > (htmlspecialchars, ENT_NOQUOTES)

__all__ = ["XMLWriter", "export", "SCHEMAS", "MODES", "DEFAULT_STYLE"]

SCHEMAS = ("0.10", "0.11")
#: an older schema: written only for a dump imported from it, as it was
#: (the records keep their elements; nothing is added or dropped)
_OLDER_SCHEMA = re.compile(r"0\.[1-9]")
MODES = ("full", "current", "stub", "stub-current")

#: leaf elements of a revision that belong to its main slot
_MAIN_SLOT = frozenset(("origin", "model", "format", "text"))
#: schema 0.11 additions that 0.10 output leaves out
_NOT_IN_010 = frozenset(("origin",))
_TEXT_ATTRS_NOT_IN_010 = frozenset(("sha1", "location"))

_WRITE_BLOCK = 1 << 20

#: What differs between MediaWiki versions' XML (a dump keeps the style its
#: input was written in; see incrdump.xmlread): whether element text escapes
#: double quotes (``&quot;``: Wikimedia's dumps) and apostrophes
#: (``&#039;``), how an empty ``<minor>`` and ``<sha1>`` are written, and
#: what follows ``</mediawiki>``.
#: The default is MediaWiki 1.39's.
DEFAULT_STYLE = {"quot": False, "apos": False, "minor": "<minor/>", "sha1": "<sha1/>",
                 "end": "\n"}


def _no(_):
    return False


_STYLE_OK = {
    "quot": lambda v: isinstance(v, bool),
    "apos": lambda v: isinstance(v, bool),
    "minor": lambda v: v in ("<minor/>", "<minor />"),
    "sha1": lambda v: v in ("<sha1/>", "<sha1 />"),
    "end": lambda v: isinstance(v, str) and len(v) <= 16 and (not v or v.isspace()),
}


_ATTR_MAP = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;",
                           "'": "&#039;", "\n": "&#10;", "\r": "&#13;", "\t": "&#9;"})


def _esc_attr(s):
    """Attribute value (MediaWiki: Sanitizer::encodeAttribute)."""
    return s.translate(_ATTR_MAP)


def _esc_bytes(b):
    """Element text given as UTF-8 bytes (a revision's content)."""
    if b"&" in b:
        b = b.replace(b"&", b"&amp;")
    if b"<" in b:
        b = b.replace(b"<", b"&lt;")
    if b">" in b:
        b = b.replace(b">", b"&gt;")
    return b


def _attrs(pairs):
    if not pairs:
        return ""
    return "".join(f' {k}="{_esc_attr(v)}"' for k, v in pairs)


def _str(v):
    return None if v is None else str(v)


def _root_attributes(schema, lang):
    return (
        ("xmlns", f"http://www.mediawiki.org/xml/export-{schema}/"),
        ("xmlns:xsi", "http://www.w3.org/2001/XMLSchema-instance"),
        ("xsi:schemaLocation", f"http://www.mediawiki.org/xml/export-{schema}/ "
                               f"http://www.mediawiki.org/xml/export-{schema}.xsd"),
        ("version", schema),
        ("xml:lang", lang or "en"),
    )


class _Raws:
    """The unmodelled children of one element, handed out in order."""

    __slots__ = ("items", "i")

    def __init__(self, extras):
        self.items = sorted(extras, key=lambda r: r.position) if extras else ()
        self.i = 0

    def next(self, name):
        if self.i < len(self.items) and self.items[self.i].name == name:
            r = self.items[self.i]
            self.i += 1
            return r
        return None

    def rest(self):
        r = self.items[self.i:]
        self.i = len(self.items)
        return r

    def put(self, parts, indent, name):
        """Append the next unmodelled child, if it is ``name``."""
        raw = self.next(name)
        if raw is not None:
            parts.append(f"{indent}{raw.xml}\n")

    def put_rest(self, parts, indent):
        """Append every unmodelled child not written yet."""
        parts.extend(f"{indent}{raw.xml}\n" for raw in self.rest())


class XMLWriter:
    """Writes export XML to a binary file object ``out``: :meth:`header`,
    then :meth:`page` for each page, then :meth:`footer`.

    ``mode`` and ``schema`` as in the module docstring; ``style`` (default:
    the site info's, else :data:`DEFAULT_STYLE`) the details that vary
    between MediaWiki versions. The writer takes any
    objects with the fields of :class:`incrdump.values.Page` /
    ``Revision`` / ``SiteInfo`` (or xmlread's).
    """

    def __init__(self, out, *, mode="full", schema="0.11", style=None):
        if mode not in MODES:
            raise InvalidArgumentError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
        if schema not in SCHEMAS and not _OLDER_SCHEMA.fullmatch(str(schema)):
            raise InvalidArgumentError(
                f"schema must be one of {', '.join(SCHEMAS)}, not {schema!r}")
        self.out = out
        self.mode = mode
        self.schema = schema
        self.stub = mode.startswith("stub")
        self.v10 = schema == "0.10"
        self.bytes_written = 0
        self.style = dict(DEFAULT_STYLE)
        if style:  # from a dump's site info: only the known forms are taken
            self.style.update((k, v) for k, v in style.items() if _STYLE_OK.get(k, _no)(v))
        st = self.style
        self._short = {"minor": st["minor"], "sha1": st["sha1"]}
        table = {}
        if st["quot"]:
            table['"'] = "&quot;"
        if st["apos"]:
            table["'"] = "&#039;"
        self._quotes = [(k.encode(), v.encode()) for k, v in table.items()]
        if table:
            table.update({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
            trans = str.maketrans(table)
            self._esc = lambda s: s.translate(trans)
        else:
            self._esc = _esc

    def _leaf(self, indent, name, value, pairs=None):
        """One element holding text; empty or None as a short tag."""
        a = _attrs(pairs)
        if value is None or value == "":
            if not a:
                short = self._short.get(name)
                if short is not None:
                    return f"{indent}{short}\n"
            return f"{indent}<{name}{a} />\n"
        return f"{indent}<{name}{a}>{self._esc(value)}</{name}>\n"

    def _write(self, data):
        if isinstance(data, str):
            data = data.encode("utf-8", "surrogateescape")
        self.out.write(data)
        self.bytes_written += len(data)

    # -- header and footer ----------------------------------------------------------
    def header(self, siteinfo, top_extras=()):
        """``<mediawiki ...>`` and the ``<siteinfo>`` block (siteinfo may be None)."""
        root = None
        lang = None
        if siteinfo is not None:
            lang = getattr(siteinfo, "lang", None)
            stored = getattr(siteinfo, "root_attributes", None)
            if stored and getattr(siteinfo, "version", None) == self.schema:
                root = stored
        if root is None:
            root = _root_attributes(self.schema, lang)
        parts = [f"<mediawiki{_attrs(root)}>\n"]
        if siteinfo is not None:
            parts.append(self._siteinfo(siteinfo))
        for raw in sorted(top_extras or (), key=lambda r: r.position):
            parts.append(f"  {raw.xml}\n")
        self._write("".join(parts))

    def _siteinfo(self, si):
        attrs = si.attributes or {}
        raws = _Raws(si.extras)
        parts = [f"  <siteinfo{_attrs(attrs.get('siteinfo'))}>\n"]
        for name in si.elements:
            if name == "namespaces":
                parts.append(f"    <namespaces{_attrs(attrs.get('namespaces'))}>\n")
                for ns in (si.namespaces or {}).values():
                    pairs = ns.attributes or (("key", str(ns.key)),) + (
                        (("case", ns.case),) if ns.case is not None else ())
                    parts.append(self._leaf("      ", "namespace", ns.name, pairs))
                parts.append("    </namespaces>\n")
            elif name in ("sitename", "dbname", "base", "generator", "case"):
                parts.append(self._leaf("    ", name, getattr(si, name), attrs.get(name)))
            else:
                raws.put(parts, "    ", name)
        raws.put_rest(parts, "    ")
        parts.append("  </siteinfo>\n")
        return "".join(parts)

    def footer(self):
        self._write("</mediawiki>" + self.style["end"])

    # -- pages ----------------------------------------------------------------------
    def page(self, page, revisions):
        """One ``<page>`` with the given revisions (an iterable)."""
        attrs = page.attributes or {}
        raws = _Raws(page.extras)
        after = []  # unmodelled children that followed the revisions
        parts = [f"  <page{_attrs(attrs.get('page'))}>\n"]
        for i, name in enumerate(page.elements):
            if name == "title":
                parts.append(self._leaf("    ", "title", page.title, attrs.get("title")))
            elif name == "ns":
                parts.append(self._leaf("    ", "ns", str(page.namespace), attrs.get("ns")))
            elif name == "id":
                parts.append(self._leaf("    ", "id", str(page.id), attrs.get("id")))
            elif name == "redirect":
                pairs = attrs.get("redirect")
                if pairs is None and page.redirect:
                    pairs = (("title", page.redirect),)
                parts.append(self._leaf("    ", "redirect", "", pairs))
            elif name == "restrictions":
                parts.append(self._leaf("    ", "restrictions", page.restrictions,
                                   attrs.get("restrictions")))
            else:
                raw = raws.next(name)
                if raw is None:
                    continue
                if raw.position > i:  # revisions came before it
                    after.append(raw)
                else:
                    parts.append(f"    {raw.xml}\n")
        after += raws.rest()
        self._write("".join(parts))
        for rev in revisions:
            self.revision(rev)
        tail = "".join(f"    {raw.xml}\n" for raw in after)
        self._write(tail + "  </page>\n")

    def revision(self, rev):
        """One ``<revision>`` (the text read from the revision's slots)."""
        attrs = rev.attributes or {}
        raws = _Raws(rev.extras)
        slots = list(rev.slots.values())
        main = slots[0] if slots else None
        others = iter(slots[1:])
        v10 = self.v10
        parts = [f"    <revision{_attrs(attrs.get('revision'))}>\n"]
        for name in rev.elements:
            if name in _MAIN_SLOT:
                if v10 and name in _NOT_IN_010:
                    continue
                if name == "text":
                    self._write("".join(parts))
                    parts = []
                    self._text("      ", main)
                else:
                    parts.append(self._leaf("      ", name, _str(getattr(main, name)),
                                       attrs.get(name)))
            elif name == "id":
                parts.append(self._leaf("      ", "id", str(rev.id), attrs.get("id")))
            elif name == "parentid":
                parts.append(self._leaf("      ", "parentid", _str(rev.parent_id),
                                   attrs.get("parentid")))
            elif name == "timestamp":
                parts.append(self._leaf("      ", "timestamp", rev.timestamp_text,
                                   attrs.get("timestamp")))
            elif name == "contributor":
                if rev.user is not None:
                    parts.append(self._contributor(rev.user))
            elif name == "minor":
                parts.append(self._leaf("      ", "minor", "", attrs.get("minor")))
            elif name == "comment":
                parts.append(self._leaf("      ", "comment", rev.comment, attrs.get("comment")))
            elif name == "sha1":
                parts.append(self._leaf("      ", "sha1", rev.sha1, attrs.get("sha1")))
            elif name == "content":
                slot = next(others, None)
                if slot is None or v10:
                    continue
                self._write("".join(parts))
                parts = []
                self._content(slot)
            else:
                raws.put(parts, "      ", name)
        raws.put_rest(parts, "      ")
        parts.append("    </revision>\n")
        self._write("".join(parts))

    def _contributor(self, user):
        attrs = user.attributes or {}
        own = _attrs(attrs.get("contributor"))
        raws = _Raws(user.extras)
        if not user.elements and not raws.items:
            return f"      <contributor{own} />\n"
        parts = [f"      <contributor{own}>\n"]
        for name in user.elements:
            if name == "username":
                parts.append(self._leaf("        ", "username", user.name, attrs.get("username")))
            elif name == "id":
                parts.append(self._leaf("        ", "id", _str(user.id), attrs.get("id")))
            elif name == "ip":
                parts.append(self._leaf("        ", "ip", user.ip, attrs.get("ip")))
            else:
                raws.put(parts, "        ", name)
        raws.put_rest(parts, "        ")
        parts.append("      </contributor>\n")
        return "".join(parts)

    def _content(self, slot):
        attrs = slot.attributes or {}
        raws = _Raws(slot.extras)
        parts = [f"      <content{_attrs(attrs.get('content'))}>\n"]
        for name in slot.elements or ("role", "origin", "model", "format", "text"):
            if name == "text":
                self._write("".join(parts))
                parts = []
                self._text("        ", slot)
            elif name in ("role", "origin", "model", "format"):
                if self.v10 and name in _NOT_IN_010:
                    continue
                parts.append(self._leaf("        ", name, _str(getattr(slot, name)),
                                   attrs.get(name)))
            else:
                raws.put(parts, "        ", name)
        raws.put_rest(parts, "        ")
        parts.append("      </content>\n")
        self._write("".join(parts))

    def _text(self, indent, slot):
        pairs = slot.text_attributes
        if pairs is None:
            pairs = ()
        if self.v10:
            pairs = tuple(p for p in pairs if p[0] not in _TEXT_ATTRS_NOT_IN_010)
        data = None
        if not self.stub:
            if hasattr(slot, "text_bytes"):
                data = slot.text_bytes()
                if data is None and getattr(slot, "stored", False):
                    raise CorruptDumpError(
                        f"revision {slot._rev_id}: the text of slot {slot.role!r} is missing")
            elif slot.text is not None:
                data = slot.text.encode("utf-8", "surrogateescape")
        elif (slot.stored if hasattr(slot, "stored") else slot.text is not None):
            # a text written as a reference: without xml:space, as dumpBackup
            pairs = tuple(p for p in pairs if p[0] != "xml:space")
        a = _attrs(pairs)
        if not data:
            self._write(f"{indent}<text{a} />\n")
            return
        self._write(f"{indent}<text{a}>")
        data = _esc_bytes(data)
        for q, ref in self._quotes:
            if q in data:
                data = data.replace(q, ref)
        self._write(data)
        self._write("</text>\n")


# ---- whole dumps ----------------------------------------------------------------------

#: compressed output by file name extension
_COMPRESSORS = {".bz2": "bz2", ".gz": "gzip", ".xz": "xz", ".zst": "zstd"}


#: extensions of compressions export cannot write (refused, not written plain)
_UNWRITABLE = (".7z", ".zip", ".lz4", ".lzma", ".br")


def compression_of(path):
    """The compression chosen by ``path``'s extension, or None for plain XML."""
    ext = os.path.splitext(os.fspath(path))[1].lower()
    if ext in _UNWRITABLE:
        raise InvalidArgumentError(
            f"{os.fspath(path)}: cannot write {ext} files; use .bz2, .gz, .xz or .zst "
            f"(or plain .xml)")
    return _COMPRESSORS.get(ext)


class _Output(Pending):
    """A file written under a temporary name beside ``path`` (compressed by
    its extension; :class:`incrdump._files.Pending`) and renamed onto it by
    :meth:`finish`."""

    def __init__(self, path, overwrite=True, level=None):
        compression = compression_of(path)  # refuse a name before creating anything
        super().__init__(path, overwrite, "the XML")
        self.raw = self.open(buffering=_WRITE_BLOCK)
        self.file = _compressor(self.raw, compression, level)

    def finish(self):
        if self.file is not self.raw:
            self.file.close()
        self.raw.flush()
        os.fsync(self.raw.fileno())
        self.raw.close()
        self.publish()

    def discard(self):
        for f in (self.file, self.raw):
            try:
                f.close()
            except Exception:  # noqa: BLE001 -- the original error matters
                pass
        super().discard()


def _compressor(raw, compression, level):
    if compression is None:
        return raw
    if compression == "bz2":
        import bz2
        return bz2.BZ2File(raw, "wb", compresslevel=level or 9)
    if compression == "gzip":
        import gzip
        return gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=level or 6, mtime=0)
    if compression == "xz":
        import lzma
        return lzma.LZMAFile(raw, "wb", preset=6 if level is None else level)
    import zstandard
    cctx = zstandard.ZstdCompressor(level=level or 3, threads=-1)
    return cctx.stream_writer(raw, closefd=False)


def export(dump, out, *, mode="full", schema="0.11", namespaces=None, exclude_namespaces=False,
           start=None, end=None, revstart=None, revend=None, skip_header=False,
           skip_footer=False, overwrite=True, level=None, progress=None, fast=True,
           threads=None):
    """Write a dump as MediaWiki export XML.

    ``dump``: a path or an open :class:`incrdump.Dump`. ``out``: a path
    (compressed by its extension: .bz2, .gz, .xz, .zst; written under a
    temporary name and renamed when complete, so a failure leaves no
    partial file), ``"-"`` for standard output, or a binary file object.
    ``mode``: "full" (default), "current", "stub", "stub-current" (a stub
    dump, which has no text, is written as stubs whatever the mode says
    about text). ``schema``: "0.11" (default), "0.10", or "input": the
    schema the dump was imported from (for 0.3-0.9, the XML as it was).
    ``namespaces``: a
    collection of namespace numbers to keep (all when None), or to leave
    out when ``exclude_namespaces``. ``start``/``end``: page ids, end
    exclusive; ``revstart``/``revend``: revision ids, end exclusive (pages
    with no revision in the range are left out, as MediaWiki does).
    ``skip_header``/``skip_footer`` leave out the ``<mediawiki>`` opening
    with the site info, and its closing tag. ``progress``, if given, is
    called now and then with a dict (pages, revisions, bytes). Returns that
    dict for the whole export. ``fast=False`` writes every page with
    :class:`XMLWriter` (by default the C writer, ``dump_xml_page``, does
    the pages whose records are in canonical form: the same bytes, faster).
    ``threads``: writer threads, each with its own handle of the dump
    (default :data:`PARALLEL_THREADS` on a machine with more than one CPU);
    pages are handed out in batches and written in order.
    """
    from .dump import Dump

    own = not isinstance(dump, Dump)
    if own:
        dump = Dump(dump)
    output = None
    try:
        if mode not in MODES:
            raise InvalidArgumentError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
        if schema == "input":
            si = dump.siteinfo
            schema = getattr(si, "version", None) or "0.11"
        if schema not in SCHEMAS:
            si = dump.siteinfo
            if schema != getattr(si, "version", None) or not _OLDER_SCHEMA.fullmatch(schema):
                raise InvalidArgumentError(
                    f"schema {schema!r}: incrdump writes {' and '.join(SCHEMAS)}, and the "
                    f"schema of the dump's own input (here "
                    f"{getattr(si, 'version', None) or 'unknown'}: --schema input)")
        if dump.info()["kind"] == "stub" and not mode.startswith("stub"):
            mode = "stub-current" if mode == "current" else "stub"
        if isinstance(out, (str, bytes, os.PathLike)) and out != "-":
            output = _Output(out, overwrite, level)
            f = output.file
        elif out == "-":
            f = sys.stdout.buffer
        else:
            f = out
        stats = _export_into(dump, f, mode, schema, namespaces, exclude_namespaces, start,
                             end, revstart, revend, skip_header, skip_footer, progress, fast,
                             threads)
        if output is not None:
            output.finish()
            output = None
        else:
            f.flush()
        return stats
    finally:
        if output is not None:
            output.discard()
        if own:
            dump.close()


_PROGRESS_EVERY = 256  # pages between progress calls


def _export_into(dump, f, mode, schema, namespaces, exclude, start, end, revstart, revend,
                 skip_header, skip_footer, progress, fast=True, threads=None):
    si = dump.siteinfo
    style = getattr(si, "style", None)
    w = XMLWriter(f, mode=mode, schema=schema, style=style)
    sel = _Selection(mode, namespaces, exclude, revstart, revend)
    stats = {"pages": 0, "revisions": 0, "bytes": 0}
    if not skip_header:
        w.header(si, si.top_extras if si is not None else ())
    pages = (p for p in dump.pages(start, end) if sel.keeps(p))
    c_writer = _CWriter.make(dump, w, sel.current, revstart, revend) if fast else None
    if threads is None:
        threads = PARALLEL_THREADS if (os.cpu_count() or 1) > 1 else 1
    if c_writer is not None and threads > 1 and _export_parallel(
            dump, f, w.bytes_written, mode, schema, style, sel, pages, threads, stats,
            progress):
        w.bytes_written = stats["bytes"]
    else:
        counted = [0]
        for page in pages:
            if sel.write(dump, w, c_writer, page, counted):
                stats["pages"] += 1
            if progress is not None and stats["pages"] % _PROGRESS_EVERY == 0:
                stats["revisions"] = counted[0]
                stats["bytes"] = w.bytes_written
                progress(dict(stats))
        stats["revisions"] = counted[0]
    if not skip_footer:
        w.footer()
    stats["bytes"] = w.bytes_written
    if progress is not None:
        progress(dict(stats))
    return stats


class _Selection:
    """Which pages and revisions an export writes, and one page written."""

    def __init__(self, mode, namespaces, exclude, revstart, revend):
        self.current = mode in ("current", "stub-current")
        self.ns = None if namespaces is None else frozenset(int(n) for n in namespaces)
        self.exclude = exclude
        self.revstart, self.revend = revstart, revend
        self.ranged = revstart is not None or revend is not None

    def keeps(self, page):
        return self.ns is None or (page.namespace in self.ns) != self.exclude

    def write(self, dump, w, c_writer, page, counted):
        """Write one page (by C when it can); False when it is left out (no
        revision in the range). counted[0] grows by the revisions written."""
        done = c_writer.page(page.id, counted) if c_writer is not None else None
        if done is not None:
            return done
        revstart, revend = self.revstart, self.revend
        if self.current:  # not canonical: the Python writer
            latest = None
            for rev in page:
                if revstart is not None and rev.id < revstart:
                    continue
                if revend is not None and rev.id >= revend:
                    break
                latest = rev
            if latest is None and self.ranged:
                return False
            revs = (latest,) if latest is not None else ()
        elif self.ranged:
            if next(iter(_ids_in_range(page, revstart, revend)), None) is None:
                return False
            revs = _ids_in_range(document_order(dump, page), revstart, revend)
        else:
            revs = document_order(dump, page)

        def counting(revs):
            for rev in revs:
                counted[0] += 1
                yield rev
        w.page(page, counting(revs))
        return True


# ---- two pages at once ----------------------------------------------------------------

#: writer threads of an export (each with its own handle of the dump)
PARALLEL_THREADS = 2
#: pages handed to a thread at a time
_BATCH_PAGES = 16
#: bytes a thread may hold while the batch before its own is still being
#: written; beyond that it waits (memory stays bounded whatever the pages)
_AHEAD_BYTES = 16 << 20


class _Turns:
    """Batches write in their order: the batch whose number is ``turn``
    writes straight to the output, the next one buffers (up to
    _AHEAD_BYTES) until its turn comes."""

    def __init__(self, out):
        self.out = out
        self.write = _chunk_writer(out)
        self.cond = threading.Condition()
        self.turn = 0
        self.failed = False


class _BatchOutput(io.BufferedIOBase):
    """The file a thread's writers write to: the real output when its batch
    has the turn, else a bounded buffer."""

    def __init__(self, turns):
        super().__init__()
        self.turns = turns
        self.k = 0
        self.buf = []
        self.size = 0

    def writable(self):
        return True

    def begin(self, k):
        t = self.turns
        with t.cond:  # at most one batch ahead of the one writing
            while k > t.turn + 1 and not t.failed:
                t.cond.wait()
            if t.failed:
                raise _Stopped()
        self.k = k
        self.buf, self.size = [], 0

    def _wait_turn(self):
        t = self.turns
        with t.cond:
            while self.k != t.turn and not t.failed:
                t.cond.wait()
            if t.failed:
                raise _Stopped()
        for chunk in self.buf:
            t.write(chunk)
        self.buf, self.size = [], 0

    def write(self, b):
        t = self.turns
        n = len(b)
        if self.k != t.turn:  # turn only grows, and only our end() moves it past k
            with t.cond:
                if self.k != t.turn and self.size + n <= _AHEAD_BYTES:
                    self.buf.append(bytes(b))
                    self.size += n
                    return n
            self._wait_turn()
        elif self.buf:
            self._wait_turn()
        t.write(b)
        return n

    def end(self):
        self._wait_turn()
        t = self.turns
        with t.cond:
            t.turn += 1
            t.cond.notify_all()


class _Stopped(Exception):
    """Another thread of the export failed."""


def _export_parallel(dump, f, header_bytes, mode, schema, style, sel, pages, threads, stats,
                     progress):
    """Write the pages with ``threads`` writer threads; False (nothing
    written) when the dump moved on while the threads' handles were opened."""
    from .dump import Dump

    turns = _Turns(f)
    work = queue.Queue(maxsize=2 * threads)
    lock = threading.Lock()
    totals = {"pages": 0, "revisions": 0, "bytes": header_bytes}
    errors = []
    handles = []
    generation = dump.info()["generation"]
    try:
        for _ in range(threads):
            h = Dump(dump.path)
            handles.append(h)
            if h.info()["generation"] != generation:  # a writer committed meanwhile
                raise _Retry()
    except _Retry:
        for h in handles:
            h.close()
        return False  # the caller writes with one thread

    def worker(h):
        out = _BatchOutput(turns)
        w = XMLWriter(out, mode=mode, schema=schema, style=style)
        cw = _CWriter.make(h, w, sel.current, sel.revstart, sel.revend)
        try:
            while True:
                item = work.get()
                if item is None:
                    return
                k, ids = item
                out.begin(k)
                counted = [0]
                written = 0
                w.bytes_written = 0
                for pid in ids:
                    page = h.get_page(pid)
                    if page is not None and sel.write(h, w, cw, page, counted):
                        written += 1
                out.end()
                with lock:
                    totals["pages"] += written
                    totals["revisions"] += counted[0]
                    totals["bytes"] += w.bytes_written
                    if progress is not None:
                        progress(dict(totals))
        except _Stopped:
            pass
        except BaseException as e:  # noqa: BLE001 -- handed to the caller
            errors.append(e)
            with turns.cond:
                turns.failed = True
                turns.cond.notify_all()

    pool = [threading.Thread(target=worker, args=(h,), daemon=True) for h in handles]
    for t in pool:
        t.start()
    try:
        batch, k = [], 0
        for page in pages:
            if turns.failed:
                break
            batch.append(page.id)
            if len(batch) == _BATCH_PAGES:
                _put(work, (k, batch), turns)
                batch, k = [], k + 1
        if batch and not turns.failed:
            _put(work, (k, batch), turns)
    except BaseException:
        with turns.cond:
            turns.failed = True
            turns.cond.notify_all()
        raise
    finally:
        for _ in pool:
            _put(work, None, turns, force=True)
        for t in pool:
            t.join()
        for h in handles:
            h.close()
    if errors:
        raise errors[0]
    stats.update(totals)
    return True


class _Retry(Exception):
    """The dump moved on between two handles: export with one."""


def _put(work, item, turns, force=False):
    while True:
        try:
            work.put(item, timeout=0.1)
            return
        except queue.Full:
            if turns.failed:
                if not force:
                    return
                try:  # make room: the workers are stopping
                    work.get_nowait()
                except queue.Empty:
                    pass


_INT64 = (-(1 << 63), (1 << 63) - 1)
#: keys a <text> attribute profile entry may name (_extra.text_attributes)
_PROFILE_KEYS = frozenset(_extra.TEXT_KEYS + ("xml:space",))


class _CWriter:
    """The C writer (``dump_xml_page``) for the pages whose records are in
    canonical form; :meth:`page` says which pages it left to the
    :class:`XMLWriter` ``w``, whose style, mode and schema it follows and
    whose output (and ``bytes_written``) it shares."""

    @classmethod
    def make(cls, dump, w, current, revstart, revend):
        """A writer, or None when the options or the style are beyond C's
        reach (ids outside int64, a NUL in a short tag)."""
        for v in (revstart, revend):
            if v is not None and not _INT64[0] <= v <= _INT64[1]:
                return None
        tags = [(f"<{k} />" if w.style[k] is None else str(w.style[k])).encode(
            "utf-8", "surrogateescape") for k in ("minor", "sha1")]  # as XMLWriter._leaf
        if any(b"\0" in t for t in tags):
            return None
        table = {}
        for sit, keys in (dump._profile or {}).items():
            if 0 <= sit < L.XML_SITUATIONS:
                valid = all(k in _PROFILE_KEYS for k in keys)
                table[sit] = " ".join(keys) if valid else "?"  # "?": left to Python
        options = L.XmlOptions(10 if w.v10 else 11, w.stub, current, revstart, revend,
                               bool(w.style["quot"]), bool(w.style["apos"]), tags[0], tags[1],
                               table)
        return cls(dump, w, options)

    def __init__(self, dump, w, options):
        self.dump = dump
        self.w = w
        self.options = options
        self.sink = L.XmlSink(_chunk_writer(w.out))

    def page(self, page_id, counted):
        """True: written; False: left out (no revision in range); None: not
        canonical, nothing written. counted[0] grows by the revisions written."""
        dump = self.dump
        with dump._lock:
            handled, written, revisions, nbytes = dump._handle().xml_page(
                page_id, self.options, self.sink)
        if not handled:
            return None
        counted[0] += revisions
        self.w.bytes_written += nbytes
        return written


def _chunk_writer(f):
    """``f.write`` for the C writer's chunks, which are views of C memory
    valid during the call only: io's file objects consume what write() is
    given before returning (the io contract); anything else gets a copy."""
    if isinstance(f, (io.RawIOBase, io.BufferedIOBase)):
        return f.write
    return lambda b: f.write(bytes(b))


def document_order(dump, page):
    """The page's revisions in the order its XML listed them (id order but
    for the moves in ``page.revision_order``)."""
    order = getattr(page, "revision_order", None)
    if not order:
        yield from page
        return
    moved = {}
    for rid, after in order:
        moved.setdefault(after, []).append(rid)
    skip = {rid for rid, _ in order}
    done = set()

    def with_followers(rev):
        stack = [rev]
        while stack:
            r = stack.pop()
            yield r
            for rid in reversed(moved.get(r.id, ())):
                follower = dump.get_revision(rid)
                if follower is not None and follower.page_id == page.id and rid not in done:
                    done.add(rid)
                    stack.append(follower)

    for rid in moved.get(0, ()):
        rev = dump.get_revision(rid)
        if rev is not None and rev.page_id == page.id and rid not in done:
            done.add(rid)
            yield from with_followers(rev)
    for rev in page:
        if rev.id in skip:
            continue
        yield from with_followers(rev)
    for rid in sorted(skip - done):  # their predecessor is gone: at the end
        rev = dump.get_revision(rid)
        if rev is not None and rev.page_id == page.id:
            yield rev


def _ids_in_range(page, revstart, revend):
    for rev in page:
        if (revstart is None or rev.id >= revstart) and (revend is None or rev.id < revend):
            yield rev
