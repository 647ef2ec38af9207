#!/usr/bin/env bash
# Parallel uploads cannot pass a limit: 8 uploads of 100 kB at once into a
# collection with room for 3 give exactly 3 x 201 and 5 x 413, twenty times
# over; likewise an account quota (507); numbers follow commit order and are
# never reused; failed commits leave no bytes and usage stays exact.
source "$(dirname "$0")/lib.sh"
itest_begin
cofferd_start

C=/api/stable/repository/collection
api POST /api/stable/accounts -d '{"id": "acct", "name": "Acct"}'
api POST /api/stable/accounts -d '{"id": "quota", "name": "Quota", "storage_quota": 300000}'
head -c 100000 /dev/urandom >"$ITEST_DIR/100k"

# eight_at_once COLLECTION: starts 8 uploads together and prints their statuses, sorted.
eight_at_once()
{
    local i pids=()
    for i in 1 2 3 4 5 6 7 8; do
        curl -sS -o "$ITEST_DIR/par.$i.body" -w '%{http_code}\n' -H "Authorization: Bearer $TOKEN" -H 'Expect:' \
            --data-binary @"$ITEST_DIR/100k" "$COFFER_URL$C/$1/versions" >"$ITEST_DIR/par.$i.status" &
        pids+=($!)
    done
    wait "${pids[@]}"
    cat "$ITEST_DIR"/par.*.status | sort | uniq -c | awk '{printf "%s x %s, ", $1, $2}'
}

for round in $(seq 1 20); do
    api POST "$C" -d "{\"id\": \"room-$round\", \"account_id\": \"acct\", \"max_collection_size\": 300000,
      \"strategy\": \"alert_when_too_many_versions\"}"
    outcome=$(eight_at_once "room-$round")
    eq "round $round: 3 accepted, 5 refused" "$outcome" "3 x 201, 5 x 413, "
    check "round $round: the refusals say collection_full" \
        test "$(cat "$ITEST_DIR"/par.*.body | grep -o '"collection_full"' | wc -l)" -eq 5
    eq "round $round: numbers 1 to 3" "$(itest_sql "SELECT string_agg(number::text, ',' ORDER BY number)
        FROM versions WHERE collection_id = 'room-$round'")" "1,2,3"
    eq "round $round: usage is exactly 300000" "$(itest_sql "SELECT used_size FROM collections WHERE id = 'room-$round'")" 300000
done

# The account quota holds the same way, across collections.
api POST "$C" -d '{"id": "q-one", "account_id": "quota"}'
api POST "$C" -d '{"id": "q-two", "account_id": "quota"}'
pids=()
for i in 1 2 3 4 5 6 7 8; do
    col=q-one
    ((i % 2)) || col=q-two
    curl -sS -o "$ITEST_DIR/par.$i.body" -w '%{http_code}\n' -H "Authorization: Bearer $TOKEN" -H 'Expect:' \
        --data-binary @"$ITEST_DIR/100k" "$COFFER_URL$C/$col/versions" >"$ITEST_DIR/par.$i.status" &
    pids+=($!)
done
wait "${pids[@]}"
eq "account quota: 3 accepted, 5 refused" "$(cat "$ITEST_DIR"/par.*.status | sort | uniq -c | awk '{printf "%s x %s, ", $1, $2}')" \
    "3 x 201, 5 x 507, "
eq "the account stores exactly its quota" "$(itest_sql "SELECT used_size FROM accounts WHERE id = 'quota'")" 300000
# A chunked body declares no length: it is cut off once it passes the room the quota leaves.
head -c 600000 /dev/urandom >"$ITEST_DIR/600k"
api POST "$C/q-one/versions" -H 'Transfer-Encoding: chunked' --data-binary @"$ITEST_DIR/600k"
expect 507 account_quota_exceeded "a chunked upload into a full account"
check "the refusal names the quota" grep -q "storage_quota" <<<"$BODY"

# Without limits, 8 at once all land, numbered 1 to 8 with no gap and no repeat.
api POST "$C" -d '{"id": "open", "account_id": "acct"}'
eq "8 unlimited uploads" "$(eight_at_once open)" "8 x 201, "
eq "numbers 1 to 8" "$(itest_sql "SELECT string_agg(number::text, ',' ORDER BY number) FROM versions
    WHERE collection_id = 'open'")" "1,2,3,4,5,6,7,8"

# alert_when_too_many_versions: the version past max_versions is refused, before
# its body when the collection is already full, and nothing is deleted.
api POST "$C" -d '{"id": "alert", "account_id": "acct", "max_versions": 2, "strategy": "alert_when_too_many_versions"}'
eq "alert strategy: 2 of 8 land" "$(eight_at_once alert)" "2 x 201, 6 x 409, "
check "the refusals say too_many_versions" \
    test "$(cat "$ITEST_DIR"/par.*.body | grep -o '"too_many_versions"' | wc -l)" -eq 6
api POST "$C/alert/versions" --data-binary @"$ITEST_DIR/100k" -H 'Expect: 100-continue'
expect 409 too_many_versions "one more, refused before its body"

# Collections created at once: max_collections and the declared sizes hold too.
api POST /api/stable/accounts -d '{"id": "few", "name": "Few", "max_collections": 2}'
api POST /api/stable/accounts -d '{"id": "declared", "name": "Declared", "storage_quota": 3000}'
# eight_creations ACCOUNT BODY-EXTRA: creates 8 collections at once and prints their statuses.
eight_creations()
{
    local i pids=()
    for i in 1 2 3 4 5 6 7 8; do
        curl -sS -o "$ITEST_DIR/par.$i.body" -w '%{http_code}\n' -H "Authorization: Bearer $TOKEN" \
            -d "{\"id\": \"$1-$i\", \"account_id\": \"$1\"$2}" "$COFFER_URL$C" >"$ITEST_DIR/par.$i.status" &
        pids+=($!)
    done
    wait "${pids[@]}"
    cat "$ITEST_DIR"/par.*.status | sort | uniq -c | awk '{printf "%s x %s, ", $1, $2}'
}
eq "max_collections 2: 2 of 8 creations" "$(eight_creations few '')" "2 x 201, 6 x 409, "
eq "quota 3000: 3 of 8 collections declaring 1000" "$(eight_creations declared ', "max_collection_size": 1000')" \
    "3 x 201, 5 x 507, "
eq "the account declares no more than its quota" \
    "$(itest_sql "SELECT sum(max_collection_size) FROM collections WHERE account_id = 'declared'")" 3000

# Nothing left behind by the refused uploads; usage equals what is stored.
eq "no part files" "$(find "$ITEST_DIR/storage/tmp" -type f | wc -l)" 0
eq "no pending uploads" "$(itest_sql "SELECT count(*) FROM pending_uploads")" 0
eq "one object per version" "$(find "$ITEST_DIR/storage/objects" -type f | wc -l)" \
    "$(itest_sql "SELECT count(*) FROM versions")"
eq "collection usage equals the sum of its versions" "$(itest_sql "SELECT count(*) FROM collections c WHERE
    used_versions <> (SELECT count(*) FROM versions v WHERE v.collection_id = c.id)
    OR used_size <> (SELECT coalesce(sum(size), 0) FROM versions v WHERE v.collection_id = c.id)
    OR used_stored_size <> (SELECT coalesce(sum(stored_size), 0) FROM versions v WHERE v.collection_id = c.id)")" 0
eq "account usage equals the sum of its versions" "$(itest_sql "SELECT count(*) FROM accounts a WHERE
    used_size <> (SELECT coalesce(sum(v.size), 0) FROM versions v JOIN collections c ON c.id = v.collection_id
                  WHERE c.account_id = a.id)")" 0
stored_bytes=$(find "$ITEST_DIR/storage/objects" -type f -printf '%s\n' | awk '{n += $1} END {print n + 0}')
eq "stored_size equals the bytes on disk" "$(itest_sql "SELECT sum(used_stored_size) FROM accounts")" "$stored_bytes"

cofferd_stop
itest_finish
