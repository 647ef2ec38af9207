/* The filesystem store against real files in a throw-away directory.
 *
 * The tests that need a small or read-only file system mount a tmpfs in a
 * private mount namespace (so nothing leaks if the test dies); where that is
 * not allowed they are skipped and the integration suite covers a full disk. */
#include "server/store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

struct fixture {
    char dir[64];   /* from mkdtemp, removed at the end */
    char root[128]; /* <dir>/store: created by cf_store_fs_open */
    struct cf_store *store;
    bool mounted; /* a tmpfs on dir */
};

/* Whether this process has its own mount namespace to mount a tmpfs in. */
static bool can_mount;

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void remove_tree(const char *path)
{
    nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct cf_error err;

    assert_non_null(f);
    cf_error_init(&err);
    snprintf(f->dir, sizeof(f->dir), "/tmp/coffer-store-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->root, sizeof(f->root), "%s/store", f->dir);
    assert_int_equal(cf_store_fs_open(f->root, &f->store, &err), CF_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    cf_store_free(f->store);
    if (f->mounted)
        umount2(f->dir, MNT_DETACH);
    remove_tree(f->dir);
    free(f);
    return 0;
}

/* Mounts a tmpfs of size bytes on the fixture's directory and opens a store in
 * it in place of the one setup made; false when mounting is not allowed. */
static bool reopen_on_tmpfs(struct fixture *f, size_t size)
{
    char options[64];
    struct cf_error err;

    if (!can_mount)
        return false;
    snprintf(options, sizeof(options), "size=%zu,mode=0700", size);
    cf_store_free(f->store);
    f->store = NULL;
    remove_tree(f->root);
    if (mount("tmpfs", f->dir, "tmpfs", 0, options) != 0)
        return false;
    f->mounted = true;
    cf_error_init(&err);
    assert_int_equal(cf_store_fs_open(f->root, &f->store, &err), CF_OK);
    return true;
}

static int count_entries(const char *path)
{
    DIR *dir = opendir(path);
    struct dirent *entry;
    int count = 0;

    assert_non_null(dir);
    while ((entry = readdir(dir)) != NULL) {
        if (strcmp(entry->d_name, ".") != 0 && strcmp(entry->d_name, "..") != 0)
            count++;
    }
    closedir(dir);
    return count;
}

static int tmp_entries(const struct fixture *f)
{
    char path[PATH_MAX];

    snprintf(path, sizeof(path), "%s/tmp", f->root);
    return count_entries(path);
}

static void put_object(struct cf_store *store, const char *key, const void *data, size_t len)
{
    struct cf_store_writer *w = NULL;
    struct cf_error err;

    cf_error_init(&err);
    assert_int_equal(cf_store_writer_new(store, key, &w, &err), CF_OK);
    assert_int_equal(cf_store_write(w, data, len, &err), CF_OK);
    assert_int_equal(cf_store_commit(w, &err), CF_OK);
}

/* Reads key from offset to the end into buf; returns the number of bytes. */
static size_t get_object(struct cf_store *store, const char *key, uint64_t offset, char *buf, size_t cap)
{
    struct cf_store_reader *r = NULL;
    struct cf_error err;
    size_t got = 0;
    ssize_t n;

    cf_error_init(&err);
    assert_int_equal(cf_store_reader_open(store, key, offset, &r, &err), CF_OK);
    do {
        assert_true(got <= cap);
        n = cf_store_read(r, buf + got, cap - got > 1000 ? 1000 : cap - got, &err);
        assert_true(n >= 0);
        got += (size_t)n;
    } while (n > 0);
    cf_store_reader_free(r);
    return got;
}

static void assert_contains(const char *text, const char *part)
{
    if (strstr(text, part) == NULL)
        fail_msg("\"%s\" does not contain \"%s\"", text, part);
}

static void test_write_commit_read_whole(void **state)
{
    struct fixture *f = *state;
    struct cf_store_writer *w = NULL;
    struct cf_error err;
    size_t len = 3 * 1024 * 1024 + 17;
    char *data = malloc(len);
    char *back = malloc(len);

    assert_non_null(data);
    assert_non_null(back);
    cf_error_init(&err);
    for (size_t i = 0; i < len; i++)
        data[i] = (char)(i * 31 + i / 4096);
    assert_int_equal(cf_store_writer_new(f->store, "whole-1", &w, &err), CF_OK);
    /* Pieces of uneven sizes, as the upload path sends them. */
    assert_int_equal(cf_store_write(w, data, 1, &err), CF_OK);
    assert_int_equal(cf_store_write(w, data + 1, 65536, &err), CF_OK);
    assert_int_equal(cf_store_write(w, data + 65537, 0, &err), CF_OK);
    assert_int_equal(cf_store_write(w, data + 65537, len - 65537, &err), CF_OK);
    assert_int_equal(cf_store_commit(w, &err), CF_OK);

    assert_int_equal(get_object(f->store, "whole-1", 0, back, len), len);
    assert_memory_equal(back, data, len);
    free(back);
    free(data);
}

static void test_read_from_offset(void **state)
{
    struct fixture *f = *state;
    struct cf_store_reader *r = NULL;
    struct cf_error err;
    char buf[64];

    cf_error_init(&err);
    put_object(f->store, "offset-1", "hello world", 11);
    assert_int_equal(get_object(f->store, "offset-1", 6, buf, sizeof(buf)), 5);
    assert_memory_equal(buf, "world", 5);
    /* At the very end: a valid, empty read. */
    assert_int_equal(get_object(f->store, "offset-1", 11, buf, sizeof(buf)), 0);

    assert_int_equal(cf_store_reader_open(f->store, "offset-1", 12, &r, &err), CF_E_RANGE_NOT_SATISFIABLE);
    assert_null(r);
    assert_int_equal(err.code, CF_E_RANGE_NOT_SATISFIABLE);
    assert_contains(err.message, "offset 12 is past the end");
    assert_contains(err.message, "offset-1");
}

static void test_reader_size_and_fd(void **state)
{
    struct fixture *f = *state;
    struct cf_store_reader *r = NULL;
    struct cf_error err;
    char buf[8];
    int fd;

    cf_error_init(&err);
    put_object(f->store, "size-1", "0123456789", 10);
    assert_int_equal(cf_store_reader_open(f->store, "size-1", 4, &r, &err), CF_OK);
    /* The whole object's size, whatever the offset. */
    assert_int_equal(cf_store_reader_size(r), 10);
    fd = cf_store_reader_fd(r);
    assert_true(fd >= 0);
    assert_int_equal(lseek(fd, 0, SEEK_CUR), 4);
    assert_int_equal(read(fd, buf, sizeof(buf)), 6);
    assert_memory_equal(buf, "456789", 6);
    cf_store_reader_free(r);

    put_object(f->store, "size-empty", "", 0);
    assert_int_equal(cf_store_reader_open(f->store, "size-empty", 0, &r, &err), CF_OK);
    assert_int_equal(cf_store_reader_size(r), 0);
    assert_int_equal(cf_store_read(r, buf, sizeof(buf), &err), 0);
    cf_store_reader_free(r);
}

static void test_uncommitted_is_invisible_and_abort_leaves_nothing(void **state)
{
    struct fixture *f = *state;
    struct cf_store_writer *w = NULL;
    struct cf_store_reader *r = NULL;
    struct cf_error err;

    cf_error_init(&err);
    assert_int_equal(cf_store_writer_new(f->store, "pending-1", &w, &err), CF_OK);
    assert_int_equal(cf_store_write(w, "partial", 7, &err), CF_OK);
    assert_int_equal(tmp_entries(f), 1);

    assert_int_equal(cf_store_reader_open(f->store, "pending-1", 0, &r, &err), CF_E_NOT_FOUND);
    assert_null(r);
    assert_contains(err.message, "pending-1");
    assert_contains(err.message, "No such file or directory");

    cf_store_abort(w);
    assert_int_equal(tmp_entries(f), 0);
    assert_int_equal(cf_store_reader_open(f->store, "pending-1", 0, &r, &err), CF_E_NOT_FOUND);
}

static void test_commit_is_visible_and_tmp_empty(void **state)
{
    struct fixture *f = *state;
    char path[PATH_MAX];
    char buf[16];
    struct stat st;

    put_object(f->store, "visible-1", "committed", 9);
    assert_int_equal(tmp_entries(f), 0);
    snprintf(path, sizeof(path), "%s/objects/vi/visible-1", f->root);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal(st.st_size, 9);
    assert_int_equal(get_object(f->store, "visible-1", 0, buf, sizeof(buf)), 9);
    assert_memory_equal(buf, "committed", 9);
}

static void test_commit_replaces_an_object_under_the_same_key(void **state)
{
    struct fixture *f = *state;
    char buf[16];

    put_object(f->store, "again-1", "first", 5);
    put_object(f->store, "again-1", "second", 6);
    assert_int_equal(get_object(f->store, "again-1", 0, buf, sizeof(buf)), 6);
    assert_memory_equal(buf, "second", 6);
}

static void test_second_writer_for_a_key_is_refused(void **state)
{
    struct fixture *f = *state;
    struct cf_store_writer *w = NULL;
    struct cf_store_writer *w2 = NULL;
    struct cf_error err;

    cf_error_init(&err);
    assert_int_equal(cf_store_writer_new(f->store, "twice-1", &w, &err), CF_OK);
    assert_int_equal(cf_store_writer_new(f->store, "twice-1", &w2, &err), CF_E_IO);
    assert_null(w2);
    assert_contains(err.message, "twice-1.part");
    assert_contains(err.message, "File exists");
    cf_store_abort(w);
    assert_int_equal(tmp_entries(f), 0);
}

static void test_remove(void **state)
{
    struct fixture *f = *state;
    struct cf_store_reader *r = NULL;
    struct cf_error err;

    cf_error_init(&err);
    put_object(f->store, "remove-1", "bytes", 5);
    assert_int_equal(cf_store_remove(f->store, "remove-1", &err), CF_OK);
    assert_int_equal(cf_store_reader_open(f->store, "remove-1", 0, &r, &err), CF_E_NOT_FOUND);
    /* Gone already, and never there (not even its fan-out directory). */
    assert_int_equal(cf_store_remove(f->store, "remove-1", &err), CF_OK);
    assert_int_equal(cf_store_remove(f->store, "Zz-never-written", &err), CF_OK);
}

static void test_remove_pending(void **state)
{
    struct fixture *f = *state;
    struct cf_store_writer *w = NULL;
    struct cf_store_reader *r = NULL;
    struct cf_error err;

    cf_error_init(&err);
    /* A server that died mid-upload leaves its part file behind: the live
     * writer stands in for it. */
    assert_int_equal(cf_store_writer_new(f->store, "crashed-1", &w, &err), CF_OK);
    assert_int_equal(cf_store_write(w, "half an upload", 14, &err), CF_OK);
    assert_int_equal(tmp_entries(f), 1);
    assert_int_equal(cf_store_remove_pending(f->store, "crashed-1", &err), CF_OK);
    assert_int_equal(tmp_entries(f), 0);
    cf_store_abort(w);
    assert_int_equal(tmp_entries(f), 0);

    /* One that died after the rename but before its row was committed. */
    put_object(f->store, "crashed-2", "whole", 5);
    assert_int_equal(cf_store_remove_pending(f->store, "crashed-2", &err), CF_OK);
    assert_int_equal(cf_store_reader_open(f->store, "crashed-2", 0, &r, &err), CF_E_NOT_FOUND);

    /* Nothing left at all. */
    assert_int_equal(cf_store_remove_pending(f->store, "crashed-3", &err), CF_OK);
}

static void test_commit_after_remove_pending_fails_and_leaves_nothing(void **state)
{
    struct fixture *f = *state;
    struct cf_store_writer *w = NULL;
    struct cf_store_reader *r = NULL;
    struct cf_error err;

    cf_error_init(&err);
    assert_int_equal(cf_store_writer_new(f->store, "late-1", &w, &err), CF_OK);
    assert_int_equal(cf_store_write(w, "data", 4, &err), CF_OK);
    assert_int_equal(cf_store_remove_pending(f->store, "late-1", &err), CF_OK);
    assert_int_equal(cf_store_commit(w, &err), CF_E_IO);
    assert_contains(err.message, "late-1");
    assert_contains(err.message, "No such file or directory");
    assert_int_equal(cf_store_reader_open(f->store, "late-1", 0, &r, &err), CF_E_NOT_FOUND);
    assert_int_equal(tmp_entries(f), 0);
}

static void test_probe_succeeds_and_leaves_nothing(void **state)
{
    struct fixture *f = *state;
    struct cf_error err;

    cf_error_init(&err);
    assert_int_equal(cf_store_probe(f->store, &err), CF_OK);
    assert_int_equal(cf_store_probe(f->store, &err), CF_OK);
    assert_int_equal(tmp_entries(f), 0);
}

/* Permission bits do not stop root, so the probe is made to fail by what
 * nobody can write into: a regular file where tmp/ should be. */
static void test_probe_fails_when_tmp_is_not_a_directory(void **state)
{
    struct fixture *f = *state;
    struct cf_error err;
    char path[PATH_MAX];
    int fd;

    cf_error_init(&err);
    snprintf(path, sizeof(path), "%s/tmp", f->root);
    assert_int_equal(rmdir(path), 0);
    fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    close(fd);

    assert_int_equal(cf_store_probe(f->store, &err), CF_E_STORAGE_UNAVAILABLE);
    assert_int_equal(err.code, CF_E_STORAGE_UNAVAILABLE);
    assert_contains(err.message, path);
    assert_contains(err.message, "Not a directory");
}

static void test_probe_fails_on_a_read_only_file_system(void **state)
{
    struct fixture *f = *state;
    struct cf_store *again = NULL;
    struct cf_error err;

    cf_error_init(&err);
    if (!reopen_on_tmpfs(f, 1024 * 1024))
        skip();
    assert_int_equal(cf_store_probe(f->store, &err), CF_OK);
    assert_int_equal(mount(NULL, f->dir, NULL, MS_REMOUNT | MS_RDONLY, NULL), 0);

    assert_int_equal(cf_store_probe(f->store, &err), CF_E_STORAGE_UNAVAILABLE);
    assert_contains(err.message, f->root);
    assert_contains(err.message, "Read-only file system");

    /* And a store is not opened there in the first place. */
    assert_int_equal(cf_store_fs_open(f->root, &again, &err), CF_E_STORAGE_UNAVAILABLE);
    assert_null(again);
    assert_contains(err.message, "cannot write to storage directory");
    assert_contains(err.message, "Read-only file system");
}

static void test_disk_full_is_storage_full(void **state)
{
    struct fixture *f = *state;
    struct cf_store_writer *w = NULL;
    struct cf_store_reader *r = NULL;
    struct cf_error err;
    size_t len = 1024 * 1024;
    char *data = calloc(1, len);

    assert_non_null(data);
    cf_error_init(&err);
    if (!reopen_on_tmpfs(f, 256 * 1024)) {
        free(data);
        skip();
    }
    assert_int_equal(cf_store_writer_new(f->store, "full-1", &w, &err), CF_OK);
    assert_int_equal(cf_store_write(w, data, len, &err), CF_E_STORAGE_FULL);
    assert_contains(err.message, "full-1.part");
    assert_contains(err.message, "No space left on device");
    /* Still a writer, and aborting it frees the space. */
    assert_int_equal(cf_store_write(w, data, 1, &err), CF_E_IO);
    cf_store_abort(w);
    assert_int_equal(tmp_entries(f), 0);

    /* A commit after a failed write must not publish a truncated object. */
    assert_int_equal(cf_store_writer_new(f->store, "full-2", &w, &err), CF_OK);
    assert_int_equal(cf_store_write(w, data, len, &err), CF_E_STORAGE_FULL);
    assert_int_equal(cf_store_commit(w, &err), CF_E_IO);
    assert_contains(err.message, "an earlier write failed");
    assert_int_equal(tmp_entries(f), 0);
    assert_int_equal(cf_store_reader_open(f->store, "full-2", 0, &r, &err), CF_E_NOT_FOUND);

    /* The space is back. */
    put_object(f->store, "full-3", data, 1024);
    free(data);
}

static void test_bad_keys_are_refused(void **state)
{
    struct fixture *f = *state;
    char long_key[130];
    const char *bad[] = {"", ".", "..", "a/b", "../x", "a b", "caf\xc3\xa9", "tab\tkey", long_key};
    struct cf_store_writer *w = NULL;
    struct cf_store_reader *r = NULL;
    struct cf_error err;

    cf_error_init(&err);
    memset(long_key, 'k', 129);
    long_key[129] = '\0';
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(cf_store_writer_new(f->store, bad[i], &w, &err), CF_E_INTERNAL);
        assert_null(w);
        assert_contains(err.message, "invalid storage key");
        assert_int_equal(cf_store_reader_open(f->store, bad[i], 0, &r, &err), CF_E_INTERNAL);
        assert_null(r);
        assert_int_equal(cf_store_remove(f->store, bad[i], &err), CF_E_INTERNAL);
        assert_int_equal(cf_store_remove_pending(f->store, bad[i], &err), CF_E_INTERNAL);
    }
    assert_int_equal(cf_store_writer_new(f->store, NULL, &w, &err), CF_E_INTERNAL);
    assert_int_equal(tmp_entries(f), 0);
}

/* Regression: with the fan-out taken verbatim, the key "..x" would have been
 * stored as objects/../..x, outside objects/. */
static void test_keys_with_dots_stay_inside_objects(void **state)
{
    struct fixture *f = *state;
    char long_key[129];
    char path[PATH_MAX];
    char buf[16];
    struct stat st;

    put_object(f->store, "..x", "dots", 4);
    snprintf(path, sizeof(path), "%s/objects/__/..x", f->root);
    assert_int_equal(stat(path, &st), 0);
    snprintf(path, sizeof(path), "%s/..x", f->root);
    assert_int_not_equal(stat(path, &st), 0);
    assert_int_equal(get_object(f->store, "..x", 0, buf, sizeof(buf)), 4);

    put_object(f->store, "k", "one", 3);
    snprintf(path, sizeof(path), "%s/objects/k/k", f->root);
    assert_int_equal(stat(path, &st), 0);

    memset(long_key, 'L', 128);
    long_key[128] = '\0';
    put_object(f->store, long_key, "long", 4);
    assert_int_equal(get_object(f->store, long_key, 0, buf, sizeof(buf)), 4);
}

struct thread_job {
    struct cf_store *store;
    pthread_barrier_t *start;
    const char *key;
    char fill;
    cf_code rc;
    char message[512];
};

#define THREAD_CHUNK  65536
#define THREAD_CHUNKS 64

/* No cmocka asserts here: they are not safe off the main thread. */
static void *thread_write(void *arg)
{
    struct thread_job *job = arg;
    struct cf_store_writer *w = NULL;
    struct cf_error err;
    char chunk[THREAD_CHUNK];

    cf_error_init(&err);
    memset(chunk, job->fill, sizeof(chunk));
    pthread_barrier_wait(job->start);
    job->rc = cf_store_writer_new(job->store, job->key, &w, &err);
    for (int i = 0; job->rc == CF_OK && i < THREAD_CHUNKS; i++)
        job->rc = cf_store_write(w, chunk, sizeof(chunk), &err);
    if (job->rc == CF_OK)
        job->rc = cf_store_commit(w, &err);
    else
        cf_store_abort(w);
    snprintf(job->message, sizeof(job->message), "%s", err.message);
    return NULL;
}

static void test_two_writers_in_two_threads(void **state)
{
    struct fixture *f = *state;
    pthread_barrier_t start;
    pthread_t threads[2];
    struct thread_job jobs[2] = {
        {.store = f->store, .start = &start, .key = "thread-a", .fill = 'a'},
        {.store = f->store, .start = &start, .key = "thread-b", .fill = 'b'},
    };
    size_t len = (size_t)THREAD_CHUNK * THREAD_CHUNKS;
    char *buf = malloc(len);

    assert_non_null(buf);
    assert_int_equal(pthread_barrier_init(&start, NULL, 2), 0);
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&threads[i], NULL, thread_write, &jobs[i]), 0);
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_join(threads[i], NULL), 0);
    pthread_barrier_destroy(&start);

    for (int i = 0; i < 2; i++) {
        if (jobs[i].rc != CF_OK)
            fail_msg("%s: %s", jobs[i].key, jobs[i].message);
        assert_int_equal(get_object(f->store, jobs[i].key, 0, buf, len), len);
        for (size_t j = 0; j < len; j++) {
            if (buf[j] != jobs[i].fill)
                fail_msg("%s: byte %zu is %d", jobs[i].key, j, buf[j]);
        }
    }
    assert_int_equal(tmp_entries(f), 0);
    free(buf);
}

static void test_open_refuses_what_is_not_a_directory(void **state)
{
    struct fixture *f = *state;
    struct cf_store *store = NULL;
    struct cf_error err;
    char path[PATH_MAX];
    int fd;

    cf_error_init(&err);
    snprintf(path, sizeof(path), "%s/a-file", f->dir);
    fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(cf_store_fs_open(path, &store, &err), CF_E_STORAGE_UNAVAILABLE);
    assert_null(store);
    assert_contains(err.message, path);
    assert_contains(err.message, "is not a directory");

    snprintf(path, sizeof(path), "%s/missing/store", f->dir);
    assert_int_equal(cf_store_fs_open(path, &store, &err), CF_E_STORAGE_UNAVAILABLE);
    assert_contains(err.message, path);
    assert_contains(err.message, "No such file or directory");

    /* objects/ taken by a file. */
    snprintf(path, sizeof(path), "%s/other", f->dir);
    assert_int_equal(mkdir(path, 0700), 0);
    snprintf(path, sizeof(path), "%s/other/objects", f->dir);
    fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    close(fd);
    snprintf(path, sizeof(path), "%s/other", f->dir);
    assert_int_equal(cf_store_fs_open(path, &store, &err), CF_E_STORAGE_UNAVAILABLE);
    assert_contains(err.message, "objects is not a directory");
}

static void test_reopen_keeps_objects(void **state)
{
    struct fixture *f = *state;
    struct cf_error err;
    char buf[16];

    cf_error_init(&err);
    put_object(f->store, "kept-1", "persisted", 9);
    cf_store_free(f->store);
    f->store = NULL;
    assert_int_equal(cf_store_fs_open(f->root, &f->store, &err), CF_OK);
    assert_int_equal(get_object(f->store, "kept-1", 0, buf, sizeof(buf)), 9);
    assert_memory_equal(buf, "persisted", 9);
}

static void test_null_is_a_no_op(void **state)
{
    (void)state;
    cf_store_free(NULL);
    cf_store_abort(NULL);
    cf_store_reader_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_write_commit_read_whole, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_from_offset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reader_size_and_fd, setup, teardown),
        cmocka_unit_test_setup_teardown(test_uncommitted_is_invisible_and_abort_leaves_nothing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_commit_is_visible_and_tmp_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_commit_replaces_an_object_under_the_same_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_second_writer_for_a_key_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_remove, setup, teardown),
        cmocka_unit_test_setup_teardown(test_remove_pending, setup, teardown),
        cmocka_unit_test_setup_teardown(test_commit_after_remove_pending_fails_and_leaves_nothing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_probe_succeeds_and_leaves_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_probe_fails_when_tmp_is_not_a_directory, setup, teardown),
        cmocka_unit_test_setup_teardown(test_probe_fails_on_a_read_only_file_system, setup, teardown),
        cmocka_unit_test_setup_teardown(test_disk_full_is_storage_full, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_keys_are_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keys_with_dots_stay_inside_objects, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_writers_in_two_threads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_refuses_what_is_not_a_directory, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reopen_keeps_objects, setup, teardown),
        cmocka_unit_test(test_null_is_a_no_op),
    };

    /* A private mount namespace, entered before any thread exists (unshare
     * refuses CLONE_NEWNS otherwise), so that the tmpfs mounts vanish with
     * this process. Without the privilege the tests that need them skip. */
    can_mount = unshare(CLONE_NEWNS) == 0 && mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
