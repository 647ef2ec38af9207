#include "common/rfc3339.h"

#include <ctype.h>
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

/* The n digits at s as a number, or -1 when they are not all digits. */
static int digits(const char *s, int n)
{
    int value = 0;

    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return -1;
        value = value * 10 + (s[i] - '0');
    }
    return value;
}

static int days_in_month(int year, int month)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

    return month == 2 && leap ? 29 : days[month - 1];
}

bool cf_rfc3339_parse_any(const char *text, int64_t *out)
{
    struct tm tm = {0};
    const char *p = text;
    int year, month, day, hour, minute, second, offset = 0;

    if (text == NULL || strnlen(text, 20) < 20)
        return false;
    year = digits(p, 4);
    month = digits(p + 5, 2);
    day = digits(p + 8, 2);
    hour = digits(p + 11, 2);
    minute = digits(p + 14, 2);
    second = digits(p + 17, 2);
    if (year < 0 || p[4] != '-' || month < 1 || month > 12 || p[7] != '-' || day < 1 ||
        day > days_in_month(year, month) || (p[10] != 'T' && p[10] != 't') || hour < 0 || hour > 23 ||
        p[13] != ':' || minute < 0 || minute > 59 || p[16] != ':' || second < 0 || second > 60)
        return false;
    p += 19;
    if (*p == '.') {
        p++;
        if (!isdigit((unsigned char)*p))
            return false;
        while (isdigit((unsigned char)*p))
            p++;
    }
    if ((*p == 'Z' || *p == 'z') && p[1] == '\0') {
        offset = 0;
    } else if ((*p == '+' || *p == '-') && strlen(p) == 6 && p[3] == ':') {
        int oh = digits(p + 1, 2), om = digits(p + 4, 2);
        if (oh < 0 || oh > 23 || om < 0 || om > 59)
            return false;
        offset = (oh * 60 + om) * 60 * (*p == '-' ? -1 : 1);
    } else {
        return false;
    }
    tm.tm_year = year - 1900;
    tm.tm_mon = month - 1;
    tm.tm_mday = day;
    tm.tm_hour = hour;
    tm.tm_min = minute;
    tm.tm_sec = second;
    /* The local time at that offset, less the offset, is UTC. */
    *out = (int64_t)timegm(&tm) - offset;
    return true;
}
