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


# ---- text entries ---------------------------------------------------------------

# fuzz_text.c's dictionary (keep the two in step).
TEXT_DICT = CODEC_DICT
TEXT_PIECE = 664     # docs/format.md "Text storage": a format constant


def text_raw(frame):
    """A Raw entry (docs/format.md "Text storage", "Entries")."""
    return b"\x00" + frame


def text_delta(depth, distance, frame):
    """A Delta entry: depth, distance to its base, frame against the base."""
    return b"\x01" + varint(depth) + varint(distance) + frame


def text_equal(distance, text):
    """An Equal entry: distance to its target, length and CRC-32 of the text."""
    return b"\x02" + varint(distance) + varint(len(text)) + struct.pack("<I", zlib.crc32(text))


def text_chunk(rev, value, kind=0, extra=0, slot=0, page=0):
    """One fuzz_text chunk: rev index 0..15, slot 0/1, page 0/1, kind 0 TEXT
    value, 1 piece `extra`, 2 odd key, 3 entry built by fuzz_text."""
    head = bytes([rev | slot << 4 | page << 5 | kind << 6])
    return head + (bytes([extra]) if kind else b"") + struct.pack("<H", len(value)) + value


def text_entry(rev, entry, slot=0, page=0):
    """The chunks storing an entry as a writer must: its first 664 bytes in
    TEXT, the rest in pieces 1, 2, ... of 664 bytes (the last shorter)."""
    chunks = [text_chunk(rev, entry[:TEXT_PIECE], slot=slot, page=page)]
    for n, off in enumerate(range(TEXT_PIECE, len(entry), TEXT_PIECE), 1):
        chunks.append(text_chunk(rev, entry[off:off + TEXT_PIECE], 1, n, slot, page))
    return chunks


def text_pack(depth, distance, members, text, frame):
    """A Pack entry ("Packs"): pack depth, distance to its prefix (depth >= 1),
    member count, length and CRC-32 of its own text, the pack's frame."""
    return (b"\x03" + varint(depth) + (varint(distance) if depth else b"") + varint(members)
            + varint(len(text)) + struct.pack("<I", zlib.crc32(text)) + frame)


def text_packed(distance, offset, text):
    """A Packed entry: distance to its holder, offset and length of its text
    in the pack's raw bytes, CRC-32."""
    return b"\x04" + varint(distance) + varint(offset) + varint(len(text)) + struct.pack("<I", zlib.crc32(text))


def text_input(h0, h1, chunks, h2=0):
    """h0: bits 0-1 TextStore (bit 0 dictionary, bit 1 xz), bit 2 delete, bit
    3 put, bits 4-7 rev index A (delete: 15 = the page); h1: bit 0 rev and
    page ids from INT64_MIN, bit 1 packed TextStore, bits 2-3 put mode, bits
    4-7 rev index B; h2: bits 0-1 more puts after the first."""
    return bytes([h0, h1, h2]) + b"".join(chunks)


def _lines(seed, n):
    """n lines of wiki-like text, fixed by seed."""
    words = [b"the", b"PEP", b"module", b"syntax", b"should", b"import", b"[[Link]]",
             b"{{Template}}", b"value", b"\xc3\xa9t\xc3\xa9", b"of", b"is", b"== Section =="]
    out, x = [], seed
    for _ in range(n):
        line = []
        for _ in range(8):
            x = (x * 6364136223846793005 + 1442695040888963407) & ((1 << 64) - 1)
            line.append(words[(x >> 33) % len(words)])
        out.append(b" ".join(line))
    return b"\n".join(out) + b"\n"


def text_seeds():
    """fuzz_text input: the header bytes, then entries written from the
    specification (frames by the real codec): a history with Deltas, a
    staircase run head and Equals for each TextStore, long entries in pieces,
    rev and page ids at INT64_MIN, entries fuzz_text builds itself, damaged
    entries; with deletes (of a text, of the page) and puts after them."""
    t1 = _lines(1, 12)
    t2 = t1 + _lines(2, 2)
    t3 = t2.replace(b"PEP", b"PEP 8", 3)
    t5 = t1[:200] + _lines(5, 3)
    big = bytes((i * 7919 + (i >> 3) * 131) & 0xFF for i in range(3000))   # incompressible
    with tempfile.TemporaryDirectory() as tmp:
        lib = _codec_library(tmp)
        codec = lib.codec_new()
        err = ctypes.create_string_buffer(520)

        def frame(cid, text, prefix=b"", dic=b""):
            out, size = ctypes.c_void_p(), ctypes.c_size_t()
            rc = lib.codec_encode(codec, cid, 1 if cid == 1 else 6, prefix, len(prefix),
                                  dic, len(dic), text, len(text), ctypes.byref(out),
                                  ctypes.byref(size), err)
            if rc != 0:
                raise RuntimeError("codec_encode failed: %d" % rc)
            return ctypes.string_at(out.value, size.value)

        def history(cid, dic):
            """revs 1..6 of slot 0: Raw t1, Delta t2/t1, Delta t3/t2, Equal
            to rev 2, run head t5/t1, Equal to rev 1; slot 1 and page 2 one
            text each."""
            e = [text_raw(frame(cid, t1, dic=dic)),
                 text_delta(1, 1, frame(cid, t2, prefix=t1)),
                 text_delta(2, 1, frame(cid, t3, prefix=t2)),
                 text_equal(2, t2),
                 text_delta(1, 4, frame(cid, t5, prefix=t1)),
                 text_equal(5, t1)]
            chunks = []
            for i, entry in enumerate(e):
                chunks += text_entry(i, entry)
            chunks += text_entry(0, text_raw(frame(0, b"slot one")), slot=1)
            chunks += text_entry(3, text_raw(frame(cid, t3, dic=dic)), page=1)
            return chunks

        seeds = {}
        for v, (cid, dic, name) in enumerate(((1, b"", "zstd"), (1, TEXT_DICT, "zstd_dict"),
                                              (2, b"", "xz"), (2, TEXT_DICT, "xz_dict"))):
            chunks = history(cid, dic)
            seeds["history_%s" % name] = text_input(v, 0, chunks)
            # delete the Raw rev 1 (Deltas before its first Equal re-encoded)
            seeds["history_%s_delete_raw" % name] = text_input(v | 4, 0, chunks)
            # delete rev 2: rev 4 (Equal) takes its frame, rev 3 re-encoded
            seeds["history_%s_delete_delta" % name] = text_input(v | 4 | 1 << 4, 0, chunks)
            # put rev 7 = rev 3's text and more; replace rev 2; put rev 8 = rev 3 (an Equal)
            seeds["history_%s_put_new" % name] = text_input(v | 8 | 2 << 4, 1 << 2 | 6 << 4, chunks)
        chunks = history(1, b"")
        seeds["history_put_replace"] = text_input(8 | 2 << 4, 1 << 2 | 1 << 4, chunks)
        seeds["history_put_equal"] = text_input(8 | 2 << 4, 0 << 2 | 7 << 4, chunks)
        seeds["history_delete_equal_put"] = text_input(4 | 8 | 3 << 4, 2 << 2 | 3 << 4, chunks)

        # delete a Raw whose first Equal (rev 2) precedes a Delta on it (rev 3):
        # rev 2 takes its frame over, rev 3 and the Equal rev 4 then refer to rev 2
        seeds["delete_raw_equal_first"] = text_input(4, 0, (
            text_entry(0, text_raw(frame(1, t1))) + text_entry(1, text_equal(1, t1))
            + text_entry(2, text_delta(1, 2, frame(1, t2, prefix=t1)))
            + text_entry(3, text_equal(3, t1))))
        seeds["delete_page"] = text_input(4 | 15 << 4, 0, chunks)      # rev index 15: the page
        # a Raw with two Deltas of depth 1 on it (the first text of a run and
        # the second run head): deleting it makes rev 2 Raw, rev 3 a Delta on it
        seeds["delete_raw_two_runs"] = text_input(4, 0, (
            text_entry(0, text_raw(frame(1, t1))) + text_entry(1, text_delta(1, 1, frame(1, t2, prefix=t1)))
            + text_entry(2, text_delta(1, 2, frame(1, t5, prefix=t1)))))
        # Regression: rev 3, a Delta of depth 1 on rev 2 (depth 1), is corrupt
        # until deleting rev 1 makes rev 2 Raw. The cache kept rev 2 with its
        # old depth, and rev 3 still read as corrupt ("base rev 2 has depth 1,
        # not below 1"): any chain through a re-encoded text could.
        seeds["regress_delete_stale_depth"] = text_input(4, 0, (
            text_entry(0, text_raw(frame(1, t1))) + text_entry(1, text_delta(1, 1, frame(1, t2, prefix=t1)))
            + text_entry(2, text_delta(1, 1, frame(0, t3)))))

        # long entries: a stored Raw of 3010 bytes in five pieces, a Delta on
        # it, and an entry of exactly two pieces of 664 bytes
        raw_big = text_raw(frame(0, big))
        two = text_raw(frame(0, big[:2 * TEXT_PIECE - 8]))   # 1 + 7 bytes of headers
        assert len(two) == 2 * TEXT_PIECE
        chunks = (text_entry(0, raw_big) + text_entry(1, text_delta(1, 1, frame(1, big[:2900] + b"x", big)))
                  + text_entry(4, two))
        seeds["pieces"] = text_input(0, 0, chunks)
        seeds["pieces_delete_base"] = text_input(4, 0, chunks)
        seeds["pieces_put"] = text_input(8 | 1 << 4, 1 << 2 | 2 << 4, chunks)
        seeds["pieces_delete_page"] = text_input(4 | 15 << 4, 0, chunks)

        # ids at the bottom of the range: rev INT64_MIN + 1 on INT64_MIN is fine,
        # an Equal at INT64_MIN has nothing below it
        seeds["min_ids"] = text_input(4 | 1 << 4, 1, text_entry(0, text_raw(frame(1, t1)))
                                      + text_entry(1, text_delta(1, 1, frame(1, t2, prefix=t1)))
                                      + text_entry(0, text_equal(1, t1), slot=1))

        # packs: revs 1-3 a pack of depth 0, revs 4-5 one of depth 1 with rev
        # 3 as prefix, rev 6 Equal to rev 2, then an update: rev 7 Raw, rev 8
        # a Delta on it
        t4 = t3 + _lines(4, 2)
        t6 = t5.replace(b"the", b"a", 2)

        def packs(cid, dic, h0, h1=0, h2=0):
            raw_a, raw_b = t1 + t2 + t3, t4 + t5
            return text_input(h0, h1, (
                text_entry(0, text_pack(0, 0, 3, t1, frame(cid, raw_a, dic=dic)))
                + text_entry(1, text_packed(1, len(t1), t2))
                + text_entry(2, text_packed(2, len(t1) + len(t2), t3))
                + text_entry(3, text_pack(1, 1, 2, t4, frame(cid, raw_b, prefix=t3)))
                + text_entry(4, text_packed(1, len(t4), t5))
                + text_entry(5, text_equal(4, t2))
                + text_entry(6, text_raw(frame(cid, t6, dic=dic)))
                + text_entry(7, text_delta(1, 1, frame(cid, t6 + t1[:50], prefix=t6)))), h2)

        for v, (cid, dic, name) in enumerate(((1, b"", "zstd"), (1, TEXT_DICT, "zstd_dict"),
                                              (2, b"", "xz"), (2, TEXT_DICT, "xz_dict"))):
            seeds["packs_%s" % name] = packs(cid, dic, v)
            seeds["packs_%s_delete_prefix" % name] = packs(cid, dic, v | 4 | 2 << 4)
            seeds["packs_%s_put" % name] = packs(cid, dic, v | 8 | 7 << 4, 2 | 1 << 2 | 8 << 4, 3)
        for a, what in ((0, "holder"), (1, "target"), (3, "holder2"), (4, "last"), (6, "raw")):
            seeds["packs_delete_%s" % what] = packs(1, b"", 4 | a << 4, 2)
        seeds["packs_delete_put"] = packs(1, b"", 4 | 8 | 2 << 4, 2 | 2 << 2 | 9 << 4, 2)
        seeds["packs_delete_page"] = packs(1, b"", 4 | 15 << 4, 2)
        # a page written by four puts in the packed layout (a pack of four)
        seeds["packed_puts"] = text_input(8, 2 | 3 << 2, [], 3)
        seeds["packed_puts_xz_dict"] = text_input(8 | 3, 2 | 3 << 2 | 4 << 4, [], 3)

        # damaged packs: a member missing, a member naming a Raw, two packs
        # interleaved, a slice outside the raw bytes, a prefix no shallower, a
        # Delta on a packed text
        pk = frame(1, t1 + t2)
        seeds["bad_pack_count"] = text_input(4, 0, text_entry(0, text_pack(0, 0, 3, t1, pk))
                                             + text_entry(1, text_packed(1, len(t1), t2)))
        seeds["bad_pack_holder"] = text_input(0, 0, text_entry(0, text_raw(frame(1, t1)))
                                              + text_entry(1, text_packed(1, 0, t1)))
        seeds["bad_pack_order"] = text_input(4 | 2 << 4, 0, (
            text_entry(0, text_pack(0, 0, 2, t1, pk)) + text_entry(1, text_pack(0, 0, 1, t3, frame(1, t3)))
            + text_entry(2, text_packed(2, len(t1), t2))))
        seeds["bad_pack_slice"] = text_input(0, 0, text_entry(0, text_pack(0, 0, 2, t1, pk))
                                             + text_entry(1, text_packed(1, len(t1) + 1, t2)))
        # the holder's own text longer than the pack: its member is refused too
        seeds["bad_pack_holder_len"] = text_input(0, 0, (
            text_entry(0, text_pack(0, 0, 2, t1 + t2 + b"x", pk)) + text_entry(1, text_packed(1, len(t1), t2))))
        seeds["bad_pack_depth"] = text_input(0, 0, text_entry(0, text_pack(1, 1, 1, t1, frame(1, t1)))
                                             + text_entry(1, text_pack(1, 1, 1, t2, frame(1, t2, prefix=t1))))
        seeds["bad_delta_on_pack"] = text_input(4, 0, text_entry(0, text_pack(0, 0, 1, t1, frame(1, t1)))
                                                + text_entry(1, text_delta(1, 1, frame(1, t2, prefix=t1))))

        # Regression: a Pack whose prefix entry is damaged was reported under
        # the prefix's rev ("text of page 7 rev 1 ...") instead of its own.
        seeds["regress_pack_prefix_message"] = text_input(0, 0, (
            text_entry(0, b"\xeb damaged") + text_entry(1, text_pack(1, 1, 1, t2, frame(1, t2, prefix=t1)))))

        # Regression: text_check_page took a holder at rev INT64_MIN for "no
        # pack", so this pack of 3 texts with 2 passed.
        seeds["regress_pack_count_min_rev"] = text_input(0, 1, (
            text_entry(0, text_pack(0, 0, 3, t1, pk)) + text_entry(1, text_packed(1, len(t1), t2))))

        # entries built by fuzz_text from their text (kind 3): Raw stored, Delta
        # stored depth 1 distance 1, Equal distance 2 to rev 1, Raw zstd
        seeds["built"] = text_input(4 | 8 | 1 << 4, 1 << 2 | 5 << 4, [
            text_chunk(0, t1, 3, 0), text_chunk(1, t2, 3, 1), text_chunk(2, t1, 3, 2 | 1 << 2),
            text_chunk(3, t3, 3, 3), text_chunk(4, big, 3, 1 | 2 << 2 | 3 << 6)])

        # damage: a stray piece, odd keys, an Equal to an Equal, a base no
        # shallower, a non-canonical varint, a Raw frame with the prefix flag
        ok = text_entry(0, text_raw(frame(1, t1)))
        seeds["bad_stray_piece"] = text_input(4, 0, ok + [text_chunk(0, b"p", 1, 2)])
        seeds["bad_odd_keys"] = text_input(0, 0, ok + [text_chunk(1, b"k", 2, 0), text_chunk(1, b"k", 2, 3)])
        seeds["bad_equal_chain"] = text_input(4, 0, ok + text_entry(1, text_equal(1, t1))
                                              + text_entry(2, text_equal(1, t1)))
        seeds["bad_depth"] = text_input(4, 0, text_entry(0, text_delta(3, 1, frame(1, t1)))
                                        + text_entry(1, text_delta(3, 1, frame(1, t2, prefix=t1))))
        seeds["bad_varint"] = text_input(0, 0, ok + text_entry(1, b"\x02\x81\x00\x01\x00\x00\x00\x00"))
        seeds["bad_raw_prefix"] = text_input(0, 0, text_entry(0, text_raw(frame(1, t2, prefix=t1))))

        # docs/format.md's example: rev 12 Equal to rev 7, 300 bytes "a"
        example = text_equal(5, b"a" * 300)
        assert example == bytes.fromhex("0205ac0209199789"), example.hex()
        seeds["spec_example"] = text_input(8 | 6 << 4, 11 << 4, text_entry(6, text_raw(frame(0, b"a" * 300)))
                                           + text_entry(11, example))
        lib.codec_free(codec)

    # Regression: an empty TEXT value. text_hdr_parse and the entry buffers
    # once did arithmetic on a NULL pointer (UBSan).
    seeds["regress_empty_entry"] = b"bb\n\n"
    seeds["regress_empty_entry_rewrite"] = text_input(4 | 8, 1 << 4, [text_chunk(0, b"")])
    # Regression: deleting a Delta whose base is missing, with a dependant to
    # re-encode, returned DUMP_NOTFOUND (as if the deleted text were absent).
    seeds["regress_delete_missing_base"] = text_input(4 | 1 << 4, 0, [
        text_chunk(1, b"", 3, 1 | 2 << 2), text_chunk(2, b"a dependant", 3, 1 | 3 << 2)])
    return seeds


# ---- the dump configuration record -------------------------------------------------

def config_record(fields, version=1):
    """META "config" (docs/format.md "The configuration record"): version
    byte, then (varint tag, varint value) pairs as given."""
    return bytes([version]) + b"".join(varint(t) + varint(v) for t, v in fields)


def dumpconfig_seeds():
    """fuzz_dumpconfig input: the configuration record. Every kind and codec,
    the extremes of each range, unknown tags, and refusals (a stored level 0,
    xz included, is refused: "never stored as 0")."""
    def std(kind=0, articles=0, codec=1, level=9, depth=16, recver=1):
        return [(1, kind), (2, articles), (3, codec), (4, zigzag(level)), (5, depth), (6, recver)]

    return {
        "default": config_record(std()),
        "current_articles": config_record(std(kind=1, articles=1)),
        "stub_xz": config_record(std(kind=2, codec=2, level=6)),
        "zstd_ranges": config_record(std(level=22, depth=255)),
        "zstd_level1_depth1": config_record(std(level=1, depth=1)),
        "xz_level9": config_record(std(codec=2, level=9)),
        "xz_level0": config_record(std(codec=2, level=0)),
        "unknown_tags": config_record(std() + [(8, 5), (200, 1 << 63)]),
        "packed": config_record(std() + [(7, 1), (9, 0)]),
        "packed_0": config_record(std(kind=1, codec=2, level=1) + [(7, 0)]),
        "packed_2": config_record(std() + [(7, 2)]),
        "record_version_0": config_record(std(recver=0)),
        "record_version_2": config_record(std(recver=2)),
        "version_2": config_record(std(), version=2),
        "missing_depth": config_record(std()[:4] + std()[5:]),
        "out_of_order": config_record(std()[1:2] + std()[:1] + std()[2:]),
        "truncated": config_record(std())[:-1] + b"\x80",
        "empty": b"",
        "zero_level": config_record(std(level=0)),
        "negative_level": config_record(std(level=-5)),
    }


TARGETS = {"freelist": freelist_seeds, "header": header_seeds, "node": node_seeds,
           "codec": codec_seeds, "record": record_seeds,
           "text": text_seeds, "dumpconfig": dumpconfig_seeds}


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
