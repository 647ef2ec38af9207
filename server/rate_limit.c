#include "rate_limit.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct slot {
    char address[64];
    int64_t window_start;
    int failures;
};

struct cf_rate_limit {
    int max_failures;
    int window_seconds;
    pthread_mutex_t mutex;
    struct slot slots[CF_RATE_LIMIT_SLOTS];
};

struct cf_rate_limit *cf_rate_limit_new(int max_failures, int window_seconds)
{
    struct cf_rate_limit *rl = calloc(1, sizeof(*rl));

    if (rl == NULL)
        return NULL;
    rl->max_failures = max_failures;
    rl->window_seconds = window_seconds;
    pthread_mutex_init(&rl->mutex, NULL);
    return rl;
}

void cf_rate_limit_free(struct cf_rate_limit *rl)
{
    if (rl == NULL)
        return;
    pthread_mutex_destroy(&rl->mutex);
    free(rl);
}

static unsigned hash(const char *address)
{
    unsigned h = 2166136261u;

    for (const unsigned char *p = (const unsigned char *)address; *p != '\0'; p++)
        h = (h ^ *p) * 16777619u;
    return h;
}

int cf_rate_limit_failure(struct cf_rate_limit *rl, const char *address, int64_t now)
{
    struct slot *slot;
    unsigned h;
    int retry_after = 0;

    if (rl == NULL || rl->max_failures == 0)
        return 0;
    h = hash(address);
    pthread_mutex_lock(&rl->mutex);
    /* The address's own slot, else a nearby expired one, else its home slot. */
    slot = &rl->slots[h % CF_RATE_LIMIT_SLOTS];
    for (unsigned probe = 0; probe < 4; probe++) {
        struct slot *candidate = &rl->slots[(h + probe) % CF_RATE_LIMIT_SLOTS];
        if (strcmp(candidate->address, address) == 0) {
            slot = candidate;
            break;
        }
        if (now - candidate->window_start >= rl->window_seconds)
            slot = candidate;
    }
    if (strcmp(slot->address, address) != 0 || now - slot->window_start >= rl->window_seconds) {
        memset(slot, 0, sizeof(*slot));
        strncpy(slot->address, address, sizeof(slot->address) - 1);
        slot->window_start = now;
    }
    slot->failures++;
    if (slot->failures > rl->max_failures) {
        retry_after = (int)(slot->window_start + rl->window_seconds - now);
        if (retry_after < 1)
            retry_after = 1;
    }
    pthread_mutex_unlock(&rl->mutex);
    return retry_after;
}
