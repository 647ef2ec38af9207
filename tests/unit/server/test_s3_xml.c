/* The minimal XML reader and escaper of the S3 backend, on answers shaped
 * like the ones S3 and Ceph RGW send. */
#include "server/s3_xml.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

static struct cf_s3_xml span(const char *text)
{
    struct cf_s3_xml xml = {text, strlen(text)};
    return xml;
}

static void test_text_of_an_element(void **state)
{
    char out[64];

    (void)state;
    assert_true(cf_s3_xml_text(span("<?xml version=\"1.0\"?><InitiateMultipartUploadResult><Bucket>b</Bucket>"
                                    "<Key>k</Key><UploadId>2~abc</UploadId></InitiateMultipartUploadResult>"),
                               "UploadId", out, sizeof(out)));
    assert_string_equal(out, "2~abc");
}

static void test_a_longer_name_with_the_same_start_does_not_match(void **state)
{
    char out[64];

    (void)state;
    assert_true(cf_s3_xml_text(span("<NextKeyMarker>m</NextKeyMarker><KeyMarker/><Key>the key</Key>"), "Key",
                               out, sizeof(out)));
    assert_string_equal(out, "the key");
}

static void test_attributes_and_empty_elements(void **state)
{
    char out[64];

    (void)state;
    assert_true(
        cf_s3_xml_text(span("<Message xml:lang=\"en\">slow down</Message>"), "Message", out, sizeof(out)));
    assert_string_equal(out, "slow down");
    assert_true(cf_s3_xml_text(span("<Message/>"), "Message", out, sizeof(out)));
    assert_string_equal(out, "");
}

static void test_references_are_decoded(void **state)
{
    char out[64];

    (void)state;
    assert_true(cf_s3_xml_text(span("<ETag>&quot;abc&quot;&amp;&lt;&gt;&apos;&#65;&#x42;</ETag>"), "ETag",
                               out, sizeof(out)));
    assert_string_equal(out, "\"abc\"&<>'AB");
    /* Unknown or non-ASCII references are refused rather than guessed. */
    assert_false(cf_s3_xml_text(span("<Key>a&nbsp;b</Key>"), "Key", out, sizeof(out)));
    assert_string_equal(out, "");
    assert_false(cf_s3_xml_text(span("<Key>&#233;</Key>"), "Key", out, sizeof(out)));
    assert_false(cf_s3_xml_text(span("<Key>a & b</Key>"), "Key", out, sizeof(out)));
}

static void test_missing_unclosed_or_too_long(void **state)
{
    char out[4];

    (void)state;
    assert_false(cf_s3_xml_text(span("<Code>x</Code>"), "Message", out, sizeof(out)));
    assert_false(cf_s3_xml_text(span("<Code>never closed"), "Code", out, sizeof(out)));
    assert_false(cf_s3_xml_text(span("<Code"), "Code", out, sizeof(out)));
    assert_true(cf_s3_xml_text(span("<Code>abc</Code>"), "Code", out, sizeof(out)));
    assert_false(cf_s3_xml_text(span("<Code>abcd</Code>"), "Code", out, sizeof(out)));
    assert_string_equal(out, "");
    assert_false(cf_s3_xml_text(span(""), "Code", out, sizeof(out)));
}

static void test_elements_in_turn(void **state)
{
    const char *list = "<ListMultipartUploadsResult><IsTruncated>false</IsTruncated>"
                       "<Upload><Key>a</Key><UploadId>1</UploadId></Upload>"
                       "<Upload><Key>b</Key><UploadId>2</UploadId></Upload>"
                       "</ListMultipartUploadsResult>";
    struct cf_s3_xml xml = span(list), upload;
    char key[8], id[8];
    size_t pos = 0;

    (void)state;
    assert_true(cf_s3_xml_element(xml, "Upload", &pos, &upload));
    assert_true(cf_s3_xml_text(upload, "Key", key, sizeof(key)));
    assert_true(cf_s3_xml_text(upload, "UploadId", id, sizeof(id)));
    assert_string_equal(key, "a");
    assert_string_equal(id, "1");
    assert_true(cf_s3_xml_element(xml, "Upload", &pos, &upload));
    assert_true(cf_s3_xml_text(upload, "Key", key, sizeof(key)));
    assert_string_equal(key, "b");
    assert_false(cf_s3_xml_element(xml, "Upload", &pos, &upload));
}

static void test_escape(void **state)
{
    struct cf_buf buf;

    (void)state;
    cf_buf_init(&buf, 64);
    assert_int_equal(cf_s3_xml_escape(&buf, "\"etag\" & <x> 'y'"), CF_OK);
    assert_string_equal(buf.data, "&quot;etag&quot; &amp; &lt;x&gt; &apos;y&apos;");
    cf_buf_reset(&buf);
    buf.max = 8;
    assert_int_equal(cf_s3_xml_escape(&buf, "&&"), CF_E_BODY_TOO_LARGE);
    cf_buf_dispose(&buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_of_an_element),
        cmocka_unit_test(test_a_longer_name_with_the_same_start_does_not_match),
        cmocka_unit_test(test_attributes_and_empty_elements),
        cmocka_unit_test(test_references_are_decoded),
        cmocka_unit_test(test_missing_unclosed_or_too_long),
        cmocka_unit_test(test_elements_in_turn),
        cmocka_unit_test(test_escape),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
