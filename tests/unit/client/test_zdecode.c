#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "client/zdecode.h"
#include "common/buf.h"
#include "common/zstream.h"

#include <stdlib.h>
#include <string.h>

static cf_code to_buf(void *ctx, const void *data, size_t len, struct cf_error *err)
{
    (void)err;
    return cf_buf_append(ctx, data, len);
}

/* Compresses n bytes the way cofferd stores them: seekable frames and a seek table. */
static void compress(const unsigned char *in, size_t n, struct cf_buf *out)
{
    struct cf_zcompressor *zc = cf_zcompressor_new(3, 0, to_buf, out);
    struct cf_error err;

    cf_error_init(&err);
    assert_non_null(zc);
    cf_zcompressor_set_seekable(zc, 64 * 1024);
    assert_int_equal(cf_zcompressor_push(zc, in, n, &err), CF_OK);
    assert_int_equal(cf_zcompressor_finish(zc, &err), CF_OK);
    cf_zcompressor_free(zc);
}

static unsigned char *sample(size_t n)
{
    unsigned char *data = malloc(n);

    assert_non_null(data);
    for (size_t i = 0; i < n; i++)
        data[i] = (unsigned char)((i * 7) ^ (i >> 9));
    return data;
}

static void test_round_trip_in_pieces_of_any_size(void **state)
{
    const size_t n = 1000000;
    unsigned char *data = sample(n);
    const size_t steps[] = {1, 3, 4096, 65536, 10000000};
    struct cf_buf packed, unpacked;
    struct cf_error err;

    (void)state;
    cf_error_init(&err);
    cf_buf_init(&packed, 64 * 1024 * 1024);
    compress(data, n, &packed);
    for (size_t s = 0; s < sizeof(steps) / sizeof(steps[0]); s++) {
        struct cf_zdecode *zd;
        cf_buf_init(&unpacked, 64 * 1024 * 1024);
        zd = cf_zdecode_new(to_buf, &unpacked);
        assert_non_null(zd);
        for (size_t at = 0; at < packed.len; at += steps[s]) {
            size_t len = packed.len - at < steps[s] ? packed.len - at : steps[s];
            assert_int_equal(cf_zdecode_push(zd, packed.data + at, len, &err), CF_OK);
        }
        assert_int_equal(cf_zdecode_finish(zd, &err), CF_OK);
        assert_int_equal(unpacked.len, n);
        assert_memory_equal(unpacked.data, data, n);
        /* After a reset the same decoder takes a new stream. */
        cf_buf_reset(&unpacked);
        cf_zdecode_reset(zd);
        assert_int_equal(cf_zdecode_push(zd, packed.data, packed.len, &err), CF_OK);
        assert_int_equal(cf_zdecode_finish(zd, &err), CF_OK);
        assert_int_equal(unpacked.len, n);
        cf_zdecode_free(zd);
        cf_buf_dispose(&unpacked);
    }
    cf_buf_dispose(&packed);
    free(data);
}

static void test_cut_short_or_damaged_is_an_integrity_failure(void **state)
{
    const size_t n = 300000;
    unsigned char *data = sample(n);
    struct cf_buf packed, unpacked;
    struct cf_zdecode *zd;
    struct cf_error err;

    (void)state;
    cf_error_init(&err);
    cf_buf_init(&packed, 64 * 1024 * 1024);
    cf_buf_init(&unpacked, 64 * 1024 * 1024);
    compress(data, n, &packed);

    zd = cf_zdecode_new(to_buf, &unpacked);
    assert_int_equal(cf_zdecode_push(zd, packed.data, packed.len / 2, &err), CF_OK);
    assert_int_equal(cf_zdecode_finish(zd, &err), CF_E_CHECKSUM_MISMATCH);
    assert_string_equal(err.message, "the downloaded data ends inside a zstd frame (cut short)");
    cf_zdecode_free(zd);

    zd = cf_zdecode_new(to_buf, &unpacked);
    assert_int_equal(cf_zdecode_push(zd, "not zstd at all", 15, &err), CF_E_CHECKSUM_MISMATCH);
    cf_zdecode_free(zd);

    zd = cf_zdecode_new(to_buf, &unpacked);
    assert_int_equal(cf_zdecode_finish(zd, &err), CF_E_CHECKSUM_MISMATCH);
    assert_string_equal(err.message, "the downloaded data is empty");
    cf_zdecode_free(zd);

    cf_buf_dispose(&packed);
    cf_buf_dispose(&unpacked);
    free(data);
}

static cf_code refuse(void *ctx, const void *data, size_t len, struct cf_error *err)
{
    (void)ctx;
    (void)data;
    (void)len;
    return cf_fail(err, CF_E_IO, "disk full");
}

static void test_sink_errors_come_back_as_they_are(void **state)
{
    unsigned char *data = sample(1000);
    struct cf_buf packed;
    struct cf_zdecode *zd;
    struct cf_error err;

    (void)state;
    cf_error_init(&err);
    cf_buf_init(&packed, 1024 * 1024);
    compress(data, 1000, &packed);
    zd = cf_zdecode_new(refuse, NULL);
    assert_int_equal(cf_zdecode_push(zd, packed.data, packed.len, &err), CF_E_IO);
    assert_string_equal(err.message, "disk full");
    cf_zdecode_free(zd);
    cf_zdecode_free(NULL);
    cf_buf_dispose(&packed);
    free(data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_in_pieces_of_any_size),
        cmocka_unit_test(test_cut_short_or_damaged_is_an_integrity_failure),
        cmocka_unit_test(test_sink_errors_come_back_as_they_are),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
