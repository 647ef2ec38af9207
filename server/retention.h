/* Which versions the retention strategy keeps. Pure function.
 *
 * A version is kept when any rule selects it:
 *   keep_last N     the N newest versions;
 *   keep_hourly N   the newest version of each of the N most recent hours that
 *                   have a version; likewise keep_daily (days), keep_weekly
 *                   (ISO weeks, Monday to Sunday), keep_monthly, keep_yearly.
 * Periods are in UTC. "Newest" is by creation time, then by number.
 *
 * The version being uploaded takes part with the number CF_RETENTION_INCOMING
 * and always counts as the newest: it sorts before every stored version of
 * the same second (its real number, taken at commit, will be higher than
 * theirs), and a creation time older than a stored version's (a server clock
 * stepped back) is raised to the newest stored time for the selection, so that
 * keep_last N keeps it and N - 1 others, never N others beside it. */
#ifndef COFFER_SERVER_RETENTION_H
#define COFFER_SERVER_RETENTION_H

#include "collection_settings.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The number of the version being uploaded (it has none before its commit). */
#define CF_RETENTION_INCOMING INT64_MAX

struct cf_retained_version {
    int64_t number;
    int64_t created_at; /* Unix seconds */
    int64_t size;       /* the caller's own figure, carried along untouched */
    bool keep;          /* output */
};

/* rules: counts indexed like cf_retention_names (keep_last first); a count
 * below 1 is no rule. Sets keep on each of the n versions (any order; the
 * array is reordered newest first). At most one version may be numbered
 * CF_RETENTION_INCOMING; its created_at may be raised, as said above. */
void cf_retention_select(const int64_t rules[CF_RETENTION_RULES], struct cf_retained_version *versions,
                         size_t n);

#endif
