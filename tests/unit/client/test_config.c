#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "client/config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char path[64];

static void write_config(const char *text)
{
    FILE *file;
    int fd;

    snprintf(path, sizeof(path), "/tmp/coffer-test-client-config-XXXXXX");
    fd = mkstemp(path);
    assert_true(fd >= 0);
    file = fdopen(fd, "w");
    assert_non_null(file);
    assert_true(fputs(text, file) >= 0);
    assert_int_equal(fclose(file), 0);
}

static void clear_env(void)
{
    unsetenv("COFFER_URL");
    unsetenv("COFFER_TOKEN");
    unsetenv("COFFER_TOKEN_FILE");
    unsetenv("COFFER_CA_FILE");
}

/* Loads text; the error message must be exactly message (path replaced by "F"). */
static void expect_refused(const char *text, const char *message)
{
    struct cf_client_config cfg;
    struct cf_error err;
    char want[512];

    write_config(text);
    cf_client_config_init(&cfg);
    cf_error_init(&err);
    assert_int_equal(cf_client_config_load_file(&cfg, path, &err), CF_E_VALIDATION);
    snprintf(want, sizeof(want), "%s%s", path, message);
    if (strcmp(err.message, want) != 0)
        fail_msg("message \"%s\", want \"%s\"", err.message, want);
    cf_error_dispose(&err);
    cf_client_config_dispose(&cfg);
    unlink(path);
}

static void test_defaults(void **state)
{
    struct cf_client_config cfg;

    (void)state;
    cf_client_config_init(&cfg);
    assert_null(cfg.url);
    assert_null(cfg.token);
    assert_int_equal(cfg.connect_timeout, 30);
    assert_int_equal(cfg.timeout, 600);
    assert_int_equal(cfg.retries, 4);
    assert_int_equal(cfg.retry_delay, 2);
    assert_int_equal(cfg.retry_max_delay, 300);
    assert_string_equal(cfg.user_agent, "coffer/" COFFER_VERSION);
    assert_int_equal(cfg.nbackups, 0);
    cf_client_config_dispose(&cfg);
}

static void test_full_file(void **state)
{
    struct cf_client_config cfg;
    struct cf_error err;
    const struct cf_backup_def *db, *www;

    (void)state;
    write_config("# a comment\n"
                 "[server]\n"
                 "url = https://backup.example.org/coffer\n"
                 "token_file = /etc/coffer/token\n"
                 "retries = 7\n"
                 "\n"
                 "; another comment\n"
                 "[backup db]\n"
                 "collection = db-prod\n"
                 "command = pg_dump mydb; echo done ; true\n"
                 "restore_command = psql mydb\n"
                 "key_file = /etc/coffer/key\n"
                 "spool = /var/spool/coffer\n"
                 "zstd_level = 9\n"
                 "[backup   www.files]\n"
                 "collection = www\n"
                 "passphrase_file = /etc/coffer/phrase\n");
    cf_client_config_init(&cfg);
    cf_error_init(&err);
    if (cf_client_config_load_file(&cfg, path, &err) != CF_OK)
        fail_msg("refused: %s", err.message);
    assert_string_equal(cfg.url, "https://backup.example.org/coffer");
    assert_string_equal(cfg.token_file, "/etc/coffer/token");
    assert_int_equal(cfg.retries, 7);
    assert_string_equal(cfg.path, path);
    assert_int_equal(cfg.nbackups, 2);
    db = cf_client_config_backup(&cfg, "db");
    assert_non_null(db);
    assert_string_equal(db->collection, "db-prod");
    /* ";" is no comment inside a value: commands keep it. */
    assert_string_equal(db->command, "pg_dump mydb; echo done ; true");
    assert_string_equal(db->restore_command, "psql mydb");
    assert_string_equal(db->key_file, "/etc/coffer/key");
    assert_string_equal(db->spool, "/var/spool/coffer");
    assert_int_equal(db->zstd_level, 9);
    assert_int_equal(db->line, 8);
    www = cf_client_config_backup(&cfg, "www.files");
    assert_non_null(www);
    assert_string_equal(www->passphrase_file, "/etc/coffer/phrase");
    assert_int_equal(www->zstd_level, 3);
    assert_null(www->command);
    assert_null(cf_client_config_backup(&cfg, "nope"));
    cf_client_config_dispose(&cfg);
    unlink(path);
}

static void test_errors_name_file_and_line(void **state)
{
    (void)state;
    expect_refused("[server]\nurl = http://x\ncolour = red\n", ":3: unknown key \"colour\" in [server]");
    expect_refused("[server]\n\n[backups db]\n",
                   ":3: unknown section [backups db]; the sections are [server] and [backup NAME]");
    expect_refused("url = http://x\n",
                   ":1: \"url\" is outside a section; put it under [server] or [backup NAME]");
    expect_refused("[backup db]\ncollection = db\ncommand = a\ncommand = b\n",
                   ":4: command is already set at line 3");
    expect_refused("[backup db]\ncollection = db\n[backup db]\ncollection = db\n",
                   ":3: [backup db] is already defined at line 1");
    expect_refused("[server]\n[server]\n", ":2: [server] is already given at line 1");
    expect_refused("[backup]\n", ":1: [backup] needs a name: [backup NAME]");
    expect_refused(
        "[backup a/b]\n",
        ":1: [backup a/b]: a backup name is 1 to 64 letters, digits, dots, dashes and underscores");
    expect_refused("[server]\ntoken = abc\ntoken_file = /x\n",
                   ":3: give token or token_file, not both (the other is at line 2)");
    expect_refused("[server]\nretries = many\n", ":2: retries must be a whole number, not \"many\"");
    expect_refused("[server]\nretries = 101\n", ":2: retries must be between 0 and 100, not 101");
    expect_refused(
        "[backup db]\ncollection = -db\n",
        ":2: collection \"-db\" is not a collection id (1 to 64 letters, digits and dashes, not starting "
        "with a dash)");
    expect_refused("[backup db]\nzstd_level = 22\n", ":2: zstd_level must be between 1 and 19, not 22");
    expect_refused("[server]\nurl\n", ":2: expected \"name = value\", a [section] or a # comment");
    /* Keys are spelled with underscores in a file; dashes are for flags. */
    expect_refused("[server]\ntoken-file = /x\n", ":2: unknown key \"token-file\" in [server]");
}

/* A file saved with a UTF-8 byte order mark reads like one without. */
static void test_byte_order_mark(void **state)
{
    struct cf_client_config cfg;
    struct cf_error err;

    (void)state;
    write_config("\xEF\xBB\xBF[server]\nurl = http://x\n[backup db]\ncollection = db\n");
    cf_client_config_init(&cfg);
    cf_error_init(&err);
    if (cf_client_config_load_file(&cfg, path, &err) != CF_OK)
        fail_msg("refused: %s", err.message);
    assert_string_equal(cfg.url, "http://x");
    assert_non_null(cf_client_config_backup(&cfg, "db"));
    cf_client_config_dispose(&cfg);
    unlink(path);
    expect_refused("\xEF\xBB\xBF[server]\nurl = http://x\ncolour = red\n",
                   ":3: unknown key \"colour\" in [server]");
}

static void test_definition_checks_use_the_header_line(void **state)
{
    (void)state;
    expect_refused("[server]\nurl = http://x\n\n[backup db]\ncommand = pg_dump\n",
                   ":4: [backup db] needs collection = ID");
    expect_refused("[backup db]\ncollection = db\nkey_file = /k\npassphrase_file = /p\n",
                   ":1: [backup db] has key_file and passphrase_file; keep one");
}

static void test_long_lines(void **state)
{
    struct cf_client_config cfg;
    struct cf_error err;
    char text[8192], command[3000];

    (void)state;
    /* Longer than inih's default 200 characters: a long pipeline is fine. */
    memset(command, 'x', sizeof(command) - 1);
    command[sizeof(command) - 1] = '\0';
    snprintf(text, sizeof(text), "[backup db]\ncollection = db\ncommand = %s\n", command);
    write_config(text);
    cf_client_config_init(&cfg);
    cf_error_init(&err);
    assert_int_equal(cf_client_config_load_file(&cfg, path, &err), CF_OK);
    assert_string_equal(cf_client_config_backup(&cfg, "db")->command, command);
    cf_client_config_dispose(&cfg);
    unlink(path);

    {
        char *huge = malloc(6000);
        char *longer = malloc(6100);
        assert_non_null(huge);
        assert_non_null(longer);
        memset(huge, 'y', 5999);
        huge[5999] = '\0';
        snprintf(longer, 6100, "[server]\nurl = %s\n", huge);
        expect_refused(longer, ":2: line longer than 4096 characters");
        free(huge);
        free(longer);
    }
}

static void test_missing_file(void **state)
{
    struct cf_client_config cfg;
    struct cf_error err;

    (void)state;
    cf_client_config_init(&cfg);
    cf_error_init(&err);
    assert_int_equal(cf_client_config_load_file(&cfg, "/nonexistent/coffer.conf", &err), CF_E_VALIDATION);
    assert_string_equal(err.message,
                        "cannot open config file /nonexistent/coffer.conf: No such file or directory");
    cf_client_config_dispose(&cfg);
}

static void test_environment_over_file_and_flags_over_both(void **state)
{
    struct cf_client_config cfg;
    struct cf_error err;
    char *token = NULL;

    (void)state;
    clear_env();
    write_config("[server]\nurl = http://file\ntoken_file = /file/token\n");
    cf_client_config_init(&cfg);
    cf_error_init(&err);
    assert_int_equal(cf_client_config_load_file(&cfg, path, &err), CF_OK);
    setenv("COFFER_URL", "http://env", 1);
    setenv("COFFER_TOKEN", "env-token", 1);
    assert_int_equal(cf_client_config_load_env(&cfg, &err), CF_OK);
    assert_string_equal(cfg.url, "http://env");
    /* The environment's token replaces the file's token_file as a whole. */
    assert_null(cfg.token_file);
    assert_int_equal(cf_client_config_token(&cfg, &token, &err), CF_OK);
    assert_string_equal(token, "env-token");
    free(token);
    assert_int_equal(cf_client_config_set(&cfg, "url", "http://flag", "--url", &err), CF_OK);
    assert_string_equal(cfg.url, "http://flag");
    assert_int_equal(cf_client_config_set(&cfg, "token-file", "/flag/token", "--token-file", &err), CF_OK);
    assert_null(cfg.token);
    assert_string_equal(cfg.token_file, "/flag/token");
    assert_int_equal(cf_client_config_set(&cfg, "nonsense", "1", "--nonsense", &err), CF_E_VALIDATION);
    assert_string_equal(err.message, "--nonsense: unknown option \"nonsense\"");
    cf_client_config_dispose(&cfg);
    clear_env();
    unlink(path);
}

static void test_token_file(void **state)
{
    struct cf_client_config cfg;
    struct cf_error err;
    char *token = NULL;

    (void)state;
    cf_client_config_init(&cfg);
    cf_error_init(&err);
    assert_int_equal(cf_client_config_token(&cfg, &token, &err), CF_E_VALIDATION);
    assert_string_equal(
        err.message, "no token: set token_file in the [server] section, or COFFER_TOKEN in the environment");
    write_config("eyJ.token.text \n second line ignored\n");
    assert_int_equal(cf_client_config_set(&cfg, "token_file", path, "test", &err), CF_OK);
    assert_int_equal(cf_client_config_token(&cfg, &token, &err), CF_OK);
    assert_string_equal(token, "eyJ.token.text");
    free(token);
    unlink(path);
    write_config("\n");
    assert_int_equal(cf_client_config_set(&cfg, "token_file", path, "test", &err), CF_OK);
    assert_int_equal(cf_client_config_token(&cfg, &token, &err), CF_E_VALIDATION);
    unlink(path);
    cf_client_config_dispose(&cfg);
}

/* Loads the token from path, expecting CF_E_VALIDATION and message. */
static void expect_token_refused(const char *file, const char *message)
{
    struct cf_client_config cfg;
    struct cf_error err;
    char *token = NULL;

    cf_client_config_init(&cfg);
    cf_error_init(&err);
    assert_int_equal(cf_client_config_set(&cfg, "token_file", file, "test", &err), CF_OK);
    assert_int_equal(cf_client_config_token(&cfg, &token, &err), CF_E_VALIDATION);
    assert_null(token);
    if (strcmp(err.message, message) != 0)
        fail_msg("message \"%s\", want \"%s\"", err.message, message);
    cf_error_dispose(&err);
    cf_client_config_dispose(&cfg);
}

static void expect_token_read(const char *file)
{
    struct cf_client_config cfg;
    struct cf_error err;
    char *token = NULL;

    cf_client_config_init(&cfg);
    cf_error_init(&err);
    assert_int_equal(cf_client_config_set(&cfg, "token_file", file, "test", &err), CF_OK);
    if (cf_client_config_token(&cfg, &token, &err) != CF_OK)
        fail_msg("refused: %s", err.message);
    assert_string_equal(token, "eyJ.token.text");
    free(token);
    cf_error_dispose(&err);
    cf_client_config_dispose(&cfg);
}

static void test_token_file_open_to_others_is_refused(void **state)
{
    static const mode_t refused[] = {0644, 0640, 0604, 0620, 0602, 0660, 0666, 0601};
    char message[512], link_path[80];

    (void)state;
    write_config("eyJ.token.text\n");
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        assert_int_equal(chmod(path, refused[i]), 0);
        snprintf(message, sizeof(message), "%s is open to group or others (mode %04o) and holds the token: "
                 "run chmod 600 %s", path, (unsigned)refused[i], path);
        expect_token_refused(path, message);
    }
    assert_int_equal(chmod(path, 0600), 0);
    expect_token_read(path);
    assert_int_equal(chmod(path, 0400), 0);
    expect_token_read(path);
    /* A link is followed; the file it leads to must be private. */
    snprintf(link_path, sizeof(link_path), "%s.link", path);
    assert_int_equal(symlink(path, link_path), 0);
    expect_token_read(link_path);
    assert_int_equal(chmod(path, 0644), 0);
    snprintf(message, sizeof(message), "%s is open to group or others (mode 0644) and holds the token: "
             "run chmod 600 %s", link_path, link_path);
    expect_token_refused(link_path, message);
    unlink(link_path);
    unlink(path);
}

static void test_inline_token_needs_a_private_config(void **state)
{
    struct cf_client_config cfg;
    struct cf_error err;
    char message[512];

    (void)state;
    /* Without a token the file may be readable: it names files, holds no secret. */
    write_config("[server]\nurl = http://x\ntoken_file = /etc/coffer/token\n");
    assert_int_equal(chmod(path, 0644), 0);
    cf_client_config_init(&cfg);
    cf_error_init(&err);
    if (cf_client_config_load_file(&cfg, path, &err) != CF_OK)
        fail_msg("refused: %s", err.message);
    cf_client_config_dispose(&cfg);
    unlink(path);

    write_config("[server]\nurl = http://x\ntoken = eyJ.token.text\n");
    assert_int_equal(chmod(path, 0644), 0);
    cf_client_config_init(&cfg);
    assert_int_equal(cf_client_config_load_file(&cfg, path, &err), CF_E_VALIDATION);
    snprintf(message, sizeof(message), "%s is open to group or others (mode 0644) and holds the token "
             "(token = in [server]): run chmod 600 %s", path, path);
    assert_string_equal(err.message, message);
    cf_client_config_dispose(&cfg);
    assert_int_equal(chmod(path, 0600), 0);
    cf_client_config_init(&cfg);
    if (cf_client_config_load_file(&cfg, path, &err) != CF_OK)
        fail_msg("refused: %s", err.message);
    assert_string_equal(cfg.token, "eyJ.token.text");
    cf_client_config_dispose(&cfg);
    cf_error_dispose(&err);
    unlink(path);
}

static void test_default_path(void **state)
{
    char dir[] = "/tmp/coffer-test-xdg-XXXXXX", file[128], out[256];
    const char *saved_home = getenv("HOME");
    char *home = saved_home != NULL ? strdup(saved_home) : NULL;
    FILE *f;

    (void)state;
    assert_non_null(mkdtemp(dir));
    setenv("XDG_CONFIG_HOME", dir, 1);
    /* No user file: the system one, or nothing. */
    if (access("/etc/coffer/coffer.conf", F_OK) != 0)
        assert_null(cf_client_config_default_path(out, sizeof(out)));
    snprintf(file, sizeof(file), "%s/coffer", dir);
    assert_int_equal(mkdir(file, 0700), 0);
    snprintf(file, sizeof(file), "%s/coffer/coffer.conf", dir);
    f = fopen(file, "w");
    assert_non_null(f);
    fclose(f);
    assert_string_equal(cf_client_config_default_path(out, sizeof(out)), file);
    unsetenv("XDG_CONFIG_HOME");
    setenv("HOME", "/nonexistent-home", 1);
    if (access("/etc/coffer/coffer.conf", F_OK) != 0)
        assert_null(cf_client_config_default_path(out, sizeof(out)));
    unlink(file);
    snprintf(file, sizeof(file), "%s/coffer", dir);
    rmdir(file);
    rmdir(dir);
    if (home != NULL)
        setenv("HOME", home, 1);
    free(home);
}

static void test_backup_def_flags(void **state)
{
    struct cf_backup_def def, copy;
    struct cf_error err;

    (void)state;
    cf_error_init(&err);
    assert_int_equal(cf_backup_def_init(&def, "adhoc", &err), CF_OK);
    assert_int_equal(cf_backup_def_set(&def, "collection", "db", "--collection", &err), CF_OK);
    assert_int_equal(cf_backup_def_set(&def, "key-file", "/k", "--key-file", &err), CF_OK);
    assert_int_equal(cf_backup_def_set(&def, "collection", "no_underscores", "--collection", &err),
                     CF_E_VALIDATION);
    assert_int_equal(cf_backup_def_copy(&copy, &def, &err), CF_OK);
    assert_string_equal(copy.name, "adhoc");
    assert_string_equal(copy.key_file, "/k");
    assert_int_equal(copy.zstd_level, 3);
    cf_backup_def_dispose(&copy);
    cf_backup_def_dispose(&def);
}

static void test_id_valid(void **state)
{
    (void)state;
    assert_true(cf_id_valid("db"));
    assert_true(cf_id_valid("A-1"));
    assert_false(cf_id_valid(""));
    assert_false(cf_id_valid("-db"));
    assert_false(cf_id_valid("d_b"));
    assert_false(cf_id_valid("d.b"));
    assert_true(cf_id_valid("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
    assert_false(cf_id_valid("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_full_file),
        cmocka_unit_test(test_errors_name_file_and_line),
        cmocka_unit_test(test_byte_order_mark),
        cmocka_unit_test(test_definition_checks_use_the_header_line),
        cmocka_unit_test(test_long_lines),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_environment_over_file_and_flags_over_both),
        cmocka_unit_test(test_token_file),
        cmocka_unit_test(test_token_file_open_to_others_is_refused),
        cmocka_unit_test(test_inline_token_needs_a_private_config),
        cmocka_unit_test(test_default_path),
        cmocka_unit_test(test_backup_def_flags),
        cmocka_unit_test(test_id_valid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
