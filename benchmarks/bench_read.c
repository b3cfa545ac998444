/*
 * bench_read.c -- timing of the public dump API from C, for bench_dump.py.
 *
 * Layer: a benchmark program over csrc/incrdump.h only (bench_dump.py
 * compiles it with every C source of csrc/, -O2). It opens a dump read-only
 * and prints one JSON object on stdout; the Python script computes the
 * percentiles and the ratios. It measures; it never judges time.
 *
 *   bench_read scan  DUMP           every page by id, every revision, its
 *                                   main-slot text: counts, bytes, wall/CPU
 *   bench_read warm  DUMP IDS WARM  one handle: the revisions of WARM read
 *                                   untimed, then each of IDS timed
 *   bench_read cold  DUMP IDS       per id a new handle (dump_open timed
 *                                   apart), then its first read timed
 *   bench_read evict DUMP IDS       as cold, after dropping the dump file's
 *                                   blocks from the OS page cache
 *                                   (posix_fadvise DONTNEED; residency
 *                                   checked with mincore)
 *   bench_read run OUT PROG ARG...  run PROG (stdin/stdout inherited) and
 *                                   write its wall clock, CPU time and peak
 *                                   RSS as JSON to the file OUT; exit with
 *                                   its status
 *
 * An ids file holds lines "REV_ID DECLARED_BYTES ..." (-1: unknown; the
 * rest of the line is for the Python side and ignored here). A timed
 * read is dump_get_revision_by_id + revision_get_text(slot 0); the CRC-32
 * of the texts (in file order) is computed outside the timed window so the
 * caller can compare it with what Python read (and checked by sha1).
 *
 * Built with -DBENCH_READ_RUN_ONLY it is the "run" launcher alone and
 * needs nothing from csrc/ (bench_xml.py times command-line tools only).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

static int64_t now_ns(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

#ifndef BENCH_READ_RUN_ONLY
#include "incrdump.h"

typedef struct Ids {
    int64_t *id;
    int64_t *bytes;
    size_t n;
} Ids;

static void die(const char *what, Dump *d, int rc)
{
    fprintf(stderr, "bench_read: %s: %s (%s)\n", what, d ? dump_errmsg(d) : "",
            dump_status_name(rc));
    exit(1);
}

static Ids read_ids(const char *path)
{
    Ids ids = {0};
    size_t cap = 0;
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "bench_read: %s: %s\n", path, strerror(errno));
        exit(1);
    }
    int64_t id, bytes;
    while (fscanf(f, "%" SCNd64 " %" SCNd64 "%*[^\n]", &id, &bytes) == 2) {
        if (ids.n == cap) {
            cap = cap ? 2 * cap : 1024;
            ids.id = realloc(ids.id, cap * sizeof *ids.id);
            ids.bytes = realloc(ids.bytes, cap * sizeof *ids.bytes);
            if (!ids.id || !ids.bytes) {
                fprintf(stderr, "bench_read: out of memory\n");
                exit(1);
            }
        }
        ids.id[ids.n] = id;
        ids.bytes[ids.n] = bytes;
        ids.n++;
    }
    fclose(f);
    return ids;
}

static Dump *open_dump(const char *path)
{
    Dump *d = NULL;
    int rc = dump_open(path, 0, NULL, &d);
    if (rc != DUMP_OK)
        die(path, d, rc);
    return d;
}

/* Texts whose length differs from the size the XML declared. Not fatal:
 * MediaWiki's bytes= (rev_len) is sometimes off by a few bytes where the
 * sha1 matches; the caller checks the texts by CRC against Python's reads,
 * which are checked against the sha1. */
static uint64_t size_mismatches;

/* One timed read of revision ids->id[i]; returns its latency in ns (wall
 * clock), sets *cpu to the thread CPU time it took (read around the wall
 * clock readings), and folds its text into *crc (untimed). */
static int64_t timed_read(Dump *d, const Ids *ids, size_t i, uLong *crc, uint64_t *total,
                          int64_t *cpu)
{
    Revision *r = NULL;
    const uint8_t *text = NULL;
    size_t len = 0;
    int64_t c0 = now_ns(CLOCK_THREAD_CPUTIME_ID);
    int64_t t0 = now_ns(CLOCK_MONOTONIC);
    int rc = dump_get_revision_by_id(d, ids->id[i], &r);
    if (rc == DUMP_OK)
        rc = revision_get_text(r, 0, &text, &len);
    int64_t t1 = now_ns(CLOCK_MONOTONIC);
    *cpu = now_ns(CLOCK_THREAD_CPUTIME_ID) - c0;
    if (rc == DUMP_NOTFOUND && r && ids->bytes[i] == 0)
        rc = DUMP_OK, len = 0;           /* an empty text may be stored as none */
    if (rc != DUMP_OK) {
        char what[64];
        snprintf(what, sizeof what, "revision %" PRId64, ids->id[i]);
        die(what, d, rc);
    }
    if (ids->bytes[i] >= 0 && (uint64_t)ids->bytes[i] != len)
        size_mismatches++;
    if (len)                             /* crc32(.., Z_NULL, 0) would restart it */
        *crc = crc32(*crc, text, (uInt)len);
    *total += len;
    revision_free(r);
    return t1 - t0;
}

static void print_array(const char *name, const int64_t *v, size_t n)
{
    printf("\"%s\": [", name);
    for (size_t i = 0; i < n; i++)
        printf(i ? ",%" PRId64 : "%" PRId64, v[i]);
    printf("]");
}

static int run_scan(const char *path)
{
    Dump *d = open_dump(path);
    uint64_t pages = 0, revs = 0, texts = 0, bytes = 0;
    int64_t w0 = now_ns(CLOCK_MONOTONIC), c0 = now_ns(CLOCK_PROCESS_CPUTIME_ID);
    PageCursor *pc = NULL;
    int rc = dump_pages(d, DUMP_PAGES_BY_ID, 0, 0, &pc);
    if (rc != DUMP_OK)
        die("dump_pages", d, rc);
    const PageInfo *pi;
    while ((rc = page_cursor_next(pc, &pi)) == DUMP_OK) {
        int64_t page_id = pi->id;
        RevisionCursor *rcur = NULL;
        pages++;
        rc = dump_revisions(d, page_id, &rcur);
        if (rc != DUMP_OK)
            die("dump_revisions", d, rc);
        const RevisionInfo *ri;
        while ((rc = revision_cursor_next(rcur, &ri)) == DUMP_OK) {
            const uint8_t *text;
            size_t len;
            revs++;
            rc = revision_cursor_text(rcur, 0, &text, &len);
            if (rc == DUMP_OK) {
                texts++;
                bytes += len;
            } else if (rc != DUMP_NOTFOUND) {
                die("revision_cursor_text", d, rc);
            }
        }
        if (rc != DUMP_NOTFOUND)
            die("revision_cursor_next", d, rc);
        revision_cursor_close(rcur);
    }
    if (rc != DUMP_NOTFOUND)
        die("page_cursor_next", d, rc);
    page_cursor_close(pc);
    int64_t wall = now_ns(CLOCK_MONOTONIC) - w0, cpu = now_ns(CLOCK_PROCESS_CPUTIME_ID) - c0;
    dump_close(d);
    printf("{\"mode\": \"scan\", \"pages\": %" PRIu64 ", \"revisions\": %" PRIu64
           ", \"texts\": %" PRIu64 ", \"text_bytes\": %" PRIu64 ", \"wall_ns\": %" PRId64
           ", \"cpu_ns\": %" PRId64 "}\n", pages, revs, texts, bytes, wall, cpu);
    return 0;
}

static int run_warm(const char *path, const char *ids_path, const char *warm_path)
{
    Ids ids = read_ids(ids_path), warm = read_ids(warm_path);
    int64_t *lat = calloc(ids.n ? ids.n : 1, sizeof *lat);
    int64_t *cpu = calloc(ids.n ? ids.n : 1, sizeof *cpu), unused;
    uLong crc = crc32(0, Z_NULL, 0), warm_crc = crc;
    uint64_t total = 0, warm_total = 0;
    Dump *d = open_dump(path);
    for (size_t i = 0; i < warm.n; i++)
        timed_read(d, &warm, i, &warm_crc, &warm_total, &unused);
    for (size_t i = 0; i < ids.n; i++)
        lat[i] = timed_read(d, &ids, i, &crc, &total, &cpu[i]);
    dump_close(d);
    printf("{\"mode\": \"warm\", \"warmup\": %zu, ", warm.n);
    print_array("lat_ns", lat, ids.n);
    printf(", ");
    print_array("cpu_ns", cpu, ids.n);
    printf(", \"crc\": %lu, \"bytes\": %" PRIu64 ", \"size_mismatches\": %" PRIu64 "}\n",
           crc, total, size_mismatches);
    return 0;
}

/* Pages of the file resident in the OS page cache (mincore). */
static size_t resident_pages(int fd, size_t size, size_t *of)
{
    long ps = sysconf(_SC_PAGESIZE);
    size_t n = (size + (size_t)ps - 1) / (size_t)ps, count = 0;
    *of = n;
    if (!size)
        return 0;
    void *map = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
    unsigned char *vec = malloc(n);
    if (map == MAP_FAILED || !vec || mincore(map, size, vec) != 0) {
        fprintf(stderr, "bench_read: mincore: %s\n", strerror(errno));
        exit(1);
    }
    for (size_t i = 0; i < n; i++)
        count += vec[i] & 1;
    free(vec);
    munmap(map, size);
    return count;
}

static int run_cold(const char *path, const char *ids_path, int evict)
{
    Ids ids = read_ids(ids_path);
    size_t n = ids.n ? ids.n : 1;
    int64_t *lat = calloc(n, sizeof *lat), *open_ns = calloc(n, sizeof *open_ns);
    int64_t *cpu = calloc(n, sizeof *cpu);
    uLong crc = crc32(0, Z_NULL, 0);
    uint64_t total = 0, resident = 0, blocks = 0;
    int fd = open(path, O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        fprintf(stderr, "bench_read: %s: %s\n", path, strerror(errno));
        return 1;
    }
    for (size_t i = 0; i < ids.n; i++) {
        if (evict) {
            size_t of;
            if (posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) != 0) {
                fprintf(stderr, "bench_read: posix_fadvise failed\n");
                return 1;
            }
            resident += resident_pages(fd, (size_t)st.st_size, &of);
            blocks += of;
        }
        int64_t t0 = now_ns(CLOCK_MONOTONIC);
        Dump *d = open_dump(path);
        open_ns[i] = now_ns(CLOCK_MONOTONIC) - t0;
        lat[i] = timed_read(d, &ids, i, &crc, &total, &cpu[i]);
        dump_close(d);
    }
    close(fd);
    printf("{\"mode\": \"%s\", ", evict ? "evict" : "cold");
    print_array("lat_ns", lat, ids.n);
    printf(", ");
    print_array("cpu_ns", cpu, ids.n);
    printf(", ");
    print_array("open_ns", open_ns, ids.n);
    printf(", \"crc\": %lu, \"bytes\": %" PRIu64 ", \"resident_after_evict\": %" PRIu64
           ", \"file_pages\": %" PRIu64 ", \"size_mismatches\": %" PRIu64 "}\n", crc, total,
           resident, blocks, size_mismatches);
    return 0;
}

#endif /* BENCH_READ_RUN_ONLY */

/* The "run" mode exists for the peak RSS. Linux keeps a process's
 * ru_maxrss across execve() from the memory it had before, so a child
 * that a large Python process starts (vfork + exec) reports at least that
 * process's peak. Forked from this small program, the child's figure is
 * its own (plus this program's few hundred KB). */
static int run_child(const char *out, char **argv)
{
    int64_t t0 = now_ns(CLOCK_MONOTONIC);
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "bench_read: fork: %s\n", strerror(errno));
        return 1;
    }
    if (pid == 0) {
        execvp(argv[0], argv);
        fprintf(stderr, "bench_read: %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    int status;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) < 0) {
        fprintf(stderr, "bench_read: wait4: %s\n", strerror(errno));
        return 1;
    }
    int64_t wall = now_ns(CLOCK_MONOTONIC) - t0;
    int64_t cpu = ((int64_t)ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000 +
                  ((int64_t)ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000;
    FILE *f = fopen(out, "w");
    if (!f || fprintf(f, "{\"wall_ns\": %" PRId64 ", \"cpu_ns\": %" PRId64
                      ", \"maxrss_kb\": %ld}\n", wall, cpu, ru.ru_maxrss) < 0 || fclose(f)) {
        fprintf(stderr, "bench_read: %s: %s\n", out, strerror(errno));
        return 1;
    }
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

int main(int argc, char **argv)
{
    if (argc >= 4 && strcmp(argv[1], "run") == 0)
        return run_child(argv[2], argv + 3);
#ifndef BENCH_READ_RUN_ONLY
    if (argc == 3 && strcmp(argv[1], "scan") == 0)
        return run_scan(argv[2]);
    if (argc == 5 && strcmp(argv[1], "warm") == 0)
        return run_warm(argv[2], argv[3], argv[4]);
    if (argc == 4 && strcmp(argv[1], "cold") == 0)
        return run_cold(argv[2], argv[3], 0);
    if (argc == 4 && strcmp(argv[1], "evict") == 0)
        return run_cold(argv[2], argv[3], 1);
#endif
    fprintf(stderr, "usage: bench_read scan DUMP | warm DUMP IDS WARMUP_IDS | "
                    "cold DUMP IDS | evict DUMP IDS | run OUT PROG [ARG...]\n");
    return 2;
}
