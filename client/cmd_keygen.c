/* coffer keygen: write a new random key file. */
#include "client/cli.h"
#include "client/commands.h"
#include "client/exit_codes.h"
#include "client/secret.h"

#include <stdio.h>
#include <string.h>

const char cf_help_keygen[] =
    "Usage: coffer keygen [OPTIONS] [FILE]\n"
    "\n"
    "Writes a new random encryption key to FILE (default: coffer.key in the current\n"
    "directory), readable by its owner only (mode 0600). An existing file is never\n"
    "overwritten. Name it with key_file in a [backup NAME] section.\n"
    "\n"
    "Keep a copy of the key somewhere other than the machine it protects: without\n"
    "it an encrypted backup cannot be read, by anyone.\n"
    "\n" CF_HELP_GLOBAL "\n"
    "Exit status: 0 written, 1 usage (or FILE exists), 7 the file cannot be written.\n";

static const struct option keygen_options[] = {
    CF_CLI_GLOBAL_OPTIONS,
    {NULL, 0, NULL, 0},
};

static int keygen_option(struct cf_cli *cli, void *ctx, int opt, const char *arg)
{
    (void)ctx;
    (void)opt;
    (void)arg;
    return cf_cli_usage(cli, "unexpected option");
}

int cf_cmd_keygen(int argc, char **argv)
{
    struct cf_cli cli;
    struct cf_error err;
    const char *path = "coffer.key";
    int first = 0, status;
    cf_code code;

    cf_error_init(&err);
    cf_cli_init(&cli, "keygen", cf_help_keygen);
    status = cf_cli_parse(&cli, argc, argv, CF_CLI_GLOBAL_SHORT, keygen_options, keygen_option, NULL, &first);
    if (status >= 0)
        goto out;
    if (argc - first > 1) {
        status = cf_cli_usage(&cli, "too many arguments: give one FILE");
        goto out;
    }
    if (argc - first == 1)
        path = argv[first];
    code = cf_secret_generate_key_file(path, &err);
    if (code == CF_E_CONFLICT) {
        status = cf_cli_config_error(&cli, &err);
    } else if (code != CF_OK) {
        status = cf_cli_fail(&cli, &err);
    } else {
        cf_cli_warn(&cli,
                    "wrote a new key to %s; keep a copy away from this machine: without it the encrypted "
                    "backups cannot be read",
                    path);
        status = 0;
    }
out:
    cf_error_dispose(&err);
    cf_cli_dispose(&cli);
    return status;
}
