#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "client/exit_codes.h"
#include "client/run.h"
#include "client/source.h"

#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void test_describe(void **state)
{
    char text[96];

    (void)state;
    cf_run_describe(0, text, sizeof(text));
    assert_string_equal(text, "exited with status 0");
    cf_run_describe(3 << 8, text, sizeof(text));
    assert_string_equal(text, "exited with status 3");
    cf_run_describe(SIGKILL, text, sizeof(text));
    assert_string_equal(text, "was killed by signal 9 (Killed)");
    cf_run_describe(SIGTERM, text, sizeof(text));
    assert_string_equal(text, "was killed by signal 15 (Terminated)");
}

/* Reads a command's whole output through a source; returns what cf_source_read ended with. */
static ssize_t read_all(const char *command, char *out, size_t cap, struct cf_error *err)
{
    struct cf_child child;
    struct cf_source *src = NULL;
    size_t used = 0;
    ssize_t got;

    assert_int_equal(cf_run_start(command, CF_RUN_READ, "the backup command", &child, err), CF_OK);
    assert_int_equal(cf_source_new(-1, &child, NULL, 3, &src, err), CF_OK);
    do {
        got = cf_source_read(src, out + used, cap - used - 1, err);
        if (got > 0)
            used += (size_t)got;
    } while (got > 0);
    out[used] = '\0';
    cf_source_free(src);
    return got;
}

static void test_a_good_command_ends_the_stream(void **state)
{
    struct cf_error err;
    char out[256];

    (void)state;
    cf_error_init(&err);
    assert_int_equal(read_all("printf 'one'; printf ' two'", out, sizeof(out), &err), 0);
    assert_string_equal(out, "one two");
    /* Standard input is /dev/null: a command reading it does not hang. */
    assert_int_equal(read_all("cat; printf done", out, sizeof(out), &err), 0);
    assert_string_equal(out, "done");
}

static void test_a_failed_command_fails_the_stream(void **state)
{
    struct cf_error err;
    char out[256];

    (void)state;
    cf_error_init(&err);
    assert_int_equal(read_all("printf partial; exit 1", out, sizeof(out), &err), -1);
    assert_int_equal(err.code, CF_E_COMMAND_FAILED);
    assert_string_equal(err.message, "the backup command exited with status 1");
    assert_string_equal(out, "partial");
    assert_int_equal(read_all("printf x; kill -KILL $$", out, sizeof(out), &err), -1);
    assert_string_equal(err.message, "the backup command was killed by signal 9 (Killed)");
    assert_int_equal(read_all("exec no-such-command-anywhere 2>/dev/null", out, sizeof(out), &err), -1);
    assert_string_equal(err.message, "the backup command exited with status 127 (command not found?)");
    /* SIGPIPE is back to its default in the child, though this process ignores it. */
    signal(SIGPIPE, SIG_IGN);
    assert_int_equal(read_all("yes | head -c 5", out, sizeof(out), &err), 0);
    assert_string_equal(out, "y\ny\ny");
}

static void test_write_mode_and_stop(void **state)
{
    struct cf_child child;
    struct cf_error err;

    (void)state;
    cf_error_init(&err);
    assert_int_equal(
        cf_run_start("read line; test \"$line\" = hello", CF_RUN_WRITE, "the restore command", &child, &err),
        CF_OK);
    assert_int_equal(write(child.fd, "hello\n", 6), 6);
    assert_int_equal(cf_run_finish(&child, &err), CF_OK);
    assert_int_equal(
        cf_run_start("cat >/dev/null; exit 4", CF_RUN_WRITE, "the restore command", &child, &err), CF_OK);
    assert_int_equal(cf_run_finish(&child, &err), CF_E_COMMAND_FAILED);
    assert_string_equal(err.message, "the restore command exited with status 4");
    assert_int_equal(cf_run_start("exec sleep 30", CF_RUN_WRITE, "the restore command", &child, &err), CF_OK);
    cf_run_stop(&child);
    assert_int_equal(child.pid, -1);
    cf_run_stop(&child);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_describe),
        cmocka_unit_test(test_a_good_command_ends_the_stream),
        cmocka_unit_test(test_a_failed_command_fails_the_stream),
        cmocka_unit_test(test_write_mode_and_stop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
