#!/usr/bin/env bash
# coffer through a real NGINX with conf/nginx.conf (the temp-file handoff), as
# deployed: a streamed push from a command, a spooled push (length and hash
# header), a push whose command fails (nothing kept), an encrypted round trip,
# and pull and restore through the proxy.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_client.sh"
itest_begin
command -v nginx >/dev/null || { echo "nginx is missing (apt-get install nginx)"; exit 1; }
secret=proxy-secret-for-tests-0123456789
body_dir=$ITEST_DIR/nginx-body
mkdir -p "$body_dir" "$ITEST_DIR/nginx"
cofferd_start trusted_proxies=127.0.0.1 "nginx_temp_dir=$body_dir" "proxy_secret=$secret"
cofferd_port=${COFFER_URL##*:}
client_setup db

nginx_site nginx.conf "$body_dir" "$secret" "s|127.0.0.1:8080|127.0.0.1:$cofferd_port|" >"$ITEST_DIR/nginx/site.conf"
# One worker is enough for one client at a time.
nginx_start "$ITEST_DIR/nginx/site.conf" 1 64

cd "$ITEST_DIR"
"$COFFER_BIN/coffer" keygen key 2>/dev/null
sed -i "s|^url = .*|url = $NGINX_URL|" "$CLIENT_CONF"
gen='openssl enc -aes-128-ctr -nosalt -K 0f0e0d0c0b0a09080706050403020100 -iv 0 </dev/zero 2>/dev/null | head -c 50000000'
cat >>"$CLIENT_CONF" <<CONF

[backup stream]
collection = db
command = $gen
restore_command = sha256sum > $ITEST_DIR/restored.sha

[backup spooled]
collection = db
command = $gen
spool = $ITEST_DIR/spool

[backup sealed]
collection = db
command = $gen
key_file = $ITEST_DIR/key
CONF
want=$(sh -c "$gen" | sha256sum | cut -d' ' -f1)
handed_off() { grep -c "POST /api/stable/repository/collection/db/versions 201" "$ITEST_DIR/cofferd.log"; }

rc coffer push stream
eq "a streamed push through NGINX" "$RC" 0
eq "stored whole" "$(TOKEN=$ACME api HEAD /api/stable/repository/collection/db/versions/latest; header X-Content-SHA256)" "$want"
rc coffer push spooled
eq "a spooled push through NGINX" "$RC" 0
eq "the spool is empty" "$(spool_count "$ITEST_DIR/spool")" 0
eq "two versions" "$(version_count db)" 2
eq "X-Coffer-Made-At passes NGINX, on the handoff too: both have made_at" \
    "$(TOKEN=$ACME api GET /api/stable/repository/collection/db/versions
       jbody '[.versions[] | select(.made_at != null)] | length')" 2
eq "both reached cofferd through the handoff" "$(handed_off)" 2
rc coffer push stream --command 'head -c 20000000 /dev/zero; exit 1' 2>fail.err
eq "a failing command through NGINX: exit 6" "$RC" 6
eq "nothing kept" "$(version_count db)" 2
eq "NGINX kept no temp file" "$(find "$body_dir" -type f | wc -l)" 0

rc coffer pull stream -o pulled.bin
eq "pull through NGINX" "$RC" 0
check "gives the bytes back" cmp -s pulled.bin <(sh -c "$gen")
rc coffer restore stream 1
eq "restore through NGINX" "$RC" 0
eq "the restore command got them" "$(cut -d' ' -f1 restored.sha)" "$want"
rc coffer push sealed
eq "an encrypted push through NGINX" "$RC" 0
rc coffer pull sealed -o sealed.bin
eq "and its pull" "$RC" 0
check "decrypts to the bytes" cmp -s sealed.bin <(sh -c "$gen")

# NGINX does not pass the chunked trailer on, so cofferd cannot compare the
# hash of a streamed push; the client compares the stored version's hash with
# its own and deletes a version whose bytes were changed on the way. A proxy in
# front of NGINX alters one byte of the body (same length).
altering_proxy "$NGINX_PORT"
before=$(version_count db)
echo "streamed by coffer" >altered.txt
rc coffer --url "$ALTERING_PROXY_URL" push --collection db - <altered.txt 2>altered.err
eq "bytes changed on the way past NGINX: exit 5" "$RC" 5
check "the client says the changed version was deleted" grep -q "was deleted again" altered.err
eq "no version is left with the changed bytes" "$(version_count db)" "$before"

cd /
cofferd_stop
itest_finish
