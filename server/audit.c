#include "audit.h"

#include "common/log.h"

CF_STMT(stmt_audit_insert, "INSERT INTO audit_log (token_id, account_id, action, subject, client_ip) VALUES "
                           "($1::uuid, $2, $3, $4, $5)");

void cf_audit(struct cf_app *app, const struct cf_principal *p, const char *action, const char *subject)
{
    struct cf_error err;
    const char *params[] = {p != NULL ? p->token_id : NULL,
                            p == NULL ? NULL : (p->admin ? "system" : p->account_id), action, subject,
                            p != NULL && p->client_ip[0] != '\0' ? p->client_ip : NULL};

    cf_error_init(&err);
    if (cf_db_run(app->pool, &stmt_audit_insert, params, 5, NULL, &err) != CF_OK)
        cf_log(CF_LOG_WARN, "audit: could not record %s %s: %s", action, subject, err.message);
    cf_error_dispose(&err);
}
