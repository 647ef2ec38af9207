/* Authentication: from an Authorization header to a principal.
 *
 * The JWT proves who minted the token; the database decides whether it still
 * counts. Every request costs one indexed lookup of the token row (joined with
 * its account), so a revocation or an account made inactive takes effect on
 * the very next request of every instance. */
#ifndef COFFER_SERVER_AUTH_H
#define COFFER_SERVER_AUTH_H

#include "app.h"
#include "principal.h"

/* authorization: the header value (may be NULL); client_ip and user_agent are
 * checked against the token's restrictions (user_agent may be NULL).
 * Errors: 401 codes for a missing, malformed, unknown, expired or revoked token
 * or an inactive account; 403 CF_E_RESTRICTED for an IP or user agent the token
 * does not allow; 503 when the database is down. */
cf_code cf_auth_authenticate(struct cf_app *app, const char *authorization, const char *client_ip,
                             const char *user_agent, struct cf_principal *out, struct cf_error *err);

#endif
