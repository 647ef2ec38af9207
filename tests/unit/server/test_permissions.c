#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "server/permissions.h"

#include <string.h>

/* The names and order of api.md's permission table. */
static const char *const contract_names[] = {
    "accounts.manage", "collections.create", "collections.view",  "collections.modify", "collections.delete",
    "versions.upload", "versions.list",      "versions.download", "versions.delete",    "tokens.create",
    "tokens.view",     "tokens.revoke",      "metrics.view",
};

static void test_table_matches_contract(void **state)
{
    uint32_t all = 0;

    (void)state;
    assert_int_equal(cf_perm_count, sizeof(contract_names) / sizeof(contract_names[0]));
    for (size_t i = 0; i < cf_perm_count; i++) {
        assert_string_equal(cf_perm_table[i].name, contract_names[i]);
        assert_int_equal(cf_perm_table[i].bit, 1u << i);
        assert_non_null(cf_perm_table[i].description);
        assert_true(strlen(cf_perm_table[i].description) > 10);
        assert_int_equal(all & cf_perm_table[i].bit, 0);
        all |= cf_perm_table[i].bit;
    }
    assert_int_equal(all, CF_PERM_ALL);
}

static void test_name_round_trip(void **state)
{
    json_t *array = NULL;
    uint32_t back = 0;

    (void)state;
    for (size_t i = 0; i < cf_perm_count; i++) {
        assert_int_equal(cf_perm_from_name(cf_perm_table[i].name), cf_perm_table[i].bit);
        array = cf_perms_to_json(cf_perm_table[i].bit);
        assert_int_equal(json_array_size(array), 1);
        assert_string_equal(json_string_value(json_array_get(array, 0)), cf_perm_table[i].name);
        json_decref(array);
    }
    array = cf_perms_to_json(CF_PERM_ALL);
    assert_int_equal(json_array_size(array), cf_perm_count);
    for (size_t i = 0; i < cf_perm_count; i++)
        assert_string_equal(json_string_value(json_array_get(array, i)), contract_names[i]);
    assert_int_equal(cf_perms_from_json(array, false, &back, NULL), CF_OK);
    assert_int_equal(back, CF_PERM_ALL);
    json_decref(array);

    /* Table order whatever the input order; duplicates collapse. */
    array = json_pack("[s,s,s]", "versions.upload", "collections.view", "versions.upload");
    assert_int_equal(cf_perms_from_json(array, false, &back, NULL), CF_OK);
    assert_int_equal(back, CF_PERM_VERSIONS_UPLOAD | CF_PERM_COLLECTIONS_VIEW);
    json_decref(array);
    array = cf_perms_to_json(back);
    assert_int_equal(json_array_size(array), 2);
    assert_string_equal(json_string_value(json_array_get(array, 0)), "collections.view");
    assert_string_equal(json_string_value(json_array_get(array, 1)), "versions.upload");
    json_decref(array);

    array = cf_perms_to_json(0);
    assert_true(json_is_array(array));
    assert_int_equal(json_array_size(array), 0);
    json_decref(array);
}

static void test_unknown_name(void **state)
{
    (void)state;
    assert_int_equal(cf_perm_from_name("versions.destroy"), 0);
    assert_int_equal(cf_perm_from_name("Versions.Upload"), 0);
    assert_int_equal(cf_perm_from_name("versions.upload "), 0);
    assert_int_equal(cf_perm_from_name("versions"), 0);
    assert_int_equal(cf_perm_from_name("*"), 0);
    assert_int_equal(cf_perm_from_name(""), 0);
    assert_int_equal(cf_perm_from_name(NULL), 0);
}

/* Runs cf_perms_from_json expecting a refusal whose message and "permissions"
 * field both mention needle. */
static void expect_refused(json_t *array, bool allow_empty, const char *needle)
{
    struct cf_error err;
    uint32_t out = 0xdead;
    const char *field = NULL;

    cf_error_init(&err);
    assert_int_equal(cf_perms_from_json(array, allow_empty, &out, &err), CF_E_VALIDATION);
    assert_int_equal(err.code, CF_E_VALIDATION);
    assert_int_equal(out, 0xdead);
    if (strstr(err.message, needle) == NULL)
        fail_msg("message \"%s\" does not mention \"%s\"", err.message, needle);
    field = json_string_value(json_object_get(err.fields, "permissions"));
    assert_non_null(field);
    if (strstr(field, needle) == NULL)
        fail_msg("field \"%s\" does not mention \"%s\"", field, needle);
    cf_error_dispose(&err);
}

static void test_from_json_refusals(void **state)
{
    json_t *value = NULL;

    (void)state;
    value = json_pack("[s,s]", "versions.upload", "versions.destroy");
    expect_refused(value, false, "versions.destroy");
    json_decref(value);

    value = json_pack("[s,i]", "versions.upload", 5);
    expect_refused(value, false, "array of permission names");
    json_decref(value);

    value = json_pack("[s,n]", "versions.upload");
    expect_refused(value, true, "array of permission names");
    json_decref(value);

    value = json_pack("[[s]]", "versions.upload");
    expect_refused(value, true, "array of permission names");
    json_decref(value);

    value = json_string("versions.upload");
    expect_refused(value, true, "array");
    json_decref(value);

    value = json_pack("{s:b}", "versions.upload", 1);
    expect_refused(value, true, "array");
    json_decref(value);

    expect_refused(NULL, true, "array");
}

static void test_empty_array_rules(void **state)
{
    json_t *empty = json_array();
    uint32_t out = 0xdead;

    (void)state;
    expect_refused(empty, false, "at least one");
    assert_int_equal(cf_perms_from_json(empty, true, &out, NULL), CF_OK);
    assert_int_equal(out, 0);
    json_decref(empty);
}

static void test_subset_rule(void **state)
{
    uint32_t reader = CF_PERM_COLLECTIONS_VIEW | CF_PERM_VERSIONS_LIST | CF_PERM_VERSIONS_DOWNLOAD;

    (void)state;
    assert_true(cf_perms_subset(0, 0));
    assert_true(cf_perms_subset(0, reader));
    assert_true(cf_perms_subset(reader, reader));
    assert_true(cf_perms_subset(CF_PERM_VERSIONS_LIST, reader));
    assert_true(cf_perms_subset(reader, CF_PERM_ALL));
    assert_true(cf_perms_subset(CF_PERM_ALL, CF_PERM_ALL));
    assert_false(cf_perms_subset(CF_PERM_VERSIONS_UPLOAD, reader));
    assert_false(cf_perms_subset(reader | CF_PERM_TOKENS_CREATE, reader));
    assert_false(cf_perms_subset(CF_PERM_ALL, reader));
    assert_false(cf_perms_subset(CF_PERM_ACCOUNTS_MANAGE, CF_PERM_ALL & ~(uint32_t)CF_PERM_ACCOUNTS_MANAGE));
    assert_false(cf_perms_subset(CF_PERM_METRICS_VIEW, 0));
}

static void test_scope_subset_rule(void **state)
{
    static const char *const ab[] = {"alpha", "beta"};
    static const char *const abc[] = {"alpha", "beta", "gamma"};
    static const char *const a[] = {"alpha"};
    static const char *const ad[] = {"alpha", "delta"};
    static const char *const prefix[] = {"alph"};

    (void)state;
    /* An empty have is the whole account, so it covers anything. */
    assert_true(cf_scope_subset(NULL, 0, NULL, 0));
    assert_true(cf_scope_subset(ab, 2, NULL, 0));
    /* An empty want is the whole account too: a limited have does not cover it. */
    assert_false(cf_scope_subset(NULL, 0, ab, 2));
    assert_false(cf_scope_subset(NULL, 0, a, 1));

    assert_true(cf_scope_subset(a, 1, ab, 2));
    assert_true(cf_scope_subset(ab, 2, ab, 2));
    assert_true(cf_scope_subset(ab, 2, abc, 3));
    assert_false(cf_scope_subset(abc, 3, ab, 2));
    assert_false(cf_scope_subset(ad, 2, abc, 3));
    /* Ids match exactly, not by prefix. */
    assert_false(cf_scope_subset(prefix, 1, a, 1));
    assert_false(cf_scope_subset(a, 1, prefix, 1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_matches_contract), cmocka_unit_test(test_name_round_trip),
        cmocka_unit_test(test_unknown_name),           cmocka_unit_test(test_from_json_refusals),
        cmocka_unit_test(test_empty_array_rules),      cmocka_unit_test(test_subset_rule),
        cmocka_unit_test(test_scope_subset_rule),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
