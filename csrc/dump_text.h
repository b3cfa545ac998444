/*
 * dump_text.h -- revision text storage: Equal / Delta / Raw entries in one
 * tree, chains of bounded depth, re-encoding of dependants on delete.
 *
 * Dump layer (8), internal: uses the public store API and codec; dump.c is
 * its only user. Layout: docs/format.md "Text storage" (normative).
 *
 * One entry per stored text, key = text key (below), value =
 *   kind byte | fields of the kind | ...
 *   TEXT_RAW    codec frame of the text (prefix: none; dictionary: the
 *               dump's, if any)
 *   TEXT_DELTA  depth varint (>= 1), base distance varint (own rev id minus
 *               the base's, >= 1), codec frame against the base text as
 *               prefix
 *   TEXT_EQUAL  target distance varint (>= 1), raw length varint, CRC-32
 *               u32 of the text: the same text as the target (never itself
 *               an Equal)
 * An entry longer than TEXT_PIECE bytes is split: its first TEXT_PIECE bytes
 * are the value in the text tree, the rest follows in pieces of TEXT_PIECE
 * bytes (the last may be shorter) in TextConfig.piece_tree under
 * text key | BE32 piece number (1, 2, ...). Values that short stay inline in
 * the store's leaves; a longer value would take whole 4 KiB blocks (on the
 * bench corpus: 15.2 MB instead of 10.6). Without a piece tree
 * (piece_tree 0) entries are one value each.
 *
 * A base or target is always an earlier text of the same page and slot
 * index, so a page's texts sit together in key order and deleting a page
 * touches nothing else. Depth of a Raw frame is 0; a Delta's depth is
 * greater than its base's (base depth + 1 when written; deletes may leave
 * it larger) and at most max_depth; an Equal has its target's depth.
 *
 * Choosing the base of a new text (dump_text_writer.c): Equal if an
 * earlier text of the page and slot has the same length, CRC and bytes;
 * else the structural base of a "staircase" (the previous text until the
 * chain is max_depth deep, then a new run head that is a Delta against the
 * previous run head; Raw when the heads are max_depth deep too); bases have
 * a size within 0.5x..2x of the text. When none fits, or the delta comes out
 * over 1/16 of the text, sampled content hashes of the last TEXT_CANDIDATES
 * texts propose one no deeper (reverts of vandalism, restorations after a
 * blanking); the smaller entry is kept. Large texts get shorter chains
 * (TextTuning.chain_bytes) so a read decodes a bounded number of bytes.
 *
 * Texts must be put in ascending rev-id order per (page, slot) to get
 * deltas; a text put below a page's newest one is stored Raw or Equal
 * (still correct, only larger).
 *
 * Packed layout (TextConfig.packed; dump_text_pack.c): text_put buffers the
 * in-order texts of one page and writes them as packs (one codec frame
 * holding consecutive texts of a page and slot, up to TextTuning.pack_bytes
 * of raw text; its prefix the previous pack's last text, every pack_depth-th
 * pack without prefix and with the dictionary instead). Equals still apply.
 * Buffered texts are written by text_flush, by a put to another page, and
 * before any other call that changes or checks the tree; text_get serves
 * them from the buffer; text_reset drops them.
 */
#ifndef INCRDUMP_DUMP_TEXT_H
#define INCRDUMP_DUMP_TEXT_H

#include <stddef.h>
#include <stdint.h>

#include "incrdump.h"
#include "status.h"

#define TEXT_RAW   0
#define TEXT_DELTA 1
#define TEXT_EQUAL 2
#define TEXT_PACK  3      /* holder (first member) of a pack: several texts in one frame */
#define TEXT_PACKED 4     /* a later member of a pack: holder distance, offset, length, CRC */

#define TEXT_KEY_LEN 17      /* BE64 page id ^ sign | BE64 rev id ^ sign | u8 slot */
#define TEXT_CANDIDATES 8
/* Entries longer than this are split into pieces of this size: six fill a
 * 4 KiB leaf of the store (node payload 4,080 bytes, about 5 bytes of key
 * and length per entry), and it stays under the store's inline limit (768,
 * node.h), above which a value takes whole blocks of its own. */
#define TEXT_PIECE 664
#define TEXT_MAX_DEPTH 255    /* max_depth is clamped to 1..TEXT_MAX_DEPTH */

typedef struct TextStore TextStore;

typedef struct TextConfig {
    int codec;         /* DUMP_CODEC_ZSTD or DUMP_CODEC_XZ */
    int level;         /* codec level, 0 = default */
    int max_depth;     /* >= 1 */
    const uint8_t *dict; size_t dict_len;   /* copied; may be empty */
    unsigned piece_tree;  /* STORE_KEY_BYTES tree for the pieces of long
                             entries; 0 = none (long entries in one value) */
    int packed;        /* 1: in-order texts are written in packs (above) */
} TextConfig;

/* Knobs of the writer and the cache (benchmarks, tests); text_new sets the
 * defaults given in dump_text.c. */
#define TEXT_LAYOUT_STAIRS  0   /* default: run heads chained as deltas */
#define TEXT_LAYOUT_RESTART 1   /* a Raw whenever the chain is full */
typedef struct TextTuning {
    size_t cache_bytes;   /* decoded texts kept for reuse (>= 0) */
    size_t chain_bytes;   /* a chain decodes at most about this many bytes: a
                             text of n bytes gets max depth chain_bytes / n,
                             but never below min_depth; 0 = no limit */
    int min_depth;
    int layout;           /* TEXT_LAYOUT_* */
    int similarity;       /* 0: always the structural base */
    size_t pack_bytes;    /* packed layout: raw bytes of a pack at most (a
                             longer text is a pack of its own) */
    int pack_depth;       /* packed layout: a read decodes at most this many
                             packs (every pack_depth-th has no prefix), >= 1 */
} TextTuning;

typedef struct TextStats {
    uint64_t raw, delta, equal;      /* frames written by this TextStore */
    uint64_t reencoded;              /* dependents re-encoded after deletes */
    uint64_t in_bytes, out_bytes;    /* text given, frame bytes written */
    uint64_t decoded;                /* frames decoded (reads, and writes
                                        that needed a base) */
    uint64_t similar_tries, similar_wins;   /* second encodings against a
                                        similar text, and those kept */
    uint64_t packs, packed;          /* packs written, texts written in them */
} TextStats;

/* A text store over tree `tree` (a STORE_KEY_BYTES tree) of s. NULL when
 * out of memory. The Store stays the caller's; free the TextStore with
 * text_free() before closing it. Level 0 means zstd 9 / xz 6. */
TextStore *text_new(Store *s, unsigned tree, const TextConfig *cfg);
void text_free(TextStore *t);
/* Forget every cached text and candidate list (after abort, refresh, or
 * when the snapshot changed under it). */
void text_reset(TextStore *t);
const TextStats *text_stats(const TextStore *t);
/* Current knobs, and replace them (also empties the cache and drops
 * buffered texts, as text_reset). */
void text_get_tuning(const TextStore *t, TextTuning *out);
void text_set_tuning(TextStore *t, const TextTuning *tu);

void text_key(uint8_t key[TEXT_KEY_LEN], int64_t page, int64_t rev, unsigned slot);

/* Store (insert or replace) the text of (page, rev, slot). In a write
 * transaction. Replacing a text that others depend on re-encodes them
 * first; replacing it with the same bytes changes nothing. text must not
 * be memory borrowed from t (a text_get result). DUMP_OK, DUMP_INVALID
 * (text over 1 GiB, slot over 255), DUMP_NOMEM, DUMP_IOERR, DUMP_CORRUPT (a
 * base failed to decode), or what the store refused (no transaction...). */
int text_put(TextStore *t, int64_t page, int64_t rev, unsigned slot,
             const uint8_t *text, size_t len, ErrorInfo *err);
/* The text, decoded through its chain and verified. DUMP_NOTFOUND,
 * DUMP_CORRUPT ("text of page P rev R slot S: ..."). Borrowed: valid until
 * the next call on t. */
int text_get(TextStore *t, int64_t page, int64_t rev, unsigned slot,
             const uint8_t **text, size_t *len, ErrorInfo *err);
/* Write the texts text_put buffered (packed layout); DUMP_OK when none.
 * In the write transaction they were put in; a failure leaves part of them
 * written (abort the transaction). */
int text_flush(TextStore *t, ErrorInfo *err);
/* Delete one text; texts that are Deltas against it or Equal to it are
 * re-encoded (against its base, or Raw; the first Equal dependant takes over
 * its frame). DUMP_NOTFOUND if absent. */
int text_delete(TextStore *t, int64_t page, int64_t rev, unsigned slot, ErrorInfo *err);
/* Delete every text of a page (with their pieces). DUMP_OK if it had none. */
int text_delete_page(TextStore *t, int64_t page, ErrorInfo *err);
/* Decode every text of the page from its frames (not the cache) and check
 * its chain and pieces (for dump_check); *count and *bytes are incremented.
 * DUMP_OK or DUMP_CORRUPT. */
int text_check_page(TextStore *t, int64_t page, uint64_t *count, uint64_t *bytes,
                    ErrorInfo *err);

#endif
