/* What cofferd believes of a request that came through its own proxy (NGINX).
 *
 * A connection is from the proxy when its peer address is in trusted_proxies
 * (or it came over the unix socket and the list says "unix") and it carries
 * X-Coffer-Proxy-Secret equal to proxy_secret. Only then are the headers the
 * proxy sets believed: X-Internal-Filename (handoff.c) and X-Real-IP, the
 * client's own address. A local process that merely connects from 127.0.0.1
 * cannot pretend to be NGINX without the secret. */
#ifndef COFFER_SERVER_PROXY_H
#define COFFER_SERVER_PROXY_H

#include "common/error.h"
#include "config.h"

#include <stddef.h>

#define CF_PROXY_SECRET_HEADER "X-Coffer-Proxy-Secret"
#define CF_REAL_IP_HEADER      "X-Real-IP"

/* CF_OK when peer (an address text, or "unix") with the presented secret
 * (NULL when the header is absent) is the trusted proxy; otherwise
 * CF_E_UNTRUSTED_INTERNAL_FILENAME with a message saying which rule failed. */
cf_code cf_proxy_check(const struct cf_config *cfg, const char *peer, const char *secret, struct cf_error *err);

/* The client's address for allowed_ips, the rate limit, logs and the audit
 * trail: X-Real-IP when the connection is the trusted proxy's and the header
 * holds an IPv4 or IPv6 address, else the peer itself. Writes at most cap
 * bytes (with the NUL) into out. */
void cf_proxy_client_address(const struct cf_config *cfg, const char *peer, const char *secret,
                             const char *real_ip, char *out, size_t cap);

#endif
