/*
 * blockfile.h -- a dump file as numbered 4 KiB blocks, each checksummed and
 * typed, and the two header slots that name the committed state.
 *
 * Layer 1: uses vfs, status, bytes and zlib's crc32. Knows nothing of trees.
 * Invariant: every block read is verified (checksum over its number and
 * contents, type, bounds) before anyone sees its bytes; every block written
 * gets its checksum here and nowhere else.
 * Format tables: docs/format.md sections "Blocks" and "Header slot".
 */
#ifndef INCRDUMP_BLOCKFILE_H
#define INCRDUMP_BLOCKFILE_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"
#include "vfs.h"

#define BLOCK_SIZE     4096
#define BLOCK_HDR      16                        /* per-block header bytes */
#define BLOCK_PAYLOAD  (BLOCK_SIZE - BLOCK_HDR)  /* 4080 */

/* Block types (byte 4 of every block). */
#define BT_HEADER    1
#define BT_LEAF      2
#define BT_BRANCH    3
#define BT_VALUE     4   /* extent holding a long value or a long key */
#define BT_FREESPACE 5   /* extent holding the free-space record */

#define FORMAT_MAJOR 1
#define FORMAT_MINOR 0
#define HEADER_MAGIC "INCRDUMP"  /* 8 bytes, no NUL */
#define MAX_TREES    64
#define MAX_GEN      ((uint64_t)1 << 48)   /* generations stay below this */

typedef struct TreeRoot {
    uint64_t root;       /* block of the root node, 0 = empty tree */
    uint64_t count;      /* entries */
    uint8_t  height;     /* levels; 0 when empty, 1 = root is a leaf */
    uint8_t  key_type;   /* 0 = no such tree, else STORE_KEY_INT/BYTES */
} TreeRoot;

typedef struct Header {
    uint16_t major, minor;
    uint64_t gen;           /* commit number, >= 1 */
    uint8_t  uuid[16];
    uint64_t nblocks;       /* blocks in use: the file's logical length */
    uint64_t fs_start;      /* free-space record extent (0 = none) */
    uint64_t fs_len;        /* its length in bytes */
    uint64_t created;       /* unix seconds at creation */
    TreeRoot trees[MAX_TREES];
} Header;

typedef struct Blockfile {
    Vfs *vfs;
    ErrorInfo *err;         /* the owning handle's error record */
    const char *path;       /* for messages; borrowed from the owner */
} Blockfile;

/* Blocks needed for an extent of `len` payload bytes (at least 1). */
static inline uint64_t extent_blocks(uint64_t len)
{
    return len == 0 ? 1 : (len + BLOCK_PAYLOAD - 1) / BLOCK_PAYLOAD;
}

/* Read block `no` into buf (BLOCK_SIZE bytes) and verify it: checksum, type
 * == want_type, no < limit. DUMP_CORRUPT names the block; a block past the
 * end of the file is reported as truncation. */
int blockfile_read(Blockfile *bf, uint64_t no, int want_type, uint64_t limit,
                   uint8_t *buf);
/* Read the extent [start, start+n) of type want_type and copy out `len`
 * payload bytes starting at payload offset `off` into out. Verifies every
 * block touched and that each block's used-length matches the extent
 * layout for total length `total`. */
int blockfile_read_extent(Blockfile *bf, uint64_t start, uint64_t total,
                          int want_type, uint64_t limit,
                          uint64_t off, uint64_t len, uint8_t *out);
/* Stamp block header (type, level, used, gen), checksum and write block
 * `no` from buf (BLOCK_SIZE bytes; payload already in place). */
int blockfile_write(Blockfile *bf, uint64_t no, uint8_t *buf, int type,
                    int level, unsigned used, uint64_t gen);
/* Write `len` payload bytes as an extent starting at block `start`. */
int blockfile_write_extent(Blockfile *bf, uint64_t start, const uint8_t *data,
                           uint64_t len, int type, uint64_t gen);
/* Header byte 5 and 6-7 of a verified block. */
static inline int block_level(const uint8_t *b) { return b[5]; }
static inline unsigned block_used(const uint8_t *b) { return (unsigned)b[6] | (unsigned)b[7] << 8; }

int blockfile_sync(Blockfile *bf);

/* Read both header slots and return the valid one with the highest
 * generation. DUMP_CORRUPT (not a dump / no valid slot), DUMP_VERSION
 * (unsupported major), DUMP_IOERR. *other_gen gets the other slot's gen
 * (0 if invalid). */
int blockfile_read_header(Blockfile *bf, Header *h, uint64_t *other_gen);
/* Serialize h into slot h->gen % 2 and write it (no sync). */
int blockfile_write_header(Blockfile *bf, const Header *h);
/* Parse one slot image; pure, for tests and fuzzing. DUMP_OK, DUMP_CORRUPT,
 * DUMP_VERSION. `no` is the slot's block number (0 or 1). */
int header_decode(const uint8_t *block, uint64_t no, Header *h, ErrorInfo *err);
void header_encode(const Header *h, uint8_t *block);

/* Checksum of a block as stored at bytes 0-3. */
uint32_t block_checksum(uint64_t no, const uint8_t *block);

#endif
