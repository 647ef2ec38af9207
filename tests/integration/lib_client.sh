# shellcheck shell=bash
# Shared by the test_client_*.sh tests, on top of lib.sh: an account, a token
# for it and a client configuration file, and helpers to run the real `coffer`
# binary against the test's cofferd. Source it after lib.sh.

# client_setup [COLLECTION...]: after cofferd_start, creates the account "acme",
# the collections (default: "db"), an account token holding every account
# permission (ACME, in $ITEST_DIR/acme.token) and $CLIENT_CONF with a
# [server] section. HOME points into $ITEST_DIR, so no ~/.config leaks in.
client_setup()
{
    local collections=("$@") c
    ((${#collections[@]} > 0)) || collections=(db)
    export HOME=$ITEST_DIR/home
    mkdir -p "$HOME"
    # lib.sh keeps the server's URL in COFFER_URL: the client must only see it when a test exports it.
    export -n COFFER_URL
    unset COFFER_TOKEN COFFER_TOKEN_FILE COFFER_CA_FILE XDG_CONFIG_HOME
    TOKEN=$ADMIN
    api POST /api/stable/accounts -d '{"id": "acme", "name": "Acme"}'
    check "client_setup: account acme" test "$STATUS" = 201
    for c in "${collections[@]}"; do
        api POST /api/stable/repository/collection -d "{\"id\": \"$c\", \"account_id\": \"acme\"}"
        check "client_setup: collection $c" test "$STATUS" = 201
    done
    # 30 days: past the 14 days within which coffer warns that a token expires.
    api POST /api/stable/auth/token -d '{"account_id": "acme", "ttl": 2592000, "permissions": ["collections.create",
      "collections.view", "collections.modify", "collections.delete", "versions.upload", "versions.list",
      "versions.download", "versions.delete", "tokens.create", "tokens.view", "tokens.revoke"]}'
    check "client_setup: account token" test "$STATUS" = 201
    ACME=$(jbody .token)
    printf '%s\n' "$ACME" >"$ITEST_DIR/acme.token"
    chmod 600 "$ITEST_DIR/acme.token"
    CLIENT_CONF=$ITEST_DIR/coffer.conf
    client_conf_server >"$CLIENT_CONF"
}

# client_conf_server: the [server] section for this test's cofferd; short
# retry waits keep the tests fast.
client_conf_server()
{
    cat <<CONF
[server]
url = $COFFER_URL
token_file = $ITEST_DIR/acme.token
retries = 2
retry_delay = 0
connect_timeout = 5
CONF
}

# coffer ARGS...: the client with the test's configuration.
coffer()
{
    "$COFFER_BIN/coffer" --config "$CLIENT_CONF" "$@"
}

# rc COMMAND...: runs COMMAND and sets RC to its exit status (the script goes on).
rc()
{
    RC=0
    "$@" || RC=$?
}

# version_count COLLECTION: the number of versions, asked with the account token.
version_count()
{
    TOKEN=$ACME api GET "/api/stable/repository/collection/$1/versions"
    jbody '.versions | length'
}

# spool_count DIR: complete entries waiting in a spool directory.
spool_count()
{
    find "$1" -maxdepth 1 -name '*.coffer' -type f 2>/dev/null | wc -l
}

# altering_proxy PORT: starts a TCP proxy in front of 127.0.0.1:PORT that
# alters one byte of what clients send ("streamed by coffer" becomes
# "streamed by COFFER": the length stays), and sets ALTERING_PROXY_URL to it.
# The test's end kills it. Call it in this shell, not in $().
altering_proxy()
{
    local i
    python3 - "$1" >"$ITEST_DIR/proxy.port" 2>/dev/null <<'PY' &
import socket, sys, threading
upstream = int(sys.argv[1])
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(4)
print(srv.getsockname()[1], flush=True)
def pipe(a, b, alter):
    while True:
        data = a.recv(65536)
        if not data:
            break
        if alter:
            data = data.replace(b"streamed by coffer", b"streamed by COFFER")
        b.sendall(data)
    b.shutdown(socket.SHUT_WR)
while True:
    c, _ = srv.accept()
    u = socket.create_connection(("127.0.0.1", upstream))
    threading.Thread(target=pipe, args=(c, u, True), daemon=True).start()
    threading.Thread(target=pipe, args=(u, c, False), daemon=True).start()
PY
    ITEST_PIDS+=($!)
    disown
    for ((i = 0; i < 50; i++)); do [[ -s $ITEST_DIR/proxy.port ]] && break; sleep 0.1; done
    ALTERING_PROXY_URL="http://127.0.0.1:$(cat "$ITEST_DIR/proxy.port")"
}

# tls_proxy PORT CERT KEY: starts a TLS-terminating TCP proxy in front of
# 127.0.0.1:PORT that presents CERT (with its KEY), and sets TLS_PROXY_URL to
# it (https://127.0.0.1:...). The test's end kills it. Call it in this shell.
tls_proxy()
{
    local i out=$ITEST_DIR/tls-proxy.$RANDOM.port
    python3 - "$1" "$2" "$3" >"$out" 2>/dev/null <<'PY' &
import socket, ssl, sys, threading
upstream = int(sys.argv[1])
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[2], sys.argv[3])
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(8)
print(srv.getsockname()[1], flush=True)
def pipe(a, b):
    try:
        while True:
            data = a.recv(65536)
            if not data:
                break
            b.sendall(data)
    except OSError:
        pass
    for s in (a, b):
        try:
            s.close()
        except OSError:
            pass
def serve(c):
    try:
        t = ctx.wrap_socket(c, server_side=True)
    except (OSError, ssl.SSLError):
        c.close()
        return
    u = socket.create_connection(("127.0.0.1", upstream))
    threading.Thread(target=pipe, args=(t, u), daemon=True).start()
    threading.Thread(target=pipe, args=(u, t), daemon=True).start()
while True:
    c, _ = srv.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
PY
    ITEST_PIDS+=($!)
    disown
    for ((i = 0; i < 50; i++)); do [[ -s $out ]] && break; sleep 0.1; done
    TLS_PROXY_URL="https://127.0.0.1:$(cat "$out")"
}

# tls_certs DIR NAME...: for each NAME, a certificate authority DIR/ca-NAME.pem
# and a server certificate for 127.0.0.1 signed by it (DIR/srv-NAME.pem, .key).
tls_certs()
{
    local dir=$1 n
    shift
    printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n' >"$dir/ext.cnf"
    for n in "$@"; do
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
            -keyout "$dir/ca-$n.key" -out "$dir/ca-$n.pem" -subj "/CN=coffer test CA $n" 2>/dev/null
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
            -keyout "$dir/srv-$n.key" -out "$dir/srv-$n.csr" -subj /CN=127.0.0.1 2>/dev/null
        openssl x509 -req -in "$dir/srv-$n.csr" -CA "$dir/ca-$n.pem" -CAkey "$dir/ca-$n.key" \
            -CAcreateserial -days 2 -extfile "$dir/ext.cnf" -out "$dir/srv-$n.pem" 2>/dev/null
    done
}
