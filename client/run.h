/* Running the backup and restore commands: /bin/sh -c COMMAND with a pipe to
 * or from this process, and what became of it.
 *
 * The child gets default signal dispositions back (this process ignores
 * SIGPIPE, and a command such as `pg_dump | gzip` must die of it as usual),
 * inherits standard error (its messages reach the user, or cron's mail), and
 * sees no other descriptor of this process. */
#ifndef COFFER_CLIENT_RUN_H
#define COFFER_CLIENT_RUN_H

#include "common/error.h"
#include <stddef.h>
#include <sys/types.h>

enum cf_run_mode {
    CF_RUN_READ,  /* we read the command's standard output; its standard input is /dev/null */
    CF_RUN_WRITE, /* we write the command's standard input; its standard output is ours */
};

struct cf_child {
    pid_t pid;     /* -1 when none or reaped */
    int fd;        /* our end of the pipe; -1 once closed */
    char what[32]; /* "the backup command", for messages */
};

/* Starts the command. CF_E_IO when the pipe or the process cannot be made. */
cf_code cf_run_start(const char *command, enum cf_run_mode mode, const char *what, struct cf_child *out,
                     struct cf_error *err);
/* Closes our end of the pipe (if still open) and waits for the command:
 * CF_OK when it exited with status 0, else CF_E_COMMAND_FAILED with a
 * message such as "the backup command exited with status 1". */
cf_code cf_run_finish(struct cf_child *child, struct cf_error *err);
/* Ends a command whose output is no longer wanted: closes the pipe, sends
 * SIGTERM and reaps it. No-op when already reaped. */
void cf_run_stop(struct cf_child *child);

/* Writes "exited with status N" or "was killed by signal N (NAME)" for a
 * waitpid status. */
void cf_run_describe(int wstatus, char *out, size_t out_len);

#endif
