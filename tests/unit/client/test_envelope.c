#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "client/envelope.h"
#include "common/buf.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SINK_MAX (64 * 1024 * 1024)
/* The layout's sizes, spelled out here rather than taken from the code under
 * test: docs/format.md gives the same numbers. */
#define FIXED_LEN       16
#define KDF_LEN         24
#define SS_HEADER       24
#define KEY_HEADER      (FIXED_LEN + SS_HEADER)
#define PASS_HEADER     (FIXED_LEN + KDF_LEN + SS_HEADER)
#define LENGTH_LEN      4
#define ABYTES          17
#define FIRST_CHUNK_ERR "wrong key or passphrase, or the file is damaged"

/* A sink that collects everything, or refuses once it would pass fail_after. */
struct mem_sink {
    struct cf_buf buf;
    size_t fail_after;
};

static cf_code mem_sink_write(void *ctx, const void *data, size_t len, struct cf_error *err)
{
    struct mem_sink *sink = ctx;

    if (sink->buf.len + len > sink->fail_after)
        return cf_fail(err, CF_E_STORAGE_FULL, "disk full after %zu bytes", sink->buf.len);
    if (cf_buf_append(&sink->buf, data, len) != CF_OK)
        return cf_fail(err, CF_E_NOMEM, "test sink overflow");
    return CF_OK;
}

static void mem_sink_init(struct mem_sink *sink)
{
    cf_buf_init(&sink->buf, SINK_MAX);
    sink->fail_after = SIZE_MAX;
}

/* Text-like data from a small vocabulary picked by an LCG, with a stray byte
 * now and then: compressible, yet without long exact repeats. */
static unsigned char *make_text(size_t len, uint32_t seed)
{
    static const char *const words[] = {"backup ", "coffer ", "version ", "chunk ", "zstd ",
                                        "sealed ", "\n",      "key ",     "salt ",  "nonce "};
    unsigned char *data = malloc(len + 1);
    uint32_t x = seed;
    size_t pos = 0;

    assert_non_null(data);
    while (pos < len) {
        const char *word;
        size_t n;

        x = x * 1664525u + 1013904223u;
        word = words[(x >> 16) % 10];
        n = strlen(word);
        if (n > len - pos)
            n = len - pos;
        memcpy(data + pos, word, n);
        pos += n;
        if ((x & 0x3f) == 0 && pos < len)
            data[pos++] = (unsigned char)(x >> 24);
    }
    return data;
}

/* Incompressible bytes: zstd stores them raw, so the zstd stream is about as
 * long as the data and chunk counts are predictable. */
static unsigned char *make_random(size_t len)
{
    unsigned char *data = malloc(len + 1);

    assert_non_null(data);
    randombytes_buf(data, len);
    return data;
}

static struct cf_secret key_secret(unsigned char fill)
{
    struct cf_secret secret;

    memset(&secret, 0, sizeof(secret));
    for (size_t i = 0; i < CF_KEY_LEN; i++)
        secret.key[i] = (unsigned char)(fill + i * 7);
    return secret;
}

static struct cf_secret pass_secret(const char *passphrase)
{
    struct cf_secret secret;

    memset(&secret, 0, sizeof(secret));
    secret.is_passphrase = true;
    snprintf(secret.passphrase, sizeof(secret.passphrase), "%s", passphrase);
    return secret;
}

/* Small files and cheap passphrase derivations for the tests that loop. */
static struct cf_seal_params small_params(uint32_t chunk_size)
{
    struct cf_seal_params params;

    cf_seal_params_default(&params);
    params.chunk_size = chunk_size;
    params.kdf_opslimit = CF_KDF_OPSLIMIT_MIN;
    params.kdf_memlimit_kib = CF_KDF_MEMLIMIT_KIB_MIN;
    return params;
}

/* Seals data, pushed in pieces of step bytes (all at once when 0), into out
 * (initialised here). NULL params: cf_seal_new's defaults. */
static void seal_all(const struct cf_secret *secret, const struct cf_seal_params *params, const void *data,
                     size_t len, size_t step, struct mem_sink *out)
{
    struct cf_error err;
    struct cf_seal *seal = NULL;
    const unsigned char *bytes = data;
    size_t pos = 0;

    cf_error_init(&err);
    mem_sink_init(out);
    if (params == NULL)
        assert_int_equal(cf_seal_new(secret, 3, mem_sink_write, out, &seal, &err), CF_OK);
    else
        assert_int_equal(cf_seal_new_with_params(secret, 3, params, mem_sink_write, out, &seal, &err), CF_OK);
    while (pos < len) {
        size_t n = step == 0 || step > len - pos ? len - pos : step;
        assert_int_equal(cf_seal_push(seal, bytes + pos, n, &err), CF_OK);
        pos += n;
    }
    assert_int_equal(cf_seal_finish(seal, &err), CF_OK);
    cf_seal_free(seal);
    cf_error_dispose(&err);
}

/* Opens file in pieces of step bytes (all at once when 0) into out
 * (initialised here); returns the first failure, or finish's code. */
static cf_code open_all(const struct cf_secret *secret, const void *file, size_t len, size_t step,
                        struct mem_sink *out, struct cf_error *err)
{
    struct cf_open *opener = NULL;
    const unsigned char *bytes = file;
    size_t pos = 0;
    cf_code rc;

    mem_sink_init(out);
    rc = cf_open_new(secret, mem_sink_write, out, &opener, err);
    assert_int_equal(rc, CF_OK);
    while (pos < len) {
        size_t n = step == 0 || step > len - pos ? len - pos : step;
        rc = cf_open_push(opener, bytes + pos, n, err);
        if (rc != CF_OK)
            goto out;
        pos += n;
    }
    rc = cf_open_finish(opener, err);
out:
    cf_open_free(opener);
    return rc;
}

/* Opens and expects exactly data back. */
static void assert_opens_to(const struct cf_secret *secret, const struct mem_sink *file, size_t step,
                            const void *data, size_t len)
{
    struct cf_error err;
    struct mem_sink out;

    cf_error_init(&err);
    assert_int_equal(open_all(secret, file->buf.data, file->buf.len, step, &out, &err), CF_OK);
    assert_int_equal(out.buf.len, len);
    if (len > 0)
        assert_memory_equal(out.buf.data, data, len);
    cf_buf_dispose(&out.buf);
    cf_error_dispose(&err);
}

#define ANY_PREFIX SIZE_MAX

/* Opens and expects CF_E_CHECKSUM_MISMATCH with a message holding expect
 * (when not NULL), and output that is a prefix of data: exactly out_len bytes
 * of it unless out_len is ANY_PREFIX. */
static void assert_refused_out(const struct cf_secret *secret, const void *file, size_t len, size_t step,
                               const void *data, size_t data_len, const char *expect, size_t out_len)
{
    struct cf_error err;
    struct mem_sink out;

    cf_error_init(&err);
    assert_int_equal(open_all(secret, file, len, step, &out, &err), CF_E_CHECKSUM_MISMATCH);
    assert_int_equal(err.code, CF_E_CHECKSUM_MISMATCH);
    if (expect != NULL && strstr(err.message, expect) == NULL)
        fail_msg("message \"%s\" lacks \"%s\"", err.message, expect);
    if (out_len != ANY_PREFIX && out.buf.len != out_len)
        fail_msg("%zu bytes came out, not %zu (%s)", out.buf.len, out_len, err.message);
    assert_true(out.buf.len <= data_len);
    if (out.buf.len > 0)
        assert_memory_equal(out.buf.data, data, out.buf.len);
    cf_buf_dispose(&out.buf);
    cf_error_dispose(&err);
}

static void assert_refused(const struct cf_secret *secret, const void *file, size_t len, size_t step,
                           const void *data, size_t data_len, const char *expect)
{
    assert_refused_out(secret, file, len, step, data, data_len, expect, ANY_PREFIX);
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static void put_be32(unsigned char *p, uint32_t value)
{
    p[0] = (unsigned char)(value >> 24);
    p[1] = (unsigned char)(value >> 16);
    p[2] = (unsigned char)(value >> 8);
    p[3] = (unsigned char)value;
}

/* Walks a sealed file's chunks as docs/format.md describes them: returns the
 * chunk count and, in starts (when not NULL, room for max), where each chunk's
 * length field begins. Fails the test when the framing does not add up. */
static size_t walk_chunks(const unsigned char *file, size_t len, size_t header_len, size_t *starts,
                          size_t max, size_t *zstd_len)
{
    size_t pos = header_len;
    size_t count = 0;

    *zstd_len = 0;
    while (pos < len) {
        uint32_t clen;

        assert_true(len - pos >= LENGTH_LEN);
        clen = be32(file + pos);
        assert_true(clen >= ABYTES);
        assert_true(len - pos - LENGTH_LEN >= clen);
        if (starts != NULL && count < max)
            starts[count] = pos;
        *zstd_len += clen - ABYTES;
        pos += LENGTH_LEN + clen;
        count++;
    }
    assert_int_equal(pos, len);
    return count;
}

/* The zstd stream the seal must carry: what cf_zcompressor writes at level 3. */
static void zstd_of(const void *data, size_t len, struct mem_sink *out)
{
    struct cf_error err;
    struct cf_zcompressor *zc;

    cf_error_init(&err);
    mem_sink_init(out);
    zc = cf_zcompressor_new(3, 0, mem_sink_write, out);
    assert_non_null(zc);
    assert_int_equal(cf_zcompressor_push(zc, data, len, &err), CF_OK);
    assert_int_equal(cf_zcompressor_finish(zc, &err), CF_OK);
    cf_zcompressor_free(zc);
    cf_error_dispose(&err);
}

static void test_round_trip_key(void **state)
{
    static const size_t sizes[] = {0, 1, 2, 100, 65535, 65536, 65537, 300000};
    static const size_t steps[] = {0, 1, 4093, 65536};
    struct cf_secret secret = key_secret(1);

    (void)state;
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        unsigned char *data = make_text(sizes[i], (uint32_t)i + 1);

        for (size_t s = 0; s < sizeof(steps) / sizeof(steps[0]); s++) {
            struct mem_sink file;

            /* Byte by byte only where it stays quick. */
            if (steps[s] == 1 && sizes[i] > 70000)
                continue;
            seal_all(&secret, NULL, data, sizes[i], steps[s], &file);
            assert_true(cf_envelope_detect(file.buf.data, file.buf.len));
            assert_int_equal((unsigned char)file.buf.data[9], 1);
            assert_opens_to(&secret, &file, steps[s] == 0 ? 0 : 777, data, sizes[i]);
            if (sizes[i] < 70000)
                assert_opens_to(&secret, &file, 1, data, sizes[i]);
            cf_buf_dispose(&file.buf);
        }
        free(data);
    }
}

/* The plaintext is compressed before it is sealed: text shrinks. */
static void test_compressed_before_sealing(void **state)
{
    struct cf_secret secret = key_secret(2);
    unsigned char *data = make_text(500000, 9);
    struct mem_sink file, zstd;
    size_t zstd_len = 0;

    (void)state;
    seal_all(&secret, NULL, data, 500000, 0, &file);
    zstd_of(data, 500000, &zstd);
    assert_true(file.buf.len < 500000 / 2);
    walk_chunks((unsigned char *)file.buf.data, file.buf.len, KEY_HEADER, NULL, 0, &zstd_len);
    assert_int_equal(zstd_len, zstd.buf.len);
    assert_opens_to(&secret, &file, 0, data, 500000);
    cf_buf_dispose(&zstd.buf);
    cf_buf_dispose(&file.buf);
    free(data);
}

static void test_round_trip_passphrase(void **state)
{
    static const size_t sizes[] = {0, 1, 1000, 70000};
    struct cf_secret secret = pass_secret("correct horse battery staple");
    struct cf_seal_params params = small_params(CF_ENVELOPE_CHUNK_SIZE);

    (void)state;
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        unsigned char *data = make_text(sizes[i], (uint32_t)i + 20);
        struct mem_sink file;
        const unsigned char *h;

        seal_all(&secret, &params, data, sizes[i], 333, &file);
        h = (const unsigned char *)file.buf.data;
        assert_int_equal(h[9], 2);
        assert_int_equal(be32(h + 16), CF_KDF_OPSLIMIT_MIN);
        assert_int_equal(be32(h + 20), CF_KDF_MEMLIMIT_KIB_MIN);
        assert_opens_to(&secret, &file, 0, data, sizes[i]);
        assert_opens_to(&secret, &file, 1, data, sizes[i]);
        cf_buf_dispose(&file.buf);
        free(data);
    }
}

/* cf_seal_new writes the default costs into the header, and a fresh salt and
 * nonce each time, so the same input never seals to the same bytes. */
static void test_passphrase_defaults(void **state)
{
    struct cf_secret secret = pass_secret("pässwörd with spaces ");
    unsigned char *data = make_text(10000, 5);
    struct mem_sink one, two;
    const unsigned char *a, *b;

    (void)state;
    seal_all(&secret, NULL, data, 10000, 0, &one);
    seal_all(&secret, NULL, data, 10000, 0, &two);
    a = (const unsigned char *)one.buf.data;
    b = (const unsigned char *)two.buf.data;
    assert_int_equal(be32(a + 12), CF_ENVELOPE_CHUNK_SIZE);
    assert_int_equal(be32(a + 16), CF_KDF_OPSLIMIT_DEFAULT);
    assert_int_equal(be32(a + 20), CF_KDF_MEMLIMIT_KIB_DEFAULT);
    assert_int_equal(CF_KDF_OPSLIMIT_DEFAULT, 3);
    assert_int_equal(CF_KDF_MEMLIMIT_KIB_DEFAULT, 64 * 1024);
    /* Salt and secretstream header differ. */
    assert_memory_not_equal(a + 24, b + 24, 16);
    assert_memory_not_equal(a + 40, b + 40, 24);
    assert_opens_to(&secret, &one, 0, data, 10000);
    assert_opens_to(&secret, &two, 0, data, 10000);
    cf_buf_dispose(&one.buf);
    cf_buf_dispose(&two.buf);
    free(data);
}

/* Many chunks: every one but the last is full, the last carries the rest,
 * and the chunk count is what the zstd stream's length makes it. */
static void test_many_chunks(void **state)
{
    enum { LEN = 3 * 1024 * 1024 + 11 };
    struct cf_secret secret = key_secret(3);
    unsigned char *data = make_random(LEN);
    struct mem_sink file, zstd;
    static size_t starts[64];
    size_t count, zstd_len = 0, expect;
    const unsigned char *f;

    (void)state;
    seal_all(&secret, NULL, data, LEN, 100003, &file);
    zstd_of(data, LEN, &zstd);
    f = (const unsigned char *)file.buf.data;
    count = walk_chunks(f, file.buf.len, KEY_HEADER, starts, 64, &zstd_len);
    expect = (zstd.buf.len + CF_ENVELOPE_CHUNK_SIZE - 1) / CF_ENVELOPE_CHUNK_SIZE;
    assert_true(count >= 48);
    assert_int_equal(count, expect);
    assert_int_equal(zstd_len, zstd.buf.len);
    for (size_t i = 0; i + 1 < count; i++)
        assert_int_equal(be32(f + starts[i]), CF_ENVELOPE_CHUNK_SIZE + ABYTES);
    assert_int_equal(file.buf.len, KEY_HEADER + count * (LENGTH_LEN + ABYTES) + zstd.buf.len);
    assert_opens_to(&secret, &file, 0, data, LEN);
    assert_opens_to(&secret, &file, 65536 + 21, data, LEN);
    cf_buf_dispose(&zstd.buf);
    cf_buf_dispose(&file.buf);
    free(data);
}

/* The zstd stream ends exactly on a chunk edge, one byte before it and one
 * after it: the final chunk is then full, one byte short, or one byte long,
 * and never an empty chunk after a full one. */
static void test_chunk_edges(void **state)
{
    struct cf_secret secret = key_secret(4);
    unsigned char *data = make_text(20000, 77);
    struct mem_sink zstd;
    size_t zlen;

    (void)state;
    zstd_of(data, 20000, &zstd);
    zlen = zstd.buf.len;
    assert_true(zlen > 100);
    {
        const size_t chunk_sizes[] = {zlen,           zlen - 1, zlen + 1, zlen / 2, (zlen + 1) / 2,
                                      (zlen - 1) / 2, zlen / 3, 1,        2,        64};
        for (size_t i = 0; i < sizeof(chunk_sizes) / sizeof(chunk_sizes[0]); i++) {
            struct cf_seal_params params = small_params((uint32_t)chunk_sizes[i]);
            size_t c = chunk_sizes[i];
            size_t expect = (zlen + c - 1) / c;
            size_t zstd_len = 0, count;
            struct mem_sink file;

            seal_all(&secret, &params, data, 20000, i % 2 == 0 ? 0 : 999, &file);
            count = walk_chunks((unsigned char *)file.buf.data, file.buf.len, KEY_HEADER, NULL, 0, &zstd_len);
            assert_int_equal(count, expect);
            assert_int_equal(zstd_len, zlen);
            assert_int_equal(file.buf.len, KEY_HEADER + count * (LENGTH_LEN + ABYTES) + zlen);
            assert_int_equal(be32((unsigned char *)file.buf.data + 12), c);
            assert_opens_to(&secret, &file, 0, data, 20000);
            if (c >= 64)
                assert_opens_to(&secret, &file, 1, data, 20000);
            cf_buf_dispose(&file.buf);
        }
    }
    cf_buf_dispose(&zstd.buf);
    free(data);
}

static void test_wrong_key(void **state)
{
    struct cf_secret right = key_secret(5), wrong = key_secret(6);
    unsigned char *data = make_text(200000, 6);
    struct mem_sink file;

    (void)state;
    seal_all(&right, NULL, data, 200000, 0, &file);
    /* Nothing reaches the sink: assert_refused checks the output is a prefix,
     * and here it must be empty. */
    for (size_t step = 0; step <= 1; step++) {
        struct cf_error err;
        struct mem_sink out;

        cf_error_init(&err);
        assert_int_equal(open_all(&wrong, file.buf.data, file.buf.len, step == 0 ? 0 : 1000, &out, &err),
                         CF_E_CHECKSUM_MISMATCH);
        assert_string_equal(err.message, "chunk 1 (at byte 40) does not authenticate: " FIRST_CHUNK_ERR);
        assert_int_equal(out.buf.len, 0);
        cf_buf_dispose(&out.buf);
        cf_error_dispose(&err);
    }
    cf_buf_dispose(&file.buf);
    free(data);
}

static void test_wrong_passphrase(void **state)
{
    struct cf_secret right = pass_secret("the right one"), wrong = pass_secret("the right one ");
    struct cf_seal_params params = small_params(4096);
    unsigned char *data = make_text(50000, 7);
    struct mem_sink file, out;
    struct cf_error err;

    (void)state;
    cf_error_init(&err);
    seal_all(&right, &params, data, 50000, 0, &file);
    assert_int_equal(open_all(&wrong, file.buf.data, file.buf.len, 0, &out, &err), CF_E_CHECKSUM_MISMATCH);
    assert_string_equal(err.message, "chunk 1 (at byte 64) does not authenticate: " FIRST_CHUNK_ERR);
    assert_int_equal(out.buf.len, 0);
    cf_buf_dispose(&out.buf);
    cf_buf_dispose(&file.buf);
    cf_error_dispose(&err);
    free(data);
}

/* A key for a passphrase file and a passphrase for a key file are refused by
 * the header, before any key is derived. */
static void test_key_kind_mismatch(void **state)
{
    struct cf_secret key = key_secret(8), pass = pass_secret("kind");
    struct cf_seal_params params = small_params(1024);
    unsigned char *data = make_text(3000, 8);
    struct mem_sink by_key, by_pass;

    (void)state;
    seal_all(&key, &params, data, 3000, 0, &by_key);
    seal_all(&pass, &params, data, 3000, 0, &by_pass);
    assert_refused(&pass, by_key.buf.data, by_key.buf.len, 0, data, 0,
                   "sealed with a key, and a passphrase was given");
    assert_refused(&key, by_pass.buf.data, by_pass.buf.len, 0, data, 0,
                   "sealed with a passphrase, and a key was given");
    cf_buf_dispose(&by_key.buf);
    cf_buf_dispose(&by_pass.buf);
    free(data);
}

/* How many plaintext bytes come out of the file cut at cut (refused). */
static size_t out_len_at_cut(const struct cf_secret *secret, const void *file, size_t cut)
{
    struct cf_error err;
    struct mem_sink out;
    size_t len;

    cf_error_init(&err);
    assert_int_equal(open_all(secret, file, cut, 0, &out, &err), CF_E_CHECKSUM_MISMATCH);
    len = out.buf.len;
    cf_buf_dispose(&out.buf);
    cf_error_dispose(&err);
    return len;
}

/* The chunks of a sealed file, and for each what comes out of the chunks
 * before it: all that a failure inside it may let through. */
struct chunk_map {
    size_t count;
    size_t starts[256];
    size_t before[256];
};

static void map_chunks(const struct cf_secret *secret, const struct mem_sink *file, struct chunk_map *map)
{
    size_t zlen = 0;

    map->count = walk_chunks((const unsigned char *)file->buf.data, file->buf.len,
                             secret->is_passphrase ? PASS_HEADER : KEY_HEADER, map->starts, 256, &zlen);
    assert_true(map->count >= 3 && map->count <= 256);
    for (size_t k = 0; k < map->count; k++)
        map->before[k] = out_len_at_cut(secret, file->buf.data, map->starts[k]);
    assert_int_equal(map->before[0], 0);
}

/* What may come out when the file goes wrong at byte pos: the output of the
 * chunks wholly before the one holding pos. */
static size_t allowed_out(const struct chunk_map *map, size_t pos)
{
    size_t k = 0;

    while (k + 1 < map->count && map->starts[k + 1] <= pos)
        k++;
    return pos < map->starts[0] ? 0 : map->before[k];
}

/* Any single altered byte anywhere in the file, whichever bit, is refused,
 * and nothing of the chunk it lies in comes out. */
static void flip_every_byte(const struct cf_secret *secret, size_t chunk_size, size_t data_len)
{
    struct cf_seal_params params = small_params((uint32_t)chunk_size);
    /* zstd stores these bytes raw and hands them out as they arrive, so each
     * chunk lets its own plaintext out. */
    unsigned char *data = make_random(data_len);
    struct chunk_map map;
    struct mem_sink file;
    unsigned char *copy;
    size_t len;

    seal_all(secret, &params, data, data_len, 0, &file);
    len = file.buf.len;
    map_chunks(secret, &file, &map);
    /* Chunks before the last let something through, so the check below
     * tells "a prefix" from "nothing of the failed chunk". */
    assert_true(map.before[map.count - 1] > 0);
    copy = malloc(len);
    assert_non_null(copy);
    for (size_t pos = 0; pos < len; pos++) {
        static const unsigned char flips[] = {0x01, 0x80, 0xff};
        for (size_t f = 0; f < sizeof(flips); f++) {
            memcpy(copy, file.buf.data, len);
            copy[pos] ^= flips[f];
            assert_refused_out(secret, copy, len, 0, data, data_len, NULL, allowed_out(&map, pos));
        }
    }
    free(copy);
    cf_buf_dispose(&file.buf);
    free(data);
}

static void test_every_flipped_byte_refused_key(void **state)
{
    struct cf_secret secret = key_secret(9);

    (void)state;
    flip_every_byte(&secret, 64, 600);
}

static void test_every_flipped_byte_refused_passphrase(void **state)
{
    struct cf_secret secret = pass_secret("flip");

    (void)state;
    flip_every_byte(&secret, 64, 600);
}

/* The file cut at every offset is refused, and nothing of the chunk cut
 * short comes out; cut exactly before the final chunk, where every chunk
 * present authenticates, it is refused all the same and says so. */
static void test_truncation_refused(void **state)
{
    struct cf_secret secret = key_secret(11);
    struct cf_seal_params params = small_params(128);
    unsigned char *data = make_random(2000);
    struct mem_sink file, out;
    struct chunk_map map;
    struct cf_error err;
    char expect[160];
    size_t last;

    (void)state;
    seal_all(&secret, &params, data, 2000, 0, &file);
    map_chunks(&secret, &file, &map);
    for (size_t cut = 0; cut < file.buf.len; cut++) {
        assert_refused_out(&secret, file.buf.data, cut, 0, data, 2000, "truncated", allowed_out(&map, cut));
        assert_refused_out(&secret, file.buf.data, cut, 7, data, 2000, "truncated", allowed_out(&map, cut));
    }
    assert_refused(&secret, file.buf.data, 0, 0, data, 2000, "the encrypted file is truncated: it is empty");
    assert_refused(&secret, file.buf.data, KEY_HEADER - 1, 0, data, 2000, "ends inside its header");
    assert_refused(&secret, file.buf.data, KEY_HEADER, 0, data, 2000, "ends after its header (at byte 40)");
    assert_refused(&secret, file.buf.data, map.starts[1] - 1, 0, data, 2000, "ends inside chunk 1");

    cf_error_init(&err);
    last = map.count - 1;
    assert_int_equal(open_all(&secret, file.buf.data, map.starts[last], 0, &out, &err),
                     CF_E_CHECKSUM_MISMATCH);
    snprintf(expect, sizeof(expect),
             "the encrypted file is truncated: it ends after chunk %zu (at byte %zu) without its final chunk",
             last, map.starts[last]);
    assert_string_equal(err.message, expect);
    assert_int_equal(out.buf.len, map.before[last]);
    assert_true(out.buf.len < 2000);
    cf_buf_dispose(&out.buf);
    cf_error_dispose(&err);
    cf_buf_dispose(&file.buf);
    free(data);
}

/* Bytes after the final chunk are refused: one byte, the final chunk again,
 * a whole second file. */
static void test_trailing_data_refused(void **state)
{
    struct cf_secret secret = key_secret(12);
    struct cf_seal_params params = small_params(256);
    unsigned char *data = make_text(3000, 12);
    struct mem_sink file, more;
    size_t starts[64];
    size_t count, zlen = 0, last_len;
    unsigned char *longer;
    char expect[128];

    (void)state;
    seal_all(&secret, &params, data, 3000, 0, &file);
    count = walk_chunks((unsigned char *)file.buf.data, file.buf.len, KEY_HEADER, starts, 64, &zlen);
    last_len = file.buf.len - starts[count - 1];
    longer = malloc(2 * file.buf.len);
    assert_non_null(longer);
    memcpy(longer, file.buf.data, file.buf.len);
    snprintf(expect, sizeof(expect), "the encrypted file has data after its final chunk (at byte %zu)",
             file.buf.len);

    longer[file.buf.len] = 0;
    assert_refused(&secret, longer, file.buf.len + 1, 0, data, 3000, expect);
    assert_refused(&secret, longer, file.buf.len + 1, 1, data, 3000, expect);
    memcpy(longer + file.buf.len, file.buf.data + starts[count - 1], last_len);
    assert_refused(&secret, longer, file.buf.len + last_len, 0, data, 3000, expect);
    seal_all(&secret, &params, "more", 4, 0, &more);
    memcpy(longer + file.buf.len, more.buf.data, more.buf.len);
    assert_refused(&secret, longer, file.buf.len + more.buf.len, 0, data, 3000, expect);
    /* Pushed in two calls, the second holding only the extra bytes. */
    {
        struct cf_open *opener = NULL;
        struct mem_sink out;
        struct cf_error err;

        cf_error_init(&err);
        mem_sink_init(&out);
        assert_int_equal(cf_open_new(&secret, mem_sink_write, &out, &opener, &err), CF_OK);
        assert_int_equal(cf_open_push(opener, file.buf.data, file.buf.len, &err), CF_OK);
        assert_int_equal(cf_open_push(opener, "x", 1, &err), CF_E_CHECKSUM_MISMATCH);
        assert_string_equal(err.message, expect);
        assert_int_equal(cf_open_finish(opener, &err), CF_E_INTERNAL);
        cf_open_free(opener);
        cf_buf_dispose(&out.buf);
        cf_error_dispose(&err);
    }
    cf_buf_dispose(&more.buf);
    free(longer);
    cf_buf_dispose(&file.buf);
    free(data);
}

/* Header fields that still parse but differ from what was sealed fail
 * chunk 1's authentication; fields that do not parse are named. */
static void test_header_alteration_refused(void **state)
{
    struct cf_secret key = key_secret(13), pass = pass_secret("header");
    struct cf_seal_params params = small_params(512);
    unsigned char *data = make_text(4000, 13);
    struct mem_sink by_key, by_pass;
    unsigned char *copy;

    (void)state;
    seal_all(&key, &params, data, 4000, 0, &by_key);
    seal_all(&pass, &params, data, 4000, 0, &by_pass);
    copy = malloc(by_pass.buf.len);
    assert_non_null(copy);

#define ALTERED(file, secret, edit, expect)                                                                  \
    do {                                                                                                     \
        memcpy(copy, (file).buf.data, (file).buf.len);                                                       \
        edit;                                                                                                \
        assert_refused(&(secret), copy, (file).buf.len, 0, data, 0, expect);                                 \
    } while (0)

    /* Still valid values: only authentication can tell. */
    ALTERED(by_key, key, put_be32(copy + 12, 1024),
            "chunk 1 (at byte 40) does not authenticate: " FIRST_CHUNK_ERR);
    ALTERED(by_pass, pass, put_be32(copy + 12, 4096), "chunk 1 (at byte 64) does not authenticate");
    ALTERED(by_pass, pass, put_be32(copy + 16, CF_KDF_OPSLIMIT_MIN + 1), FIRST_CHUNK_ERR);
    ALTERED(by_pass, pass, put_be32(copy + 20, CF_KDF_MEMLIMIT_KIB_MIN + 8), FIRST_CHUNK_ERR);
    ALTERED(by_pass, pass, copy[30] ^= 1, FIRST_CHUNK_ERR);                  /* the salt */
    ALTERED(by_key, key, copy[FIXED_LEN + 5] ^= 1, FIRST_CHUNK_ERR);         /* the nonce */
    ALTERED(by_pass, pass, copy[FIXED_LEN + KDF_LEN] ^= 1, FIRST_CHUNK_ERR); /* the nonce */
    /* Values this version cannot read. */
    ALTERED(by_key, key, copy[0] = 'C', "not an encrypted coffer file");
    ALTERED(by_key, key, copy[7] = '\r', "not an encrypted coffer file");
    ALTERED(by_key, key, copy[8] = 2, "format version is 2, and this coffer reads only version 1");
    ALTERED(by_key, key, copy[9] = 3, "unknown key kind 3");
    ALTERED(by_key, key, copy[10] = 2, "unknown compression 2");
    ALTERED(by_key, key, copy[11] = 0x40, "unknown flags 0x40");
    ALTERED(by_key, key, copy[9] = 2, "sealed with a passphrase, and a key was given");
#undef ALTERED
    free(copy);
    cf_buf_dispose(&by_key.buf);
    cf_buf_dispose(&by_pass.buf);
    free(data);
}

/* Sizes read from the file are checked before anything is allocated or
 * derived for them. Were the Argon2id costs not checked first, 4 TiB would
 * fail as CF_E_NOMEM and 1 GiB would run and fail authentication, both with
 * other messages than these. */
static void test_absurd_values_refused(void **state)
{
    static const uint32_t bad_ops[] = {0, CF_KDF_OPSLIMIT_MAX + 1, 0xffffffffu};
    static const uint32_t bad_mem[] = {0, CF_KDF_MEMLIMIT_KIB_MIN - 1, CF_KDF_MEMLIMIT_KIB_MAX + 1,
                                       0xffffffffu};
    static const uint32_t bad_chunk[] = {0, CF_ENVELOPE_CHUNK_MAX + 1, 0xffffffffu};
    static const uint32_t bad_length[] = {0, ABYTES - 1, 512 + ABYTES + 1, 0xffffffffu};
    struct cf_secret pass = pass_secret("absurd"), key = key_secret(14);
    struct cf_seal_params params = small_params(512);
    unsigned char *data = make_text(4000, 14);
    struct mem_sink by_pass, by_key;
    unsigned char copy[PASS_HEADER + 8];

    (void)state;
    seal_all(&pass, &params, data, 4000, 0, &by_pass);
    seal_all(&key, &params, data, 4000, 0, &by_key);
    /* Only the header and a length field: enough to be refused. */
    for (size_t i = 0; i < sizeof(bad_ops) / sizeof(bad_ops[0]); i++) {
        memcpy(copy, by_pass.buf.data, PASS_HEADER);
        put_be32(copy + 16, bad_ops[i]);
        assert_refused(&pass, copy, PASS_HEADER, 0, data, 0, "its Argon2id opslimit");
    }
    for (size_t i = 0; i < sizeof(bad_mem) / sizeof(bad_mem[0]); i++) {
        memcpy(copy, by_pass.buf.data, PASS_HEADER);
        put_be32(copy + 20, bad_mem[i]);
        assert_refused(&pass, copy, PASS_HEADER, 0, data, 0, "its Argon2id memlimit");
    }
    for (size_t i = 0; i < sizeof(bad_chunk) / sizeof(bad_chunk[0]); i++) {
        memcpy(copy, by_key.buf.data, KEY_HEADER);
        put_be32(copy + 12, bad_chunk[i]);
        assert_refused(&key, copy, FIXED_LEN, 0, data, 0, "its chunk size");
    }
    for (size_t i = 0; i < sizeof(bad_length) / sizeof(bad_length[0]); i++) {
        memcpy(copy, by_key.buf.data, KEY_HEADER);
        put_be32(copy + KEY_HEADER, bad_length[i]);
        assert_refused(&key, copy, KEY_HEADER + LENGTH_LEN, 0, data, 0,
                       "chunk 1 (at byte 40) is damaged: its length");
    }
    cf_buf_dispose(&by_pass.buf);
    cf_buf_dispose(&by_key.buf);
    free(data);
}

static void test_detect(void **state)
{
    struct cf_secret key = key_secret(15);
    static const unsigned char zstd_magic[] = {0x28, 0xb5, 0x2f, 0xfd, 0, 0, 0, 0, 0};
    struct mem_sink file;

    (void)state;
    seal_all(&key, NULL, "x", 1, 0, &file);
    assert_true(cf_envelope_detect(file.buf.data, file.buf.len));
    assert_true(cf_envelope_detect(file.buf.data, CF_ENVELOPE_MAGIC_LEN));
    assert_true(cf_envelope_detect("\x89"
                                   "COFFER\n",
                                   8));
    assert_false(cf_envelope_detect(file.buf.data, CF_ENVELOPE_MAGIC_LEN - 1));
    assert_false(cf_envelope_detect(file.buf.data, 0));
    assert_false(cf_envelope_detect(zstd_magic, sizeof(zstd_magic)));
    assert_false(cf_envelope_detect("COFFER\n\n", 8));
    assert_false(cf_envelope_detect("-- PostgreSQL database dump", 27));
    cf_buf_dispose(&file.buf);
}

/* A sink's failure stops the stream with the sink's own code and message. */
static void test_sink_failure(void **state)
{
    struct cf_secret key = key_secret(16);
    unsigned char *data = make_random(300000);
    struct cf_seal *seal = NULL;
    struct cf_open *opener = NULL;
    struct mem_sink file, sink;
    struct cf_error err;
    cf_code rc;

    (void)state;
    cf_error_init(&err);
    mem_sink_init(&sink);
    sink.fail_after = 100000;
    assert_int_equal(cf_seal_new(&key, 3, mem_sink_write, &sink, &seal, &err), CF_OK);
    rc = cf_seal_push(seal, data, 300000, &err);
    assert_int_equal(rc, CF_E_STORAGE_FULL);
    assert_string_equal(err.message, "disk full after 65597 bytes");
    assert_int_equal(cf_seal_push(seal, data, 1, &err), CF_E_INTERNAL);
    assert_int_equal(cf_seal_finish(seal, &err), CF_E_INTERNAL);
    cf_seal_free(seal);
    cf_buf_dispose(&sink.buf);

    /* The header alone does not fit. */
    mem_sink_init(&sink);
    sink.fail_after = 10;
    assert_int_equal(cf_seal_new(&key, 3, mem_sink_write, &sink, &seal, &err), CF_OK);
    assert_int_equal(cf_seal_push(seal, "small", 5, &err), CF_OK);
    assert_int_equal(cf_seal_finish(seal, &err), CF_E_STORAGE_FULL);
    cf_seal_free(seal);
    cf_buf_dispose(&sink.buf);

    seal_all(&key, NULL, data, 300000, 0, &file);
    mem_sink_init(&sink);
    sink.fail_after = 150000;
    assert_int_equal(cf_open_new(&key, mem_sink_write, &sink, &opener, &err), CF_OK);
    assert_int_equal(cf_open_push(opener, file.buf.data, file.buf.len, &err), CF_E_STORAGE_FULL);
    assert_int_equal(cf_open_push(opener, file.buf.data, 1, &err), CF_E_INTERNAL);
    cf_open_free(opener);
    cf_buf_dispose(&sink.buf);
    cf_buf_dispose(&file.buf);
    cf_error_dispose(&err);
    free(data);
}

static void test_misuse_refused(void **state)
{
    struct cf_secret key = key_secret(17), pass = pass_secret("p");
    struct cf_seal_params params;
    struct cf_seal *seal = NULL;
    struct mem_sink sink;
    struct cf_error err;

    (void)state;
    cf_error_init(&err);
    mem_sink_init(&sink);
    params = small_params(0);
    assert_int_equal(cf_seal_new_with_params(&key, 3, &params, mem_sink_write, &sink, &seal, &err),
                     CF_E_VALIDATION);
    assert_null(seal);
    params = small_params(CF_ENVELOPE_CHUNK_MAX + 1);
    assert_int_equal(cf_seal_new_with_params(&key, 3, &params, mem_sink_write, &sink, &seal, &err),
                     CF_E_VALIDATION);
    params = small_params(1024);
    params.kdf_memlimit_kib = CF_KDF_MEMLIMIT_KIB_MAX + 1;
    assert_int_equal(cf_seal_new_with_params(&pass, 3, &params, mem_sink_write, &sink, &seal, &err),
                     CF_E_VALIDATION);
    params.kdf_memlimit_kib = CF_KDF_MEMLIMIT_KIB_MIN;
    params.kdf_opslimit = 0;
    assert_int_equal(cf_seal_new_with_params(&pass, 3, &params, mem_sink_write, &sink, &seal, &err),
                     CF_E_VALIDATION);
    /* A key ignores the passphrase's costs. */
    assert_int_equal(cf_seal_new_with_params(&key, 3, &params, mem_sink_write, &sink, &seal, &err), CF_OK);
    assert_int_equal(cf_seal_finish(seal, &err), CF_OK);
    assert_int_equal(cf_seal_push(seal, "x", 1, &err), CF_E_INTERNAL);
    assert_int_equal(cf_seal_finish(seal, &err), CF_E_INTERNAL);
    cf_seal_free(seal);
    cf_seal_free(NULL);
    cf_open_free(NULL);
    cf_buf_dispose(&sink.buf);
    cf_error_dispose(&err);
}

/* ---- the committed files of format version 1 ---- */

/* Non-ASCII, a trailing space and a CRLF line end: all part of what a reader
 * must get right. */
#define FIXTURE_PASSPHRASE "Coffer format v1 fixture: Grüße, 7 words & spaces "

/* tests/fixtures/format-v1/, found from this file's path (CMake compiles it
 * by its absolute path) unless COFFER_SOURCE names the tree. */
static void fixture_path(char *buf, size_t cap, const char *name)
{
    const char *source = getenv("COFFER_SOURCE");

    if (source != NULL && source[0] != '\0') {
        snprintf(buf, cap, "%s/tests/fixtures/format-v1/%s", source, name);
    } else {
        const char *self = __FILE__;
        const char *tail = strstr(self, "tests/unit/client/test_envelope.c");
        assert_non_null(tail);
        snprintf(buf, cap, "%.*stests/fixtures/format-v1/%s", (int)(tail - self), self, name);
    }
}

static void read_whole(const char *path, struct cf_buf *out)
{
    char chunk[65536];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t got;

    if (fd < 0)
        fail_msg("cannot open %s: %s", path, strerror(errno));
    cf_buf_init(out, SINK_MAX);
    while ((got = read(fd, chunk, sizeof(chunk))) > 0)
        assert_int_equal(cf_buf_append(out, chunk, (size_t)got), CF_OK);
    assert_int_equal(got, 0);
    close(fd);
}

static void write_whole(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");

    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

/* A private copy (mode 0600, in /tmp) of the fixture name: coffer refuses
 * secrets open to others, and git keeps no 0600. Caller unlinks copy. */
static void private_fixture(const char *name, char *copy, size_t cap)
{
    char path[4096];
    struct cf_buf data;
    int fd;

    fixture_path(path, sizeof(path), name);
    read_whole(path, &data);
    snprintf(copy, cap, "/tmp/coffer-test-fixture-XXXXXX");
    fd = mkstemp(copy);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data.data, data.len), (ssize_t)data.len);
    close(fd);
    cf_buf_dispose(&data);
}

/* The fixture's plaintext: text in all its lines, every byte value, and a run
 * of bytes that do not compress, so that the zstd stream spans several 1 KiB
 * chunks. Only used when COFFER_WRITE_FORMAT_V1 asks for new fixtures. */
static unsigned char *fixture_plaintext(size_t *len)
{
    unsigned char *data = malloc(16384);
    size_t pos = 0;
    uint32_t x = 2024;

    assert_non_null(data);
    for (int line = 1; line <= 60; line++)
        pos +=
            (size_t)snprintf((char *)data + pos, 16384 - pos,
                             "line %02d: a backup sealed by coffer, format version 1, kept for good\n", line);
    for (int b = 0; b < 256; b++)
        data[pos++] = (unsigned char)b;
    for (int i = 0; i < 3000; i++) {
        x = x * 1664525u + 1013904223u;
        data[pos++] = (unsigned char)(x >> 24);
    }
    pos += (size_t)snprintf((char *)data + pos, 16384 - pos, "the end\n");
    *len = pos;
    return data;
}

/* With COFFER_WRITE_FORMAT_V1=1, writes the fixtures anew (the key file and
 * passphrase file only when missing). Never for format version 1 again once
 * committed: the point of the files is that they were written long ago. */
static void write_fixtures(void)
{
    char path[4096];
    struct cf_secret key, pass;
    struct cf_seal_params params = small_params(1024);
    struct mem_sink file;
    struct cf_error err;
    unsigned char *data;
    size_t len;
    cf_code rc;

    cf_error_init(&err);
    fixture_path(path, sizeof(path), "key");
    rc = cf_secret_generate_key_file(path, &err);
    assert_true(rc == CF_OK || rc == CF_E_CONFLICT);
    fixture_path(path, sizeof(path), "passphrase");
    if (access(path, F_OK) != 0)
        write_whole(path, FIXTURE_PASSPHRASE "\r\n", strlen(FIXTURE_PASSPHRASE) + 2);
    data = fixture_plaintext(&len);
    fixture_path(path, sizeof(path), "plaintext");
    write_whole(path, data, len);

    private_fixture("key", path, sizeof(path));
    assert_int_equal(cf_secret_load_key_file(path, &key, &err), CF_OK);
    unlink(path);
    seal_all(&key, &params, data, len, 0, &file);
    fixture_path(path, sizeof(path), "sealed-with-key.cfr");
    write_whole(path, file.buf.data, file.buf.len);
    cf_buf_dispose(&file.buf);

    private_fixture("passphrase", path, sizeof(path));
    assert_int_equal(cf_secret_load_passphrase_file(path, &pass, &err), CF_OK);
    unlink(path);
    /* Not the defaults, so that a reader which ignores the header's costs fails. */
    params.kdf_opslimit = 2;
    params.kdf_memlimit_kib = 8 * 1024;
    seal_all(&pass, &params, data, len, 0, &file);
    fixture_path(path, sizeof(path), "sealed-with-passphrase.cfr");
    write_whole(path, file.buf.data, file.buf.len);
    cf_buf_dispose(&file.buf);
    free(data);
    cf_secret_wipe(&key);
    cf_secret_wipe(&pass);
    cf_error_dispose(&err);
}

/* Opens a committed file with today's code and compares with the committed
 * plaintext: what proves that a file written then opens now. */
static void open_fixture(const char *sealed_name, const struct cf_secret *secret, size_t header_len)
{
    char path[4096];
    struct cf_buf sealed, plain;
    struct mem_sink file;
    size_t zlen = 0;

    fixture_path(path, sizeof(path), sealed_name);
    read_whole(path, &sealed);
    fixture_path(path, sizeof(path), "plaintext");
    read_whole(path, &plain);
    assert_true(cf_envelope_detect(sealed.data, sealed.len));
    assert_int_equal((unsigned char)sealed.data[8], 1);
    assert_true(walk_chunks((unsigned char *)sealed.data, sealed.len, header_len, NULL, 0, &zlen) >= 3);
    file.buf = sealed;
    assert_opens_to(secret, &file, 0, plain.data, plain.len);
    assert_opens_to(secret, &file, 1, plain.data, plain.len);
    cf_buf_dispose(&plain);
    cf_buf_dispose(&sealed);
}

static void test_fixture_key(void **state)
{
    char path[4096];
    struct cf_secret key;
    struct cf_error err;

    (void)state;
    cf_error_init(&err);
    if (getenv("COFFER_WRITE_FORMAT_V1") != NULL)
        write_fixtures();
    private_fixture("key", path, sizeof(path));
    assert_int_equal(cf_secret_load_key_file(path, &key, &err), CF_OK);
    unlink(path);
    open_fixture("sealed-with-key.cfr", &key, KEY_HEADER);
    cf_secret_wipe(&key);
    cf_error_dispose(&err);
}

static void test_fixture_passphrase(void **state)
{
    char path[4096];
    struct cf_secret pass;
    struct cf_error err;

    (void)state;
    cf_error_init(&err);
    private_fixture("passphrase", path, sizeof(path));
    assert_int_equal(cf_secret_load_passphrase_file(path, &pass, &err), CF_OK);
    unlink(path);
    assert_string_equal(pass.passphrase, FIXTURE_PASSPHRASE);
    open_fixture("sealed-with-passphrase.cfr", &pass, PASS_HEADER);
    cf_secret_wipe(&pass);
    cf_error_dispose(&err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_key),
        cmocka_unit_test(test_compressed_before_sealing),
        cmocka_unit_test(test_round_trip_passphrase),
        cmocka_unit_test(test_passphrase_defaults),
        cmocka_unit_test(test_many_chunks),
        cmocka_unit_test(test_chunk_edges),
        cmocka_unit_test(test_wrong_key),
        cmocka_unit_test(test_wrong_passphrase),
        cmocka_unit_test(test_key_kind_mismatch),
        cmocka_unit_test(test_every_flipped_byte_refused_key),
        cmocka_unit_test(test_every_flipped_byte_refused_passphrase),
        cmocka_unit_test(test_truncation_refused),
        cmocka_unit_test(test_trailing_data_refused),
        cmocka_unit_test(test_header_alteration_refused),
        cmocka_unit_test(test_absurd_values_refused),
        cmocka_unit_test(test_detect),
        cmocka_unit_test(test_sink_failure),
        cmocka_unit_test(test_misuse_refused),
        cmocka_unit_test(test_fixture_key),
        cmocka_unit_test(test_fixture_passphrase),
    };

    if (sodium_init() < 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
