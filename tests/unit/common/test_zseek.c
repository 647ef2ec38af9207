/* Seekable streams: independent frames every frame_size bytes of input and
 * the seek table at the end (common/zstream.h). */
#include "common/zstream.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <zstd.h>

struct sink {
    unsigned char *data;
    size_t len, cap;
};

static cf_code sink_write(void *ctx, const void *data, size_t len, struct cf_error *err)
{
    struct sink *s = ctx;

    (void)err;
    if (s->len + len > s->cap) {
        s->cap = (s->len + len) * 2;
        s->data = realloc(s->data, s->cap);
    }
    memcpy(s->data + s->len, data, len);
    s->len += len;
    return CF_OK;
}

/* Compresses n bytes of varied text with frames of frame_size bytes. */
static struct sink compress(size_t n, uint64_t frame_size, unsigned char **original)
{
    struct sink out = {0};
    struct cf_zcompressor *zc = cf_zcompressor_new(3, 0, sink_write, &out);
    unsigned char *data = malloc(n);

    for (size_t i = 0; i < n; i++)
        data[i] = (unsigned char)("0123456789abcdef"[(i * 7 + i / 13) % 16]);
    cf_zcompressor_set_seekable(zc, frame_size);
    /* Pushed in odd pieces, so that pieces straddle frame boundaries. */
    for (size_t at = 0; at < n; at += 777)
        assert_int_equal(cf_zcompressor_push(zc, data + at, n - at < 777 ? n - at : 777, NULL), CF_OK);
    assert_int_equal(cf_zcompressor_finish(zc, NULL), CF_OK);
    assert_int_equal(cf_zcompressor_out_bytes(zc), out.len);
    cf_zcompressor_free(zc);
    *original = data;
    return out;
}

static struct cf_zframe *table_of(const struct sink *s, size_t original_size, uint32_t *nframes)
{
    struct cf_zframe *frames;
    struct cf_error err;

    assert_true(cf_zseek_trailer(s->data + s->len - CF_ZSEEK_TRAILER, nframes));
    frames = calloc(*nframes, sizeof(*frames));
    cf_error_init(&err);
    assert_int_equal(cf_zseek_parse(s->data + s->len - CF_ZSEEK_TRAILER - (size_t)*nframes * CF_ZSEEK_ENTRY,
                                    *nframes, s->len, original_size, frames, &err),
                     CF_OK);
    return frames;
}

static void test_frames_every_frame_size_and_a_partial_last(void **state)
{
    unsigned char *original;
    struct sink s = compress(10500, 1000, &original);
    uint32_t nframes;
    struct cf_zframe *frames = table_of(&s, 10500, &nframes);

    (void)state;
    assert_int_equal(nframes, 11);
    assert_int_equal(frames[0].original_end, 1000);
    assert_int_equal(frames[9].original_end, 10000);
    assert_int_equal(frames[10].original_end, 10500);
    free(frames);
    free(original);
    free(s.data);
}

static void test_each_frame_decodes_on_its_own(void **state)
{
    unsigned char *original;
    struct sink s = compress(5000, 1000, &original);
    uint32_t nframes;
    struct cf_zframe *frames = table_of(&s, 5000, &nframes);
    unsigned char out[1000];

    (void)state;
    for (uint32_t i = 0; i < nframes; i++) {
        uint64_t cstart = i == 0 ? 0 : frames[i - 1].compressed_end;
        uint64_t ostart = i == 0 ? 0 : frames[i - 1].original_end;
        size_t got = ZSTD_decompress(out, sizeof(out), s.data + cstart, frames[i].compressed_end - cstart);
        assert_false(ZSTD_isError(got));
        assert_int_equal(got, frames[i].original_end - ostart);
        assert_memory_equal(out, original + ostart, got);
    }
    free(frames);
    free(original);
    free(s.data);
}

static void test_find_returns_the_frame_holding_an_offset(void **state)
{
    struct cf_zframe frames[] = {{10, 100}, {20, 200}, {30, 250}};

    (void)state;
    assert_int_equal(cf_zseek_find(frames, 3, 0), 0);
    assert_int_equal(cf_zseek_find(frames, 3, 99), 0);
    assert_int_equal(cf_zseek_find(frames, 3, 100), 1);
    assert_int_equal(cf_zseek_find(frames, 3, 199), 1);
    assert_int_equal(cf_zseek_find(frames, 3, 200), 2);
    assert_int_equal(cf_zseek_find(frames, 3, 249), 2);
    assert_int_equal(cf_zseek_find(frames, 1, 5), 0);
}

static void test_a_damaged_table_is_refused(void **state)
{
    unsigned char *original;
    struct sink s = compress(3000, 1000, &original);
    uint32_t nframes;
    struct cf_zframe frames[3];
    struct cf_error err;
    unsigned char *entries;

    (void)state;
    assert_true(cf_zseek_trailer(s.data + s.len - CF_ZSEEK_TRAILER, &nframes));
    entries = s.data + s.len - CF_ZSEEK_TRAILER - (size_t)nframes * CF_ZSEEK_ENTRY;
    cf_error_init(&err);
    /* Sizes that do not match the stream. */
    assert_int_equal(cf_zseek_parse(entries, nframes, s.len, 2999, frames, &err), CF_E_IO);
    assert_non_null(strstr(err.message, "sizes"));
    /* Frames out of order. */
    entries[CF_ZSEEK_ENTRY] = 0;
    entries[CF_ZSEEK_ENTRY + 1] = 0;
    assert_int_equal(cf_zseek_parse(entries, nframes, s.len, 3000, frames, &err), CF_E_IO);
    assert_non_null(strstr(err.message, "does not follow"));
    free(original);
    free(s.data);
}

static void test_a_plain_stream_has_no_table(void **state)
{
    struct sink out = {0};
    struct cf_zcompressor *zc = cf_zcompressor_new(3, 0, sink_write, &out);
    uint32_t nframes = 7;

    (void)state;
    assert_int_equal(cf_zcompressor_push(zc, "hello, hello, hello", 19, NULL), CF_OK);
    assert_int_equal(cf_zcompressor_finish(zc, NULL), CF_OK);
    assert_true(out.len >= CF_ZSEEK_TRAILER);
    assert_false(cf_zseek_trailer(out.data + out.len - CF_ZSEEK_TRAILER, &nframes));
    cf_zcompressor_free(zc);
    free(out.data);
}

static void test_input_ending_on_a_boundary_adds_no_empty_frame(void **state)
{
    unsigned char *original;
    struct sink s = compress(3000, 1000, &original);
    uint32_t nframes;
    struct cf_zframe *frames = table_of(&s, 3000, &nframes);

    (void)state;
    assert_int_equal(nframes, 3);
    free(frames);
    free(original);
    free(s.data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_frames_every_frame_size_and_a_partial_last),
        cmocka_unit_test(test_each_frame_decodes_on_its_own),
        cmocka_unit_test(test_find_returns_the_frame_holding_an_offset),
        cmocka_unit_test(test_a_damaged_table_is_refused),
        cmocka_unit_test(test_a_plain_stream_has_no_table),
        cmocka_unit_test(test_input_ending_on_a_boundary_adds_no_empty_frame),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
