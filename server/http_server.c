/* The libmicrohttpd daemon and the life of a request (see http.h). */
#include "auth.h"
#include "cidr.h"
#include "common/log.h"
#include "http.h"
#include "metrics.h"
#include "proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* Each connection may buffer this much; MHD hands body pieces of up to about
 * half of it to the handler, so uploads arrive in pieces of ~32 KiB. MHD
 * clears the whole pool for every request, so a larger pool costs every small
 * request (256 KiB took a tenth of the server's time in bench/api). */
#define CONNECTION_MEMORY_LIMIT (64 * 1024)

struct cf_http_server {
    struct MHD_Daemon *daemon;      /* TCP */
    struct MHD_Daemon *unix_daemon; /* listen_unix, when set */
    int unix_fd;                    /* MHD's once unix_daemon runs */
    struct cf_app *app;
    uint16_t port;
};

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    char line[512];

    (void)cls;
    vsnprintf(line, sizeof(line), fmt, ap);
    line[strcspn(line, "\n")] = '\0';
    cf_log(CF_LOG_WARN, "http: %s", line);
}

static struct cf_request *request_new(struct cf_app *app, struct MHD_Connection *conn, const char *method,
                                      const char *path)
{
    struct cf_request *req = calloc(1, sizeof(*req));
    const union MHD_ConnectionInfo *info;

    if (req == NULL)
        return NULL;
    req->app = app;
    req->conn = conn;
    req->method = method;
    req->path = path;
    clock_gettime(CLOCK_MONOTONIC, &req->started);
    cf_principal_init(&req->principal);
    cf_buf_init(&req->body, (size_t)app->cfg->max_json_body);
    cf_error_init(&req->error);
    info = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    /* Connections over the unix socket have no address; they are named "unix". */
    if (info != NULL && info->client_addr != NULL && info->client_addr->sa_family == AF_UNIX)
        snprintf(req->peer, sizeof(req->peer), "unix");
    else if (info != NULL && info->client_addr != NULL)
        cf_sockaddr_text(info->client_addr, req->peer, sizeof(req->peer));
    cf_proxy_client_address(app->cfg, req->peer, cf_request_header(req, CF_PROXY_SECRET_HEADER),
                            cf_request_header(req, CF_REAL_IP_HEADER), req->client_ip, sizeof(req->client_ip));
    return req;
}

static void request_free(struct cf_request *req)
{
    for (int i = 0; i < CF_ROUTE_MAX_PARAMS; i++)
        free(req->params[i]);
    cf_principal_dispose(&req->principal);
    cf_buf_dispose(&req->body);
    cf_error_dispose(&req->error);
    if (req->response != NULL)
        MHD_destroy_response(req->response);
    free(req);
}

/* Finds the route, authenticates, checks the permission. Replies (and returns
 * false) when the request cannot go on. */
static bool request_admit(struct cf_request *req)
{
    char allow[128];
    bool path_known = false;
    struct cf_error err;
    cf_code code;

    req->route = cf_route_match(req->method, req->path, req->params, &path_known, allow, sizeof(allow));
    if (req->route == NULL) {
        if (!path_known) {
            cf_reply_fail(req, CF_E_NOT_FOUND, "no such route: %s", req->path);
        } else {
            cf_reply_fail(req, CF_E_METHOD_NOT_ALLOWED, "%s is not allowed here; use %s", req->method, allow);
            MHD_add_response_header(req->response, MHD_HTTP_HEADER_ALLOW, allow);
        }
        return false;
    }
    if (!req->route->authenticated)
        return true;
    cf_error_init(&err);
    code =
        cf_auth_authenticate(req->app, cf_request_header(req, MHD_HTTP_HEADER_AUTHORIZATION), req->client_ip,
                             cf_request_header(req, MHD_HTTP_HEADER_USER_AGENT), &req->principal, &err);
    if (code != CF_OK && cf_code_http_status(code) == 401) {
        int retry_after = cf_rate_limit_failure(req->app->auth_failures, req->client_ip, (int64_t)time(NULL));
        if (retry_after > 0) {
            char seconds[16];
            cf_fail(&err, CF_E_RATE_LIMITED, "too many failed authentications from %s; retry in %d seconds",
                    req->client_ip, retry_after);
            cf_reply_error(req, &err);
            snprintf(seconds, sizeof(seconds), "%d", retry_after);
            MHD_add_response_header(req->response, MHD_HTTP_HEADER_RETRY_AFTER, seconds);
        } else {
            cf_reply_error(req, &err);
            MHD_add_response_header(req->response, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
        }
    } else if (code != CF_OK) {
        cf_reply_error(req, &err);
    }
    if (code != CF_OK) {
        cf_error_dispose(&err);
        return false;
    }
    if (req->route->permission != 0 && !cf_principal_has(&req->principal, req->route->permission)) {
        cf_reply_fail(req, CF_E_PERMISSION_DENIED, "this token lacks the permission this call needs");
        return false;
    }
    return true;
}

static enum MHD_Result queue_reply(struct cf_request *req)
{
    enum MHD_Result ret;

    if (req->response == NULL)
        cf_reply_fail(req, CF_E_INTERNAL, "the handler gave no reply");
    ret = MHD_queue_response(req->conn, req->status, req->response);
    MHD_destroy_response(req->response);
    req->response = NULL;
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **req_cls)
{
    struct cf_app *app = cls;
    struct cf_request *req = *req_cls;

    (void)version;
    if (req == NULL) {
        req = request_new(app, conn, method, url);
        if (req == NULL)
            return MHD_NO;
        *req_cls = req;
        if (!request_admit(req))
            return queue_reply(req);
        if (req->route->streaming) {
            req->route->stream_begin(req);
            if (req->response != NULL)
                return queue_reply(req);
        }
        return MHD_YES;
    }

    if (*upload_data_size > 0) {
        if (req->error.code != CF_OK) {
            /* Already failed: the rest of the body is read and dropped. */
        } else if (req->route->streaming) {
            req->route->stream_data(req, upload_data, *upload_data_size);
        } else if (cf_buf_append(&req->body, upload_data, *upload_data_size) != CF_OK) {
            cf_fail(&req->error, CF_E_BODY_TOO_LARGE, "the request body is larger than %lld bytes",
                    (long long)app->cfg->max_json_body);
        }
        *upload_data_size = 0;
        return MHD_YES;
    }

    if (req->error.code != CF_OK)
        cf_reply_error(req, &req->error);
    else
        req->route->handle(req);
    return queue_reply(req);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct cf_request *req = *req_cls;

    (void)cls;
    (void)conn;
    if (req == NULL)
        return;
    if (req->route != NULL && req->route->stream_end != NULL)
        req->route->stream_end(req, toe == MHD_REQUEST_TERMINATED_COMPLETED_OK);
    {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        cf_metrics_request(
            req->route != NULL ? (size_t)(req->route - cf_routes) : cf_route_count, req->status,
            (double)(now.tv_sec - req->started.tv_sec) + (now.tv_nsec - req->started.tv_nsec) / 1e9);
    }
    cf_log(CF_LOG_INFO, "%s %s %u %s%s", req->method, req->path, req->status, req->client_ip,
           toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " (interrupted)");
    request_free(req);
    *req_cls = NULL;
}

/* One daemon on a socket address (TCP) or on an already listening socket
 * (listen_fd >= 0, the unix socket); the two share every handler. */
static struct MHD_Daemon *start_daemon(struct cf_app *app, unsigned int flags, const struct sockaddr *addr,
                                       int listen_fd)
{
    unsigned int limit = (unsigned int)app->cfg->max_connections;
    unsigned int timeout = (unsigned int)app->cfg->connection_timeout;

    if (listen_fd >= 0)
        return MHD_start_daemon(flags, 0, NULL, NULL, on_request, app, MHD_OPTION_EXTERNAL_LOGGER, mhd_log,
                                NULL, MHD_OPTION_NOTIFY_COMPLETED, on_completed, app,
                                MHD_OPTION_LISTEN_SOCKET, listen_fd, MHD_OPTION_CONNECTION_LIMIT, limit,
                                MHD_OPTION_CONNECTION_TIMEOUT, timeout, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
                                (size_t)CONNECTION_MEMORY_LIMIT, MHD_OPTION_END);
    return MHD_start_daemon(flags, (uint16_t)app->cfg->port, NULL, NULL, on_request, app,
                            MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, MHD_OPTION_NOTIFY_COMPLETED,
                            on_completed, app, MHD_OPTION_SOCK_ADDR, addr, MHD_OPTION_CONNECTION_LIMIT, limit,
                            MHD_OPTION_CONNECTION_TIMEOUT, timeout, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
                            (size_t)CONNECTION_MEMORY_LIMIT, MHD_OPTION_END);
}

/* A listening unix socket at path, replacing a stale socket file (never another kind of file). */
static int listen_unix(const char *path, struct cf_error *err)
{
    struct sockaddr_un sun;
    struct stat st;
    int fd;

    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(sun.sun_path)) {
        cf_fail(err, CF_E_VALIDATION, "listen_unix %s is longer than a socket path may be", path);
        return -1;
    }
    memcpy(sun.sun_path, path, strlen(path) + 1);
    if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
        unlink(path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0 || listen(fd, 128) != 0) {
        cf_fail(err, CF_E_IO, "cannot listen on unix socket %s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    /* NGINX's workers connect as their own user: group and owner may, others not. */
    chmod(path, 0660);
    return fd;
}

cf_code cf_http_server_start(struct cf_app *app, struct cf_http_server **out, struct cf_error *err)
{
    struct cf_http_server *server = NULL;
    struct sockaddr_in sin4;
    struct sockaddr_in6 sin6;
    struct sockaddr *addr;
    unsigned int flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
    const union MHD_DaemonInfo *info;

    memset(&sin4, 0, sizeof(sin4));
    memset(&sin6, 0, sizeof(sin6));
    if (inet_pton(AF_INET, app->cfg->listen_address, &sin4.sin_addr) == 1) {
        sin4.sin_family = AF_INET;
        sin4.sin_port = htons((uint16_t)app->cfg->port);
        addr = (struct sockaddr *)&sin4;
    } else if (inet_pton(AF_INET6, app->cfg->listen_address, &sin6.sin6_addr) == 1) {
        sin6.sin6_family = AF_INET6;
        sin6.sin6_port = htons((uint16_t)app->cfg->port);
        addr = (struct sockaddr *)&sin6;
    } else {
        return cf_fail(err, CF_E_VALIDATION, "listen_address \"%s\" is not an IP address",
                       app->cfg->listen_address);
    }

    server = calloc(1, sizeof(*server));
    if (server == NULL)
        return cf_fail(err, CF_E_NOMEM, "out of memory");
    server->app = app;
    server->unix_fd = -1;
    server->daemon = start_daemon(app, flags | (addr->sa_family == AF_INET6 ? MHD_USE_IPv6 : 0), addr, -1);
    if (server->daemon == NULL) {
        free(server);
        return cf_fail(err, CF_E_IO, "cannot listen on %s port %lld (in use?)", app->cfg->listen_address,
                       (long long)app->cfg->port);
    }
    info = MHD_get_daemon_info(server->daemon, MHD_DAEMON_INFO_BIND_PORT);
    server->port = info != NULL ? info->port : (uint16_t)app->cfg->port;
    if (app->cfg->listen_unix[0] != '\0') {
        server->unix_fd = listen_unix(app->cfg->listen_unix, err);
        if (server->unix_fd >= 0)
            server->unix_daemon = start_daemon(app, flags, NULL, server->unix_fd);
        if (server->unix_daemon == NULL) {
            if (server->unix_fd >= 0)
                cf_fail(err, CF_E_IO, "cannot serve the unix socket %s", app->cfg->listen_unix);
            cf_http_server_stop(server);
            return CF_E_IO;
        }
    }
    *out = server;
    return CF_OK;
}

uint16_t cf_http_server_port(const struct cf_http_server *server)
{
    return server->port;
}

void cf_http_server_stop(struct cf_http_server *server)
{
    if (server == NULL)
        return;
    MHD_stop_daemon(server->daemon);
    /* MHD closes the listening socket it was given; only the file is left to remove. */
    if (server->unix_daemon != NULL) {
        MHD_stop_daemon(server->unix_daemon);
        unlink(server->app->cfg->listen_unix);
    } else if (server->unix_fd >= 0) {
        close(server->unix_fd);
    }
    free(server);
}
