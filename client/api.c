#include "client/api.h"

#include "client/exit_codes.h"
#include "client/interrupt.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct cf_api {
    struct cf_api_options opts;
    struct cf_retry retry;
    char *base;        /* the URL without trailing slashes */
    char *auth_header; /* "Authorization: Bearer ..."; wiped when freed */
    char *user_agent;
    char *ca_file;
};

static void free_secret(char *s)
{
    if (s == NULL)
        return;
    memset(s, 0, strlen(s));
    free(s);
}

void cf_api_free(struct cf_api *api)
{
    if (api == NULL)
        return;
    free(api->base);
    free_secret(api->auth_header);
    free(api->user_agent);
    free(api->ca_file);
    free(api);
}

cf_code cf_api_new(const struct cf_api_options *opts, struct cf_api **out, struct cf_error *err)
{
    struct cf_api *api = NULL;
    size_t len, auth_len;
    cf_code code = CF_OK;

    *out = NULL;
    if (opts->url == NULL ||
        (strncmp(opts->url, "http://", 7) != 0 && strncmp(opts->url, "https://", 8) != 0))
        return cf_fail(err, CF_E_VALIDATION, "the server url must start with http:// or https://, not \"%s\"",
                       opts->url != NULL ? opts->url : "");
    if (opts->token == NULL || opts->token[0] == '\0')
        return cf_fail(err, CF_E_VALIDATION, "no token to send");
    if (strpbrk(opts->token, "\r\n") != NULL)
        return cf_fail(err, CF_E_VALIDATION, "the token holds a line break");
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return cf_fail(err, CF_E_INTERNAL, "libcurl cannot start");
    api = calloc(1, sizeof(*api));
    if (api == NULL)
        return cf_fail(err, CF_E_NOMEM, "out of memory");
    api->opts = *opts;
    api->base = strdup(opts->url);
    auth_len = strlen("Authorization: Bearer ") + strlen(opts->token) + 1;
    api->auth_header = malloc(auth_len);
    api->user_agent = strdup(opts->user_agent != NULL ? opts->user_agent : "coffer/" COFFER_VERSION);
    api->ca_file = opts->ca_file != NULL ? strdup(opts->ca_file) : NULL;
    if (api->base == NULL || api->auth_header == NULL || api->user_agent == NULL ||
        (opts->ca_file != NULL && api->ca_file == NULL)) {
        code = cf_fail(err, CF_E_NOMEM, "out of memory");
        goto out;
    }
    snprintf(api->auth_header, auth_len, "Authorization: Bearer %s", opts->token);
    len = strlen(api->base);
    while (len > 0 && api->base[len - 1] == '/')
        api->base[--len] = '\0';
    /* The copies above are what the requests use; the caller's strings may go. */
    api->opts.url = api->base;
    api->opts.token = NULL;
    api->opts.user_agent = api->user_agent;
    api->opts.ca_file = api->ca_file;
    cf_retry_init(&api->retry, &opts->retry, opts->on_retry, opts->on_retry_ctx);
out:
    if (code != CF_OK) {
        cf_api_free(api);
        return code;
    }
    *out = api;
    return CF_OK;
}

const struct cf_api_options *cf_api_options(const struct cf_api *api)
{
    return &api->opts;
}

struct cf_retry *cf_api_retry(struct cf_api *api)
{
    return &api->retry;
}

bool cf_api_segment_valid(const char *s)
{
    size_t len = strlen(s);

    if (len == 0 || len > 128)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (!isalnum((unsigned char)s[i]) && s[i] != '-')
            return false;
    }
    return true;
}

static size_t collect_body(char *data, size_t size, size_t nmemb, void *userdata)
{
    struct cf_api_request *req = userdata;

    if (cf_api_request_collect(req, data, size * nmemb) != CF_OK)
        return 0;
    return size * nmemb;
}

/* Stops a transfer soon after SIGINT or SIGTERM. */
static int check_interrupt(void *clientp, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                           curl_off_t ulnow)
{
    (void)clientp;
    (void)dltotal;
    (void)dlnow;
    (void)ultotal;
    (void)ulnow;
    return cf_interrupted() ? 1 : 0;
}

cf_code cf_api_request_init(struct cf_api *api, struct cf_api_request *req, const char *method,
                            const char *path, struct cf_error *err)
{
    size_t url_len = strlen(api->base) + strlen(path) + 1;
    CURL *c;

    memset(req, 0, sizeof(*req));
    cf_buf_init(&req->body, CF_API_BODY_MAX);
    req->url = malloc(url_len);
    req->curl = curl_easy_init();
    if (req->url == NULL || req->curl == NULL)
        return cf_fail(err, CF_E_NOMEM, "out of memory");
    snprintf(req->url, url_len, "%s%s", api->base, path);
    c = req->curl;
    curl_easy_setopt(c, CURLOPT_URL, req->url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, req->errbuf);
    curl_easy_setopt(c, CURLOPT_USERAGENT, api->user_agent);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, api->opts.connect_timeout);
    /* No total timeout: a backup may take hours. A transfer that moves less
     * than a byte a second for stall_timeout seconds is given up instead. */
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, api->opts.stall_timeout);
    curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(c, CURLOPT_HTTP_CONTENT_DECODING, 0L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, req);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, check_interrupt);
    /* ca_file replaces the system's authorities: libcurl would otherwise
     * still trust every one in its built-in directory (/etc/ssl/certs). */
    if (api->ca_file != NULL) {
        curl_easy_setopt(c, CURLOPT_CAINFO, api->ca_file);
        curl_easy_setopt(c, CURLOPT_CAPATH, NULL);
    }
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    else if (strcmp(method, "POST") == 0)
        curl_easy_setopt(c, CURLOPT_POST, 1L);
    else if (strcmp(method, "GET") != 0)
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    return cf_api_request_header(req, api->auth_header, err);
}

cf_code cf_api_request_header(struct cf_api_request *req, const char *line, struct cf_error *err)
{
    struct curl_slist *grown = curl_slist_append(req->headers, line);

    if (grown == NULL)
        return cf_fail(err, CF_E_NOMEM, "out of memory");
    req->headers = grown;
    curl_easy_setopt(req->curl, CURLOPT_HTTPHEADER, req->headers);
    return CF_OK;
}

cf_code cf_api_request_collect(struct cf_api_request *req, const void *data, size_t len)
{
    return cf_buf_append(&req->body, data, len);
}

/* What a failed transfer means to someone who has to fix it. */
static cf_code network_error(struct cf_api_request *req, CURLcode rc, struct cf_error *err)
{
    const char *detail = req->errbuf[0] != '\0' ? req->errbuf : curl_easy_strerror(rc);

    if (rc == CURLE_ABORTED_BY_CALLBACK && cf_interrupted())
        return cf_fail(err, CF_E_NETWORK, "interrupted by a signal");
    if (rc == CURLE_SSL_CACERT || rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CONNECT_ERROR)
        return cf_fail(err, CF_E_NETWORK, "TLS with %s failed: %s (check ca_file)", req->url, detail);
    if (rc == CURLE_OPERATION_TIMEDOUT)
        return cf_fail(err, CF_E_NETWORK, "%s did not answer in time: %s", req->url, detail);
    return cf_fail(err, CF_E_NETWORK, "cannot talk to %s: %s", req->url, detail);
}

cf_code cf_api_request_perform(struct cf_api_request *req, struct cf_error *err)
{
    CURLcode rc = curl_easy_perform(req->curl);

    curl_easy_getinfo(req->curl, CURLINFO_RESPONSE_CODE, &req->status);
    if (rc != CURLE_OK)
        return network_error(req, rc, err);
    if (req->status >= 200 && req->status < 300)
        return CF_OK;
    return cf_api_error_from_response(req->status, req->body.data, req->body.len, err);
}

void cf_api_request_dispose(struct cf_api_request *req)
{
    if (req == NULL)
        return;
    curl_easy_cleanup(req->curl);
    curl_slist_free_all(req->headers);
    free(req->url);
    cf_buf_dispose(&req->body);
    memset(req, 0, sizeof(*req));
}

/* The code an error status stands for when the body does not say. */
static cf_code code_for_status(long status)
{
    switch (status) {
    case 400:
        return CF_E_BAD_REQUEST;
    case 401:
        return CF_E_UNAUTHENTICATED;
    case 403:
        return CF_E_PERMISSION_DENIED;
    case 404:
        return CF_E_NOT_FOUND;
    case 405:
        return CF_E_METHOD_NOT_ALLOWED;
    case 409:
        return CF_E_CONFLICT;
    case 413:
        return CF_E_BODY_TOO_LARGE;
    case 416:
        return CF_E_RANGE_NOT_SATISFIABLE;
    case 429:
        return CF_E_RATE_LIMITED;
    case 507:
        return CF_E_STORAGE_FULL;
    default:
        /* Another 5xx (a proxy's 502 or 504) is the server's trouble and
         * worth a retry; another 4xx or a 3xx is a refusal. */
        return status >= 500 ? CF_E_INTERNAL : CF_E_BAD_REQUEST;
    }
}

cf_code cf_api_error_from_response(long status, const char *body, size_t len, struct cf_error *err)
{
    json_t *root = NULL;
    const char *name, *sentence;
    cf_code code;

    if (body != NULL && len > 0)
        root = json_loadb(body, len, 0, NULL);
    name = json_string_value(json_object_get(root, "code"));
    sentence = json_string_value(json_object_get(root, "error"));
    if (name != NULL && sentence != NULL) {
        json_t *fields = json_object_get(root, "fields");

        code = cf_code_from_name(name);
        /* A code this client does not know yet: the status still says what kind it is. */
        if (code == CF_E_INTERNAL && strcmp(name, "internal_error") != 0)
            code = code_for_status(status);
        cf_fail(err, code, "%s (%ld %s)", sentence, status, name);
        if (err != NULL && json_is_object(fields)) {
            json_decref(err->fields);
            err->fields = json_incref(fields);
        }
        json_decref(root);
        return code;
    }
    json_decref(root);
    code = code_for_status(status);
    if (status >= 300 && status < 400)
        return cf_fail(err, code,
                       "the server answered %ld, a redirect; set url to the address it redirects to "
                       "(https:// instead of http://?)",
                       status);
    if (status == 404)
        return cf_fail(err, code,
                       "the server answered 404 without an API error; is url the base URL of a "
                       "Coffer server?");
    return cf_fail(err, code, "the server answered %ld without an API error (a proxy in between?)", status);
}

/* One JSON exchange, no retry. */
static cf_code json_once(struct cf_api *api, const char *method, const char *path, const char *text,
                         json_t **out, struct cf_error *err)
{
    struct cf_api_request req;
    json_error_t jerr;
    cf_code code;

    code = cf_api_request_init(api, &req, method, path, err);
    if (code == CF_OK && text != NULL) {
        code = cf_api_request_header(&req, "Content-Type: application/json", err);
        curl_easy_setopt(req.curl, CURLOPT_POSTFIELDS, text);
        curl_easy_setopt(req.curl, CURLOPT_POSTFIELDSIZE, (long)strlen(text));
    }
    if (code == CF_OK)
        code = cf_api_request_header(&req, "Accept: application/json", err);
    if (code == CF_OK)
        code = cf_api_request_perform(&req, err);
    if (code == CF_OK && req.status != 204 && strcmp(method, "HEAD") != 0) {
        *out = json_loadb(req.body.data != NULL ? req.body.data : "", req.body.len, 0, &jerr);
        if (*out == NULL)
            code =
                cf_fail(err, CF_E_INTERNAL, "the answer to %s %s is not JSON (%s); is url a Coffer server?",
                        method, path, jerr.text);
    }
    cf_api_request_dispose(&req);
    return code;
}

/* One JSON exchange, retried from the API's budget when retry is set. */
static cf_code json_call(struct cf_api *api, const char *method, const char *path, const json_t *body,
                         bool retry, json_t **out, struct cf_error *err)
{
    char *text = NULL;
    cf_code code;

    *out = NULL;
    if (body != NULL) {
        text = json_dumps(body, JSON_COMPACT);
        if (text == NULL)
            return cf_fail(err, CF_E_NOMEM, "out of memory");
    }
    for (;;) {
        code = json_once(api, method, path, text, out, err);
        if (code == CF_OK || !retry || !cf_retry_again(&api->retry, code, err))
            break;
        if (err != NULL) {
            json_decref(err->fields);
            err->fields = NULL;
        }
    }
    free(text);
    return code;
}

cf_code cf_api_json(struct cf_api *api, const char *method, const char *path, const json_t *body,
                    json_t **out, struct cf_error *err)
{
    bool retry = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;

    return json_call(api, method, path, body, retry, out, err);
}

cf_code cf_api_json_once(struct cf_api *api, const char *method, const char *path, const json_t *body,
                         json_t **out, struct cf_error *err)
{
    return json_call(api, method, path, body, false, out, err);
}
