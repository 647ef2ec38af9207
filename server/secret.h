/* Comparing a presented secret (health code, metrics code) with the
 * configured one without leaking, through timing, how much of it matched or
 * how long it is. */
#ifndef COFFER_SERVER_SECRET_H
#define COFFER_SERVER_SECRET_H

#include <stdbool.h>

/* False when either is NULL or empty. */
bool cf_secret_equal(const char *presented, const char *expected);

#endif
