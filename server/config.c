#include "config.h"

#include "common/size.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define OPT(name, type, def, min, max, section, help)                                                        \
    {                                                                                                        \
#name, type, offsetof(struct cf_config, name), def, min, max, section, help                          \
    }

const struct cf_option cf_options[] = {
    OPT(listen_address, CF_OPT_STRING, "127.0.0.1", 0, 0, "http",
        "Address to listen on. Keep it on loopback behind NGINX."),
    OPT(port, CF_OPT_INT, "8080", 0, 65535, "http", "TCP port; 0 picks a free one and logs it."),
    OPT(max_connections, CF_OPT_INT, "512", 1, 100000, "http", "Most connections served at once."),
    OPT(connection_timeout, CF_OPT_INT, "600", 1, 86400, "http",
        "Seconds a connection may stay idle (no bytes either way) before it is closed."),
    OPT(max_json_body, CF_OPT_SIZE, "1MiB", 1024, 67108864, "http", "Largest JSON request body accepted."),
    OPT(base_url, CF_OPT_STRING, "", 0, 0, "http",
        "The public URL of this service, reported in metrics; empty means http://<listen_address>:<port>."),
    OPT(app_env, CF_OPT_STRING, "prod", 0, 0, "http",
        "Environment name reported in metrics (prod, staging, ...)."),
    OPT(listen_unix, CF_OPT_STRING, "", 0, 0, "http",
        "Also listen on this unix socket path (for NGINX on the same host); empty for none."),
    OPT(trusted_proxies, CF_OPT_STRING, "", 0, 0, "handoff",
        "Comma-separated addresses or CIDR blocks (and \"unix\" for the unix socket) whose "
        "X-Internal-Filename and X-Real-IP are believed, with proxy_secret. Empty: nobody's."),
    OPT(nginx_temp_dir, CF_OPT_STRING, "", 0, 0, "handoff",
        "NGINX's client_body_temp_path: X-Internal-Filename must name a regular file inside it."),
    OPT(proxy_secret, CF_OPT_SECRET, "", 0, 0, "handoff",
        "The X-Coffer-Proxy-Secret value NGINX adds; without it neither header is believed."),
    OPT(database_url, CF_OPT_STRING, "dbname=coffer", 0, 0, "database",
        "libpq connection string or URI of the PostgreSQL database."),
    OPT(db_pool_size, CF_OPT_INT, "16", 1, 1000, "database", "PostgreSQL connections this instance keeps."),
    OPT(db_acquire_timeout_ms, CF_OPT_INT, "5000", 10, 600000, "database",
        "Milliseconds a request waits for a free database connection before 503."),
    OPT(storage_backend, CF_OPT_STRING, "fs", 0, 0, "storage",
        "Where versions are kept: fs (a directory) or s3 (an S3-compatible object store)."),
    OPT(storage_path, CF_OPT_STRING, "var/storage", 0, 0, "storage", "Directory of the fs backend."),
    OPT(s3_endpoint, CF_OPT_STRING, "", 0, 0, "storage",
        "s3: the store's URL, scheme://host[:port] (e.g. http://127.0.0.1:7480, https://s3.amazonaws.com)."),
    OPT(s3_bucket, CF_OPT_STRING, "", 0, 0, "storage", "s3: the bucket (it must exist)."),
    OPT(s3_region, CF_OPT_STRING, "us-east-1", 0, 0, "storage", "s3: the region signed into requests."),
    OPT(s3_access_key, CF_OPT_STRING, "", 0, 0, "storage", "s3: the access key id."),
    OPT(s3_secret_key, CF_OPT_SECRET, "", 0, 0, "storage",
        "s3: the secret access key; set this or s3_secret_key_file, not both."),
    OPT(s3_secret_key_file, CF_OPT_STRING, "", 0, 0, "storage",
        "s3: a file holding the secret access key (trailing newlines ignored)."),
    OPT(s3_addressing, CF_OPT_STRING, "path", 0, 0, "storage",
        "s3: path (host/bucket/key) or virtual (bucket.host/key)."),
    OPT(s3_prefix, CF_OPT_STRING, "", 0, 0, "storage",
        "s3: put before every object key (e.g. coffer/), to share a bucket; empty for none."),
    OPT(s3_part_size, CF_OPT_SIZE, "8MiB", 5242880, 1073741824, "storage",
        "s3: bytes per multipart part, buffered in memory per upload; objects may have 10000 parts."),
    OPT(s3_tls_verify, CF_OPT_BOOL, "true", 0, 0, "storage",
        "s3: check the endpoint's TLS certificate and host name."),
    OPT(s3_ca_file, CF_OPT_STRING, "", 0, 0, "storage",
        "s3: CA bundle (PEM) for that check; empty for the system's."),
    OPT(s3_timeout, CF_OPT_INT, "30", 1, 3600, "storage",
        "s3: seconds to connect, and seconds without progress after which a request is retried."),
    OPT(compression_level, CF_OPT_INT, "3", 1, 19, "storage", "zstd level for stored versions."),
    OPT(compression_threads, CF_OPT_INT, "2", 0, 64, "storage",
        "zstd worker threads per upload; 0 compresses in the request's thread."),
    OPT(cleanup_interval, CF_OPT_INT, "300", 5, 86400, "storage",
        "Seconds between clean-up passes that remove bytes of dead uploads and deleted versions."),
    OPT(stale_upload_timeout, CF_OPT_INT, "600", 30, 604800, "storage",
        "Seconds without a heartbeat after which an upload is taken for dead and cleaned up."),
    OPT(jwt_algorithm, CF_OPT_STRING, "HS256", 0, 0, "tokens", "Signing algorithm: HS256 or ES256."),
    OPT(jwt_secret_file, CF_OPT_STRING, "", 0, 0, "tokens",
        "HS256: file holding the secret (at least 32 random bytes)."),
    OPT(jwt_private_key_file, CF_OPT_STRING, "", 0, 0, "tokens", "ES256: PEM private key (for minting)."),
    OPT(jwt_public_key_file, CF_OPT_STRING, "", 0, 0, "tokens", "ES256: PEM public key (for verifying)."),
    OPT(token_default_ttl, CF_OPT_INT, "86400", 60, 315360000, "tokens",
        "Lifetime of a minted token without ttl."),
    OPT(token_max_ttl, CF_OPT_INT, "31536000", 60, 315360000, "tokens",
        "Longest lifetime a minted token may ask for."),
    OPT(auth_failure_limit, CF_OPT_INT, "30", 0, 1000000, "tokens",
        "Failed authentications a client address may make per window before it gets 429; 0 for no limit."),
    OPT(auth_failure_window, CF_OPT_INT, "60", 1, 86400, "tokens", "Seconds of that window."),
    OPT(health_code, CF_OPT_SECRET, "", 0, 0, "monitoring", "Secret for /health?code=."),
    OPT(metrics_code, CF_OPT_SECRET, "", 0, 0, "monitoring",
        "Secret for the metrics routes; must differ from health_code."),
    OPT(health_timeout_ms, CF_OPT_INT, "4000", 100, 60000, "monitoring",
        "Milliseconds /health waits for the storage and database checks before it calls them down."),
    OPT(metrics_cache_seconds, CF_OPT_INT, "5", 0, 3600, "monitoring",
        "Seconds the catalogue figures of the metrics routes are reused between scrapes."),
    OPT(log_level, CF_OPT_STRING, "info", 0, 0, "logging", "debug, info, warn or error."),
    OPT(allow_test_clock, CF_OPT_BOOL, "false", 0, 0, "testing",
        "Lets an upload set its version's creation time (X-Coffer-Test-Time), for testing retention. "
        "Refused when app_env is prod."),
};
const size_t cf_option_count = sizeof(cf_options) / sizeof(cf_options[0]);
_Static_assert(sizeof(cf_options) / sizeof(cf_options[0]) <= CF_CONFIG_MAX_OPTIONS,
               "raise CF_CONFIG_MAX_OPTIONS in config.h");

static const struct cf_option *option_find(const char *name)
{
    char normal[64];
    size_t i;

    /* Flags may spell the name with dashes (--listen-address). */
    for (i = 0; name[i] != '\0' && i + 1 < sizeof(normal); i++)
        normal[i] = name[i] == '-' ? '_' : name[i];
    normal[i] = '\0';
    for (i = 0; i < cf_option_count; i++) {
        if (strcmp(cf_options[i].name, normal) == 0)
            return &cf_options[i];
    }
    return NULL;
}

static cf_code option_parse(struct cf_config *cfg, const struct cf_option *opt, const char *value,
                            const char *source, struct cf_error *err)
{
    void *field = (char *)cfg + opt->offset;
    int64_t number = 0;

    switch (opt->type) {
    case CF_OPT_STRING:
    case CF_OPT_SECRET: {
        char *copy = strdup(value);
        if (copy == NULL)
            return cf_fail(err, CF_E_NOMEM, "out of memory");
        free(*(char **)field);
        *(char **)field = copy;
        return CF_OK;
    }
    case CF_OPT_BOOL:
        if (strcmp(value, "true") == 0 || strcmp(value, "yes") == 0 || strcmp(value, "1") == 0)
            *(bool *)field = true;
        else if (strcmp(value, "false") == 0 || strcmp(value, "no") == 0 || strcmp(value, "0") == 0)
            *(bool *)field = false;
        else
            return cf_fail(err, CF_E_VALIDATION, "%s: %s must be true or false, not \"%s\"", source,
                           opt->name, value);
        return CF_OK;
    case CF_OPT_INT: {
        char *end = NULL;
        errno = 0;
        number = strtoll(value, &end, 10);
        if (errno != 0 || end == value || *end != '\0')
            return cf_fail(err, CF_E_VALIDATION, "%s: %s must be a whole number, not \"%s\"", source,
                           opt->name, value);
        break;
    }
    case CF_OPT_SIZE:
        if (cf_size_parse(value, &number, NULL) != CF_OK)
            return cf_fail(err, CF_E_VALIDATION,
                           "%s: %s must be a size such as 512, 10MB or 1GiB, not \"%s\"", source, opt->name,
                           value);
        break;
    }
    if (number < opt->min || number > opt->max)
        return cf_fail(err, CF_E_VALIDATION, "%s: %s must be between %lld and %lld, not %lld", source,
                       opt->name, (long long)opt->min, (long long)opt->max, (long long)number);
    *(int64_t *)field = number;
    return CF_OK;
}

/* Parses value into the option and notes where it came from. */
static cf_code option_set(struct cf_config *cfg, const struct cf_option *opt, const char *value,
                          const char *source, struct cf_error *err)
{
    char **origin = &cfg->origins[opt - cf_options];
    char *copy = strdup(source);
    cf_code code;

    if (copy == NULL)
        return cf_fail(err, CF_E_NOMEM, "out of memory");
    code = option_parse(cfg, opt, value, source, err);
    if (code != CF_OK) {
        free(copy);
        return code;
    }
    free(*origin);
    *origin = copy;
    return CF_OK;
}

void cf_config_init(struct cf_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    for (size_t i = 0; i < cf_option_count; i++) {
        /* The defaults are in bounds by construction; a failure here is a bug in the table. */
        if (option_parse(cfg, &cf_options[i], cf_options[i].default_value, "default", NULL) != CF_OK)
            abort();
    }
}

void cf_config_dispose(struct cf_config *cfg)
{
    for (size_t i = 0; i < cf_option_count; i++) {
        const struct cf_option *opt = &cf_options[i];
        free(cfg->origins[i]);
        cfg->origins[i] = NULL;
        if (opt->type == CF_OPT_STRING || opt->type == CF_OPT_SECRET) {
            char **field = (char **)((char *)cfg + opt->offset);
            free(*field);
            *field = NULL;
        }
    }
}

cf_code cf_config_set(struct cf_config *cfg, const char *name, const char *value, const char *source,
                      struct cf_error *err)
{
    const struct cf_option *opt = option_find(name);

    if (opt == NULL)
        return cf_fail(err, CF_E_VALIDATION, "%s: unknown option \"%s\" (cofferd --print-config lists them)",
                       source, name);
    return option_set(cfg, opt, value, source, err);
}

struct file_load {
    struct cf_config *cfg;
    const char *path;
    FILE *file;
    int line; /* the line inih is on: Debian's inih passes no line numbers to the handler */
    struct cf_error *err;
    cf_code code;
};

static char *file_read_line(char *str, int num, void *stream)
{
    struct file_load *load = stream;
    char *got = fgets(str, num, load->file);

    if (got == NULL)
        return NULL;
    load->line++;
    /* inih's buffer is fixed: a longer line would come back in pieces, the
     * rest read as lines of their own. Refuse it instead. */
    if (strchr(got, '\n') == NULL && !feof(load->file)) {
        load->code = cf_fail(load->err, CF_E_VALIDATION, "%s:%d: line longer than %d characters", load->path,
                             load->line, num - 2);
        return NULL;
    }
    return got;
}

static int file_entry(void *user, const char *section, const char *name, const char *value)
{
    struct file_load *load = user;
    char source[512];

    (void)section;
    if (load->code != CF_OK)
        return 0;
    snprintf(source, sizeof(source), "%s:%d", load->path, load->line);
    load->code = cf_config_set(load->cfg, name, value, source, load->err);
    return load->code == CF_OK;
}

cf_code cf_config_load_file(struct cf_config *cfg, const char *path, struct cf_error *err)
{
    struct file_load load = {cfg, path, NULL, 0, err, CF_OK};
    int rc;

    load.file = fopen(path, "re");
    if (load.file == NULL)
        return cf_fail(err, CF_E_VALIDATION, "cannot open config file %s: %s", path, strerror(errno));
    rc = ini_parse_stream(file_read_line, &load, file_entry, &load);
    fclose(load.file);
    if (load.code != CF_OK)
        return load.code;
    if (rc != 0)
        return cf_fail(err, CF_E_VALIDATION, "%s:%d: cannot parse this line", path, rc);
    return CF_OK;
}

cf_code cf_config_load_env(struct cf_config *cfg, struct cf_error *err)
{
    for (size_t i = 0; i < cf_option_count; i++) {
        char var[80] = "COFFER_";
        size_t at = strlen(var);
        const char *value;
        cf_code code;

        for (const char *p = cf_options[i].name; *p != '\0' && at + 1 < sizeof(var); p++)
            var[at++] = (char)toupper((unsigned char)*p);
        var[at] = '\0';
        value = getenv(var);
        if (value == NULL)
            continue;
        code = option_set(cfg, &cf_options[i], value, var, err);
        if (code != CF_OK)
            return code;
    }
    return CF_OK;
}

/* Characters an s3_prefix may hold: the key's own set and '/', so that no
 * prefix needs escaping in a URL. */
static bool s3_prefix_valid(const char *prefix)
{
    const char *segment = prefix;

    if (strlen(prefix) > 256 || prefix[0] == '/')
        return false;
    for (const char *p = prefix;; p++) {
        bool ok = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
                  *p == '.' || *p == '_' || *p == '-';

        if (*p == '/' || *p == '\0') {
            size_t len = (size_t)(p - segment);
            /* "a//b", "a/./b" and "a/../b" would be rewritten on their way through a URL. */
            if ((*p == '/' && len == 0) || (len == 1 && segment[0] == '.') ||
                (len == 2 && segment[0] == '.' && segment[1] == '.'))
                return false;
            if (*p == '\0')
                return true;
            segment = p + 1;
        } else if (!ok) {
            return false;
        }
    }
}

cf_code cf_config_validate_storage(const struct cf_config *cfg, struct cf_error *err)
{
    if (strcmp(cfg->storage_backend, "fs") == 0)
        return CF_OK;
    if (strcmp(cfg->storage_backend, "s3") != 0)
        return cf_fail(err, CF_E_VALIDATION, "storage_backend must be fs or s3, not \"%s\"",
                       cfg->storage_backend);
    if (cfg->s3_endpoint[0] == '\0')
        return cf_fail(err, CF_E_VALIDATION, "storage_backend s3 needs s3_endpoint");
    if (strncmp(cfg->s3_endpoint, "http://", 7) != 0 && strncmp(cfg->s3_endpoint, "https://", 8) != 0)
        return cf_fail(err, CF_E_VALIDATION, "s3_endpoint must start with http:// or https://, not \"%s\"",
                       cfg->s3_endpoint);
    if (cfg->s3_bucket[0] == '\0')
        return cf_fail(err, CF_E_VALIDATION, "storage_backend s3 needs s3_bucket");
    if (cfg->s3_region[0] == '\0')
        return cf_fail(err, CF_E_VALIDATION, "storage_backend s3 needs s3_region");
    if (cfg->s3_access_key[0] == '\0')
        return cf_fail(err, CF_E_VALIDATION, "storage_backend s3 needs s3_access_key");
    if ((cfg->s3_secret_key[0] == '\0') == (cfg->s3_secret_key_file[0] == '\0'))
        return cf_fail(err, CF_E_VALIDATION,
                       "storage_backend s3 needs one of s3_secret_key and s3_secret_key_file");
    if (strcmp(cfg->s3_addressing, "path") != 0 && strcmp(cfg->s3_addressing, "virtual") != 0)
        return cf_fail(err, CF_E_VALIDATION, "s3_addressing must be path or virtual, not \"%s\"",
                       cfg->s3_addressing);
    if (!s3_prefix_valid(cfg->s3_prefix))
        return cf_fail(
            err, CF_E_VALIDATION,
            "s3_prefix may hold A-Z a-z 0-9 . _ - and /, at most 256 of them, with no empty, \".\" or "
            "\"..\" part and no leading /, not \"%s\"",
            cfg->s3_prefix);
    return CF_OK;
}

cf_code cf_config_validate_for_serve(const struct cf_config *cfg, struct cf_error *err)
{
    cf_code code;

    if (cfg->health_code[0] == '\0' || cfg->metrics_code[0] == '\0')
        return cf_fail(err, CF_E_VALIDATION, "health_code and metrics_code must both be set");
    if (strcmp(cfg->health_code, cfg->metrics_code) == 0)
        return cf_fail(err, CF_E_VALIDATION, "health_code and metrics_code must differ");
    if (strlen(cfg->health_code) < 16 || strlen(cfg->metrics_code) < 16)
        return cf_fail(err, CF_E_VALIDATION, "health_code and metrics_code must be at least 16 characters");
    code = cf_config_validate_storage(cfg, err);
    if (code != CF_OK)
        return code;
    if (strcmp(cfg->jwt_algorithm, "HS256") == 0) {
        if (cfg->jwt_secret_file[0] == '\0')
            return cf_fail(err, CF_E_VALIDATION, "jwt_algorithm HS256 needs jwt_secret_file");
    } else if (strcmp(cfg->jwt_algorithm, "ES256") == 0) {
        if (cfg->jwt_public_key_file[0] == '\0')
            return cf_fail(err, CF_E_VALIDATION, "jwt_algorithm ES256 needs jwt_public_key_file");
    } else {
        return cf_fail(err, CF_E_VALIDATION, "jwt_algorithm must be HS256 or ES256, not \"%s\"",
                       cfg->jwt_algorithm);
    }
    if (cfg->allow_test_clock && strcmp(cfg->app_env, "prod") == 0)
        return cf_fail(err, CF_E_VALIDATION,
                       "allow_test_clock is for test servers: it is refused with app_env prod");
    if (cfg->trusted_proxies[0] != '\0' && (cfg->nginx_temp_dir[0] == '\0' || strlen(cfg->proxy_secret) < 16))
        return cf_fail(err, CF_E_VALIDATION,
                       "trusted_proxies needs nginx_temp_dir and a proxy_secret of at least 16 characters");
    if (cfg->token_default_ttl > cfg->token_max_ttl)
        return cf_fail(err, CF_E_VALIDATION, "token_default_ttl may not exceed token_max_ttl");
    return CF_OK;
}

void cf_config_print(const struct cf_config *cfg, FILE *out, bool show_secrets)
{
    const char *section = "";

    fputs("# cofferd configuration. Every option is shown; precedence is\n"
          "# built-in default < this file < COFFER_<OPTION> environment < --option=value.\n"
          "# An option set other than by its default has a \"set by\" line naming where.\n",
          out);
    for (size_t i = 0; i < cf_option_count; i++) {
        const struct cf_option *opt = &cf_options[i];
        const void *field = (const char *)cfg + opt->offset;

        if (strcmp(section, opt->section) != 0) {
            section = opt->section;
            fprintf(out, "\n[%s]\n", section);
        }
        fprintf(out, "# %s", opt->help);
        if (opt->type == CF_OPT_INT || opt->type == CF_OPT_SIZE)
            fprintf(out, " (%lld..%lld)", (long long)opt->min, (long long)opt->max);
        fprintf(out, "\n");
        if (cfg->origins[i] != NULL)
            fprintf(out, "# set by %s%s\n", strncmp(cfg->origins[i], "COFFER_", 7) == 0 ? "the environment, " : "",
                    cfg->origins[i]);
        switch (opt->type) {
        case CF_OPT_STRING:
            fprintf(out, "%s = %s\n", opt->name, *(char *const *)field);
            break;
        case CF_OPT_SECRET: {
            const char *value = *(char *const *)field;
            fprintf(out, "%s = %s\n", opt->name, (show_secrets || value[0] == '\0') ? value : "********");
            break;
        }
        case CF_OPT_INT:
        case CF_OPT_SIZE:
            fprintf(out, "%s = %lld\n", opt->name, (long long)*(const int64_t *)field);
            break;
        case CF_OPT_BOOL:
            fprintf(out, "%s = %s\n", opt->name, *(const bool *)field ? "true" : "false");
            break;
        }
    }
}

cf_code cf_read_small_file(const char *path, bool strip, char **out, size_t *out_len, struct cf_error *err)
{
    enum { MAX_SMALL_FILE = 64 * 1024 };
    char *data = NULL;
    size_t len = 0;
    ssize_t got;
    int fd = -1;
    cf_code code = CF_OK;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        code = cf_fail(err, CF_E_IO, "cannot open %s: %s", path, strerror(errno));
        goto out;
    }
    data = malloc(MAX_SMALL_FILE + 1);
    if (data == NULL) {
        code = cf_fail(err, CF_E_NOMEM, "out of memory");
        goto out;
    }
    while (len < MAX_SMALL_FILE) {
        got = read(fd, data + len, MAX_SMALL_FILE - len);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            code = cf_fail(err, CF_E_IO, "cannot read %s: %s", path, strerror(errno));
            goto out;
        }
        if (got == 0)
            break;
        len += (size_t)got;
    }
    if (len == MAX_SMALL_FILE) {
        code = cf_fail(err, CF_E_IO, "%s is larger than 64 KiB", path);
        goto out;
    }
    while (strip && len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r'))
        len--;
    data[len] = '\0';
    *out = data;
    data = NULL;
    if (out_len != NULL)
        *out_len = len;
out:
    free(data);
    if (fd >= 0)
        close(fd);
    return code;
}
