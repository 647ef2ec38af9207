/* Collections: create, list, read, edit, delete, within what a token may see.
 * A collection outside the caller's scope is CF_E_NOT_FOUND, never 403, so
 * that existence does not leak. */
#ifndef COFFER_SERVER_SERVICE_COLLECTIONS_H
#define COFFER_SERVER_SERVICE_COLLECTIONS_H

#include "app.h"
#include "principal.h"
#include <jansson.h>

/* Errors besides validation: CF_E_COLLECTION_EXISTS (id taken in any account),
 * CF_E_TOO_MANY_COLLECTIONS (account's max_collections), CF_E_ACCOUNT_QUOTA_EXCEEDED
 * (max_collection_size does not fit into what the account's quota has left). */
cf_code cf_collection_create(struct cf_app *app, const struct cf_principal *p, const json_t *body,
                             json_t **out, struct cf_error *err);

struct cf_collection_query {
    const char *q;          /* substring, or a pattern with * wildcards; NULL for all */
    const char *account_id; /* administrator only: one account's */
    int64_t page;           /* from 1 */
    int64_t per_page;       /* 1..100 */
};
/* *out is {"collections": [...], "pagination": {"page", "per_page", "total"}}. */
cf_code cf_collection_list(struct cf_app *app, const struct cf_principal *p,
                           const struct cf_collection_query *query, json_t **out, struct cf_error *err);
cf_code cf_collection_get(struct cf_app *app, const struct cf_principal *p, const char *id, json_t **out,
                          struct cf_error *err);
/* Limits may not go below current usage (CF_E_LIMIT_BELOW_USAGE). */
cf_code cf_collection_update(struct cf_app *app, const struct cf_principal *p, const char *id,
                             const json_t *body, json_t **out, struct cf_error *err);
/* CF_E_COLLECTION_NOT_EMPTY while versions exist, unless force: then the
 * versions go in the same transaction and their bytes right after. */
cf_code cf_collection_delete(struct cf_app *app, const struct cf_principal *p, const char *id, bool force,
                             struct cf_error *err);

#endif
