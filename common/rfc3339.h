/* Times as the API writes them: RFC 3339 in UTC with second precision,
 * "2026-11-23T10:00:00Z". */
#ifndef COFFER_COMMON_RFC3339_H
#define COFFER_COMMON_RFC3339_H

#include <stdbool.h>
#include <stdint.h>

#define CF_RFC3339_SIZE 32

/* Formats Unix seconds into out; returns out. */
char *cf_rfc3339(int64_t unix_seconds, char out[CF_RFC3339_SIZE]);
/* Parses exactly "YYYY-MM-DDTHH:MM:SSZ" into Unix seconds; false otherwise. */
bool cf_rfc3339_parse(const char *text, int64_t *out);
/* Parses any RFC 3339 date-time (section 5.6) into Unix seconds: "T" or
 * "t", optional fractional seconds (dropped, not rounded), "Z", "z" or an
 * offset "+HH:MM" / "-HH:MM". Each field is checked against its range and the
 * day against its month (leap years included); second 60 (a leap second) is
 * taken as the next second. false for anything else; *out is then untouched. */
bool cf_rfc3339_parse_any(const char *text, int64_t *out);

#endif
