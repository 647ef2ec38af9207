/* Accounts: the tenants that own collections and carry a storage quota.
 * Resources come back as JSON objects in the API's shape; callers decref. */
#ifndef COFFER_SERVER_SERVICE_ACCOUNTS_H
#define COFFER_SERVER_SERVICE_ACCOUNTS_H

#include "app.h"
#include "principal.h"
#include <jansson.h>

/* body: id (optional, generated UUID when absent), name, storage_quota,
 * max_collections, active. CF_E_VALIDATION / CF_E_INVALID_SIZE with fields,
 * CF_E_ACCOUNT_EXISTS when the id is taken. */
cf_code cf_account_create(struct cf_app *app, const struct cf_principal *p, const json_t *body, json_t **out,
                          struct cf_error *err);
cf_code cf_account_list(struct cf_app *app, json_t **out, struct cf_error *err);
/* CF_E_NOT_FOUND when there is no such account. */
cf_code cf_account_get(struct cf_app *app, const char *id, json_t **out, struct cf_error *err);
/* Changes the fields present in body. A storage_quota below what the account
 * already stores is CF_E_LIMIT_BELOW_USAGE. */
cf_code cf_account_update(struct cf_app *app, const struct cf_principal *p, const char *id,
                          const json_t *body, json_t **out, struct cf_error *err);
/* CF_E_ACCOUNT_NOT_EMPTY while it has collections; its tokens go with it. */
cf_code cf_account_delete(struct cf_app *app, const struct cf_principal *p, const char *id,
                          struct cf_error *err);

#endif
