/*
 * vfs.c -- plain and fault-injecting file operations (contract in vfs.h).
 *
 * Leaf layer: calls status.c, the C library and POSIX only. Invariant of the
 * faulty Vfs: the real file is "the disk" -- it holds exactly what survived
 * the last barrier (sync or truncate), and the writes made since then live
 * only in `pend`, in issue order, until the next barrier or a simulated crash
 * decides which of them reach the disk. Reads overlay `pend` on the disk.
 */
#define _GNU_SOURCE
#define _FILE_OFFSET_BITS 64

#include "vfs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SECTOR 512u
#define OFF_MAX ((uint64_t)INT64_MAX)   /* off_t is 64-bit (_FILE_OFFSET_BITS) */

typedef unsigned long long ull;

typedef struct Pending {
    uint64_t off;
    size_t len;
    uint8_t *data;
} Pending;

struct Vfs {
    int fd;
    int writable;
    int sync_dir;      /* we created the file: its directory entry is not durable */
    int faulty;
    int crashed;
    int mode;
    uint64_t crash_at; /* 0: never */
    uint64_t ops;
    uint64_t rng;      /* splitmix64 state */
    Pending *pend;     /* unsynced writes, oldest first */
    size_t npend, cap;
    uint64_t pend_end; /* max(off + len) over pend, 0 when empty */
    char path[];
};

/* ---- raw system calls: every loop retries EINTR and short counts ---- */

static int xopen(const char *path, int flags)
{
    int fd;
    do fd = open(path, flags, 0644); while (fd < 0 && errno == EINTR);
    return fd;
}

/* Offsets past off_t's range would make pread/pwrite fail with EINVAL; say so. */
static int range_check(const Vfs *v, const char *what, uint64_t off, size_t n,
                       ErrorInfo *err)
{
    if (off <= OFF_MAX && n <= OFF_MAX - off) return DUMP_OK;
    return error_set(err, DUMP_IOERR, "%s %s at offset %llu: %zu bytes out of range",
                     what, v->path, (ull)off, n);
}

static int raw_read(Vfs *v, uint64_t off, uint8_t *buf, size_t n, size_t *got,
                    ErrorInfo *err)
{
    size_t done = 0;
    while (done < n) {
        ssize_t r = pread(v->fd, buf + done, n - done, (off_t)(off + done));
        if (r < 0) {
            if (errno == EINTR) continue;
            return error_sys(err, "read %s at offset %llu", v->path, (ull)(off + done));
        }
        if (r == 0) break;               /* end of file */
        done += (size_t)r;
    }
    *got = done;
    return DUMP_OK;
}

static int raw_write(Vfs *v, uint64_t off, const uint8_t *buf, size_t n, ErrorInfo *err)
{
    size_t done = 0;
    while (done < n) {
        ssize_t r = pwrite(v->fd, buf + done, n - done, (off_t)(off + done));
        if (r <= 0) {
            if (r < 0 && errno == EINTR) continue;
            if (r == 0) errno = EIO;     /* no progress: do not spin */
            return error_sys(err, "write %s at offset %llu", v->path, (ull)(off + done));
        }
        done += (size_t)r;
    }
    return DUMP_OK;
}

/* Make a newly created file's directory entry durable. Filesystems that
 * cannot sync a directory (EINVAL/ENOTSUP) have nothing to make durable. */
static int sync_directory(Vfs *v, ErrorInfo *err)
{
    const char *slash = strrchr(v->path, '/');
    size_t len = !slash ? 0 : slash == v->path ? 1 : (size_t)(slash - v->path);
    char *dir = malloc(len + 2);
    if (!dir) return error_set(err, DUMP_NOMEM, "sync directory of %s: out of memory", v->path);
    if (len == 0) strcpy(dir, ".");
    else { memcpy(dir, v->path, len); dir[len] = '\0'; }

    int rc = DUMP_OK;
    int fd = xopen(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        rc = error_sys(err, "open directory %s", dir);
        goto out;
    }
    while (fsync(fd) != 0) {
        if (errno == EINTR) continue;
        if (errno != EINVAL && errno != ENOTSUP)
            rc = error_sys(err, "sync directory %s", dir);
        break;
    }
    close(fd);
    if (rc == DUMP_OK) v->sync_dir = 0;
out:
    free(dir);
    return rc;
}

static int raw_sync(Vfs *v, ErrorInfo *err)
{
#if defined(_POSIX_SYNCHRONIZED_IO) && _POSIX_SYNCHRONIZED_IO > 0
    while (fdatasync(v->fd) != 0) {
#else
    while (fsync(v->fd) != 0) {
#endif
        if (errno != EINTR) return error_sys(err, "sync %s", v->path);
    }
    return v->sync_dir ? sync_directory(v, err) : DUMP_OK;
}

static int raw_size(Vfs *v, uint64_t *size, ErrorInfo *err)
{
    struct stat st;
    if (fstat(v->fd, &st) != 0) return error_sys(err, "size of %s", v->path);
    *size = (uint64_t)st.st_size;
    return DUMP_OK;
}

static int raw_truncate(Vfs *v, uint64_t size, ErrorInfo *err)
{
    if (size > OFF_MAX)
        return error_set(err, DUMP_IOERR, "truncate %s to %llu: out of range", v->path, (ull)size);
    while (ftruncate(v->fd, (off_t)size) != 0) {
        if (errno != EINTR) return error_sys(err, "truncate %s to %llu", v->path, (ull)size);
    }
    return DUMP_OK;
}

/* ---- opening ---- */

/* Open without O_CREAT first so we know whether we created the file. O_EXCL
 * failing with EEXIST after that means a racing creator or a dangling
 * symlink; the last open then creates through it, and we sync the directory
 * anyway (harmless if someone else created it). */
static Vfs *open_common(const char *path, int writable, int create, ErrorInfo *err)
{
    size_t plen = strlen(path);
    Vfs *v = calloc(1, sizeof *v + plen + 1);
    if (!v) {
        error_set(err, DUMP_NOMEM, "open %s: out of memory", path);
        return NULL;
    }
    memcpy(v->path, path, plen + 1);
    v->writable = writable != 0;

    int flags = (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC;
    int fd = xopen(path, flags);
    if (fd < 0 && errno == ENOENT && create) {
        fd = xopen(path, flags | O_CREAT | O_EXCL);
        if (fd < 0 && errno == EEXIST) fd = xopen(path, flags | O_CREAT);
        v->sync_dir = fd >= 0;
    }
    if (fd < 0) {
        int notfound = errno == ENOENT && !create;
        error_sys(err, "open %s", path);
        if (notfound) err->code = DUMP_NOTFOUND;
        goto fail;
    }
    v->fd = fd;

    struct stat st;
    if (fstat(fd, &st) != 0) {
        error_sys(err, "open %s", path);
        goto fail_fd;
    }
    if (!S_ISREG(st.st_mode)) {   /* O_RDONLY opens a directory happily */
        errno = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
        error_sys(err, "open %s: not a regular file", path);
        goto fail_fd;
    }
    return v;

fail_fd:
    close(fd);
fail:
    free(v);
    return NULL;
}

Vfs *vfs_open(const char *path, int writable, int create, ErrorInfo *err)
{
    return open_common(path, writable, create, err);
}

Vfs *vfs_open_faulty(const char *path, int writable, int create,
                     uint64_t crash_at, int mode, uint64_t seed, ErrorInfo *err)
{
    if (mode < VFS_CRASH_KEEP || mode > VFS_CRASH_RANDOM) {
        error_set(err, DUMP_INVALID, "open %s: unknown crash mode %d", path, mode);
        return NULL;
    }
    Vfs *v = open_common(path, writable, create, err);
    if (!v) return NULL;
    v->faulty = 1;
    v->crash_at = crash_at;
    v->mode = mode;
    v->rng = seed;
    return v;
}

/* ---- the pending-write list and the crash ---- */

static uint64_t rng_next(Vfs *v)   /* splitmix64: any seed, including 0, is fine */
{
    uint64_t z = (v->rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void pend_clear(Vfs *v)
{
    for (size_t i = 0; i < v->npend; i++) free(v->pend[i].data);
    v->npend = 0;
    v->pend_end = 0;
}

/* Write every pending write to the disk in issue order, then forget them.
 * On failure the list is kept: nothing the caller wrote is lost. */
static int pend_flush(Vfs *v, ErrorInfo *err)
{
    for (size_t i = 0; i < v->npend; i++) {
        int rc = raw_write(v, v->pend[i].off, v->pend[i].data, v->pend[i].len, err);
        if (rc) return rc;
    }
    pend_clear(v);
    return DUMP_OK;
}

/* Bytes of p that survive a torn write: the first k of the disk sectors it
 * touches (sectors aligned to absolute file offsets), k uniform in [0, n]. */
static size_t torn_prefix(Vfs *v, const Pending *p)
{
    if (p->len == 0) return 0;
    uint64_t first = p->off / SECTOR, last = (p->off + p->len - 1) / SECTOR;
    uint64_t nsec = last - first + 1;
    uint64_t k = rng_next(v) % (nsec + 1);
    if (k == 0) return 0;
    if (k == nsec) return p->len;
    return (size_t)((first + k) * SECTOR - p->off);
}

/* The machine dies: choose what of `pend` reaches the disk, write it with no
 * sync (the real machine survives), and refuse everything from now on. */
static int crash(Vfs *v, ErrorInfo *err)
{
    int rc = DUMP_OK, lost = 0;
    for (size_t i = 0; i < v->npend && rc == DUMP_OK; i++) {
        const Pending *p = &v->pend[i];
        size_t keep = 0;
        switch (v->mode) {
        case VFS_CRASH_KEEP:
            keep = p->len;
            break;
        case VFS_CRASH_DROP:
            break;
        case VFS_CRASH_TORN:
            if (!lost && rng_next(v) % 4 == 0) lost = 1;   /* this and all later */
            if (!lost) keep = torn_prefix(v, p);
            break;
        default: /* VFS_CRASH_RANDOM */
            switch (rng_next(v) % 3) {
            case 0: keep = p->len; break;
            case 1: break;
            default: keep = torn_prefix(v, p); break;
            }
        }
        if (keep) rc = raw_write(v, p->off, p->data, keep, err);
    }
    pend_clear(v);
    v->crashed = 1;
    if (rc) {
        size_t n = strlen(err->msg);
        snprintf(err->msg + n, sizeof err->msg - n, " (writing the image of the crash at operation %llu)",
                 (ull)v->ops);
        return rc;
    }
    return error_set(err, DUMP_IOERR, "simulated crash at operation %llu", (ull)v->ops);
}

/* Count one operation; DUMP_OK if it may proceed, else the crash's code. */
static int tick(Vfs *v, ErrorInfo *err)
{
    v->ops++;
    return v->crash_at != 0 && v->ops == v->crash_at ? crash(v, err) : DUMP_OK;
}

static int crashed_fail(ErrorInfo *err)
{
    return error_set(err, DUMP_IOERR, "simulated crash");
}

static int readonly_fail(const Vfs *v, const char *what, ErrorInfo *err)
{
    errno = EBADF;
    return error_sys(err, "%s %s: opened read-only", what, v->path);
}

/* ---- public operations ---- */

void vfs_close(Vfs *v)
{
    if (!v) return;
    /* Closing is not a crash: unsynced writes stay in the OS cache, so they
     * reach the file (unsynced), as they would for a real process. */
    if (v->faulty && !v->crashed) {
        ErrorInfo ignored;
        pend_flush(v, &ignored);
    }
    pend_clear(v);
    free(v->pend);
    close(v->fd);
    free(v);
}

int vfs_read(Vfs *v, uint64_t off, void *buf, size_t n, size_t *got, ErrorInfo *err)
{
    *got = 0;
    if (v->crashed) return crashed_fail(err);
    int rc = range_check(v, "read", off, n, err);
    if (rc == DUMP_OK) rc = raw_read(v, off, buf, n, got, err);
    if (rc || !v->faulty || v->npend == 0) return rc;

    /* The simulated file ends at max(disk end, pending end); the gap between
     * the disk's end and a pending write beyond it reads as zeros. */
    uint8_t *b = buf;
    size_t avail = *got;
    if (v->pend_end > off) {
        uint64_t want = v->pend_end - off;
        if (want > n) want = n;
        if (want > avail) {
            memset(b + avail, 0, (size_t)want - avail);
            avail = (size_t)want;
        }
    }
    for (size_t i = 0; i < v->npend; i++) {   /* in issue order: later wins */
        const Pending *p = &v->pend[i];
        uint64_t lo = p->off > off ? p->off : off;
        uint64_t hi = p->off + p->len < off + avail ? p->off + p->len : off + avail;
        if (lo < hi) memcpy(b + (lo - off), p->data + (lo - p->off), (size_t)(hi - lo));
    }
    *got = avail;
    return DUMP_OK;
}

int vfs_write(Vfs *v, uint64_t off, const void *buf, size_t n, ErrorInfo *err)
{
    if (v->crashed) return crashed_fail(err);
    if (!v->writable) return readonly_fail(v, "write", err);
    int rc = range_check(v, "write", off, n, err);
    if (rc) return rc;
    if (!v->faulty) return raw_write(v, off, buf, n, err);

    /* Allocate before counting so that running out of memory is not an
     * operation and a crash never leaves a half-recorded write. */
    if (v->npend == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 16;
        Pending *np = realloc(v->pend, cap * sizeof *np);
        if (!np) return error_set(err, DUMP_NOMEM, "write %s: out of memory", v->path);
        v->pend = np;
        v->cap = cap;
    }
    uint8_t *copy = malloc(n ? n : 1);
    if (!copy) return error_set(err, DUMP_NOMEM, "write %s: out of memory", v->path);
    if (n) memcpy(copy, buf, n);
    rc = tick(v, err);
    if (rc) {
        free(copy);
        return rc;
    }
    v->pend[v->npend++] = (Pending){ off, n, copy };
    if (n && off + n > v->pend_end) v->pend_end = off + n;
    return DUMP_OK;
}

int vfs_sync(Vfs *v, ErrorInfo *err)
{
    if (v->crashed) return crashed_fail(err);
    if (v->faulty) {
        int rc = tick(v, err);
        if (rc == DUMP_OK) rc = pend_flush(v, err);
        if (rc) return rc;
    }
    return raw_sync(v, err);
}

/* On the faulty Vfs a truncate is a barrier: pending writes reach the disk
 * first, so the pending list never has to be clipped. */
int vfs_truncate(Vfs *v, uint64_t size, ErrorInfo *err)
{
    if (v->crashed) return crashed_fail(err);
    if (!v->writable) return readonly_fail(v, "truncate", err);
    if (v->faulty) {
        int rc = tick(v, err);
        if (rc == DUMP_OK) rc = pend_flush(v, err);
        if (rc) return rc;
    }
    return raw_truncate(v, size, err);
}

int vfs_size(Vfs *v, uint64_t *size, ErrorInfo *err)
{
    if (v->crashed) return crashed_fail(err);
    int rc = raw_size(v, size, err);
    if (rc == DUMP_OK && v->faulty && v->pend_end > *size) *size = v->pend_end;
    return rc;
}

int vfs_fd(const Vfs *v)
{
    return v->fd;
}

uint64_t vfs_ops(const Vfs *v)
{
    return v->ops;
}

int vfs_crashed(const Vfs *v)
{
    return v->crashed;
}
