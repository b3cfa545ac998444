/*
 * dump_text_writer.c -- what a new revision text is stored against: Equal
 * detection state, the staircase of bounded-depth chains, similarity
 * sketches, and the per-page writer state rebuilt from the tree.
 *
 * Dump layer (8), internal, half of text storage (dump_text_int.h): calls
 * the public Store API and dump_text.c's entry functions. Invariant: a
 * base it proposes is an earlier Raw/Delta text of the same page and slot
 * whose depth + 1 is within the limit for the new text's size.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "dump_text_int.h"

#define EQ_MAX ((size_t)1 << 17)   /* (length, CRC) pairs remembered per slot */
#define RING   512                 /* recent nodes kept while rebuilding */

/* ---- similarity sketches -------------------------------------------------------
 * Content-defined anchors: a gear rolling hash (each byte shifts the state
 * left, so it depends on the last 64 bytes) marks a boundary where its top
 * five bits are zero, about every 32 bytes; the hash there is a feature of
 * the text. Long texts keep a sample (features whose mixed value has
 * `level` leading zero bits), about SK_TARGET features whatever the size.
 * containment(a, c), the share of a's features found in c at the coarser of
 * the two levels, estimates how much of a a delta against c can copy. */

#define SK_TARGET   512
#define SK_MAX      2048
#define SK_MIN_TEXT 256

/* The gear table: fixed, so that sketches never vary. */
void tw_gear_init(uint64_t gear[256])
{
    uint64_t x = 0x6A09E667F3BCC909ull;
    for (int i = 0; i < 256; i++) {
        uint64_t z = (x += GOLD);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        gear[i] = z ^ (z >> 31);
    }
}

static int sk_pass(uint64_t f, unsigned level)
{
    return level == 0 || (f * GOLD) >> (64 - level) == 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

void tw_sketch_free(Sketch *s)
{
    free(s->f);
    memset(s, 0, sizeof *s);
}

static void sketch_make(const uint64_t gear[256], const uint8_t *p, size_t n, Sketch *s)
{
    tw_sketch_free(s);
    if (n < SK_MIN_TEXT) return;
    unsigned level = 0;
    while (((uint64_t)n >> 5 >> level) > SK_TARGET) level++;
    if (!(s->f = malloc(SK_MAX * sizeof *s->f))) return;
    uint64_t h = 0;
    uint32_t k = 0;
    for (size_t i = 0; i < n && k < SK_MAX; i++) {
        h = (h << 1) + gear[p[i]];
        if (!(h >> 59) && sk_pass(h, level)) s->f[k++] = h;
    }
    qsort(s->f, k, sizeof *s->f, cmp_u64);
    uint32_t m = 0;
    for (uint32_t i = 0; i < k; i++)
        if (m == 0 || s->f[i] != s->f[m - 1]) s->f[m++] = s->f[i];
    s->n = m;
    s->level = (uint8_t)level;
    s->ok = m > 0;
}

/* Share of a's features present in c (0..1), or -1 when a has none. */
static double sketch_contain(const Sketch *a, const Sketch *c)
{
    unsigned level = a->level > c->level ? a->level : c->level;
    uint32_t i = 0, j = 0, na = 0, hit = 0;
    for (; i < a->n; i++) {
        if (!sk_pass(a->f[i], level)) continue;
        na++;
        while (j < c->n && c->f[j] < a->f[i]) j++;
        if (j < c->n && c->f[j] == a->f[i]) hit++;
    }
    return na ? (double)hit / na : -1.0;
}








static void node_free(Node *n)
{
    if (!n) return;
    free(n->path);
    tw_sketch_free(&n->sk);
    free(n);
}

static void slot_free(SlotState *ss)
{
    if (!ss) return;
    for (unsigned i = 0; i < ss->nwin; i++) node_free(ss->win[i]);
    free(ss->eq);
    free(ss);
}

void tw_page_drop(TextStore *t)
{
    for (int i = 0; i < 256; i++) {
        slot_free(t->ps.slot[i]);
        t->ps.slot[i] = NULL;
    }
    t->ps.valid = 0;
}

SlotState *tw_slot_get(TextStore *t, unsigned slot)
{
    SlotState *ss = t->ps.slot[slot];
    if (!ss && (ss = calloc(1, sizeof *ss))) {
        ss->newest = INT64_MIN;
        ss->pk_last = ss->pk_hold = INT64_MIN;
        t->ps.slot[slot] = ss;
    }
    return ss;
}

static size_t eq_hash(uint64_t len, uint32_t crc, size_t cap)
{
    return (size_t)(((uint64_t)crc * GOLD ^ len * 0xC2B2AE3D27D4EB4Full) >> 20) & (cap - 1);
}

int64_t tw_eq_find(const SlotState *ss, uint64_t len, uint32_t crc)
{
    if (!ss->eqcap) return INT64_MIN;
    for (size_t i = eq_hash(len, crc, ss->eqcap);; i = (i + 1) & (ss->eqcap - 1)) {
        const EqEnt *e = &ss->eq[i];
        if (!e->used) return INT64_MIN;
        if (e->len == len && e->crc == crc) return e->rev;
    }
}

/* Record that rev holds a text of this length and CRC (the latest wins).
 * The table is bounded: when full it starts over, forgetting old texts. */
void tw_eq_put(SlotState *ss, uint64_t len, uint32_t crc, int64_t rev)
{
    if (ss->eqn + 1 > ss->eqcap / 2) {
        size_t cap = ss->eqcap ? ss->eqcap * 2 : 64;
        if (cap > EQ_MAX) cap = EQ_MAX;
        EqEnt *old = ss->eq;
        size_t oldcap = ss->eqcap;
        EqEnt *e = calloc(cap, sizeof *e);
        if (!e) return;
        ss->eq = e;
        ss->eqcap = cap;
        ss->eqn = 0;
        if (cap > oldcap)           /* else: full at the bound, start over */
            for (size_t i = 0; i < oldcap; i++)
                if (old[i].used) tw_eq_put(ss, old[i].len, old[i].crc, old[i].rev);
        free(old);
    }
    size_t i = eq_hash(len, crc, ss->eqcap);
    while (ss->eq[i].used && !(ss->eq[i].len == len && ss->eq[i].crc == crc))
        i = (i + 1) & (ss->eqcap - 1);
    if (!ss->eq[i].used) ss->eqn++;
    ss->eq[i] = (EqEnt){ len, rev, crc, 1 };
}

/* A new node whose path is prefix[0..nprefix) followed by itself. */
Node *tw_node_make(const PathEnt *prefix, unsigned nprefix, int64_t rev, uint64_t len,
                       uint32_t crc, unsigned depth, unsigned head)
{
    Node *n = calloc(1, sizeof *n);
    if (!n || !(n->path = malloc((nprefix + 1) * sizeof *n->path))) {
        free(n);
        return NULL;
    }
    if (nprefix) memcpy(n->path, prefix, nprefix * sizeof *prefix);
    n->path[nprefix] = (PathEnt){ rev, len, depth };
    n->npath = nprefix + 1;
    n->rev = rev;
    n->len = len;
    n->crc = crc;
    n->depth = depth;
    n->head = head;
    return n;
}

/* Append n to the window (it becomes the latest), dropping the oldest. */
void tw_win_push(SlotState *ss, Node *n)
{
    if (ss->nwin == TEXT_CANDIDATES) {
        node_free(ss->win[0]);
        memmove(ss->win, ss->win + 1, (TEXT_CANDIDATES - 1) * sizeof *ss->win);
        ss->nwin--;
    }
    ss->win[ss->nwin++] = n;
    ss->latest = n;
}

Node *tw_win_find(const SlotState *ss, int64_t rev)
{
    for (unsigned i = 0; i < ss->nwin; i++)
        if (ss->win[i]->rev == rev) return ss->win[i];
    return NULL;
}

/* ---- rebuilding the writer state from the tree ------------------------------------------ */

typedef struct Meta {
    int64_t rev, ref;
    uint64_t len;
    uint32_t crc;
    unsigned depth;
    int consecutive;     /* its base is the text just before it */
} Meta;

typedef struct Ring {
    Meta m[RING];
    unsigned n, next;
    int64_t newest_content;     /* rev of the node holding the newest text */
} Ring;

static const Meta *ring_find(const Ring *r, int64_t rev)
{
    for (unsigned i = 0; i < r->n; i++) {
        const Meta *m = &r->m[(r->next + RING - 1 - i) % RING];
        if (m->rev == rev) return m;
        if (m->rev < rev) return NULL;
    }
    return NULL;
}

/* The node of the newest text of a slot, its path followed from the ring
 * or, beyond it, from the tree. Run heads are guessed: a path member whose
 * base is not the text just before it. Sketches are unknown. */
static int rebuild_latest(TextStore *t, int64_t page, unsigned slot, const Ring *r, SlotState *ss,
                          ErrorInfo *err)
{
    PathEnt path[MAX_LINKS];
    int cons[MAX_LINKS];
    unsigned n = 0;
    uint32_t crc = 0;
    int64_t cur = r->newest_content;
    for (;;) {
        Meta m;
        const Meta *rm = ring_find(r, cur);
        if (rm) {
            m = *rm;
        } else {
            Hdr h;
            int rc = text_read_meta(t, page, cur, slot, &h, err);
            if (rc == DUMP_NOTFOUND)
                return text_fail(err, DUMP_CORRUPT, page, cur, slot, "base of a later text is missing");
            if (rc) return rc;
            if (h.kind == TEXT_EQUAL) return text_fail(err, DUMP_CORRUPT, page, cur, slot, "base is an Equal");
            if (h.kind == TEXT_PACK || h.kind == TEXT_PACKED) {
                /* the newest text is packed: chain on the newest Raw/Delta */
                if (n > 0) return text_fail(err, DUMP_CORRUPT, page, cur, slot, "base is a packed text");
                cur = r->m[(r->next + RING - 1) % RING].rev;
                continue;
            }
            m = (Meta){ cur, h.ref, h.len, h.crc, h.depth, 0 };
        }
        if (n == 0) crc = m.crc;
        if (n > 0 && m.depth >= path[n - 1].depth)
            return text_fail(err, DUMP_CORRUPT, page, path[n - 1].rev, slot, "base rev %" PRId64 " is not shallower", cur);
        if (n == MAX_LINKS) return text_fail(err, DUMP_CORRUPT, page, cur, slot, "chain too long");
        path[n] = (PathEnt){ m.rev, m.len, m.depth };
        cons[n++] = m.consecutive;
        if (m.depth == 0) break;
        cur = m.ref;
    }
    PathEnt fwd[MAX_LINKS];
    unsigned head = 0;
    for (unsigned i = 0; i < n; i++) {
        fwd[i] = path[n - 1 - i];
        if (i > 0 && !cons[n - 1 - i]) head = i;
    }
    Node *node = tw_node_make(fwd, n - 1, fwd[n - 1].rev, fwd[n - 1].len, crc, fwd[n - 1].depth, head);
    if (!node) return text_fail(err, DUMP_NOMEM, page, cur, slot, "out of memory");
    tw_win_push(ss, node);
    return DUMP_OK;
}

/* Make t->ps the state of `page`: scan the headers of its entries. */
int tw_page_load(TextStore *t, int64_t page, ErrorInfo *err)
{
    if (t->ps.valid && t->ps.page == page) return DUMP_OK;
    tw_page_drop(t);
    Ring *rings[256] = { 0 };
    StoreCursor *c = NULL;
    uint8_t key[TEXT_KEY_LEN];
    int rc = store_cursor_open(t->s, t->tree, &c);
    if (rc) return text_fail(err, rc, page, 0, 0, "store: %s", store_errmsg(t->s));
    text_key(key, page, INT64_MIN, 0);
    for (rc = store_cursor_seek_bytes(c, key, TEXT_KEY_LEN, STORE_SEEK_GE); rc == DUMP_OK;
         rc = store_cursor_next(c)) {
        const uint8_t *k, *v;
        size_t kl, vl;
        if ((rc = store_cursor_key_bytes(c, &k, &kl)) || (rc = store_cursor_value(c, &v, &vl))) break;
        if (kl < 8 || text_key_page(k) != page) break;
        if (kl != TEXT_KEY_LEN) {
            rc = text_fail(err, DUMP_CORRUPT, page, 0, 0, "key of %zu bytes in the text tree", kl);
            goto out;
        }
        int64_t rev = text_key_rev(k);
        unsigned slot = k[16];
        Hdr h;
        const char *why = text_hdr_parse(v, vl, rev, &h);
        if (why) {
            rc = text_fail(err, DUMP_CORRUPT, page, rev, slot, "%s", why);
            goto out;
        }
        SlotState *ss = tw_slot_get(t, slot);
        if (!ss || (!rings[slot] && !(rings[slot] = calloc(1, sizeof **rings)))) {
            rc = text_fail(err, DUMP_NOMEM, page, rev, slot, "out of memory");
            goto out;
        }
        Ring *r = rings[slot];
        ss->newest = rev;
        if (h.kind == TEXT_PACK || h.kind == TEXT_PACKED) {
            /* not a base for Deltas; the prefix of the next pack */
            tw_eq_put(ss, h.len, h.crc, rev);
            if (h.kind == TEXT_PACK) {
                ss->pk_hold = rev;
                ss->pk_hold_depth = h.depth;
            }
            if (h.ref == ss->pk_hold || h.kind == TEXT_PACK) {
                ss->pk_last = rev;
                ss->pk_depth = ss->pk_hold_depth;
            }
            r->newest_content = rev;
            continue;
        }
        if (h.kind == TEXT_EQUAL) {
            r->newest_content = h.ref;
            continue;
        }
        tw_eq_put(ss, h.len, h.crc, rev);
        int cons = r->n > 0 && r->m[(r->next + RING - 1) % RING].rev == h.ref;
        r->m[r->next] = (Meta){ rev, h.ref, h.len, h.crc, h.depth, cons };
        r->next = (r->next + 1) % RING;
        if (r->n < RING) r->n++;
        r->newest_content = rev;
    }
    if (rc != DUMP_NOTFOUND && rc != DUMP_OK) {     /* from the cursor */
        rc = text_store_fail(t, err, rc, page, 0, 0);
        goto out;
    }
    store_cursor_close(c);
    c = NULL;
    rc = DUMP_OK;
    for (unsigned s = 0; s < 256 && rc == DUMP_OK; s++)
        if (rings[s] && rings[s]->n) rc = rebuild_latest(t, page, s, rings[s], t->ps.slot[s], err);
    if (rc == DUMP_OK) {
        t->ps.valid = 1;
        t->ps.page = page;
    }
out:
    store_cursor_close(c);
    for (int s = 0; s < 256; s++) free(rings[s]);
    if (rc) tw_page_drop(t);
    return rc;
}

/* ---- choosing a base --------------------------------------------------------------------
 * The structural base follows a staircase (found optimal by a dynamic
 * program over measured delta sizes, benchmarks/text_layout.c): texts chain
 * on the previous one until the chain is as deep as allowed; the next text
 * is a new *run head*, a Delta against the current run head, and chains
 * again from there. Run heads thus form their own chain, one level deeper
 * per run, and runs get one shorter each time: with depth D one Raw serves
 * D + D(D+1)/2 texts (152 for D = 16) while most deltas are against the
 * previous text. A candidate of the window replaces it when its sketch
 * says a delta against it copies much more (reverts of vandalism, edit
 * wars), provided it is no deeper, so the bound still holds. */


static int in_band(uint64_t len, uint64_t blen) { return len <= 2 * blen && blen <= 2 * len; }

static unsigned depth_limit(const TextStore *t, uint64_t len)
{
    unsigned d = (unsigned)t->cfg.max_depth;
    if (t->tune.chain_bytes && len) {
        uint64_t b = t->tune.chain_bytes / len;
        if (b < (uint64_t)t->tune.min_depth) b = (uint64_t)t->tune.min_depth;
        if (b < d) d = (unsigned)b;
    }
    return d;
}

/* A node's sketch, made from its text (usually cached) on first need. A
 * text that fails to decode just has none: it is no candidate then. */
static const Sketch *node_sketch(TextStore *t, int64_t page, unsigned slot, Node *n)
{
    if (!n->sk.ok && !n->sk_tried) {
        const uint8_t *p;
        size_t len;
        ErrorInfo scratch;
        n->sk_tried = 1;
        if (text_load(t, page, n->rev, slot, &p, &len, &scratch) == DUMP_OK)
            sketch_make(t->gear, p, len, &n->sk);
    }
    return n->sk.ok ? &n->sk : NULL;
}

void tw_structural_base(const TextStore *t, const SlotState *ss, uint64_t len, Choice *ch, int *full)
{
    unsigned dmax = depth_limit(t, len);
    const Node *L = ss->latest;
    memset(ch, 0, sizeof *ch);
    *full = 0;
    if (L && L->depth + 1 <= dmax && in_band(len, L->len)) {
        *ch = (Choice){ L, L->npath, L->head };
    } else if (L && t->tune.layout == TEXT_LAYOUT_STAIRS && L->head + 1 < L->npath &&
               L->path[L->head].depth + 1 <= dmax) {
        /* the run head, or if the text has outgrown it, the shallowest
         * ancestor below it still in the size band */
        for (unsigned j = L->head; j + 1 < L->npath && L->path[j].depth + 1 <= dmax; j++)
            if (in_band(len, L->path[j].len)) {
                *ch = (Choice){ L, j + 1, j + 1 };
                break;
            }
    } else if (L && L->depth + 1 > dmax) {
        *full = 1;
    }
}

/* A window text that the sketches say makes a much smaller delta than
 * ch's base, no deeper than it; 1 if ch was changed. sk is the new text's
 * sketch, made here on first need. */
int tw_similar_base(TextStore *t, SlotState *ss, int64_t page, unsigned slot, const uint8_t *text,
                        uint64_t len, Sketch *sk, Choice *ch)
{
    unsigned dmax = depth_limit(t, len);
    const PathEnt *nat = ch->from ? &ch->from->path[ch->keep - 1] : NULL;
    if (!sk->ok) sketch_make(t->gear, text, (size_t)len, sk);
    if (!sk->ok) return 0;
    double limit;          /* what a candidate must beat */
    if (nat) {
        Node *nn = tw_win_find(ss, nat->rev);
        const Sketch *ns = nn ? node_sketch(t, page, slot, nn) : NULL;
        double c = ns ? sketch_contain(sk, ns) : -1;
        limit = 0.5 * (c < 0 ? (double)len : (1.0 - c) * (double)len) - 64;
    } else {
        limit = 0.8 * (double)len;        /* a delta must copy a fifth of the text */
    }
    int changed = 0;
    double best = limit;
    for (unsigned i = ss->nwin; i-- > 0;) {     /* newest first: it wins ties */
        Node *c = ss->win[i];
        if ((nat && c->rev == nat->rev) || c->depth + 1 > dmax || !in_band(len, c->len)) continue;
        if (nat && c->depth > nat->depth) continue;
        const Sketch *cs = node_sketch(t, page, slot, c);
        double sc = cs ? sketch_contain(sk, cs) : -1;
        if (sc < 0) continue;
        double est = (1.0 - sc) * (double)len;
        if (est < best) {
            best = est;
            *ch = (Choice){ c, c->npath, c->head };
            changed = 1;
        }
    }
    return changed;
}

