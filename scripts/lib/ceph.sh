# shellcheck shell=bash
# A throw-away single-node Ceph cluster with the RADOS Gateway (S3) on
# loopback, from Debian's packages (ceph-mon, ceph-osd, radosgw), for tests.
#
# Source this file; it only defines functions and is safe under `set -euo pipefail`.
# Everything lives in one directory DIR and nothing under /etc/ceph or
# /var/lib/ceph is used (CEPH_CONF points the tools at DIR/ceph.conf):
#   DIR/ceph.conf   the configuration
#   DIR/mon DIR/osd the monitor's store and the OSD's (memstore: data in RAM,
#                   at most CEPH_RGW_MEMORY bytes, default 1 GiB)
#   DIR/run         admin sockets and the daemons' PIDs (mon.pid, osd.pid, rgw.pid)
#   DIR/log         the daemons' logs
#   DIR/env         the S3 settings for tests, as NAME=value lines (see ceph_rgw_env)
# One monitor, one OSD and radosgw (beast on 127.0.0.1:PORT); no manager is
# needed. Authentication between the daemons is off (a test cluster on
# loopback); S3 requests are signed and checked for real. A user with fixed
# test keys and one bucket are created.
#
# What made it work, measured in ../shared/notes/local-ceph-rgw.md: pool size
# 1 with small placement-group counts, `ms mon client mode = crc secure`
# (radosgw loops on error -13 with auth none without it), `paxos propose
# interval = 0.1` (start-up in about 2 s instead of 12), `mon data avail crit
# = 0` (a nearly full disk would stop the monitor).

CEPH_RGW_ACCESS_KEY=${CEPH_RGW_ACCESS_KEY:-COFFERTESTACCESSKEY0}
CEPH_RGW_SECRET_KEY=${CEPH_RGW_SECRET_KEY:-coffer-test-secret-key-0123456789abcdef}
CEPH_RGW_BUCKET=${CEPH_RGW_BUCKET:-coffer-test}
CEPH_RGW_REGION=${CEPH_RGW_REGION:-us-east-1}
CEPH_RGW_MEMORY=${CEPH_RGW_MEMORY:-1073741824}
# SHA-256 of an empty body: the payload hash of a request without one.
_CEPH_EMPTY_SHA256=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855

# _ceph_free_port: a TCP port on 127.0.0.1 that nothing listens on right now.
_ceph_free_port()
{
    python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

# _ceph_die DIR MESSAGE: prints MESSAGE and the end of the daemons' logs, returns 1.
_ceph_die()
{
    local dir=$1 log
    echo "ceph-rgw: $2" >&2
    for log in "$dir"/log/*.out "$dir"/log/*.log; do
        [[ -s $log ]] || continue
        echo "--- the end of $log:" >&2
        tail -n 15 "$log" >&2
    done
    return 1
}

# _ceph_spawn DIR NAME CMD...: starts CMD in the foreground mode of the Ceph
# daemons, in the background, its output in DIR/log/NAME.out and its PID in
# DIR/run/NAME.pid. Nothing of it stays attached to the caller's stdout and
# stderr (ctest waits for those to close).
_ceph_spawn()
{
    local dir=$1 name=$2
    shift 2
    "$@" </dev/null >>"$dir/log/$name.out" 2>&1 &
    echo $! >"$dir/run/$name.pid"
}

# _ceph_alive DIR NAME: whether the daemon NAME (mon, osd, rgw) still runs.
_ceph_alive()
{
    local pid
    pid=$(cat "$1/run/$2.pid" 2>/dev/null) || return 1
    kill -0 "$pid" 2>/dev/null
}

# _ceph_kill DIR NAME: stops the daemon NAME by its PID and waits for it.
# SIGKILL: the data is throw-away, and a polite TERM takes seconds per daemon.
_ceph_kill()
{
    local dir=$1 name=$2 pid i
    pid=$(cat "$dir/run/$name.pid" 2>/dev/null) || return 0
    if kill -KILL "$pid" 2>/dev/null; then
        for ((i = 0; i < 100; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.05
        done
    fi
    rm -f "$dir/run/$name.pid"
}

# ceph_rgw_s3 DIR METHOD PATH [CURL-ARGS...]: an S3 request to the cluster in
# DIR signed with the test user's keys (a request without a body); prints the
# HTTP status, the answer's body is in DIR/log/last-s3-answer.
ceph_rgw_s3()
{
    local dir=$1 method=$2 path=$3 port
    shift 3
    port=$(cat "$dir/port")
    curl -sS -o "$dir/log/last-s3-answer" -w '%{http_code}' -X "$method" \
        --aws-sigv4 "aws:amz:$CEPH_RGW_REGION:s3" --user "$CEPH_RGW_ACCESS_KEY:$CEPH_RGW_SECRET_KEY" \
        -H "x-amz-content-sha256: $_CEPH_EMPTY_SHA256" "$@" "http://127.0.0.1:$port$path"
}

# ceph_rgw_start_gateway DIR: starts radosgw of the cluster in DIR and waits
# (up to 60 s) until it answers.
ceph_rgw_start_gateway()
{
    local dir=$1 port i
    port=$(cat "$dir/port")
    CEPH_CONF=$dir/ceph.conf _ceph_spawn "$dir" rgw radosgw -f -n client.rgw -c "$dir/ceph.conf"
    for ((i = 0; i < 600; i++)); do
        curl -s -o /dev/null "http://127.0.0.1:$port/" && return 0
        _ceph_alive "$dir" rgw || _ceph_die "$dir" "radosgw exited" || return 1
        sleep 0.1
    done
    _ceph_die "$dir" "radosgw does not answer on port $port"
}

# ceph_rgw_stop_gateway DIR: stops radosgw only (the cluster stays up).
ceph_rgw_stop_gateway()
{
    _ceph_kill "$1" rgw
}

# ceph_rgw_start DIR PORT: creates a cluster in DIR (which must not hold one)
# with radosgw on 127.0.0.1:PORT, the test user and the bucket, and writes
# DIR/env. Stop it with ceph_rgw_stop DIR, also after a failure here.
ceph_rgw_start()
{
    local dir=$1 port=$2 fsid mon_port osd_uuid i status
    for tool in ceph-mon ceph-osd radosgw radosgw-admin monmaptool ceph curl python3; do
        command -v "$tool" >/dev/null ||
            { echo "ceph-rgw: $tool is missing (apt-get install ceph-mon ceph-osd radosgw)" >&2; return 1; }
    done
    [[ ! -e $dir/ceph.conf ]] || { echo "ceph-rgw: $dir already holds a cluster" >&2; return 1; }
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    mkdir -p "$dir/mon" "$dir/osd" "$dir/run" "$dir/log" "$dir/rgw"
    echo "$port" >"$dir/port"
    fsid=$(cat /proc/sys/kernel/random/uuid)
    mon_port=$(_ceph_free_port)
    cat >"$dir/ceph.conf" <<EOF
[global]
fsid = $fsid
mon host = v2:127.0.0.1:$mon_port
mon initial members = a
auth cluster required = none
auth service required = none
auth client required = none
ms mon client mode = crc secure
run dir = $dir/run
admin socket = $dir/run/\$name.asok
log file = $dir/log/\$name.log
mon cluster log file = $dir/log/cluster.log
osd pool default size = 1
osd pool default min size = 1
mon allow pool size one = true
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
mon max pg per osd = 1000
osd crush chooseleaf type = 0
mon data avail crit = 0
paxos propose interval = 0.1

[mon.a]
mon data = $dir/mon

[osd.0]
osd data = $dir/osd
osd objectstore = memstore
memstore device bytes = $CEPH_RGW_MEMORY

[client.rgw]
rgw frontends = beast endpoint=127.0.0.1:$port
rgw data = $dir/rgw
# Virtual-host addressing: bucket.localhost (curl resolves *.localhost to loopback).
rgw dns name = localhost
EOF
    local -x CEPH_CONF=$dir/ceph.conf
    monmaptool --create --addv a "[v2:127.0.0.1:$mon_port]" --fsid "$fsid" "$dir/monmap" >"$dir/log/setup.out" 2>&1 ||
        _ceph_die "$dir" "monmaptool failed" || return 1
    ceph-mon --mkfs -i a --monmap "$dir/monmap" >>"$dir/log/setup.out" 2>&1 ||
        _ceph_die "$dir" "ceph-mon --mkfs failed" || return 1
    _ceph_spawn "$dir" mon ceph-mon -f -i a

    osd_uuid=$(cat /proc/sys/kernel/random/uuid)
    timeout 60 ceph osd new "$osd_uuid" >>"$dir/log/setup.out" 2>&1 ||
        _ceph_die "$dir" "the monitor does not register the OSD" || return 1
    ceph-osd --mkfs -i 0 --osd-uuid "$osd_uuid" >>"$dir/log/setup.out" 2>&1 ||
        _ceph_die "$dir" "ceph-osd --mkfs failed" || return 1
    _ceph_spawn "$dir" osd ceph-osd -f -i 0
    ceph_rgw_start_gateway "$dir" || return 1

    timeout 60 radosgw-admin user create --uid=coffer-test --display-name="Coffer tests" \
        --access-key="$CEPH_RGW_ACCESS_KEY" --secret="$CEPH_RGW_SECRET_KEY" >>"$dir/log/setup.out" 2>&1 ||
        _ceph_die "$dir" "radosgw-admin user create failed" || return 1
    # The gateway may take a moment to see the new user.
    for ((i = 0; i < 50; i++)); do
        status=$(ceph_rgw_s3 "$dir" PUT "/$CEPH_RGW_BUCKET") || status=000
        [[ $status == 200 ]] && break
        sleep 0.1
    done
    [[ $status == 200 ]] || _ceph_die "$dir" "cannot create bucket $CEPH_RGW_BUCKET (HTTP $status)" || return 1
    {
        echo "CEPH_CONF=$dir/ceph.conf"
        echo "COFFER_TEST_S3_ENDPOINT=http://127.0.0.1:$port"
        echo "COFFER_TEST_S3_VIRTUAL_ENDPOINT=http://localhost:$port"
        echo "COFFER_TEST_S3_BUCKET=$CEPH_RGW_BUCKET"
        echo "COFFER_TEST_S3_REGION=$CEPH_RGW_REGION"
        echo "COFFER_TEST_S3_ACCESS_KEY=$CEPH_RGW_ACCESS_KEY"
        echo "COFFER_TEST_S3_SECRET_KEY=$CEPH_RGW_SECRET_KEY"
    } >"$dir/env"
}

# ceph_rgw_stop DIR: stops radosgw, the OSD and the monitor, in that order
# (stopping them all at once stalls for seconds). The data goes with them.
ceph_rgw_stop()
{
    local dir=$1
    [[ -d $dir/run ]] || return 0
    _ceph_kill "$dir" rgw
    _ceph_kill "$dir" osd
    _ceph_kill "$dir" mon
}

# ceph_rgw_env DIR: prints the S3 settings of the cluster in DIR as export
# lines, for eval or a shell to source.
ceph_rgw_env()
{
    local line
    [[ -s $1/env ]] || { echo "ceph-rgw: no cluster in $1" >&2; return 1; }
    while IFS= read -r line; do
        printf 'export %s=%q\n' "${line%%=*}" "${line#*=}"
    done <"$1/env"
}

# _ceph_uri_encode TEXT: TEXT percent-encoded as SigV4 wants a query value
# (curl 7.88 signs the query as written, RGW checks it re-encoded).
_ceph_uri_encode()
{
    local text=$1 out= c i
    for ((i = 0; i < ${#text}; i++)); do
        c=${text:i:1}
        case $c in
        [A-Za-z0-9._~-]) out+=$c ;;
        *) out+=$(printf '%%%02X' "'$c") ;;
        esac
    done
    printf '%s' "$out"
}

# ceph_rgw_list DIR WHAT [PREFIX]: prints the keys of the bucket's objects
# (WHAT = objects) or multipart uploads in progress (WHAT = uploads) under
# PREFIX, one a line, read with a signed request.
ceph_rgw_list()
{
    local dir=$1 what=$2 prefix query status
    prefix=$(_ceph_uri_encode "${3:-}")
    case $what in
    objects) query="list-type=2&prefix=$prefix" ;;
    uploads) query="prefix=$prefix&uploads=" ;;
    *) echo "ceph_rgw_list: objects or uploads, not $what" >&2; return 1 ;;
    esac
    status=$(ceph_rgw_s3 "$dir" GET "/$CEPH_RGW_BUCKET?$query") || return 1
    [[ $status == 200 ]] || { echo "ceph_rgw_list: HTTP $status" >&2; return 1; }
    grep -o '<Key>[^<]*</Key>' "$dir/log/last-s3-answer" | sed 's/<Key>//; s/<\/Key>//' || true
}
