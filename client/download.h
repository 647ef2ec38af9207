/* Downloading a version: GET with Accept-Encoding: zstd (the server then
 * sends its stored bytes as they are), decompression here, and the SHA-256 of
 * the result checked against the server's X-Content-SHA256 (the hash of the
 * bytes as uploaded). The bytes go to a sink as they arrive, before that check:
 * the sink must keep them out of reach (a temporary file) until cf_download
 * has returned CF_OK.
 *
 * Network failures and 5xx answers are retried per the API's policy; the
 * sink's restart is called first, so that it can throw away what it has. */
#ifndef COFFER_CLIENT_DOWNLOAD_H
#define COFFER_CLIENT_DOWNLOAD_H

#include "client/api.h"
#include "client/progress.h"
#include "common/error.h"
#include "common/sha256.h"
#include "common/zstream.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cf_download_sink {
    cf_zsink_fn write;
    cf_code (*restart)(void *ctx, struct cf_error *err);
    void *ctx;
};

struct cf_download_info {
    char sha256[CF_SHA256_HEX_LEN + 1]; /* verified */
    char filename[256];                 /* the server's download name, made safe; "" when none */
    uint64_t size;                      /* bytes handed to the sink */
};

/* collection and ref must pass cf_api_segment_valid. progress may be NULL. */
cf_code cf_download(struct cf_api *api, const char *collection, const char *ref,
                    const struct cf_download_sink *sink, struct cf_progress *progress,
                    struct cf_download_info *info, struct cf_error *err);

/* The file name in a Content-Disposition value (attachment; filename="x"),
 * reduced to a safe name in the current directory: no directory part, no
 * leading dot, no control characters. False when there is none. */
bool cf_download_filename(const char *value, char *out, size_t out_len);

#endif
