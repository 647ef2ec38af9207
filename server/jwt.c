#include "server/jwt.h"

#include <errno.h>
#include <jansson.h>
#include <jwt.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Bounds on what arrives over the network, checked before any decoding. */
#define HEADER_JSON_MAX  512
#define HS256_SECRET_MIN 32
#define KEY_MAX          (64 * 1024)
#define HS256_MAC_LEN    32

struct alg_info {
    const char *name;
    jwt_alg_t libjwt_alg;
};

static const struct alg_info alg_table[] = {
    [CF_JWT_HS256] = {"HS256", JWT_ALG_HS256},
    [CF_JWT_ES256] = {"ES256", JWT_ALG_ES256},
};

int cf_jwt_alg_parse(const char *name)
{
    if (name == NULL)
        return -1;
    for (size_t i = 0; i < sizeof(alg_table) / sizeof(alg_table[0]); i++) {
        if (strcmp(name, alg_table[i].name) == 0)
            return (int)i;
    }
    return -1;
}

const char *cf_jwt_alg_name(enum cf_jwt_alg alg)
{
    if ((size_t)alg >= sizeof(alg_table) / sizeof(alg_table[0]))
        return "unknown";
    return alg_table[alg].name;
}

static unsigned char *copy_bytes(const void *src, size_t len)
{
    /* One spare NUL so that PEM texts can also be read as C strings. */
    unsigned char *copy = malloc(len + 1);

    if (copy == NULL)
        return NULL;
    memcpy(copy, src, len);
    copy[len] = '\0';
    return copy;
}

void cf_jwt_keys_dispose(struct cf_jwt_keys *keys)
{
    if (keys == NULL)
        return;
    if (keys->sign_key != NULL) {
        OPENSSL_cleanse(keys->sign_key, keys->sign_key_len);
        free(keys->sign_key);
    }
    if (keys->verify_key != NULL) {
        OPENSSL_cleanse(keys->verify_key, keys->verify_key_len);
        free(keys->verify_key);
    }
    memset(keys, 0, sizeof(*keys));
}

cf_code cf_jwt_keys_hs256(struct cf_jwt_keys *keys, const void *secret, size_t len, struct cf_error *err)
{
    memset(keys, 0, sizeof(*keys));
    keys->alg = CF_JWT_HS256;
    if (secret == NULL || len < HS256_SECRET_MIN)
        return cf_fail(err, CF_E_VALIDATION, "the HS256 secret must be at least %d bytes long",
                       HS256_SECRET_MIN);
    if (len > KEY_MAX)
        return cf_fail(err, CF_E_VALIDATION, "the HS256 secret must be at most %d bytes long", KEY_MAX);
    /* Signing and verifying use the same secret; two copies keep ownership simple. */
    keys->sign_key = copy_bytes(secret, len);
    keys->verify_key = copy_bytes(secret, len);
    if (keys->sign_key == NULL || keys->verify_key == NULL) {
        cf_jwt_keys_dispose(keys);
        return cf_fail(err, CF_E_NOMEM, "out of memory copying the JWT secret");
    }
    keys->sign_key_len = len;
    keys->verify_key_len = len;
    return CF_OK;
}

/* Never prompts for a pass phrase: an encrypted private key is refused. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return 0;
}

/* Whether pkey is an EC key on P-256, the only curve ES256 allows. */
static bool is_p256(EVP_PKEY *pkey)
{
    char group[64];
    size_t group_len = 0;

    if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_EC)
        return false;
    if (EVP_PKEY_get_group_name(pkey, group, sizeof(group), &group_len) != 1)
        return false;
    return strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0;
}

static EVP_PKEY *read_pem_key(const char *pem, bool private_key)
{
    BIO *bio = BIO_new_mem_buf(pem, -1);
    EVP_PKEY *pkey = NULL;

    if (bio == NULL)
        return NULL;
    if (private_key)
        pkey = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
    else
        pkey = PEM_read_bio_PUBKEY(bio, NULL, no_passphrase, NULL);
    BIO_free(bio);
    return pkey;
}

cf_code cf_jwt_keys_es256(struct cf_jwt_keys *keys, const char *private_pem, const char *public_pem,
                          struct cf_error *err)
{
    EVP_PKEY *pub = NULL;
    EVP_PKEY *priv = NULL;
    cf_code code = CF_OK;

    memset(keys, 0, sizeof(*keys));
    keys->alg = CF_JWT_ES256;
    if (public_pem == NULL || strlen(public_pem) > KEY_MAX ||
        (private_pem != NULL && strlen(private_pem) > KEY_MAX)) {
        code =
            cf_fail(err, CF_E_VALIDATION, "an ES256 public key PEM of at most %d bytes is required", KEY_MAX);
        goto out;
    }
    /* Parse both keys now so that a wrong key fails at start-up, not at the
     * first request. */
    pub = read_pem_key(public_pem, false);
    if (pub == NULL || !is_p256(pub)) {
        code = cf_fail(err, CF_E_VALIDATION, "the ES256 public key is not a PEM EC P-256 public key");
        goto out;
    }
    if (private_pem != NULL) {
        priv = read_pem_key(private_pem, true);
        if (priv == NULL || !is_p256(priv)) {
            code = cf_fail(err, CF_E_VALIDATION,
                           "the ES256 private key is not an unencrypted PEM EC P-256 private key");
            goto out;
        }
        if (EVP_PKEY_eq(priv, pub) != 1) {
            code = cf_fail(err, CF_E_VALIDATION, "the ES256 private key does not match the public key");
            goto out;
        }
        keys->sign_key = copy_bytes(private_pem, strlen(private_pem));
        if (keys->sign_key == NULL) {
            code = cf_fail(err, CF_E_NOMEM, "out of memory copying the JWT private key");
            goto out;
        }
        keys->sign_key_len = strlen(private_pem);
    }
    keys->verify_key = copy_bytes(public_pem, strlen(public_pem));
    if (keys->verify_key == NULL) {
        code = cf_fail(err, CF_E_NOMEM, "out of memory copying the JWT public key");
        goto out;
    }
    keys->verify_key_len = strlen(public_pem);

out:
    EVP_PKEY_free(priv);
    EVP_PKEY_free(pub);
    if (code != CF_OK)
        cf_jwt_keys_dispose(keys);
    return code;
}

/* sub and jti end up in SQL parameters and log lines: printable ASCII only. */
static bool claim_text_ok(const char *text, size_t max)
{
    size_t len = 0;

    if (text == NULL)
        return false;
    for (; text[len] != '\0'; len++) {
        if (len >= max || text[len] <= 0x20 || text[len] >= 0x7f)
            return false;
    }
    return len > 0;
}

cf_code cf_jwt_sign(const struct cf_jwt_keys *keys, const struct cf_jwt_claims *claims, char **out,
                    struct cf_error *err)
{
    jwt_t *jwt = NULL;
    char *token = NULL;
    cf_code code = CF_OK;

    *out = NULL;
    if (keys->sign_key == NULL || keys->sign_key_len == 0 || keys->sign_key_len > KEY_MAX ||
        (size_t)keys->alg >= sizeof(alg_table) / sizeof(alg_table[0])) {
        code = cf_fail(err, CF_E_INTERNAL, "this server has no key to sign tokens with");
        goto out;
    }
    if (!claim_text_ok(claims->sub, CF_JWT_SUB_MAX) || !claim_text_ok(claims->jti, CF_JWT_JTI_MAX) ||
        claims->exp <= 0 || claims->iat < 0) {
        code = cf_fail(err, CF_E_INTERNAL, "refusing to sign a token with invalid claims");
        goto out;
    }
    if (jwt_new(&jwt) != 0) {
        code = cf_fail(err, CF_E_NOMEM, "out of memory creating a token");
        goto out;
    }
    if (jwt_add_grant(jwt, "sub", claims->sub) != 0 || jwt_add_grant(jwt, "jti", claims->jti) != 0 ||
        jwt_add_grant_int(jwt, "exp", (long)claims->exp) != 0 ||
        (claims->iat > 0 && jwt_add_grant_int(jwt, "iat", (long)claims->iat) != 0)) {
        code = cf_fail(err, CF_E_NOMEM, "out of memory adding claims to a token");
        goto out;
    }
    if (jwt_set_alg(jwt, alg_table[keys->alg].libjwt_alg, keys->sign_key, (int)keys->sign_key_len) != 0) {
        code = cf_fail(err, CF_E_INTERNAL, "cannot set the token's signing algorithm");
        goto out;
    }
    token = jwt_encode_str(jwt);
    if (token == NULL) {
        code = cf_fail(err, CF_E_INTERNAL, "signing the token failed (%s)",
                       errno == ENOMEM ? "out of memory" : "bad key");
        goto out;
    }
    *out = token;

out:
    jwt_free(jwt);
    return code;
}

static int b64url_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

/* Decodes unpadded base64url text of len characters into out (out_max bytes).
 * Returns the decoded length, or -1 for bad characters, an impossible length
 * or output that would not fit. */
static long b64url_decode(const char *text, size_t len, unsigned char *out, size_t out_max)
{
    uint32_t acc = 0;
    int bits = 0;
    size_t used = 0;

    if (len % 4 == 1)
        return -1;
    for (size_t i = 0; i < len; i++) {
        int value = b64url_value(text[i]);

        if (value < 0)
            return -1;
        acc = (acc << 6) | (uint32_t)value;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (used >= out_max)
                return -1;
            out[used++] = (unsigned char)((acc >> bits) & 0xffu);
        }
    }
    return (long)used;
}

/* Reads the algorithm from the token's own header before libjwt sees the
 * token, so that "none" and every other algorithm are refused by name. */
static cf_code check_header_alg(const char *header, size_t len, enum cf_jwt_alg want, struct cf_error *err)
{
    unsigned char text[HEADER_JSON_MAX];
    json_t *root = NULL;
    const char *alg = NULL;
    long text_len = b64url_decode(header, len, text, sizeof(text));
    cf_code code = CF_OK;

    if (text_len <= 0) {
        code = cf_fail(err, CF_E_INVALID_TOKEN, "the token header is not valid base64url");
        goto out;
    }
    root = json_loadb((const char *)text, (size_t)text_len, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(root)) {
        code = cf_fail(err, CF_E_INVALID_TOKEN, "the token header is not a JSON object");
        goto out;
    }
    alg = json_string_value(json_object_get(root, "alg"));
    if (alg == NULL) {
        code = cf_fail(err, CF_E_INVALID_TOKEN, "the token header names no signing algorithm");
        goto out;
    }
    if (strcmp(alg, alg_table[want].name) != 0) {
        code =
            cf_fail(err, CF_E_INVALID_TOKEN, "the token's signing algorithm is not accepted by this server");
        goto out;
    }

out:
    json_decref(root);
    return code;
}

/* libjwt 1.10 compares the HMAC with strcmp; this comparison takes the same
 * time wherever the first wrong byte is, so the MAC cannot be guessed byte by
 * byte. libjwt's own check still runs afterwards. */
static cf_code check_hs256_mac(const struct cf_jwt_keys *keys, const char *token, size_t signed_len,
                               const char *sig, size_t sig_len, struct cf_error *err)
{
    unsigned char expected[EVP_MAX_MD_SIZE];
    unsigned char given[HS256_MAC_LEN];
    unsigned int expected_len = 0;
    long given_len = b64url_decode(sig, sig_len, given, sizeof(given));

    if (HMAC(EVP_sha256(), keys->verify_key, (int)keys->verify_key_len, (const unsigned char *)token,
             signed_len, expected, &expected_len) == NULL)
        return cf_fail(err, CF_E_INTERNAL, "computing the token's HMAC failed");
    if (given_len != HS256_MAC_LEN || expected_len != HS256_MAC_LEN ||
        CRYPTO_memcmp(expected, given, HS256_MAC_LEN) != 0)
        return cf_fail(err, CF_E_INVALID_TOKEN, "the token's signature is invalid");
    return CF_OK;
}

static cf_code read_claims(const char *grants, struct cf_jwt_claims *claims, struct cf_error *err)
{
    json_t *root = json_loads(grants, 0, NULL);
    json_t *exp = NULL;
    json_t *iat = NULL;
    const char *sub = NULL;
    const char *jti = NULL;
    cf_code code = CF_OK;

    memset(claims, 0, sizeof(*claims));
    if (!json_is_object(root)) {
        code = cf_fail(err, CF_E_INVALID_TOKEN, "the token's claims are not a JSON object");
        goto out;
    }
    exp = json_object_get(root, "exp");
    if (!json_is_integer(exp) || json_integer_value(exp) <= 0) {
        code = cf_fail(err, CF_E_INVALID_TOKEN, "the token has no valid exp (expiry) claim");
        goto out;
    }
    sub = json_string_value(json_object_get(root, "sub"));
    if (!claim_text_ok(sub, CF_JWT_SUB_MAX)) {
        code = cf_fail(err, CF_E_INVALID_TOKEN, "the token has no valid sub (subject) claim");
        goto out;
    }
    jti = json_string_value(json_object_get(root, "jti"));
    if (!claim_text_ok(jti, CF_JWT_JTI_MAX)) {
        code = cf_fail(err, CF_E_INVALID_TOKEN, "the token has no valid jti (token id) claim");
        goto out;
    }
    iat = json_object_get(root, "iat");
    if (iat != NULL && (!json_is_integer(iat) || json_integer_value(iat) < 0)) {
        code = cf_fail(err, CF_E_INVALID_TOKEN, "the token's iat (issued at) claim is not a valid time");
        goto out;
    }
    /* The lengths were checked above, so these copies always fit. */
    memcpy(claims->sub, sub, strlen(sub) + 1);
    memcpy(claims->jti, jti, strlen(jti) + 1);
    claims->exp = (int64_t)json_integer_value(exp);
    claims->iat = iat != NULL ? (int64_t)json_integer_value(iat) : 0;

out:
    json_decref(root);
    return code;
}

cf_code cf_jwt_verify(const struct cf_jwt_keys *keys, const char *token, int64_t now,
                      struct cf_jwt_claims *out, struct cf_error *err)
{
    struct cf_jwt_claims claims;
    jwt_t *jwt = NULL;
    char *grants = NULL;
    const char *dot1 = NULL;
    const char *dot2 = NULL;
    size_t len = 0;
    int rc = 0;
    cf_code code = CF_OK;

    if (keys == NULL || keys->verify_key == NULL || keys->verify_key_len == 0 ||
        keys->verify_key_len > KEY_MAX || (size_t)keys->alg >= sizeof(alg_table) / sizeof(alg_table[0])) {
        code = cf_fail(err, CF_E_INTERNAL, "this server has no key to verify tokens with");
        goto out;
    }
    if (token == NULL || token[0] == '\0') {
        code = cf_fail(err, CF_E_INVALID_TOKEN, "the token is empty");
        goto out;
    }
    len = strnlen(token, CF_JWT_TOKEN_MAX + 1);
    if (len > CF_JWT_TOKEN_MAX) {
        code = cf_fail(err, CF_E_INVALID_TOKEN, "the token is longer than %d bytes", CF_JWT_TOKEN_MAX);
        goto out;
    }
    /* Shape: three base64url parts separated by exactly two dots. */
    for (size_t i = 0; i < len; i++) {
        if (token[i] == '.') {
            if (dot1 == NULL) {
                dot1 = token + i;
            } else if (dot2 == NULL) {
                dot2 = token + i;
            } else {
                dot2 = NULL;
                break;
            }
        } else if (b64url_value(token[i]) < 0) {
            dot2 = NULL;
            break;
        }
    }
    if (dot1 == NULL || dot2 == NULL) {
        code = cf_fail(err, CF_E_INVALID_TOKEN, "the token is not a JWT (three base64url parts)");
        goto out;
    }
    code = check_header_alg(token, (size_t)(dot1 - token), keys->alg, err);
    if (code != CF_OK)
        goto out;
    if (dot2 == dot1 + 1 || dot2[1] == '\0') {
        code = cf_fail(err, CF_E_INVALID_TOKEN, "the token has an empty payload or signature");
        goto out;
    }
    if (keys->alg == CF_JWT_HS256) {
        code = check_hs256_mac(keys, token, (size_t)(dot2 - token), dot2 + 1, strlen(dot2 + 1), err);
        if (code != CF_OK)
            goto out;
    }
    /* Always with the key: with NULL, libjwt 1.10 checks no signature at all. */
    rc = jwt_decode(&jwt, token, keys->verify_key, (int)keys->verify_key_len);
    if (rc != 0 || jwt == NULL) {
        if (rc == ENOMEM)
            code = cf_fail(err, CF_E_NOMEM, "out of memory decoding a token");
        else
            code = cf_fail(err, CF_E_INVALID_TOKEN,
                           "the token's signature is invalid or the token is malformed");
        goto out;
    }
    /* Checked again after libjwt, which picks its algorithm from the header. */
    if (jwt_get_alg(jwt) != alg_table[keys->alg].libjwt_alg) {
        code =
            cf_fail(err, CF_E_INVALID_TOKEN, "the token's signing algorithm is not accepted by this server");
        goto out;
    }
    /* A copy of the claims that outlives jwt_free. */
    grants = jwt_get_grants_json(jwt, NULL);
    if (grants == NULL) {
        code = cf_fail(err, CF_E_INVALID_TOKEN, "the token carries no claims");
        goto out;
    }
    jwt_free(jwt);
    jwt = NULL;
    code = read_claims(grants, &claims, err);
    if (code != CF_OK)
        goto out;
    if (claims.exp <= now) {
        code = cf_fail(err, CF_E_TOKEN_EXPIRED, "the token has expired");
        goto out;
    }
    *out = claims;

out:
    free(grants);
    jwt_free(jwt);
    return code;
}
