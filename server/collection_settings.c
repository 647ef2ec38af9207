#include "collection_settings.h"

#include "validate.h"

#include <string.h>

const char *const cf_retention_names[CF_RETENTION_RULES] = {"keep_last",   "keep_hourly",  "keep_daily",
                                                            "keep_weekly", "keep_monthly", "keep_yearly"};

static const char *const strategy_names[] = {"delete_oldest_when_adding_new", "alert_when_too_many_versions",
                                             "retention"};

static const char *const collection_fields[] = {
    "id",       "account_id",   "description",       "filename",
    "tags",     "max_versions", "max_version_size",  "max_collection_size",
    "strategy", "retention",    "expected_interval", NULL};

/* Read-only fields that a client may send back unchanged from a GET. */
static const char *const read_only_fields[] = {"created_at", "updated_at", "usage", NULL};

const char *cf_strategy_name(enum cf_strategy strategy)
{
    return strategy_names[strategy];
}

int cf_strategy_parse(const char *name)
{
    for (int i = 0; i < 3; i++) {
        if (strcmp(strategy_names[i], name) == 0)
            return i;
    }
    return -1;
}

static cf_code invalid(struct cf_error *err, const char *field, const char *what)
{
    cf_error_field(err, field, "%s", what);
    return cf_fail(err, CF_E_VALIDATION, "some fields are not valid");
}

static bool filename_valid(const char *name)
{
    if (name[0] == '\0' || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return false;
    for (const unsigned char *p = (const unsigned char *)name; *p != '\0'; p++) {
        /* The name goes into a quoted Content-Disposition header and onto disks. */
        if (*p < 0x20 || *p == 0x7f || *p == '"' || *p == '/' || *p == '\\')
            return false;
    }
    return true;
}

static cf_code parse_retention(const json_t *value, struct cf_collection_settings *out, struct cf_error *err)
{
    const char *key;
    json_t *rule;

    for (int i = 0; i < CF_RETENTION_RULES; i++)
        out->retention[i] = -1;
    if (json_is_null(value))
        return CF_OK;
    if (!json_is_object(value))
        return invalid(err, "retention", "must be an object of keep_* counts");
    json_object_foreach((json_t *)value, key, rule)
    {
        int found = -1;
        for (int i = 0; i < CF_RETENTION_RULES; i++) {
            if (strcmp(cf_retention_names[i], key) == 0)
                found = i;
        }
        if (found < 0)
            return invalid(err, "retention",
                           "knows only keep_last, keep_hourly, keep_daily, keep_weekly, "
                           "keep_monthly and keep_yearly");
        if (!json_is_integer(rule) || json_integer_value(rule) < 0 || json_integer_value(rule) > 100000)
            return invalid(err, "retention", "counts must be whole numbers from 0 to 100000");
        out->retention[found] = (int64_t)json_integer_value(rule);
    }
    return CF_OK;
}

cf_code cf_collection_settings_parse(const json_t *body, bool create, struct cf_collection_settings *out,
                                     struct cf_error *err)
{
    const char *key;
    json_t *value;
    const char *strategy = NULL;
    cf_code code = CF_OK;

    memset(out, 0, sizeof(*out));
    for (int i = 0; i < CF_RETENTION_RULES; i++)
        out->retention[i] = -1;
    json_object_foreach((json_t *)body, key, value)
    {
        bool known = false;
        for (size_t i = 0; collection_fields[i] != NULL && !known; i++)
            known = strcmp(collection_fields[i], key) == 0;
        for (size_t i = 0; read_only_fields[i] != NULL && !known && !create; i++)
            known = strcmp(read_only_fields[i], key) == 0;
        if (!known)
            code = invalid(err, key, "unknown field");
    }
    /* null leaves a field as it is, except where null is a value of its own
     * (retention and expected_interval: none). */
#define PRESENT(name)                                                                                        \
    (out->has_##name = !json_is_null(json_object_get(body, #name)) && json_object_get(body, #name))
    PRESENT(id);
    PRESENT(account_id);
    PRESENT(description);
    PRESENT(filename);
    PRESENT(tags);
    PRESENT(max_versions);
    PRESENT(max_version_size);
    PRESENT(max_collection_size);
    PRESENT(strategy);
#undef PRESENT
    out->has_retention = json_object_get(body, "retention") != NULL;
    out->has_expected_interval = json_object_get(body, "expected_interval") != NULL;

    code = cf_combine(err, code, cf_get_string(body, "id", 64, false, &out->id, err));
    if (out->id != NULL && !cf_id_valid(out->id))
        code = cf_combine(err, code, invalid(err, "id", "must match ^[A-Za-z0-9][A-Za-z0-9-]{0,63}$"));
    code = cf_combine(err, code, cf_get_string(body, "account_id", 64, false, &out->account_id, err));
    code = cf_combine(err, code, cf_get_string(body, "description", 1024, false, &out->description, err));
    code = cf_combine(err, code, cf_get_string(body, "filename", 255, false, &out->filename, err));
    if (out->filename != NULL && !filename_valid(out->filename))
        code = cf_combine(err, code,
                          invalid(err, "filename",
                                  "must be a file name without quotes, slashes or "
                                  "control characters"));
    code = cf_combine(err, code, cf_get_string_array(body, "tags", 32, 64, &out->tags, err));
    code = cf_combine(err, code, cf_get_count(body, "max_versions", 1000000, false, &out->max_versions, err));
    code = cf_combine(err, code, cf_get_size(body, "max_version_size", false, &out->max_version_size, err));
    code = cf_combine(err, code,
                      cf_get_size(body, "max_collection_size", false, &out->max_collection_size, err));
    code = cf_combine(err, code, cf_get_string(body, "strategy", 64, false, &strategy, err));
    if (strategy != NULL) {
        int parsed = cf_strategy_parse(strategy);
        if (parsed < 0)
            code = cf_combine(err, code,
                              invalid(err, "strategy",
                                      "must be delete_oldest_when_adding_new, "
                                      "alert_when_too_many_versions or retention"));
        else
            out->strategy = (enum cf_strategy)parsed;
    }
    if (out->has_retention)
        code = cf_combine(err, code, parse_retention(json_object_get(body, "retention"), out, err));
    value = json_object_get(body, "expected_interval");
    if (value != NULL && !json_is_null(value)) {
        if (!json_is_integer(value) || json_integer_value(value) < 1 || json_integer_value(value) > 315360000)
            code = cf_combine(err, code,
                              invalid(err, "expected_interval",
                                      "must be a number of seconds from 1 to 315360000, or null"));
        else
            out->expected_interval = (int64_t)json_integer_value(value);
    }
    return code;
}

void cf_collection_settings_merge(struct cf_collection_settings *next,
                                  const struct cf_collection_settings *current)
{
#define KEEP(name)                                                                                           \
    if (!next->has_##name) {                                                                                 \
        next->name = current->name;                                                                          \
        next->has_##name = current->has_##name;                                                              \
    }
    KEEP(id);
    KEEP(account_id);
    KEEP(description);
    KEEP(filename);
    KEEP(tags);
    KEEP(max_versions);
    KEEP(max_version_size);
    KEEP(max_collection_size);
    KEEP(strategy);
    KEEP(expected_interval);
#undef KEEP
    if (!next->has_retention) {
        memcpy(next->retention, current->retention, sizeof(next->retention));
        next->has_retention = current->has_retention;
    }
}

cf_code cf_collection_settings_check(const struct cf_collection_settings *s, struct cf_error *err)
{
    bool any_rule = false;
    cf_code code = CF_OK;

    for (int i = 0; i < CF_RETENTION_RULES; i++)
        any_rule = any_rule || s->retention[i] > 0;
    if (s->max_version_size > 0 && s->max_collection_size > 0 && s->max_version_size > s->max_collection_size)
        code = invalid(err, "max_version_size", "must not exceed max_collection_size");
    if (s->max_versions > 0 && s->max_version_size > 0 && s->max_collection_size > 0 &&
        (s->max_version_size > INT64_MAX / s->max_versions ||
         s->max_versions * s->max_version_size > s->max_collection_size))
        code = invalid(err, "max_collection_size", "must hold max_versions versions of max_version_size");
    if (s->strategy == CF_RETENTION && !any_rule)
        code = invalid(err, "retention", "the retention strategy needs at least one keep_* rule above 0");
    if (s->strategy != CF_RETENTION && any_rule)
        code = invalid(err, "retention",
                       "applies only with the retention strategy: add \"strategy\": \"retention\"");
    return code;
}

json_t *cf_collection_retention_json(const struct cf_collection_settings *s)
{
    json_t *rules = NULL;

    for (int i = 0; i < CF_RETENTION_RULES; i++) {
        if (s->retention[i] < 0)
            continue;
        if (rules == NULL)
            rules = json_object();
        json_object_set_new(rules, cf_retention_names[i], json_integer(s->retention[i]));
    }
    return rules;
}
