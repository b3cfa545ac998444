/*
 * dump_text.c -- revision text storage: Raw / Delta / Equal entries in one
 * tree, chains of bounded depth, re-encoding of dependants on delete
 * (docs/format.md "Text storage").
 *
 * Dump layer (8), internal: calls the public Store API, codec and bytes;
 * the choice of bases is dump_text_writer.c's, the packed layout (Pack and
 * Packed entries, buffering) dump_text_pack.c's (dump_text_int.h).
 * Invariants: a base or Equal target is an earlier Raw/Delta text of the
 * same page and slot; a Delta's depth exceeds its base's; text_get hands
 * out only bytes whose length and CRC-32 matched every frame of the chain
 * (a cached text was verified when it entered the cache).
 */
#include "dump_text.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "codec.h"
#include "dump_text_int.h"

/* Defaults (benchmarks/text_layout.c measures them). */
#define TEXT_ZSTD_LEVEL    9
#define TEXT_XZ_LEVEL      6
#define TEXT_CACHE_BYTES   ((size_t)8 << 20)
#define TEXT_CHAIN_BYTES   ((size_t)1 << 20)
#define TEXT_MIN_DEPTH     4
#define TEXT_PACK_BYTES    ((size_t)768 << 10)
#define TEXT_PACK_DEPTH    2

#define BUF_KEEP      ((size_t)16 << 20)  /* scratch larger than this is freed after a call */

/* ---- small buffers ---------------------------------------------------------- */


static int buf_need(Buf *b, size_t extra)
{
    if (extra > SIZE_MAX - b->n) return DUMP_NOMEM;
    size_t want = b->n + extra;
    if (want <= b->cap && b->p) return DUMP_OK;     /* p is never NULL after a call */
    size_t cap = b->cap ? b->cap : 256;
    while (cap < want) cap = cap > SIZE_MAX / 2 ? want : cap * 2;
    uint8_t *p = realloc(b->p, cap);
    if (!p) return DUMP_NOMEM;
    b->p = p;
    b->cap = cap;
    return DUMP_OK;
}

int text_buf_add(Buf *b, const uint8_t *p, size_t n)
{
    if (buf_need(b, n)) return DUMP_NOMEM;
    if (n) memcpy(b->p + b->n, p, n);
    b->n += n;
    return DUMP_OK;
}

void text_buf_free(Buf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

/* One huge text must not pin its memory after the call that needed it. */
static void buf_trim(Buf *b)
{
    if (b->cap > BUF_KEEP) text_buf_free(b);
    b->n = 0;
}

/* ---- decoded-text cache: LRU bounded by bytes ---------------------------------- */


#define CENT_COST(n) ((n) + sizeof(CEnt) + 16)


static size_t cache_hash(size_t nb, int64_t page, int64_t rev, unsigned slot)
{
    uint64_t h = (uint64_t)page * 0x9E3779B97F4A7C15ull ^ (uint64_t)rev * 0xC2B2AE3D27D4EB4Full ^ slot;
    h ^= h >> 29;
    h *= 0xBF58476D1CE4E5B9ull;
    return (size_t)(h >> 32) & (nb - 1);
}

static size_t cache_slot(const Cache *c, int64_t page, int64_t rev, unsigned slot)
{
    return cache_hash(c->nb, page, rev, slot);
}

static void lru_unlink(CEnt *e)
{
    e->prev->next = e->next;
    e->next->prev = e->prev;
}

static void lru_front(Cache *c, CEnt *e)
{
    e->next = c->lru.next;
    e->prev = &c->lru;
    c->lru.next->prev = e;
    c->lru.next = e;
}

static void cache_init(Cache *c, size_t cap)
{
    memset(c, 0, sizeof *c);
    c->lru.next = c->lru.prev = &c->lru;
    c->cap = cap;
}

CEnt *text_cache_find(Cache *c, int64_t page, int64_t rev, unsigned slot)
{
    if (!c->nb) return NULL;
    for (CEnt *e = c->tab[cache_slot(c, page, rev, slot)]; e; e = e->hnext)
        if (e->rev == rev && e->page == page && e->slot == slot) {
            lru_unlink(e);
            lru_front(c, e);
            return e;
        }
    return NULL;
}

static void cache_remove(Cache *c, CEnt *e)
{
    CEnt **pp = &c->tab[cache_slot(c, e->page, e->rev, e->slot)];
    while (*pp != e) pp = &(*pp)->hnext;
    *pp = e->hnext;
    lru_unlink(e);
    c->count--;
    c->bytes -= CENT_COST(e->len);
    free(e);
}

static void cache_drop(Cache *c, int64_t page, int64_t rev, unsigned slot)
{
    CEnt *e = text_cache_find(c, page, rev, slot);
    if (e) cache_remove(c, e);
}

void text_cache_clear(Cache *c)
{
    while (c->lru.next != &c->lru) cache_remove(c, c->lru.next);
    free(c->tab);
    c->tab = NULL;
    c->nb = 0;
}

/* Remember a verified text. Failing to (no memory, too large) is harmless:
 * the cache only saves work. A text over a quarter of the cache is not kept,
 * so one large text cannot flush everything else. */
void text_cache_put(Cache *c, int64_t page, int64_t rev, unsigned slot, unsigned depth,
                      const uint8_t *p, size_t n)
{
    cache_drop(c, page, rev, slot);
    if (CENT_COST(n) > c->cap / 4) return;
    if (c->count + 1 > c->nb) {
        size_t nb = c->nb ? c->nb * 2 : 64;
        CEnt **tab = calloc(nb, sizeof *tab);
        if (!tab) return;
        for (size_t i = 0; i < c->nb; i++)
            for (CEnt *e = c->tab[i], *nx; e; e = nx) {
                nx = e->hnext;
                size_t h = cache_hash(nb, e->page, e->rev, e->slot);
                e->hnext = tab[h];
                tab[h] = e;
            }
        free(c->tab);
        c->tab = tab;
        c->nb = nb;
    }
    CEnt *e = malloc(sizeof *e + (n ? n : 1));
    if (!e) return;
    e->page = page;
    e->rev = rev;
    e->slot = slot;
    e->depth = depth;
    e->len = n;
    if (n) memcpy(e->data, p, n);
    size_t h = cache_slot(c, page, rev, slot);
    e->hnext = c->tab[h];
    c->tab[h] = e;
    lru_front(c, e);
    c->count++;
    c->bytes += CENT_COST(n);
    while (c->bytes > c->cap && c->lru.prev != e) cache_remove(c, c->lru.prev);
}

/* ---- keys, messages -------------------------------------------------------------- */

static void be64_put(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (56 - 8 * i));
}

static uint64_t be64_get(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v = v << 8 | p[i];
    return v;
}

void text_key(uint8_t key[TEXT_KEY_LEN], int64_t page, int64_t rev, unsigned slot)
{
    be64_put(key, (uint64_t)page ^ ((uint64_t)1 << 63));
    be64_put(key + 8, (uint64_t)rev ^ ((uint64_t)1 << 63));
    key[16] = (uint8_t)slot;
}

static void piece_key(uint8_t k[PIECE_KEY_LEN], const uint8_t key[TEXT_KEY_LEN], uint32_t i)
{
    memcpy(k, key, TEXT_KEY_LEN);
    k[17] = (uint8_t)(i >> 24);
    k[18] = (uint8_t)(i >> 16);
    k[19] = (uint8_t)(i >> 8);
    k[20] = (uint8_t)i;
}

int64_t text_key_page(const uint8_t *k) { return (int64_t)(be64_get(k) ^ ((uint64_t)1 << 63)); }
int64_t text_key_rev(const uint8_t *k) { return (int64_t)(be64_get(k + 8) ^ ((uint64_t)1 << 63)); }

/* "text of page P rev R slot S: ..." */
int text_fail(ErrorInfo *err, int code, int64_t page, int64_t rev, unsigned slot, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
int text_fail(ErrorInfo *err, int code, int64_t page, int64_t rev, unsigned slot, const char *fmt, ...)
{
    char detail[sizeof err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    return error_set(err, code, "text of page %" PRId64 " rev %" PRId64 " slot %u: %s",
                     page, rev, slot, detail);
}

int text_store_fail(TextStore *t, ErrorInfo *err, int rc, int64_t page, int64_t rev, unsigned slot)
{
    if (rc == DUMP_NOTFOUND) rc = DUMP_CORRUPT;     /* an entry vanished under us */
    return text_fail(err, rc, page, rev, slot, "store: %s", store_errmsg(t->s));
}

/* ---- entries: header and pieces ----------------------------------------------------- */


/* Parse an entry's header from its first n bytes (n may be a first piece
 * only: the codec frame is then cut short, its header is enough). */
const char *text_ref_get(const uint8_t **q, const uint8_t *end, int64_t rev, int64_t *ref)
{
    uint64_t dist;
    size_t k = varint_get(*q, end, &dist);
    if (!k) return "bad reference";
    /* the reference is an earlier rev id: 1 <= dist, rev - dist >= INT64_MIN */
    if (dist < 1 || dist > ((uint64_t)rev ^ ((uint64_t)1 << 63))) return "reference out of range";
    *ref = (int64_t)((uint64_t)rev - dist);
    *q += k;
    return NULL;
}

const char *text_hdr_parse(const uint8_t *p, size_t n, int64_t rev, Hdr *h)
{
    const uint8_t *end, *q;
    const char *why;
    uint64_t v;
    size_t k;
    memset(h, 0, sizeof *h);
    if (n < 1) return "empty entry";     /* before any arithmetic: p may be NULL */
    end = p + n;
    q = p + 1;
    h->kind = p[0];
    if (h->kind > TEXT_PACKED) return "unknown entry kind";
    if (h->kind >= TEXT_PACK) return text_pack_hdr_parse(p, n, rev, h);
    if (h->kind == TEXT_DELTA) {
        if (!(k = varint_get(q, end, &v))) return "bad depth";
        if (v < 1 || v > TEXT_MAX_DEPTH) return "depth out of range";
        h->depth = (unsigned)v;
        q += k;
    }
    if (h->kind != TEXT_RAW && (why = text_ref_get(&q, end, rev, &h->ref)))
        return why;
    if (h->kind == TEXT_EQUAL) {
        if (!(k = varint_get(q, end, &h->len)) || h->len > CODEC_MAX_RAW) return "bad length";
        q += k;
        if (end - q != 4) return "bad Equal entry length";
        h->crc = get_u32(q);
        return NULL;
    }
    CodecFrameInfo fi;
    ErrorInfo scratch;
    if (codec_frame_info(q, (size_t)(end - q), &fi, &scratch)) return "bad text frame header";
    if (h->kind == TEXT_RAW && (fi.flags & CODEC_F_PREFIX)) return "Raw frame with a prefix";
    h->len = fi.raw_len;
    h->crc = fi.crc;
    h->body = (size_t)(q - p);
    return NULL;
}

static size_t hdr_put(uint8_t *p, int kind, unsigned depth, int64_t rev, int64_t ref)
{
    size_t n = 1;
    p[0] = (uint8_t)kind;
    if (kind == TEXT_DELTA) n += varint_put(p + n, depth);
    if (kind != TEXT_RAW) n += varint_put(p + n, (uint64_t)rev - (uint64_t)ref);
    return n;
}

/* Append the whole entry at key to b. DUMP_NOTFOUND if absent. */
int text_entry_read(TextStore *t, const uint8_t key[TEXT_KEY_LEN], Buf *b, const char **why)
{
    const uint8_t *v;
    size_t n;
    int rc = store_get_bytes(t->s, t->tree, key, TEXT_KEY_LEN, &v, &n);
    if (rc) return rc;
    if (text_buf_add(b, v, n)) return DUMP_NOMEM;
    if (!t->cfg.piece_tree || n != TEXT_PIECE) return DUMP_OK;
    uint8_t pk[PIECE_KEY_LEN];
    for (uint32_t i = 1;; i++) {
        piece_key(pk, key, i);
        rc = store_get_bytes(t->s, t->cfg.piece_tree, pk, PIECE_KEY_LEN, &v, &n);
        if (rc == DUMP_NOTFOUND) return DUMP_OK;
        if (rc) return rc;
        if (n < 1 || n > TEXT_PIECE) {
            *why = "bad piece length";
            return DUMP_CORRUPT;
        }
        if (b->n > CODEC_MAX_RAW + 64) {
            *why = "entry longer than any text frame";
            return DUMP_CORRUPT;
        }
        if (text_buf_add(b, v, n)) return DUMP_NOMEM;
        if (n < TEXT_PIECE) return DUMP_OK;
    }
}

/* Delete the entry at key with all its pieces. DUMP_NOTFOUND if absent. */
int text_entry_delete(TextStore *t, const uint8_t key[TEXT_KEY_LEN])
{
    int rc = store_del_bytes(t->s, t->tree, key, TEXT_KEY_LEN);
    if (rc || !t->cfg.piece_tree) return rc;
    uint8_t pk[PIECE_KEY_LEN];
    for (uint32_t i = 1;; i++) {
        piece_key(pk, key, i);
        rc = store_del_bytes(t->s, t->cfg.piece_tree, pk, PIECE_KEY_LEN);
        if (rc == DUMP_NOTFOUND) return DUMP_OK;
        if (rc) return rc;
    }
}

/* Store p[0..n) as the entry at key (which must be absent). */
int text_entry_write(TextStore *t, const uint8_t key[TEXT_KEY_LEN], const uint8_t *p, size_t n)
{
    size_t first = t->cfg.piece_tree && n > TEXT_PIECE ? TEXT_PIECE : n;
    /* A rewritten entry (re-encoded after a delete) may have another depth:
     * a cached copy would fail the depth rule for chains through it. */
    cache_drop(&t->cache, text_key_page(key), text_key_rev(key), key[TEXT_KEY_LEN - 1]);
    int rc = store_put_bytes(t->s, t->tree, key, TEXT_KEY_LEN, p, first, STORE_PUT_UPSERT);
    if (rc) return rc;
    uint8_t pk[PIECE_KEY_LEN];
    uint32_t i = 1;
    for (size_t off = first; off < n; off += TEXT_PIECE, i++) {
        size_t m = n - off < TEXT_PIECE ? n - off : TEXT_PIECE;
        piece_key(pk, key, i);
        if ((rc = store_put_bytes(t->s, t->cfg.piece_tree, pk, PIECE_KEY_LEN, p + off, m, STORE_PUT_UPSERT)))
            return rc;
    }
    t->stats.out_bytes += n;
    return DUMP_OK;
}

/* Header of the entry at (page, rev, slot), from its first piece. */
int text_read_meta(TextStore *t, int64_t page, int64_t rev, unsigned slot, Hdr *h, ErrorInfo *err)
{
    uint8_t key[TEXT_KEY_LEN];
    const uint8_t *v;
    size_t n;
    text_key(key, page, rev, slot);
    int rc = store_get_bytes(t->s, t->tree, key, TEXT_KEY_LEN, &v, &n);
    if (rc == DUMP_NOTFOUND) return DUMP_NOTFOUND;
    if (rc) return text_store_fail(t, err, rc, page, rev, slot);
    const char *why = text_hdr_parse(v, n, rev, h);
    if (why) return text_fail(err, DUMP_CORRUPT, page, rev, slot, "%s", why);
    return DUMP_OK;
}

/* ---- reading ------------------------------------------------------------------------- */

typedef struct Link {
    int64_t rev;
    size_t off, n;     /* the entry in t->chain */
    Hdr h;
} Link;

/* The text of (page, rev, slot), decoded through its chain and verified;
 * borrowed until the next call on t. Every text decoded on the way is
 * cached, so the next one of a sequential scan finds its base there. */
int text_load(TextStore *t, int64_t page, int64_t rev, unsigned slot,
                     const uint8_t **out, size_t *outlen, ErrorInfo *err)
{
    Link links[MAX_LINKS];
    unsigned nl = 0;
    int equal = 0, skip = t->skip_cache_once;
    uint64_t want_len = 0;
    uint32_t want_crc = 0;
    int64_t eq_target = 0;
    const CEnt *start = NULL;
    uint8_t key[TEXT_KEY_LEN];
    const char *why = NULL;

    t->skip_cache_once = 0;
    *out = NULL;
    *outlen = 0;
    t->chain.n = 0;
    const uint8_t *txt = NULL;
    size_t tlen = 0;
    int have = 0;       /* txt is the text (buffered, or from a pack) */
    for (int64_t cur = rev;;) {
        if (nl == 0 && t->pend_slots && text_pend_find(t, page, cur, slot, &txt, &tlen)) {
            have = 1;
            break;
        }
        if (!(cur == rev && skip) && (start = text_cache_find(&t->cache, page, cur, slot)) != NULL) break;
        if (nl == 0 && t->cfg.packed) {
            /* a packed text: its pack may be cached, so read the header only */
            Hdr ph;
            if (text_read_meta(t, page, cur, slot, &ph, err) == DUMP_OK &&
                (ph.kind == TEXT_PACK || ph.kind == TEXT_PACKED)) {
                int rc = text_pack_text(t, page, cur, slot, &ph, cur == rev && skip, rev, &txt, &tlen, err);
                if (rc) return rc;
                have = 1;
                break;
            }
        }
        text_key(key, page, cur, slot);
        size_t off = t->chain.n;
        int rc = text_entry_read(t, key, &t->chain, &why);
        if (rc == DUMP_NOTFOUND && cur == rev)
            return text_fail(err, DUMP_NOTFOUND, page, rev, slot, "no such text");
        if (rc == DUMP_NOTFOUND)
            return text_fail(err, DUMP_CORRUPT, page, rev, slot, "%s rev %" PRId64 " is missing",
                        equal && nl == 0 ? "Equal target" : "base", cur);
        if (rc == DUMP_CORRUPT)
            return text_fail(err, rc, page, rev, slot, "entry of rev %" PRId64 ": %s", cur, why);
        if (rc == DUMP_NOMEM) return text_fail(err, rc, page, rev, slot, "out of memory");
        if (rc) return text_store_fail(t, err, rc, page, rev, slot);
        Hdr h;
        if ((why = text_hdr_parse(t->chain.p + off, t->chain.n - off, cur, &h)) != NULL)
            return text_fail(err, DUMP_CORRUPT, page, rev, slot, "entry of rev %" PRId64 ": %s", cur, why);
        if (h.kind == TEXT_EQUAL) {
            if (cur != rev)
                return text_fail(err, DUMP_CORRUPT, page, rev, slot, "%s rev %" PRId64 " is an Equal",
                            equal ? "Equal target" : "base", cur);
            equal = 1;
            want_len = h.len;
            want_crc = h.crc;
            eq_target = h.ref;
            t->chain.n = off;
            cur = h.ref;
            continue;
        }
        if (h.kind == TEXT_PACK || h.kind == TEXT_PACKED) {
            if (nl > 0)
                return text_fail(err, DUMP_CORRUPT, page, rev, slot, "base rev %" PRId64 " is a packed text", cur);
            int rc = text_pack_text(t, page, cur, slot, &h, cur == rev && skip, rev, &txt, &tlen, err);
            if (rc) return rc;
            have = 1;
            break;
        }
        if (nl > 0 && h.depth >= links[nl - 1].h.depth)
            return text_fail(err, DUMP_CORRUPT, page, rev, slot, "base rev %" PRId64 " has depth %u, not below %u",
                        cur, h.depth, links[nl - 1].h.depth);
        if (nl == MAX_LINKS)
            return text_fail(err, DUMP_CORRUPT, page, rev, slot, "chain longer than %d", MAX_LINKS);
        links[nl++] = (Link){ cur, off, t->chain.n - off, h };
        if (h.kind == TEXT_RAW) break;
        cur = h.ref;
    }
    if (!have && start && nl > 0 && start->depth >= links[nl - 1].h.depth)
        return text_fail(err, DUMP_CORRUPT, page, rev, slot, "base rev %" PRId64 " has depth %u, not below %u",
                    start->rev, start->depth, links[nl - 1].h.depth);

    /* Decode upwards. Codec results alternate between two buffers, so each
     * result may serve as the next prefix; a cached base is used in place
     * and stays put until the first insertion below. */
    if (!have) {
        txt = start ? start->data : NULL;
        tlen = start ? start->len : 0;
    }
    for (unsigned i = have ? 0 : nl; i-- > 0;) {
        const Link *l = &links[i];
        int rc = codec_decode(t->codec, t->chain.p + l->off + l->h.body, l->n - l->h.body,
                              l->h.kind == TEXT_DELTA ? txt : NULL, l->h.kind == TEXT_DELTA ? tlen : 0,
                              t->dict, t->cfg.dict_len, &txt, &tlen, err);
        if (rc) {
            char detail[sizeof err->msg];
            snprintf(detail, sizeof detail, "%s", err->msg);
            if (l->rev == rev) return text_fail(err, rc, page, rev, slot, "%s", detail);
            return text_fail(err, rc, page, rev, slot, "%s rev %" PRId64 ": %s",
                        equal && l->rev == eq_target ? "Equal target" : "base", l->rev, detail);
        }
        t->stats.decoded++;
        text_cache_put(&t->cache, page, l->rev, slot, l->h.depth, txt, tlen);
    }
    if (equal) {
        if (tlen != want_len || codec_crc32(txt, tlen) != want_crc)
            return text_fail(err, DUMP_CORRUPT, page, rev, slot,
                        "Equal to rev %" PRId64 ", whose text has another length or CRC-32", eq_target);
    }
    *out = txt;
    *outlen = tlen;
    return DUMP_OK;
}

/* As load_text, into an owned buffer. */
static int load_copy(TextStore *t, int64_t page, int64_t rev, unsigned slot, Buf *b, ErrorInfo *err)
{
    const uint8_t *p;
    size_t n;
    int rc = text_load(t, page, rev, slot, &p, &n, err);
    if (rc) return rc;
    b->n = 0;
    if (text_buf_add(b, p, n)) return text_fail(err, DUMP_NOMEM, page, rev, slot, "out of memory");
    return DUMP_OK;
}

/* ---- encoding ------------------------------------------------------------------------ */

static int codec_id(const TextStore *t) { return t->cfg.codec == DUMP_CODEC_XZ ? CODEC_XZ : CODEC_ZSTD; }

/* Build in t->wbuf the entry of text against base (NULL: Raw). Falls back
 * to a stored Raw frame when compression does not make the entry smaller.
 * *kind receives TEXT_RAW or TEXT_DELTA. */
static int encode_entry(TextStore *t, int64_t rev, const uint8_t *text, size_t len,
                        int64_t base, const uint8_t *btext, size_t blen, unsigned depth,
                        int *kind, ErrorInfo *err)
{
    uint8_t hdr[ENTRY_HDR_MAX];
    const uint8_t *frame;
    size_t flen, hlen;
    int rc;
    *kind = btext ? TEXT_DELTA : TEXT_RAW;
    if (btext)
        rc = codec_encode(t->codec, codec_id(t), t->cfg.level, btext, blen, NULL, 0, text, len,
                          &frame, &flen, err);
    else
        rc = codec_encode(t->codec, codec_id(t), t->cfg.level, NULL, 0, t->dict, t->cfg.dict_len,
                          text, len, &frame, &flen, err);
    if (rc) return rc;
    hlen = hdr_put(hdr, *kind, depth, rev, base);
    if (hlen + flen >= 1 + CODEC_HEADER_MAX + len) {
        /* as a stored Raw frame; hdr_put only needs the kind for Raw */
        *kind = TEXT_RAW;
        hlen = hdr_put(hdr, TEXT_RAW, 0, rev, 0);
        if ((rc = codec_encode(t->codec, CODEC_STORED, 0, NULL, 0, NULL, 0, text, len, &frame, &flen, err)))
            return rc;
    }
    t->wbuf.n = 0;
    if (text_buf_add(&t->wbuf, hdr, hlen) || text_buf_add(&t->wbuf, frame, flen))
        return error_set(err, DUMP_NOMEM, "out of memory");
    return DUMP_OK;
}

/* ---- lifecycle ------------------------------------------------------------------------ */

static void tune_defaults(TextTuning *tu)
{
    tu->cache_bytes = TEXT_CACHE_BYTES;
    tu->chain_bytes = TEXT_CHAIN_BYTES;
    tu->min_depth = TEXT_MIN_DEPTH;
    tu->layout = TEXT_LAYOUT_STAIRS;
    tu->similarity = 1;
    tu->pack_bytes = TEXT_PACK_BYTES;
    tu->pack_depth = TEXT_PACK_DEPTH;
}

TextStore *text_new(Store *s, unsigned tree, const TextConfig *cfg)
{
    TextStore *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    t->s = s;
    t->tree = tree;
    t->cfg = *cfg;
    if (t->cfg.level == 0) t->cfg.level = codec_id(t) == CODEC_XZ ? TEXT_XZ_LEVEL : TEXT_ZSTD_LEVEL;
    if (t->cfg.max_depth < 1) t->cfg.max_depth = 1;
    if (t->cfg.max_depth > TEXT_MAX_DEPTH) t->cfg.max_depth = TEXT_MAX_DEPTH;
    if (t->cfg.dict_len) {
        if (!(t->dict = malloc(t->cfg.dict_len))) {
            free(t);
            return NULL;
        }
        memcpy(t->dict, cfg->dict, t->cfg.dict_len);
    }
    t->cfg.dict = t->dict;
    if (!(t->codec = codec_new())) {
        free(t->dict);
        free(t);
        return NULL;
    }
    tune_defaults(&t->tune);
    cache_init(&t->cache, t->tune.cache_bytes);
    tw_gear_init(t->gear);
    return t;
}

void text_free(TextStore *t)
{
    if (!t) return;
    tw_page_drop(t);
    text_pend_drop(t, 1);
    text_cache_clear(&t->cache);
    codec_free(t->codec);
    text_buf_free(&t->pchain);
    text_buf_free(&t->chain);
    text_buf_free(&t->wbuf);
    text_buf_free(&t->rbuf);
    free(t->dict);
    free(t);
}

void text_reset(TextStore *t)
{
    tw_page_drop(t);
    text_pend_drop(t, 1);
    buf_trim(&t->pchain);
    text_cache_clear(&t->cache);
    buf_trim(&t->chain);
    buf_trim(&t->wbuf);
    buf_trim(&t->rbuf);
}

const TextStats *text_stats(const TextStore *t) { return &t->stats; }

void text_get_tuning(const TextStore *t, TextTuning *out) { *out = t->tune; }

void text_set_tuning(TextStore *t, const TextTuning *tu)
{
    if (tu) t->tune = *tu;
    else tune_defaults(&t->tune);
    if (t->tune.min_depth < 1) t->tune.min_depth = 1;
    if (t->tune.pack_depth < 1) t->tune.pack_depth = 1;
    if (t->tune.pack_depth > TEXT_MAX_DEPTH) t->tune.pack_depth = TEXT_MAX_DEPTH;
    text_reset(t);
    t->cache.cap = t->tune.cache_bytes;
}

static void end_call(TextStore *t)
{
    buf_trim(&t->chain);
    buf_trim(&t->pchain);
    buf_trim(&t->wbuf);
    buf_trim(&t->rbuf);
}

/* ---- text_put ------------------------------------------------------------------------------ */

static int do_delete(TextStore *t, int64_t page, int64_t rev, unsigned slot, ErrorInfo *err);

/* Write an Equal entry of (page, rev, slot) pointing at target. */
static int write_equal(TextStore *t, int64_t page, int64_t rev, unsigned slot, int64_t target,
                       uint64_t len, uint32_t crc, ErrorInfo *err)
{
    uint8_t e[ENTRY_HDR_MAX + VARINT_MAX], key[TEXT_KEY_LEN];
    size_t n = hdr_put(e, TEXT_EQUAL, 0, rev, target);
    n += varint_put(e + n, len);
    put_u32(e + n, crc);
    n += 4;
    text_key(key, page, rev, slot);
    int rc = text_entry_write(t, key, e, n);
    return rc ? text_store_fail(t, err, rc, page, rev, slot) : DUMP_OK;
}

/* An earlier text of the slot with exactly these bytes, or INT64_MIN. */
static int find_equal(TextStore *t, const SlotState *ss, int64_t page, int64_t rev, unsigned slot,
                      const uint8_t *text, size_t len, uint32_t crc, int64_t *target, ErrorInfo *err)
{
    *target = INT64_MIN;
    int64_t cand = tw_eq_find(ss, len, crc);
    if (cand == INT64_MIN || cand >= rev) return DUMP_OK;
    const uint8_t *p;
    size_t n;
    int rc = text_load(t, page, cand, slot, &p, &n, err);
    if (rc) return rc;
    if (n == len && (len == 0 || memcmp(p, text, len) == 0)) *target = cand;
    return DUMP_OK;
}

/* The entry of text against ch's base (or Raw) in t->wbuf. */
static int encode_choice(TextStore *t, int64_t page, int64_t rev, unsigned slot, const uint8_t *text,
                         size_t len, const Choice *ch, int *kind, unsigned *depth, ErrorInfo *err)
{
    const PathEnt *base = ch->from ? &ch->from->path[ch->keep - 1] : NULL;
    const uint8_t *btext = NULL;
    size_t blen = 0;
    int rc;
    if (base && (rc = text_load(t, page, base->rev, slot, &btext, &blen, err))) return rc;
    *depth = base ? base->depth + 1 : 0;
    rc = encode_entry(t, rev, text, len, base ? base->rev : 0, btext, blen, *depth, kind, err);
    if (rc) return text_fail(err, rc, page, rev, slot, "encoding: %s", err->msg);
    return DUMP_OK;
}

int text_put(TextStore *t, int64_t page, int64_t rev, unsigned slot,
             const uint8_t *text, size_t len, ErrorInfo *err)
{
    int rc;
    if (len > CODEC_MAX_RAW)
        return text_fail(err, DUMP_INVALID, page, rev, slot, "%zu bytes exceed the limit of %zu", len, CODEC_MAX_RAW);
    if (slot > 255) return text_fail(err, DUMP_INVALID, page, rev, slot, "slot index over 255");
    if (len && !text) return text_fail(err, DUMP_INVALID, page, rev, slot, "NULL text");
    if (t->pend_slots && t->pend_page != page && (rc = text_flush(t, err))) goto done;
    if ((rc = tw_page_load(t, page, err))) goto done;
    SlotState *ss = tw_slot_get(t, slot);
    if (!ss) {
        rc = text_fail(err, DUMP_NOMEM, page, rev, slot, "out of memory");
        goto done;
    }
    uint32_t crc = codec_crc32(text, len);
    /* a replacement or an out-of-order text sees the tree complete */
    if (rev <= ss->newest && t->pend_slots) {
        if ((rc = text_flush(t, err))) goto done;
        if (!(ss = tw_slot_get(t, slot))) {
            rc = text_fail(err, DUMP_NOMEM, page, rev, slot, "out of memory");
            goto done;
        }
    }

    if (rev <= ss->newest) {           /* maybe a replacement */
        Hdr h;
        rc = text_read_meta(t, page, rev, slot, &h, err);
        if (rc == DUMP_OK && h.len == len && h.crc == crc) {
            const uint8_t *old;
            size_t n;
            if ((rc = text_load(t, page, rev, slot, &old, &n, err))) goto done;
            if (len == 0 || memcmp(old, text, len) == 0) goto done;    /* same text */
        }
        if (rc == DUMP_OK) {
            if ((rc = do_delete(t, page, rev, slot, err)) || (rc = tw_page_load(t, page, err))) goto done;
            if (!(ss = tw_slot_get(t, slot))) {
                rc = text_fail(err, DUMP_NOMEM, page, rev, slot, "out of memory");
                goto done;
            }
        } else if (rc != DUMP_NOTFOUND) {
            goto done;
        }
    }
    int in_order = rev > ss->newest;
    t->stats.in_bytes += len;

    int64_t target;
    if ((rc = find_equal(t, ss, page, rev, slot, text, len, crc, &target, err))) goto done;
    if (target != INT64_MIN) {
        if ((rc = write_equal(t, page, rev, slot, target, len, crc, err))) goto done;
        t->stats.equal++;
        if (in_order) {
            ss->newest = rev;
            Node *tn = tw_win_find(ss, target);
            if (tn) ss->latest = tn;
        }
        goto done;
    }
    if (t->cfg.packed && in_order) {
        if ((rc = text_pend_add(t, page, rev, slot, text, len, crc, err))) goto done;
        tw_eq_put(ss, len, crc, rev);
        ss->newest = rev;
        goto done;
    }

    /* The staircase's base; when it is a poor one (no base fits the size
     * band, or the delta came out large: a revert of vandalism, an edit
     * war), a similar earlier text may do better: try it, keep the smaller. */
    Sketch sk = { 0 };
    Choice ch = { 0 };
    int full = 0, kind;
    unsigned depth;
    int sim = in_order && t->tune.similarity;
    if (in_order) tw_structural_base(t, ss, len, &ch, &full);
    if (sim && !full && !ch.from) tw_similar_base(t, ss, page, slot, text, len, &sk, &ch);
    if ((rc = encode_choice(t, page, rev, slot, text, len, &ch, &kind, &depth, err))) goto fail_sk;
    if (sim && !full && kind == TEXT_DELTA && t->wbuf.n > len / 16 + 64) {
        Choice alt = ch;
        if (tw_similar_base(t, ss, page, slot, text, len, &sk, &alt)) {
            Buf first = t->wbuf;
            int kind2;
            unsigned depth2;
            t->wbuf = t->rbuf;
            t->rbuf = first;
            t->stats.similar_tries++;
            if ((rc = encode_choice(t, page, rev, slot, text, len, &alt, &kind2, &depth2, err))) goto fail_sk;
            if (t->wbuf.n < t->rbuf.n) {
                ch = alt;
                kind = kind2;
                depth = depth2;
                t->stats.similar_wins++;
            } else {
                first = t->wbuf;
                t->wbuf = t->rbuf;
                t->rbuf = first;
            }
        }
    }
    uint8_t key[TEXT_KEY_LEN];
    text_key(key, page, rev, slot);
    if ((rc = text_entry_write(t, key, t->wbuf.p, t->wbuf.n))) {
        rc = text_store_fail(t, err, rc, page, rev, slot);
        goto fail_sk;
    }
    if (kind == TEXT_DELTA) t->stats.delta++;
    else t->stats.raw++;
    if (in_order) {
        tw_eq_put(ss, len, crc, rev);
        ss->newest = rev;
        Node *n = kind == TEXT_DELTA ? tw_node_make(ch.from->path, ch.keep, rev, len, crc, depth, ch.head)
                                     : tw_node_make(NULL, 0, rev, len, crc, 0, 0);
        if (n) {
            n->sk = sk;
            sk = (Sketch){ 0 };
            tw_win_push(ss, n);
        } else {
            tw_page_drop(t);      /* rebuilt from the tree on the next put */
        }
        text_cache_put(&t->cache, page, rev, slot, kind == TEXT_DELTA ? depth : 0, text, len);
    } else if (tw_eq_find(ss, len, crc) == INT64_MIN) {
        tw_eq_put(ss, len, crc, rev);
    }
fail_sk:
    tw_sketch_free(&sk);
done:
    if (rc) tw_page_drop(t);
    end_call(t);
    return rc;
}

int text_get(TextStore *t, int64_t page, int64_t rev, unsigned slot,
             const uint8_t **text, size_t *len, ErrorInfo *err)
{
    if (slot > 255) {
        *text = NULL;
        *len = 0;
        return text_fail(err, DUMP_NOTFOUND, page, rev, slot, "no such text");
    }
    return text_load(t, page, rev, slot, text, len, err);
}

/* ---- deleting --------------------------------------------------------------------------------
 * Dependants of a deleted text X (all later in the same page and slot):
 * Equals to X and Deltas against X. The first Equal, E1, takes over X's
 * entry unchanged but for the reference distance (same text, same base);
 * later Equals point at E1, Deltas after E1 take E1 as base (header change
 * only). Deltas before E1 are re-encoded: against X's base if X was a
 * Delta (shallower than X, so depths stay valid), else the first becomes
 * Raw and the others Deltas against it. Depths never grow. */

typedef struct Dep {
    int64_t rev;
    Hdr h;
} Dep;

typedef struct DepList {
    Dep *d;
    size_t n, cap;
} DepList;

static int dep_add(DepList *l, int64_t rev, const Hdr *h)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        Dep *d = realloc(l->d, cap * sizeof *d);
        if (!d) return DUMP_NOMEM;
        l->d = d;
        l->cap = cap;
    }
    l->d[l->n++] = (Dep){ rev, *h };
    return DUMP_OK;
}

static int find_dependants(TextStore *t, int64_t page, int64_t rev, unsigned slot, DepList *eqs,
                           DepList *deltas, ErrorInfo *err)
{
    StoreCursor *c;
    uint8_t key[TEXT_KEY_LEN];
    int rc = store_cursor_open(t->s, t->tree, &c);
    if (rc) return text_store_fail(t, err, rc, page, rev, slot);
    text_key(key, page, rev, slot);
    rc = store_cursor_seek_bytes(c, key, TEXT_KEY_LEN, STORE_SEEK_GE);
    if (rc == DUMP_OK) rc = store_cursor_next(c);          /* past X itself */
    for (; rc == DUMP_OK; rc = store_cursor_next(c)) {
        const uint8_t *k, *v;
        size_t kl, vl;
        if ((rc = store_cursor_key_bytes(c, &k, &kl)) || (rc = store_cursor_value(c, &v, &vl))) break;
        if (kl < 8 || text_key_page(k) != page) break;
        if (kl != TEXT_KEY_LEN) {
            rc = text_fail(err, DUMP_CORRUPT, page, rev, slot, "key of %zu bytes in the text tree", kl);
            break;
        }
        if (k[16] != slot) continue;
        Hdr h;
        int64_t r = text_key_rev(k);
        const char *why = text_hdr_parse(v, vl, r, &h);
        if (why) {
            rc = text_fail(err, DUMP_CORRUPT, page, r, slot, "%s", why);
            break;
        }
        if ((h.kind == TEXT_DELTA || h.kind == TEXT_EQUAL) && h.ref == rev &&
            dep_add(h.kind == TEXT_EQUAL ? eqs : deltas, r, &h)) {
            rc = text_fail(err, DUMP_NOMEM, page, rev, slot, "out of memory");
            break;
        }
    }
    store_cursor_close(c);
    if (rc == DUMP_NOTFOUND) return DUMP_OK;
    if (rc != DUMP_OK && rc != DUMP_CORRUPT && rc != DUMP_NOMEM) return text_store_fail(t, err, rc, page, rev, slot);
    return rc;
}

/* Replace the entry at `rev` by one of kind/depth referring to ref, whose
 * codec frame is frame[0..n). */
static int rewrite(TextStore *t, int64_t page, int64_t rev, unsigned slot, int kind, unsigned depth,
                   int64_t ref, const uint8_t *frame, size_t n, ErrorInfo *err)
{
    uint8_t hdr[ENTRY_HDR_MAX], key[TEXT_KEY_LEN];
    size_t hl = hdr_put(hdr, kind, depth, rev, ref);
    t->wbuf.n = 0;
    if (text_buf_add(&t->wbuf, hdr, hl) || text_buf_add(&t->wbuf, frame, n))
        return text_fail(err, DUMP_NOMEM, page, rev, slot, "out of memory");
    text_key(key, page, rev, slot);
    int rc = text_entry_delete(t, key);
    if (rc == DUMP_OK) rc = text_entry_write(t, key, t->wbuf.p, t->wbuf.n);
    return rc ? text_store_fail(t, err, rc, page, rev, slot) : DUMP_OK;
}

/* Read the whole entry of rev into t->rbuf and parse it. */
static int read_entry(TextStore *t, int64_t page, int64_t rev, unsigned slot, Hdr *h, ErrorInfo *err)
{
    uint8_t key[TEXT_KEY_LEN];
    const char *why = "damaged";
    text_key(key, page, rev, slot);
    t->rbuf.n = 0;
    int rc = text_entry_read(t, key, &t->rbuf, &why);
    if (rc == DUMP_NOTFOUND) return rc;
    if (rc == DUMP_CORRUPT) return text_fail(err, rc, page, rev, slot, "%s", why);
    if (rc == DUMP_NOMEM) return text_fail(err, rc, page, rev, slot, "out of memory");
    if (rc) return text_store_fail(t, err, rc, page, rev, slot);
    if ((why = text_hdr_parse(t->rbuf.p, t->rbuf.n, rev, h)) != NULL)
        return text_fail(err, DUMP_CORRUPT, page, rev, slot, "%s", why);
    return DUMP_OK;
}

/* Re-encode the Deltas against X that precede E1 (all of them without E1). */
static int reencode(TextStore *t, int64_t page, unsigned slot, const Hdr *x, const DepList *deltas,
                    int64_t e1, ErrorInfo *err)
{
    Buf dt = { 0 }, bt = { 0 };
    int64_t base = x->kind == TEXT_DELTA ? x->ref : INT64_MIN;
    int rc = DUMP_OK;
    if (base != INT64_MIN && (rc = load_copy(t, page, base, slot, &bt, err)) == DUMP_NOTFOUND)
        rc = text_fail(err, DUMP_CORRUPT, page, base, slot, "missing, yet the base of a deleted text");
    for (size_t i = 0; i < deltas->n && rc == DUMP_OK; i++) {
        const Dep *d = &deltas->d[i];
        if (e1 != INT64_MIN && d->rev > e1) continue;
        if ((rc = load_copy(t, page, d->rev, slot, &dt, err))) break;
        int kind;
        rc = encode_entry(t, d->rev, dt.p, dt.n, base, base != INT64_MIN ? bt.p : NULL, bt.n,
                          d->h.depth, &kind, err);
        if (rc) {
            rc = text_fail(err, rc, page, d->rev, slot, "re-encoding: %s", err->msg);
            break;
        }
        uint8_t key[TEXT_KEY_LEN];
        text_key(key, page, d->rev, slot);
        if ((rc = text_entry_delete(t, key)) || (rc = text_entry_write(t, key, t->wbuf.p, t->wbuf.n))) {
            rc = text_store_fail(t, err, rc, page, d->rev, slot);
            break;
        }
        t->stats.reencoded++;
        if (base == INT64_MIN) {      /* X was Raw: the first dependant is the new root */
            base = d->rev;
            Buf tmp = bt;
            bt = dt;
            dt = tmp;
        }
    }
    text_buf_free(&dt);
    text_buf_free(&bt);
    return rc;
}

static int do_delete(TextStore *t, int64_t page, int64_t rev, unsigned slot, ErrorInfo *err)
{
    Hdr x;
    DepList eqs = { 0 }, deltas = { 0 };
    uint8_t key[TEXT_KEY_LEN];
    int rc = read_entry(t, page, rev, slot, &x, err);
    tw_page_drop(t);
    if (rc == DUMP_NOTFOUND) return text_fail(err, rc, page, rev, slot, "no such text");
    if (rc) return rc;
    if (x.kind == TEXT_PACK || x.kind == TEXT_PACKED) {
        rc = text_pack_delete(t, page, rev, slot, &x, err);
        text_cache_clear(&t->cache);
        tw_page_drop(t);
        return rc;
    }
    if (x.kind != TEXT_EQUAL && (rc = find_dependants(t, page, rev, slot, &eqs, &deltas, err))) goto out;
    int64_t e1 = eqs.n ? eqs.d[0].rev : INT64_MIN;
    /* Decode what needs it while X is still there. */
    if (deltas.n && (rc = reencode(t, page, slot, &x, &deltas, e1, err))) goto out;
    if (eqs.n) {
        if ((rc = read_entry(t, page, rev, slot, &x, err))) goto out;   /* X's frame, again */
        Buf frame = t->rbuf;
        t->rbuf = (Buf){ 0 };
        rc = rewrite(t, page, e1, slot, x.kind, x.depth, x.ref, frame.p + x.body, frame.n - x.body, err);
        text_buf_free(&frame);
        if (rc) goto out;
        for (size_t i = 1; i < eqs.n && rc == DUMP_OK; i++) {
            uint8_t e[VARINT_MAX + 4];
            size_t n = varint_put(e, eqs.d[i].h.len);
            put_u32(e + n, eqs.d[i].h.crc);
            rc = rewrite(t, page, eqs.d[i].rev, slot, TEXT_EQUAL, 0, e1, e, n + 4, err);
        }
        for (size_t i = 0; i < deltas.n && rc == DUMP_OK; i++) {
            const Dep *d = &deltas.d[i];
            if (d->rev < e1) continue;
            if ((rc = read_entry(t, page, d->rev, slot, &x, err))) break;
            Buf frame = t->rbuf;
            t->rbuf = (Buf){ 0 };
            rc = rewrite(t, page, d->rev, slot, TEXT_DELTA, x.depth, e1, frame.p + x.body,
                         frame.n - x.body, err);
            text_buf_free(&frame);
        }
        if (rc) goto out;
    }
    text_key(key, page, rev, slot);
    if ((rc = text_entry_delete(t, key))) rc = text_store_fail(t, err, rc, page, rev, slot);
out:
    cache_drop(&t->cache, page, rev, slot);
    tw_page_drop(t);
    free(eqs.d);
    free(deltas.d);
    return rc;
}

int text_delete(TextStore *t, int64_t page, int64_t rev, unsigned slot, ErrorInfo *err)
{
    if (slot > 255) return text_fail(err, DUMP_NOTFOUND, page, rev, slot, "no such text");
    int rc = text_flush(t, err);
    if (rc == DUMP_OK) rc = do_delete(t, page, rev, slot, err);
    end_call(t);
    return rc;
}

int text_delete_page(TextStore *t, int64_t page, ErrorInfo *err)
{
    StoreCursor *c;
    uint8_t start[TEXT_KEY_LEN];
    int rc = text_flush(t, err);
    if (rc) return rc;
    if ((rc = store_cursor_open(t->s, t->tree, &c))) return text_store_fail(t, err, rc, page, 0, 0);
    text_key(start, page, INT64_MIN, 0);
    for (;;) {
        const uint8_t *k;
        size_t kl;
        uint8_t key[TEXT_KEY_LEN];
        if ((rc = store_cursor_seek_bytes(c, start, TEXT_KEY_LEN, STORE_SEEK_GE))) break;
        if ((rc = store_cursor_key_bytes(c, &k, &kl))) break;
        if (kl < 8 || text_key_page(k) != page) break;
        if (kl != TEXT_KEY_LEN) {
            rc = text_fail(err, DUMP_CORRUPT, page, 0, 0, "key of %zu bytes in the text tree", kl);
            break;
        }
        memcpy(key, k, TEXT_KEY_LEN);
        if ((rc = text_entry_delete(t, key))) break;
    }
    store_cursor_close(c);
    if (rc == DUMP_NOTFOUND) rc = DUMP_OK;
    else if (rc != DUMP_OK && rc != DUMP_CORRUPT) rc = text_store_fail(t, err, rc, page, 0, 0);
    tw_page_drop(t);
    text_cache_clear(&t->cache);
    end_call(t);
    return rc;
}

/* ---- checking ---------------------------------------------------------------------------------- */

/* Pieces of the entry at key: none may be missing or left over. */
static int check_pieces(TextStore *t, const uint8_t key[TEXT_KEY_LEN], size_t first, ErrorInfo *err)
{
    int64_t page = text_key_page(key), rev = text_key_rev(key);
    unsigned slot = key[16];
    if (!t->cfg.piece_tree) return DUMP_OK;
    StoreCursor *c;
    uint8_t pk[PIECE_KEY_LEN];
    int rc = store_cursor_open(t->s, t->cfg.piece_tree, &c);
    if (rc) return text_store_fail(t, err, rc, page, rev, slot);
    piece_key(pk, key, 0);
    rc = store_cursor_seek_bytes(c, pk, PIECE_KEY_LEN, STORE_SEEK_GE);
    uint32_t want = 1;
    size_t last = first;
    for (; rc == DUMP_OK; rc = store_cursor_next(c), want++) {
        const uint8_t *k, *v;
        size_t kl, vl;
        if ((rc = store_cursor_key_bytes(c, &k, &kl)) || (rc = store_cursor_value(c, &v, &vl))) break;
        if (kl < TEXT_KEY_LEN || memcmp(k, key, TEXT_KEY_LEN) != 0) break;
        piece_key(pk, key, want);
        if (kl != PIECE_KEY_LEN || memcmp(k, pk, PIECE_KEY_LEN) != 0 || last != TEXT_PIECE) {
            store_cursor_close(c);
            return text_fail(err, DUMP_CORRUPT, page, rev, slot, "stray or misplaced piece");
        }
        last = vl;
    }
    store_cursor_close(c);
    if (rc != DUMP_OK && rc != DUMP_NOTFOUND) return text_store_fail(t, err, rc, page, rev, slot);
    return DUMP_OK;
}

/* Every piece in the piece tree under this page belongs to a text entry. */
static int check_orphans(TextStore *t, int64_t page, ErrorInfo *err)
{
    if (!t->cfg.piece_tree) return DUMP_OK;
    StoreCursor *c;
    uint8_t key[TEXT_KEY_LEN], last[TEXT_KEY_LEN];
    int have_last = 0;
    int rc = store_cursor_open(t->s, t->cfg.piece_tree, &c);
    if (rc) return text_store_fail(t, err, rc, page, 0, 0);
    text_key(key, page, INT64_MIN, 0);
    for (rc = store_cursor_seek_bytes(c, key, TEXT_KEY_LEN, STORE_SEEK_GE); rc == DUMP_OK;
         rc = store_cursor_next(c)) {
        const uint8_t *k, *v;
        size_t kl, vl;
        if ((rc = store_cursor_key_bytes(c, &k, &kl))) break;
        if (kl < 8 || text_key_page(k) != page) break;
        if (kl != PIECE_KEY_LEN) {
            store_cursor_close(c);
            return text_fail(err, DUMP_CORRUPT, page, 0, 0, "key of %zu bytes in the piece tree", kl);
        }
        if (have_last && memcmp(k, last, TEXT_KEY_LEN) == 0) continue;
        memcpy(last, k, TEXT_KEY_LEN);
        have_last = 1;
        rc = store_get_bytes(t->s, t->tree, last, TEXT_KEY_LEN, &v, &vl);
        if (rc == DUMP_NOTFOUND) {
            store_cursor_close(c);
            return text_fail(err, DUMP_CORRUPT, text_key_page(last), text_key_rev(last), last[16], "pieces without an entry");
        }
        if (rc) break;
    }
    store_cursor_close(c);
    if (rc != DUMP_OK && rc != DUMP_NOTFOUND) return text_store_fail(t, err, rc, page, 0, 0);
    return DUMP_OK;
}

int text_check_page(TextStore *t, int64_t page, uint64_t *count, uint64_t *bytes, ErrorInfo *err)
{
    StoreCursor *c;
    uint8_t key[TEXT_KEY_LEN];
    /* per slot, the pack being walked: its members follow its holder, and
     * no member of another pack comes between them */
    struct { int64_t hold; uint64_t want, seen; } pk[256];
    /* want == seen == 0: no pack open (any rev id, INT64_MIN too, may hold one) */
    memset(pk, 0, sizeof pk);
    int rc = text_flush(t, err);
    if (rc) return rc;
    if ((rc = store_cursor_open(t->s, t->tree, &c))) return text_store_fail(t, err, rc, page, 0, 0);
    text_key(key, page, INT64_MIN, 0);
    int failed = 0;      /* rc already carries a message */
    for (rc = store_cursor_seek_bytes(c, key, TEXT_KEY_LEN, STORE_SEEK_GE); rc == DUMP_OK;
         rc = store_cursor_next(c)) {
        const uint8_t *k, *v;
        size_t kl, vl;
        if ((rc = store_cursor_key_bytes(c, &k, &kl)) || (rc = store_cursor_value(c, &v, &vl))) break;
        if (kl < 8 || text_key_page(k) != page) break;
        failed = 1;
        if (kl != TEXT_KEY_LEN) {
            rc = text_fail(err, DUMP_CORRUPT, page, 0, 0, "key of %zu bytes in the text tree", kl);
            break;
        }
        memcpy(key, k, TEXT_KEY_LEN);
        Hdr h;
        int64_t r = text_key_rev(key);
        unsigned sl = key[16];
        const char *why = text_hdr_parse(v, vl, r, &h);
        if (why) {
            rc = text_fail(err, DUMP_CORRUPT, page, r, sl, "%s", why);
            break;
        }
        if (h.kind == TEXT_PACK) {
            if (pk[sl].seen != pk[sl].want) {
                rc = text_fail(err, DUMP_CORRUPT, page, pk[sl].hold, sl, "pack of %" PRIu64 " texts has %" PRIu64,
                               pk[sl].want, pk[sl].seen);
                break;
            }
            pk[sl].hold = r;
            pk[sl].want = h.members;
            pk[sl].seen = 1;
        } else if (h.kind == TEXT_PACKED) {
            if (h.ref != pk[sl].hold || pk[sl].seen >= pk[sl].want) {
                rc = text_fail(err, DUMP_CORRUPT, page, r, sl, "member of pack rev %" PRId64 " out of place", h.ref);
                break;
            }
            pk[sl].seen++;
        }
        /* The cursor re-finds its place by key after the reads below. */
        if ((rc = check_pieces(t, key, vl, err))) break;
        const uint8_t *p;
        size_t n;
        t->skip_cache_once = 1;
        if ((rc = text_load(t, page, text_key_rev(key), key[16], &p, &n, err))) break;
        (*count)++;
        *bytes += n;
        failed = 0;
    }
    store_cursor_close(c);
    if (rc == DUMP_NOTFOUND) rc = DUMP_OK;
    else if (rc != DUMP_OK && !failed) rc = text_store_fail(t, err, rc, page, 0, 0);
    for (int i = 0; i < 256 && rc == DUMP_OK; i++)
        if (pk[i].seen != pk[i].want)
            rc = text_fail(err, DUMP_CORRUPT, page, pk[i].hold, (unsigned)i, "pack of %" PRIu64 " texts has %" PRIu64,
                           pk[i].want, pk[i].seen);
    if (rc == DUMP_OK) rc = check_orphans(t, page, err);
    end_call(t);
    return rc;
}
