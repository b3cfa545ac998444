/*
 * dump_check.c -- dump_check(): the Store's own check, then a walk of every
 * tree of the dump proving that records decode and that the indexes agree
 * with them in both directions, and that every text decodes.
 *
 * Dump layer (8), internal. The walk is a merge of PAGES and PAGEREVS in key
 * order (both are sorted by page id), so each revision record is read once;
 * REVS, TITLES, STRINGS/STRIDX and USERS/USERNAMES are then walked back
 * against the records. Stops at the first problem, named in the message.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "dump_internal.h"

typedef struct Walk {
    Dump *d;
    DumpCheck *out;
    StoreCursor *pages, *revs;
    int revs_live;            /* revs is positioned on an unread entry */
    uint8_t *rec;
    size_t cap;
    PageInfo page;
    uint8_t *prec;            /* page record copy */
    size_t pcap;
} Walk;

static int corrupt_store(Dump *d, int rc, const char *what)
{
    return dump_fail_store(d, rc, "check: %s", what);
}

/* The varint stored under an int or bytes key; DUMP_NOTFOUND if absent. */
static int get_id(Dump *d, unsigned tree, int64_t ikey, const uint8_t *bkey, size_t bklen, int64_t *id,
                  const char *what)
{
    const uint8_t *v;
    size_t n;
    int rc = bkey ? store_get_bytes(d->s, tree, bkey, bklen, &v, &n) : store_get_int(d->s, tree, ikey, &v, &n);
    if (rc == DUMP_NOTFOUND) return rc;
    if (rc) return corrupt_store(d, rc, what);
    if (!dump_varint_exact(v, n, id)) return error_set(&d->err, DUMP_CORRUPT, "%s: bad id", what);
    return DUMP_OK;
}

/* Revisions of the current page: entries of w->revs up to the page's id. */
static int check_revisions(Walk *w, int64_t page, uint64_t *want_texts)
{
    Dump *d = w->d;
    int rc;
    while (w->revs_live) {
        const uint8_t *key, *v;
        size_t klen, n;
        if ((rc = store_cursor_key_bytes(w->revs, &key, &klen))) return corrupt_store(d, rc, "revisions");
        if (klen != PAGEREV_KEY_LEN)
            return error_set(&d->err, DUMP_CORRUPT, "revision tree: key of %zu bytes", klen);
        int64_t kpage = dump_key_id(key), rev = dump_key_id(key + 8);
        if (kpage > page) return DUMP_OK;
        if (kpage < page)
            return error_set(&d->err, DUMP_CORRUPT, "revision %" PRId64 " is stored under page %" PRId64
                             ", which does not exist", rev, kpage);
        if ((rc = store_cursor_value(w->revs, &v, &n))) return corrupt_store(d, rc, "revisions");
        if (dump_reserve(d, &w->rec, &w->cap, n ? n : 1)) return DUMP_NOMEM;
        memcpy(w->rec, v, n);
        RevisionInfo ri;
        if ((rc = dump_decode_revision(d, w->rec, n, page, rev, &ri, &d->scratch, NULL, NULL))) return rc;
        int64_t owner;
        rc = get_id(d, T_REVS, rev, NULL, 0, &owner, "revision index");
        if (rc == DUMP_NOTFOUND)
            return error_set(&d->err, DUMP_CORRUPT, "revision %" PRId64 " of page %" PRId64
                             " is missing from the revision index", rev, page);
        if (rc) return rc;
        if (owner != page)
            return error_set(&d->err, DUMP_CORRUPT, "revision index: revision %" PRId64 " -> page %" PRId64
                             ", but its record is under page %" PRId64, rev, owner, page);
        for (uint32_t i = 0; i < ri.nslots; i++) {
            if (!(ri.slots[i].flags & DUMP_SLOT_HAS_TEXT)) continue;
            if (d->cfg.kind == DUMP_KIND_STUB)
                return error_set(&d->err, DUMP_CORRUPT, "revision %" PRId64 " has a stored text in a stub dump", rev);
            ++*want_texts;
        }
        if (ri.contributor == DUMP_CONTRIB_USER && ri.user_id > 0 && ri.user_text.ptr) {
            const uint8_t *u;
            size_t un;
            rc = store_get_int(d->s, T_USERS, ri.user_id, &u, &un);
            if (rc == DUMP_NOTFOUND)
                return error_set(&d->err, DUMP_CORRUPT, "revision %" PRId64 ": user %" PRId64
                                 " is missing from the user index", rev, ri.user_id);
            if (rc) return corrupt_store(d, rc, "user index");
        }
        w->out->revisions++;
        rc = store_cursor_next(w->revs);
        if (rc == DUMP_NOTFOUND) w->revs_live = 0;
        else if (rc) return corrupt_store(d, rc, "revisions");
    }
    return DUMP_OK;
}

static int check_page(Walk *w, int64_t id, const uint8_t *v, size_t n)
{
    Dump *d = w->d;
    if (dump_reserve(d, &w->prec, &w->pcap, n ? n : 1)) return DUMP_NOMEM;
    memcpy(w->prec, v, n);
    int rc = dump_decode_page(d, w->prec, n, id, &w->page);
    if (rc) return rc;
    if (d->cfg.articles && !dump_is_article(w->page.ns))
        return error_set(&d->err, DUMP_CORRUPT, "page %" PRId64 ": namespace %" PRId64 " in an articles dump",
                         id, w->page.ns);
    DumpText name = dump_page_name(&w->page);
    size_t klen;
    if ((rc = dump_title_key(d, &d->tkey, &d->tkey_cap, w->page.ns, name.ptr, name.len, &klen)))
        return dump_fail_sub(d, DUMP_CORRUPT, &d->err, "page %" PRId64, id);
    int64_t owner;
    rc = get_id(d, T_TITLES, 0, d->tkey, klen, &owner, "title index");
    if (rc == DUMP_NOTFOUND)
        return error_set(&d->err, DUMP_CORRUPT, "page %" PRId64 " is missing from the title index", id);
    if (rc) return rc;
    if (owner != id)
        return error_set(&d->err, DUMP_CORRUPT, "title index: the title of page %" PRId64 " names page %" PRId64,
                         id, owner);
    uint64_t want = 0, got = 0, before = w->out->revisions;
    if ((rc = check_revisions(w, id, &want))) return rc;
    if (d->cfg.kind == DUMP_KIND_CURRENT && w->out->revisions - before > 1)
        return error_set(&d->err, DUMP_CORRUPT, "page %" PRId64 ": %" PRIu64 " revisions in a current dump", id,
                         w->out->revisions - before);
    ErrorInfo sub;
    error_clear(&sub);
    if ((rc = text_check_page(d->text, id, &got, &w->out->text_bytes, &sub)))
        return dump_fail_sub(d, rc, &sub, "page %" PRId64, id);
    if (got != want)
        return error_set(&d->err, DUMP_CORRUPT, "page %" PRId64 ": %" PRIu64 " texts stored, its revisions have %"
                         PRIu64, id, got, want);
    w->out->texts += got;
    w->out->pages++;
    return DUMP_OK;
}

static int walk_pages(Walk *w)
{
    Dump *d = w->d;
    int rc = store_cursor_first(w->revs);
    w->revs_live = rc == DUMP_OK;
    if (rc && rc != DUMP_NOTFOUND) return corrupt_store(d, rc, "revisions");
    for (rc = store_cursor_first(w->pages); rc == DUMP_OK; rc = store_cursor_next(w->pages)) {
        int64_t id;
        const uint8_t *v;
        size_t n;
        if ((rc = store_cursor_key_int(w->pages, &id)) || (rc = store_cursor_value(w->pages, &v, &n)))
            return corrupt_store(d, rc, "pages");
        if ((rc = check_page(w, id, v, n))) return rc;
    }
    if (rc != DUMP_NOTFOUND) return corrupt_store(d, rc, "pages");
    if (w->revs_live) {
        const uint8_t *key;
        size_t klen;
        if ((rc = store_cursor_key_bytes(w->revs, &key, &klen))) return corrupt_store(d, rc, "revisions");
        if (klen != PAGEREV_KEY_LEN) return error_set(&d->err, DUMP_CORRUPT, "revision tree: key of %zu bytes", klen);
        return error_set(&d->err, DUMP_CORRUPT, "revision %" PRId64 " is stored under page %" PRId64
                         ", which does not exist", dump_key_id(key + 8), dump_key_id(key));
    }
    int type;
    uint64_t texts;
    if ((rc = store_tree_stat(d->s, T_TEXT, &type, &texts))) return corrupt_store(d, rc, "texts");
    if (texts != w->out->texts)
        return error_set(&d->err, DUMP_CORRUPT, "the text tree holds %" PRIu64 " texts, the revisions %" PRIu64,
                         texts, w->out->texts);
    return DUMP_OK;
}

/* Every entry of an index tree, in key order: fn(d, cursor, ctx). */
static int walk_tree(Dump *d, unsigned tree, int (*fn)(Dump *, StoreCursor *, void *), void *ctx)
{
    StoreCursor *c;
    int rc = store_cursor_open(d->s, tree, &c);
    if (rc) return corrupt_store(d, rc, "index");
    for (rc = store_cursor_first(c); rc == DUMP_OK; rc = store_cursor_next(c))
        if ((rc = fn(d, c, ctx))) break;
    if (rc == DUMP_NOTFOUND) rc = DUMP_OK;
    else if (rc && !d->err.msg[0]) corrupt_store(d, rc, "index");
    store_cursor_close(c);
    return rc;
}

static int rev_entry(Dump *d, StoreCursor *c, void *ctx)
{
    (void)ctx;
    int64_t rev, page;
    const uint8_t *v;
    size_t n;
    int rc;
    if ((rc = store_cursor_key_int(c, &rev)) || (rc = store_cursor_value(c, &v, &n))) return corrupt_store(d, rc, "revision index");
    if (!dump_varint_exact(v, n, &page))
        return error_set(&d->err, DUMP_CORRUPT, "revision index: revision %" PRId64 ": bad page id", rev);
    uint8_t key[PAGEREV_KEY_LEN];
    dump_pagerev_key(key, page, rev);
    rc = store_get_bytes(d->s, T_PAGEREVS, key, sizeof key, &v, &n);
    if (rc == DUMP_NOTFOUND)
        return error_set(&d->err, DUMP_CORRUPT, "revision index: revision %" PRId64 " -> page %" PRId64
                         ", which has no such revision", rev, page);
    return rc ? corrupt_store(d, rc, "revisions") : DUMP_OK;
}

static int title_entry(Dump *d, StoreCursor *c, void *ctx)
{
    (void)ctx;
    const uint8_t *key, *v;
    size_t klen, n;
    int64_t id;
    int rc;
    if ((rc = store_cursor_key_bytes(c, &key, &klen)) || (rc = store_cursor_value(c, &v, &n)))
        return corrupt_store(d, rc, "title index");
    if (klen < 4) return error_set(&d->err, DUMP_CORRUPT, "title index: key of %zu bytes", klen);
    if (!dump_varint_exact(v, n, &id)) return error_set(&d->err, DUMP_CORRUPT, "title index: bad page id");
    if (dump_reserve(d, &d->tkey2, &d->tkey2_cap, klen)) return DUMP_NOMEM;
    memcpy(d->tkey2, key, klen);
    rc = store_get_int(d->s, T_PAGES, id, &v, &n);
    if (rc == DUMP_NOTFOUND)
        return error_set(&d->err, DUMP_CORRUPT, "title index: \"%.*s\" names page %" PRId64 ", which does not exist",
                         (int)(klen - 4 > 200 ? 200 : klen - 4), (const char *)d->tkey2 + 4, id);
    if (rc) return corrupt_store(d, rc, "pages");
    PageInfo p;
    if ((rc = dump_decode_page(d, v, n, id, &p))) return rc;
    DumpText name = dump_page_name(&p);
    uint32_t ns = (uint32_t)d->tkey2[0] << 24 | (uint32_t)d->tkey2[1] << 16 | (uint32_t)d->tkey2[2] << 8 | d->tkey2[3];
    if ((int64_t)(int32_t)(ns ^ 0x80000000u) != p.ns || name.len != klen - 4
        || (name.len && memcmp(name.ptr, d->tkey2 + 4, name.len)))
        return error_set(&d->err, DUMP_CORRUPT, "title index: \"%.*s\" names page %" PRId64 ", which has another title",
                         (int)(klen - 4 > 200 ? 200 : klen - 4), (const char *)d->tkey2 + 4, id);
    return DUMP_OK;
}

/* ctx: the next intern id (META strings.next) */
static int string_entry(Dump *d, StoreCursor *c, void *ctx)
{
    int64_t id, got, next = *(int64_t *)ctx;
    const uint8_t *v;
    size_t n;
    int rc;
    if ((rc = store_cursor_key_int(c, &id)) || (rc = store_cursor_value(c, &v, &n))) return corrupt_store(d, rc, "strings");
    if (n < 1 || v[0] < RECORD_STR_NAME || v[0] > RECORD_STR_ROLE)
        return error_set(&d->err, DUMP_CORRUPT, "string %" PRId64 ": bad kind", id);
    if (dump_reserve(d, &d->skey, &d->skey_cap, n)) return DUMP_NOMEM;
    memcpy(d->skey, v, n);
    if (id < 1 || id >= next)
        return error_set(&d->err, DUMP_CORRUPT, "string %" PRId64 " is outside the ids handed out (1..%" PRId64 ")",
                         id, next - 1);
    rc = get_id(d, T_STRIDX, 0, d->skey, n, &got, "string index");
    if (rc == DUMP_NOTFOUND)
        return error_set(&d->err, DUMP_CORRUPT, "string %" PRId64 " is missing from the string index", id);
    if (rc) return rc;
    if (got != id)
        return error_set(&d->err, DUMP_CORRUPT, "string index: string %" PRId64 " maps to %" PRId64, id, got);
    return DUMP_OK;
}

static int user_entry(Dump *d, StoreCursor *c, void *ctx)
{
    (void)ctx;
    int64_t uid, got;
    const uint8_t *v;
    size_t n;
    int rc;
    if ((rc = store_cursor_key_int(c, &uid)) || (rc = store_cursor_value(c, &v, &n))) return corrupt_store(d, rc, "users");
    if (dump_reserve(d, &d->skey, &d->skey_cap, n ? n : 1)) return DUMP_NOMEM;
    memcpy(d->skey, v, n);
    rc = get_id(d, T_USERNAMES, 0, d->skey, n, &got, "user name index");
    if (rc == DUMP_NOTFOUND)
        return error_set(&d->err, DUMP_CORRUPT, "user %" PRId64 ": name missing from the user name index", uid);
    return rc;
}

static int username_entry(Dump *d, StoreCursor *c, void *ctx)
{
    (void)ctx;
    const uint8_t *v;
    size_t n;
    int64_t uid;
    int rc;
    if ((rc = store_cursor_value(c, &v, &n))) return corrupt_store(d, rc, "user names");
    if (!dump_varint_exact(v, n, &uid) || uid < 1)
        return error_set(&d->err, DUMP_CORRUPT, "user name index: bad user id");
    rc = store_get_int(d->s, T_USERS, uid, &v, &n);
    if (rc == DUMP_NOTFOUND)
        return error_set(&d->err, DUMP_CORRUPT, "user name index: user %" PRId64 " does not exist", uid);
    return rc ? corrupt_store(d, rc, "users") : DUMP_OK;
}

int dump_check(Dump *d, DumpCheck *out)
{
    memset(out, 0, sizeof *out);
    int rc = dump_enter(d);
    if (rc) return rc;
    StoreCheck sc;
    if ((rc = store_check(d->s, &sc))) return dump_fail_store(d, rc, "check");
    DumpSiteInfo si;
    if ((rc = dump_get_siteinfo(d, &si)) && rc != DUMP_NOTFOUND) return rc;
    error_clear(&d->err);
    uint64_t seq;
    if ((rc = dump_get_sequence(d, &seq))) return rc;   /* META sequence decodes */
    /* interned strings first: the records' decoding relies on them */
    int64_t next = 1;
    rc = get_id(d, T_META, 0, (const uint8_t *)"strings.next", 12, &next, "META strings.next");
    if (rc && rc != DUMP_NOTFOUND) return rc;
    if ((rc = walk_tree(d, T_STRINGS, string_entry, &next))) return rc;
    int type;
    uint64_t nstr, nidx;
    if ((rc = store_tree_stat(d->s, T_STRINGS, &type, &nstr)) || (rc = store_tree_stat(d->s, T_STRIDX, &type, &nidx)))
        return corrupt_store(d, rc, "strings");
    if (nstr != nidx)
        return error_set(&d->err, DUMP_CORRUPT, "%" PRIu64 " strings but %" PRIu64 " string index entries", nstr, nidx);

    Walk w = { .d = d, .out = out };
    if ((rc = store_cursor_open(d->s, T_PAGES, &w.pages))) return corrupt_store(d, rc, "pages");
    if ((rc = store_cursor_open(d->s, T_PAGEREVS, &w.revs))) {
        store_cursor_close(w.pages);
        return corrupt_store(d, rc, "revisions");
    }
    rc = walk_pages(&w);
    store_cursor_close(w.pages);
    store_cursor_close(w.revs);
    free(w.rec);
    free(w.prec);
    if (rc) return rc;
    if ((rc = walk_tree(d, T_REVS, rev_entry, NULL)) || (rc = walk_tree(d, T_TITLES, title_entry, NULL))
        || (rc = walk_tree(d, T_USERS, user_entry, NULL)) || (rc = walk_tree(d, T_USERNAMES, username_entry, NULL)))
        return rc;
    return DUMP_OK;
}
