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

cf_code cf_zcompressor_push(struct cf_zcompressor *zc, const void *data, size_t len, struct cf_error *err)
{
    ZSTD_inBuffer in = {data, len, 0};

    if (zc->failed)
        return cf_fail(err, CF_E_INTERNAL, "the compressed stream already failed");
    if (zc->finished)
        return cf_fail(err, CF_E_INTERNAL, "data pushed after the compressed stream was finished");
    if (len == 0)
        return CF_OK;
    return compress_run(zc, &in, ZSTD_e_continue, err);
}

cf_code cf_zcompressor_finish(struct cf_zcompressor *zc, struct cf_error *err)
{
    ZSTD_inBuffer in = {NULL, 0, 0};
    cf_code rc;

    if (zc->failed)
        return cf_fail(err, CF_E_INTERNAL, "the compressed stream already failed");
    if (zc->finished)
        return cf_fail(err, CF_E_INTERNAL, "the compressed stream was already finished");
    rc = compress_run(zc, &in, ZSTD_e_end, err);
    if (rc == CF_OK)
        zc->finished = true;
    return rc;
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
