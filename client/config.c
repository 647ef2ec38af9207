#include "client/config.h"

#include "client/private_file.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SERVER_OPT(name, type, def, min, max, env, help)                                                     \
    {                                                                                                        \
#name, type, offsetof(struct cf_client_config, name), def, min, max, env, help                       \
    }
#define BACKUP_OPT(name, type, def, min, max, help)                                                          \
    {                                                                                                        \
#name, type, offsetof(struct cf_backup_def, name), def, min, max, NULL, help                         \
    }

const struct cf_client_option cf_server_options[] = {
    SERVER_OPT(url, CF_COPT_STRING, NULL, 0, 0, "COFFER_URL",
               "The server's base URL, e.g. https://backup.example.org (a path prefix is kept)."),
    SERVER_OPT(token, CF_COPT_SECRET, NULL, 0, 0, "COFFER_TOKEN",
               "The API token itself. Prefer token_file, or COFFER_TOKEN from the environment."),
    SERVER_OPT(token_file, CF_COPT_STRING, NULL, 0, 0, "COFFER_TOKEN_FILE",
               "A file whose first line is the API token (keep it mode 0600)."),
    SERVER_OPT(ca_file, CF_COPT_STRING, NULL, 0, 0, "COFFER_CA_FILE",
               "PEM file of the certificate authorities to trust instead of the system's."),
    SERVER_OPT(user_agent, CF_COPT_STRING, "coffer/" COFFER_VERSION, 0, 0, NULL,
               "User-Agent sent with every request (a token may be limited to given user agents)."),
    SERVER_OPT(connect_timeout, CF_COPT_INT, "30", 1, 3600, NULL,
               "Seconds to wait for a connection to the server."),
    SERVER_OPT(timeout, CF_COPT_INT, "600", 1, 86400, NULL,
               "Seconds a transfer may go without moving a byte before it is given up."),
    SERVER_OPT(retries, CF_COPT_INT, "4", 0, 100, NULL,
               "Retries in a whole command run, whichever requests fail, after network errors or 5xx "
               "answers (never after a 4xx)."),
    SERVER_OPT(retry_delay, CF_COPT_INT, "2", 0, 3600, NULL,
               "Seconds before a command's first retry; each further retry waits twice as long."),
    SERVER_OPT(retry_max_delay, CF_COPT_INT, "300", 0, 86400, NULL, "The longest wait between two attempts."),
};
const size_t cf_server_option_count = sizeof(cf_server_options) / sizeof(cf_server_options[0]);

const struct cf_client_option cf_backup_options[] = {
    BACKUP_OPT(collection, CF_COPT_STRING, NULL, 0, 0, "The collection id on the server (required)."),
    BACKUP_OPT(command, CF_COPT_STRING, NULL, 0, 0,
               "Run with /bin/sh -c by `coffer push NAME`; its standard output is the backup."),
    BACKUP_OPT(restore_command, CF_COPT_STRING, NULL, 0, 0,
               "Run with /bin/sh -c by `coffer restore NAME`; it reads the backup on standard input."),
    BACKUP_OPT(key_file, CF_COPT_STRING, NULL, 0, 0, "Encrypt with the key in this file (coffer keygen)."),
    BACKUP_OPT(passphrase_file, CF_COPT_STRING, NULL, 0, 0,
               "Encrypt with a key derived from the first line of this file."),
    BACKUP_OPT(spool, CF_COPT_STRING, NULL, 0, 0,
               "Write the backup to this directory first, then upload it (coffer sync retries)."),
    BACKUP_OPT(zstd_level, CF_COPT_INT, "3", 1, 19, "zstd level used before encryption (1..19)."),
};
const size_t cf_backup_option_count = sizeof(cf_backup_options) / sizeof(cf_backup_options[0]);

bool cf_id_valid(const char *id)
{
    size_t len = strlen(id);

    if (len == 0 || len > 64 || !isalnum((unsigned char)id[0]))
        return false;
    for (size_t i = 1; i < len; i++) {
        if (!isalnum((unsigned char)id[i]) && id[i] != '-')
            return false;
    }
    return true;
}

static bool backup_name_valid(const char *name)
{
    size_t len = strlen(name);

    if (len == 0 || len > CF_BACKUP_NAME_MAX || name[0] == '-' || name[0] == '.')
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];
        if (!isalnum(c) && c != '-' && c != '_' && c != '.')
            return false;
    }
    return true;
}

static const struct cf_client_option *option_find(const struct cf_client_option *table, size_t count,
                                                  const char *name)
{
    char normal[64];
    size_t i;

    /* Flags spell the names with dashes (--token-file). */
    for (i = 0; name[i] != '\0' && i + 1 < sizeof(normal); i++)
        normal[i] = name[i] == '-' ? '_' : name[i];
    normal[i] = '\0';
    for (i = 0; i < count; i++) {
        if (strcmp(table[i].name, normal) == 0)
            return &table[i];
    }
    return NULL;
}

/* Sets one field of base (a config or a definition) from text, checking type and bounds. */
static cf_code option_set(void *base, const struct cf_client_option *opt, const char *value,
                          const char *source, struct cf_error *err)
{
    void *field = (char *)base + opt->offset;
    char *end = NULL;
    long long number;

    if (opt->type == CF_COPT_STRING || opt->type == CF_COPT_SECRET) {
        char *copy;
        if (value[0] == '\0')
            return cf_fail(err, CF_E_VALIDATION, "%s: %s is empty", source, opt->name);
        copy = strdup(value);
        if (copy == NULL)
            return cf_fail(err, CF_E_NOMEM, "out of memory");
        free(*(char **)field);
        *(char **)field = copy;
        return CF_OK;
    }
    errno = 0;
    number = strtoll(value, &end, 10);
    if (errno != 0 || end == value || *end != '\0')
        return cf_fail(err, CF_E_VALIDATION, "%s: %s must be a whole number, not \"%s\"", source, opt->name,
                       value);
    if (number < opt->min || number > opt->max)
        return cf_fail(err, CF_E_VALIDATION, "%s: %s must be between %lld and %lld, not %lld", source,
                       opt->name, (long long)opt->min, (long long)opt->max, number);
    *(int64_t *)field = (int64_t)number;
    return CF_OK;
}

static void options_free(void *base, const struct cf_client_option *table, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        if (table[i].type == CF_COPT_STRING || table[i].type == CF_COPT_SECRET) {
            char **field = (char **)((char *)base + table[i].offset);
            if (*field != NULL && table[i].type == CF_COPT_SECRET)
                memset(*field, 0, strlen(*field));
            free(*field);
            *field = NULL;
        }
    }
}

static void options_default(void *base, const struct cf_client_option *table, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        /* The defaults are in bounds by construction; a failure is a bug in the table. */
        if (table[i].def != NULL && option_set(base, &table[i], table[i].def, "default", NULL) != CF_OK)
            abort();
    }
}

void cf_client_config_init(struct cf_client_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    options_default(cfg, cf_server_options, cf_server_option_count);
}

void cf_client_config_dispose(struct cf_client_config *cfg)
{
    options_free(cfg, cf_server_options, cf_server_option_count);
    for (size_t i = 0; i < cfg->nbackups; i++)
        cf_backup_def_dispose(&cfg->backups[i]);
    free(cfg->backups);
    free(cfg->path);
    memset(cfg, 0, sizeof(*cfg));
}

cf_code cf_backup_def_init(struct cf_backup_def *def, const char *name, struct cf_error *err)
{
    memset(def, 0, sizeof(*def));
    options_default(def, cf_backup_options, cf_backup_option_count);
    if (name != NULL) {
        def->name = strdup(name);
        if (def->name == NULL)
            return cf_fail(err, CF_E_NOMEM, "out of memory");
    }
    return CF_OK;
}

void cf_backup_def_dispose(struct cf_backup_def *def)
{
    if (def == NULL)
        return;
    options_free(def, cf_backup_options, cf_backup_option_count);
    free(def->name);
    def->name = NULL;
}

cf_code cf_backup_def_copy(struct cf_backup_def *dst, const struct cf_backup_def *src, struct cf_error *err)
{
    cf_code code = cf_backup_def_init(dst, src->name, err);

    for (size_t i = 0; code == CF_OK && i < cf_backup_option_count; i++) {
        const struct cf_client_option *opt = &cf_backup_options[i];
        const void *from = (const char *)src + opt->offset;
        void *to = (char *)dst + opt->offset;

        if (opt->type == CF_COPT_INT) {
            *(int64_t *)to = *(const int64_t *)from;
        } else if (*(char *const *)from != NULL) {
            *(char **)to = strdup(*(char *const *)from);
            if (*(char **)to == NULL)
                code = cf_fail(err, CF_E_NOMEM, "out of memory");
        }
    }
    dst->line = src->line;
    if (code != CF_OK)
        cf_backup_def_dispose(dst);
    return code;
}

/* token and token_file are two spellings of one setting: setting one drops
 * the other, so that a later source (the environment, a flag) wins whole. */
static void drop_other_token_source(struct cf_client_config *cfg, const struct cf_client_option *opt)
{
    char **other = NULL;

    if (strcmp(opt->name, "token") == 0)
        other = &cfg->token_file;
    else if (strcmp(opt->name, "token_file") == 0)
        other = &cfg->token;
    if (other != NULL && *other != NULL) {
        memset(*other, 0, strlen(*other));
        free(*other);
        *other = NULL;
    }
}

cf_code cf_client_config_set(struct cf_client_config *cfg, const char *name, const char *value,
                             const char *source, struct cf_error *err)
{
    const struct cf_client_option *opt = option_find(cf_server_options, cf_server_option_count, name);
    cf_code code;

    if (opt == NULL)
        return cf_fail(err, CF_E_VALIDATION, "%s: unknown option \"%s\"", source, name);
    code = option_set(cfg, opt, value, source, err);
    if (code == CF_OK)
        drop_other_token_source(cfg, opt);
    return code;
}

cf_code cf_backup_def_set(struct cf_backup_def *def, const char *name, const char *value, const char *source,
                          struct cf_error *err)
{
    const struct cf_client_option *opt = option_find(cf_backup_options, cf_backup_option_count, name);
    cf_code code;

    if (opt == NULL)
        return cf_fail(err, CF_E_VALIDATION, "%s: unknown option \"%s\"", source, name);
    code = option_set(def, opt, value, source, err);
    if (code == CF_OK && strcmp(opt->name, "collection") == 0 && !cf_id_valid(value))
        code = cf_fail(err, CF_E_VALIDATION,
                       "%s: collection \"%s\" is not a collection id (1 to 64 letters, digits and dashes, "
                       "not starting with a dash)",
                       source, value);
    return code;
}

/* The state of one file being read. inih (Debian's build) does not pass line
 * numbers to the handler and does not report section headers at all, so the
 * reader counts lines and reads the headers itself. */
#define SEEN_MAX 16
struct file_load {
    struct cf_client_config *cfg;
    const char *path;
    FILE *file;
    int line;
    int server_line;               /* of the [server] header; 0 before it */
    struct cf_backup_def *current; /* the [backup NAME] being read, or NULL */
    bool in_server;                /* in [server] */
    int seen[SEEN_MAX];            /* line of each key of the current section; 0: not yet */
    bool token_inline;             /* token = ... in [server] */
    struct cf_error *err;
    cf_code code;
};

static cf_code file_fail(struct file_load *load, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static cf_code file_fail(struct file_load *load, const char *fmt, ...)
{
    char text[400];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    if (load->code == CF_OK)
        load->code = cf_fail(load->err, CF_E_VALIDATION, "%s:%d: %s", load->path, load->line, text);
    return load->code;
}

static cf_code backup_add(struct file_load *load, const char *name)
{
    struct cf_client_config *cfg = load->cfg;
    struct cf_backup_def *grown;
    const struct cf_backup_def *before = cf_client_config_backup(cfg, name);

    if (before != NULL)
        return file_fail(load, "[backup %s] is already defined at line %d", name, before->line);
    grown = realloc(cfg->backups, (cfg->nbackups + 1) * sizeof(*grown));
    if (grown == NULL)
        return load->code = cf_fail(load->err, CF_E_NOMEM, "out of memory");
    cfg->backups = grown;
    if (cf_backup_def_init(&cfg->backups[cfg->nbackups], name, load->err) != CF_OK)
        return load->code = CF_E_NOMEM;
    cfg->backups[cfg->nbackups].line = load->line;
    load->current = &cfg->backups[cfg->nbackups];
    cfg->nbackups++;
    return CF_OK;
}

/* A line that opens a section: "[server]" or "[backup NAME]". */
static void section_header(struct file_load *load, const char *line)
{
    const char *close = strchr(line, ']');
    char inner[128];
    size_t len;
    char *start, *end;

    if (close == NULL)
        return; /* inih reports it as a parse error on this line */
    len = (size_t)(close - line - 1);
    if (len >= sizeof(inner)) {
        file_fail(load, "section name too long");
        return;
    }
    memcpy(inner, line + 1, len);
    inner[len] = '\0';
    start = inner;
    while (isspace((unsigned char)*start))
        start++;
    end = start + strlen(start);
    while (end > start && isspace((unsigned char)end[-1]))
        *--end = '\0';

    memset(load->seen, 0, sizeof(load->seen));
    load->current = NULL;
    load->in_server = false;
    if (strcmp(start, "server") == 0) {
        if (load->server_line != 0) {
            file_fail(load, "[server] is already given at line %d", load->server_line);
            return;
        }
        load->server_line = load->line;
        load->in_server = true;
    } else if (strncmp(start, "backup", 6) == 0 && isspace((unsigned char)start[6])) {
        const char *name = start + 7;
        while (isspace((unsigned char)*name))
            name++;
        if (!backup_name_valid(name)) {
            file_fail(load,
                      "[backup %s]: a backup name is 1 to %d letters, digits, dots, dashes and underscores",
                      name, CF_BACKUP_NAME_MAX);
            return;
        }
        backup_add(load, name);
    } else if (strcmp(start, "backup") == 0) {
        file_fail(load, "[backup] needs a name: [backup NAME]");
    } else {
        file_fail(load, "unknown section [%s]; the sections are [server] and [backup NAME]", start);
    }
}

static char *file_read_line(char *str, int num, void *stream)
{
    struct file_load *load = stream;
    char *got;
    const char *p;

    if (load->code != CF_OK)
        return NULL;
    got = fgets(str, num, load->file);
    if (got == NULL)
        return NULL;
    load->line++;
    /* inih's buffer is fixed: a longer line would come back in pieces, the
     * rest read as lines of their own. Refuse it instead. */
    if (strchr(got, '\n') == NULL && !feof(load->file)) {
        file_fail(load, "line longer than %d characters", num - 2);
        return NULL;
    }
    /* A UTF-8 byte order mark (some editors write one) is no part of the
     * first line: without this, its [section] would go unseen here. */
    if (load->line == 1 && strncmp(got, "\xEF\xBB\xBF", 3) == 0)
        memmove(got, got + 3, strlen(got + 3) + 1);
    p = got;
    while (isspace((unsigned char)*p))
        p++;
    if (*p == '[')
        section_header(load, p);
    return load->code == CF_OK ? got : NULL;
}

static int file_entry(void *user, const char *section, const char *name, const char *value)
{
    struct file_load *load = user;
    const struct cf_client_option *table;
    const struct cf_client_option *opt;
    size_t count;
    char source[512];

    (void)section;
    if (load->code != CF_OK)
        return 0;
    if (load->in_server) {
        table = cf_server_options;
        count = cf_server_option_count;
    } else if (load->current != NULL) {
        table = cf_backup_options;
        count = cf_backup_option_count;
    } else {
        file_fail(load, "\"%s\" is outside a section; put it under [server] or [backup NAME]", name);
        return 0;
    }
    opt = option_find(table, count, name);
    /* Only the exact spelling counts in a file; dashes are for flags. */
    if (opt == NULL || strcmp(opt->name, name) != 0) {
        file_fail(load, "unknown key \"%s\" in [%s]", name, section);
        return 0;
    }
    if (load->seen[opt - table] != 0) {
        file_fail(load, "%s is already set at line %d", name, load->seen[opt - table]);
        return 0;
    }
    load->seen[opt - table] = load->line;
    snprintf(source, sizeof(source), "%s:%d", load->path, load->line);
    if (load->in_server)
        load->code = cf_client_config_set(load->cfg, name, value, source, load->err);
    else
        load->code = cf_backup_def_set(load->current, name, value, source, load->err);
    if (load->in_server && strcmp(name, "token") == 0)
        load->token_inline = true;
    if (load->code == CF_OK && load->in_server &&
        (strcmp(name, "token") == 0 || strcmp(name, "token_file") == 0)) {
        const struct cf_client_option *other =
            option_find(table, count, strcmp(name, "token") == 0 ? "token_file" : "token");
        if (load->seen[other - table] != 0)
            file_fail(load, "give token or token_file, not both (the other is at line %d)",
                      load->seen[other - table]);
    }
    return load->code == CF_OK;
}

/* What each definition needs, checked once the whole file is read. */
static cf_code check_backups(const struct cf_client_config *cfg, const char *path, struct cf_error *err)
{
    for (size_t i = 0; i < cfg->nbackups; i++) {
        const struct cf_backup_def *def = &cfg->backups[i];

        if (def->collection == NULL)
            return cf_fail(err, CF_E_VALIDATION, "%s:%d: [backup %s] needs collection = ID", path, def->line,
                           def->name);
        if (def->key_file != NULL && def->passphrase_file != NULL)
            return cf_fail(err, CF_E_VALIDATION,
                           "%s:%d: [backup %s] has key_file and passphrase_file; keep one", path, def->line,
                           def->name);
    }
    return CF_OK;
}

cf_code cf_client_config_load_file(struct cf_client_config *cfg, const char *path, struct cf_error *err)
{
    struct file_load load;
    int rc;

    memset(&load, 0, sizeof(load));
    load.cfg = cfg;
    load.path = path;
    load.err = err;
    load.code = CF_OK;
    /* Commands hold ";" and long pipelines: no inline comments, no
     * continuation lines, and lines of up to 4096 characters (a heap buffer
     * of that size, never grown: the reader counts one line per call). */
    ini_allow_inline_comments = false;
    ini_allow_multiline = false;
    ini_use_stack = false;
    ini_allow_realloc = false;
    ini_initial_alloc = 4096 + 2;
    ini_max_line = 4096 + 2;
    ini_stop_on_first_error = true;

    load.file = fopen(path, "re");
    if (load.file == NULL)
        return cf_fail(err, CF_E_VALIDATION, "cannot open config file %s: %s", path, strerror(errno));
    rc = ini_parse_stream(file_read_line, &load, file_entry, &load);
    /* Checked on the descriptor just read: a config file without the token
     * may stay readable (it names files, it holds no secret). */
    if (load.code == CF_OK && rc == 0 && load.token_inline)
        load.code = cf_private_file_check(fileno(load.file), path, "the token (token = in [server])", err);
    fclose(load.file);
    if (load.code != CF_OK)
        return load.code;
    if (rc == -2)
        return cf_fail(err, CF_E_NOMEM, "out of memory");
    if (rc != 0)
        return cf_fail(err, CF_E_VALIDATION, "%s:%d: expected \"name = value\", a [section] or a # comment",
                       path, rc);
    free(cfg->path);
    cfg->path = strdup(path);
    if (cfg->path == NULL)
        return cf_fail(err, CF_E_NOMEM, "out of memory");
    return check_backups(cfg, path, err);
}

cf_code cf_client_config_load_env(struct cf_client_config *cfg, struct cf_error *err)
{
    for (size_t i = 0; i < cf_server_option_count; i++) {
        const char *value;
        cf_code code;

        if (cf_server_options[i].env == NULL)
            continue;
        value = getenv(cf_server_options[i].env);
        if (value == NULL || value[0] == '\0')
            continue;
        code = cf_client_config_set(cfg, cf_server_options[i].name, value, cf_server_options[i].env, err);
        if (code != CF_OK)
            return code;
    }
    return CF_OK;
}

const char *cf_client_config_default_path(char *out, size_t out_len)
{
    const char *xdg = getenv("XDG_CONFIG_HOME");
    const char *home = getenv("HOME");

    if (xdg != NULL && xdg[0] == '/')
        snprintf(out, out_len, "%s/coffer/coffer.conf", xdg);
    else if (home != NULL && home[0] != '\0')
        snprintf(out, out_len, "%s/.config/coffer/coffer.conf", home);
    else
        out[0] = '\0';
    if (out[0] != '\0' && access(out, F_OK) == 0)
        return out;
    snprintf(out, out_len, "%s", "/etc/coffer/coffer.conf");
    if (access(out, F_OK) == 0)
        return out;
    return NULL;
}

const struct cf_backup_def *cf_client_config_backup(const struct cf_client_config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->nbackups; i++) {
        if (strcmp(cfg->backups[i].name, name) == 0)
            return &cfg->backups[i];
    }
    return NULL;
}

cf_code cf_client_config_token(const struct cf_client_config *cfg, char **out, struct cf_error *err)
{
    char line[8192];
    FILE *file;
    size_t len;

    *out = NULL;
    if (cfg->token != NULL) {
        *out = strdup(cfg->token);
        return *out != NULL ? CF_OK : cf_fail(err, CF_E_NOMEM, "out of memory");
    }
    if (cfg->token_file == NULL)
        return cf_fail(
            err, CF_E_VALIDATION,
            "no token: set token_file in the [server] section, or COFFER_TOKEN in the environment");
    file = fopen(cfg->token_file, "re");
    if (file == NULL)
        return cf_fail(err, CF_E_VALIDATION, "cannot read the token file %s: %s", cfg->token_file,
                       strerror(errno));
    if (cf_private_file_check(fileno(file), cfg->token_file, "the token", err) != CF_OK) {
        fclose(file);
        return CF_E_VALIDATION;
    }
    if (fgets(line, sizeof(line), file) == NULL)
        line[0] = '\0';
    fclose(file);
    len = strlen(line);
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r' || line[len - 1] == ' '))
        line[--len] = '\0';
    if (len == 0)
        return cf_fail(err, CF_E_VALIDATION, "the token file %s is empty", cfg->token_file);
    *out = strdup(line);
    memset(line, 0, sizeof(line));
    return *out != NULL ? CF_OK : cf_fail(err, CF_E_NOMEM, "out of memory");
}
