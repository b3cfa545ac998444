"""The engine demo run by ``scripts/demo``: a real MediaWiki dump in the store.

Layer: a tool over ``_lowlevel`` and ``maintenance``. Until the page and
revision records exist (the next milestone), it keeps the bundled aawiki
current dump in three plain trees -- page id -> wikitext, title -> page id,
revision id -> page id -- then reads at random, edits in place, and checks
the file. Everything it prints is measured in this run.
"""
import argparse
import bz2
import os
import random
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

from . import _lowlevel
from .maintenance import check_file, describe

PAGES, TITLES, REVISIONS = 0, 1, 2
DEFAULT_SOURCE = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    "..", "shared", "data", "real", "aawiki-20260101-pages-meta-current.xml.bz2",
)


def read_pages(path):
    """Yield (page id, namespace, title, revision id, text) from an export file."""
    opener = bz2.open if path.endswith(".bz2") else open
    with opener(path, "rb") as f:
        page = {}
        for _, el in ET.iterparse(f, events=("end",)):
            tag = el.tag.rsplit("}", 1)[-1]
            if tag in ("title", "ns"):
                page[tag] = el.text or ""
            elif tag == "id" and "id" not in page:
                page["id"] = int(el.text)
            elif tag == "id" and "rev" not in page:
                page["rev"] = int(el.text)
            elif tag == "text":
                page["text"] = el.text or ""
            elif tag == "page":
                yield page["id"], int(page.get("ns", 0)), page["title"], page["rev"], page.get("text", "")
                page = {}
                el.clear()


def load(store, pages, batch):
    """Write the pages in transactions of ``batch`` pages; return the count."""
    n = 0
    store.begin()
    for tree, kind in ((PAGES, _lowlevel.KEY_INT), (TITLES, _lowlevel.KEY_BYTES), (REVISIONS, _lowlevel.KEY_INT)):
        store.tree_create(tree, kind)
    for page_id, ns, title, rev_id, text in pages:
        store.put(PAGES, page_id, text.encode())
        store.put(TITLES, b"%d:%s" % (ns, title.encode()), page_id.to_bytes(8, "little"))
        store.put(REVISIONS, rev_id, page_id.to_bytes(8, "little"))
        n += 1
        if n % batch == 0:
            store.commit()
            store.begin()
    store.commit()
    return n


def main(argv=None):
    """Run the demo; returns the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", nargs="?", default=DEFAULT_SOURCE, help="MediaWiki XML export (.xml or .bz2)")
    parser.add_argument("--out", help="dump file to write (default: a temporary file)")
    parser.add_argument("--batch", type=int, default=100, help="pages per transaction")
    args = parser.parse_args(argv)
    if not os.path.exists(args.source):
        print(f"demo: {args.source}: no such file", file=sys.stderr)
        return 1
    tmp = None if args.out else tempfile.TemporaryDirectory()
    path = args.out or os.path.join(tmp.name, "demo.idump")
    try:
        if os.path.exists(path):
            os.unlink(path)
        xml_bytes = bz2.open(args.source).seek(0, 2) if args.source.endswith(".bz2") else os.path.getsize(args.source)
        t0 = time.perf_counter()
        with _lowlevel.Store(path, _lowlevel.CREATE | _lowlevel.WRITE) as store:
            n = load(store, read_pages(args.source), args.batch)
        t_load = time.perf_counter() - t0
        print(f"loaded {n} pages from {os.path.basename(args.source)} ({xml_bytes:,} bytes of XML) "
              f"in {t_load:.2f} s, {n // args.batch + 1} commits")

        with _lowlevel.Store(path) as store:
            cur = store.cursor(TITLES)
            titles = [k for k, _ in cur.items()]
            cur.close()
            rnd = random.Random(42)
            probes = [rnd.choice(titles) for _ in range(20000)]
            t0 = time.perf_counter()
            for title in probes:
                page_id = int.from_bytes(store.get(TITLES, title), "little")
                store.get(PAGES, page_id)
            t_get = time.perf_counter() - t0
            print(f"random reads: {len(probes)} title -> page id -> text lookups, "
                  f"{t_get / len(probes) * 1e6:.1f} us each")
            t0 = time.perf_counter()
            text_bytes = sum(len(v) for _, v in store.cursor(PAGES).items())
            print(f"full scan: {text_bytes:,} bytes of wikitext in {time.perf_counter() - t0:.3f} s")
            sample = titles[len(titles) // 2]
            sample_id = int.from_bytes(store.get(TITLES, sample), "little")
            print(f"page {sample.decode()!r} (id {sample_id}): "
                  f"{store.get(PAGES, sample_id)[:60].decode(errors='replace')!r}...")

        with _lowlevel.Store(path, _lowlevel.WRITE) as store:
            before = store.info()
            store.begin()
            edited = rnd.sample(titles, 50)
            for title in edited:
                page_id = int.from_bytes(store.get(TITLES, title), "little")
                store.put(PAGES, page_id, store.get(PAGES, page_id) + b"\n[[Category:Edited by the demo]]")
            store.commit()
            after = store.info()
            print(f"edited 50 pages in place: generation {before['generation']} -> {after['generation']}, "
                  f"file {before['file_size']:,} -> {after['file_size']:,} bytes")

        result = check_file(path)
        desc = describe(path)
        print(f"check: OK -- {result['nblocks']} blocks: {result['live_blocks']} live, "
              f"{result['free_blocks']} free, {result['pending_blocks']} pending; "
              f"{result['entries']} entries in {result['trees']} trees")
        print(f"dump {desc['uuid']} format {desc['format']} at {path if args.out else '(temporary file)'}")
        return 0
    finally:
        if tmp:
            tmp.cleanup()


if __name__ == "__main__":
    sys.exit(main())
