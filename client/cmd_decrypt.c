/* coffer decrypt: open an encrypted backup file, offline. */
#include "client/cli.h"
#include "client/commands.h"
#include "client/exit_codes.h"
#include "client/output.h"
#include "client/unseal.h"
#include "common/size.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

const char cf_help_decrypt[] =
    "Usage: coffer decrypt [OPTIONS] FILE\n"
    "\n"
    "Decrypts an encrypted backup that was downloaded earlier (by coffer pull\n"
    "without a key or with --raw, or by hand), offline: no server is needed. Every\n"
    "chunk is authenticated; a wrong key or passphrase and a damaged, altered or\n"
    "truncated file are refused (exit 5) and leave no output file.\n"
    "\n"
    "Without -o the output is FILE without its .coffer or .enc suffix, or\n"
    "FILE.decrypted, and an existing file is left alone. With -o - the plaintext\n"
    "goes to standard output once the whole file has been checked.\n"
    "\n"
    "Options:\n"
    "  -o, --output FILE       write to FILE, replacing it; - for standard output\n"
    "  --key-file FILE         the key file the backup was made with\n"
    "  --passphrase-file FILE  the passphrase file the backup was made with\n"
    "  --backup NAME           the key_file or passphrase_file of [backup NAME]\n"
    "\n" CF_HELP_GLOBAL "\n"
    "Exit status: 0 decrypted, 1 usage (no key given, not an encrypted file),\n"
    "5 decryption failed, 7 a local file problem.\n";

struct decrypt_args {
    struct cf_backup_flags flags;
    const char *backup;
    const char *output;
};

static const struct option decrypt_options[] = {
    CF_CLI_GLOBAL_OPTIONS,
    {"output", required_argument, NULL, 'o'},
    CF_CLI_SECRET_OPTIONS,
    {"backup", required_argument, NULL, CF_OPT_BACKUP},
    {NULL, 0, NULL, 0},
};

static int decrypt_option(struct cf_cli *cli, void *ctx, int opt, const char *arg)
{
    struct decrypt_args *a = ctx;

    if (opt == 'o')
        a->output = arg;
    else if (opt == CF_OPT_BACKUP)
        a->backup = arg;
    else
        return cf_cli_backup_option(cli, &a->flags, opt, arg);
    return -1;
}

/* FILE without .coffer or .enc, else FILE.decrypted. */
static void default_output(const char *input, char *out, size_t out_len)
{
    size_t len = strlen(input);
    static const char *const suffixes[] = {".coffer", ".enc"};

    for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
        size_t n = strlen(suffixes[i]);
        if (len > n && strcmp(input + len - n, suffixes[i]) == 0 && input[len - n - 1] != '/') {
            snprintf(out, out_len, "%.*s", (int)(len - n), input);
            return;
        }
    }
    snprintf(out, out_len, "%s.decrypted", input);
}

int cf_cmd_decrypt(int argc, char **argv)
{
    struct cf_cli cli;
    struct decrypt_args a;
    struct cf_backup_def def;
    struct cf_secret secret;
    struct cf_error err;
    struct cf_output out;
    struct cf_unseal *unseal = NULL;
    const char *input, *final;
    char fallback[4200], size[32];
    bool have_secret = false, opened = false;
    int first = 0, status, fd = -1;
    cf_code code;

    memset(&a, 0, sizeof(a));
    memset(&def, 0, sizeof(def));
    memset(&secret, 0, sizeof(secret));
    cf_error_init(&err);
    cf_cli_init(&cli, "decrypt", cf_help_decrypt);
    status =
        cf_cli_parse(&cli, argc, argv, "o:" CF_CLI_GLOBAL_SHORT, decrypt_options, decrypt_option, &a, &first);
    if (status >= 0)
        goto out;
    if (argc - first != 1) {
        status = cf_cli_usage(&cli, argc - first == 0 ? "which file? give FILE" : "too many arguments");
        goto out;
    }
    input = argv[first];
    if (a.backup != NULL) {
        status = cf_cli_backup(&cli, a.backup, &a.flags, &def);
    } else if (a.flags.key_file == NULL && a.flags.passphrase_file == NULL) {
        status = cf_cli_usage(&cli, "give --key-file FILE, --passphrase-file FILE or --backup NAME");
    } else {
        /* No configuration is needed (or read) for a key given on the command line. */
        code = cf_backup_def_init(&def, "decrypt", &err);
        if (code == CF_OK && a.flags.key_file != NULL)
            code = cf_backup_def_set(&def, "key_file", a.flags.key_file, "--key-file", &err);
        if (code == CF_OK && a.flags.passphrase_file != NULL)
            code = cf_backup_def_set(&def, "passphrase_file", a.flags.passphrase_file, "--passphrase-file",
                                     &err);
        if (code == CF_OK && def.key_file != NULL && def.passphrase_file != NULL)
            code = cf_fail(&err, CF_E_VALIDATION, "give --key-file or --passphrase-file, not both");
        status = code == CF_OK ? 0 : cf_cli_config_error(&cli, &err);
    }
    if (status != 0)
        goto out;
    status = cf_cli_secret(&cli, &def, &secret, &have_secret);
    if (status == 0 && !have_secret)
        status = cf_cli_usage(&cli, "[backup %s] names no key_file or passphrase_file", a.backup);
    if (status != 0)
        goto out;
    fd = open(input, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        status = cf_cli_usage(&cli, "cannot open %s: %s", input, strerror(errno));
        goto out;
    }
    default_output(input, fallback, sizeof(fallback));
    final = a.output != NULL ? a.output : fallback;
    code = cf_output_open(&out, final, &err);
    opened = code == CF_OK;
    if (code == CF_OK)
        code = cf_unseal_new(&secret, CF_UNSEAL_REQUIRE, cf_output_sink, &out, &unseal, &err);
    if (code == CF_OK)
        code = cf_unseal_fd(unseal, fd, NULL, &err);
    if (code == CF_OK) {
        code = cf_output_commit(&out, final, a.output != NULL, &err);
        opened = false;
    }
    if (opened)
        cf_output_abandon(&out);
    if (code == CF_OK) {
        cf_size_format((int64_t)out.size, size, sizeof(size));
        cf_cli_info(&cli, "decrypted %s into %s (%s)", input,
                    strcmp(final, "-") == 0 ? "standard output" : final, size);
        status = 0;
    } else {
        status = code == CF_E_VALIDATION ? cf_cli_config_error(&cli, &err) : cf_cli_fail(&cli, &err);
    }
out:
    if (fd >= 0)
        close(fd);
    cf_unseal_free(unseal);
    cf_secret_wipe(&secret);
    cf_backup_def_dispose(&def);
    cf_error_dispose(&err);
    cf_cli_dispose(&cli);
    return status;
}
