/* Who is calling: the token a request was authenticated with, as recorded in
 * the database (not as claimed by the JWT). */
#ifndef COFFER_SERVER_PRINCIPAL_H
#define COFFER_SERVER_PRINCIPAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#define CF_ID_MAX 64

struct cf_principal {
    char token_id[37];
    char account_id[CF_ID_MAX + 1]; /* "" for the administrator */
    bool admin;                     /* sub = "system": every permission, every account */
    uint32_t perms;
    json_t *collections; /* owned array of ids; empty = every collection of the account */
    int64_t expires_at;  /* Unix seconds */
    bool one_time_upload;
    char client_ip[64]; /* where the request came from, for the audit log */
};

void cf_principal_init(struct cf_principal *p);
void cf_principal_dispose(struct cf_principal *p);
bool cf_principal_has(const struct cf_principal *p, uint32_t perm);
/* Whether the token may see a collection of an account: the administrator sees
 * all; others see their account's collections, limited to their list if any. */
bool cf_principal_sees_collection(const struct cf_principal *p, const char *account_id,
                                  const char *collection_id);
/* Whether the token is limited to a list of collections. */
bool cf_principal_scoped(const struct cf_principal *p);

#endif
