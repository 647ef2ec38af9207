/* Uploading what waits in a spool (client/spool.h), oldest first.
 *
 * An entry is deleted only after the server has confirmed a version with the
 * entry's SHA-256: the 201 answer to its upload, or, when an earlier attempt's
 * answer was lost (the connection broke after the server committed), a
 * version already in the collection's list with the same SHA-256 and size,
 * created no earlier than the entry itself (less CF_SYNC_CLOCK_SKEW seconds,
 * for a client clock ahead of the server's). The list is read before every
 * upload that follows an attempt which may have reached the server (each
 * attempt leaves a mark in the spool), so a retry never stores a second
 * copy, while a new backup equal to an older one still becomes a version. Other versions, newer ones
 * included, never make an entry go away. A token without versions.list
 * cannot read the list: then the entry is uploaded unchecked (a lost answer
 * may cost a duplicate version, never a lost backup).
 *
 * Network failures and 5xx answers are retried per the API's policy
 * (client/retry.h); if they persist the sync stops there, the remaining
 * entries wait, and that error is returned. A 4xx refusal of one entry (the
 * collection is full, say) leaves that entry in the spool and the sync goes
 * on with the next; the first such refusal is returned at the end.
 *
 * The spool's lock is held for the whole run, so two coffer processes never
 * upload the same entry; under it the leftovers of killed runs are swept
 * (cf_spool_sweep). */
#ifndef COFFER_CLIENT_SYNC_H
#define COFFER_CLIENT_SYNC_H

#include "client/api.h"
#include "client/spool.h"
#include "common/error.h"

#include <jansson.h>
#include <stdbool.h>

#define CF_SYNC_CLOCK_SKEW 900

enum cf_sync_outcome {
    CF_SYNC_UPLOADED,      /* stored now; version is the server's */
    CF_SYNC_ALREADY_THERE, /* an earlier attempt had stored it; version is the one found */
    CF_SYNC_REFUSED,       /* refused (4xx); the entry stays; why says so */
};

struct cf_sync_options {
    bool progress; /* draw a progress line per entry */
    /* Told about each entry that was dealt with (may be NULL); rotated is the
     * upload's "rotated" (numbers rotation deleted; empty unless uploaded now). */
    void (*on_entry)(void *ctx, const struct cf_spool_entry *entry, enum cf_sync_outcome outcome,
                     const json_t *version, const json_t *rotated, const struct cf_error *why);
    void *ctx;
};

struct cf_sync_result {
    int uploaded;
    int already_there;
    int refused;
    int left;       /* entries still in the spool afterwards (for this collection, when one was named) */
    bool unchecked; /* the token may not list versions, so earlier attempts could not be looked for */
};

/* collection NULL: every entry of dir. */
cf_code cf_sync_spool(struct cf_api *api, const char *dir, const char *collection,
                      const struct cf_sync_options *options, struct cf_sync_result *result,
                      struct cf_error *err);

/* Uploads the file at path as entry (its collection, size, SHA-256 and
 * creation time, sent as X-Coffer-Made-At) with retries, and deletes nothing. The version list is read
 * before an attempt only when an earlier one may have reached the server: in
 * this call, or, for a spool entry (spool names its directory), in an earlier
 * run (cf_spool_attempted); each attempt on a spool entry is marked first.
 * *version (caller decrefs) is the version that holds the file;
 * *already_there tells whether an earlier attempt had stored it; *unchecked
 * is set when the token may not list versions. *rotated (caller decrefs; may
 * be NULL) is the answer's "rotated", an empty array when already there. */
cf_code cf_sync_upload_file(struct cf_api *api, const char *path, const struct cf_spool_entry *entry,
                            const char *spool, bool progress, json_t **version, json_t **rotated,
                            bool *already_there, bool *unchecked, struct cf_error *err);

/* True when version (an API version object) is the upload of entry. */
bool cf_sync_version_confirms(const json_t *version, const struct cf_spool_entry *entry);

#endif
