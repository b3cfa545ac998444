#!/usr/bin/env python3
"""Revision-text layouts on the bench corpus: stored size and read latency.

Layer: a benchmark script outside the package. It builds ``csrc/codec.c``
(with ``status.c``) into a temporary shared library and drives it through
ctypes, so every size includes the real text-frame header (docs/format.md,
"Text frames") and every latency is the real decoder with its length and
CRC-32 checks. Dictionary training and the zstd-format dictionary row call
libzstd directly (ctypes, stable API). It measures; it passes or fails
nothing. Input: a MediaWiki export 0.11 full-history dump (default
``/work/shared/data/bench/peps-history.xml.xz``), decompressed once into a
temporary directory.

Layouts of the revision texts of every page (DESIGN.md section 3), all zstd
at ``--level`` (default 19) unless named otherwise. A revision whose text
equals an earlier one of the same page is stored as *Equal* (no bytes) in
every layout.

  chain          one frame per revision, its prefix the previous revision
                 (unbounded chains); also at ``--chain-levels`` (3, 9)
  snap16         the same, but every 16th revision is a *snapshot*: a delta
                 against the previous snapshot (two levels: <= 15 deltas
                 after a chain of snapshots)
  pack-256K/1M/4M/page  consecutive revisions concatenated into one frame
                 of at most that much raw text (a larger revision is a pack
                 of its own; "page": all of a page's revisions in one
                 frame); each pack's prefix is the last revision of the
                 previous pack, so reading one revision decodes its pack and
                 the chain of packs before it
  pack-1M-solo   packs of 1 MiB without a prefix: a read is one frame
  pack-1M-d4     pack-1M, but every 4th pack of a page has no prefix
                 (``--pack-depth``), so a read decodes at most 4 packs
  ...+dict       packs without a prefix compressed against a 110 KB
                 dictionary trained in a pre-pass on the first revisions (D
                 flag); the size includes the dictionary once. For 256 KiB
                 and 1 MiB packs (``--depth-packs``) and for pack-4M
  first revs     each page's first revision alone: no dictionary;
                 dictionaries trained on the first revisions (``--dict-kb``,
                 110 KB and 1 MB) used as raw content (our codec's D flag);
                 the first one as a full zstd dictionary (entropy tables, not
                 expressible in our frames); one xz -9 stream of all of them
  anchors        ``xz -9`` and ``zstd -19 --long=27`` of the whole XML
                 (texts *and* metadata), each timed (CPU seconds of the
                 child), and their decompression

Read latency: ``--samples`` revisions drawn uniformly at random (seeded),
the same for every layout; each read decodes every frame on its path
(nothing cached between reads) from memory, so it excludes I/O and index
lookups. Shown as p50/p99 and the mean number of frames and megabytes
decoded per read.

Usage::

    python benchmarks/bench_textcodec.py                  # 6-9 minutes on 2 cores
    python benchmarks/bench_textcodec.py --pages 100 --no-anchors   # quick look
    python benchmarks/bench_textcodec.py --json out.json
"""

import argparse
import ctypes
import ctypes.util
import hashlib
import json
import lzma
import os
import platform
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import xml.etree.ElementTree as ET
import zlib

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_XML = "/work/shared/data/bench/peps-history.xml.xz"
MB = 1e6

CODEC_STORED, CODEC_ZSTD, CODEC_XZ = 0, 1, 2
# Stable zstd.h parameter ids (ZSTD_cParameter).
ZSTD_C_LEVEL, ZSTD_C_WINDOWLOG = 100, 101
ZSTD_C_CONTENTSIZE, ZSTD_C_CHECKSUM, ZSTD_C_DICTID = 200, 201, 202


# ---- the codec, through ctypes ------------------------------------------------

def build_codec(tmp):
    """Compile csrc/codec.c + status.c (-O2) into tmp; return the CDLL."""
    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if not cc:
        sys.exit("bench_textcodec: needs a C compiler (cc)")
    so = os.path.join(tmp, "libcodec.so")
    csrc = os.path.join(REPO, "csrc")
    subprocess.run([cc, "-std=c11", "-D_GNU_SOURCE=", "-O2", "-shared", "-fPIC", "-I", csrc,
                    "-o", so, os.path.join(csrc, "codec.c"), os.path.join(csrc, "status.c"),
                    "-lzstd", "-llzma"], check=True)
    lib = ctypes.CDLL(so)
    vp, sz = ctypes.c_void_p, ctypes.c_size_t
    lib.codec_new.restype = vp
    lib.codec_free.argtypes = [vp]
    lib.codec_encode.argtypes = [vp, ctypes.c_int, ctypes.c_int, vp, sz, vp, sz, vp, sz,
                                 ctypes.POINTER(vp), ctypes.POINTER(sz), vp]
    lib.codec_decode.argtypes = [vp, vp, sz, vp, sz, vp, sz,
                                 ctypes.POINTER(vp), ctypes.POINTER(sz), vp]
    return lib


class Codec:
    """One Codec context. Results of decode_ptr are borrowed (codec.h): valid
    through the next call, so a chain passes each one straight back in."""

    def __init__(self, lib):
        self.lib = lib
        self.c = lib.codec_new()
        self.err = ctypes.create_string_buffer(520)    # ErrorInfo
        self.p, self.n = ctypes.c_void_p(), ctypes.c_size_t()
        self._pp, self._pn = ctypes.byref(self.p), ctypes.byref(self.n)

    def _fail(self, what, rc):
        raise RuntimeError("%s: status %d: %s" % (what, rc, self.err.raw[8:].split(b"\0")[0]))

    def encode(self, codec, level, src, prefix=b"", dictionary=b""):
        rc = self.lib.codec_encode(self.c, codec, level, prefix, len(prefix), dictionary,
                                   len(dictionary), src, len(src), self._pp, self._pn, self.err)
        if rc:
            self._fail("codec_encode", rc)
        return ctypes.string_at(self.p.value, self.n.value)

    def decode_ptr(self, frame, prefix_ptr, prefix_len, dict_ptr=None, dict_len=0):
        rc = self.lib.codec_decode(self.c, frame, len(frame), prefix_ptr, prefix_len,
                                   dict_ptr, dict_len, self._pp, self._pn, self.err)
        if rc:
            self._fail("codec_decode", rc)
        return self.p.value or 0, self.n.value

    def close(self):
        self.lib.codec_free(self.c)


class Zstd:
    """The bits of libzstd's stable API this script uses directly."""

    def __init__(self):
        name = ctypes.util.find_library("zstd")
        self.lib = ctypes.CDLL(name or "libzstd.so.1")
        L = self.lib
        vp, sz = ctypes.c_void_p, ctypes.c_size_t
        L.ZSTD_createCCtx.restype = vp
        L.ZSTD_freeCCtx.argtypes = [vp]
        L.ZSTD_CCtx_setParameter.argtypes = [vp, ctypes.c_int, ctypes.c_int]
        L.ZSTD_CCtx_setParameter.restype = sz
        L.ZSTD_CCtx_loadDictionary.argtypes = [vp, vp, sz]
        L.ZSTD_CCtx_loadDictionary.restype = sz
        L.ZSTD_compress2.argtypes = [vp, vp, sz, vp, sz]
        L.ZSTD_compress2.restype = sz
        L.ZSTD_compressBound.argtypes = [sz]
        L.ZSTD_compressBound.restype = sz
        L.ZSTD_isError.argtypes = [sz]
        L.ZDICT_trainFromBuffer.argtypes = [vp, sz, vp, ctypes.POINTER(sz), ctypes.c_uint]
        L.ZDICT_trainFromBuffer.restype = sz
        L.ZDICT_isError.argtypes = [sz]

    def train(self, samples, size):
        """ZDICT_trainFromBuffer (fastCover, k optimised): a zstd-format dictionary."""
        blob = b"".join(samples)
        sizes = (ctypes.c_size_t * len(samples))(*[len(s) for s in samples])
        out = ctypes.create_string_buffer(size)
        r = self.lib.ZDICT_trainFromBuffer(out, size, blob, sizes, len(samples))
        if self.lib.ZDICT_isError(r):
            raise RuntimeError("dictionary training failed")
        return out.raw[:r]

    def compress_with_dict(self, srcs, level, dictionary):
        """Frames of each src with a zstd-format dictionary (entropy tables
        included), content size on, no checksum or dict id: sizes only."""
        L = self.lib
        cctx = L.ZSTD_createCCtx()
        sizes = []
        try:
            for src in srcs:
                L.ZSTD_CCtx_setParameter(cctx, ZSTD_C_LEVEL, level)
                L.ZSTD_CCtx_setParameter(cctx, ZSTD_C_CHECKSUM, 0)
                L.ZSTD_CCtx_setParameter(cctx, ZSTD_C_DICTID, 0)
                L.ZSTD_CCtx_loadDictionary(cctx, dictionary, len(dictionary))
                cap = L.ZSTD_compressBound(len(src))
                out = ctypes.create_string_buffer(cap)
                r = L.ZSTD_compress2(cctx, out, cap, src, len(src))
                if L.ZSTD_isError(r):
                    raise RuntimeError("ZSTD_compress2 failed")
                sizes.append(r)
        finally:
            L.ZSTD_freeCCtx(cctx)
        return sizes


# ---- the corpus ------------------------------------------------------------------

# C0 controls other than tab, LF, CR are not XML 1.0, but the corpus has form
# feeds from the plain-text PEPs (incrdump.xmlread: allow_control_chars).
# They travel through expat as private-use characters and come back after.
_CONTROLS = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_PUA = 0xF700
_UNMAP = {_PUA + b: b for b in range(32)}


class _ControlsMapped:
    """A binary file whose reads have the controls replaced (UTF-8 input)."""

    def __init__(self, f):
        self.f = f

    def read(self, n=-1):
        return _CONTROLS.sub(lambda m: chr(_PUA + m[0][0]).encode(), self.f.read(n))


def pages(xml_path, limit=None):
    """Yield the list of revision texts (UTF-8 bytes) of each page, in order."""
    with open(xml_path, "rb") as f:
        yield from _pages(_ControlsMapped(f), limit)


def _pages(source, limit):
    ns = ""
    count = 0
    context = ET.iterparse(source, events=("start", "end"))
    _, root = next(context)
    if root.tag.startswith("{"):
        ns = root.tag[: root.tag.index("}") + 1]
    page_tag, rev_tag, text_tag = ns + "page", ns + "revision", ns + "text"
    texts = []
    for event, elem in context:
        if event != "end":
            continue
        if elem.tag == rev_tag:
            t = elem.find(text_tag)
            v = (t.text or "") if t is not None else ""
            texts.append(v.translate(_UNMAP).encode("utf-8", "surrogatepass"))
        elif elem.tag == page_tag:
            yield texts
            texts = []
            root.clear()
            count += 1
            if limit and count >= limit:
                return


# ---- layouts ------------------------------------------------------------------------

class Layout:
    """Stored frames and how each revision is read.

    Frame j has frames[j] (bytes), prefix[j] = (frame k, offset, length)
    of k's output or None, and uses_dict[j]. Revision r is read as the slice
    (off[r], length[r]) of frame node[r]'s output."""

    def __init__(self, name, note):
        self.name, self.note = name, note
        self.frames, self.prefix, self.uses_dict = [], [], []
        self.dict_size = 0
        self.node, self.off, self.length = [], [], []
        self.encode_cpu = 0.0

    def add_frame(self, codec, level, src, prefix_ref, prefix_bytes, dict_bytes=b""):
        t0 = time.process_time()
        f = codec.encode(CODEC_ZSTD, level, src, prefix_bytes, dict_bytes)
        self.encode_cpu += time.process_time() - t0
        self.frames.append(f)
        self.prefix.append(prefix_ref)
        self.uses_dict.append(bool(dict_bytes))
        self.dict_size = max(self.dict_size, len(dict_bytes))
        return len(self.frames) - 1

    def add_rev(self, node, off, length):
        self.node.append(node)
        self.off.append(off)
        self.length.append(length)

    def size(self):
        """Frames, plus the dictionary once if any frame uses it."""
        return sum(len(f) for f in self.frames) + (self.dict_size if any(self.uses_dict) else 0)

    def path(self, r):
        """Frames to decode for revision r, root first."""
        p, j = [], self.node[r]
        while j is not None:
            p.append(j)
            j = self.prefix[j][0] if self.prefix[j] else None
        p.reverse()
        return p


def equal_map(texts):
    """For each revision, the index of the first earlier identical text of
    the page, or None (a new text)."""
    seen, out = {}, []
    for i, t in enumerate(texts):
        h = hashlib.blake2b(t, digest_size=16).digest()
        out.append(seen.get(h))
        seen.setdefault(h, i)
    return out


def build_chain(lay, codec, level, texts, eq, snapshot_every=0):
    """Per-revision frames: prefix = previous revision, or for every
    snapshot_every-th revision the previous snapshot (two-level scheme)."""
    base = len(lay.node)                        # global index of revision 0
    for i, t in enumerate(texts):
        if eq[i] is not None:
            g = base + eq[i]
            lay.add_rev(lay.node[g], lay.off[g], lay.length[g])
            continue
        if i == 0:
            b = None
        elif snapshot_every and i % snapshot_every == 0:
            b = i - snapshot_every
        else:
            b = i - 1
        if b is None:
            j = lay.add_frame(codec, level, t, None, b"")
        else:
            g = base + b
            ref = (lay.node[g], lay.off[g], lay.length[g])
            j = lay.add_frame(codec, level, t, ref, texts[b])
        lay.add_rev(j, 0, len(t))


def build_packs(lay, codec, level, texts, eq, bound, chained=True, solo_every=0,
                dictionary=b""):
    """Consecutive new texts concatenated into frames of <= bound raw bytes
    (a longer text alone); prefix = last text of the previous pack, except
    for the page's first pack, every pack when not chained, and every
    solo_every-th pack (bounding a read to solo_every packs). Packs without
    a prefix use the dictionary, if one is given."""
    base = len(lay.node)
    packs, cur = [], []
    for i, t in enumerate(texts):
        if eq[i] is not None:
            continue
        if cur and sum(len(texts[k]) for k in cur) + len(t) > bound:
            packs.append(cur)
            cur = []
        cur.append(i)
    if cur:
        packs.append(cur)
    where = {}                                   # revision -> (frame, offset)
    prev = None                                  # (frame, offset, length, bytes) of the last text
    for n, members in enumerate(packs):
        src = b"".join(texts[k] for k in members)
        if chained and prev and not (solo_every and n % solo_every == 0):
            j = lay.add_frame(codec, level, src, prev[:3], prev[3])
        else:
            j = lay.add_frame(codec, level, src, None, b"", dictionary)
        off = 0
        for k in members:
            where[k] = (j, off)
            off += len(texts[k])
        last = members[-1]
        prev = (j, where[last][1], len(texts[last]), texts[last])
    for i, t in enumerate(texts):
        j, off = where[i if eq[i] is None else eq[i]]
        lay.add_rev(j, off, len(t))
    assert len(lay.node) == base + len(texts)


# ---- anchors, in a background thread ------------------------------------------------

def run_timed(argv, stdin_path, stdout_path):
    """Run argv with stdin/stdout redirected; return (wall s, CPU s of the child)."""
    with open(stdin_path, "rb") as fin, open(stdout_path, "wb") as fout:
        t0 = time.perf_counter()
        p = subprocess.Popen(argv, stdin=fin, stdout=fout)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        raise RuntimeError("%s failed (%d)" % (" ".join(argv), p.returncode))
    return wall, ru.ru_utime + ru.ru_stime


def anchors(xml, tmp, out):
    """xz -9 and zstd -19 --long=27 of the whole XML, and their decompression."""
    try:
        for name, comp, decomp, ext in (
                ("xz -9", ["xz", "-9", "-T1", "-c"], ["xz", "-dc"], ".xz"),
                ("zstd -19 --long=27", ["zstd", "-q", "-19", "--long=27", "-T1", "-c"],
                 ["zstd", "-q", "-d", "--long=27", "-c"], ".zst")):
            if not shutil.which(comp[0]):
                out[name] = {"error": "%s not found" % comp[0]}
                continue
            path = os.path.join(tmp, "anchor" + ext)
            wall, cpu = run_timed(comp, xml, path)
            dwall, dcpu = run_timed(decomp, path, os.devnull)
            out[name] = {"size": os.path.getsize(path), "compress_cpu": cpu, "compress_wall": wall,
                         "decompress_cpu": dcpu, "decompress_wall": dwall}
            os.unlink(path)
    except Exception as e:  # reported in the table, not hidden
        out["error"] = repr(e)


# ---- reads --------------------------------------------------------------------------

def time_reads(lay, codec, sample, crcs, dictionary):
    """Decode each sampled revision from scratch; latencies in seconds, and
    the mean frames and bytes decoded per read. Checks every result."""
    lat, nframes, nbytes = [], 0, 0
    dptr = dictionary or None
    dlen = len(dictionary)
    perf = time.perf_counter
    for r in sample:
        path = lay.path(r)
        t0 = perf()
        ptr, n = 0, 0
        for j in path:
            pref = lay.prefix[j]
            if pref:
                ptr, n = codec.decode_ptr(lay.frames[j], ptr + pref[1], pref[2],
                                          dptr if lay.uses_dict[j] else None,
                                          dlen if lay.uses_dict[j] else 0)
            else:
                ptr, n = codec.decode_ptr(lay.frames[j], None, 0,
                                          dptr if lay.uses_dict[j] else None,
                                          dlen if lay.uses_dict[j] else 0)
            nbytes += n
        lat.append(perf() - t0)
        nframes += len(path)
        got = ctypes.string_at(ptr + lay.off[r], lay.length[r]) if lay.length[r] else b""
        if zlib.crc32(got) != crcs[r]:
            raise RuntimeError("%s: revision %d read back wrong" % (lay.name, r))
    lat.sort()
    q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))]
    return {"p50": q(0.50), "p99": q(0.99), "max": lat[-1], "frames": nframes / len(sample),
            "mb": nbytes / len(sample) / MB, "max_frames": max(len(lay.path(r)) for r in sample)}


# ---- main -----------------------------------------------------------------------------

def _size_arg(text):
    """'256K', '1M', '4M' -> bytes; 'page' -> 0 (one pack per page)."""
    text = text.strip()
    if text == "page":
        return 0
    mult = {"K": 1 << 10, "M": 1 << 20}.get(text[-1:].upper(), 1)
    return int(text[:-1] if mult > 1 else text) * mult


def _size_name(n):
    if n == 0:
        return "page"
    return "%dM" % (n >> 20) if n % (1 << 20) == 0 else "%dK" % (n >> 10)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--xml", default=DEFAULT_XML, help="dump (.xml or .xml.xz)")
    ap.add_argument("--level", type=int, default=19, help="zstd level of the layouts")
    ap.add_argument("--chain-levels", default="3,9",
                    help="also the chain layout at these levels (comma-separated)")
    ap.add_argument("--packs", default="256K,1M,4M,page",
                    help="pack bounds of raw text; 'page' = a whole page per frame")
    ap.add_argument("--pack-depth", type=int, default=4,
                    help="also pack-1M with every Nth pack of a page without prefix (0: no)")
    ap.add_argument("--depth-packs", default="256K,1M",
                    help="pack bounds of the depth-bounded layouts with a dictionary")
    ap.add_argument("--samples", type=int, default=2000, help="random revisions read per layout")
    ap.add_argument("--dict-kb", default="110,1024",
                    help="trained dictionary sizes in KB (comma-separated); the first is used "
                         "for the zstd-format comparison")
    ap.add_argument("--pages", type=int, default=0, help="only the first N pages (quick look)")
    ap.add_argument("--no-anchors", action="store_true", help="skip xz -9 / zstd --long runs")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", help="write every figure here")
    args = ap.parse_args(argv)
    args.chain_levels = [int(x) for x in args.chain_levels.split(",") if x.strip()]
    args.packs = [_size_arg(x) for x in args.packs.split(",") if x.strip()]
    args.depth_packs = [_size_arg(x) for x in args.depth_packs.split(",") if x.strip()]
    args.dict_kb = [int(x) for x in args.dict_kb.split(",") if x.strip()]

    tmp = tempfile.mkdtemp(prefix="bench_textcodec.")
    try:
        return run(args, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def make_layouts(args, dictionary):
    """[(Layout, builder(layout, codec, texts, eq))] for the options."""
    L = args.level
    d = dictionary
    out = [(Layout("chain -%d" % L, "one frame per revision, prefix = previous revision, "
                   "unbounded"),
            lambda lay, c, t, e: build_chain(lay, c, L, t, e))]
    for lv in args.chain_levels:
        if lv != L:
            out.append((Layout("chain -%d" % lv, "the same at zstd level %d" % lv),
                        lambda lay, c, t, e, lv=lv: build_chain(lay, c, lv, t, e)))
    out.append((Layout("snap16", "chain; every 16th revision a delta vs the previous "
                       "snapshot"),
                lambda lay, c, t, e: build_chain(lay, c, L, t, e, snapshot_every=16)))
    for bound in args.packs:
        b = bound or (1 << 62)
        out.append((Layout("pack-%s" % _size_name(bound),
                           "packs of <= %s raw, prefix = previous pack's last text" % (
                               _size_name(bound) if bound else "a whole page")),
                    lambda lay, c, t, e, b=b: build_packs(lay, c, L, t, e, b)))
    out.append((Layout("pack-1M-solo", "packs of <= 1 MiB raw, no prefix"),
                lambda lay, c, t, e: build_packs(lay, c, L, t, e, 1 << 20, chained=False)))
    k = args.pack_depth
    if k:
        out.append((Layout("pack-1M-d%d" % k, "pack-1M, every %dth pack without prefix" % k),
                    lambda lay, c, t, e: build_packs(lay, c, L, t, e, 1 << 20, solo_every=k)))
    if d:
        for bound in (args.depth_packs if k else []):
            out.append((Layout("pack-%s-d%d+dict" % (_size_name(bound), k),
                               "packs of <= %s, every %dth without prefix; those against the "
                               "dictionary" % (_size_name(bound), k)),
                        lambda lay, c, t, e, b=bound: build_packs(
                            lay, c, L, t, e, b, solo_every=k, dictionary=d)))
        out.append((Layout("pack-4M+dict", "pack-4M, each page's first pack against the "
                           "dictionary"),
                    lambda lay, c, t, e: build_packs(lay, c, L, t, e, 4 << 20, dictionary=d)))
    return out


def first_revisions(args, codec, zstd, firsts):
    """Rows (name, frames bytes, dictionary bytes) for the first revisions,
    and the raw-content dictionaries trained (size KB -> bytes)."""
    L = args.level
    plain = sum(len(codec.encode(CODEC_ZSTD, L, t)) for t in firsts)
    rows = [("zstd -%d, no dictionary" % L, plain, 0)]
    dicts = {}
    for kb in args.dict_kb:
        log("first revisions: training a %d KB dictionary ..." % kb)
        t0 = time.process_time()
        d = zstd.train(firsts, kb * 1024)
        cpu = time.process_time() - t0
        dicts[kb] = d
        frames = [codec.encode(CODEC_ZSTD, L, t, b"", d) for t in firsts]
        for f, t in zip(frames[:50], firsts[:50]):      # they do decode
            p, n = codec.decode_ptr(f, None, 0, d, len(d))
            assert ctypes.string_at(p, n) == t
        rows.append(("zstd -%d, %d KB dictionary (trained in %.1f s) as raw content, D flag"
                     % (L, kb, cpu), sum(map(len, frames)), len(d)))
        if kb == args.dict_kb[0]:
            header = sum(1 + len(_varint(len(t))) + 4 for t in firsts)
            full = sum(zstd.compress_with_dict(firsts, L, d)) + header
            rows.append(("zstd -%d, the same %d KB dictionary in zstd format (entropy tables)"
                         % (L, kb), full, len(d)))
    rows.append(("xz -9, one stream of all first revisions (no random access)",
                 len(lzma.compress(b"".join(firsts), preset=9)), 0))
    return rows, dicts


def run(args, tmp):
    t_start = time.perf_counter()
    load_start = os.getloadavg()
    xml = args.xml
    if xml.endswith(".xz"):
        log("decompressing %s into %s" % (xml, tmp))
        out = os.path.join(tmp, "dump.xml")
        with open(out, "wb") as f:
            subprocess.run(["xz", "-dkc", xml], stdout=f, check=True)
        xml = out
    lib = build_codec(tmp)
    codec = Codec(lib)
    zstd = Zstd()
    L = args.level

    anchor_out = {}
    thread = None
    if not args.no_anchors and not args.pages:
        thread = threading.Thread(target=anchors, args=(xml, tmp, anchor_out), daemon=True)
        thread.start()

    # The dictionary layouts need it before the main pass: train it on the
    # first revisions, read in a pre-pass.
    log("pre-pass: first revisions, %d KB dictionary ..." % args.dict_kb[0])
    pre_firsts = [texts[0] for texts in pages(xml, args.pages or None) if texts]
    dictionary = zstd.train(pre_firsts, args.dict_kb[0] * 1024) if args.dict_kb else b""
    del pre_firsts
    layouts = make_layouts(args, dictionary)
    crcs, firsts = [], []
    npages = nrevs = nequal = raw = 0
    log("encoding %d layouts ..." % len(layouts))
    t_enc = time.perf_counter()
    for texts in pages(xml, args.pages or None):
        eq = equal_map(texts)
        npages += 1
        nrevs += len(texts)
        nequal += sum(e is not None for e in eq)
        raw += sum(len(t) for t in texts)
        crcs.extend(zlib.crc32(t) for t in texts)
        if texts:
            firsts.append(texts[0])
        for lay, build in layouts:
            build(lay, codec, texts, eq)
        if npages % 100 == 0:
            log("  %d pages, %d revisions, %.0f s" % (npages, nrevs, time.perf_counter() - t_enc))
    log("  %d pages, %d revisions (%d Equal), %.1f MB of text, %.0f s" % (
        npages, nrevs, nequal, raw / MB, time.perf_counter() - t_enc))

    first_rows, dicts = first_revisions(args, codec, zstd, firsts)

    if thread:
        log("waiting for the anchors (xz -9, zstd -19 --long=27) ...")
        thread.join()

    rng = random.Random(args.seed)
    sample = [rng.randrange(nrevs) for _ in range(min(args.samples, nrevs))]
    reads = {}
    for lay, _ in layouts:
        log("reading %d random revisions: %s" % (len(sample), lay.name))
        reads[lay.name] = time_reads(lay, codec, sample, crcs, dictionary)
    codec.close()

    # ---- report -----------------------------------------------------------------------
    xz_anchor = anchor_out.get("xz -9", {}).get("size")
    ref = xz_anchor or (os.path.getsize(args.xml) if args.xml.endswith(".xz") else None)
    ref_name = ("xz -9 of the XML" if xz_anchor else
                "the input .xz file" if ref else "nothing (no anchor)")
    ratio = lambda n: "%.2f" % (n / ref) if ref else "–"
    print()
    print("# Revision text layouts — %s" % os.path.basename(args.xml))
    print()
    print("%d pages, %d revisions (%d stored as Equal), %.1f MB of revision text; zstd level "
          "%d unless named; ratio = size / %s (%.2f MB). Sizes are text frames only "
          "(docs/format.md \"Text frames\", headers included), plus the dictionary once "
          "where used (+dict: %d bytes); the XML anchors also hold all "
          "metadata. Reads: %d random revisions from memory, every frame on the path decoded, "
          "length and CRC-32 checked." % (npages, nrevs, nequal, raw / MB, L, ref_name,
                                          (ref or 0) / MB, len(dictionary), len(sample)))
    print()
    print("| layout | MB | ratio | frames | encode CPU s | read p50 ms | read p99 ms | "
          "frames/read mean (max) | MB decoded/read |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    rows = {}
    for lay, _ in layouts:
        s, rd = lay.size(), reads[lay.name]
        rows[lay.name] = {"size": s, "frames": len(lay.frames), "encode_cpu": lay.encode_cpu,
                          **rd, "note": lay.note}
        print("| %s | %.2f | %s | %d | %.1f | %.3f | %.3f | %.1f (%d) | %.2f |" % (
            lay.name, s / MB, ratio(s), len(lay.frames), lay.encode_cpu, rd["p50"] * 1e3,
            rd["p99"] * 1e3, rd["frames"], rd["max_frames"], rd["mb"]))
    print()
    print("First revisions: %d texts, %.1f MB raw; dictionaries trained on them "
          "(ZDICT_trainFromBuffer):" % (len(firsts), sum(map(len, firsts)) / MB))
    print()
    print("| first revisions | MB | MB + dictionary | ratio |")
    print("|---|---:|---:|---:|")
    for name, s, d in first_rows:
        print("| %s | %.3f | %.3f | %s |" % (name, s / MB, (s + d) / MB, ratio(s + d)))
    # The chain layouts store each first revision exactly as the "no dictionary" row.
    raw_rows = [r for r in first_rows if "raw content" in r[0]]
    best = min(raw_rows, key=lambda r: r[1] + r[2]) if raw_rows else None
    if best:
        swap = best[1] + best[2] - first_rows[0][1]
        print()
        print("With the first revisions as in \"%s\": chain -%d %.2f MB, snap16 %.2f MB." % (
            best[0], L, (layouts[0][0].size() + swap) / MB,
            (next(l for l, _ in layouts if l.name == "snap16").size() + swap) / MB))
    print()
    if anchor_out:
        print("| anchor (whole XML) | MB | ratio | compress CPU s | decompress CPU s |")
        print("|---|---:|---:|---:|---:|")
        for name in ("xz -9", "zstd -19 --long=27"):
            a = anchor_out.get(name, {})
            if "size" in a:
                print("| %s | %.2f | %s | %.1f | %.2f |" % (
                    name, a["size"] / MB, ratio(a["size"]), a["compress_cpu"],
                    a["decompress_cpu"]))
            else:
                print("| %s | %s | | | |" % (name, a.get("error", anchor_out.get("error"))))
        print()
    print("Total run %.0f s on %s; load average %s at the start, %s at the end." % (
        time.perf_counter() - t_start, platform.node(),
        " ".join("%.2f" % x for x in load_start),
        " ".join("%.2f" % x for x in os.getloadavg())))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"pages": npages, "revisions": nrevs, "equal": nequal, "raw_text": raw,
                       "level": L, "layouts": rows,
                       "first_revisions": [{"name": n, "size": s, "dict": d}
                                           for n, s, d in first_rows],
                       "anchors": anchor_out, "samples": len(sample)}, f, indent=1)
    return 0


def _varint(v):
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


if __name__ == "__main__":
    sys.exit(main())
