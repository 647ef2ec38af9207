#include "client/upload.h"

#include "client/exit_codes.h"
#include "client/interrupt.h"
#include "common/rfc3339.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* libcurl's upload buffer: bigger than its 64 KiB default, for fewer callbacks. */
#define UPLOAD_BUFFER (512 * 1024)

struct stream_state {
    struct cf_source *src;
    struct cf_progress *progress;
    struct cf_sha256 *hash;
    char sha256[CF_SHA256_HEX_LEN + 1]; /* set at the end of the body */
    uint64_t sent;
    cf_code failed;
    struct cf_error cb_err; /* why the read callback stopped the transfer */
};

static size_t stream_read(char *buffer, size_t size, size_t nitems, void *userdata)
{
    struct stream_state *s = userdata;
    ssize_t got;

    if (cf_interrupted()) {
        s->failed = cf_fail(&s->cb_err, CF_E_IO, "interrupted by a signal; nothing was kept on the server");
        return CURL_READFUNC_ABORT;
    }
    got = cf_source_read(s->src, buffer, size * nitems, &s->cb_err);
    if (got < 0) {
        s->failed = s->cb_err.code != CF_OK ? s->cb_err.code : CF_E_IO;
        return CURL_READFUNC_ABORT;
    }
    if (got == 0) {
        cf_sha256_final_hex(s->hash, s->sha256);
        return 0;
    }
    cf_sha256_update(s->hash, buffer, (size_t)got);
    s->sent += (uint64_t)got;
    cf_progress_add(s->progress, (uint64_t)got);
    return (size_t)got;
}

static int stream_trailer(struct curl_slist **list, void *userdata)
{
    struct stream_state *s = userdata;
    char line[32 + CF_SHA256_HEX_LEN];
    struct curl_slist *grown;

    if (s->sha256[0] == '\0')
        return CURL_TRAILERFUNC_ABORT;
    snprintf(line, sizeof(line), "X-Content-SHA256: %s", s->sha256);
    grown = curl_slist_append(*list, line);
    if (grown == NULL)
        return CURL_TRAILERFUNC_ABORT;
    *list = grown;
    return CURL_TRAILERFUNC_OK;
}

/* The answer to a successful upload, checked against the hash that was sent.
 * A version whose bytes differ (changed on the way, past a proxy that drops
 * the trailer before the server could compare) is deleted when the token
 * may; either way the message says what became of it. */
static cf_code read_result(struct cf_api *api, const char *collection, struct cf_api_request *req,
                           const char *sha256, json_t **result, struct cf_error *err)
{
    const json_t *version;
    json_error_t jerr;
    json_t *ignored = NULL;
    struct cf_error del_err;
    const char *stored, *id;
    char path[256];
    long long number;

    *result = json_loadb(req->body.data != NULL ? req->body.data : "", req->body.len, 0, &jerr);
    if (*result == NULL)
        return cf_fail(err, CF_E_INTERNAL, "the answer to the upload is not JSON (%s)", jerr.text);
    version = json_object_get(*result, "version");
    stored = json_string_value(json_object_get(version, "sha256"));
    if (stored != NULL && strcasecmp(stored, sha256) == 0)
        return CF_OK;
    id = json_string_value(json_object_get(version, "id"));
    number = (long long)json_integer_value(json_object_get(version, "number"));
    if (id == NULL || !cf_api_segment_valid(id))
        return cf_fail(err, CF_E_CHECKSUM_MISMATCH, "the server stored SHA-256 %s, but %s was sent",
                       stored != NULL ? stored : "(none)", sha256);
    cf_error_init(&del_err);
    snprintf(path, sizeof(path), "/api/stable/repository/collection/%s/versions/%s", collection, id);
    if (cf_api_json(api, "DELETE", path, NULL, &ignored, &del_err) == CF_OK)
        cf_fail(err, CF_E_CHECKSUM_MISMATCH,
                "the server stored SHA-256 %s, but %s was sent: the bytes were changed on the way; "
                "version %lld was deleted again",
                stored != NULL ? stored : "(none)", sha256, number);
    else
        cf_fail(err, CF_E_CHECKSUM_MISMATCH,
                "the server stored SHA-256 %s, but %s was sent: the bytes were changed on the way, and "
                "version %lld, which holds them, could not be deleted (%s): delete it by hand",
                stored != NULL ? stored : "(none)", sha256, number, del_err.message);
    json_decref(ignored);
    cf_error_dispose(&del_err);
    return CF_E_CHECKSUM_MISMATCH;
}

static void versions_path(char *out, size_t out_len, const char *collection)
{
    snprintf(out, out_len, "/api/stable/repository/collection/%s/versions", collection);
}

/* X-Coffer-Made-At, when made_at says when the backup was made. */
static cf_code add_made_at(struct cf_api_request *req, int64_t made_at, struct cf_error *err)
{
    char header[32 + CF_RFC3339_SIZE], when[CF_RFC3339_SIZE];

    if (made_at < 0)
        return CF_OK;
    snprintf(header, sizeof(header), "X-Coffer-Made-At: %s", cf_rfc3339(made_at, when));
    return cf_api_request_header(req, header, err);
}

cf_code cf_upload_stream(struct cf_api *api, const char *collection, struct cf_source *src, int64_t made_at,
                         struct cf_progress *progress, json_t **result, struct cf_error *err)
{
    struct cf_api_request req;
    struct stream_state s;
    char path[256];
    cf_code code;

    *result = NULL;
    memset(&s, 0, sizeof(s));
    s.src = src;
    s.progress = progress;
    cf_error_init(&s.cb_err);
    s.hash = cf_sha256_new();
    if (s.hash == NULL)
        return cf_fail(err, CF_E_NOMEM, "out of memory");
    versions_path(path, sizeof(path), collection);
    code = cf_api_request_init(api, &req, "POST", path, err);
    if (code == CF_OK)
        code = cf_api_request_header(&req, "Content-Type: application/octet-stream", err);
    if (code == CF_OK)
        code = cf_api_request_header(&req, "Transfer-Encoding: chunked", err);
    if (code == CF_OK)
        code = cf_api_request_header(&req, "Trailer: X-Content-SHA256", err);
    if (code == CF_OK)
        code = add_made_at(&req, made_at, err);
    if (code == CF_OK) {
        curl_easy_setopt(req.curl, CURLOPT_READFUNCTION, stream_read);
        curl_easy_setopt(req.curl, CURLOPT_READDATA, &s);
        curl_easy_setopt(req.curl, CURLOPT_TRAILERFUNCTION, stream_trailer);
        curl_easy_setopt(req.curl, CURLOPT_TRAILERDATA, &s);
        curl_easy_setopt(req.curl, CURLOPT_UPLOAD_BUFFERSIZE, (long)UPLOAD_BUFFER);
        /* Chunks and trailers are HTTP/1.1's: no HTTP/2 over TLS for this one. */
        curl_easy_setopt(req.curl, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
        /* A command may think for a long time before its first byte (or
         * between two): the stall timeout would take that for a dead link. */
        curl_easy_setopt(req.curl, CURLOPT_LOW_SPEED_TIME, 0L);
        code = cf_api_request_perform(&req, err);
        /* The transfer failed because the source did: say why. */
        if (s.failed != CF_OK)
            code = cf_fail(err, s.failed, "%s", s.cb_err.message);
    }
    cf_progress_done(progress);
    if (code == CF_OK)
        code = read_result(api, collection, &req, s.sha256, result, err);
    cf_api_request_dispose(&req);
    cf_sha256_free(s.hash);
    cf_error_dispose(&s.cb_err);
    return code;
}

struct file_state {
    int fd;
    uint64_t offset, size;
    struct cf_progress *progress;
    cf_code failed;
    struct cf_error cb_err;
};

static size_t file_read(char *buffer, size_t size, size_t nitems, void *userdata)
{
    struct file_state *f = userdata;
    size_t want = size * nitems;
    ssize_t got;

    if (cf_interrupted()) {
        f->failed = cf_fail(&f->cb_err, CF_E_IO, "interrupted by a signal");
        return CURL_READFUNC_ABORT;
    }
    if (f->offset >= f->size)
        return 0;
    if (want > f->size - f->offset)
        want = (size_t)(f->size - f->offset);
    do {
        got = pread(f->fd, buffer, want, (off_t)f->offset);
    } while (got < 0 && errno == EINTR && !cf_interrupted());
    if (got <= 0) {
        f->failed = cf_fail(&f->cb_err, CF_E_IO, "cannot read the file being uploaded: %s",
                            got == 0 ? "it is shorter than when it was measured" : strerror(errno));
        return CURL_READFUNC_ABORT;
    }
    f->offset += (uint64_t)got;
    cf_progress_add(f->progress, (uint64_t)got);
    return (size_t)got;
}

static int file_seek(void *userdata, curl_off_t offset, int origin)
{
    struct file_state *f = userdata;

    if (origin != SEEK_SET || offset < 0 || (uint64_t)offset > f->size)
        return CURL_SEEKFUNC_CANTSEEK;
    f->offset = (uint64_t)offset;
    return CURL_SEEKFUNC_OK;
}

cf_code cf_upload_file(struct cf_api *api, const char *collection, int fd, uint64_t size,
                       const char sha256[CF_SHA256_HEX_LEN + 1], int64_t made_at, struct cf_progress *progress,
                       json_t **result, struct cf_error *err)
{
    struct cf_api_request req;
    struct file_state f = {fd, 0, size, progress, CF_OK, {CF_OK, "", NULL}};
    char path[256], header[32 + CF_SHA256_HEX_LEN];
    cf_code code;

    *result = NULL;
    versions_path(path, sizeof(path), collection);
    snprintf(header, sizeof(header), "X-Content-SHA256: %s", sha256);
    code = cf_api_request_init(api, &req, "POST", path, err);
    if (code == CF_OK)
        code = cf_api_request_header(&req, "Content-Type: application/octet-stream", err);
    if (code == CF_OK)
        code = cf_api_request_header(&req, header, err);
    if (code == CF_OK)
        code = add_made_at(&req, made_at, err);
    if (code == CF_OK) {
        curl_easy_setopt(req.curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)size);
        curl_easy_setopt(req.curl, CURLOPT_READFUNCTION, file_read);
        curl_easy_setopt(req.curl, CURLOPT_READDATA, &f);
        curl_easy_setopt(req.curl, CURLOPT_SEEKFUNCTION, file_seek);
        curl_easy_setopt(req.curl, CURLOPT_SEEKDATA, &f);
        curl_easy_setopt(req.curl, CURLOPT_UPLOAD_BUFFERSIZE, (long)UPLOAD_BUFFER);
        code = cf_api_request_perform(&req, err);
        if (f.failed != CF_OK)
            code = cf_fail(err, f.failed, "%s", f.cb_err.message);
    }
    cf_progress_done(progress);
    if (code == CF_OK)
        code = read_result(api, collection, &req, sha256, result, err);
    cf_api_request_dispose(&req);
    return code;
}
