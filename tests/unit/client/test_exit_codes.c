#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <string.h>

#include "client/exit_codes.h"

static void test_documented_statuses(void **state)
{
    (void)state;
    assert_int_equal(cf_exit_status(CF_OK), 0);
    assert_int_equal(cf_exit_status(CF_E_NETWORK), 3);
    assert_int_equal(cf_exit_status(CF_E_COMMAND_FAILED), 6);
    assert_int_equal(cf_exit_status(CF_E_CHECKSUM_MISMATCH), 5);
    assert_int_equal(cf_exit_status(CF_E_IO), 7);
    assert_int_equal(cf_exit_status(CF_E_NOMEM), 7);
}

static void test_every_401_and_403_is_authentication(void **state)
{
    (void)state;
    for (int code = 1; code < CF_E_COUNT_; code++) {
        int status = cf_code_http_status((cf_code)code);
        if (status != 401 && status != 403)
            continue;
        if (code == CF_E_UNTRUSTED_INTERNAL_FILENAME)
            assert_int_equal(cf_exit_status((cf_code)code), 4);
        else
            assert_int_equal(cf_exit_status((cf_code)code), 2);
    }
    assert_int_equal(cf_exit_status(CF_E_RATE_LIMITED), 2);
}

static void test_other_answers_are_refusals(void **state)
{
    (void)state;
    assert_int_equal(cf_exit_status(CF_E_VALIDATION), 4);
    assert_int_equal(cf_exit_status(CF_E_NOT_FOUND), 4);
    assert_int_equal(cf_exit_status(CF_E_COLLECTION_FULL), 4);
    assert_int_equal(cf_exit_status(CF_E_TOO_MANY_VERSIONS), 4);
    assert_int_equal(cf_exit_status(CF_E_INTERNAL), 4);
    assert_int_equal(cf_exit_status(CF_E_DB_UNAVAILABLE), 4);
    assert_int_equal(cf_exit_status(CF_E_STORAGE_FULL), 4);
    assert_int_equal(cf_exit_status(CF_E_ACCOUNT_QUOTA_EXCEEDED), 4);
}

static void test_every_code_has_a_status_in_range(void **state)
{
    (void)state;
    for (int code = 0; code <= CF_E_COUNT_ + 2; code++) {
        int status = cf_exit_status((cf_code)code);
        assert_true(status >= 0 && status <= 7);
        /* 1 (usage) is the command's own decision, never a failure's. */
        assert_int_not_equal(status, 1);
    }
}

static void test_client_codes_stay_out_of_the_api_table(void **state)
{
    (void)state;
    assert_true(CF_E_NETWORK > CF_E_COUNT_);
    assert_true(CF_E_COMMAND_FAILED > CF_E_COUNT_);
    assert_int_not_equal(CF_E_NETWORK, CF_E_COMMAND_FAILED);
    assert_string_equal(cf_code_name(CF_E_NETWORK), "internal_error");
}

static void test_hints_say_what_to_do(void **state)
{
    (void)state;
    assert_non_null(cf_exit_hint(CF_E_NETWORK, "push"));
    assert_non_null(cf_exit_hint(CF_E_INVALID_TOKEN, "push"));
    assert_non_null(cf_exit_hint(CF_E_PERMISSION_DENIED, "list"));
    assert_non_null(cf_exit_hint(CF_E_COLLECTION_FULL, "push"));
    assert_null(cf_exit_hint(CF_E_VALIDATION, "push"));
    assert_null(cf_exit_hint(CF_E_VALIDATION, NULL));
    /* Each command hears what it can do. */
    assert_non_null(strstr(cf_exit_hint(CF_E_COMMAND_FAILED, "push"), "nothing was kept on the server"));
    assert_null(strstr(cf_exit_hint(CF_E_COMMAND_FAILED, "restore"), "nothing was kept"));
    assert_non_null(strstr(cf_exit_hint(CF_E_COMMAND_FAILED, "restore"), "still on the server"));
    assert_non_null(strstr(cf_exit_hint(CF_E_NOT_FOUND, "pull"), "coffer list"));
    assert_null(strstr(cf_exit_hint(CF_E_NOT_FOUND, "push"), "coffer list"));
    assert_non_null(strstr(cf_exit_hint(CF_E_COLLECTION_NOT_EMPTY, "admin collection delete"), "--force"));
    assert_null(cf_exit_hint(CF_E_COLLECTION_NOT_EMPTY, "push"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_documented_statuses),
        cmocka_unit_test(test_every_401_and_403_is_authentication),
        cmocka_unit_test(test_other_answers_are_refusals),
        cmocka_unit_test(test_every_code_has_a_status_in_range),
        cmocka_unit_test(test_client_codes_stay_out_of_the_api_table),
        cmocka_unit_test(test_hints_say_what_to_do),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
