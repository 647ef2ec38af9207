/* /api/stable/auth/...: minting, listing and revoking tokens; who am I. */
#include "common/rfc3339.h"
#include "handlers.h"
#include "permissions.h"
#include "service_tokens.h"

void cf_h_token_mint(struct cf_request *req)
{
    struct cf_error err;
    json_t *body = NULL, *minted = NULL;
    cf_code code;

    cf_error_init(&err);
    code = cf_request_json(req, &body, &err);
    if (code == CF_OK)
        code = cf_token_mint(req->app, &req->principal, body, &minted, &err);
    cf_reply_outcome(req, code, 201, NULL, minted, &err);
    json_decref(body);
}

void cf_h_token_list(struct cf_request *req)
{
    struct cf_error err;
    json_t *tokens = NULL;
    cf_code code;

    cf_error_init(&err);
    code = cf_token_list(req->app, &req->principal, cf_request_query(req, "account_id"), &tokens, &err);
    cf_reply_outcome(req, code, 200, "tokens", tokens, &err);
}

void cf_h_token_revoke(struct cf_request *req)
{
    struct cf_error err;
    cf_code code;

    cf_error_init(&err);
    code = cf_token_revoke(req->app, &req->principal, req->params[0], &err);
    cf_reply_outcome(req, code, 204, NULL, NULL, &err);
}

void cf_h_whoami(struct cf_request *req)
{
    const struct cf_principal *p = &req->principal;
    char expires[CF_RFC3339_SIZE];

    cf_rfc3339(p->expires_at, expires);
    cf_reply_json(req, 200,
                  json_pack("{s:s, s:s, s:o, s:O, s:s, s:b}", "token_id", p->token_id, "account_id",
                            p->admin ? "system" : p->account_id, "permissions", cf_perms_to_json(p->perms),
                            "collections", p->collections, "expires_at", expires, "one_time_upload",
                            p->one_time_upload));
}

void cf_h_permissions(struct cf_request *req)
{
    json_t *names = json_object();

    for (size_t i = 0; i < cf_perm_count; i++)
        json_object_set_new(names, cf_perm_table[i].name, json_string(cf_perm_table[i].description));
    cf_reply_json(req, 200, json_pack("{s:o}", "permissions", names));
}
