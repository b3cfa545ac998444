/*
 * btree.h -- copy-on-write B+trees over the pager's nodes.
 *
 * Layer 5: uses pager and node. A tree is described by a TreeRoot (root
 * block, height, count, key type) owned by the caller, which commits it in
 * the header. Leaves hold entries in key order; a branch entry's key is a
 * lower bound of the subtree to its right and greater than every key to
 * its left (byte keys use the shortest such prefix). Every node but the
 * root holds at least one entry; writes copy the path they change.
 */
#ifndef INCRDUMP_BTREE_H
#define INCRDUMP_BTREE_H

#include "pager.h"

#define BT_MAX_HEIGHT 40

typedef struct Key {
    int64_t i;              /* KEY_INT */
    const uint8_t *p;       /* KEY_BYTES */
    size_t n;
} Key;

/* Put flags (values equal the public STORE_PUT_*). */
#define BT_UPSERT  0
#define BT_INSERT  1
#define BT_REPLACE 2
#define BT_APPEND  4

/* Find k; *e points into a cached leaf until the next pager_trim. */
int btree_get(Pager *p, const TreeRoot *t, const Key *k, const Entry **e);
int btree_put(Pager *p, TreeRoot *t, const Key *k, const uint8_t *val, size_t len, unsigned flags);
int btree_del(Pager *p, TreeRoot *t, const Key *k);
/* Free every node and extent of the tree and empty it. */
int btree_drop(Pager *p, TreeRoot *t);

typedef struct BtCursor {
    Pager *p;
    const TreeRoot *t;
    int depth, valid;
    uint64_t blk[BT_MAX_HEIGHT];
    uint32_t idx[BT_MAX_HEIGHT];   /* child index in branches, entry in leaf */
    uint64_t stamp, root;
    int64_t ikey;                   /* saved position, to re-find after changes */
    uint8_t *kbuf;
    size_t klen, kcap;
} BtCursor;

void btcursor_init(BtCursor *c, Pager *p, const TreeRoot *t);
void btcursor_fini(BtCursor *c);
int btcursor_first(BtCursor *c);
int btcursor_last(BtCursor *c);
/* dir 0: first key >= k; dir 1: last key <= k. */
int btcursor_seek(BtCursor *c, const Key *k, int dir);
int btcursor_next(BtCursor *c);
int btcursor_prev(BtCursor *c);
/* Current entry (DUMP_MISUSE if unpositioned). */
int btcursor_entry(BtCursor *c, const Entry **e);

#endif
