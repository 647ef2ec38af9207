/* /api/stable/repository/collection: create, list, read, edit, delete. */
#include "handlers.h"
#include "service_collections.h"
#include "validate.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void cf_h_collection_create(struct cf_request *req)
{
    struct cf_error err;
    json_t *body = NULL, *collection = NULL;
    cf_code code;

    cf_error_init(&err);
    code = cf_request_json(req, &body, &err);
    if (code == CF_OK)
        code = cf_collection_create(req->app, &req->principal, body, &collection, &err);
    cf_reply_outcome(req, code, 201, "collection", collection, &err);
    json_decref(body);
}

/* A whole number query parameter within bounds; def when absent. */
static cf_code query_number(struct cf_request *req, const char *name, int64_t def, int64_t min, int64_t max,
                            int64_t *out, struct cf_error *err)
{
    const char *text = cf_request_query(req, name);
    char *end = NULL;
    long long value;

    *out = def;
    if (text == NULL)
        return CF_OK;
    errno = 0;
    value = strtoll(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || value < min || value > max) {
        cf_error_field(err, name, "must be a whole number from %lld to %lld", (long long)min, (long long)max);
        return cf_fail(err, CF_E_VALIDATION, "query parameter %s is not valid", name);
    }
    *out = value;
    return CF_OK;
}

void cf_h_collection_list(struct cf_request *req)
{
    struct cf_collection_query query = {0};
    struct cf_error err;
    json_t *page = NULL;
    cf_code code;

    cf_error_init(&err);
    query.q = cf_request_query(req, "q");
    query.account_id = cf_request_query(req, "account_id");
    code = query_number(req, "page", 1, 1, 1000000, &query.page, &err);
    code = cf_combine(&err, code, query_number(req, "per_page", 50, 1, 100, &query.per_page, &err));
    if (code == CF_OK && query.q != NULL && strlen(query.q) > 256)
        code = cf_fail(&err, CF_E_VALIDATION, "q may be at most 256 characters");
    if (code == CF_OK)
        code = cf_collection_list(req->app, &req->principal, &query, &page, &err);
    cf_reply_outcome(req, code, 200, NULL, page, &err);
}

void cf_h_collection_get(struct cf_request *req)
{
    struct cf_error err;
    json_t *collection = NULL;
    cf_code code;

    cf_error_init(&err);
    code = cf_collection_get(req->app, &req->principal, req->params[0], &collection, &err);
    cf_reply_outcome(req, code, 200, "collection", collection, &err);
}

void cf_h_collection_update(struct cf_request *req)
{
    struct cf_error err;
    json_t *body = NULL, *collection = NULL;
    cf_code code;

    cf_error_init(&err);
    code = cf_request_json(req, &body, &err);
    if (code == CF_OK)
        code = cf_collection_update(req->app, &req->principal, req->params[0], body, &collection, &err);
    cf_reply_outcome(req, code, 200, "collection", collection, &err);
    json_decref(body);
}

void cf_h_collection_delete(struct cf_request *req)
{
    const char *force = cf_request_query(req, "force");
    struct cf_error err;
    cf_code code;

    cf_error_init(&err);
    if (force != NULL && strcmp(force, "true") != 0 && strcmp(force, "false") != 0)
        code = cf_fail(&err, CF_E_VALIDATION, "force must be true or false");
    else
        code = cf_collection_delete(req->app, &req->principal, req->params[0],
                                    force != NULL && strcmp(force, "true") == 0, &err);
    cf_reply_outcome(req, code, 204, NULL, NULL, &err);
}
