/*
 * testutil.h -- the small harness shared by the C unit tests.
 *
 * Header-only, included by one test program each. CHECK records a failure
 * and goes on; REQUIRE records it and returns from the test case (for
 * preconditions whose failure would make the rest crash). run() times each
 * case; tu_finish() prints the last line "NAME: N passed, M failed" and
 * gives the exit status. tu_tmpdir() makes a fresh mkdtemp directory under
 * /tmp that tu_cleanup() empties and removes. rng_*: a fixed-seed PRNG
 * (splitmix64) so every failure reproduces. Text, xmalloc, text_copy:
 * owned byte strings for the tests that keep texts.
 */
#ifndef INCRDUMP_TESTUTIL_H
#define INCRDUMP_TESTUTIL_H

#include <dirent.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "status.h"

static int tu_passed, tu_failed, tu_case_failed;
static const char *tu_case = "";
static char tu_dir[64];

#define CHECK(c) do { if (!(c)) { tu_case_failed = 1; \
    fprintf(stderr, "%s:%d: %s: CHECK(%s) failed\n", __FILE__, __LINE__, tu_case, #c); } \
} while (0)

/* Expect status `want` from expr; on mismatch print both names. */
#define CHECK_RC(expr, want) do { int rc_ = (expr), want_ = (want); if (rc_ != want_) { \
    tu_case_failed = 1; fprintf(stderr, "%s:%d: %s: %s returned %s, expected %s\n", __FILE__, \
    __LINE__, tu_case, #expr, status_name(rc_), status_name(want_)); } } while (0)

#define REQUIRE(c) do { if (!(c)) { tu_case_failed = 1; \
    fprintf(stderr, "%s:%d: %s: REQUIRE(%s) failed\n", __FILE__, __LINE__, tu_case, #c); \
    return; } } while (0)

static inline double tu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline void run(const char *name, void (*fn)(void))
{
    tu_case = name;
    tu_case_failed = 0;
    double t0 = tu_now();
    fn();
    if (tu_case_failed) tu_failed++; else tu_passed++;
    fprintf(stderr, "%-28s %s (%.2fs)\n", name, tu_case_failed ? "FAIL" : "ok", tu_now() - t0);
}

static inline int tu_finish(const char *suite)
{
    printf("%s: %d passed, %d failed\n", suite, tu_passed, tu_failed);
    return tu_failed != 0;
}

/* ---- scratch directory ---- */

static inline void tu_tmpdir(const char *prefix)
{
    snprintf(tu_dir, sizeof tu_dir, "/tmp/%s.XXXXXX", prefix);
    if (!mkdtemp(tu_dir)) {
        perror("mkdtemp");
        exit(2);
    }
}

/* Path of `name` inside the scratch directory; 8 rotating buffers. */
static inline const char *tu_path(const char *name)
{
    static char buf[8][PATH_MAX];
    static int next;
    char *p = buf[next++ % 8];
    snprintf(p, PATH_MAX, "%s/%s", tu_dir, name);
    return p;
}

/* Remove everything in the scratch directory (one level of subdirectories,
 * which is all the tests make) and the directory itself. */
static inline void tu_cleanup(void)
{
    DIR *d = opendir(tu_dir);
    if (d) {
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
            if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
            const char *p = tu_path(de->d_name);
            if (unlink(p) != 0) rmdir(p);
        }
        closedir(d);
    }
    rmdir(tu_dir);
}

/* ---- PRNG ---- */

static uint64_t rng_state = 0x243F6A8885A308D3ull;

static inline void rng_seed(uint64_t s) { rng_state = s; }

static inline uint64_t rng_next(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Uniform in [0, n), n >= 1. */
static inline uint64_t rng_below(uint64_t n) { return rng_next() % n; }

static inline void rng_fill(uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) p[i] = (uint8_t)rng_next();
}

/* Deterministic bytes from (a, b), for values that can be re-derived. */
static inline void tu_pattern(uint8_t *p, size_t n, uint64_t a, uint64_t b)
{
    uint64_t s = a * 0x9E3779B97F4A7C15ull ^ (b + 0x632BE59BD9B4E019ull);
    for (size_t i = 0; i < n; i++) {
        if (i % 8 == 0) {
            s += 0x9E3779B97F4A7C15ull;
            uint64_t z = s;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
            s = z ^ (z >> 31);
        }
        p[i] = (uint8_t)(s >> (8 * (i % 8)));
    }
}

/* An owned byte string, and the allocation helpers behind it: out of
 * memory ends the test program (exit 2). */
typedef struct Text {
    uint8_t *p;
    size_t n;
} Text;

static inline void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    return p;
}

static inline Text text_copy(const uint8_t *p, size_t n)
{
    Text t = { xmalloc(n), n };
    if (n)
        memcpy(t.p, p, n);
    return t;
}

#endif
