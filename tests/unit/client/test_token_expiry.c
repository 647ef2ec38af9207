#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "client/token_expiry.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "header.<payload as base64url>.signature" */
static const char *jwt(const char *payload)
{
    static char token[3 * CF_TOKEN_PAYLOAD_MAX];
    char encoded[2 * CF_TOKEN_PAYLOAD_MAX];

    assert_true(sodium_base64_ENCODED_LEN(strlen(payload), sodium_base64_VARIANT_URLSAFE_NO_PADDING) <=
                sizeof(encoded));
    sodium_bin2base64(encoded, sizeof(encoded), (const unsigned char *)payload, strlen(payload),
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    snprintf(token, sizeof(token), "eyJhbGciOiJIUzI1NiJ9.%s.c2ln", encoded);
    return token;
}

static void test_exp_is_read_from_the_payload(void **state)
{
    int64_t exp = 0;

    (void)state;
    assert_true(cf_token_expiry(jwt("{\"sub\":\"acme\",\"exp\":1700000000,\"jti\":\"x\"}"), &exp));
    assert_int_equal(exp, 1700000000);
    /* Bytes that base64url spells with - and _ (">?" and "~~~"). */
    assert_true(cf_token_expiry(jwt("{\"d\":\">?~~~\",\"exp\":42}"), &exp));
    assert_int_equal(exp, 42);
}

static void test_nothing_without_an_integer_exp(void **state)
{
    static const char *payloads[] = {
        "{\"sub\":\"acme\"}", "{\"exp\":\"1700000000\"}", "{\"exp\":1.7e9}", "{\"exp\":null}",
        "[1700000000]",       "1700000000",              "not json",        "",
        "{\"exp\":1,\"exp\":2}", "{\"exp\":99999999999999999999999}",
    };
    int64_t exp = -7;

    (void)state;
    for (size_t i = 0; i < sizeof(payloads) / sizeof(payloads[0]); i++) {
        if (cf_token_expiry(jwt(payloads[i]), &exp))
            fail_msg("an exp found in payload \"%s\"", payloads[i]);
    }
    assert_int_equal(exp, -7);
}

static void test_malformed_tokens(void **state)
{
    static const char *tokens[] = {
        "",
        ".",
        "..",
        "...",
        "abc",
        "abc.def",
        "a..c",
        "a.eyJleHAiOjF9.c.d",
        "a.eyJleHAiOjF9=.c",
        "a.eyJleHAiOjF9==.c",
        "a.eyJ+ZXhwIjoxfQ.c",
        "a.eyJ/ZXhwIjoxfQ.c",
        "a.e.c",
        "a.\xff\xfe.c",
        "a. eyJleHAiOjF9.c",
    };
    int64_t exp = -7;

    (void)state;
    for (size_t i = 0; i < sizeof(tokens) / sizeof(tokens[0]); i++) {
        if (cf_token_expiry(tokens[i], &exp))
            fail_msg("an exp found in token \"%s\"", tokens[i]);
    }
    /* The control: the same payload, well formed ({"exp":1}). */
    assert_true(cf_token_expiry("a.eyJleHAiOjF9.c", &exp));
    assert_int_equal(exp, 1);
}

static void test_payload_past_the_bound(void **state)
{
    char *payload = malloc(CF_TOKEN_PAYLOAD_MAX + 64);
    int64_t exp;

    (void)state;
    assert_non_null(payload);
    memset(payload, ' ', CF_TOKEN_PAYLOAD_MAX + 63);
    memcpy(payload, "{\"exp\":5}", 9);
    payload[CF_TOKEN_PAYLOAD_MAX + 63] = '\0';
    assert_false(cf_token_expiry(jwt(payload), &exp));
    free(payload);
}

/* Random strings over the alphabet that matters: never a crash (ASan and
 * UBSan watch), and what is found is what a well formed token says. */
static void test_random_tokens(void **state)
{
    static const char alphabet[] = "..eyJleHAiOjF9AZaz09-_=+/ \"{}";
    char token[64];
    int64_t exp;

    (void)state;
    srand(12);
    for (int n = 0; n < 200000; n++) {
        size_t len = (size_t)rand() % (sizeof(token) - 1);
        for (size_t i = 0; i < len; i++)
            token[i] = alphabet[(size_t)rand() % (sizeof(alphabet) - 1)];
        token[len] = '\0';
        (void)cf_token_expiry(token, &exp);
    }
}

static void test_warning_within_14_days(void **state)
{
    const int64_t now = 1700000000 - 3 * 86400 - 100; /* 3 days and 100 s before 2023-11-14 22:13:20 */
    char out[1024];

    (void)state;
    assert_true(cf_token_expiry_warning(1700000000, now, "/etc/coffer/token", out, sizeof(out)));
    assert_string_equal(out, "the token expires on 2023-11-14 22:13 UTC, in 3 days: ask an administrator for a "
                             "new token (coffer admin token create) and put it into /etc/coffer/token");
    assert_true(cf_token_expiry_warning(now + 86400 + 5, now, NULL, out, sizeof(out)));
    assert_non_null(strstr(out, ", in 1 day: ask an administrator for a new token (coffer admin token create) "
                                "and put it in place of this one"));
    assert_true(cf_token_expiry_warning(now + 3600, now, NULL, out, sizeof(out)));
    assert_non_null(strstr(out, ", in less than a day: "));
    assert_true(cf_token_expiry_warning(now + CF_TOKEN_EXPIRY_WARN - 1, now, NULL, out, sizeof(out)));
    assert_non_null(strstr(out, ", in 13 days: "));
}

static void test_silent_when_far(void **state)
{
    const int64_t now = 1700000000;
    char out[64] = "untouched";

    (void)state;
    assert_false(cf_token_expiry_warning(now + CF_TOKEN_EXPIRY_WARN, now, NULL, out, sizeof(out)));
    assert_false(cf_token_expiry_warning(now + 365 * 86400, now, NULL, out, sizeof(out)));
    assert_false(cf_token_expiry_warning(INT64_MAX, now, NULL, out, sizeof(out)));
    assert_string_equal(out, "untouched");
}

static void test_expired_and_absurd(void **state)
{
    const int64_t now = 1700000000;
    char out[1024];

    (void)state;
    assert_true(cf_token_expiry_warning(now - 10, now, NULL, out, sizeof(out)));
    assert_non_null(strstr(out, "the token expired on 2023-11-14 22:13 UTC: ask an administrator"));
    /* Far outside what a date can show: no overflow, still a sentence. */
    assert_true(cf_token_expiry_warning(INT64_MIN, now, NULL, out, sizeof(out)));
    assert_non_null(strstr(out, "the token expired on "));
    /* A buffer too small is cut, never overrun. */
    assert_true(cf_token_expiry_warning(now + 10, now, NULL, out, 8));
    assert_int_equal(strlen(out), 7);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exp_is_read_from_the_payload),
        cmocka_unit_test(test_nothing_without_an_integer_exp),
        cmocka_unit_test(test_malformed_tokens),
        cmocka_unit_test(test_payload_past_the_bound),
        cmocka_unit_test(test_random_tokens),
        cmocka_unit_test(test_warning_within_14_days),
        cmocka_unit_test(test_silent_when_far),
        cmocka_unit_test(test_expired_and_absurd),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
