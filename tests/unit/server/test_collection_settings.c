#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "server/collection_settings.h"

#include <stdlib.h>
#include <string.h>

#define FIELD_MSG_ID       "must match ^[A-Za-z0-9][A-Za-z0-9-]{0,63}$"
#define FIELD_MSG_FILENAME "must be a file name without quotes, slashes or control characters"
#define FIELD_MSG_INTERVAL "must be a number of seconds from 1 to 315360000, or null"
#define FIELD_MSG_COUNTS   "counts must be whole numbers from 0 to 100000"

static json_t *load(const char *text)
{
    json_error_t jerr;
    json_t *body = json_loads(text, JSON_ALLOW_NUL, &jerr);

    if (body == NULL)
        fail_msg("test JSON does not parse: %s: %s", text, jerr.text);
    return body;
}

/* Parses text, which must be accepted. The caller decrefs the returned body,
 * which out borrows from. */
static json_t *parse_ok(const char *text, bool create, struct cf_collection_settings *out)
{
    json_t *body = load(text);
    struct cf_error err;

    cf_error_init(&err);
    if (cf_collection_settings_parse(body, create, out, &err) != CF_OK) {
        char *fields = err.fields != NULL ? json_dumps(err.fields, 0) : NULL;
        fail_msg("%s refused: %s %s", text, err.message, fields != NULL ? fields : "");
    }
    assert_null(err.fields);
    cf_error_dispose(&err);
    return body;
}

static void expect_field(const struct cf_error *err, const char *field, const char *needle)
{
    const json_t *what = err->fields != NULL ? json_object_get(err->fields, field) : NULL;

    if (what == NULL || !json_is_string(what))
        fail_msg("no fields[\"%s\"] in the error \"%s\"", field, err->message);
    if (strstr(json_string_value(what), needle) == NULL)
        fail_msg("fields[\"%s\"] = \"%s\" does not mention \"%s\"", field, json_string_value(what), needle);
}

/* The body (built with json_pack or loaded) must be refused with code, the
 * general message, and fields[field] mentioning needle. Steals body. */
static void expect_bad_body(json_t *body, bool create, cf_code code, const char *field, const char *needle)
{
    struct cf_collection_settings out;
    struct cf_error err;

    cf_error_init(&err);
    assert_non_null(body);
    assert_int_equal(cf_collection_settings_parse(body, create, &out, &err), code);
    assert_int_equal(err.code, code);
    if (code == CF_E_VALIDATION)
        assert_string_equal(err.message, "some fields are not valid");
    expect_field(&err, field, needle);
    cf_error_dispose(&err);
    json_decref(body);
}

static void expect_bad(const char *text, bool create, cf_code code, const char *field, const char *needle)
{
    expect_bad_body(load(text), create, code, field, needle);
}

/* A string of n copies of unit. */
static char *repeat(const char *unit, size_t n)
{
    size_t len = strlen(unit);
    char *text = malloc(len * n + 1);

    assert_non_null(text);
    for (size_t i = 0; i < n; i++)
        memcpy(text + i * len, unit, len);
    text[len * n] = '\0';
    return text;
}

static void test_parse_empty_body(void **state)
{
    struct cf_collection_settings s;
    json_t *body;

    (void)state;
    body = parse_ok("{}", true, &s);
    assert_false(s.has_id || s.has_account_id || s.has_description || s.has_filename || s.has_tags ||
                 s.has_max_versions || s.has_max_version_size || s.has_max_collection_size ||
                 s.has_strategy || s.has_retention || s.has_expected_interval);
    assert_null(s.id);
    assert_null(s.description);
    assert_null(s.filename);
    assert_null(s.tags);
    assert_int_equal(s.max_versions, 0);
    assert_int_equal(s.max_version_size, 0);
    assert_int_equal(s.max_collection_size, 0);
    assert_int_equal(s.strategy, CF_DELETE_OLDEST);
    assert_int_equal(s.expected_interval, 0);
    for (int i = 0; i < CF_RETENTION_RULES; i++)
        assert_int_equal(s.retention[i], -1);
    json_decref(body);
}

static void test_parse_full_create_body(void **state)
{
    struct cf_collection_settings s;
    json_t *body;

    (void)state;
    body = parse_ok("{\"id\": \"db-backups-1\", \"account_id\": \"acme\", \"description\": \"nightly dumps\","
                    " \"filename\": \"dump.sql.gz\", \"tags\": [\"db\", \"prod\"], \"max_versions\": 30,"
                    " \"max_version_size\": \"5MB\", \"max_collection_size\": \"1GiB\","
                    " \"strategy\": \"retention\", \"retention\": {\"keep_last\": 3, \"keep_daily\": 7},"
                    " \"expected_interval\": 86400}",
                    true, &s);
    assert_true(s.has_id && s.has_account_id && s.has_description && s.has_filename && s.has_tags &&
                s.has_max_versions && s.has_max_version_size && s.has_max_collection_size && s.has_strategy &&
                s.has_retention && s.has_expected_interval);
    assert_string_equal(s.id, "db-backups-1");
    assert_string_equal(s.account_id, "acme");
    assert_string_equal(s.description, "nightly dumps");
    assert_string_equal(s.filename, "dump.sql.gz");
    assert_int_equal(json_array_size(s.tags), 2);
    assert_string_equal(json_string_value(json_array_get(s.tags, 1)), "prod");
    assert_int_equal(s.max_versions, 30);
    assert_int_equal(s.max_version_size, 5000000);
    assert_int_equal(s.max_collection_size, INT64_C(1073741824));
    assert_int_equal(s.strategy, CF_RETENTION);
    assert_int_equal(s.retention[0], 3);  /* keep_last */
    assert_int_equal(s.retention[1], -1); /* keep_hourly */
    assert_int_equal(s.retention[2], 7);  /* keep_daily */
    assert_int_equal(s.retention[3], -1);
    assert_int_equal(s.retention[4], -1);
    assert_int_equal(s.retention[5], -1);
    assert_int_equal(s.expected_interval, 86400);
    json_decref(body);
}

static void test_parse_unknown_fields_refused(void **state)
{
    struct cf_collection_settings s;
    struct cf_error err;
    json_t *body = load("{\"id\": \"ok\", \"colour\": \"red\", \"max_size\": 5}");

    (void)state;
    cf_error_init(&err);
    assert_int_equal(cf_collection_settings_parse(body, true, &s, &err), CF_E_VALIDATION);
    assert_int_equal(err.code, CF_E_VALIDATION);
    assert_string_equal(err.message, "some fields are not valid");
    assert_string_equal(json_string_value(json_object_get(err.fields, "colour")), "unknown field");
    assert_string_equal(json_string_value(json_object_get(err.fields, "max_size")), "unknown field");
    assert_int_equal(json_object_size(err.fields), 2);
    cf_error_dispose(&err);
    json_decref(body);

    /* An edit refuses them as well. */
    expect_bad("{\"colour\": \"red\"}", false, CF_E_VALIDATION, "colour", "unknown field");
}

static void test_parse_read_only_fields_only_on_edit(void **state)
{
    static const char *const bodies[] = {
        "{\"created_at\": \"2026-11-23T10:00:00Z\"}",
        "{\"updated_at\": \"2026-11-23T10:00:00Z\"}",
        "{\"usage\": {\"versions\": 3, \"size\": 10, \"stored_size\": 5, \"last_version_at\": null}}",
    };
    static const char *const names[] = {"created_at", "updated_at", "usage"};
    struct cf_collection_settings s;
    json_t *body;

    (void)state;
    for (size_t i = 0; i < 3; i++) {
        /* A client may send back what it read ... */
        body = parse_ok(bodies[i], false, &s);
        json_decref(body);
        /* ... but a new collection has no such thing yet. */
        expect_bad(bodies[i], true, CF_E_VALIDATION, names[i], "unknown field");
    }
    /* A whole GET answer sent back as an edit. */
    body = parse_ok("{\"id\": \"c1\", \"account_id\": \"acme\", \"description\": \"\", \"created_at\": \"x\","
                    " \"updated_at\": \"y\", \"usage\": {}, \"strategy\": \"delete_oldest_when_adding_new\"}",
                    false, &s);
    assert_string_equal(s.id, "c1");
    json_decref(body);
}

static void test_parse_id_pattern(void **state)
{
    struct cf_collection_settings s;
    char *id64 = repeat("a", 64);
    char *id65 = repeat("b", 65);
    json_t *body;

    (void)state;
    body = parse_ok("{\"id\": \"a\"}", true, &s);
    assert_string_equal(s.id, "a");
    json_decref(body);
    body = parse_ok("{\"id\": \"Z9-x-\"}", true, &s);
    json_decref(body);
    body = json_pack("{s:s}", "id", id64);
    {
        struct cf_error err;
        cf_error_init(&err);
        assert_int_equal(cf_collection_settings_parse(body, true, &s, &err), CF_OK);
        assert_string_equal(s.id, id64);
        cf_error_dispose(&err);
    }
    json_decref(body);

    expect_bad_body(json_pack("{s:s}", "id", id65), true, CF_E_VALIDATION, "id", "at most 64 characters");
    expect_bad("{\"id\": \"-leading\"}", true, CF_E_VALIDATION, "id", FIELD_MSG_ID);
    expect_bad("{\"id\": \"\"}", true, CF_E_VALIDATION, "id", FIELD_MSG_ID);
    expect_bad("{\"id\": \"under_score\"}", true, CF_E_VALIDATION, "id", FIELD_MSG_ID);
    expect_bad("{\"id\": \"dot.ted\"}", true, CF_E_VALIDATION, "id", FIELD_MSG_ID);
    expect_bad("{\"id\": \"sl/ash\"}", true, CF_E_VALIDATION, "id", FIELD_MSG_ID);
    expect_bad("{\"id\": \"caf\\u00e9\"}", true, CF_E_VALIDATION, "id", FIELD_MSG_ID);
    expect_bad("{\"id\": 12}", true, CF_E_VALIDATION, "id", "must be a string");
    free(id64);
    free(id65);
}

static void test_parse_description_length(void **state)
{
    struct cf_collection_settings s;
    struct cf_error err;
    char *text = repeat("d", 1024);
    json_t *body = json_pack("{s:s}", "description", text);

    (void)state;
    cf_error_init(&err);
    assert_int_equal(cf_collection_settings_parse(body, true, &s, &err), CF_OK);
    assert_int_equal(strlen(s.description), 1024);
    json_decref(body);
    free(text);

    text = repeat("d", 1025);
    expect_bad_body(json_pack("{s:s}", "description", text), true, CF_E_VALIDATION, "description",
                    "must be at most 1024 characters");
    free(text);
    expect_bad("{\"description\": [\"x\"]}", false, CF_E_VALIDATION, "description", "must be a string");
    expect_bad("{\"description\": \"a\\u0000b\"}", false, CF_E_VALIDATION, "description", "NUL");
    cf_error_dispose(&err);
}

/* api.md: "description (<= 1024 chars)". 1024 two-byte characters are 2048
 * bytes, and still 1024 characters. */
static void test_parse_description_counts_characters_not_bytes(void **state)
{
    struct cf_collection_settings s;
    struct cf_error err;
    char *text = repeat("\xc3\xa9", 1024);
    json_t *body = json_pack("{s:s}", "description", text);

    (void)state;
    cf_error_init(&err);
    if (cf_collection_settings_parse(body, true, &s, &err) != CF_OK)
        fail_msg("1024 two-byte characters refused: %s",
                 json_string_value(json_object_get(err.fields, "description")));
    assert_string_equal(s.description, text);
    cf_error_dispose(&err);
    json_decref(body);
    free(text);
}

static void test_parse_filename(void **state)
{
    static const char *const refused[] = {"a\"b",  "a/b",   "a\\b", "a\nb", "a\tb", "a\rb",
                                          "a\x1f", "a\x7f", "",     ".",    ".."};
    struct cf_collection_settings s;
    char *name255 = repeat("f", 255);
    char *name256 = repeat("f", 256);
    json_t *body;

    (void)state;
    body = parse_ok("{\"filename\": \"example.org_site.tar.zst\"}", true, &s);
    assert_string_equal(s.filename, "example.org_site.tar.zst");
    json_decref(body);
    /* Spaces, unicode and a hidden name are fine. */
    body = parse_ok("{\"filename\": \".my d\\u00fcmp.sql\"}", true, &s);
    json_decref(body);
    body = json_pack("{s:s}", "filename", name255);
    {
        struct cf_error err;
        cf_error_init(&err);
        assert_int_equal(cf_collection_settings_parse(body, true, &s, &err), CF_OK);
        cf_error_dispose(&err);
    }
    json_decref(body);

    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
        expect_bad_body(json_pack("{s:s}", "filename", refused[i]), true, CF_E_VALIDATION, "filename",
                        FIELD_MSG_FILENAME);
    expect_bad("{\"filename\": \"a\\u0000b\"}", true, CF_E_VALIDATION, "filename", "NUL");
    expect_bad_body(json_pack("{s:s}", "filename", name256), true, CF_E_VALIDATION, "filename",
                    "at most 255 characters");
    free(name255);
    free(name256);
}

static void test_parse_tags(void **state)
{
    struct cf_collection_settings s;
    struct cf_error err;
    char *tag64 = repeat("t", 64);
    char *tag65 = repeat("t", 65);
    json_t *tags = json_array();
    json_t *body;

    (void)state;
    for (int i = 0; i < 32; i++)
        json_array_append_new(tags, json_sprintf("tag%d", i));
    body = json_pack("{s:O}", "tags", tags);
    cf_error_init(&err);
    assert_int_equal(cf_collection_settings_parse(body, true, &s, &err), CF_OK);
    assert_int_equal(json_array_size(s.tags), 32);
    json_decref(body);

    json_array_append_new(tags, json_string("one-too-many"));
    expect_bad_body(json_pack("{s:O}", "tags", tags), true, CF_E_VALIDATION, "tags", "at most 32 items");
    json_decref(tags);

    body = json_pack("{s:[s]}", "tags", tag64);
    assert_int_equal(cf_collection_settings_parse(body, true, &s, &err), CF_OK);
    json_decref(body);
    expect_bad_body(json_pack("{s:[s,s]}", "tags", "ok", tag65), true, CF_E_VALIDATION, "tags",
                    "non-empty strings of at most 64 characters");
    expect_bad("{\"tags\": [\"\"]}", true, CF_E_VALIDATION, "tags", "non-empty strings");
    expect_bad("{\"tags\": [\"a\", 3]}", true, CF_E_VALIDATION, "tags", "non-empty strings");
    expect_bad("{\"tags\": \"a,b\"}", true, CF_E_VALIDATION, "tags", "must be an array of strings");
    expect_bad("{\"tags\": {\"a\": \"b\"}}", true, CF_E_VALIDATION, "tags", "must be an array of strings");

    /* An empty list clears the tags. */
    body = parse_ok("{\"tags\": []}", false, &s);
    assert_true(s.has_tags);
    assert_int_equal(json_array_size(s.tags), 0);
    json_decref(body);
    cf_error_dispose(&err);
    free(tag64);
    free(tag65);
}

static void test_parse_sizes(void **state)
{
    struct cf_collection_settings s;
    json_t *body;

    (void)state;
    body = parse_ok("{\"max_version_size\": \"5MB\", \"max_collection_size\": \"1GiB\"}", true, &s);
    assert_int_equal(s.max_version_size, 5000000);
    assert_int_equal(s.max_collection_size, INT64_C(1073741824));
    json_decref(body);
    body = parse_ok("{\"max_version_size\": 512, \"max_collection_size\": \"2TB\"}", true, &s);
    assert_int_equal(s.max_version_size, 512);
    assert_int_equal(s.max_collection_size, INT64_C(2000000000000));
    json_decref(body);
    body = parse_ok("{\"max_version_size\": \"10KiB\", \"max_collection_size\": \"512\"}", true, &s);
    assert_int_equal(s.max_version_size, 10240);
    assert_int_equal(s.max_collection_size, 512);
    json_decref(body);
    /* 0 is unlimited, and null is the same as absent. */
    body = parse_ok("{\"max_version_size\": 0, \"max_collection_size\": null}", false, &s);
    assert_true(s.has_max_version_size);
    assert_int_equal(s.max_version_size, 0);
    assert_int_equal(s.max_collection_size, 0);
    json_decref(body);
}

static void test_parse_invalid_sizes(void **state)
{
    static const char *const bodies[] = {
        "{\"max_version_size\": \"5mb\"}",   "{\"max_version_size\": \"5 MB\"}",
        "{\"max_version_size\": \"1.5GB\"}", "{\"max_version_size\": \"5B\"}",
        "{\"max_version_size\": \"\"}",      "{\"max_version_size\": \"PB\"}",
        "{\"max_version_size\": -1}",        "{\"max_version_size\": 1.5}",
        "{\"max_version_size\": true}",      "{\"max_version_size\": [5]}",
        "{\"max_version_size\": \"-5MB\"}",  "{\"max_version_size\": \"9999999TB\"}",
        "{\"max_version_size\": \"5MB \"}",
    };
    struct cf_collection_settings s;
    struct cf_error err;
    json_t *body;

    (void)state;
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        body = load(bodies[i]);
        cf_error_init(&err);
        assert_int_equal(cf_collection_settings_parse(body, true, &s, &err), CF_E_INVALID_SIZE);
        assert_int_equal(err.code, CF_E_INVALID_SIZE);
        if (strncmp(err.message, "max_version_size: invalid size", 30) != 0)
            fail_msg("%s: message \"%s\"", bodies[i], err.message);
        expect_field(&err, "max_version_size", "invalid size");
        cf_error_dispose(&err);
        json_decref(body);
    }
    expect_bad("{\"max_collection_size\": \"lots\"}", false, CF_E_INVALID_SIZE, "max_collection_size",
               "invalid size \"lots\"");
}

/* The function's answer and err->code are one error: the reply is built from
 * err, the caller's decisions from the returned code. */
static void test_parse_mixed_failures_agree_on_code(void **state)
{
    static const char *const bodies[] = {
        "{\"max_version_size\": \"5XB\", \"strategy\": \"bogus\"}",
        "{\"colour\": 1, \"max_version_size\": \"5XB\"}",
        "{\"max_collection_size\": \"1GB\", \"max_version_size\": \"5XB\", \"expected_interval\": 0}",
    };
    struct cf_collection_settings s;
    struct cf_error err;
    json_t *body;
    cf_code code;

    (void)state;
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        body = load(bodies[i]);
        cf_error_init(&err);
        code = cf_collection_settings_parse(body, true, &s, &err);
        assert_true(code == CF_E_VALIDATION || code == CF_E_INVALID_SIZE);
        if (err.code != code)
            fail_msg("%s: returned %s but err.code is %s (\"%s\")", bodies[i], cf_code_name(code),
                     cf_code_name(err.code), err.message);
        /* Every bad field is listed whatever the code. */
        assert_int_equal(json_object_size(err.fields), 2);
        cf_error_dispose(&err);
        json_decref(body);
    }
}

static void test_parse_max_versions(void **state)
{
    struct cf_collection_settings s;
    json_t *body;

    (void)state;
    body = parse_ok("{\"max_versions\": 0}", true, &s);
    assert_true(s.has_max_versions);
    assert_int_equal(s.max_versions, 0);
    json_decref(body);
    body = parse_ok("{\"max_versions\": 1000000}", true, &s);
    assert_int_equal(s.max_versions, 1000000);
    json_decref(body);
    expect_bad("{\"max_versions\": 1000001}", true, CF_E_VALIDATION, "max_versions",
               "must be a whole number from 0 to 1000000");
    expect_bad("{\"max_versions\": -1}", true, CF_E_VALIDATION, "max_versions", "from 0 to 1000000");
    expect_bad("{\"max_versions\": \"5\"}", true, CF_E_VALIDATION, "max_versions", "from 0 to 1000000");
    expect_bad("{\"max_versions\": 2.5}", true, CF_E_VALIDATION, "max_versions", "from 0 to 1000000");
}

static void test_parse_strategies(void **state)
{
    static const char *const names[] = {"delete_oldest_when_adding_new", "alert_when_too_many_versions",
                                        "retention"};
    static const enum cf_strategy values[] = {CF_DELETE_OLDEST, CF_ALERT_TOO_MANY, CF_RETENTION};
    struct cf_collection_settings s;
    json_t *body;

    (void)state;
    for (size_t i = 0; i < 3; i++) {
        assert_string_equal(cf_strategy_name(values[i]), names[i]);
        assert_int_equal(cf_strategy_parse(names[i]), (int)values[i]);
        body = json_pack("{s:s}", "strategy", names[i]);
        {
            struct cf_error err;
            cf_error_init(&err);
            assert_int_equal(cf_collection_settings_parse(body, false, &s, &err), CF_OK);
            assert_true(s.has_strategy);
            assert_int_equal(s.strategy, values[i]);
            cf_error_dispose(&err);
        }
        json_decref(body);
    }
    assert_int_equal(cf_strategy_parse("Retention"), -1);
    assert_int_equal(cf_strategy_parse(""), -1);
    assert_int_equal(cf_strategy_parse("delete_oldest"), -1);
    expect_bad("{\"strategy\": \"keep_everything\"}", true, CF_E_VALIDATION, "strategy",
               "must be delete_oldest_when_adding_new, alert_when_too_many_versions or retention");
    expect_bad("{\"strategy\": \"RETENTION\"}", true, CF_E_VALIDATION, "strategy", "must be");
    expect_bad("{\"strategy\": 2}", true, CF_E_VALIDATION, "strategy", "must be a string");
}

static void test_parse_retention(void **state)
{
    struct cf_collection_settings s;
    json_t *body;

    (void)state;
    body = parse_ok("{\"retention\": {\"keep_last\": 0, \"keep_hourly\": 24, \"keep_daily\": 7,"
                    " \"keep_weekly\": 4, \"keep_monthly\": 12, \"keep_yearly\": 100000}}",
                    true, &s);
    assert_true(s.has_retention);
    assert_int_equal(s.retention[0], 0);
    assert_int_equal(s.retention[1], 24);
    assert_int_equal(s.retention[2], 7);
    assert_int_equal(s.retention[3], 4);
    assert_int_equal(s.retention[4], 12);
    assert_int_equal(s.retention[5], 100000);
    json_decref(body);
    for (int i = 0; i < CF_RETENTION_RULES; i++)
        assert_non_null(strstr(cf_retention_names[i], "keep_"));

    /* null and {} both mean no rule, and say so explicitly. */
    body = parse_ok("{\"retention\": null}", false, &s);
    assert_true(s.has_retention);
    for (int i = 0; i < CF_RETENTION_RULES; i++)
        assert_int_equal(s.retention[i], -1);
    json_decref(body);
    body = parse_ok("{\"retention\": {}}", false, &s);
    assert_true(s.has_retention);
    for (int i = 0; i < CF_RETENTION_RULES; i++)
        assert_int_equal(s.retention[i], -1);
    json_decref(body);

    expect_bad("{\"retention\": {\"keep_forever\": 1}}", true, CF_E_VALIDATION, "retention",
               "knows only keep_last, keep_hourly, keep_daily, keep_weekly, keep_monthly and keep_yearly");
    expect_bad("{\"retention\": {\"Keep_last\": 1}}", true, CF_E_VALIDATION, "retention", "knows only");
    expect_bad("{\"retention\": {\"keep_last\": -1}}", true, CF_E_VALIDATION, "retention", FIELD_MSG_COUNTS);
    expect_bad("{\"retention\": {\"keep_last\": 100001}}", true, CF_E_VALIDATION, "retention",
               FIELD_MSG_COUNTS);
    expect_bad("{\"retention\": {\"keep_daily\": 1.5}}", true, CF_E_VALIDATION, "retention",
               FIELD_MSG_COUNTS);
    expect_bad("{\"retention\": {\"keep_daily\": \"7\"}}", true, CF_E_VALIDATION, "retention",
               FIELD_MSG_COUNTS);
    expect_bad("{\"retention\": {\"keep_daily\": null}}", true, CF_E_VALIDATION, "retention",
               FIELD_MSG_COUNTS);
    expect_bad("{\"retention\": [1, 2]}", true, CF_E_VALIDATION, "retention",
               "must be an object of keep_* counts");
    expect_bad("{\"retention\": 7}", true, CF_E_VALIDATION, "retention", "must be an object");
}

static void test_parse_expected_interval(void **state)
{
    static const char *const refused[] = {"0", "-60", "315360001", "\"3600\"", "1.5", "true", "{}"};
    struct cf_collection_settings s;
    char text[64];
    json_t *body;

    (void)state;
    body = parse_ok("{\"expected_interval\": 1}", true, &s);
    assert_true(s.has_expected_interval);
    assert_int_equal(s.expected_interval, 1);
    json_decref(body);
    body = parse_ok("{\"expected_interval\": 315360000}", true, &s);
    assert_int_equal(s.expected_interval, 315360000);
    json_decref(body);
    /* null removes the expectation: present, and 0. */
    body = parse_ok("{\"expected_interval\": null}", false, &s);
    assert_true(s.has_expected_interval);
    assert_int_equal(s.expected_interval, 0);
    json_decref(body);
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        snprintf(text, sizeof(text), "{\"expected_interval\": %s}", refused[i]);
        expect_bad(text, true, CF_E_VALIDATION, "expected_interval", FIELD_MSG_INTERVAL);
    }
}

static void test_parse_lists_every_bad_field(void **state)
{
    struct cf_collection_settings s;
    struct cf_error err;
    json_t *body = load("{\"colour\": 1, \"id\": \"-x\", \"filename\": \"a/b\", \"tags\": 5,"
                        " \"max_versions\": -3, \"strategy\": \"nope\", \"retention\": [],"
                        " \"expected_interval\": 0}");

    (void)state;
    cf_error_init(&err);
    assert_int_equal(cf_collection_settings_parse(body, true, &s, &err), CF_E_VALIDATION);
    assert_int_equal(err.code, CF_E_VALIDATION);
    assert_string_equal(err.message, "some fields are not valid");
    expect_field(&err, "colour", "unknown field");
    expect_field(&err, "id", FIELD_MSG_ID);
    expect_field(&err, "filename", FIELD_MSG_FILENAME);
    expect_field(&err, "tags", "must be an array of strings");
    expect_field(&err, "max_versions", "from 0 to 1000000");
    expect_field(&err, "strategy", "must be");
    expect_field(&err, "retention", "must be an object");
    expect_field(&err, "expected_interval", FIELD_MSG_INTERVAL);
    assert_int_equal(json_object_size(err.fields), 8);
    cf_error_dispose(&err);
    json_decref(body);
}

static struct cf_collection_settings settings(enum cf_strategy strategy, int64_t max_versions,
                                              int64_t max_version_size, int64_t max_collection_size)
{
    struct cf_collection_settings s;

    memset(&s, 0, sizeof(s));
    s.strategy = strategy;
    s.max_versions = max_versions;
    s.max_version_size = max_version_size;
    s.max_collection_size = max_collection_size;
    for (int i = 0; i < CF_RETENTION_RULES; i++)
        s.retention[i] = -1;
    return s;
}

static void check_ok(const struct cf_collection_settings *s)
{
    struct cf_error err;

    cf_error_init(&err);
    if (cf_collection_settings_check(s, &err) != CF_OK)
        fail_msg("refused: %s", err.fields != NULL ? json_dumps(err.fields, 0) : err.message);
    assert_null(err.fields);
    cf_error_dispose(&err);
}

static void check_bad(const struct cf_collection_settings *s, const char *field, const char *needle)
{
    struct cf_error err;

    cf_error_init(&err);
    assert_int_equal(cf_collection_settings_check(s, &err), CF_E_VALIDATION);
    assert_int_equal(err.code, CF_E_VALIDATION);
    assert_string_equal(err.message, "some fields are not valid");
    expect_field(&err, field, needle);
    cf_error_dispose(&err);
}

static void test_check_version_size_within_collection_size(void **state)
{
    struct cf_collection_settings s;

    (void)state;
    s = settings(CF_DELETE_OLDEST, 0, 100, 100);
    check_ok(&s);
    s = settings(CF_DELETE_OLDEST, 0, 101, 100);
    check_bad(&s, "max_version_size", "must not exceed max_collection_size");
    /* Either unlimited: nothing to compare. */
    s = settings(CF_DELETE_OLDEST, 0, INT64_MAX, 0);
    check_ok(&s);
    s = settings(CF_DELETE_OLDEST, 0, 0, 1);
    check_ok(&s);
}

static void test_check_versions_times_size(void **state)
{
    struct cf_collection_settings s;

    (void)state;
    s = settings(CF_DELETE_OLDEST, 3, 10, 30);
    check_ok(&s);
    s = settings(CF_DELETE_OLDEST, 3, 10, 29);
    check_bad(&s, "max_collection_size", "must hold max_versions versions of max_version_size");
    s = settings(CF_ALERT_TOO_MANY, 1000, 1000000, 999999999);
    check_bad(&s, "max_collection_size", "must hold max_versions versions");
    /* Any of the three unlimited: no product rule. */
    s = settings(CF_DELETE_OLDEST, 0, 10, 29);
    check_ok(&s);
    s = settings(CF_DELETE_OLDEST, 3, 0, 29);
    check_ok(&s);
    s = settings(CF_DELETE_OLDEST, 3, 10, 0);
    check_ok(&s);
}

static void test_check_product_overflow(void **state)
{
    struct cf_collection_settings s;

    (void)state;
    /* 2 * (INT64_MAX / 2) = INT64_MAX - 1 still fits. */
    s = settings(CF_DELETE_OLDEST, 2, INT64_MAX / 2, INT64_MAX);
    check_ok(&s);
    /* 3 * (INT64_MAX / 2) does not fit in 64 bits: refused, not wrapped. */
    s = settings(CF_DELETE_OLDEST, 3, INT64_MAX / 2, INT64_MAX);
    check_bad(&s, "max_collection_size", "must hold max_versions versions");
    /* A wrap-around to a small product would otherwise pass. */
    s = settings(CF_DELETE_OLDEST, 1000000, INT64_C(1) << 62, INT64_MAX);
    check_bad(&s, "max_collection_size", "must hold max_versions versions");
    s = settings(CF_DELETE_OLDEST, 4, INT64_C(1) << 62, INT64_MAX);
    check_bad(&s, "max_collection_size", "must hold max_versions versions");
}

static void test_check_retention_strategy_needs_a_rule(void **state)
{
    struct cf_collection_settings s;

    (void)state;
    s = settings(CF_RETENTION, 0, 0, 0);
    check_bad(&s, "retention", "needs at least one keep_* rule above 0");
    /* Rules of 0 keep nothing and count as none. */
    for (int i = 0; i < CF_RETENTION_RULES; i++)
        s.retention[i] = 0;
    check_bad(&s, "retention", "needs at least one keep_* rule above 0");
    for (int i = 0; i < CF_RETENTION_RULES; i++) {
        s = settings(CF_RETENTION, 0, 0, 0);
        s.retention[i] = 1;
        check_ok(&s);
    }
}

static void test_check_retention_without_the_strategy(void **state)
{
    struct cf_collection_settings s;

    (void)state;
    s = settings(CF_DELETE_OLDEST, 5, 0, 0);
    s.retention[2] = 7;
    check_bad(&s, "retention", "applies only with the retention strategy: add \"strategy\": \"retention\"");
    s = settings(CF_ALERT_TOO_MANY, 5, 0, 0);
    s.retention[0] = 1;
    check_bad(&s, "retention", "applies only with the retention strategy: add \"strategy\": \"retention\"");
    /* A rule of 0 is harmless. */
    s = settings(CF_ALERT_TOO_MANY, 5, 0, 0);
    s.retention[0] = 0;
    check_ok(&s);
}

static void test_check_from_parsed_body(void **state)
{
    struct cf_collection_settings s;
    struct cf_error err;
    json_t *body;

    (void)state;
    body =
        parse_ok("{\"max_versions\": 10, \"max_version_size\": \"100MB\", \"max_collection_size\": \"1GB\"}",
                 true, &s);
    check_ok(&s);
    json_decref(body);
    body =
        parse_ok("{\"max_versions\": 11, \"max_version_size\": \"100MB\", \"max_collection_size\": \"1GB\"}",
                 true, &s);
    check_bad(&s, "max_collection_size", "must hold max_versions versions");
    json_decref(body);
    body = parse_ok(
        "{\"max_version_size\": \"2GB\", \"max_collection_size\": \"1GB\", \"strategy\": \"retention\"}",
        true, &s);
    cf_error_init(&err);
    assert_int_equal(cf_collection_settings_check(&s, &err), CF_E_VALIDATION);
    /* Both broken rules are reported. */
    expect_field(&err, "max_version_size", "must not exceed max_collection_size");
    expect_field(&err, "retention", "needs at least one keep_* rule");
    cf_error_dispose(&err);
    json_decref(body);
}

static void test_merge_keeps_stored_values(void **state)
{
    struct cf_collection_settings current, next;
    json_t *stored, *edit;

    (void)state;
    stored = parse_ok(
        "{\"id\": \"c1\", \"account_id\": \"acme\", \"description\": \"old\", \"filename\": \"db.sql\","
        " \"tags\": [\"a\"], \"max_versions\": 5, \"max_version_size\": 100,"
        " \"max_collection_size\": 1000, \"strategy\": \"retention\","
        " \"retention\": {\"keep_daily\": 7}, \"expected_interval\": 3600}",
        true, &current);
    edit = parse_ok("{\"description\": \"new\", \"max_versions\": 8}", false, &next);
    cf_collection_settings_merge(&next, &current);
    assert_string_equal(next.description, "new");
    assert_int_equal(next.max_versions, 8);
    assert_string_equal(next.id, "c1");
    assert_string_equal(next.account_id, "acme");
    assert_string_equal(next.filename, "db.sql");
    assert_ptr_equal(next.tags, current.tags);
    assert_int_equal(next.max_version_size, 100);
    assert_int_equal(next.max_collection_size, 1000);
    assert_int_equal(next.strategy, CF_RETENTION);
    assert_int_equal(next.retention[2], 7);
    assert_int_equal(next.retention[0], -1);
    assert_int_equal(next.expected_interval, 3600);
    assert_true(next.has_id && next.has_filename && next.has_tags && next.has_max_version_size &&
                next.has_max_collection_size && next.has_strategy && next.has_retention &&
                next.has_expected_interval);
    check_ok(&next);
    json_decref(edit);

    /* What the edit sends wins, also to clear a value. */
    edit = parse_ok("{\"expected_interval\": null, \"retention\": {\"keep_last\": 2}, \"tags\": [],"
                    " \"max_collection_size\": 0}",
                    false, &next);
    cf_collection_settings_merge(&next, &current);
    assert_int_equal(next.expected_interval, 0);
    assert_int_equal(next.retention[0], 2);
    assert_int_equal(next.retention[2], -1);
    assert_int_equal(json_array_size(next.tags), 0);
    assert_int_equal(next.max_collection_size, 0);
    assert_int_equal(next.max_version_size, 100);
    check_ok(&next);
    json_decref(edit);

    /* The merged settings are checked as a whole: a smaller collection limit
     * alone breaks the stored version limit. */
    edit = parse_ok("{\"max_collection_size\": 99}", false, &next);
    cf_collection_settings_merge(&next, &current);
    check_bad(&next, "max_version_size", "must not exceed max_collection_size");
    json_decref(edit);

    /* Absent from both stays absent. */
    memset(&current, 0, sizeof(current));
    for (int i = 0; i < CF_RETENTION_RULES; i++)
        current.retention[i] = -1;
    edit = parse_ok("{}", false, &next);
    cf_collection_settings_merge(&next, &current);
    assert_false(next.has_description || next.has_retention || next.has_strategy);
    assert_null(next.description);
    json_decref(edit);
    json_decref(stored);
}

static void test_retention_json(void **state)
{
    struct cf_collection_settings s = settings(CF_RETENTION, 0, 0, 0);
    json_t *rules;

    (void)state;
    assert_null(cf_collection_retention_json(&s));
    s.retention[0] = 0;
    s.retention[5] = 10;
    rules = cf_collection_retention_json(&s);
    assert_non_null(rules);
    assert_int_equal(json_object_size(rules), 2);
    assert_int_equal(json_integer_value(json_object_get(rules, "keep_last")), 0);
    assert_int_equal(json_integer_value(json_object_get(rules, "keep_yearly")), 10);
    json_decref(rules);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_empty_body),
        cmocka_unit_test(test_parse_full_create_body),
        cmocka_unit_test(test_parse_unknown_fields_refused),
        cmocka_unit_test(test_parse_read_only_fields_only_on_edit),
        cmocka_unit_test(test_parse_id_pattern),
        cmocka_unit_test(test_parse_description_length),
        cmocka_unit_test(test_parse_description_counts_characters_not_bytes),
        cmocka_unit_test(test_parse_filename),
        cmocka_unit_test(test_parse_tags),
        cmocka_unit_test(test_parse_sizes),
        cmocka_unit_test(test_parse_invalid_sizes),
        cmocka_unit_test(test_parse_mixed_failures_agree_on_code),
        cmocka_unit_test(test_parse_max_versions),
        cmocka_unit_test(test_parse_strategies),
        cmocka_unit_test(test_parse_retention),
        cmocka_unit_test(test_parse_expected_interval),
        cmocka_unit_test(test_parse_lists_every_bad_field),
        cmocka_unit_test(test_check_version_size_within_collection_size),
        cmocka_unit_test(test_check_versions_times_size),
        cmocka_unit_test(test_check_product_overflow),
        cmocka_unit_test(test_check_retention_strategy_needs_a_rule),
        cmocka_unit_test(test_check_retention_without_the_strategy),
        cmocka_unit_test(test_check_from_parsed_body),
        cmocka_unit_test(test_merge_keeps_stored_values),
        cmocka_unit_test(test_retention_json),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
