#!/usr/bin/env bash
# coffer over HTTPS (a TLS-terminating proxy in front of cofferd): the
# certificate is checked by default, ca_file (and COFFER_CA_FILE) names the
# authority of a private CA, and then only that one: a certificate from another
# authority is refused, and the system's directory of authorities
# (/etc/ssl/certs) is not even looked into.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_client.sh"
itest_begin
cofferd_start
client_setup db
cd "$ITEST_DIR"

tls_certs "$ITEST_DIR" a b
port=${COFFER_URL##*:}
tls_proxy "$port" srv-a.pem srv-a.key
url_a=$TLS_PROXY_URL
tls_proxy "$port" srv-b.pem srv-b.key
url_b=$TLS_PROXY_URL

# --- verification is on by default: a private CA's certificate is refused
rc coffer --url "$url_a" list --collection db 2>default.err
eq "an unknown authority without ca_file: exit 3" "$RC" 3
check "the message says TLS failed and points to ca_file" grep -q "TLS with $url_a.* failed.*(check ca_file)" \
    default.err

# --- ca_file: that authority is trusted, for a whole push and pull
client_conf_server | sed "s|^url = .*|url = $url_a|" >tls.conf
printf 'ca_file = %s\n' "$ITEST_DIR/ca-a.pem" >>tls.conf
cat >>tls.conf <<'CONF'

[backup db]
collection = db
command = printf 'a backup over TLS\n'
CONF
rc "$COFFER_BIN/coffer" --config tls.conf push db
eq "push over TLS with ca_file" "$RC" 0
rc "$COFFER_BIN/coffer" --config tls.conf pull db -o pulled
eq "pull over TLS with ca_file" "$RC" 0
eq "the bytes came back" "$(cat pulled)" "a backup over TLS"
COFFER_CA_FILE=$ITEST_DIR/ca-a.pem COFFER_TOKEN=$ACME rc "$COFFER_BIN/coffer" --url "$url_a" list \
    --collection db >/dev/null
eq "COFFER_CA_FILE without a configuration file" "$RC" 0

# --- and only that authority
rc "$COFFER_BIN/coffer" --config tls.conf --url "$url_b" list db 2>other.err
eq "a certificate of another authority: exit 3" "$RC" 3
check "refused as TLS" grep -q "TLS with $url_b.* failed" other.err
if command -v strace >/dev/null; then
    # LeakSanitizer cannot run under ptrace.
    ASAN_OPTIONS=detect_leaks=0 strace -f -qq -e trace=file -o strace.out "$COFFER_BIN/coffer" \
        --config tls.conf --url "$url_b" list db 2>/dev/null || true
    check "the system's authorities are not consulted with ca_file ($(grep -m1 /etc/ssl/certs strace.out))" \
        test "$(grep -c '/etc/ssl/certs' strace.out)" -eq 0
fi
eq "one version (nothing went through the refused connections)" "$(version_count db)" 1

cd /
cofferd_stop
itest_finish
