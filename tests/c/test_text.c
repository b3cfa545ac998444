/*
 * test_text.c -- unit tests of revision text storage (csrc/dump_text.c).
 *
 * Histories with edits, reverts, blanking and restoring, empty and
 * multi-megabyte texts go through text_put into a real Store and are read
 * back against an in-memory model, from a warm and from a cold TextStore.
 * The stored entries are parsed here independently of dump_text.c to check
 * the chain rules of docs/format.md "Text storage" (earlier base, same page
 * and slot, depth bound, Equal never chained). Deletes in every position
 * are followed by a full verification; damaged or hostile entries must give
 * DUMP_CORRUPT and never wrong bytes. Seeded, so every failure reproduces.
 * The last line is "text: N passed, M failed".
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "codec.h"
#include "dump_text.h"
#include "incrdump.h"
#include "status.h"
#include "testutil.h"

#define TT 5      /* text tree */
#define PT 10     /* piece tree */

/* ---- data ------------------------------------------------------------------------- */

static const char *const WORDS[] = {
    "the", "of", "and", "to", "in", "is", "that", "for", "it", "as", "with", "be",
    "module", "Python", "function", "proposal", "PEP", "should", "would", "object",
    "import", "syntax", "class", "value", "return", "statement", "behaviour", "é", "日本",
    "interpreter", "[[Category:Standards]]", "{{Infobox}}", "''emphasis''",
};
#define NWORDS (sizeof WORDS / sizeof WORDS[0])

/* About n bytes of wiki-like text from the PRNG. */
static Text wiki_text(size_t n)
{
    Text t = { xmalloc(n + 256), 0 };
    while (t.n < n) {
        if (rng_below(8) == 0)
            t.n += (size_t)sprintf((char *)t.p + t.n, "== Section %u ==\n", (unsigned)rng_below(100));
        size_t len = 0, target = 40 + rng_below(60);
        while (len < target && t.n < n + 200) {
            const char *w = WORDS[rng_below(NWORDS)];
            size_t k = strlen(w);
            memcpy(t.p + t.n, w, k);
            t.p[t.n + k] = ' ';
            t.n += k + 1;
            len += k + 1;
        }
        t.p[t.n - 1] = '\n';
    }
    return t;
}

/* a with one to three edits: insertions, deletions, replacements. */
static Text edit_text(const Text *a)
{
    Text ins = wiki_text(20 + rng_below(300));
    Text t = { xmalloc(a->n + 3 * ins.n + 1), 0 };
    memcpy(t.p, a->p, a->n);
    t.n = a->n;
    for (int k = 1 + (int)rng_below(3); k > 0; k--) {
        size_t pos = t.n ? rng_below(t.n + 1) : 0;
        uint64_t op = rng_below(3);
        size_t del = op == 0 ? 0 : rng_below(200);
        if (pos + del > t.n) del = t.n - pos;
        size_t add = op == 1 ? 0 : 1 + rng_below(ins.n);
        memmove(t.p + pos + add, t.p + pos + del, t.n - pos - del);
        memcpy(t.p + pos, ins.p, add);
        t.n = t.n - del + add;
    }
    free(ins.p);
    return t;
}

/* A page history of n texts: mostly edits, with reverts to any earlier
 * text, blankings, restorations and empty texts. */
static Text *history(int n, size_t size)
{
    Text *h = xmalloc((size_t)n * sizeof *h);
    Text cur = wiki_text(size);
    int last_full = -1;
    for (int i = 0; i < n; i++) {
        uint64_t r = rng_below(100);
        Text next;
        if (i > 0 && r < 10) {
            const Text *old = &h[rng_below((uint64_t)i)];
            next = text_copy(old->p, old->n);                       /* revert */
        } else if (r < 15) {
            next = text_copy((const uint8_t *)"{{delete|spam}}", r < 13 ? 15 : 0);  /* blank */
        } else if (r < 22 && last_full >= 0) {
            next = text_copy(h[last_full].p, h[last_full].n);       /* restore */
        } else if (cur.n < 16) {
            next = wiki_text(size);
        } else {
            next = edit_text(&cur);
        }
        free(cur.p);
        cur = text_copy(next.p, next.n);
        if (next.n > size / 2) last_full = i;
        h[i] = next;
    }
    free(cur.p);
    return h;
}

static void history_free(Text *h, int n)
{
    for (int i = 0; i < n; i++) free(h[i].p);
    free(h);
}

/* ---- model ----------------------------------------------------------------------- */

typedef struct MEnt {
    int64_t page, rev;
    unsigned slot;
    Text text;
    int present;
} MEnt;

typedef struct Model {
    MEnt *e;
    size_t n, cap;
} Model;

static MEnt *model_find(Model *m, int64_t page, int64_t rev, unsigned slot)
{
    for (size_t i = 0; i < m->n; i++)
        if (m->e[i].page == page && m->e[i].rev == rev && m->e[i].slot == slot) return &m->e[i];
    return NULL;
}

static void model_set(Model *m, int64_t page, int64_t rev, unsigned slot, const Text *t)
{
    MEnt *e = model_find(m, page, rev, slot);
    if (!e) {
        if (m->n == m->cap) {
            m->cap = m->cap ? 2 * m->cap : 64;
            m->e = realloc(m->e, m->cap * sizeof *m->e);
        }
        e = &m->e[m->n++];
        *e = (MEnt){ page, rev, slot, { NULL, 0 }, 0 };
    }
    free(e->text.p);
    e->text = text_copy(t->p, t->n);
    e->present = 1;
}

static void model_free(Model *m)
{
    for (size_t i = 0; i < m->n; i++) free(m->e[i].text.p);
    free(m->e);
    memset(m, 0, sizeof *m);
}

/* ---- fixture ----------------------------------------------------------------------- */

typedef struct Fix {
    Store *s;
    TextStore *t;
    TextConfig cfg;
    ErrorInfo err;
} Fix;

static void fix_open(Fix *f, const char *name, int codec, int max_depth)
{
    memset(f, 0, sizeof *f);
    const char *path = tu_path(name);
    unlink(path);
    if (store_open(path, STORE_WRITE | STORE_CREATE, &f->s) || store_begin(f->s) ||
        store_tree_create(f->s, TT, STORE_KEY_BYTES) || store_tree_create(f->s, PT, STORE_KEY_BYTES)) {
        fprintf(stderr, "store: %s\n", store_errmsg(f->s));
        exit(2);
    }
    f->cfg = (TextConfig){ codec, codec == DUMP_CODEC_XZ ? 3 : 3, max_depth, NULL, 0, PT, 0 };
    f->t = text_new(f->s, TT, &f->cfg);
    if (!f->t) exit(2);
}

/* A fresh TextStore over the same Store: no cache, no writer state. */
static void fix_renew(Fix *f)
{
    TextTuning tu;
    text_get_tuning(f->t, &tu);
    text_free(f->t);
    f->t = text_new(f->s, TT, &f->cfg);
    text_set_tuning(f->t, &tu);
}

static void fix_close(Fix *f)
{
    text_free(f->t);
    store_close(f->s);
}

static int put(Fix *f, Model *m, int64_t page, int64_t rev, unsigned slot, const Text *t)
{
    int rc = text_put(f->t, page, rev, slot, t->p, t->n, &f->err);
    if (rc) fprintf(stderr, "  text_put %" PRId64 "/%" PRId64 "/%u: %s\n", page, rev, slot, f->err.msg);
    else if (m) model_set(m, page, rev, slot, t);
    return rc;
}

/* ---- reading entries independently ------------------------------------------------ */

typedef struct Ent {
    int kind;
    unsigned depth;
    int64_t ref;
    const uint8_t *frame;   /* Raw/Delta codec frame start in the first piece */
    size_t vlen;
} Ent;

static int read_ent(Store *s, int64_t page, int64_t rev, unsigned slot, Ent *e)
{
    uint8_t key[TEXT_KEY_LEN];
    const uint8_t *v;
    size_t n;
    uint64_t x;
    text_key(key, page, rev, slot);
    int rc = store_get_bytes(s, TT, key, TEXT_KEY_LEN, &v, &n);
    if (rc) return rc;
    const uint8_t *q = v + 1, *end = v + n;
    memset(e, 0, sizeof *e);
    e->kind = v[0];
    e->vlen = n;
    if (e->kind == TEXT_DELTA) {
        q += varint_get(q, end, &x);
        e->depth = (unsigned)x;
    }
    if (e->kind != TEXT_RAW) {
        q += varint_get(q, end, &x);
        e->ref = rev - (int64_t)x;
    }
    e->frame = q;
    return DUMP_OK;
}

/* Every present text of page/slot obeys the chain rules: Equal targets and
 * bases are earlier non-Equal texts, depths strictly fall to a Raw, the
 * stored depth is at most max_depth. Returns the deepest chain seen. */
static unsigned check_chains(Fix *f, Model *m, int64_t page, int max_depth)
{
    unsigned deepest = 0;
    for (size_t i = 0; i < m->n; i++) {
        const MEnt *me = &m->e[i];
        if (!me->present || me->page != page) continue;
        Ent e;
        int64_t cur = me->rev;
        CHECK_RC(read_ent(f->s, page, cur, me->slot, &e), DUMP_OK);
        if (e.kind == TEXT_EQUAL) {
            CHECK(e.ref < cur);
            cur = e.ref;
            CHECK_RC(read_ent(f->s, page, cur, me->slot, &e), DUMP_OK);
            CHECK(e.kind != TEXT_EQUAL);
        }
        CHECK(e.depth <= (unsigned)max_depth);
        unsigned steps = 0, depth = e.depth;
        while (e.kind == TEXT_DELTA) {
            CHECK(e.ref < cur);
            cur = e.ref;
            if (read_ent(f->s, page, cur, me->slot, &e) != DUMP_OK) {
                CHECK(!"base missing");
                break;
            }
            CHECK(e.kind != TEXT_EQUAL);
            CHECK(e.depth < depth);
            depth = e.depth;
            steps++;
        }
        CHECK(steps <= (unsigned)max_depth);
        if (steps > deepest) deepest = steps;
    }
    return deepest;
}

/* Every model text reads back exactly, from the warm TextStore and then
 * from a fresh one; deleted ones are DUMP_NOTFOUND. */
static void verify(Fix *f, Model *m)
{
    for (int pass = 0; pass < 2; pass++) {
        if (pass) fix_renew(f);
        for (size_t i = 0; i < m->n; i++) {
            const MEnt *me = &m->e[i];
            const uint8_t *p;
            size_t n;
            int rc = text_get(f->t, me->page, me->rev, me->slot, &p, &n, &f->err);
            if (!me->present) {
                CHECK_RC(rc, DUMP_NOTFOUND);
                continue;
            }
            CHECK_RC(rc, DUMP_OK);
            if (rc) {
                fprintf(stderr, "  %s\n", f->err.msg);
                continue;
            }
            CHECK(n == me->text.n && (n == 0 || memcmp(p, me->text.p, n) == 0));
        }
    }
}

static void count_kinds(Fix *f, Model *m, int64_t page, unsigned kinds[3])
{
    kinds[0] = kinds[1] = kinds[2] = 0;
    for (size_t i = 0; i < m->n; i++) {
        Ent e;
        if (m->e[i].present && m->e[i].page == page &&
            read_ent(f->s, page, m->e[i].rev, m->e[i].slot, &e) == DUMP_OK && e.kind <= 2)
            kinds[e.kind]++;
    }
}

/* ---- tests ------------------------------------------------------------------------- */

static void test_history_roundtrip(void)
{
    static const int codecs[] = { DUMP_CODEC_ZSTD, DUMP_CODEC_XZ };
    static const int depths[] = { 1, 2, 16 };
    for (int ci = 0; ci < 2; ci++)
        for (int di = 0; di < 3; di++) {
            Fix f;
            Model m = { 0 };
            rng_seed(100 + (uint64_t)(ci * 3 + di));
            fix_open(&f, "hist.db", codecs[ci], depths[di]);
            for (int64_t page = 1; page <= 3; page++) {
                int n = page == 2 ? 70 : 30;
                Text *h = history(n, 2000 + 3000 * (size_t)page);
                for (int i = 0; i < n; i++) REQUIRE(put(&f, &m, page, 1000 * page + 3 * i, 0, &h[i]) == DUMP_OK);
                history_free(h, n);
            }
            verify(&f, &m);
            unsigned kinds[3];
            for (int64_t page = 1; page <= 3; page++) {
                unsigned deepest = check_chains(&f, &m, page, depths[di]);
                CHECK(deepest <= (unsigned)depths[di]);
                count_kinds(&f, &m, page, kinds);
                CHECK(kinds[TEXT_EQUAL] > 0);       /* reverts and restorations */
                CHECK(kinds[TEXT_DELTA] > kinds[TEXT_RAW]);
                if (page == 2 && depths[di] == 16) CHECK(deepest >= 8);
            }
            CHECK_RC(store_commit(f.s), DUMP_OK);
            verify(&f, &m);                          /* committed, cold */
            uint64_t count = 0, bytes = 0, want = 0;
            for (size_t i = 0; i < m.n; i++) want += m.e[i].text.n;
            for (int64_t page = 1; page <= 3; page++)
                CHECK_RC(text_check_page(f.t, page, &count, &bytes, &f.err), DUMP_OK);
            CHECK(count == m.n && bytes == want);
            fix_close(&f);
            model_free(&m);
        }
}

/* One long history: the staircase keeps almost everything a Delta within
 * the bound, with one Raw per D + D(D+1)/2 texts. */
static void test_staircase(void)
{
    static const int depths[] = { 1, 2, 4, 16 };
    for (int di = 0; di < 4; di++) {
        int D = depths[di];
        Fix f;
        Model m = { 0 };
        rng_seed(7);
        fix_open(&f, "stairs.db", DUMP_CODEC_ZSTD, D);
        Text cur = wiki_text(3000);
        const int n = 400;
        for (int i = 0; i < n; i++) {
            Text next = edit_text(&cur);
            REQUIRE(put(&f, &m, 9, i + 1, 0, &next) == DUMP_OK);
            free(cur.p);
            cur = next;
        }
        free(cur.p);
        unsigned kinds[3], period = (unsigned)(D + D * (D + 1) / 2);
        count_kinds(&f, &m, 9, kinds);
        CHECK(kinds[TEXT_RAW] == (n + period) / (period + 1));
        CHECK(check_chains(&f, &m, 9, D) == (unsigned)D);
        verify(&f, &m);
        fix_close(&f);
        model_free(&m);
    }
}

/* Similarity: after vandalism, the repaired text takes the text before the
 * vandalism as its base; after a blanking, a restored and edited text is a
 * Delta against the text before the blanking, not a Raw. */
static void test_similarity(void)
{
    for (int sim = 1; sim >= 0; sim--) {
        Fix f;
        Model m = { 0 };
        rng_seed(17);
        fix_open(&f, "sim.db", DUMP_CODEC_ZSTD, 16);
        TextTuning tu;
        text_get_tuning(f.t, &tu);
        tu.similarity = sim;
        text_set_tuning(f.t, &tu);
        Text a = wiki_text(8000), junk = wiki_text(4000);
        Text v = { xmalloc(a.n + junk.n), 0 };     /* a with its middle replaced */
        memcpy(v.p, a.p, 2000);
        memcpy(v.p + 2000, junk.p, junk.n);
        memcpy(v.p + 2000 + junk.n, a.p + 5000, a.n - 5000);
        v.n = 2000 + junk.n + a.n - 5000;
        Text r = edit_text(&a), blank = { (uint8_t *)"", 0 }, r2 = edit_text(&r);
        REQUIRE(put(&f, &m, 1, 1, 0, &a) == DUMP_OK);
        REQUIRE(put(&f, &m, 1, 2, 0, &v) == DUMP_OK);
        REQUIRE(put(&f, &m, 1, 3, 0, &r) == DUMP_OK);
        REQUIRE(put(&f, &m, 1, 4, 0, &blank) == DUMP_OK);
        REQUIRE(put(&f, &m, 1, 5, 0, &r2) == DUMP_OK);
        Ent e3, e5;
        CHECK_RC(read_ent(f.s, 1, 3, 0, &e3), DUMP_OK);
        CHECK_RC(read_ent(f.s, 1, 5, 0, &e5), DUMP_OK);
        if (sim) {
            CHECK(e3.kind == TEXT_DELTA && e3.ref == 1);
            CHECK(e5.kind == TEXT_DELTA && e5.ref == 3);
        } else {
            CHECK(e3.kind == TEXT_DELTA && e3.ref == 2);
            CHECK(e5.kind == TEXT_RAW);
        }
        verify(&f, &m);
        check_chains(&f, &m, 1, 16);
        free(a.p);
        free(junk.p);
        free(v.p);
        free(r.p);
        free(r2.p);
        fix_close(&f);
        model_free(&m);
    }
}

/* A sequential scan decodes each frame about once (the cache holds each
 * text's base); a random read decodes at most depth + 1 frames. */
static void test_scan_cost(void)
{
    Fix f;
    Model m = { 0 };
    rng_seed(8);
    fix_open(&f, "scan.db", DUMP_CODEC_ZSTD, 16);
    Text cur = wiki_text(20000);
    const int n = 300;
    for (int i = 0; i < n; i++) {
        Text next = edit_text(&cur);
        REQUIRE(put(&f, &m, 3, i + 1, 0, &next) == DUMP_OK);
        free(cur.p);
        cur = next;
    }
    free(cur.p);
    fix_renew(&f);
    for (int i = 0; i < n; i++) {
        const uint8_t *p;
        size_t len;
        CHECK_RC(text_get(f.t, 3, i + 1, 0, &p, &len, &f.err), DUMP_OK);
    }
    CHECK(text_stats(f.t)->decoded == (uint64_t)n);
    /* A cache too small for the run head: still far from n * depth. */
    TextTuning tu;
    text_get_tuning(f.t, &tu);
    tu.cache_bytes = 5 * 20000 * 4;
    text_set_tuning(f.t, &tu);
    uint64_t before = text_stats(f.t)->decoded;
    for (int i = 0; i < n; i++) {
        const uint8_t *p;
        size_t len;
        CHECK_RC(text_get(f.t, 3, i + 1, 0, &p, &len, &f.err), DUMP_OK);
    }
    CHECK(text_stats(f.t)->decoded - before <= (uint64_t)(3 * n));
    for (int i = 0; i < 50; i++) {
        text_reset(f.t);
        before = text_stats(f.t)->decoded;
        const uint8_t *p;
        size_t len;
        CHECK_RC(text_get(f.t, 3, (int64_t)rng_below(n) + 1, 0, &p, &len, &f.err), DUMP_OK);
        CHECK(text_stats(f.t)->decoded - before <= 17);
    }
    fix_close(&f);
    model_free(&m);
}

static void test_dictionary(void)
{
    Fix f;
    Model m = { 0 };
    rng_seed(9);
    Text dict = wiki_text(30000);
    fix_open(&f, "dict.db", DUMP_CODEC_ZSTD, 16);
    text_free(f.t);
    f.cfg.dict = dict.p;
    f.cfg.dict_len = dict.n;
    f.t = text_new(f.s, TT, &f.cfg);
    Text a = wiki_text(5000), b = edit_text(&a);
    REQUIRE(put(&f, &m, 1, 1, 0, &a) == DUMP_OK);
    REQUIRE(put(&f, &m, 1, 2, 0, &b) == DUMP_OK);
    Ent e;
    CHECK_RC(read_ent(f.s, 1, 1, 0, &e), DUMP_OK);
    CHECK(e.kind == TEXT_RAW && (e.frame[0] & CODEC_F_DICT));
    CHECK_RC(read_ent(f.s, 1, 2, 0, &e), DUMP_OK);
    CHECK(e.kind == TEXT_DELTA && !(e.frame[0] & CODEC_F_DICT) && (e.frame[0] & CODEC_F_PREFIX));
    verify(&f, &m);
    /* Read without the dictionary, or with another: corrupt, never text. */
    for (int k = 0; k < 2; k++) {
        Text other = wiki_text(30000);
        TextConfig c2 = f.cfg;
        c2.dict = k ? other.p : NULL;
        c2.dict_len = k ? other.n : 0;
        TextStore *t2 = text_new(f.s, TT, &c2);
        const uint8_t *p;
        size_t n;
        CHECK_RC(text_get(t2, 1, 1, 0, &p, &n, &f.err), DUMP_CORRUPT);
        CHECK_RC(text_get(t2, 1, 2, 0, &p, &n, &f.err), DUMP_CORRUPT);
        CHECK(strstr(f.err.msg, "page 1 rev 2 slot 0") != NULL);
        text_free(t2);
        free(other.p);
    }
    free(a.p);
    free(b.p);
    free(dict.p);
    fix_close(&f);
    model_free(&m);
}

/* Multi-megabyte texts: pieces, a depth cut by the chain-bytes budget, and
 * the same without a piece tree. Empty texts next to them. */
static void test_large(void)
{
    for (int pieces = 1; pieces >= 0; pieces--) {
        Fix f;
        Model m = { 0 };
        rng_seed(10);
        fix_open(&f, "large.db", DUMP_CODEC_ZSTD, 16);
        if (!pieces) {
            text_free(f.t);
            f.cfg.piece_tree = 0;
            f.t = text_new(f.s, TT, &f.cfg);
        }
        Text cur = wiki_text(3 << 20), empty = { NULL, 0 };
        for (int i = 0; i < 12; i++) {
            if (i == 5) REQUIRE(put(&f, &m, 4, 100 + i, 0, &empty) == DUMP_OK);
            else REQUIRE(put(&f, &m, 4, 100 + i, 0, &cur) == DUMP_OK);
            Text next = edit_text(&cur);
            free(cur.p);
            cur = next;
        }
        free(cur.p);
        verify(&f, &m);
        /* 1 MiB / 3 MiB -> the floor of 4 */
        CHECK(check_chains(&f, &m, 4, 16) <= 4);
        int type;
        uint64_t npieces = 0;
        CHECK_RC(store_tree_stat(f.s, PT, &type, &npieces), DUMP_OK);
        CHECK(pieces ? npieces > 0 : npieces == 0);
        uint64_t count = 0, bytes = 0;
        CHECK_RC(text_check_page(f.t, 4, &count, &bytes, &f.err), DUMP_OK);
        CHECK(count == 12);
        CHECK_RC(text_delete_page(f.t, 4, &f.err), DUMP_OK);
        CHECK_RC(store_tree_stat(f.s, PT, &type, &npieces), DUMP_OK);
        CHECK(npieces == 0);
        fix_close(&f);
        model_free(&m);
    }
}

/* Delete texts one at a time in random order (every position: roots, run
 * heads, Equal targets, leaves) and check everything after each delete,
 * then keep writing on what is left. */
static void test_random_deletes(void)
{
    static const int depths[] = { 1, 2, 16 };
    for (int di = 0; di < 3; di++)
        for (int round = 0; round < 2; round++) {
            int D = depths[di];
            Fix f;
            Model m = { 0 };
            rng_seed(200 + (uint64_t)(di * 2 + round));
            fix_open(&f, "del.db", round ? DUMP_CODEC_XZ : DUMP_CODEC_ZSTD, D);
            const int n = 60;
            Text *h = history(n, 3000);
            for (int i = 0; i < n; i++) REQUIRE(put(&f, &m, 5, 10 + i, 0, &h[i]) == DUMP_OK);
            Text other = wiki_text(1000);
            REQUIRE(put(&f, &m, 6, 1, 0, &other) == DUMP_OK);   /* a neighbour page */
            free(other.p);
            int order[60];
            for (int i = 0; i < n; i++) order[i] = i;
            for (int i = n - 1; i > 0; i--) {
                int j = (int)rng_below((uint64_t)i + 1), x = order[i];
                order[i] = order[j];
                order[j] = x;
            }
            uint64_t reenc = 0;
            for (int k = 0; k < n; k++) {
                int64_t rev = 10 + order[k];
                uint64_t before = text_stats(f.t)->reencoded;
                CHECK_RC(text_delete(f.t, 5, rev, 0, &f.err), DUMP_OK);
                reenc += text_stats(f.t)->reencoded - before;
                model_find(&m, 5, rev, 0)->present = 0;
                CHECK_RC(text_delete(f.t, 5, rev, 0, &f.err), DUMP_NOTFOUND);
                verify(&f, &m);
                check_chains(&f, &m, 5, D);
                uint64_t count = 0, bytes = 0;
                CHECK_RC(text_check_page(f.t, 5, &count, &bytes, &f.err), DUMP_OK);
                CHECK(count == (uint64_t)(n - k - 1));
            }
            CHECK(D == 1 || reenc > 0);
            /* the page is empty now; write again, after some deletes */
            for (int i = 0; i < n; i++) REQUIRE(put(&f, &m, 5, 10 + i, 0, &h[i]) == DUMP_OK);
            for (int i = 0; i < 20; i++) {
                int64_t rev = 10 + (int64_t)rng_below(n);
                MEnt *me = model_find(&m, 5, rev, 0);
                CHECK_RC(text_delete(f.t, 5, rev, 0, &f.err), me->present ? DUMP_OK : DUMP_NOTFOUND);
                me->present = 0;
            }
            for (int i = 0; i < 10; i++) REQUIRE(put(&f, &m, 5, 100 + i, 0, &h[i * 5]) == DUMP_OK);
            verify(&f, &m);
            check_chains(&f, &m, 5, D);
            history_free(h, n);
            fix_close(&f);
            model_free(&m);
        }
}

/* Replacing a text with dependants re-encodes them; the same bytes again
 * change nothing. */
static void test_replace(void)
{
    Fix f;
    Model m = { 0 };
    rng_seed(11);
    fix_open(&f, "replace.db", DUMP_CODEC_ZSTD, 16);
    const int n = 30;
    Text *h = history(n, 4000);
    for (int i = 0; i < n; i++) REQUIRE(put(&f, &m, 2, i + 1, 0, &h[i]) == DUMP_OK);
    uint64_t out = text_stats(f.t)->out_bytes;
    for (int i = 0; i < n; i++) REQUIRE(put(&f, &m, 2, i + 1, 0, &h[i]) == DUMP_OK);
    CHECK(text_stats(f.t)->out_bytes == out);
    for (int k = 0; k < 10; k++) {
        Text x = wiki_text(100 + rng_below(5000));
        REQUIRE(put(&f, &m, 2, (int64_t)rng_below(n) + 1, 0, &x) == DUMP_OK);
        free(x.p);
        verify(&f, &m);
        check_chains(&f, &m, 2, 16);
    }
    history_free(h, n);
    fix_close(&f);
    model_free(&m);
}

/* Texts put in descending order, slots interleaved, a page continued by a
 * new TextStore (state rebuilt from the tree): page 8 stores as compactly
 * as page 9, written by one TextStore. */
static void test_order_slots_resume(void)
{
    Fix f;
    Model m = { 0 };
    rng_seed(12);
    fix_open(&f, "order.db", DUMP_CODEC_ZSTD, 16);
    const int n = 40;
    Text *h = history(n, 3000), *g = history(n, 1500);
    for (int i = n - 1; i >= 0; i--) REQUIRE(put(&f, &m, 7, i + 1, 0, &h[i]) == DUMP_OK);
    for (int i = 0; i < n; i++) {
        REQUIRE(put(&f, &m, 8, i + 1, 0, &h[i]) == DUMP_OK);
        REQUIRE(put(&f, &m, 8, i + 1, 1, &g[i]) == DUMP_OK);
        if (i % 10 == 5) fix_renew(&f);     /* continue from the tree */
    }
    for (int i = 0; i < n; i++) {
        REQUIRE(put(&f, &m, 9, i + 1, 0, &h[i]) == DUMP_OK);
        REQUIRE(put(&f, &m, 9, i + 1, 1, &g[i]) == DUMP_OK);
    }
    verify(&f, &m);
    check_chains(&f, &m, 7, 16);
    check_chains(&f, &m, 8, 16);
    unsigned kinds[3];
    count_kinds(&f, &m, 7, kinds);
    CHECK(kinds[TEXT_DELTA] == 0);
    count_kinds(&f, &m, 8, kinds);
    unsigned raw8 = kinds[TEXT_RAW], delta8 = kinds[TEXT_DELTA];
    count_kinds(&f, &m, 9, kinds);
    CHECK(raw8 <= kinds[TEXT_RAW] + 2 && delta8 + 2 >= kinds[TEXT_DELTA]);
    /* deleting in slot 1 leaves slot 0 alone */
    for (int i = 0; i < n; i += 2) {
        CHECK_RC(text_delete(f.t, 8, i + 1, 1, &f.err), DUMP_OK);
        model_find(&m, 8, i + 1, 1)->present = 0;
    }
    verify(&f, &m);
    check_chains(&f, &m, 8, 16);
    history_free(h, n);
    history_free(g, n);
    fix_close(&f);
    model_free(&m);
}

/* Replace the first piece of an entry by `v`. */
static void poke(Fix *f, int64_t page, int64_t rev, unsigned slot, const uint8_t *v, size_t n)
{
    uint8_t key[TEXT_KEY_LEN];
    text_key(key, page, rev, slot);
    CHECK_RC(store_put_bytes(f->s, TT, key, TEXT_KEY_LEN, v, n, STORE_PUT_UPSERT), DUMP_OK);
}

/* Which model texts depend on rev (their chain reads it). */
static int depends_on(Fix *f, int64_t page, int64_t rev, unsigned slot, int64_t on)
{
    Ent e;
    for (int64_t cur = rev;;) {
        if (cur == on) return 1;
        if (read_ent(f->s, page, cur, slot, &e) || e.kind == TEXT_RAW) return 0;
        cur = e.ref;
    }
}

/* A flipped byte in a frame in the middle of a chain: that text and every
 * text depending on it are DUMP_CORRUPT, the rest read correctly; never
 * wrong bytes, for every byte position of the frame. */
static void test_corrupt_chain(void)
{
    Fix f;
    Model m = { 0 };
    rng_seed(13);
    fix_open(&f, "corrupt.db", DUMP_CODEC_ZSTD, 16);
    Text cur = wiki_text(1500);
    const int n = 40;
    for (int i = 0; i < n; i++) {
        REQUIRE(put(&f, &m, 1, i + 1, 0, &cur) == DUMP_OK);
        Text next = edit_text(&cur);
        free(cur.p);
        cur = next;
    }
    free(cur.p);
    const int64_t victim = 20;
    uint8_t key[TEXT_KEY_LEN];
    const uint8_t *v;
    size_t vn;
    text_key(key, 1, victim, 0);
    REQUIRE(store_get_bytes(f.s, TT, key, TEXT_KEY_LEN, &v, &vn) == DUMP_OK);
    Text orig = text_copy(v, vn);
    int dependants = 0;
    for (size_t pos = 0; pos < orig.n; pos++) {
        Text bad = text_copy(orig.p, orig.n);
        bad.p[pos] ^= (uint8_t)(1u << (pos % 8));
        poke(&f, 1, victim, 0, bad.p, bad.n);
        fix_renew(&f);
        for (size_t i = 0; i < m.n; i++) {
            const uint8_t *p;
            size_t len;
            int64_t rev = m.e[i].rev;
            int rc = text_get(f.t, 1, rev, 0, &p, &len, &f.err);
            int dep = depends_on(&f, 1, rev, 0, victim);
            if (pos == orig.n / 2 && dep) dependants++;
            if (rc == DUMP_OK) {
                CHECK(len == m.e[i].text.n && memcmp(p, m.e[i].text.p, len) == 0);
                if (pos >= 4 && rev == victim) CHECK(!"damaged payload decoded");
            } else {
                CHECK_RC(rc, DUMP_CORRUPT);
                CHECK(strstr(f.err.msg, "text of page 1 rev ") != NULL);
            }
            if (pos == orig.n / 2 && dep) CHECK_RC(rc, DUMP_CORRUPT);
        }
        free(bad.p);
    }
    CHECK(dependants >= 2);
    poke(&f, 1, victim, 0, orig.p, orig.n);
    fix_renew(&f);
    verify(&f, &m);
    free(orig.p);
    fix_close(&f);
    model_free(&m);
}

/* An Equal whose target was overwritten, a Delta whose base changed. */
static void test_changed_targets(void)
{
    Fix f;
    Model m = { 0 };
    rng_seed(14);
    fix_open(&f, "eq.db", DUMP_CODEC_ZSTD, 16);
    Text a = wiki_text(3000), b = edit_text(&a), c = edit_text(&b), z = wiki_text(3000);
    REQUIRE(put(&f, &m, 1, 1, 0, &a) == DUMP_OK);
    REQUIRE(put(&f, &m, 1, 2, 0, &b) == DUMP_OK);
    REQUIRE(put(&f, &m, 1, 3, 0, &a) == DUMP_OK);    /* Equal to 1 */
    REQUIRE(put(&f, &m, 1, 4, 0, &c) == DUMP_OK);
    Ent e;
    CHECK_RC(read_ent(f.s, 1, 3, 0, &e), DUMP_OK);
    CHECK(e.kind == TEXT_EQUAL && e.ref == 1);
    /* overwrite rev 1 with a valid Raw entry of another text, bypassing
     * text_put's re-encoding */
    const uint8_t *frame;
    size_t flen;
    Codec *cd = codec_new();
    ErrorInfo err;
    REQUIRE(codec_encode(cd, CODEC_ZSTD, 3, NULL, 0, NULL, 0, z.p, z.n, &frame, &flen, &err) == DUMP_OK);
    Text raw = { xmalloc(flen + 1), flen + 1 };
    raw.p[0] = TEXT_RAW;
    memcpy(raw.p + 1, frame, flen);
    poke(&f, 1, 1, 0, raw.p, raw.n);
    fix_renew(&f);
    const uint8_t *p;
    size_t n;
    CHECK_RC(text_get(f.t, 1, 1, 0, &p, &n, &f.err), DUMP_OK);
    CHECK(n == z.n && memcmp(p, z.p, n) == 0);
    CHECK_RC(text_get(f.t, 1, 3, 0, &p, &n, &f.err), DUMP_CORRUPT);
    CHECK(strstr(f.err.msg, "rev 3") && strstr(f.err.msg, "Equal"));
    CHECK_RC(text_get(f.t, 1, 2, 0, &p, &n, &f.err), DUMP_CORRUPT);   /* Delta on 1 */
    CHECK_RC(text_get(f.t, 1, 4, 0, &p, &n, &f.err), DUMP_CORRUPT);
    /* a same-length, same-CRC... is impossible to forge here; a different
     * length with the right CRC is caught by the length */
    free(raw.p);
    codec_free(cd);
    free(a.p);
    free(b.p);
    free(c.p);
    free(z.p);
    fix_close(&f);
    model_free(&m);
}

/* Overwrite the last 4 bytes of p[0..n) so that its CRC-32 becomes
 * `target` (CRC-32 is linear: the table's top bytes are a permutation, so
 * the bytes can be solved for backwards from the wanted register). */
static void crc_forge(uint8_t *p, size_t n, uint32_t target)
{
    uint32_t tab[256];
    uint8_t inv[256];
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        tab[i] = c;
        inv[c >> 24] = (uint8_t)i;
    }
    uint32_t want = ~target, idx[4];
    for (int k = 3; k >= 0; k--) {
        idx[k] = inv[want >> 24];
        want = (want ^ tab[idx[k]]) << 8;
    }
    uint32_t r = ~codec_crc32(p, n - 4);
    for (int k = 0; k < 4; k++) {
        p[n - 4 + k] = (uint8_t)((r ^ idx[k]) & 0xFF);
        r = (r >> 8) ^ tab[idx[k]];
    }
}

/* Same length and CRC-32, other bytes: not an Equal. */
static void test_crc_collision(void)
{
    Fix f;
    Model m = { 0 };
    rng_seed(16);
    fix_open(&f, "crc.db", DUMP_CODEC_ZSTD, 16);
    Text a = wiki_text(4000), b = text_copy(a.p, a.n);
    b.p[100] ^= 0x20;
    crc_forge(b.p, b.n, codec_crc32(a.p, a.n));
    REQUIRE(codec_crc32(b.p, b.n) == codec_crc32(a.p, a.n) && memcmp(a.p, b.p, a.n) != 0);
    REQUIRE(put(&f, &m, 1, 1, 0, &a) == DUMP_OK);
    REQUIRE(put(&f, &m, 1, 2, 0, &b) == DUMP_OK);
    REQUIRE(put(&f, &m, 1, 3, 0, &a) == DUMP_OK);
    Ent e;
    CHECK_RC(read_ent(f.s, 1, 2, 0, &e), DUMP_OK);
    CHECK(e.kind == TEXT_DELTA);
    CHECK_RC(read_ent(f.s, 1, 3, 0, &e), DUMP_OK);
    CHECK(e.kind != TEXT_EQUAL || e.ref == 1);
    REQUIRE(put(&f, &m, 1, 2, 0, &a) == DUMP_OK);       /* replace: not "the same" */
    verify(&f, &m);
    free(a.p);
    free(b.p);
    fix_close(&f);
    model_free(&m);
}

/* Hostile entries: each must read as DUMP_CORRUPT (and fail the page
 * check); restoring the originals makes everything readable again. */
typedef struct Hostile {
    Fix *f;
    Model *m;
    Text orig[3];          /* entries of revs 10, 11, 12 */
} Hostile;

static void hostile_case(Hostile *h, const char *what, int64_t rev, const uint8_t *v, size_t n,
                         int64_t rev2, const uint8_t *v2, size_t n2)
{
    Fix *f = h->f;
    poke(f, 1, rev, 0, v, n);
    if (v2) poke(f, 1, rev2, 0, v2, n2);
    fix_renew(f);
    const uint8_t *p;
    size_t len;
    int rc = text_get(f->t, 1, rev, 0, &p, &len, &f->err);
    if (rc != DUMP_CORRUPT) fprintf(stderr, "  case %s: %s\n", what, status_name(rc));
    CHECK_RC(rc, DUMP_CORRUPT);
    uint64_t count = 0, bytes = 0;
    CHECK_RC(text_check_page(f->t, 1, &count, &bytes, &f->err), DUMP_CORRUPT);
    uint8_t key[TEXT_KEY_LEN];
    text_key(key, 1, 13, 0);
    store_del_bytes(f->s, TT, key, TEXT_KEY_LEN);
    for (int i = 0; i < 3; i++) poke(f, 1, 10 + i, 0, h->orig[i].p, h->orig[i].n);
    fix_renew(f);
    verify(f, h->m);
}

static size_t equal_entry(uint8_t *b, uint64_t dist, uint64_t len, uint32_t crc)
{
    size_t n = 1;
    b[0] = TEXT_EQUAL;
    n += varint_put(b + n, dist);
    n += varint_put(b + n, len);
    put_u32(b + n, crc);
    return n + 4;
}

static void test_hostile(void)
{
    Fix f;
    Model m = { 0 };
    Hostile h = { &f, &m, { { 0 } } };
    rng_seed(15);
    fix_open(&f, "hostile.db", DUMP_CODEC_ZSTD, 16);
    Text a = wiki_text(2000), b = edit_text(&a);
    REQUIRE(put(&f, &m, 1, 10, 0, &a) == DUMP_OK);
    REQUIRE(put(&f, &m, 1, 11, 0, &b) == DUMP_OK);
    REQUIRE(put(&f, &m, 1, 12, 0, &a) == DUMP_OK);     /* Equal to 10 */
    for (int i = 0; i < 3; i++) {
        uint8_t key[TEXT_KEY_LEN];
        const uint8_t *v;
        size_t vn;
        text_key(key, 1, 10 + i, 0);
        REQUIRE(store_get_bytes(f.s, TT, key, TEXT_KEY_LEN, &v, &vn) == DUMP_OK);
        h.orig[i] = text_copy(v, vn);
    }
    const Text *d = &h.orig[1];
    REQUIRE(d->p[0] == TEXT_DELTA && d->p[1] == 1 && d->p[2] == 1 && h.orig[2].p[0] == TEXT_EQUAL);
    uint32_t crc = codec_crc32(a.p, a.n);
    uint8_t buf[8192];
    size_t n;

    hostile_case(&h, "empty", 12, buf, 0, 0, NULL, 0);
    hostile_case(&h, "kind 3", 12, (const uint8_t *)"\x03\x02", 2, 0, NULL, 0);
    n = equal_entry(buf, 0, a.n, crc);
    hostile_case(&h, "equal to itself", 12, buf, n, 0, NULL, 0);
    n = equal_entry(buf, UINT64_MAX, a.n, crc);
    hostile_case(&h, "equal beyond INT64_MIN", 12, buf, n, 0, NULL, 0);
    n = equal_entry(buf, 2, a.n, crc);
    buf[n++] = 0;
    hostile_case(&h, "equal trailing byte", 12, buf, n, 0, NULL, 0);
    n = equal_entry(buf, 2, a.n, crc);
    hostile_case(&h, "equal truncated", 12, buf, n - 1, 0, NULL, 0);
    n = equal_entry(buf, 2, a.n + 1, crc);
    hostile_case(&h, "equal wrong length", 12, buf, n, 0, NULL, 0);
    n = equal_entry(buf, 2, a.n, crc ^ 1);
    hostile_case(&h, "equal wrong crc", 12, buf, n, 0, NULL, 0);
    n = equal_entry(buf, 1, a.n, crc);
    hostile_case(&h, "equal to equal", 13, buf, n, 0, NULL, 0);
    n = equal_entry(buf, 3, a.n, crc);
    hostile_case(&h, "equal to missing", 12, buf, n, 0, NULL, 0);
    hostile_case(&h, "raw bad frame", 12, (const uint8_t *)"\x00\x09\x09", 3, 0, NULL, 0);
    memcpy(buf, d->p, d->n);
    buf[1] = 0;
    hostile_case(&h, "delta depth 0", 11, buf, d->n, 0, NULL, 0);
    buf[0] = TEXT_DELTA;
    buf[1] = 0x80;
    buf[2] = 0x02;               /* depth 256 */
    memcpy(buf + 3, d->p + 2, d->n - 2);
    hostile_case(&h, "delta depth 256", 11, buf, d->n + 1, 0, NULL, 0);
    memcpy(buf, d->p, d->n);
    buf[2] = 2;                  /* base rev 9: absent */
    hostile_case(&h, "delta missing base", 11, buf, d->n, 0, NULL, 0);
    memcpy(buf, d->p, d->n);
    buf[2] = 0;
    hostile_case(&h, "delta on itself", 11, buf, d->n, 0, NULL, 0);
    buf[2] = 1;
    n = equal_entry(buf + 4096, 1, a.n, crc);   /* 12 Equal to 11, 11 Delta on 10 */
    hostile_case(&h, "delta on equal", 13, d->p, d->n, 12, buf + 4096, n);
    /* 12: a valid delta of a against 11's text, but at depth 1 like 11 */
    {
        Codec *cd = codec_new();
        ErrorInfo e2;
        const uint8_t *fr;
        size_t fl;
        REQUIRE(codec_encode(cd, CODEC_ZSTD, 3, b.p, b.n, NULL, 0, a.p, a.n, &fr, &fl, &e2) == DUMP_OK);
        buf[0] = TEXT_DELTA;
        buf[1] = 1;
        buf[2] = 1;
        memcpy(buf + 3, fr, fl);
        hostile_case(&h, "base not shallower", 12, buf, fl + 3, 0, NULL, 0);
        buf[1] = 2;                 /* the same at depth 2 is fine */
        poke(&f, 1, 12, 0, buf, fl + 3);
        fix_renew(&f);
        verify(&f, &m);
        poke(&f, 1, 12, 0, h.orig[2].p, h.orig[2].n);
        codec_free(cd);
    }
    memcpy(buf, d->p, d->n);
    buf[d->n] = 0;
    hostile_case(&h, "delta trailing byte", 11, buf, d->n + 1, 0, NULL, 0);
    hostile_case(&h, "delta truncated", 11, d->p, d->n - 1, 0, NULL, 0);

    /* a stray piece and an orphan piece */
    uint8_t pk[TEXT_KEY_LEN + 4] = { 0 };
    uint64_t count = 0, bytes = 0;
    text_key(pk, 1, 11, 0);
    pk[20] = 1;
    CHECK_RC(store_put_bytes(f.s, PT, pk, sizeof pk, (const uint8_t *)"x", 1, 0), DUMP_OK);
    CHECK_RC(text_check_page(f.t, 1, &count, &bytes, &f.err), DUMP_CORRUPT);
    CHECK_RC(store_del_bytes(f.s, PT, pk, sizeof pk), DUMP_OK);
    text_key(pk, 1, 15, 0);
    pk[20] = 1;
    CHECK_RC(store_put_bytes(f.s, PT, pk, sizeof pk, (const uint8_t *)"x", 1, 0), DUMP_OK);
    CHECK_RC(text_check_page(f.t, 1, &count, &bytes, &f.err), DUMP_CORRUPT);
    CHECK(strstr(f.err.msg, "pieces without an entry") != NULL);
    CHECK_RC(store_del_bytes(f.s, PT, pk, sizeof pk), DUMP_OK);
    count = bytes = 0;
    CHECK_RC(text_check_page(f.t, 1, &count, &bytes, &f.err), DUMP_OK);
    CHECK(count == 3 && bytes == 2 * a.n + b.n);
    for (int i = 0; i < 3; i++) free(h.orig[i].p);
    free(a.p);
    free(b.p);
    fix_close(&f);
    model_free(&m);
}

/* The example of docs/format.md "Text storage", byte for byte, and the
 * key order the layout relies on. */
static void test_layout(void)
{
    Fix f;
    fix_open(&f, "layout.db", DUMP_CODEC_ZSTD, 16);
    uint8_t a[300], b[300];
    memset(a, 'a', sizeof a);
    memset(b, 'b', sizeof b);
    CHECK_RC(text_put(f.t, 5, 7, 0, a, sizeof a, &f.err), DUMP_OK);
    CHECK_RC(text_put(f.t, 5, 9, 0, b, sizeof b, &f.err), DUMP_OK);
    CHECK_RC(text_put(f.t, 5, 12, 0, a, sizeof a, &f.err), DUMP_OK);
    static const uint8_t want_key[TEXT_KEY_LEN] = { 0x80, 0, 0, 0, 0, 0, 0, 5, 0x80, 0, 0, 0, 0, 0, 0, 0x0C, 0 };
    static const uint8_t want_val[8] = { 0x02, 0x05, 0xAC, 0x02, 0x09, 0x19, 0x97, 0x89 };
    uint8_t key[TEXT_KEY_LEN];
    text_key(key, 5, 12, 0);
    CHECK(memcmp(key, want_key, sizeof key) == 0);
    const uint8_t *v;
    size_t n;
    CHECK_RC(store_get_bytes(f.s, TT, key, TEXT_KEY_LEN, &v, &n), DUMP_OK);
    CHECK(n == sizeof want_val && memcmp(v, want_val, n) == 0);
    /* Raw: kind 0 then a text frame; the Delta on it: 01 depth 1, distance 2 */
    text_key(key, 5, 7, 0);
    CHECK_RC(store_get_bytes(f.s, TT, key, TEXT_KEY_LEN, &v, &n), DUMP_OK);
    CHECK(n > 6 && v[0] == TEXT_RAW && (v[1] & 0x0F) == CODEC_ZSTD && v[2] == 0xAC && v[3] == 0x02);
    text_key(key, 5, 9, 0);
    CHECK_RC(store_get_bytes(f.s, TT, key, TEXT_KEY_LEN, &v, &n), DUMP_OK);
    CHECK(n > 6 && v[0] == TEXT_DELTA && v[1] == 1 && v[2] == 2 && v[3] == (CODEC_ZSTD | CODEC_F_PREFIX));
    /* keys: page first, negative ids first, then rev, then slot */
    uint8_t k1[TEXT_KEY_LEN], k2[TEXT_KEY_LEN];
    text_key(k1, -1, 100, 3);
    text_key(k2, 0, -100, 0);
    CHECK(memcmp(k1, k2, TEXT_KEY_LEN) < 0);
    text_key(k1, 4, 99, 200);
    text_key(k2, 4, 100, 0);
    CHECK(memcmp(k1, k2, TEXT_KEY_LEN) < 0);
    /* a 2000-byte stored entry: 664 bytes in TEXT, pieces 1..3 after */
    TextTuning tu;
    text_get_tuning(f.t, &tu);
    Text r = { xmalloc(2000), 2000 };
    rng_fill(r.p, r.n);                  /* incompressible: a stored frame */
    CHECK_RC(text_put(f.t, 6, 1, 0, r.p, r.n, &f.err), DUMP_OK);
    text_key(key, 6, 1, 0);
    CHECK_RC(store_get_bytes(f.s, TT, key, TEXT_KEY_LEN, &v, &n), DUMP_OK);
    CHECK(n == TEXT_PIECE && v[0] == TEXT_RAW && v[1] == CODEC_STORED);
    size_t total = n;
    for (uint32_t i = 1; i <= 4; i++) {
        uint8_t pk[TEXT_KEY_LEN + 4];
        memcpy(pk, key, TEXT_KEY_LEN);
        pk[17] = 0, pk[18] = 0, pk[19] = 0, pk[20] = (uint8_t)i;
        int rc = store_get_bytes(f.s, PT, pk, sizeof pk, &v, &n);
        CHECK_RC(rc, i < 4 ? DUMP_OK : DUMP_NOTFOUND);
        if (rc == DUMP_OK) total += n;
    }
    CHECK(total == 1 + 1 + 2 + 4 + 2000);
    free(r.p);
    fix_close(&f);
}

static void test_invalid(void)
{
    Fix f;
    fix_open(&f, "invalid.db", DUMP_CODEC_ZSTD, 16);
    static const uint8_t x[1] = { 'x' };
    CHECK_RC(text_put(f.t, 1, 1, 0, x, CODEC_MAX_RAW + 1, &f.err), DUMP_INVALID);
    CHECK_RC(text_put(f.t, 1, 1, 256, x, 1, &f.err), DUMP_INVALID);
    CHECK_RC(text_put(f.t, 1, 1, 0, NULL, 1, &f.err), DUMP_INVALID);
    CHECK_RC(text_put(f.t, 1, 1, 0, NULL, 0, &f.err), DUMP_OK);
    const uint8_t *p;
    size_t n;
    CHECK_RC(text_get(f.t, 1, 1, 0, &p, &n, &f.err), DUMP_OK);
    CHECK(n == 0);
    CHECK_RC(text_get(f.t, 1, 2, 0, &p, &n, &f.err), DUMP_NOTFOUND);
    CHECK(strstr(f.err.msg, "page 1 rev 2 slot 0") != NULL);
    CHECK_RC(text_delete(f.t, 1, 2, 0, &f.err), DUMP_NOTFOUND);
    CHECK_RC(text_delete_page(f.t, 99, &f.err), DUMP_OK);
    /* extreme ids */
    Text t = { (uint8_t *)"hello world", 11 };
    CHECK_RC(text_put(f.t, INT64_MIN, INT64_MIN, 0, t.p, t.n, &f.err), DUMP_OK);
    CHECK_RC(text_put(f.t, INT64_MIN, INT64_MAX, 0, t.p, t.n, &f.err), DUMP_OK);
    CHECK_RC(text_put(f.t, INT64_MAX, -5, 0, t.p, t.n, &f.err), DUMP_OK);
    fix_renew(&f);
    CHECK_RC(text_get(f.t, INT64_MIN, INT64_MAX, 0, &p, &n, &f.err), DUMP_OK);
    CHECK(n == 11 && !memcmp(p, "hello world", 11));
    CHECK_RC(text_delete(f.t, INT64_MIN, INT64_MIN, 0, &f.err), DUMP_OK);
    CHECK_RC(text_get(f.t, INT64_MIN, INT64_MAX, 0, &p, &n, &f.err), DUMP_OK);
    CHECK_RC(text_get(f.t, INT64_MAX, -5, 0, &p, &n, &f.err), DUMP_OK);
    /* outside a transaction */
    CHECK_RC(store_commit(f.s), DUMP_OK);
    CHECK(text_put(f.t, 1, 5, 0, t.p, t.n, &f.err) != DUMP_OK);
    fix_close(&f);
}


/* ---- packed layout ------------------------------------------------------------------ */

static void fix_packed(Fix *f, const char *name, size_t pack_bytes, int pack_depth)
{
    fix_open(f, name, pack_depth == 4 ? DUMP_CODEC_XZ : DUMP_CODEC_ZSTD, 16);   /* xz too */
    f->cfg.packed = 1;
    TextTuning tu;
    text_get_tuning(f->t, &tu);
    text_free(f->t);
    f->t = text_new(f->s, TT, &f->cfg);
    tu.pack_bytes = pack_bytes;
    tu.pack_depth = pack_depth;
    text_set_tuning(f->t, &tu);
}

/* A Pack or Packed entry parsed here: kind, pack depth, reference (the
 * prefix of a Pack with depth > 0, the holder of a Packed). */
static int read_pent(Store *s, int64_t page, int64_t rev, unsigned slot, Ent *e, uint64_t *members)
{
    uint8_t key[TEXT_KEY_LEN];
    const uint8_t *v;
    size_t n;
    uint64_t x;
    text_key(key, page, rev, slot);
    int rc = store_get_bytes(s, TT, key, TEXT_KEY_LEN, &v, &n);
    if (rc) return rc;
    const uint8_t *q = v + 1, *end = v + n;
    memset(e, 0, sizeof *e);
    e->kind = v[0];
    e->vlen = n;
    *members = 0;
    if (e->kind == TEXT_PACK) {
        q += varint_get(q, end, &x);
        e->depth = (unsigned)x;
    }
    if (e->kind == TEXT_PACKED || (e->kind == TEXT_PACK && e->depth > 0) || e->kind == TEXT_EQUAL) {
        q += varint_get(q, end, &x);
        e->ref = rev - (int64_t)x;
    }
    if (e->kind == TEXT_PACK) varint_get(q, end, members);
    return DUMP_OK;
}

/* The packs of page/slot obey their rules: members name an earlier Pack
 * holding exactly that many; prefixes are earlier packed texts of a
 * shallower pack; depths stay below pack_depth. Counts kinds 0..4. */
static void check_packs(Fix *f, Model *m, int64_t page, unsigned slot, int pack_depth, unsigned kinds[5])
{
    memset(kinds, 0, 5 * sizeof *kinds);
    for (size_t i = 0; i < m->n; i++) {
        const MEnt *me = &m->e[i];
        if (!me->present || me->page != page || me->slot != slot) continue;
        Ent e, h;
        uint64_t members, hm;
        CHECK_RC(read_pent(f->s, page, me->rev, slot, &e, &members), DUMP_OK);
        if (e.kind > 4) {
            CHECK(!"unknown kind");
            continue;
        }
        kinds[e.kind]++;
        if (e.kind == TEXT_PACK) {
            CHECK(e.depth < (unsigned)pack_depth);
            unsigned want = 0;
            for (size_t j = 0; j < m->n; j++) {
                Ent o;
                uint64_t om;
                if (m->e[j].present && m->e[j].page == page && m->e[j].slot == slot &&
                    read_pent(f->s, page, m->e[j].rev, slot, &o, &om) == DUMP_OK && o.kind == TEXT_PACKED &&
                    o.ref == me->rev)
                    want++;
            }
            CHECK(members == want + 1);
            if (e.depth > 0) {
                CHECK(e.ref < me->rev);
                REQUIRE(read_pent(f->s, page, e.ref, slot, &h, &hm) == DUMP_OK);
                CHECK(h.kind == TEXT_PACK || h.kind == TEXT_PACKED);
                if (h.kind == TEXT_PACKED) REQUIRE(read_pent(f->s, page, h.ref, slot, &h, &hm) == DUMP_OK);
                CHECK(h.kind == TEXT_PACK && h.depth < e.depth);
            }
        } else if (e.kind == TEXT_PACKED) {
            CHECK(e.ref < me->rev);
            REQUIRE(read_pent(f->s, page, e.ref, slot, &h, &hm) == DUMP_OK);
            CHECK(h.kind == TEXT_PACK);
        }
    }
}

static int64_t check_count(Fix *f, int64_t page)
{
    uint64_t count = 0, bytes = 0;
    int rc = text_check_page(f->t, page, &count, &bytes, &f->err);
    CHECK_RC(rc, DUMP_OK);
    if (rc) fprintf(stderr, "  %s\n", f->err.msg);
    return rc ? -1 : (int64_t)count;
}

/* Histories in two slots and two pages go into packs; every text reads
 * back while buffered, after the flush and from a cold TextStore. */
static void test_packs_roundtrip(void)
{
    static const int depths[] = { 1, 2, 4 };
    for (int di = 0; di < 3; di++) {
        Fix f;
        Model m = { 0 };
        rng_seed(300 + (uint64_t)di);
        fix_packed(&f, "packs.db", 24000, depths[di]);
        const int n = 90;
        Text *h = history(n, 3000), *h2 = history(n / 3, 800);
        for (int i = 0; i < n; i++) {
            REQUIRE(put(&f, &m, 5, 10 + i, 0, &h[i]) == DUMP_OK);
            if (i % 3 == 0) REQUIRE(put(&f, &m, 5, 10 + i, 1, &h2[i / 3]) == DUMP_OK);
        }
        CHECK(text_stats(f.t)->packs > 0);      /* full packs went out already */
        /* buffered texts of page 5 read back before the flush */
        for (size_t i = 0; i < m.n; i++) {
            const uint8_t *p;
            size_t len;
            CHECK_RC(text_get(f.t, 5, m.e[i].rev, m.e[i].slot, &p, &len, &f.err), DUMP_OK);
            CHECK(len == m.e[i].text.n && memcmp(p, m.e[i].text.p, len) == 0);
        }
        Text other = wiki_text(2000);
        REQUIRE(put(&f, &m, 6, 1, 0, &other) == DUMP_OK);   /* page change: page 5 written */
        free(other.p);
        CHECK_RC(text_flush(f.t, &f.err), DUMP_OK);
        CHECK(text_stats(f.t)->packed + text_stats(f.t)->equal == (uint64_t)(n + n / 3 + 1));
        verify(&f, &m);
        unsigned k0[5], k1[5];
        check_packs(&f, &m, 5, 0, depths[di], k0);
        check_packs(&f, &m, 5, 1, depths[di], k1);
        CHECK(k0[TEXT_PACK] >= 5 && k0[TEXT_PACKED] > k0[TEXT_PACK] && k0[TEXT_EQUAL] > 0);
        CHECK(k0[TEXT_RAW] == 0 && k0[TEXT_DELTA] == 0);
        CHECK(k1[TEXT_PACK] >= 1);
        CHECK(check_count(&f, 5) == n + n / 3);
        CHECK(check_count(&f, 6) == 1);
        history_free(h, n);
        history_free(h2, n / 3);
        fix_close(&f);
        model_free(&m);
    }
}

/* Deleting packed texts in every position (first, middle, last member, a
 * pack of one, a prefix of later packs, Equal targets): the rest reads
 * back and the page checks after each delete; then the page is written
 * again. */
static void test_packs_deletes(void)
{
    for (int round = 0; round < 3; round++) {
        Fix f;
        Model m = { 0 };
        rng_seed(400 + (uint64_t)round);
        fix_packed(&f, "packdel.db", round == 2 ? 4000 : 16000, round == 0 ? 2 : 4);
        const int n = 50;
        Text *h = history(n, 2500);
        for (int i = 0; i < n; i++) REQUIRE(put(&f, &m, 5, 10 + i, 0, &h[i]) == DUMP_OK);
        CHECK_RC(text_flush(f.t, &f.err), DUMP_OK);
        /* first the holder of a pack with a prefix, then a last member that
         * is another pack's prefix, then the rest in random order */
        int order[50], k = 0, used[50] = { 0 };
        for (int i = 0; i < n && k < 2; i++) {
            Ent e;
            uint64_t mem;
            if (read_pent(f.s, 5, 10 + i, 0, &e, &mem) != DUMP_OK) continue;
            if (k == 0 && e.kind == TEXT_PACK && e.depth > 0) {
                order[k++] = i;
                used[i] = 1;
                i = -1;       /* again from the start for the second pick */
            } else if (k == 1 && e.kind == TEXT_PACK && e.depth > 0 && !used[e.ref - 10]) {
                order[k++] = (int)(e.ref - 10);
                used[e.ref - 10] = 1;
            }
        }
        CHECK(k == 2);
        for (int i = 0; i < n; i++)
            if (!used[i]) order[k++] = i;
        for (int i = n - 1; i > 2; i--) {
            int j = 2 + (int)rng_below((uint64_t)i - 1), x = order[i];
            order[i] = order[j];
            order[j] = x;
        }
        uint64_t reenc = 0;
        for (int i = 0; i < n; i++) {
            int64_t rev = 10 + order[i];
            uint64_t before = text_stats(f.t)->reencoded;
            CHECK_RC(text_delete(f.t, 5, rev, 0, &f.err), DUMP_OK);
            reenc += text_stats(f.t)->reencoded - before;
            model_find(&m, 5, rev, 0)->present = 0;
            CHECK_RC(text_delete(f.t, 5, rev, 0, &f.err), DUMP_NOTFOUND);
            if (i < 12 || i % 4 == 0) verify(&f, &m);
            unsigned kinds[5];
            check_packs(&f, &m, 5, 0, round == 0 ? 2 : 4, kinds);
            CHECK(check_count(&f, 5) == n - i - 1);
        }
        CHECK(reenc > 0);
        for (int i = 0; i < n; i++) REQUIRE(put(&f, &m, 5, 10 + i, 0, &h[i]) == DUMP_OK);
        CHECK_RC(text_flush(f.t, &f.err), DUMP_OK);
        verify(&f, &m);
        CHECK(check_count(&f, 5) == n);
        history_free(h, n);
        fix_close(&f);
        model_free(&m);
    }
}

/* A flipped bit anywhere in a pack's entry, a Packed entry naming the
 * wrong offset or CRC, a wrong member count: DUMP_CORRUPT, never wrong
 * bytes; text_check_page finds each. */
static void test_packs_corrupt(void)
{
    Fix f;
    Model m = { 0 };
    rng_seed(17);
    fix_packed(&f, "packbad.db", 6000, 3);
    Text cur = wiki_text(1200);
    const int n = 30;
    for (int i = 0; i < n; i++) {
        REQUIRE(put(&f, &m, 1, i + 1, 0, &cur) == DUMP_OK);
        Text next = edit_text(&cur);
        free(cur.p);
        cur = next;
    }
    free(cur.p);
    CHECK_RC(text_flush(f.t, &f.err), DUMP_OK);
    /* a holder of depth 1 (its pack has a prefix) and a member of it */
    int64_t victim = 0, member = 0;
    for (int64_t r = 1; r <= n && !victim; r++) {
        Ent e;
        uint64_t mem;
        if (read_pent(f.s, 1, r, 0, &e, &mem) == DUMP_OK && e.kind == TEXT_PACK && e.depth == 1 && mem > 1) {
            victim = r;
            member = r + 1;
        }
    }
    REQUIRE(victim > 0);
    uint8_t key[TEXT_KEY_LEN];
    const uint8_t *v;
    size_t vn;
    text_key(key, 1, victim, 0);
    REQUIRE(store_get_bytes(f.s, TT, key, TEXT_KEY_LEN, &v, &vn) == DUMP_OK);
    Text orig = text_copy(v, vn);
    /* (a flip the decoder does not notice but that leaves the bytes right,
     * e.g. in an entropy table, is no failure: wrong bytes would be) */
    int caught = 0, tried = 0, checked = 0;
    for (size_t pos = 0; pos < orig.n; pos += 1 + pos / 64) {
        Text bad = text_copy(orig.p, orig.n);
        bad.p[pos] ^= (uint8_t)(1u << (pos % 8));
        poke(&f, 1, victim, 0, bad.p, bad.n);
        fix_renew(&f);
        for (size_t i = 0; i < m.n; i++) {
            const uint8_t *p;
            size_t len;
            int rc = text_get(f.t, 1, m.e[i].rev, 0, &p, &len, &f.err);
            if (rc == DUMP_OK) {
                CHECK(len == m.e[i].text.n && memcmp(p, m.e[i].text.p, len) == 0);
            } else {
                CHECK_RC(rc, DUMP_CORRUPT);
                CHECK(strstr(f.err.msg, "text of page 1 rev ") != NULL);
            }
            if (m.e[i].rev == member) {
                tried++;
                caught += rc == DUMP_CORRUPT;
            }
        }
        uint64_t count = 0, bytes = 0;
        int rc = text_check_page(f.t, 1, &count, &bytes, &f.err);
        if (rc != DUMP_OK) CHECK_RC(rc, DUMP_CORRUPT);
        checked += rc == DUMP_CORRUPT;
        free(bad.p);
    }
    if (!(checked >= tried - 2 && caught >= tried - 12 && tried > 50))
        fprintf(stderr, "  caught %d checked %d of %d\n", caught, checked, tried);
    /* every flip is found by the check (but one that leaves the bytes
     * right), and by a read of the member unless it is in a field of the
     * holder's own: member count, first text's length and CRC-32 */
    CHECK(checked >= tried - 2 && caught >= tried - 12 && tried > 50);
    poke(&f, 1, victim, 0, orig.p, orig.n);
    free(orig.p);
    fix_renew(&f);
    verify(&f, &m);
    CHECK(check_count(&f, 1) == n);

    /* a Packed entry with another offset, another CRC, another holder */
    text_key(key, 1, member, 0);
    REQUIRE(store_get_bytes(f.s, TT, key, TEXT_KEY_LEN, &v, &vn) == DUMP_OK);
    Text mo = text_copy(v, vn);
    for (int what = 0; what < 3; what++) {
        Text bad = text_copy(mo.p, mo.n);
        if (what == 0) bad.p[2] ^= 1;                /* offset (one-byte varint 0 is not at [2]...) */
        else if (what == 1) bad.p[bad.n - 1] ^= 0x40;  /* CRC */
        else bad.p[0] = TEXT_PACK;                   /* not a Packed any more */
        poke(&f, 1, member, 0, bad.p, bad.n);
        fix_renew(&f);
        const uint8_t *p;
        size_t len;
        int rc = text_get(f.t, 1, member, 0, &p, &len, &f.err);
        if (rc == DUMP_OK) CHECK(!"damaged member read");
        else CHECK_RC(rc, DUMP_CORRUPT);
        uint64_t count = 0, bytes = 0;
        CHECK_RC(text_check_page(f.t, 1, &count, &bytes, &f.err), DUMP_CORRUPT);
        free(bad.p);
    }
    /* a member gone: the holder's count no longer matches */
    store_del_bytes(f.s, TT, key, TEXT_KEY_LEN);
    fix_renew(&f);
    uint64_t count = 0, bytes = 0;
    CHECK_RC(text_check_page(f.t, 1, &count, &bytes, &f.err), DUMP_CORRUPT);
    CHECK(strstr(f.err.msg, "pack of") != NULL);
    poke(&f, 1, member, 0, mo.p, mo.n);
    free(mo.p);
    fix_renew(&f);
    verify(&f, &m);
    fix_close(&f);
    model_free(&m);
}

/* A page with packs written on later: by a TextStore without packing
 * (Raw/Delta after the packs), by a packed one after its state was rebuilt
 * from the tree, reverts to packed texts (Equal), replacements of packed
 * texts, texts below the newest. */
static void test_packs_later_puts(void)
{
    Fix f;
    Model m = { 0 };
    rng_seed(19);
    fix_packed(&f, "packlater.db", 12000, 3);
    const int n = 40;
    Text *h = history(n, 2000);
    for (int i = 0; i < 20; i++) REQUIRE(put(&f, &m, 3, 100 + i, 0, &h[i]) == DUMP_OK);
    CHECK_RC(text_flush(f.t, &f.err), DUMP_OK);
    /* continued by a packed TextStore with state from the tree */
    fix_renew(&f);
    uint64_t packs = text_stats(f.t)->packs;
    for (int i = 20; i < 30; i++) REQUIRE(put(&f, &m, 3, 100 + i, 0, &h[i]) == DUMP_OK);
    CHECK_RC(text_flush(f.t, &f.err), DUMP_OK);
    CHECK(text_stats(f.t)->packs > packs);
    verify(&f, &m);
    unsigned kinds[5];
    check_packs(&f, &m, 3, 0, 3, kinds);
    /* then by one without packing: Raw and Deltas after the packs */
    TextConfig plain = f.cfg;
    plain.packed = 0;
    text_free(f.t);
    f.t = text_new(f.s, TT, &plain);
    for (int i = 30; i < n; i++) REQUIRE(put(&f, &m, 3, 100 + i, 0, &h[i]) == DUMP_OK);
    REQUIRE(put(&f, &m, 3, 200, 0, &h[5]) == DUMP_OK);         /* a revert to a packed text */
    Ent e;
    uint64_t mem;
    CHECK(read_pent(f.s, 3, 200, 0, &e, &mem) == DUMP_OK && e.kind == TEXT_EQUAL && e.ref == 105);
    Text x = wiki_text(1500);
    REQUIRE(put(&f, &m, 3, 107, 0, &x) == DUMP_OK);            /* replace a packed text */
    REQUIRE(put(&f, &m, 3, 99, 0, &x) == DUMP_OK);             /* below the newest */
    free(x.p);
    unsigned k2[5];
    check_packs(&f, &m, 3, 0, 3, k2);
    CHECK(k2[TEXT_DELTA] > 0 && k2[TEXT_PACK] > 0);
    verify(&f, &m);
    CHECK(check_count(&f, 3) == n + 2);
    CHECK_RC(text_delete(f.t, 3, 105, 0, &f.err), DUMP_OK);     /* the Equal's target */
    model_find(&m, 3, 105, 0)->present = 0;
    verify(&f, &m);
    CHECK(check_count(&f, 3) == n + 1);
    f.cfg = plain;
    history_free(h, n);
    fix_close(&f);
    model_free(&m);
}

int main(void)
{
    tu_tmpdir("test_text");
    run("history_roundtrip", test_history_roundtrip);
    run("staircase", test_staircase);
    run("similarity", test_similarity);
    run("scan_cost", test_scan_cost);
    run("dictionary", test_dictionary);
    run("large", test_large);
    run("random_deletes", test_random_deletes);
    run("replace", test_replace);
    run("order_slots_resume", test_order_slots_resume);
    run("corrupt_chain", test_corrupt_chain);
    run("changed_targets", test_changed_targets);
    run("crc_collision", test_crc_collision);
    run("hostile", test_hostile);
    run("layout", test_layout);
    run("invalid", test_invalid);
    run("packs_roundtrip", test_packs_roundtrip);
    run("packs_deletes", test_packs_deletes);
    run("packs_corrupt", test_packs_corrupt);
    run("packs_later_puts", test_packs_later_puts);
    tu_cleanup();
    return tu_finish("text");
}
