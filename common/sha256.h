/* Streaming SHA-256 (OpenSSL EVP) and hex helpers.
 *
 * Only cf_sha256_new can fail. Should OpenSSL ever fail to update or finish a
 * digest, the process logs it and aborts rather than hand back a wrong hash. */
#ifndef COFFER_COMMON_SHA256_H
#define COFFER_COMMON_SHA256_H

#include <stdbool.h>
#include <stddef.h>

#define CF_SHA256_LEN     32
#define CF_SHA256_HEX_LEN 64

struct cf_sha256; /* opaque */

/* NULL when out of memory. Free with cf_sha256_free (NULL is a no-op). */
struct cf_sha256 *cf_sha256_new(void);
void cf_sha256_free(struct cf_sha256 *h);
void cf_sha256_update(struct cf_sha256 *h, const void *data, size_t len);
/* Writes the digest as 64 lower-case hex characters and a NUL into hex[65].
 * The context may not be updated afterwards. */
void cf_sha256_final_hex(struct cf_sha256 *h, char hex[CF_SHA256_HEX_LEN + 1]);

/* True when s is exactly 64 hex digits (either case). */
bool cf_sha256_hex_valid(const char *s);

#endif
