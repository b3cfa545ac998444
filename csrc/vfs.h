/*
 * vfs.h -- the file operations the block file uses, and a fault-injecting twin.
 *
 * Leaf layer (includes status.h, the C library and POSIX only). The block file
 * performs every read, write, sync, truncate and size query through a Vfs so
 * that tests can crash a writer at any write or sync point.
 *
 * Fault model (vfs_open_faulty): writes are held in memory until the next
 * sync, as a disk cache would; reads see them. Each write and each sync is one
 * numbered "operation". When operation number `crash_at` (1-based) is reached,
 * the operation does not happen; instead the simulated machine dies: the real
 * file receives the writes made since the last sync according to `mode`, and
 * every later operation on this Vfs fails with DUMP_IOERR ("simulated crash").
 *   VFS_CRASH_KEEP  all unsynced writes reach the disk
 *   VFS_CRASH_DROP  none do
 *   VFS_CRASH_TORN  each unsynced write keeps only a prefix of its 512-byte
 *                   sectors (length chosen by `seed`), later ones may be lost
 *   VFS_CRASH_RANDOM each unsynced write is kept, dropped or torn at random
 * With crash_at == 0 the faulty Vfs never crashes and only counts operations
 * (used to learn how many crash points a workload has).
 */
#ifndef INCRDUMP_VFS_H
#define INCRDUMP_VFS_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

#define VFS_CRASH_KEEP   0
#define VFS_CRASH_DROP   1
#define VFS_CRASH_TORN   2
#define VFS_CRASH_RANDOM 3

typedef struct Vfs Vfs;

/* Open `path`. writable: O_RDWR, else O_RDONLY. create: O_CREAT (mode 0644).
 * On failure returns NULL with the reason in *err (DUMP_IOERR, or DUMP_NOTFOUND
 * when the file does not exist and create is 0). */
Vfs *vfs_open(const char *path, int writable, int create, ErrorInfo *err);
/* As vfs_open, through the fault-injecting layer described above. */
Vfs *vfs_open_faulty(const char *path, int writable, int create,
                     uint64_t crash_at, int mode, uint64_t seed, ErrorInfo *err);
void vfs_close(Vfs *v);

/* Each returns DUMP_OK or DUMP_IOERR with the reason in *err. */
/* Reads exactly n bytes at off; *got receives the count actually available
 * (short only at end of file). */
int vfs_read(Vfs *v, uint64_t off, void *buf, size_t n, size_t *got, ErrorInfo *err);
int vfs_write(Vfs *v, uint64_t off, const void *buf, size_t n, ErrorInfo *err);
int vfs_sync(Vfs *v, ErrorInfo *err);
int vfs_truncate(Vfs *v, uint64_t size, ErrorInfo *err);
int vfs_size(Vfs *v, uint64_t *size, ErrorInfo *err);

/* The descriptor, for advisory locks (fcntl F_OFD_*). */
int vfs_fd(const Vfs *v);
/* Operations counted so far (faulty Vfs; 0 for the plain one). */
uint64_t vfs_ops(const Vfs *v);
/* 1 once a simulated crash has happened. */
int vfs_crashed(const Vfs *v);

#endif
