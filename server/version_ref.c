#include "server/version_ref.h"

#include "common/rfc3339.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#define UUID_LEN 36
/* Longer than any valid ref (a UUID), so longer texts are refused unread. */
#define REF_TEXT_MAX 64

/* Suffixes that say how a file is compressed rather than what it holds. */
static const char *const compression_suffixes[] = {
    "gz", "zst", "zstd", "xz", "bz2", "bz", "lz4", "lz", "lzma", "lzo", "br", "z", "sz",
};

static bool is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

int cf_uuid_valid(const char *s)
{
    if (s == NULL)
        return 0;
    for (int i = 0; i < UUID_LEN; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;

        if (s[i] == '\0')
            return 0;
        if (dash ? s[i] != '-' : !is_hex(s[i]))
            return 0;
    }
    return s[UUID_LEN] == '\0';
}

void cf_uuid_v4(char out[37])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char bytes[16];
    size_t got = 0;
    size_t pos = 0;

    while (got < sizeof(bytes)) {
        ssize_t n = getrandom(bytes + got, sizeof(bytes) - got, 0);

        if (n < 0 && errno == EINTR)
            continue;
        /* Without the kernel's random source no id would be unique; going on
         * with a predictable one would be worse than stopping. */
        if (n <= 0)
            abort();
        got += (size_t)n;
    }
    bytes[6] = (unsigned char)((bytes[6] & 0x0fu) | 0x40u); /* version 4 */
    bytes[8] = (unsigned char)((bytes[8] & 0x3fu) | 0x80u); /* RFC 4122 variant */
    for (size_t i = 0; i < sizeof(bytes); i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[pos++] = '-';
        out[pos++] = hex[bytes[i] >> 4];
        out[pos++] = hex[bytes[i] & 0x0fu];
    }
    out[pos] = '\0';
}

/* A positive decimal number without sign, spaces or leading zeros; -1 when
 * text is anything else or does not fit an int64_t. */
static int64_t parse_number(const char *text)
{
    int64_t value = 0;

    if (text[0] < '1' || text[0] > '9')
        return -1;
    for (const char *c = text; *c != '\0'; c++) {
        if (*c < '0' || *c > '9')
            return -1;
        if (value > (INT64_MAX - (*c - '0')) / 10)
            return -1;
        value = value * 10 + (*c - '0');
    }
    return value;
}

cf_code cf_version_ref_parse(const char *text, struct cf_version_ref *out, struct cf_error *err)
{
    struct cf_version_ref ref;
    int64_t number = 0;

    memset(&ref, 0, sizeof(ref));
    if (text == NULL || text[0] == '\0')
        return cf_fail(err, CF_E_INVALID_REF, "a version reference is required");
    if (strnlen(text, REF_TEXT_MAX + 1) > REF_TEXT_MAX)
        return cf_fail(err, CF_E_INVALID_REF, "not a version reference (too long)");
    if (strcmp(text, "latest") == 0) {
        ref.kind = CF_REF_LATEST;
    } else if (strcmp(text, "first") == 0) {
        ref.kind = CF_REF_FIRST;
    } else if (cf_uuid_valid(text)) {
        ref.kind = CF_REF_UUID;
        for (int i = 0; i <= UUID_LEN; i++)
            ref.uuid[i] = (text[i] >= 'A' && text[i] <= 'F') ? (char)(text[i] - 'A' + 'a') : text[i];
    } else {
        number = parse_number(text[0] == 'v' ? text + 1 : text);
        if (number < 1)
            return cf_fail(err, CF_E_INVALID_REF,
                           "\"%.*s\" is not a version reference: use latest, first, a number from 1 "
                           "(3 or v3) or a version id",
                           REF_TEXT_MAX, text);
        ref.kind = CF_REF_NUMBER;
        ref.number = number;
    }
    *out = ref;
    return CF_OK;
}

static bool is_compression_suffix(const char *suffix, size_t len)
{
    for (size_t i = 0; i < sizeof(compression_suffixes) / sizeof(compression_suffixes[0]); i++) {
        if (strlen(compression_suffixes[i]) == len && strncasecmp(suffix, compression_suffixes[i], len) == 0)
            return true;
    }
    return false;
}

/* The index where the last dot-suffix of name[0, end) starts, or end when
 * there is none. A dot at index 0 starts a hidden name, not an extension, and
 * a dot with nothing after it is no extension either. */
static size_t last_suffix(const char *name, size_t end)
{
    for (size_t i = end; i > 1; i--) {
        if (name[i - 1] == '.')
            return i < end ? i - 1 : end;
    }
    return end;
}

cf_code cf_version_filename(const char *template_name, int64_t number, char *out, size_t out_len,
                            struct cf_error *err)
{
    size_t len = 0;
    size_t ext = 0;
    size_t inner = 0;
    int written = 0;

    if (out != NULL && out_len > 0)
        out[0] = '\0';
    if (template_name == NULL || template_name[0] == '\0' || number < 1 || out == NULL)
        return cf_fail(err, CF_E_INTERNAL,
                       "cannot build a download name from an empty template or version %" PRId64, number);
    len = strlen(template_name);
    ext = last_suffix(template_name, len);
    /* db.sql.gz keeps .sql.gz together: the compression suffix alone does not
     * say what the file is. */
    if (ext < len && is_compression_suffix(template_name + ext + 1, len - ext - 1)) {
        inner = last_suffix(template_name, ext);
        if (inner < ext)
            ext = inner;
    }
    written =
        snprintf(out, out_len, "%.*s-v%" PRId64 "%s", (int)ext, template_name, number, template_name + ext);
    if (written < 0 || (size_t)written >= out_len) {
        if (out_len > 0)
            out[0] = '\0';
        return cf_fail(err, CF_E_INTERNAL,
                       "the download name for version %" PRId64 " is longer than %zu bytes", number,
                       out_len > 0 ? out_len - 1 : 0);
    }
    return CF_OK;
}

cf_code cf_made_at_parse(const char *text, int64_t now, int64_t *out, struct cf_error *err)
{
    int64_t made_at;

    if (!cf_rfc3339_parse_any(text, &made_at))
        return cf_fail(err, CF_E_BAD_REQUEST,
                       "X-Coffer-Made-At must be an RFC 3339 time such as 2026-11-23T10:00:00Z");
    if (made_at > now + CF_MADE_AT_MAX_AHEAD)
        return cf_fail(err, CF_E_BAD_REQUEST,
                       "X-Coffer-Made-At is more than a day ahead of the server's clock: is the client's clock "
                       "right?");
    *out = made_at;
    return CF_OK;
}
