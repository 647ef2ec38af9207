/* The progress line on standard error: bytes so far, rate and, when the size
 * is known, the share done and the time left. Drawn only on a terminal (the
 * caller decides with enabled); under cron nothing is printed. Redrawn at most
 * four times a second and erased when done. */
#ifndef COFFER_CLIENT_PROGRESS_H
#define COFFER_CLIENT_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct cf_progress {
    bool enabled;
    bool drawn; /* something is on the line */
    char label[64];
    uint64_t bytes;
    uint64_t total; /* 0: unknown */
    struct timespec started, last_draw;
};

/* label is copied (cut to fit). total 0 when the size is unknown. */
void cf_progress_init(struct cf_progress *p, const char *label, uint64_t total, bool enabled);
void cf_progress_add(struct cf_progress *p, uint64_t bytes);
/* Starts counting again from zero (a retried transfer). */
void cf_progress_restart(struct cf_progress *p, uint64_t total);
/* Erases the line. p may be NULL. */
void cf_progress_done(struct cf_progress *p);

/* The line for bytes of total (0: unknown) after seconds, e.g.
 * "push db  1.5 GiB of 3 GiB (50%)  75 MiB/s  ETA 0:00:20". */
void cf_progress_format(char *out, size_t out_len, const char *label, uint64_t bytes, uint64_t total,
                        double seconds);

#endif
