/*
 * test_freelist.c -- unit tests of the extent allocator and its record codec.
 *
 * Tests csrc/freelist.c alone (links status.c). Hand-picked cases for each
 * rule of freelist.h, then a long random run against a per-block model.
 * Run under ASan/UBSan; the last line is "freelist: N passed, M failed".
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "freelist.h"
#include "status.h"

static int passed, failed, cur_failed;
static const char *cur_name;

#define CHECK(c) do { if (!(c)) { cur_failed = 1; \
    fprintf(stderr, "%s:%d: %s: CHECK(%s) failed\n", __FILE__, __LINE__, cur_name, #c); } \
} while (0)

static void run(const char *name, void (*fn)(void))
{
    cur_name = name;
    cur_failed = 0;
    fn();
    if (cur_failed)
        failed++;
    else
        passed++;
    fprintf(stderr, "%-24s %s\n", name, cur_failed ? "FAIL" : "ok");
}

/* ---- helpers: render a set as "start+len" or "start+len@gen" words ---- */

typedef struct Show { char buf[4096]; size_t n; } Show;

static int show_one(void *ctx, uint64_t start, uint64_t len, uint64_t gen)
{
    Show *s = ctx;
    int k = snprintf(s->buf + s->n, sizeof s->buf - s->n, "%s%" PRIu64 "+%" PRIu64,
                     s->n ? " " : "", start, len);
    s->n += (size_t)k;
    if (gen)
        s->n += (size_t)snprintf(s->buf + s->n, sizeof s->buf - s->n, "@%" PRIu64, gen);
    return 0;
}

static const char *show_free(const Freelist *fl)
{
    static Show s;
    s.n = 0;
    s.buf[0] = '\0';
    freelist_foreach_free(fl, show_one, &s);
    return s.buf;
}

static const char *show_pending(const Freelist *fl)
{
    static Show s;
    s.n = 0;
    s.buf[0] = '\0';
    freelist_foreach_pending(fl, show_one, &s);
    return s.buf;
}

#define FREE_IS(fl, str) CHECK(strcmp(show_free(fl), (str)) == 0)
#define PENDING_IS(fl, str) CHECK(strcmp(show_pending(fl), (str)) == 0)

static Freelist *new_fl(void)
{
    Freelist *fl = freelist_new();
    if (!fl) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    return fl;
}

/* ---- hand-picked cases ---- */

static void test_best_fit(void)
{
    Freelist *fl = new_fl();
    uint64_t nb = 100, st = 0;

    CHECK(freelist_add_free(fl, 40, 8) == DUMP_OK);
    CHECK(freelist_add_free(fl, 30, 3) == DUMP_OK);  /* inserted before 20+3 */
    CHECK(freelist_add_free(fl, 20, 3) == DUMP_OK);
    CHECK(freelist_add_free(fl, 10, 5) == DUMP_OK);
    FREE_IS(fl, "10+5 20+3 30+3 40+8");
    CHECK(freelist_alloc(fl, 3, &nb, &st) == DUMP_OK && st == 20);  /* tie: lowest */
    FREE_IS(fl, "10+5 30+3 40+8");
    CHECK(freelist_alloc(fl, 2, &nb, &st) == DUMP_OK && st == 30);  /* smallest >= 2 */
    FREE_IS(fl, "10+5 32+1 40+8");
    CHECK(freelist_alloc(fl, 1, &nb, &st) == DUMP_OK && st == 32);  /* exact fit */
    CHECK(freelist_alloc(fl, 4, &nb, &st) == DUMP_OK && st == 10);
    FREE_IS(fl, "14+1 40+8");
    CHECK(freelist_alloc(fl, 6, &nb, &st) == DUMP_OK && st == 40);
    FREE_IS(fl, "14+1 46+2");
    CHECK(freelist_alloc(fl, 9, &nb, &st) == DUMP_OK && st == 100 && nb == 109);
    FREE_IS(fl, "14+1 46+2");
    CHECK(freelist_free_blocks(fl) == 3 && freelist_free_extents(fl) == 2);
    CHECK(freelist_alloc(fl, 0, &nb, &st) == DUMP_INVALID && nb == 109);
    freelist_free(fl);
}

static void test_merge(void)
{
    Freelist *fl = new_fl();

    CHECK(freelist_add_free(fl, 10, 5) == DUMP_OK);
    CHECK(freelist_add_free(fl, 20, 5) == DUMP_OK);
    CHECK(freelist_add_free(fl, 15, 5) == DUMP_OK);            /* both sides */
    FREE_IS(fl, "10+15");
    CHECK(freelist_add_free(fl, 25, 2) == DUMP_OK);            /* left only */
    FREE_IS(fl, "10+17");
    CHECK(freelist_add_free(fl, 8, 2) == DUMP_OK);             /* right only */
    FREE_IS(fl, "8+19");
    CHECK(freelist_add_free(fl, 29, 1) == DUMP_OK);            /* gap of one */
    FREE_IS(fl, "8+19 29+1");
    CHECK(freelist_add_pending(fl, 27, 2, 1) == DUMP_OK);      /* not merged */
    FREE_IS(fl, "8+19 29+1");
    CHECK(freelist_free_extents(fl) == 2 && freelist_free_blocks(fl) == 20);
    CHECK(freelist_release(fl, 1) == DUMP_OK);                 /* now bridges */
    FREE_IS(fl, "8+22");
    PENDING_IS(fl, "");
    CHECK(freelist_free_extents(fl) == 1 && freelist_free_blocks(fl) == 22);
    freelist_free(fl);
}

static void test_alloc_tail(void)
{
    Freelist *fl = new_fl();
    uint64_t nb = 100, st = 0;

    CHECK(freelist_add_free(fl, 96, 4) == DUMP_OK);
    CHECK(freelist_add_free(fl, 50, 6) == DUMP_OK);
    CHECK(freelist_alloc(fl, 5, &nb, &st) == DUMP_OK && st == 50 && nb == 100);
    FREE_IS(fl, "55+1 96+4");
    CHECK(freelist_alloc(fl, 10, &nb, &st) == DUMP_OK && st == 96 && nb == 106);
    FREE_IS(fl, "55+1");
    CHECK(freelist_alloc(fl, 2, &nb, &st) == DUMP_OK && st == 106 && nb == 108);
    /* A tail extent that fits is a plain best fit, the file does not grow. */
    CHECK(freelist_add_free(fl, 104, 4) == DUMP_OK);
    CHECK(freelist_alloc(fl, 3, &nb, &st) == DUMP_OK && st == 104 && nb == 108);
    FREE_IS(fl, "55+1 107+1");
    /* A pending extent at the tail is never extended. */
    nb = 104;
    freelist_clear(fl);
    CHECK(freelist_add_pending(fl, 100, 4, 7) == DUMP_OK);
    CHECK(freelist_alloc(fl, 2, &nb, &st) == DUMP_OK && st == 104 && nb == 106);
    freelist_free(fl);
}

static void test_trim_tail(void)
{
    Freelist *fl = new_fl();
    uint64_t nb = 60;

    CHECK(freelist_add_free(fl, 50, 10) == DUMP_OK);
    CHECK(freelist_add_pending(fl, 40, 10, 1) == DUMP_OK);
    CHECK(freelist_add_free(fl, 20, 5) == DUMP_OK);
    freelist_trim_tail(fl, &nb);
    CHECK(nb == 50);
    FREE_IS(fl, "20+5");
    freelist_trim_tail(fl, &nb);                /* pending tail: untouched */
    CHECK(nb == 50);
    PENDING_IS(fl, "40+10@1");
    CHECK(freelist_release(fl, 1) == DUMP_OK);
    freelist_trim_tail(fl, &nb);
    CHECK(nb == 40);
    FREE_IS(fl, "20+5");
    freelist_trim_tail(fl, &nb);                /* free, but not at the tail */
    CHECK(nb == 40 && freelist_free_blocks(fl) == 5);
    freelist_free(fl);
}

static void test_pending_release(void)
{
    Freelist *fl = new_fl();

    CHECK(freelist_min_pending_gen(fl) == 0);
    CHECK(freelist_add_pending(fl, 30, 5, 3) == DUMP_OK);
    CHECK(freelist_add_pending(fl, 10, 5, 1) == DUMP_OK);
    CHECK(freelist_add_pending(fl, 15, 5, 2) == DUMP_OK);      /* touches 10+5 */
    CHECK(freelist_add_free(fl, 20, 5) == DUMP_OK);            /* touches 15+5 */
    PENDING_IS(fl, "10+5@1 15+5@2 30+5@3");
    FREE_IS(fl, "20+5");
    CHECK(freelist_min_pending_gen(fl) == 1);
    CHECK(freelist_pending_blocks(fl) == 15 && freelist_pending_extents(fl) == 3);
    CHECK(freelist_release(fl, 0) == DUMP_OK);
    PENDING_IS(fl, "10+5@1 15+5@2 30+5@3");
    CHECK(freelist_release(fl, 2) == DUMP_OK);
    FREE_IS(fl, "10+15");
    PENDING_IS(fl, "30+5@3");
    CHECK(freelist_min_pending_gen(fl) == 3);
    CHECK(freelist_pending_blocks(fl) == 5 && freelist_free_blocks(fl) == 15);
    CHECK(freelist_release(fl, UINT64_MAX) == DUMP_OK);
    FREE_IS(fl, "10+15 30+5");
    CHECK(freelist_min_pending_gen(fl) == 0 && freelist_pending_extents(fl) == 0);
    CHECK(freelist_add_pending(fl, 50, 1, 0) == DUMP_INVALID);
    freelist_free(fl);
}

static void test_overlap(void)
{
    Freelist *fl = new_fl();

    CHECK(freelist_add_free(fl, 10, 10) == DUMP_OK);
    CHECK(freelist_add_pending(fl, 30, 10, 1) == DUMP_OK);
    CHECK(freelist_add_free(fl, 5, 6) == DUMP_CORRUPT);        /* free's first */
    CHECK(freelist_add_free(fl, 19, 1) == DUMP_CORRUPT);       /* free's last */
    CHECK(freelist_add_free(fl, 12, 2) == DUMP_CORRUPT);       /* inside */
    CHECK(freelist_add_free(fl, 2, 100) == DUMP_CORRUPT);      /* around both */
    CHECK(freelist_add_free(fl, 39, 3) == DUMP_CORRUPT);       /* pending's last */
    CHECK(freelist_add_pending(fl, 35, 1, 2) == DUMP_CORRUPT);
    CHECK(freelist_add_pending(fl, 15, 1, 2) == DUMP_CORRUPT);
    CHECK(freelist_add_pending(fl, 25, 6, 2) == DUMP_CORRUPT);
    CHECK(freelist_add_free(fl, 10, 0) == DUMP_CORRUPT);       /* empty */
    CHECK(freelist_add_free(fl, 1, 1) == DUMP_CORRUPT);        /* header slot */
    CHECK(freelist_add_free(fl, UINT64_MAX - 1, 2) == DUMP_CORRUPT);  /* wraps */
    CHECK(freelist_add_pending(fl, 0, 2, 1) == DUMP_CORRUPT);
    FREE_IS(fl, "10+10");
    PENDING_IS(fl, "30+10@1");
    CHECK(freelist_free_blocks(fl) == 10 && freelist_pending_blocks(fl) == 10);
    CHECK(freelist_add_free(fl, 20, 10) == DUMP_OK);           /* fills the gap */
    CHECK(freelist_add_pending(fl, 40, 1, 2) == DUMP_OK);      /* touches pending */
    CHECK(freelist_add_free(fl, UINT64_MAX - 2, 2) == DUMP_OK);  /* ends at 2^64-1 */
    FREE_IS(fl, "10+20 18446744073709551613+2");
    PENDING_IS(fl, "30+10@1 40+1@2");
    freelist_free(fl);
}

static Freelist *sample(void)
{
    Freelist *fl = new_fl();

    CHECK(freelist_add_free(fl, 2, 3) == DUMP_OK);
    CHECK(freelist_add_free(fl, 10, 1) == DUMP_OK);
    CHECK(freelist_add_free(fl, 300, 200) == DUMP_OK);
    CHECK(freelist_add_pending(fl, 5, 2, 7) == DUMP_OK);
    CHECK(freelist_add_pending(fl, 7, 1, 9) == DUMP_OK);
    CHECK(freelist_add_pending(fl, 1000, 5000, 200) == DUMP_OK);
    return fl;
}

static void test_roundtrip(void)
{
    /* 2 free, (2,3) (10-5,1); 1 pending restarting at 0: (5,2,7) */
    static const uint8_t small[] = { 2, 2, 3, 5, 1, 1, 5, 2, 7 };
    Freelist *fl = new_fl(), *back = new_fl();
    uint8_t buf[256], buf2[256];
    ErrorInfo err;
    size_t n;

    n = freelist_encode(fl, buf, sizeof buf);
    CHECK(n == 2 && buf[0] == 0 && buf[1] == 0 && freelist_encoded_size(fl) == 2);
    CHECK(freelist_add_free(fl, 2, 3) == DUMP_OK);
    CHECK(freelist_add_free(fl, 10, 1) == DUMP_OK);
    CHECK(freelist_add_pending(fl, 5, 2, 7) == DUMP_OK);
    n = freelist_encode(fl, buf, sizeof buf);
    CHECK(n == sizeof small && memcmp(buf, small, n) == 0);
    freelist_free(fl);

    fl = sample();
    n = freelist_encode(fl, buf, sizeof buf);
    CHECK(n > 0 && n == freelist_encoded_size(fl));
    CHECK(freelist_encode(fl, buf2, n - 1) == 0);
    CHECK(freelist_decode(back, buf, n, 6000, 200, &err) == DUMP_OK);
    CHECK(strcmp(show_free(back), "2+3 10+1 300+200") == 0);
    CHECK(strcmp(show_pending(back), "5+2@7 7+1@9 1000+5000@200") == 0);
    CHECK(freelist_free_blocks(back) == 204 && freelist_pending_blocks(back) == 5003);
    CHECK(freelist_free_extents(back) == 3 && freelist_pending_extents(back) == 3);
    CHECK(freelist_min_pending_gen(back) == 7);
    CHECK(freelist_encode(back, buf2, sizeof buf2) == n && memcmp(buf, buf2, n) == 0);
    CHECK(freelist_decode(back, buf, n, 5999, 200, &err) == DUMP_CORRUPT);
    CHECK(freelist_decode(back, buf, n, 6000, 199, &err) == DUMP_CORRUPT);
    CHECK(freelist_decode(back, buf, n, 6000, 200, NULL) == DUMP_OK);
    freelist_free(back);
    freelist_free(fl);
}

static void test_copy(void)
{
    Freelist *fl = sample(), *dup = new_fl();

    CHECK(freelist_add_free(dup, 50, 5) == DUMP_OK);           /* replaced */
    CHECK(freelist_copy(dup, fl) == DUMP_OK);
    CHECK(freelist_add_free(fl, 20, 1) == DUMP_OK);            /* independent */
    CHECK(freelist_release(fl, 10) == DUMP_OK);
    FREE_IS(dup, "2+3 10+1 300+200");
    PENDING_IS(dup, "5+2@7 7+1@9 1000+5000@200");
    FREE_IS(fl, "2+6 10+1 20+1 300+200");
    CHECK(freelist_free_blocks(dup) == 204 && freelist_pending_extents(dup) == 3);
    CHECK(freelist_copy(dup, dup) == DUMP_OK && freelist_free_extents(dup) == 3);
    freelist_free(dup);
    freelist_free(fl);
}

/* A bad record: bytes, the decode parameters, and what it breaks. */
typedef struct Bad {
    const char *what;
    uint8_t b[24];
    size_t n;
    uint64_t nblocks, maxgen;
} Bad;

#define MAXV 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01  /* 2^64-1 */

static const Bad bad_records[] = {
    { "empty", { 0 }, 0, 100, 5 },
    { "truncated free extent", { 1, 10 }, 2, 100, 5 },
    { "missing pending count", { 1, 10, 1 }, 3, 100, 5 },
    { "truncated pending gen", { 0, 1, 10, 1 }, 4, 100, 5 },
    { "overlong varint", { 0x80, 0x00, 0 }, 3, 100, 5 },
    { "count exceeds record", { 5, 10, 1, 0 }, 4, 100, 5 },
    { "pending overlaps free", { 1, 10, 5, 1, 12, 1, 1 }, 7, 100, 5 },
    { "pending covers free", { 1, 10, 5, 1, 2, 90, 1 }, 7, 100, 5 },
    { "free on header slot", { 1, 1, 1, 0 }, 4, 100, 5 },
    { "pending on header slot", { 0, 1, 0, 3, 1 }, 5, 100, 5 },
    { "free past the end", { 1, 95, 6, 0 }, 4, 100, 5 },
    { "start at the end", { 1, 100, 1, 0 }, 4, 100, 5 },
    { "pending past the end", { 0, 1, 99, 2, 1 }, 5, 100, 5 },
    { "start overflows", { 2, 2, 1, MAXV, 1, 0 }, 16, 100, 5 },
    { "end overflows", { 1, 10, MAXV, 0 }, 13, UINT64_MAX, 5 },
    { "empty extent", { 1, 10, 0, 0 }, 4, 100, 5 },
    { "gen 0", { 0, 1, 10, 1, 0 }, 5, 100, 5 },
    { "gen > maxgen", { 0, 1, 10, 1, 6 }, 5, 100, 5 },
    { "trailing bytes", { 0, 0, 0 }, 3, 100, 5 },
    { "free extents touch", { 2, 10, 5, 0, 3, 0 }, 6, 100, 5 },
};

static void test_decode_rejects(void)
{
    Freelist *fl = new_fl();
    ErrorInfo err;

    for (size_t i = 0; i < sizeof bad_records / sizeof bad_records[0]; i++) {
        const Bad *b = &bad_records[i];
        int rc;

        CHECK(freelist_add_free(fl, 50, 5) == DUMP_OK);    /* must be dropped */
        error_clear(&err);
        rc = freelist_decode(fl, b->n ? b->b : NULL, b->n, b->nblocks, b->maxgen, &err);
        if (rc != DUMP_CORRUPT)
            fprintf(stderr, "  accepted: %s\n", b->what);
        CHECK(rc == DUMP_CORRUPT && err.code == DUMP_CORRUPT);
        CHECK(strncmp(err.msg, "free-space record: ", 19) == 0);
        CHECK(freelist_free_extents(fl) == 0 && freelist_pending_extents(fl) == 0);
        CHECK(freelist_free_blocks(fl) == 0 && freelist_pending_blocks(fl) == 0);
        CHECK(freelist_encoded_size(fl) == 2);
    }
    freelist_free(fl);
}

static void test_decode_accepts(void)
{
    static const Bad good[] = {
        { "empty sets", { 0, 0 }, 2, 2, 0 },
        { "pending touch each other and free", { 1, 10, 5, 2, 15, 5, 1, 0, 5, 5 }, 10, 100, 5 },
        { "extent ends at nblocks", { 1, 95, 5, 0 }, 4, 100, 5 },
        { "gen == maxgen", { 0, 1, 10, 1, 5 }, 5, 100, 5 },
        { "end exactly 2^64-1", { 1, 2, 0xfd, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                  0xff, 0x01, 0 }, 13, UINT64_MAX, 5 },
    };
    Freelist *fl = new_fl();
    ErrorInfo err;
    uint8_t buf[32];

    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        const Bad *g = &good[i];
        int rc = freelist_decode(fl, g->b, g->n, g->nblocks, g->maxgen, &err);

        if (rc != DUMP_OK)
            fprintf(stderr, "  rejected: %s: %s\n", g->what, err.msg);
        CHECK(rc == DUMP_OK);
        CHECK(freelist_encode(fl, buf, sizeof buf) == g->n && memcmp(buf, g->b, g->n) == 0);
    }
    freelist_free(fl);
}

/* Scale: a million extents in sorted order (the treap's worst case for a
 * plain search tree) must stay fast; a quadratic path would not finish. */
static void test_scale(void)
{
    enum { N = 1 << 20 };
    Freelist *fl = new_fl(), *back = new_fl();
    uint64_t nb = 2 + 4 * (uint64_t)N, st;
    size_t n;
    uint8_t *buf;
    ErrorInfo err;
    int ok = 1;

    for (uint64_t i = 0; i < N; i++) {
        ok &= freelist_add_free(fl, 2 + 4 * i, 1 + i % 2) == DUMP_OK;
        ok &= freelist_add_pending(fl, 4 + 4 * i, 1, N - i) == DUMP_OK;
    }
    CHECK(ok && freelist_free_extents(fl) == N && freelist_pending_extents(fl) == N);
    n = freelist_encoded_size(fl);
    buf = malloc(n);
    CHECK(buf && freelist_encode(fl, buf, n) == n);
    CHECK(buf && freelist_decode(back, buf, n, nb, N, &err) == DUMP_OK);
    CHECK(freelist_free_blocks(back) == freelist_free_blocks(fl));
    for (uint64_t i = 0; i < N / 2; i++)
        ok &= freelist_alloc(fl, 2, &nb, &st) == DUMP_OK && st == 2 + 4 * (2 * i + 1);
    CHECK(ok && freelist_free_extents(fl) == N / 2);
    CHECK(freelist_release(fl, N / 2) == DUMP_OK);
    CHECK(freelist_pending_extents(fl) == N / 2 && freelist_min_pending_gen(fl) == N / 2 + 1);
    free(buf);
    freelist_free(back);
    freelist_free(fl);
}

/* ---- random operations against a per-block model ---- */

enum { USED, FREE, PEND };
enum { MAXB = 1 << 13, STEPS = 100000 };

typedef struct Model {
    uint8_t st[MAXB + 64];
    uint64_t gen[MAXB + 64];
    uint64_t nblocks, cur_gen;
} Model;

static uint64_t rng_state = 0x243F6A8885A308D3ULL;

static uint64_t rnd(uint64_t n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state % n;
}

/* Walk state while visiting: extents must be sorted, in range, made of
 * blocks the model agrees on, and (free) never touching. */
typedef struct Walk {
    const Model *m;
    int kind;
    uint64_t prev_end, blocks;
    size_t count;
    int bad;
} Walk;

static int walk_one(void *ctx, uint64_t start, uint64_t len, uint64_t gen)
{
    Walk *w = ctx;

    if (start < 2 || len == 0 || start + len > w->m->nblocks || start < w->prev_end ||
        (w->kind == FREE && w->count && start == w->prev_end) ||
        (w->kind == FREE) != (gen == 0))
        w->bad = 1;
    for (uint64_t b = start; !w->bad && b < start + len; b++)
        if (w->m->st[b] != w->kind || (w->kind == PEND && w->m->gen[b] != gen))
            w->bad = 1;
    w->prev_end = start + len;
    w->blocks += len;
    w->count++;
    return w->bad;
}

static int model_matches(const Freelist *fl, const Model *m)
{
    Walk wf = { m, FREE, 0, 0, 0, 0 }, wp = { m, PEND, 0, 0, 0, 0 };
    uint64_t nfree = 0, npend = 0, mingen = 0;

    for (uint64_t b = 2; b < m->nblocks; b++) {
        nfree += m->st[b] == FREE;
        npend += m->st[b] == PEND;
        if (m->st[b] == PEND && (mingen == 0 || m->gen[b] < mingen))
            mingen = m->gen[b];
    }
    freelist_foreach_free(fl, walk_one, &wf);
    freelist_foreach_pending(fl, walk_one, &wp);
    return !wf.bad && !wp.bad && wf.blocks == nfree && wp.blocks == npend &&
           freelist_free_blocks(fl) == nfree && freelist_pending_blocks(fl) == npend &&
           freelist_free_extents(fl) == wf.count && freelist_pending_extents(fl) == wp.count &&
           freelist_min_pending_gen(fl) == mingen;
}

/* Expected best fit in the model, or UINT64_MAX. Free runs are extents. */
static uint64_t model_best_fit(const Model *m, uint64_t n, uint64_t *tail_run)
{
    uint64_t best = UINT64_MAX, best_len = UINT64_MAX;

    *tail_run = UINT64_MAX;
    for (uint64_t b = 2; b < m->nblocks;) {
        uint64_t e = b;
        if (m->st[b] != FREE) {
            b++;
            continue;
        }
        while (e < m->nblocks && m->st[e] == FREE)
            e++;
        if (e - b >= n && e - b < best_len) {
            best = b;
            best_len = e - b;
        }
        if (e == m->nblocks)
            *tail_run = b;
        b = e;
    }
    return best;
}

static int step_alloc(Freelist *fl, Model *m)
{
    uint64_t n = rnd(10) ? 1 + rnd(8) : 1 + rnd(40), tail, st = 0, nb = m->nblocks;
    uint64_t want = model_best_fit(m, n, &tail);

    if (want == UINT64_MAX)
        want = tail != UINT64_MAX ? tail : m->nblocks;
    if (want + n > MAXB)
        return 1;
    if (freelist_alloc(fl, n, &nb, &st) != DUMP_OK || st != want ||
        nb != (want + n > m->nblocks ? want + n : m->nblocks))
        return 0;
    for (uint64_t b = m->nblocks; b < nb; b++)
        m->st[b] = USED;
    m->nblocks = nb;
    for (uint64_t b = st; b < st + n; b++)
        m->st[b] = USED;
    return 1;
}

/* Random block of state `want`, or 0 if a few probes find none. */
static uint64_t pick(const Model *m, int want)
{
    for (int tries = 0; tries < 8 && m->nblocks > 2; tries++) {
        uint64_t b = 2 + rnd(m->nblocks - 2);
        if (m->st[b] == want)
            return b;
    }
    return 0;
}

/* Frees or makes pending a run of used blocks; some runs end the file, so
 * that alloc meets free tails shorter than its request. */
static int step_give_back(Freelist *fl, Model *m)
{
    uint64_t b = pick(m, USED), e, lim;
    int pending = rnd(2);

    if (rnd(4) == 0 && m->nblocks > 6)
        b = m->nblocks - 1 - rnd(3);
    if (!b || m->st[b] != USED)
        return 1;
    e = b + 1;
    lim = b + 1 + rnd(12);
    while (e < m->nblocks && e < lim && m->st[e] == USED)
        e++;
    if ((pending ? freelist_add_pending(fl, b, e - b, m->cur_gen)
                 : freelist_add_free(fl, b, e - b)) != DUMP_OK)
        return 0;
    for (uint64_t x = b; x < e; x++) {
        m->st[x] = pending ? PEND : FREE;
        m->gen[x] = pending ? m->cur_gen : 0;
    }
    return 1;
}

/* A range covering at least one free or pending block must be refused. */
static int step_overlap(Freelist *fl, Model *m)
{
    uint64_t b = pick(m, rnd(2) ? FREE : PEND), lo, len;

    if (!b)
        return 1;
    lo = b - rnd((b - 2 < 3 ? b - 2 : 3) + 1);
    len = (b - lo) + 1 + rnd(4);
    return (rnd(2) ? freelist_add_free(fl, lo, len)
                   : freelist_add_pending(fl, lo, len, m->cur_gen)) == DUMP_CORRUPT;
}

static void model_release(Freelist *fl, Model *m)
{
    uint64_t maxgen = rnd(m->cur_gen + 1);

    freelist_release(fl, maxgen);
    for (uint64_t b = 2; b < m->nblocks; b++)
        if (m->st[b] == PEND && m->gen[b] <= maxgen)
            m->st[b] = FREE;
}

static int step_trim(Freelist *fl, Model *m)
{
    uint64_t nb = m->nblocks;

    freelist_trim_tail(fl, &nb);
    while (m->nblocks > 2 && m->st[m->nblocks - 1] == FREE)
        m->nblocks--;
    return nb == m->nblocks;
}

/* Encode, decode into a fresh structure, re-encode: identical bytes. */
static int roundtrip_ok(const Freelist *fl, const Model *m)
{
    Freelist *back = new_fl(), *dup = new_fl();
    size_t n = freelist_encoded_size(fl), n2 = 0;
    uint8_t *a = malloc(n), *b = malloc(n);
    ErrorInfo err;
    int ok = a && b && freelist_encode(fl, a, n) == n &&
             freelist_decode(back, a, n, m->nblocks, m->cur_gen, &err) == DUMP_OK &&
             model_matches(back, m) && (n2 = freelist_encode(back, b, n)) == n &&
             memcmp(a, b, n) == 0 &&
             freelist_copy(dup, back) == DUMP_OK && model_matches(dup, m);

    free(a);
    free(b);
    freelist_free(back);
    freelist_free(dup);
    return ok;
}

static void test_random(void)
{
    static Model m;
    Freelist *fl = new_fl();
    long step;

    memset(&m, 0, sizeof m);
    m.nblocks = 2;
    m.cur_gen = 1;
    for (step = 0; step < STEPS; step++) {
        uint64_t op = rnd(100);
        int ok = 1;

        if (op < (m.nblocks < MAXB / 2 ? 35 : 25))    /* keeps the file bounded */
            ok = step_alloc(fl, &m);
        else if (op < 75)
            ok = step_give_back(fl, &m);
        else if (op < 85)
            ok = step_overlap(fl, &m);
        else if (op < 92)
            model_release(fl, &m);
        else if (op < 96)
            ok = step_trim(fl, &m);
        else
            m.cur_gen++;
        if (!ok || !model_matches(fl, &m) || (step % 5000 == 0 && !roundtrip_ok(fl, &m)))
            break;
    }
    if (step < STEPS)
        fprintf(stderr, "  random test diverged at step %ld\n", step);
    CHECK(step == STEPS);
    fprintf(stderr, "  nblocks %" PRIu64 ", free %zu/%" PRIu64 ", pending %zu/%" PRIu64 "\n",
            m.nblocks, freelist_free_extents(fl), freelist_free_blocks(fl),
            freelist_pending_extents(fl), freelist_pending_blocks(fl));
    CHECK(roundtrip_ok(fl, &m));
    CHECK(m.nblocks > 2 && freelist_free_extents(fl) > 0 && freelist_pending_extents(fl) > 0);
    freelist_free(fl);
}

int main(void)
{
    run("best_fit", test_best_fit);
    run("merge", test_merge);
    run("alloc_tail", test_alloc_tail);
    run("trim_tail", test_trim_tail);
    run("pending_release", test_pending_release);
    run("overlap", test_overlap);
    run("roundtrip", test_roundtrip);
    run("copy", test_copy);
    run("decode_rejects", test_decode_rejects);
    run("decode_accepts", test_decode_accepts);
    run("scale", test_scale);
    run("random", test_random);
    printf("freelist: %d passed, %d failed\n", passed, failed);
    return failed != 0;
}
