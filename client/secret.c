#include "client/secret.h"

#include "client/private_file.h"
#include "common/fdio.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The base64 text of CF_KEY_LEN bytes, with padding. */
#define KEY_B64_LEN 44
/* A key file is one line: the prefix, the base64 and a line ending. Anything
 * longer is not a key file, so reading stops there. */
#define KEY_FILE_MAX 128

cf_code cf_sodium_start(struct cf_error *err)
{
    /* 0 the first time, 1 when already started, -1 on failure. */
    if (sodium_init() < 0)
        return cf_fail(err, CF_E_INTERNAL, "libsodium cannot start");
    return CF_OK;
}

void cf_secret_wipe(struct cf_secret *secret)
{
    if (secret != NULL)
        sodium_memzero(secret, sizeof(*secret));
}

cf_code cf_secret_generate_key_file(const char *path, struct cf_error *err)
{
    unsigned char key[CF_KEY_LEN];
    char line[sizeof(CF_KEY_FILE_PREFIX) - 1 + KEY_B64_LEN + 2];
    size_t prefix_len = strlen(CF_KEY_FILE_PREFIX);
    char text[128];
    bool created = false;
    int fd = -1;
    int e = 0;
    cf_code rc;

    rc = cf_sodium_start(err);
    if (rc != CF_OK)
        goto out;
    randombytes_buf(key, sizeof(key));
    memcpy(line, CF_KEY_FILE_PREFIX, prefix_len);
    sodium_bin2base64(line + prefix_len, KEY_B64_LEN + 1, key, sizeof(key), sodium_base64_VARIANT_ORIGINAL);
    line[prefix_len + KEY_B64_LEN] = '\n';

    /* O_EXCL also refuses a symbolic link at path, even a dangling one, so the
     * key cannot be steered into another file. */
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0 && errno == EEXIST) {
        rc = cf_fail(err, CF_E_CONFLICT, "key file %s already exists; coffer never overwrites a key file",
                     path);
        goto out;
    }
    if (fd < 0) {
        e = errno;
        rc = cf_fail(err, CF_E_IO, "cannot create key file %s: %s", path, cf_errno_text(e, text, sizeof(text)));
        goto out;
    }
    created = true;
    /* The umask may have taken bits off 0600 (even the owner's read bit), and
     * the mode is part of the contract. */
    if (fchmod(fd, 0600) != 0)
        e = errno;
    if (e == 0)
        e = cf_write_all(fd, line, prefix_len + KEY_B64_LEN + 1);
    if (e == 0 && fsync(fd) != 0)
        e = errno;
    if (close(fd) != 0 && e == 0 && errno != EINTR)
        e = errno;
    fd = -1;
    if (e != 0) {
        rc = cf_fail(err, CF_E_IO, "cannot write key file %s: %s", path, cf_errno_text(e, text, sizeof(text)));
        goto out;
    }
    created = false;
out:
    if (fd >= 0)
        close(fd);
    /* A key file without its whole key would seal nothing that opens. */
    if (created)
        unlink(path);
    sodium_memzero(key, sizeof(key));
    sodium_memzero(line, sizeof(line));
    return rc;
}

/* Reads the start of the file at path into buf: up to cap bytes, stopping
 * early after a newline when stop_at_newline (a passphrase may come from a
 * pipe whose writer stays open). what names the file in messages, holds
 * what it holds; a regular file open to group or others is refused
 * (client/private_file.h). */
static cf_code read_head(const char *path, const char *what, const char *holds, bool stop_at_newline,
                         char *buf, size_t cap, size_t *len, struct cf_error *err)
{
    char text[128];
    int fd = -1;
    cf_code rc = CF_OK;

    *len = 0;
    fd = open(path, O_RDONLY | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        rc = cf_fail(err, CF_E_VALIDATION, "cannot open %s %s: %s", what, path,
                     cf_errno_text(e, text, sizeof(text)));
        goto out;
    }
    rc = cf_private_file_check(fd, path, holds, err);
    if (rc != CF_OK)
        goto out;
    while (*len < cap) {
        ssize_t got = read(fd, buf + *len, cap - *len);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            int e = errno;
            rc = cf_fail(err, CF_E_VALIDATION, "cannot read %s %s: %s", what, path,
                         cf_errno_text(e, text, sizeof(text)));
            goto out;
        }
        if (got == 0)
            break;
        if (stop_at_newline && memchr(buf + *len, '\n', (size_t)got) != NULL) {
            *len += (size_t)got;
            break;
        }
        *len += (size_t)got;
    }
out:
    if (fd >= 0)
        close(fd);
    return rc;
}

cf_code cf_secret_load_key_file(const char *path, struct cf_secret *out, struct cf_error *err)
{
    char data[KEY_FILE_MAX];
    size_t prefix_len = strlen(CF_KEY_FILE_PREFIX);
    size_t len = 0, line_len, key_len = 0;
    const char *end = NULL;
    cf_code rc;

    cf_secret_wipe(out);
    rc = cf_sodium_start(err);
    if (rc != CF_OK)
        goto out;
    rc = read_head(path, "key file", "an encryption key", false, data, sizeof(data), &len, err);
    if (rc != CF_OK)
        goto out;
    if (len == sizeof(data)) {
        rc = cf_fail(err, CF_E_VALIDATION, "%s is not a coffer key file: it is longer than one key's line",
                     path);
        goto out;
    }
    if (len < prefix_len || memcmp(data, CF_KEY_FILE_PREFIX, prefix_len) != 0) {
        /* A later key file version keeps the "coffer-key-" start. */
        if (len >= 11 && memcmp(data, "coffer-key-", 11) == 0)
            rc = cf_fail(err, CF_E_VALIDATION,
                         "%s is a key file of a version this coffer cannot read (it reads \"%s\")", path,
                         CF_KEY_FILE_PREFIX);
        else
            rc = cf_fail(err, CF_E_VALIDATION, "%s is not a coffer key file: it does not start with \"%s\"",
                         path, CF_KEY_FILE_PREFIX);
        goto out;
    }
    /* One line, ended by LF, CRLF or the end of the file, and nothing after it. */
    line_len = len;
    if (line_len > 0 && data[line_len - 1] == '\n')
        line_len--;
    if (line_len > 0 && data[line_len - 1] == '\r')
        line_len--;
    if (memchr(data, '\n', line_len) != NULL || memchr(data, '\r', line_len) != NULL) {
        rc = cf_fail(err, CF_E_VALIDATION, "%s is not a coffer key file: it holds more than one line", path);
        goto out;
    }
    if (line_len - prefix_len != KEY_B64_LEN ||
        sodium_base642bin(out->key, sizeof(out->key), data + prefix_len, KEY_B64_LEN, NULL, &key_len, &end,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        key_len != CF_KEY_LEN || end != data + prefix_len + KEY_B64_LEN) {
        rc = cf_fail(err, CF_E_VALIDATION, "%s is not a coffer key file: the key is not %d bytes in base64",
                     path, CF_KEY_LEN);
        goto out;
    }
    out->is_passphrase = false;
out:
    if (rc != CF_OK)
        cf_secret_wipe(out);
    sodium_memzero(data, sizeof(data));
    return rc;
}

cf_code cf_secret_load_passphrase_file(const char *path, struct cf_secret *out, struct cf_error *err)
{
    /* The longest line and its CRLF. */
    char data[CF_PASSPHRASE_MAX + 2];
    size_t len = 0, line_len;
    const char *newline;
    cf_code rc;

    cf_secret_wipe(out);
    rc = read_head(path, "passphrase file", "a passphrase", true, data, sizeof(data), &len, err);
    if (rc != CF_OK)
        goto out;
    newline = memchr(data, '\n', len);
    if (newline == NULL && len == sizeof(data)) {
        rc = cf_fail(err, CF_E_VALIDATION, "the passphrase in %s is longer than %d bytes", path,
                     CF_PASSPHRASE_MAX);
        goto out;
    }
    line_len = newline != NULL ? (size_t)(newline - data) : len;
    if (line_len > 0 && data[line_len - 1] == '\r')
        line_len--;
    if (line_len == 0) {
        rc = cf_fail(err, CF_E_VALIDATION,
                     "the passphrase file %s is empty: its first line holds no passphrase", path);
        goto out;
    }
    if (line_len > CF_PASSPHRASE_MAX) {
        rc = cf_fail(err, CF_E_VALIDATION, "the passphrase in %s is longer than %d bytes", path,
                     CF_PASSPHRASE_MAX);
        goto out;
    }
    /* The passphrase is kept as a C string, which would silently end at a NUL. */
    if (memchr(data, '\0', line_len) != NULL) {
        rc = cf_fail(err, CF_E_VALIDATION, "the passphrase in %s holds a NUL byte", path);
        goto out;
    }
    memcpy(out->passphrase, data, line_len);
    out->passphrase[line_len] = '\0';
    out->is_passphrase = true;
out:
    if (rc != CF_OK)
        cf_secret_wipe(out);
    sodium_memzero(data, sizeof(data));
    return rc;
}
