#!/usr/bin/env bash
# Retention end to end, with versions whose creation times span years (the
# test clock): each upload keeps what any rule selects and deletes the rest in
# the same commit, reported in "rotated"; many quick uploads cannot push out
# older generations; max_versions refuses rather than delete a kept version.
source "$(dirname "$0")/lib.sh"
itest_begin

# The test clock is refused in production configuration.
cofferd_config allow_test_clock=true app_env=prod
rc=0
cofferd_cmd serve >"$ITEST_DIR/refused.log" 2>&1 || rc=$?
eq "serve refuses allow_test_clock with app_env prod" "$rc" 1
check "and says why" grep -q "allow_test_clock is for test servers" "$ITEST_DIR/refused.log"

rm -f "$ITEST_DIR/cofferd.conf"
cofferd_start allow_test_clock=true app_env=test
C=/api/stable/repository/collection
api POST /api/stable/accounts -d '{"id": "acct", "name": "Acct"}'
api POST "$C" -d '{"id": "logs", "account_id": "acct", "strategy": "retention",
  "retention": {"keep_last": 2, "keep_daily": 3, "keep_monthly": 2, "keep_yearly": 2}}'
expect 201 "a retention collection"

# Rules without the strategy: the refusal names the field to add.
api POST "$C" -d '{"id": "rules", "account_id": "acct", "retention": {"keep_daily": 3}}'
expect 400 validation_failed "keep_daily without the retention strategy"
eq "the refusal names the strategy field" "$(jbody .fields.retention)" \
    'applies only with the retention strategy: add "strategy": "retention"'

# upload_at TIME: uploads a small version created at TIME into logs.
upload_at()
{
    printf 'backup taken at %s\n' "$1" >"$ITEST_DIR/body.in"
    api POST "$C/${2:-logs}/versions" --data-binary @"$ITEST_DIR/body.in" -H "X-Coffer-Test-Time: $1"
}
kept() { api GET "$C/logs/versions" && jbody '[.versions[].number] | join(",")'; }

# Each line: creation time, the numbers this upload rotates out, what is kept after it.
# Rules: keep_last 2, keep_daily 3, keep_monthly 2, keep_yearly 2.
while read -r at rotated after; do
    upload_at "$at"
    expect 201 "upload at $at"
    eq "created_at is the test clock's" "$(jbody .version.created_at)" "$at"
    eq "upload at $at rotates out" "$(jbody '.rotated | sort | join(",")')" "${rotated#-}"
    eq "after $at the kept versions" "$(kept)" "$after"
done <<'PLAN'
2023-06-01T00:00:00Z - 1
2024-01-15T00:00:00Z - 1,2
2024-03-01T00:00:00Z - 1,2,3
2025-12-30T12:00:00Z 1 2,3,4
2025-12-31T10:00:00Z 2 3,4,5
2025-12-31T20:00:00Z - 3,4,5,6
2026-01-01T01:00:00Z 3,5 4,6,7
2026-01-01T02:00:00Z - 4,6,7,8
PLAN

# A stolen upload-only token cannot erase history by uploading fast.
api POST /api/stable/auth/token -d '{"account_id": "acct", "permissions": ["versions.upload"], "collections": ["logs"]}'
UPLOADER=$(jbody .token)
for i in 1 2 3 4 5 6; do
    TOKEN=$UPLOADER upload_at 2026-01-01T03:00:0${i}Z
    expect 201 "rapid upload $i"
done
eq "older daily, monthly and yearly generations survive" "$(kept)" "4,6,13,14"

# Uploads within the same second: the incoming version is the newest, so
# keep_last 2 keeps exactly the last two. Once on the test clock (all four at
# one second, every time) and once on the server's own clock.
for coll in same-second server-clock; do
    api POST "$C" -d '{"id": "'"$coll"'", "account_id": "acct", "strategy": "retention",
      "retention": {"keep_last": 2, "keep_daily": 3, "keep_monthly": 2, "keep_yearly": 2}}'
    expect 201 "collection $coll"
    answers=()
    for i in 1 2 3 4; do
        if [[ $coll == same-second ]]; then
            upload_at 2026-03-01T00:00:00Z "$coll"
        else
            api POST "$C/$coll/versions" --data-binary "quick upload $i"
        fi
        expect 201 "$coll: quick upload $i"
        answers+=("$(jbody '.rotated | tojson')")
    done
    eq "$coll: four quick uploads rotate" "${answers[*]}" "[] [] [1] [2]"
    api GET "$C/$coll/versions"
    eq "$coll: exactly the last two stay" "$(jbody '[.versions[].number] | join(",")')" "3,4"
done

# max_versions caps what retention keeps by refusing, never by deleting a kept version.
api POST "$C" -d '{"id": "capped", "account_id": "acct", "strategy": "retention", "max_versions": 3,
  "retention": {"keep_last": 10}}'
expect 201 "a capped retention collection"
for i in 1 2 3; do
    upload_at "2026-02-0${i}T00:00:00Z" capped
    expect 201 "capped upload $i"
done
upload_at 2026-02-04T00:00:00Z capped
expect 409 too_many_versions "the fourth version would exceed max_versions"
api GET "$C/capped/versions"
eq "nothing was deleted to make room" "$(jbody '[.versions[].number] | join(",")')" "1,2,3"

# Usage follows the deletions exactly.
api GET "$C/logs"
eq "usage counts the kept versions" "$(jbody .collection.usage.versions)" 4
eq "usage size is the sum of the kept versions" "$(jbody .collection.usage.size)" \
    "$(itest_sql "SELECT sum(size) FROM versions WHERE collection_id = 'logs'")"
eq "objects on disk match the versions" "$(find "$ITEST_DIR/storage/objects" -type f | wc -l)" \
    "$(itest_sql "SELECT count(*) FROM versions")"

cofferd_stop
itest_finish
