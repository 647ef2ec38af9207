/* Where a request enters: the libmicrohttpd daemon (http_server.c), the route
 * table (routes.c), and the helpers handlers use to read a request and queue
 * the reply (http_reply.c).
 *
 * Life of a request: MHD calls http_server.c several times per request. On the
 * first call it finds the route (404/405 otherwise), authenticates /api/ calls
 * and checks the route's permission, then either
 *   - buffers a JSON body (bounded by max_json_body) and calls route->handle
 *     once it is complete, or
 *   - for streaming routes (uploads), calls route->stream_begin on the first
 *     call (which may reply at once to refuse early), route->stream_data for
 *     each piece of body, and route->handle at the end.
 * A handler replies with one of the cf_reply_* functions; http_server.c
 * queues it. Per-request state is freed in MHD's completion callback. */
#ifndef COFFER_SERVER_HTTP_H
#define COFFER_SERVER_HTTP_H

#include "app.h"
#include "common/buf.h"
#include "common/error.h"
#include "principal.h"

#include <jansson.h>
#include <microhttpd.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#define CF_ROUTE_MAX_PARAMS 3

struct cf_request;

struct cf_route {
    const char *method;  /* "GET", "POST", ... */
    const char *pattern; /* "/api/stable/repository/collection/{}" : {} matches one segment */
    bool authenticated;  /* needs a bearer token */
    uint32_t permission; /* checked before the handler when non-zero */
    bool streaming;      /* body goes to stream_data instead of a JSON buffer */
    void (*handle)(struct cf_request *req);
    /* Streaming routes only. stream_begin may reply to refuse the upload early.
     * stream_data consumes the piece; after a failure it records req->error and
     * returns, and later pieces are discarded. */
    void (*stream_begin)(struct cf_request *req);
    void (*stream_data)(struct cf_request *req, const char *data, size_t len);
    /* Frees req->handler_state; called once when the request ends, whatever happened.
     * completed is false when the client went away or the server stopped. */
    void (*stream_end)(struct cf_request *req, bool completed);
};

struct cf_request {
    struct cf_app *app;
    struct MHD_Connection *conn;
    const char *method; /* borrowed from MHD for the request's life */
    const char *path;
    const struct cf_route *route;
    char *params[CF_ROUTE_MAX_PARAMS]; /* owned copies of the {} segments */
    struct cf_principal principal;
    char peer[64];      /* the connection's address, "unix" over the unix socket */
    char client_ip[64]; /* the client's: peer, or X-Real-IP from the trusted proxy (proxy.h) */
    struct cf_buf body;
    void *handler_state;
    struct cf_error error;         /* a failure to report once the body is read */
    struct MHD_Response *response; /* the reply, queued by http_server.c */
    unsigned status;
    cf_code reply_code;      /* the error replied, CF_OK for a success (metrics) */
    struct timespec started; /* CLOCK_MONOTONIC at the first byte (metrics) */
};

/* The daemon. */
struct cf_http_server;
cf_code cf_http_server_start(struct cf_app *app, struct cf_http_server **out, struct cf_error *err);
/* The TCP port actually bound (useful with port 0). */
uint16_t cf_http_server_port(const struct cf_http_server *server);
void cf_http_server_stop(struct cf_http_server *server);

/* The route table (routes.c). */
extern const struct cf_route cf_routes[];
extern const size_t cf_route_count;
/* Finds the route for method and path, filling params (owned copies). Returns
 * NULL and sets *path_known when the path exists with other methods (405), in
 * which case allow (size allow_len) lists them. */
const struct cf_route *cf_route_match(const char *method, const char *path, char **params, bool *path_known,
                                      char *allow, size_t allow_len);

/* Reading a request. */
const char *cf_request_header(const struct cf_request *req, const char *name);
const char *cf_request_query(const struct cf_request *req, const char *name);
/* Parses the buffered body as a JSON object; an empty body is an empty object.
 * CF_E_INVALID_JSON otherwise. Caller decrefs *out. */
cf_code cf_request_json(struct cf_request *req, json_t **out, struct cf_error *err);

/* Replying: each queues exactly one reply; calling a second one replaces the first. */
/* Steals body. */
void cf_reply_json(struct cf_request *req, unsigned status, json_t *body);
void cf_reply_error(struct cf_request *req, const struct cf_error *err);
/* A reply with no body (204, or 200 to a HEAD). */
void cf_reply_empty(struct cf_request *req, unsigned status);
/* Takes ownership of a response built by the handler (downloads). */
void cf_reply_response(struct cf_request *req, unsigned status, struct MHD_Response *response);
/* The usual end of a handler: when code is CF_OK replies status with
 * {"<key>": value} (or value itself when key is NULL, or no body for 204),
 * else replies err. Steals value; disposes err. */
void cf_reply_outcome(struct cf_request *req, cf_code code, unsigned status, const char *key, json_t *value,
                      struct cf_error *err);
/* cf_fail + cf_reply_error in one step. */
void cf_reply_fail(struct cf_request *req, cf_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
