/* zstd decompression driven by its input: the caller pushes compressed bytes
 * as they arrive (from libcurl's write callback) and the decompressed bytes go
 * to a sink. common/zstream.h's decompressor pulls instead, which does not fit
 * a callback that is handed the data.
 *
 * Memory: zstd's window (refused past 128 MiB, zstd's default; what cofferd
 * writes needs 8 MiB at most) and one output buffer. */
#ifndef COFFER_CLIENT_ZDECODE_H
#define COFFER_CLIENT_ZDECODE_H

#include "common/error.h"
#include "common/zstream.h"

struct cf_zdecode;

/* NULL when out of memory. */
struct cf_zdecode *cf_zdecode_new(cf_zsink_fn sink, void *sink_ctx);
/* Data that is not zstd, or is damaged, is CF_E_CHECKSUM_MISMATCH (an
 * integrity failure); an error from the sink is returned as it came. */
cf_code cf_zdecode_push(struct cf_zdecode *zd, const void *data, size_t len, struct cf_error *err);
/* CF_E_CHECKSUM_MISMATCH when the data stopped inside a frame. */
cf_code cf_zdecode_finish(struct cf_zdecode *zd, struct cf_error *err);
/* Starts over, as for a new stream (a retried download). */
void cf_zdecode_reset(struct cf_zdecode *zd);
void cf_zdecode_free(struct cf_zdecode *zd);

#endif
