/*
 * test_record.c -- unit tests of site-info, page and revision records
 * (csrc/record.c).
 *
 * Round trips of every field (absent and empty kept apart, extreme values,
 * 0..RECORD_MAX_SLOTS slots, a 1 MB comment), the exact bytes of
 * docs/format.md "Records" examples, the compact forms (binary sha1, shared
 * slot sha1, dropped canonical timestamp text) and the decoders' defences:
 * every truncation, bit flips, hand-built hostile records, unknown fields
 * skipped and unknown versions refused. Also sha1 base36 and timestamp
 * helpers against independent references (big-number arithmetic, timegm).
 * Prints the size of a typical revision record. Run under ASan/UBSan; the
 * last line is "record: N passed, M failed".
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bytes.h"
#include "record.h"
#include "status.h"
#include "testutil.h"

/* ---- helpers ----------------------------------------------------------------- */

static const DumpText ABSENT = { NULL, 0 };

static DumpText T(const char *s)
{
    DumpText t = { (const uint8_t *)s, strlen(s) };
    return t;
}

static int text_same(DumpText a, DumpText b)
{
    if (!a.ptr || !b.ptr)
        return !a.ptr && !b.ptr;
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

/* The tiny intern table: id i + 1 is entry i. fail_intern makes intern
 * return that code once, after fail_skip successful calls. */
#define NSTR 512
static struct { int kind; uint8_t *p; size_t n; } strtab[NSTR];
static int nstr, fail_intern, fail_skip, intern_calls;

static int t_intern(void *ctx, int kind, const uint8_t *p, size_t n, uint64_t *id,
                    ErrorInfo *err)
{
    (void)ctx;
    intern_calls++;
    if (fail_intern && fail_skip > 0) {
        fail_skip--;
    } else if (fail_intern) {
        int rc = fail_intern;
        fail_intern = 0;
        return error_set(err, rc, "intern: injected failure");
    }
    for (int i = 0; i < nstr; i++)
        if (strtab[i].kind == kind && strtab[i].n == n && (n == 0 || !memcmp(strtab[i].p, p, n))) {
            *id = (uint64_t)i + 1;
            return DUMP_OK;
        }
    if (nstr == NSTR)
        return error_set(err, DUMP_NOMEM, "intern: table full");
    strtab[nstr].kind = kind;
    strtab[nstr].p = malloc(n ? n : 1);
    if (n)
        memcpy(strtab[nstr].p, p, n);
    strtab[nstr].n = n;
    *id = (uint64_t)++nstr;
    return DUMP_OK;
}

static int t_lookup(void *ctx, int kind, uint64_t id, const uint8_t **p, size_t *n,
                    ErrorInfo *err)
{
    (void)ctx;
    if (id == 0 || id > (uint64_t)nstr || strtab[id - 1].kind != kind)
        return error_set(err, DUMP_CORRUPT, "lookup: unknown string %llu of kind %d",
                         (unsigned long long)id, kind);
    *p = strtab[id - 1].p;
    *n = strtab[id - 1].n;
    return DUMP_OK;
}

static const RecordStrings STRS = { NULL, t_intern, t_lookup };

static void strtab_free(void)
{
    for (int i = 0; i < nstr; i++)
        free(strtab[i].p);
    nstr = 0;
}

static int slot_eq(const SlotInfo *a, const SlotInfo *b)
{
    return text_same(a->role, b->role) && a->origin == b->origin &&
           text_same(a->model, b->model) && text_same(a->format, b->format) &&
           text_same(a->sha1, b->sha1) && a->size == b->size && a->flags == b->flags &&
           text_same(a->location, b->location) && text_same(a->text_id, b->text_id);
}

/* a as given to the encoder, b as decoded. */
static int rev_eq(const RevisionInfo *a, const RevisionInfo *b)
{
    if (a->id != b->id || a->page_id != b->page_id || a->flags != b->flags ||
        ((a->flags & DUMP_REV_HAS_PARENT) && a->parent_id != b->parent_id) ||
        a->timestamp != b->timestamp || !text_same(a->timestamp_text, b->timestamp_text) ||
        a->contributor != b->contributor || a->user_id != b->user_id ||
        !text_same(a->user_text, b->user_text) || !text_same(a->comment, b->comment) ||
        !text_same(a->sha1, b->sha1) || !text_same(a->extra, b->extra) ||
        a->nslots != b->nslots)
        return 0;
    for (uint32_t i = 0; i < a->nslots; i++)
        if (!slot_eq(&a->slots[i], &b->slots[i]) || b->slots[i].text.ptr != NULL)
            return 0;
    return 1;
}

static int page_eq(const PageInfo *a, const PageInfo *b)
{
    return a->id == b->id && a->ns == b->ns && text_same(a->title, b->title) &&
           a->title_prefix == b->title_prefix && text_same(a->redirect, b->redirect) &&
           text_same(a->restrictions, b->restrictions) && text_same(a->extra, b->extra);
}

static int site_eq(const DumpSiteInfo *a, const DumpSiteInfo *b)
{
    if (!text_same(a->sitename, b->sitename) || !text_same(a->dbname, b->dbname) ||
        !text_same(a->base, b->base) || !text_same(a->generator, b->generator) ||
        !text_same(a->casing, b->casing) || !text_same(a->lang, b->lang) ||
        !text_same(a->schema, b->schema) || !text_same(a->extra, b->extra) ||
        a->nnamespaces != b->nnamespaces)
        return 0;
    for (uint32_t i = 0; i < a->nnamespaces; i++)
        if (a->namespaces[i].key != b->namespaces[i].key ||
            !text_same(a->namespaces[i].name, b->namespaces[i].name) ||
            !text_same(a->namespaces[i].casing, b->namespaces[i].casing))
            return 0;
    return 1;
}

/* Encode r, decode it back and compare; returns the record length (0 on
 * failure). The scratch and buffer are shared so reuse is exercised. */
static RecordBuf rb;
static void *scratch;

static size_t rev_roundtrip(const RevisionInfo *r)
{
    ErrorInfo err;
    RevisionInfo back;
    int rc = record_encode_revision(r, &STRS, &rb, &err);
    CHECK_RC(rc, DUMP_OK);
    if (rc != DUMP_OK) {
        fprintf(stderr, "  encode: %s\n", err.msg);
        return 0;
    }
    rc = record_decode_revision(rb.p, rb.len, r->page_id, r->id, &STRS, &back, &scratch, &err);
    CHECK_RC(rc, DUMP_OK);
    if (rc != DUMP_OK) {
        fprintf(stderr, "  decode: %s\n", err.msg);
        return 0;
    }
    CHECK(rev_eq(r, &back));
    return rev_eq(r, &back) ? rb.len : 0;
}

static size_t page_roundtrip(const PageInfo *p)
{
    ErrorInfo err;
    PageInfo back;
    CHECK_RC(record_encode_page(p, &rb, &err), DUMP_OK);
    CHECK_RC(record_decode_page(rb.p, rb.len, p->id, &back, &err), DUMP_OK);
    CHECK(page_eq(p, &back));
    return rb.len;
}

static size_t site_roundtrip(const DumpSiteInfo *si)
{
    ErrorInfo err;
    DumpSiteInfo back;
    CHECK_RC(record_encode_siteinfo(si, &rb, &err), DUMP_OK);
    CHECK_RC(record_decode_siteinfo(rb.p, rb.len, &back, &scratch, &err), DUMP_OK);
    CHECK(site_eq(si, &back));
    return rb.len;
}

/* A typical revision of a registered user, as the importer would give it. */
static SlotInfo typical_slot;
static RevisionInfo typical(void)
{
    static const char comment[] = "Fixed a typo in the second paragraph, ok";   /* 40 */
    memset(&typical_slot, 0, sizeof typical_slot);
    typical_slot.role = T("main");
    typical_slot.origin = 1234567890;
    typical_slot.model = T("wikitext");
    typical_slot.format = T("text/x-wiki");
    typical_slot.sha1 = T("phoiac9h4m842xq45sp7s6u21eteeq1");
    typical_slot.size = 23456;
    typical_slot.flags = DUMP_SLOT_HAS_TEXT;
    RevisionInfo r;
    memset(&r, 0, sizeof r);
    r.id = 1234567890;
    r.page_id = 5043734;
    r.parent_id = 1234500001;
    r.timestamp = 1700000000;
    r.flags = DUMP_REV_HAS_PARENT | DUMP_REV_MINOR;
    r.contributor = DUMP_CONTRIB_USER;
    r.user_id = 41234567;
    r.user_text = T("Example editor");
    r.comment = (DumpText){ (const uint8_t *)comment, sizeof comment - 1 };
    r.sha1 = T("phoiac9h4m842xq45sp7s6u21eteeq1");
    r.nslots = 1;
    r.slots = &typical_slot;
    return r;
}

/* Every field set, every text non-empty, three slots. */
static SlotInfo full_slots[3];
static RevisionInfo full(void)
{
    RevisionInfo r = typical();
    memcpy(&full_slots[0], &typical_slot, sizeof typical_slot);
    full_slots[0].sha1 = T("a0000000000000000000000000000zz");   /* canonical, different */
    full_slots[0].location = T("tt:12345");
    full_slots[0].text_id = T("12345");
    full_slots[0].flags = DUMP_SLOT_HAS_TEXT | DUMP_SLOT_DELETED;
    full_slots[1] = (SlotInfo){ T("mediainfo"), 17, T("wikibase-mediainfo"), T("application/json"),
                                T("NOT A SHA1"), 99, DUMP_SLOT_DELETED, T("loc"), T("tid"),
                                ABSENT };
    full_slots[2] = (SlotInfo){ T("main"), -1, ABSENT, ABSENT, ABSENT, -1, 0, ABSENT, ABSENT,
                                ABSENT };
    r.timestamp_text = T("2023-11-14 22:13:20");
    r.flags = DUMP_REV_MINOR | DUMP_REV_HAS_PARENT | DUMP_REV_COMMENT_DELETED |
              DUMP_REV_USER_DELETED | DUMP_REV_TEXT_DELETED | DUMP_REV_SUPPRESSED;
    r.extra = T("<unknown>kept</unknown>");
    r.nslots = 3;
    r.slots = full_slots;
    return r;
}

/* ---- sha1 and timestamps ------------------------------------------------------- */

/* Reference base36: the decimal-free schoolbook way, digits from a
 * big-endian 20-byte number by repeated subtraction-free division in
 * 32-bit limbs, one digit per division (record.c takes six at a time). */
static void ref_base36(const uint8_t bin[20], char out[31])
{
    uint32_t limb[5];
    for (int i = 0; i < 5; i++)
        limb[i] = (uint32_t)bin[4 * i] << 24 | (uint32_t)bin[4 * i + 1] << 16 |
                  (uint32_t)bin[4 * i + 2] << 8 | bin[4 * i + 3];
    for (int d = 30; d >= 0; d--) {
        uint64_t rem = 0;
        for (int i = 0; i < 5; i++) {
            uint64_t cur = rem << 32 | limb[i];
            limb[i] = (uint32_t)(cur / 36);
            rem = cur % 36;
        }
        out[d] = "0123456789abcdefghijklmnopqrstuvwxyz"[rem];
    }
}

static void test_sha1(void)
{
    static const uint8_t empty_sha1[20] = {
        0xda, 0x39, 0xa3, 0xee, 0x5e, 0x6b, 0x4b, 0x0d, 0x32, 0x55,
        0xbf, 0xef, 0x95, 0x60, 0x18, 0x90, 0xaf, 0xd8, 0x07, 0x09 };
    uint8_t bin[20], ones[20];
    char txt[31], ref[31];

    /* MediaWiki's sha1 of the empty text */
    const char *e = "phoiac9h4m842xq45sp7s6u21eteeq1";
    CHECK(record_sha1_to_bin((const uint8_t *)e, 31, bin) == 1);
    CHECK(memcmp(bin, empty_sha1, 20) == 0);
    record_sha1_to_base36(empty_sha1, txt);
    CHECK(memcmp(txt, e, 31) == 0);

    /* the extremes: 0 and 2^160 - 1; 2^160 and above do not fit */
    memset(ones, 0xff, 20);
    record_sha1_to_base36(ones, txt);
    CHECK(memcmp(txt, "twj4yidkw7a8pn4g709kzmfoaol3x8f", 31) == 0);
    CHECK(record_sha1_to_bin((const uint8_t *)"twj4yidkw7a8pn4g709kzmfoaol3x8f", 31, bin) == 1);
    CHECK(memcmp(bin, ones, 20) == 0);
    CHECK(record_sha1_to_bin((const uint8_t *)"twj4yidkw7a8pn4g709kzmfoaol3x8g", 31, bin) == 0);
    CHECK(record_sha1_to_bin((const uint8_t *)"zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz", 31, bin) == 0);
    CHECK(record_sha1_to_bin((const uint8_t *)"0000000000000000000000000000000", 31, bin) == 1);
    for (int i = 0; i < 20; i++)
        CHECK(bin[i] == 0);

    /* not canonical: anything but 31 chars of [0-9a-z] */
    const char *bad[] = { "", "ignored", "PHOIAC9H4M842XQ45SP7S6U21ETEEQ1",
                          "phoiac9h4m842xq45sp7s6u21eteeq", "0phoiac9h4m842xq45sp7s6u21eteeq1",
                          "phoiac9h4m842xq45sp7s6u21eteeq ", "phoiac9h4m842xq45sp7s6u21eteeq-",
                          "da39a3ee5e6b4b0d3255bfef95601890afd80709" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK(record_sha1_to_bin((const uint8_t *)bad[i], strlen(bad[i]), bin) == 0);

    /* random digests against the reference; the text goes back to them */
    rng_seed(1);
    for (int k = 0; k < 2000; k++) {
        uint8_t d[20];
        rng_fill(d, 20);
        if (k < 20)
            memset(d, 0, (size_t)k);          /* many leading zeros */
        record_sha1_to_base36(d, txt);
        ref_base36(d, ref);
        CHECK(memcmp(txt, ref, 31) == 0);
        CHECK(record_sha1_to_bin((const uint8_t *)txt, 31, bin) == 1);
        CHECK(memcmp(bin, d, 20) == 0);
    }
}

static void test_timestamp(void)
{
    char out[21] = { 0 };
    int64_t t;
    struct { int64_t t; const char *s; } known[] = {
        { 0, "1970-01-01T00:00:00Z" },
        { -1, "1969-12-31T23:59:59Z" },
        { 979564500, "2001-01-15T13:15:00Z" },
        { 951782400, "2000-02-29T00:00:00Z" },
        { -62135596800LL, "0001-01-01T00:00:00Z" },
        { 253402300799LL, "9999-12-31T23:59:59Z" },
        { -2208988800LL, "1900-01-01T00:00:00Z" },
        { 4107542400LL, "2100-03-01T00:00:00Z" },
    };
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        record_timestamp_format(known[i].t, out);
        CHECK(strcmp(out, known[i].s) == 0);
        CHECK(record_timestamp_parse((const uint8_t *)known[i].s, 20, &t) == 1);
        CHECK(t == known[i].t);
    }
    /* outside 0001..9999: no canonical text */
    record_timestamp_format(-62135596801LL, out);
    CHECK(strcmp(out, "0000-00-00T00:00:00Z") == 0);
    record_timestamp_format(253402300800LL, out);
    CHECK(strcmp(out, "0000-00-00T00:00:00Z") == 0);
    record_timestamp_format(INT64_MIN, out);
    CHECK(strcmp(out, "0000-00-00T00:00:00Z") == 0);
    record_timestamp_format(INT64_MAX, out);
    CHECK(strcmp(out, "0000-00-00T00:00:00Z") == 0);

    const char *bad[] = {
        "2001-01-15 13:15:00", "2001-01-15 13:15:00Z", "2001-01-15T13:15:00",
        "2001-01-15T13:15:00z",
        "2001-01-15T13:15:00+00:00", "0000-01-01T00:00:00Z", "2001-00-15T13:15:00Z",
        "2001-13-15T13:15:00Z", "2001-01-00T13:15:00Z", "2001-01-32T13:15:00Z",
        "2001-02-29T00:00:00Z", "1900-02-29T00:00:00Z", "2001-04-31T00:00:00Z",
        "2001-01-15T24:00:00Z", "2001-01-15T13:60:00Z", "2001-01-15T13:15:60Z",
        "2001-1-15T13:15:00ZZ", "+001-01-15T13:15:00Z", "2001-01-15T13:15:0 Z",
        "20010115131500", "", "0000-00-00T00:00:00Z",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        t = 12345;
        CHECK(record_timestamp_parse((const uint8_t *)bad[i], strlen(bad[i]), &t) == 0);
    }

    /* random instants over the whole range, against glibc's gmtime_r/timegm */
    rng_seed(2);
    for (int k = 0; k < 20000; k++) {
        int64_t v = -62135596800LL + (int64_t)rng_below(253402300799ULL + 62135596800ULL + 1);
        if (k < 4)
            v = (int64_t[]){ -62135596800LL, 253402300799LL, 0, -86400 }[k];
        record_timestamp_format(v, out);
        struct tm tm;
        time_t tt = (time_t)v;
        REQUIRE(gmtime_r(&tt, &tm) != NULL);
        char ref[64];
        snprintf(ref, sizeof ref, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
        CHECK(strcmp(out, ref) == 0);
        CHECK(record_timestamp_parse((const uint8_t *)out, 20, &t) == 1 && t == v);
        CHECK((int64_t)timegm(&tm) == v);
    }
}

/* ---- round trips ----------------------------------------------------------------- */

static void test_page_roundtrip(void)
{
    PageInfo p = { 42, 1, T("Talk:Pear"), 5, T("Pear (fruit)"), T("edit=sysop"),
                   T("<discussionthreadinginfo/>") };
    page_roundtrip(&p);
    p.ns = -2; p.id = INT64_MAX; page_roundtrip(&p);
    p.ns = INT64_MIN; p.id = INT64_MIN; page_roundtrip(&p);
    p.ns = INT64_MAX; page_roundtrip(&p);
    p.title_prefix = (uint32_t)p.title.len; page_roundtrip(&p);
    /* absent vs empty, field by field */
    for (size_t i = 0; i < 4; i++) {
        PageInfo q = { 7, 0, T("Pear"), 0, T("x"), T("y"), T("z") };
        DumpText *f[] = { &q.title, &q.redirect, &q.restrictions, &q.extra };
        *f[i] = ABSENT;
        page_roundtrip(&q);
        *f[i] = T("");
        page_roundtrip(&q);
    }
    PageInfo none;
    memset(&none, 0, sizeof none);
    CHECK(page_roundtrip(&none) == 2);      /* version + end marker */

    ErrorInfo err;
    PageInfo bad = { 1, 0, T("Talk:Pear"), 10, ABSENT, ABSENT, ABSENT };
    CHECK_RC(record_encode_page(&bad, &rb, &err), DUMP_INVALID);
    bad.title = ABSENT; bad.title_prefix = 1;
    CHECK_RC(record_encode_page(&bad, &rb, &err), DUMP_INVALID);
}

/* The exact bytes of the examples in docs/format.md "Records". */
static void test_layout(void)
{
    ErrorInfo err;
    PageInfo p = { 99, 1, T("Talk:Pear"), 5, ABSENT, ABSENT, ABSENT };
    static const uint8_t page[] = { 0x01, 0x08, 0x02, 0x12, 0x09, 'T', 'a', 'l', 'k', ':',
                                    'P', 'e', 'a', 'r', 0x18, 0x05, 0x00 };
    REQUIRE(record_encode_page(&p, &rb, &err) == DUMP_OK);
    CHECK(rb.len == sizeof page && memcmp(rb.p, page, sizeof page) == 0);

    /* A revision: id 1000, parent 990, 2001-01-15T13:15:00Z, an IP editor
     * (name interned as 1), no slots, comment "hi". */
    strtab_free();
    uint64_t id;
    REQUIRE(t_intern(NULL, RECORD_STR_NAME, (const uint8_t *)"192.0.2.1", 9, &id, &err) == 0);
    RevisionInfo r;
    memset(&r, 0, sizeof r);
    r.id = 1000; r.page_id = 3; r.parent_id = 990; r.flags = DUMP_REV_HAS_PARENT;
    r.timestamp = 979564500; r.contributor = DUMP_CONTRIB_IP; r.user_id = -1;
    r.user_text = T("192.0.2.1"); r.comment = T("hi");
    static const uint8_t rev[] = { 0x01, 0x08, 0x14, 0x10, 0xA8, 0xDF, 0x97, 0xA6, 0x07,
                                   0x18, 0x02, 0x20, 0x01, 0x32, 0x02, 'h', 'i', 0x00 };
    REQUIRE(record_encode_revision(&r, &STRS, &rb, &err) == DUMP_OK);
    CHECK(rb.len == sizeof rev && memcmp(rb.p, rev, sizeof rev) == 0);
    rev_roundtrip(&r);

    /* The same revision by user Alice (id 7), minor, no comment, the sha1 of
     * the empty text, a main slot of origin 1000, wikitext, size 0, stored.
     * Strings: Alice 1, wikitext 2, text/x-wiki 3. */
    strtab_free();
    REQUIRE(t_intern(NULL, RECORD_STR_NAME, (const uint8_t *)"Alice", 5, &id, &err) == 0);
    REQUIRE(t_intern(NULL, RECORD_STR_MODEL, (const uint8_t *)"wikitext", 8, &id, &err) == 0);
    REQUIRE(t_intern(NULL, RECORD_STR_FORMAT, (const uint8_t *)"text/x-wiki", 11, &id, &err) == 0);
    SlotInfo main = { T("main"), 1000, T("wikitext"), T("text/x-wiki"),
                      T("phoiac9h4m842xq45sp7s6u21eteeq1"), 0, DUMP_SLOT_HAS_TEXT, ABSENT, ABSENT,
                      ABSENT };
    r.flags |= DUMP_REV_MINOR; r.contributor = DUMP_CONTRIB_USER; r.user_id = 7;
    r.user_text = T("Alice"); r.comment = ABSENT; r.sha1 = main.sha1;
    r.nslots = 1; r.slots = &main;
    static const uint8_t rev2[] = {
        0x01, 0x08, 0x14, 0x10, 0xA8, 0xDF, 0x97, 0xA6, 0x07, 0x18, 0x7D, 0x20, 0x01, 0x28, 0x07,
        0x3A, 0x14, 0xda, 0x39, 0xa3, 0xee, 0x5e, 0x6b, 0x4b, 0x0d, 0x32, 0x55, 0xbf, 0xef, 0x95,
        0x60, 0x18, 0x90, 0xaf, 0xd8, 0x07, 0x09, 0x48, 0x02, 0x50, 0x03, 0x58, 0x00, 0x00 };
    REQUIRE(record_encode_revision(&r, &STRS, &rb, &err) == DUMP_OK);
    CHECK(rb.len == sizeof rev2 && memcmp(rb.p, rev2, sizeof rev2) == 0);
    rev_roundtrip(&r);

    /* Site info: sitename "W", one namespace (key -1, "Special"). */
    DumpNamespace ns = { -1, T("Special"), ABSENT };
    DumpSiteInfo si = { T("W"), ABSENT, ABSENT, ABSENT, ABSENT, ABSENT, ABSENT, ABSENT, 1, &ns };
    static const uint8_t site[] = { 0x01, 0x0A, 0x01, 'W', 0x42, 0x0B, 0x08, 0x01, 0x12, 0x07,
                                    'S', 'p', 'e', 'c', 'i', 'a', 'l', 0x00 };
    REQUIRE(record_encode_siteinfo(&si, &rb, &err) == DUMP_OK);
    CHECK(rb.len == sizeof site && memcmp(rb.p, site, sizeof site) == 0);
}

static void test_siteinfo_roundtrip(void)
{
    DumpNamespace ns[] = {
        { -2, T("Media"), T("first-letter") },
        { 0, T(""), T("first-letter") },
        { 1, T("Talk"), ABSENT },
        { INT64_MIN, ABSENT, T("") },
        { INT64_MAX, T("Big"), T("case-sensitive") },
    };
    DumpSiteInfo si = { T("Wikipedia"), T("enwiki"), T("https://en.wikipedia.org/wiki/Main_Page"),
                        T("MediaWiki 1.41.0-wmf.1"), T("first-letter"), T("en"), T("0.11"),
                        T("<x/>"), 5, ns };
    site_roundtrip(&si);
    si.nnamespaces = 0; si.namespaces = NULL;
    site_roundtrip(&si);
    DumpSiteInfo none;
    memset(&none, 0, sizeof none);
    CHECK(site_roundtrip(&none) == 2);
    /* absent vs empty for each text */
    for (int i = 0; i < 8; i++) {
        DumpSiteInfo s = { T("a"), T("b"), T("c"), T("d"), T("e"), T("f"), T("g"), T("h"), 2, ns };
        DumpText *f[] = { &s.sitename, &s.dbname, &s.base, &s.generator, &s.casing, &s.lang,
                          &s.schema, &s.extra };
        *f[i] = ABSENT;
        site_roundtrip(&s);
        *f[i] = T("");
        site_roundtrip(&s);
    }
    /* many namespaces: scratch grows */
    DumpNamespace many[300];
    char names[300][16];
    for (int i = 0; i < 300; i++) {
        snprintf(names[i], sizeof names[i], "N%d", i);
        many[i] = (DumpNamespace){ i - 150, T(names[i]), i % 2 ? T("first-letter") : ABSENT };
    }
    si.nnamespaces = 300; si.namespaces = many;
    site_roundtrip(&si);
    ErrorInfo err;
    si.namespaces = NULL;
    CHECK_RC(record_encode_siteinfo(&si, &rb, &err), DUMP_INVALID);
}

static void test_revision_roundtrip(void)
{
    RevisionInfo r = full();
    rev_roundtrip(&r);
    r = typical();
    rev_roundtrip(&r);

    /* absent vs empty, text field by text field (revision and slot 0) */
    for (int i = 0; i < 13; i++) {
        for (int mode = 0; mode < 2; mode++) {
            r = full();
            DumpText *f[] = { &r.timestamp_text, &r.user_text, &r.comment, &r.sha1, &r.extra,
                              &full_slots[0].role, &full_slots[0].model, &full_slots[0].format,
                              &full_slots[0].sha1, &full_slots[0].location,
                              &full_slots[0].text_id, &full_slots[1].role, &full_slots[1].sha1 };
            *f[i] = mode ? T("") : ABSENT;
            rev_roundtrip(&r);
        }
    }
    /* no contributor, no parent, nothing at all */
    RevisionInfo z;
    memset(&z, 0, sizeof z);
    z.id = 5; z.user_id = -1;
    CHECK(rev_roundtrip(&z) == 2);
    /* an empty interned string is not absent */
    z.user_text = T("");
    z.contributor = DUMP_CONTRIB_IP;
    CHECK(rev_roundtrip(&z) > 2);

    /* every contributor kind and flag alone */
    for (int c = 0; c <= 3; c++)
        for (uint32_t fl = 0; fl < 64; fl++) {
            r = typical();
            r.contributor = c;
            r.flags = fl;
            rev_roundtrip(&r);
        }
    for (uint32_t fl = 0; fl < 4; fl++) {
        r = typical();
        typical_slot.flags = fl;
        rev_roundtrip(&r);
    }
}

static void test_extremes(void)
{
    RevisionInfo r = typical();
    int64_t ids[] = { 0, 1, INT64_MAX, INT64_MIN, -1, 1234567890 };
    int64_t vals[] = { 0, 1, INT64_MAX, 1234567890 };
    for (size_t i = 0; i < 6; i++)
        for (size_t j = 0; j < 4; j++) {
            r = typical();
            r.id = ids[i];
            r.page_id = ids[(i + 1) % 6];
            r.parent_id = vals[j];
            typical_slot.origin = vals[(j + 1) % 4];
            r.user_id = vals[j];
            typical_slot.size = vals[(j + 2) % 4];
            rev_roundtrip(&r);
        }
    int64_t times[] = { INT64_MIN, INT64_MAX, -1, -62135596800LL, 253402300799LL, 0 };
    for (size_t i = 0; i < 6; i++) {
        r = typical();
        r.timestamp = times[i];
        rev_roundtrip(&r);
        r.timestamp_text = T("whenever");
        rev_roundtrip(&r);
    }
    r = typical();
    r.user_id = -1; typical_slot.size = -1; typical_slot.origin = -1;
    rev_roundtrip(&r);

    /* a 1 MB comment (and 1 MB extra) */
    size_t big = (size_t)1 << 20;
    uint8_t *c = malloc(big);
    REQUIRE(c);
    tu_pattern(c, big, 3, 4);
    r = typical();
    r.comment = (DumpText){ c, big };
    r.extra = (DumpText){ c, big - 1 };
    size_t n = rev_roundtrip(&r);
    CHECK(n > 2 * big - 1 && n < 2 * big + 100);
    free(c);
}

static void test_slots(void)
{
    static SlotInfo s[RECORD_MAX_SLOTS + 1];
    static char roles[RECORD_MAX_SLOTS + 1][24];
    for (int i = 0; i <= RECORD_MAX_SLOTS; i++) {
        snprintf(roles[i], sizeof roles[i], i ? "role%d" : "main", i);
        s[i] = (SlotInfo){ T(roles[i]), 1000 - i, T("wikitext"), T("text/x-wiki"),
                           i % 3 ? T("phoiac9h4m842xq45sp7s6u21eteeq1") : T("x"), i * 1000,
                           (uint32_t)(i % 4), i % 5 ? ABSENT : T("loc"), ABSENT,
                           T("ignored text") };
    }
    RevisionInfo r = typical();
    r.id = 1000;
    r.slots = s;
    for (uint32_t k = 0; k <= RECORD_MAX_SLOTS; k++) {
        r.nslots = k;
        rev_roundtrip(&r);
    }
    ErrorInfo err;
    r.nslots = RECORD_MAX_SLOTS + 1;
    CHECK_RC(record_encode_revision(&r, &STRS, &rb, &err), DUMP_INVALID);

    /* slot 0's role: "main" (implicit), absent, something else */
    r.nslots = 2;
    size_t n_main = rev_roundtrip(&r);
    s[0].role = ABSENT;
    size_t n_absent = rev_roundtrip(&r);
    s[0].role = T("other");
    size_t n_other = rev_roundtrip(&r);
    s[0].role = T("");
    rev_roundtrip(&r);
    s[0].role = T("main");
    CHECK(n_main < n_absent && n_main < n_other);

    /* slot texts are not stored */
    s[0].text = T("a long text that must not be in the record, not at all");
    size_t a = rev_roundtrip(&r);
    s[0].text = ABSENT;
    CHECK(rev_roundtrip(&r) == a);
}

/* The compact forms, measured. */
static void test_compact(void)
{
    RevisionInfo r = typical();
    size_t n_typ = rev_roundtrip(&r);
    fprintf(stderr, "  typical revision record: %zu bytes (comment %zu, overhead %zu)\n",
            n_typ, r.comment.len, n_typ - r.comment.len);
    CHECK(n_typ > 0 && n_typ - r.comment.len < 60);

    /* stub-like: an IP editor, no comment, canonical sha1 */
    r = typical();
    r.contributor = DUMP_CONTRIB_IP; r.user_id = -1; r.user_text = T("2001:db8::1");
    r.comment = ABSENT; r.flags = DUMP_REV_HAS_PARENT;
    fprintf(stderr, "  IP edit without comment: %zu bytes\n", rev_roundtrip(&r));

    /* canonical sha1: 20 bytes; the same text in upper case is kept as text */
    r = typical();
    typical_slot.sha1 = T("x");
    size_t bin = rev_roundtrip(&r);
    r.sha1 = T("PHOIAC9H4M842XQ45SP7S6U21ETEEQ1");
    size_t txt = rev_roundtrip(&r);
    CHECK(bin + 12 == txt);     /* 2-byte tag, length, 31 bytes vs 1, 1, 20 */
    const char *odd[] = { "", "ignored", "phoiac9h4m842xq45sp7s6u21eteeq",
                          "phoiac9h4m842xq45sp7s6u21eteeq1a", "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz" };
    for (size_t i = 0; i < 5; i++) {
        r = typical();
        r.sha1 = T(odd[i]);
        typical_slot.sha1 = T(odd[i]);
        rev_roundtrip(&r);
        typical_slot.sha1 = T("phoiac9h4m842xq45sp7s6u21eteeq1");
        rev_roundtrip(&r);
    }

    /* slot 0 sharing the revision's sha1 costs nothing */
    r = typical();
    size_t shared = rev_roundtrip(&r);
    typical_slot.sha1 = ABSENT;
    CHECK(rev_roundtrip(&r) == shared);
    typical_slot.sha1 = T("a0000000000000000000000000000zz");
    CHECK(rev_roundtrip(&r) == shared + 22);

    /* a canonical timestamp text is dropped (reads back absent) */
    r = typical();
    r.timestamp = 979564500;
    size_t plain = rev_roundtrip(&r);
    r.timestamp_text = T("2001-01-15T13:15:00Z");
    ErrorInfo err;
    RevisionInfo back;
    REQUIRE(record_encode_revision(&r, &STRS, &rb, &err) == DUMP_OK);
    CHECK(rb.len == plain);
    REQUIRE(record_decode_revision(rb.p, rb.len, 1, r.id, &STRS, &back, &scratch, &err) == 0);
    CHECK(back.timestamp_text.ptr == NULL);
    /* ... but only for its own timestamp */
    r.timestamp = 979564501;
    CHECK(rev_roundtrip(&r) == plain + 23);
    r.timestamp = 979564500;
    r.timestamp_text = T("2001-01-15 13:15:00");
    CHECK(rev_roundtrip(&r) == plain + 22);

    /* interned strings are stored once: the record has no copy of them */
    r = typical();
    char name[200];
    memset(name, 'u', sizeof name - 1);
    name[sizeof name - 1] = 0;
    r.user_text = T(name);
    CHECK(rev_roundtrip(&r) == n_typ);
}

static void test_invalid_args(void)
{
    ErrorInfo err;
    RevisionInfo r;
    int calls;
    r = typical(); r.flags |= 0x40;
    CHECK_RC(record_encode_revision(&r, &STRS, &rb, &err), DUMP_INVALID);
    r = typical(); r.contributor = 4;
    CHECK_RC(record_encode_revision(&r, &STRS, &rb, &err), DUMP_INVALID);
    r = typical(); r.contributor = -1;
    CHECK_RC(record_encode_revision(&r, &STRS, &rb, &err), DUMP_INVALID);
    r = typical(); r.parent_id = -1;
    CHECK_RC(record_encode_revision(&r, &STRS, &rb, &err), DUMP_INVALID);
    r.flags &= ~(uint32_t)DUMP_REV_HAS_PARENT;      /* then parent_id is ignored */
    CHECK_RC(record_encode_revision(&r, &STRS, &rb, &err), DUMP_OK);
    r = typical(); r.user_id = -2;
    CHECK_RC(record_encode_revision(&r, &STRS, &rb, &err), DUMP_INVALID);
    r = typical(); typical_slot.origin = -2;
    CHECK_RC(record_encode_revision(&r, &STRS, &rb, &err), DUMP_INVALID);
    r = typical(); typical_slot.size = INT64_MIN;
    CHECK_RC(record_encode_revision(&r, &STRS, &rb, &err), DUMP_INVALID);
    r = typical(); typical_slot.flags = 4;
    CHECK_RC(record_encode_revision(&r, &STRS, &rb, &err), DUMP_INVALID);
    r = typical(); r.slots = NULL;
    CHECK_RC(record_encode_revision(&r, &STRS, &rb, &err), DUMP_INVALID);
    r = typical();
    CHECK_RC(record_encode_revision(&r, NULL, &rb, &err), DUMP_INVALID);
    RevisionInfo back;
    REQUIRE(record_encode_revision(&r, &STRS, &rb, &err) == DUMP_OK);
    CHECK_RC(record_decode_revision(rb.p, rb.len, 1, 2, NULL, &back, &scratch, &err),
             DUMP_INVALID);
    /* the intern callback's code comes back */
    for (int k = 0; k < 3; k++) {
        r = typical();
        intern_calls = 0;
        CHECK_RC(record_encode_revision(&r, &STRS, &rb, &err), DUMP_OK);
        calls = intern_calls;
        CHECK(calls == 3);                 /* user, model, format */
        fail_intern = DUMP_IOERR;          /* fail the user, the model, the format */
        fail_skip = k;
        CHECK_RC(record_encode_revision(&r, &STRS, &rb, &err), DUMP_IOERR);
        CHECK(strstr(err.msg, "injected") != NULL);
    }
    fail_intern = 0;
}

/* ---- hostile records --------------------------------------------------------------- */

typedef struct Bytes {
    uint8_t p[4096];
    size_t n;
} Bytes;

static void b_byte(Bytes *b, uint8_t v) { b->p[b->n++] = v; }
static void b_varint(Bytes *b, uint64_t v) { b->n += varint_put(b->p + b->n, v); }
static void b_vfield(Bytes *b, unsigned num, uint64_t v) { b_varint(b, num << 3); b_varint(b, v); }
static void b_bfield(Bytes *b, unsigned num, const void *p, size_t n)
{
    b_varint(b, num << 3 | 2);
    b_varint(b, n);
    memcpy(b->p + b->n, p, n);
    b->n += n;
}

static int dec_rev(const Bytes *b, RevisionInfo *out, ErrorInfo *err)
{
    return record_decode_revision(b->p, b->n, 1, 1000, &STRS, out, &scratch, err);
}

static int dec_page(const Bytes *b, ErrorInfo *err)
{
    PageInfo pg;
    return record_decode_page(b->p, b->n, 1, &pg, err);
}

static void expect_corrupt_rev(const Bytes *b, const char *fragment)
{
    ErrorInfo err;
    RevisionInfo out;
    error_clear(&err);
    int rc = dec_rev(b, &out, &err);
    CHECK_RC(rc, DUMP_CORRUPT);
    if (rc == DUMP_CORRUPT && !strstr(err.msg, fragment)) {
        tu_case_failed = 1;
        fprintf(stderr, "  message \"%s\" lacks \"%s\"\n", err.msg, fragment);
    }
    if (rc == DUMP_CORRUPT)
        CHECK(strncmp(err.msg, "revision record: ", 17) == 0 ||
              strncmp(err.msg, "lookup:", 7) == 0);
}

static void test_unknown_fields(void)
{
    ErrorInfo err;
    RevisionInfo out;
    Bytes b = { .n = 0 };
    uint64_t model;
    strtab_free();
    REQUIRE(t_intern(NULL, RECORD_STR_MODEL, (const uint8_t *)"wikitext", 8, &model, &err) == 0);

    /* fields 13 and 14 (unknown in version 1), a repeated unknown 40, an
     * unknown field inside a slot sub-record */
    b_byte(&b, RECORD_VERSION);
    b_vfield(&b, 2, zigzag_enc(979564500));
    b_vfield(&b, 3, 0x08);                           /* a main slot */
    b_vfield(&b, 9, model);
    b_vfield(&b, 13, 77777);
    b_bfield(&b, 14, "future", 6);
    Bytes slot = { .n = 0 };
    b_vfield(&slot, 3, model);
    b_bfield(&slot, 11, "future slot field", 17);
    b_vfield(&slot, 99, 1);
    b_bfield(&b, 22, slot.p, slot.n);
    b_bfield(&b, 40, "x", 1);
    b_bfield(&b, 40, "y", 1);
    b_vfield(&b, 1000000, 5);
    b_byte(&b, 0);
    CHECK_RC(dec_rev(&b, &out, &err), DUMP_OK);
    CHECK(out.timestamp == 979564500 && out.nslots == 2);
    CHECK(out.nslots == 2 && text_same(out.slots[0].model, T("wikitext")) &&
          text_same(out.slots[0].role, T("main")) && text_same(out.slots[1].model, T("wikitext")) &&
          out.slots[1].role.ptr == NULL);

    /* a page record with an unknown field 7 */
    Bytes p = { .n = 0 };
    b_byte(&p, RECORD_VERSION);
    b_bfield(&p, 2, "Pear", 4);
    b_bfield(&p, 7, "?", 1);
    b_byte(&p, 0);
    PageInfo pg;
    CHECK_RC(record_decode_page(p.p, p.n, 3, &pg, &err), DUMP_OK);
    CHECK(pg.id == 3 && text_same(pg.title, T("Pear")));

    /* a siteinfo namespace with an unknown field */
    Bytes s = { .n = 0 }, ns = { .n = 0 };
    b_byte(&s, RECORD_VERSION);
    b_vfield(&ns, 1, zigzag_enc(-1));
    b_bfield(&ns, 2, "Special", 7);
    b_vfield(&ns, 9, 1);
    b_bfield(&s, 8, ns.p, ns.n);
    b_bfield(&s, 8, ns.p, ns.n);
    b_bfield(&s, 12, "later", 5);
    b_byte(&s, 0);
    DumpSiteInfo si;
    CHECK_RC(record_decode_siteinfo(s.p, s.n, &si, &scratch, &err), DUMP_OK);
    CHECK(si.nnamespaces == 2 && si.namespaces[1].key == -1 &&
          text_same(si.namespaces[1].name, T("Special")) && si.namespaces[1].casing.ptr == NULL);
}

static void test_versions(void)
{
    ErrorInfo err;
    RevisionInfo r = typical(), out;
    PageInfo pg = { 1, 0, T("A"), 0, ABSENT, ABSENT, ABSENT }, pout;
    DumpSiteInfo si, sout;
    memset(&si, 0, sizeof si);
    for (int v = 0; v < 256; v++) {
        if (v == RECORD_VERSION)
            continue;
        REQUIRE(record_encode_revision(&r, &STRS, &rb, &err) == DUMP_OK);
        rb.p[0] = (uint8_t)v;
        CHECK_RC(record_decode_revision(rb.p, rb.len, 1, r.id, &STRS, &out, &scratch, &err),
                 DUMP_VERSION);
        REQUIRE(record_encode_page(&pg, &rb, &err) == DUMP_OK);
        rb.p[0] = (uint8_t)v;
        CHECK_RC(record_decode_page(rb.p, rb.len, 1, &pout, &err), DUMP_VERSION);
        REQUIRE(record_encode_siteinfo(&si, &rb, &err) == DUMP_OK);
        rb.p[0] = (uint8_t)v;
        CHECK_RC(record_decode_siteinfo(rb.p, rb.len, &sout, &scratch, &err), DUMP_VERSION);
    }
    CHECK(strstr(err.msg, "version") != NULL);
    CHECK_RC(record_decode_page(rb.p, 0, 1, &pout, &err), DUMP_CORRUPT);
}

/* Every proper prefix, and every longer record, of valid records is corrupt. */
static void test_truncation(void)
{
    ErrorInfo err;
    RevisionInfo r = full(), out;
    REQUIRE(record_encode_revision(&r, &STRS, &rb, &err) == DUMP_OK);
    size_t n = rb.len;
    uint8_t *copy = malloc(n + 1);
    REQUIRE(copy);
    memcpy(copy, rb.p, n);
    for (size_t k = 0; k < n; k++) {
        uint8_t *cut = malloc(k ? k : 1);      /* exact size: ASan sees any overread */
        REQUIRE(cut);
        memcpy(cut, copy, k);
        CHECK_RC(record_decode_revision(cut, k, 1, r.id, &STRS, &out, &scratch, &err),
                 DUMP_CORRUPT);
        free(cut);
    }
    for (int extra = 0; extra < 256; extra += 17) {
        copy[n] = (uint8_t)extra;
        CHECK_RC(record_decode_revision(copy, n + 1, 1, r.id, &STRS, &out, &scratch, &err),
                 DUMP_CORRUPT);
    }
    CHECK(strstr(err.msg, "after the end marker") != NULL);
    free(copy);

    PageInfo pg = { 1, 5, T("Foo:Bar"), 4, T(""), T("r"), T("e") }, pout;
    REQUIRE(record_encode_page(&pg, &rb, &err) == DUMP_OK);
    for (size_t k = 0; k < rb.len; k++)
        CHECK_RC(record_decode_page(rb.p, k, 1, &pout, &err), DUMP_CORRUPT);

    DumpNamespace ns[2] = { { 0, T(""), T("first-letter") }, { -1, T("Special"), ABSENT } };
    DumpSiteInfo si = { T("W"), T("w"), ABSENT, T("g"), ABSENT, T(""), T("0.11"), ABSENT, 2, ns },
                 sout;
    REQUIRE(record_encode_siteinfo(&si, &rb, &err) == DUMP_OK);
    for (size_t k = 0; k < rb.len; k++)
        CHECK_RC(record_decode_siteinfo(rb.p, k, &sout, &scratch, &err), DUMP_CORRUPT);
}

/* Records that break one rule each. */
static void test_hostile(void)
{
    ErrorInfo err;
    uint64_t name, model, role;
    strtab_free();
    REQUIRE(t_intern(NULL, RECORD_STR_NAME, (const uint8_t *)"Alice", 5, &name, &err) == 0);
    REQUIRE(t_intern(NULL, RECORD_STR_MODEL, (const uint8_t *)"wikitext", 8, &model, &err) == 0);
    REQUIRE(t_intern(NULL, RECORD_STR_ROLE, (const uint8_t *)"aux", 3, &role, &err) == 0);
    uint8_t sha[20] = { 1 };
    Bytes b;
#define START() (b.n = 0, b_byte(&b, RECORD_VERSION))
#define END() b_byte(&b, 0)

    START(); b_vfield(&b, 2, 1); b_vfield(&b, 2, 1); END();
    expect_corrupt_rev(&b, "duplicate field 2");
    START(); b_vfield(&b, 3, 1); b_vfield(&b, 2, 1); END();
    expect_corrupt_rev(&b, "after field 3");
    START(); b_varint(&b, 0 << 3 | 2); b_varint(&b, 0); END();
    expect_corrupt_rev(&b, "field number 0");
    START(); b_varint(&b, 2 << 3 | 1); b_varint(&b, 1); END();
    expect_corrupt_rev(&b, "unknown wire type");
    START(); b_varint(&b, 30 << 3 | 5); b_varint(&b, 1); END();
    expect_corrupt_rev(&b, "unknown wire type");
    START(); b_bfield(&b, 2, "xx", 2); END();
    expect_corrupt_rev(&b, "wire type 2, expected 0");
    START(); b_vfield(&b, 6, 3); END();
    expect_corrupt_rev(&b, "wire type 0, expected 2");
    START(); b_varint(&b, 6 << 3 | 2); b_varint(&b, 100); b_byte(&b, 'x'); END();
    expect_corrupt_rev(&b, "beyond the end");
    START(); b_varint(&b, 6 << 3 | 2); b_varint(&b, UINT64_MAX); END();
    expect_corrupt_rev(&b, "beyond the end");
    START(); b_byte(&b, 2 << 3); b_byte(&b, 0x81); b_byte(&b, 0x00); END();   /* overlong */
    expect_corrupt_rev(&b, "bad varint");
    START(); b_byte(&b, 0x90); b_byte(&b, 0x00); b_vfield(&b, 2, 1); END();   /* overlong tag */
    expect_corrupt_rev(&b, "bad field tag");
    START(); for (int i = 0; i < 10; i++) b_byte(&b, 0xff); END();
    expect_corrupt_rev(&b, "bad field tag");
    START(); b_vfield(&b, 2, 1);
    expect_corrupt_rev(&b, "no end marker");
    START(); END(); END();
    expect_corrupt_rev(&b, "after the end marker");

    /* values */
    START(); b_vfield(&b, 1, zigzag_enc(1001)); END();            /* parent 1000 - 1001 */
    expect_corrupt_rev(&b, "id out of range");
    START(); b_vfield(&b, 3, 0x10); END();
    expect_corrupt_rev(&b, "without slots");
    START(); b_vfield(&b, 9, model); END();
    expect_corrupt_rev(&b, "without slots");
    START(); b_bfield(&b, 22, "", 0); END();
    expect_corrupt_rev(&b, "without slots");
    START(); b_vfield(&b, 4, 0); END();
    expect_corrupt_rev(&b, "string id 0");
    START(); b_vfield(&b, 4, model); END();                         /* wrong kind */
    expect_corrupt_rev(&b, "unknown string");
    START(); b_vfield(&b, 4, 999); END();
    expect_corrupt_rev(&b, "unknown string");
    START(); b_vfield(&b, 5, (uint64_t)INT64_MAX + 1); END();
    expect_corrupt_rev(&b, "out of range");
    START(); b_bfield(&b, 7, sha, 19); END();
    expect_corrupt_rev(&b, "not 20 bytes");
    START(); b_bfield(&b, 7, sha, 20); b_bfield(&b, 17, "x", 1); END();
    expect_corrupt_rev(&b, "sha1 given twice");
    START(); b_bfield(&b, 17, "phoiac9h4m842xq45sp7s6u21eteeq1", 31); END();
    expect_corrupt_rev(&b, "canonical sha1");
    START(); b_vfield(&b, 2, zigzag_enc(979564500));
    b_bfield(&b, 16, "2001-01-15T13:15:00Z", 20); END();
    expect_corrupt_rev(&b, "canonical timestamp");
    START(); b_vfield(&b, 3, 0x08 | 0x10); END();                   /* shares a missing sha1 */
    expect_corrupt_rev(&b, "shares a sha1");
    START(); b_vfield(&b, 3, 0x08 | 0x10); b_bfield(&b, 7, sha, 20);
    b_bfield(&b, 12, sha, 20); END();
    expect_corrupt_rev(&b, "has its own");
    START(); b_vfield(&b, 3, 0x08 | 0x40); b_vfield(&b, 8, zigzag_enc(0)); END();
    expect_corrupt_rev(&b, "origin given twice");
    START(); b_vfield(&b, 3, 0x40); END();
    expect_corrupt_rev(&b, "without slots");
    START(); b_vfield(&b, 3, 0x1000); END();
    expect_corrupt_rev(&b, "unknown bits");
    START(); b_vfield(&b, 3, 0x08); b_vfield(&b, 11, (uint64_t)INT64_MAX + 1); END();
    expect_corrupt_rev(&b, "out of range");
    START(); b_vfield(&b, 3, 0x08); b_vfield(&b, 8, zigzag_enc(-(int64_t)INT64_MAX)); END();
    expect_corrupt_rev(&b, "id out of range");

    /* slot sub-records */
    Bytes s;
    s.n = 0; b_vfield(&s, 8, 4);
    START(); b_vfield(&b, 3, 0x08); b_bfield(&b, 22, s.p, s.n); END();
    expect_corrupt_rev(&b, "slot 1: field 8: unknown slot flags");
    s.n = 0; b_vfield(&s, 1, role); b_vfield(&s, 1, role);
    START(); b_vfield(&b, 3, 0x08); b_bfield(&b, 22, s.p, s.n); END();
    expect_corrupt_rev(&b, "slot 1: duplicate field 1");
    s.n = 0; b_vfield(&s, 1, role); b_byte(&s, 0);                  /* no end marker inside */
    START(); b_vfield(&b, 3, 0x08); b_bfield(&b, 22, s.p, s.n); END();
    expect_corrupt_rev(&b, "slot 1: field number 0");
    s.n = 0; b_vfield(&s, 2, zigzag_enc(2000));
    START(); b_vfield(&b, 3, 0x08); b_bfield(&b, 22, s.p, s.n); END();
    expect_corrupt_rev(&b, "slot 1: field 2: id out of range");
    s.n = 0; b_bfield(&s, 5, sha, 20); b_bfield(&s, 6, "x", 1);
    START(); b_vfield(&b, 3, 0x08); b_bfield(&b, 22, "", 0); b_bfield(&b, 22, s.p, s.n); END();
    expect_corrupt_rev(&b, "slot 2: field 6: sha1 given twice");
    START(); b_vfield(&b, 3, 0x08);
    for (int i = 0; i < RECORD_MAX_SLOTS; i++) b_bfield(&b, 22, "", 0);
    END();
    expect_corrupt_rev(&b, "65 slots");
    START(); b_vfield(&b, 3, 0x08);
    for (int i = 0; i < RECORD_MAX_SLOTS - 1; i++) b_bfield(&b, 22, "", 0);
    END();
    RevisionInfo out;
    CHECK_RC(dec_rev(&b, &out, &err), DUMP_OK);
    CHECK(out.nslots == RECORD_MAX_SLOTS);

    /* page */
    START(); b_bfield(&b, 2, "Talk:X", 6); b_vfield(&b, 3, 7); END();
    CHECK_RC(dec_page(&b, &err), DUMP_CORRUPT);
    CHECK(strstr(err.msg, "page record: title_prefix 7") != NULL);
    START(); b_vfield(&b, 3, 1); END();
    CHECK_RC(dec_page(&b, &err), DUMP_CORRUPT);
    START(); b_bfield(&b, 2, "Talk:X", 6); b_vfield(&b, 3, 6); END();
    CHECK_RC(dec_page(&b, &err), DUMP_OK);
    START(); b_vfield(&b, 1, 1); b_vfield(&b, 1, 1); END();
    CHECK_RC(dec_page(&b, &err), DUMP_CORRUPT);
    CHECK(strncmp(err.msg, "page record: ", 13) == 0);

    /* siteinfo */
    DumpSiteInfo si;
    START(); b_bfield(&b, 8, "\x08", 1); END();                      /* truncated namespace */
    CHECK_RC(record_decode_siteinfo(b.p, b.n, &si, &scratch, &err), DUMP_CORRUPT);
    CHECK(strstr(err.msg, "siteinfo record: namespace 0:") != NULL);
    START(); b_bfield(&b, 1, "a", 1); b_bfield(&b, 1, "a", 1); END();
    CHECK_RC(record_decode_siteinfo(b.p, b.n, &si, &scratch, &err), DUMP_CORRUPT);
    CHECK(strstr(err.msg, "siteinfo record: duplicate field 1") != NULL);
#undef START
#undef END
}

/* Flip every bit of a few records: never a crash; whatever decodes encodes
 * and decodes again to the same struct. */
static void test_bit_flips(void)
{
    ErrorInfo err;
    RevisionInfo r = full(), out, again;
    REQUIRE(record_encode_revision(&r, &STRS, &rb, &err) == DUMP_OK);
    size_t n = rb.len;
    uint8_t *rec = malloc(n);
    REQUIRE(rec);
    memcpy(rec, rb.p, n);
    RecordBuf rb2 = { 0 };
    void *scratch2 = NULL;
    int ok = 0, bad = 0;
    for (size_t i = 0; i < n * 8; i++) {
        rec[i / 8] ^= (uint8_t)(1u << (i % 8));
        int rc = record_decode_revision(rec, n, 1, r.id, &STRS, &out, &scratch, &err);
        CHECK(rc == DUMP_OK || rc == DUMP_CORRUPT || rc == DUMP_VERSION);
        if (rc == DUMP_OK) {
            ok++;
            CHECK_RC(record_encode_revision(&out, &STRS, &rb2, &err), DUMP_OK);
            CHECK_RC(record_decode_revision(rb2.p, rb2.len, 1, r.id, &STRS, &again, &scratch2,
                                            &err), DUMP_OK);
            CHECK(rev_eq(&out, &again));
        } else {
            bad++;
        }
        rec[i / 8] ^= (uint8_t)(1u << (i % 8));
    }
    CHECK(ok > 0 && bad > 0);
    free(rec);
    free(scratch2);
    recordbuf_free(&rb2);
}

int main(void)
{
    run("sha1", test_sha1);
    run("timestamp", test_timestamp);
    run("layout", test_layout);
    run("page_roundtrip", test_page_roundtrip);
    run("siteinfo_roundtrip", test_siteinfo_roundtrip);
    run("revision_roundtrip", test_revision_roundtrip);
    run("extremes", test_extremes);
    run("slots", test_slots);
    run("compact", test_compact);
    run("invalid_args", test_invalid_args);
    run("unknown_fields", test_unknown_fields);
    run("versions", test_versions);
    run("truncation", test_truncation);
    run("hostile", test_hostile);
    run("bit_flips", test_bit_flips);
    recordbuf_free(&rb);
    free(scratch);
    strtab_free();
    return tu_finish("record");
}
