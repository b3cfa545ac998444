/*
 * dump_internal.h -- what the dump_*.c files share: struct Dump, the tree
 * numbers and key encodings of docs/format.md "Dump layout", the interned
 * string cache, and the error helpers.
 *
 * Dump layer (8), internal: included only by dump.c and dump_*.c. Invariant
 * kept by every write: the indexes (TITLES, REVS, USERS/USERNAMES, STRIDX)
 * agree with the records they index, inside every transaction as well as
 * after it.
 */
#ifndef INCRDUMP_DUMP_INTERNAL_H
#define INCRDUMP_DUMP_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "dump_text.h"
#include "incrdump.h"
#include "record.h"
#include "status.h"

/* Trees of a dump (Store tree numbers; docs/format.md "Dump layout"). */
enum {
    T_META = 0,      /* bytes: "config", "siteinfo", "dict", "strings.next" */
    T_PAGES = 1,     /* int page id -> page record */
    T_TITLES = 2,    /* bytes title key -> varint page id */
    T_REVS = 3,      /* int rev id -> varint page id */
    T_PAGEREVS = 4,  /* bytes BE64(page^s) | BE64(rev^s) -> revision record */
    T_TEXT = 5,      /* bytes text_key -> text frame (dump_text.h) */
    T_STRINGS = 6,   /* int intern id -> u8 kind | bytes */
    T_STRIDX = 7,    /* bytes u8 kind | bytes -> varint intern id */
    T_USERS = 8,     /* int user id -> user name */
    T_USERNAMES = 9, /* bytes user name -> varint user id */
    T_TEXTPIECES = 10, /* bytes text key | BE32 n -> piece n of a long TEXT entry */
    T_COUNT = 11
};

#define DUMP_CONFIG_VERSION 1
#define PAGEREV_KEY_LEN 16
#define DUMP_MAX_DICT ((size_t)1 << 20)
#define DUMP_MAX_TEXT ((size_t)1 << 30)

/* ---- interned strings (dump_strings.c) ----------------------------------
 * A cache of STRINGS/STRIDX in both directions. Entries never move while
 * they are cached; the cache is emptied only at the entry of a public call
 * (strcache_trim) or after an abort (strcache_clear), never in the middle
 * of a decode, so pointers handed to the record decoder stay valid for the
 * whole call. Objects that outlive the call copy what they use. */
typedef struct StrEntry {
    struct StrEntry *next_id, *next_key;   /* hash chains */
    uint64_t id, hash;
    int kind;
    size_t len;
    uint8_t bytes[];
} StrEntry;

typedef struct StrCache {
    StrEntry **by_id, **by_key;
    size_t nbuckets;          /* power of two, 0 before the first insert */
    size_t count, bytes;
} StrCache;

void strcache_free(StrCache *c);
void strcache_clear(StrCache *c);
/* Empty the cache when it grew past its budget. Only at a safe point. */
void strcache_trim(StrCache *c);

/* ---- the handle ----------------------------------------------------------- */
struct Dump {
    Store *s;                 /* NULL after a failed open */
    ErrorInfo err;
    DumpConfig cfg;           /* as stored in META "config" */
    uint64_t record_version;
    TextStore *text;
    uint8_t *dict;            /* META "dict" as the TextStore uses it */
    size_t dict_len;

    StrCache strs;
    RecordStrings rs;         /* intern/lookup over strs and the trees */
    uint64_t str_next;        /* next intern id, valid when str_next_loaded */
    int str_next_loaded, str_next_dirty;

    int broken;               /* a write failed half-way: only abort is left */

    RecordBuf buf;            /* records being encoded */
    uint8_t *tmp;             /* copy of a record being decoded */
    size_t tmp_cap;
    void *scratch;            /* decoder arrays for internal decodes */
    uint8_t *tkey, *tkey2;    /* title keys (new, old) */
    size_t tkey_cap, tkey2_cap;
    uint8_t *skey;            /* STRIDX key being built */
    size_t skey_cap;
    uint8_t *si_rec;          /* siteinfo bytes, borrowed by dump_get_siteinfo */
    size_t si_cap;
    void *si_scratch;
    SlotInfo slots[RECORD_MAX_SLOTS];   /* revision being written */
};

struct Page {
    PageInfo info;
    size_t n;
    uint8_t rec[];
};

struct Revision {
    Dump *d;
    RevisionInfo info;
    void *scratch;            /* decoder arrays */
    uint8_t *arena;           /* copies of the interned strings */
    size_t arena_cap;
    size_t n;
    uint8_t rec[];
};

/* ---- helpers (dump.c) ------------------------------------------------------ */

/* Entry gate of every public call: clear the message, refuse a handle
 * whose open failed, trim the string cache. */
int dump_enter(Dump *d);
/* The Store call failed with rc: "<context>: <store message>". */
int dump_fail_store(Dump *d, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* A sub-module failed with rc and message sub: "<context>: <sub>". */
int dump_fail_sub(Dump *d, int rc, const ErrorInfo *sub, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Grow *buf to at least n bytes. 0 or DUMP_NOMEM (message set). */
int dump_reserve(Dump *d, uint8_t **buf, size_t *cap, size_t n);
/* 1 if [v, v+n) is exactly one canonical varint that fits int64. */
int dump_varint_exact(const uint8_t *v, size_t n, int64_t *out);

void dump_pagerev_key(uint8_t k[PAGEREV_KEY_LEN], int64_t page, int64_t rev);
int64_t dump_key_id(const uint8_t *p);          /* inverse of one half */
/* Title key of (ns, name) into *buf. DUMP_INVALID for a namespace outside
 * int32 or a key over STORE_MAX_KEY; DUMP_NOMEM. */
int dump_title_key(Dump *d, uint8_t **buf, size_t *cap, int64_t ns, const uint8_t *name,
                   size_t n, size_t *klen);
/* The title of p without its namespace prefix. */
DumpText dump_page_name(const PageInfo *p);

/* (Re)build the TextStore for d->cfg and d->dict. */
int dump_text_rebuild(Dump *d);

/* Decode a page record (id from its key); messages name the page. */
int dump_decode_page(Dump *d, const uint8_t *rec, size_t n, int64_t id, PageInfo *out);
/* Decode a revision record. With arena != NULL, every string of the result
 * that is not inside rec (interned strings from the cache, text the decoder
 * made) is copied into *arena, so the result depends only on rec, *scratch
 * and *arena, all owned by the caller. */
int dump_decode_revision(Dump *d, const uint8_t *rec, size_t n, int64_t page, int64_t rev,
                         RevisionInfo *out, void **scratch, uint8_t **arena, size_t *arena_cap);
/* Text of one slot of a decoded revision, checking DUMP_SLOT_HAS_TEXT. */
int dump_slot_text(Dump *d, const RevisionInfo *ri, unsigned slot, const uint8_t **text,
                   size_t *len);

/* ---- strings (dump_strings.c) ---------------------------------------------- */
int dump_intern(void *ctx, int kind, const uint8_t *p, size_t n, uint64_t *id, ErrorInfo *err);
int dump_lookup(void *ctx, int kind, uint64_t id, const uint8_t **p, size_t *n, ErrorInfo *err);
/* Write META "strings.next" if ids were handed out in this transaction. */
int dump_strings_flush(Dump *d);
/* Forget the transaction's id counter (after begin, commit, abort). */
void dump_strings_reset_txn(Dump *d);

#endif
