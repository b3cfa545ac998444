/*
 * status.c -- error records and status-code names.
 *
 * Leaf layer. Messages are truncated, never overflowed.
 */
#include "status.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int error_setv(ErrorInfo *e, int code, const char *fmt, va_list ap)
{
    e->code = code;
    e->sys_errno = 0;
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    return code;
}

int error_set(ErrorInfo *e, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    error_setv(e, code, fmt, ap);
    va_end(ap);
    return code;
}

int error_sys(ErrorInfo *e, const char *fmt, ...)
{
    int saved = errno;
    va_list ap;
    va_start(ap, fmt);
    error_setv(e, DUMP_IOERR, fmt, ap);
    va_end(ap);
    size_t n = strlen(e->msg);
    snprintf(e->msg + n, sizeof e->msg - n, ": %s", strerror(saved));
    e->sys_errno = saved;
    return DUMP_IOERR;
}

void error_clear(ErrorInfo *e)
{
    e->code = DUMP_OK;
    e->sys_errno = 0;
    e->msg[0] = '\0';
}

const char *status_name(int code)
{
    static const char *const names[DUMP_NCODES] = {
        "DUMP_OK", "DUMP_NOTFOUND", "DUMP_CORRUPT", "DUMP_IOERR",
        "DUMP_VERSION", "DUMP_BUSY", "DUMP_INVALID", "DUMP_NOMEM",
        "DUMP_MISUSE", "DUMP_READONLY", "DUMP_EXISTS",
    };
    return code >= 0 && code < DUMP_NCODES ? names[code] : "DUMP_?";
}
