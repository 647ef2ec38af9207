/* The limits a new version must pass at commit, and how many old versions
 * rotation removes to make room. Pure functions over figures read under the
 * collection's and account's row locks (service_versions.c), so that the
 * rules can be tested without a database. */
#ifndef COFFER_SERVER_LIMITS_H
#define COFFER_SERVER_LIMITS_H

#include "collection_settings.h"
#include "common/error.h"
#include <stdint.h>

struct cf_commit_state {
    enum cf_strategy strategy;
    int64_t max_versions, max_version_size, max_collection_size; /* 0 = unlimited */
    int64_t versions, size;                                      /* the collection now */
    int64_t account_quota, account_size;                         /* the account now; quota 0 = unlimited */
    int64_t retention[CF_RETENTION_RULES];                       /* retention strategy: counts, 0 = no rule */
};

/* How many of the oldest versions delete_oldest_when_adding_new removes so
 * that the new one fits under max_versions; 0 for the other strategies. */
int64_t cf_rotation_count(const struct cf_commit_state *s);

/* Checks a new version of new_size bytes, with rotated_count versions of
 * rotated_size bytes leaving the collection in the same commit (rotation or
 * retention): 413 version_too_large, 409 too_many_versions (the strategies
 * that do not rotate: max_versions refuses, it never deletes), 413
 * collection_full, 507 account_quota_exceeded. */
cf_code cf_limits_check(const struct cf_commit_state *s, int64_t new_size, int64_t rotated_count,
                        int64_t rotated_size, struct cf_error *err);

/* The most bytes a new version may have, as the limits stand now, with
 * rotated_size bytes leaving in its commit: the smallest of max_version_size
 * and the room the collection and the account have left. *code is the
 * refusal past it (CF_OK and INT64_MAX when nothing limits it). The bounds are
 * those cf_limits_check applies. */
int64_t cf_limits_room(const struct cf_commit_state *s, int64_t rotated_size, cf_code *code);

#endif
