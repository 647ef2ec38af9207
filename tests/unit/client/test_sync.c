#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "client/sync.h"

#include <stdio.h>
#include <string.h>

#define SHA "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static struct cf_spool_entry entry(void)
{
    struct cf_spool_entry e;

    memset(&e, 0, sizeof(e));
    snprintf(e.collection, sizeof(e.collection), "db");
    snprintf(e.sha256, sizeof(e.sha256), "%s", SHA);
    e.size = 1000;
    e.created = 1795428000; /* 2026-11-23T10:00:00Z */
    return e;
}

static bool confirms(const char *json)
{
    struct cf_spool_entry e = entry();
    json_t *v = json_loads(json, 0, NULL);
    bool yes;

    assert_non_null(v);
    yes = cf_sync_version_confirms(v, &e);
    json_decref(v);
    return yes;
}

static void test_same_hash_size_and_later_time_confirms(void **state)
{
    (void)state;
    assert_true(
        confirms("{\"sha256\": \"" SHA "\", \"size\": 1000, \"created_at\": \"2026-11-23T10:05:00Z\"}"));
    /* The server compares hashes without regard to case; so does the client. */
    assert_true(confirms("{\"sha256\": \"0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef\","
                         " \"size\": 1000, \"created_at\": \"2026-11-24T00:00:00Z\"}"));
}

static void test_a_client_clock_a_little_ahead_still_confirms(void **state)
{
    (void)state;
    assert_true(
        confirms("{\"sha256\": \"" SHA "\", \"size\": 1000, \"created_at\": \"2026-11-23T09:45:00Z\"}"));
    assert_false(
        confirms("{\"sha256\": \"" SHA "\", \"size\": 1000, \"created_at\": \"2026-11-23T09:44:59Z\"}"));
}

static void test_an_older_equal_version_is_not_this_upload(void **state)
{
    (void)state;
    assert_false(
        confirms("{\"sha256\": \"" SHA "\", \"size\": 1000, \"created_at\": \"2026-11-22T10:00:00Z\"}"));
}

static void test_other_versions_never_confirm(void **state)
{
    (void)state;
    /* Newer, but not the same bytes: never a reason to drop the entry. */
    assert_false(confirms("{\"sha256\": \"ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff\","
                          " \"size\": 1000, \"created_at\": \"2026-11-23T11:00:00Z\"}"));
    assert_false(
        confirms("{\"sha256\": \"" SHA "\", \"size\": 999, \"created_at\": \"2026-11-23T11:00:00Z\"}"));
    assert_false(confirms("{\"sha256\": \"" SHA "\", \"size\": 1000}"));
    assert_false(
        confirms("{\"sha256\": \"" SHA "\", \"size\": \"1000\", \"created_at\": \"2026-11-23T11:00:00Z\"}"));
    assert_false(confirms("{\"size\": 1000, \"created_at\": \"2026-11-23T11:00:00Z\"}"));
    assert_false(confirms("{}"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_hash_size_and_later_time_confirms),
        cmocka_unit_test(test_a_client_clock_a_little_ahead_still_confirms),
        cmocka_unit_test(test_an_older_equal_version_is_not_this_upload),
        cmocka_unit_test(test_other_versions_never_confirm),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
