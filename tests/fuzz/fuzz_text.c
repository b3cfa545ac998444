/*
 * fuzz_text.c -- libFuzzer target for stored text entries (csrc/dump_text.c,
 * dump_text_pack.c, dump_text_writer.c; docs/format.md "Text storage").
 *
 * One Store (a tmpfs file, unlinked at once) with the text tree 5 and piece
 * tree 10, and eight TextStores over it: {zstd, xz} x {no dictionary, DICT}
 * x {one entry per text, packed}. Each input is written into the trees in a
 * transaction that is aborted at the end, so the file does not grow. Input:
 *
 *   h0  bits 0-1 TextStore (bit 0 dictionary, bit 1 xz); bit 2 delete, bit 3
 *       put; bits 4-7 rev index A (delete: 15 is the whole page)
 *   h1  bit 0 rev and page ids from INT64_MIN (else revs 1.., pages 7, 8);
 *       bit 1 packed TextStore; bits 2-3 put mode; bits 4-7 rev index B
 *   h2  bits 0-1 puts after the first
 *   chunks, each: byte c (bits 0-3 rev index, bit 4 slot 1, bit 5 second page,
 *       bits 6-7 kind), a kind byte for kinds 1-3, u16 LE length (cut to what
 *       is left), bytes. Kinds: 0 the TEXT value as given; 1 piece n (kind
 *       byte) of the entry; 2 an odd key (kind byte: bit 0 piece tree, bit 1
 *       one byte longer than a text/piece key, else one shorter); 3 an entry
 *       built here from the bytes as its text (kind byte bits 0-1: 0 Raw stored
 *       frame, 1 Delta stored frame with depth 1 + bits 2-5 and distance 1 +
 *       bits 6-7, 2 Equal with distance 1 + bits 2-5, 3 Raw zstd frame with
 *       the dictionary if any), split into pieces as a writer does.
 *
 * Oracle: a reader written here from the specification (entries, pieces,
 * Delta chains, packs, the page check), independent of dump_text*.c. For
 * every key of both pages text_get must give that reader's status (DUMP_OK,
 * DUMP_NOTFOUND or DUMP_CORRUPT, a message naming the text asked for) and,
 * when DUMP_OK, its bytes, whose length and CRC-32 (zlib) match the entry's
 * header; read again (from the cache) the same; text_check_page agrees with
 * the specification's page check. Then, on the first page: text_delete of
 * rev A (slot 0) or text_delete_page, and/or text_put of revs B, B+1, ...
 * (slot 0; the first text made from rev A's: put mode 0 the same, 1 longer,
 * 2 its first half, 3 a fixed text; each next one longer), read back before
 * text_flush, then flushed. On a page that checks clean these must succeed,
 * the put texts read back, every other text keep its bytes, the page check
 * clean, no effective depth grow on a delete; on any page a text readable
 * before and after must not change, and reads still agree with the oracle.
 * abort() on any violation. Seeds: tests/fuzz/corpus/text/
 * (tests/fuzz/make_seeds.py).
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>

#include "codec.h"
#include "dump_text.h"
#include "incrdump.h"
#include "status.h"

#define REQUIRE(c) do { if (!(c)) { fprintf(stderr, "fuzz_text: %s failed at line %d\n", #c, \
                                      __LINE__); abort(); } } while (0)

#define TT 5            /* text tree */
#define PT 10           /* piece tree */
#define NREV 16
#define NSLOT 2
#define NPAGE 2
#define PIECE 664       /* docs/format.md: a format constant */
#define MAX_DEPTH 16

/* The same bytes as tests/fuzz/make_seeds.py's TEXT_DICT. */
static const char DICT[] =
    "[[Category:Standards Track PEPs]] {{PEP header}} == Abstract == == Rationale == "
    "== Specification == == References == == Copyright == This document has been "
    "placed in the public domain.\n";

static Store *st;
static TextStore *ts[8];
static Codec *refc;
static int64_t pages[NPAGE], revs[NREV];
static int variant;

typedef struct Bytes {
    uint8_t *p;
    size_t n, cap;
} Bytes;

static void b_add(Bytes *b, const uint8_t *p, size_t n)
{
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->n + n) cap *= 2;
        b->p = realloc(b->p, cap);
        REQUIRE(b->p);
        b->cap = cap;
    }
    if (n) memcpy(b->p + b->n, p, n);
    b->n += n;
}

static void be64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (56 - 8 * i));
}

/* Keys, from the specification. */
static void tkey(uint8_t k[17], int64_t page, int64_t rev, unsigned slot)
{
    be64(k, (uint64_t)page ^ (1ull << 63));
    be64(k + 8, (uint64_t)rev ^ (1ull << 63));
    k[16] = (uint8_t)slot;
}

static void pkey(uint8_t k[21], const uint8_t key[17], uint32_t n)
{
    memcpy(k, key, 17);
    k[17] = (uint8_t)(n >> 24);
    k[18] = (uint8_t)(n >> 16);
    k[19] = (uint8_t)(n >> 8);
    k[20] = (uint8_t)n;
}

static size_t uvarint(uint8_t *p, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

/* A canonical LEB128 varint of at most 64 bits at p[*pos..n); 0 if none. */
static int get_varint(const uint8_t *p, size_t n, size_t *pos, uint64_t *v)
{
    uint64_t r = 0;
    for (unsigned i = 0; i < 10 && *pos + i < n; i++) {
        uint64_t b = p[*pos + i];
        if (i == 9 && b > 1) return 0;
        r |= (b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            if (i > 0 && b == 0) return 0;
            *pos += i + 1;
            *v = r;
            return 1;
        }
    }
    return 0;
}

/* ---- setup --------------------------------------------------------------------- */

static void setup(void)
{
    char path[256];
    const char *dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(path, sizeof path, "%s/incrdump-fuzz-text-%ld.dump", dir, (long)getpid());
    unlink(path);
    REQUIRE(store_open(path, STORE_WRITE | STORE_CREATE, &st) == DUMP_OK);
    unlink(path);                   /* the open descriptor keeps it */
    REQUIRE(store_begin(st) == DUMP_OK);
    REQUIRE(store_tree_create(st, TT, STORE_KEY_BYTES) == DUMP_OK);
    REQUIRE(store_tree_create(st, PT, STORE_KEY_BYTES) == DUMP_OK);
    REQUIRE(store_commit(st) == DUMP_OK);
    for (int v = 0; v < 8; v++) {
        TextConfig cfg = { .codec = v & 2 ? DUMP_CODEC_XZ : DUMP_CODEC_ZSTD, .level = 1,
                           .max_depth = MAX_DEPTH, .piece_tree = PT, .packed = v >> 2 };
        if (v & 1) {
            cfg.dict = (const uint8_t *)DICT;
            cfg.dict_len = sizeof DICT - 1;
        }
        REQUIRE((ts[v] = text_new(st, TT, &cfg)) != NULL);
    }
    REQUIRE((refc = codec_new()) != NULL);
}

static const uint8_t *dict_p(void) { return variant & 1 ? (const uint8_t *)DICT : NULL; }
static size_t dict_n(void) { return variant & 1 ? sizeof DICT - 1 : 0; }

/* ---- the reference reader (docs/format.md "Text storage") ------------------------- */

enum { K_RAW, K_DELTA, K_EQUAL, K_PACK, K_PACKED };

typedef struct RHdr {
    int kind;
    unsigned depth;        /* Delta: depth; Pack: pack depth */
    int64_t ref;           /* Delta base, Equal target, Pack prefix, Packed holder */
    uint64_t len, off;     /* length of the entry's text; Packed: its offset */
    uint64_t members;      /* Pack */
    uint32_t crc;
    size_t body;           /* Raw, Delta, Pack: offset of the frame */
} RHdr;

/* The entry at (page, rev, slot) read by the piece rule into *b. */
static int ref_entry(int64_t page, int64_t rev, unsigned slot, Bytes *b)
{
    uint8_t k[17], pk[21];
    const uint8_t *v;
    size_t n;
    b->n = 0;
    tkey(k, page, rev, slot);
    int rc = store_get_bytes(st, TT, k, 17, &v, &n);
    if (rc == DUMP_NOTFOUND) return rc;
    REQUIRE(rc == DUMP_OK);
    b_add(b, v, n);
    if (n != PIECE) return DUMP_OK;
    for (uint32_t i = 1;; i++) {
        pkey(pk, k, i);
        rc = store_get_bytes(st, PT, pk, 21, &v, &n);
        if (rc == DUMP_NOTFOUND) return DUMP_OK;
        REQUIRE(rc == DUMP_OK);
        if (n == 0 || n > PIECE) return DUMP_CORRUPT;
        b_add(b, v, n);
        if (n < PIECE) return DUMP_OK;
    }
}

static uint32_t get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Parse an entry (step 1 of reading): kind, canonical varints, ranges, no
 * trailing bytes, a valid frame header. */
static int ref_parse(const uint8_t *p, size_t n, int64_t rev, RHdr *h)
{
    size_t pos = 1;
    uint64_t v;
    memset(h, 0, sizeof *h);
    if (n < 1 || p[0] > K_PACKED) return DUMP_CORRUPT;
    h->kind = p[0];
    if (h->kind == K_DELTA || h->kind == K_PACK) {
        if (!get_varint(p, n, &pos, &v) || v > 255 || (h->kind == K_DELTA && v < 1)) return DUMP_CORRUPT;
        h->depth = (unsigned)v;
    }
    if (h->kind != K_RAW && !(h->kind == K_PACK && h->depth == 0)) {
        if (!get_varint(p, n, &pos, &v) || v < 1) return DUMP_CORRUPT;
        if ((__int128)rev - (__int128)v < (__int128)INT64_MIN) return DUMP_CORRUPT;
        h->ref = (int64_t)((__int128)rev - (__int128)v);
    }
    if (h->kind == K_PACK) {
        if (!get_varint(p, n, &pos, &h->members) || h->members < 1 || h->members >= (1ull << 32) ||
            !get_varint(p, n, &pos, &h->len) || h->len > (1u << 30) || n - pos < 4)
            return DUMP_CORRUPT;
        h->crc = get_le32(p + pos);
        pos += 4;
    }
    if (h->kind == K_EQUAL || h->kind == K_PACKED) {
        if (h->kind == K_PACKED && (!get_varint(p, n, &pos, &h->off) || h->off > (1u << 30)))
            return DUMP_CORRUPT;
        if (!get_varint(p, n, &pos, &h->len) || h->len > (1u << 30) - h->off || n - pos != 4)
            return DUMP_CORRUPT;
        h->crc = get_le32(p + pos);
        return DUMP_OK;
    }
    CodecFrameInfo fi;
    ErrorInfo e;
    if (codec_frame_info(p + pos, n - pos, &fi, &e) != DUMP_OK) return DUMP_CORRUPT;
    if (h->kind == K_RAW && (fi.flags & CODEC_F_PREFIX)) return DUMP_CORRUPT;
    /* dump_text_pack.c also refuses, when parsing, a Pack whose own text
     * would lie outside the frame's declared raw length (and a Pack of depth
     * 0 with P = 1, which cannot decode anyway); docs/format.md has neither
     * in its parse step yet */
    if (h->kind == K_PACK && (h->len > fi.raw_len || (h->depth == 0 && (fi.flags & CODEC_F_PREFIX))))
        return DUMP_CORRUPT;
    if (h->kind != K_PACK) {
        h->len = fi.raw_len;
        h->crc = fi.crc;
    }
    h->body = pos;
    return DUMP_OK;
}

/* Read and parse the entry at rev; a missing one is corrupt. */
static int ref_read(int64_t page, int64_t rev, unsigned slot, Bytes *b, RHdr *h)
{
    if (ref_entry(page, rev, slot, b) != DUMP_OK) return DUMP_CORRUPT;
    return ref_parse(b->p, b->n, rev, h);
}

static int ref_decode(const Bytes *e, const RHdr *h, const uint8_t *pre, size_t npre, Bytes *out)
{
    const uint8_t *o;
    size_t on;
    ErrorInfo err;
    int rc = codec_decode(refc, e->p + h->body, e->n - h->body, pre, npre, dict_p(), dict_n(), &o, &on, &err);
    REQUIRE(rc == DUMP_OK || rc == DUMP_CORRUPT);
    if (rc) return DUMP_CORRUPT;
    out->n = 0;
    b_add(out, o, on);
    return DUMP_OK;
}

/* The slice [off, off + len) of raw, which must lie inside and have this CRC-32. */
static int ref_slice(const Bytes *raw, uint64_t off, uint64_t len, uint32_t crc, const uint8_t **p)
{
    if (off > raw->n || len > raw->n - off) return DUMP_CORRUPT;
    *p = raw->n ? raw->p + off : (const uint8_t *)"";
    return (uint32_t)crc32_z(0, *p, len) == crc ? DUMP_OK : DUMP_CORRUPT;
}

typedef struct Link {
    Bytes e;
    RHdr h;
    uint64_t poff, plen;     /* a Pack's prefix text: its slice of the pack below */
    uint32_t pcrc;
} Link;

static Link links[258];
static Bytes rtext[2], scratch;

/* "Packs", "Reading": the text of the Pack or Packed entry t of rev, via its
 * holder and the chain of prefixes. *depth: its pack's depth. */
static int ref_pack_text(int64_t page, int64_t rev, unsigned slot, const RHdr *t, Bytes *out, unsigned *depth)
{
    unsigned np = 0;
    int64_t cur = t->kind == K_PACK ? rev : t->ref;
    for (;;) {
        Link *l = &links[np];
        if (ref_read(page, cur, slot, &l->e, &l->h) || l->h.kind != K_PACK) return DUMP_CORRUPT;
        if (np > 0 && l->h.depth >= links[np - 1].h.depth) return DUMP_CORRUPT;
        if (++np > 256) return DUMP_CORRUPT;
        if (l->h.depth == 0) break;
        RHdr ph;
        if (ref_read(page, l->h.ref, slot, &scratch, &ph) || (ph.kind != K_PACK && ph.kind != K_PACKED))
            return DUMP_CORRUPT;
        l->poff = ph.kind == K_PACK ? 0 : ph.off;
        l->plen = ph.len;
        l->pcrc = ph.crc;
        cur = ph.kind == K_PACK ? l->h.ref : ph.ref;
    }
    *depth = links[0].h.depth;
    int w = 0;
    if (ref_decode(&links[np - 1].e, &links[np - 1].h, NULL, 0, &rtext[w])) return DUMP_CORRUPT;
    for (unsigned i = np - 1; i-- > 0;) {
        const uint8_t *pre;
        if (ref_slice(&rtext[w], links[i].poff, links[i].plen, links[i].pcrc, &pre)) return DUMP_CORRUPT;
        if (ref_decode(&links[i].e, &links[i].h, pre, links[i].plen, &rtext[w ^ 1])) return DUMP_CORRUPT;
        w ^= 1;
    }
    const uint8_t *p;
    if (ref_slice(&rtext[w], t->kind == K_PACK ? 0 : t->off, t->len, t->crc, &p)) return DUMP_CORRUPT;
    out->n = 0;
    b_add(out, p, t->len);
    return DUMP_OK;
}

/* The text of (page, rev, slot) by the steps of "Reading a text" into *out;
 * *hdr gets its own entry's header, *depth its effective depth (an Equal's
 * is its target's, a packed text's its pack's). */
static int ref_text(int64_t page, int64_t rev, unsigned slot, Bytes *out, RHdr *hdr, unsigned *depth)
{
    int rc = ref_entry(page, rev, slot, &links[0].e);
    if (rc) return rc;
    if (ref_parse(links[0].e.p, links[0].e.n, rev, &links[0].h)) return DUMP_CORRUPT;
    *hdr = links[0].h;
    int equal = hdr->kind == K_EQUAL;
    int64_t top = rev;
    if (equal) {
        top = hdr->ref;
        if (ref_read(page, top, slot, &links[0].e, &links[0].h) || links[0].h.kind == K_EQUAL)
            return DUMP_CORRUPT;
    }
    if (links[0].h.kind == K_PACK || links[0].h.kind == K_PACKED) {
        RHdr th = links[0].h;
        if (ref_pack_text(page, top, slot, &th, out, depth)) return DUMP_CORRUPT;
    } else {
        unsigned nl = 1;
        *depth = links[0].h.depth;
        while (links[nl - 1].h.kind == K_DELTA) {
            Link *l = &links[nl];
            if (ref_read(page, links[nl - 1].h.ref, slot, &l->e, &l->h) || l->h.kind > K_DELTA ||
                l->h.depth >= links[nl - 1].h.depth)
                return DUMP_CORRUPT;
            if (++nl > 256) return DUMP_CORRUPT;
        }
        int w = 0;
        for (unsigned i = nl; i-- > 0;) {
            int delta = links[i].h.kind == K_DELTA;
            if (ref_decode(&links[i].e, &links[i].h, delta ? rtext[w].p : NULL, delta ? rtext[w].n : 0,
                           &rtext[w ^ 1]))
                return DUMP_CORRUPT;
            w ^= 1;
        }
        out->n = 0;
        b_add(out, rtext[w].p, rtext[w].n);
    }
    if (equal && (out->n != hdr->len ||
                  (uint32_t)crc32_z(0, out->n ? out->p : (const uint8_t *)"", out->n) != hdr->crc))
        return DUMP_CORRUPT;
    return DUMP_OK;
}

/* memcmp order, shorter first */
static int key_cmp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
    int c = memcmp(a, b, an < bn ? an : bn);
    return c ? c : (an > bn) - (an < bn);
}

/* Whether a key is one of the page's (what a scan of the page from its
 * first text key sees). */
static int in_page(const uint8_t *k, size_t kl, int64_t page)
{
    uint8_t lo[17];
    tkey(lo, page, INT64_MIN, 0);
    return kl >= 8 && memcmp(k, lo, 8) == 0 && key_cmp(k, kl, lo, 17) >= 0;
}

static int64_t key_rev(const uint8_t *k)
{
    uint64_t v = 0;
    for (int i = 8; i < 16; i++) v = v << 8 | k[i];
    return (int64_t)(v ^ (1ull << 63));
}

/* The page check of the specification: every text key of the page is 17
 * bytes and its text reads; per slot, each pack's m - 1 members follow its
 * Pack entry with no Pack or Packed entry of another pack between; every
 * piece key of the page is 21 bytes and read by the piece rule for its
 * entry. *count, *bytes as text_check_page. */
static int ref_check_page(int64_t page, uint64_t *count, uint64_t *bytes)
{
    static struct { int64_t hold; uint64_t left; } pk[256];
    StoreCursor *c;
    Bytes out = { 0 };
    int bad = 0;
    *count = *bytes = 0;
    for (int i = 0; i < 256; i++) pk[i].left = 0;
    REQUIRE(store_cursor_open(st, TT, &c) == DUMP_OK);
    for (int rc = store_cursor_first(c); rc == DUMP_OK && !bad; rc = store_cursor_next(c)) {
        const uint8_t *k;
        size_t kl;
        REQUIRE(store_cursor_key_bytes(c, &k, &kl) == DUMP_OK);
        if (!in_page(k, kl, page)) continue;
        if (kl != 17) {
            bad = 1;
            break;
        }
        int64_t rev = key_rev(k);
        unsigned sl = k[16];
        RHdr h;
        unsigned d;
        if (ref_text(page, rev, sl, &out, &h, &d) != DUMP_OK) bad = 1;
        (*count)++;
        *bytes += out.n;
        if (bad) break;
        if (h.kind == K_PACK) {
            if (pk[sl].left) bad = 1;
            pk[sl].hold = rev;
            pk[sl].left = h.members - 1;
        } else if (h.kind == K_PACKED) {
            if (!pk[sl].left || h.ref != pk[sl].hold) bad = 1;
            else pk[sl].left--;
        }
    }
    store_cursor_close(c);
    for (int i = 0; i < 256; i++)
        if (pk[i].left) bad = 1;
    REQUIRE(store_cursor_open(st, PT, &c) == DUMP_OK);
    for (int rc = store_cursor_first(c); rc == DUMP_OK && !bad; rc = store_cursor_next(c)) {
        const uint8_t *k, *v;
        size_t kl, vl;
        REQUIRE(store_cursor_key_bytes(c, &k, &kl) == DUMP_OK);
        if (!in_page(k, kl, page)) continue;
        if (kl != 21) {
            bad = 1;
            break;
        }
        uint8_t pk21[21];
        memcpy(pk21, k, 21);
        uint32_t n = (uint32_t)pk21[17] << 24 | (uint32_t)pk21[18] << 16 | (uint32_t)pk21[19] << 8 | pk21[20];
        /* read by the rule: n >= 1, the entry and pieces 1..n-1 exist, all 664 bytes */
        if (n == 0 || store_get_bytes(st, TT, pk21, 17, &v, &vl) != DUMP_OK || vl != PIECE) {
            bad = 1;
            break;
        }
        for (uint32_t i = 1; i < n && !bad; i++) {
            uint8_t q[21];
            pkey(q, pk21, i);
            if (store_get_bytes(st, PT, q, 21, &v, &vl) != DUMP_OK || vl != PIECE) bad = 1;
        }
    }
    store_cursor_close(c);
    free(out.p);
    return bad ? DUMP_CORRUPT : DUMP_OK;
}

/* ---- writing the input ------------------------------------------------------------ */

static void put_entry(const uint8_t key[17], const uint8_t *p, size_t n)
{
    size_t first = n > PIECE ? PIECE : n;
    REQUIRE(store_put_bytes(st, TT, key, 17, p, first, STORE_PUT_UPSERT) == DUMP_OK);
    uint32_t i = 1;
    for (size_t off = first; off < n; off += PIECE, i++) {
        uint8_t pk[21];
        pkey(pk, key, i);
        size_t m = n - off < PIECE ? n - off : PIECE;
        REQUIRE(store_put_bytes(st, PT, pk, 21, p + off, m, STORE_PUT_UPSERT) == DUMP_OK);
    }
}

/* An entry of text d[0..n) as kind byte e says (see the file opener). */
static void build_entry(const uint8_t key[17], unsigned e, const uint8_t *d, size_t n)
{
    Bytes b = { 0 };
    uint8_t hdr[32];
    size_t hl = 0;
    const uint8_t *frame;
    size_t fn;
    ErrorInfo err;
    int kind = e & 3;
    if (kind == 2) {
        hdr[hl++] = 2;
        hl += uvarint(hdr + hl, 1 + ((e >> 2) & 15));
        hl += uvarint(hdr + hl, n);
        uint32_t crc = (uint32_t)crc32_z(0, n ? d : (const uint8_t *)"", n);
        for (int i = 0; i < 4; i++) hdr[hl++] = (uint8_t)(crc >> (8 * i));
        put_entry(key, hdr, hl);
        return;
    }
    if (kind == 1) {
        hdr[hl++] = 1;
        hl += uvarint(hdr + hl, 1 + ((e >> 2) & 15));
        hl += uvarint(hdr + hl, 1 + (e >> 6));
    } else {
        hdr[hl++] = 0;
    }
    int rc = kind == 3 ? codec_encode(refc, CODEC_ZSTD, 1, NULL, 0, dict_p(), dict_n(), d, n, &frame, &fn, &err)
                       : codec_encode(refc, CODEC_STORED, 0, NULL, 0, NULL, 0, d, n, &frame, &fn, &err);
    REQUIRE(rc == DUMP_OK);
    b_add(&b, hdr, hl);
    b_add(&b, frame, fn);
    put_entry(key, b.p, b.n);
    free(b.p);
}

static void write_input(const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = p[i++], e = 0;
        unsigned kind = c >> 6;
        if (kind && i < n) e = p[i++];
        size_t len = 0;
        if (i < n) len = p[i++];
        if (i < n) len |= (size_t)p[i++] << 8;
        if (len > n - i) len = n - i;
        const uint8_t *d = p + i;
        i += len;
        uint8_t key[17], pk[22];
        tkey(key, pages[(c >> 5) & 1], revs[c & 15], (c >> 4) & 1);
        switch (kind) {
        case 0:
            REQUIRE(store_put_bytes(st, TT, key, 17, d, len, STORE_PUT_UPSERT) == DUMP_OK);
            break;
        case 1:
            pkey(pk, key, e);
            REQUIRE(store_put_bytes(st, PT, pk, 21, d, len, STORE_PUT_UPSERT) == DUMP_OK);
            break;
        case 2: {
            size_t kl = (e & 1) ? 21 : 17;
            pkey(pk, key, 1);
            if (e & 2) pk[kl++] = (uint8_t)(e >> 2); else kl--;
            REQUIRE(store_put_bytes(st, e & 1 ? PT : TT, pk, kl, d, len, STORE_PUT_UPSERT) == DUMP_OK);
            break;
        }
        default:
            build_entry(key, e, d, len);
        }
    }
}

/* ---- checks ------------------------------------------------------------------------ */

typedef struct Model {
    int rc[NPAGE][NSLOT][NREV];
    Bytes text[NPAGE][NSLOT][NREV];
    unsigned depth[NPAGE][NSLOT][NREV];
    int page_ok[NPAGE];
} Model;

static void check_msg(const ErrorInfo *err, int rc, int64_t page, int64_t rev, unsigned slot, int exact)
{
    char want[128];
    REQUIRE(err->code == rc);
    if (exact)
        snprintf(want, sizeof want, "text of page %" PRId64 " rev %" PRId64 " slot %u: ", page, rev, slot);
    else
        snprintf(want, sizeof want, "text of page ");
    REQUIRE(strncmp(err->msg, want, strlen(want)) == 0);
}

/* text_get on every key against the reference reader, twice; the page
 * check against the specification's. Fills m. */
static void check_all(TextStore *t, Model *m)
{
    for (int pass = 0; pass < 2; pass++)
        for (int pi = 0; pi < NPAGE; pi++)
            for (unsigned s = 0; s < NSLOT; s++)
                for (int ri = 0; ri < NREV; ri++) {
                    int r = pass ? NREV - 1 - ri : ri;
                    const uint8_t *p;
                    size_t n;
                    ErrorInfo err;
                    error_clear(&err);
                    int rc = text_get(t, pages[pi], revs[r], s, &p, &n, &err);
                    REQUIRE(rc == DUMP_OK || rc == DUMP_NOTFOUND || rc == DUMP_CORRUPT);
                    Bytes *mt = &m->text[pi][s][r];
                    if (pass == 1) {
                        REQUIRE(rc == m->rc[pi][s][r]);
                        REQUIRE(rc != DUMP_OK || (n == mt->n && (n == 0 || memcmp(p, mt->p, n) == 0)));
                        continue;
                    }
                    RHdr h;
                    unsigned depth = 0;
                    int want = ref_text(pages[pi], revs[r], s, mt, &h, &depth);
                    REQUIRE(rc == want);
                    m->rc[pi][s][r] = rc;
                    m->depth[pi][s][r] = depth;
                    if (rc != DUMP_OK) {
                        check_msg(&err, rc, pages[pi], revs[r], s, 1);
                        REQUIRE(p == NULL && n == 0);
                        mt->n = 0;
                        continue;
                    }
                    REQUIRE(n == mt->n && (n == 0 || memcmp(p, mt->p, n) == 0));
                    REQUIRE(n == h.len && (uint32_t)crc32_z(0, n ? p : (const uint8_t *)"", n) == h.crc);
                }
    for (int pi = 0; pi < NPAGE; pi++) {
        uint64_t count = 0, bytes = 0, wc, wb;
        ErrorInfo err;
        error_clear(&err);
        int rc = text_check_page(t, pages[pi], &count, &bytes, &err);
        int want = ref_check_page(pages[pi], &wc, &wb);
        REQUIRE(rc == want);
        if (rc == DUMP_OK) REQUIRE(count == wc && bytes == wb);
        else check_msg(&err, rc, 0, 0, 0, 0);
        m->page_ok[pi] = rc == DUMP_OK;
    }
}

static void model_free(Model *m)
{
    for (int pi = 0; pi < NPAGE; pi++)
        for (int s = 0; s < NSLOT; s++)
            for (int r = 0; r < NREV; r++) free(m->text[pi][s][r].p);
}

/* After a write on page 0 (slot 0, rev indexes lo..hi-1, or the whole
 * page): what was readable before and still is reads the same; on a clean
 * page everything else still reads, no effective depth grew (a delete),
 * and the page checks clean. */
static void check_after(const Model *before, const Model *after, int lo, int hi, int whole, int clean,
                        int deleted)
{
    for (int pi = 0; pi < NPAGE; pi++)
        for (unsigned s = 0; s < NSLOT; s++)
            for (int r = 0; r < NREV; r++) {
                if (pi == 0 && (whole || (s == 0 && r >= lo && r < hi))) continue;
                int was = before->rc[pi][s][r], is = after->rc[pi][s][r];
                const Bytes *a = &before->text[pi][s][r], *b = &after->text[pi][s][r];
                if (was == DUMP_OK && is == DUMP_OK)
                    REQUIRE(a->n == b->n && (a->n == 0 || memcmp(a->p, b->p, a->n) == 0));
                if (clean) REQUIRE(is == was);
                if (clean && deleted && is == DUMP_OK) REQUIRE(after->depth[pi][s][r] <= before->depth[pi][s][r]);
            }
    if (clean) REQUIRE(after->page_ok[0] && after->page_ok[1] == before->page_ok[1]);
}

static void put_text(const Model *m, int mode, int src, Bytes *out)
{
    static const char fixed[] = "A new revision text, written by the fuzzer's put step.\n";
    const Bytes *t = &m->text[0][0][src];
    out->n = 0;
    if (mode == 3 || m->rc[0][0][src] != DUMP_OK) {
        b_add(out, (const uint8_t *)fixed, sizeof fixed - 1);
        return;
    }
    if (mode == 2) {
        b_add(out, t->p, t->n / 2);
        return;
    }
    b_add(out, t->p, t->n);
    if (mode == 1) b_add(out, (const uint8_t *)" and more words at its end.", 27);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!st) setup();
    if (size < 3) return 0;
    unsigned h0 = data[0], h1 = data[1], h2 = data[2];
    variant = (int)(h0 & 3) | (h1 & 2 ? 4 : 0);
    TextStore *t = ts[variant];
    for (int i = 0; i < NREV; i++) revs[i] = h1 & 1 ? INT64_MIN + i : i + 1;
    pages[0] = h1 & 1 ? INT64_MIN : 7;
    pages[1] = pages[0] + 1;
    int a = (int)(h0 >> 4), b = (int)(h1 >> 4), mode = (int)(h1 >> 2) & 3;

    REQUIRE(store_begin(st) == DUMP_OK);
    text_reset(t);
    write_input(data + 3, size - 3);
    static Model m0, m1, m2;
    Model *before = &m0;
    int broken = 0;
    ErrorInfo err;
    check_all(t, &m0);
    if (h0 & 4) {
        error_clear(&err);
        int rc, clean, whole = a == NREV - 1;
        if (whole) {            /* rev index 15: the whole page */
            rc = text_delete_page(t, pages[0], &err);
            REQUIRE(rc == DUMP_OK || rc == DUMP_CORRUPT);
            clean = m0.page_ok[0];
        } else {
            rc = text_delete(t, pages[0], revs[a], 0, &err);
            REQUIRE(rc == DUMP_OK || rc == DUMP_NOTFOUND || rc == DUMP_CORRUPT);
            REQUIRE((rc == DUMP_NOTFOUND) == (m0.rc[0][0][a] == DUMP_NOTFOUND));
            clean = m0.page_ok[0] && rc != DUMP_NOTFOUND;
        }
        if (clean) REQUIRE(rc == DUMP_OK);
        if (rc) check_msg(&err, rc, 0, 0, 0, 0);
        check_all(t, &m1);
        for (unsigned s = 0; s < NSLOT; s++)
            for (int r = 0; r < NREV; r++)
                if (rc == DUMP_OK && (whole || (s == 0 && r == a))) REQUIRE(m1.rc[0][s][r] == DUMP_NOTFOUND);
        check_after(&m0, &m1, whole ? 0 : a, whole ? NREV : a + 1, whole, clean, 1);
        /* a failed write leaves only abort (as the dump layer does) */
        if (rc == DUMP_CORRUPT) broken = 1;
        before = &m1;
    }
    if ((h0 & 8) && !broken) {
        static Bytes txt[4];
        int nput = 1 + (int)(h2 & 3), ok = 1, rc = DUMP_OK;
        if (b + nput > NREV) nput = NREV - b;
        for (int j = 0; j < nput && ok; j++) {
            if (j == 0) {
                put_text(before, mode, a, &txt[0]);
            } else {
                txt[j].n = 0;
                b_add(&txt[j], txt[j - 1].p, txt[j - 1].n);
                b_add(&txt[j], (const uint8_t *)"One more line of text.\n", 23);
            }
            error_clear(&err);
            rc = text_put(t, pages[0], revs[b + j], 0, txt[j].p ? txt[j].p : (const uint8_t *)"", txt[j].n, &err);
            REQUIRE(rc == DUMP_OK || rc == DUMP_CORRUPT);
            if (before->page_ok[0]) REQUIRE(rc == DUMP_OK);
            if (rc) {
                check_msg(&err, rc, 0, 0, 0, 0);
                ok = 0;
            }
        }
        for (int j = 0; j < nput && ok; j++) {     /* packed: from the buffer */
            const uint8_t *p;
            size_t n;
            REQUIRE(text_get(t, pages[0], revs[b + j], 0, &p, &n, &err) == DUMP_OK);
            REQUIRE(n == txt[j].n && (n == 0 || memcmp(p, txt[j].p, n) == 0));
        }
        if (ok) {
            error_clear(&err);
            rc = text_flush(t, &err);
            REQUIRE(rc == DUMP_OK || rc == DUMP_CORRUPT);
            if (before->page_ok[0]) REQUIRE(rc == DUMP_OK);
            if (rc) {
                check_msg(&err, rc, 0, 0, 0, 0);
                ok = 0;
            }
        }
        if (!ok) text_reset(t);     /* drop what is buffered, as the abort after a failure does */
        check_all(t, &m2);
        for (int j = 0; j < nput && ok; j++) {
            /* it reads back; a new Delta is within max_depth */
            const Bytes *got = &m2.text[0][0][b + j];
            REQUIRE(m2.rc[0][0][b + j] == DUMP_OK);
            REQUIRE(got->n == txt[j].n && (got->n == 0 || memcmp(got->p, txt[j].p, got->n) == 0));
            Bytes e = { 0 };
            RHdr h;
            REQUIRE(ref_entry(pages[0], revs[b + j], 0, &e) == DUMP_OK);
            REQUIRE(ref_parse(e.p, e.n, revs[b + j], &h) == DUMP_OK);
            REQUIRE(h.kind != K_DELTA || h.depth <= MAX_DEPTH);
            free(e.p);
        }
        check_after(before, &m2, b, b + nput, 0, before->page_ok[0] && ok, 0);
    }
    REQUIRE(store_abort(st) == DUMP_OK);
    text_reset(t);
    model_free(&m0);
    model_free(&m1);
    model_free(&m2);
    memset(&m0, 0, sizeof m0);
    memset(&m1, 0, sizeof m1);
    memset(&m2, 0, sizeof m2);
    return 0;
}
