#include "health.h"

#include "common/log.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

CF_STMT(stmt_health_ping, "SELECT 1");

enum check_kind { CHECK_STORAGE, CHECK_DATABASE, CHECK_KINDS };

/* One run of one check, shared by the thread that runs it and the request
 * that waits for it; whoever lets go last frees it. */
struct check {
    enum check_kind kind;
    struct cf_app *app;
    pthread_mutex_t mutex;
    pthread_cond_t done_cond;
    bool done;
    int refs;
    cf_code code;
    struct cf_error err;
};

/* Whether a check of each kind is still running (possibly past its deadline). */
static atomic_bool running[CHECK_KINDS];

static void check_release(struct check *c)
{
    bool last;

    pthread_mutex_lock(&c->mutex);
    last = --c->refs == 0;
    pthread_mutex_unlock(&c->mutex);
    if (!last)
        return;
    cf_error_dispose(&c->err);
    pthread_cond_destroy(&c->done_cond);
    pthread_mutex_destroy(&c->mutex);
    free(c);
}

static void *check_main(void *arg)
{
    struct check *c = arg;
    cf_code code;

    if (c->kind == CHECK_STORAGE)
        code = cf_store_probe(c->app->store, &c->err);
    else
        code = cf_db_run(c->app->pool, &stmt_health_ping, NULL, 0, NULL, &c->err);
    atomic_store(&running[c->kind], false);
    pthread_mutex_lock(&c->mutex);
    c->code = code;
    c->done = true;
    pthread_cond_signal(&c->done_cond);
    pthread_mutex_unlock(&c->mutex);
    check_release(c);
    return NULL;
}

/* Starts a check; NULL (with message set) when one of its kind still runs or no thread could start. */
static struct check *check_start(struct cf_app *app, enum check_kind kind, char *message, size_t message_len)
{
    struct check *c;
    pthread_condattr_t attr;
    pthread_attr_t thread_attr;
    pthread_t thread;
    bool expected = false;

    if (!atomic_compare_exchange_strong(&running[kind], &expected, true)) {
        snprintf(message, message_len, "the previous check has not finished yet (hung?)");
        return NULL;
    }
    c = calloc(1, sizeof(*c));
    if (c == NULL) {
        atomic_store(&running[kind], false);
        snprintf(message, message_len, "out of memory");
        return NULL;
    }
    c->kind = kind;
    c->app = app;
    c->refs = 2;
    cf_error_init(&c->err);
    pthread_mutex_init(&c->mutex, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&c->done_cond, &attr);
    pthread_condattr_destroy(&attr);
    pthread_attr_init(&thread_attr);
    pthread_attr_setdetachstate(&thread_attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&thread, &thread_attr, check_main, c) != 0) {
        pthread_attr_destroy(&thread_attr);
        atomic_store(&running[kind], false);
        c->refs = 1;
        check_release(c);
        snprintf(message, message_len, "cannot start a thread for the check");
        return NULL;
    }
    pthread_attr_destroy(&thread_attr);
    return c;
}

/* Waits until deadline for c; true when it finished and passed. */
static bool check_wait(struct check *c, const struct timespec *deadline, char *message, size_t message_len)
{
    bool passed = false;

    if (c == NULL)
        return false;
    pthread_mutex_lock(&c->mutex);
    while (!c->done && pthread_cond_timedwait(&c->done_cond, &c->mutex, deadline) == 0)
        ;
    if (!c->done)
        snprintf(message, message_len, "no answer within the health timeout");
    else if (c->code != CF_OK)
        snprintf(message, message_len, "%.250s", c->err.message);
    else
        passed = true;
    pthread_mutex_unlock(&c->mutex);
    check_release(c);
    return passed;
}

static void deadline_in(int64_t timeout_ms, struct timespec *deadline)
{
    clock_gettime(CLOCK_MONOTONIC, deadline);
    deadline->tv_sec += timeout_ms / 1000;
    deadline->tv_nsec += (timeout_ms % 1000) * 1000000;
    if (deadline->tv_nsec >= 1000000000) {
        deadline->tv_sec++;
        deadline->tv_nsec -= 1000000000;
    }
}

bool cf_health_database(struct cf_app *app)
{
    struct timespec deadline;
    char message[256] = "";
    struct check *database;

    deadline_in(app->cfg->health_timeout_ms, &deadline);
    database = check_start(app, CHECK_DATABASE, message, sizeof(message));
    return check_wait(database, &deadline, message, sizeof(message));
}

void cf_health_check(struct cf_app *app, struct cf_health *out)
{
    struct timespec deadline;
    struct check *storage, *database;

    memset(out, 0, sizeof(*out));
    deadline_in(app->cfg->health_timeout_ms, &deadline);
    storage = check_start(app, CHECK_STORAGE, out->storage_message, sizeof(out->storage_message));
    database = check_start(app, CHECK_DATABASE, out->database_message, sizeof(out->database_message));
    out->storage = check_wait(storage, &deadline, out->storage_message, sizeof(out->storage_message));
    out->database = check_wait(database, &deadline, out->database_message, sizeof(out->database_message));
    if (!out->storage || !out->database)
        cf_log(CF_LOG_WARN, "health: storage %s%s%s, database %s%s%s", out->storage ? "ok" : "FAILED",
               out->storage ? "" : ": ", out->storage_message, out->database ? "ok" : "FAILED",
               out->database ? "" : ": ", out->database_message);
}

void cf_health_quiesce(int timeout_ms, bool *storage_busy, bool *database_busy)
{
    const struct timespec tick = {0, 10 * 1000 * 1000};

    for (int waited = 0;; waited += 10) {
        *storage_busy = atomic_load(&running[CHECK_STORAGE]);
        *database_busy = atomic_load(&running[CHECK_DATABASE]);
        if ((!*storage_busy && !*database_busy) || waited >= timeout_ms)
            return;
        nanosleep(&tick, NULL);
    }
}
