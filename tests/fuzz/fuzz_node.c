/*
 * fuzz_node.c -- libFuzzer target for node_decode / node_encode.
 *
 * Input: a node payload (cut to BLOCK_PAYLOAD bytes), decoded as a leaf
 * (level 0) and as a branch (level 1) with references limited to [2, 2^20).
 * A rejected payload must give DUMP_CORRUPT (or DUMP_NOMEM) with a message.
 * An accepted one must obey node.h: every reference in range, inline keys
 * strictly increasing, node_bytes() equal to the payload length, and --
 * the encoding being canonical -- node_encode() must give back exactly the
 * input bytes, also from a node_clone() copy. abort() on any violation.
 * Seeds: tests/fuzz/corpus/node/ (tests/fuzz/make_seeds.py).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "blockfile.h"
#include "node.h"
#include "status.h"

#define REQUIRE(c) do { if (!(c)) abort(); } while (0)
#define LIMIT ((uint64_t)1 << 20)

static int ref_in(uint64_t start, uint64_t len)
{
    return start >= 2 && start < LIMIT && extent_blocks(len) <= LIMIT - start;
}

static void check_entries(const Node *n)
{
    for (uint32_t i = 0; i < n->n; i++) {
        const Entry *e = &n->e[i], *p = i ? &n->e[i - 1] : NULL;
        if (n->key_type == KEY_INT) {
            REQUIRE(!p || p->ikey < e->ikey);
        } else if (e->kx) {
            REQUIRE(e->key == NULL && e->klen > KEY_INLINE_MAX && e->klen <= MAX_KEY_LEN);
            REQUIRE(ref_in(e->kx, e->klen));
        } else {
            REQUIRE(e->klen <= KEY_INLINE_MAX && (e->key || e->klen == 0));
            REQUIRE(!p || p->kx || key_cmp_bytes(p->key, p->klen, e->key, e->klen) < 0);
        }
        if (!n->leaf) {
            REQUIRE(e->child >= 2 && e->child < LIMIT);
        } else if (e->vx) {
            REQUIRE(e->vxlen > VAL_INLINE_MAX && e->vxlen <= MAX_VAL_LEN);
            REQUIRE(ref_in(e->vx, e->vxlen));
        } else {
            REQUIRE(e->vlen <= VAL_INLINE_MAX);
        }
    }
    if (!n->leaf) REQUIRE(n->child0 >= 2 && n->child0 < LIMIT);
}

static void check_reencode(const Node *n, const uint8_t *payload, size_t len)
{
    static uint8_t out[BLOCK_PAYLOAD + 64];

    REQUIRE(node_bytes(n) == len);
    memset(out, 0, sizeof out);
    REQUIRE(node_encode(n, out) == len);
    REQUIRE(memcmp(out, payload, len) == 0);
}

static void decode_as(const uint8_t *payload, size_t len, int leaf)
{
    Node *n = NULL, *copy;
    ErrorInfo err;
    int rc;

    error_clear(&err);
    rc = node_decode(payload, len, leaf, leaf ? 0 : 1, LIMIT, &n, &err);
    if (rc != DUMP_OK) {
        REQUIRE(rc == DUMP_CORRUPT || rc == DUMP_NOMEM);
        REQUIRE(n == NULL && err.code == rc && err.msg[0] != '\0');
        return;
    }
    REQUIRE(n && n->leaf == leaf && n->level == (leaf ? 0 : 1) && n->n >= 1);
    REQUIRE(n->key_type == KEY_INT || n->key_type == KEY_BYTES);
    check_entries(n);
    check_reencode(n, payload, len);
    if ((copy = node_clone(n))) {
        check_reencode(copy, payload, len);
        node_free(copy);
    }
    node_free(n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t len = size < BLOCK_PAYLOAD ? size : BLOCK_PAYLOAD;

    decode_as(data, len, 1);
    decode_as(data, len, 0);
    return 0;
}
