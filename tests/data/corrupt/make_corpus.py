#!/usr/bin/env python3
"""Write the corrupt-file corpus next to this script.

Test data tooling, not part of the package. Each file is a tiny dump (eight
blocks: two header slots, one leaf, a long-key extent, a value extent, the
free-space record, and two pending blocks of the previous commit) with one
defect, or a file that is no dump at all. tests/test_corruption.py pairs each
file with the error it must raise (CORPUS_TABLE); a new file needs a row
there. Where a defect sits behind a checksum, the checksum is redone, so the
structural checks behind it are what must catch it.

Run from anywhere: ``python3 tests/data/corrupt/make_corpus.py``. The output
is deterministic (the uuid and creation time are fixed after the fact).
"""
import os
import struct
import sys
import tempfile
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))

BLOCK = 4096
BT_VALUE, BT_FREESPACE = 4, 5
LONG_KEY = b"L" * 600       # a long key: its own one-block extent
BIG_VALUE = b"\x5a" * 1000  # a value too long to be inline: a one-block extent


def restamp(block, no):
    """Redo a block's checksum (blockfile.c: crc32 over the u64 LE block
    number, then bytes 4..4095)."""
    b = bytearray(block)
    b[0:4] = struct.pack("<I", zlib.crc32(bytes(b[4:]), zlib.crc32(struct.pack("<Q", no))))
    return bytes(b)


class Image:
    """A dump file as a list of mutable blocks."""

    def __init__(self, data):
        self.blocks = [bytearray(data[i:i + BLOCK]) for i in range(0, len(data), BLOCK)]

    def bytes(self):
        return b"".join(bytes(b) for b in self.blocks)

    def restamp(self, no):
        self.blocks[no][:] = restamp(self.blocks[no], no)

    def newest_slot(self):
        gens = [struct.unpack_from("<Q", self.blocks[no], 32)[0] for no in (0, 1)]
        return 0 if gens[0] > gens[1] else 1

    def tree_root(self, tree=0):
        return struct.unpack_from("<Q", self.blocks[self.newest_slot()], 96 + 24 * tree)[0]

    def freespace_start(self):
        return struct.unpack_from("<Q", self.blocks[self.newest_slot()], 64)[0]

    def find(self, btype, used):
        """The one block of this type and used length."""
        hits = [no for no, b in enumerate(self.blocks)
                if no >= 2 and b[4] == btype and struct.unpack_from("<H", b, 6)[0] == used]
        assert len(hits) == 1, (btype, used, hits)
        return hits[0]


def base_dump():
    """The tiny dump every corrupt variant starts from: gen 2 writes tree 0
    (byte-string keys), gen 3 changes one inline value."""
    sys.path.insert(0, REPO)
    from incrdump import _lowlevel as ll

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "base.dump")
        with ll.Store(path, ll.WRITE | ll.CREATE) as s:
            s.begin()
            s.tree_create(0, ll.KEY_BYTES)
            for key, value in ((b"apple", b"red"), (b"banana", b"yellow"),
                               (b"cherry", b"dark"), (LONG_KEY, b"long key"),
                               (b"big", BIG_VALUE)):
                s.put(0, key, value)
            s.commit()
            s.begin()
            s.put(0, b"cherry", b"sour")
            s.commit()
        with open(path, "rb") as f:
            image = Image(f.read())
    for no in (0, 1):   # fixed uuid and creation time: reproducible files
        image.blocks[no][40:56] = bytes(range(16))
        image.blocks[no][80:88] = struct.pack("<Q", 1700000000)
        image.restamp(no)
    assert len(image.blocks) == 8, len(image.blocks)
    return image


def both_slots(image, edit, stamp=True):
    for no in (0, 1):
        edit(image.blocks[no])
        if stamp:
            image.restamp(no)


def variants(base):
    """{file name: bytes}, one defect each."""
    out = {
        "empty.dump": b"",
        "not_a_dump.txt": b"<mediawiki xmlns=\"http://www.mediawiki.org/xml/export-0.11/\">\n"
                          b"  <page><title>Not a dump</title></page>\n</mediawiki>\n",
        "short.dump": base.bytes()[:100],
        "truncated.dump": base.bytes()[:6 * BLOCK],
    }

    def variant(name, change):
        image = Image(base.bytes())
        change(image)
        out[name] = image.bytes()

    def set_bytes(offset, value):
        def edit(block):
            block[offset:offset + len(value)] = value
        return edit

    def flip(offset, mask=0x10):
        def edit(block):
            block[offset] ^= mask
        return edit

    variant("bad_magic.dump", lambda im: both_slots(im, set_bytes(16, b"X"), stamp=False))
    variant("header_checksum.dump", lambda im: both_slots(im, flip(200), stamp=False))
    variant("header_bad_root.dump",
            lambda im: both_slots(im, set_bytes(96, struct.pack("<Q", 1000))))
    variant("future_major.dump", lambda im: both_slots(im, set_bytes(24, struct.pack("<H", 2))))
    variant("future_minor.dump", lambda im: both_slots(im, set_bytes(26, struct.pack("<H", 1))))

    def leaf_checksum(im):
        im.blocks[im.tree_root()][40] ^= 0x01

    def leaf_keys_unsorted(im):
        leaf = im.blocks[im.tree_root()]
        at = leaf.index(b"banana", 16)
        leaf[at] = ord("a")               # "aanana" now follows "apple"
        im.restamp(im.tree_root())

    def leaf_wrong_level(im):
        im.blocks[im.tree_root()][5] = 1  # a leaf claiming level 1
        im.restamp(im.tree_root())

    def extent_flip(used):
        def change(im):
            im.blocks[im.find(BT_VALUE, used)][16 + used // 2] ^= 0x20
        return change

    def freespace_padding(im):
        no = im.freespace_start()
        assert im.blocks[no][4] == BT_FREESPACE
        length, = struct.unpack_from("<Q", im.blocks[no], 16)
        im.blocks[no][16 + 8 + length] = 1
        im.restamp(no)

    def block_unaccounted(im):
        # One more block in both snapshots that nothing uses or frees.
        def grow(block):
            nblocks, = struct.unpack_from("<Q", block, 56)
            block[56:64] = struct.pack("<Q", nblocks + 1)
        both_slots(im, grow)
        im.blocks.append(bytearray(BLOCK))

    variant("leaf_checksum.dump", leaf_checksum)
    variant("leaf_keys_unsorted.dump", leaf_keys_unsorted)
    variant("leaf_wrong_level.dump", leaf_wrong_level)
    variant("value_extent_checksum.dump", extent_flip(len(BIG_VALUE)))
    variant("long_key_checksum.dump", extent_flip(len(LONG_KEY)))
    variant("freespace_padding.dump", freespace_padding)
    variant("block_unaccounted.dump", block_unaccounted)
    return out


def main():
    for name, data in variants(base_dump()).items():
        with open(os.path.join(HERE, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
