#include "server/db_pool.h"

#include "common/log.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define POOL_MAX_SIZE 1024
#define STMT_NAME_LEN 16

/* One pooled connection; a lease hands out a pointer to it. */
struct cf_db {
    struct cf_db_pool *pool;
    PGconn *conn;     /* NULL until the first lease opens it */
    bool leased;      /* guarded by pool->mutex */
    bool needs_reset; /* the server went away; reconnect on the next lease */
    /* Which statement slots are prepared in this session. The lessee alone
     * touches it; a reset forgets everything, as the new session knows nothing. */
    unsigned char prepared[CF_DB_MAX_STMTS / 8];
    char sqlstate[6];
};

struct cf_db_pool {
    char *conninfo;
    int size;
    int acquire_timeout_ms;
    pthread_mutex_t mutex;
    pthread_cond_t freed; /* signalled when a connection is given back */
    int in_use;
    int waiting;
    bool down; /* last connection attempt failed; to log outages once, not per request */
    struct cf_db *dbs;
};

/* Statement slots are global: a CF_STMT is a file-scope object shared by every
 * pool, and the slot only indexes the per-connection "prepared" bitmap. */
static pthread_mutex_t slot_mutex = PTHREAD_MUTEX_INITIALIZER;
static int next_slot;

static int stmt_slot(struct cf_stmt *stmt)
{
    int slot = __atomic_load_n(&stmt->slot, __ATOMIC_ACQUIRE);

    if (slot >= 0)
        return slot;
    pthread_mutex_lock(&slot_mutex);
    slot = __atomic_load_n(&stmt->slot, __ATOMIC_RELAXED);
    if (slot < 0 && next_slot < CF_DB_MAX_STMTS) {
        slot = next_slot++;
        __atomic_store_n(&stmt->slot, slot, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&slot_mutex);
    return slot;
}

static bool is_prepared(const struct cf_db *db, int slot)
{
    return (db->prepared[slot / 8] & (1u << (slot % 8))) != 0;
}

static void set_prepared(struct cf_db *db, int slot, bool on)
{
    if (on)
        db->prepared[slot / 8] |= (unsigned char)(1u << (slot % 8));
    else
        db->prepared[slot / 8] &= (unsigned char)~(1u << (slot % 8));
}

/* Copies a libpq message onto one line (they end in newlines and indent their
 * continuation lines with tabs), so that it reads well in err and in the log. */
static void one_line(char *dst, size_t size, const char *src)
{
    size_t used = 0;
    bool space = false;

    if (src == NULL)
        src = "";
    for (; *src != '\0' && used + 1 < size; src++) {
        if (*src == '\n' || *src == '\t' || *src == '\r') {
            space = used > 0;
            continue;
        }
        if (space && used + 2 < size)
            dst[used++] = ' ';
        space = false;
        dst[used++] = *src;
    }
    dst[used] = '\0';
}

static void notice_receiver(void *arg, const PGresult *res)
{
    const char *severity = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
    const char *primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    enum cf_log_level level = CF_LOG_WARN;

    (void)arg;
    if (severity == NULL)
        severity = "NOTICE";
    if (strcmp(severity, "NOTICE") == 0 || strcmp(severity, "INFO") == 0 || strcmp(severity, "LOG") == 0 ||
        strncmp(severity, "DEBUG", 5) == 0)
        level = CF_LOG_DEBUG;
    /* Only the primary message: DETAIL lines may quote row values. */
    cf_log(level, "postgresql %s: %s", severity, primary != NULL ? primary : "(no message)");
}

/* Opens a connection. The defaults come before the caller's conninfo in the
 * arrays, so a setting the conninfo gives (URI or key=value) wins over them:
 * libpq expands the "dbname" entry and lets later entries override earlier ones. */
static PGconn *open_conn(const char *conninfo)
{
    static const char *const keys[] = {
        "connect_timeout", /* seconds; an unreachable host must not hold a request */
        "keepalives",      /* a server that vanished mid-query is noticed ... */
        "keepalives_idle", /* ... after about idle + interval * count seconds */
        "keepalives_interval",
        "keepalives_count",
        "tcp_user_timeout", /* ms that sent data may stay unacknowledged */
        "fallback_application_name",
        "dbname",
        NULL,
    };
    const char *values[] = {"3", "1", "10", "5", "3", "20000", "cofferd", conninfo, NULL};
    PGconn *conn = PQconnectdbParams(keys, values, 1);

    if (conn != NULL)
        PQsetNoticeReceiver(conn, notice_receiver, NULL);
    return conn;
}

/* Records whether the server is reachable, logging only the changes. */
static void note_reachable(struct cf_db_pool *pool, bool up, const char *why)
{
    bool changed;

    pthread_mutex_lock(&pool->mutex);
    changed = pool->down == up;
    pool->down = !up;
    pthread_mutex_unlock(&pool->mutex);
    if (!changed)
        return;
    if (up)
        cf_log(CF_LOG_INFO, "database reachable again");
    else
        cf_log(CF_LOG_WARN, "database unavailable: %s", why);
}

/* True when an idle connection looks alive. Anything readable on a connection
 * that has no query running is the server saying goodbye (a FATAL message
 * before it closes, or the close itself): the session is gone, so checking
 * here spares the next query a certain failure after a server restart. */
static bool idle_conn_alive(PGconn *conn)
{
    struct pollfd pfd;

    if (PQstatus(conn) != CONNECTION_OK || PQtransactionStatus(conn) != PQTRANS_IDLE)
        return false;
    pfd.fd = PQsocket(conn);
    pfd.events = POLLIN;
    pfd.revents = 0;
    if (pfd.fd < 0)
        return false;
    if (poll(&pfd, 1, 0) <= 0)
        return true; /* nothing pending (or EINTR: let the query find out) */
    return false;
}

/* Makes a freshly leased connection usable: opens it the first time, resets it
 * when it lost its server. */
static cf_code ensure_connected(struct cf_db *db, struct cf_error *err)
{
    char why[256];

    if (db->conn == NULL) {
        db->conn = open_conn(db->pool->conninfo);
        if (db->conn == NULL)
            return cf_fail(err, CF_E_NOMEM, "out of memory opening a database connection");
        memset(db->prepared, 0, sizeof(db->prepared));
    } else if (db->needs_reset || !idle_conn_alive(db->conn)) {
        PQreset(db->conn);
        memset(db->prepared, 0, sizeof(db->prepared));
    }
    if (PQstatus(db->conn) != CONNECTION_OK) {
        /* libpq's connection messages name host, port and user, never the password. */
        db->needs_reset = true;
        one_line(why, sizeof(why), PQerrorMessage(db->conn));
        note_reachable(db->pool, false, why);
        return cf_fail(err, CF_E_DB_UNAVAILABLE, "cannot connect to the database: %s", why);
    }
    db->needs_reset = false;
    note_reachable(db->pool, true, NULL);
    return CF_OK;
}

cf_code cf_db_pool_new(const char *conninfo, int size, int acquire_timeout_ms, struct cf_db_pool **out,
                       struct cf_error *err)
{
    struct cf_db_pool *pool = NULL;
    PQconninfoOption *options = NULL;
    char *parse_error = NULL;
    pthread_condattr_t attr;
    bool attr_ready = false;
    bool mutex_ready = false;
    cf_code code = CF_OK;

    *out = NULL;
    if (conninfo == NULL)
        return cf_fail(err, CF_E_INTERNAL, "no database conninfo given");
    if (size < 1 || size > POOL_MAX_SIZE)
        return cf_fail(err, CF_E_INTERNAL, "database pool size %d is outside 1..%d", size, POOL_MAX_SIZE);
    if (acquire_timeout_ms < 0)
        return cf_fail(err, CF_E_INTERNAL, "database acquire timeout %d ms is negative", acquire_timeout_ms);
    /* libpq's parse message may quote part of the string, which can hold a
     * password: say only that it is wrong. */
    options = PQconninfoParse(conninfo, &parse_error);
    if (options == NULL) {
        code = cf_fail(err, CF_E_INTERNAL, "the database conninfo cannot be parsed");
        goto out;
    }

    pool = calloc(1, sizeof(*pool));
    if (pool == NULL) {
        code = cf_fail(err, CF_E_NOMEM, "out of memory");
        goto out;
    }
    pool->size = size;
    pool->acquire_timeout_ms = acquire_timeout_ms;
    pool->conninfo = strdup(conninfo);
    pool->dbs = calloc((size_t)size, sizeof(*pool->dbs));
    if (pool->conninfo == NULL || pool->dbs == NULL) {
        code = cf_fail(err, CF_E_NOMEM, "out of memory");
        goto out;
    }
    for (int i = 0; i < size; i++)
        pool->dbs[i].pool = pool;

    if (pthread_mutex_init(&pool->mutex, NULL) != 0) {
        code = cf_fail(err, CF_E_INTERNAL, "cannot create the database pool mutex");
        goto out;
    }
    mutex_ready = true;
    /* Waits are measured on the monotonic clock so that a wall-clock jump
     * cannot stretch or cut short the acquire timeout. */
    if (pthread_condattr_init(&attr) != 0) {
        code = cf_fail(err, CF_E_INTERNAL, "cannot create the database pool condition variable");
        goto out;
    }
    attr_ready = true;
    if (pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) != 0 ||
        pthread_cond_init(&pool->freed, &attr) != 0) {
        code = cf_fail(err, CF_E_INTERNAL, "cannot create the database pool condition variable");
        goto out;
    }

    *out = pool;
    pool = NULL;
out:
    if (attr_ready)
        pthread_condattr_destroy(&attr);
    if (pool != NULL) {
        if (mutex_ready)
            pthread_mutex_destroy(&pool->mutex);
        free(pool->dbs);
        free(pool->conninfo);
        free(pool);
    }
    PQconninfoFree(options);
    PQfreemem(parse_error);
    return code;
}

void cf_db_pool_free(struct cf_db_pool *pool)
{
    if (pool == NULL)
        return;
    for (int i = 0; i < pool->size; i++)
        PQfinish(pool->dbs[i].conn);
    pthread_cond_destroy(&pool->freed);
    pthread_mutex_destroy(&pool->mutex);
    /* The conninfo may hold a password: wipe it before giving the memory back. */
    explicit_bzero(pool->conninfo, strlen(pool->conninfo));
    free(pool->conninfo);
    free(pool->dbs);
    free(pool);
}

void cf_db_pool_get_stats(struct cf_db_pool *pool, struct cf_db_pool_stats *out)
{
    pthread_mutex_lock(&pool->mutex);
    out->size = pool->size;
    out->in_use = pool->in_use;
    out->waiting = pool->waiting;
    pthread_mutex_unlock(&pool->mutex);
}

/* A free connection, preferring one already open so that the pool opens no
 * more connections than the peak concurrency needs. Called with the mutex held. */
static struct cf_db *take_free(struct cf_db_pool *pool)
{
    struct cf_db *fallback = NULL;

    for (int i = 0; i < pool->size; i++) {
        struct cf_db *db = &pool->dbs[i];

        if (db->leased)
            continue;
        if (db->conn != NULL && !db->needs_reset)
            return db;
        if (fallback == NULL)
            fallback = db;
    }
    return fallback;
}

static void give_back(struct cf_db *db)
{
    struct cf_db_pool *pool = db->pool;

    pthread_mutex_lock(&pool->mutex);
    db->leased = false;
    pool->in_use--;
    pthread_cond_signal(&pool->freed);
    pthread_mutex_unlock(&pool->mutex);
}

cf_code cf_db_acquire(struct cf_db_pool *pool, struct cf_db **out, struct cf_error *err)
{
    struct cf_db *db = NULL;
    struct timespec deadline;
    bool timed_out = false;
    cf_code code;

    *out = NULL;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += pool->acquire_timeout_ms / 1000;
    deadline.tv_nsec += (long)(pool->acquire_timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }

    pthread_mutex_lock(&pool->mutex);
    for (;;) {
        db = take_free(pool);
        if (db != NULL || timed_out)
            break;
        pool->waiting++;
        /* Looking again after a timeout as well: a connection given back at
         * the deadline is taken rather than refused. */
        timed_out = pthread_cond_timedwait(&pool->freed, &pool->mutex, &deadline) == ETIMEDOUT;
        pool->waiting--;
    }
    if (db != NULL) {
        db->leased = true;
        pool->in_use++;
    }
    pthread_mutex_unlock(&pool->mutex);
    if (db == NULL)
        return cf_fail(err, CF_E_DB_UNAVAILABLE, "no database connection became free within %d ms",
                       pool->acquire_timeout_ms);

    /* Connecting happens outside the mutex: it may take up to connect_timeout. */
    db->sqlstate[0] = '\0';
    code = ensure_connected(db, err);
    if (code != CF_OK) {
        give_back(db);
        return code;
    }
    *out = db;
    return CF_OK;
}

void cf_db_release(struct cf_db *db)
{
    if (db == NULL)
        return;
    if (!db->needs_reset) {
        switch (PQtransactionStatus(db->conn)) {
        case PQTRANS_IDLE:
            break;
        case PQTRANS_INTRANS:
        case PQTRANS_INERROR:
            cf_log(CF_LOG_DEBUG, "database connection released inside a transaction: rolling back");
            cf_db_rollback(db);
            if (PQtransactionStatus(db->conn) != PQTRANS_IDLE)
                db->needs_reset = true;
            break;
        default:
            /* A command still running or a broken link: start afresh. */
            db->needs_reset = true;
            break;
        }
    }
    db->sqlstate[0] = '\0';
    give_back(db);
}

static bool sqlstate_means_unavailable(const char *state)
{
    if (state == NULL)
        return false;
    /* 08: connection exceptions; 57P01 admin shutdown, 57P02 crash shutdown,
     * 57P03 cannot connect now (starting up or shutting down). */
    return strncmp(state, "08", 2) == 0 || strcmp(state, "57P01") == 0 || strcmp(state, "57P02") == 0 ||
           strcmp(state, "57P03") == 0;
}

/* Turns a result into a cf_code, recording a failure's SQLSTATE on the lease
 * (successes leave the last one in place, as the header promises). what
 * names the statement for the message; parameters never go into it. */
static cf_code check_result(struct cf_db *db, const PGresult *res, const char *what, struct cf_error *err)
{
    ExecStatusType status = res != NULL ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    const char *state = NULL;
    const char *primary = NULL;
    char message[384];

    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK)
        return CF_OK;
    if (res != NULL) {
        state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    }
    snprintf(db->sqlstate, sizeof(db->sqlstate), "%s", state != NULL ? state : "");
    /* Without a primary field the error is libpq's own (no server text, so no
     * DETAIL with row values in it); PQerrorMessage would include DETAIL for
     * server errors, so it is read only in that case. */
    if (primary != NULL)
        one_line(message, sizeof(message), primary);
    else if (res != NULL && PQresultErrorMessage(res)[0] != '\0')
        one_line(message, sizeof(message), PQresultErrorMessage(res));
    else
        one_line(message, sizeof(message), PQerrorMessage(db->conn));

    if (PQstatus(db->conn) != CONNECTION_OK || sqlstate_means_unavailable(state)) {
        db->needs_reset = true;
        note_reachable(db->pool, false, message);
        return cf_fail(err, CF_E_DB_UNAVAILABLE, "the database connection was lost: %s", message);
    }
    if (state != NULL && strcmp(state, "23505") == 0)
        return cf_fail(err, CF_E_CONFLICT, "%s", message);
    /* Data exceptions (class 22) quote the offending input, which is a
     * parameter and may be a secret: keep their text out of err. */
    if (state != NULL && strncmp(state, "22", 2) == 0)
        return cf_fail(err, CF_E_INTERNAL, "database error in %s: invalid value (SQLSTATE %s)", what, state);
    if (status != PGRES_FATAL_ERROR && status != PGRES_NONFATAL_ERROR)
        return cf_fail(err, CF_E_INTERNAL, "database error in %s: unexpected result %s", what,
                       PQresStatus(status));
    return cf_fail(err, CF_E_INTERNAL, "database error in %s (SQLSTATE %s): %s", what,
                   state != NULL ? state : "none", message);
}

static cf_code lost_connection(struct cf_error *err)
{
    return cf_fail(err, CF_E_DB_UNAVAILABLE, "the database connection was lost");
}

cf_code cf_db_query(struct cf_db *db, struct cf_stmt *stmt, const char *const *params, int nparams,
                    PGresult **out, struct cf_error *err)
{
    char name[STMT_NAME_LEN];
    PGresult *res = NULL;
    cf_code code;
    int slot;

    if (out != NULL)
        *out = NULL;
    slot = stmt_slot(stmt);
    if (slot < 0)
        return cf_fail(err, CF_E_INTERNAL, "more than %d SQL statements declared: raise CF_DB_MAX_STMTS",
                       CF_DB_MAX_STMTS);
    if (db->needs_reset)
        return lost_connection(err);
    /* Named by slot, not by stmt->name: two files may declare statements with
     * the same variable name, but never with the same slot. */
    snprintf(name, sizeof(name), "cf_%d", slot);

    for (int attempt = 0;; attempt++) {
        if (!is_prepared(db, slot)) {
            res = PQprepare(db->conn, name, stmt->sql, 0, NULL);
            code = check_result(db, res, stmt->name, err);
            PQclear(res);
            res = NULL;
            if (code != CF_OK)
                return code;
            set_prepared(db, slot, true);
        }
        res = PQexecPrepared(db->conn, name, nparams, params, NULL, NULL, 0);
        /* 26000: the session lost the statement although the connection
         * survived (a pooler in between reconnected to a restarted server, or
         * DISCARD ALL). Prepare it again and retry, once, and only outside a
         * transaction: inside one the failure has already aborted it. */
        if (attempt == 0 && res != NULL && PQresultStatus(res) == PGRES_FATAL_ERROR &&
            PQtransactionStatus(db->conn) == PQTRANS_IDLE) {
            const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);

            if (state != NULL && strcmp(state, "26000") == 0) {
                cf_log(CF_LOG_INFO, "prepared statement %s vanished from its session: preparing it again",
                       stmt->name);
                set_prepared(db, slot, false);
                PQclear(res);
                res = NULL;
                continue;
            }
        }
        break;
    }
    if (res != NULL && PQresultStatus(res) == PGRES_FATAL_ERROR) {
        const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);

        /* Still 26000 inside a transaction: the bitmap is wrong for this slot. */
        if (state != NULL && strcmp(state, "26000") == 0)
            set_prepared(db, slot, false);
    }
    code = check_result(db, res, stmt->name, err);
    if (code != CF_OK || out == NULL)
        PQclear(res);
    else
        *out = res;
    return code;
}

/* Runs a parameterless command of our own (BEGIN, COMMIT, ROLLBACK). */
static cf_code exec_command(struct cf_db *db, const char *sql, PGresult **out, struct cf_error *err)
{
    PGresult *res;
    cf_code code;

    *out = NULL;
    if (db->needs_reset)
        return lost_connection(err);
    res = PQexec(db->conn, sql);
    code = check_result(db, res, sql, err);
    if (code != CF_OK)
        PQclear(res);
    else
        *out = res;
    return code;
}

cf_code cf_db_begin(struct cf_db *db, struct cf_error *err)
{
    PGresult *res = NULL;
    cf_code code;

    if (!db->needs_reset && PQtransactionStatus(db->conn) != PQTRANS_IDLE)
        return cf_fail(err, CF_E_INTERNAL, "BEGIN inside a transaction");
    code = exec_command(db, "BEGIN", &res, err);
    PQclear(res);
    return code;
}

cf_code cf_db_commit(struct cf_db *db, struct cf_error *err)
{
    PGresult *res = NULL;
    cf_code code;

    code = exec_command(db, "COMMIT", &res, err);
    /* COMMIT of a transaction in which a statement failed succeeds as a
     * command but rolls back: PostgreSQL answers "ROLLBACK". */
    if (code == CF_OK && strcmp(PQcmdStatus(res), "COMMIT") != 0)
        code = cf_fail(err, CF_E_INTERNAL, "the transaction was rolled back: a statement in it failed");
    PQclear(res);
    return code;
}

void cf_db_rollback(struct cf_db *db)
{
    PGresult *res = NULL;

    if (db->needs_reset || PQtransactionStatus(db->conn) == PQTRANS_IDLE)
        return;
    exec_command(db, "ROLLBACK", &res, NULL);
    PQclear(res);
}

const char *cf_db_last_sqlstate(const struct cf_db *db)
{
    return db->sqlstate;
}

PGconn *cf_db_conn(struct cf_db *db)
{
    return db->conn;
}

cf_code cf_db_run(struct cf_db_pool *pool, struct cf_stmt *stmt, const char *const *params, int nparams,
                  PGresult **out, struct cf_error *err)
{
    struct cf_db *db = NULL;
    cf_code code = cf_db_acquire(pool, &db, err);

    if (code == CF_OK)
        code = cf_db_query(db, stmt, params, nparams, out, err);
    cf_db_release(db);
    return code;
}

cf_code cf_db_json_cell(PGresult *res, const char *what, json_t **out, struct cf_error *err)
{
    if (PQntuples(res) == 0)
        return cf_fail(err, CF_E_NOT_FOUND, "no such %s", what);
    *out = json_loads(PQgetvalue(res, 0, 0), JSON_DECODE_ANY, NULL);
    if (*out == NULL)
        return cf_fail(err, CF_E_INTERNAL, "the database returned malformed JSON for a %s", what);
    return CF_OK;
}

PGconn *cf_db_pool_connect(struct cf_db_pool *pool)
{
    return open_conn(pool->conninfo);
}
