/*
 * fuzz_codec.c -- libFuzzer target for codec_decode (text frames).
 *
 * Input: one frame, decoded with the fixed prefix and dictionary below (the
 * same bytes as tests/fuzz/make_seeds.py's CODEC_PREFIX / CODEC_DICT). A
 * rejected frame must give DUMP_CORRUPT with a "text frame: " message and no
 * output. An accepted one must match its header again (length and CRC-32,
 * recomputed here), and its bytes must survive a round trip: encoded with the
 * frame's codec and references at a fast level, decoded, compared. abort()
 * on any violation. Seeds: tests/fuzz/corpus/codec/ (tests/fuzz/make_seeds.py).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "codec.h"
#include "status.h"

#define REQUIRE(c) do { if (!(c)) abort(); } while (0)

static const char PREFIX[] =
    "PEP: 8\nTitle: Style Guide for Python Code\nAuthor: Guido van Rossum\n"
    "Status: Active\n\n== Introduction ==\nThis document gives coding conventions "
    "for the Python code comprising the standard library.\n";
static const char DICT[] =
    "[[Category:Standards Track PEPs]] {{PEP header}} == Abstract == == Rationale == "
    "== Specification == == References == == Copyright == This document has been "
    "placed in the public domain.\n";

static Codec *codec;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *pre = (const uint8_t *)PREFIX, *dic = (const uint8_t *)DICT;
    const size_t npre = sizeof PREFIX - 1, ndic = sizeof DICT - 1;
    const uint8_t *out = (const uint8_t *)"", *frame;
    size_t n = 1, fn;
    CodecFrameInfo fi;
    ErrorInfo err;

    if (!codec && !(codec = codec_new()))
        return 0;
    error_clear(&err);
    int rc = codec_decode(codec, data, size, pre, npre, dic, ndic, &out, &n, &err);
    if (rc == DUMP_NOMEM)
        return 0;
    if (rc != DUMP_OK) {
        REQUIRE(rc == DUMP_CORRUPT && err.code == rc && out == NULL && n == 0);
        REQUIRE(strncmp(err.msg, "text frame: ", 12) == 0);
        return 0;
    }
    REQUIRE(codec_frame_info(data, size, &fi, &err) == DUMP_OK);
    REQUIRE(n == fi.raw_len && n <= CODEC_MAX_RAW);
    REQUIRE((uint32_t)crc32_z(0, n ? out : (const uint8_t *)"", n) == fi.crc);
    if (n > ((size_t)1 << 20))
        return 0;                     /* re-encoding huge outputs only costs time */

    /* The round trip. `out` is the latest result, so it may be an input. */
    int usep = fi.flags & CODEC_F_PREFIX, used = fi.flags & CODEC_F_DICT;
    rc = codec_encode(codec, fi.codec, 1, usep ? pre : NULL, usep ? npre : 0,
                      used ? dic : NULL, used ? ndic : 0, out, n, &frame, &fn, &err);
    if (rc == DUMP_NOMEM)
        return 0;
    REQUIRE(rc == DUMP_OK);
    uint8_t *copy = malloc(n ? n : 1), *fcopy = malloc(fn);
    if (copy && fcopy) {
        memcpy(copy, out, n);         /* `out` is invalid after the next call */
        memcpy(fcopy, frame, fn);
        size_t n2;
        rc = codec_decode(codec, fcopy, fn, pre, npre, dic, ndic, &out, &n2, &err);
        REQUIRE(rc == DUMP_OK || rc == DUMP_NOMEM);
        REQUIRE(rc != DUMP_OK || (n2 == n && memcmp(out, copy, n) == 0));
    }
    free(copy);
    free(fcopy);
    return 0;
}
