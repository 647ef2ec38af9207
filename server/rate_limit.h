/* Counting authentication failures per client address, to answer a client
 * that keeps failing with 429 and Retry-After instead of 401.
 *
 * Only failures count, and a request whose token is good always passes: a
 * client that keeps sending bad or revoked tokens is told to back off, while
 * everyone else behind the same address (a NAT, a proxy) goes on working.
 * Memory is fixed: a table of CF_RATE_LIMIT_SLOTS addresses, where a new
 * address takes over a slot whose window has passed or, failing that, the
 * slot it hashes to. Thread-safe. */
#ifndef COFFER_SERVER_RATE_LIMIT_H
#define COFFER_SERVER_RATE_LIMIT_H

#include <stdbool.h>
#include <stdint.h>

#define CF_RATE_LIMIT_SLOTS 4096

struct cf_rate_limit;

/* max_failures within window_seconds; max_failures 0 disables the limit.
 * NULL when out of memory. */
struct cf_rate_limit *cf_rate_limit_new(int max_failures, int window_seconds);
void cf_rate_limit_free(struct cf_rate_limit *rl);

/* Records one failure of address at time now (Unix seconds). Returns 0 while
 * the address is within its limit, else the seconds until its window ends
 * (for Retry-After). */
int cf_rate_limit_failure(struct cf_rate_limit *rl, const char *address, int64_t now);

#endif
