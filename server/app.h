/* The process-wide context every handler and service receives: configuration,
 * database pool, storage, token keys. Built once by `cofferd serve` (main.c)
 * and read-only afterwards. */
#ifndef COFFER_SERVER_APP_H
#define COFFER_SERVER_APP_H

#include "config.h"
#include "db_pool.h"
#include "jwt.h"
#include "rate_limit.h"
#include "store.h"
#include "token_cache.h"

struct cf_app {
    const struct cf_config *cfg;
    struct cf_db_pool *pool;
    struct cf_store *store;
    struct cf_jwt_keys keys;
    struct cf_token_cache *token_cache; /* NULL: every check reads the database */
    struct cf_rate_limit *auth_failures;
    char instance_id[37]; /* random per process: owns this process's pending uploads */
};

/* Loads the token keys named by the configuration into app->keys. */
cf_code cf_app_load_keys(struct cf_app *app, struct cf_error *err);
/* Opens the storage the configuration names (storage_backend: fs at
 * storage_path, or s3 with the s3_* options, the secret read from
 * s3_secret_key_file when that is set) into app->store. CF_E_VALIDATION naming
 * the option that is wrong; otherwise what cf_store_fs_open or
 * cf_store_s3_open returns. */
cf_code cf_app_open_store(struct cf_app *app, struct cf_error *err);

#endif
