# shellcheck shell=bash
# A private, throw-away PostgreSQL 15 cluster for development and tests.
#
# Source this file; it only defines functions and is safe under `set -euo pipefail`.
# Layout of a cluster directory DIR:
#   DIR/data     the data directory (PGDATA); DIR itself is used instead when it
#                already is a data directory (holds PG_VERSION)
#   DIR/socket   the unix socket directory
#   DIR/log      the server log
# initdb and postgres refuse to run as root, so when the caller is root the
# cluster belongs to the `postgres` user and the server tools run through
# `runuser -u postgres --`; any other caller owns the cluster itself.
#
# COFFER_PG_BIN overrides where the PostgreSQL programs are looked for
# (default /usr/lib/postgresql/15/bin, else `pg_config --bindir`).

# _pg_bin NAME: prints the path of the PostgreSQL program NAME.
_pg_bin()
{
    local dir=${COFFER_PG_BIN:-}
    if [[ -z $dir ]]; then
        if [[ -x /usr/lib/postgresql/15/bin/postgres ]]; then
            dir=/usr/lib/postgresql/15/bin
        else
            dir=$(pg_config --bindir)
        fi
    fi
    printf '%s/%s\n' "$dir" "$1"
}

# _pg_as_owner CMD...: runs CMD as the cluster owner (postgres when we are root).
_pg_as_owner()
{
    if [[ $EUID -eq 0 ]]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

# _pg_datadir DIR: prints the data directory of the cluster in DIR.
_pg_datadir()
{
    if [[ -f $1/PG_VERSION ]]; then
        printf '%s\n' "$1"
    else
        printf '%s/data\n' "$1"
    fi
}

# _pg_quote WORD: prints WORD single-quoted for /bin/sh (pg_ctl -o goes through a shell).
_pg_quote()
{
    local s=$1
    printf "'%s'" "${s//\'/\'\\\'\'}"
}

# _pg_superuser DIR: prints the cluster's superuser name (the owner of its data directory).
_pg_superuser()
{
    stat -c %U "$(_pg_datadir "$1")"
}

# _pg_make_traversable DIR: when root, makes sure the postgres user can reach DIR
# by adding search permission (o+x, never read) on the ancestors that lack it.
_pg_make_traversable()
{
    local path ancestors=() i
    [[ $EUID -eq 0 ]] || return 0
    path=$(realpath -m -- "$1")
    while [[ $path != / ]]; do
        path=$(dirname -- "$path")
        ancestors+=("$path")
    done
    # From / downwards, so that each check fails only because of its own directory.
    for ((i = ${#ancestors[@]} - 1; i >= 0; i--)); do
        path=${ancestors[i]}
        if [[ -d $path ]] && ! runuser -u postgres -- test -x "$path"; then
            echo "postgres.sh: adding o+x to $path so that the postgres user can reach the cluster" >&2
            chmod o+x -- "$path"
        fi
    done
}

# pg_free_port: prints a TCP port on 127.0.0.1 that nothing listens on right now.
# (Another process may take it before it is used; callers start the server soon after.)
pg_free_port()
{
    local port tries
    if command -v python3 >/dev/null 2>&1 &&
        port=$(python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()' 2>/dev/null) && [[ $port =~ ^[0-9]+$ ]]; then
        printf '%s\n' "$port"
        return 0
    fi
    # No python3: probe random ports in a range outside the usual ephemeral one.
    for ((tries = 0; tries < 200; tries++)); do
        port=$((20000 + RANDOM % 12000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            printf '%s\n' "$port"
            return 0
        fi
    done
    echo "pg_free_port: no free port found" >&2
    return 1
}

# pg_cluster_init DIR: creates DIR and an empty cluster in it (initdb -A trust
# -E UTF8 --no-locale), owned by postgres when run as root. Reuses the cluster
# when DIR already holds one (DIR/data/PG_VERSION or DIR/PG_VERSION).
pg_cluster_init()
{
    local dir=${1:?usage: pg_cluster_init DIR}
    local data
    mkdir -p -- "$dir"
    dir=$(realpath -- "$dir")
    data=$(_pg_datadir "$dir")
    mkdir -p -- "$dir/socket"
    if [[ $EUID -eq 0 ]]; then
        chown postgres: -- "$dir" "$dir/socket"
        [[ ! -e $dir/log ]] || chown postgres: -- "$dir/log"
        _pg_make_traversable "$dir"
    fi
    if [[ -f $data/PG_VERSION ]]; then
        return 0
    fi
    if [[ $EUID -eq 0 ]]; then
        mkdir -p -- "$data"
        chown postgres: -- "$data"
    fi
    if ! _pg_as_owner "$(_pg_bin initdb)" -D "$data" -A trust -E UTF8 --no-locale --no-sync \
        --no-instructions >"$dir/initdb.log" 2>&1; then
        echo "pg_cluster_init: initdb failed in $data:" >&2
        cat -- "$dir/initdb.log" >&2
        return 1
    fi
}

# pg_cluster_start DIR PORT [NAME=VALUE...]: starts the cluster in DIR listening on
# 127.0.0.1:PORT and on a unix socket in DIR/socket, logging to DIR/log, and waits
# until it accepts connections. Each extra argument is a server setting passed as
# `-c NAME=VALUE` (a literal `-c` before it is accepted and ignored), e.g. fsync=off.
# Does nothing when the cluster already runs on PORT; fails when it runs on another.
pg_cluster_start()
{
    local dir=${1:?usage: pg_cluster_start DIR PORT [NAME=VALUE...]}
    local port=${2:?usage: pg_cluster_start DIR PORT [NAME=VALUE...]}
    local data opts arg running_port
    shift 2
    dir=$(realpath -- "$dir")
    data=$(_pg_datadir "$dir")
    if [[ ! -f $data/PG_VERSION ]]; then
        echo "pg_cluster_start: no cluster in $dir (run pg_cluster_init first)" >&2
        return 1
    fi
    if _pg_as_owner "$(_pg_bin pg_ctl)" -D "$data" status >/dev/null 2>&1; then
        running_port=$(sed -n 4p -- "$data/postmaster.pid" 2>/dev/null || true)
        if [[ $running_port == "$port" ]]; then
            return 0
        fi
        echo "pg_cluster_start: the cluster in $dir already runs on port ${running_port:-?}, not $port" >&2
        return 1
    fi
    mkdir -p -- "$dir/socket"
    if [[ $EUID -eq 0 ]]; then
        touch -- "$dir/log"
        chown postgres: -- "$dir/socket" "$dir/log"
    fi
    opts="-p $(_pg_quote "$port") -k $(_pg_quote "$dir/socket") -c listen_addresses=127.0.0.1"
    for arg in "$@"; do
        [[ $arg == -c ]] && continue
        opts+=" -c $(_pg_quote "$arg")"
    done
    if ! _pg_as_owner "$(_pg_bin pg_ctl)" -D "$data" -l "$dir/log" -o "$opts" -w -t 60 start >/dev/null; then
        echo "pg_cluster_start: the server did not start; the end of $dir/log:" >&2
        tail -n 20 -- "$dir/log" >&2 || true
        return 1
    fi
}

# pg_cluster_stop DIR: stops the cluster in DIR (fast mode: open sessions are
# terminated) and waits until it is down. Does nothing when it is not running.
pg_cluster_stop()
{
    local dir=${1:?usage: pg_cluster_stop DIR}
    local data
    dir=$(realpath -- "$dir")
    data=$(_pg_datadir "$dir")
    [[ -f $data/PG_VERSION ]] || return 0
    if ! _pg_as_owner "$(_pg_bin pg_ctl)" -D "$data" status >/dev/null 2>&1; then
        return 0
    fi
    _pg_as_owner "$(_pg_bin pg_ctl)" -D "$data" -m fast -w -t 60 stop >/dev/null
}

# pg_cluster_conninfo DIR PORT DBNAME: prints a libpq conninfo for database DBNAME
# of the cluster in DIR over TCP (host=127.0.0.1), as its superuser.
pg_cluster_conninfo()
{
    local dir=${1:?usage: pg_cluster_conninfo DIR PORT DBNAME}
    local port=${2:?usage: pg_cluster_conninfo DIR PORT DBNAME}
    local db=${3:?usage: pg_cluster_conninfo DIR PORT DBNAME}
    local user
    user=$(_pg_superuser "$dir")
    # Values are quoted as libpq wants: inside '', a backslash escapes ' and \.
    db=${db//\\/\\\\}
    db=${db//\'/\\\'}
    printf "host=127.0.0.1 port=%s user=%s dbname='%s'\n" "$port" "$user" "$db"
}

# pg_cluster_socket_conninfo DIR PORT DBNAME: the same through the cluster's unix
# socket (DIR/socket), which is faster than TCP for a server on the same host.
pg_cluster_socket_conninfo()
{
    local dir=${1:?usage: pg_cluster_socket_conninfo DIR PORT DBNAME}
    local port=${2:?usage: pg_cluster_socket_conninfo DIR PORT DBNAME}
    local db=${3:?usage: pg_cluster_socket_conninfo DIR PORT DBNAME}
    dir=$(realpath -- "$dir")
    printf "host='%s' %s\n" "$dir/socket" "$(pg_cluster_conninfo "$dir" "$port" "$db" | sed 's/^host=127.0.0.1 //')"
}

# pg_create_db DIR PORT NAME: creates database NAME in the running cluster in DIR
# unless it exists already.
pg_create_db()
{
    local dir=${1:?usage: pg_create_db DIR PORT NAME}
    local port=${2:?usage: pg_create_db DIR PORT NAME}
    local name=${3:?usage: pg_create_db DIR PORT NAME}
    local user exists
    user=$(_pg_superuser "$dir")
    exists=$(printf '%s\n' "SELECT 1 FROM pg_database WHERE datname = :'name';" |
        "$(_pg_bin psql)" -X -q -t -A -v ON_ERROR_STOP=1 -v "name=$name" -h 127.0.0.1 -p "$port" \
            -U "$user" -d postgres)
    if [[ $exists == 1 ]]; then
        return 0
    fi
    "$(_pg_bin createdb)" -h 127.0.0.1 -p "$port" -U "$user" -- "$name"
}
