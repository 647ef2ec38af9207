#!/usr/bin/env bash
# coffer push, pull, restore and list against the real cofferd: 512 MiB from a
# backup command, pulled back and compared; a restore into a command; files,
# standard input and standard output; the server's download name without -o;
# silence when all is well and nobody watches (cron).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_client.sh"
itest_begin
cofferd_start
client_setup db files

# 512 MiB of deterministic, incompressible bytes, fast (AES-CTR over zeros).
gen='openssl enc -aes-128-ctr -nosalt -K 000102030405060708090a0b0c0d0e0f -iv 0 </dev/zero 2>/dev/null | head -c 536870912'
cat >>"$CLIENT_CONF" <<CONF

[backup big]
collection = db
command = $gen
restore_command = sha256sum > $ITEST_DIR/restored.sha

[backup files]
collection = files
command = printf 'line one\\nline two\\n'
restore_command = cat > $ITEST_DIR/restored.txt
CONF
want=$(sh -c "$gen" | sha256sum | cut -d' ' -f1)

# --- 512 MiB from a command, streamed (chunked, hash in the trailer)
rc coffer push big >"$ITEST_DIR/push.out" 2>"$ITEST_DIR/push.err"
eq "push of 512 MiB succeeds" "$RC" 0
eq "nothing on stdout" "$(stat -c %s "$ITEST_DIR/push.out")" 0
eq "nothing on stderr either: cron stays quiet" "$(stat -c %s "$ITEST_DIR/push.err")" 0
TOKEN=$ACME api HEAD /api/stable/repository/collection/db/versions/latest
eq "the server holds 512 MiB" "$(header Content-Length)" 536870912
eq "with the generator's SHA-256" "$(header X-Content-SHA256)" "$want"

rc coffer pull big -o "$ITEST_DIR/big.out"
eq "pull succeeds" "$RC" 0
check "the pulled file is the generator's output (cmp)" cmp -s <(sh -c "$gen") "$ITEST_DIR/big.out"
rm -f "$ITEST_DIR/big.out"
# On a terminal (script(1) gives it one): a progress line and what happened.
script -qec "$COFFER_BIN/coffer --config $CLIENT_CONF pull big -o $ITEST_DIR/big.out" /dev/null >"$ITEST_DIR/tty.out"
check "on a terminal a progress line is drawn" grep -Eq "pull big  [0-9.]+ [KMG]iB of [0-9.]+ [KMG]iB \([0-9]+%\)" \
    "$ITEST_DIR/tty.out"
check "and the result is said" grep -q "saved $ITEST_DIR/big.out (512 MiB, sha256 .* checked)" "$ITEST_DIR/tty.out"
rm -f "$ITEST_DIR/big.out"
eq "no temporary file left beside it" "$(find "$ITEST_DIR" -maxdepth 1 -name '.coffer-part-*' | wc -l)" 0

# --- restore into a command
rc coffer restore big
eq "restore succeeds" "$RC" 0
eq "the restore command got the 512 MiB" "$(cut -d' ' -f1 "$ITEST_DIR/restored.sha")" "$want"

# --- small backups, -v says what happened
rc coffer -v push files 2>"$ITEST_DIR/v.err"
eq "push -v" "$RC" 0
check "-v names the stored version" grep -q "version 1 (18 B" "$ITEST_DIR/v.err"
printf 'from a file\n' >"$ITEST_DIR/plain.txt"
rc coffer push files "$ITEST_DIR/plain.txt"
eq "push NAME FILE (Content-Length and a header hash)" "$RC" 0
printf 'from standard input\n' | coffer push --collection files - && RC=0 || RC=$?
eq "push --collection ID - (no definition)" "$RC" 0
eq "three versions of files" "$(version_count files)" 3

rc coffer pull files 2 -o "$ITEST_DIR/v2.txt"
check "pull of version 2 by number" cmp -s "$ITEST_DIR/plain.txt" "$ITEST_DIR/v2.txt"
rc coffer pull --collection files v1 -o - >"$ITEST_DIR/stdout.txt"
eq "pull -o - exits 0" "$RC" 0
eq "pull -o - writes to standard output" "$(cat "$ITEST_DIR/stdout.txt")" "$(printf 'line one\nline two')"

# Without -o: the server's download name in the current directory, never overwritten.
mkdir -p "$ITEST_DIR/cwd"
(cd "$ITEST_DIR/cwd" && coffer pull files) && RC=0 || RC=$?
eq "pull without -o" "$RC" 0
check "saved under the server's name files-v3" cmp -s "$ITEST_DIR/cwd/files-v3" <(printf 'from standard input\n')
echo "keep me" >"$ITEST_DIR/cwd/files-v3"
(cd "$ITEST_DIR/cwd" && coffer pull files 2>"$ITEST_DIR/exists.err") && RC=0 || RC=$?
eq "an existing file is not overwritten (exit 7)" "$RC" 7
eq "and keeps its content" "$(cat "$ITEST_DIR/cwd/files-v3")" "keep me"
check "the message says what to do" grep -q "already exists; remove it or name another file with -o" \
    "$ITEST_DIR/exists.err"
eq "no temporary file left in the directory" "$(find "$ITEST_DIR/cwd" -name '.coffer-part-*' | wc -l)" 0

rc coffer restore files 1
eq "restore of version 1" "$RC" 0
eq "the restore command got version 1" "$(cat "$ITEST_DIR/restored.txt")" "$(printf 'line one\nline two')"

# --- list
rc coffer list files >"$ITEST_DIR/list.txt"
eq "list exits 0" "$RC" 0
eq "list: a header and three versions" "$(wc -l <"$ITEST_DIR/list.txt")" 4
check "list shows sizes in bytes when not on a terminal" grep -Eq '^3 +[0-9TZ:-]+ +[0-9TZ:-]+ +20 ' "$ITEST_DIR/list.txt"
coffer list --collection files --json >"$ITEST_DIR/list.json"
eq "list --json is the server's answer" "$(jq '.versions | map(.number) | join(",")' -r "$ITEST_DIR/list.json")" "1,2,3"
coffer list >"$ITEST_DIR/backups.txt"
check "list without NAME shows the configured backups and their newest version" \
    grep -Eq '^files +files +3 +3 +[0-9TZ:-]+ +[0-9TZ:-]+ +20$' "$ITEST_DIR/backups.txt"
check "one row per [backup] section" grep -Eq '^big +db +1 +1 ' "$ITEST_DIR/backups.txt"

# --- no configuration file at all: COFFER_URL and COFFER_TOKEN are enough
( cd "$ITEST_DIR" && COFFER_URL=$COFFER_URL COFFER_TOKEN=$ACME "$COFFER_BIN/coffer" push --collection files \
    "$ITEST_DIR/plain.txt" ) && RC=0 || RC=$?
eq "push with only COFFER_URL and COFFER_TOKEN" "$RC" 0
eq "four versions of files" "$(version_count files)" 4
( cd "$ITEST_DIR" && COFFER_URL=$COFFER_URL COFFER_TOKEN=$ACME "$COFFER_BIN/coffer" list ) \
    >"$ITEST_DIR/collections.txt" && RC=0 || RC=$?
eq "list without NAME and without [backup] sections" "$RC" 0
check "lists the collections the token sees" grep -Eq '^files +acme +4 ' "$ITEST_DIR/collections.txt"

# --- made_at: every way of pushing sends when its backup began, which the list shows
coffer list --collection files --json >"$ITEST_DIR/made.json"
eq "every version has a made_at (command, FILE, -, no configuration)" \
    "$(jq '[.versions[] | select(.made_at == null)] | length' "$ITEST_DIR/made.json")" 0
made=$(jq -r '.versions[0].made_at' "$ITEST_DIR/made.json")
created=$(jq -r '.versions[0].created_at' "$ITEST_DIR/made.json")
gap=$(($(date -d "$created" +%s) - $(date -d "$made" +%s)))
check "a direct push is made just before it is stored (made_at $made, created_at $created)" \
    test "$gap" -ge 0 -a "$gap" -le 60
coffer list --collection files >"$ITEST_DIR/list.txt"
check "coffer list shows made_at beside created_at" grep -Eq "^1 +$created +$made " "$ITEST_DIR/list.txt"

# --- rotation is reported: -v names the versions it deleted, --json lists them
TOKEN=$ACME api POST /api/stable/repository/collection \
    -d '{"id": "rotating", "max_versions": 2, "strategy": "delete_oldest_when_adding_new"}'
expect 201 "a collection that keeps two versions"
echo "backup 1" | coffer push --collection rotating --json - >"$ITEST_DIR/rot1.json" && RC=0 || RC=$?
eq "push --json" "$RC" 0
eq "--json: the version" "$(jq .version.number "$ITEST_DIR/rot1.json")" 1
eq "--json: nothing rotated" "$(jq -c .rotated "$ITEST_DIR/rot1.json")" "[]"
echo "backup 2" | coffer push --collection rotating -
echo "backup 3" | coffer push --collection rotating - 2>"$ITEST_DIR/rot-quiet.err"
eq "without -v rotation stays quiet (cron)" "$(stat -c %s "$ITEST_DIR/rot-quiet.err")" 0
echo "backup 4" | coffer -v push --collection rotating - 2>"$ITEST_DIR/rot.err" && RC=0 || RC=$?
eq "a streamed push that rotates" "$RC" 0
check "-v names the version rotated out" grep -qx "coffer push: rotating: rotation deleted version 2" "$ITEST_DIR/rot.err"
printf 'backup 5\n' >"$ITEST_DIR/five.txt"
rc coffer -v push --collection rotating --json "$ITEST_DIR/five.txt" >"$ITEST_DIR/rot5.json" 2>"$ITEST_DIR/rot5.err"
eq "a file push that rotates" "$RC" 0
eq "--json: the rotated numbers" "$(jq -c .rotated "$ITEST_DIR/rot5.json")" "[3]"
eq "--json: the stored version" "$(jq .version.number "$ITEST_DIR/rot5.json")" 5
check "-v names it for a file push too" grep -qx "coffer push: rotating: rotation deleted version 3" "$ITEST_DIR/rot5.err"
eq "two versions kept" "$(version_count rotating)" 2

# --- list without NAME with a machine token: the backups it may list, and a row for those it may not
TOKEN=$ACME api POST /api/stable/auth/token \
    -d '{"permissions": ["versions.upload", "versions.list"], "collections": ["files"]}'
expect 201 "a machine token for files only"
printf '%s\n' "$(jbody .token)" >"$ITEST_DIR/machine.token"
chmod 600 "$ITEST_DIR/machine.token"
rc coffer --token-file "$ITEST_DIR/machine.token" list >"$ITEST_DIR/machine.txt" 2>"$ITEST_DIR/machine.err"
eq "list with a machine token: exit 0" "$RC" 0
check "the backup it may list shows its newest version" grep -Eq '^files +files +4 +4 ' "$ITEST_DIR/machine.txt"
check "the other says why in its row" grep -Eq '^big +db +cannot list: .*\(not_found\)$' "$ITEST_DIR/machine.txt"
rc coffer --token-file "$ITEST_DIR/machine.token" list --json >"$ITEST_DIR/machine.json"
eq "list --json with a machine token: exit 0" "$RC" 0
eq "--json: one row per backup" "$(jq -c '[.backups[] | [.name, .collection]]' "$ITEST_DIR/machine.json")" \
    '[["big","db"],["files","files"]]'
eq "--json: the newest version" "$(jq '.backups[1].latest.number' "$ITEST_DIR/machine.json")" 4
eq "--json: the refusal" "$(jq -r '.backups[0].error.code' "$ITEST_DIR/machine.json")" not_found
TOKEN=$ACME api POST /api/stable/auth/token -d '{"permissions": ["versions.upload"], "collections": ["files"]}'
printf '%s\n' "$(jbody .token)" >"$ITEST_DIR/upload.token"
chmod 600 "$ITEST_DIR/upload.token"
rc coffer --token-file "$ITEST_DIR/upload.token" list >"$ITEST_DIR/upload.txt"
eq "list with an upload-only token: exit 0" "$RC" 0
check "its rows say the permission is missing" grep -Eq '^files +files +cannot list: .*\(permission_denied\)$' \
    "$ITEST_DIR/upload.txt"

cofferd_stop
itest_finish
