#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common/rfc3339.h"

#include <string.h>

/* 2026-11-23T10:00:00Z */
#define T0 INT64_C(1795428000)

static void assert_any(const char *text, int64_t expected)
{
    int64_t value = -1;

    if (!cf_rfc3339_parse_any(text, &value))
        fail_msg("\"%s\" refused", text);
    if (value != expected)
        fail_msg("\"%s\" gave %lld, want %lld", text, (long long)value, (long long)expected);
}

static void assert_refused(const char *text)
{
    int64_t value = 42;

    if (cf_rfc3339_parse_any(text, &value))
        fail_msg("\"%s\" accepted as %lld", text, (long long)value);
    assert_true(value == 42);
}

static void test_format_round_trip(void **state)
{
    char out[CF_RFC3339_SIZE];
    int64_t back = 0;

    (void)state;
    assert_string_equal(cf_rfc3339(T0, out), "2026-11-23T10:00:00Z");
    assert_true(cf_rfc3339_parse(out, &back));
    assert_true(back == T0);
}

static void test_any_utc(void **state)
{
    (void)state;
    assert_any("2026-11-23T10:00:00Z", T0);
    assert_any("2026-11-23t10:00:00z", T0);
    assert_any("1970-01-01T00:00:00Z", 0);
}

static void test_any_offsets(void **state)
{
    (void)state;
    assert_any("2026-11-23T12:00:00+02:00", T0);
    assert_any("2026-11-23T04:30:00-05:30", T0);
    assert_any("2026-11-23T10:00:00+00:00", T0);
    assert_any("2026-11-23T10:00:00-00:00", T0);
    /* Across a day (and year) boundary. */
    assert_any("2027-01-01T00:30:00+01:00", INT64_C(1798759800));
}

static void test_any_fraction_dropped(void **state)
{
    (void)state;
    assert_any("2026-11-23T10:00:00.999999999Z", T0);
    assert_any("2026-11-23T10:00:00.5+02:00", T0 - 7200);
}

static void test_any_calendar(void **state)
{
    (void)state;
    assert_any("2024-02-29T00:00:00Z", INT64_C(1709164800));
    assert_any("2000-02-29T00:00:00Z", INT64_C(951782400));
    assert_refused("2026-02-29T00:00:00Z");
    assert_refused("1900-02-29T00:00:00Z");
    assert_refused("2026-04-31T00:00:00Z");
    assert_refused("2026-02-31T00:00:00Z");
    assert_refused("2026-13-01T00:00:00Z");
    assert_refused("2026-00-01T00:00:00Z");
    assert_refused("2026-01-00T00:00:00Z");
    assert_refused("2026-11-23T24:00:00Z");
    assert_refused("2026-11-23T10:60:00Z");
    assert_refused("2026-11-23T10:00:61Z");
    /* A leap second is the next second. */
    assert_any("2016-12-31T23:59:60Z", INT64_C(1483228800));
}

static void test_any_refuses_other_shapes(void **state)
{
    (void)state;
    assert_refused(NULL);
    assert_refused("");
    assert_refused("2026-11-23");
    assert_refused("2026-11-23T10:00:00");
    assert_refused("2026-11-23 10:00:00Z");
    assert_refused("2026-11-23T10:00Z");
    assert_refused("2026-1-23T10:00:00Z");
    assert_refused(" 2026-11-23T10:00:00Z");
    assert_refused("2026-11-23T10:00:00Z ");
    assert_refused("2026-11-23T10:00:00ZZ");
    assert_refused("2026-11-23T10:00:00.Z");
    assert_refused("2026-11-23T10:00:00+0200");
    assert_refused("2026-11-23T10:00:00+02");
    assert_refused("2026-11-23T10:00:00+24:00");
    assert_refused("2026-11-23T10:00:00+02:60");
    assert_refused("2026-11-23T10:00:00+2:00");
    assert_refused("+2026-11-23T10:00:00Z");
    assert_refused("2026-11-23T1a:00:00Z");
    assert_refused("Mon, 23 Nov 2026 10:00:00 GMT");
    assert_refused("1795428000");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_round_trip),
        cmocka_unit_test(test_any_utc),
        cmocka_unit_test(test_any_offsets),
        cmocka_unit_test(test_any_fraction_dropped),
        cmocka_unit_test(test_any_calendar),
        cmocka_unit_test(test_any_refuses_other_shapes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
