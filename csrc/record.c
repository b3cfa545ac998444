/*
 * record.c -- site-info, page and revision records <-> bytes.
 *
 * Layer 7, pure: status, bytes and the public header's structs; no I/O. The
 * layout is docs/format.md "Records" (normative): a version byte, then
 * (varint tag = field << 3 | wire type, value) pairs in increasing field
 * order, then the end marker 00 (so a record cut at a field boundary is
 * still detected; sub-records, bounded by their length, have none).
 * Decoders make two passes over a record: the first checks its whole
 * structure and counts repeated fields (so *scratch is sized once), the
 * second reads values; both use reader_next, which trusts nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "record.h"

#define WIRE_VARINT 0
#define WIRE_BYTES  2
#define WIRE_NONE   0xff   /* not a field of this record */

#define SHA1_TEXT_LEN 31
#define TIMESTAMP_LEN 20

/* Field numbers (docs/format.md "Records"). */
enum {
    SI_SITENAME = 1, SI_DBNAME, SI_BASE, SI_GENERATOR, SI_CASING, SI_LANG, SI_SCHEMA,
    SI_NAMESPACE, SI_EXTRA, SI_NFIELDS
};
enum { NS_KEY = 1, NS_NAME, NS_CASING, NS_NFIELDS };
enum {
    PG_NS = 1, PG_TITLE, PG_TITLE_PREFIX, PG_REDIRECT, PG_RESTRICTIONS, PG_EXTRA, PG_NFIELDS
};
/* Revision: the fields most revisions have are numbered below 16, so their
 * tags take one byte. */
enum {
    RV_PARENT = 1, RV_TIMESTAMP = 2, RV_META = 3, RV_USER = 4, RV_USER_ID = 5,
    RV_COMMENT = 6, RV_SHA1 = 7, RV_MAIN_ORIGIN = 8, RV_MAIN_MODEL = 9,
    RV_MAIN_FORMAT = 10, RV_MAIN_SIZE = 11, RV_MAIN_SHA1 = 12,
    RV_TIMESTAMP_TEXT = 16, RV_SHA1_TEXT = 17, RV_MAIN_ROLE = 18, RV_MAIN_SHA1_TEXT = 19,
    RV_MAIN_LOCATION = 20, RV_MAIN_TEXT_ID = 21, RV_SLOT = 22, RV_EXTRA = 23, RV_NFIELDS
};
enum {
    SL_ROLE = 1, SL_ORIGIN, SL_MODEL, SL_FORMAT, SL_SHA1, SL_SHA1_TEXT, SL_SIZE, SL_FLAGS,
    SL_LOCATION, SL_TEXT_ID, SL_NFIELDS
};

/* RV_META bits: what a typical revision sets fits in the first 7 (one
 * varint byte). */
#define META_CONTRIB_MASK    0x003u   /* DUMP_CONTRIB_* */
#define META_MINOR           0x004u
#define META_MAIN            0x008u   /* the revision has slots (slot 0 inline) */
#define META_MAIN_SAME_SHA1  0x010u   /* slot 0's sha1 is the revision's */
#define META_MAIN_HAS_TEXT   0x020u
#define META_MAIN_ORIGIN_SELF 0x040u  /* slot 0's origin is this revision */
#define META_MAIN_DELETED    0x080u
#define META_COMMENT_DELETED 0x100u
#define META_USER_DELETED    0x200u
#define META_TEXT_DELETED    0x400u
#define META_SUPPRESSED      0x800u
#define META_ALL             0xfffu
#define META_MAIN_BITS (META_MAIN_SAME_SHA1 | META_MAIN_HAS_TEXT | META_MAIN_ORIGIN_SELF | \
                        META_MAIN_DELETED)

#define REV_FLAGS_ALL  (DUMP_REV_MINOR | DUMP_REV_HAS_PARENT | DUMP_REV_COMMENT_DELETED | \
                        DUMP_REV_USER_DELETED | DUMP_REV_TEXT_DELETED | DUMP_REV_SUPPRESSED)
#define SLOT_FLAGS_ALL (DUMP_SLOT_HAS_TEXT | DUMP_SLOT_DELETED)

static const uint8_t MAIN_ROLE[] = "main";
static const uint8_t EMPTY[] = "";

/* ---- schemas ---------------------------------------------------------------- */

/* What a reader knows about one kind of record: the wire type of each known
 * field number (index < nfields; WIRE_NONE for gaps) and which may repeat. */
typedef struct Schema {
    const char *what;
    unsigned nfields;
    const uint8_t *wire;
    uint64_t repeats;      /* bit i: field i may occur several times in a row */
} Schema;

static const uint8_t SI_WIRE[SI_NFIELDS] = {
    WIRE_NONE, WIRE_BYTES, WIRE_BYTES, WIRE_BYTES, WIRE_BYTES, WIRE_BYTES, WIRE_BYTES,
    WIRE_BYTES, WIRE_BYTES, WIRE_BYTES,
};
static const uint8_t NS_WIRE[NS_NFIELDS] = { WIRE_NONE, WIRE_VARINT, WIRE_BYTES, WIRE_BYTES };
static const uint8_t PG_WIRE[PG_NFIELDS] = {
    WIRE_NONE, WIRE_VARINT, WIRE_BYTES, WIRE_VARINT, WIRE_BYTES, WIRE_BYTES, WIRE_BYTES,
};
static const uint8_t RV_WIRE[RV_NFIELDS] = {
    [0] = WIRE_NONE,
    [RV_PARENT] = WIRE_VARINT, [RV_TIMESTAMP] = WIRE_VARINT, [RV_META] = WIRE_VARINT,
    [RV_USER] = WIRE_VARINT, [RV_USER_ID] = WIRE_VARINT, [RV_COMMENT] = WIRE_BYTES,
    [RV_SHA1] = WIRE_BYTES, [RV_MAIN_ORIGIN] = WIRE_VARINT, [RV_MAIN_MODEL] = WIRE_VARINT,
    [RV_MAIN_FORMAT] = WIRE_VARINT, [RV_MAIN_SIZE] = WIRE_VARINT, [RV_MAIN_SHA1] = WIRE_BYTES,
    [13] = WIRE_NONE, [14] = WIRE_NONE, [15] = WIRE_NONE,
    [RV_TIMESTAMP_TEXT] = WIRE_BYTES, [RV_SHA1_TEXT] = WIRE_BYTES,
    [RV_MAIN_ROLE] = WIRE_VARINT, [RV_MAIN_SHA1_TEXT] = WIRE_BYTES,
    [RV_MAIN_LOCATION] = WIRE_BYTES, [RV_MAIN_TEXT_ID] = WIRE_BYTES,
    [RV_SLOT] = WIRE_BYTES, [RV_EXTRA] = WIRE_BYTES,
};
static const uint8_t SL_WIRE[SL_NFIELDS] = {
    WIRE_NONE, WIRE_VARINT, WIRE_VARINT, WIRE_VARINT, WIRE_VARINT, WIRE_BYTES, WIRE_BYTES,
    WIRE_VARINT, WIRE_VARINT, WIRE_BYTES, WIRE_BYTES,
};

static const Schema SITEINFO = { "siteinfo record", SI_NFIELDS, SI_WIRE,
                                 (uint64_t)1 << SI_NAMESPACE };
static const Schema NAMESPACE = { "namespace", NS_NFIELDS, NS_WIRE, 0 };
static const Schema PAGE = { "page record", PG_NFIELDS, PG_WIRE, 0 };
static const Schema REVISION = { "revision record", RV_NFIELDS, RV_WIRE,
                                 (uint64_t)1 << RV_SLOT };
static const Schema SLOT = { "slot", SL_NFIELDS, SL_WIRE, 0 };

/* ---- reading ------------------------------------------------------------------ */

typedef struct Field {
    uint64_t num;
    unsigned wire;
    uint64_t v;              /* WIRE_VARINT */
    const uint8_t *p;        /* WIRE_BYTES: [p, p + n), inside the record */
    size_t n;
} Field;

typedef struct Reader {
    const Schema *schema;
    const char *where;       /* message prefix, e.g. "revision record: slot 2" */
    const uint8_t *start, *p, *end;
    uint64_t last;           /* previous field number; 0 before the first */
    int terminated;          /* a top-level record: ends with the end marker */
    int done;                /* the end marker was read */
    ErrorInfo *err;
} Reader;

/* terminated: p is a top-level record after its version byte. */
static void reader_init(Reader *rd, const Schema *s, const char *where, int terminated,
                        const uint8_t *p, size_t n, ErrorInfo *err)
{
    rd->schema = s;
    rd->terminated = terminated;
    rd->done = 0;
    rd->where = where ? where : s->what;
    rd->start = rd->p = p;
    rd->end = p + n;
    rd->last = 0;
    rd->err = err;
}

/* The next field into *f: 1, or 0 at the end of the record, or -1 with
 * DUMP_CORRUPT set. Checks the tag, the order, the wire type of known
 * fields and that a value lies inside the record; skips nothing (callers
 * ignore numbers they do not know). */
static int reader_next(Reader *rd, Field *f)
{
    if (rd->p == rd->end) {
        if (rd->terminated && !rd->done) {
            error_set(rd->err, DUMP_CORRUPT, "%s: truncated (no end marker)", rd->where);
            return -1;
        }
        return 0;
    }
    size_t off = (size_t)(rd->p - rd->start), k;
    uint64_t tag;
    if (!(k = varint_get(rd->p, rd->end, &tag))) {
        error_set(rd->err, DUMP_CORRUPT, "%s: bad field tag at offset %zu", rd->where, off);
        return -1;
    }
    rd->p += k;
    if (tag == 0 && rd->terminated) {
        if (rd->p != rd->end) {
            error_set(rd->err, DUMP_CORRUPT, "%s: %zu bytes after the end marker (offset %zu)",
                      rd->where, (size_t)(rd->end - rd->p), off);
            return -1;
        }
        rd->done = 1;
        return 0;
    }
    f->num = tag >> 3;
    f->wire = (unsigned)(tag & 7);
    const Schema *s = rd->schema;
    int known = f->num < s->nfields && s->wire[f->num] != WIRE_NONE;
    if (f->num == 0) {
        error_set(rd->err, DUMP_CORRUPT, "%s: field number 0 at offset %zu", rd->where, off);
        return -1;
    }
    if (f->num < rd->last) {
        error_set(rd->err, DUMP_CORRUPT, "%s: field %llu after field %llu (offset %zu)",
                  rd->where, (unsigned long long)f->num, (unsigned long long)rd->last, off);
        return -1;
    }
    /* Unknown numbers may repeat: a later version may define repeated ones. */
    if (f->num == rd->last && known && !(f->num < 64 && (s->repeats >> f->num & 1))) {
        error_set(rd->err, DUMP_CORRUPT, "%s: duplicate field %llu at offset %zu",
                  rd->where, (unsigned long long)f->num, off);
        return -1;
    }
    if (f->wire != WIRE_VARINT && f->wire != WIRE_BYTES) {
        error_set(rd->err, DUMP_CORRUPT, "%s: field %llu has unknown wire type %u (offset %zu)",
                  rd->where, (unsigned long long)f->num, f->wire, off);
        return -1;
    }
    if (known && f->wire != s->wire[f->num]) {
        error_set(rd->err, DUMP_CORRUPT, "%s: field %llu has wire type %u, expected %u "
                  "(offset %zu)", rd->where, (unsigned long long)f->num, f->wire,
                  (unsigned)s->wire[f->num], off);
        return -1;
    }
    if (!(k = varint_get(rd->p, rd->end, &f->v))) {
        error_set(rd->err, DUMP_CORRUPT, "%s: field %llu: bad varint at offset %zu",
                  rd->where, (unsigned long long)f->num, (size_t)(rd->p - rd->start));
        return -1;
    }
    rd->p += k;
    f->p = NULL;
    f->n = 0;
    if (f->wire == WIRE_BYTES) {
        if (f->v > (uint64_t)(rd->end - rd->p)) {
            error_set(rd->err, DUMP_CORRUPT, "%s: field %llu: length %llu beyond the end "
                      "(offset %zu, %zu bytes left)", rd->where, (unsigned long long)f->num,
                      (unsigned long long)f->v, off, (size_t)(rd->end - rd->p));
            return -1;
        }
        f->p = rd->p;
        f->n = (size_t)f->v;
        rd->p += f->n;
    }
    rd->last = f->num;
    return 1;
}

/* Check the version byte; on success the fields start at p + 1. */
static int check_version(const Schema *s, const uint8_t *p, size_t n, ErrorInfo *err)
{
    if (n == 0 || p == NULL)
        return error_set(err, DUMP_CORRUPT, "%s: empty", s->what);
    if (p[0] != RECORD_VERSION)
        return error_set(err, DUMP_VERSION, "%s: version %u (this build reads %d)", s->what,
                         (unsigned)p[0], RECORD_VERSION);
    return DUMP_OK;
}

/* Walk every field of the top-level record [p, p + n) (after its version
 * byte) once: the structure is sound. Counts the
 * occurrences of field `count_num` (0: none) into *count. */
static int scan(const Schema *s, const uint8_t *p, size_t n, uint64_t count_num,
                size_t *count, ErrorInfo *err)
{
    Reader rd;
    Field f;
    int got;
    reader_init(&rd, s, NULL, 1, p, n, err);
    if (count)
        *count = 0;
    while ((got = reader_next(&rd, &f)) > 0)
        if (count && f.num == count_num)
            (*count)++;
    return got < 0 ? DUMP_CORRUPT : DUMP_OK;
}

static DumpText text_of(const Field *f)
{
    DumpText t = { f->n ? f->p : EMPTY, f->n };
    return t;
}

static int corrupt(const Reader *rd, const Field *f, const char *what)
{
    return error_set(rd->err, DUMP_CORRUPT, "%s: field %llu: %s", rd->where,
                     (unsigned long long)f->num, what);
}

/* A non-negative int64 from a varint. */
static int get_nonneg(const Reader *rd, const Field *f, int64_t *out)
{
    if (f->v > (uint64_t)INT64_MAX)
        return corrupt(rd, f, "value out of range");
    *out = (int64_t)f->v;
    return DUMP_OK;
}

/* id - zigzag(delta), as written by put_delta; must be >= 0. */
static int get_delta(const Reader *rd, const Field *f, int64_t id, int64_t *out)
{
    int64_t v = (int64_t)((uint64_t)id - (uint64_t)zigzag_dec(f->v));
    if (v < 0)
        return corrupt(rd, f, "id out of range");
    *out = v;
    return DUMP_OK;
}

static int get_interned(const Reader *rd, const Field *f, const RecordStrings *strs, int kind,
                        DumpText *out)
{
    const uint8_t *p = NULL;
    size_t n = 0;
    if (f->v == 0)
        return corrupt(rd, f, "string id 0");
    int rc = strs->lookup(strs->ctx, kind, f->v, &p, &n, rd->err);
    if (rc != DUMP_OK)
        return rc;
    out->ptr = p ? p : EMPTY;
    out->len = p ? n : 0;
    return DUMP_OK;
}

/* ---- writing ----------------------------------------------------------------- */

typedef struct Writer {
    RecordBuf *b;
    int nomem;               /* sticky: an allocation failed */
} Writer;

static int wr_reserve(Writer *w, size_t more)
{
    RecordBuf *b = w->b;
    if (w->nomem)
        return 0;
    if (more <= b->cap - b->len)
        return 1;
    if (more > SIZE_MAX / 2 - b->len) {
        w->nomem = 1;
        return 0;
    }
    size_t cap = b->cap ? b->cap : 64;
    while (cap - b->len < more)
        cap *= 2;
    uint8_t *p = realloc(b->p, cap);
    if (!p) {
        w->nomem = 1;
        return 0;
    }
    b->p = p;
    b->cap = cap;
    return 1;
}

static void wr_varint(Writer *w, uint64_t v)
{
    if (wr_reserve(w, VARINT_MAX))
        w->b->len += varint_put(w->b->p + w->b->len, v);
}

static void put_varint(Writer *w, unsigned num, uint64_t v)
{
    wr_varint(w, (uint64_t)num << 3 | WIRE_VARINT);
    wr_varint(w, v);
}

static void put_bytes(Writer *w, unsigned num, const uint8_t *p, size_t n)
{
    wr_varint(w, (uint64_t)num << 3 | WIRE_BYTES);
    wr_varint(w, n);
    if (n && wr_reserve(w, n)) {
        memcpy(w->b->p + w->b->len, p, n);
        w->b->len += n;
    }
}

/* A text field when present; absent costs nothing. */
static void put_text(Writer *w, unsigned num, DumpText t)
{
    if (t.ptr)
        put_bytes(w, num, t.ptr, t.len);
}

/* zigzag(id - v), in two's complement so every pair of int64 round-trips. */
static void put_delta(Writer *w, unsigned num, int64_t id, int64_t v)
{
    put_varint(w, num, zigzag_enc((int64_t)((uint64_t)id - (uint64_t)v)));
}

/* The sha1 as 20 bytes under bin_num when that loses nothing, else as text
 * under text_num; nothing when absent. */
static void put_sha1(Writer *w, unsigned bin_num, unsigned text_num, DumpText t)
{
    uint8_t bin[20];
    if (!t.ptr)
        return;
    if (record_sha1_to_bin(t.ptr, t.len, bin))
        put_bytes(w, bin_num, bin, 20);
    else
        put_bytes(w, text_num, t.ptr, t.len);
}

static int put_interned(Writer *w, unsigned num, const RecordStrings *strs, int kind,
                        DumpText t, ErrorInfo *err)
{
    uint64_t id = 0;
    if (!t.ptr)
        return DUMP_OK;
    int rc = strs->intern(strs->ctx, kind, t.len ? t.ptr : EMPTY, t.len, &id, err);
    if (rc != DUMP_OK)
        return rc;
    if (id == 0)
        return error_set(err, DUMP_INVALID, "revision record: string table returned id 0");
    put_varint(w, num, id);
    return DUMP_OK;
}

/* The end marker; DUMP_OK or DUMP_NOMEM. */
static int wr_finish(Writer *w, const char *what, ErrorInfo *err)
{
    wr_varint(w, 0);
    if (w->nomem)
        return error_set(err, DUMP_NOMEM, "%s: out of memory", what);
    return DUMP_OK;
}

static void wr_start(Writer *w, RecordBuf *b)
{
    w->b = b;
    w->nomem = 0;
    b->len = 0;
    if (wr_reserve(w, 1))
        b->p[b->len++] = RECORD_VERSION;
}

void recordbuf_free(RecordBuf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

static int text_eq(DumpText a, DumpText b)
{
    if (!a.ptr || !b.ptr)
        return !a.ptr && !b.ptr;
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

/* ---- site info ----------------------------------------------------------------- */

int record_encode_siteinfo(const DumpSiteInfo *si, RecordBuf *b, ErrorInfo *err)
{
    Writer w;
    RecordBuf sub = { 0 };
    Writer sw = { &sub, 0 };

    if (si->nnamespaces && !si->namespaces)
        return error_set(err, DUMP_INVALID, "siteinfo record: namespaces is NULL");
    wr_start(&w, b);
    put_text(&w, SI_SITENAME, si->sitename);
    put_text(&w, SI_DBNAME, si->dbname);
    put_text(&w, SI_BASE, si->base);
    put_text(&w, SI_GENERATOR, si->generator);
    put_text(&w, SI_CASING, si->casing);
    put_text(&w, SI_LANG, si->lang);
    put_text(&w, SI_SCHEMA, si->schema);
    for (uint32_t i = 0; i < si->nnamespaces; i++) {
        const DumpNamespace *ns = &si->namespaces[i];
        sub.len = 0;
        if (ns->key != 0)
            put_varint(&sw, NS_KEY, zigzag_enc(ns->key));
        put_text(&sw, NS_NAME, ns->name);
        put_text(&sw, NS_CASING, ns->casing);
        if (sw.nomem)
            break;
        put_bytes(&w, SI_NAMESPACE, sub.p, sub.len);
    }
    put_text(&w, SI_EXTRA, si->extra);
    recordbuf_free(&sub);
    w.nomem |= sw.nomem;
    return wr_finish(&w, "siteinfo record", err);
}

static int decode_namespace(const uint8_t *p, size_t n, uint32_t index, DumpNamespace *ns,
                            ErrorInfo *err)
{
    char where[64];
    Reader rd;
    Field f;
    int got;

    snprintf(where, sizeof where, "siteinfo record: namespace %u", (unsigned)index);
    memset(ns, 0, sizeof *ns);
    reader_init(&rd, &NAMESPACE, where, 0, p, n, err);
    while ((got = reader_next(&rd, &f)) > 0) {
        switch (f.num) {
        case NS_KEY: ns->key = zigzag_dec(f.v); break;
        case NS_NAME: ns->name = text_of(&f); break;
        case NS_CASING: ns->casing = text_of(&f); break;
        default: break;   /* unknown: skipped */
        }
    }
    return got < 0 ? DUMP_CORRUPT : DUMP_OK;
}

int record_decode_siteinfo(const uint8_t *p, size_t n, DumpSiteInfo *out,
                           void **scratch, ErrorInfo *err)
{
    Reader rd;
    Field f;
    size_t nns;
    int rc, got;

    memset(out, 0, sizeof *out);
    if ((rc = check_version(&SITEINFO, p, n, err)) != DUMP_OK)
        return rc;
    if ((rc = scan(&SITEINFO, p + 1, n - 1, SI_NAMESPACE, &nns, err)) != DUMP_OK)
        return rc;
    if (nns > UINT32_MAX)
        return error_set(err, DUMP_CORRUPT, "siteinfo record: %zu namespaces", nns);
    DumpNamespace *nss = NULL;
    if (nns) {
        if (!(nss = realloc(*scratch, nns * sizeof *nss)))
            return error_set(err, DUMP_NOMEM, "siteinfo record: out of memory");
        *scratch = nss;
    }
    reader_init(&rd, &SITEINFO, NULL, 1, p + 1, n - 1, err);
    uint32_t k = 0;
    while ((got = reader_next(&rd, &f)) > 0) {
        switch (f.num) {
        case SI_SITENAME: out->sitename = text_of(&f); break;
        case SI_DBNAME: out->dbname = text_of(&f); break;
        case SI_BASE: out->base = text_of(&f); break;
        case SI_GENERATOR: out->generator = text_of(&f); break;
        case SI_CASING: out->casing = text_of(&f); break;
        case SI_LANG: out->lang = text_of(&f); break;
        case SI_SCHEMA: out->schema = text_of(&f); break;
        case SI_NAMESPACE:
            if ((rc = decode_namespace(f.p, f.n, k, &nss[k], err)) != DUMP_OK)
                return rc;
            k++;
            break;
        case SI_EXTRA: out->extra = text_of(&f); break;
        default: break;
        }
    }
    if (got < 0)
        return DUMP_CORRUPT;
    out->nnamespaces = k;
    out->namespaces = k ? nss : NULL;
    return DUMP_OK;
}

/* ---- pages ------------------------------------------------------------------------- */

int record_encode_page(const PageInfo *pg, RecordBuf *b, ErrorInfo *err)
{
    Writer w;
    size_t tlen = pg->title.ptr ? pg->title.len : 0;

    if (pg->title_prefix > tlen)
        return error_set(err, DUMP_INVALID, "page record: title_prefix %u beyond the title "
                         "(%zu bytes)", (unsigned)pg->title_prefix, tlen);
    wr_start(&w, b);
    if (pg->ns != 0)
        put_varint(&w, PG_NS, zigzag_enc(pg->ns));
    put_text(&w, PG_TITLE, pg->title);
    if (pg->title_prefix)
        put_varint(&w, PG_TITLE_PREFIX, pg->title_prefix);
    put_text(&w, PG_REDIRECT, pg->redirect);
    put_text(&w, PG_RESTRICTIONS, pg->restrictions);
    put_text(&w, PG_EXTRA, pg->extra);
    return wr_finish(&w, "page record", err);
}

int record_decode_page(const uint8_t *p, size_t n, int64_t page_id, PageInfo *out,
                       ErrorInfo *err)
{
    Reader rd;
    Field f;
    int rc, got;
    uint64_t prefix = 0;

    memset(out, 0, sizeof *out);
    out->id = page_id;
    if ((rc = check_version(&PAGE, p, n, err)) != DUMP_OK)
        return rc;
    reader_init(&rd, &PAGE, NULL, 1, p + 1, n - 1, err);
    while ((got = reader_next(&rd, &f)) > 0) {
        switch (f.num) {
        case PG_NS: out->ns = zigzag_dec(f.v); break;
        case PG_TITLE: out->title = text_of(&f); break;
        case PG_TITLE_PREFIX: prefix = f.v; break;
        case PG_REDIRECT: out->redirect = text_of(&f); break;
        case PG_RESTRICTIONS: out->restrictions = text_of(&f); break;
        case PG_EXTRA: out->extra = text_of(&f); break;
        default: break;
        }
    }
    if (got < 0)
        return DUMP_CORRUPT;
    if (prefix > out->title.len)
        return error_set(err, DUMP_CORRUPT, "page record: title_prefix %llu beyond the title "
                         "(%zu bytes)", (unsigned long long)prefix, out->title.len);
    out->title_prefix = (uint32_t)prefix;
    return DUMP_OK;
}

/* ---- revisions --------------------------------------------------------------------- */

/* Range checks shared by slot 0 and the others. */
static int check_slot(const SlotInfo *s, uint32_t i, ErrorInfo *err)
{
    if (s->origin < -1)
        return error_set(err, DUMP_INVALID, "revision record: slot %u: origin %lld",
                         (unsigned)i, (long long)s->origin);
    if (s->size < -1)
        return error_set(err, DUMP_INVALID, "revision record: slot %u: size %lld",
                         (unsigned)i, (long long)s->size);
    if (s->flags & ~(uint32_t)SLOT_FLAGS_ALL)
        return error_set(err, DUMP_INVALID, "revision record: slot %u: unknown flags 0x%x",
                         (unsigned)i, (unsigned)s->flags);
    return DUMP_OK;
}

static int check_revision(const RevisionInfo *r, const RecordStrings *strs, ErrorInfo *err)
{
    if (r->flags & ~(uint32_t)REV_FLAGS_ALL)
        return error_set(err, DUMP_INVALID, "revision record: unknown flags 0x%x",
                         (unsigned)r->flags);
    if (r->contributor < DUMP_CONTRIB_NONE || r->contributor > DUMP_CONTRIB_DELETED)
        return error_set(err, DUMP_INVALID, "revision record: contributor kind %d",
                         r->contributor);
    if ((r->flags & DUMP_REV_HAS_PARENT) && r->parent_id < 0)
        return error_set(err, DUMP_INVALID, "revision record: parent id %lld",
                         (long long)r->parent_id);
    if (r->user_id < -1)
        return error_set(err, DUMP_INVALID, "revision record: user id %lld",
                         (long long)r->user_id);
    if (r->nslots > RECORD_MAX_SLOTS)
        return error_set(err, DUMP_INVALID, "revision record: %u slots (at most %d)",
                         (unsigned)r->nslots, RECORD_MAX_SLOTS);
    if (r->nslots && !r->slots)
        return error_set(err, DUMP_INVALID, "revision record: slots is NULL");
    for (uint32_t i = 0; i < r->nslots; i++) {
        int rc = check_slot(&r->slots[i], i, err);
        if (rc != DUMP_OK)
            return rc;
    }
    if (!strs && (r->user_text.ptr || r->nslots))
        return error_set(err, DUMP_INVALID, "revision record: no string table");
    return DUMP_OK;
}

static int encode_slot(const SlotInfo *s, int64_t rev_id, const RecordStrings *strs,
                       Writer *w, ErrorInfo *err)
{
    int rc;
    if ((rc = put_interned(w, SL_ROLE, strs, RECORD_STR_ROLE, s->role, err)) != DUMP_OK)
        return rc;
    if (s->origin >= 0)
        put_delta(w, SL_ORIGIN, rev_id, s->origin);
    if ((rc = put_interned(w, SL_MODEL, strs, RECORD_STR_MODEL, s->model, err)) != DUMP_OK ||
        (rc = put_interned(w, SL_FORMAT, strs, RECORD_STR_FORMAT, s->format, err)) != DUMP_OK)
        return rc;
    put_sha1(w, SL_SHA1, SL_SHA1_TEXT, s->sha1);
    if (s->size >= 0)
        put_varint(w, SL_SIZE, (uint64_t)s->size);
    if (s->flags)
        put_varint(w, SL_FLAGS, s->flags);
    put_text(w, SL_LOCATION, s->location);
    put_text(w, SL_TEXT_ID, s->text_id);
    return DUMP_OK;
}

int record_encode_revision(const RevisionInfo *r, const RecordStrings *strs,
                           RecordBuf *b, ErrorInfo *err)
{
    Writer w;
    RecordBuf sub = { 0 };
    Writer sw = { &sub, 0 };
    const SlotInfo *m = r->nslots ? &r->slots[0] : NULL;
    int rc;
    int64_t t;

    if ((rc = check_revision(r, strs, err)) != DUMP_OK)
        return rc;
    uint64_t meta = (uint64_t)r->contributor;
    if (r->flags & DUMP_REV_MINOR) meta |= META_MINOR;
    if (r->flags & DUMP_REV_COMMENT_DELETED) meta |= META_COMMENT_DELETED;
    if (r->flags & DUMP_REV_USER_DELETED) meta |= META_USER_DELETED;
    if (r->flags & DUMP_REV_TEXT_DELETED) meta |= META_TEXT_DELETED;
    if (r->flags & DUMP_REV_SUPPRESSED) meta |= META_SUPPRESSED;
    int same_sha1 = m && m->sha1.ptr && text_eq(m->sha1, r->sha1);
    int origin_self = m && m->origin >= 0 && m->origin == r->id;
    if (m) {
        meta |= META_MAIN;
        if (same_sha1) meta |= META_MAIN_SAME_SHA1;
        if (origin_self) meta |= META_MAIN_ORIGIN_SELF;
        if (m->flags & DUMP_SLOT_HAS_TEXT) meta |= META_MAIN_HAS_TEXT;
        if (m->flags & DUMP_SLOT_DELETED) meta |= META_MAIN_DELETED;
    }
    /* A timestamp text that format() would give back is not kept. */
    int keep_ts = r->timestamp_text.ptr &&
                  !(record_timestamp_parse(r->timestamp_text.ptr, r->timestamp_text.len, &t) &&
                    t == r->timestamp);

    wr_start(&w, b);
    if (r->flags & DUMP_REV_HAS_PARENT)
        put_delta(&w, RV_PARENT, r->id, r->parent_id);
    if (r->timestamp != 0)
        put_varint(&w, RV_TIMESTAMP, zigzag_enc(r->timestamp));
    if (meta)
        put_varint(&w, RV_META, meta);
    if ((rc = put_interned(&w, RV_USER, strs, RECORD_STR_NAME, r->user_text, err)) != DUMP_OK)
        goto out;
    if (r->user_id >= 0)
        put_varint(&w, RV_USER_ID, (uint64_t)r->user_id);
    put_text(&w, RV_COMMENT, r->comment);
    uint8_t bin[20];
    int sha1_bin = r->sha1.ptr && record_sha1_to_bin(r->sha1.ptr, r->sha1.len, bin);
    if (sha1_bin)
        put_bytes(&w, RV_SHA1, bin, 20);
    if (m) {
        if (m->origin >= 0 && !origin_self)
            put_delta(&w, RV_MAIN_ORIGIN, r->id, m->origin);
        if ((rc = put_interned(&w, RV_MAIN_MODEL, strs, RECORD_STR_MODEL, m->model, err)) ||
            (rc = put_interned(&w, RV_MAIN_FORMAT, strs, RECORD_STR_FORMAT, m->format, err)))
            goto out;
        if (m->size >= 0)
            put_varint(&w, RV_MAIN_SIZE, (uint64_t)m->size);
        if (!same_sha1 && m->sha1.ptr && record_sha1_to_bin(m->sha1.ptr, m->sha1.len, bin))
            put_bytes(&w, RV_MAIN_SHA1, bin, 20);
    }
    if (keep_ts)
        put_text(&w, RV_TIMESTAMP_TEXT, r->timestamp_text);
    if (r->sha1.ptr && !sha1_bin)
        put_text(&w, RV_SHA1_TEXT, r->sha1);
    if (m) {
        if (!m->role.ptr)
            put_varint(&w, RV_MAIN_ROLE, 0);      /* 0: no role at all */
        else if (!text_eq(m->role, (DumpText){ MAIN_ROLE, 4 }) &&
                 (rc = put_interned(&w, RV_MAIN_ROLE, strs, RECORD_STR_ROLE, m->role, err)))
            goto out;
        if (!same_sha1 && m->sha1.ptr && !record_sha1_to_bin(m->sha1.ptr, m->sha1.len, bin))
            put_text(&w, RV_MAIN_SHA1_TEXT, m->sha1);
        put_text(&w, RV_MAIN_LOCATION, m->location);
        put_text(&w, RV_MAIN_TEXT_ID, m->text_id);
    }
    for (uint32_t i = 1; i < r->nslots; i++) {
        sub.len = 0;
        if ((rc = encode_slot(&r->slots[i], r->id, strs, &sw, err)) != DUMP_OK)
            goto out;
        if (sw.nomem)
            break;
        put_bytes(&w, RV_SLOT, sub.p, sub.len);
    }
    put_text(&w, RV_EXTRA, r->extra);
    w.nomem |= sw.nomem;
    rc = wr_finish(&w, "revision record", err);
out:
    recordbuf_free(&sub);
    return rc;
}

/* State of one revision decode: where base36 sha1 texts go. */
typedef struct RevDecode {
    const RecordStrings *strs;
    int64_t rev_id;
    char *sha1_out;          /* next free 31-byte cell in scratch */
} RevDecode;

static DumpText sha1_of(RevDecode *st, const uint8_t bin[20])
{
    DumpText t = { (const uint8_t *)st->sha1_out, SHA1_TEXT_LEN };
    record_sha1_to_base36(bin, st->sha1_out);
    st->sha1_out += SHA1_TEXT_LEN;
    return t;
}

/* A sha1 field: 20 bytes (bin) or text that must not be canonical base36. */
static int get_sha1(const Reader *rd, const Field *f, int bin, RevDecode *st, DumpText *out)
{
    uint8_t tmp[20];
    if (out->ptr)
        return corrupt(rd, f, "sha1 given twice");
    if (bin) {
        if (f->n != 20)
            return corrupt(rd, f, "binary sha1 is not 20 bytes");
        *out = sha1_of(st, f->p);
    } else {
        if (record_sha1_to_bin(f->p, f->n, tmp))
            return corrupt(rd, f, "canonical sha1 stored as text");
        *out = text_of(f);
    }
    return DUMP_OK;
}

static int decode_slot(const uint8_t *p, size_t n, uint32_t index, RevDecode *st,
                       SlotInfo *s, ErrorInfo *err)
{
    char where[64];
    Reader rd;
    Field f;
    int got, rc = DUMP_OK;

    snprintf(where, sizeof where, "revision record: slot %u", (unsigned)index);
    memset(s, 0, sizeof *s);
    s->origin = s->size = -1;
    reader_init(&rd, &SLOT, where, 0, p, n, err);
    while (rc == DUMP_OK && (got = reader_next(&rd, &f)) > 0) {
        switch (f.num) {
        case SL_ROLE: rc = get_interned(&rd, &f, st->strs, RECORD_STR_ROLE, &s->role); break;
        case SL_ORIGIN: rc = get_delta(&rd, &f, st->rev_id, &s->origin); break;
        case SL_MODEL: rc = get_interned(&rd, &f, st->strs, RECORD_STR_MODEL, &s->model); break;
        case SL_FORMAT:
            rc = get_interned(&rd, &f, st->strs, RECORD_STR_FORMAT, &s->format);
            break;
        case SL_SHA1: rc = get_sha1(&rd, &f, 1, st, &s->sha1); break;
        case SL_SHA1_TEXT: rc = get_sha1(&rd, &f, 0, st, &s->sha1); break;
        case SL_SIZE: rc = get_nonneg(&rd, &f, &s->size); break;
        case SL_FLAGS:
            if (f.v & ~(uint64_t)SLOT_FLAGS_ALL)
                rc = corrupt(&rd, &f, "unknown slot flags");
            s->flags = (uint32_t)f.v;
            break;
        case SL_LOCATION: s->location = text_of(&f); break;
        case SL_TEXT_ID: s->text_id = text_of(&f); break;
        default: break;
        }
    }
    if (rc != DUMP_OK)
        return rc;
    return got < 0 ? DUMP_CORRUPT : DUMP_OK;
}

/* Fields 1..23 of a revision record into r and m (slot 0); extra slots go
 * to slots[1..]. */
static int decode_revision_fields(Reader *rd, RevDecode *st, RevisionInfo *r, SlotInfo *slots)
{
    SlotInfo *m = &slots[0];
    Field f;
    int got, rc = DUMP_OK, main_role = 0;
    uint64_t meta = 0;
    uint32_t nslots = 0;
    int64_t t;

    while (rc == DUMP_OK && (got = reader_next(rd, &f)) > 0) {
        /* Fields of slot 0 need a slot 0 (meta, field 3, comes first). */
        if (((f.num >= RV_MAIN_ORIGIN && f.num <= RV_MAIN_SHA1) ||
             (f.num >= RV_MAIN_ROLE && f.num <= RV_SLOT)) && !(meta & META_MAIN))
            return corrupt(rd, &f, "slot field in a revision without slots");
        switch (f.num) {
        case RV_PARENT:
            rc = get_delta(rd, &f, r->id, &r->parent_id);
            r->flags |= DUMP_REV_HAS_PARENT;
            break;
        case RV_TIMESTAMP: r->timestamp = zigzag_dec(f.v); break;
        case RV_META:
            if (f.v & ~(uint64_t)META_ALL)
                return corrupt(rd, &f, "unknown bits");
            meta = f.v;
            if (!(meta & META_MAIN) && (meta & META_MAIN_BITS))
                return corrupt(rd, &f, "slot bits in a revision without slots");
            if (meta & META_MAIN)
                nslots = 1;
            if (meta & META_MAIN_ORIGIN_SELF) {
                if (r->id < 0)
                    return corrupt(rd, &f, "slot 0's origin (this revision) out of range");
                m->origin = r->id;
            }
            break;
        case RV_USER: rc = get_interned(rd, &f, st->strs, RECORD_STR_NAME, &r->user_text); break;
        case RV_USER_ID: rc = get_nonneg(rd, &f, &r->user_id); break;
        case RV_COMMENT: r->comment = text_of(&f); break;
        case RV_SHA1: rc = get_sha1(rd, &f, 1, st, &r->sha1); break;
        case RV_MAIN_ORIGIN:
            if (meta & META_MAIN_ORIGIN_SELF)
                return corrupt(rd, &f, "slot 0's origin given twice");
            rc = get_delta(rd, &f, r->id, &m->origin);
            break;
        case RV_MAIN_MODEL:
            rc = get_interned(rd, &f, st->strs, RECORD_STR_MODEL, &m->model);
            break;
        case RV_MAIN_FORMAT:
            rc = get_interned(rd, &f, st->strs, RECORD_STR_FORMAT, &m->format);
            break;
        case RV_MAIN_SIZE: rc = get_nonneg(rd, &f, &m->size); break;
        case RV_MAIN_SHA1: rc = get_sha1(rd, &f, 1, st, &m->sha1); break;
        case RV_TIMESTAMP_TEXT:
            if (record_timestamp_parse(f.p, f.n, &t) && t == r->timestamp)
                return corrupt(rd, &f, "canonical timestamp text stored");
            r->timestamp_text = text_of(&f);
            break;
        case RV_SHA1_TEXT: rc = get_sha1(rd, &f, 0, st, &r->sha1); break;
        case RV_MAIN_ROLE:
            main_role = 1;
            if (f.v != 0)
                rc = get_interned(rd, &f, st->strs, RECORD_STR_ROLE, &m->role);
            break;
        case RV_MAIN_SHA1_TEXT: rc = get_sha1(rd, &f, 0, st, &m->sha1); break;
        case RV_MAIN_LOCATION: m->location = text_of(&f); break;
        case RV_MAIN_TEXT_ID: m->text_id = text_of(&f); break;
        case RV_SLOT:
            rc = decode_slot(f.p, f.n, nslots, st, &slots[nslots], rd->err);
            nslots++;
            break;
        case RV_EXTRA: r->extra = text_of(&f); break;
        default: break;
        }
    }
    if (rc != DUMP_OK)
        return rc;
    if (got < 0)
        return DUMP_CORRUPT;
    if (meta & META_MAIN) {
        if (!main_role)
            m->role = (DumpText){ MAIN_ROLE, 4 };
        if (meta & META_MAIN_SAME_SHA1) {
            if (!r->sha1.ptr || m->sha1.ptr)
                return error_set(rd->err, DUMP_CORRUPT, "revision record: slot 0 shares a "
                                 "sha1 the revision %s", r->sha1.ptr ? "(but has its own)"
                                 : "does not have");
            m->sha1 = r->sha1;
        }
        m->flags = (meta & META_MAIN_HAS_TEXT ? DUMP_SLOT_HAS_TEXT : 0) |
                   (meta & META_MAIN_DELETED ? DUMP_SLOT_DELETED : 0);
    }
    r->contributor = (int)(meta & META_CONTRIB_MASK);
    if (meta & META_MINOR) r->flags |= DUMP_REV_MINOR;
    if (meta & META_COMMENT_DELETED) r->flags |= DUMP_REV_COMMENT_DELETED;
    if (meta & META_USER_DELETED) r->flags |= DUMP_REV_USER_DELETED;
    if (meta & META_TEXT_DELETED) r->flags |= DUMP_REV_TEXT_DELETED;
    if (meta & META_SUPPRESSED) r->flags |= DUMP_REV_SUPPRESSED;
    r->nslots = nslots;
    r->slots = nslots ? slots : NULL;
    return DUMP_OK;
}

int record_decode_revision(const uint8_t *p, size_t n, int64_t page_id, int64_t rev_id,
                           const RecordStrings *strs, RevisionInfo *out,
                           void **scratch, ErrorInfo *err)
{
    Reader rd;
    size_t nextra;
    int rc;

    memset(out, 0, sizeof *out);
    out->id = rev_id;
    out->page_id = page_id;
    out->user_id = -1;
    if (!strs)
        return error_set(err, DUMP_INVALID, "revision record: no string table");
    if ((rc = check_version(&REVISION, p, n, err)) != DUMP_OK)
        return rc;
    if ((rc = scan(&REVISION, p + 1, n - 1, RV_SLOT, &nextra, err)) != DUMP_OK)
        return rc;
    if (nextra > RECORD_MAX_SLOTS - 1)
        return error_set(err, DUMP_CORRUPT, "revision record: %zu slots (at most %d)",
                         nextra + 1, RECORD_MAX_SLOTS);
    /* scratch: the slots, then one base36 cell per sha1 the record can hold
     * (the revision's and one per slot). */
    size_t nslots = nextra + 1;
    size_t size = nslots * sizeof(SlotInfo) + (nslots + 1) * SHA1_TEXT_LEN;
    SlotInfo *slots = realloc(*scratch, size);
    if (!slots)
        return error_set(err, DUMP_NOMEM, "revision record: out of memory");
    *scratch = slots;
    memset(slots, 0, nslots * sizeof(SlotInfo));
    slots[0].origin = slots[0].size = -1;
    RevDecode st = { strs, rev_id, (char *)(slots + nslots) };
    reader_init(&rd, &REVISION, NULL, 1, p + 1, n - 1, err);
    rc = decode_revision_fields(&rd, &st, out, slots);
    if (rc != DUMP_OK) {
        int64_t id = out->id, pid = out->page_id;
        memset(out, 0, sizeof *out);
        out->id = id;
        out->page_id = pid;
        out->user_id = -1;
    }
    return rc;
}

/* ---- sha1 base36 ------------------------------------------------------------------- */

static const char DIGITS36[] = "0123456789abcdefghijklmnopqrstuvwxyz";

int record_sha1_to_bin(const uint8_t *text, size_t n, uint8_t bin[20])
{
    /* 36^31 > 2^160, so a 31-digit text may still overflow 20 bytes. */
    memset(bin, 0, 20);
    if (n != SHA1_TEXT_LEN)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned d;
        uint8_t c = text[i];
        if (c >= '0' && c <= '9') d = (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'z') d = (unsigned)(c - 'a' + 10);
        else return 0;
        /* bin = bin * 36 + d, big-endian */
        unsigned carry = d;
        for (int j = 19; j >= 0; j--) {
            unsigned v = bin[j] * 36u + carry;
            bin[j] = (uint8_t)v;
            carry = v >> 8;
        }
        if (carry) {
            memset(bin, 0, 20);
            return 0;
        }
    }
    return 1;
}

void record_sha1_to_base36(const uint8_t bin[20], char out[31])
{
    /* Long division of five big-endian 32-bit limbs by 36^6 gives six digits
     * a round (a revision read converts one or two of these: the bytewise
     * division was a fifth of a metadata scan). Five rounds give 30 digits;
     * what is left is below 36, as 2^160 < 36^31. */
    const uint64_t B = 2176782336u;   /* 36^6 */
    uint32_t v[5];
    for (int j = 0; j < 5; j++)
        v[j] = (uint32_t)bin[4 * j] << 24 | (uint32_t)bin[4 * j + 1] << 16 |
               (uint32_t)bin[4 * j + 2] << 8 | bin[4 * j + 3];
    int i = SHA1_TEXT_LEN;
    for (int round = 0; round < 5; round++) {
        uint64_t rem = 0;
        for (int j = 0; j < 5; j++) {
            uint64_t cur = rem << 32 | v[j];
            v[j] = (uint32_t)(cur / B);
            rem = cur % B;
        }
        for (int k = 0; k < 6; k++) {
            out[--i] = DIGITS36[rem % 36];
            rem /= 36;
        }
    }
    out[0] = DIGITS36[v[4]];
}

/* ---- timestamps ------------------------------------------------------------------- */

#define TS_MIN (-62135596800LL)   /* 0001-01-01T00:00:00Z */
#define TS_MAX 253402300799LL     /* 9999-12-31T23:59:59Z */

/* Days since 1970-01-01 of a proleptic Gregorian date (y >= 1). The year is
 * counted from March so the leap day ends it; eras are 400 years. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

void record_timestamp_format(int64_t t, char out[20])
{
    char buf[64];
    if (t < TS_MIN || t > TS_MAX) {
        memcpy(out, "0000-00-00T00:00:00Z", TIMESTAMP_LEN);
        return;
    }
    int64_t days = (t >= 0 ? t : t - 86399) / 86400, y;
    int64_t secs = t - days * 86400;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02u:%02u:%02uZ", (int)y, m, d,
             (unsigned)(secs / 3600), (unsigned)(secs / 60 % 60), (unsigned)(secs % 60));
    memcpy(out, buf, TIMESTAMP_LEN);
}

static int digits(const uint8_t *p, int n, unsigned *v)
{
    *v = 0;
    for (int i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return 0;
        *v = *v * 10 + (unsigned)(p[i] - '0');
    }
    return 1;
}

int record_timestamp_parse(const uint8_t *s, size_t n, int64_t *t)
{
    static const unsigned mdays[12] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    unsigned y, mo, d, h, mi, se;
    if (n != TIMESTAMP_LEN || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
        s[16] != ':' || s[19] != 'Z')
        return 0;
    if (!digits(s, 4, &y) || !digits(s + 5, 2, &mo) || !digits(s + 8, 2, &d) ||
        !digits(s + 11, 2, &h) || !digits(s + 14, 2, &mi) || !digits(s + 17, 2, &se))
        return 0;
    if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 ||
        se > 59)
        return 0;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (mo == 2 && d == 29 && !leap)
        return 0;
    *t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se;
    return 1;
}
