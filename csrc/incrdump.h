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

/* ---- Dumps: pages, revisions and their text -------------------------------
 * A Dump is a Store holding one wiki's pages and revisions (docs/format.md
 * "Dump layout"). Its records are described by the *Info structs below; in
 * every struct a DumpText with ptr == NULL means "absent" (distinct from an
 * empty string: ptr != NULL, len == 0). Text is UTF-8 as it came from the
 * XML; C never validates or normalises it.
 *
 * Objects: Dump (the handle), Page and Revision (one record each, owned by
 * the caller, free with page_free()/revision_free()), PageCursor and
 * RevisionCursor (free with *_cursor_close() before dump_close()). Borrowed
 * results of a cursor stay valid until its next step or close; borrowed
 * results of a Dump until the next call on that Dump. A Dump and everything
 * made from it belong to one thread at a time.
 */
typedef struct Dump Dump;
typedef struct Page Page;
typedef struct Revision Revision;
typedef struct PageCursor PageCursor;
typedef struct RevisionCursor RevisionCursor;

typedef struct DumpText {
    const uint8_t *ptr;   /* NULL: absent */
    size_t len;
} DumpText;

/* dump kinds (fixed at creation) */
#define DUMP_KIND_HISTORY 0   /* every revision with its text */
#define DUMP_KIND_CURRENT 1   /* the latest revision (highest id) of each page */
#define DUMP_KIND_STUB    2   /* every revision, metadata and sizes, no text */

/* text codecs */
#define DUMP_CODEC_ZSTD 1
#define DUMP_CODEC_XZ   2

/* dump_open flags (same values as STORE_WRITE / STORE_CREATE) */
#define DUMP_OPEN_WRITE  1
#define DUMP_OPEN_CREATE 2

typedef struct DumpConfig {
    int kind;           /* DUMP_KIND_* */
    int articles;       /* 1: only article namespaces (see dump_is_article) */
    int codec;          /* DUMP_CODEC_*; 0 = DUMP_CODEC_ZSTD */
    int level;          /* compression level; 0 = the dump's default (zstd 9,
                           xz 6); zstd 1..22, xz 1..9 */
    int max_depth;      /* longest delta chain, 1..255; 0 = 16; 1 = no deltas */
    int packed;         /* 1: a page's consecutive texts are stored in packs
                           (read-mostly dumps, as compact writes them); 0 = one
                           entry per text */
} DumpConfig;

typedef struct DumpInfo {
    DumpConfig config;
    uint64_t generation;
    uint8_t  uuid[16];
    uint64_t pages;
    uint64_t revisions;
    uint64_t texts;          /* text frames stored (one per slot with text) */
    uint64_t file_size;
    size_t   dictionary_len; /* trained dictionary for first revisions, 0 = none */
} DumpInfo;

typedef struct DumpNamespace {
    int64_t  key;
    DumpText name;        /* "" for the main namespace */
    DumpText casing;      /* the case attribute, e.g. "first-letter" */
} DumpNamespace;

typedef struct DumpSiteInfo {
    DumpText sitename, dbname, base, generator, casing;
    DumpText lang;        /* xml:lang of <mediawiki> */
    DumpText schema;      /* version attribute of <mediawiki>, e.g. "0.11" */
    DumpText extra;       /* opaque to C: kept for the XML layer */
    uint32_t nnamespaces; /* namespaces[0..nnamespaces) in document order */
    const DumpNamespace *namespaces;
} DumpSiteInfo;

typedef struct PageInfo {
    int64_t  id;
    int64_t  ns;
    DumpText title;         /* as in <title>: with its namespace prefix */
    uint32_t title_prefix;  /* bytes of title before the name ("Talk:" = 5) */
    DumpText redirect;      /* <redirect title=..>; len 0 for a bare <redirect/> */
    DumpText restrictions;
    DumpText extra;         /* opaque to C: unmodelled elements, kept for XML */
} PageInfo;

/* contributor kinds */
#define DUMP_CONTRIB_NONE    0   /* no <contributor> */
#define DUMP_CONTRIB_USER    1   /* user_id (-1: no <id>) and user_text = name */
#define DUMP_CONTRIB_IP      2   /* user_text = the address */
#define DUMP_CONTRIB_DELETED 3   /* <contributor deleted="deleted"/> */

/* RevisionInfo.flags */
#define DUMP_REV_MINOR           0x01
#define DUMP_REV_HAS_PARENT      0x02   /* parent_id is meaningful */
#define DUMP_REV_COMMENT_DELETED 0x04
#define DUMP_REV_USER_DELETED    0x08   /* same as DUMP_CONTRIB_DELETED */
#define DUMP_REV_TEXT_DELETED    0x10
#define DUMP_REV_SUPPRESSED      0x20   /* deletions hidden from admins too */

/* SlotInfo.flags */
#define DUMP_SLOT_HAS_TEXT  0x01   /* text is stored (read with *_get_text) */
#define DUMP_SLOT_DELETED   0x02   /* <text deleted="deleted"/> */

typedef struct SlotInfo {
    DumpText role;          /* "main" for slot 0 */
    int64_t  origin;        /* -1: absent */
    DumpText model, format;
    DumpText sha1;          /* the slot's sha1 as given (base36 text) */
    int64_t  size;          /* bytes as given (<text bytes=..>); -1: absent */
    uint32_t flags;         /* DUMP_SLOT_* */
    DumpText location;      /* stub reference (<text location=..>) */
    DumpText text_id;       /* stub reference (<text id=..>) */
    DumpText text;          /* writing: the content to store (NULL: none);
                               reading: always absent, use *_get_text */
} SlotInfo;

typedef struct RevisionInfo {
    int64_t  id;
    int64_t  page_id;
    int64_t  parent_id;       /* valid with DUMP_REV_HAS_PARENT */
    int64_t  timestamp;       /* seconds since 1970-01-01T00:00:00Z */
    DumpText timestamp_text;  /* the original text when it is not the
                                 canonical YYYY-MM-DDTHH:MM:SSZ, else absent */
    uint32_t flags;           /* DUMP_REV_* */
    int      contributor;     /* DUMP_CONTRIB_* */
    int64_t  user_id;         /* -1: none */
    DumpText user_text;       /* user name or IP address */
    DumpText comment;
    DumpText sha1;            /* <sha1> as given */
    DumpText extra;           /* opaque to C: unmodelled elements, kept for XML */
    uint32_t nslots;          /* slots[0] is the main slot */
    const SlotInfo *slots;
} RevisionInfo;

/* Open (with DUMP_OPEN_CREATE: create) a dump. config is used only when the
 * file is created (NULL = defaults) and then fixed, with its defaults
 * resolved (dump_info shows them); with DUMP_OPEN_CREATE it is checked even
 * if the dump exists. A Store that is not a dump (no configuration, or
 * trees of its own) is DUMP_CORRUPT, also with DUMP_OPEN_CREATE; an empty
 * Store is made a dump. As with store_open, *out is set even on failure
 * (unless DUMP_NOMEM) for dump_errmsg(), and every later call on such a
 * handle is DUMP_MISUSE; always dump_close() it. DUMP_OK, DUMP_NOTFOUND,
 * DUMP_CORRUPT, DUMP_VERSION (unknown configuration or record version),
 * DUMP_IOERR, DUMP_BUSY (creating while another writer holds the file),
 * DUMP_INVALID (bad config or flags), DUMP_NOMEM. */
int dump_open(const char *path, unsigned flags, const DumpConfig *config, Dump **out);
/* As dump_open, with the Store opened by store_open_faulty: the crash_at-th
 * write or sync (1-based; 0 = never, only counting) simulates a power cut in
 * the given STORE_CRASH_* mode, and every later call fails with DUMP_IOERR.
 * *out is set as by dump_open; always dump_close() it. store_io_ops(
 * dump_store(d)) counts the operations so far. For tests. */
int dump_open_faulty(const char *path, unsigned flags, const DumpConfig *config,
                     uint64_t crash_at, int mode, uint64_t seed, Dump **out);
/* Close, aborting any open transaction. NULL is allowed. */
void dump_close(Dump *d);
/* Message of the last failure ("" if none). Borrowed. */
const char *dump_errmsg(const Dump *d);
/* The storage handle underneath (for store_check/store_info). Borrowed;
 * valid until dump_close(). Do not write through it. */
Store *dump_store(Dump *d);
int dump_info(Dump *d, DumpInfo *out);
/* Move a reader to the newest commit (DUMP_MISUSE inside a transaction). */
int dump_refresh(Dump *d);
int dump_set_cache_size(Dump *d, size_t bytes);
/* 1 if pages of namespace ns belong in an articles dump: ns >= 0, not a
 * talk namespace (odd) and not User (2) -- the content of Wikimedia's
 * pages-articles dumps. */
int dump_is_article(int64_t ns);

/* Site info. get: DUMP_NOTFOUND if never set; borrowed until the next call
 * on d. put: in a transaction, replaces it. */
int dump_get_siteinfo(Dump *d, DumpSiteInfo *out);
int dump_put_siteinfo(Dump *d, const DumpSiteInfo *si);

/* Trained dictionary used by first revisions (raw frames). Only on a dump
 * without texts, in a transaction: DUMP_MISUSE otherwise. At most 1 MiB
 * (DUMP_INVALID); len 0 removes it. Copied. */
int dump_set_dictionary(Dump *d, const uint8_t *dict, size_t len);

/* Sequence number: 0 for a dump as built, one more per committed update or
 * applied diff (the writer sets it; docs/diff.md). get: the handle's view
 * (a transaction's own value inside one); DUMP_CORRUPT if the stored value
 * is malformed. set: in a transaction (DUMP_MISUSE otherwise), at most
 * 2^63-1 (DUMP_INVALID); committed with everything else. */
int dump_get_sequence(Dump *d, uint64_t *out);
int dump_set_sequence(Dump *d, uint64_t seq);

/* Lookups. DUMP_NOTFOUND when missing. New objects owned by the caller. */
int dump_get_page_by_id(Dump *d, int64_t page_id, Page **out);
/* title without its namespace prefix (the part after title_prefix). */
int dump_get_page_by_title(Dump *d, int64_t ns, const uint8_t *title, size_t len,
                           Page **out);
int dump_get_revision_by_id(Dump *d, int64_t rev_id, Revision **out);
/* The page's record. Borrowed; valid until page_free(p). */
const PageInfo *page_info(const Page *p);
void page_free(Page *p);
/* The revision's record. Borrowed; valid until revision_free(r). */
const RevisionInfo *revision_info(const Revision *r);
/* Text of slot `slot` (0 = main) of r, decoded and verified. DUMP_NOTFOUND
 * if the slot has no stored text (stub, deleted, no such slot),
 * DUMP_CORRUPT if a frame fails its checks (never wrong text). Borrowed:
 * valid until the next call on the Dump r came from, or revision_free(r). */
int revision_get_text(Revision *r, unsigned slot, const uint8_t **text, size_t *len);
void revision_free(Revision *r);
/* Text by ids without reading the revision record. As revision_get_text. */
int dump_get_text(Dump *d, int64_t page_id, int64_t rev_id, unsigned slot,
                  const uint8_t **text, size_t *len);

/* Page cursors. order DUMP_PAGES_BY_ID: ids in [lo, hi) ascending (hi <= 0:
 * no upper bound); DUMP_PAGES_BY_TITLE: pages of namespace lo by title
 * without its prefix (bytewise), hi ignored. next: DUMP_OK with *out
 * borrowed until the next step or close (other calls on the Dump, writes
 * included, do not disturb it), DUMP_NOTFOUND at the end. Cursor failures
 * leave their message in dump_errmsg() of the Dump. */
#define DUMP_PAGES_BY_ID    0
#define DUMP_PAGES_BY_TITLE 1
int dump_pages(Dump *d, int order, int64_t lo, int64_t hi, PageCursor **out);
int page_cursor_next(PageCursor *c, const PageInfo **out);
void page_cursor_close(PageCursor *c);
/* A page's revisions, ascending by id (DUMP_NOTFOUND if the page is
 * missing). next as for pages; text of the current one:
 * revision_cursor_text, as revision_get_text (borrowed until the next call
 * on the cursor or its Dump; DUMP_MISUSE before the first step). */
int dump_revisions(Dump *d, int64_t page_id, RevisionCursor **out);
int revision_cursor_next(RevisionCursor *c, const RevisionInfo **out);
int revision_cursor_text(RevisionCursor *c, unsigned slot, const uint8_t **text, size_t *len);
void revision_cursor_close(RevisionCursor *c);

/* Writing: one transaction at a time per file (DUMP_BUSY), as for a Store.
 * Nothing is visible to other handles before dump_commit(). Every write
 * below is DUMP_MISUSE outside a transaction. A write refused by its checks
 * (DUMP_INVALID, DUMP_NOTFOUND, DUMP_EXISTS, corruption found before any
 * change) changes nothing and the transaction goes on; a write that fails
 * half-way leaves only dump_abort(): later writes and dump_commit() are
 * DUMP_MISUSE (dump_commit() then aborts). dump_abort() and a failed commit
 * forget everything cached from the transaction. */
int dump_begin(Dump *d);
int dump_commit(Dump *d);
int dump_abort(Dump *d);
/* Insert or replace a page (a changed title moves it in the title index).
 * DUMP_INVALID for a negative id, an absent title, a title_prefix beyond
 * the title, a namespace outside int32 or outside an articles dump;
 * DUMP_EXISTS if another page has the title. */
int dump_put_page(Dump *d, const PageInfo *p);
/* Delete a page with all its revisions and texts. DUMP_NOTFOUND. */
int dump_delete_page(Dump *d, int64_t page_id);
/* Insert or replace a revision of an existing page (DUMP_NOTFOUND if the
 * page is missing; DUMP_INVALID if the id belongs to another page, for a
 * negative id, a text over 1 GiB, or a field record.h refuses). Slot texts
 * (SlotInfo.text != NULL) are stored unless the dump is a stub, and
 * DUMP_SLOT_HAS_TEXT is set from that, whatever the caller's flags say;
 * sizes and sha1s are kept as given. Put a page's revisions in ascending
 * id order to get delta compression. A registered contributor (user_id >=
 * 1) updates the user index. In a current dump, a revision older than the
 * page's latest is not stored (DUMP_OK) and a newer one replaces it. */
int dump_put_revision(Dump *d, const RevisionInfo *r);
/* Delete a revision; texts stored as deltas against it are re-encoded.
 * DUMP_NOTFOUND. */
int dump_delete_revision(Dump *d, int64_t rev_id);

/* Full integrity check: store_check, then every record decodes, every index
 * agrees with the records, every text frame decodes to its declared length
 * and checksum. DUMP_OK or DUMP_CORRUPT with the first problem. */
typedef struct DumpCheck {
    uint64_t pages, revisions, texts, text_bytes;
} DumpCheck;
int dump_check(Dump *d, DumpCheck *out);

/* ---- XML export of one page (the fast path of incrdump.xmlwrite) -----------
 * Writes a page as MediaWiki 1.39's dumpBackup.php does (the XML layer
 * writes the header and footer). Only pages whose records are in canonical
 * form (an empty `extra` on the page and on every revision written) are
 * written here; for any other page nothing is written and handled is 0.
 * The sink gets the output in chunks of at most 1 MiB; data is borrowed for
 * the call only; a nonzero return stops the export (DUMP_IOERR). The sink
 * must not call into the Dump. */
typedef int (*DumpXmlSink)(void *ctx, const uint8_t *data, size_t len);

/* DumpXmlOptions.range bits: which revision-id bounds apply */
#define DUMP_XML_REVSTART 1   /* only ids >= revstart */
#define DUMP_XML_REVEND   2   /* only ids < revend */

typedef struct DumpXmlOptions {
    int schema;            /* 10 or 11 (export-0.10 leaves out <origin>, the
                              sha1 and location of <text>, non-main slots) */
    int stub;              /* 1: <text> without content (and without the
                              xml:space of a text the dump holds) */
    int current;           /* 1: only the latest (highest id) revision in range */
    unsigned range;        /* DUMP_XML_REVSTART | DUMP_XML_REVEND; with either,
                              a page with no revision in range is left out */
    int64_t revstart, revend;
    int quot, apos;        /* 1: element text also escapes " as &quot; / ' as
                              &#039; (the style of some MediaWiki versions) */
    const char *minor_tag; /* an empty <minor>, e.g. "<minor />"; NULL: "<minor/>" */
    const char *sha1_tag;  /* an empty <sha1>; NULL: "<sha1/>" */
    /* <text> attribute order per situation (index: bits 1 bytes, 2 bytes is
     * 0, 4 sha1, 8 deleted, 16 location, 32 id present): keys separated by
     * spaces, e.g. "bytes sha1 xml:space"; NULL = bytes sha1 deleted
     * location id, then xml:space when the text is stored and not deleted.
     * Borrowed for the call. */
    const char *text_attrs[64];
} DumpXmlOptions;

typedef struct DumpXmlResult {
    int handled;           /* 0: nothing written, the page is not canonical */
    int written;           /* 1: the page was written (0 when left out) */
    uint64_t revisions;    /* revisions written */
    uint64_t bytes;        /* bytes given to the sink */
} DumpXmlResult;

/* Write page page_id per o to sink. DUMP_OK (see out->handled),
 * DUMP_NOTFOUND (no such page), DUMP_INVALID (bad options), DUMP_IOERR (the
 * sink refused), DUMP_CORRUPT, DUMP_NOMEM; after a failure part of the page
 * may have reached the sink. */
int dump_xml_page(Dump *d, int64_t page_id, const DumpXmlOptions *o, DumpXmlSink sink, void *ctx,
                  DumpXmlResult *out);

/* CDEF-END */

#ifdef __cplusplus
}
#endif
#endif
