/* CIDR blocks (v4 and v6) for a token's allowed_ips and the trusted proxies. */
#ifndef COFFER_SERVER_CIDR_H
#define COFFER_SERVER_CIDR_H

#include "common/error.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct cf_cidr {
    int family;       /* AF_INET or AF_INET6 */
    uint8_t addr[16]; /* network address, host bits cleared */
    int prefix;       /* 0..32 or 0..128 */
};

/* "10.0.0.0/8", "2001:db8::/32", or a bare address (a /32 or /128); host bits
 * past the prefix are cleared ("10.1.2.3/8" is 10.0.0.0/8). CF_E_VALIDATION for
 * anything else. */
cf_code cf_cidr_parse(const char *text, struct cf_cidr *out, struct cf_error *err);
/* Whether the address lies inside the block. An IPv4-mapped IPv6 address
 * (::ffff:1.2.3.4) matches IPv4 blocks. An IPv4 address matches an IPv6 block
 * only when the block lies inside ::ffff:0:0/96 (::ffff:10.0.0.0/104); ::/0 and
 * other IPv6 blocks never match IPv4 clients. */
bool cf_cidr_contains(const struct cf_cidr *cidr, const struct sockaddr *addr);
/* The same for an address in text form; false when it does not parse. */
bool cf_cidr_contains_text(const struct cf_cidr *cidr, const char *addr);
/* Writes the address of sa as text into out ("" when unknown). */
void cf_sockaddr_text(const struct sockaddr *sa, char *out, size_t out_len);

#endif
