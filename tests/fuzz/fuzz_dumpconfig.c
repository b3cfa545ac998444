/*
 * fuzz_dumpconfig.c -- libFuzzer target for the dump configuration record
 * (META "config", read by dump_open in csrc/dump.c; docs/format.md "The
 * configuration record").
 *
 * A dump is created once per process in a tmpfs file (unlinked at once and
 * reached through /proc/self/fd). Input: the whole value of META "config",
 * committed through the Store API; then the dump is opened read-only with
 * dump_open. The result must be exactly that of a decoder written here from
 * the specification: DUMP_VERSION for an unknown version byte or a record
 * version above this build's, DUMP_CORRUPT for a truncated pair, a tag out
 * of order, a missing required tag (1-6; 7 is optional) or a value out of
 * its range, else DUMP_OK with dump_info showing the stored fields. No other code, a message on
 * failure, no crash or leak. abort() on any violation. Seeds:
 * tests/fuzz/corpus/dumpconfig/ (tests/fuzz/make_seeds.py).
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "incrdump.h"
#include "record.h"

#define REQUIRE(c) do { if (!(c)) { fprintf(stderr, "fuzz_dumpconfig: %s failed at line %d\n", #c, \
                                      __LINE__); abort(); } } while (0)

#define T_META 0      /* docs/format.md "Dump layout" */

static char path[64];
static Store *st;     /* the writer that replaces the record */

static void setup(void)
{
    char name[256];
    const char *dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(name, sizeof name, "%s/incrdump-fuzz-dumpconfig-%ld.dump", dir, (long)getpid());
    unlink(name);
    int fd = open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
    REQUIRE(fd >= 0);
    unlink(name);                   /* the descriptor keeps the file */
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    Dump *d;
    int rc = dump_open(path, DUMP_OPEN_WRITE | DUMP_OPEN_CREATE, NULL, &d);
    if (rc) fprintf(stderr, "fuzz_dumpconfig: creating %s: %s\n", path, dump_errmsg(d));
    REQUIRE(rc == DUMP_OK);
    dump_close(d);
    REQUIRE(store_open(path, STORE_WRITE, &st) == DUMP_OK);
}

/* A canonical LEB128 varint of at most 64 bits at p[*pos..n); 0 if none. */
static int get_varint(const uint8_t *p, size_t n, size_t *pos, uint64_t *v)
{
    uint64_t r = 0;
    for (unsigned i = 0; i < 10 && *pos + i < n; i++) {
        uint64_t b = p[*pos + i];
        if (i == 9 && b > 1) return 0;
        r |= (b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            if (i > 0 && b == 0) return 0;
            *pos += i + 1;
            *v = r;
            return 1;
        }
    }
    return 0;
}

/* The specification's decoder. Tags 1-6 are required, 7 (packed) is
 * optional (absent = 0); others are skipped. */
static int ref_decode(const uint8_t *p, size_t n, DumpConfig *c)
{
    uint64_t v[8] = { 0 }, last = 0;
    int seen[8] = { 0 };
    size_t pos = 1;
    if (n < 1) return DUMP_CORRUPT;
    if (p[0] != 1) return DUMP_VERSION;
    while (pos < n) {
        uint64_t tag, val;
        if (!get_varint(p, n, &pos, &tag) || !get_varint(p, n, &pos, &val)) return DUMP_CORRUPT;
        if (tag <= last) return DUMP_CORRUPT;
        last = tag;
        if (tag >= 1 && tag <= 7) {
            v[tag] = val;
            seen[tag] = 1;
        }
    }
    for (int t = 1; t <= 6; t++)
        if (!seen[t]) return DUMP_CORRUPT;
    if (v[6] > RECORD_VERSION) return DUMP_VERSION;
    int64_t level = (int64_t)(v[4] >> 1) ^ -(int64_t)(v[4] & 1);
    if (v[1] > 2 || v[2] > 1 || (v[3] != 1 && v[3] != 2) || v[5] < 1 || v[5] > 255 || v[7] > 1)
        return DUMP_CORRUPT;
    if (v[3] == 1 ? level < 1 || level > 22 : level < 0 || level > 9) return DUMP_CORRUPT;
    /* "Defaults are resolved before writing, never stored as 0": a stored
     * level 0 is refused, although the field table allows xz 0-9. */
    if (level == 0) return DUMP_CORRUPT;
    memset(c, 0, sizeof *c);
    c->kind = (int)v[1];
    c->articles = (int)v[2];
    c->codec = (int)v[3];
    c->level = (int)level;
    c->max_depth = (int)v[5];
    c->packed = (int)v[7];
    return DUMP_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!st) setup();
    REQUIRE(store_begin(st) == DUMP_OK);
    REQUIRE(store_put_bytes(st, T_META, (const uint8_t *)"config", 6, size ? data : (const uint8_t *)"",
                            size, STORE_PUT_UPSERT) == DUMP_OK);
    REQUIRE(store_commit(st) == DUMP_OK);

    DumpConfig want;
    int expect = ref_decode(data, size, &want);
    Dump *d;
    int rc = dump_open(path, 0, NULL, &d);
    REQUIRE(d != NULL);
    if (rc != expect)
        fprintf(stderr, "fuzz_dumpconfig: dump_open gave %s (%s), the specification %s\n",
                dump_status_name(rc), dump_errmsg(d), dump_status_name(expect));
    REQUIRE(rc == expect);
    if (rc == DUMP_OK) {
        DumpInfo info;
        REQUIRE(dump_info(d, &info) == DUMP_OK);
        const DumpConfig *got = &info.config;
        REQUIRE(got->kind == want.kind && got->articles == want.articles && got->codec == want.codec &&
                got->level == want.level && got->max_depth == want.max_depth &&
                got->packed == want.packed);
        Page *p = NULL;
        REQUIRE(dump_get_page_by_id(d, 1, &p) == DUMP_NOTFOUND);
    } else {
        REQUIRE(dump_errmsg(d)[0] != 0);
        DumpInfo info;
        REQUIRE(dump_info(d, &info) == DUMP_MISUSE);
    }
    dump_close(d);
    return 0;
}
