#include "server/cidr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

/* The longest text accepted: a full IPv6 address with an embedded IPv4 part
 * and a prefix ("ffff:...:255.255.255.255/128"). */
#define CIDR_TEXT_MAX (INET6_ADDRSTRLEN + 4)

static const uint8_t v4_mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

static void clear_host_bits(uint8_t *addr, int len, int prefix)
{
    for (int i = 0; i < len; i++) {
        int bits = prefix - i * 8;

        if (bits >= 8)
            continue;
        addr[i] = bits <= 0 ? 0 : (uint8_t)(addr[i] & (0xffu << (8 - bits)));
    }
}

static bool prefix_matches(const uint8_t *a, const uint8_t *b, int prefix)
{
    int full = prefix / 8;
    int rest = prefix % 8;

    if (memcmp(a, b, (size_t)full) != 0)
        return false;
    if (rest == 0)
        return true;
    return ((a[full] ^ b[full]) & (0xffu << (8 - rest))) == 0;
}

/* "0".."max" in plain decimal: no sign, no spaces, no leading zeros. */
static int parse_prefix(const char *text, int max)
{
    int value = 0;
    size_t len = strlen(text);

    if (len == 0 || len > 3 || (len > 1 && text[0] == '0'))
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (text[i] < '0' || text[i] > '9')
            return -1;
        value = value * 10 + (text[i] - '0');
    }
    return value <= max ? value : -1;
}

cf_code cf_cidr_parse(const char *text, struct cf_cidr *out, struct cf_error *err)
{
    char addr[CIDR_TEXT_MAX + 1];
    struct cf_cidr cidr;
    const char *slash = NULL;
    size_t addr_len = 0;
    int max = 0;

    if (text == NULL || text[0] == '\0')
        return cf_fail(err, CF_E_VALIDATION, "an IP address or CIDR block is required");
    if (strnlen(text, CIDR_TEXT_MAX + 1) > CIDR_TEXT_MAX)
        return cf_fail(err, CF_E_VALIDATION, "not an IP address or CIDR block (too long)");
    slash = strchr(text, '/');
    addr_len = slash != NULL ? (size_t)(slash - text) : strlen(text);
    memcpy(addr, text, addr_len);
    addr[addr_len] = '\0';

    memset(&cidr, 0, sizeof(cidr));
    /* inet_pton refuses spaces, zone ids ("%eth0"), short forms ("10.1") and
     * octets with leading zeros, so no other syntax check is needed. */
    if (inet_pton(AF_INET, addr, cidr.addr) == 1) {
        cidr.family = AF_INET;
        max = 32;
    } else if (inet_pton(AF_INET6, addr, cidr.addr) == 1) {
        cidr.family = AF_INET6;
        max = 128;
    } else {
        return cf_fail(err, CF_E_VALIDATION, "not an IP address or CIDR block: \"%.*s\"", CIDR_TEXT_MAX,
                       text);
    }
    cidr.prefix = max;
    if (slash != NULL) {
        cidr.prefix = parse_prefix(slash + 1, max);
        if (cidr.prefix < 0)
            return cf_fail(err, CF_E_VALIDATION,
                           "the prefix length of \"%.*s\" must be a number from 0 to %d", CIDR_TEXT_MAX, text,
                           max);
    }
    clear_host_bits(cidr.addr, max / 8, cidr.prefix);
    *out = cidr;
    return CF_OK;
}

/* The family of sa. Read with memcpy: the object behind sa is really a
 * sockaddr_in or sockaddr_in6, and reading it through another struct type
 * breaks strict aliasing (gcc -O2 then reorders the caller's stores). */
static sa_family_t family_of(const struct sockaddr *sa)
{
    sa_family_t family;

    memcpy(&family, (const char *)sa + offsetof(struct sockaddr, sa_family), sizeof(family));
    return family;
}

/* The address as (family, bytes); an IPv4-mapped IPv6 address becomes IPv4 so
 * that a client looks the same on a dual-stack socket as on an IPv4 one. */
static bool address_bytes(const struct sockaddr *sa, int *family, uint8_t bytes[16])
{
    struct sockaddr_in in;
    struct sockaddr_in6 in6;

    if (sa == NULL)
        return false;
    switch (family_of(sa)) {
    case AF_INET:
        memcpy(&in, sa, sizeof(in));
        *family = AF_INET;
        memcpy(bytes, &in.sin_addr, 4);
        return true;
    case AF_INET6:
        memcpy(&in6, sa, sizeof(in6));
        if (memcmp(&in6.sin6_addr, v4_mapped_prefix, sizeof(v4_mapped_prefix)) == 0) {
            *family = AF_INET;
            memcpy(bytes, (const uint8_t *)&in6.sin6_addr + 12, 4);
        } else {
            *family = AF_INET6;
            memcpy(bytes, &in6.sin6_addr, 16);
        }
        return true;
    default:
        return false;
    }
}

bool cf_cidr_contains(const struct cf_cidr *cidr, const struct sockaddr *addr)
{
    uint8_t bytes[16];
    uint8_t mapped[16];
    int family = 0;

    if (cidr == NULL || !address_bytes(addr, &family, bytes))
        return false;
    if (cidr->family == AF_INET)
        return family == AF_INET && prefix_matches(cidr->addr, bytes, cidr->prefix);
    if (cidr->family != AF_INET6)
        return false;
    if (family == AF_INET6)
        return prefix_matches(cidr->addr, bytes, cidr->prefix);
    /* An IPv4 client against an IPv6 block: only a block inside ::ffff:0:0/96
     * names IPv4 addresses; ::/0 and the like mean IPv6 clients. */
    if (cidr->prefix < 96 || memcmp(cidr->addr, v4_mapped_prefix, sizeof(v4_mapped_prefix)) != 0)
        return false;
    memcpy(mapped, v4_mapped_prefix, sizeof(v4_mapped_prefix));
    memcpy(mapped + 12, bytes, 4);
    return prefix_matches(cidr->addr, mapped, cidr->prefix);
}

bool cf_cidr_contains_text(const struct cf_cidr *cidr, const char *addr)
{
    union {
        struct sockaddr sa;
        struct sockaddr_in in;
        struct sockaddr_in6 in6;
    } u;

    if (addr == NULL)
        return false;
    memset(&u, 0, sizeof(u));
    if (inet_pton(AF_INET, addr, &u.in.sin_addr) == 1)
        u.in.sin_family = AF_INET;
    else if (inet_pton(AF_INET6, addr, &u.in6.sin6_addr) == 1)
        u.in6.sin6_family = AF_INET6;
    else
        return false;
    return cf_cidr_contains(cidr, &u.sa);
}

void cf_sockaddr_text(const struct sockaddr *sa, char *out, size_t out_len)
{
    char text[INET6_ADDRSTRLEN];
    struct sockaddr_in in;
    struct sockaddr_in6 in6;
    const char *done = NULL;

    if (out == NULL || out_len == 0)
        return;
    out[0] = '\0';
    if (sa == NULL)
        return;
    if (family_of(sa) == AF_INET) {
        memcpy(&in, sa, sizeof(in));
        done = inet_ntop(AF_INET, &in.sin_addr, text, sizeof(text));
    } else if (family_of(sa) == AF_INET6) {
        memcpy(&in6, sa, sizeof(in6));
        done = inet_ntop(AF_INET6, &in6.sin6_addr, text, sizeof(text));
    }
    /* A truncated address would be a different address: write all or nothing. */
    if (done != NULL && strlen(text) < out_len)
        memcpy(out, text, strlen(text) + 1);
}
