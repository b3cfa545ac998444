/*
 * incrdump.h -- the public C API of incrdump. This header is the manual.
 *
 * Conventions, for every function below:
 *  - Functions return an int status code (DUMP_OK on success); results come
 *    back through out-parameters. A handle keeps the message of its last
 *    failure: store_errmsg().
 *  - Bytes are passed as (pointer, length). Returned pointers are BORROWED
 *    unless stated otherwise: valid until the next call on the same handle.
 *  - A handle is not thread-safe: one thread at a time per handle. Separate
 *    handles (in one process or many) may be used concurrently.
 *  - After a failed write (I/O error, corruption found while writing) the
 *    handle refuses further writes until store_abort() or store_close().
 *
 * The part between CDEF-BEGIN and CDEF-END is read by the cffi build
 * (bindings/build_incrdump.py) and must stay plain declarations and integer
 * #defines.
 */
#ifndef INCRDUMP_H
#define INCRDUMP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* CDEF-BEGIN */

/* ---- Status codes (values are ABI; mirrored in status.h) ---------------- */
#define DUMP_OK        0  /* success */
#define DUMP_NOTFOUND  1  /* no such key (or file, from store_open) */
#define DUMP_CORRUPT   2  /* the file fails a checksum or structural test */
#define DUMP_IOERR     3  /* the operating system refused an operation */
#define DUMP_VERSION   4  /* unsupported format version */
#define DUMP_BUSY      5  /* another writer holds the dump */
#define DUMP_INVALID   6  /* bad argument: key too long, wrong key type... */
#define DUMP_NOMEM     7  /* out of memory */
#define DUMP_MISUSE    8  /* call out of sequence (no transaction, ...) */
#define DUMP_READONLY  9  /* write on a handle opened without STORE_WRITE */
#define DUMP_EXISTS   10  /* STORE_PUT_INSERT found the key present */

/* Name of a status code, e.g. "DUMP_CORRUPT". Static storage. */
const char *dump_status_name(int code);

/* ---- Storage engine ------------------------------------------------------
 * A Store is one open dump file: 4 KiB blocks, copy-on-write, two header
 * slots, up to STORE_MAX_TREES B+trees identified by a small integer.
 * Readers see one committed snapshot, taken at open and moved forward by
 * store_refresh() or by the handle's own store_begin(). One writer at a time
 * (advisory lock); a second gets DUMP_BUSY at once, never a wait.
 */
typedef struct Store Store;
typedef struct StoreCursor StoreCursor;

#define STORE_MAX_TREES 64
#define STORE_MAX_KEY   65536   /* byte-string keys: at most this many bytes */

/* store_open flags */
#define STORE_WRITE   1   /* open read-write (needed for store_begin) */
#define STORE_CREATE  2   /* create the file when missing or empty */

/* key types of a tree */
#define STORE_KEY_INT   1  /* int64 keys, signed order */
#define STORE_KEY_BYTES 2  /* byte-string keys, memcmp order, shorter first */

/* put flags */
#define STORE_PUT_UPSERT  0  /* insert or replace */
#define STORE_PUT_INSERT  1  /* DUMP_EXISTS if the key is present */
#define STORE_PUT_REPLACE 2  /* DUMP_NOTFOUND if the key is absent */
#define STORE_PUT_APPEND  4  /* key must be greater than every key in the
                                tree (DUMP_INVALID otherwise); fills nodes
                                completely: sorted bulk loading */

/* cursor seek directions */
#define STORE_SEEK_GE 0   /* first key >= k */
#define STORE_SEEK_LE 1   /* last key <= k */

/* crash modes for store_open_faulty (see csrc/vfs.h) */
#define STORE_CRASH_KEEP   0
#define STORE_CRASH_DROP   1
#define STORE_CRASH_TORN   2
#define STORE_CRASH_RANDOM 3

typedef struct StoreInfo {
    uint64_t generation;     /* commit number of the handle's snapshot */
    uint8_t  uuid[16];       /* identity of the dump, fixed at creation */
    uint32_t version_major;
    uint32_t version_minor;
    uint64_t nblocks;        /* file length in blocks in this snapshot */
    uint64_t free_blocks;    /* reusable now (writer view; 0 for readers) */
    uint64_t pending_blocks; /* freed, waiting for readers (writer view) */
    uint64_t file_size;      /* bytes, as the OS reports it */
} StoreInfo;

typedef struct StoreCheck {
    uint64_t nblocks;
    uint64_t live_blocks;     /* headers, tree nodes, value/key extents, free-space record */
    uint64_t free_blocks;
    uint64_t pending_blocks;
    uint64_t trees;           /* trees present */
    uint64_t entries;         /* entries over all trees */
} StoreCheck;

/* Open (and with STORE_CREATE, create) the dump at path. *out is set to a
 * new handle even when opening fails (unless DUMP_NOMEM), so the caller can
 * read store_errmsg(); always release it with store_close(). Returns
 * DUMP_OK, DUMP_NOTFOUND (no such file), DUMP_CORRUPT (not a dump, or no
 * valid header), DUMP_VERSION, DUMP_IOERR, DUMP_NOMEM. */
int store_open(const char *path, unsigned flags, Store **out);
/* As store_open, with every file operation going through the fault-injecting
 * layer of csrc/vfs.h: the crash_at-th write or sync (1-based; 0 = never)
 * simulates a power cut in the given STORE_CRASH_* mode. For tests. */
int store_open_faulty(const char *path, unsigned flags, uint64_t crash_at,
                      int mode, uint64_t seed, Store **out);
/* Writes and syncs counted so far by a faulty handle (0 otherwise). */
uint64_t store_io_ops(const Store *s);
/* Close the handle, aborting any open transaction. NULL is allowed. */
void store_close(Store *s);

/* Message of the last failure on s ("" if none). Borrowed. */
const char *store_errmsg(const Store *s);
/* errno captured with the last DUMP_IOERR, else 0. */
int store_errno(const Store *s);

/* Describe the handle's snapshot. DUMP_OK or DUMP_IOERR. */
int store_info(Store *s, StoreInfo *out);
/* Move a reader's snapshot to the newest commit. DUMP_MISUSE inside a
 * write transaction. */
int store_refresh(Store *s);
/* Size of the node cache in bytes (default 64 MiB; at least 1 MiB). */
int store_set_cache_size(Store *s, size_t bytes);

/* Begin a write transaction on the newest commit. DUMP_READONLY, DUMP_BUSY,
 * DUMP_MISUSE (already in one), DUMP_CORRUPT, DUMP_IOERR. */
int store_begin(Store *s);
/* Make the transaction durable (write, sync, header, sync). On failure the
 * transaction is aborted and the file stays at the previous commit. */
int store_commit(Store *s);
/* Discard the transaction. Always succeeds when one is open. */
int store_abort(Store *s);
/* 1 inside a write transaction, else 0. */
int store_in_txn(const Store *s);

/* Create tree `tree` (0..STORE_MAX_TREES-1) with a STORE_KEY_* type, in a
 * transaction. DUMP_EXISTS if present (with any key type). */
int store_tree_create(Store *s, unsigned tree, int key_type);
/* Delete a tree and everything in it, in a transaction. DUMP_NOTFOUND. */
int store_tree_drop(Store *s, unsigned tree);
/* Key type of a tree (0 if absent) and its entry count. */
int store_tree_stat(Store *s, unsigned tree, int *key_type, uint64_t *count);

/* Point operations. Values may be any size (up to 2^40 bytes); keys of
 * STORE_KEY_BYTES trees up to STORE_MAX_KEY bytes (empty allowed).
 * get: *val is borrowed, valid until the next call on s. DUMP_NOTFOUND.
 * put: flags STORE_PUT_*. del: DUMP_NOTFOUND if absent.
 * Using the wrong key type for a tree is DUMP_INVALID. */
int store_get_int(Store *s, unsigned tree, int64_t key,
                  const uint8_t **val, size_t *len);
int store_get_bytes(Store *s, unsigned tree, const uint8_t *key, size_t klen,
                    const uint8_t **val, size_t *len);
int store_put_int(Store *s, unsigned tree, int64_t key,
                  const uint8_t *val, size_t len, unsigned flags);
int store_put_bytes(Store *s, unsigned tree, const uint8_t *key, size_t klen,
                    const uint8_t *val, size_t len, unsigned flags);
int store_del_int(Store *s, unsigned tree, int64_t key);
int store_del_bytes(Store *s, unsigned tree, const uint8_t *key, size_t klen);

/* Cursors: ordered iteration both ways from any key. A cursor belongs to its
 * Store and reads the handle's current view; if the tree is changed through
 * the handle, the cursor re-finds its position by key on the next move.
 * Free with store_cursor_close() before closing the Store. */
int store_cursor_open(Store *s, unsigned tree, StoreCursor **out);
void store_cursor_close(StoreCursor *c);
/* Positioning: DUMP_OK, or DUMP_NOTFOUND when there is no such entry (the
 * cursor is then unpositioned). */
int store_cursor_first(StoreCursor *c);
int store_cursor_last(StoreCursor *c);
int store_cursor_seek_int(StoreCursor *c, int64_t key, int dir);
int store_cursor_seek_bytes(StoreCursor *c, const uint8_t *key, size_t klen, int dir);
int store_cursor_next(StoreCursor *c);
int store_cursor_prev(StoreCursor *c);
/* Current entry; DUMP_MISUSE if unpositioned. Pointers borrowed, valid
 * until the next call on the cursor or its Store. */
int store_cursor_key_int(StoreCursor *c, int64_t *key);
int store_cursor_key_bytes(StoreCursor *c, const uint8_t **key, size_t *klen);
int store_cursor_value(StoreCursor *c, const uint8_t **val, size_t *len);
/* Read many entries in one call, from the current one onwards in direction
 * dir (+1 forward, -1 backward), at most max entries and cap bytes. Entry
 * i's key is buf[off[2i], off[2i+1]) (byte-key trees; for int-key trees the
 * key is ikeys[i] and that range is empty) and its value
 * buf[off[2i+1], off[2i+2]); off needs 2*max+1 slots, ikeys max slots (may
 * be NULL for byte-key trees). *count receives the entries read; the cursor
 * moves past them: onto the next unread entry (*more = 1) or off the end
 * (*more = 0). If the first entry alone needs more than cap bytes, *count is
 * 0 and *need says how many. DUMP_MISUSE if the cursor is unpositioned.
 * Buffers are the caller's; nothing is borrowed. */
int store_cursor_fetch(StoreCursor *c, int dir, size_t max, uint8_t *buf, size_t cap,
                       size_t *off, int64_t *ikeys, size_t *count, int *more, size_t *need);

/* Integrity check of the handle's snapshot: every tree is well formed and
 * ordered, every block below nblocks is exactly one of live, free or
 * pending. DUMP_OK, or DUMP_CORRUPT with the first problem in the message. */
int store_check(Store *s, StoreCheck *out);

/* CDEF-END */

#ifdef __cplusplus
}
#endif
#endif
