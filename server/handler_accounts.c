/* /api/stable/accounts: administrators manage tenants. The route table has
 * already required accounts.manage. */
#include "handlers.h"
#include "service_accounts.h"

void cf_h_account_create(struct cf_request *req)
{
    struct cf_error err;
    json_t *body = NULL, *account = NULL;
    cf_code code;

    cf_error_init(&err);
    code = cf_request_json(req, &body, &err);
    if (code == CF_OK)
        code = cf_account_create(req->app, &req->principal, body, &account, &err);
    cf_reply_outcome(req, code, 201, "account", account, &err);
    json_decref(body);
}

void cf_h_account_list(struct cf_request *req)
{
    struct cf_error err;
    json_t *accounts = NULL;
    cf_code code;

    cf_error_init(&err);
    code = cf_account_list(req->app, &accounts, &err);
    cf_reply_outcome(req, code, 200, "accounts", accounts, &err);
}

void cf_h_account_get(struct cf_request *req)
{
    struct cf_error err;
    json_t *account = NULL;
    cf_code code;

    cf_error_init(&err);
    code = cf_account_get(req->app, req->params[0], &account, &err);
    cf_reply_outcome(req, code, 200, "account", account, &err);
}

void cf_h_account_update(struct cf_request *req)
{
    struct cf_error err;
    json_t *body = NULL, *account = NULL;
    cf_code code;

    cf_error_init(&err);
    code = cf_request_json(req, &body, &err);
    if (code == CF_OK)
        code = cf_account_update(req->app, &req->principal, req->params[0], body, &account, &err);
    cf_reply_outcome(req, code, 200, "account", account, &err);
    json_decref(body);
}

void cf_h_account_delete(struct cf_request *req)
{
    struct cf_error err;
    cf_code code;

    cf_error_init(&err);
    code = cf_account_delete(req->app, &req->principal, req->params[0], &err);
    cf_reply_outcome(req, code, 204, NULL, NULL, &err);
}
