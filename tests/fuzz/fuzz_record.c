/*
 * fuzz_record.c -- libFuzzer target for the record decoders (csrc/record.c).
 *
 * Input: one selector byte, then a record. selector % 3 picks the decoder
 * (0 site info, 1 page, 2 revision of id 1000000 on page 7). A rejected
 * record must give DUMP_CORRUPT or DUMP_VERSION with a "<kind> record: "
 * message (or the lookup's "lookup: " one). An accepted one must encode
 * again (DUMP_OK: whatever a reader accepts is in range) and that record
 * must decode to the same fields; a second encoding must be byte-identical
 * to the first. abort() on any violation.
 *
 * Interned strings: kind k id 1 is "", ids 2..999 are "<letter k><id>";
 * others are unknown (DUMP_CORRUPT). Seeds: tests/fuzz/corpus/record/
 * (tests/fuzz/make_seeds.py).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "record.h"
#include "status.h"

#define REQUIRE(c) do { if (!(c)) abort(); } while (0)
#define NIDS 1000

static char names[5][NIDS][8];
static int ready;

static void init_names(void)
{
    for (int k = 1; k <= 4; k++)
        for (int i = 2; i < NIDS; i++)
            snprintf(names[k][i], sizeof names[k][i], "%c%d", "?numfr"[k], i);
    ready = 1;
}

static int f_lookup(void *ctx, int kind, uint64_t id, const uint8_t **p, size_t *n,
                    ErrorInfo *err)
{
    (void)ctx;
    REQUIRE(kind >= 1 && kind <= 4);
    if (id == 0 || id >= NIDS)
        return error_set(err, DUMP_CORRUPT, "lookup: unknown string %llu",
                         (unsigned long long)id);
    *p = (const uint8_t *)(id == 1 ? "" : names[kind][id]);
    *n = id == 1 ? 0 : strlen(names[kind][id]);
    return DUMP_OK;
}

/* The inverse of f_lookup; every string it is given came from it. */
static int f_intern(void *ctx, int kind, const uint8_t *p, size_t n, uint64_t *id,
                    ErrorInfo *err)
{
    (void)ctx;
    (void)err;
    REQUIRE(kind >= 1 && kind <= 4);
    if (n == 0) {
        *id = 1;
        return DUMP_OK;
    }
    REQUIRE(n >= 2 && n < 8 && p[0] == (uint8_t)"?numfr"[kind]);
    char buf[8];
    memcpy(buf, p + 1, n - 1);
    buf[n - 1] = 0;
    *id = (uint64_t)strtoull(buf, NULL, 10);
    REQUIRE(*id >= 2 && *id < NIDS && strlen(names[kind][*id]) == n &&
            memcmp(names[kind][*id], p, n) == 0);
    return DUMP_OK;
}

static const RecordStrings STRS = { NULL, f_intern, f_lookup };

static int same(DumpText a, DumpText b)
{
    if (!a.ptr || !b.ptr)
        return !a.ptr && !b.ptr;
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

static int slot_same(const SlotInfo *a, const SlotInfo *b)
{
    return same(a->role, b->role) && a->origin == b->origin && same(a->model, b->model) &&
           same(a->format, b->format) && same(a->sha1, b->sha1) && a->size == b->size &&
           a->flags == b->flags && same(a->location, b->location) &&
           same(a->text_id, b->text_id) && !a->text.ptr && !b->text.ptr;
}

static int rev_same(const RevisionInfo *a, const RevisionInfo *b)
{
    if (a->id != b->id || a->page_id != b->page_id || a->parent_id != b->parent_id ||
        a->timestamp != b->timestamp || !same(a->timestamp_text, b->timestamp_text) ||
        a->flags != b->flags || a->contributor != b->contributor || a->user_id != b->user_id ||
        !same(a->user_text, b->user_text) || !same(a->comment, b->comment) ||
        !same(a->sha1, b->sha1) || !same(a->extra, b->extra) || a->nslots != b->nslots)
        return 0;
    for (uint32_t i = 0; i < a->nslots; i++)
        if (!slot_same(&a->slots[i], &b->slots[i]))
            return 0;
    return 1;
}

static int page_same(const PageInfo *a, const PageInfo *b)
{
    return a->id == b->id && a->ns == b->ns && same(a->title, b->title) &&
           a->title_prefix == b->title_prefix && same(a->redirect, b->redirect) &&
           same(a->restrictions, b->restrictions) && same(a->extra, b->extra);
}

static int site_same(const DumpSiteInfo *a, const DumpSiteInfo *b)
{
    if (!same(a->sitename, b->sitename) || !same(a->dbname, b->dbname) ||
        !same(a->base, b->base) || !same(a->generator, b->generator) ||
        !same(a->casing, b->casing) || !same(a->lang, b->lang) ||
        !same(a->schema, b->schema) || !same(a->extra, b->extra) ||
        a->nnamespaces != b->nnamespaces)
        return 0;
    for (uint32_t i = 0; i < a->nnamespaces; i++)
        if (a->namespaces[i].key != b->namespaces[i].key ||
            !same(a->namespaces[i].name, b->namespaces[i].name) ||
            !same(a->namespaces[i].casing, b->namespaces[i].casing))
            return 0;
    return 1;
}

static void check_rejected(int rc, const ErrorInfo *err, const char *prefix)
{
    REQUIRE(rc == DUMP_CORRUPT || rc == DUMP_VERSION || rc == DUMP_NOMEM);
    REQUIRE(err->code == rc);
    REQUIRE(strncmp(err->msg, prefix, strlen(prefix)) == 0 ||
            (rc == DUMP_CORRUPT && strncmp(err->msg, "lookup: ", 8) == 0));
}

/* Encode what decoded, decode that, compare; encode again, same bytes. */
static void check_again(RecordBuf *b1, RecordBuf *b2)
{
    REQUIRE(b1->len == b2->len && memcmp(b1->p, b2->p, b1->len) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static RecordBuf b1, b2;
    static void *s1, *s2;
    ErrorInfo err;
    int rc;

    if (!ready)
        init_names();
    if (size < 1)
        return 0;
    int which = data[0] % 3;
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    error_clear(&err);
    if (which == 0) {
        DumpSiteInfo a, c;
        rc = record_decode_siteinfo(p, n, &a, &s1, &err);
        if (rc != DUMP_OK) {
            check_rejected(rc, &err, "siteinfo record: ");
            return 0;
        }
        REQUIRE(record_encode_siteinfo(&a, &b1, &err) == DUMP_OK);
        REQUIRE(record_decode_siteinfo(b1.p, b1.len, &c, &s2, &err) == DUMP_OK);
        REQUIRE(site_same(&a, &c));
        REQUIRE(record_encode_siteinfo(&c, &b2, &err) == DUMP_OK);
        check_again(&b1, &b2);
    } else if (which == 1) {
        PageInfo a, c;
        rc = record_decode_page(p, n, 7, &a, &err);
        if (rc != DUMP_OK) {
            check_rejected(rc, &err, "page record: ");
            return 0;
        }
        REQUIRE(a.id == 7 && a.title_prefix <= a.title.len);
        REQUIRE(record_encode_page(&a, &b1, &err) == DUMP_OK);
        REQUIRE(record_decode_page(b1.p, b1.len, 7, &c, &err) == DUMP_OK);
        REQUIRE(page_same(&a, &c));
        REQUIRE(record_encode_page(&c, &b2, &err) == DUMP_OK);
        check_again(&b1, &b2);
    } else {
        RevisionInfo a, c;
        rc = record_decode_revision(p, n, 7, 1000000, &STRS, &a, &s1, &err);
        if (rc != DUMP_OK) {
            check_rejected(rc, &err, "revision record: ");
            return 0;
        }
        REQUIRE(a.id == 1000000 && a.page_id == 7 && a.nslots <= RECORD_MAX_SLOTS);
        rc = record_encode_revision(&a, &STRS, &b1, &err);
        REQUIRE(rc == DUMP_OK);
        REQUIRE(record_decode_revision(b1.p, b1.len, 7, 1000000, &STRS, &c, &s2, &err) ==
                DUMP_OK);
        REQUIRE(rev_same(&a, &c));
        REQUIRE(record_encode_revision(&c, &STRS, &b2, &err) == DUMP_OK);
        check_again(&b1, &b2);
    }
    return 0;
}
