#!/usr/bin/env python3
"""Extract every revision text of a MediaWiki dump into one flat file.

Layer: a benchmark helper outside the package (input of
``benchmarks/text_layout.c``). It reads the dump once with
``incrdump.xmlread.XMLReader`` and writes, in document order, one record per
slot that has text:

    i64 page id | i64 rev id | u32 slot index | u32 length | the text (UTF-8)

all little-endian. Slot index 0 is the main slot, others follow the order of
``rev.slots``. Texts keep the exact bytes the reader produced.

Usage::

    python benchmarks/extract_texts.py [DUMP] [OUT]
    # defaults: /work/shared/data/bench/peps-history.xml.xz /tmp/incrdump-texts.bin
"""
import struct
import sys
import time

from incrdump.xmlread import XMLReader

DEFAULT_XML = "/work/shared/data/bench/peps-history.xml.xz"
DEFAULT_OUT = "/tmp/incrdump-texts.bin"


def extract(src, out):
    """Write the records of src to out; return (pages, texts, bytes)."""
    pages = texts = nbytes = 0
    with XMLReader(src, allow_control_chars=True) as dump, open(out, "wb") as f:
        for page in dump:
            pages += 1
            for rev in page:
                for slot, s in enumerate(rev.slots.values()):
                    if s.text is None:
                        continue
                    b = s.text.encode("utf-8")
                    f.write(struct.pack("<qqII", page.id, rev.id, slot, len(b)))
                    f.write(b)
                    texts += 1
                    nbytes += len(b)
    return pages, texts, nbytes


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_XML
    out = sys.argv[2] if len(sys.argv) > 2 else DEFAULT_OUT
    t0 = time.perf_counter()
    pages, texts, nbytes = extract(src, out)
    print(f"{out}: {pages} pages, {texts} texts, {nbytes / 1e6:.1f} MB "
          f"({time.perf_counter() - t0:.1f} s)")


if __name__ == "__main__":
    main()
