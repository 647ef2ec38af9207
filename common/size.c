#include "common/size.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define SIZE_HINT      "use bytes or an integer with KB, MB, GB, TB, KiB, MiB, GiB or TiB"
#define JSON_SIZE_HINT "use a whole number of bytes or a string such as \"10GB\""
/* How much of a rejected text goes into the message; the rest becomes "...". */
#define QUOTE_MAX 64

struct size_unit {
    const char *name;
    int64_t factor;
};

/* The only spellings accepted: upper-case SI and IEC, no "B" alone, no spaces. */
static const struct size_unit size_units[] = {
    {"KB", INT64_C(1000)},
    {"MB", INT64_C(1000) * 1000},
    {"GB", INT64_C(1000) * 1000 * 1000},
    {"TB", INT64_C(1000) * 1000 * 1000 * 1000},
    {"KiB", INT64_C(1) << 10},
    {"MiB", INT64_C(1) << 20},
    {"GiB", INT64_C(1) << 30},
    {"TiB", INT64_C(1) << 40},
};

/* Copies text for an error message: at most QUOTE_MAX characters, and anything
 * unprintable as '?', so that a hostile value cannot flood or garble a log. */
static const char *quote_text(const char *text, char *out, size_t out_len)
{
    size_t i;
    size_t limit = out_len - 4; /* room for "..." and the NUL */

    for (i = 0; text[i] != '\0' && i < limit; i++) {
        unsigned char c = (unsigned char)text[i];
        out[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    if (text[i] != '\0') {
        memcpy(out + i, "...", 3);
        i += 3;
    }
    out[i] = '\0';
    return out;
}

cf_code cf_size_parse(const char *text, int64_t *out, struct cf_error *err)
{
    char shown[QUOTE_MAX + 4];
    const char *p;
    int64_t number = 0;
    int64_t factor = 1;
    size_t i;

    if (text == NULL)
        return cf_fail(err, CF_E_INVALID_SIZE, "invalid size: no value given; " SIZE_HINT);
    quote_text(text, shown, sizeof(shown));
    if (text[0] == '-' && text[1] >= '0' && text[1] <= '9')
        return cf_fail(err, CF_E_INVALID_SIZE, "invalid size \"%s\": a size cannot be negative", shown);
    if (text[0] < '0' || text[0] > '9')
        return cf_fail(err, CF_E_INVALID_SIZE, "invalid size \"%s\": " SIZE_HINT, shown);
    for (p = text; *p >= '0' && *p <= '9'; p++) {
        int digit = *p - '0';
        if (number > (INT64_MAX - digit) / 10)
            goto too_large;
        number = number * 10 + digit;
    }
    if (*p != '\0') {
        for (i = 0; i < sizeof(size_units) / sizeof(size_units[0]); i++) {
            if (strcmp(p, size_units[i].name) == 0)
                break;
        }
        if (i == sizeof(size_units) / sizeof(size_units[0]))
            return cf_fail(err, CF_E_INVALID_SIZE, "invalid size \"%s\": " SIZE_HINT, shown);
        factor = size_units[i].factor;
    }
    if (number > INT64_MAX / factor)
        goto too_large;
    *out = number * factor;
    return CF_OK;

too_large:
    return cf_fail(err, CF_E_INVALID_SIZE, "invalid size \"%s\": the largest size is %" PRId64 " bytes",
                   shown, INT64_MAX);
}

/* The JSON literals are named as written; containers by what they are. */
static const char *json_literal(const json_t *value)
{
    if (json_is_true(value))
        return "true";
    if (json_is_false(value))
        return "false";
    if (json_is_null(value))
        return "null";
    return NULL;
}

cf_code cf_size_from_json(const json_t *value, int64_t *out, struct cf_error *err)
{
    if (value == NULL)
        return cf_fail(err, CF_E_INVALID_SIZE, "invalid size: no value given; " JSON_SIZE_HINT);
    if (json_is_integer(value)) {
        json_int_t n = json_integer_value(value);
        if (n < 0)
            return cf_fail(err, CF_E_INVALID_SIZE,
                           "invalid size %" JSON_INTEGER_FORMAT ": a size cannot be negative", n);
        *out = (int64_t)n;
        return CF_OK;
    }
    if (json_is_string(value)) {
        const char *text = json_string_value(value);
        /* A NUL inside the string would hide whatever follows it from the parser. */
        if (strlen(text) != json_string_length(value))
            return cf_fail(err, CF_E_INVALID_SIZE,
                           "invalid size: the string contains a NUL byte; " SIZE_HINT);
        return cf_size_parse(text, out, err);
    }
    if (json_is_real(value))
        return cf_fail(err, CF_E_INVALID_SIZE, "invalid size %g: " JSON_SIZE_HINT, json_real_value(value));
    if (json_literal(value) != NULL)
        return cf_fail(err, CF_E_INVALID_SIZE, "invalid size %s: " JSON_SIZE_HINT, json_literal(value));
    return cf_fail(err, CF_E_INVALID_SIZE, "invalid size: %s is not a size; " JSON_SIZE_HINT,
                   json_is_object(value) ? "an object" : "an array");
}

char *cf_size_format(int64_t bytes, char *out, size_t out_len)
{
    static const char *const units[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    const size_t unit_count = sizeof(units) / sizeof(units[0]);
    char number[32];
    double value;
    size_t unit = 0;
    size_t len;

    if (out_len == 0)
        return out;
    if (bytes < 1024) {
        snprintf(out, out_len, "%" PRId64 " B", bytes);
        return out;
    }
    value = (double)bytes / 1024.0;
    /* Move up while the value would print as 1024.0 or more after rounding. */
    while (value >= 1023.95 && unit + 1 < unit_count) {
        value /= 1024.0;
        unit++;
    }
    snprintf(number, sizeof(number), "%.1f", value);
    len = strlen(number);
    /* "2.0 GiB" reads better as "2 GiB". */
    if (len > 2 && strcmp(number + len - 2, ".0") == 0)
        number[len - 2] = '\0';
    snprintf(out, out_len, "%s %s", number, units[unit]);
    return out;
}
