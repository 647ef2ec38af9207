#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common/error.h"

#include <errno.h>
#include <string.h>

static void test_every_code_has_a_name_and_status(void **state)
{
    for (int code = 0; code < CF_E_COUNT_; code++) {
        const char *name = cf_code_name((cf_code)code);
        int status = cf_code_http_status((cf_code)code);

        assert_non_null(name);
        assert_true(name[0] != '\0');
        assert_true(status >= 200 && status <= 599);
    }
}

static void test_http_status_by_code(void **state)
{
    assert_int_equal(cf_code_http_status(CF_OK), 200);
    assert_int_equal(cf_code_http_status(CF_E_INVALID_SIZE), 400);
    assert_int_equal(cf_code_http_status(CF_E_TOKEN_EXPIRED), 401);
    assert_int_equal(cf_code_http_status(CF_E_PERMISSION_DENIED), 403);
    assert_int_equal(cf_code_http_status(CF_E_NOT_FOUND), 404);
    assert_int_equal(cf_code_http_status(CF_E_METHOD_NOT_ALLOWED), 405);
    assert_int_equal(cf_code_http_status(CF_E_COLLECTION_EXISTS), 409);
    assert_int_equal(cf_code_http_status(CF_E_BODY_TOO_LARGE), 413);
    assert_int_equal(cf_code_http_status(CF_E_RANGE_NOT_SATISFIABLE), 416);
    assert_int_equal(cf_code_http_status(CF_E_RATE_LIMITED), 429);
    assert_int_equal(cf_code_http_status(CF_E_IO), 500);
    assert_int_equal(cf_code_http_status(CF_E_DB_UNAVAILABLE), 503);
    assert_int_equal(cf_code_http_status(CF_E_STORAGE_FULL), 507);
}

static void test_names_by_code(void **state)
{
    assert_string_equal(cf_code_name(CF_E_COLLECTION_FULL), "collection_full");
    assert_string_equal(cf_code_name(CF_E_RESTRICTED), "token_restricted");
    assert_string_equal(cf_code_name(CF_E_VALIDATION), "validation_failed");
    assert_string_equal(cf_code_name(CF_E_NOMEM), "internal_error");
    assert_string_equal(cf_code_name(CF_E_IO), "internal_error");
}

static void test_out_of_range_code_is_internal(void **state)
{
    assert_int_equal(cf_code_http_status(CF_E_COUNT_), 500);
    assert_string_equal(cf_code_name(CF_E_COUNT_), "internal_error");
}

static void test_name_round_trips_to_code(void **state)
{
    for (int code = 1; code < CF_E_COUNT_; code++) {
        cf_code back = cf_code_from_name(cf_code_name((cf_code)code));

        /* The internal codes share one API name and map back to CF_E_INTERNAL. */
        if (code == CF_E_NOMEM || code == CF_E_IO)
            assert_int_equal(back, CF_E_INTERNAL);
        else
            assert_int_equal(back, code);
    }
}

static void test_unknown_name_is_internal(void **state)
{
    assert_int_equal(cf_code_from_name("no_such_code"), CF_E_INTERNAL);
    assert_int_equal(cf_code_from_name(""), CF_E_INTERNAL);
}

static void test_fail_fills_code_and_message(void **state)
{
    struct cf_error err;

    cf_error_init(&err);
    assert_int_equal(cf_fail(&err, CF_E_NOT_FOUND, "collection \"%s\" (%d) not found", "photos", 7),
                     CF_E_NOT_FOUND);
    assert_int_equal(err.code, CF_E_NOT_FOUND);
    assert_string_equal(err.message, "collection \"photos\" (7) not found");
    assert_null(err.fields);
    cf_error_dispose(&err);
}

static void test_fail_with_null_error_returns_code(void **state)
{
    assert_int_equal(cf_fail(NULL, CF_E_CONFLICT, "ignored %d", 1), CF_E_CONFLICT);
    cf_error_field(NULL, "name", "ignored");
    cf_error_dispose(NULL);
}

static void test_long_message_is_truncated(void **state)
{
    struct cf_error err;
    char long_text[1000];

    memset(long_text, 'm', sizeof(long_text) - 1);
    long_text[sizeof(long_text) - 1] = '\0';
    cf_error_init(&err);
    cf_fail(&err, CF_E_BAD_REQUEST, "%s", long_text);
    assert_int_equal(strlen(err.message), sizeof(err.message) - 1);
    cf_error_dispose(&err);
}

static void test_later_fail_keeps_fields(void **state)
{
    struct cf_error err;

    cf_error_init(&err);
    cf_error_field(&err, "name", "must not be empty");
    cf_error_field(&err, "max_size", "must be at most %d", 10);
    cf_fail(&err, CF_E_VALIDATION, "the request has %d invalid fields", 2);
    assert_int_equal(err.code, CF_E_VALIDATION);
    assert_string_equal(err.message, "the request has 2 invalid fields");
    assert_non_null(err.fields);
    assert_string_equal(json_string_value(json_object_get(err.fields, "name")), "must not be empty");
    assert_string_equal(json_string_value(json_object_get(err.fields, "max_size")), "must be at most 10");
    cf_error_dispose(&err);
}

static void test_dispose_leaves_error_reusable(void **state)
{
    struct cf_error err;

    cf_error_init(&err);
    cf_error_field(&err, "name", "bad");
    cf_fail(&err, CF_E_VALIDATION, "bad");
    cf_error_dispose(&err);
    assert_int_equal(err.code, CF_OK);
    assert_string_equal(err.message, "");
    assert_null(err.fields);
    cf_fail(&err, CF_E_IO, "disk");
    assert_string_equal(err.message, "disk");
    cf_error_dispose(&err);
}

static void test_to_json_body(void **state)
{
    struct cf_error err;
    json_t *body;

    cf_error_init(&err);
    cf_fail(&err, CF_E_COLLECTION_FULL, "collection \"docs\" is full");
    body = cf_error_to_json(&err);
    assert_non_null(body);
    assert_string_equal(json_string_value(json_object_get(body, "error")), "collection \"docs\" is full");
    assert_string_equal(json_string_value(json_object_get(body, "code")), "collection_full");
    assert_null(json_object_get(body, "fields"));
    json_decref(body);
    cf_error_dispose(&err);
}

static void test_to_json_with_fields(void **state)
{
    struct cf_error err;
    json_t *body;

    cf_error_init(&err);
    cf_error_field(&err, "name", "too long");
    cf_fail(&err, CF_E_VALIDATION, "invalid request");
    body = cf_error_to_json(&err);
    assert_non_null(body);
    assert_string_equal(json_string_value(json_object_get(body, "code")), "validation_failed");
    assert_string_equal(json_string_value(json_object_get(json_object_get(body, "fields"), "name")),
                        "too long");
    json_decref(body);
    cf_error_dispose(&err);
}

static void test_to_json_without_message_uses_code_name(void **state)
{
    struct cf_error err;
    json_t *body;

    cf_error_init(&err);
    err.code = CF_E_RATE_LIMITED;
    body = cf_error_to_json(&err);
    assert_non_null(body);
    assert_string_equal(json_string_value(json_object_get(body, "error")), "rate_limited");
    json_decref(body);
    cf_error_dispose(&err);
}

static void test_write_errno_mapping(void **state)
{
    assert_int_equal(cf_code_from_write_errno(ENOSPC), CF_E_STORAGE_FULL);
    assert_int_equal(cf_code_from_write_errno(EDQUOT), CF_E_STORAGE_FULL);
    assert_int_equal(cf_code_from_write_errno(EIO), CF_E_IO);
    assert_int_equal(cf_code_from_write_errno(EACCES), CF_E_IO);
}

static void test_errno_text(void **state)
{
    char buf[128];

    (void)state;
    assert_string_equal(cf_errno_text(ENOENT, buf, sizeof(buf)), "No such file or directory");
    assert_string_equal(cf_errno_text(ENOSPC, buf, sizeof(buf)), "No space left on device");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_code_has_a_name_and_status),
        cmocka_unit_test(test_http_status_by_code),
        cmocka_unit_test(test_names_by_code),
        cmocka_unit_test(test_out_of_range_code_is_internal),
        cmocka_unit_test(test_name_round_trips_to_code),
        cmocka_unit_test(test_unknown_name_is_internal),
        cmocka_unit_test(test_fail_fills_code_and_message),
        cmocka_unit_test(test_fail_with_null_error_returns_code),
        cmocka_unit_test(test_long_message_is_truncated),
        cmocka_unit_test(test_later_fail_keeps_fields),
        cmocka_unit_test(test_dispose_leaves_error_reusable),
        cmocka_unit_test(test_to_json_body),
        cmocka_unit_test(test_to_json_with_fields),
        cmocka_unit_test(test_to_json_without_message_uses_code_name),
        cmocka_unit_test(test_write_errno_mapping),
        cmocka_unit_test(test_errno_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
