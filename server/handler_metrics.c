/* /metrics (Prometheus) and /metrics/backup_repository_report/influxdb
 * (InfluxDB line protocol, for Telegraf). Both need the metrics code, which
 * differs from the health code; /metrics also takes a metrics.view token. */
#include "auth.h"
#include "handlers.h"
#include "permissions.h"
#include "secret.h"
#include "service_metrics.h"

#include <string.h>

/* Even a large catalogue stays far below this. */
#define METRICS_MAX (64 * 1024 * 1024)

static void reply_text(struct cf_request *req, struct cf_buf *text, const char *content_type)
{
    struct MHD_Response *response = MHD_create_response_from_buffer(
        text->len, text->data != NULL ? text->data : "", MHD_RESPMEM_MUST_COPY);

    MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    MHD_add_response_header(response, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    cf_reply_response(req, 200, response);
}

/* The metrics code in ?code=, or else a bearer token holding metrics.view. */
static cf_code admit(struct cf_request *req, bool token_allowed, struct cf_error *err)
{
    struct cf_principal p;
    cf_code code;

    if (cf_secret_equal(cf_request_query(req, "code"), req->app->cfg->metrics_code))
        return CF_OK;
    if (!token_allowed || cf_request_header(req, MHD_HTTP_HEADER_AUTHORIZATION) == NULL)
        return cf_fail(err, CF_E_FORBIDDEN, "a valid metrics code is required");
    code = cf_auth_authenticate(req->app, cf_request_header(req, MHD_HTTP_HEADER_AUTHORIZATION),
                                req->client_ip, cf_request_header(req, MHD_HTTP_HEADER_USER_AGENT), &p, err);
    if (code != CF_OK)
        return code;
    if (!cf_principal_has(&p, CF_PERM_METRICS_VIEW))
        code = cf_fail(err, CF_E_PERMISSION_DENIED, "this token lacks metrics.view");
    cf_principal_dispose(&p);
    return code;
}

/* Admits the request, has write produce the text, and replies it. */
static void serve(struct cf_request *req, bool token_allowed,
                  cf_code (*write)(struct cf_app *, struct cf_buf *, struct cf_error *),
                  const char *content_type)
{
    struct cf_error err;
    struct cf_buf text;
    cf_code code;

    cf_error_init(&err);
    cf_buf_init(&text, METRICS_MAX);
    code = admit(req, token_allowed, &err);
    if (code == CF_OK)
        code = write(req->app, &text, &err);
    if (code == CF_OK)
        reply_text(req, &text, content_type);
    else
        cf_reply_error(req, &err);
    cf_buf_dispose(&text);
    cf_error_dispose(&err);
}

void cf_h_metrics_prometheus(struct cf_request *req)
{
    serve(req, true, cf_metrics_prometheus, "text/plain; version=0.0.4; charset=utf-8");
}

void cf_h_metrics_influx(struct cf_request *req)
{
    serve(req, false, cf_metrics_influx, "text/plain; charset=utf-8");
}
