/* Tokens: minting under the subset rule, listing, revocation. The token text
 * is returned once, at minting, and never stored. */
#ifndef COFFER_SERVER_SERVICE_TOKENS_H
#define COFFER_SERVER_SERVICE_TOKENS_H

#include "app.h"
#include "principal.h"
#include <jansson.h>

/* Mints a token for minter from a request body (permissions, collections, ttl,
 * description, allowed_ips, allowed_user_agents, one_time_upload, account_id).
 * The new token never holds more than its minter: CF_E_PERMISSION_ESCALATION
 * for permissions, collections or an explicit ttl beyond the minter's.
 * *out is {"token", "token_id", "account_id", "permissions", "collections",
 * "expires_at"}. */
cf_code cf_token_mint(struct cf_app *app, const struct cf_principal *minter, const json_t *body, json_t **out,
                      struct cf_error *err);

/* Mints from the server's command line, with direct database access: an
 * administrator token when account_id is NULL (every permission), else a token
 * of that account with the given permissions (NULL: every permission an account
 * token may hold). */
cf_code cf_token_mint_cli(struct cf_app *app, const char *account_id, const json_t *permissions, int64_t ttl,
                          const char *description, json_t **out, struct cf_error *err);

/* The tokens the principal may see: its account's, or all for the
 * administrator (optionally only account_id's). */
cf_code cf_token_list(struct cf_app *app, const struct cf_principal *p, const char *account_id, json_t **out,
                      struct cf_error *err);

/* Revokes token_id ("current" = the caller's own). A caller may always revoke
 * its own token; others need tokens.revoke and must see the token's account,
 * else CF_E_NOT_FOUND / CF_E_PERMISSION_DENIED. Revoking twice is not an error. */
cf_code cf_token_revoke(struct cf_app *app, const struct cf_principal *p, const char *token_id,
                        struct cf_error *err);

/* Marks a one-time upload token used (revoked), inside the upload's commit
 * transaction (db). CF_E_TOKEN_REVOKED when another upload with the same token
 * used it first: the caller rolls its upload back. */
cf_code cf_token_consume_one_time(struct cf_db *db, const char *token_id, struct cf_error *err);

#endif
