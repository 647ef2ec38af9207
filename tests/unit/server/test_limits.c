#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "server/limits.h"

#include <string.h>

static struct cf_commit_state state_of(enum cf_strategy strategy, int64_t max_versions, int64_t versions)
{
    struct cf_commit_state s;

    memset(&s, 0, sizeof(s));
    s.strategy = strategy;
    s.max_versions = max_versions;
    s.versions = versions;
    return s;
}

static void expect_ok(const struct cf_commit_state *s, int64_t new_size, int64_t rotated_size)
{
    struct cf_error err;

    cf_error_init(&err);
    if (cf_limits_check(s, new_size, 0, rotated_size, &err) != CF_OK)
        fail_msg("%lld bytes (rotating %lld) refused: %s", (long long)new_size, (long long)rotated_size,
                 err.message);
    cf_error_dispose(&err);
}

static void expect_refused(const struct cf_commit_state *s, int64_t new_size, int64_t rotated_size,
                           cf_code code, const char *message)
{
    struct cf_error err;

    cf_error_init(&err);
    assert_int_equal(cf_limits_check(s, new_size, 0, rotated_size, &err), code);
    assert_int_equal(err.code, code);
    assert_string_equal(err.message, message);
    cf_error_dispose(&err);
    /* The caller may pass no error struct. */
    assert_int_equal(cf_limits_check(s, new_size, 0, rotated_size, NULL), code);
}

static void test_rotation_delete_oldest(void **state)
{
    struct cf_commit_state s;

    (void)state;
    s = state_of(CF_DELETE_OLDEST, 3, 0);
    assert_int_equal(cf_rotation_count(&s), 0);
    s.versions = 2;
    assert_int_equal(cf_rotation_count(&s), 0);
    /* Full: the new one pushes out exactly one. */
    s.versions = 3;
    assert_int_equal(cf_rotation_count(&s), 1);
    /* Over the limit (it was lowered): back down to the limit with the new one. */
    s.versions = 5;
    assert_int_equal(cf_rotation_count(&s), 3);
    s = state_of(CF_DELETE_OLDEST, 1, 1);
    assert_int_equal(cf_rotation_count(&s), 1);
    s = state_of(CF_DELETE_OLDEST, 1, 0);
    assert_int_equal(cf_rotation_count(&s), 0);
    s = state_of(CF_DELETE_OLDEST, 1000000, 1000000);
    assert_int_equal(cf_rotation_count(&s), 1);
}

static void test_rotation_unlimited_and_other_strategies(void **state)
{
    struct cf_commit_state s;

    (void)state;
    s = state_of(CF_DELETE_OLDEST, 0, 0);
    assert_int_equal(cf_rotation_count(&s), 0);
    s = state_of(CF_DELETE_OLDEST, 0, 1000000);
    assert_int_equal(cf_rotation_count(&s), 0);
    s = state_of(CF_ALERT_TOO_MANY, 3, 3);
    assert_int_equal(cf_rotation_count(&s), 0);
    s = state_of(CF_ALERT_TOO_MANY, 3, 10);
    assert_int_equal(cf_rotation_count(&s), 0);
    /* Retention deletes after the commit by its rules, never by count. */
    s = state_of(CF_RETENTION, 3, 3);
    assert_int_equal(cf_rotation_count(&s), 0);
    s = state_of(CF_RETENTION, 3, 50);
    assert_int_equal(cf_rotation_count(&s), 0);
}

static void test_version_too_large(void **state)
{
    struct cf_commit_state s = state_of(CF_DELETE_OLDEST, 0, 0);

    (void)state;
    s.max_version_size = 100;
    expect_ok(&s, 1, 0);
    expect_ok(&s, 100, 0);
    expect_refused(&s, 101, 0, CF_E_VERSION_TOO_LARGE,
                   "the version is 101 bytes; this collection takes at most 100");
    assert_int_equal(cf_code_http_status(CF_E_VERSION_TOO_LARGE), 413);
    assert_string_equal(cf_code_name(CF_E_VERSION_TOO_LARGE), "version_too_large");
    /* Rotation frees room in the collection, not in one version. */
    expect_refused(&s, 101, 1000, CF_E_VERSION_TOO_LARGE,
                   "the version is 101 bytes; this collection takes at most 100");
}

static void test_too_many_versions(void **state)
{
    struct cf_commit_state s;

    (void)state;
    s = state_of(CF_ALERT_TOO_MANY, 3, 2);
    expect_ok(&s, 10, 0);
    s.versions = 3;
    expect_refused(&s, 10, 0, CF_E_TOO_MANY_VERSIONS,
                   "the collection already holds its maximum of 3 versions; delete one first");
    s.versions = 4;
    expect_refused(&s, 10, 0, CF_E_TOO_MANY_VERSIONS,
                   "the collection already holds its maximum of 3 versions; delete one first");
    assert_int_equal(cf_code_http_status(CF_E_TOO_MANY_VERSIONS), 409);
    assert_string_equal(cf_code_name(CF_E_TOO_MANY_VERSIONS), "too_many_versions");

    /* Retention still caps the count with a refusal. */
    s = state_of(CF_RETENTION, 5, 5);
    expect_refused(&s, 10, 0, CF_E_TOO_MANY_VERSIONS,
                   "the collection already holds its maximum of 5 versions; delete one first");
    s.versions = 4;
    expect_ok(&s, 10, 0);

    /* delete_oldest rotates instead of refusing. */
    s = state_of(CF_DELETE_OLDEST, 3, 3);
    expect_ok(&s, 10, 0);
    /* No maximum, no refusal. */
    s = state_of(CF_ALERT_TOO_MANY, 0, 1000000);
    expect_ok(&s, 10, 0);
}

static void test_collection_full(void **state)
{
    struct cf_commit_state s = state_of(CF_DELETE_OLDEST, 0, 4);

    (void)state;
    s.max_collection_size = 1000;
    s.size = 900;
    expect_ok(&s, 100, 0);
    expect_refused(&s, 101, 0, CF_E_COLLECTION_FULL,
                   "the collection would hold 1001 bytes, more than its limit of 1000");
    assert_int_equal(cf_code_http_status(CF_E_COLLECTION_FULL), 413);
    assert_string_equal(cf_code_name(CF_E_COLLECTION_FULL), "collection_full");
    /* An empty collection and a version exactly its size. */
    s.size = 0;
    expect_ok(&s, 1000, 0);
    expect_refused(&s, 1001, 0, CF_E_COLLECTION_FULL,
                   "the collection would hold 1001 bytes, more than its limit of 1000");
}

static void test_rotation_frees_room(void **state)
{
    struct cf_commit_state s = state_of(CF_DELETE_OLDEST, 3, 3);
    int64_t rotate;

    (void)state;
    s.max_collection_size = 1000;
    s.size = 900;
    s.account_quota = 5000;
    s.account_size = 4900;
    rotate = cf_rotation_count(&s);
    assert_int_equal(rotate, 1);
    /* Without the rotated 300 bytes neither the collection nor the account has room. */
    expect_refused(&s, 400, 0, CF_E_COLLECTION_FULL,
                   "the collection would hold 1300 bytes, more than its limit of 1000");
    expect_ok(&s, 400, 300);
    expect_refused(&s, 401, 300, CF_E_COLLECTION_FULL,
                   "the collection would hold 1001 bytes, more than its limit of 1000");
    /* The account gains the same room. */
    s.max_collection_size = 0;
    expect_ok(&s, 400, 300);
    expect_refused(&s, 401, 300, CF_E_ACCOUNT_QUOTA_EXCEEDED,
                   "the account would store 5001 bytes, more than its quota of 5000");
}

static void test_account_quota_exceeded(void **state)
{
    struct cf_commit_state s = state_of(CF_DELETE_OLDEST, 0, 0);

    (void)state;
    s.account_quota = 5000;
    s.account_size = 4900;
    expect_ok(&s, 100, 0);
    expect_refused(&s, 101, 0, CF_E_ACCOUNT_QUOTA_EXCEEDED,
                   "the account would store 5001 bytes, more than its quota of 5000");
    assert_int_equal(cf_code_http_status(CF_E_ACCOUNT_QUOTA_EXCEEDED), 507);
    assert_string_equal(cf_code_name(CF_E_ACCOUNT_QUOTA_EXCEEDED), "account_quota_exceeded");
    /* The collection has room, the account does not. */
    s.max_collection_size = 1000000;
    s.size = 10;
    expect_refused(&s, 101, 0, CF_E_ACCOUNT_QUOTA_EXCEEDED,
                   "the account would store 5001 bytes, more than its quota of 5000");
}

static void test_unlimited(void **state)
{
    struct cf_commit_state s;

    (void)state;
    s = state_of(CF_DELETE_OLDEST, 0, 1000000);
    s.size = INT64_C(1) << 50;
    s.account_size = INT64_C(1) << 51;
    expect_ok(&s, INT64_C(1) << 50, 0);
    s.strategy = CF_ALERT_TOO_MANY;
    expect_ok(&s, INT64_C(1) << 50, 0);
    s.strategy = CF_RETENTION;
    expect_ok(&s, INT64_C(1) << 50, 0);
    /* One limit set leaves the others unlimited. */
    s.max_version_size = INT64_C(1) << 50;
    expect_ok(&s, INT64_C(1) << 50, 0);
}

static void test_first_refusal_wins(void **state)
{
    struct cf_commit_state s = state_of(CF_ALERT_TOO_MANY, 2, 2);

    (void)state;
    s.max_version_size = 100;
    s.max_collection_size = 150;
    s.size = 100;
    s.account_quota = 120;
    s.account_size = 100;
    /* Everything is broken: the version's own size is reported first ... */
    expect_refused(&s, 200, 0, CF_E_VERSION_TOO_LARGE,
                   "the version is 200 bytes; this collection takes at most 100");
    /* ... then the count, the collection, the account. */
    expect_refused(&s, 60, 0, CF_E_TOO_MANY_VERSIONS,
                   "the collection already holds its maximum of 2 versions; delete one first");
    s.versions = 1;
    expect_refused(&s, 60, 0, CF_E_COLLECTION_FULL,
                   "the collection would hold 160 bytes, more than its limit of 150");
    expect_refused(&s, 30, 0, CF_E_ACCOUNT_QUOTA_EXCEEDED,
                   "the account would store 130 bytes, more than its quota of 120");
    expect_ok(&s, 20, 0);
}

/* Retention deletes in the same commit what no rule keeps; max_versions then
 * caps the count of what remains, by refusing, never by deleting more. */
static void test_retention_counts_what_it_deletes(void **state)
{
    struct cf_commit_state s = state_of(CF_RETENTION, 3, 3);
    struct cf_error err;

    (void)state;
    cf_error_init(&err);
    assert_int_equal(cf_limits_check(&s, 10, 1, 10, &err), CF_OK);
    assert_int_equal(cf_limits_check(&s, 10, 0, 0, &err), CF_E_TOO_MANY_VERSIONS);
    assert_string_equal(err.message,
                        "the collection already holds its maximum of 3 versions; delete one first");
    cf_error_dispose(&err);
}

/* The room is exactly what cf_limits_check lets through: one byte more is refused with the same code. */
static void test_room_is_the_edge_of_the_check(void **state)
{
    struct cf_commit_state s = state_of(CF_DELETE_OLDEST, 0, 2);
    cf_code code;
    int64_t room;

    (void)state;
    room = cf_limits_room(&s, 0, &code);
    assert_int_equal(code, CF_OK);
    assert_true(room == INT64_MAX);

    s.max_version_size = 500;
    s.max_collection_size = 1000;
    s.size = 700;
    room = cf_limits_room(&s, 0, &code);
    assert_int_equal(room, 300);
    assert_int_equal(code, CF_E_COLLECTION_FULL);
    assert_int_equal(cf_limits_check(&s, room, 0, 0, NULL), CF_OK);
    assert_int_equal(cf_limits_check(&s, room + 1, 0, 0, NULL), code);

    /* Rotation frees room; then max_version_size is the tighter bound. */
    room = cf_limits_room(&s, 400, &code);
    assert_int_equal(room, 500);
    assert_int_equal(code, CF_E_VERSION_TOO_LARGE);
    assert_int_equal(cf_limits_check(&s, room + 1, 1, 400, NULL), code);

    s.account_quota = 2000;
    s.account_size = 1900;
    room = cf_limits_room(&s, 400, &code);
    assert_int_equal(room, 500);
    s.account_size = 1950;
    room = cf_limits_room(&s, 400, &code);
    assert_int_equal(room, 450);
    assert_int_equal(code, CF_E_ACCOUNT_QUOTA_EXCEEDED);
    assert_int_equal(cf_limits_check(&s, room, 1, 400, NULL), CF_OK);
    assert_int_equal(cf_limits_check(&s, room + 1, 1, 400, NULL), code);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_retention_counts_what_it_deletes),
        cmocka_unit_test(test_room_is_the_edge_of_the_check),
        cmocka_unit_test(test_rotation_delete_oldest),
        cmocka_unit_test(test_rotation_unlimited_and_other_strategies),
        cmocka_unit_test(test_version_too_large),
        cmocka_unit_test(test_too_many_versions),
        cmocka_unit_test(test_collection_full),
        cmocka_unit_test(test_rotation_frees_room),
        cmocka_unit_test(test_account_quota_exceeded),
        cmocka_unit_test(test_unlimited),
        cmocka_unit_test(test_first_refusal_wins),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
