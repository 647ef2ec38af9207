#include "client/output.h"
#include "common/fdio.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static cf_code write_all(int fd, const void *data, size_t len, const char *what, struct cf_error *err)
{
    int e = cf_write_all(fd, data, len);

    return e == 0 ? CF_OK : cf_fail(err, CF_E_IO, "cannot write %s: %s", what, strerror(e));
}

cf_code cf_output_open(struct cf_output *out, const char *path, struct cf_error *err)
{
    const char *tmpdir = getenv("TMPDIR");
    size_t len;

    memset(out, 0, sizeof(out[0]));
    out->fd = -1;
    if (path != NULL && strcmp(path, "-") == 0) {
        out->to_stdout = true;
        out->dir = strdup(tmpdir != NULL && tmpdir[0] != '\0' ? tmpdir : "/tmp");
    } else if (path != NULL) {
        char *copy = strdup(path);
        out->dir = copy != NULL ? strdup(dirname(copy)) : NULL;
        free(copy);
    } else {
        out->dir = strdup(".");
    }
    if (out->dir == NULL)
        return cf_fail(err, CF_E_NOMEM, "out of memory");
    len = strlen(out->dir) + 32;
    out->temp = malloc(len);
    if (out->temp == NULL) {
        cf_output_abandon(out);
        return cf_fail(err, CF_E_NOMEM, "out of memory");
    }
    snprintf(out->temp, len, "%s/.coffer-part-XXXXXX", out->dir);
    out->fd = mkostemp(out->temp, O_CLOEXEC);
    if (out->fd < 0) {
        int saved = errno;
        free(out->temp);
        out->temp = NULL;
        cf_fail(err, CF_E_IO, "cannot create a file in %s: %s", out->dir, strerror(saved));
        cf_output_abandon(out);
        return CF_E_IO;
    }
    /* Nothing renames it at the end: it need not have a name at all. */
    if (out->to_stdout) {
        unlink(out->temp);
        out->unlinked = true;
    }
    return CF_OK;
}

cf_code cf_output_sink(void *ctx, const void *data, size_t len, struct cf_error *err)
{
    struct cf_output *out = ctx;

    out->size += len;
    return write_all(out->fd, data, len, out->temp, err);
}

cf_code cf_output_truncate(struct cf_output *out, struct cf_error *err)
{
    if (ftruncate(out->fd, 0) != 0 || lseek(out->fd, 0, SEEK_SET) != 0)
        return cf_fail(err, CF_E_IO, "cannot empty %s: %s", out->temp, strerror(errno));
    out->size = 0;
    return CF_OK;
}

static cf_code copy_to_stdout(struct cf_output *out, struct cf_error *err)
{
    char block[64 * 1024];
    cf_code code = CF_OK;

    if (lseek(out->fd, 0, SEEK_SET) != 0)
        return cf_fail(err, CF_E_IO, "cannot read back %s: %s", out->temp, strerror(errno));
    for (;;) {
        ssize_t got = read(out->fd, block, sizeof(block));
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return cf_fail(err, CF_E_IO, "cannot read back %s: %s", out->temp, strerror(errno));
        if (got == 0)
            break;
        code = write_all(STDOUT_FILENO, block, (size_t)got, "standard output", err);
        if (code != CF_OK)
            break;
    }
    return code;
}

static cf_code sync_dir(const char *dir, struct cf_error *err)
{
    int e = cf_fsync_dir(dir);

    return e == 0 ? CF_OK : cf_fail(err, CF_E_IO, "cannot sync %s: %s", dir, strerror(e));
}

cf_code cf_output_commit(struct cf_output *out, const char *path, bool replace, struct cf_error *err)
{
    cf_code code = CF_OK;

    if (out->to_stdout) {
        code = copy_to_stdout(out, err);
        cf_output_abandon(out);
        return code;
    }
    if (fsync(out->fd) != 0)
        code = cf_fail(err, CF_E_IO, "cannot write %s: %s", out->temp, strerror(errno));
    if (close(out->fd) != 0 && code == CF_OK)
        code = cf_fail(err, CF_E_IO, "cannot write %s: %s", out->temp, strerror(errno));
    out->fd = -1;
    if (code == CF_OK && !replace) {
        /* link() fails when path exists, so no check-then-rename race. */
        if (link(out->temp, path) != 0)
            code = errno == EEXIST ? cf_fail(err, CF_E_IO,
                                             "%s already exists; remove it or name another "
                                             "file with -o",
                                             path)
                                   : cf_fail(err, CF_E_IO, "cannot create %s: %s", path, strerror(errno));
        else
            unlink(out->temp);
    } else if (code == CF_OK && rename(out->temp, path) != 0) {
        code = cf_fail(err, CF_E_IO, "cannot rename %s to %s: %s", out->temp, path, strerror(errno));
    }
    if (code != CF_OK) {
        cf_output_abandon(out);
        return code;
    }
    free(out->temp);
    out->temp = NULL;
    code = sync_dir(out->dir, err);
    free(out->dir);
    out->dir = NULL;
    return code;
}

void cf_output_abandon(struct cf_output *out)
{
    if (out->fd >= 0)
        close(out->fd);
    out->fd = -1;
    if (out->temp != NULL) {
        if (!out->unlinked)
            unlink(out->temp);
        free(out->temp);
        out->temp = NULL;
    }
    free(out->dir);
    out->dir = NULL;
}
