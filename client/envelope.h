/* The encrypted backup format: what `coffer push` uploads when a backup names a
 * key, and what `coffer pull`, `coffer restore` and `coffer decrypt` read.
 *
 * Plaintext is compressed with zstd, then cut into chunks sealed with
 * libsodium's secretstream (XChaCha20-Poly1305); the server only ever sees the
 * result. The byte layout, versioned, is written down in docs/format.md so that
 * a backup can be opened by hand years later; tests/fixtures/format-v1/ holds
 * files written by the first version, which every later version must open.
 *
 * Both directions push: the caller hands bytes in as they arrive and the
 * envelope hands its output to a sink (cf_zsink_fn from common/zstream.h).
 * Memory stays bounded whatever the stream's length: a seal holds zstd's
 * compression context and two chunk buffers, an open zstd's decompression
 * window (at most 128 MiB, zstd's default limit; 8 MiB for what coffer writes)
 * and two chunk buffers, plus, while a passphrase's key is derived, the
 * Argon2id memory named in the header (at most CF_KDF_MEMLIMIT_KIB_MAX). */
#ifndef COFFER_CLIENT_ENVELOPE_H
#define COFFER_CLIENT_ENVELOPE_H

#include "client/secret.h"
#include "common/error.h"
#include "common/zstream.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The format version this code writes, and the only one it reads. */
#define CF_ENVELOPE_VERSION 1
/* Plaintext bytes (of the zstd stream) per chunk that cf_seal_new writes. */
#define CF_ENVELOPE_CHUNK_SIZE (64 * 1024)
/* The largest chunk size a header may name; larger is refused before any
 * buffer is allocated for it. */
#define CF_ENVELOPE_CHUNK_MAX (1024 * 1024)

/* Argon2id costs that cf_seal_new writes into a passphrase file's header:
 * 3 passes over 64 MiB (RFC 9106's second recommended setting, with one lane).
 * About 0.1 s on the 2-core build machine. */
#define CF_KDF_OPSLIMIT_DEFAULT     3
#define CF_KDF_MEMLIMIT_KIB_DEFAULT (64 * 1024)
/* What a header may name. Below the minimums libsodium refuses; above the
 * maximums the file is taken as damaged rather than spend minutes and
 * gigabytes on it (libsodium's own "sensitive" level is 4 passes over 1 GiB). */
#define CF_KDF_OPSLIMIT_MIN     1
#define CF_KDF_OPSLIMIT_MAX     16
#define CF_KDF_MEMLIMIT_KIB_MIN 8
#define CF_KDF_MEMLIMIT_KIB_MAX (1024 * 1024)

/* Sealing: plaintext in, the encrypted file's bytes out to sink. */
struct cf_seal;

/* The choices a sealed file records in its header. cf_seal_new uses the
 * defaults; tests and fixtures choose small ones to keep files small and
 * passphrase derivations fast. */
struct cf_seal_params {
    uint32_t chunk_size;       /* 1 .. CF_ENVELOPE_CHUNK_MAX */
    uint32_t kdf_opslimit;     /* passphrase only: CF_KDF_OPSLIMIT_MIN .. _MAX */
    uint32_t kdf_memlimit_kib; /* passphrase only: CF_KDF_MEMLIMIT_KIB_MIN .. _MAX */
};

/* Fills params with CF_ENVELOPE_CHUNK_SIZE and the CF_KDF_*_DEFAULT costs. */
void cf_seal_params_default(struct cf_seal_params *params);

/* A passphrase's key is derived here, so this takes the Argon2id time. The
 * header goes to the sink with the first chunk, so at the latest at finish.
 * zstd_level as for cf_zcompressor_new (zstd clamps it). NULL secret is a bug.
 * CF_E_NOMEM (also when Argon2id cannot get its memory), or CF_E_INTERNAL when
 * libsodium cannot start. The seal keeps no pointer into secret. */
cf_code cf_seal_new(const struct cf_secret *secret, int zstd_level, cf_zsink_fn sink, void *sink_ctx,
                    struct cf_seal **out, struct cf_error *err);
/* The same with chosen params; values out of their ranges are CF_E_VALIDATION. */
cf_code cf_seal_new_with_params(const struct cf_secret *secret, int zstd_level,
                                const struct cf_seal_params *params, cf_zsink_fn sink, void *sink_ctx,
                                struct cf_seal **out, struct cf_error *err);
/* An error from the sink is returned as the sink gave it; after any error the
 * seal is dead and only cf_seal_free may follow. */
cf_code cf_seal_push(struct cf_seal *seal, const void *data, size_t len, struct cf_error *err);
/* Writes the last chunk with the final tag. No push after it. */
cf_code cf_seal_finish(struct cf_seal *seal, struct cf_error *err);
/* NULL is a no-op; wipes the key material. */
void cf_seal_free(struct cf_seal *seal);

/* Opening: the encrypted file's bytes in, plaintext out to sink. */
struct cf_open;

/* Nothing is checked or derived until the header has arrived through
 * cf_open_push. The open keeps a copy of secret (wiped when no longer needed)
 * and no pointer into it. CF_E_NOMEM, CF_E_INTERNAL when libsodium cannot start. */
cf_code cf_open_new(const struct cf_secret *secret, cf_zsink_fn sink, void *sink_ctx, struct cf_open **out,
                    struct cf_error *err);
/* Any failure to authenticate (wrong key or passphrase, an altered byte) or a
 * malformed header is CF_E_CHECKSUM_MISMATCH with a message saying which chunk
 * failed (chunks count from 1; a failure of chunk 1 says "wrong key or
 * passphrase, or the file is damaged"); nothing from a chunk that fails
 * reaches the sink. A file of another key kind than secret (a passphrase file
 * opened with a key) and unreadable header values (a newer version, Argon2id
 * costs out of range) are CF_E_CHECKSUM_MISMATCH too, refused before the
 * key is derived.
 *
 * The plaintext of each chunk goes to the sink as soon as that chunk has been
 * authenticated, so a file cut short or altered further on has already given
 * part of its plaintext when the error comes: the output is only good once
 * cf_open_finish has returned CF_OK (write it to a temporary file and rename
 * it then). An error from the sink is returned as the sink gave it. After any
 * error the open is dead and only cf_open_free may follow. */
cf_code cf_open_push(struct cf_open *open, const void *data, size_t len, struct cf_error *err);
/* CF_E_CHECKSUM_MISMATCH when the stream ended before the final tag (a
 * truncated file) or has bytes after it. */
cf_code cf_open_finish(struct cf_open *open, struct cf_error *err);
/* NULL is a no-op; wipes the key material. */
void cf_open_free(struct cf_open *open);

/* True when the first bytes (at least CF_ENVELOPE_MAGIC_LEN) carry the
 * envelope's magic: how `coffer decrypt` and `coffer pull` tell an encrypted
 * backup from a plain one. The magic is the same for every format version. */
#define CF_ENVELOPE_MAGIC_LEN 8
bool cf_envelope_detect(const void *head, size_t len);

#endif
