/* When and how long to wait before trying a request again.
 *
 * Network errors and 5xx answers are worth another attempt; 4xx answers are
 * not (the same request would be refused again), nor are local failures.
 * Waits grow exponentially: delay, 2 x delay, 4 x delay, ... capped at
 * max_delay, with no randomness, so that the schedule is what the
 * documentation says. */
#ifndef COFFER_CLIENT_RETRY_H
#define COFFER_CLIENT_RETRY_H

#include "common/error.h"
#include <stdbool.h>
#include <stdint.h>

struct cf_retry_policy {
    int retries;          /* attempts after the first; 0: no retry */
    int64_t delay_ms;     /* before the first retry */
    int64_t max_delay_ms; /* the longest single wait */
};

/* The wait before retry number n (1 for the first retry). */
int64_t cf_retry_delay_ms(const struct cf_retry_policy *policy, int n);
/* True when a failure with this code may succeed if tried again. */
bool cf_retry_worth(cf_code code);
/* Sleeps ms milliseconds; returns early (false) when the process is asked to
 * stop (cf_interrupted). */
bool cf_retry_sleep(int64_t ms);

#endif
