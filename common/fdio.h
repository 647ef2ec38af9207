/* Writing to files without losing bytes to short writes or signals, and
 * making a directory's entries durable. */
#ifndef COFFER_COMMON_FDIO_H
#define COFFER_COMMON_FDIO_H

#include <stddef.h>

/* Writes all len bytes, retrying after short writes and EINTR. Returns 0, or
 * the errno of the write that failed (EIO for a write that took nothing
 * without an error), so that each caller can word its own message: a full
 * disk (ENOSPC) and a reader gone (EPIPE) mean different things to them. */
int cf_write_all(int fd, const void *data, size_t len);

/* fsync of a directory, so that files created, renamed or removed in it stay
 * so after a crash. Returns 0, or the errno of the open or fsync that failed
 * (EINVAL: the file system cannot fsync directories). */
int cf_fsync_dir(const char *path);

#endif
