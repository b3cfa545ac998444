/*
 * text_layout.c -- revision text storage on a real corpus: size, write
 * speed, random-read latency and scan speed of csrc/dump_text.c.
 *
 * A benchmark outside the package, linked with the csrc objects. Input:
 * the flat file of benchmarks/extract_texts.py (every revision text of a
 * dump in document order). Every text goes through text_put into a real
 * Store file (text tree 5, piece tree 10, commits every 64 MiB of text);
 * then every text is read back in key order and compared byte for byte
 * (scan), and --samples texts drawn at random (seeded) are read with a
 * cold TextStore cache (text_reset before each read; the Store's node cache
 * stays warm, as in a long-running reader). It measures; it passes or
 * fails nothing, except that a text read back wrong is reported and makes
 * the exit status 1.
 *
 * Build and run (about 10 s per configuration at zstd 9, 30 s at 19):
 *   cc -std=c11 -D_GNU_SOURCE= -O2 -Icsrc benchmarks/text_layout.c csrc/[a-z]*.c \
 *      -lzstd -llzma -lz -lm -o /tmp/text_layout
 *   python benchmarks/extract_texts.py            # -> /tmp/incrdump-texts.bin
 *   /tmp/text_layout [options] [/tmp/incrdump-texts.bin]
 * Options: --codec zstd|xz  --level N  --depth N  --chain-bytes N
 *   --min-depth N  --layout stairs|restart  --no-sim  --no-pieces
 *   --dict-kb N (train a zstd dictionary on the first revisions, used by
 *   Raw frames; its size is added to the file size)  --cache-mb N
 *   --samples N  --file PATH  --keep  --label TEXT
 *   --renew N (a new TextStore every N puts: writer state rebuilt from the
 *   tree, as for an incremental update)
 *   --packed (the packed layout of compact: a page's texts in packs)
 *   --pack-kb N (raw KiB per pack, default 768)  --pack-depth N (packs
 *   decoded per read at most, default 2)
 * Timings by CPU time are the ones to compare on a shared machine (wall
 * clock includes waiting for the CPU). One line of results (and a header
 * with --header), sizes in MB (1e6):
 * file size (+ dictionary), its ratio to xz -9 of the XML, entry bytes,
 * write MB/s by wall clock and per CPU second, random reads p50/p99 by wall
 * clock and by thread CPU time (ms), scan MB/s, entry kinds, mean depth.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <zdict.h>

#include "codec.h"
#include "dump_text.h"
#include "incrdump.h"

#define TEXT_TREE  5
#define PIECE_TREE 10
#define XZ9_BYTES  6.38e6     /* xz -9 of the corpus XML (DESIGN.md section 3) */

typedef struct Rec {
    int64_t page, rev;
    unsigned slot;
    size_t len;
    const uint8_t *p;
} Rec;

static double clk(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
static double now(void) { return clk(CLOCK_MONOTONIC); }
static double cpu(void) { return clk(CLOCK_THREAD_CPUTIME_ID); }

static void die(const char *what, const char *msg)
{
    fprintf(stderr, "text_layout: %s: %s\n", what, msg);
    exit(2);
}

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint64_t rnd(void)
{
    uint64_t z = (rng += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int cmp_rec(const void *a, const void *b)
{
    const Rec *x = a, *y = b;
    if (x->page != y->page) return x->page < y->page ? -1 : 1;
    if (x->rev != y->rev) return x->rev < y->rev ? -1 : 1;
    return (int)x->slot - (int)y->slot;
}

static uint8_t *load(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) die(path, "cannot open (run benchmarks/extract_texts.py)");
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *p = malloc((size_t)sz + 1);
    if (!p || fread(p, 1, (size_t)sz, f) != (size_t)sz) die(path, "read failed");
    fclose(f);
    *n = (size_t)sz;
    return p;
}

static uint64_t le(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

int main(int argc, char **argv)
{
    const char *in = "/tmp/incrdump-texts.bin", *file = "/tmp/text_layout.dump", *label = "";
    TextConfig cfg = { DUMP_CODEC_ZSTD, 0, 16, NULL, 0, PIECE_TREE, 0 };
    TextTuning tu;
    int dict_kb = 0, samples = 20000, keep = 0, header = 0, cache_mb = -1, renew = 0;
    long chain_bytes = -1, min_depth = -1, layout = -1, sim = -1, pack_kb = -1, pack_depth = -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--codec") && v) cfg.codec = !strcmp(argv[++i], "xz") ? DUMP_CODEC_XZ : DUMP_CODEC_ZSTD;
        else if (!strcmp(a, "--level") && v) cfg.level = atoi(argv[++i]);
        else if (!strcmp(a, "--depth") && v) cfg.max_depth = atoi(argv[++i]);
        else if (!strcmp(a, "--chain-bytes") && v) chain_bytes = atol(argv[++i]);
        else if (!strcmp(a, "--min-depth") && v) min_depth = atol(argv[++i]);
        else if (!strcmp(a, "--layout") && v) layout = !strcmp(argv[++i], "restart");
        else if (!strcmp(a, "--no-sim")) sim = 0;
        else if (!strcmp(a, "--no-pieces")) cfg.piece_tree = 0;
        else if (!strcmp(a, "--packed")) cfg.packed = 1;
        else if (!strcmp(a, "--pack-kb") && v) pack_kb = atol(argv[++i]);
        else if (!strcmp(a, "--pack-depth") && v) pack_depth = atol(argv[++i]);
        else if (!strcmp(a, "--dict-kb") && v) dict_kb = atoi(argv[++i]);
        else if (!strcmp(a, "--cache-mb") && v) cache_mb = atoi(argv[++i]);
        else if (!strcmp(a, "--renew") && v) renew = atoi(argv[++i]);
        else if (!strcmp(a, "--samples") && v) samples = atoi(argv[++i]);
        else if (!strcmp(a, "--file") && v) file = argv[++i];
        else if (!strcmp(a, "--label") && v) label = argv[++i];
        else if (!strcmp(a, "--keep")) keep = 1;
        else if (!strcmp(a, "--header")) header = 1;
        else if (a[0] != '-') in = a;
        else die(a, "unknown option");
    }

    size_t nbytes;
    uint8_t *data = load(in, &nbytes);
    size_t nrec = 0, cap = 1 << 15;
    Rec *rec = malloc(cap * sizeof *rec);
    uint64_t total = 0;
    for (size_t o = 0; o + 24 <= nbytes;) {
        if (nrec == cap) rec = realloc(rec, (cap *= 2) * sizeof *rec);
        Rec *r = &rec[nrec++];
        r->page = (int64_t)le(data + o, 8);
        r->rev = (int64_t)le(data + o + 8, 8);
        r->slot = (unsigned)le(data + o + 16, 4);
        r->len = (size_t)le(data + o + 20, 4);
        r->p = data + o + 24;
        o += 24 + r->len;
        total += r->len;
    }

    /* Dictionary: trained on each page's first text (zstd's trainer). */
    uint8_t *dict = NULL;
    size_t dict_len = 0;
    if (dict_kb > 0) {
        size_t ns = 0, sb = 0;
        size_t *sizes = malloc(nrec * sizeof *sizes);
        uint8_t *buf = malloc(total);
        for (size_t i = 0; i < nrec; i++)
            if (i == 0 || rec[i].page != rec[i - 1].page) {
                size_t n = rec[i].len < (1 << 20) ? rec[i].len : (1 << 20);
                memcpy(buf + sb, rec[i].p, n);
                sizes[ns++] = n;
                sb += n;
            }
        dict = malloc((size_t)dict_kb * 1000);
        dict_len = ZDICT_trainFromBuffer(dict, (size_t)dict_kb * 1000, buf, sizes, (unsigned)ns);
        if (ZDICT_isError(dict_len)) die("dictionary", ZDICT_getErrorName(dict_len));
        free(buf);
        free(sizes);
        cfg.dict = dict;
        cfg.dict_len = dict_len;
    }

    unlink(file);
    Store *s;
    if (store_open(file, STORE_WRITE | STORE_CREATE, &s)) die(file, store_errmsg(s));
    if (store_begin(s) || store_tree_create(s, TEXT_TREE, STORE_KEY_BYTES) ||
        store_tree_create(s, PIECE_TREE, STORE_KEY_BYTES) || store_commit(s))
        die(file, store_errmsg(s));
    TextStore *t = text_new(s, TEXT_TREE, &cfg);
    text_get_tuning(t, &tu);
    if (chain_bytes >= 0) tu.chain_bytes = (size_t)chain_bytes;
    if (min_depth >= 0) tu.min_depth = (int)min_depth;
    if (layout >= 0) tu.layout = (int)layout;
    if (sim >= 0) tu.similarity = (int)sim;
    if (cache_mb >= 0) tu.cache_bytes = (size_t)cache_mb << 20;
    if (pack_kb >= 0) tu.pack_bytes = (size_t)pack_kb << 10;
    if (pack_depth >= 0) tu.pack_depth = (int)pack_depth;
    text_set_tuning(t, &tu);
    ErrorInfo err = { 0 };

    /* ---- write ---- */
    double t0 = now(), c0 = cpu();
    uint64_t since = 0;
    if (store_begin(s)) die("begin", store_errmsg(s));
    for (size_t i = 0; i < nrec; i++) {
        const Rec *r = &rec[i];
        if (renew && i % (size_t)renew == 0 && i) {   /* a new writer: state rebuilt from the tree */
            if (text_flush(t, &err)) die("text_flush", err.msg);
            TextStats keep_stats = *text_stats(t);
            text_free(t);
            t = text_new(s, TEXT_TREE, &cfg);
            text_set_tuning(t, &tu);
            *(TextStats *)text_stats(t) = keep_stats;
        }
        if (text_put(t, r->page, r->rev, r->slot, r->p, r->len, &err)) die("text_put", err.msg);
        if ((since += r->len) > (64u << 20) && (i + 1 == nrec || rec[i + 1].page != r->page)) {
            if (text_flush(t, &err)) die("text_flush", err.msg);
            if (store_commit(s) || store_begin(s)) die("commit", store_errmsg(s));
            since = 0;
        }
    }
    if (text_flush(t, &err)) die("text_flush", err.msg);
    if (store_commit(s)) die("commit", store_errmsg(s));
    double t_write = now() - t0, c_write = cpu() - c0;
    StoreInfo si;
    store_info(s, &si);
    const TextStats *st = text_stats(t);

    /* Depth histogram and entry sizes, from the headers. */
    uint64_t depth_sum = 0, depth_n = 0, hist[TEXT_MAX_DEPTH + 1] = { 0 };
    {
        StoreCursor *c;
        store_cursor_open(s, TEXT_TREE, &c);
        for (int rc = store_cursor_first(c); rc == DUMP_OK; rc = store_cursor_next(c)) {
            const uint8_t *v;
            size_t vl;
            store_cursor_value(c, &v, &vl);
            if (vl && v[0] == TEXT_DELTA) {
                unsigned d = v[1] & 0x7f;
                if (v[1] & 0x80) d |= (unsigned)(v[2] & 0x7f) << 7;
                if (d <= TEXT_MAX_DEPTH) hist[d]++;
                depth_sum += d;
            }
            depth_n++;
        }
        store_cursor_close(c);
    }

    /* ---- scan in key order, verifying every byte ---- */
    Rec *sorted = malloc(nrec * sizeof *sorted);
    memcpy(sorted, rec, nrec * sizeof *rec);
    qsort(sorted, nrec, sizeof *sorted, cmp_rec);
    text_reset(t);
    int bad = 0;
    t0 = now();
    for (size_t i = 0; i < nrec; i++) {
        const uint8_t *p;
        size_t n;
        const Rec *r = &sorted[i];
        if (text_get(t, r->page, r->rev, r->slot, &p, &n, &err)) die("text_get", err.msg);
        if (n != r->len || memcmp(p, r->p, n)) {
            if (bad++ < 5) fprintf(stderr, "WRONG TEXT: page %" PRId64 " rev %" PRId64 "\n", r->page, r->rev);
        }
    }
    double t_scan = now() - t0;

    /* ---- random reads, cold TextStore cache ---- */
    double *lat = malloc((size_t)samples * sizeof *lat), *clat = malloc((size_t)samples * sizeof *lat);
    for (int i = 0; i < samples; i++) {
        const Rec *r = &rec[rnd() % nrec];
        const uint8_t *p;
        size_t n;
        text_reset(t);
        double a = now(), b = cpu();
        if (text_get(t, r->page, r->rev, r->slot, &p, &n, &err)) die("text_get", err.msg);
        clat[i] = cpu() - b;
        lat[i] = now() - a;
        if (n != r->len || memcmp(p, r->p, n)) bad++;
    }
    qsort(lat, (size_t)samples, sizeof *lat, cmp_double);
    qsort(clat, (size_t)samples, sizeof *clat, cmp_double);

    double size = (double)si.file_size + (double)dict_len;
    if (header)
        printf("%-22s %6s %5s %7s %6s %6s %6s %6s %6s %6s %7s %5s %6s %5s %5s %5s %6s\n", "layout", "MB", "xz9",
               "entryMB", "wMB/s", "wCPU", "p50ms", "p99ms", "c50ms", "c99ms", "scanMB/s", "raw", "delta", "equal",
               "avgd", "packs", "packed");
    printf("%-22s %6.2f %5.3f %7.2f %6.1f %6.1f %6.3f %6.3f %6.3f %6.3f %7.0f %5" PRIu64 " %6" PRIu64 " %5" PRIu64
           " %5.2f %5" PRIu64 " %6" PRIu64 "%s\n",
           label, size / 1e6, size / XZ9_BYTES, (double)st->out_bytes / 1e6, (double)total / 1e6 / t_write,
           (double)total / 1e6 / c_write, lat[samples / 2] * 1e3, lat[samples * 99 / 100] * 1e3,
           clat[samples / 2] * 1e3, clat[samples * 99 / 100] * 1e3, (double)total / 1e6 / t_scan,
           st->raw, st->delta, st->equal, depth_n ? (double)depth_sum / (double)depth_n : 0.0,
           st->packs, st->packed, bad ? "  WRONG TEXTS" : "");
    if (getenv("TEXT_LAYOUT_HIST")) {
        fprintf(stderr, "similar: %" PRIu64 " tries, %" PRIu64 " kept; reencoded %" PRIu64 "\n",
                st->similar_tries, st->similar_wins, st->reencoded);
        StoreCheck ck;
        uint64_t tcount = 0, pcount = 0;
        int type;
        store_check(s, &ck);
        store_tree_stat(s, TEXT_TREE, &type, &tcount);
        store_tree_stat(s, PIECE_TREE, &type, &pcount);
        fprintf(stderr, "blocks %" PRIu64 " live %" PRIu64 " free %" PRIu64 " pending %" PRIu64
                " entries: text %" PRIu64 " pieces %" PRIu64 "\n", ck.nblocks, ck.live_blocks,
                ck.free_blocks, ck.pending_blocks, tcount, pcount);
        for (int d = 0; d <= 32; d++)
            if (hist[d]) fprintf(stderr, "depth %d: %" PRIu64 "\n", d, hist[d]);
    }
    text_free(t);
    store_close(s);
    if (!keep) unlink(file);
    free(lat);
    free(clat);
    free(sorted);
    free(rec);
    free(data);
    free(dict);
    return bad ? 1 : 0;
}
