#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "server/jwt.h"

#include <jwt.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOW    1700000000
#define SECRET "0123456789abcdef0123456789abcdef-test-secret"

struct es_pair {
    char *private_pem;
    char *public_pem;
};

static char *bio_to_string(BIO *bio)
{
    char *data = NULL;
    long len = BIO_get_mem_data(bio, &data);
    char *copy = malloc((size_t)len + 1);

    assert_non_null(copy);
    memcpy(copy, data, (size_t)len);
    copy[len] = '\0';
    return copy;
}

/* A fresh P-256 key pair as PEM texts, made in-process with OpenSSL. */
static struct es_pair es_pair_new(void)
{
    struct es_pair pair;
    EVP_PKEY *pkey = EVP_EC_gen("P-256");
    BIO *priv = BIO_new(BIO_s_mem());
    BIO *pub = BIO_new(BIO_s_mem());

    assert_non_null(pkey);
    assert_non_null(priv);
    assert_non_null(pub);
    assert_int_equal(PEM_write_bio_PrivateKey(priv, pkey, NULL, NULL, 0, NULL, NULL), 1);
    assert_int_equal(PEM_write_bio_PUBKEY(pub, pkey), 1);
    pair.private_pem = bio_to_string(priv);
    pair.public_pem = bio_to_string(pub);
    BIO_free(priv);
    BIO_free(pub);
    EVP_PKEY_free(pkey);
    return pair;
}

static void es_pair_free(struct es_pair *pair)
{
    free(pair->private_pem);
    free(pair->public_pem);
}

static struct cf_jwt_claims sample_claims(void)
{
    struct cf_jwt_claims claims;

    memset(&claims, 0, sizeof(claims));
    snprintf(claims.sub, sizeof(claims.sub), "%s", "acme-corp");
    snprintf(claims.jti, sizeof(claims.jti), "%s", "0f8fad5b-d9cb-469f-a165-70867728950e");
    claims.iat = NOW - 10;
    claims.exp = NOW + 3600;
    return claims;
}

/* A token built with libjwt directly, so that tests can forge what cf_jwt_sign never makes. */
static char *forge(jwt_alg_t alg, const void *key, size_t key_len, const char *grants_json)
{
    jwt_t *jwt = NULL;
    char *token = NULL;

    assert_int_equal(jwt_new(&jwt), 0);
    assert_int_equal(jwt_add_grants_json(jwt, grants_json), 0);
    assert_int_equal(jwt_set_alg(jwt, alg, key, (int)key_len), 0);
    token = jwt_encode_str(jwt);
    assert_non_null(token);
    jwt_free(jwt);
    return token;
}

static char *b64url(const char *text)
{
    size_t len = strlen(text);
    unsigned char *out = malloc(4 * ((len + 2) / 3) + 1);
    int n;
    int used = 0;

    assert_non_null(out);
    n = EVP_EncodeBlock(out, (const unsigned char *)text, (int)len);
    for (int i = 0; i < n; i++) {
        if (out[i] == '=')
            break;
        out[used++] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : (char)out[i];
    }
    out[used] = '\0';
    return (char *)out;
}

/* "header.payload.signature" from raw JSON texts and a signature part. */
static char *hand_built(const char *header_json, const char *payload_json, const char *sig)
{
    char *header = b64url(header_json);
    char *payload = b64url(payload_json);
    size_t len = strlen(header) + strlen(payload) + strlen(sig) + 3;
    char *token = malloc(len);

    assert_non_null(token);
    snprintf(token, len, "%s.%s.%s", header, payload, sig);
    free(header);
    free(payload);
    return token;
}

#define GOOD_GRANTS                                                                                          \
    "{\"sub\":\"acme-corp\",\"jti\":\"0f8fad5b-d9cb-469f-a165-70867728950e\",\"exp\":1700003600}"

static void hs_keys(struct cf_jwt_keys *keys)
{
    assert_int_equal(cf_jwt_keys_hs256(keys, SECRET, strlen(SECRET), NULL), CF_OK);
}

/* Verifies token and asserts the refusal code and that the message contains needle. */
static void expect_refusal(const struct cf_jwt_keys *keys, const char *token, cf_code code,
                           const char *needle)
{
    struct cf_jwt_claims claims;
    struct cf_error err;

    memset(&claims, 0x5a, sizeof(claims));
    cf_error_init(&err);
    assert_int_equal(cf_jwt_verify(keys, token, NOW, &claims, &err), code);
    assert_int_equal(err.code, code);
    assert_true(strlen(err.message) > 10);
    if (strstr(err.message, needle) == NULL)
        fail_msg("message \"%s\" does not mention \"%s\"", err.message, needle);
    /* Nothing is written on failure. */
    assert_int_equal((unsigned char)claims.sub[0], 0x5a);
    cf_error_dispose(&err);
}

static void test_alg_names(void **state)
{
    (void)state;
    assert_int_equal(cf_jwt_alg_parse("HS256"), CF_JWT_HS256);
    assert_int_equal(cf_jwt_alg_parse("ES256"), CF_JWT_ES256);
    assert_int_equal(cf_jwt_alg_parse("none"), -1);
    assert_int_equal(cf_jwt_alg_parse("HS384"), -1);
    assert_int_equal(cf_jwt_alg_parse("hs256"), -1);
    assert_int_equal(cf_jwt_alg_parse(""), -1);
    assert_string_equal(cf_jwt_alg_name(CF_JWT_HS256), "HS256");
    assert_string_equal(cf_jwt_alg_name(CF_JWT_ES256), "ES256");
}

static void test_hs256_short_secret_refused(void **state)
{
    struct cf_jwt_keys keys;
    struct cf_error err;

    (void)state;
    cf_error_init(&err);
    assert_int_equal(cf_jwt_keys_hs256(&keys, "0123456789abcdef0123456789abcde", 31, &err), CF_E_VALIDATION);
    assert_non_null(strstr(err.message, "32 bytes"));
    assert_null(keys.sign_key);
    assert_null(keys.verify_key);
    cf_jwt_keys_dispose(&keys);
    cf_error_dispose(&err);

    assert_int_equal(cf_jwt_keys_hs256(&keys, "0123456789abcdef0123456789abcdef", 32, NULL), CF_OK);
    cf_jwt_keys_dispose(&keys);
}

static void test_hs256_round_trip(void **state)
{
    struct cf_jwt_keys keys;
    struct cf_jwt_claims claims = sample_claims();
    struct cf_jwt_claims got;
    struct cf_error err;
    char *token = NULL;

    (void)state;
    cf_error_init(&err);
    hs_keys(&keys);
    assert_int_equal(cf_jwt_sign(&keys, &claims, &token, &err), CF_OK);
    assert_non_null(token);
    assert_int_equal(cf_jwt_verify(&keys, token, NOW, &got, &err), CF_OK);
    assert_string_equal(got.sub, "acme-corp");
    assert_string_equal(got.jti, "0f8fad5b-d9cb-469f-a165-70867728950e");
    assert_int_equal(got.exp, NOW + 3600);
    assert_int_equal(got.iat, NOW - 10);
    free(token);
    cf_jwt_keys_dispose(&keys);
    cf_error_dispose(&err);
}

static void test_es256_round_trip(void **state)
{
    struct es_pair pair = es_pair_new();
    struct cf_jwt_keys keys;
    struct cf_jwt_keys verify_only;
    struct cf_jwt_claims claims = sample_claims();
    struct cf_jwt_claims got;
    struct cf_error err;
    char *token = NULL;
    char *flip = NULL;
    char saved;

    (void)state;
    cf_error_init(&err);
    assert_int_equal(cf_jwt_keys_es256(&keys, pair.private_pem, pair.public_pem, &err), CF_OK);
    assert_int_equal(cf_jwt_sign(&keys, &claims, &token, &err), CF_OK);
    assert_int_equal(cf_jwt_verify(&keys, token, NOW, &got, &err), CF_OK);
    assert_string_equal(got.sub, "acme-corp");
    assert_string_equal(got.jti, claims.jti);
    assert_int_equal(got.exp, claims.exp);
    /* JWS wants the raw 64-byte R||S form (86 base64url characters), not DER. */
    assert_int_equal(strlen(strrchr(token, '.') + 1), 86);
    flip = strrchr(token, '.') + 10;
    saved = *flip;
    *flip = saved == 'A' ? 'B' : 'A';
    expect_refusal(&keys, token, CF_E_INVALID_TOKEN, "signature");
    *flip = saved;

    /* A verify-only server (no private key) accepts it too, but cannot sign. */
    assert_int_equal(cf_jwt_keys_es256(&verify_only, NULL, pair.public_pem, &err), CF_OK);
    memset(&got, 0, sizeof(got));
    assert_int_equal(cf_jwt_verify(&verify_only, token, NOW, &got, &err), CF_OK);
    assert_string_equal(got.sub, "acme-corp");
    free(token);
    token = NULL;
    assert_int_equal(cf_jwt_sign(&verify_only, &claims, &token, &err), CF_E_INTERNAL);
    assert_null(token);
    assert_non_null(strstr(err.message, "key"));

    cf_jwt_keys_dispose(&verify_only);
    cf_jwt_keys_dispose(&keys);
    es_pair_free(&pair);
    cf_error_dispose(&err);
}

static void test_es256_bad_keys_refused(void **state)
{
    struct es_pair pair = es_pair_new();
    struct es_pair other = es_pair_new();
    struct cf_jwt_keys keys;
    struct cf_error err;

    (void)state;
    cf_error_init(&err);
    assert_int_equal(cf_jwt_keys_es256(&keys, NULL, "not a pem", &err), CF_E_VALIDATION);
    assert_non_null(strstr(err.message, "public key"));
    assert_int_equal(cf_jwt_keys_es256(&keys, NULL, NULL, &err), CF_E_VALIDATION);
    assert_int_equal(cf_jwt_keys_es256(&keys, "junk", pair.public_pem, &err), CF_E_VALIDATION);
    assert_non_null(strstr(err.message, "private key"));
    assert_int_equal(cf_jwt_keys_es256(&keys, other.private_pem, pair.public_pem, &err), CF_E_VALIDATION);
    assert_non_null(strstr(err.message, "does not match"));
    /* A private key where the public one belongs is not a public key. */
    assert_int_equal(cf_jwt_keys_es256(&keys, NULL, pair.private_pem, &err), CF_E_VALIDATION);
    assert_null(keys.verify_key);
    cf_jwt_keys_dispose(&keys);
    es_pair_free(&other);
    es_pair_free(&pair);
    cf_error_dispose(&err);
}

static void test_es256_token_from_other_key_refused(void **state)
{
    struct es_pair pair = es_pair_new();
    struct es_pair other = es_pair_new();
    struct cf_jwt_keys keys;
    char *token = forge(JWT_ALG_ES256, other.private_pem, strlen(other.private_pem), GOOD_GRANTS);

    (void)state;
    assert_int_equal(cf_jwt_keys_es256(&keys, NULL, pair.public_pem, NULL), CF_OK);
    expect_refusal(&keys, token, CF_E_INVALID_TOKEN, "signature");
    free(token);
    cf_jwt_keys_dispose(&keys);
    es_pair_free(&other);
    es_pair_free(&pair);
}

static void test_alg_none_refused(void **state)
{
    struct cf_jwt_keys keys;
    struct es_pair pair = es_pair_new();
    char *token = hand_built("{\"alg\":\"none\",\"typ\":\"JWT\"}", GOOD_GRANTS, "");
    char *upper = hand_built("{\"alg\":\"NONE\"}", GOOD_GRANTS, "");
    char *with_sig = hand_built("{\"alg\":\"none\"}", GOOD_GRANTS, "c2lnbmF0dXJl");

    (void)state;
    hs_keys(&keys);
    expect_refusal(&keys, token, CF_E_INVALID_TOKEN, "algorithm");
    expect_refusal(&keys, upper, CF_E_INVALID_TOKEN, "algorithm");
    expect_refusal(&keys, with_sig, CF_E_INVALID_TOKEN, "algorithm");
    cf_jwt_keys_dispose(&keys);

    assert_int_equal(cf_jwt_keys_es256(&keys, NULL, pair.public_pem, NULL), CF_OK);
    expect_refusal(&keys, token, CF_E_INVALID_TOKEN, "algorithm");
    cf_jwt_keys_dispose(&keys);
    free(with_sig);
    free(upper);
    free(token);
    es_pair_free(&pair);
}

static void test_other_hmac_alg_refused(void **state)
{
    struct cf_jwt_keys keys;
    char *hs384 = forge(JWT_ALG_HS384, SECRET, strlen(SECRET), GOOD_GRANTS);
    char *hs512 = forge(JWT_ALG_HS512, SECRET, strlen(SECRET), GOOD_GRANTS);
    char *lower = hand_built("{\"alg\":\"hs256\",\"typ\":\"JWT\"}", GOOD_GRANTS, "c2lnbmF0dXJl");
    char *no_alg = hand_built("{\"typ\":\"JWT\"}", GOOD_GRANTS, "c2lnbmF0dXJl");
    char *alg_number = hand_built("{\"alg\":256}", GOOD_GRANTS, "c2lnbmF0dXJl");
    char *twice = hand_built("{\"alg\":\"HS256\",\"alg\":\"none\"}", GOOD_GRANTS, "c2lnbmF0dXJl");

    (void)state;
    hs_keys(&keys);
    expect_refusal(&keys, hs384, CF_E_INVALID_TOKEN, "algorithm");
    expect_refusal(&keys, hs512, CF_E_INVALID_TOKEN, "algorithm");
    expect_refusal(&keys, lower, CF_E_INVALID_TOKEN, "algorithm");
    expect_refusal(&keys, no_alg, CF_E_INVALID_TOKEN, "algorithm");
    expect_refusal(&keys, alg_number, CF_E_INVALID_TOKEN, "algorithm");
    expect_refusal(&keys, twice, CF_E_INVALID_TOKEN, "header");
    cf_jwt_keys_dispose(&keys);
    free(twice);
    free(alg_number);
    free(no_alg);
    free(lower);
    free(hs512);
    free(hs384);
}

static void test_es256_token_refused_by_hs256_server(void **state)
{
    struct es_pair pair = es_pair_new();
    struct cf_jwt_keys keys;
    char *token = forge(JWT_ALG_ES256, pair.private_pem, strlen(pair.private_pem), GOOD_GRANTS);

    (void)state;
    hs_keys(&keys);
    expect_refusal(&keys, token, CF_E_INVALID_TOKEN, "algorithm");
    cf_jwt_keys_dispose(&keys);
    free(token);
    es_pair_free(&pair);
}

/* The classic confusion: the public key, which anyone may know, used as an
 * HMAC secret. libjwt 1.10 alone accepts this token when given the PEM. */
static void test_hs256_with_public_pem_refused_by_es256_server(void **state)
{
    struct es_pair pair = es_pair_new();
    struct cf_jwt_keys keys;
    char *token = forge(JWT_ALG_HS256, pair.public_pem, strlen(pair.public_pem), GOOD_GRANTS);
    jwt_t *raw = NULL;

    (void)state;
    /* Demonstrates the trap the module guards against. */
    assert_int_equal(
        jwt_decode(&raw, token, (const unsigned char *)pair.public_pem, (int)strlen(pair.public_pem)), 0);
    jwt_free(raw);

    assert_int_equal(cf_jwt_keys_es256(&keys, pair.private_pem, pair.public_pem, NULL), CF_OK);
    expect_refusal(&keys, token, CF_E_INVALID_TOKEN, "algorithm");
    cf_jwt_keys_dispose(&keys);
    free(token);
    es_pair_free(&pair);
}

static void test_bad_signature_refused(void **state)
{
    struct cf_jwt_keys keys;
    struct cf_jwt_keys other;
    struct cf_jwt_claims claims = sample_claims();
    char *token = NULL;
    char *sig = NULL;
    char *payload = NULL;
    char *wrong_key = NULL;
    char saved;

    (void)state;
    hs_keys(&keys);
    assert_int_equal(cf_jwt_sign(&keys, &claims, &token, NULL), CF_OK);

    /* One byte of the signature flipped. */
    sig = strrchr(token, '.') + 5;
    saved = *sig;
    *sig = saved == 'A' ? 'B' : 'A';
    expect_refusal(&keys, token, CF_E_INVALID_TOKEN, "signature");
    *sig = saved;
    assert_int_equal(cf_jwt_verify(&keys, token, NOW, &claims, NULL), CF_OK);

    /* One byte of the payload flipped. */
    payload = strchr(token, '.') + 3;
    saved = *payload;
    *payload = saved == 'A' ? 'B' : 'A';
    expect_refusal(&keys, token, CF_E_INVALID_TOKEN, "signature");
    *payload = saved;
    assert_int_equal(cf_jwt_verify(&keys, token, NOW, &claims, NULL), CF_OK);

    /* Signature truncated. */
    token[strlen(token) - 1] = '\0';
    expect_refusal(&keys, token, CF_E_INVALID_TOKEN, "signature");

    /* Signed with another secret. */
    assert_int_equal(cf_jwt_keys_hs256(&other, "another secret of at least 32 bytes!!", 37, NULL), CF_OK);
    assert_int_equal(cf_jwt_sign(&other, &claims, &wrong_key, NULL), CF_OK);
    expect_refusal(&keys, wrong_key, CF_E_INVALID_TOKEN, "signature");

    cf_jwt_keys_dispose(&other);
    cf_jwt_keys_dispose(&keys);
    free(wrong_key);
    free(token);
}

static void test_missing_claims_refused(void **state)
{
    struct cf_jwt_keys keys;
    static const struct {
        const char *grants;
        const char *needle;
    } cases[] = {
        {"{\"sub\":\"acme\",\"jti\":\"t1\"}", "exp"},
        {"{\"jti\":\"t1\",\"exp\":1700003600}", "sub"},
        {"{\"sub\":\"acme\",\"exp\":1700003600}", "jti"},
        {"{\"sub\":\"acme\",\"jti\":\"t1\",\"exp\":\"1700003600\"}", "exp"},
        {"{\"sub\":\"acme\",\"jti\":\"t1\",\"exp\":1700003600.5}", "exp"},
        {"{\"sub\":\"acme\",\"jti\":\"t1\",\"exp\":-5}", "exp"},
        {"{\"sub\":42,\"jti\":\"t1\",\"exp\":1700003600}", "sub"},
        {"{\"sub\":\"\",\"jti\":\"t1\",\"exp\":1700003600}", "sub"},
        {"{\"sub\":\"acme\",\"jti\":[\"t1\"],\"exp\":1700003600}", "jti"},
        {"{\"sub\":\"acme\",\"jti\":\"t 1\",\"exp\":1700003600}", "jti"},
        /* 65 characters of sub, 37 of jti. */
        {"{\"sub\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",\"jti\":\"t1\","
         "\"exp\":1700003600}",
         "sub"},
        {"{\"sub\":\"acme\",\"jti\":\"0f8fad5b-d9cb-469f-a165-70867728950ee\",\"exp\":1700003600}", "jti"},
        {"{\"sub\":\"acme\",\"jti\":\"t1\",\"exp\":1700003600,\"iat\":\"yesterday\"}", "iat"},
    };

    (void)state;
    hs_keys(&keys);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *token = forge(JWT_ALG_HS256, SECRET, strlen(SECRET), cases[i].grants);

        expect_refusal(&keys, token, CF_E_INVALID_TOKEN, cases[i].needle);
        free(token);
    }
    cf_jwt_keys_dispose(&keys);
}

static void test_claims_at_limits_accepted(void **state)
{
    struct cf_jwt_keys keys;
    struct cf_jwt_claims got;
    /* 64 characters of sub, 36 of jti, no iat. */
    char *token =
        forge(JWT_ALG_HS256, SECRET, strlen(SECRET),
              "{\"sub\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\","
              "\"jti\":\"0f8fad5b-d9cb-469f-a165-70867728950e\",\"exp\":1700000001,\"extra\":true}");

    (void)state;
    hs_keys(&keys);
    assert_int_equal(cf_jwt_verify(&keys, token, NOW, &got, NULL), CF_OK);
    assert_int_equal(strlen(got.sub), 64);
    assert_int_equal(strlen(got.jti), 36);
    assert_int_equal(got.iat, 0);
    assert_int_equal(got.exp, NOW + 1);
    cf_jwt_keys_dispose(&keys);
    free(token);
}

static void test_expired_refused(void **state)
{
    struct cf_jwt_keys keys;
    struct cf_jwt_claims claims = sample_claims();
    struct cf_jwt_claims got;
    char *token = NULL;
    char *epoch = forge(JWT_ALG_HS256, SECRET, strlen(SECRET), "{\"sub\":\"acme\",\"jti\":\"t1\",\"exp\":1}");

    (void)state;
    hs_keys(&keys);
    claims.exp = NOW;
    assert_int_equal(cf_jwt_sign(&keys, &claims, &token, NULL), CF_OK);
    expect_refusal(&keys, token, CF_E_TOKEN_EXPIRED, "expired");
    assert_int_equal(cf_jwt_verify(&keys, token, NOW - 1, &got, NULL), CF_OK);
    expect_refusal(&keys, epoch, CF_E_TOKEN_EXPIRED, "expired");
    cf_jwt_keys_dispose(&keys);
    free(epoch);
    free(token);
}

static void test_garbage_refused(void **state)
{
    struct cf_jwt_keys keys;
    struct cf_jwt_claims got;
    struct cf_error err;
    char *long_token = malloc(20000);
    char *not_json = hand_built("{\"alg\":\"HS256\"}", "not json", "c2lnbmF0dXJl");
    char *header_array = hand_built("[\"HS256\"]", GOOD_GRANTS, "c2lnbmF0dXJl");
    char *header_text = hand_built("alg=HS256", GOOD_GRANTS, "c2lnbmF0dXJl");
    static const char *const garbage[] = {
        "",
        "abc",
        "a.b",
        "a.b.c",
        "..",
        "...",
        "a.b.c.d",
        "Bearer eyJhbGciOiJIUzI1NiJ9.e30.c2ln",
        "eyJhbGciOiJIUzI1NiJ9.e30.c2ln=",
        "eyJhbGciOiJIUzI1NiJ9..c2ln",
        "eyJhbGciOiJIUzI1NiJ9.e30.",
        "eyJhbGciOiJIUzI1NiJ9.e30",
        "\xff\xfe.\x01.\x02",
        "eyJhbGciOiJIUzI1NiJ9\n.e30.c2ln",
    };

    (void)state;
    assert_non_null(long_token);
    memset(long_token, 'A', 19999);
    long_token[19999] = '\0';
    long_token[100] = '.';
    long_token[200] = '.';
    hs_keys(&keys);
    for (size_t i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++) {
        cf_error_init(&err);
        assert_int_equal(cf_jwt_verify(&keys, garbage[i], NOW, &got, &err), CF_E_INVALID_TOKEN);
        assert_true(strlen(err.message) > 10);
        assert_non_null(strstr(err.message, "token"));
        cf_error_dispose(&err);
    }
    expect_refusal(&keys, long_token, CF_E_INVALID_TOKEN, "longer");
    expect_refusal(&keys, "", CF_E_INVALID_TOKEN, "empty");
    expect_refusal(&keys, NULL, CF_E_INVALID_TOKEN, "empty");
    expect_refusal(&keys, "a.b.c.d", CF_E_INVALID_TOKEN, "three");
    expect_refusal(&keys, not_json, CF_E_INVALID_TOKEN, "signature");
    expect_refusal(&keys, header_array, CF_E_INVALID_TOKEN, "header");
    expect_refusal(&keys, header_text, CF_E_INVALID_TOKEN, "header");
    cf_jwt_keys_dispose(&keys);
    free(header_text);
    free(header_array);
    free(not_json);
    free(long_token);
}

/* A token with a correct HS256 signature over a header and payload given as raw text. */
static char *hs256_signed(const char *header_json, const char *payload_json)
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    char *unsigned_token = hand_built(header_json, payload_json, "");
    char *sig = NULL;
    char *token = NULL;
    size_t len;

    unsigned_token[strlen(unsigned_token) - 1] = '\0';
    assert_non_null(HMAC(EVP_sha256(), SECRET, (int)strlen(SECRET), (const unsigned char *)unsigned_token,
                         strlen(unsigned_token), mac, &mac_len));
    sig = malloc(4 * ((mac_len + 2) / 3) + 1);
    assert_non_null(sig);
    EVP_EncodeBlock((unsigned char *)sig, mac, (int)mac_len);
    for (char *c = sig; *c != '\0'; c++) {
        if (*c == '+')
            *c = '-';
        else if (*c == '/')
            *c = '_';
        else if (*c == '=')
            *c = '\0';
    }
    len = strlen(unsigned_token) + strlen(sig) + 2;
    token = malloc(len);
    assert_non_null(token);
    snprintf(token, len, "%s.%s", unsigned_token, sig);
    free(sig);
    free(unsigned_token);
    return token;
}

static void test_signed_odd_payloads(void **state)
{
    struct cf_jwt_keys keys;
    struct cf_jwt_claims got;
    char *good = hs256_signed("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", GOOD_GRANTS);
    char *array = hs256_signed("{\"alg\":\"HS256\"}", "[1,2,3]");
    char *text = hs256_signed("{\"alg\":\"HS256\"}", "not json");
    char *swapped = NULL;
    char *body = b64url("{\"sub\":\"system\",\"jti\":\"t1\",\"exp\":1700003600}");
    size_t len;

    (void)state;
    hs_keys(&keys);
    /* The helper itself makes acceptable tokens. */
    assert_int_equal(cf_jwt_verify(&keys, good, NOW, &got, NULL), CF_OK);
    assert_string_equal(got.sub, "acme-corp");
    expect_refusal(&keys, array, CF_E_INVALID_TOKEN, "token");
    expect_refusal(&keys, text, CF_E_INVALID_TOKEN, "token");

    /* Another payload under a valid token's signature. */
    len = strlen(good) + strlen(body) + 1;
    swapped = malloc(len);
    assert_non_null(swapped);
    snprintf(swapped, len, "%.*s.%s%s", (int)(strchr(good, '.') - good), good, body, strrchr(good, '.'));
    expect_refusal(&keys, swapped, CF_E_INVALID_TOKEN, "signature");
    cf_jwt_keys_dispose(&keys);
    free(swapped);
    free(body);
    free(text);
    free(array);
    free(good);
}

static void test_sign_refuses_bad_claims(void **state)
{
    struct cf_jwt_keys keys;
    struct cf_jwt_claims claims = sample_claims();
    struct cf_error err;
    char *token = NULL;

    (void)state;
    cf_error_init(&err);
    hs_keys(&keys);
    claims.sub[0] = '\0';
    assert_int_equal(cf_jwt_sign(&keys, &claims, &token, &err), CF_E_INTERNAL);
    assert_null(token);
    assert_non_null(strstr(err.message, "claims"));
    claims = sample_claims();
    claims.exp = 0;
    assert_int_equal(cf_jwt_sign(&keys, &claims, &token, &err), CF_E_INTERNAL);
    assert_null(token);
    cf_jwt_keys_dispose(&keys);
    cf_error_dispose(&err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alg_names),
        cmocka_unit_test(test_hs256_short_secret_refused),
        cmocka_unit_test(test_hs256_round_trip),
        cmocka_unit_test(test_es256_round_trip),
        cmocka_unit_test(test_es256_bad_keys_refused),
        cmocka_unit_test(test_es256_token_from_other_key_refused),
        cmocka_unit_test(test_alg_none_refused),
        cmocka_unit_test(test_other_hmac_alg_refused),
        cmocka_unit_test(test_es256_token_refused_by_hs256_server),
        cmocka_unit_test(test_hs256_with_public_pem_refused_by_es256_server),
        cmocka_unit_test(test_bad_signature_refused),
        cmocka_unit_test(test_missing_claims_refused),
        cmocka_unit_test(test_claims_at_limits_accepted),
        cmocka_unit_test(test_expired_refused),
        cmocka_unit_test(test_garbage_refused),
        cmocka_unit_test(test_signed_odd_payloads),
        cmocka_unit_test(test_sign_refuses_bad_claims),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
