/*
 * dump_xml.c -- one page as MediaWiki export XML, byte for byte what
 * dumpBackup.php (and incrdump.xmlwrite.XMLWriter) writes: the fast path of
 * XML export.
 *
 * Dump layer (8): reads through the public page, revision and text calls
 * (dump.c, dump_cursor.c) and record.h's timestamp text; writes nothing to
 * the dump. A record whose opaque `extra` is empty is in canonical form: its
 * XML follows from the C fields alone, by the rules of incrdump/_extra.py
 * (revision_elements, contributor_elements, slot_elements, page_elements,
 * text_attributes). Invariant: a page is either refused before one byte
 * reaches the sink (handled = 0: the Python writer does it) or written
 * exactly as XMLWriter.page() writes it (tests/test_xml_fast.py).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "dump_internal.h"

#define XML_FIRST ((size_t)64 << 10)   /* first buffer of a call */
#define XML_CHUNK ((size_t)1 << 20)    /* the sink gets chunks of this size */
#define XML_MAX_KEYS 16                /* <text> attributes of one profile entry */

/* ---- output buffer ---------------------------------------------------------- */

typedef struct Out {
    Dump *d;
    DumpXmlSink sink;
    void *ctx;
    uint8_t *p;
    size_t len, cap;        /* cap grows from XML_FIRST up to XML_CHUNK */
    uint64_t total;         /* bytes handed to the sink */
    int quot, apos;         /* element text escapes " / ' too */
} Out;

static int out_flush(Out *o)
{
    if (!o->len) return DUMP_OK;
    if (o->sink(o->ctx, o->p, o->len))
        return error_set(&o->d->err, DUMP_IOERR, "XML output: the sink refused %zu bytes", o->len);
    o->total += o->len;
    o->len = 0;
    return DUMP_OK;
}

/* Grow the buffer towards XML_CHUNK for n more bytes (as far as it may). */
static int out_grow(Out *o, size_t n)
{
    size_t want = o->cap ? o->cap * 2 : XML_FIRST;
    while (want < o->len + n && want < XML_CHUNK) want *= 2;
    if (want > XML_CHUNK) want = XML_CHUNK;
    uint8_t *p = realloc(o->p, want);
    if (!p) return error_set(&o->d->err, DUMP_NOMEM, "XML output: out of memory");
    o->p = p;
    o->cap = want;
    return DUMP_OK;
}

static int put(Out *o, const void *src, size_t n)
{
    const uint8_t *s = src;
    int rc;
    while (n > o->cap - o->len) {
        if (o->cap < XML_CHUNK) {
            if ((rc = out_grow(o, n))) return rc;
            continue;
        }
        size_t k = o->cap - o->len;
        memcpy(o->p + o->len, s, k);
        o->len += k;
        s += k;
        n -= k;
        if ((rc = out_flush(o))) return rc;
    }
    if (n) memcpy(o->p + o->len, s, n);
    o->len += n;
    return DUMP_OK;
}

#define PUT_LIT(o, s) put((o), (s), sizeof(s) - 1)

static int put_str(Out *o, const char *s) { return put(o, s, strlen(s)); }

/* Decimal text of v at the end of buf[24]; returns its start. */
static const char *fmt_i64(char buf[24], int64_t v)
{
    char *p = buf + 24;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0) *--p = '-';
    return p;
}

static int put_i64(Out *o, int64_t v)
{
    char buf[24];
    const char *p = fmt_i64(buf, v);
    return put(o, p, (size_t)(buf + 24 - p));
}

/* ---- escaping ----------------------------------------------------------------- */

static int special(const Out *o, uint8_t c)
{
    return c == '&' || c == '<' || c == '>' || (c == '"' && o->quot) || (c == '\'' && o->apos);
}

/* First byte of [s, end) that element text escapes, or end. */
static const uint8_t *scan_text(const Out *o, const uint8_t *s, const uint8_t *end)
{
#if defined(__SSE2__)
    const __m128i amp = _mm_set1_epi8('&'), angle = _mm_set1_epi8('>'), two = _mm_set1_epi8(2);
    const __m128i quot = _mm_set1_epi8('"'), apos = _mm_set1_epi8('\'');
    int quotes = o->quot || o->apos;
    while (end - s >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)s);
        /* '<' (0x3C) | 2 == '>' (0x3E) | 2 == 0x3E, and no other byte gives 0x3E */
        __m128i m = _mm_or_si128(_mm_cmpeq_epi8(v, amp), _mm_cmpeq_epi8(_mm_or_si128(v, two), angle));
        if (quotes) {
            if (o->quot) m = _mm_or_si128(m, _mm_cmpeq_epi8(v, quot));
            if (o->apos) m = _mm_or_si128(m, _mm_cmpeq_epi8(v, apos));
        }
        int bits = _mm_movemask_epi8(m);
        if (bits) return s + __builtin_ctz((unsigned)bits);
        s += 16;
    }
#endif
    while (s < end && !special(o, *s)) s++;
    return s;
}

/* Element text: & < > as entities (and the quotes the style asks for),
 * everything else as it is (MediaWiki: htmlspecialchars, ENT_NOQUOTES). */
static int put_text(Out *o, const uint8_t *s, size_t n)
{
    const uint8_t *end = s + n;
    int rc;
    while (s < end) {
        const uint8_t *q = scan_text(o, s, end);
        if (q > s && (rc = put(o, s, (size_t)(q - s)))) return rc;
        if (q == end) break;
        switch (*q) {
        case '&': rc = PUT_LIT(o, "&amp;"); break;
        case '<': rc = PUT_LIT(o, "&lt;"); break;
        case '>': rc = PUT_LIT(o, "&gt;"); break;
        case '"': rc = PUT_LIT(o, "&quot;"); break;
        default: rc = PUT_LIT(o, "&#039;"); break;
        }
        if (rc) return rc;
        s = q + 1;
    }
    return DUMP_OK;
}

/* Attribute value (MediaWiki: Sanitizer::encodeAttribute): also " and ' and
 * the whitespace an XML parser would normalise. */
static int put_attr_value(Out *o, const uint8_t *s, size_t n)
{
    size_t run = 0;
    int rc;
    for (size_t i = 0; i < n; i++) {
        const char *ent;
        switch (s[i]) {
        case '&': ent = "&amp;"; break;
        case '<': ent = "&lt;"; break;
        case '>': ent = "&gt;"; break;
        case '"': ent = "&quot;"; break;
        case '\'': ent = "&#039;"; break;
        case '\n': ent = "&#10;"; break;
        case '\r': ent = "&#13;"; break;
        case '\t': ent = "&#9;"; break;
        default: continue;
        }
        if (i > run && (rc = put(o, s + run, i - run))) return rc;
        if ((rc = put_str(o, ent))) return rc;
        run = i + 1;
    }
    return n > run ? put(o, s + run, n - run) : DUMP_OK;
}

/* ` key="value"` */
static int put_attr(Out *o, const char *key, const uint8_t *v, size_t n)
{
    int rc;
    if ((rc = PUT_LIT(o, " ")) || (rc = put_str(o, key)) || (rc = PUT_LIT(o, "=\"")) ||
        (rc = put_attr_value(o, v, n)))
        return rc;
    return PUT_LIT(o, "\"");
}

/* ---- elements ------------------------------------------------------------------ */

static const char SPACES[] = "          ";

/* Indent, `<name` */
static int open_tag(Out *o, int indent, const char *name)
{
    int rc;
    if ((rc = put(o, SPACES, (size_t)indent)) || (rc = PUT_LIT(o, "<"))) return rc;
    return put_str(o, name);
}

/* A leaf with text (XMLWriter's _leaf without attributes): absent or empty
 * is the short tag. */
static int leaf(Out *o, int indent, const char *name, DumpText v)
{
    int rc;
    if ((rc = open_tag(o, indent, name))) return rc;
    if (!v.ptr || !v.len) return PUT_LIT(o, " />\n");
    if ((rc = PUT_LIT(o, ">")) || (rc = put_text(o, v.ptr, v.len)) || (rc = PUT_LIT(o, "</")) ||
        (rc = put_str(o, name)))
        return rc;
    return PUT_LIT(o, ">\n");
}

static int leaf_i64(Out *o, int indent, const char *name, int64_t v)
{
    int rc;
    if ((rc = open_tag(o, indent, name)) || (rc = PUT_LIT(o, ">")) || (rc = put_i64(o, v)) ||
        (rc = PUT_LIT(o, "</")) || (rc = put_str(o, name)))
        return rc;
    return PUT_LIT(o, ">\n");
}

static int close_tag(Out *o, int indent, const char *name)
{
    int rc;
    if ((rc = put(o, SPACES, (size_t)indent)) || (rc = PUT_LIT(o, "</")) || (rc = put_str(o, name)))
        return rc;
    return PUT_LIT(o, ">\n");
}

/* ---- <text> attributes ---------------------------------------------------------- *
 * Values follow from the slot's fields (_extra.text_values); their order comes
 * from the dump's profile, given per situation (_extra.situation) as a list of
 * keys, or the default order when the profile has no entry. */

enum { K_BYTES, K_SHA1, K_DELETED, K_LOCATION, K_ID, K_SPACE, K_COUNT };
static const char *const KEY_NAMES[K_COUNT] = { "bytes", "sha1", "deleted", "location", "id", "xml:space" };
static const unsigned SIT_BIT[K_SPACE] = { 1, 4, 8, 16, 32 };
#define SIT_ZERO 2

/* Which values a slot has (bit K_* set), and its situation. */
static unsigned text_values(const SlotInfo *s, unsigned *sit)
{
    unsigned have = 0;
    if (s->size != -1) have |= 1u << K_BYTES;
    if (s->sha1.ptr) have |= 1u << K_SHA1;
    if (s->flags & DUMP_SLOT_DELETED) have |= 1u << K_DELETED;
    if (s->location.ptr) have |= 1u << K_LOCATION;
    if (s->text_id.ptr) have |= 1u << K_ID;
    *sit = s->size == 0 ? SIT_ZERO : 0;
    for (int k = 0; k < K_SPACE; k++)
        if (have >> k & 1) *sit |= SIT_BIT[k];
    return have;
}

/* The keys of a slot's <text> attributes in order; -1 when the profile entry
 * names an unknown key or one the slot has no value for (the Python writer
 * fails on those: such a page is not handled here). */
static int text_keys(const DumpXmlOptions *o, const SlotInfo *s, int keys[XML_MAX_KEYS])
{
    unsigned sit, have = text_values(s, &sit);
    const char *list = o->text_attrs[sit];
    int n = 0;
    if (!list) {
        for (int k = 0; k < K_SPACE; k++)
            if (have >> k & 1) keys[n++] = k;
        if ((s->flags & DUMP_SLOT_HAS_TEXT) && !(have >> K_DELETED & 1)) keys[n++] = K_SPACE;
        return n;
    }
    for (const char *p = list; *p;) {
        if (*p == ' ') {
            p++;
            continue;
        }
        size_t len = strcspn(p, " ");
        int k = 0;
        while (k < K_COUNT && (strlen(KEY_NAMES[k]) != len || memcmp(KEY_NAMES[k], p, len))) k++;
        if (k == K_COUNT || n == XML_MAX_KEYS || (k != K_SPACE && !(have >> k & 1))) return -1;
        keys[n++] = k;
        p += len;
    }
    return n;
}

static int put_text_attrs(Out *o, const DumpXmlOptions *opt, const SlotInfo *s)
{
    int keys[XML_MAX_KEYS], n = text_keys(opt, s, keys), rc = DUMP_OK;
    char num[24];
    for (int i = 0; i < n && !rc; i++) {
        int k = keys[i];
        if (opt->schema == 10 && (k == K_SHA1 || k == K_LOCATION)) continue;
        if (opt->stub && k == K_SPACE && (s->flags & DUMP_SLOT_HAS_TEXT)) continue;
        switch (k) {
        case K_BYTES: {
            const char *p = fmt_i64(num, s->size);
            rc = put_attr(o, "bytes", (const uint8_t *)p, (size_t)(num + 24 - p));
            break;
        }
        case K_SHA1: rc = put_attr(o, "sha1", s->sha1.ptr, s->sha1.len); break;
        case K_DELETED: rc = put_attr(o, "deleted", (const uint8_t *)"deleted", 7); break;
        case K_LOCATION: rc = put_attr(o, "location", s->location.ptr, s->location.len); break;
        case K_ID: rc = put_attr(o, "id", s->text_id.ptr, s->text_id.len); break;
        default: rc = put_attr(o, "xml:space", (const uint8_t *)"preserve", 8); break;
        }
    }
    return rc;
}

/* ---- canonical records -------------------------------------------------------------- */

/* The role XMLWriter sees: absent is "main" for slot 0, "" for the others. */
static DumpText slot_role(const RevisionInfo *ri, uint32_t i)
{
    DumpText r = ri->slots[i].role;
    if (!r.ptr) r = i ? (DumpText){ (const uint8_t *)"", 0 } : (DumpText){ (const uint8_t *)"main", 4 };
    return r;
}

/* 1 if this file writes the revision as the Python writer would: an empty
 * extra, and nothing the Python side treats differently (no slots, two
 * slots with one role -- a dict keeps one --, a timestamp outside years
 * 1..9999, a profile entry that does not fit the slot). */
static int rev_canonical(const DumpXmlOptions *o, const RevisionInfo *ri)
{
    if (ri->extra.len || ri->nslots == 0) return 0;
    if (ri->contributor < DUMP_CONTRIB_NONE || ri->contributor > DUMP_CONTRIB_DELETED) return 0;
    char ts[20];
    record_timestamp_format(ri->timestamp, ts);
    if (!memcmp(ts, "0000", 4)) return 0;
    int keys[XML_MAX_KEYS];
    for (uint32_t i = 0; i < ri->nslots; i++) {
        if (text_keys(o, &ri->slots[i], keys) < 0) return 0;
        DumpText a = slot_role(ri, i);
        for (uint32_t j = 0; j < i; j++) {
            DumpText b = slot_role(ri, j);
            if (a.len == b.len && (!a.len || !memcmp(a.ptr, b.ptr, a.len))) return 0;
        }
    }
    return 1;
}

/* Where the text of the revision being written comes from. */
typedef struct TextSrc {
    RevisionCursor *c;
    Revision *r;
} TextSrc;

static int put_slot_text(Out *o, const DumpXmlOptions *opt, const RevisionInfo *ri, TextSrc src,
                         uint32_t i, int indent)
{
    const SlotInfo *s = &ri->slots[i];
    const uint8_t *t = NULL;
    size_t n = 0;
    int rc;
    if (!opt->stub && (s->flags & DUMP_SLOT_HAS_TEXT)) {
        rc = src.c ? revision_cursor_text(src.c, i, &t, &n) : revision_get_text(src.r, i, &t, &n);
        if (rc) return rc;
    }
    if ((rc = open_tag(o, indent, "text")) || (rc = put_text_attrs(o, opt, s))) return rc;
    if (!n) return PUT_LIT(o, " />\n");
    if ((rc = PUT_LIT(o, ">")) || (rc = put_text(o, t, n))) return rc;
    return PUT_LIT(o, "</text>\n");
}

static int put_content(Out *o, const DumpXmlOptions *opt, const RevisionInfo *ri, TextSrc src,
                       uint32_t i)
{
    const SlotInfo *s = &ri->slots[i];
    int rc;
    if ((rc = open_tag(o, 6, "content")) || (rc = PUT_LIT(o, ">\n")) ||
        (rc = leaf(o, 8, "role", slot_role(ri, i))))
        return rc;
    if (s->origin != -1 && opt->schema != 10 && (rc = leaf_i64(o, 8, "origin", s->origin))) return rc;
    if (s->model.ptr && (rc = leaf(o, 8, "model", s->model))) return rc;
    if (s->format.ptr && (rc = leaf(o, 8, "format", s->format))) return rc;
    if ((rc = put_slot_text(o, opt, ri, src, i, 8))) return rc;
    return close_tag(o, 6, "content");
}

static int put_contributor(Out *o, const RevisionInfo *ri)
{
    int rc;
    if (ri->contributor == DUMP_CONTRIB_NONE) return DUMP_OK;
    if (ri->contributor == DUMP_CONTRIB_DELETED)
        return PUT_LIT(o, "      <contributor deleted=\"deleted\" />\n");
    int name = ri->user_text.ptr != NULL, id = ri->contributor == DUMP_CONTRIB_USER && ri->user_id >= 0;
    if (!name && !id) return PUT_LIT(o, "      <contributor />\n");
    if ((rc = PUT_LIT(o, "      <contributor>\n"))) return rc;
    if (ri->contributor == DUMP_CONTRIB_IP) {
        if ((rc = leaf(o, 8, "ip", ri->user_text))) return rc;
    } else {
        if (name && (rc = leaf(o, 8, "username", ri->user_text))) return rc;
        if (id && (rc = leaf_i64(o, 8, "id", ri->user_id))) return rc;
    }
    return PUT_LIT(o, "      </contributor>\n");
}

/* An empty <minor> or <sha1> as the style writes it (tag, or dflt). */
static int short_tag(Out *o, const char *tag, const char *dflt)
{
    int rc;
    if ((rc = put(o, SPACES, 6)) || (rc = put_str(o, tag ? tag : dflt))) return rc;
    return PUT_LIT(o, "\n");
}

/* One <revision>: the canonical element list of _extra.revision_elements. */
static int put_revision(Out *o, const DumpXmlOptions *opt, const RevisionInfo *ri, TextSrc src)
{
    const SlotInfo *ms = &ri->slots[0];
    int rc;
    if ((rc = PUT_LIT(o, "    <revision>\n")) || (rc = leaf_i64(o, 6, "id", ri->id))) return rc;
    if ((ri->flags & DUMP_REV_HAS_PARENT) && (rc = leaf_i64(o, 6, "parentid", ri->parent_id))) return rc;
    if (ri->timestamp_text.ptr) {
        rc = leaf(o, 6, "timestamp", ri->timestamp_text);
    } else {
        char ts[20];
        record_timestamp_format(ri->timestamp, ts);
        rc = leaf(o, 6, "timestamp", (DumpText){ (const uint8_t *)ts, sizeof ts });
    }
    if (rc || (rc = put_contributor(o, ri))) return rc;
    if ((ri->flags & DUMP_REV_MINOR) && (rc = short_tag(o, opt->minor_tag, "<minor/>"))) return rc;
    if (ri->flags & DUMP_REV_COMMENT_DELETED) {
        if ((rc = PUT_LIT(o, "      <comment deleted=\"deleted\""))) return rc;
        if (!ri->comment.len) rc = PUT_LIT(o, " />\n");
        else if (!(rc = PUT_LIT(o, ">")) && !(rc = put_text(o, ri->comment.ptr, ri->comment.len)))
            rc = PUT_LIT(o, "</comment>\n");
        if (rc) return rc;
    } else if (ri->comment.ptr && (rc = leaf(o, 6, "comment", ri->comment))) {
        return rc;
    }
    if (ms->origin != -1 && opt->schema != 10 && (rc = leaf_i64(o, 6, "origin", ms->origin))) return rc;
    if (ms->model.ptr && (rc = leaf(o, 6, "model", ms->model))) return rc;
    if (ms->format.ptr && (rc = leaf(o, 6, "format", ms->format))) return rc;
    if ((rc = put_slot_text(o, opt, ri, src, 0, 6))) return rc;
    for (uint32_t i = 1; i < ri->nslots && opt->schema != 10; i++)
        if ((rc = put_content(o, opt, ri, src, i))) return rc;
    if (ri->sha1.ptr && ri->sha1.len) rc = leaf(o, 6, "sha1", ri->sha1);
    else if (ri->sha1.ptr) rc = short_tag(o, opt->sha1_tag, "<sha1/>");
    if (rc) return rc;
    return PUT_LIT(o, "    </revision>\n");
}

/* <page> up to its first revision: title, ns, id, redirect?, restrictions?. */
static int put_page_head(Out *o, const PageInfo *p)
{
    int rc;
    if ((rc = PUT_LIT(o, "  <page>\n")) || (rc = leaf(o, 4, "title", p->title)) ||
        (rc = leaf_i64(o, 4, "ns", p->ns)) || (rc = leaf_i64(o, 4, "id", p->id)))
        return rc;
    if (p->redirect.ptr) {
        if ((rc = open_tag(o, 4, "redirect"))) return rc;
        if (p->redirect.len && (rc = put_attr(o, "title", p->redirect.ptr, p->redirect.len))) return rc;
        if ((rc = PUT_LIT(o, " />\n"))) return rc;
    }
    if (p->restrictions.ptr && (rc = leaf(o, 4, "restrictions", p->restrictions))) return rc;
    return DUMP_OK;
}

/* ---- the page ---------------------------------------------------------------------------- */

static int in_range(const DumpXmlOptions *o, int64_t id)
{
    return (!(o->range & DUMP_XML_REVSTART) || id >= o->revstart) &&
           (!(o->range & DUMP_XML_REVEND) || id < o->revend);
}

/* First pass over the page's revisions, records only: are all the selected
 * ones canonical (*ok), how many are selected, and the latest selected id. */
static int survey(Dump *d, int64_t page_id, const DumpXmlOptions *o, int *ok, uint64_t *count,
                  int64_t *latest)
{
    RevisionCursor *c;
    const RevisionInfo *ri;
    int rc = dump_revisions(d, page_id, &c);
    *ok = 1;
    *count = 0;
    while (rc == DUMP_OK && (rc = revision_cursor_next(c, &ri)) == DUMP_OK) {
        if (!in_range(o, ri->id)) continue;
        ++*count;
        *latest = ri->id;
        if (!o->current && !rev_canonical(o, ri)) {
            *ok = 0;
            break;
        }
    }
    revision_cursor_close(c);
    return rc == DUMP_NOTFOUND || rc == DUMP_OK ? DUMP_OK : rc;
}

static int write_all(Out *o, int64_t page_id, const DumpXmlOptions *opt, uint64_t *written)
{
    RevisionCursor *c;
    const RevisionInfo *ri;
    int rc = dump_revisions(o->d, page_id, &c);
    while (rc == DUMP_OK && (rc = revision_cursor_next(c, &ri)) == DUMP_OK) {
        if (!in_range(opt, ri->id)) continue;
        if ((rc = put_revision(o, opt, ri, (TextSrc){ c, NULL }))) break;
        ++*written;
    }
    revision_cursor_close(c);
    return rc == DUMP_NOTFOUND ? DUMP_OK : rc;
}

/* The page with the revisions the options select; *handled = 0 and nothing
 * written when some record is not canonical. */
static int write_page(Out *o, const PageInfo *p, const DumpXmlOptions *opt, DumpXmlResult *res)
{
    Dump *d = o->d;
    int ok, rc;
    uint64_t count;
    int64_t latest = 0;
    Revision *r = NULL;
    if (p->extra.len) return DUMP_OK;
    if ((rc = survey(d, p->id, opt, &ok, &count, &latest)) || !ok) return rc;
    if (opt->range && count == 0) {
        res->handled = 1;   /* MediaWiki leaves out a page with no revision in range */
        return DUMP_OK;
    }
    if (opt->current && count) {
        if ((rc = dump_get_revision_by_id(d, latest, &r))) return rc;
        if (!rev_canonical(opt, revision_info(r))) {
            revision_free(r);
            return DUMP_OK;
        }
    }
    res->handled = 1;
    res->written = 1;
    if ((rc = put_page_head(o, p))) goto done;
    if (r) {
        if ((rc = put_revision(o, opt, revision_info(r), (TextSrc){ NULL, r }))) goto done;
        res->revisions = 1;
    } else if (!opt->current && (rc = write_all(o, p->id, opt, &res->revisions))) {
        goto done;
    }
    rc = PUT_LIT(o, "  </page>\n");
done:
    revision_free(r);
    return rc;
}

int dump_xml_page(Dump *d, int64_t page_id, const DumpXmlOptions *opt, DumpXmlSink sink, void *ctx,
                  DumpXmlResult *res)
{
    memset(res, 0, sizeof *res);
    int rc = dump_enter(d);
    if (rc) return rc;
    if (!opt || !sink) return error_set(&d->err, DUMP_INVALID, "XML output: no options or no sink");
    if (opt->schema != 10 && opt->schema != 11)
        return error_set(&d->err, DUMP_INVALID, "XML output: schema %d is neither 10 nor 11", opt->schema);
    if (opt->range & ~(unsigned)(DUMP_XML_REVSTART | DUMP_XML_REVEND))
        return error_set(&d->err, DUMP_INVALID, "XML output: unknown range bits %#x", opt->range);
    Page *page;
    if ((rc = dump_get_page_by_id(d, page_id, &page))) return rc;
    Out o = { .d = d, .sink = sink, .ctx = ctx, .quot = opt->quot != 0, .apos = opt->apos != 0 };
    rc = write_page(&o, page_info(page), opt, res);
    if (!rc) rc = out_flush(&o);
    res->bytes = o.total;
    free(o.p);
    page_free(page);
    return rc;
}
