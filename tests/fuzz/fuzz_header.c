/*
 * fuzz_header.c -- libFuzzer target for header_decode / header_encode.
 *
 * Input: one header slot image, zero-padded or cut to BLOCK_SIZE bytes. It
 * is decoded as slot 0 and as slot 1, once as given and once with the
 * checksum at bytes 0-3 recomputed for that slot (so mutations reach the
 * field checks behind the checksum). A rejected slot must give DUMP_CORRUPT
 * or DUMP_VERSION with a message; an accepted one must satisfy the limits of
 * blockfile.h, re-encode (header_encode) to exactly the input block -- the
 * slot format is canonical, docs/format.md "Header slot" -- and decode again
 * to an identical Header. abort() on any violation.
 * Seeds: tests/fuzz/corpus/header/ (tests/fuzz/make_seeds.py).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "blockfile.h"
#include "bytes.h"
#include "status.h"

#define REQUIRE(c) do { if (!(c)) abort(); } while (0)

static void check_accepted(const Header *h, uint64_t no, const uint8_t *block)
{
    static uint8_t again[BLOCK_SIZE];
    Header h2;
    ErrorInfo err;

    REQUIRE(h->major == FORMAT_MAJOR && h->gen >= 1 && h->gen < MAX_GEN && h->gen % 2 == no);
    REQUIRE(h->nblocks >= 2);
    REQUIRE(h->fs_start == 0 ? h->fs_len == 0
            : h->fs_start >= 2 && h->fs_start < h->nblocks
              && extent_blocks(h->fs_len) <= h->nblocks - h->fs_start);
    for (int i = 0; i < MAX_TREES; i++) {
        const TreeRoot *t = &h->trees[i];
        REQUIRE(t->key_type <= 2);
        if (t->root)
            REQUIRE(t->key_type && t->root >= 2 && t->root < h->nblocks
                    && t->count > 0 && t->height >= 1 && t->height <= 40);
        else
            REQUIRE(t->count == 0 && t->height == 0);
    }
    header_encode(h, again);
    REQUIRE(memcmp(again, block, BLOCK_SIZE) == 0);
    memset(&h2, 0xa5, sizeof h2);   /* header_decode must clear the padding */
    error_clear(&err);
    REQUIRE(header_decode(again, no, &h2, &err) == DUMP_OK);
    REQUIRE(memcmp(h, &h2, sizeof h2) == 0);
}

static void decode_one(const uint8_t *block, uint64_t no)
{
    Header h;
    ErrorInfo err;
    int rc;

    memset(&h, 0x5a, sizeof h);
    error_clear(&err);
    rc = header_decode(block, no, &h, &err);
    if (rc == DUMP_OK) {
        check_accepted(&h, no, block);
    } else {
        REQUIRE(rc == DUMP_CORRUPT || rc == DUMP_VERSION);
        REQUIRE(err.code == rc && err.msg[0] != '\0');
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t block[BLOCK_SIZE];

    for (uint64_t no = 0; no < 2; no++) {
        memset(block, 0, BLOCK_SIZE);
        memcpy(block, data, size < BLOCK_SIZE ? size : BLOCK_SIZE);
        decode_one(block, no);
        put_u32(block, block_checksum(no, block));
        decode_one(block, no);
    }
    return 0;
}
