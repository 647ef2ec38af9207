/* The little XML that the S3 API needs: finding elements in a response
 * (UploadId, Upload, Key, Code, Message ...) and escaping text for a request.
 *
 * Deliberately minimal and bounded: it looks for <tag>...</tag> (or <tag/>)
 * by name in a span of bytes, never allocates, and copies text only into
 * buffers the caller sized. It does not understand CDATA, comments or
 * namespace prefixes, and an element may not contain another element of the
 * same name; no S3 response this backend reads uses any of those. */
#ifndef COFFER_SERVER_S3_XML_H
#define COFFER_SERVER_S3_XML_H

#include "common/buf.h"

#include <stdbool.h>
#include <stddef.h>

/* A span of a response body; borrowed from the buffer that holds it. */
struct cf_s3_xml {
    const char *data;
    size_t len;
};

/* Finds the next element named tag that starts at or after *pos in in. On
 * success *content is what lies between its start and end tags (empty for
 * <tag/>), *pos is just past its end tag, and the result is true. False when
 * there is none or it is not closed. */
bool cf_s3_xml_element(struct cf_s3_xml in, const char *tag, size_t *pos, struct cf_s3_xml *content);

/* Copies the text of the first element named tag in in into out (cap bytes
 * with the NUL), decoding &amp; &lt; &gt; &quot; &apos; and numeric references
 * to ASCII. False when the element is missing, its text does not fit, or it
 * holds a reference this function cannot decode; out is then "". */
bool cf_s3_xml_text(struct cf_s3_xml in, const char *tag, char *out, size_t cap);

/* Appends text to buf with &, <, >, " and ' escaped. CF_E_BODY_TOO_LARGE when
 * buf's bound is reached, CF_E_NOMEM. */
cf_code cf_s3_xml_escape(struct cf_buf *buf, const char *text);

#endif
