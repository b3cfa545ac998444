/*
 * test_xml.c -- dump_xml_page (csrc/dump_xml.c): one canonical page byte for
 * byte as dumpBackup.php writes it; schema 0.10, stub, current and revision
 * ranges; the text-attribute profile and the writer styles; escaping of
 * element text and attribute values at every position of the vector scan;
 * a text of several MiB reaching the sink in chunks of at most 1 MiB; and
 * what is refused: records with an extra, profile entries that do not fit,
 * bad options, a sink that fails.
 *
 * The Python side compares the C writer with incrdump.xmlwrite on real
 * dumps (tests/test_xml_fast.py). Prints "xml: N passed, M failed" last.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "incrdump.h"
#include "testutil.h"

#define CHECK_D(d, expr, want) do { int r2_ = (expr), w2_ = (want); if (r2_ != w2_) { tu_case_failed = 1; \
    fprintf(stderr, "%s:%d: %s: %s returned %s, expected %s: %s\n", __FILE__, __LINE__, tu_case, \
            #expr, status_name(r2_), status_name(w2_), dump_errmsg(d)); } } while (0)

static DumpText T(const char *s) { return (DumpText){ (const uint8_t *)s, s ? strlen(s) : 0 }; }
static const DumpText ABSENT = { NULL, 0 };
#define SHA1 "phoiac9h4m842xq45sp7s6u21eteeq1"

/* ---- a sink that collects ---------------------------------------------------- */

typedef struct Sink {
    uint8_t *p;
    size_t len, cap;
    int calls;
    size_t largest;
    int fail_at;          /* refuse the fail_at-th call (1-based); 0 = never */
} Sink;

static int collect(void *ctx, const uint8_t *data, size_t len)
{
    Sink *s = ctx;
    s->calls++;
    if (s->fail_at && s->calls == s->fail_at) return 1;
    if (len > s->largest) s->largest = len;
    if (s->len + len + 1 > s->cap) {
        s->cap = (s->len + len + 1) * 2;
        s->p = realloc(s->p, s->cap);
        if (!s->p) exit(2);
    }
    memcpy(s->p + s->len, data, len);
    s->len += len;
    s->p[s->len] = 0;
    return 0;
}

static void sink_reset(Sink *s)
{
    free(s->p);
    memset(s, 0, sizeof *s);
}

static const char *out_of(Sink *s) { return s->p ? (const char *)s->p : ""; }

static Dump *create(const char *name, int kind)
{
    Dump *d = NULL;
    DumpConfig cfg = { .kind = kind };
    int rc = dump_open(tu_path(name), DUMP_OPEN_WRITE | DUMP_OPEN_CREATE, &cfg, &d);
    if (rc) {
        fprintf(stderr, "dump_open %s: %s %s\n", name, status_name(rc), dump_errmsg(d));
        exit(2);
    }
    return d;
}

static DumpXmlOptions opts(int schema)
{
    DumpXmlOptions o;
    memset(&o, 0, sizeof o);
    o.schema = schema;
    return o;
}

/* ---- the canonical page ----------------------------------------------------------- */

/* Page 5 with revisions 10 and 11 (every field of the canonical forms). */
static void put_sample(Dump *d)
{
    PageInfo p = { .id = 5, .ns = 1, .title = T("Talk:A & <b>"), .title_prefix = 5,
                   .redirect = T("T\"x'\n\t"), .restrictions = T("edit=sysop") };
    CHECK_D(d, dump_put_page(d, &p), DUMP_OK);
    SlotInfo s10 = { .role = T("main"), .origin = -1, .model = T("wikitext"),
                     .format = T("text/x-wiki"), .sha1 = T(SHA1), .size = 11,
                     .text = T("a&b<c>d\"e'f") };
    RevisionInfo r10 = { .id = 10, .page_id = 5, .timestamp = 1000000000,
                         .flags = DUMP_REV_MINOR, .contributor = DUMP_CONTRIB_USER, .user_id = 7,
                         .user_text = T("Ann & Co"), .comment = T("c < d"), .sha1 = T(SHA1),
                         .nslots = 1, .slots = &s10 };
    CHECK_D(d, dump_put_revision(d, &r10), DUMP_OK);
    SlotInfo s11[2] = {
        { .role = T("main"), .origin = 11, .size = 0, .text = T("") },
        { .role = T("aux"), .origin = -1, .model = T("json"), .size = 8, .text = T("{\"k\": 1}") },
    };
    RevisionInfo r11 = { .id = 11, .page_id = 5, .parent_id = 10, .timestamp = 1000000001,
                         .timestamp_text = T("2001-09-09 01:46:41"),
                         .flags = DUMP_REV_HAS_PARENT | DUMP_REV_COMMENT_DELETED,
                         .contributor = DUMP_CONTRIB_IP, .user_id = -1, .user_text = T("1.2.3.4"),
                         .sha1 = T(""), .nslots = 2, .slots = s11 };
    CHECK_D(d, dump_put_revision(d, &r11), DUMP_OK);
}

static const char PAGE_HEAD[] =
    "  <page>\n"
    "    <title>Talk:A &amp; &lt;b&gt;</title>\n"
    "    <ns>1</ns>\n"
    "    <id>5</id>\n"
    "    <redirect title=\"T&quot;x&#039;&#10;&#9;\" />\n"
    "    <restrictions>edit=sysop</restrictions>\n";

static const char REV10[] =
    "    <revision>\n"
    "      <id>10</id>\n"
    "      <timestamp>2001-09-09T01:46:40Z</timestamp>\n"
    "      <contributor>\n"
    "        <username>Ann &amp; Co</username>\n"
    "        <id>7</id>\n"
    "      </contributor>\n"
    "      <minor/>\n"
    "      <comment>c &lt; d</comment>\n"
    "      <model>wikitext</model>\n"
    "      <format>text/x-wiki</format>\n"
    "      <text bytes=\"11\" sha1=\"" SHA1 "\" xml:space=\"preserve\">a&amp;b&lt;c&gt;d\"e'f</text>\n"
    "      <sha1>" SHA1 "</sha1>\n"
    "    </revision>\n";

static const char REV11[] =
    "    <revision>\n"
    "      <id>11</id>\n"
    "      <parentid>10</parentid>\n"
    "      <timestamp>2001-09-09 01:46:41</timestamp>\n"
    "      <contributor>\n"
    "        <ip>1.2.3.4</ip>\n"
    "      </contributor>\n"
    "      <comment deleted=\"deleted\" />\n"
    "      <origin>11</origin>\n"
    "      <text bytes=\"0\" xml:space=\"preserve\" />\n"
    "      <content>\n"
    "        <role>aux</role>\n"
    "        <model>json</model>\n"
    "        <text bytes=\"8\" xml:space=\"preserve\">{\"k\": 1}</text>\n"
    "      </content>\n"
    "      <sha1/>\n"
    "    </revision>\n";

static void test_canonical_page(void)
{
    Dump *d = create("canon", DUMP_KIND_HISTORY);
    CHECK_D(d, dump_begin(d), DUMP_OK);
    put_sample(d);
    CHECK_D(d, dump_commit(d), DUMP_OK);

    char want[4096];
    snprintf(want, sizeof want, "%s%s%s  </page>\n", PAGE_HEAD, REV10, REV11);
    DumpXmlOptions o = opts(11);
    DumpXmlResult res;
    Sink s = { 0 };
    CHECK_D(d, dump_xml_page(d, 5, &o, collect, &s, &res), DUMP_OK);
    CHECK(res.handled == 1 && res.written == 1 && res.revisions == 2);
    CHECK(res.bytes == s.len && s.calls == 1);
    CHECK(!strcmp(out_of(&s), want));
    if (strcmp(out_of(&s), want)) fprintf(stderr, "got:\n%s\nwant:\n%s\n", out_of(&s), want);

    /* schema 0.10: no <origin>, no sha1/location on <text>, main slot only */
    sink_reset(&s);
    o = opts(10);
    CHECK_D(d, dump_xml_page(d, 5, &o, collect, &s, &res), DUMP_OK);
    CHECK(res.handled && res.written && res.revisions == 2);
    CHECK(!strstr(out_of(&s), "<origin>") && !strstr(out_of(&s), "<content>"));
    CHECK(strstr(out_of(&s), "<text bytes=\"11\" xml:space=\"preserve\">a&amp;b"));

    /* stub: no content, no xml:space on a text the dump holds */
    sink_reset(&s);
    o = opts(11);
    o.stub = 1;
    CHECK_D(d, dump_xml_page(d, 5, &o, collect, &s, &res), DUMP_OK);
    CHECK(!strstr(out_of(&s), "</text>") && !strstr(out_of(&s), "xml:space"));
    CHECK(strstr(out_of(&s), "      <text bytes=\"11\" sha1=\"" SHA1 "\" />\n"));
    CHECK(strstr(out_of(&s), "        <text bytes=\"8\" />\n      </content>\n"));

    /* current: the latest only; ranges */
    sink_reset(&s);
    o = opts(11);
    o.current = 1;
    CHECK_D(d, dump_xml_page(d, 5, &o, collect, &s, &res), DUMP_OK);
    snprintf(want, sizeof want, "%s%s  </page>\n", PAGE_HEAD, REV11);
    CHECK(res.revisions == 1 && !strcmp(out_of(&s), want));
    sink_reset(&s);
    o.range = DUMP_XML_REVEND;
    o.revend = 11;
    CHECK_D(d, dump_xml_page(d, 5, &o, collect, &s, &res), DUMP_OK);
    snprintf(want, sizeof want, "%s%s  </page>\n", PAGE_HEAD, REV10);
    CHECK(res.revisions == 1 && !strcmp(out_of(&s), want));
    sink_reset(&s);
    o = opts(11);
    o.range = DUMP_XML_REVSTART;
    o.revstart = 11;
    CHECK_D(d, dump_xml_page(d, 5, &o, collect, &s, &res), DUMP_OK);
    snprintf(want, sizeof want, "%s%s  </page>\n", PAGE_HEAD, REV11);
    CHECK(res.revisions == 1 && !strcmp(out_of(&s), want));
    /* no revision in range: left out, handled */
    sink_reset(&s);
    o.range = DUMP_XML_REVSTART | DUMP_XML_REVEND;
    o.revstart = 12;
    o.revend = 100;
    CHECK_D(d, dump_xml_page(d, 5, &o, collect, &s, &res), DUMP_OK);
    CHECK(res.handled == 1 && res.written == 0 && res.revisions == 0 && s.calls == 0);
    sink_reset(&s);
    dump_close(d);
}

/* A page without revisions is written (unless a range is given). */
static void test_empty_page(void)
{
    Dump *d = create("empty", DUMP_KIND_HISTORY);
    CHECK_D(d, dump_begin(d), DUMP_OK);
    PageInfo p = { .id = 1, .ns = 0, .title = T(""), .redirect = T("") };
    CHECK_D(d, dump_put_page(d, &p), DUMP_OK);
    CHECK_D(d, dump_commit(d), DUMP_OK);
    DumpXmlOptions o = opts(11);
    DumpXmlResult res;
    Sink s = { 0 };
    for (int current = 0; current < 2; current++) {
        o.current = current;
        CHECK_D(d, dump_xml_page(d, 1, &o, collect, &s, &res), DUMP_OK);
        CHECK(res.handled && res.written && res.revisions == 0);
        CHECK(!strcmp(out_of(&s), "  <page>\n    <title />\n    <ns>0</ns>\n    <id>1</id>\n"
                                  "    <redirect />\n  </page>\n"));
        sink_reset(&s);
    }
    o.range = DUMP_XML_REVEND;
    o.revend = INT64_MAX;
    CHECK_D(d, dump_xml_page(d, 1, &o, collect, &s, &res), DUMP_OK);
    CHECK(res.handled && !res.written && s.len == 0);
    dump_close(d);
}

/* ---- profile and style ------------------------------------------------------------ */

static void test_profile_and_style(void)
{
    Dump *d = create("style", DUMP_KIND_HISTORY);
    CHECK_D(d, dump_begin(d), DUMP_OK);
    put_sample(d);
    CHECK_D(d, dump_commit(d), DUMP_OK);
    DumpXmlOptions o = opts(11);
    DumpXmlResult res;
    Sink s = { 0 };

    o.text_attrs[1 | 4] = "xml:space sha1 bytes";   /* bytes and sha1 present */
    o.text_attrs[1 | 2] = "";                       /* bytes, and they are 0 */
    o.quot = o.apos = 1;
    o.minor_tag = "<minor />";
    o.sha1_tag = "<sha1></sha1>";
    CHECK_D(d, dump_xml_page(d, 5, &o, collect, &s, &res), DUMP_OK);
    CHECK(res.handled && res.revisions == 2);
    const char *x = out_of(&s);
    CHECK(strstr(x, "<text xml:space=\"preserve\" sha1=\"" SHA1 "\" bytes=\"11\">"
                    "a&amp;b&lt;c&gt;d&quot;e&#039;f</text>\n"));
    CHECK(strstr(x, "      <text />\n      <content>"));
    CHECK(strstr(x, "<text bytes=\"8\" xml:space=\"preserve\">{&quot;k&quot;: 1}</text>"));
    CHECK(strstr(x, "      <minor />\n") && strstr(x, "      <sha1></sha1>\n"));
    CHECK(strstr(x, "<redirect title=\"T&quot;x&#039;&#10;&#9;\" />"));   /* attributes alike */
    sink_reset(&s);

    /* entries that do not fit the slot: Python's writer fails on them, so C declines */
    const char *bad[] = { "bytes bogus", "bytes location", "bytes  sha1 id", "Bytes sha1" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        o = opts(11);
        o.text_attrs[5] = bad[i];
        CHECK_D(d, dump_xml_page(d, 5, &o, collect, &s, &res), DUMP_OK);
        CHECK(res.handled == 0 && res.written == 0 && s.calls == 0 && res.bytes == 0);
    }
    /* duplicates and extra spaces are written as listed (as Python does) */
    o = opts(11);
    o.text_attrs[5] = " sha1  bytes sha1 ";
    CHECK_D(d, dump_xml_page(d, 5, &o, collect, &s, &res), DUMP_OK);
    CHECK(res.handled && strstr(out_of(&s), "<text sha1=\"" SHA1 "\" bytes=\"11\" sha1=\"" SHA1 "\">"));
    sink_reset(&s);
    dump_close(d);
}

/* ---- escaping -------------------------------------------------------------------- */

/* Reference escaping of element text. */
static size_t ref_escape(const char *s, size_t n, int quot, int apos, char *out)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        const char *e = NULL;
        switch (s[i]) {
        case '&': e = "&amp;"; break;
        case '<': e = "&lt;"; break;
        case '>': e = "&gt;"; break;
        case '"': e = quot ? "&quot;" : NULL; break;
        case '\'': e = apos ? "&#039;" : NULL; break;
        }
        if (e) {
            memcpy(out + k, e, strlen(e));
            k += strlen(e);
        } else {
            out[k++] = s[i];
        }
    }
    out[k] = 0;
    return k;
}

/* A special character at every position of a 40-byte comment (the SSE2
 * blocks and the tail), with and without the quote styles. */
static void test_escaping_positions(void)
{
    Dump *d = create("esc", DUMP_KIND_HISTORY);
    CHECK_D(d, dump_begin(d), DUMP_OK);
    PageInfo p = { .id = 2, .ns = 0, .title = T("E") };
    CHECK_D(d, dump_put_page(d, &p), DUMP_OK);
    static const char specials[] = "&<>\"'=;\r";
    char comments[41][41];
    for (int pos = 0; pos <= 40; pos++) {
        memset(comments[pos], 'x', 40);
        comments[pos][40] = 0;
        if (pos < 40) comments[pos][pos] = specials[pos % 8];
        if (pos > 2 && pos < 40) comments[pos][pos - 3] = specials[(pos + 3) % 8];
        SlotInfo s = { .role = T("main"), .origin = -1, .size = -1 };
        RevisionInfo r = { .id = 100 + pos, .page_id = 2, .timestamp = pos, .contributor = DUMP_CONTRIB_NONE,
                           .user_id = -1, .comment = T(comments[pos]), .nslots = 1, .slots = &s };
        CHECK_D(d, dump_put_revision(d, &r), DUMP_OK);
    }
    CHECK_D(d, dump_commit(d), DUMP_OK);
    for (int style = 0; style < 4; style++) {
        DumpXmlOptions o = opts(11);
        o.quot = style & 1;
        o.apos = style >> 1;
        Sink s = { 0 };
        DumpXmlResult res;
        CHECK_D(d, dump_xml_page(d, 2, &o, collect, &s, &res), DUMP_OK);
        CHECK(res.handled && res.revisions == 41);
        for (int pos = 0; pos <= 40; pos++) {
            char esc[256], line[300];
            ref_escape(comments[pos], 40, o.quot, o.apos, esc);
            snprintf(line, sizeof line, "      <comment>%s</comment>\n      <text />\n", esc);
            CHECK(strstr(out_of(&s), line));
        }
        CHECK(strstr(out_of(&s), "<timestamp>1970-01-01T00:00:40Z</timestamp>"));
        sink_reset(&s);
    }
    dump_close(d);
}

/* A 3 MiB text with specials everywhere reaches the sink in chunks of at
 * most 1 MiB and comes out escaped exactly. */
static void test_large_text(void)
{
    Dump *d = create("large", DUMP_KIND_HISTORY);
    size_t n = (size_t)3 << 20;
    char *text = xmalloc(n + 1);
    rng_seed(7);
    for (size_t i = 0; i < n; i++) {
        uint64_t r = rng_next();
        text[i] = (r & 7) == 0 ? "&<>\"'"[(r >> 8) % 5] : (char)('a' + (r >> 16) % 26);
    }
    text[n] = 0;
    CHECK_D(d, dump_begin(d), DUMP_OK);
    PageInfo p = { .id = 3, .ns = 0, .title = T("Big") };
    CHECK_D(d, dump_put_page(d, &p), DUMP_OK);
    SlotInfo s = { .role = T("main"), .origin = -1, .size = (int64_t)n,
                   .text = { (const uint8_t *)text, n } };
    RevisionInfo r = { .id = 1, .page_id = 3, .timestamp = 0, .contributor = DUMP_CONTRIB_NONE,
                       .user_id = -1, .nslots = 1, .slots = &s };
    CHECK_D(d, dump_put_revision(d, &r), DUMP_OK);
    CHECK_D(d, dump_commit(d), DUMP_OK);

    DumpXmlOptions o = opts(11);
    o.apos = 1;
    Sink sk = { 0 };
    DumpXmlResult res;
    CHECK_D(d, dump_xml_page(d, 3, &o, collect, &sk, &res), DUMP_OK);
    CHECK(res.handled && res.bytes == sk.len);
    CHECK(sk.calls >= 4 && sk.largest <= ((size_t)1 << 20));
    char *esc = xmalloc(6 * n + 1);
    size_t elen = ref_escape(text, n, 0, 1, esc);
    const char *open = "<text bytes=\"3145728\" xml:space=\"preserve\">";
    const char *at = strstr(out_of(&sk), open);
    REQUIRE(at);
    at += strlen(open);
    CHECK((size_t)(sk.len - (size_t)(at - out_of(&sk))) > elen);
    CHECK(!memcmp(at, esc, elen) && !strncmp(at + elen, "</text>\n    </revision>\n  </page>\n", 33));

    /* a sink that fails half-way stops the page with DUMP_IOERR */
    sink_reset(&sk);
    sk.fail_at = 2;
    CHECK_D(d, dump_xml_page(d, 3, &o, collect, &sk, &res), DUMP_IOERR);
    CHECK(strstr(dump_errmsg(d), "sink") != NULL && sk.calls == 2);
    sink_reset(&sk);
    free(esc);
    free(text);
    dump_close(d);
}

/* ---- what C declines or refuses --------------------------------------------------- */

static void test_declined_and_refused(void)
{
    Dump *d = create("decline", DUMP_KIND_HISTORY);
    CHECK_D(d, dump_begin(d), DUMP_OK);
    put_sample(d);
    PageInfo p = { .id = 6, .ns = 0, .title = T("Extra"), .extra = T("\x01\x03") };
    CHECK_D(d, dump_put_page(d, &p), DUMP_OK);
    PageInfo q = { .id = 7, .ns = 0, .title = T("Rev extra") };
    CHECK_D(d, dump_put_page(d, &q), DUMP_OK);
    SlotInfo s = { .role = T("main"), .origin = -1, .size = -1 };
    RevisionInfo r = { .id = 70, .page_id = 7, .timestamp = 0, .contributor = DUMP_CONTRIB_NONE,
                       .user_id = -1, .nslots = 1, .slots = &s };
    CHECK_D(d, dump_put_revision(d, &r), DUMP_OK);
    r.id = 71;
    r.extra = T("\x01\x0e\x01\x01");   /* only the selected revisions matter */
    CHECK_D(d, dump_put_revision(d, &r), DUMP_OK);
    /* two slots with one role (absent role of slot 0 reads "main") */
    SlotInfo twins[2] = { { .role = ABSENT, .origin = -1, .size = -1 },
                          { .role = T("main"), .origin = -1, .size = -1 } };
    PageInfo t = { .id = 8, .ns = 0, .title = T("Twins") };
    CHECK_D(d, dump_put_page(d, &t), DUMP_OK);
    RevisionInfo rt = { .id = 80, .page_id = 8, .timestamp = 0, .contributor = DUMP_CONTRIB_NONE,
                        .user_id = -1, .nslots = 2, .slots = twins };
    CHECK_D(d, dump_put_revision(d, &rt), DUMP_OK);
    CHECK_D(d, dump_commit(d), DUMP_OK);

    DumpXmlOptions o = opts(11);
    DumpXmlResult res;
    Sink sk = { 0 };
    CHECK_D(d, dump_xml_page(d, 6, &o, collect, &sk, &res), DUMP_OK);
    CHECK(!res.handled && !res.written && sk.calls == 0);
    CHECK_D(d, dump_xml_page(d, 7, &o, collect, &sk, &res), DUMP_OK);
    CHECK(!res.handled && sk.calls == 0);
    o.current = 1;   /* the latest has the extra */
    CHECK_D(d, dump_xml_page(d, 7, &o, collect, &sk, &res), DUMP_OK);
    CHECK(!res.handled && sk.calls == 0);
    o.range = DUMP_XML_REVEND;   /* ... but not the latest before 71 */
    o.revend = 71;
    CHECK_D(d, dump_xml_page(d, 7, &o, collect, &sk, &res), DUMP_OK);
    CHECK(res.handled && res.revisions == 1 && strstr(out_of(&sk), "<id>70</id>"));
    sink_reset(&sk);
    o = opts(11);
    CHECK_D(d, dump_xml_page(d, 8, &o, collect, &sk, &res), DUMP_OK);
    CHECK(!res.handled && sk.calls == 0);

    CHECK_D(d, dump_xml_page(d, 99, &o, collect, &sk, &res), DUMP_NOTFOUND);
    o.schema = 12;
    CHECK_D(d, dump_xml_page(d, 5, &o, collect, &sk, &res), DUMP_INVALID);
    o = opts(11);
    o.range = 4;
    CHECK_D(d, dump_xml_page(d, 5, &o, collect, &sk, &res), DUMP_INVALID);
    CHECK_D(d, dump_xml_page(d, 5, NULL, collect, &sk, &res), DUMP_INVALID);
    CHECK_D(d, dump_xml_page(d, 5, &o, NULL, &sk, &res), DUMP_INVALID);
    CHECK(sk.calls == 0);
    dump_close(d);
}

int main(void)
{
    tu_tmpdir("test_xml");
    run("canonical_page", test_canonical_page);
    run("empty_page", test_empty_page);
    run("profile_and_style", test_profile_and_style);
    run("escaping_positions", test_escaping_positions);
    run("large_text", test_large_text);
    run("declined_and_refused", test_declined_and_refused);
    tu_cleanup();
    return tu_finish("xml");
}
