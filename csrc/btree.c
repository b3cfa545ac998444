/*
 * btree.c -- search, insert, delete and cursors on copy-on-write B+trees.
 *
 * Layer 5: calls pager and node only. An operation descends from the root
 * recording the path (nodes and child indexes), then, before changing
 * anything, makes the whole path writable bottom-up (copying committed
 * nodes to new blocks and re-pointing parents). Overfull nodes split
 * upwards; underfull ones merge with or borrow from a sibling.
 */
#include "btree.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* A node under half full merges with (or evens out with) a sibling: at a
 * quarter, deleting a random half of a tree left every leaf half empty and
 * the file 1.5x a fresh build (tests/test_space.py). */
#define UNDERFLOW (BLOCK_PAYLOAD / 2)

static uint64_t child_at(const Node *n, uint32_t c)
{
    return c == 0 ? n->child0 : n->e[c - 1].child;
}

static int key_check(Pager *p, const TreeRoot *t, const Key *k)
{
    if (t->key_type == KEY_BYTES && k->n > MAX_KEY_LEN)
        return error_set(p->err, DUMP_INVALID, "key of %zu bytes is longer than the limit of %d",
                         k->n, MAX_KEY_LEN);
    return DUMP_OK;
}

static uint32_t search(Node *n, const Key *k, int *eq)
{
    return n->key_type == KEY_INT ? node_search_int(n, k->i, eq) : node_search_bytes(n, k->p, k->n, eq);
}

static int descend(Pager *p, const TreeRoot *t, const Key *k, Node **path, uint32_t *idx, int *eq)
{
    uint64_t b = t->root;
    for (int d = 0; d < t->height; d++) {
        int rc = pager_get(p, b, t->height - 1 - d, t->key_type, &path[d]);
        if (rc) return rc;
        Node *n = path[d];
        int e;
        uint32_t pos = search(n, k, &e);
        if (n->leaf) { idx[d] = pos; *eq = e; return DUMP_OK; }
        idx[d] = pos + (uint32_t)e;
        b = child_at(n, idx[d]);
    }
    return error_set(p->err, DUMP_CORRUPT, "%s: tree deeper than its recorded height", p->bf.path);
}

int btree_get(Pager *p, const TreeRoot *t, const Key *k, const Entry **e)
{
    int rc = key_check(p, t, k);   /* as put and del: too long is INVALID, not absent */
    if (rc) return rc;
    if (t->root == 0) return DUMP_NOTFOUND;
    Node *path[BT_MAX_HEIGHT];
    uint32_t idx[BT_MAX_HEIGHT];
    int eq;
    rc = descend(p, t, k, path, idx, &eq);
    if (rc) return rc;
    if (!eq) return DUMP_NOTFOUND;
    *e = &path[t->height - 1]->e[idx[t->height - 1]];
    return DUMP_OK;
}

/* Make every node on the path writable, re-pointing parents and root. */
static int cow_path(Pager *p, TreeRoot *t, Node **path, const uint32_t *idx, int depth)
{
    for (int d = depth - 1; d >= 0; d--) {
        int rc = pager_writable(p, &path[d]);
        if (rc) return rc;
        if (d + 1 < depth) node_set_child(path[d], (int64_t)idx[d] - 1, path[d + 1]->block);
    }
    t->root = path[0]->block;
    return DUMP_OK;
}

/* ---- entry construction ------------------------------------------------- */

static int make_key(Pager *p, const TreeRoot *t, const uint8_t *key, size_t klen, int64_t ikey, Entry *e)
{
    memset(e, 0, sizeof *e);
    if (t->key_type == KEY_INT) { e->ikey = ikey; return DUMP_OK; }
    e->key = malloc(klen ? klen : 1);
    if (!e->key) return error_set(p->err, DUMP_NOMEM, "out of memory");
    if (klen) memcpy(e->key, key, klen);
    e->klen = (uint32_t)klen;
    e->flags = E_OWN_KEY;
    if (klen > KEY_INLINE_MAX) {
        int rc = pager_write_extent(p, key, klen, &e->kx);
        if (rc) { free(e->key); e->key = NULL; e->flags = 0; return rc; }
    }
    return DUMP_OK;
}

static int free_key_extent(Pager *p, const Entry *e)
{
    return e->kx ? pager_free(p, e->kx, extent_blocks(e->klen)) : DUMP_OK;
}

static int free_entry_extents(Pager *p, const Entry *e)
{
    int rc = free_key_extent(p, e);
    if (!rc && e->vx) rc = pager_free(p, e->vx, extent_blocks(e->vxlen));
    return rc;
}

/* Separator between a (last key of the left node) and b (first of right). */
static int make_sep(Pager *p, const TreeRoot *t, const Entry *a, const Entry *b, Entry *sep)
{
    if (t->key_type == KEY_INT) return make_key(p, t, NULL, 0, b->ikey, sep);
    size_t j = 0, m = a->klen < b->klen ? a->klen : b->klen;
    while (j < m && a->key[j] == b->key[j]) j++;
    return make_key(p, t, b->key, j + 1 <= b->klen ? j + 1 : b->klen, 0, sep);
}

/* ---- split -------------------------------------------------------------- */

/* Move entries [from, n) of src to the end of dst (owning their bytes). */
static int move_tail(Node *src, uint32_t from, Node *dst)
{
    for (uint32_t i = from; i < src->n; i++)
        if (node_own_entry(src, i)) return DUMP_NOMEM;
    uint32_t cnt = src->n - from;
    for (uint32_t i = 0; i < cnt; i++) {
        Entry e;
        node_take(src, from, &e);
        if (node_insert(dst, dst->n, &e)) return DUMP_NOMEM;
    }
    return DUMP_OK;
}

/* Split index s (entries [s, n) go right) balancing encoded bytes. */
static uint32_t split_point(const Node *n, int append)
{
    if (append && n->n >= (n->leaf ? 2u : 3u)) return n->leaf ? n->n - 1 : n->n - 2;
    size_t acc = 0, half = n->size / 2;
    uint32_t s = 1;
    for (uint32_t i = 0; i + 1 < n->n; i++) {
        acc += node_entry_size(n, i);
        s = i + 1;
        if (acc >= half) break;
    }
    if (!n->leaf && s >= n->n - 1) s = n->n - 2;   /* branch: right keeps >= 1 entry */
    return s;
}

static int split_node(Pager *p, const TreeRoot *t, Node *n, int append, Node **right, Entry *sep)
{
    Node *r;
    int rc = pager_new_node(p, n->leaf, t->key_type, n->level, &r);
    if (rc) return rc;
    uint32_t s = split_point(n, append);
    if (n->leaf) {
        if (move_tail(n, s, r)) return error_set(p->err, DUMP_NOMEM, "out of memory");
        rc = make_sep(p, t, &n->e[n->n - 1], &r->e[0], sep);
    } else {
        if (node_own_entry(n, s) || move_tail(n, s + 1, r)) return error_set(p->err, DUMP_NOMEM, "out of memory");
        node_take(n, s, sep);              /* the middle key moves up */
        r->child0 = sep->child;
    }
    if (rc) return rc;
    sep->child = r->block;
    *right = r;
    return DUMP_OK;
}

static int spill(Pager *p, const TreeRoot *t, Node *parent, uint32_t c, Node *n);

static int split_up(Pager *p, TreeRoot *t, Node **path, const uint32_t *idx, int depth, int append)
{
    for (int d = depth - 1; d >= 0; d--) {
        /* not only overfull children: cow_path may lengthen a parent's child pointer */
        if (node_bytes(path[d]) <= BLOCK_PAYLOAD) continue;
        Node *n = path[d], *r;
        Entry sep;
        int rc;
        if (n->leaf && d > 0 && !append) {
            if ((rc = spill(p, t, path[d - 1], idx[d - 1], n))) return rc;
            if (node_bytes(n) <= BLOCK_PAYLOAD) continue;   /* the parent is checked next */
        }
        rc = split_node(p, t, n, append, &r, &sep);
        if (rc) return rc;
        if (d == 0) {
            if (t->height >= BT_MAX_HEIGHT)
                return error_set(p->err, DUMP_CORRUPT, "tree height limit reached");
            Node *root;
            rc = pager_new_node(p, 0, t->key_type, n->level + 1, &root);
            if (rc) return rc;
            root->child0 = n->block;
            if (node_insert(root, 0, &sep)) return error_set(p->err, DUMP_NOMEM, "out of memory");
            t->root = root->block;
            t->height++;
        } else if (node_insert(path[d - 1], idx[d - 1], &sep)) {
            return error_set(p->err, DUMP_NOMEM, "out of memory");
        }
    }
    return DUMP_OK;
}

/* ---- put ---------------------------------------------------------------- */

static int make_value(Pager *p, const uint8_t *val, size_t len, Entry *e)
{
    if (len > VAL_INLINE_MAX) {
        if ((uint64_t)len > MAX_VAL_LEN) return error_set(p->err, DUMP_INVALID, "value too large");
        e->vxlen = len;
        return pager_write_extent(p, val, len, &e->vx);
    }
    e->vlen = (uint32_t)len;
    e->val = malloc(len ? len : 1);
    if (!e->val) return error_set(p->err, DUMP_NOMEM, "out of memory");
    if (len) memcpy(e->val, val, len);
    return DUMP_OK;
}

static int rightmost(const Node *const *path, const uint32_t *idx, int depth)
{
    for (int d = 0; d + 1 < depth; d++)
        if (idx[d] != path[d]->n) return 0;
    return 1;
}

int btree_put(Pager *p, TreeRoot *t, const Key *k, const uint8_t *val, size_t len, unsigned flags)
{
    int rc = key_check(p, t, k);
    if (rc) return rc;
    p->stamp++;
    Node *path[BT_MAX_HEIGHT];
    uint32_t idx[BT_MAX_HEIGHT];
    int eq = 0, depth = t->height;
    if (t->root == 0) {
        if (flags & BT_REPLACE) return DUMP_NOTFOUND;
        rc = pager_new_node(p, 1, t->key_type, 0, &path[0]);
        if (rc) return rc;
        t->root = path[0]->block;
        t->height = depth = 1;
        idx[0] = 0;
    } else {
        rc = descend(p, t, k, path, idx, &eq);
        if (rc) return rc;
    }
    Node *leaf = path[depth - 1];
    uint32_t pos = idx[depth - 1];
    if (eq && (flags & (BT_INSERT | BT_APPEND)))
        return flags & BT_APPEND ? error_set(p->err, DUMP_INVALID, "append: key is not greater than the last key")
                                 : DUMP_EXISTS;
    if (!eq && (flags & BT_REPLACE)) return DUMP_NOTFOUND;
    int append = !eq && pos == leaf->n && rightmost((const Node *const *)path, idx, depth);
    if ((flags & BT_APPEND) && !append)
        return error_set(p->err, DUMP_INVALID, "append: key is not greater than the last key");
    if ((rc = cow_path(p, t, path, idx, depth))) return rc;
    leaf = path[depth - 1];
    Entry e;
    memset(&e, 0, sizeof e);
    if ((rc = make_value(p, val, len, &e))) return rc;
    if (eq) {
        const Entry *old = &leaf->e[pos];
        if (old->vx && (rc = pager_free(p, old->vx, extent_blocks(old->vxlen)))) return rc;
        node_set_value(leaf, pos, e.val, e.vlen, !e.vx, e.vx, e.vxlen);
        return split_up(p, t, path, idx, depth, 0);   /* a longer value may overfill */
    }
    Entry ke;
    if ((rc = make_key(p, t, k->p, k->n, k->i, &ke))) { free(e.val); return rc; }
    ke.val = e.val; ke.vlen = e.vlen; ke.vx = e.vx; ke.vxlen = e.vxlen;
    if (!e.vx) ke.flags |= E_OWN_VAL;
    if (node_insert(leaf, pos, &ke)) return error_set(p->err, DUMP_NOMEM, "out of memory");
    t->count++;
    return split_up(p, t, path, idx, depth, append);
}

/* ---- delete ------------------------------------------------------------- */

/* Merge right sibling R into L; the parent separator at sepidx goes. */
static int merge(Pager *p, Node *parent, uint32_t sepidx, Node *L, Node *R)
{
    Entry sep;
    if (node_own_entry(parent, sepidx)) return error_set(p->err, DUMP_NOMEM, "out of memory");
    node_take(parent, sepidx, &sep);
    int rc = DUMP_OK;
    if (L->leaf) {
        rc = free_key_extent(p, &sep);
        if (sep.flags & E_OWN_KEY) free(sep.key);
    } else {
        sep.child = R->child0;
        if (node_insert(L, L->n, &sep)) return error_set(p->err, DUMP_NOMEM, "out of memory");
    }
    if (!rc && move_tail(R, 0, L)) rc = error_set(p->err, DUMP_NOMEM, "out of memory");
    if (!rc) rc = pager_free_node(p, R);
    return rc;
}

/* Move one entry between siblings through the parent (dir > 0: R -> L). */
static int shift_one(Pager *p, const TreeRoot *t, Node *parent, uint32_t sepidx, Node *L, Node *R, int dir)
{
    Entry e, sep;
    Node *from = dir > 0 ? R : L;
    uint32_t fi = dir > 0 ? 0 : from->n - 1;
    if (node_own_entry(from, fi) || node_own_entry(parent, sepidx)) return DUMP_NOMEM;
    node_take(from, fi, &e);
    if (L->leaf) {
        if (node_insert(dir > 0 ? L : R, dir > 0 ? L->n : 0, &e)) return DUMP_NOMEM;
        node_take(parent, sepidx, &sep);
        int rc = free_key_extent(p, &sep);
        if (sep.flags & E_OWN_KEY) free(sep.key);
        if (!rc) rc = make_sep(p, t, &L->e[L->n - 1], &R->e[0], &sep);
        if (rc) return rc;
    } else {
        node_take(parent, sepidx, &sep);
        if (dir > 0) {                        /* sep down into L, R's first up */
            sep.child = R->child0;
            if (node_insert(L, L->n, &sep)) return DUMP_NOMEM;
            R->child0 = e.child;
        } else {                              /* sep down into R, L's last up */
            sep.child = R->child0;
            R->child0 = e.child;
            if (node_insert(R, 0, &sep)) return DUMP_NOMEM;
        }
        sep = e;
    }
    sep.child = R->block;
    return node_insert(parent, sepidx, &sep) ? DUMP_NOMEM : DUMP_OK;
}

/* Before an overfull leaf splits, it hands entries to a sibling that has
 * room (as a B*-tree does), evening the two out: random inserts then fill
 * leaves to about 80% instead of 70%. Leaves n overfull when no sibling can
 * take enough; the caller then splits it. */
#define SPILL_SLACK 256

static int spill(Pager *p, const TreeRoot *t, Node *parent, uint32_t c, Node *n)
{
    for (int side = -1; side <= 1; side += 2) {
        if ((side < 0 && c == 0) || (side > 0 && c >= parent->n)) continue;
        uint32_t sc = side < 0 ? c - 1 : c + 1;
        Node *sib;
        int rc = pager_get(p, child_at(parent, sc), 0, t->key_type, &sib);
        if (rc) return rc;
        if (node_bytes(sib) + node_bytes(n) + SPILL_SLACK > 2 * BLOCK_PAYLOAD) continue;
        if ((rc = pager_writable(p, &sib))) return rc;
        node_set_child(parent, (int64_t)sc - 1, sib->block);
        Node *L = side < 0 ? sib : n, *R = side < 0 ? n : sib;
        uint32_t sepidx = side < 0 ? c - 1 : c;
        int dir = side < 0 ? 1 : -1;          /* always from n into sib */
        while (n->n > 1 && (node_bytes(n) > BLOCK_PAYLOAD || node_bytes(n) > node_bytes(sib) + SPILL_SLACK)) {
            if ((rc = shift_one(p, t, parent, sepidx, L, R, dir)))
                return rc == DUMP_NOMEM ? error_set(p->err, rc, "out of memory") : rc;
            if (node_bytes(sib) > BLOCK_PAYLOAD) {           /* one too many: take it back */
                if ((rc = shift_one(p, t, parent, sepidx, L, R, -dir)))
                    return rc == DUMP_NOMEM ? error_set(p->err, rc, "out of memory") : rc;
                break;
            }
        }
        if (node_bytes(n) <= BLOCK_PAYLOAD) return DUMP_OK;
    }
    return DUMP_OK;
}

static int rebalance(Pager *p, TreeRoot *t, Node **path, uint32_t *idx, int depth)
{
    int d = depth - 1;
    for (; d > 0; d--) {
        Node *n = path[d], *parent = path[d - 1], *L, *R;
        if (node_bytes(n) >= UNDERFLOW && n->n > 0) break;
        uint32_t c = idx[d - 1], sepidx;
        int rc;
        if (c > 0) {
            sepidx = c - 1;
            R = n;
            if ((rc = pager_get(p, child_at(parent, c - 1), n->level, t->key_type, &L))) return rc;
            if ((rc = pager_writable(p, &L))) return rc;
            node_set_child(parent, (int64_t)c - 2, L->block);
        } else {
            sepidx = 0;
            L = n;
            if ((rc = pager_get(p, child_at(parent, 1), n->level, t->key_type, &R))) return rc;
            if ((rc = pager_writable(p, &R))) return rc;
            node_set_child(parent, 0, R->block);
        }
        size_t sepsz = L->leaf ? 0 : node_entry_size(parent, sepidx) + VARINT_MAX;
        if (node_bytes(L) + node_bytes(R) + sepsz <= BLOCK_PAYLOAD) {
            if ((rc = merge(p, parent, sepidx, L, R))) return rc;
            continue;
        }
        /* Too big to merge: even out the two, then fix the parent's size. */
        int dir = node_bytes(L) < node_bytes(R) ? 1 : -1;
        for (;;) {
            Node *rich = dir > 0 ? R : L, *poor = dir > 0 ? L : R;
            size_t moving = node_entry_size(rich, dir > 0 ? 0 : rich->n - 1);
            if (rich->n <= (rich->leaf ? 1u : 2u) || node_bytes(poor) + moving >= node_bytes(rich) - moving)
                break;
            if ((rc = shift_one(p, t, parent, sepidx, L, R, dir)))
                return rc == DUMP_NOMEM ? error_set(p->err, rc, "out of memory") : rc;
        }
        return split_up(p, t, path, idx, d, 0);
    }
    int rc = split_up(p, t, path, idx, d + 1, 0);   /* path[0..d] got new child pointers */
    if (rc) return rc;
    Node *root = path[0];
    if (!root->leaf && root->n == 0) {
        t->root = root->child0;
        t->height--;
        return pager_free_node(p, root);
    }
    if (root->leaf && root->n == 0) {
        t->root = 0;
        t->height = 0;
        return pager_free_node(p, root);
    }
    return DUMP_OK;
}

int btree_del(Pager *p, TreeRoot *t, const Key *k)
{
    int rc = key_check(p, t, k);
    if (rc) return rc;
    if (t->root == 0) return DUMP_NOTFOUND;
    Node *path[BT_MAX_HEIGHT];
    uint32_t idx[BT_MAX_HEIGHT];
    int eq;
    if ((rc = descend(p, t, k, path, idx, &eq))) return rc;
    if (!eq) return DUMP_NOTFOUND;
    p->stamp++;
    if ((rc = cow_path(p, t, path, idx, t->height))) return rc;
    Node *leaf = path[t->height - 1];
    uint32_t pos = idx[t->height - 1];
    if ((rc = free_entry_extents(p, &leaf->e[pos]))) return rc;
    node_remove(leaf, pos);
    t->count--;
    return rebalance(p, t, path, idx, t->height);
}

static int drop_node(Pager *p, const TreeRoot *t, uint64_t b, int level)
{
    Node *n;
    int rc = pager_get(p, b, level, t->key_type, &n);
    if (rc) return rc;
    for (uint32_t i = 0; i <= n->n && !n->leaf; i++)
        if ((rc = drop_node(p, t, child_at(n, i), level - 1))) return rc;
    /* pager_get of children may not evict n (no trim inside an operation). */
    for (uint32_t i = 0; i < n->n; i++)
        if ((rc = free_entry_extents(p, &n->e[i]))) return rc;
    return pager_free_node(p, n);
}

int btree_drop(Pager *p, TreeRoot *t)
{
    p->stamp++;
    int rc = t->root ? drop_node(p, t, t->root, t->height - 1) : DUMP_OK;
    if (rc) return rc;
    t->root = 0;
    t->height = 0;
    t->count = 0;
    return DUMP_OK;
}

/* ---- cursors ------------------------------------------------------------ */

void btcursor_init(BtCursor *c, Pager *p, const TreeRoot *t)
{
    memset(c, 0, sizeof *c);
    c->p = p;
    c->t = t;
}

void btcursor_fini(BtCursor *c)
{
    free(c->kbuf);
    c->kbuf = NULL;
}

static int node_at(BtCursor *c, int d, Node **n)
{
    return pager_get(c->p, c->blk[d], c->t->height - 1 - d, c->t->key_type, n);
}

static int save_pos(BtCursor *c)
{
    Node *leaf;
    int rc = node_at(c, c->depth - 1, &leaf);
    if (rc) return rc;
    const Entry *e = &leaf->e[c->idx[c->depth - 1]];
    c->ikey = e->ikey;
    if (c->t->key_type == KEY_BYTES) {
        if (e->klen > c->kcap) {
            uint8_t *b = realloc(c->kbuf, e->klen);
            if (!b) return error_set(c->p->err, DUMP_NOMEM, "out of memory");
            c->kbuf = b;
            c->kcap = e->klen;
        }
        if (e->klen) memcpy(c->kbuf, e->key, e->klen);
        c->klen = e->klen;
    }
    c->valid = 1;
    c->stamp = c->p->stamp;
    c->root = c->t->root;
    return DUMP_OK;
}

/* Descend from level d (whose blk is set) along the leftmost (edge 0) or
 * rightmost (edge 1) children to a leaf. */
static int descend_edge(BtCursor *c, int d, int edge)
{
    for (;; d++) {
        Node *n;
        int rc = node_at(c, d, &n);
        if (rc) return rc;
        if (n->leaf) {
            c->idx[d] = edge ? n->n - 1 : 0;
            c->depth = d + 1;
            return save_pos(c);
        }
        c->idx[d] = edge ? n->n : 0;
        c->blk[d + 1] = child_at(n, c->idx[d]);
    }
}

static int edge(BtCursor *c, int which)
{
    c->valid = 0;
    if (c->t->root == 0) return DUMP_NOTFOUND;
    c->blk[0] = c->t->root;
    return descend_edge(c, 0, which);
}

int btcursor_first(BtCursor *c) { return edge(c, 0); }
int btcursor_last(BtCursor *c) { return edge(c, 1); }

/* Step to the neighbouring leaf entry (dir +1 / -1) from a valid path. */
static int step(BtCursor *c, int dir)
{
    int L = c->depth - 1;
    Node *leaf;
    int rc = node_at(c, L, &leaf);
    if (rc) return rc;
    if (dir > 0 && c->idx[L] + 1 < leaf->n) { c->idx[L]++; return save_pos(c); }
    if (dir < 0 && c->idx[L] > 0) { c->idx[L]--; return save_pos(c); }
    for (int d = L - 1; d >= 0; d--) {
        Node *n;
        if ((rc = node_at(c, d, &n))) return rc;
        if (dir > 0 ? c->idx[d] < n->n : c->idx[d] > 0) {
            c->idx[d] = dir > 0 ? c->idx[d] + 1 : c->idx[d] - 1;
            c->blk[d + 1] = child_at(n, c->idx[d]);
            return descend_edge(c, d + 1, dir < 0);
        }
    }
    c->valid = 0;
    return DUMP_NOTFOUND;
}

int btcursor_seek(BtCursor *c, const Key *k, int dir)
{
    c->valid = 0;
    if (c->t->root == 0) return DUMP_NOTFOUND;
    Node *path[BT_MAX_HEIGHT];
    int eq;
    int rc = descend(c->p, c->t, k, path, c->idx, &eq);
    if (rc) return rc;
    c->depth = c->t->height;
    for (int d = 0; d < c->depth; d++) c->blk[d] = path[d]->block;
    Node *leaf = path[c->depth - 1];
    uint32_t pos = c->idx[c->depth - 1];
    if (eq) return save_pos(c);
    if (dir == 0) {
        if (pos < leaf->n) return save_pos(c);
        c->idx[c->depth - 1] = leaf->n - 1;
        return step(c, 1);
    }
    if (pos > 0) { c->idx[c->depth - 1] = pos - 1; return save_pos(c); }
    c->idx[c->depth - 1] = 0;
    return step(c, -1);
}

/* Re-find the saved key after the tree or view changed. Returns 1 in *moved
 * when the saved key is gone and the cursor already sits past it. */
static int refind(BtCursor *c, int dir, int *moved)
{
    /* The seek overwrites the saved key: keep a copy to compare with. */
    uint8_t *copy = c->klen ? malloc(c->klen) : NULL;
    if (c->klen && !copy) return error_set(c->p->err, DUMP_NOMEM, "out of memory");
    if (c->klen) memcpy(copy, c->kbuf, c->klen);
    Key k = { c->ikey, copy, c->klen };
    int rc = btcursor_seek(c, &k, dir > 0 ? 0 : 1);
    if (rc == DUMP_OK) {
        int same = c->t->key_type == KEY_INT
                       ? c->ikey == k.i
                       : key_cmp_bytes(c->kbuf, c->klen, k.p, k.n) == 0;
        *moved = !same;
    }
    free(copy);
    return rc;
}

static int move(BtCursor *c, int dir)
{
    if (!c->valid) return error_set(c->p->err, DUMP_MISUSE, "cursor is not positioned");
    if (c->stamp != c->p->stamp || c->root != c->t->root) {
        int moved;
        int rc = refind(c, dir, &moved);
        if (rc || moved) return rc;
    }
    return step(c, dir);
}

int btcursor_next(BtCursor *c) { return move(c, 1); }
int btcursor_prev(BtCursor *c) { return move(c, -1); }

int btcursor_entry(BtCursor *c, const Entry **e)
{
    if (!c->valid) return error_set(c->p->err, DUMP_MISUSE, "cursor is not positioned");
    if (c->stamp != c->p->stamp || c->root != c->t->root) {
        Key k = { c->ikey, c->kbuf, c->klen };
        int rc = btcursor_seek(c, &k, 0);
        if (rc == DUMP_NOTFOUND) return error_set(c->p->err, DUMP_NOTFOUND, "cursor entry was deleted");
        if (rc) return rc;
    }
    Node *leaf;
    int rc = node_at(c, c->depth - 1, &leaf);
    if (rc) return rc;
    *e = &leaf->e[c->idx[c->depth - 1]];
    return DUMP_OK;
}
