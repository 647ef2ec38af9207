/* Checks of JSON request bodies shared by the handlers. Each failing check adds
 * the field and what is wrong to err->fields and returns CF_E_VALIDATION, so a
 * handler can run several checks and report every bad field at once. */
#ifndef COFFER_SERVER_VALIDATE_H
#define COFFER_SERVER_VALIDATE_H

#include "common/error.h"
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

/* Ids of accounts and collections: ^[A-Za-z0-9][A-Za-z0-9-]{0,63}$ */
bool cf_id_valid(const char *id);

/* Every key of body must be in allowed (NULL-terminated). */
cf_code cf_check_known_fields(const json_t *body, const char *const *allowed, struct cf_error *err);

/* The number of characters (UTF-8 code points) in s. */
size_t cf_utf8_length(const char *s);

/* Reads body[key] when present: a string of at most max_len characters. *out is
 * borrowed from body. required: a missing key is an error. */
cf_code cf_get_string(const json_t *body, const char *key, size_t max_len, bool required, const char **out,
                      struct cf_error *err);
/* A non-negative integer no larger than max. */
cf_code cf_get_count(const json_t *body, const char *key, int64_t max, bool required, int64_t *out,
                     struct cf_error *err);
/* A size (integer bytes or a size string, see common/size.h). */
cf_code cf_get_size(const json_t *body, const char *key, bool required, int64_t *out, struct cf_error *err);
cf_code cf_get_bool(const json_t *body, const char *key, bool *out, struct cf_error *err);
/* An array of at most max_items strings of at most max_len characters each;
 * *out is borrowed (set to NULL when absent). */
cf_code cf_get_string_array(const json_t *body, const char *key, size_t max_items, size_t max_len,
                            const json_t **out, struct cf_error *err);

/* Folds the outcome of one more check into a run of checks, keeping err->code
 * and the returned code the same: CF_OK while all pass, the failure's own code
 * when one kind failed, and CF_E_VALIDATION ("some fields are not valid", with
 * every field listed) when checks failed with different codes. */
cf_code cf_combine(struct cf_error *err, cf_code so_far, cf_code next);

#endif
