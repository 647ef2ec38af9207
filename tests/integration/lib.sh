# shellcheck shell=bash
# Shared by the integration tests: a fresh database in the throw-away cluster
# that scripts/test started ($COFFER_TEST_PG), a real cofferd on a free
# loopback port, curl helpers and assertions. Source it, call itest_begin, and
# end with itest_finish, which prints "N passed, N failed" and sets the exit code.
#
# Environment (set by CMake and scripts/test): COFFER_BIN (the build's bin/),
# COFFER_SOURCE (the source tree), COFFER_TEST_PG (conninfo of the cluster's
# postgres database), COFFER_RELEASE_BIN (a release build, for memory figures).
set -euo pipefail

: "${COFFER_SOURCE:?run through ctest (scripts/test)}"
: "${COFFER_BIN:?run through ctest (scripts/test)}"
: "${COFFER_TEST_PG:?run through scripts/test, which starts PostgreSQL}"
# shellcheck source=../../scripts/lib/postgres.sh
source "$COFFER_SOURCE/scripts/lib/postgres.sh"

ITEST_PASSED=0
ITEST_FAILED=0
ITEST_NAME=$(basename "$0" .sh)
ITEST_DIR=
ITEST_PIDS=()
COFFERD_PID=
STATUS=
BODY=

itest_begin()
{
    ITEST_DIR=$(mktemp -d "/tmp/coffer-$ITEST_NAME.XXXXXX")
    trap itest_cleanup EXIT
    ITEST_DB="itest_${ITEST_NAME#test_}_$$"
    psql "$COFFER_TEST_PG" -X -q -v ON_ERROR_STOP=1 -c "CREATE DATABASE $ITEST_DB" >/dev/null
    ITEST_DB_CONNINFO="${COFFER_TEST_PG/dbname=\'postgres\'/dbname=\'$ITEST_DB\'}"
}

itest_cleanup()
{
    local pid
    for pid in "${ITEST_PIDS[@]}" $COFFERD_PID; do
        kill -9 "$pid" 2>/dev/null || true
    done
    psql "$COFFER_TEST_PG" -X -q -c "DROP DATABASE IF EXISTS $ITEST_DB WITH (FORCE)" >/dev/null 2>&1 || true
    if ((ITEST_FAILED > 0)) && [[ -f $ITEST_DIR/cofferd.log ]]; then
        echo "--- the end of cofferd's log:"
        tail -n 40 "$ITEST_DIR/cofferd.log"
    fi
    rm -rf "$ITEST_DIR"
}

# itest_sql SQL: runs SQL in the test's database and prints the result, unaligned.
itest_sql()
{
    psql "$ITEST_DB_CONNINFO" -X -q -t -A -v ON_ERROR_STOP=1 -c "$1"
}

# cofferd_config [OPTION=VALUE...]: writes $ITEST_DIR/cofferd.conf for this test.
cofferd_config()
{
    local port
    port=$(pg_free_port)
    mkdir -p "$ITEST_DIR/storage"
    [[ -s $ITEST_DIR/jwt.key ]] || openssl rand -hex 32 >"$ITEST_DIR/jwt.key"
    {
        echo "listen_address = 127.0.0.1"
        echo "port = $port"
        echo "database_url = $ITEST_DB_CONNINFO"
        echo "db_pool_size = 8"
        echo "storage_path = $ITEST_DIR/storage"
        echo "jwt_secret_file = $ITEST_DIR/jwt.key"
        echo "health_code = health-code-for-tests-0123456789"
        echo "metrics_code = metrics-code-for-tests-0123456789"
        local kv
        for kv in "$@"; do
            echo "${kv%%=*} = ${kv#*=}"
        done
    } >"$ITEST_DIR/cofferd.conf"
    COFFER_URL=http://127.0.0.1:$port
    HEALTH_CODE=health-code-for-tests-0123456789
}

# cofferd_cmd ARGS...: runs build/bin/cofferd with the test's configuration.
cofferd_cmd()
{
    "${COFFERD:-$COFFER_BIN/cofferd}" --config "$ITEST_DIR/cofferd.conf" "$@"
}

# cofferd_start [OPTION=VALUE...]: configures (first time), migrates, starts
# cofferd in the background and waits until it answers /live. Sets
# COFFERD_PID, COFFER_URL and ADMIN (an administrator token).
cofferd_start()
{
    [[ -f $ITEST_DIR/cofferd.conf && $# -eq 0 ]] || cofferd_config "$@"
    cofferd_cmd migrate >>"$ITEST_DIR/cofferd.log" 2>&1
    # Started directly, not through cofferd_cmd, so that $! is cofferd itself.
    "${COFFERD:-$COFFER_BIN/cofferd}" --config "$ITEST_DIR/cofferd.conf" serve >>"$ITEST_DIR/cofferd.log" 2>&1 &
    COFFERD_PID=$!
    local i
    for ((i = 0; i < 200; i++)); do
        curl -fsS "$COFFER_URL/live" >/dev/null 2>&1 && break
        kill -0 "$COFFERD_PID" 2>/dev/null || { tail -n 20 "$ITEST_DIR/cofferd.log"; return 1; }
        sleep 0.05
    done
    [[ -n ${ADMIN:-} ]] || ADMIN=$(cofferd_cmd token create --admin 2>>"$ITEST_DIR/cofferd.log")
    TOKEN=$ADMIN
}

# cofferd_stop: SIGTERM and wait; a non-zero exit (a sanitizer report, say) fails the test.
cofferd_stop()
{
    local rc=0
    [[ -n $COFFERD_PID ]] || return 0
    kill -TERM "$COFFERD_PID" 2>/dev/null || true
    wait "$COFFERD_PID" || rc=$?
    COFFERD_PID=
    check "cofferd exits cleanly on SIGTERM (exit $rc)" test "$rc" -eq 0
}

# api METHOD PATH [CURL-ARGS...]: calls the API with $TOKEN (when set). Sets
# STATUS and BODY; the response headers are in $ITEST_DIR/headers.
api()
{
    local method=$1 path=$2
    shift 2
    local auth=() verb=(-X "$method")
    [[ -z ${TOKEN:-} ]] || auth=(-H "Authorization: Bearer $TOKEN")
    # With -X HEAD curl would wait for a body that never comes.
    [[ $method != HEAD ]] || verb=(-I)
    STATUS=$(curl -sS -o "$ITEST_DIR/body" -D "$ITEST_DIR/headers" -w '%{http_code}' "${verb[@]}" \
        "${auth[@]}" "$@" "$COFFER_URL$path") || STATUS=000
    # Binary bodies stay in the file ($ITEST_DIR/body); BODY holds text only.
    if grep -qi '^content-type: application/json' "$ITEST_DIR/headers"; then
        BODY=$(cat "$ITEST_DIR/body")
    else
        BODY="($(stat -c %s "$ITEST_DIR/body") bytes)"
    fi
}

# header NAME: the value of a response header of the last api call.
header()
{
    grep -i "^$1:" "$ITEST_DIR/headers" | head -n1 | cut -d: -f2- | sed 's/^ *//; s/\r$//'
}

# jbody FILTER: jq on the last body.
jbody()
{
    jq -r "$1" <<<"$BODY"
}

# check DESCRIPTION COMMAND...: one assertion.
check()
{
    local what=$1
    shift
    if "$@"; then
        ITEST_PASSED=$((ITEST_PASSED + 1))
    else
        ITEST_FAILED=$((ITEST_FAILED + 1))
        echo "FAIL: $what"
        [[ -z ${STATUS:-} ]] || echo "      last response: $STATUS $BODY" | head -c 600
        echo
    fi
}

# expect STATUS [CODE] DESCRIPTION: the last call answered STATUS (and error code CODE).
expect()
{
    local status=$1 code= what
    if (($# == 3)); then
        code=$2
        what=$3
    else
        what=$2
    fi
    check "$what: status $status" test "$STATUS" = "$status"
    if [[ -n $code ]]; then
        check "$what: code $code" test "$(jbody .code 2>/dev/null)" = "$code"
        check "$what: a human sentence in error" test -n "$(jbody '.error // empty' 2>/dev/null)"
    fi
}

# eq DESCRIPTION ACTUAL EXPECTED
eq()
{
    check "$1 (got '$2', want '$3')" test "$2" = "$3"
}

itest_finish()
{
    echo "$ITEST_PASSED passed, $ITEST_FAILED failed"
    ((ITEST_FAILED == 0))
}
