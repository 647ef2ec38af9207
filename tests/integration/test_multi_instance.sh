#!/usr/bin/env bash
# Two cofferd instances on different ports, sharing one PostgreSQL database and
# one bucket of a real Ceph RGW (scripts/lib/ceph.sh), behind a real NGINX
# running conf/nginx-upstream.conf (least_conn, the temp-file handoff):
#   - a version uploaded through instance 1 downloads byte-identical through
#     instance 2, and the other way round;
#   - parallel uploads through NGINX, spread over both instances, keep every
#     collection limit: max_collection_size (exactly the uploads that fit
#     succeed, the rest get 413 collection_full) and max_versions with
#     alert_when_too_many_versions (409 too_many_versions); the usage the API
#     reports is the sum of the versions kept;
#   - an instance killed with SIGKILL in the middle of an upload leaves no
#     version; the client's retry through NGINX reaches the live instance and
#     succeeds; once the live instance's clean-up pass has run, the bucket
#     holds no multipart upload and no object that is not a version's.
# Also: conf/haproxy.cfg, the other example for several instances, passes
# haproxy -c.
source "$(dirname "$0")/lib.sh"
# shellcheck source=../../scripts/lib/ceph.sh
source "$COFFER_SOURCE/scripts/lib/ceph.sh"
for tool in ceph-mon ceph-osd radosgw nginx haproxy; do
    command -v "$tool" >/dev/null || { echo "FAIL: $tool is missing (scripts/lib/deps.sh installs the test packages)"; exit 1; }
done
itest_begin
# NGINX and RGW are stopped by itest_cleanup (nginx_start, rgw_start).
multi_cleanup()
{
    if ((ITEST_FAILED > 0)) && [[ -f $ITEST_DIR/cofferd-2.log ]]; then
        echo "--- the end of instance 2's log:"
        tail -n 40 "$ITEST_DIR/cofferd-2.log"
    fi
    itest_cleanup
}
trap multi_cleanup EXIT

check "conf/haproxy.cfg passes haproxy -c" haproxy -c -q -f "$COFFER_SOURCE/conf/haproxy.cfg"

# The kill test's upload and its retry stay in RGW's memory at the same time
# (ceph_rgw_start reads it).
# shellcheck disable=SC2034
CEPH_RGW_MEMORY=$((2 * 1024 * 1024 * 1024))
rgw_start

# --- two instances, one configuration ---------------------------------------------
secret=proxy-secret-for-tests-0123456789
body_dir=$ITEST_DIR/nginx-body
mkdir -p "$body_dir" "$ITEST_DIR/nginx"
# cofferd_start_s3 makes the clean-up quick enough for the killed instance's upload to be cleaned within the test.
cofferd_start_s3 "multi-$$/" trusted_proxies=127.0.0.1 "nginx_temp_dir=$body_dir" "proxy_secret=$secret"
url1=$COFFER_URL
pid1=$COFFERD_PID
port1=${url1##*:}
port2=$(pg_free_port)
url2=http://127.0.0.1:$port2
# The second instance: the same file, only the port differs (as in conf/nginx-upstream.conf).
"$COFFER_BIN/cofferd" --config "$ITEST_DIR/cofferd.conf" --port="$port2" serve >>"$ITEST_DIR/cofferd-2.log" 2>&1 &
pid2=$!
ITEST_PIDS+=("$pid2")
for _ in $(seq 200); do curl -fsS "$url2/live" >/dev/null 2>&1 && break; sleep 0.05; done
check "instance 2 answers" curl -fsS -o /dev/null "$url2/ready"
# instance_of LOG: the instance id that log announces at start.
instance_of() { sed -n 's/.*listening on .*(instance \([0-9a-f-]*\)).*/\1/p' "$1" | tail -n1; }
id1=$(instance_of "$ITEST_DIR/cofferd.log")
id2=$(instance_of "$ITEST_DIR/cofferd-2.log")
check "two distinct instances ($id1, $id2)" test -n "$id1" -a -n "$id2" -a "$id1" != "$id2"

# conf/nginx-upstream.conf as shipped, with this test's ports, paths and secret;
# its upstream's third instance is not started here.
nginx_site nginx-upstream.conf "$body_dir" "$secret" "s|127.0.0.1:8080 |127.0.0.1:$port1 |" \
    "s|127.0.0.1:8081 |127.0.0.1:$port2 |" '/^    server 127.0.0.1:8082 /d' >"$ITEST_DIR/nginx/site.conf"
eq "the upstream names both instances" "$(grep -c "^    server 127.0.0.1:\($port1\|$port2\) " "$ITEST_DIR/nginx/site.conf")" 2
nginx_start "$ITEST_DIR/nginx/site.conf"

C=/api/stable/repository/collection
# uploads_logged LOG COLLECTION: how many uploads into COLLECTION that instance answered 201.
uploads_logged() { grep -c "POST $C/$2/versions 201" "$1" || true; }

# --- a version written by one instance is read by the other --------------------------
COFFER_URL=$url1
api POST /api/stable/accounts -d '{"id": "acct", "name": "Acct"}'
expect 201 "create an account through instance 1"
api POST "$C" -d '{"id": "shared", "account_id": "acct"}'
(
    set +o pipefail
    seq -f "INSERT INTO t VALUES (%.0f, 'some row text');" 1 2000000 | head -c 8388608
    head -c 12582912 /dev/urandom
) >"$ITEST_DIR/data"
api POST "$C/shared/versions" --data-binary @"$ITEST_DIR/data" -H 'Expect:'
expect 201 "a 20 MiB upload through instance 1 (a multipart object)"
key1=$(jbody .version.id)
COFFER_URL=$url2
api GET "$C/shared/versions/latest"
expect 200 "its download through instance 2"
check "is byte-identical" cmp -s "$ITEST_DIR/body" "$ITEST_DIR/data"
head -c 3000000 /dev/urandom >"$ITEST_DIR/data2"
api POST "$C/shared/versions" --data-binary @"$ITEST_DIR/data2" -H 'Expect:'
expect 201 "an upload through instance 2"
COFFER_URL=$url1
api GET "$C/shared/versions/2"
check "downloads byte-identical through instance 1" cmp -s "$ITEST_DIR/body" "$ITEST_DIR/data2"
api GET "$C/shared/versions/1" -H 'Range: bytes=8388000-8389000'
expect 206 "a range of version 1 through instance 1"
check "matches the original" cmp -s "$ITEST_DIR/body" <(tail -c +8388001 "$ITEST_DIR/data" | head -c 1001)
check "version 1's object is in the bucket" grep -qx "$S3_PREFIX$key1" <(rgw_objects)
echo "[$SECONDS s] cross-instance reads checked"

# --- parallel uploads through NGINX keep the limits -----------------------------------
COFFER_URL=$NGINX_URL
head -c 100000 /dev/urandom >"$ITEST_DIR/100k"
# eight_at_once COLLECTION: 8 uploads through NGINX at once; prints their statuses, counted.
eight_at_once()
{
    local i pids=()
    rm -f "$ITEST_DIR"/par.*
    for i in 1 2 3 4 5 6 7 8; do
        curl -sS -o "$ITEST_DIR/par.$i.body" -w '%{http_code}\n' -H "Authorization: Bearer $TOKEN" -H 'Expect:' \
            --data-binary @"$ITEST_DIR/100k" "$NGINX_URL$C/$1/versions" >"$ITEST_DIR/par.$i.status" &
        pids+=($!)
    done
    wait "${pids[@]}"
    cat "$ITEST_DIR"/par.*.status | sort | uniq -c | awk '{printf "%s x %s, ", $1, $2}'
}
# usage_is COLLECTION: the API's usage equals the sum over the versions kept.
usage_is()
{
    api GET "$C/$1"
    eq "$1: the API's version count is the rows'" "$(jbody .collection.usage.versions)" \
        "$(itest_sql "SELECT count(*) FROM versions WHERE collection_id = '$1'")"
    eq "$1: the API's size is the sum of the versions' sizes" "$(jbody .collection.usage.size)" \
        "$(itest_sql "SELECT coalesce(sum(size), 0) FROM versions WHERE collection_id = '$1'")"
    eq "$1: the API's stored size is the sum of the stored sizes" "$(jbody .collection.usage.stored_size)" \
        "$(itest_sql "SELECT coalesce(sum(stored_size), 0) FROM versions WHERE collection_id = '$1'")"
}
rounds=6
for round in $(seq 1 $rounds); do
    api POST "$C" -d "{\"id\": \"room-$round\", \"account_id\": \"acct\", \"max_collection_size\": 300000,
      \"strategy\": \"alert_when_too_many_versions\"}"
    eq "room-$round: 3 accepted, 5 refused" "$(eight_at_once "room-$round")" "3 x 201, 5 x 413, "
    check "room-$round: the refusals say collection_full" \
        test "$(cat "$ITEST_DIR"/par.*.body | grep -o '"collection_full"' | wc -l)" -eq 5
    eq "room-$round: numbers 1 to 3" "$(itest_sql "SELECT string_agg(number::text, ',' ORDER BY number)
        FROM versions WHERE collection_id = 'room-$round'")" "1,2,3"
    usage_is "room-$round"
    eq "room-$round: 300000 bytes used" "$(jbody .collection.usage.size)" 300000

    api POST "$C" -d "{\"id\": \"alert-$round\", \"account_id\": \"acct\", \"max_versions\": 2,
      \"strategy\": \"alert_when_too_many_versions\"}"
    eq "alert-$round: 2 accepted, 6 refused" "$(eight_at_once "alert-$round")" "2 x 201, 6 x 409, "
    check "alert-$round: the refusals say too_many_versions" \
        test "$(cat "$ITEST_DIR"/par.*.body | grep -o '"too_many_versions"' | wc -l)" -eq 6
    usage_is "alert-$round"
done
# Spread: NGINX sent accepted uploads to both instances over the rounds.
served1=0
served2=0
for round in $(seq 1 $rounds); do
    for col in "room-$round" "alert-$round"; do
        served1=$((served1 + $(uploads_logged "$ITEST_DIR/cofferd.log" "$col")))
        served2=$((served2 + $(uploads_logged "$ITEST_DIR/cofferd-2.log" "$col")))
    done
done
echo "accepted uploads: $served1 by instance 1, $served2 by instance 2"
check "instance 1 accepted some of the parallel uploads" test "$served1" -gt 0
check "instance 2 accepted some of the parallel uploads" test "$served2" -gt 0
eq "together every accepted upload" "$((served1 + served2))" "$((rounds * 5))"
api GET /api/stable/accounts/acct
eq "the account's usage is the sum over its collections" "$(jbody .account.usage.size)" \
    "$(itest_sql "SELECT sum(size) FROM versions v JOIN collections c ON c.id = v.collection_id
        WHERE c.account_id = 'acct'")"
echo "[$SECONDS s] limits checked"

# --- an instance killed with SIGKILL mid-upload ------------------------------------
api POST "$C" -d '{"id": "killed", "account_id": "acct"}'
# Half compressible text, half random: long enough to catch cofferd sending parts.
(
    set +o pipefail
    seq -f "INSERT INTO t VALUES (%.0f, 'some row text');" 1 20000000 | head -c 268435456
    head -c 268435456 /dev/urandom
) >"$ITEST_DIR/big"
big_sha=$(sha256sum "$ITEST_DIR/big" | cut -d' ' -f1)
curl -sS -o "$ITEST_DIR/killed.body" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" -H 'Expect:' \
    -X POST -T "$ITEST_DIR/big" "$NGINX_URL$C/killed/versions" >"$ITEST_DIR/killed.status" 2>&1 &
client=$!
# The instance writing it is the one whose pending upload has a multipart upload in the bucket.
writing() {
    dead_key=$(itest_sql "SELECT storage_key FROM pending_uploads WHERE collection_id = 'killed'")
    [[ -n $dead_key ]] && rgw_uploads | grep -qx "$S3_PREFIX$dead_key"
}
check "the upload reaches an instance and its parts reach the bucket" wait_until 120 writing
owner=$(itest_sql "SELECT instance_id FROM pending_uploads WHERE storage_key = '$dead_key'")
if [[ $owner == "$id1" ]]; then
    victim=$pid1 survivor_log=$ITEST_DIR/cofferd-2.log survivor_url=$url2
    COFFERD_PID=
else
    victim=$pid2 survivor_log=$ITEST_DIR/cofferd.log survivor_url=$url1
fi
echo "[$SECONDS s] killing instance $owner mid-upload"
kill -9 "$victim"
wait "$client" || true
check "the client is told the upload failed (got $(cat "$ITEST_DIR/killed.status"))" \
    test "$(cat "$ITEST_DIR/killed.status")" -ge 500
eq "no version from the killed upload" "$(itest_sql "SELECT count(*) FROM versions WHERE collection_id = 'killed'")" 0

# The client tries again through NGINX, which finds the killed instance gone.
retries_before=$(uploads_logged "$survivor_log" killed)
api POST "$C/killed/versions" -T "$ITEST_DIR/big" -X POST -H 'Expect:' -H "X-Content-SHA256: $big_sha"
expect 201 "the retry through NGINX"
# (The request's log line may come just after the answer.)
took_it() { test "$(uploads_logged "$survivor_log" killed)" -eq "$((retries_before + 1))"; }
check "the live instance took it" wait_until 10 took_it
eq "its checksum" "$(jbody .version.sha256)" "$big_sha"
retry_key=$(jbody .version.id)
COFFER_URL=$survivor_url
curl -sS -H "Authorization: Bearer $TOKEN" "$NGINX_URL$C/killed/versions/latest" | sha256sum | cut -d' ' -f1 \
    >"$ITEST_DIR/back.sha"
eq "it downloads whole through NGINX" "$(cat "$ITEST_DIR/back.sha")" "$big_sha"
rm -f "$ITEST_DIR/big"
echo "[$SECONDS s] retried; waiting for the clean-up"

# The dead upload's heartbeat goes stale 30 s after its last beat; the live
# instance's pass (every 5 s) then aborts its multipart upload.
clean() { test "$(rgw_uploads | count_lines)" -eq 0 && test "$(itest_sql "SELECT count(*) FROM pending_uploads")" -eq 0; }
check "the live instance's clean-up aborts the dead multipart upload and forgets its row" wait_until 120 clean
eq "no multipart upload is left in the bucket" "$(rgw_uploads | count_lines)" 0
no_dead_object() { ! rgw_objects | grep -q "$dead_key"; }
check "no object of the killed upload" no_dead_object
eq "the bucket holds exactly the versions' objects" "$(rgw_objects | sort | tr '\n' ' ')" \
    "$(itest_sql "SELECT '$S3_PREFIX' || storage_key FROM versions ORDER BY 1" | tr '\n' ' ')"
check "the retry's object is among them" grep -qx "$S3_PREFIX$retry_key" <(rgw_objects)
echo "[$SECONDS s] cleaned up"

COFFER_URL=$survivor_url
check "the surviving instance still serves" curl -fsS -o /dev/null "$survivor_url/ready"
if [[ $victim == "$pid1" ]]; then
    kill -TERM "$pid2"
    rc=0
    wait "$pid2" || rc=$?
    check "instance 2 exits cleanly on SIGTERM (exit $rc)" test "$rc" -eq 0
else
    cofferd_stop
fi
itest_finish
