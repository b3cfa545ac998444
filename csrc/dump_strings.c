/*
 * dump_strings.c -- interned strings (user names and IPs, content models
 * and formats, slot roles): the RecordStrings callbacks over the trees
 * STRINGS (id -> u8 kind | bytes) and STRIDX (u8 kind | bytes -> varint id),
 * with an in-memory cache in both directions.
 *
 * Dump layer (8), internal. Ids are handed out from META "strings.next"
 * inside a write transaction and never reused or changed once committed,
 * so a cache filled from any committed snapshot stays true for every later
 * one; only an aborted transaction's ids must be forgotten (strcache_clear).
 */
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "dump_internal.h"

#define STRCACHE_MAX_ENTRIES ((size_t)1 << 18)
#define STRCACHE_MAX_BYTES   ((size_t)32 << 20)

static const char *const KIND_NAMES[] = { "?", "name", "model", "format", "role" };

static uint64_t hash_key(int kind, const uint8_t *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull ^ (uint64_t)kind;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ull;
    return h ^ (h >> 29);
}

static size_t id_bucket(const StrCache *c, uint64_t id)
{
    return (size_t)((id * 0x9E3779B97F4A7C15ull) >> 17) & (c->nbuckets - 1);
}

void strcache_clear(StrCache *c)
{
    for (size_t b = 0; b < c->nbuckets; b++) {
        StrEntry *e = c->by_id[b];
        while (e) {
            StrEntry *next = e->next_id;
            free(e);
            e = next;
        }
        c->by_id[b] = c->by_key[b] = NULL;
    }
    c->count = c->bytes = 0;
}

void strcache_free(StrCache *c)
{
    strcache_clear(c);
    free(c->by_id);
    free(c->by_key);
    memset(c, 0, sizeof *c);
}

void strcache_trim(StrCache *c)
{
    if (c->count > STRCACHE_MAX_ENTRIES || c->bytes > STRCACHE_MAX_BYTES) strcache_clear(c);
}

static StrEntry *find_key(const StrCache *c, int kind, const uint8_t *p, size_t n, uint64_t h)
{
    if (!c->nbuckets) return NULL;
    for (StrEntry *e = c->by_key[h & (c->nbuckets - 1)]; e; e = e->next_key)
        if (e->hash == h && e->kind == kind && e->len == n && (n == 0 || !memcmp(e->bytes, p, n)))
            return e;
    return NULL;
}

static StrEntry *find_id(const StrCache *c, uint64_t id)
{
    if (!c->nbuckets) return NULL;
    for (StrEntry *e = c->by_id[id_bucket(c, id)]; e; e = e->next_id)
        if (e->id == id) return e;
    return NULL;
}

static int grow(StrCache *c)
{
    size_t nb = c->nbuckets ? c->nbuckets * 2 : 256;
    StrEntry **bi = calloc(nb, sizeof *bi), **bk = calloc(nb, sizeof *bk);
    if (!bi || !bk) {
        free(bi);
        free(bk);
        return DUMP_NOMEM;
    }
    StrCache old = *c;
    c->by_id = bi;
    c->by_key = bk;
    c->nbuckets = nb;
    for (size_t b = 0; b < old.nbuckets; b++) {
        StrEntry *e = old.by_id[b];
        while (e) {
            StrEntry *next = e->next_id;
            size_t ib = id_bucket(c, e->id), kb = e->hash & (nb - 1);
            e->next_id = bi[ib];
            bi[ib] = e;
            e->next_key = bk[kb];
            bk[kb] = e;
            e = next;
        }
    }
    free(old.by_id);
    free(old.by_key);
    return DUMP_OK;
}

static StrEntry *add(StrCache *c, int kind, uint64_t id, const uint8_t *p, size_t n, uint64_t h)
{
    if (c->count >= c->nbuckets && grow(c)) return NULL;
    StrEntry *e = malloc(sizeof *e + n);
    if (!e) return NULL;
    e->id = id;
    e->hash = h;
    e->kind = kind;
    e->len = n;
    if (n) memcpy(e->bytes, p, n);
    size_t ib = id_bucket(c, id), kb = h & (c->nbuckets - 1);
    e->next_id = c->by_id[ib];
    c->by_id[ib] = e;
    e->next_key = c->by_key[kb];
    c->by_key[kb] = e;
    c->count++;
    c->bytes += sizeof *e + n;
    return e;
}

/* The transaction's next id, read from META once per transaction. */
static int next_id(Dump *d, uint64_t *out, ErrorInfo *err)
{
    if (!d->str_next_loaded) {
        const uint8_t *v;
        size_t n;
        int rc = store_get_bytes(d->s, T_META, (const uint8_t *)"strings.next", 12, &v, &n);
        int64_t next = 1;
        if (rc == DUMP_OK) {
            if (!dump_varint_exact(v, n, &next) || next < 1)
                return error_set(err, DUMP_CORRUPT, "META strings.next: not a valid id");
        } else if (rc != DUMP_NOTFOUND) {
            return error_set(err, rc, "META strings.next: %s", store_errmsg(d->s));
        }
        d->str_next = (uint64_t)next;
        d->str_next_loaded = 1;
    }
    *out = d->str_next;
    return DUMP_OK;
}

int dump_intern(void *ctx, int kind, const uint8_t *p, size_t n, uint64_t *id, ErrorInfo *err)
{
    Dump *d = ctx;
    if (kind < RECORD_STR_NAME || kind > RECORD_STR_ROLE)
        return error_set(err, DUMP_INVALID, "intern: unknown string kind %d", kind);
    if (n >= STORE_MAX_KEY)
        return error_set(err, DUMP_INVALID, "%s of %zu bytes: too long", KIND_NAMES[kind], n);
    uint64_t h = hash_key(kind, p, n);
    StrEntry *e = find_key(&d->strs, kind, p, n, h);
    if (e) {
        *id = e->id;
        return DUMP_OK;
    }
    if (dump_reserve(d, &d->skey, &d->skey_cap, n + 1 + VARINT_MAX)) return error_set(err, DUMP_NOMEM, "out of memory");
    d->skey[0] = (uint8_t)kind;
    if (n) memcpy(d->skey + 1, p, n);
    const uint8_t *v;
    size_t vn;
    int64_t got;
    int rc = store_get_bytes(d->s, T_STRIDX, d->skey, n + 1, &v, &vn);
    if (rc == DUMP_OK) {
        if (!dump_varint_exact(v, vn, &got) || got < 1)
            return error_set(err, DUMP_CORRUPT, "string index: %s \"%.*s\": bad id", KIND_NAMES[kind],
                             (int)(n > 200 ? 200 : n), (const char *)p);
    } else if (rc == DUMP_NOTFOUND) {
        if (!store_in_txn(d->s))
            return error_set(err, DUMP_MISUSE, "intern: not in a transaction");
        uint64_t next;
        if ((rc = next_id(d, &next, err))) return rc;
        if (next > INT64_MAX) return error_set(err, DUMP_CORRUPT, "META strings.next: out of ids");
        got = (int64_t)next;
        /* STRINGS value = kind | bytes = the STRIDX key */
        rc = store_put_int(d->s, T_STRINGS, got, d->skey, n + 1, STORE_PUT_INSERT);
        if (rc == DUMP_EXISTS)
            return error_set(err, DUMP_CORRUPT, "string %lld exists but META strings.next is %llu",
                             (long long)got, (unsigned long long)next);
        if (rc) return error_set(err, rc, "string %lld: %s", (long long)got, store_errmsg(d->s));
        uint8_t val[VARINT_MAX];
        size_t vl = varint_put(val, (uint64_t)got);
        rc = store_put_bytes(d->s, T_STRIDX, d->skey, n + 1, val, vl, STORE_PUT_INSERT);
        if (rc) return error_set(err, rc, "string index %lld: %s", (long long)got, store_errmsg(d->s));
        d->str_next = next + 1;
        d->str_next_dirty = 1;
    } else {
        return error_set(err, rc, "string index: %s", store_errmsg(d->s));
    }
    if (!add(&d->strs, kind, (uint64_t)got, p, n, h)) return error_set(err, DUMP_NOMEM, "out of memory");
    *id = (uint64_t)got;
    return DUMP_OK;
}

int dump_lookup(void *ctx, int kind, uint64_t id, const uint8_t **p, size_t *n, ErrorInfo *err)
{
    Dump *d = ctx;
    if (kind < RECORD_STR_NAME || kind > RECORD_STR_ROLE)
        return error_set(err, DUMP_CORRUPT, "string %llu: unknown kind %d", (unsigned long long)id, kind);
    StrEntry *e = find_id(&d->strs, id);
    if (!e) {
        if (id == 0 || id > INT64_MAX)
            return error_set(err, DUMP_CORRUPT, "string id %llu out of range", (unsigned long long)id);
        const uint8_t *v;
        size_t vn;
        int rc = store_get_int(d->s, T_STRINGS, (int64_t)id, &v, &vn);
        if (rc == DUMP_NOTFOUND)
            return error_set(err, DUMP_CORRUPT, "string %llu (%s) does not exist", (unsigned long long)id,
                             KIND_NAMES[kind]);
        if (rc) return error_set(err, rc, "string %llu: %s", (unsigned long long)id, store_errmsg(d->s));
        if (vn < 1 || v[0] < RECORD_STR_NAME || v[0] > RECORD_STR_ROLE)
            return error_set(err, DUMP_CORRUPT, "string %llu: bad kind byte", (unsigned long long)id);
        e = add(&d->strs, v[0], id, v + 1, vn - 1, hash_key(v[0], v + 1, vn - 1));
        if (!e) return error_set(err, DUMP_NOMEM, "out of memory");
    }
    if (e->kind != kind)
        return error_set(err, DUMP_CORRUPT, "string %llu is a %s, not a %s", (unsigned long long)id,
                         KIND_NAMES[e->kind], KIND_NAMES[kind]);
    *p = e->bytes;
    *n = e->len;
    return DUMP_OK;
}

int dump_strings_flush(Dump *d)
{
    if (!d->str_next_dirty) return DUMP_OK;
    uint8_t val[VARINT_MAX];
    size_t vl = varint_put(val, d->str_next);
    int rc = store_put_bytes(d->s, T_META, (const uint8_t *)"strings.next", 12, val, vl, STORE_PUT_UPSERT);
    if (rc) return dump_fail_store(d, rc, "META strings.next");
    d->str_next_dirty = 0;
    return DUMP_OK;
}

void dump_strings_reset_txn(Dump *d)
{
    d->str_next_loaded = 0;
    d->str_next_dirty = 0;
}
