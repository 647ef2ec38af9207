#include "common/rfc3339.h"

#include <time.h>

char *cf_rfc3339(int64_t unix_seconds, char out[CF_RFC3339_SIZE])
{
    struct tm tm;
    time_t t = (time_t)unix_seconds;

    if (gmtime_r(&t, &tm) == NULL || strftime(out, CF_RFC3339_SIZE, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        out[0] = '\0';
    return out;
}
