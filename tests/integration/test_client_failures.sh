#!/usr/bin/env bash
# Failures and their exit codes: a backup command that exits 1 or is killed
# (exit 6, no version on the server, even after megabytes were sent), a
# failing restore command (6), refused tokens (2), an unreachable server (3),
# refusals (4), damaged stored bytes (5, no file) and an interrupted push.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_client.sh"
itest_begin
cofferd_start
client_setup db small

cat >>"$CLIENT_CONF" <<CONF

[backup db]
collection = db
command = printf 'a good backup\\n'
restore_command = cat > /dev/null; exit 3
CONF
cd "$ITEST_DIR"
rc coffer push db
eq "a first good version" "$RC" 0

# --- the backup command fails: exit 6, nothing kept
rc coffer push db --command 'head -c 20000000 /dev/zero; exit 1' 2>fail.err
eq "a command exiting 1 after 20 MB: exit 6" "$RC" 6
check "the message gives its status" grep -q "the backup command exited with status 1" fail.err
eq "no new version on the server" "$(version_count db)" 1
rc coffer push db --command 'head -c 5000000 /dev/zero; kill -KILL $$' 2>kill.err
eq "a command killed by a signal: exit 6" "$RC" 6
check "the message names the signal" grep -q "was killed by signal 9" kill.err
eq "still no new version" "$(version_count db)" 1
rc coffer push db --command 'exit 1' 2>/dev/null
eq "a command failing before any output: exit 6" "$RC" 6
rc coffer push db --command 'no-such-command-anywhere' 2>notfound.err
eq "a command that does not exist: exit 6" "$RC" 6
check "the message suggests why" grep -q "command not found" notfound.err
eq "still one version" "$(version_count db)" 1
# The server saw the aborted uploads and kept nothing of them.
no_parts() { test "$(find "$ITEST_DIR/storage/tmp" -type f 2>/dev/null | wc -l)" -eq 0; }
for ((i = 0; i < 50; i++)); do no_parts && break; sleep 0.1; done
check "no part file left in the server's storage" no_parts
eq "no pending upload row left" "$(itest_sql "SELECT count(*) FROM pending_uploads")" 0

# --- an interrupted push (SIGTERM) keeps nothing either
"$COFFER_BIN/coffer" --config "$CLIENT_CONF" push db --command 'head -c 3000000 /dev/zero; exec sleep 30' \
    2>term.err &
pid=$!
# Until the server holds part of the upload.
for ((i = 0; i < 100; i++)); do
    test "$(find "$ITEST_DIR/storage/tmp" -type f 2>/dev/null | wc -l)" -gt 0 && break
    sleep 0.1
done
kill -TERM "$pid"
wait "$pid" && RC=0 || RC=$?
check "an interrupted push fails (exit $RC)" test "$RC" -ne 0
eq "and keeps nothing" "$(version_count db)" 1

# --- the restore command fails: exit 6
rc coffer restore db 2>restore.err
eq "a restore command exiting 3: exit 6" "$RC" 6
check "the message gives its status" grep -q "the restore command exited with status 3" restore.err
rc coffer push db --command 'head -c 3000000 /dev/urandom'
eq "a second good version (3 MB, incompressible)" "$RC" 0
# --- pull -o -: the version waits in $TMPDIR with no name, so a killed pull
# leaves no copy of the backup there. Standard output is a pipe nobody reads:
# coffer blocks in writing it, its temporary file still open.
mkdir -m 700 pulltmp
mkfifo unread.fifo
exec 3<>unread.fifo
TMPDIR=$ITEST_DIR/pulltmp "$COFFER_BIN/coffer" --config "$CLIENT_CONF" pull db -o - >unread.fifo &
pid=$!
blocked() { grep -q pipe_write "/proc/$pid/wchan" 2>/dev/null || ls -l "/proc/$pid/fd" | grep -q "coffer-part.*(deleted)"; }
check "pull -o - gets to its temporary file" wait_until 20 blocked
eq "pull -o -: nothing named in \$TMPDIR" "$(find pulltmp -type f | wc -l)" 0
kill -KILL "$pid"
wait "$pid" 2>/dev/null || true
eq "pull -o - killed: nothing left in \$TMPDIR" "$(find pulltmp -type f | wc -l)" 0
exec 3>&-
rc coffer restore db --command 'head -c 3 >/dev/null' 2>early.err
eq "a restore command that stops reading 3 MB early: exit 6" "$RC" 6
check "the message says so" grep -q "stopped reading before the end" early.err

# --- tokens: exit 2
printf 'not.a.token\n' >bad.token
chmod 600 bad.token
rc coffer --token-file bad.token list db 2>bad.err
eq "a malformed token: exit 2" "$RC" 2
check "the server's sentence and code are shown" grep -q "(401 invalid_token)" bad.err
check "and what to do" grep -q "check the token" bad.err
check "the token never appears in messages" test "$(cat ./*.err | grep -c "$ACME")" -eq 0
TOKEN=$ACME api POST /api/stable/auth/token -d '{"permissions": ["versions.list"]}'
printf '%s\n' "$(jbody .token)" >list.token
chmod 600 list.token
rc coffer --token-file list.token push db 2>denied.err
eq "a token without versions.upload: exit 2" "$RC" 2
check "permission_denied is named" grep -q "permission_denied" denied.err
TOKEN=$ACME api DELETE "/api/stable/auth/token/$(jbody .token_id)"
rc coffer --token-file list.token list db 2>/dev/null
eq "a revoked token: exit 2" "$RC" 2
COFFER_TOKEN=$ACME rc "$COFFER_BIN/coffer" --url "$COFFER_URL" list --collection db >/dev/null
eq "COFFER_TOKEN and --url without a file" "$RC" 0

# --- a token that expires within 14 days: a warning with the date and the days
# left, once per command, and the command's status unchanged; silent for the
# 30 days of ACME's token
TOKEN=$ACME api POST /api/stable/auth/token -d '{"ttl": 255600, "permissions": ["versions.list"]}'
printf '%s\n' "$(jbody .token)" >short.token
chmod 600 short.token
expires=$(python3 -c 'import base64, json, sys, time
p = sys.argv[1].split(".")[1]
exp = json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))["exp"]
print(time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(exp)))' "$(cat short.token)")
rc coffer --token-file short.token list db >/dev/null 2>short.err
eq "a token expiring in 2 days and 23 hours still works: exit 0" "$RC" 0
check "the warning says the date and the days left ($expires)" \
    grep -q "^coffer list: the token expires on $expires, in 2 days: " short.err
check "and what to do" grep -q "ask an administrator for a new token (coffer admin token create) and put it into \
short.token$" short.err
eq "said once" "$(grep -c "token expires" short.err)" 1
rc coffer --token-file short.token -q list db >/dev/null 2>short-quiet.err
eq "not with -q" "$(grep -c "token expires" short-quiet.err)" 0
rc coffer --token-file short.token --url "http://127.0.0.1:$(pg_free_port)" list db 2>short-net.err
eq "exit status unchanged when the command fails (3)" "$RC" 3
eq "said once, however many retries" "$(grep -c "token expires" short-net.err)" 1
rc coffer list db >/dev/null 2>long.err
eq "ACME's 30-day token: no warning" "$(grep -c "token expire" long.err)" 0

# --- standard output that cannot be written (a full disk): exit 7, never 0
rc coffer list db --json >/dev/full 2>full.err
eq "list --json into a full disk: exit 7" "$RC" 7
check "the message says so" grep -q "cannot write standard output" full.err

# --- the network: exit 3
rc coffer -v --url "http://127.0.0.1:$(pg_free_port)" list db 2>net.err
eq "nobody listening: exit 3" "$RC" 3
check "the message names the address" grep -q "cannot talk to http://127.0.0.1:" net.err
check "the retries were announced (with -v)" grep -q "retry 2 of 2" net.err
rc coffer --url "http://127.0.0.1:$(pg_free_port)" list db 2>net-quiet.err
check "without -v and a terminal only the failure is printed" test "$(grep -c retry net-quiet.err)" -eq 0

# --- the retry budget is the command's, not each request's: with the default
# schedule (4 retries waiting 2, 4, 8 and 16 s: 30 s, docs/client.md) a
# spooled push and a sync of two spools give up within it (they took 150 and
# 180 s when every layer retried on its own); nobody listens on the port.
port=$(pg_free_port)
mkdir -p spool-a spool-b
# budget_conf [KEY = VALUE]: the configuration, with one more [server] line.
budget_conf()
{
    cat <<CONF
[server]
url = http://127.0.0.1:$port
token_file = $ITEST_DIR/acme.token
connect_timeout = 5
${1:-}

[backup a]
collection = db
command = printf 'spooled a\\n'
spool = $ITEST_DIR/spool-a

[backup b]
collection = other
command = printf 'spooled b\\n'
spool = $ITEST_DIR/spool-b
CONF
}
budget_conf >budget.conf
budget_conf "retries = 0" >no-retry.conf
budget() { "$COFFER_BIN/coffer" --config budget.conf -v "$@"; }
rc "$COFFER_BIN/coffer" --config no-retry.conf push b 2>/dev/null
eq "an entry waits in the second spool" "$(spool_count spool-b)" 1
start=$(date +%s)
rc budget push a 2>budget-push.err
took=$(($(date +%s) - start))
eq "a spooled push with the server down: exit 3" "$RC" 3
eq "it retried 4 times in all" "$(grep -c 'retry [0-9] of 4 in' budget-push.err)" 4
check "the waits were 2, 4, 8 and 16 s" grep -q "retry 4 of 4 in 16.0 s" budget-push.err
check "and it gave up within the documented 30 s (+15 s), not $took s" test "$took" -lt 45
start=$(date +%s)
rc budget sync 2>budget-sync.err
took=$(($(date +%s) - start))
eq "sync of two spools with the server down: exit 3" "$RC" 3
eq "it retried 4 times in all, not 4 per spool or per request" "$(grep -c 'retry [0-9] of 4 in' budget-sync.err)" 4
check "both spools were tried" grep -q "syncing $ITEST_DIR/spool-b" budget-sync.err
check "sync gave up within the documented 30 s (+15 s), not $took s" test "$took" -lt 45
eq "the entries wait" "$(($(spool_count spool-a) + $(spool_count spool-b)))" 2

# --- refusals: exit 4
rc coffer push --collection nosuch - <<<"data" 2>nosuch.err
eq "an unknown collection: exit 4" "$RC" 4
check "404 not_found" grep -q "(404 not_found)" nosuch.err
TOKEN=$ACME api PUT /api/stable/repository/collection/small -d '{"max_version_size": "1KB"}'
head -c 10000 /dev/zero >ten-kb
rc coffer push --collection small ten-kb 2>big.err
eq "too large for the collection (with Content-Length): exit 4" "$RC" 4
check "version_too_large" grep -q "version_too_large" big.err
rc coffer push --collection small --command 'head -c 10000 /dev/zero' 2>big2.err
eq "too large, streamed: exit 4" "$RC" 4
check "version_too_large, streamed" grep -q "version_too_large" big2.err
eq "nothing stored in small" "$(version_count small)" 0

# --- damaged storage: exit 5 and no file
object=$(find "$ITEST_DIR/storage/objects" -type f -size +100k | head -n1)
python3 -c 'import sys; p = sys.argv[1]; b = bytearray(open(p, "rb").read()); b[len(b) // 2] ^= 0xff
open(p, "wb").write(b)' "$object"
rc coffer pull db -o damaged.out 2>damaged.err
eq "a damaged stored object: exit 5" "$RC" 5
check "no output file" test ! -e damaged.out
check "no temporary file" test "$(find . -maxdepth 1 -name '.coffer-part-*' | wc -l)" -eq 0
rc coffer restore db --command 'cat > restored-damaged'
eq "restore of a damaged object: exit 5" "$RC" 5
check "the restore command never started" test ! -e restored-damaged

cd /
cofferd_stop
itest_finish
