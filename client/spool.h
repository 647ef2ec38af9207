/* The offline spool: a directory where a backup is written in full (and
 * encrypted, when its definition names a key) before it is uploaded, and
 * where it waits while the server cannot be reached.
 *
 * An entry is one file named
 *     <UTC time>_<pid>_<collection>_<sha256>.coffer
 * e.g. 20261123T100000.123456789Z_4242_db_<64 hex>.coffer. The time (with
 * nanoseconds, fixed width) comes first, so name order is creation order and
 * `coffer sync` uploads the oldest first. The SHA-256 of the file's bytes is
 * in the name, so no side file can get out of step with it. While being
 * written, the file is ".<time>_<pid>_<collection>.part"; it gets its final
 * name only after its bytes and the directory are on disk (fsync), so an
 * entry is always complete. Before each upload attempt an empty
 * ".<name>.tried" mark is made beside it (client/sync.c). An entry is deleted only after the server has
 * confirmed a version with the same SHA-256 (client/sync.c).
 *
 * Several coffer processes may share a spool: uploads from it are serialised
 * by an flock on "<spool>/.lock". */
#ifndef COFFER_CLIENT_SPOOL_H
#define COFFER_CLIENT_SPOOL_H

#include "common/error.h"
#include "common/sha256.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#define CF_SPOOL_SUFFIX   ".coffer"
#define CF_SPOOL_NAME_MAX 256

struct cf_spool_entry {
    char name[CF_SPOOL_NAME_MAX]; /* the file name within the spool */
    char collection[65];
    char sha256[CF_SHA256_HEX_LEN + 1];
    int64_t created; /* Unix seconds of the time in the name: when the backup began, sent as its made_at */
    uint64_t size;   /* filled by cf_spool_list */
};

/* The entry name for a backup begun at when by pid; returns false when it
 * does not fit out_len. */
bool cf_spool_entry_name(char *out, size_t out_len, const struct timespec *when, pid_t pid,
                         const char *collection, const char *sha256);
/* Parses a name made by cf_spool_entry_name; false for anything else (other
 * files, temporary ".part" files). size is left 0. */
bool cf_spool_entry_parse(const char *name, struct cf_spool_entry *out);

/* The entries in dir, oldest first; only collection's when it is not NULL.
 * Caller frees *out. A missing dir is an empty list. CF_E_IO when it cannot be read. */
cf_code cf_spool_list(const char *dir, const char *collection, struct cf_spool_entry **out, size_t *count,
                      struct cf_error *err);
/* Notes that an upload of entry is about to start (an empty file
 * ".<name>.tried" beside it), so that a later sync knows that an earlier
 * attempt may have stored it and looks for it first. */
cf_code cf_spool_mark_attempt(const char *dir, const struct cf_spool_entry *entry, struct cf_error *err);
/* True when an upload of entry was started before. */
bool cf_spool_attempted(const char *dir, const struct cf_spool_entry *entry);
/* Deletes an entry (then its attempt mark) and syncs the directory. */
cf_code cf_spool_remove(const char *dir, const struct cf_spool_entry *entry, struct cf_error *err);
/* The entry's path, into out. */
void cf_spool_path(char *out, size_t out_len, const char *dir, const struct cf_spool_entry *entry);

/* Writing a new entry. */
struct cf_spool_writer {
    char dir[4096];
    char temp[CF_SPOOL_NAME_MAX];
    char collection[65];
    struct timespec started;
    int fd;
    struct cf_sha256 *hash;
    uint64_t size;
};

/* Creates the directory (mode 0700) when missing and the temporary file. */
cf_code cf_spool_begin(struct cf_spool_writer *w, const char *dir, const char *collection,
                       struct cf_error *err);
/* A cf_zsink_fn: appends bytes (ctx is the writer). CF_E_IO on a failed write (a full disk). */
cf_code cf_spool_sink(void *ctx, const void *data, size_t len, struct cf_error *err);
/* Syncs the file, renames it to its entry name and syncs the directory. */
cf_code cf_spool_commit(struct cf_spool_writer *w, struct cf_spool_entry *out, struct cf_error *err);
/* Removes the temporary file of an entry not committed; safe after commit. */
void cf_spool_abandon(struct cf_spool_writer *w);

/* Removes what killed runs left behind: ".part" files whose writer (the pid
 * in their name) is no longer running, and attempt marks whose entry is
 * gone. Returns how many files it removed. Errors are ignored: the files are
 * only clutter, never an entry. */
int cf_spool_sweep(const char *dir);

/* Takes the spool's lock, waiting for another coffer that holds it. *fd is
 * the lock, for cf_spool_unlock. CF_E_IO when it cannot be taken (or the
 * wait is interrupted). */
cf_code cf_spool_lock(const char *dir, int *fd, struct cf_error *err);
void cf_spool_unlock(int fd);

#endif
