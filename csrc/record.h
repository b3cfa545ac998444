/*
 * record.h -- site-info, page and revision records: the public *Info structs
 * <-> bytes.
 *
 * Layer 7, pure: includes status, bytes and the public header (for the Info
 * structs); no I/O, no trees. Layout: docs/format.md "Records" (normative).
 * Every record is a version byte, tagged fields in increasing field order
 * and an end marker (so any truncation is detected); a reader skips fields
 * it does not know (so a later minor version can add fields) and refuses a
 * version byte it does not know.
 *
 * Strings that repeat across records (user names and IPs, content models,
 * formats, slot roles) are stored as small ids: the encoder asks
 * RecordStrings.intern for an id, the decoder asks RecordStrings.lookup for
 * the string. The caller (dump.c) keeps that table.
 *
 * Decoded structs point into the record bytes, into strings the lookup
 * callback returned and into *scratch (arrays, and sha1 texts stored as 20
 * binary bytes): they are valid as long as all three are.
 *
 * Every struct round-trips exactly (absent and empty DumpTexts stay
 * distinct), with one normalisation: a RevisionInfo.timestamp_text that is
 * the canonical text of its timestamp is not stored and reads back absent.
 */
#ifndef INCRDUMP_RECORD_H
#define INCRDUMP_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "incrdump.h"
#include "status.h"

#define RECORD_VERSION 1

/* kinds of interned strings */
#define RECORD_STR_NAME   1   /* user names and IP addresses */
#define RECORD_STR_MODEL  2
#define RECORD_STR_FORMAT 3
#define RECORD_STR_ROLE   4

/* Most slots a revision may have. */
#define RECORD_MAX_SLOTS 64

typedef struct RecordStrings {
    void *ctx;
    /* id >= 1 for (kind, bytes); creates one when new. DUMP_OK or an error
     * code (with err set). */
    int (*intern)(void *ctx, int kind, const uint8_t *p, size_t n, uint64_t *id,
                  ErrorInfo *err);
    /* the bytes of id; DUMP_CORRUPT when unknown. The bytes must stay
     * valid while the decoded struct is used. */
    int (*lookup)(void *ctx, int kind, uint64_t id, const uint8_t **p, size_t *n,
                  ErrorInfo *err);
} RecordStrings;

/* A growable output buffer: start it zeroed ({0}); encoders reuse its
 * allocation; free it with recordbuf_free(). */
typedef struct RecordBuf {
    uint8_t *p;
    size_t len, cap;
} RecordBuf;

void recordbuf_free(RecordBuf *b);

/* Encoders: replace b's contents with the record. DUMP_OK, DUMP_INVALID
 * (a field out of range: negative parent id, user_id/origin/size below -1,
 * unknown flag bits or contributor kind, more than RECORD_MAX_SLOTS slots,
 * a title_prefix beyond the title, strs NULL with strings to intern...),
 * DUMP_NOMEM, or the intern callback's code. Revision records do not hold
 * slot texts (SlotInfo.text is ignored; DUMP_SLOT_HAS_TEXT is kept) nor
 * the ids (r->id is used only to store parent and origins as deltas). */
int record_encode_siteinfo(const DumpSiteInfo *si, RecordBuf *b, ErrorInfo *err);
int record_encode_page(const PageInfo *p, RecordBuf *b, ErrorInfo *err);
int record_encode_revision(const RevisionInfo *r, const RecordStrings *strs,
                           RecordBuf *b, ErrorInfo *err);

/* Decoders: the record must be exactly [p, p+n). DUMP_OK, DUMP_CORRUPT
 * ("<kind> record: ..."), DUMP_VERSION (unknown record version), DUMP_NOMEM.
 * The page id of a page record and the id and page id of a revision
 * record come from its key, not from the record: the caller passes them.
 * Arrays (namespaces, slots) are allocated in *scratch, which the caller
 * frees with free() (it may be reused: it is realloc'ed). strs must not be
 * NULL (DUMP_INVALID). On failure *out holds no pointers. */
int record_decode_siteinfo(const uint8_t *p, size_t n, DumpSiteInfo *out,
                           void **scratch, ErrorInfo *err);
int record_decode_page(const uint8_t *p, size_t n, int64_t page_id, PageInfo *out,
                       ErrorInfo *err);
int record_decode_revision(const uint8_t *p, size_t n, int64_t page_id, int64_t rev_id,
                           const RecordStrings *strs, RevisionInfo *out,
                           void **scratch, ErrorInfo *err);

/* base36 sha1 text (31 chars, 0-9a-z, as MediaWiki writes it) <-> 20
 * bytes. to_bin returns 1 if the text is exactly what bin_to_base36 of
 * the result gives back (so storing binary loses nothing), else 0. */
int record_sha1_to_bin(const uint8_t *text, size_t n, uint8_t bin[20]);
void record_sha1_to_base36(const uint8_t bin[20], char out[31]);

/* Canonical timestamp text "YYYY-MM-DDTHH:MM:SSZ" (20 chars, proleptic
 * Gregorian, UTC, no NUL) of t; a t outside 0001-01-01T00:00:00Z ..
 * 9999-12-31T23:59:59Z gives "0000-00-00T00:00:00Z", canonical for no t.
 * And its parse: 1 if text is canonical for some t (stored as *t), else 0
 * (format(parse(x)) == x whenever parse returns 1). */
void record_timestamp_format(int64_t t, char out[20]);
int record_timestamp_parse(const uint8_t *text, size_t n, int64_t *t);

#endif
