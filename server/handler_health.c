/* /health, /ready, /live: for operators and load balancers. */
#include "handlers.h"
#include "secret.h"

CF_STMT(stmt_health_ping, "SELECT 1");

static void add_check(json_t *status, json_t *messages, json_t *ident, const char *name, cf_code code,
                      const struct cf_error *err)
{
    char line[64];

    json_object_set_new(status, name, json_boolean(code == CF_OK));
    json_object_set_new(messages, name, json_array());
    if (code != CF_OK)
        json_array_append_new(json_object_get(messages, name), json_string(err->message));
    snprintf(line, sizeof(line), "%s=%s", name, code == CF_OK ? "True" : "False");
    json_array_append_new(ident, json_string(line));
}

void cf_h_health(struct cf_request *req)
{
    struct cf_error storage_err, db_err;
    cf_code storage, database;
    json_t *status, *messages, *ident;
    bool ok;

    if (!cf_secret_equal(cf_request_query(req, "code"), req->app->cfg->health_code)) {
        cf_reply_fail(req, CF_E_FORBIDDEN, "a valid health code is required");
        return;
    }
    cf_error_init(&storage_err);
    cf_error_init(&db_err);
    storage = cf_store_probe(req->app->store, &storage_err);
    database = cf_db_run(req->app->pool, &stmt_health_ping, NULL, 0, NULL, &db_err);
    ok = storage == CF_OK && database == CF_OK;

    status = json_object();
    messages = json_object();
    ident = json_array();
    json_array_append_new(ident, json_string(ok ? "global_status=True" : "global_status=False"));
    add_check(status, messages, ident, "storage", storage, &storage_err);
    add_check(status, messages, ident, "database", database, &db_err);
    cf_reply_json(req, ok ? 200 : 503,
                  json_pack("{s:o, s:o, s:b, s:o}", "status", status, "messages", messages, "global_status",
                            ok, "ident", ident));
    cf_error_dispose(&storage_err);
    cf_error_dispose(&db_err);
}

void cf_h_ready(struct cf_request *req)
{
    struct cf_error err;
    cf_code code;

    cf_error_init(&err);
    code = cf_db_run(req->app->pool, &stmt_health_ping, NULL, 0, NULL, &err);
    cf_reply_json(req, code == CF_OK ? 200 : 503, json_pack("{s:b}", "ready", code == CF_OK));
    cf_error_dispose(&err);
}

void cf_h_live(struct cf_request *req)
{
    cf_reply_json(req, 200, json_pack("{s:b}", "live", 1));
}
