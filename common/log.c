#include "common/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

enum cf_log_level cf_log_threshold = CF_LOG_INFO;

static const char *const level_names[] = {"debug", "info", "warn", "error", "off"};

int cf_log_level_parse(const char *name)
{
    for (int level = CF_LOG_DEBUG; level <= CF_LOG_OFF; level++) {
        if (strcmp(name, level_names[level]) == 0)
            return level;
    }
    return -1;
}

void cf_log_set_level(enum cf_log_level level)
{
    cf_log_threshold = level;
}

void cf_log_write(enum cf_log_level level, const char *fmt, ...)
{
    char line[2048];
    char stamp[32];
    struct timeval now;
    struct tm tm;
    va_list ap;
    int used;

    gettimeofday(&now, NULL);
    gmtime_r(&now.tv_sec, &tm);
    strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
    used = snprintf(line, sizeof(line), "%s.%03ldZ %-5s ", stamp, (long)(now.tv_usec / 1000),
                    level_names[level]);
    va_start(ap, fmt);
    vsnprintf(line + used, sizeof(line) - (size_t)used, fmt, ap);
    va_end(ap);
    /* One fputs per line keeps lines from different threads whole. */
    strncat(line, "\n", sizeof(line) - strlen(line) - 1);
    fputs(line, stderr);
}
