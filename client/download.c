#include "client/download.h"

#include "client/exit_codes.h"
#include "client/zdecode.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct transfer {
    struct cf_api_request *req;
    const struct cf_download_sink *sink;
    struct cf_progress *progress;
    struct cf_zdecode *zd;
    struct cf_sha256 *hash;
    uint64_t size;
    bool zstd;
    char expected[CF_SHA256_HEX_LEN + 1];
    char filename[256];
    cf_code failed; /* a callback stopped the transfer: cb_err says why */
    struct cf_error cb_err;
};

bool cf_download_filename(const char *value, char *out, size_t out_len)
{
    const char *p = strcasestr(value, "filename=");
    char name[512];
    size_t n = 0;
    const char *base;

    if (p == NULL || out_len == 0)
        return false;
    p += strlen("filename=");
    if (*p == '"') {
        for (p++; *p != '\0' && *p != '"' && n + 1 < sizeof(name); p++) {
            if (*p == '\\' && p[1] != '\0')
                p++;
            name[n++] = *p;
        }
    } else {
        for (; *p != '\0' && *p != ';' && !isspace((unsigned char)*p) && n + 1 < sizeof(name); p++)
            name[n++] = *p;
    }
    name[n] = '\0';
    base = strrchr(name, '/');
    base = base != NULL ? base + 1 : name;
    if (base[0] == '\0' || base[0] == '.' || strlen(base) >= out_len)
        return false;
    for (const char *c = base; *c != '\0'; c++) {
        if ((unsigned char)*c < 0x20 || *c == 0x7f || *c == '\\')
            return false;
    }
    snprintf(out, out_len, "%s", base);
    return true;
}

/* Copies a header's value (trimmed) when line is that header. */
static bool header_value(const char *line, size_t len, const char *name, char *out, size_t out_len)
{
    size_t name_len = strlen(name), n;

    if (len <= name_len || strncasecmp(line, name, name_len) != 0 || line[name_len] != ':')
        return false;
    line += name_len + 1;
    len -= name_len + 1;
    while (len > 0 && isspace((unsigned char)*line)) {
        line++;
        len--;
    }
    while (len > 0 && isspace((unsigned char)line[len - 1]))
        len--;
    n = len < out_len - 1 ? len : out_len - 1;
    memcpy(out, line, n);
    out[n] = '\0';
    return true;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *userdata)
{
    struct transfer *t = userdata;
    size_t len = size * nmemb;
    char value[512];

    /* A new status line (after a 100 Continue, say) starts the headers over. */
    if (len >= 5 && strncmp(data, "HTTP/", 5) == 0) {
        t->zstd = false;
        t->expected[0] = '\0';
        t->filename[0] = '\0';
    } else if (header_value(data, len, "X-Content-SHA256", value, sizeof(value))) {
        /* A longer value is no hash: keep it out, so the check below fails. */
        if (strlen(value) < sizeof(t->expected))
            memcpy(t->expected, value, strlen(value) + 1);
    } else if (header_value(data, len, "Content-Encoding", value, sizeof(value))) {
        t->zstd = strcasecmp(value, "zstd") == 0;
    } else if (header_value(data, len, "Content-Length", value, sizeof(value))) {
        /* The bytes on the wire (compressed, with zstd) are what the progress line counts. */
        if (t->progress != NULL)
            t->progress->total = strtoull(value, NULL, 10);
    } else if (header_value(data, len, "Content-Disposition", value, sizeof(value))) {
        if (!cf_download_filename(value, t->filename, sizeof(t->filename)))
            t->filename[0] = '\0';
    }
    return len;
}

/* Decompressed bytes: hashed, counted, passed on. */
static cf_code plain_bytes(void *ctx, const void *data, size_t len, struct cf_error *err)
{
    struct transfer *t = ctx;

    cf_sha256_update(t->hash, data, len);
    t->size += len;
    return t->sink->write(t->sink->ctx, data, len, err);
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata)
{
    struct transfer *t = userdata;
    size_t len = size * nmemb;
    long status = 0;

    curl_easy_getinfo(t->req->curl, CURLINFO_RESPONSE_CODE, &status);
    if (status < 200 || status >= 300)
        return cf_api_request_collect(t->req, data, len) == CF_OK ? len : 0;
    cf_progress_add(t->progress, len);
    t->failed =
        t->zstd ? cf_zdecode_push(t->zd, data, len, &t->cb_err) : plain_bytes(t, data, len, &t->cb_err);
    return t->failed == CF_OK ? len : 0;
}

static cf_code attempt(struct cf_api *api, const char *path, struct transfer *t, struct cf_error *err)
{
    struct cf_api_request req;
    char sha256[CF_SHA256_HEX_LEN + 1];
    cf_code code;

    t->req = &req;
    t->failed = CF_OK;
    cf_error_dispose(&t->cb_err);
    t->size = 0;
    t->zstd = false;
    t->expected[0] = '\0';
    t->filename[0] = '\0';
    cf_zdecode_reset(t->zd);
    cf_sha256_free(t->hash);
    t->hash = cf_sha256_new();
    if (t->hash == NULL)
        return cf_fail(err, CF_E_NOMEM, "out of memory");
    code = cf_api_request_init(api, &req, "GET", path, err);
    if (code == CF_OK)
        code = cf_api_request_header(&req, "Accept-Encoding: zstd", err);
    if (code == CF_OK) {
        curl_easy_setopt(req.curl, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(req.curl, CURLOPT_HEADERDATA, t);
        curl_easy_setopt(req.curl, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(req.curl, CURLOPT_WRITEDATA, t);
        code = cf_api_request_perform(&req, err);
        if (t->failed != CF_OK)
            code = cf_fail(err, t->failed, "%s", t->cb_err.message);
    }
    if (code == CF_OK && t->zstd)
        code = cf_zdecode_finish(t->zd, err);
    cf_api_request_dispose(&req);
    t->req = NULL;
    if (code != CF_OK)
        return code;
    cf_sha256_final_hex(t->hash, sha256);
    if (!cf_sha256_hex_valid(t->expected))
        return cf_fail(err, CF_E_CHECKSUM_MISMATCH,
                       "the server sent no valid X-Content-SHA256 header, so the download cannot be checked");
    if (strcasecmp(sha256, t->expected) != 0)
        return cf_fail(
            err, CF_E_CHECKSUM_MISMATCH,
            "the downloaded data has SHA-256 %s, but the server stored %s: it was damaged on the way "
            "or in storage",
            sha256, t->expected);
    return CF_OK;
}

cf_code cf_download(struct cf_api *api, const char *collection, const char *ref,
                    const struct cf_download_sink *sink, struct cf_progress *progress,
                    struct cf_download_info *info, struct cf_error *err)
{
    struct transfer t;
    char path[512];
    cf_code code;

    memset(info, 0, sizeof(*info));
    memset(&t, 0, sizeof(t));
    cf_error_init(&t.cb_err);
    t.sink = sink;
    t.progress = progress;
    t.zd = cf_zdecode_new(plain_bytes, &t);
    if (t.zd == NULL)
        return cf_fail(err, CF_E_NOMEM, "out of memory");
    snprintf(path, sizeof(path), "/api/stable/repository/collection/%s/versions/%s", collection, ref);
    for (;;) {
        code = attempt(api, path, &t, err);
        if (code == CF_OK)
            break;
        cf_progress_done(progress);
        if (!cf_retry_again(cf_api_retry(api), code, err))
            break;
        code = sink->restart(sink->ctx, err);
        if (code != CF_OK)
            break;
        cf_progress_restart(progress, 0);
    }
    cf_progress_done(progress);
    if (code == CF_OK) {
        /* The hash checked in attempt, in the API's lower case. */
        snprintf(info->sha256, sizeof(info->sha256), "%s", t.expected);
        for (char *c = info->sha256; *c != '\0'; c++)
            *c = (char)tolower((unsigned char)*c);
        snprintf(info->filename, sizeof(info->filename), "%s", t.filename);
        info->size = t.size;
    }
    cf_sha256_free(t.hash);
    cf_zdecode_free(t.zd);
    cf_error_dispose(&t.cb_err);
    return code;
}
