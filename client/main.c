/* coffer: finds the subcommand and hands it the command line. Everything it
 * runs lives in the other files of client/. */
#include "client/commands.h"
#include "client/exit_codes.h"
#include "client/interrupt.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>

static const struct cf_command commands[] = {
    {"push", cf_cmd_push, cf_help_push, "make a backup and upload it as a new version"},
    {"pull", cf_cmd_pull, cf_help_pull, "download a version into a file (checked, decrypted)"},
    {"restore", cf_cmd_restore, cf_help_restore, "feed a version into the backup's restore command"},
    {"list", cf_cmd_list, cf_help_list, "list a backup's versions, or the collections"},
    {"sync", cf_cmd_sync, cf_help_sync, "upload the backups that wait in the spool"},
    {"keygen", cf_cmd_keygen, cf_help_keygen, "write a new random encryption key file"},
    {"decrypt", cf_cmd_decrypt, cf_help_decrypt, "decrypt a downloaded encrypted backup, offline"},
    {"admin", cf_cmd_admin, cf_help_admin, "manage accounts, tokens and collections"},
};
static const size_t command_count = sizeof(commands) / sizeof(commands[0]);

static void print_usage(FILE *out)
{
    fputs("Usage: coffer [GLOBAL OPTIONS] COMMAND [ARGS]\n"
          "\n"
          "The client of a Coffer backup server.\n"
          "\n"
          "Commands:\n",
          out);
    for (size_t i = 0; i < command_count; i++)
        fprintf(out, "  %-9s %s\n", commands[i].name, commands[i].summary);
    fputs("  help      show a command's help (coffer help push)\n"
          "\n" CF_HELP_GLOBAL "  --version           print the version\n"
          "\n"
          "Without --config, the first of ~/.config/coffer/coffer.conf and\n"
          "/etc/coffer/coffer.conf that exists is read; without any, COFFER_URL and\n"
          "COFFER_TOKEN are enough, with --collection ID in place of a backup NAME.\n"
          "\n"
          "Exit status: 0 success, 1 usage or configuration, 2 authentication, 3 network,\n"
          "4 server refused, 5 integrity (checksum, decryption), 6 the backup or restore\n"
          "command failed, 7 a local file could not be read or written.\n"
          "See coffer(1) and docs/client.md.\n",
          out);
}

static const struct cf_command *find(const char *name)
{
    for (size_t i = 0; i < command_count; i++) {
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    }
    return NULL;
}

/* True for the global options that take a value (their value is not the command). */
static bool takes_value(const char *arg)
{
    return strcmp(arg, "--config") == 0 || strcmp(arg, "--url") == 0 || strcmp(arg, "--token-file") == 0;
}

/* What the command printed on standard output must have reached it: stdio
 * reports a full disk or a closed pipe only when it flushes, and a command
 * that ends well would otherwise exit 0 with its output lost (`coffer admin
 * token create > file` prints a token the server shows only once). */
static int finish_stdout(int status)
{
    bool lost = ferror(stdout) != 0;
    int why = 0;

    if (fflush(stdout) != 0) {
        lost = true;
        why = errno;
    }
    if (!lost)
        return status;
    if (why != 0)
        fprintf(stderr, "coffer: cannot write standard output: %s\n", strerror(why));
    else
        fputs("coffer: cannot write standard output\n", stderr);
    return status == CF_EXIT_OK ? CF_EXIT_LOCAL : status;
}

static int run(int argc, char **argv)
{
    const struct cf_command *cmd;
    char *sub_argv[256];
    int at = -1, sub_argc = 0;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            break;
        if (takes_value(argv[i])) {
            i++;
            continue;
        }
        if (argv[i][0] != '-') {
            at = i;
            break;
        }
        if (strcmp(argv[i], "--version") == 0) {
            printf("coffer %s\n", COFFER_VERSION);
            return CF_EXIT_OK;
        }
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            print_usage(stdout);
            return CF_EXIT_OK;
        }
    }
    if (at < 0) {
        fputs("coffer: no command given\n\n", stderr);
        print_usage(stderr);
        return CF_EXIT_USAGE;
    }
    if (strcmp(argv[at], "help") == 0) {
        if (at + 1 >= argc) {
            print_usage(stdout);
            return CF_EXIT_OK;
        }
        cmd = find(argv[at + 1]);
        if (cmd == NULL) {
            fprintf(stderr, "coffer: unknown command %s; the commands are listed by coffer --help\n",
                    argv[at + 1]);
            return CF_EXIT_USAGE;
        }
        fputs(cmd->help, stdout);
        return CF_EXIT_OK;
    }
    cmd = find(argv[at]);
    if (cmd == NULL) {
        fprintf(stderr, "coffer: unknown command %s; the commands are listed by coffer --help\n", argv[at]);
        return CF_EXIT_USAGE;
    }
    if (argc >= (int)(sizeof(sub_argv) / sizeof(sub_argv[0]))) {
        fputs("coffer: too many arguments\n", stderr);
        return CF_EXIT_USAGE;
    }
    /* The command sees its name first, then every other argument: the global
     * options given before it are parsed with its own. */
    sub_argv[sub_argc++] = argv[at];
    for (int i = 1; i < argc; i++) {
        if (i != at)
            sub_argv[sub_argc++] = argv[i];
    }
    sub_argv[sub_argc] = NULL;
    return cmd->run(sub_argc, sub_argv);
}

int main(int argc, char **argv)
{
    /* The process holds the token and may hold a key, a passphrase and
     * plaintext: no core file may keep them (nor may another process of the
     * same user read its memory). Children get the flag back at exec. */
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    cf_interrupt_install();
    return finish_stdout(run(argc, argv));
}
