/* cofferd: reads the configuration, then runs one command. Everything it calls
 * lives in the other files of server/. */
#include "app.h"
#include "cleanup.h"
#include "common/log.h"
#include "config.h"
#include "health.h"
#include "http.h"
#include "migrate.h"
#include "permissions.h"
#include "service_tokens.h"
#include "version_ref.h"

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage_text[] =
    "Usage: cofferd [--config FILE] [--OPTION=VALUE ...] COMMAND\n"
    "\n"
    "Commands:\n"
    "  serve                     run the HTTP server until SIGINT or SIGTERM\n"
    "  migrate                   apply the database migrations this binary carries\n"
    "  token create --admin      mint an administrator token (prints the token)\n"
    "  token create --account ID [--permissions a,b] \n"
    "                            mint a token of an account (default: every account permission)\n"
    "      token options: --ttl SECONDS (default: token_max_ttl), --description TEXT, --json\n"
    "  cleanup                   run one clean-up pass (dead uploads, deleted versions) and exit\n"
    "\n"
    "Options:\n"
    "  --config FILE             configuration file (default: $COFFER_CONFIG, else\n"
    "                            /etc/coffer/cofferd.conf when it exists)\n"
    "  --OPTION=VALUE            any configuration option, e.g. --port=8081 (see --print-config)\n"
    "  --print-config            print the effective configuration and exit\n"
    "  --help, --version\n"
    "\n"
    "Precedence: built-in default < file < COFFER_<OPTION> environment < command line.\n"
    "Exit status: 0 success, 1 usage or configuration error, 2 runtime failure.\n";

struct token_args {
    bool admin;
    const char *account_id;
    const char *permissions; /* comma-separated */
    int64_t ttl;
    const char *description;
    bool json;
};

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "cofferd: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nRun cofferd --help for usage.\n");
    return 1;
}

/* Opens the database pool and the token keys: what every command but --help needs. */
static cf_code app_open(struct cf_app *app, const struct cf_config *cfg, int pool_size, struct cf_error *err)
{
    cf_code code;

    memset(app, 0, sizeof(*app));
    app->cfg = cfg;
    cf_uuid_v4(app->instance_id);
    code = cf_db_pool_new(cfg->database_url, pool_size, (int)cfg->db_acquire_timeout_ms, &app->pool, err);
    return code;
}

static void app_close(struct cf_app *app)
{
    bool storage_busy, database_busy;

    cf_token_cache_stop(app->token_cache);
    cf_rate_limit_free(app->auth_failures);
    /* Freeing the store or pool under a hung health check would crash it. */
    cf_health_quiesce(5000, &storage_busy, &database_busy);
    if (storage_busy || database_busy)
        cf_log(CF_LOG_WARN, "a health check is still running (storage %s, database %s); its handles are left "
               "to the exit", storage_busy ? "hung" : "done", database_busy ? "hung" : "done");
    if (!storage_busy)
        cf_store_free(app->store);
    if (!database_busy)
        cf_db_pool_free(app->pool);
    cf_jwt_keys_dispose(&app->keys);
}

/* The schema must be current before anything else talks to the database. */
static cf_code check_schema(struct cf_app *app, struct cf_error *err)
{
    struct cf_db *db = NULL;
    cf_code code = cf_db_acquire(app->pool, &db, err);

    if (code == CF_OK)
        code = cf_migrate_check(cf_db_conn(db), err);
    cf_db_release(db);
    return code;
}

static int run_migrate(const struct cf_config *cfg)
{
    struct cf_app app;
    struct cf_error err;
    struct cf_db *db = NULL;
    int applied = 0;
    cf_code code;

    cf_error_init(&err);
    code = app_open(&app, cfg, 1, &err);
    if (code == CF_OK)
        code = cf_db_acquire(app.pool, &db, &err);
    if (code == CF_OK)
        code = cf_migrate_run(cf_db_conn(db), &applied, &err);
    cf_db_release(db);
    app_close(&app);
    if (code != CF_OK) {
        cf_log(CF_LOG_ERROR, "migrate: %s", err.message);
        return 2;
    }
    cf_log(CF_LOG_INFO, "migrate: %d migration(s) applied, schema is current", applied);
    return 0;
}

static int run_token_create(const struct cf_config *cfg, const struct token_args *args)
{
    struct cf_app app;
    struct cf_error err;
    json_t *permissions = NULL, *minted = NULL;
    cf_code code;

    if (args->admin == (args->account_id != NULL))
        return usage_error("token create needs exactly one of --admin and --account ID");
    if (args->admin && args->permissions != NULL)
        return usage_error("an administrator token holds every permission; drop --permissions");
    if (args->permissions != NULL) {
        char *copy = strdup(args->permissions), *save = NULL;
        permissions = json_array();
        for (char *name = strtok_r(copy, ",", &save); name != NULL; name = strtok_r(NULL, ",", &save))
            json_array_append_new(permissions, json_string(name));
        free(copy);
    }
    cf_error_init(&err);
    code = app_open(&app, cfg, 1, &err);
    if (code == CF_OK)
        code = check_schema(&app, &err);
    if (code == CF_OK)
        code = cf_app_load_keys(&app, &err);
    if (code == CF_OK)
        code = cf_token_mint_cli(
            &app, args->account_id, permissions, args->ttl > 0 ? args->ttl : cfg->token_max_ttl,
            args->description != NULL ? args->description : "minted on the command line", &minted, &err);
    app_close(&app);
    json_decref(permissions);
    if (code != CF_OK) {
        fprintf(stderr, "cofferd: token create: %s\n", err.message);
        cf_error_dispose(&err);
        return code == CF_E_VALIDATION || code == CF_E_NOT_FOUND ? 1 : 2;
    }
    if (args->json)
        json_dumpf(minted, stdout, JSON_INDENT(2));
    else
        fputs(json_string_value(json_object_get(minted, "token")), stdout);
    fputc('\n', stdout);
    json_decref(minted);
    return 0;
}

static int run_cleanup(const struct cf_config *cfg)
{
    struct cf_app app;
    struct cf_error err;
    struct cf_cleanup_stats stats;
    cf_code code;

    cf_error_init(&err);
    code = app_open(&app, cfg, 1, &err);
    if (code == CF_OK)
        code = check_schema(&app, &err);
    if (code == CF_OK)
        code = cf_app_open_store(&app, &err);
    if (code == CF_OK)
        code = cf_cleanup_pass(&app, cfg->stale_upload_timeout, &stats, &err);
    app_close(&app);
    if (code != CF_OK) {
        cf_log(CF_LOG_ERROR, "cleanup: %s", err.message);
        return 2;
    }
    printf("removed %d dead uploads and %d deleted objects; %d stale leftovers; %d left for later\n",
           stats.dead_uploads, stats.doomed, stats.stale_leftovers, stats.failures);
    return stats.failures > 0 ? 2 : 0;
}

static int run_serve(const struct cf_config *cfg)
{
    struct cf_app app;
    struct cf_error err;
    struct cf_http_server *server = NULL;
    struct cf_cleanup_worker *worker = NULL;
    sigset_t signals;
    int signal_number = 0;
    cf_code code;

    cf_error_init(&err);
    code = cf_config_validate_for_serve(cfg, &err);
    if (code != CF_OK) {
        cf_log(CF_LOG_ERROR, "configuration: %s", err.message);
        return 1;
    }
    /* Threads started below inherit this mask, so only sigwait sees these signals. */
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, NULL);
    signal(SIGPIPE, SIG_IGN);

    code = app_open(&app, cfg, (int)cfg->db_pool_size, &err);
    if (code == CF_OK)
        code = check_schema(&app, &err);
    if (code == CF_OK)
        code = cf_app_load_keys(&app, &err);
    if (code == CF_OK)
        code = cf_app_open_store(&app, &err);
    if (code == CF_OK)
        code = cf_token_cache_start(app.pool, &app.token_cache, &err);
    if (code == CF_OK) {
        app.auth_failures = cf_rate_limit_new((int)cfg->auth_failure_limit, (int)cfg->auth_failure_window);
        if (app.auth_failures == NULL)
            code = cf_fail(&err, CF_E_NOMEM, "out of memory");
    }
    if (code == CF_OK)
        code = cf_cleanup_worker_start(&app, &worker, &err);
    if (code == CF_OK)
        code = cf_http_server_start(&app, &server, &err);
    if (code != CF_OK) {
        cf_log(CF_LOG_ERROR, "cannot start: %s", err.message);
        cf_cleanup_worker_stop(worker);
        app_close(&app);
        return 2;
    }
    cf_log(CF_LOG_INFO, "cofferd %s listening on %s port %u (instance %s)", COFFER_VERSION,
           cfg->listen_address, (unsigned)cf_http_server_port(server), app.instance_id);
    sigwait(&signals, &signal_number);
    cf_log(CF_LOG_INFO, "signal %d: stopping", signal_number);
    cf_http_server_stop(server);
    cf_cleanup_worker_stop(worker);
    app_close(&app);
    return 0;
}

/* The configuration file to read: --config, $COFFER_CONFIG, or the system one when present. */
static const char *config_path(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            return argv[i + 1];
        if (strncmp(argv[i], "--config=", 9) == 0)
            return argv[i] + 9;
    }
    if (getenv("COFFER_CONFIG") != NULL)
        return getenv("COFFER_CONFIG");
    return access("/etc/coffer/cofferd.conf", R_OK) == 0 ? "/etc/coffer/cofferd.conf" : NULL;
}

int main(int argc, char **argv)
{
    struct cf_config cfg;
    struct cf_error err;
    struct token_args token = {0};
    const char *words[3] = {NULL, NULL, NULL};
    const char *path = config_path(argc, argv);
    int nwords = 0, status = 1;
    bool print_config = false;

    cf_config_init(&cfg);
    cf_error_init(&err);
    if (path != NULL && cf_config_load_file(&cfg, path, &err) != CF_OK)
        goto config_error;
    if (cf_config_load_env(&cfg, &err) != CF_OK)
        goto config_error;

    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;

        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            fputs(usage_text, stdout);
            status = 0;
            goto out;
        } else if (strcmp(arg, "--version") == 0) {
            printf("cofferd %s\n", COFFER_VERSION);
            status = 0;
            goto out;
        } else if (strcmp(arg, "--print-config") == 0) {
            print_config = true;
        } else if (strcmp(arg, "--config") == 0) {
            i++;
        } else if (strncmp(arg, "--config=", 9) == 0) {
            continue;
        } else if (strcmp(arg, "--admin") == 0) {
            token.admin = true;
        } else if (strcmp(arg, "--json") == 0) {
            token.json = true;
        } else if ((strcmp(arg, "--account") == 0 || strcmp(arg, "--permissions") == 0 ||
                    strcmp(arg, "--description") == 0 || strcmp(arg, "--ttl") == 0)) {
            if (value == NULL) {
                status = usage_error("%s needs a value", arg);
                goto out;
            }
            i++;
            if (strcmp(arg, "--account") == 0)
                token.account_id = value;
            else if (strcmp(arg, "--permissions") == 0)
                token.permissions = value;
            else if (strcmp(arg, "--description") == 0)
                token.description = value;
            else if ((token.ttl = strtoll(value, NULL, 10)) < 60) {
                status = usage_error("--ttl must be at least 60 seconds, not %s", value);
                goto out;
            }
        } else if (strncmp(arg, "--", 2) == 0) {
            /* --option=value or --option value for the configuration table. */
            char name[64];
            const char *eq = strchr(arg, '=');
            size_t len = eq != NULL ? (size_t)(eq - arg - 2) : strlen(arg + 2);
            if (len >= sizeof(name)) {
                status = usage_error("unknown option %s", arg);
                goto out;
            }
            memcpy(name, arg + 2, len);
            name[len] = '\0';
            if (eq == NULL && value == NULL) {
                status = usage_error("%s needs a value", arg);
                goto out;
            }
            if (cf_config_set(&cfg, name, eq != NULL ? eq + 1 : value, "the command line", &err) != CF_OK)
                goto config_error;
            if (eq == NULL)
                i++;
        } else if (nwords < 3) {
            words[nwords++] = arg;
        } else {
            status = usage_error("unexpected argument %s", arg);
            goto out;
        }
    }
    if (cf_log_level_parse(cfg.log_level) < 0) {
        status = usage_error("log_level must be debug, info, warn or error, not %s", cfg.log_level);
        goto out;
    }
    cf_log_set_level((enum cf_log_level)cf_log_level_parse(cfg.log_level));

    if (print_config) {
        cf_config_print(&cfg, stdout, false);
        status = 0;
    } else if (nwords == 1 && strcmp(words[0], "serve") == 0) {
        status = run_serve(&cfg);
    } else if (nwords == 1 && strcmp(words[0], "migrate") == 0) {
        status = run_migrate(&cfg);
    } else if (nwords == 1 && strcmp(words[0], "cleanup") == 0) {
        status = run_cleanup(&cfg);
    } else if (nwords == 2 && strcmp(words[0], "token") == 0 && strcmp(words[1], "create") == 0) {
        status = run_token_create(&cfg, &token);
    } else if (nwords == 0) {
        status = usage_error("no command given");
    } else {
        status = usage_error("unknown command: %s", words[0]);
    }
    goto out;

config_error:
    fprintf(stderr, "cofferd: %s\n", err.message);
    status = 1;
out:
    cf_error_dispose(&err);
    cf_config_dispose(&cfg);
    return status;
}
