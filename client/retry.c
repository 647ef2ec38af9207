#include "client/retry.h"

#include "client/exit_codes.h"
#include "client/interrupt.h"

#include <errno.h>
#include <time.h>

int64_t cf_retry_delay_ms(const struct cf_retry_policy *policy, int n)
{
    int64_t delay = policy->delay_ms;

    if (n < 1 || delay <= 0)
        return 0;
    /* Doubling stops at the cap, so the shift can never overflow. */
    for (int i = 1; i < n && delay < policy->max_delay_ms; i++)
        delay *= 2;
    return delay < policy->max_delay_ms ? delay : policy->max_delay_ms;
}

int64_t cf_retry_worst_wait_ms(const struct cf_retry_policy *policy)
{
    int64_t total = 0;

    for (int n = 1; n <= policy->retries; n++)
        total += cf_retry_delay_ms(policy, n);
    return total;
}

void cf_retry_init(struct cf_retry *retry, const struct cf_retry_policy *policy, cf_retry_hook hook,
                   void *hook_ctx)
{
    retry->policy = *policy;
    retry->used = 0;
    retry->hook = hook;
    retry->hook_ctx = hook_ctx;
}

bool cf_retry_again(struct cf_retry *retry, cf_code code, const struct cf_error *why)
{
    int64_t delay;

    if (code == CF_OK || !cf_retry_worth(code) || retry->used >= retry->policy.retries || cf_interrupted())
        return false;
    retry->used++;
    delay = cf_retry_delay_ms(&retry->policy, retry->used);
    if (retry->hook != NULL)
        retry->hook(retry->hook_ctx, retry->used, delay, why);
    return cf_retry_sleep(delay);
}

bool cf_retry_worth(cf_code code)
{
    int status;

    if (code == CF_E_NETWORK)
        return true;
    /* Made here, not by the server: the same thing would fail again. */
    if (code == CF_E_IO || code == CF_E_NOMEM || code == CF_E_COMMAND_FAILED ||
        code == CF_E_CHECKSUM_MISMATCH)
        return false;
    status = cf_code_http_status(code);
    /* 507 (quota, full disk) does not clear within a retry's wait. */
    return status == 500 || status == 502 || status == 503 || status == 504;
}

bool cf_retry_sleep(int64_t ms)
{
    struct timespec left = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};

    while (nanosleep(&left, &left) != 0) {
        if (errno != EINTR || cf_interrupted())
            return false;
    }
    return !cf_interrupted();
}
