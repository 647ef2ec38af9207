#include "proxy.h"

#include "cidr.h"
#include "secret.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Whether peer is in the comma-separated list of addresses, blocks and "unix". */
static bool listed(const char *list, const char *peer)
{
    char item[128];
    const char *p = list;

    while (*p != '\0') {
        size_t len = strcspn(p, ",");
        struct cf_cidr cidr;

        if (len < sizeof(item)) {
            memcpy(item, p, len);
            item[len] = '\0';
            /* Trim spaces around the item. */
            char *start = item, *end = item + strlen(item);
            while (*start == ' ')
                start++;
            while (end > start && end[-1] == ' ')
                *--end = '\0';
            if (strcmp(start, "unix") == 0
                    ? strcmp(peer, "unix") == 0
                    : (cf_cidr_parse(start, &cidr, NULL) == CF_OK && cf_cidr_contains_text(&cidr, peer)))
                return true;
        }
        p += len;
        if (*p == ',')
            p++;
    }
    return false;
}

cf_code cf_proxy_check(const struct cf_config *cfg, const char *peer, const char *secret, struct cf_error *err)
{
    if (cfg->trusted_proxies[0] == '\0' || !listed(cfg->trusted_proxies, peer))
        return cf_fail(err, CF_E_UNTRUSTED_INTERNAL_FILENAME, "%s is not a trusted proxy", peer);
    if (!cf_secret_equal(secret, cfg->proxy_secret))
        return cf_fail(err, CF_E_UNTRUSTED_INTERNAL_FILENAME, "the proxy secret is missing or wrong");
    return CF_OK;
}

static bool is_address(const char *text)
{
    unsigned char bytes[16];

    return inet_pton(AF_INET, text, bytes) == 1 || inet_pton(AF_INET6, text, bytes) == 1;
}

void cf_proxy_client_address(const struct cf_config *cfg, const char *peer, const char *secret,
                             const char *real_ip, char *out, size_t cap)
{
    bool believed = real_ip != NULL && strlen(real_ip) < 64 && is_address(real_ip) &&
                    cf_proxy_check(cfg, peer, secret, NULL) == CF_OK;

    snprintf(out, cap, "%s", believed ? real_ip : peer);
}
