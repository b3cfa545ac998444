/*
 * test_store.c -- the Store handle (store.c, check.c): opening and creating,
 * identity, transactions, the one-writer lock, reader snapshots, integrity
 * check counts and every failure path of store_open.
 *
 * Several handles on one file in one process stand in for processes: the
 * locks are open-file-description locks, so two handles conflict exactly as
 * two processes would. Every handle is closed, also after a failed open,
 * so ASan's leak check covers those paths. Prints "store: N passed, M
 * failed" last.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "incrdump.h"
#include "store.h"
#include "testutil.h"

#define CHECK_S(s, expr, want) do { int r2_ = (expr); if (r2_ != (want)) { tu_case_failed = 1; \
    fprintf(stderr, "%s:%d: %s: %s returned %s, expected %s: %s\n", __FILE__, __LINE__, tu_case, \
            #expr, status_name(r2_), status_name(want), store_errmsg(s)); } } while (0)

/* A failure with a message: the code, and a non-empty store_errmsg. */
#define CHECK_FAIL(s, expr, want) do { CHECK_S(s, expr, want); \
    if (!*store_errmsg(s)) { tu_case_failed = 1; \
        fprintf(stderr, "%s:%d: %s: %s: empty error message\n", __FILE__, __LINE__, tu_case, #expr); } \
} while (0)

static const uint8_t *V(const char *s) { return (const uint8_t *)s; }

static Store *open_ok(const char *name, unsigned flags)
{
    Store *s = NULL;
    int rc = store_open(tu_path(name), flags, &s);
    if (rc) {
        fprintf(stderr, "store_open %s: %s %s\n", name, status_name(rc), store_errmsg(s));
        exit(2);
    }
    return s;
}

/* Value of int key k in tree t as a NUL-terminated string ("" if absent). */
static const char *get_str(Store *s, unsigned t, int64_t k)
{
    static char buf[256];
    const uint8_t *v;
    size_t len;
    if (store_get_int(s, t, k, &v, &len) != DUMP_OK || len >= sizeof buf) return "";
    memcpy(buf, v, len);
    buf[len] = 0;
    return buf;
}

static uint64_t gen_of(Store *s)
{
    StoreInfo info;
    return store_info(s, &info) == DUMP_OK ? info.generation : 0;
}

/* ---- create / open / identity ---- */

static void test_create_reopen(void)
{
    unlink(tu_path("create.db"));
    Store *s = open_ok("create.db", STORE_CREATE | STORE_WRITE);
    StoreInfo a, b;
    CHECK_S(s, store_info(s, &a), DUMP_OK);
    CHECK(a.generation == 1 && a.version_major == 1 && a.version_minor == 0);
    CHECK(a.nblocks == 2 && a.file_size == 2 * 4096);
    CHECK((a.uuid[6] >> 4) == 4 && (a.uuid[8] & 0xC0) == 0x80);          /* RFC 4122 v4 */
    CHECK(a.free_blocks == 0 && a.pending_blocks == 0);
    StoreCheck ck;
    CHECK_S(s, store_check(s, &ck), DUMP_OK);
    CHECK(ck.nblocks == 2 && ck.live_blocks == 2 && ck.trees == 0 && ck.entries == 0);
    int kt = -1;
    uint64_t cnt = 9;
    CHECK_S(s, store_tree_stat(s, 0, &kt, &cnt), DUMP_OK);
    CHECK(kt == 0 && cnt == 0);
    CHECK(*store_errmsg(s) == 0 && store_errno(s) == 0);
    store_close(s);

    /* Reopened read-only, and "created" again: the same dump. */
    s = open_ok("create.db", 0);
    CHECK_S(s, store_info(s, &b), DUMP_OK);
    CHECK(b.generation == 1 && memcmp(a.uuid, b.uuid, 16) == 0);
    store_close(s);
    s = open_ok("create.db", STORE_CREATE | STORE_WRITE);
    CHECK_S(s, store_info(s, &b), DUMP_OK);
    CHECK(b.generation == 1 && memcmp(a.uuid, b.uuid, 16) == 0);
    /* Commits advance the generation and keep the uuid. */
    for (int i = 0; i < 3; i++) {
        CHECK_S(s, store_begin(s), DUMP_OK);
        CHECK_S(s, store_commit(s), DUMP_OK);
    }
    CHECK_S(s, store_info(s, &b), DUMP_OK);
    CHECK(b.generation == 4 && memcmp(a.uuid, b.uuid, 16) == 0);
    store_close(s);
    s = open_ok("create.db", 0);
    CHECK(gen_of(s) == 4);
    store_close(s);

    /* Another file is another dump. */
    unlink(tu_path("create2.db"));
    s = open_ok("create2.db", STORE_CREATE);
    CHECK_S(s, store_info(s, &b), DUMP_OK);
    CHECK(memcmp(a.uuid, b.uuid, 16) != 0 && b.generation == 1);
    store_close(s);
    /* An empty existing file is initialised by STORE_CREATE. */
    int fd = open(tu_path("empty-create.db"), O_CREAT | O_TRUNC | O_WRONLY, 0644);
    close(fd);
    s = open_ok("empty-create.db", STORE_CREATE | STORE_WRITE);
    CHECK(gen_of(s) == 1);
    store_close(s);
    store_close(NULL);
}

/* ---- transactions ---- */

static void test_txn_semantics(void)
{
    unlink(tu_path("txn.db"));
    Store *s = open_ok("txn.db", STORE_CREATE | STORE_WRITE);
    const uint8_t *v;
    size_t len;
    CHECK(store_in_txn(s) == 0);
    CHECK_S(s, store_begin(s), DUMP_OK);
    CHECK(store_in_txn(s) == 1);
    CHECK_S(s, store_tree_create(s, 0, STORE_KEY_INT), DUMP_OK);
    CHECK_S(s, store_put_int(s, 0, 1, V("one"), 3, 0), DUMP_OK);
    CHECK(strcmp(get_str(s, 0, 1), "one") == 0);          /* the writer sees its own writes */
    CHECK(gen_of(s) == 1);                               /* still the committed snapshot's number */
    CHECK_S(s, store_commit(s), DUMP_OK);
    CHECK(store_in_txn(s) == 0 && gen_of(s) == 2);
    CHECK(strcmp(get_str(s, 0, 1), "one") == 0);

    /* Abort discards puts, deletes and tree creation. */
    CHECK_S(s, store_begin(s), DUMP_OK);
    CHECK_S(s, store_put_int(s, 0, 2, V("two"), 3, 0), DUMP_OK);
    CHECK_S(s, store_del_int(s, 0, 1), DUMP_OK);
    CHECK_S(s, store_tree_create(s, 5, STORE_KEY_BYTES), DUMP_OK);
    CHECK_S(s, store_put_bytes(s, 5, V("k"), 1, V("v"), 1, 0), DUMP_OK);
    CHECK_S(s, store_get_int(s, 0, 1, &v, &len), DUMP_NOTFOUND);
    CHECK_S(s, store_abort(s), DUMP_OK);
    CHECK(store_in_txn(s) == 0 && gen_of(s) == 2);
    CHECK(strcmp(get_str(s, 0, 1), "one") == 0);
    CHECK_FAIL(s, store_get_int(s, 0, 2, &v, &len), DUMP_NOTFOUND);
    int kt;
    uint64_t cnt;
    CHECK_S(s, store_tree_stat(s, 5, &kt, &cnt), DUMP_OK);
    CHECK(kt == 0 && cnt == 0);
    CHECK_FAIL(s, store_get_bytes(s, 5, V("k"), 1, &v, &len), DUMP_NOTFOUND);
    StoreCheck ck;
    CHECK_S(s, store_check(s, &ck), DUMP_OK);
    CHECK(ck.trees == 1 && ck.entries == 1);

    /* Calls out of sequence. */
    CHECK_FAIL(s, store_commit(s), DUMP_MISUSE);
    CHECK_FAIL(s, store_abort(s), DUMP_MISUSE);
    CHECK_FAIL(s, store_put_int(s, 0, 3, V("x"), 1, 0), DUMP_MISUSE);
    CHECK_FAIL(s, store_del_int(s, 0, 1), DUMP_MISUSE);
    CHECK_FAIL(s, store_tree_create(s, 1, STORE_KEY_INT), DUMP_MISUSE);
    CHECK_FAIL(s, store_tree_drop(s, 0), DUMP_MISUSE);
    CHECK_S(s, store_begin(s), DUMP_OK);
    CHECK_FAIL(s, store_begin(s), DUMP_MISUSE);
    CHECK(store_in_txn(s) == 1);                         /* the first one is still open */
    CHECK_FAIL(s, store_refresh(s), DUMP_MISUSE);
    CHECK_FAIL(s, store_check(s, &ck), DUMP_MISUSE);

    /* Answers about keys and arguments do not poison the transaction. */
    CHECK_S(s, store_put_int(s, 0, 3, V("three"), 5, 0), DUMP_OK);
    CHECK_FAIL(s, store_put_int(s, 0, 3, V("x"), 1, STORE_PUT_INSERT), DUMP_EXISTS);
    CHECK_FAIL(s, store_put_int(s, 0, 4, V("x"), 1, STORE_PUT_REPLACE), DUMP_NOTFOUND);
    CHECK_FAIL(s, store_put_int(s, 0, 2, V("x"), 1, STORE_PUT_APPEND), DUMP_INVALID);
    CHECK_FAIL(s, store_put_int(s, 0, 5, V("x"), 1, 64), DUMP_INVALID);
    CHECK_FAIL(s, store_put_bytes(s, 0, V("k"), 1, V("x"), 1, 0), DUMP_INVALID);   /* int tree */
    CHECK_FAIL(s, store_get_bytes(s, 0, V("k"), 1, &v, &len), DUMP_INVALID);
    CHECK_FAIL(s, store_put_int(s, 64, 1, V("x"), 1, 0), DUMP_INVALID);
    CHECK_FAIL(s, store_put_int(s, 7, 1, V("x"), 1, 0), DUMP_NOTFOUND);
    CHECK_FAIL(s, store_del_int(s, 0, 99), DUMP_NOTFOUND);
    CHECK_FAIL(s, store_tree_create(s, 0, STORE_KEY_BYTES), DUMP_EXISTS);
    CHECK_FAIL(s, store_tree_create(s, 1, 3), DUMP_INVALID);
    CHECK_FAIL(s, store_tree_create(s, 64, STORE_KEY_INT), DUMP_INVALID);
    CHECK_FAIL(s, store_tree_drop(s, 9), DUMP_NOTFOUND);
    CHECK_FAIL(s, store_tree_stat(s, 64, &kt, &cnt), DUMP_INVALID);
    CHECK_S(s, store_put_int(s, 0, 4, V("four"), 4, STORE_PUT_APPEND), DUMP_OK);
    CHECK_S(s, store_put_int(s, 0, 3, V("THREE"), 5, STORE_PUT_REPLACE), DUMP_OK);
    CHECK(*store_errmsg(s) == 0);                        /* success clears the message */
    CHECK_S(s, store_commit(s), DUMP_OK);
    CHECK(gen_of(s) == 3);
    CHECK(strcmp(get_str(s, 0, 3), "THREE") == 0 && strcmp(get_str(s, 0, 4), "four") == 0);

    /* Closing with an open transaction aborts it. */
    CHECK_S(s, store_begin(s), DUMP_OK);
    CHECK_S(s, store_put_int(s, 0, 100, V("lost"), 4, 0), DUMP_OK);
    store_close(s);
    s = open_ok("txn.db", STORE_WRITE);
    CHECK(gen_of(s) == 3);
    CHECK_S(s, store_get_int(s, 0, 100, &v, &len), DUMP_NOTFOUND);
    CHECK(strcmp(get_str(s, 0, 1), "one") == 0);
    CHECK_S(s, store_check(s, &ck), DUMP_OK);
    CHECK(ck.entries == 3);
    store_close(s);

    /* A read-only handle reads but never writes. */
    s = open_ok("txn.db", 0);
    CHECK(strcmp(get_str(s, 0, 4), "four") == 0);
    CHECK_FAIL(s, store_begin(s), DUMP_READONLY);
    CHECK(store_in_txn(s) == 0);
    CHECK_FAIL(s, store_put_int(s, 0, 9, V("x"), 1, 0), DUMP_MISUSE);
    store_close(s);
}

/* A write that fails for a real reason poisons the transaction: only abort
 * (or a commit that aborts) is left, and the file keeps its last commit. */
static void test_failed_write(void)
{
    unlink(tu_path("fail.db"));
    Store *s = open_ok("fail.db", STORE_CREATE | STORE_WRITE);
    CHECK_S(s, store_begin(s), DUMP_OK);
    CHECK_S(s, store_tree_create(s, 0, STORE_KEY_INT), DUMP_OK);
    CHECK_S(s, store_put_int(s, 0, 1, V("kept"), 4, 0), DUMP_OK);
    CHECK_S(s, store_commit(s), DUMP_OK);
    store_close(s);
    /* Count the operations of one small transaction, then crash at each. */
    Store *f = NULL;
    CHECK_S(f, store_open_faulty(tu_path("fail.db"), STORE_WRITE, 0, STORE_CRASH_DROP, 1, &f), DUMP_OK);
    uint64_t before = store_io_ops(f);
    CHECK_S(f, store_begin(f), DUMP_OK);
    CHECK_S(f, store_put_int(f, 0, 2, V("new"), 3, 0), DUMP_OK);
    CHECK_S(f, store_abort(f), DUMP_OK);
    CHECK(store_io_ops(f) == before);                   /* nothing written before commit */
    store_close(f);
    int crashes = 0;
    for (uint64_t at = 1; at <= 8; at++) {
        f = NULL;
        CHECK_S(f, store_open_faulty(tu_path("fail.db"), STORE_WRITE, at, STORE_CRASH_DROP, at, &f), DUMP_OK);
        CHECK_S(f, store_begin(f), DUMP_OK);
        CHECK_S(f, store_put_int(f, 0, 2, V("new"), 3, 0), DUMP_OK);
        int rc = store_commit(f);
        if (rc == DUMP_OK) { store_close(f); break; }   /* the commit has fewer operations */
        crashes++;
        CHECK(rc == DUMP_IOERR && *store_errmsg(f));
        CHECK(store_in_txn(f) == 0);                    /* aborted */
        CHECK_FAIL(f, store_begin(f), DUMP_IOERR);      /* the simulated machine is dead */
        store_close(f);
        Store *r = open_ok("fail.db", STORE_WRITE);
        const uint8_t *v;
        size_t len;
        CHECK(gen_of(r) == 2 && strcmp(get_str(r, 0, 1), "kept") == 0);
        CHECK_S(r, store_get_int(r, 0, 2, &v, &len), DUMP_NOTFOUND);
        StoreCheck ck;
        CHECK_S(r, store_check(r, &ck), DUMP_OK);
        store_close(r);
    }
    CHECK(crashes >= 4);        /* node, free-space record, sync, header, sync */
}

/* ---- one writer ---- */

static void test_busy(void)
{
    unlink(tu_path("busy.db"));
    Store *a = open_ok("busy.db", STORE_CREATE | STORE_WRITE);
    Store *b = open_ok("busy.db", STORE_WRITE);
    Store *r = open_ok("busy.db", 0);
    CHECK_S(a, store_begin(a), DUMP_OK);
    CHECK_S(a, store_tree_create(a, 0, STORE_KEY_INT), DUMP_OK);
    CHECK_S(a, store_put_int(a, 0, 1, V("a1"), 2, 0), DUMP_OK);
    CHECK_FAIL(b, store_begin(b), DUMP_BUSY);
    CHECK(store_in_txn(b) == 0);
    CHECK_FAIL(b, store_put_int(b, 0, 1, V("b"), 1, 0), DUMP_MISUSE);
    /* A reader is never blocked by the writer. */
    CHECK_S(r, store_refresh(r), DUMP_OK);
    CHECK(gen_of(r) == 1);
    CHECK_S(a, store_commit(a), DUMP_OK);
    /* Now b may write, and its transaction starts from a's commit. */
    CHECK_S(b, store_begin(b), DUMP_OK);
    CHECK(strcmp(get_str(b, 0, 1), "a1") == 0 && gen_of(b) == 2);
    CHECK_FAIL(a, store_begin(a), DUMP_BUSY);
    CHECK_S(b, store_put_int(b, 0, 2, V("b2"), 2, 0), DUMP_OK);
    CHECK_S(b, store_abort(b), DUMP_OK);
    CHECK_S(a, store_begin(a), DUMP_OK);
    CHECK_FAIL(b, store_begin(b), DUMP_BUSY);
    /* Closing a writer mid-transaction releases the lock. */
    CHECK_S(a, store_put_int(a, 0, 3, V("a3"), 2, 0), DUMP_OK);
    store_close(a);
    CHECK_S(b, store_begin(b), DUMP_OK);
    const uint8_t *v;
    size_t len;
    CHECK_S(b, store_get_int(b, 0, 3, &v, &len), DUMP_NOTFOUND);     /* a's write died with it */
    CHECK_S(b, store_put_int(b, 0, 2, V("b2"), 2, 0), DUMP_OK);
    CHECK_S(b, store_commit(b), DUMP_OK);
    CHECK(gen_of(r) == 1);                               /* r has not refreshed */
    CHECK_S(r, store_refresh(r), DUMP_OK);
    CHECK(gen_of(r) == 3 && strcmp(get_str(r, 0, 2), "b2") == 0);
    store_close(b);
    store_close(r);
}

/* ---- reader snapshots ---- */

#define SN 3000

static void put_version(Store *s, int ver)
{
    uint8_t big[3000];
    for (int64_t k = 0; k < SN; k++) {
        char v[32];
        int n = snprintf(v, sizeof v, "v%d-%" PRId64, ver, k);
        if (k % 50 == 0) {                               /* some values live in extents */
            memset(big, 'a' + ver, sizeof big);
            memcpy(big, v, (size_t)n);
            CHECK_S(s, store_put_int(s, 0, k, big, sizeof big, 0), DUMP_OK);
        } else {
            CHECK_S(s, store_put_int(s, 0, k, (const uint8_t *)v, (size_t)n, 0), DUMP_OK);
        }
    }
}

/* 1 if every key holds version `ver`, read by get and by cursor. */
static int has_version(Store *s, int ver)
{
    int ok = 1;
    for (int64_t k = 0; k < SN && ok; k++) {
        char want[32];
        int n = snprintf(want, sizeof want, "v%d-%" PRId64, ver, k);
        const uint8_t *v;
        size_t len;
        if (store_get_int(s, 0, k, &v, &len) || len < (size_t)n || memcmp(v, want, (size_t)n) != 0
            || (k % 50 == 0 ? len != 3000 || v[2999] != 'a' + ver : len != (size_t)n)) {
            fprintf(stderr, "  key %" PRId64 ": not version %d\n", k, ver);
            ok = 0;
        }
    }
    StoreCursor *c;
    if (store_cursor_open(s, 0, &c)) return 0;
    int64_t k = 0;
    int rc;
    for (rc = store_cursor_first(c); rc == DUMP_OK && ok; rc = store_cursor_next(c), k++) {
        int64_t got;
        const uint8_t *v;
        size_t len;
        char want[32];
        int n = snprintf(want, sizeof want, "v%d-%" PRId64, ver, k);
        if (store_cursor_key_int(c, &got) || got != k || store_cursor_value(c, &v, &len)
            || memcmp(v, want, (size_t)n) != 0)
            ok = 0;
    }
    store_cursor_close(c);
    return ok && rc == DUMP_NOTFOUND && k == SN;
}

static void test_snapshot_isolation(void)
{
    unlink(tu_path("snap.db"));
    Store *w = open_ok("snap.db", STORE_CREATE | STORE_WRITE);
    CHECK_S(w, store_begin(w), DUMP_OK);
    CHECK_S(w, store_tree_create(w, 0, STORE_KEY_INT), DUMP_OK);
    put_version(w, 1);
    CHECK_S(w, store_commit(w), DUMP_OK);
    uint64_t g1 = gen_of(w);
    /* The reader takes its snapshot now but reads nothing yet, so nothing
     * of it is cached: later reads must come from blocks still on disk. */
    Store *r = open_ok("snap.db", 0);
    CHECK(gen_of(r) == g1);
    StoreInfo wi;
    CHECK_S(w, store_info(w, &wi), DUMP_OK);
    uint64_t nb1 = wi.nblocks;
    for (int ver = 2; ver <= 6; ver++) {                 /* rewrite everything, five times */
        CHECK_S(w, store_begin(w), DUMP_OK);
        put_version(w, ver);
        if (ver == 4) CHECK_S(w, store_tree_create(w, 1, STORE_KEY_BYTES), DUMP_OK);
        CHECK_S(w, store_commit(w), DUMP_OK);
    }
    /* Uncommitted changes are invisible too. */
    CHECK_S(w, store_begin(w), DUMP_OK);
    CHECK_S(w, store_put_int(w, 0, 0, V("uncommitted"), 11, 0), DUMP_OK);
    CHECK_S(w, store_del_int(w, 0, 1), DUMP_OK);
    CHECK(gen_of(r) == g1);
    CHECK(has_version(r, 1));
    int kt;
    uint64_t cnt;
    CHECK_S(r, store_tree_stat(r, 1, &kt, &cnt), DUMP_OK);
    CHECK(kt == 0);
    StoreCheck ck;
    CHECK_S(r, store_check(r, &ck), DUMP_OK);
    CHECK(ck.trees == 1 && ck.entries == SN);
    /* Blocks of the reader's snapshot could not be reused: the file grew. */
    CHECK_S(w, store_info(w, &wi), DUMP_OK);
    fprintf(stderr, "  blocks: %" PRIu64 " at the reader's snapshot, %" PRIu64 " after five rewrites\n", nb1,
            wi.nblocks);
    CHECK(wi.nblocks > 3 * nb1);
    /* Refresh moves the reader to the newest commit, not the open txn. */
    CHECK_S(r, store_refresh(r), DUMP_OK);
    CHECK(gen_of(r) == g1 + 5);
    CHECK(has_version(r, 6));
    CHECK_S(r, store_tree_stat(r, 1, &kt, &cnt), DUMP_OK);
    CHECK(kt == STORE_KEY_BYTES);
    CHECK_S(w, store_commit(w), DUMP_OK);
    CHECK(has_version(r, 6));
    CHECK(strcmp(get_str(w, 0, 0), "uncommitted") == 0);
    CHECK_S(r, store_refresh(r), DUMP_OK);
    CHECK(strcmp(get_str(r, 0, 0), "uncommitted") == 0);
    /* With the old snapshot released, rewrites recycle blocks: the file
     * stops growing. */
    store_close(r);
    CHECK_S(w, store_info(w, &wi), DUMP_OK);
    uint64_t peak = wi.nblocks;
    for (int ver = 7; ver <= 10; ver++) {
        CHECK_S(w, store_begin(w), DUMP_OK);
        put_version(w, ver);
        CHECK_S(w, store_commit(w), DUMP_OK);
    }
    CHECK_S(w, store_info(w, &wi), DUMP_OK);
    fprintf(stderr, "  blocks: %" PRIu64 " before and %" PRIu64 " after four more rewrites\n", peak, wi.nblocks);
    CHECK(wi.nblocks <= peak);
    CHECK(has_version(w, 10));
    CHECK_S(w, store_check(w, &ck), DUMP_OK);
    store_close(w);
}

/* Two readers pinned at different commits both keep their view. */
static void test_two_readers(void)
{
    unlink(tu_path("readers.db"));
    Store *w = open_ok("readers.db", STORE_CREATE | STORE_WRITE);
    CHECK_S(w, store_begin(w), DUMP_OK);
    CHECK_S(w, store_tree_create(w, 0, STORE_KEY_INT), DUMP_OK);
    put_version(w, 1);
    CHECK_S(w, store_commit(w), DUMP_OK);
    Store *r1 = open_ok("readers.db", 0);
    CHECK_S(w, store_begin(w), DUMP_OK);
    put_version(w, 2);
    CHECK_S(w, store_commit(w), DUMP_OK);
    Store *r2 = open_ok("readers.db", 0);
    for (int ver = 3; ver <= 5; ver++) {
        CHECK_S(w, store_begin(w), DUMP_OK);
        put_version(w, ver);
        CHECK_S(w, store_commit(w), DUMP_OK);
    }
    CHECK(has_version(r2, 2));
    CHECK(has_version(r1, 1));
    StoreCheck ck;
    CHECK_S(r1, store_check(r1, &ck), DUMP_OK);
    CHECK_S(r2, store_check(r2, &ck), DUMP_OK);
    store_close(r1);
    /* r2 still pins commit 3: versions written after it churn, it stays. */
    for (int ver = 6; ver <= 7; ver++) {
        CHECK_S(w, store_begin(w), DUMP_OK);
        put_version(w, ver);
        CHECK_S(w, store_commit(w), DUMP_OK);
    }
    CHECK_S(r2, store_set_cache_size(r2, 0), DUMP_OK);
    CHECK(has_version(r2, 2));
    CHECK_S(r2, store_check(r2, &ck), DUMP_OK);
    store_close(r2);
    store_close(w);
}

/* ---- integrity check ---- */

static void test_check_counts(void)
{
    unlink(tu_path("check.db"));
    Store *s = open_ok("check.db", STORE_CREATE | STORE_WRITE);
    CHECK_S(s, store_begin(s), DUMP_OK);
    CHECK_S(s, store_tree_create(s, 0, STORE_KEY_INT), DUMP_OK);
    CHECK_S(s, store_tree_create(s, 1, STORE_KEY_BYTES), DUMP_OK);
    CHECK_S(s, store_tree_create(s, 2, STORE_KEY_INT), DUMP_OK);      /* stays empty */
    uint8_t big[5000];
    memset(big, 'x', sizeof big);
    for (int64_t k = 0; k < 1000; k++)
        CHECK_S(s, store_put_int(s, 0, k * k, big, k % 100 == 0 ? 5000 : (size_t)(k % 40), 0), DUMP_OK);
    for (int i = 0; i < 500; i++) {
        char key[700];
        memset(key, 'k', sizeof key);
        int n = snprintf(key, sizeof key, "%05d", i);
        key[n] = '/';
        CHECK_S(s, store_put_bytes(s, 1, (const uint8_t *)key, i % 10 == 0 ? 700 : 40, big, 10, 0), DUMP_OK);
    }
    CHECK_S(s, store_commit(s), DUMP_OK);
    StoreCheck ck;
    StoreInfo info;
    CHECK_S(s, store_check(s, &ck), DUMP_OK);
    CHECK_S(s, store_info(s, &info), DUMP_OK);
    CHECK(ck.trees == 3 && ck.entries == 1500);
    CHECK(ck.nblocks == info.nblocks && info.file_size == info.nblocks * 4096);
    CHECK(ck.live_blocks + ck.free_blocks + ck.pending_blocks == ck.nblocks);
    /* Ten 5000-byte values (2 blocks each) and fifty 700-byte keys
     * (1 block each) are live on top of the nodes and headers. */
    CHECK(ck.live_blocks >= 2 + 20 + 50 + 2);
    /* Deleting half: the freed blocks show up as pending, then free. */
    CHECK_S(s, store_begin(s), DUMP_OK);
    for (int64_t k = 0; k < 1000; k += 2) CHECK_S(s, store_del_int(s, 0, k * k), DUMP_OK);
    CHECK_S(s, store_commit(s), DUMP_OK);
    StoreCheck ck2;
    CHECK_S(s, store_check(s, &ck2), DUMP_OK);
    CHECK(ck2.entries == 1000 && ck2.pending_blocks > 0);
    CHECK(ck2.live_blocks < ck.live_blocks);
    CHECK(ck2.live_blocks + ck2.free_blocks + ck2.pending_blocks == ck2.nblocks);
    CHECK_S(s, store_begin(s), DUMP_OK);
    CHECK_S(s, store_info(s, &info), DUMP_OK);
    CHECK(info.free_blocks > 0 || info.nblocks < ck2.nblocks);    /* released to the writer */
    CHECK_S(s, store_commit(s), DUMP_OK);
    /* The same counts through a read-only handle. */
    Store *r = open_ok("check.db", 0);
    StoreCheck ck3;
    CHECK_S(r, store_check(r, &ck3), DUMP_OK);
    CHECK(ck3.entries == 1000 && ck3.trees == 3);
    store_close(r);
    /* Damage one tree node on disk: a fresh handle's check reports it. */
    uint64_t root = s->base.trees[0].root;
    store_close(s);
    int fd = open(tu_path("check.db"), O_RDWR);
    uint8_t byte;
    CHECK(pread(fd, &byte, 1, (off_t)(root * 4096 + 20)) == 1);
    byte ^= 0xFF;
    CHECK(pwrite(fd, &byte, 1, (off_t)(root * 4096 + 20)) == 1);
    close(fd);
    r = open_ok("check.db", 0);
    char want[64];
    snprintf(want, sizeof want, "block %" PRIu64, root);
    CHECK_FAIL(r, store_check(r, &ck3), DUMP_CORRUPT);
    CHECK(strstr(store_errmsg(r), want) != NULL);
    const uint8_t *v;
    size_t len;
    CHECK_FAIL(r, store_get_int(r, 0, 1, &v, &len), DUMP_CORRUPT);
    /* The other trees are unaffected. */
    CHECK_S(r, store_get_bytes(r, 1, (const uint8_t *)"00001/kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk", 40, &v, &len),
            DUMP_OK);
    store_close(r);
}

/* ---- store_open failures: every handle is closed ---- */

static void expect_open_fail(const char *path, unsigned flags, int want, int want_errno)
{
    Store *s = (Store *)&s;      /* must be overwritten */
    int rc = store_open(path, flags, &s);
    if (rc != want) fprintf(stderr, "  open %s (flags %u): %s, want %s: %s\n", path, flags, status_name(rc),
                            status_name(want), s ? store_errmsg(s) : "(null)");
    CHECK(rc == want);
    REQUIRE(s != NULL && s != (Store *)&s);
    CHECK(*store_errmsg(s) != 0);
    if (want_errno) CHECK(store_errno(s) == want_errno);
    /* A failed handle refuses work cleanly. */
    StoreInfo info;
    StoreCheck ck;
    CHECK(store_info(s, &info) == DUMP_MISUSE);
    CHECK(store_begin(s) == DUMP_MISUSE);
    CHECK(store_check(s, &ck) == DUMP_MISUSE);
    CHECK(store_refresh(s) == DUMP_MISUSE);
    store_close(s);
}

static void write_file(const char *name, const void *p, size_t n)
{
    int fd = open(tu_path(name), O_CREAT | O_TRUNC | O_WRONLY, 0644);
    CHECK(fd >= 0 && write(fd, p, n) == (ssize_t)n);
    close(fd);
}

static void test_open_errors(void)
{
    unlink(tu_path("missing.db"));
    expect_open_fail(tu_path("missing.db"), 0, DUMP_NOTFOUND, ENOENT);
    expect_open_fail(tu_path("missing.db"), STORE_WRITE, DUMP_NOTFOUND, ENOENT);
    CHECK(access(tu_path("missing.db"), F_OK) != 0);              /* not created */
    mkdir(tu_path("adir"), 0755);
    expect_open_fail(tu_path("adir"), 0, DUMP_IOERR, EISDIR);
    expect_open_fail(tu_path("adir"), STORE_WRITE, DUMP_IOERR, EISDIR);
    expect_open_fail(tu_path("adir"), STORE_CREATE | STORE_WRITE, DUMP_IOERR, EISDIR);
    expect_open_fail(tu_path("nodir/x.db"), STORE_CREATE | STORE_WRITE, DUMP_IOERR, ENOENT);
    expect_open_fail("", 0, DUMP_INVALID, 0);
    expect_open_fail(NULL, 0, DUMP_INVALID, 0);

    /* Files that are not dumps. */
    write_file("empty.db", "", 0);
    expect_open_fail(tu_path("empty.db"), 0, DUMP_CORRUPT, 0);
    expect_open_fail(tu_path("empty.db"), STORE_WRITE, DUMP_CORRUPT, 0);
    write_file("short.db", "INCRDUMP", 8);
    expect_open_fail(tu_path("short.db"), 0, DUMP_CORRUPT, 0);
    uint8_t junk[10000];
    rng_seed(5);
    rng_fill(junk, sizeof junk);
    write_file("junk.db", junk, sizeof junk);
    expect_open_fail(tu_path("junk.db"), STORE_CREATE | STORE_WRITE, DUMP_CORRUPT, 0);
    struct stat st;
    CHECK(stat(tu_path("junk.db"), &st) == 0 && st.st_size == (off_t)sizeof junk);   /* untouched */

    /* A newer major version is refused; a newer minor one opens for reading
     * only. */
    unlink(tu_path("ver.db"));
    Store *s = open_ok("ver.db", STORE_CREATE | STORE_WRITE);
    CHECK_S(s, store_begin(s), DUMP_OK);
    CHECK_S(s, store_tree_create(s, 0, STORE_KEY_INT), DUMP_OK);
    CHECK_S(s, store_put_int(s, 0, 1, V("x"), 1, 0), DUMP_OK);
    CHECK_S(s, store_commit(s), DUMP_OK);
    Header h = s->base;
    store_close(s);
    uint8_t *blk = malloc(BLOCK_SIZE);
    h.minor = 1;
    header_encode(&h, blk);
    int fd = open(tu_path("ver.db"), O_RDWR);
    CHECK(pwrite(fd, blk, BLOCK_SIZE, (off_t)(h.gen % 2) * BLOCK_SIZE) == BLOCK_SIZE);
    s = open_ok("ver.db", STORE_WRITE);
    StoreInfo info;
    CHECK_S(s, store_info(s, &info), DUMP_OK);
    CHECK(info.version_major == 1 && info.version_minor == 1);
    CHECK(strcmp(get_str(s, 0, 1), "x") == 0);
    CHECK_FAIL(s, store_begin(s), DUMP_VERSION);
    CHECK(store_in_txn(s) == 0);
    store_close(s);
    h.major = 2;
    h.minor = 0;
    header_encode(&h, blk);
    CHECK(pwrite(fd, blk, BLOCK_SIZE, (off_t)(h.gen % 2) * BLOCK_SIZE) == BLOCK_SIZE);
    h.gen--;                                      /* the other slot too */
    header_encode(&h, blk);
    CHECK(pwrite(fd, blk, BLOCK_SIZE, (off_t)(h.gen % 2) * BLOCK_SIZE) == BLOCK_SIZE);
    close(fd);
    free(blk);
    expect_open_fail(tu_path("ver.db"), 0, DUMP_VERSION, 0);
    expect_open_fail(tu_path("ver.db"), STORE_WRITE, DUMP_VERSION, 0);
}

/* ---- cursors through the handle ---- */

static void test_cursor_changes(void)
{
    unlink(tu_path("cursor.db"));
    Store *s = open_ok("cursor.db", STORE_CREATE | STORE_WRITE);
    CHECK_S(s, store_begin(s), DUMP_OK);
    CHECK_S(s, store_tree_create(s, 0, STORE_KEY_INT), DUMP_OK);
    for (int64_t k = 0; k < 2000; k += 10) CHECK_S(s, store_put_int(s, 0, k, V("v"), 1, 0), DUMP_OK);
    CHECK_S(s, store_commit(s), DUMP_OK);
    StoreCursor *c;
    int64_t k;
    CHECK_S(s, store_cursor_open(s, 0, &c), DUMP_OK);
    CHECK_FAIL(s, store_cursor_key_int(c, &k), DUMP_MISUSE);        /* unpositioned */
    CHECK_FAIL(s, store_cursor_next(c), DUMP_MISUSE);
    CHECK_S(s, store_cursor_seek_int(c, 55, STORE_SEEK_GE), DUMP_OK);
    CHECK_S(s, store_cursor_key_int(c, &k), DUMP_OK);
    CHECK(k == 60);
    CHECK_S(s, store_cursor_seek_int(c, 55, STORE_SEEK_LE), DUMP_OK);
    CHECK_S(s, store_cursor_key_int(c, &k), DUMP_OK);
    CHECK(k == 50);
    CHECK_FAIL(s, store_cursor_seek_int(c, 55, 7), DUMP_INVALID);
    CHECK_FAIL(s, store_cursor_seek_bytes(c, V("a"), 1, STORE_SEEK_GE), DUMP_INVALID);
    CHECK_S(s, store_cursor_seek_int(c, 50, STORE_SEEK_GE), DUMP_OK);
    /* Changes through the handle: the cursor re-finds its place by key. */
    CHECK_S(s, store_begin(s), DUMP_OK);
    CHECK_S(s, store_put_int(s, 0, 55, V("new"), 3, 0), DUMP_OK);
    CHECK_S(s, store_cursor_next(c), DUMP_OK);
    CHECK_S(s, store_cursor_key_int(c, &k), DUMP_OK);
    CHECK(k == 55);
    CHECK_S(s, store_del_int(s, 0, 55), DUMP_OK);
    CHECK_S(s, store_del_int(s, 0, 60), DUMP_OK);
    CHECK_S(s, store_cursor_next(c), DUMP_OK);                       /* 55 is gone: next after it */
    CHECK_S(s, store_cursor_key_int(c, &k), DUMP_OK);
    CHECK(k == 70);
    CHECK_S(s, store_cursor_prev(c), DUMP_OK);
    CHECK_S(s, store_cursor_key_int(c, &k), DUMP_OK);
    CHECK(k == 50);
    CHECK_S(s, store_abort(s), DUMP_OK);                             /* 60 is back */
    CHECK_S(s, store_cursor_next(c), DUMP_OK);
    CHECK_S(s, store_cursor_key_int(c, &k), DUMP_OK);
    CHECK(k == 60);
    CHECK_S(s, store_cursor_last(c), DUMP_OK);
    CHECK_S(s, store_cursor_key_int(c, &k), DUMP_OK);
    CHECK(k == 1990);
    CHECK_S(s, store_cursor_next(c), DUMP_NOTFOUND);
    CHECK_S(s, store_cursor_first(c), DUMP_OK);
    CHECK_S(s, store_cursor_prev(c), DUMP_NOTFOUND);
    /* A cursor whose tree is dropped. */
    CHECK_S(s, store_cursor_first(c), DUMP_OK);
    CHECK_S(s, store_begin(s), DUMP_OK);
    CHECK_S(s, store_tree_drop(s, 0), DUMP_OK);
    CHECK_FAIL(s, store_cursor_next(c), DUMP_NOTFOUND);
    CHECK_FAIL(s, store_cursor_first(c), DUMP_NOTFOUND);
    CHECK_S(s, store_commit(s), DUMP_OK);
    store_cursor_close(c);
    StoreCursor *d = (StoreCursor *)&d;
    CHECK_FAIL(s, store_cursor_open(s, 0, &d), DUMP_NOTFOUND);
    CHECK(d == NULL);
    store_cursor_close(NULL);
    store_close(s);
}

int main(void)
{
    tu_tmpdir("test_store");
    run("create_reopen", test_create_reopen);
    run("txn_semantics", test_txn_semantics);
    run("failed_write", test_failed_write);
    run("busy", test_busy);
    run("snapshot_isolation", test_snapshot_isolation);
    run("two_readers", test_two_readers);
    run("check_counts", test_check_counts);
    run("open_errors", test_open_errors);
    run("cursor_changes", test_cursor_changes);
    tu_cleanup();
    return tu_finish("store");
}
