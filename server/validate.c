#include "validate.h"

#include "common/size.h"

#include <string.h>

bool cf_id_valid(const char *id)
{
    size_t len = strlen(id);

    if (len == 0 || len > 64)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = id[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && (i == 0 || c != '-'))
            return false;
    }
    return true;
}

cf_code cf_combine(struct cf_error *err, cf_code so_far, cf_code next)
{
    if (so_far == CF_OK || next == so_far)
        return next;
    if (next == CF_OK)
        return so_far;
    return cf_fail(err, CF_E_VALIDATION, "some fields are not valid");
}

size_t cf_utf8_length(const char *s)
{
    size_t count = 0;

    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++)
        count += (*p & 0xc0) != 0x80;
    return count;
}

static cf_code field_error(struct cf_error *err, const char *key, const char *what)
{
    cf_error_field(err, key, "%s", what);
    return cf_fail(err, CF_E_VALIDATION, "some fields are not valid");
}

cf_code cf_check_known_fields(const json_t *body, const char *const *allowed, struct cf_error *err)
{
    const char *key;
    json_t *value;
    cf_code code = CF_OK;

    json_object_foreach((json_t *)body, key, value)
    {
        bool known = false;
        for (size_t i = 0; allowed[i] != NULL && !known; i++)
            known = strcmp(allowed[i], key) == 0;
        if (!known)
            code = field_error(err, key, "unknown field");
    }
    return code;
}

cf_code cf_get_string(const json_t *body, const char *key, size_t max_len, bool required, const char **out,
                      struct cf_error *err)
{
    const json_t *value = json_object_get(body, key);

    if (value == NULL || json_is_null(value))
        return required ? field_error(err, key, "is required") : CF_OK;
    if (!json_is_string(value))
        return field_error(err, key, "must be a string");
    if (strlen(json_string_value(value)) != json_string_length(value))
        return field_error(err, key, "must not contain NUL characters");
    if (cf_utf8_length(json_string_value(value)) > max_len) {
        cf_error_field(err, key, "must be at most %zu characters", max_len);
        return cf_fail(err, CF_E_VALIDATION, "some fields are not valid");
    }
    *out = json_string_value(value);
    return CF_OK;
}

cf_code cf_get_count(const json_t *body, const char *key, int64_t max, bool required, int64_t *out,
                     struct cf_error *err)
{
    const json_t *value = json_object_get(body, key);

    if (value == NULL || json_is_null(value))
        return required ? field_error(err, key, "is required") : CF_OK;
    if (!json_is_integer(value) || json_integer_value(value) < 0 || json_integer_value(value) > max) {
        cf_error_field(err, key, "must be a whole number from 0 to %lld", (long long)max);
        return cf_fail(err, CF_E_VALIDATION, "some fields are not valid");
    }
    *out = (int64_t)json_integer_value(value);
    return CF_OK;
}

cf_code cf_get_size(const json_t *body, const char *key, bool required, int64_t *out, struct cf_error *err)
{
    const json_t *value = json_object_get(body, key);
    struct cf_error size_err;
    cf_code code;

    if (value == NULL || json_is_null(value))
        return required ? field_error(err, key, "is required") : CF_OK;
    cf_error_init(&size_err);
    code = cf_size_from_json(value, out, &size_err);
    if (code != CF_OK) {
        /* The contract gives sizes their own code, with the field named. */
        cf_error_field(err, key, "%s", size_err.message);
        cf_fail(err, CF_E_INVALID_SIZE, "%s: %s", key, size_err.message);
    }
    cf_error_dispose(&size_err);
    return code;
}

cf_code cf_get_bool(const json_t *body, const char *key, bool *out, struct cf_error *err)
{
    const json_t *value = json_object_get(body, key);

    if (value == NULL || json_is_null(value))
        return CF_OK;
    if (!json_is_boolean(value))
        return field_error(err, key, "must be true or false");
    *out = json_is_true(value);
    return CF_OK;
}

cf_code cf_get_string_array(const json_t *body, const char *key, size_t max_items, size_t max_len,
                            const json_t **out, struct cf_error *err)
{
    const json_t *value = json_object_get(body, key);
    size_t i;
    json_t *item;

    *out = NULL;
    if (value == NULL || json_is_null(value))
        return CF_OK;
    if (!json_is_array(value))
        return field_error(err, key, "must be an array of strings");
    if (json_array_size(value) > max_items) {
        cf_error_field(err, key, "may hold at most %zu items", max_items);
        return cf_fail(err, CF_E_VALIDATION, "some fields are not valid");
    }
    json_array_foreach(value, i, item)
    {
        if (!json_is_string(item) || json_string_length(item) == 0 ||
            strlen(json_string_value(item)) != json_string_length(item) ||
            cf_utf8_length(json_string_value(item)) > max_len) {
            cf_error_field(err, key, "must hold non-empty strings of at most %zu characters", max_len);
            return cf_fail(err, CF_E_VALIDATION, "some fields are not valid");
        }
    }
    *out = value;
    return CF_OK;
}
