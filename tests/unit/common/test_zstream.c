#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common/buf.h"
#include "common/zstream.h"

#include <stdlib.h>
#include <string.h>

#define DATA_LEN (6 * 1024 * 1024 + 12345)
#define SINK_MAX (64 * 1024 * 1024)

/* A sink that collects everything, or refuses once it holds fail_after bytes. */
struct mem_sink {
    struct cf_buf buf;
    size_t fail_after;
    int calls;
};

static cf_code mem_sink_write(void *ctx, const void *data, size_t len, struct cf_error *err)
{
    struct mem_sink *sink = ctx;

    sink->calls++;
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
    sink->calls = 0;
}

/* A source over memory that hands out at most chunk bytes per call, or fails
 * with fail_code once fail_at bytes have been handed out. */
struct mem_source {
    const unsigned char *data;
    size_t len;
    size_t pos;
    size_t chunk;
    size_t fail_at;
    cf_code fail_code;
};

static ssize_t mem_source_read(void *ctx, void *buf, size_t cap, struct cf_error *err)
{
    struct mem_source *src = ctx;
    size_t n = src->len - src->pos;

    if (src->pos >= src->fail_at) {
        cf_fail(err, src->fail_code, "the backend went away");
        return -1;
    }
    if (n > cap)
        n = cap;
    if (n > src->chunk)
        n = src->chunk;
    memcpy(buf, src->data + src->pos, n);
    src->pos += n;
    return (ssize_t)n;
}

static void mem_source_init(struct mem_source *src, const void *data, size_t len, size_t chunk)
{
    src->data = data;
    src->len = len;
    src->pos = 0;
    src->chunk = chunk;
    src->fail_at = SIZE_MAX;
    src->fail_code = CF_OK;
}

/* Text-like data from a small vocabulary picked by an LCG: compressible, yet
 * without long exact repeats, so zstd has real work to do. */
static unsigned char *make_data(size_t len, uint32_t seed)
{
    static const char *const words[] = {"backup ", "coffer ", "version ", "collection ", "zstd ",
                                        "frame ",  "\n",      "0x1f ",    "sha256 ",     "block "};
    unsigned char *data = malloc(len);
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
        if ((x & 0xff) == 0 && pos < len)
            data[pos++] = (unsigned char)(x >> 24);
    }
    return data;
}

/* Compresses data in uneven pushes and returns the whole stream in sink. */
static void compress_all(const unsigned char *data, size_t len, int threads, struct mem_sink *sink)
{
    struct cf_error err;
    struct cf_zcompressor *zc;
    size_t pos = 0;
    size_t step = 1;

    cf_error_init(&err);
    mem_sink_init(sink);
    zc = cf_zcompressor_new(3, threads, mem_sink_write, sink);
    assert_non_null(zc);
    while (pos < len) {
        size_t n = step < len - pos ? step : len - pos;
        assert_int_equal(cf_zcompressor_push(zc, data + pos, n, &err), CF_OK);
        pos += n;
        step = step * 7 % 300007 + 1;
    }
    assert_int_equal(cf_zcompressor_finish(zc, &err), CF_OK);
    assert_true(cf_zcompressor_out_bytes(zc) == sink->buf.len);
    cf_zcompressor_free(zc);
    cf_error_dispose(&err);
}

/* Reads the whole stream back with reads of varying sizes up to max_read. */
static void assert_decompresses_to(const void *compressed, size_t compressed_len, size_t source_chunk,
                                   size_t max_read, const unsigned char *expected, size_t expected_len)
{
    struct cf_error err;
    struct mem_source src;
    struct cf_zdecompressor *zd;
    unsigned char *out = malloc(expected_len + max_read);
    size_t got = 0;
    size_t want = 1;
    ssize_t n;

    assert_non_null(out);
    cf_error_init(&err);
    mem_source_init(&src, compressed, compressed_len, source_chunk);
    zd = cf_zdecompressor_new(mem_source_read, &src);
    assert_non_null(zd);
    for (;;) {
        n = cf_zdecompressor_read(zd, out + got, want, &err);
        if (n <= 0)
            break;
        assert_true((size_t)n <= want);
        got += (size_t)n;
        assert_true(got <= expected_len);
        want = want % max_read + 1;
    }
    assert_int_equal(n, 0);
    assert_int_equal(err.code, CF_OK);
    /* The end stays the end. */
    assert_int_equal(cf_zdecompressor_read(zd, out, 1, &err), 0);
    assert_true(got == expected_len);
    if (expected_len > 0)
        assert_memory_equal(out, expected, expected_len);
    cf_zdecompressor_free(zd);
    cf_error_dispose(&err);
    free(out);
}

static void test_round_trip_single_thread(void **state)
{
    unsigned char *data = make_data(DATA_LEN, 1);
    struct mem_sink sink;

    compress_all(data, DATA_LEN, 0, &sink);
    assert_true(sink.buf.len < DATA_LEN / 3);
    /* Tiny reads, then large ones. */
    assert_decompresses_to(sink.buf.data, sink.buf.len, SIZE_MAX, 13, data, DATA_LEN);
    assert_decompresses_to(sink.buf.data, sink.buf.len, SIZE_MAX, 1024 * 1024, data, DATA_LEN);
    cf_buf_dispose(&sink.buf);
    free(data);
}

static void test_round_trip_with_workers(void **state)
{
    unsigned char *data = make_data(DATA_LEN, 2);
    struct mem_sink sink;

    compress_all(data, DATA_LEN, 2, &sink);
    assert_true(sink.buf.len < DATA_LEN / 3);
    assert_decompresses_to(sink.buf.data, sink.buf.len, SIZE_MAX, 7, data, DATA_LEN);
    assert_decompresses_to(sink.buf.data, sink.buf.len, SIZE_MAX, 3 * 1024 * 1024, data, DATA_LEN);
    cf_buf_dispose(&sink.buf);
    free(data);
}

static void test_source_giving_few_bytes_at_a_time(void **state)
{
    size_t len = 300000;
    unsigned char *data = make_data(len, 3);
    struct mem_sink sink;

    compress_all(data, len, 0, &sink);
    assert_decompresses_to(sink.buf.data, sink.buf.len, 1, 4096, data, len);
    assert_decompresses_to(sink.buf.data, sink.buf.len, 5, 1, data, len);
    cf_buf_dispose(&sink.buf);
    free(data);
}

static void test_frame_carries_checksum(void **state)
{
    struct mem_sink sink;

    compress_all((const unsigned char *)"hello", 5, 0, &sink);
    assert_true(sink.buf.len > 5);
    /* Magic number 0xFD2FB528, then the frame header descriptor whose bit 2
     * is the Content_Checksum_flag. */
    assert_memory_equal(sink.buf.data, "\x28\xb5\x2f\xfd", 4);
    assert_true((sink.buf.data[4] & 0x04) != 0);
    cf_buf_dispose(&sink.buf);
}

static void test_empty_input_round_trips_to_empty(void **state)
{
    struct mem_sink sink;

    compress_all(NULL, 0, 0, &sink);
    assert_true(sink.buf.len > 0);
    assert_decompresses_to(sink.buf.data, sink.buf.len, SIZE_MAX, 100, NULL, 0);
    cf_buf_dispose(&sink.buf);

    compress_all(NULL, 0, 2, &sink);
    assert_decompresses_to(sink.buf.data, sink.buf.len, SIZE_MAX, 100, NULL, 0);
    cf_buf_dispose(&sink.buf);
}

static void test_concatenated_frames_read_as_one_stream(void **state)
{
    size_t len_a = 500000;
    size_t len_b = 70001;
    unsigned char *a = make_data(len_a, 4);
    unsigned char *b = make_data(len_b, 5);
    unsigned char *both = malloc(len_a + len_b);
    struct mem_sink sink_a;
    struct mem_sink sink_b;
    struct mem_sink sink_empty;

    assert_non_null(both);
    memcpy(both, a, len_a);
    memcpy(both + len_a, b, len_b);
    compress_all(a, len_a, 0, &sink_a);
    compress_all(NULL, 0, 0, &sink_empty);
    compress_all(b, len_b, 2, &sink_b);
    /* a, an empty frame, then b. */
    assert_int_equal(cf_buf_append(&sink_a.buf, sink_empty.buf.data, sink_empty.buf.len), CF_OK);
    assert_int_equal(cf_buf_append(&sink_a.buf, sink_b.buf.data, sink_b.buf.len), CF_OK);
    assert_decompresses_to(sink_a.buf.data, sink_a.buf.len, SIZE_MAX, 65536, both, len_a + len_b);
    assert_decompresses_to(sink_a.buf.data, sink_a.buf.len, 3, 11, both, len_a + len_b);
    cf_buf_dispose(&sink_a.buf);
    cf_buf_dispose(&sink_b.buf);
    cf_buf_dispose(&sink_empty.buf);
    free(both);
    free(b);
    free(a);
}

/* Reads everything and returns the final result; stores the error in err. */
static ssize_t drain(const void *compressed, size_t len, struct cf_error *err)
{
    static unsigned char out[65536];
    struct mem_source src;
    struct cf_zdecompressor *zd;
    ssize_t n;

    mem_source_init(&src, compressed, len, SIZE_MAX);
    zd = cf_zdecompressor_new(mem_source_read, &src);
    assert_non_null(zd);
    do {
        n = cf_zdecompressor_read(zd, out, sizeof(out), err);
    } while (n > 0);
    if (n < 0) {
        /* A failed stream stays failed. */
        assert_int_equal(cf_zdecompressor_read(zd, out, sizeof(out), NULL), -1);
    }
    cf_zdecompressor_free(zd);
    return n;
}

static void test_truncated_input_is_an_error(void **state)
{
    size_t len = 400000;
    unsigned char *data = make_data(len, 6);
    struct mem_sink sink;
    const size_t cuts[] = {1, 4, 6, 100, 0, 0, 0};
    size_t ncuts = sizeof(cuts) / sizeof(cuts[0]);
    struct cf_error err;

    compress_all(data, len, 0, &sink);
    for (size_t i = 0; i < ncuts; i++) {
        /* The zero entries stand for: half, all but the checksum, all but one byte. */
        size_t cut = cuts[i] != 0 ? cuts[i] : (i == 4 ? sink.buf.len / 2 : sink.buf.len - (i == 5 ? 4 : 1));

        cf_error_init(&err);
        assert_int_equal(drain(sink.buf.data, cut, &err), -1);
        assert_int_equal(err.code, CF_E_IO);
        assert_string_equal(err.message,
                            "the compressed data is truncated: it ends in the middle of a frame");
        cf_error_dispose(&err);
    }
    cf_buf_dispose(&sink.buf);
    free(data);
}

static void test_truncated_second_frame_is_an_error(void **state)
{
    struct mem_sink one;
    struct mem_sink two;
    struct cf_error err;

    compress_all((const unsigned char *)"first", 5, 0, &one);
    compress_all((const unsigned char *)"second", 6, 0, &two);
    assert_int_equal(cf_buf_append(&one.buf, two.buf.data, two.buf.len - 2), CF_OK);
    cf_error_init(&err);
    assert_int_equal(drain(one.buf.data, one.buf.len, &err), -1);
    assert_int_equal(err.code, CF_E_IO);
    assert_string_equal(err.message, "the compressed data is truncated: it ends in the middle of a frame");
    cf_error_dispose(&err);
    cf_buf_dispose(&one.buf);
    cf_buf_dispose(&two.buf);
}

static void test_empty_source_is_an_error(void **state)
{
    struct cf_error err;

    cf_error_init(&err);
    assert_int_equal(drain("", 0, &err), -1);
    assert_int_equal(err.code, CF_E_IO);
    assert_string_equal(err.message, "the compressed data is empty: not even one zstd frame");
    cf_error_dispose(&err);
}

static void test_corrupt_input_is_an_error(void **state)
{
    size_t len = 200000;
    unsigned char *data = make_data(len, 7);
    struct mem_sink sink;
    struct cf_error err;
    const char *prefix = "the compressed data is corrupt: ";

    compress_all(data, len, 0, &sink);
    sink.buf.data[sink.buf.len / 2] ^= 0x5a;
    cf_error_init(&err);
    assert_int_equal(drain(sink.buf.data, sink.buf.len, &err), -1);
    assert_int_equal(err.code, CF_E_IO);
    assert_true(strncmp(err.message, prefix, strlen(prefix)) == 0);
    cf_error_dispose(&err);

    cf_error_init(&err);
    assert_int_equal(drain("this is not zstd at all", 23, &err), -1);
    assert_int_equal(err.code, CF_E_IO);
    assert_true(strncmp(err.message, prefix, strlen(prefix)) == 0);
    cf_error_dispose(&err);
    cf_buf_dispose(&sink.buf);
    free(data);
}

static void test_sink_error_propagates(void **state)
{
    size_t len = 2 * 1024 * 1024;
    unsigned char *data = make_data(len, 8);
    struct mem_sink sink;
    struct cf_error err;
    struct cf_zcompressor *zc;
    cf_code rc = CF_OK;

    mem_sink_init(&sink);
    sink.fail_after = 1000;
    cf_error_init(&err);
    zc = cf_zcompressor_new(1, 0, mem_sink_write, &sink);
    assert_non_null(zc);
    for (size_t pos = 0; pos < len && rc == CF_OK; pos += 65536)
        rc = cf_zcompressor_push(zc, data + pos, 65536, &err);
    if (rc == CF_OK)
        rc = cf_zcompressor_finish(zc, &err);
    assert_int_equal(rc, CF_E_STORAGE_FULL);
    assert_int_equal(err.code, CF_E_STORAGE_FULL);
    assert_string_equal(err.message, "disk full after 0 bytes");
    assert_true(cf_zcompressor_out_bytes(zc) == sink.buf.len);

    /* The stream is dead afterwards. */
    assert_int_equal(cf_zcompressor_push(zc, data, 10, &err), CF_E_INTERNAL);
    assert_string_equal(err.message, "the compressed stream already failed");
    assert_int_equal(cf_zcompressor_finish(zc, &err), CF_E_INTERNAL);
    assert_string_equal(err.message, "the compressed stream already failed");
    cf_zcompressor_free(zc);
    cf_error_dispose(&err);
    cf_buf_dispose(&sink.buf);
    free(data);
}

static void test_sink_error_on_finish_propagates(void **state)
{
    struct mem_sink sink;
    struct cf_error err;
    struct cf_zcompressor *zc;

    mem_sink_init(&sink);
    sink.fail_after = 0;
    cf_error_init(&err);
    zc = cf_zcompressor_new(3, 2, mem_sink_write, &sink);
    assert_non_null(zc);
    assert_int_equal(cf_zcompressor_push(zc, "abc", 3, &err), CF_OK);
    assert_int_equal(cf_zcompressor_finish(zc, &err), CF_E_STORAGE_FULL);
    assert_string_equal(err.message, "disk full after 0 bytes");
    assert_true(cf_zcompressor_out_bytes(zc) == 0);
    cf_zcompressor_free(zc);
    cf_error_dispose(&err);
    cf_buf_dispose(&sink.buf);
}

static cf_code silent_failing_sink(void *ctx, const void *data, size_t len, struct cf_error *err)
{
    return CF_E_IO;
}

static void test_sink_failing_without_message_gets_one(void **state)
{
    struct cf_error err;
    struct cf_zcompressor *zc = cf_zcompressor_new(3, 0, silent_failing_sink, NULL);

    assert_non_null(zc);
    cf_error_init(&err);
    assert_int_equal(cf_zcompressor_finish(zc, &err), CF_E_IO);
    assert_int_equal(err.code, CF_E_IO);
    assert_string_equal(err.message, "writing compressed data failed");
    cf_zcompressor_free(zc);
    cf_error_dispose(&err);
}

static void test_source_error_propagates(void **state)
{
    size_t len = 1024 * 1024;
    unsigned char *data = make_data(len, 9);
    struct mem_sink sink;
    struct mem_source src;
    struct cf_error err;
    struct cf_zdecompressor *zd;
    unsigned char out[4096];
    ssize_t n;

    compress_all(data, len, 0, &sink);
    mem_source_init(&src, sink.buf.data, sink.buf.len, 1000);
    src.fail_at = 3000;
    src.fail_code = CF_E_STORAGE_UNAVAILABLE;
    zd = cf_zdecompressor_new(mem_source_read, &src);
    assert_non_null(zd);
    cf_error_init(&err);
    do {
        n = cf_zdecompressor_read(zd, out, sizeof(out), &err);
    } while (n > 0);
    assert_int_equal(n, -1);
    assert_int_equal(err.code, CF_E_STORAGE_UNAVAILABLE);
    assert_string_equal(err.message, "the backend went away");
    cf_zdecompressor_free(zd);
    cf_error_dispose(&err);
    cf_buf_dispose(&sink.buf);
    free(data);
}

static void test_push_after_finish_is_refused(void **state)
{
    struct mem_sink sink;
    struct cf_error err;
    struct cf_zcompressor *zc;

    mem_sink_init(&sink);
    cf_error_init(&err);
    zc = cf_zcompressor_new(3, 0, mem_sink_write, &sink);
    assert_non_null(zc);
    assert_int_equal(cf_zcompressor_push(zc, "abc", 3, &err), CF_OK);
    assert_int_equal(cf_zcompressor_finish(zc, &err), CF_OK);
    assert_int_equal(cf_zcompressor_push(zc, "def", 3, &err), CF_E_INTERNAL);
    assert_string_equal(err.message, "data pushed after the compressed stream was finished");
    assert_int_equal(cf_zcompressor_finish(zc, &err), CF_E_INTERNAL);
    assert_string_equal(err.message, "the compressed stream was already finished");
    cf_zcompressor_free(zc);
    cf_error_dispose(&err);
    cf_buf_dispose(&sink.buf);
}

static void test_read_without_room_is_refused(void **state)
{
    struct mem_source src;
    struct cf_error err;
    struct cf_zdecompressor *zd;
    unsigned char out[1];

    mem_source_init(&src, "", 0, SIZE_MAX);
    zd = cf_zdecompressor_new(mem_source_read, &src);
    assert_non_null(zd);
    cf_error_init(&err);
    assert_int_equal(cf_zdecompressor_read(zd, out, 0, &err), -1);
    assert_int_equal(err.code, CF_E_INTERNAL);
    assert_string_equal(err.message, "reading decompressed data needs room for at least one byte");
    cf_zdecompressor_free(zd);
    cf_error_dispose(&err);
}

static void test_free_null_is_noop(void **state)
{
    cf_zcompressor_free(NULL);
    cf_zdecompressor_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_single_thread),
        cmocka_unit_test(test_round_trip_with_workers),
        cmocka_unit_test(test_source_giving_few_bytes_at_a_time),
        cmocka_unit_test(test_frame_carries_checksum),
        cmocka_unit_test(test_empty_input_round_trips_to_empty),
        cmocka_unit_test(test_concatenated_frames_read_as_one_stream),
        cmocka_unit_test(test_truncated_input_is_an_error),
        cmocka_unit_test(test_truncated_second_frame_is_an_error),
        cmocka_unit_test(test_empty_source_is_an_error),
        cmocka_unit_test(test_corrupt_input_is_an_error),
        cmocka_unit_test(test_sink_error_propagates),
        cmocka_unit_test(test_sink_error_on_finish_propagates),
        cmocka_unit_test(test_sink_failing_without_message_gets_one),
        cmocka_unit_test(test_source_error_propagates),
        cmocka_unit_test(test_push_after_finish_is_refused),
        cmocka_unit_test(test_read_without_room_is_refused),
        cmocka_unit_test(test_free_null_is_noop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
