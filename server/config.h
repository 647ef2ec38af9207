/* cofferd's configuration: one table of options (config.c) with their types,
 * defaults, bounds and help. The file parser, the COFFER_* environment, the
 * command-line flags, validation, --print-config and the shipped
 * conf/cofferd.conf all come from that table.
 *
 * Precedence: built-in default < file < environment < command line. */
#ifndef COFFER_SERVER_CONFIG_H
#define COFFER_SERVER_CONFIG_H

#include "common/error.h"
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* Room in struct cf_config for the origin of each option (config.c checks). */
#define CF_CONFIG_MAX_OPTIONS 96

struct cf_config {
    /* http */
    char *listen_address;
    int64_t port;
    int64_t max_connections;
    int64_t connection_timeout;
    int64_t max_json_body;
    char *base_url;
    char *app_env;
    char *listen_unix;
    /* the NGINX temp-file handoff */
    char *trusted_proxies;
    char *nginx_temp_dir;
    char *proxy_secret;
    /* database */
    char *database_url;
    int64_t db_pool_size;
    int64_t db_acquire_timeout_ms;
    /* storage */
    char *storage_backend;
    char *storage_path;
    char *s3_endpoint;
    char *s3_bucket;
    char *s3_region;
    char *s3_access_key;
    char *s3_secret_key;
    char *s3_secret_key_file;
    char *s3_addressing;
    char *s3_prefix;
    int64_t s3_part_size;
    bool s3_tls_verify;
    char *s3_ca_file;
    int64_t s3_timeout;
    int64_t compression_level;
    int64_t compression_threads;
    int64_t cleanup_interval;
    int64_t stale_upload_timeout;
    /* tokens */
    char *jwt_algorithm;
    char *jwt_secret_file;
    char *jwt_private_key_file;
    char *jwt_public_key_file;
    int64_t token_default_ttl;
    int64_t token_max_ttl;
    int64_t auth_failure_limit;
    int64_t auth_failure_window;
    /* monitoring */
    char *health_code;
    char *metrics_code;
    int64_t health_timeout_ms;
    int64_t metrics_cache_seconds;
    /* logging */
    char *log_level;
    /* testing */
    bool allow_test_clock;

    /* Where each option's value came from, by its index in cf_options: NULL
     * for the built-in default, else the source given to cf_config_set
     * ("/etc/coffer/cofferd.conf:12", "COFFER_PORT", "command line"). Owned. */
    char *origins[CF_CONFIG_MAX_OPTIONS];
};

enum cf_option_type { CF_OPT_STRING, CF_OPT_SECRET, CF_OPT_INT, CF_OPT_SIZE, CF_OPT_BOOL };

struct cf_option {
    const char *name; /* file key; env COFFER_<NAME>; flag --name (or --na-me) */
    enum cf_option_type type;
    size_t offset; /* into struct cf_config */
    const char *default_value;
    int64_t min, max;    /* bounds for numbers */
    const char *section; /* heading in --print-config */
    const char *help;
};
extern const struct cf_option cf_options[];
extern const size_t cf_option_count;

/* Fills every option with its default. */
void cf_config_init(struct cf_config *cfg);
void cf_config_dispose(struct cf_config *cfg);

/* Sets one option from text, checking type and bounds, and records source as
 * its origin. CF_E_VALIDATION with a message naming the option (and source,
 * e.g. "cofferd.conf:12") otherwise. */
cf_code cf_config_set(struct cf_config *cfg, const char *name, const char *value, const char *source,
                      struct cf_error *err);
/* Reads an INI file (keys at the top or under any [section]); an unknown key
 * or a bad value is an error with its line number. */
cf_code cf_config_load_file(struct cf_config *cfg, const char *path, struct cf_error *err);
/* Applies every COFFER_<NAME> variable that is set. */
cf_code cf_config_load_env(struct cf_config *cfg, struct cf_error *err);
/* The storage options together: storage_backend fs or s3 and, for s3, an
 * endpoint, a bucket, a region, an access key and exactly one of s3_secret_key
 * and s3_secret_key_file, s3_addressing path or virtual, a usable s3_prefix.
 * CF_E_VALIDATION naming the option otherwise. Used by every command that
 * opens the storage. */
cf_code cf_config_validate_storage(const struct cf_config *cfg, struct cf_error *err);
/* Checks what single options cannot: secrets present and distinct, key files for
 * the algorithm, the storage options (above), and so on. Used by `serve`. */
cf_code cf_config_validate_for_serve(const struct cf_config *cfg, struct cf_error *err);
/* Writes the configuration as a commented INI file. Secrets that are set are
 * written as "********" unless show_secrets. */
void cf_config_print(const struct cf_config *cfg, FILE *out, bool show_secrets);

/* Reads a whole small file (a key, a secret) into a NUL-terminated buffer the
 * caller frees; trailing newlines are stripped when strip is true. At most
 * 64 KiB. */
cf_code cf_read_small_file(const char *path, bool strip, char **out, size_t *out_len, struct cf_error *err);

#endif
