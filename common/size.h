/* Sizes as the API writes them: integers (bytes) or strings such as "512",
 * "10KB", "5MB" (SI, powers of 1000) or "10KiB", "5MiB" (IEC, powers of 1024),
 * up to TB/TiB. 0 means unlimited. */
#ifndef COFFER_COMMON_SIZE_H
#define COFFER_COMMON_SIZE_H

#include "common/error.h"
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* Parses a size string; CF_E_INVALID_SIZE for anything else, for negative
 * numbers, and for results above INT64_MAX. Only digits followed by nothing or
 * by exactly one of KB MB GB TB KiB MiB GiB TiB are sizes: no "B", no lower
 * case, no spaces, no sign, no decimals. err (may be NULL) gets a sentence
 * naming the refused text. */
cf_code cf_size_parse(const char *text, int64_t *out, struct cf_error *err);
/* The same for a JSON value: a non-negative integer or a size string. */
cf_code cf_size_from_json(const json_t *value, int64_t *out, struct cf_error *err);
/* Formats bytes for people, e.g. "1.5 GiB"; returns out. */
char *cf_size_format(int64_t bytes, char *out, size_t out_len);

#endif
