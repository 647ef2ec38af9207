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

struct seen {
    int calls;
    int last_retry;
    int64_t last_delay;
};

static void count_retry(void *ctx, int retry, int64_t delay_ms, const struct cf_error *why)
{
    struct seen *seen = ctx;

    assert_non_null(why);
    seen->calls++;
    seen->last_retry = retry;
    seen->last_delay = delay_ms;
}

static void test_worst_wait_is_the_sum_of_the_schedule(void **state)
{
    /* The defaults of docs/client.md: 2 + 4 + 8 + 16 s. */
    struct cf_retry_policy defaults = {4, 2000, 300000};
    struct cf_retry_policy capped = {5, 2000, 5000};
    struct cf_retry_policy none = {0, 2000, 300000};

    (void)state;
    assert_int_equal(cf_retry_worst_wait_ms(&defaults), 30000);
    assert_int_equal(cf_retry_worst_wait_ms(&capped), 2000 + 4000 + 5000 + 5000 + 5000);
    assert_int_equal(cf_retry_worst_wait_ms(&none), 0);
}

static void test_budget_is_shared_by_every_request_of_a_command(void **state)
{
    struct cf_retry_policy p = {3, 0, 0};
    struct cf_retry r;
    struct cf_error err;
    struct seen seen = {0, 0, 0};

    (void)state;
    cf_error_init(&err);
    cf_fail(&err, CF_E_NETWORK, "cannot talk to the server");
    cf_retry_init(&r, &p, count_retry, &seen);
    /* One request retried twice, then another once: the budget is then spent
     * for every later request, however many layers ask. */
    assert_true(cf_retry_again(&r, CF_E_NETWORK, &err));
    assert_true(cf_retry_again(&r, CF_E_INTERNAL, &err));
    assert_true(cf_retry_again(&r, CF_E_NETWORK, &err));
    assert_int_equal(seen.last_retry, 3);
    assert_false(cf_retry_again(&r, CF_E_NETWORK, &err));
    assert_false(cf_retry_again(&r, CF_E_NETWORK, &err));
    assert_int_equal(seen.calls, 3);
    assert_int_equal(r.used, 3);
    cf_error_dispose(&err);
}

static void test_refusals_spend_nothing(void **state)
{
    struct cf_retry_policy p = {1, 0, 0};
    struct cf_retry r;
    struct seen seen = {0, 0, 0};

    (void)state;
    cf_retry_init(&r, &p, count_retry, &seen);
    assert_false(cf_retry_again(&r, CF_OK, NULL));
    assert_false(cf_retry_again(&r, CF_E_NOT_FOUND, NULL));
    assert_false(cf_retry_again(&r, CF_E_IO, NULL));
    assert_int_equal(seen.calls, 0);
    assert_int_equal(r.used, 0);
}

static void test_hook_is_told_the_schedule(void **state)
{
    struct cf_retry_policy p = {2, 1, 300000};
    struct cf_retry r;
    struct cf_error err;
    struct seen seen = {0, 0, 0};

    (void)state;
    cf_error_init(&err);
    cf_retry_init(&r, &p, count_retry, &seen);
    assert_true(cf_retry_again(&r, CF_E_NETWORK, &err));
    assert_int_equal(seen.last_delay, 1);
    assert_true(cf_retry_again(&r, CF_E_NETWORK, &err));
    assert_int_equal(seen.last_delay, 2);
    cf_error_dispose(&err);
}

static void test_no_hook_and_no_retries(void **state)
{
    struct cf_retry_policy p = {0, 2000, 300000};
    struct cf_retry r;

    (void)state;
    cf_retry_init(&r, &p, NULL, NULL);
    assert_false(cf_retry_again(&r, CF_E_NETWORK, NULL));
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
        cmocka_unit_test(test_worst_wait_is_the_sum_of_the_schedule),
        cmocka_unit_test(test_budget_is_shared_by_every_request_of_a_command),
        cmocka_unit_test(test_refusals_spend_nothing),
        cmocka_unit_test(test_hook_is_told_the_schedule),
        cmocka_unit_test(test_no_hook_and_no_retries),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
