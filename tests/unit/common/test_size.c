#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common/size.h"

#include <string.h>

#define HINT      "use bytes or an integer with KB, MB, GB, TB, KiB, MiB, GiB or TiB"
#define JSON_HINT "use a whole number of bytes or a string such as \"10GB\""

static void assert_parses(const char *text, int64_t expected)
{
    struct cf_error err;
    int64_t value = -1;

    cf_error_init(&err);
    assert_int_equal(cf_size_parse(text, &value, &err), CF_OK);
    assert_true(value == expected);
    assert_int_equal(err.code, CF_OK);
    cf_error_dispose(&err);
}

static void assert_refused(const char *text, const char *message)
{
    struct cf_error err;
    int64_t value = 42;

    cf_error_init(&err);
    assert_int_equal(cf_size_parse(text, &value, &err), CF_E_INVALID_SIZE);
    assert_int_equal(err.code, CF_E_INVALID_SIZE);
    assert_string_equal(err.message, message);
    assert_true(value == 42);
    cf_error_dispose(&err);
}

static void assert_json_parses(json_t *json, int64_t expected)
{
    struct cf_error err;
    int64_t value = -1;

    cf_error_init(&err);
    assert_int_equal(cf_size_from_json(json, &value, &err), CF_OK);
    assert_true(value == expected);
    cf_error_dispose(&err);
    json_decref(json);
}

static void assert_json_refused(json_t *json, const char *message)
{
    struct cf_error err;
    int64_t value = 42;

    cf_error_init(&err);
    assert_int_equal(cf_size_from_json(json, &value, &err), CF_E_INVALID_SIZE);
    assert_int_equal(err.code, CF_E_INVALID_SIZE);
    assert_string_equal(err.message, message);
    assert_true(value == 42);
    cf_error_dispose(&err);
    json_decref(json);
}

static void test_plain_bytes(void **state)
{
    assert_parses("0", 0);
    assert_parses("1", 1);
    assert_parses("512", 512);
    assert_parses("9223372036854775807", INT64_MAX);
}

static void test_si_units(void **state)
{
    assert_parses("10KB", 10000);
    assert_parses("5MB", INT64_C(5000000));
    assert_parses("2GB", INT64_C(2000000000));
    assert_parses("1TB", INT64_C(1000000000000));
    assert_parses("0KB", 0);
}

static void test_iec_units(void **state)
{
    assert_parses("10KiB", 10240);
    assert_parses("5MiB", INT64_C(5) * 1024 * 1024);
    assert_parses("2GiB", INT64_C(2) * 1024 * 1024 * 1024);
    assert_parses("1TiB", INT64_C(1) << 40);
}

static void test_largest_multiple_fits(void **state)
{
    /* INT64_MAX / 2^40 = 8388607, the largest TiB count that fits. */
    assert_parses("8388607TiB", INT64_C(8388607) << 40);
    assert_refused("8388608TiB",
                   "invalid size \"8388608TiB\": the largest size is 9223372036854775807 bytes");
}

static void test_refuses_negative(void **state)
{
    assert_refused("-5", "invalid size \"-5\": a size cannot be negative");
    assert_refused("-1GB", "invalid size \"-1GB\": a size cannot be negative");
}

static void test_refuses_wrong_unit_spelling(void **state)
{
    assert_refused("10kb", "invalid size \"10kb\": " HINT);
    assert_refused("10Kb", "invalid size \"10Kb\": " HINT);
    assert_refused("10kib", "invalid size \"10kib\": " HINT);
    assert_refused("10B", "invalid size \"10B\": " HINT);
    assert_refused("10PB", "invalid size \"10PB\": " HINT);
    assert_refused("10 KB", "invalid size \"10 KB\": " HINT);
    assert_refused(" 10", "invalid size \" 10\": " HINT);
    assert_refused("10 ", "invalid size \"10 \": " HINT);
    assert_refused("+10", "invalid size \"+10\": " HINT);
    assert_refused("10KBKB", "invalid size \"10KBKB\": " HINT);
}

static void test_refuses_overflow(void **state)
{
    assert_refused("9223372036854775808",
                   "invalid size \"9223372036854775808\": the largest size is 9223372036854775807 bytes");
    assert_refused("99999999999999999999999",
                   "invalid size \"99999999999999999999999\": the largest size is 9223372036854775807 bytes");
    assert_refused("10000000TB",
                   "invalid size \"10000000TB\": the largest size is 9223372036854775807 bytes");
}

static void test_refuses_empty_and_unit_only(void **state)
{
    assert_refused("", "invalid size \"\": " HINT);
    assert_refused("MB", "invalid size \"MB\": " HINT);
    assert_refused("-", "invalid size \"-\": " HINT);
}

static void test_refuses_decimals(void **state)
{
    assert_refused("1.5GB", "invalid size \"1.5GB\": " HINT);
    assert_refused("1.0", "invalid size \"1.0\": " HINT);
}

static void test_long_text_is_cut_in_message(void **state)
{
    char text[200];
    char expected[200];

    memset(text, 'x', sizeof(text) - 1);
    text[sizeof(text) - 1] = '\0';
    memset(expected, 0, sizeof(expected));
    memcpy(expected, "invalid size \"", 14);
    memset(expected + 14, 'x', 64);
    strncat(expected, "...\": " HINT, sizeof(expected) - strlen(expected) - 1);
    assert_refused(text, expected);
}

static void test_unprintable_text_is_masked_in_message(void **state)
{
    assert_refused("1\n2", "invalid size \"1?2\": " HINT);
}

static void test_null_error_is_allowed(void **state)
{
    int64_t value = 0;

    assert_int_equal(cf_size_parse("nope", &value, NULL), CF_E_INVALID_SIZE);
    assert_int_equal(cf_size_parse("7KB", &value, NULL), CF_OK);
    assert_true(value == 7000);
}

static void test_json_integer(void **state)
{
    assert_json_parses(json_integer(0), 0);
    assert_json_parses(json_integer(1048576), 1048576);
    assert_json_parses(json_integer(INT64_MAX), INT64_MAX);
}

static void test_json_string(void **state)
{
    assert_json_parses(json_string("512"), 512);
    assert_json_parses(json_string("10KiB"), 10240);
    assert_json_parses(json_string("2GB"), INT64_C(2000000000));
}

static void test_json_refuses_bad_string(void **state)
{
    assert_json_refused(json_string("1.5GB"), "invalid size \"1.5GB\": " HINT);
    assert_json_refused(json_string("-3"), "invalid size \"-3\": a size cannot be negative");
    assert_json_refused(json_stringn("1\0GB", 4), "invalid size: the string contains a NUL byte; " HINT);
}

static void test_json_refuses_negative(void **state)
{
    assert_json_refused(json_integer(-1), "invalid size -1: a size cannot be negative");
}

static void test_json_refuses_float(void **state)
{
    assert_json_refused(json_real(1.5), "invalid size 1.5: " JSON_HINT);
    assert_json_refused(json_real(10.0), "invalid size 10: " JSON_HINT);
}

static void test_json_refuses_other_types(void **state)
{
    assert_json_refused(json_true(), "invalid size true: " JSON_HINT);
    assert_json_refused(json_false(), "invalid size false: " JSON_HINT);
    assert_json_refused(json_null(), "invalid size null: " JSON_HINT);
    assert_json_refused(json_object(), "invalid size: an object is not a size; " JSON_HINT);
    assert_json_refused(json_array(), "invalid size: an array is not a size; " JSON_HINT);
    assert_json_refused(NULL, "invalid size: no value given; " JSON_HINT);
}

static void test_format(void **state)
{
    char out[32];

    assert_string_equal(cf_size_format(0, out, sizeof(out)), "0 B");
    assert_string_equal(cf_size_format(1023, out, sizeof(out)), "1023 B");
    assert_string_equal(cf_size_format(1024, out, sizeof(out)), "1 KiB");
    assert_string_equal(cf_size_format(1536, out, sizeof(out)), "1.5 KiB");
    assert_string_equal(cf_size_format(INT64_C(3) << 29, out, sizeof(out)), "1.5 GiB");
    assert_string_equal(cf_size_format((INT64_C(1) << 20) - 1, out, sizeof(out)), "1 MiB");
    assert_string_equal(cf_size_format(INT64_MAX, out, sizeof(out)), "8 EiB");
}

static void test_format_truncates_to_buffer(void **state)
{
    char out[4];

    assert_string_equal(cf_size_format(1536, out, sizeof(out)), "1.5");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_bytes),
        cmocka_unit_test(test_si_units),
        cmocka_unit_test(test_iec_units),
        cmocka_unit_test(test_largest_multiple_fits),
        cmocka_unit_test(test_refuses_negative),
        cmocka_unit_test(test_refuses_wrong_unit_spelling),
        cmocka_unit_test(test_refuses_overflow),
        cmocka_unit_test(test_refuses_empty_and_unit_only),
        cmocka_unit_test(test_refuses_decimals),
        cmocka_unit_test(test_long_text_is_cut_in_message),
        cmocka_unit_test(test_unprintable_text_is_masked_in_message),
        cmocka_unit_test(test_null_error_is_allowed),
        cmocka_unit_test(test_json_integer),
        cmocka_unit_test(test_json_string),
        cmocka_unit_test(test_json_refuses_bad_string),
        cmocka_unit_test(test_json_refuses_negative),
        cmocka_unit_test(test_json_refuses_float),
        cmocka_unit_test(test_json_refuses_other_types),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_format_truncates_to_buffer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
