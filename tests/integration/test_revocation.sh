#!/usr/bin/env bash
# Revocation reaches every instance within a second: two cofferd instances
# share one database; each caches token checks, and a change made through one
# instance, or straight in SQL, must be refused by the other within 1 s.
source "$(dirname "$0")/lib.sh"
itest_begin
cofferd_start
first_url=$COFFER_URL

# A second instance: the same configuration on another port.
second_port=$(pg_free_port)
sed "s/^port = .*/port = $second_port/" "$ITEST_DIR/cofferd.conf" >"$ITEST_DIR/second.conf"
"$COFFER_BIN/cofferd" --config "$ITEST_DIR/second.conf" serve >>"$ITEST_DIR/second.log" 2>&1 &
second_pid=$!
ITEST_PIDS+=("$second_pid")
second_url=http://127.0.0.1:$second_port
for _ in $(seq 100); do curl -fsS "$second_url/live" >/dev/null 2>&1 && break; sleep 0.05; done

api POST /api/stable/accounts -d '{"id": "acct", "name": "Acct"}'
api POST /api/stable/auth/token -d '{"account_id": "acct", "permissions": ["collections.view", "tokens.revoke"]}'
expect 201 "mint"
USER_TOKEN=$(jbody .token)
user_token_id=$(jbody .token_id)

# within_a_second URL EXPECTED-CODE: polls GET whoami until it answers the code, for at most 1 s.
within_a_second()
{
    local url=$1 want=$2 deadline=$((${EPOCHREALTIME/./} + 1000000))
    while ((${EPOCHREALTIME/./} < deadline)); do
        COFFER_URL=$url TOKEN=$USER_TOKEN api GET /api/stable/auth/whoami
        [[ $(jbody '.code // "ok"') == "$want" ]] && return 0
        sleep 0.02
    done
    return 1
}

# Warm both caches.
for url in "$first_url" "$second_url"; do
    COFFER_URL=$url TOKEN=$USER_TOKEN api GET /api/stable/auth/whoami
    expect 200 "token works on $url"
    COFFER_URL=$url TOKEN=$USER_TOKEN api GET /api/stable/auth/whoami
done

# Revoked through the first instance.
COFFER_URL=$first_url TOKEN=$USER_TOKEN api DELETE /api/stable/auth/token/current
expect 204 "revoke through instance 1"
COFFER_URL=$first_url TOKEN=$USER_TOKEN api GET /api/stable/auth/whoami
expect 401 token_revoked "instance 1 refuses on the next request"
check "instance 2 refuses within 1 s" within_a_second "$second_url" token_revoked

# Changed straight in the database: an operator un-revokes, then expires it.
itest_sql "UPDATE tokens SET revoked_at = NULL WHERE id = '$user_token_id'" >/dev/null
check "un-revoking in SQL reaches instance 1 within 1 s" within_a_second "$first_url" ok
check "and instance 2" within_a_second "$second_url" ok
itest_sql "UPDATE tokens SET expires_at = now() - interval '1 second' WHERE id = '$user_token_id'" >/dev/null
check "expiry set in SQL reaches instance 1 within 1 s" within_a_second "$first_url" token_expired
check "and instance 2" within_a_second "$second_url" token_expired
itest_sql "UPDATE tokens SET expires_at = now() + interval '1 hour' WHERE id = '$user_token_id'" >/dev/null
check "a new expiry is seen" within_a_second "$second_url" ok

# An account made inactive through instance 2 refuses at once on instance 2, within 1 s on instance 1.
COFFER_URL=$second_url api PUT /api/stable/accounts/acct -d '{"active": false}'
expect 200 "deactivate through instance 2"
COFFER_URL=$second_url TOKEN=$USER_TOKEN api GET /api/stable/auth/whoami
expect 401 account_inactive "instance 2 refuses on the next request"
check "instance 1 refuses within 1 s" within_a_second "$first_url" account_inactive

kill -TERM "$second_pid"
wait "$second_pid" || true
cofferd_stop
itest_finish
