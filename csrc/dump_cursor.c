/*
 * dump_cursor.c -- cursors over pages (by id range, by namespace in title
 * order) and over one page's revisions (by id).
 *
 * Dump layer (8), internal: Store cursors over PAGES, TITLES and PAGEREVS.
 * Each step copies its record into the cursor and decodes it there, so a
 * result survives any other call on the Dump until the cursor's next step;
 * the Store cursor underneath re-finds its position by key after those
 * calls. Failures leave their message in dump_errmsg() of the Dump.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "dump_internal.h"

enum { C_FRESH, C_RUNNING, C_DONE };

struct PageCursor {
    Dump *d;
    StoreCursor *c;
    int order, state;
    int64_t lo, hi;
    uint8_t *rec;          /* current record */
    size_t cap;
    uint8_t *key;          /* current title key (by title) */
    size_t key_cap;
    PageInfo info;
};

struct RevisionCursor {
    Dump *d;
    StoreCursor *c;
    int state;
    int64_t page;
    uint8_t *rec;
    size_t cap;
    void *scratch;
    uint8_t *arena;
    size_t arena_cap;
    RevisionInfo info;
};

/* ---- pages ------------------------------------------------------------------ */

int dump_pages(Dump *d, int order, int64_t lo, int64_t hi, PageCursor **out)
{
    *out = NULL;
    int rc = dump_enter(d);
    if (rc) return rc;
    if (order != DUMP_PAGES_BY_ID && order != DUMP_PAGES_BY_TITLE)
        return error_set(&d->err, DUMP_INVALID, "page cursor: unknown order %d", order);
    if (order == DUMP_PAGES_BY_TITLE && (lo < INT32_MIN || lo > INT32_MAX))
        return error_set(&d->err, DUMP_INVALID, "page cursor: namespace %" PRId64 " out of range", lo);
    PageCursor *c = calloc(1, sizeof *c);
    if (!c) return error_set(&d->err, DUMP_NOMEM, "out of memory");
    c->d = d;
    c->order = order;
    c->lo = lo;
    c->hi = hi;
    if ((rc = store_cursor_open(d->s, order == DUMP_PAGES_BY_ID ? T_PAGES : T_TITLES, &c->c))) {
        free(c);
        return dump_fail_store(d, rc, "page cursor");
    }
    *out = c;
    return DUMP_OK;
}

/* Copy the record v and decode it as page id into the cursor. */
static int page_load(PageCursor *c, int64_t id, const uint8_t *v, size_t n)
{
    if (dump_reserve(c->d, &c->rec, &c->cap, n ? n : 1)) return DUMP_NOMEM;
    memcpy(c->rec, v, n);
    return dump_decode_page(c->d, c->rec, n, id, &c->info);
}

static int next_by_id(PageCursor *c)
{
    Dump *d = c->d;
    int rc = c->state == C_FRESH ? store_cursor_seek_int(c->c, c->lo, STORE_SEEK_GE)
                                 : store_cursor_next(c->c);
    if (rc == DUMP_NOTFOUND) return rc;
    int64_t id;
    const uint8_t *v;
    size_t n;
    if (rc || (rc = store_cursor_key_int(c->c, &id)) || (rc = store_cursor_value(c->c, &v, &n)))
        return dump_fail_store(d, rc, "page cursor");
    if (c->hi > 0 && id >= c->hi) return DUMP_NOTFOUND;
    return page_load(c, id, v, n);
}

static int next_by_title(PageCursor *c)
{
    Dump *d = c->d;
    uint8_t ns[4];
    uint32_t k = (uint32_t)(int32_t)c->lo ^ 0x80000000u;
    ns[0] = (uint8_t)(k >> 24);
    ns[1] = (uint8_t)(k >> 16);
    ns[2] = (uint8_t)(k >> 8);
    ns[3] = (uint8_t)k;
    int rc = c->state == C_FRESH ? store_cursor_seek_bytes(c->c, ns, 4, STORE_SEEK_GE)
                                 : store_cursor_next(c->c);
    if (rc == DUMP_NOTFOUND) return rc;
    const uint8_t *key, *v;
    size_t klen, n;
    if (rc || (rc = store_cursor_key_bytes(c->c, &key, &klen)) || (rc = store_cursor_value(c->c, &v, &n)))
        return dump_fail_store(d, rc, "page cursor");
    if (klen < 4 || memcmp(key, ns, 4)) return DUMP_NOTFOUND;
    int64_t id;
    if (!dump_varint_exact(v, n, &id))
        return error_set(&d->err, DUMP_CORRUPT, "title index: namespace %" PRId64 ": bad page id", c->lo);
    if (dump_reserve(d, &c->key, &c->key_cap, klen)) return DUMP_NOMEM;
    memcpy(c->key, key, klen);
    rc = store_get_int(d->s, T_PAGES, id, &v, &n);
    if (rc == DUMP_NOTFOUND)
        return error_set(&d->err, DUMP_CORRUPT, "title index: namespace %" PRId64 " names page %" PRId64
                         ", which does not exist", c->lo, id);
    if (rc) return dump_fail_store(d, rc, "page %" PRId64, id);
    if ((rc = page_load(c, id, v, n))) return rc;
    DumpText name = dump_page_name(&c->info);
    if (c->info.ns != c->lo || name.len != klen - 4 || (name.len && memcmp(name.ptr, c->key + 4, name.len)))
        return error_set(&d->err, DUMP_CORRUPT, "title index: an entry of namespace %" PRId64 " names page %" PRId64
                         ", which has another title", c->lo, id);
    return DUMP_OK;
}

int page_cursor_next(PageCursor *c, const PageInfo **out)
{
    *out = NULL;
    if (!c) return DUMP_MISUSE;
    int rc = dump_enter(c->d);
    if (rc) return rc;
    if (c->state == C_DONE) return error_set(&c->d->err, DUMP_NOTFOUND, "no more pages");
    rc = c->order == DUMP_PAGES_BY_ID ? next_by_id(c) : next_by_title(c);
    if (rc == DUMP_NOTFOUND) {
        c->state = C_DONE;
        return error_set(&c->d->err, DUMP_NOTFOUND, "no more pages");
    }
    if (rc) return rc;
    c->state = C_RUNNING;
    *out = &c->info;
    return DUMP_OK;
}

void page_cursor_close(PageCursor *c)
{
    if (!c) return;
    store_cursor_close(c->c);
    free(c->rec);
    free(c->key);
    free(c);
}

/* ---- revisions ------------------------------------------------------------------ */

int dump_revisions(Dump *d, int64_t page_id, RevisionCursor **out)
{
    *out = NULL;
    int rc = dump_enter(d);
    if (rc) return rc;
    const uint8_t *v;
    size_t n;
    rc = store_get_int(d->s, T_PAGES, page_id, &v, &n);
    if (rc == DUMP_NOTFOUND) return error_set(&d->err, rc, "page %" PRId64 " not found", page_id);
    if (rc) return dump_fail_store(d, rc, "page %" PRId64, page_id);
    RevisionCursor *c = calloc(1, sizeof *c);
    if (!c) return error_set(&d->err, DUMP_NOMEM, "out of memory");
    c->d = d;
    c->page = page_id;
    if ((rc = store_cursor_open(d->s, T_PAGEREVS, &c->c))) {
        free(c);
        return dump_fail_store(d, rc, "page %" PRId64 ": revision cursor", page_id);
    }
    *out = c;
    return DUMP_OK;
}

static int rev_step(RevisionCursor *c)
{
    Dump *d = c->d;
    uint8_t start[PAGEREV_KEY_LEN];
    dump_pagerev_key(start, c->page, INT64_MIN);
    int rc = c->state == C_FRESH ? store_cursor_seek_bytes(c->c, start, sizeof start, STORE_SEEK_GE)
                                 : store_cursor_next(c->c);
    if (rc == DUMP_NOTFOUND) return rc;
    const uint8_t *key, *v;
    size_t klen, n;
    if (rc || (rc = store_cursor_key_bytes(c->c, &key, &klen)) || (rc = store_cursor_value(c->c, &v, &n)))
        return dump_fail_store(d, rc, "page %" PRId64 ": revision cursor", c->page);
    if (klen < 8 || memcmp(key, start, 8)) return DUMP_NOTFOUND;
    if (klen != PAGEREV_KEY_LEN)
        return error_set(&d->err, DUMP_CORRUPT, "page %" PRId64 ": revision key of %zu bytes", c->page, klen);
    int64_t rev = dump_key_id(key + 8);
    if (dump_reserve(d, &c->rec, &c->cap, n ? n : 1)) return DUMP_NOMEM;
    memcpy(c->rec, v, n);
    return dump_decode_revision(d, c->rec, n, c->page, rev, &c->info, &c->scratch, &c->arena, &c->arena_cap);
}

int revision_cursor_next(RevisionCursor *c, const RevisionInfo **out)
{
    *out = NULL;
    if (!c) return DUMP_MISUSE;
    int rc = dump_enter(c->d);
    if (rc) return rc;
    if (c->state == C_DONE) return error_set(&c->d->err, DUMP_NOTFOUND, "no more revisions");
    if ((rc = rev_step(c)) == DUMP_NOTFOUND) {
        c->state = C_DONE;
        return error_set(&c->d->err, DUMP_NOTFOUND, "no more revisions");
    }
    if (rc) return rc;
    c->state = C_RUNNING;
    *out = &c->info;
    return DUMP_OK;
}

int revision_cursor_text(RevisionCursor *c, unsigned slot, const uint8_t **text, size_t *len)
{
    *text = NULL;
    *len = 0;
    if (!c) return DUMP_MISUSE;
    int rc = dump_enter(c->d);
    if (rc) return rc;
    if (c->state != C_RUNNING)
        return error_set(&c->d->err, DUMP_MISUSE, "revision cursor: no current revision");
    return dump_slot_text(c->d, &c->info, slot, text, len);
}

void revision_cursor_close(RevisionCursor *c)
{
    if (!c) return;
    store_cursor_close(c->c);
    free(c->rec);
    free(c->scratch);
    free(c->arena);
    free(c);
}
