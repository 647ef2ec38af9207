/* Uploading a version (POST .../collection/{id}/versions).
 *
 * A stream (a command's output, standard input) goes as a chunked body whose
 * SHA-256 is computed on the way and sent as the trailer X-Content-SHA256,
 * after the last byte. When the source fails (the backup command exits
 * non-zero or is killed) the read callback aborts the transfer: the server
 * never sees the final chunk, so it keeps nothing.
 *
 * A file of known size and hash (a spool entry, a regular file) goes with
 * Content-Length and the X-Content-SHA256 header, so that the server can
 * refuse it before the body and a retry can send it again.
 *
 * Either way the answer's version must carry the SHA-256 that was sent;
 * anything else is CF_E_CHECKSUM_MISMATCH, and the version that holds the
 * changed bytes is deleted again when the token may (a proxy in between,
 * NGINX for one, may drop the trailer, so the server could not refuse it). */
#ifndef COFFER_CLIENT_UPLOAD_H
#define COFFER_CLIENT_UPLOAD_H

#include "client/api.h"
#include "client/progress.h"
#include "client/source.h"
#include "common/error.h"
#include "common/sha256.h"

#include <jansson.h>
#include <stdint.h>

/* made_at is when the backup was made (Unix seconds), sent as the header
 * X-Coffer-Made-At so that the server keeps it as the version's made_at
 * beside its own created_at; a negative made_at sends no header. */

/* *result is the server's {"version": {...}, "rotated": [...]} (caller
 * decrefs). A failure of the source comes back as the source reported it.
 * progress may be NULL. */
cf_code cf_upload_stream(struct cf_api *api, const char *collection, struct cf_source *src, int64_t made_at,
                         struct cf_progress *progress, json_t **result, struct cf_error *err);
/* fd is read from offset 0 (and again, should libcurl need to rewind); it
 * stays the caller's. One attempt: retries are the caller's, who knows
 * whether a lost answer may already have stored the version. */
cf_code cf_upload_file(struct cf_api *api, const char *collection, int fd, uint64_t size,
                       const char sha256[CF_SHA256_HEX_LEN + 1], int64_t made_at, struct cf_progress *progress,
                       json_t **result, struct cf_error *err);

#endif
