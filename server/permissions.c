#include "server/permissions.h"

#include <string.h>

/* The contract's order (api.md). GET /auth/permissions serves these
 * descriptions, so they are written for API users. */
const struct cf_perm_info cf_perm_table[] = {
    {CF_PERM_ACCOUNTS_MANAGE, "accounts.manage",
     "Administer accounts (create, change, delete) and act on behalf of any account."},
    {CF_PERM_COLLECTIONS_CREATE, "collections.create", "Create new collections in the token's account."},
    {CF_PERM_COLLECTIONS_VIEW, "collections.view", "List collections and read their settings and usage."},
    {CF_PERM_COLLECTIONS_MODIFY, "collections.modify", "Change the settings and limits of a collection."},
    {CF_PERM_COLLECTIONS_DELETE, "collections.delete",
     "Delete an empty collection, or with force=true a collection together with its versions."},
    {CF_PERM_VERSIONS_UPLOAD, "versions.upload", "Upload a new backup version into a collection."},
    {CF_PERM_VERSIONS_LIST, "versions.list", "List a collection's versions and read their metadata."},
    {CF_PERM_VERSIONS_DOWNLOAD, "versions.download", "Download the content of a stored version."},
    {CF_PERM_VERSIONS_DELETE, "versions.delete", "Delete a stored version."},
    {CF_PERM_TOKENS_CREATE, "tokens.create",
     "Mint new tokens holding no more permissions, collections or lifetime than the caller's own."},
    {CF_PERM_TOKENS_VIEW, "tokens.view",
     "List the account's tokens and their details, never their secret text."},
    {CF_PERM_TOKENS_REVOKE, "tokens.revoke", "Revoke tokens belonging to the account."},
    {CF_PERM_METRICS_VIEW, "metrics.view",
     "Read the /metrics endpoint with this token instead of the metrics code."},
};

const size_t cf_perm_count = sizeof(cf_perm_table) / sizeof(cf_perm_table[0]);

uint32_t cf_perm_from_name(const char *name)
{
    if (name == NULL)
        return 0;
    for (size_t i = 0; i < cf_perm_count; i++) {
        if (strcmp(name, cf_perm_table[i].name) == 0)
            return cf_perm_table[i].bit;
    }
    return 0;
}

cf_code cf_perms_from_json(const json_t *array, bool allow_empty, uint32_t *out, struct cf_error *err)
{
    uint32_t perms = 0;

    if (!json_is_array(array)) {
        cf_error_field(err, "permissions", "must be an array of permission names");
        return cf_fail(err, CF_E_VALIDATION, "permissions must be an array of permission names");
    }
    if (json_array_size(array) == 0 && !allow_empty) {
        cf_error_field(err, "permissions", "must name at least one permission");
        return cf_fail(err, CF_E_VALIDATION, "permissions must name at least one permission");
    }
    for (size_t i = 0; i < json_array_size(array); i++) {
        const char *name = json_string_value(json_array_get(array, i));
        uint32_t bit = cf_perm_from_name(name);

        if (name == NULL) {
            cf_error_field(err, "permissions",
                           "must be an array of permission names (item %zu is not a string)", i);
            return cf_fail(err, CF_E_VALIDATION, "permissions must be an array of permission names");
        }
        if (bit == 0) {
            /* Bounded: the name comes from the request. */
            cf_error_field(err, "permissions", "unknown permission \"%.64s\"", name);
            return cf_fail(err, CF_E_VALIDATION, "unknown permission \"%.64s\"", name);
        }
        perms |= bit;
    }
    *out = perms;
    return CF_OK;
}

json_t *cf_perms_to_json(uint32_t perms)
{
    json_t *array = json_array();

    if (array == NULL)
        return NULL;
    for (size_t i = 0; i < cf_perm_count; i++) {
        if ((perms & cf_perm_table[i].bit) == 0)
            continue;
        if (json_array_append_new(array, json_string(cf_perm_table[i].name)) != 0) {
            json_decref(array);
            return NULL;
        }
    }
    return array;
}

bool cf_perms_subset(uint32_t want, uint32_t have)
{
    return (want & ~have) == 0;
}

bool cf_scope_subset(const char *const *want, size_t nwant, const char *const *have, size_t nhave)
{
    if (nhave == 0)
        return true;
    /* An empty want means the whole account, which a limited have does not cover. */
    if (nwant == 0)
        return false;
    for (size_t i = 0; i < nwant; i++) {
        bool found = false;

        for (size_t j = 0; j < nhave && !found; j++)
            found = want[i] != NULL && have[j] != NULL && strcmp(want[i], have[j]) == 0;
        if (!found)
            return false;
    }
    return true;
}
