/*
 * test_node.c -- unit tests of the tree-node codec and editor (node.h).
 *
 * Pure memory, no files. Hand-built nodes round-trip through
 * node_encode/node_decode; a fixed-seed random edit loop checks that
 * Node.size (node_bytes) always equals the encoded length and that the
 * memory accounting follows the owned bytes; hand-written payloads check
 * each rejection of the decoder. Prints "node: N passed, M failed" last.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "node.h"
#include "testutil.h"

#define LIMIT   ((uint64_t)1 << 30)     /* blocks in the pretend file */
#define BUFCAP  (1 << 16)

static uint8_t g_buf[BUFCAP], g_buf2[BUFCAP];

/* ---- building entries ---- */

static uint8_t *dup_mem(const void *p, size_t n)
{
    uint8_t *d = malloc(n ? n : 1);
    if (n) memcpy(d, p, n);
    return d;
}

/* Leaf entry with an owned inline value of vlen pattern bytes, or an extent
 * value when vx != 0. */
static Entry leaf_int(int64_t k, size_t vlen, uint64_t vx)
{
    Entry e;
    memset(&e, 0, sizeof e);
    e.ikey = k;
    if (vx) { e.vx = vx; e.vxlen = vlen; return e; }
    e.val = malloc(vlen ? vlen : 1);
    tu_pattern(e.val, vlen, (uint64_t)k, vlen);
    e.vlen = (uint32_t)vlen;
    e.flags = E_OWN_VAL;
    return e;
}

/* Byte key (owned); kx != 0 makes it a long key stored in an extent. */
static Entry key_bytes(const void *k, size_t klen, uint64_t kx)
{
    Entry e;
    memset(&e, 0, sizeof e);
    e.key = dup_mem(k, klen);
    e.klen = (uint32_t)klen;
    e.kx = kx;
    e.flags = E_OWN_KEY;
    return e;
}

static Entry leaf_bytes(const void *k, size_t klen, uint64_t kx, size_t vlen, uint64_t vx)
{
    Entry e = key_bytes(k, klen, kx);
    if (vx) { e.vx = vx; e.vxlen = vlen; return e; }
    e.val = malloc(vlen ? vlen : 1);
    tu_pattern(e.val, vlen, klen, vlen);
    e.vlen = (uint32_t)vlen;
    e.flags |= E_OWN_VAL;
    return e;
}

static void add(Node *n, Entry e)
{
    if (node_insert(n, n->n, &e) != DUMP_OK) { fprintf(stderr, "out of memory\n"); exit(2); }
}

/* ---- comparing and round-tripping ---- */

static int entry_eq(const Node *n, const Entry *a, const Entry *b, int decoded_b)
{
    if (n->key_type == KEY_INT) {
        if (a->ikey != b->ikey) return 0;
    } else {
        if (a->klen != b->klen || a->kx != b->kx) return 0;
        if (a->kx && decoded_b) {
            if (b->key != NULL) return 0;            /* long keys come back unloaded */
        } else if (a->klen && memcmp(a->key, b->key, a->klen) != 0) {
            return 0;
        }
    }
    if (!n->leaf) return a->child == b->child;
    if (a->vx != b->vx) return 0;
    if (a->vx) return a->vxlen == b->vxlen;
    return a->vlen == b->vlen && (!a->vlen || memcmp(a->val, b->val, a->vlen) == 0);
}

/* Encode n, check the length against node_bytes, decode, compare, re-encode
 * byte-identically; the same for a clone of the decoded node. */
static int roundtrip(const Node *n)
{
    int ok = 1;
    size_t len = node_encode(n, g_buf);
    if (len != node_bytes(n)) { fprintf(stderr, "  encoded %zu, node_bytes %zu\n", len, node_bytes(n)); ok = 0; }
    Node *d = NULL;
    ErrorInfo err;
    int rc = node_decode(g_buf, len, n->leaf, n->level, LIMIT, &d, &err);
    if (rc != DUMP_OK) { fprintf(stderr, "  decode: %s %s\n", status_name(rc), err.msg); return 0; }
    if (d->n != n->n || d->leaf != n->leaf || d->key_type != n->key_type || d->level != n->level
        || (!n->leaf && d->child0 != n->child0))
        ok = 0;
    for (uint32_t i = 0; ok && i < n->n; i++)
        if (!entry_eq(n, &n->e[i], &d->e[i], 1)) { fprintf(stderr, "  entry %u differs\n", i); ok = 0; }
    if (node_bytes(d) != len || node_encode(d, g_buf2) != len || memcmp(g_buf, g_buf2, len) != 0) ok = 0;
    Node *c = node_clone(d);
    if (!c || c->size != d->size || node_encode(c, g_buf2) != len || memcmp(g_buf, g_buf2, len) != 0) ok = 0;
    node_free(c);
    node_free(d);
    return ok;
}

/* ---- round trips ---- */

static void test_int_roundtrip(void)
{
    const int64_t keys[] = { INT64_MIN, INT64_MIN + 1, -1000000000000000000LL, -70000, -64, -63, -5,
                             -1, 0, 1, 2, 63, 64, 127, 128, 16384, (int64_t)1 << 40,
                             INT64_MAX / 2, INT64_MAX - 1, INT64_MAX };
    const size_t nk = sizeof keys / sizeof keys[0];
    Node *n = node_new(1, KEY_INT, 0);
    for (size_t i = 0; i < nk; i++)
        add(n, leaf_int(keys[i], i % 5 == 4 ? 769 + i : (i * 37) % (VAL_INLINE_MAX + 1),
                        i % 5 == 4 ? 1000 + i : 0));
    add(n, leaf_int(INT64_MAX, 0, 0));   /* duplicate removed below; exercises remove */
    node_remove(n, n->n - 1);
    CHECK(n->n == nk);
    CHECK(roundtrip(n));
    node_free(n);

    /* Each extreme alone, and the widest possible gap. */
    for (size_t i = 0; i < nk; i++) {
        n = node_new(1, KEY_INT, 0);
        add(n, leaf_int(keys[i], 3, 0));
        CHECK(roundtrip(n));
        node_free(n);
    }
    n = node_new(1, KEY_INT, 0);
    add(n, leaf_int(INT64_MIN, 0, 0));
    add(n, leaf_int(INT64_MAX, VAL_INLINE_MAX, 0));
    CHECK(roundtrip(n));
    node_free(n);

    /* Branch nodes: children at varint boundaries, at level 5. */
    const uint64_t kids[] = { 2, 127, 128, 16383, 16384, LIMIT - 1 };
    n = node_new(0, KEY_INT, 5);
    n->child0 = LIMIT - 1;
    for (size_t i = 0; i < nk; i++) {
        Entry e;
        memset(&e, 0, sizeof e);
        e.ikey = keys[i];
        e.child = kids[i % 6];
        add(n, e);
    }
    CHECK(roundtrip(n));
    node_free(n);
}

static void test_bytes_roundtrip(void)
{
    uint8_t big[2000];
    memset(big, 'k', sizeof big);
    Node *n = node_new(1, KEY_BYTES, 0);
    add(n, leaf_bytes("", 0, 0, 0, 0));                        /* empty key, empty value */
    add(n, leaf_bytes("a", 1, 0, 1, 0));
    add(n, leaf_bytes("ab", 2, 0, VAL_INLINE_MAX, 0));          /* largest inline value */
    add(n, leaf_bytes("abc", 3, 0, VAL_INLINE_MAX + 1, 77));    /* smallest extent value */
    add(n, leaf_bytes("abcd", 4, 0, 5, 0));
    add(n, leaf_bytes("abd", 3, 0, 0, 0));
    add(n, leaf_bytes(big, KEY_INLINE_MAX, 0, 10, 0));         /* largest inline key */
    add(n, leaf_bytes(big, KEY_INLINE_MAX + 1, 900, 11, 0));   /* smallest long key */
    add(n, leaf_bytes(big, 2000, 1900, (uint64_t)1 << 33, 5000));   /* long key, huge value */
    uint8_t kz[KEY_INLINE_MAX];
    memset(kz, 'k', sizeof kz);
    kz[KEY_INLINE_MAX - 1] = 'z';
    add(n, leaf_bytes(kz, KEY_INLINE_MAX, 0, 1, 0));            /* after a long key: no prefix */
    add(n, leaf_bytes("l", 1, 0, 2, 0));
    CHECK(roundtrip(n));
    node_free(n);

    /* Long shared prefixes at the varint boundary (127 / 128 / 511). */
    n = node_new(1, KEY_BYTES, 0);
    uint8_t k[KEY_INLINE_MAX];
    const size_t pre[] = { 126, 127, 128, 129, 300, 510 };
    memset(k, 'p', sizeof k);
    k[KEY_INLINE_MAX - 1] = 0;
    for (size_t i = 0; i < sizeof pre / sizeof pre[0]; i++) {
        k[pre[i]] = (uint8_t)('q' + i);
        add(n, leaf_bytes(k, pre[i] + 1 + i % 2, 0, i, 0));
    }
    CHECK(roundtrip(n));
    node_free(n);

    /* A branch of byte keys, one of them long. */
    n = node_new(0, KEY_BYTES, 1);
    n->child0 = 2;
    const char *sep[] = { "b", "ba", "bb", "c" };
    for (int i = 0; i < 4; i++) {
        Entry e = key_bytes(sep[i], strlen(sep[i]), 0);
        e.child = 3 + (uint64_t)i;
        add(n, e);
    }
    Entry e = key_bytes(big, 1500, 4242);
    e.child = 16384;
    add(n, e);
    CHECK(roundtrip(n));
    node_free(n);
}

/* ---- search ---- */

static void test_search(void)
{
    int eq = -1;
    Node *n = node_new(1, KEY_INT, 0);
    CHECK(node_search_int(n, 5, &eq) == 0 && eq == 0);
    const int64_t ks[] = { -10, -5, 0, 7, 100 };
    for (int i = 0; i < 5; i++) add(n, leaf_int(ks[i], 0, 0));
    struct { int64_t k; uint32_t idx; int eq; } ic[] = {
        { INT64_MIN, 0, 0 }, { -11, 0, 0 }, { -10, 0, 1 }, { -9, 1, 0 }, { -5, 1, 1 }, { -1, 2, 0 },
        { 0, 2, 1 }, { 6, 3, 0 }, { 7, 3, 1 }, { 99, 4, 0 }, { 100, 4, 1 }, { 101, 5, 0 },
        { INT64_MAX, 5, 0 },
    };
    for (size_t i = 0; i < sizeof ic / sizeof ic[0]; i++) {
        uint32_t r = node_search_int(n, ic[i].k, &eq);
        if (r != ic[i].idx || eq != ic[i].eq)
            fprintf(stderr, "  int probe %" PRId64 ": %u/%d\n", ic[i].k, r, eq);
        CHECK(r == ic[i].idx && eq == ic[i].eq);
    }
    node_free(n);

    n = node_new(1, KEY_BYTES, 0);
    CHECK(node_search_bytes(n, (const uint8_t *)"", 0, &eq) == 0 && eq == 0);
    const char *bk[] = { "", "a", "ab", "b", "ba", "b\xff" };
    for (int i = 0; i < 6; i++) add(n, leaf_bytes(bk[i], strlen(bk[i]), 0, 0, 0));
    struct { const char *k; uint32_t idx; int eq; } bc[] = {
        { "", 0, 1 }, { "0", 1, 0 }, { "a", 1, 1 }, { "aa", 2, 0 }, { "ab", 2, 1 }, { "abc", 3, 0 },
        { "b", 3, 1 }, { "b\x01", 4, 0 }, { "ba", 4, 1 }, { "bb", 5, 0 }, { "b\xff", 5, 1 },
        { "b\xff\x00", 6, 0 }, { "c", 6, 0 },
    };
    for (size_t i = 0; i < sizeof bc / sizeof bc[0]; i++) {
        size_t len = strlen(bc[i].k) + (i == 11);   /* "b\xff\0" has an explicit NUL */
        uint32_t r = node_search_bytes(n, (const uint8_t *)bc[i].k, len, &eq);
        if (r != bc[i].idx || eq != bc[i].eq) fprintf(stderr, "  bytes probe %zu: %u/%d\n", i, r, eq);
        CHECK(r == bc[i].idx && eq == bc[i].eq);
    }
    CHECK(key_cmp_bytes((const uint8_t *)"a", 1, (const uint8_t *)"ab", 2) < 0);
    CHECK(key_cmp_bytes((const uint8_t *)"b", 1, (const uint8_t *)"ab", 2) > 0);
    CHECK(key_cmp_bytes(NULL, 0, NULL, 0) == 0);
    CHECK(key_cmp_bytes((const uint8_t *)"\x80", 1, (const uint8_t *)"\x7f", 1) > 0);   /* unsigned */
    node_free(n);
}

/* ---- random edits: size and memory accounting ---- */

static uint8_t g_shared_val[VAL_INLINE_MAX];   /* backing for non-owned values */

static size_t owned_bytes(const Node *n)
{
    size_t s = 0;
    for (uint32_t i = 0; i < n->n; i++) {
        if (n->e[i].flags & E_OWN_KEY) s += n->e[i].klen;
        if (n->e[i].flags & E_OWN_VAL) s += n->e[i].vlen;
    }
    return s;
}

/* A random byte key: short keys over a 3-letter alphabet (many shared
 * prefixes), sometimes up to KEY_INLINE_MAX, sometimes long (kx set). */
static size_t rand_key(uint8_t *k, uint64_t *kx)
{
    size_t len;
    uint64_t r = rng_below(100);
    *kx = 0;
    if (r < 80) len = rng_below(12);
    else if (r < 95) len = 100 + rng_below(KEY_INLINE_MAX - 99);
    else { len = KEY_INLINE_MAX + 1 + rng_below(1500); *kx = 2 + rng_below(LIMIT - 1000); }
    size_t run = len > 20 ? len - rng_below(8) : 0;   /* long runs of 'a' then noise */
    for (size_t i = 0; i < len; i++) k[i] = i < run ? 'a' : (uint8_t)('a' + rng_below(3));
    return len;
}

static uint64_t rand_child(void)
{
    const uint64_t c[] = { 2, 127, 128, 16383, 16384, 2097152, LIMIT - 1 };
    return c[rng_below(7)];
}

static void rand_value(Entry *e, uint64_t *vx, uint64_t *vxlen)
{
    uint64_t r = rng_below(10);
    *vx = 0;
    *vxlen = 0;
    e->val = NULL;
    e->vlen = 0;
    if (r < 2) {
        *vx = 2 + rng_below(1000000);
        *vxlen = VAL_INLINE_MAX + 1 + rng_below(100000);
    } else {
        e->vlen = (uint32_t)(r < 8 ? rng_below(40) : rng_below(VAL_INLINE_MAX + 1));
    }
}

static int check_node_sizes(const Node *n, long step, int full)
{
    size_t len = node_encode(n, g_buf);
    size_t want_size = n->size;
    if (full) {
        want_size = 0;
        for (uint32_t i = 0; i < n->n; i++) want_size += node_entry_size(n, i);
    }
    if (len != node_bytes(n) || want_size != n->size) {
        fprintf(stderr, "  step %ld: encoded %zu, node_bytes %zu, size %zu vs %zu\n", step, len,
                node_bytes(n), n->size, want_size);
        return 0;
    }
    return 1;
}

static void edit_loop(int leaf, int key_type, long steps)
{
    Node *n = node_new(leaf, key_type, leaf ? 0 : 2);
    uint8_t k[KEY_INLINE_MAX + 1600];
    if (!leaf) n->child0 = rand_child();
    long step;
    int ok = 1, mem_ok = 1, search_ok = 1;
    for (step = 0; step < steps && ok; step++) {
        uint64_t op = rng_below(100);
        if (n->n == 0 || (op < 45 && node_bytes(n) < BLOCK_PAYLOAD + BLOCK_PAYLOAD / 4)) {
            /* insert a key not present, at its sorted place */
            Entry e;
            memset(&e, 0, sizeof e);
            int eq;
            uint32_t at;
            if (key_type == KEY_INT) {
                uint64_t r = rng_below(4);
                e.ikey = r == 0 ? (int64_t)rng_next()
                       : r == 1 ? (int64_t)rng_below(1000) - 500
                       : r == 2 ? (rng_below(2) ? INT64_MAX - (int64_t)rng_below(5)
                                                : INT64_MIN + (int64_t)rng_below(5))
                       : (int64_t)rng_below(1u << 20) << 20;
                at = node_search_int(n, e.ikey, &eq);
            } else {
                uint64_t kx;
                size_t klen = rand_key(k, &kx);
                at = node_search_bytes(n, k, klen, &eq);
                if (!eq) { e = key_bytes(k, klen, kx); }
            }
            if (eq) continue;
            if (leaf) {
                uint64_t vx, vxlen;
                rand_value(&e, &vx, &vxlen);
                if (vx) { e.vx = vx; e.vxlen = vxlen; }
                else { e.val = malloc(e.vlen ? e.vlen : 1); rng_fill(e.val, e.vlen); e.flags |= E_OWN_VAL; }
            } else {
                e.child = rand_child();
            }
            CHECK_RC(node_insert(n, at, &e), DUMP_OK);
        } else if (op < 75) {
            uint32_t i = (uint32_t)rng_below(n->n);
            if (rng_below(4) == 0) {
                Entry out;
                node_take(n, i, &out);
                if (out.flags & E_OWN_KEY) free(out.key);
                if (out.flags & E_OWN_VAL) free(out.val);
            } else {
                node_remove(n, i);
            }
        } else if (leaf) {
            uint32_t i = (uint32_t)rng_below(n->n);
            Entry v;
            uint64_t vx, vxlen;
            rand_value(&v, &vx, &vxlen);
            if (vx) {
                node_set_value(n, i, NULL, 0, 0, vx, vxlen);
            } else if (rng_below(3) == 0) {
                node_set_value(n, i, g_shared_val, v.vlen, 0, 0, 0);     /* borrowed bytes */
            } else {
                uint8_t *b = malloc(v.vlen ? v.vlen : 1);
                rng_fill(b, v.vlen);
                node_set_value(n, i, b, v.vlen, 1, 0, 0);
            }
        } else {
            int64_t i = (int64_t)rng_below(n->n + 1) - 1;
            node_set_child(n, i, rand_child());
        }
        ok = check_node_sizes(n, step, step % 16 == 0);
        if (n->mem != owned_bytes(n)) {
            if (mem_ok) fprintf(stderr, "  step %ld: mem %zu, owned bytes %zu\n", step, n->mem, owned_bytes(n));
            mem_ok = 0;
        }
        if (step % 64 == 0) {
            if (!roundtrip(n)) { fprintf(stderr, "  step %ld: round trip failed\n", step); ok = 0; }
            /* Search agrees with a linear scan for every present key. */
            for (uint32_t i = 0; i < n->n && search_ok; i++) {
                int eq;
                uint32_t r = key_type == KEY_INT ? node_search_int(n, n->e[i].ikey, &eq)
                                                 : node_search_bytes(n, n->e[i].key, n->e[i].klen, &eq);
                if (r != i || !eq) search_ok = 0;
            }
        }
    }
    CHECK(ok);
    CHECK(mem_ok);
    CHECK(search_ok);
    CHECK(roundtrip(n));
    /* Emptied, the node encodes to its fixed part and holds no bytes. */
    while (n->n) node_remove(n, (uint32_t)rng_below(n->n));
    CHECK(n->size == 0 && node_bytes(n) == (leaf ? 2 : 2 + varint_len(n->child0)));
    CHECK(n->mem == 0);
    node_free(n);
}

static void test_edit_int_leaf(void) { rng_seed(1); edit_loop(1, KEY_INT, 30000); }
static void test_edit_int_branch(void) { rng_seed(2); edit_loop(0, KEY_INT, 30000); }
static void test_edit_bytes_leaf(void) { rng_seed(3); edit_loop(1, KEY_BYTES, 30000); }
static void test_edit_bytes_branch(void) { rng_seed(4); edit_loop(0, KEY_BYTES, 20000); }

/* node_own_entry on a decoded node: bytes move out of the arena. */
static void test_own_entry(void)
{
    Node *n = node_new(1, KEY_BYTES, 0);
    add(n, leaf_bytes("abc", 3, 0, 10, 0));
    add(n, leaf_bytes("abd", 3, 0, 0, 0));
    add(n, leaf_bytes("b", 1, 0, 700, 0));
    size_t len = node_encode(n, g_buf);
    Node *d;
    ErrorInfo err;
    REQUIRE(node_decode(g_buf, len, 1, 0, LIMIT, &d, &err) == DUMP_OK);
    for (uint32_t i = 0; i < d->n; i++) CHECK_RC(node_own_entry(d, i), DUMP_OK);
    CHECK(d->e[0].flags == (E_OWN_KEY | E_OWN_VAL) && d->e[1].flags == E_OWN_KEY);
    free(d->arena);                  /* nothing may point into it any more */
    d->arena = NULL;
    CHECK(node_encode(d, g_buf2) == len && memcmp(g_buf, g_buf2, len) == 0);
    node_free(d);
    node_free(n);
}

/* ---- decoder rejections ---- */

typedef struct Buf { uint8_t b[4096]; size_t n; } Buf;

static void b_u8(Buf *b, uint8_t v) { b->b[b->n++] = v; }
static void b_var(Buf *b, uint64_t v) { b->n += varint_put(b->b + b->n, v); }
static void b_mem(Buf *b, const void *p, size_t n) { memcpy(b->b + b->n, p, n); b->n += n; }
/* Inline byte key: shared prefix s, suffix. */
static void b_key(Buf *b, uint64_t s, const char *suf)
{
    b_var(b, s);
    b_var(b, (uint64_t)strlen(suf) << 1);
    b_mem(b, suf, strlen(suf));
}
static void b_val(Buf *b, const char *v)
{
    b_var(b, (uint64_t)strlen(v) << 1);
    b_mem(b, v, strlen(v));
}

static int decode_buf(const Buf *b, int leaf, uint64_t limit, ErrorInfo *err)
{
    Node *n = NULL;
    int rc = node_decode(b->b, b->n, leaf, leaf ? 0 : 1, limit, &n, err);
    if (rc == DUMP_OK) {
        /* Whatever is accepted must re-encode to exactly the same bytes. */
        size_t len = node_encode(n, g_buf2);
        if (len != b->n || memcmp(g_buf2, b->b, len) != 0) rc = -1;
        node_free(n);
    } else if (n) {
        rc = -2;                     /* *out must stay NULL on failure */
    }
    return rc;
}

#define EXPECT(buf, leaf, limit, want, why) do { ErrorInfo e_; error_clear(&e_); \
    int r_ = decode_buf(&(buf), leaf, limit, &e_); \
    if (r_ != (want) || ((want) && !strstr(e_.msg, why))) { tu_case_failed = 1; \
        fprintf(stderr, "%s:%d: %s: got %d \"%s\", want %s \"%s\"\n", __FILE__, __LINE__, tu_case, \
                r_, e_.msg, status_name(want), why); } } while (0)

static void test_decode_rejects(void)
{
    Buf b;
    uint8_t big[800];
    memset(big, 'v', sizeof big);

    /* Baseline: a valid int leaf {5: "", 8: "hi"}. */
    b.n = 0; b_u8(&b, KEY_INT); b_var(&b, 2); b_var(&b, zigzag_enc(5)); b_val(&b, "");
    b_var(&b, 3); b_val(&b, "hi");
    EXPECT(b, 1, LIMIT, DUMP_OK, "");
    b_u8(&b, 0);
    EXPECT(b, 1, LIMIT, DUMP_CORRUPT, "trailing bytes");
    /* Every truncation fails. */
    Buf t = b;
    t.n -= 1;
    for (size_t cut = 0; cut < t.n; cut++) {
        Buf u = t;
        u.n = cut;
        ErrorInfo e;
        CHECK(decode_buf(&u, 1, LIMIT, &e) == DUMP_CORRUPT);
    }

    /* Int keys must increase strictly, without wrapping. */
    b.n = 0; b_u8(&b, KEY_INT); b_var(&b, 2); b_var(&b, zigzag_enc(5)); b_val(&b, "");
    b_var(&b, 0); b_val(&b, "");
    EXPECT(b, 1, LIMIT, DUMP_CORRUPT, "not increasing");
    b.n = 0; b_u8(&b, KEY_INT); b_var(&b, 2); b_var(&b, zigzag_enc(INT64_MAX)); b_val(&b, "");
    b_var(&b, 1); b_val(&b, "");
    EXPECT(b, 1, LIMIT, DUMP_CORRUPT, "not increasing");
    b.n = 0; b_u8(&b, KEY_INT); b_var(&b, 2); b_var(&b, zigzag_enc(-1)); b_val(&b, "");
    b_var(&b, UINT64_MAX); b_val(&b, "");
    EXPECT(b, 1, LIMIT, DUMP_CORRUPT, "not increasing");
    b.n = 0; b_u8(&b, KEY_INT); b_var(&b, 2); b_var(&b, zigzag_enc(INT64_MIN)); b_val(&b, "");
    b_var(&b, UINT64_MAX); b_val(&b, "");
    EXPECT(b, 1, LIMIT, DUMP_OK, "");                              /* MIN .. MAX is fine */

    /* Byte keys must increase strictly. */
    b.n = 0; b_u8(&b, KEY_BYTES); b_var(&b, 2); b_key(&b, 0, "b"); b_val(&b, ""); b_key(&b, 0, "a");
    b_val(&b, "");
    EXPECT(b, 1, LIMIT, DUMP_CORRUPT, "not increasing");
    b.n = 0; b_u8(&b, KEY_BYTES); b_var(&b, 2); b_key(&b, 0, "a"); b_val(&b, ""); b_key(&b, 1, "");
    b_val(&b, "");
    EXPECT(b, 1, LIMIT, DUMP_CORRUPT, "not increasing");
    b.n = 0; b_u8(&b, KEY_BYTES); b_var(&b, 2); b_key(&b, 0, ""); b_val(&b, ""); b_key(&b, 0, "");
    b_val(&b, "");
    EXPECT(b, 1, LIMIT, DUMP_CORRUPT, "not increasing");
    b.n = 0; b_u8(&b, KEY_BYTES); b_var(&b, 2); b_key(&b, 0, "ab"); b_val(&b, ""); b_key(&b, 1, "a");
    b_val(&b, "");
    EXPECT(b, 1, LIMIT, DUMP_CORRUPT, "not increasing");

    /* Shared prefix: longer than the previous key, on the first entry, or
     * after a long key. */
    b.n = 0; b_u8(&b, KEY_BYTES); b_var(&b, 2); b_key(&b, 0, "ab"); b_val(&b, ""); b_key(&b, 3, "c");
    b_val(&b, "");
    EXPECT(b, 1, LIMIT, DUMP_CORRUPT, "shared prefix");
    b.n = 0; b_u8(&b, KEY_BYTES); b_var(&b, 1); b_key(&b, 1, "c"); b_val(&b, "");
    EXPECT(b, 1, LIMIT, DUMP_CORRUPT, "shared prefix");
    b.n = 0; b_u8(&b, KEY_BYTES); b_var(&b, 2); b_u8(&b, 0); b_var(&b, 600 << 1 | 1); b_var(&b, 10);
    b_val(&b, ""); b_key(&b, 1, "c"); b_val(&b, "");
    EXPECT(b, 1, LIMIT, DUMP_CORRUPT, "shared prefix");

    /* Inline lengths over the limits, and past the end. */
    b.n = 0; b_u8(&b, KEY_INT); b_var(&b, 1); b_var(&b, 0); b_var(&b, (VAL_INLINE_MAX + 1) << 1);
    b_mem(&b, big, VAL_INLINE_MAX + 1);
    EXPECT(b, 1, LIMIT, DUMP_CORRUPT, "value length");
    b.n = 0; b_u8(&b, KEY_INT); b_var(&b, 1); b_var(&b, 0); b_var(&b, VAL_INLINE_MAX << 1);
    b_mem(&b, big, VAL_INLINE_MAX);
    EXPECT(b, 1, LIMIT, DUMP_OK, "");
    b.n = 0; b_u8(&b, KEY_INT); b_var(&b, 1); b_var(&b, 0); b_var(&b, 10 << 1); b_mem(&b, big, 9);
    EXPECT(b, 1, LIMIT, DUMP_CORRUPT, "value length");
    b.n = 0; b_u8(&b, KEY_BYTES); b_var(&b, 1); b_var(&b, 0); b_var(&b, (KEY_INLINE_MAX + 1) << 1);
    b_mem(&b, big, KEY_INLINE_MAX + 1); b_val(&b, "");
    EXPECT(b, 1, LIMIT, DUMP_CORRUPT, "key length");
    b.n = 0; b_u8(&b, KEY_BYTES); b_var(&b, 2); b_key(&b, 0, "ab"); b_val(&b, "");
    b_var(&b, 2); b_var(&b, (KEY_INLINE_MAX - 1) << 1); b_mem(&b, big, KEY_INLINE_MAX - 1); b_val(&b, "");
    EXPECT(b, 1, LIMIT, DUMP_CORRUPT, "key length");                 /* 2 + 511 > 512 */
    b.n = 0; b_u8(&b, KEY_BYTES); b_var(&b, 1); b_var(&b, 0); b_var(&b, 5 << 1); b_mem(&b, "abc", 3);
    EXPECT(b, 1, LIMIT, DUMP_CORRUPT, "key length");

    /* Value references: inline-sized extent, outside the file. */
    b.n = 0; b_u8(&b, KEY_INT); b_var(&b, 1); b_var(&b, 0); b_var(&b, VAL_INLINE_MAX << 1 | 1); b_var(&b, 5);
    EXPECT(b, 1, LIMIT, DUMP_CORRUPT, "value reference");
    b.n = 0; b_u8(&b, KEY_INT); b_var(&b, 1); b_var(&b, 0); b_var(&b, 1000 << 1 | 1); b_var(&b, 1);
    EXPECT(b, 1, LIMIT, DUMP_CORRUPT, "value reference");
    b.n = 0; b_u8(&b, KEY_INT); b_var(&b, 1); b_var(&b, 0); b_var(&b, 1000 << 1 | 1); b_var(&b, 99);
    EXPECT(b, 1, 100, DUMP_OK, "");
    b.n = 0; b_u8(&b, KEY_INT); b_var(&b, 1); b_var(&b, 0); b_var(&b, 5000 << 1 | 1); b_var(&b, 99);
    EXPECT(b, 1, 100, DUMP_CORRUPT, "value reference");               /* 2 blocks from 99 */
    b.n = 0; b_u8(&b, KEY_INT); b_var(&b, 1); b_var(&b, 0); b_var(&b, ((uint64_t)1 << 40 | 1) << 1 | 1);
    b_var(&b, 2);
    EXPECT(b, 1, UINT64_MAX, DUMP_CORRUPT, "value reference");        /* > MAX_VAL_LEN */

    /* Long-key references. */
    b.n = 0; b_u8(&b, KEY_BYTES); b_var(&b, 1); b_u8(&b, 0); b_var(&b, KEY_INLINE_MAX << 1 | 1);
    b_var(&b, 10); b_val(&b, "");
    EXPECT(b, 1, LIMIT, DUMP_CORRUPT, "long-key");                    /* fits inline */
    b.n = 0; b_u8(&b, KEY_BYTES); b_var(&b, 1); b_u8(&b, 1); b_var(&b, 600 << 1 | 1); b_var(&b, 10);
    b_val(&b, "");
    EXPECT(b, 1, LIMIT, DUMP_CORRUPT, "long-key");                    /* prefix on a long key */
    b.n = 0; b_u8(&b, KEY_BYTES); b_var(&b, 1); b_u8(&b, 0); b_var(&b, 600 << 1 | 1); b_var(&b, 100);
    b_val(&b, "");
    EXPECT(b, 1, 100, DUMP_CORRUPT, "long-key");
    b.n = 0; b_u8(&b, KEY_BYTES); b_var(&b, 1); b_u8(&b, 0); b_var(&b, 600 << 1 | 1); b_var(&b, 0);
    b_val(&b, "");
    EXPECT(b, 1, LIMIT, DUMP_CORRUPT, "long-key");
    b.n = 0; b_u8(&b, KEY_BYTES); b_var(&b, 1); b_u8(&b, 0); b_var(&b, (MAX_KEY_LEN + 1) << 1 | 1);
    b_var(&b, 10); b_val(&b, "");
    EXPECT(b, 1, LIMIT, DUMP_CORRUPT, "long-key");
    b.n = 0; b_u8(&b, KEY_BYTES); b_var(&b, 1); b_u8(&b, 0); b_var(&b, MAX_KEY_LEN << 1 | 1);
    b_var(&b, 10); b_val(&b, "");
    EXPECT(b, 1, LIMIT, DUMP_OK, "");

    /* Children outside [2, limit). */
    b.n = 0; b_u8(&b, KEY_INT); b_var(&b, 1); b_var(&b, 2); b_var(&b, 0); b_var(&b, 99);
    EXPECT(b, 0, 100, DUMP_OK, "");
    b.n = 0; b_u8(&b, KEY_INT); b_var(&b, 1); b_var(&b, 1); b_var(&b, 0); b_var(&b, 3);
    EXPECT(b, 0, 100, DUMP_CORRUPT, "child");
    b.n = 0; b_u8(&b, KEY_INT); b_var(&b, 1); b_var(&b, 100); b_var(&b, 0); b_var(&b, 3);
    EXPECT(b, 0, 100, DUMP_CORRUPT, "child");
    b.n = 0; b_u8(&b, KEY_INT); b_var(&b, 1); b_var(&b, 3); b_var(&b, 0); b_var(&b, 100);
    EXPECT(b, 0, 100, DUMP_CORRUPT, "child");
    b.n = 0; b_u8(&b, KEY_INT); b_var(&b, 1); b_var(&b, 3); b_var(&b, 0); b_var(&b, 0);
    EXPECT(b, 0, 100, DUMP_CORRUPT, "child");

    /* Key type, entry count, length. */
    const uint8_t kts[] = { 0, 3, 255 };
    for (int i = 0; i < 3; i++) {
        b.n = 0; b_u8(&b, kts[i]); b_var(&b, 1); b_var(&b, 0); b_val(&b, "");
        EXPECT(b, 1, LIMIT, DUMP_CORRUPT, "key type");
    }
    b.n = 0; b_u8(&b, KEY_INT); b_var(&b, 0);
    EXPECT(b, 1, LIMIT, DUMP_CORRUPT, "entry count");
    b.n = 0; b_u8(&b, KEY_INT); b_var(&b, 0); b_var(&b, 0); b_val(&b, "");
    EXPECT(b, 1, LIMIT, DUMP_CORRUPT, "entry count");
    b.n = 0; b_u8(&b, KEY_INT); b_var(&b, BLOCK_PAYLOAD); b_var(&b, 0); b_val(&b, "");
    EXPECT(b, 1, LIMIT, DUMP_CORRUPT, "entry count");
    b.n = 0; b_u8(&b, KEY_INT); b_var(&b, 3); b_var(&b, 0); b_val(&b, ""); b_var(&b, 1); b_val(&b, "");
    EXPECT(b, 1, LIMIT, DUMP_CORRUPT, "truncated");
    b.n = 0; b_u8(&b, KEY_INT);
    EXPECT(b, 1, LIMIT, DUMP_CORRUPT, "too short");

    /* Non-canonical encodings. Over-long varints: */
    b.n = 0; b_u8(&b, KEY_INT); b_u8(&b, 0x81); b_u8(&b, 0x00); b_var(&b, 0); b_val(&b, "");
    EXPECT(b, 1, LIMIT, DUMP_CORRUPT, "entry count");
    b.n = 0; b_u8(&b, KEY_INT); b_var(&b, 1); b_u8(&b, 0x80); b_u8(&b, 0x00); b_val(&b, "");
    EXPECT(b, 1, LIMIT, DUMP_CORRUPT, "");
    b.n = 0; b_u8(&b, KEY_INT); b_var(&b, 1); b_var(&b, 0); b_u8(&b, 0x82); b_u8(&b, 0x00); b_mem(&b, "x", 1);
    EXPECT(b, 1, LIMIT, DUMP_CORRUPT, "");
    /* A shared prefix shorter than the keys really share ("abc" -> "abd"
     * written with prefix 0 or 1 instead of 2). */
    b.n = 0; b_u8(&b, KEY_BYTES); b_var(&b, 2); b_key(&b, 0, "abc"); b_val(&b, ""); b_key(&b, 0, "abd");
    b_val(&b, "");
    EXPECT(b, 1, LIMIT, DUMP_CORRUPT, "prefix not maximal");
    b.n = 0; b_u8(&b, KEY_BYTES); b_var(&b, 2); b_key(&b, 0, "abc"); b_val(&b, ""); b_key(&b, 1, "bd");
    b_val(&b, "");
    EXPECT(b, 1, LIMIT, DUMP_CORRUPT, "prefix not maximal");
    b.n = 0; b_u8(&b, KEY_BYTES); b_var(&b, 2); b_key(&b, 0, "abc"); b_val(&b, ""); b_key(&b, 2, "d");
    b_val(&b, "");
    EXPECT(b, 1, LIMIT, DUMP_OK, "");
    /* ... the same where the shorter prefix costs exactly as many bytes:
     * 128 shared bytes written as 127 (varint 1 byte shorter, suffix 1 byte
     * longer), so only an explicit check can see it. */
    char k1[130], k2[130];
    memset(k1, 'p', 128); k1[128] = 'x'; k1[129] = 0;
    memset(k2, 'p', 128); k2[128] = 'y'; k2[129] = 0;
    b.n = 0; b_u8(&b, KEY_BYTES); b_var(&b, 2); b_key(&b, 0, k1); b_val(&b, ""); b_key(&b, 127, k2 + 127);
    b_val(&b, "");
    EXPECT(b, 1, LIMIT, DUMP_CORRUPT, "prefix not maximal");
    b.n = 0; b_u8(&b, KEY_BYTES); b_var(&b, 2); b_key(&b, 0, k1); b_val(&b, ""); b_key(&b, 128, k2 + 128);
    b_val(&b, "");
    EXPECT(b, 1, LIMIT, DUMP_OK, "");
}

/* Mutating any byte of a valid node either fails cleanly or yields a node
 * that re-encodes to exactly the mutated bytes. */
static void test_decode_mutations(void)
{
    rng_seed(99);
    uint8_t big[2000];
    memset(big, 'm', sizeof big);
    for (int kind = 0; kind < 3; kind++) {
        Node *n = node_new(kind != 2, kind == 0 ? KEY_INT : KEY_BYTES, kind == 2);
        if (kind == 0) {
            for (int i = 0; i < 40; i++) add(n, leaf_int(i * 1000 - 7000, i % 9 == 8 ? 1000 + (size_t)i : (size_t)i * 3,
                                                i % 9 == 8 ? 40 + (uint64_t)i : 0));
        } else if (kind == 1) {
            for (int i = 0; i < 30; i++) {
                char k[32];
                int kl = snprintf(k, sizeof k, "key/%03d/%s", i * 7, i % 2 ? "odd" : "even");
                add(n, leaf_bytes(k, (size_t)kl, 0, (size_t)i * 5, 0));
            }
            add(n, leaf_bytes(big, 700, 50, 1000, 60));
        } else {
            n->child0 = 40;
            for (int i = 0; i < 30; i++) {
                char k[32];
                int kl = snprintf(k, sizeof k, "sep%04d", i * 13);
                Entry e = key_bytes(k, (size_t)kl, 0);
                e.child = 41 + (uint64_t)i;
                add(n, e);
            }
        }
        CHECK(roundtrip(n));
        size_t len = node_encode(n, g_buf);
        uint8_t orig[BLOCK_PAYLOAD];
        memcpy(orig, g_buf, len);
        long bad = 0, accepted = 0;
        for (size_t pos = 0; pos < len; pos++) {
            for (int m = 0; m < 4; m++) {
                Buf b;
                memcpy(b.b, orig, len);
                b.n = len;
                uint8_t v = m == 0 ? orig[pos] ^ 1 : m == 1 ? orig[pos] ^ 0x80 : m == 2 ? 0 : (uint8_t)rng_next();
                if (v == orig[pos]) continue;
                b.b[pos] = v;
                ErrorInfo e;
                int rc = decode_buf(&b, n->leaf, 1000, &e);
                if (rc == DUMP_OK) accepted++;
                else if (rc != DUMP_CORRUPT) bad++;
            }
        }
        if (bad) fprintf(stderr, "  kind %d: %ld mutations misdecoded\n", kind, bad);
        CHECK(bad == 0);
        CHECK(accepted > 0);    /* value bytes are free-form: some must pass */
        node_free(n);
    }
}

int main(void)
{
    run("int_roundtrip", test_int_roundtrip);
    run("bytes_roundtrip", test_bytes_roundtrip);
    run("search", test_search);
    run("edit_int_leaf", test_edit_int_leaf);
    run("edit_int_branch", test_edit_int_branch);
    run("edit_bytes_leaf", test_edit_bytes_leaf);
    run("edit_bytes_branch", test_edit_bytes_branch);
    run("own_entry", test_own_entry);
    run("decode_rejects", test_decode_rejects);
    run("decode_mutations", test_decode_mutations);
    return tu_finish("node");
}
