#include "client/token_expiry.h"

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

bool cf_token_expiry(const char *token, int64_t *exp)
{
    unsigned char payload[CF_TOKEN_PAYLOAD_MAX];
    const char *start, *end;
    size_t len = 0;
    json_t *root, *value;
    bool found = false;

    start = strchr(token, '.');
    if (start == NULL)
        return false;
    start++;
    end = strchr(start, '.');
    /* Three parts exactly, the middle one not empty. */
    if (end == NULL || end == start || strchr(end + 1, '.') != NULL)
        return false;
    if (sodium_init() < 0)
        return false;
    if (sodium_base642bin(payload, sizeof(payload), start, (size_t)(end - start), NULL, &len, NULL,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
        return false;
    root = json_loadb((const char *)payload, len, JSON_REJECT_DUPLICATES, NULL);
    value = json_object_get(root, "exp");
    if (json_is_integer(value)) {
        *exp = (int64_t)json_integer_value(value);
        found = true;
    }
    json_decref(root);
    return found;
}

bool cf_token_expiry_warning(int64_t exp, int64_t now, const char *where, char *out, size_t out_len)
{
    char what_to_do[4096 + 128];
    char date[64];
    time_t t = (time_t)exp;
    struct tm tm;
    int64_t days;

    /* exp comes from outside: no subtraction that could overflow. */
    if (exp >= now + CF_TOKEN_EXPIRY_WARN)
        return false;
    snprintf(what_to_do, sizeof(what_to_do),
             "ask an administrator for a new token (coffer admin token create) and put it %s%s",
             where != NULL ? "into " : "in place of this one", where != NULL ? where : "");
    if (gmtime_r(&t, &tm) == NULL || strftime(date, sizeof(date), "%Y-%m-%d %H:%M UTC", &tm) == 0)
        snprintf(date, sizeof(date), "%lld (seconds since 1970)", (long long)exp);
    if (exp <= now) {
        snprintf(out, out_len, "the token expired on %s: %s", date, what_to_do);
        return true;
    }
    days = (exp - now) / 86400;
    if (days == 0)
        snprintf(out, out_len, "the token expires on %s, in less than a day: %s", date, what_to_do);
    else
        snprintf(out, out_len, "the token expires on %s, in %lld day%s: %s", date, (long long)days,
                 days == 1 ? "" : "s", what_to_do);
    return true;
}
