#include "server/migrate.h"

#include "common/log.h"

#include <openssl/evp.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* The advisory lock key every cofferd takes around a migration run: "Coffer"
 * in ASCII. Any fixed number would do as long as all instances agree. */
#define MIGRATE_LOCK_KEY "74145738417522"

#define CHECKSUM_HEX_LEN 64

/* Copies a libpq message onto one line, for err and the log. */
static void one_line(char *dst, size_t size, const char *src)
{
    size_t used = 0;

    if (src == NULL)
        src = "";
    for (; *src != '\0' && used + 1 < size; src++) {
        if (*src == '\n' || *src == '\r' || *src == '\t') {
            if (used > 0 && dst[used - 1] != ' ' && src[1] != '\0')
                dst[used++] = ' ';
            continue;
        }
        dst[used++] = *src;
    }
    while (used > 0 && dst[used - 1] == ' ')
        used--;
    dst[used] = '\0';
}

/* Fails with the server's primary message (never DETAIL, which may quote rows). */
static cf_code db_fail(PGconn *conn, const PGresult *res, const char *what, struct cf_error *err)
{
    const char *primary = res != NULL ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    const char *state = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    char message[384];

    one_line(message, sizeof(message), primary != NULL ? primary : PQerrorMessage(conn));
    if (PQstatus(conn) != CONNECTION_OK)
        return cf_fail(err, CF_E_DB_UNAVAILABLE, "%s: the database connection was lost: %s", what, message);
    return cf_fail(err, CF_E_INTERNAL, "%s failed (SQLSTATE %s): %s", what, state != NULL ? state : "none",
                   message);
}

/* Runs one parameterised bookkeeping statement; *out (when not NULL) gets the
 * result, which the caller frees with PQclear. */
static cf_code exec_params(PGconn *conn, const char *sql, int nparams, const char *const *params,
                           PGresult **out, const char *what, struct cf_error *err)
{
    PGresult *res = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
    ExecStatusType status = PQresultStatus(res);
    cf_code code = CF_OK;

    if (out != NULL)
        *out = NULL;
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK)
        code = db_fail(conn, res, what, err);
    if (code == CF_OK && out != NULL)
        *out = res;
    else
        PQclear(res);
    return code;
}

/* A migration's SHA-256 as 64 lower-case hex digits. */
static cf_code checksum(const struct cf_embedded_migration *m, char hex[CHECKSUM_HEX_LEN + 1],
                        struct cf_error *err)
{
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int digest_len = 0;

    if (EVP_Digest(m->sql, m->len, digest, &digest_len, EVP_sha256(), NULL) != 1 || digest_len != 32)
        return cf_fail(err, CF_E_INTERNAL, "cannot compute the SHA-256 of migration %s", m->name);
    for (unsigned int i = 0; i < digest_len; i++)
        snprintf(hex + 2 * i, 3, "%02x", digest[i]);
    return CF_OK;
}

static cf_code table_exists(PGconn *conn, bool *exists, struct cf_error *err)
{
    PGresult *res = NULL;
    cf_code code;

    code = exec_params(conn, "SELECT to_regclass('schema_migrations') IS NOT NULL", 0, NULL, &res,
                       "looking for schema_migrations", err);
    if (code == CF_OK)
        *exists = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    return code;
}

/* The applied migrations as rows (name, checksum). Caller frees with PQclear. */
static cf_code load_applied(PGconn *conn, PGresult **rows, struct cf_error *err)
{
    return exec_params(conn, "SELECT name, checksum FROM schema_migrations ORDER BY name", 0, NULL, rows,
                       "reading schema_migrations", err);
}

/* The row of rows naming name, or -1. */
static int find_applied(const PGresult *rows, const char *name)
{
    for (int i = 0; i < PQntuples(rows); i++) {
        if (strcmp(PQgetvalue(rows, i, 0), name) == 0)
            return i;
    }
    return -1;
}

static const struct cf_embedded_migration *find_embedded(const char *name)
{
    for (size_t i = 0; i < cf_embedded_migration_count; i++) {
        if (strcmp(cf_embedded_migrations[i].name, name) == 0)
            return &cf_embedded_migrations[i];
    }
    return NULL;
}

/* Refuses when an applied migration differs from the embedded file of the same
 * name, or (when unknown_is_error) when the database holds one this binary
 * lacks. */
static cf_code verify_applied(const PGresult *rows, bool unknown_is_error, struct cf_error *err)
{
    char hex[CHECKSUM_HEX_LEN + 1];
    cf_code code;

    for (int i = 0; i < PQntuples(rows); i++) {
        const char *name = PQgetvalue(rows, i, 0);
        const struct cf_embedded_migration *m = find_embedded(name);

        if (m == NULL) {
            if (unknown_is_error)
                return cf_fail(err, CF_E_INTERNAL,
                               "the database holds migration %s, which this cofferd does not know: "
                               "it was migrated by a newer version",
                               name);
            cf_log(CF_LOG_WARN, "the database holds migration %s, which this cofferd does not know", name);
            continue;
        }
        code = checksum(m, hex, err);
        if (code != CF_OK)
            return code;
        if (strcmp(PQgetvalue(rows, i, 1), hex) != 0)
            return cf_fail(err, CF_E_INTERNAL,
                           "migration %s was changed after it was applied (checksum mismatch); "
                           "refusing to go on with this schema",
                           name);
    }
    return CF_OK;
}

/* Applies one migration and records it, in one transaction. */
static cf_code apply_one(PGconn *conn, const struct cf_embedded_migration *m, struct cf_error *err)
{
    char hex[CHECKSUM_HEX_LEN + 1];
    char what[128];
    const char *params[2];
    PGresult *res = NULL;
    cf_code code;

    code = checksum(m, hex, err);
    if (code != CF_OK)
        return code;
    snprintf(what, sizeof(what), "migration %s", m->name);

    res = PQexec(conn, "BEGIN");
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        code = db_fail(conn, res, what, err);
        goto out;
    }
    PQclear(res);
    /* PQexec: a migration file holds several statements, which the extended
     * protocol (PQexecParams) does not accept. It is our own SQL, never input. */
    res = PQexec(conn, m->sql);
    if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK) {
        code = db_fail(conn, res, what, err);
        goto out;
    }
    if (PQtransactionStatus(conn) != PQTRANS_INTRANS) {
        /* Too late to undo what it committed; say so rather than record it. */
        code = cf_fail(err, CF_E_INTERNAL,
                       "migration %s ended its transaction itself (a migration must not COMMIT or "
                       "ROLLBACK); it may be partly applied and is not recorded",
                       m->name);
        goto out;
    }
    PQclear(res);
    res = NULL;
    params[0] = m->name;
    params[1] = hex;
    code =
        exec_params(conn, "INSERT INTO schema_migrations (name, checksum, applied_at) VALUES ($1, $2, now())",
                    2, params, NULL, "recording a migration", err);
    if (code != CF_OK)
        goto out;
    res = PQexec(conn, "COMMIT");
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        code = db_fail(conn, res, what, err);
        goto out;
    }
out:
    PQclear(res);
    if (PQtransactionStatus(conn) != PQTRANS_IDLE && PQstatus(conn) == CONNECTION_OK) {
        res = PQexec(conn, "ROLLBACK");
        PQclear(res);
    }
    return code;
}

cf_code cf_migrate_run(PGconn *conn, int *applied, struct cf_error *err)
{
    const char *key[1] = {MIGRATE_LOCK_KEY};
    PGresult *rows = NULL;
    bool locked = false;
    bool exists = false;
    int count = 0;
    cf_code code;

    if (applied != NULL)
        *applied = 0;
    if (PQstatus(conn) != CONNECTION_OK)
        return cf_fail(err, CF_E_DB_UNAVAILABLE, "no database connection to migrate with");
    if (PQtransactionStatus(conn) != PQTRANS_IDLE)
        return cf_fail(err, CF_E_INTERNAL, "migrations need a connection outside any transaction");

    /* A session lock, so that it spans the per-migration transactions; an
     * instance that finds it taken waits for the other's run, then finds
     * nothing left to do. */
    code = exec_params(conn, "SELECT pg_advisory_lock($1::bigint)", 1, key, NULL, "taking the migration lock",
                       err);
    if (code != CF_OK)
        goto out;
    locked = true;

    code = table_exists(conn, &exists, err);
    if (code != CF_OK)
        goto out;
    if (!exists) {
        code = exec_params(conn,
                           "CREATE TABLE schema_migrations (name text PRIMARY KEY, checksum text NOT NULL, "
                           "applied_at timestamptz NOT NULL DEFAULT now())",
                           0, NULL, NULL, "creating schema_migrations", err);
        if (code != CF_OK)
            goto out;
    }
    code = load_applied(conn, &rows, err);
    if (code != CF_OK)
        goto out;
    code = verify_applied(rows, true, err);
    if (code != CF_OK)
        goto out;

    for (size_t i = 0; i < cf_embedded_migration_count; i++) {
        const struct cf_embedded_migration *m = &cf_embedded_migrations[i];

        if (find_applied(rows, m->name) >= 0)
            continue;
        code = apply_one(conn, m, err);
        if (code != CF_OK)
            goto out;
        count++;
        cf_log(CF_LOG_INFO, "applied migration %s", m->name);
    }
out:
    PQclear(rows);
    if (locked && PQstatus(conn) == CONNECTION_OK) {
        PGresult *res =
            PQexecParams(conn, "SELECT pg_advisory_unlock($1::bigint)", 1, NULL, key, NULL, NULL, 0);

        if (PQresultStatus(res) != PGRES_TUPLES_OK)
            cf_log(CF_LOG_WARN, "could not release the migration lock; it goes with the session");
        PQclear(res);
    }
    if (applied != NULL)
        *applied = count;
    return code;
}

cf_code cf_migrate_check(PGconn *conn, struct cf_error *err)
{
    PGresult *rows = NULL;
    bool exists = false;
    cf_code code;

    if (PQstatus(conn) != CONNECTION_OK)
        return cf_fail(err, CF_E_DB_UNAVAILABLE, "no database connection to check the schema with");
    code = table_exists(conn, &exists, err);
    if (code != CF_OK)
        goto out;
    if (!exists) {
        code = cf_fail(err, CF_E_INTERNAL, "the database has no Coffer schema yet: run `cofferd migrate`");
        goto out;
    }
    code = load_applied(conn, &rows, err);
    if (code != CF_OK)
        goto out;
    /* A migration this binary lacks is only a warning here: during a rolling
     * upgrade the older instances keep serving a schema that grew under them. */
    code = verify_applied(rows, false, err);
    if (code != CF_OK)
        goto out;
    for (size_t i = 0; i < cf_embedded_migration_count; i++) {
        if (find_applied(rows, cf_embedded_migrations[i].name) < 0) {
            code = cf_fail(err, CF_E_INTERNAL, "migration %s is not applied: run `cofferd migrate`",
                           cf_embedded_migrations[i].name);
            goto out;
        }
    }
out:
    PQclear(rows);
    return code;
}
