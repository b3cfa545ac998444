/*
 * blockfile.c -- checksummed, typed 4 KiB blocks and the two header slots.
 *
 * Layer 1: calls vfs, bytes, status and zlib's crc32 only.
 * Every block starts with a 16-byte header (docs/format.md "Blocks"):
 *   0 u32 crc32 of (block number as u64 LE || bytes 4..4095)
 *   4 u8 type, 5 u8 level, 6 u16 used payload bytes, 8 u64 generation
 * Including the block number in the checksum makes a block written to, or
 * read from, the wrong place fail verification like any other corruption.
 */
#include "blockfile.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "bytes.h"

#define HDR_OFF_MAGIC   16
#define HDR_OFF_MAJOR   24
#define HDR_OFF_MINOR   26
#define HDR_OFF_BSIZE   28
#define HDR_OFF_GEN     32
#define HDR_OFF_UUID    40
#define HDR_OFF_NBLOCKS 56
#define HDR_OFF_FSSTART 64
#define HDR_OFF_FSLEN   72
#define HDR_OFF_CREATED 80
#define HDR_OFF_NTREES  88
#define HDR_OFF_TREES   96
#define TREE_REC        24
#define MAX_HEIGHT      40
#define HEADER_USED     (HDR_OFF_TREES + MAX_TREES * TREE_REC - BLOCK_HDR)

uint32_t block_checksum(uint64_t no, const uint8_t *block)
{
    uint8_t nb[8];
    put_u64(nb, no);
    uLong c = crc32(0L, nb, 8);
    c = crc32(c, block + 4, BLOCK_SIZE - 4);
    return (uint32_t)c;
}

static int corrupt(Blockfile *bf, uint64_t no, const char *what)
{
    return error_set(bf->err, DUMP_CORRUPT, "%s: block %" PRIu64 " (offset %" PRIu64 "): %s",
                     bf->path, no, no * BLOCK_SIZE, what);
}

static int verify(Blockfile *bf, uint64_t no, const uint8_t *b, int want_type)
{
    if (get_u32(b) != block_checksum(no, b))
        return corrupt(bf, no, "checksum mismatch");
    if (b[4] != want_type) {
        char m[80];
        snprintf(m, sizeof m, "expected block type %d, found %d", want_type, b[4]);
        return corrupt(bf, no, m);
    }
    if (block_used(b) > BLOCK_PAYLOAD)
        return corrupt(bf, no, "used length exceeds the block");
    return DUMP_OK;
}

static int check_range(Blockfile *bf, uint64_t no, uint64_t n, uint64_t limit)
{
    if (no < 2 || n == 0 || no >= limit || n > limit - no) {
        char m[96];
        snprintf(m, sizeof m, "reference to blocks [%" PRIu64 ", +%" PRIu64 ") outside the file's %" PRIu64 " blocks",
                 no, n, limit);
        return corrupt(bf, no, m);
    }
    return DUMP_OK;
}

int blockfile_read(Blockfile *bf, uint64_t no, int want_type, uint64_t limit, uint8_t *buf)
{
    int rc = check_range(bf, no, 1, limit);
    if (rc) return rc;
    size_t got;
    rc = vfs_read(bf->vfs, no * BLOCK_SIZE, buf, BLOCK_SIZE, &got, bf->err);
    if (rc) return rc;
    if (got < BLOCK_SIZE)
        return corrupt(bf, no, "past the end of the file (truncated?)");
    return verify(bf, no, buf, want_type);
}

int blockfile_read_extent(Blockfile *bf, uint64_t start, uint64_t total, int want_type,
                          uint64_t limit, uint64_t off, uint64_t len, uint8_t *out)
{
    uint64_t n = extent_blocks(total);
    int rc = check_range(bf, start, n, limit);
    if (rc) return rc;
    if (off > total || len > total - off)
        return error_set(bf->err, DUMP_INVALID, "extent read beyond its length");
    if (len == 0) return DUMP_OK;
    uint64_t first = off / BLOCK_PAYLOAD, last = (off + len - 1) / BLOCK_PAYLOAD;
    /* Read in chunks so a huge value never needs a second full-size buffer. */
    enum { CHUNK = 64 };
    /* Sized to the blocks touched: a 256 KiB buffer for a one-block value
     * would be an mmap/munmap pair on every read. */
    uint8_t *buf = malloc((size_t)(last - first + 1 < CHUNK ? last - first + 1 : CHUNK) * BLOCK_SIZE);
    if (!buf) return error_set(bf->err, DUMP_NOMEM, "out of memory reading an extent");
    uint64_t pos = off, done = 0;
    for (uint64_t b = first; b <= last && rc == DUMP_OK; b += CHUNK) {
        uint64_t cnt = last - b + 1 < CHUNK ? last - b + 1 : CHUNK;
        size_t got;
        rc = vfs_read(bf->vfs, (start + b) * BLOCK_SIZE, buf, cnt * BLOCK_SIZE, &got, bf->err);
        if (rc) break;
        if (got < cnt * BLOCK_SIZE) { rc = corrupt(bf, start + b, "past the end of the file (truncated?)"); break; }
        for (uint64_t i = 0; i < cnt && rc == DUMP_OK; i++) {
            const uint8_t *blk = buf + i * BLOCK_SIZE;
            uint64_t idx = b + i;
            rc = verify(bf, start + idx, blk, want_type);
            if (rc) break;
            uint64_t expect = idx + 1 < n ? BLOCK_PAYLOAD : total - (n - 1) * BLOCK_PAYLOAD;
            if (block_used(blk) != expect) { rc = corrupt(bf, start + idx, "extent block length mismatch"); break; }
            uint64_t in = pos - idx * BLOCK_PAYLOAD;
            uint64_t take = BLOCK_PAYLOAD - in;
            if (take > len - done) take = len - done;
            memcpy(out + done, blk + BLOCK_HDR + in, take);
            done += take;
            pos += take;
        }
    }
    free(buf);
    return rc;
}

int blockfile_write(Blockfile *bf, uint64_t no, uint8_t *buf, int type, int level,
                    unsigned used, uint64_t gen)
{
    buf[4] = (uint8_t)type;
    buf[5] = (uint8_t)level;
    put_u16(buf + 6, (uint16_t)used);
    put_u64(buf + 8, gen);
    put_u32(buf, block_checksum(no, buf));
    return vfs_write(bf->vfs, no * BLOCK_SIZE, buf, BLOCK_SIZE, bf->err);
}

int blockfile_write_extent(Blockfile *bf, uint64_t start, const uint8_t *data, uint64_t len,
                           int type, uint64_t gen)
{
    uint64_t n = extent_blocks(len);
    enum { CHUNK = 64 };
    uint8_t *buf = malloc((size_t)(n < CHUNK ? n : CHUNK) * BLOCK_SIZE);   /* see read_extent */
    if (!buf) return error_set(bf->err, DUMP_NOMEM, "out of memory writing an extent");
    int rc = DUMP_OK;
    for (uint64_t b = 0; b < n && rc == DUMP_OK; b += CHUNK) {
        uint64_t cnt = n - b < CHUNK ? n - b : CHUNK;
        for (uint64_t i = 0; i < cnt; i++) {
            uint8_t *blk = buf + i * BLOCK_SIZE;
            uint64_t idx = b + i, at = idx * BLOCK_PAYLOAD;
            uint64_t take = len - at < BLOCK_PAYLOAD ? len - at : BLOCK_PAYLOAD;
            memset(blk, 0, BLOCK_SIZE);
            if (take) memcpy(blk + BLOCK_HDR, data + at, take);
            blk[4] = (uint8_t)type;
            put_u16(blk + 6, (uint16_t)take);
            put_u64(blk + 8, gen);
            put_u32(blk, block_checksum(start + idx, blk));
        }
        rc = vfs_write(bf->vfs, (start + b) * BLOCK_SIZE, buf, cnt * BLOCK_SIZE, bf->err);
    }
    free(buf);
    return rc;
}

int blockfile_sync(Blockfile *bf)
{
    return vfs_sync(bf->vfs, bf->err);
}

void header_encode(const Header *h, uint8_t *b)
{
    memset(b, 0, BLOCK_SIZE);
    memcpy(b + HDR_OFF_MAGIC, HEADER_MAGIC, 8);
    put_u16(b + HDR_OFF_MAJOR, h->major);
    put_u16(b + HDR_OFF_MINOR, h->minor);
    put_u32(b + HDR_OFF_BSIZE, BLOCK_SIZE);
    put_u64(b + HDR_OFF_GEN, h->gen);
    memcpy(b + HDR_OFF_UUID, h->uuid, 16);
    put_u64(b + HDR_OFF_NBLOCKS, h->nblocks);
    put_u64(b + HDR_OFF_FSSTART, h->fs_start);
    put_u64(b + HDR_OFF_FSLEN, h->fs_len);
    put_u64(b + HDR_OFF_CREATED, h->created);
    put_u32(b + HDR_OFF_NTREES, MAX_TREES);
    for (int i = 0; i < MAX_TREES; i++) {
        uint8_t *t = b + HDR_OFF_TREES + i * TREE_REC;
        put_u64(t, h->trees[i].root);
        put_u64(t + 8, h->trees[i].count);
        t[16] = h->trees[i].height;
        t[17] = h->trees[i].key_type;
    }
    uint64_t no = h->gen % 2;
    b[4] = BT_HEADER;
    put_u16(b + 6, HEADER_USED);
    put_u64(b + 8, h->gen);
    put_u32(b, block_checksum(no, b));
}

static int bad_slot(ErrorInfo *err, uint64_t no, const char *why)
{
    return error_set(err, DUMP_CORRUPT, "header slot %" PRIu64 ": %s", no, why);
}

static int tree_decode(const uint8_t *t, uint64_t nblocks, TreeRoot *r)
{
    r->root = get_u64(t);
    r->count = get_u64(t + 8);
    r->height = t[16];
    r->key_type = t[17];
    for (int i = 18; i < TREE_REC; i++)
        if (t[i]) return 0;
    if (r->key_type == 0)
        return r->root == 0 && r->count == 0 && r->height == 0;
    if (r->key_type > 2) return 0;
    if (r->root == 0) return r->count == 0 && r->height == 0;
    return r->root >= 2 && r->root < nblocks && r->count > 0
           && r->height >= 1 && r->height <= MAX_HEIGHT;
}

int header_decode(const uint8_t *b, uint64_t no, Header *h, ErrorInfo *err)
{
    if (memcmp(b + HDR_OFF_MAGIC, HEADER_MAGIC, 8) != 0)
        return bad_slot(err, no, "not an incrdump file (bad magic)");
    if (get_u32(b) != block_checksum(no, b))
        return bad_slot(err, no, "checksum mismatch");
    memset(h, 0, sizeof *h);
    h->major = get_u16(b + HDR_OFF_MAJOR);
    h->minor = get_u16(b + HDR_OFF_MINOR);
    h->gen = get_u64(b + HDR_OFF_GEN);   /* lets the caller see a newer slot it cannot read */
    if (h->major != FORMAT_MAJOR)
        return error_set(err, DUMP_VERSION,
                         "unsupported format version %u.%u (this build reads %d.x)",
                         h->major, h->minor, FORMAT_MAJOR);
    if (b[4] != BT_HEADER || b[5] != 0 || get_u32(b + HDR_OFF_BSIZE) != BLOCK_SIZE
        || get_u32(b + HDR_OFF_NTREES) != MAX_TREES || get_u32(b + HDR_OFF_NTREES + 4) != 0
        || block_used(b) != HEADER_USED)
        return bad_slot(err, no, "bad type, block size, tree count or length");
    if (h->gen == 0 || h->gen >= MAX_GEN || h->gen % 2 != no || get_u64(b + 8) != h->gen)
        return bad_slot(err, no, "generation does not belong to this slot");
    memcpy(h->uuid, b + HDR_OFF_UUID, 16);
    h->nblocks = get_u64(b + HDR_OFF_NBLOCKS);
    h->fs_start = get_u64(b + HDR_OFF_FSSTART);
    h->fs_len = get_u64(b + HDR_OFF_FSLEN);
    h->created = get_u64(b + HDR_OFF_CREATED);
    if (h->nblocks < 2 || h->nblocks > ((uint64_t)1 << 50))
        return bad_slot(err, no, "implausible file length");
    if (h->fs_start == 0 ? h->fs_len != 0
        : (h->fs_start < 2 || h->fs_start >= h->nblocks
           || extent_blocks(h->fs_len) > h->nblocks - h->fs_start))
        return bad_slot(err, no, "free-space record outside the file");
    for (int i = 0; i < MAX_TREES; i++)
        if (!tree_decode(b + HDR_OFF_TREES + i * TREE_REC, h->nblocks, &h->trees[i]))
            return bad_slot(err, no, "invalid tree root record");
    for (size_t i = HDR_OFF_TREES + MAX_TREES * TREE_REC; i < BLOCK_SIZE; i++)
        if (b[i]) return bad_slot(err, no, "nonzero reserved bytes");
    return DUMP_OK;
}

int blockfile_read_header(Blockfile *bf, Header *h, uint64_t *other_gen)
{
    uint8_t *buf = malloc(2 * BLOCK_SIZE);
    if (!buf) return error_set(bf->err, DUMP_NOMEM, "out of memory");
    size_t got;
    int rc = vfs_read(bf->vfs, 0, buf, 2 * BLOCK_SIZE, &got, bf->err);
    if (rc) { free(buf); return rc; }
    if (got < BLOCK_SIZE) {
        free(buf);
        return error_set(bf->err, DUMP_CORRUPT, "%s: not an incrdump file (only %zu bytes)", bf->path, got);
    }
    Header slot[2];
    int st[2];
    ErrorInfo e[2];
    for (int i = 0; i < 2; i++) {
        if ((size_t)(i + 1) * BLOCK_SIZE > got)
            st[i] = error_set(&e[i], DUMP_CORRUPT, "header slot %d: missing (file truncated)", i);
        else
            st[i] = header_decode(buf + i * BLOCK_SIZE, (uint64_t)i, &slot[i], &e[i]);
    }
    free(buf);
    int best = -1;
    for (int i = 0; i < 2; i++)
        if (st[i] == DUMP_OK && (best < 0 || slot[i].gen > slot[best].gen)) best = i;
    /* A newer slot of an unknown major version: refuse rather than fall
     * back to (and later overwrite) the older slot. */
    for (int i = 0; i < 2; i++)
        if (st[i] == DUMP_VERSION && (best < 0 || slot[i].gen > slot[best].gen))
            return error_set(bf->err, DUMP_VERSION, "%s: %s", bf->path, e[i].msg);
    if (best < 0) {
        int which = st[0] == DUMP_VERSION ? 0 : st[1] == DUMP_VERSION ? 1 : 0;
        return error_set(bf->err, st[which], "%s: %s; %s", bf->path, e[which].msg, e[1 - which].msg);
    }
    *h = slot[best];
    *other_gen = st[1 - best] == DUMP_OK ? slot[1 - best].gen : 0;
    return DUMP_OK;
}

int blockfile_write_header(Blockfile *bf, const Header *h)
{
    uint8_t *b = malloc(BLOCK_SIZE);
    if (!b) return error_set(bf->err, DUMP_NOMEM, "out of memory");
    header_encode(h, b);
    int rc = vfs_write(bf->vfs, (h->gen % 2) * BLOCK_SIZE, b, BLOCK_SIZE, bf->err);
    free(b);
    return rc;
}
