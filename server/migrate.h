/* Schema migrations: the numbered SQL files of migrations/, compiled into the
 * binary (see cmake/embed_migrations.cmake), applied forward-only, each in its
 * own transaction, recorded with its SHA-256 in schema_migrations. A session
 * advisory lock serialises instances that start together. */
#ifndef COFFER_SERVER_MIGRATE_H
#define COFFER_SERVER_MIGRATE_H

#include "common/error.h"
#include <libpq-fe.h>
#include <stddef.h>

struct cf_embedded_migration {
    const char *name; /* file name, "001_initial.sql" */
    const char *sql;
    size_t len;
};
extern const struct cf_embedded_migration cf_embedded_migrations[];
extern const size_t cf_embedded_migration_count;

/* Applies what is missing. *applied gets the number applied now. Refuses
 * (CF_E_INTERNAL) when an applied file's checksum differs from the embedded
 * one, or the database holds a migration this binary does not know. */
cf_code cf_migrate_run(PGconn *conn, int *applied, struct cf_error *err);

/* CF_OK when every embedded migration is applied with its checksum;
 * CF_E_INTERNAL with a message saying to run `cofferd migrate` otherwise. */
cf_code cf_migrate_check(PGconn *conn, struct cf_error *err);

#endif
