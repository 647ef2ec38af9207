#include "client/sync.h"

#include "client/exit_codes.h"
#include "client/progress.h"
#include "client/retry.h"
#include "client/upload.h"
#include "common/rfc3339.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

bool cf_sync_version_confirms(const json_t *version, const struct cf_spool_entry *entry)
{
    const char *sha256 = json_string_value(json_object_get(version, "sha256"));
    const char *created = json_string_value(json_object_get(version, "created_at"));
    json_t *size = json_object_get(version, "size");
    int64_t created_at;

    if (sha256 == NULL || strcasecmp(sha256, entry->sha256) != 0)
        return false;
    if (!json_is_integer(size) || (uint64_t)json_integer_value(size) != entry->size)
        return false;
    if (created == NULL || !cf_rfc3339_parse(created, &created_at))
        return false;
    return created_at >= entry->created - CF_SYNC_CLOCK_SKEW;
}

/* The version that confirms entry, looked up in the collection's list (NULL
 * when none; *found is borrowed from *list, which the caller decrefs). */
static cf_code find_confirmation(struct cf_api *api, const struct cf_spool_entry *entry, json_t **list,
                                 const json_t **found, struct cf_error *err)
{
    char path[256];
    json_t *versions;
    size_t i;
    json_t *v;
    cf_code code;

    *found = NULL;
    snprintf(path, sizeof(path), "/api/stable/repository/collection/%s/versions", entry->collection);
    /* Once: the caller retries the whole step, this look and the upload. */
    code = cf_api_json_once(api, "GET", path, NULL, list, err);
    if (code != CF_OK)
        return code;
    versions = json_object_get(*list, "versions");
    json_array_foreach(versions, i, v)
    {
        if (cf_sync_version_confirms(v, entry)) {
            *found = v;
            break;
        }
    }
    return CF_OK;
}

static cf_code upload_once(struct cf_api *api, const char *path, const struct cf_spool_entry *entry,
                           bool progress, json_t **result, struct cf_error *err)
{
    struct cf_progress bar;
    char label[96];
    int fd;
    cf_code code;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return cf_fail(err, CF_E_IO, "cannot open %s: %s", path, strerror(errno));
    snprintf(label, sizeof(label), "upload %s", entry->collection);
    cf_progress_init(&bar, label, entry->size, progress);
    code = cf_upload_file(api, entry->collection, fd, entry->size, entry->sha256, entry->created, &bar, result,
                          err);
    close(fd);
    return code;
}

cf_code cf_sync_upload_file(struct cf_api *api, const char *path, const struct cf_spool_entry *entry,
                            const char *spool, bool progress, json_t **version, json_t **rotated,
                            bool *already_there, bool *unchecked, struct cf_error *err)
{
    /* Only an attempt that may have reached the server makes the list worth reading:
     * a fresh backup equal to a recent version is still a new version. */
    bool look = spool != NULL && cf_spool_attempted(spool, entry);
    cf_code code = CF_OK;

    *version = NULL;
    if (rotated != NULL)
        *rotated = NULL;
    *already_there = false;
    for (;;) {
        json_t *list = NULL, *answer = NULL;
        const json_t *found = NULL;

        if (look) {
            code = find_confirmation(api, entry, &list, &found, err);
            /* An upload-only token may not list versions: upload without the
             * check (a lost answer may then cost a duplicate, never a loss). */
            if (code == CF_E_PERMISSION_DENIED) {
                *unchecked = true;
                code = CF_OK;
            }
        }
        if (code == CF_OK && found != NULL) {
            *version = json_incref((json_t *)found);
            if (rotated != NULL)
                *rotated = json_array();
            *already_there = true;
            json_decref(list);
            return CF_OK;
        }
        json_decref(list);
        if (code == CF_OK && spool != NULL)
            code = cf_spool_mark_attempt(spool, entry, err);
        if (code == CF_OK) {
            look = true;
            code = upload_once(api, path, entry, progress, &answer, err);
            if (code == CF_OK) {
                *version = json_incref(json_object_get(answer, "version"));
                if (rotated != NULL)
                    *rotated = json_incref(json_object_get(answer, "rotated"));
                json_decref(answer);
                return CF_OK;
            }
            json_decref(answer);
        }
        if (!cf_retry_again(cf_api_retry(api), code, err))
            return code;
    }
}

static void tell(const struct cf_sync_options *options, const struct cf_spool_entry *entry,
                 enum cf_sync_outcome outcome, const json_t *version, const json_t *rotated,
                 const struct cf_error *why)
{
    if (options != NULL && options->on_entry != NULL)
        options->on_entry(options->ctx, entry, outcome, version, rotated, why);
}

/* One entry: CF_OK when it is confirmed and gone; else why it stays. */
static cf_code sync_entry(struct cf_api *api, const char *dir, const struct cf_spool_entry *entry,
                          const struct cf_sync_options *options, struct cf_sync_result *result,
                          struct cf_error *err)
{
    char path[4096 + CF_SPOOL_NAME_MAX];
    json_t *version = NULL, *rotated = NULL;
    bool already_there = false;
    cf_code code;

    cf_spool_path(path, sizeof(path), dir, entry);
    code = cf_sync_upload_file(api, path, entry, dir, options != NULL && options->progress, &version,
                               &rotated, &already_there, &result->unchecked, err);
    if (code == CF_OK)
        code = cf_spool_remove(dir, entry, err);
    if (code == CF_OK) {
        if (already_there)
            result->already_there++;
        else
            result->uploaded++;
        tell(options, entry, already_there ? CF_SYNC_ALREADY_THERE : CF_SYNC_UPLOADED, version, rotated, NULL);
    }
    json_decref(rotated);
    json_decref(version);
    return code;
}

cf_code cf_sync_spool(struct cf_api *api, const char *dir, const char *collection,
                      const struct cf_sync_options *options, struct cf_sync_result *result,
                      struct cf_error *err)
{
    struct cf_spool_entry *entries = NULL;
    struct cf_error refusal;
    size_t count = 0, i;
    int lock = -1;
    cf_code code, refused_code = CF_OK;

    memset(result, 0, sizeof(*result));
    cf_error_init(&refusal);
    code = cf_spool_lock(dir, &lock, err);
    if (code == CF_OK)
        cf_spool_sweep(dir);
    /* Listed under the lock: another coffer may have uploaded some meanwhile. */
    if (code == CF_OK)
        code = cf_spool_list(dir, collection, &entries, &count, err);
    for (i = 0; code == CF_OK && i < count; i++) {
        code = sync_entry(api, dir, &entries[i], options, result, err);
        if (code == CF_OK || cf_retry_worth(code) || code == CF_E_IO || code == CF_E_NOMEM)
            continue;
        /* Refused: this entry stays, the next one may go. */
        result->refused++;
        tell(options, &entries[i], CF_SYNC_REFUSED, NULL, NULL, err);
        if (refused_code == CF_OK) {
            refused_code = code;
            cf_fail(&refusal, code, "%s", err->message);
            refusal.fields = err->fields != NULL ? json_incref(err->fields) : NULL;
        }
        code = CF_OK;
    }
    free(entries);
    if (code == CF_OK || lock >= 0) {
        struct cf_error ignored;
        cf_error_init(&ignored);
        /* How many wait now, whatever happened above. */
        if (cf_spool_list(dir, collection, &entries, &count, &ignored) == CF_OK)
            result->left = (int)count;
        free(entries);
        cf_error_dispose(&ignored);
    }
    cf_spool_unlock(lock);
    if (code == CF_OK && refused_code != CF_OK) {
        code = cf_fail(err, refused_code, "%s", refusal.message);
        if (err != NULL) {
            json_decref(err->fields);
            err->fields = refusal.fields != NULL ? json_incref(refusal.fields) : NULL;
        }
    }
    cf_error_dispose(&refusal);
    return code;
}
