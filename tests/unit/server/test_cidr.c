#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "server/cidr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

static struct cf_cidr parse_ok(const char *text)
{
    struct cf_cidr cidr;
    struct cf_error err;

    cf_error_init(&err);
    if (cf_cidr_parse(text, &cidr, &err) != CF_OK)
        fail_msg("\"%s\" refused: %s", text, err.message);
    cf_error_dispose(&err);
    return cidr;
}

static void expect_bad(const char *text, const char *needle)
{
    struct cf_cidr cidr;
    struct cf_error err;

    memset(&cidr, 0x5a, sizeof(cidr));
    cf_error_init(&err);
    assert_int_equal(cf_cidr_parse(text, &cidr, &err), CF_E_VALIDATION);
    assert_int_equal(err.code, CF_E_VALIDATION);
    if (strstr(err.message, needle) == NULL)
        fail_msg("message \"%s\" for \"%s\" does not mention \"%s\"", err.message, text ? text : "(null)",
                 needle);
    /* Nothing is written on failure. */
    assert_int_equal(cidr.prefix, 0x5a5a5a5a);
    cf_error_dispose(&err);
}

static bool contains(const char *block, const char *addr)
{
    struct cf_cidr cidr = parse_ok(block);

    return cf_cidr_contains_text(&cidr, addr);
}

static void test_parse_v4(void **state)
{
    struct cf_cidr cidr;
    static const uint8_t ten[4] = {10, 0, 0, 0};
    static const uint8_t host[4] = {192, 168, 1, 77};

    (void)state;
    cidr = parse_ok("10.0.0.0/8");
    assert_int_equal(cidr.family, AF_INET);
    assert_int_equal(cidr.prefix, 8);
    assert_memory_equal(cidr.addr, ten, 4);

    /* Host bits past the prefix are cleared. */
    cidr = parse_ok("10.1.2.3/8");
    assert_int_equal(cidr.prefix, 8);
    assert_memory_equal(cidr.addr, ten, 4);

    /* A bare address is a /32. */
    cidr = parse_ok("192.168.1.77");
    assert_int_equal(cidr.family, AF_INET);
    assert_int_equal(cidr.prefix, 32);
    assert_memory_equal(cidr.addr, host, 4);

    cidr = parse_ok("192.168.1.77/32");
    assert_int_equal(cidr.prefix, 32);
    assert_memory_equal(cidr.addr, host, 4);

    cidr = parse_ok("192.168.1.77/0");
    assert_int_equal(cidr.prefix, 0);
    assert_int_equal(cidr.addr[0], 0);
    assert_int_equal(cidr.addr[3], 0);

    cidr = parse_ok("172.16.255.255/12");
    assert_int_equal(cidr.addr[0], 172);
    assert_int_equal(cidr.addr[1], 16);
    assert_int_equal(cidr.addr[2], 0);
}

static void test_parse_v6(void **state)
{
    struct cf_cidr cidr;
    uint8_t expected[16];

    (void)state;
    cidr = parse_ok("2001:db8::/32");
    assert_int_equal(cidr.family, AF_INET6);
    assert_int_equal(cidr.prefix, 32);
    assert_int_equal(inet_pton(AF_INET6, "2001:db8::", expected), 1);
    assert_memory_equal(cidr.addr, expected, 16);

    cidr = parse_ok("2001:db8:abcd:1234::1/33");
    assert_int_equal(cidr.prefix, 33);
    assert_int_equal(inet_pton(AF_INET6, "2001:db8:8000::", expected), 1);
    assert_memory_equal(cidr.addr, expected, 16);

    cidr = parse_ok("::1");
    assert_int_equal(cidr.family, AF_INET6);
    assert_int_equal(cidr.prefix, 128);

    cidr = parse_ok("fe80::1:2:3:4/128");
    assert_int_equal(cidr.prefix, 128);
    assert_int_equal(inet_pton(AF_INET6, "fe80::1:2:3:4", expected), 1);
    assert_memory_equal(cidr.addr, expected, 16);

    cidr = parse_ok("::/0");
    assert_int_equal(cidr.prefix, 0);

    cidr = parse_ok("::ffff:10.0.0.0/104");
    assert_int_equal(cidr.family, AF_INET6);
    assert_int_equal(cidr.prefix, 104);
}

static void test_parse_bad(void **state)
{
    (void)state;
    expect_bad(NULL, "required");
    expect_bad("", "required");
    expect_bad("10.0.0.0/33", "0 to 32");
    expect_bad("2001:db8::/129", "0 to 128");
    expect_bad("10.0.0.0/-1", "prefix");
    expect_bad("10.0.0.0/", "prefix");
    expect_bad("10.0.0.0/+8", "prefix");
    expect_bad("10.0.0.0/08", "prefix");
    expect_bad("10.0.0.0/8 ", "prefix");
    expect_bad("10.0.0.0/8/8", "prefix");
    expect_bad("10.0.0.0/1000", "prefix");
    expect_bad("10.0.0.0/x", "prefix");
    expect_bad("/8", "not an IP");
    expect_bad("10.0.0", "not an IP");
    expect_bad("10.0.0.256", "not an IP");
    expect_bad("010.0.0.1", "not an IP");
    expect_bad(" 10.0.0.1", "not an IP");
    expect_bad("10.0.0.1 ", "not an IP");
    expect_bad("localhost", "not an IP");
    expect_bad("fe80::1%eth0", "not an IP");
    expect_bad("2001:db8:::1", "not an IP");
    expect_bad("1:2:3:4:5:6:7:8:9", "not an IP");
    expect_bad("0x0a000001", "not an IP");
    expect_bad("10.0.0.0\n", "not an IP");
    expect_bad("10.0.0.0/8\n", "prefix");
    expect_bad("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255/1280000", "too long");
}

static void test_contains_v4(void **state)
{
    (void)state;
    assert_true(contains("10.0.0.0/8", "10.0.0.0"));
    assert_true(contains("10.0.0.0/8", "10.255.255.255"));
    assert_false(contains("10.0.0.0/8", "11.0.0.0"));
    assert_false(contains("10.0.0.0/8", "9.255.255.255"));
    assert_true(contains("192.168.1.0/25", "192.168.1.127"));
    assert_false(contains("192.168.1.0/25", "192.168.1.128"));
    assert_true(contains("203.0.113.7/32", "203.0.113.7"));
    assert_false(contains("203.0.113.7/32", "203.0.113.6"));
    assert_true(contains("203.0.113.7", "203.0.113.7"));
    assert_false(contains("203.0.113.7", "203.0.113.8"));
    assert_true(contains("0.0.0.0/0", "1.2.3.4"));
    assert_true(contains("0.0.0.0/0", "255.255.255.255"));
    /* An IPv4 block never matches a plain IPv6 client. */
    assert_false(contains("0.0.0.0/0", "2001:db8::1"));
    assert_false(contains("0.0.0.0/0", "::1"));
    assert_false(contains("10.0.0.0/8", "not an address"));
    assert_false(contains("10.0.0.0/8", ""));
    assert_false(contains("10.0.0.0/8", NULL));
}

static void test_contains_v6(void **state)
{
    (void)state;
    assert_true(contains("2001:db8::/32", "2001:db8::1"));
    assert_true(contains("2001:db8::/32", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"));
    assert_false(contains("2001:db8::/32", "2001:db9::1"));
    assert_true(contains("2001:db8::/33", "2001:db8:7fff::1"));
    assert_false(contains("2001:db8::/33", "2001:db8:8000::1"));
    assert_true(contains("::1/128", "::1"));
    assert_false(contains("::1/128", "::2"));
    assert_true(contains("::1", "0:0:0:0:0:0:0:1"));
    assert_true(contains("::/0", "2001:db8::1"));
    assert_true(contains("::/0", "::"));
    /* ::/0 means every IPv6 client, not IPv4 ones. */
    assert_false(contains("::/0", "10.0.0.1"));
    assert_false(contains("::/0", "::ffff:10.0.0.1"));
}

static void test_mapped_addresses(void **state)
{
    (void)state;
    /* A dual-stack socket reports IPv4 clients as ::ffff:a.b.c.d. */
    assert_true(contains("10.0.0.0/8", "::ffff:10.1.2.3"));
    assert_true(contains("10.0.0.0/8", "::FFFF:10.1.2.3"));
    assert_false(contains("10.0.0.0/8", "::ffff:11.1.2.3"));
    assert_true(contains("203.0.113.7", "::ffff:203.0.113.7"));
    assert_true(contains("0.0.0.0/0", "::ffff:1.2.3.4"));
    /* Not a mapped address: IPv4-compatible (deprecated) and NAT64 forms stay IPv6. */
    assert_false(contains("10.0.0.0/8", "::10.1.2.3"));
    assert_false(contains("10.0.0.0/8", "64:ff9b::10.1.2.3"));
    /* A block written in mapped form matches the IPv4 clients it covers, either way. */
    assert_true(contains("::ffff:10.0.0.0/104", "10.9.9.9"));
    assert_true(contains("::ffff:10.0.0.0/104", "::ffff:10.9.9.9"));
    assert_false(contains("::ffff:10.0.0.0/104", "11.9.9.9"));
    assert_true(contains("::ffff:0:0/96", "192.0.2.1"));
    assert_false(contains("::ffff:0:0/95", "192.0.2.1"));
}

static void test_contains_sockaddr(void **state)
{
    struct cf_cidr v4 = parse_ok("192.0.2.0/24");
    struct cf_cidr v6 = parse_ok("2001:db8::/32");
    struct sockaddr_in in;
    struct sockaddr_in6 in6;
    struct sockaddr other;

    (void)state;
    memset(&in, 0, sizeof(in));
    in.sin_family = AF_INET;
    in.sin_port = htons(443);
    assert_int_equal(inet_pton(AF_INET, "192.0.2.99", &in.sin_addr), 1);
    assert_true(cf_cidr_contains(&v4, (struct sockaddr *)&in));
    assert_false(cf_cidr_contains(&v6, (struct sockaddr *)&in));

    memset(&in6, 0, sizeof(in6));
    in6.sin6_family = AF_INET6;
    assert_int_equal(inet_pton(AF_INET6, "::ffff:192.0.2.99", &in6.sin6_addr), 1);
    assert_true(cf_cidr_contains(&v4, (struct sockaddr *)&in6));
    assert_false(cf_cidr_contains(&v6, (struct sockaddr *)&in6));
    assert_int_equal(inet_pton(AF_INET6, "2001:db8::5", &in6.sin6_addr), 1);
    assert_true(cf_cidr_contains(&v6, (struct sockaddr *)&in6));
    assert_false(cf_cidr_contains(&v4, (struct sockaddr *)&in6));

    memset(&other, 0, sizeof(other));
    other.sa_family = AF_UNIX;
    assert_false(cf_cidr_contains(&v4, &other));
    assert_false(cf_cidr_contains(&v4, NULL));
}

static void test_sockaddr_text(void **state)
{
    struct sockaddr_in in;
    struct sockaddr_in6 in6;
    struct sockaddr other;
    char text[INET6_ADDRSTRLEN];
    char small[4];

    (void)state;
    memset(&in, 0, sizeof(in));
    in.sin_family = AF_INET;
    assert_int_equal(inet_pton(AF_INET, "198.51.100.23", &in.sin_addr), 1);
    cf_sockaddr_text((struct sockaddr *)&in, text, sizeof(text));
    assert_string_equal(text, "198.51.100.23");

    memset(&in6, 0, sizeof(in6));
    in6.sin6_family = AF_INET6;
    assert_int_equal(inet_pton(AF_INET6, "2001:DB8:0:0::1", &in6.sin6_addr), 1);
    cf_sockaddr_text((struct sockaddr *)&in6, text, sizeof(text));
    assert_string_equal(text, "2001:db8::1");

    /* Too small a buffer gets nothing rather than a wrong address. */
    memcpy(small, "xyz", 4);
    cf_sockaddr_text((struct sockaddr *)&in6, small, sizeof(small));
    assert_string_equal(small, "");

    memset(&other, 0, sizeof(other));
    other.sa_family = AF_UNIX;
    memcpy(text, "junk", 5);
    cf_sockaddr_text(&other, text, sizeof(text));
    assert_string_equal(text, "");
    memcpy(text, "junk", 5);
    cf_sockaddr_text(NULL, text, sizeof(text));
    assert_string_equal(text, "");
    cf_sockaddr_text(NULL, NULL, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_v4),          cmocka_unit_test(test_parse_v6),
        cmocka_unit_test(test_parse_bad),         cmocka_unit_test(test_contains_v4),
        cmocka_unit_test(test_contains_v6),       cmocka_unit_test(test_mapped_addresses),
        cmocka_unit_test(test_contains_sockaddr), cmocka_unit_test(test_sockaddr_text),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
