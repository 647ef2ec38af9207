#!/usr/bin/env bash
# A client that keeps failing to authenticate is told to back off with 429 and
# Retry-After; a good token from the same address still works.
source "$(dirname "$0")/lib.sh"
itest_begin
cofferd_start auth_failure_limit=5 auth_failure_window=60

for i in 1 2 3 4 5; do
    TOKEN="bad.token.$i" api GET /api/stable/auth/whoami
    expect 401 invalid_token "bad token $i within the limit"
done
TOKEN=bad.token.6 api GET /api/stable/auth/whoami
expect 429 rate_limited "the sixth failure"
retry_after=$(header Retry-After)
check "Retry-After is a number of seconds within the window ($retry_after)" \
    test "${retry_after:-0}" -ge 1 -a "${retry_after:-0}" -le 60
TOKEN= api GET /api/stable/auth/whoami
expect 429 rate_limited "no token at all counts too"
api GET /api/stable/auth/whoami
expect 200 "a good token from the same address passes"

cofferd_stop
itest_finish
