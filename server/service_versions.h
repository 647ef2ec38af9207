/* Versions: the upload path, listing, reading and deleting.
 *
 * The upload path, top to bottom:
 *   cf_upload_begin   the collection is found and its cheap limits checked
 *                     against the declared length; a pending_uploads row and a
 *                     storage writer are opened.
 *   cf_upload_write   each piece of body: SHA-256 of the original bytes, zstd,
 *                     storage. Memory does not grow with the upload.
 *   cf_upload_commit  storage commit (durable), then one transaction that locks
 *                     the collection and its account, checks every limit on
 *                     the final size, rotates, numbers and inserts the version.
 *   cf_upload_free    anything not committed is removed (bytes and row).
 */
#ifndef COFFER_SERVER_SERVICE_VERSIONS_H
#define COFFER_SERVER_SERVICE_VERSIONS_H

#include "app.h"
#include "common/sha256.h"
#include "principal.h"

#include <jansson.h>
#include <sys/types.h>

struct cf_upload;

struct cf_upload_request {
    const char *collection_id;
    int64_t declared_length;     /* -1 when unknown (chunked) */
    const char *expected_sha256; /* NULL, or 64 hex digits checked at commit */
    int64_t created_at;          /* 0: now; else the test clock's time (allow_test_clock) */
    bool has_made_at;            /* the client said when it made the backup (X-Coffer-Made-At) */
    int64_t made_at;             /* then: Unix seconds, stored as the version's made_at */
};

/* CF_E_NOT_FOUND for a collection the principal cannot see; 413/409/400 when
 * the declared length already breaks a limit. Caller frees with cf_upload_free. */
cf_code cf_upload_begin(struct cf_app *app, const struct cf_principal *p,
                        const struct cf_upload_request *request, struct cf_upload **out,
                        struct cf_error *err);
/* Sets the SHA-256 the body must have, when the request did not send it as a
 * header: a chunked body may carry it as a trailer, which arrives after the
 * last byte. Call before cf_upload_commit; a header's value, when there was
 * one, is replaced. CF_E_BAD_REQUEST unless hex is exactly 64 hex digits. */
cf_code cf_upload_expect_sha256(struct cf_upload *up, const char *hex, struct cf_error *err);
/* After a failure the upload can only be freed. */
cf_code cf_upload_write(struct cf_upload *up, const void *data, size_t len, struct cf_error *err);
/* Feeds the whole of an open file to the upload (the NGINX handoff). */
cf_code cf_upload_write_file(struct cf_upload *up, int fd, struct cf_error *err);
/* *out is {"version": {...}, "rotated": [numbers]}. */
cf_code cf_upload_commit(struct cf_upload *up, json_t **out, struct cf_error *err);
/* Removes whatever an uncommitted upload stored. NULL is a no-op. */
void cf_upload_free(struct cf_upload *up);

/* What a download needs to know of one version. */
struct cf_version_info {
    char collection_id[65];
    char storage_key[129];
    char sha256[CF_SHA256_HEX_LEN + 1];
    char filename[320];
    int64_t number, size, stored_size;
    int64_t created_at; /* Unix seconds */
};

/* Finds the version ref names in a collection the principal can see.
 * CF_E_INVALID_REF for a malformed ref, CF_E_NOT_FOUND otherwise. */
cf_code cf_version_find(struct cf_app *app, const struct cf_principal *p, const char *collection_id,
                        const char *ref, struct cf_version_info *out, struct cf_error *err);
/* {"versions": [...]} ascending by number. */
cf_code cf_version_list(struct cf_app *app, const struct cf_principal *p, const char *collection_id,
                        json_t **out, struct cf_error *err);
/* Rows first, bytes after. */
cf_code cf_version_delete(struct cf_app *app, const struct cf_principal *p, const char *collection_id,
                          const char *ref, struct cf_error *err);

/* A version's content, read as the original bytes [offset, offset+length) or,
 * when stored is true, as the stored zstd bytes whole. Opening it records the
 * download in the audit log in p's name. */
struct cf_version_stream;
cf_code cf_version_stream_open(struct cf_app *app, const struct cf_principal *p,
                               const struct cf_version_info *v, bool stored, uint64_t offset, uint64_t length,
                               struct cf_version_stream **out, struct cf_error *err);
/* For a stream of stored bytes whose backend has a file: the descriptor, at
 * the stream's start, for sendfile (still owned by the stream); else -1. */
int cf_version_stream_fd(struct cf_version_stream *s);
/* Up to cap bytes; 0 at the end; -1 on error (a corrupt object is CF_E_IO). */
ssize_t cf_version_stream_read(struct cf_version_stream *s, void *buf, size_t cap, struct cf_error *err);
void cf_version_stream_free(struct cf_version_stream *s);

#endif
