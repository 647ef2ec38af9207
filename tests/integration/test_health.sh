#!/usr/bin/env bash
# /health, /ready and /live while the dependencies fail and come back, with no
# cofferd restart: PostgreSQL stopped (and, for the deadline, frozen with
# SIGSTOP), then the storage (a small tmpfs) remounted read-only. Each 503
# must come within 5 s. Uses a private PostgreSQL cluster, since it stops it,
# and mounts a tmpfs (needs root).
source "$(dirname "$0")/lib.sh"
itest_begin
storage=$ITEST_DIR/storage
pg_dir=$ITEST_DIR/pg
PG_FROZEN=()
mkdir -p "$storage"
if ! mount -t tmpfs -o size=4m tmpfs "$storage"; then
    echo "FAIL: cannot mount a tmpfs (run as root): the health test cannot run"
    echo "0 passed, 1 failed"
    exit 1
fi
health_cleanup()
{
    local pid
    for pid in "${PG_FROZEN[@]}"; do
        kill -CONT "$pid" 2>/dev/null || true
    done
    # Kill cofferd before the storage goes away under it.
    [[ -z $COFFERD_PID ]] || kill -9 "$COFFERD_PID" 2>/dev/null || true
    umount -l "$storage" 2>/dev/null || true
    pg_cluster_stop "$pg_dir" >/dev/null 2>&1 || true
    itest_cleanup
}
trap health_cleanup EXIT
pg_cluster_init "$pg_dir" >/dev/null
pg_port=$(pg_free_port)
pg_cluster_start "$pg_dir" "$pg_port" fsync=off
pg_create_db "$pg_dir" "$pg_port" coffer >/dev/null
ITEST_DB_CONNINFO=$(pg_cluster_conninfo "$pg_dir" "$pg_port" coffer)
METRICS_CODE=metrics-code-for-tests-0123456789
# The default health_timeout_ms (4 s): the contract's 5 s must hold with it.
cofferd_start db_acquire_timeout_ms=2000 metrics_cache_seconds=0

now_ms()
{
    echo $(($(date +%s%N) / 1000000))
}

# get PATH: an unauthenticated GET; sets STATUS, BODY and MS (its duration).
get()
{
    local t0
    t0=$(now_ms)
    TOKEN='' api GET "$1" --max-time 30
    MS=$(($(now_ms) - t0))
}

# wait_for PATH STATUS LIMIT_MS: calls PATH until it answers STATUS, at most
# LIMIT_MS after the call (the last call may end a little later). Sets STATUS,
# BODY, MS (the last call's duration) and WAITED (ms from the first call to the
# answer).
wait_for()
{
    local path=$1 want=$2 limit=$3 t0
    t0=$(now_ms)
    while :; do
        get "$path"
        WAITED=$(($(now_ms) - t0))
        [[ $STATUS != "$want" && $WAITED -lt $limit ]] || break
        sleep 0.1
    done
}

HEALTHY='{"global_status":true,"ident":["global_status=True","storage=True","database=True"],"messages":{"database":[],"storage":[]},"status":{"database":true,"storage":true}}'
canonical()
{
    jq -cS . <<<"$BODY" 2>/dev/null || echo "(not JSON: $BODY)"
}

# --- Everything up.
get "/health?code=$HEALTH_CODE"
expect 200 "health with the health code"
eq "health: the contract's body" "$(canonical)" "$HEALTHY"
check "health: application/json" grep -qi '^content-type: application/json' "$ITEST_DIR/headers"
eq "health: the storage probe leaves nothing behind" \
    "$(find "$storage" -type f ! -path "$storage/objects/*" | wc -l)" 0
get /health
expect 403 forbidden "health without a code"
get "/health?code="
expect 403 forbidden "health with an empty code"
get "/health?code=${HEALTH_CODE}x"
expect 403 forbidden "health with a longer code"
get "/health?code=${HEALTH_CODE%?}"
expect 403 forbidden "health with a shorter code"
get "/health?code=$METRICS_CODE"
expect 403 forbidden "health with the metrics code"
get /ready
expect 200 "ready"
eq "ready body" "$(canonical)" '{"ready":true}'
get /live
expect 200 "live"
eq "live body" "$(canonical)" '{"live":true}'

# --- PostgreSQL stopped.
pg_cluster_stop "$pg_dir"
wait_for "/health?code=$HEALTH_CODE" 503 5000
echo "database stopped: /health 503 after ${WAITED} ms (that call took ${MS} ms)"
expect 503 "health while PostgreSQL is stopped"
check "health went 503 within 5 s of the stop (${WAITED} ms)" test "$WAITED" -lt 5000
check "that 503 took less than 5 s (${MS} ms)" test "$MS" -lt 5000
eq "health: status.database" "$(jbody .status.database)" false
eq "health: status.storage" "$(jbody .status.storage)" true
eq "health: global_status" "$(jbody .global_status)" false
eq "health: ident" "$(jbody '.ident | join(" ")')" "global_status=False storage=True database=False"
check "health: a message for the database" test -n "$(jbody '.messages.database[0] // empty')"
eq "health: no message for the storage" "$(jbody '.messages.storage | length')" 0
get "/health?code=$HEALTH_CODE"
expect 503 "health again while PostgreSQL is stopped"
check "the next 503 is quick too (${MS} ms)" test "$MS" -lt 5000
get "/health?code=wrong-code"
expect 403 forbidden "a wrong code is still 403 while PostgreSQL is down"
get /ready
expect 503 "ready while PostgreSQL is stopped"
eq "ready body" "$(canonical)" '{"ready":false}'
check "ready's 503 took less than 5 s (${MS} ms)" test "$MS" -lt 5000
get /live
expect 200 "live while PostgreSQL is stopped"
get "/metrics?code=$METRICS_CODE"
expect 200 "/metrics still answers while PostgreSQL is stopped"
check "/metrics: coffer_up{dependency=\"database\"} 0" grep -q '^coffer_up{dependency="database"} 0$' "$ITEST_DIR/body"
check "/metrics: coffer_up{dependency=\"storage\"} 1" grep -q '^coffer_up{dependency="storage"} 1$' "$ITEST_DIR/body"
get "/metrics/backup_repository_report/influxdb?code=$METRICS_CODE"
expect 503 database_unavailable "the InfluxDB report while PostgreSQL is stopped"

pg_cluster_start "$pg_dir" "$pg_port" fsync=off
wait_for "/health?code=$HEALTH_CODE" 200 15000
echo "database started: /health 200 after ${WAITED} ms"
expect 200 "health once PostgreSQL is back (no cofferd restart)"
eq "health: the contract's body again" "$(canonical)" "$HEALTHY"
get /ready
expect 200 "ready once PostgreSQL is back"

# --- PostgreSQL frozen (SIGSTOP): a query that never answers must not hang /health.
pm=$(head -n1 "$pg_dir/data/postmaster.pid")
mapfile -t PG_FROZEN < <(echo "$pm"; pgrep -P "$pm")
kill -STOP "${PG_FROZEN[@]}"
get "/health?code=$HEALTH_CODE"
echo "database frozen: /health 503 after ${MS} ms"
expect 503 "health while PostgreSQL is frozen"
check "the frozen database's 503 took less than 5 s (${MS} ms)" test "$MS" -lt 5000
eq "health: status.database while frozen" "$(jbody .status.database)" false
eq "health: status.storage while frozen" "$(jbody .status.storage)" true
get "/health?code=$HEALTH_CODE"
expect 503 "health again while PostgreSQL is frozen"
check "the hung check is not started again: quick 503 (${MS} ms)" test "$MS" -lt 1000
get /ready
expect 503 "ready while PostgreSQL is frozen"
check "ready's 503 took less than 5 s (${MS} ms)" test "$MS" -lt 5000
get /live
expect 200 "live while PostgreSQL is frozen"
check "live does not wait for the database (${MS} ms)" test "$MS" -lt 1000
kill -CONT "${PG_FROZEN[@]}"
PG_FROZEN=()
wait_for "/health?code=$HEALTH_CODE" 200 15000
echo "database thawed: /health 200 after ${WAITED} ms"
expect 200 "health once PostgreSQL answers again"

# --- The storage read-only.
mount -o remount,ro "$storage"
wait_for "/health?code=$HEALTH_CODE" 503 5000
echo "storage read-only: /health 503 after ${WAITED} ms (that call took ${MS} ms)"
expect 503 "health with the storage read-only"
check "health went 503 within 5 s (${WAITED} ms)" test "$WAITED" -lt 5000
check "that 503 took less than 5 s (${MS} ms)" test "$MS" -lt 5000
eq "health: status.storage" "$(jbody .status.storage)" false
eq "health: status.database" "$(jbody .status.database)" true
eq "health: ident" "$(jbody '.ident | join(" ")')" "global_status=False storage=False database=True"
check "health: a message for the storage" test -n "$(jbody '.messages.storage[0] // empty')"
eq "health: no message for the database" "$(jbody '.messages.database | length')" 0
get /ready
expect 200 "ready with the storage read-only (it checks only the database)"
get /live
expect 200 "live with the storage read-only"
get "/metrics?code=$METRICS_CODE"
check "/metrics: coffer_up{dependency=\"storage\"} 0" grep -q '^coffer_up{dependency="storage"} 0$' "$ITEST_DIR/body"

mount -o remount,rw "$storage"
wait_for "/health?code=$HEALTH_CODE" 200 10000
echo "storage writable: /health 200 after ${WAITED} ms"
expect 200 "health once the storage is writable again"
eq "health: the contract's body at the end" "$(canonical)" "$HEALTHY"
get /live
expect 200 "live at the end"
eq "the probes left nothing behind" "$(find "$storage" -type f ! -path "$storage/objects/*" | wc -l)" 0

# --- Stopping while a check hangs: the hung check still uses the database
# pool, so cofferd must not free it under it (that was a use after free).
mapfile -t PG_FROZEN < <(echo "$pm"; pgrep -P "$pm")
kill -STOP "${PG_FROZEN[@]}"
get "/health?code=$HEALTH_CODE"
expect 503 "health while PostgreSQL is frozen, before stopping"
cofferd_stop
check "the stop says it left the handles to the exit" grep -q "a health check is still running" "$ITEST_DIR/cofferd.log"
kill -CONT "${PG_FROZEN[@]}"
PG_FROZEN=()
itest_finish
