#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "server/retention.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MAX_ROWS      32
#define TEXT_MAX      512
/* Given order, reversed, then shuffles: every table is run in each of them. */
#define INPUT_ORDERS 8

/* One version of a table: its number and its creation time, written in UTC. */
struct row {
    int64_t number;
    const char *at; /* "YYYY-MM-DDTHH:MM:SSZ" */
};

/* A rule by its API name; a list ends with a NULL name. */
struct rule {
    const char *name;
    int64_t count;
};

#define RULES(...) ((const struct rule[]){__VA_ARGS__, {NULL, 0}})
static const struct rule no_rules[] = {{NULL, 0}};

/* Seconds since the epoch of a UTC date, independent of the local zone. */
static int64_t utc(const char *iso)
{
    struct tm tm;
    int end = 0;

    memset(&tm, 0, sizeof(tm));
    if (sscanf(iso, "%4d-%2d-%2dT%2d:%2d:%2dZ%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
               &tm.tm_min, &tm.tm_sec, &end) != 6 ||
        end == 0 || iso[end] != '\0')
        fail_msg("not a UTC date: %s", iso);
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (int64_t)timegm(&tm);
}

/* Fills the rules array the way the server does: -1 for an absent rule. The
 * index of a rule is looked up by its name, so the tests do not depend on
 * the order of cf_retention_names (test_rule_order checks it separately). */
static void rules_from(const struct rule *list, int64_t rules[CF_RETENTION_RULES])
{
    for (size_t i = 0; i < CF_RETENTION_RULES; i++)
        rules[i] = -1;
    for (; list->name != NULL; list++) {
        size_t i = 0;

        while (i < CF_RETENTION_RULES && strcmp(cf_retention_names[i], list->name) != 0)
            i++;
        if (i == CF_RETENTION_RULES)
            fail_msg("no retention rule named %s", list->name);
        rules[i] = list->count;
    }
}

static void rules_text(const struct rule *list, char *out, size_t size)
{
    size_t len = 0;

    out[0] = '\0';
    for (; list->name != NULL && len < size; list++)
        len += (size_t)snprintf(out + len, size - len, "%s%s=%lld", len > 0 ? " " : "", list->name,
                                (long long)list->count);
    if (out[0] == '\0')
        snprintf(out, size, "no rules");
}

/* A permutation of 0..n-1: 0 given order, 1 reversed, else a fixed shuffle. */
static void make_order(size_t *order, size_t n, unsigned kind)
{
    uint32_t x = kind * 2654435761u;

    for (size_t i = 0; i < n; i++)
        order[i] = kind == 1 ? n - 1 - i : i;
    if (kind < 2)
        return;
    for (size_t i = n; i > 1; i--) {
        size_t j, tmp;

        x = x * 1664525u + 1013904223u;
        j = (size_t)(x >> 8) % i;
        tmp = order[i - 1];
        order[i - 1] = order[j];
        order[j] = tmp;
    }
}

static int by_number(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return x < y ? -1 : (x > y ? 1 : 0);
}

/* The numbers of the kept versions, ascending, as "2 5 7" ("" for none). */
static void kept_text(const struct cf_retained_version *v, size_t n, char *out, size_t size)
{
    int64_t *numbers = malloc((n > 0 ? n : 1) * sizeof(*numbers));
    size_t kept = 0, len = 0;

    assert_non_null(numbers);
    for (size_t i = 0; i < n; i++)
        if (v[i].keep)
            numbers[kept++] = v[i].number;
    qsort(numbers, kept, sizeof(*numbers), by_number);
    out[0] = '\0';
    for (size_t i = 0; i < kept && len < size; i++)
        len += (size_t)snprintf(out + len, size - len, "%s%lld", i > 0 ? " " : "", (long long)numbers[i]);
    free(numbers);
}

/* The header promises the array comes back newest first (by time, then by
 * number) and still holds exactly the versions that went in. */
static void check_newest_first(const struct cf_retained_version *v, size_t n, int line)
{
    for (size_t i = 1; i < n; i++) {
        bool newer = v[i - 1].created_at > v[i].created_at ||
                     (v[i - 1].created_at == v[i].created_at && v[i - 1].number > v[i].number);

        if (!newer)
            fail_msg("line %d: version %lld at %lld is not newer than version %lld at %lld", line,
                     (long long)v[i - 1].number, (long long)v[i - 1].created_at, (long long)v[i].number,
                     (long long)v[i].created_at);
    }
}

static void select_rows(const int64_t rules[CF_RETENTION_RULES], const struct row *rows, size_t n,
                        unsigned kind, char *out, size_t size, int line)
{
    struct cf_retained_version v[MAX_ROWS];
    size_t order[MAX_ROWS];

    assert_true(n <= MAX_ROWS);
    make_order(order, n, kind);
    for (size_t i = 0; i < n; i++) {
        v[i].number = rows[order[i]].number;
        v[i].created_at = utc(rows[order[i]].at);
        /* keep is output only: whatever it held before must not leak through. */
        v[i].keep = (i + kind) % 2 == 0;
    }
    cf_retention_select(rules, v, n);
    check_newest_first(v, n, line);
    for (size_t r = 0; r < n; r++) {
        size_t found = 0;

        for (size_t i = 0; i < n; i++)
            if (v[i].number == rows[r].number && v[i].created_at == utc(rows[r].at))
                found++;
        if (found != 1)
            fail_msg("line %d: version %lld is in the output %zu times", line, (long long)rows[r].number,
                     found);
    }
    kept_text(v, n, out, size);
}

/* Runs the table in every input order and checks the kept set each time. */
static void expect_kept_at(int line, const struct rule *list, const struct row *rows, size_t n,
                           const char *expected)
{
    int64_t rules[CF_RETENTION_RULES];
    char got[TEXT_MAX], described[TEXT_MAX];

    rules_from(list, rules);
    rules_text(list, described, sizeof(described));
    for (unsigned kind = 0; kind < INPUT_ORDERS; kind++) {
        select_rows(rules, rows, n, kind, got, sizeof(got), line);
        if (strcmp(got, expected) != 0)
            fail_msg("line %d: %s kept {%s}, expected {%s} (input order %u)", line, described, got, expected,
                     kind);
    }
}

#define expect_kept(list, rows, expected) expect_kept_at(__LINE__, list, rows, ARRAY_SIZE(rows), expected)

static void expect_calendar(const char *iso, const char *expected)
{
    struct tm tm;
    time_t t = (time_t)utc(iso);
    char text[64];

    assert_non_null(gmtime_r(&t, &tm));
    assert_true(strftime(text, sizeof(text), "%a %G-W%V", &tm) > 0);
    assert_string_equal(text, expected);
}

static void test_utc_helper_and_calendar_facts(void **state)
{
    (void)state;
    assert_int_equal(utc("1970-01-01T00:00:00Z"), 0);
    assert_int_equal(utc("2021-01-04T00:00:00Z"), 1609718400);
    assert_int_equal(utc("2024-03-01T00:00:00Z") - utc("2024-02-28T00:00:00Z"), 2 * 86400);
    /* The fixtures below rely on these weekdays and ISO weeks. */
    expect_calendar("2020-12-27T12:00:00Z", "Sun 2020-W52");
    expect_calendar("2020-12-31T10:00:00Z", "Thu 2020-W53");
    expect_calendar("2021-01-03T23:59:59Z", "Sun 2020-W53");
    expect_calendar("2021-01-04T00:00:00Z", "Mon 2021-W01");
    expect_calendar("2024-12-29T23:59:59Z", "Sun 2024-W52");
    expect_calendar("2024-12-30T00:00:00Z", "Mon 2025-W01");
    expect_calendar("2025-01-05T23:59:59Z", "Sun 2025-W01");
    expect_calendar("2025-01-06T00:00:00Z", "Mon 2025-W02");
    expect_calendar("2025-05-26T00:00:00Z", "Mon 2025-W22");
    expect_calendar("2025-06-01T23:59:59Z", "Sun 2025-W22");
    expect_calendar("2025-06-02T00:00:00Z", "Mon 2025-W23");
}

static void test_rule_order(void **state)
{
    static const char *const names[] = {"keep_last",   "keep_hourly",  "keep_daily",
                                        "keep_weekly", "keep_monthly", "keep_yearly"};

    (void)state;
    assert_int_equal(CF_RETENTION_RULES, ARRAY_SIZE(names));
    for (size_t i = 0; i < ARRAY_SIZE(names); i++)
        assert_string_equal(cf_retention_names[i], names[i]);
}

static void test_keep_last(void **state)
{
    static const struct row rows[] = {
        {1, "2025-01-01T10:00:00Z"}, {2, "2025-01-01T10:00:01Z"}, {3, "2025-01-03T08:00:00Z"},
        {4, "2025-02-01T08:00:00Z"}, {5, "2026-07-01T08:00:00Z"},
    };

    (void)state;
    expect_kept(RULES({"keep_last", 1}), rows, "5");
    expect_kept(RULES({"keep_last", 3}), rows, "3 4 5");
    expect_kept(RULES({"keep_last", 4}), rows, "2 3 4 5");
    expect_kept(RULES({"keep_last", 5}), rows, "1 2 3 4 5");
    expect_kept(RULES({"keep_last", 8}), rows, "1 2 3 4 5");
    /* Absent or zero period rules add nothing. */
    expect_kept(RULES({"keep_last", 2}, {"keep_daily", 0}, {"keep_yearly", -1}), rows, "4 5");
}

static void test_no_rules_keeps_nothing(void **state)
{
    static const struct row rows[] = {
        {1, "2024-05-01T10:00:00Z"}, {2, "2025-01-01T10:00:00Z"}, {3, "2025-01-01T11:00:00Z"}};
    int64_t rules[CF_RETENTION_RULES];
    struct cf_retained_version outside = {.number = 7, .created_at = 0, .keep = true};

    (void)state;
    expect_kept(no_rules, rows, "");
    expect_kept(RULES({"keep_last", 0}, {"keep_hourly", 0}, {"keep_daily", 0}, {"keep_weekly", 0},
                      {"keep_monthly", 0}, {"keep_yearly", 0}),
                rows, "");
    /* A count below 1 is no rule, however far below. */
    expect_kept(RULES({"keep_last", -1}, {"keep_hourly", -2}, {"keep_daily", INT64_MIN}, {"keep_weekly", -1},
                      {"keep_monthly", -100}, {"keep_yearly", -1}),
                rows, "");
    /* No versions: nothing is read or written. */
    outside.created_at = utc("2025-01-01T00:00:00Z");
    rules_from(RULES({"keep_last", 3}, {"keep_daily", 3}), rules);
    cf_retention_select(rules, &outside, 0);
    assert_int_equal(outside.number, 7);
    assert_int_equal(outside.created_at, utc("2025-01-01T00:00:00Z"));
    assert_true(outside.keep);
}

static void test_keep_daily_skips_days_without_versions(void **state)
{
    static const struct row rows[] = {
        {1, "2025-03-01T09:00:00Z"}, {2, "2025-03-02T09:00:00Z"}, {3, "2025-03-05T09:00:00Z"},
        {4, "2025-03-10T09:00:00Z"}, {5, "2025-03-11T09:00:00Z"},
    };

    (void)state;
    expect_kept(RULES({"keep_daily", 1}), rows, "5");
    /* The last 3 days that have a version are the 11th, 10th and 5th; the 6th
     * to the 9th are not counted (a calendar window would keep only 4 and 5). */
    expect_kept(RULES({"keep_daily", 3}), rows, "3 4 5");
    expect_kept(RULES({"keep_daily", 4}), rows, "2 3 4 5");
    expect_kept(RULES({"keep_daily", 5}), rows, "1 2 3 4 5");
}

static void test_keep_daily_newest_of_each_day(void **state)
{
    static const struct row rows[] = {
        {1, "2025-06-01T00:00:00Z"}, {2, "2025-06-01T12:00:00Z"}, {3, "2025-06-01T23:59:59Z"},
        {4, "2025-06-02T00:00:00Z"}, {5, "2025-06-02T00:00:01Z"}, {6, "2025-06-02T18:30:00Z"},
        {7, "2025-06-04T06:00:00Z"}, {8, "2025-06-04T07:00:00Z"},
    };

    (void)state;
    expect_kept(RULES({"keep_daily", 1}), rows, "8");
    expect_kept(RULES({"keep_daily", 2}), rows, "6 8");
    /* 23:59:59 ends June 1st and 00:00:00 starts June 2nd: a day shifted by
     * an hour either way would keep 2 or 5 instead of 3. */
    expect_kept(RULES({"keep_daily", 3}), rows, "3 6 8");
    expect_kept(RULES({"keep_daily", 10}), rows, "3 6 8");
}

static void test_newest_always_kept_by_each_period_rule(void **state)
{
    static const struct row rows[] = {
        {1, "2023-01-01T00:00:00Z"}, {2, "2024-06-15T10:00:00Z"}, {3, "2025-03-03T10:00:00Z"},
        {4, "2025-03-03T10:20:00Z"}, {5, "2025-03-03T10:40:00Z"},
    };
    static const char *const periods[] = {"keep_hourly", "keep_daily", "keep_weekly", "keep_monthly",
                                          "keep_yearly"};
    static const struct row alone[] = {{42, "2025-03-03T10:40:00Z"}};

    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(periods); i++) {
        const struct rule one[] = {{periods[i], 1}, {NULL, 0}};
        const struct rule two[] = {{periods[i], 2}, {NULL, 0}};

        expect_kept(one, rows, "5");
        expect_kept(one, alone, "42");
        /* 3 and 4 share every period with 5, so the period before is 2's. */
        expect_kept(two, rows, "2 5");
    }
    expect_kept(RULES({"keep_hourly", 1}, {"keep_daily", 1}, {"keep_weekly", 1}, {"keep_monthly", 1},
                      {"keep_yearly", 1}),
                rows, "5");
}

static void test_keep_hourly_across_midnight(void **state)
{
    static const struct row rows[] = {
        {1, "2025-12-31T21:59:59Z"}, {2, "2025-12-31T22:10:00Z"}, {3, "2025-12-31T22:50:00Z"},
        {4, "2025-12-31T23:00:00Z"}, {5, "2025-12-31T23:59:59Z"}, {6, "2026-01-01T00:00:00Z"},
        {7, "2026-01-01T00:30:00Z"}, {8, "2026-01-01T02:15:00Z"}, /* nothing in the 01:00 hour */
    };

    (void)state;
    expect_kept(RULES({"keep_hourly", 1}), rows, "8");
    expect_kept(RULES({"keep_hourly", 2}), rows, "7 8");
    expect_kept(RULES({"keep_hourly", 3}), rows, "5 7 8");
    expect_kept(RULES({"keep_hourly", 4}), rows, "3 5 7 8");
    expect_kept(RULES({"keep_hourly", 5}), rows, "1 3 5 7 8");
    expect_kept(RULES({"keep_hourly", 6}), rows, "1 3 5 7 8");
    expect_kept(RULES({"keep_daily", 2}), rows, "5 8");
    expect_kept(RULES({"keep_hourly", 2}, {"keep_daily", 2}), rows, "5 7 8");
}

static void test_keep_weekly_iso_week_53_spans_new_year(void **state)
{
    static const struct row rows[] = {
        {1, "2020-12-27T12:00:00Z"}, /* Sunday, 2020-W52 */
        {2, "2020-12-28T00:00:00Z"}, /* Monday, 2020-W53 */
        {3, "2020-12-31T10:00:00Z"}, /* Thursday, 2020-W53 */
        {4, "2021-01-01T10:00:00Z"}, /* Friday, 2020-W53 */
        {5, "2021-01-03T23:59:59Z"}, /* Sunday, 2020-W53 */
        {6, "2021-01-04T00:00:00Z"}, /* Monday, 2021-W01 */
        {7, "2021-01-06T08:00:00Z"}, /* Wednesday, 2021-W01 */
    };

    (void)state;
    expect_kept(RULES({"keep_weekly", 1}), rows, "7");
    expect_kept(RULES({"keep_weekly", 2}), rows, "5 7");
    /* Weeks starting on Sunday would give {4, 7}; weeks cut at the new year
     * would keep 3 apart from 4. */
    expect_kept(RULES({"keep_weekly", 3}), rows, "1 5 7");
    expect_kept(RULES({"keep_weekly", 9}), rows, "1 5 7");
    expect_kept(RULES({"keep_daily", 2}, {"keep_weekly", 2}), rows, "5 6 7");
}

static void test_keep_weekly_iso_week_1_starts_in_december(void **state)
{
    static const struct row rows[] = {
        {1, "2024-12-22T09:00:00Z"}, /* Sunday, 2024-W51 */
        {2, "2024-12-29T23:59:59Z"}, /* Sunday, 2024-W52 */
        {3, "2024-12-30T00:00:00Z"}, /* Monday, 2025-W01 */
        {4, "2025-01-01T00:00:00Z"}, /* Wednesday, 2025-W01 */
        {5, "2025-01-05T23:59:59Z"}, /* Sunday, 2025-W01 */
        {6, "2025-01-06T00:00:00Z"}, /* Monday, 2025-W02 */
    };

    (void)state;
    expect_kept(RULES({"keep_weekly", 2}), rows, "5 6");
    /* Weeks starting on Sunday would give {1, 4, 6}. */
    expect_kept(RULES({"keep_weekly", 3}), rows, "2 5 6");
    expect_kept(RULES({"keep_weekly", 4}), rows, "1 2 5 6");
    expect_kept(RULES({"keep_weekly", 5}), rows, "1 2 5 6");
}

static void test_keep_weekly_starts_on_monday(void **state)
{
    static const struct row rows[] = {
        {1, "2025-05-26T00:00:00Z"}, /* Monday */
        {2, "2025-06-01T23:59:59Z"}, /* Sunday of the same week */
        {3, "2025-06-02T00:00:00Z"}, /* Monday: a new week */
    };

    (void)state;
    /* 1 and 2 share a week and 3 does not: weeks begin exactly at Monday
     * 00:00:00 UTC. Sunday weeks would give {1, 3}. */
    expect_kept(RULES({"keep_weekly", 2}), rows, "2 3");
    expect_kept(RULES({"keep_weekly", 3}), rows, "2 3");
    expect_kept(RULES({"keep_daily", 3}), rows, "1 2 3");
}

static void test_keep_monthly_across_month_ends(void **state)
{
    static const struct row rows[] = {
        {1, "2023-02-28T23:59:59Z"}, {2, "2023-03-01T00:00:00Z"}, {3, "2024-01-01T00:00:00Z"},
        {4, "2024-01-31T23:59:59Z"}, {5, "2024-02-01T00:00:00Z"}, {6, "2024-02-28T23:59:59Z"},
        {7, "2024-02-29T12:00:00Z"},                                                            /* leap day */
        {8, "2024-03-01T00:00:00Z"}, {9, "2024-03-31T23:59:59Z"}, {10, "2024-05-01T00:00:00Z"}, /* no April */
    };

    (void)state;
    expect_kept(RULES({"keep_monthly", 1}), rows, "10");
    expect_kept(RULES({"keep_monthly", 2}), rows, "9 10");
    /* A leap day counted into March would keep 6 instead of 7. */
    expect_kept(RULES({"keep_monthly", 3}), rows, "7 9 10");
    expect_kept(RULES({"keep_monthly", 4}), rows, "4 7 9 10");
    expect_kept(RULES({"keep_monthly", 5}), rows, "2 4 7 9 10");
    expect_kept(RULES({"keep_monthly", 6}), rows, "1 2 4 7 9 10");
    expect_kept(RULES({"keep_monthly", 20}), rows, "1 2 4 7 9 10");
    expect_kept(RULES({"keep_daily", 3}), rows, "8 9 10");
    expect_kept(RULES({"keep_daily", 5}), rows, "6 7 8 9 10");
}

static void test_keep_yearly_across_new_year(void **state)
{
    static const struct row rows[] = {
        {1, "2022-06-01T12:00:00Z"}, {2, "2023-01-01T00:00:00Z"}, {3, "2023-12-31T23:59:59Z"},
        {4, "2024-01-01T00:00:00Z"}, {5, "2024-12-31T23:59:59Z"}, /* day 366 of a leap year */
        {6, "2025-01-01T00:00:00Z"}, {7, "2025-01-01T00:00:01Z"},
    };

    (void)state;
    expect_kept(RULES({"keep_yearly", 1}), rows, "7");
    expect_kept(RULES({"keep_yearly", 2}), rows, "5 7");
    expect_kept(RULES({"keep_yearly", 3}), rows, "3 5 7");
    expect_kept(RULES({"keep_yearly", 4}), rows, "1 3 5 7");
    expect_kept(RULES({"keep_yearly", 100}), rows, "1 3 5 7");
}

static const struct row three_years[] = {
    {1, "2023-03-10T08:00:00Z"},  {2, "2023-11-20T08:00:00Z"},  {3, "2024-02-01T08:00:00Z"},
    {4, "2024-06-15T08:00:00Z"},  {5, "2024-12-31T23:00:00Z"},  {6, "2025-01-05T08:00:00Z"},
    {7, "2025-01-20T08:00:00Z"},  {8, "2025-02-10T08:00:00Z"},  {9, "2025-02-11T08:00:00Z"},
    {10, "2025-03-01T08:00:00Z"}, {11, "2025-03-02T08:00:00Z"},
};

static void test_rules_combined(void **state)
{
    (void)state;
    expect_kept(RULES({"keep_last", 2}), three_years, "10 11");
    expect_kept(RULES({"keep_monthly", 3}), three_years, "7 9 11");
    expect_kept(RULES({"keep_yearly", 2}), three_years, "5 11");
    /* Kept by any rule is kept; a version one rule keeps still uses up a
     * period of another (11 is the newest of March and of 2025). */
    expect_kept(RULES({"keep_last", 2}, {"keep_monthly", 3}, {"keep_yearly", 2}), three_years, "5 7 9 10 11");
    expect_kept(RULES({"keep_yearly", 2}, {"keep_monthly", 3}, {"keep_last", 2}), three_years, "5 7 9 10 11");
    expect_kept(RULES({"keep_last", 2}, {"keep_monthly", 3}, {"keep_yearly", 3}), three_years,
                "2 5 7 9 10 11");
    expect_kept(RULES({"keep_last", 2}, {"keep_monthly", 3}, {"keep_yearly", 2}, {"keep_daily", 0},
                      {"keep_hourly", -1}),
                three_years, "5 7 9 10 11");
    expect_kept(RULES({"keep_weekly", 3}, {"keep_yearly", 3}), three_years, "2 5 7 9 11");
}

static void test_same_time_higher_number_is_newer(void **state)
{
    static const struct row rows[] = {
        {1, "2024-12-31T23:00:00Z"}, {2, "2025-01-01T12:00:00Z"}, {3, "2025-01-01T12:00:00Z"},
        {4, "2025-01-01T12:00:00Z"}, {5, "2025-01-02T00:00:00Z"}, {6, "2025-01-02T00:00:00Z"},
    };
    static const struct row pair[] = {{4, "2025-01-01T12:00:00Z"}, {5, "2025-01-01T12:00:00Z"}};

    (void)state;
    expect_kept(RULES({"keep_last", 1}), pair, "5");
    expect_kept(RULES({"keep_daily", 1}), pair, "5");
    expect_kept(RULES({"keep_last", 1}), rows, "6");
    expect_kept(RULES({"keep_last", 2}), rows, "5 6");
    expect_kept(RULES({"keep_last", 3}), rows, "4 5 6");
    expect_kept(RULES({"keep_hourly", 2}), rows, "4 6");
    expect_kept(RULES({"keep_daily", 3}), rows, "1 4 6");
    expect_kept(RULES({"keep_yearly", 2}), rows, "1 6");
}

static void test_newest_is_by_time_before_number(void **state)
{
    /* A clock set back: version 9 was created before version 8. */
    static const struct row rows[] = {
        {7, "2025-01-01T10:00:00Z"}, {8, "2025-01-02T00:00:00Z"}, {9, "2025-01-01T23:00:00Z"}};

    (void)state;
    expect_kept(RULES({"keep_last", 1}), rows, "8");
    expect_kept(RULES({"keep_last", 2}), rows, "8 9");
    expect_kept(RULES({"keep_daily", 2}), rows, "8 9");
    expect_kept(RULES({"keep_monthly", 1}), rows, "8");
}

/* The stored rows and the version being uploaded at incoming_at, in input
 * order kind; the kept set as kept_text writes it, the upload as "new". */
static void select_with_incoming(const struct rule *list, const struct row *rows, size_t n,
                                 const char *incoming_at, unsigned kind, char *out, size_t size)
{
    struct cf_retained_version v[MAX_ROWS];
    size_t order[MAX_ROWS];
    int64_t rules[CF_RETENTION_RULES];
    bool new_kept = false;
    size_t len;

    assert_true(n + 1 <= MAX_ROWS);
    rules_from(list, rules);
    make_order(order, n + 1, kind);
    for (size_t i = 0; i < n + 1; i++) {
        size_t r = order[i];

        v[i].number = r < n ? rows[r].number : CF_RETENTION_INCOMING;
        v[i].created_at = utc(r < n ? rows[r].at : incoming_at);
        v[i].keep = (i + kind) % 2 == 0;
    }
    cf_retention_select(rules, v, n + 1);
    assert_int_equal(v[0].number, CF_RETENTION_INCOMING);
    for (size_t i = 0; i < n + 1; i++) {
        if (v[i].number == CF_RETENTION_INCOMING) {
            new_kept = v[i].keep;
            v[i].keep = false;
        }
    }
    kept_text(v, n + 1, out, size);
    len = strlen(out);
    if (new_kept)
        snprintf(out + len, size - len, "%snew", len > 0 ? " " : "");
}

static void expect_kept_with_incoming_at(int line, const struct rule *list, const struct row *rows, size_t n,
                                         const char *incoming_at, const char *expected)
{
    char got[TEXT_MAX], described[TEXT_MAX];

    rules_text(list, described, sizeof(described));
    for (unsigned kind = 0; kind < INPUT_ORDERS; kind++) {
        select_with_incoming(list, rows, n, incoming_at, kind, got, sizeof(got));
        if (strcmp(got, expected) != 0)
            fail_msg("line %d: %s with an upload at %s kept {%s}, expected {%s} (input order %u)", line,
                     described, incoming_at, got, expected, kind);
    }
}

#define expect_kept_with_incoming(list, rows, at, expected)                                                  \
    expect_kept_with_incoming_at(__LINE__, list, rows, ARRAY_SIZE(rows), at, expected)

static void test_incoming_is_newest_within_its_second(void **state)
{
    static const struct row rows[] = {
        {1, "2026-03-01T00:00:00Z"}, {2, "2026-03-01T00:00:00Z"}, {3, "2026-03-01T00:00:00Z"}};
    static const struct row older[] = {
        {1, "2026-02-27T10:00:00Z"}, {2, "2026-03-01T00:00:00Z"}, {3, "2026-03-01T00:00:00Z"}};

    (void)state;
    /* Numbered 0, or sorted by number alone, the upload would lose the tie
     * and keep_last 2 would keep 2 and 3 beside it. */
    expect_kept_with_incoming(RULES({"keep_last", 2}), rows, "2026-03-01T00:00:00Z", "3 new");
    expect_kept_with_incoming(RULES({"keep_last", 1}), rows, "2026-03-01T00:00:00Z", "new");
    expect_kept_with_incoming(RULES({"keep_daily", 1}), rows, "2026-03-01T00:00:00Z", "new");
    expect_kept_with_incoming(RULES({"keep_hourly", 3}), rows, "2026-03-01T00:00:00Z", "new");
    expect_kept_with_incoming(
        RULES({"keep_last", 2}, {"keep_daily", 3}, {"keep_monthly", 2}, {"keep_yearly", 2}), older,
        "2026-03-01T00:00:00Z", "1 3 new");
}

/* The four quick uploads of docs/quotas.md, all in one second, each
 * selection run as the commit runs it: what is kept plus the upload. */
static void test_quick_uploads_keep_exactly_keep_last(void **state)
{
    const char *expected_rotated[] = {"", "", "1", "2"};
    int64_t rules[CF_RETENTION_RULES];
    struct cf_retained_version held[8];
    size_t n = 0;

    (void)state;
    rules_from(RULES({"keep_last", 2}, {"keep_daily", 3}, {"keep_monthly", 2}, {"keep_yearly", 2}), rules);
    for (int64_t upload = 1; upload <= 4; upload++) {
        struct cf_retained_version v[8];
        char rotated[TEXT_MAX] = "";
        size_t len = 0, kept = 0;

        memcpy(v, held, n * sizeof(*v));
        v[n].number = CF_RETENTION_INCOMING;
        v[n].created_at = utc("2026-03-01T10:00:00Z");
        cf_retention_select(rules, v, n + 1);
        for (size_t i = 0; i < n + 1; i++) {
            if (v[i].number == CF_RETENTION_INCOMING) {
                assert_true(v[i].keep);
                held[kept] = v[i];
                held[kept++].number = upload;
            } else if (v[i].keep) {
                held[kept++] = v[i];
            } else {
                len += (size_t)snprintf(rotated + len, sizeof(rotated) - len, "%s%lld", len > 0 ? " " : "",
                                        (long long)v[i].number);
            }
        }
        n = kept;
        if (strcmp(rotated, expected_rotated[upload - 1]) != 0)
            fail_msg("upload %lld rotated {%s}, expected {%s}", (long long)upload, rotated,
                     expected_rotated[upload - 1]);
    }
    assert_int_equal(n, 2);
    assert_int_equal(held[0].number + held[1].number, 3 + 4);
}

static void test_incoming_is_newest_when_the_clock_steps_back(void **state)
{
    /* Version 1 was stored at 00:00:02; then the clock stepped back 3 seconds,
     * across midnight, before the upload. */
    static const struct row rows[] = {{1, "2025-01-02T00:00:02Z"}, {2, "2025-01-01T12:00:00Z"}};
    struct cf_retained_version v[] = {
        {.number = 1, .created_at = utc("2025-01-02T00:00:02Z")},
        {.number = CF_RETENTION_INCOMING, .created_at = utc("2025-01-01T23:59:59Z")},
    };
    int64_t rules[CF_RETENTION_RULES];

    (void)state;
    expect_kept_with_incoming(RULES({"keep_last", 1}), rows, "2025-01-01T23:59:59Z", "new");
    expect_kept_with_incoming(RULES({"keep_last", 2}), rows, "2025-01-01T23:59:59Z", "1 new");
    /* The upload counts in the newest stored day, January 2nd, as the newest
     * of it: the day before is 2's, and 1 goes. */
    expect_kept_with_incoming(RULES({"keep_daily", 2}), rows, "2025-01-01T23:59:59Z", "2 new");
    /* An upload that is newer keeps its own time. */
    expect_kept_with_incoming(RULES({"keep_daily", 2}), rows, "2025-01-03T08:00:00Z", "1 new");
    /* The raised time is written back, as the header says. */
    rules_from(RULES({"keep_last", 1}), rules);
    cf_retention_select(rules, v, ARRAY_SIZE(v));
    assert_int_equal(v[0].number, CF_RETENTION_INCOMING);
    assert_int_equal(v[0].created_at, utc("2025-01-02T00:00:02Z"));
    assert_true(v[0].keep);
    assert_false(v[1].keep);
}

static void test_any_input_order(void **state)
{
    /* three_years listed out of order, then run in every rotation of that
     * list and with every pair of entries swapped. */
    static const struct row shuffled[] = {
        {7, "2025-01-20T08:00:00Z"},  {2, "2023-11-20T08:00:00Z"}, {11, "2025-03-02T08:00:00Z"},
        {4, "2024-06-15T08:00:00Z"},  {9, "2025-02-11T08:00:00Z"}, {1, "2023-03-10T08:00:00Z"},
        {10, "2025-03-01T08:00:00Z"}, {5, "2024-12-31T23:00:00Z"}, {3, "2024-02-01T08:00:00Z"},
        {8, "2025-02-10T08:00:00Z"},  {6, "2025-01-05T08:00:00Z"},
    };
    const size_t n = ARRAY_SIZE(shuffled);
    int64_t rules[CF_RETENTION_RULES];
    char got[TEXT_MAX];

    (void)state;
    expect_kept(RULES({"keep_last", 2}, {"keep_monthly", 3}, {"keep_yearly", 2}), shuffled, "5 7 9 10 11");
    rules_from(RULES({"keep_last", 2}, {"keep_monthly", 3}, {"keep_yearly", 2}), rules);
    for (size_t a = 0; a < n; a++) {
        for (size_t b = 0; b < n; b++) {
            struct row rows[ARRAY_SIZE(shuffled)];

            /* Rotation by a, then entries 0 and b swapped. */
            for (size_t i = 0; i < n; i++)
                rows[i] = shuffled[(i + a) % n];
            rows[0] = shuffled[(b + a) % n];
            rows[b] = shuffled[a % n];
            select_rows(rules, rows, n, 0, got, sizeof(got), __LINE__);
            if (strcmp(got, "5 7 9 10 11") != 0)
                fail_msg("rotation %zu, swap 0/%zu: kept {%s}", a, b, got);
        }
    }
}

static void test_count_larger_than_versions(void **state)
{
    /* Distinct years, months, weeks, days and hours. */
    static const struct row spread[] = {
        {1, "2021-03-04T05:00:00Z"}, {2, "2022-07-08T09:00:00Z"}, {3, "2023-11-12T13:00:00Z"},
        {4, "2024-02-29T17:00:00Z"}, {5, "2025-12-31T21:00:00Z"},
    };
    static const struct row same_day[] = {{1, "2021-03-04T05:00:00Z"},
                                          {2, "2022-07-08T09:00:00Z"},
                                          {3, "2025-12-31T08:00:00Z"},
                                          {4, "2025-12-31T20:00:00Z"}};

    (void)state;
    expect_kept(RULES({"keep_daily", 100000}), spread, "1 2 3 4 5");
    expect_kept(RULES({"keep_last", 100000}), spread, "1 2 3 4 5");
    expect_kept(RULES({"keep_hourly", INT64_MAX}), spread, "1 2 3 4 5");
    expect_kept(RULES({"keep_weekly", INT64_MAX}), spread, "1 2 3 4 5");
    expect_kept(RULES({"keep_monthly", 100000}), spread, "1 2 3 4 5");
    expect_kept(RULES({"keep_yearly", 100000}), spread, "1 2 3 4 5");
    expect_kept(RULES({"keep_last", INT64_MAX}, {"keep_yearly", INT64_MAX}), spread, "1 2 3 4 5");
    /* A large count still keeps one version per day. */
    expect_kept(RULES({"keep_daily", 100000}), same_day, "1 2 4");
    expect_kept(RULES({"keep_last", 100000}), same_day, "1 2 3 4");
}

/* The local zone must not matter: each table below keeps a different set
 * when periods are taken in the zone the setup installs. */
static char saved_tz[256];
static bool had_tz;

static int use_zone(const char *name, const char *posix, int hour, int minute)
{
    const char *old = getenv("TZ");
    const char *zones[2];
    time_t probe = (time_t)utc("2025-01-15T12:00:00Z");

    zones[0] = name;
    zones[1] = posix; /* the same rules, for a system without tzdata */
    had_tz = old != NULL;
    if (had_tz)
        snprintf(saved_tz, sizeof(saved_tz), "%s", old);
    for (size_t i = 0; i < ARRAY_SIZE(zones); i++) {
        struct tm tm;

        setenv("TZ", zones[i], 1);
        tzset();
        if (localtime_r(&probe, &tm) != NULL && tm.tm_hour == hour && tm.tm_min == minute)
            return 0;
    }
    return -1;
}

static int new_york(void **state)
{
    (void)state;
    return use_zone("America/New_York", "EST5EDT,M3.2.0,M11.1.0", 7, 0);
}

static int kolkata(void **state)
{
    (void)state;
    return use_zone("Asia/Kolkata", "IST-5:30", 17, 30);
}

static int restore_zone(void **state)
{
    (void)state;
    if (had_tz)
        setenv("TZ", saved_tz, 1);
    else
        unsetenv("TZ");
    tzset();
    return 0;
}

static void test_local_zone_ignored(void **state)
{
    static const struct row days[] = {
        {1, "2025-03-09T12:00:00Z"},
        {2, "2025-03-10T01:00:00Z"}, /* March 9th, 21:00 in New York */
        {3, "2025-03-10T05:00:00Z"},
    };
    static const struct row weeks[] = {
        {1, "2025-05-31T12:00:00Z"},
        {2, "2025-06-02T02:00:00Z"}, /* Sunday 22:00 in New York */
        {3, "2025-06-03T12:00:00Z"},
    };
    static const struct row months[] = {
        {1, "2025-01-15T12:00:00Z"},
        {2, "2025-02-01T03:00:00Z"}, /* January 31st in New York */
        {3, "2025-02-10T12:00:00Z"},
    };
    static const struct row years[] = {
        {1, "2024-06-01T12:00:00Z"},
        {2, "2025-01-01T03:00:00Z"}, /* still 2024 in New York */
        {3, "2025-06-01T12:00:00Z"},
    };

    (void)state;
    /* New York time would give {2, 3} each time. */
    expect_kept(RULES({"keep_daily", 2}), days, "1 3");
    expect_kept(RULES({"keep_weekly", 2}), weeks, "1 3");
    expect_kept(RULES({"keep_monthly", 2}), months, "1 3");
    expect_kept(RULES({"keep_yearly", 2}), years, "1 3");
}

static void test_local_half_hour_zone_ignored(void **state)
{
    static const struct row rows[] = {
        {1, "2025-01-15T09:50:00Z"}, /* 15:20 in Kolkata */
        {2, "2025-01-15T10:20:00Z"}, /* 15:50 */
        {3, "2025-01-15T10:40:00Z"}, /* 16:10 */
    };

    (void)state;
    /* Kolkata hours would give {2, 3}. */
    expect_kept(RULES({"keep_hourly", 2}), rows, "1 3");
}

/* A long series checked against an oracle that takes its periods from
 * strftime on gmtime_r, so that no period arithmetic is shared with the code
 * under test. */
static void period_key(const char *rule, int64_t t, char *key, size_t size)
{
    struct tm tm;
    time_t tt = (time_t)t;
    size_t len = 0;

    assert_non_null(gmtime_r(&tt, &tm));
    if (strcmp(rule, "keep_hourly") == 0)
        len = strftime(key, size, "%Y-%m-%dT%H", &tm);
    else if (strcmp(rule, "keep_daily") == 0)
        len = strftime(key, size, "%Y-%m-%d", &tm);
    else if (strcmp(rule, "keep_weekly") == 0)
        len = strftime(key, size, "%G-W%V", &tm);
    else if (strcmp(rule, "keep_monthly") == 0)
        len = strftime(key, size, "%Y-%m", &tm);
    else if (strcmp(rule, "keep_yearly") == 0)
        len = strftime(key, size, "%Y", &tm);
    assert_true(len > 0);
}

/* versions: oldest first, numbered 1..n. */
static void oracle(const struct rule *list, const struct cf_retained_version *versions, size_t n, bool *keep)
{
    for (size_t i = 0; i < n; i++)
        keep[i] = false;
    for (; list->name != NULL; list++) {
        int64_t periods = 0;
        char last[32] = "", key[32];

        for (size_t k = 0; k < n; k++) {
            size_t i = n - 1 - k;

            if (strcmp(list->name, "keep_last") == 0) {
                if ((int64_t)k < list->count)
                    keep[i] = true;
                continue;
            }
            if (periods >= list->count)
                break;
            period_key(list->name, versions[i].created_at, key, sizeof(key));
            if (periods == 0 || strcmp(key, last) != 0) {
                keep[i] = true;
                snprintf(last, sizeof(last), "%s", key);
                periods++;
            }
        }
    }
}

static void expect_series(const struct rule *list, const struct cf_retained_version *series, size_t n,
                          size_t expected_kept)
{
    struct cf_retained_version *v = malloc(n * sizeof(*v));
    bool *keep = malloc(n * sizeof(*keep));
    size_t *order = malloc(n * sizeof(*order));
    int64_t rules[CF_RETENTION_RULES];
    char described[TEXT_MAX];
    size_t kept = 0;

    assert_non_null(v);
    assert_non_null(keep);
    assert_non_null(order);
    rules_from(list, rules);
    rules_text(list, described, sizeof(described));
    oracle(list, series, n, keep);
    make_order(order, n, 5);
    for (size_t i = 0; i < n; i++) {
        v[i] = series[order[i]];
        v[i].keep = i % 3 == 0;
    }
    cf_retention_select(rules, v, n);
    check_newest_first(v, n, __LINE__);
    for (size_t i = 0; i < n; i++) {
        size_t at = (size_t)(v[i].number - 1);

        if (v[i].keep != keep[at])
            fail_msg("%s: version %lld at %lld %s, expected %s", described, (long long)v[i].number,
                     (long long)v[i].created_at, v[i].keep ? "kept" : "dropped",
                     keep[at] ? "kept" : "dropped");
        kept += v[i].keep;
    }
    /* 0: as many as the oracle keeps, which the loop above already checked. */
    if (expected_kept > 0)
        assert_int_equal(kept, expected_kept);
    free(order);
    free(keep);
    free(v);
}

static void test_matches_calendar_over_six_years(void **state)
{
    const int64_t start = utc("2019-12-01T00:00:00Z"), end = utc("2026-02-01T00:00:00Z");
    const size_t days = (size_t)((end - start) / 86400);
    struct cf_retained_version *series = malloc(days * 3 * sizeof(*series));
    size_t n = 0;

    (void)state;
    assert_non_null(series);
    /* Up to three versions a day (midnight, around noon, last second), with
     * some days left out. */
    for (size_t d = 0; d < days; d++) {
        int64_t day = start + (int64_t)d * 86400;
        int64_t times[3] = {day, day + 43200 + (int64_t)(d % 5) * 60, day + 86399};

        if (d % 13 == 7)
            continue;
        for (size_t i = 0; i < 3; i++) {
            if (i == 2 && d % 3 == 0)
                continue;
            series[n].number = (int64_t)n + 1;
            series[n].created_at = times[i];
            series[n].keep = false;
            n++;
        }
    }
    expect_series(RULES({"keep_hourly", 50}), series, n, 50);
    expect_series(RULES({"keep_daily", 10}), series, n, 10);
    expect_series(RULES({"keep_daily", 400}), series, n, 400);
    expect_series(RULES({"keep_weekly", 60}), series, n, 60);
    /* 2019-W48 (Monday 2019-11-25) to 2026-W05: 323 ISO weeks. */
    expect_series(RULES({"keep_weekly", 10000}), series, n, 323);
    expect_series(RULES({"keep_monthly", 30}), series, n, 30);
    /* December 2019 to January 2026. */
    expect_series(RULES({"keep_monthly", 10000}), series, n, 74);
    expect_series(RULES({"keep_yearly", 3}), series, n, 3);
    expect_series(RULES({"keep_yearly", 10000}), series, n, 8);
    expect_series(RULES({"keep_last", 7}, {"keep_daily", 5}, {"keep_weekly", 5}, {"keep_monthly", 13},
                        {"keep_yearly", 10}),
                  series, n, 0);
    free(series);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utc_helper_and_calendar_facts),
        cmocka_unit_test(test_rule_order),
        cmocka_unit_test(test_keep_last),
        cmocka_unit_test(test_no_rules_keeps_nothing),
        cmocka_unit_test(test_keep_daily_skips_days_without_versions),
        cmocka_unit_test(test_keep_daily_newest_of_each_day),
        cmocka_unit_test(test_newest_always_kept_by_each_period_rule),
        cmocka_unit_test(test_keep_hourly_across_midnight),
        cmocka_unit_test(test_keep_weekly_iso_week_53_spans_new_year),
        cmocka_unit_test(test_keep_weekly_iso_week_1_starts_in_december),
        cmocka_unit_test(test_keep_weekly_starts_on_monday),
        cmocka_unit_test(test_keep_monthly_across_month_ends),
        cmocka_unit_test(test_keep_yearly_across_new_year),
        cmocka_unit_test(test_rules_combined),
        cmocka_unit_test(test_same_time_higher_number_is_newer),
        cmocka_unit_test(test_newest_is_by_time_before_number),
        cmocka_unit_test(test_incoming_is_newest_within_its_second),
        cmocka_unit_test(test_quick_uploads_keep_exactly_keep_last),
        cmocka_unit_test(test_incoming_is_newest_when_the_clock_steps_back),
        cmocka_unit_test(test_any_input_order),
        cmocka_unit_test(test_count_larger_than_versions),
        cmocka_unit_test_setup_teardown(test_local_zone_ignored, new_york, restore_zone),
        cmocka_unit_test_setup_teardown(test_local_half_hour_zone_ignored, kolkata, restore_zone),
        cmocka_unit_test(test_matches_calendar_over_six_years),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
