#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "client/envelope.h"
#include "client/source.h"
#include "client/unseal.h"
#include "common/buf.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static cf_code to_buf(void *ctx, const void *data, size_t len, struct cf_error *err)
{
    (void)err;
    return cf_buf_append(ctx, data, len);
}

static struct cf_secret key_secret(unsigned char fill)
{
    struct cf_secret s;

    memset(&s, 0, sizeof(s));
    memset(s.key, fill, sizeof(s.key));
    return s;
}

/* Seals text through a cf_source reading a pipe, as coffer push does. */
static void seal(const char *text, const struct cf_secret *secret, struct cf_buf *out)
{
    struct cf_source *src = NULL;
    struct cf_error err;
    char block[1000];
    int fds[2];
    ssize_t got;

    cf_error_init(&err);
    assert_int_equal(pipe(fds), 0);
    assert_int_equal(write(fds[1], text, strlen(text)), (ssize_t)strlen(text));
    close(fds[1]);
    assert_int_equal(cf_source_new(fds[0], NULL, secret, 3, &src, &err), CF_OK);
    while ((got = cf_source_read(src, block, sizeof(block), &err)) > 0)
        assert_int_equal(cf_buf_append(out, block, (size_t)got), CF_OK);
    assert_int_equal(got, 0);
    cf_source_free(src);
}

/* Pushes in through an unseal, in pieces of step bytes. */
static cf_code unseal(const struct cf_secret *secret, enum cf_unseal_mode mode, const struct cf_buf *in,
                      size_t step, struct cf_buf *out, bool *envelope, struct cf_error *err)
{
    struct cf_unseal *u = NULL;
    cf_code code = cf_unseal_new(secret, mode, to_buf, out, &u, err);

    for (size_t at = 0; code == CF_OK && at < in->len; at += step)
        code = cf_unseal_push(u, in->data + at, in->len - at < step ? in->len - at : step, err);
    if (code == CF_OK)
        code = cf_unseal_finish(u, err);
    if (u != NULL)
        *envelope = cf_unseal_is_envelope(u);
    cf_unseal_free(u);
    return code;
}

static void test_sealed_source_opens_again(void **state)
{
    struct cf_secret secret = key_secret(7);
    struct cf_buf sealed, opened;
    struct cf_error err;
    bool envelope = false;
    const size_t steps[] = {1, 5, 8, 9, 100000};

    (void)state;
    cf_error_init(&err);
    cf_buf_init(&sealed, 1 << 20);
    seal("the plaintext of a backup", &secret, &sealed);
    assert_true(cf_envelope_detect(sealed.data, sealed.len));
    assert_null(memmem(sealed.data, sealed.len, "plaintext", 9));
    for (size_t s = 0; s < sizeof(steps) / sizeof(steps[0]); s++) {
        cf_buf_init(&opened, 1 << 20);
        assert_int_equal(unseal(&secret, CF_UNSEAL_AUTO, &sealed, steps[s], &opened, &envelope, &err), CF_OK);
        assert_true(envelope);
        assert_int_equal(opened.len, strlen("the plaintext of a backup"));
        assert_memory_equal(opened.data, "the plaintext of a backup", opened.len);
        cf_buf_dispose(&opened);
    }
    cf_buf_dispose(&sealed);
}

static void test_plain_bytes_pass_through(void **state)
{
    struct cf_secret secret = key_secret(7);
    struct cf_buf plain, out;
    struct cf_error err;
    bool envelope = true;

    (void)state;
    cf_error_init(&err);
    cf_buf_init(&plain, 1024);
    cf_buf_init(&out, 1024);
    assert_int_equal(cf_buf_append(&plain, "short", 5), CF_OK);
    /* Shorter than the magic, with or without a secret. */
    assert_int_equal(unseal(&secret, CF_UNSEAL_AUTO, &plain, 1, &out, &envelope, &err), CF_OK);
    assert_false(envelope);
    assert_int_equal(out.len, 5);
    cf_buf_reset(&out);
    assert_int_equal(unseal(NULL, CF_UNSEAL_AUTO, &plain, 2, &out, &envelope, &err), CF_OK);
    assert_int_equal(out.len, 5);
    cf_buf_reset(&out);
    assert_int_equal(unseal(&secret, CF_UNSEAL_REQUIRE, &plain, 2, &out, &envelope, &err), CF_E_VALIDATION);
    assert_string_equal(err.message, "this is not an encrypted coffer backup (no envelope header)");
    assert_int_equal(out.len, 0);
    cf_buf_dispose(&plain);
    cf_buf_dispose(&out);
}

static void test_envelope_without_secret_passes_as_stored(void **state)
{
    struct cf_secret secret = key_secret(1);
    struct cf_buf sealed, out;
    struct cf_error err;
    bool envelope = false;

    (void)state;
    cf_error_init(&err);
    cf_buf_init(&sealed, 1 << 20);
    cf_buf_init(&out, 1 << 20);
    seal("x", &secret, &sealed);
    assert_int_equal(unseal(NULL, CF_UNSEAL_AUTO, &sealed, 3, &out, &envelope, &err), CF_OK);
    assert_true(envelope);
    assert_int_equal(out.len, sealed.len);
    assert_memory_equal(out.data, sealed.data, sealed.len);
    assert_int_equal(unseal(NULL, CF_UNSEAL_REQUIRE, &sealed, 3, &out, &envelope, &err), CF_E_VALIDATION);
    cf_buf_dispose(&sealed);
    cf_buf_dispose(&out);
}

static void test_wrong_key_and_damage_are_integrity_failures(void **state)
{
    struct cf_secret secret = key_secret(1), other = key_secret(2);
    struct cf_buf sealed, out;
    struct cf_error err;
    bool envelope = false;

    (void)state;
    cf_error_init(&err);
    cf_buf_init(&sealed, 1 << 20);
    cf_buf_init(&out, 1 << 20);
    seal("some plaintext", &secret, &sealed);
    assert_int_equal(unseal(&other, CF_UNSEAL_AUTO, &sealed, 64, &out, &envelope, &err),
                     CF_E_CHECKSUM_MISMATCH);
    assert_int_equal(out.len, 0);
    sealed.data[sealed.len - 3] ^= 1;
    assert_int_equal(unseal(&secret, CF_UNSEAL_AUTO, &sealed, 64, &out, &envelope, &err),
                     CF_E_CHECKSUM_MISMATCH);
    sealed.data[sealed.len - 3] ^= 1;
    sealed.len -= 5;
    assert_int_equal(unseal(&secret, CF_UNSEAL_AUTO, &sealed, 64, &out, &envelope, &err),
                     CF_E_CHECKSUM_MISMATCH);
    cf_buf_dispose(&sealed);
    cf_buf_dispose(&out);
}

/* An unlinked temporary file holding len bytes of data, at offset 0. */
static int temp_holding(const void *data, size_t len)
{
    char path[] = "/tmp/coffer-test-unseal-XXXXXX";
    int fd = mkstemp(path);

    assert_true(fd >= 0);
    unlink(path);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
    return fd;
}

static void test_fd_is_read_to_its_end(void **state)
{
    struct cf_secret secret = key_secret(4);
    struct cf_buf sealed, out;
    struct cf_unseal *u = NULL;
    struct cf_error err;
    size_t big = 600 * 1024; /* more than one read */
    unsigned char *plain = malloc(big);
    int fd;

    (void)state;
    cf_error_init(&err);
    assert_non_null(plain);
    for (size_t i = 0; i < big; i++)
        plain[i] = (unsigned char)(i * 7 + i / 1000);
    cf_buf_init(&out, 1 << 21);
    fd = temp_holding(plain, big);
    assert_int_equal(cf_unseal_new(NULL, CF_UNSEAL_AUTO, to_buf, &out, &u, &err), CF_OK);
    assert_int_equal(cf_unseal_fd(u, fd, "the file", &err), CF_OK);
    assert_int_equal(out.len, big);
    assert_memory_equal(out.data, plain, big);
    cf_unseal_free(u);
    close(fd);

    cf_buf_init(&sealed, 1 << 20);
    cf_buf_reset(&out);
    seal("opened from a file", &secret, &sealed);
    fd = temp_holding(sealed.data, sealed.len);
    assert_int_equal(cf_unseal_new(&secret, CF_UNSEAL_REQUIRE, to_buf, &out, &u, &err), CF_OK);
    assert_int_equal(cf_unseal_fd(u, fd, "the file", &err), CF_OK);
    assert_int_equal(out.len, strlen("opened from a file"));
    assert_memory_equal(out.data, "opened from a file", out.len);
    cf_unseal_free(u);
    close(fd);
    free(plain);
    cf_buf_dispose(&sealed);
    cf_buf_dispose(&out);
}

static void test_fd_cut_short_is_an_integrity_failure(void **state)
{
    struct cf_secret secret = key_secret(4);
    struct cf_buf sealed, out;
    struct cf_unseal *u = NULL;
    struct cf_error err;
    int fd;

    (void)state;
    cf_error_init(&err);
    cf_buf_init(&sealed, 1 << 20);
    cf_buf_init(&out, 1 << 20);
    seal("cut short", &secret, &sealed);
    /* The end of the file is the end of the stream: finish sees the missing last chunk. */
    fd = temp_holding(sealed.data, sealed.len - 5);
    assert_int_equal(cf_unseal_new(&secret, CF_UNSEAL_REQUIRE, to_buf, &out, &u, &err), CF_OK);
    assert_int_equal(cf_unseal_fd(u, fd, "the file", &err), CF_E_CHECKSUM_MISMATCH);
    cf_unseal_free(u);
    close(fd);
    cf_buf_dispose(&sealed);
    cf_buf_dispose(&out);
    cf_error_dispose(&err);
}

static void test_fd_read_error_names_what_was_read(void **state)
{
    struct cf_buf out;
    struct cf_unseal *u = NULL;
    struct cf_error err;
    int fd = open("/", O_RDONLY | O_DIRECTORY); /* read() on it fails with EISDIR */

    (void)state;
    cf_error_init(&err);
    cf_buf_init(&out, 1024);
    assert_true(fd >= 0);
    assert_int_equal(cf_unseal_new(NULL, CF_UNSEAL_AUTO, to_buf, &out, &u, &err), CF_OK);
    assert_int_equal(cf_unseal_fd(u, fd, "the temporary file", &err), CF_E_IO);
    assert_string_equal(err.message, "cannot read the temporary file: Is a directory");
    assert_int_equal(cf_unseal_fd(u, fd, NULL, &err), CF_E_IO);
    assert_string_equal(err.message, "cannot read: Is a directory");
    assert_int_equal(out.len, 0);
    cf_unseal_free(u);
    close(fd);
    cf_buf_dispose(&out);
    cf_error_dispose(&err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sealed_source_opens_again),
        cmocka_unit_test(test_plain_bytes_pass_through),
        cmocka_unit_test(test_envelope_without_secret_passes_as_stored),
        cmocka_unit_test(test_wrong_key_and_damage_are_integrity_failures),
        cmocka_unit_test(test_fd_is_read_to_its_end),
        cmocka_unit_test(test_fd_cut_short_is_an_integrity_failure),
        cmocka_unit_test(test_fd_read_error_names_what_was_read),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
