#!/usr/bin/env bash
# The README's first command, as a user runs it: scripts/up in a copy of the
# source tree starts PostgreSQL and cofferd, the example it prints works when
# pasted, every shell block of README.md runs (each in a new shell, in order,
# failing on any failed command) against that stack, and so does the first
# block of docs/client.md; a pg_dump that fails stores nothing through the
# README's examples; a second scripts/up reuses the cluster and the data, and
# scripts/down stops everything. (It needs no shared database: it makes its own.)
set -euo pipefail
: "${COFFER_SOURCE:?run through ctest (scripts/test)}"
source "$COFFER_SOURCE/scripts/lib/postgres.sh"
source "$COFFER_SOURCE/scripts/lib/clean_env.sh"
coffer_clear_env
passed=0
failed=0
check()
{
    local what=$1
    shift
    if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)) && echo "FAIL: $what"; fi
}

work=$(mktemp -d /tmp/coffer-test_up.XXXXXX)
tree=$work/coffer
finish()
{
    (cd "$tree" 2>/dev/null && scripts/down >/dev/null 2>&1) || true
    rm -rf "$work"
}
trap finish EXIT
mkdir -p "$tree"
# The source tree without build outputs or local state.
tar -C "$COFFER_SOURCE" --exclude='./build*' --exclude='./var' --exclude='./.git' -cf - . | tar -C "$tree" -xf -
cd "$tree"
port=$(pg_free_port)

COFFER_PORT=$port scripts/up >"$work/up.out" 2>&1 || { cat "$work/up.out"; exit 1; }
check "var/coffer.env names the URL" grep -q "^COFFER_URL=http://127.0.0.1:$port$" var/coffer.env
check "and an administrator token" grep -q '^COFFER_ADMIN_TOKEN=ey' var/coffer.env
check "secrets are private" test "$(stat -c %a var/secrets)" = 700

# Paste the printed example into a shell.
awk '/^  source var\/coffer.env/,/versions\/latest"$/' "$work/up.out" | sed 's/^  //' >"$work/example.sh"
check "the example is printed" test "$(wc -l <"$work/example.sh")" -ge 6
bash "$work/example.sh" >"$work/example.out" 2>&1
check "the example creates an account" grep -q '"account":{"id":"try"' "$work/example.out"
check "and a collection" grep -q '"collection":{"id":"try-notes"' "$work/example.out"
check "and uploads a first version" grep -q '"number":1' "$work/example.out"
check "and downloads it" grep -qx 'a first backup' "$work/example.out"

# --- README.md, block by block. The first block is the two commands: this
# test is the second one's, and has just run the first.
mkdir -p "$work/readme"
awk -v dir="$work/readme" '
    /^```sh$/ { n++; file = sprintf("%s/%02d.sh", dir, n); inside = 1; next }
    /^```$/ && inside { inside = 0; close(file); next }
    inside { print > file }' README.md
blocks=("$work"/readme/*.sh)
check "README.md has shell blocks beyond the first (${#blocks[@]})" test "${#blocks[@]}" -ge 4
check "its first block is scripts/up and scripts/test" \
    test "$(sed 's/ *#.*//' "${blocks[0]}" | tr '\n' ' ')" = "scripts/up scripts/test "

# Stand-ins for the user's database: pg_dump writes a gzip'd dump (or fails
# half way, after some output, when PG_DUMP_FAILS is set), psql keeps what it
# reads so that the restore can be compared.
standins=$work/standins
mkdir -p "$standins"
cat >"$standins/pg_dump" <<'SH'
#!/bin/sh
# pg_dump [--compress=N] [--file=F] DB
out=/dev/stdout
for arg; do case $arg in --file=*) out=${arg#--file=} ;; esac; done
{ printf -- '-- dump of %s\nCREATE TABLE t (x int);\n' "$(eval echo "\${$#}")"
  [ -z "$PG_DUMP_FAILS" ] || { echo "pg_dump: error: connection lost" >&2; exit 1; }
} | gzip >"$out"
[ -z "$PG_DUMP_FAILS" ] || exit 1
SH
cat >"$standins/psql" <<'SH'
#!/bin/sh
cat >>"$PSQL_GOT"
SH
chmod +x "$standins/pg_dump" "$standins/psql"

# run_block FILE [VAR=VALUE...]: one block in a new bash, as a user pastes it
# into a fresh shell: nothing carried over from the blocks before, any failed
# command fails it (and its output is shown).
run_block()
{
    local file=$1
    shift
    env -i HOME="$work/home" PATH="$standins:/usr/local/bin:/usr/bin:/bin" PSQL_GOT="$work/psql.got" "$@" \
        bash -e -o pipefail "$file" >"$file.out" 2>&1 && return 0
    sed 's/^/      | /' "$file.out" | tail -n 20
    return 1
}
fails() { ! "$@" >/dev/null; }
mkdir -p "$work/home"
for block in "${blocks[@]:1}"; do
    check "README block $(basename "$block"): $(grep -v '^source' "$block" | head -n1 | cut -c1-70)" run_block "$block"
done
source var/coffer.env
count()
{
    curl -fsS -H "Authorization: Bearer $COFFER_ADMIN_TOKEN" \
        "$COFFER_URL/api/stable/repository/collection/$1/versions" | jq '.versions | length'
}
check "the client's push stored a version in demo-etc" test "$(count demo-etc)" = 1
check "the client's dump stored a version in demo-db" test "$(count demo-db)" = 1
check "curl's dump stored a version in demo-curl-db" test "$(count demo-curl-db)" = 1
check "both restores fed the dump to psql" test "$(grep -c '^-- dump of mydb$' "$work/psql.got")" = 2
check "the machine token file is private" test "$(stat -c %a demo-db.token)" = 600

# The same blocks with a pg_dump that fails half way: each fails, nothing is kept.
mapfile -t dump_blocks < <(grep -l pg_dump "${blocks[@]:1}")
check "two README blocks make a dump (${#dump_blocks[@]})" test "${#dump_blocks[@]}" -eq 2
for block in "${dump_blocks[@]}"; do
    grep -v 'collection create\|restore\|psql' "$block" >"$block.dump-only"
    check "with a failing pg_dump, README block $(basename "$block") fails" \
        fails run_block "$block.dump-only" PG_DUMP_FAILS=1
done
check "and stores nothing in demo-db" test "$(count demo-db)" = 1
check "nor in demo-curl-db" test "$(count demo-curl-db)" = 1

# docs/client.md's first block, an administrator's setup with the client.
awk '/^```sh$/ { n++; next } /^```$/ { if (n == 1) exit } n == 1' docs/client.md >"$work/client-md.sh"
check "docs/client.md's first block mints a token into a file" grep -q -- '--output acme-db.token' "$work/client-md.sh"
check "docs/client.md's first block runs" run_block "$work/client-md.sh" PATH="$tree/build/bin:/usr/bin:/bin" \
    COFFER_URL="$COFFER_URL" COFFER_TOKEN="$COFFER_ADMIN_TOKEN"
check "its token file is private" test "$(stat -c %a acme-db.token)" = 600

# Again: the same cluster, the same data, a restarted server.
COFFER_PORT=$port scripts/up >"$work/up2.out" 2>&1 || { cat "$work/up2.out"; exit 1; }
source var/coffer.env
check "the version survives a second scripts/up" test "$(curl -s -H "Authorization: Bearer $COFFER_ADMIN_TOKEN" \
    "$COFFER_URL/api/stable/repository/collection/try-notes/versions/latest")" = "a first backup"

scripts/down >"$work/down.out" 2>&1
check "scripts/down stops cofferd" bash -c "! curl -fsS '$COFFER_URL/live' >/dev/null 2>&1"
check "and PostgreSQL" test ! -e var/postgres/data/postmaster.pid

echo "$passed passed, $failed failed"
((failed == 0))
