/* common/fdio.c: every byte written, or the errno that stopped it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common/fdio.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* More than a pipe holds at once, so the writes are short and must be resumed. */
#define BIG (1024 * 1024)

static void test_writes_everything_through_short_writes(void **state)
{
    unsigned char *data = malloc(BIG), *back = malloc(BIG);
    size_t got = 0;
    int fds[2];
    pid_t child;

    (void)state;
    assert_non_null(data);
    assert_non_null(back);
    for (size_t i = 0; i < BIG; i++)
        data[i] = (unsigned char)(i * 7 + 3);
    assert_int_equal(pipe(fds), 0);
    child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        close(fds[0]);
        _exit(cf_write_all(fds[1], data, BIG) == 0 ? 0 : 1);
    }
    close(fds[1]);
    while (got < BIG) {
        ssize_t n = read(fds[0], back + got, BIG - got);
        assert_true(n > 0);
        got += (size_t)n;
    }
    close(fds[0]);
    {
        int status = 0;
        assert_int_equal(waitpid(child, &status, 0), child);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    assert_memory_equal(data, back, BIG);
    free(data);
    free(back);
}

static void test_full_disk_is_enospc(void **state)
{
    char block[4096] = {0};
    int fd = open("/dev/full", O_WRONLY | O_CLOEXEC);

    (void)state;
    if (fd < 0)
        skip();
    assert_int_equal(cf_write_all(fd, block, sizeof(block)), ENOSPC);
    close(fd);
}

static void test_reader_gone_is_epipe(void **state)
{
    int fds[2];

    (void)state;
    signal(SIGPIPE, SIG_IGN);
    assert_int_equal(pipe(fds), 0);
    close(fds[0]);
    assert_int_equal(cf_write_all(fds[1], "x", 1), EPIPE);
    close(fds[1]);
}

static void test_fsync_dir(void **state)
{
    char dir[] = "/tmp/coffer-test-fdio.XXXXXX";

    (void)state;
    assert_non_null(mkdtemp(dir));
    assert_int_equal(cf_fsync_dir(dir), 0);
    assert_int_equal(rmdir(dir), 0);
    assert_int_equal(cf_fsync_dir(dir), ENOENT);
    assert_int_equal(cf_fsync_dir("/dev/null"), ENOTDIR);
}

static void test_nothing_to_write_is_fine(void **state)
{
    (void)state;
    assert_int_equal(cf_write_all(-1, "", 0), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_writes_everything_through_short_writes),
        cmocka_unit_test(test_full_disk_is_enospc),
        cmocka_unit_test(test_reader_gone_is_epipe),
        cmocka_unit_test(test_fsync_dir),
        cmocka_unit_test(test_nothing_to_write_is_fine),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
