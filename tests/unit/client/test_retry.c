#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "client/exit_codes.h"
#include "client/retry.h"

static void test_schedule_doubles_up_to_the_cap(void **state)
{
    struct cf_retry_policy p = {5, 2000, 300000};

    (void)state;
    assert_int_equal(cf_retry_delay_ms(&p, 1), 2000);
    assert_int_equal(cf_retry_delay_ms(&p, 2), 4000);
    assert_int_equal(cf_retry_delay_ms(&p, 3), 8000);
    assert_int_equal(cf_retry_delay_ms(&p, 4), 16000);
    assert_int_equal(cf_retry_delay_ms(&p, 8), 256000);
    assert_int_equal(cf_retry_delay_ms(&p, 9), 300000);
    assert_int_equal(cf_retry_delay_ms(&p, 60), 300000);
    /* Far past any overflow of a plain shift. */
    assert_int_equal(cf_retry_delay_ms(&p, 100000), 300000);
}

static void test_schedule_edges(void **state)
{
    struct cf_retry_policy none = {3, 0, 300000};
    struct cf_retry_policy capped = {3, 5000, 1000};

    (void)state;
    assert_int_equal(cf_retry_delay_ms(&none, 1), 0);
    assert_int_equal(cf_retry_delay_ms(&none, 5), 0);
    assert_int_equal(cf_retry_delay_ms(&capped, 1), 1000);
    assert_int_equal(cf_retry_delay_ms(&capped, 0), 0);
}

static void test_network_and_5xx_are_retried(void **state)
{
    (void)state;
    assert_true(cf_retry_worth(CF_E_NETWORK));
    assert_true(cf_retry_worth(CF_E_INTERNAL));
    assert_true(cf_retry_worth(CF_E_DB_UNAVAILABLE));
    assert_true(cf_retry_worth(CF_E_STORAGE_UNAVAILABLE));
}

static void test_4xx_and_local_failures_are_not(void **state)
{
    (void)state;
    for (int code = 1; code < CF_E_COUNT_; code++) {
        if (cf_code_http_status((cf_code)code) < 500)
            assert_false(cf_retry_worth((cf_code)code));
    }
    assert_false(cf_retry_worth(CF_E_IO));
    assert_false(cf_retry_worth(CF_E_NOMEM));
    assert_false(cf_retry_worth(CF_E_COMMAND_FAILED));
    assert_false(cf_retry_worth(CF_E_CHECKSUM_MISMATCH));
    assert_false(cf_retry_worth(CF_E_ACCOUNT_QUOTA_EXCEEDED));
    assert_false(cf_retry_worth(CF_E_STORAGE_FULL));
}

static void test_sleep_zero_returns_at_once(void **state)
{
    (void)state;
    assert_true(cf_retry_sleep(0));
    assert_true(cf_retry_sleep(1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_schedule_doubles_up_to_the_cap),
        cmocka_unit_test(test_schedule_edges),
        cmocka_unit_test(test_network_and_5xx_are_retried),
        cmocka_unit_test(test_4xx_and_local_failures_are_not),
        cmocka_unit_test(test_sleep_zero_returns_at_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
