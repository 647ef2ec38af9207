#include "client/private_file.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* True when path can go on a shell command line as it is. */
static bool shell_plain(const char *path)
{
    if (path[0] == '\0')
        return false;
    return strspn(path, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/._-+,:@%=") ==
           strlen(path);
}

/* path quoted for the shell ('...' with each ' as '\''), cut at out_len. */
static void shell_quote(const char *path, char *out, size_t out_len)
{
    size_t n = 0;

    if (shell_plain(path)) {
        snprintf(out, out_len, "%s", path);
        return;
    }
    if (out_len < 3) {
        out[0] = '\0';
        return;
    }
    out[n++] = '\'';
    for (const char *c = path; *c != '\0' && n + 5 < out_len; c++) {
        if (*c == '\'') {
            memcpy(out + n, "'\\''", 4);
            n += 4;
        } else {
            out[n++] = *c;
        }
    }
    out[n++] = '\'';
    out[n] = '\0';
}

cf_code cf_private_file_check(int fd, const char *path, const char *holds, struct cf_error *err)
{
    char quoted[4096 + 64];
    char text[128];
    struct stat st;

    if (fstat(fd, &st) != 0) {
        int e = errno;
        return cf_fail(err, CF_E_VALIDATION, "cannot check %s: %s", path, cf_errno_text(e, text, sizeof(text)));
    }
    if (!S_ISREG(st.st_mode) || (st.st_mode & 077) == 0)
        return CF_OK;
    shell_quote(path, quoted, sizeof(quoted));
    return cf_fail(err, CF_E_VALIDATION, "%s is open to group or others (mode %04o) and holds %s: run chmod 600 %s",
                   path, (unsigned)(st.st_mode & 07777), holds, quoted);
}
