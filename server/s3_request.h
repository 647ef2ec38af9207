/* One signed request to an S3-compatible store, through libcurl.
 *
 * libcurl signs with AWS Signature Version 4 (CURLOPT_AWS_SIGV4). Two things
 * it does not do in 7.88 are done here: the x-amz-content-sha256 header (the
 * real SHA-256 of the body, which curl then signs with the other headers; S3
 * and RGW refuse a request without it), and the canonical query string (curl
 * signs the query as written, so callers write it canonical: names sorted,
 * values encoded with cf_s3_query_add, a bare name written "name=").
 *
 * A cf_s3_client holds what every request needs (endpoint, bucket, region,
 * credentials, TLS settings) and is read-only after cf_s3_client_new, so one
 * client serves many threads. A request runs on a CURL easy handle that one
 * thread owns at a time; handles come from and go back to the client's small
 * pool so that connections are reused.
 *
 * Retries: a connection error, a timeout or a 5xx answer is tried again after
 * a bounded exponential back-off (req->tries in all); a 4xx answer never is.
 * The secret and the Authorization header are never logged. */
#ifndef COFFER_SERVER_S3_REQUEST_H
#define COFFER_SERVER_S3_REQUEST_H

#include "common/buf.h"
#include "server/store.h"

#include <curl/curl.h>
#include <stdbool.h>
#include <stdint.h>

#define CF_S3_ETAG_MAX       128
#define CF_S3_ERROR_CODE_MAX 64
#define CF_S3_TRIES          5

struct cf_s3_client;

/* Copies what it keeps of opt (see struct cf_s3_options in store.h) and calls
 * curl_global_init the first time. CF_E_VALIDATION when the endpoint is not
 * "http(s)://host[:port]" or the bucket name is not one S3 allows. Caller
 * frees with cf_s3_client_free. */
cf_code cf_s3_client_new(const struct cf_s3_options *opt, struct cf_s3_client **out, struct cf_error *err);
/* NULL is a no-op. Every handle taken with cf_s3_easy_get must be back. */
void cf_s3_client_free(struct cf_s3_client *c);

/* "bucket at endpoint", for messages. Borrowed from the client. */
const char *cf_s3_client_name(const struct cf_s3_client *c);

/* A handle for this thread's requests: a pooled one or a new one; NULL when
 * out of memory. Give it back with cf_s3_easy_put (NULL is a no-op). */
CURL *cf_s3_easy_get(struct cf_s3_client *c);
void cf_s3_easy_put(struct cf_s3_client *c, CURL *easy);

/* Appends "name=value" (with "&" before it when q is not empty) to a query
 * string, value percent-encoded as SigV4 wants: everything but A-Z a-z 0-9 - _
 * . ~ as %XX. Callers add names in sorted order. CF_E_NOMEM, or
 * CF_E_BODY_TOO_LARGE past q's bound. */
cf_code cf_s3_query_add(struct cf_buf *q, const char *name, const char *value);

struct cf_s3_request {
    const char *method; /* GET, HEAD, PUT, POST or DELETE */
    const char *key;    /* the object's full key (prefix included); NULL: the bucket */
    const char *query;  /* canonical (see above); NULL or "" for none */
    const void *body;   /* PUT and POST; borrowed until cf_s3_perform returns */
    size_t body_len;
    const char *content_type; /* NULL: none sent */
    bool ranged;              /* send Range: bytes=range_first-range_last */
    uint64_t range_first;
    uint64_t range_last;
    const char *if_match; /* NULL or an ETag the object must still have */
    size_t max_response;  /* the most body bytes accepted in the answer */
    int tries;            /* 1 to CF_S3_TRIES; 0 means CF_S3_TRIES */
    long timeout;         /* seconds, when shorter than the client's s3_timeout; 0: the client's */
};

struct cf_s3_response {
    long status; /* 0 when no answer came */
    struct cf_buf body;
    char etag[CF_S3_ETAG_MAX];             /* the ETag header as sent (quotes kept), "" for none */
    char error_code[CF_S3_ERROR_CODE_MAX]; /* <Code> of an error answer, "" for none */
    bool has_length;
    uint64_t content_length;
    bool has_range; /* Content-Range: bytes first-last/total */
    uint64_t range_first, range_last, total;
};

void cf_s3_response_init(struct cf_s3_response *r);
void cf_s3_response_dispose(struct cf_s3_response *r);

/* Sends req (with retries, see above) and fills resp, which must have been
 * initialised; its body holds the last answer's body.
 *
 * CF_OK for a 2xx answer. Otherwise the code says what happened, with a
 * message naming the method, the key, the status and S3's error code:
 * 403 CF_E_STORAGE_UNAVAILABLE (credentials or permissions; QuotaExceeded is
 * CF_E_STORAGE_FULL), 404 CF_E_NOT_FOUND, 416 CF_E_RANGE_NOT_SATISFIABLE, 503
 * and no answer at all (connection refused, timeout, TLS failure)
 * CF_E_STORAGE_UNAVAILABLE, other statuses CF_E_IO, an answer larger than
 * req->max_response CF_E_IO, CF_E_NOMEM. resp->status is set whenever an
 * answer came, so callers may treat a 404 as success. */
cf_code cf_s3_perform(struct cf_s3_client *c, CURL *easy, const struct cf_s3_request *req,
                      struct cf_s3_response *resp, struct cf_error *err);

#endif
