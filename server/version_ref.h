/* Version references in URLs ("latest", "first", "vN", "N", a UUID), the
 * download file names built from a collection's template, and the time a
 * client says it made a version (X-Coffer-Made-At). Pure functions. */
#ifndef COFFER_SERVER_VERSION_REF_H
#define COFFER_SERVER_VERSION_REF_H

#include "common/error.h"
#include <stddef.h>
#include <stdint.h>

enum cf_ref_kind { CF_REF_LATEST, CF_REF_FIRST, CF_REF_NUMBER, CF_REF_UUID };

struct cf_version_ref {
    enum cf_ref_kind kind;
    int64_t number; /* CF_REF_NUMBER: >= 1 */
    char uuid[37];  /* CF_REF_UUID: lower-cased canonical form */
};

/* CF_E_INVALID_REF for anything else (0, negatives, overflow, "v", junk). */
cf_code cf_version_ref_parse(const char *text, struct cf_version_ref *out, struct cf_error *err);

/* True when s is a UUID in canonical 8-4-4-4-12 hex form (either case). */
int cf_uuid_valid(const char *s);
/* A fresh random UUID v4 in canonical lower-case form into out[37]. */
void cf_uuid_v4(char out[37]);

/* The download name of version number of a collection whose template is
 * template: "-vN" goes before the extension, where the extension is the last
 * dot-suffix together with the one before it when the last is a compression
 * suffix (.gz .zst .xz .bz2 .lz4 ...): dump.sql -> dump-v3.sql,
 * db.sql.gz -> db-v3.sql.gz, noext -> noext-v3. A leading dot is not an
 * extension (.env -> .env-v3). Writes at most out_len bytes with the NUL;
 * CF_E_INTERNAL (and out set to "" when out_len > 0) when it does not fit, the
 * template is empty or number < 1. */
cf_code cf_version_filename(const char *template_name, int64_t number, char *out, size_t out_len,
                            struct cf_error *err);

/* How far ahead of the server's clock a made_at may be: clients' clocks
 * drift, and one set to local time while claiming UTC is up to 14 hours
 * off, but a backup made more than a day after it arrives is a wrong clock. */
#define CF_MADE_AT_MAX_AHEAD 86400

/* The X-Coffer-Made-At value text (any RFC 3339 date-time, see
 * cf_rfc3339_parse_any) as Unix seconds, when it is at most
 * CF_MADE_AT_MAX_AHEAD seconds after now. CF_E_BAD_REQUEST otherwise, with a
 * message naming the header; *out is then untouched. */
cf_code cf_made_at_parse(const char *text, int64_t now, int64_t *out, struct cf_error *err);

#endif
