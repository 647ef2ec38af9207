#include "cleanup.h"

#include "common/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* How often this instance proves it is still writing its pending uploads. */
#define HEARTBEAT_SECONDS 10

CF_STMT(stmt_heartbeat, "UPDATE pending_uploads SET heartbeat_at = now() WHERE instance_id = $1");
CF_STMT(
    stmt_dead_uploads,
    "SELECT storage_key FROM pending_uploads WHERE heartbeat_at < now() - make_interval(secs => $1::bigint)"
    " LIMIT 1000");
/* Gives a dead upload up: its row goes (if its heartbeat is still stale) and
 * its key joins doomed_objects, in one statement and before any byte goes.
 * An upload that was slow rather than dead then either committed first (no
 * row here: nothing is removed) or finds its row gone and fails its commit
 * (service_versions.c); there is never a version whose bytes were removed.
 * The doomed row keeps the key for later passes if the removal fails. */
CF_STMT(stmt_give_up_upload,
        "WITH gone AS (DELETE FROM pending_uploads WHERE storage_key = $1"
        " AND heartbeat_at < now() - make_interval(secs => $2::bigint) RETURNING storage_key),"
        " doomed AS (INSERT INTO doomed_objects (storage_key) SELECT storage_key FROM gone"
        " ON CONFLICT DO NOTHING)"
        " SELECT storage_key FROM gone");
CF_STMT(stmt_doomed, "SELECT storage_key FROM doomed_objects ORDER BY doomed_at LIMIT 1000");
CF_STMT(stmt_forget_doomed, "DELETE FROM doomed_objects WHERE storage_key = $1");
/* A leftover in storage is owned while an upload is pending under its key. A
 * version's key does not own one: its writer finished before the version
 * existed, so what remains is stray (a CreateMultipartUpload that was retried
 * after its answer was lost leaves a second, empty upload under the key),
 * and aborting it never touches the committed object. */
CF_STMT(stmt_key_owned, "SELECT EXISTS (SELECT 1 FROM pending_uploads WHERE storage_key = $1)");

/* Removes each key's bytes with remove, then its row with forget. Returns how
 * many went; failures are counted in *failures and stay for the next pass. */
static int remove_keys(struct cf_app *app, struct cf_db *db, PGresult *res, int col,
                       cf_code (*remove)(struct cf_store *, const char *, struct cf_error *),
                       struct cf_stmt *forget, int *failures)
{
    struct cf_error err;
    int removed = 0;

    cf_error_init(&err);
    for (int row = 0; row < PQntuples(res); row++) {
        const char *key = PQgetvalue(res, row, col);
        const char *params[] = {key};

        if (remove(app->store, key, &err) != CF_OK ||
            cf_db_query(db, forget, params, 1, NULL, &err) != CF_OK) {
            cf_log(CF_LOG_WARN, "clean-up: object %s stays for the next pass: %s", key, err.message);
            (*failures)++;
            continue;
        }
        removed++;
    }
    cf_error_dispose(&err);
    return removed;
}

/* Gives up the dead uploads whose keys are in column 0 of res
 * (stmt_give_up_upload) and removes what their writers left. Returns how many
 * went; failures are counted in *failures and stay in doomed_objects. */
static int remove_dead_uploads(struct cf_app *app, struct cf_db *db, PGresult *res, const char *stale,
                               int *failures)
{
    struct cf_error err;
    int removed = 0;

    cf_error_init(&err);
    for (int row = 0; row < PQntuples(res); row++) {
        const char *key = PQgetvalue(res, row, 0);
        const char *params[] = {key, stale};
        PGresult *given_up = NULL;
        bool dead;

        if (cf_db_query(db, &stmt_give_up_upload, params, 2, &given_up, &err) != CF_OK) {
            cf_log(CF_LOG_WARN, "clean-up: upload %s stays for the next pass: %s", key, err.message);
            (*failures)++;
            continue;
        }
        /* Committed or beating again since it was listed. */
        dead = PQntuples(given_up) == 1;
        PQclear(given_up);
        if (!dead)
            continue;
        if (cf_store_remove_pending(app->store, key, &err) != CF_OK ||
            cf_db_query(db, &stmt_forget_doomed, params, 1, NULL, &err) != CF_OK) {
            cf_log(CF_LOG_WARN, "clean-up: object %s stays for the next pass: %s", key, err.message);
            (*failures)++;
            continue;
        }
        removed++;
    }
    cf_error_dispose(&err);
    return removed;
}

void cf_cleanup_remove_doomed(struct cf_app *app, struct cf_db *db, PGresult *res, int col)
{
    int failures = 0;

    remove_keys(app, db, res, col, cf_store_remove, &stmt_forget_doomed, &failures);
}

/* cf_store_owner_fn over the pass's connection: 1 owned, 0 not, -1 when the
 * database cannot say (the leftover then stays). */
static int key_owner(void *ctx, const char *key)
{
    struct cf_db *db = ctx;
    const char *params[] = {key};
    struct cf_error err;
    PGresult *res = NULL;
    int owned = -1;

    cf_error_init(&err);
    if (cf_db_query(db, &stmt_key_owned, params, 1, &res, &err) == CF_OK && PQntuples(res) == 1)
        owned = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    else
        cf_log(CF_LOG_WARN, "clean-up: cannot tell whether %s is still in use: %s", key, err.message);
    PQclear(res);
    cf_error_dispose(&err);
    return owned;
}

cf_code cf_cleanup_pass(struct cf_app *app, int64_t stale_after, struct cf_cleanup_stats *stats,
                        struct cf_error *err)
{
    struct cf_db *db = NULL;
    PGresult *res = NULL;
    char stale[24];
    cf_code code;

    stats->dead_uploads = stats->doomed = stats->stale_leftovers = stats->failures = 0;
    snprintf(stale, sizeof(stale), "%lld", (long long)stale_after);
    code = cf_db_acquire(app->pool, &db, err);
    if (code == CF_OK) {
        const char *params[] = {stale};
        code = cf_db_query(db, &stmt_dead_uploads, params, 1, &res, err);
    }
    if (code != CF_OK)
        goto out;
    stats->dead_uploads = remove_dead_uploads(app, db, res, stale, &stats->failures);
    PQclear(res);
    res = NULL;
    code = cf_db_query(db, &stmt_doomed, NULL, 0, &res, err);
    if (code != CF_OK)
        goto out;
    stats->doomed = remove_keys(app, db, res, 0, cf_store_remove, &stmt_forget_doomed, &stats->failures);
    {
        /* Leftovers no row points at any more (a row went but its bytes did
         * not), given the same time as a dead upload's heartbeat. */
        struct cf_error sweep_err;
        cf_error_init(&sweep_err);
        if (cf_store_sweep(app->store, stale_after, key_owner, db, &stats->stale_leftovers, &sweep_err) !=
            CF_OK) {
            cf_log(CF_LOG_WARN, "clean-up: cannot look for stale leftovers in storage: %s",
                   sweep_err.message);
            stats->failures++;
        }
        cf_error_dispose(&sweep_err);
    }
    if (stats->dead_uploads > 0 || stats->doomed > 0 || stats->stale_leftovers > 0 || stats->failures > 0)
        cf_log(
            CF_LOG_INFO,
            "clean-up: removed %d dead uploads, %d deleted objects and %d stale leftovers, %d left for later",
            stats->dead_uploads, stats->doomed, stats->stale_leftovers, stats->failures);
out:
    PQclear(res);
    cf_db_release(db);
    return code;
}

cf_code cf_cleanup_heartbeat(struct cf_app *app, struct cf_error *err)
{
    const char *params[] = {app->instance_id};

    return cf_db_run(app->pool, &stmt_heartbeat, params, 1, NULL, err);
}

struct cf_cleanup_worker {
    struct cf_app *app;
    pthread_t thread;
    pthread_mutex_t mutex;
    pthread_cond_t wake;
    bool stopping;
};

static void *worker_main(void *arg)
{
    struct cf_cleanup_worker *w = arg;
    time_t next_pass = time(NULL);
    bool first = true;
    struct cf_error err;

    cf_error_init(&err);
    pthread_mutex_lock(&w->mutex);
    while (!w->stopping) {
        struct timespec until;

        if (!first) {
            clock_gettime(CLOCK_MONOTONIC, &until);
            until.tv_sec += HEARTBEAT_SECONDS;
            pthread_cond_timedwait(&w->wake, &w->mutex, &until);
            if (w->stopping)
                break;
        }
        first = false;
        pthread_mutex_unlock(&w->mutex);
        if (cf_cleanup_heartbeat(w->app, &err) != CF_OK)
            cf_log(CF_LOG_WARN, "clean-up: heartbeat failed: %s", err.message);
        if (time(NULL) >= next_pass) {
            struct cf_cleanup_stats stats;
            if (cf_cleanup_pass(w->app, w->app->cfg->stale_upload_timeout, &stats, &err) != CF_OK)
                cf_log(CF_LOG_WARN, "clean-up pass failed: %s", err.message);
            next_pass = time(NULL) + w->app->cfg->cleanup_interval;
        }
        cf_error_dispose(&err);
        pthread_mutex_lock(&w->mutex);
    }
    pthread_mutex_unlock(&w->mutex);
    return NULL;
}

cf_code cf_cleanup_worker_start(struct cf_app *app, struct cf_cleanup_worker **out, struct cf_error *err)
{
    struct cf_cleanup_worker *w = calloc(1, sizeof(*w));
    pthread_condattr_t attr;

    if (w == NULL)
        return cf_fail(err, CF_E_NOMEM, "out of memory");
    w->app = app;
    pthread_mutex_init(&w->mutex, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&w->wake, &attr);
    pthread_condattr_destroy(&attr);
    if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
        pthread_cond_destroy(&w->wake);
        pthread_mutex_destroy(&w->mutex);
        free(w);
        return cf_fail(err, CF_E_INTERNAL, "cannot start the clean-up thread");
    }
    *out = w;
    return CF_OK;
}

void cf_cleanup_worker_stop(struct cf_cleanup_worker *w)
{
    if (w == NULL)
        return;
    pthread_mutex_lock(&w->mutex);
    w->stopping = true;
    pthread_cond_signal(&w->wake);
    pthread_mutex_unlock(&w->mutex);
    pthread_join(w->thread, NULL);
    pthread_cond_destroy(&w->wake);
    pthread_mutex_destroy(&w->mutex);
    free(w);
}
