/*
 * test_btree.c -- the copy-on-write B+trees (btree.c, pager.c) driven through
 * the Store API on real files, against in-memory models.
 *
 * Each random workload keeps a model in key order (an array of key slots,
 * each absent or holding a value version), commits periodically, and after
 * every commit compares the whole tree with the model through cursors in
 * both directions and runs store_check. Bulk APPEND loading is measured for
 * leaf fill; deleting and dropping are checked to give every block back.
 * Prints "btree: N passed, M failed" last.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "incrdump.h"
#include "store.h"
#include "testutil.h"

#define CHECK_S(s, expr, want) do { int r2_ = (expr); if (r2_ != (want)) { tu_case_failed = 1; \
    fprintf(stderr, "%s:%d: %s: %s returned %s, expected %s: %s\n", __FILE__, __LINE__, tu_case, \
            #expr, status_name(r2_), status_name(want), store_errmsg(s)); } } while (0)

static Store *open_new(const char *name)
{
    Store *s = NULL;
    const char *p = tu_path(name);
    unlink(p);
    int rc = store_open(p, STORE_CREATE | STORE_WRITE, &s);
    if (rc) {
        fprintf(stderr, "store_open %s: %s %s\n", p, status_name(rc), store_errmsg(s));
        exit(2);
    }
    return s;
}

static Store *reopen(Store *s, const char *name)
{
    store_close(s);
    Store *t = NULL;
    int rc = store_open(tu_path(name), STORE_WRITE, &t);
    if (rc) {
        fprintf(stderr, "reopen: %s %s\n", status_name(rc), store_errmsg(t));
        exit(2);
    }
    return t;
}

/* store_check, requiring DUMP_OK and the expected entry count. */
static int check_store(Store *s, uint64_t trees, uint64_t entries, StoreCheck *out)
{
    StoreCheck c;
    int rc = store_check(s, &c);
    if (out) *out = c;
    if (rc) { fprintf(stderr, "  store_check: %s %s\n", status_name(rc), store_errmsg(s)); return 0; }
    if (c.trees != trees || c.entries != entries) {
        fprintf(stderr, "  store_check: %" PRIu64 " trees %" PRIu64 " entries, want %" PRIu64 " %" PRIu64 "\n",
                c.trees, c.entries, trees, entries);
        return 0;
    }
    if (c.live_blocks + c.free_blocks + c.pending_blocks != c.nblocks) return 0;
    return 1;
}

static uint64_t file_size(const char *name)
{
    struct stat st;
    return stat(tu_path(name), &st) == 0 ? (uint64_t)st.st_size : 0;
}

/* ---- values: re-derivable from (slot, version) ---- */

static uint8_t g_val[70000];

/* Lengths cluster at the inline limit and the block payload boundaries. */
static size_t val_len(uint64_t slot, uint32_t ver)
{
    uint64_t h = (slot * 0x9E3779B97F4A7C15ull) ^ ((uint64_t)ver * 0xC2B2AE3D27D4EB4Full);
    h ^= h >> 29;
    uint64_t r = h % 100;
    if (r < 75) return (size_t)(h >> 8) % 40;
    if (r < 88) return (size_t)(h >> 8) % (VAL_INLINE_MAX + 1);
    static const size_t edge[] = { VAL_INLINE_MAX - 1, VAL_INLINE_MAX, VAL_INLINE_MAX + 1,
                                   BLOCK_PAYLOAD - 1, BLOCK_PAYLOAD, BLOCK_PAYLOAD + 1,
                                   2 * BLOCK_PAYLOAD + 1, 20000 };
    return edge[(h >> 8) % 8];
}

static const uint8_t *make_val(uint64_t slot, uint32_t ver, size_t *len)
{
    *len = val_len(slot, ver);
    tu_pattern(g_val, *len, slot, ver);
    return g_val;
}

static int val_ok(const uint8_t *v, size_t len, uint64_t slot, uint32_t ver)
{
    size_t want;
    make_val(slot, ver, &want);
    return len == want && (len == 0 || memcmp(v, g_val, len) == 0);
}

/* ---- int keys: 200k random operations ---- */

#define IK 200000u
static int64_t ikeys[IK];
static uint32_t iver[IK];      /* 0: absent, else the value's version */

/* Walk the tree both ways comparing with the model; returns 1 if equal. */
static int compare_int(Store *s, unsigned tree, const uint32_t *ver, uint64_t *count)
{
    StoreCursor *c;
    if (store_cursor_open(s, tree, &c)) return 0;
    int ok = 1, rc;
    uint64_t n = 0;
    uint32_t i = 0;
    for (rc = store_cursor_first(c); rc == DUMP_OK && ok; rc = store_cursor_next(c), i++) {
        while (i < IK && !ver[i]) i++;
        int64_t k;
        const uint8_t *v;
        size_t len;
        if (i == IK || store_cursor_key_int(c, &k) || k != ikeys[i] || store_cursor_value(c, &v, &len)
            || !val_ok(v, len, i, ver[i])) {
            fprintf(stderr, "  forward scan differs at slot %u\n", i);
            ok = 0;
        }
        n++;
    }
    if (ok && rc != DUMP_NOTFOUND) { fprintf(stderr, "  forward scan: %s\n", status_name(rc)); ok = 0; }
    if (ok) { while (i < IK && !ver[i]) i++; if (i != IK) { fprintf(stderr, "  scan ended early\n"); ok = 0; } }
    int64_t j = IK - 1;
    for (rc = store_cursor_last(c); rc == DUMP_OK && ok; rc = store_cursor_prev(c), j--) {
        while (j >= 0 && !ver[j]) j--;
        int64_t k;
        if (j < 0 || store_cursor_key_int(c, &k) || k != ikeys[j]) {
            fprintf(stderr, "  backward scan differs at slot %" PRId64 "\n", j);
            ok = 0;
        }
    }
    if (ok && rc != DUMP_NOTFOUND) ok = 0;
    if (ok) { while (j >= 0 && !ver[j]) j--; if (j >= 0) ok = 0; }
    store_cursor_close(c);
    *count = n;
    return ok;
}

/* Seek both ways from random probes and compare with the model. */
static int seek_probes(Store *s, unsigned tree, int probes)
{
    StoreCursor *c;
    if (store_cursor_open(s, tree, &c)) return 0;
    int ok = 1;
    for (int p = 0; p < probes && ok; p++) {
        uint32_t i = (uint32_t)rng_below(IK);
        int64_t probe = ikeys[i] + (rng_below(2) && ikeys[i] != INT64_MAX ? 1 : 0);  /* on or past a key */
        /* GE: first present slot with key >= probe. */
        uint32_t g = probe == ikeys[i] ? i : i + 1;
        while (g < IK && !iver[g]) g++;
        int64_t k;
        int rc = store_cursor_seek_int(c, probe, STORE_SEEK_GE);
        if (g == IK ? rc != DUMP_NOTFOUND : (rc || store_cursor_key_int(c, &k) || k != ikeys[g])) ok = 0;
        /* LE: last present slot with key <= probe. */
        int64_t l = i;
        while (l >= 0 && !iver[l]) l--;
        rc = store_cursor_seek_int(c, probe, STORE_SEEK_LE);
        if (l < 0 ? rc != DUMP_NOTFOUND : (rc || store_cursor_key_int(c, &k) || k != ikeys[l])) ok = 0;
        if (!ok) fprintf(stderr, "  seek probe at slot %u failed\n", i);
    }
    store_cursor_close(c);
    return ok;
}

/* A cursor walking while the tree changes under it: each step lands on the
 * nearest present key past the last one it returned (in the direction of
 * the step), whether or not that key still exists. *slot is the last
 * returned slot, or -1 when the cursor is unpositioned. */
static int walk_step(Store *s, StoreCursor *c, int64_t *slot)
{
    int dir = rng_below(4) == 0 ? -1 : 1;
    int64_t want = *slot;
    int rc;
    if (want < 0) {
        rc = dir > 0 ? store_cursor_first(c) : store_cursor_last(c);
        want = dir > 0 ? 0 : (int64_t)IK - 1;
        while (want >= 0 && want < (int64_t)IK && !iver[want]) want += dir;
    } else {
        rc = dir > 0 ? store_cursor_next(c) : store_cursor_prev(c);
        do want += dir; while (want >= 0 && want < (int64_t)IK && !iver[want]);
    }
    if (want < 0 || want >= (int64_t)IK) {          /* ran off the end */
        *slot = -1;
        if (rc == DUMP_NOTFOUND) return 1;
        fprintf(stderr, "  walking cursor: %s past the end\n", status_name(rc));
        return 0;
    }
    int64_t k;
    if (rc || store_cursor_key_int(c, &k) || k != ikeys[want]) {
        fprintf(stderr, "  walking cursor (dir %d) from slot %" PRId64 ": %s, want slot %" PRId64 ": %s\n",
                dir, *slot, status_name(rc), want, store_errmsg(s));
        return 0;
    }
    *slot = want;
    return 1;
}

static void test_int_random(void)
{
    rng_seed(11);
    for (uint32_t i = 0; i < IK; i++)
        ikeys[i] = ((int64_t)i - (int64_t)(IK / 2)) * ((int64_t)1 << 40) + (int64_t)((i * 7919u) % 1000);
    ikeys[0] = INT64_MIN;
    ikeys[IK - 1] = INT64_MAX;
    memset(iver, 0, sizeof iver);
    static uint32_t saved[IK];
    Store *s = open_new("int.db");
    CHECK_S(s, store_begin(s), DUMP_OK);
    CHECK_S(s, store_tree_create(s, 3, STORE_KEY_INT), DUMP_OK);
    uint64_t live = 0, maxlive = 0;
    uint32_t nextver = 1;
    const long OPS = 400000, BATCH = 40000;
    int ok = 1;
    StoreCursor *wc;
    int64_t wslot = -1;
    CHECK_S(s, store_cursor_open(s, 3, &wc), DUMP_OK);
    for (long op = 0; op < OPS && ok; op++) {
        int grow = op < OPS / 2;
        uint32_t i = (uint32_t)rng_below(IK);
        uint64_t r = rng_below(100);
        size_t len;
        const uint8_t *v;
        int rc, want;
        if (r < (grow ? 60u : 5u)) {                    /* upsert */
            uint32_t ver = nextver++;
            v = make_val(i, ver, &len);
            rc = store_put_int(s, 3, ikeys[i], v, len, STORE_PUT_UPSERT);
            want = DUMP_OK;
            if (!rc) { live += !iver[i]; iver[i] = ver; }
        } else if (r < (grow ? 70u : 8u)) {             /* insert-only */
            uint32_t ver = nextver++;
            v = make_val(i, ver, &len);
            rc = store_put_int(s, 3, ikeys[i], v, len, STORE_PUT_INSERT);
            want = iver[i] ? DUMP_EXISTS : DUMP_OK;
            if (!rc) { live++; iver[i] = ver; }
        } else if (r < (grow ? 80u : 12u)) {             /* replace-only */
            uint32_t ver = nextver++;
            v = make_val(i, ver, &len);
            rc = store_put_int(s, 3, ikeys[i], v, len, STORE_PUT_REPLACE);
            want = iver[i] ? DUMP_OK : DUMP_NOTFOUND;
            if (!rc) iver[i] = ver;
        } else {                                         /* delete */
            rc = store_del_int(s, 3, ikeys[i]);
            want = iver[i] ? DUMP_OK : DUMP_NOTFOUND;
            if (!rc) { live--; iver[i] = 0; }
        }
        if (rc != want) {
            fprintf(stderr, "  op %ld slot %u: %s, want %s: %s\n", op, i, status_name(rc), status_name(want),
                    store_errmsg(s));
            ok = 0;
        }
        if (live > maxlive) maxlive = live;
        if (op % 5 == 0 && !walk_step(s, wc, &wslot)) ok = 0;
        if (op % 997 == 0) {                             /* a point read */
            uint32_t j = (uint32_t)rng_below(IK);
            rc = store_get_int(s, 3, ikeys[j], &v, &len);
            if (iver[j] ? rc || !val_ok(v, len, j, iver[j]) : rc != DUMP_NOTFOUND) {
                fprintf(stderr, "  get slot %u: %s\n", j, status_name(rc));
                ok = 0;
            }
        }
        if ((op + 1) % BATCH == 0) {
            long batch = (op + 1) / BATCH;
            uint64_t count;
            if (!seek_probes(s, 3, 300)) ok = 0;          /* the writer's own view */
            if (batch == 4) {
                /* Abort this batch: the model goes back to the last commit. */
                CHECK_S(s, store_abort(s), DUMP_OK);
                memcpy(iver, saved, sizeof iver);
                live = 0;
                for (uint32_t j = 0; j < IK; j++) live += iver[j] != 0;
            } else {
                CHECK_S(s, store_commit(s), DUMP_OK);
                memcpy(saved, iver, sizeof iver);
            }
            /* After the abort the walking cursor re-finds its key (which
             * may have vanished with the batch) in the restored tree. */
            if (batch == 4 && !walk_step(s, wc, &wslot)) ok = 0;
            if (batch == 6) {
                store_cursor_close(wc);
                s = reopen(s, "int.db");
                CHECK_S(s, store_cursor_open(s, 3, &wc), DUMP_OK);
                wslot = -1;
            }
            if (!compare_int(s, 3, iver, &count) || count != live) { ok = 0; fprintf(stderr, "  batch %ld\n", batch); }
            StoreCheck ck;
            if (!check_store(s, 1, live, &ck)) ok = 0;
            if (batch % 3 == 0)
                fprintf(stderr, "  batch %ld: %" PRIu64 " keys, %" PRIu64 " blocks (%" PRIu64 " live, %" PRIu64
                        " free, %" PRIu64 " pending)\n", batch, live, ck.nblocks, ck.live_blocks, ck.free_blocks,
                        ck.pending_blocks);
            if (op + 1 < OPS) CHECK_S(s, store_begin(s), DUMP_OK);
        }
    }
    store_cursor_close(wc);
    CHECK(ok);
    CHECK(maxlive > 70000);          /* the workload really grew the tree... */
    CHECK(live < maxlive * 2 / 3);   /* ... and shrank it again */
    int kt;
    uint64_t cnt;
    CHECK_S(s, store_tree_stat(s, 3, &kt, &cnt), DUMP_OK);
    CHECK(kt == STORE_KEY_INT && cnt == live);
    store_close(s);
}

/* ---- byte keys: long shared prefixes, long keys, values around 768 ---- */

#define BK 5000
typedef struct BKey { uint8_t *p; size_t n; } BKey;
static BKey bkeys[BK];
static uint32_t bver[BK];
static size_t nbk;

static int bkey_cmp(const void *a, const void *b)
{
    const BKey *x = a, *y = b;
    return key_cmp_bytes(x->p, x->n, y->p, y->n);
}

static void make_bkeys(void)
{
    uint8_t tmp[4000];
    for (size_t i = 0; i < BK; i++) {
        size_t n = 0, cls = i % 5;
        uint64_t num = rng_below(1000000);
        if (cls == 0) {                        /* short */
            n = (size_t)snprintf((char *)tmp, sizeof tmp, "k%" PRIu64, num);
        } else if (cls == 1) {                 /* 200-byte common prefix */
            memset(tmp, 'm', 200);
            n = 200 + (size_t)snprintf((char *)tmp + 200, 40, "%" PRIu64, num);
        } else if (cls == 2) {                 /* 700-byte common prefix: long keys and separators */
            memset(tmp, 'P', 700);
            n = 700 + (size_t)snprintf((char *)tmp + 700, 40, "%" PRIu64, num);
        } else if (cls == 3) {                 /* around the inline limit */
            n = KEY_INLINE_MAX - 3 + rng_below(7);
            memset(tmp, 'i', n);
            snprintf((char *)tmp + n - 12, 13, "%012" PRIu64, num);
        } else {                               /* long, random tail */
            n = 513 + rng_below(3000);
            memset(tmp, 'z', n);
            rng_fill(tmp + 300, n - 300);
        }
        bkeys[i].p = malloc(n ? n : 1);
        memcpy(bkeys[i].p, tmp, n);
        bkeys[i].n = n;
    }
    bkeys[0].n = 0;                            /* the empty key sorts first */
    qsort(bkeys, BK, sizeof *bkeys, bkey_cmp);
    nbk = 0;
    for (size_t i = 0; i < BK; i++) {          /* drop duplicates */
        if (nbk && bkey_cmp(&bkeys[nbk - 1], &bkeys[i]) == 0) { free(bkeys[i].p); continue; }
        bkeys[nbk++] = bkeys[i];
    }
}

static int compare_bytes(Store *s, unsigned tree, uint64_t *count)
{
    StoreCursor *c;
    if (store_cursor_open(s, tree, &c)) return 0;
    int ok = 1, rc;
    uint64_t n = 0;
    size_t i = 0;
    for (rc = store_cursor_first(c); rc == DUMP_OK && ok; rc = store_cursor_next(c), i++, n++) {
        while (i < nbk && !bver[i]) i++;
        const uint8_t *k, *v;
        size_t kl, vl;
        if (i == nbk || store_cursor_key_bytes(c, &k, &kl) || kl != bkeys[i].n
            || (kl && memcmp(k, bkeys[i].p, kl) != 0) || store_cursor_value(c, &v, &vl)
            || !val_ok(v, vl, i, bver[i])) {
            fprintf(stderr, "  bytes forward scan differs at slot %zu\n", i);
            ok = 0;
        }
    }
    if (ok && rc != DUMP_NOTFOUND) ok = 0;
    int64_t j = (int64_t)nbk - 1;
    for (rc = store_cursor_last(c); rc == DUMP_OK && ok; rc = store_cursor_prev(c), j--) {
        while (j >= 0 && !bver[j]) j--;
        const uint8_t *k;
        size_t kl;
        if (j < 0 || store_cursor_key_bytes(c, &k, &kl) || kl != bkeys[j].n
            || (kl && memcmp(k, bkeys[j].p, kl) != 0)) {
            fprintf(stderr, "  bytes backward scan differs at slot %" PRId64 "\n", j);
            ok = 0;
        }
    }
    if (ok && rc != DUMP_NOTFOUND) ok = 0;
    if (ok) { while (j >= 0 && !bver[j]) j--; if (j >= 0) ok = 0; }
    store_cursor_close(c);
    *count = n;
    return ok;
}

static void test_bytes_random(void)
{
    rng_seed(22);
    make_bkeys();
    memset(bver, 0, sizeof bver);
    Store *s = open_new("bytes.db");
    CHECK_S(s, store_set_cache_size(s, 0), DUMP_OK);      /* 1 MiB: constant eviction */
    CHECK_S(s, store_begin(s), DUMP_OK);
    CHECK_S(s, store_tree_create(s, 0, STORE_KEY_BYTES), DUMP_OK);
    uint64_t live = 0;
    uint32_t nextver = 1;
    int ok = 1;
    const long OPS = 30000, BATCH = 3000;
    uint8_t probe[4100];
    for (long op = 0; op < OPS && ok; op++) {
        int grow = op < OPS * 6 / 10;
        size_t i = (size_t)rng_below(nbk);
        int rc, want;
        if (rng_below(100) < (grow ? 70u : 30u)) {
            uint32_t ver = nextver++;
            size_t len;
            const uint8_t *v = make_val(i, ver, &len);
            rc = store_put_bytes(s, 0, bkeys[i].p, bkeys[i].n, v, len, 0);
            want = DUMP_OK;
            if (!rc) { live += !bver[i]; bver[i] = ver; }
        } else {
            rc = store_del_bytes(s, 0, bkeys[i].p, bkeys[i].n);
            want = bver[i] ? DUMP_OK : DUMP_NOTFOUND;
            if (!rc) { live--; bver[i] = 0; }
        }
        if (rc != want) {
            fprintf(stderr, "  op %ld slot %zu (len %zu): %s: %s\n", op, i, bkeys[i].n, status_name(rc),
                    store_errmsg(s));
            ok = 0;
        }
        if (op % 101 == 0) {               /* a key that is never stored: an extension of one */
            memcpy(probe, bkeys[i].p, bkeys[i].n);
            probe[bkeys[i].n] = 0;
            const uint8_t *v;
            size_t len;
            int g = store_get_bytes(s, 0, probe, bkeys[i].n + 1, &v, &len);
            int stored = i + 1 < nbk && bver[i + 1] && bkeys[i + 1].n == bkeys[i].n + 1
                         && memcmp(bkeys[i + 1].p, probe, bkeys[i].n + 1) == 0;
            if (!stored && g != DUMP_NOTFOUND) { fprintf(stderr, "  phantom key\n"); ok = 0; }
        }
        if ((op + 1) % BATCH == 0) {
            uint64_t count;
            CHECK_S(s, store_commit(s), DUMP_OK);
            if (!compare_bytes(s, 0, &count) || count != live) ok = 0;
            if (!check_store(s, 1, live, NULL)) ok = 0;
            if (op + 1 < OPS) CHECK_S(s, store_begin(s), DUMP_OK);
        }
    }
    CHECK(ok);
    CHECK(live > 0);
    /* The key length limit: 65536 bytes works, 65537 is refused (and does
     * not poison the transaction). */
    uint8_t *huge = malloc(STORE_MAX_KEY + 1);
    memset(huge, 0xFF, STORE_MAX_KEY + 1);
    CHECK_S(s, store_begin(s), DUMP_OK);
    CHECK_S(s, store_put_bytes(s, 0, huge, STORE_MAX_KEY + 1, (const uint8_t *)"x", 1, 0), DUMP_INVALID);
    CHECK_S(s, store_put_bytes(s, 0, huge, STORE_MAX_KEY, (const uint8_t *)"max", 3, 0), DUMP_OK);
    CHECK_S(s, store_commit(s), DUMP_OK);
    const uint8_t *v;
    size_t vl;
    CHECK_S(s, store_get_bytes(s, 0, huge, STORE_MAX_KEY, &v, &vl), DUMP_OK);
    CHECK(vl == 3 && memcmp(v, "max", 3) == 0);
    CHECK_S(s, store_get_bytes(s, 0, huge, STORE_MAX_KEY + 1, &v, &vl), DUMP_INVALID);
    StoreCursor *c;
    CHECK_S(s, store_cursor_open(s, 0, &c), DUMP_OK);
    const uint8_t *k;
    size_t kl;
    CHECK_S(s, store_cursor_last(c), DUMP_OK);        /* 0xFF... sorts last */
    CHECK_S(s, store_cursor_key_bytes(c, &k, &kl), DUMP_OK);
    CHECK(kl == STORE_MAX_KEY && k[0] == 0xFF && k[kl - 1] == 0xFF);
    store_cursor_close(c);
    CHECK(check_store(s, 1, live + 1, NULL));
    CHECK_S(s, store_begin(s), DUMP_OK);
    CHECK_S(s, store_del_bytes(s, 0, huge, STORE_MAX_KEY), DUMP_OK);
    CHECK_S(s, store_commit(s), DUMP_OK);
    CHECK(check_store(s, 1, live, NULL));
    free(huge);
    store_close(s);
    for (size_t i = 0; i < nbk; i++) free(bkeys[i].p);
}

/* ---- APPEND bulk loading ---- */

static void test_append_bulk(void)
{
    const int64_t N = 1000000;
    Store *s = open_new("append.db");
    uint8_t v[8];
    CHECK_S(s, store_begin(s), DUMP_OK);
    CHECK_S(s, store_tree_create(s, 0, STORE_KEY_INT), DUMP_OK);
    int ok = 1;
    for (int64_t i = 0; i < N && ok; i++) {
        int64_t key = i * 3 - N;                       /* crosses zero, delta 3 */
        put_u64(v, (uint64_t)key * 0x9E3779B97F4A7C15ull);
        int rc = store_put_int(s, 0, key, v, 8, STORE_PUT_APPEND);
        if (rc) { fprintf(stderr, "  append %" PRId64 ": %s %s\n", i, status_name(rc), store_errmsg(s)); ok = 0; }
        if ((i + 1) % 250000 == 0) {                   /* append across commits too */
            CHECK_S(s, store_commit(s), DUMP_OK);
            CHECK_S(s, store_begin(s), DUMP_OK);
        }
        if (i == 500000) {
            /* Out-of-order and duplicate appends are refused without
             * poisoning the transaction. */
            CHECK_S(s, store_put_int(s, 0, key, v, 8, STORE_PUT_APPEND), DUMP_INVALID);
            CHECK_S(s, store_put_int(s, 0, key - 1, v, 8, STORE_PUT_APPEND), DUMP_INVALID);
            CHECK_S(s, store_put_int(s, 0, INT64_MIN, v, 8, STORE_PUT_APPEND), DUMP_INVALID);
        }
    }
    CHECK_S(s, store_commit(s), DUMP_OK);
    REQUIRE(ok);
    /* Every key, in order, with its value. */
    StoreCursor *c;
    CHECK_S(s, store_cursor_open(s, 0, &c), DUMP_OK);
    int64_t i = 0;
    int rc;
    for (rc = store_cursor_first(c); rc == DUMP_OK && ok; rc = store_cursor_next(c), i++) {
        int64_t k;
        const uint8_t *val;
        size_t len;
        if (store_cursor_key_int(c, &k) || k != i * 3 - N || store_cursor_value(c, &val, &len) || len != 8
            || get_u64(val) != (uint64_t)k * 0x9E3779B97F4A7C15ull) {
            fprintf(stderr, "  entry %" PRId64 " wrong\n", i);
            ok = 0;
        }
    }
    CHECK(ok && rc == DUMP_NOTFOUND && i == N);
    store_cursor_close(c);
    for (int64_t j = 0; j < N && ok; j += 7) {
        const uint8_t *val;
        size_t len;
        int64_t k = j * 3 - N;
        if (store_get_int(s, 0, k, &val, &len) || len != 8 || get_u64(val) != (uint64_t)k * 0x9E3779B97F4A7C15ull
            || store_get_int(s, 0, k + 1, &val, &len) != DUMP_NOTFOUND)
            ok = 0;
    }
    CHECK(ok);
    StoreCheck ck;
    CHECK(check_store(s, 1, (uint64_t)N, &ck));
    /* Fill: entries are a 1-byte delta and 1 + 8 value bytes (the first of
     * each leaf a 3-byte zigzag key); a node spends 1 + 2 bytes of header. */
    uint64_t per_leaf = (BLOCK_PAYLOAD - 3 - 2) / 10;
    uint64_t min_leaves = ((uint64_t)N + per_leaf - 1) / per_leaf;
    uint64_t tree_blocks = ck.live_blocks - 2 - extent_blocks(s->base.fs_len);
    fprintf(stderr, "  %" PRId64 " keys: %" PRIu64 " tree blocks (minimum leaves %" PRIu64 "), file %" PRIu64
            " blocks: %" PRIu64 " live, %" PRIu64 " free, %" PRIu64 " pending\n", N, tree_blocks, min_leaves,
            ck.nblocks, ck.live_blocks, ck.free_blocks, ck.pending_blocks);
    /* Leaves full but for a rounding; branches add well under 1%. */
    CHECK(tree_blocks >= min_leaves);
    CHECK(tree_blocks <= min_leaves + min_leaves / 100 + 8);
    CHECK(ck.free_blocks + ck.pending_blocks <= 64);   /* only the copied right edges */
    CHECK(file_size("append.db") == ck.nblocks * BLOCK_SIZE);
    store_close(s);
}

/* ---- deleting everything, dropping trees ---- */

static void test_delete_all(void)
{
    rng_seed(33);
    const uint32_t N = 60000;
    Store *s = open_new("delall.db");
    uint32_t *order = malloc(N * sizeof *order);
    for (uint32_t i = 0; i < N; i++) order[i] = i;
    CHECK_S(s, store_begin(s), DUMP_OK);
    CHECK_S(s, store_tree_create(s, 1, STORE_KEY_INT), DUMP_OK);
    for (uint32_t i = 0; i < N; i++) {
        size_t len;
        const uint8_t *v = make_val(i, 1, &len);
        CHECK_S(s, store_put_int(s, 1, (int64_t)i * 1000, v, len, 0), DUMP_OK);
    }
    CHECK_S(s, store_commit(s), DUMP_OK);
    uint64_t full = file_size("delall.db");
    for (uint32_t i = N - 1; i > 0; i--) {             /* delete in random order */
        uint32_t j = (uint32_t)rng_below(i + 1), t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    CHECK_S(s, store_begin(s), DUMP_OK);
    for (uint32_t i = 0; i < N; i++) {
        CHECK_S(s, store_del_int(s, 1, (int64_t)order[i] * 1000), DUMP_OK);
        if (i == N / 2) {                              /* half in its own commit */
            CHECK_S(s, store_commit(s), DUMP_OK);
            CHECK(check_store(s, 1, N - i - 1, NULL));
            CHECK_S(s, store_begin(s), DUMP_OK);
        }
    }
    CHECK_S(s, store_commit(s), DUMP_OK);
    CHECK(check_store(s, 1, 0, NULL));
    int kt;
    uint64_t cnt;
    CHECK_S(s, store_tree_stat(s, 1, &kt, &cnt), DUMP_OK);
    CHECK(kt == STORE_KEY_INT && cnt == 0);
    CHECK(s->base.trees[1].root == 0 && s->base.trees[1].height == 0);
    StoreCursor *c;
    CHECK_S(s, store_cursor_open(s, 1, &c), DUMP_OK);
    CHECK_S(s, store_cursor_first(c), DUMP_NOTFOUND);
    CHECK_S(s, store_cursor_last(c), DUMP_NOTFOUND);
    CHECK_S(s, store_cursor_seek_int(c, 5, STORE_SEEK_GE), DUMP_NOTFOUND);
    store_cursor_close(c);
    /* The blocks freed by the last commit wait one commit (pending), then
     * the file's free tail is cut off. */
    StoreCheck ck;
    for (int round = 0; round < 3; round++) {
        CHECK_S(s, store_begin(s), DUMP_OK);
        CHECK_S(s, store_commit(s), DUMP_OK);
    }
    CHECK(check_store(s, 1, 0, &ck));
    uint64_t now = file_size("delall.db");
    fprintf(stderr, "  file %" PRIu64 " blocks full, %" PRIu64 " emptied (%" PRIu64 " live, %" PRIu64 " free, %"
            PRIu64 " pending)\n", full / BLOCK_SIZE, now / BLOCK_SIZE, ck.live_blocks, ck.free_blocks,
            ck.pending_blocks);
    CHECK(now == ck.nblocks * BLOCK_SIZE);
    CHECK(ck.live_blocks == 2 + extent_blocks(s->base.fs_len));
    CHECK(ck.nblocks <= ck.live_blocks + 2);
    CHECK(now < full / 100);
    /* The empty tree is usable again. */
    CHECK_S(s, store_begin(s), DUMP_OK);
    CHECK_S(s, store_put_int(s, 1, 42, (const uint8_t *)"again", 5, 0), DUMP_OK);
    CHECK_S(s, store_commit(s), DUMP_OK);
    CHECK(check_store(s, 1, 1, NULL));
    free(order);
    store_close(s);
}

static void test_drop(void)
{
    rng_seed(44);
    Store *s = open_new("drop.db");
    CHECK_S(s, store_begin(s), DUMP_OK);
    CHECK_S(s, store_tree_create(s, 0, STORE_KEY_INT), DUMP_OK);
    CHECK_S(s, store_tree_create(s, 63, STORE_KEY_BYTES), DUMP_OK);
    uint8_t key[2000];
    for (uint32_t i = 0; i < 30000; i++) {
        size_t len;
        const uint8_t *v = make_val(i, 7, &len);
        CHECK_S(s, store_put_int(s, 0, (int64_t)rng_next(), v, len, 0), DUMP_OK);
        if (i % 6 == 0) {                              /* long keys and big values */
            size_t kl = i % 12 == 0 ? 600 + i % 1000 : 20;
            memset(key, 'd', kl);
            snprintf((char *)key + kl - 10, 11, "%010u", i);
            CHECK_S(s, store_put_bytes(s, 63, key, kl, v, len, 0), DUMP_OK);
        }
    }
    CHECK_S(s, store_commit(s), DUMP_OK);
    CHECK(check_store(s, 2, 35000, NULL));
    /* Drop one tree; the other is untouched. */
    CHECK_S(s, store_begin(s), DUMP_OK);
    CHECK_S(s, store_tree_drop(s, 0), DUMP_OK);
    CHECK_S(s, store_tree_drop(s, 0), DUMP_NOTFOUND);
    CHECK_S(s, store_commit(s), DUMP_OK);
    CHECK(check_store(s, 1, 5000, NULL));
    const uint8_t *v;
    size_t vl;
    CHECK_S(s, store_get_int(s, 0, 1, &v, &vl), DUMP_NOTFOUND);
    /* Drop the other, and recreate tree 0 with a new key type in the same
     * transaction. */
    CHECK_S(s, store_begin(s), DUMP_OK);
    CHECK_S(s, store_tree_drop(s, 63), DUMP_OK);
    CHECK_S(s, store_tree_create(s, 0, STORE_KEY_BYTES), DUMP_OK);
    CHECK_S(s, store_commit(s), DUMP_OK);
    StoreCheck ck;
    CHECK(check_store(s, 1, 0, &ck));
    fprintf(stderr, "  after drop: %" PRIu64 " blocks: %" PRIu64 " live, %" PRIu64 " free, %" PRIu64 " pending\n",
            ck.nblocks, ck.live_blocks, ck.free_blocks, ck.pending_blocks);
    /* Only the header slots and the free-space record are live. */
    CHECK(ck.live_blocks == 2 + extent_blocks(s->base.fs_len));
    CHECK(ck.pending_blocks > 0);
    CHECK_S(s, store_tree_drop(s, 0), DUMP_MISUSE);     /* no transaction */
    store_close(s);
    /* Reopened, the same holds; the next commit recycles everything. */
    Store *t = NULL;
    CHECK_S(t, store_open(tu_path("drop.db"), STORE_WRITE, &t), DUMP_OK);
    CHECK(check_store(t, 1, 0, NULL));
    for (int round = 0; round < 3; round++) {
        CHECK_S(t, store_begin(t), DUMP_OK);
        CHECK_S(t, store_commit(t), DUMP_OK);
        CHECK(check_store(t, 1, 0, &ck));
        fprintf(stderr, "  commit %d: %" PRIu64 " blocks: %" PRIu64 " live, %" PRIu64 " free, %" PRIu64
                " pending\n", round, ck.nblocks, ck.live_blocks, ck.free_blocks, ck.pending_blocks);
    }
    CHECK(ck.live_blocks == 2 + extent_blocks(t->base.fs_len) && ck.nblocks <= ck.live_blocks + 2);
    store_close(t);
}

int main(void)
{
    tu_tmpdir("test_btree");
    run("int_random", test_int_random);
    run("bytes_random", test_bytes_random);
    run("append_bulk", test_append_bulk);
    run("delete_all", test_delete_all);
    run("drop", test_drop);
    tu_cleanup();
    return tu_finish("btree");
}
