/* A growable byte buffer with a hard maximum (after curl's dynbuf).
 *
 * Everything that accumulates bytes from the network goes through one of these,
 * so no peer can make a process allocate more than the bound it was given.
 * The data is always followed by a NUL byte (not counted in len), so a buffer
 * holding text can be read as a C string. */
#ifndef COFFER_COMMON_BUF_H
#define COFFER_COMMON_BUF_H

#include "common/error.h"
#include <stddef.h>

struct cf_buf {
    char *data; /* owned; NULL until the first append */
    size_t len;
    size_t cap;
    size_t max; /* the most bytes len may ever reach */
};

void cf_buf_init(struct cf_buf *buf, size_t max);
void cf_buf_dispose(struct cf_buf *buf);
/* Empties the buffer and keeps its memory. */
void cf_buf_reset(struct cf_buf *buf);
/* CF_E_BODY_TOO_LARGE when the result would pass max (buf unchanged), CF_E_NOMEM. */
cf_code cf_buf_append(struct cf_buf *buf, const void *data, size_t len);
cf_code cf_buf_printf(struct cf_buf *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
