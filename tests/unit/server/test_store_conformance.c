/* The storage interface's contract (server/store.h), the same cases against
 * every backend: the filesystem always, and S3 when a real store is named by
 * the environment:
 *
 *   COFFER_TEST_S3_ENDPOINT, COFFER_TEST_S3_BUCKET, COFFER_TEST_S3_ACCESS_KEY,
 *   COFFER_TEST_S3_SECRET_KEY, COFFER_TEST_S3_REGION (default us-east-1), and
 *   optionally COFFER_TEST_S3_VIRTUAL_ENDPOINT (a host name under which the
 *   store answers bucket.host, for virtual-host addressing).
 *
 * tests/integration/test_s3.sh starts a throw-away Ceph RGW and runs this
 * program against it. Each S3 case works under a prefix of its own, so runs
 * and cases never see each other's objects. The S3 part size is the minimum
 * (5 MiB) so that multipart uploads happen at test sizes. */
#include "server/store.h"

#include <ftw.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#define PART (5 * 1024 * 1024)

enum backend { BACKEND_FS, BACKEND_S3 };

struct fixture {
    enum backend backend;
    char dir[64];    /* fs: from mkdtemp, removed at the end */
    char prefix[96]; /* s3: this case's prefix */
    struct cf_store *store;
};

static enum backend fs_backend = BACKEND_FS;
static enum backend s3_backend = BACKEND_S3;
static unsigned case_number;

static const char *env_or(const char *name, const char *fallback)
{
    const char *value = getenv(name);

    return value != NULL && value[0] != '\0' ? value : fallback;
}

static bool s3_configured(void)
{
    return getenv("COFFER_TEST_S3_ENDPOINT") != NULL && getenv("COFFER_TEST_S3_BUCKET") != NULL &&
           getenv("COFFER_TEST_S3_ACCESS_KEY") != NULL && getenv("COFFER_TEST_S3_SECRET_KEY") != NULL;
}

/* The S3 options from the environment, with a prefix of prefix. */
static struct cf_s3_options s3_options(const char *prefix)
{
    struct cf_s3_options opt = {
        .endpoint = env_or("COFFER_TEST_S3_ENDPOINT", ""),
        .bucket = env_or("COFFER_TEST_S3_BUCKET", ""),
        .region = env_or("COFFER_TEST_S3_REGION", "us-east-1"),
        .access_key = env_or("COFFER_TEST_S3_ACCESS_KEY", ""),
        .secret_key = env_or("COFFER_TEST_S3_SECRET_KEY", ""),
        .virtual_host = false,
        .prefix = prefix,
        .part_size = PART,
        .tls_verify = true,
        .ca_file = NULL,
        .timeout = 10,
    };
    return opt;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* Opens another store on the same place as f's (another instance, say). */
static struct cf_store *open_same(struct fixture *f)
{
    struct cf_store *store = NULL;
    struct cf_error err;
    char root[128];

    cf_error_init(&err);
    if (f->backend == BACKEND_FS) {
        snprintf(root, sizeof(root), "%s/store", f->dir);
        assert_int_equal(cf_store_fs_open(root, &store, &err), CF_OK);
    } else {
        struct cf_s3_options opt = s3_options(f->prefix);
        assert_int_equal(cf_store_s3_open(&opt, &store, &err), CF_OK);
    }
    return store;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    f->backend = *(enum backend *)*state;
    if (f->backend == BACKEND_FS) {
        snprintf(f->dir, sizeof(f->dir), "/tmp/coffer-conformance-XXXXXX");
        assert_non_null(mkdtemp(f->dir));
    } else {
        snprintf(f->prefix, sizeof(f->prefix), "conformance-%ld-%lld/case-%u/", (long)getpid(),
                 (long long)time(NULL), ++case_number);
    }
    f->store = open_same(f);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    cf_store_free(f->store);
    if (f->backend == BACKEND_FS)
        nftw(f->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

/* The byte at offset i of test object seed: varies with both, so that a part
 * out of place or a shifted range shows. */
static unsigned char pattern(unsigned seed, uint64_t i)
{
    uint64_t x = (i + 1) * 0x9E3779B97F4A7C15ULL ^ ((uint64_t)seed << 32);

    return (unsigned char)(x >> 29);
}

static unsigned char *pattern_buf(unsigned seed, size_t len)
{
    unsigned char *data = malloc(len > 0 ? len : 1);

    assert_non_null(data);
    for (size_t i = 0; i < len; i++)
        data[i] = pattern(seed, i);
    return data;
}

/* Writes len bytes of pattern seed under key in pieces of chunk bytes. */
static void put_pattern(struct cf_store *store, const char *key, unsigned seed, size_t len, size_t chunk)
{
    unsigned char *data = pattern_buf(seed, len);
    struct cf_store_writer *w = NULL;
    struct cf_error err;

    cf_error_init(&err);
    assert_int_equal(cf_store_writer_new(store, key, &w, &err), CF_OK);
    for (size_t at = 0; at < len; at += chunk) {
        size_t n = len - at < chunk ? len - at : chunk;
        if (cf_store_write(w, data + at, n, &err) != CF_OK)
            fail_msg("write of %s at %zu: %s", key, at, err.message);
    }
    if (cf_store_commit(w, &err) != CF_OK)
        fail_msg("commit of %s: %s", key, err.message);
    free(data);
}

/* Reads key from offset to its end in reads of at most cap_per_read bytes and
 * checks every byte against pattern seed and the reader's size against size. */
static void check_pattern(struct cf_store *store, const char *key, unsigned seed, uint64_t size,
                          uint64_t offset, size_t cap_per_read)
{
    struct cf_store_reader *r = NULL;
    struct cf_error err;
    unsigned char *buf = malloc(cap_per_read);
    uint64_t at = offset;
    ssize_t n;

    assert_non_null(buf);
    cf_error_init(&err);
    if (cf_store_reader_open(store, key, offset, &r, &err) != CF_OK)
        fail_msg("open %s at %llu: %s", key, (unsigned long long)offset, err.message);
    assert_int_equal(cf_store_reader_size(r), size);
    while ((n = cf_store_read(r, buf, cap_per_read, &err)) > 0) {
        for (ssize_t i = 0; i < n; i++) {
            if (buf[i] != pattern(seed, at + (uint64_t)i))
                fail_msg("%s: byte %llu differs", key, (unsigned long long)(at + (uint64_t)i));
        }
        at += (uint64_t)n;
    }
    if (n < 0)
        fail_msg("read %s at %llu: %s", key, (unsigned long long)at, err.message);
    assert_int_equal(at, size);
    cf_store_reader_free(r);
    free(buf);
}

static void assert_contains(const char *text, const char *part)
{
    if (strstr(text, part) == NULL)
        fail_msg("\"%s\" does not contain \"%s\"", text, part);
}

static void assert_missing(struct cf_store *store, const char *key)
{
    struct cf_store_reader *r = NULL;
    struct cf_error err;

    cf_error_init(&err);
    assert_int_equal(cf_store_reader_open(store, key, 0, &r, &err), CF_E_NOT_FOUND);
    assert_null(r);
    assert_contains(err.message, key);
}

static int owned_by_nothing(void *ctx, const char *key)
{
    (void)ctx;
    (void)key;
    return 0;
}

static int owned(void *ctx, const char *key)
{
    (void)ctx;
    (void)key;
    return 1;
}

/* Counts the leftovers it is asked about and keeps them all. */
static int counting_owner(void *ctx, const char *key)
{
    (void)key;
    (*(int *)ctx)++;
    return 1;
}

/* How many uncommitted leftovers the store holds now, whatever their age;
 * none is removed. */
static int leftovers(struct cf_store *store)
{
    struct cf_error err;
    int seen = 0, removed = -1;

    cf_error_init(&err);
    if (cf_store_sweep(store, -3600, counting_owner, &seen, &removed, &err) != CF_OK)
        fail_msg("sweep: %s", err.message);
    assert_int_equal(removed, 0);
    return seen;
}

/* --- the cases ------------------------------------------------------------ */

static void test_write_commit_read_whole(void **state)
{
    struct fixture *f = *state;

    put_pattern(f->store, "whole-1", 1, 700 * 1024 + 3, 65536 + 7);
    check_pattern(f->store, "whole-1", 1, 700 * 1024 + 3, 0, 100000);
    /* Reads smaller than anything the backend fetches at once. */
    check_pattern(f->store, "whole-1", 1, 700 * 1024 + 3, 0, 1000);
}

static void test_read_from_offsets(void **state)
{
    struct fixture *f = *state;
    uint64_t size = 600 * 1024 + 11;
    const uint64_t offsets[] = {1, 255 * 1024, 256 * 1024, 256 * 1024 + 1, 599 * 1024, size - 1, size};

    put_pattern(f->store, "offsets-1", 2, (size_t)size, 4096);
    for (size_t i = 0; i < sizeof(offsets) / sizeof(offsets[0]); i++)
        check_pattern(f->store, "offsets-1", 2, size, offsets[i], 32768);
}

static void test_offset_past_the_end_is_refused(void **state)
{
    struct fixture *f = *state;
    struct cf_store_reader *r = NULL;
    struct cf_error err;

    cf_error_init(&err);
    put_pattern(f->store, "past-1", 3, 11, 11);
    assert_int_equal(cf_store_reader_open(f->store, "past-1", 12, &r, &err), CF_E_RANGE_NOT_SATISFIABLE);
    assert_null(r);
    assert_int_equal(err.code, CF_E_RANGE_NOT_SATISFIABLE);
    assert_contains(err.message, "offset 12 is past the end");
    assert_contains(err.message, "past-1");
    assert_int_equal(cf_store_reader_open(f->store, "past-1", 1000000, &r, &err), CF_E_RANGE_NOT_SATISFIABLE);
    /* At the very end is a valid, empty read. */
    check_pattern(f->store, "past-1", 3, 11, 11, 64);
}

static void test_empty_object(void **state)
{
    struct fixture *f = *state;
    struct cf_store_reader *r = NULL;
    struct cf_error err;
    char buf[8];

    cf_error_init(&err);
    put_pattern(f->store, "empty-1", 4, 0, 1);
    assert_int_equal(cf_store_reader_open(f->store, "empty-1", 0, &r, &err), CF_OK);
    assert_int_equal(cf_store_reader_size(r), 0);
    assert_int_equal(cf_store_read(r, buf, sizeof(buf), &err), 0);
    cf_store_reader_free(r);
    assert_int_equal(cf_store_reader_open(f->store, "empty-1", 1, &r, &err), CF_E_RANGE_NOT_SATISFIABLE);
}

static void test_missing_key_is_not_found(void **state)
{
    struct fixture *f = *state;

    assert_missing(f->store, "never-written");
}

static void test_uncommitted_is_invisible_and_abort_leaves_nothing(void **state)
{
    struct fixture *f = *state;
    unsigned char *data = pattern_buf(5, PART + 1000);
    struct cf_store_writer *w = NULL;
    struct cf_error err;

    cf_error_init(&err);
    assert_int_equal(cf_store_writer_new(f->store, "aborted-1", &w, &err), CF_OK);
    /* More than a part, so that S3 holds a multipart upload with a part in it. */
    assert_int_equal(cf_store_write(w, data, PART, &err), CF_OK);
    assert_int_equal(cf_store_write(w, data + PART, 1000, &err), CF_OK);
    assert_missing(f->store, "aborted-1");
    cf_store_abort(w);
    assert_missing(f->store, "aborted-1");
    assert_int_equal(leftovers(f->store), 0);
    free(data);
}

static void test_commit_replaces_an_object_under_the_same_key(void **state)
{
    struct fixture *f = *state;

    put_pattern(f->store, "replaced-1", 6, 5000, 5000);
    put_pattern(f->store, "replaced-1", 7, 3000, 1000);
    check_pattern(f->store, "replaced-1", 7, 3000, 0, 4096);
}

static void test_remove(void **state)
{
    struct fixture *f = *state;
    struct cf_error err;

    cf_error_init(&err);
    put_pattern(f->store, "removed-1", 8, 1234, 100);
    assert_int_equal(cf_store_remove(f->store, "removed-1", &err), CF_OK);
    assert_missing(f->store, "removed-1");
    /* Missing is not an error, the second time or ever. */
    assert_int_equal(cf_store_remove(f->store, "removed-1", &err), CF_OK);
    assert_int_equal(cf_store_remove(f->store, "never-written", &err), CF_OK);
}

static void test_remove_pending_of_a_crashed_writer(void **state)
{
    struct fixture *f = *state;
    unsigned char *data = pattern_buf(9, 2 * PART + 10);
    struct cf_store *other = open_same(f);
    struct cf_store_writer *w = NULL;
    struct cf_error err;
    cf_code code;

    cf_error_init(&err);
    /* The writer's process "died" mid-way: another instance cleans up after it. */
    assert_int_equal(cf_store_writer_new(f->store, "crashed-1", &w, &err), CF_OK);
    assert_int_equal(cf_store_write(w, data, 2 * PART + 10, &err), CF_OK);
    assert_int_equal(leftovers(other), 1);
    assert_int_equal(cf_store_remove_pending(other, "crashed-1", &err), CF_OK);
    assert_int_equal(leftovers(other), 0);
    assert_missing(other, "crashed-1");
    /* Nothing left is not an error either. */
    assert_int_equal(cf_store_remove_pending(other, "crashed-1", &err), CF_OK);
    /* The first writer was alive after all (its heartbeat only looked
     * stale): writing on may fail or not, but the failure is the interface's
     * CF_E_IO, never S3's 404 as "not found"; it cannot commit what is gone,
     * and leaves nothing when it tries. */
    code = cf_store_write(w, data, PART, &err);
    if (code != CF_OK && code != CF_E_IO)
        fail_msg("write after the clean-up: %d, %s", code, err.message);
    assert_int_equal(cf_store_commit(w, &err), CF_E_IO);
    assert_int_equal(err.code, CF_E_IO);
    assert_missing(f->store, "crashed-1");
    assert_int_equal(leftovers(f->store), 0);
    cf_store_free(other);
    free(data);
}

static void test_remove_pending_of_a_committed_object(void **state)
{
    struct fixture *f = *state;
    struct cf_error err;

    cf_error_init(&err);
    put_pattern(f->store, "pending-committed", 10, 999, 999);
    assert_int_equal(cf_store_remove_pending(f->store, "pending-committed", &err), CF_OK);
    assert_missing(f->store, "pending-committed");
}

static void test_sweep_takes_only_old_leftovers_nothing_owns(void **state)
{
    struct fixture *f = *state;
    unsigned char *data = pattern_buf(11, PART + 1);
    struct cf_store_writer *w = NULL;
    struct cf_error err;
    int removed = -1;

    cf_error_init(&err);
    put_pattern(f->store, "committed-1", 12, 100, 100);
    assert_int_equal(cf_store_writer_new(f->store, "left-1", &w, &err), CF_OK);
    assert_int_equal(cf_store_write(w, data, PART + 1, &err), CF_OK);
    assert_int_equal(leftovers(f->store), 1);

    assert_int_equal(cf_store_sweep(f->store, 3600, owned_by_nothing, NULL, &removed, &err), CF_OK);
    assert_int_equal(removed, 0); /* too recent */
    assert_int_equal(cf_store_sweep(f->store, -3600, owned, NULL, &removed, &err), CF_OK);
    assert_int_equal(removed, 0); /* owned */
    assert_int_equal(cf_store_sweep(f->store, -3600, owned_by_nothing, NULL, &removed, &err), CF_OK);
    assert_int_equal(removed, 1);
    assert_int_equal(leftovers(f->store), 0);
    /* A committed object is never a leftover. */
    check_pattern(f->store, "committed-1", 12, 100, 0, 100);
    cf_store_abort(w);
    free(data);
}

static void test_probe(void **state)
{
    struct fixture *f = *state;
    struct cf_error err;

    cf_error_init(&err);
    assert_int_equal(cf_store_probe(f->store, &err), CF_OK);
    assert_int_equal(cf_store_probe(f->store, &err), CF_OK);
    assert_int_equal(leftovers(f->store), 0);
}

static void test_large_multipart_object(void **state)
{
    struct fixture *f = *state;
    size_t size = 3 * PART + 12345;

    /* Odd-sized writes, so that parts fill across write boundaries. */
    put_pattern(f->store, "large-1", 13, size, 100003);
    check_pattern(f->store, "large-1", 13, size, 0, 1 << 20);
    /* Across the first part boundary, and within the last part. */
    check_pattern(f->store, "large-1", 13, size, PART - 10, 65536);
    check_pattern(f->store, "large-1", 13, size, 3 * PART + 5, 65536);
    assert_int_equal(leftovers(f->store), 0);
}

static void test_objects_of_exactly_one_and_two_parts(void **state)
{
    struct fixture *f = *state;

    put_pattern(f->store, "one-part", 14, PART, PART);
    check_pattern(f->store, "one-part", 14, PART, 0, 1 << 20);
    put_pattern(f->store, "two-parts", 15, 2 * PART, 1 << 20);
    check_pattern(f->store, "two-parts", 15, 2 * PART, PART - 1, 1 << 20);
    put_pattern(f->store, "one-part-and-a-byte", 16, PART + 1, 4096);
    check_pattern(f->store, "one-part-and-a-byte", 16, PART + 1, PART, 10);
    assert_int_equal(leftovers(f->store), 0);
}

struct writer_thread {
    struct cf_store *store;
    char key[32];
    unsigned seed;
    size_t size;
};

static void *write_and_check(void *arg)
{
    struct writer_thread *t = arg;

    put_pattern(t->store, t->key, t->seed, t->size, 70001);
    check_pattern(t->store, t->key, t->seed, t->size, 0, 1 << 20);
    return NULL;
}

static void test_concurrent_writers_on_different_keys(void **state)
{
    struct fixture *f = *state;
    struct writer_thread threads[4];
    pthread_t ids[4];

    for (int i = 0; i < 4; i++) {
        threads[i].store = f->store;
        snprintf(threads[i].key, sizeof(threads[i].key), "parallel-%d", i);
        threads[i].seed = 20 + (unsigned)i;
        /* Two of them multipart. */
        threads[i].size = i % 2 == 0 ? PART + 4096 * (size_t)i + 1 : 300000 + (size_t)i;
        assert_int_equal(pthread_create(&ids[i], NULL, write_and_check, &threads[i]), 0);
    }
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_join(ids[i], NULL), 0);
    for (int i = 0; i < 4; i++)
        check_pattern(f->store, threads[i].key, threads[i].seed, threads[i].size, 0, 1 << 20);
    assert_int_equal(leftovers(f->store), 0);
}

static void test_invalid_keys_are_refused(void **state)
{
    struct fixture *f = *state;
    char long_key[130];
    const char *bad[] = {"", ".", "..", "a/b", "a b", "é", long_key};
    struct cf_store_writer *w = NULL;
    struct cf_store_reader *r = NULL;
    struct cf_error err;

    memset(long_key, 'k', 129);
    long_key[129] = '\0';
    cf_error_init(&err);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(cf_store_writer_new(f->store, bad[i], &w, &err), CF_E_INTERNAL);
        assert_null(w);
        assert_contains(err.message, "invalid storage key");
        assert_int_equal(cf_store_reader_open(f->store, bad[i], 0, &r, &err), CF_E_INTERNAL);
        assert_null(r);
        assert_int_equal(cf_store_remove(f->store, bad[i], &err), CF_E_INTERNAL);
        assert_int_equal(cf_store_remove_pending(f->store, bad[i], &err), CF_E_INTERNAL);
    }
    /* The longest key allowed works. */
    long_key[128] = '\0';
    put_pattern(f->store, long_key, 30, 10, 10);
    check_pattern(f->store, long_key, 30, 10, 0, 10);
}

/* --- S3 only: what only a remote store can do wrong ----------------------- */

static void test_s3_wrong_secret_fails_the_probe_clearly(void **state)
{
    struct fixture *f = *state;
    struct cf_s3_options opt = s3_options(f->prefix);
    struct cf_store *store = NULL;
    struct cf_store_writer *w = NULL;
    struct cf_error err;

    cf_error_init(&err);
    opt.secret_key = "not-the-secret";
    assert_int_equal(cf_store_s3_open(&opt, &store, &err), CF_OK);
    assert_int_equal(cf_store_probe(store, &err), CF_E_STORAGE_UNAVAILABLE);
    assert_contains(err.message, "403");
    assert_contains(err.message, "check s3_access_key");
    /* Never the secret itself. */
    assert_null(strstr(err.message, "not-the-secret"));
    assert_int_equal(cf_store_writer_new(store, "refused-1", &w, &err), CF_OK);
    assert_int_equal(cf_store_write(w, "x", 1, &err), CF_OK);
    assert_int_equal(cf_store_commit(w, &err), CF_E_STORAGE_UNAVAILABLE);
    cf_store_free(store);
    assert_missing(f->store, "refused-1");
}

static void test_s3_unreachable_store_is_unavailable(void **state)
{
    struct fixture *f = *state;
    struct cf_s3_options opt = s3_options(f->prefix);
    struct cf_store *store = NULL;
    struct cf_store_reader *r = NULL;
    struct cf_error err;

    cf_error_init(&err);
    /* Port 9 (discard) on loopback: nothing listens there on a test machine. */
    opt.endpoint = "http://127.0.0.1:9";
    assert_int_equal(cf_store_s3_open(&opt, &store, &err), CF_OK);
    assert_int_equal(cf_store_probe(store, &err), CF_E_STORAGE_UNAVAILABLE);
    assert_contains(err.message, "cannot reach the store");
    assert_int_equal(cf_store_reader_open(store, "anything", 0, &r, &err), CF_E_STORAGE_UNAVAILABLE);
    assert_contains(err.message, "after several tries");
    cf_store_free(store);
}

static void test_s3_open_refuses_bad_options(void **state)
{
    struct fixture *f = *state;
    struct cf_s3_options opt = s3_options(f->prefix);
    struct cf_store *store = NULL;
    struct cf_error err;

    cf_error_init(&err);
    opt.bucket = "Not_A_Bucket";
    assert_int_equal(cf_store_s3_open(&opt, &store, &err), CF_E_VALIDATION);
    assert_contains(err.message, "s3_bucket");
    opt = s3_options(f->prefix);
    opt.endpoint = "ftp://127.0.0.1";
    assert_int_equal(cf_store_s3_open(&opt, &store, &err), CF_E_VALIDATION);
    assert_contains(err.message, "s3_endpoint");
    opt.endpoint = "http://127.0.0.1:7480/some/path";
    assert_int_equal(cf_store_s3_open(&opt, &store, &err), CF_E_VALIDATION);
    assert_contains(err.message, "no path");
    opt = s3_options(f->prefix);
    opt.part_size = PART - 1;
    assert_int_equal(cf_store_s3_open(&opt, &store, &err), CF_E_VALIDATION);
    assert_contains(err.message, "s3_part_size");
    assert_null(store);
}

static void test_s3_virtual_host_addressing(void **state)
{
    struct fixture *f = *state;
    struct cf_s3_options opt = s3_options(f->prefix);
    const char *endpoint = getenv("COFFER_TEST_S3_VIRTUAL_ENDPOINT");
    struct cf_store *store = NULL;
    struct cf_error err;

    if (endpoint == NULL || endpoint[0] == '\0') {
        printf("    skipped: COFFER_TEST_S3_VIRTUAL_ENDPOINT is not set\n");
        skip();
    }
    cf_error_init(&err);
    opt.endpoint = endpoint;
    opt.virtual_host = true;
    assert_int_equal(cf_store_s3_open(&opt, &store, &err), CF_OK);
    if (cf_store_probe(store, &err) != CF_OK)
        fail_msg("probe through %s: %s", endpoint, err.message);
    put_pattern(store, "virtual-1", 40, PART + 7, 1 << 20);
    /* The same object through path-style addressing. */
    check_pattern(f->store, "virtual-1", 40, PART + 7, 0, 1 << 20);
    check_pattern(store, "virtual-1", 40, PART + 7, 3, 1 << 20);
    cf_store_free(store);
}

#define CASES(prestate)                                                                                      \
    cmocka_unit_test_prestate_setup_teardown(test_write_commit_read_whole, setup, teardown, prestate),       \
        cmocka_unit_test_prestate_setup_teardown(test_read_from_offsets, setup, teardown, prestate),         \
        cmocka_unit_test_prestate_setup_teardown(test_offset_past_the_end_is_refused, setup, teardown,       \
                                                 prestate),                                                  \
        cmocka_unit_test_prestate_setup_teardown(test_empty_object, setup, teardown, prestate),              \
        cmocka_unit_test_prestate_setup_teardown(test_missing_key_is_not_found, setup, teardown, prestate),  \
        cmocka_unit_test_prestate_setup_teardown(test_uncommitted_is_invisible_and_abort_leaves_nothing,     \
                                                 setup, teardown, prestate),                                 \
        cmocka_unit_test_prestate_setup_teardown(test_commit_replaces_an_object_under_the_same_key, setup,   \
                                                 teardown, prestate),                                        \
        cmocka_unit_test_prestate_setup_teardown(test_remove, setup, teardown, prestate),                    \
        cmocka_unit_test_prestate_setup_teardown(test_remove_pending_of_a_crashed_writer, setup, teardown,   \
                                                 prestate),                                                  \
        cmocka_unit_test_prestate_setup_teardown(test_remove_pending_of_a_committed_object, setup, teardown, \
                                                 prestate),                                                  \
        cmocka_unit_test_prestate_setup_teardown(test_sweep_takes_only_old_leftovers_nothing_owns, setup,    \
                                                 teardown, prestate),                                        \
        cmocka_unit_test_prestate_setup_teardown(test_probe, setup, teardown, prestate),                     \
        cmocka_unit_test_prestate_setup_teardown(test_large_multipart_object, setup, teardown, prestate),    \
        cmocka_unit_test_prestate_setup_teardown(test_objects_of_exactly_one_and_two_parts, setup, teardown, \
                                                 prestate),                                                  \
        cmocka_unit_test_prestate_setup_teardown(test_concurrent_writers_on_different_keys, setup, teardown, \
                                                 prestate),                                                  \
        cmocka_unit_test_prestate_setup_teardown(test_invalid_keys_are_refused, setup, teardown, prestate)

int main(void)
{
    const struct CMUnitTest fs_tests[] = {CASES(&fs_backend)};
    const struct CMUnitTest s3_tests[] = {
        CASES(&s3_backend),
        cmocka_unit_test_prestate_setup_teardown(test_s3_wrong_secret_fails_the_probe_clearly, setup,
                                                 teardown, &s3_backend),
        cmocka_unit_test_prestate_setup_teardown(test_s3_unreachable_store_is_unavailable, setup, teardown,
                                                 &s3_backend),
        cmocka_unit_test_prestate_setup_teardown(test_s3_open_refuses_bad_options, setup, teardown,
                                                 &s3_backend),
        cmocka_unit_test_prestate_setup_teardown(test_s3_virtual_host_addressing, setup, teardown,
                                                 &s3_backend),
    };
    int failed = cmocka_run_group_tests_name("fs", fs_tests, NULL, NULL);

    if (!s3_configured()) {
        printf("S3 cases skipped: set COFFER_TEST_S3_ENDPOINT, _BUCKET, _ACCESS_KEY and _SECRET_KEY "
               "(tests/integration/test_s3.sh does, with a throw-away Ceph RGW)\n");
        return failed;
    }
    failed += cmocka_run_group_tests_name("s3", s3_tests, NULL, NULL);
    return failed;
}
