#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "client/spool.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define SHA_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define SHA_B "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void test_name_round_trip(void **state)
{
    struct timespec when = {1795428000, 123456789}; /* 2026-11-23T10:00:00Z */
    struct cf_spool_entry e;
    char name[CF_SPOOL_NAME_MAX];

    (void)state;
    assert_true(cf_spool_entry_name(name, sizeof(name), &when, 4242, "db-prod", SHA_B));
    assert_string_equal(name, "20261123T100000.123456789Z_4242_db-prod_" SHA_B ".coffer");
    assert_true(cf_spool_entry_parse(name, &e));
    assert_string_equal(e.name, name);
    assert_string_equal(e.collection, "db-prod");
    assert_string_equal(e.sha256, SHA_B);
    assert_int_equal(e.created, 1795428000);
    assert_int_equal(e.size, 0);
}

static void test_other_names_are_not_entries(void **state)
{
    struct cf_spool_entry e;

    (void)state;
    assert_false(cf_spool_entry_parse(".lock", &e));
    assert_false(cf_spool_entry_parse(".20261123T100000.123456789Z_4242_db.part", &e));
    assert_false(cf_spool_entry_parse("."
                                      "20261123T100000.123456789Z_4242_db_" SHA_B ".coffer.tried",
                                      &e));
    assert_false(cf_spool_entry_parse("20261123T100000.123456789Z_4242_db_" SHA_B ".coffer.bak", &e));
    assert_false(cf_spool_entry_parse("20261123T100000.123456789Z_4242_db_" SHA_B, &e));
    assert_false(cf_spool_entry_parse("20261123T100000.123456789Z_42x_db_" SHA_B ".coffer", &e));
    assert_false(cf_spool_entry_parse("20261323T100000.123456789Z_42_db_" SHA_B ".coffer", &e));
    assert_false(cf_spool_entry_parse("20261123T100000.123456789Z_42_-db_" SHA_B ".coffer", &e));
    assert_false(cf_spool_entry_parse("20261123T100000.123456789Z_42__" SHA_B ".coffer", &e));
    assert_false(cf_spool_entry_parse("20261123T100000.123456789Z_42_db_" SHA_A "0.coffer", &e));
    assert_false(
        cf_spool_entry_parse("20261123T100000.123456789Z_42_db_"
                             "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz.coffer",
                             &e));
    assert_false(cf_spool_entry_parse("notes.txt", &e));
}

static void remove_tree(const char *dir)
{
    char command[128];

    snprintf(command, sizeof(command), "rm -rf '%s'", dir);
    assert_int_equal(system(command), 0);
}

static void touch(const char *dir, const char *name, const char *content)
{
    char path[512];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(content, f);
    fclose(f);
}

static void test_list_is_oldest_first_and_filters(void **state)
{
    char dir[] = "/tmp/coffer-test-spool-XXXXXX";
    struct cf_spool_entry *list = NULL;
    struct cf_error err;
    size_t n = 0;

    (void)state;
    cf_error_init(&err);
    assert_non_null(mkdtemp(dir));
    /* Made out of order, with a later second and nanoseconds that sort as text. */
    touch(dir, "20261123T100001.000000000Z_7_db_" SHA_A ".coffer", "three");
    touch(dir, "20261123T100000.900000000Z_9_db_" SHA_B ".coffer", "two!");
    touch(dir, "20251231T235959.999999999Z_12345_db_" SHA_A ".coffer", "one");
    touch(dir, "20261123T100000.500000000Z_8_www_" SHA_A ".coffer", "www");
    touch(dir, ".20261123T100002.000000000Z_9_db.part", "being written");
    touch(dir, ".lock", "");
    touch(dir, "README", "not an entry");
    assert_int_equal(cf_spool_list(dir, "db", &list, &n, &err), CF_OK);
    assert_int_equal(n, 3);
    assert_string_equal(list[0].name, "20251231T235959.999999999Z_12345_db_" SHA_A ".coffer");
    assert_int_equal(list[0].size, 3);
    assert_string_equal(list[1].name, "20261123T100000.900000000Z_9_db_" SHA_B ".coffer");
    assert_int_equal(list[1].size, 4);
    assert_string_equal(list[2].name, "20261123T100001.000000000Z_7_db_" SHA_A ".coffer");
    free(list);
    assert_int_equal(cf_spool_list(dir, NULL, &list, &n, &err), CF_OK);
    assert_int_equal(n, 4);
    assert_string_equal(list[1].collection, "www");

    /* The attempt mark and the removal. */
    assert_false(cf_spool_attempted(dir, &list[0]));
    assert_int_equal(cf_spool_mark_attempt(dir, &list[0], &err), CF_OK);
    assert_true(cf_spool_attempted(dir, &list[0]));
    assert_int_equal(cf_spool_remove(dir, &list[0], &err), CF_OK);
    assert_false(cf_spool_attempted(dir, &list[0]));
    free(list);
    assert_int_equal(cf_spool_list(dir, NULL, &list, &n, &err), CF_OK);
    assert_int_equal(n, 3);
    free(list);

    /* A spool that does not exist yet is empty. */
    assert_int_equal(cf_spool_list("/nonexistent/spool", NULL, &list, &n, &err), CF_OK);
    assert_int_equal(n, 0);
    assert_null(list);
    remove_tree(dir);
}

static void test_writer_names_the_entry_by_its_hash(void **state)
{
    char dir[] = "/tmp/coffer-test-spool-XXXXXX", sub[64], path[512];
    struct cf_spool_writer w;
    struct cf_spool_entry e, *list = NULL;
    struct cf_error err;
    struct stat st;
    size_t n = 0;

    (void)state;
    cf_error_init(&err);
    assert_non_null(mkdtemp(dir));
    snprintf(sub, sizeof(sub), "%s/new", dir);
    assert_int_equal(cf_spool_begin(&w, sub, "db", &err), CF_OK);
    assert_int_equal(stat(sub, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    assert_int_equal(cf_spool_sink(&w, "hello", 5, &err), CF_OK);
    assert_int_equal(cf_spool_list(sub, NULL, &list, &n, &err), CF_OK);
    assert_int_equal(n, 0); /* the partial file is no entry */
    assert_int_equal(cf_spool_commit(&w, &e, &err), CF_OK);
    cf_spool_abandon(&w);
    /* sha256("hello") */
    assert_string_equal(e.sha256, "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
    assert_string_equal(e.collection, "db");
    assert_int_equal(e.size, 5);
    cf_spool_path(path, sizeof(path), sub, &e);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, 5);
    assert_int_equal(st.st_mode & 0777, 0600);

    /* Abandoned: nothing stays. */
    assert_int_equal(cf_spool_begin(&w, sub, "db", &err), CF_OK);
    assert_int_equal(cf_spool_sink(&w, "partial", 7, &err), CF_OK);
    cf_spool_abandon(&w);
    {
        DIR *d = opendir(sub);
        struct dirent *de;
        int files = 0;
        assert_non_null(d);
        while ((de = readdir(d)) != NULL)
            files += de->d_name[0] != '.';
        closedir(d);
        assert_int_equal(files, 1);
    }
    free(list);
    remove_tree(dir);
}

static void test_lock_can_be_taken_again_after_unlock(void **state)
{
    char dir[] = "/tmp/coffer-test-spool-XXXXXX";
    struct cf_error err;
    int fd = -1;

    (void)state;
    cf_error_init(&err);
    assert_non_null(mkdtemp(dir));
    assert_int_equal(cf_spool_lock(dir, &fd, &err), CF_OK);
    assert_true(fd >= 0);
    cf_spool_unlock(fd);
    assert_int_equal(cf_spool_lock(dir, &fd, &err), CF_OK);
    cf_spool_unlock(fd);
    remove_tree(dir);
}

static void test_sweep_removes_what_dead_runs_left(void **state)
{
    char dir[] = "/tmp/coffer-test-spool-XXXXXX", name[160], path[256];
    struct cf_spool_entry *list = NULL;
    struct cf_error err;
    size_t n = 0;
    pid_t dead;

    (void)state;
    cf_error_init(&err);
    assert_non_null(mkdtemp(dir));
    /* A child that has exited and been reaped: its pid runs nothing now. */
    dead = fork();
    if (dead == 0)
        _exit(0);
    assert_int_equal(waitpid(dead, NULL, 0), dead);
    snprintf(name, sizeof(name), ".20261123T100000.000000000Z_%ld_db.part", (long)dead);
    touch(dir, name, "a killed run's half backup");
    snprintf(name, sizeof(name), ".20261123T100000.000000000Z_%ld_db.part", (long)getpid());
    touch(dir, name, "being written right now");
    touch(dir, "20261123T100000.000000000Z_1_db_" SHA_A ".coffer", "entry");
    touch(dir, ".20261123T100000.000000000Z_1_db_" SHA_A ".coffer.tried", "");
    touch(dir, ".20261123T090000.000000000Z_1_db_" SHA_B ".coffer.tried", "");
    assert_int_equal(cf_spool_sweep(dir), 2);
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    assert_int_equal(access(path, F_OK), 0);
    assert_int_equal(cf_spool_list(dir, NULL, &list, &n, &err), CF_OK);
    assert_int_equal(n, 1);
    assert_true(cf_spool_attempted(dir, &list[0]));
    free(list);
    assert_int_equal(cf_spool_sweep(dir), 0);
    assert_int_equal(cf_spool_sweep("/nonexistent/spool"), 0);
    remove_tree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_name_round_trip),
        cmocka_unit_test(test_other_names_are_not_entries),
        cmocka_unit_test(test_list_is_oldest_first_and_filters),
        cmocka_unit_test(test_writer_names_the_entry_by_its_hash),
        cmocka_unit_test(test_lock_can_be_taken_again_after_unlock),
        cmocka_unit_test(test_sweep_removes_what_dead_runs_left),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
