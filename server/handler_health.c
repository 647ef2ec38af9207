/* /health, /ready, /live: for operators and load balancers. */
#include "handlers.h"
#include "health.h"
#include "secret.h"

static void add_check(json_t *status, json_t *messages, json_t *ident, const char *name, bool passed,
                      const char *message)
{
    char line[64];

    json_object_set_new(status, name, json_boolean(passed));
    json_object_set_new(messages, name, json_array());
    if (!passed)
        json_array_append_new(json_object_get(messages, name), json_string(message));
    snprintf(line, sizeof(line), "%s=%s", name, passed ? "True" : "False");
    json_array_append_new(ident, json_string(line));
}

void cf_h_health(struct cf_request *req)
{
    struct cf_health health;
    json_t *status, *messages, *ident;
    bool ok;

    if (!cf_secret_equal(cf_request_query(req, "code"), req->app->cfg->health_code)) {
        cf_reply_fail(req, CF_E_FORBIDDEN, "a valid health code is required");
        return;
    }
    cf_health_check(req->app, &health);
    ok = health.storage && health.database;
    status = json_object();
    messages = json_object();
    ident = json_array();
    json_array_append_new(ident, json_string(ok ? "global_status=True" : "global_status=False"));
    add_check(status, messages, ident, "storage", health.storage, health.storage_message);
    add_check(status, messages, ident, "database", health.database, health.database_message);
    cf_reply_json(req, ok ? 200 : 503,
                  json_pack("{s:o, s:o, s:b, s:o}", "status", status, "messages", messages, "global_status",
                            ok, "ident", ident));
}

void cf_h_ready(struct cf_request *req)
{
    bool ready = cf_health_database(req->app);

    cf_reply_json(req, ready ? 200 : 503, json_pack("{s:b}", "ready", ready));
}

void cf_h_live(struct cf_request *req)
{
    cf_reply_json(req, 200, json_pack("{s:b}", "live", 1));
}
