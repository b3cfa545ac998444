"""Split a MediaWiki history XML by date into a base and daily change sets,
for the update-equals-rebuild test (tests/test_update.py) and
benchmarks/bench_update.py.

split_by_date(source, out_dir, days) reads the input twice with XMLReader:
the first pass finds the dates that have revisions and the input's style;
the last ``days`` dates each become one day file, everything before them
the base. The second pass writes every file at once with XMLWriter (in the
input's schema and style, with its site info): a file holds the pages that
have revisions in its period, each with those revisions only and its page
record (the input's: the XML has no older page records). One page's
revisions are held in memory at a time.
"""
import collections
import os

from incrdump.xmlread import XMLReader
from incrdump.xmlwrite import XMLWriter


def dates(source, allow_control_chars=False):
    """(Counter date -> revisions, style, version) of an input."""
    count = collections.Counter()
    with XMLReader(source, allow_control_chars=allow_control_chars) as reader:
        for page in reader:
            for rev in page:
                count[rev.timestamp.date()] += 1
        return count, reader.style, reader.version


def split_by_date(source, out_dir, days, *, allow_control_chars=False, suffix=".xml"):
    """Write base.xml and day-01.xml ... day-NN.xml into out_dir; return
    (base path, [day paths], [the date of each day file])."""
    count, style, version = dates(source, allow_control_chars)
    ordered = sorted(count)
    if len(ordered) <= days:
        raise ValueError(f"{source}: {len(ordered)} dates, not enough for {days} days")
    day_dates = ordered[-days:]
    slot = {d: i + 1 for i, d in enumerate(day_dates)}  # 0: the base
    base, day_paths = write_split(source, out_dir, slot, days, style, version,
                                  allow_control_chars=allow_control_chars, suffix=suffix)
    return base, day_paths, day_dates


def write_split(source, out_dir, slot, days, style, version, *, allow_control_chars=False,
                suffix=".xml"):
    """Write base + day-01 .. day-NN: each revision goes to the file
    slot[its date] (0, or absent: the base), with its page record; return
    (base path, [day paths])."""
    names = ["base"] + [f"day-{i:02d}" for i in range(1, days + 1)]
    paths = [os.path.join(out_dir, n + suffix) for n in names]
    files = [open(p, "wb") for p in paths]
    try:
        with XMLReader(source, allow_control_chars=allow_control_chars) as reader:
            schema = version if version in ("0.10", "0.11") else "0.11"
            writers = [XMLWriter(f, schema=schema, style=style) for f in files]
            for w in writers:
                w.header(_Site(reader), ())
            for page in reader:
                buckets = collections.defaultdict(list)
                for rev in page:
                    buckets[slot.get(rev.timestamp.date(), 0)].append(rev)
                for i in sorted(buckets):
                    writers[i].page(page, buckets[i])
            for w in writers:
                w.footer()
    finally:
        for f in files:
            f.close()
    return paths[0], paths[1:]


class _Site:
    """The reader's site info with the root's version, lang and attributes,
    as XMLWriter.header reads them from a dump's SiteInfo."""

    def __init__(self, reader):
        self._si = reader.siteinfo
        self.version = reader.version
        self.lang = reader.lang
        self.root_attributes = reader.attributes

    def __getattr__(self, name):
        return getattr(self._si, name)
