/* coffer push: make a backup and upload it. */
#include "client/cli.h"
#include "client/commands.h"
#include "client/exit_codes.h"
#include "client/progress.h"
#include "client/run.h"
#include "client/source.h"
#include "client/spool.h"
#include "client/sync.h"
#include "client/upload.h"
#include "common/size.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

const char cf_help_push[] = "Usage: coffer push [OPTIONS] NAME\n"
                            "       coffer push [OPTIONS] NAME FILE|-\n"
                            "       coffer push [OPTIONS] --collection ID --command CMD\n"
                            "       coffer push [OPTIONS] --collection ID FILE|-\n"
                            "\n"
                            "Makes a backup and uploads it as a new version.\n"
                            "\n"
                            "With NAME, runs the command of the [backup NAME] section (or --command CMD)\n"
                            "with /bin/sh -c and uploads its standard output; FILE, or - for standard\n"
                            "input, replaces the command. With --collection ID no section is needed: give\n"
                            "the command with --command, or FILE or -. The upload counts only when the\n"
                            "command exits with status 0: when it fails or is killed the transfer is\n"
                            "aborted, the server keeps nothing, and coffer exits with status 6.\n"
                            "\n"
                            "The server keeps the time the backup was started as the version's made_at;\n"
                            "-v names the versions that the collection's rotation deleted, and --json\n"
                            "prints {\"version\": {...}, \"rotated\": [numbers]} on standard output.\n"
                            "\n"
                            "With a spool the backup is first written there in full (encrypted, when a key\n"
                            "is named), then uploaded, older entries of the same collection first. If the\n"
                            "server cannot be reached it stays in the spool for `coffer sync` (exit 3).\n"
                            "\n"
                            "Options:\n"
                            "  --collection ID         upload to collection ID, without a [backup] section\n"
                            "  --command CMD           run CMD instead of the section's command\n"
                            "  --key-file FILE         encrypt with the key in FILE (see coffer keygen)\n"
                            "  --passphrase-file FILE  encrypt with a key derived from FILE's first line\n"
                            "  --spool DIR             write the backup to DIR first, then upload it\n"
                            "  --no-spool              upload directly even when the section names a spool\n"
                            "  --json                  print the stored version and the rotated numbers\n"
                            "\n" CF_HELP_GLOBAL "\n"
                            "Exit status: 0 stored, 1 usage or configuration, 2 token refused, 3 network\n"
                            "(a spooled backup waits in the spool), 4 server refused, 5 checksum,\n"
                            "6 the backup command failed, 7 a local file problem.\n";

static const struct option push_options[] = {
    CF_CLI_GLOBAL_OPTIONS,
    {"collection", required_argument, NULL, CF_OPT_COLLECTION},
    {"command", required_argument, NULL, CF_OPT_COMMAND},
    CF_CLI_SECRET_OPTIONS,
    {"spool", required_argument, NULL, CF_OPT_SPOOL},
    {"no-spool", no_argument, NULL, CF_OPT_NO_SPOOL},
    {"json", no_argument, NULL, CF_OPT_JSON},
    {NULL, 0, NULL, 0},
};

struct push_args {
    struct cf_backup_flags flags;
    bool json;
};

static int push_option(struct cf_cli *cli, void *ctx, int opt, const char *arg)
{
    struct push_args *a = ctx;

    if (opt != CF_OPT_JSON)
        return cf_cli_backup_option(cli, &a->flags, opt, arg);
    a->json = true;
    return -1;
}

/* "version 7 (1.2 GiB, sha256 3f2a1b0c9d8e...)" */
static void describe_version(const json_t *version, char *out, size_t out_len)
{
    char size[32];
    const char *sha256 = json_string_value(json_object_get(version, "sha256"));

    cf_size_format((int64_t)json_integer_value(json_object_get(version, "size")), size, sizeof(size));
    snprintf(out, out_len, "version %lld (%s, sha256 %.12s...)",
             (long long)json_integer_value(json_object_get(version, "number")), size,
             sha256 != NULL ? sha256 : "?");
}

struct push {
    struct cf_cli *cli;
    const struct cf_backup_def *def;
    const struct cf_secret *secret; /* NULL: plain */
    const char *file;               /* NULL: the command; "-": standard input */
    const char *label;              /* the backup's name for messages */
    int64_t started;                /* when the backup began: the version's made_at */
    json_t *version;                /* owned: the version stored last, for --json */
    json_t *rotated;                /* owned: every number rotation deleted in this run */
};

/* Records what an upload stored and says what its rotation deleted (-v). */
static void note_stored(struct push *p, const json_t *version, const json_t *rotated)
{
    json_decref(p->version);
    p->version = json_incref((json_t *)version);
    if (json_is_array(rotated))
        json_array_extend(p->rotated, (json_t *)rotated);
    cf_cli_rotated(p->cli, p->label, rotated);
}

/* The source of the backup's bytes: the file, standard input, or the command. */
static cf_code open_source(const struct push *p, struct cf_source **out, struct cf_error *err)
{
    struct cf_child child;
    int fd = -1;
    cf_code code;

    if (p->file != NULL) {
        if (strcmp(p->file, "-") == 0)
            fd = fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 0);
        else
            fd = open(p->file, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return cf_fail(err, CF_E_IO, "cannot open %s: %s",
                           strcmp(p->file, "-") == 0 ? "standard input" : p->file, strerror(errno));
        return cf_source_new(fd, NULL, p->secret, (int)p->def->zstd_level, out, err);
    }
    cf_cli_verbose(p->cli, "running: %s", p->def->command);
    code = cf_run_start(p->def->command, CF_RUN_READ, "the backup command", &child, err);
    if (code != CF_OK)
        return code;
    code = cf_source_new(-1, &child, p->secret, (int)p->def->zstd_level, out, err);
    if (code != CF_OK)
        cf_run_stop(&child);
    return code;
}

static void on_entry(void *ctx, const struct cf_spool_entry *entry, enum cf_sync_outcome outcome,
                     const json_t *version, const json_t *rotated, const struct cf_error *why)
{
    struct push *p = ctx;
    char text[160];

    if (outcome == CF_SYNC_REFUSED) {
        cf_cli_warn(p->cli, "the spool entry %s was refused and stays in the spool: %s", entry->name,
                    why->message);
        return;
    }
    describe_version(version, text, sizeof(text));
    note_stored(p, version, rotated);
    if (outcome == CF_SYNC_ALREADY_THERE)
        cf_cli_info(p->cli, "%s: the spooled backup of %s was already stored as %s", p->label, entry->name,
                    text);
    else
        cf_cli_info(p->cli, "%s: %s stored from the spool", p->label, text);
}

/* Writes the whole backup into the spool, then uploads what the spool holds for the collection. */
static cf_code push_spooled(struct push *p, struct cf_error *err)
{
    struct cf_spool_writer w;
    struct cf_spool_entry entry;
    struct cf_source *src = NULL;
    struct cf_progress bar;
    struct cf_sync_options options = {cf_cli_progress(p->cli), on_entry, p};
    struct cf_sync_result result;
    char label[96];
    char *block = NULL;
    cf_code code;

    code = cf_spool_begin(&w, p->def->spool, p->def->collection, err);
    if (code == CF_OK)
        code = open_source(p, &src, err);
    block = malloc(256 * 1024);
    if (code == CF_OK && block == NULL)
        code = cf_fail(err, CF_E_NOMEM, "out of memory");
    snprintf(label, sizeof(label), "spool %s", p->label);
    cf_progress_init(&bar, label, 0, cf_cli_progress(p->cli));
    while (code == CF_OK) {
        ssize_t got = cf_source_read(src, block, 256 * 1024, err);
        if (got < 0) {
            code = err->code != CF_OK ? err->code : CF_E_IO;
            break;
        }
        if (got == 0)
            break;
        code = cf_spool_sink(&w, block, (size_t)got, err);
        cf_progress_add(&bar, (uint64_t)got);
    }
    cf_progress_done(&bar);
    free(block);
    cf_source_free(src);
    if (code == CF_OK)
        code = cf_spool_commit(&w, &entry, err);
    cf_spool_abandon(&w);
    if (code != CF_OK)
        return code;
    cf_cli_verbose(p->cli, "written to the spool as %s/%s", p->def->spool, entry.name);

    code = cf_sync_spool(p->cli->api, p->def->spool, p->def->collection, &options, &result, err);
    if (result.unchecked)
        cf_cli_verbose(p->cli,
                       "the token may not list versions (versions.list), so earlier attempts were not "
                       "looked for");
    if (code != CF_OK && result.left > 0)
        cf_cli_warn(p->cli, "%d backup(s) of %s wait in the spool %s; `coffer sync` uploads them",
                    result.left, p->def->collection, p->def->spool);
    return code;
}

/* A regular file without encryption: its size and hash are known before the
 * upload, so it goes with Content-Length (the server can refuse early) and
 * may be retried. */
static cf_code push_file(struct push *p, int fd, uint64_t size, struct cf_error *err)
{
    struct cf_spool_entry entry;
    struct cf_sha256 *hash = cf_sha256_new();
    json_t *version = NULL, *rotated = NULL;
    bool already = false, unchecked = false;
    char block[64 * 1024], text[160];
    uint64_t done = 0;
    cf_code code = CF_OK;

    memset(&entry, 0, sizeof(entry));
    if (hash == NULL)
        return cf_fail(err, CF_E_NOMEM, "out of memory");
    while (done < size) {
        ssize_t got = pread(fd, block, sizeof(block), (off_t)done);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0) {
            code = cf_fail(err, CF_E_IO, "cannot read %s: %s", p->file,
                           got == 0 ? "it shrank" : strerror(errno));
            break;
        }
        cf_sha256_update(hash, block, (size_t)got);
        done += (uint64_t)got;
    }
    cf_sha256_final_hex(hash, entry.sha256);
    cf_sha256_free(hash);
    if (code != CF_OK)
        return code;
    snprintf(entry.collection, sizeof(entry.collection), "%s", p->def->collection);
    entry.size = size;
    entry.created = p->started;
    code = cf_sync_upload_file(p->cli->api, p->file, &entry, NULL, cf_cli_progress(p->cli), &version,
                               &rotated, &already, &unchecked, err);
    if (code == CF_OK) {
        describe_version(version, text, sizeof(text));
        note_stored(p, version, rotated);
        cf_cli_info(p->cli, "%s: %s %s", p->label, text,
                    already ? "was stored by an earlier attempt" : "stored");
    }
    json_decref(rotated);
    json_decref(version);
    return code;
}

/* A stream (a command, standard input, or anything encrypted): chunked, the hash in the trailer. */
static cf_code push_stream(struct push *p, struct cf_error *err)
{
    struct cf_source *src = NULL;
    struct cf_progress bar;
    json_t *result = NULL;
    char label[96], text[160];
    cf_code code;

    code = open_source(p, &src, err);
    if (code != CF_OK)
        return code;
    snprintf(label, sizeof(label), "push %s", p->label);
    cf_progress_init(&bar, label, 0, cf_cli_progress(p->cli));
    code = cf_upload_stream(p->cli->api, p->def->collection, src, p->started, &bar, &result, err);
    cf_source_free(src);
    if (code == CF_OK) {
        describe_version(json_object_get(result, "version"), text, sizeof(text));
        note_stored(p, json_object_get(result, "version"), json_object_get(result, "rotated"));
        cf_cli_info(p->cli, "%s: %s stored", p->label, text);
    }
    json_decref(result);
    return code;
}

int cf_cmd_push(int argc, char **argv)
{
    struct cf_cli cli;
    struct push_args args;
    struct cf_backup_def def;
    struct cf_secret secret;
    struct cf_error err;
    struct push p;
    const char *name = NULL;
    bool have_secret = false;
    int first = 0, nargs, status;
    cf_code code;

    memset(&args, 0, sizeof(args));
    memset(&def, 0, sizeof(def));
    memset(&secret, 0, sizeof(secret));
    memset(&p, 0, sizeof(p));
    cf_error_init(&err);
    cf_cli_init(&cli, "push", cf_help_push);
    status = cf_cli_parse(&cli, argc, argv, CF_CLI_GLOBAL_SHORT, push_options, push_option, &args, &first);
    if (status >= 0)
        goto out;
    nargs = argc - first;
    if (args.flags.collection != NULL) {
        if (nargs > 1) {
            status = cf_cli_usage(&cli, "too many arguments: with --collection, give one FILE or -");
            goto out;
        }
        p.file = nargs == 1 ? argv[first] : NULL;
    } else {
        if (nargs < 1 || nargs > 2) {
            status =
                cf_cli_usage(&cli, nargs < 1 ? "which backup? give its NAME or --collection ID"
                                             : "too many arguments: give NAME and at most one FILE or -");
            goto out;
        }
        name = argv[first];
        p.file = nargs == 2 ? argv[first + 1] : NULL;
    }
    status = cf_cli_backup(&cli, name, &args.flags, &def);
    if (status != 0)
        goto out;
    if (p.file == NULL && def.command == NULL) {
        if (name != NULL)
            status = cf_cli_usage(&cli,
                                  "nothing to back up: [backup %s] has no command; give FILE, or - for "
                                  "standard input",
                                  name);
        else
            status =
                cf_cli_usage(&cli, "nothing to back up: give FILE, - for standard input, or --command CMD");
        goto out;
    }
    if (p.file != NULL && args.flags.command != NULL) {
        status = cf_cli_usage(&cli, "give FILE or --command, not both");
        goto out;
    }
    if (p.file != NULL && strcmp(p.file, "-") != 0 && access(p.file, R_OK) != 0) {
        status = cf_cli_usage(&cli, "cannot read %s: %s", p.file, strerror(errno));
        goto out;
    }
    status = cf_cli_secret(&cli, &def, &secret, &have_secret);
    if (status == 0)
        status = cf_cli_connect(&cli);
    if (status != 0)
        goto out;

    p.cli = &cli;
    p.def = &def;
    p.secret = have_secret ? &secret : NULL;
    p.label = def.name;
    p.rotated = json_array();
    /* The spool names its entry by the time it begins it, which a spooled push sends instead. */
    p.started = (int64_t)time(NULL);
    if (def.spool != NULL) {
        code = push_spooled(&p, &err);
    } else {
        struct stat st;
        int fd = -1;

        if (p.file != NULL && strcmp(p.file, "-") != 0 && p.secret == NULL)
            fd = open(p.file, O_RDONLY | O_CLOEXEC);
        if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0)
            code = push_file(&p, fd, (uint64_t)st.st_size, &err);
        else
            code = push_stream(&p, &err);
        if (fd >= 0)
            close(fd);
    }
    status = code == CF_OK ? 0 : cf_cli_fail(&cli, &err);
    if (code == CF_OK && args.json) {
        json_t *out = json_pack("{s:O, s:O}", "version", p.version, "rotated", p.rotated);
        if (out != NULL) {
            json_dumpf(out, stdout, JSON_INDENT(2));
            fputc('\n', stdout);
        }
        json_decref(out);
    }
out:
    json_decref(p.version);
    json_decref(p.rotated);
    cf_secret_wipe(&secret);
    cf_backup_def_dispose(&def);
    cf_error_dispose(&err);
    cf_cli_dispose(&cli);
    return status;
}
