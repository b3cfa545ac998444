/*
 * dump.c -- the Dump handle: open/create with its configuration record,
 * transactions, lookups by id and title, Page and Revision objects.
 *
 * Dump layer (8): calls the public Store API, record.h (records <-> bytes)
 * and dump_text.h (text frames). Writes live in dump_write.c, cursors in
 * dump_cursor.c, the integrity walk in dump_check.c, interned strings in
 * dump_strings.c. Page and Revision objects own copies of everything they
 * point to, so they outlive any later call on the Dump.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "dump_internal.h"

static const int TREE_TYPES[T_COUNT] = {
    STORE_KEY_BYTES, STORE_KEY_INT, STORE_KEY_BYTES, STORE_KEY_INT, STORE_KEY_BYTES,
    STORE_KEY_BYTES, STORE_KEY_INT, STORE_KEY_BYTES, STORE_KEY_INT, STORE_KEY_BYTES,
    STORE_KEY_BYTES,
};

#define META_KEY(s) (const uint8_t *)(s), sizeof(s) - 1

/* ---- helpers shared by the dump_*.c files -------------------------------- */

int dump_enter(Dump *d)
{
    error_clear(&d->err);
    if (!d->s) return error_set(&d->err, DUMP_MISUSE, "the dump failed to open");
    strcache_trim(&d->strs);
    return DUMP_OK;
}

int dump_fail_store(Dump *d, int rc, const char *fmt, ...)
{
    char ctx[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx, sizeof ctx, fmt, ap);
    va_end(ap);
    return error_set(&d->err, rc, "%s: %s", ctx, store_errmsg(d->s));
}

int dump_fail_sub(Dump *d, int rc, const ErrorInfo *sub, const char *fmt, ...)
{
    char ctx[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx, sizeof ctx, fmt, ap);
    va_end(ap);
    ErrorInfo copy = *sub;   /* sub may be d->err itself */
    error_set(&d->err, rc, "%s: %s", ctx, copy.msg);
    d->err.sys_errno = copy.sys_errno;
    return rc;
}

int dump_reserve(Dump *d, uint8_t **buf, size_t *cap, size_t n)
{
    if (n <= *cap && *buf) return DUMP_OK;
    size_t want = *cap ? *cap : 256;
    while (want < n) want *= 2;
    uint8_t *p = realloc(*buf, want);
    if (!p) return error_set(&d->err, DUMP_NOMEM, "out of memory");
    *buf = p;
    *cap = want;
    return DUMP_OK;
}

int dump_varint_exact(const uint8_t *v, size_t n, int64_t *out)
{
    uint64_t x;
    size_t used = varint_get(v, v + n, &x);
    if (used == 0 || used != n || x > INT64_MAX) return 0;
    *out = (int64_t)x;
    return 1;
}

static void put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (56 - 8 * i));
}

void dump_pagerev_key(uint8_t k[PAGEREV_KEY_LEN], int64_t page, int64_t rev)
{
    put_be64(k, (uint64_t)page ^ ((uint64_t)1 << 63));
    put_be64(k + 8, (uint64_t)rev ^ ((uint64_t)1 << 63));
}

int64_t dump_key_id(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v = v << 8 | p[i];
    return (int64_t)(v ^ ((uint64_t)1 << 63));
}

int dump_title_key(Dump *d, uint8_t **buf, size_t *cap, int64_t ns, const uint8_t *name,
                   size_t n, size_t *klen)
{
    if (ns < INT32_MIN || ns > INT32_MAX)
        return error_set(&d->err, DUMP_INVALID, "namespace %" PRId64 " out of range", ns);
    if (n > STORE_MAX_KEY - 4)
        return error_set(&d->err, DUMP_INVALID, "title of %zu bytes: too long", n);
    if (dump_reserve(d, buf, cap, 4 + n)) return DUMP_NOMEM;
    uint32_t k = (uint32_t)(int32_t)ns ^ 0x80000000u;
    (*buf)[0] = (uint8_t)(k >> 24);
    (*buf)[1] = (uint8_t)(k >> 16);
    (*buf)[2] = (uint8_t)(k >> 8);
    (*buf)[3] = (uint8_t)k;
    if (n) memcpy(*buf + 4, name, n);
    *klen = 4 + n;
    return DUMP_OK;
}

DumpText dump_page_name(const PageInfo *p)
{
    DumpText t = { (const uint8_t *)"", 0 };
    if (p->title.ptr && p->title_prefix <= p->title.len) {
        t.ptr = p->title.ptr + p->title_prefix;
        t.len = p->title.len - p->title_prefix;
    }
    return t;
}

int dump_decode_page(Dump *d, const uint8_t *rec, size_t n, int64_t id, PageInfo *out)
{
    ErrorInfo sub;
    error_clear(&sub);
    int rc = record_decode_page(rec, n, id, out, &sub);
    if (rc) return dump_fail_sub(d, rc, &sub, "page %" PRId64, id);
    return DUMP_OK;
}

static int outside(const DumpText *t, const uint8_t *rec, size_t n)
{
    if (!t->ptr || !t->len) return 0;
    uintptr_t p = (uintptr_t)t->ptr, lo = (uintptr_t)rec;
    return p < lo || p - lo > n || t->len > n - (p - lo);
}

/* Calls fn on every DumpText of ri and its slots. */
#define FOR_EACH_TEXT(ri, slots, fn) do { \
    fn(&(ri)->timestamp_text); fn(&(ri)->user_text); fn(&(ri)->comment); \
    fn(&(ri)->sha1); fn(&(ri)->extra); \
    for (uint32_t i_ = 0; i_ < (ri)->nslots; i_++) { \
        SlotInfo *s_ = &(slots)[i_]; \
        fn(&s_->role); fn(&s_->model); fn(&s_->format); fn(&s_->sha1); \
        fn(&s_->location); fn(&s_->text_id); fn(&s_->text); \
    } \
} while (0)

int dump_decode_revision(Dump *d, const uint8_t *rec, size_t n, int64_t page, int64_t rev,
                         RevisionInfo *out, void **scratch, uint8_t **arena, size_t *arena_cap)
{
    ErrorInfo sub;
    error_clear(&sub);
    int rc = record_decode_revision(rec, n, page, rev, &d->rs, out, scratch, &sub);
    if (rc) return dump_fail_sub(d, rc, &sub, "revision %" PRId64 " of page %" PRId64, rev, page);
    if (out->nslots && !out->slots)
        return error_set(&d->err, DUMP_CORRUPT, "revision %" PRId64 ": slots missing", rev);
    if (!arena) return DUMP_OK;
    /* The slots array is in *scratch, which the caller owns. */
    SlotInfo *slots = (SlotInfo *)(uintptr_t)out->slots;
    size_t need = 0;
#define SUM(t) do { if (outside(t, rec, n)) need += (t)->len; } while (0)
    FOR_EACH_TEXT(out, slots, SUM);
#undef SUM
    if (need && dump_reserve(d, arena, arena_cap, need)) return DUMP_NOMEM;
    size_t off = 0;
#define COPY(t) do { if (outside(t, rec, n)) { memcpy(*arena + off, (t)->ptr, (t)->len); \
    (t)->ptr = *arena + off; off += (t)->len; } } while (0)
    FOR_EACH_TEXT(out, slots, COPY);
#undef COPY
    return DUMP_OK;
}

int dump_slot_text(Dump *d, const RevisionInfo *ri, unsigned slot, const uint8_t **text,
                   size_t *len)
{
    *text = NULL;
    *len = 0;
    if (slot >= ri->nslots)
        return error_set(&d->err, DUMP_NOTFOUND, "revision %" PRId64 " has no slot %u", ri->id, slot);
    if (!(ri->slots[slot].flags & DUMP_SLOT_HAS_TEXT))
        return error_set(&d->err, DUMP_NOTFOUND, "revision %" PRId64 " slot %u: no stored text",
                         ri->id, slot);
    ErrorInfo sub;
    error_clear(&sub);
    int rc = text_get(d->text, ri->page_id, ri->id, slot, text, len, &sub);
    if (rc == DUMP_NOTFOUND) {
        /* A Revision object may outlive its revision (deleted, or put in a
         * transaction since aborted): that is no corruption. */
        uint8_t key[PAGEREV_KEY_LEN];
        const uint8_t *v;
        size_t n;
        dump_pagerev_key(key, ri->page_id, ri->id);
        rc = store_get_bytes(d->s, T_PAGEREVS, key, sizeof key, &v, &n);
        if (rc == DUMP_NOTFOUND)
            return error_set(&d->err, rc, "revision %" PRId64 " no longer exists", ri->id);
        if (rc) return dump_fail_store(d, rc, "revision %" PRId64, ri->id);
        return error_set(&d->err, DUMP_CORRUPT, "revision %" PRId64 " slot %u: text missing (%s)",
                         ri->id, slot, sub.msg);
    }
    if (rc) return dump_fail_sub(d, rc, &sub, "revision %" PRId64, ri->id);
    return DUMP_OK;
}

/* ---- configuration record ------------------------------------------------
 * u8 version (DUMP_CONFIG_VERSION), then (tag varint, value varint) pairs in
 * increasing tag order; unknown tags are skipped. docs/format.md "Dump
 * layout". */
enum { CF_KIND = 1, CF_ARTICLES, CF_CODEC, CF_LEVEL, CF_MAX_DEPTH, CF_RECORD_VERSION, CF_PACKED, CF_LAST };
#define CF_REQUIRED CF_PACKED     /* tags below it must be present; CF_PACKED absent = 0 */

/* Fill defaults and check ranges; code is the status for a bad value. */
static int config_check(const DumpConfig *in, DumpConfig *out, int code, ErrorInfo *e)
{
    DumpConfig c = in ? *in : (DumpConfig){ 0 };
    if (c.kind < DUMP_KIND_HISTORY || c.kind > DUMP_KIND_STUB)
        return error_set(e, code, "config: unknown kind %d", c.kind);
    if (c.articles != 0 && c.articles != 1)
        return error_set(e, code, "config: articles must be 0 or 1, not %d", c.articles);
    if (c.codec == 0) c.codec = DUMP_CODEC_ZSTD;
    if (c.codec != DUMP_CODEC_ZSTD && c.codec != DUMP_CODEC_XZ)
        return error_set(e, code, "config: unknown codec %d", c.codec);
    if (c.level == 0) c.level = c.codec == DUMP_CODEC_ZSTD ? 9 : 6;
    if (c.codec == DUMP_CODEC_ZSTD && (c.level < 1 || c.level > 22))
        return error_set(e, code, "config: zstd level %d out of range 1..22", c.level);
    if (c.codec == DUMP_CODEC_XZ && (c.level < 1 || c.level > 9))
        return error_set(e, code, "config: xz level %d out of range 1..9", c.level);
    if (c.max_depth == 0) c.max_depth = 16;
    if (c.max_depth < 1 || c.max_depth > 255)
        return error_set(e, code, "config: max_depth %d out of range 1..255", c.max_depth);
    if (c.packed != 0 && c.packed != 1)
        return error_set(e, code, "config: packed must be 0 or 1, not %d", c.packed);
    *out = c;
    return DUMP_OK;
}

static size_t config_encode(const DumpConfig *c, uint8_t *p)
{
    uint64_t vals[CF_LAST] = {
        [CF_KIND] = (uint64_t)c->kind, [CF_ARTICLES] = (uint64_t)c->articles,
        [CF_CODEC] = (uint64_t)c->codec, [CF_LEVEL] = zigzag_enc(c->level),
        [CF_MAX_DEPTH] = (uint64_t)c->max_depth, [CF_RECORD_VERSION] = RECORD_VERSION,
        [CF_PACKED] = (uint64_t)c->packed,
    };
    size_t n = 0;
    p[n++] = DUMP_CONFIG_VERSION;
    for (int tag = CF_KIND; tag < CF_LAST; tag++) {
        if (tag >= CF_REQUIRED && vals[tag] == 0) continue;   /* optional, 0 by default */
        n += varint_put(p + n, (uint64_t)tag);
        n += varint_put(p + n, vals[tag]);
    }
    return n;
}

static int config_decode(const uint8_t *p, size_t n, DumpConfig *out, uint64_t *recver, ErrorInfo *e)
{
    if (n < 1) return error_set(e, DUMP_CORRUPT, "config record: empty");
    if (p[0] != DUMP_CONFIG_VERSION)
        return error_set(e, DUMP_VERSION, "config record version %u is not supported (this build reads %d)",
                         p[0], DUMP_CONFIG_VERSION);
    uint64_t vals[CF_LAST] = { 0 }, last = 0;
    unsigned seen = 0;
    const uint8_t *q = p + 1, *end = p + n;
    while (q < end) {
        uint64_t tag, val;
        size_t a = varint_get(q, end, &tag);
        size_t b = a ? varint_get(q + a, end, &val) : 0;
        if (!a || !b) return error_set(e, DUMP_CORRUPT, "config record: truncated at byte %zu", (size_t)(q - p));
        if (tag <= last) return error_set(e, DUMP_CORRUPT, "config record: field %" PRIu64 " out of order", tag);
        last = tag;
        if (tag < CF_LAST) {
            vals[tag] = val;
            seen |= 1u << tag;
        }
        q += a + b;
    }
    for (int tag = CF_KIND; tag < CF_REQUIRED; tag++)
        if (!(seen & (1u << tag))) return error_set(e, DUMP_CORRUPT, "config record: field %d missing", tag);
    if (vals[CF_RECORD_VERSION] > RECORD_VERSION)
        return error_set(e, DUMP_VERSION, "records of version %" PRIu64 " are not supported (this build reads %d)",
                         vals[CF_RECORD_VERSION], RECORD_VERSION);
    int64_t level = zigzag_dec(vals[CF_LEVEL]);
    if (vals[CF_KIND] > 255 || vals[CF_ARTICLES] > 255 || vals[CF_CODEC] > 255 || vals[CF_MAX_DEPTH] > 255
        || vals[CF_PACKED] > 255 || level < -1000 || level > 1000)
        return error_set(e, DUMP_CORRUPT, "config record: value out of range");
    DumpConfig c = { (int)vals[CF_KIND], (int)vals[CF_ARTICLES], (int)vals[CF_CODEC], (int)level,
                     (int)vals[CF_MAX_DEPTH], (int)vals[CF_PACKED] };
    /* a stored config is complete: no zero defaults to fill */
    if (c.codec == 0 || c.level == 0 || c.max_depth == 0)
        return error_set(e, DUMP_CORRUPT, "config record: zero codec, level or depth");
    *recver = vals[CF_RECORD_VERSION];
    return config_check(&c, out, DUMP_CORRUPT, e);
}

/* ---- open / close --------------------------------------------------------- */

/* Create the trees and the config record in a new, empty Store. Another
 * process may be creating it at the same moment: whoever gets the writer
 * lock first creates, the other finds the dump made. */
static int create_dump(Dump *d, const DumpConfig *cfg)
{
    int rc = store_begin(d->s);
    if (rc) return dump_fail_store(d, rc, "creating the dump");
    int type;
    uint64_t count;
    if ((rc = store_tree_stat(d->s, T_META, &type, &count))) goto fail;
    if (type == 0) {
        for (unsigned t = 0; t < T_COUNT; t++)
            if ((rc = store_tree_create(d->s, t, TREE_TYPES[t]))) goto fail;
        uint8_t rec[1 + 2 * VARINT_MAX * CF_LAST];
        size_t n = config_encode(cfg, rec);
        if ((rc = store_put_bytes(d->s, T_META, META_KEY("config"), rec, n, STORE_PUT_INSERT))) goto fail;
        if ((rc = store_commit(d->s))) return dump_fail_store(d, rc, "creating the dump");
        return DUMP_OK;
    }
    store_abort(d->s);   /* another handle made it first: read its commit */
    if ((rc = store_refresh(d->s))) return dump_fail_store(d, rc, "opening the dump");
    return DUMP_OK;
fail:
    dump_fail_store(d, rc, "creating the dump");
    store_abort(d->s);
    return rc;
}

/* Load META "dict" into d->dict; *changed when it differs from before. */
static int load_dict(Dump *d, int *changed)
{
    const uint8_t *v;
    size_t n;
    *changed = 0;
    int rc = store_get_bytes(d->s, T_META, META_KEY("dict"), &v, &n);
    if (rc == DUMP_NOTFOUND) {
        n = 0;
    } else if (rc) {
        return dump_fail_store(d, rc, "META dict");
    } else if (n > DUMP_MAX_DICT) {
        return error_set(&d->err, DUMP_CORRUPT, "META dict: %zu bytes, more than the limit", n);
    }
    if (n == d->dict_len && (n == 0 || !memcmp(v, d->dict, n))) return DUMP_OK;
    uint8_t *copy = NULL;
    if (n && !(copy = malloc(n))) return error_set(&d->err, DUMP_NOMEM, "out of memory");
    if (n) memcpy(copy, v, n);
    free(d->dict);
    d->dict = copy;
    d->dict_len = n;
    *changed = 1;
    return DUMP_OK;
}

/* (Re)build the TextStore for the current configuration and dictionary. */
int dump_text_rebuild(Dump *d)
{
    TextConfig tc = { .codec = d->cfg.codec, .level = d->cfg.level, .max_depth = d->cfg.max_depth,
                      .dict = d->dict, .dict_len = d->dict_len, .piece_tree = T_TEXTPIECES,
                      .packed = d->cfg.packed };
    TextStore *t = text_new(d->s, T_TEXT, &tc);
    if (!t) return error_set(&d->err, DUMP_NOMEM, "out of memory");
    text_free(d->text);
    d->text = t;
    return DUMP_OK;
}

/* The snapshot may have changed (begin, abort, refresh): forget what was
 * cached about texts, and follow a changed dictionary. */
static int view_changed(Dump *d)
{
    if (d->text) text_reset(d->text);
    int changed, rc = load_dict(d, &changed);
    if (rc) return rc;
    return changed || !d->text ? dump_text_rebuild(d) : DUMP_OK;
}

/* faults: NULL for the plain file layer, else {crash_at, mode, seed} of
 * store_open_faulty. */
typedef struct OpenFaults { uint64_t crash_at; int mode; uint64_t seed; } OpenFaults;

static int open_dump(Dump *d, const char *path, unsigned flags, const DumpConfig *config,
                     const OpenFaults *faults)
{
    DumpConfig cfg;
    if (flags & ~(unsigned)(DUMP_OPEN_WRITE | DUMP_OPEN_CREATE))
        return error_set(&d->err, DUMP_INVALID, "dump_open: unknown flags 0x%x", flags);
    int rc;
    if ((flags & DUMP_OPEN_CREATE) && (rc = config_check(config, &cfg, DUMP_INVALID, &d->err))) return rc;
    rc = faults ? store_open_faulty(path, flags, faults->crash_at, faults->mode, faults->seed, &d->s)
                : store_open(path, flags, &d->s);
    if (rc)
        return error_set(&d->err, rc, "%s", store_errmsg(d->s));
    int type;
    uint64_t count;
    if ((rc = store_tree_stat(d->s, T_META, &type, &count))) return dump_fail_store(d, rc, "%s", path);
    if (type == 0 && (flags & DUMP_OPEN_CREATE)) {
        for (unsigned t = 0; t < STORE_MAX_TREES; t++) {
            if ((rc = store_tree_stat(d->s, t, &type, &count))) return dump_fail_store(d, rc, "%s", path);
            if (type) return error_set(&d->err, DUMP_CORRUPT, "%s: not a dump (a store with other trees)", path);
        }
        if ((rc = create_dump(d, &cfg))) return rc;
    }
    for (unsigned t = 0; t < T_COUNT; t++) {
        if ((rc = store_tree_stat(d->s, t, &type, &count))) return dump_fail_store(d, rc, "%s", path);
        if (type != TREE_TYPES[t])
            return error_set(&d->err, DUMP_CORRUPT, "%s: not a dump (tree %u %s)", path, t,
                             type ? "has the wrong key type" : "missing");
    }
    const uint8_t *v;
    size_t n;
    rc = store_get_bytes(d->s, T_META, META_KEY("config"), &v, &n);
    if (rc == DUMP_NOTFOUND) return error_set(&d->err, DUMP_CORRUPT, "%s: not a dump (no configuration)", path);
    if (rc) return dump_fail_store(d, rc, "%s: configuration", path);
    ErrorInfo sub;
    error_clear(&sub);
    if ((rc = config_decode(v, n, &d->cfg, &d->record_version, &sub)))
        return dump_fail_sub(d, rc, &sub, "%s", path);
    return view_changed(d);
}

static int open_with(const char *path, unsigned flags, const DumpConfig *config,
                     const OpenFaults *faults, Dump **out)
{
    Dump *d = calloc(1, sizeof *d);
    *out = d;
    if (!d) return DUMP_NOMEM;
    d->rs = (RecordStrings){ d, dump_intern, dump_lookup };
    int rc = open_dump(d, path ? path : "", flags, config, faults);
    if (rc) {
        /* keep only the message: every later call is DUMP_MISUSE */
        text_free(d->text);
        d->text = NULL;
        store_close(d->s);
        d->s = NULL;
    }
    return rc;
}

int dump_open(const char *path, unsigned flags, const DumpConfig *config, Dump **out)
{
    return open_with(path, flags, config, NULL, out);
}

int dump_open_faulty(const char *path, unsigned flags, const DumpConfig *config,
                     uint64_t crash_at, int mode, uint64_t seed, Dump **out)
{
    OpenFaults f = { crash_at, mode, seed };
    return open_with(path, flags, config, &f, out);
}

void dump_close(Dump *d)
{
    if (!d) return;
    text_free(d->text);
    store_close(d->s);
    strcache_free(&d->strs);
    recordbuf_free(&d->buf);
    free(d->dict);
    free(d->tmp);
    free(d->scratch);
    free(d->tkey);
    free(d->tkey2);
    free(d->skey);
    free(d->si_rec);
    free(d->si_scratch);
    free(d);
}

const char *dump_errmsg(const Dump *d) { return d ? d->err.msg : "out of memory"; }

Store *dump_store(Dump *d) { return d ? d->s : NULL; }

int dump_is_article(int64_t ns) { return ns >= 0 && ns % 2 == 0 && ns != 2; }

int dump_info(Dump *d, DumpInfo *out)
{
    int rc = dump_enter(d);
    if (rc) return rc;
    memset(out, 0, sizeof *out);
    out->config = d->cfg;
    StoreInfo si;
    if ((rc = store_info(d->s, &si))) return dump_fail_store(d, rc, "dump_info");
    out->generation = si.generation;
    memcpy(out->uuid, si.uuid, sizeof out->uuid);
    out->file_size = si.file_size;
    int type;
    if ((rc = store_tree_stat(d->s, T_PAGES, &type, &out->pages))
        || (rc = store_tree_stat(d->s, T_REVS, &type, &out->revisions))
        || (rc = store_tree_stat(d->s, T_TEXT, &type, &out->texts)))
        return dump_fail_store(d, rc, "dump_info");
    out->dictionary_len = d->dict_len;
    return DUMP_OK;
}

int dump_refresh(Dump *d)
{
    int rc = dump_enter(d);
    if (rc) return rc;
    if ((rc = store_refresh(d->s))) return dump_fail_store(d, rc, "refresh");
    return view_changed(d);
}

int dump_set_cache_size(Dump *d, size_t bytes)
{
    int rc = dump_enter(d);
    if (rc) return rc;
    if ((rc = store_set_cache_size(d->s, bytes))) return dump_fail_store(d, rc, "cache size");
    return DUMP_OK;
}

/* ---- transactions ------------------------------------------------------------ */

/* After the Store dropped a transaction: nothing cached from it may stay
 * (interned ids, text candidates, a dictionary set in it). */
static void after_abort(Dump *d)
{
    strcache_clear(&d->strs);
    dump_strings_reset_txn(d);
    d->broken = 0;
    ErrorInfo keep = d->err;
    if (view_changed(d) == DUMP_OK) d->err = keep;
}

int dump_begin(Dump *d)
{
    int rc = dump_enter(d);
    if (rc) return rc;
    if ((rc = store_begin(d->s))) return dump_fail_store(d, rc, "begin");
    dump_strings_reset_txn(d);
    d->broken = 0;
    if ((rc = view_changed(d))) {
        store_abort(d->s);
        after_abort(d);
    }
    return rc;
}

int dump_commit(Dump *d)
{
    int rc = dump_enter(d);
    if (rc) return rc;
    if (!store_in_txn(d->s)) return error_set(&d->err, DUMP_MISUSE, "commit: no transaction");
    ErrorInfo sub;
    error_clear(&sub);
    if (d->broken) {
        rc = error_set(&d->err, DUMP_MISUSE, "commit: an earlier write failed; the transaction was aborted");
    } else if ((rc = text_flush(d->text, &sub))) {
        dump_fail_sub(d, rc, &sub, "commit");
    } else if (!(rc = dump_strings_flush(d))) {
        if (!(rc = store_commit(d->s))) {
            dump_strings_reset_txn(d);
            return DUMP_OK;
        }
        dump_fail_store(d, rc, "commit");
    }
    store_abort(d->s);   /* no-op when store_commit already dropped it */
    after_abort(d);
    return rc;
}

int dump_abort(Dump *d)
{
    int rc = dump_enter(d);
    if (rc) return rc;
    if (!store_in_txn(d->s)) return error_set(&d->err, DUMP_MISUSE, "abort: no transaction");
    store_abort(d->s);
    after_abort(d);
    return DUMP_OK;
}

/* ---- site info ------------------------------------------------------------------- */

int dump_get_siteinfo(Dump *d, DumpSiteInfo *out)
{
    int rc = dump_enter(d);
    if (rc) return rc;
    memset(out, 0, sizeof *out);
    const uint8_t *v;
    size_t n;
    rc = store_get_bytes(d->s, T_META, META_KEY("siteinfo"), &v, &n);
    if (rc == DUMP_NOTFOUND) return error_set(&d->err, rc, "no site info");
    if (rc) return dump_fail_store(d, rc, "site info");
    if (dump_reserve(d, &d->si_rec, &d->si_cap, n ? n : 1)) return DUMP_NOMEM;
    memcpy(d->si_rec, v, n);
    ErrorInfo sub;
    error_clear(&sub);
    if ((rc = record_decode_siteinfo(d->si_rec, n, out, &d->si_scratch, &sub)))
        return dump_fail_sub(d, rc, &sub, "site info");
    return DUMP_OK;
}

/* ---- lookups and objects ------------------------------------------------------------- */

static int make_page(Dump *d, int64_t id, const uint8_t *v, size_t n, Page **out)
{
    Page *p = malloc(sizeof *p + n);
    if (!p) return error_set(&d->err, DUMP_NOMEM, "out of memory");
    p->n = n;
    if (n) memcpy(p->rec, v, n);
    int rc = dump_decode_page(d, p->rec, n, id, &p->info);
    if (rc) {
        free(p);
        return rc;
    }
    *out = p;
    return DUMP_OK;
}

int dump_get_page_by_id(Dump *d, int64_t page_id, Page **out)
{
    *out = NULL;
    int rc = dump_enter(d);
    if (rc) return rc;
    const uint8_t *v;
    size_t n;
    rc = store_get_int(d->s, T_PAGES, page_id, &v, &n);
    if (rc == DUMP_NOTFOUND) return error_set(&d->err, rc, "page %" PRId64 " not found", page_id);
    if (rc) return dump_fail_store(d, rc, "page %" PRId64, page_id);
    return make_page(d, page_id, v, n, out);
}

int dump_get_page_by_title(Dump *d, int64_t ns, const uint8_t *title, size_t len, Page **out)
{
    *out = NULL;
    int rc = dump_enter(d);
    if (rc) return rc;
    if (ns < INT32_MIN || ns > INT32_MAX)
        return error_set(&d->err, DUMP_NOTFOUND, "no namespace %" PRId64, ns);
    size_t klen;
    if ((rc = dump_title_key(d, &d->tkey, &d->tkey_cap, ns, title, len, &klen))) return rc;
    int show = len > 200 ? 200 : (int)len;
    const uint8_t *v;
    size_t n;
    rc = store_get_bytes(d->s, T_TITLES, d->tkey, klen, &v, &n);
    if (rc == DUMP_NOTFOUND)
        return error_set(&d->err, rc, "no page \"%.*s\" in namespace %" PRId64, show, (const char *)title, ns);
    if (rc) return dump_fail_store(d, rc, "title \"%.*s\"", show, (const char *)title);
    int64_t id;
    if (!dump_varint_exact(v, n, &id))
        return error_set(&d->err, DUMP_CORRUPT, "title index: \"%.*s\": bad page id", show, (const char *)title);
    rc = store_get_int(d->s, T_PAGES, id, &v, &n);
    if (rc == DUMP_NOTFOUND)
        return error_set(&d->err, DUMP_CORRUPT, "title index: \"%.*s\" names page %" PRId64 ", which does not exist",
                         show, (const char *)title, id);
    if (rc) return dump_fail_store(d, rc, "page %" PRId64, id);
    if ((rc = make_page(d, id, v, n, out))) return rc;
    DumpText name = dump_page_name(&(*out)->info);
    if ((*out)->info.ns != ns || name.len != len || (len && memcmp(name.ptr, title, len))) {
        page_free(*out);
        *out = NULL;
        return error_set(&d->err, DUMP_CORRUPT, "title index: \"%.*s\" names page %" PRId64 ", which has another title",
                         show, (const char *)title, id);
    }
    return DUMP_OK;
}

const PageInfo *page_info(const Page *p) { return p ? &p->info : NULL; }

void page_free(Page *p) { free(p); }

static int make_revision(Dump *d, int64_t page, int64_t rev, const uint8_t *v, size_t n, Revision **out)
{
    Revision *r = calloc(1, sizeof *r + n);
    if (!r) return error_set(&d->err, DUMP_NOMEM, "out of memory");
    r->d = d;
    r->n = n;
    if (n) memcpy(r->rec, v, n);
    int rc = dump_decode_revision(d, r->rec, n, page, rev, &r->info, &r->scratch, &r->arena, &r->arena_cap);
    if (rc) {
        revision_free(r);
        return rc;
    }
    *out = r;
    return DUMP_OK;
}

int dump_get_revision_by_id(Dump *d, int64_t rev_id, Revision **out)
{
    *out = NULL;
    int rc = dump_enter(d);
    if (rc) return rc;
    const uint8_t *v;
    size_t n;
    rc = store_get_int(d->s, T_REVS, rev_id, &v, &n);
    if (rc == DUMP_NOTFOUND) return error_set(&d->err, rc, "revision %" PRId64 " not found", rev_id);
    if (rc) return dump_fail_store(d, rc, "revision %" PRId64, rev_id);
    int64_t page;
    if (!dump_varint_exact(v, n, &page))
        return error_set(&d->err, DUMP_CORRUPT, "revision index: revision %" PRId64 ": bad page id", rev_id);
    uint8_t key[PAGEREV_KEY_LEN];
    dump_pagerev_key(key, page, rev_id);
    rc = store_get_bytes(d->s, T_PAGEREVS, key, sizeof key, &v, &n);
    if (rc == DUMP_NOTFOUND)
        return error_set(&d->err, DUMP_CORRUPT, "revision index: revision %" PRId64 " of page %" PRId64
                         " has no record", rev_id, page);
    if (rc) return dump_fail_store(d, rc, "revision %" PRId64, rev_id);
    return make_revision(d, page, rev_id, v, n, out);
}

const RevisionInfo *revision_info(const Revision *r) { return r ? &r->info : NULL; }

int revision_get_text(Revision *r, unsigned slot, const uint8_t **text, size_t *len)
{
    *text = NULL;
    *len = 0;
    if (!r) return DUMP_MISUSE;
    int rc = dump_enter(r->d);
    if (rc) return rc;
    return dump_slot_text(r->d, &r->info, slot, text, len);
}

void revision_free(Revision *r)
{
    if (!r) return;
    free(r->scratch);
    free(r->arena);
    free(r);
}

int dump_get_text(Dump *d, int64_t page_id, int64_t rev_id, unsigned slot, const uint8_t **text,
                  size_t *len)
{
    *text = NULL;
    *len = 0;
    int rc = dump_enter(d);
    if (rc) return rc;
    if (slot >= RECORD_MAX_SLOTS)
        return error_set(&d->err, DUMP_NOTFOUND, "revision %" PRId64 " has no slot %u", rev_id, slot);
    ErrorInfo sub;
    error_clear(&sub);
    if ((rc = text_get(d->text, page_id, rev_id, slot, text, len, &sub)))
        return error_set(&d->err, rc, "%s", sub.msg);
    return DUMP_OK;
}
