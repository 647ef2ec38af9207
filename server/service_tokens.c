#include "service_tokens.h"

#include "audit.h"
#include "cidr.h"
#include "common/rfc3339.h"
#include "permissions.h"
#include "validate.h"
#include "version_ref.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TOKEN_JSON                                                                                           \
    "json_build_object('id', t.id, 'account_id', coalesce(t.account_id, 'system'),"                          \
    " 'description', t.description, 'permissions', t.permissions, 'collections', t.collections,"             \
    " 'allowed_ips', t.allowed_ips, 'allowed_user_agents', t.allowed_user_agents,"                           \
    " 'one_time_upload', t.one_time_upload, 'created_at', coffer_time(t.created_at),"                        \
    " 'expires_at', coffer_time(t.expires_at), 'revoked_at', coffer_time(t.revoked_at),"                     \
    " 'last_used_at', coffer_time(t.last_used_at), 'created_by', t.created_by)"

CF_STMT(stmt_token_insert,
        "INSERT INTO tokens (id, account_id, permissions, collections, allowed_ips, allowed_user_agents,"
        " one_time_upload, description, created_by, expires_at)"
        " VALUES ($1, $2, ARRAY(SELECT json_array_elements_text($3::json)),"
        " ARRAY(SELECT json_array_elements_text($4::json)), ARRAY(SELECT json_array_elements_text($5::json)),"
        " ARRAY(SELECT json_array_elements_text($6::json)), $7, $8, $9, to_timestamp($10))");
CF_STMT(stmt_token_account_exists, "SELECT 1 FROM accounts WHERE id = $1");
CF_STMT(stmt_token_list_all,
        "SELECT coalesce(json_agg(" TOKEN_JSON " ORDER BY t.created_at), '[]') FROM tokens t"
        " WHERE $1::text IS NULL OR t.account_id = $1");
CF_STMT(stmt_token_list_account, "SELECT coalesce(json_agg(" TOKEN_JSON
                                 " ORDER BY t.created_at), '[]') FROM tokens t WHERE t.account_id = $1");
CF_STMT(stmt_token_owner, "SELECT coalesce(account_id, 'system') FROM tokens WHERE id = $1");
CF_STMT(stmt_token_revoke, "UPDATE tokens SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1");
/* Only one transaction can revoke the row: a second one waits for the first's
 * commit, then finds revoked_at set and changes nothing. */
CF_STMT(stmt_token_consume, "UPDATE tokens SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL");

static const char *const mint_fields[] = {"permissions",     "collections", "ttl",
                                          "description",     "allowed_ips", "allowed_user_agents",
                                          "one_time_upload", "account_id",  NULL};

static char *json_text(const json_t *value)
{
    return json_dumps(value != NULL ? value : json_array(), JSON_COMPACT | JSON_ENCODE_ANY);
}

/* Signs a token with a fresh id and records it. */
static cf_code token_create(struct cf_app *app, const struct cf_principal *minter, const char *account_id,
                            uint32_t perms, const json_t *collections, const json_t *ips,
                            const json_t *agents, bool one_time, const char *description,
                            const char *created_by, int64_t expires_at, json_t **out, struct cf_error *err)
{
    struct cf_jwt_claims claims;
    json_t *perm_names = cf_perms_to_json(perms);
    json_t *empty = json_array();
    char *perm_text = NULL, *coll_text = NULL, *ip_text = NULL, *agent_text = NULL, *token = NULL;
    char expires[24];
    cf_code code;

    memset(&claims, 0, sizeof(claims));
    snprintf(claims.sub, sizeof(claims.sub), "%s", account_id != NULL ? account_id : "system");
    cf_uuid_v4(claims.jti);
    claims.iat = (int64_t)time(NULL);
    claims.exp = expires_at;
    code = cf_jwt_sign(&app->keys, &claims, &token, err);
    if (code != CF_OK)
        goto out;

    perm_text = json_text(perm_names);
    coll_text = json_text(collections != NULL ? collections : empty);
    ip_text = json_text(ips != NULL ? ips : empty);
    agent_text = json_text(agents != NULL ? agents : empty);
    snprintf(expires, sizeof(expires), "%lld", (long long)expires_at);
    {
        const char *params[] = {
            claims.jti,  account_id, perm_text, coll_text, ip_text, agent_text, one_time ? "true" : "false",
            description, created_by, expires};
        code = cf_db_run(app->pool, &stmt_token_insert, params, 10, NULL, err);
    }
    if (code != CF_OK)
        goto out;
    cf_audit(app, minter, "token.mint", claims.jti);
    {
        char stamp[CF_RFC3339_SIZE];
        cf_rfc3339(expires_at, stamp);
        *out = json_pack("{s:s, s:s, s:s, s:O, s:O, s:s}", "token", token, "token_id", claims.jti,
                         "account_id", claims.sub, "permissions", perm_names, "collections",
                         collections != NULL ? collections : empty, "expires_at", stamp);
    }
out:
    json_decref(perm_names);
    json_decref(empty);
    free(perm_text);
    free(coll_text);
    free(ip_text);
    free(agent_text);
    free(token);
    return code;
}

static cf_code check_ips(const json_t *ips, struct cf_error *err)
{
    size_t i;
    json_t *item;

    json_array_foreach(ips, i, item)
    {
        struct cf_cidr cidr;
        if (cf_cidr_parse(json_string_value(item), &cidr, NULL) != CF_OK) {
            cf_error_field(err, "allowed_ips", "\"%s\" is not an address or CIDR block",
                           json_string_value(item));
            return cf_fail(err, CF_E_VALIDATION, "some fields are not valid");
        }
    }
    return CF_OK;
}

static cf_code check_collection_ids(const json_t *ids, struct cf_error *err)
{
    size_t i;
    json_t *item;

    json_array_foreach(ids, i, item)
    {
        if (!cf_id_valid(json_string_value(item))) {
            cf_error_field(err, "collections", "\"%s\" is not a collection id", json_string_value(item));
            return cf_fail(err, CF_E_VALIDATION, "some fields are not valid");
        }
    }
    return CF_OK;
}

/* Collections as a C array of borrowed strings for cf_scope_subset. */
static size_t id_list(const json_t *array, const char **ids, size_t max)
{
    size_t n = 0;

    for (size_t i = 0; array != NULL && i < json_array_size(array) && n < max; i++)
        ids[n++] = json_string_value(json_array_get(array, i));
    return n;
}

cf_code cf_token_mint(struct cf_app *app, const struct cf_principal *minter, const json_t *body, json_t **out,
                      struct cf_error *err)
{
    enum { MAX_SCOPE = 256 };
    const json_t *collections = NULL, *ips = NULL, *agents = NULL;
    const char *description = "", *account_id = NULL;
    const char *want[MAX_SCOPE], *have[MAX_SCOPE];
    int64_t ttl = app->cfg->token_default_ttl;
    int64_t now = (int64_t)time(NULL), expires_at;
    bool one_time = false, explicit_ttl = json_object_get(body, "ttl") != NULL;
    uint32_t perms = 0;
    cf_code code = cf_check_known_fields(body, mint_fields, err);

    if (json_object_get(body, "permissions") == NULL) {
        cf_error_field(err, "permissions", "is required");
        code = cf_combine(err, code, cf_fail(err, CF_E_VALIDATION, "some fields are not valid"));
    } else {
        code = cf_combine(err, code,
                          cf_perms_from_json(json_object_get(body, "permissions"), false, &perms, err));
    }
    code = cf_combine(err, code, cf_get_string_array(body, "collections", MAX_SCOPE, 64, &collections, err));
    if (collections != NULL)
        code = cf_combine(err, code, check_collection_ids(collections, err));
    code = cf_combine(err, code, cf_get_count(body, "ttl", app->cfg->token_max_ttl, false, &ttl, err));
    if (explicit_ttl && ttl < 60) {
        cf_error_field(err, "ttl", "must be at least 60 seconds");
        code = cf_combine(err, code, cf_fail(err, CF_E_VALIDATION, "some fields are not valid"));
    }
    code = cf_combine(err, code, cf_get_string(body, "description", 1024, false, &description, err));
    code = cf_combine(err, code, cf_get_string_array(body, "allowed_ips", 64, 64, &ips, err));
    if (ips != NULL)
        code = cf_combine(err, code, check_ips(ips, err));
    code = cf_combine(err, code, cf_get_string_array(body, "allowed_user_agents", 64, 512, &agents, err));
    code = cf_combine(err, code, cf_get_bool(body, "one_time_upload", &one_time, err));
    code = cf_combine(err, code, cf_get_string(body, "account_id", 64, minter->admin, &account_id, err));
    if (code != CF_OK)
        return code;

    if (!minter->admin) {
        if (account_id != NULL && strcmp(account_id, minter->account_id) != 0)
            return cf_fail(err, CF_E_PERMISSION_ESCALATION,
                           "a token may only mint tokens of its own account");
        account_id = minter->account_id;
        if (!cf_perms_subset(perms, minter->perms))
            return cf_fail(err, CF_E_PERMISSION_ESCALATION,
                           "the new token may not hold permissions its minter lacks");
        if (!cf_scope_subset(want, id_list(collections, want, MAX_SCOPE), have,
                             id_list(minter->collections, have, MAX_SCOPE)))
            return cf_fail(err, CF_E_PERMISSION_ESCALATION,
                           "the new token may only see collections its minter sees");
    } else {
        PGresult *res = NULL;
        const char *params[] = {account_id};

        if ((perms & CF_PERM_ACCOUNTS_MANAGE) != 0) {
            cf_error_field(
                err, "permissions",
                "accounts.manage belongs to administrator tokens only (cofferd token create --admin)");
            return cf_fail(err, CF_E_VALIDATION, "some fields are not valid");
        }
        code = cf_db_run(app->pool, &stmt_token_account_exists, params, 1, &res, err);
        if (code == CF_OK && PQntuples(res) == 0) {
            cf_error_field(err, "account_id", "no such account");
            code = cf_fail(err, CF_E_VALIDATION, "some fields are not valid");
        }
        PQclear(res);
        if (code != CF_OK)
            return code;
    }

    expires_at = now + ttl;
    if (expires_at > minter->expires_at) {
        if (explicit_ttl)
            return cf_fail(err, CF_E_PERMISSION_ESCALATION,
                           "the new token may not outlive its minter: a ttl of at most %lld seconds, or mint "
                           "it with a token that lives longer (cofferd token create on the server)",
                           (long long)(minter->expires_at - now));
        expires_at = minter->expires_at;
    }
    return token_create(app, minter, account_id, perms, collections, ips, agents, one_time, description,
                        minter->token_id, expires_at, out, err);
}

cf_code cf_token_mint_cli(struct cf_app *app, const char *account_id, const json_t *permissions, int64_t ttl,
                          const char *description, json_t **out, struct cf_error *err)
{
    uint32_t perms = CF_PERM_ALL;
    cf_code code;

    if (account_id != NULL) {
        PGresult *res = NULL;
        const char *params[] = {account_id};

        perms = CF_PERM_ALL & ~(uint32_t)CF_PERM_ACCOUNTS_MANAGE;
        if (permissions != NULL) {
            code = cf_perms_from_json(permissions, false, &perms, err);
            if (code != CF_OK)
                return code;
            if ((perms & CF_PERM_ACCOUNTS_MANAGE) != 0)
                return cf_fail(err, CF_E_VALIDATION, "accounts.manage belongs to administrator tokens only");
        }
        code = cf_db_run(app->pool, &stmt_token_account_exists, params, 1, &res, err);
        if (code == CF_OK && PQntuples(res) == 0)
            code = cf_fail(err, CF_E_NOT_FOUND, "no such account: %s", account_id);
        PQclear(res);
        if (code != CF_OK)
            return code;
    }
    return token_create(app, NULL, account_id, perms, NULL, NULL, NULL, false, description, "cli",
                        (int64_t)time(NULL) + ttl, out, err);
}

cf_code cf_token_list(struct cf_app *app, const struct cf_principal *p, const char *account_id, json_t **out,
                      struct cf_error *err)
{
    PGresult *res = NULL;
    cf_code code;

    if (p->admin) {
        const char *params[] = {account_id};
        code = cf_db_run(app->pool, &stmt_token_list_all, params, 1, &res, err);
    } else {
        const char *params[] = {p->account_id};
        code = cf_db_run(app->pool, &stmt_token_list_account, params, 1, &res, err);
    }
    if (code == CF_OK)
        code = cf_db_json_cell(res, "token", out, err);
    PQclear(res);
    return code;
}

cf_code cf_token_revoke(struct cf_app *app, const struct cf_principal *p, const char *token_id,
                        struct cf_error *err)
{
    PGresult *res = NULL;
    cf_code code;

    if (strcmp(token_id, "current") == 0)
        token_id = p->token_id;
    if (!cf_uuid_valid(token_id))
        return cf_fail(err, CF_E_NOT_FOUND, "no such token");
    if (strcmp(token_id, p->token_id) != 0) {
        const char *params[] = {token_id};
        code = cf_db_run(app->pool, &stmt_token_owner, params, 1, &res, err);
        if (code != CF_OK)
            goto out;
        if (PQntuples(res) == 0 || (!p->admin && strcmp(PQgetvalue(res, 0, 0), p->account_id) != 0)) {
            code = cf_fail(err, CF_E_NOT_FOUND, "no such token");
            goto out;
        }
        if (!cf_principal_has(p, CF_PERM_TOKENS_REVOKE)) {
            code = cf_fail(err, CF_E_PERMISSION_DENIED, "revoking another token needs tokens.revoke");
            goto out;
        }
    }
    {
        const char *params[] = {token_id};
        code = cf_db_run(app->pool, &stmt_token_revoke, params, 1, NULL, err);
    }
    /* The next request, even on this very connection, must see the revocation. */
    if (code == CF_OK) {
        cf_token_cache_flush(app->token_cache);
        cf_audit(app, p, "token.revoke", token_id);
    }
out:
    PQclear(res);
    return code;
}

cf_code cf_token_consume_one_time(struct cf_db *db, const char *token_id, struct cf_error *err)
{
    const char *params[] = {token_id};
    PGresult *res = NULL;
    cf_code code = cf_db_query(db, &stmt_token_consume, params, 1, &res, err);

    /* Uploads in parallel with one token all passed authentication; the first
     * to commit used it up. */
    if (code == CF_OK && strcmp(PQcmdTuples(res), "1") != 0)
        code = cf_fail(err, CF_E_TOKEN_REVOKED, "this one-time upload token has already been used");
    PQclear(res);
    return code;
}
