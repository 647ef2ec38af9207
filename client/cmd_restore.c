/* coffer restore: feed a verified (and decrypted) version into the restore command. */
#include "client/cli.h"
#include "client/commands.h"
#include "client/download.h"
#include "client/envelope.h"
#include "client/exit_codes.h"
#include "client/run.h"
#include "client/unseal.h"
#include "common/fdio.h"
#include "common/size.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char cf_help_restore[] =
    "Usage: coffer restore [OPTIONS] NAME [REF]\n"
    "       coffer restore [OPTIONS] --collection ID --command CMD [REF]\n"
    "\n"
    "Feeds a version (REF: latest by default, first, N, vN or a version id) into\n"
    "the restore_command of [backup NAME], run with /bin/sh -c with the backup on\n"
    "its standard input.\n"
    "\n"
    "The command never sees a byte that has not been checked: the version is first\n"
    "downloaded into a temporary file (in the backup's spool directory, else\n"
    "$TMPDIR or /tmp; removed afterwards) and its SHA-256 compared with the one the\n"
    "server recorded; an encrypted backup is then decrypted once without output, so\n"
    "that a wrong key or a damaged chunk shows before the command starts. If the\n"
    "command fails, coffer says how and exits with status 6.\n"
    "\n"
    "Options:\n"
    "  --command CMD           run CMD instead of the section's restore_command\n"
    "  --collection ID         the collection, without a [backup] section\n"
    "  --key-file FILE         decrypt with the key in FILE\n"
    "  --passphrase-file FILE  decrypt with the passphrase in FILE\n"
    "\n" CF_HELP_GLOBAL "\n"
    "Exit status: 0 restored, 1 usage or configuration, 2 token refused, 3 network,\n"
    "4 server refused, 5 checksum or decryption failed, 6 the restore command\n"
    "failed, 7 a local file problem.\n";

static const struct option restore_options[] = {
    CF_CLI_GLOBAL_OPTIONS,
    {"command", required_argument, NULL, CF_OPT_COMMAND},
    {"collection", required_argument, NULL, CF_OPT_COLLECTION},
    CF_CLI_SECRET_OPTIONS,
    {NULL, 0, NULL, 0},
};

static int restore_option(struct cf_cli *cli, void *ctx, int opt, const char *arg)
{
    struct cf_backup_flags *flags = ctx;

    /* Here --command is the command that restores, not the one that backs up. */
    if (opt == CF_OPT_COMMAND) {
        flags->restore_command = arg;
        return -1;
    }
    return cf_cli_backup_option(cli, flags, opt, arg);
}

static cf_code write_all(int fd, const void *data, size_t len, struct cf_error *err)
{
    int e = cf_write_all(fd, data, len);

    if (e == EPIPE)
        return cf_fail(err, CF_E_COMMAND_FAILED,
                       "the restore command stopped reading before the end of the backup");
    return e == 0 ? CF_OK : cf_fail(err, CF_E_IO, "cannot write: %s", strerror(e));
}

static cf_code temp_write(void *ctx, const void *data, size_t len, struct cf_error *err)
{
    cf_code code = write_all(*(int *)ctx, data, len, err);

    /* A failed write here is the temporary file's disk, not a command. */
    if (code == CF_E_COMMAND_FAILED)
        code = cf_fail(err, CF_E_IO, "cannot write the temporary file");
    return code;
}

static cf_code temp_restart(void *ctx, struct cf_error *err)
{
    int fd = *(int *)ctx;

    if (ftruncate(fd, 0) != 0 || lseek(fd, 0, SEEK_SET) != 0)
        return cf_fail(err, CF_E_IO, "cannot empty the temporary file: %s", strerror(errno));
    return CF_OK;
}

static cf_code pipe_write(void *ctx, const void *data, size_t len, struct cf_error *err)
{
    return write_all(((struct cf_child *)ctx)->fd, data, len, err);
}

static cf_code discard(void *ctx, const void *data, size_t len, struct cf_error *err)
{
    (void)ctx;
    (void)data;
    (void)len;
    (void)err;
    return CF_OK;
}

/* Pushes the whole temporary file through unseal (each pass starts at its beginning). */
static cf_code feed(int fd, struct cf_unseal *unseal, struct cf_error *err)
{
    if (lseek(fd, 0, SEEK_SET) != 0)
        return cf_fail(err, CF_E_IO, "cannot read the temporary file: %s", strerror(errno));
    return cf_unseal_fd(unseal, fd, "the temporary file", err);
}

/* A temporary file nobody else can open: unlinked at once, gone when closed. */
static int temp_file(const char *dir, struct cf_error *err)
{
    char path[4200];
    int fd;

    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        cf_fail(err, CF_E_IO, "cannot create %s: %s", dir, strerror(errno));
        return -1;
    }
    snprintf(path, sizeof(path), "%s/.coffer-restore-XXXXXX", dir);
    fd = mkostemp(path, O_CLOEXEC);
    if (fd < 0) {
        cf_fail(err, CF_E_IO, "cannot create a temporary file in %s: %s", dir, strerror(errno));
        return -1;
    }
    unlink(path);
    return fd;
}

/* The version is in fd and verified: check the decryption, then run the command on it. */
static cf_code run_restore(struct cf_cli *cli, const struct cf_backup_def *def,
                           const struct cf_secret *secret, int fd, struct cf_error *err)
{
    struct cf_unseal *unseal = NULL;
    struct cf_child child = {-1, -1, ""};
    unsigned char head[CF_ENVELOPE_MAGIC_LEN];
    ssize_t got;
    cf_code code;

    got = pread(fd, head, sizeof(head), 0);
    if (got == (ssize_t)sizeof(head) && cf_envelope_detect(head, sizeof(head))) {
        if (secret == NULL)
            return cf_fail(
                err, CF_E_VALIDATION,
                "this backup is encrypted: name key_file or passphrase_file in [backup %s], or give "
                "--key-file or --passphrase-file",
                def->name);
        cf_cli_verbose(cli, "checking that the backup decrypts");
        code = cf_unseal_new(secret, CF_UNSEAL_REQUIRE, discard, NULL, &unseal, err);
        if (code == CF_OK)
            code = feed(fd, unseal, err);
        cf_unseal_free(unseal);
        unseal = NULL;
        if (code != CF_OK)
            return code;
    }
    cf_cli_verbose(cli, "running: %s", def->restore_command);
    code = cf_run_start(def->restore_command, CF_RUN_WRITE, "the restore command", &child, err);
    if (code == CF_OK)
        code = cf_unseal_new(secret, CF_UNSEAL_AUTO, pipe_write, &child, &unseal, err);
    if (code == CF_OK)
        code = feed(fd, unseal, err);
    cf_unseal_free(unseal);
    if (code == CF_OK || code == CF_E_COMMAND_FAILED) {
        /* The command's own exit status says more than a broken pipe. */
        struct cf_error status;
        cf_error_init(&status);
        if (cf_run_finish(&child, &status) != CF_OK) {
            code = cf_fail(err, CF_E_COMMAND_FAILED, "%s", status.message);
        }
        cf_error_dispose(&status);
    } else {
        /* Cut short here (this should not happen after the checks): make
         * sure the command does not take a partial stream for a whole one. */
        if (child.pid > 0)
            kill(child.pid, SIGKILL);
        cf_run_stop(&child);
    }
    return code;
}

int cf_cmd_restore(int argc, char **argv)
{
    struct cf_cli cli;
    struct cf_backup_flags flags;
    struct cf_backup_def def;
    struct cf_secret secret;
    struct cf_error err;
    struct cf_download_sink sink;
    struct cf_download_info info;
    struct cf_progress bar;
    const char *name = NULL, *ref = "latest", *tmpdir = getenv("TMPDIR");
    char label[96], size[32];
    bool have_secret = false;
    int first = 0, nargs, status, fd = -1;
    cf_code code;

    memset(&flags, 0, sizeof(flags));
    memset(&def, 0, sizeof(def));
    memset(&secret, 0, sizeof(secret));
    cf_error_init(&err);
    cf_cli_init(&cli, "restore", cf_help_restore);
    status =
        cf_cli_parse(&cli, argc, argv, CF_CLI_GLOBAL_SHORT, restore_options, restore_option, &flags, &first);
    if (status >= 0)
        goto out;
    nargs = argc - first;
    if (flags.collection == NULL && nargs < 1) {
        status = cf_cli_usage(&cli, "which backup? give its NAME or --collection ID");
        goto out;
    }
    if (nargs > (flags.collection != NULL ? 1 : 2)) {
        status = cf_cli_usage(&cli, "too many arguments");
        goto out;
    }
    if (flags.collection == NULL)
        name = argv[first];
    if (nargs == (flags.collection != NULL ? 1 : 2))
        ref = argv[argc - 1];
    if (!cf_api_segment_valid(ref)) {
        status = cf_cli_usage(&cli, "\"%s\" is not a version: use latest, first, N, vN or a version id", ref);
        goto out;
    }
    status = cf_cli_backup(&cli, name, &flags, &def);
    if (status != 0)
        goto out;
    if (def.restore_command == NULL) {
        if (name != NULL)
            status = cf_cli_usage(&cli, "[backup %s] has no restore_command; add one, or give --command CMD",
                                  name);
        else
            status = cf_cli_usage(&cli, "give the command to restore with: --command CMD");
        goto out;
    }
    status = cf_cli_secret(&cli, &def, &secret, &have_secret);
    if (status == 0)
        status = cf_cli_connect(&cli);
    if (status != 0)
        goto out;

    fd = temp_file(def.spool != NULL                     ? def.spool
                   : tmpdir != NULL && tmpdir[0] != '\0' ? tmpdir
                                                         : "/tmp",
                   &err);
    code = fd >= 0 ? CF_OK : err.code;
    if (code == CF_OK) {
        sink.write = temp_write;
        sink.restart = temp_restart;
        sink.ctx = &fd;
        snprintf(label, sizeof(label), "download %s", def.name);
        cf_progress_init(&bar, label, 0, cf_cli_progress(&cli));
        code = cf_download(cli.api, def.collection, ref, &sink, &bar, &info, &err);
    }
    if (code == CF_OK) {
        cf_cli_verbose(&cli, "downloaded %s, sha256 %s checked", ref, info.sha256);
        code = run_restore(&cli, &def, have_secret ? &secret : NULL, fd, &err);
    }
    if (code == CF_OK) {
        cf_size_format((int64_t)info.size, size, sizeof(size));
        cf_cli_info(&cli, "%s: restored %s (%s, sha256 %.12s... checked)", def.name, ref, size, info.sha256);
        status = 0;
    } else {
        status = code == CF_E_VALIDATION ? cf_cli_config_error(&cli, &err) : cf_cli_fail(&cli, &err);
    }
out:
    if (fd >= 0)
        close(fd);
    cf_secret_wipe(&secret);
    cf_backup_def_dispose(&def);
    cf_error_dispose(&err);
    cf_cli_dispose(&cli);
    return status;
}
