/* The audit log: who uploaded, downloaded, deleted and minted what, in the
 * audit_log table. Written after the action succeeded, best effort: a failure
 * to record is logged and does not undo the action. */
#ifndef COFFER_SERVER_AUDIT_H
#define COFFER_SERVER_AUDIT_H

#include "app.h"
#include "principal.h"

/* action: "version.upload", "token.mint", ...; subject: what it acted on
 * ("db/v3", a token id, an account id). p may be NULL for the command line. */
void cf_audit(struct cf_app *app, const struct cf_principal *p, const char *action, const char *subject);

#endif
