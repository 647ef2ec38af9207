/* The Range request header, for one range of bytes. Pure function. */
#ifndef COFFER_SERVER_HTTP_RANGE_H
#define COFFER_SERVER_HTTP_RANGE_H

#include <stdint.h>

enum cf_range_result {
    CF_RANGE_NONE,          /* no header, or one to ignore (not bytes, several ranges, malformed): send all */
    CF_RANGE_OK,            /* send [*start, *start + *length) with 206 */
    CF_RANGE_UNSATISFIABLE, /* 416 */
};

/* header may be NULL. size is the whole representation's length. Handles
 * "bytes=a-b", "bytes=a-" and the suffix form "bytes=-n". */
enum cf_range_result cf_range_parse(const char *header, uint64_t size, uint64_t *start, uint64_t *length);

#endif
