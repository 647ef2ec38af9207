/* Reading requests and building replies for handlers (see http.h). */
#include "common/log.h"
#include "http.h"

#include <stdlib.h>
#include <string.h>

const char *cf_request_header(const struct cf_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *cf_request_query(const struct cf_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

cf_code cf_request_json(struct cf_request *req, json_t **out, struct cf_error *err)
{
    json_error_t jerr;
    json_t *doc;

    if (req->body.len == 0) {
        *out = json_object();
        return CF_OK;
    }
    doc = json_loadb(req->body.data, req->body.len, JSON_REJECT_DUPLICATES, &jerr);
    if (doc == NULL)
        return cf_fail(err, CF_E_INVALID_JSON, "the body is not valid JSON: %s (line %d, column %d)",
                       jerr.text, jerr.line, jerr.column);
    if (!json_is_object(doc)) {
        json_decref(doc);
        return cf_fail(err, CF_E_INVALID_JSON, "the body must be a JSON object");
    }
    *out = doc;
    return CF_OK;
}

void cf_reply_response(struct cf_request *req, unsigned status, struct MHD_Response *response)
{
    if (req->response != NULL)
        MHD_destroy_response(req->response);
    req->response = response;
    req->status = status;
}

void cf_reply_json(struct cf_request *req, unsigned status, json_t *body)
{
    char *text = body != NULL ? json_dumps(body, JSON_COMPACT) : NULL;
    struct MHD_Response *response;

    json_decref(body);
    if (text == NULL) {
        cf_log(CF_LOG_ERROR, "out of memory building a reply");
        text = strdup("{\"error\":\"out of memory\",\"code\":\"internal_error\"}");
        status = 500;
        if (text == NULL)
            return;
    }
    response = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    cf_reply_response(req, status, response);
}

/* What a client is told about a server-side failure. The details (paths,
 * database messages) go to the log only. */
static const char *server_side_sentence(cf_code code)
{
    switch (code) {
    case CF_E_DB_UNAVAILABLE:
        return "the database is unavailable; try again later";
    case CF_E_STORAGE_UNAVAILABLE:
        return "the storage is unavailable; try again later";
    case CF_E_STORAGE_FULL:
        return "the server's storage is full";
    default:
        return "internal error; the server log has the details";
    }
}

void cf_reply_error(struct cf_request *req, const struct cf_error *err)
{
    int status = cf_code_http_status(err->code);
    struct cf_error shown;

    req->reply_code = err->code;
    if (status < 500 || err->code == CF_E_ACCOUNT_QUOTA_EXCEEDED) {
        cf_reply_json(req, (unsigned)status, cf_error_to_json(err));
        return;
    }
    cf_log(CF_LOG_ERROR, "%s %s: %s", req->method, req->path, err->message);
    cf_error_init(&shown);
    cf_fail(&shown, err->code, "%s", server_side_sentence(err->code));
    cf_reply_json(req, (unsigned)status, cf_error_to_json(&shown));
}

void cf_reply_empty(struct cf_request *req, unsigned status)
{
    cf_reply_response(req, status, MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT));
}

void cf_reply_fail(struct cf_request *req, cf_code code, const char *fmt, ...)
{
    struct cf_error err;
    va_list ap;

    cf_error_init(&err);
    va_start(ap, fmt);
    cf_failv(&err, code, fmt, ap);
    va_end(ap);
    cf_reply_error(req, &err);
}

void cf_reply_outcome(struct cf_request *req, cf_code code, unsigned status, const char *key, json_t *value,
                      struct cf_error *err)
{
    if (code != CF_OK)
        cf_reply_error(req, err);
    else if (status == 204)
        cf_reply_empty(req, status);
    else if (key != NULL)
        cf_reply_json(req, status, json_pack("{s:O}", key, value));
    else
        cf_reply_json(req, status, json_incref(value));
    json_decref(value);
    cf_error_dispose(err);
}
