#include "server/rate_limit.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include <cmocka.h>

static void test_failures_within_the_limit_pass(void **state)
{
    struct cf_rate_limit *rl = cf_rate_limit_new(3, 60);

    (void)state;
    assert_int_equal(cf_rate_limit_failure(rl, "192.0.2.1", 1000), 0);
    assert_int_equal(cf_rate_limit_failure(rl, "192.0.2.1", 1001), 0);
    assert_int_equal(cf_rate_limit_failure(rl, "192.0.2.1", 1002), 0);
    cf_rate_limit_free(rl);
}

static void test_failure_past_the_limit_gives_the_rest_of_the_window(void **state)
{
    struct cf_rate_limit *rl = cf_rate_limit_new(2, 60);

    (void)state;
    cf_rate_limit_failure(rl, "192.0.2.1", 1000);
    cf_rate_limit_failure(rl, "192.0.2.1", 1010);
    assert_int_equal(cf_rate_limit_failure(rl, "192.0.2.1", 1020), 40);
    assert_int_equal(cf_rate_limit_failure(rl, "192.0.2.1", 1059), 1);
    cf_rate_limit_free(rl);
}

static void test_window_end_starts_over(void **state)
{
    struct cf_rate_limit *rl = cf_rate_limit_new(1, 60);

    (void)state;
    cf_rate_limit_failure(rl, "2001:db8::1", 1000);
    assert_true(cf_rate_limit_failure(rl, "2001:db8::1", 1001) > 0);
    assert_int_equal(cf_rate_limit_failure(rl, "2001:db8::1", 1060), 0);
    cf_rate_limit_free(rl);
}

static void test_addresses_are_counted_apart(void **state)
{
    struct cf_rate_limit *rl = cf_rate_limit_new(1, 60);

    (void)state;
    cf_rate_limit_failure(rl, "192.0.2.1", 1000);
    assert_true(cf_rate_limit_failure(rl, "192.0.2.1", 1000) > 0);
    assert_int_equal(cf_rate_limit_failure(rl, "192.0.2.2", 1000), 0);
    cf_rate_limit_free(rl);
}

static void test_many_addresses_keep_memory_fixed_and_recent_ones_counted(void **state)
{
    struct cf_rate_limit *rl = cf_rate_limit_new(1, 60);
    char address[64];

    (void)state;
    /* Far more addresses than slots, all long expired. */
    for (int i = 0; i < 3 * CF_RATE_LIMIT_SLOTS; i++) {
        snprintf(address, sizeof(address), "10.0.%d.%d", i / 256, i % 256);
        cf_rate_limit_failure(rl, address, 0);
    }
    cf_rate_limit_failure(rl, "198.51.100.7", 5000);
    assert_true(cf_rate_limit_failure(rl, "198.51.100.7", 5001) > 0);
    cf_rate_limit_free(rl);
}

static void test_zero_disables(void **state)
{
    struct cf_rate_limit *rl = cf_rate_limit_new(0, 60);

    (void)state;
    for (int i = 0; i < 100; i++)
        assert_int_equal(cf_rate_limit_failure(rl, "192.0.2.1", 1000), 0);
    assert_int_equal(cf_rate_limit_failure(NULL, "192.0.2.1", 1000), 0);
    cf_rate_limit_free(rl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_failures_within_the_limit_pass),
        cmocka_unit_test(test_failure_past_the_limit_gives_the_rest_of_the_window),
        cmocka_unit_test(test_window_end_starts_over),
        cmocka_unit_test(test_addresses_are_counted_apart),
        cmocka_unit_test(test_many_addresses_keep_memory_fixed_and_recent_ones_counted),
        cmocka_unit_test(test_zero_disables),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
