/* coffer admin: the administrator's API calls (accounts, tokens, collections).
 *
 * The client checks only the shape of the command line; the fields go to the
 * server as given, so a refusal comes back with the server's own message and
 * per-field reasons, the same as for any other API client. */
#include "client/cli.h"
#include "client/commands.h"
#include "client/exit_codes.h"
#include "client/output.h"
#include "common/rfc3339.h"
#include "common/size.h"

#include <ctype.h>
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

const char cf_help_admin[] =
    "Usage: coffer admin account create [ID] --name NAME [FIELDS]\n"
    "       coffer admin account list | show ID | update ID [FIELDS] | delete ID\n"
    "       coffer admin token create --permissions P1,P2 [--account ID] [--output FILE] [FIELDS]\n"
    "       coffer admin token list [--account ID] | revoke ID|current\n"
    "       coffer admin collection create [ID] [--account ID] [FIELDS]\n"
    "       coffer admin collection list [--account ID] [--query TEXT]\n"
    "       coffer admin collection show ID | update ID [FIELDS] | delete ID [--force]\n"
    "       coffer admin whoami | permissions\n"
    "\n"
    "Calls the server's administration API with the configured token (which needs\n"
    "the matching permission: accounts.manage, tokens.create, collections.create...).\n"
    "Fields are written as --field-name VALUE and sent as the API's field_name; the\n"
    "server checks them and its refusal is shown as it gives it, field by field.\n"
    "Sizes may be bytes or 10MB, 5GiB...; lists are comma-separated.\n"
    "\n"
    "Account fields:    --name, --storage-quota SIZE, --max-collections N, --active true|false\n"
    "Token fields:      --permissions LIST, --collections LIST, --ttl SECONDS,\n"
    "                   --description TEXT, --allowed-ips LIST, --allowed-user-agents LIST,\n"
    "                   --one-time-upload, --account ID (administrators: whose token)\n"
    "Collection fields: --description, --filename, --tags LIST, --max-versions N,\n"
    "                   --max-version-size SIZE, --max-collection-size SIZE,\n"
    "                   --strategy delete_oldest_when_adding_new|alert_when_too_many_versions|retention,\n"
    "                   --keep-last N, --keep-hourly N, --keep-daily N, --keep-weekly N,\n"
    "                   --keep-monthly N, --keep-yearly N (retention rules), --retention none,\n"
    "                   --expected-interval SECONDS|none, --account ID (administrators)\n"
    "\n"
    "`token create` prints the new token alone on standard output (it is shown only\n"
    "once), or writes it to --output FILE, and says on standard error when it\n"
    "expires. Other commands print fields as \"name: value\" lines, lists as tables.\n"
    "\n"
    "Options:\n"
    "  --json    print the server's JSON answer as it is\n"
    "  --force   (collection delete) delete the collection's versions too\n"
    "  --output FILE  (token create) write the token to FILE, created with mode 0600\n"
    "            once the server has minted it; an existing FILE is never replaced\n"
    "\n" CF_HELP_GLOBAL "\n"
    "Exit status: 0 done, 1 usage or configuration, 2 token refused or lacking the\n"
    "permission, 3 network, 4 the server refused (its message says why).\n";

enum field_type { F_STRING, F_INT, F_SIZE, F_BOOL, F_LIST, F_RULE, F_INT_OR_NONE, F_NONE_ONLY };

struct field {
    const char *resource; /* "account", "token", "collection" */
    const char *flag;     /* without the dashes */
    enum field_type type;
};

static const struct field fields[] = {
    {"account", "name", F_STRING},
    {"account", "storage-quota", F_SIZE},
    {"account", "max-collections", F_INT},
    {"account", "active", F_BOOL},
    {"token", "permissions", F_LIST},
    {"token", "collections", F_LIST},
    {"token", "ttl", F_INT},
    {"token", "description", F_STRING},
    {"token", "allowed-ips", F_LIST},
    {"token", "allowed-user-agents", F_LIST},
    {"token", "one-time-upload", F_BOOL},
    {"collection", "description", F_STRING},
    {"collection", "filename", F_STRING},
    {"collection", "tags", F_LIST},
    {"collection", "max-versions", F_INT},
    {"collection", "max-version-size", F_SIZE},
    {"collection", "max-collection-size", F_SIZE},
    {"collection", "strategy", F_STRING},
    {"collection", "keep-last", F_RULE},
    {"collection", "keep-hourly", F_RULE},
    {"collection", "keep-daily", F_RULE},
    {"collection", "keep-weekly", F_RULE},
    {"collection", "keep-monthly", F_RULE},
    {"collection", "keep-yearly", F_RULE},
    {"collection", "retention", F_NONE_ONLY},
    {"collection", "expected-interval", F_INT_OR_NONE},
};

struct admin {
    struct cf_cli *cli;
    const char *words[3]; /* resource, action, id */
    int nwords;
    json_t *body; /* the fields given */
    const char *account;
    const char *query;
    const char *output; /* token create --output */
    bool json, force;
};

static const struct field *field_find(const char *resource, const char *flag)
{
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        if (strcmp(fields[i].resource, resource) == 0 && strcmp(fields[i].flag, flag) == 0)
            return &fields[i];
    }
    return NULL;
}

/* An integer when text is one, else the text itself: the server names what is wrong. */
static json_t *int_or_text(const char *text)
{
    char *end = NULL;
    long long n;

    errno = 0;
    n = strtoll(text, &end, 10);
    if (errno == 0 && end != text && *end == '\0')
        return json_integer(n);
    return json_string(text);
}

static json_t *list_value(const char *text)
{
    json_t *list = json_array();
    const char *p = text;

    while (list != NULL && *p != '\0') {
        const char *comma = strchr(p, ',');
        size_t len = comma != NULL ? (size_t)(comma - p) : strlen(p);
        while (len > 0 && isspace((unsigned char)*p)) {
            p++;
            len--;
        }
        while (len > 0 && isspace((unsigned char)p[len - 1]))
            len--;
        if (len > 0)
            json_array_append_new(list, json_stringn(p, len));
        if (comma == NULL)
            break;
        p = comma + 1;
    }
    return list;
}

/* Adds --flag value to the body; the JSON name is the flag with underscores. */
static int add_field(struct admin *a, const char *flag, const char *value)
{
    const struct field *f = a->nwords > 0 ? field_find(a->words[0], flag) : NULL;
    char name[64];
    size_t i;
    json_t *v;

    for (i = 0; flag[i] != '\0' && i + 1 < sizeof(name); i++)
        name[i] = flag[i] == '-' ? '_' : flag[i];
    name[i] = '\0';
    switch (f != NULL ? f->type : F_STRING) {
    case F_INT:
    case F_SIZE:
        v = int_or_text(value);
        break;
    case F_BOOL:
        if (strcmp(value, "true") == 0 || strcmp(value, "yes") == 0)
            v = json_true();
        else if (strcmp(value, "false") == 0 || strcmp(value, "no") == 0)
            v = json_false();
        else
            v = json_string(value);
        break;
    case F_LIST:
        v = list_value(value);
        break;
    case F_INT_OR_NONE:
        v = strcmp(value, "none") == 0 ? json_null() : int_or_text(value);
        break;
    case F_NONE_ONLY:
        v = strcmp(value, "none") == 0 ? json_null() : json_string(value);
        break;
    case F_RULE: {
        json_t *rules = json_object_get(a->body, "retention");
        if (!json_is_object(rules)) {
            rules = json_object();
            json_object_set_new(a->body, "retention", rules);
        }
        json_object_set_new(rules, name, int_or_text(value));
        return -1;
    }
    default:
        v = json_string(value);
        break;
    }
    if (json_object_get(a->body, name) != NULL)
        return cf_cli_usage(a->cli, "--%s is given twice", flag);
    json_object_set_new(a->body, name, v);
    return -1;
}

/* The command line: words, global options, --json, --force, --account, --query, fields. */
static int parse(struct admin *a, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char *eq, *value;
        char flag[64];
        size_t len;
        const struct field *f;
        int status;

        if (arg[0] != '-' || strcmp(arg, "-") == 0) {
            if (a->nwords == 3)
                return cf_cli_usage(a->cli, "unexpected argument %s", arg);
            a->words[a->nwords++] = arg;
            continue;
        }
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            fputs(cf_help_admin, stdout);
            return CF_EXIT_OK;
        }
        if (strcmp(arg, "-v") == 0 || strcmp(arg, "--verbose") == 0 || strcmp(arg, "-q") == 0 ||
            strcmp(arg, "--quiet") == 0) {
            cf_cli_global_option(a->cli, arg[1] == 'v' || arg[2] == 'v' ? 'v' : 'q', NULL);
            continue;
        }
        if (strncmp(arg, "--", 2) != 0)
            return cf_cli_usage(a->cli, "unknown option %s", arg);
        eq = strchr(arg, '=');
        len = eq != NULL ? (size_t)(eq - arg - 2) : strlen(arg + 2);
        if (len == 0 || len >= sizeof(flag))
            return cf_cli_usage(a->cli, "unknown option %s", arg);
        memcpy(flag, arg + 2, len);
        flag[len] = '\0';
        if (strcmp(flag, "json") == 0 || strcmp(flag, "force") == 0) {
            if (eq != NULL)
                return cf_cli_usage(a->cli, "--%s takes no value", flag);
            if (flag[0] == 'j')
                a->json = true;
            else
                a->force = true;
            continue;
        }
        f = a->nwords > 0 ? field_find(a->words[0], flag) : NULL;
        if (f != NULL && f->type == F_BOOL && eq == NULL &&
            (i + 1 >= argc || (strcmp(argv[i + 1], "true") != 0 && strcmp(argv[i + 1], "false") != 0))) {
            value = "true"; /* --one-time-upload on its own */
        } else if (eq != NULL) {
            value = eq + 1;
        } else if (i + 1 < argc) {
            value = argv[++i];
        } else {
            return cf_cli_usage(a->cli, "--%s needs a value", flag);
        }
        if (strcmp(flag, "config") == 0) {
            a->cli->config_path = value;
        } else if (strcmp(flag, "url") == 0) {
            a->cli->url = value;
        } else if (strcmp(flag, "token-file") == 0) {
            a->cli->token_file = value;
        } else if (strcmp(flag, "account") == 0) {
            a->account = value;
        } else if (strcmp(flag, "query") == 0) {
            a->query = value;
        } else if (strcmp(flag, "output") == 0) {
            a->output = value;
        } else {
            status = add_field(a, flag, value);
            if (status >= 0)
                return status;
        }
    }
    return -1;
}

/* Prints an object as "name: value" lines, nested objects one level down as "outer.inner". */
static void print_object(const json_t *object, const char *prefix)
{
    const char *key;
    json_t *value;

    json_object_foreach((json_t *)object, key, value)
    {
        char text[1024];
        if (json_is_object(value) && prefix[0] == '\0') {
            char nested[128];
            snprintf(nested, sizeof(nested), "%s.", key);
            print_object(value, nested);
            continue;
        }
        cf_cli_json_text(value, text, sizeof(text));
        printf("%s%s: %s\n", prefix, key, text);
    }
}

/* A table of the named columns ("usage.size" reaches into an object). */
static void print_table(const json_t *items, const char *const *columns, size_t ncolumns)
{
    size_t widths[8] = {0};
    size_t i, c;
    json_t *item;
    char text[256];

    for (c = 0; c < ncolumns; c++)
        widths[c] = strlen(columns[c]);
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1) {
            for (c = 0; c < ncolumns; c++) {
                char upper[64];
                size_t k;
                for (k = 0; columns[c][k] != '\0' && k + 1 < sizeof(upper); k++)
                    upper[k] = (char)toupper((unsigned char)columns[c][k]);
                upper[k] = '\0';
                printf("%-*s%s", c + 1 < ncolumns ? (int)widths[c] : 0, upper,
                       c + 1 < ncolumns ? "  " : "\n");
            }
        }
        json_array_foreach(items, i, item)
        {
            for (c = 0; c < ncolumns; c++) {
                const char *dot = strchr(columns[c], '.');
                const json_t *v;
                if (dot != NULL) {
                    char outer[64];
                    snprintf(outer, sizeof(outer), "%.*s", (int)(dot - columns[c]), columns[c]);
                    v = json_object_get(json_object_get(item, outer), dot + 1);
                } else {
                    v = json_object_get(item, columns[c]);
                }
                cf_cli_json_text(v, text, sizeof(text));
                if (pass == 0 && strlen(text) > widths[c])
                    widths[c] = strlen(text);
                else if (pass == 1)
                    printf("%-*s%s", c + 1 < ncolumns ? (int)widths[c] : 0, text,
                           c + 1 < ncolumns ? "  " : "\n");
            }
        }
    }
}

/* Appends "name=escaped value" to a query string. */
static void add_query(char *path, size_t path_len, const char *name, const char *value)
{
    char *escaped = curl_easy_escape(NULL, value, 0);
    size_t used = strlen(path);

    snprintf(path + used, path_len - used, "%s%s=%s", strchr(path, '?') != NULL ? "&" : "?", name,
             escaped != NULL ? escaped : "");
    curl_free(escaped);
}

/* The server's refusal of keep-* rules without the retention strategy asks
 * for the JSON field "strategy": "retention"; here it asks for the option. */
static void retention_refusal_as_option(struct cf_error *err)
{
    static const char field[] = "\"strategy\": \"retention\"";
    const char *text = json_string_value(json_object_get(err->fields, "retention"));
    const char *at = text != NULL ? strstr(text, field) : NULL;
    char line[512];

    if (at == NULL)
        return;
    snprintf(line, sizeof(line), "%.*s--strategy retention%s", (int)(at - text), text, at + strlen(field));
    json_object_set_new(err->fields, "retention", json_string(line));
}

static int call(struct admin *a, const char *method, const char *path, const json_t *body, json_t **answer)
{
    struct cf_error err;
    int status;

    cf_error_init(&err);
    if (cf_api_json(a->cli->api, method, path, body, answer, &err) == CF_OK)
        return 0;
    retention_refusal_as_option(&err);
    status = cf_cli_fail(a->cli, &err);
    cf_error_dispose(&err);
    return status;
}

/* Every page of the collection list. */
static int list_collections(struct admin *a, json_t **out)
{
    json_t *all = json_array();

    for (int page = 1;; page++) {
        json_t *answer = NULL;
        char path[512];
        size_t got;
        int status;

        snprintf(path, sizeof(path), "/api/stable/repository/collection?per_page=100&page=%d", page);
        if (a->account != NULL)
            add_query(path, sizeof(path), "account_id", a->account);
        if (a->query != NULL)
            add_query(path, sizeof(path), "q", a->query);
        status = call(a, "GET", path, NULL, &answer);
        if (status != 0) {
            json_decref(all);
            return status;
        }
        got = json_array_size(json_object_get(answer, "collections"));
        json_array_extend(all, json_object_get(answer, "collections"));
        json_decref(answer);
        if (got < 100)
            break;
    }
    *out = json_pack("{s:o}", "collections", all);
    return 0;
}

static void print_answer(struct admin *a, const json_t *answer, const char *key)
{
    if (a->json) {
        json_dumpf(answer, stdout, JSON_INDENT(2));
        fputc('\n', stdout);
    } else {
        print_object(key != NULL ? json_object_get(answer, key) : answer, "");
    }
}

/* A list's answer: as it is with --json, else answer[key] as a table of the columns. */
static void print_list(struct admin *a, const json_t *answer, const char *key, const char *const *columns,
                       size_t ncolumns)
{
    if (a->json)
        print_answer(a, answer, NULL);
    else
        print_table(json_object_get(answer, key), columns, ncolumns);
}

/* show, update or delete (the action) of the item at path, an account or a
 * collection: what names it in messages and is the key of the answer. */
static int show_update_delete(struct admin *a, const char *path, const char *what)
{
    const char *action = a->words[1];
    json_t *answer = NULL;
    int status;

    status = call(a,
                  action[0] == 's'   ? "GET"
                  : action[0] == 'u' ? "PUT"
                                     : "DELETE",
                  path, action[0] == 'u' ? a->body : NULL, &answer);
    if (status == 0 && answer != NULL)
        print_answer(a, answer, what);
    else if (status == 0)
        cf_cli_info(a->cli, "%s %s deleted", what, a->words[2]);
    json_decref(answer);
    return status;
}

static int need_id(struct admin *a, bool wanted)
{
    if (wanted && a->nwords < 3)
        return cf_cli_usage(a->cli, "%s %s needs an ID", a->words[0], a->words[1]);
    if (!wanted && a->nwords > 2 && strcmp(a->words[1], "create") != 0)
        return cf_cli_usage(a->cli, "unexpected argument %s", a->words[2]);
    if (a->nwords == 3 && !cf_api_segment_valid(a->words[2]))
        return cf_cli_usage(a->cli, "\"%s\" is not an id (letters, digits and dashes)", a->words[2]);
    return 0;
}

static int run_account(struct admin *a)
{
    const char *action = a->words[1];
    static const char *const columns[] = {"id",        "name", "active", "storage_quota", "usage.collections",
                                          "usage.size"};
    json_t *answer = NULL;
    char path[256];
    int status;

    if (strcmp(action, "create") == 0) {
        if (a->nwords == 3)
            json_object_set_new(a->body, "id", json_string(a->words[2]));
        status = call(a, "POST", "/api/stable/accounts", a->body, &answer);
        if (status == 0)
            print_answer(a, answer, "account");
    } else if (strcmp(action, "list") == 0) {
        status = need_id(a, false);
        if (status == 0)
            status = call(a, "GET", "/api/stable/accounts", NULL, &answer);
        if (status == 0)
            print_list(a, answer, "accounts", columns, sizeof(columns) / sizeof(columns[0]));
    } else if (strcmp(action, "show") == 0 || strcmp(action, "update") == 0 ||
               strcmp(action, "delete") == 0) {
        status = need_id(a, true);
        snprintf(path, sizeof(path), "/api/stable/accounts/%s", a->nwords == 3 ? a->words[2] : "");
        if (status == 0)
            status = show_update_delete(a, path, "account");
    } else {
        status = cf_cli_usage(a->cli, "account actions are create, list, show, update and delete");
    }
    json_decref(answer);
    return status;
}

/* --output must name a file that does not exist yet: checked before the
 * token is minted, so that a refusal does not leave a token nobody has. */
static int output_free(struct admin *a)
{
    struct stat st;

    if (a->json)
        return cf_cli_usage(a->cli, "--output and --json do not go together");
    char copy[4096];
    const char *dir;

    if (a->output[0] == '\0')
        return cf_cli_usage(a->cli, "--output needs a file name");
    if (lstat(a->output, &st) == 0)
        return cf_cli_usage(a->cli, "%s exists; it is never replaced: name a new file, or remove it first",
                            a->output);
    if (errno != ENOENT)
        return cf_cli_usage(a->cli, "cannot use %s: %s", a->output, strerror(errno));
    /* The token is written into the file's directory: it must be there and writable. */
    snprintf(copy, sizeof(copy), "%s", a->output);
    dir = dirname(copy);
    if (access(dir, W_OK | X_OK) != 0)
        return cf_cli_usage(a->cli, "cannot write into %s: %s", dir, strerror(errno));
    return 0;
}

/* The token, with a newline, into a new file of mode 0600 (client/output.c:
 * a temporary file, then link(), which fails rather than replace a file
 * created meanwhile). */
static int write_token_file(struct admin *a, const json_t *answer)
{
    const char *token = json_string_value(json_object_get(answer, "token"));
    struct cf_output out;
    struct cf_error err;
    cf_code code;

    cf_error_init(&err);
    if (token == NULL)
        token = "";
    code = cf_output_open(&out, a->output, &err);
    if (code == CF_OK) {
        code = cf_output_sink(&out, token, strlen(token), &err);
        if (code == CF_OK)
            code = cf_output_sink(&out, "\n", 1, &err);
        if (code == CF_OK)
            code = cf_output_commit(&out, a->output, false, &err);
        else
            cf_output_abandon(&out);
    }
    if (code != CF_OK) {
        fprintf(stderr, "coffer %s: the token %s was minted but could not be written: %s; revoke it with "
                        "`coffer admin token revoke %s`\n",
                a->cli->command, json_string_value(json_object_get(answer, "token_id")), err.message,
                json_string_value(json_object_get(answer, "token_id")));
        return cf_exit_status(code);
    }
    return 0;
}

/* When the new token stops working, said even under cron (unless -q): a
 * token minted without --ttl lives one day, and nothing else would say so
 * before a nightly job fails. */
static void say_expiry(struct admin *a, const json_t *answer)
{
    const char *expires = json_string_value(json_object_get(answer, "expires_at"));
    const char *where = a->output != NULL ? a->output : "";
    int64_t at = 0;
    int64_t days;

    if (expires == NULL || !cf_rfc3339_parse(expires, &at))
        return;
    days = (at - (int64_t)time(NULL)) / 86400;
    cf_cli_warn(a->cli, "token %s for account %s%s%s expires %s (in %lld day%s)%s",
                json_string_value(json_object_get(answer, "token_id")),
                json_string_value(json_object_get(answer, "account_id")), where[0] != '\0' ? ", written to " : "",
                where, expires, (long long)days, days == 1 ? "" : "s",
                days < 14 ? "; a job that uses it fails after that: give --ttl SECONDS for a longer life" : "");
}

static int run_token(struct admin *a)
{
    const char *action = a->words[1];
    static const char *const columns[] = {"id",         "account_id", "permissions",
                                          "expires_at", "revoked_at", "description"};
    json_t *answer = NULL;
    char path[256];
    int status;

    if (strcmp(action, "create") == 0) {
        status = a->nwords > 2 ? cf_cli_usage(a->cli, "unexpected argument %s", a->words[2]) : 0;
        if (status == 0 && a->output != NULL)
            status = output_free(a);
        if (status == 0 && a->account != NULL)
            json_object_set_new(a->body, "account_id", json_string(a->account));
        if (status == 0)
            status = call(a, "POST", "/api/stable/auth/token", a->body, &answer);
        if (status == 0 && a->output != NULL)
            status = write_token_file(a, answer);
        else if (status == 0 && a->json)
            print_answer(a, answer, NULL);
        else if (status == 0)
            /* Alone on standard output, so that TOKEN=$(coffer admin token create ...) works. */
            printf("%s\n", json_string_value(json_object_get(answer, "token")));
        if (status == 0)
            say_expiry(a, answer);
    } else if (strcmp(action, "list") == 0) {
        snprintf(path, sizeof(path), "/api/stable/auth/token");
        if (a->account != NULL)
            add_query(path, sizeof(path), "account_id", a->account);
        status = need_id(a, false);
        if (status == 0)
            status = call(a, "GET", path, NULL, &answer);
        if (status == 0)
            print_list(a, answer, "tokens", columns, sizeof(columns) / sizeof(columns[0]));
    } else if (strcmp(action, "revoke") == 0 || strcmp(action, "delete") == 0) {
        status = need_id(a, true);
        snprintf(path, sizeof(path), "/api/stable/auth/token/%s", a->nwords == 3 ? a->words[2] : "");
        if (status == 0)
            status = call(a, "DELETE", path, NULL, &answer);
        if (status == 0)
            cf_cli_info(a->cli, "token %s revoked", a->words[2]);
    } else {
        status = cf_cli_usage(a->cli, "token actions are create, list and revoke");
    }
    json_decref(answer);
    return status;
}

static int run_collection(struct admin *a)
{
    const char *action = a->words[1];
    static const char *const columns[] = {"id",         "account_id", "usage.versions",
                                          "usage.size", "strategy",   "description"};
    json_t *answer = NULL;
    char path[256];
    int status;

    if (strcmp(action, "create") == 0) {
        if (a->nwords == 3)
            json_object_set_new(a->body, "id", json_string(a->words[2]));
        if (a->account != NULL)
            json_object_set_new(a->body, "account_id", json_string(a->account));
        status = call(a, "POST", "/api/stable/repository/collection", a->body, &answer);
        if (status == 0)
            print_answer(a, answer, "collection");
    } else if (strcmp(action, "list") == 0) {
        status = need_id(a, false);
        if (status == 0)
            status = list_collections(a, &answer);
        if (status == 0)
            print_list(a, answer, "collections", columns, sizeof(columns) / sizeof(columns[0]));
    } else if (strcmp(action, "show") == 0 || strcmp(action, "update") == 0 ||
               strcmp(action, "delete") == 0) {
        status = need_id(a, true);
        snprintf(path, sizeof(path), "/api/stable/repository/collection/%s%s",
                 a->nwords == 3 ? a->words[2] : "", action[0] == 'd' && a->force ? "?force=true" : "");
        if (status == 0)
            status = show_update_delete(a, path, "collection");
    } else {
        status = cf_cli_usage(a->cli, "collection actions are create, list, show, update and delete");
    }
    json_decref(answer);
    return status;
}

/* The subject and action must exist before anything is asked of the server. */
static int check_words(struct admin *a)
{
    static const char *const actions[][6] = {
        {"account", "create", "list", "show", "update", "delete"},
        {"token", "create", "list", "revoke", "delete", NULL},
        {"collection", "create", "list", "show", "update", "delete"},
    };

    if (strcmp(a->words[0], "whoami") == 0 || strcmp(a->words[0], "permissions") == 0)
        return a->nwords > 1 ? cf_cli_usage(a->cli, "unexpected argument %s", a->words[1]) : 0;
    for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++) {
        if (strcmp(a->words[0], actions[i][0]) != 0)
            continue;
        for (size_t j = 1; j < 6 && actions[i][j] != NULL; j++) {
            if (strcmp(a->words[1], actions[i][j]) == 0)
                return 0;
        }
        return cf_cli_usage(a->cli, "unknown action %s; %s actions are %s, %s, %s, %s%s%s", a->words[1],
                            actions[i][0], actions[i][1], actions[i][2], actions[i][3], actions[i][4],
                            actions[i][5] != NULL ? ", " : "", actions[i][5] != NULL ? actions[i][5] : "");
    }
    return cf_cli_usage(a->cli, "unknown subject %s: account, token, collection, whoami or permissions",
                        a->words[0]);
}

int cf_cmd_admin(int argc, char **argv)
{
    struct cf_cli cli;
    struct admin a;
    json_t *answer = NULL;
    char command[64];
    int status;

    memset(&a, 0, sizeof(a));
    cf_cli_init(&cli, "admin", cf_help_admin);
    a.cli = &cli;
    a.body = json_object();
    status = parse(&a, argc, argv);
    if (status >= 0)
        goto out;
    /* Messages name the whole command: "coffer admin token create: ...". */
    snprintf(command, sizeof(command), "admin%s%s%s%s", a.nwords > 0 ? " " : "",
             a.nwords > 0 ? a.words[0] : "", a.nwords > 1 ? " " : "", a.nwords > 1 ? a.words[1] : "");
    cli.command = command;
    if (a.nwords == 0) {
        status = cf_cli_usage(&cli, "what? account, token, collection, whoami or permissions");
        goto out;
    }
    if (strcmp(a.words[0], "whoami") != 0 && strcmp(a.words[0], "permissions") != 0 && a.nwords < 2) {
        status = cf_cli_usage(&cli, "%s needs an action (create, list, ...)", a.words[0]);
        goto out;
    }
    if (json_object_size(a.body) > 0 && a.nwords > 1 && strcmp(a.words[1], "create") != 0 &&
        strcmp(a.words[1], "update") != 0) {
        status = cf_cli_usage(&cli, "fields are for create and update only");
        goto out;
    }
    if (a.output != NULL && (strcmp(a.words[0], "token") != 0 || a.nwords < 2 || strcmp(a.words[1], "create") != 0)) {
        status = cf_cli_usage(&cli, "--output is for token create only");
        goto out;
    }
    status = check_words(&a);
    if (status == 0)
        status = cf_cli_connect(&cli);
    if (status != 0)
        goto out;
    if (strcmp(a.words[0], "account") == 0) {
        status = run_account(&a);
    } else if (strcmp(a.words[0], "token") == 0) {
        status = run_token(&a);
    } else if (strcmp(a.words[0], "collection") == 0) {
        status = run_collection(&a);
    } else {
        /* whoami or permissions: check_words let nothing else through. */
        bool whoami = a.words[0][0] == 'w';
        status = call(&a, "GET", whoami ? "/api/stable/auth/whoami" : "/api/stable/auth/permissions", NULL,
                      &answer);
        if (status == 0)
            print_answer(&a, answer, whoami ? NULL : "permissions");
    }
out:
    json_decref(answer);
    json_decref(a.body);
    cf_cli_dispose(&cli);
    return status;
}
