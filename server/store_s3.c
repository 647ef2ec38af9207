/* The S3 backend of the store: see store.h for what it promises and
 * docs/s3.md for the requests it makes. HTTP, signing and retries are in
 * s3_request.c; this file maps the store's operations onto S3's. */
#include "common/log.h"
#include "common/rfc3339.h"
#include "server/s3_request.h"
#include "server/s3_xml.h"
#include "server/store.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PREFIX_MAX   256
#define KEY_MAX      128
#define FULL_KEY_MAX (PREFIX_MAX + KEY_MAX + 1)
/* S3's own limits. */
#define PART_SIZE_MIN (5ULL * 1024 * 1024)
#define PART_SIZE_MAX (1024ULL * 1024 * 1024)
#define PARTS_MAX     10000
/* AWS's upload ids are about 100 characters, RGW's about 40. */
#define UPLOAD_ID_MAX 1024
/* Reads fetch ranges of this many bytes, doubling from the first to the last
 * (a range read of one frame should not pull megabytes; a whole download
 * should not pay a request per 256 KiB). */
#define READ_BLOCK_FIRST (256 * 1024)
#define READ_BLOCK_MAX   (4 * 1024 * 1024)
/* The XML answers read here: an upload id, one page of 1000 uploads. */
#define XML_ANSWER_MAX (4 * 1024 * 1024)
/* Pages of 1000 uploads read by one listing: enough for any real backlog,
 * bounded so that a pass always ends. */
#define LIST_PAGES_MAX 100
/* The health check's requests are tried twice, not five times, and wait at
 * most PROBE_TIMEOUT seconds for a connection or a byte, so that a dead store
 * is reported as dead (with its error) within health_timeout_ms, and a store
 * that drops packets holds a probe for seconds rather than minutes. */
#define PROBE_TRIES   2
#define PROBE_TIMEOUT 5

struct s3_store {
    struct cf_store base;
    struct cf_s3_client *client;
    char prefix[PREFIX_MAX + 1];
    size_t part_size;
    pthread_mutex_t lock;
    unsigned long probe_count; /* under lock */
};

struct s3_writer {
    struct cf_store_writer base;
    CURL *easy;
    char key[FULL_KEY_MAX + 1];
    struct cf_buf part;            /* the part being filled, at most part_size bytes */
    uint64_t total;                /* bytes written */
    char upload_id[UPLOAD_ID_MAX]; /* "" until the multipart upload exists */
    char (*etags)[CF_S3_ETAG_MAX]; /* of the parts sent, in order */
    int parts;                     /* parts sent */
    int etags_cap;
    bool failed;
};

struct s3_reader {
    struct cf_store_reader base;
    CURL *easy;
    char key[FULL_KEY_MAX + 1];
    char etag[CF_S3_ETAG_MAX]; /* of the first answer: later ranges must come from the same object */
    uint64_t size;
    uint64_t pos;                /* object offset of the next byte read returns */
    struct cf_s3_response block; /* the range being served, in block.body */
    size_t block_at;             /* next unread byte of it */
    size_t next_block;           /* bytes the next range asks for */
};

static void full_key(const struct s3_store *s, const char *key, char out[FULL_KEY_MAX + 1])
{
    snprintf(out, FULL_KEY_MAX + 1, "%s%s", s->prefix, key);
}

static cf_code no_handle(struct cf_error *err)
{
    return cf_fail(err, CF_E_NOMEM, "out of memory for an S3 connection");
}

/* --- writing -------------------------------------------------------------- */

static cf_code create_upload(struct s3_store *s, struct s3_writer *w, struct cf_error *err)
{
    struct cf_s3_response resp;
    struct cf_s3_request req = {.method = "POST",
                                .key = w->key,
                                .query = "uploads=",
                                .content_type = "application/octet-stream",
                                .max_response = XML_ANSWER_MAX};
    struct cf_s3_xml xml;
    cf_code code;

    cf_s3_response_init(&resp);
    code = cf_s3_perform(s->client, w->easy, &req, &resp, err);
    if (code == CF_OK) {
        xml.data = resp.body.data;
        xml.len = resp.body.len;
        if (!cf_s3_xml_text(xml, "UploadId", w->upload_id, sizeof(w->upload_id)) || w->upload_id[0] == '\0')
            code = cf_fail(err, CF_E_IO, "S3 POST %s (%s): no usable UploadId in the answer", w->key,
                           cf_s3_client_name(s->client));
    }
    cf_s3_response_dispose(&resp);
    return code;
}

/* "partNumber=N&uploadId=ID" (or just the upload id when number is 0) into q. */
static cf_code upload_query(struct cf_buf *q, int number, const char *upload_id, struct cf_error *err)
{
    cf_code code = CF_OK;
    char text[16];

    if (number > 0) {
        snprintf(text, sizeof(text), "%d", number);
        code = cf_s3_query_add(q, "partNumber", text);
    }
    if (code == CF_OK)
        code = cf_s3_query_add(q, "uploadId", upload_id);
    if (code != CF_OK)
        return cf_fail(err, code == CF_E_NOMEM ? CF_E_NOMEM : CF_E_INTERNAL, "the S3 upload id is too long");
    return CF_OK;
}

/* Sends the buffered bytes as the next part. */
static cf_code send_part(struct s3_store *s, struct s3_writer *w, struct cf_error *err)
{
    struct cf_s3_response resp;
    struct cf_buf query;
    cf_code code = CF_OK;

    if (w->parts == PARTS_MAX)
        return cf_fail(
            err, CF_E_IO,
            "the object passes S3's %d parts of s3_part_size (%zu bytes); raise s3_part_size to store it",
            PARTS_MAX, s->part_size);
    if (w->upload_id[0] == '\0') {
        code = create_upload(s, w, err);
        if (code != CF_OK)
            return code;
    }
    if (w->parts == w->etags_cap) {
        int cap = w->etags_cap == 0 ? 64 : w->etags_cap * 2;
        void *grown;

        if (cap > PARTS_MAX)
            cap = PARTS_MAX;
        grown = realloc(w->etags, (size_t)cap * sizeof(*w->etags));
        if (grown == NULL)
            return cf_fail(err, CF_E_NOMEM, "out of memory");
        w->etags = grown;
        w->etags_cap = cap;
    }
    cf_s3_response_init(&resp);
    cf_buf_init(&query, 2 * UPLOAD_ID_MAX);
    code = upload_query(&query, w->parts + 1, w->upload_id, err);
    if (code == CF_OK) {
        struct cf_s3_request req = {.method = "PUT",
                                    .key = w->key,
                                    .query = query.data,
                                    .body = w->part.data,
                                    .body_len = w->part.len};
        code = cf_s3_perform(s->client, w->easy, &req, &resp, err);
    }
    if (code == CF_OK && resp.etag[0] == '\0')
        code = cf_fail(err, CF_E_IO, "S3 PUT %s part %d (%s): no ETag in the answer", w->key, w->parts + 1,
                       cf_s3_client_name(s->client));
    if (code == CF_OK) {
        memcpy(w->etags[w->parts], resp.etag, sizeof(resp.etag));
        w->parts++;
        cf_buf_reset(&w->part);
    }
    cf_buf_dispose(&query);
    cf_s3_response_dispose(&resp);
    return code;
}

/* Drops the multipart upload (its parts) if there is one; logs a failure, as
 * the clean-up pass will find the upload again. */
static void abort_upload(struct s3_store *s, CURL *easy, const char *key, const char *upload_id)
{
    struct cf_s3_response resp;
    struct cf_buf query;
    struct cf_error err;
    cf_code code;

    cf_error_init(&err);
    cf_s3_response_init(&resp);
    cf_buf_init(&query, 2 * UPLOAD_ID_MAX);
    code = upload_query(&query, 0, upload_id, &err);
    if (code == CF_OK) {
        struct cf_s3_request req = {.method = "DELETE", .key = key, .query = query.data};
        code = cf_s3_perform(s->client, easy, &req, &resp, &err);
    }
    /* Gone already is what was wanted. */
    if (code != CF_OK && code != CF_E_NOT_FOUND)
        cf_log(CF_LOG_WARN, "storage: cannot abort the multipart upload of %s (the clean-up pass will): %s",
               key, err.message);
    cf_buf_dispose(&query);
    cf_s3_response_dispose(&resp);
    cf_error_dispose(&err);
}

/* Deletes key if it is there; the failure is returned, not logged. tries and
 * timeout as in struct cf_s3_request (0: the defaults). */
static cf_code delete_object(struct s3_store *s, CURL *easy, const char *key, int tries, long timeout,
                             struct cf_error *err)
{
    struct cf_s3_response resp;
    struct cf_s3_request req = {.method = "DELETE", .key = key, .tries = tries, .timeout = timeout};
    cf_code code;

    cf_s3_response_init(&resp);
    code = cf_s3_perform(s->client, easy, &req, &resp, err);
    cf_s3_response_dispose(&resp);
    return code == CF_E_NOT_FOUND ? CF_OK : code;
}

/* A write or a commit that met a 404 fails as the storage interface says,
 * with CF_E_IO: the multipart upload was aborted under the writer (by the
 * clean-up of an upload it took for dead, or by a lifecycle rule), which is
 * not the "not found" of the request the caller answers. */
static cf_code write_failure(cf_code code, struct cf_error *err)
{
    if (code != CF_E_NOT_FOUND)
        return code;
    if (err != NULL)
        err->code = CF_E_IO;
    return CF_E_IO;
}

static void writer_free(struct s3_store *s, struct s3_writer *w)
{
    cf_s3_easy_put(s->client, w->easy);
    cf_buf_dispose(&w->part);
    free(w->etags);
    free(w);
}

static cf_code s3_writer_new(struct cf_store *store, const char *key, struct cf_store_writer **out,
                             struct cf_error *err)
{
    struct s3_store *s = (struct s3_store *)store;
    struct s3_writer *w = calloc(1, sizeof(*w));

    if (w == NULL)
        return cf_fail(err, CF_E_NOMEM, "out of memory for a storage writer");
    w->base.store = store;
    full_key(s, key, w->key);
    /* Grows as bytes come, so a small object never costs a whole part. */
    cf_buf_init(&w->part, s->part_size);
    w->easy = cf_s3_easy_get(s->client);
    if (w->easy == NULL) {
        writer_free(s, w);
        return no_handle(err);
    }
    *out = &w->base;
    return CF_OK;
}

static cf_code s3_write(struct cf_store_writer *base, const void *data, size_t len, struct cf_error *err)
{
    struct s3_writer *w = (struct s3_writer *)base;
    struct s3_store *s = (struct s3_store *)base->store;
    const char *p = data;
    cf_code code = CF_OK;

    if (w->failed)
        return cf_fail(err, CF_E_IO, "cannot write %s: an earlier write failed", w->key);
    while (len > 0) {
        size_t room, take;

        /* A full part goes only when more bytes come: the last part is sent
         * by the commit, which may then make it a single PUT. */
        if (w->part.len == s->part_size) {
            code = send_part(s, w, err);
            if (code != CF_OK)
                break;
        }
        room = s->part_size - w->part.len;
        take = len < room ? len : room;
        if (cf_buf_append(&w->part, p, take) != CF_OK) {
            code = cf_fail(err, CF_E_NOMEM, "out of memory for an S3 part");
            break;
        }
        p += take;
        len -= take;
        w->total += take;
    }
    if (code != CF_OK)
        w->failed = true;
    return write_failure(code, err);
}

/* Finishes the multipart upload with the parts sent. */
static cf_code complete_upload(struct s3_store *s, struct s3_writer *w, struct cf_error *err)
{
    struct cf_s3_response resp;
    struct cf_buf query, body;
    cf_code code;

    cf_s3_response_init(&resp);
    cf_buf_init(&query, 2 * UPLOAD_ID_MAX);
    /* Each part is about 100 bytes of XML. */
    cf_buf_init(&body, (size_t)w->parts * (CF_S3_ETAG_MAX * 6 + 80) + 128);
    code = upload_query(&query, 0, w->upload_id, err);
    if (code == CF_OK) {
        cf_code built = cf_buf_printf(&body, "<CompleteMultipartUpload>");
        for (int i = 0; built == CF_OK && i < w->parts; i++) {
            built = cf_buf_printf(&body, "<Part><PartNumber>%d</PartNumber><ETag>", i + 1);
            if (built == CF_OK)
                built = cf_s3_xml_escape(&body, w->etags[i]);
            if (built == CF_OK)
                built = cf_buf_printf(&body, "</ETag></Part>");
        }
        if (built == CF_OK)
            built = cf_buf_printf(&body, "</CompleteMultipartUpload>");
        if (built != CF_OK)
            code = cf_fail(err, CF_E_NOMEM, "out of memory");
    }
    if (code == CF_OK) {
        struct cf_s3_request req = {.method = "POST",
                                    .key = w->key,
                                    .query = query.data,
                                    .body = body.data,
                                    .body_len = body.len,
                                    .content_type = "application/xml",
                                    .max_response = XML_ANSWER_MAX};
        code = cf_s3_perform(s->client, w->easy, &req, &resp, err);
        /* A retry after an answer that got lost finds the upload completed
         * and gone: the object is there with every byte, or it is not. */
        if (code == CF_E_NOT_FOUND && strcmp(resp.error_code, "NoSuchUpload") == 0) {
            struct cf_s3_request head = {.method = "HEAD", .key = w->key};
            if (cf_s3_perform(s->client, w->easy, &head, &resp, NULL) == CF_OK && resp.has_length &&
                resp.content_length == w->total) {
                code = CF_OK;
            }
        }
    }
    cf_buf_dispose(&body);
    cf_buf_dispose(&query);
    cf_s3_response_dispose(&resp);
    return code;
}

static cf_code s3_commit(struct cf_store_writer *base, struct cf_error *err)
{
    struct s3_writer *w = (struct s3_writer *)base;
    struct s3_store *s = (struct s3_store *)base->store;
    struct cf_s3_response resp;
    cf_code code = CF_OK;

    cf_s3_response_init(&resp);
    if (w->failed) {
        code = cf_fail(err, CF_E_IO, "cannot commit %s: an earlier write failed", w->key);
    } else if (w->upload_id[0] == '\0') {
        struct cf_s3_request req = {.method = "PUT",
                                    .key = w->key,
                                    .body = w->part.data,
                                    .body_len = w->part.len,
                                    .content_type = "application/octet-stream"};
        code = cf_s3_perform(s->client, w->easy, &req, &resp, err);
    } else {
        code = send_part(s, w, err);
        if (code == CF_OK)
            code = complete_upload(s, w, err);
    }
    if (code != CF_OK) {
        if (w->upload_id[0] != '\0')
            abort_upload(s, w->easy, w->key, w->upload_id);
        /* A PUT or a completion whose answer was lost may have stored the
         * object: the caller records no version for it, so it must go. */
        if (!w->failed && resp.status != 400 && resp.status != 403) {
            struct cf_error ignored;
            cf_error_init(&ignored);
            if (delete_object(s, w->easy, w->key, 1, 0, &ignored) != CF_OK)
                cf_log(CF_LOG_DEBUG, "storage: cannot delete %s after a failed commit: %s", w->key,
                       ignored.message);
            cf_error_dispose(&ignored);
        }
    }
    cf_s3_response_dispose(&resp);
    writer_free(s, w);
    return write_failure(code, err);
}

static void s3_abort(struct cf_store_writer *base)
{
    struct s3_writer *w = (struct s3_writer *)base;
    struct s3_store *s = (struct s3_store *)base->store;

    if (w->upload_id[0] != '\0')
        abort_upload(s, w->easy, w->key, w->upload_id);
    writer_free(s, w);
}

/* --- reading -------------------------------------------------------------- */

/* Fetches up to want bytes at r->pos into r->block. */
static cf_code fetch_block(struct s3_store *s, struct s3_reader *r, size_t want, struct cf_error *err)
{
    struct cf_s3_request req = {.method = "GET",
                                .key = r->key,
                                .ranged = true,
                                .range_first = r->pos,
                                .range_last = r->pos + want - 1,
                                .if_match = r->etag[0] != '\0' ? r->etag : NULL,
                                .max_response = want};
    cf_code code = cf_s3_perform(s->client, r->easy, &req, &r->block, err);

    r->block_at = 0;
    if (code != CF_OK) {
        if (r->block.status == 412)
            code = cf_fail(err, CF_E_IO, "%s changed while it was read", r->key);
        return code;
    }
    /* A store that ignores Range answers 200 with the object from its start. */
    if (r->block.status != 206 && r->pos != 0)
        return cf_fail(err, CF_E_IO, "S3 GET %s: answer %ld to a range request", r->key, r->block.status);
    if (r->block.has_range && r->block.range_first != r->pos)
        return cf_fail(err, CF_E_IO, "S3 GET %s: asked for bytes from %llu, got them from %llu", r->key,
                       (unsigned long long)r->pos, (unsigned long long)r->block.range_first);
    return CF_OK;
}

/* The object's size from a HEAD. */
static cf_code head_size(struct s3_store *s, struct s3_reader *r, struct cf_error *err)
{
    struct cf_s3_request req = {.method = "HEAD", .key = r->key};
    cf_code code = cf_s3_perform(s->client, r->easy, &req, &r->block, err);

    if (code != CF_OK)
        return code;
    if (!r->block.has_length)
        return cf_fail(err, CF_E_IO, "S3 HEAD %s: no Content-Length in the answer", r->key);
    r->size = r->block.content_length;
    snprintf(r->etag, sizeof(r->etag), "%s", r->block.etag);
    cf_buf_reset(&r->block.body);
    return CF_OK;
}

static void s3_reader_free(struct cf_store_reader *base)
{
    struct s3_reader *r = (struct s3_reader *)base;
    struct s3_store *s = (struct s3_store *)base->store;

    cf_s3_easy_put(s->client, r->easy);
    cf_s3_response_dispose(&r->block);
    free(r);
}

static cf_code s3_reader_open(struct cf_store *store, const char *key, uint64_t offset,
                              struct cf_store_reader **out, struct cf_error *err)
{
    struct s3_store *s = (struct s3_store *)store;
    struct s3_reader *r = calloc(1, sizeof(*r));
    cf_code code;

    if (r == NULL)
        return cf_fail(err, CF_E_NOMEM, "out of memory for a storage reader");
    r->base.store = store;
    cf_s3_response_init(&r->block);
    full_key(s, key, r->key);
    r->pos = offset;
    r->next_block = READ_BLOCK_FIRST;
    r->easy = cf_s3_easy_get(s->client);
    if (r->easy == NULL) {
        code = no_handle(err);
        goto out;
    }
    /* The first range tells the size too (Content-Range), so opening costs
     * one request; S3 refuses a range that starts at the end (416), and
     * only then does a HEAD say whether the offset is the end or past it. */
    code = fetch_block(s, r, r->next_block, err);
    if (code == CF_OK) {
        if (r->block.status == 206 && r->block.has_range) {
            r->size = r->block.total;
        } else if (r->block.status == 200 && offset == 0) {
            /* A store that ignored the Range sent the whole object, and it fitted. */
            r->size = r->block.body.len;
        } else {
            code = cf_fail(err, CF_E_IO, "S3 GET %s: answer %ld without a usable Content-Range", r->key,
                           r->block.status);
            goto out;
        }
        snprintf(r->etag, sizeof(r->etag), "%s", r->block.etag);
    } else if (code == CF_E_RANGE_NOT_SATISFIABLE) {
        code = head_size(s, r, err);
        if (code == CF_OK && offset > r->size)
            code = cf_fail(err, CF_E_RANGE_NOT_SATISFIABLE, "offset %llu is past the end of %s (%llu bytes)",
                           (unsigned long long)offset, r->key, (unsigned long long)r->size);
    }
    if (code == CF_E_NOT_FOUND)
        code = cf_fail(err, CF_E_NOT_FOUND, "no object %s in %s", r->key, cf_s3_client_name(s->client));
out:
    if (code != CF_OK) {
        s3_reader_free(&r->base);
        r = NULL;
    }
    *out = r != NULL ? &r->base : NULL;
    return code;
}

static ssize_t s3_read(struct cf_store_reader *base, void *buf, size_t cap, struct cf_error *err)
{
    struct s3_reader *r = (struct s3_reader *)base;
    struct s3_store *s = (struct s3_store *)base->store;
    size_t left, take;

    if (r->pos >= r->size || cap == 0)
        return 0;
    if (r->block_at >= r->block.body.len) {
        uint64_t remaining = r->size - r->pos;
        size_t want = remaining < r->next_block ? (size_t)remaining : r->next_block;

        if (r->next_block < READ_BLOCK_MAX)
            r->next_block *= 2;
        if (fetch_block(s, r, want, err) != CF_OK)
            return -1;
        if (r->block.body.len == 0) {
            cf_fail(err, CF_E_IO, "S3 GET %s: no bytes at offset %llu of %llu", r->key,
                    (unsigned long long)r->pos, (unsigned long long)r->size);
            return -1;
        }
    }
    left = r->block.body.len - r->block_at;
    take = cap < left ? cap : left;
    if (take > SSIZE_MAX)
        take = SSIZE_MAX;
    memcpy(buf, r->block.body.data + r->block_at, take);
    r->block_at += take;
    r->pos += take;
    return (ssize_t)take;
}

static int s3_reader_fd(struct cf_store_reader *base)
{
    (void)base;
    return -1;
}

static uint64_t s3_reader_size(struct cf_store_reader *base)
{
    return ((struct s3_reader *)base)->size;
}

/* --- removing ------------------------------------------------------------- */

static cf_code s3_remove(struct cf_store *store, const char *key, struct cf_error *err)
{
    struct s3_store *s = (struct s3_store *)store;
    char full[FULL_KEY_MAX + 1];
    CURL *easy = cf_s3_easy_get(s->client);
    cf_code code;

    if (easy == NULL)
        return no_handle(err);
    full_key(s, key, full);
    code = delete_object(s, easy, full, 0, 0, err);
    cf_s3_easy_put(s->client, easy);
    return code;
}

/* One multipart upload found by list_uploads. */
struct upload_entry {
    const char *key; /* full key */
    const char *upload_id;
    int64_t initiated; /* Unix seconds, 0 when unknown */
};

typedef cf_code (*upload_fn)(struct s3_store *s, CURL *easy, const struct upload_entry *u, void *ctx);

/* "2026-11-23T18:46:47.218Z" (or without the fraction) into Unix seconds; 0 when unreadable. */
static int64_t parse_initiated(const char *text)
{
    char whole[CF_RFC3339_SIZE];
    const char *dot = strchr(text, '.');
    int64_t seconds = 0;

    if (dot != NULL && (size_t)(dot - text) < sizeof(whole) - 1) {
        snprintf(whole, sizeof(whole), "%.*sZ", (int)(dot - text), text);
        text = whole;
    }
    return cf_rfc3339_parse(text, &seconds) ? seconds : 0;
}

/* Calls fn for each multipart upload whose key starts with prefix, page by
 * page. */
static cf_code list_uploads(struct s3_store *s, CURL *easy, const char *prefix, upload_fn fn, void *ctx,
                            struct cf_error *err)
{
    char key_marker[FULL_KEY_MAX + 1] = "";
    char id_marker[UPLOAD_ID_MAX] = "";
    struct cf_s3_response resp;
    struct cf_buf query;
    cf_code code = CF_OK;

    cf_s3_response_init(&resp);
    cf_buf_init(&query, 4 * FULL_KEY_MAX + 2 * UPLOAD_ID_MAX);
    for (int page = 0; code == CF_OK && page < LIST_PAGES_MAX; page++) {
        struct cf_s3_xml xml, upload;
        char truncated[8] = "";
        size_t pos = 0;

        /* Names in sorted order, as the signature wants. */
        cf_buf_reset(&query);
        code = key_marker[0] != '\0' ? cf_s3_query_add(&query, "key-marker", key_marker) : CF_OK;
        if (code == CF_OK)
            code = cf_s3_query_add(&query, "prefix", prefix);
        if (code == CF_OK && id_marker[0] != '\0')
            code = cf_s3_query_add(&query, "upload-id-marker", id_marker);
        if (code == CF_OK)
            code = cf_s3_query_add(&query, "uploads", "");
        if (code != CF_OK) {
            code = cf_fail(err, CF_E_NOMEM, "out of memory");
            break;
        }
        {
            struct cf_s3_request req = {
                .method = "GET", .key = NULL, .query = query.data, .max_response = XML_ANSWER_MAX};
            code = cf_s3_perform(s->client, easy, &req, &resp, err);
        }
        if (code != CF_OK)
            break;
        xml.data = resp.body.data;
        xml.len = resp.body.len;
        while (code == CF_OK && cf_s3_xml_element(xml, "Upload", &pos, &upload)) {
            char key[FULL_KEY_MAX + 1], id[UPLOAD_ID_MAX], initiated[64];
            struct upload_entry entry = {key, id, 0};

            /* An entry too long for these buffers is not one of ours. */
            if (!cf_s3_xml_text(upload, "Key", key, sizeof(key)) ||
                !cf_s3_xml_text(upload, "UploadId", id, sizeof(id)) || id[0] == '\0')
                continue;
            if (cf_s3_xml_text(upload, "Initiated", initiated, sizeof(initiated)))
                entry.initiated = parse_initiated(initiated);
            code = fn(s, easy, &entry, ctx);
        }
        if (code != CF_OK)
            break;
        cf_s3_xml_text(xml, "IsTruncated", truncated, sizeof(truncated));
        if (strcmp(truncated, "true") != 0)
            break;
        if (!cf_s3_xml_text(xml, "NextKeyMarker", key_marker, sizeof(key_marker)) ||
            !cf_s3_xml_text(xml, "NextUploadIdMarker", id_marker, sizeof(id_marker)) ||
            key_marker[0] == '\0') {
            code = cf_fail(err, CF_E_IO, "S3 list of multipart uploads (%s): truncated without a next marker",
                           cf_s3_client_name(s->client));
            break;
        }
    }
    cf_buf_dispose(&query);
    cf_s3_response_dispose(&resp);
    return code;
}

struct pending_ctx {
    const char *key; /* full key */
    struct cf_error *err;
    cf_code first_failure;
};

static cf_code abort_if_key(struct s3_store *s, CURL *easy, const struct upload_entry *u, void *arg)
{
    struct pending_ctx *ctx = arg;
    struct cf_s3_response resp;
    struct cf_buf query;
    cf_code code;

    /* The listing matched a prefix: "k" would find "k2" too. */
    if (strcmp(u->key, ctx->key) != 0)
        return CF_OK;
    cf_s3_response_init(&resp);
    cf_buf_init(&query, 2 * UPLOAD_ID_MAX);
    code = upload_query(&query, 0, u->upload_id, ctx->err);
    if (code == CF_OK) {
        struct cf_s3_request req = {.method = "DELETE", .key = u->key, .query = query.data};
        code = cf_s3_perform(s->client, easy, &req, &resp, ctx->err);
    }
    if (code == CF_E_NOT_FOUND)
        code = CF_OK;
    if (code != CF_OK && ctx->first_failure == CF_OK)
        ctx->first_failure = code;
    cf_buf_dispose(&query);
    cf_s3_response_dispose(&resp);
    /* The other uploads of the key are still worth aborting. */
    return CF_OK;
}

static cf_code s3_remove_pending(struct cf_store *store, const char *key, struct cf_error *err)
{
    struct s3_store *s = (struct s3_store *)store;
    char full[FULL_KEY_MAX + 1];
    struct pending_ctx ctx = {full, err, CF_OK};
    CURL *easy = cf_s3_easy_get(s->client);
    cf_code code;

    if (easy == NULL)
        return no_handle(err);
    full_key(s, key, full);
    code = list_uploads(s, easy, full, abort_if_key, &ctx, err);
    if (code == CF_OK)
        code = ctx.first_failure;
    /* The object goes even when an upload could not be aborted; the first
     * failure is the one reported. */
    if (code == CF_OK)
        code = delete_object(s, easy, full, 0, 0, err);
    else
        delete_object(s, easy, full, 0, 0, NULL);
    cf_s3_easy_put(s->client, easy);
    return code;
}

struct sweep_ctx {
    int64_t cutoff; /* uploads initiated before this are stale */
    cf_store_owner_fn owner;
    void *owner_ctx;
    int removed;
};

static cf_code sweep_one(struct s3_store *s, CURL *easy, const struct upload_entry *u, void *arg)
{
    struct sweep_ctx *ctx = arg;
    size_t prefix_len = strlen(s->prefix);
    const char *key = u->key + prefix_len;
    struct cf_s3_response resp;
    struct cf_buf query;
    struct cf_error err;
    cf_code code;

    /* Only what this backend could have written, and only when old enough:
     * an unknown start time is taken as recent. */
    if (strncmp(u->key, s->prefix, prefix_len) != 0 || !cf_store_key_valid(key) || u->initiated == 0 ||
        u->initiated >= ctx->cutoff)
        return CF_OK;
    if (ctx->owner(ctx->owner_ctx, key) != 0)
        return CF_OK;
    cf_error_init(&err);
    cf_s3_response_init(&resp);
    cf_buf_init(&query, 2 * UPLOAD_ID_MAX);
    code = upload_query(&query, 0, u->upload_id, &err);
    if (code == CF_OK) {
        struct cf_s3_request req = {.method = "DELETE", .key = u->key, .query = query.data};
        code = cf_s3_perform(s->client, easy, &req, &resp, &err);
    }
    if (code == CF_OK || code == CF_E_NOT_FOUND) {
        cf_log(CF_LOG_INFO, "clean-up: aborted the stale multipart upload of %s that nothing owned", u->key);
        ctx->removed++;
    } else {
        cf_log(CF_LOG_WARN, "clean-up: cannot abort the stale multipart upload of %s: %s", u->key,
               err.message);
    }
    cf_buf_dispose(&query);
    cf_s3_response_dispose(&resp);
    cf_error_dispose(&err);
    return CF_OK;
}

static cf_code s3_sweep(struct cf_store *store, int64_t older_than, cf_store_owner_fn owner, void *owner_ctx,
                        int *removed, struct cf_error *err)
{
    struct s3_store *s = (struct s3_store *)store;
    struct sweep_ctx ctx = {(int64_t)time(NULL) - older_than, owner, owner_ctx, 0};
    CURL *easy = cf_s3_easy_get(s->client);
    cf_code code;

    if (easy == NULL)
        return no_handle(err);
    code = list_uploads(s, easy, s->prefix, sweep_one, &ctx, err);
    *removed = ctx.removed;
    cf_s3_easy_put(s->client, easy);
    return code;
}

/* --- the health check ----------------------------------------------------- */

static cf_code s3_probe(struct cf_store *store, struct cf_error *err)
{
    struct s3_store *s = (struct s3_store *)store;
    char key[FULL_KEY_MAX + 1], text[96];
    struct cf_s3_response resp;
    struct timespec now;
    unsigned long count;
    bool stored = false;
    cf_code code;
    CURL *easy = cf_s3_easy_get(s->client);

    if (easy == NULL)
        return cf_fail(err, CF_E_STORAGE_UNAVAILABLE, "out of memory for an S3 connection");
    pthread_mutex_lock(&s->lock);
    count = ++s->probe_count;
    pthread_mutex_unlock(&s->lock);
    clock_gettime(CLOCK_REALTIME, &now);
    /* The leading dot keeps probes apart from version keys (UUIDs); the time
     * and pid keep instances sharing the bucket apart from each other. */
    snprintf(key, sizeof(key), "%s.coffer-probe-%ld-%lld%09ld-%lu", s->prefix, (long)getpid(),
             (long long)now.tv_sec, now.tv_nsec, count);
    snprintf(text, sizeof(text), "coffer storage probe %ld %lu\n", (long)getpid(), count);
    cf_s3_response_init(&resp);
    {
        struct cf_s3_request put = {.method = "PUT",
                                    .key = key,
                                    .body = text,
                                    .body_len = strlen(text),
                                    .tries = PROBE_TRIES,
                                    .timeout = PROBE_TIMEOUT};
        code = cf_s3_perform(s->client, easy, &put, &resp, err);
    }
    if (code == CF_OK) {
        struct cf_s3_request get = {.method = "GET",
                                    .key = key,
                                    .max_response = sizeof(text),
                                    .tries = PROBE_TRIES,
                                    .timeout = PROBE_TIMEOUT};
        stored = true;
        code = cf_s3_perform(s->client, easy, &get, &resp, err);
        if (code == CF_OK &&
            (resp.body.len != strlen(text) || memcmp(resp.body.data, text, resp.body.len) != 0))
            code = cf_fail(err, CF_E_IO, "S3 GET %s (%s): the bytes differ from those written", key,
                           cf_s3_client_name(s->client));
    }
    if (stored) {
        cf_code removed = delete_object(s, easy, key, PROBE_TRIES, PROBE_TIMEOUT, code == CF_OK ? err : NULL);
        if (code == CF_OK)
            code = removed;
    }
    cf_s3_response_dispose(&resp);
    cf_s3_easy_put(s->client, easy);
    /* The message says what failed; the code is the health check's. */
    if (code != CF_OK && err != NULL)
        err->code = CF_E_STORAGE_UNAVAILABLE;
    return code == CF_OK ? CF_OK : CF_E_STORAGE_UNAVAILABLE;
}

static void s3_free(struct cf_store *store)
{
    struct s3_store *s = (struct s3_store *)store;

    cf_s3_client_free(s->client);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

static const struct cf_store_ops s3_ops = {
    .name = "s3",
    .writer_new = s3_writer_new,
    .write = s3_write,
    .commit = s3_commit,
    .abort = s3_abort,
    .reader_open = s3_reader_open,
    .read = s3_read,
    .reader_fd = s3_reader_fd,
    .reader_size = s3_reader_size,
    .reader_free = s3_reader_free,
    .remove = s3_remove,
    .remove_pending = s3_remove_pending,
    .probe = s3_probe,
    .sweep = s3_sweep,
    .free = s3_free,
};

cf_code cf_store_s3_open(const struct cf_s3_options *opt, struct cf_store **out, struct cf_error *err)
{
    struct s3_store *s = NULL;
    const char *prefix = opt->prefix != NULL ? opt->prefix : "";
    cf_code code;

    *out = NULL;
    if (opt->part_size < PART_SIZE_MIN || opt->part_size > PART_SIZE_MAX)
        return cf_fail(err, CF_E_VALIDATION, "s3_part_size must be between %llu and %llu bytes, not %llu",
                       PART_SIZE_MIN, PART_SIZE_MAX, (unsigned long long)opt->part_size);
    if (strlen(prefix) > PREFIX_MAX)
        return cf_fail(err, CF_E_VALIDATION, "s3_prefix may have at most %d characters", PREFIX_MAX);
    s = calloc(1, sizeof(*s));
    if (s == NULL)
        return cf_fail(err, CF_E_NOMEM, "out of memory for the storage");
    s->base.ops = &s3_ops;
    pthread_mutex_init(&s->lock, NULL);
    snprintf(s->prefix, sizeof(s->prefix), "%s", prefix);
    s->part_size = (size_t)opt->part_size;
    code = cf_s3_client_new(opt, &s->client, err);
    if (code != CF_OK) {
        s3_free(&s->base);
        return code;
    }
    if (!opt->tls_verify)
        cf_log(CF_LOG_WARN, "storage: s3_tls_verify is off: the S3 store's certificate is not checked");
    *out = &s->base;
    return CF_OK;
}
