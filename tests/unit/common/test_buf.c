#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common/buf.h"

#include <string.h>

static void test_starts_empty(void **state)
{
    struct cf_buf buf;

    cf_buf_init(&buf, 16);
    assert_null(buf.data);
    assert_int_equal(buf.len, 0);
    assert_int_equal(buf.max, 16);
    cf_buf_dispose(&buf);
}

static void test_append_keeps_nul_termination(void **state)
{
    struct cf_buf buf;

    cf_buf_init(&buf, 1024);
    assert_int_equal(cf_buf_append(&buf, "abc", 3), CF_OK);
    assert_int_equal(buf.len, 3);
    assert_string_equal(buf.data, "abc");
    assert_int_equal(cf_buf_append(&buf, "defg", 2), CF_OK);
    assert_int_equal(buf.len, 5);
    assert_string_equal(buf.data, "abcde");
    assert_int_equal(buf.data[buf.len], '\0');
    cf_buf_dispose(&buf);
}

static void test_empty_append_gives_empty_string(void **state)
{
    struct cf_buf buf;

    cf_buf_init(&buf, 8);
    assert_int_equal(cf_buf_append(&buf, NULL, 0), CF_OK);
    assert_non_null(buf.data);
    assert_string_equal(buf.data, "");
    cf_buf_dispose(&buf);
}

static void test_grows_past_first_allocation(void **state)
{
    struct cf_buf buf;
    char chunk[1000];

    memset(chunk, 'z', sizeof(chunk));
    cf_buf_init(&buf, 100000);
    for (int i = 0; i < 100; i++)
        assert_int_equal(cf_buf_append(&buf, chunk, sizeof(chunk)), CF_OK);
    assert_int_equal(buf.len, 100000);
    assert_true(buf.cap >= buf.len + 1);
    assert_int_equal(buf.data[99999], 'z');
    assert_int_equal(buf.data[100000], '\0');
    cf_buf_dispose(&buf);
}

static void test_bound_reached_exactly_is_allowed(void **state)
{
    struct cf_buf buf;

    cf_buf_init(&buf, 5);
    assert_int_equal(cf_buf_append(&buf, "12345", 5), CF_OK);
    assert_string_equal(buf.data, "12345");
    assert_int_equal(cf_buf_append(&buf, "", 0), CF_OK);
    cf_buf_dispose(&buf);
}

static void test_bound_refused_and_buffer_unchanged(void **state)
{
    struct cf_buf buf;

    cf_buf_init(&buf, 5);
    assert_int_equal(cf_buf_append(&buf, "123", 3), CF_OK);
    assert_int_equal(cf_buf_append(&buf, "456", 3), CF_E_BODY_TOO_LARGE);
    assert_int_equal(buf.len, 3);
    assert_string_equal(buf.data, "123");
    assert_true(buf.cap <= buf.max + 1);
    cf_buf_dispose(&buf);
}

static void test_huge_length_refused_without_overflow(void **state)
{
    struct cf_buf buf;

    cf_buf_init(&buf, 10);
    assert_int_equal(cf_buf_append(&buf, "ab", 2), CF_OK);
    assert_int_equal(cf_buf_append(&buf, "x", SIZE_MAX), CF_E_BODY_TOO_LARGE);
    assert_int_equal(buf.len, 2);
    assert_string_equal(buf.data, "ab");
    cf_buf_dispose(&buf);
}

static void test_zero_max_refuses_everything(void **state)
{
    struct cf_buf buf;

    cf_buf_init(&buf, 0);
    assert_int_equal(cf_buf_append(&buf, "a", 1), CF_E_BODY_TOO_LARGE);
    assert_null(buf.data);
    assert_int_equal(buf.len, 0);
    cf_buf_dispose(&buf);
}

static void test_printf_appends(void **state)
{
    struct cf_buf buf;

    cf_buf_init(&buf, 1024);
    assert_int_equal(cf_buf_printf(&buf, "%s=%d", "answer", 42), CF_OK);
    assert_int_equal(cf_buf_printf(&buf, ";%05.1f", 3.14159), CF_OK);
    assert_string_equal(buf.data, "answer=42;003.1");
    assert_int_equal(buf.len, strlen("answer=42;003.1"));
    cf_buf_dispose(&buf);
}

static void test_printf_grows_for_long_output(void **state)
{
    struct cf_buf buf;
    char expected[2001];

    memset(expected, 'q', 2000);
    expected[2000] = '\0';
    cf_buf_init(&buf, 4096);
    assert_int_equal(cf_buf_printf(&buf, "%s", expected), CF_OK);
    assert_string_equal(buf.data, expected);
    cf_buf_dispose(&buf);
}

static void test_printf_refused_and_buffer_unchanged(void **state)
{
    struct cf_buf buf;

    cf_buf_init(&buf, 8);
    assert_int_equal(cf_buf_printf(&buf, "%d", 1234), CF_OK);
    assert_int_equal(cf_buf_printf(&buf, "%s", "56789"), CF_E_BODY_TOO_LARGE);
    assert_int_equal(buf.len, 4);
    assert_string_equal(buf.data, "1234");
    assert_int_equal(cf_buf_printf(&buf, "%s", "5678"), CF_OK);
    assert_string_equal(buf.data, "12345678");
    cf_buf_dispose(&buf);
}

static void test_reset_keeps_memory(void **state)
{
    struct cf_buf buf;
    char *data;

    cf_buf_init(&buf, 64);
    assert_int_equal(cf_buf_append(&buf, "hello", 5), CF_OK);
    data = buf.data;
    cf_buf_reset(&buf);
    assert_int_equal(buf.len, 0);
    assert_ptr_equal(buf.data, data);
    assert_string_equal(buf.data, "");
    assert_int_equal(cf_buf_append(&buf, "bye", 3), CF_OK);
    assert_string_equal(buf.data, "bye");
    cf_buf_dispose(&buf);
}

static void test_reset_of_unused_buffer(void **state)
{
    struct cf_buf buf;

    cf_buf_init(&buf, 64);
    cf_buf_reset(&buf);
    assert_null(buf.data);
    assert_int_equal(buf.len, 0);
    cf_buf_dispose(&buf);
}

static void test_dispose_leaves_buffer_reusable(void **state)
{
    struct cf_buf buf;

    cf_buf_init(&buf, 64);
    assert_int_equal(cf_buf_append(&buf, "abc", 3), CF_OK);
    cf_buf_dispose(&buf);
    assert_null(buf.data);
    assert_int_equal(buf.len, 0);
    assert_int_equal(buf.max, 64);
    assert_int_equal(cf_buf_append(&buf, "de", 2), CF_OK);
    assert_string_equal(buf.data, "de");
    cf_buf_dispose(&buf);
    cf_buf_dispose(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_starts_empty),
        cmocka_unit_test(test_append_keeps_nul_termination),
        cmocka_unit_test(test_empty_append_gives_empty_string),
        cmocka_unit_test(test_grows_past_first_allocation),
        cmocka_unit_test(test_bound_reached_exactly_is_allowed),
        cmocka_unit_test(test_bound_refused_and_buffer_unchanged),
        cmocka_unit_test(test_huge_length_refused_without_overflow),
        cmocka_unit_test(test_zero_max_refuses_everything),
        cmocka_unit_test(test_printf_appends),
        cmocka_unit_test(test_printf_grows_for_long_output),
        cmocka_unit_test(test_printf_refused_and_buffer_unchanged),
        cmocka_unit_test(test_reset_keeps_memory),
        cmocka_unit_test(test_reset_of_unused_buffer),
        cmocka_unit_test(test_dispose_leaves_buffer_reusable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
