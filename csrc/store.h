/*
 * store.h -- the Store handle's internals, shared by store.c and check.c.
 *
 * Layer 6: a Store owns the file (vfs), the pager and the two headers:
 * `base` is the committed snapshot the handle reads, `cur` the view that
 * cursors and lookups use (== base outside a write transaction, the
 * transaction's working copy inside one). Not part of the public API.
 */
#ifndef INCRDUMP_STORE_H
#define INCRDUMP_STORE_H

#include "btree.h"
#include "incrdump.h"

struct Store {
    ErrorInfo err;
    char *path;
    Vfs *vfs;
    Pager pager;
    Header base, cur;
    unsigned flags;
    int failed;              /* a write failed: only abort/close allowed */
    int writer_locked;
    uint64_t locked_gen;     /* snapshot whose reader lock we hold (0: none) */
    uint64_t cache_gen;      /* snapshot the node cache reflects */
    uint64_t fl_gen;         /* snapshot pager.fl was loaded from (0: stale) */
};

struct StoreCursor {
    Store *s;
    unsigned tree;
    BtCursor bc;
};

/* Load the free-space record of header h into fl. */
int store_load_freelist(Store *s, const Header *h, Freelist *fl);

#endif
