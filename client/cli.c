#include "client/cli.h"

#include "client/exit_codes.h"
#include "client/token_expiry.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void cf_cli_init(struct cf_cli *cli, const char *command, const char *help)
{
    memset(cli, 0, sizeof(*cli));
    cli->command = command;
    cli->help = help;
    cli->stderr_tty = isatty(STDERR_FILENO) == 1;
    cf_client_config_init(&cli->cfg);
}

void cf_cli_dispose(struct cf_cli *cli)
{
    cf_api_free(cli->api);
    cli->api = NULL;
    cf_client_config_dispose(&cli->cfg);
}

static void vsay(struct cf_cli *cli, const char *fmt, va_list ap)
{
    char line[2048];

    vsnprintf(line, sizeof(line), fmt, ap);
    /* One write per line, so that lines of parallel runs stay whole in a log. */
    fprintf(stderr, "coffer %s: %s\n", cli->command, line);
}

int cf_cli_usage(struct cf_cli *cli, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsay(cli, fmt, ap);
    va_end(ap);
    /* "admin token create" has its help under "admin". */
    fprintf(stderr, "Run 'coffer %.*s --help' for usage.\n", (int)strcspn(cli->command, " "), cli->command);
    return CF_EXIT_USAGE;
}

int cf_cli_config_error(struct cf_cli *cli, const struct cf_error *err)
{
    fprintf(stderr, "coffer %s: %s\n", cli->command, err->message);
    return CF_EXIT_USAGE;
}

int cf_cli_fail(struct cf_cli *cli, const struct cf_error *err)
{
    const char *hint = cf_exit_hint(err->code, cli->command);
    const char *key;
    json_t *value;

    fprintf(stderr, "coffer %s: %s\n", cli->command, err->message[0] != '\0' ? err->message : "failed");
    json_object_foreach(err->fields, key, value)
    {
        char text[512];
        cf_cli_json_text(value, text, sizeof(text));
        fprintf(stderr, "  %s: %s\n", key, text);
    }
    if (hint != NULL && cli->verbosity >= 0)
        fprintf(stderr, "  (%s)\n", hint);
    return cf_exit_status(err->code);
}

void cf_cli_info(struct cf_cli *cli, const char *fmt, ...)
{
    va_list ap;

    if (cli->verbosity < 0 || (cli->verbosity == 0 && !cli->stderr_tty))
        return;
    va_start(ap, fmt);
    vsay(cli, fmt, ap);
    va_end(ap);
}

void cf_cli_verbose(struct cf_cli *cli, const char *fmt, ...)
{
    va_list ap;

    if (cli->verbosity < 1)
        return;
    va_start(ap, fmt);
    vsay(cli, fmt, ap);
    va_end(ap);
}

void cf_cli_warn(struct cf_cli *cli, const char *fmt, ...)
{
    va_list ap;

    if (cli->verbosity < 0)
        return;
    va_start(ap, fmt);
    vsay(cli, fmt, ap);
    va_end(ap);
}

bool cf_cli_progress(const struct cf_cli *cli)
{
    return cli->stderr_tty && cli->verbosity >= 0;
}

void cf_cli_json_text(const json_t *value, char *out, size_t out_len)
{
    char *text;

    if (value == NULL || json_is_null(value)) {
        snprintf(out, out_len, "-");
    } else if (json_is_string(value)) {
        snprintf(out, out_len, "%s", json_string_value(value));
    } else if (json_is_integer(value)) {
        snprintf(out, out_len, "%lld", (long long)json_integer_value(value));
    } else if (json_is_array(value) && json_array_size(value) > 0 &&
               json_is_string(json_array_get(value, 0))) {
        size_t i, used = 0;
        json_t *item;

        out[0] = '\0';
        json_array_foreach(value, i, item)
        {
            int n = snprintf(out + used, out_len - used, "%s%s", i > 0 ? "," : "",
                             json_is_string(item) ? json_string_value(item) : "?");
            if (n < 0 || (size_t)n >= out_len - used)
                break;
            used += (size_t)n;
        }
    } else {
        text = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);
        snprintf(out, out_len, "%s", text != NULL ? text : "?");
        free(text);
    }
}

bool cf_cli_global_option(struct cf_cli *cli, int opt, const char *arg)
{
    switch (opt) {
    case CF_OPT_CONFIG:
        cli->config_path = arg;
        return true;
    case CF_OPT_URL:
        cli->url = arg;
        return true;
    case CF_OPT_TOKEN_FILE:
        cli->token_file = arg;
        return true;
    case 'v':
        cli->verbosity = 1;
        return true;
    case 'q':
        cli->verbosity = -1;
        return true;
    default:
        return false;
    }
}

int cf_cli_parse(struct cf_cli *cli, int argc, char **argv, const char *shortopts,
                 const struct option *longopts, cf_cli_option_fn fn, void *ctx, int *first_arg)
{
    char optstring[64];
    int opt;

    /* ':' first: a missing argument is reported as ':' rather than printed by getopt. */
    snprintf(optstring, sizeof(optstring), ":%s", shortopts);
    opterr = 0;
    optind = 0; /* 0 makes glibc start over, as each command parses afresh */
    while ((opt = getopt_long(argc, argv, optstring, longopts, NULL)) != -1) {
        const char *shown = argv[optind - 1];

        if (opt == 'h') {
            fputs(cli->help, stdout);
            return CF_EXIT_OK;
        }
        if (opt == '?') {
            if (optopt != 0)
                return cf_cli_usage(cli, "unknown option -%c", optopt);
            return cf_cli_usage(cli, "unknown option %s", shown);
        }
        if (opt == ':')
            return cf_cli_usage(cli, "%s needs a value", shown);
        if (cf_cli_global_option(cli, opt, optarg))
            continue;
        {
            int status = fn(cli, ctx, opt, optarg);
            if (status >= 0)
                return status;
        }
    }
    *first_arg = optind;
    return -1;
}

int cf_cli_load_config(struct cf_cli *cli)
{
    struct cf_error err;
    char found[4096];
    const char *path = cli->config_path;
    cf_code code = CF_OK;

    if (cli->cfg_loaded)
        return 0;
    cf_error_init(&err);
    if (path == NULL)
        path = cf_client_config_default_path(found, sizeof(found));
    if (path != NULL)
        code = cf_client_config_load_file(&cli->cfg, path, &err);
    if (code == CF_OK)
        code = cf_client_config_load_env(&cli->cfg, &err);
    if (code == CF_OK && cli->url != NULL)
        code = cf_client_config_set(&cli->cfg, "url", cli->url, "--url", &err);
    if (code == CF_OK && cli->token_file != NULL)
        code = cf_client_config_set(&cli->cfg, "token_file", cli->token_file, "--token-file", &err);
    if (code != CF_OK) {
        int status = cf_cli_config_error(cli, &err);
        cf_error_dispose(&err);
        return status;
    }
    if (path != NULL)
        cf_cli_verbose(cli, "configuration from %s", path);
    cli->cfg_loaded = true;
    return 0;
}

static void on_retry(void *ctx, int retry, int64_t delay_ms, const struct cf_error *why)
{
    struct cf_cli *cli = ctx;

    /* Said on a terminal or with -v only: a retry that works is no news for cron. */
    cf_cli_info(cli, "%s; retry %d of %lld in %.1f s", why->message, retry, (long long)cli->cfg.retries,
                (double)delay_ms / 1000.0);
}

/* Said once per command run (the API is made once), before any request, and
 * never with the token in it. */
static void warn_expiry(struct cf_cli *cli, const char *token)
{
    char text[4096 + 512];
    int64_t exp;

    if (!cf_token_expiry(token, &exp))
        return;
    if (cf_token_expiry_warning(exp, (int64_t)time(NULL), cli->cfg.token == NULL ? cli->cfg.token_file : NULL,
                                text, sizeof(text)))
        cf_cli_warn(cli, "%s", text);
}

int cf_cli_connect(struct cf_cli *cli)
{
    struct cf_api_options opts;
    struct cf_error err;
    char *token = NULL;
    cf_code code;

    if (cli->api != NULL)
        return 0;
    if (cf_cli_load_config(cli) != 0)
        return CF_EXIT_USAGE;
    cf_error_init(&err);
    if (cli->cfg.url == NULL && cli->cfg.path != NULL) {
        fprintf(stderr,
                "coffer %s: no server url: set url in the [server] section of %s, or COFFER_URL, or --url\n",
                cli->command, cli->cfg.path);
        return CF_EXIT_USAGE;
    }
    if (cli->cfg.url == NULL) {
        fprintf(stderr,
                "coffer %s: no server url and no configuration file: set COFFER_URL, or --url, or write "
                "~/.config/coffer/coffer.conf or /etc/coffer/coffer.conf (see coffer(1))\n",
                cli->command);
        return CF_EXIT_USAGE;
    }
    code = cf_client_config_token(&cli->cfg, &token, &err);
    if (code == CF_OK) {
        memset(&opts, 0, sizeof(opts));
        opts.url = cli->cfg.url;
        opts.token = token;
        opts.ca_file = cli->cfg.ca_file;
        opts.user_agent = cli->cfg.user_agent;
        opts.connect_timeout = (long)cli->cfg.connect_timeout;
        opts.stall_timeout = (long)cli->cfg.timeout;
        opts.retry.retries = (int)cli->cfg.retries;
        opts.retry.delay_ms = cli->cfg.retry_delay * 1000;
        opts.retry.max_delay_ms = cli->cfg.retry_max_delay * 1000;
        opts.on_retry = on_retry;
        opts.on_retry_ctx = cli;
        code = cf_api_new(&opts, &cli->api, &err);
    }
    if (code == CF_OK)
        warn_expiry(cli, token);
    if (token != NULL) {
        memset(token, 0, strlen(token));
        free(token);
    }
    if (code != CF_OK) {
        int status = code == CF_E_VALIDATION ? cf_cli_config_error(cli, &err) : cf_cli_fail(cli, &err);
        cf_error_dispose(&err);
        return status;
    }
    return 0;
}

int cf_cli_backup_option(struct cf_cli *cli, void *ctx, int opt, const char *arg)
{
    struct cf_backup_flags *flags = ctx;

    switch (opt) {
    case CF_OPT_COLLECTION:
        flags->collection = arg;
        break;
    case CF_OPT_COMMAND:
        flags->command = arg;
        break;
    case CF_OPT_KEY_FILE:
        flags->key_file = arg;
        break;
    case CF_OPT_PASSPHRASE_FILE:
        flags->passphrase_file = arg;
        break;
    case CF_OPT_SPOOL:
        flags->spool = arg;
        break;
    case CF_OPT_NO_SPOOL:
        flags->no_spool = true;
        break;
    default:
        return cf_cli_usage(cli, "unexpected option");
    }
    return -1;
}

/* Lays one flag over the definition. */
static cf_code overlay(struct cf_backup_def *def, const char *name, const char *value, const char *flag,
                       struct cf_error *err)
{
    if (value == NULL)
        return CF_OK;
    return cf_backup_def_set(def, name, value, flag, err);
}

int cf_cli_backup(struct cf_cli *cli, const char *name, const struct cf_backup_flags *flags,
                  struct cf_backup_def *out)
{
    const struct cf_backup_def *found = NULL;
    struct cf_error err;
    cf_code code;

    memset(out, 0, sizeof(*out));
    if (cf_cli_load_config(cli) != 0)
        return CF_EXIT_USAGE;
    if (name != NULL && flags->collection != NULL)
        return cf_cli_usage(cli, "give a backup NAME or --collection ID, not both");
    if (name == NULL && flags->collection == NULL)
        return cf_cli_usage(cli, "which backup? give its NAME (a [backup NAME] section) or --collection ID");
    cf_error_init(&err);
    if (name != NULL) {
        found = cf_client_config_backup(&cli->cfg, name);
        if (found == NULL) {
            if (cli->cfg.path == NULL)
                fprintf(stderr,
                        "coffer %s: no backup named \"%s\": no configuration file was found "
                        "(--config FILE, ~/.config/coffer/coffer.conf, /etc/coffer/coffer.conf); "
                        "without one, use --collection ID\n",
                        cli->command, name);
            else
                fprintf(stderr, "coffer %s: no [backup %s] in %s\n", cli->command, name, cli->cfg.path);
            return CF_EXIT_USAGE;
        }
        code = cf_backup_def_copy(out, found, &err);
    } else {
        code = cf_backup_def_init(out, flags->collection, &err);
    }
    if (code == CF_OK)
        code = overlay(out, "collection", flags->collection, "--collection", &err);
    if (code == CF_OK)
        code = overlay(out, "command", flags->command, "--command", &err);
    if (code == CF_OK)
        code = overlay(out, "restore_command", flags->restore_command, "--command", &err);
    if (code == CF_OK && (flags->key_file != NULL || flags->passphrase_file != NULL)) {
        /* A flag names the secret for this run: the definition's one gives way. */
        free(out->key_file);
        free(out->passphrase_file);
        out->key_file = NULL;
        out->passphrase_file = NULL;
        code = overlay(out, "key_file", flags->key_file, "--key-file", &err);
        if (code == CF_OK)
            code = overlay(out, "passphrase_file", flags->passphrase_file, "--passphrase-file", &err);
    }
    if (code == CF_OK)
        code = overlay(out, "spool", flags->spool, "--spool", &err);
    if (code == CF_OK && flags->no_spool) {
        free(out->spool);
        out->spool = NULL;
    }
    if (code == CF_OK && out->key_file != NULL && out->passphrase_file != NULL)
        code = cf_fail(&err, CF_E_VALIDATION, "give --key-file or --passphrase-file, not both");
    if (code != CF_OK) {
        int status = cf_cli_config_error(cli, &err);
        cf_error_dispose(&err);
        cf_backup_def_dispose(out);
        return status;
    }
    return 0;
}

int cf_cli_secret(struct cf_cli *cli, const struct cf_backup_def *def, struct cf_secret *secret, bool *have)
{
    struct cf_error err;
    cf_code code = CF_OK;

    *have = false;
    memset(secret, 0, sizeof(*secret));
    if (def->key_file == NULL && def->passphrase_file == NULL)
        return 0;
    cf_error_init(&err);
    if (def->key_file != NULL)
        code = cf_secret_load_key_file(def->key_file, secret, &err);
    else
        code = cf_secret_load_passphrase_file(def->passphrase_file, secret, &err);
    if (code != CF_OK) {
        int status = code == CF_E_VALIDATION ? cf_cli_config_error(cli, &err) : cf_cli_fail(cli, &err);
        cf_error_dispose(&err);
        return status;
    }
    *have = true;
    return 0;
}

void cf_cli_rotated(struct cf_cli *cli, const char *label, const json_t *rotated)
{
    char text[512];
    size_t i, used = 0;
    json_t *item;

    if (json_array_size(rotated) == 0)
        return;
    text[0] = '\0';
    json_array_foreach(rotated, i, item)
    {
        int n = snprintf(text + used, sizeof(text) - used, "%s%lld", i > 0 ? ", " : "",
                         (long long)json_integer_value(item));
        if (n < 0 || (size_t)n >= sizeof(text) - used)
            break;
        used += (size_t)n;
    }
    cf_cli_verbose(cli, "%s: rotation deleted version%s %s", label, json_array_size(rotated) > 1 ? "s" : "",
                   text);
}
