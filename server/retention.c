#include "retention.h"

#include <stdlib.h>
#include <time.h>

enum rule { KEEP_LAST = 0, KEEP_HOURLY, KEEP_DAILY, KEEP_WEEKLY, KEEP_MONTHLY, KEEP_YEARLY };

static int newest_first(const void *a, const void *b)
{
    const struct cf_retained_version *x = a, *y = b;

    if (x->created_at != y->created_at)
        return x->created_at < y->created_at ? 1 : -1;
    return x->number < y->number ? 1 : (x->number > y->number ? -1 : 0);
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;

    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* The period a time falls in, as a number that is equal for two times exactly
 * when they share the period. */
static int64_t period_of(enum rule rule, int64_t t)
{
    struct tm tm;
    time_t tt = (time_t)t;

    switch (rule) {
    case KEEP_HOURLY:
        return floor_div(t, 3600);
    case KEEP_DAILY:
        return floor_div(t, 86400);
    case KEEP_WEEKLY:
        /* 1970-01-01 was a Thursday: adding 3 days makes weeks start on Mondays, as ISO weeks do. */
        return floor_div(floor_div(t, 86400) + 3, 7);
    case KEEP_MONTHLY:
        gmtime_r(&tt, &tm);
        return (int64_t)tm.tm_year * 12 + tm.tm_mon;
    case KEEP_YEARLY:
        gmtime_r(&tt, &tm);
        return tm.tm_year;
    default:
        return 0;
    }
}

void cf_retention_select(const int64_t rules[CF_RETENTION_RULES], struct cf_retained_version *versions,
                         size_t n)
{
    int64_t newest_stored = INT64_MIN;
    struct cf_retained_version *incoming = NULL;

    for (size_t i = 0; i < n; i++) {
        if (versions[i].number == CF_RETENTION_INCOMING)
            incoming = &versions[i];
        else if (versions[i].created_at > newest_stored)
            newest_stored = versions[i].created_at;
    }
    /* The upload is the newest whatever the clock says: see retention.h. Its
     * number already wins a tie of times. */
    if (incoming != NULL && incoming->created_at < newest_stored)
        incoming->created_at = newest_stored;
    qsort(versions, n, sizeof(*versions), newest_first);
    for (size_t i = 0; i < n; i++)
        versions[i].keep = rules[KEEP_LAST] > 0 && (int64_t)i < rules[KEEP_LAST];
    for (enum rule rule = KEEP_HOURLY; rule <= KEEP_YEARLY; rule++) {
        int64_t periods = 0, last_period = 0;

        if (rules[rule] < 1)
            continue;
        /* Newest first: the first version met in a period is that period's newest. */
        for (size_t i = 0; i < n && periods < rules[rule]; i++) {
            int64_t period = period_of(rule, versions[i].created_at);
            if (periods > 0 && period == last_period)
                continue;
            versions[i].keep = true;
            last_period = period;
            periods++;
        }
    }
}
