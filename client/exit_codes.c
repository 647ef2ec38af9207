#include "client/exit_codes.h"

#include <stddef.h>
#include <string.h>

int cf_exit_status(cf_code code)
{
    int status;

    if (code == CF_OK)
        return CF_EXIT_OK;
    if (code == CF_E_NETWORK)
        return CF_EXIT_NETWORK;
    if (code == CF_E_COMMAND_FAILED)
        return CF_EXIT_COMMAND;
    if (code == CF_E_CHECKSUM_MISMATCH)
        return CF_EXIT_INTEGRITY;
    /* Made on this machine; a server's internal_error comes back as CF_E_INTERNAL. */
    if (code == CF_E_IO || code == CF_E_NOMEM)
        return CF_EXIT_LOCAL;
    status = cf_code_http_status(code);
    /* A proxy's trust rule is the server's configuration, not the caller's token. */
    if (code == CF_E_UNTRUSTED_INTERNAL_FILENAME)
        return CF_EXIT_REFUSED;
    /* 429 comes only after failed authentications: a token that is not accepted. */
    if (status == 401 || status == 403 || status == 429)
        return CF_EXIT_AUTH;
    return CF_EXIT_REFUSED;
}

static bool is(const char *command, const char *name)
{
    return command != NULL && strcmp(command, name) == 0;
}

const char *cf_exit_hint(cf_code code, const char *command)
{
    bool reads = is(command, "pull") || is(command, "restore");

    if (code == CF_E_NETWORK)
        return "check the url in [server] (or COFFER_URL) and that the server is running and reachable "
               "from here; with a spool the backup waits there for `coffer sync`";
    if (code == CF_E_COMMAND_FAILED && is(command, "restore"))
        return "the restore command's own messages above say why; the version is still on the server, "
               "unchanged: fix the command and run the restore again";
    if (code == CF_E_COMMAND_FAILED)
        return "the command's own messages above say why; nothing was kept on the server";
    if (code == CF_E_NOT_FOUND && reads)
        return "`coffer list` shows the versions the collection has; check the version asked for and the "
               "collection id";
    if (code == CF_E_COLLECTION_NOT_EMPTY && is(command, "admin collection delete"))
        return "add --force to delete the collection together with its versions";
    if (code == CF_E_CHECKSUM_MISMATCH)
        return "the data was changed on the way or damaged on disk, or the key or passphrase is not the one "
               "the backup was made with";
    switch (code) {
    case CF_E_UNAUTHENTICATED:
    case CF_E_INVALID_TOKEN:
    case CF_E_TOKEN_EXPIRED:
    case CF_E_TOKEN_REVOKED:
        return "check the token (token_file or token in [server], or COFFER_TOKEN); an administrator "
               "can mint a new one with `coffer admin token create`";
    case CF_E_ACCOUNT_INACTIVE:
        return "the account is switched off; ask the administrator of the server";
    case CF_E_PERMISSION_DENIED:
    case CF_E_RESTRICTED:
        return "the token lacks the permission or may not be used from here; `coffer admin whoami` "
               "shows what it holds";
    case CF_E_RATE_LIMITED:
        return "too many failed logins from this address; fix the token and wait a minute";
    case CF_E_NOT_FOUND:
        return "check the collection id (and the url: it should be the server's base URL)";
    case CF_E_VERSION_TOO_LARGE:
    case CF_E_COLLECTION_FULL:
    case CF_E_TOO_MANY_VERSIONS:
    case CF_E_ACCOUNT_QUOTA_EXCEEDED:
        return "the collection or account has no room for it; raise its limits or delete old versions";
    case CF_E_DB_UNAVAILABLE:
    case CF_E_STORAGE_UNAVAILABLE:
    case CF_E_STORAGE_FULL:
    case CF_E_INTERNAL:
        return "the server has a problem of its own; try again later or tell its administrator";
    default:
        return NULL;
    }
}
