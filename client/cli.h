/* What every `coffer` command shares: its command line (the global options
 * --config, --url, --token-file, -v, -q, --help), the configuration and the
 * API connection it leads to, the backup definition a NAME or --collection
 * names, and the way messages and failures are printed.
 *
 * Messages go to standard error as "coffer COMMAND: ...". Errors are always
 * printed; warnings unless -q; what happened (a version stored, a file saved)
 * only on a terminal or with -v, so that cron mails nothing when all is well.
 * The token never appears in any of them. */
#ifndef COFFER_CLIENT_CLI_H
#define COFFER_CLIENT_CLI_H

#include "client/api.h"
#include "client/config.h"
#include "client/secret.h"
#include "common/error.h"

#include <getopt.h>
#include <stdbool.h>

/* Long options without a short form. */
enum {
    CF_OPT_CONFIG = 1000,
    CF_OPT_URL,
    CF_OPT_TOKEN_FILE,
    CF_OPT_COLLECTION,
    CF_OPT_COMMAND,
    CF_OPT_KEY_FILE,
    CF_OPT_PASSPHRASE_FILE,
    CF_OPT_SPOOL,
    CF_OPT_NO_SPOOL,
    CF_OPT_JSON,
    CF_OPT_BACKUP,
    CF_OPT_RAW,
};

/* Every command's getopt table starts with these. */
#define CF_CLI_GLOBAL_OPTIONS                                                                                \
    {"config", required_argument, NULL, CF_OPT_CONFIG}, {"url", required_argument, NULL, CF_OPT_URL},        \
        {"token-file", required_argument, NULL, CF_OPT_TOKEN_FILE}, {"verbose", no_argument, NULL, 'v'},     \
        {"quiet", no_argument, NULL, 'q'},                                                                   \
    {                                                                                                        \
        "help", no_argument, NULL, 'h'                                                                       \
    }
#define CF_CLI_GLOBAL_SHORT "hvq"
/* The two ways of naming the secret, for the commands that encrypt or decrypt. */
#define CF_CLI_SECRET_OPTIONS                                                                                \
    {"key-file", required_argument, NULL, CF_OPT_KEY_FILE},                                                  \
    {                                                                                                        \
        "passphrase-file", required_argument, NULL, CF_OPT_PASSPHRASE_FILE                                   \
    }

struct cf_cli {
    const char *command; /* "push", "admin token create"...: for messages */
    const char *help;    /* the command's help text */
    int verbosity;       /* -1 quiet, 0 normal, 1 verbose */
    bool stderr_tty;
    const char *config_path; /* --config */
    const char *url;         /* --url */
    const char *token_file;  /* --token-file */
    struct cf_client_config cfg;
    bool cfg_loaded;
    struct cf_api *api;
};

void cf_cli_init(struct cf_cli *cli, const char *command, const char *help);
void cf_cli_dispose(struct cf_cli *cli);

/* Called for each option that is not a global one, with its getopt value and
 * argument. Returns -1 to go on, or an exit status to stop with. */
typedef int (*cf_cli_option_fn)(struct cf_cli *cli, void *ctx, int opt, const char *arg);

/* Parses argv (argv[0] is skipped) with getopt_long; positional arguments
 * may come before or after options. *first_arg is the index of the first
 * positional one (they are moved to the end). Returns -1 to go on, 0 after
 * --help was printed, or 1 after a usage error was printed. */
int cf_cli_parse(struct cf_cli *cli, int argc, char **argv, const char *shortopts,
                 const struct option *longopts, cf_cli_option_fn fn, void *ctx, int *first_arg);
/* Handles a global option; false when opt is not one. */
bool cf_cli_global_option(struct cf_cli *cli, int opt, const char *arg);

/* Reads the configuration once: --config FILE (or the default file when it
 * exists), then the environment, then --url and --token-file. Returns 0, or
 * 1 after printing the error. */
int cf_cli_load_config(struct cf_cli *cli);
/* Loads the configuration and opens the API connection (url and a token are
 * needed). Returns 0, or 1 after printing what is missing. */
int cf_cli_connect(struct cf_cli *cli);

/* What the command line says about the backup, on top of its definition. */
struct cf_backup_flags {
    const char *collection;
    const char *command;
    const char *restore_command;
    const char *key_file;
    const char *passphrase_file;
    const char *spool;
    bool no_spool;
};

/* A cf_cli_option_fn (ctx: a struct cf_backup_flags) that takes the options
 * about the backup (--collection, --command, --key-file, --passphrase-file,
 * --spool, --no-spool) into the flags, and calls anything else an unexpected
 * option: the whole handler of a command that has no options of its own,
 * the last resort of one that has. Only the options in the command's getopt
 * table reach it. --command goes into flags->command (restore, where it
 * names the restore command, takes it first). The flags borrow from argv. */
int cf_cli_backup_option(struct cf_cli *cli, void *ctx, int opt, const char *arg);

/* The effective definition: [backup name] from the configuration (name NULL:
 * none, then flags->collection is needed), with the flags laid over it.
 * Dispose *out with cf_backup_def_dispose. Returns 0 or 1 (printed). */
int cf_cli_backup(struct cf_cli *cli, const char *name, const struct cf_backup_flags *flags,
                  struct cf_backup_def *out);
/* Loads def's key or passphrase into *secret and sets *have; *have false when
 * def names neither. Returns 0 or 1 (printed). Wipe with cf_secret_wipe. */
int cf_cli_secret(struct cf_cli *cli, const struct cf_backup_def *def, struct cf_secret *secret, bool *have);

/* Prints "coffer COMMAND: <message>" and a pointer to --help; returns 1. */
int cf_cli_usage(struct cf_cli *cli, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints a failure: its message, the server's fields, and what to do; returns
 * the exit status for its code (client/exit_codes.h). */
int cf_cli_fail(struct cf_cli *cli, const struct cf_error *err);
/* Prints a configuration problem (err's message); returns 1. */
int cf_cli_config_error(struct cf_cli *cli, const struct cf_error *err);
/* What happened: on a terminal, or with -v; never with -q. */
void cf_cli_info(struct cf_cli *cli, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Details: only with -v. */
void cf_cli_verbose(struct cf_cli *cli, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Something the user should know even under cron: unless -q. */
void cf_cli_warn(struct cf_cli *cli, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* True when a progress line may be drawn (standard error is a terminal, no -q). */
bool cf_cli_progress(const struct cf_cli *cli);

/* A JSON value printed for people: strings bare, null as "-". Into out. */
void cf_cli_json_text(const json_t *value, char *out, size_t out_len);
/* With -v, "LABEL: rotation deleted versions 3, 4" on standard error, from an
 * upload answer's "rotated" array; nothing when it is empty or NULL. */
void cf_cli_rotated(struct cf_cli *cli, const char *label, const json_t *rotated);

#endif
