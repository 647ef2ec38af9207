/* The dependency checks behind /health and coffer_up: the storage (write,
 * read back, delete a small object) and the database (a query), each bounded
 * by health_timeout_ms so that a hung dependency makes the answer "down", never
 * a hung request.
 *
 * Each check runs in a thread of its own; a check that overruns its deadline
 * is reported as failed and left to finish in the background, and until it
 * does, that dependency is reported as failed at once without starting another
 * (so a hung NFS mount cannot pile up threads). */
#ifndef COFFER_SERVER_HEALTH_H
#define COFFER_SERVER_HEALTH_H

#include "app.h"

#include <stdbool.h>

struct cf_health {
    bool storage;
    bool database;
    char storage_message[256]; /* "" when fine */
    char database_message[256];
};

/* Runs both checks at once and waits at most health_timeout_ms. */
void cf_health_check(struct cf_app *app, struct cf_health *out);
/* The database check alone, for /ready (load balancers). */
bool cf_health_database(struct cf_app *app);
/* At shutdown: waits up to timeout_ms for checks still running past their
 * deadline, since they use the app's store and pool, and says which still
 * run. The caller must leave those to the process's exit rather than free
 * them under the hung check. */
void cf_health_quiesce(int timeout_ms, bool *storage_busy, bool *database_busy);

#endif
