# shellcheck shell=bash
# coffer_clear_env: unsets, in the calling shell, the variables that would
# change what a test tests. A user who exported var/coffer.env has
# COFFER_HEALTH_CODE, COFFER_URL and COFFER_TOKEN set, and cofferd and coffer
# prefer the environment to a test's configuration; libpq's PG* variables and
# curl's proxy and CA variables redirect connections; TZ moves the clock that
# times are printed in.
#
# Kept: what the harness itself passes down (COFFER_BIN, COFFER_SOURCE,
# COFFER_RELEASE_BIN, COFFER_TEST_*, COFFER_PG_BIN, COFFER_GOLDEN_UPDATE).
coffer_clear_env()
{
    local var
    while IFS= read -r var; do
        case $var in
        COFFER_BIN | COFFER_SOURCE | COFFER_RELEASE_BIN | COFFER_TEST_* | COFFER_PG_BIN | COFFER_GOLDEN_UPDATE) ;;
        COFFER_* | PG* | [Hh][Tt][Tt][Pp]_[Pp][Rr][Oo][Xx][Yy] | [Hh][Tt][Tt][Pp][Ss]_[Pp][Rr][Oo][Xx][Yy] | \
            [Aa][Ll][Ll]_[Pp][Rr][Oo][Xx][Yy] | [Nn][Oo]_[Pp][Rr][Oo][Xx][Yy] | CURL_CA_BUNDLE | SSL_CERT_FILE | \
            SSL_CERT_DIR | TZ | AWS_*)
            unset "$var"
            ;;
        esac
    done < <(compgen -e)
}
