/*
 * node.h -- a B+tree node in memory, and its encoding in one block.
 *
 * Layer 3: pure memory (status, bytes, blockfile constants). No I/O: a node
 * whose keys live in extents ("long keys") is decoded with those keys
 * missing (Entry.key == NULL, Entry.kx set); the pager fills them in.
 * Invariant: Node.size is always the exact encoded payload size, kept up to
 * date incrementally by node_insert/node_remove/node_set_*.
 * Encoding: docs/format.md section "Tree nodes".
 */
#ifndef INCRDUMP_NODE_H
#define INCRDUMP_NODE_H

#include <stddef.h>
#include <stdint.h>

#include "blockfile.h"
#include "bytes.h"
#include "status.h"

#define KEY_INT   1
#define KEY_BYTES 2

#define KEY_INLINE_MAX 512    /* longer byte keys live in an extent */
#define VAL_INLINE_MAX 768    /* longer values live in an extent */
#define MAX_KEY_LEN    65536
#define MAX_VAL_LEN    ((uint64_t)1 << 40)
/* An entry encodes to at most ~1,300 bytes, under a third of a block, so an
 * overfull node always splits into two halves that fit. */
#define NODE_CAPACITY  BLOCK_PAYLOAD

/* Entry memory flags */
#define E_OWN_KEY 1   /* key bytes malloc'd for this entry */
#define E_OWN_VAL 2   /* inline value bytes malloc'd for this entry */

typedef struct Entry {
    int64_t  ikey;        /* KEY_INT */
    uint8_t *key;         /* KEY_BYTES: full key (NULL while a long key is unloaded) */
    uint32_t klen;
    uint8_t  flags;       /* E_OWN_* */
    uint64_t kx;          /* long key: extent start, else 0 */
    uint8_t *val;         /* leaf, inline value */
    uint32_t vlen;
    uint64_t vx;          /* leaf, value in extent: start, else 0 */
    uint64_t vxlen;       /* ... and its length in bytes */
    uint64_t child;       /* branch: child right of this key */
} Entry;

typedef struct Node {
    uint64_t block;
    uint8_t  leaf;        /* 1 leaf, 0 branch */
    uint8_t  key_type;
    uint8_t  level;       /* 0 for leaves */
    uint32_t n, cap;
    Entry   *e;
    uint64_t child0;      /* branch: leftmost child */
    size_t   size;        /* exact encoded payload size */
    uint8_t *arena;       /* bytes backing non-owned key/val pointers */
    uint64_t *sk;         /* search keys: int keys biased to unsigned order, or
                             8 bytes of byte keys big-endian, taken after the
                             prefix all keys of the node share (sk_off) */
    uint32_t sk_off;
    uint8_t  sk_valid;    /* sk matches e[]; cleared by any key change */
    /* cache bookkeeping, owned by the pager */
    uint8_t  dirty, ref;
    struct Node *hnext;
    size_t   mem;         /* heap bytes held for keys/values */
    size_t   charged;     /* bytes the cache counted for this node */
} Node;

/* New empty node; NULL on OOM. */
Node *node_new(int leaf, int key_type, int level);
void node_free(Node *n);
/* Deep copy (all key/value bytes owned by the copy); NULL on OOM. */
Node *node_clone(const Node *src);
/* Approximate heap bytes held by the node. */
size_t node_memory(const Node *n);

/* Decode a verified block's payload. Validates structure, order of inline
 * keys, lengths and references (inside [2, limit)). DUMP_CORRUPT/NOMEM. */
int node_decode(const uint8_t *payload, size_t len, int leaf, int level,
                uint64_t limit, Node **out, ErrorInfo *err);
/* Encode into payload (NODE_CAPACITY bytes room); returns bytes written
 * (== node_bytes(n)). */
size_t node_encode(const Node *n, uint8_t *payload);

/* Insert entry at index i (0..n); the entry's memory flags transfer to the
 * node. DUMP_OK or DUMP_NOMEM. Updates size. */
int node_insert(Node *n, uint32_t i, const Entry *e);
/* Remove entry i, releasing owned memory (not extents). Updates size. */
void node_remove(Node *n, uint32_t i);
/* Detach entry i without freeing its memory (ownership moves to caller's
 * copy *out). Updates size. */
void node_take(Node *n, uint32_t i, Entry *out);
/* Replace the value of leaf entry i (releases the old inline value). */
void node_set_value(Node *n, uint32_t i, uint8_t *val, uint32_t vlen, int owned,
                    uint64_t vx, uint64_t vxlen);
/* Set the child pointer right of entry i (i == -1: child0). */
void node_set_child(Node *n, int64_t i, uint64_t child);
/* Make entry i's key and value owned copies (before the arena goes). */
int node_own_entry(Node *n, uint32_t i);
/* Recompute size from scratch (after bulk changes). */
void node_resize(Node *n);

/* Encoded payload bytes of the whole node (must be <= BLOCK_PAYLOAD). */
static inline size_t node_bytes(const Node *n)
{
    size_t s = 1 + varint_len(n->n) + n->size;
    return n->leaf ? s : s + varint_len(n->child0);
}
/* Encoded size of entry i given its predecessor. */
size_t node_entry_size(const Node *n, uint32_t i);

/* Compare keys: <0, 0, >0. For KEY_BYTES: memcmp order, shorter first. */
int key_cmp_bytes(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen);
/* Binary search: index of the first entry with key >= probe; *eq set when
 * equal. All long keys must be loaded. The search runs over the compact
 * array sk (rebuilt here when an edit invalidated it), touching an Entry
 * only to break a tie between 8-byte prefixes. */
uint32_t node_search_int(Node *n, int64_t k, int *eq);
uint32_t node_search_bytes(Node *n, const uint8_t *k, size_t klen, int *eq);

#endif
