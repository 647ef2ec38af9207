#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "client/output.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[] = "/tmp/coffer-test-output-XXXXXX";

static int files_in_dir(void)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int n = 0;

    assert_non_null(d);
    while ((de = readdir(d)) != NULL)
        n += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
    closedir(d);
    return n;
}

static void read_file(const char *path, char *out, size_t cap)
{
    FILE *f = fopen(path, "r");
    size_t n;

    assert_non_null(f);
    n = fread(out, 1, cap - 1, f);
    out[n] = '\0';
    fclose(f);
}

static void test_appears_only_at_commit(void **state)
{
    struct cf_output out;
    struct cf_error err;
    struct stat st;
    char path[128], text[64];

    (void)state;
    cf_error_init(&err);
    snprintf(path, sizeof(path), "%s/final", dir);
    assert_int_equal(cf_output_open(&out, path, &err), CF_OK);
    assert_int_equal(cf_output_sink(&out, "first try", 9, &err), CF_OK);
    assert_int_equal(cf_output_truncate(&out, &err), CF_OK);
    assert_int_equal(cf_output_sink(&out, "hello", 5, &err), CF_OK);
    assert_int_not_equal(access(path, F_OK), 0);
    assert_int_equal(files_in_dir(), 1); /* the temporary file */
    assert_int_equal(cf_output_commit(&out, path, true, &err), CF_OK);
    read_file(path, text, sizeof(text));
    assert_string_equal(text, "hello");
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(files_in_dir(), 1);
    unlink(path);
}

static void test_abandoned_leaves_nothing(void **state)
{
    struct cf_output out;
    struct cf_error err;
    char path[128];

    (void)state;
    cf_error_init(&err);
    snprintf(path, sizeof(path), "%s/never", dir);
    assert_int_equal(cf_output_open(&out, path, &err), CF_OK);
    assert_int_equal(cf_output_sink(&out, "partial", 7, &err), CF_OK);
    cf_output_abandon(&out);
    cf_output_abandon(&out);
    assert_int_equal(files_in_dir(), 0);
}

static void test_no_replace_keeps_what_is_there(void **state)
{
    struct cf_output out;
    struct cf_error err;
    char path[128], text[192];
    FILE *f;

    (void)state;
    cf_error_init(&err);
    snprintf(path, sizeof(path), "%s/exists", dir);
    f = fopen(path, "w");
    fputs("keep", f);
    fclose(f);
    assert_int_equal(cf_output_open(&out, path, &err), CF_OK);
    assert_int_equal(cf_output_sink(&out, "new", 3, &err), CF_OK);
    assert_int_equal(cf_output_commit(&out, path, false, &err), CF_E_IO);
    snprintf(text, sizeof(text), "%s already exists", path);
    assert_non_null(strstr(err.message, text));
    read_file(path, text, sizeof(text));
    assert_string_equal(text, "keep");
    assert_int_equal(files_in_dir(), 1);
    unlink(path);
}

static void test_missing_directory(void **state)
{
    struct cf_output out;
    struct cf_error err;

    (void)state;
    cf_error_init(&err);
    assert_int_equal(cf_output_open(&out, "/nonexistent/dir/file", &err), CF_E_IO);
    assert_non_null(strstr(err.message, "cannot create a file in /nonexistent/dir"));
}

static int setup(void **state)
{
    (void)state;
    return mkdtemp(dir) != NULL ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    return rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_appears_only_at_commit),
        cmocka_unit_test(test_abandoned_leaves_nothing),
        cmocka_unit_test(test_no_replace_keeps_what_is_there),
        cmocka_unit_test(test_missing_directory),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
