#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "server/secret.h"

#include <stdlib.h>
#include <string.h>

static void test_secret_equal(void **state)
{
    char copy[] = "health-0123456789abcdef";

    (void)state;
    assert_true(cf_secret_equal("health-0123456789abcdef", "health-0123456789abcdef"));
    /* Equal contents, not the same pointer. */
    assert_true(cf_secret_equal(copy, "health-0123456789abcdef"));
    assert_true(cf_secret_equal("x", "x"));
    assert_true(cf_secret_equal("\xc3\xa9t\xc3\xa9", "\xc3\xa9t\xc3\xa9"));
}

static void test_secret_different(void **state)
{
    (void)state;
    assert_false(cf_secret_equal("health-0123456789abcdef", "metrics-0123456789abcdef"));
    /* One character off, at the start, the middle and the end. */
    assert_false(cf_secret_equal("Xealth-0123456789abcdef", "health-0123456789abcdef"));
    assert_false(cf_secret_equal("health-0123X56789abcdef", "health-0123456789abcdef"));
    assert_false(cf_secret_equal("health-0123456789abcdeX", "health-0123456789abcdef"));
    /* Case matters. */
    assert_false(cf_secret_equal("HEALTH-0123456789ABCDEF", "health-0123456789abcdef"));
    assert_false(cf_secret_equal("a", "b"));
}

static void test_secret_prefix(void **state)
{
    (void)state;
    /* Neither a prefix nor an extension of the secret passes. */
    assert_false(cf_secret_equal("health-0123", "health-0123456789abcdef"));
    assert_false(cf_secret_equal("health-0123456789abcdef", "health-0123"));
    assert_false(cf_secret_equal("health-0123456789abcdefX", "health-0123456789abcdef"));
    assert_false(cf_secret_equal("h", "health-0123456789abcdef"));
    assert_false(cf_secret_equal("health-0123456789abcdef ", "health-0123456789abcdef"));
    assert_false(cf_secret_equal("health-0123456789abcdef\n", "health-0123456789abcdef"));
}

static void test_secret_empty(void **state)
{
    (void)state;
    /* An unset secret never matches, not even an empty code. */
    assert_false(cf_secret_equal("", ""));
    assert_false(cf_secret_equal("", "health-0123456789abcdef"));
    assert_false(cf_secret_equal("health-0123456789abcdef", ""));
}

static void test_secret_null(void **state)
{
    (void)state;
    assert_false(cf_secret_equal(NULL, NULL));
    assert_false(cf_secret_equal(NULL, "health-0123456789abcdef"));
    assert_false(cf_secret_equal("health-0123456789abcdef", NULL));
    assert_false(cf_secret_equal(NULL, ""));
    assert_false(cf_secret_equal("", NULL));
}

static void test_secret_long(void **state)
{
    size_t len = 100000;
    char *a = malloc(len + 1);
    char *b = malloc(len + 1);

    (void)state;
    assert_non_null(a);
    assert_non_null(b);
    memset(a, 's', len);
    a[len] = '\0';
    memcpy(b, a, len + 1);
    assert_true(cf_secret_equal(a, b));
    b[len / 2] = 't';
    assert_false(cf_secret_equal(a, b));
    b[len / 2] = 's';
    b[len - 1] = '\0';
    assert_false(cf_secret_equal(a, b));
    free(a);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_secret_equal),  cmocka_unit_test(test_secret_different),
        cmocka_unit_test(test_secret_prefix), cmocka_unit_test(test_secret_empty),
        cmocka_unit_test(test_secret_null),   cmocka_unit_test(test_secret_long),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
