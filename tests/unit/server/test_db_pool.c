/* The connection pool and the migrations, against a real PostgreSQL.
 *
 * COFFER_TEST_PG: a conninfo of a running cluster whose user may create
 * databases; every test is skipped without it. The tests work in scratch
 * databases of their own (coffer_test_*_<pid>), dropped at the end, so they
 * can share a cluster with other tests.
 * COFFER_TEST_PG_DIR: the cluster's directory as scripts/lib/postgres.sh knows
 * it. Only when it is set does the reconnect test stop and start that cluster.
 * COFFER_SOURCE: the source tree, to find scripts/lib/postgres.sh (default:
 * derived from this file's path). */
#include "server/db_pool.h"
#include "server/migrate.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CONNINFO_MAX 2048

static const char *admin_conninfo;       /* COFFER_TEST_PG, or NULL */
static char pool_db[64];                 /* scratch database of the pool tests */
static char pool_conninfo[CONNINFO_MAX]; /* admin_conninfo with dbname=pool_db */
static char mig_db[64];                  /* scratch database of one migration test */
static char mig_conninfo[CONNINFO_MAX];

#define REQUIRE_PG()                                                                                         \
    do {                                                                                                     \
        if (admin_conninfo == NULL)                                                                          \
            skip();                                                                                          \
    } while (0)

/* Appends key='value' to a conninfo, quoted the way libpq reads it. */
static bool append_option(char *buf, size_t size, const char *key, const char *value)
{
    size_t used = strlen(buf);
    int n = snprintf(buf + used, size - used, "%s%s='", used > 0 ? " " : "", key);

    if (n < 0 || (size_t)n >= size - used)
        return false;
    used += (size_t)n;
    for (const char *p = value; *p != '\0'; p++) {
        if (used + 3 >= size)
            return false;
        if (*p == '\'' || *p == '\\')
            buf[used++] = '\\';
        buf[used++] = *p;
    }
    if (used + 2 >= size)
        return false;
    buf[used++] = '\'';
    buf[used] = '\0';
    return true;
}

/* conninfo (key=value or URI) with its dbname replaced, as key=value text. */
static void conninfo_with_db(const char *conninfo, const char *dbname, char *out, size_t size)
{
    char *errmsg = NULL;
    PQconninfoOption *options = PQconninfoParse(conninfo, &errmsg);

    assert_non_null(options);
    out[0] = '\0';
    for (PQconninfoOption *o = options; o->keyword != NULL; o++) {
        if (o->val != NULL && o->val[0] != '\0' && strcmp(o->keyword, "dbname") != 0)
            assert_true(append_option(out, size, o->keyword, o->val));
    }
    assert_true(append_option(out, size, "dbname", dbname));
    PQconninfoFree(options);
}

/* An option of the conninfo, or fallback when it gives none. */
static void conninfo_option(const char *conninfo, const char *key, const char *fallback, char *out,
                            size_t size)
{
    PQconninfoOption *options = PQconninfoParse(conninfo, NULL);

    assert_non_null(options);
    snprintf(out, size, "%s", fallback);
    for (PQconninfoOption *o = options; o->keyword != NULL; o++) {
        if (strcmp(o->keyword, key) == 0 && o->val != NULL && o->val[0] != '\0')
            snprintf(out, size, "%s", o->val);
    }
    PQconninfoFree(options);
}

static void quiet_notices(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

static PGconn *connect_ok(const char *conninfo)
{
    PGconn *conn = PQconnectdb(conninfo);

    assert_non_null(conn);
    if (PQstatus(conn) != CONNECTION_OK)
        fail_msg("cannot connect to the test database: %s", PQerrorMessage(conn));
    /* "does not exist, skipping" and the like are expected here. */
    PQsetNoticeProcessor(conn, quiet_notices, NULL);
    return conn;
}

/* Runs test-only SQL (DDL, set-up) on a plain connection. */
static void exec_ok(PGconn *conn, const char *sql)
{
    PGresult *res = PQexec(conn, sql);

    if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK)
        fail_msg("%s: %s", sql, PQerrorMessage(conn));
    PQclear(res);
}

/* The first column of the first row of a query, copied into out. */
static void query_value(PGconn *conn, const char *sql, char *out, size_t size)
{
    PGresult *res = PQexec(conn, sql);

    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) < 1)
        fail_msg("%s: %s", sql, PQerrorMessage(conn));
    snprintf(out, size, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
}

/* Creates database name (dropping a leftover of the same name) and fills conninfo for it. */
static void create_scratch_db(const char *name, char *conninfo, size_t size)
{
    PGconn *admin = connect_ok(admin_conninfo);
    char sql[256];

    snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", name);
    exec_ok(admin, sql);
    snprintf(sql, sizeof(sql), "CREATE DATABASE %s", name);
    exec_ok(admin, sql);
    PQfinish(admin);
    conninfo_with_db(admin_conninfo, name, conninfo, size);
}

static void drop_scratch_db(const char *name)
{
    PGconn *admin;
    PGresult *res;
    char sql[256];

    if (admin_conninfo == NULL || name[0] == '\0')
        return;
    /* No cmocka assertions here: this also runs from teardowns. */
    admin = PQconnectdb(admin_conninfo);
    if (PQstatus(admin) == CONNECTION_OK) {
        PQsetNoticeProcessor(admin, quiet_notices, NULL);
        snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", name);
        res = PQexec(admin, sql);
        if (PQresultStatus(res) != PGRES_COMMAND_OK)
            fprintf(stderr, "could not drop %s: %s", name, PQerrorMessage(admin));
        PQclear(res);
    }
    PQfinish(admin);
}

static int group_setup(void **state)
{
    PGconn *conn;

    (void)state;
    admin_conninfo = getenv("COFFER_TEST_PG");
    if (admin_conninfo != NULL && admin_conninfo[0] == '\0')
        admin_conninfo = NULL;
    if (admin_conninfo == NULL)
        return 0;
    snprintf(pool_db, sizeof(pool_db), "coffer_test_pool_%ld", (long)getpid());
    create_scratch_db(pool_db, pool_conninfo, sizeof(pool_conninfo));
    conn = connect_ok(pool_conninfo);
    exec_ok(conn, "CREATE TABLE t_kv (k text PRIMARY KEY, v text)");
    PQfinish(conn);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    drop_scratch_db(pool_db);
    return 0;
}

static struct cf_db_pool *new_pool(int size, int timeout_ms)
{
    struct cf_db_pool *pool = NULL;
    struct cf_error err;

    cf_error_init(&err);
    if (cf_db_pool_new(pool_conninfo, size, timeout_ms, &pool, &err) != CF_OK)
        fail_msg("cf_db_pool_new: %s", err.message);
    return pool;
}

static struct cf_db *acquire_ok(struct cf_db_pool *pool)
{
    struct cf_db *db = NULL;
    struct cf_error err;

    cf_error_init(&err);
    if (cf_db_acquire(pool, &db, &err) != CF_OK)
        fail_msg("cf_db_acquire: %s", err.message);
    return db;
}

CF_STMT(q_echo, "SELECT $1::text, $2::int + 1, $3::text IS NULL");
CF_STMT(q_kv_insert, "INSERT INTO t_kv (k, v) VALUES ($1, $2)");
CF_STMT(q_kv_count, "SELECT count(*) FROM t_kv WHERE k = $1");
CF_STMT(q_sleep, "SELECT pg_sleep($1::float8)");
CF_STMT(q_backend_pid, "SELECT pg_backend_pid()");

/* The count of t_kv rows with key k, through the pool. */
static long kv_count(struct cf_db *db, const char *k)
{
    const char *params[] = {k};
    PGresult *res = NULL;
    struct cf_error err;
    long n;

    cf_error_init(&err);
    if (cf_db_query(db, &q_kv_count, params, 1, &res, &err) != CF_OK)
        fail_msg("count: %s", err.message);
    n = strtol(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return n;
}

static void test_pool_new_refuses_bad_arguments(void **state)
{
    struct cf_db_pool *pool = NULL;
    struct cf_error err;

    (void)state;
    cf_error_init(&err);
    assert_int_equal(cf_db_pool_new("host=x port=1", 0, 100, &pool, &err), CF_E_INTERNAL);
    assert_null(pool);
    assert_non_null(strstr(err.message, "pool size 0"));
    /* A malformed conninfo is refused without quoting it: it may hold a password. */
    assert_int_equal(cf_db_pool_new("password='s3cr3t", 1, 100, &pool, &err), CF_E_INTERNAL);
    assert_null(pool);
    assert_string_equal(err.message, "the database conninfo cannot be parsed");
    cf_db_pool_free(NULL);
    cf_db_release(NULL);
}

static void test_query_params_round_trip(void **state)
{
    const char *params[] = {"it's; DROP TABLE t_kv; -- \xc3\xa9", "41", NULL};
    struct cf_db_pool *pool;
    struct cf_db *db;
    PGresult *res = NULL;
    struct cf_error err;

    (void)state;
    REQUIRE_PG();
    cf_error_init(&err);
    pool = new_pool(2, 2000);
    db = acquire_ok(pool);
    /* The second round uses the statement already prepared on the connection. */
    for (int round = 0; round < 2; round++) {
        assert_int_equal(cf_db_query(db, &q_echo, params, 3, &res, &err), CF_OK);
        assert_int_equal(PQntuples(res), 1);
        assert_string_equal(PQgetvalue(res, 0, 0), params[0]);
        assert_string_equal(PQgetvalue(res, 0, 1), "42");
        assert_string_equal(PQgetvalue(res, 0, 2), "t");
        PQclear(res);
        res = NULL;
    }
    assert_true(q_echo.slot >= 0);
    assert_string_equal(cf_db_last_sqlstate(db), "");
    assert_int_equal(PQstatus(cf_db_conn(db)), CONNECTION_OK);
    /* out may be NULL when the caller wants no rows. */
    assert_int_equal(cf_db_query(db, &q_echo, params, 3, NULL, &err), CF_OK);
    cf_db_release(db);
    cf_db_pool_free(pool);
}

/* The value libpq used for a connection option of a leased connection. */
static void used_option(struct cf_db *db, const char *key, char *out, size_t size)
{
    PQconninfoOption *options = PQconninfo(cf_db_conn(db));

    assert_non_null(options);
    out[0] = '\0';
    for (PQconninfoOption *o = options; o->keyword != NULL; o++) {
        if (strcmp(o->keyword, key) == 0 && o->val != NULL)
            snprintf(out, size, "%s", o->val);
    }
    PQconninfoFree(options);
}

static void test_conninfo_settings_win_over_pool_defaults(void **state)
{
    char conninfo[CONNINFO_MAX + 64];
    struct cf_db_pool *pool = NULL;
    struct cf_db *db;
    struct cf_error err;
    char expected[64];
    char value[64];

    (void)state;
    REQUIRE_PG();
    cf_error_init(&err);
    pool = new_pool(1, 2000);
    db = acquire_ok(pool);
    /* The pool's defaults, unless COFFER_TEST_PG itself sets these. */
    conninfo_option(pool_conninfo, "connect_timeout", "3", expected, sizeof(expected));
    used_option(db, "connect_timeout", value, sizeof(value));
    assert_string_equal(value, expected);
    conninfo_option(pool_conninfo, "tcp_user_timeout", "20000", expected, sizeof(expected));
    used_option(db, "tcp_user_timeout", value, sizeof(value));
    assert_string_equal(value, expected);
    cf_db_release(db);
    cf_db_pool_free(pool);

    snprintf(conninfo, sizeof(conninfo), "%s connect_timeout=7", pool_conninfo);
    assert_int_equal(cf_db_pool_new(conninfo, 1, 2000, &pool, &err), CF_OK);
    db = acquire_ok(pool);
    used_option(db, "connect_timeout", value, sizeof(value));
    assert_string_equal(value, "7");
    used_option(db, "dbname", value, sizeof(value));
    assert_string_equal(value, pool_db);
    cf_db_release(db);
    cf_db_pool_free(pool);
}

static void test_unique_violation_is_conflict(void **state)
{
    const char *params[] = {"dup-key-s3cr3t", "value-s3cr3t"};
    const char *bad_int[] = {"x", "not-a-number-s3cr3t", NULL};
    struct cf_db_pool *pool;
    struct cf_db *db;
    struct cf_error err;

    (void)state;
    REQUIRE_PG();
    cf_error_init(&err);
    pool = new_pool(1, 2000);
    db = acquire_ok(pool);
    assert_int_equal(cf_db_query(db, &q_kv_insert, params, 2, NULL, &err), CF_OK);
    assert_int_equal(cf_db_query(db, &q_kv_insert, params, 2, NULL, &err), CF_E_CONFLICT);
    assert_int_equal(err.code, CF_E_CONFLICT);
    assert_string_equal(cf_db_last_sqlstate(db), "23505");
    assert_non_null(strstr(err.message, "duplicate key value violates unique constraint"));
    /* The server's DETAIL quotes the key; it must not reach the message. */
    assert_null(strstr(err.message, "s3cr3t"));

    /* Another kind of failure is internal, and a data error's text (which
     * quotes the parameter) stays out of the message too. */
    assert_int_equal(cf_db_query(db, &q_echo, bad_int, 3, NULL, &err), CF_E_INTERNAL);
    assert_string_equal(cf_db_last_sqlstate(db), "22P02");
    assert_non_null(strstr(err.message, "22P02"));
    assert_null(strstr(err.message, "s3cr3t"));

    /* The lease is still good afterwards. */
    assert_int_equal(kv_count(db, "dup-key-s3cr3t"), 1);
    cf_db_release(db);
    cf_db_pool_free(pool);
}

struct lease_run {
    struct cf_db_pool *pool;
    cf_code acquire_code;
    cf_code query_code;
    int in_use_seen;
    char message[512];
};

static void *lease_thread(void *arg)
{
    struct lease_run *run = arg;
    const char *params[] = {"0.05"};
    struct cf_db_pool_stats stats;
    struct cf_db *db = NULL;
    struct cf_error err;

    cf_error_init(&err);
    run->acquire_code = cf_db_acquire(run->pool, &db, &err);
    if (run->acquire_code == CF_OK) {
        cf_db_pool_get_stats(run->pool, &stats);
        run->in_use_seen = stats.in_use;
        run->query_code = cf_db_query(db, &q_sleep, params, 1, NULL, &err);
        cf_db_release(db);
    }
    snprintf(run->message, sizeof(run->message), "%s", err.message);
    return NULL;
}

static void test_concurrent_leases_share_two_connections(void **state)
{
    struct lease_run runs[3];
    pthread_t threads[3];
    struct cf_db_pool_stats stats;
    struct cf_db_pool *pool;
    struct cf_db *held[2];

    (void)state;
    REQUIRE_PG();
    pool = new_pool(2, 10000);
    /* Hold both connections until all three threads wait, so that every one
     * of them goes through the wait and the wake-up. */
    held[0] = acquire_ok(pool);
    held[1] = acquire_ok(pool);
    for (int i = 0; i < 3; i++) {
        memset(&runs[i], 0, sizeof(runs[i]));
        runs[i].pool = pool;
        runs[i].acquire_code = CF_E_INTERNAL;
        runs[i].query_code = CF_E_INTERNAL;
        assert_int_equal(pthread_create(&threads[i], NULL, lease_thread, &runs[i]), 0);
    }
    for (int tries = 0; tries < 500; tries++) {
        cf_db_pool_get_stats(pool, &stats);
        if (stats.waiting == 3)
            break;
        usleep(10000);
    }
    assert_int_equal(stats.waiting, 3);
    assert_int_equal(stats.in_use, 2);
    assert_int_equal(stats.size, 2);
    cf_db_release(held[0]);
    cf_db_release(held[1]);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(pthread_join(threads[i], NULL), 0);
        if (runs[i].acquire_code != CF_OK || runs[i].query_code != CF_OK)
            fail_msg("thread %d: %s", i, runs[i].message);
        assert_true(runs[i].in_use_seen >= 1 && runs[i].in_use_seen <= 2);
    }
    cf_db_pool_get_stats(pool, &stats);
    assert_int_equal(stats.in_use, 0);
    assert_int_equal(stats.waiting, 0);
    cf_db_pool_free(pool);
}

static void test_acquire_times_out_when_all_leased(void **state)
{
    struct cf_db_pool_stats stats;
    struct cf_db_pool *pool;
    struct cf_db *db;
    struct cf_db *other = NULL;
    struct cf_error err;

    (void)state;
    REQUIRE_PG();
    cf_error_init(&err);
    pool = new_pool(1, 200);
    db = acquire_ok(pool);
    assert_int_equal(cf_db_acquire(pool, &other, &err), CF_E_DB_UNAVAILABLE);
    assert_null(other);
    assert_non_null(strstr(err.message, "no database connection became free within 200 ms"));
    cf_db_pool_get_stats(pool, &stats);
    assert_int_equal(stats.in_use, 1);
    assert_int_equal(stats.waiting, 0);
    cf_db_release(db);
    db = acquire_ok(pool);
    cf_db_release(db);
    cf_db_pool_free(pool);
}

static void test_release_rolls_back_open_transaction(void **state)
{
    const char *left_open[] = {"rb-left-open", "v"};
    const char *committed[] = {"rb-committed", "v"};
    struct cf_db_pool *pool;
    struct cf_db *db;
    struct cf_error err;

    (void)state;
    REQUIRE_PG();
    cf_error_init(&err);
    pool = new_pool(1, 2000);

    db = acquire_ok(pool);
    assert_int_equal(cf_db_begin(db, &err), CF_OK);
    assert_int_equal(cf_db_query(db, &q_kv_insert, left_open, 2, NULL, &err), CF_OK);
    assert_int_equal(PQtransactionStatus(cf_db_conn(db)), PQTRANS_INTRANS);
    cf_db_release(db);

    /* Size 1: the same connection comes back, idle, without the row. */
    db = acquire_ok(pool);
    assert_int_equal(PQtransactionStatus(cf_db_conn(db)), PQTRANS_IDLE);
    assert_int_equal(kv_count(db, "rb-left-open"), 0);

    /* A committed transaction keeps its row. */
    assert_int_equal(cf_db_begin(db, &err), CF_OK);
    assert_int_equal(cf_db_query(db, &q_kv_insert, committed, 2, NULL, &err), CF_OK);
    assert_int_equal(cf_db_commit(db, &err), CF_OK);
    assert_int_equal(kv_count(db, "rb-committed"), 1);

    /* COMMIT after a failed statement rolls back, and says so. */
    assert_int_equal(cf_db_begin(db, &err), CF_OK);
    assert_int_equal(cf_db_query(db, &q_kv_insert, committed, 2, NULL, &err), CF_E_CONFLICT);
    assert_int_equal(PQtransactionStatus(cf_db_conn(db)), PQTRANS_INERROR);
    assert_int_equal(cf_db_commit(db, &err), CF_E_INTERNAL);
    assert_non_null(strstr(err.message, "rolled back"));
    assert_int_equal(PQtransactionStatus(cf_db_conn(db)), PQTRANS_IDLE);

    /* A failed transaction left open is rolled back on release as well. */
    assert_int_equal(cf_db_begin(db, &err), CF_OK);
    assert_int_equal(cf_db_query(db, &q_kv_insert, committed, 2, NULL, &err), CF_E_CONFLICT);
    cf_db_release(db);
    db = acquire_ok(pool);
    assert_int_equal(PQtransactionStatus(cf_db_conn(db)), PQTRANS_IDLE);
    assert_int_equal(kv_count(db, "rb-committed"), 1);

    /* An explicit rollback. */
    assert_int_equal(cf_db_begin(db, &err), CF_OK);
    assert_int_equal(cf_db_query(db, &q_kv_insert, left_open, 2, NULL, &err), CF_OK);
    cf_db_rollback(db);
    assert_int_equal(PQtransactionStatus(cf_db_conn(db)), PQTRANS_IDLE);
    assert_int_equal(kv_count(db, "rb-left-open"), 0);
    cf_db_release(db);
    cf_db_pool_free(pool);
}

static void test_statement_reprepared_when_session_forgets_it(void **state)
{
    const char *params[] = {"a", "1", NULL};
    struct cf_db_pool *pool;
    struct cf_db *db;
    PGresult *res = NULL;
    struct cf_error err;

    (void)state;
    REQUIRE_PG();
    cf_error_init(&err);
    pool = new_pool(1, 2000);
    db = acquire_ok(pool);
    assert_int_equal(cf_db_query(db, &q_echo, params, 3, NULL, &err), CF_OK);
    /* What a pooler in front of a restarted server does to a session. */
    exec_ok(cf_db_conn(db), "DEALLOCATE ALL");
    assert_int_equal(cf_db_query(db, &q_echo, params, 3, &res, &err), CF_OK);
    assert_string_equal(PQgetvalue(res, 0, 1), "2");
    PQclear(res);
    cf_db_release(db);
    cf_db_pool_free(pool);
}

/* Migrations. */

static int mig_setup(void **state)
{
    (void)state;
    if (admin_conninfo == NULL)
        return 0;
    snprintf(mig_db, sizeof(mig_db), "coffer_test_mig_%ld", (long)getpid());
    create_scratch_db(mig_db, mig_conninfo, sizeof(mig_conninfo));
    return 0;
}

static int mig_teardown(void **state)
{
    (void)state;
    drop_scratch_db(mig_db);
    mig_db[0] = '\0';
    return 0;
}

static void test_migrate_runs_once_and_checks(void **state)
{
    struct cf_error err;
    char value[128];
    PGconn *conn;
    int applied = -1;

    (void)state;
    REQUIRE_PG();
    cf_error_init(&err);
    conn = connect_ok(mig_conninfo);
    assert_true(cf_embedded_migration_count >= 1);

    assert_int_equal(cf_migrate_check(conn, &err), CF_E_INTERNAL);
    assert_non_null(strstr(err.message, "cofferd migrate"));

    assert_int_equal(cf_migrate_run(conn, &applied, &err), CF_OK);
    assert_int_equal(applied, (int)cf_embedded_migration_count);
    assert_int_equal(cf_migrate_run(conn, &applied, &err), CF_OK);
    assert_int_equal(applied, 0);
    assert_int_equal(cf_migrate_check(conn, &err), CF_OK);

    query_value(conn, "SELECT count(*) FROM schema_migrations", value, sizeof(value));
    assert_int_equal(strtol(value, NULL, 10), (long)cf_embedded_migration_count);
    query_value(conn, "SELECT to_regclass('accounts') IS NOT NULL", value, sizeof(value));
    assert_string_equal(value, "t");
    query_value(conn, "SELECT checksum FROM schema_migrations ORDER BY name LIMIT 1", value, sizeof(value));
    assert_int_equal(strlen(value), 64);
    /* The session lock is given back at the end. */
    query_value(conn, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()",
                value, sizeof(value));
    assert_string_equal(value, "0");
    PQfinish(conn);
}

static void test_migrate_refuses_tampered_checksum(void **state)
{
    struct cf_error err;
    PGconn *conn;
    int applied = -1;

    (void)state;
    REQUIRE_PG();
    cf_error_init(&err);
    conn = connect_ok(mig_conninfo);
    assert_int_equal(cf_migrate_run(conn, &applied, &err), CF_OK);
    exec_ok(conn, "UPDATE schema_migrations SET checksum = repeat('0', 64) "
                  "WHERE name = (SELECT min(name) FROM schema_migrations)");

    assert_int_equal(cf_migrate_run(conn, &applied, &err), CF_E_INTERNAL);
    assert_int_equal(applied, 0);
    assert_non_null(strstr(err.message, "checksum mismatch"));
    assert_non_null(strstr(err.message, cf_embedded_migrations[0].name));
    assert_int_equal(cf_migrate_check(conn, &err), CF_E_INTERNAL);
    assert_non_null(strstr(err.message, "checksum mismatch"));
    assert_int_equal(PQtransactionStatus(conn), PQTRANS_IDLE);
    PQfinish(conn);
}

static void test_migrate_refuses_unknown_migration(void **state)
{
    struct cf_error err;
    PGconn *conn;
    int applied = -1;

    (void)state;
    REQUIRE_PG();
    cf_error_init(&err);
    conn = connect_ok(mig_conninfo);
    assert_int_equal(cf_migrate_run(conn, &applied, &err), CF_OK);
    exec_ok(conn, "INSERT INTO schema_migrations (name, checksum, applied_at) "
                  "VALUES ('999_from_the_future.sql', repeat('a', 64), now())");
    assert_int_equal(cf_migrate_run(conn, &applied, &err), CF_E_INTERNAL);
    assert_non_null(strstr(err.message, "999_from_the_future.sql"));
    assert_non_null(strstr(err.message, "does not know"));
    /* The check only warns: older instances keep serving during an upgrade. */
    assert_int_equal(cf_migrate_check(conn, &err), CF_OK);
    PQfinish(conn);
}

struct migrate_run {
    cf_code code;
    int applied;
    char message[512];
};

static void *migrate_thread(void *arg)
{
    struct migrate_run *run = arg;
    PGconn *conn = PQconnectdb(mig_conninfo);
    struct cf_error err;

    cf_error_init(&err);
    run->code = cf_migrate_run(conn, &run->applied, &err);
    snprintf(run->message, sizeof(run->message), "%s", err.message);
    PQfinish(conn);
    return NULL;
}

static void test_migrate_concurrent_runs_apply_once(void **state)
{
    struct migrate_run runs[2];
    pthread_t threads[2];

    (void)state;
    REQUIRE_PG();
    memset(runs, 0, sizeof(runs));
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&threads[i], NULL, migrate_thread, &runs[i]), 0);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(pthread_join(threads[i], NULL), 0);
        if (runs[i].code != CF_OK)
            fail_msg("run %d: %s", i, runs[i].message);
    }
    assert_int_equal(runs[0].applied + runs[1].applied, (int)cf_embedded_migration_count);
}

/* Reconnecting after a PostgreSQL restart. */

/* Runs pg_cluster_<action> DIR PORT from scripts/lib/postgres.sh; true on success. */
static bool cluster(const char *action)
{
    char script[1024];
    char port[16];
    const char *dir = getenv("COFFER_TEST_PG_DIR");
    const char *source = getenv("COFFER_SOURCE");
    pid_t pid;
    int status = 0;

    if (source != NULL && source[0] != '\0') {
        snprintf(script, sizeof(script), "%s/scripts/lib/postgres.sh", source);
    } else {
        /* This file is tests/unit/server/test_db_pool.c under the source tree. */
        snprintf(script, sizeof(script), "%s", __FILE__);
        for (int up = 0; up < 4; up++) {
            char *slash = strrchr(script, '/');

            if (slash == NULL) {
                script[0] = '\0';
                break;
            }
            *slash = '\0';
        }
        snprintf(script + strlen(script), sizeof(script) - strlen(script), "%sscripts/lib/postgres.sh",
                 script[0] != '\0' ? "/" : "");
    }
    conninfo_option(admin_conninfo, "port", "5432", port, sizeof(port));
    fflush(NULL);
    pid = fork();
    if (pid == 0) {
        execlp("bash", "bash", "-c", "set -euo pipefail; source \"$1\"; \"pg_cluster_$2\" \"$3\" \"$4\"",
               "bash", script, action, dir, port, (char *)NULL);
        _exit(127);
    }
    if (pid < 0 || waitpid(pid, &status, 0) != pid)
        return false;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static int restart_teardown(void **state)
{
    (void)state;
    /* Whatever happened in the test, leave the cluster running. */
    if (admin_conninfo != NULL && getenv("COFFER_TEST_PG_DIR") != NULL && !cluster("start"))
        fprintf(stderr, "could not start the test cluster again\n");
    return 0;
}

static double now_seconds(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A query through a fresh lease; returns the first failing code. */
static cf_code lease_and_query(struct cf_db_pool *pool, struct cf_error *err)
{
    const char *params[] = {"x", "1", NULL};
    struct cf_db *db = NULL;
    cf_code code;

    code = cf_db_acquire(pool, &db, err);
    if (code != CF_OK)
        return code;
    code = cf_db_query(db, &q_echo, params, 3, NULL, err);
    cf_db_release(db);
    return code;
}

static void test_reconnect_after_postgres_restart(void **state)
{
    const char *params[] = {"x", "1", NULL};
    struct cf_db_pool_stats stats;
    struct cf_db_pool *pool;
    struct cf_db *a;
    struct cf_db *b;
    PGresult *res = NULL;
    struct cf_error err;
    char pid_before[32];
    double started;

    (void)state;
    REQUIRE_PG();
    if (getenv("COFFER_TEST_PG_DIR") == NULL || getenv("COFFER_TEST_PG_DIR")[0] == '\0')
        skip();
    cf_error_init(&err);
    pool = new_pool(2, 2000);

    /* Open both connections and prepare a statement on each. */
    a = acquire_ok(pool);
    b = acquire_ok(pool);
    assert_int_equal(cf_db_query(a, &q_echo, params, 3, NULL, &err), CF_OK);
    assert_int_equal(cf_db_query(b, &q_echo, params, 3, NULL, &err), CF_OK);
    assert_int_equal(cf_db_query(a, &q_backend_pid, NULL, 0, &res, &err), CF_OK);
    snprintf(pid_before, sizeof(pid_before), "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    cf_db_release(a);
    /* b stays leased across the restart. */

    assert_true(cluster("stop"));

    /* While the server is down, calls fail quickly and say why. */
    started = now_seconds();
    assert_int_equal(lease_and_query(pool, &err), CF_E_DB_UNAVAILABLE);
    assert_int_equal(cf_db_query(b, &q_echo, params, 3, NULL, &err), CF_E_DB_UNAVAILABLE);
    assert_int_equal(err.code, CF_E_DB_UNAVAILABLE);
    assert_int_equal(lease_and_query(pool, &err), CF_E_DB_UNAVAILABLE);
    assert_true(now_seconds() - started < 5.0);
    cf_db_release(b);
    cf_db_pool_get_stats(pool, &stats);
    assert_int_equal(stats.in_use, 0);

    assert_true(cluster("start"));

    /* The same pool works again, on both connections, re-preparing statements. */
    a = acquire_ok(pool);
    b = acquire_ok(pool);
    assert_int_equal(cf_db_query(a, &q_echo, params, 3, NULL, &err), CF_OK);
    assert_int_equal(cf_db_query(b, &q_echo, params, 3, NULL, &err), CF_OK);
    assert_int_equal(cf_db_query(a, &q_backend_pid, NULL, 0, &res, &err), CF_OK);
    assert_string_not_equal(PQgetvalue(res, 0, 0), pid_before);
    PQclear(res);
    cf_db_release(a);
    cf_db_release(b);

    /* And a restart while every connection sits idle in the pool costs no
     * failed request: the lease notices the closed session and reconnects. */
    assert_true(cluster("stop"));
    assert_true(cluster("start"));
    assert_int_equal(lease_and_query(pool, &err), CF_OK);
    assert_int_equal(lease_and_query(pool, &err), CF_OK);
    cf_db_pool_free(pool);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pool_new_refuses_bad_arguments),
        cmocka_unit_test(test_query_params_round_trip),
        cmocka_unit_test(test_conninfo_settings_win_over_pool_defaults),
        cmocka_unit_test(test_unique_violation_is_conflict),
        cmocka_unit_test(test_concurrent_leases_share_two_connections),
        cmocka_unit_test(test_acquire_times_out_when_all_leased),
        cmocka_unit_test(test_release_rolls_back_open_transaction),
        cmocka_unit_test(test_statement_reprepared_when_session_forgets_it),
        cmocka_unit_test_setup_teardown(test_migrate_runs_once_and_checks, mig_setup, mig_teardown),
        cmocka_unit_test_setup_teardown(test_migrate_refuses_tampered_checksum, mig_setup, mig_teardown),
        cmocka_unit_test_setup_teardown(test_migrate_refuses_unknown_migration, mig_setup, mig_teardown),
        cmocka_unit_test_setup_teardown(test_migrate_concurrent_runs_apply_once, mig_setup, mig_teardown),
        cmocka_unit_test_teardown(test_reconnect_after_postgres_restart, restart_teardown),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
