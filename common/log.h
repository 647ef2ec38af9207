/* The one logger. Lines go to stderr as "<time> <level> <message>".
 *
 * cf_log() checks the level before formatting anything, so debug lines cost a
 * comparison when they are off. Never pass a token, a secret or an
 * Authorization header to it. */
#ifndef COFFER_COMMON_LOG_H
#define COFFER_COMMON_LOG_H

enum cf_log_level { CF_LOG_DEBUG = 0, CF_LOG_INFO, CF_LOG_WARN, CF_LOG_ERROR, CF_LOG_OFF };

extern enum cf_log_level cf_log_threshold;

/* "debug", "info", "warn", "error", "off" -> level; returns -1 for anything else. */
int cf_log_level_parse(const char *name);
void cf_log_set_level(enum cf_log_level level);

void cf_log_write(enum cf_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define cf_log(level, ...)                                                                                   \
    do {                                                                                                     \
        if ((level) >= cf_log_threshold)                                                                     \
            cf_log_write((level), __VA_ARGS__);                                                              \
    } while (0)

#endif
