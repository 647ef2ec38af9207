/* The two metrics formats: Prometheus text exposition (label value escaping,
 * HELP/TYPE headers, samples) and InfluxDB line protocol tag escaping, each
 * over a bounded cf_buf. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "server/metrics_format.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define BIG (1024 * 1024)

/* The text a call left in a fresh buffer; the caller frees the buffer. */
static void assert_text(const struct cf_buf *buf, const char *want)
{
    const char *got = buf->data != NULL ? buf->data : "";

    if (strcmp(got, want) != 0)
        fail_msg("got  \"%s\"\nwant \"%s\"", got, want);
    assert_int_equal(buf->len, strlen(want));
}

static void label_value_is(const char *value, const char *want)
{
    struct cf_buf buf;

    cf_buf_init(&buf, BIG);
    assert_int_equal(cf_prom_label_value(&buf, value), CF_OK);
    assert_text(&buf, want);
    cf_buf_dispose(&buf);
}

static void influx_tag_is(const char *value, const char *want)
{
    struct cf_buf buf;

    cf_buf_init(&buf, BIG);
    assert_int_equal(cf_influx_tag(&buf, value), CF_OK);
    assert_text(&buf, want);
    cf_buf_dispose(&buf);
}

static void sample_is(const char *name, const char *const *labels, double value, const char *want)
{
    struct cf_buf buf;

    cf_buf_init(&buf, BIG);
    assert_int_equal(cf_prom_sample(&buf, name, labels, value), CF_OK);
    assert_text(&buf, want);
    cf_buf_dispose(&buf);
}

static void test_label_value_plain(void **state)
{
    (void)state;
    label_value_is("", "");
    label_value_is("db-prod", "db-prod");
    /* Only backslash, double quote and newline are special in a label value. */
    label_value_is("a b,c=d{e}'f'/g:h", "a b,c=d{e}'f'/g:h");
    label_value_is("/api/stable/repository/collection/{}/versions",
                   "/api/stable/repository/collection/{}/versions");
    label_value_is("h\xc3\xa9llo", "h\xc3\xa9llo"); /* UTF-8 passes through */
}

static void test_label_value_escapes(void **state)
{
    (void)state;
    label_value_is("back\\slash", "back\\\\slash");
    label_value_is("say \"hi\"", "say \\\"hi\\\"");
    label_value_is("two\nlines", "two\\nlines");
    label_value_is("\\", "\\\\");
    label_value_is("\"", "\\\"");
    label_value_is("\n", "\\n");
    label_value_is("\\\"\n", "\\\\\\\"\\n");
    label_value_is("end\\", "end\\\\");
}

static void test_label_value_appends(void **state)
{
    struct cf_buf buf;

    (void)state;
    cf_buf_init(&buf, BIG);
    assert_int_equal(cf_buf_append(&buf, "x=\"", 3), CF_OK);
    assert_int_equal(cf_prom_label_value(&buf, "a\"b"), CF_OK);
    assert_int_equal(cf_buf_append(&buf, "\"", 1), CF_OK);
    assert_text(&buf, "x=\"a\\\"b\"");
    cf_buf_dispose(&buf);
}

static void test_header(void **state)
{
    struct cf_buf buf;

    (void)state;
    cf_buf_init(&buf, BIG);
    assert_int_equal(cf_prom_header(&buf, "coffer_versions", "gauge", "Versions stored."), CF_OK);
    assert_text(&buf, "# HELP coffer_versions Versions stored.\n# TYPE coffer_versions gauge\n");
    assert_int_equal(cf_prom_header(&buf, "coffer_http_requests_total", "counter", "Requests."), CF_OK);
    assert_text(&buf,
                "# HELP coffer_versions Versions stored.\n# TYPE coffer_versions gauge\n"
                "# HELP coffer_http_requests_total Requests.\n# TYPE coffer_http_requests_total counter\n");
    cf_buf_dispose(&buf);

    cf_buf_init(&buf, BIG);
    assert_int_equal(cf_prom_header(&buf, "coffer_latency_seconds", "histogram", "Latency, by route."),
                     CF_OK);
    assert_text(&buf, "# HELP coffer_latency_seconds Latency, by route.\n"
                      "# TYPE coffer_latency_seconds histogram\n");
    cf_buf_dispose(&buf);
}

static void test_sample_no_labels(void **state)
{
    (void)state;
    sample_is("coffer_versions", NULL, 42, "coffer_versions 42\n");
    sample_is("coffer_versions", NULL, 0, "coffer_versions 0\n");
    /* An empty list is the same as none. */
    const char *none[] = {NULL};
    sample_is("coffer_versions", none, 7, "coffer_versions 7\n");
}

static void test_sample_labels(void **state)
{
    const char *one[] = {"dependency", "database", NULL};
    const char *three[] = {"route", "/metrics", "method", "GET", "status", "200", NULL};
    const char *escaped[] = {"collection_id", "a\"b\\c\nd", "account_id", "acct", NULL};

    (void)state;
    sample_is("coffer_up", one, 1, "coffer_up{dependency=\"database\"} 1\n");
    sample_is("coffer_http_requests_total", three, 12,
              "coffer_http_requests_total{route=\"/metrics\",method=\"GET\",status=\"200\"} 12\n");
    sample_is("coffer_collection_versions", escaped, 3,
              "coffer_collection_versions{collection_id=\"a\\\"b\\\\c\\nd\",account_id=\"acct\"} 3\n");
}

static void test_sample_whole_numbers(void **state)
{
    (void)state;
    /* Byte counts are written in full, never as 1e+06 or 1.23456789e+10. */
    sample_is("b", NULL, 1000000, "b 1000000\n");
    sample_is("b", NULL, 12345678901.0, "b 12345678901\n");
    sample_is("b", NULL, 1099511627776.0, "b 1099511627776\n");
    sample_is("b", NULL, 999999999999999.0, "b 999999999999999\n");
    sample_is("b", NULL, -5, "b -5\n");
    sample_is("b", NULL, 1, "b 1\n");
}

static void test_sample_fractions(void **state)
{
    struct cf_buf buf;
    const char *le[] = {"le", "0.005", NULL};

    (void)state;
    sample_is("s", NULL, 0.5, "s 0.5\n");
    sample_is("s", NULL, 0.001, "s 0.001\n");
    sample_is("s", NULL, 1.25, "s 1.25\n");
    sample_is("s", NULL, -0.25, "s -0.25\n");
    sample_is("coffer_http_request_duration_seconds_bucket", le, 3,
              "coffer_http_request_duration_seconds_bucket{le=\"0.005\"} 3\n");
    /* A fraction with many digits still parses back to (nearly) the same value. */
    cf_buf_init(&buf, BIG);
    assert_int_equal(cf_prom_sample(&buf, "s", NULL, 0.123456789012), CF_OK);
    assert_true(strncmp(buf.data, "s ", 2) == 0);
    assert_true(buf.data[buf.len - 1] == '\n');
    assert_true(fabs(strtod(buf.data + 2, NULL) - 0.123456789012) < 1e-8);
    cf_buf_dispose(&buf);
}

static void test_sample_infinity(void **state)
{
    const char *le[] = {"le", "+Inf", NULL};

    (void)state;
    sample_is("s", NULL, INFINITY, "s +Inf\n");
    sample_is("s", NULL, -INFINITY, "s -Inf\n");
    sample_is("coffer_x_bucket", le, 9, "coffer_x_bucket{le=\"+Inf\"} 9\n");
}

static void test_influx_tag_plain(void **state)
{
    (void)state;
    influx_tag_is("", "");
    influx_tag_is("prod", "prod");
    /* ':' and '/' need no escaping (InfluxDB 1.6 accepted http://localhost:8000 as is). */
    influx_tag_is("http://coffer.test:8000", "http://coffer.test:8000");
    influx_tag_is("a\"b'c{d}", "a\"b'c{d}");
    /* InfluxDB 1.x reads a backslash before an ordinary character literally. */
    influx_tag_is("a\\b", "a\\b");
}

static void test_influx_tag_escapes(void **state)
{
    (void)state;
    influx_tag_is("a,b", "a\\,b");
    influx_tag_is("k=v", "k\\=v");
    influx_tag_is("my host", "my\\ host");
    influx_tag_is(", =", "\\,\\ \\=");
    influx_tag_is("two\nlines", "two\\ lines");
    influx_tag_is("\n", "\\ ");
    influx_tag_is("https://x.test/a b,c=d", "https://x.test/a\\ b\\,c\\=d");
}

/* Every formatter fails cleanly when the buffer's bound is too small. */
static void test_buffer_bound(void **state)
{
    struct cf_buf buf;
    const char *labels[] = {"collection_id", "a-rather-long-collection-id", NULL};

    (void)state;
    cf_buf_init(&buf, 4);
    assert_int_equal(cf_prom_header(&buf, "coffer_versions", "gauge", "Versions stored."),
                     CF_E_BODY_TOO_LARGE);
    assert_true(buf.len <= 4);
    cf_buf_dispose(&buf);

    cf_buf_init(&buf, 4);
    assert_int_equal(cf_prom_sample(&buf, "coffer_versions", NULL, 42), CF_E_BODY_TOO_LARGE);
    assert_true(buf.len <= 4);
    cf_buf_dispose(&buf);

    /* The name fits, the labels do not. */
    cf_buf_init(&buf, 24);
    assert_int_equal(cf_prom_sample(&buf, "coffer_versions", labels, 42), CF_E_BODY_TOO_LARGE);
    assert_true(buf.len <= 24);
    cf_buf_dispose(&buf);

    /* Everything fits but the value. */
    cf_buf_init(&buf, strlen("coffer_versions{collection_id=\"a-rather-long-collection-id\"}") + 2);
    assert_int_equal(cf_prom_sample(&buf, "coffer_versions", labels, 123456), CF_E_BODY_TOO_LARGE);
    cf_buf_dispose(&buf);

    cf_buf_init(&buf, 3);
    assert_int_equal(cf_prom_label_value(&buf, "abcdef"), CF_E_BODY_TOO_LARGE);
    assert_true(buf.len <= 3);
    cf_buf_dispose(&buf);

    /* An escape that would pass the bound halfway. */
    cf_buf_init(&buf, 3);
    assert_int_equal(cf_prom_label_value(&buf, "ab\""), CF_E_BODY_TOO_LARGE);
    assert_true(buf.len <= 3);
    cf_buf_dispose(&buf);

    cf_buf_init(&buf, 3);
    assert_int_equal(cf_influx_tag(&buf, "abcdef"), CF_E_BODY_TOO_LARGE);
    assert_true(buf.len <= 3);
    cf_buf_dispose(&buf);

    cf_buf_init(&buf, 3);
    assert_int_equal(cf_influx_tag(&buf, "ab,"), CF_E_BODY_TOO_LARGE);
    assert_true(buf.len <= 3);
    cf_buf_dispose(&buf);

    cf_buf_init(&buf, 2);
    assert_int_equal(cf_influx_tag(&buf, "a\n"), CF_E_BODY_TOO_LARGE);
    assert_true(buf.len <= 2);
    cf_buf_dispose(&buf);

    /* Exactly at the bound is fine. */
    cf_buf_init(&buf, strlen("s 42\n"));
    assert_int_equal(cf_prom_sample(&buf, "s", NULL, 42), CF_OK);
    assert_text(&buf, "s 42\n");
    cf_buf_dispose(&buf);

    cf_buf_init(&buf, 4);
    assert_int_equal(cf_influx_tag(&buf, "a,b"), CF_OK);
    assert_text(&buf, "a\\,b");
    cf_buf_dispose(&buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_label_value_plain),    cmocka_unit_test(test_label_value_escapes),
        cmocka_unit_test(test_label_value_appends),  cmocka_unit_test(test_header),
        cmocka_unit_test(test_sample_no_labels),     cmocka_unit_test(test_sample_labels),
        cmocka_unit_test(test_sample_whole_numbers), cmocka_unit_test(test_sample_fractions),
        cmocka_unit_test(test_sample_infinity),      cmocka_unit_test(test_influx_tag_plain),
        cmocka_unit_test(test_influx_tag_escapes),   cmocka_unit_test(test_buffer_bound),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
