/* coffer list: a backup's versions, the configured backups with their newest
 * version, or the collections the token sees. */
#include "client/cli.h"
#include "client/commands.h"
#include "client/exit_codes.h"
#include "client/spool.h"
#include "common/size.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char cf_help_list[] = "Usage: coffer list [OPTIONS] [NAME]\n"
                            "       coffer list [OPTIONS] --collection ID\n"
                            "\n"
                            "Lists the versions of a backup, oldest first: number, creation time (UTC),\n"
                            "the time the client made it, size, stored size and SHA-256.\n"
                            "\n"
                            "Without NAME or --collection, lists the [backup] sections of the\n"
                            "configuration: name, collection, and the newest version (number, times,\n"
                            "size). A backup whose versions the token may not list says so in its row;\n"
                            "the others are listed all the same. With no [backup] section at all, lists\n"
                            "the collections the token can see.\n"
                            "\n"
                            "On a terminal sizes are shown for people (1.5 GiB); otherwise in bytes.\n"
                            "--json prints the server's answer as it is, for scripts ({\"backups\": [...]}\n"
                            "for the configured backups). When the backup has a spool, the entries\n"
                            "waiting there are counted on standard error.\n"
                            "\n"
                            "Options:\n"
                            "  --collection ID   the collection, without a [backup] section\n"
                            "  --json            print the server's JSON\n"
                            "\n" CF_HELP_GLOBAL "\n"
                            "Exit status: 0 listed (also when some backups' rows say they could not be),\n"
                            "1 usage or configuration, 2 token refused, 3 network, 4 server refused (404:\n"
                            "no such collection).\n";

struct list_args {
    struct cf_backup_flags flags;
    bool json;
};

static const struct option list_options[] = {
    CF_CLI_GLOBAL_OPTIONS,
    {"collection", required_argument, NULL, CF_OPT_COLLECTION},
    {"json", no_argument, NULL, CF_OPT_JSON},
    {NULL, 0, NULL, 0},
};

static int list_option(struct cf_cli *cli, void *ctx, int opt, const char *arg)
{
    struct list_args *a = ctx;

    if (opt != CF_OPT_JSON)
        return cf_cli_backup_option(cli, &a->flags, opt, arg);
    a->json = true;
    return -1;
}

static void size_text(const json_t *value, bool human, char *out, size_t out_len)
{
    if (!json_is_integer(value))
        snprintf(out, out_len, "-");
    else if (human)
        cf_size_format((int64_t)json_integer_value(value), out, out_len);
    else
        snprintf(out, out_len, "%lld", (long long)json_integer_value(value));
}

static void print_versions(const json_t *versions, bool human)
{
    size_t i;
    json_t *v;

    printf("%-7s %-20s %-20s %12s %12s  %s\n", "VERSION", "CREATED", "MADE", "SIZE", "STORED", "SHA256");
    json_array_foreach(versions, i, v)
    {
        char size[32], stored[32], created[64], made[64];

        size_text(json_object_get(v, "size"), human, size, sizeof(size));
        size_text(json_object_get(v, "stored_size"), human, stored, sizeof(stored));
        cf_cli_json_text(json_object_get(v, "created_at"), created, sizeof(created));
        cf_cli_json_text(json_object_get(v, "made_at"), made, sizeof(made));
        printf("%-7lld %-20s %-20s %12s %12s  %s\n",
               (long long)json_integer_value(json_object_get(v, "number")), created, made, size, stored,
               json_string_value(json_object_get(v, "sha256")) != NULL
                   ? json_string_value(json_object_get(v, "sha256"))
                   : "-");
    }
}

static void print_collections(const json_t *collections, bool human)
{
    size_t i;
    json_t *c;

    printf("%-24s %-16s %8s %12s  %s\n", "COLLECTION", "ACCOUNT", "VERSIONS", "SIZE", "LAST VERSION");
    json_array_foreach(collections, i, c)
    {
        const json_t *usage = json_object_get(c, "usage");
        char size[32], last[64], account[80];

        size_text(json_object_get(usage, "size"), human, size, sizeof(size));
        cf_cli_json_text(json_object_get(usage, "last_version_at"), last, sizeof(last));
        cf_cli_json_text(json_object_get(c, "account_id"), account, sizeof(account));
        printf("%-24s %-16s %8lld %12s  %s\n", json_string_value(json_object_get(c, "id")), account,
               (long long)json_integer_value(json_object_get(usage, "versions")), size, last);
    }
}

/* The configured backups, each with its newest version, as {"backups": [{"name",
 * "collection", "versions", "latest"}]}; a backup whose list the server
 * refuses (403 permission_denied: no versions.list; 404: a machine token
 * limited to other collections; any other 4xx about that collection) has
 * "error": {"code", "error"} instead. Other failures (the network, a refused
 * token) fail the whole list. */
static cf_code all_backups(struct cf_api *api, const struct cf_client_config *cfg, json_t **out,
                           struct cf_error *err)
{
    json_t *rows = json_array();
    cf_code code = CF_OK;

    *out = NULL;
    if (rows == NULL)
        return cf_fail(err, CF_E_NOMEM, "out of memory");
    for (size_t i = 0; code == CF_OK && i < cfg->nbackups; i++) {
        const struct cf_backup_def *def = &cfg->backups[i];
        json_t *answer = NULL, *row = NULL;
        char path[256];

        snprintf(path, sizeof(path), "/api/stable/repository/collection/%s/versions", def->collection);
        code = cf_api_json(api, "GET", path, NULL, &answer, err);
        if (code == CF_OK) {
            json_t *versions = json_object_get(answer, "versions");
            size_t n = json_array_size(versions);
            row = json_pack("{s:s, s:s, s:I, s:O?}", "name", def->name, "collection", def->collection,
                            "versions", (json_int_t)n, "latest", n > 0 ? json_array_get(versions, n - 1) : NULL);
        } else if (code == CF_E_PERMISSION_DENIED || code == CF_E_NOT_FOUND) {
            /* What this token may not see is a row; a server in trouble fails the command. */
            row = json_pack("{s:s, s:s, s:{s:s, s:s}}", "name", def->name, "collection", def->collection,
                            "error", "code", cf_code_name(code), "error", err->message);
            code = CF_OK;
        }
        json_decref(answer);
        if (code == CF_OK && (row == NULL || json_array_append_new(rows, row) != 0))
            code = cf_fail(err, CF_E_NOMEM, "out of memory");
    }
    if (code != CF_OK) {
        json_decref(rows);
        return code;
    }
    *out = json_pack("{s:o}", "backups", rows);
    return CF_OK;
}

static void print_backups(const json_t *backups, bool human)
{
    size_t i;
    json_t *b;

    printf("%-16s %-24s %8s %7s %-20s %-20s %12s\n", "BACKUP", "COLLECTION", "VERSIONS", "LATEST", "CREATED",
           "MADE", "SIZE");
    json_array_foreach(backups, i, b)
    {
        const json_t *latest = json_object_get(b, "latest"), *error = json_object_get(b, "error");
        char size[32], created[64], made[64], number[24];

        printf("%-16s %-24s ", json_string_value(json_object_get(b, "name")),
               json_string_value(json_object_get(b, "collection")));
        if (error != NULL) {
            printf("cannot list: %s (%s)\n", json_string_value(json_object_get(error, "error")),
                   json_string_value(json_object_get(error, "code")));
            continue;
        }
        size_text(json_object_get(latest, "size"), human, size, sizeof(size));
        cf_cli_json_text(json_object_get(latest, "number"), number, sizeof(number));
        cf_cli_json_text(json_object_get(latest, "created_at"), created, sizeof(created));
        cf_cli_json_text(json_object_get(latest, "made_at"), made, sizeof(made));
        printf("%8lld %7s %-20s %-20s %12s\n", (long long)json_integer_value(json_object_get(b, "versions")),
               number, created, made, size);
    }
}

/* Every page of the collection list, as one {"collections": [...]}. */
static cf_code all_collections(struct cf_api *api, json_t **out, struct cf_error *err)
{
    json_t *all = json_array();
    cf_code code = CF_OK;

    *out = NULL;
    if (all == NULL)
        return cf_fail(err, CF_E_NOMEM, "out of memory");
    for (int page = 1; code == CF_OK; page++) {
        json_t *answer = NULL;
        char path[128];
        size_t got;

        snprintf(path, sizeof(path), "/api/stable/repository/collection?per_page=100&page=%d", page);
        code = cf_api_json(api, "GET", path, NULL, &answer, err);
        if (code != CF_OK)
            break;
        got = json_array_size(json_object_get(answer, "collections"));
        json_array_extend(all, json_object_get(answer, "collections"));
        json_decref(answer);
        if (got < 100)
            break;
    }
    if (code != CF_OK) {
        json_decref(all);
        return code;
    }
    *out = json_pack("{s:o}", "collections", all);
    return CF_OK;
}

int cf_cmd_list(int argc, char **argv)
{
    struct cf_cli cli;
    struct list_args a;
    struct cf_backup_def def;
    struct cf_error err;
    json_t *answer = NULL;
    const char *name = NULL;
    bool human = isatty(STDOUT_FILENO) == 1;
    int first = 0, nargs, status;
    cf_code code;

    memset(&a, 0, sizeof(a));
    memset(&def, 0, sizeof(def));
    cf_error_init(&err);
    cf_cli_init(&cli, "list", cf_help_list);
    status = cf_cli_parse(&cli, argc, argv, CF_CLI_GLOBAL_SHORT, list_options, list_option, &a, &first);
    if (status >= 0)
        goto out;
    nargs = argc - first;
    if (nargs > 1 || (nargs == 1 && a.flags.collection != NULL)) {
        status = cf_cli_usage(&cli, "too many arguments");
        goto out;
    }
    if (nargs == 1)
        name = argv[first];
    if (name != NULL || a.flags.collection != NULL) {
        status = cf_cli_backup(&cli, name, &a.flags, &def);
        if (status != 0)
            goto out;
    }
    status = cf_cli_connect(&cli);
    if (status != 0)
        goto out;
    if (def.collection != NULL) {
        char path[256];
        snprintf(path, sizeof(path), "/api/stable/repository/collection/%s/versions", def.collection);
        code = cf_api_json(cli.api, "GET", path, NULL, &answer, &err);
    } else if (cli.cfg.nbackups > 0) {
        code = all_backups(cli.api, &cli.cfg, &answer, &err);
    } else {
        code = all_collections(cli.api, &answer, &err);
    }
    if (code != CF_OK) {
        status = cf_cli_fail(&cli, &err);
        goto out;
    }
    if (a.json) {
        json_dumpf(answer, stdout, JSON_INDENT(2));
        fputc('\n', stdout);
    } else if (def.collection != NULL) {
        print_versions(json_object_get(answer, "versions"), human);
    } else if (json_object_get(answer, "backups") != NULL) {
        print_backups(json_object_get(answer, "backups"), human);
    } else {
        print_collections(json_object_get(answer, "collections"), human);
    }
    if (def.spool != NULL) {
        struct cf_spool_entry *entries = NULL;
        size_t count = 0;
        if (cf_spool_list(def.spool, def.collection, &entries, &count, &err) == CF_OK && count > 0)
            cf_cli_warn(&cli, "%zu backup(s) of %s wait in the spool %s (coffer sync uploads them)", count,
                        def.collection, def.spool);
        free(entries);
    }
    status = 0;
out:
    json_decref(answer);
    cf_backup_def_dispose(&def);
    cf_error_dispose(&err);
    cf_cli_dispose(&cli);
    return status;
}
