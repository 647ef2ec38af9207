/* Signing and verifying Coffer's JWTs with libjwt 1.10.
 *
 * libjwt 1.10 takes the algorithm from the token itself and checks no claim,
 * so verification here always passes the configured key, refuses any token
 * whose header names another algorithm (including "none"), and requires and
 * checks exp, sub and jti itself. Pure functions apart from libjwt: no
 * database, no configuration lookups. */
#ifndef COFFER_SERVER_JWT_H
#define COFFER_SERVER_JWT_H

#include "common/error.h"
#include <stddef.h>
#include <stdint.h>

enum cf_jwt_alg { CF_JWT_HS256 = 0, CF_JWT_ES256 };

struct cf_jwt_keys {
    enum cf_jwt_alg alg;
    unsigned char *sign_key; /* owned: HMAC secret or PEM private key; NULL on a verify-only server */
    size_t sign_key_len;
    unsigned char *verify_key; /* owned: HMAC secret or PEM public key */
    size_t verify_key_len;
};

/* The longest token text accepted, checked before any decoding. */
#define CF_JWT_TOKEN_MAX 8192

#define CF_JWT_SUB_MAX 64
#define CF_JWT_JTI_MAX 36

struct cf_jwt_claims {
    char sub[CF_JWT_SUB_MAX + 1]; /* account id, or "system" for the administrator */
    char jti[CF_JWT_JTI_MAX + 1]; /* token id (UUID) */
    int64_t iat;
    int64_t exp; /* Unix seconds */
};

/* "HS256" / "ES256" -> alg; -1 for anything else. */
int cf_jwt_alg_parse(const char *name);
const char *cf_jwt_alg_name(enum cf_jwt_alg alg);

/* HS256: secret must be at least 32 bytes (CF_E_VALIDATION otherwise). Copies. */
cf_code cf_jwt_keys_hs256(struct cf_jwt_keys *keys, const void *secret, size_t len, struct cf_error *err);
/* ES256: PEM texts; private_pem may be NULL for verification only. Copies. */
cf_code cf_jwt_keys_es256(struct cf_jwt_keys *keys, const char *private_pem, const char *public_pem,
                          struct cf_error *err);
void cf_jwt_keys_dispose(struct cf_jwt_keys *keys);

/* Signs the claims. *out is a NUL-terminated token the caller frees with free(). */
cf_code cf_jwt_sign(const struct cf_jwt_keys *keys, const struct cf_jwt_claims *claims, char **out,
                    struct cf_error *err);

/* Verifies signature, algorithm and claims against the time now (Unix seconds).
 * CF_E_INVALID_TOKEN for a bad signature, another algorithm, a malformed token
 * or a missing/oversized claim; CF_E_TOKEN_EXPIRED when exp <= now. */
cf_code cf_jwt_verify(const struct cf_jwt_keys *keys, const char *token, int64_t now,
                      struct cf_jwt_claims *out, struct cf_error *err);

#endif
