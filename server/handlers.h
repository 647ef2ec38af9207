/* The handlers: one function per route, grouped by resource in handler_*.c.
 * A handler reads the request (path params, query, JSON body), calls a service
 * (service_*.c), and replies. It holds no SQL and touches no storage itself. */
#ifndef COFFER_SERVER_HANDLERS_H
#define COFFER_SERVER_HANDLERS_H

#include "http.h"

/* handler_tokens.c */
void cf_h_token_mint(struct cf_request *req);
void cf_h_token_list(struct cf_request *req);
void cf_h_token_revoke(struct cf_request *req);
void cf_h_whoami(struct cf_request *req);
void cf_h_permissions(struct cf_request *req);

/* handler_accounts.c */
void cf_h_account_create(struct cf_request *req);
void cf_h_account_list(struct cf_request *req);
void cf_h_account_get(struct cf_request *req);
void cf_h_account_update(struct cf_request *req);
void cf_h_account_delete(struct cf_request *req);

/* handler_collections.c */
void cf_h_collection_create(struct cf_request *req);
void cf_h_collection_list(struct cf_request *req);
void cf_h_collection_get(struct cf_request *req);
void cf_h_collection_update(struct cf_request *req);
void cf_h_collection_delete(struct cf_request *req);

/* handler_versions.c */
void cf_h_upload_begin(struct cf_request *req);
void cf_h_upload_data(struct cf_request *req, const char *data, size_t len);
void cf_h_upload_finish(struct cf_request *req);
void cf_h_upload_end(struct cf_request *req, bool completed);
void cf_h_version_list(struct cf_request *req);
void cf_h_version_download(struct cf_request *req);
void cf_h_version_delete(struct cf_request *req);

/* handler_health.c */
void cf_h_health(struct cf_request *req);
void cf_h_ready(struct cf_request *req);
void cf_h_live(struct cf_request *req);

/* handler_metrics.c */
void cf_h_metrics_prometheus(struct cf_request *req);
void cf_h_metrics_influx(struct cf_request *req);

#endif
