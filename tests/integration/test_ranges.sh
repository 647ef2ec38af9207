#!/usr/bin/env bash
# Range reads of a version stored as several independent zstd frames with a
# seek table: at the start, the middle, the end and across frame boundaries
# (every 8 MiB of original bytes) they match the original; the stored bytes,
# seek table included, still decode with the zstd program.
source "$(dirname "$0")/lib.sh"
itest_begin
cofferd_start
C=/api/stable/repository/collection
api POST /api/stable/accounts -d '{"id": "acct", "name": "Acct"}'
api POST "$C" -d '{"id": "ranges", "account_id": "acct"}'

# 20 MiB + a bit: two whole frames and a partial third, text and random mixed.
(
    set +o pipefail
    seq -f "line %.0f of a dump" 1 2000000 | head -c 12582912
    head -c 8388608 /dev/urandom
    printf 'the very end'
) >"$ITEST_DIR/data"
size=$(stat -c %s "$ITEST_DIR/data")
api POST "$C/ranges/versions" --data-binary @"$ITEST_DIR/data" -H 'Expect:'
expect 201 "upload"

frame=8388608
for range in 0-99 100-5000000 $((frame - 10))-$((frame + 10)) $((frame - 1))-$((frame - 1)) \
    $((frame))-$((frame)) $((2 * frame - 4096))-$((2 * frame + 4096)) $((frame + 12345))-$((2 * frame + 999)) \
    $((size - 1048576))-$((size - 1)) $((size - 1))-$((size - 1)); do
    first=${range%-*}
    last=${range#*-}
    api GET "$C/ranges/versions/latest" -H "Range: bytes=$range"
    expect 206 "range $range"
    check "range $range matches the original" \
        cmp -s "$ITEST_DIR/body" <(tail -c +$((first + 1)) "$ITEST_DIR/data" | head -c $((last - first + 1)))
done
api GET "$C/ranges/versions/latest" -H 'Range: bytes=-1048576'
expect 206 "the last MiB"
check "the last MiB matches" cmp -s "$ITEST_DIR/body" <(tail -c 1048576 "$ITEST_DIR/data")

api GET "$C/ranges/versions/latest" -H 'Accept-Encoding: zstd'
expect 200 "the stored bytes"
# zstd -l: "Frames Skips ...": three data frames and the seek table's skippable frame.
eq "three frames and one skippable frame were stored" \
    "$(zstd -l "$ITEST_DIR/body" 2>/dev/null | awk 'NR == 2 {print $1 " " $2}')" "4 1"
check "the zstd program decodes them, seek table included" cmp -s <(zstd -dc "$ITEST_DIR/body") "$ITEST_DIR/data"
check "the seek table's trailer ends the object" \
    test "$(tail -c 4 "$ITEST_DIR/body" | od -An -tx4 | tr -d ' ')" = "5845494b"
api GET "$C/ranges/versions/latest"
check "a whole download matches" cmp -s "$ITEST_DIR/body" "$ITEST_DIR/data"

cofferd_stop
itest_finish
