/* Streaming zstd compression and decompression with bounded buffers.
 *
 * The compressor pushes: the caller hands it input as it arrives and it calls a
 * sink with compressed bytes. The decompressor pulls: the caller asks it to
 * fill an output buffer and it calls a source for compressed bytes. Both keep
 * only zstd's own windows and one buffer of CF_ZSTREAM_BUF bytes. */
#ifndef COFFER_COMMON_ZSTREAM_H
#define COFFER_COMMON_ZSTREAM_H

#include "common/error.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CF_ZSTREAM_BUF (256 * 1024)
/* Input per zstd worker job when compressing with threads. */
#define CF_ZSTREAM_JOB_SIZE (1024 * 1024)
/* Input per independent frame of a seekable stream: what a range read decompresses at most. */
#define CF_ZSTREAM_FRAME_SIZE (8 * 1024 * 1024)

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
/* Makes the stream seekable: a new independent frame starts every frame_size
 * bytes of input, and finish appends a seek table (see below) in a skippable
 * frame, which every zstd decoder passes over. Call before the first push. */
void cf_zcompressor_set_seekable(struct cf_zcompressor *zc, uint64_t frame_size);
/* Flushes the end of the frame (and the seek table) to the sink. No push after it. */
cf_code cf_zcompressor_finish(struct cf_zcompressor *zc, struct cf_error *err);
/* Compressed bytes handed to the sink so far. */
uint64_t cf_zcompressor_out_bytes(const struct cf_zcompressor *zc);

/* The seek table of a seekable stream, at its very end:
 *   a skippable frame: u32 magic 0x184D2A5E, u32 payload size, then the payload:
 *     for each frame, u64 compressed_end and u64 original_end (bytes from the
 *     start of the stream, after the frame), little-endian;
 *     then the trailer: u32 frame count, u32 version (1), u32 magic 0x5845494B.
 * Frame i starts where frame i-1 ends (compressed and original). */
#define CF_ZSEEK_TRAILER 12
#define CF_ZSEEK_ENTRY   16

struct cf_zframe {
    uint64_t compressed_end;
    uint64_t original_end;
};

/* Reads the trailer from a stream's last CF_ZSEEK_TRAILER bytes: true (with the
 * frame count) when the stream carries a seek table. */
bool cf_zseek_trailer(const unsigned char tail[CF_ZSEEK_TRAILER], uint32_t *nframes);
/* Parses nframes entries (CF_ZSEEK_ENTRY bytes each) and checks them against
 * the stream's sizes: ends strictly increasing, the last frame ending where
 * the table begins and at original_size. CF_E_IO when they do not fit. */
cf_code cf_zseek_parse(const unsigned char *entries, uint32_t nframes, uint64_t stored_size,
                       uint64_t original_size, struct cf_zframe *out, struct cf_error *err);
/* The frame holding original byte offset (offset < original size), by binary search. */
uint32_t cf_zseek_find(const struct cf_zframe *frames, uint32_t nframes, uint64_t offset);

/* NULL when out of memory. */
struct cf_zdecompressor *cf_zdecompressor_new(cf_zsource_fn source, void *source_ctx);
void cf_zdecompressor_free(struct cf_zdecompressor *zd);
/* Fills out with up to cap (at least 1) decompressed bytes. Returns the count,
 * 0 at the clean end of the data, -1 on error (corrupt or truncated data, and a
 * source that ends before a single frame, are CF_E_IO). Concatenated frames
 * read as one stream. */
ssize_t cf_zdecompressor_read(struct cf_zdecompressor *zd, void *out, size_t cap, struct cf_error *err);

#endif
