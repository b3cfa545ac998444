/*
 * test_sequence.c -- the dump's sequence number (dump_sequence.c): 0 on a
 * new dump, set only inside a transaction, committed or aborted with it,
 * seen by readers only after the commit, and a malformed stored value
 * (written behind the dump's back) refused as DUMP_CORRUPT, by the getter
 * and by dump_check.
 *
 * Prints "sequence: N passed, M failed" last.
 */
#include <stdint.h>
#include <string.h>

#include "incrdump.h"
#include "testutil.h"

#define CHECK_D(d, expr, want) do { int r2_ = (expr), w2_ = (want); if (r2_ != w2_) { tu_case_failed = 1; \
    fprintf(stderr, "%s:%d: %s: %s returned %s, expected %s: %s\n", __FILE__, __LINE__, tu_case, \
            #expr, status_name(r2_), status_name(w2_), dump_errmsg(d)); } } while (0)

static Dump *open_dump(const char *name, unsigned flags)
{
    Dump *d = NULL;
    int rc = dump_open(tu_path(name), flags, NULL, &d);
    if (rc) {
        fprintf(stderr, "dump_open %s: %s %s\n", name, status_name(rc), dump_errmsg(d));
        exit(2);
    }
    return d;
}

static void test_lifecycle(void)
{
    Dump *w = open_dump("a.idump", DUMP_OPEN_WRITE | DUMP_OPEN_CREATE);
    Dump *r = open_dump("a.idump", 0);
    uint64_t seq = 99;
    CHECK_D(w, dump_get_sequence(w, &seq), DUMP_OK);
    CHECK(seq == 0);
    CHECK_D(w, dump_set_sequence(w, 1), DUMP_MISUSE);          /* no transaction */
    CHECK_D(w, dump_begin(w), DUMP_OK);
    CHECK_D(w, dump_set_sequence(w, (uint64_t)INT64_MAX + 1), DUMP_INVALID);
    CHECK_D(w, dump_set_sequence(w, 7), DUMP_OK);
    CHECK_D(w, dump_get_sequence(w, &seq), DUMP_OK);
    CHECK(seq == 7);                                          /* the transaction's own view */
    CHECK_D(w, dump_abort(w), DUMP_OK);
    CHECK_D(w, dump_get_sequence(w, &seq), DUMP_OK);
    CHECK(seq == 0);                                          /* aborted with it */
    CHECK_D(w, dump_begin(w), DUMP_OK);
    CHECK_D(w, dump_set_sequence(w, 3), DUMP_OK);
    CHECK_D(r, dump_get_sequence(r, &seq), DUMP_OK);
    CHECK(seq == 0);                                          /* not before the commit */
    CHECK_D(w, dump_commit(w), DUMP_OK);
    CHECK_D(r, dump_refresh(r), DUMP_OK);
    CHECK_D(r, dump_get_sequence(r, &seq), DUMP_OK);
    CHECK(seq == 3);
    CHECK_D(w, dump_begin(w), DUMP_OK);
    CHECK_D(w, dump_set_sequence(w, INT64_MAX), DUMP_OK);
    CHECK_D(w, dump_commit(w), DUMP_OK);
    dump_close(w);
    dump_close(r);
    Dump *again = open_dump("a.idump", 0);
    CHECK_D(again, dump_get_sequence(again, &seq), DUMP_OK);
    CHECK((int64_t)seq == INT64_MAX);
    DumpCheck dc;
    CHECK_D(again, dump_check(again, &dc), DUMP_OK);
    dump_close(again);
}

/* Write META "sequence" with the Store API, then read it through a Dump. */
static void check_stored(const uint8_t *val, size_t n, int want)
{
    Store *s = NULL;
    REQUIRE(store_open(tu_path("b.idump"), STORE_WRITE, &s) == DUMP_OK);
    CHECK_RC(store_begin(s), DUMP_OK);
    CHECK_RC(store_put_bytes(s, 0, (const uint8_t *)"sequence", 8, val, n, STORE_PUT_UPSERT), DUMP_OK);
    CHECK_RC(store_commit(s), DUMP_OK);
    store_close(s);
    Dump *d = open_dump("b.idump", 0);
    uint64_t seq = 99;
    CHECK_D(d, dump_get_sequence(d, &seq), want);
    if (want != DUMP_OK) CHECK(seq == 0 && strstr(dump_errmsg(d), "META sequence"));
    DumpCheck dc;
    CHECK_D(d, dump_check(d, &dc), want);                       /* the check finds it too */
    dump_close(d);
}

static void test_malformed(void)
{
    dump_close(open_dump("b.idump", DUMP_OPEN_WRITE | DUMP_OPEN_CREATE));
    static const uint8_t ok[] = { 0x85, 0x01 };                    /* 133 */
    static const uint8_t empty[] = { 0 };
    static const uint8_t truncated[] = { 0x85 };
    static const uint8_t overlong[] = { 0x85, 0x00 };
    static const uint8_t trailing[] = { 0x05, 0x05 };
    static const uint8_t too_big[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01 };
    check_stored(ok, sizeof ok, DUMP_OK);
    check_stored(empty, 0, DUMP_CORRUPT);
    check_stored(truncated, sizeof truncated, DUMP_CORRUPT);
    check_stored(overlong, sizeof overlong, DUMP_CORRUPT);
    check_stored(trailing, sizeof trailing, DUMP_CORRUPT);
    check_stored(too_big, sizeof too_big, DUMP_CORRUPT);
}

int main(void)
{
    tu_tmpdir("test_sequence");
    run("lifecycle", test_lifecycle);
    run("malformed", test_malformed);
    tu_cleanup();
    return tu_finish("sequence");
}
