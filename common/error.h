/* The one error type of Coffer.
 *
 * Every function that can fail returns a cf_code and, when the caller passes a
 * struct cf_error, fills in a human sentence (and, for validation errors, the
 * offending fields). One table (error.c) maps each code to its HTTP status and
 * its stable API code string, so the server never invents a status on its own
 * and the client can map API codes back to exit codes. */
#ifndef COFFER_COMMON_ERROR_H
#define COFFER_COMMON_ERROR_H

#include <jansson.h>
#include <stdarg.h>

typedef enum {
    CF_OK = 0,
    /* 400 */
    CF_E_INVALID_JSON,      /* invalid_json */
    CF_E_VALIDATION,        /* validation_failed (with fields) */
    CF_E_INVALID_SIZE,      /* invalid_size */
    CF_E_INVALID_REF,       /* invalid_ref */
    CF_E_EMPTY_BODY,        /* empty_body */
    CF_E_CHECKSUM_MISMATCH, /* checksum_mismatch */
    CF_E_BAD_REQUEST,       /* bad_request */
    /* 401 */
    CF_E_UNAUTHENTICATED,  /* unauthenticated: no or malformed token */
    CF_E_INVALID_TOKEN,    /* invalid_token: bad signature, algorithm, claims, unknown */
    CF_E_TOKEN_EXPIRED,    /* token_expired */
    CF_E_TOKEN_REVOKED,    /* token_revoked */
    CF_E_ACCOUNT_INACTIVE, /* account_inactive */
    /* 403 */
    CF_E_FORBIDDEN,                   /* forbidden: wrong health/metrics code */
    CF_E_PERMISSION_DENIED,           /* permission_denied */
    CF_E_PERMISSION_ESCALATION,       /* permission_escalation */
    CF_E_RESTRICTED,                  /* token_restricted: IP or user agent refused */
    CF_E_UNTRUSTED_INTERNAL_FILENAME, /* untrusted_internal_filename */
    /* 404, 405 */
    CF_E_NOT_FOUND,          /* not_found */
    CF_E_METHOD_NOT_ALLOWED, /* method_not_allowed */
    /* 409 */
    CF_E_CONFLICT,             /* conflict */
    CF_E_COLLECTION_EXISTS,    /* collection_exists */
    CF_E_ACCOUNT_EXISTS,       /* account_exists */
    CF_E_COLLECTION_NOT_EMPTY, /* collection_not_empty */
    CF_E_ACCOUNT_NOT_EMPTY,    /* account_not_empty */
    CF_E_LIMIT_BELOW_USAGE,    /* limit_below_usage */
    CF_E_TOO_MANY_VERSIONS,    /* too_many_versions */
    CF_E_TOO_MANY_COLLECTIONS, /* too_many_collections */
    /* 413, 416, 429 */
    CF_E_BODY_TOO_LARGE,        /* body_too_large: a JSON body over its bound */
    CF_E_VERSION_TOO_LARGE,     /* version_too_large */
    CF_E_COLLECTION_FULL,       /* collection_full */
    CF_E_RANGE_NOT_SATISFIABLE, /* range_not_satisfiable */
    CF_E_RATE_LIMITED,          /* rate_limited */
    /* 500, 503, 507 */
    CF_E_INTERNAL,               /* internal_error */
    CF_E_NOMEM,                  /* internal_error (out of memory) */
    CF_E_IO,                     /* internal_error (an I/O error other than a full disk) */
    CF_E_DB_UNAVAILABLE,         /* database_unavailable */
    CF_E_STORAGE_UNAVAILABLE,    /* storage_unavailable */
    CF_E_ACCOUNT_QUOTA_EXCEEDED, /* account_quota_exceeded */
    CF_E_STORAGE_FULL,           /* storage_full */
    CF_E_COUNT_
} cf_code;

struct cf_error {
    cf_code code;
    char message[512];
    json_t *fields; /* owned; NULL or an object field -> what is wrong */
};

/* The HTTP status for a code (200 for CF_OK). */
int cf_code_http_status(cf_code code);
/* The stable API code string ("collection_full"); never NULL. */
const char *cf_code_name(cf_code code);
/* The code for an API code string, CF_E_INTERNAL when unknown. */
cf_code cf_code_from_name(const char *name);

void cf_error_init(struct cf_error *err);
/* Frees the fields; leaves the struct reusable. NULL is a no-op. */
void cf_error_dispose(struct cf_error *err);

/* Records a failure in err (which may be NULL) and returns code, so that a
 * function can end with `return cf_fail(err, CF_E_X, "...", ...);`.
 * A later cf_fail overwrites the message but keeps fields already added. */
cf_code cf_fail(struct cf_error *err, cf_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
cf_code cf_failv(struct cf_error *err, cf_code code, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/* Adds "field": "<what is wrong>" to err->fields (err may be NULL). */
void cf_error_field(struct cf_error *err, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The error as the API's JSON body: {"error", "code"[, "fields"]}. Caller frees. */
json_t *cf_error_to_json(const struct cf_error *err);

/* Maps an errno from a failed write to CF_E_STORAGE_FULL (ENOSPC, EDQUOT) or CF_E_IO. */
cf_code cf_code_from_write_errno(int errnum);

/* The text of errnum, thread-safely (strerror_r): in buf of cap bytes, or a
 * constant string. */
const char *cf_errno_text(int errnum, char *buf, size_t cap);

#endif
