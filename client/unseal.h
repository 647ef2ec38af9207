/* The way back from stored bytes to the backup: the first
 * CF_ENVELOPE_MAGIC_LEN bytes decide whether they are an encrypted envelope
 * (client/envelope.h). An envelope is opened with the secret; plain bytes,
 * and an envelope when no secret is given and the mode allows it, pass
 * through unchanged. Pushed like a sink; the result goes to the next sink. */
#ifndef COFFER_CLIENT_UNSEAL_H
#define COFFER_CLIENT_UNSEAL_H

#include "client/secret.h"
#include "common/error.h"
#include "common/zstream.h"

#include <stdbool.h>
#include <stddef.h>

enum cf_unseal_mode {
    CF_UNSEAL_AUTO,    /* open an envelope when there is a secret; pass everything else */
    CF_UNSEAL_REQUIRE, /* the bytes must be an envelope, and a secret must be given */
};

struct cf_unseal;

/* secret may be NULL (then kept as a pointer: it must outlive the unseal).
 * Caller frees with cf_unseal_free. */
cf_code cf_unseal_new(const struct cf_secret *secret, enum cf_unseal_mode mode, cf_zsink_fn sink,
                      void *sink_ctx, struct cf_unseal **out, struct cf_error *err);
/* A cf_zsink_fn too (ctx is the unseal). Decryption failures are
 * CF_E_CHECKSUM_MISMATCH; CF_E_VALIDATION when REQUIRE is not met. */
cf_code cf_unseal_push(struct cf_unseal *u, const void *data, size_t len, struct cf_error *err);
cf_code cf_unseal_sink(void *ctx, const void *data, size_t len, struct cf_error *err);
/* The end of the bytes: a truncated envelope is CF_E_CHECKSUM_MISMATCH. */
cf_code cf_unseal_finish(struct cf_unseal *u, struct cf_error *err);
/* Pushes what fd holds from its current offset to its end through u, then
 * finishes u (cf_unseal_finish): returns once the whole of it has gone to
 * the next sink. A read error is CF_E_IO, "cannot read WHAT: <reason>" (what
 * NULL: "cannot read: <reason>"). fd stays open, at its end. */
cf_code cf_unseal_fd(struct cf_unseal *u, int fd, const char *what, struct cf_error *err);
/* Starts over for a new stream (a retried download). */
cf_code cf_unseal_reset(struct cf_unseal *u, struct cf_error *err);
/* After the first bytes: whether they were an envelope, and whether it is being opened. */
bool cf_unseal_is_envelope(const struct cf_unseal *u);
bool cf_unseal_decrypts(const struct cf_unseal *u);
void cf_unseal_free(struct cf_unseal *u);

#endif
