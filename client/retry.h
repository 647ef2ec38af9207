/* When and how long to wait before trying a request again: one policy and
 * one budget for a whole command run.
 *
 * Network errors and 5xx answers are worth another attempt; 4xx answers are
 * not (the same request would be refused again), nor are local failures.
 * Waits grow exponentially: delay, 2 x delay, 4 x delay, ... capped at
 * max_delay, with no randomness, so that the schedule is what the
 * documentation says.
 *
 * The budget (struct cf_retry) is shared by every request of a command:
 * `retries` is the number of retries the command makes in all, whichever
 * requests fail, and the n-th of them waits cf_retry_delay_ms(policy, n).
 * So a command never waits longer than cf_retry_worst_wait_ms in total, and
 * a layer that retries a larger step (an upload with its version-list check)
 * uses requests that do not retry themselves, so nothing is retried twice. */
#ifndef COFFER_CLIENT_RETRY_H
#define COFFER_CLIENT_RETRY_H

#include "common/error.h"
#include <stdbool.h>
#include <stdint.h>

struct cf_retry_policy {
    int retries;          /* retries in the whole command run; 0: no retry */
    int64_t delay_ms;     /* before the first retry */
    int64_t max_delay_ms; /* the longest single wait */
};

/* Called before each retry's wait: which retry of the command (1 for the
 * first), the wait, and the failure that led to it. */
typedef void (*cf_retry_hook)(void *ctx, int retry, int64_t delay_ms, const struct cf_error *why);

struct cf_retry {
    struct cf_retry_policy policy;
    int used; /* retries made so far */
    cf_retry_hook hook; /* may be NULL */
    void *hook_ctx;
};

/* A fresh budget; hook (may be NULL) and hook_ctx are borrowed. */
void cf_retry_init(struct cf_retry *retry, const struct cf_retry_policy *policy, cf_retry_hook hook,
                   void *hook_ctx);
/* After a failure with code (why says what failed): true when the caller
 * should try again, after this has told the hook and waited the retry's
 * delay; false when the failure is not worth a retry, the budget is spent,
 * or the process was asked to stop during the wait. */
bool cf_retry_again(struct cf_retry *retry, cf_code code, const struct cf_error *why);

/* The wait before retry number n (1 for the first). */
int64_t cf_retry_delay_ms(const struct cf_retry_policy *policy, int n);
/* The longest a command waits between attempts in all: the sum of the
 * waits of retries 1 to policy->retries. */
int64_t cf_retry_worst_wait_ms(const struct cf_retry_policy *policy);
/* True when a failure with this code may succeed if tried again. */
bool cf_retry_worth(cf_code code);
/* Sleeps ms milliseconds; returns early (false) when the process is asked to
 * stop (cf_interrupted). */
bool cf_retry_sleep(int64_t ms);

#endif
