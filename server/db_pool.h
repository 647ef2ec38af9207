/* A fixed pool of PostgreSQL connections, one lent to one thread at a time.
 *
 * Statements are declared where they are used, with CF_STMT, and prepared
 * lazily on each connection the first time they run there; parameters only,
 * never SQL built from strings. A connection that lost its server is reset on
 * its next lease, so the pool heals by itself after PostgreSQL restarts; while
 * the server is down, every call fails with CF_E_DB_UNAVAILABLE. */
#ifndef COFFER_SERVER_DB_POOL_H
#define COFFER_SERVER_DB_POOL_H

#include "common/error.h"
#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>

/* A statement: a unique name, its SQL with $1.. parameters, and a slot index the
 * pool assigns on first use. Declare with CF_STMT at file scope. */
struct cf_stmt {
    const char *name;
    const char *sql;
    int slot; /* -1 until assigned */
};
#define CF_STMT(var, text) static struct cf_stmt var = {#var, text, -1}
#define CF_DB_MAX_STMTS    256

struct cf_db_pool;
struct cf_db; /* a leased connection */

struct cf_db_pool_stats {
    int size;
    int in_use;
    int waiting;
};

/* Creates the pool and opens its connections lazily. Caller frees with cf_db_pool_free. */
cf_code cf_db_pool_new(const char *conninfo, int size, int acquire_timeout_ms, struct cf_db_pool **out,
                       struct cf_error *err);
void cf_db_pool_free(struct cf_db_pool *pool);
void cf_db_pool_get_stats(struct cf_db_pool *pool, struct cf_db_pool_stats *out);

/* Opens a connection outside the pool, with the pool's settings, for a
 * long-lived job of its own (the token cache's LISTEN). Caller PQfinish()es
 * it; check PQstatus. */
PGconn *cf_db_pool_connect(struct cf_db_pool *pool);

/* Leases a connected connection, waiting up to the acquire timeout for a free one.
 * CF_E_DB_UNAVAILABLE when none comes or the server cannot be reached. */
cf_code cf_db_acquire(struct cf_db_pool *pool, struct cf_db **out, struct cf_error *err);
/* Returns the connection; rolls back a transaction left open. NULL is a no-op. */
void cf_db_release(struct cf_db *db);

/* Runs a statement with text parameters (NULL means SQL NULL). On success *out
 * (when not NULL) holds the result, which the caller frees with PQclear.
 * Errors: CF_E_DB_UNAVAILABLE (connection lost; the connection is reset on its
 * next lease), CF_E_CONFLICT (unique violation, sqlstate 23505), CF_E_INTERNAL. */
cf_code cf_db_query(struct cf_db *db, struct cf_stmt *stmt, const char *const *params, int nparams,
                    PGresult **out, struct cf_error *err);

cf_code cf_db_begin(struct cf_db *db, struct cf_error *err);
cf_code cf_db_commit(struct cf_db *db, struct cf_error *err);
void cf_db_rollback(struct cf_db *db);

/* acquire + query + release, for a statement that needs no transaction. */
cf_code cf_db_run(struct cf_db_pool *pool, struct cf_stmt *stmt, const char *const *params, int nparams,
                  PGresult **out, struct cf_error *err);
/* The first row's first column parsed as JSON (the services build their
 * resources with json_build_object). CF_E_NOT_FOUND "no such <what>" when the
 * result has no row. Caller decrefs *out. */
cf_code cf_db_json_cell(PGresult *res, const char *what, json_t **out, struct cf_error *err);

/* The SQLSTATE of the last failed query on this lease ("" when none). */
const char *cf_db_last_sqlstate(const struct cf_db *db);
/* The raw connection, for cofferd's command-line tools only. */
PGconn *cf_db_conn(struct cf_db *db);

#endif
