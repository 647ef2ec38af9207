#!/usr/bin/env bash
# ES256 instead of the default HS256: cofferd signs with a P-256 key pair from
# files, verifies its own tokens, and refuses an HS256 token whose HMAC key is
# its public key (the classic algorithm confusion).
source "$(dirname "$0")/lib.sh"
itest_begin
openssl ecparam -name prime256v1 -genkey -noout -out "$ITEST_DIR/es256.key" 2>/dev/null
openssl ec -in "$ITEST_DIR/es256.key" -pubout -out "$ITEST_DIR/es256.pub" 2>/dev/null
cofferd_start jwt_algorithm=ES256 "jwt_private_key_file=$ITEST_DIR/es256.key" \
    "jwt_public_key_file=$ITEST_DIR/es256.pub"

b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
header=$(cut -d. -f1 <<<"$ADMIN" | tr '_-' '/+')
header=$(printf '%s==' "$header" | base64 -d 2>/dev/null || true)
check "the administrator token is ES256" grep -q '"ES256"' <<<"$header"

api GET /api/stable/auth/whoami
expect 200 "an ES256 token works"
jti=$(jbody .token_id)

# Same claims, signed with HMAC-SHA256 using the public key file as the secret.
claims=$(printf '{"sub":"system","jti":"%s","exp":%d}' "$jti" $(($(date +%s) + 3600)) | b64url)
forged_head=$(printf '{"alg":"HS256","typ":"JWT"}' | b64url)
signature=$(printf '%s.%s' "$forged_head" "$claims" |
    openssl dgst -sha256 -mac HMAC -macopt "key:$(cat "$ITEST_DIR/es256.pub")" -binary | b64url)
TOKEN="$forged_head.$claims.$signature" api GET /api/stable/auth/whoami
expect 401 invalid_token "an HS256 token keyed with the public key"

api POST /api/stable/accounts -d '{"id": "acct", "name": "Acct"}'
api POST /api/stable/auth/token -d '{"account_id": "acct", "permissions": ["collections.view"]}'
expect 201 "minting under ES256"
TOKEN=$(jbody .token) api GET /api/stable/repository/collection
expect 200 "a minted ES256 token works"

cofferd_stop
itest_finish
