/*
 * store.c -- the storage engine's public face: open/close, snapshots,
 * one-writer transactions and the commit protocol, tree operations.
 *
 * Layer 6: calls btree, pager, freelist, blockfile, vfs. Commit order
 * (DESIGN.md section 3): write new blocks and the free-space record, sync,
 * write the older header slot with generation+1, sync, then trim the file.
 * Locks are Linux open-file-description locks on bytes far past the end of
 * the file: one byte for the writer, one byte per generation for readers.
 * A writer reuses blocks freed by commit h only when no reader holds a
 * snapshot older than h.
 */
#include "store.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "bytes.h"

#define LOCK_WRITER  ((off_t)1 << 62)
#define LOCK_READERS (((off_t)1 << 62) + 16)

/* incrdump.h mirrors status.h's codes: they must never drift apart. */
_Static_assert(DUMP_EXISTS == 10 && DUMP_NCODES == 11, "status codes changed: update incrdump.h");

const char *dump_status_name(int code) { return status_name(code); }

/* ---- locks -------------------------------------------------------------- */

static int ofd_lock(int fd, short type, off_t start, off_t len)
{
    struct flock fl = { .l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len };
    return fcntl(fd, F_OFD_SETLK, &fl);
}

/* 1 if another open file description holds a lock in [start, start+len). */
static int ofd_locked(int fd, off_t start, off_t len)
{
    struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = start, .l_len = len };
    if (fcntl(fd, F_OFD_GETLK, &fl) != 0) return 1;   /* be conservative */
    return fl.l_type != F_UNLCK;
}

/* Oldest generation any other reader holds, or UINT64_MAX if none. */
static uint64_t oldest_reader(int fd, uint64_t maxgen)
{
    if (!ofd_locked(fd, LOCK_READERS, (off_t)maxgen + 1)) return UINT64_MAX;
    uint64_t lo = 0, hi = maxgen;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (ofd_locked(fd, LOCK_READERS + (off_t)lo, (off_t)(mid - lo + 1))) hi = mid; else lo = mid + 1;
    }
    return lo;
}

/* ---- snapshots ---------------------------------------------------------- */

static void set_view(Store *s, const Header *h)
{
    s->base = *h;
    s->cur = *h;
    s->pager.limit = h->nblocks;
    if (s->cache_gen != h->gen) {
        pager_invalidate(&s->pager);
        s->cache_gen = h->gen;
    }
    s->pager.stamp++;
}

/* Read the newest header and hold a reader lock on its generation; retry
 * if a commit slipped in between reading and locking. */
static int take_snapshot(Store *s)
{
    int fd = vfs_fd(s->vfs);
    for (int tries = 0; tries < 1000; tries++) {
        Header h, h2;
        uint64_t other, size;
        int rc = blockfile_read_header(&s->pager.bf, &h, &other);
        if (rc) return rc;
        int fresh = h.gen != s->locked_gen;      /* a lock this attempt takes */
        if (fresh && ofd_lock(fd, F_RDLCK, LOCK_READERS + (off_t)h.gen, 1) != 0)
            return error_sys(&s->err, "%s: taking a reader lock", s->path);
        rc = blockfile_read_header(&s->pager.bf, &h2, &other);
        int newest = rc == DUMP_OK && h2.gen == h.gen;
        /* A file shorter than its header says is truncated -- unless a
         * commit that trimmed the free tail slipped in: then retry. */
        if (newest && !(rc = vfs_size(s->vfs, &size, &s->err)) && size / BLOCK_SIZE < h.nblocks
            && !(rc = blockfile_read_header(&s->pager.bf, &h2, &other))) {
            newest = h2.gen == h.gen;
            if (newest)
                rc = error_set(&s->err, DUMP_CORRUPT, "%s: file is %" PRIu64 " bytes but its header "
                               "describes %" PRIu64 " blocks (truncated)", s->path, size, h.nblocks);
        }
        if (newest && rc == DUMP_OK) {
            if (s->locked_gen && fresh) ofd_lock(fd, F_UNLCK, LOCK_READERS + (off_t)s->locked_gen, 1);
            s->locked_gen = h.gen;
            set_view(s, &h);
            return DUMP_OK;
        }
        if (fresh) ofd_lock(fd, F_UNLCK, LOCK_READERS + (off_t)h.gen, 1);
        if (rc) return rc;
    }
    return error_set(&s->err, DUMP_BUSY, "%s: commits are too frequent to take a snapshot", s->path);
}

/* ---- open / close ------------------------------------------------------- */

static int init_file(Store *s)
{
    int fd = vfs_fd(s->vfs);
    if (ofd_lock(fd, F_WRLCK, LOCK_WRITER, 1) != 0)
        return error_set(&s->err, DUMP_BUSY, "%s: another process is creating or writing this dump", s->path);
    uint64_t size;
    int rc = vfs_size(s->vfs, &size, &s->err);
    if (rc == DUMP_OK && size == 0) {
        Header h;
        memset(&h, 0, sizeof h);
        h.major = FORMAT_MAJOR;
        h.minor = FORMAT_MINOR;
        h.gen = 1;
        h.nblocks = 2;
        h.created = (uint64_t)time(NULL);
        if (getrandom(h.uuid, sizeof h.uuid, 0) != (ssize_t)sizeof h.uuid)
            rc = error_sys(&s->err, "%s: getrandom", s->path);
        h.uuid[6] = (uint8_t)((h.uuid[6] & 0x0f) | 0x40);   /* RFC 4122 version 4 */
        h.uuid[8] = (uint8_t)((h.uuid[8] & 0x3f) | 0x80);
        /* One block-sized write (slot 1; slot 0 stays a hole that reads as
         * zeros, an invalid slot): a process killed while creating leaves
         * an empty file, which is created afresh, or a valid dump -- never
         * a zero block without a header, which no open would accept. */
        if (!rc) rc = blockfile_write_header(&s->pager.bf, &h);
        if (!rc) rc = vfs_sync(s->vfs, &s->err);
    }
    ofd_lock(fd, F_UNLCK, LOCK_WRITER, 1);
    return rc;
}

static int open_common(const char *path, unsigned flags, int faulty, uint64_t crash_at,
                       int mode, uint64_t seed, Store **out)
{
    Store *s = calloc(1, sizeof *s);
    *out = s;
    if (!s) return DUMP_NOMEM;
    s->flags = flags;
    s->path = strdup(path ? path : "");
    if (!s->path || pager_init(&s->pager, &s->err))
        return error_set(&s->err, DUMP_NOMEM, "out of memory");
    if (!path || !*path) return error_set(&s->err, DUMP_INVALID, "empty path");
    int writable = (flags & (STORE_WRITE | STORE_CREATE)) != 0;
    int create = (flags & STORE_CREATE) != 0;
    s->vfs = faulty ? vfs_open_faulty(path, writable, create, crash_at, mode, seed, &s->err)
                    : vfs_open(path, writable, create, &s->err);
    if (!s->vfs) return s->err.code;
    s->pager.bf = (Blockfile){ s->vfs, &s->err, s->path };
    uint64_t size;
    int rc = vfs_size(s->vfs, &size, &s->err);
    if (rc) return rc;
    if (size == 0 && create && (rc = init_file(s))) return rc;
    if (size == 0 && !create)
        return error_set(&s->err, DUMP_CORRUPT, "%s: empty file, not an incrdump dump", s->path);
    return take_snapshot(s);
}

/* A handle whose open failed keeps only its message: without a file, every
 * later call is DUMP_MISUSE ("the dump failed to open"), never a half-open
 * handle answering from a zeroed header. */
static int open_done(Store *s, int rc)
{
    if (rc && s && s->vfs) { vfs_close(s->vfs); s->vfs = NULL; }
    return rc;
}

int store_open(const char *path, unsigned flags, Store **out)
{
    int rc = open_common(path, flags, 0, 0, 0, 0, out);
    return open_done(*out, rc);
}

int store_open_faulty(const char *path, unsigned flags, uint64_t crash_at, int mode,
                      uint64_t seed, Store **out)
{
    int rc = open_common(path, flags, 1, crash_at, mode, seed, out);
    return open_done(*out, rc);
}

uint64_t store_io_ops(const Store *s) { return s && s->vfs ? vfs_ops(s->vfs) : 0; }

void store_close(Store *s)
{
    if (!s) return;
    if (s->pager.in_txn) store_abort(s);
    pager_destroy(&s->pager);
    if (s->vfs) vfs_close(s->vfs);   /* closing the descriptor drops its locks */
    free(s->path);
    free(s);
}

const char *store_errmsg(const Store *s) { return s ? s->err.msg : "out of memory"; }
int store_errno(const Store *s) { return s ? s->err.sys_errno : 0; }

/* Entry gate of every call: clear the old message, evict at a safe point. */
static int enter(Store *s)
{
    error_clear(&s->err);
    if (!s->vfs) return error_set(&s->err, DUMP_MISUSE, "the dump failed to open");
    return pager_trim(&s->pager);
}

int store_set_cache_size(Store *s, size_t bytes)
{
    s->pager.budget = bytes < ((size_t)1 << 20) ? (size_t)1 << 20 : bytes;
    return enter(s);
}

int store_info(Store *s, StoreInfo *o)
{
    int rc = enter(s);
    if (rc) return rc;
    memset(o, 0, sizeof *o);
    o->generation = s->base.gen;
    memcpy(o->uuid, s->base.uuid, 16);
    o->version_major = s->base.major;
    o->version_minor = s->base.minor;
    o->nblocks = s->cur.nblocks;
    if (s->pager.in_txn) {
        o->nblocks = s->pager.limit;
        o->free_blocks = freelist_free_blocks(s->pager.fl);
        o->pending_blocks = freelist_pending_blocks(s->pager.fl);
    }
    return vfs_size(s->vfs, &o->file_size, &s->err);
}

int store_refresh(Store *s)
{
    int rc = enter(s);
    if (rc) return rc;
    if (s->pager.in_txn) return error_set(&s->err, DUMP_MISUSE, "refresh inside a write transaction");
    return take_snapshot(s);
}

/* ---- transactions ------------------------------------------------------- */

int store_load_freelist(Store *s, const Header *h, Freelist *fl)
{
    freelist_clear(fl);
    if (!h->fs_start) return DUMP_OK;
    uint8_t *buf = malloc(h->fs_len ? h->fs_len : 1);
    if (!buf) return error_set(&s->err, DUMP_NOMEM, "out of memory");
    int rc = blockfile_read_extent(&s->pager.bf, h->fs_start, h->fs_len, BT_FREESPACE,
                                   h->nblocks, 0, h->fs_len, buf);
    ErrorInfo e;
    error_clear(&e);
    if (!rc) {
        uint64_t len = h->fs_len >= 8 ? get_u64(buf) : 0;
        if (h->fs_len < 8 || len > h->fs_len - 8) {
            rc = error_set(&e, DUMP_CORRUPT, "free-space record: bad length");
        } else {
            for (uint64_t i = 8 + len; i < h->fs_len && !rc; i++)
                if (buf[i]) rc = error_set(&e, DUMP_CORRUPT, "free-space record: nonzero padding");
            if (!rc) rc = freelist_decode(fl, buf + 8, len, h->nblocks, h->gen, &e);
        }
        if (rc) error_set(&s->err, rc, "%s: block %" PRIu64 ": %s", s->path, h->fs_start, e.msg);
    }
    free(buf);
    return rc;
}

static void release_writer(Store *s)
{
    if (s->writer_locked) ofd_lock(vfs_fd(s->vfs), F_UNLCK, LOCK_WRITER, 1);
    s->writer_locked = 0;
}

int store_begin(Store *s)
{
    int rc = enter(s);
    if (rc) return rc;
    if (!(s->flags & (STORE_WRITE | STORE_CREATE)))
        return error_set(&s->err, DUMP_READONLY, "%s: opened read-only", s->path);
    if (s->pager.in_txn) return error_set(&s->err, DUMP_MISUSE, "a transaction is already open");
    if (ofd_lock(vfs_fd(s->vfs), F_WRLCK, LOCK_WRITER, 1) != 0)
        return error_set(&s->err, DUMP_BUSY, "%s: another writer holds the dump", s->path);
    s->writer_locked = 1;
    if ((rc = take_snapshot(s))) goto fail;
    if (s->base.gen + 1 >= MAX_GEN) {
        rc = error_set(&s->err, DUMP_INVALID, "%s: generation limit reached", s->path);
        goto fail;
    }
    if (s->base.minor > FORMAT_MINOR) {
        rc = error_set(&s->err, DUMP_VERSION, "%s: format %u.%u is newer than this build writes (%d.%d)",
                       s->path, s->base.major, s->base.minor, FORMAT_MAJOR, FORMAT_MINOR);
        goto fail;
    }
    if (s->fl_gen != s->base.gen) {
        if ((rc = store_load_freelist(s, &s->base, s->pager.fl))) goto fail;
        s->fl_gen = s->base.gen;
    }
    uint64_t oldest = oldest_reader(vfs_fd(s->vfs), s->base.gen);
    if (freelist_release(s->pager.fl, oldest)) { rc = error_set(&s->err, DUMP_NOMEM, "out of memory"); goto fail; }
    pager_txn_begin(&s->pager, s->base.gen + 1, s->base.nblocks);
    s->cur.gen = s->base.gen + 1;
    s->failed = 0;
    return DUMP_OK;
fail:
    s->fl_gen = 0;
    release_writer(s);
    return rc;
}

int store_abort(Store *s)
{
    error_clear(&s->err);
    if (!s->pager.in_txn) return error_set(&s->err, DUMP_MISUSE, "no transaction is open");
    pager_txn_end(&s->pager, 0);
    s->fl_gen = 0;                 /* released/allocated extents: reload */
    s->cur = s->base;
    s->pager.limit = s->base.nblocks;
    s->failed = 0;
    release_writer(s);
    return DUMP_OK;
}

int store_in_txn(const Store *s) { return s->pager.in_txn; }

/* Turn the transaction's frees into pending extents and write the
 * free-space record into blocks taken from the finished set. Taking those
 * blocks changes at most one free extent, which moves the encoding by at
 * most a few bytes; the reservation includes that slack and the extent is
 * framed (u64 length, record, zero padding) so its size need not be exact. */
static int write_freelist(Store *s)
{
    Pager *p = &s->pager;
    int rc;
    if (s->base.fs_start && (rc = pager_free(p, s->base.fs_start, extent_blocks(s->base.fs_len))))
        return rc;
    for (size_t i = 0; i < p->freed_n; i++)
        if ((rc = freelist_add_pending(p->fl, p->freed[i].start, p->freed[i].len, s->cur.gen)))
            return error_set(&s->err, rc, "%s: block %" PRIu64 " freed twice", s->path, p->freed[i].start);
    freelist_trim_tail(p->fl, &p->limit);
    uint64_t nb = extent_blocks(8 + freelist_encoded_size(p->fl) + 32), start;
    if ((rc = freelist_alloc(p->fl, nb, &p->limit, &start)))
        return error_set(&s->err, rc, "allocating the free-space record: %s",
                         rc == DUMP_NOMEM ? "out of memory" : "the file would exceed its size limit");
    size_t cap = (size_t)nb * BLOCK_PAYLOAD, len = freelist_encoded_size(p->fl);
    if (8 + len > cap)
        return error_set(&s->err, DUMP_CORRUPT, "free-space record outgrew its reservation");
    uint8_t *buf = calloc(1, cap);
    if (!buf) return error_set(&s->err, DUMP_NOMEM, "out of memory");
    put_u64(buf, len);
    freelist_encode(p->fl, buf + 8, len);
    rc = blockfile_write_extent(&p->bf, start, buf, cap, BT_FREESPACE, s->cur.gen);
    free(buf);
    s->cur.fs_start = start;
    s->cur.fs_len = cap;
    return rc;
}

int store_commit(Store *s)
{
    int rc = enter(s);
    if (rc) { if (s->pager.in_txn) store_abort(s); return rc; }
    if (!s->pager.in_txn) return error_set(&s->err, DUMP_MISUSE, "no transaction is open");
    if (s->failed) {
        store_abort(s);
        return error_set(&s->err, DUMP_MISUSE, "the transaction had failed and was aborted");
    }
    Pager *p = &s->pager;
    if (!(rc = pager_flush(p)) && !(rc = write_freelist(s))) {
        s->cur.nblocks = p->limit;
        rc = blockfile_sync(&p->bf);
    }
    if (!rc) rc = blockfile_write_header(&p->bf, &s->cur);
    if (!rc) rc = blockfile_sync(&p->bf);
    if (rc) {
        ErrorInfo keep = s->err;
        store_abort(s);
        s->err = keep;
        return rc;
    }
    uint64_t size;
    if (vfs_size(s->vfs, &size, &s->err) == DUMP_OK && size > s->cur.nblocks * BLOCK_SIZE)
        vfs_truncate(s->vfs, s->cur.nblocks * BLOCK_SIZE, &s->err);   /* best effort */
    error_clear(&s->err);
    pager_txn_end(p, 1);
    int fd = vfs_fd(s->vfs);
    ofd_lock(fd, F_RDLCK, LOCK_READERS + (off_t)s->cur.gen, 1);
    if (s->locked_gen) ofd_lock(fd, F_UNLCK, LOCK_READERS + (off_t)s->locked_gen, 1);
    s->locked_gen = s->cur.gen;
    s->base = s->cur;
    s->cache_gen = s->fl_gen = s->cur.gen;
    release_writer(s);
    return DUMP_OK;
}

/* ---- trees -------------------------------------------------------------- */

static int tree_ref(Store *s, unsigned tree, int want_type, TreeRoot **t)
{
    if (tree >= MAX_TREES) return error_set(&s->err, DUMP_INVALID, "tree %u out of range", tree);
    *t = &s->cur.trees[tree];
    if (!(*t)->key_type) return error_set(&s->err, DUMP_NOTFOUND, "no tree %u", tree);
    if (want_type && (*t)->key_type != want_type)
        return error_set(&s->err, DUMP_INVALID, "tree %u has %s keys", tree,
                         (*t)->key_type == KEY_INT ? "integer" : "byte-string");
    return DUMP_OK;
}

static int write_gate(Store *s)
{
    int rc = enter(s);
    if (rc) return rc;
    if (!s->pager.in_txn) return error_set(&s->err, DUMP_MISUSE, "no write transaction is open");
    if (s->failed) return error_set(&s->err, DUMP_MISUSE, "the transaction failed; abort it");
    return DUMP_OK;
}

/* The tree answers absent/present keys with a bare code; give store_errmsg
 * a message for them like every other failure. */
static int key_answer(Store *s, int rc)
{
    if (rc == DUMP_NOTFOUND && !s->err.msg[0]) return error_set(&s->err, rc, "%s: no such key", s->path);
    if (rc == DUMP_EXISTS && !s->err.msg[0]) return error_set(&s->err, rc, "%s: key already present", s->path);
    return rc;
}

/* A failed write poisons the transaction, except for answers about keys. */
static int write_result(Store *s, int rc)
{
    if (rc != DUMP_OK && rc != DUMP_NOTFOUND && rc != DUMP_EXISTS && rc != DUMP_INVALID) s->failed = 1;
    return key_answer(s, rc);
}

int store_tree_create(Store *s, unsigned tree, int key_type)
{
    int rc = write_gate(s);
    if (rc) return rc;
    if (tree >= MAX_TREES) return error_set(&s->err, DUMP_INVALID, "tree %u out of range", tree);
    if (key_type != KEY_INT && key_type != KEY_BYTES)
        return error_set(&s->err, DUMP_INVALID, "unknown key type %d", key_type);
    TreeRoot *t = &s->cur.trees[tree];
    if (t->key_type) return error_set(&s->err, DUMP_EXISTS, "tree %u exists", tree);
    memset(t, 0, sizeof *t);
    t->key_type = (uint8_t)key_type;
    s->pager.stamp++;
    return DUMP_OK;
}

int store_tree_drop(Store *s, unsigned tree)
{
    int rc = write_gate(s);
    TreeRoot *t;
    if (rc || (rc = tree_ref(s, tree, 0, &t))) return rc;
    rc = write_result(s, btree_drop(&s->pager, t));
    if (!rc) t->key_type = 0;
    return rc;
}

int store_tree_stat(Store *s, unsigned tree, int *key_type, uint64_t *count)
{
    int rc = enter(s);
    if (rc) return rc;
    if (tree >= MAX_TREES) return error_set(&s->err, DUMP_INVALID, "tree %u out of range", tree);
    *key_type = s->cur.trees[tree].key_type;
    *count = s->cur.trees[tree].count;
    return DUMP_OK;
}

static int get_common(Store *s, unsigned tree, int type, const Key *k, const uint8_t **val, size_t *len)
{
    int rc = enter(s);
    TreeRoot *t;
    if (rc || (rc = tree_ref(s, tree, type, &t))) return rc;
    const Entry *e;
    if ((rc = btree_get(&s->pager, t, k, &e))) return key_answer(s, rc);
    return pager_entry_value(&s->pager, e, val, len);
}

int store_get_int(Store *s, unsigned tree, int64_t key, const uint8_t **val, size_t *len)
{
    Key k = { key, NULL, 0 };
    return get_common(s, tree, KEY_INT, &k, val, len);
}

int store_get_bytes(Store *s, unsigned tree, const uint8_t *key, size_t klen, const uint8_t **val, size_t *len)
{
    Key k = { 0, key, klen };
    return get_common(s, tree, KEY_BYTES, &k, val, len);
}

static int put_common(Store *s, unsigned tree, int type, const Key *k, const uint8_t *val, size_t len,
                      unsigned flags)
{
    int rc = write_gate(s);
    TreeRoot *t;
    if (rc || (rc = tree_ref(s, tree, type, &t))) return rc;
    if (flags & ~(unsigned)(STORE_PUT_INSERT | STORE_PUT_REPLACE | STORE_PUT_APPEND))
        return error_set(&s->err, DUMP_INVALID, "unknown put flags %#x", flags);
    return write_result(s, btree_put(&s->pager, t, k, val, len, flags));
}

int store_put_int(Store *s, unsigned tree, int64_t key, const uint8_t *val, size_t len, unsigned flags)
{
    Key k = { key, NULL, 0 };
    return put_common(s, tree, KEY_INT, &k, val, len, flags);
}

int store_put_bytes(Store *s, unsigned tree, const uint8_t *key, size_t klen, const uint8_t *val,
                    size_t len, unsigned flags)
{
    Key k = { 0, key, klen };
    return put_common(s, tree, KEY_BYTES, &k, val, len, flags);
}

static int del_common(Store *s, unsigned tree, int type, const Key *k)
{
    int rc = write_gate(s);
    TreeRoot *t;
    if (rc || (rc = tree_ref(s, tree, type, &t))) return rc;
    return write_result(s, btree_del(&s->pager, t, k));
}

int store_del_int(Store *s, unsigned tree, int64_t key)
{
    Key k = { key, NULL, 0 };
    return del_common(s, tree, KEY_INT, &k);
}

int store_del_bytes(Store *s, unsigned tree, const uint8_t *key, size_t klen)
{
    Key k = { 0, key, klen };
    return del_common(s, tree, KEY_BYTES, &k);
}

/* ---- cursors ------------------------------------------------------------ */

int store_cursor_open(Store *s, unsigned tree, StoreCursor **out)
{
    *out = NULL;
    int rc = enter(s);
    TreeRoot *t;
    if (rc || (rc = tree_ref(s, tree, 0, &t))) return rc;
    StoreCursor *c = calloc(1, sizeof *c);
    if (!c) return error_set(&s->err, DUMP_NOMEM, "out of memory");
    c->s = s;
    c->tree = tree;
    btcursor_init(&c->bc, &s->pager, t);
    *out = c;
    return DUMP_OK;
}

void store_cursor_close(StoreCursor *c)
{
    if (!c) return;
    btcursor_fini(&c->bc);
    free(c);
}

/* A cursor whose tree was dropped (or never existed in this view). */
static int cursor_gate(StoreCursor *c)
{
    int rc = enter(c->s);
    if (rc) return rc;
    if (!c->s->cur.trees[c->tree].key_type)
        return error_set(&c->s->err, DUMP_NOTFOUND, "tree %u no longer exists", c->tree);
    return DUMP_OK;
}

#define CURSOR_OP(name, call)                            \
    int name(StoreCursor *c)                             \
    {                                                    \
        int rc = cursor_gate(c);                         \
        return rc ? rc : call(&c->bc);                   \
    }
CURSOR_OP(store_cursor_first, btcursor_first)
CURSOR_OP(store_cursor_last, btcursor_last)
CURSOR_OP(store_cursor_next, btcursor_next)
CURSOR_OP(store_cursor_prev, btcursor_prev)

static int cursor_seek(StoreCursor *c, int type, const Key *k, int dir)
{
    int rc = cursor_gate(c);
    if (rc) return rc;
    if (c->s->cur.trees[c->tree].key_type != type)
        return error_set(&c->s->err, DUMP_INVALID, "wrong key type for tree %u", c->tree);
    if (dir != STORE_SEEK_GE && dir != STORE_SEEK_LE)
        return error_set(&c->s->err, DUMP_INVALID, "unknown seek direction %d", dir);
    return btcursor_seek(&c->bc, k, dir);
}

int store_cursor_seek_int(StoreCursor *c, int64_t key, int dir)
{
    Key k = { key, NULL, 0 };
    return cursor_seek(c, KEY_INT, &k, dir);
}

int store_cursor_seek_bytes(StoreCursor *c, const uint8_t *key, size_t klen, int dir)
{
    Key k = { 0, key, klen };
    return cursor_seek(c, KEY_BYTES, &k, dir);
}

static int cursor_entry(StoreCursor *c, const Entry **e)
{
    int rc = cursor_gate(c);
    return rc ? rc : btcursor_entry(&c->bc, e);
}

int store_cursor_key_int(StoreCursor *c, int64_t *key)
{
    const Entry *e;
    int rc = cursor_entry(c, &e);
    if (!rc) *key = e->ikey;
    return rc;
}

int store_cursor_key_bytes(StoreCursor *c, const uint8_t **key, size_t *klen)
{
    const Entry *e;
    int rc = cursor_entry(c, &e);
    if (!rc) { *key = e->klen ? e->key : (const uint8_t *)""; *klen = e->klen; }
    return rc;
}

int store_cursor_fetch(StoreCursor *c, int dir, size_t max, uint8_t *buf, size_t cap,
                       size_t *off, int64_t *ikeys, size_t *count, int *more, size_t *need)
{
    *count = 0;
    *more = 0;
    *need = 0;
    off[0] = 0;
    const Entry *e;
    int rc = cursor_entry(c, &e);
    if (rc) return rc;
    int ints = c->s->cur.trees[c->tree].key_type == KEY_INT;
    size_t n = 0, pos = 0;
    while (n < max) {
        size_t klen = ints ? 0 : e->klen;
        uint64_t vlen = e->vx ? e->vxlen : e->vlen;
        if (klen + vlen > cap - pos) {
            if (n == 0) *need = klen + vlen;
            *more = 1;
            break;
        }
        if (ints) ikeys[n] = e->ikey;
        else if (klen) memcpy(buf + pos, e->key, klen);
        pos += klen;
        off[2 * n + 1] = pos;
        if (e->vx) rc = pager_read_extent(&c->s->pager, e->vx, e->vxlen, 0, vlen, buf + pos);
        else if (vlen) memcpy(buf + pos, e->val, vlen);
        if (rc) return rc;
        pos += vlen;
        off[2 * n + 2] = pos;
        n++;
        *count = n;
        *more = 0;
        rc = dir >= 0 ? btcursor_next(&c->bc) : btcursor_prev(&c->bc);
        if (rc == DUMP_NOTFOUND) break;
        if (rc || (rc = btcursor_entry(&c->bc, &e))) return rc;
        *more = 1;
    }
    *count = n;
    return DUMP_OK;
}

int store_cursor_value(StoreCursor *c, const uint8_t **val, size_t *len)
{
    const Entry *e;
    int rc = cursor_entry(c, &e);
    return rc ? rc : pager_entry_value(&c->s->pager, e, val, len);
}
