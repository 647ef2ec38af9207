/* Removing bytes that no committed version owns: objects of deleted or rotated
 * versions (doomed_objects), of uploads whose server died (pending_uploads
 * whose heartbeat stopped), and uncommitted leftovers in storage that no row
 * points at any more (cf_store_sweep: part files, S3 multipart uploads).
 * Runs at start-up, every cleanup_interval seconds in a background thread,
 * and on demand (`cofferd cleanup`). A committed version's bytes are never
 * touched: only keys listed in those two tables are removed (a dead upload's
 * row moves to doomed_objects before its bytes go, and its commit needs the
 * row), and the sweep touches only uncommitted leftovers (never an object)
 * whose key no pending upload holds. */
#ifndef COFFER_SERVER_CLEANUP_H
#define COFFER_SERVER_CLEANUP_H

#include "app.h"

struct cf_cleanup_stats {
    int dead_uploads;    /* pending uploads removed */
    int doomed;          /* objects of deleted versions removed */
    int stale_leftovers; /* uncommitted leftovers nothing owned, removed */
    int failures;        /* left for the next pass */
};

/* One pass. stale_after: seconds without a heartbeat that make an upload dead. */
cf_code cf_cleanup_pass(struct cf_app *app, int64_t stale_after, struct cf_cleanup_stats *stats,
                        struct cf_error *err);

/* Right after a commit that deleted versions: removes the bytes of the keys
 * in column col of res and forgets them in doomed_objects, using db (outside
 * any transaction). Failures are logged and left to the next pass. */
void cf_cleanup_remove_doomed(struct cf_app *app, struct cf_db *db, PGresult *res, int col);

/* Records that this instance is still writing its pending uploads. */
cf_code cf_cleanup_heartbeat(struct cf_app *app, struct cf_error *err);

/* The background thread: a pass at once (what servers that died left
 * behind), then a heartbeat every few seconds and a pass every
 * cleanup_interval. The first pass runs while the server already serves, so a
 * slow or unreachable storage cannot hold the start up. */
struct cf_cleanup_worker;
cf_code cf_cleanup_worker_start(struct cf_app *app, struct cf_cleanup_worker **out, struct cf_error *err);
void cf_cleanup_worker_stop(struct cf_cleanup_worker *worker);

#endif
