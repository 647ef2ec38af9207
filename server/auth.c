#include "auth.h"

#include "cidr.h"
#include "common/log.h"
#include "permissions.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* The one lookup per request. touch says whether last_used_at is older than a
 * minute, so that it is written at most once a minute per token. */
CF_STMT(stmt_token_lookup,
        "SELECT t.account_id, array_to_json(t.permissions), array_to_json(t.collections),"
        " array_to_json(t.allowed_ips), array_to_json(t.allowed_user_agents), t.one_time_upload,"
        " extract(epoch FROM t.expires_at)::bigint, t.revoked_at IS NOT NULL, coalesce(a.active, true),"
        " (t.last_used_at IS NULL OR t.last_used_at < now() - interval '1 minute')"
        " FROM tokens t LEFT JOIN accounts a ON a.id = t.account_id WHERE t.id = $1");
CF_STMT(stmt_token_touch, "UPDATE tokens SET last_used_at = now() WHERE id = $1");

static bool ip_allowed(const json_t *allowed_ips, const char *client_ip)
{
    size_t i;
    json_t *item;

    if (json_array_size(allowed_ips) == 0)
        return true;
    json_array_foreach(allowed_ips, i, item)
    {
        struct cf_cidr cidr;
        if (cf_cidr_parse(json_string_value(item), &cidr, NULL) == CF_OK &&
            cf_cidr_contains_text(&cidr, client_ip))
            return true;
    }
    return false;
}

static bool user_agent_allowed(const json_t *allowed, const char *user_agent)
{
    size_t i;
    json_t *item;

    if (json_array_size(allowed) == 0)
        return true;
    if (user_agent == NULL)
        return false;
    json_array_foreach(allowed, i, item)
    {
        if (strcmp(json_string_value(item), user_agent) == 0)
            return true;
    }
    return false;
}

cf_code cf_auth_authenticate(struct cf_app *app, const char *authorization, const char *client_ip,
                             const char *user_agent, struct cf_principal *out, struct cf_error *err)
{
    struct cf_jwt_claims claims;
    struct cf_db *db = NULL;
    PGresult *res = NULL;
    json_t *perms = NULL, *ips = NULL, *agents = NULL;
    const char *token;
    const char *row_account;
    cf_code code;

    if (authorization == NULL || strncasecmp(authorization, "Bearer ", 7) != 0)
        return cf_fail(err, CF_E_UNAUTHENTICATED, "send a token as \"Authorization: Bearer <token>\"");
    token = authorization + 7;
    while (*token == ' ')
        token++;
    if (strlen(token) > 4096)
        return cf_fail(err, CF_E_INVALID_TOKEN, "the token is too long");
    code = cf_jwt_verify(&app->keys, token, (int64_t)time(NULL), &claims, err);
    if (code != CF_OK)
        return code;

    code = cf_db_acquire(app->pool, &db, err);
    if (code != CF_OK)
        goto out;
    {
        const char *params[] = {claims.jti};
        code = cf_db_query(db, &stmt_token_lookup, params, 1, &res, err);
    }
    if (code != CF_OK)
        goto out;
    if (PQntuples(res) != 1) {
        code = cf_fail(err, CF_E_INVALID_TOKEN, "this token is not known to the server");
        goto out;
    }
    row_account = PQgetisnull(res, 0, 0) ? "system" : PQgetvalue(res, 0, 0);
    if (strcmp(row_account, claims.sub) != 0) {
        code = cf_fail(err, CF_E_INVALID_TOKEN, "this token is not known to the server");
        goto out;
    }
    if (strcmp(PQgetvalue(res, 0, 7), "t") == 0) {
        code = cf_fail(err, CF_E_TOKEN_REVOKED, "this token has been revoked");
        goto out;
    }
    if (strtoll(PQgetvalue(res, 0, 6), NULL, 10) <= (long long)time(NULL)) {
        code = cf_fail(err, CF_E_TOKEN_EXPIRED, "this token has expired");
        goto out;
    }
    if (strcmp(PQgetvalue(res, 0, 8), "t") != 0) {
        code = cf_fail(err, CF_E_ACCOUNT_INACTIVE, "the account of this token is inactive");
        goto out;
    }
    ips = json_loads(PQgetvalue(res, 0, 3), 0, NULL);
    agents = json_loads(PQgetvalue(res, 0, 4), 0, NULL);
    if (!ip_allowed(ips, client_ip)) {
        code = cf_fail(err, CF_E_RESTRICTED, "this token may not be used from %s", client_ip);
        goto out;
    }
    if (!user_agent_allowed(agents, user_agent)) {
        code = cf_fail(err, CF_E_RESTRICTED, "this token may not be used by this user agent");
        goto out;
    }
    perms = json_loads(PQgetvalue(res, 0, 1), 0, NULL);

    cf_principal_init(out);
    snprintf(out->token_id, sizeof(out->token_id), "%s", claims.jti);
    out->admin = PQgetisnull(res, 0, 0);
    if (!out->admin)
        snprintf(out->account_id, sizeof(out->account_id), "%s", row_account);
    if (out->admin)
        out->perms = CF_PERM_ALL;
    else if (cf_perms_from_json(perms, true, &out->perms, NULL) != CF_OK)
        out->perms = 0;
    out->collections = json_loads(PQgetvalue(res, 0, 2), 0, NULL);
    if (out->collections == NULL)
        out->collections = json_array();
    out->expires_at = strtoll(PQgetvalue(res, 0, 6), NULL, 10);
    out->one_time_upload = strcmp(PQgetvalue(res, 0, 5), "t") == 0;

    if (strcmp(PQgetvalue(res, 0, 9), "t") == 0) {
        const char *params[] = {claims.jti};
        /* Bookkeeping only: a failure here must not refuse the request. */
        if (cf_db_query(db, &stmt_token_touch, params, 1, NULL, NULL) != CF_OK)
            cf_log(CF_LOG_WARN, "could not record the last use of token %s", claims.jti);
    }
out:
    json_decref(perms);
    json_decref(ips);
    json_decref(agents);
    PQclear(res);
    cf_db_release(db);
    return code;
}
