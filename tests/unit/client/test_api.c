#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "client/api.h"
#include "client/exit_codes.h"

#include <string.h>

static void expect_error(long status, const char *body, cf_code code, const char *message)
{
    struct cf_error err;

    cf_error_init(&err);
    assert_int_equal(cf_api_error_from_response(status, body, body != NULL ? strlen(body) : 0, &err), code);
    assert_int_equal(err.code, code);
    if (strcmp(err.message, message) != 0)
        fail_msg("message \"%s\", want \"%s\"", err.message, message);
    cf_error_dispose(&err);
}

static void test_api_error_bodies_keep_the_servers_words(void **state)
{
    (void)state;
    expect_error(
        413, "{\"error\": \"the collection would hold 6 bytes, more than 4\", \"code\": \"collection_full\"}",
        CF_E_COLLECTION_FULL, "the collection would hold 6 bytes, more than 4 (413 collection_full)");
    expect_error(401, "{\"error\": \"this token has expired\", \"code\": \"token_expired\"}",
                 CF_E_TOKEN_EXPIRED, "this token has expired (401 token_expired)");
    expect_error(500, "{\"error\": \"bug\", \"code\": \"internal_error\"}", CF_E_INTERNAL,
                 "bug (500 internal_error)");
}

static void test_fields_are_kept(void **state)
{
    struct cf_error err;
    const char *body = "{\"error\": \"some fields are not valid\", \"code\": \"validation_failed\","
                       " \"fields\": {\"max_version_size\": \"must not exceed max_collection_size\"}}";

    (void)state;
    cf_error_init(&err);
    assert_int_equal(cf_api_error_from_response(400, body, strlen(body), &err), CF_E_VALIDATION);
    assert_string_equal(json_string_value(json_object_get(err.fields, "max_version_size")),
                        "must not exceed max_collection_size");
    cf_error_dispose(&err);
}

static void test_unknown_codes_fall_back_on_the_status(void **state)
{
    (void)state;
    expect_error(409, "{\"error\": \"new in a later server\", \"code\": \"brand_new_conflict\"}",
                 CF_E_CONFLICT, "new in a later server (409 brand_new_conflict)");
    expect_error(503, "{\"error\": \"later\", \"code\": \"something_else\"}", CF_E_INTERNAL,
                 "later (503 something_else)");
}

static void test_answers_without_an_api_body(void **state)
{
    (void)state;
    expect_error(502, "<html>Bad Gateway</html>", CF_E_INTERNAL,
                 "the server answered 502 without an API error (a proxy in between?)");
    expect_error(413, NULL, CF_E_BODY_TOO_LARGE,
                 "the server answered 413 without an API error (a proxy in between?)");
    expect_error(401, "", CF_E_UNAUTHENTICATED,
                 "the server answered 401 without an API error (a proxy in between?)");
    expect_error(404, "not found", CF_E_NOT_FOUND,
                 "the server answered 404 without an API error; is url the base URL of a Coffer server?");
    expect_error(
        301, "", CF_E_BAD_REQUEST,
        "the server answered 301, a redirect; set url to the address it redirects to (https:// instead of "
        "http://?)");
    expect_error(418, "{\"no\": \"code\"}", CF_E_BAD_REQUEST,
                 "the server answered 418 without an API error (a proxy in between?)");
}

static void test_retry_and_exit_follow_the_status_class(void **state)
{
    struct cf_error err;

    (void)state;
    cf_error_init(&err);
    /* A proxy's 502 is worth a retry and is a refusal (4) when retries run out. */
    assert_true(cf_retry_worth(cf_api_error_from_response(502, "", 0, &err)));
    assert_int_equal(cf_exit_status(cf_api_error_from_response(502, "", 0, &err)), 4);
    assert_false(cf_retry_worth(cf_api_error_from_response(413, "", 0, &err)));
    assert_int_equal(cf_exit_status(cf_api_error_from_response(403, "", 0, &err)), 2);
    cf_error_dispose(&err);
}

static void test_path_segments(void **state)
{
    (void)state;
    assert_true(cf_api_segment_valid("latest"));
    assert_true(cf_api_segment_valid("v12"));
    assert_true(cf_api_segment_valid("3f2a1b0c-9d8e-4f00-8a00-000000000000"));
    assert_true(cf_api_segment_valid("db-prod"));
    assert_false(cf_api_segment_valid(""));
    assert_false(cf_api_segment_valid(".."));
    assert_false(cf_api_segment_valid("a/b"));
    assert_false(cf_api_segment_valid("a?b"));
    assert_false(cf_api_segment_valid("a b"));
    assert_false(cf_api_segment_valid("%2e%2e"));
}

static void test_new_checks_url_and_token(void **state)
{
    struct cf_api_options opts;
    struct cf_api *api = NULL;
    struct cf_error err;

    (void)state;
    memset(&opts, 0, sizeof(opts));
    cf_error_init(&err);
    opts.url = "ftp://example.org";
    opts.token = "t";
    assert_int_equal(cf_api_new(&opts, &api, &err), CF_E_VALIDATION);
    assert_string_equal(err.message,
                        "the server url must start with http:// or https://, not \"ftp://example.org\"");
    opts.url = "https://example.org/coffer/";
    opts.token = "";
    assert_int_equal(cf_api_new(&opts, &api, &err), CF_E_VALIDATION);
    opts.token = "a\nb";
    assert_int_equal(cf_api_new(&opts, &api, &err), CF_E_VALIDATION);
    opts.token = "abc";
    assert_int_equal(cf_api_new(&opts, &api, &err), CF_OK);
    /* Trailing slashes go, the path prefix stays. */
    assert_string_equal(cf_api_options(api)->url, "https://example.org/coffer");
    assert_null(cf_api_options(api)->token);
    cf_api_free(api);
    cf_error_dispose(&err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_api_error_bodies_keep_the_servers_words),
        cmocka_unit_test(test_fields_are_kept),
        cmocka_unit_test(test_unknown_codes_fall_back_on_the_status),
        cmocka_unit_test(test_answers_without_an_api_body),
        cmocka_unit_test(test_retry_and_exit_follow_the_status_class),
        cmocka_unit_test(test_path_segments),
        cmocka_unit_test(test_new_checks_url_and_token),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
