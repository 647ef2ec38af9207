#!/usr/bin/env bash
# Authentication and authorisation against a real cofferd and PostgreSQL:
# collection scope (404, never 403), account isolation, revocation (API, SQL,
# a second instance), IP and user-agent restrictions, one-time upload tokens,
# inactive accounts, expiry, the subset rule for minting, the command line,
# token listing, tokens in the query string, and forged JWTs.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
itest_begin
# Many refusals below come from one address on purpose: no rate limit here (test_rate_limit.sh has it).
cofferd_start auth_failure_limit=0

A=/api/stable
C=$A/repository/collection
ACCOUNT_PERMS='["collections.create", "collections.view", "collections.modify", "collections.delete",
  "versions.upload", "versions.list", "versions.download", "versions.delete",
  "tokens.create", "tokens.view", "tokens.revoke", "metrics.view"]'

# mint BODY: POST /auth/token with $TOKEN; sets MINTED and MINTED_ID (empty on failure).
mint()
{
    api POST $A/auth/token -d "$1"
    MINTED=$(jbody '.token // empty' 2>/dev/null || true)
    MINTED_ID=$(jbody '.token_id // empty' 2>/dev/null || true)
}

# versions_of COLLECTION: how many versions the database holds for it.
versions_of()
{
    itest_sql "SELECT count(*) FROM versions WHERE collection_id = '$1'"
}

# b64url: stdin as unpadded base64url.
b64url()
{
    openssl base64 -A | tr '+/' '-_' | tr -d '='
}

# jwt_hs256 KEY HEADER CLAIMS: a JWT signed with HMAC-SHA256 under KEY.
jwt_hs256()
{
    local h p
    h=$(printf '%s' "$2" | b64url)
    p=$(printf '%s' "$3" | b64url)
    printf '%s.%s.%s' "$h" "$p" "$(printf '%s.%s' "$h" "$p" | openssl dgst -sha256 -hmac "$1" -binary | b64url)"
}

# ----------------------------------------------------------------------------
# Two accounts, each with a full account token, collections and one version each.
api POST $A/accounts -d '{"id": "alpha", "name": "Alpha"}'
expect 201 "create account alpha"
api POST $A/accounts -d '{"id": "beta", "name": "Beta"}'
expect 201 "create account beta"
mint "{\"account_id\": \"alpha\", \"permissions\": $ACCOUNT_PERMS, \"description\": \"alpha operator\"}"
expect 201 "mint alpha's account token"
ALPHA=$MINTED
alpha_id=$MINTED_ID
mint "{\"account_id\": \"beta\", \"permissions\": $ACCOUNT_PERMS, \"description\": \"beta operator\"}"
expect 201 "mint beta's account token"
BETA=$MINTED
beta_id=$MINTED_ID

printf 'payload\n' >"$ITEST_DIR/small"
for c in a-one a-two; do
    TOKEN=$ALPHA api POST "$C" -d "{\"id\": \"$c\"}"
    expect 201 "alpha creates $c"
    TOKEN=$ALPHA api POST "$C/$c/versions" --data-binary @"$ITEST_DIR/small"
    expect 201 "alpha uploads into $c"
done
TOKEN=$BETA api POST "$C" -d '{"id": "b-one"}'
expect 201 "beta creates b-one"
TOKEN=$BETA api POST "$C/b-one/versions" --data-binary @"$ITEST_DIR/small"
expect 201 "beta uploads into b-one"

# A token of alpha limited to a-one, with every other permission it could need.
TOKEN=$ALPHA
mint "{\"permissions\": $ACCOUNT_PERMS, \"collections\": [\"a-one\"], \"description\": \"scoped to a-one\"}"
expect 201 "mint a token scoped to a-one"
SCOPED=$MINTED
eq "scope recorded" "$(jbody '.collections | join(",")')" a-one

# ----------------------------------------------------------------------------
# Scope: outside its collections (same account or another) a token gets 404,
# never 403, with the same answer as for a collection that does not exist.
TOKEN=$SCOPED
api GET "$C/a-one"
expect 200 "scoped token reads its collection"
api GET "$C/a-one/versions/latest"
expect 200 "scoped token downloads from its collection"
api GET "$C/no-such-collection"
expect 404 not_found "scoped token, missing collection"
missing_body=$BODY
for c in a-two b-one; do
    who="scoped token on $c"
    [[ $c == a-two ]] && who="$who (same account)" || who="$who (another account)"
    api GET "$C/$c"
    expect 404 not_found "$who: get collection"
    eq "$who: same body as a missing collection" "$BODY" "$missing_body"
    api GET "$C/$c/versions"
    expect 404 not_found "$who: list versions"
    api POST "$C/$c/versions" --data-binary @"$ITEST_DIR/small"
    expect 404 not_found "$who: upload"
    api GET "$C/$c/versions/latest"
    expect 404 not_found "$who: download"
    api HEAD "$C/$c/versions/latest"
    check "$who: HEAD is 404" test "$STATUS" = 404
    api DELETE "$C/$c/versions/latest"
    expect 404 not_found "$who: delete version"
    api PUT "$C/$c" -d '{"description": "taken over"}'
    expect 404 not_found "$who: modify collection"
    api DELETE "$C/$c?force=true"
    expect 404 not_found "$who: delete collection"
    eq "$who: nothing uploaded or deleted" "$(versions_of "$c")" 1
done
eq "a-two still exists" "$(itest_sql "SELECT count(*) FROM collections WHERE id = 'a-two'")" 1
eq "b-one still exists" "$(itest_sql "SELECT count(*) FROM collections WHERE id = 'b-one'")" 1
api GET "$C"
expect 200 "scoped token lists collections"
eq "scoped list shows only a-one" "$(jbody '[.collections[].id] | join(",")')" a-one
eq "scoped list total" "$(jbody .pagination.total)" 1
api GET "$C?q=*"
eq "scoped wildcard search shows only a-one" "$(jbody '[.collections[].id] | join(",")')" a-one
# Creating outside the scope: the contract fixes no status, but the answer must
# not depend on whether the id exists elsewhere (a-two) or nowhere (a-new).
api POST "$C" -d '{"id": "a-two"}'
scoped_create_existing="$STATUS $(jbody .code 2>/dev/null || true)"
api POST "$C" -d '{"id": "a-new"}'
scoped_create_new="$STATUS $(jbody .code 2>/dev/null || true)"
eq "scoped create outside scope: same answer for an existing and a new id" \
    "$scoped_create_existing" "$scoped_create_new"
check "scoped create outside scope is refused" test "${scoped_create_new%% *}" != 201

# An unscoped token of alpha sees all of alpha and nothing of beta.
TOKEN=$ALPHA
api GET "$C"
eq "alpha lists its own collections only" "$(jbody '[.collections[].id] | sort | join(",")')" "a-one,a-two"
api GET "$C?account_id=beta"
eq "account_id in the query does not widen an account token" \
    "$(jbody '[.collections[].id] | sort | join(",")')" "a-one,a-two"
api GET "$C?q=b-one"
eq "search does not find beta's collection" "$(jbody '.pagination.total')" 0
api GET "$C/b-one"
expect 404 not_found "alpha reads beta's collection"
api GET "$C/b-one/versions"
expect 404 not_found "alpha lists beta's versions"
api GET "$C/b-one/versions/1"
expect 404 not_found "alpha downloads beta's version"
api POST "$C/b-one/versions" --data-binary @"$ITEST_DIR/small"
expect 404 not_found "alpha uploads into beta's collection"
api DELETE "$C/b-one/versions/1"
expect 404 not_found "alpha deletes beta's version"
eq "beta's collection untouched" "$(versions_of b-one)" 1
TOKEN=$BETA api GET "$C"
eq "beta lists only b-one" "$(jbody '[.collections[].id] | join(",")')" b-one
# A scope naming another account's collection still gives no access to it.
mint '{"permissions": ["collections.view", "versions.list"], "collections": ["b-one"]}'
expect 201 "alpha may name any id in a scope (server's choice; scope is within the account)"
TOKEN=$MINTED api GET "$C/b-one"
expect 404 not_found "a scope naming beta's collection does not reach it"
TOKEN=$MINTED api GET "$C"
eq "and lists nothing" "$(jbody '.pagination.total')" 0

# ----------------------------------------------------------------------------
# Revocation.
TOKEN=$ALPHA
mint '{"permissions": ["versions.list"], "description": "revoked by alpha"}'
R1=$MINTED
r1_id=$MINTED_ID
TOKEN=$R1 api GET $A/auth/whoami
expect 200 "token works before revocation"
api DELETE "$A/auth/token/$r1_id"
expect 204 "alpha (tokens.revoke) revokes a token of its account"
TOKEN=$R1 api GET $A/auth/whoami
expect 401 token_revoked "revoked by an account token: refused on the very next request"
check "401 carries WWW-Authenticate" test "$(header WWW-Authenticate)" = Bearer
TOKEN=$R1 api GET "$C/a-one/versions"
expect 401 token_revoked "revoked token refused on every route"
check "revoked_at recorded" test -n "$(itest_sql "SELECT revoked_at FROM tokens WHERE id = '$r1_id'")"
api DELETE "$A/auth/token/$r1_id"
expect 204 "revoking an already revoked token again is 204 (server's choice: idempotent)"

mint '{"permissions": ["versions.list"], "description": "revoked by the administrator"}'
R2=$MINTED
r2_id=$MINTED_ID
TOKEN=$R2 api GET $A/auth/whoami
expect 200 "second token works"
TOKEN=$ADMIN api DELETE "$A/auth/token/$r2_id"
expect 204 "administrator revokes a token of alpha"
TOKEN=$R2 api GET $A/auth/whoami
expect 401 token_revoked "revoked by the administrator: refused on the very next request"

mint '{"permissions": ["versions.list"], "description": "revokes itself"}'
R3=$MINTED
TOKEN=$R3 api GET "$C/a-one/versions"
expect 200 "self-revoking token works"
TOKEN=$R3 api DELETE $A/auth/token/current
expect 204 "DELETE /auth/token/current"
TOKEN=$R3 api GET "$C/a-one/versions"
expect 401 token_revoked "current revoked: refused on the next request"

# A token without tokens.revoke.
mint '{"permissions": ["versions.list"], "description": "no tokens.revoke"}'
NOREV=$MINTED
norev_id=$MINTED_ID
mint '{"permissions": ["versions.list"], "description": "bystander"}'
BYSTANDER=$MINTED
bystander_id=$MINTED_ID
TOKEN=$NOREV api DELETE "$A/auth/token/$bystander_id"
expect 403 permission_denied "without tokens.revoke: another token of its account"
TOKEN=$BYSTANDER api GET $A/auth/whoami
expect 200 "that token was not revoked"
TOKEN=$NOREV api DELETE "$A/auth/token/$beta_id"
expect 404 not_found "without tokens.revoke: a token of another account"
TOKEN=$NOREV api DELETE "$A/auth/token/$alpha_id"
expect 403 permission_denied "without tokens.revoke: its minter's token"
api DELETE "$A/auth/token/$beta_id"
expect 404 not_found "with tokens.revoke: a token of another account"
TOKEN=$BETA api GET $A/auth/whoami
expect 200 "beta's token was not revoked"
api DELETE "$A/auth/token/$(cat /proc/sys/kernel/random/uuid)"
expect 404 not_found "revoke an unknown id"
api DELETE "$A/auth/token/not-a-token-id"
expect 404 not_found "revoke a malformed id"
TOKEN=$ADMIN api DELETE "$A/auth/token/$(cat /proc/sys/kernel/random/uuid)"
expect 404 not_found "administrator revokes an unknown id"
TOKEN=$NOREV api DELETE "$A/auth/token/$norev_id"
expect 204 "without tokens.revoke: its own token by id"
TOKEN=$NOREV api GET $A/auth/whoami
expect 401 token_revoked "self-revoked by id: refused on the next request"

# Revocation made outside this instance (SQL, as another instance or an
# operator would) reaches this instance within 1 second (api.md).
mint '{"permissions": ["versions.list"], "description": "revoked in SQL"}'
RSQL=$MINTED
rsql_id=$MINTED_ID
TOKEN=$RSQL api GET $A/auth/whoami
expect 200 "token works before the SQL revocation"
itest_sql "UPDATE tokens SET revoked_at = now() WHERE id = '$rsql_id'" >/dev/null
start=$(date +%s%N)
for ((i = 0; i < 30; i++)); do
    TOKEN=$RSQL api GET $A/auth/whoami
    [[ $STATUS == 200 ]] || break
    sleep 0.1
done
waited_ms=$((($(date +%s%N) - start) / 1000000))
expect 401 token_revoked "revoked in the database"
check "refused within 1 second of the SQL revocation (took ${waited_ms} ms)" test "$waited_ms" -le 1000

# A second instance on the same database: a revocation through the first is
# refused by the second within 1 second, even when it has just accepted the token.
port2=$(pg_free_port)
"${COFFERD:-$COFFER_BIN/cofferd}" --config "$ITEST_DIR/cofferd.conf" --port="$port2" serve \
    >>"$ITEST_DIR/cofferd2.log" 2>&1 &
COFFERD2_PID=$!
ITEST_PIDS+=("$COFFERD2_PID")
URL2=http://127.0.0.1:$port2
for ((i = 0; i < 200; i++)); do
    curl -fsS "$URL2/live" >/dev/null 2>&1 && break
    sleep 0.05
done
mint '{"permissions": ["versions.list"], "description": "used on two instances"}'
TWO=$MINTED
two_id=$MINTED_ID
for ((i = 0; i < 3; i++)); do
    TOKEN=$TWO COFFER_URL=$URL2 api GET $A/auth/whoami
done
expect 200 "second instance accepts the token"
api DELETE "$A/auth/token/$two_id"
expect 204 "revoke through the first instance"
start=$(date +%s%N)
for ((i = 0; i < 30; i++)); do
    TOKEN=$TWO COFFER_URL=$URL2 api GET $A/auth/whoami
    [[ $STATUS == 200 ]] || break
    sleep 0.1
done
waited_ms=$((($(date +%s%N) - start) / 1000000))
expect 401 token_revoked "second instance refuses the revoked token"
check "second instance refuses within 1 second (took ${waited_ms} ms)" test "$waited_ms" -le 1000
kill -TERM "$COFFERD2_PID" 2>/dev/null || true
rc=0
wait "$COFFERD2_PID" || rc=$?
check "second cofferd exits cleanly on SIGTERM (exit $rc)" test "$rc" -eq 0

# ----------------------------------------------------------------------------
# allowed_ips (the server listens on 127.0.0.1 only, so every client is 127.0.0.1).
TOKEN=$ALPHA
# restricted CIDRS EXPECTED-STATUS DESCRIPTION
restricted()
{
    TOKEN=$ALPHA mint "{\"permissions\": [\"versions.list\"], \"allowed_ips\": $1}"
    check "mint with allowed_ips $1: 201" test "$STATUS" = 201
    TOKEN=$MINTED api GET "$C/a-one/versions"
    if [[ $2 == 403 ]]; then
        expect 403 token_restricted "$3"
    else
        expect "$2" "$3"
    fi
}
restricted '["10.0.0.0/8"]' 403 "10.0.0.0/8 from 127.0.0.1"
restricted '["127.0.0.0/8"]' 200 "127.0.0.0/8 from 127.0.0.1"
restricted '["127.0.0.1"]' 200 "a single address without a prefix"
restricted '["10.0.0.0/8", "127.0.0.1/32"]' 200 "any matching block admits"
restricted '["::1/128"]' 403 "IPv6 ::1/128 from 127.0.0.1 (IPv4 and IPv6 loopback are different clients)"
restricted '["::/0"]' 403 "IPv6 ::/0 does not cover IPv4 clients"
# The contract is silent here; the server treats ::ffff:0:0/96 blocks as naming IPv4 clients.
restricted '["::ffff:127.0.0.0/104"]' 200 "IPv4-mapped block ::ffff:127.0.0.0/104 covers 127.0.0.1"
TOKEN=$ALPHA
for bad in '10.0.0.0/33' 'not-an-ip' '10.1' '127.0.0.1/08' '::1/129' ''; do
    mint "{\"permissions\": [\"versions.list\"], \"allowed_ips\": [\"$bad\"]}"
    expect 400 validation_failed "invalid CIDR '$bad' at mint"
    check "invalid CIDR '$bad' names fields.allowed_ips" test -n "$(jbody '.fields.allowed_ips // empty')"
done

# ----------------------------------------------------------------------------
# allowed_user_agents: exact strings.
mint '{"permissions": ["versions.list"], "allowed_user_agents": ["coffer-backup/1.0"]}'
expect 201 "mint with allowed_user_agents"
UA=$MINTED
TOKEN=$UA api GET "$C/a-one/versions" -A "coffer-backup/1.0"
expect 200 "the allowed user agent"
TOKEN=$UA api GET "$C/a-one/versions" -A "other-agent/2.0"
expect 403 token_restricted "another user agent"
TOKEN=$UA api GET "$C/a-one/versions"
expect 403 token_restricted "curl's own user agent"
TOKEN=$UA api GET "$C/a-one/versions" -A "Coffer-Backup/1.0"
expect 403 token_restricted "a user agent differing in case"
TOKEN=$UA api GET "$C/a-one/versions" -A "coffer-backup/1.0 extra"
expect 403 token_restricted "a user agent with a suffix"
TOKEN=$UA api GET "$C/a-one/versions" -H 'User-Agent:'
expect 403 token_restricted "no user agent at all"

# ----------------------------------------------------------------------------
# one_time_upload: revoked by the first successful upload only.
before=$(versions_of a-one)
mint '{"permissions": ["versions.upload"], "collections": ["a-one"], "one_time_upload": true}'
expect 201 "mint a one-time upload token"
ONCE=$MINTED
once_id=$MINTED_ID
TOKEN=$ONCE api GET $A/auth/whoami
eq "whoami shows one_time_upload" "$(jbody .one_time_upload)" true
TOKEN=$ONCE api POST "$C/a-one/versions" --data-binary @"$ITEST_DIR/small" \
    -H "X-Content-SHA256: $(printf '0%.0s' {1..64})"
expect 400 checksum_mismatch "one-time token: failed upload (checksum mismatch)"
TOKEN=$ONCE api POST "$C/a-one/versions" -H 'Content-Length: 0'
expect 400 empty_body "one-time token: failed upload (empty body)"
TOKEN=$ONCE api POST "$C/a-two/versions" --data-binary @"$ITEST_DIR/small"
expect 404 not_found "one-time token: upload outside its scope"
check "failed uploads do not revoke it" test -z "$(itest_sql "SELECT revoked_at FROM tokens WHERE id = '$once_id'")"
eq "failed uploads left no version" "$(versions_of a-one)" "$before"
TOKEN=$ONCE api POST "$C/a-one/versions" --data-binary @"$ITEST_DIR/small"
expect 201 "one-time token: first successful upload"
eq "one version added" "$(versions_of a-one)" "$((before + 1))"
TOKEN=$ONCE api POST "$C/a-one/versions" --data-binary @"$ITEST_DIR/small"
expect 401 token_revoked "one-time token: the next upload"
TOKEN=$ONCE api GET $A/auth/whoami
expect 401 token_revoked "one-time token: any later request"
eq "only one version added in all" "$(versions_of a-one)" "$((before + 1))"

# Parallel uploads with one one-time token: all pass authentication, one commits.
mint '{"permissions": ["versions.upload"], "collections": ["a-one"], "one_time_upload": true}'
expect 201 "mint a one-time upload token for parallel uploads"
head -c 33554432 /dev/urandom >"$ITEST_DIR/32m"
before=$(versions_of a-one)
uploads=()
for i in 1 2 3 4; do
    curl -sS -o /dev/null -w '%{http_code}\n' -H "Authorization: Bearer $MINTED" -H 'Expect:' \
        -X POST -T "$ITEST_DIR/32m" "$COFFER_URL$C/a-one/versions" >"$ITEST_DIR/once.$i" &
    uploads+=($!)
done
# (not a bare wait: cofferd is a child of this shell too)
wait "${uploads[@]}"
eq "one of 4 parallel one-time uploads succeeds" "$(cat "$ITEST_DIR"/once.* | grep -c 201)" 1
eq "the other 3 are refused as revoked" "$(cat "$ITEST_DIR"/once.* | grep -c 401)" 3
eq "one version added by the parallel one-time uploads" "$(versions_of a-one)" "$((before + 1))"
rm -f "$ITEST_DIR/32m"

# ----------------------------------------------------------------------------
# An inactive account's tokens are refused at once; reactivation restores them.
TOKEN=$BETA api GET "$C/b-one"
expect 200 "beta works while active"
TOKEN=$ADMIN api PUT $A/accounts/beta -d '{"active": false}'
expect 200 "deactivate beta"
eq "beta inactive" "$(jbody .account.active)" false
TOKEN=$BETA api GET "$C/b-one"
expect 401 account_inactive "inactive account: refused on the next request"
TOKEN=$BETA api POST "$C/b-one/versions" --data-binary @"$ITEST_DIR/small"
expect 401 account_inactive "inactive account: upload refused"
TOKEN=$BETA api GET $A/auth/whoami
expect 401 account_inactive "inactive account: whoami refused"
TOKEN=$ALPHA api GET "$C/a-one"
expect 200 "alpha unaffected by beta's deactivation"
TOKEN=$ADMIN api PUT $A/accounts/beta -d '{"active": true}'
expect 200 "reactivate beta"
TOKEN=$BETA api GET "$C/b-one"
expect 200 "reactivated account: its token works again"
eq "beta's version kept" "$(versions_of b-one)" 1

# ----------------------------------------------------------------------------
# Expiry. The server checks expires_at from the database; a JWT whose own exp
# claim is past is refused by cf_jwt_verify (covered by the unit tests, and
# below with a token signed by this test's key).
TOKEN=$ALPHA
mint '{"permissions": ["versions.list"], "ttl": 60}'
expect 201 "mint with ttl 60"
EXP=$MINTED
exp_id=$MINTED_ID
left=$(($(date -d "$(jbody .expires_at)" +%s) - $(date +%s)))
check "expires_at is about 60 s away (${left} s)" test "$left" -ge 55 -a "$left" -le 61
TOKEN=$EXP api GET "$C/a-one/versions"
expect 200 "ttl 60 token works"
itest_sql "UPDATE tokens SET expires_at = now() - interval '1 second' WHERE id = '$exp_id'" >/dev/null
# A change made in the database reaches the server within 1 second (api.md).
for ((i = 0; i < 10; i++)); do
    TOKEN=$EXP api GET "$C/a-one/versions"
    [[ $STATUS == 200 ]] || break
    sleep 0.1
done
expect 401 token_expired "expired in the database"
mint '{"permissions": ["versions.list"], "ttl": 59}'
expect 400 validation_failed "ttl below 60"

# ----------------------------------------------------------------------------
# The subset rule over HTTP.
TOKEN=$SCOPED
mint '{"permissions": ["versions.list"], "collections": ["a-one"]}'
expect 201 "scoped minter, same scope"
mint '{"permissions": ["versions.list"], "collections": ["a-two"]}'
expect 403 permission_escalation "scoped minter, a collection outside its scope (same account)"
mint '{"permissions": ["versions.list"], "collections": ["b-one"]}'
expect 403 permission_escalation "scoped minter, a collection of another account"
mint '{"permissions": ["versions.list"], "collections": ["a-one", "a-two"]}'
expect 403 permission_escalation "scoped minter, a scope wider than its own"
mint '{"permissions": ["versions.list"]}'
expect 403 permission_escalation "scoped minter, collections omitted (unscoped)"
mint '{"permissions": ["versions.list"], "collections": []}'
expect 403 permission_escalation "scoped minter, collections empty (unscoped)"
TOKEN=$ALPHA
mint '{"permissions": ["versions.list"], "collections": ["a-one"]}'
LIMITED=$MINTED
TOKEN=$LIMITED mint '{"permissions": ["versions.list"], "collections": ["a-one"]}'
expect 403 permission_denied "minting needs tokens.create"
TOKEN=$ALPHA
mint '{"permissions": ["versions.list"], "account_id": "beta"}'
expect 403 permission_escalation "account token names another account"
mint '{"permissions": ["versions.list"], "account_id": "alpha"}'
expect 201 "account token names its own account"
eq "minted for alpha" "$(jbody .account_id)" alpha
# accounts.manage is a permission no account token holds: asked for by one, it
# is an escalation like any other; asked for by the administrator (who holds
# it) for an account token, it is invalid input.
mint '{"permissions": ["accounts.manage"]}'
expect 403 permission_escalation "account token asks for accounts.manage"
TOKEN=$ADMIN mint '{"account_id": "alpha", "permissions": ["accounts.manage"]}'
expect 400 validation_failed "administrator asks for accounts.manage in an account token"
check "fields.permissions named" test -n "$(jbody '.fields.permissions // empty')"
TOKEN=$ADMIN mint '{"account_id": "nobody", "permissions": ["versions.list"]}'
expect 400 validation_failed "administrator mints for a missing account"
TOKEN=$R1 mint '{"permissions": ["versions.list"]}'
expect 401 token_revoked "a revoked token mints nothing"

# ----------------------------------------------------------------------------
# The command line.
rc=0
out=$(cofferd_cmd token create --account alpha --permissions versions.list --json 2>"$ITEST_DIR/cli.err") || rc=$?
eq "cli --account --json exits 0" "$rc" 0
cli_token=$(jq -r '.token // empty' <<<"$out" 2>/dev/null || true)
cli_id=$(jq -r '.token_id // empty' <<<"$out" 2>/dev/null || true)
check "cli JSON has token" test -n "$cli_token"
check "cli JSON has a UUID token_id" grep -Eq '^[0-9a-f-]{36}$' <<<"$cli_id"
eq "cli JSON account_id" "$(jq -r '.account_id // empty' <<<"$out" 2>/dev/null || true)" alpha
TOKEN=$cli_token api GET $A/auth/whoami
expect 200 "cli token works"
eq "cli token's id" "$(jbody .token_id)" "$cli_id"
eq "cli token's permissions" "$(jbody '.permissions | join(",")')" versions.list
eq "cli token recorded as minted by cli" "$(itest_sql "SELECT created_by FROM tokens WHERE id = '$cli_id'")" cli
rc=0
cofferd_cmd token create --account alpha --permissions versions.list,versions.fly >/dev/null 2>"$ITEST_DIR/cli.err" || rc=$?
eq "cli bad permission name exits 1" "$rc" 1
check "cli names the bad permission" grep -q 'versions.fly' "$ITEST_DIR/cli.err"
rc=0
cofferd_cmd token create --account nobody >"$ITEST_DIR/cli.out" 2>"$ITEST_DIR/cli.err" || rc=$?
check "cli --account of a missing account exits non-zero" test "$rc" -ne 0
check "cli says the account is missing" grep -qi 'no such account' "$ITEST_DIR/cli.err"
check "cli prints no token for a missing account" test ! -s "$ITEST_DIR/cli.out"
rc=0
cofferd_cmd token create >"$ITEST_DIR/cli.out" 2>"$ITEST_DIR/cli.err" || rc=$?
eq "cli without --admin or --account exits 1" "$rc" 1
check "cli explains --admin / --account" grep -q -- '--admin' "$ITEST_DIR/cli.err"
rc=0
cofferd_cmd token create --admin --account alpha >/dev/null 2>&1 || rc=$?
eq "cli with both --admin and --account exits 1" "$rc" 1
rc=0
cofferd_cmd token create --account alpha --ttl 10 >/dev/null 2>&1 || rc=$?
eq "cli --ttl below 60 exits 1" "$rc" 1
rc=0
cofferd_cmd token create --account alpha --permissions accounts.manage >/dev/null 2>&1 || rc=$?
eq "cli accounts.manage for an account exits 1" "$rc" 1

# ----------------------------------------------------------------------------
# Listing tokens: the account's own only, never the token text; last_used_at.
TOKEN=$ALPHA
mint '{"permissions": ["versions.list"], "description": "fresh"}'
FRESH=$MINTED
fresh_id=$MINTED_ID
api GET $A/auth/token
expect 200 "alpha lists its tokens"
eq "only alpha's tokens" "$(jbody '[.tokens[].account_id] | unique | join(",")')" alpha
eq "as many as the database holds for alpha" "$(jbody '.tokens | length')" \
    "$(itest_sql "SELECT count(*) FROM tokens WHERE account_id = 'alpha'")"
check "beta's token not listed" test "$(jbody "[.tokens[].id] | index(\"$beta_id\")")" = null
check "the administrator's tokens not listed" test "$(jbody '[.tokens[] | select(.account_id == "system")] | length')" = 0
check "no token field in the list" test "$(jbody '[.tokens[] | has("token")] | any')" = false
check "no token text anywhere in the list" test "$(grep -c -F -e "${ALPHA##*.}" -e "${FRESH##*.}" -e "${SCOPED##*.}" "$ITEST_DIR/body")" = 0
eq "fresh token never used" "$(jbody ".tokens[] | select(.id == \"$fresh_id\") | .last_used_at")" null
TOKEN=$FRESH api GET "$C/a-one/versions"
expect 200 "use the fresh token"
api GET $A/auth/token
last_used=$(jbody ".tokens[] | select(.id == \"$fresh_id\") | .last_used_at")
check "last_used_at set after use ($last_used)" grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$' <<<"$last_used"
eq "revoked token shows revoked_at" \
    "$(jbody ".tokens[] | select(.id == \"$r1_id\") | (.revoked_at != null)")" true
TOKEN=$BYSTANDER api GET $A/auth/token
expect 403 permission_denied "listing needs tokens.view"
TOKEN=$SCOPED api GET $A/auth/token
expect 200 "a scoped token with tokens.view lists its account's tokens"
eq "still alpha's only" "$(jbody '[.tokens[].account_id] | unique | join(",")')" alpha
TOKEN=$ADMIN api GET "$A/auth/token?account_id=beta"
expect 200 "administrator lists beta's tokens"
eq "only beta's" "$(jbody '[.tokens[].account_id] | unique | join(",")')" beta

# ----------------------------------------------------------------------------
# Tokens are never accepted in the query string.
for param in token access_token; do
    TOKEN='' api GET "$A/auth/whoami?$param=$ALPHA"
    expect 401 unauthenticated "?$param= on whoami"
    TOKEN='' api GET "$C?$param=$ALPHA"
    expect 401 unauthenticated "?$param= on the collection list"
    TOKEN='' api GET "$C/a-one/versions/latest?$param=$ADMIN"
    expect 401 unauthenticated "?$param= (administrator token) on a download"
done
TOKEN='' api GET "$C" -H "Authorization: $ALPHA"
expect 401 unauthenticated "a token without the Bearer scheme"

# ----------------------------------------------------------------------------
# Forged tokens. The test knows the server's key (the harness writes it), so a
# token signed with it is the control that the crafting below is right.
key=$(tr -d '\r\n' <"$ITEST_DIR/jwt.key")
now=$(date +%s)
claims="{\"sub\":\"alpha\",\"jti\":\"$alpha_id\",\"iat\":$now,\"exp\":$((now + 3600))}"
TOKEN=$(jwt_hs256 "$key" '{"alg":"HS256","typ":"JWT"}' "$claims") api GET $A/auth/whoami
expect 200 "control: a hand-made token signed with the server's key"
TOKEN=$(jwt_hs256 "$(openssl rand -hex 32)" '{"alg":"HS256","typ":"JWT"}' "$claims") api GET $A/auth/whoami
expect 401 invalid_token "signed with another secret, real jti"
TOKEN="$(printf '{"alg":"none","typ":"JWT"}' | b64url).$(printf '%s' "$claims" | b64url)." api GET $A/auth/whoami
expect 401 invalid_token "alg none, empty signature, real jti"
TOKEN="$(printf '{"alg":"none","typ":"JWT"}' | b64url).$(printf '%s' "$claims" | b64url).${ALPHA##*.}" \
    api GET $A/auth/whoami
expect 401 invalid_token "alg none with a signature taken from a real token"
TOKEN=$(jwt_hs256 "$key" '{"alg":"HS512","typ":"JWT"}' "$claims") api GET $A/auth/whoami
expect 401 invalid_token "another algorithm named in the header"
# A real token with its claims edited (sub beta) but its signature kept.
IFS=. read -r hdr _ sig <<<"$ALPHA"
TOKEN="$hdr.$(printf '{"sub":"beta","jti":"%s","exp":%d}' "$alpha_id" $((now + 3600)) | b64url).$sig" \
    api GET "$C/b-one"
expect 401 invalid_token "a real token's claims edited, signature kept"
# Signed with the right key but not matching the database.
TOKEN=$(jwt_hs256 "$key" '{"alg":"HS256","typ":"JWT"}' \
    "{\"sub\":\"beta\",\"jti\":\"$alpha_id\",\"exp\":$((now + 3600))}") api GET "$C/b-one"
expect 401 invalid_token "correctly signed, sub differs from the token's account"
TOKEN=$(jwt_hs256 "$key" '{"alg":"HS256","typ":"JWT"}' \
    "{\"sub\":\"alpha\",\"jti\":\"$(cat /proc/sys/kernel/random/uuid)\",\"exp\":$((now + 3600))}") api GET $A/auth/whoami
expect 401 invalid_token "correctly signed, jti unknown to the database"
TOKEN=$(jwt_hs256 "$key" '{"alg":"HS256","typ":"JWT"}' "{\"sub\":\"alpha\",\"jti\":\"$alpha_id\"}") \
    api GET $A/auth/whoami
expect 401 invalid_token "correctly signed, no exp claim"
TOKEN=$(jwt_hs256 "$key" '{"alg":"HS256","typ":"JWT"}' \
    "{\"sub\":\"alpha\",\"jti\":\"$alpha_id\",\"exp\":$((now - 10))}") api GET $A/auth/whoami
expect 401 token_expired "correctly signed, exp claim in the past (database row still valid)"
TOKEN=$(jwt_hs256 "$key" '{"alg":"HS256","typ":"JWT"}' \
    "{\"sub\":\"alpha\",\"jti\":\"$r1_id\",\"exp\":$((now + 3600))}") api GET $A/auth/whoami
expect 401 token_revoked "correctly signed, jti of a revoked token"

cofferd_stop

# Tokens are never logged (design.md), not even those sent in a query string:
# no signature of any token this test used appears in either server's log.
leaked=0
for t in "$ADMIN" "$ALPHA" "$BETA" "$SCOPED" "$ONCE" "$UA" "$EXP" "$FRESH" "$cli_token"; do
    n=$(cat "$ITEST_DIR"/cofferd*.log | grep -cF -- "${t##*.}" || true)
    leaked=$((leaked + n))
done
eq "no token text in the logs" "$leaked" 0

itest_finish
