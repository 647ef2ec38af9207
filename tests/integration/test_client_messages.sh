#!/usr/bin/env bash
# What the client says when something goes wrong, and what it says about a
# token it mints: each failure names what happened and what the user of that
# command can do, in the command's own terms.
#   restore whose command fails: the version is still there (not "nothing kept")
#   pull of a version that does not exist: coffer list, not "check the collection id"
#   a one-time upload token used twice: used up, not merely "revoked"
#   collection delete of a non-empty collection: --force, not "?force=true"
#   token create: the expiry always said; --output FILE written 0600, only on
#   success, never over an existing file
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_client.sh"
itest_begin
cofferd_start
client_setup db
cd "$ITEST_DIR"

echo "the data" | coffer push --collection db - 2>push.err
check "a first version ($(cat push.err))" test "$(version_count db)" = 1

# --- restore whose command fails
rc coffer restore --collection db --command 'exit 4' 2>restore.err
eq "restore with a failing command: exit 6" "$RC" 6
check "it does not say that nothing was kept on the server" bash -c "! grep -q 'nothing was kept' restore.err"
check "it says the version is still there" grep -q "still on the server" restore.err

# --- pull of a version that is not there
rc coffer pull --collection db v99 -o v99.out 2>pull.err
eq "pull v99: exit 4" "$RC" 4
check "404 not_found" grep -q "404 not_found" pull.err
check "it points to coffer list" grep -q "coffer list" pull.err
check "nothing written" test ! -e v99.out

# --- a one-time upload token, used twice
TOKEN=$ACME api POST /api/stable/auth/token \
    -d '{"permissions": ["versions.upload"], "collections": ["db"], "one_time_upload": true, "ttl": 3600}'
expect 201 "a one-time upload token"
printf '%s\n' "$(jbody .token)" >once.token
chmod 600 once.token
echo "once" | "$COFFER_BIN/coffer" --url "$COFFER_URL" --token-file once.token push --collection db - 2>once1.err
check "the first upload with it works ($(cat once1.err))" test "$(version_count db)" = 2
rc "$COFFER_BIN/coffer" --url "$COFFER_URL" --token-file once.token push --collection db - <<<"twice" 2>once2.err
eq "the second: exit 2" "$RC" 2
check "it says the one-time token was used up ($(head -n1 once2.err))" grep -q "one-time upload token has been used up" once2.err

# --- collection delete of a collection with versions
printf '[server]\nurl = %s\ntoken_file = %s/admin.token\nretries = 0\n' "$COFFER_URL" "$ITEST_DIR" >admin.conf
printf '%s\n' "$ADMIN" >admin.token
chmod 600 admin.token
admin() { "$COFFER_BIN/coffer" --config "$ITEST_DIR/admin.conf" admin "$@"; }
rc admin collection delete db 2>delete.err
eq "delete of a non-empty collection: exit 4" "$RC" 4
check "collection_not_empty" grep -q "409 collection_not_empty" delete.err
check "the client names its own option, --force" grep -q "add --force" delete.err
check "not the API's query string" bash -c "! grep -q '?force=true' delete.err"

# --- token create: the expiry, and --output
rc admin token create --account acme --permissions versions.upload >day.token 2>day.err
eq "token create without --ttl" "$RC" 0
check "says when the token expires, even off a terminal ($(cat day.err))" grep -q "expires 20" day.err
check "and that a job using it fails soon" grep -q "give --ttl" day.err
rc admin token create --account acme --permissions versions.upload --ttl 2592000 >month.token 2>month.err
check "a 30-day token: in 29 or 30 days ($(cat month.err))" grep -Eq "\(in (29|30) days\)" month.err
check "no warning for it" bash -c "! grep -q 'give --ttl' month.err"

tokens_before=$(TOKEN=$ADMIN api GET "/api/stable/auth/token?account_id=acme" && jbody '.tokens | length')
rc admin token create --account acme --permissions versions.upload,versions.list --collections db \
    --ttl 86400 --output machine.token >output.out 2>output.err
eq "token create --output" "$RC" 0
check "nothing on standard output" test ! -s output.out
check "the file holds one JWT" grep -Eqx '[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+' machine.token
eq "mode 600" "$(stat -c %a machine.token)" 600
check "stderr names the file" grep -q "written to machine.token" output.err
rc "$COFFER_BIN/coffer" --url "$COFFER_URL" --token-file machine.token list --collection db >/dev/null 2>&1
eq "the written token works" "$RC" 0

cp machine.token machine.before
rc admin token create --account acme --permissions versions.upload --output machine.token 2>again.err
eq "--output onto an existing file: exit 1" "$RC" 1
check "it says the file is never replaced" grep -q "never replaced" again.err
check "the file is unchanged" cmp -s machine.token machine.before
tokens_after=$(TOKEN=$ADMIN api GET "/api/stable/auth/token?account_id=acme" && jbody '.tokens | length')
eq "and no token was minted for nothing" "$tokens_after" "$((tokens_before + 1))"

rc admin token create --account acme --permissions versions.fly --output refused.token 2>refused.err
eq "a refused token create: exit 4" "$RC" 4
check "leaves no file" test ! -e refused.token
check "nor a temporary one" bash -c "! ls -A | grep -q '^\.coffer'"
tokens_before=$tokens_after
rc admin token create --account acme --permissions versions.upload --output no-such-dir/x.token 2>nodir.err
eq "--output into a directory that does not exist: exit 1" "$RC" 1
tokens_after=$(TOKEN=$ADMIN api GET "/api/stable/auth/token?account_id=acme" && jbody '.tokens | length')
eq "and no token was minted" "$tokens_after" "$tokens_before"
rc admin token list --output list.token 2>listout.err
eq "--output on another command: exit 1" "$RC" 1

cofferd_stop
itest_finish
