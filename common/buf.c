#include "common/buf.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The first allocation; small bodies then need a single malloc. */
#define BUF_MIN_CAP 256

void cf_buf_init(struct cf_buf *buf, size_t max)
{
    buf->data = NULL;
    buf->len = 0;
    buf->cap = 0;
    buf->max = max;
}

void cf_buf_dispose(struct cf_buf *buf)
{
    if (buf == NULL)
        return;
    free(buf->data);
    cf_buf_init(buf, buf->max);
}

void cf_buf_reset(struct cf_buf *buf)
{
    buf->len = 0;
    if (buf->data != NULL)
        buf->data[0] = '\0';
}

/* Makes room for extra more bytes plus the NUL, or fails leaving buf as it was.
 * cap counts the NUL, so it never needs to pass max + 1. */
static cf_code buf_reserve(struct cf_buf *buf, size_t extra)
{
    size_t need;
    size_t cap;
    char *data;

    if (extra > buf->max - buf->len)
        return CF_E_BODY_TOO_LARGE;
    need = buf->len + extra + 1;
    if (need <= buf->cap)
        return CF_OK;
    cap = buf->cap < BUF_MIN_CAP ? BUF_MIN_CAP : buf->cap;
    while (cap < need && cap <= SIZE_MAX / 2)
        cap *= 2;
    if (cap < need)
        cap = need;
    if (buf->max < SIZE_MAX && cap > buf->max + 1)
        cap = buf->max + 1;
    data = realloc(buf->data, cap);
    if (data == NULL)
        return CF_E_NOMEM;
    buf->data = data;
    buf->cap = cap;
    return CF_OK;
}

cf_code cf_buf_append(struct cf_buf *buf, const void *data, size_t len)
{
    cf_code rc = buf_reserve(buf, len);

    if (rc != CF_OK)
        return rc;
    if (len > 0)
        memcpy(buf->data + buf->len, data, len);
    buf->len += len;
    buf->data[buf->len] = '\0';
    return CF_OK;
}

cf_code cf_buf_printf(struct cf_buf *buf, const char *fmt, ...)
{
    va_list ap;
    va_list again;
    int needed;
    cf_code rc;

    /* Measure first, so that a refused printf leaves the buffer untouched. */
    va_start(ap, fmt);
    va_copy(again, ap);
    needed = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (needed < 0) {
        rc = CF_E_INTERNAL;
        goto out;
    }
    rc = buf_reserve(buf, (size_t)needed);
    if (rc != CF_OK)
        goto out;
    vsnprintf(buf->data + buf->len, (size_t)needed + 1, fmt, again);
    buf->len += (size_t)needed;
out:
    va_end(again);
    return rc;
}
