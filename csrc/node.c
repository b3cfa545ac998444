/*
 * node.c -- encode, decode and edit B+tree nodes in memory.
 *
 * Layer 3: pure memory; calls bytes and status only. Decoding treats the
 * payload as hostile (every length and reference checked, exact
 * consumption). Sizes are maintained incrementally: an entry's encoding
 * depends only on itself and its predecessor (delta / shared prefix), so an
 * edit at i changes the sizes of entries i and i+1 only.
 */
#include "node.h"

#include <stdlib.h>
#include <string.h>

#include "bytes.h"

int key_cmp_bytes(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    size_t m = alen < blen ? alen : blen;
    int c = m ? memcmp(a, b, m) : 0;
    if (c) return c;
    return alen < blen ? -1 : alen > blen;
}

Node *node_new(int leaf, int key_type, int level)
{
    Node *n = calloc(1, sizeof *n);
    if (!n) return NULL;
    n->leaf = (uint8_t)leaf;
    n->key_type = (uint8_t)key_type;
    n->level = (uint8_t)level;
    return n;
}

static void entry_release(Entry *e)
{
    if (e->flags & E_OWN_KEY) free(e->key);
    if (e->flags & E_OWN_VAL) free(e->val);
    e->flags = 0;
}

void node_free(Node *n)
{
    if (!n) return;
    for (uint32_t i = 0; i < n->n; i++) entry_release(&n->e[i]);
    free(n->e);
    free(n->sk);
    free(n->arena);
    free(n);
}

size_t node_memory(const Node *n)
{
    return sizeof *n + n->cap * (sizeof(Entry) + sizeof(uint64_t)) + n->mem;
}

static int node_reserve(Node *n, uint32_t want)
{
    if (want <= n->cap) return DUMP_OK;
    /* First allocation exact (a decoded node rarely grows: cached nodes
     * are mostly read), later ones doubling. */
    uint32_t cap = n->cap ? n->cap * 2 : want;
    while (cap < want) cap *= 2;
    Entry *e = realloc(n->e, cap * sizeof *e);
    if (!e) return DUMP_NOMEM;
    n->e = e;
    uint64_t *sk = realloc(n->sk, cap * sizeof *sk);
    if (!sk) return DUMP_NOMEM;
    n->sk = sk;
    n->sk_valid = 0;
    n->cap = cap;
    return DUMP_OK;
}

static size_t shared_prefix(const Entry *p, const Entry *e)
{
    if (p->kx || e->kx) return 0;
    size_t m = p->klen < e->klen ? p->klen : e->klen, i = 0;
    while (i < m && p->key[i] == e->key[i]) i++;
    return i;
}

/* Size of entry e when preceded by p (NULL: first in node). */
static size_t entry_size_after(const Node *n, const Entry *p, const Entry *e)
{
    size_t s;
    if (n->key_type == KEY_INT) {
        s = p ? varint_len((uint64_t)e->ikey - (uint64_t)p->ikey) : varint_len(zigzag_enc(e->ikey));
    } else if (e->kx) {
        s = 1 + varint_len((uint64_t)e->klen << 1 | 1) + varint_len(e->kx);
    } else {
        size_t sh = p ? shared_prefix(p, e) : 0;
        size_t suf = e->klen - sh;
        s = varint_len(sh) + varint_len((uint64_t)suf << 1) + suf;
    }
    if (!n->leaf) return s + varint_len(e->child);
    if (e->vx) return s + varint_len(e->vxlen << 1 | 1) + varint_len(e->vx);
    return s + varint_len((uint64_t)e->vlen << 1) + e->vlen;
}

size_t node_entry_size(const Node *n, uint32_t i)
{
    return entry_size_after(n, i ? &n->e[i - 1] : NULL, &n->e[i]);
}

void node_resize(Node *n)
{
    size_t s = 0;
    for (uint32_t i = 0; i < n->n; i++) s += node_entry_size(n, i);
    n->size = s;
}

int node_insert(Node *n, uint32_t i, const Entry *e)
{
    if (node_reserve(n, n->n + 1)) return DUMP_NOMEM;
    size_t old = i < n->n ? node_entry_size(n, i) : 0;
    memmove(&n->e[i + 1], &n->e[i], (n->n - i) * sizeof *e);
    n->e[i] = *e;
    n->n++;
    n->sk_valid = 0;
    size_t add = node_entry_size(n, i) + (i + 1 < n->n ? node_entry_size(n, i + 1) : 0);
    n->size = n->size + add - old;
    if (e->flags & E_OWN_KEY) n->mem += e->klen;
    if (e->flags & E_OWN_VAL) n->mem += e->vlen;
    return DUMP_OK;
}

void node_take(Node *n, uint32_t i, Entry *out)
{
    size_t old = node_entry_size(n, i) + (i + 1 < n->n ? node_entry_size(n, i + 1) : 0);
    *out = n->e[i];
    if (out->flags & E_OWN_KEY) n->mem -= out->klen;   /* ownership leaves with it */
    if (out->flags & E_OWN_VAL) n->mem -= out->vlen;
    memmove(&n->e[i], &n->e[i + 1], (n->n - i - 1) * sizeof *out);
    n->n--;
    n->sk_valid = 0;
    size_t now = i < n->n ? node_entry_size(n, i) : 0;
    n->size = n->size + now - old;
}

void node_remove(Node *n, uint32_t i)
{
    Entry e;
    node_take(n, i, &e);
    entry_release(&e);
}

void node_set_value(Node *n, uint32_t i, uint8_t *val, uint32_t vlen, int owned,
                    uint64_t vx, uint64_t vxlen)
{
    Entry *e = &n->e[i];
    size_t old = node_entry_size(n, i);
    if (e->flags & E_OWN_VAL) { n->mem -= e->vlen; free(e->val); }
    e->flags &= (uint8_t)~E_OWN_VAL;
    e->val = val;
    e->vlen = vlen;
    e->vx = vx;
    e->vxlen = vxlen;
    if (owned) { e->flags |= E_OWN_VAL; n->mem += vlen; }
    n->size = n->size + node_entry_size(n, i) - old;
}

void node_set_child(Node *n, int64_t i, uint64_t child)
{
    if (i < 0) { n->child0 = child; return; }
    size_t old = node_entry_size(n, (uint32_t)i);
    n->e[i].child = child;
    n->size = n->size + node_entry_size(n, (uint32_t)i) - old;
}

static uint8_t *dup_bytes(const uint8_t *p, size_t len)
{
    uint8_t *d = malloc(len ? len : 1);
    if (d && len) memcpy(d, p, len);
    return d;
}

int node_own_entry(Node *n, uint32_t i)
{
    Entry *e = &n->e[i];
    if (n->key_type == KEY_BYTES && e->key && !(e->flags & E_OWN_KEY)) {
        uint8_t *k = dup_bytes(e->key, e->klen);
        if (!k) return DUMP_NOMEM;
        e->key = k;
        e->flags |= E_OWN_KEY;
        n->mem += e->klen;
    }
    if (n->leaf && !e->vx && e->vlen && !(e->flags & E_OWN_VAL)) {
        uint8_t *v = dup_bytes(e->val, e->vlen);
        if (!v) return DUMP_NOMEM;
        e->val = v;
        e->flags |= E_OWN_VAL;
        n->mem += e->vlen;
    }
    return DUMP_OK;
}

/* A copy-on-write copy: all key and value bytes go into one new arena (one
 * allocation, not one per entry). */
Node *node_clone(const Node *src)
{
    Node *n = node_new(src->leaf, src->key_type, src->level);
    if (!n || node_reserve(n, src->n ? src->n : 1)) { node_free(n); return NULL; }
    size_t total = 0;
    for (uint32_t i = 0; i < src->n; i++)
        total += (src->e[i].key ? src->e[i].klen : 0) + (src->leaf && !src->e[i].vx ? src->e[i].vlen : 0);
    if (!(n->arena = malloc(total ? total : 1))) { node_free(n); return NULL; }
    n->child0 = src->child0;
    n->block = src->block;
    memcpy(n->e, src->e, src->n * sizeof(Entry));
    n->n = src->n;
    uint8_t *a = n->arena;
    for (uint32_t i = 0; i < n->n; i++) {
        Entry *e = &n->e[i];
        e->flags = 0;
        if (e->key) {              /* NULL: a long key not loaded yet */
            if (e->klen) memcpy(a, e->key, e->klen);
            e->key = a;
            a += e->klen;
        }
        if (src->leaf && !e->vx) {
            if (e->vlen) memcpy(a, e->val, e->vlen);
            e->val = a;
            a += e->vlen;
        }
    }
    n->mem = total;
    n->size = src->size;
    return n;
}

#define BIAS ((uint64_t)1 << 63)

static uint64_t prefix8(const uint8_t *k, size_t len)
{
    uint64_t v = 0;
    for (size_t i = 0; i < 8; i++) v = v << 8 | (i < len ? k[i] : 0);
    return v;
}

/* Zero padding keeps prefix order consistent with key order: where two
 * prefixes differ, memcmp-then-length order agrees; where they are equal
 * the full keys decide. */
static void build_sk(Node *n)
{
    uint32_t off = 0;
    if (n->key_type == KEY_BYTES && n->n > 1) {   /* sorted: first and last bound the rest */
        const Entry *a = &n->e[0], *b = &n->e[n->n - 1];
        uint32_t m = a->klen < b->klen ? a->klen : b->klen;
        while (off < m && a->key[off] == b->key[off]) off++;
    }
    n->sk_off = off;
    for (uint32_t i = 0; i < n->n; i++)
        n->sk[i] = n->key_type == KEY_INT ? (uint64_t)n->e[i].ikey ^ BIAS
                                          : prefix8(n->e[i].key + off, n->e[i].klen - off);
    n->sk_valid = 1;
}

uint32_t node_search_int(Node *n, int64_t k, int *eq)
{
    if (!n->sk_valid) build_sk(n);
    uint64_t probe = (uint64_t)k ^ BIAS;
    const uint64_t *sk = n->sk;
    uint32_t lo = 0, hi = n->n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (sk[mid] < probe) lo = mid + 1; else hi = mid;
    }
    *eq = lo < n->n && sk[lo] == probe;
    return lo;
}

uint32_t node_search_bytes(Node *n, const uint8_t *k, size_t klen, int *eq)
{
    if (!n->sk_valid) build_sk(n);
    *eq = 0;
    uint32_t off = n->sk_off;
    if (off) {            /* a probe outside the shared prefix sorts before or after all */
        size_t m = klen < off ? klen : off;
        int c = m ? memcmp(k, n->e[0].key, m) : 0;
        if (c < 0 || (c == 0 && klen < off)) return 0;
        if (c > 0) return n->n;
    }
    uint64_t probe = prefix8(off ? k + off : k, klen - off);
    const uint64_t *sk = n->sk;
    uint32_t lo = 0, hi = n->n;
    int c = 1;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        int r = sk[mid] < probe ? -1 : sk[mid] > probe
                ? 1 : key_cmp_bytes(n->e[mid].key, n->e[mid].klen, k, klen);
        if (r < 0) lo = mid + 1; else { hi = mid; c = r; }
    }
    *eq = lo < n->n && c == 0;
    return lo;
}

/* ---- encoding ---------------------------------------------------------- */

size_t node_encode(const Node *n, uint8_t *out)
{
    uint8_t *p = out;
    *p++ = n->key_type;
    p += varint_put(p, n->n);
    if (!n->leaf) p += varint_put(p, n->child0);
    for (uint32_t i = 0; i < n->n; i++) {
        const Entry *e = &n->e[i], *pr = i ? &n->e[i - 1] : NULL;
        if (n->key_type == KEY_INT) {
            p += varint_put(p, pr ? (uint64_t)e->ikey - (uint64_t)pr->ikey : zigzag_enc(e->ikey));
        } else if (e->kx) {
            *p++ = 0;
            p += varint_put(p, (uint64_t)e->klen << 1 | 1);
            p += varint_put(p, e->kx);
        } else {
            size_t sh = pr ? shared_prefix(pr, e) : 0, suf = e->klen - sh;
            p += varint_put(p, sh);
            p += varint_put(p, (uint64_t)suf << 1);
            memcpy(p, e->key + sh, suf);
            p += suf;
        }
        if (!n->leaf) {
            p += varint_put(p, e->child);
        } else if (e->vx) {
            p += varint_put(p, e->vxlen << 1 | 1);
            p += varint_put(p, e->vx);
        } else {
            p += varint_put(p, (uint64_t)e->vlen << 1);
            if (e->vlen) memcpy(p, e->val, e->vlen);
            p += e->vlen;
        }
    }
    return (size_t)(p - out);
}

/* ---- decoding ---------------------------------------------------------- */

typedef struct Cur {
    const uint8_t *p, *end;
    ErrorInfo *err;
    int bad;
} Cur;

static uint64_t rd(Cur *c)
{
    uint64_t v = 0;
    size_t k = c->bad ? 0 : varint_get(c->p, c->end, &v);
    if (!k) { c->bad = 1; return 0; }
    c->p += k;
    return v;
}

static int fail(ErrorInfo *err, const char *why)
{
    return error_set(err, DUMP_CORRUPT, "tree node: %s", why);
}

static int ref_ok(uint64_t start, uint64_t len, uint64_t limit)
{
    uint64_t nb = extent_blocks(len);
    return start >= 2 && start < limit && nb <= limit - start;
}

/* First pass: parse entries, pointing key at the suffix bytes in the
 * payload and recording the shared-prefix length in `sh`; count arena
 * bytes. Second pass (node_decode) reconstructs full keys in the arena. */
static int parse_entries(Node *n, Cur *c, uint64_t limit, uint32_t *sh, size_t *arena)
{
    uint64_t biased = 0;
    for (uint32_t i = 0; i < n->n; i++) {
        Entry *e = &n->e[i];
        memset(e, 0, sizeof *e);
        if (n->key_type == KEY_INT) {
            uint64_t d = rd(c);
            if (c->bad) break;                 /* truncated, not "not increasing" */
            if (i == 0) {
                e->ikey = zigzag_dec(d);
            } else {
                if (d == 0 || d > UINT64_MAX - biased) return fail(c->err, "int keys not increasing");
                e->ikey = (int64_t)((biased + d) ^ ((uint64_t)1 << 63));
            }
            biased = (uint64_t)e->ikey ^ ((uint64_t)1 << 63);
        } else {
            uint64_t s = rd(c), t = rd(c);
            uint64_t len = t >> 1;
            if (c->bad) break;
            if (t & 1) {
                e->kx = rd(c);
                if (s != 0 || len <= KEY_INLINE_MAX || len > MAX_KEY_LEN || !ref_ok(e->kx, len, limit))
                    return fail(c->err, "bad long-key reference");
                e->klen = (uint32_t)len;
            } else {
                const Entry *p = i ? &n->e[i - 1] : NULL;
                if (s && (!p || p->kx || s > p->klen)) return fail(c->err, "bad shared prefix");
                if (len > KEY_INLINE_MAX || s + len > KEY_INLINE_MAX || len > (uint64_t)(c->end - c->p))
                    return fail(c->err, "bad key length");
                e->key = (uint8_t *)c->p;
                e->klen = (uint32_t)(s + len);
                sh[i] = (uint32_t)s;
                c->p += len;
                *arena += e->klen;
            }
        }
        if (!n->leaf) {
            e->child = rd(c);
            if (!c->bad && (e->child < 2 || e->child >= limit)) return fail(c->err, "child out of range");
            continue;
        }
        uint64_t t = rd(c), len = t >> 1;
        if (c->bad) break;
        if (t & 1) {
            e->vx = rd(c);
            e->vxlen = len;
            if (len <= VAL_INLINE_MAX || len > MAX_VAL_LEN || !ref_ok(e->vx, len, limit))
                return fail(c->err, "bad value reference");
        } else {
            if (len > VAL_INLINE_MAX || len > (uint64_t)(c->end - c->p)) return fail(c->err, "bad value length");
            e->val = (uint8_t *)c->p;
            e->vlen = (uint32_t)len;
            c->p += len;
            *arena += len;
        }
    }
    return c->bad ? fail(c->err, "truncated entry") : DUMP_OK;
}

int node_decode(const uint8_t *payload, size_t len, int leaf, int level, uint64_t limit,
                Node **out, ErrorInfo *err)
{
    Cur c = { payload, payload + len, err, 0 };
    *out = NULL;
    if (len < 2) return fail(err, "too short");
    int kt = *c.p++;
    if (kt != KEY_INT && kt != KEY_BYTES) return fail(err, "unknown key type");
    uint64_t cnt = rd(&c);
    if (c.bad || cnt == 0 || cnt > BLOCK_PAYLOAD / 2) return fail(err, "bad entry count");
    Node *n = node_new(leaf, kt, level);
    uint32_t *sh = calloc(cnt, sizeof *sh);
    if (!n || !sh || node_reserve(n, (uint32_t)cnt)) {
        node_free(n); free(sh);
        return error_set(err, DUMP_NOMEM, "out of memory decoding a node");
    }
    n->n = (uint32_t)cnt;
    int rc = DUMP_OK;
    if (!leaf) {
        n->child0 = rd(&c);
        if (c.bad || n->child0 < 2 || n->child0 >= limit) rc = fail(err, "child out of range");
    }
    size_t arena = 0;
    if (!rc) rc = parse_entries(n, &c, limit, sh, &arena);
    if (!rc && c.p != c.end) rc = fail(err, "trailing bytes");
    /* Never a NULL arena: an empty key must still point at real memory. */
    if (!rc && !(n->arena = malloc(arena ? arena : 1))) rc = error_set(err, DUMP_NOMEM, "out of memory");
    uint8_t *a = n->arena;
    for (uint32_t i = 0; !rc && i < n->n; i++) {
        Entry *e = &n->e[i];
        if (kt == KEY_BYTES && !e->kx) {
            uint8_t *k = a;
            if (sh[i]) memcpy(k, n->e[i - 1].key, sh[i]);
            memcpy(k + sh[i], e->key, e->klen - sh[i]);
            e->key = k;
            a += e->klen;
            if (i && !n->e[i - 1].kx
                && key_cmp_bytes(n->e[i - 1].key, n->e[i - 1].klen, k, e->klen) >= 0)
                rc = fail(err, "keys not increasing");
            /* The size check below cannot see a short prefix paid for by a
             * longer suffix (127 + 1 byte costs what 128 + 0 does). */
            else if (i && !n->e[i - 1].kx && sh[i] < e->klen && sh[i] < n->e[i - 1].klen
                     && n->e[i - 1].key[sh[i]] == k[sh[i]])
                rc = fail(err, "shared prefix not maximal");
        }
        if (leaf && !e->vx && e->vlen) {
            memcpy(a, e->val, e->vlen);
            e->val = a;
            a += e->vlen;
        } else if (leaf && !e->vx) {
            e->val = NULL;
        }
    }
    free(sh);
    if (rc) { n->n = 0; node_free(n); return rc; }
    n->mem = arena;
    node_resize(n);
    if (node_bytes(n) != len) { node_free(n); return fail(err, "non-canonical encoding"); }
    *out = n;
    return DUMP_OK;
}
