#!/usr/bin/env bash
# The upload's SHA-256 as a chunked trailer (what `coffer push` sends for a
# streamed backup): the right hash commits, a wrong or malformed one is refused
# with nothing kept, the header wins over the trailer, and the client really
# sends it (a push whose trailer the server checks).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_client.sh"
itest_begin
cofferd_start
client_setup db

port=${COFFER_URL##*:}
V=/api/stable/repository/collection/db/versions

# chunked_upload BODY TRAILER-HASH [HEADER-HASH]: a chunked POST written by hand
# (curl cannot send trailers); sets STATUS and BODY like api.
chunked_upload()
{
    local out
    out=$(python3 - "$port" "$ACME" "$V" "$1" "$2" "${3:-}" <<'PY'
import socket, sys
port, token, path, body, trailer, header = sys.argv[1:7]
body = body.encode()
s = socket.create_connection(("127.0.0.1", int(port)))
req = "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n" % (path, token)
req += "Transfer-Encoding: chunked\r\nTrailer: X-Content-SHA256\r\nConnection: close\r\n"
if header:
    req += "X-Content-SHA256: %s\r\n" % header
req = req.encode() + b"\r\n" + b"%x\r\n" % len(body) + body + b"\r\n0\r\n"
if trailer:
    req += ("X-Content-SHA256: %s\r\n" % trailer).encode()
s.sendall(req + b"\r\n")
data = b""
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    data += chunk
head, _, rest = data.partition(b"\r\n\r\n")
print(head.split(b"\r\n")[0].split()[1].decode())
print(rest.decode())
PY
    )
    STATUS=$(head -n1 <<<"$out")
    BODY=$(tail -n +2 <<<"$out")
}

sha() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }

chunked_upload "first backup" "$(sha "first backup")"
expect 201 "the right hash in the trailer"
eq "the version has that hash" "$(jbody .version.sha256)" "$(sha "first backup")"
upper=$(sha "second" | tr a-f A-F)
chunked_upload "second" "$upper"
expect 201 "an upper-case hash in the trailer"

chunked_upload "third backup" "$(sha "something else")"
expect 400 checksum_mismatch "a wrong hash in the trailer"
chunked_upload "third backup" "not-a-hash"
expect 400 bad_request "a malformed trailer"
chunked_upload "third backup" "$(sha "third backup")" "$(sha "something else")"
expect 400 checksum_mismatch "a wrong header wins over a right trailer"
chunked_upload "third backup" "$(sha "something else")" "$(sha "third backup")"
expect 201 "a right header wins over a wrong trailer"
eq "three versions: the refused uploads kept nothing" "$(version_count db)" 3
eq "and left no stored object behind" "$(find "$ITEST_DIR/storage/objects" -type f | wc -l)" 3

# The client sends the trailer and the server checks it: through a proxy that
# alters one byte of the body on its way (keeping the length), the server's
# hash differs from the client's trailer and nothing is kept (exit 5).
printf 'streamed by coffer\n' >"$ITEST_DIR/data"
rc coffer push --collection db - <"$ITEST_DIR/data"
eq "coffer push from standard input" "$RC" 0
TOKEN=$ACME api GET "$V/latest"
eq "the stored bytes are the pushed ones" "$(header X-Content-SHA256)" "$(sha256sum <"$ITEST_DIR/data" | cut -d' ' -f1)"

altering_proxy "$port"
before=$(version_count db)
rc coffer --url "$ALTERING_PROXY_URL" push --collection db - <"$ITEST_DIR/data"
eq "a body altered on the way fails the trailer's check: exit 5" "$RC" 5
eq "and no version is kept" "$(version_count db)" "$before"
grep -q "checksum_mismatch\|400" "$ITEST_DIR/cofferd.log"
check "the server refused it" test $? -eq 0

cofferd_stop
itest_finish
