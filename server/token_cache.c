#include "token_cache.h"

#include "common/log.h"

#include <openssl/crypto.h>

#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BUCKETS 4096

struct entry {
    struct entry *next;
    char *token; /* owned: the whole token text */
    size_t token_len;
    struct cf_jwt_claims claims;
    struct cf_token_record rec;
    time_t fetched_at;
    time_t touched_at; /* when this instance last wrote last_used_at */
};

struct cf_token_cache {
    struct cf_db_pool *pool;
    pthread_mutex_t mutex;
    struct entry *buckets[BUCKETS];
    size_t count;
    uint64_t epoch;   /* bumped by every invalidation */
    bool listening;   /* the LISTEN connection is up: entries may be served */
    int wake_pipe[2]; /* tells the listener to stop */
    pthread_t thread;
};

void cf_token_record_dispose(struct cf_token_record *rec)
{
    free(rec->permissions);
    free(rec->collections);
    free(rec->allowed_ips);
    free(rec->allowed_user_agents);
    memset(rec, 0, sizeof(*rec));
}

cf_code cf_token_record_copy(struct cf_token_record *dst, const struct cf_token_record *src)
{
    *dst = *src;
    dst->permissions = strdup(src->permissions);
    dst->collections = strdup(src->collections);
    dst->allowed_ips = strdup(src->allowed_ips);
    dst->allowed_user_agents = strdup(src->allowed_user_agents);
    if (dst->permissions == NULL || dst->collections == NULL || dst->allowed_ips == NULL ||
        dst->allowed_user_agents == NULL) {
        cf_token_record_dispose(dst);
        return CF_E_NOMEM;
    }
    return CF_OK;
}

static unsigned bucket_of(const char *token)
{
    unsigned h = 2166136261u;

    for (const unsigned char *p = (const unsigned char *)token; *p != '\0'; p++)
        h = (h ^ *p) * 16777619u;
    return h % BUCKETS;
}

static void entry_free(struct entry *e)
{
    cf_token_record_dispose(&e->rec);
    free(e->token);
    free(e);
}

/* Whether e is for token; constant time in the token's contents. */
static bool entry_is(const struct entry *e, const char *token, size_t len)
{
    return e->token_len == len && CRYPTO_memcmp(e->token, token, len) == 0;
}

/* Caller holds the mutex. */
static void clear_locked(struct cf_token_cache *cache)
{
    for (size_t i = 0; i < BUCKETS; i++) {
        struct entry *e = cache->buckets[i];
        while (e != NULL) {
            struct entry *next = e->next;
            entry_free(e);
            e = next;
        }
        cache->buckets[i] = NULL;
    }
    cache->count = 0;
}

static void invalidate(struct cf_token_cache *cache, bool listening)
{
    pthread_mutex_lock(&cache->mutex);
    clear_locked(cache);
    cache->epoch++;
    cache->listening = listening;
    pthread_mutex_unlock(&cache->mutex);
}

void cf_token_cache_flush(struct cf_token_cache *cache)
{
    if (cache == NULL)
        return;
    pthread_mutex_lock(&cache->mutex);
    clear_locked(cache);
    cache->epoch++;
    pthread_mutex_unlock(&cache->mutex);
}

uint64_t cf_token_cache_epoch(struct cf_token_cache *cache)
{
    uint64_t epoch;

    if (cache == NULL)
        return 0;
    pthread_mutex_lock(&cache->mutex);
    epoch = cache->epoch;
    pthread_mutex_unlock(&cache->mutex);
    return epoch;
}

bool cf_token_cache_get(struct cf_token_cache *cache, const char *token, struct cf_jwt_claims *claims,
                        struct cf_token_record *rec, bool *touch_due)
{
    time_t now = time(NULL);
    size_t len;
    bool found = false;

    if (cache == NULL)
        return false;
    len = strlen(token);
    pthread_mutex_lock(&cache->mutex);
    if (cache->listening) {
        for (struct entry *e = cache->buckets[bucket_of(token)]; e != NULL; e = e->next) {
            if (!entry_is(e, token, len) || now - e->fetched_at >= CF_TOKEN_CACHE_MAX_AGE)
                continue;
            found = cf_token_record_copy(rec, &e->rec) == CF_OK;
            *claims = e->claims;
            *touch_due = now - e->touched_at >= 60;
            if (*touch_due)
                e->touched_at = now;
            break;
        }
    }
    pthread_mutex_unlock(&cache->mutex);
    return found;
}

void cf_token_cache_put(struct cf_token_cache *cache, const char *token, const struct cf_jwt_claims *claims,
                        const struct cf_token_record *rec, uint64_t epoch)
{
    struct entry *e;
    unsigned b;

    if (cache == NULL)
        return;
    e = calloc(1, sizeof(*e));
    if (e == NULL)
        return;
    e->token = strdup(token);
    if (e->token == NULL || cf_token_record_copy(&e->rec, rec) != CF_OK) {
        free(e->token);
        free(e);
        return;
    }
    e->token_len = strlen(token);
    e->claims = *claims;
    e->fetched_at = e->touched_at = time(NULL);
    b = bucket_of(token);
    pthread_mutex_lock(&cache->mutex);
    if (!cache->listening || cache->epoch != epoch) {
        /* An invalidation may have passed while this row was being read. */
        pthread_mutex_unlock(&cache->mutex);
        entry_free(e);
        return;
    }
    if (cache->count >= CF_TOKEN_CACHE_MAX_ENTRIES)
        clear_locked(cache);
    for (struct entry **p = &cache->buckets[b]; *p != NULL; p = &(*p)->next) {
        if (entry_is(*p, token, e->token_len)) {
            struct entry *old = *p;
            *p = old->next;
            entry_free(old);
            cache->count--;
            break;
        }
    }
    e->next = cache->buckets[b];
    cache->buckets[b] = e;
    cache->count++;
    pthread_mutex_unlock(&cache->mutex);
}

/* Waits up to timeout_ms for the stop signal; true when it came. */
static bool wait_for_stop(struct cf_token_cache *cache, int fd, int timeout_ms)
{
    struct pollfd fds[2] = {{cache->wake_pipe[0], POLLIN, 0}, {fd, POLLIN, 0}};

    poll(fds, fd >= 0 ? 2 : 1, timeout_ms);
    return (fds[0].revents & POLLIN) != 0;
}

static void *listener_main(void *arg)
{
    struct cf_token_cache *cache = arg;
    PGconn *conn = NULL;

    while (true) {
        PGresult *res;

        conn = cf_db_pool_connect(cache->pool);
        res = conn != NULL && PQstatus(conn) == CONNECTION_OK ? PQexec(conn, "LISTEN coffer_auth") : NULL;
        if (res != NULL && PQresultStatus(res) == PGRES_COMMAND_OK) {
            /* Listening from here on: whatever changed before is in the rows we read next. */
            invalidate(cache, true);
            while (PQstatus(conn) == CONNECTION_OK) {
                PGnotify *note;
                bool heard = false;

                if (wait_for_stop(cache, PQsocket(conn), 1000))
                    break;
                if (PQconsumeInput(conn) == 0)
                    break;
                while ((note = PQnotifies(conn)) != NULL) {
                    heard = true;
                    PQfreemem(note);
                }
                if (heard)
                    invalidate(cache, true);
            }
            cf_log(CF_LOG_WARN, "token cache: lost the database's change notifications; checking every token "
                                "in the database until they are back");
        }
        PQclear(res);
        PQfinish(conn);
        conn = NULL;
        invalidate(cache, false);
        if (wait_for_stop(cache, -1, 1000))
            break;
    }
    return NULL;
}

cf_code cf_token_cache_start(struct cf_db_pool *pool, struct cf_token_cache **out, struct cf_error *err)
{
    struct cf_token_cache *cache = calloc(1, sizeof(*cache));

    if (cache == NULL)
        return cf_fail(err, CF_E_NOMEM, "out of memory");
    cache->pool = pool;
    pthread_mutex_init(&cache->mutex, NULL);
    if (pipe(cache->wake_pipe) != 0) {
        pthread_mutex_destroy(&cache->mutex);
        free(cache);
        return cf_fail(err, CF_E_INTERNAL, "cannot create the token cache's pipe");
    }
    if (pthread_create(&cache->thread, NULL, listener_main, cache) != 0) {
        close(cache->wake_pipe[0]);
        close(cache->wake_pipe[1]);
        pthread_mutex_destroy(&cache->mutex);
        free(cache);
        return cf_fail(err, CF_E_INTERNAL, "cannot start the token cache's listener");
    }
    *out = cache;
    return CF_OK;
}

void cf_token_cache_stop(struct cf_token_cache *cache)
{
    if (cache == NULL)
        return;
    if (write(cache->wake_pipe[1], "x", 1) != 1)
        cf_log(CF_LOG_WARN, "token cache: cannot signal the listener to stop");
    pthread_join(cache->thread, NULL);
    clear_locked(cache);
    close(cache->wake_pipe[0]);
    close(cache->wake_pipe[1]);
    pthread_mutex_destroy(&cache->mutex);
    free(cache);
}
