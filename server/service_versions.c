#include "service_versions.h"

#include "audit.h"
#include "cleanup.h"
#include "common/log.h"
#include "common/rfc3339.h"
#include "common/zstream.h"
#include "limits.h"
#include "retention.h"
#include "common/buf.h"
#include "service_tokens.h"
#include "version_ref.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

/* The columns of a version, in the order version_json reads them. */
#define VERSION_COLUMNS                                                                                      \
    "v.id, v.collection_id, v.number, v.size, v.stored_size, v.sha256, v.compression,"                       \
    " floor(extract(epoch FROM v.created_at))::bigint, v.uploaded_by,"                                      \
    " floor(extract(epoch FROM v.made_at))::bigint"

/* What the limits need to know, read by commit_state_from_row. */
#define COMMIT_STATE_COLUMNS                                                                                 \
    "c.strategy, c.max_versions, c.max_version_size, c.max_collection_size, c.used_versions, c.used_size,"   \
    " a.storage_quota, a.used_size, c.retention::text"

CF_STMT(stmt_upload_collection, "SELECT c.account_id, " COMMIT_STATE_COLUMNS
                                " FROM collections c JOIN accounts a ON a.id = c.account_id WHERE c.id = $1");
CF_STMT(stmt_pending_insert,
        "INSERT INTO pending_uploads (storage_key, collection_id, instance_id) VALUES ($1, $2, $3)");
CF_STMT(stmt_pending_delete, "DELETE FROM pending_uploads WHERE storage_key = $1");
/* The commit's: no row means the clean-up gave the upload up (cleanup.c). */
CF_STMT(stmt_pending_finish, "DELETE FROM pending_uploads WHERE storage_key = $1 RETURNING storage_key");
/* The commit's locks: collection first, then account, on every path. */
CF_STMT(stmt_commit_lock, "SELECT " COMMIT_STATE_COLUMNS ", c.filename FROM collections c"
                          " JOIN accounts a ON a.id = c.account_id WHERE c.id = $1 FOR UPDATE OF c, a");
/* Rotation's candidates: the oldest versions, or (retention) all of them with their times. */
CF_STMT(stmt_oldest_versions,
        "SELECT number, size FROM versions WHERE collection_id = $1 ORDER BY number LIMIT $2");
CF_STMT(stmt_version_times, "SELECT number, size, floor(extract(epoch FROM created_at))::bigint FROM "
                            "versions WHERE collection_id = $1");
CF_STMT(stmt_commit_rotate, "DELETE FROM versions WHERE collection_id = $1 AND number = ANY ($2::bigint[])"
                            " RETURNING storage_key, number");
CF_STMT(
    stmt_commit_insert,
    "WITH n AS (UPDATE collections SET next_number = next_number + 1 WHERE id = $2 RETURNING next_number - 1"
    " AS number), v AS (INSERT INTO versions (id, collection_id, number, size, stored_size, sha256,"
    " compression, storage_key, uploaded_by, created_at, made_at) SELECT $1::uuid, $2, n.number, $3, $4, $5,"
    " 'zstd', $1::text, $6, to_timestamp($7::bigint), to_timestamp($8::bigint) FROM n"
    " RETURNING *) SELECT " VERSION_COLUMNS " FROM v");
/* One row per version (one row of NULLs when there is none), each with the
 * collection's owner and file name template. */
CF_STMT(stmt_version_list,
        "SELECT c.account_id, c.filename, " VERSION_COLUMNS " FROM collections c"
        " LEFT JOIN versions v ON v.collection_id = c.id WHERE c.id = $1 ORDER BY v.number");
CF_STMT(
    stmt_version_find,
    "SELECT c.account_id, c.filename, v.storage_key, v.sha256, v.number, v.size, v.stored_size,"
    " floor(extract(epoch FROM v.created_at))::bigint FROM collections c LEFT JOIN LATERAL"
    " (SELECT * FROM versions v WHERE v.collection_id = c.id AND ($2 IN ('latest', 'first')"
    " OR ($2 = 'number' AND v.number = $3::bigint) OR ($2 = 'uuid' AND v.id = $4::uuid))"
    " ORDER BY CASE WHEN $2 = 'first' THEN v.number ELSE -v.number END LIMIT 1) v ON true WHERE c.id = $1");
CF_STMT(stmt_version_delete,
        "DELETE FROM versions WHERE collection_id = $1 AND number = $2 RETURNING storage_key");

struct cf_upload {
    struct cf_app *app;
    struct cf_principal uploader; /* a copy without the collections list, for the audit log */
    int64_t created_at;           /* 0: now, at commit */
    bool has_made_at;             /* made_at: the client's time of making, informational */
    int64_t made_at;
    char key[37];                 /* version id = storage key */
    char collection_id[65];
    char uploaded_by[37];
    bool one_time_token;
    char expected_sha256[CF_SHA256_HEX_LEN + 1];
    int64_t room;      /* bytes the version may have, as limits stood at the start */
    cf_code room_code; /* the refusal when it has more */
    int64_t size;
    struct cf_sha256 *hash;
    struct cf_zcompressor *zc;
    struct cf_store_writer *writer;
    bool pending_row; /* a pending_uploads row exists */
    bool stored;      /* the object is committed in storage */
    bool committed;   /* the version row is committed */
};

static cf_code upload_sink(void *ctx, const void *data, size_t len, struct cf_error *err)
{
    struct cf_upload *up = ctx;

    return cf_store_write(up->writer, data, len, err);
}

static void commit_state_from_row(PGresult *res, int first, struct cf_commit_state *s)
{
    s->strategy = (enum cf_strategy)cf_strategy_parse(PQgetvalue(res, 0, first));
    s->max_versions = strtoll(PQgetvalue(res, 0, first + 1), NULL, 10);
    s->max_version_size = strtoll(PQgetvalue(res, 0, first + 2), NULL, 10);
    s->max_collection_size = strtoll(PQgetvalue(res, 0, first + 3), NULL, 10);
    s->versions = strtoll(PQgetvalue(res, 0, first + 4), NULL, 10);
    s->size = strtoll(PQgetvalue(res, 0, first + 5), NULL, 10);
    s->account_quota = strtoll(PQgetvalue(res, 0, first + 6), NULL, 10);
    s->account_size = strtoll(PQgetvalue(res, 0, first + 7), NULL, 10);
    {
        json_t *rules =
            PQgetisnull(res, 0, first + 8) ? NULL : json_loads(PQgetvalue(res, 0, first + 8), 0, NULL);
        for (int i = 0; i < CF_RETENTION_RULES; i++) {
            json_t *rule = json_object_get(rules, cf_retention_names[i]);
            s->retention[i] = rule != NULL ? (int64_t)json_integer_value(rule) : 0;
        }
        json_decref(rules);
    }
}

/* What a commit would delete to make room for one more version, created at
 * new_created_at: the oldest versions beyond max_versions
 * (delete_oldest_when_adding_new), or those no retention rule keeps. */
struct rotation_plan {
    int64_t count;
    int64_t size;
    char *numbers; /* owned: a PostgreSQL array text such as "{1,2,5}" */
};

static void rotation_plan_dispose(struct rotation_plan *plan)
{
    free(plan->numbers);
    memset(plan, 0, sizeof(*plan));
}

/* Adds version number (of size bytes) to the plan. */
static cf_code plan_add(struct rotation_plan *plan, struct cf_buf *numbers, int64_t number, int64_t size,
                        struct cf_error *err)
{
    if (cf_buf_printf(numbers, "%s%lld", plan->count > 0 ? "," : "", (long long)number) != CF_OK)
        return cf_fail(err, CF_E_NOMEM, "out of memory");
    plan->count++;
    plan->size += size;
    return CF_OK;
}

static cf_code rotation_plan(struct cf_db *db, const char *collection_id, const struct cf_commit_state *state,
                             int64_t new_created_at, struct rotation_plan *plan, struct cf_error *err)
{
    struct cf_retained_version *versions = NULL;
    struct cf_buf numbers;
    PGresult *res = NULL;
    char count[24];
    cf_code code = CF_OK;
    int rows;

    memset(plan, 0, sizeof(*plan));
    cf_buf_init(&numbers, SIZE_MAX);
    if (cf_buf_append(&numbers, "{", 1) != CF_OK)
        return cf_fail(err, CF_E_NOMEM, "out of memory");
    if (state->strategy == CF_DELETE_OLDEST && cf_rotation_count(state) > 0) {
        const char *params[] = {collection_id, count};
        snprintf(count, sizeof(count), "%lld", (long long)cf_rotation_count(state));
        code = cf_db_query(db, &stmt_oldest_versions, params, 2, &res, err);
        for (int i = 0; code == CF_OK && i < PQntuples(res); i++)
            code = plan_add(plan, &numbers, strtoll(PQgetvalue(res, i, 0), NULL, 10),
                            strtoll(PQgetvalue(res, i, 1), NULL, 10), err);
    } else if (state->strategy == CF_RETENTION) {
        const char *params[] = {collection_id};
        code = cf_db_query(db, &stmt_version_times, params, 1, &res, err);
        rows = code == CF_OK ? PQntuples(res) : 0;
        if (code == CF_OK) {
            versions = calloc((size_t)rows + 1, sizeof(*versions));
            if (versions == NULL)
                code = cf_fail(err, CF_E_NOMEM, "out of memory");
        }
        if (code == CF_OK) {
            for (int i = 0; i < rows; i++) {
                versions[i].number = strtoll(PQgetvalue(res, i, 0), NULL, 10);
                versions[i].size = strtoll(PQgetvalue(res, i, 1), NULL, 10);
                versions[i].created_at = strtoll(PQgetvalue(res, i, 2), NULL, 10);
            }
            /* The new version takes part in the selection, always as the newest (retention.h). */
            versions[rows].number = CF_RETENTION_INCOMING;
            versions[rows].created_at = new_created_at;
            cf_retention_select(state->retention, versions, (size_t)rows + 1);
        }
        for (int i = 0; code == CF_OK && i <= rows; i++) {
            if (!versions[i].keep && versions[i].number != CF_RETENTION_INCOMING)
                code = plan_add(plan, &numbers, versions[i].number, versions[i].size, err);
        }
    }
    if (code == CF_OK && plan->count > 0) {
        if (cf_buf_append(&numbers, "}", 1) != CF_OK) {
            code = cf_fail(err, CF_E_NOMEM, "out of memory");
        } else {
            /* The buffer's text becomes the plan's. */
            plan->numbers = numbers.data;
            cf_buf_init(&numbers, SIZE_MAX);
        }
    }
    if (code != CF_OK)
        rotation_plan_dispose(plan);
    free(versions);
    cf_buf_dispose(&numbers);
    PQclear(res);
    return code;
}

cf_code cf_upload_begin(struct cf_app *app, const struct cf_principal *p,
                        const struct cf_upload_request *request, struct cf_upload **out, struct cf_error *err)
{
    struct cf_upload *up = NULL;
    struct cf_commit_state state;
    struct cf_db *db = NULL;
    PGresult *res = NULL;
    struct rotation_plan plan = {0};
    int64_t created_at = request->created_at > 0 ? request->created_at : (int64_t)time(NULL);
    cf_code code;

    code = cf_db_acquire(app->pool, &db, err);
    if (code == CF_OK) {
        const char *params[] = {request->collection_id};
        code = cf_db_query(db, &stmt_upload_collection, params, 1, &res, err);
    }
    if (code != CF_OK)
        goto out;
    if (PQntuples(res) == 0 ||
        !cf_principal_sees_collection(p, PQgetvalue(res, 0, 0), request->collection_id)) {
        code = cf_fail(err, CF_E_NOT_FOUND, "no such collection");
        goto out;
    }
    if (request->declared_length == 0) {
        code = cf_fail(err, CF_E_EMPTY_BODY, "the upload is empty");
        goto out;
    }
    /* Refuse before reading a byte what the declared length already breaks,
     * counting what rotation would free as things stand now. The commit checks
     * again under locks, on the real size. */
    commit_state_from_row(res, 1, &state);
    code = rotation_plan(db, request->collection_id, &state, created_at, &plan, err);
    if (code == CF_OK)
        code = cf_limits_check(&state, request->declared_length > 0 ? request->declared_length : 0,
                               plan.count, plan.size, err);
    if (code != CF_OK)
        goto out;

    up = calloc(1, sizeof(*up));
    if (up == NULL) {
        code = cf_fail(err, CF_E_NOMEM, "out of memory");
        goto out;
    }
    up->app = app;
    cf_uuid_v4(up->key);
    snprintf(up->collection_id, sizeof(up->collection_id), "%s", request->collection_id);
    snprintf(up->uploaded_by, sizeof(up->uploaded_by), "%s", p->token_id);
    up->created_at = request->created_at;
    up->has_made_at = request->has_made_at;
    up->made_at = request->made_at;
    up->uploader = *p;
    up->uploader.collections = NULL;
    up->one_time_token = p->one_time_upload;
    if (request->expected_sha256 != NULL)
        snprintf(up->expected_sha256, sizeof(up->expected_sha256), "%s", request->expected_sha256);
    up->room = cf_limits_room(&state, plan.size, &up->room_code);
    up->hash = cf_sha256_new();
    up->zc = cf_zcompressor_new((int)app->cfg->compression_level, (int)app->cfg->compression_threads,
                                upload_sink, up);
    if (up->hash == NULL || up->zc == NULL) {
        code = cf_fail(err, CF_E_NOMEM, "out of memory");
        goto out;
    }
    /* Independent frames with a seek table: a range read decompresses one frame, not all before it. */
    cf_zcompressor_set_seekable(up->zc, CF_ZSTREAM_FRAME_SIZE);
    {
        /* Recorded before any byte is stored, so that a crash leaves a trace for the clean-up. */
        const char *params[] = {up->key, up->collection_id, app->instance_id};
        code = cf_db_query(db, &stmt_pending_insert, params, 3, NULL, err);
    }
    if (code != CF_OK)
        goto out;
    up->pending_row = true;
    code = cf_store_writer_new(app->store, up->key, &up->writer, err);
out:
    rotation_plan_dispose(&plan);
    PQclear(res);
    cf_db_release(db);
    if (code != CF_OK) {
        cf_upload_free(up);
        up = NULL;
    }
    *out = up;
    return code;
}

cf_code cf_upload_write(struct cf_upload *up, const void *data, size_t len, struct cf_error *err)
{
    up->size += (int64_t)len;
    if (up->size > up->room) {
        /* The commit would refuse it: stop storing now rather than fill the disk first. */
        const char *limit = up->room_code == CF_E_VERSION_TOO_LARGE ? "max_version_size"
                            : up->room_code == CF_E_COLLECTION_FULL ? "max_collection_size"
                                                                    : "the account's storage_quota";
        return cf_fail(err, up->room_code, "the upload passed the %lld bytes that %s left it",
                       (long long)up->room, limit);
    }
    cf_sha256_update(up->hash, data, len);
    return cf_zcompressor_push(up->zc, data, len, err);
}

/* A version in the API's shape from the VERSION_COLUMNS starting at column
 * first of row; its download name comes from the collection's template. */
static cf_code version_json(PGresult *res, int row, int first, const char *template_name, json_t **out,
                            struct cf_error *err)
{
    char name[320], created[CF_RFC3339_SIZE], made[CF_RFC3339_SIZE];
    int64_t number = strtoll(PQgetvalue(res, row, first + 2), NULL, 10);
    cf_code code = cf_version_filename(template_name, number, name, sizeof(name), err);

    if (code != CF_OK)
        return code;
    cf_rfc3339(strtoll(PQgetvalue(res, row, first + 7), NULL, 10), created);
    if (!PQgetisnull(res, row, first + 9))
        cf_rfc3339(strtoll(PQgetvalue(res, row, first + 9), NULL, 10), made);
    *out = json_pack("{s:s, s:s, s:I, s:s, s:I, s:I, s:s, s:s, s:s, s:s?, s:s?}", "id",
                     PQgetvalue(res, row, first),
                     "collection_id", PQgetvalue(res, row, first + 1), "number", (json_int_t)number,
                     "filename", name, "size", (json_int_t)strtoll(PQgetvalue(res, row, first + 3), NULL, 10),
                     "stored_size", (json_int_t)strtoll(PQgetvalue(res, row, first + 4), NULL, 10), "sha256",
                     PQgetvalue(res, row, first + 5), "compression", PQgetvalue(res, row, first + 6),
                     "created_at", created, "uploaded_by",
                     PQgetisnull(res, row, first + 8) ? NULL : PQgetvalue(res, row, first + 8), "made_at",
                     PQgetisnull(res, row, first + 9) ? NULL : made);
    return *out != NULL ? CF_OK : cf_fail(err, CF_E_NOMEM, "out of memory");
}

cf_code cf_upload_write_file(struct cf_upload *up, int fd, struct cf_error *err)
{
    enum { CHUNK = 1024 * 1024 };
    char *buf = malloc(CHUNK);
    cf_code code = CF_OK;

    if (buf == NULL)
        return cf_fail(err, CF_E_NOMEM, "out of memory");
    while (code == CF_OK) {
        ssize_t got = read(fd, buf, CHUNK);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            code = cf_fail(err, CF_E_IO, "cannot read the handed-off file: %s", strerror(errno));
        if (got <= 0)
            break;
        code = cf_upload_write(up, buf, (size_t)got, err);
    }
    free(buf);
    return code;
}

/* The transaction that makes the version exist. On success *doomed holds the
 * storage keys of rotated versions (column 0) and their numbers (column 1). */
static cf_code commit_transaction(struct cf_upload *up, struct cf_db *db, const char *sha256,
                                  int64_t stored_size, json_t **version, PGresult **doomed,
                                  struct cf_error *err)
{
    struct cf_commit_state state;
    PGresult *res = NULL;
    char size_text[24], stored_text[24], created_text[24], made_text[24], template_name[256];
    struct rotation_plan plan = {0};
    int64_t created_at;
    cf_code code = cf_db_begin(db, err);

    if (code != CF_OK)
        return code;
    {
        const char *params[] = {up->collection_id};
        code = cf_db_query(db, &stmt_commit_lock, params, 1, &res, err);
    }
    if (code != CF_OK)
        goto out;
    if (PQntuples(res) == 0) {
        code = cf_fail(err, CF_E_NOT_FOUND, "the collection was deleted during the upload");
        goto out;
    }
    commit_state_from_row(res, 0, &state);
    snprintf(template_name, sizeof(template_name), "%s", PQgetvalue(res, 0, 9));
    /* Taken under the lock, so that creation times follow version numbers. */
    created_at = up->created_at > 0 ? up->created_at : (int64_t)time(NULL);
    PQclear(res);
    res = NULL;

    code = rotation_plan(db, up->collection_id, &state, created_at, &plan, err);
    if (code == CF_OK)
        code = cf_limits_check(&state, up->size, plan.count, plan.size, err);
    if (code != CF_OK)
        goto out;
    if (plan.count > 0) {
        const char *params[] = {up->collection_id, plan.numbers};
        code = cf_db_query(db, &stmt_commit_rotate, params, 2, doomed, err);
        if (code != CF_OK)
            goto out;
    }
    snprintf(size_text, sizeof(size_text), "%lld", (long long)up->size);
    snprintf(stored_text, sizeof(stored_text), "%lld", (long long)stored_size);
    snprintf(created_text, sizeof(created_text), "%lld", (long long)created_at);
    snprintf(made_text, sizeof(made_text), "%lld", (long long)up->made_at);
    {
        const char *params[] = {up->key,         up->collection_id, size_text,
                                stored_text,     sha256,            up->uploaded_by,
                                created_text,    up->has_made_at ? made_text : NULL};
        code = cf_db_query(db, &stmt_commit_insert, params, 8, &res, err);
    }
    if (code == CF_OK)
        code = version_json(res, 0, 0, template_name, version, err);
    if (code == CF_OK) {
        const char *params[] = {up->key};
        PGresult *pending = NULL;

        code = cf_db_query(db, &stmt_pending_finish, params, 1, &pending, err);
        /* Its bytes are being removed: a version must not point at them. */
        if (code == CF_OK && PQntuples(pending) != 1)
            code = cf_fail(err, CF_E_IO,
                           "the clean-up gave the upload up for dead (no heartbeat for stale_upload_timeout)");
        PQclear(pending);
    }
    if (code == CF_OK && up->one_time_token)
        code = cf_token_consume_one_time(db, up->uploaded_by, err);
    if (code == CF_OK)
        code = cf_db_commit(db, err);
out:
    rotation_plan_dispose(&plan);
    PQclear(res);
    if (code != CF_OK) {
        cf_db_rollback(db);
        json_decref(*version);
        *version = NULL;
        PQclear(*doomed);
        *doomed = NULL;
    }
    return code;
}

cf_code cf_upload_expect_sha256(struct cf_upload *up, const char *hex, struct cf_error *err)
{
    if (!cf_sha256_hex_valid(hex))
        return cf_fail(err, CF_E_BAD_REQUEST, "X-Content-SHA256 must be 64 hexadecimal digits");
    snprintf(up->expected_sha256, sizeof(up->expected_sha256), "%s", hex);
    return CF_OK;
}

cf_code cf_upload_commit(struct cf_upload *up, json_t **out, struct cf_error *err)
{
    char sha256[CF_SHA256_HEX_LEN + 1];
    struct cf_db *db = NULL;
    PGresult *doomed = NULL;
    json_t *version = NULL, *rotated = NULL;
    int64_t stored_size;
    cf_code code;

    if (up->size == 0)
        return cf_fail(err, CF_E_EMPTY_BODY, "the upload is empty");
    code = cf_zcompressor_finish(up->zc, err);
    if (code != CF_OK)
        return code;
    stored_size = (int64_t)cf_zcompressor_out_bytes(up->zc);
    cf_sha256_final_hex(up->hash, sha256);
    if (up->expected_sha256[0] != '\0' && strcasecmp(up->expected_sha256, sha256) != 0)
        return cf_fail(err, CF_E_CHECKSUM_MISMATCH, "the body's SHA-256 is %s, not the %s the client sent",
                       sha256, up->expected_sha256);

    /* Durable before the row that points at it exists. */
    code = cf_store_commit(up->writer, err);
    up->writer = NULL;
    if (code != CF_OK)
        return code;
    up->stored = true;

    code = cf_db_acquire(up->app->pool, &db, err);
    if (code == CF_OK)
        code = commit_transaction(up, db, sha256, stored_size, &version, &doomed, err);
    if (code != CF_OK)
        goto out;
    up->committed = true;
    up->pending_row = false;
    if (up->one_time_token)
        cf_token_cache_flush(up->app->token_cache);

    rotated = json_array();
    for (int i = 0; doomed != NULL && i < PQntuples(doomed); i++)
        json_array_append_new(rotated, json_integer(strtoll(PQgetvalue(doomed, i, 1), NULL, 10)));
    if (doomed != NULL)
        cf_cleanup_remove_doomed(up->app, db, doomed, 0);
    {
        char subject[96];
        snprintf(subject, sizeof(subject), "%s/v%lld", up->collection_id,
                 (long long)json_integer_value(json_object_get(version, "number")));
        cf_audit(up->app, &up->uploader, "version.upload", subject);
    }
    *out = json_pack("{s:o, s:o}", "version", version, "rotated", rotated);
    version = NULL;
out:
    json_decref(version);
    PQclear(doomed);
    cf_db_release(db);
    return code;
}

void cf_upload_free(struct cf_upload *up)
{
    struct cf_error err;

    if (up == NULL)
        return;
    cf_error_init(&err);
    cf_store_abort(up->writer);
    if (up->stored && !up->committed && cf_store_remove(up->app->store, up->key, &err) != CF_OK)
        cf_log(CF_LOG_WARN, "upload %s: cannot remove its bytes (the clean-up pass will): %s", up->key,
               err.message);
    if (up->pending_row && !up->committed) {
        const char *params[] = {up->key};
        /* If the database is down the row stays, and the clean-up pass finds it by its stale heartbeat. */
        if (cf_db_run(up->app->pool, &stmt_pending_delete, params, 1, NULL, &err) != CF_OK)
            cf_log(CF_LOG_WARN, "upload %s: cannot forget the pending upload: %s", up->key, err.message);
    }
    cf_zcompressor_free(up->zc);
    cf_sha256_free(up->hash);
    cf_error_dispose(&err);
    free(up);
}

/* Visibility first: a collection the principal cannot see does not exist. */
static cf_code visible(const struct cf_principal *p, PGresult *res, const char *collection_id,
                       struct cf_error *err)
{
    if (PQntuples(res) == 0 || !cf_principal_sees_collection(p, PQgetvalue(res, 0, 0), collection_id))
        return cf_fail(err, CF_E_NOT_FOUND, "no such collection");
    return CF_OK;
}

cf_code cf_version_list(struct cf_app *app, const struct cf_principal *p, const char *collection_id,
                        json_t **out, struct cf_error *err)
{
    PGresult *res = NULL;
    json_t *versions = json_array();
    const char *params[] = {collection_id};
    cf_code code = cf_db_run(app->pool, &stmt_version_list, params, 1, &res, err);

    if (code == CF_OK)
        code = visible(p, res, collection_id, err);
    for (int row = 0; code == CF_OK && row < PQntuples(res) && !PQgetisnull(res, row, 2); row++) {
        json_t *version = NULL;
        code = version_json(res, row, 2, PQgetvalue(res, 0, 1), &version, err);
        if (code == CF_OK)
            json_array_append_new(versions, version);
    }
    if (code == CF_OK)
        *out = json_pack("{s:O}", "versions", versions);
    json_decref(versions);
    PQclear(res);
    return code;
}

cf_code cf_version_find(struct cf_app *app, const struct cf_principal *p, const char *collection_id,
                        const char *ref_text, struct cf_version_info *out, struct cf_error *err)
{
    static const char *const kinds[] = {"latest", "first", "number", "uuid"};
    struct cf_version_ref ref;
    char number[24];
    PGresult *res = NULL;
    cf_code code = cf_version_ref_parse(ref_text, &ref, err);

    if (code != CF_OK)
        return code;
    snprintf(number, sizeof(number), "%lld", (long long)ref.number);
    {
        const char *params[] = {collection_id, kinds[ref.kind], ref.kind == CF_REF_NUMBER ? number : NULL,
                                ref.kind == CF_REF_UUID ? ref.uuid : NULL};
        code = cf_db_run(app->pool, &stmt_version_find, params, 4, &res, err);
    }
    if (code == CF_OK)
        code = visible(p, res, collection_id, err);
    if (code == CF_OK && PQgetisnull(res, 0, 2))
        code = cf_fail(err, CF_E_NOT_FOUND, "no such version");
    if (code != CF_OK)
        goto out;
    snprintf(out->collection_id, sizeof(out->collection_id), "%s", collection_id);
    snprintf(out->storage_key, sizeof(out->storage_key), "%s", PQgetvalue(res, 0, 2));
    snprintf(out->sha256, sizeof(out->sha256), "%s", PQgetvalue(res, 0, 3));
    out->number = strtoll(PQgetvalue(res, 0, 4), NULL, 10);
    out->size = strtoll(PQgetvalue(res, 0, 5), NULL, 10);
    out->stored_size = strtoll(PQgetvalue(res, 0, 6), NULL, 10);
    out->created_at = strtoll(PQgetvalue(res, 0, 7), NULL, 10);
    code = cf_version_filename(PQgetvalue(res, 0, 1), out->number, out->filename, sizeof(out->filename), err);
out:
    PQclear(res);
    return code;
}

cf_code cf_version_delete(struct cf_app *app, const struct cf_principal *p, const char *collection_id,
                          const char *ref, struct cf_error *err)
{
    struct cf_version_info info;
    char number[24];
    struct cf_db *db = NULL;
    PGresult *doomed = NULL;
    cf_code code = cf_version_find(app, p, collection_id, ref, &info, err);

    if (code != CF_OK)
        return code;
    snprintf(number, sizeof(number), "%lld", (long long)info.number);
    code = cf_db_acquire(app->pool, &db, err);
    if (code == CF_OK) {
        const char *params[] = {collection_id, number};
        code = cf_db_query(db, &stmt_version_delete, params, 2, &doomed, err);
    }
    if (code == CF_OK && PQntuples(doomed) == 0)
        code = cf_fail(err, CF_E_NOT_FOUND, "no such version");
    if (code == CF_OK) {
        char subject[96];
        cf_cleanup_remove_doomed(app, db, doomed, 0);
        snprintf(subject, sizeof(subject), "%s/v%s", collection_id, number);
        cf_audit(app, p, "version.delete", subject);
    }
    PQclear(doomed);
    cf_db_release(db);
    return code;
}

struct cf_version_stream {
    struct cf_store_reader *reader;
    struct cf_zdecompressor *zd; /* NULL when the stored bytes are sent as they are */
    uint64_t skip;               /* original bytes still to drop before the range */
    uint64_t remaining;          /* bytes still to deliver */
};

static ssize_t stream_source(void *ctx, void *buf, size_t cap, struct cf_error *err)
{
    struct cf_version_stream *s = ctx;

    return cf_store_read(s->reader, buf, cap, err);
}

/* Reads length bytes of a stored object at offset into buf. */
static cf_code read_stored(struct cf_app *app, const char *key, uint64_t offset, unsigned char *buf,
                           size_t length, struct cf_error *err)
{
    struct cf_store_reader *reader = NULL;
    size_t done = 0;
    cf_code code = cf_store_reader_open(app->store, key, offset, &reader, err);

    while (code == CF_OK && done < length) {
        ssize_t got = cf_store_read(reader, buf + done, length - done, err);
        if (got <= 0)
            code = got < 0 ? (err != NULL ? err->code : CF_E_IO)
                           : cf_fail(err, CF_E_IO, "the object ends early");
        else
            done += (size_t)got;
    }
    cf_store_reader_free(reader);
    return code;
}

/* Where decompression must start to reach original byte offset: the frame
 * holding it, from the object's seek table (common/zstream.h). An object
 * without a table (or a table that does not fit) is read from its start. */
static cf_code seek_frame(struct cf_app *app, const struct cf_version_info *v, uint64_t offset,
                          uint64_t *compressed_start, uint64_t *original_start, struct cf_error *err)
{
    unsigned char tail[CF_ZSEEK_TRAILER];
    unsigned char *entries = NULL;
    struct cf_zframe *frames = NULL;
    uint64_t table_size;
    uint32_t nframes, frame;
    cf_code code;

    *compressed_start = *original_start = 0;
    if ((uint64_t)v->stored_size < CF_ZSEEK_TRAILER)
        return CF_OK;
    code = read_stored(app, v->storage_key, (uint64_t)v->stored_size - CF_ZSEEK_TRAILER, tail, sizeof(tail),
                       err);
    if (code != CF_OK || !cf_zseek_trailer(tail, &nframes))
        return code;
    table_size = 8 + (uint64_t)nframes * CF_ZSEEK_ENTRY + CF_ZSEEK_TRAILER;
    if (table_size > (uint64_t)v->stored_size)
        return CF_OK;
    entries = malloc((size_t)nframes * CF_ZSEEK_ENTRY);
    frames = malloc((size_t)nframes * sizeof(*frames));
    if (entries == NULL || frames == NULL)
        code = cf_fail(err, CF_E_NOMEM, "out of memory");
    if (code == CF_OK)
        code = read_stored(app, v->storage_key, (uint64_t)v->stored_size - table_size + 8, entries,
                           (size_t)nframes * CF_ZSEEK_ENTRY, err);
    if (code == CF_OK && cf_zseek_parse(entries, nframes, (uint64_t)v->stored_size, (uint64_t)v->size, frames,
                                        NULL) == CF_OK) {
        frame = cf_zseek_find(frames, nframes, offset);
        if (frame > 0) {
            *compressed_start = frames[frame - 1].compressed_end;
            *original_start = frames[frame - 1].original_end;
        }
    }
    free(entries);
    free(frames);
    return code;
}

cf_code cf_version_stream_open(struct cf_app *app, const struct cf_principal *p,
                               const struct cf_version_info *v, bool stored, uint64_t offset, uint64_t length,
                               struct cf_version_stream **out, struct cf_error *err)
{
    struct cf_version_stream *s = calloc(1, sizeof(*s));
    cf_code code;

    uint64_t start = stored ? offset : 0, original_start = 0;

    if (s == NULL)
        return cf_fail(err, CF_E_NOMEM, "out of memory");
    /* A range of the original bytes starts decompressing at the frame that holds it. */
    if (!stored && offset > 0) {
        code = seek_frame(app, v, offset, &start, &original_start, err);
        if (code != CF_OK) {
            free(s);
            return code;
        }
    }
    code = cf_store_reader_open(app->store, v->storage_key, start, &s->reader, err);
    if (code == CF_E_NOT_FOUND)
        code = cf_fail(err, CF_E_INTERNAL, "the bytes of version %lld (%s) are missing from storage",
                       (long long)v->number, v->storage_key);
    if (code != CF_OK)
        goto out;
    {
        char subject[160];
        snprintf(subject, sizeof(subject), "%s/v%lld", v->collection_id, (long long)v->number);
        cf_audit(app, p, "version.download", subject);
    }
    s->remaining = length;
    if (!stored) {
        s->skip = offset - original_start;
        s->zd = cf_zdecompressor_new(stream_source, s);
        if (s->zd == NULL)
            code = cf_fail(err, CF_E_NOMEM, "out of memory");
    }
out:
    if (code != CF_OK) {
        cf_version_stream_free(s);
        s = NULL;
    }
    *out = s;
    return code;
}

int cf_version_stream_fd(struct cf_version_stream *s)
{
    return s->zd == NULL ? cf_store_reader_fd(s->reader) : -1;
}

ssize_t cf_version_stream_read(struct cf_version_stream *s, void *buf, size_t cap, struct cf_error *err)
{
    ssize_t got;

    if (s->remaining == 0)
        return 0;
    if (cap > s->remaining)
        cap = (size_t)s->remaining;
    if (s->zd == NULL)
        return cf_store_read(s->reader, buf, cap, err);
    /* A range that starts late decompresses and drops what comes before it. */
    while (s->skip > 0) {
        size_t want = cap < s->skip ? cap : (size_t)s->skip;
        got = cf_zdecompressor_read(s->zd, buf, want, err);
        if (got <= 0)
            return got < 0 ? -1 : (cf_fail(err, CF_E_IO, "the stored version ends early"), -1);
        s->skip -= (uint64_t)got;
    }
    got = cf_zdecompressor_read(s->zd, buf, cap, err);
    if (got == 0)
        return cf_fail(err, CF_E_IO, "the stored version ends early"), -1;
    if (got > 0)
        s->remaining -= (uint64_t)got;
    return got;
}

void cf_version_stream_free(struct cf_version_stream *s)
{
    if (s == NULL)
        return;
    cf_zdecompressor_free(s->zd);
    cf_store_reader_free(s->reader);
    free(s);
}
