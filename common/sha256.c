#include "common/sha256.h"

#include "common/log.h"

#include <openssl/evp.h>
#include <stdlib.h>

struct cf_sha256 {
    EVP_MD_CTX *md;
};

/* SHA-256 from the default provider cannot fail once initialised. If OpenSSL
 * ever says otherwise, a wrong digest would be stored and trusted for good, so
 * stopping the process is the only safe answer. */
static void sha256_broken(const char *what)
{
    cf_log(CF_LOG_ERROR, "OpenSSL failed in %s; stopping rather than record a wrong SHA-256", what);
    abort();
}

struct cf_sha256 *cf_sha256_new(void)
{
    struct cf_sha256 *h = malloc(sizeof(*h));

    if (h == NULL)
        return NULL;
    h->md = EVP_MD_CTX_new();
    if (h->md == NULL || EVP_DigestInit_ex(h->md, EVP_sha256(), NULL) != 1) {
        cf_sha256_free(h);
        return NULL;
    }
    return h;
}

void cf_sha256_free(struct cf_sha256 *h)
{
    if (h == NULL)
        return;
    EVP_MD_CTX_free(h->md);
    free(h);
}

void cf_sha256_update(struct cf_sha256 *h, const void *data, size_t len)
{
    if (len == 0)
        return;
    if (EVP_DigestUpdate(h->md, data, len) != 1)
        sha256_broken("EVP_DigestUpdate");
}

void cf_sha256_final_hex(struct cf_sha256 *h, char hex[CF_SHA256_HEX_LEN + 1])
{
    static const char digits[] = "0123456789abcdef";
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int digest_len = 0;

    if (EVP_DigestFinal_ex(h->md, digest, &digest_len) != 1 || digest_len != CF_SHA256_LEN)
        sha256_broken("EVP_DigestFinal_ex");
    for (unsigned int i = 0; i < CF_SHA256_LEN; i++) {
        hex[2 * i] = digits[digest[i] >> 4];
        hex[2 * i + 1] = digits[digest[i] & 0x0f];
    }
    hex[CF_SHA256_HEX_LEN] = '\0';
}

static bool is_hex_digit(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

bool cf_sha256_hex_valid(const char *s)
{
    size_t i;

    if (s == NULL)
        return false;
    for (i = 0; i < CF_SHA256_HEX_LEN; i++) {
        if (!is_hex_digit(s[i]))
            return false;
    }
    return s[i] == '\0';
}
