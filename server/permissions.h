/* The permission names of the API as bits, and the rules that compare them.
 * Pure functions: no database, no I/O. */
#ifndef COFFER_SERVER_PERMISSIONS_H
#define COFFER_SERVER_PERMISSIONS_H

#include "common/error.h"
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum cf_perm {
    CF_PERM_ACCOUNTS_MANAGE = 1u << 0,
    CF_PERM_COLLECTIONS_CREATE = 1u << 1,
    CF_PERM_COLLECTIONS_VIEW = 1u << 2,
    CF_PERM_COLLECTIONS_MODIFY = 1u << 3,
    CF_PERM_COLLECTIONS_DELETE = 1u << 4,
    CF_PERM_VERSIONS_UPLOAD = 1u << 5,
    CF_PERM_VERSIONS_LIST = 1u << 6,
    CF_PERM_VERSIONS_DOWNLOAD = 1u << 7,
    CF_PERM_VERSIONS_DELETE = 1u << 8,
    CF_PERM_TOKENS_CREATE = 1u << 9,
    CF_PERM_TOKENS_VIEW = 1u << 10,
    CF_PERM_TOKENS_REVOKE = 1u << 11,
    CF_PERM_METRICS_VIEW = 1u << 12,
};
#define CF_PERM_ALL 0x1fffu

struct cf_perm_info {
    uint32_t bit;
    const char *name;        /* "versions.upload" */
    const char *description; /* one sentence for GET /auth/permissions */
};
/* Every permission, in the contract's order; count in cf_perm_count. */
extern const struct cf_perm_info cf_perm_table[];
extern const size_t cf_perm_count;

/* The bit for a name, 0 when unknown. */
uint32_t cf_perm_from_name(const char *name);
/* A JSON array of permission names -> bits. CF_E_VALIDATION (field "permissions")
 * for a non-array, a non-string, an unknown name, or an empty array when
 * allow_empty is false. */
cf_code cf_perms_from_json(const json_t *array, bool allow_empty, uint32_t *out, struct cf_error *err);
/* A new JSON array of names in table order. */
json_t *cf_perms_to_json(uint32_t perms);
/* Whether every bit of want is in have. */
bool cf_perms_subset(uint32_t want, uint32_t have);

/* The collection-scope rule for minting: a scope is a list of collection ids,
 * empty meaning every collection of the account. want is within have when have
 * is empty, or when want is non-empty and each of its ids is in have. */
bool cf_scope_subset(const char *const *want, size_t nwant, const char *const *have, size_t nhave);

#endif
