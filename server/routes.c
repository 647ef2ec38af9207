/* The route table: every path the server answers, its permission, its handler.
 * Read this file to know what the API is made of. */
#include "handlers.h"
#include "http.h"
#include "permissions.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define API        "/api/stable"
#define COLLECTION API "/repository/collection"

#define JSON_ROUTE(method, pattern, perm, handler)                                                           \
    {                                                                                                        \
        method, pattern, true, perm, false, handler, NULL, NULL, NULL                                        \
    }
#define PUBLIC_ROUTE(method, pattern, handler)                                                               \
    {                                                                                                        \
        method, pattern, false, 0, false, handler, NULL, NULL, NULL                                          \
    }

const struct cf_route cf_routes[] = {
    JSON_ROUTE("POST", API "/auth/token", CF_PERM_TOKENS_CREATE, cf_h_token_mint),
    JSON_ROUTE("GET", API "/auth/token", CF_PERM_TOKENS_VIEW, cf_h_token_list),
    /* Revoking one's own token needs no permission: the handler checks the rest. */
    JSON_ROUTE("DELETE", API "/auth/token/{}", 0, cf_h_token_revoke),
    JSON_ROUTE("GET", API "/auth/whoami", 0, cf_h_whoami),
    JSON_ROUTE("GET", API "/auth/permissions", 0, cf_h_permissions),

    JSON_ROUTE("POST", API "/accounts", CF_PERM_ACCOUNTS_MANAGE, cf_h_account_create),
    JSON_ROUTE("GET", API "/accounts", CF_PERM_ACCOUNTS_MANAGE, cf_h_account_list),
    JSON_ROUTE("GET", API "/accounts/{}", CF_PERM_ACCOUNTS_MANAGE, cf_h_account_get),
    JSON_ROUTE("PUT", API "/accounts/{}", CF_PERM_ACCOUNTS_MANAGE, cf_h_account_update),
    JSON_ROUTE("DELETE", API "/accounts/{}", CF_PERM_ACCOUNTS_MANAGE, cf_h_account_delete),

    JSON_ROUTE("POST", COLLECTION, CF_PERM_COLLECTIONS_CREATE, cf_h_collection_create),
    JSON_ROUTE("GET", COLLECTION, CF_PERM_COLLECTIONS_VIEW, cf_h_collection_list),
    JSON_ROUTE("GET", COLLECTION "/{}", CF_PERM_COLLECTIONS_VIEW, cf_h_collection_get),
    JSON_ROUTE("PUT", COLLECTION "/{}", CF_PERM_COLLECTIONS_MODIFY, cf_h_collection_update),
    JSON_ROUTE("DELETE", COLLECTION "/{}", CF_PERM_COLLECTIONS_DELETE, cf_h_collection_delete),

    {"POST", COLLECTION "/{}/versions", true, CF_PERM_VERSIONS_UPLOAD, true, cf_h_upload_finish,
     cf_h_upload_begin, cf_h_upload_data, cf_h_upload_end},
    JSON_ROUTE("GET", COLLECTION "/{}/versions", CF_PERM_VERSIONS_LIST, cf_h_version_list),
    JSON_ROUTE("GET", COLLECTION "/{}/versions/{}", CF_PERM_VERSIONS_DOWNLOAD, cf_h_version_download),
    /* HEAD shows metadata only, so listing is enough. */
    JSON_ROUTE("HEAD", COLLECTION "/{}/versions/{}", CF_PERM_VERSIONS_LIST, cf_h_version_download),
    JSON_ROUTE("DELETE", COLLECTION "/{}/versions/{}", CF_PERM_VERSIONS_DELETE, cf_h_version_delete),

    PUBLIC_ROUTE("GET", "/health", cf_h_health),
    PUBLIC_ROUTE("GET", "/ready", cf_h_ready),
    PUBLIC_ROUTE("GET", "/live", cf_h_live),
    /* The metrics routes check their own secret (or a metrics.view token). */
    PUBLIC_ROUTE("GET", "/metrics", cf_h_metrics_prometheus),
    PUBLIC_ROUTE("GET", "/metrics/backup_repository_report/influxdb", cf_h_metrics_influx),
};
const size_t cf_route_count = sizeof(cf_routes) / sizeof(cf_routes[0]);

/* Whether path fits pattern; copies the {} segments into params when given. */
static bool pattern_match(const char *pattern, const char *path, char **params)
{
    int nparam = 0;

    while (*pattern != '\0' && *path != '\0') {
        if (pattern[0] == '{' && pattern[1] == '}') {
            size_t len = strcspn(path, "/");
            if (len == 0 || nparam >= CF_ROUTE_MAX_PARAMS)
                return false;
            if (params != NULL)
                params[nparam] = strndup(path, len);
            nparam++;
            path += len;
            pattern += 2;
        } else if (*pattern == *path) {
            pattern++;
            path++;
        } else {
            return false;
        }
    }
    return *pattern == '\0' && *path == '\0';
}

static void params_clear(char **params)
{
    for (int i = 0; i < CF_ROUTE_MAX_PARAMS; i++) {
        free(params[i]);
        params[i] = NULL;
    }
}

const struct cf_route *cf_route_match(const char *method, const char *path, char **params, bool *path_known,
                                      char *allow, size_t allow_len)
{
    size_t used = 0;

    *path_known = false;
    allow[0] = '\0';
    for (size_t i = 0; i < cf_route_count; i++) {
        const struct cf_route *route = &cf_routes[i];
        /* HEAD falls back to GET wherever no HEAD route of its own exists. */
        bool head_as_get = strcmp(method, "HEAD") == 0 && strcmp(route->method, "GET") == 0;

        if (!pattern_match(route->pattern, path, NULL))
            continue;
        *path_known = true;
        if (strcmp(route->method, method) == 0 || head_as_get) {
            if (head_as_get && i + 1 < cf_route_count && strcmp(cf_routes[i + 1].method, "HEAD") == 0 &&
                strcmp(cf_routes[i + 1].pattern, route->pattern) == 0)
                continue;
            pattern_match(route->pattern, path, params);
            return route;
        }
        used += (size_t)snprintf(allow + used, used < allow_len ? allow_len - used : 0, "%s%s",
                                 used > 0 ? ", " : "", route->method);
    }
    params_clear(params);
    return NULL;
}
