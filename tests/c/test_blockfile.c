/*
 * test_blockfile.c -- unit tests of the block layer (blockfile.h): block
 * checksums, types and bounds, extents, and the two header slots.
 *
 * Works on files in a mkdtemp directory through the plain Vfs; damage is
 * done with raw pwrite so the layer under test never sees it coming.
 * Prints "blockfile: N passed, M failed" last.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blockfile.h"
#include "bytes.h"
#include "testutil.h"

static ErrorInfo g_err;

/* Open (creating) `name` in the scratch directory as a Blockfile. */
static int bf_open(Blockfile *bf, const char *name, int trunc)
{
    const char *p = tu_path(name);
    if (trunc) unlink(p);
    bf->vfs = vfs_open(p, 1, 1, &g_err);
    bf->err = &g_err;
    bf->path = p;
    return bf->vfs != NULL;
}

static void raw_write(const char *name, uint64_t off, const void *buf, size_t n)
{
    int fd = open(tu_path(name), O_WRONLY);
    CHECK(fd >= 0);
    CHECK(pwrite(fd, buf, n, (off_t)off) == (ssize_t)n);
    close(fd);
}

static void raw_read(const char *name, uint64_t off, void *buf, size_t n)
{
    int fd = open(tu_path(name), O_RDONLY);
    CHECK(fd >= 0);
    CHECK(pread(fd, buf, n, (off_t)off) == (ssize_t)n);
    close(fd);
}

static void raw_truncate(const char *name, uint64_t size)
{
    CHECK(truncate(tu_path(name), (off_t)size) == 0);
}

static int msg_has(const char *s) { return strstr(g_err.msg, s) != NULL; }

/* ---- single blocks ---- */

static void test_block_roundtrip(void)
{
    Blockfile bf;
    REQUIRE(bf_open(&bf, "blocks.bin", 1));
    uint8_t *w = calloc(1, BLOCK_SIZE), *r = calloc(1, BLOCK_SIZE);
    for (uint64_t no = 2; no < 10; no++) {
        rng_fill(w + BLOCK_HDR, BLOCK_PAYLOAD);
        unsigned used = (unsigned)(no * 400);
        CHECK_RC(blockfile_write(&bf, no, w, no % 2 ? BT_LEAF : BT_BRANCH, (int)no % 7, used, 1000 + no),
                 DUMP_OK);
        memset(r, 0xAA, BLOCK_SIZE);
        CHECK_RC(blockfile_read(&bf, no, no % 2 ? BT_LEAF : BT_BRANCH, 10, r), DUMP_OK);
        CHECK(memcmp(r, w, BLOCK_SIZE) == 0);
        CHECK(r[4] == (no % 2 ? BT_LEAF : BT_BRANCH));
        CHECK(block_level(r) == (int)(no % 7));
        CHECK(block_used(r) == used);
        CHECK(get_u64(r + 8) == 1000 + no);
        CHECK(get_u32(r) == block_checksum(no, r));
    }
    /* Payload and used at the exact limit. */
    memset(w + BLOCK_HDR, 0x5C, BLOCK_PAYLOAD);
    CHECK_RC(blockfile_write(&bf, 3, w, BT_VALUE, 0, BLOCK_PAYLOAD, 9), DUMP_OK);
    CHECK_RC(blockfile_read(&bf, 3, BT_VALUE, 10, r), DUMP_OK);
    CHECK(block_used(r) == BLOCK_PAYLOAD && r[BLOCK_SIZE - 1] == 0x5C);
    /* After a sync the same bytes come back through a new handle. */
    CHECK_RC(blockfile_sync(&bf), DUMP_OK);
    vfs_close(bf.vfs);
    REQUIRE(bf_open(&bf, "blocks.bin", 0));
    CHECK_RC(blockfile_read(&bf, 3, BT_VALUE, 10, r), DUMP_OK);
    CHECK(memcmp(r, w, BLOCK_SIZE) == 0);
    vfs_close(bf.vfs);
    free(w);
    free(r);
}

static void test_checksum_covers_number(void)
{
    Blockfile bf;
    REQUIRE(bf_open(&bf, "moved.bin", 1));
    uint8_t *w = calloc(1, BLOCK_SIZE), *r = calloc(1, BLOCK_SIZE);
    rng_fill(w + BLOCK_HDR, BLOCK_PAYLOAD);
    CHECK_RC(blockfile_write(&bf, 5, w, BT_LEAF, 0, 100, 3), DUMP_OK);
    CHECK_RC(blockfile_write(&bf, 6, w, BT_LEAF, 0, 100, 3), DUMP_OK);
    CHECK(block_checksum(5, w) != block_checksum(6, w));
    /* Copy block 5's image over block 6: same bytes, wrong place. */
    uint8_t *img = malloc(BLOCK_SIZE);
    raw_read("moved.bin", 5 * BLOCK_SIZE, img, BLOCK_SIZE);
    raw_write("moved.bin", 6 * BLOCK_SIZE, img, BLOCK_SIZE);
    CHECK_RC(blockfile_read(&bf, 5, BT_LEAF, 10, r), DUMP_OK);
    error_clear(&g_err);
    CHECK_RC(blockfile_read(&bf, 6, BT_LEAF, 10, r), DUMP_CORRUPT);
    CHECK(msg_has("checksum") && msg_has("block 6") && msg_has("offset 24576"));
    CHECK(msg_has(tu_path("moved.bin")));
    /* One flipped payload bit is caught as well. */
    img[BLOCK_SIZE - 1] ^= 0x10;
    raw_write("moved.bin", 5 * BLOCK_SIZE, img, BLOCK_SIZE);
    CHECK_RC(blockfile_read(&bf, 5, BT_LEAF, 10, r), DUMP_CORRUPT);
    CHECK(msg_has("checksum"));
    /* ... and a flipped header byte (the generation). */
    img[BLOCK_SIZE - 1] ^= 0x10;
    img[9] ^= 1;
    raw_write("moved.bin", 5 * BLOCK_SIZE, img, BLOCK_SIZE);
    CHECK_RC(blockfile_read(&bf, 5, BT_LEAF, 10, r), DUMP_CORRUPT);
    vfs_close(bf.vfs);
    free(img);
    free(w);
    free(r);
}

static void test_type_and_bounds(void)
{
    Blockfile bf;
    REQUIRE(bf_open(&bf, "types.bin", 1));
    uint8_t *w = calloc(1, BLOCK_SIZE), *r = calloc(1, BLOCK_SIZE);
    CHECK_RC(blockfile_write(&bf, 2, w, BT_LEAF, 0, 10, 1), DUMP_OK);
    CHECK_RC(blockfile_write(&bf, 3, w, BT_BRANCH, 1, 10, 1), DUMP_OK);
    CHECK_RC(blockfile_write(&bf, 4, w, BT_VALUE, 0, 10, 1), DUMP_OK);
    CHECK_RC(blockfile_read(&bf, 2, BT_BRANCH, 10, r), DUMP_CORRUPT);
    CHECK(msg_has("expected block type 3, found 2") && msg_has("block 2"));
    CHECK_RC(blockfile_read(&bf, 3, BT_LEAF, 10, r), DUMP_CORRUPT);
    CHECK_RC(blockfile_read(&bf, 4, BT_FREESPACE, 10, r), DUMP_CORRUPT);
    CHECK_RC(blockfile_read(&bf, 4, BT_VALUE, 10, r), DUMP_OK);
    /* Out of the view: at or past the limit, or a header slot. */
    error_clear(&g_err);
    CHECK_RC(blockfile_read(&bf, 4, BT_VALUE, 4, r), DUMP_CORRUPT);
    CHECK(msg_has("outside"));
    CHECK_RC(blockfile_read(&bf, 0, BT_HEADER, 10, r), DUMP_CORRUPT);
    CHECK_RC(blockfile_read(&bf, 1, BT_HEADER, 10, r), DUMP_CORRUPT);
    CHECK_RC(blockfile_read(&bf, UINT64_MAX, BT_LEAF, UINT64_MAX, r), DUMP_CORRUPT);
    /* Inside the limit but past the end of the file: truncation. */
    error_clear(&g_err);
    CHECK_RC(blockfile_read(&bf, 50, BT_LEAF, 100, r), DUMP_CORRUPT);
    CHECK(msg_has("trunc") && msg_has("block 50"));
    /* A partial last block is truncation too. */
    raw_truncate("types.bin", 4 * BLOCK_SIZE + 100);
    error_clear(&g_err);
    CHECK_RC(blockfile_read(&bf, 4, BT_VALUE, 100, r), DUMP_CORRUPT);
    CHECK(msg_has("trunc"));
    CHECK_RC(blockfile_read(&bf, 3, BT_BRANCH, 100, r), DUMP_OK);
    /* A used length larger than the payload, with a valid checksum. */
    CHECK_RC(blockfile_write(&bf, 5, w, BT_LEAF, 0, BLOCK_PAYLOAD + 1, 1), DUMP_OK);
    error_clear(&g_err);
    CHECK_RC(blockfile_read(&bf, 5, BT_LEAF, 10, r), DUMP_CORRUPT);
    CHECK(msg_has("used"));
    vfs_close(bf.vfs);
    free(w);
    free(r);
}

/* ---- extents ---- */

static void test_extents(void)
{
    Blockfile bf;
    REQUIRE(bf_open(&bf, "extents.bin", 1));
    const uint64_t P = BLOCK_PAYLOAD;
    const uint64_t lens[] = { 0, 1, P - 1, P, P + 1, 2 * P - 1, 2 * P, 64 * P, 64 * P + 1,
                              99 * P + 1, 100 * P - 1, 100 * P };
    const uint64_t nlens = sizeof lens / sizeof lens[0];
    uint64_t starts[sizeof lens / sizeof lens[0]], at = 2;
    uint8_t *data = malloc(100 * P + 64), *out = malloc(100 * P + 16);   /* data + i, i < 64 */
    rng_fill(data, 100 * P + 64);
    for (uint64_t i = 0; i < nlens; i++) {
        starts[i] = at;
        CHECK_RC(blockfile_write_extent(&bf, at, data + i, lens[i], BT_VALUE, 7), DUMP_OK);
        at += extent_blocks(lens[i]);
    }
    CHECK(extent_blocks(0) == 1 && extent_blocks(1) == 1 && extent_blocks(P) == 1);
    CHECK(extent_blocks(P + 1) == 2 && extent_blocks(2 * P) == 2 && extent_blocks(100 * P) == 100);
    uint64_t limit = at;
    struct stat st;
    CHECK(stat(tu_path("extents.bin"), &st) == 0 && (uint64_t)st.st_size == limit * BLOCK_SIZE);
    for (uint64_t i = 0; i < nlens; i++) {
        uint64_t len = lens[i], s = starts[i];
        /* Whole extent; a canary past the end must survive. */
        memset(out, 0xEE, len + 16);
        CHECK_RC(blockfile_read_extent(&bf, s, len, BT_VALUE, limit, 0, len, out), DUMP_OK);
        CHECK(memcmp(out, data + i, len) == 0);
        CHECK(out[len] == 0xEE && out[len + 15] == 0xEE);
        /* Partial reads at and around the block boundaries. */
        const uint64_t offs[] = { 0, 1, P - 1, P, P + 1, 2 * P - 1, 50 * P + 3, 64 * P - 1, 64 * P,
                                  len / 2, len ? len - 1 : 0, len };
        for (size_t j = 0; j < sizeof offs / sizeof offs[0]; j++) {
            uint64_t off = offs[j];
            if (off > len) continue;
            const uint64_t sizes[] = { 0, 1, 2, P - 1, P, P + 1, 3 * P, len - off };
            for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
                uint64_t n = sizes[k];
                if (n > len - off) continue;
                memset(out, 0xEE, n + 1);
                CHECK_RC(blockfile_read_extent(&bf, s, len, BT_VALUE, limit, off, n, out), DUMP_OK);
                CHECK(memcmp(out, data + i + off, n) == 0 && out[n] == 0xEE);
            }
        }
        /* Reads past the extent's length are refused. */
        CHECK_RC(blockfile_read_extent(&bf, s, len, BT_VALUE, limit, len, 1, out), DUMP_INVALID);
        CHECK_RC(blockfile_read_extent(&bf, s, len, BT_VALUE, limit, 0, len + 1, out), DUMP_INVALID);
        CHECK_RC(blockfile_read_extent(&bf, s, len, BT_VALUE, limit, len + 1, 0, out), DUMP_INVALID);
        CHECK_RC(blockfile_read_extent(&bf, s, len, BT_VALUE, limit, 1, UINT64_MAX, out), DUMP_INVALID);
        /* Wrong type (a zero-byte read touches no block, so proves nothing). */
        if (len)
            CHECK_RC(blockfile_read_extent(&bf, s, len, BT_FREESPACE, limit, 0, len, out), DUMP_CORRUPT);
    }
    /* Every block's used length is part of the layout: a wrong total
     * (same block count) is caught in the last block... */
    error_clear(&g_err);
    CHECK_RC(blockfile_read_extent(&bf, starts[4], P + 2, BT_VALUE, limit, 0, 1, out), DUMP_OK);
    CHECK_RC(blockfile_read_extent(&bf, starts[4], P + 2, BT_VALUE, limit, 0, P + 2, out), DUMP_CORRUPT);
    CHECK(msg_has("length mismatch"));
    /* ... a shorter total expects a shorter last block... */
    CHECK_RC(blockfile_read_extent(&bf, starts[2], P - 2, BT_VALUE, limit, 0, P - 2, out), DUMP_CORRUPT);
    /* ... and a longer one a full block where a partial one is. */
    CHECK_RC(blockfile_read_extent(&bf, starts[2], 2 * P, BT_VALUE, limit, 0, 1, out), DUMP_CORRUPT);
    CHECK_RC(blockfile_read_extent(&bf, starts[4], 2 * P, BT_VALUE, limit, P, 1, out), DUMP_CORRUPT);
    /* Extents that leave the view. */
    CHECK_RC(blockfile_read_extent(&bf, starts[11], 100 * P, BT_VALUE, limit - 1, 0, 1, out), DUMP_CORRUPT);
    CHECK_RC(blockfile_read_extent(&bf, 1, P, BT_VALUE, limit, 0, 1, out), DUMP_CORRUPT);
    CHECK_RC(blockfile_read_extent(&bf, limit, 1, BT_VALUE, limit, 0, 1, out), DUMP_CORRUPT);
    CHECK_RC(blockfile_read_extent(&bf, 2, UINT64_MAX, BT_VALUE, limit, 0, 1, out), DUMP_CORRUPT);
    /* Damage one block in the middle of the 100-block extent: reads that
     * touch it fail and name it, reads that do not still succeed. */
    uint64_t s = starts[11], bad = s + 70;
    uint8_t byte;
    raw_read("extents.bin", bad * BLOCK_SIZE + 2000, &byte, 1);
    byte ^= 0x01;
    raw_write("extents.bin", bad * BLOCK_SIZE + 2000, &byte, 1);
    char want[64];
    snprintf(want, sizeof want, "block %" PRIu64 " ", bad);
    error_clear(&g_err);
    CHECK_RC(blockfile_read_extent(&bf, s, 100 * P, BT_VALUE, limit, 0, 100 * P, out), DUMP_CORRUPT);
    CHECK(msg_has(want) && msg_has("checksum"));
    CHECK_RC(blockfile_read_extent(&bf, s, 100 * P, BT_VALUE, limit, 70 * P - 1, 2, out), DUMP_CORRUPT);
    CHECK_RC(blockfile_read_extent(&bf, s, 100 * P, BT_VALUE, limit, 0, 70 * P, out), DUMP_OK);
    CHECK(memcmp(out, data + 11, 70 * P) == 0);
    CHECK_RC(blockfile_read_extent(&bf, s, 100 * P, BT_VALUE, limit, 71 * P, 29 * P, out), DUMP_OK);
    CHECK(memcmp(out, data + 11 + 71 * P, 29 * P) == 0);
    /* A truncated file: the tail of the last extent is gone. */
    raw_truncate("extents.bin", (limit - 1) * BLOCK_SIZE);
    error_clear(&g_err);
    CHECK_RC(blockfile_read_extent(&bf, s, 100 * P, BT_VALUE, limit, 99 * P, 1, out), DUMP_CORRUPT);
    CHECK(msg_has("trunc"));
    vfs_close(bf.vfs);
    free(data);
    free(out);
}

/* ---- header slots ---- */

static void sample_header(Header *h, uint64_t gen)
{
    memset(h, 0, sizeof *h);
    h->major = FORMAT_MAJOR;
    h->minor = FORMAT_MINOR;
    h->gen = gen;
    for (int i = 0; i < 16; i++) h->uuid[i] = (uint8_t)(0xA0 + i);
    h->nblocks = 1000 + gen;
    h->fs_start = 500;
    h->fs_len = 3 * BLOCK_PAYLOAD + 17;
    h->created = 1700000000 + gen;
    h->trees[0] = (TreeRoot){ 17, 123456, 3, 1 };
    h->trees[1] = (TreeRoot){ 0, 0, 0, 2 };             /* empty byte-key tree */
    h->trees[5] = (TreeRoot){ 999, 1, 1, 2 };
    h->trees[MAX_TREES - 1] = (TreeRoot){ 2, UINT64_MAX, 40, 1 };
}

static int header_eq(const Header *a, const Header *b)
{
    if (a->major != b->major || a->minor != b->minor || a->gen != b->gen || a->nblocks != b->nblocks
        || a->fs_start != b->fs_start || a->fs_len != b->fs_len || a->created != b->created
        || memcmp(a->uuid, b->uuid, 16) != 0)
        return 0;
    for (int i = 0; i < MAX_TREES; i++) {
        const TreeRoot *x = &a->trees[i], *y = &b->trees[i];
        if (x->root != y->root || x->count != y->count || x->height != y->height
            || x->key_type != y->key_type)
            return 0;
    }
    return 1;
}

/* Re-checksum a slot image after a deliberate edit, so only the edit is wrong. */
static void restamp(uint8_t *b, uint64_t no) { put_u32(b, block_checksum(no, b)); }

static void test_header_codec(void)
{
    uint8_t *b = malloc(BLOCK_SIZE);
    Header h, d;
    ErrorInfo e;
    for (uint64_t gen = 1; gen <= 4; gen++) {
        sample_header(&h, gen);
        header_encode(&h, b);
        CHECK(memcmp(b + 16, HEADER_MAGIC, 8) == 0 && b[4] == BT_HEADER);
        CHECK_RC(header_decode(b, gen % 2, &d, &e), DUMP_OK);
        CHECK(header_eq(&h, &d));
        /* The slot number is in the checksum: the other slot rejects it. */
        CHECK_RC(header_decode(b, 1 - gen % 2, &d, &e), DUMP_CORRUPT);
    }
    /* No free-space record, all trees absent. */
    memset(&h, 0, sizeof h);
    h.major = FORMAT_MAJOR;
    h.gen = 1;
    h.nblocks = 2;
    header_encode(&h, b);
    CHECK_RC(header_decode(b, 1, &d, &e), DUMP_OK);
    CHECK(header_eq(&h, &d));

    /* Each rejection, with everything else valid. */
    struct { int off; uint8_t val; int want; const char *why; } cases[] = {
        { 16, 'X', DUMP_CORRUPT, "magic" },
        { 24, 2, DUMP_VERSION, "version" },           /* major 2 */
        { 24, 0, DUMP_VERSION, "version" },           /* major 0 */
        { 4, BT_LEAF, DUMP_CORRUPT, "type" },
        { 5, 1, DUMP_CORRUPT, "type" },               /* level */
        { 29, 0x20, DUMP_CORRUPT, "block size" },     /* 8192 */
        { 88, 63, DUMP_CORRUPT, "tree count" },
        { 32, 2, DUMP_CORRUPT, "generation" },        /* gen 2 in slot 1 */
        { 8, 5, DUMP_CORRUPT, "generation" },         /* block gen differs */
        { 4000, 1, DUMP_CORRUPT, "reserved" },
        { BLOCK_SIZE - 1, 1, DUMP_CORRUPT, "reserved" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sample_header(&h, 3);
        header_encode(&h, b);
        b[cases[i].off] = cases[i].val;
        if (cases[i].off >= 4) restamp(b, 1);
        error_clear(&e);
        int rc = header_decode(b, 1, &d, &e);
        if (rc != cases[i].want || !strstr(e.msg, cases[i].why))
            fprintf(stderr, "  case %zu: %s \"%s\"\n", i, status_name(rc), e.msg);
        CHECK(rc == cases[i].want && strstr(e.msg, cases[i].why));
    }
    /* A stale checksum alone. */
    sample_header(&h, 3);
    header_encode(&h, b);
    b[0] ^= 1;
    CHECK_RC(header_decode(b, 1, &d, &e), DUMP_CORRUPT);

    /* Field-level rejections through the encoder. */
    Header bad[12];
    int nbad = 0;
    sample_header(&bad[nbad], 3); bad[nbad++].gen = 0;                      /* gen 0 (slot 0) */
    sample_header(&bad[nbad], 3); bad[nbad++].nblocks = 1;
    sample_header(&bad[nbad], 3); bad[nbad++].nblocks = ((uint64_t)1 << 50) + 1;
    sample_header(&bad[nbad], 3); bad[nbad].fs_start = 0; bad[nbad++].fs_len = 5;
    sample_header(&bad[nbad], 3); bad[nbad++].fs_start = 1;
    sample_header(&bad[nbad], 3); bad[nbad].fs_start = bad[nbad].nblocks - 1; nbad++;   /* 4 blocks */
    sample_header(&bad[nbad], 3); bad[nbad++].trees[2] = (TreeRoot){ 0, 0, 0, 3 };     /* key type */
    sample_header(&bad[nbad], 3); bad[nbad++].trees[2] = (TreeRoot){ 5, 0, 0, 0 };     /* absent w/ root */
    sample_header(&bad[nbad], 3); bad[nbad++].trees[2] = (TreeRoot){ 0, 3, 0, 1 };     /* empty w/ count */
    sample_header(&bad[nbad], 3); bad[nbad].trees[2] = (TreeRoot){ bad[nbad].nblocks, 1, 1, 1 }; nbad++;
    sample_header(&bad[nbad], 3); bad[nbad++].trees[2] = (TreeRoot){ 9, 1, 41, 1 };    /* height */
    sample_header(&bad[nbad], 3); bad[nbad++].trees[2] = (TreeRoot){ 9, 0, 1, 1 };     /* no entries */
    for (int i = 0; i < nbad; i++) {
        header_encode(&bad[i], b);
        int rc = header_decode(b, bad[i].gen % 2, &d, &e);
        if (rc != DUMP_CORRUPT) fprintf(stderr, "  bad header %d accepted\n", i);
        CHECK(rc == DUMP_CORRUPT);
    }
    /* Nonzero padding inside a tree record. */
    sample_header(&h, 3);
    header_encode(&h, b);
    b[96 + 24 * 7 + 20] = 1;
    restamp(b, 1);
    CHECK_RC(header_decode(b, 1, &d, &e), DUMP_CORRUPT);
    free(b);
}

static void write_slot(Blockfile *bf, uint64_t gen, int major)
{
    Header h;
    sample_header(&h, gen);
    h.major = (uint16_t)major;
    CHECK_RC(blockfile_write_header(bf, &h), DUMP_OK);
}

/* Flip one byte of a slot in the file, behind the Blockfile's back. */
static void damage_slot(const char *name, int slot)
{
    uint8_t byte;
    raw_read(name, (uint64_t)slot * BLOCK_SIZE + 100, &byte, 1);
    byte ^= 0x40;
    raw_write(name, (uint64_t)slot * BLOCK_SIZE + 100, &byte, 1);
}

static void test_read_header(void)
{
    Blockfile bf;
    Header h;
    uint64_t other = 99;
    REQUIRE(bf_open(&bf, "header.bin", 1));
    /* Empty and short files are not dumps. */
    error_clear(&g_err);
    CHECK_RC(blockfile_read_header(&bf, &h, &other), DUMP_CORRUPT);
    CHECK(msg_has("not an incrdump file"));
    raw_write("header.bin", 0, "INCRDUMP", 8);
    CHECK_RC(blockfile_read_header(&bf, &h, &other), DUMP_CORRUPT);

    /* Only slot 1 exists (a fresh file is gen 1), and the file ends there. */
    raw_truncate("header.bin", 0);
    uint8_t *zero = calloc(1, BLOCK_SIZE);
    raw_write("header.bin", 0, zero, BLOCK_SIZE);
    write_slot(&bf, 1, FORMAT_MAJOR);
    CHECK_RC(blockfile_read_header(&bf, &h, &other), DUMP_OK);
    CHECK(h.gen == 1 && other == 0);
    /* Only slot 0, file of one block. */
    raw_truncate("header.bin", 0);
    write_slot(&bf, 2, FORMAT_MAJOR);
    CHECK_RC(blockfile_read_header(&bf, &h, &other), DUMP_OK);
    CHECK(h.gen == 2 && other == 0);

    /* Newest valid slot wins, whichever slot it is in. */
    write_slot(&bf, 3, FORMAT_MAJOR);
    CHECK_RC(blockfile_read_header(&bf, &h, &other), DUMP_OK);
    CHECK(h.gen == 3 && other == 2);
    Header want;
    sample_header(&want, 3);
    CHECK(header_eq(&h, &want));
    write_slot(&bf, 4, FORMAT_MAJOR);
    CHECK_RC(blockfile_read_header(&bf, &h, &other), DUMP_OK);
    CHECK(h.gen == 4 && other == 3 && h.nblocks == 1004);
    write_slot(&bf, 5, FORMAT_MAJOR);
    CHECK_RC(blockfile_read_header(&bf, &h, &other), DUMP_OK);
    CHECK(h.gen == 5 && other == 4);

    /* A damaged newest slot (1) falls back to the other. */
    damage_slot("header.bin", 1);
    CHECK_RC(blockfile_read_header(&bf, &h, &other), DUMP_OK);
    CHECK(h.gen == 4 && other == 0 && h.nblocks == 1004);
    /* Both damaged. */
    damage_slot("header.bin", 0);
    error_clear(&g_err);
    CHECK_RC(blockfile_read_header(&bf, &h, &other), DUMP_CORRUPT);
    CHECK(msg_has("slot 0") && msg_has("slot 1") && msg_has(tu_path("header.bin")));
    /* Rewriting slot 0 (gen 6) recovers; damaging it falls back to nothing
     * since slot 1 is still bad. */
    write_slot(&bf, 6, FORMAT_MAJOR);
    CHECK_RC(blockfile_read_header(&bf, &h, &other), DUMP_OK);
    CHECK(h.gen == 6 && other == 0);
    write_slot(&bf, 7, FORMAT_MAJOR);
    damage_slot("header.bin", 0);
    CHECK_RC(blockfile_read_header(&bf, &h, &other), DUMP_OK);
    CHECK(h.gen == 7 && other == 0);

    /* An older damaged slot does not hide a good newer one. */
    write_slot(&bf, 8, FORMAT_MAJOR);
    write_slot(&bf, 9, FORMAT_MAJOR);
    damage_slot("header.bin", 0);
    CHECK_RC(blockfile_read_header(&bf, &h, &other), DUMP_OK);
    CHECK(h.gen == 9 && other == 0);

    /* Major version 2 in both slots: DUMP_VERSION, not corruption. */
    write_slot(&bf, 10, 2);
    write_slot(&bf, 11, 2);
    error_clear(&g_err);
    CHECK_RC(blockfile_read_header(&bf, &h, &other), DUMP_VERSION);
    CHECK(msg_has("version 2.0"));
    /* Version 2 in one slot and garbage in the other: still DUMP_VERSION,
     * whichever slot holds which. */
    damage_slot("header.bin", 0);
    CHECK_RC(blockfile_read_header(&bf, &h, &other), DUMP_VERSION);
    write_slot(&bf, 12, 2);
    damage_slot("header.bin", 1);
    CHECK_RC(blockfile_read_header(&bf, &h, &other), DUMP_VERSION);
    vfs_close(bf.vfs);
    free(zero);
}

int main(void)
{
    tu_tmpdir("test_blockfile");
    run("block_roundtrip", test_block_roundtrip);
    run("checksum_covers_number", test_checksum_covers_number);
    run("type_and_bounds", test_type_and_bounds);
    run("extents", test_extents);
    run("header_codec", test_header_codec);
    run("read_header", test_read_header);
    tu_cleanup();
    return tu_finish("blockfile");
}
