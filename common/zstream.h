/* Streaming zstd compression and decompression with bounded buffers.
 *
 * The compressor pushes: the caller hands it input as it arrives and it calls a
 * sink with compressed bytes. The decompressor pulls: the caller asks it to
 * fill an output buffer and it calls a source for compressed bytes. Both keep
 * only zstd's own windows and one buffer of CF_ZSTREAM_BUF bytes. */
#ifndef COFFER_COMMON_ZSTREAM_H
#define COFFER_COMMON_ZSTREAM_H

#include "common/error.h"
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CF_ZSTREAM_BUF (256 * 1024)
/* Input per zstd worker job when compressing with threads. */
#define CF_ZSTREAM_JOB_SIZE (1024 * 1024)

/* Receives compressed bytes; returns CF_OK or an error that stops the stream. */
typedef cf_code (*cf_zsink_fn)(void *ctx, const void *data, size_t len, struct cf_error *err);
/* Supplies up to cap compressed bytes into buf; returns bytes read, 0 at the end,
 * -1 on error (with err filled). */
typedef ssize_t (*cf_zsource_fn)(void *ctx, void *buf, size_t cap, struct cf_error *err);

struct cf_zcompressor;
struct cf_zdecompressor;

/* level 1..19, threads 0 (compress in the caller's thread) or more (zstd workers).
 * NULL when out of memory. */
struct cf_zcompressor *cf_zcompressor_new(int level, int threads, cf_zsink_fn sink, void *sink_ctx);
void cf_zcompressor_free(struct cf_zcompressor *zc);
cf_code cf_zcompressor_push(struct cf_zcompressor *zc, const void *data, size_t len, struct cf_error *err);
/* Flushes the end of the frame to the sink. No push after it. */
cf_code cf_zcompressor_finish(struct cf_zcompressor *zc, struct cf_error *err);
/* Compressed bytes handed to the sink so far. */
uint64_t cf_zcompressor_out_bytes(const struct cf_zcompressor *zc);

/* NULL when out of memory. */
struct cf_zdecompressor *cf_zdecompressor_new(cf_zsource_fn source, void *source_ctx);
void cf_zdecompressor_free(struct cf_zdecompressor *zd);
/* Fills out with up to cap (at least 1) decompressed bytes. Returns the count,
 * 0 at the clean end of the data, -1 on error (corrupt or truncated data, and a
 * source that ends before a single frame, are CF_E_IO). Concatenated frames
 * read as one stream. */
ssize_t cf_zdecompressor_read(struct cf_zdecompressor *zd, void *out, size_t cap, struct cf_error *err);

#endif
