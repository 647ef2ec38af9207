/* The client's configuration: a [server] section and one [backup NAME]
 * section per backup, from one INI file, the COFFER_* environment and the
 * command line.
 *
 * Precedence: built-in default < file < environment < command line. One
 * file is read: --config FILE, else the first of
 * $XDG_CONFIG_HOME/coffer/coffer.conf (~/.config/coffer/coffer.conf when
 * XDG_CONFIG_HOME is unset) and /etc/coffer/coffer.conf that exists. Without
 * a file, COFFER_URL and COFFER_TOKEN are enough.
 *
 * Each option lives in one table (config.c) with its type, default, bounds
 * and help; the parser, the environment and the flags all go through it.
 * Unknown sections and keys, a key given twice, and values out of bounds are
 * errors that name the file and line. */
#ifndef COFFER_CLIENT_CONFIG_H
#define COFFER_CLIENT_CONFIG_H

#include "common/error.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Backup names: what follows "backup " in a section header. */
#define CF_BACKUP_NAME_MAX 64

struct cf_backup_def {
    char *name;
    char *collection;
    char *command;
    char *restore_command;
    char *key_file;
    char *passphrase_file;
    char *spool;
    int64_t zstd_level;
    int line; /* of its [backup NAME] header; 0 when made from flags */
};

struct cf_client_config {
    char *path; /* the file read; NULL when none */
    char *url;
    char *token; /* secret: never printed */
    char *token_file;
    char *ca_file;
    char *user_agent;
    int64_t connect_timeout;
    int64_t timeout;
    int64_t retries;
    int64_t retry_delay;
    int64_t retry_max_delay;
    struct cf_backup_def *backups; /* owned, nbackups of them, in file order */
    size_t nbackups;
};

enum cf_client_option_type { CF_COPT_STRING, CF_COPT_SECRET, CF_COPT_INT };

struct cf_client_option {
    const char *name; /* the key in the file; flags spell it with dashes */
    enum cf_client_option_type type;
    size_t offset;    /* into struct cf_client_config or struct cf_backup_def */
    const char *def;  /* NULL: unset */
    int64_t min, max; /* for numbers */
    const char *env;  /* the environment variable, or NULL */
    const char *help;
};
extern const struct cf_client_option cf_server_options[];
extern const size_t cf_server_option_count;
extern const struct cf_client_option cf_backup_options[];
extern const size_t cf_backup_option_count;

/* Defaults everywhere, no backups. */
void cf_client_config_init(struct cf_client_config *cfg);
void cf_client_config_dispose(struct cf_client_config *cfg);

/* Reads an INI file. Errors are CF_E_VALIDATION with "path:line: ..." (a file
 * that cannot be opened: "cannot open path: reason"). A file with the token
 * inline (token = in [server]) must be private (client/private_file.h); one
 * without may be readable by others. */
cf_code cf_client_config_load_file(struct cf_client_config *cfg, const char *path, struct cf_error *err);
/* Applies COFFER_URL, COFFER_TOKEN, COFFER_TOKEN_FILE and COFFER_CA_FILE when set. */
cf_code cf_client_config_load_env(struct cf_client_config *cfg, struct cf_error *err);
/* Sets a [server] option from text (a flag); source names it in messages
 * ("--url"). token and token_file replace each other: the later source wins. */
cf_code cf_client_config_set(struct cf_client_config *cfg, const char *name, const char *value,
                             const char *source, struct cf_error *err);
/* Sets an option of a backup definition from text, with the same checks as the file. */
cf_code cf_backup_def_set(struct cf_backup_def *def, const char *name, const char *value, const char *source,
                          struct cf_error *err);

/* The file to read when --config is not given: writes its path into out and
 * returns out, or returns NULL when neither default file exists. */
const char *cf_client_config_default_path(char *out, size_t out_len);

/* The definition named name, or NULL. Borrowed from cfg. */
const struct cf_backup_def *cf_client_config_backup(const struct cf_client_config *cfg, const char *name);

/* Fills def with the defaults (collection NULL, zstd_level 3) and name. */
cf_code cf_backup_def_init(struct cf_backup_def *def, const char *name, struct cf_error *err);
/* A deep copy; dispose it with cf_backup_def_dispose. */
cf_code cf_backup_def_copy(struct cf_backup_def *dst, const struct cf_backup_def *src, struct cf_error *err);
void cf_backup_def_dispose(struct cf_backup_def *def);

/* The token to send: token, else the first line of token_file. Caller frees
 * *out (it is a secret: wipe it). CF_E_VALIDATION when neither is set, the
 * file cannot be read, or it is open to group or others
 * (client/private_file.h). */
cf_code cf_client_config_token(const struct cf_client_config *cfg, char **out, struct cf_error *err);

/* True when id is a collection (or account) id: ^[A-Za-z0-9][A-Za-z0-9-]{0,63}$. */
bool cf_id_valid(const char *id);

#endif
