/* The subcommands of `coffer`, one file each (cmd_<name>.c). Each takes the
 * command's own argv (argv[0] is its name; the global options may appear
 * anywhere in it), prints its own messages and returns the exit status
 * (client/exit_codes.h). Each file also holds the command's help text. */
#ifndef COFFER_CLIENT_COMMANDS_H
#define COFFER_CLIENT_COMMANDS_H

struct cf_command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *help;    /* printed by --help and `coffer help NAME` */
    const char *summary; /* one line for `coffer --help` */
};

int cf_cmd_push(int argc, char **argv);
int cf_cmd_pull(int argc, char **argv);
int cf_cmd_restore(int argc, char **argv);
int cf_cmd_list(int argc, char **argv);
int cf_cmd_sync(int argc, char **argv);
int cf_cmd_keygen(int argc, char **argv);
int cf_cmd_decrypt(int argc, char **argv);
int cf_cmd_admin(int argc, char **argv);

extern const char cf_help_push[];
extern const char cf_help_pull[];
extern const char cf_help_restore[];
extern const char cf_help_list[];
extern const char cf_help_sync[];
extern const char cf_help_keygen[];
extern const char cf_help_decrypt[];
extern const char cf_help_admin[];

/* The global options, as every help text lists them. */
#define CF_HELP_GLOBAL                                                                                       \
    "Global options:\n"                                                                                      \
    "  --config FILE       configuration file (default: ~/.config/coffer/coffer.conf, else\n"                \
    "                      /etc/coffer/coffer.conf, whichever exists first)\n"                               \
    "  --url URL           the server's URL (overrides url and COFFER_URL)\n"                                \
    "  --token-file FILE   read the token from FILE (overrides token, token_file, COFFER_TOKEN)\n"           \
    "  -v, --verbose       say what happens, also when not on a terminal\n"                                  \
    "  -q, --quiet         print errors only\n"                                                              \
    "  -h, --help          show this help\n"

#endif
