/*
 * dump_write.c -- writes inside a transaction: pages, revisions, site info,
 * the dictionary; every index (TITLES, REVS, PAGEREVS, TEXT, USERS and
 * USERNAMES) moves with the records.
 *
 * Dump layer (8), internal: Store API, record.h, dump_text.h. A write checks
 * everything it can before its first change; a failure after a change
 * marks the handle broken (Dump.broken), so that only dump_abort() is left
 * and no half-applied write is ever committed.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "dump_internal.h"

/* A failure after the first change of a write. */
#define BROKEN(expr) (d->broken = 1, (expr))

static int require_write(Dump *d, const char *what)
{
    if (!store_in_txn(d->s))
        return error_set(&d->err, DUMP_MISUSE, "%s: no transaction (call dump_begin first)", what);
    if (d->broken)
        return error_set(&d->err, DUMP_MISUSE, "%s: an earlier write failed; abort the transaction", what);
    return DUMP_OK;
}

static int put_varint_int(Dump *d, unsigned tree, int64_t key, int64_t val)
{
    uint8_t v[VARINT_MAX];
    size_t n = varint_put(v, (uint64_t)val);
    return store_put_int(d->s, tree, key, v, n, STORE_PUT_UPSERT);
}

/* Page id stored under a title key: DUMP_OK, DUMP_NOTFOUND, or an error. */
static int title_owner(Dump *d, const uint8_t *key, size_t klen, int64_t *id)
{
    const uint8_t *v;
    size_t n;
    int rc = store_get_bytes(d->s, T_TITLES, key, klen, &v, &n);
    if (rc == DUMP_NOTFOUND) return rc;
    if (rc) return dump_fail_store(d, rc, "title index");
    if (!dump_varint_exact(v, n, id)) return error_set(&d->err, DUMP_CORRUPT, "title index: bad page id");
    return DUMP_OK;
}

/* ---- site info and dictionary ---------------------------------------------- */

int dump_put_siteinfo(Dump *d, const DumpSiteInfo *si)
{
    int rc = dump_enter(d);
    if (rc || (rc = require_write(d, "site info"))) return rc;
    ErrorInfo sub;
    error_clear(&sub);
    if ((rc = record_encode_siteinfo(si, &d->buf, &sub))) return dump_fail_sub(d, rc, &sub, "site info");
    rc = store_put_bytes(d->s, T_META, (const uint8_t *)"siteinfo", 8, d->buf.p, d->buf.len, STORE_PUT_UPSERT);
    if (rc) return BROKEN(dump_fail_store(d, rc, "site info"));
    return DUMP_OK;
}

int dump_set_dictionary(Dump *d, const uint8_t *dict, size_t len)
{
    int rc = dump_enter(d);
    if (rc || (rc = require_write(d, "dictionary"))) return rc;
    if (len > DUMP_MAX_DICT)
        return error_set(&d->err, DUMP_INVALID, "dictionary of %zu bytes: the limit is %zu", len, DUMP_MAX_DICT);
    if (len && !dict) return error_set(&d->err, DUMP_INVALID, "dictionary: NULL bytes");
    ErrorInfo sub;
    error_clear(&sub);
    if ((rc = text_flush(d->text, &sub))) return BROKEN(dump_fail_sub(d, rc, &sub, "dictionary"));
    int type;
    uint64_t texts;
    if ((rc = store_tree_stat(d->s, T_TEXT, &type, &texts))) return dump_fail_store(d, rc, "dictionary");
    if (texts)
        return error_set(&d->err, DUMP_MISUSE, "dictionary: the dump already holds %" PRIu64 " texts", texts);
    uint8_t *copy = NULL;
    if (len && !(copy = malloc(len))) return error_set(&d->err, DUMP_NOMEM, "out of memory");
    if (len) memcpy(copy, dict, len);
    if (len)
        rc = store_put_bytes(d->s, T_META, (const uint8_t *)"dict", 4, dict, len, STORE_PUT_UPSERT);
    else if ((rc = store_del_bytes(d->s, T_META, (const uint8_t *)"dict", 4)) == DUMP_NOTFOUND)
        rc = DUMP_OK;
    if (rc) {
        free(copy);
        return BROKEN(dump_fail_store(d, rc, "dictionary"));
    }
    free(d->dict);
    d->dict = copy;
    d->dict_len = len;
    if ((rc = dump_text_rebuild(d))) d->broken = 1;
    return rc;
}

/* ---- pages ------------------------------------------------------------------ */

int dump_put_page(Dump *d, const PageInfo *p)
{
    int rc = dump_enter(d);
    if (rc || (rc = require_write(d, "put page"))) return rc;
    int64_t id = p->id;
    if (id < 0) return error_set(&d->err, DUMP_INVALID, "page %" PRId64 ": negative id", id);
    if (!p->title.ptr) return error_set(&d->err, DUMP_INVALID, "page %" PRId64 ": no title", id);
    if (p->title_prefix > p->title.len)
        return error_set(&d->err, DUMP_INVALID, "page %" PRId64 ": title prefix longer than the title", id);
    if (d->cfg.articles && !dump_is_article(p->ns))
        return error_set(&d->err, DUMP_INVALID, "page %" PRId64 ": namespace %" PRId64
                         " does not belong in an articles dump", id, p->ns);
    DumpText name = dump_page_name(p);
    size_t klen, oldlen = 0;
    if ((rc = dump_title_key(d, &d->tkey, &d->tkey_cap, p->ns, name.ptr, name.len, &klen)))
        return dump_fail_sub(d, rc, &d->err, "page %" PRId64, id);
    ErrorInfo sub;
    error_clear(&sub);
    if ((rc = record_encode_page(p, &d->buf, &sub))) return dump_fail_sub(d, rc, &sub, "page %" PRId64, id);

    int64_t owner;
    int title_free = 0;
    rc = title_owner(d, d->tkey, klen, &owner);
    if (rc == DUMP_NOTFOUND) title_free = 1;
    else if (rc) return rc;
    else if (owner != id)
        return error_set(&d->err, DUMP_EXISTS, "page %" PRId64 ": the title \"%.*s\" (namespace %" PRId64
                         ") belongs to page %" PRId64, id, (int)(name.len > 200 ? 200 : name.len),
                         (const char *)name.ptr, p->ns, owner);

    const uint8_t *v;
    size_t n;
    int had_old = 0;
    rc = store_get_int(d->s, T_PAGES, id, &v, &n);
    if (rc == DUMP_OK) {
        if (n == d->buf.len && !memcmp(v, d->buf.p, n) && !title_free) return DUMP_OK;   /* unchanged */
        PageInfo old;
        if ((rc = dump_decode_page(d, v, n, id, &old))) return rc;
        DumpText oname = dump_page_name(&old);
        if ((rc = dump_title_key(d, &d->tkey2, &d->tkey2_cap, old.ns, oname.ptr, oname.len, &oldlen)))
            return dump_fail_sub(d, rc, &d->err, "page %" PRId64 ": stored title", id);
        had_old = 1;
    } else if (rc != DUMP_NOTFOUND) {
        return dump_fail_store(d, rc, "page %" PRId64, id);
    }

    /* changes start here */
    if (had_old && (oldlen != klen || memcmp(d->tkey2, d->tkey, klen))) {
        rc = title_owner(d, d->tkey2, oldlen, &owner);
        if (rc == DUMP_OK && owner == id && (rc = store_del_bytes(d->s, T_TITLES, d->tkey2, oldlen)))
            return BROKEN(dump_fail_store(d, rc, "page %" PRId64 ": old title", id));
        if (rc && rc != DUMP_NOTFOUND) return BROKEN(rc);
    }
    if ((rc = store_put_int(d->s, T_PAGES, id, d->buf.p, d->buf.len, STORE_PUT_UPSERT)))
        return BROKEN(dump_fail_store(d, rc, "page %" PRId64, id));
    if (title_free) {
        uint8_t val[VARINT_MAX];
        size_t vl = varint_put(val, (uint64_t)id);
        if ((rc = store_put_bytes(d->s, T_TITLES, d->tkey, klen, val, vl, STORE_PUT_UPSERT)))
            return BROKEN(dump_fail_store(d, rc, "page %" PRId64 ": title", id));
    }
    return DUMP_OK;
}

/* Copy of the revision record (page, rev) decoded into d->tmp/d->scratch:
 * valid until the next such call. DUMP_NOTFOUND when there is none. */
static int load_revision(Dump *d, int64_t page, int64_t rev, RevisionInfo *ri)
{
    uint8_t key[PAGEREV_KEY_LEN];
    dump_pagerev_key(key, page, rev);
    const uint8_t *v;
    size_t n;
    int rc = store_get_bytes(d->s, T_PAGEREVS, key, sizeof key, &v, &n);
    if (rc == DUMP_NOTFOUND) return rc;
    if (rc) return dump_fail_store(d, rc, "revision %" PRId64, rev);
    if (dump_reserve(d, &d->tmp, &d->tmp_cap, n ? n : 1)) return DUMP_NOMEM;
    memcpy(d->tmp, v, n);
    return dump_decode_revision(d, d->tmp, n, page, rev, ri, &d->scratch, NULL, NULL);
}

/* Delete revision rev of page: its texts (re-encoding their dependants),
 * its record and its REVS entry. A failure to read the record changes
 * nothing; any later failure is BROKEN. */
static int delete_revision(Dump *d, int64_t page, int64_t rev)
{
    RevisionInfo ri;
    int rc = load_revision(d, page, rev, &ri);
    if (rc == DUMP_NOTFOUND)
        return error_set(&d->err, DUMP_CORRUPT, "revision %" PRId64 ": no record under page %" PRId64, rev, page);
    if (rc) return rc;   /* nothing changed yet */
    ErrorInfo sub;
    error_clear(&sub);
    for (uint32_t i = 0; i < ri.nslots; i++) {
        if (!(ri.slots[i].flags & DUMP_SLOT_HAS_TEXT)) continue;
        rc = text_delete(d->text, page, rev, i, &sub);
        if (rc && rc != DUMP_NOTFOUND) return BROKEN(dump_fail_sub(d, rc, &sub, "revision %" PRId64, rev));
    }
    uint8_t key[PAGEREV_KEY_LEN];
    dump_pagerev_key(key, page, rev);
    if ((rc = store_del_bytes(d->s, T_PAGEREVS, key, sizeof key)))
        return BROKEN(dump_fail_store(d, rc, "revision %" PRId64, rev));
    rc = store_del_int(d->s, T_REVS, rev);
    if (rc && rc != DUMP_NOTFOUND) return BROKEN(dump_fail_store(d, rc, "revision %" PRId64 ": index", rev));
    return DUMP_OK;
}

/* The id of the first revision of page with id >= from (dir STORE_SEEK_GE)
 * or the last one <= from (STORE_SEEK_LE). DUMP_NOTFOUND when none. */
static int seek_revision(Dump *d, int64_t page, int64_t from, int dir, int64_t *rev)
{
    StoreCursor *c;
    int rc = store_cursor_open(d->s, T_PAGEREVS, &c);
    if (rc) return dump_fail_store(d, rc, "page %" PRId64 ": revisions", page);
    uint8_t key[PAGEREV_KEY_LEN];
    dump_pagerev_key(key, page, from);
    rc = store_cursor_seek_bytes(c, key, sizeof key, dir);
    const uint8_t *k;
    size_t kl;
    if (rc == DUMP_OK && !(rc = store_cursor_key_bytes(c, &k, &kl))) {
        if (kl != PAGEREV_KEY_LEN || memcmp(k, key, 8)) rc = DUMP_NOTFOUND;
        else *rev = dump_key_id(k + 8);
    }
    if (rc && rc != DUMP_NOTFOUND) dump_fail_store(d, rc, "page %" PRId64 ": revisions", page);
    store_cursor_close(c);
    return rc;
}

int dump_delete_page(Dump *d, int64_t page_id)
{
    int rc = dump_enter(d);
    if (rc || (rc = require_write(d, "delete page"))) return rc;
    const uint8_t *v;
    size_t n, oldlen;
    rc = store_get_int(d->s, T_PAGES, page_id, &v, &n);
    if (rc == DUMP_NOTFOUND) return error_set(&d->err, rc, "page %" PRId64 " not found", page_id);
    if (rc) return dump_fail_store(d, rc, "page %" PRId64, page_id);
    PageInfo old;
    if ((rc = dump_decode_page(d, v, n, page_id, &old))) return rc;
    DumpText oname = dump_page_name(&old);
    if ((rc = dump_title_key(d, &d->tkey2, &d->tkey2_cap, old.ns, oname.ptr, oname.len, &oldlen)))
        return dump_fail_sub(d, rc, &d->err, "page %" PRId64 ": stored title", page_id);

    /* changes start here: texts first (one sweep), then the records */
    ErrorInfo sub;
    error_clear(&sub);
    if ((rc = text_delete_page(d->text, page_id, &sub)))
        return BROKEN(dump_fail_sub(d, rc, &sub, "page %" PRId64, page_id));
    int64_t rev;
    while ((rc = seek_revision(d, page_id, INT64_MIN, STORE_SEEK_GE, &rev)) == DUMP_OK) {
        uint8_t key[PAGEREV_KEY_LEN];
        dump_pagerev_key(key, page_id, rev);
        if ((rc = store_del_bytes(d->s, T_PAGEREVS, key, sizeof key)))
            return BROKEN(dump_fail_store(d, rc, "page %" PRId64 ": revision %" PRId64, page_id, rev));
        rc = store_del_int(d->s, T_REVS, rev);
        if (rc && rc != DUMP_NOTFOUND)
            return BROKEN(dump_fail_store(d, rc, "page %" PRId64 ": revision index %" PRId64, page_id, rev));
    }
    if (rc != DUMP_NOTFOUND) return BROKEN(rc);
    int64_t owner;
    rc = title_owner(d, d->tkey2, oldlen, &owner);
    if (rc == DUMP_OK && owner == page_id && (rc = store_del_bytes(d->s, T_TITLES, d->tkey2, oldlen)))
        return BROKEN(dump_fail_store(d, rc, "page %" PRId64 ": title", page_id));
    if (rc && rc != DUMP_NOTFOUND) return BROKEN(rc);
    if ((rc = store_del_int(d->s, T_PAGES, page_id)))
        return BROKEN(dump_fail_store(d, rc, "page %" PRId64, page_id));
    return DUMP_OK;
}

/* ---- revisions -------------------------------------------------------------- */

/* USERS[uid] = name and USERNAMES[name] = uid, unless both already hold. */
static int note_user(Dump *d, int64_t uid, DumpText name)
{
    const uint8_t *v;
    size_t n;
    int64_t got;
    int rc = store_get_int(d->s, T_USERS, uid, &v, &n);
    int same_name = rc == DUMP_OK && n == name.len && (n == 0 || !memcmp(v, name.ptr, n));
    if (rc && rc != DUMP_NOTFOUND) return dump_fail_store(d, rc, "user %" PRId64, uid);
    rc = store_get_bytes(d->s, T_USERNAMES, name.ptr, name.len, &v, &n);
    int same_id = rc == DUMP_OK && dump_varint_exact(v, n, &got) && got == uid;
    if (rc && rc != DUMP_NOTFOUND) return dump_fail_store(d, rc, "user %" PRId64, uid);
    if (!same_name && (rc = store_put_int(d->s, T_USERS, uid, name.ptr, name.len, STORE_PUT_UPSERT)))
        return dump_fail_store(d, rc, "user %" PRId64, uid);
    if (!same_id) {
        uint8_t val[VARINT_MAX];
        size_t vl = varint_put(val, (uint64_t)uid);
        if ((rc = store_put_bytes(d->s, T_USERNAMES, name.ptr, name.len, val, vl, STORE_PUT_UPSERT)))
            return dump_fail_store(d, rc, "user name of %" PRId64, uid);
    }
    return DUMP_OK;
}

/* Everything dump_put_revision can refuse before changing anything. */
static int check_revision(Dump *d, const RevisionInfo *r)
{
    if (r->id < 0 || r->page_id < 0)
        return error_set(&d->err, DUMP_INVALID, "revision %" PRId64 ": negative id", r->id);
    if (r->nslots > RECORD_MAX_SLOTS)
        return error_set(&d->err, DUMP_INVALID, "revision %" PRId64 ": %u slots, at most %d", r->id,
                         r->nslots, RECORD_MAX_SLOTS);
    if (r->nslots && !r->slots) return error_set(&d->err, DUMP_INVALID, "revision %" PRId64 ": no slots array", r->id);
    for (uint32_t i = 0; i < r->nslots; i++)
        if (r->slots[i].text.ptr && r->slots[i].text.len > DUMP_MAX_TEXT)
            return error_set(&d->err, DUMP_INVALID, "revision %" PRId64 " slot %u: text of %zu bytes, over 1 GiB",
                             r->id, i, r->slots[i].text.len);
    if (r->contributor == DUMP_CONTRIB_USER && r->user_id > 0 && r->user_text.ptr
        && r->user_text.len > STORE_MAX_KEY)
        return error_set(&d->err, DUMP_INVALID, "revision %" PRId64 ": user name too long", r->id);
    return DUMP_OK;
}

int dump_put_revision(Dump *d, const RevisionInfo *r)
{
    int rc = dump_enter(d);
    if (rc || (rc = require_write(d, "put revision")) || (rc = check_revision(d, r))) return rc;
    int64_t id = r->id, page = r->page_id;
    const uint8_t *v;
    size_t n;
    rc = store_get_int(d->s, T_PAGES, page, &v, &n);
    if (rc == DUMP_NOTFOUND) return error_set(&d->err, rc, "revision %" PRId64 ": page %" PRId64 " not found", id, page);
    if (rc) return dump_fail_store(d, rc, "revision %" PRId64 ": page %" PRId64, id, page);
    int exists = 0;
    rc = store_get_int(d->s, T_REVS, id, &v, &n);
    if (rc == DUMP_OK) {
        int64_t owner;
        if (!dump_varint_exact(v, n, &owner))
            return error_set(&d->err, DUMP_CORRUPT, "revision index: revision %" PRId64 ": bad page id", id);
        if (owner != page)
            return error_set(&d->err, DUMP_INVALID, "revision %" PRId64 " belongs to page %" PRId64 ", not %" PRId64,
                             id, owner, page);
        exists = 1;
    } else if (rc != DUMP_NOTFOUND) {
        return dump_fail_store(d, rc, "revision %" PRId64, id);
    }
    uint64_t old_texts = 0;   /* slots of the stored version with a text */
    if (exists) {
        RevisionInfo old;
        if ((rc = load_revision(d, page, id, &old))) return rc;
        for (uint32_t i = 0; i < old.nslots && i < RECORD_MAX_SLOTS; i++)
            if (old.slots[i].flags & DUMP_SLOT_HAS_TEXT) old_texts |= (uint64_t)1 << i;
    }
    int64_t latest;
    if (d->cfg.kind == DUMP_KIND_CURRENT) {
        rc = seek_revision(d, page, INT64_MAX, STORE_SEEK_LE, &latest);
        if (rc == DUMP_OK && latest > id) return DUMP_OK;   /* older than what the dump keeps */
        if (rc && rc != DUMP_NOTFOUND) return rc;
    }

    /* The record says which slots have a stored text; the caller's flag is
     * not trusted. */
    RevisionInfo ri = *r;
    for (uint32_t i = 0; i < r->nslots; i++) {
        d->slots[i] = r->slots[i];
        d->slots[i].flags &= ~(uint32_t)DUMP_SLOT_HAS_TEXT;
        if (d->cfg.kind != DUMP_KIND_STUB && r->slots[i].text.ptr) d->slots[i].flags |= DUMP_SLOT_HAS_TEXT;
    }
    ri.slots = r->nslots ? d->slots : NULL;
    ErrorInfo sub;
    error_clear(&sub);
    /* interning may add strings: harmless if nothing uses them */
    if ((rc = record_encode_revision(&ri, &d->rs, &d->buf, &sub)))
        return dump_fail_sub(d, rc, &sub, "revision %" PRId64, id);

    /* changes start here */
    if (d->cfg.kind == DUMP_KIND_CURRENT) {
        while ((rc = seek_revision(d, page, INT64_MIN, STORE_SEEK_GE, &latest)) == DUMP_OK && latest < id)
            if ((rc = delete_revision(d, page, latest))) return BROKEN(rc);
        if (rc && rc != DUMP_NOTFOUND) return BROKEN(rc);
    }
    /* texts of the old version that the new one does not replace */
    for (uint32_t i = 0; i < RECORD_MAX_SLOTS; i++) {
        if (!(old_texts >> i & 1) || (i < ri.nslots && (d->slots[i].flags & DUMP_SLOT_HAS_TEXT))) continue;
        rc = text_delete(d->text, page, id, i, &sub);
        if (rc && rc != DUMP_NOTFOUND) return BROKEN(dump_fail_sub(d, rc, &sub, "revision %" PRId64, id));
    }
    uint8_t key[PAGEREV_KEY_LEN];
    dump_pagerev_key(key, page, id);
    if ((rc = store_put_bytes(d->s, T_PAGEREVS, key, sizeof key, d->buf.p, d->buf.len, STORE_PUT_UPSERT)))
        return BROKEN(dump_fail_store(d, rc, "revision %" PRId64, id));
    if (!exists && (rc = put_varint_int(d, T_REVS, id, page)))
        return BROKEN(dump_fail_store(d, rc, "revision %" PRId64 ": index", id));
    for (uint32_t i = 0; i < ri.nslots; i++) {
        if (!(d->slots[i].flags & DUMP_SLOT_HAS_TEXT)) continue;
        if ((rc = text_put(d->text, page, id, i, d->slots[i].text.ptr, d->slots[i].text.len, &sub)))
            return BROKEN(dump_fail_sub(d, rc, &sub, "revision %" PRId64 " slot %u", id, i));
    }
    if (r->contributor == DUMP_CONTRIB_USER && r->user_id > 0 && r->user_text.ptr
        && (rc = note_user(d, r->user_id, r->user_text)))
        return BROKEN(rc);
    return DUMP_OK;
}

int dump_delete_revision(Dump *d, int64_t rev_id)
{
    int rc = dump_enter(d);
    if (rc || (rc = require_write(d, "delete revision"))) return rc;
    const uint8_t *v;
    size_t n;
    rc = store_get_int(d->s, T_REVS, rev_id, &v, &n);
    if (rc == DUMP_NOTFOUND) return error_set(&d->err, rc, "revision %" PRId64 " not found", rev_id);
    if (rc) return dump_fail_store(d, rc, "revision %" PRId64, rev_id);
    int64_t page;
    if (!dump_varint_exact(v, n, &page))
        return error_set(&d->err, DUMP_CORRUPT, "revision index: revision %" PRId64 ": bad page id", rev_id);
    return delete_revision(d, page, rev_id);
}
