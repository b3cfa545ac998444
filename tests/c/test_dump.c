/*
 * test_dump.c -- the public dump API (dump.c and dump_*.c over record.c and
 * dump_text.c): create/reopen and the config record, every field through
 * put/get, title lookups, cursors (alone and interleaved with other reads),
 * moves, deletes with dependants' texts, the current/stub kinds and the
 * articles filter, transactions (abort leaves nothing, not even interned
 * strings), reader snapshots, the one-writer lock, and dump_check finding
 * broken indexes written behind the dump's back.
 *
 * Every handle is closed, also after failed opens, so ASan's leak check
 * covers those paths. Prints "dump: N passed, M failed" last.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "incrdump.h"
#include "testutil.h"

#define CHECK_D(d, expr, want) do { int r2_ = (expr), w2_ = (want); if (r2_ != w2_) { tu_case_failed = 1; \
    fprintf(stderr, "%s:%d: %s: %s returned %s, expected %s: %s\n", __FILE__, __LINE__, tu_case, \
            #expr, status_name(r2_), status_name(w2_), dump_errmsg(d)); } } while (0)

/* A failure whose message contains `part`. */
#define CHECK_MSG(d, expr, want, part) do { CHECK_D(d, expr, want); \
    if (!strstr(dump_errmsg(d), part)) { tu_case_failed = 1; \
        fprintf(stderr, "%s:%d: %s: message \"%s\" lacks \"%s\"\n", __FILE__, __LINE__, tu_case, \
                dump_errmsg(d), part); } } while (0)

static DumpText T(const char *s) { return (DumpText){ (const uint8_t *)s, s ? strlen(s) : 0 }; }
static const DumpText ABSENT = { NULL, 0 };

/* Same presence and bytes. */
static int text_eq(DumpText a, DumpText b)
{
    if (!a.ptr || !b.ptr) return !a.ptr && !b.ptr;
    return a.len == b.len && (a.len == 0 || !memcmp(a.ptr, b.ptr, a.len));
}

static int text_is(DumpText a, const char *s) { return s ? text_eq(a, T(s)) : !a.ptr; }

static Dump *open_dump(const char *name, unsigned flags, const DumpConfig *cfg)
{
    Dump *d = NULL;
    int rc = dump_open(tu_path(name), flags, cfg, &d);
    if (rc) {
        fprintf(stderr, "dump_open %s: %s %s\n", name, status_name(rc), dump_errmsg(d));
        exit(2);
    }
    return d;
}

static Dump *create(const char *name, int kind)
{
    DumpConfig cfg = { .kind = kind };
    return open_dump(name, DUMP_OPEN_WRITE | DUMP_OPEN_CREATE, &cfg);
}

static int put_page(Dump *d, int64_t id, int64_t ns, const char *title, uint32_t prefix)
{
    PageInfo p = { .id = id, .ns = ns, .title = T(title), .title_prefix = prefix };
    return dump_put_page(d, &p);
}

/* A revision with one main slot (text may be NULL: none). */
static int put_rev(Dump *d, int64_t id, int64_t page, const char *text, int64_t uid, const char *user)
{
    SlotInfo s = { .role = T("main"), .origin = -1, .model = T("wikitext"), .format = T("text/x-wiki"),
                   .size = text ? (int64_t)strlen(text) : -1, .text = text ? T(text) : ABSENT };
    RevisionInfo r = { .id = id, .page_id = page, .timestamp = 1000000 + id,
                       .contributor = user ? DUMP_CONTRIB_USER : DUMP_CONTRIB_NONE,
                       .user_id = user ? uid : -1, .user_text = user ? T(user) : ABSENT,
                       .nslots = 1, .slots = &s };
    return dump_put_revision(d, &r);
}

/* 1 if slot 0 of (page, rev) reads back as want (NULL: DUMP_NOTFOUND). */
static int text_of_is(Dump *d, int64_t page, int64_t rev, const char *want)
{
    const uint8_t *t;
    size_t n;
    int rc = dump_get_text(d, page, rev, 0, &t, &n);
    if (!want) return rc == DUMP_NOTFOUND;
    if (rc) {
        fprintf(stderr, "  text %" PRId64 "/%" PRId64 ": %s %s\n", page, rev, status_name(rc), dump_errmsg(d));
        return 0;
    }
    return n == strlen(want) && !memcmp(t, want, n);
}

/* Wiki-like text of about n bytes, revision k of a history: mostly the
 * same words as revision k-1, a few changed, so deltas apply. */
static char *wikitext(size_t n, uint64_t seed, int k)
{
    static const char *words[] = { "the", "PEP", "python", "of", "and", "[[link]]", "{{tmpl}}",
                                   "== Heading ==\n", "*", "import", "def", "\n", "ünïcödé", "x" };
    char *s = malloc(n + 64);
    size_t len = 0;
    uint64_t i = 0;
    while (len < n) {
        uint64_t h = (seed + i) * 0x9E3779B97F4A7C15ull;
        h ^= h >> 29;
        const char *w = words[h % 14];
        if (k > 0 && (h >> 8) % 97 < (uint64_t)k) w = words[(h >> 16) % 14];   /* the edits */
        size_t wl = strlen(w);
        memcpy(s + len, w, wl);
        len += wl;
        s[len++] = ' ';
        i++;
    }
    s[len] = 0;
    return s;
}

/* ---- open, create, config ------------------------------------------------ */

static void test_create_reopen(void)
{
    Dump *d = NULL;
    CHECK_D(d, dump_open(tu_path("none"), 0, NULL, &d), DUMP_NOTFOUND);
    CHECK(*dump_errmsg(d));
    CHECK_D(d, dump_info(d, &(DumpInfo){ 0 }), DUMP_MISUSE);   /* a failed open stays failed */
    dump_close(d);

    DumpConfig cfg = { .kind = DUMP_KIND_CURRENT, .codec = DUMP_CODEC_XZ };
    d = open_dump("cr", DUMP_OPEN_WRITE | DUMP_OPEN_CREATE, &cfg);
    DumpInfo info;
    CHECK_D(d, dump_info(d, &info), DUMP_OK);
    CHECK(info.config.kind == DUMP_KIND_CURRENT && info.config.codec == DUMP_CODEC_XZ);
    CHECK(info.config.level == 6 && info.config.max_depth == 16 && info.config.articles == 0);
    CHECK(info.pages == 0 && info.revisions == 0 && info.texts == 0 && info.dictionary_len == 0);
    CHECK(info.generation >= 1 && info.file_size > 0);
    uint8_t uuid[16];
    memcpy(uuid, info.uuid, 16);
    dump_close(d);

    /* the config given to a later open is ignored: fixed at creation */
    DumpConfig other = { .kind = DUMP_KIND_STUB };
    d = open_dump("cr", DUMP_OPEN_WRITE | DUMP_OPEN_CREATE, &other);
    CHECK_D(d, dump_info(d, &info), DUMP_OK);
    CHECK(info.config.kind == DUMP_KIND_CURRENT && info.config.codec == DUMP_CODEC_XZ);
    CHECK(!memcmp(uuid, info.uuid, 16));
    dump_close(d);
    d = open_dump("cr", 0, NULL);
    CHECK_D(d, dump_info(d, &info), DUMP_OK);
    CHECK(info.config.kind == DUMP_KIND_CURRENT && info.config.level == 6);
    CHECK_D(d, dump_begin(d), DUMP_READONLY);
    dump_close(d);

    /* defaults */
    d = open_dump("defaults", DUMP_OPEN_CREATE, NULL);
    CHECK_D(d, dump_info(d, &info), DUMP_OK);
    CHECK(info.config.kind == DUMP_KIND_HISTORY && info.config.codec == DUMP_CODEC_ZSTD);
    CHECK(info.config.level == 9 && info.config.max_depth == 16);
    dump_close(d);
}

static void test_bad_config(void)
{
    static const DumpConfig bad[] = {
        { .kind = 3 }, { .kind = -1 }, { .articles = 2 }, { .codec = 3 },
        { .codec = DUMP_CODEC_ZSTD, .level = 23 }, { .codec = DUMP_CODEC_XZ, .level = 10 },
        { .max_depth = 256 }, { .max_depth = -1 },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        Dump *d = NULL;
        CHECK_MSG(d, dump_open(tu_path("bad"), DUMP_OPEN_CREATE, &bad[i], &d), DUMP_INVALID, "config");
        dump_close(d);
    }
    Dump *d = NULL;
    CHECK_D(d, dump_open(tu_path("bad"), 0, NULL, &d), DUMP_NOTFOUND);   /* nothing was created */
    dump_close(d);
    d = NULL;
    CHECK_D(d, dump_open(tu_path("bad"), 16, NULL, &d), DUMP_INVALID);
    dump_close(d);
    DumpConfig ok = { .kind = DUMP_KIND_STUB, .articles = 1, .codec = DUMP_CODEC_XZ, .level = 9, .max_depth = 1 };
    d = open_dump("edge", DUMP_OPEN_CREATE, &ok);
    DumpInfo info;
    CHECK_D(d, dump_info(d, &info), DUMP_OK);
    CHECK(info.config.kind == DUMP_KIND_STUB && info.config.articles == 1 && info.config.level == 9
          && info.config.max_depth == 1);
    dump_close(d);
}

static void test_not_a_dump(void)
{
    /* a Store with other trees */
    Store *s = NULL;
    REQUIRE(store_open(tu_path("plain"), STORE_CREATE, &s) == DUMP_OK);
    REQUIRE(store_begin(s) == DUMP_OK);
    CHECK(store_tree_create(s, 0, STORE_KEY_INT) == DUMP_OK);
    CHECK(store_commit(s) == DUMP_OK);
    store_close(s);
    Dump *d = NULL;
    CHECK_MSG(d, dump_open(tu_path("plain"), 0, NULL, &d), DUMP_CORRUPT, "not a dump");
    dump_close(d);
    d = NULL;
    CHECK_MSG(d, dump_open(tu_path("plain"), DUMP_OPEN_CREATE, NULL, &d), DUMP_CORRUPT, "not a dump");
    dump_close(d);

    /* an empty Store: not a dump, unless created as one */
    REQUIRE(store_open(tu_path("empty"), STORE_CREATE, &s) == DUMP_OK);
    store_close(s);
    d = NULL;
    CHECK_MSG(d, dump_open(tu_path("empty"), DUMP_OPEN_WRITE, NULL, &d), DUMP_CORRUPT, "not a dump");
    dump_close(d);
    Store *holder;   /* creating needs the writer lock */
    REQUIRE(store_open(tu_path("empty"), STORE_WRITE, &holder) == DUMP_OK);
    REQUIRE(store_begin(holder) == DUMP_OK);
    d = NULL;
    CHECK_D(d, dump_open(tu_path("empty"), DUMP_OPEN_CREATE, NULL, &d), DUMP_BUSY);
    dump_close(d);
    store_close(holder);
    d = open_dump("empty", DUMP_OPEN_CREATE, NULL);
    dump_close(d);
    d = open_dump("empty", 0, NULL);
    dump_close(d);

    /* a dump whose config is gone, or of an unknown version */
    d = create("cfg", DUMP_KIND_HISTORY);
    s = dump_store(d);
    REQUIRE(store_begin(s) == DUMP_OK);
    CHECK(store_put_bytes(s, 0, (const uint8_t *)"config", 6, (const uint8_t *)"\x09\x01\x00", 3, 0) == DUMP_OK);
    CHECK(store_commit(s) == DUMP_OK);
    dump_close(d);
    d = NULL;
    CHECK_MSG(d, dump_open(tu_path("cfg"), 0, NULL, &d), DUMP_VERSION, "config");
    dump_close(d);
    REQUIRE(store_open(tu_path("cfg"), STORE_WRITE, &s) == DUMP_OK);
    REQUIRE(store_begin(s) == DUMP_OK);
    /* version 1, a field out of order */
    CHECK(store_put_bytes(s, 0, (const uint8_t *)"config", 6, (const uint8_t *)"\x01\x02\x00\x01\x00", 5, 0) == DUMP_OK);
    CHECK(store_commit(s) == DUMP_OK);
    store_close(s);
    d = NULL;
    CHECK_MSG(d, dump_open(tu_path("cfg"), 0, NULL, &d), DUMP_CORRUPT, "config");
    dump_close(d);
    REQUIRE(store_open(tu_path("cfg"), STORE_WRITE, &s) == DUMP_OK);
    REQUIRE(store_begin(s) == DUMP_OK);
    CHECK(store_del_bytes(s, 0, (const uint8_t *)"config", 6) == DUMP_OK);
    CHECK(store_commit(s) == DUMP_OK);
    store_close(s);
    d = NULL;
    CHECK_MSG(d, dump_open(tu_path("cfg"), 0, NULL, &d), DUMP_CORRUPT, "not a dump");
    dump_close(d);
}

/* ---- records through put/get ------------------------------------------------ */

static void check_page_info(const PageInfo *a, const PageInfo *b)
{
    CHECK(a->id == b->id && a->ns == b->ns && a->title_prefix == b->title_prefix);
    CHECK(text_eq(a->title, b->title));
    CHECK(text_eq(a->redirect, b->redirect));
    CHECK(text_eq(a->restrictions, b->restrictions));
    CHECK(text_eq(a->extra, b->extra));
}

static void check_revision_info(const RevisionInfo *a, const RevisionInfo *b)
{
    CHECK(a->id == b->id && a->page_id == b->page_id && a->flags == b->flags);
    CHECK(!(a->flags & DUMP_REV_HAS_PARENT) || a->parent_id == b->parent_id);
    CHECK(a->timestamp == b->timestamp && a->contributor == b->contributor && a->user_id == b->user_id);
    CHECK(text_eq(a->timestamp_text, b->timestamp_text));
    CHECK(text_eq(a->user_text, b->user_text));
    CHECK(text_eq(a->comment, b->comment));
    CHECK(text_eq(a->sha1, b->sha1));
    CHECK(text_eq(a->extra, b->extra));
    REQUIRE(a->nslots == b->nslots);
    for (uint32_t i = 0; i < a->nslots; i++) {
        const SlotInfo *x = &a->slots[i], *y = &b->slots[i];
        CHECK(text_eq(x->role, y->role));
        CHECK(x->origin == y->origin && x->size == y->size && x->flags == y->flags);
        CHECK(text_eq(x->model, y->model) && text_eq(x->format, y->format));
        CHECK(text_eq(x->sha1, y->sha1));
        CHECK(text_eq(x->location, y->location) && text_eq(x->text_id, y->text_id));
        CHECK(!x->text.ptr);   /* reading: texts come through *_get_text */
    }
}

static void test_fields(void)
{
    Dump *d = create("fields", DUMP_KIND_HISTORY);
    CHECK_D(d, dump_begin(d), DUMP_OK);
    PageInfo p1 = { .id = 7, .ns = 1, .title = T("Talk:Main Page"), .title_prefix = 5,
                    .redirect = T(""), .restrictions = T("edit=sysop:move=sysop"), .extra = T("<x/>") };
    PageInfo p2 = { .id = 8, .ns = 0, .title = T("Plain"), .redirect = T("Target"), .restrictions = ABSENT };
    CHECK_D(d, dump_put_page(d, &p1), DUMP_OK);
    CHECK_D(d, dump_put_page(d, &p2), DUMP_OK);

    size_t big = 100000;
    char *comment = malloc(big + 1);
    for (size_t i = 0; i < big; i++) comment[i] = (char)('a' + i % 26);
    comment[big] = 0;
    SlotInfo slots[3] = {
        { .role = T("main"), .origin = 70, .model = T("wikitext"), .format = T("text/x-wiki"),
          .sha1 = T("phoiac9h4m842xq45sp7s6u21eteeq1"), .size = 11, .text = T("Hello world") },
        { .role = T("mediainfo"), .origin = 69, .model = T("wikibase-mediainfo"), .format = T("application/json"),
          .sha1 = T("not-base36!"), .size = 2, .text = T("{}") },
        { .role = T("extra"), .origin = -1, .model = ABSENT, .format = ABSENT, .sha1 = ABSENT, .size = -1,
          .flags = DUMP_SLOT_DELETED, .location = T("tt:123"), .text_id = T("123") },
    };
    RevisionInfo revs[] = {
        { .id = 70, .page_id = 7, .parent_id = 69, .timestamp = 1700000000,
          .flags = DUMP_REV_MINOR | DUMP_REV_HAS_PARENT, .contributor = DUMP_CONTRIB_USER, .user_id = 42,
          .user_text = T("Ëxample User"), .comment = T(comment), .sha1 = T("phoiac9h4m842xq45sp7s6u21eteeq1"),
          .extra = T("<future>1</future>"), .nslots = 3, .slots = slots },
        { .id = 71, .page_id = 7, .timestamp = -86400, .timestamp_text = T("1969-12-31T00:00:00.000Z"),
          .contributor = DUMP_CONTRIB_IP, .user_id = -1, .user_text = T("192.0.2.1"), .comment = T(""),
          .sha1 = T(""), .nslots = 0 },
        { .id = 72, .page_id = 7, .parent_id = 0, .timestamp = 0,
          .flags = DUMP_REV_HAS_PARENT | DUMP_REV_COMMENT_DELETED | DUMP_REV_USER_DELETED | DUMP_REV_TEXT_DELETED
                   | DUMP_REV_SUPPRESSED,
          .contributor = DUMP_CONTRIB_DELETED, .user_id = -1, .nslots = 1, .slots = &slots[2] },
        { .id = 80, .page_id = 8, .timestamp = 5, .contributor = DUMP_CONTRIB_USER, .user_id = -1,
          .user_text = T("NoId"), .nslots = 1, .slots = slots },
    };
    size_t nrevs = sizeof revs / sizeof revs[0];
    for (size_t i = 0; i < nrevs; i++) CHECK_D(d, dump_put_revision(d, &revs[i]), DUMP_OK);

    /* what reading gives: HAS_TEXT exactly on slots with a text */
    SlotInfo want_slots[3];
    memcpy(want_slots, slots, sizeof slots);
    want_slots[0].flags |= DUMP_SLOT_HAS_TEXT;
    want_slots[1].flags |= DUMP_SLOT_HAS_TEXT;
    RevisionInfo want[4];
    memcpy(want, revs, sizeof revs);
    want[0].slots = want_slots;
    want[2].slots = &want_slots[2];
    want[3].slots = want_slots;

    for (int pass = 0; pass < 2; pass++) {   /* in the transaction, then after commit and reopen */
        Page *pg;
        CHECK_D(d, dump_get_page_by_id(d, 7, &pg), DUMP_OK);
        if (pg) check_page_info(page_info(pg), &p1);
        page_free(pg);
        CHECK_D(d, dump_get_page_by_id(d, 8, &pg), DUMP_OK);
        if (pg) check_page_info(page_info(pg), &p2);
        page_free(pg);
        for (size_t i = 0; i < nrevs; i++) {
            Revision *r;
            CHECK_D(d, dump_get_revision_by_id(d, revs[i].id, &r), DUMP_OK);
            if (!r) continue;
            check_revision_info(revision_info(r), &want[i]);
            revision_free(r);
        }
        Revision *r;
        CHECK_D(d, dump_get_revision_by_id(d, 70, &r), DUMP_OK);
        REQUIRE(r);
        const uint8_t *t;
        size_t n;
        CHECK_D(d, revision_get_text(r, 0, &t, &n), DUMP_OK);
        CHECK(n == 11 && !memcmp(t, "Hello world", 11));
        CHECK_D(d, revision_get_text(r, 1, &t, &n), DUMP_OK);
        CHECK(n == 2 && !memcmp(t, "{}", 2));
        CHECK_MSG(d, revision_get_text(r, 2, &t, &n), DUMP_NOTFOUND, "revision 70");
        CHECK_MSG(d, revision_get_text(r, 3, &t, &n), DUMP_NOTFOUND, "revision 70");
        CHECK_D(d, dump_get_text(d, 7, 70, 1, &t, &n), DUMP_OK);
        CHECK(n == 2 && !memcmp(t, "{}", 2));
        CHECK_D(d, dump_get_text(d, 7, 70, 2, &t, &n), DUMP_NOTFOUND);
        CHECK_D(d, dump_get_text(d, 7, 72, 0, &t, &n), DUMP_NOTFOUND);
        /* the object outlives other calls, a commit and the other lookups */
        Revision *other;
        CHECK_D(d, dump_get_revision_by_id(d, 80, &other), DUMP_OK);
        revision_free(other);
        if (pass == 0) CHECK_D(d, dump_commit(d), DUMP_OK);
        check_revision_info(revision_info(r), &want[0]);
        revision_free(r);
        if (pass == 0) {
            dump_close(d);
            d = open_dump("fields", 0, NULL);
        }
    }
    CHECK_D(d, dump_get_revision_by_id(d, 73, &(Revision *){ NULL }), DUMP_NOTFOUND);
    CHECK_D(d, dump_get_page_by_id(d, 9, &(Page *){ NULL }), DUMP_NOTFOUND);
    DumpCheck ck;
    CHECK_D(d, dump_check(d, &ck), DUMP_OK);
    CHECK(ck.pages == 2 && ck.revisions == 4 && ck.texts == 3);
    CHECK(ck.text_bytes > 0);
    free(comment);
    dump_close(d);
}

static void test_siteinfo(void)
{
    Dump *d = create("site", DUMP_KIND_HISTORY);
    DumpSiteInfo si;
    CHECK_D(d, dump_get_siteinfo(d, &si), DUMP_NOTFOUND);
    DumpNamespace ns[] = { { -2, T("Media"), T("first-letter") }, { 0, T(""), T("first-letter") },
                           { 1, T("Talk"), T("case-sensitive") } };
    DumpSiteInfo in = { .sitename = T("Wikipedia"), .dbname = T("enwiki"), .base = T("https://en.wikipedia.org/"),
                        .generator = T("MediaWiki 1.39"), .casing = T("first-letter"), .lang = T("en"),
                        .schema = T("0.11"), .extra = ABSENT, .nnamespaces = 3, .namespaces = ns };
    CHECK_D(d, dump_put_siteinfo(d, &in), DUMP_MISUSE);
    CHECK_D(d, dump_begin(d), DUMP_OK);
    CHECK_D(d, dump_put_siteinfo(d, &in), DUMP_OK);
    CHECK_D(d, dump_commit(d), DUMP_OK);
    dump_close(d);
    d = open_dump("site", 0, NULL);
    CHECK_D(d, dump_get_siteinfo(d, &si), DUMP_OK);
    CHECK(text_is(si.sitename, "Wikipedia") && text_is(si.dbname, "enwiki") && text_is(si.lang, "en"));
    CHECK(text_is(si.schema, "0.11") && text_is(si.generator, "MediaWiki 1.39") && !si.extra.ptr);
    CHECK(si.nnamespaces == 3);
    for (uint32_t i = 0; i < si.nnamespaces && i < 3; i++)
        CHECK(si.namespaces[i].key == ns[i].key && text_eq(si.namespaces[i].name, ns[i].name)
              && text_eq(si.namespaces[i].casing, ns[i].casing));
    dump_close(d);
}

/* ---- titles and moves ----------------------------------------------------------- */

static int title_is(Dump *d, int64_t ns, const char *name, int64_t want_id)
{
    Page *p = NULL;
    int rc = dump_get_page_by_title(d, ns, (const uint8_t *)name, strlen(name), &p);
    int ok = want_id < 0 ? rc == DUMP_NOTFOUND && !p : rc == DUMP_OK && p && page_info(p)->id == want_id;
    page_free(p);
    return ok;
}

static void test_titles(void)
{
    Dump *d = create("titles", DUMP_KIND_HISTORY);
    CHECK_D(d, dump_begin(d), DUMP_OK);
    CHECK_D(d, put_page(d, 1, 0, "Foo", 0), DUMP_OK);
    CHECK_D(d, put_page(d, 2, 1, "Talk:Foo", 5), DUMP_OK);
    CHECK_D(d, put_page(d, 3, 4, "Project:Foo", 8), DUMP_OK);
    CHECK_D(d, put_page(d, 4, -1, "Special:Foo", 8), DUMP_OK);
    CHECK_D(d, put_page(d, 5, 0, "", 0), DUMP_OK);   /* empty name: still a key */
    CHECK(title_is(d, 0, "Foo", 1) && title_is(d, 1, "Foo", 2) && title_is(d, 4, "Foo", 3));
    CHECK(title_is(d, -1, "Foo", 4) && title_is(d, 0, "", 5));
    CHECK(title_is(d, 1, "Talk:Foo", -1) && title_is(d, 0, "foo", -1) && title_is(d, 2, "Foo", -1));
    CHECK_MSG(d, dump_get_page_by_title(d, 0, (const uint8_t *)"Bar", 3, &(Page *){ NULL }), DUMP_NOTFOUND, "Bar");
    CHECK_D(d, dump_get_page_by_title(d, (int64_t)1 << 40, (const uint8_t *)"Foo", 3, &(Page *){ NULL }),
            DUMP_NOTFOUND);
    /* bad pages */
    PageInfo bad = { .id = 9, .ns = 0, .title = ABSENT };
    CHECK_MSG(d, dump_put_page(d, &bad), DUMP_INVALID, "page 9");
    bad.title = T("Ab");
    bad.title_prefix = 3;
    CHECK_MSG(d, dump_put_page(d, &bad), DUMP_INVALID, "page 9");
    bad.title_prefix = 0;
    bad.ns = (int64_t)1 << 33;
    CHECK_D(d, dump_put_page(d, &bad), DUMP_INVALID);
    bad.ns = 0;
    bad.id = -1;
    CHECK_D(d, dump_put_page(d, &bad), DUMP_INVALID);
    CHECK_D(d, dump_commit(d), DUMP_OK);   /* refusals did not break the transaction */
    DumpCheck ck;
    CHECK_D(d, dump_check(d, &ck), DUMP_OK);
    CHECK(ck.pages == 5);
    dump_close(d);
}

static void test_moves(void)
{
    Dump *d = create("moves", DUMP_KIND_HISTORY);
    CHECK_D(d, dump_begin(d), DUMP_OK);
    CHECK_D(d, put_page(d, 1, 0, "Old", 0), DUMP_OK);
    CHECK_D(d, put_page(d, 2, 0, "Other", 0), DUMP_OK);
    CHECK_D(d, put_rev(d, 10, 1, "text of one", 3, "Mover"), DUMP_OK);
    CHECK_D(d, dump_commit(d), DUMP_OK);

    CHECK_D(d, dump_begin(d), DUMP_OK);
    CHECK_D(d, put_page(d, 1, 0, "New", 0), DUMP_OK);              /* rename */
    CHECK(title_is(d, 0, "Old", -1) && title_is(d, 0, "New", 1));
    CHECK_D(d, put_page(d, 1, 1, "Talk:New", 5), DUMP_OK);         /* to another namespace */
    CHECK(title_is(d, 0, "New", -1) && title_is(d, 1, "New", 1));
    CHECK_MSG(d, put_page(d, 1, 0, "Other", 0), DUMP_EXISTS, "page 2");   /* taken */
    CHECK(title_is(d, 1, "New", 1) && title_is(d, 0, "Other", 2));
    CHECK_D(d, put_page(d, 2, 0, "Old", 0), DUMP_OK);              /* a freed title is reusable */
    CHECK_D(d, put_page(d, 1, 0, "Other", 0), DUMP_OK);
    CHECK_D(d, put_page(d, 1, 0, "Other", 0), DUMP_OK);            /* unchanged */
    PageInfo redirected = { .id = 1, .ns = 0, .title = T("Other"), .redirect = T("Old") };
    CHECK_D(d, dump_put_page(d, &redirected), DUMP_OK);             /* same title, new record */
    CHECK_D(d, dump_commit(d), DUMP_OK);
    CHECK(title_is(d, 0, "Other", 1) && title_is(d, 0, "Old", 2) && title_is(d, 1, "New", -1));
    Page *p;
    CHECK_D(d, dump_get_page_by_id(d, 1, &p), DUMP_OK);
    if (p) CHECK(text_is(page_info(p)->redirect, "Old"));
    page_free(p);
    CHECK(text_of_is(d, 1, 10, "text of one"));   /* revisions stay with the page */
    DumpCheck ck;
    CHECK_D(d, dump_check(d, &ck), DUMP_OK);
    CHECK(ck.pages == 2 && ck.revisions == 1);
    dump_close(d);
}

/* ---- cursors ------------------------------------------------------------------- */

static void test_cursors(void)
{
    Dump *d = create("cursors", DUMP_KIND_HISTORY);
    CHECK_D(d, dump_begin(d), DUMP_OK);
    /* 40 pages, ids 3, 6, ..., 120; namespace id % 2; titles in another order */
    for (int i = 1; i <= 40; i++) {
        char title[32];
        int ns = i % 2;
        snprintf(title, sizeof title, "%sT%02d", ns ? "Talk:" : "", (i * 17) % 41);
        CHECK_D(d, put_page(d, 3 * i, ns, title, ns ? 5 : 0), DUMP_OK);
    }
    /* revisions of page 30 put out of order */
    int64_t ids[] = { 500, 100, 900, 300, 700 };
    for (int i = 0; i < 5; i++) {
        char text[64];
        snprintf(text, sizeof text, "text of %" PRId64, ids[i]);
        CHECK_D(d, put_rev(d, ids[i], 30, text, 1, "U"), DUMP_OK);
    }
    CHECK_D(d, put_rev(d, 50, 27, "page 27", 1, "U"), DUMP_OK);
    CHECK_D(d, put_rev(d, 60, 33, "page 33", 1, "U"), DUMP_OK);
    CHECK_D(d, dump_commit(d), DUMP_OK);

    /* id range [30, 60) */
    PageCursor *pc;
    const PageInfo *pi;
    CHECK_D(d, dump_pages(d, DUMP_PAGES_BY_ID, 30, 60, &pc), DUMP_OK);
    int64_t expect = 30;
    int count = 0;
    while (page_cursor_next(pc, &pi) == DUMP_OK) {
        CHECK(pi->id == expect);
        expect += 3;
        count++;
    }
    CHECK(count == 10);
    CHECK_D(d, page_cursor_next(pc, &pi), DUMP_NOTFOUND);   /* stays at the end */
    page_cursor_close(pc);
    /* everything, and an empty range */
    CHECK_D(d, dump_pages(d, DUMP_PAGES_BY_ID, INT64_MIN, 0, &pc), DUMP_OK);
    for (count = 0; page_cursor_next(pc, &pi) == DUMP_OK; count++) {}
    CHECK(count == 40);
    page_cursor_close(pc);
    CHECK_D(d, dump_pages(d, DUMP_PAGES_BY_ID, 121, 0, &pc), DUMP_OK);
    CHECK_D(d, page_cursor_next(pc, &pi), DUMP_NOTFOUND);
    page_cursor_close(pc);
    CHECK_D(d, dump_pages(d, 7, 0, 0, &pc), DUMP_INVALID);

    /* by title within one namespace: names in bytewise order */
    for (int ns = 0; ns < 2; ns++) {
        CHECK_D(d, dump_pages(d, DUMP_PAGES_BY_TITLE, ns, 0, &pc), DUMP_OK);
        char last[64] = "";
        for (count = 0; page_cursor_next(pc, &pi) == DUMP_OK; count++) {
            char name[64];
            snprintf(name, sizeof name, "%.*s", (int)(pi->title.len - pi->title_prefix),
                     (const char *)pi->title.ptr + pi->title_prefix);
            CHECK(pi->ns == ns && strcmp(last, name) < 0);
            snprintf(last, sizeof last, "%s", name);
        }
        CHECK(count == 20);
        page_cursor_close(pc);
    }
    CHECK_D(d, dump_pages(d, DUMP_PAGES_BY_TITLE, 2, 0, &pc), DUMP_OK);
    CHECK_D(d, page_cursor_next(pc, &pi), DUMP_NOTFOUND);
    page_cursor_close(pc);

    /* a page's revisions in id order */
    RevisionCursor *rc;
    const RevisionInfo *ri;
    CHECK_D(d, dump_revisions(d, 30, &rc), DUMP_OK);
    int64_t sorted[] = { 100, 300, 500, 700, 900 };
    for (count = 0; revision_cursor_next(rc, &ri) == DUMP_OK; count++) {
        CHECK(count < 5 && ri->id == sorted[count] && ri->page_id == 30);
        CHECK(text_is(ri->user_text, "U"));
    }
    CHECK(count == 5);
    revision_cursor_close(rc);
    CHECK_D(d, dump_revisions(d, 31, &rc), DUMP_NOTFOUND);
    CHECK_D(d, dump_revisions(d, 3, &rc), DUMP_OK);   /* a page without revisions */
    CHECK_D(d, revision_cursor_next(rc, &ri), DUMP_NOTFOUND);
    revision_cursor_close(rc);

    /* the full-scan pattern: page cursor -> revision cursor -> texts, with
     * lookups in between; every borrowed result stays right until its step */
    CHECK_D(d, dump_pages(d, DUMP_PAGES_BY_ID, 0, 0, &pc), DUMP_OK);
    int revs = 0;
    while (page_cursor_next(pc, &pi) == DUMP_OK) {
        int64_t pid = pi->id;
        CHECK_D(d, dump_revisions(d, pid, &rc), DUMP_OK);
        while (revision_cursor_next(rc, &ri) == DUMP_OK) {
            const uint8_t *t;
            size_t n;
            char want[64];
            if (pid == 30) snprintf(want, sizeof want, "text of %" PRId64, ri->id);
            else snprintf(want, sizeof want, "page %" PRId64, pid);
            CHECK_D(d, revision_cursor_text(rc, 0, &t, &n), DUMP_OK);
            CHECK(n == strlen(want) && !memcmp(t, want, n));
            Revision *r;
            CHECK_D(d, dump_get_revision_by_id(d, 50, &r), DUMP_OK);   /* another page's */
            revision_free(r);
            Page *other;
            CHECK_D(d, dump_get_page_by_id(d, 120, &other), DUMP_OK);
            page_free(other);
            CHECK(text_of_is(d, 33, 60, "page 33"));
            CHECK(ri->page_id == pid && text_is(ri->user_text, "U"));
            CHECK(pi->id == pid);
            revs++;
        }
        revision_cursor_close(rc);
    }
    CHECK(revs == 7);
    page_cursor_close(pc);

    /* a cursor keeps going while the same handle writes */
    CHECK_D(d, dump_begin(d), DUMP_OK);
    CHECK_D(d, dump_pages(d, DUMP_PAGES_BY_ID, 0, 0, &pc), DUMP_OK);
    CHECK_D(d, page_cursor_next(pc, &pi), DUMP_OK);
    CHECK(pi->id == 3);
    CHECK_D(d, put_page(d, 4, 0, "Inserted", 0), DUMP_OK);
    CHECK_D(d, dump_delete_page(d, 6), DUMP_OK);
    CHECK_D(d, page_cursor_next(pc, &pi), DUMP_OK);
    CHECK(pi->id == 4);
    CHECK_D(d, page_cursor_next(pc, &pi), DUMP_OK);
    CHECK(pi->id == 9);
    page_cursor_close(pc);
    CHECK_D(d, dump_abort(d), DUMP_OK);
    dump_close(d);
}

/* ---- deletes and replaces ----------------------------------------------------------- */

static void test_delete(void)
{
    Dump *d = create("delete", DUMP_KIND_HISTORY);
    enum { N = 12 };
    char *texts[N + 1];
    CHECK_D(d, dump_begin(d), DUMP_OK);
    CHECK_D(d, put_page(d, 1, 0, "History", 0), DUMP_OK);
    CHECK_D(d, put_page(d, 2, 0, "Neighbour", 0), DUMP_OK);
    for (int k = 1; k <= N; k++) {
        /* revision 7 reverts to 5: an Equal text */
        texts[k] = wikitext(6000 + 50 * (size_t)k, 1, k == 7 ? 5 : k);
        CHECK_D(d, put_rev(d, k, 1, texts[k], 10 + k % 3, k % 3 ? "A" : "B"), DUMP_OK);
    }
    CHECK_D(d, put_rev(d, 100, 2, "neighbour text", 5, "C"), DUMP_OK);
    CHECK_D(d, dump_commit(d), DUMP_OK);
    for (int k = 1; k <= N; k++) CHECK(text_of_is(d, 1, k, texts[k]));

    /* delete revisions others are likely to depend on */
    CHECK_D(d, dump_begin(d), DUMP_OK);
    CHECK_D(d, dump_delete_revision(d, 1), DUMP_OK);
    CHECK_D(d, dump_delete_revision(d, 5), DUMP_OK);
    CHECK_MSG(d, dump_delete_revision(d, 5), DUMP_NOTFOUND, "revision 5");
    CHECK_D(d, dump_commit(d), DUMP_OK);
    for (int k = 1; k <= N; k++) CHECK(text_of_is(d, 1, k, k == 1 || k == 5 ? NULL : texts[k]));
    CHECK_D(d, dump_get_revision_by_id(d, 5, &(Revision *){ NULL }), DUMP_NOTFOUND);
    const uint8_t *t;
    size_t n;
    CHECK_D(d, dump_get_text(d, 1, 6, 256, &t, &n), DUMP_NOTFOUND);   /* slot numbers do not wrap */
    /* an object outlives its revision: its text is then not found, no corruption */
    Revision *stale;
    CHECK_D(d, dump_get_revision_by_id(d, 6, &stale), DUMP_OK);
    CHECK_D(d, dump_begin(d), DUMP_OK);
    CHECK_D(d, dump_delete_revision(d, 6), DUMP_OK);
    if (stale) CHECK_MSG(d, revision_get_text(stale, 0, &t, &n), DUMP_NOTFOUND, "revision 6");
    CHECK_D(d, dump_abort(d), DUMP_OK);
    if (stale) {
        CHECK_D(d, revision_get_text(stale, 0, &t, &n), DUMP_OK);
        CHECK(n == strlen(texts[6]) && !memcmp(t, texts[6], n));
    }
    revision_free(stale);
    DumpCheck ck;
    CHECK_D(d, dump_check(d, &ck), DUMP_OK);
    CHECK(ck.pages == 2 && ck.revisions == N - 1 && ck.texts == N - 1);

    /* replacing a revision: new text, and fewer slots */
    CHECK_D(d, dump_begin(d), DUMP_OK);
    CHECK_D(d, put_rev(d, 3, 1, "replaced", 10, "A"), DUMP_OK);
    CHECK_D(d, put_rev(d, 4, 1, NULL, 10, "A"), DUMP_OK);   /* text gone */
    CHECK_MSG(d, put_rev(d, 100, 1, "x", 1, "A"), DUMP_INVALID, "revision 100");   /* page 2's */
    CHECK_MSG(d, put_rev(d, 200, 99, "x", 1, "A"), DUMP_NOTFOUND, "revision 200: page 99 not found");
    CHECK_D(d, dump_commit(d), DUMP_OK);
    CHECK(text_of_is(d, 1, 3, "replaced") && text_of_is(d, 1, 4, NULL));
    for (int k = 6; k <= N; k++) CHECK(text_of_is(d, 1, k, texts[k]));
    Revision *r;
    CHECK_D(d, dump_get_revision_by_id(d, 4, &r), DUMP_OK);
    if (r) {
        const uint8_t *t;
        size_t n;
        CHECK(!(revision_info(r)->slots[0].flags & DUMP_SLOT_HAS_TEXT));
        CHECK_D(d, revision_get_text(r, 0, &t, &n), DUMP_NOTFOUND);
    }
    revision_free(r);
    CHECK_D(d, dump_check(d, &ck), DUMP_OK);
    CHECK(ck.texts == N - 2);

    /* delete the page: everything of it goes, the neighbour stays */
    CHECK_D(d, dump_begin(d), DUMP_OK);
    CHECK_D(d, dump_delete_page(d, 1), DUMP_OK);
    CHECK_D(d, dump_delete_page(d, 1), DUMP_NOTFOUND);
    CHECK_D(d, dump_commit(d), DUMP_OK);
    CHECK(title_is(d, 0, "History", -1) && title_is(d, 0, "Neighbour", 2));
    for (int k = 1; k <= N; k++) {
        CHECK_D(d, dump_get_revision_by_id(d, k, &(Revision *){ NULL }), DUMP_NOTFOUND);
        CHECK(text_of_is(d, 1, k, NULL));
    }
    CHECK(text_of_is(d, 2, 100, "neighbour text"));
    DumpInfo info;
    CHECK_D(d, dump_info(d, &info), DUMP_OK);
    CHECK(info.pages == 1 && info.revisions == 1 && info.texts == 1);
    CHECK_D(d, dump_check(d, &ck), DUMP_OK);
    CHECK(ck.pages == 1 && ck.revisions == 1 && ck.texts == 1);
    for (int k = 1; k <= N; k++) free(texts[k]);
    dump_close(d);
}

/* ---- kinds -------------------------------------------------------------------------- */

static void test_current(void)
{
    Dump *d = create("current", DUMP_KIND_CURRENT);
    CHECK_D(d, dump_begin(d), DUMP_OK);
    CHECK_D(d, put_page(d, 1, 0, "P", 0), DUMP_OK);
    CHECK_D(d, put_rev(d, 5, 1, "five", 1, "A"), DUMP_OK);
    CHECK_D(d, put_rev(d, 3, 1, "three", 1, "A"), DUMP_OK);   /* older: not stored */
    CHECK_D(d, dump_get_revision_by_id(d, 3, &(Revision *){ NULL }), DUMP_NOTFOUND);
    CHECK(text_of_is(d, 1, 5, "five"));
    CHECK_D(d, put_rev(d, 8, 1, "eight", 1, "A"), DUMP_OK);   /* newer: replaces 5 */
    CHECK_D(d, put_rev(d, 8, 1, "eight again", 1, "A"), DUMP_OK);
    CHECK_D(d, dump_commit(d), DUMP_OK);
    CHECK_D(d, dump_get_revision_by_id(d, 5, &(Revision *){ NULL }), DUMP_NOTFOUND);
    CHECK(text_of_is(d, 1, 5, NULL) && text_of_is(d, 1, 8, "eight again"));
    DumpInfo info;
    CHECK_D(d, dump_info(d, &info), DUMP_OK);
    CHECK(info.revisions == 1 && info.texts == 1);
    DumpCheck ck;
    CHECK_D(d, dump_check(d, &ck), DUMP_OK);
    CHECK(ck.revisions == 1);
    dump_close(d);
}

static void test_stub(void)
{
    Dump *d = create("stub", DUMP_KIND_STUB);
    CHECK_D(d, dump_begin(d), DUMP_OK);
    CHECK_D(d, put_page(d, 1, 0, "P", 0), DUMP_OK);
    CHECK_D(d, put_rev(d, 1, 1, "some text", 1, "A"), DUMP_OK);
    CHECK_D(d, put_rev(d, 2, 1, "more text", 1, "A"), DUMP_OK);
    CHECK_D(d, dump_commit(d), DUMP_OK);
    Revision *r;
    CHECK_D(d, dump_get_revision_by_id(d, 2, &r), DUMP_OK);
    REQUIRE(r);
    const RevisionInfo *ri = revision_info(r);
    CHECK(ri->nslots == 1 && ri->slots[0].size == 9 && !(ri->slots[0].flags & DUMP_SLOT_HAS_TEXT));
    const uint8_t *t;
    size_t n;
    CHECK_D(d, revision_get_text(r, 0, &t, &n), DUMP_NOTFOUND);
    revision_free(r);
    DumpInfo info;
    CHECK_D(d, dump_info(d, &info), DUMP_OK);
    CHECK(info.revisions == 2 && info.texts == 0);
    DumpCheck ck;
    CHECK_D(d, dump_check(d, &ck), DUMP_OK);
    CHECK(ck.revisions == 2 && ck.texts == 0);
    dump_close(d);
}

static void test_articles(void)
{
    CHECK(dump_is_article(0) && dump_is_article(4) && dump_is_article(6) && dump_is_article(14));
    CHECK(!dump_is_article(1) && !dump_is_article(2) && !dump_is_article(3) && !dump_is_article(-1)
          && !dump_is_article(-2));
    DumpConfig cfg = { .articles = 1 };
    Dump *d = open_dump("articles", DUMP_OPEN_CREATE, &cfg);
    CHECK_D(d, dump_begin(d), DUMP_OK);
    CHECK_D(d, put_page(d, 1, 0, "Article", 0), DUMP_OK);
    CHECK_D(d, put_page(d, 2, 4, "Project:Page", 8), DUMP_OK);
    CHECK_MSG(d, put_page(d, 3, 1, "Talk:Article", 5), DUMP_INVALID, "page 3");
    CHECK_MSG(d, put_page(d, 4, 2, "User:X", 5), DUMP_INVALID, "namespace 2");
    CHECK_D(d, put_page(d, 1, 3, "User talk:Article", 10), DUMP_INVALID);   /* a move out is refused too */
    CHECK_D(d, dump_commit(d), DUMP_OK);
    CHECK(title_is(d, 0, "Article", 1));
    DumpInfo info;
    CHECK_D(d, dump_info(d, &info), DUMP_OK);
    CHECK(info.pages == 2);
    dump_close(d);
}

/* ---- transactions ------------------------------------------------------------------- */

static void test_abort(void)
{
    Dump *d = create("abort", DUMP_KIND_HISTORY);
    CHECK_D(d, dump_begin(d), DUMP_OK);
    CHECK_D(d, put_page(d, 1, 0, "Kept", 0), DUMP_OK);
    CHECK_D(d, put_rev(d, 1, 1, "kept", 1, "Kept user"), DUMP_OK);
    CHECK_D(d, dump_commit(d), DUMP_OK);
    DumpInfo before, after;
    CHECK_D(d, dump_info(d, &before), DUMP_OK);

    /* an aborted transaction interns new strings, then they are gone */
    CHECK_D(d, dump_begin(d), DUMP_OK);
    CHECK_D(d, put_page(d, 2, 0, "Gone", 0), DUMP_OK);
    CHECK_D(d, put_page(d, 1, 0, "Renamed", 0), DUMP_OK);
    CHECK_D(d, put_rev(d, 2, 2, "gone", 2, "Aborted user"), DUMP_OK);
    CHECK_D(d, dump_delete_revision(d, 1), DUMP_OK);
    CHECK_D(d, dump_abort(d), DUMP_OK);
    CHECK_D(d, dump_abort(d), DUMP_MISUSE);
    CHECK_D(d, dump_info(d, &after), DUMP_OK);
    CHECK(after.pages == before.pages && after.revisions == before.revisions && after.texts == before.texts);
    CHECK_D(d, dump_get_page_by_id(d, 2, &(Page *){ NULL }), DUMP_NOTFOUND);
    CHECK(title_is(d, 0, "Kept", 1) && title_is(d, 0, "Renamed", -1));
    CHECK(text_of_is(d, 1, 1, "kept") && text_of_is(d, 2, 2, NULL));

    /* the next transaction reuses the aborted ids for other strings: a
     * stale cache would show the aborted names */
    CHECK_D(d, dump_begin(d), DUMP_OK);
    SlotInfo s = { .role = T("other-role"), .origin = -1, .model = T("other-model"), .format = T("other/format"),
                   .size = -1, .text = T("new") };
    RevisionInfo r = { .id = 3, .page_id = 1, .contributor = DUMP_CONTRIB_IP, .user_id = -1,
                       .user_text = T("203.0.113.9"), .nslots = 1, .slots = &s };
    CHECK_D(d, dump_put_revision(d, &r), DUMP_OK);
    CHECK_D(d, dump_commit(d), DUMP_OK);
    dump_close(d);
    for (int pass = 0; pass < 2; pass++) {
        d = open_dump("abort", 0, NULL);
        Revision *got;
        if (pass) {   /* fill the cache from disk first */
            CHECK_D(d, dump_get_revision_by_id(d, 1, &got), DUMP_OK);
            revision_free(got);
        }
        CHECK_D(d, dump_get_revision_by_id(d, 3, &got), DUMP_OK);
        if (got) {
            const RevisionInfo *ri = revision_info(got);
            CHECK(text_is(ri->user_text, "203.0.113.9") && text_is(ri->slots[0].role, "other-role"));
            CHECK(text_is(ri->slots[0].model, "other-model") && text_is(ri->slots[0].format, "other/format"));
        }
        revision_free(got);
        DumpCheck ck1;
        CHECK_D(d, dump_check(d, &ck1), DUMP_OK);
        dump_close(d);
    }

    /* the same in one handle that stays open: abort, then reuse the ids */
    d = open_dump("abort", DUMP_OPEN_WRITE, NULL);
    CHECK_D(d, dump_begin(d), DUMP_OK);
    CHECK_D(d, put_rev(d, 4, 1, "four", 7, "Never committed"), DUMP_OK);
    CHECK_D(d, dump_abort(d), DUMP_OK);
    CHECK_D(d, dump_begin(d), DUMP_OK);
    CHECK_D(d, put_rev(d, 4, 1, "four", 8, "Committed name"), DUMP_OK);   /* takes the aborted id */
    CHECK_D(d, put_rev(d, 5, 1, "five", 7, "Never committed"), DUMP_OK);  /* so this needs a new one */
    CHECK_D(d, dump_commit(d), DUMP_OK);
    Revision *got;
    CHECK_D(d, dump_get_revision_by_id(d, 4, &got), DUMP_OK);
    if (got) CHECK(text_is(revision_info(got)->user_text, "Committed name") && revision_info(got)->user_id == 8);
    revision_free(got);
    CHECK_D(d, dump_get_revision_by_id(d, 5, &got), DUMP_OK);
    if (got) CHECK(text_is(revision_info(got)->user_text, "Never committed"));
    revision_free(got);
    DumpCheck ck;
    CHECK_D(d, dump_check(d, &ck), DUMP_OK);
    /* writes outside a transaction */
    CHECK_MSG(d, put_page(d, 5, 0, "No txn", 0), DUMP_MISUSE, "transaction");
    CHECK_D(d, put_rev(d, 5, 1, "x", 1, "A"), DUMP_MISUSE);
    CHECK_D(d, dump_delete_page(d, 1), DUMP_MISUSE);
    CHECK_D(d, dump_delete_revision(d, 1), DUMP_MISUSE);
    CHECK_D(d, dump_commit(d), DUMP_MISUSE);
    CHECK_D(d, dump_begin(d), DUMP_OK);
    CHECK_D(d, dump_begin(d), DUMP_MISUSE);
    CHECK_D(d, dump_refresh(d), DUMP_MISUSE);
    CHECK_D(d, dump_abort(d), DUMP_OK);
    dump_close(d);

    /* closing with an open transaction aborts it */
    d = open_dump("abort", DUMP_OPEN_WRITE, NULL);
    CHECK_D(d, dump_begin(d), DUMP_OK);
    CHECK_D(d, put_page(d, 9, 0, "Closed", 0), DUMP_OK);
    dump_close(d);
    d = open_dump("abort", 0, NULL);
    CHECK(title_is(d, 0, "Closed", -1));
    dump_close(d);
}

static void test_users(void)
{
    Dump *d = create("users", DUMP_KIND_HISTORY);
    CHECK_D(d, dump_begin(d), DUMP_OK);
    CHECK_D(d, put_page(d, 1, 0, "P", 0), DUMP_OK);
    CHECK_D(d, put_rev(d, 1, 1, "a", 5, "Alice"), DUMP_OK);
    CHECK_D(d, put_rev(d, 2, 1, "b", 6, "Bob"), DUMP_OK);
    CHECK_D(d, put_rev(d, 3, 1, "c", 5, "Alice2"), DUMP_OK);   /* renamed: the latest name wins */
    CHECK_D(d, put_rev(d, 4, 1, "d", 0, "Zero"), DUMP_OK);      /* user id 0: not a registered user */
    CHECK_D(d, dump_commit(d), DUMP_OK);
    Store *s = dump_store(d);
    const uint8_t *v;
    size_t n;
    CHECK(store_get_int(s, 8, 5, &v, &n) == DUMP_OK && n == 6 && !memcmp(v, "Alice2", 6));
    CHECK(store_get_int(s, 8, 6, &v, &n) == DUMP_OK && n == 3 && !memcmp(v, "Bob", 3));
    CHECK(store_get_int(s, 8, 0, &v, &n) == DUMP_NOTFOUND);
    CHECK(store_get_bytes(s, 9, (const uint8_t *)"Alice2", 6, &v, &n) == DUMP_OK && n == 1 && v[0] == 5);
    CHECK(store_get_bytes(s, 9, (const uint8_t *)"Alice", 5, &v, &n) == DUMP_OK && n == 1 && v[0] == 5);
    CHECK(store_get_bytes(s, 9, (const uint8_t *)"Zero", 4, &v, &n) == DUMP_NOTFOUND);
    DumpCheck ck;
    CHECK_D(d, dump_check(d, &ck), DUMP_OK);
    dump_close(d);
}

static void test_snapshots_and_busy(void)
{
    Dump *w = create("snap", DUMP_KIND_HISTORY);
    Dump *r = open_dump("snap", 0, NULL);
    Dump *w2 = open_dump("snap", DUMP_OPEN_WRITE, NULL);
    CHECK_D(w, dump_begin(w), DUMP_OK);
    CHECK_MSG(w2, dump_begin(w2), DUMP_BUSY, "writer");
    CHECK_D(w, put_page(w, 1, 0, "Fresh", 0), DUMP_OK);
    CHECK_D(w, put_rev(w, 1, 1, "fresh text", 1, "Writer"), DUMP_OK);
    CHECK(title_is(r, 0, "Fresh", -1));   /* nothing visible before commit */
    CHECK_D(w, dump_commit(w), DUMP_OK);
    CHECK(title_is(r, 0, "Fresh", -1));   /* the reader's snapshot holds */
    CHECK_D(r, dump_refresh(r), DUMP_OK);
    CHECK(title_is(r, 0, "Fresh", 1) && text_of_is(r, 1, 1, "fresh text"));
    CHECK_D(w2, dump_begin(w2), DUMP_OK);   /* the lock is free again */
    CHECK_D(w2, put_rev(w2, 2, 1, "second writer", 2, "Other"), DUMP_OK);
    CHECK_D(w2, dump_commit(w2), DUMP_OK);
    CHECK_D(r, dump_refresh(r), DUMP_OK);
    Revision *rev;
    CHECK_D(r, dump_get_revision_by_id(r, 2, &rev), DUMP_OK);
    if (rev) CHECK(text_is(revision_info(rev)->user_text, "Other"));
    revision_free(rev);
    /* w's next transaction sees w2's commit, interned ids included */
    CHECK_D(w, dump_begin(w), DUMP_OK);
    CHECK_D(w, put_rev(w, 3, 1, "third", 3, "Third"), DUMP_OK);
    CHECK_D(w, dump_commit(w), DUMP_OK);
    DumpCheck ck;
    CHECK_D(w, dump_check(w, &ck), DUMP_OK);
    CHECK(ck.revisions == 3);
    dump_close(r);
    dump_close(w2);
    dump_close(w);
}

static void test_dictionary(void)
{
    Dump *d = create("dict", DUMP_KIND_HISTORY);
    uint8_t dict[4096];
    for (size_t i = 0; i < sizeof dict; i++) dict[i] = (uint8_t)"the python enhancement proposal "[i % 32];
    CHECK_D(d, dump_set_dictionary(d, dict, sizeof dict), DUMP_MISUSE);   /* no transaction */
    CHECK_D(d, dump_begin(d), DUMP_OK);
    CHECK_D(d, dump_set_dictionary(d, dict, (1 << 20) + 1), DUMP_INVALID);
    CHECK_D(d, dump_set_dictionary(d, dict, sizeof dict), DUMP_OK);
    CHECK_D(d, dump_abort(d), DUMP_OK);
    DumpInfo info;
    CHECK_D(d, dump_info(d, &info), DUMP_OK);
    CHECK(info.dictionary_len == 0);
    CHECK_D(d, dump_begin(d), DUMP_OK);
    CHECK_D(d, dump_set_dictionary(d, dict, sizeof dict), DUMP_OK);
    CHECK_D(d, put_page(d, 1, 0, "P", 0), DUMP_OK);
    char *text = wikitext(3000, 9, 0);
    CHECK_D(d, put_rev(d, 1, 1, text, 1, "A"), DUMP_OK);
    CHECK_MSG(d, dump_set_dictionary(d, dict, 100), DUMP_MISUSE, "texts");
    CHECK_D(d, dump_commit(d), DUMP_OK);
    CHECK_D(d, dump_info(d, &info), DUMP_OK);
    CHECK(info.dictionary_len == sizeof dict);
    dump_close(d);
    d = open_dump("dict", 0, NULL);
    CHECK(text_of_is(d, 1, 1, text));
    CHECK_D(d, dump_info(d, &info), DUMP_OK);
    CHECK(info.dictionary_len == sizeof dict);
    DumpCheck ck;
    CHECK_D(d, dump_check(d, &ck), DUMP_OK);
    dump_close(d);
    free(text);
}

/* ---- dump_check against broken indexes ------------------------------------------- */

/* Build a small consistent dump named name. */
static void build_small(const char *name)
{
    Dump *d = create(name, DUMP_KIND_HISTORY);
    CHECK_D(d, dump_begin(d), DUMP_OK);
    CHECK_D(d, put_page(d, 1, 0, "One", 0), DUMP_OK);
    CHECK_D(d, put_page(d, 2, 1, "Talk:Two", 5), DUMP_OK);
    CHECK_D(d, put_rev(d, 10, 1, "ten", 3, "Three"), DUMP_OK);
    CHECK_D(d, put_rev(d, 11, 1, "eleven", 4, "Four"), DUMP_OK);
    CHECK_D(d, put_rev(d, 20, 2, "twenty", 3, "Three"), DUMP_OK);
    CHECK_D(d, dump_commit(d), DUMP_OK);
    dump_close(d);
}

typedef void (*Breaker)(Store *s);

static void put_int(Store *s, unsigned t, int64_t k, const char *v, size_t n)
{
    CHECK(store_put_int(s, t, k, (const uint8_t *)v, n, 0) == DUMP_OK);
}

static void b_bogus_rev(Store *s) { put_int(s, 3, 999, "\x01", 1); }
static void b_rev_wrong_page(Store *s) { put_int(s, 3, 10, "\x02", 1); }
static void b_rev_missing(Store *s) { CHECK(store_del_int(s, 3, 11) == DUMP_OK); }
static void b_title_missing(Store *s)
{
    CHECK(store_del_bytes(s, 2, (const uint8_t *)"\x80\x00\x00\x00One", 7) == DUMP_OK);
}
static void b_title_bogus(Store *s)
{
    CHECK(store_put_bytes(s, 2, (const uint8_t *)"\x80\x00\x00\x00Zzz", 7, (const uint8_t *)"\x01", 1, 0) == DUMP_OK);
}
static void b_orphan_revision(Store *s)
{
    uint8_t key[16] = { 0x80, 0, 0, 0, 0, 0, 0, 5, 0x80, 0, 0, 0, 0, 0, 0, 50 };
    const uint8_t *v;
    size_t n;
    uint8_t rec[256];
    uint8_t src[16] = { 0x80, 0, 0, 0, 0, 0, 0, 1, 0x80, 0, 0, 0, 0, 0, 0, 10 };
    REQUIRE(store_get_bytes(s, 4, src, 16, &v, &n) == DUMP_OK && n <= sizeof rec);
    memcpy(rec, v, n);
    CHECK(store_put_bytes(s, 4, key, 16, rec, n, 0) == DUMP_OK);
    put_int(s, 3, 50, "\x05", 1);
}
static void b_bad_record(Store *s) { put_int(s, 1, 2, "\x01\xff\xff", 3); }
static void b_orphan_text(Store *s)
{
    uint8_t key[17] = { 0x80, 0, 0, 0, 0, 0, 0, 9, 0x80, 0, 0, 0, 0, 0, 0, 90, 0 };
    const uint8_t *v;
    size_t n;
    uint8_t frame[4096];
    uint8_t src[17] = { 0x80, 0, 0, 0, 0, 0, 0, 1, 0x80, 0, 0, 0, 0, 0, 0, 10, 0 };
    REQUIRE(store_get_bytes(s, 5, src, 17, &v, &n) == DUMP_OK && n <= sizeof frame);
    memcpy(frame, v, n);
    CHECK(store_put_bytes(s, 5, key, 17, frame, n, 0) == DUMP_OK);
}
static void b_text_missing(Store *s)
{
    uint8_t key[17] = { 0x80, 0, 0, 0, 0, 0, 0, 2, 0x80, 0, 0, 0, 0, 0, 0, 20, 0 };
    CHECK(store_del_bytes(s, 5, key, 17) == DUMP_OK);
}
static void b_user_missing(Store *s) { CHECK(store_del_int(s, 8, 4) == DUMP_OK); }
static void b_username_bogus(Store *s)
{
    CHECK(store_put_bytes(s, 9, (const uint8_t *)"Ghost", 5, (const uint8_t *)"\x63", 1, 0) == DUMP_OK);
}
static void b_string_missing(Store *s) { CHECK(store_del_int(s, 6, 1) == DUMP_OK); }
static void b_string_index(Store *s)
{
    CHECK(store_put_bytes(s, 7, (const uint8_t *)"\x01Nobody", 7, (const uint8_t *)"\x01", 1, 0) == DUMP_OK);
}

static void test_check_catches(void)
{
    static const struct { const char *name; Breaker fn; const char *part; } cases[] = {
        { "bogus REVS entry", b_bogus_rev, "revision 999" },
        { "REVS names the wrong page", b_rev_wrong_page, "revision 10" },
        { "REVS entry missing", b_rev_missing, "revision 11" },
        { "TITLES entry missing", b_title_missing, "page 1" },
        { "TITLES entry bogus", b_title_bogus, "Zzz" },
        { "revision of a missing page", b_orphan_revision, "revision 50" },
        { "undecodable page record", b_bad_record, "page 2" },
        { "text of a missing page", b_orphan_text, "text" },
        { "text missing", b_text_missing, "page 2" },
        { "USERS entry missing", b_user_missing, "user 4" },
        { "USERNAMES entry bogus", b_username_bogus, "user 99" },
        { "STRINGS entry missing", b_string_missing, "string" },
        { "STRIDX entry bogus", b_string_index, "string" },
    };
    build_small("check");
    Dump *d = open_dump("check", 0, NULL);
    DumpCheck ck;
    CHECK_D(d, dump_check(d, &ck), DUMP_OK);
    CHECK(ck.pages == 2 && ck.revisions == 3 && ck.texts == 3 && ck.text_bytes > 0);
    dump_close(d);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char name[32];
        snprintf(name, sizeof name, "check%zu", i);
        build_small(name);
        d = open_dump(name, DUMP_OPEN_WRITE, NULL);
        Store *s = dump_store(d);
        REQUIRE(store_begin(s) == DUMP_OK);
        cases[i].fn(s);
        REQUIRE(store_commit(s) == DUMP_OK);
        CHECK(store_check(s, &(StoreCheck){ 0 }) == DUMP_OK);   /* the Store itself is fine */
        int rc = dump_check(d, &ck);
        if (rc != DUMP_CORRUPT || !strstr(dump_errmsg(d), cases[i].part)) {
            tu_case_failed = 1;
            fprintf(stderr, "  %s: dump_check gave %s \"%s\", expected DUMP_CORRUPT naming \"%s\"\n",
                    cases[i].name, status_name(rc), dump_errmsg(d), cases[i].part);
        }
        dump_close(d);
    }
}

/* A write refused before its first change leaves the transaction usable;
 * one that fails half-way leaves only abort, so nothing half-done is ever
 * committed. Records are broken behind the dump's back to get there. */
static void test_failed_write(void)
{
    Dump *d = create("broken", DUMP_KIND_CURRENT);
    CHECK_D(d, dump_begin(d), DUMP_OK);
    CHECK_D(d, put_page(d, 1, 0, "P", 0), DUMP_OK);
    CHECK_D(d, put_rev(d, 3, 1, "three", 1, "A"), DUMP_OK);
    CHECK_D(d, dump_commit(d), DUMP_OK);
    uint8_t key4[16] = { 0x80, 0, 0, 0, 0, 0, 0, 1, 0x80, 0, 0, 0, 0, 0, 0, 4 };
    uint8_t key3[16] = { 0x80, 0, 0, 0, 0, 0, 0, 1, 0x80, 0, 0, 0, 0, 0, 0, 3 };

    /* refused before any change: the transaction goes on */
    CHECK_D(d, dump_begin(d), DUMP_OK);
    CHECK(store_put_bytes(dump_store(d), 4, key3, 16, (const uint8_t *)"\xee", 1, 0) == DUMP_OK);
    CHECK_D(d, put_page(d, 2, 0, "Q", 0), DUMP_OK);
    int rc = dump_delete_revision(d, 3);
    CHECK(rc == DUMP_CORRUPT || rc == DUMP_VERSION);
    CHECK(strstr(dump_errmsg(d), "revision 3") != NULL);
    CHECK_D(d, put_page(d, 3, 0, "R", 0), DUMP_OK);
    CHECK_D(d, dump_abort(d), DUMP_OK);

    /* revision 4 with a broken record next to a good 3: putting 8 deletes
     * 3, then fails on 4 */
    CHECK_D(d, dump_begin(d), DUMP_OK);
    CHECK(store_put_bytes(dump_store(d), 4, key4, 16, (const uint8_t *)"\xee", 1, 0) == DUMP_OK);
    CHECK(store_put_int(dump_store(d), 3, 4, (const uint8_t *)"\x01", 1, 0) == DUMP_OK);
    CHECK_D(d, put_page(d, 2, 0, "Q", 0), DUMP_OK);
    rc = put_rev(d, 8, 1, "eight", 1, "A");
    CHECK(rc == DUMP_CORRUPT || rc == DUMP_VERSION);
    CHECK_MSG(d, put_page(d, 3, 0, "R", 0), DUMP_MISUSE, "abort");
    CHECK_D(d, dump_commit(d), DUMP_MISUSE);
    CHECK_D(d, dump_abort(d), DUMP_MISUSE);   /* the commit aborted it */
    CHECK(title_is(d, 0, "Q", -1) && text_of_is(d, 1, 3, "three"));
    CHECK_D(d, dump_begin(d), DUMP_OK);       /* and the handle works again */
    CHECK_D(d, put_rev(d, 8, 1, "eight", 1, "A"), DUMP_OK);
    CHECK_D(d, dump_commit(d), DUMP_OK);
    CHECK(text_of_is(d, 1, 3, NULL) && text_of_is(d, 1, 8, "eight"));
    DumpCheck ck;
    CHECK_D(d, dump_check(d, &ck), DUMP_OK);
    dump_close(d);
}

/* Many pages and revisions with delta-friendly histories, interleaved
 * writes across pages, then every text read back by cursor and by id. */
static void test_volume(void)
{
    DumpConfig cfgs[] = { { .kind = DUMP_KIND_HISTORY }, { .codec = DUMP_CODEC_XZ, .max_depth = 3 } };
    for (int c = 0; c < 2; c++) {
        char name[32];
        snprintf(name, sizeof name, "volume%d", c);
        Dump *d = open_dump(name, DUMP_OPEN_CREATE, &cfgs[c]);
        enum { PAGES = 20, REVS = 15 };
        CHECK_D(d, dump_begin(d), DUMP_OK);
        for (int p = 1; p <= PAGES; p++) {
            char title[32];
            snprintf(title, sizeof title, "Page %d", p);
            CHECK_D(d, put_page(d, p, 0, title, 0), DUMP_OK);
        }
        for (int k = 0; k < REVS; k++)
            for (int p = 1; p <= PAGES; p++) {
                char *t = wikitext(2000 + (size_t)(p * 97 % 3000), (uint64_t)p, k);
                char user[16];
                snprintf(user, sizeof user, "User%d", (p + k) % 7);
                CHECK_D(d, put_rev(d, (int64_t)k * 1000 + p, p, t, 1 + (p + k) % 7, user), DUMP_OK);
                free(t);
            }
        CHECK_D(d, dump_commit(d), DUMP_OK);
        dump_close(d);
        d = open_dump(name, 0, NULL);
        PageCursor *pc;
        const PageInfo *pi;
        int seen = 0;
        CHECK_D(d, dump_pages(d, DUMP_PAGES_BY_ID, 0, 0, &pc), DUMP_OK);
        while (page_cursor_next(pc, &pi) == DUMP_OK) {
            RevisionCursor *rc;
            const RevisionInfo *ri;
            int64_t p = pi->id;
            CHECK_D(d, dump_revisions(d, p, &rc), DUMP_OK);
            int k = 0;
            while (revision_cursor_next(rc, &ri) == DUMP_OK) {
                char *want = wikitext(2000 + (size_t)(p * 97 % 3000), (uint64_t)p, k);
                char user[16];
                snprintf(user, sizeof user, "User%d", (int)((p + k) % 7));
                const uint8_t *t;
                size_t n;
                CHECK(ri->id == (int64_t)k * 1000 + p && text_is(ri->user_text, user));
                CHECK_D(d, revision_cursor_text(rc, 0, &t, &n), DUMP_OK);
                CHECK(t && n == strlen(want) && !memcmp(t, want, n));
                free(want);
                k++;
                seen++;
            }
            CHECK(k == REVS);
            revision_cursor_close(rc);
        }
        page_cursor_close(pc);
        CHECK(seen == PAGES * REVS);
        DumpCheck ck;
        CHECK_D(d, dump_check(d, &ck), DUMP_OK);
        CHECK(ck.pages == PAGES && ck.revisions == PAGES * REVS && ck.texts == PAGES * REVS);
        dump_close(d);
    }
}

int main(void)
{
    tu_tmpdir("test_dump");
    run("create_reopen", test_create_reopen);
    run("bad_config", test_bad_config);
    run("not_a_dump", test_not_a_dump);
    run("fields", test_fields);
    run("siteinfo", test_siteinfo);
    run("titles", test_titles);
    run("moves", test_moves);
    run("cursors", test_cursors);
    run("delete", test_delete);
    run("current", test_current);
    run("stub", test_stub);
    run("articles", test_articles);
    run("abort", test_abort);
    run("users", test_users);
    run("snapshots_and_busy", test_snapshots_and_busy);
    run("dictionary", test_dictionary);
    run("check_catches", test_check_catches);
    run("failed_write", test_failed_write);
    run("volume", test_volume);
    tu_cleanup();
    return tu_finish("dump");
}
