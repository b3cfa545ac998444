/*
 * dump_text_pack.c -- the packed layout of revision texts: consecutive
 * texts of one page and slot in one codec frame (a *pack*, held by the
 * entry of its first text, TEXT_PACK; the others are TEXT_PACKED entries
 * naming it), each pack compressed against the previous pack's last text
 * with the chain of packs bounded in depth (docs/format.md "Text storage",
 * "Packs"). Buffering of a page's in-order texts, writing packs, reading a
 * text through its chain of packs, and deleting a packed text.
 *
 * Dump layer (8), internal, third part of text storage (dump_text_int.h):
 * calls the public Store API, codec and dump_text.c's entry and cache
 * functions. Invariants: a pack's prefix is a text of an earlier pack of
 * the same page and slot whose depth is lower; a packed text is handed out
 * only after every frame of its chain passed its checks and its own length
 * and CRC-32 matched; decoded packs are cached under (page, holder rev,
 * slot + PACK_CACHE_SLOT) and the cache is emptied whenever a pack changes.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "codec.h"
#include "dump_text_int.h"

#define PACK_HDR_MAX (1 + 4 * VARINT_MAX + 4)
#define PEND_KEEP    ((size_t)16 << 20)   /* buffer larger than this is freed once written */

/* ---- entries ------------------------------------------------------------------ */

/* The fields of a Pack or Packed entry after its kind byte (h->kind set,
 * the rest zero). p[0..n) may be a first piece only. */
const char *text_pack_hdr_parse(const uint8_t *p, size_t n, int64_t rev, Hdr *h)
{
    const uint8_t *end = p + n, *q = p + 1;
    uint64_t v;
    size_t k;
    if (h->kind == TEXT_PACK) {
        if (!(k = varint_get(q, end, &v)) || v > TEXT_MAX_DEPTH) return "bad pack depth";
        h->depth = (unsigned)v;
        q += k;
    }
    if (h->kind == TEXT_PACKED || h->depth > 0) {
        const char *why = text_ref_get(&q, end, rev, &h->ref);
        if (why) return why;
    }
    if (h->kind == TEXT_PACKED) {
        if (!(k = varint_get(q, end, &h->off)) || h->off > CODEC_MAX_RAW) return "bad offset";
        q += k;
        if (!(k = varint_get(q, end, &h->len)) || h->len > CODEC_MAX_RAW - h->off) return "bad length";
        q += k;
        if (end - q != 4) return "bad Packed entry length";
        h->crc = get_u32(q);
        return NULL;
    }
    if (!(k = varint_get(q, end, &h->members)) || h->members < 1 || h->members > UINT32_MAX)
        return "bad member count";
    q += k;
    if (!(k = varint_get(q, end, &h->len)) || h->len > CODEC_MAX_RAW) return "bad length";
    q += k;
    if (end - q < 4) return "truncated Pack entry";
    h->crc = get_u32(q);
    q += 4;
    CodecFrameInfo fi;
    ErrorInfo scratch;
    if (codec_frame_info(q, (size_t)(end - q), &fi, &scratch)) return "bad text frame header";
    if (h->depth == 0 && (fi.flags & CODEC_F_PREFIX)) return "Pack of depth 0 with a prefix";
    if (h->len > fi.raw_len) return "first text outside its pack";
    h->body = (size_t)(q - p);
    return NULL;
}

static int codec_of(const TextStore *t) { return t->cfg.codec == DUMP_CODEC_XZ ? CODEC_XZ : CODEC_ZSTD; }

/* A frame of raw: against pre (if has_pre) or the dictionary; stored when
 * compression does not make it smaller. Borrowed from t->codec. */
static int pack_frame(TextStore *t, const uint8_t *raw, size_t n, int has_pre, const uint8_t *pre,
                      size_t plen, const uint8_t **frame, size_t *flen, ErrorInfo *err)
{
    int rc;
    if (has_pre)
        rc = codec_encode(t->codec, codec_of(t), t->cfg.level, pre, plen, NULL, 0, raw, n, frame, flen, err);
    else
        rc = codec_encode(t->codec, codec_of(t), t->cfg.level, NULL, 0, t->dict, t->cfg.dict_len, raw, n,
                          frame, flen, err);
    if (rc == DUMP_OK && *flen >= 1 + CODEC_HEADER_MAX + n)
        rc = codec_encode(t->codec, CODEC_STORED, 0, NULL, 0, NULL, 0, raw, n, frame, flen, err);
    return rc;
}

/* Replace whatever is at (page, rev, slot) by p[0..n). */
static int put_entry(TextStore *t, int64_t page, int64_t rev, unsigned slot, const uint8_t *p, size_t n,
                     ErrorInfo *err)
{
    uint8_t key[TEXT_KEY_LEN];
    text_key(key, page, rev, slot);
    int rc = text_entry_delete(t, key);
    if (rc == DUMP_OK || rc == DUMP_NOTFOUND) rc = text_entry_write(t, key, p, n);
    return rc ? text_store_fail(t, err, rc, page, rev, slot) : DUMP_OK;
}

/* Write the Pack entry of holder: depth, prefix (when depth > 0, with its
 * text pre), members, the first text's length and CRC-32, the frame of raw. */
static int write_holder(TextStore *t, int64_t page, int64_t holder, unsigned slot, unsigned depth,
                        int64_t prefix, const uint8_t *pre, size_t plen, uint64_t members,
                        uint64_t len0, uint32_t crc0, const uint8_t *raw, size_t rawlen, ErrorInfo *err)
{
    const uint8_t *frame;
    size_t flen;
    int rc = pack_frame(t, raw, rawlen, depth > 0, pre, plen, &frame, &flen, err);
    if (rc) return text_fail(err, rc, page, holder, slot, "encoding a pack: %s", err->msg);
    uint8_t h[PACK_HDR_MAX];
    size_t hl = 0;
    h[hl++] = TEXT_PACK;
    hl += varint_put(h + hl, depth);
    if (depth > 0) hl += varint_put(h + hl, (uint64_t)holder - (uint64_t)prefix);
    hl += varint_put(h + hl, members);
    hl += varint_put(h + hl, len0);
    put_u32(h + hl, crc0);
    hl += 4;
    t->wbuf.n = 0;
    if (text_buf_add(&t->wbuf, h, hl) || text_buf_add(&t->wbuf, frame, flen))
        return text_fail(err, DUMP_NOMEM, page, holder, slot, "out of memory");
    return put_entry(t, page, holder, slot, t->wbuf.p, t->wbuf.n, err);
}

/* Write a pack of the texts e[0..n) (offsets into raw) and its members. */
static int write_pack(TextStore *t, int64_t page, unsigned slot, const PendEnt *e, size_t n,
                      const uint8_t *raw, size_t rawlen, unsigned depth, int64_t prefix,
                      const uint8_t *pre, size_t plen, ErrorInfo *err)
{
    int64_t holder = e[0].rev;
    int rc = write_holder(t, page, holder, slot, depth, prefix, pre, plen, n, e[0].len, e[0].crc, raw,
                          rawlen, err);
    for (size_t i = 1; i < n && rc == DUMP_OK; i++) {
        uint8_t m[PACK_HDR_MAX];
        size_t ml = 0;
        m[ml++] = TEXT_PACKED;
        ml += varint_put(m + ml, (uint64_t)e[i].rev - (uint64_t)holder);
        ml += varint_put(m + ml, e[i].off);
        ml += varint_put(m + ml, e[i].len);
        put_u32(m + ml, e[i].crc);
        ml += 4;
        rc = put_entry(t, page, e[i].rev, slot, m, ml, err);
    }
    return rc;
}

/* ---- reading --------------------------------------------------------------------- */

typedef struct PLink {
    int64_t rev;            /* the holder */
    size_t off, n;          /* its entry in t->pchain */
    Hdr h;
    uint64_t poff, plen;    /* its prefix: a slice of the raw bytes of the next link */
    uint32_t pcrc;
} PLink;

/* The pack holding the text at rev and where it is in it. */
static int member_of(TextStore *t, int64_t page, int64_t rev, unsigned slot, int64_t asked, int64_t *holder,
                     uint64_t *off, uint64_t *len, uint32_t *crc, ErrorInfo *err)
{
    Hdr h;
    int rc = text_read_meta(t, page, rev, slot, &h, err);
    if (rc == DUMP_NOTFOUND)
        return text_fail(err, DUMP_CORRUPT, page, asked, slot, "prefix rev %" PRId64 " is missing", rev);
    if (rc) {              /* its message names the prefix: name the text asked for first */
        char detail[sizeof err->msg];
        snprintf(detail, sizeof detail, "%s", err->msg);
        return text_fail(err, rc, page, asked, slot, "prefix: %s", detail);
    }
    if (h.kind != TEXT_PACK && h.kind != TEXT_PACKED)
        return text_fail(err, DUMP_CORRUPT, page, asked, slot, "prefix rev %" PRId64 " is not a packed text", rev);
    *holder = h.kind == TEXT_PACK ? rev : h.ref;
    *off = h.kind == TEXT_PACK ? 0 : h.off;
    *len = h.len;
    *crc = h.crc;
    return DUMP_OK;
}

/* The raw bytes of the pack held at holder, decoded through its chain of
 * prefix packs (each cached). skip: not this pack from the cache. */
static int pack_raw(TextStore *t, int64_t page, int64_t holder, unsigned slot, int skip, int64_t asked,
                    const uint8_t **raw, size_t *rawlen, ErrorInfo *err)
{
    PLink links[MAX_LINKS];
    unsigned nl = 0;
    const CEnt *start = NULL;
    uint8_t key[TEXT_KEY_LEN];
    const char *why = NULL;
    int rc;
    t->pchain.n = 0;
    for (int64_t cur = holder;;) {
        if (!(nl == 0 && skip) && (start = text_cache_find(&t->cache, page, cur, slot + PACK_CACHE_SLOT))) break;
        text_key(key, page, cur, slot);
        size_t off = t->pchain.n;
        rc = text_entry_read(t, key, &t->pchain, &why);
        if (rc == DUMP_NOTFOUND)
            return text_fail(err, DUMP_CORRUPT, page, asked, slot, "pack rev %" PRId64 " is missing", cur);
        if (rc == DUMP_CORRUPT)
            return text_fail(err, rc, page, asked, slot, "pack rev %" PRId64 ": %s", cur, why);
        if (rc == DUMP_NOMEM) return text_fail(err, rc, page, asked, slot, "out of memory");
        if (rc) return text_store_fail(t, err, rc, page, asked, slot);
        Hdr h;
        if ((why = text_hdr_parse(t->pchain.p + off, t->pchain.n - off, cur, &h)) != NULL)
            return text_fail(err, DUMP_CORRUPT, page, asked, slot, "pack rev %" PRId64 ": %s", cur, why);
        if (h.kind != TEXT_PACK)
            return text_fail(err, DUMP_CORRUPT, page, asked, slot, "rev %" PRId64 " holds no pack", cur);
        if (nl > 0 && h.depth >= links[nl - 1].h.depth)
            return text_fail(err, DUMP_CORRUPT, page, asked, slot, "prefix pack rev %" PRId64
                             " has depth %u, not below %u", cur, h.depth, links[nl - 1].h.depth);
        if (nl == MAX_LINKS)
            return text_fail(err, DUMP_CORRUPT, page, asked, slot, "chain of packs longer than %d", MAX_LINKS);
        PLink *l = &links[nl++];
        *l = (PLink){ cur, off, t->pchain.n - off, h, 0, 0, 0 };
        if (h.depth == 0) break;
        if ((rc = member_of(t, page, h.ref, slot, asked, &cur, &l->poff, &l->plen, &l->pcrc, err))) return rc;
    }
    if (start && nl > 0 && start->depth >= links[nl - 1].h.depth)
        return text_fail(err, DUMP_CORRUPT, page, asked, slot, "prefix pack rev %" PRId64
                         " has depth %u, not below %u", start->rev, start->depth, links[nl - 1].h.depth);
    const uint8_t *r = start ? start->data : NULL;
    size_t rl = start ? start->len : 0;
    for (unsigned i = nl; i-- > 0;) {
        const PLink *l = &links[i];
        const uint8_t *pre = NULL;
        size_t plen = 0;
        if (l->h.depth > 0) {
            if (l->poff > rl || l->plen > rl - l->poff)
                return text_fail(err, DUMP_CORRUPT, page, asked, slot, "prefix of pack rev %" PRId64
                                 " lies outside its pack", l->rev);
            plen = (size_t)l->plen;
            pre = plen ? r + l->poff : NULL;
            if (codec_crc32(pre, plen) != l->pcrc)
                return text_fail(err, DUMP_CORRUPT, page, asked, slot, "prefix of pack rev %" PRId64
                                 ": CRC-32 mismatch", l->rev);
        }
        rc = codec_decode(t->codec, t->pchain.p + l->off + l->h.body, l->n - l->h.body, pre, plen, t->dict,
                          t->cfg.dict_len, &r, &rl, err);
        if (rc) {
            char detail[sizeof err->msg];
            snprintf(detail, sizeof detail, "%s", err->msg);
            return text_fail(err, rc, page, asked, slot, "pack rev %" PRId64 ": %s", l->rev, detail);
        }
        t->stats.decoded++;
        text_cache_put(&t->cache, page, l->rev, slot + PACK_CACHE_SLOT, l->h.depth, r, rl);
    }
    *raw = r;
    *rawlen = rl;
    return DUMP_OK;
}

int text_pack_text(TextStore *t, int64_t page, int64_t rev, unsigned slot, const Hdr *h, int skip,
                   int64_t asked, const uint8_t **out, size_t *outlen, ErrorInfo *err)
{
    int64_t holder = h->kind == TEXT_PACK ? rev : h->ref;
    uint64_t off = h->kind == TEXT_PACK ? 0 : h->off;
    const uint8_t *raw;
    size_t rl;
    /* check decodes each pack once, at its holder; members use it cached */
    int rc = pack_raw(t, page, holder, slot, skip && h->kind == TEXT_PACK, asked, &raw, &rl, err);
    if (rc) return rc;
    if (off > rl || h->len > rl - off)
        return text_fail(err, DUMP_CORRUPT, page, asked, slot, "text of rev %" PRId64 " lies outside its pack", rev);
    const uint8_t *p = h->len ? raw + off : raw;
    if (codec_crc32(p, (size_t)h->len) != h->crc)
        return text_fail(err, DUMP_CORRUPT, page, asked, slot, "text of rev %" PRId64 " in its pack: CRC-32 mismatch",
                         rev);
    *out = p;
    *outlen = (size_t)h->len;
    return DUMP_OK;
}

/* ---- buffering and writing ------------------------------------------------------- */

int text_pend_find(const TextStore *t, int64_t page, int64_t rev, unsigned slot, const uint8_t **p, size_t *n)
{
    if (!t->pend_slots || page != t->pend_page || slot > 255 || !t->pend[slot]) return 0;
    const Pend *pd = t->pend[slot];
    size_t lo = 0, hi = pd->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (pd->e[mid].rev < rev) lo = mid + 1;
        else hi = mid;
    }
    if (lo == pd->n || pd->e[lo].rev != rev) return 0;
    *p = pd->data.p + pd->e[lo].off;
    *n = pd->e[lo].len;
    return 1;
}

void text_pend_drop(TextStore *t, int free_all)
{
    for (int s = 0; s < 256; s++) {
        Pend *pd = t->pend[s];
        if (!pd) continue;
        if (free_all || pd->data.cap > PEND_KEEP) {
            text_buf_free(&pd->data);
            free(pd->e);
            free(pd);
            t->pend[s] = NULL;
        } else {
            pd->n = pd->data.n = 0;
        }
    }
    t->pend_slots = 0;
}

/* Write the buffered texts of one slot as a pack. */
static int flush_slot(TextStore *t, unsigned slot, ErrorInfo *err)
{
    Pend *pd = t->pend[slot];
    int64_t page = t->pend_page;
    int rc = tw_page_load(t, page, err);
    if (rc) return rc;
    SlotState *ss = tw_slot_get(t, slot);
    if (!ss) return text_fail(err, DUMP_NOMEM, page, pd->e[0].rev, slot, "out of memory");
    Buf pre = { 0 };
    unsigned depth = 0;
    int64_t prefix = INT64_MIN;
    if (ss->pk_last != INT64_MIN && ss->pk_depth + 1 < (unsigned)t->tune.pack_depth) {
        const uint8_t *p;
        size_t n;
        if ((rc = text_load(t, page, ss->pk_last, slot, &p, &n, err))) return rc;
        if (text_buf_add(&pre, p, n)) return text_fail(err, DUMP_NOMEM, page, ss->pk_last, slot, "out of memory");
        prefix = ss->pk_last;
        depth = ss->pk_depth + 1;
    }
    rc = write_pack(t, page, slot, pd->e, pd->n, pd->data.p, pd->data.n, depth, prefix, pre.p, pre.n, err);
    text_buf_free(&pre);
    if (rc) return rc;
    ss->pk_last = pd->e[pd->n - 1].rev;
    ss->pk_depth = depth;
    t->stats.packs++;
    t->stats.packed += pd->n;
    pd->n = pd->data.n = 0;
    if (pd->data.cap > PEND_KEEP) text_buf_free(&pd->data);
    t->pend_slots--;
    return DUMP_OK;
}

int text_pend_add(TextStore *t, int64_t page, int64_t rev, unsigned slot, const uint8_t *text, size_t len,
                  uint32_t crc, ErrorInfo *err)
{
    int rc;
    if (t->pend_slots && t->pend_page != page && (rc = text_flush(t, err))) return rc;
    Pend *pd = t->pend[slot];
    if (!pd && !(pd = t->pend[slot] = calloc(1, sizeof *pd)))
        return text_fail(err, DUMP_NOMEM, page, rev, slot, "out of memory");
    if (pd->n && (pd->data.n > t->tune.pack_bytes || len > t->tune.pack_bytes - pd->data.n) &&
        (rc = flush_slot(t, slot, err)))
        return rc;
    if (pd->n == pd->cap) {
        size_t cap = pd->cap ? pd->cap * 2 : 16;
        PendEnt *e = realloc(pd->e, cap * sizeof *e);
        if (!e) return text_fail(err, DUMP_NOMEM, page, rev, slot, "out of memory");
        pd->e = e;
        pd->cap = cap;
    }
    size_t off = pd->data.n;
    if (text_buf_add(&pd->data, text, len)) return text_fail(err, DUMP_NOMEM, page, rev, slot, "out of memory");
    pd->e[pd->n++] = (PendEnt){ rev, off, len, crc };
    if (pd->n == 1) t->pend_slots++;
    t->pend_page = page;
    return DUMP_OK;
}

int text_flush(TextStore *t, ErrorInfo *err)
{
    int rc = DUMP_OK;
    for (unsigned s = 0; s < 256 && t->pend_slots && rc == DUMP_OK; s++)
        if (t->pend[s] && t->pend[s]->n) rc = flush_slot(t, s, err);
    if (rc) text_pend_drop(t, 0);     /* the transaction is to be aborted */
    return rc;
}

/* ---- deleting ---------------------------------------------------------------------- */

typedef struct Deps {
    PendEnt *mem;           /* the pack's texts, in rev order (offsets in the old raw) */
    size_t nm, cm;
    int64_t *eq;            /* Equals to the deleted text */
    size_t ne, ce;
    int64_t *q;             /* packs with the deleted text as prefix */
    Hdr *qh;
    size_t nq, cq, cqh;
} Deps;

static int grow(void **p, size_t *cap, size_t n, size_t size)
{
    if (n < *cap) return 0;
    size_t c = *cap ? *cap * 2 : 16;
    void *q = realloc(*p, c * size);
    if (!q) return -1;
    *p = q;
    *cap = c;
    return 0;
}

/* Members of the pack at holder (hh its header), Equals to rev and packs
 * with rev as prefix: all later in the page and slot. */
static int scan_deps(TextStore *t, int64_t page, int64_t holder, const Hdr *hh, int64_t rev, unsigned slot,
                     Deps *d, ErrorInfo *err)
{
    StoreCursor *c;
    uint8_t key[TEXT_KEY_LEN];
    int rc = store_cursor_open(t->s, t->tree, &c);
    if (rc) return text_store_fail(t, err, rc, page, rev, slot);
    text_key(key, page, holder, slot);
    for (rc = store_cursor_seek_bytes(c, key, TEXT_KEY_LEN, STORE_SEEK_GE); rc == DUMP_OK; rc = store_cursor_next(c)) {
        const uint8_t *k, *v;
        size_t kl, vl;
        if ((rc = store_cursor_key_bytes(c, &k, &kl)) || (rc = store_cursor_value(c, &v, &vl))) break;
        if (kl < 8 || text_key_page(k) != page) break;
        if (kl != TEXT_KEY_LEN) {
            rc = text_fail(err, DUMP_CORRUPT, page, rev, slot, "key of %zu bytes in the text tree", kl);
            break;
        }
        if (k[16] != slot) continue;
        int64_t r = text_key_rev(k);
        Hdr h;
        const char *why = text_hdr_parse(v, vl, r, &h);
        if (why) {
            rc = text_fail(err, DUMP_CORRUPT, page, r, slot, "%s", why);
            break;
        }
        int nomem = 0;
        if (r == holder || (h.kind == TEXT_PACKED && h.ref == holder)) {
            if (!(nomem = grow((void **)&d->mem, &d->cm, d->nm, sizeof *d->mem)))
                d->mem[d->nm++] = (PendEnt){ r, r == holder ? 0 : h.off, h.len, h.crc };
        } else if (h.kind == TEXT_EQUAL && h.ref == rev) {
            if (!(nomem = grow((void **)&d->eq, &d->ce, d->ne, sizeof *d->eq))) d->eq[d->ne++] = r;
        } else if (h.kind == TEXT_PACK && h.depth > 0 && h.ref == rev) {
            nomem = grow((void **)&d->q, &d->cq, d->nq, sizeof *d->q) ||
                    grow((void **)&d->qh, &d->cqh, d->nq, sizeof *d->qh);
            if (!nomem) {
                d->q[d->nq] = r;
                d->qh[d->nq++] = h;
            }
        }
        if (nomem) {
            rc = text_fail(err, DUMP_NOMEM, page, rev, slot, "out of memory");
            break;
        }
    }
    store_cursor_close(c);
    if (rc == DUMP_NOTFOUND) rc = DUMP_OK;
    else if (rc != DUMP_OK && rc != DUMP_CORRUPT && rc != DUMP_NOMEM) rc = text_store_fail(t, err, rc, page, rev, slot);
    if (rc == DUMP_OK && hh->members != d->nm)
        rc = text_fail(err, DUMP_CORRUPT, page, holder, slot, "pack of %" PRIu64 " texts has %zu", hh->members, d->nm);
    return rc;
}

/* Copy the raw bytes of the pack at holder into b. */
static int raw_copy(TextStore *t, int64_t page, int64_t holder, unsigned slot, int64_t asked, Buf *b,
                    ErrorInfo *err)
{
    const uint8_t *p;
    size_t n;
    int rc = pack_raw(t, page, holder, slot, 0, asked, &p, &n, err);
    if (rc) return rc;
    b->n = 0;
    if (text_buf_add(b, p, n)) return text_fail(err, DUMP_NOMEM, page, asked, slot, "out of memory");
    return DUMP_OK;
}

int text_pack_delete(TextStore *t, int64_t page, int64_t rev, unsigned slot, const Hdr *x, ErrorInfo *err)
{
    int64_t holder = x->kind == TEXT_PACK ? rev : x->ref;
    Deps d = { 0 };
    Buf raw = { 0 }, pre = { 0 }, nraw = { 0 };
    Buf *qraw = NULL;
    Hdr hh;
    int rc = text_read_meta(t, page, holder, slot, &hh, err);
    if (rc == DUMP_NOTFOUND) rc = text_fail(err, DUMP_CORRUPT, page, rev, slot, "pack rev %" PRId64 " is missing", holder);
    if (rc == DUMP_OK && hh.kind != TEXT_PACK)
        rc = text_fail(err, DUMP_CORRUPT, page, rev, slot, "rev %" PRId64 " holds no pack", holder);
    if (rc || (rc = scan_deps(t, page, holder, &hh, rev, slot, &d, err))) goto out;
    size_t ix = 0;
    while (ix < d.nm && d.mem[ix].rev != rev) ix++;
    if (ix == d.nm) {
        rc = text_fail(err, DUMP_CORRUPT, page, rev, slot, "not in its pack");
        goto out;
    }

    /* Read everything while the pack and its dependants are intact. */
    if ((rc = raw_copy(t, page, holder, slot, rev, &raw, err))) goto out;
    for (size_t i = 0; i < d.nm; i++)
        if (d.mem[i].off > raw.n || d.mem[i].len > raw.n - d.mem[i].off) {
            rc = text_fail(err, DUMP_CORRUPT, page, d.mem[i].rev, slot, "lies outside its pack");
            goto out;
        }
    if (hh.depth > 0) {
        const uint8_t *p;
        size_t n;
        if ((rc = text_load(t, page, hh.ref, slot, &p, &n, err))) goto out;
        if (text_buf_add(&pre, p, n)) {
            rc = text_fail(err, DUMP_NOMEM, page, rev, slot, "out of memory");
            goto out;
        }
    }
    if (d.nq && !(qraw = calloc(d.nq, sizeof *qraw))) {
        rc = text_fail(err, DUMP_NOMEM, page, rev, slot, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < d.nq; i++)
        if ((rc = raw_copy(t, page, d.q[i], slot, rev, &qraw[i], err))) goto out;
    text_cache_clear(&t->cache);      /* packs change below */

    /* Equals to the text: the first becomes a Raw copy, the others its Equals. */
    const PendEnt *xm = &d.mem[ix];
    for (size_t i = 0; i < d.ne; i++) {
        uint8_t e[PACK_HDR_MAX];
        size_t el = 0;
        if (i == 0) {
            const uint8_t *frame;
            size_t flen;
            if ((rc = pack_frame(t, raw.p + xm->off, xm->len, 0, NULL, 0, &frame, &flen, err))) {
                rc = text_fail(err, rc, page, d.eq[0], slot, "encoding: %s", err->msg);
                goto out;
            }
            e[0] = TEXT_RAW;
            t->wbuf.n = 0;
            if (text_buf_add(&t->wbuf, e, 1) || text_buf_add(&t->wbuf, frame, flen)) {
                rc = text_fail(err, DUMP_NOMEM, page, d.eq[0], slot, "out of memory");
                goto out;
            }
            if ((rc = put_entry(t, page, d.eq[0], slot, t->wbuf.p, t->wbuf.n, err))) goto out;
        } else {
            e[el++] = TEXT_EQUAL;
            el += varint_put(e + el, (uint64_t)d.eq[i] - (uint64_t)d.eq[0]);
            el += varint_put(e + el, xm->len);
            put_u32(e + el, xm->crc);
            el += 4;
            if ((rc = put_entry(t, page, d.eq[i], slot, e, el, err))) goto out;
        }
        t->stats.reencoded++;
    }

    /* The pack without the text (gone if it was the only one). */
    uint8_t key[TEXT_KEY_LEN];
    text_key(key, page, rev, slot);
    if ((rc = text_entry_delete(t, key))) {
        rc = text_store_fail(t, err, rc, page, rev, slot);
        goto out;
    }
    PendEnt *nm = d.mem;              /* reused in place: offsets into nraw */
    size_t n = 0;
    for (size_t i = 0; i < d.nm; i++) {
        if (i == ix) continue;
        PendEnt m = d.mem[i];
        if (text_buf_add(&nraw, raw.p + m.off, m.len)) {
            rc = text_fail(err, DUMP_NOMEM, page, rev, slot, "out of memory");
            goto out;
        }
        m.off = nraw.n - m.len;
        nm[n++] = m;
    }
    if (n && (rc = write_pack(t, page, slot, nm, n, nraw.p, nraw.n, hh.depth, hh.ref, pre.p, pre.n, err)))
        goto out;
    if (n) t->stats.reencoded += n;

    /* Packs on the text: on the text before it in its pack, else on its
     * pack's prefix, else on none. Depths stay valid: both are shallower. */
    for (size_t i = 0; i < d.nq; i++) {
        const Hdr *q = &d.qh[i];
        unsigned depth = q->depth;
        int64_t prefix;
        const uint8_t *pp = NULL;
        size_t pl = 0;
        if (ix > 0) {
            /* nm[ix - 1] is the text before it, at its new offset */
            prefix = nm[ix - 1].rev;
            pp = nraw.p + nm[ix - 1].off;
            pl = nm[ix - 1].len;
        } else if (hh.depth > 0) {
            prefix = hh.ref;
            pp = pre.p;
            pl = pre.n;
        } else {
            prefix = INT64_MIN;
            depth = 0;
        }
        if ((rc = write_holder(t, page, d.q[i], slot, depth, prefix, pp, pl, q->members, q->len, q->crc,
                               qraw[i].p, qraw[i].n, err)))
            goto out;
        t->stats.reencoded++;
    }
out:
    text_cache_clear(&t->cache);
    for (size_t i = 0; qraw && i < d.nq; i++) text_buf_free(&qraw[i]);
    free(qraw);
    text_buf_free(&raw);
    text_buf_free(&pre);
    text_buf_free(&nraw);
    free(d.mem);
    free(d.eq);
    free(d.q);
    free(d.qh);
    return rc;
}
