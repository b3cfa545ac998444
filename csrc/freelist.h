/*
 * freelist.h -- the extent allocator's in-memory state and its on-disk record.
 *
 * Layer: above leaves (status, bytes); below blockfile's users. Pure memory:
 * it never reads or writes the file. The transaction layer loads the record
 * when a write transaction begins, allocates and frees through it, and at
 * commit serializes it into blocks it has already reserved -- the record is
 * finished before the blocks that hold it are chosen, so the allocator never
 * allocates from, or frees into, a structure it is in the middle of changing.
 *
 * Two sets of extents (start block, length in blocks), disjoint:
 *   free     reusable now. Adjacent free extents are always merged.
 *            Allocation is best-fit: the smallest extent with length >= n,
 *            lowest start among equals; the extent's first n blocks are taken.
 *   pending  freed by commit `gen` (live in the snapshot before it); become
 *            free once no reader can still see snapshot gen-1
 *            (freelist_release). Never merged with free ones while pending.
 *
 * Record encoding (docs/format.md section "Free-space record"):
 *   varint nfree, then nfree x (varint start - prev_end, varint len)
 *      sorted by start; prev_end starts at 0 and becomes start+len.
 *      Canonical: len >= 1, extents neither overlap nor touch.
 *   varint npending, then npending x (varint start - prev_end, varint len,
 *      varint gen) sorted by start, prev_end restarting at 0; len >= 1,
 *      gen >= 1; pending extents may touch each other (never merged).
 *   No extent may overlap another of either set; every extent lies in
 *   [2, nblocks) (blocks 0 and 1 are the header slots).
 */
#ifndef INCRDUMP_FREELIST_H
#define INCRDUMP_FREELIST_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

typedef struct Freelist Freelist;

/* Returns NULL when out of memory. */
Freelist *freelist_new(void);
void freelist_free(Freelist *fl);
void freelist_clear(Freelist *fl);
/* Deep copy of src into dst (dst cleared first). DUMP_OK or DUMP_NOMEM. */
int freelist_copy(Freelist *dst, const Freelist *src);

/* Add [start, start+len) to the free set, merging with free neighbours.
 * DUMP_CORRUPT if it overlaps a free or pending extent, DUMP_NOMEM. */
int freelist_add_free(Freelist *fl, uint64_t start, uint64_t len);
/* Add [start, start+len) as pending, freed by commit `gen`. Same errors. */
int freelist_add_pending(Freelist *fl, uint64_t start, uint64_t len, uint64_t gen);
/* Move every pending extent with gen <= maxgen to the free set (merging). */
int freelist_release(Freelist *fl, uint64_t maxgen);

/* Allocate n >= 1 contiguous blocks, best-fit. If no free extent is long
 * enough, the blocks come from the end of the file: a free extent ending at
 * *nblocks is extended, else the file grows; *nblocks is updated.
 * DUMP_OK with *start set, or DUMP_NOMEM. */
int freelist_alloc(Freelist *fl, uint64_t n, uint64_t *nblocks, uint64_t *start);
/* While a free extent ends exactly at *nblocks, remove it and lower *nblocks. */
void freelist_trim_tail(Freelist *fl, uint64_t *nblocks);

/* Counts. */
uint64_t freelist_free_blocks(const Freelist *fl);
uint64_t freelist_pending_blocks(const Freelist *fl);
size_t freelist_free_extents(const Freelist *fl);
size_t freelist_pending_extents(const Freelist *fl);
/* Smallest pending gen, or 0 if nothing is pending. */
uint64_t freelist_min_pending_gen(const Freelist *fl);

/* Visit extents in start order; stop early when cb returns nonzero (that
 * value is returned). gen is 0 for free extents. */
typedef int (*freelist_visit_fn)(void *ctx, uint64_t start, uint64_t len, uint64_t gen);
int freelist_foreach_free(const Freelist *fl, freelist_visit_fn cb, void *ctx);
int freelist_foreach_pending(const Freelist *fl, freelist_visit_fn cb, void *ctx);

/* Exact size in bytes of the encoded record. */
size_t freelist_encoded_size(const Freelist *fl);
/* Encode into buf (cap >= freelist_encoded_size); returns bytes written. */
size_t freelist_encode(const Freelist *fl, uint8_t *buf, size_t cap);
/* Replace fl's content by the record in buf[0..len). Validates everything
 * listed above (canonical order, ranges inside [2, nblocks), 1 <= gen <= maxgen,
 * no overlap, exact consumption). DUMP_OK, DUMP_CORRUPT with a reason in *err
 * (fl left empty), or DUMP_NOMEM. */
int freelist_decode(Freelist *fl, const uint8_t *buf, size_t len,
                    uint64_t nblocks, uint64_t maxgen, ErrorInfo *err);

#endif
