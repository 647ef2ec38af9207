#include "service_metrics.h"

#include "health.h"
#include "metrics.h"
#include "metrics_format.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

CF_STMT(stmt_catalogue,
        "SELECT json_build_object("
        " 'totals', json_build_object("
        "  'declared', (SELECT coalesce(sum(max_collection_size), 0) FROM collections),"
        "  'used', (SELECT coalesce(sum(used_stored_size), 0) FROM collections),"
        "  'accounts_active', (SELECT count(*) FROM accounts WHERE active),"
        "  'tokens_active', (SELECT count(*) FROM tokens WHERE revoked_at IS NULL AND expires_at > now()),"
        "  'versions', (SELECT coalesce(sum(used_versions), 0) FROM collections),"
        "  'collections', (SELECT count(*) FROM collections),"
        "  'tags', (SELECT count(DISTINCT tag) FROM collections, unnest(tags) AS tag)),"
        " 'collections', (SELECT coalesce(json_agg(json_build_object('id', c.id, 'account_id', c.account_id,"
        "  'versions', c.used_versions, 'size', c.used_size, 'stored_size', c.used_stored_size,"
        "  'max_size', c.max_collection_size,"
        "  'last_version_age', floor(extract(epoch FROM now() - c.last_version_at))::bigint,"
        "  'overdue', (c.expected_interval IS NOT NULL AND"
        "   coalesce(c.last_version_at, c.created_at) + make_interval(secs => c.expected_interval) < now()))"
        "  ORDER BY c.id), '[]') FROM collections c),"
        " 'accounts', (SELECT coalesce(json_agg(json_build_object('id', a.id, 'quota', a.storage_quota,"
        "  'used', a.used_size,"
        /* The soonest expiry of the tokens that still work: none of a disabled account's do. */
        "  'token_expiry', (SELECT floor(extract(epoch FROM min(t.expires_at)))::bigint FROM tokens t"
        "   WHERE a.active AND t.account_id = a.id AND t.revoked_at IS NULL AND t.expires_at > now()))"
        "  ORDER BY a.id), '[]') FROM accounts a))");

/* The last snapshot, shared by every scrape until it is older than metrics_cache_seconds. */
static pthread_mutex_t cache_mutex = PTHREAD_MUTEX_INITIALIZER;
static json_t *cached;
static struct timespec cached_at;

static int64_t now_ns(clockid_t clock)
{
    struct timespec ts;

    clock_gettime(clock, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static json_t *take_snapshot(struct cf_app *app)
{
    struct cf_health health;
    struct cf_error err;
    PGresult *res = NULL;
    json_t *snapshot = NULL;

    cf_error_init(&err);
    cf_health_check(app, &health);
    if (health.database && cf_db_run(app->pool, &stmt_catalogue, NULL, 0, &res, &err) == CF_OK)
        snapshot = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
    if (snapshot == NULL)
        snapshot = json_object();
    json_object_set_new(snapshot, "database", json_boolean(json_object_get(snapshot, "totals") != NULL));
    json_object_set_new(snapshot, "storage", json_boolean(health.storage));
    json_object_set_new(snapshot, "taken_ns", json_integer(now_ns(CLOCK_REALTIME)));
    PQclear(res);
    cf_error_dispose(&err);
    return snapshot;
}

cf_code cf_catalogue_snapshot(struct cf_app *app, json_t **out, struct cf_error *err)
{
    struct timespec now;
    int64_t age_ms;

    clock_gettime(CLOCK_MONOTONIC, &now);
    /* One scrape at a time refreshes; the others wait for it rather than query too. */
    pthread_mutex_lock(&cache_mutex);
    age_ms = (now.tv_sec - cached_at.tv_sec) * 1000 + (now.tv_nsec - cached_at.tv_nsec) / 1000000;
    if (cached == NULL || age_ms >= app->cfg->metrics_cache_seconds * 1000) {
        json_decref(cached);
        cached = take_snapshot(app);
        cached_at = now;
    }
    *out = json_incref(cached);
    pthread_mutex_unlock(&cache_mutex);
    return *out != NULL ? CF_OK : cf_fail(err, CF_E_NOMEM, "out of memory");
}

static double number(const json_t *object, const char *key)
{
    return json_number_value(json_object_get(object, key));
}

/* One gauge family with one sample per element of array. */
static cf_code gauge_per_item(struct cf_buf *out, const char *name, const char *help, const json_t *array,
                              const char *field, bool per_collection)
{
    size_t i;
    json_t *item;
    cf_code code = cf_prom_header(out, name, "gauge", help);

    json_array_foreach(array, i, item)
    {
        const char *collection_labels[] = {"collection_id", json_string_value(json_object_get(item, "id")),
                                           "account_id",
                                           json_string_value(json_object_get(item, "account_id")), NULL};
        const char *account_labels[] = {"account_id", json_string_value(json_object_get(item, "id")), NULL};
        const json_t *value = json_object_get(item, field);
        if (code != CF_OK)
            break;
        if (json_is_null(value))
            continue;
        code =
            cf_prom_sample(out, name, per_collection ? collection_labels : account_labels,
                           json_is_boolean(value) ? (json_is_true(value) ? 1 : 0) : json_number_value(value));
    }
    return code;
}

static cf_code gauge(struct cf_buf *out, const char *name, const char *help, double value)
{
    cf_code code = cf_prom_header(out, name, "gauge", help);

    return code == CF_OK ? cf_prom_sample(out, name, NULL, value) : code;
}

cf_code cf_metrics_prometheus(struct cf_app *app, struct cf_buf *out, struct cf_error *err)
{
    struct cf_db_pool_stats pool;
    json_t *snap = NULL;
    const json_t *totals, *collections, *accounts;
    const char *version_labels[] = {"version", COFFER_VERSION, NULL};
    const char *db_labels[] = {"dependency", "database", NULL};
    const char *storage_labels[] = {"dependency", "storage", NULL};
    cf_code code = cf_catalogue_snapshot(app, &snap, err);

    if (code != CF_OK)
        return code;
    totals = json_object_get(snap, "totals");
    collections = json_object_get(snap, "collections");
    accounts = json_object_get(snap, "accounts");
    code = cf_prom_header(out, "coffer_build_info", "gauge", "The running cofferd's version.");
    if (code == CF_OK)
        code = cf_prom_sample(out, "coffer_build_info", version_labels, 1);
    if (code == CF_OK)
        code = cf_prom_header(out, "coffer_up", "gauge", "1 when the dependency answered its last check.");
    if (code == CF_OK)
        code = cf_prom_sample(out, "coffer_up", db_labels, json_is_true(json_object_get(snap, "database")));
    if (code == CF_OK)
        code =
            cf_prom_sample(out, "coffer_up", storage_labels, json_is_true(json_object_get(snap, "storage")));
    if (code == CF_OK && totals != NULL) {
        code = gauge(out, "coffer_storage_declared_bytes", "Sum of the collections' max_collection_size.",
                     number(totals, "declared"));
        if (code == CF_OK)
            code =
                gauge(out, "coffer_storage_used_bytes", "Bytes stored (compressed).", number(totals, "used"));
        if (code == CF_OK)
            code =
                gauge(out, "coffer_accounts_active", "Active accounts.", number(totals, "accounts_active"));
        if (code == CF_OK)
            code = gauge(out, "coffer_tokens_active", "Tokens neither expired nor revoked.",
                         number(totals, "tokens_active"));
        if (code == CF_OK)
            code = gauge(out, "coffer_versions", "Versions stored.", number(totals, "versions"));
        if (code == CF_OK)
            code = gauge(out, "coffer_collections", "Collections.", number(totals, "collections"));
        if (code == CF_OK)
            code = gauge(out, "coffer_tags", "Distinct collection tags.", number(totals, "tags"));
    }
    if (code == CF_OK && collections != NULL) {
        static const struct {
            const char *name, *field, *help;
        } families[] = {
            {"coffer_collection_versions", "versions", "Versions in the collection."},
            {"coffer_collection_size_bytes", "size", "Original bytes of the collection's versions."},
            {"coffer_collection_stored_size_bytes", "stored_size",
             "Stored (compressed) bytes of the collection."},
            {"coffer_collection_max_size_bytes", "max_size",
             "The collection's max_collection_size; 0 is unlimited."},
            {"coffer_collection_last_version_age_seconds", "last_version_age",
             "Seconds since the collection's newest version."},
            {"coffer_collection_overdue", "overdue",
             "1 when expected_interval has passed without a new version."},
        };
        for (size_t i = 0; code == CF_OK && i < sizeof(families) / sizeof(families[0]); i++)
            code =
                gauge_per_item(out, families[i].name, families[i].help, collections, families[i].field, true);
    }
    if (code == CF_OK && accounts != NULL) {
        code = gauge_per_item(out, "coffer_account_quota_bytes",
                              "The account's storage_quota; 0 is unlimited.", accounts, "quota", false);
        if (code == CF_OK)
            code = gauge_per_item(out, "coffer_account_used_bytes", "Original bytes the account stores.",
                                  accounts, "used", false);
        if (code == CF_OK)
            code = gauge_per_item(out, "coffer_account_token_expiry_timestamp_seconds",
                                  "Unix time at which the account's first live token expires.", accounts,
                                  "token_expiry", false);
    }
    cf_db_pool_get_stats(app->pool, &pool);
    if (code == CF_OK)
        code = gauge(out, "coffer_db_pool_connections", "Database connections this instance may hold.",
                     pool.size);
    if (code == CF_OK)
        code = gauge(out, "coffer_db_pool_in_use", "Database connections lent to requests now.", pool.in_use);
    if (code == CF_OK)
        code =
            gauge(out, "coffer_db_pool_waiting", "Requests waiting for a database connection.", pool.waiting);
    if (code == CF_OK)
        code = cf_metrics_write(out);
    json_decref(snap);
    if (code != CF_OK)
        return cf_fail(err, code, "the metrics do not fit in their buffer");
    return CF_OK;
}

cf_code cf_metrics_influx(struct cf_app *app, struct cf_buf *out, struct cf_error *err)
{
    json_t *snap = NULL, *item;
    const json_t *totals;
    char base_url[300];
    long long ts;
    size_t i;
    cf_code code = cf_catalogue_snapshot(app, &snap, err);

    if (code != CF_OK)
        return code;
    totals = json_object_get(snap, "totals");
    if (totals == NULL) {
        json_decref(snap);
        return cf_fail(err, CF_E_DB_UNAVAILABLE, "the database did not answer");
    }
    ts = (long long)json_integer_value(json_object_get(snap, "taken_ns"));
    if (app->cfg->base_url[0] != '\0')
        snprintf(base_url, sizeof(base_url), "%s", app->cfg->base_url);
    else
        snprintf(base_url, sizeof(base_url), "http://%s:%lld", app->cfg->listen_address,
                 (long long)app->cfg->port);

    code = cf_buf_printf(out, "backup_repository_report,base_url=");
    if (code == CF_OK)
        code = cf_influx_tag(out, base_url);
    if (code == CF_OK)
        code = cf_buf_printf(out, ",app_env=");
    if (code == CF_OK)
        code = cf_influx_tag(out, app->cfg->app_env);
    if (code == CF_OK)
        code = cf_buf_printf(
            out,
            " storage_declared_space=%.0f,storage_used_space=%.0f,users_active_accounts=%.0f,"
            "users_active_jwt_keys=%.0f,backup_versions=%.0f,backup_collections=%.0f,"
            "resources_tags=%.0f %lld\n",
            number(totals, "declared"), number(totals, "used"), number(totals, "accounts_active"),
            number(totals, "tokens_active"), number(totals, "versions"), number(totals, "collections"),
            number(totals, "tags"), ts);
    json_array_foreach(json_object_get(snap, "collections"), i, item)
    {
        const json_t *age = json_object_get(item, "last_version_age");
        if (code == CF_OK)
            code = cf_buf_printf(out, "backup_collection,collection_id=");
        if (code == CF_OK)
            code = cf_influx_tag(out, json_string_value(json_object_get(item, "id")));
        if (code == CF_OK)
            code = cf_buf_printf(out, ",account_id=");
        if (code == CF_OK)
            code = cf_influx_tag(out, json_string_value(json_object_get(item, "account_id")));
        if (code == CF_OK)
            code = cf_buf_printf(out, " versions=%.0f,size=%.0f,stored_size=%.0f,max_collection_size=%.0f,",
                                 number(item, "versions"), number(item, "size"), number(item, "stored_size"),
                                 number(item, "max_size"));
        /* A collection without a version has no age: the field is left out of its line. */
        if (code == CF_OK && !json_is_null(age))
            code = cf_buf_printf(out, "last_version_age_seconds=%.0f,", json_number_value(age));
        if (code == CF_OK)
            code = cf_buf_printf(out, "overdue=%d %lld\n",
                                 json_is_true(json_object_get(item, "overdue")) ? 1 : 0, ts);
    }
    /* An account line only for an account with a live token: a line needs a field. */
    json_array_foreach(json_object_get(snap, "accounts"), i, item)
    {
        const json_t *expiry = json_object_get(item, "token_expiry");
        if (code != CF_OK || json_is_null(expiry))
            continue;
        code = cf_buf_printf(out, "backup_account,account_id=");
        if (code == CF_OK)
            code = cf_influx_tag(out, json_string_value(json_object_get(item, "id")));
        if (code == CF_OK)
            code = cf_buf_printf(out, " token_expiry_timestamp_seconds=%.0f %lld\n",
                                 json_number_value(expiry), ts);
    }
    json_decref(snap);
    if (code != CF_OK)
        return cf_fail(err, code, "the report does not fit in its buffer");
    return CF_OK;
}
