#!/usr/bin/env bash
# coffer admin with an administrator token: an account, a collection and a
# token for it (which then pushes), listing, showing, updating and deleting,
# and the server's own validation messages passed through (exit 4) or a
# missing permission (exit 2).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_client.sh"
itest_begin
cofferd_start
export HOME=$ITEST_DIR/home
export -n COFFER_URL
mkdir -p "$HOME"
cd "$ITEST_DIR"
printf '%s\n' "$ADMIN" >admin.token
chmod 600 admin.token
CLIENT_CONF=$ITEST_DIR/admin.conf
printf '[server]\nurl = %s\ntoken_file = %s/admin.token\nretries = 0\n' "$COFFER_URL" "$ITEST_DIR" >"$CLIENT_CONF"

rc coffer admin account create shop --name "The Shop" --storage-quota 10MB --max-collections 5 >account.txt
eq "account create" "$RC" 0
check "prints the account" grep -q "^name: The Shop$" account.txt
check "with the quota parsed by the server" grep -q "^storage_quota: 10000000$" account.txt
rc coffer admin account create shop --name Again 2>dup.err
eq "a duplicate account: exit 4" "$RC" 4
check "the server's code" grep -q "(409 account_exists)" dup.err
rc coffer admin account create --name "No quota" --storage-quota 1.5GB 2>size.err
eq "a bad size: exit 4" "$RC" 4
check "the server's invalid_size" grep -q "invalid_size" size.err
check "with the field named" grep -q "^  storage_quota: " size.err
rc coffer admin account create bad --name x --colour red 2>unknown.err
eq "an unknown field: exit 4" "$RC" 4
check "the server names the unknown field" grep -q "^  colour: unknown field$" unknown.err

rc coffer admin collection create shop-db --account shop --filename db.sql.gz --max-versions 3 \
    --max-version-size 1MB --max-collection-size 3MB --tags pg,prod >collection.txt
eq "collection create" "$RC" 0
check "prints the collection" grep -q "^filename: db.sql.gz$" collection.txt
check "tags as a list" grep -q "^tags: pg,prod$" collection.txt
rc coffer admin collection create big --account shop --max-version-size 2MB --max-collection-size 1MB 2>val.err
eq "an invalid collection: exit 4" "$RC" 4
check "the server's sentence" grep -q "validation_failed" val.err
check "and its field" grep -q "^  max_version_size: " val.err
rc coffer admin collection create kept --account shop --strategy retention --keep-daily 7 --keep-last 2 \
    --expected-interval 86400 >kept.txt
eq "a retention collection" "$RC" 0
check "retention rules sent as an object" grep -q '^retention.keep_daily: 7$' kept.txt
# keep-* rules without the retention strategy: the refusal names the option to add.
rc coffer admin collection create rules --account shop --keep-daily 3 2>rules.err
eq "--keep-daily without --strategy: exit 4" "$RC" 4
check "says to add --strategy retention" diff -u "$COFFER_SOURCE/tests/integration/golden/client/admin-keep-without-strategy.txt" rules.err
rc coffer admin collection update shop-db --keep-daily 3 2>rules-update.err
eq "update --keep-daily of a rotating collection: exit 4" "$RC" 4
check "update: the same message" diff -u <(sed 's/collection create/collection update/' \
    "$COFFER_SOURCE/tests/integration/golden/client/admin-keep-without-strategy.txt") rules-update.err
rc coffer admin collection update kept --keep-daily 3 >kept-update.txt
eq "update --keep-daily of a retention collection needs no --strategy" "$RC" 0
check "the rule changed" grep -q '^retention.keep_daily: 3$' kept-update.txt

coffer admin token create --account shop --permissions versions.upload,versions.list,versions.download \
    --collections shop-db --ttl 3600 --description "the shop's server" >shop.token 2>token.err
RC=$?
eq "token create" "$RC" 0
eq "prints the token alone" "$(wc -l <shop.token)" 1
check "a JWT" grep -Eq '^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$' shop.token
rc coffer admin token create --account shop --permissions versions.fly 2>perm.err
eq "an unknown permission: exit 4" "$RC" 4
check "the server's field message" grep -q "^  permissions: " perm.err

# The new token works with the client (from a private file: coffer refuses others).
chmod 600 shop.token
printf '[server]\nurl = %s\ntoken_file = %s/shop.token\n' "$COFFER_URL" "$ITEST_DIR" >shop.conf
echo "shop data" | "$COFFER_BIN/coffer" --config shop.conf push --collection shop-db - && RC=0 || RC=$?
eq "a push with the minted token" "$RC" 0
rc "$COFFER_BIN/coffer" --config shop.conf list --collection shop-db >shop.list
check "and a list" grep -q "^1 " shop.list
rc "$COFFER_BIN/coffer" --config shop.conf admin account list 2>denied.err
eq "the shop's token cannot list accounts: exit 2" "$RC" 2
check "permission_denied" grep -q "permission_denied" denied.err

rc coffer admin account list >accounts.txt
eq "account list" "$RC" 0
check "a table with the account" grep -Eq '^shop +The Shop +true +10000000 ' accounts.txt
rc coffer admin collection list --account shop >collections.txt
check "collection list" grep -Eq '^shop-db +shop +1 ' collections.txt
rc coffer admin collection list --query 'kep*' --json >query.json
eq "collection list --query --json" "$(jq -r '[.collections[].id] | join(",")' query.json)" "kept"
rc coffer admin token list --account shop >tokens.txt
check "token list shows the token's description" grep -q "the shop's server" tokens.txt
token_id=$(awk 'NR == 2 {print $1}' tokens.txt)
rc coffer admin collection show shop-db >show.txt
check "collection show with usage" grep -q "^usage.versions: 1$" show.txt
rc coffer admin collection update shop-db --description "nightly dump" --max-versions 2 >update.txt
eq "collection update" "$RC" 0
check "the description changed" grep -q "^description: nightly dump$" update.txt
check "max_versions changed" grep -q "^max_versions: 2$" update.txt
rc coffer admin account update shop --active false >/dev/null
rc "$COFFER_BIN/coffer" --config shop.conf list --collection shop-db 2>inactive.err
eq "an inactive account's token: exit 2" "$RC" 2
check "account_inactive" grep -q "account_inactive" inactive.err
rc coffer admin account update shop --active true >/dev/null
rc coffer admin token revoke "$token_id"
eq "token revoke" "$RC" 0
rc "$COFFER_BIN/coffer" --config shop.conf list --collection shop-db 2>revoked.err
eq "the revoked token: exit 2" "$RC" 2
check "token_revoked" grep -q "token_revoked" revoked.err
rc coffer admin collection delete shop-db 2>notempty.err
eq "deleting a collection with versions: exit 4" "$RC" 4
check "collection_not_empty" grep -q "collection_not_empty" notempty.err
rc coffer admin collection delete shop-db --force
eq "collection delete --force" "$RC" 0
rc coffer admin collection delete kept
rc coffer admin account delete shop
eq "account delete" "$RC" 0
rc coffer admin account show shop 2>gone.err
eq "the account is gone: exit 4" "$RC" 4
rc coffer admin whoami >whoami.txt
check "whoami of the administrator" grep -q "^account_id: system$" whoami.txt
rc coffer admin permissions >permissions.txt
check "permissions lists versions.upload" grep -q "^versions.upload: " permissions.txt

cd /
cofferd_stop
itest_finish
