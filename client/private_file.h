/* The check every file holding a secret passes before coffer reads it: the
 * token file (token_file, COFFER_TOKEN_FILE, --token-file), a key file, a
 * passphrase file, and a configuration file with the token inline.
 *
 * Like ssh with its keys, coffer refuses such a regular file when any
 * permission bit is set for group or others (mode & 077): whoever can read
 * it can use the token or open the backups, whoever can write it can swap
 * the key. The mode is taken with fstat from the descriptor the caller
 * opened and then reads, so what is checked is what is read (a file renamed
 * in between cannot slip through). A symbolic link is followed and the mode
 * of the file it leads to counts, as for ssh: a link's own mode means
 * nothing. Pipes and devices (a passphrase from `<(...)`, /dev/stdin) hold
 * nothing at rest and are not checked. */
#ifndef COFFER_CLIENT_PRIVATE_FILE_H
#define COFFER_CLIENT_PRIVATE_FILE_H

#include "common/error.h"

/* CF_OK when the file open as fd (named path in messages) is private;
 * else CF_E_VALIDATION with a message that names path, its mode, what it
 * holds ("the token") and the command to run:
 * "PATH is open to group or others (mode 0644) and holds the token: run chmod 600 PATH".
 * A failing fstat is CF_E_VALIDATION as well. */
cf_code cf_private_file_check(int fd, const char *path, const char *holds, struct cf_error *err);

#endif
