"""incrdump: MediaWiki dumps as binary files that update in place and read at random.

Python layer over the C core in ``csrc/`` (built with cffi as
``incrdump._incrdump``). Layers, lowest first: ``_lowlevel`` (1:1 over the C
library, status codes turned into exceptions from ``errors``) -> the classes
(``dump``: ``Dump``, ``Page``, ``Revision``) -> xml / sources / diff
(``xmlread``, ``sources``, ``load``) -> drivers and CLI.

    import incrdump
    with incrdump.open("wiki.idump") as dump:
        for page in dump:
            for rev in page:
                print(page.title, rev.id, rev.timestamp, rev.user.text)
"""

__version__ = "0.1.0"

from .dump import (  # noqa: E402
    CODECS,
    KINDS,
    Contributor,
    Deleted,
    Dump,
    Namespace,
    Page,
    RawElement,
    Revision,
    SiteInfo,
    Slot,
    Transaction,
    User,
    map,
    open,
)
from .errors import (  # noqa: E402
    BusyError,
    CorruptDumpError,
    DumpIOError,
    ExistsError,
    IncrdumpError,
    InvalidArgumentError,
    MisuseError,
    NotFoundError,
    ReadOnlyError,
    UnsupportedVersionError,
)
from .load import compact, load  # noqa: E402

__all__ = [
    "Dump", "open", "map", "load", "compact", "Transaction", "SiteInfo", "Namespace", "Page",
    "Revision", "Slot", "Contributor", "User", "Deleted", "RawElement", "KINDS", "CODECS",
    "IncrdumpError", "NotFoundError", "CorruptDumpError", "DumpIOError",
    "UnsupportedVersionError", "BusyError", "InvalidArgumentError", "MisuseError",
    "ReadOnlyError", "ExistsError",
]
