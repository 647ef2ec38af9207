#!/usr/bin/env bash
# PostgreSQL stops and starts again under a running cofferd: requests get
# 503 database_unavailable while it is down (quickly, never a hang), /live
# stays 200, /ready and /health say 503, and everything works again once it is
# back, without restarting cofferd. Uses a private cluster, since it stops it.
source "$(dirname "$0")/lib.sh"
itest_begin
pg_dir=$ITEST_DIR/pg
pg_cluster_init "$pg_dir" >/dev/null
pg_port=$(pg_free_port)
pg_cluster_start "$pg_dir" "$pg_port" fsync=off
pg_create_db "$pg_dir" "$pg_port" coffer >/dev/null
ITEST_DB_CONNINFO=$(pg_cluster_conninfo "$pg_dir" "$pg_port" coffer)
trap 'pg_cluster_stop "$pg_dir" >/dev/null 2>&1 || true; itest_cleanup' EXIT
cofferd_start db_acquire_timeout_ms=2000

C=/api/stable/repository/collection
api POST /api/stable/accounts -d '{"id": "acct", "name": "Acct"}'
api POST "$C" -d '{"id": "col", "account_id": "acct"}'
printf 'kept across the outage\n' >"$ITEST_DIR/v1"
api POST "$C/col/versions" --data-binary @"$ITEST_DIR/v1"
expect 201 "upload before the outage"

pg_cluster_stop "$pg_dir"
started=$(date +%s)
api GET "$C/col/versions"
expect 503 database_unavailable "list while PostgreSQL is down"
check "the 503 comes within 10 seconds" test $(($(date +%s) - started)) -le 10
api POST "$C/col/versions" --data-binary @"$ITEST_DIR/v1"
expect 503 database_unavailable "upload while PostgreSQL is down"
check "the message does not leak connection details" bash -c "! grep -qi 'host=\\|127.0.0.1\\|port' <<<'$BODY'"
TOKEN= api GET /ready
expect 503 "ready while PostgreSQL is down"
TOKEN= api GET /live
expect 200 "live while PostgreSQL is down"
TOKEN= api GET "/health?code=$HEALTH_CODE"
expect 503 "health while PostgreSQL is down"
eq "health names the database" "$(jbody .status.database)" false
eq "storage still fine" "$(jbody .status.storage)" true
check "cofferd is still running" kill -0 "$COFFERD_PID"
eq "nothing stored by the refused upload" "$(find "$ITEST_DIR/storage" -name '*.part' | wc -l)" 0

pg_cluster_start "$pg_dir" "$pg_port" fsync=off
api GET "$C/col/versions"
expect 200 "list after PostgreSQL is back"
eq "the version is still there" "$(jbody '.versions | length')" 1
api GET "$C/col/versions/latest"
check "download after the outage" cmp -s "$ITEST_DIR/body" "$ITEST_DIR/v1"
api POST "$C/col/versions" --data-binary @"$ITEST_DIR/v1"
expect 201 "upload after PostgreSQL is back"
eq "numbering continues" "$(jbody .version.number)" 2
TOKEN= api GET /ready
expect 200 "ready again"

cofferd_stop
itest_finish
