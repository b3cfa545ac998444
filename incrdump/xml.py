"""MediaWiki XML in and out, from Python: the public face of incrdump's XML side.

Layer: xml / sources (DESIGN.md §2). Nothing is implemented here: the names
come from :mod:`incrdump.xmlread` (the streaming reader), :mod:`incrdump.load`
(XML into a new dump), :mod:`incrdump.xmlwrite` (a dump out as XML) and
:mod:`incrdump.sources` (compressed inputs), so a
script needs one import whatever it does with export XML::

    from incrdump.xml import XMLReader, export, load

    with XMLReader("enwiki-pages-meta-history.xml.bz2") as dump:   # read
        for page in dump:
            for rev in page:
                rev.id, rev.timestamp, rev.user.text, rev.text

    load("enwiki.idump", ["part1.xml.bz2", "part2.xml.bz2"])       # import
    export("enwiki.idump", "enwiki-current.xml.bz2", mode="current")  # export

The reader and load take what ``incrdump import`` takes: schema 0.3 to
0.11, UTF-8 or UTF-16, plain, .bz2 (multistream too), .gz, .xz, .zst or
.7z, ``"-"`` for standard input; export writes what ``incrdump2xml``
writes (docs/xml.md). This module is ``incrdump.xml``; inside the package every
import is absolute or explicitly relative, so it never hides the standard
library's :mod:`xml` (``from xml.parsers import expat`` still means the
standard library's).
"""
from .load import load
from .sources import COMPRESSIONS, Source, detect_compression, open_source
from .xmlread import (
    Contributor,
    Deleted,
    Namespace,
    Page,
    RawElement,
    Revision,
    SiteInfo,
    Slot,
    XMLReader,
    sha1_base36,
)

# ---- export: XML out of a dump ------------------------------------------------------
from .xmlwrite import DEFAULT_STYLE, MODES, SCHEMAS, XMLWriter, export  # noqa: E402

__all__ = [
    "XMLReader", "load", "open_source", "detect_compression", "Source", "COMPRESSIONS",
    "SiteInfo", "Namespace", "Page", "Revision", "Contributor", "Slot", "Deleted",
    "RawElement", "sha1_base36", "export", "XMLWriter", "MODES", "SCHEMAS", "DEFAULT_STYLE",
]
