#include "server/s3_xml.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TAG_MAX 64

/* Whether c may follow an element's name in its start tag. */
static bool ends_name(char c)
{
    return c == '>' || c == '/' || c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

bool cf_s3_xml_element(struct cf_s3_xml in, const char *tag, size_t *pos, struct cf_s3_xml *content)
{
    char open[TAG_MAX + 2], close[TAG_MAX + 4];
    size_t tag_len = strlen(tag);
    size_t at = *pos;

    if (tag_len == 0 || tag_len > TAG_MAX || in.data == NULL)
        return false;
    snprintf(open, sizeof(open), "<%s", tag);
    snprintf(close, sizeof(close), "</%s>", tag);
    while (at < in.len) {
        const char *start = memmem(in.data + at, in.len - at, open, tag_len + 1);
        const char *after, *gt, *end;
        size_t rest;

        if (start == NULL)
            return false;
        after = start + tag_len + 1;
        rest = in.len - (size_t)(after - in.data);
        if (rest == 0)
            return false;
        /* "<Key" must not match "<KeyMarker>". */
        if (!ends_name(*after)) {
            at = (size_t)(after - in.data);
            continue;
        }
        gt = memchr(after, '>', rest);
        if (gt == NULL)
            return false;
        if (gt[-1] == '/') {
            content->data = gt + 1;
            content->len = 0;
            *pos = (size_t)(gt + 1 - in.data);
            return true;
        }
        rest = in.len - (size_t)(gt + 1 - in.data);
        end = memmem(gt + 1, rest, close, tag_len + 3);
        if (end == NULL)
            return false;
        content->data = gt + 1;
        content->len = (size_t)(end - (gt + 1));
        *pos = (size_t)(end + tag_len + 3 - in.data);
        return true;
    }
    return false;
}

/* Decodes the reference at text[0] == '&' (up to ';') into *c; returns its
 * length, 0 when it is not one this parser knows or decodes to non-ASCII. */
static size_t decode_reference(const char *text, size_t len, char *c)
{
    static const struct {
        const char *name;
        char c;
    } named[] = {{"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
    const char *semi = memchr(text, ';', len < 12 ? len : 12);
    size_t ref_len;

    if (semi == NULL)
        return 0;
    ref_len = (size_t)(semi - text) + 1;
    for (size_t i = 0; i < sizeof(named) / sizeof(named[0]); i++) {
        if (ref_len == strlen(named[i].name) && memcmp(text, named[i].name, ref_len) == 0) {
            *c = named[i].c;
            return ref_len;
        }
    }
    if (ref_len > 3 && text[1] == '#') {
        char digits[12];
        char *end = NULL;
        bool hex = text[2] == 'x' || text[2] == 'X';
        size_t first = hex ? 3 : 2;
        long value;

        if (ref_len - 1 - first == 0 || ref_len - 1 - first >= sizeof(digits))
            return 0;
        memcpy(digits, text + first, ref_len - 1 - first);
        digits[ref_len - 1 - first] = '\0';
        value = strtol(digits, &end, hex ? 16 : 10);
        if (*end != '\0' || value <= 0 || value > 127)
            return 0;
        *c = (char)value;
        return ref_len;
    }
    return 0;
}

bool cf_s3_xml_text(struct cf_s3_xml in, const char *tag, char *out, size_t cap)
{
    struct cf_s3_xml content;
    size_t pos = 0, used = 0;

    if (cap == 0)
        return false;
    out[0] = '\0';
    if (!cf_s3_xml_element(in, tag, &pos, &content))
        return false;
    for (size_t i = 0; i < content.len;) {
        char c = content.data[i];
        size_t step = 1;

        if (c == '&') {
            step = decode_reference(content.data + i, content.len - i, &c);
            if (step == 0) {
                out[0] = '\0';
                return false;
            }
        }
        if (used + 1 >= cap) {
            out[0] = '\0';
            return false;
        }
        out[used++] = c;
        i += step;
    }
    out[used] = '\0';
    return true;
}

cf_code cf_s3_xml_escape(struct cf_buf *buf, const char *text)
{
    cf_code code = CF_OK;

    for (const char *p = text; code == CF_OK && *p != '\0'; p++) {
        switch (*p) {
        case '&':
            code = cf_buf_append(buf, "&amp;", 5);
            break;
        case '<':
            code = cf_buf_append(buf, "&lt;", 4);
            break;
        case '>':
            code = cf_buf_append(buf, "&gt;", 4);
            break;
        case '"':
            code = cf_buf_append(buf, "&quot;", 6);
            break;
        case '\'':
            code = cf_buf_append(buf, "&apos;", 6);
            break;
        default:
            code = cf_buf_append(buf, p, 1);
            break;
        }
    }
    return code;
}
