/*
 * pager.h -- decoded-node cache and the write transaction's block accounting.
 *
 * Layer 4: uses blockfile, freelist and node. Between any two public calls
 * every cached node is either clean (identical to its block on disk) or
 * dirty and owned by the open transaction. Eviction happens only at those
 * points (pager_trim), never inside a tree operation, so a tree operation
 * may hold Node pointers for its whole duration.
 *
 * Allocation policy: blocks allocated by the open transaction are "owned";
 * an owned node is modified in place, and freeing an owned extent returns it
 * to the free set at once. A block of the committed snapshot is never
 * written: it is copied (pager_writable) and the original joins `freed`,
 * which the commit turns into pending extents.
 */
#ifndef INCRDUMP_PAGER_H
#define INCRDUMP_PAGER_H

#include <stddef.h>
#include <stdint.h>

#include "blockfile.h"
#include "freelist.h"
#include "node.h"

typedef struct Extent { uint64_t start, len; } Extent;

typedef struct Pager {
    Blockfile bf;
    ErrorInfo *err;
    uint64_t limit;          /* blocks in the current view (snapshot or txn) */
    uint64_t gen;            /* generation stamped on written blocks */
    uint64_t stamp;          /* bumped whenever the view changes (cursors) */
    /* cache */
    Node **ht;
    size_t htcap, count, mem, budget, hand;
    /* write transaction */
    int in_txn;
    Freelist *fl;            /* free + pending, the txn's view */
    uint64_t *owned;         /* open-addressing set of owned extent starts */
    size_t owned_cap, owned_n;
    Extent *freed;           /* committed extents freed by this txn */
    size_t freed_n, freed_cap;
    uint8_t *buf;            /* one block of scratch */
    uint8_t *vbuf;           /* value buffer returned to callers */
    size_t vbuf_cap;
} Pager;

int pager_init(Pager *p, ErrorInfo *err);
void pager_destroy(Pager *p);
/* Forget every cached node (the view changed under us). */
void pager_invalidate(Pager *p);
/* Evict clean nodes (writing dirty ones first) until under budget. */
int pager_trim(Pager *p);

/* Fetch the node at `block`, expected at `level` of a tree of `key_type`.
 * Verifies block type, level and key type; long keys are loaded. The
 * pointer stays valid until the next pager_trim/invalidate. */
int pager_get(Pager *p, uint64_t block, int level, int key_type, Node **out);
/* A fresh owned, dirty node. */
int pager_new_node(Pager *p, int leaf, int key_type, int level, Node **out);
/* Make *n modifiable: owned nodes are returned as they are (marked dirty);
 * others are copied to a new block and the old one freed. */
int pager_writable(Pager *p, Node **n);
/* Free a node's block (not its entries' extents). The node is destroyed. */
int pager_free_node(Pager *p, Node *n);

/* Allocate / free extents of blocks in the transaction. */
int pager_alloc(Pager *p, uint64_t nblocks, uint64_t *start);
int pager_free(Pager *p, uint64_t start, uint64_t nblocks);
/* Store bytes in a new BT_VALUE extent; *start receives its first block. */
int pager_write_extent(Pager *p, const uint8_t *data, uint64_t len, uint64_t *start);
/* Read `len` bytes of a BT_VALUE extent of total length `total`. */
int pager_read_extent(Pager *p, uint64_t start, uint64_t total, uint64_t off,
                      uint64_t len, uint8_t *out);
/* The value of a leaf entry: inline bytes, or read into the pager's value
 * buffer. Borrowed until the next call. */
int pager_entry_value(Pager *p, const Entry *e, const uint8_t **val, size_t *len);

/* Transaction bookkeeping, used by the store layer. */
int pager_txn_begin(Pager *p, uint64_t gen, uint64_t nblocks);
/* Write every dirty node. */
int pager_flush(Pager *p);
/* End of transaction: committed (keep clean nodes) or aborted (drop owned). */
void pager_txn_end(Pager *p, int committed);
int pager_is_owned(const Pager *p, uint64_t start);

#endif
