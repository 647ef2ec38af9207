#include "common/rfc3339.h"

#include <string.h>
#include <time.h>

char *cf_rfc3339(int64_t unix_seconds, char out[CF_RFC3339_SIZE])
{
    struct tm tm;
    time_t t = (time_t)unix_seconds;

    if (gmtime_r(&t, &tm) == NULL || strftime(out, CF_RFC3339_SIZE, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        out[0] = '\0';
    return out;
}

bool cf_rfc3339_parse(const char *text, int64_t *out)
{
    struct tm tm = {0};
    const char *end = strptime(text, "%Y-%m-%dT%H:%M:%SZ", &tm);

    if (end == NULL || *end != '\0' || strlen(text) != 20)
        return false;
    *out = (int64_t)timegm(&tm);
    return true;
}
