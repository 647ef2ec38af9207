#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "server/validate.h"

#include <stdlib.h>
#include <string.h>

static json_t *load(const char *text)
{
    json_error_t jerr;
    json_t *body = json_loads(text, JSON_ALLOW_NUL, &jerr);

    if (body == NULL)
        fail_msg("test JSON does not parse: %s: %s", text, jerr.text);
    return body;
}

static void expect_field(const struct cf_error *err, const char *field, const char *what)
{
    const json_t *value = err->fields != NULL ? json_object_get(err->fields, field) : NULL;

    if (value == NULL)
        fail_msg("no fields[\"%s\"] in the error \"%s\"", field, err->message);
    assert_string_equal(json_string_value(value), what);
}

/* A validation failure: the code, the general message, one field entry. */
static void expect_invalid(cf_code code, const struct cf_error *err, const char *field, const char *what)
{
    assert_int_equal(code, CF_E_VALIDATION);
    assert_int_equal(err->code, CF_E_VALIDATION);
    assert_string_equal(err->message, "some fields are not valid");
    expect_field(err, field, what);
}

static char *repeat(char c, size_t n)
{
    char *text = malloc(n + 1);

    assert_non_null(text);
    memset(text, c, n);
    text[n] = '\0';
    return text;
}

static void test_id_valid(void **state)
{
    char *id64 = repeat('a', 64);
    char *id65 = repeat('a', 65);

    (void)state;
    assert_true(cf_id_valid("a"));
    assert_true(cf_id_valid("Z"));
    assert_true(cf_id_valid("0"));
    assert_true(cf_id_valid("db-backups-2026"));
    assert_true(cf_id_valid("a-"));
    assert_true(cf_id_valid("a--b"));
    assert_true(cf_id_valid("0f8fad5b-d9cb-469f-a165-70867728950e"));
    assert_true(cf_id_valid(id64));
    assert_false(cf_id_valid(id65));
    id64[0] = '-';
    assert_false(cf_id_valid(id64));
    assert_false(cf_id_valid(""));
    assert_false(cf_id_valid("-"));
    assert_false(cf_id_valid("-a"));
    assert_false(cf_id_valid("a_b"));
    assert_false(cf_id_valid("a.b"));
    assert_false(cf_id_valid("a b"));
    assert_false(cf_id_valid(" a"));
    assert_false(cf_id_valid("a/b"));
    assert_false(cf_id_valid(".."));
    assert_false(cf_id_valid("a\n"));
    /* Only ASCII letters and digits: no look-alikes. */
    assert_false(cf_id_valid("caf\xc3\xa9"));
    assert_false(cf_id_valid("\xc3\xa9t\xc3\xa9"));
    assert_false(cf_id_valid("\xd0\xb0"));      /* Cyrillic a */
    assert_false(cf_id_valid("a\xef\xbc\x8d")); /* fullwidth hyphen */
    free(id64);
    free(id65);
}

static void test_check_known_fields(void **state)
{
    static const char *const allowed[] = {"name", "active", NULL};
    static const char *const none[] = {NULL};
    struct cf_error err;
    json_t *body;

    (void)state;
    cf_error_init(&err);
    body = load("{\"name\": \"x\", \"active\": true}");
    assert_int_equal(cf_check_known_fields(body, allowed, &err), CF_OK);
    assert_null(err.fields);
    json_decref(body);
    body = load("{}");
    assert_int_equal(cf_check_known_fields(body, none, &err), CF_OK);
    json_decref(body);

    body = load("{\"name\": \"x\", \"Name\": 1, \"colour\": null}");
    expect_invalid(cf_check_known_fields(body, allowed, &err), &err, "Name", "unknown field");
    expect_field(&err, "colour", "unknown field");
    assert_int_equal(json_object_size(err.fields), 2);
    json_decref(body);
    cf_error_dispose(&err);

    body = load("{\"name\": \"x\"}");
    expect_invalid(cf_check_known_fields(body, none, &err), &err, "name", "unknown field");
    json_decref(body);
    cf_error_dispose(&err);
}

static void test_get_string(void **state)
{
    const char *out = "untouched";
    struct cf_error err;
    json_t *body = load("{\"s\": \"hello\", \"empty\": \"\", \"n\": null, \"num\": 5, \"arr\": [\"a\"],"
                        " \"obj\": {}, \"t\": true}");

    (void)state;
    cf_error_init(&err);
    assert_int_equal(cf_get_string(body, "s", 5, true, &out, &err), CF_OK);
    assert_string_equal(out, "hello");
    assert_int_equal(cf_get_string(body, "empty", 0, true, &out, &err), CF_OK);
    assert_string_equal(out, "");
    /* Absent and null leave the default alone. */
    out = "default";
    assert_int_equal(cf_get_string(body, "missing", 5, false, &out, &err), CF_OK);
    assert_string_equal(out, "default");
    assert_int_equal(cf_get_string(body, "n", 5, false, &out, &err), CF_OK);
    assert_string_equal(out, "default");
    assert_null(err.fields);

    expect_invalid(cf_get_string(body, "missing", 5, true, &out, &err), &err, "missing", "is required");
    expect_invalid(cf_get_string(body, "n", 5, true, &out, &err), &err, "n", "is required");
    expect_invalid(cf_get_string(body, "num", 5, false, &out, &err), &err, "num", "must be a string");
    expect_invalid(cf_get_string(body, "arr", 5, false, &out, &err), &err, "arr", "must be a string");
    expect_invalid(cf_get_string(body, "obj", 5, false, &out, &err), &err, "obj", "must be a string");
    expect_invalid(cf_get_string(body, "t", 5, false, &out, &err), &err, "t", "must be a string");
    expect_invalid(cf_get_string(body, "s", 4, false, &out, &err), &err, "s", "must be at most 4 characters");
    /* Nothing is written on failure. */
    assert_string_equal(out, "default");
    cf_error_dispose(&err);
    json_decref(body);
}

static void test_get_string_nul_inside(void **state)
{
    const char *out = NULL;
    struct cf_error err;
    json_t *body = load("{\"s\": \"ab\\u0000cd\", \"end\": \"ab\\u0000\"}");

    (void)state;
    cf_error_init(&err);
    expect_invalid(cf_get_string(body, "s", 100, false, &out, &err), &err, "s",
                   "must not contain NUL characters");
    expect_invalid(cf_get_string(body, "end", 100, false, &out, &err), &err, "end",
                   "must not contain NUL characters");
    assert_null(out);
    cf_error_dispose(&err);
    json_decref(body);
}

/* The limit is in characters, as the message says: "\u00e9" is one
 * character in two bytes of UTF-8. */
static void test_get_string_counts_characters(void **state)
{
    const char *out = NULL;
    struct cf_error err;
    json_t *body = load("{\"s\": \"\\u00e9t\\u00e9\", \"cjk\": \"\\u6f22\\u5b57\"}");

    (void)state;
    cf_error_init(&err);
    if (cf_get_string(body, "s", 3, false, &out, &err) != CF_OK)
        fail_msg("3 characters refused under a limit of 3: %s",
                 json_string_value(json_object_get(err.fields, "s")));
    assert_string_equal(out, "\xc3\xa9t\xc3\xa9");
    assert_int_equal(cf_get_string(body, "cjk", 2, false, &out, &err), CF_OK);
    expect_invalid(cf_get_string(body, "cjk", 1, false, &out, &err), &err, "cjk",
                   "must be at most 1 characters");
    cf_error_dispose(&err);
    json_decref(body);
}

static void test_get_count(void **state)
{
    int64_t out = -7;
    struct cf_error err;
    json_t *body =
        load("{\"zero\": 0, \"ten\": 10, \"eleven\": 11, \"neg\": -1, \"real\": 2.0, \"str\": \"3\","
             " \"t\": true, \"n\": null, \"big\": 9223372036854775807}");

    (void)state;
    cf_error_init(&err);
    assert_int_equal(cf_get_count(body, "zero", 10, true, &out, &err), CF_OK);
    assert_int_equal(out, 0);
    assert_int_equal(cf_get_count(body, "ten", 10, true, &out, &err), CF_OK);
    assert_int_equal(out, 10);
    assert_int_equal(cf_get_count(body, "big", INT64_MAX, true, &out, &err), CF_OK);
    assert_int_equal(out, INT64_MAX);
    out = -7;
    assert_int_equal(cf_get_count(body, "missing", 10, false, &out, &err), CF_OK);
    assert_int_equal(cf_get_count(body, "n", 10, false, &out, &err), CF_OK);
    assert_int_equal(out, -7);
    assert_null(err.fields);

    expect_invalid(cf_get_count(body, "eleven", 10, false, &out, &err), &err, "eleven",
                   "must be a whole number from 0 to 10");
    expect_invalid(cf_get_count(body, "neg", 10, false, &out, &err), &err, "neg",
                   "must be a whole number from 0 to 10");
    expect_invalid(cf_get_count(body, "real", 10, false, &out, &err), &err, "real",
                   "must be a whole number from 0 to 10");
    expect_invalid(cf_get_count(body, "str", 10, false, &out, &err), &err, "str",
                   "must be a whole number from 0 to 10");
    expect_invalid(cf_get_count(body, "t", 10, false, &out, &err), &err, "t",
                   "must be a whole number from 0 to 10");
    expect_invalid(cf_get_count(body, "missing", 10, true, &out, &err), &err, "missing", "is required");
    expect_invalid(cf_get_count(body, "n", 10, true, &out, &err), &err, "n", "is required");
    assert_int_equal(out, -7);
    cf_error_dispose(&err);
    json_decref(body);
}

static void test_get_size(void **state)
{
    int64_t out = -7;
    struct cf_error err;
    json_t *body = load("{\"int\": 512, \"zero\": 0, \"si\": \"5MB\", \"iec\": \"1GiB\", \"plain\": \"512\","
                        " \"tb\": \"1TiB\", \"n\": null}");

    (void)state;
    cf_error_init(&err);
    assert_int_equal(cf_get_size(body, "int", true, &out, &err), CF_OK);
    assert_int_equal(out, 512);
    assert_int_equal(cf_get_size(body, "zero", true, &out, &err), CF_OK);
    assert_int_equal(out, 0);
    assert_int_equal(cf_get_size(body, "si", true, &out, &err), CF_OK);
    assert_int_equal(out, 5000000);
    assert_int_equal(cf_get_size(body, "iec", true, &out, &err), CF_OK);
    assert_int_equal(out, INT64_C(1073741824));
    assert_int_equal(cf_get_size(body, "plain", true, &out, &err), CF_OK);
    assert_int_equal(out, 512);
    assert_int_equal(cf_get_size(body, "tb", true, &out, &err), CF_OK);
    assert_int_equal(out, INT64_C(1099511627776));
    out = -7;
    assert_int_equal(cf_get_size(body, "missing", false, &out, &err), CF_OK);
    assert_int_equal(cf_get_size(body, "n", false, &out, &err), CF_OK);
    assert_int_equal(out, -7);
    assert_null(err.fields);
    expect_invalid(cf_get_size(body, "missing", true, &out, &err), &err, "missing", "is required");
    cf_error_dispose(&err);
    json_decref(body);
}

static void test_get_size_invalid(void **state)
{
    static const char *const bodies[] = {
        "{\"quota\": \"5mb\"}",
        "{\"quota\": \"5 MB\"}",
        "{\"quota\": \"1.5GB\"}",
        "{\"quota\": -1}",
        "{\"quota\": 2.5}",
        "{\"quota\": false}",
        "{\"quota\": [1]}",
        "{\"quota\": {}}",
        "{\"quota\": \"\"}",
        "{\"quota\": \"1PB\"}",
        "{\"quota\": \"5\\u0000MB\"}",
    };
    int64_t out = -7;
    struct cf_error err;
    json_t *body;

    (void)state;
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        const json_t *what;
        body = load(bodies[i]);
        cf_error_init(&err);
        assert_int_equal(cf_get_size(body, "quota", false, &out, &err), CF_E_INVALID_SIZE);
        assert_int_equal(err.code, CF_E_INVALID_SIZE);
        if (strncmp(err.message, "quota: invalid size", 19) != 0)
            fail_msg("%s: message \"%s\"", bodies[i], err.message);
        what = json_object_get(err.fields, "quota");
        assert_non_null(what);
        /* The field says what the message says, without the field's name. */
        assert_string_equal(json_string_value(what), err.message + strlen("quota: "));
        assert_int_equal(out, -7);
        cf_error_dispose(&err);
        json_decref(body);
    }
}

static void test_get_bool(void **state)
{
    bool out = false;
    struct cf_error err;
    json_t *body = load("{\"yes\": true, \"no\": false, \"n\": null, \"str\": \"true\", \"one\": 1}");

    (void)state;
    cf_error_init(&err);
    assert_int_equal(cf_get_bool(body, "yes", &out, &err), CF_OK);
    assert_true(out);
    assert_int_equal(cf_get_bool(body, "no", &out, &err), CF_OK);
    assert_false(out);
    out = true;
    assert_int_equal(cf_get_bool(body, "missing", &out, &err), CF_OK);
    assert_true(out);
    assert_int_equal(cf_get_bool(body, "n", &out, &err), CF_OK);
    assert_true(out);
    assert_null(err.fields);
    expect_invalid(cf_get_bool(body, "str", &out, &err), &err, "str", "must be true or false");
    expect_invalid(cf_get_bool(body, "one", &out, &err), &err, "one", "must be true or false");
    assert_true(out);
    cf_error_dispose(&err);
    json_decref(body);
}

static void test_get_string_array(void **state)
{
    const json_t *out = NULL;
    struct cf_error err;
    json_t *body =
        load("{\"ok\": [\"a\", \"bcd\"], \"empty\": [], \"n\": null, \"three\": [\"a\", \"b\", \"c\"],"
             " \"long\": [\"abcd\"], \"blank\": [\"a\", \"\"], \"num\": [\"a\", 1], \"nested\": [[\"a\"]],"
             " \"nul\": [\"a\\u0000b\"], \"str\": \"a,b\", \"obj\": {\"a\": \"b\"}}");

    (void)state;
    cf_error_init(&err);
    assert_int_equal(cf_get_string_array(body, "ok", 2, 3, &out, &err), CF_OK);
    assert_ptr_equal(out, json_object_get(body, "ok"));
    assert_int_equal(cf_get_string_array(body, "empty", 2, 3, &out, &err), CF_OK);
    assert_int_equal(json_array_size(out), 0);
    assert_null(err.fields);

    expect_invalid(cf_get_string_array(body, "three", 2, 3, &out, &err), &err, "three",
                   "may hold at most 2 items");
    expect_invalid(cf_get_string_array(body, "long", 2, 3, &out, &err), &err, "long",
                   "must hold non-empty strings of at most 3 characters");
    expect_invalid(cf_get_string_array(body, "blank", 2, 3, &out, &err), &err, "blank",
                   "must hold non-empty strings of at most 3 characters");
    expect_invalid(cf_get_string_array(body, "num", 2, 3, &out, &err), &err, "num",
                   "must hold non-empty strings of at most 3 characters");
    expect_invalid(cf_get_string_array(body, "nested", 2, 3, &out, &err), &err, "nested",
                   "must hold non-empty strings of at most 3 characters");
    expect_invalid(cf_get_string_array(body, "nul", 2, 3, &out, &err), &err, "nul",
                   "must hold non-empty strings of at most 3 characters");
    expect_invalid(cf_get_string_array(body, "str", 2, 3, &out, &err), &err, "str",
                   "must be an array of strings");
    expect_invalid(cf_get_string_array(body, "obj", 2, 3, &out, &err), &err, "obj",
                   "must be an array of strings");
    /* Nothing is written on failure. */
    assert_int_equal(json_array_size(out), 0);
    cf_error_dispose(&err);
    json_decref(body);
}

/* The header promises *out == NULL when the key is absent, so a caller need
 * not initialise it. */
static void test_get_string_array_absent_is_null(void **state)
{
    const json_t *out;
    json_t *body = load("{\"n\": null}");
    json_t *stale = json_array();
    struct cf_error err;

    (void)state;
    cf_error_init(&err);
    out = stale;
    assert_int_equal(cf_get_string_array(body, "missing", 2, 3, &out, &err), CF_OK);
    assert_null(out);
    out = stale;
    assert_int_equal(cf_get_string_array(body, "n", 2, 3, &out, &err), CF_OK);
    assert_null(out);
    assert_null(err.fields);
    cf_error_dispose(&err);
    json_decref(stale);
    json_decref(body);
}

static void test_failures_accumulate(void **state)
{
    static const char *const allowed[] = {"name", "count", "size", "flag", "list", "other", NULL};
    const char *name = NULL;
    int64_t count = 0, size = 0;
    bool flag = false;
    const json_t *list = NULL;
    struct cf_error err;
    cf_code code;
    json_t *body = load("{\"name\": 7, \"count\": -1, \"size\": \"huge\", \"flag\": \"yes\", \"list\": 3,"
                        " \"bogus\": 1, \"other\": \"fine\"}");

    (void)state;
    cf_error_init(&err);
    code = cf_check_known_fields(body, allowed, &err);
    code = cf_combine(&err, code, cf_get_string(body, "name", 10, true, &name, &err));
    code = cf_combine(&err, code, cf_get_count(body, "count", 10, false, &count, &err));
    code = cf_combine(&err, code, cf_get_size(body, "size", false, &size, &err));
    code = cf_combine(&err, code, cf_get_bool(body, "flag", &flag, &err));
    code = cf_combine(&err, code, cf_get_string_array(body, "list", 2, 3, &list, &err));
    code = cf_combine(&err, code, cf_get_string(body, "required", 10, true, &name, &err));
    code = cf_combine(&err, code, cf_get_string(body, "other", 10, true, &name, &err));
    assert_int_equal(code, CF_E_VALIDATION);
    assert_int_equal(err.code, code);
    expect_field(&err, "bogus", "unknown field");
    expect_field(&err, "name", "must be a string");
    expect_field(&err, "count", "must be a whole number from 0 to 10");
    assert_non_null(strstr(json_string_value(json_object_get(err.fields, "size")), "invalid size \"huge\""));
    expect_field(&err, "flag", "must be true or false");
    expect_field(&err, "list", "must be an array of strings");
    expect_field(&err, "required", "is required");
    assert_null(json_object_get(err.fields, "other"));
    assert_int_equal(json_object_size(err.fields), 7);
    /* The one good field was still read. */
    assert_string_equal(name, "fine");
    cf_error_dispose(&err);
    assert_null(err.fields);
    json_decref(body);
}

static void test_combine(void **state)
{
    struct cf_error err;

    (void)state;
    cf_error_init(&err);
    assert_int_equal(cf_combine(&err, CF_OK, CF_OK), CF_OK);
    assert_int_equal(cf_combine(&err, CF_OK, CF_E_VALIDATION), CF_E_VALIDATION);
    assert_int_equal(cf_combine(&err, CF_E_VALIDATION, CF_OK), CF_E_VALIDATION);
    /* One kind of failure keeps its code and message. */
    cf_fail(&err, CF_E_INVALID_SIZE, "invalid size \"x\"");
    assert_int_equal(cf_combine(&err, CF_E_INVALID_SIZE, CF_E_INVALID_SIZE), CF_E_INVALID_SIZE);
    assert_string_equal(err.message, "invalid size \"x\"");
    /* Different kinds become a validation failure, in err as in the result. */
    assert_int_equal(cf_combine(&err, CF_E_INVALID_SIZE, CF_E_VALIDATION), CF_E_VALIDATION);
    assert_int_equal(err.code, CF_E_VALIDATION);
    assert_string_equal(err.message, "some fields are not valid");
    cf_error_dispose(&err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_id_valid),
        cmocka_unit_test(test_check_known_fields),
        cmocka_unit_test(test_get_string),
        cmocka_unit_test(test_get_string_nul_inside),
        cmocka_unit_test(test_get_string_counts_characters),
        cmocka_unit_test(test_get_count),
        cmocka_unit_test(test_get_size),
        cmocka_unit_test(test_get_size_invalid),
        cmocka_unit_test(test_get_bool),
        cmocka_unit_test(test_get_string_array),
        cmocka_unit_test(test_get_string_array_absent_is_null),
        cmocka_unit_test(test_failures_accumulate),
        cmocka_unit_test(test_combine),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
