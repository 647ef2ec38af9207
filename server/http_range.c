#include "http_range.h"

#include <stdbool.h>
#include <string.h>

/* Reads digits into *out; false when there are none or they overflow. */
static bool read_number(const char **p, uint64_t *out)
{
    uint64_t value = 0;
    const char *start = *p;

    while (**p >= '0' && **p <= '9') {
        unsigned digit = (unsigned)(**p - '0');
        if (value > (UINT64_MAX - digit) / 10)
            return false;
        value = value * 10 + digit;
        (*p)++;
    }
    *out = value;
    return *p != start;
}

enum cf_range_result cf_range_parse(const char *header, uint64_t size, uint64_t *start, uint64_t *length)
{
    const char *p = header;
    uint64_t first = 0, last = 0;
    bool has_first, has_last;

    if (header == NULL || strncmp(p, "bytes=", 6) != 0)
        return CF_RANGE_NONE;
    p += 6;
    while (*p == ' ')
        p++;
    has_first = read_number(&p, &first);
    if (*p != '-')
        return CF_RANGE_NONE;
    p++;
    has_last = read_number(&p, &last);
    while (*p == ' ')
        p++;
    /* Several ranges would need multipart/byteranges; sending the whole is allowed. */
    if (*p != '\0' || (!has_first && !has_last))
        return CF_RANGE_NONE;
    if (!has_first) {
        /* The last n bytes. */
        if (last == 0 || size == 0)
            return CF_RANGE_UNSATISFIABLE;
        *length = last < size ? last : size;
        *start = size - *length;
        return CF_RANGE_OK;
    }
    if (has_last && last < first)
        return CF_RANGE_NONE;
    if (first >= size)
        return CF_RANGE_UNSATISFIABLE;
    if (!has_last || last >= size)
        last = size - 1;
    *start = first;
    *length = last - first + 1;
    return CF_RANGE_OK;
}
