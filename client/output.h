/* A file that appears under its final name only when everything written into
 * it has been checked: bytes go to a temporary file in the final directory
 * (mode 0600, as it holds a backup), which is synced and renamed at commit and
 * removed on any failure. So a download cut short, a checksum that does not
 * match or a chunk that fails to decrypt never leaves a file under the name
 * the user asked for.
 *
 * "-" means standard output: the bytes wait in a temporary file under
 * $TMPDIR (or /tmp) and are copied out only at commit, for the same reason.
 * That file is unlinked as soon as it is open, so that no copy of the backup
 * stays behind there, even when the process is killed. */
#ifndef COFFER_CLIENT_OUTPUT_H
#define COFFER_CLIENT_OUTPUT_H

#include "common/error.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cf_output {
    char *dir;  /* where the temporary file is */
    char *temp; /* its path; NULL once renamed or removed */
    int fd;
    bool to_stdout;
    bool unlinked; /* temp names no file any more (standard output's is unlinked at once) */
    uint64_t size;
};

/* Opens a temporary file for path ("-" for standard output), or, when path is
 * NULL, in the current directory (the name is given at commit). */
cf_code cf_output_open(struct cf_output *out, const char *path, struct cf_error *err);
/* A cf_zsink_fn (ctx is the output). CF_E_IO on a failed write. */
cf_code cf_output_sink(void *ctx, const void *data, size_t len, struct cf_error *err);
/* Empties the file, for a transfer that starts over. */
cf_code cf_output_truncate(struct cf_output *out, struct cf_error *err);
/* Syncs and renames the file to path (or copies it to standard output, for
 * "-"), then syncs the directory. replace false refuses (CF_E_IO) when
 * path exists. The output is closed either way; on failure the temporary file
 * is removed. */
cf_code cf_output_commit(struct cf_output *out, const char *path, bool replace, struct cf_error *err);
/* Closes and removes the temporary file (no-op after commit). */
void cf_output_abandon(struct cf_output *out);

#endif
