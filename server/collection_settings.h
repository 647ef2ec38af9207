/* A collection's settings as a client sends them: parsing from JSON and the
 * validation rules of the contract that need no database (limits consistent
 * with each other, strategy and retention together). Pure functions. */
#ifndef COFFER_SERVER_COLLECTION_SETTINGS_H
#define COFFER_SERVER_COLLECTION_SETTINGS_H

#include "common/error.h"
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

enum cf_strategy { CF_DELETE_OLDEST = 0, CF_ALERT_TOO_MANY, CF_RETENTION };

#define CF_RETENTION_RULES 6
/* keep_last, keep_hourly, keep_daily, keep_weekly, keep_monthly, keep_yearly */
extern const char *const cf_retention_names[CF_RETENTION_RULES];

struct cf_collection_settings {
    /* Each has_* says the field was in the request (or, after merge, is known). */
    bool has_id, has_account_id, has_description, has_filename, has_tags, has_max_versions,
        has_max_version_size, has_max_collection_size, has_strategy, has_retention, has_expected_interval;
    const char *id; /* borrowed from the JSON */
    const char *account_id;
    const char *description;
    const char *filename;
    const json_t *tags; /* borrowed array */
    int64_t max_versions, max_version_size, max_collection_size;
    enum cf_strategy strategy;
    int64_t retention[CF_RETENTION_RULES]; /* -1 = rule absent */
    int64_t expected_interval;             /* 0 = none */
};

const char *cf_strategy_name(enum cf_strategy strategy);
/* -1 when unknown. */
int cf_strategy_parse(const char *name);

/* Reads a create (create=true) or edit body. Unknown fields, bad types and
 * bounds are CF_E_VALIDATION (sizes CF_E_INVALID_SIZE) with every bad field
 * listed. Strings stay borrowed from body. */
cf_code cf_collection_settings_parse(const json_t *body, bool create, struct cf_collection_settings *out,
                                     struct cf_error *err);

/* Fills what next lacks from current (the stored settings), so that the
 * rules can be checked on the collection as it would be after the edit. */
void cf_collection_settings_merge(struct cf_collection_settings *next,
                                  const struct cf_collection_settings *current);

/* The rules between fields: max_version_size <= max_collection_size;
 * max_versions * max_version_size <= max_collection_size; retention only with
 * the retention strategy, which needs at least one rule. */
cf_code cf_collection_settings_check(const struct cf_collection_settings *s, struct cf_error *err);

/* The retention rules as a JSON object (only those present), or NULL. */
json_t *cf_collection_retention_json(const struct cf_collection_settings *s);

#endif
