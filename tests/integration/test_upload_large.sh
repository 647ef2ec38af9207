#!/usr/bin/env bash
# A 1 GiB upload and download through the release build: byte-identical, and
# the server's resident memory stays under 64 MiB the whole time (the peak,
# VmHWM, is read at the end). Memory is measured on the release build because
# the sanitizers inflate it.
source "$(dirname "$0")/lib.sh"
itest_begin
COFFERD=${COFFER_RELEASE_BIN:-$COFFER_BIN}/cofferd
cofferd_start

C=/api/stable/repository/collection
api POST /api/stable/accounts -d '{"id": "big", "name": "Big"}'
api POST "$C" -d '{"id": "huge", "account_id": "big", "filename": "dump.sql"}'
expect 201 "create collection"

# Half compressible text, half random bytes: both paths of the compressor.
data=$ITEST_DIR/data
(
    # head closes the pipe early on purpose.
    set +o pipefail
    seq -f "INSERT INTO t VALUES (%.0f, 'row text that repeats a lot');" 1 20000000 | head -c 536870912
    head -c 536870912 /dev/urandom
) >"$data"
eq "test data is 1 GiB" "$(stat -c %s "$data")" 1073741824
want_sha=$(sha256sum "$data" | cut -d' ' -f1)

api POST "$C/huge/versions" -T "$data" -H 'Expect:' -H "X-Content-SHA256: $want_sha"
expect 201 "1 GiB upload"
eq "size recorded" "$(jbody .version.size)" 1073741824
eq "sha256 recorded" "$(jbody .version.sha256)" "$want_sha"
check "stored compressed (text half shrinks)" test "$(jbody .version.stored_size)" -lt 1000000000

echo "cofferd peak resident memory after the upload: $(($(awk '/^VmHWM:/ {print $2}' "/proc/$COFFERD_PID/status") / 1024)) MiB"
curl -sS -o "$ITEST_DIR/download" -H "Authorization: Bearer $TOKEN" "$COFFER_URL$C/huge/versions/latest"
check "download is byte-identical" cmp -s "$data" "$ITEST_DIR/download"
rm -f "$ITEST_DIR/download"

peak_kb=$(awk '/^VmHWM:/ {print $2}' "/proc/$COFFERD_PID/status")
echo "cofferd peak resident memory: $((peak_kb / 1024)) MiB"
check "peak resident memory under 64 MiB (was ${peak_kb} kB)" test "$peak_kb" -lt 65536

cofferd_stop
itest_finish
