#!/usr/bin/env bash
# The offline spool: a server stopped during a spooled push leaves the backup
# in the spool (exit 3) and `coffer sync` uploads it exactly once when the
# server is back; older entries go first; an entry whose upload reached the
# server although its answer was lost is recognised and not stored twice; newer
# versions on the server never make an entry go away; a refused entry stays
# while the next one goes; a failed command leaves nothing in the spool.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_client.sh"
itest_begin
cofferd_start
client_setup db other

cd "$ITEST_DIR"
SPOOL=$ITEST_DIR/spool
coffer keygen "$ITEST_DIR/key" 2>/dev/null
cat >>"$CLIENT_CONF" <<CONF

[backup gated]
collection = db
command = printf 'part one\\n'; while [ ! -e $ITEST_DIR/go ]; do sleep 0.05; done; printf 'part two\\n'
spool = $SPOOL

[backup db]
collection = db
command = cat $ITEST_DIR/next
spool = $SPOOL

[backup other]
collection = other
command = printf 'SPOOLED-PLAINTEXT of other\\n'
key_file = $ITEST_DIR/key
spool = $SPOOL
CONF
content() { TOKEN=$ACME api GET "/api/stable/repository/collection/$1/versions/$2" && cat body; }

# --- the server stops while the backup command runs
coffer push gated 2>gated.err &
pid=$!
for ((i = 0; i < 100; i++)); do
    test "$(find "$SPOOL" -name '*.part' 2>/dev/null | wc -l)" -gt 0 && break
    sleep 0.05
done
check "the backup is being written to the spool" test "$(find "$SPOOL" -name '*.part' | wc -l)" -eq 1
cofferd_stop
touch go
wait "$pid" && RC=0 || RC=$?
eq "the push fails with exit 3 (network)" "$RC" 3
check "and says the backup waits in the spool" grep -q "wait in the spool $SPOOL; \`coffer sync\` uploads" gated.err
eq "one complete entry in the spool" "$(spool_count "$SPOOL")" 1
eq "no partial file left" "$(find "$SPOOL" -name '*.part' | wc -l)" 0
rc coffer sync 2>/dev/null
eq "sync with the server still down: exit 3" "$RC" 3
eq "the entry stays" "$(spool_count "$SPOOL")" 1

cofferd_start
eq "nothing on the server yet" "$(version_count db)" 0
rc coffer sync
eq "sync after the server is back: exit 0" "$RC" 0
eq "exactly one version" "$(version_count db)" 1
eq "the spool is empty" "$(spool_count "$SPOOL")" 0
eq "the version holds the whole backup" "$(content db 1)" "$(printf 'part one\npart two')"
rc coffer sync
eq "a second sync: exit 0" "$RC" 0
eq "still exactly one version" "$(version_count db)" 1

# --- older entries go first, before the new one of a push
cofferd_stop
echo "backup A" >next
rc coffer push db 2>/dev/null
eq "push A while the server is down: exit 3" "$RC" 3
cofferd_start
echo "backup B" >next
rc coffer push db
eq "push B uploads A first, then B" "$RC" 0
eq "three versions" "$(version_count db)" 3
eq "version 2 is A" "$(content db 2)" "backup A"
eq "version 3 is B" "$(content db 3)" "backup B"
eq "the spool is empty" "$(spool_count "$SPOOL")" 0

# --- an upload whose answer was lost: recognised, not stored twice
cofferd_stop
echo "backup C" >next
rc coffer push db 2>/dev/null
eq "push C while the server is down: exit 3" "$RC" 3
cofferd_start
entry=$(find "$SPOOL" -maxdepth 1 -name '*_db_*.coffer' | head -n1)
check "the entry is marked as tried" test -e "$SPOOL/.$(basename "$entry").tried"
# As if that attempt had reached the server and only its answer was lost:
TOKEN=$ACME api POST /api/stable/repository/collection/db/versions --data-binary @"$entry"
expect 201 "the entry's bytes are stored by hand"
rc coffer -v sync 2>lost.err
eq "sync: exit 0" "$RC" 0
eq "no second copy: still four versions" "$(version_count db)" 4
check "sync says an earlier attempt had stored it" grep -q "by an earlier attempt" lost.err
eq "the entry is gone" "$(spool_count "$SPOOL")" 0
eq "and so is its mark" "$(find "$SPOOL" -name '.*.tried' | wc -l)" 0

# The same bytes again as a new backup: a new version, though equal to the last one.
rc coffer push db
eq "push C again" "$RC" 0
eq "a fifth version" "$(version_count db)" 5

# --- newer versions on the server do not make an entry go away
cofferd_stop
echo "backup D (older than E)" >next
rc coffer push db 2>/dev/null
cofferd_start
echo "backup E" | coffer push --collection db - && RC=0 || RC=$?
eq "E, pushed directly, is newer than the spooled D" "$RC" 0
rc coffer sync
eq "sync uploads D all the same" "$RC" 0
eq "seven versions" "$(version_count db)" 7
eq "the latest is D" "$(content db latest)" "backup D (older than E)"

# --- a refused entry stays, the next one goes
cofferd_stop
rc coffer push other 2>/dev/null
echo "backup F" >next
rc coffer push db 2>/dev/null
cofferd_start
eq "two entries wait" "$(spool_count "$SPOOL")" 2
other_entry=$(find "$SPOOL" -maxdepth 1 -name '*_other_*.coffer')
check "the encrypted entry holds no plaintext" test "$(grep -c SPOOLED-PLAINTEXT "$other_entry")" -eq 0
TOKEN=$ACME api DELETE /api/stable/repository/collection/other
expect 204 "collection other is deleted"
rc coffer sync 2>refused.err
eq "sync with a refused entry: exit 4" "$RC" 4
check "the refusal is reported" grep -q "stays in the spool" refused.err
eq "the refused entry stays" "$(spool_count "$SPOOL")" 1
check "it is the entry of other" test -e "$other_entry"
eq "the next entry went up" "$(content db latest)" "backup F"
rm -f "$other_entry" "$SPOOL/.$(basename "$other_entry").tried"

# --- a failed command leaves nothing in the spool
rc coffer push db --command 'printf partial; exit 1' 2>/dev/null
eq "a failing command with a spool: exit 6" "$RC" 6
eq "no entry" "$(spool_count "$SPOOL")" 0
eq "no partial file" "$(find "$SPOOL" -name '*.part' | wc -l)" 0

# --- a push killed while writing leaves a .part file; the next upload sweeps it
"$COFFER_BIN/coffer" --config "$CLIENT_CONF" push db --command 'while :; do printf x; sleep 0.05; done' &
pid=$!
for ((i = 0; i < 100; i++)); do
    test "$(find "$SPOOL" -name '*.part' -size +0 | wc -l)" -gt 0 && break
    sleep 0.05
done
kill -KILL "$pid"
wait "$pid" 2>/dev/null || true
eq "the killed push left its .part file" "$(find "$SPOOL" -name '*.part' | wc -l)" 1
rc coffer sync
eq "sync: exit 0" "$RC" 0
eq "and the .part file of the dead run is gone" "$(find "$SPOOL" -name '*.part' | wc -l)" 0

# --- an upload-only token (no versions.list) still syncs
TOKEN=$ACME api POST /api/stable/auth/token -d '{"permissions": ["versions.upload"], "collections": ["db"]}'
printf '%s\n' "$(jbody .token)" >upload.token
chmod 600 upload.token
cofferd_stop
echo "backup G" >next
rc coffer --token-file upload.token push db 2>/dev/null
cofferd_start
rc coffer --token-file upload.token sync 2>upload.err
eq "sync with an upload-only token: exit 0" "$RC" 0
eq "G is stored" "$(content db latest)" "backup G"
check "with a warning that earlier attempts cannot be looked for" grep -q "versions.list" upload.err

# --- a spooled backup keeps the time it was made: made_at is the push's, created_at the sync's
cofferd_stop
echo "backup H" >next
rc coffer push db 2>/dev/null
eq "push H while the server is down: exit 3" "$RC" 3
sleep 2.2
cofferd_start
rc coffer sync
eq "sync H: exit 0" "$RC" 0
coffer list db --json >made.json
eq "the latest is H" "$(content db latest)" "backup H"
made=$(jq -r '.versions[-1].made_at' made.json)
created=$(jq -r '.versions[-1].created_at' made.json)
check "coffer list --json carries made_at" test "$made" != null
gap=$(($(date -d "$created" +%s) - $(date -d "$made" +%s)))
check "made_at ($made) is the push's, 2 s and more before created_at ($created), the sync's" test "$gap" -ge 2
coffer list db >made.txt
check "coffer list shows both" grep -Eq " $created +$made " made.txt

# --- sync -v names the versions the rotation of each upload deleted
TOKEN=$ACME api PUT /api/stable/repository/collection/db \
    -d "{\"max_versions\": $(version_count db), \"strategy\": \"delete_oldest_when_adding_new\"}"
expect 200 "db now keeps as many versions as it has"
first=$(TOKEN=$ACME api GET /api/stable/repository/collection/db/versions && jbody '.versions[0].number')
cofferd_stop
echo "backup I" >next
rc coffer push db 2>/dev/null
cofferd_start
rc coffer -v sync 2>rotated.err
eq "sync I: exit 0" "$RC" 0
check "sync -v names the version rotated out" grep -qx "coffer sync: db: rotation deleted version $first" rotated.err

cd /
cofferd_stop
itest_finish
