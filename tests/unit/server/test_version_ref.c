#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "server/version_ref.h"

#include <string.h>

static struct cf_version_ref parse_ok(const char *text)
{
    struct cf_version_ref ref;
    struct cf_error err;

    cf_error_init(&err);
    if (cf_version_ref_parse(text, &ref, &err) != CF_OK)
        fail_msg("\"%s\" refused: %s", text, err.message);
    cf_error_dispose(&err);
    return ref;
}

static void expect_bad_ref(const char *text, const char *needle)
{
    struct cf_version_ref ref;
    struct cf_error err;

    memset(&ref, 0x5a, sizeof(ref));
    cf_error_init(&err);
    assert_int_equal(cf_version_ref_parse(text, &ref, &err), CF_E_INVALID_REF);
    assert_int_equal(err.code, CF_E_INVALID_REF);
    if (strstr(err.message, needle) == NULL)
        fail_msg("message \"%s\" for \"%s\" does not mention \"%s\"", err.message, text ? text : "(null)",
                 needle);
    /* Nothing is written on failure. */
    assert_int_equal(ref.number, 0x5a5a5a5a5a5a5a5a);
    cf_error_dispose(&err);
}

static void test_ref_keywords(void **state)
{
    (void)state;
    assert_int_equal(parse_ok("latest").kind, CF_REF_LATEST);
    assert_int_equal(parse_ok("first").kind, CF_REF_FIRST);
    expect_bad_ref("Latest", "not a version reference");
    expect_bad_ref("LATEST", "not a version reference");
    expect_bad_ref("latest ", "not a version reference");
    expect_bad_ref("last", "not a version reference");
}

static void test_ref_numbers(void **state)
{
    struct cf_version_ref ref;

    (void)state;
    ref = parse_ok("1");
    assert_int_equal(ref.kind, CF_REF_NUMBER);
    assert_int_equal(ref.number, 1);
    ref = parse_ok("v1");
    assert_int_equal(ref.kind, CF_REF_NUMBER);
    assert_int_equal(ref.number, 1);
    ref = parse_ok("42");
    assert_int_equal(ref.number, 42);
    ref = parse_ok("v1234567");
    assert_int_equal(ref.number, 1234567);
    ref = parse_ok("9223372036854775807");
    assert_int_equal(ref.number, INT64_MAX);
    ref = parse_ok("v9223372036854775807");
    assert_int_equal(ref.number, INT64_MAX);
}

static void test_ref_bad_numbers(void **state)
{
    (void)state;
    expect_bad_ref("0", "not a version reference");
    expect_bad_ref("v0", "not a version reference");
    expect_bad_ref("-1", "not a version reference");
    expect_bad_ref("v-1", "not a version reference");
    expect_bad_ref("+1", "not a version reference");
    expect_bad_ref("01", "not a version reference");
    expect_bad_ref("v01", "not a version reference");
    expect_bad_ref("99999999999999999999", "not a version reference");
    expect_bad_ref("9223372036854775808", "not a version reference");
    expect_bad_ref("v99999999999999999999", "not a version reference");
    expect_bad_ref("v", "not a version reference");
    expect_bad_ref("V3", "not a version reference");
    expect_bad_ref("vv3", "not a version reference");
    expect_bad_ref("3v", "not a version reference");
    expect_bad_ref(" 3", "not a version reference");
    expect_bad_ref("3 ", "not a version reference");
    expect_bad_ref("3.0", "not a version reference");
    expect_bad_ref("1e3", "not a version reference");
    expect_bad_ref("0x10", "not a version reference");
}

static void test_ref_junk(void **state)
{
    char long_text[200];

    (void)state;
    memset(long_text, '7', sizeof(long_text) - 1);
    long_text[sizeof(long_text) - 1] = '\0';
    expect_bad_ref("", "required");
    expect_bad_ref(NULL, "required");
    expect_bad_ref("../etc/passwd", "not a version reference");
    expect_bad_ref("latest%00", "not a version reference");
    expect_bad_ref("\xc3\xa9", "not a version reference");
    expect_bad_ref(long_text, "too long");
}

static void test_ref_uuid(void **state)
{
    struct cf_version_ref ref;

    (void)state;
    ref = parse_ok("0f8fad5b-d9cb-469f-a165-70867728950e");
    assert_int_equal(ref.kind, CF_REF_UUID);
    assert_string_equal(ref.uuid, "0f8fad5b-d9cb-469f-a165-70867728950e");

    /* Upper case is accepted and normalised to lower case. */
    ref = parse_ok("0F8FAD5B-D9CB-469F-A165-70867728950E");
    assert_int_equal(ref.kind, CF_REF_UUID);
    assert_string_equal(ref.uuid, "0f8fad5b-d9cb-469f-a165-70867728950e");

    /* A UUID made of digits only is still a UUID, not a number. */
    ref = parse_ok("12345678-1234-1234-1234-123456789012");
    assert_int_equal(ref.kind, CF_REF_UUID);

    expect_bad_ref("0f8fad5b-d9cb-469f-a165-70867728950", "not a version reference");
    expect_bad_ref("0f8fad5b-d9cb-469f-a165-70867728950e0", "not a version reference");
    expect_bad_ref("0f8fad5bd9cb469fa16570867728950e", "not a version reference");
    expect_bad_ref("{0f8fad5b-d9cb-469f-a165-70867728950e}", "not a version reference");
    expect_bad_ref("0f8fad5b-d9cb-469f-a165-70867728950g", "not a version reference");
    expect_bad_ref("0f8fad5b_d9cb-469f-a165-70867728950e", "not a version reference");
}

static void test_uuid_valid(void **state)
{
    (void)state;
    assert_true(cf_uuid_valid("00000000-0000-0000-0000-000000000000"));
    assert_true(cf_uuid_valid("ABCDEF01-2345-6789-abcd-ef0123456789"));
    assert_false(cf_uuid_valid(""));
    assert_false(cf_uuid_valid(NULL));
    assert_false(cf_uuid_valid("00000000-0000-0000-0000-00000000000"));
    assert_false(cf_uuid_valid("00000000-0000-0000-0000-0000000000000"));
    assert_false(cf_uuid_valid("000000000-000-0000-0000-000000000000"));
    assert_false(cf_uuid_valid("00000000-0000-0000-0000-00000000000 "));
}

static void test_uuid_v4(void **state)
{
    char a[37];
    char b[37];

    (void)state;
    for (int i = 0; i < 100; i++) {
        cf_uuid_v4(a);
        assert_int_equal(strlen(a), 36);
        assert_true(cf_uuid_valid(a));
        assert_int_equal(a[14], '4');
        assert_non_null(strchr("89ab", a[19]));
        for (int j = 0; j < 36; j++)
            assert_false(a[j] >= 'A' && a[j] <= 'F');
        cf_uuid_v4(b);
        assert_string_not_equal(a, b);
        /* Round trip through the ref parser. */
        assert_int_equal(parse_ok(a).kind, CF_REF_UUID);
        assert_string_equal(parse_ok(a).uuid, a);
    }
}

static void expect_name(const char *template_name, int64_t number, const char *expected)
{
    char out[256];
    struct cf_error err;

    cf_error_init(&err);
    if (cf_version_filename(template_name, number, out, sizeof(out), &err) != CF_OK)
        fail_msg("\"%s\" refused: %s", template_name, err.message);
    assert_string_equal(out, expected);
    cf_error_dispose(&err);
}

static void test_filename_contract_examples(void **state)
{
    (void)state;
    expect_name("dump.sql", 3, "dump-v3.sql");
    expect_name("db.sql.gz", 3, "db-v3.sql.gz");
    expect_name("example.org_site.tar.zst", 3, "example.org_site-v3.tar.zst");
    expect_name("noext", 3, "noext-v3");
}

static void test_filename_edge_cases(void **state)
{
    (void)state;
    /* A leading dot starts a hidden name, not an extension. */
    expect_name(".env", 3, ".env-v3");
    expect_name(".env.gz", 3, ".env-v3.gz");
    expect_name(".bashrc.bak", 2, ".bashrc-v2.bak");
    /* Only the last suffix, unless it is a compression suffix. */
    expect_name("a.b.c", 3, "a.b-v3.c");
    expect_name("archive.tar", 3, "archive-v3.tar");
    expect_name("archive.tar.gz", 12, "archive-v12.tar.gz");
    expect_name("archive.tgz", 1, "archive-v1.tgz");
    expect_name("db.gz", 3, "db-v3.gz");
    expect_name("my.site.sql.bz2", 7, "my.site-v7.sql.bz2");
    expect_name("dump.sql.xz", 3, "dump-v3.sql.xz");
    expect_name("dump.sql.lz4", 3, "dump-v3.sql.lz4");
    expect_name("dump.sql.lzma", 3, "dump-v3.sql.lzma");
    expect_name("dump.sql.br", 3, "dump-v3.sql.br");
    expect_name("dump.sql.lzo", 3, "dump-v3.sql.lzo");
    expect_name("dump.tar.z", 3, "dump-v3.tar.z");
    expect_name("dump.tar.Z", 3, "dump-v3.tar.Z");
    expect_name("dump.SQL.GZ", 3, "dump-v3.SQL.GZ");
    /* A trailing dot is no extension. */
    expect_name("name.", 3, "name.-v3");
    expect_name("x", 9223372036854775807, "x-v9223372036854775807");
}

static void test_filename_refusals(void **state)
{
    char template_name[300];
    char out[256];
    char fit[12];
    char tiny[8];
    struct cf_error err;

    (void)state;
    cf_error_init(&err);
    memset(template_name, 'a', sizeof(template_name) - 1);
    template_name[sizeof(template_name) - 1] = '\0';
    memcpy(out, "junk", 5);
    assert_int_equal(cf_version_filename(template_name, 3, out, sizeof(out), &err), CF_E_INTERNAL);
    assert_int_equal(err.code, CF_E_INTERNAL);
    assert_non_null(strstr(err.message, "longer than"));
    assert_string_equal(out, "");

    /* Exactly fitting, and one byte short. */
    assert_int_equal(cf_version_filename("dump.sql", 3, fit, sizeof(fit), NULL), CF_OK);
    assert_string_equal(fit, "dump-v3.sql");
    assert_int_equal(cf_version_filename("dump.sqlx", 3, fit, sizeof(fit), NULL), CF_E_INTERNAL);
    assert_string_equal(fit, "");
    assert_int_equal(cf_version_filename("ab.sql", 3, tiny, sizeof(tiny), NULL), CF_E_INTERNAL);
    assert_string_equal(tiny, "");
    assert_int_equal(cf_version_filename("a.sql", 3, tiny, sizeof(tiny), NULL), CF_E_INTERNAL);
    assert_int_equal(cf_version_filename("a.sq", 3, tiny, sizeof(tiny), NULL), CF_OK);
    assert_string_equal(tiny, "a-v3.sq");
    assert_int_equal(cf_version_filename("a", 3, tiny, 0, NULL), CF_E_INTERNAL);

    assert_int_equal(cf_version_filename("", 3, out, sizeof(out), &err), CF_E_INTERNAL);
    assert_non_null(strstr(err.message, "empty template"));
    assert_int_equal(cf_version_filename(NULL, 3, out, sizeof(out), &err), CF_E_INTERNAL);
    assert_int_equal(cf_version_filename("dump.sql", 0, out, sizeof(out), &err), CF_E_INTERNAL);
    assert_non_null(strstr(err.message, "version 0"));
    assert_int_equal(cf_version_filename("dump.sql", -1, out, sizeof(out), &err), CF_E_INTERNAL);
    cf_error_dispose(&err);
}

static void expect_bad_made_at(const char *text, int64_t now, const char *needle)
{
    struct cf_error err;
    int64_t value = 42;

    cf_error_init(&err);
    assert_int_equal(cf_made_at_parse(text, now, &value, &err), CF_E_BAD_REQUEST);
    assert_int_equal(err.code, CF_E_BAD_REQUEST);
    if (strstr(err.message, "X-Coffer-Made-At") == NULL || strstr(err.message, needle) == NULL)
        fail_msg("message \"%s\" for \"%s\" does not name the header and \"%s\"", err.message, text, needle);
    assert_true(value == 42);
    cf_error_dispose(&err);
}

/* 2026-11-23T10:00:00Z */
#define NOW INT64_C(1795428000)

static void test_made_at_accepted(void **state)
{
    int64_t value = 0;

    (void)state;
    assert_int_equal(cf_made_at_parse("2026-11-23T10:00:00Z", NOW, &value, NULL), CF_OK);
    assert_true(value == NOW);
    assert_int_equal(cf_made_at_parse("2026-11-23T12:00:00+02:00", NOW, &value, NULL), CF_OK);
    assert_true(value == NOW);
    /* The past, however far, is the client's business. */
    assert_int_equal(cf_made_at_parse("1999-01-01T00:00:00Z", NOW, &value, NULL), CF_OK);
    assert_true(value == INT64_C(915148800));
    /* Up to a day ahead: a drifting clock, or local time sent as UTC. */
    assert_int_equal(cf_made_at_parse("2026-11-24T10:00:00Z", NOW, &value, NULL), CF_OK);
    assert_true(value == NOW + CF_MADE_AT_MAX_AHEAD);
}

static void test_made_at_refused(void **state)
{
    (void)state;
    expect_bad_made_at("yesterday", NOW, "RFC 3339");
    expect_bad_made_at("2026-11-23", NOW, "RFC 3339");
    expect_bad_made_at("2026-02-30T10:00:00Z", NOW, "RFC 3339");
    expect_bad_made_at("", NOW, "RFC 3339");
    expect_bad_made_at("2026-11-24T10:00:01Z", NOW, "more than a day ahead");
    expect_bad_made_at("9999-12-31T23:59:59Z", NOW, "more than a day ahead");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ref_keywords),
        cmocka_unit_test(test_ref_numbers),
        cmocka_unit_test(test_ref_bad_numbers),
        cmocka_unit_test(test_ref_junk),
        cmocka_unit_test(test_ref_uuid),
        cmocka_unit_test(test_uuid_valid),
        cmocka_unit_test(test_uuid_v4),
        cmocka_unit_test(test_filename_contract_examples),
        cmocka_unit_test(test_filename_edge_cases),
        cmocka_unit_test(test_filename_refusals),
        cmocka_unit_test(test_made_at_accepted),
        cmocka_unit_test(test_made_at_refused),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
