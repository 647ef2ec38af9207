#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "client/secret.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A scratch directory per test, removed with what the test put in it. */
struct scratch {
    char dir[64];
    char path[128];
};

static int scratch_setup(void **state)
{
    struct scratch *s = calloc(1, sizeof(*s));

    if (s == NULL)
        return -1;
    snprintf(s->dir, sizeof(s->dir), "/tmp/coffer-test-secret.XXXXXX");
    if (mkdtemp(s->dir) == NULL) {
        free(s);
        return -1;
    }
    *state = s;
    return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int scratch_teardown(void **state)
{
    struct scratch *s = *state;
    /* Depth first and without following links: the test makes a dangling one. */
    int rc = nftw(s->dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);

    free(s);
    return rc;
}

static const char *at(struct scratch *s, const char *name)
{
    snprintf(s->path, sizeof(s->path), "%s/%s", s->dir, name);
    return s->path;
}

/* Writes a private file (mode 0600, whatever the umask), as secrets must be. */
static void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");

    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(chmod(path, 0600), 0);
}

static size_t read_file(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    size_t n;

    assert_non_null(f);
    n = fread(buf, 1, cap - 1, f);
    buf[n] = '\0';
    fclose(f);
    return n;
}

static bool all_zero(const void *p, size_t len)
{
    const unsigned char *b = p;

    for (size_t i = 0; i < len; i++) {
        if (b[i] != 0)
            return false;
    }
    return true;
}

/* Loads path as a key file and expects CF_E_VALIDATION with a message naming
 * the path and holding expect, and a wiped secret. */
static void assert_key_file_refused(const char *path, const char *expect)
{
    struct cf_secret secret;
    struct cf_error err;

    cf_error_init(&err);
    memset(&secret, 0xaa, sizeof(secret));
    assert_int_equal(cf_secret_load_key_file(path, &secret, &err), CF_E_VALIDATION);
    if (strstr(err.message, path) == NULL || strstr(err.message, expect) == NULL)
        fail_msg("message \"%s\" lacks the path or \"%s\"", err.message, expect);
    assert_true(all_zero(&secret, sizeof(secret)));
    cf_error_dispose(&err);
}

static void assert_passphrase_refused(const char *path, const char *expect)
{
    struct cf_secret secret;
    struct cf_error err;

    cf_error_init(&err);
    memset(&secret, 0xaa, sizeof(secret));
    assert_int_equal(cf_secret_load_passphrase_file(path, &secret, &err), CF_E_VALIDATION);
    if (strstr(err.message, path) == NULL || strstr(err.message, expect) == NULL)
        fail_msg("message \"%s\" lacks the path or \"%s\"", err.message, expect);
    assert_true(all_zero(&secret, sizeof(secret)));
    cf_error_dispose(&err);
}

static void test_key_file_generate_and_load(void **state)
{
    struct scratch *s = *state;
    struct cf_secret one, two;
    struct cf_error err;
    char text[256];
    char path_two[128];
    size_t n;

    cf_error_init(&err);
    assert_int_equal(cf_secret_generate_key_file(at(s, "one.key"), &err), CF_OK);
    n = read_file(s->path, text, sizeof(text));
    /* One line: the versioned prefix, 44 characters of base64, a newline. */
    assert_int_equal(n, strlen("coffer-key-1:") + 44 + 1);
    assert_memory_equal(text, "coffer-key-1:", 13);
    assert_int_equal(text[13 + 43], '=');
    assert_int_equal(text[n - 1], '\n');
    for (size_t i = 13; i < 13 + 43; i++)
        assert_non_null(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", text[i]));
    assert_int_equal(cf_secret_load_key_file(s->path, &one, &err), CF_OK);
    assert_false(one.is_passphrase);
    assert_false(all_zero(one.key, CF_KEY_LEN));

    snprintf(path_two, sizeof(path_two), "%s", at(s, "two.key"));
    assert_int_equal(cf_secret_generate_key_file(path_two, &err), CF_OK);
    assert_int_equal(cf_secret_load_key_file(path_two, &two, &err), CF_OK);
    assert_memory_not_equal(one.key, two.key, CF_KEY_LEN);
    cf_secret_wipe(&one);
    assert_true(all_zero(&one, sizeof(one)));
    cf_secret_wipe(NULL);
    cf_error_dispose(&err);
}

/* A known key file decodes to known bytes: the layout is standard base64. */
static void test_key_file_known_bytes(void **state)
{
    struct scratch *s = *state;
    static const char line[] = "coffer-key-1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n";
    struct cf_secret secret;
    struct cf_error err;

    cf_error_init(&err);
    write_file(at(s, "known.key"), line, strlen(line));
    assert_int_equal(cf_secret_load_key_file(s->path, &secret, &err), CF_OK);
    for (int i = 0; i < CF_KEY_LEN; i++)
        assert_int_equal(secret.key[i], i);
    /* CRLF and a missing line end are the same key. */
    write_file(at(s, "crlf.key"), "coffer-key-1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\r\n", 59);
    assert_int_equal(cf_secret_load_key_file(s->path, &secret, &err), CF_OK);
    assert_int_equal(secret.key[31], 31);
    write_file(at(s, "bare.key"), line, strlen(line) - 1);
    assert_int_equal(cf_secret_load_key_file(s->path, &secret, &err), CF_OK);
    assert_int_equal(secret.key[31], 31);
    cf_error_dispose(&err);
}

/* The mode is 0600 whatever the umask, even one that takes the owner's bits. */
static void test_key_file_mode(void **state)
{
    struct scratch *s = *state;
    static const mode_t masks[] = {0, 022, 077, 0277};
    struct cf_error err;
    struct stat st;
    char name[32];

    cf_error_init(&err);
    for (size_t i = 0; i < sizeof(masks) / sizeof(masks[0]); i++) {
        mode_t old = umask(masks[i]);

        snprintf(name, sizeof(name), "mode-%zu.key", i);
        assert_int_equal(cf_secret_generate_key_file(at(s, name), &err), CF_OK);
        umask(old);
        assert_int_equal(stat(s->path, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0600);
    }
    cf_error_dispose(&err);
}

static void test_key_file_never_overwritten(void **state)
{
    struct scratch *s = *state;
    struct cf_error err;
    char before[256], after[256], target[128];

    cf_error_init(&err);
    assert_int_equal(cf_secret_generate_key_file(at(s, "kept.key"), &err), CF_OK);
    read_file(s->path, before, sizeof(before));
    assert_int_equal(cf_secret_generate_key_file(s->path, &err), CF_E_CONFLICT);
    assert_non_null(strstr(err.message, s->path));
    assert_non_null(strstr(err.message, "already exists"));
    read_file(s->path, after, sizeof(after));
    assert_string_equal(before, after);

    /* Any existing file, not only a key file. */
    write_file(at(s, "notes.txt"), "keep me\n", 8);
    assert_int_equal(cf_secret_generate_key_file(s->path, &err), CF_E_CONFLICT);
    read_file(s->path, after, sizeof(after));
    assert_string_equal(after, "keep me\n");

    /* A symbolic link, even a dangling one, is not followed. */
    snprintf(target, sizeof(target), "%s", at(s, "elsewhere"));
    assert_int_equal(symlink(target, at(s, "link.key")), 0);
    assert_int_equal(cf_secret_generate_key_file(s->path, &err), CF_E_CONFLICT);
    assert_int_equal(access(target, F_OK), -1);
    cf_error_dispose(&err);
}

static void test_key_file_cannot_create(void **state)
{
    struct scratch *s = *state;
    struct cf_error err;

    cf_error_init(&err);
    assert_int_equal(cf_secret_generate_key_file(at(s, "no-such-dir/x.key"), &err), CF_E_IO);
    assert_non_null(strstr(err.message, s->path));
    assert_non_null(strstr(err.message, "No such file or directory"));
    cf_error_dispose(&err);
}

static void test_key_file_malformed(void **state)
{
    struct scratch *s = *state;
    static const struct {
        const char *content;
        const char *expect;
    } cases[] = {
        {"", "does not start with \"coffer-key-1:\""},
        {"\n", "does not start with"},
        {"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n", "does not start with"},
        {"coffer-key:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n", "does not start with"},
        {"coffer-key-2:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n",
         "of a version this coffer cannot read"},
        {"coffer-key-1:\n", "the key is not 32 bytes in base64"},
        /* 31 bytes, 33 bytes (44 characters without padding), a bad character,
         * URL-safe base64, spaces around. */
        {"coffer-key-1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg==\n", "not 32 bytes"},
        {"coffer-key-1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g\n", "not 32 bytes"},
        {"coffer-key-1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh*=\n", "not 32 bytes"},
        {"coffer-key-1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd_h8=\n", "not 32 bytes"},
        {"coffer-key-1: AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n", "not 32 bytes"},
        {"coffer-key-1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8= \n", "not 32 bytes"},
        {"coffer-key-1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\nmore\n", "more than one line"},
        {"coffer-key-1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n\n", "more than one line"},
    };
    char name[32];
    char big[300];

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(name, sizeof(name), "bad-%zu.key", i);
        write_file(at(s, name), cases[i].content, strlen(cases[i].content));
        assert_key_file_refused(s->path, cases[i].expect);
    }
    memset(big, 'A', sizeof(big));
    memcpy(big, "coffer-key-1:", 13);
    write_file(at(s, "big.key"), big, sizeof(big));
    assert_key_file_refused(s->path, "longer than one key's line");
    assert_key_file_refused(at(s, "missing.key"), "cannot open key file");
    assert_key_file_refused(s->dir, "cannot read key file");
}

static void test_passphrase_file(void **state)
{
    struct scratch *s = *state;
    static const struct {
        const char *content;
        const char *passphrase;
    } cases[] = {
        {"secret\n", "secret"},
        {"secret", "secret"},
        {"secret\r\n", "secret"},
        {"first line\nsecond line\n", "first line"},
        {"first line\r\nsecond\r\n", "first line"},
        /* Spaces and non-ASCII are part of it. */
        {"  spaced out  \n", "  spaced out  "},
        {"Grüße, 世界\n", "Grüße, 世界"},
        /* Only the line's own end goes: a lone CR inside stays. */
        {"a\rb\n", "a\rb"},
    };
    struct cf_secret secret;
    struct cf_error err;
    char name[32];

    cf_error_init(&err);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(name, sizeof(name), "pass-%zu", i);
        write_file(at(s, name), cases[i].content, strlen(cases[i].content));
        assert_int_equal(cf_secret_load_passphrase_file(s->path, &secret, &err), CF_OK);
        assert_true(secret.is_passphrase);
        assert_string_equal(secret.passphrase, cases[i].passphrase);
    }
    cf_secret_wipe(&secret);
    cf_error_dispose(&err);
}

static void test_passphrase_file_longest(void **state)
{
    struct scratch *s = *state;
    char line[CF_PASSPHRASE_MAX + 3];
    struct cf_secret secret;
    struct cf_error err;

    cf_error_init(&err);
    memset(line, 'p', sizeof(line));
    /* Exactly the longest, with CRLF: accepted. */
    line[CF_PASSPHRASE_MAX] = '\r';
    line[CF_PASSPHRASE_MAX + 1] = '\n';
    write_file(at(s, "longest"), line, CF_PASSPHRASE_MAX + 2);
    assert_int_equal(cf_secret_load_passphrase_file(s->path, &secret, &err), CF_OK);
    assert_int_equal(strlen(secret.passphrase), CF_PASSPHRASE_MAX);
    /* One byte more, with or without a line end: refused. */
    memset(line, 'p', sizeof(line));
    write_file(at(s, "too-long"), line, CF_PASSPHRASE_MAX + 1);
    assert_passphrase_refused(s->path, "longer than 1024 bytes");
    line[CF_PASSPHRASE_MAX + 1] = '\n';
    write_file(at(s, "too-long-nl"), line, CF_PASSPHRASE_MAX + 2);
    assert_passphrase_refused(s->path, "longer than 1024 bytes");
    write_file(at(s, "much-too-long"), line, sizeof(line));
    assert_passphrase_refused(s->path, "longer than 1024 bytes");
    cf_secret_wipe(&secret);
    cf_error_dispose(&err);
}

static void test_passphrase_file_refused(void **state)
{
    struct scratch *s = *state;

    write_file(at(s, "empty"), "", 0);
    assert_passphrase_refused(s->path, "is empty");
    write_file(at(s, "empty-line"), "\nsecond line\n", 13);
    assert_passphrase_refused(s->path, "is empty");
    write_file(at(s, "crlf-only"), "\r\n", 2);
    assert_passphrase_refused(s->path, "is empty");
    write_file(at(s, "nul"), "pass\0word\n", 10);
    assert_passphrase_refused(s->path, "NUL byte");
    assert_passphrase_refused(at(s, "missing"), "cannot open passphrase file");
    assert_passphrase_refused(s->dir, "cannot read passphrase file");
}

static void test_secret_files_open_to_others_are_refused(void **state)
{
    struct scratch *s = *state;
    static const char key[] = "coffer-key-1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n";
    struct cf_secret secret;
    struct cf_error err;
    char want[512], quoted_path[160];

    cf_error_init(&err);
    write_file(at(s, "key"), key, strlen(key));
    assert_int_equal(chmod(s->path, 0640), 0);
    snprintf(want, sizeof(want), "%s is open to group or others (mode 0640) and holds an encryption key: "
             "run chmod 600 %s", s->path, s->path);
    assert_key_file_refused(s->path, want);
    assert_int_equal(chmod(s->path, 0600), 0);
    assert_int_equal(cf_secret_load_key_file(s->path, &secret, &err), CF_OK);

    write_file(at(s, "phrase"), "secret\n", 7);
    assert_int_equal(chmod(s->path, 0604), 0);
    snprintf(want, sizeof(want), "%s is open to group or others (mode 0604) and holds a passphrase: "
             "run chmod 600 %s", s->path, s->path);
    assert_passphrase_refused(s->path, want);

    /* The command to run is quoted for the shell when the name needs it. */
    write_file(at(s, "it's a key"), key, strlen(key));
    assert_int_equal(chmod(s->path, 0644), 0);
    snprintf(quoted_path, sizeof(quoted_path), "'%s/it'\\''s a key'", s->dir);
    snprintf(want, sizeof(want), "(mode 0644) and holds an encryption key: run chmod 600 %s", quoted_path);
    assert_key_file_refused(s->path, want);
    cf_secret_wipe(&secret);
    cf_error_dispose(&err);
}

/* A passphrase from a pipe (<(...) in a shell) holds nothing at rest: no check. */
static void test_passphrase_from_a_pipe(void **state)
{
    struct cf_secret secret;
    struct cf_error err;
    char name[64];
    int fds[2];

    (void)state;
    cf_error_init(&err);
    assert_int_equal(pipe(fds), 0);
    assert_int_equal(fchmod(fds[0], 0666), 0);
    assert_int_equal(write(fds[1], "secret\n", 7), 7);
    close(fds[1]);
    snprintf(name, sizeof(name), "/dev/fd/%d", fds[0]);
    if (cf_secret_load_passphrase_file(name, &secret, &err) != CF_OK)
        fail_msg("refused: %s", err.message);
    close(fds[0]);
    cf_secret_wipe(&secret);
    cf_error_dispose(&err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_key_file_generate_and_load, scratch_setup, scratch_teardown),
        cmocka_unit_test_setup_teardown(test_key_file_known_bytes, scratch_setup, scratch_teardown),
        cmocka_unit_test_setup_teardown(test_key_file_mode, scratch_setup, scratch_teardown),
        cmocka_unit_test_setup_teardown(test_key_file_never_overwritten, scratch_setup, scratch_teardown),
        cmocka_unit_test_setup_teardown(test_key_file_cannot_create, scratch_setup, scratch_teardown),
        cmocka_unit_test_setup_teardown(test_key_file_malformed, scratch_setup, scratch_teardown),
        cmocka_unit_test_setup_teardown(test_passphrase_file, scratch_setup, scratch_teardown),
        cmocka_unit_test_setup_teardown(test_passphrase_file_longest, scratch_setup, scratch_teardown),
        cmocka_unit_test_setup_teardown(test_passphrase_file_refused, scratch_setup, scratch_teardown),
        cmocka_unit_test_setup_teardown(test_secret_files_open_to_others_are_refused, scratch_setup,
                                        scratch_teardown),
        cmocka_unit_test(test_passphrase_from_a_pipe),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
