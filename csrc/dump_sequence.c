/*
 * dump_sequence.c -- the dump's sequence number: how many updates (and
 * applied diffs) the dump has been through since it was built, kept in
 * META "sequence" (docs/format.md "Dump layout", "META entries").
 *
 * Dump layer (8), internal to the Dump: Store API only. Invariant: the
 * value is a canonical varint of at most 2^63 - 1; absent means 0, so a dump
 * written before the entry existed reads as sequence 0. The entry changes
 * only inside a transaction, so a sequence is always the one committed
 * together with the pages it describes.
 */
#include <inttypes.h>

#include "bytes.h"
#include "dump_internal.h"

#define SEQ_KEY (const uint8_t *)"sequence", 8

int dump_get_sequence(Dump *d, uint64_t *out)
{
    *out = 0;
    int rc = dump_enter(d);
    if (rc) return rc;
    const uint8_t *v;
    size_t n;
    rc = store_get_bytes(d->s, T_META, SEQ_KEY, &v, &n);
    if (rc == DUMP_NOTFOUND) return DUMP_OK;
    if (rc) return dump_fail_store(d, rc, "META sequence");
    int64_t seq;
    if (!dump_varint_exact(v, n, &seq))
        return error_set(&d->err, DUMP_CORRUPT, "META sequence: not a canonical varint of at most 2^63-1 (%zu bytes)", n);
    *out = (uint64_t)seq;
    return DUMP_OK;
}

int dump_set_sequence(Dump *d, uint64_t seq)
{
    int rc = dump_enter(d);
    if (rc) return rc;
    if (!store_in_txn(d->s))
        return error_set(&d->err, DUMP_MISUSE, "sequence: no transaction (call dump_begin first)");
    if (d->broken)
        return error_set(&d->err, DUMP_MISUSE, "sequence: an earlier write failed; abort the transaction");
    if (seq > (uint64_t)INT64_MAX)
        return error_set(&d->err, DUMP_INVALID, "sequence %" PRIu64 " is over 2^63-1", seq);
    uint8_t val[VARINT_MAX];
    size_t n = varint_put(val, seq);
    rc = store_put_bytes(d->s, T_META, SEQ_KEY, val, n, STORE_PUT_UPSERT);
    if (rc) {
        /* a failed put may have changed blocks: the transaction cannot commit */
        d->broken = 1;
        return dump_fail_store(d, rc, "META sequence");
    }
    return DUMP_OK;
}
