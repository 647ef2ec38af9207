#include "auth.h"

#include "cidr.h"
#include "common/log.h"
#include "permissions.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* The one lookup a request may need. touch says whether last_used_at is older
 * than a minute, so that it is written at most once a minute per token. */
CF_STMT(
    stmt_token_lookup,
    "SELECT t.account_id, array_to_json(t.permissions), array_to_json(t.collections),"
    " array_to_json(t.allowed_ips), array_to_json(t.allowed_user_agents), t.one_time_upload,"
    " floor(extract(epoch FROM t.expires_at))::bigint, t.revoked_at IS NOT NULL, coalesce(a.active, true),"
    " (t.last_used_at IS NULL OR t.last_used_at < now() - interval '1 minute')"
    " FROM tokens t LEFT JOIN accounts a ON a.id = t.account_id WHERE t.id = $1");
CF_STMT(stmt_token_touch, "UPDATE tokens SET last_used_at = now() WHERE id = $1");

/* Reads the token's row into rec; CF_E_INVALID_TOKEN when there is none. */
static cf_code fetch_record(struct cf_app *app, const char *jti, struct cf_token_record *rec, bool *touch_due,
                            struct cf_error *err)
{
    PGresult *res = NULL;
    const char *params[] = {jti};
    cf_code code = cf_db_run(app->pool, &stmt_token_lookup, params, 1, &res, err);

    if (code == CF_OK && PQntuples(res) != 1)
        code = cf_fail(err, CF_E_INVALID_TOKEN, "this token is not known to the server");
    if (code != CF_OK)
        goto out;
    memset(rec, 0, sizeof(*rec));
    rec->admin = PQgetisnull(res, 0, 0);
    snprintf(rec->account_id, sizeof(rec->account_id), "%s", rec->admin ? "system" : PQgetvalue(res, 0, 0));
    rec->permissions = strdup(PQgetvalue(res, 0, 1));
    rec->collections = strdup(PQgetvalue(res, 0, 2));
    rec->allowed_ips = strdup(PQgetvalue(res, 0, 3));
    rec->allowed_user_agents = strdup(PQgetvalue(res, 0, 4));
    rec->one_time_upload = strcmp(PQgetvalue(res, 0, 5), "t") == 0;
    rec->expires_at = strtoll(PQgetvalue(res, 0, 6), NULL, 10);
    rec->revoked = strcmp(PQgetvalue(res, 0, 7), "t") == 0;
    rec->account_active = strcmp(PQgetvalue(res, 0, 8), "t") == 0;
    *touch_due = strcmp(PQgetvalue(res, 0, 9), "t") == 0;
    if (rec->permissions == NULL || rec->collections == NULL || rec->allowed_ips == NULL ||
        rec->allowed_user_agents == NULL) {
        cf_token_record_dispose(rec);
        code = cf_fail(err, CF_E_NOMEM, "out of memory");
    }
out:
    PQclear(res);
    return code;
}

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

/* Every reason the database has to refuse the token, in the order a user would
 * want to hear them; fills the principal when none applies. */
static cf_code admit(const struct cf_token_record *rec, const struct cf_jwt_claims *claims,
                     const char *client_ip, const char *user_agent, struct cf_principal *out,
                     struct cf_error *err)
{
    json_t *ips = NULL, *agents = NULL, *perms = NULL;
    cf_code code = CF_OK;

    if (strcmp(rec->account_id, claims->sub) != 0)
        return cf_fail(err, CF_E_INVALID_TOKEN, "this token is not known to the server");
    /* A one-time upload token is revoked by the upload that uses it. */
    if (rec->revoked && rec->one_time_upload)
        return cf_fail(err, CF_E_TOKEN_REVOKED,
                       "this one-time upload token has been used up by an upload (or revoked); it allows "
                       "one upload only: mint a new one for the next");
    if (rec->revoked)
        return cf_fail(err, CF_E_TOKEN_REVOKED, "this token has been revoked");
    if (rec->expires_at <= (int64_t)time(NULL))
        return cf_fail(err, CF_E_TOKEN_EXPIRED, "this token has expired");
    if (!rec->account_active)
        return cf_fail(err, CF_E_ACCOUNT_INACTIVE, "the account of this token is inactive");
    ips = json_loads(rec->allowed_ips, 0, NULL);
    agents = json_loads(rec->allowed_user_agents, 0, NULL);
    if (!ip_allowed(ips, client_ip)) {
        code = cf_fail(err, CF_E_RESTRICTED, "this token may not be used from %s", client_ip);
        goto out;
    }
    if (!user_agent_allowed(agents, user_agent)) {
        code = cf_fail(err, CF_E_RESTRICTED, "this token may not be used by this user agent");
        goto out;
    }
    perms = json_loads(rec->permissions, 0, NULL);
    cf_principal_init(out);
    snprintf(out->token_id, sizeof(out->token_id), "%s", claims->jti);
    out->admin = rec->admin;
    if (!out->admin)
        snprintf(out->account_id, sizeof(out->account_id), "%s", rec->account_id);
    if (out->admin)
        out->perms = CF_PERM_ALL;
    else if (cf_perms_from_json(perms, true, &out->perms, NULL) != CF_OK)
        out->perms = 0;
    out->collections = json_loads(rec->collections, 0, NULL);
    if (out->collections == NULL)
        out->collections = json_array();
    out->expires_at = rec->expires_at;
    out->one_time_upload = rec->one_time_upload;
    snprintf(out->client_ip, sizeof(out->client_ip), "%s", client_ip);
out:
    json_decref(ips);
    json_decref(agents);
    json_decref(perms);
    return code;
}

cf_code cf_auth_authenticate(struct cf_app *app, const char *authorization, const char *client_ip,
                             const char *user_agent, struct cf_principal *out, struct cf_error *err)
{
    struct cf_jwt_claims claims;
    struct cf_token_record rec;
    bool touch_due = false;
    const char *token;
    uint64_t epoch;
    cf_code code;

    if (authorization == NULL || strncasecmp(authorization, "Bearer ", 7) != 0)
        return cf_fail(err, CF_E_UNAUTHENTICATED, "send a token as \"Authorization: Bearer <token>\"");
    token = authorization + 7;
    while (*token == ' ')
        token++;
    if (strnlen(token, CF_JWT_TOKEN_MAX + 1) > CF_JWT_TOKEN_MAX)
        return cf_fail(err, CF_E_INVALID_TOKEN, "the token is longer than %d bytes", CF_JWT_TOKEN_MAX);

    epoch = cf_token_cache_epoch(app->token_cache);
    if (cf_token_cache_get(app->token_cache, token, &claims, &rec, &touch_due)) {
        /* Verified before; only its own expiry can have changed its verdict. */
        if (claims.exp <= (int64_t)time(NULL)) {
            cf_token_record_dispose(&rec);
            return cf_fail(err, CF_E_TOKEN_EXPIRED, "this token has expired");
        }
    } else {
        code = cf_jwt_verify(&app->keys, token, (int64_t)time(NULL), &claims, err);
        if (code == CF_OK)
            code = fetch_record(app, claims.jti, &rec, &touch_due, err);
        if (code != CF_OK)
            return code;
        cf_token_cache_put(app->token_cache, token, &claims, &rec, epoch);
    }
    code = admit(&rec, &claims, client_ip, user_agent, out, err);
    cf_token_record_dispose(&rec);
    if (code == CF_OK && touch_due) {
        const char *params[] = {claims.jti};
        /* Bookkeeping only: a failure here must not refuse the request. */
        if (cf_db_run(app->pool, &stmt_token_touch, params, 1, NULL, NULL) != CF_OK)
            cf_log(CF_LOG_WARN, "could not record the last use of token %s", claims.jti);
    }
    return code;
}
