#include "client/source.h"

#include "client/envelope.h"
#include "client/exit_codes.h"
#include "client/interrupt.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define READ_BLOCK (256 * 1024)
/* Sealed output of one READ_BLOCK is a little over READ_BLOCK; this bounds it with room to spare. */
#define PENDING_MAX (8 * 1024 * 1024)

struct cf_source {
    int fd;
    struct cf_child child;
    bool has_child;
    struct cf_seal *seal;  /* NULL: plain */
    struct cf_buf pending; /* sealed bytes not handed out yet */
    size_t pending_off;
    bool done; /* the input ended well (and the seal is finished) */
    uint64_t consumed;
    unsigned char *block;
};

static cf_code pending_sink(void *ctx, const void *data, size_t len, struct cf_error *err)
{
    struct cf_source *src = ctx;

    if (cf_buf_append(&src->pending, data, len) != CF_OK)
        return cf_fail(err, CF_E_NOMEM, "sealed output larger than %d bytes at once", PENDING_MAX);
    return CF_OK;
}

cf_code cf_source_new(int fd, const struct cf_child *child, const struct cf_secret *secret, int zstd_level,
                      struct cf_source **out, struct cf_error *err)
{
    struct cf_source *src = calloc(1, sizeof(*src));
    cf_code code = CF_OK;

    *out = NULL;
    if (src == NULL) {
        if (fd >= 0)
            close(fd);
        return cf_fail(err, CF_E_NOMEM, "out of memory");
    }
    src->fd = fd;
    src->child.pid = -1;
    src->child.fd = -1;
    if (child != NULL) {
        src->child = *child;
        src->has_child = true;
        src->fd = child->fd;
    }
    cf_buf_init(&src->pending, PENDING_MAX);
    src->block = malloc(READ_BLOCK);
    if (src->block == NULL)
        code = cf_fail(err, CF_E_NOMEM, "out of memory");
    if (code == CF_OK && secret != NULL)
        code = cf_seal_new(secret, zstd_level, pending_sink, src, &src->seal, err);
    if (code != CF_OK) {
        cf_source_free(src);
        return code;
    }
    *out = src;
    return CF_OK;
}

/* One read of the input: bytes, 0 at its end, -1 on failure. */
static ssize_t read_input(struct cf_source *src, void *buf, size_t cap, struct cf_error *err)
{
    for (;;) {
        ssize_t got = read(src->fd, buf, cap);
        if (got >= 0) {
            src->consumed += (uint64_t)got;
            return got;
        }
        if (errno == EINTR && !cf_interrupted())
            continue;
        if (errno == EINTR) {
            cf_fail(err, CF_E_IO, "interrupted by a signal");
            return -1;
        }
        cf_fail(err, CF_E_IO, "cannot read the backup's data: %s", strerror(errno));
        return -1;
    }
}

/* The input ended: it is a good end only if the command, if any, says so. */
static cf_code input_ended(struct cf_source *src, struct cf_error *err)
{
    cf_code code = CF_OK;

    if (src->has_child) {
        code = cf_run_finish(&src->child, err);
        src->fd = -1; /* closed by cf_run_finish */
    }
    if (code == CF_OK && src->seal != NULL)
        code = cf_seal_finish(src->seal, err);
    if (code == CF_OK)
        src->done = true;
    return code;
}

ssize_t cf_source_read(struct cf_source *src, void *buf, size_t cap, struct cf_error *err)
{
    size_t avail;

    if (src->seal == NULL) {
        ssize_t got;
        if (src->done)
            return 0;
        got = read_input(src, buf, cap, err);
        if (got == 0 && input_ended(src, err) != CF_OK)
            return -1;
        return got;
    }
    /* Sealed: feed the seal until it has produced something, or the end. */
    while (src->pending.len == src->pending_off && !src->done) {
        ssize_t got;

        cf_buf_reset(&src->pending);
        src->pending_off = 0;
        got = read_input(src, src->block, READ_BLOCK, err);
        if (got < 0)
            return -1;
        if (got == 0) {
            if (input_ended(src, err) != CF_OK)
                return -1;
        } else if (cf_seal_push(src->seal, src->block, (size_t)got, err) != CF_OK) {
            return -1;
        }
    }
    avail = src->pending.len - src->pending_off;
    if (avail > cap)
        avail = cap;
    if (avail > 0)
        memcpy(buf, src->pending.data + src->pending_off, avail);
    src->pending_off += avail;
    return (ssize_t)avail;
}

uint64_t cf_source_consumed(const struct cf_source *src)
{
    return src->consumed;
}

void cf_source_free(struct cf_source *src)
{
    if (src == NULL)
        return;
    if (src->has_child)
        cf_run_stop(&src->child); /* closes the pipe, which is src->fd */
    else if (src->fd >= 0)
        close(src->fd);
    cf_seal_free(src->seal);
    cf_buf_dispose(&src->pending);
    free(src->block);
    free(src);
}
