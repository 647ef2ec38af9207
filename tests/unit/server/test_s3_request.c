/* What of s3_request.c can be checked without a store: the canonical query
 * encoding that SigV4 signs, and the options a client refuses. Requests
 * themselves run against a real Ceph RGW in test_store_conformance (through
 * tests/integration/test_s3.sh). */
#include "server/s3_request.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

static void assert_contains(const char *text, const char *part)
{
    if (strstr(text, part) == NULL)
        fail_msg("\"%s\" does not contain \"%s\"", text, part);
}

static void test_query_values_are_encoded_as_sigv4_wants(void **state)
{
    struct cf_buf q;

    (void)state;
    cf_buf_init(&q, 256);
    assert_int_equal(cf_s3_query_add(&q, "partNumber", "7"), CF_OK);
    assert_int_equal(cf_s3_query_add(&q, "uploadId", "2~a/b+c=d e"), CF_OK);
    /* Unreserved characters stay, '/' too is encoded, and hex is upper case. */
    assert_string_equal(q.data, "partNumber=7&uploadId=2~a%2Fb%2Bc%3Dd%20e");
    cf_buf_reset(&q);
    /* A bare name is written "name=", as the canonical request has it. */
    assert_int_equal(cf_s3_query_add(&q, "prefix", "coffer/"), CF_OK);
    assert_int_equal(cf_s3_query_add(&q, "uploads", ""), CF_OK);
    assert_string_equal(q.data, "prefix=coffer%2F&uploads=");
    cf_buf_reset(&q);
    q.max = 8;
    assert_int_equal(cf_s3_query_add(&q, "uploadId", "x"), CF_E_BODY_TOO_LARGE);
    cf_buf_dispose(&q);
}

static struct cf_s3_options options(void)
{
    struct cf_s3_options opt = {
        .endpoint = "http://127.0.0.1:7480",
        .bucket = "coffer-test",
        .region = "us-east-1",
        .access_key = "AKIDEXAMPLE",
        .secret_key = "secret",
        .part_size = 8 * 1024 * 1024,
        .tls_verify = true,
        .timeout = 30,
    };
    return opt;
}

static void expect_refused(const struct cf_s3_options *opt, const char *part)
{
    struct cf_s3_client *c = NULL;
    struct cf_error err;

    cf_error_init(&err);
    assert_int_equal(cf_s3_client_new(opt, &c, &err), CF_E_VALIDATION);
    assert_null(c);
    assert_contains(err.message, part);
}

static void test_client_options(void **state)
{
    struct cf_s3_options opt = options();
    struct cf_s3_client *c = NULL;
    struct cf_error err;

    (void)state;
    cf_error_init(&err);
    assert_int_equal(cf_s3_client_new(&opt, &c, &err), CF_OK);
    assert_string_equal(cf_s3_client_name(c), "bucket coffer-test at http://127.0.0.1:7480");
    cf_s3_client_free(c);
    opt.endpoint = "https://s3.example.com/";
    opt.virtual_host = true;
    assert_int_equal(cf_s3_client_new(&opt, &c, &err), CF_OK);
    cf_s3_client_free(c);

    opt = options();
    opt.bucket = "UPPER";
    expect_refused(&opt, "s3_bucket");
    opt.bucket = "ab";
    expect_refused(&opt, "s3_bucket");
    opt.bucket = "-leading";
    expect_refused(&opt, "s3_bucket");
    opt = options();
    opt.endpoint = "s3.example.com";
    expect_refused(&opt, "s3_endpoint");
    opt.endpoint = "https://user:pw@s3.example.com";
    expect_refused(&opt, "no path, query or user");
    opt.endpoint = "https://s3.example.com/bucket";
    expect_refused(&opt, "no path, query or user");
    opt.endpoint = "http://[::1]:7480";
    opt.virtual_host = true;
    expect_refused(&opt, "s3_addressing virtual");
    opt = options();
    opt.region = "us:east";
    expect_refused(&opt, "s3_region");
    opt = options();
    opt.secret_key = "";
    expect_refused(&opt, "secret key");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_query_values_are_encoded_as_sigv4_wants),
        cmocka_unit_test(test_client_options),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
