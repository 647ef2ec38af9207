#include "client/spool.h"

#include "client/config.h"
#include "client/interrupt.h"
#include "common/fdio.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* "20261123T100000.123456789Z": fixed width, so names sort by time. */
#define STAMP_LEN 26

static void stamp_format(char out[STAMP_LEN + 1], const struct timespec *when)
{
    struct tm tm;
    char date[24];

    gmtime_r(&when->tv_sec, &tm);
    strftime(date, sizeof(date), "%Y%m%dT%H%M%S", &tm);
    snprintf(out, STAMP_LEN + 1, "%.15s.%09ldZ", date, when->tv_nsec);
}

static bool digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return false;
    }
    return true;
}

static int number(const char *s, size_t n)
{
    int value = 0;

    for (size_t i = 0; i < n; i++)
        value = value * 10 + (s[i] - '0');
    return value;
}

static bool stamp_parse(const char *s, int64_t *out)
{
    struct tm tm;
    time_t t;

    if (!digits(s, 8) || s[8] != 'T' || !digits(s + 9, 6) || s[15] != '.' || !digits(s + 16, 9) ||
        s[25] != 'Z')
        return false;
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = number(s, 4) - 1900;
    tm.tm_mon = number(s + 4, 2) - 1;
    tm.tm_mday = number(s + 6, 2);
    tm.tm_hour = number(s + 9, 2);
    tm.tm_min = number(s + 11, 2);
    tm.tm_sec = number(s + 13, 2);
    if (tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
        tm.tm_min > 59 || tm.tm_sec > 60)
        return false;
    t = timegm(&tm);
    if (t == (time_t)-1)
        return false;
    *out = (int64_t)t;
    return true;
}

bool cf_spool_entry_name(char *out, size_t out_len, const struct timespec *when, pid_t pid,
                         const char *collection, const char *sha256)
{
    char stamp[STAMP_LEN + 1];
    int n;

    stamp_format(stamp, when);
    n = snprintf(out, out_len, "%s_%ld_%s_%s%s", stamp, (long)pid, collection, sha256, CF_SPOOL_SUFFIX);
    return n > 0 && (size_t)n < out_len;
}

bool cf_spool_entry_parse(const char *name, struct cf_spool_entry *out)
{
    size_t len = strlen(name), suffix = strlen(CF_SPOOL_SUFFIX);
    const char *pid, *collection, *sha, *end;
    size_t collection_len;

    memset(out, 0, sizeof(*out));
    if (len >= sizeof(out->name) || len < STAMP_LEN + suffix ||
        strcmp(name + len - suffix, CF_SPOOL_SUFFIX) != 0)
        return false;
    end = name + len - suffix;
    if (!stamp_parse(name, &out->created) || name[STAMP_LEN] != '_')
        return false;
    pid = name + STAMP_LEN + 1;
    collection = strchr(pid, '_');
    if (collection == NULL || collection == pid || !digits(pid, (size_t)(collection - pid)))
        return false;
    collection++;
    sha = strchr(collection, '_');
    if (sha == NULL)
        return false;
    collection_len = (size_t)(sha - collection);
    sha++;
    if (collection_len == 0 || collection_len >= sizeof(out->collection) || end - sha != CF_SHA256_HEX_LEN)
        return false;
    memcpy(out->collection, collection, collection_len);
    out->collection[collection_len] = '\0';
    memcpy(out->sha256, sha, CF_SHA256_HEX_LEN);
    out->sha256[CF_SHA256_HEX_LEN] = '\0';
    if (!cf_id_valid(out->collection) || !cf_sha256_hex_valid(out->sha256))
        return false;
    memcpy(out->name, name, len + 1);
    return true;
}

void cf_spool_path(char *out, size_t out_len, const char *dir, const struct cf_spool_entry *entry)
{
    snprintf(out, out_len, "%s/%s", dir, entry->name);
}

static int entry_order(const void *a, const void *b)
{
    return strcmp(((const struct cf_spool_entry *)a)->name, ((const struct cf_spool_entry *)b)->name);
}

cf_code cf_spool_list(const char *dir, const char *collection, struct cf_spool_entry **out, size_t *count,
                      struct cf_error *err)
{
    struct cf_spool_entry *list = NULL, entry;
    size_t n = 0, cap = 0;
    struct dirent *de;
    DIR *d;
    cf_code code = CF_OK;

    *out = NULL;
    *count = 0;
    d = opendir(dir);
    if (d == NULL) {
        if (errno == ENOENT)
            return CF_OK;
        return cf_fail(err, CF_E_IO, "cannot read the spool %s: %s", dir, strerror(errno));
    }
    while ((de = readdir(d)) != NULL) {
        char path[4096 + CF_SPOOL_NAME_MAX];
        struct stat st;

        if (!cf_spool_entry_parse(de->d_name, &entry))
            continue;
        if (collection != NULL && strcmp(entry.collection, collection) != 0)
            continue;
        cf_spool_path(path, sizeof(path), dir, &entry);
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        entry.size = (uint64_t)st.st_size;
        if (n == cap) {
            size_t grown_cap = cap == 0 ? 16 : cap * 2;
            struct cf_spool_entry *grown = realloc(list, grown_cap * sizeof(*grown));
            if (grown == NULL) {
                code = cf_fail(err, CF_E_NOMEM, "out of memory");
                break;
            }
            list = grown;
            cap = grown_cap;
        }
        list[n++] = entry;
    }
    closedir(d);
    if (code != CF_OK) {
        free(list);
        return code;
    }
    if (n > 1)
        qsort(list, n, sizeof(*list), entry_order);
    *out = list;
    *count = n;
    return CF_OK;
}

static cf_code sync_dir(const char *dir, struct cf_error *err)
{
    int e = cf_fsync_dir(dir);

    return e == 0 ? CF_OK : cf_fail(err, CF_E_IO, "cannot sync the spool %s: %s", dir, strerror(e));
}

static void mark_path(char *out, size_t out_len, const char *dir, const struct cf_spool_entry *entry)
{
    snprintf(out, out_len, "%s/.%s.tried", dir, entry->name);
}

cf_code cf_spool_mark_attempt(const char *dir, const struct cf_spool_entry *entry, struct cf_error *err)
{
    char path[4096 + CF_SPOOL_NAME_MAX + 16];
    int fd;

    mark_path(path, sizeof(path), dir, entry);
    fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return cf_fail(err, CF_E_IO, "cannot create %s: %s", path, strerror(errno));
    close(fd);
    return sync_dir(dir, err);
}

bool cf_spool_attempted(const char *dir, const struct cf_spool_entry *entry)
{
    char path[4096 + CF_SPOOL_NAME_MAX + 16];

    mark_path(path, sizeof(path), dir, entry);
    return access(path, F_OK) == 0;
}

cf_code cf_spool_remove(const char *dir, const struct cf_spool_entry *entry, struct cf_error *err)
{
    char path[4096 + CF_SPOOL_NAME_MAX + 16];

    cf_spool_path(path, sizeof(path), dir, entry);
    if (unlink(path) != 0 && errno != ENOENT)
        return cf_fail(err, CF_E_IO, "cannot delete %s: %s", path, strerror(errno));
    /* The mark goes after the entry: a mark without its entry is harmless,
     * an entry without its mark could be uploaded twice. */
    mark_path(path, sizeof(path), dir, entry);
    unlink(path);
    return sync_dir(dir, err);
}

cf_code cf_spool_begin(struct cf_spool_writer *w, const char *dir, const char *collection,
                       struct cf_error *err)
{
    char stamp[STAMP_LEN + 1];
    char path[4096 + CF_SPOOL_NAME_MAX];

    memset(w, 0, sizeof(*w));
    w->fd = -1;
    if (strlen(dir) >= sizeof(w->dir))
        return cf_fail(err, CF_E_IO, "the spool path %s is too long", dir);
    snprintf(w->dir, sizeof(w->dir), "%s", dir);
    snprintf(w->collection, sizeof(w->collection), "%s", collection);
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return cf_fail(err, CF_E_IO, "cannot create the spool %s: %s", dir, strerror(errno));
    clock_gettime(CLOCK_REALTIME, &w->started);
    stamp_format(stamp, &w->started);
    snprintf(w->temp, sizeof(w->temp), ".%s_%ld_%s.part", stamp, (long)getpid(), collection);
    snprintf(path, sizeof(path), "%s/%s", dir, w->temp);
    w->hash = cf_sha256_new();
    if (w->hash == NULL)
        return cf_fail(err, CF_E_NOMEM, "out of memory");
    w->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (w->fd < 0)
        return cf_fail(err, CF_E_IO, "cannot create %s: %s", path, strerror(errno));
    return CF_OK;
}

cf_code cf_spool_sink(void *ctx, const void *data, size_t len, struct cf_error *err)
{
    struct cf_spool_writer *w = ctx;
    const char *p = data;

    cf_sha256_update(w->hash, data, len);
    w->size += len;
    while (len > 0) {
        ssize_t put = write(w->fd, p, len);
        if (put < 0 && errno == EINTR)
            continue;
        if (put < 0)
            return cf_fail(err, CF_E_IO, "cannot write to the spool %s: %s", w->dir, strerror(errno));
        p += put;
        len -= (size_t)put;
    }
    return CF_OK;
}

cf_code cf_spool_commit(struct cf_spool_writer *w, struct cf_spool_entry *out, struct cf_error *err)
{
    char sha256[CF_SHA256_HEX_LEN + 1], name[CF_SPOOL_NAME_MAX];
    char from[4096 + CF_SPOOL_NAME_MAX], to[4096 + CF_SPOOL_NAME_MAX];

    if (fsync(w->fd) != 0)
        return cf_fail(err, CF_E_IO, "cannot sync %s/%s: %s", w->dir, w->temp, strerror(errno));
    if (close(w->fd) != 0) {
        w->fd = -1;
        return cf_fail(err, CF_E_IO, "cannot write %s/%s: %s", w->dir, w->temp, strerror(errno));
    }
    w->fd = -1;
    cf_sha256_final_hex(w->hash, sha256);
    cf_sha256_free(w->hash);
    w->hash = NULL;
    if (!cf_spool_entry_name(name, sizeof(name), &w->started, getpid(), w->collection, sha256))
        return cf_fail(err, CF_E_IO, "the spool entry name for %s is too long", w->collection);
    snprintf(from, sizeof(from), "%s/%s", w->dir, w->temp);
    snprintf(to, sizeof(to), "%s/%s", w->dir, name);
    if (rename(from, to) != 0)
        return cf_fail(err, CF_E_IO, "cannot rename %s to %s: %s", from, to, strerror(errno));
    w->temp[0] = '\0';
    if (!cf_spool_entry_parse(name, out))
        return cf_fail(err, CF_E_INTERNAL, "spool entry name %s does not parse", name);
    out->size = w->size;
    return sync_dir(w->dir, err);
}

void cf_spool_abandon(struct cf_spool_writer *w)
{
    char path[4096 + CF_SPOOL_NAME_MAX];

    if (w->fd >= 0)
        close(w->fd);
    w->fd = -1;
    if (w->temp[0] != '\0') {
        snprintf(path, sizeof(path), "%s/%s", w->dir, w->temp);
        unlink(path);
        w->temp[0] = '\0';
    }
    cf_sha256_free(w->hash);
    w->hash = NULL;
}

/* The pid in ".<stamp>_<pid>_<collection>.part", or 0. */
static long part_pid(const char *name)
{
    size_t len = strlen(name);
    const char *p;
    long pid = 0;

    if (name[0] != '.' || len < STAMP_LEN + 8 || strcmp(name + len - 5, ".part") != 0 ||
        name[1 + STAMP_LEN] != '_')
        return 0;
    for (p = name + 2 + STAMP_LEN; isdigit((unsigned char)*p) && pid < 100000000; p++)
        pid = pid * 10 + (*p - '0');
    return *p == '_' ? pid : 0;
}

int cf_spool_sweep(const char *dir)
{
    struct dirent *de;
    DIR *d = opendir(dir);
    int removed = 0;

    if (d == NULL)
        return 0;
    while ((de = readdir(d)) != NULL) {
        char path[4096 + CF_SPOOL_NAME_MAX + 16];
        size_t len = strlen(de->d_name);
        long pid = part_pid(de->d_name);
        bool stale = false;

        /* kill(pid, 0) fails with ESRCH only when no such process exists: a
         * reused pid keeps a dead writer's file until that process is gone too. */
        if (pid > 0 && kill((pid_t)pid, 0) != 0 && errno == ESRCH)
            stale = true;
        if (de->d_name[0] == '.' && len > 7 + strlen(CF_SPOOL_SUFFIX) &&
            strcmp(de->d_name + len - 6, ".tried") == 0) {
            struct cf_spool_entry entry;
            char name[CF_SPOOL_NAME_MAX];

            snprintf(name, sizeof(name), "%.*s", (int)(len - 7), de->d_name + 1);
            snprintf(path, sizeof(path), "%s/%s", dir, name);
            stale = cf_spool_entry_parse(name, &entry) && access(path, F_OK) != 0 && errno == ENOENT;
        }
        if (!stale)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        if (unlink(path) == 0)
            removed++;
    }
    closedir(d);
    return removed;
}

cf_code cf_spool_lock(const char *dir, int *fd, struct cf_error *err)
{
    char path[4096 + 8];

    *fd = -1;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return cf_fail(err, CF_E_IO, "cannot create the spool %s: %s", dir, strerror(errno));
    snprintf(path, sizeof(path), "%s/.lock", dir);
    *fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (*fd < 0)
        return cf_fail(err, CF_E_IO, "cannot open %s: %s", path, strerror(errno));
    while (flock(*fd, LOCK_EX) != 0) {
        if (errno != EINTR || cf_interrupted()) {
            int saved = errno;
            close(*fd);
            *fd = -1;
            return cf_fail(err, CF_E_IO, "cannot lock %s: %s", path, strerror(saved));
        }
    }
    return CF_OK;
}

void cf_spool_unlock(int fd)
{
    if (fd >= 0)
        close(fd);
}
