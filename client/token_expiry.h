/* When the client's token runs out, read from the token itself, so that a
 * machine's backups are not refused one night without warning.
 *
 * The `exp` claim is taken from the JWT's payload (the middle of its three
 * dot-separated parts, base64url without padding) without verifying the
 * signature: the client has no key, and the answer only decides whether to
 * warn; the server checks the token as always. Anything that is not a JWT
 * with an integer `exp` yields nothing and never fails. */
#ifndef COFFER_CLIENT_TOKEN_EXPIRY_H
#define COFFER_CLIENT_TOKEN_EXPIRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Warn when the token expires within this many seconds (14 days). */
#define CF_TOKEN_EXPIRY_WARN (14 * 86400)
/* The longest payload looked at; a longer token yields nothing. */
#define CF_TOKEN_PAYLOAD_MAX 8192

/* True, with *exp (seconds since the epoch), when token is a JWT whose
 * payload is a JSON object with an integer exp; false for anything else. */
bool cf_token_expiry(const char *token, int64_t *exp);

/* When a token expiring at exp is worth a warning at now (it expires within
 * CF_TOKEN_EXPIRY_WARN, or has expired), writes the sentence into out
 * ("the token expires on 2025-03-14 08:00 UTC, in 3 days: ask ...", with what
 * to do; where, when not NULL, names the token's file) and returns true;
 * else false and out is left alone. Whole days left are rounded down. */
bool cf_token_expiry_warning(int64_t exp, int64_t now, const char *where, char *out, size_t out_len);

#endif
