#!/usr/bin/env bash
# The suite does not depend on the shell it runs in: a user who followed the
# README may have var/coffer.env exported, and libpq and curl read variables
# of their own. Here such variables are exported before lib.sh is sourced, and
# what the test starts must still use the test's configuration only. Without
# the clearing (scripts/lib/clean_env.sh), cofferd takes COFFER_HEALTH_CODE
# from the environment over its file and /health answers 403.
export COFFER_HEALTH_CODE=a-health-code-from-the-callers-shell
export COFFER_METRICS_CODE=a-metrics-code-from-the-callers-shell
export COFFER_PORT=1 COFFER_STORAGE_PATH=/nonexistent COFFER_URL=http://127.0.0.1:1
export COFFER_TOKEN=not-a-token COFFER_ADMIN_TOKEN=not-a-token
export PGHOST=/nonexistent PGDATABASE=nonexistent
export http_proxy=http://127.0.0.1:1 HTTPS_PROXY=http://127.0.0.1:1 ALL_PROXY=http://127.0.0.1:1
source "$(dirname "$0")/lib.sh"
itest_begin

check "COFFER_HEALTH_CODE is cleared" test -z "${COFFER_HEALTH_CODE:-}"
check "PGHOST is cleared" test -z "${PGHOST:-}"
check "http_proxy is cleared" test -z "${http_proxy:-}"
check "what the harness passes down stays (COFFER_BIN)" test -x "$COFFER_BIN/cofferd"

cofferd_start
TOKEN= api GET "/health?code=$HEALTH_CODE"
expect 200 "/health answers with the test's health code"
TOKEN= api GET "/metrics?code=metrics-code-for-tests-0123456789"
expect 200 "/metrics answers with the test's metrics code"
cofferd_cmd --print-config >"$ITEST_DIR/printed"
check "--print-config names no environment variable" bash -c "! grep -q 'set by the environment' '$ITEST_DIR/printed'"
check "--print-config says the port came from the test's file" \
    grep -q "^# set by $ITEST_DIR/cofferd.conf:2\$" "$ITEST_DIR/printed"

# The client too: it reads COFFER_URL and COFFER_TOKEN.
source "$(dirname "$0")/lib_client.sh"
client_setup
rc=0
out=$("$COFFER_BIN/coffer" --config "$CLIENT_CONF" list --collection db 2>&1) || rc=$?
check "coffer uses its configuration, not the caller's COFFER_URL (exit $rc: $out)" test "$rc" -eq 0

cofferd_stop
itest_finish
