/* How the client's failures become exit statuses, and the two failures only a
 * client has.
 *
 * The client reports every failure as a cf_code (common/error.h). The API's
 * codes come back from the server's JSON error bodies through
 * cf_code_from_name. A broken connection and a failed backup or restore
 * command have no API code: they are numbered past CF_E_COUNT_, so they can
 * never collide with a code of the API table, and they never reach a server
 * (cf_code_name calls them internal_error).
 *
 * Exit statuses (docs/client.md, docs/coffer.1):
 *   0 success
 *   1 usage: bad arguments or configuration (decided by the command itself,
 *     before anything runs; no cf_code maps to it)
 *   2 authentication: the token was refused (401), lacks a permission or is
 *     restricted (403), or the client is rate limited for failed attempts (429)
 *   3 network: the server could not be reached or the connection broke
 *   4 the server refused or failed: any other 4xx or 5xx answer
 *   5 integrity: a checksum does not match, or decryption failed
 *   6 the backup or restore command failed
 *   7 a local file could not be read or written (disk full, permissions) */
#ifndef COFFER_CLIENT_EXIT_CODES_H
#define COFFER_CLIENT_EXIT_CODES_H

#include "common/error.h"
#include <stdbool.h>

/* The server could not be reached, did not answer in time, or the connection
 * broke before a complete answer. */
#define CF_E_NETWORK ((cf_code)(CF_E_COUNT_ + 1))
/* The backup command failed (non-zero exit, killed), or the restore command did. */
#define CF_E_COMMAND_FAILED ((cf_code)(CF_E_COUNT_ + 2))

enum cf_exit {
    CF_EXIT_OK = 0,
    CF_EXIT_USAGE = 1,
    CF_EXIT_AUTH = 2,
    CF_EXIT_NETWORK = 3,
    CF_EXIT_REFUSED = 4,
    CF_EXIT_INTEGRITY = 5,
    CF_EXIT_COMMAND = 6,
    CF_EXIT_LOCAL = 7,
};

/* The exit status for a failure that happened while a command ran. */
int cf_exit_status(cf_code code);
/* A sentence saying what the user of command ("push", "restore", "admin
 * collection delete": struct cf_cli's command) can do about code, or NULL
 * when the message says it all. */
const char *cf_exit_hint(cf_code code, const char *command);

#endif
