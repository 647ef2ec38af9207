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
# shellcheck source=../../scripts/lib/clean_env.sh
source "$COFFER_SOURCE/scripts/lib/clean_env.sh"
# scripts/test clears them too; this covers ctest run by hand in a shell that
# has, say, var/coffer.env exported.
coffer_clear_env

ITEST_PASSED=0
ITEST_FAILED=0
ITEST_NAME=$(basename "$0" .sh)
ITEST_DIR=
ITEST_PIDS=()
ITEST_ON_EXIT=()
COFFERD_PID=
NGINX_PID=
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

# itest_on_exit FUNCTION: calls FUNCTION (no arguments) when the test ends,
# before the test's processes are killed and its directory removed. The last
# one registered is called first: what started last stops first.
itest_on_exit()
{
    ITEST_ON_EXIT+=("$1")
}

itest_cleanup()
{
    local pid i
    for ((i = ${#ITEST_ON_EXIT[@]} - 1; i >= 0; i--)); do
        "${ITEST_ON_EXIT[i]}" || true
    done
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

# nginx_site CONF BODY_DIR SECRET SED-SCRIPT...: prints conf/CONF as shipped,
# made this test's: NGINX listens on 127.0.0.1:$NGINX_PORT, keeps request
# bodies in BODY_DIR and sends SECRET as the proxy secret; each SED-SCRIPT
# (one sed expression) points the upstream at the test's cofferd. Sets
# NGINX_PORT (a free port) and NGINX_URL, so call it in this shell, not in $().
nginx_site()
{
    local conf=$1 body_dir=$2 secret=$3 script sed_args=()
    shift 3
    for script in "$@"; do
        sed_args+=(-e "$script")
    done
    NGINX_PORT=$(pg_free_port)
    NGINX_URL=http://127.0.0.1:$NGINX_PORT
    sed "${sed_args[@]}" -e "s|listen 80;|listen 127.0.0.1:$NGINX_PORT;|" \
        -e "s|/var/lib/coffer/nginx-body|$body_dir|" -e "s|REPLACE-WITH-THE-PROXY-SECRET|$secret|" \
        "$COFFER_SOURCE/conf/$conf"
}

# nginx_start SITE_CONF [WORKERS [CONNECTIONS]]: runs a real NGINX in
# $ITEST_DIR/nginx with SITE_CONF (from nginx_site) included in the http block
# of a minimal main configuration (2 worker processes of 256 connections
# unless given), once nginx -t accepts it (else the test ends), and waits
# until $NGINX_URL/live answers. Sets NGINX_PID; the test's end stops it
# (nginx_stop).
nginx_start()
{
    local site=$1 workers=${2:-2} connections=${3:-256} dir=$ITEST_DIR/nginx
    mkdir -p "$dir/logs"
    cat >"$dir/nginx.conf" <<CONF
user root;
worker_processes $workers;
daemon off;
pid $dir/nginx.pid;
error_log $dir/logs/error.log;
events { worker_connections $connections; }
http {
    access_log $dir/logs/access.log;
    include $site;
}
CONF
    nginx -p "$dir" -c "$dir/nginx.conf" -t >/dev/null 2>&1 || { nginx -p "$dir" -c "$dir/nginx.conf" -t; exit 1; }
    # Its output goes to a file: a process holding ctest's pipe would keep the test from ending.
    nginx -p "$dir" -c "$dir/nginx.conf" >"$dir/logs/stdout.log" 2>&1 &
    NGINX_PID=$!
    itest_on_exit nginx_stop
    for _ in $(seq 100); do curl -fsS "$NGINX_URL/live" >/dev/null 2>&1 && break; sleep 0.05; done
}

# nginx_stop: stops the NGINX of nginx_start. SIGKILL on the master would
# leave its workers behind: TERM, and wait for it.
nginx_stop()
{
    [[ -n $NGINX_PID ]] || return 0
    kill -TERM "$NGINX_PID" 2>/dev/null || true
    wait "$NGINX_PID" 2>/dev/null || true
    NGINX_PID=
}

# rgw_start: a throw-away Ceph RGW (scripts/lib/ceph.sh, which the test
# sources) in CEPH_DIR=$ITEST_DIR/ceph on a free port, stopped when the test
# ends; sets the COFFER_TEST_S3_* variables (ceph_rgw_env) and writes the S3
# secret key to $ITEST_DIR/s3.secret (mode 600). The test ends when RGW does
# not start.
rgw_start()
{
    CEPH_DIR=$ITEST_DIR/ceph
    # Registered first: a start that fails half-way leaves daemons to stop too.
    itest_on_exit rgw_stop
    ceph_rgw_start "$CEPH_DIR" "$(pg_free_port)" || { echo "FAIL: cannot start Ceph RGW"; exit 1; }
    eval "$(ceph_rgw_env "$CEPH_DIR")"
    echo "[$SECONDS s] Ceph RGW on $COFFER_TEST_S3_ENDPOINT"
    printf '%s\n' "$COFFER_TEST_S3_SECRET_KEY" >"$ITEST_DIR/s3.secret"
    chmod 600 "$ITEST_DIR/s3.secret"
}

rgw_stop()
{
    ceph_rgw_stop "$CEPH_DIR"
}

# cofferd_start_s3 PREFIX [OPTION=VALUE...]: cofferd_start on the RGW of
# rgw_start, its objects under PREFIX (kept in S3_PREFIX), sent in 5 MiB
# parts; stale_upload_timeout and cleanup_interval at their minimums (30 s,
# 5 s), so that the clean-up of a killed upload comes within the test. The
# OPTIONs come on top.
cofferd_start_s3()
{
    S3_PREFIX=$1
    shift
    cofferd_start storage_backend=s3 "s3_endpoint=$COFFER_TEST_S3_ENDPOINT" "s3_bucket=$COFFER_TEST_S3_BUCKET" \
        "s3_access_key=$COFFER_TEST_S3_ACCESS_KEY" "s3_secret_key_file=$ITEST_DIR/s3.secret" \
        "s3_prefix=$S3_PREFIX" s3_part_size=5MiB stale_upload_timeout=30 cleanup_interval=5 "$@"
}

# rgw_objects, rgw_uploads: the keys under S3_PREFIX of the bucket's objects,
# of its multipart uploads in progress; one a line.
rgw_objects() { ceph_rgw_list "$CEPH_DIR" objects "$S3_PREFIX"; }
rgw_uploads() { ceph_rgw_list "$CEPH_DIR" uploads "$S3_PREFIX"; }

# count_lines: how many lines standard input holds that are not empty (0, not a failure, for none).
count_lines() { grep -c . || true; }

# wait_until SECONDS COMMAND...: polls COMMAND every 0.2 s for up to SECONDS.
wait_until()
{
    local limit=$1 i
    shift
    for ((i = 0; i < limit * 5; i++)); do
        "$@" && return 0
        sleep 0.2
    done
    return 1
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
