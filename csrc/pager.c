/*
 * pager.c -- node cache (hash table + clock eviction) and the write
 * transaction's owned/freed block accounting.
 *
 * Layer 4: calls blockfile, freelist, node. See pager.h for the invariants.
 * The owned set is keyed by an extent's first block: extents are always
 * freed whole, with the length they were allocated with.
 */
#include "pager.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static size_t hslot(const Pager *p, uint64_t block)
{
    return (size_t)((block * 0x9E3779B97F4A7C15ull) >> 20) & (p->htcap - 1);
}

int pager_init(Pager *p, ErrorInfo *err)
{
    memset(p, 0, sizeof *p);
    p->err = err;
    p->htcap = 1024;
    p->budget = (size_t)64 << 20;
    p->ht = calloc(p->htcap, sizeof *p->ht);
    p->buf = malloc(BLOCK_SIZE);
    p->fl = freelist_new();
    if (!p->ht || !p->buf || !p->fl) return DUMP_NOMEM;
    return DUMP_OK;
}

static Node *cache_find(Pager *p, uint64_t block)
{
    for (Node *n = p->ht[hslot(p, block)]; n; n = n->hnext)
        if (n->block == block) return n;
    return NULL;
}

static void cache_unlink(Pager *p, Node *n)
{
    Node **pp = &p->ht[hslot(p, n->block)];
    while (*pp != n) pp = &(*pp)->hnext;
    *pp = n->hnext;
    p->count--;
    p->mem -= n->charged;
}

static void cache_grow(Pager *p)
{
    size_t oldcap = p->htcap;
    Node **old = p->ht, **nt = calloc(oldcap * 2, sizeof *nt);
    if (!nt) return;                  /* keep the longer chains */
    p->ht = nt;
    p->htcap = oldcap * 2;
    for (size_t i = 0; i < oldcap; i++)
        for (Node *n = old[i], *next; n; n = next) {
            next = n->hnext;
            size_t h = hslot(p, n->block);
            n->hnext = nt[h];
            nt[h] = n;
        }
    free(old);
}

static void cache_insert(Pager *p, Node *n)
{
    if (p->count >= p->htcap) cache_grow(p);
    size_t h = hslot(p, n->block);
    n->hnext = p->ht[h];
    p->ht[h] = n;
    n->ref = 1;
    n->charged = node_memory(n);
    p->count++;
    p->mem += n->charged;
}

static void cache_drop(Pager *p, Node *n)
{
    cache_unlink(p, n);
    node_free(n);
}

void pager_invalidate(Pager *p)
{
    for (size_t i = 0; i < p->htcap; i++)
        for (Node *n = p->ht[i], *next; n; n = next) { next = n->hnext; node_free(n); }
    memset(p->ht, 0, p->htcap * sizeof *p->ht);
    p->count = p->mem = 0;
    p->stamp++;
}

void pager_destroy(Pager *p)
{
    if (p->ht) pager_invalidate(p);
    free(p->ht);
    free(p->buf);
    free(p->vbuf);
    free(p->owned);
    free(p->freed);
    freelist_free(p->fl);
    memset(p, 0, sizeof *p);
}

static int write_node(Pager *p, Node *n)
{
    memset(p->buf, 0, BLOCK_SIZE);
    size_t used = node_encode(n, p->buf + BLOCK_HDR);
    int rc = blockfile_write(&p->bf, n->block, p->buf, n->leaf ? BT_LEAF : BT_BRANCH,
                             n->level, (unsigned)used, p->gen);
    if (rc == DUMP_OK) n->dirty = 0;
    return rc;
}

int pager_trim(Pager *p)
{
    /* Clock: a node survives one sweep after its last use. */
    size_t guard = 2 * p->htcap + 2;
    while (p->mem > p->budget && p->count && guard--) {
        p->hand = (p->hand + 1) & (p->htcap - 1);
        for (Node *n = p->ht[p->hand], *next; n; n = next) {
            next = n->hnext;
            if (n->ref) { n->ref = 0; continue; }
            if (n->dirty) {
                int rc = write_node(p, n);
                if (rc) return rc;
            }
            cache_drop(p, n);
        }
    }
    return DUMP_OK;
}

/* ---- owned set ---------------------------------------------------------- */

static size_t oslot(uint64_t b, size_t cap) { return (size_t)(b * 0x9E3779B97F4A7C15ull >> 17) & (cap - 1); }

static int owned_add(Pager *p, uint64_t b)
{
    if (2 * (p->owned_n + 1) > p->owned_cap) {
        size_t cap = p->owned_cap ? p->owned_cap * 2 : 1024;
        uint64_t *t = calloc(cap, sizeof *t);
        if (!t) return DUMP_NOMEM;
        for (size_t i = 0; i < p->owned_cap; i++) {
            uint64_t v = p->owned[i];
            if (v < 2) continue;               /* 0 empty, 1 tombstone */
            size_t h = oslot(v, cap);
            while (t[h]) h = (h + 1) & (cap - 1);
            t[h] = v;
        }
        free(p->owned);
        p->owned = t;
        p->owned_cap = cap;
    }
    size_t h = oslot(b, p->owned_cap);
    while (p->owned[h] > 1) h = (h + 1) & (p->owned_cap - 1);
    p->owned[h] = b;
    p->owned_n++;
    return DUMP_OK;
}

static size_t owned_find(const Pager *p, uint64_t b)
{
    if (!p->owned_cap) return SIZE_MAX;
    for (size_t h = oslot(b, p->owned_cap);; h = (h + 1) & (p->owned_cap - 1)) {
        if (p->owned[h] == b) return h;
        if (p->owned[h] == 0) return SIZE_MAX;
    }
}

int pager_is_owned(const Pager *p, uint64_t start)
{
    return p->in_txn && owned_find(p, start) != SIZE_MAX;
}

/* ---- allocation --------------------------------------------------------- */

int pager_alloc(Pager *p, uint64_t nblocks, uint64_t *start)
{
    int rc = freelist_alloc(p->fl, nblocks, &p->limit, start);
    if (rc)
        return error_set(p->err, rc, "allocating %" PRIu64 " blocks: %s", nblocks,
                         rc == DUMP_NOMEM ? "out of memory" : "the file would exceed its size limit");
    for (uint64_t b = *start; b < *start + nblocks; b++) {
        Node *stale = cache_find(p, b);   /* a block freed by an older commit */
        if (stale) cache_drop(p, stale);
    }
    if (owned_add(p, *start)) return error_set(p->err, DUMP_NOMEM, "out of memory");
    return DUMP_OK;
}

int pager_free(Pager *p, uint64_t start, uint64_t nblocks)
{
    size_t h = owned_find(p, start);
    if (h != SIZE_MAX) {
        p->owned[h] = 1;
        p->owned_n--;
        int rc = freelist_add_free(p->fl, start, nblocks);
        if (rc) return error_set(p->err, rc, "freeing blocks [%" PRIu64 ", +%" PRIu64 "): %s",
                                 start, nblocks, rc == DUMP_CORRUPT ? "already free" : "out of memory");
        return DUMP_OK;
    }
    if (p->freed_n == p->freed_cap) {
        size_t cap = p->freed_cap ? p->freed_cap * 2 : 256;
        Extent *f = realloc(p->freed, cap * sizeof *f);
        if (!f) return error_set(p->err, DUMP_NOMEM, "out of memory");
        p->freed = f;
        p->freed_cap = cap;
    }
    p->freed[p->freed_n++] = (Extent){ start, nblocks };
    return DUMP_OK;
}

/* ---- nodes -------------------------------------------------------------- */

static int load_long_keys(Pager *p, Node *n)
{
    for (uint32_t i = 0; i < n->n; i++) {
        Entry *e = &n->e[i];
        if (!e->kx || e->key) continue;
        uint8_t *k = malloc(e->klen);
        if (!k) return error_set(p->err, DUMP_NOMEM, "out of memory");
        int rc = blockfile_read_extent(&p->bf, e->kx, e->klen, BT_VALUE, p->limit, 0, e->klen, k);
        if (rc) { free(k); return rc; }
        e->key = k;
        e->flags |= E_OWN_KEY;
        n->sk_valid = 0;
        n->mem += e->klen;
    }
    for (uint32_t i = 1; i < n->n; i++)
        if ((n->e[i].kx || n->e[i - 1].kx)
            && key_cmp_bytes(n->e[i - 1].key, n->e[i - 1].klen, n->e[i].key, n->e[i].klen) >= 0)
            return error_set(p->err, DUMP_CORRUPT, "%s: block %" PRIu64 ": keys not increasing",
                             p->bf.path, n->block);
    return DUMP_OK;
}

int pager_get(Pager *p, uint64_t block, int level, int key_type, Node **out)
{
    Node *n = cache_find(p, block);
    if (!n) {
        int rc = blockfile_read(&p->bf, block, level ? BT_BRANCH : BT_LEAF, p->limit, p->buf);
        if (rc) return rc;
        if (block_level(p->buf) != level)
            return error_set(p->err, DUMP_CORRUPT, "%s: block %" PRIu64 ": node at level %d, expected %d",
                             p->bf.path, block, block_level(p->buf), level);
        ErrorInfo e;
        rc = node_decode(p->buf + BLOCK_HDR, block_used(p->buf), level == 0, level, p->limit, &n, &e);
        if (rc) return error_set(p->err, rc, "%s: block %" PRIu64 ": %s", p->bf.path, block, e.msg);
        n->block = block;
        if (n->key_type == KEY_BYTES && (rc = load_long_keys(p, n))) { node_free(n); return rc; }
        cache_insert(p, n);
    }
    if (n->key_type != key_type)
        return error_set(p->err, DUMP_CORRUPT, "%s: block %" PRIu64 ": node of another tree type",
                         p->bf.path, block);
    n->ref = 1;
    *out = n;
    return DUMP_OK;
}

int pager_new_node(Pager *p, int leaf, int key_type, int level, Node **out)
{
    uint64_t b;
    int rc = pager_alloc(p, 1, &b);
    if (rc) return rc;
    Node *n = node_new(leaf, key_type, level);
    if (!n) return error_set(p->err, DUMP_NOMEM, "out of memory");
    n->block = b;
    n->dirty = 1;
    cache_insert(p, n);
    *out = n;
    return DUMP_OK;
}

int pager_writable(Pager *p, Node **np)
{
    Node *n = *np;
    if (pager_is_owned(p, n->block)) {
        n->dirty = 1;
        p->mem = p->mem - n->charged + node_memory(n);   /* it may have grown */
        n->charged = node_memory(n);
        return DUMP_OK;
    }
    Node *c = node_clone(n);
    if (!c) return error_set(p->err, DUMP_NOMEM, "out of memory");
    uint64_t b;
    int rc = pager_alloc(p, 1, &b);
    if (!rc) rc = pager_free(p, n->block, 1);
    if (rc) { node_free(c); return rc; }
    c->block = b;
    c->dirty = 1;
    cache_insert(p, c);
    *np = c;
    return DUMP_OK;
}

int pager_free_node(Pager *p, Node *n)
{
    int rc = pager_free(p, n->block, 1);
    cache_drop(p, n);
    return rc;
}

/* ---- extents ------------------------------------------------------------ */

int pager_write_extent(Pager *p, const uint8_t *data, uint64_t len, uint64_t *start)
{
    int rc = pager_alloc(p, extent_blocks(len), start);
    if (rc) return rc;
    return blockfile_write_extent(&p->bf, *start, data, len, BT_VALUE, p->gen);
}

int pager_read_extent(Pager *p, uint64_t start, uint64_t total, uint64_t off, uint64_t len, uint8_t *out)
{
    return blockfile_read_extent(&p->bf, start, total, BT_VALUE, p->limit, off, len, out);
}

int pager_entry_value(Pager *p, const Entry *e, const uint8_t **val, size_t *len)
{
    if (!e->vx) {
        *val = e->vlen ? e->val : (const uint8_t *)"";
        *len = e->vlen;
        return DUMP_OK;
    }
    if (e->vxlen > p->vbuf_cap || (p->vbuf_cap > ((size_t)16 << 20) && e->vxlen < p->vbuf_cap / 4)) {
        uint8_t *b = malloc(e->vxlen);
        if (!b) return error_set(p->err, DUMP_NOMEM, "out of memory reading a %" PRIu64 "-byte value", e->vxlen);
        free(p->vbuf);
        p->vbuf = b;
        p->vbuf_cap = e->vxlen;
    }
    int rc = pager_read_extent(p, e->vx, e->vxlen, 0, e->vxlen, p->vbuf);
    if (rc) return rc;
    *val = p->vbuf;
    *len = e->vxlen;
    return DUMP_OK;
}

/* ---- transactions ------------------------------------------------------- */

int pager_txn_begin(Pager *p, uint64_t gen, uint64_t nblocks)
{
    p->in_txn = 1;
    p->gen = gen;
    p->limit = nblocks;
    p->freed_n = 0;
    p->owned_n = 0;
    if (p->owned) memset(p->owned, 0, p->owned_cap * sizeof *p->owned);
    return DUMP_OK;
}

int pager_flush(Pager *p)
{
    for (size_t i = 0; i < p->htcap; i++)
        for (Node *n = p->ht[i]; n; n = n->hnext)
            if (n->dirty) {
                int rc = write_node(p, n);
                if (rc) return rc;
            }
    return DUMP_OK;
}

void pager_txn_end(Pager *p, int committed)
{
    if (!committed) {
        /* Owned nodes hold uncommitted content at blocks that are free
         * again: drop them. Clean committed nodes stay valid. */
        for (size_t i = 0; i < p->htcap; i++)
            for (Node *n = p->ht[i], *next; n; n = next) {
                next = n->hnext;
                if (n->dirty || owned_find(p, n->block) != SIZE_MAX) cache_drop(p, n);
            }
    }
    p->in_txn = 0;
    p->freed_n = 0;
    p->owned_n = 0;
    if (p->owned) memset(p->owned, 0, p->owned_cap * sizeof *p->owned);
    p->stamp++;
}
