#!/usr/bin/env bash
# Uploads that do not finish leave nothing: a client that goes away mid-body,
# and a server killed with SIGKILL mid-body (whose leftovers the clean-up pass
# removes once their heartbeat is stale).
source "$(dirname "$0")/lib.sh"
itest_begin
cofferd_start

C=/api/stable/repository/collection
api POST /api/stable/accounts -d '{"id": "acct", "name": "Acct"}'
api POST "$C" -d '{"id": "col", "account_id": "acct"}'
expect 201 "create collection"

# slow_upload: streams 4 MiB, then waits, as a slow link would; prints curl's PID.
slow_upload()
{
    # No output of the sleeper may stay attached to ctest's pipes, or ctest waits for it.
    (
        head -c 4194304 /dev/urandom
        exec sleep 60
    ) 2>/dev/null | curl -sS -o /dev/null -H "Authorization: Bearer $TOKEN" \
        -H 'Expect:' -X POST -T - "$COFFER_URL$C/col/versions" >/dev/null 2>&1 &
    echo $!
}

# wait_for DESCRIPTION COMMAND...: polls up to 10 s.
wait_for()
{
    local what=$1 i
    shift
    for ((i = 0; i < 100; i++)); do
        if "$@"; then
            return 0
        fi
        sleep 0.1
    done
    echo "timed out waiting for $what"
    return 1
}
part_files() { find "$ITEST_DIR/storage/tmp" -name '*.part' | wc -l; }
has_part_file() { test "$(part_files)" -ge 1; }
pending_rows() { itest_sql "SELECT count(*) FROM pending_uploads"; }

# --- the client goes away
pid=$(slow_upload)
ITEST_PIDS+=("$pid")
check "the upload is in progress" wait_for "a part file" has_part_file
eq "a pending upload is recorded" "$(pending_rows)" 1
pkill -P "$pid" 2>/dev/null || true
kill "$pid" 2>/dev/null || true
no_part_file() { test "$(part_files)" -eq 0; }
check "the part file is removed when the client goes away" wait_for "no part file" no_part_file
eq "the pending upload is forgotten" "$(pending_rows)" 0
api GET "$C/col/versions"
eq "no version" "$(jbody '.versions | length')" 0

# --- the server dies
pid=$(slow_upload)
ITEST_PIDS+=("$pid")
check "the second upload is in progress" wait_for "a part file" has_part_file
kill -9 "$COFFERD_PID"
wait "$COFFERD_PID" 2>/dev/null || true
COFFERD_PID=
pkill -P "$pid" 2>/dev/null || true
kill "$pid" 2>/dev/null || true
eq "the dead upload left a part file" "$(part_files)" 1
eq "and its pending row" "$(pending_rows)" 1
cofferd_cmd cleanup >"$ITEST_DIR/cleanup.out" 2>&1
eq "a fresh heartbeat protects it from clean-up" "$(part_files)" 1
# Time passes: the heartbeat is older than stale_upload_timeout.
itest_sql "UPDATE pending_uploads SET heartbeat_at = now() - interval '1 day'" >/dev/null
cofferd_cmd cleanup >"$ITEST_DIR/cleanup.out" 2>&1
check "cleanup reports the dead upload" grep -q "removed 1 dead uploads" "$ITEST_DIR/cleanup.out"
eq "the clean-up pass removes the part file" "$(part_files)" 0
eq "and the pending row" "$(pending_rows)" 0

cofferd_start
api GET "$C/col/versions"
eq "still no version" "$(jbody '.versions | length')" 0
printf 'after the crash\n' >"$ITEST_DIR/small"
api POST "$C/col/versions" --data-binary @"$ITEST_DIR/small"
expect 201 "uploads work after the restart"
eq "numbering was not spent by failed uploads" "$(jbody .version.number)" 1
eq "one object stored" "$(find "$ITEST_DIR/storage/objects" -type f | wc -l)" 1
api GET "$C/col"
eq "usage counts only the committed version after the crash" "$(jbody .collection.usage.size)" \
    "$(stat -c %s "$ITEST_DIR/small")"
eq "and its stored bytes" "$(jbody .collection.usage.stored_size)" \
    "$(find "$ITEST_DIR/storage/objects" -type f -printf '%s')"

cofferd_stop
itest_finish
