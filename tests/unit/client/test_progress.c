#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "client/progress.h"

static void expect_line(const char *label, uint64_t bytes, uint64_t total, double seconds, const char *want)
{
    char line[160];

    cf_progress_format(line, sizeof(line), label, bytes, total, seconds);
    assert_string_equal(line, want);
}

static void test_unknown_size(void **state)
{
    (void)state;
    expect_line("push db", 0, 0, 0.0, "push db  0 B  -");
    expect_line("push db", 512, 0, 1.0, "push db  512 B  512 B/s");
    expect_line("push db", 3ULL << 30, 0, 30.0, "push db  3 GiB  102.4 MiB/s");
}

static void test_known_size_has_share_and_eta(void **state)
{
    (void)state;
    expect_line("pull db", 1536ULL << 20, 3ULL << 30, 20.0,
                "pull db  1.5 GiB of 3 GiB (50%)  76.8 MiB/s  ETA 0:00:20");
    expect_line("pull db", 1ULL << 20, 100ULL << 20, 1.0,
                "pull db  1 MiB of 100 MiB (1%)  1 MiB/s  ETA 0:01:39");
    expect_line("pull db", 1ULL << 20, 10ULL << 30, 1.0,
                "pull db  1 MiB of 10 GiB (0%)  1 MiB/s  ETA 2:50:39");
}

static void test_done_and_no_rate_yet(void **state)
{
    (void)state;
    expect_line("upload x", 100, 100, 2.0, "upload x  100 B of 100 B (100%)  50 B/s");
    expect_line("upload x", 0, 100, 0.0, "upload x  0 B of 100 B (0%)  -");
    /* More than announced (a body that grew) never shows past 100%. */
    expect_line("upload x", 150, 100, 1.0, "upload x  150 B of 100 B (100%)  150 B/s");
}

static void test_line_is_cut_to_the_buffer(void **state)
{
    char line[16];

    (void)state;
    cf_progress_format(line, sizeof(line), "a-very-long-label", 1, 2, 1.0);
    assert_int_equal(line[15], '\0');
}

static void test_disabled_progress_draws_nothing(void **state)
{
    struct cf_progress p;

    (void)state;
    cf_progress_init(&p, "x", 10, false);
    cf_progress_add(&p, 5);
    assert_int_equal(p.bytes, 5);
    assert_false(p.drawn);
    cf_progress_done(&p);
    cf_progress_add(NULL, 5);
    cf_progress_done(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unknown_size),
        cmocka_unit_test(test_known_size_has_share_and_eta),
        cmocka_unit_test(test_done_and_no_rate_yet),
        cmocka_unit_test(test_line_is_cut_to_the_buffer),
        cmocka_unit_test(test_disabled_progress_draws_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
