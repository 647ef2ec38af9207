/* The encrypted backup format: what `coffer push` uploads when a backup names a
 * key, and what `coffer pull`, `coffer restore` and `coffer decrypt` read.
 *
 * Plaintext is compressed with zstd, then cut into chunks sealed with
 * libsodium's secretstream (XChaCha20-Poly1305); the server only ever sees the
 * result. The byte layout, versioned, is written down in docs/format.md so that
 * a backup can be opened by hand years later.
 *
 * Both directions push: the caller hands bytes in as they arrive and the
 * envelope hands its output to a sink (cf_zsink_fn from common/zstream.h).
 * Memory stays bounded whatever the stream's length. */
#ifndef COFFER_CLIENT_ENVELOPE_H
#define COFFER_CLIENT_ENVELOPE_H

#include "common/error.h"
#include "common/zstream.h"
#include <stdbool.h>
#include <stddef.h>

#define CF_KEY_LEN 32
/* Passphrases longer than this are refused when read. */
#define CF_PASSPHRASE_MAX 1024

/* What seals or opens a backup: a random key, or a passphrase from which each
 * file derives its key with Argon2id and a salt stored in the file's header. */
struct cf_secret {
    bool is_passphrase;
    unsigned char key[CF_KEY_LEN];       /* when !is_passphrase */
    char passphrase[CF_PASSPHRASE_MAX + 1]; /* when is_passphrase, NUL-terminated */
};

/* Writes a new random key file at path (mode 0600, refusing to overwrite an
 * existing file: CF_E_CONFLICT). CF_E_IO on other failures. */
cf_code cf_secret_generate_key_file(const char *path, struct cf_error *err);
/* Reads a key file written by cf_secret_generate_key_file. A missing,
 * unreadable or malformed file is CF_E_VALIDATION with a message naming the path. */
cf_code cf_secret_load_key_file(const char *path, struct cf_secret *out, struct cf_error *err);
/* Reads a passphrase: the file's first line, without its line ending; an empty
 * one is refused (CF_E_VALIDATION). */
cf_code cf_secret_load_passphrase_file(const char *path, struct cf_secret *out, struct cf_error *err);
/* Wipes the secret (sodium_memzero). */
void cf_secret_wipe(struct cf_secret *secret);

/* Sealing: plaintext in, the encrypted file's bytes out to sink. */
struct cf_seal;

/* The header goes to the sink on the first push or at finish. NULL secret is a
 * bug. CF_E_NOMEM, or CF_E_INTERNAL when libsodium cannot start. */
cf_code cf_seal_new(const struct cf_secret *secret, int zstd_level, cf_zsink_fn sink, void *sink_ctx,
                    struct cf_seal **out, struct cf_error *err);
cf_code cf_seal_push(struct cf_seal *seal, const void *data, size_t len, struct cf_error *err);
/* Writes the last chunk with the final tag. No push after it. */
cf_code cf_seal_finish(struct cf_seal *seal, struct cf_error *err);
/* NULL is a no-op; wipes the key material. */
void cf_seal_free(struct cf_seal *seal);

/* Opening: the encrypted file's bytes in, plaintext out to sink. */
struct cf_open;

cf_code cf_open_new(const struct cf_secret *secret, cf_zsink_fn sink, void *sink_ctx, struct cf_open **out,
                    struct cf_error *err);
/* Any failure to authenticate (wrong key or passphrase, an altered byte) or a
 * malformed header is CF_E_CHECKSUM_MISMATCH with a message saying which chunk
 * failed; nothing from a chunk that fails reaches the sink. */
cf_code cf_open_push(struct cf_open *open, const void *data, size_t len, struct cf_error *err);
/* CF_E_CHECKSUM_MISMATCH when the stream ended before the final tag (a
 * truncated file) or has bytes after it. */
cf_code cf_open_finish(struct cf_open *open, struct cf_error *err);
/* NULL is a no-op; wipes the key material. */
void cf_open_free(struct cf_open *open);

/* True when the first bytes (at least CF_ENVELOPE_MAGIC_LEN) carry the
 * envelope's magic: how `coffer decrypt` and `coffer pull` tell an encrypted
 * backup from a plain one. */
#define CF_ENVELOPE_MAGIC_LEN 8
bool cf_envelope_detect(const void *head, size_t len);

#endif
