/*
 * fuzz_freelist.c -- libFuzzer target for freelist_decode.
 *
 * Input: u64 nblocks, u64 maxgen (little-endian; reduced below 2^40), then
 * the record; shorter inputs are a record alone with fixed parameters. A
 * rejected record must leave the Freelist empty with DUMP_CORRUPT; an
 * accepted one must re-encode to the same bytes and satisfy every invariant
 * of freelist.h, also after a copy, a full release and a trim. abort() on
 * any violation. Seeds: tests/fuzz/corpus/freelist/ (tests/fuzz/make_seeds.py).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "freelist.h"
#include "status.h"

#define REQUIRE(c) do { if (!(c)) abort(); } while (0)

typedef struct Walk {
    uint64_t nblocks, maxgen, prev_end, blocks;
    size_t count;
    int pending;
} Walk;

static int walk_one(void *ctx, uint64_t start, uint64_t len, uint64_t gen)
{
    Walk *w = ctx;

    REQUIRE(start >= 2 && len >= 1 && start < w->nblocks && len <= w->nblocks - start);
    REQUIRE(w->pending ? start >= w->prev_end : (w->count == 0 || start > w->prev_end));
    REQUIRE(w->pending ? gen >= 1 && gen <= w->maxgen : gen == 0);
    w->prev_end = start + len;
    w->blocks += len;
    w->count++;
    return 0;
}

/* Walks both sets, checks them against the counters; returns total blocks. */
static uint64_t check_sets(const Freelist *fl, uint64_t nblocks, uint64_t maxgen)
{
    Walk f = { nblocks, maxgen, 0, 0, 0, 0 }, p = { nblocks, maxgen, 0, 0, 0, 1 };

    REQUIRE(freelist_foreach_free(fl, walk_one, &f) == 0);
    REQUIRE(freelist_foreach_pending(fl, walk_one, &p) == 0);
    REQUIRE(f.count == freelist_free_extents(fl) && f.blocks == freelist_free_blocks(fl));
    REQUIRE(p.count == freelist_pending_extents(fl) && p.blocks == freelist_pending_blocks(fl));
    REQUIRE((p.count == 0) == (freelist_min_pending_gen(fl) == 0));
    return f.blocks + p.blocks;
}

static void check_reencode(const Freelist *fl, const uint8_t *rec, size_t size)
{
    uint8_t *out = malloc(size);

    REQUIRE(freelist_encoded_size(fl) == size);
    if (!out)
        return;
    REQUIRE(freelist_encode(fl, out, size) == size);
    REQUIRE(memcmp(out, rec, size) == 0);
    free(out);
}

static void check_accepted(Freelist *fl, const uint8_t *rec, size_t size,
                           uint64_t nblocks, uint64_t maxgen)
{
    Freelist *dup = freelist_new();
    uint64_t total = check_sets(fl, nblocks, maxgen), nb = nblocks;

    check_reencode(fl, rec, size);
    if (dup && freelist_copy(dup, fl) == DUMP_OK)
        check_reencode(dup, rec, size);
    freelist_free(dup);
    REQUIRE(freelist_release(fl, maxgen) == DUMP_OK);
    REQUIRE(freelist_pending_extents(fl) == 0 && freelist_free_blocks(fl) == total);
    check_sets(fl, nblocks, maxgen);
    freelist_trim_tail(fl, &nb);
    REQUIRE(nb >= 2 && nb <= nblocks);
    REQUIRE(freelist_free_blocks(fl) == total - (nblocks - nb));
    check_sets(fl, nb, maxgen);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t nblocks = 1u << 20, maxgen = 1000;
    Freelist *fl;
    ErrorInfo err;
    int rc;

    if (size >= 16) {
        nblocks = 2 + get_u64(data) % (UINT64_C(1) << 40);
        maxgen = get_u64(data + 8) % (UINT64_C(1) << 40);
        data += 16;
        size -= 16;
    }
    if (!(fl = freelist_new()))
        return 0;
    error_clear(&err);
    rc = freelist_decode(fl, data, size, nblocks, maxgen, &err);
    if (rc == DUMP_OK) {
        check_accepted(fl, data, size, nblocks, maxgen);
    } else {
        REQUIRE(rc == DUMP_CORRUPT || rc == DUMP_NOMEM);
        REQUIRE(err.code == rc && strncmp(err.msg, "free-space record: ", 19) == 0);
        REQUIRE(freelist_free_extents(fl) == 0 && freelist_pending_extents(fl) == 0);
        REQUIRE(freelist_free_blocks(fl) == 0 && freelist_pending_blocks(fl) == 0);
    }
    freelist_free(fl);
    return 0;
}
