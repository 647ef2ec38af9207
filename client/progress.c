#include "client/progress.h"

#include "common/size.h"

#include <stdio.h>
#include <string.h>

#define REDRAW_NS 250000000LL

static double seconds_between(const struct timespec *a, const struct timespec *b)
{
    return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

void cf_progress_format(char *out, size_t out_len, const char *label, uint64_t bytes, uint64_t total,
                        double seconds)
{
    char done[32], whole[32], rate_text[32];
    double rate = seconds > 0.0 ? (double)bytes / seconds : 0.0;
    size_t used;

    cf_size_format((int64_t)bytes, done, sizeof(done));
    if (rate >= 1.0) {
        cf_size_format((int64_t)rate, rate_text, sizeof(rate_text));
        strncat(rate_text, "/s", sizeof(rate_text) - strlen(rate_text) - 1);
    } else {
        snprintf(rate_text, sizeof(rate_text), "-");
    }
    if (total == 0) {
        snprintf(out, out_len, "%s  %s  %s", label, done, rate_text);
        return;
    }
    cf_size_format((int64_t)total, whole, sizeof(whole));
    snprintf(out, out_len, "%s  %s of %s (%d%%)  %s", label, done, whole,
             bytes >= total ? 100 : (int)((double)bytes * 100.0 / (double)total), rate_text);
    used = strlen(out);
    if (rate >= 1.0 && bytes < total && used < out_len) {
        uint64_t left = (uint64_t)((double)(total - bytes) / rate + 0.5);
        snprintf(out + used, out_len - used, "  ETA %u:%02u:%02u", (unsigned)(left / 3600),
                 (unsigned)(left / 60 % 60), (unsigned)(left % 60));
    }
}

void cf_progress_init(struct cf_progress *p, const char *label, uint64_t total, bool enabled)
{
    memset(p, 0, sizeof(*p));
    p->enabled = enabled;
    snprintf(p->label, sizeof(p->label), "%s", label);
    p->total = total;
    clock_gettime(CLOCK_MONOTONIC, &p->started);
    p->last_draw = p->started;
}

void cf_progress_add(struct cf_progress *p, uint64_t bytes)
{
    struct timespec now;
    char line[160];

    if (p == NULL)
        return;
    p->bytes += bytes;
    if (!p->enabled)
        return;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if ((now.tv_sec - p->last_draw.tv_sec) * 1000000000LL + (now.tv_nsec - p->last_draw.tv_nsec) < REDRAW_NS)
        return;
    p->last_draw = now;
    cf_progress_format(line, sizeof(line), p->label, p->bytes, p->total, seconds_between(&p->started, &now));
    /* \033[K clears what a longer line before left behind. */
    fprintf(stderr, "\r%s\033[K", line);
    fflush(stderr);
    p->drawn = true;
}

void cf_progress_restart(struct cf_progress *p, uint64_t total)
{
    if (p == NULL)
        return;
    p->bytes = 0;
    p->total = total;
    clock_gettime(CLOCK_MONOTONIC, &p->started);
}

void cf_progress_done(struct cf_progress *p)
{
    if (p == NULL || !p->drawn)
        return;
    fputs("\r\033[K", stderr);
    fflush(stderr);
    p->drawn = false;
}
