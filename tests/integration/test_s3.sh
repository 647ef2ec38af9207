#!/usr/bin/env bash
# The s3 storage backend against a real Ceph RGW started here (scripts/lib/ceph.sh):
# the storage conformance suite runs against it; cofferd with storage_backend = s3
# stores a multipart version (40 MiB, s3_part_size 5MiB) that downloads whole, as
# stored bytes (Accept-Encoding: zstd) and in ranges across frame boundaries;
# a wrong secret and a stopped RGW make /health report the storage down (and
# uploads fail with storage_unavailable, keeping nothing), a restarted RGW
# brings it back without a cofferd restart; a cofferd killed with SIGKILL in
# the middle of two multipart uploads leaves, once the clean-up passes have
# run, no version, no object and no multipart upload: one upload through its
# stale pending row, the other (whose row is gone) through the sweep of stale
# multipart uploads; a stray multipart upload under a committed version's key
# is swept too, and the version's object stays; an upload whose row the
# clean-up gave up for dead (a slow instance, not a dead one) cannot commit
# afterwards.
source "$(dirname "$0")/lib.sh"
# shellcheck source=../../scripts/lib/ceph.sh
source "$COFFER_SOURCE/scripts/lib/ceph.sh"
for tool in ceph-mon ceph-osd radosgw zstd; do
    command -v "$tool" >/dev/null || { echo "FAIL: $tool is missing (scripts/lib/deps.sh installs the test packages)"; exit 1; }
done
itest_begin
EXTRA_PIDS=()
s3_cleanup()
{
    local pid
    for pid in "${EXTRA_PIDS[@]}"; do
        kill -9 "$pid" 2>/dev/null || true
    done
    [[ -z $COFFERD_PID ]] || kill -9 "$COFFERD_PID" 2>/dev/null || true
    itest_cleanup # stops RGW (rgw_start)
}
trap s3_cleanup EXIT

rgw_start

# --- the storage interface's conformance suite, against RGW ------------------
conformance=$COFFER_BIN/../tests/unit_server_test_store_conformance
"$conformance" >"$ITEST_DIR/conformance.log" 2>&1
rc=$?
check "the conformance suite passes against RGW (exit $rc)" test "$rc" -eq 0
check "it ran its S3 cases" test "$(grep -c 'OK \] test_large_multipart_object' "$ITEST_DIR/conformance.log")" -eq 2
check "virtual-host addressing among them" grep -q 'OK \] test_s3_virtual_host_addressing' "$ITEST_DIR/conformance.log"
((rc == 0)) || grep -E 'FAILED|ERROR|Failure' "$ITEST_DIR/conformance.log" | head -n 20

# --- cofferd on RGW -----------------------------------------------------------
printf 'not-the-secret\n' >"$ITEST_DIR/wrong.secret"
chmod 600 "$ITEST_DIR/wrong.secret"
cofferd_start_s3 "itest-$$/"
C=/api/stable/repository/collection
api POST /api/stable/accounts -d '{"id": "acct", "name": "Acct"}'
api POST "$C" -d '{"id": "col", "account_id": "acct"}'
expect 201 "create collection"

health() { TOKEN='' api GET "/health?code=$HEALTH_CODE" --max-time 30; }

# --- a cofferd killed mid-upload (its leftovers are checked at the end, once
# the clean-up passes have had their 30 s) -----------------------------------------
# slow_upload: streams 16 MiB of random bytes (three parts' worth once
# compressed), then waits as a stalled client would; prints curl's PID.
slow_upload()
{
    (
        head -c 16777216 /dev/urandom
        exec sleep 120
    ) 2>/dev/null | curl -sS -o /dev/null -H "Authorization: Bearer $TOKEN" \
        -H 'Expect:' -X POST -T - "$COFFER_URL$C/col/versions" >/dev/null 2>&1 &
    echo $!
}
EXTRA_PIDS+=("$(slow_upload)" "$(slow_upload)")
two_uploads() { test "$(rgw_uploads | count_lines)" -ge 2; }
check "two multipart uploads are in progress in the bucket" wait_until 60 two_uploads
eq "two pending uploads are recorded" "$(itest_sql "SELECT count(*) FROM pending_uploads")" 2
kill -9 "$COFFERD_PID"
wait "$COFFERD_PID" 2>/dev/null || true
COFFERD_PID=
for pid in "${EXTRA_PIDS[@]}"; do
    pkill -P "$pid" 2>/dev/null || true
    kill "$pid" 2>/dev/null || true
done
eq "the killed server left its multipart uploads" "$(rgw_uploads | count_lines)" 2
# One upload loses its row, as when the row went but the abort did not reach
# the store: only the sweep of stale multipart uploads can find it.
orphan=$(itest_sql "DELETE FROM pending_uploads WHERE storage_key = (SELECT min(storage_key) FROM pending_uploads)
    RETURNING storage_key")
check "one pending row removed by hand" test -n "$orphan"
dead=$(itest_sql "SELECT storage_key FROM pending_uploads")
killed_at=$(date +%s)
cofferd_start

# --- a multipart version, downloaded every way ------------------------------------
(
    set +o pipefail
    seq -f "line %.0f of a dump" 1 2000000 | head -c 8388608
    head -c 33554432 /dev/urandom
    printf 'the very end'
) >"$ITEST_DIR/data"
size=$(stat -c %s "$ITEST_DIR/data")
api POST "$C/col/versions" --data-binary @"$ITEST_DIR/data" -H 'Expect:'
expect 201 "a 40 MiB upload to S3"
key=$(jbody .version.id)
stored=$(jbody .version.stored_size)
check "the object is in the bucket under the prefix" grep -qx "$S3_PREFIX$key" <(rgw_objects)
status=$(ceph_rgw_s3 "$CEPH_DIR" GET "/$COFFER_TEST_S3_BUCKET/$S3_PREFIX$key" -r 0-0 -D "$ITEST_DIR/s3-headers")
eq "RGW serves it" "$status" 206
etag=$(grep -i '^etag:' "$ITEST_DIR/s3-headers" | tr -d '\r"' | cut -d' ' -f2)
parts=$(((stored + 5242879) / 5242880))
eq "it went up as a multipart upload of $parts parts of 5 MiB" "${etag##*-}" "$parts"
check "its size is the stored size" grep -qi "^content-range: bytes 0-0/$stored" "$ITEST_DIR/s3-headers"
eq "no multipart upload of it is left" "$(rgw_uploads | grep -c "$key" || true)" 0
# A CreateMultipartUpload tried again after its answer was lost leaves a
# second, empty upload under the key, whose version then commits: the sweep
# must abort it (checked at the end), and leave the object alone.
eq "a stray multipart upload under the version's key" \
    "$(ceph_rgw_s3 "$CEPH_DIR" POST "/$COFFER_TEST_S3_BUCKET/$S3_PREFIX$key?uploads=")" 200

api GET "$C/col/versions/latest"
expect 200 "download"
check "the whole download matches" cmp -s "$ITEST_DIR/body" "$ITEST_DIR/data"
api GET "$C/col/versions/latest" -H 'Accept-Encoding: zstd'
expect 200 "the stored bytes"
eq "as many as stored" "$(stat -c %s "$ITEST_DIR/body")" "$stored"
check "they decode to the original" cmp -s <(zstd -dc "$ITEST_DIR/body") "$ITEST_DIR/data"
frame=8388608
for range in 0-99 $((frame - 10))-$((frame + 10)) $((2 * frame - 4096))-$((3 * frame + 4096)) \
    $((4 * frame + 1))-$((4 * frame + 1)) $((size - 1048576))-$((size - 1)); do
    first=${range%-*}
    last=${range#*-}
    api GET "$C/col/versions/latest" -H "Range: bytes=$range"
    expect 206 "range $range"
    check "range $range matches the original" \
        cmp -s "$ITEST_DIR/body" <(tail -c +$((first + 1)) "$ITEST_DIR/data" | head -c $((last - first + 1)))
done

# --- /health -----------------------------------------------------------------
health
expect 200 "health with RGW up"
eq "health: storage" "$(jbody .status.storage)" true

# Another instance with the wrong secret: storage down, with the reason.
wrong_port=$(pg_free_port)
"$COFFER_BIN/cofferd" --config "$ITEST_DIR/cofferd.conf" --port="$wrong_port" \
    --s3-secret-key-file="$ITEST_DIR/wrong.secret" serve >>"$ITEST_DIR/wrong.log" 2>&1 &
wrong_pid=$!
EXTRA_PIDS+=("$wrong_pid")
wrong_up() { curl -fsS "http://127.0.0.1:$wrong_port/live" >/dev/null 2>&1; }
check "an instance with the wrong secret starts" wait_until 20 wrong_up
STATUS=$(curl -sS -o "$ITEST_DIR/body" -w '%{http_code}' "http://127.0.0.1:$wrong_port/health?code=$HEALTH_CODE")
BODY=$(cat "$ITEST_DIR/body")
expect 503 "health with the wrong secret"
eq "health: storage false" "$(jbody .status.storage)" false
eq "health: database true" "$(jbody .status.database)" true
check "health: the store's refusal is the message" grep -q '403 SignatureDoesNotMatch' <<<"$(jbody '.messages.storage[0]')"
check "the secret is not logged" bash -c "! grep -q '$COFFER_TEST_S3_SECRET_KEY\|not-the-secret' '$ITEST_DIR/wrong.log' '$ITEST_DIR/cofferd.log'"
kill -TERM "$wrong_pid"
rc=0
wait "$wrong_pid" || rc=$?
check "the wrong-secret instance exits cleanly (exit $rc)" test "$rc" -eq 0

# RGW stopped: the storage is down, uploads fail and keep nothing; RGW back: all is well.
versions_before=$(itest_sql "SELECT count(*) FROM versions")
ceph_rgw_stop_gateway "$CEPH_DIR"
health
expect 503 "health with RGW stopped"
eq "health: storage false" "$(jbody .status.storage)" false
check "health: the message says the store cannot be reached" grep -q 'cannot reach the store' <<<"$(jbody '.messages.storage[0]')"
head -c 1048576 /dev/urandom >"$ITEST_DIR/small"
api POST "$C/col/versions" --data-binary @"$ITEST_DIR/small" -H 'Expect:'
expect 503 storage_unavailable "a small upload with RGW stopped"
eq "its error" "$(jbody .error)" "the storage is unavailable; try again later"
check "the log says why" grep -q "POST $C/col/versions: S3 PUT $S3_PREFIX.*cannot reach the store" "$ITEST_DIR/cofferd.log"
api POST "$C/col/versions" --data-binary @"$ITEST_DIR/data" -H 'Expect:'
expect 503 storage_unavailable "a multipart upload with RGW stopped"
eq "no version was recorded" "$(itest_sql "SELECT count(*) FROM versions")" "$versions_before"
eq "no pending upload is left but the killed server's" \
    "$(itest_sql "SELECT count(*) FROM pending_uploads WHERE storage_key <> '$dead'")" 0
ceph_rgw_start_gateway "$CEPH_DIR" || check "RGW restarts" false
health_up() { health; test "$STATUS" = 200; }
check "health recovers without a cofferd restart" wait_until 30 health_up
eq "health: storage true again" "$(jbody .status.storage)" true
api POST "$C/col/versions" --data-binary @"$ITEST_DIR/small" -H 'Expect:'
expect 201 "uploads work again"
small_key=$(jbody .version.id)
api GET "$C/col/versions/latest"
check "and download" cmp -s "$ITEST_DIR/body" "$ITEST_DIR/small"

# --- an upload the clean-up gave up for dead cannot commit -----------------------
# Its instance was slow, not dead (say another instance's pass saw its
# heartbeat stale): once the pass has taken the pending row and removed the
# bytes, a commit that still came would make a version without bytes.
mkfifo "$ITEST_DIR/feed"
curl -sS -o "$ITEST_DIR/given-up.body" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" -H 'Expect:' \
    -X POST -T "$ITEST_DIR/feed" "$COFFER_URL$C/col/versions" >"$ITEST_DIR/given-up.status" 2>&1 &
feeder=$!
EXTRA_PIDS+=("$feeder")
exec 7>"$ITEST_DIR/feed"
head -c 1048576 /dev/urandom >&7
given_up_key=
pending_mine() {
    given_up_key=$(itest_sql "SELECT storage_key FROM pending_uploads WHERE storage_key <> '$dead'")
    [[ -n $given_up_key ]]
}
check "the upload is pending" wait_until 30 pending_mine
# Another instance's row, with a stale heartbeat: this instance's own beats no
# longer refresh it, and its next clean-up pass (every 5 s) takes it as dead.
itest_sql "UPDATE pending_uploads SET instance_id = gen_random_uuid(), heartbeat_at = now() - interval '1 hour'
    WHERE storage_key = '$given_up_key'" >/dev/null
given_up() {
    test "$(itest_sql "SELECT count(*) FROM pending_uploads WHERE storage_key = '$given_up_key'")" -eq 0
}
check "the clean-up pass gives it up" wait_until 30 given_up
head -c 1048576 /dev/urandom >&7
exec 7>&-
wait "$feeder" || true
check "its commit is refused (got $(cat "$ITEST_DIR/given-up.status"))" \
    test "$(cat "$ITEST_DIR/given-up.status")" -ge 500
eq "no version points at its key" "$(itest_sql "SELECT count(*) FROM versions WHERE storage_key = '$given_up_key'")" 0
no_given_up_object() { ! rgw_objects | grep -q "$given_up_key"; }
check "and no object of it is left" wait_until 30 no_given_up_object
eq "nor a doomed row" "$(itest_sql "SELECT count(*) FROM doomed_objects WHERE storage_key = '$given_up_key'")" 0

# --- deleting a version removes its object --------------------------------------
api DELETE "$C/col/versions/latest"
expect 204 "delete the small version"
gone() { ! rgw_objects | grep -qx "$S3_PREFIX$small_key"; }
check "its object leaves the bucket" wait_until 30 gone

# --- what the killed server left is cleaned up ------------------------------------
# The dead upload's heartbeat goes stale 30 s after its last beat, the
# orphan's multipart upload 30 s after it began; passes run every 10 s or so.
clean() { test "$(rgw_uploads | count_lines)" -eq 0 && test "$(itest_sql "SELECT count(*) FROM pending_uploads")" -eq 0; }
check "the clean-up passes abort both multipart uploads and forget the pending row" wait_until 90 clean
echo "cleaned up $(($(date +%s) - killed_at)) s after the kill"
eq "no multipart upload is left in the bucket" "$(rgw_uploads | count_lines)" 0
check "the sweep reported the orphan" grep -q "aborted the stale multipart upload of $S3_PREFIX$orphan" "$ITEST_DIR/cofferd.log"
check "and the stray upload under the version's key" \
    grep -q "aborted the stale multipart upload of $S3_PREFIX$key" "$ITEST_DIR/cofferd.log"
eq "one version remains" "$(itest_sql "SELECT count(*) FROM versions")" 1
eq "and the only object in the bucket is its object" "$(rgw_objects | tr '\n' ' ')" "$S3_PREFIX$key "

cofferd_stop
itest_finish
