/* The storage interface: where the compressed bytes of versions live.
 *
 * An object is written through a writer, invisible until cf_store_commit makes
 * it durable under its key; cf_store_abort leaves nothing behind. Readers read
 * a committed object, whole or from an offset. Handlers and services see only
 * this interface: a backend (store_fs.c, store_s3.c) fills in cf_store_ops.
 *
 * Keys are opaque ASCII strings of [A-Za-z0-9._-], 1 to 128 bytes, neither "."
 * nor ".."; the functions below refuse any other key with CF_E_INTERNAL (it is
 * a bug in the caller) before the backend sees it.
 *
 * A store may be used from many threads at once; a writer or a reader belongs
 * to one thread at a time. One key has at most one writer at a time. Running
 * out of memory is CF_E_NOMEM wherever a failure is possible. */
#ifndef COFFER_SERVER_STORE_H
#define COFFER_SERVER_STORE_H

#include "common/error.h"
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct cf_store;
struct cf_store_writer;
struct cf_store_reader;

/* For cf_store_sweep: 1 when something (a pending upload) still owns key's
 * uncommitted leftovers, 0 when nothing does, -1 when that cannot be told now
 * (the leftover is then kept). */
typedef int (*cf_store_owner_fn)(void *ctx, const char *key);

struct cf_store_ops {
    const char *name;
    cf_code (*writer_new)(struct cf_store *store, const char *key, struct cf_store_writer **out,
                          struct cf_error *err);
    cf_code (*write)(struct cf_store_writer *w, const void *data, size_t len, struct cf_error *err);
    cf_code (*commit)(struct cf_store_writer *w, struct cf_error *err);
    void (*abort)(struct cf_store_writer *w);
    cf_code (*reader_open)(struct cf_store *store, const char *key, uint64_t offset,
                           struct cf_store_reader **out, struct cf_error *err);
    ssize_t (*read)(struct cf_store_reader *r, void *buf, size_t cap, struct cf_error *err);
    int (*reader_fd)(struct cf_store_reader *r);
    uint64_t (*reader_size)(struct cf_store_reader *r);
    void (*reader_free)(struct cf_store_reader *r);
    cf_code (*remove)(struct cf_store *store, const char *key, struct cf_error *err);
    cf_code (*remove_pending)(struct cf_store *store, const char *key, struct cf_error *err);
    cf_code (*probe)(struct cf_store *store, struct cf_error *err);
    cf_code (*sweep)(struct cf_store *store, int64_t older_than, cf_store_owner_fn owner, void *ctx,
                     int *removed, struct cf_error *err);
    void (*free)(struct cf_store *store);
};

struct cf_store {
    const struct cf_store_ops *ops;
};

/* A backend embeds these as the first member of its own writer and reader (as
 * it embeds struct cf_store) so that the functions below find the ops; callers
 * treat them as opaque. */
struct cf_store_writer {
    struct cf_store *store;
};

struct cf_store_reader {
    struct cf_store *store;
};

/* The filesystem backend rooted at dir (created when missing, its parent must
 * exist, with objects/ and tmp/ inside, mode 0700). A committed object is
 * objects/<first two characters of its key, dots made '_'>/<key>; one being
 * written is tmp/<key>.part. CF_E_STORAGE_UNAVAILABLE when dir cannot be
 * created or is not writable. Caller frees with cf_store_free. */
cf_code cf_store_fs_open(const char *dir, struct cf_store **out, struct cf_error *err);

/* The settings of the S3 backend; every pointer is borrowed by
 * cf_store_s3_open, which copies what it keeps. */
struct cf_s3_options {
    const char *endpoint; /* "http(s)://host[:port]", nothing after it */
    const char *bucket;   /* must exist */
    const char *region;   /* signed into every request */
    const char *access_key;
    const char *secret_key; /* the secret itself; never logged */
    bool virtual_host;      /* https://bucket.host/key rather than https://host/bucket/key */
    const char *prefix;     /* put before every key; "" or NULL for none */
    uint64_t part_size;     /* bytes per multipart part and most bytes a writer buffers */
    bool tls_verify;        /* check the endpoint's certificate and name */
    const char *ca_file;    /* CA bundle for that check; "" or NULL for the system's */
    int timeout;            /* seconds to connect, and without progress in a request */
};

/* The S3 backend: objects are <prefix><key> in the bucket. A writer buffers up
 * to part_size bytes in memory; an object smaller than one part goes up with
 * one PUT at commit, a larger one as a multipart upload (created when the
 * first part is full, one part per part_size bytes, completed at commit and
 * aborted on abort or any failure), so a writer never holds more than one
 * part. A reader fetches bounded ranges in turn (cf_store_reader_fd is -1).
 * Requests that meet a connection error or a 5xx are retried with back-off.
 *
 * Limits: at most 10000 parts, so an object may have 10000 * part_size bytes;
 * a second writer for one key is not detected (keys are fresh UUIDs).
 *
 * CF_E_VALIDATION when an option is unusable (endpoint, bucket name, prefix,
 * part_size outside 5 MiB..1 GiB). The store is usable even when the S3
 * service cannot be reached at open: that shows in cf_store_probe. Caller
 * frees with cf_store_free. */
cf_code cf_store_s3_open(const struct cf_s3_options *opt, struct cf_store **out, struct cf_error *err);

/* Whether key is a storage key as defined above; backends use it on names
 * they list. */
bool cf_store_key_valid(const char *key);

/* NULL is a no-op. Every writer and reader must be gone before. */
void cf_store_free(struct cf_store *store);

/* Starts a new object; caller ends it with cf_store_commit or cf_store_abort.
 * Writes go to a temporary place until commit. A full disk is
 * CF_E_STORAGE_FULL, other failures (a writer for key already open among them)
 * CF_E_IO. */
cf_code cf_store_writer_new(struct cf_store *store, const char *key, struct cf_store_writer **out,
                            struct cf_error *err);
/* A full disk is CF_E_STORAGE_FULL, other failures CF_E_IO. After a failure the
 * writer can only be aborted (a commit would fail). */
cf_code cf_store_write(struct cf_store_writer *w, const void *data, size_t len, struct cf_error *err);
/* Makes the object durable and visible under its key (fs: fsync, rename, fsync
 * of the directory); an object already under key is replaced. Frees the writer
 * whatever the outcome; on failure nothing is left behind. A full disk is
 * CF_E_STORAGE_FULL, other failures CF_E_IO. */
cf_code cf_store_commit(struct cf_store_writer *w, struct cf_error *err);
/* Drops the object being written and frees the writer. NULL is a no-op. */
void cf_store_abort(struct cf_store_writer *w);

/* Opens a committed object at byte offset (at most its size). CF_E_NOT_FOUND
 * when it is missing, CF_E_RANGE_NOT_SATISFIABLE when offset is past its end,
 * CF_E_IO for other failures. Caller frees with cf_store_reader_free. */
cf_code cf_store_reader_open(struct cf_store *store, const char *key, uint64_t offset,
                             struct cf_store_reader **out, struct cf_error *err);
/* Up to cap bytes; 0 at the end; -1 on error (CF_E_IO). */
ssize_t cf_store_read(struct cf_store_reader *r, void *buf, size_t cap, struct cf_error *err);
/* A file descriptor positioned at the reader's offset that may be handed to
 * sendfile, or -1 when the backend has none. Still owned by the reader. */
int cf_store_reader_fd(struct cf_store_reader *r);
/* The whole object's size in bytes. */
uint64_t cf_store_reader_size(struct cf_store_reader *r);
/* NULL is a no-op. */
void cf_store_reader_free(struct cf_store_reader *r);

/* Removes a committed object; a missing one is not an error, other failures
 * are CF_E_IO. */
cf_code cf_store_remove(struct cf_store *store, const char *key, struct cf_error *err);
/* Removes whatever an interrupted writer for key left behind, committed or not:
 * the clean-up pass calls it for uploads whose server died. Nothing left is not
 * an error, other failures are CF_E_IO. */
cf_code cf_store_remove_pending(struct cf_store *store, const char *key, struct cf_error *err);
/* Writes, reads back and removes a small object: the health check.
 * CF_E_STORAGE_UNAVAILABLE when any step fails. */
cf_code cf_store_probe(struct cf_store *store, struct cf_error *err);
/* Removes the uncommitted leftovers of writers (fs: tmp/<key>.part files; S3:
 * multipart uploads under the prefix) started more than older_than seconds
 * ago whose key owner says nothing owns. A committed object is never touched.
 * *removed counts what went. The clean-up pass calls it for leftovers that no
 * pending_uploads row points at any more (the row went but the abort failed).
 * Failures to remove one leftover are logged and skipped; a failure to list
 * is CF_E_IO or CF_E_STORAGE_UNAVAILABLE. */
cf_code cf_store_sweep(struct cf_store *store, int64_t older_than, cf_store_owner_fn owner, void *ctx,
                       int *removed, struct cf_error *err);

#endif
