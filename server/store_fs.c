/* The filesystem backend of the store: see store.h for the layout.
 *
 * Paths are built from the absolute root each time rather than through
 * directory descriptors held open, so that a file system mounted on the
 * storage directory after start-up (or remounted) is the one written to. */
#include "common/fdio.h"
#include "common/log.h"
#include "server/store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define KEY_MAX 128
/* What the layout adds to the root: "/objects/xx/" + key, "/tmp/" + key + ".part",
 * or the probe's file, with room to spare. Checked once when the store opens. */
#define PATH_EXTRA 192
/* [0-9A-Za-z._-]; a fan-out name has one or two of them. */
#define KEY_CHARS    65
#define FANOUT_SLOTS (KEY_CHARS * (KEY_CHARS + 1))

struct fs_store {
    struct cf_store base;
    char *root; /* absolute, owned */
    pthread_mutex_t lock;
    unsigned long probe_count;        /* under lock */
    bool fanout_synced[FANOUT_SLOTS]; /* under lock: entry in objects/ made durable by this process */
};

struct fs_writer {
    struct cf_store_writer base;
    int fd;
    bool failed;
    char key[KEY_MAX + 1];
    char part[PATH_MAX];
};

struct fs_reader {
    struct cf_store_reader base;
    int fd;
    uint64_t size;
    char path[PATH_MAX];
};

/* "<what> <path>: <errno text>" */
static cf_code fail_errno(struct cf_error *err, cf_code code, int errnum, const char *what, const char *path)
{
    char text[128];

    return cf_fail(err, code, "%s %s: %s", what, path, cf_errno_text(errnum, text, sizeof(text)));
}

static void warn_errno(int errnum, const char *what, const char *path)
{
    char text[128];

    cf_log(CF_LOG_WARN, "storage: %s %s: %s", what, path, cf_errno_text(errnum, text, sizeof(text)));
}

/* The first two characters of the key (one for a one-character key). A dot
 * becomes '_' so that no key can make the directory "." or "..". */
static void fanout_name(const char *key, char name[3])
{
    size_t i;

    for (i = 0; i < 2 && key[i] != '\0'; i++)
        name[i] = key[i] == '.' ? '_' : key[i];
    name[i] = '\0';
}

static int key_char_index(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'Z')
        return 10 + (c - 'A');
    if (c >= 'a' && c <= 'z')
        return 36 + (c - 'a');
    if (c == '.')
        return 62;
    if (c == '_')
        return 63;
    if (c == '-')
        return 64;
    return -1;
}

/* The fan-out directory's index in fanout_synced, -1 for none. */
static int fanout_slot(const char name[3])
{
    int first = key_char_index(name[0]);
    int second = name[1] == '\0' ? KEY_CHARS : key_char_index(name[1]);

    if (first < 0 || second < 0)
        return -1;
    return first * (KEY_CHARS + 1) + second;
}

/* The root's length was checked when the store opened, so none of these
 * truncates. */
static void part_path(const struct fs_store *s, const char *key, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s/tmp/%s.part", s->root, key);
}

static void fanout_path(const struct fs_store *s, const char *key, char *buf, size_t cap)
{
    char name[3];

    fanout_name(key, name);
    snprintf(buf, cap, "%s/objects/%s", s->root, name);
}

static void object_path(const struct fs_store *s, const char *key, char *buf, size_t cap)
{
    char name[3];

    fanout_name(key, name);
    snprintf(buf, cap, "%s/objects/%s/%s", s->root, name, key);
}

/* The number of bytes read (fewer than cap only at the end), or -1 with errno set. */
static ssize_t read_full(int fd, void *buf, size_t cap)
{
    char *p = buf;
    size_t got = 0;

    while (got < cap) {
        ssize_t n = read(fd, p + got, cap - got);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            break;
        got += (size_t)n;
    }
    return (ssize_t)got;
}

/* 0 or an errno. Some file systems cannot fsync a directory and say EINVAL;
 * there is nothing better to do on them, so that counts as done. */
static int fsync_dir(const char *path)
{
    int e = cf_fsync_dir(path);

    return e == EINVAL ? 0 : e;
}

/* Creates the fan-out directory of key when missing and makes sure its entry
 * in objects/ is durable. When mkdir says EEXIST the directory may have just
 * been created by another thread that has not yet fsync'ed objects/, or by a
 * previous run that died before doing so; so objects/ is fsync'ed once per
 * directory and process, and again whenever this process creates it. */
static cf_code ensure_fanout(struct fs_store *s, const char *key, char *path, size_t cap,
                             struct cf_error *err)
{
    char objects[PATH_MAX];
    char name[3];
    int slot;
    bool synced;
    bool created = true;
    int e;

    fanout_name(key, name);
    slot = fanout_slot(name);
    fanout_path(s, key, path, cap);
    if (mkdir(path, 0700) != 0) {
        e = errno;
        if (e != EEXIST)
            return fail_errno(err, cf_code_from_write_errno(e), e, "cannot create", path);
        created = false;
    }
    pthread_mutex_lock(&s->lock);
    synced = slot >= 0 && s->fanout_synced[slot];
    pthread_mutex_unlock(&s->lock);
    if (synced && !created)
        return CF_OK;

    snprintf(objects, sizeof(objects), "%s/objects", s->root);
    e = fsync_dir(objects);
    if (e != 0)
        return fail_errno(err, cf_code_from_write_errno(e), e, "cannot fsync", objects);
    if (slot >= 0) {
        pthread_mutex_lock(&s->lock);
        s->fanout_synced[slot] = true;
        pthread_mutex_unlock(&s->lock);
    }
    return CF_OK;
}

static cf_code fs_writer_new(struct cf_store *store, const char *key, struct cf_store_writer **out,
                             struct cf_error *err)
{
    struct fs_store *s = (struct fs_store *)store;
    struct fs_writer *w = NULL;
    cf_code rc = CF_OK;
    int e;

    w = calloc(1, sizeof(*w));
    if (w == NULL) {
        rc = cf_fail(err, CF_E_NOMEM, "out of memory for a storage writer");
        goto out;
    }
    w->base.store = store;
    w->fd = -1;
    snprintf(w->key, sizeof(w->key), "%s", key);
    part_path(s, key, w->part, sizeof(w->part));
    /* O_EXCL: a second writer for the same key must not share the file. */
    w->fd = open(w->part, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
    if (w->fd < 0) {
        e = errno;
        rc = fail_errno(err, cf_code_from_write_errno(e), e, "cannot create", w->part);
        goto out;
    }
    *out = &w->base;
    w = NULL;
out:
    free(w);
    return rc;
}

static cf_code fs_write(struct cf_store_writer *base, const void *data, size_t len, struct cf_error *err)
{
    struct fs_writer *w = (struct fs_writer *)base;
    int e;

    if (w->failed)
        return cf_fail(err, CF_E_IO, "cannot write %s: an earlier write failed", w->part);
    e = cf_write_all(w->fd, data, len);
    if (e != 0) {
        /* Part of the data may be in the file: it must never be committed. */
        w->failed = true;
        return fail_errno(err, cf_code_from_write_errno(e), e, "cannot write", w->part);
    }
    return CF_OK;
}

static cf_code fs_commit(struct cf_store_writer *base, struct cf_error *err)
{
    struct fs_writer *w = (struct fs_writer *)base;
    struct fs_store *s = (struct fs_store *)base->store;
    char fanout[PATH_MAX];
    char object[PATH_MAX];
    bool renamed = false;
    cf_code rc = CF_OK;
    int fd;
    int e;

    object_path(s, w->key, object, sizeof(object));
    if (w->failed) {
        rc = cf_fail(err, CF_E_IO, "cannot commit %s: an earlier write failed", w->part);
        goto out;
    }
    if (fsync(w->fd) != 0) {
        e = errno;
        rc = fail_errno(err, cf_code_from_write_errno(e), e, "cannot fsync", w->part);
        goto out;
    }
    fd = w->fd;
    w->fd = -1;
    /* On Linux the descriptor is gone even when close says EINTR, and the data
     * is already on disk. */
    if (close(fd) != 0 && errno != EINTR) {
        e = errno;
        rc = fail_errno(err, cf_code_from_write_errno(e), e, "cannot close", w->part);
        goto out;
    }
    rc = ensure_fanout(s, w->key, fanout, sizeof(fanout), err);
    if (rc != CF_OK)
        goto out;
    if (rename(w->part, object) != 0) {
        e = errno;
        rc = fail_errno(err, cf_code_from_write_errno(e), e, "cannot rename into", object);
        goto out;
    }
    renamed = true;
    e = fsync_dir(fanout);
    if (e != 0) {
        rc = fail_errno(err, cf_code_from_write_errno(e), e, "cannot fsync", fanout);
        goto out;
    }
out:
    if (w->fd >= 0)
        close(w->fd);
    if (rc != CF_OK) {
        /* The caller records no version for a failed commit, so the bytes must
         * go, wherever they are now. */
        const char *left = renamed ? object : w->part;

        if (unlink(left) != 0 && errno != ENOENT)
            warn_errno(errno, "cannot remove", left);
    }
    free(w);
    return rc;
}

static void fs_abort(struct cf_store_writer *base)
{
    struct fs_writer *w = (struct fs_writer *)base;

    if (w->fd >= 0)
        close(w->fd);
    if (unlink(w->part) != 0 && errno != ENOENT)
        warn_errno(errno, "cannot remove", w->part);
    free(w);
}

static cf_code fs_reader_open(struct cf_store *store, const char *key, uint64_t offset,
                              struct cf_store_reader **out, struct cf_error *err)
{
    struct fs_store *s = (struct fs_store *)store;
    struct fs_reader *r = NULL;
    struct stat st;
    cf_code rc = CF_OK;
    int e;

    r = calloc(1, sizeof(*r));
    if (r == NULL) {
        rc = cf_fail(err, CF_E_NOMEM, "out of memory for a storage reader");
        goto out;
    }
    r->base.store = store;
    object_path(s, key, r->path, sizeof(r->path));
    r->fd = open(r->path, O_RDONLY | O_CLOEXEC);
    if (r->fd < 0) {
        e = errno;
        rc = fail_errno(err, e == ENOENT ? CF_E_NOT_FOUND : CF_E_IO, e, "cannot open", r->path);
        goto out;
    }
    if (fstat(r->fd, &st) != 0) {
        e = errno;
        rc = fail_errno(err, CF_E_IO, e, "cannot stat", r->path);
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = cf_fail(err, CF_E_IO, "cannot read %s: not a regular file", r->path);
        goto out;
    }
    r->size = (uint64_t)st.st_size;
    if (offset > r->size) {
        rc = cf_fail(err, CF_E_RANGE_NOT_SATISFIABLE, "offset %llu is past the end of %s (%llu bytes)",
                     (unsigned long long)offset, r->path, (unsigned long long)r->size);
        goto out;
    }
    /* offset <= st_size, so it fits in off_t. */
    if (offset > 0 && lseek(r->fd, (off_t)offset, SEEK_SET) < 0) {
        e = errno;
        rc = fail_errno(err, CF_E_IO, e, "cannot seek in", r->path);
        goto out;
    }
    *out = &r->base;
    r = NULL;
out:
    if (r != NULL && r->fd >= 0)
        close(r->fd);
    free(r);
    return rc;
}

static ssize_t fs_read(struct cf_store_reader *base, void *buf, size_t cap, struct cf_error *err)
{
    struct fs_reader *r = (struct fs_reader *)base;
    ssize_t n;

    if (cap > SSIZE_MAX)
        cap = SSIZE_MAX;
    do {
        n = read(r->fd, buf, cap);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        fail_errno(err, CF_E_IO, errno, "cannot read", r->path);
        return -1;
    }
    return n;
}

static int fs_reader_fd(struct cf_store_reader *base)
{
    return ((struct fs_reader *)base)->fd;
}

static uint64_t fs_reader_size(struct cf_store_reader *base)
{
    return ((struct fs_reader *)base)->size;
}

static void fs_reader_free(struct cf_store_reader *base)
{
    struct fs_reader *r = (struct fs_reader *)base;

    if (r->fd >= 0)
        close(r->fd);
    free(r);
}

/* CF_OK when path is gone, whether or not it was there. */
static cf_code remove_path(const char *path, struct cf_error *err)
{
    int e;

    if (unlink(path) == 0)
        return CF_OK;
    e = errno;
    if (e == ENOENT)
        return CF_OK;
    return fail_errno(err, CF_E_IO, e, "cannot remove", path);
}

static cf_code fs_remove(struct cf_store *store, const char *key, struct cf_error *err)
{
    char path[PATH_MAX];

    object_path((struct fs_store *)store, key, path, sizeof(path));
    return remove_path(path, err);
}

static cf_code fs_remove_pending(struct cf_store *store, const char *key, struct cf_error *err)
{
    char part[PATH_MAX];
    char object[PATH_MAX];
    cf_code rc;

    part_path((struct fs_store *)store, key, part, sizeof(part));
    object_path((struct fs_store *)store, key, object, sizeof(object));
    rc = remove_path(part, err);
    /* Both go even when the first cannot; the first failure is the one reported. */
    if (rc == CF_OK)
        return remove_path(object, err);
    remove_path(object, NULL);
    return rc;
}

static cf_code fs_probe(struct cf_store *store, struct cf_error *err)
{
    struct fs_store *s = (struct fs_store *)store;
    char path[PATH_MAX];
    char objects[PATH_MAX];
    char text[80];
    char back[sizeof(text)];
    unsigned long count;
    bool created = false;
    cf_code rc = CF_OK;
    ssize_t got;
    size_t len;
    int fd = -1;
    int e;

    pthread_mutex_lock(&s->lock);
    count = ++s->probe_count;
    pthread_mutex_unlock(&s->lock);
    snprintf(path, sizeof(path), "%s/tmp/probe-%ld-%lu", s->root, (long)getpid(), count);
    len = (size_t)snprintf(text, sizeof(text), "coffer storage probe %ld %lu\n", (long)getpid(), count);

    /* Committed objects live in objects/: a store that cannot take them is not healthy
     * even when tmp/ is fine. */
    snprintf(objects, sizeof(objects), "%s/objects", s->root);
    if (faccessat(AT_FDCWD, objects, W_OK | X_OK, AT_EACCESS) != 0) {
        e = errno;
        rc = fail_errno(err, CF_E_STORAGE_UNAVAILABLE, e, "cannot write to", objects);
        goto out;
    }
    fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
    if (fd < 0) {
        e = errno;
        rc = fail_errno(err, CF_E_STORAGE_UNAVAILABLE, e, "cannot create", path);
        goto out;
    }
    created = true;
    e = cf_write_all(fd, text, len);
    if (e == 0 && fsync(fd) != 0)
        e = errno;
    if (e != 0) {
        rc = fail_errno(err, CF_E_STORAGE_UNAVAILABLE, e, "cannot write", path);
        goto out;
    }
    e = close(fd) != 0 && errno != EINTR ? errno : 0;
    fd = -1;
    if (e != 0) {
        rc = fail_errno(err, CF_E_STORAGE_UNAVAILABLE, e, "cannot close", path);
        goto out;
    }
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        e = errno;
        rc = fail_errno(err, CF_E_STORAGE_UNAVAILABLE, e, "cannot open", path);
        goto out;
    }
    got = read_full(fd, back, sizeof(back));
    if (got < 0) {
        e = errno;
        rc = fail_errno(err, CF_E_STORAGE_UNAVAILABLE, e, "cannot read", path);
        goto out;
    }
    if ((size_t)got != len || memcmp(back, text, len) != 0) {
        rc = cf_fail(err, CF_E_STORAGE_UNAVAILABLE,
                     "cannot read back %s: the bytes differ from those written", path);
        goto out;
    }
    if (unlink(path) != 0) {
        e = errno;
        rc = fail_errno(err, CF_E_STORAGE_UNAVAILABLE, e, "cannot remove", path);
        goto out;
    }
    created = false;
out:
    if (fd >= 0)
        close(fd);
    if (created && unlink(path) != 0 && errno != ENOENT)
        warn_errno(errno, "cannot remove", path);
    return rc;
}

/* Part files in tmp/ whose writer is gone: the pending_uploads row that
 * pointed at them went, but the unlink did not happen (the process died
 * between the two, or the unlink failed). Their age is their last write. */
static cf_code fs_sweep(struct cf_store *store, int64_t older_than, cf_store_owner_fn owner, void *ctx,
                        int *removed, struct cf_error *err)
{
    struct fs_store *s = (struct fs_store *)store;
    char dir[PATH_MAX];
    time_t cutoff = time(NULL) - (time_t)older_than;
    struct dirent *entry;
    DIR *d;

    snprintf(dir, sizeof(dir), "%s/tmp", s->root);
    d = opendir(dir);
    if (d == NULL)
        return fail_errno(err, CF_E_IO, errno, "cannot list", dir);
    while ((entry = readdir(d)) != NULL) {
        char key[KEY_MAX + 1];
        char path[PATH_MAX];
        size_t len = strlen(entry->d_name);
        struct stat st;

        if (len <= 5 || len - 5 > KEY_MAX || strcmp(entry->d_name + len - 5, ".part") != 0)
            continue;
        snprintf(key, sizeof(key), "%.*s", (int)(len - 5), entry->d_name);
        if (!cf_store_key_valid(key))
            continue;
        if (fstatat(dirfd(d), entry->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode) ||
            st.st_mtime >= cutoff)
            continue;
        if (owner(ctx, key) != 0)
            continue;
        part_path(s, key, path, sizeof(path));
        if (unlink(path) != 0 && errno != ENOENT) {
            warn_errno(errno, "cannot remove", path);
            continue;
        }
        cf_log(CF_LOG_INFO, "clean-up: removed %s, a stale part file that nothing owned", path);
        (*removed)++;
    }
    closedir(d);
    return CF_OK;
}

static void fs_free(struct cf_store *store)
{
    struct fs_store *s = (struct fs_store *)store;

    pthread_mutex_destroy(&s->lock);
    free(s->root);
    free(s);
}

static const struct cf_store_ops fs_ops = {
    .name = "fs",
    .writer_new = fs_writer_new,
    .write = fs_write,
    .commit = fs_commit,
    .abort = fs_abort,
    .reader_open = fs_reader_open,
    .read = fs_read,
    .reader_fd = fs_reader_fd,
    .reader_size = fs_reader_size,
    .reader_free = fs_reader_free,
    .remove = fs_remove,
    .remove_pending = fs_remove_pending,
    .probe = fs_probe,
    .sweep = fs_sweep,
    .free = fs_free,
};

/* Creates path as a directory when missing (*created says whether it did) and
 * checks that it is one this process can write in. */
static cf_code make_dir(const char *path, bool *created, struct cf_error *err)
{
    struct stat st;
    int e;

    *created = false;
    if (mkdir(path, 0700) == 0) {
        *created = true;
    } else {
        e = errno;
        if (e != EEXIST)
            return fail_errno(err, CF_E_STORAGE_UNAVAILABLE, e, "cannot create storage directory", path);
    }
    if (stat(path, &st) != 0) {
        e = errno;
        return fail_errno(err, CF_E_STORAGE_UNAVAILABLE, e, "cannot stat storage directory", path);
    }
    if (!S_ISDIR(st.st_mode))
        return cf_fail(err, CF_E_STORAGE_UNAVAILABLE, "storage path %s is not a directory", path);
    /* AT_EACCESS: the effective ids are the ones that will write. A read-only
     * mount says EROFS even to root. */
    if (faccessat(AT_FDCWD, path, W_OK | X_OK, AT_EACCESS) != 0) {
        e = errno;
        return fail_errno(err, CF_E_STORAGE_UNAVAILABLE, e, "cannot write to storage directory", path);
    }
    return CF_OK;
}

/* The directory that holds path, an absolute path other than "/". */
static void parent_path(const char *path, char *buf, size_t cap)
{
    const char *slash = strrchr(path, '/');
    int len = slash == path ? 1 : (int)(slash - path);

    snprintf(buf, cap, "%.*s", len, path);
}

cf_code cf_store_fs_open(const char *dir, struct cf_store **out, struct cf_error *err)
{
    struct fs_store *s = NULL;
    char sub[PATH_MAX];
    char parent[PATH_MAX];
    bool created_root = false;
    bool created_objects = false;
    bool created_tmp = false;
    cf_code rc = CF_OK;
    int e;

    *out = NULL;
    rc = make_dir(dir, &created_root, err);
    if (rc != CF_OK)
        goto out;
    s = calloc(1, sizeof(*s));
    if (s == NULL) {
        rc = cf_fail(err, CF_E_NOMEM, "out of memory for the storage");
        goto out;
    }
    s->base.ops = &fs_ops;
    pthread_mutex_init(&s->lock, NULL);
    /* Absolute, so that a later chdir (daemonising) changes nothing. */
    s->root = realpath(dir, NULL);
    if (s->root == NULL) {
        e = errno;
        rc = fail_errno(err, CF_E_STORAGE_UNAVAILABLE, e, "cannot resolve storage directory", dir);
        goto out;
    }
    if (strlen(s->root) + PATH_EXTRA >= PATH_MAX) {
        rc = cf_fail(err, CF_E_STORAGE_UNAVAILABLE, "storage directory %s: path too long", s->root);
        goto out;
    }
    snprintf(sub, sizeof(sub), "%s/objects", s->root);
    rc = make_dir(sub, &created_objects, err);
    if (rc != CF_OK)
        goto out;
    snprintf(sub, sizeof(sub), "%s/tmp", s->root);
    rc = make_dir(sub, &created_tmp, err);
    if (rc != CF_OK)
        goto out;

    /* A committed object is durable only when every directory above it is. */
    if (created_root && strcmp(s->root, "/") != 0) {
        parent_path(s->root, parent, sizeof(parent));
        e = fsync_dir(parent);
        if (e != 0) {
            rc = fail_errno(err, CF_E_STORAGE_UNAVAILABLE, e, "cannot fsync", parent);
            goto out;
        }
    }
    if (created_objects || created_tmp) {
        e = fsync_dir(s->root);
        if (e != 0) {
            rc = fail_errno(err, CF_E_STORAGE_UNAVAILABLE, e, "cannot fsync", s->root);
            goto out;
        }
    }
    *out = &s->base;
    s = NULL;
out:
    if (s != NULL)
        fs_free(&s->base);
    return rc;
}
