/*
 * dump_text_int.h -- what the two halves of text storage share: struct
 * TextStore, the writer's per-page state, entry headers, and the functions
 * each half offers the other.
 *
 * Dump layer (8), internal: included only by dump_text.c (entries, pieces,
 * chains, reading, writing, deleting, checking), dump_text_writer.c
 * (what a new text is stored against: sketches, per-page state, rebuilding
 * it from the tree, the staircase and similarity choice) and
 * dump_text_pack.c (the packed layout: buffering, packs, their deletes).
 */
#ifndef INCRDUMP_DUMP_TEXT_INT_H
#define INCRDUMP_DUMP_TEXT_INT_H

#include <stddef.h>
#include <stdint.h>

#include "bytes.h"
#include "codec.h"
#include "dump_text.h"

#define PIECE_KEY_LEN (TEXT_KEY_LEN + 4)
#define ENTRY_HDR_MAX (1 + 2 * VARINT_MAX + 4)
#define GOLD          0x9E3779B97F4A7C15ull
#define MAX_LINKS     (TEXT_MAX_DEPTH + 1)   /* entries on a chain, Equal aside */

/* Scratch bytes owned by a TextStore. */
typedef struct Buf {
    uint8_t *p;
    size_t n, cap;
} Buf;

/* The cache of decoded texts (dump_text.c): an LRU list bounded by bytes,
 * and a hash table by (page, rev, slot). */
typedef struct CEnt {
    struct CEnt *hnext, *prev, *next;
    int64_t page, rev;
    unsigned slot;
    unsigned depth;        /* of its entry: the depth rule holds for cached bases too */
    size_t len;
    uint8_t data[];
} CEnt;

typedef struct Cache {
    CEnt **tab;
    size_t nb, count, bytes, cap;
    CEnt lru;              /* sentinel: lru.next is the most recent */
} Cache;

/* ---- writer state (dump_text_writer.c) ---------------------------------------
 * For the page being written, per slot: the recent Raw/Delta texts (nodes)
 * with their ancestry, and the (length, CRC) of every earlier text for the
 * Equal test. A node's path lists its chain from the Raw root to itself;
 * `head` indexes the run head in it (the staircase, dump_text_writer.c). */

typedef struct Sketch {
    uint64_t *f;     /* sorted, distinct */
    uint32_t n;
    uint8_t level;
    uint8_t ok;      /* 0: none (text too short, or not computed) */
} Sketch;

typedef struct PathEnt {
    int64_t rev;
    uint64_t len;
    unsigned depth;
} PathEnt;

typedef struct Node {
    int64_t rev;
    uint64_t len;
    uint32_t crc;
    unsigned depth, head, npath;
    PathEnt *path;          /* npath entries; path[npath - 1] is the node */
    Sketch sk;              /* made when first needed (node_sketch) */
    int sk_tried;
} Node;

typedef struct EqEnt {
    uint64_t len;
    int64_t rev;
    uint32_t crc;
    uint32_t used;
} EqEnt;

typedef struct SlotState {
    int64_t newest;                 /* highest rev with a text; INT64_MIN: none */
    Node *win[TEXT_CANDIDATES];     /* recent nodes, oldest first */
    unsigned nwin;
    Node *latest;                   /* node holding the newest text (in win) */
    EqEnt *eq;
    size_t eqcap, eqn;
    int64_t pk_last;                /* last text written in a pack; INT64_MIN: none */
    unsigned pk_depth;              /* the depth of its pack */
    int64_t pk_hold;                /* while scanning: the last Pack holder */
    unsigned pk_hold_depth;
} SlotState;

typedef struct PageState {
    int valid;
    int64_t page;
    SlotState *slot[256];
} PageState;

typedef struct Choice {
    const Node *from;     /* NULL: Raw */
    unsigned keep;        /* path entries of `from` kept; the base is path[keep - 1] */
    unsigned head;        /* run head index of the new node */
} Choice;

/* An entry's header (docs/format.md "Text storage", "Entries"). */
typedef struct Hdr {
    int kind;
    unsigned depth;        /* Delta; 0 for Raw and Equal */
    int64_t ref;           /* Delta: base rev; Equal: target rev */
    uint64_t len;          /* length and CRC-32 of the text */
    uint32_t crc;
    size_t body;           /* Raw, Delta, Pack: offset of the codec frame */
    uint64_t off;          /* Packed: offset of the text in its pack */
    uint64_t members;      /* Pack: number of texts in the pack */
} Hdr;

/* Texts of one slot buffered by text_put in the packed layout. */
typedef struct PendEnt {
    int64_t rev;
    size_t off, len;
    uint32_t crc;
} PendEnt;

typedef struct Pend {
    Buf data;               /* the texts, concatenated */
    PendEnt *e;
    size_t n, cap;
} Pend;

struct TextStore {
    Store *s;
    unsigned tree;
    TextConfig cfg;          /* dict points to our copy */
    uint8_t *dict;
    TextTuning tune;
    TextStats stats;
    Codec *codec;
    Cache cache;
    PageState ps;
    uint64_t gear[256];
    Buf chain;               /* entries of the chain being decoded */
    Buf wbuf;                /* entry being written */
    Buf rbuf;                /* entry read for a rewrite */
    int skip_cache_once;     /* text_check_page: decode the text itself */
    Buf pchain;              /* pack entries of the chain being decoded */
    Pend *pend[256];         /* packed layout: buffered texts per slot */
    int64_t pend_page;
    unsigned pend_slots;     /* slots with buffered texts */
};

/* Cache keys of decoded pack raws: (page, holder rev, slot + PACK_CACHE_SLOT). */
#define PACK_CACHE_SLOT 256u

/* ---- dump_text.c ---- */

/* The text of (page, rev, slot), decoded through its chain and verified
 * (text_get without its argument checks). Borrowed until the next call. */
int text_load(TextStore *t, int64_t page, int64_t rev, unsigned slot,
              const uint8_t **out, size_t *outlen, ErrorInfo *err);
/* Header of the entry at (page, rev, slot), from its first piece.
 * DUMP_NOTFOUND (no message), DUMP_CORRUPT, or a store error. */
int text_read_meta(TextStore *t, int64_t page, int64_t rev, unsigned slot, Hdr *h, ErrorInfo *err);
/* Parse an entry's header from its first n bytes; NULL or what is wrong. */
const char *text_hdr_parse(const uint8_t *p, size_t n, int64_t rev, Hdr *h);
/* Read the varint distance back from rev at *q (< end) into *ref, an
 * earlier rev id (1 <= distance, no wrap below INT64_MIN); advances *q.
 * NULL or what is wrong. */
const char *text_ref_get(const uint8_t **q, const uint8_t *end, int64_t rev, int64_t *ref);
/* err = "text of page P rev R slot S: ..."; returns code. */
int text_fail(ErrorInfo *err, int code, int64_t page, int64_t rev, unsigned slot, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
/* A store call failed with rc: its message, as text_fail. */
int text_store_fail(TextStore *t, ErrorInfo *err, int rc, int64_t page, int64_t rev, unsigned slot);
int64_t text_key_page(const uint8_t *k);
int64_t text_key_rev(const uint8_t *k);
int text_buf_add(Buf *b, const uint8_t *p, size_t n);
void text_buf_free(Buf *b);
/* Entries with their pieces (docs/format.md "Keys and pieces"). read
 * appends to b (DUMP_NOTFOUND if absent; DUMP_CORRUPT with *why); write
 * stores p[0..n) (the key must be free of pieces: delete first); delete
 * removes entry and pieces (DUMP_NOTFOUND if absent). */
int text_entry_read(TextStore *t, const uint8_t key[TEXT_KEY_LEN], Buf *b, const char **why);
int text_entry_write(TextStore *t, const uint8_t key[TEXT_KEY_LEN], const uint8_t *p, size_t n);
int text_entry_delete(TextStore *t, const uint8_t key[TEXT_KEY_LEN]);
CEnt *text_cache_find(Cache *c, int64_t page, int64_t rev, unsigned slot);
void text_cache_put(Cache *c, int64_t page, int64_t rev, unsigned slot, unsigned depth,
                    const uint8_t *p, size_t n);
void text_cache_clear(Cache *c);

/* ---- dump_text_pack.c ---- */

/* Parse the fields of a Pack or Packed entry after its kind byte. */
const char *text_pack_hdr_parse(const uint8_t *p, size_t n, int64_t rev, Hdr *h);
/* The text of the Pack/Packed entry h of (page, rev, slot), decoded through
 * its chain of packs and verified; asked: the rev named in messages. skip:
 * decode its own pack from the frame, not the cache. Borrowed. */
int text_pack_text(TextStore *t, int64_t page, int64_t rev, unsigned slot, const Hdr *h, int skip,
                   int64_t asked, const uint8_t **out, size_t *outlen, ErrorInfo *err);
/* A buffered text of (page, rev, slot): 1 and its bytes, or 0. */
int text_pend_find(const TextStore *t, int64_t page, int64_t rev, unsigned slot,
                   const uint8_t **p, size_t *n);
/* Buffer an in-order text (writing the slot's pack first when it is full). */
int text_pend_add(TextStore *t, int64_t page, int64_t rev, unsigned slot, const uint8_t *text,
                  size_t len, uint32_t crc, ErrorInfo *err);
/* Drop (free) every buffered text. */
void text_pend_drop(TextStore *t, int free_all);
/* Delete the Pack/Packed text x of (page, rev, slot): its pack is written
 * again without it, packs using it as prefix are re-encoded, Equals to it
 * move to a Raw copy. */
int text_pack_delete(TextStore *t, int64_t page, int64_t rev, unsigned slot, const Hdr *x, ErrorInfo *err);

/* ---- dump_text_writer.c ---- */

void tw_gear_init(uint64_t gear[256]);
void tw_sketch_free(Sketch *s);
/* Make t->ps the state of `page` (scanning its entries' headers), or drop it. */
int tw_page_load(TextStore *t, int64_t page, ErrorInfo *err);
void tw_page_drop(TextStore *t);
SlotState *tw_slot_get(TextStore *t, unsigned slot);
/* The latest text with this length and CRC-32, or INT64_MIN; remember one. */
int64_t tw_eq_find(const SlotState *ss, uint64_t len, uint32_t crc);
void tw_eq_put(SlotState *ss, uint64_t len, uint32_t crc, int64_t rev);
/* A node whose path is prefix[0..nprefix) then itself; NULL: no memory. */
Node *tw_node_make(const PathEnt *prefix, unsigned nprefix, int64_t rev, uint64_t len,
                   uint32_t crc, unsigned depth, unsigned head);
/* Append n to the window (it becomes the latest); find a node by rev. */
void tw_win_push(SlotState *ss, Node *n);
Node *tw_win_find(const SlotState *ss, int64_t rev);
/* The staircase's base for a text of len bytes (ch->from NULL: Raw); *full
 * when the staircase has no room left and restarts with a Raw. */
void tw_structural_base(const TextStore *t, const SlotState *ss, uint64_t len, Choice *ch, int *full);
/* A window text that the sketches say makes a much smaller delta than ch's
 * base, no deeper; 1 if ch changed. sk: the new text's, made on first need. */
int tw_similar_base(TextStore *t, SlotState *ss, int64_t page, unsigned slot, const uint8_t *text,
                    uint64_t len, Sketch *sk, Choice *ch);

#endif
