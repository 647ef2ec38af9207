/* Talking to cofferd over HTTP with libcurl.
 *
 * One struct cf_api holds what every request shares (base URL, token, TLS
 * and timeouts, retry policy); each exchange is a struct cf_api_request set up
 * by cf_api_request_init, adjusted by the caller (a method's body, its own
 * callbacks) and run by cf_api_request_perform, which turns the outcome into
 * a cf_code: 2xx is CF_OK, an error answer becomes the API's code
 * (cf_code_from_name) with the server's sentence and fields, and a transfer
 * that fails is CF_E_NETWORK (client/exit_codes.h).
 *
 * The token goes only into the Authorization header; it is never logged or
 * put into a message. */
#ifndef COFFER_CLIENT_API_H
#define COFFER_CLIENT_API_H

#include "client/retry.h"
#include "common/buf.h"
#include "common/error.h"

#include <curl/curl.h>
#include <jansson.h>
#include <stdbool.h>

/* The most a JSON answer (or an error body) may hold. */
#define CF_API_BODY_MAX (16 * 1024 * 1024)

struct cf_api_options {
    const char *url;        /* http:// or https://, with an optional path prefix */
    const char *token;      /* borrowed; copied into the Authorization header */
    const char *ca_file;    /* NULL: the system's authorities */
    const char *user_agent; /* NULL: "coffer/<version>" */
    long connect_timeout;   /* seconds */
    long stall_timeout;     /* seconds a transfer may go without a byte moving */
    struct cf_retry_policy retry; /* the budget of the whole run of this API (client/retry.h) */
    /* Called before each retry's wait (may be NULL): which retry, the wait, and why. */
    cf_retry_hook on_retry;
    void *on_retry_ctx;
};

struct cf_api;

/* CF_E_VALIDATION for a URL that is not http(s) or a missing token. Caller
 * frees with cf_api_free. */
cf_code cf_api_new(const struct cf_api_options *opts, struct cf_api **out, struct cf_error *err);
void cf_api_free(struct cf_api *api);
const struct cf_api_options *cf_api_options(const struct cf_api *api);
/* The retry budget every request made through api shares (borrowed for
 * api's life): callers that retry a step of their own use it, with
 * cf_retry_again, so that one command never waits more than the policy's
 * worst case in all. */
struct cf_retry *cf_api_retry(struct cf_api *api);

struct cf_api_request {
    CURL *curl;
    struct curl_slist *headers;
    char *url;
    char errbuf[CURL_ERROR_SIZE];
    struct cf_buf body; /* the answer's body, when the default write function collects it */
    long status;        /* after perform */
};

/* Sets up method (GET, POST, PUT, DELETE, HEAD) on base URL + path (which
 * starts with "/"): authentication, TLS, timeouts, user agent, and a write
 * function that collects the answer into req->body. Dispose req afterwards
 * whatever happens. */
cf_code cf_api_request_init(struct cf_api *api, struct cf_api_request *req, const char *method,
                            const char *path, struct cf_error *err);
/* Adds a request header line ("Name: value"). */
cf_code cf_api_request_header(struct cf_api_request *req, const char *line, struct cf_error *err);
/* Appends to req->body: for callers with their own write function, who keep
 * an error answer's body for perform to read. CF_E_BODY_TOO_LARGE past the bound. */
cf_code cf_api_request_collect(struct cf_api_request *req, const void *data, size_t len);
/* Runs the request. A callback that aborted the transfer makes this return
 * CF_E_NETWORK: the caller, which knows why it aborted, reports its own error. */
cf_code cf_api_request_perform(struct cf_api_request *req, struct cf_error *err);
void cf_api_request_dispose(struct cf_api_request *req);

/* A JSON call: body (may be NULL) is sent as JSON, the answer parsed into
 * *out (NULL for 204; caller decrefs). GET and HEAD are retried from the
 * API's budget; other methods are not, since the first attempt may have
 * taken effect. */
cf_code cf_api_json(struct cf_api *api, const char *method, const char *path, const json_t *body,
                    json_t **out, struct cf_error *err);
/* The same exchange, tried once: for a caller that retries a larger step
 * this request is part of, so that the request is not retried twice. */
cf_code cf_api_json_once(struct cf_api *api, const char *method, const char *path, const json_t *body,
                         json_t **out, struct cf_error *err);

/* The cf_code and message for an error answer: the API's JSON body when there
 * is one ("<error> (<status> <code>)", fields copied), else a sentence made
 * from the status (a proxy's HTML page, a redirect). */
cf_code cf_api_error_from_response(long status, const char *body, size_t len, struct cf_error *err);
/* True when s may be put in a URL path as one segment as it is: 1 to 128
 * letters, digits, dashes (ids, version refs, UUIDs). */
bool cf_api_segment_valid(const char *s);

#endif
