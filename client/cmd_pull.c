/* coffer pull: download a version into a file, checked and decrypted. */
#include "client/cli.h"
#include "client/commands.h"
#include "client/download.h"
#include "client/exit_codes.h"
#include "client/output.h"
#include "client/unseal.h"
#include "common/size.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char cf_help_pull[] = "Usage: coffer pull [OPTIONS] NAME [REF]\n"
                            "       coffer pull [OPTIONS] --collection ID [REF]\n"
                            "\n"
                            "Downloads a version into a file. REF is latest (the default), first, N, vN or\n"
                            "the version's id. The data travels zstd-compressed and is decompressed here;\n"
                            "its SHA-256 must match the one the server recorded at upload, and an encrypted\n"
                            "backup is decrypted when the backup names a key or passphrase. The file gets\n"
                            "its final name only when every check has passed: a failed or partial download\n"
                            "leaves nothing behind.\n"
                            "\n"
                            "Without -o the file is saved in the current directory under the server's\n"
                            "download name (from the collection's filename, e.g. db-v3.sql.gz), and an\n"
                            "existing file of that name is left alone (exit 7). With -o - the data goes\n"
                            "to standard output, once it has been checked in full.\n"
                            "\n"
                            "Options:\n"
                            "  -o, --output FILE       write to FILE, replacing it; - for standard output\n"
                            "  --collection ID         the collection, without a [backup] section\n"
                            "  --key-file FILE         decrypt with the key in FILE\n"
                            "  --passphrase-file FILE  decrypt with the passphrase in FILE\n"
                            "  --raw                   keep an encrypted backup encrypted, as stored\n"
                            "\n" CF_HELP_GLOBAL "\n"
                            "Exit status: 0 saved, 1 usage or configuration, 2 token refused, 3 network,\n"
                            "4 server refused (404: no such version), 5 checksum or decryption failed,\n"
                            "7 a local file problem.\n";

struct pull_args {
    struct cf_backup_flags flags;
    const char *output;
    bool raw;
};

static const struct option pull_options[] = {
    CF_CLI_GLOBAL_OPTIONS,
    {"output", required_argument, NULL, 'o'},
    {"collection", required_argument, NULL, CF_OPT_COLLECTION},
    CF_CLI_SECRET_OPTIONS,
    {"raw", no_argument, NULL, CF_OPT_RAW},
    {NULL, 0, NULL, 0},
};

static int pull_option(struct cf_cli *cli, void *ctx, int opt, const char *arg)
{
    struct pull_args *a = ctx;

    if (opt == 'o')
        a->output = arg;
    else if (opt == CF_OPT_RAW)
        a->raw = true;
    else
        return cf_cli_backup_option(cli, &a->flags, opt, arg);
    return -1;
}

struct pull_sink {
    struct cf_output *out;
    struct cf_unseal *unseal;
};

static cf_code pull_restart(void *ctx, struct cf_error *err)
{
    struct pull_sink *s = ctx;
    cf_code code = cf_output_truncate(s->out, err);

    if (code == CF_OK)
        code = cf_unseal_reset(s->unseal, err);
    return code;
}

static cf_code pull_write(void *ctx, const void *data, size_t len, struct cf_error *err)
{
    struct pull_sink *s = ctx;

    return cf_unseal_push(s->unseal, data, len, err);
}

/* The collection and ref, split from the positional arguments. */
static int pull_target(struct cf_cli *cli, const struct pull_args *a, int argc, char **argv, int first,
                       const char **name, const char **ref)
{
    int nargs = argc - first, max = a->flags.collection != NULL ? 1 : 2;

    if (a->flags.collection == NULL && nargs < 1)
        return cf_cli_usage(cli, "which backup? give its NAME or --collection ID");
    if (nargs > max)
        return cf_cli_usage(cli, "too many arguments");
    *name = a->flags.collection != NULL ? NULL : argv[first];
    *ref = nargs == max ? argv[argc - 1] : "latest";
    if (!cf_api_segment_valid(*ref))
        return cf_cli_usage(cli, "\"%s\" is not a version: use latest, first, N, vN or a version id", *ref);
    return 0;
}

int cf_cmd_pull(int argc, char **argv)
{
    struct cf_cli cli;
    struct pull_args a;
    struct cf_backup_def def;
    struct cf_secret secret;
    struct cf_error err;
    struct cf_output out;
    struct cf_unseal *unseal = NULL;
    struct pull_sink sink_ctx;
    struct cf_download_sink sink;
    struct cf_download_info info;
    struct cf_progress bar;
    const char *name = NULL, *ref = NULL, *final;
    char fallback[160], label[96], size[32];
    bool have_secret = false, opened = false;
    int first = 0, status;
    cf_code code;

    memset(&a, 0, sizeof(a));
    memset(&def, 0, sizeof(def));
    memset(&secret, 0, sizeof(secret));
    cf_error_init(&err);
    cf_cli_init(&cli, "pull", cf_help_pull);
    status = cf_cli_parse(&cli, argc, argv, "o:" CF_CLI_GLOBAL_SHORT, pull_options, pull_option, &a, &first);
    if (status >= 0)
        goto out;
    status = pull_target(&cli, &a, argc, argv, first, &name, &ref);
    if (status == 0)
        status = cf_cli_backup(&cli, name, &a.flags, &def);
    if (status == 0 && !a.raw)
        status = cf_cli_secret(&cli, &def, &secret, &have_secret);
    if (status == 0)
        status = cf_cli_connect(&cli);
    if (status != 0)
        goto out;

    code = cf_output_open(&out, a.output, &err);
    opened = code == CF_OK;
    if (code == CF_OK)
        code =
            cf_unseal_new(have_secret ? &secret : NULL, CF_UNSEAL_AUTO, cf_output_sink, &out, &unseal, &err);
    if (code == CF_OK) {
        sink_ctx.out = &out;
        sink_ctx.unseal = unseal;
        sink.write = pull_write;
        sink.restart = pull_restart;
        sink.ctx = &sink_ctx;
        snprintf(label, sizeof(label), "pull %s", def.name);
        cf_progress_init(&bar, label, 0, cf_cli_progress(&cli));
        code = cf_download(cli.api, def.collection, ref, &sink, &bar, &info, &err);
    }
    if (code == CF_OK)
        code = cf_unseal_finish(unseal, &err);
    if (code == CF_OK) {
        snprintf(fallback, sizeof(fallback), "%s-%s", def.collection, ref);
        final = a.output != NULL ? a.output : info.filename[0] != '\0' ? info.filename : fallback;
        code = cf_output_commit(&out, final, a.output != NULL, &err);
        opened = false;
        if (code == CF_OK) {
            cf_size_format((int64_t)info.size, size, sizeof(size));
            cf_cli_info(&cli, "%s: saved %s (%s, sha256 %.12s... checked%s)", def.name,
                        strcmp(final, "-") == 0 ? "to standard output" : final, size, info.sha256,
                        cf_unseal_decrypts(unseal) ? ", decrypted" : "");
            if (cf_unseal_is_envelope(unseal) && !cf_unseal_decrypts(unseal))
                cf_cli_warn(&cli,
                            "%s is encrypted and was saved as stored%s; decrypt it with: coffer decrypt %s "
                            "--key-file FILE (or --passphrase-file FILE)",
                            final, a.raw ? "" : " (no key_file or passphrase_file is named)", final);
        }
    }
    if (opened)
        cf_output_abandon(&out);
    status = code == CF_OK ? 0 : cf_cli_fail(&cli, &err);
out:
    cf_unseal_free(unseal);
    cf_secret_wipe(&secret);
    cf_backup_def_dispose(&def);
    cf_error_dispose(&err);
    cf_cli_dispose(&cli);
    return status;
}
