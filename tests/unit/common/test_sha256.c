#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common/sha256.h"

#include <string.h>

static void digest_of(const void *data, size_t len, char hex[CF_SHA256_HEX_LEN + 1])
{
    struct cf_sha256 *h = cf_sha256_new();

    assert_non_null(h);
    cf_sha256_update(h, data, len);
    cf_sha256_final_hex(h, hex);
    cf_sha256_free(h);
}

static void test_empty_input_vector(void **state)
{
    char hex[CF_SHA256_HEX_LEN + 1];

    digest_of("", 0, hex);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void test_abc_vector(void **state)
{
    char hex[CF_SHA256_HEX_LEN + 1];

    digest_of("abc", 3, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void test_two_block_vector(void **state)
{
    const char *text = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    char hex[CF_SHA256_HEX_LEN + 1];

    digest_of(text, strlen(text), hex);
    assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

static void test_streaming_in_pieces_equals_one_shot(void **state)
{
    static unsigned char data[100003];
    char whole[CF_SHA256_HEX_LEN + 1];
    char pieces[CF_SHA256_HEX_LEN + 1];
    struct cf_sha256 *h;
    size_t offset = 0;
    size_t step = 1;

    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (unsigned char)(i * 31 + 7);
    digest_of(data, sizeof(data), whole);

    h = cf_sha256_new();
    assert_non_null(h);
    /* Uneven piece sizes cross the 64-byte block boundary in every way. */
    while (offset < sizeof(data)) {
        size_t n = step < sizeof(data) - offset ? step : sizeof(data) - offset;
        cf_sha256_update(h, data + offset, n);
        cf_sha256_update(h, data + offset + n, 0);
        offset += n;
        step = step * 3 % 997 + 1;
    }
    cf_sha256_final_hex(h, pieces);
    cf_sha256_free(h);
    assert_string_equal(pieces, whole);
}

static void test_free_null_is_noop(void **state)
{
    cf_sha256_free(NULL);
}

static void test_hex_valid_accepts_64_hex_digits(void **state)
{
    assert_true(cf_sha256_hex_valid("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
    assert_true(cf_sha256_hex_valid("E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"));
    assert_true(cf_sha256_hex_valid("0123456789abcdefABCDEF0123456789abcdefABCDEF0123456789abcdef0123"));
}

static void test_hex_valid_refuses_wrong_length(void **state)
{
    assert_false(cf_sha256_hex_valid(""));
    assert_false(cf_sha256_hex_valid("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85"));
    assert_false(cf_sha256_hex_valid("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b8550"));
    assert_false(cf_sha256_hex_valid(NULL));
}

static void test_hex_valid_refuses_non_hex(void **state)
{
    assert_false(cf_sha256_hex_valid("g3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
    assert_false(cf_sha256_hex_valid("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85 "));
    assert_false(cf_sha256_hex_valid("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85-"));
    assert_false(cf_sha256_hex_valid("0xb0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_input_vector),
        cmocka_unit_test(test_abc_vector),
        cmocka_unit_test(test_two_block_vector),
        cmocka_unit_test(test_streaming_in_pieces_equals_one_shot),
        cmocka_unit_test(test_free_null_is_noop),
        cmocka_unit_test(test_hex_valid_accepts_64_hex_digits),
        cmocka_unit_test(test_hex_valid_refuses_wrong_length),
        cmocka_unit_test(test_hex_valid_refuses_non_hex),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
