/*
 * codec.h -- text frames: one revision text (or any byte string) compressed,
 * with its length and checksum, against optional reference bytes.
 *
 * Layer 3, a pure bytes -> bytes module beside delta: it includes only status,
 * bytes, the C library, zstd and liblzma, does no I/O and knows nothing
 * of pages or revisions. Only delta, record and dump may include it.
 * Frame layout: docs/format.md section "Text frames" (normative).
 *
 * A frame is   method byte | varint raw length | u32 CRC-32 of the raw bytes
 *              | payload
 * The method byte holds the codec id and two flags that say which reference
 * bytes the payload was compressed against:
 *
 *   CODEC_STORED  payload = the raw bytes. Level and references ignored.
 *   CODEC_ZSTD    payload = exactly one zstd frame (RFC 8878) with its
 *                 content size, no zstd checksum, no dictionary id. The
 *                 reference is used as a raw-content prefix
 *                 (ZSTD_CCtx_refPrefix / ZSTD_DCtx_refPrefix).
 *   CODEC_XZ      payload = a raw LZMA2 stream (no .xz container) ending with
 *                 its end marker; the reference is LZMA2's preset dictionary.
 *
 * The reference. A frame may depend on a *prefix* (e.g. the base revision's
 * text: a delta) and on a *dictionary* (raw content shared by many frames,
 * e.g. trained on the dump). zstd keeps only one of them per frame -- a
 * prefix replaces any loaded dictionary -- and LZMA2 has one preset
 * dictionary, so both codecs see one reference: the dictionary bytes
 * followed by the prefix bytes (prefix last, closest to the text, so its
 * matches get the shortest offsets). Frames carry no identity of their
 * references; a wrong prefix or dictionary shows up as a checksum mismatch.
 *
 * Decoding trusts nothing in the frame: the raw length is capped at
 * CODEC_MAX_RAW and, before any allocation, checked against what the
 * payload's own structure can produce; the result's length and CRC-32 are
 * verified. Any failure is DUMP_CORRUPT with a message "text frame: ..." --
 * never wrong bytes.
 *
 * A Codec is not thread-safe; use one per thread. Results are borrowed from
 * it. It alternates between two result buffers, so a result stays valid
 * during the next call and may be passed to it as prefix, dictionary or
 * source (decode a chain by feeding each text as the next prefix).
 */
#ifndef INCRDUMP_CODEC_H
#define INCRDUMP_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

#define CODEC_STORED 0
#define CODEC_ZSTD   1
#define CODEC_XZ     2

/* Method byte: bits 0-3 codec id, bit 4 prefix used, bit 5 dictionary used,
 * bits 6-7 reserved (zero). */
#define CODEC_F_PREFIX 0x10
#define CODEC_F_DICT   0x20

/* Largest raw text a frame may hold, and largest prefix or dictionary. */
#define CODEC_MAX_RAW ((size_t)1 << 30)
/* Longest frame header: method byte, 5-byte varint (<= 2^30), CRC-32. */
#define CODEC_HEADER_MAX 10

/* Default levels: what "level 0" means for each codec. */
#define CODEC_ZSTD_DEFAULT_LEVEL 19
#define CODEC_XZ_DEFAULT_LEVEL   9

typedef struct Codec Codec;

/* What a frame's header says, before any decompression. */
typedef struct CodecFrameInfo {
    int      codec;        /* CODEC_* */
    int      flags;        /* CODEC_F_* */
    uint64_t raw_len;      /* declared length of the raw bytes */
    uint32_t crc;          /* declared CRC-32 of the raw bytes */
    size_t   header_len;   /* payload starts at this offset */
} CodecFrameInfo;

/* A new codec context; NULL when out of memory. Free with codec_free(). */
Codec *codec_new(void);
/* Frees the context and every buffer it lent. NULL is a no-op. */
void codec_free(Codec *c);

/* Compress src[0..src_len) into a frame.
 *   codec   CODEC_STORED, CODEC_ZSTD or CODEC_XZ.
 *   level   0 for the codec's default; zstd: ZSTD_minCLevel()..ZSTD_maxCLevel()
 *           (negative = faster); xz: 1..9 (presets, not extreme). Ignored by
 *           CODEC_STORED.
 *   prefix, dict  reference bytes (see above), either may be empty (len 0,
 *           pointer may then be NULL). Each at most CODEC_MAX_RAW bytes.
 * zstd's window is sized to reach the whole reference plus source (up to
 * 2^27 bytes, beyond which only the nearest 128 MiB is used).
 * Returns DUMP_OK with *frame, *frame_len set; DUMP_INVALID (unknown codec,
 * bad level, oversize input), DUMP_NOMEM. Borrowed: valid until the call
 * after the next one on c (see above). */
int codec_encode(Codec *c, int codec, int level,
                 const uint8_t *prefix, size_t prefix_len,
                 const uint8_t *dict, size_t dict_len,
                 const uint8_t *src, size_t src_len,
                 const uint8_t **frame, size_t *frame_len, ErrorInfo *err);

/* Decompress a whole frame (exactly frame_len bytes; trailing bytes are
 * corruption). prefix and dict must be the bytes given to codec_encode; they
 * are read only if the frame's flags say the payload used them, and a frame
 * that used one that is not given here is corrupt.
 * Returns DUMP_OK with *out, *out_len set (the raw bytes, length and CRC-32
 * verified); DUMP_CORRUPT ("text frame: ..."), DUMP_INVALID (an argument
 * over CODEC_MAX_RAW), DUMP_NOMEM. Borrowed: valid until the call after the
 * next one on c. */
int codec_decode(Codec *c, const uint8_t *frame, size_t frame_len,
                 const uint8_t *prefix, size_t prefix_len,
                 const uint8_t *dict, size_t dict_len,
                 const uint8_t **out, size_t *out_len, ErrorInfo *err);

/* Parse a frame's header only (no payload checks, no context needed).
 * DUMP_OK or DUMP_CORRUPT. */
int codec_frame_info(const uint8_t *frame, size_t frame_len,
                     CodecFrameInfo *info, ErrorInfo *err);

/* CRC-32 as the frames use it: the function of zlib's crc32() (crc32("123456789") =
 * 0xCBF43926), computed by liblzma's faster lzma_crc32(). */
uint32_t codec_crc32(const uint8_t *p, size_t n);

#endif
