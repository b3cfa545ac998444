#!/usr/bin/env python3
"""Write the seed inputs of the fuzz targets under tests/fuzz/corpus/<target>/.

Test tooling, not part of the package. Each decoder has a function
``<target>_seeds()`` returning ``{file name: bytes}``; add it to ``TARGETS``.
Seeds are small valid inputs, so the fuzzer starts past the decoders' first
checks. Run from anywhere: ``python3 tests/fuzz/make_seeds.py``.
"""
import os
import struct

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


TARGETS = {"freelist": freelist_seeds}


def main():
    for target, make in TARGETS.items():
        directory = os.path.join(HERE, "corpus", target)
        os.makedirs(directory, exist_ok=True)
        for name, data in make().items():
            with open(os.path.join(directory, name), "wb") as f:
                f.write(data)


if __name__ == "__main__":
    main()
