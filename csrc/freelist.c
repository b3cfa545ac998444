/*
 * freelist.c -- free and pending extents in balanced trees, and the codec of
 * the free-space record.
 *
 * Layer: pure memory above the leaves; calls only status, bytes and the C
 * library. Key invariant: all extents, free and pending, are pairwise
 * disjoint, non-empty, start at block 2 or later and do not wrap; no two free
 * extents touch. So the free extents are exactly the maximal runs of free
 * blocks and every state has one encoding.
 */
#include "freelist.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "bytes.h"
#include "status.h"

/*
 * Each extent is one node linked into two treaps at once:
 *   BY_START  ordered by start;
 *   BY_RANK   ordered by (rank, start), rank being the length of a free
 *             extent and the gen of a pending one.
 * Extents of one set are disjoint, so starts are unique and both orders are
 * total. What each tree answers:
 *   free     BY_START: the neighbours to merge with, the extent ending at the
 *            file's end, overlap; BY_RANK: best fit is the first node with
 *            key >= (n, 0), i.e. the smallest length >= n, lowest start first.
 *   pending  BY_START: overlap; BY_RANK: release pops the first node while
 *            its gen <= maxgen.
 *
 * A treap is a search tree by key and a max-heap by a random priority; its
 * shape is the one a plain search tree gets when the keys arrive in priority
 * order, so with priorities independent of the keys the expected depth is
 * O(log n) whatever order the caller uses (decode and copy insert in sorted
 * order). One priority per node serves both trees: in each tree it is still
 * independent of that tree's keys. Priorities come from a xorshift generator
 * held in the Freelist with a fixed seed, so runs are reproducible.
 *
 * Insert walks down while the node above has the higher priority, then splits
 * the subtree found there around the new key into the node's two children.
 * Remove replaces the node by the join of its children. Both are one loop
 * from the root, no recursion. A linked node's key is never edited: changing
 * an extent is unlink, edit, link.
 */
enum { BY_START, BY_RANK };

typedef struct Extent {
    uint64_t start, len, gen;       /* gen is 0 in the free set */
    struct Extent *kid[2][2];       /* [tree][0 left, 1 right] */
    uint32_t prio;
} Extent;

typedef struct Set {
    Extent *root[2];
    int by_gen;                     /* BY_RANK ranks by gen, else by len */
    size_t count;
    uint64_t blocks;
} Set;

struct Freelist {
    Set free, pending;
    uint64_t rng;                   /* xorshift state, never 0 */
};

static uint32_t next_prio(Freelist *fl)
{
    uint64_t x = fl->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    fl->rng = x;
    return (uint32_t)((x * 0x2545F4914F6CDD1DULL) >> 32);
}

/* First component of e's key in tree t; the second is always e->start. */
static uint64_t key0(const Set *s, int t, const Extent *e)
{
    return t == BY_START ? e->start : s->by_gen ? e->gen : e->len;
}

/* Is e's key in tree t below (k0, k1)? */
static int below(const Set *s, int t, const Extent *e, uint64_t k0, uint64_t k1)
{
    uint64_t e0 = key0(s, t, e);
    return e0 < k0 || (e0 == k0 && e->start < k1);
}

/* Split subtree x into the keys below (k0, k1), at *lo, and the rest, at *hi. */
static void tree_split(const Set *s, int t, Extent *x, uint64_t k0, uint64_t k1,
                       Extent **lo, Extent **hi)
{
    while (x) {
        if (below(s, t, x, k0, k1)) {
            *lo = x;
            lo = &x->kid[t][1];
            x = *lo;
        } else {
            *hi = x;
            hi = &x->kid[t][0];
            x = *hi;
        }
    }
    *lo = *hi = NULL;
}

/* Join a and b (every key of a below every key of b) into *out. */
static void tree_join(int t, Extent *a, Extent *b, Extent **out)
{
    while (a && b) {
        if (a->prio >= b->prio) {
            *out = a;
            out = &a->kid[t][1];
            a = *out;
        } else {
            *out = b;
            out = &b->kid[t][0];
            b = *out;
        }
    }
    *out = a ? a : b;
}

static void tree_insert(Set *s, int t, Extent *e)
{
    uint64_t k0 = key0(s, t, e);
    Extent **link = &s->root[t];

    while (*link && (*link)->prio > e->prio)
        link = &(*link)->kid[t][below(s, t, *link, k0, e->start)];
    tree_split(s, t, *link, k0, e->start, &e->kid[t][0], &e->kid[t][1]);
    *link = e;
}

/* e must be linked in tree t. */
static void tree_remove(Set *s, int t, Extent *e)
{
    uint64_t k0 = key0(s, t, e);
    Extent **link = &s->root[t];

    while (*link != e)
        link = &(*link)->kid[t][below(s, t, *link, k0, e->start)];
    tree_join(t, e->kid[t][0], e->kid[t][1], link);
}

/* First node of tree t with key >= (k0, k1), or NULL. */
static Extent *tree_lower(const Set *s, int t, uint64_t k0, uint64_t k1)
{
    Extent *x = s->root[t], *best = NULL;

    while (x) {
        if (below(s, t, x, k0, k1)) {
            x = x->kid[t][1];
        } else {
            best = x;
            x = x->kid[t][0];
        }
    }
    return best;
}

/* Last extent of s starting before pos, or NULL. */
static Extent *last_before(const Set *s, uint64_t pos)
{
    Extent *x = s->root[BY_START], *best = NULL;

    while (x) {
        if (x->start < pos) {
            best = x;
            x = x->kid[BY_START][1];
        } else {
            x = x->kid[BY_START][0];
        }
    }
    return best;
}

static Extent *find_start(const Set *s, uint64_t pos)
{
    Extent *x = tree_lower(s, BY_START, pos, 0);
    return x && x->start == pos ? x : NULL;
}

/* Does [start, end) overlap an extent of s? Only the last extent starting
 * before end can: every earlier one ends at or before that one's start. */
static int set_overlaps(const Set *s, uint64_t start, uint64_t end)
{
    const Extent *x = last_before(s, end);
    return x && x->start + x->len > start;
}

static void set_link(Set *s, Extent *e)
{
    tree_insert(s, BY_START, e);
    tree_insert(s, BY_RANK, e);
    s->count++;
    s->blocks += e->len;
}

static void set_unlink(Set *s, Extent *e)
{
    tree_remove(s, BY_START, e);
    tree_remove(s, BY_RANK, e);
    s->count--;
    s->blocks -= e->len;
}

static Extent *extent_new(Freelist *fl, uint64_t start, uint64_t len, uint64_t gen)
{
    Extent *e = malloc(sizeof *e);

    if (e) {
        e->start = start;
        e->len = len;
        e->gen = gen;
        e->prio = next_prio(fl);
    }
    return e;
}

/* Post-order over BY_START; recursion depth is the tree's depth. */
static void tree_destroy(Extent *x)
{
    while (x) {
        Extent *right = x->kid[BY_START][1];
        tree_destroy(x->kid[BY_START][0]);
        free(x);
        x = right;
    }
}

static int tree_visit(const Extent *x, freelist_visit_fn cb, void *ctx)
{
    int rc;

    while (x) {
        if ((rc = tree_visit(x->kid[BY_START][0], cb, ctx)) != 0)
            return rc;
        if ((rc = cb(ctx, x->start, x->len, x->gen)) != 0)
            return rc;
        x = x->kid[BY_START][1];
    }
    return 0;
}

Freelist *freelist_new(void)
{
    Freelist *fl = calloc(1, sizeof *fl);

    if (fl) {
        fl->pending.by_gen = 1;
        fl->rng = 0x9E3779B97F4A7C15ULL;
    }
    return fl;
}

void freelist_clear(Freelist *fl)
{
    tree_destroy(fl->free.root[BY_START]);
    tree_destroy(fl->pending.root[BY_START]);
    fl->free = (Set){ .by_gen = 0 };
    fl->pending = (Set){ .by_gen = 1 };
}

void freelist_free(Freelist *fl)
{
    if (fl) {
        freelist_clear(fl);
        free(fl);
    }
}

/* Visitor for freelist_copy; gen >= 1 exactly for pending extents. */
static int copy_one(void *ctx, uint64_t start, uint64_t len, uint64_t gen)
{
    Freelist *dst = ctx;
    Extent *e = extent_new(dst, start, len, gen);

    if (!e)
        return DUMP_NOMEM;
    set_link(gen ? &dst->pending : &dst->free, e);
    return 0;
}

int freelist_copy(Freelist *dst, const Freelist *src)
{
    int rc;

    if (dst == src)
        return DUMP_OK;
    freelist_clear(dst);
    rc = tree_visit(src->free.root[BY_START], copy_one, dst);
    if (rc == 0)
        rc = tree_visit(src->pending.root[BY_START], copy_one, dst);
    if (rc != 0)
        freelist_clear(dst);
    return rc;
}

/* An extent the structure can hold: non-empty, clear of the header slots,
 * not wrapping past 2^64. */
static int range_ok(uint64_t start, uint64_t len)
{
    return len >= 1 && start >= 2 && len <= UINT64_MAX - start;
}

static int overlaps_any(const Freelist *fl, uint64_t start, uint64_t len)
{
    return set_overlaps(&fl->free, start, start + len) ||
           set_overlaps(&fl->pending, start, start + len);
}

/* Put [start, start+len), disjoint from both sets, into the free set, merging
 * with the free neighbours. spare (may be NULL) is a detached node the caller
 * gives up; a node is allocated only if none is given and nothing merges. */
static int free_put(Freelist *fl, uint64_t start, uint64_t len, Extent *spare)
{
    Set *s = &fl->free;
    Extent *l = last_before(s, start), *r = find_start(s, start + len);

    if (l && l->start + l->len != start)
        l = NULL;
    if (!l && !r) {
        if (!spare && !(spare = extent_new(fl, start, len, 0)))
            return DUMP_NOMEM;
        spare->start = start;
        spare->len = len;
        spare->gen = 0;
        set_link(s, spare);
        return DUMP_OK;
    }
    free(spare);
    if (r) {
        set_unlink(s, r);
        len += r->len;
    }
    if (l) {
        set_unlink(s, l);
        l->len += len;
        set_link(s, l);
        free(r);
    } else {
        r->start = start;
        r->len = len;
        set_link(s, r);
    }
    return DUMP_OK;
}

int freelist_add_free(Freelist *fl, uint64_t start, uint64_t len)
{
    if (!range_ok(start, len) || overlaps_any(fl, start, len))
        return DUMP_CORRUPT;
    return free_put(fl, start, len, NULL);
}

int freelist_add_pending(Freelist *fl, uint64_t start, uint64_t len, uint64_t gen)
{
    Extent *e;

    if (gen == 0)
        return DUMP_INVALID;
    if (!range_ok(start, len) || overlaps_any(fl, start, len))
        return DUMP_CORRUPT;
    if (!(e = extent_new(fl, start, len, gen)))
        return DUMP_NOMEM;
    set_link(&fl->pending, e);
    return DUMP_OK;
}

/* Never allocates: each released node is handed to free_put as its spare. */
int freelist_release(Freelist *fl, uint64_t maxgen)
{
    Extent *e;

    while ((e = tree_lower(&fl->pending, BY_RANK, 0, 0)) && e->gen <= maxgen) {
        set_unlink(&fl->pending, e);
        free_put(fl, e->start, e->len, e);
    }
    return DUMP_OK;
}

/* Never allocates either. DUMP_INVALID (outside the header's list) for n == 0,
 * a file without its header slots, or a file that would pass 2^64 blocks. */
int freelist_alloc(Freelist *fl, uint64_t n, uint64_t *nblocks, uint64_t *start)
{
    Set *s = &fl->free;
    Extent *e;
    uint64_t grow = n;

    if (n == 0 || *nblocks < 2)
        return DUMP_INVALID;
    if ((e = tree_lower(s, BY_RANK, n, 0)) != NULL) {
        *start = e->start;
        set_unlink(s, e);
        if (e->len == n) {
            free(e);
        } else {
            e->start += n;
            e->len -= n;
            set_link(s, e);
        }
        return DUMP_OK;
    }
    /* Nothing fits, so a free extent at the tail is shorter than n. */
    e = last_before(s, *nblocks);
    if (e && e->start + e->len != *nblocks)
        e = NULL;
    if (e)
        grow = n - e->len;
    if (grow > UINT64_MAX - *nblocks)
        return DUMP_INVALID;
    *start = e ? e->start : *nblocks;
    *nblocks += grow;
    if (e) {
        set_unlink(s, e);
        free(e);
    }
    return DUMP_OK;
}

void freelist_trim_tail(Freelist *fl, uint64_t *nblocks)
{
    Extent *e;

    while ((e = last_before(&fl->free, *nblocks)) && e->start + e->len == *nblocks) {
        *nblocks = e->start;
        set_unlink(&fl->free, e);
        free(e);
    }
}

uint64_t freelist_free_blocks(const Freelist *fl) { return fl->free.blocks; }
uint64_t freelist_pending_blocks(const Freelist *fl) { return fl->pending.blocks; }
size_t freelist_free_extents(const Freelist *fl) { return fl->free.count; }
size_t freelist_pending_extents(const Freelist *fl) { return fl->pending.count; }

uint64_t freelist_min_pending_gen(const Freelist *fl)
{
    const Extent *e = tree_lower(&fl->pending, BY_RANK, 0, 0);
    return e ? e->gen : 0;
}

int freelist_foreach_free(const Freelist *fl, freelist_visit_fn cb, void *ctx)
{
    return tree_visit(fl->free.root[BY_START], cb, ctx);
}

int freelist_foreach_pending(const Freelist *fl, freelist_visit_fn cb, void *ctx)
{
    return tree_visit(fl->pending.root[BY_START], cb, ctx);
}

/* ---- The free-space record (see freelist.h and docs/format.md). ---- */

/* One pass serves both sizing (buf NULL) and writing. */
typedef struct Writer {
    uint8_t *buf;
    size_t pos;
    uint64_t prev_end;
} Writer;

static void put_varint(Writer *w, uint64_t v)
{
    w->pos += w->buf ? varint_put(w->buf + w->pos, v) : varint_len(v);
}

/* gen >= 1 exactly for pending extents, which carry it in the record. */
static int put_extent(void *ctx, uint64_t start, uint64_t len, uint64_t gen)
{
    Writer *w = ctx;

    put_varint(w, start - w->prev_end);
    put_varint(w, len);
    if (gen)
        put_varint(w, gen);
    w->prev_end = start + len;
    return 0;
}

/* Each set's deltas restart from 0: the two sets interleave on disk. */
static size_t write_record(const Freelist *fl, uint8_t *buf)
{
    Writer w = { buf, 0, 0 };

    put_varint(&w, fl->free.count);
    tree_visit(fl->free.root[BY_START], put_extent, &w);
    w.prev_end = 0;
    put_varint(&w, fl->pending.count);
    tree_visit(fl->pending.root[BY_START], put_extent, &w);
    return w.pos;
}

size_t freelist_encoded_size(const Freelist *fl)
{
    return write_record(fl, NULL);
}

/* Writes nothing and returns 0 if cap is too small. */
size_t freelist_encode(const Freelist *fl, uint8_t *buf, size_t cap)
{
    if (cap < freelist_encoded_size(fl))
        return 0;
    return write_record(fl, buf);
}

typedef struct Reader {
    const uint8_t *base, *p, *end;
    uint64_t nblocks, maxgen;
    ErrorInfo *err;
} Reader;

static int get_varint(Reader *r, uint64_t *v)
{
    size_t n = varint_get(r->p, r->end, v);
    r->p += n;
    return n != 0;
}

__attribute__((format(printf, 3, 4)))
static int bad(Reader *r, size_t at, const char *fmt, ...)
{
    char why[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    return error_set(r->err, DUMP_CORRUPT, "free-space record: %s (at byte %zu)", why, at);
}

/* Checks one decoded extent of set `kind`; i is its index, delta its gap. */
static int check_extent(Reader *r, size_t at, int pending, uint64_t i,
                        uint64_t prev_end, uint64_t delta, uint64_t len, uint64_t gen)
{
    const char *kind = pending ? "pending" : "free";
    uint64_t start;

    if (delta > UINT64_MAX - prev_end)
        return bad(r, at, "%s extent %" PRIu64 ": start overflows", kind, i);
    start = prev_end + delta;
    if (!pending && i > 0 && delta == 0)
        return bad(r, at, "free extent %" PRIu64 ": touches the previous one", i);
    if (start < 2)
        return bad(r, at, "%s extent %" PRIu64 ": covers a header block", kind, i);
    if (len == 0)
        return bad(r, at, "%s extent %" PRIu64 ": empty", kind, i);
    if (start >= r->nblocks || len > r->nblocks - start)
        return bad(r, at, "%s extent %" PRIu64 ": [%" PRIu64 ", +%" PRIu64
                   ") passes the end of the file (%" PRIu64 " blocks)",
                   kind, i, start, len, r->nblocks);
    if (pending && (gen == 0 || gen > r->maxgen))
        return bad(r, at, "pending extent %" PRIu64 ": gen %" PRIu64
                   " outside [1, %" PRIu64 "]", i, gen, r->maxgen);
    return DUMP_OK;
}

/* Reads one set. Its own order rules out overlap inside it; a pending extent
 * is also checked against the free set, which is complete by then. */
static int decode_set(Freelist *fl, Reader *r, int pending)
{
    Set *s = pending ? &fl->pending : &fl->free;
    const char *kind = pending ? "pending" : "free";
    uint64_t count, prev_end = 0;
    size_t at = (size_t)(r->p - r->base);

    if (!get_varint(r, &count))
        return bad(r, at, "%s count: truncated or overlong varint", kind);
    if (count > (uint64_t)(r->end - r->p) / (pending ? 3 : 2))
        return bad(r, at, "%s count %" PRIu64 " exceeds the record", kind, count);
    for (uint64_t i = 0; i < count; i++) {
        uint64_t delta, len, gen = 0;
        Extent *e;
        int rc;

        at = (size_t)(r->p - r->base);
        if (!get_varint(r, &delta) || !get_varint(r, &len) || (pending && !get_varint(r, &gen)))
            return bad(r, at, "%s extent %" PRIu64 ": truncated or overlong varint", kind, i);
        if ((rc = check_extent(r, at, pending, i, prev_end, delta, len, gen)) != DUMP_OK)
            return rc;
        if (pending && set_overlaps(&fl->free, prev_end + delta, prev_end + delta + len))
            return bad(r, at, "pending extent %" PRIu64 ": overlaps a free extent", i);
        if (!(e = extent_new(fl, prev_end + delta, len, gen)))
            return error_set(r->err, DUMP_NOMEM, "free-space record: out of memory");
        set_link(s, e);
        prev_end = e->start + len;
    }
    return DUMP_OK;
}

int freelist_decode(Freelist *fl, const uint8_t *buf, size_t len,
                    uint64_t nblocks, uint64_t maxgen, ErrorInfo *err)
{
    static const uint8_t none[1];
    ErrorInfo scratch;
    Reader r = { buf, buf, buf + len, nblocks, maxgen, err ? err : &scratch };
    int rc;

    if (len == 0)       /* buf may be NULL; keep pointer arithmetic defined */
        r.base = r.p = r.end = none;
    freelist_clear(fl);
    rc = decode_set(fl, &r, 0);
    if (rc == DUMP_OK)
        rc = decode_set(fl, &r, 1);
    if (rc == DUMP_OK && r.p != r.end)
        rc = bad(&r, (size_t)(r.p - r.base), "%zu trailing bytes", (size_t)(r.end - r.p));
    if (rc != DUMP_OK)
        freelist_clear(fl);
    return rc;
}
