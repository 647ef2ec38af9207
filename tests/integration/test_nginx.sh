#!/usr/bin/env bash
# The NGINX temp-file handoff with a real NGINX and conf/nginx.conf: a 2 GiB
# upload through NGINX comes back byte-identical; a client cannot name a server
# file, through NGINX or straight to cofferd (untrusted address, no secret,
# outside the temp directory, a symlink, a directory, a FIFO); the unix socket
# can be the only trusted way in; a client that gives up mid-upload leaves
# nothing; the client's address reaches cofferd through X-Real-IP.
source "$(dirname "$0")/lib.sh"
itest_begin
command -v nginx >/dev/null || { echo "nginx is missing (apt-get install nginx)"; exit 1; }
secret=proxy-secret-for-tests-0123456789
body_dir=$ITEST_DIR/nginx-body
mkdir -p "$body_dir" "$ITEST_DIR/nginx"
cofferd_start trusted_proxies=127.0.0.1 "nginx_temp_dir=$body_dir" "proxy_secret=$secret" \
    "listen_unix=$ITEST_DIR/cofferd.sock"
cofferd_url=$COFFER_URL
cofferd_port=${COFFER_URL##*:}

# conf/nginx.conf as shipped, with this test's port, paths and secret.
nginx_site nginx.conf "$body_dir" "$secret" "s|127.0.0.1:8080|127.0.0.1:$cofferd_port|" >"$ITEST_DIR/nginx/site.conf"
nginx_start "$ITEST_DIR/nginx/site.conf"

C=/api/stable/repository/collection
COFFER_URL=$NGINX_URL
api POST /api/stable/accounts -d '{"id": "acct", "name": "Acct"}'
expect 201 "API calls pass through NGINX"
api POST "$C" -d '{"id": "big", "account_id": "acct"}'

# 2 GiB, half compressible text, half random, through the handoff.
(
    set +o pipefail
    seq -f "INSERT INTO t VALUES (%.0f, 'some row text');" 1 40000000 | head -c 1073741824
    head -c 1073741824 /dev/urandom
) >"$ITEST_DIR/2g"
echo "[$SECONDS s] 2 GiB generated"
want=$(sha256sum "$ITEST_DIR/2g" | cut -d' ' -f1)
api POST "$C/big/versions" -T "$ITEST_DIR/2g" -X POST -H 'Expect:' -H "X-Content-SHA256: $want"
expect 201 "a 2 GiB upload through NGINX's handoff"
echo "[$SECONDS s] 2 GiB uploaded through NGINX"
eq "its size" "$(jbody .version.size)" 2147483648
eq "its checksum" "$(jbody .version.sha256)" "$want"
check "cofferd got it by path" grep -q "POST /api/stable/repository/collection/big/versions 201" "$ITEST_DIR/cofferd.log"
curl -sS -o "$ITEST_DIR/2g.back" -H "Authorization: Bearer $TOKEN" "$NGINX_URL$C/big/versions/latest"
check "the download through NGINX is byte-identical" cmp -s "$ITEST_DIR/2g" "$ITEST_DIR/2g.back"
echo "[$SECONDS s] 2 GiB downloaded and compared"
rm -f "$ITEST_DIR/2g" "$ITEST_DIR/2g.back"
eq "NGINX removed its temp file" "$(find "$body_dir" -type f | wc -l)" 0

# A client-sent X-Internal-Filename is replaced (uploads) or removed (elsewhere) by NGINX.
printf 'the real body\n' >"$ITEST_DIR/small"
api POST "$C/big/versions" --data-binary @"$ITEST_DIR/small" -H 'X-Internal-Filename: /etc/shadow'
expect 201 "an upload naming /etc/shadow through NGINX"
api GET "$C/big/versions/latest"
check "stores the body, not /etc/shadow" cmp -s "$ITEST_DIR/body" "$ITEST_DIR/small"
api POST "$C/big/versions" --data-binary @"$ITEST_DIR/small" -H "X-Coffer-Proxy-Secret: $secret" \
    -H 'X-Internal-Filename: /etc/shadow'
expect 201 "a client posing as NGINX through NGINX gets its own body stored"
api GET "$C/big/versions/latest"
check "still the body" cmp -s "$ITEST_DIR/body" "$ITEST_DIR/small"

# The client's address: NGINX passes it in X-Real-IP with the secret, and
# allowed_ips, logs and the audit trail see the client, not NGINX. Loopback
# answers on all of 127/8, so a client bound to 127.0.0.2 is a different client.
api POST /api/stable/auth/token -d '{"account_id": "acct", "permissions": ["versions.list"], "allowed_ips": ["127.0.0.2/32"]}'
expect 201 "a token usable from 127.0.0.2 only"
restricted_token=$(jbody .token)
TOKEN=$restricted_token api GET "$C/big/versions" --interface 127.0.0.2
expect 200 "through NGINX from 127.0.0.2: allowed_ips sees the client"
TOKEN=$restricted_token api GET "$C/big/versions"
expect 403 token_restricted "through NGINX from 127.0.0.1: refused"
TOKEN=$restricted_token api GET "$C/big/versions" -H 'X-Real-IP: 127.0.0.2'
expect 403 token_restricted "a client-sent X-Real-IP is replaced by NGINX"
TOKEN=$restricted_token COFFER_URL=$cofferd_url api GET "$C/big/versions" -H 'X-Real-IP: 127.0.0.2'
expect 403 token_restricted "X-Real-IP straight to cofferd without the secret is not believed"
TOKEN=$restricted_token COFFER_URL=$cofferd_url api GET "$C/big/versions" -H 'X-Real-IP: 127.0.0.2' \
    -H "X-Coffer-Proxy-Secret: $secret"
expect 200 "X-Real-IP with the proxy secret is believed"
check "cofferd's log names the client, not NGINX" grep -q "GET $C/big/versions 200 127.0.0.2" "$ITEST_DIR/cofferd.log"

# Straight to cofferd: every way of naming a file it must not read.
COFFER_URL=$cofferd_url
versions_before=$(itest_sql "SELECT count(*) FROM versions")
cp "$ITEST_DIR/small" "$body_dir/0000000001"
ln -s /etc/shadow "$body_dir/0000000002"
mkdir -p "$body_dir/0000000003"
mkfifo "$body_dir/0000000004"
refused()
{
    local what=$1
    shift
    api POST "$C/big/versions" "$@"
    expect 403 untrusted_internal_filename "$what"
}
refused "no proxy secret" -H "X-Internal-Filename: $body_dir/0000000001"
refused "a wrong proxy secret" -H "X-Internal-Filename: $body_dir/0000000001" -H "X-Coffer-Proxy-Secret: nope"
refused "/etc/shadow" -H 'X-Internal-Filename: /etc/shadow' -H "X-Coffer-Proxy-Secret: $secret"
refused "a path that climbs out" -H "X-Internal-Filename: $body_dir/../cofferd.conf" -H "X-Coffer-Proxy-Secret: $secret"
refused "a symlink to /etc/shadow" -H "X-Internal-Filename: $body_dir/0000000002" -H "X-Coffer-Proxy-Secret: $secret"
refused "a directory" -H "X-Internal-Filename: $body_dir/0000000003" -H "X-Coffer-Proxy-Secret: $secret"
refused "a FIFO" -H "X-Internal-Filename: $body_dir/0000000004" -H "X-Coffer-Proxy-Secret: $secret" --max-time 10
eq "nothing stored by the refusals" "$(itest_sql "SELECT count(*) FROM versions")" "$versions_before"
check "each refusal is logged" test "$(grep -c 'refused X-Internal-Filename' "$ITEST_DIR/cofferd.log")" -ge 7
api POST "$C/big/versions" -H "X-Internal-Filename: $body_dir/0000000001" -H "X-Coffer-Proxy-Secret: $secret"
expect 201 "a trusted address with the secret and a file inside the temp directory"
eq "the file's bytes are the version" "$(jbody .version.size)" "$(stat -c %s "$ITEST_DIR/small")"

# Over the unix socket: with trusted_proxies = unix only, TCP is refused and the socket accepted.
cofferd_stop
sed -i "s|^trusted_proxies = .*|trusted_proxies = unix|" "$ITEST_DIR/cofferd.conf"
cofferd_start
refused "TCP when only the unix socket is trusted" -H "X-Internal-Filename: $body_dir/0000000001" \
    -H "X-Coffer-Proxy-Secret: $secret"
STATUS=$(curl -sS -o "$ITEST_DIR/body" -w '%{http_code}' --unix-socket "$ITEST_DIR/cofferd.sock" \
    -H "Authorization: Bearer $TOKEN" -H "X-Internal-Filename: $body_dir/0000000001" \
    -H "X-Coffer-Proxy-Secret: $secret" -X POST "http://coffer$C/big/versions")
eq "the same request over the unix socket" "$STATUS" 201

echo "[$SECONDS s] trust rules checked"
# A client that gives up mid-upload: NGINX never calls cofferd, nothing is left.
COFFER_URL=$NGINX_URL
versions_before=$(itest_sql "SELECT count(*) FROM versions")
# (wait on the pipeline's job waits for the sleeper too: keep it short.)
(
    head -c 8388608 /dev/urandom
    exec sleep 4
) 2>/dev/null | curl -sS -o /dev/null -H "Authorization: Bearer $TOKEN" -H 'Expect:' -X POST -T - \
    "$NGINX_URL$C/big/versions" >/dev/null 2>&1 &
client=$!
sleep 2
kill "$client" 2>/dev/null || true
wait "$client" 2>/dev/null || true
sleep 1
eq "no version from the abandoned upload" "$(itest_sql "SELECT count(*) FROM versions")" "$versions_before"
eq "no temp file left by NGINX (its files live two levels down)" "$(find "$body_dir" -mindepth 2 -type f | wc -l)" 0
eq "no part file left in cofferd's storage" "$(find "$ITEST_DIR/storage/tmp" -type f | wc -l)" 0
echo "[$SECONDS s] abandoned upload checked"

cofferd_stop
itest_finish
