/* The bytes of a backup as they leave this machine: read from a file, from
 * standard input or from a backup command's output, sealed (client/envelope.h)
 * when a secret is given, and handed out in pieces to an upload or a spool
 * file.
 *
 * The end of the stream is reported only after the command (if any) has
 * exited with status 0 and the seal's final chunk is out: a failed or killed
 * command makes cf_source_read fail (CF_E_COMMAND_FAILED) instead, so that
 * what it produced can never look like a complete backup. */
#ifndef COFFER_CLIENT_SOURCE_H
#define COFFER_CLIENT_SOURCE_H

#include "client/run.h"
#include "client/secret.h"
#include "common/buf.h"
#include "common/error.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct cf_source;

/* Reads fd (taken over: closed by cf_source_free), or the output of child
 * (taken over: a copy is kept, and a command still running when the source is
 * freed is stopped). Exactly one of fd >= 0 and child != NULL. secret NULL:
 * the bytes pass as they are; else they are sealed with zstd_level.
 * Caller frees with cf_source_free. */
cf_code cf_source_new(int fd, const struct cf_child *child, const struct cf_secret *secret, int zstd_level,
                      struct cf_source **out, struct cf_error *err);
/* Up to cap bytes into buf; 0 at the good end; -1 on failure (err filled:
 * CF_E_COMMAND_FAILED, CF_E_IO for a read error, CF_E_NETWORK... never). */
ssize_t cf_source_read(struct cf_source *src, void *buf, size_t cap, struct cf_error *err);
/* Bytes read from the file or command so far (before sealing). */
uint64_t cf_source_consumed(const struct cf_source *src);
void cf_source_free(struct cf_source *src);

#endif
