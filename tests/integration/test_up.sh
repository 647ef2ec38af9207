#!/usr/bin/env bash
# The README's first command, as a user runs it: scripts/up in a copy of the
# source tree starts PostgreSQL and cofferd, the example it prints works when
# pasted, a second scripts/up reuses the cluster and the data, and
# scripts/down stops everything. (It needs no shared database: it makes its own.)
set -euo pipefail
: "${COFFER_SOURCE:?run through ctest (scripts/test)}"
source "$COFFER_SOURCE/scripts/lib/postgres.sh"
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
awk '/^  source var\/coffer.env/,/gunzip$/' "$work/up.out" | sed 's/^  //' >"$work/example.sh"
check "the example is printed" test "$(wc -l <"$work/example.sh")" -ge 6
bash "$work/example.sh" >"$work/example.out" 2>&1
check "the example creates an account" grep -q '"account":{"id":"demo"' "$work/example.out"
check "and a collection" grep -q '"collection":{"id":"demo-db"' "$work/example.out"
check "and uploads a first version" grep -q '"number":1' "$work/example.out"
check "and downloads it" grep -qx 'a first backup' "$work/example.out"

# Again: the same cluster, the same data, a restarted server.
COFFER_PORT=$port scripts/up >"$work/up2.out" 2>&1 || { cat "$work/up2.out"; exit 1; }
source var/coffer.env
check "the version survives a second scripts/up" test "$(curl -s -H "Authorization: Bearer $COFFER_ADMIN_TOKEN" \
    "$COFFER_URL/api/stable/repository/collection/demo-db/versions/latest" | gunzip)" = "a first backup"

scripts/down >"$work/down.out" 2>&1
check "scripts/down stops cofferd" bash -c "! curl -fsS '$COFFER_URL/live' >/dev/null 2>&1"
check "and PostgreSQL" test ! -e var/postgres/data/postmaster.pid

echo "$passed passed, $failed failed"
((failed == 0))
