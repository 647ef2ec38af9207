#!/usr/bin/env bash
# Every endpoint of the contract against a real cofferd and PostgreSQL: the
# success path and the main errors, with status and error codes checked.
source "$(dirname "$0")/lib.sh"
itest_begin
cofferd_start

C=/api/stable/repository/collection

# --- routing and errors without a token
TOKEN= api GET /api/stable/auth/whoami
expect 401 unauthenticated "no token"
check "401 carries WWW-Authenticate" test "$(header WWW-Authenticate)" = "Bearer"
TOKEN=not.a.token api GET /api/stable/auth/whoami
expect 401 invalid_token "garbage token"
api GET /api/stable/nothing-here
expect 404 not_found "unknown route"
api PATCH /api/stable/accounts
expect 405 method_not_allowed "wrong method"
check "405 lists Allow" test "$(header Allow)" = "POST, GET"

# --- whoami and permissions
api GET /api/stable/auth/whoami
expect 200 "whoami"
eq "administrator account" "$(jbody .account_id)" system
eq "administrator holds every permission" "$(jbody '.permissions | length')" 13
api GET /api/stable/auth/permissions
expect 200 "permissions"
check "permissions lists versions.upload" test -n "$(jbody '.permissions["versions.upload"]')"

# --- accounts
api POST /api/stable/accounts -d '{"id": "acme", "name": "Acme", "storage_quota": "10MB", "max_collections": 3}'
expect 201 "create account"
eq "quota parsed from 10MB" "$(jbody .account.storage_quota)" 10000000
eq "account active by default" "$(jbody .account.active)" true
api POST /api/stable/accounts -d '{"id": "acme", "name": "Again"}'
expect 409 account_exists "duplicate account"
api POST /api/stable/accounts -d '{"name": "No id given"}'
expect 201 "account with a generated id"
generated=$(jbody .account.id)
check "generated account id is a UUID" grep -Eq '^[0-9a-f-]{36}$' <<<"$generated"
api POST /api/stable/accounts -d '{"id": "bad id!", "name": "x", "colour": "red"}'
expect 400 validation_failed "invalid account"
check "fields name id" test "$(jbody '.fields.id')" != null
check "fields name the unknown field" test "$(jbody '.fields.colour')" = "unknown field"
api POST /api/stable/accounts -d '{"name": "x", "storage_quota": "1.5GB"}'
expect 400 invalid_size "bad size"
api POST /api/stable/accounts -d '{"name": '
expect 400 invalid_json "broken JSON"
api GET /api/stable/accounts
expect 200 "list accounts"
eq "two accounts" "$(jbody '.accounts | length')" 2
api GET /api/stable/accounts/acme
expect 200 "get account"
eq "usage present" "$(jbody .account.usage.collections)" 0
api PUT /api/stable/accounts/acme -d '{"name": "Acme Inc"}'
expect 200 "update account"
eq "name changed" "$(jbody .account.name)" "Acme Inc"
eq "quota kept" "$(jbody .account.storage_quota)" 10000000
api GET /api/stable/accounts/nobody
expect 404 not_found "unknown account"
api DELETE "/api/stable/accounts/$generated"
expect 204 "delete empty account"

# --- tokens
api POST /api/stable/auth/token -d '{"permissions": ["collections.view"]}'
expect 400 validation_failed "administrator must name account_id"
api POST /api/stable/auth/token -d '{"account_id": "acme", "permissions": ["collections.create", "collections.view",
  "collections.modify", "collections.delete", "versions.upload", "versions.list", "versions.download",
  "versions.delete", "tokens.create", "tokens.view", "tokens.revoke"], "description": "acme operator"}'
expect 201 "mint account token"
ACME=$(jbody .token)
acme_token_id=$(jbody .token_id)
eq "minted for acme" "$(jbody .account_id)" acme
api POST /api/stable/auth/token -d '{"account_id": "acme", "permissions": ["versions.fly"]}'
expect 400 validation_failed "unknown permission"
api POST /api/stable/auth/token -d '{"account_id": "acme", "permissions": []}'
expect 400 validation_failed "empty permissions"

TOKEN=$ACME
api GET /api/stable/auth/whoami
eq "whoami of the account token" "$(jbody .account_id)" acme
api POST /api/stable/auth/token -d '{"permissions": ["metrics.view"]}'
expect 403 permission_escalation "mint a permission the minter lacks"
api POST /api/stable/auth/token -d '{"permissions": ["versions.list"], "ttl": 30000000}'
expect 403 permission_escalation "outlive the minter"
api POST /api/stable/auth/token -d '{"permissions": ["versions.upload"], "collections": ["db"], "ttl": 3600}'
expect 201 "mint a narrower token"
UPLOADER=$(jbody .token)
uploader_id=$(jbody .token_id)
eq "scope kept" "$(jbody '.collections | join(",")')" db
api GET /api/stable/auth/token
expect 200 "list tokens"
eq "acme sees its two tokens" "$(jbody '.tokens | length')" 2
check "no token text in the list" test "$(jbody '[.tokens[] | has("token")] | any')" = false
api GET /api/stable/accounts
expect 403 permission_denied "account token cannot list accounts"

# --- collections
api POST "$C" -d '{"id": "db", "description": "nightly dump", "filename": "db.sql.gz", "tags": ["pg", "prod"],
  "max_versions": 3, "max_version_size": "1MB", "max_collection_size": "3MB"}'
expect 201 "create collection"
eq "owned by the token's account" "$(jbody .collection.account_id)" acme
eq "strategy default" "$(jbody .collection.strategy)" delete_oldest_when_adding_new
api POST "$C" -d '{"id": "db"}'
expect 409 collection_exists "duplicate collection"
api POST "$C" -d '{"id": "big", "max_version_size": "2MB", "max_collection_size": "1MB"}'
expect 400 validation_failed "version size above collection size"
check "field max_version_size named" test "$(jbody '.fields.max_version_size')" != null
api POST "$C" -d '{"id": "big", "max_versions": 5, "max_version_size": "1MB", "max_collection_size": "2MB"}'
expect 400 validation_failed "versions times version size above collection size"
api POST "$C" -d '{"id": "big", "max_collection_size": "8MB"}'
expect 507 account_quota_exceeded "declared size beyond the account's remaining quota"
api POST "$C" -d '{"id": "big", "strategy": "keep_everything"}'
expect 400 validation_failed "unknown strategy"
api POST "$C" -d '{"id": "big", "retention": {"keep_daily": 7}}'
expect 400 validation_failed "retention without the retention strategy"
api POST "$C" -d '{"id": "logs", "description": "web server logs", "strategy": "retention",
  "retention": {"keep_last": 2, "keep_daily": 7}, "expected_interval": 86400}'
expect 201 "create a retention collection"
eq "retention stored" "$(jbody .collection.retention.keep_daily)" 7
api POST "$C" -d '{"description": "generated id"}'
expect 201 "collection with a generated id"
gen_collection=$(jbody .collection.id)
api POST "$C" -d '{"id": "fourth"}'
expect 409 too_many_collections "a fourth collection in an account with max_collections 3"
api GET "$C"
expect 200 "list collections"
eq "three collections" "$(jbody .pagination.total)" 3
api GET "$C?q=dump"
eq "q matches description" "$(jbody '.collections[0].id')" db
api GET "$C?q=l*s"
eq "wildcard matches id" "$(jbody '[.collections[].id] | join(",")')" logs
api GET "$C?per_page=1&page=2"
eq "page 2 of 1-per-page" "$(jbody '.collections | length')" 1
eq "pagination echoes per_page" "$(jbody .pagination.per_page)" 1
api GET "$C?per_page=101"
expect 400 validation_failed "per_page out of range"
api GET "$C/db"
expect 200 "get collection"
eq "tags kept" "$(jbody '.collection.tags | join(",")')" "pg,prod"
api PUT "$C/db" -d '{"description": "nightly pg_dump", "max_versions": 4}'
expect 400 validation_failed "edit breaking the size rule"
api PUT "$C/db" -d '{"description": "nightly pg_dump", "max_versions": 2}'
expect 200 "edit collection"
eq "description changed" "$(jbody .collection.description)" "nightly pg_dump"
eq "limits kept" "$(jbody .collection.max_version_size)" 1000000
api PUT "$C/db" -d '{"account_id": "other"}'
expect 400 validation_failed "account cannot change"
api DELETE "$C/$gen_collection"
expect 204 "delete empty collection"
api GET "$C/$gen_collection"
expect 404 not_found "deleted collection is gone"

# --- versions
head -c 300000 /dev/urandom >"$ITEST_DIR/v1"
api POST "$C/db/versions" --data-binary @"$ITEST_DIR/v1" -H 'Expect:'
expect 201 "upload version 1"
eq "number 1" "$(jbody .version.number)" 1
eq "size" "$(jbody .version.size)" 300000
eq "sha256" "$(jbody .version.sha256)" "$(sha256sum "$ITEST_DIR/v1" | cut -d' ' -f1)"
eq "compression" "$(jbody .version.compression)" zstd
eq "filename" "$(jbody .version.filename)" db-v1.sql.gz
v1_id=$(jbody .version.id)
printf 'second\n' >"$ITEST_DIR/v2"
api POST "$C/db/versions" --data-binary @"$ITEST_DIR/v2" -H "X-Content-SHA256: $(sha256sum "$ITEST_DIR/v2" | cut -d' ' -f1)"
expect 201 "upload version 2 with a checksum"
api POST "$C/db/versions" --data-binary @"$ITEST_DIR/v2" -H "X-Content-SHA256: $(printf '0%.0s' {1..64})"
expect 400 checksum_mismatch "wrong checksum"
api POST "$C/db/versions" --data-binary @"$ITEST_DIR/v2" -H "X-Content-SHA256: nothex"
expect 400 bad_request "malformed checksum"
api POST "$C/db/versions" -H 'Content-Length: 0'
expect 400 empty_body "empty upload"
api POST "$C/db/versions" -H 'Content-Length: 2000000' -H 'Expect: 100-continue' --data-binary @"$ITEST_DIR/v2"
expect 413 version_too_large "declared length over max_version_size"
api POST "$C" -d '{"id": "small", "max_collection_size": "1MB", "strategy": "alert_when_too_many_versions"}'
expect 201 "a small collection"
api POST "$C/small/versions" -H 'Content-Length: 2000000' -H 'Expect: 100-continue' --data-binary @"$ITEST_DIR/v2" \
    --max-time 10
expect 413 collection_full "declared length over max_collection_size, refused before the body"
api POST "$C/logs/versions" -H 'Content-Length: 20000000' -H 'Expect: 100-continue' --data-binary @"$ITEST_DIR/v2" \
    --max-time 10
expect 507 account_quota_exceeded "declared length over the account's quota, refused before the body"
api DELETE "$C/small"
expect 204 "delete the small collection"
head -c 1200000 /dev/zero >"$ITEST_DIR/too-big"
api POST "$C/db/versions" -H 'Transfer-Encoding: chunked' --data-binary @"$ITEST_DIR/too-big"
expect 413 version_too_large "chunked body over max_version_size"
api POST "$C/db/versions" --data-binary @"$ITEST_DIR/v2" -H "X-Coffer-Test-Time: 2020-01-01T00:00:00Z"
expect 400 bad_request "the test clock on a server that does not allow it"
api POST "$C/db/versions" --data-binary @"$ITEST_DIR/v2" -H "X-Internal-Filename: /etc/shadow"
expect 403 untrusted_internal_filename "X-Internal-Filename from a client"
api POST "$C/db/versions" --data-binary @"$ITEST_DIR/v1"
expect 201 "upload version 3 rotates version 1 out (max_versions 2)"
eq "rotated" "$(jbody '.rotated | join(",")')" 1
eq "number 3" "$(jbody .version.number)" 3

api GET "$C/db/versions"
expect 200 "list versions"
eq "numbers ascending" "$(jbody '[.versions[].number] | join(",")')" "2,3"
eq "download names" "$(jbody '[.versions[].filename] | join(",")')" "db-v2.sql.gz,db-v3.sql.gz"

for ref in latest 3 v3; do
    api GET "$C/db/versions/$ref"
    expect 200 "download $ref"
    check "download $ref is byte-identical" cmp -s "$ITEST_DIR/body" "$ITEST_DIR/v1"
done
eq "Content-Disposition" "$(header Content-Disposition)" 'attachment; filename="db-v3.sql.gz"'
eq "ETag" "$(header ETag)" "\"$(sha256sum "$ITEST_DIR/v1" | cut -d' ' -f1)\""
eq "X-Content-SHA256" "$(header X-Content-SHA256)" "$(sha256sum "$ITEST_DIR/v1" | cut -d' ' -f1)"
eq "Content-Type" "$(header Content-Type)" application/octet-stream
check "Last-Modified present" test -n "$(header Last-Modified)"
api GET "$C/db/versions/first"
check "first is version 2" cmp -s "$ITEST_DIR/body" "$ITEST_DIR/v2"
api GET "$C/db/versions/$v1_id"
expect 404 not_found "rotated version by UUID"
api GET "$C/db/versions/v0"
expect 400 invalid_ref "bad ref"
api GET "$C/db/versions/9"
expect 404 not_found "missing version"
api HEAD "$C/db/versions/latest"
expect 200 "HEAD"
eq "HEAD Content-Length is the original size" "$(header Content-Length)" 300000

api GET "$C/db/versions/latest" -H 'Range: bytes=1000-1999'
expect 206 "range"
eq "Content-Range" "$(header Content-Range)" "bytes 1000-1999/300000"
check "range bytes" cmp -s "$ITEST_DIR/body" <(tail -c +1001 "$ITEST_DIR/v1" | head -c 1000)
api GET "$C/db/versions/latest" -H 'Range: bytes=-100'
expect 206 "suffix range"
check "suffix bytes" cmp -s "$ITEST_DIR/body" <(tail -c 100 "$ITEST_DIR/v1")
api GET "$C/db/versions/latest" -H 'Range: bytes=300000-'
expect 416 range_not_satisfiable "range past the end"
eq "416 Content-Range" "$(header Content-Range)" "bytes */300000"
api GET "$C/db/versions/latest" -H 'Accept-Encoding: zstd'
expect 200 "zstd passthrough"
eq "Content-Encoding" "$(header Content-Encoding)" zstd
check "passthrough decodes to the original" cmp -s <(zstd -dc "$ITEST_DIR/body") "$ITEST_DIR/v1"

api DELETE "$C/db"
expect 409 collection_not_empty "delete non-empty collection"
api DELETE "$C/db/versions/first"
expect 204 "delete version"
api GET "$C/db/versions"
eq "one version left" "$(jbody '[.versions[].number] | join(",")')" 3
api GET "$C/db"
eq "usage versions" "$(jbody .collection.usage.versions)" 1
eq "usage size" "$(jbody .collection.usage.size)" 300000
api PUT "$C/db" -d '{"max_version_size": "100KB", "max_versions": 2, "max_collection_size": "200KB"}'
expect 409 limit_below_usage "limit below usage"
api POST "$C/db/versions" --data-binary @"$ITEST_DIR/v2"
expect 201 "upload version 4"
eq "numbers never reused" "$(jbody .version.number)" 4

# --- scope: the uploader token sees only "db"
TOKEN=$UPLOADER
api POST "$C/db/versions" --data-binary @"$ITEST_DIR/v2"
expect 201 "scoped upload into its collection"
api POST "$C/logs/versions" --data-binary @"$ITEST_DIR/v2"
expect 404 not_found "scoped token on another collection"
api GET "$C/db/versions"
expect 403 permission_denied "upload-only token cannot list"

# --- revocation and delete with force
TOKEN=$ACME
api DELETE "/api/stable/auth/token/$uploader_id"
expect 204 "revoke a token"
TOKEN=$UPLOADER api POST "$C/db/versions" --data-binary @"$ITEST_DIR/v2"
expect 401 token_revoked "revoked token refused on the next request"
api GET "$C/db/versions"
eq "the scoped upload rotated version 3 out" "$(jbody '[.versions[].number] | join(",")')" "4,5"
stored=$(find "$ITEST_DIR/storage/objects" -type f | wc -l)
eq "objects on disk equal versions" "$stored" 2
api DELETE "$C/db?force=true"
expect 204 "force delete"
eq "no objects left" "$(find "$ITEST_DIR/storage/objects" -type f | wc -l)" 0
api GET /api/stable/accounts/acme
TOKEN=$ADMIN api GET /api/stable/accounts/acme
eq "account usage back to zero" "$(jbody .account.usage.versions)" 0
eq "account size back to zero" "$(jbody .account.usage.size)" 0
TOKEN=$ADMIN api DELETE /api/stable/accounts/acme
expect 409 account_not_empty "account with collections"

api DELETE /api/stable/auth/token/current
expect 204 "revoke own token"
api GET /api/stable/auth/whoami
expect 401 token_revoked "own revoked token"

# --- the audit log: who did what
audit() { itest_sql "SELECT count(*) FROM audit_log WHERE action = '$1'"; }
eq "every committed upload is recorded (v1 to v5)" "$(audit version.upload)" 5
eq "downloads recorded (HEAD and the 416 are not)" "$(audit version.download)" 7
eq "version deletions recorded" "$(audit version.delete)" 1
eq "forced collection deletion recorded" "$(audit collection.delete_forced)" 1
eq "mints recorded, the command line's without a token" "$(audit token.mint)" 3
eq "revocations recorded" "$(audit token.revoke)" 2
eq "account creations recorded" "$(audit account.create)" 2
eq "the uploader is named" "$(itest_sql "SELECT count(*) FROM audit_log WHERE action = 'version.upload' AND token_id IS NULL")" 0
eq "the client address is kept" "$(itest_sql "SELECT DISTINCT client_ip FROM audit_log WHERE token_id IS NOT NULL")" 127.0.0.1

# --- health
TOKEN= api GET "/health?code=wrong"
expect 403 forbidden "health with a wrong code"
TOKEN= api GET "/health?code=$HEALTH_CODE"
expect 200 "health"
eq "health JSON" "$(jbody '.ident | join(",")')" "global_status=True,storage=True,database=True"
TOKEN= api GET /ready
expect 200 "ready"
TOKEN= api GET /live
expect 200 "live"

# --- made_at: when the client says it made the version (X-Coffer-Made-At), beside created_at
TOKEN=$ADMIN api POST /api/stable/accounts -d '{"id": "made", "name": "Made"}'
expect 201 "account for made_at"
TOKEN=$ADMIN api POST $C -d '{"id": "made-db", "account_id": "made"}'
expect 201 "collection for made_at"
TOKEN=$ADMIN api POST "$C/made-db/versions" -H 'X-Coffer-Made-At: 2021-01-02T03:04:05.25+01:00' \
    --data-binary 'made earlier'
expect 201 "upload with X-Coffer-Made-At"
eq "made_at is kept, in UTC, to the second" "$(jbody .version.made_at)" 2021-01-02T02:04:05Z
check "created_at stays the server's time of upload" test "$(jbody .version.created_at)" \> 2026-01-01
TOKEN=$ADMIN api POST "$C/made-db/versions" --data-binary 'made when uploaded'
expect 201 "upload without X-Coffer-Made-At"
eq "made_at is null when not sent" "$(jbody '.version | has("made_at") and .made_at == null')" true
TOKEN=$ADMIN api GET "$C/made-db/versions"
eq "the list carries made_at" "$(jbody '[.versions[].made_at] | tojson')" '["2021-01-02T02:04:05Z",null]'
for bad in yesterday 2021-02-30T00:00:00Z '2021-01-02 03:04:05Z' 2021-01-02T03:04:05 1609556645; do
    TOKEN=$ADMIN api POST "$C/made-db/versions" -H "X-Coffer-Made-At: $bad" --data-binary 'refused'
    expect 400 bad_request "malformed X-Coffer-Made-At '$bad'"
    check "the error names the header ('$bad')" grep -q 'X-Coffer-Made-At must be an RFC 3339 time' <<<"$(jbody .error)"
done
TOKEN=$ADMIN api POST "$C/made-db/versions" -H "X-Coffer-Made-At: $(date -u -d '+2 days' +%FT%TZ)" \
    --data-binary 'refused'
expect 400 bad_request "X-Coffer-Made-At two days ahead of the server"
check "the error says the client's clock is ahead" grep -q 'more than a day ahead' <<<"$(jbody .error)"
TOKEN=$ADMIN api POST "$C/made-db/versions" -H "X-Coffer-Made-At: $(date -u -d '+1 hour' +%FT%TZ)" \
    --data-binary 'a clock an hour fast'
expect 201 "X-Coffer-Made-At an hour ahead (a drifting clock) is accepted"
TOKEN=$ADMIN api GET "$C/made-db/versions"
eq "refused uploads stored nothing" "$(jbody '.versions | length')" 3

cofferd_stop
itest_finish
