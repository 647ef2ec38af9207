#include "secret.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <string.h>

bool cf_secret_equal(const char *presented, const char *expected)
{
    unsigned char a[EVP_MAX_MD_SIZE], b[EVP_MAX_MD_SIZE];
    unsigned int alen = 0, blen = 0;

    if (presented == NULL || expected == NULL || presented[0] == '\0' || expected[0] == '\0')
        return false;
    /* Comparing digests makes the comparison's time independent of both lengths. */
    if (EVP_Digest(presented, strlen(presented), a, &alen, EVP_sha256(), NULL) != 1 ||
        EVP_Digest(expected, strlen(expected), b, &blen, EVP_sha256(), NULL) != 1)
        return false;
    return CRYPTO_memcmp(a, b, alen) == 0;
}
