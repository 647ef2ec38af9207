#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "client/download.h"

static void expect_name(const char *header, const char *want)
{
    char out[64];

    if (want == NULL) {
        assert_false(cf_download_filename(header, out, sizeof(out)));
        return;
    }
    assert_true(cf_download_filename(header, out, sizeof(out)));
    assert_string_equal(out, want);
}

static void test_the_servers_names(void **state)
{
    (void)state;
    expect_name("attachment; filename=\"db-v3.sql.gz\"", "db-v3.sql.gz");
    expect_name("attachment; filename=\"example.org_site-v12.tar.zst\"", "example.org_site-v12.tar.zst");
    expect_name("attachment; filename=noext-v1", "noext-v1");
    expect_name("attachment; FILENAME=\"a\\\"b\"", "a\"b");
}

static void test_unsafe_names_are_refused_or_reduced(void **state)
{
    (void)state;
    expect_name("attachment; filename=\"../../etc/passwd\"", "passwd");
    expect_name("attachment; filename=\"/etc/cron.d/x\"", "x");
    expect_name("attachment; filename=\"dir/\"", NULL);
    expect_name("attachment; filename=\".bashrc\"", NULL);
    expect_name("attachment; filename=\"..\"", NULL);
    expect_name("attachment; filename=\"a\tb\"", NULL);
    expect_name("attachment; filename=\"\"", NULL);
    expect_name("attachment", NULL);
    expect_name("attachment; filename=\"a-name-that-is-much-too-long-for-the-buffer-given-here-by-far.bin\"",
                NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_servers_names),
        cmocka_unit_test(test_unsafe_names_are_refused_or_reduced),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
