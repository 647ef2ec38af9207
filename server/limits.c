#include "limits.h"

int64_t cf_rotation_count(const struct cf_commit_state *s)
{
    if (s->strategy != CF_DELETE_OLDEST || s->max_versions <= 0 || s->versions < s->max_versions)
        return 0;
    return s->versions + 1 - s->max_versions;
}

cf_code cf_limits_check(const struct cf_commit_state *s, int64_t new_size, int64_t rotated_count,
                        int64_t rotated_size, struct cf_error *err)
{
    if (s->max_version_size > 0 && new_size > s->max_version_size)
        return cf_fail(err, CF_E_VERSION_TOO_LARGE,
                       "the version is %lld bytes; this collection takes at most %lld", (long long)new_size,
                       (long long)s->max_version_size);
    if (s->strategy != CF_DELETE_OLDEST && s->max_versions > 0 &&
        s->versions - rotated_count >= s->max_versions)
        return cf_fail(err, CF_E_TOO_MANY_VERSIONS,
                       "the collection already holds its maximum of %lld versions; delete one first",
                       (long long)s->max_versions);
    if (s->max_collection_size > 0 && s->size - rotated_size + new_size > s->max_collection_size)
        return cf_fail(err, CF_E_COLLECTION_FULL,
                       "the collection would hold %lld bytes, more than its limit of %lld",
                       (long long)(s->size - rotated_size + new_size), (long long)s->max_collection_size);
    if (s->account_quota > 0 && s->account_size - rotated_size + new_size > s->account_quota)
        return cf_fail(err, CF_E_ACCOUNT_QUOTA_EXCEEDED,
                       "the account would store %lld bytes, more than its quota of %lld",
                       (long long)(s->account_size - rotated_size + new_size), (long long)s->account_quota);
    return CF_OK;
}

int64_t cf_limits_room(const struct cf_commit_state *s, int64_t rotated_size, cf_code *code)
{
    int64_t room = INT64_MAX;

    *code = CF_OK;
    if (s->max_version_size > 0) {
        room = s->max_version_size;
        *code = CF_E_VERSION_TOO_LARGE;
    }
    if (s->max_collection_size > 0 && s->max_collection_size - (s->size - rotated_size) < room) {
        room = s->max_collection_size - (s->size - rotated_size);
        *code = CF_E_COLLECTION_FULL;
    }
    if (s->account_quota > 0 && s->account_quota - (s->account_size - rotated_size) < room) {
        room = s->account_quota - (s->account_size - rotated_size);
        *code = CF_E_ACCOUNT_QUOTA_EXCEEDED;
    }
    return room;
}
