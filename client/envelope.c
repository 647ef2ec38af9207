#include "client/envelope.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

/* The byte layout; docs/format.md is its full description and must change
 * with it.
 *
 *   0   8  magic: 89 'C' 'O' 'F' 'F' 'E' 'R' 0A
 *   8   1  format version (1)
 *   9   1  key kind: KIND_KEY or KIND_PASSPHRASE
 *  10   1  compression: COMPRESSION_ZSTD
 *  11   1  flags: 0 (a reader refuses any other value)
 *  12   4  chunk size: the most plaintext bytes per chunk, u32 big-endian
 *  -- KIND_PASSPHRASE only:
 *  16   4  Argon2id opslimit, u32 big-endian
 *  20   4  Argon2id memlimit in KiB, u32 big-endian
 *  24  16  Argon2id salt
 *  --
 *   .  24  secretstream header
 * then chunks: u32 big-endian ciphertext length, the ciphertext. The whole
 * header is the additional data of chunk 1, the last chunk carries TAG_FINAL
 * and every other one TAG_MESSAGE. */
static const unsigned char magic[CF_ENVELOPE_MAGIC_LEN] = {0x89, 'C', 'O', 'F', 'F', 'E', 'R', 0x0a};

#define KIND_KEY         1
#define KIND_PASSPHRASE  2
#define COMPRESSION_ZSTD 1

#define FIXED_LEN  16
#define KDF_LEN    (4 + 4 + crypto_pwhash_SALTBYTES)
#define SS_HEADER  crypto_secretstream_xchacha20poly1305_HEADERBYTES
#define HEADER_MAX (FIXED_LEN + KDF_LEN + SS_HEADER)
#define LENGTH_LEN 4
#define ABYTES     crypto_secretstream_xchacha20poly1305_ABYTES

#define TAG_MESSAGE crypto_secretstream_xchacha20poly1305_TAG_MESSAGE
#define TAG_FINAL   crypto_secretstream_xchacha20poly1305_TAG_FINAL

static void put_be32(unsigned char *p, uint32_t value)
{
    p[0] = (unsigned char)(value >> 24);
    p[1] = (unsigned char)(value >> 16);
    p[2] = (unsigned char)(value >> 8);
    p[3] = (unsigned char)value;
}

static uint32_t get_be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* A sink that refused without saying why still leaves the caller a message. */
static void ensure_reported(struct cf_error *err, cf_code code, const char *what)
{
    if (err != NULL && err->code != code)
        cf_fail(err, code, "%s failed", what);
}

/* Argon2id over the passphrase's bytes, as they are. */
static cf_code derive_key(const char *passphrase, const unsigned char *salt, uint32_t opslimit,
                          uint32_t memlimit_kib, unsigned char key[CF_KEY_LEN], struct cf_error *err)
{
    size_t len = strnlen(passphrase, CF_PASSPHRASE_MAX + 1);

    if (len == 0 || len > CF_PASSPHRASE_MAX)
        return cf_fail(err, CF_E_VALIDATION, "the passphrase is empty or longer than %d bytes",
                       CF_PASSPHRASE_MAX);
    /* libsodium fails only when it cannot allocate the memory: the costs were
     * checked against its bounds before. */
    if (crypto_pwhash(key, CF_KEY_LEN, passphrase, len, salt, opslimit, (size_t)memlimit_kib * 1024,
                      crypto_pwhash_ALG_ARGON2ID13) != 0)
        return cf_fail(err, CF_E_NOMEM,
                       "not enough memory to derive the key from the passphrase (Argon2id with %u KiB)",
                       memlimit_kib);
    return CF_OK;
}

/* ---- sealing ---- */

struct cf_seal {
    crypto_secretstream_xchacha20poly1305_state state;
    unsigned char header[HEADER_MAX];
    size_t header_len;
    bool header_sent;
    uint32_t chunk_size;
    unsigned char *plain; /* chunk_size bytes of the zstd stream waiting to be sealed */
    size_t plain_len;
    unsigned char *frame; /* LENGTH_LEN + chunk_size + ABYTES: one chunk as written */
    uint64_t chunks;
    struct cf_zcompressor *zc;
    cf_zsink_fn sink;
    void *sink_ctx;
    bool finished;
    bool failed;
};

void cf_seal_params_default(struct cf_seal_params *params)
{
    params->chunk_size = CF_ENVELOPE_CHUNK_SIZE;
    params->kdf_opslimit = CF_KDF_OPSLIMIT_DEFAULT;
    params->kdf_memlimit_kib = CF_KDF_MEMLIMIT_KIB_DEFAULT;
}

/* Seals the waiting bytes as the next chunk and hands it to the sink, after
 * the header when it is the first. */
static cf_code seal_chunk(struct cf_seal *seal, unsigned char tag, struct cf_error *err)
{
    unsigned long long clen = 0;
    bool first = seal->chunks == 0;
    cf_code rc;

    if (!seal->header_sent) {
        rc = seal->sink(seal->sink_ctx, seal->header, seal->header_len, err);
        if (rc != CF_OK) {
            ensure_reported(err, rc, "writing the encrypted file's header");
            return rc;
        }
        seal->header_sent = true;
    }
    /* Chunk 1 authenticates the header as its additional data; the chunks
     * after it are bound to chunk 1 by the stream's state. */
    crypto_secretstream_xchacha20poly1305_push(&seal->state, seal->frame + LENGTH_LEN, &clen, seal->plain,
                                               seal->plain_len, first ? seal->header : NULL,
                                               first ? seal->header_len : 0, tag);
    put_be32(seal->frame, (uint32_t)clen);
    rc = seal->sink(seal->sink_ctx, seal->frame, LENGTH_LEN + (size_t)clen, err);
    if (rc != CF_OK) {
        ensure_reported(err, rc, "writing an encrypted chunk");
        return rc;
    }
    seal->plain_len = 0;
    seal->chunks++;
    return CF_OK;
}

/* The compressor's sink: fills chunks. A full chunk is sealed only when more
 * bytes come, so that the last chunk, sealed by finish with the final tag,
 * is never an empty one after a full one. */
static cf_code seal_take(void *ctx, const void *data, size_t len, struct cf_error *err)
{
    struct cf_seal *seal = ctx;
    const unsigned char *bytes = data;

    while (len > 0) {
        size_t take;

        if (seal->plain_len == seal->chunk_size) {
            cf_code rc = seal_chunk(seal, TAG_MESSAGE, err);
            if (rc != CF_OK)
                return rc;
        }
        take = seal->chunk_size - seal->plain_len;
        if (take > len)
            take = len;
        memcpy(seal->plain + seal->plain_len, bytes, take);
        seal->plain_len += take;
        bytes += take;
        len -= take;
    }
    return CF_OK;
}

cf_code cf_seal_new(const struct cf_secret *secret, int zstd_level, cf_zsink_fn sink, void *sink_ctx,
                    struct cf_seal **out, struct cf_error *err)
{
    struct cf_seal_params params;

    cf_seal_params_default(&params);
    return cf_seal_new_with_params(secret, zstd_level, &params, sink, sink_ctx, out, err);
}

cf_code cf_seal_new_with_params(const struct cf_secret *secret, int zstd_level,
                                const struct cf_seal_params *params, cf_zsink_fn sink, void *sink_ctx,
                                struct cf_seal **out, struct cf_error *err)
{
    unsigned char key[CF_KEY_LEN];
    struct cf_seal *seal = NULL;
    unsigned char *p;
    cf_code rc;

    *out = NULL;
    rc = cf_sodium_start(err);
    if (rc != CF_OK)
        goto out;
    if (params->chunk_size < 1 || params->chunk_size > CF_ENVELOPE_CHUNK_MAX) {
        rc = cf_fail(err, CF_E_VALIDATION, "the chunk size %u is outside 1..%d", params->chunk_size,
                     CF_ENVELOPE_CHUNK_MAX);
        goto out;
    }
    /* Write nothing a reader would refuse. */
    if (secret->is_passphrase &&
        (params->kdf_opslimit < CF_KDF_OPSLIMIT_MIN || params->kdf_opslimit > CF_KDF_OPSLIMIT_MAX ||
         params->kdf_memlimit_kib < CF_KDF_MEMLIMIT_KIB_MIN ||
         params->kdf_memlimit_kib > CF_KDF_MEMLIMIT_KIB_MAX)) {
        rc = cf_fail(err, CF_E_VALIDATION,
                     "the Argon2id costs (%u passes, %u KiB) are outside %d..%d passes, %d..%d KiB",
                     params->kdf_opslimit, params->kdf_memlimit_kib, CF_KDF_OPSLIMIT_MIN, CF_KDF_OPSLIMIT_MAX,
                     CF_KDF_MEMLIMIT_KIB_MIN, CF_KDF_MEMLIMIT_KIB_MAX);
        goto out;
    }
    seal = calloc(1, sizeof(*seal));
    if (seal == NULL) {
        rc = cf_fail(err, CF_E_NOMEM, "out of memory for an encrypted stream");
        goto out;
    }
    seal->sink = sink;
    seal->sink_ctx = sink_ctx;
    seal->chunk_size = params->chunk_size;
    seal->plain = malloc(params->chunk_size);
    seal->frame = malloc(LENGTH_LEN + (size_t)params->chunk_size + ABYTES);
    seal->zc = cf_zcompressor_new(zstd_level, 0, seal_take, seal);
    if (seal->plain == NULL || seal->frame == NULL || seal->zc == NULL) {
        rc = cf_fail(err, CF_E_NOMEM, "out of memory for an encrypted stream");
        goto out;
    }

    p = seal->header;
    memcpy(p, magic, sizeof(magic));
    p[8] = CF_ENVELOPE_VERSION;
    p[9] = secret->is_passphrase ? KIND_PASSPHRASE : KIND_KEY;
    p[10] = COMPRESSION_ZSTD;
    p[11] = 0;
    put_be32(p + 12, params->chunk_size);
    p += FIXED_LEN;
    if (secret->is_passphrase) {
        put_be32(p, params->kdf_opslimit);
        put_be32(p + 4, params->kdf_memlimit_kib);
        randombytes_buf(p + 8, crypto_pwhash_SALTBYTES);
        rc = derive_key(secret->passphrase, p + 8, params->kdf_opslimit, params->kdf_memlimit_kib, key, err);
        if (rc != CF_OK)
            goto out;
        p += KDF_LEN;
    } else {
        memcpy(key, secret->key, CF_KEY_LEN);
    }
    /* Fills in the stream's random header (its nonce) and keeps only the
     * subkey derived from key in the state. */
    crypto_secretstream_xchacha20poly1305_init_push(&seal->state, p, key);
    p += SS_HEADER;
    seal->header_len = (size_t)(p - seal->header);
    *out = seal;
    seal = NULL;
out:
    sodium_memzero(key, sizeof(key));
    cf_seal_free(seal);
    return rc;
}

cf_code cf_seal_push(struct cf_seal *seal, const void *data, size_t len, struct cf_error *err)
{
    cf_code rc;

    if (seal->failed)
        return cf_fail(err, CF_E_INTERNAL, "the encrypted stream already failed");
    if (seal->finished)
        return cf_fail(err, CF_E_INTERNAL, "data pushed after the encrypted stream was finished");
    rc = cf_zcompressor_push(seal->zc, data, len, err);
    if (rc != CF_OK)
        seal->failed = true;
    return rc;
}

cf_code cf_seal_finish(struct cf_seal *seal, struct cf_error *err)
{
    cf_code rc;

    if (seal->failed)
        return cf_fail(err, CF_E_INTERNAL, "the encrypted stream already failed");
    if (seal->finished)
        return cf_fail(err, CF_E_INTERNAL, "the encrypted stream was already finished");
    rc = cf_zcompressor_finish(seal->zc, err);
    /* zstd writes at least a frame header, so the final chunk holds bytes. */
    if (rc == CF_OK)
        rc = seal_chunk(seal, TAG_FINAL, err);
    if (rc != CF_OK) {
        seal->failed = true;
        return rc;
    }
    seal->finished = true;
    return CF_OK;
}

void cf_seal_free(struct cf_seal *seal)
{
    if (seal == NULL)
        return;
    cf_zcompressor_free(seal->zc);
    if (seal->plain != NULL)
        sodium_memzero(seal->plain, seal->chunk_size);
    free(seal->plain);
    free(seal->frame);
    sodium_memzero(seal, sizeof(*seal));
    free(seal);
}

/* ---- opening ---- */

enum open_state {
    OPEN_HEADER, /* collecting the header into header[] */
    OPEN_LENGTH, /* collecting a chunk's length field */
    OPEN_CHUNK,  /* collecting a chunk's ciphertext */
    OPEN_DONE,   /* the final chunk has been read */
    OPEN_FAILED,
};

struct cf_open {
    struct cf_secret secret; /* a copy, wiped once the key is derived */
    crypto_secretstream_xchacha20poly1305_state state;
    cf_zsink_fn sink;
    void *sink_ctx;
    enum open_state st;
    size_t have;          /* bytes of the current piece (header, length, chunk) collected */
    size_t need;          /* bytes the current piece takes */
    uint64_t offset;      /* bytes of the file consumed */
    uint64_t chunk_start; /* where the current chunk's length field begins */
    uint64_t chunk;       /* the current chunk's number, from 1 */
    unsigned char header[HEADER_MAX];
    size_t header_len;
    uint32_t chunk_size;
    unsigned char length[LENGTH_LEN];
    unsigned char *cipher; /* chunk_size + ABYTES */
    unsigned char *plain;  /* chunk_size */
    ZSTD_DCtx *dctx;
    unsigned char *zout;
    size_t zout_cap;
    size_t zstd_hint; /* ZSTD_decompressStream's last answer: 0 when a frame just ended */
    bool finished;
};

cf_code cf_open_new(const struct cf_secret *secret, cf_zsink_fn sink, void *sink_ctx, struct cf_open **out,
                    struct cf_error *err)
{
    struct cf_open *open = NULL;
    cf_code rc;

    *out = NULL;
    rc = cf_sodium_start(err);
    if (rc != CF_OK)
        goto out;
    open = calloc(1, sizeof(*open));
    if (open == NULL) {
        rc = cf_fail(err, CF_E_NOMEM, "out of memory for an encrypted stream");
        goto out;
    }
    open->secret = *secret;
    open->sink = sink;
    open->sink_ctx = sink_ctx;
    open->st = OPEN_HEADER;
    open->need = FIXED_LEN;
    open->chunk = 1;
    /* Not 0: no zstd frame has ended yet. */
    open->zstd_hint = 1;
    open->dctx = ZSTD_createDCtx();
    open->zout_cap = ZSTD_DStreamOutSize();
    open->zout = malloc(open->zout_cap);
    if (open->dctx == NULL || open->zout == NULL) {
        rc = cf_fail(err, CF_E_NOMEM, "out of memory for an encrypted stream");
        goto out;
    }
    *out = open;
    open = NULL;
out:
    cf_open_free(open);
    return rc;
}

void cf_open_free(struct cf_open *open)
{
    if (open == NULL)
        return;
    if (open->plain != NULL)
        sodium_memzero(open->plain, open->chunk_size);
    free(open->plain);
    free(open->cipher);
    free(open->zout);
    ZSTD_freeDCtx(open->dctx);
    sodium_memzero(open, sizeof(*open));
    free(open);
}

/* Records a failure of the file's content and kills the stream. */
static cf_code open_refuse(struct cf_open *open, struct cf_error *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static cf_code open_refuse(struct cf_open *open, struct cf_error *err, const char *fmt, ...)
{
    va_list ap;

    open->st = OPEN_FAILED;
    va_start(ap, fmt);
    cf_failv(err, CF_E_CHECKSUM_MISMATCH, fmt, ap);
    va_end(ap);
    return CF_E_CHECKSUM_MISMATCH;
}

/* Checks the fixed part of the header and learns how long the whole is. */
static cf_code open_fixed_header(struct cf_open *open, struct cf_error *err)
{
    const unsigned char *h = open->header;
    uint32_t chunk_size = get_be32(h + 12);

    if (h[8] != CF_ENVELOPE_VERSION)
        return open_refuse(open, err,
                           "the encrypted file's format version is %u, and this coffer reads only version %d "
                           "(a newer coffer wrote it, or its header is damaged)",
                           h[8], CF_ENVELOPE_VERSION);
    if (h[9] != KIND_KEY && h[9] != KIND_PASSPHRASE)
        return open_refuse(open, err, "the encrypted file's header is damaged: unknown key kind %u", h[9]);
    if (h[10] != COMPRESSION_ZSTD)
        return open_refuse(open, err, "the encrypted file's header is damaged: unknown compression %u",
                           h[10]);
    if (h[11] != 0)
        return open_refuse(open, err, "the encrypted file's header is damaged: unknown flags 0x%02x", h[11]);
    if (chunk_size < 1 || chunk_size > CF_ENVELOPE_CHUNK_MAX)
        return open_refuse(open, err,
                           "the encrypted file's header is damaged: its chunk size %u is outside 1..%d bytes",
                           chunk_size, CF_ENVELOPE_CHUNK_MAX);
    if (h[9] == KIND_PASSPHRASE && !open->secret.is_passphrase)
        return open_refuse(open, err,
                           "the encrypted file was sealed with a passphrase, and a key was given to open it "
                           "(or its header is damaged)");
    if (h[9] == KIND_KEY && open->secret.is_passphrase)
        return open_refuse(open, err,
                           "the encrypted file was sealed with a key, and a passphrase was given to open it "
                           "(or its header is damaged)");
    open->chunk_size = chunk_size;
    open->header_len = FIXED_LEN + (h[9] == KIND_PASSPHRASE ? KDF_LEN : 0) + SS_HEADER;
    open->need = open->header_len;
    return CF_OK;
}

/* The whole header is in: derives the key and starts the stream. */
static cf_code open_full_header(struct cf_open *open, struct cf_error *err)
{
    const unsigned char *p = open->header + FIXED_LEN;
    unsigned char key[CF_KEY_LEN];
    cf_code rc = CF_OK;

    if (open->secret.is_passphrase) {
        uint32_t opslimit = get_be32(p);
        uint32_t memlimit_kib = get_be32(p + 4);

        /* Checked before Argon2id allocates or spends anything. */
        if (opslimit < CF_KDF_OPSLIMIT_MIN || opslimit > CF_KDF_OPSLIMIT_MAX) {
            rc = open_refuse(
                open, err,
                "the encrypted file's header is damaged: its Argon2id opslimit %u is outside %d..%d",
                opslimit, CF_KDF_OPSLIMIT_MIN, CF_KDF_OPSLIMIT_MAX);
            goto out;
        }
        if (memlimit_kib < CF_KDF_MEMLIMIT_KIB_MIN || memlimit_kib > CF_KDF_MEMLIMIT_KIB_MAX) {
            rc =
                open_refuse(open, err,
                            "the encrypted file's header is damaged: its Argon2id memlimit %u KiB is outside "
                            "%d..%d KiB",
                            memlimit_kib, CF_KDF_MEMLIMIT_KIB_MIN, CF_KDF_MEMLIMIT_KIB_MAX);
            goto out;
        }
        rc = derive_key(open->secret.passphrase, p + 8, opslimit, memlimit_kib, key, err);
        if (rc != CF_OK) {
            open->st = OPEN_FAILED;
            goto out;
        }
        p += KDF_LEN;
    } else {
        memcpy(key, open->secret.key, CF_KEY_LEN);
    }
    cf_secret_wipe(&open->secret);
    /* libsodium 1.0.18 cannot fail here; a later one might refuse a header. */
    if (crypto_secretstream_xchacha20poly1305_init_pull(&open->state, p, key) != 0) {
        rc = open_refuse(open, err, "the encrypted file's header is damaged: its stream header is refused");
        goto out;
    }
    open->cipher = malloc((size_t)open->chunk_size + ABYTES);
    open->plain = malloc(open->chunk_size);
    if (open->cipher == NULL || open->plain == NULL) {
        open->st = OPEN_FAILED;
        rc = cf_fail(err, CF_E_NOMEM, "out of memory for chunks of %u bytes", open->chunk_size);
        goto out;
    }
    open->st = OPEN_LENGTH;
    open->have = 0;
    open->need = LENGTH_LEN;
out:
    sodium_memzero(key, sizeof(key));
    return rc;
}

/* Hands an authenticated chunk's plaintext, a piece of the zstd stream, to
 * zstd and its output to the sink. */
static cf_code open_inflate(struct cf_open *open, size_t len, struct cf_error *err)
{
    ZSTD_inBuffer in = {open->plain, len, 0};
    cf_code rc;

    /* Without input zstd would only report what it wants next, and an empty
     * chunk changes nothing. */
    if (len == 0)
        return CF_OK;
    for (;;) {
        ZSTD_outBuffer zout = {open->zout, open->zout_cap, 0};
        size_t hint = ZSTD_decompressStream(open->dctx, &zout, &in);

        if (ZSTD_isError(hint))
            return open_refuse(open, err,
                               "chunk %llu authenticates but its content is not valid zstd data: %s",
                               (unsigned long long)open->chunk, ZSTD_getErrorName(hint));
        open->zstd_hint = hint;
        if (zout.pos > 0) {
            rc = open->sink(open->sink_ctx, zout.dst, zout.pos, err);
            if (rc != CF_OK) {
                open->st = OPEN_FAILED;
                ensure_reported(err, rc, "writing decrypted data");
                return rc;
            }
        }
        /* Done when all input is in and zstd had room to spare, so it holds
         * no output back. */
        if (in.pos == in.size && zout.pos < zout.size)
            return CF_OK;
    }
}

/* A whole chunk is in: authenticates it, then passes its plaintext on. */
static cf_code open_chunk(struct cf_open *open, struct cf_error *err)
{
    unsigned long long mlen = 0;
    unsigned char tag = 0;
    bool first = open->chunk == 1;
    cf_code rc;

    if (crypto_secretstream_xchacha20poly1305_pull(&open->state, open->plain, &mlen, &tag, open->cipher,
                                                   open->need, first ? open->header : NULL,
                                                   first ? open->header_len : 0) != 0) {
        if (first)
            return open_refuse(
                open, err,
                "chunk 1 (at byte %llu) does not authenticate: wrong key or passphrase, or the "
                "file is damaged",
                (unsigned long long)open->chunk_start);
        return open_refuse(
            open, err, "chunk %llu (at byte %llu) does not authenticate: the file is damaged or was altered",
            (unsigned long long)open->chunk, (unsigned long long)open->chunk_start);
    }
    if (tag != TAG_MESSAGE && tag != TAG_FINAL)
        return open_refuse(open, err,
                           "chunk %llu (at byte %llu) carries tag %u, which this format never writes",
                           (unsigned long long)open->chunk, (unsigned long long)open->chunk_start, tag);
    rc = open_inflate(open, (size_t)mlen, err);
    if (rc != CF_OK)
        return rc;
    if (tag == TAG_FINAL) {
        if (open->zstd_hint != 0)
            return open_refuse(
                open, err,
                "the final chunk %llu authenticates but the zstd data inside ends in the middle "
                "of a frame",
                (unsigned long long)open->chunk);
        open->st = OPEN_DONE;
        return CF_OK;
    }
    open->chunk++;
    open->st = OPEN_LENGTH;
    open->have = 0;
    open->need = LENGTH_LEN;
    return CF_OK;
}

/* A chunk's length field is in: checks it before collecting the chunk. */
static cf_code open_length(struct cf_open *open, struct cf_error *err)
{
    uint32_t clen = get_be32(open->length);

    if (clen < ABYTES || clen > (uint64_t)open->chunk_size + ABYTES)
        return open_refuse(open, err,
                           "chunk %llu (at byte %llu) is damaged: its length %u is outside %u..%llu bytes",
                           (unsigned long long)open->chunk, (unsigned long long)open->chunk_start, clen,
                           (unsigned)ABYTES, (unsigned long long)open->chunk_size + ABYTES);
    open->st = OPEN_CHUNK;
    open->have = 0;
    open->need = clen;
    return CF_OK;
}

cf_code cf_open_push(struct cf_open *open, const void *data, size_t len, struct cf_error *err)
{
    const unsigned char *bytes = data;
    cf_code rc = CF_OK;

    if (open->st == OPEN_FAILED)
        return cf_fail(err, CF_E_INTERNAL, "the encrypted stream already failed");
    if (open->finished)
        return cf_fail(err, CF_E_INTERNAL, "data pushed after the encrypted stream was finished");
    while (len > 0 && rc == CF_OK) {
        unsigned char *dst;
        size_t take;

        if (open->st == OPEN_DONE)
            return open_refuse(open, err, "the encrypted file has data after its final chunk (at byte %llu)",
                               (unsigned long long)open->offset);
        if (open->st == OPEN_LENGTH && open->have == 0)
            open->chunk_start = open->offset;
        dst = open->st == OPEN_HEADER ? open->header : open->st == OPEN_LENGTH ? open->length : open->cipher;
        take = open->need - open->have;
        if (take > len)
            take = len;
        memcpy(dst + open->have, bytes, take);
        open->have += take;
        open->offset += take;
        bytes += take;
        len -= take;
        /* As soon as the first bytes are in, so that a file of another kind
         * is named as such, not as truncated. */
        if (open->st == OPEN_HEADER &&
            memcmp(open->header, magic, open->have < sizeof(magic) ? open->have : sizeof(magic)) != 0)
            return open_refuse(open, err,
                               "not an encrypted coffer file: it does not start with the envelope's magic");
        if (open->have < open->need)
            continue;
        if (open->st == OPEN_HEADER && open->need == FIXED_LEN)
            rc = open_fixed_header(open, err);
        else if (open->st == OPEN_HEADER)
            rc = open_full_header(open, err);
        else if (open->st == OPEN_LENGTH)
            rc = open_length(open, err);
        else
            rc = open_chunk(open, err);
        /* The fixed header may already have been the whole header's start
         * and the rest may be in this push: the loop goes on collecting. */
    }
    return rc;
}

cf_code cf_open_finish(struct cf_open *open, struct cf_error *err)
{
    if (open->st == OPEN_FAILED)
        return cf_fail(err, CF_E_INTERNAL, "the encrypted stream already failed");
    if (open->finished)
        return cf_fail(err, CF_E_INTERNAL, "the encrypted stream was already finished");
    switch (open->st) {
    case OPEN_DONE:
        open->finished = true;
        return CF_OK;
    case OPEN_HEADER:
        if (open->offset == 0)
            return open_refuse(open, err, "the encrypted file is truncated: it is empty");
        return open_refuse(open, err,
                           "the encrypted file is truncated: it ends inside its header, after %llu bytes",
                           (unsigned long long)open->offset);
    case OPEN_LENGTH:
        if (open->have == 0 && open->chunk == 1)
            return open_refuse(open, err,
                               "the encrypted file is truncated: it ends after its header (at byte %llu), "
                               "before any chunk",
                               (unsigned long long)open->offset);
        if (open->have == 0)
            return open_refuse(open, err,
                               "the encrypted file is truncated: it ends after chunk %llu (at byte %llu) "
                               "without its final chunk",
                               (unsigned long long)open->chunk - 1, (unsigned long long)open->offset);
        /* fall through */
    default:
        return open_refuse(open, err,
                           "the encrypted file is truncated: it ends inside chunk %llu (at byte %llu)",
                           (unsigned long long)open->chunk, (unsigned long long)open->offset);
    }
}

bool cf_envelope_detect(const void *head, size_t len)
{
    return len >= sizeof(magic) && memcmp(head, magic, sizeof(magic)) == 0;
}
