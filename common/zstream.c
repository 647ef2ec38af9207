#include "common/zstream.h"

#include <stdbool.h>
#include <stdlib.h>
#include <zstd.h>

struct cf_zcompressor {
    ZSTD_CCtx *cctx;
    cf_zsink_fn sink;
    void *sink_ctx;
    unsigned char *out; /* CF_ZSTREAM_BUF bytes of compressed output */
    uint64_t out_bytes;
    uint64_t frame_size; /* 0: one frame for the whole stream */
    uint64_t in_frame;   /* input bytes in the frame being written */
    uint64_t in_total;
    struct cf_zframe *frames; /* ends of the frames written, for the seek table */
    size_t nframes, frames_cap;
    bool finished;
    bool failed; /* zstd's state is unknown after an error, so the stream is dead */
};

struct cf_zdecompressor {
    ZSTD_DCtx *dctx;
    cf_zsource_fn source;
    void *source_ctx;
    unsigned char *in; /* CF_ZSTREAM_BUF bytes of compressed input */
    ZSTD_inBuffer input;
    bool in_frame;   /* bytes of a frame consumed and the frame not yet complete */
    bool seen_frame; /* at least one frame completed */
    bool source_ended;
    bool failed;
};

/* A callback that reports failure without saying why still leaves the caller
 * with a message. */
static void ensure_reported(struct cf_error *err, cf_code code, const char *what)
{
    if (err != NULL && err->code != code)
        cf_fail(err, code, "%s failed", what);
}

struct cf_zcompressor *cf_zcompressor_new(int level, int threads, cf_zsink_fn sink, void *sink_ctx)
{
    struct cf_zcompressor *zc = calloc(1, sizeof(*zc));

    if (zc == NULL)
        return NULL;
    zc->sink = sink;
    zc->sink_ctx = sink_ctx;
    zc->cctx = ZSTD_createCCtx();
    zc->out = malloc(CF_ZSTREAM_BUF);
    if (zc->cctx == NULL || zc->out == NULL)
        goto fail;
    /* zstd clamps the level to its own bounds. */
    if (ZSTD_isError(ZSTD_CCtx_setParameter(zc->cctx, ZSTD_c_compressionLevel, level)))
        goto fail;
    if (ZSTD_isError(ZSTD_CCtx_setParameter(zc->cctx, ZSTD_c_checksumFlag, 1)))
        goto fail;
    /* A libzstd built without threads refuses workers; compressing in the
     * caller's thread then gives the same bytes, only slower. */
    if (threads > 0) {
        (void)ZSTD_CCtx_setParameter(zc->cctx, ZSTD_c_nbWorkers, threads);
        /* zstd sizes its jobs from the window (8 MiB and more at level 3), and
         * keeps several in flight per worker. Smaller jobs keep an upload's
         * memory small at a negligible cost in ratio. */
        (void)ZSTD_CCtx_setParameter(zc->cctx, ZSTD_c_jobSize, CF_ZSTREAM_JOB_SIZE);
    }
    return zc;

fail:
    cf_zcompressor_free(zc);
    return NULL;
}

void cf_zcompressor_free(struct cf_zcompressor *zc)
{
    if (zc == NULL)
        return;
    free(zc->out);
    free(zc->frames);
    ZSTD_freeCCtx(zc->cctx);
    free(zc);
}

/* Runs one compression call over the whole of in (ZSTD_e_continue) or until
 * the frame is closed (ZSTD_e_end), handing every full or partial output
 * buffer to the sink. */
static cf_code compress_run(struct cf_zcompressor *zc, ZSTD_inBuffer *in, ZSTD_EndDirective mode,
                            struct cf_error *err)
{
    size_t remaining;
    cf_code rc;

    for (;;) {
        ZSTD_outBuffer out = {zc->out, CF_ZSTREAM_BUF, 0};

        remaining = ZSTD_compressStream2(zc->cctx, &out, in, mode);
        if (ZSTD_isError(remaining)) {
            zc->failed = true;
            return cf_fail(err, CF_E_INTERNAL, "zstd compression failed: %s", ZSTD_getErrorName(remaining));
        }
        if (out.pos > 0) {
            rc = zc->sink(zc->sink_ctx, out.dst, out.pos, err);
            if (rc != CF_OK) {
                zc->failed = true;
                ensure_reported(err, rc, "writing compressed data");
                return rc;
            }
            zc->out_bytes += out.pos;
        }
        if (mode == ZSTD_e_end ? remaining == 0 : in->pos == in->size)
            return CF_OK;
    }
}

void cf_zcompressor_set_seekable(struct cf_zcompressor *zc, uint64_t frame_size)
{
    zc->frame_size = frame_size;
}

/* Closes the current frame and remembers where it ended. */
static cf_code end_frame(struct cf_zcompressor *zc, struct cf_error *err)
{
    ZSTD_inBuffer none = {NULL, 0, 0};
    cf_code rc = compress_run(zc, &none, ZSTD_e_end, err);

    if (rc != CF_OK || zc->frame_size == 0)
        return rc;
    if (zc->nframes == zc->frames_cap) {
        size_t cap = zc->frames_cap == 0 ? 64 : zc->frames_cap * 2;
        struct cf_zframe *grown = realloc(zc->frames, cap * sizeof(*grown));
        if (grown == NULL) {
            zc->failed = true;
            return cf_fail(err, CF_E_NOMEM, "out of memory for the seek table");
        }
        zc->frames = grown;
        zc->frames_cap = cap;
    }
    zc->frames[zc->nframes].compressed_end = zc->out_bytes;
    zc->frames[zc->nframes].original_end = zc->in_total;
    zc->nframes++;
    zc->in_frame = 0;
    return CF_OK;
}

static void put_le(unsigned char *p, uint64_t value, int bytes)
{
    for (int i = 0; i < bytes; i++)
        p[i] = (unsigned char)(value >> (8 * i));
}

static uint64_t get_le(const unsigned char *p, int bytes)
{
    uint64_t value = 0;

    for (int i = bytes - 1; i >= 0; i--)
        value = (value << 8) | p[i];
    return value;
}

#define SKIPPABLE_MAGIC 0x184D2A5Eu
#define SEEK_MAGIC      0x5845494Bu
#define SEEK_VERSION    1u

/* Writes the seek table as a skippable frame. */
static cf_code write_seek_table(struct cf_zcompressor *zc, struct cf_error *err)
{
    size_t payload = zc->nframes * CF_ZSEEK_ENTRY + CF_ZSEEK_TRAILER;
    unsigned char *table = malloc(8 + payload);
    unsigned char *p = table;
    cf_code rc;

    if (table == NULL)
        return cf_fail(err, CF_E_NOMEM, "out of memory for the seek table");
    put_le(p, SKIPPABLE_MAGIC, 4);
    put_le(p + 4, payload, 4);
    p += 8;
    for (size_t i = 0; i < zc->nframes; i++, p += CF_ZSEEK_ENTRY) {
        put_le(p, zc->frames[i].compressed_end, 8);
        put_le(p + 8, zc->frames[i].original_end, 8);
    }
    put_le(p, zc->nframes, 4);
    put_le(p + 4, SEEK_VERSION, 4);
    put_le(p + 8, SEEK_MAGIC, 4);
    rc = zc->sink(zc->sink_ctx, table, 8 + payload, err);
    if (rc == CF_OK)
        zc->out_bytes += 8 + payload;
    else
        ensure_reported(err, rc, "writing the seek table");
    free(table);
    return rc;
}

cf_code cf_zcompressor_push(struct cf_zcompressor *zc, const void *data, size_t len, struct cf_error *err)
{
    const char *bytes = data;

    if (zc->failed)
        return cf_fail(err, CF_E_INTERNAL, "the compressed stream already failed");
    if (zc->finished)
        return cf_fail(err, CF_E_INTERNAL, "data pushed after the compressed stream was finished");
    while (len > 0) {
        size_t take = len;
        cf_code rc;

        if (zc->frame_size > 0 && take > zc->frame_size - zc->in_frame)
            take = (size_t)(zc->frame_size - zc->in_frame);
        ZSTD_inBuffer in = {bytes, take, 0};
        rc = compress_run(zc, &in, ZSTD_e_continue, err);
        if (rc != CF_OK)
            return rc;
        zc->in_frame += take;
        zc->in_total += take;
        bytes += take;
        len -= take;
        if (zc->frame_size > 0 && zc->in_frame == zc->frame_size) {
            rc = end_frame(zc, err);
            if (rc != CF_OK)
                return rc;
        }
    }
    return CF_OK;
}

cf_code cf_zcompressor_finish(struct cf_zcompressor *zc, struct cf_error *err)
{
    cf_code rc = CF_OK;

    if (zc->failed)
        return cf_fail(err, CF_E_INTERNAL, "the compressed stream already failed");
    if (zc->finished)
        return cf_fail(err, CF_E_INTERNAL, "the compressed stream was already finished");
    /* The last frame, unless the input ended exactly on a frame boundary. */
    if (zc->in_frame > 0 || zc->nframes == 0 || zc->frame_size == 0)
        rc = end_frame(zc, err);
    if (rc == CF_OK && zc->frame_size > 0)
        rc = write_seek_table(zc, err);
    if (rc == CF_OK)
        zc->finished = true;
    return rc;
}

bool cf_zseek_trailer(const unsigned char tail[CF_ZSEEK_TRAILER], uint32_t *nframes)
{
    if (get_le(tail + 8, 4) != SEEK_MAGIC || get_le(tail + 4, 4) != SEEK_VERSION)
        return false;
    *nframes = (uint32_t)get_le(tail, 4);
    return *nframes > 0;
}

cf_code cf_zseek_parse(const unsigned char *entries, uint32_t nframes, uint64_t stored_size,
                       uint64_t original_size, struct cf_zframe *out, struct cf_error *err)
{
    uint64_t table_start = stored_size - (8 + (uint64_t)nframes * CF_ZSEEK_ENTRY + CF_ZSEEK_TRAILER);

    for (uint32_t i = 0; i < nframes; i++) {
        out[i].compressed_end = get_le(entries + (size_t)i * CF_ZSEEK_ENTRY, 8);
        out[i].original_end = get_le(entries + (size_t)i * CF_ZSEEK_ENTRY + 8, 8);
        if (i > 0 && (out[i].compressed_end <= out[i - 1].compressed_end ||
                      out[i].original_end <= out[i - 1].original_end))
            return cf_fail(err, CF_E_IO, "the seek table's frame %u does not follow the one before", i);
    }
    if (out[nframes - 1].compressed_end != table_start || out[nframes - 1].original_end != original_size)
        return cf_fail(err, CF_E_IO, "the seek table does not match the stream's sizes");
    return CF_OK;
}

uint32_t cf_zseek_find(const struct cf_zframe *frames, uint32_t nframes, uint64_t offset)
{
    uint32_t low = 0, high = nframes - 1;

    /* The first frame whose original end lies past offset. */
    while (low < high) {
        uint32_t mid = low + (high - low) / 2;
        if (frames[mid].original_end > offset)
            high = mid;
        else
            low = mid + 1;
    }
    return low;
}

uint64_t cf_zcompressor_out_bytes(const struct cf_zcompressor *zc)
{
    return zc->out_bytes;
}

struct cf_zdecompressor *cf_zdecompressor_new(cf_zsource_fn source, void *source_ctx)
{
    struct cf_zdecompressor *zd = calloc(1, sizeof(*zd));

    if (zd == NULL)
        return NULL;
    zd->source = source;
    zd->source_ctx = source_ctx;
    zd->dctx = ZSTD_createDCtx();
    zd->in = malloc(CF_ZSTREAM_BUF);
    if (zd->dctx == NULL || zd->in == NULL) {
        cf_zdecompressor_free(zd);
        return NULL;
    }
    zd->input.src = zd->in;
    zd->input.size = 0;
    zd->input.pos = 0;
    return zd;
}

void cf_zdecompressor_free(struct cf_zdecompressor *zd)
{
    if (zd == NULL)
        return;
    free(zd->in);
    ZSTD_freeDCtx(zd->dctx);
    free(zd);
}

/* Marks the stream dead after an error already recorded in err. */
static ssize_t decompress_failed(struct cf_zdecompressor *zd)
{
    zd->failed = true;
    return -1;
}

/* Refills the input buffer from the source; false on a source error. */
static bool decompress_refill(struct cf_zdecompressor *zd, struct cf_error *err)
{
    ssize_t got = zd->source(zd->source_ctx, zd->in, CF_ZSTREAM_BUF, err);

    if (got < 0) {
        if (err != NULL && err->code == CF_OK)
            cf_fail(err, CF_E_IO, "reading compressed data failed");
        return false;
    }
    if ((size_t)got > CF_ZSTREAM_BUF) {
        cf_fail(err, CF_E_INTERNAL, "the compressed data source returned more bytes than asked for");
        return false;
    }
    zd->input.size = (size_t)got;
    zd->input.pos = 0;
    if (got == 0)
        zd->source_ended = true;
    return true;
}

ssize_t cf_zdecompressor_read(struct cf_zdecompressor *zd, void *out, size_t cap, struct cf_error *err)
{
    ZSTD_outBuffer output = {out, cap, 0};
    size_t before;
    size_t hint;

    if (zd->failed) {
        cf_fail(err, CF_E_IO, "the compressed stream already failed");
        return -1;
    }
    if (cap == 0) {
        /* 0 means the end, so an empty buffer cannot be answered honestly. */
        cf_fail(err, CF_E_INTERNAL, "reading decompressed data needs room for at least one byte");
        return -1;
    }
    for (;;) {
        /* Always call zstd once, even without new input: it may still hold
         * output that did not fit into the caller's previous buffer. */
        before = zd->input.pos;
        hint = ZSTD_decompressStream(zd->dctx, &output, &zd->input);
        if (ZSTD_isError(hint)) {
            cf_fail(err, CF_E_IO, "the compressed data is corrupt: %s", ZSTD_getErrorName(hint));
            return decompress_failed(zd);
        }
        if (hint == 0) {
            /* A frame is complete and flushed; another may follow it. */
            zd->in_frame = false;
            zd->seen_frame = true;
        } else if (zd->input.pos > before) {
            zd->in_frame = true;
        }
        if (output.pos > 0)
            return (ssize_t)output.pos;
        if (zd->input.pos < zd->input.size)
            continue;
        if (zd->source_ended) {
            if (zd->in_frame) {
                cf_fail(err, CF_E_IO, "the compressed data is truncated: it ends in the middle of a frame");
                return decompress_failed(zd);
            }
            /* Every stream the compressor writes holds at least one frame, so
             * zero bytes mean the data was lost, not that it was empty. */
            if (!zd->seen_frame) {
                cf_fail(err, CF_E_IO, "the compressed data is empty: not even one zstd frame");
                return decompress_failed(zd);
            }
            return 0;
        }
        if (!decompress_refill(zd, err))
            return decompress_failed(zd);
    }
}
