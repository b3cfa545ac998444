/*
 * test_codec.c -- unit tests of text frames (csrc/codec.c).
 *
 * Round trips for every codec with and without prefix and dictionary, the
 * exact header bytes of docs/format.md "Text frames", and the decoder's
 * defences: every truncation, every bit flip of small frames, wrong or
 * missing references, hostile headers and payloads. Wiki-like text comes
 * from a seeded generator so every failure reproduces. Run under
 * ASan/UBSan; the last line is "codec: N passed, M failed".
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zstd.h>

#include "bytes.h"
#include "codec.h"
#include "status.h"
#include "testutil.h"

static const int CODECS[] = { CODEC_STORED, CODEC_ZSTD, CODEC_XZ };
static const char *const CODEC_NAME[] = { "stored", "zstd", "xz" };

/* ---- data ---------------------------------------------------------------- */

/* About n bytes of wiki-like text: lines of words from a small vocabulary,
 * headings and list items, all from the PRNG seeded with `seed`. */
static Text wiki_text(size_t n, uint64_t seed)
{
    static const char *const words[] = {
        "the", "of", "and", "to", "in", "is", "that", "for", "it", "as", "with", "be",
        "module", "Python", "function", "proposal", "PEP", "should", "would", "object",
        "import", "syntax", "class", "value", "return", "statement", "behaviour",
        "interpreter", "[[Category:Standards]]", "{{Infobox}}", "''emphasis''",
    };
    const size_t nw = sizeof words / sizeof words[0];
    Text t = { xmalloc(n + 256), 0 };
    uint64_t saved = rng_state;
    rng_seed(seed);
    while (t.n < n) {
        uint64_t kind = rng_below(10);
        if (kind == 0)
            t.n += (size_t)sprintf((char *)t.p + t.n, "== Section %u ==\n", (unsigned)rng_below(100));
        else if (kind == 1)
            t.n += (size_t)sprintf((char *)t.p + t.n, "* item %u\n", (unsigned)rng_below(1000));
        size_t len = 0, target = 40 + rng_below(60);
        while (len < target && t.n < n + 200) {
            const char *w = words[rng_below(nw)];
            size_t k = strlen(w);
            memcpy(t.p + t.n, w, k);
            t.p[t.n + k] = ' ';
            t.n += k + 1;
            len += k + 1;
        }
        t.p[t.n - 1] = '\n';
    }
    t.n = n;
    rng_state = saved;
    return t;
}

/* The text after an edit: a few lines replaced, one inserted, one removed. */
static Text edit_text(const Text *base, uint64_t seed)
{
    Text ins = wiki_text(200, seed ^ 0x5555);
    Text t = { xmalloc(base->n + 4 * ins.n + 64), 0 };
    uint64_t saved = rng_state;
    rng_seed(seed);
    size_t cut = base->n ? rng_below(base->n) : 0, drop = rng_below(300);
    if (cut + drop > base->n)
        drop = base->n - cut;
    memcpy(t.p, base->p, cut);
    t.n = cut;
    memcpy(t.p + t.n, ins.p, ins.n);
    t.n += ins.n;
    memcpy(t.p + t.n, base->p + cut + drop, base->n - cut - drop);
    t.n += base->n - cut - drop;
    rng_state = saved;
    free(ins.p);
    return t;
}

static Codec *new_codec(void)
{
    Codec *c = codec_new();
    if (!c) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    return c;
}

/* Encode, copy the frame out; exits the test case's checks on failure. */
static Text encode(Codec *c, int codec, int level, const Text *prefix, const Text *dict,
                   const Text *src)
{
    const uint8_t *f;
    size_t fn;
    ErrorInfo err;
    error_clear(&err);
    int rc = codec_encode(c, codec, level, prefix ? prefix->p : NULL, prefix ? prefix->n : 0,
                          dict ? dict->p : NULL, dict ? dict->n : 0, src->p, src->n, &f, &fn, &err);
    if (rc != DUMP_OK) {
        fprintf(stderr, "encode failed: %s %s\n", status_name(rc), err.msg);
        CHECK(rc == DUMP_OK);
        return (Text){ NULL, 0 };
    }
    return text_copy(f, fn);
}

/* Decode; returns the status, *out borrowed from c. */
static int decode(Codec *c, const Text *frame, const Text *prefix, const Text *dict,
                  const uint8_t **out, size_t *out_len, ErrorInfo *err)
{
    error_clear(err);
    return codec_decode(c, frame->p, frame->n, prefix ? prefix->p : NULL, prefix ? prefix->n : 0,
                        dict ? dict->p : NULL, dict ? dict->n : 0, out, out_len, err);
}

/* Decodes to exactly `want`. */
static int decodes_to(Codec *c, const Text *frame, const Text *prefix, const Text *dict,
                      const Text *want)
{
    const uint8_t *out;
    size_t n;
    ErrorInfo err;
    int rc = decode(c, frame, prefix, dict, &out, &n, &err);
    if (rc != DUMP_OK)
        fprintf(stderr, "  decode: %s %s\n", status_name(rc), err.msg);
    return rc == DUMP_OK && n == want->n && (n == 0 || memcmp(out, want->p, n) == 0);
}

/* Decode fails with DUMP_CORRUPT and a "text frame: " message, output cleared. */
static int is_corrupt(Codec *c, const Text *frame, const Text *prefix, const Text *dict)
{
    const uint8_t *out = (const uint8_t *)"x";
    size_t n = 1;
    ErrorInfo err;
    int rc = decode(c, frame, prefix, dict, &out, &n, &err);
    if (rc != DUMP_CORRUPT)
        fprintf(stderr, "  expected DUMP_CORRUPT, got %s %s\n", status_name(rc), err.msg);
    return rc == DUMP_CORRUPT && err.code == DUMP_CORRUPT && out == NULL && n == 0 &&
           strncmp(err.msg, "text frame: ", 12) == 0;
}

/* DUMP_CORRUPT, or exactly `want`: never other bytes, never another code. */
static int corrupt_or_same(Codec *c, const Text *frame, const Text *prefix, const Text *dict,
                           const Text *want)
{
    const uint8_t *out;
    size_t n;
    ErrorInfo err;
    int rc = decode(c, frame, prefix, dict, &out, &n, &err);
    if (rc == DUMP_OK)
        return n == want->n && (n == 0 || memcmp(out, want->p, n) == 0);
    return rc == DUMP_CORRUPT;
}

/* ---- cases ------------------------------------------------------------------- */

static void test_crc32(void)
{
    CHECK(codec_crc32((const uint8_t *)"123456789", 9) == 0xCBF43926u);
    CHECK(codec_crc32(NULL, 0) == 0);
    CHECK(codec_crc32((const uint8_t *)"abc", 3) == 0x352441C2u);
}

/* The exact bytes of docs/format.md "Text frames". */
static void test_layout(void)
{
    Codec *c = new_codec();
    Text abc = text_copy((const uint8_t *)"abc", 3), empty = { NULL, 0 }, pre = abc;
    static const uint8_t want_abc[] = { 0x00, 0x03, 0xC2, 0x41, 0x24, 0x35, 'a', 'b', 'c' };
    static const uint8_t want_empty[] = { 0x00, 0x00, 0x00, 0x00, 0x00, 0x00 };

    Text f = encode(c, CODEC_STORED, 0, &pre, &pre, &abc);   /* references ignored */
    CHECK(f.n == sizeof want_abc && memcmp(f.p, want_abc, f.n) == 0);
    free(f.p);
    f = encode(c, CODEC_STORED, 0, NULL, NULL, &empty);
    CHECK(f.n == sizeof want_empty && memcmp(f.p, want_empty, f.n) == 0);
    free(f.p);

    /* 300 bytes: varint AC 02; zstd payload starts with its magic number. */
    Text t = wiki_text(300, 1);
    f = encode(c, CODEC_ZSTD, 3, &abc, NULL, &t);
    CHECK(f.n > 9 && f.p[0] == (CODEC_ZSTD | CODEC_F_PREFIX) && f.p[1] == 0xAC && f.p[2] == 0x02);
    CHECK(get_u32(f.p + 3) == codec_crc32(t.p, t.n));
    CHECK(get_u32(f.p + 7) == ZSTD_MAGICNUMBER);
    CHECK(ZSTD_getFrameContentSize(f.p + 7, f.n - 7) == 300);
    CodecFrameInfo fi;
    ErrorInfo err;
    CHECK_RC(codec_frame_info(f.p, f.n, &fi, &err), DUMP_OK);
    CHECK(fi.codec == CODEC_ZSTD && fi.flags == CODEC_F_PREFIX && fi.raw_len == 300 &&
          fi.header_len == 7 && fi.crc == codec_crc32(t.p, t.n));
    free(f.p);

    f = encode(c, CODEC_XZ, 6, NULL, &abc, &t);
    CHECK(f.p[0] == (CODEC_XZ | CODEC_F_DICT) && f.p[f.n - 1] == 0x00);  /* LZMA2 end marker */
    free(f.p);
    free(t.p);
    free(abc.p);
    codec_free(c);
}

/* Every codec x {no prefix, prefix} x {no dictionary, dictionary} x sizes. */
static void test_roundtrip_matrix(void)
{
    static const size_t sizes[] = { 0, 1, 2, 100, 4096, 70000, 300000 };
    Codec *c = new_codec(), *d = new_codec();
    Text dict = wiki_text(20000, 99);
    for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
        Text base = wiki_text(sizes[si] + 500, si), src = edit_text(&base, si);
        if (src.n > sizes[si])
            src.n = sizes[si];
        for (int ci = 0; ci < 3; ci++) {
            for (int usep = 0; usep < 2; usep++) {
                for (int used = 0; used < 2; used++) {
                    const Text *pre = usep ? &base : NULL, *dic = used ? &dict : NULL;
                    Text f = encode(c, CODECS[ci], ci == 2 ? 6 : 0, pre, dic, &src);
                    int want_flags = ci == 0 ? 0 : (usep ? CODEC_F_PREFIX : 0) | (used ? CODEC_F_DICT : 0);
                    CHECK(f.n > 0 && (f.p[0] & 0xF0) == want_flags && (f.p[0] & 0x0F) == CODECS[ci]);
                    /* decodes with a fresh context and with the encoding one */
                    if (!decodes_to(d, &f, pre, dic, &src) || !decodes_to(c, &f, pre, dic, &src)) {
                        fprintf(stderr, "  %s size %zu prefix %d dict %d\n", CODEC_NAME[ci],
                                src.n, usep, used);
                        CHECK(0);
                    }
                    /* extra, unused references are ignored */
                    CHECK(decodes_to(d, &f, &base, &dict, &src));
                    free(f.p);
                }
            }
        }
        free(base.p);
        free(src.p);
    }
    free(dict.p);
    codec_free(c);
    codec_free(d);
}

/* A delta really uses its prefix, and a dictionary really is used. */
static void test_references_pay(void)
{
    Codec *c = new_codec();
    Text base = wiki_text(200000, 7), src = edit_text(&base, 8);
    for (int ci = 1; ci < 3; ci++) {
        Text alone = encode(c, CODECS[ci], 0, NULL, NULL, &src);
        Text delta = encode(c, CODECS[ci], 0, &base, NULL, &src);
        Text viadict = encode(c, CODECS[ci], 0, NULL, &base, &src);
        Text both = encode(c, CODECS[ci], 0, &base, &base, &src);
        fprintf(stderr, "  %s: 200 KB edit alone %zu, with prefix %zu, with dictionary %zu\n",
                CODEC_NAME[ci], alone.n, delta.n, viadict.n);
        CHECK(delta.n * 20 < alone.n && delta.n < 1000);
        CHECK(viadict.n * 20 < alone.n);
        CHECK(decodes_to(c, &delta, &base, NULL, &src));
        CHECK(decodes_to(c, &viadict, NULL, &base, &src));
        CHECK(decodes_to(c, &both, &base, &base, &src));
        free(alone.p);
        free(delta.p);
        free(viadict.p);
        free(both.p);
    }
    free(base.p);
    free(src.p);
    codec_free(c);
}

/* Dictionary and prefix together: the reference is dict || prefix; swapping
 * them, or giving only one, is caught. */
static void test_dict_and_prefix(void)
{
    Codec *c = new_codec();
    Text dict = wiki_text(30000, 21), base = wiki_text(30000, 22), src = edit_text(&base, 23);
    /* the source also quotes the dictionary, so both references matter */
    Text mix = { xmalloc(src.n + 5000), 0 };
    memcpy(mix.p, src.p, src.n);
    memcpy(mix.p + src.n, dict.p + 1000, 5000);
    mix.n = src.n + 5000;
    for (int ci = 1; ci < 3; ci++) {
        Text f = encode(c, CODECS[ci], 0, &base, &dict, &mix);
        CHECK(decodes_to(c, &f, &base, &dict, &mix));
        CHECK(is_corrupt(c, &f, &dict, &base));
        CHECK(is_corrupt(c, &f, NULL, &dict));
        CHECK(is_corrupt(c, &f, &base, NULL));
        CHECK(is_corrupt(c, &f, NULL, NULL));
        free(f.p);
    }
    free(dict.p);
    free(base.p);
    free(src.p);
    free(mix.p);
    codec_free(c);
}

/* Prefix much longer than the text, for both codecs. */
static void test_long_prefix(void)
{
    Codec *c = new_codec();
    Text base = wiki_text(3 << 20, 31), src = { xmalloc(5000), 5000 };
    memcpy(src.p, base.p + base.n - 6000, 5000);   /* quotes the far end of the prefix */
    Text tiny = text_copy((const uint8_t *)"z", 1);
    for (int ci = 1; ci < 3; ci++) {
        Text f = encode(c, CODECS[ci], ci == 2 ? 6 : 19, &base, NULL, &src);
        CHECK(f.n < 200);
        CHECK(decodes_to(c, &f, &base, NULL, &src));
        free(f.p);
        f = encode(c, CODECS[ci], 0, &base, NULL, &tiny);
        CHECK(decodes_to(c, &f, &base, NULL, &tiny));
        free(f.p);
        /* text quoting the *start* of a 3 MiB prefix: the window must reach it */
        memcpy(src.p, base.p + 100, 5000);
        f = encode(c, CODECS[ci], ci == 2 ? 6 : 19, &base, NULL, &src);
        fprintf(stderr, "  %s: 5000 bytes quoting the start of a 3 MiB prefix: %zu bytes\n",
                CODEC_NAME[ci], f.n);
        CHECK(f.n < 200);
        CHECK(decodes_to(c, &f, &base, NULL, &src));
        free(f.p);
        memcpy(src.p, base.p + base.n - 6000, 5000);
    }
    free(base.p);
    free(src.p);
    free(tiny.p);
    codec_free(c);
}

/* 10 MB: alone, and as an edit of a 10 MB prefix (needs a 2^25 window). */
static void test_10mb(void)
{
    Codec *c = new_codec();
    Text base = wiki_text(10000000, 41), src = edit_text(&base, 42);
    for (int ci = 0; ci < 3; ci++) {
        int level = ci == 1 ? 3 : 1;
        Text f = encode(c, CODECS[ci], level, NULL, NULL, &src);
        CHECK(decodes_to(c, &f, NULL, NULL, &src));
        free(f.p);
        if (ci == 0)
            continue;
        f = encode(c, CODECS[ci], level, &base, NULL, &src);
        fprintf(stderr, "  %s: 10 MB edit against a 10 MB prefix: %zu bytes\n", CODEC_NAME[ci], f.n);
        CHECK(f.n < 10000);
        CHECK(decodes_to(c, &f, &base, NULL, &src));
        free(f.p);
    }
    free(base.p);
    free(src.p);
    codec_free(c);
}

/* Wrong, missing or damaged references are DUMP_CORRUPT (the CRC-32 catches
 * what the decompressor does not). */
static void test_wrong_prefix(void)
{
    Codec *c = new_codec();
    Text base = wiki_text(50000, 51), src = edit_text(&base, 52), other = edit_text(&base, 53);
    Text damaged = text_copy(base.p, base.n), shorter = text_copy(base.p, base.n - 1);
    damaged.p[base.n / 2] ^= 1;
    for (int ci = 1; ci < 3; ci++) {
        Text f = encode(c, CODECS[ci], 0, &base, NULL, &src);
        CHECK(decodes_to(c, &f, &base, NULL, &src));
        CHECK(is_corrupt(c, &f, &other, NULL));
        CHECK(is_corrupt(c, &f, &src, NULL));
        CHECK(is_corrupt(c, &f, &shorter, NULL));
        CHECK(is_corrupt(c, &f, NULL, NULL));            /* needs a prefix, none given */
        CHECK(is_corrupt(c, &f, NULL, &base));           /* a dictionary is not a prefix */
        /* a damaged prefix byte the delta copies from */
        CHECK(corrupt_or_same(c, &f, &damaged, NULL, &src));
        CHECK(decodes_to(c, &f, &base, NULL, &src));     /* the context recovered */
        free(f.p);
    }
    free(base.p);
    free(src.p);
    free(other.p);
    free(damaged.p);
    free(shorter.p);
    codec_free(c);
}

/* Small frames of every codec and reference kind, for the damage tests. */
typedef struct Case {
    Text frame, src;
    const Text *prefix, *dict;
} Case;

static size_t make_cases(Codec *c, Case *cs, Text *base, Text *dict)
{
    size_t n = 0;
    static const size_t sizes[] = { 0, 1, 700, 3000 };
    for (int ci = 0; ci < 3; ci++)
        for (size_t si = 0; si < 4; si++)
            for (int r = 0; r < 3; r++) {
                if (ci == 0 && r > 0)
                    continue;
                Text src = edit_text(base, 60 + si);
                src.n = sizes[si];
                cs[n].prefix = r == 1 ? base : NULL;
                cs[n].dict = r == 2 ? dict : NULL;
                cs[n].src = src;
                cs[n].frame = encode(c, CODECS[ci], ci == 2 ? 6 : 19, cs[n].prefix, cs[n].dict, &src);
                n++;
            }
    return n;
}

static void free_cases(Case *cs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(cs[i].frame.p);
        free(cs[i].src.p);
    }
}

/* Every proper prefix of a frame, and the frame plus a trailing byte. */
static void test_truncation(void)
{
    Codec *c = new_codec();
    Text base = wiki_text(4000, 61), dict = wiki_text(4000, 62);
    Case cs[32];
    size_t n = make_cases(c, cs, &base, &dict), tried = 0;
    for (size_t i = 0; i < n; i++) {
        Text *f = &cs[i].frame;
        for (size_t len = 0; len < f->n; len++) {
            Text cut = text_copy(f->p, len);     /* own allocation: ASan sees overreads */
            if (!is_corrupt(c, &cut, cs[i].prefix, cs[i].dict)) {
                fprintf(stderr, "  case %zu truncated to %zu of %zu\n", i, len, f->n);
                CHECK(0);
            }
            free(cut.p);
            tried++;
        }
        for (int extra = 0; extra < 2; extra++) {
            Text longer = { xmalloc(f->n + 1), f->n + 1 };
            memcpy(longer.p, f->p, f->n);
            longer.p[f->n] = (uint8_t)(extra ? 0xFF : 0x00);
            CHECK(is_corrupt(c, &longer, cs[i].prefix, cs[i].dict));
            free(longer.p);
        }
        CHECK(decodes_to(c, f, cs[i].prefix, cs[i].dict, &cs[i].src));
    }
    fprintf(stderr, "  %zu truncations of %zu frames\n", tried, n);
    free_cases(cs, n);
    free(base.p);
    free(dict.p);
    codec_free(c);
}

/* Every single-bit flip: DUMP_CORRUPT or the original bytes, never others. */
static void test_bit_flips(void)
{
    Codec *c = new_codec();
    Text base = wiki_text(4000, 71), dict = wiki_text(4000, 72);
    Case cs[32];
    size_t n = make_cases(c, cs, &base, &dict), flips = 0, survived = 0;
    for (size_t i = 0; i < n; i++) {
        Text f = text_copy(cs[i].frame.p, cs[i].frame.n);
        for (size_t bit = 0; bit < 8 * f.n; bit++) {
            f.p[bit / 8] ^= (uint8_t)(1u << bit % 8);
            const uint8_t *out;
            size_t len;
            ErrorInfo err;
            int rc = decode(c, &f, cs[i].prefix, cs[i].dict, &out, &len, &err);
            if (rc == DUMP_OK) {
                survived++;
                if (len != cs[i].src.n || (len && memcmp(out, cs[i].src.p, len) != 0)) {
                    fprintf(stderr, "  case %zu bit %zu: wrong bytes\n", i, bit);
                    CHECK(0);
                }
            } else if (rc != DUMP_CORRUPT) {
                fprintf(stderr, "  case %zu bit %zu: %s %s\n", i, bit, status_name(rc), err.msg);
                CHECK(0);
            }
            f.p[bit / 8] ^= (uint8_t)(1u << bit % 8);
            flips++;
        }
        free(f.p);
    }
    fprintf(stderr, "  %zu flips, %zu decoded to the original\n", flips, survived);
    free_cases(cs, n);
    free(base.p);
    free(dict.p);
    codec_free(c);
}

static Text frame_of(uint8_t method, uint64_t raw_len, uint32_t crc, const uint8_t *payload,
                     size_t n)
{
    Text t = { xmalloc(CODEC_HEADER_MAX + VARINT_MAX + n), 0 };
    t.p[0] = method;
    t.n = 1 + varint_put(t.p + 1, raw_len);
    put_u32(t.p + t.n, crc);
    t.n += 4;
    if (n)
        memcpy(t.p + t.n, payload, n);
    t.n += n;
    return t;
}

/* A plain zstd frame of src, with the given zstd parameters. */
static Text raw_zstd(const Text *src, int checksum, int content_size)
{
    ZSTD_CCtx *z = ZSTD_createCCtx();
    Text t = { xmalloc(ZSTD_compressBound(src->n)), 0 };
    ZSTD_CCtx_setParameter(z, ZSTD_c_checksumFlag, checksum);
    ZSTD_CCtx_setParameter(z, ZSTD_c_contentSizeFlag, content_size);
    size_t r = ZSTD_compress2(z, t.p, ZSTD_compressBound(src->n), src->p, src->n);
    CHECK(!ZSTD_isError(r));
    t.n = ZSTD_isError(r) ? 0 : r;
    ZSTD_freeCCtx(z);
    return t;
}

/* Headers and payloads no writer produces. */
static void test_hostile(void)
{
    Codec *c = new_codec();
    Text src = wiki_text(5000, 81), f;
    uint32_t crc = codec_crc32(src.p, src.n);

    for (int m = 0; m < 256; m++) {          /* method bytes: only 7 are valid */
        f = frame_of((uint8_t)m, 0, 0, NULL, 0);
        int codec = m & 15, flags = m & 0xF0;
        int valid = codec <= 2 && (flags & 0xC0) == 0 && !(codec == 0 && flags);
        CodecFrameInfo fi;
        ErrorInfo err;
        CHECK(codec_frame_info(f.p, f.n, &fi, &err) == (valid ? DUMP_OK : DUMP_CORRUPT));
        if (!valid)
            CHECK(is_corrupt(c, &f, &src, &src));
        free(f.p);
    }
    /* non-canonical varint 80 00, raw length over the limit */
    static const uint8_t noncanon[] = { 0x00, 0x80, 0x00, 0, 0, 0, 0 };
    f = text_copy(noncanon, sizeof noncanon);
    CHECK(is_corrupt(c, &f, NULL, NULL));
    free(f.p);
    f = frame_of(CODEC_STORED, CODEC_MAX_RAW + 1, 0, NULL, 0);
    CHECK(is_corrupt(c, &f, NULL, NULL));
    free(f.p);
    /* stored: payload shorter/longer than declared, CRC off by one bit */
    f = frame_of(CODEC_STORED, src.n + 1, crc, src.p, src.n);
    CHECK(is_corrupt(c, &f, NULL, NULL));
    free(f.p);
    f = frame_of(CODEC_STORED, src.n, crc ^ 0x80000000u, src.p, src.n);
    CHECK(is_corrupt(c, &f, NULL, NULL));
    free(f.p);
    f = frame_of(CODEC_STORED, src.n, crc, src.p, src.n);
    CHECK(decodes_to(c, &f, NULL, NULL, &src));
    free(f.p);

    /* zstd: a valid payload is accepted by this test's framing ... */
    Text z = raw_zstd(&src, 0, 1);
    f = frame_of(CODEC_ZSTD, src.n, crc, z.p, z.n);
    CHECK(decodes_to(c, &f, NULL, NULL, &src));
    free(f.p);
    /* ... but not under another declared length, nor twice, nor after a
     * skippable frame, nor with a zstd checksum or without a content size */
    uint64_t lies[] = { 0, src.n - 1, src.n + 1, CODEC_MAX_RAW };
    for (size_t i = 0; i < 4; i++) {
        f = frame_of(CODEC_ZSTD, lies[i], crc, z.p, z.n);
        CHECK(is_corrupt(c, &f, NULL, NULL));
        free(f.p);
    }
    Text two = { xmalloc(2 * z.n + 16), 0 };
    memcpy(two.p, z.p, z.n);
    memcpy(two.p + z.n, z.p, z.n);
    f = frame_of(CODEC_ZSTD, src.n, crc, two.p, 2 * z.n);
    CHECK(is_corrupt(c, &f, NULL, NULL));
    free(f.p);
    static const uint8_t skippable[8] = { 0x50, 0x2A, 0x4D, 0x18, 0, 0, 0, 0 };
    memcpy(two.p, skippable, 8);
    memcpy(two.p + 8, z.p, z.n);
    f = frame_of(CODEC_ZSTD, src.n, crc, two.p, 8 + z.n);
    CHECK(is_corrupt(c, &f, NULL, NULL));
    free(f.p);
    f = frame_of(CODEC_ZSTD, 0, 0, skippable, 8);
    CHECK(is_corrupt(c, &f, NULL, NULL));
    free(f.p);
    free(two.p);
    free(z.p);
    z = raw_zstd(&src, 1, 1);
    f = frame_of(CODEC_ZSTD, src.n, crc, z.p, z.n);
    CHECK(is_corrupt(c, &f, NULL, NULL));
    free(f.p);
    free(z.p);
    z = raw_zstd(&src, 0, 0);
    f = frame_of(CODEC_ZSTD, src.n, crc, z.p, z.n);
    CHECK(is_corrupt(c, &f, NULL, NULL));
    free(f.p);
    free(z.p);
    /* a 13-byte zstd frame that claims 1 GiB: one raw block of 1 byte */
    static const uint8_t claim[] = { 0x28, 0xB5, 0x2F, 0xFD, 0xA0, 0x00, 0x00, 0x00, 0x40,
                                     0x09, 0x00, 0x00, 'x' };
    f = frame_of(CODEC_ZSTD, (uint64_t)1 << 30, 0, claim, sizeof claim);
    CHECK(is_corrupt(c, &f, NULL, NULL));
    free(f.p);

    /* LZMA2: bad control byte, no end marker, chunk sizes != length, trailing */
    static const uint8_t lz_bad[] = { 0x03, 0x00 };
    static const uint8_t lz_noend[] = { 0x01, 0x00, 0x02, 'a', 'b', 'c' };
    static const uint8_t lz_ok[] = { 0x01, 0x00, 0x02, 'a', 'b', 'c', 0x00 };
    static const uint8_t lz_trail[] = { 0x01, 0x00, 0x02, 'a', 'b', 'c', 0x00, 0x00 };
    static const uint8_t lz_big[] = { 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x5D, 0x00, 0x00 };
    uint32_t abc = codec_crc32((const uint8_t *)"abc", 3);
    Text want = text_copy((const uint8_t *)"abc", 3);
    f = frame_of(CODEC_XZ, 3, abc, lz_ok, sizeof lz_ok);
    CHECK(decodes_to(c, &f, NULL, NULL, &want));
    free(f.p);
    f = frame_of(CODEC_XZ, 4, abc, lz_ok, sizeof lz_ok);
    CHECK(is_corrupt(c, &f, NULL, NULL));
    free(f.p);
    f = frame_of(CODEC_XZ, 3, abc, lz_trail, sizeof lz_trail);
    CHECK(is_corrupt(c, &f, NULL, NULL));
    free(f.p);
    f = frame_of(CODEC_XZ, 3, abc, lz_noend, sizeof lz_noend);
    CHECK(is_corrupt(c, &f, NULL, NULL));
    free(f.p);
    f = frame_of(CODEC_XZ, 3, abc, lz_bad, sizeof lz_bad);
    CHECK(is_corrupt(c, &f, NULL, NULL));
    free(f.p);
    f = frame_of(CODEC_XZ, 2 << 20, abc, lz_big, sizeof lz_big);
    CHECK(is_corrupt(c, &f, NULL, NULL));
    free(f.p);
    free(want.p);
    free(src.p);
    codec_free(c);
}

static void test_invalid_args(void)
{
    Codec *c = new_codec();
    const uint8_t *f = (const uint8_t *)"x";
    size_t n = 1;
    ErrorInfo err;
    const uint8_t s[4] = "abc";

    CHECK_RC(codec_encode(c, 3, 0, NULL, 0, NULL, 0, s, 3, &f, &n, &err), DUMP_INVALID);
    CHECK(f == NULL && n == 0);
    CHECK_RC(codec_encode(c, -1, 0, NULL, 0, NULL, 0, s, 3, &f, &n, &err), DUMP_INVALID);
    CHECK_RC(codec_encode(c, CODEC_ZSTD, ZSTD_maxCLevel() + 1, NULL, 0, NULL, 0, s, 3, &f, &n, &err),
             DUMP_INVALID);
    CHECK_RC(codec_encode(c, CODEC_ZSTD, -1, NULL, 0, NULL, 0, s, 3, &f, &n, &err), DUMP_OK);
    CHECK_RC(codec_encode(c, CODEC_XZ, 10, NULL, 0, NULL, 0, s, 3, &f, &n, &err), DUMP_INVALID);
    CHECK_RC(codec_encode(c, CODEC_XZ, -1, NULL, 0, NULL, 0, s, 3, &f, &n, &err), DUMP_INVALID);
    CHECK_RC(codec_encode(c, CODEC_ZSTD, 0, NULL, 5, NULL, 0, s, 3, &f, &n, &err), DUMP_INVALID);
    CHECK_RC(codec_encode(c, CODEC_ZSTD, 0, NULL, 0, NULL, 0, NULL, 3, &f, &n, &err), DUMP_INVALID);
    CHECK_RC(codec_encode(c, CODEC_ZSTD, 0, NULL, 0, NULL, 0, s, CODEC_MAX_RAW + 1, &f, &n, &err),
             DUMP_INVALID);
    CHECK_RC(codec_decode(c, NULL, 3, NULL, 0, NULL, 0, &f, &n, &err), DUMP_INVALID);
    CHECK_RC(codec_decode(c, NULL, 0, NULL, 0, NULL, 0, &f, &n, &err), DUMP_CORRUPT);
    codec_free(c);
    codec_free(NULL);
}

/* One context, thousands of calls mixing codecs, sizes and references; a
 * chain decoded by feeding each result back as the next prefix. */
static void test_reuse(void)
{
    Codec *c = new_codec(), *d = new_codec();
    enum { REVS = 60 };
    Text revs[REVS], frames[REVS];
    revs[0] = wiki_text(30000, 91);
    for (int i = 1; i < REVS; i++)
        revs[i] = edit_text(&revs[i - 1], 91 + (uint64_t)i);
    for (int i = 0; i < REVS; i++)
        frames[i] = encode(c, CODECS[1 + i % 2], i % 2 ? 6 : 19, i ? &revs[i - 1] : NULL, NULL,
                           &revs[i]);
    for (int round = 0; round < 20; round++) {
        const uint8_t *prev = NULL;
        size_t prev_n = 0;
        for (int i = 0; i < REVS; i++) {
            const uint8_t *out;
            size_t n;
            ErrorInfo err;
            error_clear(&err);
            int rc = codec_decode(d, frames[i].p, frames[i].n, prev, prev_n, NULL, 0, &out, &n, &err);
            CHECK_RC(rc, DUMP_OK);
            CHECK(rc == DUMP_OK && n == revs[i].n && memcmp(out, revs[i].p, n) == 0);
            if (rc != DUMP_OK)
                break;
            prev = out;                 /* borrowed, passed straight back in */
            prev_n = n;
        }
    }
    /* encode from a result, and a result of encode as the next source */
    const uint8_t *out, *f;
    size_t n, fn;
    ErrorInfo err;
    CHECK_RC(codec_decode(d, frames[5].p, frames[5].n, revs[4].p, revs[4].n, NULL, 0, &out, &n, &err),
             DUMP_OK);
    CHECK_RC(codec_encode(d, CODEC_ZSTD, 1, out, n, NULL, 0, revs[6].p, revs[6].n, &f, &fn, &err),
             DUMP_OK);
    Text ff = text_copy(f, fn);
    CHECK(decodes_to(c, &ff, &revs[5], NULL, &revs[6]));
    CHECK_RC(codec_encode(d, CODEC_STORED, 0, NULL, 0, NULL, 0, f, fn, &f, &n, &err), DUMP_OK);
    free(ff.p);

    /* random mixed calls, failures included */
    rng_seed(1234);
    for (int i = 0; i < 3000; i++) {
        int ci = (int)rng_below(3), r = (int)rng_below(3);
        Text *src = &revs[rng_below(REVS)], *base = &revs[rng_below(REVS)];
        Text cut = *src;
        cut.n = rng_below(src->n + 1);
        const Text *pre = r == 1 ? base : NULL, *dic = r == 2 ? base : NULL;
        Text fr = encode(c, CODECS[ci], ci == 2 ? 1 : 1 + (int)rng_below(5), pre, dic, &cut);
        CHECK(decodes_to(c, &fr, pre, dic, &cut));
        if (ci && r == 1 && base != src)
            CHECK(corrupt_or_same(c, &fr, src, NULL, &cut));
        free(fr.p);
    }
    for (int i = 0; i < REVS; i++) {
        free(revs[i].p);
        free(frames[i].p);
    }
    codec_free(c);
    codec_free(d);
}

int main(void)
{
    run("crc32", test_crc32);
    run("layout", test_layout);
    run("roundtrip_matrix", test_roundtrip_matrix);
    run("references_pay", test_references_pay);
    run("dict_and_prefix", test_dict_and_prefix);
    run("long_prefix", test_long_prefix);
    run("10mb", test_10mb);
    run("wrong_prefix", test_wrong_prefix);
    run("truncation", test_truncation);
    run("bit_flips", test_bit_flips);
    run("hostile", test_hostile);
    run("invalid_args", test_invalid_args);
    run("reuse", test_reuse);
    return tu_finish("codec");
}
