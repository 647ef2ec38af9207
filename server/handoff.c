#include "handoff.h"

#include "proxy.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

cf_code cf_handoff_open(const struct cf_config *cfg, const struct cf_handoff_request *request, int *fd,
                        int64_t *size, struct cf_error *err)
{
    char dir[PATH_MAX], real[PATH_MAX], link[64];
    struct stat st;
    ssize_t len;
    size_t dir_len;
    int file = -1;
    cf_code code = CF_OK;

    *fd = -1;
    code = cf_proxy_check(cfg, request->peer, request->secret, err);
    if (code != CF_OK)
        return code;
    if (realpath(cfg->nginx_temp_dir, dir) == NULL)
        return cf_fail(err, CF_E_UNTRUSTED_INTERNAL_FILENAME, "nginx_temp_dir %s: %s", cfg->nginx_temp_dir,
                       strerror(errno));
    /* O_NONBLOCK: a FIFO must not hold the request up at open. */
    file = open(request->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (file < 0) {
        code = cf_fail(err, CF_E_UNTRUSTED_INTERNAL_FILENAME, "cannot open %.200s: %s", request->path,
                       strerror(errno));
        goto out;
    }
    if (fstat(file, &st) != 0 || !S_ISREG(st.st_mode)) {
        code = cf_fail(err, CF_E_UNTRUSTED_INTERNAL_FILENAME, "%.200s is not a regular file", request->path);
        goto out;
    }
    /* The path of what was actually opened, whatever links its directories took. */
    snprintf(link, sizeof(link), "/proc/self/fd/%d", file);
    len = readlink(link, real, sizeof(real) - 1);
    if (len < 0) {
        code = cf_fail(err, CF_E_UNTRUSTED_INTERNAL_FILENAME, "cannot resolve %.200s: %s", request->path,
                       strerror(errno));
        goto out;
    }
    real[len] = '\0';
    dir_len = strlen(dir);
    if (strncmp(real, dir, dir_len) != 0 || real[dir_len] != '/') {
        code = cf_fail(err, CF_E_UNTRUSTED_INTERNAL_FILENAME, "%.200s lies outside nginx_temp_dir", real);
        goto out;
    }
    /* Back to blocking reads for the upload. */
    fcntl(file, F_SETFL, fcntl(file, F_GETFL) & ~O_NONBLOCK);
    *fd = file;
    *size = (int64_t)st.st_size;
    file = -1;
out:
    if (file >= 0)
        close(file);
    return code;
}
