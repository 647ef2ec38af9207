#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "server/config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A temporary file holding text; the caller unlinks path. */
static void write_temp(char *path, size_t path_len, const char *text)
{
    FILE *file;
    int fd;

    snprintf(path, path_len, "/tmp/coffer-test-config-XXXXXX");
    fd = mkstemp(path);
    assert_true(fd >= 0);
    file = fdopen(fd, "w");
    assert_non_null(file);
    assert_true(fputs(text, file) >= 0);
    assert_int_equal(fclose(file), 0);
}

static void expect_message(const struct cf_error *err, const char *needle)
{
    if (strstr(err->message, needle) == NULL)
        fail_msg("message \"%s\" does not mention \"%s\"", err->message, needle);
}

/* Every COFFER_<OPTION> unset, so that the caller's environment cannot leak in. */
static void clear_env(void)
{
    for (size_t i = 0; i < cf_option_count; i++) {
        char var[80] = "COFFER_";
        size_t at = strlen(var);
        for (const char *p = cf_options[i].name; *p != '\0' && at + 1 < sizeof(var); p++)
            var[at++] = (char)toupper((unsigned char)*p);
        var[at] = '\0';
        unsetenv(var);
    }
}

static void set_ok(struct cf_config *cfg, const char *name, const char *value)
{
    struct cf_error err;

    cf_error_init(&err);
    if (cf_config_set(cfg, name, value, "test", &err) != CF_OK)
        fail_msg("%s = %s refused: %s", name, value, err.message);
    cf_error_dispose(&err);
}

static void expect_set_refused(struct cf_config *cfg, const char *name, const char *value, const char *source,
                               const char *message)
{
    struct cf_error err;

    cf_error_init(&err);
    assert_int_equal(cf_config_set(cfg, name, value, source, &err), CF_E_VALIDATION);
    assert_int_equal(err.code, CF_E_VALIDATION);
    assert_string_equal(err.message, message);
    cf_error_dispose(&err);
}

static void test_defaults(void **state)
{
    struct cf_config cfg;

    (void)state;
    cf_config_init(&cfg);
    assert_string_equal(cfg.listen_address, "127.0.0.1");
    assert_int_equal(cfg.port, 8080);
    assert_int_equal(cfg.max_connections, 512);
    assert_int_equal(cfg.connection_timeout, 600);
    assert_int_equal(cfg.max_json_body, 1048576);
    assert_string_equal(cfg.base_url, "");
    assert_string_equal(cfg.app_env, "prod");
    assert_string_equal(cfg.database_url, "dbname=coffer");
    assert_int_equal(cfg.db_pool_size, 16);
    assert_int_equal(cfg.db_acquire_timeout_ms, 5000);
    assert_string_equal(cfg.storage_backend, "fs");
    assert_string_equal(cfg.storage_path, "var/storage");
    assert_int_equal(cfg.compression_level, 3);
    assert_int_equal(cfg.compression_threads, 2);
    assert_int_equal(cfg.cleanup_interval, 300);
    assert_int_equal(cfg.stale_upload_timeout, 600);
    assert_string_equal(cfg.jwt_algorithm, "HS256");
    assert_string_equal(cfg.jwt_secret_file, "");
    assert_string_equal(cfg.jwt_private_key_file, "");
    assert_string_equal(cfg.jwt_public_key_file, "");
    assert_int_equal(cfg.token_default_ttl, 86400);
    assert_int_equal(cfg.token_max_ttl, 31536000);
    assert_string_equal(cfg.health_code, "");
    assert_string_equal(cfg.metrics_code, "");
    assert_string_equal(cfg.log_level, "info");
    cf_config_dispose(&cfg);
}

static void test_option_table_is_consistent(void **state)
{
    struct cf_config cfg;

    (void)state;
    cf_config_init(&cfg);
    assert_true(cf_option_count >= 25);
    for (size_t i = 0; i < cf_option_count; i++) {
        const struct cf_option *opt = &cf_options[i];
        assert_non_null(opt->name);
        assert_non_null(opt->default_value);
        assert_non_null(opt->section);
        assert_non_null(opt->help);
        assert_true(opt->offset < sizeof(cfg));
        if (opt->type == CF_OPT_INT || opt->type == CF_OPT_SIZE)
            assert_true(opt->min <= opt->max);
        for (size_t j = i + 1; j < cf_option_count; j++)
            assert_string_not_equal(opt->name, cf_options[j].name);
        /* Every default goes through the same checks as a user's value. */
        set_ok(&cfg, opt->name, opt->default_value);
    }
    cf_config_dispose(&cfg);
}

static void test_set_values(void **state)
{
    struct cf_config cfg;

    (void)state;
    cf_config_init(&cfg);
    set_ok(&cfg, "port", "0");
    assert_int_equal(cfg.port, 0);
    set_ok(&cfg, "port", "65535");
    assert_int_equal(cfg.port, 65535);
    set_ok(&cfg, "listen_address", "0.0.0.0");
    assert_string_equal(cfg.listen_address, "0.0.0.0");
    /* Flags spell names with dashes. */
    set_ok(&cfg, "listen-address", "::1");
    assert_string_equal(cfg.listen_address, "::1");
    set_ok(&cfg, "db-pool-size", "4");
    assert_int_equal(cfg.db_pool_size, 4);
    set_ok(&cfg, "health_code", "0123456789abcdef");
    assert_string_equal(cfg.health_code, "0123456789abcdef");
    set_ok(&cfg, "base_url", "");
    assert_string_equal(cfg.base_url, "");
    cf_config_dispose(&cfg);
}

static void test_set_type_and_bounds_errors(void **state)
{
    struct cf_config cfg;

    (void)state;
    cf_config_init(&cfg);
    expect_set_refused(&cfg, "port", "http", "--port", "--port: port must be a whole number, not \"http\"");
    expect_set_refused(&cfg, "port", "", "cofferd.conf:3",
                       "cofferd.conf:3: port must be a whole number, not \"\"");
    expect_set_refused(&cfg, "port", "80x", "test", "test: port must be a whole number, not \"80x\"");
    expect_set_refused(&cfg, "port", "8.5", "test", "test: port must be a whole number, not \"8.5\"");
    expect_set_refused(&cfg, "port", "99999999999999999999", "test",
                       "test: port must be a whole number, not \"99999999999999999999\"");
    expect_set_refused(&cfg, "port", "65536", "COFFER_PORT",
                       "COFFER_PORT: port must be between 0 and 65535, not 65536");
    expect_set_refused(&cfg, "port", "-1", "test", "test: port must be between 0 and 65535, not -1");
    expect_set_refused(&cfg, "compression_level", "20", "test",
                       "test: compression_level must be between 1 and 19, not 20");
    expect_set_refused(&cfg, "compression_level", "0", "test",
                       "test: compression_level must be between 1 and 19, not 0");
    expect_set_refused(&cfg, "db_pool_size", "0", "test",
                       "test: db_pool_size must be between 1 and 1000, not 0");
    /* A refused value leaves the old one. */
    assert_int_equal(cfg.port, 8080);
    assert_int_equal(cfg.compression_level, 3);
    assert_int_equal(cfg.db_pool_size, 16);
    cf_config_dispose(&cfg);
}

static void test_set_sizes(void **state)
{
    struct cf_config cfg;

    (void)state;
    cf_config_init(&cfg);
    set_ok(&cfg, "max_json_body", "2MiB");
    assert_int_equal(cfg.max_json_body, 2097152);
    set_ok(&cfg, "max_json_body", "10KB");
    assert_int_equal(cfg.max_json_body, 10000);
    set_ok(&cfg, "max_json_body", "4096");
    assert_int_equal(cfg.max_json_body, 4096);
    /* Both bounds are inclusive. */
    set_ok(&cfg, "max_json_body", "1KiB");
    assert_int_equal(cfg.max_json_body, 1024);
    set_ok(&cfg, "max_json_body", "64MiB");
    assert_int_equal(cfg.max_json_body, 67108864);
    expect_set_refused(&cfg, "max_json_body", "1KB", "test",
                       "test: max_json_body must be between 1024 and 67108864, not 1000");
    expect_set_refused(&cfg, "max_json_body", "67108865", "test",
                       "test: max_json_body must be between 1024 and 67108864, not 67108865");
    expect_set_refused(&cfg, "max_json_body", "1GB", "test",
                       "test: max_json_body must be between 1024 and 67108864, not 1000000000");
    expect_set_refused(&cfg, "max_json_body", "10 MB", "test",
                       "test: max_json_body must be a size such as 512, 10MB or 1GiB, not \"10 MB\"");
    expect_set_refused(&cfg, "max_json_body", "1mb", "test",
                       "test: max_json_body must be a size such as 512, 10MB or 1GiB, not \"1mb\"");
    expect_set_refused(&cfg, "max_json_body", "-2MiB", "test",
                       "test: max_json_body must be a size such as 512, 10MB or 1GiB, not \"-2MiB\"");
    expect_set_refused(&cfg, "max_json_body", "99999999TB", "test",
                       "test: max_json_body must be a size such as 512, 10MB or 1GiB, not \"99999999TB\"");
    assert_int_equal(cfg.max_json_body, 67108864);
    cf_config_dispose(&cfg);
}

static void test_set_unknown_option(void **state)
{
    struct cf_config cfg;

    (void)state;
    cf_config_init(&cfg);
    expect_set_refused(&cfg, "prot", "80", "--prot",
                       "--prot: unknown option \"prot\" (cofferd --print-config lists them)");
    expect_set_refused(&cfg, "Port", "80", "test",
                       "test: unknown option \"Port\" (cofferd --print-config lists them)");
    expect_set_refused(&cfg, "", "80", "test",
                       "test: unknown option \"\" (cofferd --print-config lists them)");
    expect_set_refused(&cfg, "port_", "80", "test",
                       "test: unknown option \"port_\" (cofferd --print-config lists them)");
    cf_config_dispose(&cfg);
}

static void test_load_file(void **state)
{
    struct cf_config cfg;
    struct cf_error err;
    char path[64];
    cf_code code;

    (void)state;
    write_temp(path, sizeof(path),
               "# cofferd test configuration\n"
               "; another comment\n"
               "log_level = debug\n"
               "\n"
               "[http]\n"
               "port = 9001\n"
               "max_json_body = 2MiB\n"
               "listen_address=0.0.0.0\n"
               "app_env = staging ; inline comment\n"
               "\n"
               "[database]\n"
               "database_url = host=/run/postgresql dbname=coffer_test\n"
               "db_pool_size = 4\n"
               "[monitoring]\n"
               "health_code = aaaaaaaaaaaaaaaa\n");
    cf_config_init(&cfg);
    cf_error_init(&err);
    code = cf_config_load_file(&cfg, path, &err);
    unlink(path);
    if (code != CF_OK)
        fail_msg("refused: %s", err.message);
    assert_string_equal(cfg.log_level, "debug");
    assert_int_equal(cfg.port, 9001);
    assert_int_equal(cfg.max_json_body, 2097152);
    assert_string_equal(cfg.listen_address, "0.0.0.0");
    assert_string_equal(cfg.app_env, "staging");
    assert_string_equal(cfg.database_url, "host=/run/postgresql dbname=coffer_test");
    assert_int_equal(cfg.db_pool_size, 4);
    assert_string_equal(cfg.health_code, "aaaaaaaaaaaaaaaa");
    /* What the file does not name keeps its default. */
    assert_int_equal(cfg.compression_level, 3);
    cf_error_dispose(&err);
    cf_config_dispose(&cfg);
}

static void test_load_file_unknown_key_has_its_line(void **state)
{
    struct cf_config cfg;
    struct cf_error err;
    char path[64];
    cf_code code;
    char expected[256];

    (void)state;
    write_temp(path, sizeof(path),
               "# line 1\n"
               "[http]\n"
               "port = 9001\n"
               "\n"
               "; line 5\n"
               "[storage]\n"
               "storage_path = /srv/coffer\n"
               "compresion_level = 5\n"
               "compression_level = 7\n");
    cf_config_init(&cfg);
    cf_error_init(&err);
    code = cf_config_load_file(&cfg, path, &err);
    unlink(path);
    assert_int_equal(code, CF_E_VALIDATION);
    assert_int_equal(err.code, CF_E_VALIDATION);
    snprintf(expected, sizeof(expected),
             "%s:8: unknown option \"compresion_level\" (cofferd --print-config lists them)", path);
    assert_string_equal(err.message, expected);
    /* Loading stops at the first error. */
    assert_int_equal(cfg.compression_level, 3);
    cf_error_dispose(&err);
    cf_config_dispose(&cfg);
}

static void test_load_file_bad_value_has_its_line(void **state)
{
    struct cf_config cfg;
    struct cf_error err;
    char path[64];
    cf_code code;
    char expected[256];

    (void)state;
    write_temp(path, sizeof(path),
               "[http]\n"
               "# the port\n"
               "port = 8081\n"
               "max_connections = 10\n"
               "\n"
               "\n"
               "[tokens]\n"
               "token_max_ttl = forever\n");
    cf_config_init(&cfg);
    cf_error_init(&err);
    code = cf_config_load_file(&cfg, path, &err);
    unlink(path);
    assert_int_equal(code, CF_E_VALIDATION);
    snprintf(expected, sizeof(expected), "%s:8: token_max_ttl must be a whole number, not \"forever\"", path);
    assert_string_equal(err.message, expected);
    assert_int_equal(cfg.port, 8081);
    cf_error_dispose(&err);
    cf_config_dispose(&cfg);
}

static void test_load_file_syntax_error_has_its_line(void **state)
{
    struct cf_config cfg;
    struct cf_error err;
    char path[64];
    cf_code code;
    char expected[256];

    (void)state;
    write_temp(path, sizeof(path),
               "[http]\n"
               "port = 8081\n"
               "this line has no equals sign\n"
               "max_connections = 10\n");
    cf_config_init(&cfg);
    cf_error_init(&err);
    code = cf_config_load_file(&cfg, path, &err);
    unlink(path);
    assert_int_equal(code, CF_E_VALIDATION);
    assert_int_equal(err.code, CF_E_VALIDATION);
    snprintf(expected, sizeof(expected), "%s:3: cannot parse this line", path);
    assert_string_equal(err.message, expected);
    cf_error_dispose(&err);
    cf_config_dispose(&cfg);
}

/* A libpq URI with its parameters easily passes 200 characters, inih's
 * default line buffer: the value must arrive whole, or the line be refused
 * with its own number, never cut silently or blamed on the next line. */
static void test_load_file_long_line(void **state)
{
    struct cf_config cfg;
    struct cf_error err;
    char path[64];
    char url[301];
    char text[512];
    char expected_line[80];
    cf_code code;

    (void)state;
    memset(url, 'u', sizeof(url) - 1);
    memcpy(url, "postgresql://", 13);
    url[sizeof(url) - 1] = '\0';
    snprintf(text, sizeof(text), "# comment\n[database]\ndatabase_url = %s\nport = 8082\n", url);
    write_temp(path, sizeof(path), text);
    cf_config_init(&cfg);
    cf_error_init(&err);
    code = cf_config_load_file(&cfg, path, &err);
    unlink(path);
    if (code == CF_OK) {
        assert_string_equal(cfg.database_url, url);
        assert_int_equal(cfg.port, 8082);
    } else {
        snprintf(expected_line, sizeof(expected_line), "%s:3:", path);
        if (strncmp(err.message, expected_line, strlen(expected_line)) != 0)
            fail_msg("a %zu-character line 3 is refused as \"%s\" (database_url now %zu characters)",
                     strlen("database_url = ") + strlen(url), err.message, strlen(cfg.database_url));
    }
    cf_error_dispose(&err);
    cf_config_dispose(&cfg);
}

static void test_load_file_missing(void **state)
{
    struct cf_config cfg;
    struct cf_error err;

    (void)state;
    cf_config_init(&cfg);
    cf_error_init(&err);
    assert_int_equal(cf_config_load_file(&cfg, "/nonexistent/coffer/cofferd.conf", &err), CF_E_VALIDATION);
    assert_int_equal(err.code, CF_E_VALIDATION);
    expect_message(&err, "cannot open config file /nonexistent/coffer/cofferd.conf");
    cf_error_dispose(&err);
    cf_config_dispose(&cfg);
}

static void test_env_overrides(void **state)
{
    struct cf_config cfg;
    struct cf_error err;
    char path[64];
    cf_code code;

    (void)state;
    clear_env();
    write_temp(path, sizeof(path), "port = 9001\nlog_level = warn\n");
    cf_config_init(&cfg);
    cf_error_init(&err);
    code = cf_config_load_file(&cfg, path, &err);
    unlink(path);
    assert_int_equal(code, CF_OK);
    assert_int_equal(cfg.port, 9001);

    /* Nothing set: nothing changes. */
    assert_int_equal(cf_config_load_env(&cfg, &err), CF_OK);
    assert_int_equal(cfg.port, 9001);

    /* The environment beats the file. */
    setenv("COFFER_PORT", "9100", 1);
    setenv("COFFER_MAX_JSON_BODY", "4MiB", 1);
    setenv("COFFER_DATABASE_URL", "dbname=other", 1);
    setenv("COFFER_NOT_AN_OPTION", "whatever", 1);
    assert_int_equal(cf_config_load_env(&cfg, &err), CF_OK);
    assert_int_equal(cfg.port, 9100);
    assert_int_equal(cfg.max_json_body, 4194304);
    assert_string_equal(cfg.database_url, "dbname=other");
    assert_string_equal(cfg.log_level, "warn");

    setenv("COFFER_PORT", "ninety", 1);
    assert_int_equal(cf_config_load_env(&cfg, &err), CF_E_VALIDATION);
    assert_int_equal(err.code, CF_E_VALIDATION);
    assert_string_equal(err.message, "COFFER_PORT: port must be a whole number, not \"ninety\"");
    setenv("COFFER_PORT", "70000", 1);
    assert_int_equal(cf_config_load_env(&cfg, &err), CF_E_VALIDATION);
    assert_string_equal(err.message, "COFFER_PORT: port must be between 0 and 65535, not 70000");
    assert_int_equal(cfg.port, 9100);

    unsetenv("COFFER_PORT");
    unsetenv("COFFER_MAX_JSON_BODY");
    unsetenv("COFFER_DATABASE_URL");
    unsetenv("COFFER_NOT_AN_OPTION");
    cf_error_dispose(&err);
    cf_config_dispose(&cfg);
}

/* A configuration that `serve` accepts. */
static void serve_ready(struct cf_config *cfg)
{
    cf_config_init(cfg);
    set_ok(cfg, "health_code", "health-0123456789");
    set_ok(cfg, "metrics_code", "metrics-0123456789");
    set_ok(cfg, "jwt_secret_file", "/etc/coffer/jwt.secret");
}

static void expect_serve_refused(const struct cf_config *cfg, const char *message)
{
    struct cf_error err;

    cf_error_init(&err);
    assert_int_equal(cf_config_validate_for_serve(cfg, &err), CF_E_VALIDATION);
    assert_int_equal(err.code, CF_E_VALIDATION);
    assert_string_equal(err.message, message);
    cf_error_dispose(&err);
}

static void test_validate_for_serve_ok(void **state)
{
    struct cf_config cfg;
    struct cf_error err;

    (void)state;
    serve_ready(&cfg);
    cf_error_init(&err);
    assert_int_equal(cf_config_validate_for_serve(&cfg, &err), CF_OK);
    /* ES256 verifies with the public key alone. */
    set_ok(&cfg, "jwt_algorithm", "ES256");
    set_ok(&cfg, "jwt_secret_file", "");
    set_ok(&cfg, "jwt_public_key_file", "/etc/coffer/jwt.pub");
    assert_int_equal(cf_config_validate_for_serve(&cfg, &err), CF_OK);
    cf_error_dispose(&err);
    cf_config_dispose(&cfg);
}

static void test_validate_for_serve_codes(void **state)
{
    struct cf_config cfg;

    (void)state;
    /* The defaults have no codes. */
    cf_config_init(&cfg);
    expect_serve_refused(&cfg, "health_code and metrics_code must both be set");
    cf_config_dispose(&cfg);

    serve_ready(&cfg);
    set_ok(&cfg, "health_code", "");
    expect_serve_refused(&cfg, "health_code and metrics_code must both be set");
    set_ok(&cfg, "health_code", "health-0123456789");
    set_ok(&cfg, "metrics_code", "");
    expect_serve_refused(&cfg, "health_code and metrics_code must both be set");
    set_ok(&cfg, "metrics_code", "health-0123456789");
    expect_serve_refused(&cfg, "health_code and metrics_code must differ");
    /* 15 characters is short, 16 is enough. */
    set_ok(&cfg, "metrics_code", "0123456789abcde");
    expect_serve_refused(&cfg, "health_code and metrics_code must be at least 16 characters");
    set_ok(&cfg, "metrics_code", "0123456789abcdef");
    set_ok(&cfg, "health_code", "short");
    expect_serve_refused(&cfg, "health_code and metrics_code must be at least 16 characters");
    set_ok(&cfg, "health_code", "fedcba9876543210");
    {
        struct cf_error err;
        cf_error_init(&err);
        assert_int_equal(cf_config_validate_for_serve(&cfg, &err), CF_OK);
        cf_error_dispose(&err);
    }
    cf_config_dispose(&cfg);
}

static void test_validate_for_serve_tokens_and_storage(void **state)
{
    struct cf_config cfg;

    (void)state;
    serve_ready(&cfg);
    set_ok(&cfg, "jwt_secret_file", "");
    expect_serve_refused(&cfg, "jwt_algorithm HS256 needs jwt_secret_file");
    set_ok(&cfg, "jwt_secret_file", "/etc/coffer/jwt.secret");
    set_ok(&cfg, "jwt_algorithm", "ES256");
    expect_serve_refused(&cfg, "jwt_algorithm ES256 needs jwt_public_key_file");
    set_ok(&cfg, "jwt_algorithm", "RS256");
    expect_serve_refused(&cfg, "jwt_algorithm must be HS256 or ES256, not \"RS256\"");
    set_ok(&cfg, "jwt_algorithm", "none");
    expect_serve_refused(&cfg, "jwt_algorithm must be HS256 or ES256, not \"none\"");
    set_ok(&cfg, "jwt_algorithm", "hs256");
    expect_serve_refused(&cfg, "jwt_algorithm must be HS256 or ES256, not \"hs256\"");
    set_ok(&cfg, "jwt_algorithm", "HS256");
    set_ok(&cfg, "storage_backend", "nfs");
    expect_serve_refused(&cfg, "storage_backend must be fs or s3, not \"nfs\"");
    set_ok(&cfg, "storage_backend", "s3");
    expect_serve_refused(&cfg, "storage_backend s3 needs s3_endpoint");
    set_ok(&cfg, "s3_endpoint", "http://127.0.0.1:7480");
    expect_serve_refused(&cfg, "storage_backend s3 needs s3_bucket");
    set_ok(&cfg, "s3_bucket", "backups");
    expect_serve_refused(&cfg, "storage_backend s3 needs s3_access_key");
    set_ok(&cfg, "s3_access_key", "AKIDEXAMPLE");
    expect_serve_refused(&cfg, "storage_backend s3 needs one of s3_secret_key and s3_secret_key_file");
    set_ok(&cfg, "s3_secret_key", "secret");
    set_ok(&cfg, "s3_secret_key_file", "/etc/coffer/s3.secret");
    expect_serve_refused(&cfg, "storage_backend s3 needs one of s3_secret_key and s3_secret_key_file");
    set_ok(&cfg, "s3_secret_key", "");
    set_ok(&cfg, "s3_addressing", "dns");
    expect_serve_refused(&cfg, "s3_addressing must be path or virtual, not \"dns\"");
    set_ok(&cfg, "s3_addressing", "virtual");
    set_ok(&cfg, "s3_prefix", "coffer/../other/");
    expect_serve_refused(&cfg, "s3_prefix may hold A-Z a-z 0-9 . _ - and /, at most 256 of them, with no "
                               "empty, \".\" or \"..\" part and no leading /, not \"coffer/../other/\"");
    set_ok(&cfg, "s3_prefix", "coffer/prod/");
    {
        struct cf_error err;
        cf_error_init(&err);
        assert_int_equal(cf_config_validate_for_serve(&cfg, &err), CF_OK);
        cf_error_dispose(&err);
    }
    set_ok(&cfg, "storage_backend", "fs");
    set_ok(&cfg, "token_default_ttl", "7200");
    set_ok(&cfg, "token_max_ttl", "3600");
    expect_serve_refused(&cfg, "token_default_ttl may not exceed token_max_ttl");
    set_ok(&cfg, "token_max_ttl", "7200");
    {
        struct cf_error err;
        cf_error_init(&err);
        assert_int_equal(cf_config_validate_for_serve(&cfg, &err), CF_OK);
        cf_error_dispose(&err);
    }
    cf_config_dispose(&cfg);
}

/* The printed configuration as a string the caller frees. */
static char *print_to_string(const struct cf_config *cfg, bool show_secrets)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);

    assert_non_null(out);
    cf_config_print(cfg, out, show_secrets);
    assert_int_equal(fclose(out), 0);
    assert_non_null(text);
    return text;
}

static void test_print_hides_secrets(void **state)
{
    struct cf_config cfg;
    char *text;

    (void)state;
    cf_config_init(&cfg);
    set_ok(&cfg, "health_code", "the-health-secret-1");
    set_ok(&cfg, "port", "9005");

    text = print_to_string(&cfg, false);
    assert_non_null(strstr(text, "\nhealth_code = ********\n"));
    assert_null(strstr(text, "the-health-secret-1"));
    /* An unset secret is shown empty: nothing to hide, and it tells the operator it is missing. */
    assert_non_null(strstr(text, "\nmetrics_code = \n"));
    assert_non_null(strstr(text, "\n[http]\n"));
    assert_non_null(strstr(text, "\n[monitoring]\n"));
    assert_non_null(strstr(text, "\nport = 9005\n"));
    assert_non_null(strstr(text, "\nmax_json_body = 1048576\n"));
    assert_non_null(strstr(text, "(0..65535)"));
    free(text);

    text = print_to_string(&cfg, true);
    assert_non_null(strstr(text, "\nhealth_code = the-health-secret-1\n"));
    assert_null(strstr(text, "********"));
    free(text);
    cf_config_dispose(&cfg);
}

/* --print-config says where each value that is not a default came from, the
 * later source winning: file < environment < command line. */
static void test_print_names_origins(void **state)
{
    struct cf_config cfg;
    struct cf_error err;
    char path[64], expect[128];
    char *text;

    (void)state;
    clear_env();
    write_temp(path, sizeof(path), "port = 9001\nlog_level = warn\nhealth_code = from-the-file-123\n");
    cf_config_init(&cfg);
    cf_error_init(&err);
    assert_int_equal(cf_config_load_file(&cfg, path, &err), CF_OK);
    unlink(path);
    setenv("COFFER_HEALTH_CODE", "from-the-environment", 1);
    setenv("COFFER_METRICS_CODE", "metrics-from-env-12", 1);
    assert_int_equal(cf_config_load_env(&cfg, &err), CF_OK);
    unsetenv("COFFER_HEALTH_CODE");
    unsetenv("COFFER_METRICS_CODE");
    assert_int_equal(cf_config_set(&cfg, "log-level", "error", "the command line", &err), CF_OK);
    /* A refused value leaves the origin as it was. */
    assert_int_equal(cf_config_set(&cfg, "port", "ninety", "the command line", &err), CF_E_VALIDATION);

    text = print_to_string(&cfg, false);
    snprintf(expect, sizeof(expect), "\n# set by %s:1\nport = 9001\n", path);
    assert_non_null(strstr(text, expect));
    assert_non_null(strstr(text, "\n# set by the environment, COFFER_HEALTH_CODE\nhealth_code = ********\n"));
    assert_non_null(strstr(text, "\n# set by the environment, COFFER_METRICS_CODE\nmetrics_code = ********\n"));
    assert_non_null(strstr(text, "\n# set by the command line\nlog_level = error\n"));
    /* A default has no "set by" line. */
    assert_null(strstr(text, "# set by the environment, COFFER_PORT"));
    assert_non_null(strstr(text, ")\nmax_json_body = 1048576\n"));
    free(text);
    cf_error_dispose(&err);
    cf_config_dispose(&cfg);
}

/* --print-config output is a configuration file the parser takes back. */
static void test_print_loads_back(void **state)
{
    struct cf_config cfg, back;
    struct cf_error err;
    char path[64];
    cf_code code;
    char *text;

    (void)state;
    cf_config_init(&cfg);
    set_ok(&cfg, "port", "9006");
    set_ok(&cfg, "health_code", "health-0123456789");
    set_ok(&cfg, "database_url", "host=db dbname=coffer user=coffer");
    set_ok(&cfg, "max_json_body", "3MiB");
    text = print_to_string(&cfg, true);
    write_temp(path, sizeof(path), text);
    cf_config_init(&back);
    cf_error_init(&err);
    code = cf_config_load_file(&back, path, &err);
    unlink(path);
    if (code != CF_OK)
        fail_msg("printed configuration refused: %s", err.message);
    assert_int_equal(back.port, 9006);
    assert_string_equal(back.health_code, "health-0123456789");
    assert_string_equal(back.database_url, "host=db dbname=coffer user=coffer");
    assert_int_equal(back.max_json_body, 3145728);
    assert_string_equal(back.base_url, "");
    assert_string_equal(back.jwt_algorithm, "HS256");
    cf_error_dispose(&err);
    cf_config_dispose(&back);
    cf_config_dispose(&cfg);
    free(text);
}

static void test_read_small_file(void **state)
{
    struct cf_error err;
    char path[64];
    char *data = NULL;
    size_t len = 0;
    char *big;

    (void)state;
    cf_error_init(&err);
    write_temp(path, sizeof(path), "s3cret\r\n\n");
    assert_int_equal(cf_read_small_file(path, true, &data, &len, &err), CF_OK);
    assert_string_equal(data, "s3cret");
    assert_int_equal(len, 6);
    free(data);
    assert_int_equal(cf_read_small_file(path, false, &data, &len, &err), CF_OK);
    assert_int_equal(len, 9);
    assert_memory_equal(data, "s3cret\r\n\n", 9);
    free(data);
    unlink(path);

    big = malloc(64 * 1024 + 1);
    assert_non_null(big);
    memset(big, 'x', 64 * 1024);
    big[64 * 1024] = '\0';
    write_temp(path, sizeof(path), big);
    data = NULL;
    assert_int_equal(cf_read_small_file(path, true, &data, &len, &err), CF_E_IO);
    assert_int_equal(err.code, CF_E_IO);
    expect_message(&err, "larger than 64 KiB");
    assert_null(data);
    unlink(path);
    /* One byte less fits. */
    big[64 * 1024 - 1] = '\0';
    write_temp(path, sizeof(path), big);
    assert_int_equal(cf_read_small_file(path, true, &data, NULL, &err), CF_OK);
    assert_int_equal(strlen(data), 64 * 1024 - 1);
    free(data);
    unlink(path);
    free(big);

    assert_int_equal(cf_read_small_file("/nonexistent/coffer/secret", true, &data, &len, &err), CF_E_IO);
    expect_message(&err, "cannot open /nonexistent/coffer/secret");
    cf_error_dispose(&err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_option_table_is_consistent),
        cmocka_unit_test(test_set_values),
        cmocka_unit_test(test_set_type_and_bounds_errors),
        cmocka_unit_test(test_set_sizes),
        cmocka_unit_test(test_set_unknown_option),
        cmocka_unit_test(test_load_file),
        cmocka_unit_test(test_load_file_unknown_key_has_its_line),
        cmocka_unit_test(test_load_file_bad_value_has_its_line),
        cmocka_unit_test(test_load_file_syntax_error_has_its_line),
        cmocka_unit_test(test_load_file_long_line),
        cmocka_unit_test(test_load_file_missing),
        cmocka_unit_test(test_env_overrides),
        cmocka_unit_test(test_print_names_origins),
        cmocka_unit_test(test_validate_for_serve_ok),
        cmocka_unit_test(test_validate_for_serve_codes),
        cmocka_unit_test(test_validate_for_serve_tokens_and_storage),
        cmocka_unit_test(test_print_hides_secrets),
        cmocka_unit_test(test_print_loads_back),
        cmocka_unit_test(test_read_small_file),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
