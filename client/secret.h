/* What seals and opens an encrypted backup (client/envelope.h): a random key
 * kept in a key file, or a passphrase kept in a passphrase file.
 *
 * Key file: one line of text, "coffer-key-1:" followed by the 32 key bytes in
 * standard base64 with padding (44 characters), then a newline. The "1" is the
 * key file's own version, so that a later layout can be told apart. The file
 * is created with mode 0600 and never overwritten.
 *
 * Passphrase file: the passphrase is the first line, without its line ending
 * (LF or CRLF); its bytes are used as they are, with no trimming of spaces and
 * no Unicode normalisation, so the same file always gives the same key.
 *
 * Every function that holds secret bytes on its stack or heap wipes them with
 * sodium_memzero before it returns. */
#ifndef COFFER_CLIENT_SECRET_H
#define COFFER_CLIENT_SECRET_H

#include "common/error.h"
#include <stdbool.h>

#define CF_KEY_LEN 32
/* Passphrases longer than this are refused when read. */
#define CF_PASSPHRASE_MAX 1024
/* What a key file's line starts with. */
#define CF_KEY_FILE_PREFIX "coffer-key-1:"

/* What seals or opens a backup: a random key, or a passphrase from which each
 * file derives its key with Argon2id and a salt stored in the file's header. */
struct cf_secret {
    bool is_passphrase;
    unsigned char key[CF_KEY_LEN];          /* when !is_passphrase */
    char passphrase[CF_PASSPHRASE_MAX + 1]; /* when is_passphrase, NUL-terminated */
};

/* Writes a new random key file at path (mode 0600, refusing to overwrite an
 * existing file or to follow a symbolic link there: CF_E_CONFLICT). The data is
 * synced to disk before it returns. CF_E_IO on other failures (a partly
 * written file is removed), CF_E_INTERNAL when libsodium cannot start. */
cf_code cf_secret_generate_key_file(const char *path, struct cf_error *err);
/* Reads a key file written by cf_secret_generate_key_file into out (which it
 * wipes first). A missing, unreadable, malformed file, or one open to group
 * or others (client/private_file.h), is CF_E_VALIDATION with a message naming
 * the path. */
cf_code cf_secret_load_key_file(const char *path, struct cf_secret *out, struct cf_error *err);
/* Reads a passphrase: the file's first line, without its line ending (LF or
 * CRLF). An empty first line, one longer than CF_PASSPHRASE_MAX bytes or one
 * holding a NUL byte is refused, as is a missing or unreadable file or one
 * open to group or others (client/private_file.h): all CF_E_VALIDATION with
 * a message naming the path. */
cf_code cf_secret_load_passphrase_file(const char *path, struct cf_secret *out, struct cf_error *err);
/* Wipes the secret (sodium_memzero). NULL is a no-op. */
void cf_secret_wipe(struct cf_secret *secret);

/* Starts libsodium; safe to call from any thread and any number of times.
 * CF_E_INTERNAL when it cannot start (no usable random source). */
cf_code cf_sodium_start(struct cf_error *err);

#endif
