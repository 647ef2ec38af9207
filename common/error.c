#include "common/error.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

struct code_info {
    int status;
    const char *name;
};

/* The one table from error codes to HTTP status and API code string. */
static const struct code_info code_table[CF_E_COUNT_] = {
    [CF_OK] = {200, "ok"},
    [CF_E_INVALID_JSON] = {400, "invalid_json"},
    [CF_E_VALIDATION] = {400, "validation_failed"},
    [CF_E_INVALID_SIZE] = {400, "invalid_size"},
    [CF_E_INVALID_REF] = {400, "invalid_ref"},
    [CF_E_EMPTY_BODY] = {400, "empty_body"},
    [CF_E_CHECKSUM_MISMATCH] = {400, "checksum_mismatch"},
    [CF_E_BAD_REQUEST] = {400, "bad_request"},
    [CF_E_UNAUTHENTICATED] = {401, "unauthenticated"},
    [CF_E_INVALID_TOKEN] = {401, "invalid_token"},
    [CF_E_TOKEN_EXPIRED] = {401, "token_expired"},
    [CF_E_TOKEN_REVOKED] = {401, "token_revoked"},
    [CF_E_ACCOUNT_INACTIVE] = {401, "account_inactive"},
    [CF_E_FORBIDDEN] = {403, "forbidden"},
    [CF_E_PERMISSION_DENIED] = {403, "permission_denied"},
    [CF_E_PERMISSION_ESCALATION] = {403, "permission_escalation"},
    [CF_E_RESTRICTED] = {403, "token_restricted"},
    [CF_E_UNTRUSTED_INTERNAL_FILENAME] = {403, "untrusted_internal_filename"},
    [CF_E_NOT_FOUND] = {404, "not_found"},
    [CF_E_METHOD_NOT_ALLOWED] = {405, "method_not_allowed"},
    [CF_E_CONFLICT] = {409, "conflict"},
    [CF_E_COLLECTION_EXISTS] = {409, "collection_exists"},
    [CF_E_ACCOUNT_EXISTS] = {409, "account_exists"},
    [CF_E_COLLECTION_NOT_EMPTY] = {409, "collection_not_empty"},
    [CF_E_ACCOUNT_NOT_EMPTY] = {409, "account_not_empty"},
    [CF_E_LIMIT_BELOW_USAGE] = {409, "limit_below_usage"},
    [CF_E_TOO_MANY_VERSIONS] = {409, "too_many_versions"},
    [CF_E_TOO_MANY_COLLECTIONS] = {409, "too_many_collections"},
    [CF_E_BODY_TOO_LARGE] = {413, "body_too_large"},
    [CF_E_VERSION_TOO_LARGE] = {413, "version_too_large"},
    [CF_E_COLLECTION_FULL] = {413, "collection_full"},
    [CF_E_RANGE_NOT_SATISFIABLE] = {416, "range_not_satisfiable"},
    [CF_E_RATE_LIMITED] = {429, "rate_limited"},
    [CF_E_INTERNAL] = {500, "internal_error"},
    [CF_E_NOMEM] = {500, "internal_error"},
    [CF_E_IO] = {500, "internal_error"},
    [CF_E_DB_UNAVAILABLE] = {503, "database_unavailable"},
    [CF_E_STORAGE_UNAVAILABLE] = {503, "storage_unavailable"},
    [CF_E_ACCOUNT_QUOTA_EXCEEDED] = {507, "account_quota_exceeded"},
    [CF_E_STORAGE_FULL] = {507, "storage_full"},
};

int cf_code_http_status(cf_code code)
{
    if (code < 0 || code >= CF_E_COUNT_)
        return 500;
    return code_table[code].status;
}

const char *cf_code_name(cf_code code)
{
    if (code < 0 || code >= CF_E_COUNT_)
        return "internal_error";
    return code_table[code].name;
}

cf_code cf_code_from_name(const char *name)
{
    for (int code = 0; code < CF_E_COUNT_; code++) {
        if (strcmp(code_table[code].name, name) == 0)
            return (cf_code)code;
    }
    return CF_E_INTERNAL;
}

void cf_error_init(struct cf_error *err)
{
    err->code = CF_OK;
    err->message[0] = '\0';
    err->fields = NULL;
}

void cf_error_dispose(struct cf_error *err)
{
    if (err == NULL)
        return;
    json_decref(err->fields);
    cf_error_init(err);
}

cf_code cf_failv(struct cf_error *err, cf_code code, const char *fmt, va_list ap)
{
    if (err == NULL)
        return code;
    err->code = code;
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    return code;
}

cf_code cf_fail(struct cf_error *err, cf_code code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cf_failv(err, code, fmt, ap);
    va_end(ap);
    return code;
}

void cf_error_field(struct cf_error *err, const char *field, const char *fmt, ...)
{
    char text[256];
    va_list ap;

    if (err == NULL)
        return;
    if (err->fields == NULL)
        err->fields = json_object();
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    json_object_set_new(err->fields, field, json_string(text));
}

json_t *cf_error_to_json(const struct cf_error *err)
{
    const char *message = err->message[0] != '\0' ? err->message : cf_code_name(err->code);
    json_t *body = json_pack("{s:s, s:s}", "error", message, "code", cf_code_name(err->code));

    if (body != NULL && err->fields != NULL)
        json_object_set(body, "fields", err->fields);
    return body;
}

cf_code cf_code_from_write_errno(int errnum)
{
    if (errnum == ENOSPC || errnum == EDQUOT)
        return CF_E_STORAGE_FULL;
    return CF_E_IO;
}

/* _GNU_SOURCE is defined project-wide, so glibc's strerror_r is the GNU one that
 * returns the text (not always in buf); other C libraries have the XSI one. */
const char *cf_errno_text(int errnum, char *buf, size_t cap)
{
#if defined(_GNU_SOURCE) && defined(__GLIBC__)
    return strerror_r(errnum, buf, cap);
#else
    if (strerror_r(errnum, buf, cap) != 0)
        snprintf(buf, cap, "error %d", errnum);
    return buf;
#endif
}
