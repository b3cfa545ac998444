"""incrdump: MediaWiki dumps as binary files that update in place and read at random.

Python layer over the C core in ``csrc/`` (built with cffi as
``incrdump._incrdump``). Layers, lowest first: ``_lowlevel`` (1:1 over the C
library, status codes turned into exceptions from ``errors``) -> the classes
(``Dump``, ``Page``, ``Revision``) -> xml / sources / diff -> drivers and CLI.
"""

__version__ = "0.1.0"
