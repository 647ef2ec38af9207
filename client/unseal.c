#include "client/unseal.h"

#include "client/envelope.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* What cf_unseal_fd reads at a time. */
#define UNSEAL_FD_BLOCK (256 * 1024)

struct cf_unseal {
    const struct cf_secret *secret;
    enum cf_unseal_mode mode;
    cf_zsink_fn sink;
    void *sink_ctx;
    unsigned char head[CF_ENVELOPE_MAGIC_LEN]; /* bytes held until the kind is known */
    size_t head_len;
    bool decided, envelope;
    struct cf_open *open; /* when decrypting */
};

cf_code cf_unseal_new(const struct cf_secret *secret, enum cf_unseal_mode mode, cf_zsink_fn sink,
                      void *sink_ctx, struct cf_unseal **out, struct cf_error *err)
{
    struct cf_unseal *u;

    *out = NULL;
    if (mode == CF_UNSEAL_REQUIRE && secret == NULL)
        return cf_fail(err, CF_E_VALIDATION, "decrypting needs a key file or a passphrase file");
    u = calloc(1, sizeof(*u));
    if (u == NULL)
        return cf_fail(err, CF_E_NOMEM, "out of memory");
    u->secret = secret;
    u->mode = mode;
    u->sink = sink;
    u->sink_ctx = sink_ctx;
    *out = u;
    return CF_OK;
}

/* The first bytes are in (or the stream ended): choose, then pass on what was held. */
static cf_code decide(struct cf_unseal *u, struct cf_error *err)
{
    cf_code code = CF_OK;

    u->decided = true;
    u->envelope = u->head_len == CF_ENVELOPE_MAGIC_LEN && cf_envelope_detect(u->head, u->head_len);
    if (!u->envelope && u->mode == CF_UNSEAL_REQUIRE)
        return cf_fail(err, CF_E_VALIDATION, "this is not an encrypted coffer backup (no envelope header)");
    if (u->envelope && u->secret != NULL)
        code = cf_open_new(u->secret, u->sink, u->sink_ctx, &u->open, err);
    if (code != CF_OK || u->head_len == 0)
        return code;
    if (u->open != NULL)
        return cf_open_push(u->open, u->head, u->head_len, err);
    return u->sink(u->sink_ctx, u->head, u->head_len, err);
}

cf_code cf_unseal_push(struct cf_unseal *u, const void *data, size_t len, struct cf_error *err)
{
    const unsigned char *p = data;
    cf_code code;

    if (!u->decided) {
        size_t take = CF_ENVELOPE_MAGIC_LEN - u->head_len;
        if (take > len)
            take = len;
        memcpy(u->head + u->head_len, p, take);
        u->head_len += take;
        p += take;
        len -= take;
        if (u->head_len < CF_ENVELOPE_MAGIC_LEN)
            return CF_OK;
        code = decide(u, err);
        if (code != CF_OK)
            return code;
    }
    if (len == 0)
        return CF_OK;
    if (u->open != NULL)
        return cf_open_push(u->open, p, len, err);
    return u->sink(u->sink_ctx, p, len, err);
}

cf_code cf_unseal_sink(void *ctx, const void *data, size_t len, struct cf_error *err)
{
    return cf_unseal_push(ctx, data, len, err);
}

cf_code cf_unseal_finish(struct cf_unseal *u, struct cf_error *err)
{
    cf_code code = CF_OK;

    if (!u->decided)
        code = decide(u, err);
    if (code == CF_OK && u->open != NULL)
        code = cf_open_finish(u->open, err);
    return code;
}

cf_code cf_unseal_fd(struct cf_unseal *u, int fd, const char *what, struct cf_error *err)
{
    char *block = malloc(UNSEAL_FD_BLOCK);
    cf_code code = CF_OK;

    if (block == NULL)
        return cf_fail(err, CF_E_NOMEM, "out of memory");
    while (code == CF_OK) {
        ssize_t got = read(fd, block, UNSEAL_FD_BLOCK);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0 && what != NULL) {
            code = cf_fail(err, CF_E_IO, "cannot read %s: %s", what, strerror(errno));
        } else if (got < 0) {
            code = cf_fail(err, CF_E_IO, "cannot read: %s", strerror(errno));
        } else if (got == 0) {
            code = cf_unseal_finish(u, err);
            break;
        } else {
            code = cf_unseal_push(u, block, (size_t)got, err);
        }
    }
    free(block);
    return code;
}

cf_code cf_unseal_reset(struct cf_unseal *u, struct cf_error *err)
{
    (void)err;
    cf_open_free(u->open);
    u->open = NULL;
    u->head_len = 0;
    u->decided = false;
    u->envelope = false;
    return CF_OK;
}

bool cf_unseal_is_envelope(const struct cf_unseal *u)
{
    return u->envelope;
}

bool cf_unseal_decrypts(const struct cf_unseal *u)
{
    return u->open != NULL;
}

void cf_unseal_free(struct cf_unseal *u)
{
    if (u == NULL)
        return;
    cf_open_free(u->open);
    free(u);
}
