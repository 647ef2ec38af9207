/* A per-instance cache of token checks, so that a request's token check
 * usually costs neither a database round trip nor a signature check.
 *
 * Entries are keyed by the whole token text: a hit means this very string was
 * verified before (its signature cannot have changed), so only the time-bound
 * checks and the database row's verdict, both kept in the entry, remain.
 *
 * Correctness rests on invalidation, not on expiry: a LISTEN connection hears
 * every change that can make a token refuse (migration 002's triggers on
 * tokens and accounts) and empties the cache. While that connection is down
 * the cache serves nothing, so a change can never be missed; an entry is also
 * dropped after CF_TOKEN_CACHE_MAX_AGE seconds whatever happens. A lookup
 * that raced with an invalidation is not stored (the epoch check). Changes
 * made by this instance flush the cache synchronously as well, so they hold
 * on the very next request. */
#ifndef COFFER_SERVER_TOKEN_CACHE_H
#define COFFER_SERVER_TOKEN_CACHE_H

#include "common/error.h"
#include "db_pool.h"
#include "jwt.h"

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#define CF_TOKEN_CACHE_MAX_AGE     60
#define CF_TOKEN_CACHE_MAX_ENTRIES 10000

/* What the database says about a token: the inputs of every check in auth.c. */
struct cf_token_record {
    bool admin; /* account_id is NULL: sub "system" */
    char account_id[65];
    char *permissions; /* owned JSON array texts */
    char *collections;
    char *allowed_ips;
    char *allowed_user_agents;
    bool one_time_upload;
    int64_t expires_at; /* Unix seconds */
    bool revoked;
    bool account_active;
};

void cf_token_record_dispose(struct cf_token_record *rec);
/* A deep copy; CF_E_NOMEM. */
cf_code cf_token_record_copy(struct cf_token_record *dst, const struct cf_token_record *src);

struct cf_token_cache;

/* Starts the listener thread on its own connection from pool. */
cf_code cf_token_cache_start(struct cf_db_pool *pool, struct cf_token_cache **out, struct cf_error *err);
/* Stops the thread and frees everything. NULL is a no-op. */
void cf_token_cache_stop(struct cf_token_cache *cache);

/* The epoch to pass to cf_token_cache_put for a row read after this call. */
uint64_t cf_token_cache_epoch(struct cf_token_cache *cache);
/* For a token text verified before: copies its claims and row into claims and
 * rec (caller disposes rec). *touch_due is set when this instance last
 * recorded the token's use more than a minute ago (and is then reset, so one
 * caller writes it). False on a miss, when cache is NULL, or while the
 * listener is down. Tokens are compared in constant time. */
bool cf_token_cache_get(struct cf_token_cache *cache, const char *token, struct cf_jwt_claims *claims,
                        struct cf_token_record *rec, bool *touch_due);
/* Stores a verified token's claims and row unless an invalidation happened
 * since epoch. */
void cf_token_cache_put(struct cf_token_cache *cache, const char *token, const struct cf_jwt_claims *claims,
                        const struct cf_token_record *rec, uint64_t epoch);
/* Forgets everything; called after this instance changed a token or account. NULL is a no-op. */
void cf_token_cache_flush(struct cf_token_cache *cache);

#endif
