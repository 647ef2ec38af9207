/* coffer sync: upload what waits in the spools. */
#include "client/cli.h"
#include "client/commands.h"
#include "client/exit_codes.h"
#include "client/spool.h"
#include "client/sync.h"
#include "common/size.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char cf_help_sync[] =
    "Usage: coffer sync [OPTIONS] [NAME...]\n"
    "       coffer sync [OPTIONS] --spool DIR\n"
    "\n"
    "Uploads the backups that wait in spool directories, oldest first, and deletes\n"
    "each entry only once the server has confirmed a version with the entry's\n"
    "SHA-256. Without NAME: every spool of the configuration (each directory once,\n"
    "whatever collection its entries belong to). With NAMEs: the entries of those\n"
    "backups. With --spool DIR: that directory, no [backup] section needed.\n"
    "\n"
    "When an earlier upload of an entry was cut off after the server had stored it,\n"
    "the version is found in the collection's list (the token needs versions.list\n"
    "for that) and the entry is removed without a second upload. Network errors and\n"
    "5xx answers are retried (retries, retry_delay in [server], counted for the\n"
    "whole run: 4 retries waiting 30 s in all by default); when they persist the\n"
    "sync stops and the entries wait for the next run. A refusal (4xx) keeps that\n"
    "entry in the spool and goes on with the next one.\n"
    "\n"
    "Options:\n"
    "  --spool DIR   sync the spool directory DIR\n"
    "\n" CF_HELP_GLOBAL "\n"
    "Exit status: 0 nothing left to upload, 1 usage or configuration, 2 token\n"
    "refused, 3 network (entries wait), 4 server refused, 5 checksum, 7 a local file\n"
    "problem.\n";

static const struct option sync_options[] = {
    CF_CLI_GLOBAL_OPTIONS,
    {"spool", required_argument, NULL, CF_OPT_SPOOL},
    {NULL, 0, NULL, 0},
};

static void on_entry(void *ctx, const struct cf_spool_entry *entry, enum cf_sync_outcome outcome,
                     const json_t *version, const json_t *rotated, const struct cf_error *why)
{
    struct cf_cli *cli = ctx;
    char size[32];

    if (outcome == CF_SYNC_REFUSED) {
        cf_cli_warn(cli, "%s was refused and stays in the spool: %s", entry->name, why->message);
        return;
    }
    cf_size_format((int64_t)entry->size, size, sizeof(size));
    cf_cli_info(cli, "%s: %s stored as version %lld (%s)%s", entry->collection, entry->name,
                (long long)json_integer_value(json_object_get(version, "number")), size,
                outcome == CF_SYNC_ALREADY_THERE ? ", by an earlier attempt" : "");
    cf_cli_rotated(cli, entry->collection, rotated);
}

/* One spool (only collection's entries when it is not NULL). Returns the exit status. */
static int sync_one(struct cf_cli *cli, const char *dir, const char *collection)
{
    struct cf_sync_options options = {cf_cli_progress(cli), on_entry, cli};
    struct cf_sync_result result;
    struct cf_error err;
    cf_code code;
    int status = 0;

    cf_error_init(&err);
    cf_cli_verbose(cli, "syncing %s%s%s", dir, collection != NULL ? " for " : "",
                   collection != NULL ? collection : "");
    code = cf_sync_spool(cli->api, dir, collection, &options, &result, &err);
    if (result.unchecked)
        cf_cli_warn(cli, "the token may not list versions (versions.list): an upload whose answer was lost "
                         "earlier cannot be recognised and may be stored twice");
    if (code != CF_OK)
        status = cf_cli_fail(cli, &err);
    if (result.left > 0)
        cf_cli_warn(cli, "%d backup(s) still wait in %s", result.left, dir);
    cf_error_dispose(&err);
    return status;
}

static bool any_spool(const struct cf_client_config *cfg)
{
    for (size_t i = 0; i < cfg->nbackups; i++) {
        if (cfg->backups[i].spool != NULL)
            return true;
    }
    return false;
}

int cf_cmd_sync(int argc, char **argv)
{
    struct cf_cli cli;
    struct cf_backup_flags flags; /* only --spool */
    int first = 0, status, worst = 0;

    memset(&flags, 0, sizeof(flags));
    cf_cli_init(&cli, "sync", cf_help_sync);
    status = cf_cli_parse(&cli, argc, argv, CF_CLI_GLOBAL_SHORT, sync_options, cf_cli_backup_option, &flags,
                          &first);
    if (status >= 0)
        goto out;
    if (flags.spool != NULL && first < argc) {
        status = cf_cli_usage(&cli, "give NAMEs or --spool DIR, not both");
        goto out;
    }
    status = cf_cli_load_config(&cli);
    for (int i = first; status == 0 && i < argc; i++) {
        const struct cf_backup_def *def = cf_client_config_backup(&cli.cfg, argv[i]);
        if (def == NULL)
            status = cf_cli_usage(&cli, "no [backup %s] in %s", argv[i],
                                  cli.cfg.path != NULL ? cli.cfg.path : "the configuration (none was found)");
        else if (def->spool == NULL)
            status = cf_cli_usage(&cli, "[backup %s] has no spool", argv[i]);
    }
    if (status == 0)
        status = cf_cli_connect(&cli);
    if (status != 0)
        goto out;
    if (flags.spool != NULL) {
        status = sync_one(&cli, flags.spool, NULL);
        goto out;
    }
    if (first < argc) {
        for (int i = first; i < argc; i++) {
            const struct cf_backup_def *def = cf_client_config_backup(&cli.cfg, argv[i]);
            int s = sync_one(&cli, def->spool, def->collection);
            if (worst == 0)
                worst = s;
        }
        status = worst;
        goto out;
    }
    if (!any_spool(&cli.cfg))
        cf_cli_info(&cli, "no [backup] section names a spool: nothing to do");
    for (size_t i = 0; i < cli.cfg.nbackups; i++) {
        const char *dir = cli.cfg.backups[i].spool;
        bool seen = false;
        if (dir == NULL)
            continue;
        for (size_t j = 0; j < i; j++)
            seen = seen || (cli.cfg.backups[j].spool != NULL && strcmp(cli.cfg.backups[j].spool, dir) == 0);
        if (!seen) {
            int s = sync_one(&cli, dir, NULL);
            if (worst == 0)
                worst = s;
        }
    }
    status = worst;
out:
    cf_cli_dispose(&cli);
    return status;
}
