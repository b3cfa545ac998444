/*
 * status.h -- the closed set of status codes and the per-handle error record.
 *
 * Leaf layer: includes only the C library. Every fallible function in the
 * core returns one of these codes; the message and any errno live in an
 * ErrorInfo owned by the handle. Codes are part of the public ABI: the values
 * are mirrored in incrdump.h and must never be renumbered.
 */
#ifndef INCRDUMP_STATUS_H
#define INCRDUMP_STATUS_H

#include <stdarg.h>
#include <stddef.h>

#define DUMP_OK        0  /* success */
#define DUMP_NOTFOUND  1  /* no such key / page / revision */
#define DUMP_CORRUPT   2  /* the file fails a structural or checksum test */
#define DUMP_IOERR     3  /* the operating system refused a read/write/sync */
#define DUMP_VERSION   4  /* the file's format version is not supported */
#define DUMP_BUSY      5  /* another writer holds the dump */
#define DUMP_INVALID   6  /* a bad argument (key too long, wrong key type...) */
#define DUMP_NOMEM     7  /* out of memory */
#define DUMP_MISUSE    8  /* call out of sequence (no transaction, closed...) */
#define DUMP_READONLY  9  /* write attempted on a handle opened read-only */
#define DUMP_EXISTS   10  /* insert-only put found the key already present */
#define DUMP_NCODES   11

/* Error record kept by every handle. */
typedef struct ErrorInfo {
    int code;          /* last status code */
    int sys_errno;     /* errno captured with DUMP_IOERR, else 0 */
    char msg[512];     /* human-readable, always NUL-terminated */
} ErrorInfo;

/* Record `code` with a printf-style message in `e`; returns `code`. */
int error_set(ErrorInfo *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int error_setv(ErrorInfo *e, int code, const char *fmt, va_list ap);
/* Like error_set, capturing errno and appending strerror(errno). */
int error_sys(ErrorInfo *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void error_clear(ErrorInfo *e);
/* Static name of a status code ("DUMP_CORRUPT"); "DUMP_?" if unknown. */
const char *status_name(int code);

#endif
