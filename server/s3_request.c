#include "server/s3_request.h"

#include "common/log.h"
#include "common/sha256.h"
#include "server/s3_xml.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* Idle handles kept for reuse (each keeps its connections open). */
#define POOL_MAX 16
/* A URL is the base, a key of at most 128 + prefix bytes and a query of a few
 * names, an upload id and a key marker. */
#define URL_MAX          8192
#define BACKOFF_FIRST_MS 200
#define BACKOFF_MAX_MS   3200
#define HEADER_VALUE_MAX 256
#define MESSAGE_MAX      200
#define ERROR_BODY_MAX   (16 * 1024)

/* SHA-256 of nothing: the payload hash of a request without a body. */
static const char empty_sha256[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

struct cf_s3_client {
    char *base; /* scheme://host[:port]/bucket, or scheme://bucket.host[:port]; no trailing slash */
    bool virtual_host;
    char *name;  /* "bucket <bucket> at <endpoint>" */
    char *sigv4; /* "aws:amz:<region>:s3" */
    char *access_key;
    char *secret_key; /* wiped before it is freed */
    char *ca_file;    /* NULL: the system's */
    bool tls_verify;
    long timeout;
    pthread_mutex_t lock;
    CURL *pool[POOL_MAX]; /* under lock */
    int pooled;           /* under lock */
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_result = CURLE_OK;

/* curl_global_init is not safe to race with other threads' curl calls, so it
 * runs once, from the first cf_s3_client_new (main thread, at start-up). */
static void global_init(void)
{
    global_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* 3 to 63 characters of a-z 0-9 . -, starting and ending with a letter or digit. */
static bool bucket_valid(const char *bucket)
{
    size_t len = strlen(bucket);

    if (len < 3 || len > 63)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = bucket[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');

        if (!alnum && c != '.' && c != '-')
            return false;
        if ((i == 0 || i == len - 1) && !alnum)
            return false;
    }
    return true;
}

static char *dup_or_null(const char *s, bool *failed)
{
    char *copy;

    if (s == NULL || s[0] == '\0')
        return NULL;
    copy = strdup(s);
    if (copy == NULL)
        *failed = true;
    return copy;
}

/* Builds c->base from the endpoint: only scheme, host and port are allowed. */
static cf_code parse_endpoint(struct cf_s3_client *c, const char *endpoint, const char *bucket,
                              struct cf_error *err)
{
    CURLU *url = curl_url();
    char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL, *query = NULL, *user = NULL;
    char base[URL_MAX];
    cf_code code = CF_OK;
    int len;

    if (url == NULL)
        return cf_fail(err, CF_E_NOMEM, "out of memory");
    if (curl_url_set(url, CURLUPART_URL, endpoint, 0) != CURLUE_OK ||
        curl_url_get(url, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(url, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
        code = cf_fail(err, CF_E_VALIDATION,
                       "s3_endpoint must be a URL such as http://127.0.0.1:7480, not \"%s\"", endpoint);
        goto out;
    }
    curl_url_get(url, CURLUPART_PORT, &port, 0);
    curl_url_get(url, CURLUPART_PATH, &path, 0);
    curl_url_get(url, CURLUPART_QUERY, &query, 0);
    curl_url_get(url, CURLUPART_USER, &user, 0);
    if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) {
        code = cf_fail(err, CF_E_VALIDATION, "s3_endpoint must start with http:// or https://, not \"%s\"",
                       endpoint);
        goto out;
    }
    if ((path != NULL && strcmp(path, "/") != 0 && path[0] != '\0') || query != NULL || user != NULL) {
        code = cf_fail(err, CF_E_VALIDATION,
                       "s3_endpoint must be scheme://host[:port] with no path, query or user, not \"%s\"",
                       endpoint);
        goto out;
    }
    if (c->virtual_host && host[0] == '[') {
        code = cf_fail(err, CF_E_VALIDATION,
                       "s3_addressing virtual needs a host name in s3_endpoint, not an IPv6 address");
        goto out;
    }
    if (c->virtual_host)
        len = snprintf(base, sizeof(base), "%s://%s.%s%s%s", scheme, bucket, host, port != NULL ? ":" : "",
                       port != NULL ? port : "");
    else
        len = snprintf(base, sizeof(base), "%s://%s%s%s/%s", scheme, host, port != NULL ? ":" : "",
                       port != NULL ? port : "", bucket);
    if (len < 0 || (size_t)len >= sizeof(base) / 2) {
        code = cf_fail(err, CF_E_VALIDATION, "s3_endpoint is too long");
        goto out;
    }
    c->base = strdup(base);
    if (c->base == NULL)
        code = cf_fail(err, CF_E_NOMEM, "out of memory");
out:
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_free(path);
    curl_free(query);
    curl_free(user);
    curl_url_cleanup(url);
    return code;
}

cf_code cf_s3_client_new(const struct cf_s3_options *opt, struct cf_s3_client **out, struct cf_error *err)
{
    struct cf_s3_client *c = NULL;
    bool failed = false;
    char text[512];
    cf_code code = CF_OK;

    *out = NULL;
    pthread_once(&global_once, global_init);
    if (global_result != CURLE_OK)
        return cf_fail(err, CF_E_INTERNAL, "cannot initialise libcurl: %s",
                       curl_easy_strerror(global_result));
    if (opt->bucket == NULL || !bucket_valid(opt->bucket))
        return cf_fail(err, CF_E_VALIDATION,
                       "s3_bucket must be 3 to 63 characters of a-z, 0-9, '.' and '-', not \"%s\"",
                       opt->bucket != NULL ? opt->bucket : "");
    if (opt->region == NULL || opt->region[0] == '\0' || strchr(opt->region, ':') != NULL)
        return cf_fail(err, CF_E_VALIDATION, "s3_region must be set and may not hold ':'");
    if (opt->access_key == NULL || opt->access_key[0] == '\0' || opt->secret_key == NULL ||
        opt->secret_key[0] == '\0')
        return cf_fail(err, CF_E_VALIDATION, "s3_access_key and a secret key are both needed");
    if (opt->endpoint == NULL || opt->endpoint[0] == '\0')
        return cf_fail(err, CF_E_VALIDATION, "s3_endpoint must be set");
    c = calloc(1, sizeof(*c));
    if (c == NULL)
        return cf_fail(err, CF_E_NOMEM, "out of memory");
    pthread_mutex_init(&c->lock, NULL);
    c->virtual_host = opt->virtual_host;
    c->tls_verify = opt->tls_verify;
    c->timeout = opt->timeout > 0 ? opt->timeout : 30;
    code = parse_endpoint(c, opt->endpoint, opt->bucket, err);
    if (code != CF_OK)
        goto out;
    snprintf(text, sizeof(text), "bucket %s at %s", opt->bucket, opt->endpoint);
    c->name = dup_or_null(text, &failed);
    snprintf(text, sizeof(text), "aws:amz:%s:s3", opt->region);
    c->sigv4 = dup_or_null(text, &failed);
    c->access_key = dup_or_null(opt->access_key, &failed);
    c->secret_key = dup_or_null(opt->secret_key, &failed);
    c->ca_file = dup_or_null(opt->ca_file, &failed);
    if (failed)
        code = cf_fail(err, CF_E_NOMEM, "out of memory");
out:
    if (code != CF_OK) {
        cf_s3_client_free(c);
        c = NULL;
    }
    *out = c;
    return code;
}

void cf_s3_client_free(struct cf_s3_client *c)
{
    if (c == NULL)
        return;
    for (int i = 0; i < c->pooled; i++)
        curl_easy_cleanup(c->pool[i]);
    if (c->secret_key != NULL)
        memset(c->secret_key, 0, strlen(c->secret_key));
    free(c->base);
    free(c->name);
    free(c->sigv4);
    free(c->access_key);
    free(c->secret_key);
    free(c->ca_file);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

const char *cf_s3_client_name(const struct cf_s3_client *c)
{
    return c->name;
}

CURL *cf_s3_easy_get(struct cf_s3_client *c)
{
    CURL *easy = NULL;

    pthread_mutex_lock(&c->lock);
    if (c->pooled > 0)
        easy = c->pool[--c->pooled];
    pthread_mutex_unlock(&c->lock);
    return easy != NULL ? easy : curl_easy_init();
}

void cf_s3_easy_put(struct cf_s3_client *c, CURL *easy)
{
    bool kept = false;

    if (easy == NULL)
        return;
    pthread_mutex_lock(&c->lock);
    if (c->pooled < POOL_MAX) {
        c->pool[c->pooled++] = easy;
        kept = true;
    }
    pthread_mutex_unlock(&c->lock);
    if (!kept)
        curl_easy_cleanup(easy);
}

cf_code cf_s3_query_add(struct cf_buf *q, const char *name, const char *value)
{
    static const char hex[] = "0123456789ABCDEF";
    cf_code code = CF_OK;

    if (q->len > 0)
        code = cf_buf_append(q, "&", 1);
    if (code == CF_OK)
        code = cf_buf_printf(q, "%s=", name);
    for (const unsigned char *p = (const unsigned char *)value; code == CF_OK && *p != '\0'; p++) {
        bool plain = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
                     *p == '-' || *p == '_' || *p == '.' || *p == '~';
        char escaped[3] = {'%', hex[*p >> 4], hex[*p & 15]};

        code = plain ? cf_buf_append(q, p, 1) : cf_buf_append(q, escaped, 3);
    }
    return code;
}

void cf_s3_response_init(struct cf_s3_response *r)
{
    memset(r, 0, sizeof(*r));
    cf_buf_init(&r->body, 0);
}

void cf_s3_response_dispose(struct cf_s3_response *r)
{
    cf_buf_dispose(&r->body);
}

/* What one try of a request shares with curl's callbacks. */
struct transfer {
    const struct cf_s3_request *req;
    struct cf_s3_response *resp;
    size_t sent;        /* body bytes handed to curl */
    cf_code body_error; /* why on_body refused the answer, CF_OK if it did not */
};

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    struct transfer *t = arg;
    size_t len = size * n;
    cf_code code = cf_buf_append(&t->resp->body, data, len);

    if (code != CF_OK) {
        t->body_error = code;
        return 0;
    }
    return len;
}

/* Parses "first-last/total" (after "bytes "); false when it is not that. */
static bool parse_range(const char *text, uint64_t *first, uint64_t *last, uint64_t *total)
{
    char *end = NULL;

    *first = strtoull(text, &end, 10);
    if (end == text || *end != '-')
        return false;
    text = end + 1;
    *last = strtoull(text, &end, 10);
    if (end == text || *end != '/')
        return false;
    text = end + 1;
    *total = strtoull(text, &end, 10);
    return end != text && *end == '\0' && *first <= *last && *last < *total;
}

static size_t on_header(char *data, size_t size, size_t n, void *arg)
{
    struct cf_s3_response *resp = ((struct transfer *)arg)->resp;
    size_t len = size * n;
    const char *colon = memchr(data, ':', len);
    char name[32], value[HEADER_VALUE_MAX];
    size_t name_len, value_len;
    const char *v;

    /* A new status line (after "100 Continue", say): forget the headers before it. */
    if (len >= 5 && memcmp(data, "HTTP/", 5) == 0) {
        resp->etag[0] = '\0';
        resp->has_length = resp->has_range = false;
        return len;
    }
    if (colon == NULL)
        return len;
    name_len = (size_t)(colon - data);
    if (name_len >= sizeof(name))
        return len;
    memcpy(name, data, name_len);
    name[name_len] = '\0';
    v = colon + 1;
    value_len = len - name_len - 1;
    while (value_len > 0 && (*v == ' ' || *v == '\t')) {
        v++;
        value_len--;
    }
    while (value_len > 0 && (v[value_len - 1] == '\r' || v[value_len - 1] == '\n' || v[value_len - 1] == ' '))
        value_len--;
    if (value_len >= sizeof(value))
        return len;
    memcpy(value, v, value_len);
    value[value_len] = '\0';

    if (strcasecmp(name, "ETag") == 0 && value_len < sizeof(resp->etag)) {
        memcpy(resp->etag, value, value_len + 1);
    } else if (strcasecmp(name, "Content-Length") == 0) {
        char *end = NULL;
        resp->content_length = strtoull(value, &end, 10);
        resp->has_length = end != value && *end == '\0';
    } else if (strcasecmp(name, "Content-Range") == 0 && strncmp(value, "bytes ", 6) == 0) {
        resp->has_range = parse_range(value + 6, &resp->range_first, &resp->range_last, &resp->total);
    }
    return len;
}

static size_t on_read(char *buf, size_t size, size_t n, void *arg)
{
    struct transfer *t = arg;
    size_t cap = size * n;
    size_t left = t->req->body_len - t->sent;
    size_t take = cap < left ? cap : left;

    memcpy(buf, (const char *)t->req->body + t->sent, take);
    t->sent += take;
    return take;
}

/* curl rewinds the body when it must send it again (a redirect, a reused
 * connection that turned out closed). */
static int on_seek(void *arg, curl_off_t offset, int origin)
{
    struct transfer *t = arg;

    if (origin != SEEK_SET || offset < 0 || (uint64_t)offset > t->req->body_len)
        return CURL_SEEKFUNC_CANTSEEK;
    t->sent = (size_t)offset;
    return CURL_SEEKFUNC_OK;
}

/* Whether a transfer that ended with rc may succeed if tried again. */
static bool transient(CURLcode rc)
{
    switch (rc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        return true;
    default:
        return false;
    }
}

/* Sets up easy for one try of req. */
static CURLcode setup(struct cf_s3_client *c, CURL *easy, const struct cf_s3_request *req, const char *url,
                      struct curl_slist *headers, struct transfer *t, char *errbuf)
{
    long timeout = req->timeout > 0 && req->timeout < c->timeout ? req->timeout : c->timeout;
    CURLcode rc = CURLE_OK;

#define SET(option, value)                                                                                   \
    do {                                                                                                     \
        if (rc == CURLE_OK)                                                                                  \
            rc = curl_easy_setopt(easy, option, value);                                                      \
    } while (0)

    curl_easy_reset(easy);
    SET(CURLOPT_URL, url);
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_ERRORBUFFER, errbuf);
    SET(CURLOPT_AWS_SIGV4, c->sigv4);
    SET(CURLOPT_USERNAME, c->access_key);
    SET(CURLOPT_PASSWORD, c->secret_key);
    SET(CURLOPT_HTTPHEADER, headers);
    SET(CURLOPT_CONNECTTIMEOUT, timeout);
    /* No byte either way for timeout seconds ends the try; a large part on a
     * slow but moving link does not. */
    SET(CURLOPT_LOW_SPEED_LIMIT, 1L);
    SET(CURLOPT_LOW_SPEED_TIME, timeout);
    SET(CURLOPT_SSL_VERIFYPEER, c->tls_verify ? 1L : 0L);
    SET(CURLOPT_SSL_VERIFYHOST, c->tls_verify ? 2L : 0L);
    if (c->ca_file != NULL)
        SET(CURLOPT_CAINFO, c->ca_file);
    SET(CURLOPT_WRITEFUNCTION, on_body);
    SET(CURLOPT_WRITEDATA, t);
    SET(CURLOPT_HEADERFUNCTION, on_header);
    SET(CURLOPT_HEADERDATA, t);
    if (strcmp(req->method, "GET") == 0) {
        SET(CURLOPT_HTTPGET, 1L);
    } else if (strcmp(req->method, "HEAD") == 0) {
        SET(CURLOPT_NOBODY, 1L);
    } else if (strcmp(req->method, "PUT") == 0) {
        SET(CURLOPT_UPLOAD, 1L);
        SET(CURLOPT_READFUNCTION, on_read);
        SET(CURLOPT_READDATA, t);
        SET(CURLOPT_SEEKFUNCTION, on_seek);
        SET(CURLOPT_SEEKDATA, t);
        SET(CURLOPT_INFILESIZE_LARGE, (curl_off_t)req->body_len);
    } else if (strcmp(req->method, "POST") == 0) {
        SET(CURLOPT_POST, 1L);
        SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
        SET(CURLOPT_POSTFIELDS, req->body != NULL ? req->body : "");
    } else {
        SET(CURLOPT_CUSTOMREQUEST, req->method);
    }
#undef SET
    return rc;
}

/* The hex SHA-256 of the body into hex. */
static cf_code body_sha256(const struct cf_s3_request *req, char hex[CF_SHA256_HEX_LEN + 1],
                           struct cf_error *err)
{
    struct cf_sha256 *h;

    if (req->body_len == 0) {
        memcpy(hex, empty_sha256, sizeof(empty_sha256));
        return CF_OK;
    }
    h = cf_sha256_new();
    if (h == NULL)
        return cf_fail(err, CF_E_NOMEM, "out of memory");
    cf_sha256_update(h, req->body, req->body_len);
    cf_sha256_final_hex(h, hex);
    cf_sha256_free(h);
    return CF_OK;
}

static cf_code build_headers(const struct cf_s3_request *req, struct curl_slist **out, struct cf_error *err)
{
    char hash[CF_SHA256_HEX_LEN + 1];
    char line[CF_S3_ETAG_MAX + 64];
    struct curl_slist *list = NULL, *next;
    cf_code code = body_sha256(req, hash, err);
    bool failed = false;

    *out = NULL;
    if (code != CF_OK)
        return code;
    /* curl 7.88 signs this header's value as the payload hash. */
    snprintf(line, sizeof(line), "x-amz-content-sha256: %s", hash);
    next = curl_slist_append(list, line);
    failed |= next == NULL;
    list = next != NULL ? next : list;
    if (req->ranged) {
        snprintf(line, sizeof(line), "Range: bytes=%llu-%llu", (unsigned long long)req->range_first,
                 (unsigned long long)req->range_last);
        next = curl_slist_append(list, line);
        failed |= next == NULL;
        list = next != NULL ? next : list;
    }
    if (req->if_match != NULL) {
        snprintf(line, sizeof(line), "If-Match: %s", req->if_match);
        next = curl_slist_append(list, line);
        failed |= next == NULL;
        list = next != NULL ? next : list;
    }
    if (req->content_type != NULL) {
        snprintf(line, sizeof(line), "Content-Type: %s", req->content_type);
        next = curl_slist_append(list, line);
        failed |= next == NULL;
        list = next != NULL ? next : list;
    }
    if (failed) {
        curl_slist_free_all(list);
        return cf_fail(err, CF_E_NOMEM, "out of memory");
    }
    *out = list;
    return CF_OK;
}

/* Whether a 200 answer's body is an S3 error document: CompleteMultipartUpload
 * may fail after its 200 status has gone out. */
static bool error_document(const struct cf_buf *body)
{
    const char *p = body->data;
    const char *end = body->data + body->len;

    if (p == NULL)
        return false;
    /* Past blanks and the XML declaration to the root element. */
    for (;;) {
        while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
            p++;
        if (end - p >= 2 && memcmp(p, "<?", 2) == 0) {
            const char *close = memmem(p, (size_t)(end - p), "?>", 2);
            if (close == NULL)
                return false;
            p = close + 2;
            continue;
        }
        break;
    }
    return end - p >= 7 && memcmp(p, "<Error>", 7) == 0;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* The back-off before try number next (2, 3 ...): doubling from
 * BACKOFF_FIRST_MS up to BACKOFF_MAX_MS, plus up to half again so that
 * instances that failed together do not all come back together. */
static long backoff_ms(int next)
{
    struct timespec now;
    long ms = BACKOFF_FIRST_MS;

    for (int i = 2; i < next && ms < BACKOFF_MAX_MS; i++)
        ms *= 2;
    if (ms > BACKOFF_MAX_MS)
        ms = BACKOFF_MAX_MS;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return ms + (long)((unsigned long)now.tv_nsec % (unsigned long)(ms / 2 + 1));
}

/* The failure for an answer with a status other than 2xx. */
static cf_code status_failure(struct cf_s3_client *c, const struct cf_s3_request *req,
                              struct cf_s3_response *resp, int tries, struct cf_error *err)
{
    struct cf_s3_xml xml = {resp->body.data, resp->body.len};
    char message[MESSAGE_MAX] = "";
    const char *key = req->key != NULL ? req->key : "(the bucket)";
    const char *code_text;
    char retried[48] = "";

    cf_s3_xml_text(xml, "Code", resp->error_code, sizeof(resp->error_code));
    cf_s3_xml_text(xml, "Message", message, sizeof(message));
    code_text = resp->error_code[0] != '\0' ? resp->error_code : "no error code";
    if (tries > 1)
        snprintf(retried, sizeof(retried), " (after %d tries)", tries);
    switch (resp->status) {
    case 403:
        if (strcmp(resp->error_code, "QuotaExceeded") == 0)
            return cf_fail(err, CF_E_STORAGE_FULL, "S3 %s %s (%s): 403 QuotaExceeded: the bucket is full",
                           req->method, key, c->name);
        return cf_fail(err, CF_E_STORAGE_UNAVAILABLE,
                       "S3 %s %s (%s): 403 %s%s%s: the store refused the request; check s3_access_key, "
                       "the secret key, s3_region and the bucket's permissions",
                       req->method, key, c->name, code_text, message[0] != '\0' ? ": " : "", message);
    case 404:
        return cf_fail(err, CF_E_NOT_FOUND, "S3 %s %s (%s): 404 %s", req->method, key, c->name, code_text);
    case 416:
        return cf_fail(err, CF_E_RANGE_NOT_SATISFIABLE, "S3 %s %s (%s): 416 %s", req->method, key, c->name,
                       code_text);
    case 503:
        return cf_fail(err, CF_E_STORAGE_UNAVAILABLE, "S3 %s %s (%s): 503 %s%s", req->method, key, c->name,
                       code_text, retried);
    default:
        return cf_fail(err, CF_E_IO, "S3 %s %s (%s): %ld %s%s%s%s", req->method, key, c->name, resp->status,
                       code_text, message[0] != '\0' ? ": " : "", message, retried);
    }
}

cf_code cf_s3_perform(struct cf_s3_client *c, CURL *easy, const struct cf_s3_request *req,
                      struct cf_s3_response *resp, struct cf_error *err)
{
    struct curl_slist *headers = NULL;
    struct cf_buf url;
    struct transfer t;
    char errbuf[CURL_ERROR_SIZE];
    const char *key = req->key != NULL ? req->key : "(the bucket)";
    int tries = req->tries > 0 && req->tries <= CF_S3_TRIES ? req->tries : CF_S3_TRIES;
    CURLcode rc = CURLE_OK;
    cf_code code;
    int attempt;

    cf_buf_init(&url, URL_MAX);
    code = build_headers(req, &headers, err);
    if (code != CF_OK)
        goto out;
    if (req->key != NULL)
        code = cf_buf_printf(&url, "%s/%s", c->base, req->key);
    else
        code = cf_buf_printf(&url, "%s%s", c->base, c->virtual_host ? "/" : "");
    if (code == CF_OK && req->query != NULL && req->query[0] != '\0')
        code = cf_buf_printf(&url, "?%s", req->query);
    if (code != CF_OK) {
        code = cf_fail(err, code == CF_E_NOMEM ? CF_E_NOMEM : CF_E_INTERNAL, "S3 %s %s: the URL is too long",
                       req->method, key);
        goto out;
    }

    for (attempt = 1;; attempt++) {
        bool again;

        memset(&t, 0, sizeof(t));
        t.req = req;
        t.resp = resp;
        resp->status = 0;
        resp->etag[0] = resp->error_code[0] = '\0';
        resp->has_length = resp->has_range = false;
        /* Room for an error document even when a success has no body. */
        cf_buf_reset(&resp->body);
        resp->body.max = req->max_response > ERROR_BODY_MAX ? req->max_response : ERROR_BODY_MAX;
        errbuf[0] = '\0';
        rc = setup(c, easy, req, url.data, headers, &t, errbuf);
        if (rc != CURLE_OK) {
            code =
                cf_fail(err, rc == CURLE_OUT_OF_MEMORY ? CF_E_NOMEM : CF_E_INTERNAL,
                        "S3 %s %s: cannot set up the request: %s", req->method, key, curl_easy_strerror(rc));
            goto out;
        }
        rc = curl_easy_perform(easy);
        if (rc == CURLE_OK)
            curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &resp->status);
        if (t.body_error != CF_OK) {
            code =
                t.body_error == CF_E_NOMEM
                    ? cf_fail(err, CF_E_NOMEM, "out of memory")
                    : cf_fail(err, CF_E_IO, "S3 %s %s (%s): the answer is larger than the %zu bytes expected",
                              req->method, key, c->name, resp->body.max);
            goto out;
        }
        again = rc != CURLE_OK
                    ? transient(rc)
                    : resp->status >= 500 || (resp->status == 200 && strcmp(req->method, "POST") == 0 &&
                                              error_document(&resp->body));
        cf_log(CF_LOG_DEBUG, "s3: %s %s -> %ld%s%s", req->method, key, resp->status,
               rc != CURLE_OK ? " " : "", rc != CURLE_OK ? curl_easy_strerror(rc) : "");
        if (!again || attempt >= tries)
            break;
        {
            long wait = backoff_ms(attempt + 1);
            cf_log(CF_LOG_WARN, "s3: %s %s (%s): %s; trying again in %ld ms (try %d of %d)", req->method, key,
                   c->name,
                   rc != CURLE_OK ? (errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc)) : "5xx answer",
                   wait, attempt + 1, tries);
            sleep_ms(wait);
        }
    }

    if (rc != CURLE_OK) {
        code = cf_fail(err, rc == CURLE_OUT_OF_MEMORY ? CF_E_NOMEM : CF_E_STORAGE_UNAVAILABLE,
                       "S3 %s %s (%s): cannot reach the store%s: %s", req->method, key, c->name,
                       attempt > 1 ? " after several tries" : "",
                       errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc));
        goto out;
    }
    if (resp->status == 200 && strcmp(req->method, "POST") == 0 && error_document(&resp->body))
        resp->status = 500;
    if (resp->status < 200 || resp->status > 299) {
        code = status_failure(c, req, resp, attempt, err);
        goto out;
    }
    code = CF_OK;
out:
    curl_slist_free_all(headers);
    cf_buf_dispose(&url);
    return code;
}
