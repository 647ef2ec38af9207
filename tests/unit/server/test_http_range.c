#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "server/http_range.h"

static void expect_range(const char *header, uint64_t size, uint64_t start, uint64_t length)
{
    uint64_t got_start = 0xdead, got_length = 0xbeef;

    if (cf_range_parse(header, size, &got_start, &got_length) != CF_RANGE_OK)
        fail_msg("\"%s\" on %llu bytes is not a satisfiable range", header, (unsigned long long)size);
    if (got_start != start || got_length != length)
        fail_msg("\"%s\" on %llu bytes: start %llu length %llu, expected %llu and %llu", header,
                 (unsigned long long)size, (unsigned long long)got_start, (unsigned long long)got_length,
                 (unsigned long long)start, (unsigned long long)length);
}

static void expect_result(const char *header, uint64_t size, enum cf_range_result expected)
{
    uint64_t start = 0, length = 0;
    enum cf_range_result got = cf_range_parse(header, size, &start, &length);

    if (got != expected)
        fail_msg("\"%s\" on %llu bytes: result %d, expected %d", header ? header : "(null)",
                 (unsigned long long)size, (int)got, (int)expected);
}

static void test_range_first_last(void **state)
{
    (void)state;
    expect_range("bytes=0-0", 100, 0, 1);
    expect_range("bytes=0-99", 100, 0, 100);
    expect_range("bytes=10-19", 100, 10, 10);
    expect_range("bytes=99-99", 100, 99, 1);
    expect_range("bytes=0-0", 1, 0, 1);
}

static void test_range_open_ended(void **state)
{
    (void)state;
    expect_range("bytes=0-", 100, 0, 100);
    expect_range("bytes=40-", 100, 40, 60);
    expect_range("bytes=99-", 100, 99, 1);
}

static void test_range_suffix(void **state)
{
    (void)state;
    expect_range("bytes=-1", 100, 99, 1);
    expect_range("bytes=-10", 100, 90, 10);
    expect_range("bytes=-100", 100, 0, 100);
    /* A suffix longer than the whole is the whole. */
    expect_range("bytes=-500", 100, 0, 100);
    expect_range("bytes=-18446744073709551615", 7, 0, 7);
}

static void test_range_last_beyond_end_is_clamped(void **state)
{
    (void)state;
    expect_range("bytes=0-100", 100, 0, 100);
    expect_range("bytes=50-1000000", 100, 50, 50);
    expect_range("bytes=0-18446744073709551615", 100, 0, 100);
    expect_range("bytes=99-18446744073709551615", 100, 99, 1);
}

static void test_range_unsatisfiable(void **state)
{
    (void)state;
    /* The first byte is beyond the end. */
    expect_result("bytes=100-", 100, CF_RANGE_UNSATISFIABLE);
    expect_result("bytes=100-200", 100, CF_RANGE_UNSATISFIABLE);
    expect_result("bytes=1000-", 100, CF_RANGE_UNSATISFIABLE);
    expect_result("bytes=18446744073709551615-", 100, CF_RANGE_UNSATISFIABLE);
    /* A suffix of nothing. */
    expect_result("bytes=-0", 100, CF_RANGE_UNSATISFIABLE);
    /* An empty representation has no byte to send. */
    expect_result("bytes=0-", 0, CF_RANGE_UNSATISFIABLE);
    expect_result("bytes=0-0", 0, CF_RANGE_UNSATISFIABLE);
    expect_result("bytes=-5", 0, CF_RANGE_UNSATISFIABLE);
    expect_result("bytes=-0", 0, CF_RANGE_UNSATISFIABLE);
}

static void test_range_ignored(void **state)
{
    (void)state;
    expect_result(NULL, 100, CF_RANGE_NONE);
    expect_result("", 100, CF_RANGE_NONE);
    /* Last before first is invalid and ignored, not unsatisfiable. */
    expect_result("bytes=20-10", 100, CF_RANGE_NONE);
    expect_result("bytes=200-100", 100, CF_RANGE_NONE);
    /* Several ranges would need multipart/byteranges: the whole is sent. */
    expect_result("bytes=0-1,5-6", 100, CF_RANGE_NONE);
    expect_result("bytes=0-1, 5-6", 100, CF_RANGE_NONE);
    expect_result("bytes=-5,0-1", 100, CF_RANGE_NONE);
    expect_result("bytes=0-,", 100, CF_RANGE_NONE);
}

static void test_range_junk(void **state)
{
    static const char *const junk[] = {
        "bytes",     "bytes=",    "bytes=-",     "bytes=--1",   "bytes=1--2", "bytes=a-b",  "bytes=1-b",
        "bytes=a-1", "bytes=1",   "bytes=1-2x",  "bytes=0x1-2", "bytes=+1-2", "bytes=-1-2", "items=0-1",
        "bytes 0-1", "bytes:0-1", "bytes=1.5-2", "0-1",         "bytes=0-1;", "=0-1",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++)
        expect_result(junk[i], 100, CF_RANGE_NONE);
}

static void test_range_overflowing_digits(void **state)
{
    (void)state;
    /* 2^64 and beyond do not fit: the header is ignored, never wrapped around
     * into a small number. */
    expect_result("bytes=18446744073709551616-", 100, CF_RANGE_NONE);
    expect_result("bytes=18446744073709551626-5", 100, CF_RANGE_NONE);
    expect_result("bytes=0-18446744073709551616", 100, CF_RANGE_NONE);
    expect_result("bytes=-18446744073709551616", 100, CF_RANGE_NONE);
    expect_result("bytes=99999999999999999999999999999999-", 100, CF_RANGE_NONE);
}

static void test_range_large_sizes(void **state)
{
    const uint64_t big = UINT64_C(1) << 40;

    (void)state;
    expect_range("bytes=1099511627775-", big, big - 1, 1);
    expect_result("bytes=1099511627776-", big, CF_RANGE_UNSATISFIABLE);
    expect_range("bytes=-1099511627776", big, 0, big);
    expect_range("bytes=1024-2047", big, 1024, 1024);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_range_first_last),    cmocka_unit_test(test_range_open_ended),
        cmocka_unit_test(test_range_suffix),        cmocka_unit_test(test_range_last_beyond_end_is_clamped),
        cmocka_unit_test(test_range_unsatisfiable), cmocka_unit_test(test_range_ignored),
        cmocka_unit_test(test_range_junk),          cmocka_unit_test(test_range_overflowing_digits),
        cmocka_unit_test(test_range_large_sizes),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
