/* /api/stable/repository/collection/{id}/versions: upload, list, download, delete. */
#include "common/log.h"
#include "common/rfc3339.h"
#include "handlers.h"
#include "handoff.h"
#include "http_range.h"
#include "metrics.h"
#include "service_versions.h"
#include "version_ref.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define DOWNLOAD_BLOCK (256 * 1024)

/* The length the client declared: Content-Length, -1 for a chunked body, 0 for none. */
static cf_code declared_length(struct cf_request *req, int64_t *out, struct cf_error *err)
{
    const char *length = cf_request_header(req, MHD_HTTP_HEADER_CONTENT_LENGTH);
    const char *encoding = cf_request_header(req, MHD_HTTP_HEADER_TRANSFER_ENCODING);
    char *end = NULL;

    *out = 0;
    if (length != NULL) {
        errno = 0;
        *out = strtoll(length, &end, 10);
        if (errno != 0 || end == length || *end != '\0' || *out < 0)
            return cf_fail(err, CF_E_BAD_REQUEST, "Content-Length is not a number");
    } else if (encoding != NULL && strcasecmp(encoding, "chunked") == 0) {
        *out = -1;
    }
    return CF_OK;
}

/* The NGINX handoff: the body is a file NGINX wrote; the whole upload happens
 * here, on the first call, and the file is read to the end before the reply
 * (NGINX deletes it once it has the reply). */
static void upload_handed_off(struct cf_request *req, struct cf_upload_request *request)
{
    struct cf_handoff_request handoff = {req->peer, cf_request_header(req, CF_PROXY_SECRET_HEADER),
                                         cf_request_header(req, "X-Internal-Filename")};
    struct cf_upload *up = NULL;
    struct cf_error err;
    json_t *result = NULL;
    int fd = -1;
    cf_code code;

    cf_error_init(&err);
    code = cf_handoff_open(req->app->cfg, &handoff, &fd, &request->declared_length, &err);
    if (code != CF_OK) {
        cf_log(CF_LOG_WARN, "refused X-Internal-Filename from %s: %s", req->client_ip, err.message);
        cf_error_dispose(&err);
        cf_reply_fail(req, CF_E_UNTRUSTED_INTERNAL_FILENAME,
                      "X-Internal-Filename is not accepted from this client");
        return;
    }
    code = cf_upload_begin(req->app, &req->principal, request, &up, &err);
    if (code == CF_OK)
        code = cf_upload_write_file(up, fd, &err);
    if (code == CF_OK)
        code = cf_upload_commit(up, &result, &err);
    close(fd);
    cf_upload_free(up);
    cf_reply_outcome(req, code, 201, NULL, result, &err);
}

void cf_h_upload_begin(struct cf_request *req)
{
    struct cf_upload_request request = {req->params[0], 0, NULL, 0, false, 0};
    const char *test_time = cf_request_header(req, "X-Coffer-Test-Time");
    const char *made_at = cf_request_header(req, "X-Coffer-Made-At");
    struct cf_upload *up = NULL;
    struct cf_error err;
    cf_code code;

    cf_error_init(&err);
    request.expected_sha256 = cf_request_header(req, "X-Content-SHA256");
    if (request.expected_sha256 != NULL && !cf_sha256_hex_valid(request.expected_sha256)) {
        cf_reply_fail(req, CF_E_BAD_REQUEST, "X-Content-SHA256 must be 64 hexadecimal digits");
        return;
    }
    /* Test servers only: the version's creation time, to test retention over years. */
    if (test_time != NULL &&
        (!req->app->cfg->allow_test_clock || !cf_rfc3339_parse(test_time, &request.created_at))) {
        cf_reply_fail(req, CF_E_BAD_REQUEST,
                      req->app->cfg->allow_test_clock
                          ? "X-Coffer-Test-Time must look like 2026-11-23T10:00:00Z"
                          : "X-Coffer-Test-Time is accepted by test servers only");
        return;
    }
    /* When the client made the backup: informational, on the client's clock (version_ref.h). */
    if (made_at != NULL) {
        code = cf_made_at_parse(made_at, (int64_t)time(NULL), &request.made_at, &err);
        if (code != CF_OK) {
            cf_reply_error(req, &err);
            cf_error_dispose(&err);
            return;
        }
        request.has_made_at = true;
    }
    if (cf_request_header(req, "X-Internal-Filename") != NULL) {
        upload_handed_off(req, &request);
        return;
    }
    code = declared_length(req, &request.declared_length, &err);
    if (code == CF_OK)
        code = cf_upload_begin(req->app, &req->principal, &request, &up, &err);
    if (code != CF_OK) {
        cf_reply_error(req, &err);
        cf_error_dispose(&err);
        return;
    }
    req->handler_state = up;
}

void cf_h_upload_data(struct cf_request *req, const char *data, size_t len)
{
    cf_metrics_upload_bytes(len);
    if (cf_upload_write(req->handler_state, data, len, &req->error) != CF_OK) {
        /* Give back the disk space now; the rest of the body is read and dropped. */
        cf_upload_free(req->handler_state);
        req->handler_state = NULL;
    }
}

void cf_h_upload_finish(struct cf_request *req)
{
    const char *trailer = NULL;
    struct cf_error err;
    json_t *result = NULL;
    cf_code code = CF_OK;

    cf_error_init(&err);
    /* A client that streams its body learns the hash only at the end, so it
     * may send it in the chunked trailer; a header, when given, wins. */
    if (cf_request_header(req, "X-Content-SHA256") == NULL)
        trailer = MHD_lookup_connection_value(req->conn, MHD_FOOTER_KIND, "X-Content-SHA256");
    if (trailer != NULL)
        code = cf_upload_expect_sha256(req->handler_state, trailer, &err);
    if (code == CF_OK)
        code = cf_upload_commit(req->handler_state, &result, &err);
    cf_reply_outcome(req, code, 201, NULL, result, &err);
}

void cf_h_upload_end(struct cf_request *req, bool completed)
{
    if (req->reply_code != CF_OK)
        cf_metrics_upload_refused(req->reply_code);
    if (!completed && req->handler_state != NULL)
        cf_log(CF_LOG_WARN, "upload to %s from %s was interrupted; nothing is kept", req->params[0],
               req->client_ip);
    cf_upload_free(req->handler_state);
    req->handler_state = NULL;
}

void cf_h_version_list(struct cf_request *req)
{
    struct cf_error err;
    json_t *versions = NULL;
    cf_code code;

    cf_error_init(&err);
    code = cf_version_list(req->app, &req->principal, req->params[0], &versions, &err);
    cf_reply_outcome(req, code, 200, NULL, versions, &err);
}

/* Whether Accept-Encoding lists zstd with a non-zero weight. */
static bool accepts_zstd(const char *header)
{
    const char *p = header;

    while (p != NULL && *p != '\0') {
        size_t len;
        while (*p == ' ' || *p == ',')
            p++;
        len = strcspn(p, ",;");
        if (len == 4 && strncasecmp(p, "zstd", 4) == 0) {
            const char *q = p + len;
            while (*q == ' ')
                q++;
            return !(strncmp(q, ";q=0", 4) == 0 && strspn(q + 4, ".0") == strcspn(q + 4, ","));
        }
        p = strchr(p, ',');
    }
    return false;
}

static ssize_t download_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct cf_version_stream *stream = cls;
    struct cf_error err;
    ssize_t got;

    (void)pos;
    if (stream == NULL)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    cf_error_init(&err);
    got = cf_version_stream_read(stream, buf, max, &err);
    if (got < 0) {
        /* The status line is gone already: cutting the body short is the only signal left. */
        cf_log(CF_LOG_ERROR, "download failed: %s", err.message);
        cf_error_dispose(&err);
        return MHD_CONTENT_READER_END_WITH_ERROR;
    }
    if (got > 0)
        cf_metrics_download_bytes((uint64_t)got);
    return got > 0 ? got : MHD_CONTENT_READER_END_OF_STREAM;
}

static void download_free(void *cls)
{
    cf_version_stream_free(cls);
}

static void add_version_headers(struct MHD_Response *response, const struct cf_version_info *v)
{
    char value[512];
    struct tm tm;
    time_t created = (time_t)v->created_at;

    MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, "application/octet-stream");
    snprintf(value, sizeof(value), "attachment; filename=\"%s\"", v->filename);
    MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_DISPOSITION, value);
    snprintf(value, sizeof(value), "\"%s\"", v->sha256);
    MHD_add_response_header(response, MHD_HTTP_HEADER_ETAG, value);
    MHD_add_response_header(response, "X-Content-SHA256", v->sha256);
    gmtime_r(&created, &tm);
    strftime(value, sizeof(value), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    MHD_add_response_header(response, MHD_HTTP_HEADER_LAST_MODIFIED, value);
    MHD_add_response_header(response, MHD_HTTP_HEADER_ACCEPT_RANGES, "bytes");
    MHD_add_response_header(response, MHD_HTTP_HEADER_VARY, "Accept-Encoding");
}

void cf_h_version_download(struct cf_request *req)
{
    struct cf_version_info v;
    struct cf_version_stream *stream = NULL;
    struct MHD_Response *response = NULL;
    struct cf_error err;
    uint64_t start = 0, length = 0;
    enum cf_range_result range;
    bool stored;
    unsigned status = 200;
    cf_code code;

    cf_error_init(&err);
    code = cf_version_find(req->app, &req->principal, req->params[0], req->params[1], &v, &err);
    if (code != CF_OK) {
        cf_reply_outcome(req, code, 200, NULL, NULL, &err);
        return;
    }
    range = cf_range_parse(cf_request_header(req, MHD_HTTP_HEADER_RANGE), (uint64_t)v.size, &start, &length);
    if (range == CF_RANGE_UNSATISFIABLE) {
        char content_range[64];
        cf_reply_fail(req, CF_E_RANGE_NOT_SATISFIABLE, "the version has %lld bytes", (long long)v.size);
        snprintf(content_range, sizeof(content_range), "bytes */%lld", (long long)v.size);
        MHD_add_response_header(req->response, MHD_HTTP_HEADER_CONTENT_RANGE, content_range);
        return;
    }
    /* A range is always of the original bytes, so it is never served compressed. */
    stored = range == CF_RANGE_NONE && accepts_zstd(cf_request_header(req, MHD_HTTP_HEADER_ACCEPT_ENCODING));
    if (range == CF_RANGE_NONE) {
        start = 0;
        length = (uint64_t)(stored ? v.stored_size : v.size);
    } else {
        status = 206;
    }
    /* A HEAD reads nothing: its response only says how long the body would be. */
    if (strcmp(req->method, "HEAD") != 0)
        code = cf_version_stream_open(req->app, &req->principal, &v, stored, start, length, &stream, &err);
    if (code != CF_OK) {
        cf_reply_outcome(req, code, 200, NULL, NULL, &err);
        return;
    }
    if (stream != NULL && stored && cf_version_stream_fd(stream) >= 0) {
        /* The stored bytes as they are: the kernel copies them (sendfile); MHD owns the duplicate. */
        int fd = dup(cf_version_stream_fd(stream));
        response = fd >= 0 ? MHD_create_response_from_fd_at_offset64(length, fd, 0) : NULL;
        if (response != NULL)
            cf_metrics_download_bytes(length);
        else if (fd >= 0)
            close(fd);
        cf_version_stream_free(stream);
        stream = NULL;
    } else {
        response =
            MHD_create_response_from_callback(length, DOWNLOAD_BLOCK, download_read, stream, download_free);
    }
    if (response == NULL) {
        cf_version_stream_free(stream); /* NULL-safe */
        cf_reply_fail(req, CF_E_NOMEM, "cannot create the response");
        return;
    }
    add_version_headers(response, &v);
    if (stored)
        MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_ENCODING, "zstd");
    if (status == 206) {
        char content_range[96];
        snprintf(content_range, sizeof(content_range), "bytes %llu-%llu/%lld", (unsigned long long)start,
                 (unsigned long long)(start + length - 1), (long long)v.size);
        MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_RANGE, content_range);
    }
    cf_reply_response(req, status, response);
}

void cf_h_version_delete(struct cf_request *req)
{
    struct cf_error err;
    cf_code code;

    cf_error_init(&err);
    code = cf_version_delete(req->app, &req->principal, req->params[0], req->params[1], &err);
    cf_reply_outcome(req, code, 204, NULL, NULL, &err);
}
