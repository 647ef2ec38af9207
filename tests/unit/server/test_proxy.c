/* server/proxy.c: who is the trusted proxy, and whose address a request carries. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "server/config.h"
#include "server/proxy.h"

#include <string.h>

#define SECRET "a-proxy-secret-of-some-length"

static int setup(void **state)
{
    static struct cf_config cfg;

    cf_config_init(&cfg);
    assert_int_equal(cf_config_set(&cfg, "trusted_proxies", "127.0.0.1, 10.0.0.0/8,unix", "test", NULL), CF_OK);
    assert_int_equal(cf_config_set(&cfg, "proxy_secret", SECRET, "test", NULL), CF_OK);
    *state = &cfg;
    return 0;
}

static int teardown(void **state)
{
    cf_config_dispose(*state);
    return 0;
}

static void test_check_accepts_listed_peer_with_secret(void **state)
{
    const struct cf_config *cfg = *state;

    assert_int_equal(cf_proxy_check(cfg, "127.0.0.1", SECRET, NULL), CF_OK);
    assert_int_equal(cf_proxy_check(cfg, "10.20.30.40", SECRET, NULL), CF_OK);
    assert_int_equal(cf_proxy_check(cfg, "unix", SECRET, NULL), CF_OK);
}

static void test_check_refuses_unlisted_peer(void **state)
{
    struct cf_error err;

    cf_error_init(&err);
    assert_int_equal(cf_proxy_check(*state, "192.168.1.1", SECRET, &err), CF_E_UNTRUSTED_INTERNAL_FILENAME);
    assert_string_equal(err.message, "192.168.1.1 is not a trusted proxy");
    cf_error_dispose(&err);
}

static void test_check_refuses_missing_or_wrong_secret(void **state)
{
    struct cf_error err;

    cf_error_init(&err);
    assert_int_equal(cf_proxy_check(*state, "127.0.0.1", NULL, &err), CF_E_UNTRUSTED_INTERNAL_FILENAME);
    assert_string_equal(err.message, "the proxy secret is missing or wrong");
    assert_int_equal(cf_proxy_check(*state, "127.0.0.1", SECRET "x", &err), CF_E_UNTRUSTED_INTERNAL_FILENAME);
    assert_int_equal(cf_proxy_check(*state, "127.0.0.1", "", &err), CF_E_UNTRUSTED_INTERNAL_FILENAME);
    cf_error_dispose(&err);
}

static void test_check_refuses_everyone_when_no_proxy_is_configured(void **state)
{
    struct cf_config cfg;

    (void)state;
    cf_config_init(&cfg);
    assert_int_equal(cf_proxy_check(&cfg, "127.0.0.1", "", NULL), CF_E_UNTRUSTED_INTERNAL_FILENAME);
    cf_config_dispose(&cfg);
}

static void test_client_address_is_real_ip_from_the_proxy(void **state)
{
    char out[64];

    cf_proxy_client_address(*state, "127.0.0.1", SECRET, "203.0.113.7", out, sizeof(out));
    assert_string_equal(out, "203.0.113.7");
    cf_proxy_client_address(*state, "unix", SECRET, "2001:db8::1", out, sizeof(out));
    assert_string_equal(out, "2001:db8::1");
}

static void test_client_address_ignores_real_ip_without_trust(void **state)
{
    char out[64];

    /* Anyone may send X-Real-IP; only the proxy, with its secret, is believed. */
    cf_proxy_client_address(*state, "192.168.1.1", SECRET, "203.0.113.7", out, sizeof(out));
    assert_string_equal(out, "192.168.1.1");
    cf_proxy_client_address(*state, "127.0.0.1", NULL, "203.0.113.7", out, sizeof(out));
    assert_string_equal(out, "127.0.0.1");
    cf_proxy_client_address(*state, "127.0.0.1", "wrong", "203.0.113.7", out, sizeof(out));
    assert_string_equal(out, "127.0.0.1");
}

static void test_client_address_ignores_what_is_not_an_address(void **state)
{
    char out[64];

    cf_proxy_client_address(*state, "127.0.0.1", SECRET, "203.0.113.7, 10.0.0.1", out, sizeof(out));
    assert_string_equal(out, "127.0.0.1");
    cf_proxy_client_address(*state, "127.0.0.1", SECRET, "unix", out, sizeof(out));
    assert_string_equal(out, "127.0.0.1");
    cf_proxy_client_address(*state, "127.0.0.1", SECRET, "", out, sizeof(out));
    assert_string_equal(out, "127.0.0.1");
    cf_proxy_client_address(*state, "127.0.0.1", SECRET, NULL, out, sizeof(out));
    assert_string_equal(out, "127.0.0.1");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_check_accepts_listed_peer_with_secret, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check_refuses_unlisted_peer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check_refuses_missing_or_wrong_secret, setup, teardown),
        cmocka_unit_test(test_check_refuses_everyone_when_no_proxy_is_configured),
        cmocka_unit_test_setup_teardown(test_client_address_is_real_ip_from_the_proxy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_address_ignores_real_ip_without_trust, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_address_ignores_what_is_not_an_address, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
