/*
 * codec.c -- text frames: stored, zstd and raw LZMA2 payloads behind one
 * header with the raw length and CRC-32 (docs/format.md "Text frames").
 *
 * Layer 3: status, bytes, libc, zstd, liblzma; no I/O. Invariant: a
 * decode hands out bytes only after their length and CRC-32 matched the
 * header, and allocates only after the payload's own structure (zstd block
 * headers, LZMA2 chunk headers) showed it can produce the declared length.
 */
#include "codec.h"

#include <lzma.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "bytes.h"

#define ZSTD_WINDOWLOG_LO  10           /* ZSTD_WINDOWLOG_MIN (static-only API) */
#define ZSTD_WINDOWLOG_CAP 27           /* 128 MiB: what every zstd decoder accepts */
#define ZSTD_BLOCK_MAX     (128 * 1024) /* ZSTD_BLOCKSIZE_MAX */
#define XZ_DICT_MIN        4096         /* LZMA_DICT_SIZE_MIN */
#define XZ_DICT_CAP        ((uint64_t)1 << 30)
#define XZ_ENC_DICT_CAP    ((uint32_t)1 << 26)  /* 64 MiB, preset 9's: ~700 MB to encode */

typedef struct Buf {
    uint8_t *p;
    size_t cap;
} Buf;

struct Codec {
    ZSTD_CCtx *cctx;      /* created on first zstd encode */
    ZSTD_DCtx *dctx;      /* created on first zstd decode */
    lzma_stream xz;       /* reused by every xz call; lzma_end at free */
    Buf res[2];           /* results alternate between these */
    int last;             /* index of the buffer holding the latest result */
    Buf ref;              /* dictionary || prefix, when both are given */
};

/* liblzma's CRC-32 is the same function as zlib's crc32() (the block
 * checksum), and several times faster where it uses carry-less multiply,
 * which matters because every decode checksums its whole output. */
uint32_t codec_crc32(const uint8_t *p, size_t n)
{
    return lzma_crc32(n ? p : (const uint8_t *)"", n, 0);
}

Codec *codec_new(void)
{
    Codec *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->xz = (lzma_stream)LZMA_STREAM_INIT;
    return c;
}

void codec_free(Codec *c)
{
    if (!c)
        return;
    ZSTD_freeCCtx(c->cctx);
    ZSTD_freeDCtx(c->dctx);
    lzma_end(&c->xz);
    free(c->res[0].p);
    free(c->res[1].p);
    free(c->ref.p);
    free(c);
}

/* Make b hold at least n bytes (contents not kept). A buffer much larger than
 * needed is given back, so one huge text does not pin memory forever. */
static int buf_reserve(Buf *b, size_t n)
{
    if (n == 0)
        n = 1;
    if (b->cap >= n && !(b->cap > ((size_t)4 << 20) && b->cap / 4 > n))
        return DUMP_OK;
    uint8_t *p = malloc(n);
    if (!p)
        return DUMP_NOMEM;
    free(b->p);
    b->p = p;
    b->cap = n;
    return DUMP_OK;
}

/* The buffer a call writes its result into: never the latest result's, so
 * that result may be an input of this call. */
static Buf *next_buf(Codec *c) { return &c->res[!c->last]; }
static void publish(Codec *c) { c->last = !c->last; }

/* The single reference the codecs see: dict || prefix (either may be empty).
 * Copies only when both are non-empty. */
static int make_ref(Codec *c, const uint8_t *prefix, size_t plen, const uint8_t *dict,
                    size_t dlen, const uint8_t **ref, size_t *rlen, ErrorInfo *err)
{
    if (plen == 0 || dlen == 0) {
        *ref = plen ? prefix : dict;
        *rlen = plen + dlen;
        return DUMP_OK;
    }
    if (buf_reserve(&c->ref, plen + dlen) != DUMP_OK)
        return error_set(err, DUMP_NOMEM, "text frame: out of memory for the reference");
    memcpy(c->ref.p, dict, dlen);
    memcpy(c->ref.p + dlen, prefix, plen);
    *ref = c->ref.p;
    *rlen = plen + dlen;
    return DUMP_OK;
}

/* ceil(log2(n)) for n >= 1. */
static int ceil_log2(uint64_t n)
{
    int k = 0;
    while (k < 63 && ((uint64_t)1 << k) < n)
        k++;
    return k;
}

/* The LZMA2 dictionary size for a reference of rlen bytes and rawlen bytes
 * of text: decoders use exactly this, encoders at most this (format.md). */
static uint32_t xz_dict_size(uint64_t rlen, uint64_t rawlen)
{
    uint64_t need = rlen + rawlen, d = XZ_DICT_MIN;
    while (d < need && d < XZ_DICT_CAP)
        d <<= 1;
    return (uint32_t)d;
}

/* ---- encoding ---------------------------------------------------------------- */

static int zstd_encode(Codec *c, int level, const uint8_t *ref, size_t rlen,
                       const uint8_t *src, size_t n, uint8_t *out, size_t cap,
                       size_t *written, ErrorInfo *err)
{
    if (!c->cctx && !(c->cctx = ZSTD_createCCtx()))
        return error_set(err, DUMP_NOMEM, "text frame: out of memory for zstd");
    /* Our header carries length and CRC-32: zstd keeps its content size (a
     * cross-check before allocating) and drops its checksum and dict id. */
    int wlog = ceil_log2((uint64_t)rlen + n);
    if (wlog < ZSTD_WINDOWLOG_LO)
        wlog = ZSTD_WINDOWLOG_LO;
    if (wlog > ZSTD_WINDOWLOG_CAP)
        wlog = ZSTD_WINDOWLOG_CAP;
    ZSTD_CCtx *z = c->cctx;
    size_t r = ZSTD_CCtx_reset(z, ZSTD_reset_session_and_parameters);
    if (!ZSTD_isError(r)) r = ZSTD_CCtx_setParameter(z, ZSTD_c_compressionLevel, level);
    if (!ZSTD_isError(r)) r = ZSTD_CCtx_setParameter(z, ZSTD_c_windowLog, wlog);
    if (!ZSTD_isError(r)) r = ZSTD_CCtx_setParameter(z, ZSTD_c_checksumFlag, 0);
    if (!ZSTD_isError(r)) r = ZSTD_CCtx_setParameter(z, ZSTD_c_contentSizeFlag, 1);
    if (!ZSTD_isError(r)) r = ZSTD_CCtx_setParameter(z, ZSTD_c_dictIDFlag, 0);
    if (!ZSTD_isError(r) && rlen) r = ZSTD_CCtx_refPrefix(z, ref, rlen);
    if (!ZSTD_isError(r)) r = ZSTD_compress2(z, out, cap, src, n);
    if (ZSTD_isError(r)) {
        int code = ZSTD_getErrorCode(r) == ZSTD_error_memory_allocation ? DUMP_NOMEM
                                                                         : DUMP_INVALID;
        ZSTD_CCtx_reset(z, ZSTD_reset_session_and_parameters);   /* drop the prefix */
        return error_set(err, code, "text frame: zstd: %s", ZSTD_getErrorName(r));
    }
    *written = r;
    return DUMP_OK;
}

static int xz_encode(Codec *c, int level, const uint8_t *ref, size_t rlen,
                     const uint8_t *src, size_t n, uint8_t *out, size_t cap,
                     size_t *written, ErrorInfo *err)
{
    lzma_options_lzma opt;
    if (lzma_lzma_preset(&opt, (uint32_t)level))
        return error_set(err, DUMP_INVALID, "text frame: bad xz level %d", level);
    /* The dictionary must reach the whole reference to make deltas, whatever
     * the preset says; the level picks the match finder's effort. */
    uint32_t dmax = xz_dict_size(rlen, n);
    opt.dict_size = dmax < XZ_ENC_DICT_CAP ? dmax : XZ_ENC_DICT_CAP;
    if (rlen > dmax) {          /* only the last dict_size bytes can be reached */
        ref += rlen - dmax;
        rlen = dmax;
    }
    opt.preset_dict = rlen ? ref : NULL;
    opt.preset_dict_size = (uint32_t)rlen;
    lzma_filter filters[2] = { { LZMA_FILTER_LZMA2, &opt }, { LZMA_VLI_UNKNOWN, NULL } };
    lzma_ret ret = lzma_raw_encoder(&c->xz, filters);
    if (ret == LZMA_OK) {
        c->xz.next_in = src;
        c->xz.avail_in = n;
        c->xz.next_out = out;
        c->xz.avail_out = cap;
        do
            ret = lzma_code(&c->xz, LZMA_FINISH);
        while (ret == LZMA_OK && c->xz.avail_out > 0);
    }
    if (ret != LZMA_STREAM_END)
        return error_set(err, ret == LZMA_MEM_ERROR ? DUMP_NOMEM : DUMP_INVALID,
                         "text frame: xz encoder failed (lzma_ret %d)", (int)ret);
    *written = cap - c->xz.avail_out;
    return DUMP_OK;
}

static int check_level(int codec, int *level, ErrorInfo *err)
{
    if (codec == CODEC_ZSTD) {
        if (*level == 0)
            *level = CODEC_ZSTD_DEFAULT_LEVEL;
        if (*level < ZSTD_minCLevel() || *level > ZSTD_maxCLevel())
            return error_set(err, DUMP_INVALID, "text frame: bad zstd level %d", *level);
    } else if (codec == CODEC_XZ) {
        if (*level == 0)
            *level = CODEC_XZ_DEFAULT_LEVEL;
        if (*level < 1 || *level > 9)
            return error_set(err, DUMP_INVALID, "text frame: bad xz level %d", *level);
    } else if (codec != CODEC_STORED) {
        return error_set(err, DUMP_INVALID, "text frame: unknown codec %d", codec);
    }
    return DUMP_OK;
}

static int check_input(const char *what, const uint8_t *p, size_t n, ErrorInfo *err)
{
    if (n > CODEC_MAX_RAW)
        return error_set(err, DUMP_INVALID, "text frame: %s of %zu bytes exceeds %zu",
                         what, n, CODEC_MAX_RAW);
    if (n && !p)
        return error_set(err, DUMP_INVALID, "text frame: %s is NULL", what);
    return DUMP_OK;
}

int codec_encode(Codec *c, int codec, int level,
                 const uint8_t *prefix, size_t prefix_len,
                 const uint8_t *dict, size_t dict_len,
                 const uint8_t *src, size_t src_len,
                 const uint8_t **frame, size_t *frame_len, ErrorInfo *err)
{
    const uint8_t *ref = NULL;
    size_t rlen = 0, bound, hlen, plen = 0;
    int rc;

    *frame = NULL;
    *frame_len = 0;
    if ((rc = check_level(codec, &level, err)) != DUMP_OK ||
        (rc = check_input("source", src, src_len, err)) != DUMP_OK ||
        (rc = check_input("prefix", prefix, prefix_len, err)) != DUMP_OK ||
        (rc = check_input("dictionary", dict, dict_len, err)) != DUMP_OK)
        return rc;
    if (codec == CODEC_STORED)
        prefix_len = dict_len = 0;
    bound = codec == CODEC_STORED ? src_len
          : codec == CODEC_ZSTD   ? ZSTD_compressBound(src_len)
                                  : lzma_stream_buffer_bound(src_len);
    if (bound == 0 && src_len != 0)
        return error_set(err, DUMP_INVALID, "text frame: source too large");
    Buf *b = next_buf(c);
    if (buf_reserve(b, CODEC_HEADER_MAX + bound) != DUMP_OK)
        return error_set(err, DUMP_NOMEM, "text frame: out of memory for %zu bytes", bound);
    if ((rc = make_ref(c, prefix, prefix_len, dict, dict_len, &ref, &rlen, err)) != DUMP_OK)
        return rc;

    b->p[0] = (uint8_t)(codec | (prefix_len ? CODEC_F_PREFIX : 0) | (dict_len ? CODEC_F_DICT : 0));
    hlen = 1 + varint_put(b->p + 1, src_len);
    put_u32(b->p + hlen, codec_crc32(src, src_len));
    hlen += 4;
    uint8_t *payload = b->p + hlen;
    if (codec == CODEC_STORED) {
        if (src_len)
            memcpy(payload, src, src_len);
        plen = src_len;
    } else if (codec == CODEC_ZSTD) {
        rc = zstd_encode(c, level, ref, rlen, src, src_len, payload, bound, &plen, err);
    } else {
        rc = xz_encode(c, level, ref, rlen, src, src_len, payload, bound, &plen, err);
    }
    if (rc != DUMP_OK)
        return rc;
    publish(c);
    *frame = b->p;
    *frame_len = hlen + plen;
    return DUMP_OK;
}

/* ---- decoding ------------------------------------------------------------------ */

int codec_frame_info(const uint8_t *frame, size_t frame_len, CodecFrameInfo *info,
                     ErrorInfo *err)
{
    uint64_t len;
    size_t k;

    memset(info, 0, sizeof *info);
    if (frame_len < 1)
        return error_set(err, DUMP_CORRUPT, "text frame: empty");
    const uint8_t *end = frame + frame_len;
    int m = frame[0];
    if (m & 0xC0)
        return error_set(err, DUMP_CORRUPT, "text frame: reserved method bits set (0x%02x)", m);
    int codec = m & 0x0F;
    if (codec > CODEC_XZ)
        return error_set(err, DUMP_CORRUPT, "text frame: unknown codec %d", codec);
    if (codec == CODEC_STORED && (m & (CODEC_F_PREFIX | CODEC_F_DICT)))
        return error_set(err, DUMP_CORRUPT, "text frame: stored frame with reference flags");
    if ((k = varint_get(frame + 1, end, &len)) == 0)
        return error_set(err, DUMP_CORRUPT, "text frame: bad or truncated raw length");
    if (len > CODEC_MAX_RAW)
        return error_set(err, DUMP_CORRUPT, "text frame: raw length %llu exceeds %zu",
                         (unsigned long long)len, CODEC_MAX_RAW);
    if (frame_len - 1 - k < 4)
        return error_set(err, DUMP_CORRUPT, "text frame: truncated header");
    info->codec = codec;
    info->flags = m & (CODEC_F_PREFIX | CODEC_F_DICT);
    info->raw_len = len;
    info->crc = get_u32(frame + 1 + k);
    info->header_len = 1 + k + 4;
    return DUMP_OK;
}

/* Walk a zstd frame's header and block headers (RFC 8878 3.1.1) without
 * decoding: checks our restrictions (content size present, no checksum, no
 * dictionary id, exactly one frame filling the payload) and returns in *bound
 * the most bytes the blocks can produce, so a hostile content size cannot
 * make us allocate more than ~43,690 times the payload. */
static int zstd_walk(const uint8_t *p, size_t n, uint64_t *bound, ErrorInfo *err)
{
    static const size_t did_size[4] = { 0, 1, 2, 4 };
    if (n < 5 || get_u32(p) != ZSTD_MAGICNUMBER)
        return error_set(err, DUMP_CORRUPT, "text frame: payload is not a zstd frame");
    int fhd = p[4], fcs_flag = fhd >> 6, single = (fhd >> 5) & 1;
    if (fhd & 0x04)
        return error_set(err, DUMP_CORRUPT, "text frame: zstd frame has a checksum");
    if (fhd & 0x03)
        return error_set(err, DUMP_CORRUPT, "text frame: zstd frame has a dictionary id");
    if (fcs_flag == 0 && !single)
        return error_set(err, DUMP_CORRUPT, "text frame: zstd frame has no content size");
    size_t pos = 5 + (size_t)!single + did_size[fhd & 3] +
                 (fcs_flag == 0 ? 1 : (size_t)1 << fcs_flag);
    uint64_t sum = 0;
    for (;;) {
        if (pos > n || n - pos < 3)
            return error_set(err, DUMP_CORRUPT, "text frame: truncated zstd frame");
        uint32_t bh = (uint32_t)p[pos] | (uint32_t)p[pos + 1] << 8 | (uint32_t)p[pos + 2] << 16;
        uint32_t type = (bh >> 1) & 3, size = bh >> 3;
        size_t body = type == 1 ? 1 : size;                 /* RLE: one byte */
        pos += 3;
        if (type == 3 || size > ZSTD_BLOCK_MAX)
            return error_set(err, DUMP_CORRUPT, "text frame: bad zstd block header");
        if (n - pos < body)
            return error_set(err, DUMP_CORRUPT, "text frame: truncated zstd block");
        pos += body;
        sum += type == 2 ? ZSTD_BLOCK_MAX : size;
        if (bh & 1)
            break;
    }
    if (pos != n)
        return error_set(err, DUMP_CORRUPT, "text frame: %zu bytes after the zstd frame", n - pos);
    *bound = sum;
    return DUMP_OK;
}

/* Walk a raw LZMA2 stream's chunk headers; the unpacked sizes they declare
 * must add up to exactly rawlen and the end marker must be the last byte. */
static int lzma2_walk(const uint8_t *p, size_t n, uint64_t rawlen, ErrorInfo *err)
{
    size_t pos = 0;
    uint64_t sum = 0;
    for (;;) {
        if (pos >= n)
            return error_set(err, DUMP_CORRUPT, "text frame: truncated LZMA2 stream");
        int ctl = p[pos];
        size_t hdr, packed;
        uint64_t unpacked;
        if (ctl == 0x00) {
            pos++;
            break;
        } else if (ctl == 0x01 || ctl == 0x02) {            /* uncompressed chunk */
            hdr = 3;
            if (n - pos < hdr)
                return error_set(err, DUMP_CORRUPT, "text frame: truncated LZMA2 chunk");
            unpacked = packed = ((size_t)p[pos + 1] << 8 | p[pos + 2]) + 1;
        } else if (ctl >= 0x80) {                           /* LZMA chunk */
            hdr = ctl >= 0xC0 ? 6 : 5;                      /* + properties byte */
            if (n - pos < hdr)
                return error_set(err, DUMP_CORRUPT, "text frame: truncated LZMA2 chunk");
            unpacked = ((uint64_t)(ctl & 0x1F) << 16 | (uint64_t)p[pos + 1] << 8 | p[pos + 2]) + 1;
            packed = ((size_t)p[pos + 3] << 8 | p[pos + 4]) + 1;
        } else {
            return error_set(err, DUMP_CORRUPT, "text frame: bad LZMA2 control byte 0x%02x", ctl);
        }
        pos += hdr;
        if (n - pos < packed)
            return error_set(err, DUMP_CORRUPT, "text frame: truncated LZMA2 chunk");
        pos += packed;
        sum += unpacked;
        if (sum > rawlen)
            break;
    }
    if (sum != rawlen)
        return error_set(err, DUMP_CORRUPT, "text frame: LZMA2 chunks hold %s%llu bytes, header says %llu",
                         sum > rawlen ? "over " : "", (unsigned long long)sum,
                         (unsigned long long)rawlen);
    if (pos != n)
        return error_set(err, DUMP_CORRUPT, "text frame: %zu bytes after the LZMA2 stream", n - pos);
    return DUMP_OK;
}

static int zstd_decode(Codec *c, const uint8_t *ref, size_t rlen, const uint8_t *in,
                       size_t n, uint8_t *out, size_t rawlen, ErrorInfo *err)
{
    unsigned long long fcs = ZSTD_getFrameContentSize(in, n);
    if (fcs != rawlen)
        return error_set(err, DUMP_CORRUPT,
                         "text frame: zstd content size does not match the raw length %zu", rawlen);
    if (!c->dctx && !(c->dctx = ZSTD_createDCtx()))
        return error_set(err, DUMP_NOMEM, "text frame: out of memory for zstd");
    /* A prefix is used by one frame only; the reset also drops one left
     * referenced by a call that failed before decompressing. */
    size_t r = ZSTD_DCtx_reset(c->dctx, ZSTD_reset_session_and_parameters);
    if (!ZSTD_isError(r) && rlen)
        r = ZSTD_DCtx_refPrefix(c->dctx, ref, rlen);
    if (!ZSTD_isError(r))
        r = ZSTD_decompressDCtx(c->dctx, out, rawlen, in, n);
    if (ZSTD_isError(r)) {
        int code = ZSTD_getErrorCode(r) == ZSTD_error_memory_allocation ? DUMP_NOMEM : DUMP_CORRUPT;
        ZSTD_DCtx_reset(c->dctx, ZSTD_reset_session_and_parameters);
        return error_set(err, code, "text frame: zstd: %s", ZSTD_getErrorName(r));
    }
    if (r != rawlen)
        return error_set(err, DUMP_CORRUPT, "text frame: zstd produced %zu bytes, header says %zu",
                         r, rawlen);
    return DUMP_OK;
}

static int xz_decode(Codec *c, const uint8_t *ref, size_t rlen, const uint8_t *in,
                     size_t n, uint8_t *out, size_t rawlen, ErrorInfo *err)
{
    lzma_options_lzma opt;
    lzma_lzma_preset(&opt, LZMA_PRESET_DEFAULT);     /* lc/lp/pb come from the stream */
    opt.dict_size = xz_dict_size(rlen, rawlen);
    if (rlen > opt.dict_size) {
        ref += rlen - opt.dict_size;
        rlen = opt.dict_size;
    }
    opt.preset_dict = rlen ? ref : NULL;
    opt.preset_dict_size = (uint32_t)rlen;
    lzma_filter filters[2] = { { LZMA_FILTER_LZMA2, &opt }, { LZMA_VLI_UNKNOWN, NULL } };
    lzma_ret ret = lzma_raw_decoder(&c->xz, filters);
    if (ret == LZMA_OK) {
        c->xz.next_in = in;
        c->xz.avail_in = n;
        c->xz.next_out = out;
        c->xz.avail_out = rawlen;
        do
            ret = lzma_code(&c->xz, LZMA_FINISH);
        while (ret == LZMA_OK);
    }
    if (ret == LZMA_MEM_ERROR)
        return error_set(err, DUMP_NOMEM, "text frame: out of memory for xz");
    if (ret != LZMA_STREAM_END)
        return error_set(err, DUMP_CORRUPT, "text frame: xz decoder failed (lzma_ret %d)", (int)ret);
    if (c->xz.avail_out != 0 || c->xz.avail_in != 0)
        return error_set(err, DUMP_CORRUPT, "text frame: LZMA2 stream length mismatch");
    return DUMP_OK;
}

int codec_decode(Codec *c, const uint8_t *frame, size_t frame_len,
                 const uint8_t *prefix, size_t prefix_len,
                 const uint8_t *dict, size_t dict_len,
                 const uint8_t **out, size_t *out_len, ErrorInfo *err)
{
    CodecFrameInfo fi;
    const uint8_t *ref = NULL;
    size_t rlen = 0;
    int rc;

    *out = NULL;
    *out_len = 0;
    if ((rc = check_input("frame", frame, frame_len, err)) != DUMP_OK ||
        (rc = check_input("prefix", prefix, prefix_len, err)) != DUMP_OK ||
        (rc = check_input("dictionary", dict, dict_len, err)) != DUMP_OK)
        return rc;
    if ((rc = codec_frame_info(frame, frame_len, &fi, err)) != DUMP_OK)
        return rc;
    if ((fi.flags & CODEC_F_PREFIX) && prefix_len == 0)
        return error_set(err, DUMP_CORRUPT, "text frame: needs a prefix, none given");
    if ((fi.flags & CODEC_F_DICT) && dict_len == 0)
        return error_set(err, DUMP_CORRUPT, "text frame: needs a dictionary, none given");
    if (!(fi.flags & CODEC_F_PREFIX))
        prefix_len = 0;
    if (!(fi.flags & CODEC_F_DICT))
        dict_len = 0;

    const uint8_t *payload = frame + fi.header_len;
    size_t plen = frame_len - fi.header_len, rawlen = (size_t)fi.raw_len;
    uint64_t bound;
    if (fi.codec == CODEC_STORED) {
        if (plen != rawlen)
            return error_set(err, DUMP_CORRUPT, "text frame: stored payload is %zu bytes, header says %zu",
                             plen, rawlen);
    } else if (fi.codec == CODEC_ZSTD) {
        if ((rc = zstd_walk(payload, plen, &bound, err)) != DUMP_OK)
            return rc;
        if (bound < rawlen)
            return error_set(err, DUMP_CORRUPT, "text frame: zstd blocks hold at most %llu bytes, header says %zu",
                             (unsigned long long)bound, rawlen);
    } else if ((rc = lzma2_walk(payload, plen, rawlen, err)) != DUMP_OK) {
        return rc;
    }

    Buf *b = next_buf(c);
    if (buf_reserve(b, rawlen) != DUMP_OK)
        return error_set(err, DUMP_NOMEM, "text frame: out of memory for %zu bytes", rawlen);
    if ((rc = make_ref(c, prefix, prefix_len, dict, dict_len, &ref, &rlen, err)) != DUMP_OK)
        return rc;
    if (fi.codec == CODEC_STORED) {
        if (rawlen)
            memcpy(b->p, payload, rawlen);
    } else if (fi.codec == CODEC_ZSTD) {
        rc = zstd_decode(c, ref, rlen, payload, plen, b->p, rawlen, err);
    } else {
        rc = xz_decode(c, ref, rlen, payload, plen, b->p, rawlen, err);
    }
    if (rc != DUMP_OK)
        return rc;
    uint32_t crc = codec_crc32(b->p, rawlen);
    if (crc != fi.crc)
        return error_set(err, DUMP_CORRUPT, "text frame: checksum mismatch (header %08x, text %08x)"
                         "; wrong prefix or dictionary, or damage", fi.crc, crc);
    publish(c);
    *out = b->p;
    *out_len = rawlen;
    return DUMP_OK;
}
