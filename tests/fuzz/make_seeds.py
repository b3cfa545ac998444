#!/usr/bin/env python3
"""Write the seed inputs of the fuzz targets under tests/fuzz/corpus/<target>/.

Test tooling, not part of the package. Each decoder has a function
``<target>_seeds()`` returning ``{file name: bytes}``; add it to ``TARGETS``.
Seeds are small valid inputs, so the fuzzer starts past the decoders' first
checks. Run from anywhere: ``python3 tests/fuzz/make_seeds.py [target ...]``.
"""
import ctypes
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))


def varint(v):
    """LEB128, as bytes.h varint_put."""
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def freelist_record(free, pending):
    """Free-space record (freelist.h): free = [(start, len)], pending =
    [(start, len, gen)], each sorted by start; deltas restart per set."""
    out = bytearray(varint(len(free)))
    prev = 0
    for start, length in free:
        out += varint(start - prev) + varint(length)
        prev = start + length
    out += varint(len(pending))
    prev = 0
    for start, length, gen in pending:
        out += varint(start - prev) + varint(length) + varint(gen)
        prev = start + length
    return bytes(out)


def freelist_seeds():
    """fuzz_freelist input: u64 (nblocks - 2), u64 maxgen, then the record."""
    def seed(nblocks, maxgen, free, pending):
        return struct.pack("<QQ", nblocks - 2, maxgen) + freelist_record(free, pending)

    return {
        "empty": seed(2, 0, [], []),
        "free_only": seed(100, 1, [(2, 3), (10, 1), (50, 50)], []),
        "pending_only": seed(100, 9, [], [(5, 2, 7), (7, 1, 9), (90, 10, 1)]),
        "mixed_touching": seed(1000, 5, [(10, 5), (40, 200)],
                               [(15, 5, 1), (20, 5, 5), (25, 15, 2), (240, 760, 3)]),
        "large_values": seed(1 << 40, 1 << 39, [(2, 1), (1 << 32, 1 << 35)],
                             [(200, 300, (1 << 39) - 1), ((1 << 40) - 1, 1, 1)]),
    }


# ---- seeds cut from a real dump --------------------------------------------

BLOCK_SIZE = 4096
BLOCK_HDR = 16
BT_HEADER, BT_LEAF, BT_BRANCH = 1, 2, 3
REPO = os.path.dirname(os.path.dirname(HERE))


def block_checksum(no, block):
    """blockfile.c block_checksum: crc32 of (u64 LE block number || bytes 4..)."""
    return zlib.crc32(block[4:], zlib.crc32(struct.pack("<Q", no)))


def _normalized_header(no, block):
    """A header slot with a fixed uuid and creation time (bytes 40-55, 80-87)
    and its checksum redone, so regenerated seeds do not churn."""
    b = bytearray(block)
    b[40:56] = bytes(range(16))
    b[80:88] = struct.pack("<Q", 1700000000)
    b[0:4] = struct.pack("<I", block_checksum(no, b))
    return bytes(b)


_DUMP_CACHE = {}


def sample_dump():
    """Bytes of a small dump written through the Python API: an int tree of
    a few leaves under a branch (inline and extent values), a byte-string
    tree with an empty key, long shared prefixes (>= 128 bytes), long keys in
    extents, and a few commits. Also the header slots of a fresh dump."""
    if _DUMP_CACHE:
        return _DUMP_CACHE["dump"], _DUMP_CACHE["fresh"]
    sys.path.insert(0, REPO)
    from incrdump import _lowlevel as ll

    with tempfile.TemporaryDirectory() as tmp:
        fresh_path = os.path.join(tmp, "fresh.dump")
        ll.Store(fresh_path, ll.WRITE | ll.CREATE).close()
        path = os.path.join(tmp, "seed.dump")
        with ll.Store(path, ll.WRITE | ll.CREATE) as s:
            s.begin()
            s.tree_create(0, ll.KEY_INT)
            s.tree_create(5, ll.KEY_BYTES)
            s.tree_create(63, ll.KEY_BYTES)
            for i in range(1200):
                key = (i * 7919 - 1000) * (1 << 20 if i % 3 else 1)
                s.put(0, key, bytes([i % 251]) * (i % 17) if i % 50 else b"x" * 900)
            s.put(0, -(1 << 63), b"min")
            s.put(0, (1 << 63) - 1, b"max")
            s.put(5, b"", b"")
            for i in range(40):
                s.put(5, b"p" * 300 + b"%03d" % i, b"v" * (i % 9))
                s.put(5, b"Title/%d" % i, b"w" * (800 if i % 10 == 0 else 10 * i))
            for n in (513, 700, 4100):
                s.put(5, b"L" * n, b"long key")
            s.commit()
            s.begin()
            for i in range(0, 1200, 4):
                s.delete(0, (i * 7919 - 1000) * (1 << 20 if i % 3 else 1))
            s.put(5, b"Title/3", b"replaced")
            s.commit()
        with open(path, "rb") as f:
            dump = f.read()
        with open(fresh_path, "rb") as f:
            fresh = f.read()
    _DUMP_CACHE.update(dump=dump, fresh=fresh)
    return dump, fresh


def _blocks(data):
    for no in range(len(data) // BLOCK_SIZE):
        block = data[no * BLOCK_SIZE:(no + 1) * BLOCK_SIZE]
        if struct.unpack_from("<I", block)[0] == block_checksum(no, block):
            yield no, block


def header_seeds():
    """fuzz_header input: one header slot image (4096 bytes)."""
    dump, fresh = sample_dump()
    seeds = {}
    for name, data in (("dump", dump), ("fresh", fresh)):
        for no, block in _blocks(data[:2 * BLOCK_SIZE]):
            if block[4] == BT_HEADER:
                seeds["%s_slot%d" % (name, no)] = _normalized_header(no, block)
    return seeds


def node_seeds():
    """fuzz_node input: the payload of a tree node block (bytes 16.. up to
    its used length), every distinct leaf and branch of the sample dump."""
    dump, _ = sample_dump()
    seeds = {}
    for no, block in _blocks(dump):
        if no >= 2 and block[4] in (BT_LEAF, BT_BRANCH):
            used = struct.unpack_from("<H", block, 6)[0]
            kind = "leaf" if block[4] == BT_LEAF else "branch"
            key_type = {1: "int", 2: "bytes"}.get(block[BLOCK_HDR], "x")
            seeds["%s_%s_block%d" % (kind, key_type, no)] = block[BLOCK_HDR:BLOCK_HDR + used]
    # Regressions. A leaf whose only entry is the empty key with an empty
    # value: nothing to copy, and node_decode once did arithmetic on a NULL
    # arena. Two keys sharing 128 bytes but encoded with s = 127: the same
    # size as the canonical form, once accepted (docs/format.md: s is the
    # longest common prefix).
    seeds["regress_empty_key_and_value"] = bytes([2, 1, 0, 0, 0])
    seeds["regress_short_shared_prefix"] = (
        bytes([2, 2]) + varint(0) + varint(200 << 1) + b"a" * 200 + varint(0)
        + varint(127) + varint(2 << 1) + b"ab" + varint(0))
    return seeds


# ---- text frames ---------------------------------------------------------------

# The fixed references fuzz_codec.c decodes with (keep the two in step).
CODEC_PREFIX = (
    b"PEP: 8\nTitle: Style Guide for Python Code\nAuthor: Guido van Rossum\n"
    b"Status: Active\n\n== Introduction ==\nThis document gives coding conventions "
    b"for the Python code comprising the standard library.\n")
CODEC_DICT = (
    b"[[Category:Standards Track PEPs]] {{PEP header}} == Abstract == == Rationale == "
    b"== Specification == == References == == Copyright == This document has been "
    b"placed in the public domain.\n")


def _codec_library(tmp):
    """csrc/codec.c and status.c built into a shared library in tmp, loaded
    with ctypes: the seeds are frames written by the real encoder."""
    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if not cc:
        raise RuntimeError("make_seeds: codec seeds need a C compiler")
    so = os.path.join(tmp, "libcodec.so")
    csrc = os.path.join(REPO, "csrc")
    subprocess.run([cc, "-std=c11", "-D_GNU_SOURCE=", "-O1", "-shared", "-fPIC", "-I", csrc,
                    "-o", so, os.path.join(csrc, "codec.c"), os.path.join(csrc, "status.c"),
                    "-lzstd", "-llzma"], check=True)
    lib = ctypes.CDLL(so)
    lib.codec_new.restype = ctypes.c_void_p
    lib.codec_free.argtypes = [ctypes.c_void_p]
    lib.codec_encode.argtypes = [
        ctypes.c_void_p, ctypes.c_int, ctypes.c_int,
        ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_size_t,
        ctypes.c_char_p, ctypes.c_size_t,
        ctypes.POINTER(ctypes.c_void_p), ctypes.POINTER(ctypes.c_size_t), ctypes.c_char_p]
    return lib


def codec_seeds():
    """fuzz_codec input: one text frame. Every codec (0 stored, 1 zstd, 2 xz)
    with no reference, the fixed prefix, the fixed dictionary and both."""
    text = CODEC_PREFIX.replace(b"Active", b"Final") + b"\n== Code lay-out ==\nUse 4 spaces.\n" \
        + CODEC_DICT[:60]
    seeds = {}
    with tempfile.TemporaryDirectory() as tmp:
        lib = _codec_library(tmp)
        codec = lib.codec_new()
        err = ctypes.create_string_buffer(520)
        frame, size = ctypes.c_void_p(), ctypes.c_size_t()
        try:
            for cid, cname in ((0, "stored"), (1, "zstd"), (2, "xz")):
                for rname, pre, dic in (("plain", b"", b""), ("prefix", CODEC_PREFIX, b""),
                                        ("dict", b"", CODEC_DICT),
                                        ("both", CODEC_PREFIX, CODEC_DICT)):
                    if cid == 0 and rname != "plain":
                        continue
                    texts = (("text", text), ("empty", b""))[:2 if rname == "plain" else 1]
                    for tname, src in texts:
                        rc = lib.codec_encode(codec, cid, 19 if cid == 1 else 6,
                                              pre, len(pre), dic, len(dic), src, len(src),
                                              ctypes.byref(frame), ctypes.byref(size), err)
                        if rc != 0:
                            raise RuntimeError("codec_encode failed: %d" % rc)
                        seeds["%s_%s_%s" % (cname, rname, tname)] = ctypes.string_at(
                            frame.value, size.value)
        finally:
            lib.codec_free(codec)
    return seeds


# ---- records ----------------------------------------------------------------------

def zigzag(v):
    """int64 -> uint64, as bytes.h zigzag_enc."""
    return ((v << 1) ^ (v >> 63)) & ((1 << 64) - 1)


def rfield(num, value):
    """One record field (docs/format.md "Records"): an int is a varint
    (wire type 0), bytes are length-delimited (wire type 2)."""
    if isinstance(value, int):
        return varint(num << 3) + varint(value)
    return varint(num << 3 | 2) + varint(len(value)) + value


def record(*fields, body=False):
    """A top-level record (version 1, fields, end marker 00) of (num, value)
    pairs; body=True gives a sub-record (fields only)."""
    out = b"".join(rfield(num, value) for num, value in fields)
    return out if body else b"\x01" + out + b"\x00"


def record_seeds():
    """fuzz_record input: a selector byte (0 site info, 1 page, 2 revision of
    id 1000000), then the record. Written from the specification, not by
    record.c, so the fuzzer also checks that the two agree. fuzz_record's
    strings: id 1 is "", 2..999 exist for every kind."""
    ns = lambda key, name, case=None: record(
        *([(1, zigzag(key))] if key else []), (2, name), *([(3, case)] if case else []),
        body=True)
    empty_sha1 = bytes.fromhex("da39a3ee5e6b4b0d3255bfef95601890afd80709")
    rev_id = 1000000
    slot = record((1, 5), (2, zigzag(rev_id - 999999)), (3, 6), (4, 7), (5, empty_sha1),
                  (7, 1234), (8, 1), (9, b"tt:1"), (10, b"77"), body=True)
    return {
        "siteinfo_empty": b"\x00" + record(),
        "siteinfo": b"\x00" + record(
            (1, b"Wikipedia"), (2, b"enwiki"), (3, b"https://en.wikipedia.org/wiki/Main_Page"),
            (4, b"MediaWiki 1.41"), (5, b"first-letter"), (6, b"en"), (7, b"0.11"),
            (8, ns(-2, b"Media", b"first-letter")), (8, ns(0, b"", b"first-letter")),
            (8, ns(1, b"Talk")), (9, b"<extra/>")),
        "page_empty": b"\x01" + record(),
        "page": b"\x01" + record((1, zigzag(1)), (2, b"Talk:Pear"), (3, 5),
                                 (4, b"Pear (fruit)"), (5, b""), (6, b"<x/>")),
        "revision_empty": b"\x02" + record(),
        "revision_ip": b"\x02" + record((1, zigzag(10)), (2, zigzag(979564500)), (3, 2),
                                        (4, 2), (6, b"hi")),
        # user, minor, main slot sharing the sha1, stored text, origin = itself
        "revision_typical": b"\x02" + record(
            (1, zigzag(rev_id - 999000)), (2, zigzag(1700000000)), (3, 0x7D), (4, 3),
            (5, 41234567), (6, b"Fixed a typo in the second paragraph, ok"),
            (7, empty_sha1), (9, 2), (10, 3), (11, 23456)),
        "revision_full": b"\x02" + record(
            (1, zigzag(rev_id - 1)), (2, zigzag(-62135596800)), (3, 0xFAD),
            (4, 1), (5, 0), (6, b""), (7, empty_sha1), (8, zigzag(3)), (9, 2), (10, 1),
            (11, 0), (12, bytes(20)), (16, b"0001-01-01 00:00:00"), (18, 4),
            (20, b"tt:9"), (21, b"9"), (22, slot), (22, record(body=True)), (23, b"<x/>")),
        "revision_text_sha1": b"\x02" + record(
            (3, 0x08), (17, b"ignored"), (18, 0), (19, b""), (22, slot)),
    }


TARGETS = {"freelist": freelist_seeds, "header": header_seeds, "node": node_seeds,
           "codec": codec_seeds, "record": record_seeds}


def main(argv):
    """Write the seeds of the targets named in argv (default: all)."""
    unknown = [t for t in argv if t not in TARGETS]
    if unknown:
        sys.exit("make_seeds: unknown target(s) %s; known: %s" % (
            " ".join(unknown), " ".join(TARGETS)))
    for target, make in TARGETS.items():
        if argv and target not in argv:
            continue
        directory = os.path.join(HERE, "corpus", target)
        os.makedirs(directory, exist_ok=True)
        for name, data in make().items():
            with open(os.path.join(directory, name), "wb") as f:
                f.write(data)


if __name__ == "__main__":
    main(sys.argv[1:])
