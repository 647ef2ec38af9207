#include "service_collections.h"

#include "audit.h"
#include "cleanup.h"
#include "collection_settings.h"
#include "common/buf.h"
#include "validate.h"
#include "version_ref.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COLLECTION_JSON                                                                                      \
    "json_build_object('id', c.id, 'account_id', c.account_id, 'description', c.description,"                \
    " 'filename', c.filename, 'tags', c.tags, 'max_versions', c.max_versions,"                               \
    " 'max_version_size', c.max_version_size, 'max_collection_size', c.max_collection_size,"                 \
    " 'strategy', c.strategy, 'retention', c.retention, 'expected_interval', c.expected_interval,"           \
    " 'created_at', coffer_time(c.created_at), 'updated_at', coffer_time(c.updated_at),"                     \
    " 'usage', json_build_object('versions', c.used_versions, 'size', c.used_size,"                          \
    " 'stored_size', c.used_stored_size, 'last_version_at', coffer_time(c.last_version_at)))"

/* The account's room for more collections: the account row is locked first,
 * and only then are its collections counted, in a statement of its own. In
 * one statement the counting subqueries would read the snapshot taken before
 * the lock was granted, and miss a collection created meanwhile. */
CF_STMT(stmt_account_lock, "SELECT storage_quota, max_collections FROM accounts WHERE id = $1 FOR UPDATE");
CF_STMT(stmt_account_collections,
        "SELECT count(*), coalesce(sum(max_collection_size) FILTER (WHERE id <> $2), 0) FROM collections"
        " WHERE account_id = $1");
CF_STMT(
    stmt_collection_insert,
    "WITH c AS (INSERT INTO collections (id, account_id, description, filename, tags, max_versions,"
    " max_version_size, max_collection_size, strategy, retention, expected_interval)"
    " VALUES ($1, $2, $3, $4, ARRAY(SELECT json_array_elements_text($5::json)), $6, $7, $8, $9, $10::jsonb,"
    " $11::bigint) RETURNING *) SELECT " COLLECTION_JSON " FROM c");
CF_STMT(stmt_collection_get, "SELECT c.account_id, " COLLECTION_JSON " FROM collections c WHERE c.id = $1");
/* The stored settings and usage of a collection, locked for an edit or a delete. */
CF_STMT(stmt_collection_lock,
        "SELECT c.account_id, c.description, c.filename, array_to_json(c.tags), c.max_versions,"
        " c.max_version_size, c.max_collection_size, c.strategy, c.retention::text,"
        " coalesce(c.expected_interval, 0), c.used_versions, c.used_size"
        " FROM collections c WHERE c.id = $1 FOR UPDATE");
/* Read after stmt_collection_lock, for the same reason as stmt_account_collections. */
CF_STMT(stmt_largest_version, "SELECT coalesce(max(size), 0) FROM versions WHERE collection_id = $1");
CF_STMT(stmt_collection_update,
        "WITH c AS (UPDATE collections SET description = $2, filename = $3,"
        " tags = ARRAY(SELECT json_array_elements_text($4::json)), max_versions = $5, max_version_size = $6,"
        " max_collection_size = $7, strategy = $8, retention = $9::jsonb, expected_interval = $10::bigint,"
        " updated_at = now() WHERE id = $1 RETURNING *) SELECT " COLLECTION_JSON " FROM c");
CF_STMT(stmt_collection_list, "SELECT count(*) OVER (), " COLLECTION_JSON " FROM collections c"
                              " WHERE ($1::text IS NULL OR c.account_id = $1)"
                              " AND ($2::json IS NULL OR c.id IN (SELECT json_array_elements_text($2::json)))"
                              " AND ($3::text IS NULL OR c.id ILIKE $3 OR c.description ILIKE $3)"
                              " ORDER BY c.id LIMIT $4 OFFSET $5");
CF_STMT(stmt_collection_count,
        "SELECT count(*) FROM collections c WHERE ($1::text IS NULL OR c.account_id = $1)"
        " AND ($2::json IS NULL OR c.id IN (SELECT json_array_elements_text($2::json)))"
        " AND ($3::text IS NULL OR c.id ILIKE $3 OR c.description ILIKE $3)");
CF_STMT(stmt_collection_delete_versions,
        "DELETE FROM versions WHERE collection_id = $1 RETURNING storage_key");
CF_STMT(stmt_collection_delete, "DELETE FROM collections WHERE id = $1");

static void int_text(char out[24], int64_t value)
{
    snprintf(out, 24, "%lld", (long long)value);
}

/* The settings as the text parameters of the insert and update statements,
 * $3 (description) to $11 (expected_interval). */
struct settings_params {
    char *tags;
    char *retention;
    char max_versions[24], max_version_size[24], max_collection_size[24], expected_interval[24];
    const char *values[9];
};

static void settings_params_init(struct settings_params *sp, const struct cf_collection_settings *s,
                                 const char *default_filename)
{
    json_t *empty = json_array();
    json_t *retention = cf_collection_retention_json(s);

    sp->tags = json_dumps(s->tags != NULL ? s->tags : empty, JSON_COMPACT);
    sp->retention = retention != NULL ? json_dumps(retention, JSON_COMPACT) : NULL;
    json_decref(empty);
    json_decref(retention);
    int_text(sp->max_versions, s->max_versions);
    int_text(sp->max_version_size, s->max_version_size);
    int_text(sp->max_collection_size, s->max_collection_size);
    int_text(sp->expected_interval, s->expected_interval);
    sp->values[0] = s->description != NULL ? s->description : "";
    sp->values[1] = s->filename != NULL ? s->filename : default_filename;
    sp->values[2] = sp->tags;
    sp->values[3] = sp->max_versions;
    sp->values[4] = sp->max_version_size;
    sp->values[5] = sp->max_collection_size;
    sp->values[6] = cf_strategy_name(s->strategy);
    sp->values[7] = sp->retention;
    sp->values[8] = s->expected_interval > 0 ? sp->expected_interval : NULL;
}

static void settings_params_dispose(struct settings_params *sp)
{
    free(sp->tags);
    free(sp->retention);
}

struct account_room {
    int64_t quota, max_collections;
    int64_t collections; /* how many the account has */
    int64_t declared;    /* sum of max_collection_size, the collection being edited left out */
};

/* Locks the account and reads its room (see stmt_account_lock). CF_E_NOT_FOUND
 * when there is no such account. */
static cf_code account_room(struct cf_db *db, const char *account_id, const char *collection_id,
                            struct account_room *room, struct cf_error *err)
{
    PGresult *res = NULL;
    const char *lock_params[] = {account_id};
    const char *count_params[] = {account_id, collection_id};
    cf_code code = cf_db_query(db, &stmt_account_lock, lock_params, 1, &res, err);

    if (code == CF_OK && PQntuples(res) == 0)
        code = cf_fail(err, CF_E_NOT_FOUND, "no such account");
    if (code == CF_OK) {
        room->quota = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        room->max_collections = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
        PQclear(res);
        res = NULL;
        code = cf_db_query(db, &stmt_account_collections, count_params, 2, &res, err);
    }
    if (code == CF_OK) {
        room->collections = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        room->declared = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
    }
    PQclear(res);
    return code;
}

/* Whether max_collection_size fits into the account's quota beside what its
 * other collections declare. */
static cf_code check_quota_room(const struct account_room *room, int64_t max_collection_size,
                                struct cf_error *err)
{
    int64_t quota = room->quota;
    int64_t declared = room->declared;

    if (quota > 0 && max_collection_size > 0 && declared + max_collection_size > quota)
        return cf_fail(err, CF_E_ACCOUNT_QUOTA_EXCEEDED,
                       "max_collection_size does not fit: the account's quota is %lld bytes and its other "
                       "collections declare %lld",
                       (long long)quota, (long long)declared);
    return CF_OK;
}

cf_code cf_collection_create(struct cf_app *app, const struct cf_principal *p, const json_t *body,
                             json_t **out, struct cf_error *err)
{
    struct cf_collection_settings s;
    struct settings_params sp = {0};
    struct account_room room;
    char generated[37];
    const char *account_id;
    struct cf_db *db = NULL;
    PGresult *res = NULL;
    cf_code code = cf_collection_settings_parse(body, true, &s, err);

    code = cf_combine(err, code, cf_collection_settings_check(&s, err));
    if (code != CF_OK)
        return code;
    if (p->admin) {
        if (s.account_id == NULL) {
            cf_error_field(err, "account_id", "is required for an administrator token");
            return cf_fail(err, CF_E_VALIDATION, "some fields are not valid");
        }
        account_id = s.account_id;
    } else {
        if (s.account_id != NULL && strcmp(s.account_id, p->account_id) != 0)
            return cf_fail(err, CF_E_PERMISSION_DENIED,
                           "a token may create collections in its own account only");
        account_id = p->account_id;
    }
    if (s.id == NULL) {
        cf_uuid_v4(generated);
        s.id = generated;
    }
    if (cf_principal_scoped(p) && !cf_principal_sees_collection(p, account_id, s.id))
        return cf_fail(err, CF_E_PERMISSION_DENIED,
                       "this token is limited to certain collections and may create only those");

    code = cf_db_acquire(app->pool, &db, err);
    if (code == CF_OK)
        code = cf_db_begin(db, err);
    if (code != CF_OK)
        goto out;
    code = account_room(db, account_id, s.id, &room, err);
    if (code == CF_E_NOT_FOUND) {
        cf_error_field(err, "account_id", "no such account");
        code = cf_fail(err, CF_E_VALIDATION, "some fields are not valid");
    }
    if (code != CF_OK)
        goto out;
    if (room.max_collections > 0 && room.collections >= room.max_collections) {
        code =
            cf_fail(err, CF_E_TOO_MANY_COLLECTIONS, "the account already has its maximum of %lld collections",
                    (long long)room.max_collections);
        goto out;
    }
    code = check_quota_room(&room, s.max_collection_size, err);
    if (code != CF_OK)
        goto out;

    settings_params_init(&sp, &s, s.id);
    {
        const char *params[11] = {s.id, account_id};
        memcpy(&params[2], sp.values, sizeof(sp.values));
        code = cf_db_query(db, &stmt_collection_insert, params, 11, &res, err);
    }
    if (code == CF_E_CONFLICT)
        code = cf_fail(err, CF_E_COLLECTION_EXISTS, "a collection with id \"%s\" already exists", s.id);
    if (code == CF_OK)
        code = cf_db_json_cell(res, "collection", out, err);
    if (code == CF_OK)
        code = cf_db_commit(db, err);
    if (code == CF_OK)
        cf_audit(app, p, "collection.create", s.id);
    if (code != CF_OK) {
        json_decref(*out);
        *out = NULL;
    }
out:
    settings_params_dispose(&sp);
    PQclear(res);
    cf_db_release(db);
    return code;
}

/* q as an ILIKE pattern: * becomes %, other wildcards are escaped, and a q
 * without * matches as a substring. NULL for an empty q. */
static char *like_pattern(const char *q)
{
    struct cf_buf pattern;
    bool wildcard = strchr(q, '*') != NULL;

    if (q[0] == '\0')
        return NULL;
    cf_buf_init(&pattern, 4 * strlen(q) + 8);
    if (!wildcard)
        cf_buf_append(&pattern, "%", 1);
    for (const char *c = q; *c != '\0'; c++) {
        if (*c == '*')
            cf_buf_append(&pattern, "%", 1);
        else if (*c == '%' || *c == '_' || *c == '\\')
            cf_buf_printf(&pattern, "\\%c", *c);
        else
            cf_buf_append(&pattern, c, 1);
    }
    if (!wildcard)
        cf_buf_append(&pattern, "%", 1);
    return pattern.data;
}

cf_code cf_collection_list(struct cf_app *app, const struct cf_principal *p,
                           const struct cf_collection_query *query, json_t **out, struct cf_error *err)
{
    char *pattern = query->q != NULL ? like_pattern(query->q) : NULL;
    char *scope = cf_principal_scoped(p) ? json_dumps(p->collections, JSON_COMPACT) : NULL;
    char limit[24], offset[24];
    const char *account = p->admin ? query->account_id : p->account_id;
    PGresult *res = NULL;
    json_t *items = json_array();
    int64_t total = 0;
    cf_code code;

    int_text(limit, query->per_page);
    int_text(offset, (query->page - 1) * query->per_page);
    {
        const char *params[] = {account, scope, pattern, limit, offset};
        code = cf_db_run(app->pool, &stmt_collection_list, params, 5, &res, err);
    }
    if (code != CF_OK)
        goto out;
    for (int row = 0; row < PQntuples(res); row++) {
        total = strtoll(PQgetvalue(res, row, 0), NULL, 10);
        json_array_append_new(items, json_loads(PQgetvalue(res, row, 1), 0, NULL));
    }
    if (PQntuples(res) == 0 && query->page > 1) {
        /* Past the last page the window function has no row to report the total on. */
        const char *params[] = {account, scope, pattern};
        PQclear(res);
        res = NULL;
        code = cf_db_run(app->pool, &stmt_collection_count, params, 3, &res, err);
        if (code != CF_OK)
            goto out;
        total = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    }
    *out = json_pack("{s:O, s:{s:I, s:I, s:I}}", "collections", items, "pagination", "page",
                     (json_int_t)query->page, "per_page", (json_int_t)query->per_page, "total",
                     (json_int_t)total);
out:
    json_decref(items);
    PQclear(res);
    free(pattern);
    free(scope);
    return code;
}

cf_code cf_collection_get(struct cf_app *app, const struct cf_principal *p, const char *id, json_t **out,
                          struct cf_error *err)
{
    PGresult *res = NULL;
    const char *params[] = {id};
    cf_code code = cf_db_run(app->pool, &stmt_collection_get, params, 1, &res, err);

    if (code == CF_OK && (PQntuples(res) == 0 || !cf_principal_sees_collection(p, PQgetvalue(res, 0, 0), id)))
        code = cf_fail(err, CF_E_NOT_FOUND, "no such collection");
    if (code == CF_OK)
        *out = json_loads(PQgetvalue(res, 0, 1), 0, NULL);
    PQclear(res);
    return code;
}

/* Leases a connection, opens a transaction and locks the collection's row
 * (stmt_collection_lock) for an edit or a delete. CF_E_NOT_FOUND for a
 * collection the principal cannot see. The caller releases *db and clears
 * *row whatever the outcome. */
static cf_code lock_visible(struct cf_app *app, const struct cf_principal *p, const char *id,
                            struct cf_db **db, PGresult **row, struct cf_error *err)
{
    const char *params[] = {id};
    cf_code code = cf_db_acquire(app->pool, db, err);

    if (code == CF_OK)
        code = cf_db_begin(*db, err);
    if (code == CF_OK)
        code = cf_db_query(*db, &stmt_collection_lock, params, 1, row, err);
    if (code == CF_OK &&
        (PQntuples(*row) == 0 || !cf_principal_sees_collection(p, PQgetvalue(*row, 0, 0), id)))
        code = cf_fail(err, CF_E_NOT_FOUND, "no such collection");
    return code;
}

/* Reads a stmt_collection_lock row into settings that borrow from res and *tags. */
static void settings_from_row(PGresult *res, const char *id, json_t **tags, struct cf_collection_settings *s)
{
    json_t *retention = PQgetisnull(res, 0, 8) ? NULL : json_loads(PQgetvalue(res, 0, 8), 0, NULL);

    memset(s, 0, sizeof(*s));
    s->has_id = s->has_account_id = s->has_description = s->has_filename = s->has_tags = true;
    s->has_max_versions = s->has_max_version_size = s->has_max_collection_size = s->has_strategy = true;
    s->has_retention = s->has_expected_interval = true;
    s->id = id;
    s->account_id = PQgetvalue(res, 0, 0);
    s->description = PQgetvalue(res, 0, 1);
    s->filename = PQgetvalue(res, 0, 2);
    *tags = json_loads(PQgetvalue(res, 0, 3), 0, NULL);
    s->tags = *tags;
    s->max_versions = strtoll(PQgetvalue(res, 0, 4), NULL, 10);
    s->max_version_size = strtoll(PQgetvalue(res, 0, 5), NULL, 10);
    s->max_collection_size = strtoll(PQgetvalue(res, 0, 6), NULL, 10);
    s->strategy = (enum cf_strategy)cf_strategy_parse(PQgetvalue(res, 0, 7));
    for (int i = 0; i < CF_RETENTION_RULES; i++) {
        json_t *rule = json_object_get(retention, cf_retention_names[i]);
        s->retention[i] = rule != NULL ? (int64_t)json_integer_value(rule) : -1;
    }
    s->expected_interval = strtoll(PQgetvalue(res, 0, 9), NULL, 10);
    json_decref(retention);
}

static cf_code check_usage(struct cf_db *db, const struct cf_collection_settings *s, PGresult *row,
                           struct cf_error *err)
{
    int64_t versions = strtoll(PQgetvalue(row, 0, 10), NULL, 10);
    int64_t size = strtoll(PQgetvalue(row, 0, 11), NULL, 10);
    int64_t largest;
    PGresult *res = NULL;
    const char *params[] = {s->id};
    cf_code code = cf_db_query(db, &stmt_largest_version, params, 1, &res, err);

    if (code != CF_OK)
        return code;
    largest = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    if (s->max_versions > 0 && s->max_versions < versions) {
        cf_error_field(err, "max_versions", "is below the %lld versions the collection holds",
                       (long long)versions);
        code = cf_fail(err, CF_E_LIMIT_BELOW_USAGE, "a limit would be below current usage");
    }
    if (s->max_collection_size > 0 && s->max_collection_size < size) {
        cf_error_field(err, "max_collection_size", "is below the %lld bytes the collection holds",
                       (long long)size);
        code = cf_fail(err, CF_E_LIMIT_BELOW_USAGE, "a limit would be below current usage");
    }
    if (s->max_version_size > 0 && s->max_version_size < largest) {
        cf_error_field(err, "max_version_size", "is below the largest version held (%lld bytes)",
                       (long long)largest);
        code = cf_fail(err, CF_E_LIMIT_BELOW_USAGE, "a limit would be below current usage");
    }
    return code;
}

cf_code cf_collection_update(struct cf_app *app, const struct cf_principal *p, const char *id,
                             const json_t *body, json_t **out, struct cf_error *err)
{
    struct cf_collection_settings next, current;
    struct settings_params sp = {0};
    json_t *current_tags = NULL;
    struct cf_db *db = NULL;
    PGresult *row = NULL, *res = NULL;
    cf_code code = cf_collection_settings_parse(body, false, &next, err);

    if (code != CF_OK)
        return code;
    code = lock_visible(app, p, id, &db, &row, err);
    if (code != CF_OK)
        goto out;
    settings_from_row(row, id, &current_tags, &current);
    if ((next.id != NULL && strcmp(next.id, id) != 0) ||
        (next.account_id != NULL && strcmp(next.account_id, current.account_id) != 0)) {
        cf_error_field(err, next.id != NULL && strcmp(next.id, id) != 0 ? "id" : "account_id",
                       "cannot be changed");
        code = cf_fail(err, CF_E_VALIDATION, "some fields are not valid");
        goto out;
    }
    /* A new strategy drops the old retention rules unless new ones come with it. */
    if (next.has_strategy && !next.has_retention && next.strategy != CF_RETENTION)
        next.has_retention = true;
    cf_collection_settings_merge(&next, &current);
    code = cf_collection_settings_check(&next, err);
    if (code == CF_OK)
        code = check_usage(db, &next, row, err);
    if (code != CF_OK)
        goto out;
    if (next.max_collection_size != current.max_collection_size) {
        struct account_room room;
        code = account_room(db, current.account_id, id, &room, err);
        if (code == CF_OK)
            code = check_quota_room(&room, next.max_collection_size, err);
        if (code != CF_OK)
            goto out;
    }
    settings_params_init(&sp, &next, id);
    {
        const char *update[10] = {id};
        memcpy(&update[1], sp.values, sizeof(sp.values));
        code = cf_db_query(db, &stmt_collection_update, update, 10, &res, err);
    }
    if (code == CF_OK)
        code = cf_db_json_cell(res, "collection", out, err);
    if (code == CF_OK)
        code = cf_db_commit(db, err);
    if (code == CF_OK)
        cf_audit(app, p, "collection.update", id);
out:
    settings_params_dispose(&sp);
    json_decref(current_tags);
    PQclear(row);
    PQclear(res);
    cf_db_release(db);
    return code;
}

cf_code cf_collection_delete(struct cf_app *app, const struct cf_principal *p, const char *id, bool force,
                             struct cf_error *err)
{
    struct cf_db *db = NULL;
    PGresult *row = NULL, *doomed = NULL;
    const char *params[] = {id};
    cf_code code = lock_visible(app, p, id, &db, &row, err);

    if (code != CF_OK)
        goto out;
    if (strcmp(PQgetvalue(row, 0, 10), "0") != 0 && !force) {
        code = cf_fail(err, CF_E_COLLECTION_NOT_EMPTY,
                       "the collection holds %s versions: delete them first, or delete it with force=true",
                       PQgetvalue(row, 0, 10));
        goto out;
    }
    code = cf_db_query(db, &stmt_collection_delete_versions, params, 1, &doomed, err);
    if (code == CF_OK)
        code = cf_db_query(db, &stmt_collection_delete, params, 1, NULL, err);
    if (code == CF_OK)
        code = cf_db_commit(db, err);
    if (code == CF_OK) {
        cf_cleanup_remove_doomed(app, db, doomed, 0);
        cf_audit(app, p, force ? "collection.delete_forced" : "collection.delete", id);
    }
out:
    PQclear(row);
    PQclear(doomed);
    cf_db_release(db);
    return code;
}
