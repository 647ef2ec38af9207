#include "service_accounts.h"

#include "audit.h"
#include "validate.h"
#include "version_ref.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ACCOUNT_JSON                                                                                         \
    "json_build_object('id', a.id, 'name', a.name, 'storage_quota', a.storage_quota,"                        \
    " 'max_collections', a.max_collections, 'active', a.active, 'created_at', coffer_time(a.created_at),"    \
    " 'usage', json_build_object('collections', (SELECT count(*) FROM collections c WHERE c.account_id = "   \
    "a.id),"                                                                                                 \
    " 'versions', a.used_versions, 'size', a.used_size, 'stored_size', a.used_stored_size))"

CF_STMT(stmt_account_insert,
        "WITH a AS (INSERT INTO accounts (id, name, storage_quota, max_collections, active)"
        " VALUES ($1, $2, $3, $4, $5) RETURNING *) SELECT " ACCOUNT_JSON " FROM a");
CF_STMT(stmt_account_list, "SELECT coalesce(json_agg(" ACCOUNT_JSON " ORDER BY a.id), '[]') FROM accounts a");
CF_STMT(stmt_account_get, "SELECT " ACCOUNT_JSON " FROM accounts a WHERE a.id = $1");
CF_STMT(stmt_account_update,
        "WITH a AS (UPDATE accounts SET name = coalesce($2, name),"
        " storage_quota = coalesce($3::bigint, storage_quota),"
        " max_collections = coalesce($4::bigint, max_collections), active = coalesce($5::boolean, active),"
        " updated_at = now() WHERE id = $1 RETURNING *) SELECT " ACCOUNT_JSON " FROM a");
CF_STMT(stmt_account_lock_usage, "SELECT used_size FROM accounts WHERE id = $1 FOR UPDATE");
CF_STMT(stmt_account_has_collections, "SELECT EXISTS (SELECT 1 FROM collections WHERE account_id = $1)");
CF_STMT(stmt_account_delete, "DELETE FROM accounts WHERE id = $1");

static const char *const account_fields[] = {"id",     "name", "storage_quota", "max_collections",
                                             "active", NULL};

struct account_input {
    const char *id;
    const char *name;
    int64_t storage_quota;
    int64_t max_collections;
    bool active;
    bool has_quota, has_max, has_active;
};

static cf_code read_account(const json_t *body, bool create, struct account_input *in, struct cf_error *err)
{
    cf_code code = cf_check_known_fields(body, account_fields, err);

    memset(in, 0, sizeof(*in));
    in->storage_quota = 0;
    in->max_collections = 0;
    in->active = true;
    /* null means "leave as it is", like an absent field. */
    in->has_quota =
        !json_is_null(json_object_get(body, "storage_quota")) && json_object_get(body, "storage_quota");
    in->has_max =
        !json_is_null(json_object_get(body, "max_collections")) && json_object_get(body, "max_collections");
    in->has_active = !json_is_null(json_object_get(body, "active")) && json_object_get(body, "active");
    code = cf_combine(err, code, cf_get_string(body, "id", 64, false, &in->id, err));
    if (in->id != NULL && strcmp(in->id, "system") == 0) {
        cf_error_field(err, "id", "\"system\" is reserved for the administrator");
        code = cf_combine(err, code, cf_fail(err, CF_E_VALIDATION, "some fields are not valid"));
    } else if (in->id != NULL && !cf_id_valid(in->id)) {
        cf_error_field(err, "id", "must match ^[A-Za-z0-9][A-Za-z0-9-]{0,63}$");
        code = cf_combine(err, code, cf_fail(err, CF_E_VALIDATION, "some fields are not valid"));
    }
    if (!create && in->id != NULL) {
        cf_error_field(err, "id", "cannot be changed");
        code = cf_combine(err, code, cf_fail(err, CF_E_VALIDATION, "some fields are not valid"));
    }
    code = cf_combine(err, code, cf_get_string(body, "name", 200, create, &in->name, err));
    if (in->name != NULL && in->name[0] == '\0') {
        cf_error_field(err, "name", "must not be empty");
        code = cf_combine(err, code, cf_fail(err, CF_E_VALIDATION, "some fields are not valid"));
    }
    code = cf_combine(err, code, cf_get_size(body, "storage_quota", false, &in->storage_quota, err));
    code = cf_combine(err, code,
                      cf_get_count(body, "max_collections", 1000000, false, &in->max_collections, err));
    code = cf_combine(err, code, cf_get_bool(body, "active", &in->active, err));
    return code;
}

cf_code cf_account_create(struct cf_app *app, const struct cf_principal *p, const json_t *body, json_t **out,
                          struct cf_error *err)
{
    struct account_input in;
    char generated[37], quota[24], max[24];
    PGresult *res = NULL;
    cf_code code = read_account(body, true, &in, err);

    if (code != CF_OK)
        return code;
    if (in.id == NULL) {
        cf_uuid_v4(generated);
        in.id = generated;
    }
    snprintf(quota, sizeof(quota), "%lld", (long long)in.storage_quota);
    snprintf(max, sizeof(max), "%lld", (long long)in.max_collections);
    const char *params[] = {in.id, in.name, quota, max, in.active ? "true" : "false"};
    code = cf_db_run(app->pool, &stmt_account_insert, params, 5, &res, err);
    if (code == CF_E_CONFLICT)
        code = cf_fail(err, CF_E_ACCOUNT_EXISTS, "an account with id \"%s\" already exists", in.id);
    if (code == CF_OK)
        code = cf_db_json_cell(res, "account", out, err);
    if (code == CF_OK)
        cf_audit(app, p, "account.create", in.id);
    PQclear(res);
    return code;
}

cf_code cf_account_list(struct cf_app *app, json_t **out, struct cf_error *err)
{
    PGresult *res = NULL;
    cf_code code = cf_db_run(app->pool, &stmt_account_list, NULL, 0, &res, err);

    if (code == CF_OK)
        code = cf_db_json_cell(res, "account", out, err);
    PQclear(res);
    return code;
}

cf_code cf_account_get(struct cf_app *app, const char *id, json_t **out, struct cf_error *err)
{
    PGresult *res = NULL;
    const char *params[] = {id};
    cf_code code = cf_db_run(app->pool, &stmt_account_get, params, 1, &res, err);

    if (code == CF_OK)
        code = cf_db_json_cell(res, "account", out, err);
    PQclear(res);
    return code;
}

cf_code cf_account_update(struct cf_app *app, const struct cf_principal *p, const char *id,
                          const json_t *body, json_t **out, struct cf_error *err)
{
    struct account_input in;
    char quota[24], max[24];
    struct cf_db *db = NULL;
    PGresult *res = NULL;
    cf_code code = read_account(body, false, &in, err);

    if (code != CF_OK)
        return code;
    snprintf(quota, sizeof(quota), "%lld", (long long)in.storage_quota);
    snprintf(max, sizeof(max), "%lld", (long long)in.max_collections);
    code = cf_db_acquire(app->pool, &db, err);
    if (code == CF_OK)
        code = cf_db_begin(db, err);
    if (code != CF_OK)
        goto out;
    {
        /* Locked so that no upload can commit between the check and the update. */
        const char *params[] = {id};
        code = cf_db_query(db, &stmt_account_lock_usage, params, 1, &res, err);
    }
    if (code != CF_OK)
        goto out;
    if (PQntuples(res) == 0) {
        code = cf_fail(err, CF_E_NOT_FOUND, "no such account");
        goto out;
    }
    if (in.has_quota && in.storage_quota != 0 &&
        in.storage_quota < strtoll(PQgetvalue(res, 0, 0), NULL, 10)) {
        cf_error_field(err, "storage_quota", "is below the %s bytes the account already stores",
                       PQgetvalue(res, 0, 0));
        code = cf_fail(err, CF_E_LIMIT_BELOW_USAGE, "storage_quota would be below current usage");
        goto out;
    }
    PQclear(res);
    res = NULL;
    {
        const char *params[] = {id, in.name, in.has_quota ? quota : NULL, in.has_max ? max : NULL,
                                in.has_active ? (in.active ? "true" : "false") : NULL};
        code = cf_db_query(db, &stmt_account_update, params, 5, &res, err);
    }
    if (code == CF_OK)
        code = cf_db_json_cell(res, "account", out, err);
    if (code == CF_OK)
        code = cf_db_commit(db, err);
    /* An account made inactive refuses its tokens from the next request on. */
    if (code == CF_OK) {
        cf_token_cache_flush(app->token_cache);
        cf_audit(app, p, "account.update", id);
    }
out:
    PQclear(res);
    cf_db_release(db);
    return code;
}

cf_code cf_account_delete(struct cf_app *app, const struct cf_principal *p, const char *id,
                          struct cf_error *err)
{
    struct cf_db *db = NULL;
    PGresult *res = NULL;
    const char *params[] = {id};
    cf_code code = cf_db_acquire(app->pool, &db, err);

    if (code == CF_OK)
        code = cf_db_query(db, &stmt_account_has_collections, params, 1, &res, err);
    if (code != CF_OK)
        goto out;
    if (strcmp(PQgetvalue(res, 0, 0), "t") == 0) {
        code = cf_fail(err, CF_E_ACCOUNT_NOT_EMPTY, "delete the account's collections first");
        goto out;
    }
    PQclear(res);
    res = NULL;
    code = cf_db_query(db, &stmt_account_delete, params, 1, &res, err);
    if (code == CF_OK && strcmp(PQcmdTuples(res), "0") == 0)
        code = cf_fail(err, CF_E_NOT_FOUND, "no such account");
    if (code == CF_OK) {
        cf_token_cache_flush(app->token_cache);
        cf_audit(app, p, "account.delete", id);
    }
    /* A collection created between the check and the delete makes the foreign key refuse. */
    if (code == CF_E_INTERNAL && strcmp(cf_db_last_sqlstate(db), "23503") == 0)
        code = cf_fail(err, CF_E_ACCOUNT_NOT_EMPTY, "delete the account's collections first");
out:
    PQclear(res);
    cf_db_release(db);
    return code;
}
