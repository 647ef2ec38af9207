/* The NGINX temp-file handoff: NGINX buffers a large upload to a file and
 * passes its path in X-Internal-Filename. Honouring that header lets a client
 * name a file on the server, so it is trusted only when every one of these
 * holds:
 *   - the connection comes from an address in trusted_proxies (or over the
 *     unix socket, when the list says "unix");
 *   - it carries X-Coffer-Proxy-Secret equal to proxy_secret (NGINX adds it);
 *   - the path opens (O_NOFOLLOW) as a regular file whose real path, read
 *     back from the open descriptor, lies inside nginx_temp_dir.
 * Anything else is CF_E_UNTRUSTED_INTERNAL_FILENAME, with nothing read. The
 * first two rules are proxy.c's. */
#ifndef COFFER_SERVER_HANDOFF_H
#define COFFER_SERVER_HANDOFF_H

#include "common/error.h"
#include "config.h"
#include "proxy.h"

#include <stdint.h>

struct cf_handoff_request {
    const char *peer;      /* the connection's address, "unix" for the unix socket */
    const char *secret;    /* the X-Coffer-Proxy-Secret header, or NULL */
    const char *path;      /* the X-Internal-Filename header */
};

/* On success *fd is the open file (caller closes) and *size its length. The
 * error message says which rule refused (for the log; the client is told less). */
cf_code cf_handoff_open(const struct cf_config *cfg, const struct cf_handoff_request *request, int *fd,
                        int64_t *size, struct cf_error *err);

#endif
