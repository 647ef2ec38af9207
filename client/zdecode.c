#include "client/zdecode.h"

#include <stdbool.h>
#include <stdlib.h>
#include <zstd.h>

struct cf_zdecode {
    ZSTD_DCtx *dctx;
    cf_zsink_fn sink;
    void *sink_ctx;
    void *out;
    size_t out_cap;
    size_t hint; /* ZSTD_decompressStream's last return: 0 when a frame just ended */
    bool any;    /* some input arrived */
};

struct cf_zdecode *cf_zdecode_new(cf_zsink_fn sink, void *sink_ctx)
{
    struct cf_zdecode *zd = calloc(1, sizeof(*zd));

    if (zd == NULL)
        return NULL;
    zd->dctx = ZSTD_createDCtx();
    zd->out_cap = ZSTD_DStreamOutSize();
    zd->out = malloc(zd->out_cap);
    if (zd->dctx == NULL || zd->out == NULL) {
        cf_zdecode_free(zd);
        return NULL;
    }
    zd->sink = sink;
    zd->sink_ctx = sink_ctx;
    return zd;
}

void cf_zdecode_reset(struct cf_zdecode *zd)
{
    ZSTD_DCtx_reset(zd->dctx, ZSTD_reset_session_only);
    zd->hint = 0;
    zd->any = false;
}

cf_code cf_zdecode_push(struct cf_zdecode *zd, const void *data, size_t len, struct cf_error *err)
{
    ZSTD_inBuffer in = {data, len, 0};
    bool full = false;

    if (len > 0)
        zd->any = true;
    /* Until the input is taken and the last call left room in the output:
     * a full output buffer may mean zstd holds more. */
    while (in.pos < in.size || full) {
        ZSTD_outBuffer outb = {zd->out, zd->out_cap, 0};
        size_t before = in.pos;
        size_t rc = ZSTD_decompressStream(zd->dctx, &outb, &in);

        if (ZSTD_isError(rc))
            return cf_fail(err, CF_E_CHECKSUM_MISMATCH, "the downloaded data is not valid zstd: %s",
                           ZSTD_getErrorName(rc));
        /* A call that moved nothing says only what the next frame would need. */
        if (in.pos > before || outb.pos > 0)
            zd->hint = rc;
        full = outb.pos == outb.size;
        if (outb.pos > 0) {
            cf_code code = zd->sink(zd->sink_ctx, zd->out, outb.pos, err);
            if (code != CF_OK)
                return code;
        }
        if (in.pos == before && outb.pos == 0)
            break;
    }
    return CF_OK;
}

cf_code cf_zdecode_finish(struct cf_zdecode *zd, struct cf_error *err)
{
    if (!zd->any)
        return cf_fail(err, CF_E_CHECKSUM_MISMATCH, "the downloaded data is empty");
    if (zd->hint != 0)
        return cf_fail(err, CF_E_CHECKSUM_MISMATCH,
                       "the downloaded data ends inside a zstd frame (cut short)");
    return CF_OK;
}

void cf_zdecode_free(struct cf_zdecode *zd)
{
    if (zd == NULL)
        return;
    ZSTD_freeDCtx(zd->dctx);
    free(zd->out);
    free(zd);
}
