/*
 * check.c -- integrity walk of a snapshot: every tree well formed, every
 * block below nblocks accounted for exactly once.
 *
 * Layer 7: uses store internals, btree/pager/node and freelist. A bitmap
 * records each block as it is claimed (header slots, tree nodes, key and
 * value extents, the free-space record, free and pending extents); a second
 * claim or an unclaimed block is corruption. Key bounds are carried down
 * the tree so order is checked across nodes, not only within one.
 */
#include "store.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

typedef struct Walk {
    Store *s;
    uint8_t *bits;
    uint64_t nblocks, claimed;
    StoreCheck *out;
    uint8_t *scratch;
} Walk;

static int claim(Walk *w, uint64_t start, uint64_t len, const char *what)
{
    if (start >= w->nblocks || len > w->nblocks - start)
        return error_set(&w->s->err, DUMP_CORRUPT, "%s at block %" PRIu64 " lies outside the file",
                         what, start);
    for (uint64_t b = start; b < start + len; b++) {
        if (w->bits[b / 8] & (1u << (b % 8)))
            return error_set(&w->s->err, DUMP_CORRUPT, "block %" PRIu64 " is used twice (%s)", b, what);
        w->bits[b / 8] |= (uint8_t)(1u << (b % 8));
    }
    w->claimed += len;
    return DUMP_OK;
}

static int visit_extent(void *ctx, uint64_t start, uint64_t len, uint64_t gen)
{
    Walk *w = ctx;
    return claim(w, start, len, gen ? "pending extent" : "free extent");
}

/* Read a whole extent in chunks so every checksum is verified. */
static int read_extent(Walk *w, uint64_t start, uint64_t total)
{
    enum { CHUNK = 1 << 20 };
    for (uint64_t off = 0; off < total; off += CHUNK) {
        uint64_t n = total - off < CHUNK ? total - off : CHUNK;
        int rc = pager_read_extent(&w->s->pager, start, total, off, n, w->scratch);
        if (rc) return rc;
    }
    return DUMP_OK;
}

typedef struct Bound { const Entry *e; } Bound;

static int key_cmp(const Node *n, const Entry *a, const Entry *b)
{
    if (n->key_type == KEY_INT) return a->ikey < b->ikey ? -1 : a->ikey > b->ikey;
    return key_cmp_bytes(a->key, a->klen, b->key, b->klen);
}

/* Keys of the subtree must satisfy lo <= k < hi (NULL: unbounded). */
static int walk_node(Walk *w, const TreeRoot *t, unsigned tree, uint64_t b, int level,
                     const Entry *lo, const Entry *hi, uint64_t *count)
{
    Node *n;
    int rc = pager_trim(&w->s->pager);   /* ancestors are private copies */
    if (!rc) rc = pager_get(&w->s->pager, b, level, t->key_type, &n);
    if (!rc) rc = claim(w, b, 1, "tree node");
    if (rc) return rc;
    if (node_bytes(n) > BLOCK_PAYLOAD)
        return error_set(&w->s->err, DUMP_CORRUPT, "tree %u: block %" PRIu64 " overfull", tree, b);
    for (uint32_t i = 0; i < n->n; i++) {
        const Entry *e = &n->e[i];
        if ((lo && key_cmp(n, e, lo) < 0) || (hi && key_cmp(n, e, hi) >= 0))
            return error_set(&w->s->err, DUMP_CORRUPT,
                             "tree %u: block %" PRIu64 ": key outside the range its parent allows", tree, b);
        if (e->kx && ((rc = claim(w, e->kx, extent_blocks(e->klen), "key extent"))
                      || (rc = read_extent(w, e->kx, e->klen))))
            return rc;
        if (e->vx && ((rc = claim(w, e->vx, extent_blocks(e->vxlen), "value extent"))
                      || (rc = read_extent(w, e->vx, e->vxlen))))
            return rc;
    }
    if (n->leaf) { *count += n->n; return DUMP_OK; }
    /* Children are fetched by block number and may be decoded anew; copy
     * this node so its separators stay valid while we recurse. */
    Node *copy = node_clone(n);
    if (!copy) return error_set(&w->s->err, DUMP_NOMEM, "out of memory");
    for (uint32_t c = 0; c <= copy->n && !rc; c++) {
        uint64_t child = c == 0 ? copy->child0 : copy->e[c - 1].child;
        rc = walk_node(w, t, tree, child, level - 1, c == 0 ? lo : &copy->e[c - 1],
                       c == copy->n ? hi : &copy->e[c], count);
    }
    node_free(copy);
    return rc;
}

static int walk_trees(Walk *w, const Header *h)
{
    for (unsigned i = 0; i < MAX_TREES; i++) {
        const TreeRoot *t = &h->trees[i];
        if (!t->key_type) continue;
        w->out->trees++;
        uint64_t count = 0;
        if (t->root) {
            int rc = walk_node(w, t, i, t->root, t->height - 1, NULL, NULL, &count);
            if (rc) return rc;
        }
        if (count != t->count)
            return error_set(&w->s->err, DUMP_CORRUPT, "tree %u holds %" PRIu64 " entries, header says %" PRIu64,
                             i, count, t->count);
        w->out->entries += count;
    }
    return DUMP_OK;
}

int store_check(Store *s, StoreCheck *out)
{
    error_clear(&s->err);
    memset(out, 0, sizeof *out);
    if (!s->vfs) return error_set(&s->err, DUMP_MISUSE, "the dump failed to open");
    if (s->pager.in_txn) return error_set(&s->err, DUMP_MISUSE, "check inside a write transaction");
    const Header *h = &s->base;
    uint64_t size;
    int rc = vfs_size(s->vfs, &size, &s->err);
    if (rc) return rc;
    if (size < h->nblocks * BLOCK_SIZE) {
        /* A later commit may trim blocks that are free in this older
         * snapshot; only the newest must fit the file. (A live block past
         * the end is still caught when the walk reads it.) */
        Header now;
        uint64_t other;
        if ((rc = blockfile_read_header(&s->pager.bf, &now, &other))) return rc;
        if (now.gen == h->gen)
            return error_set(&s->err, DUMP_CORRUPT, "%s: file is %" PRIu64 " bytes, shorter than its %" PRIu64
                             " blocks (truncated)", s->path, size, h->nblocks);
    }
    Walk w = { s, calloc(h->nblocks / 8 + 1, 1), h->nblocks, 0, out, malloc(1 << 20) };
    Freelist *fl = freelist_new();
    if (!w.bits || !w.scratch || !fl) { rc = error_set(&s->err, DUMP_NOMEM, "out of memory"); goto done; }
    out->nblocks = h->nblocks;
    if ((rc = claim(&w, 0, 2, "header slots"))) goto done;
    if (h->fs_start) {
        if ((rc = claim(&w, h->fs_start, extent_blocks(h->fs_len), "free-space record"))) goto done;
        if ((rc = store_load_freelist(s, h, fl))) goto done;
        if ((rc = freelist_foreach_free(fl, visit_extent, &w))) goto done;
        if ((rc = freelist_foreach_pending(fl, visit_extent, &w))) goto done;
        out->free_blocks = freelist_free_blocks(fl);
        out->pending_blocks = freelist_pending_blocks(fl);
    }
    if ((rc = walk_trees(&w, h))) goto done;
    out->live_blocks = w.claimed - out->free_blocks - out->pending_blocks;
    if (w.claimed != h->nblocks) {
        uint64_t b = 0;
        while (w.bits[b / 8] & (1u << (b % 8))) b++;
        rc = error_set(&s->err, DUMP_CORRUPT, "%s: block %" PRIu64 " is neither used nor free (%" PRIu64
                       " of %" PRIu64 " blocks accounted for)", s->path, b, w.claimed, h->nblocks);
    }
done:
    freelist_free(fl);
    free(w.bits);
    free(w.scratch);
    return rc;
}
