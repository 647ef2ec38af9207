#!/usr/bin/env bash
# A full disk: an upload that meets ENOSPC answers 507 storage_full, leaves
# nothing behind and gives its space back, while the server goes on serving
# reads (and writes again once there is room). The storage is a 4 MiB tmpfs
# mounted for the test (needs root).
source "$(dirname "$0")/lib.sh"
itest_begin
storage=$ITEST_DIR/storage
mkdir -p "$storage"
if ! mount -t tmpfs -o size=4m tmpfs "$storage"; then
    echo "cannot mount a tmpfs (run as root): the disk-full test cannot run"
    exit 1
fi
trap 'umount -l "$storage" 2>/dev/null || true; itest_cleanup' EXIT
cofferd_start

C=/api/stable/repository/collection
api POST /api/stable/accounts -d '{"id": "acct", "name": "Acct"}'
api POST "$C" -d '{"id": "col", "account_id": "acct"}'
# Random bytes do not compress: what is uploaded is what is stored.
head -c 1000000 /dev/urandom >"$ITEST_DIR/1m"
head -c 6000000 /dev/urandom >"$ITEST_DIR/6m"
api POST "$C/col/versions" --data-binary @"$ITEST_DIR/1m" -H 'Expect:'
expect 201 "a version that fits"
used_before=$(df --output=used -B1 "$storage" | tail -n1)

api POST "$C/col/versions" --data-binary @"$ITEST_DIR/6m" -H 'Expect:'
expect 507 storage_full "a version larger than the free space"
check "the 507 says the storage is full" grep -q "storage is full" <<<"$BODY"
eq "no part file left" "$(find "$storage/tmp" -type f | wc -l)" 0
eq "no pending upload left" "$(itest_sql "SELECT count(*) FROM pending_uploads")" 0
eq "no version added" "$(itest_sql "SELECT count(*) FROM versions")" 1
eq "the space is given back" "$(df --output=used -B1 "$storage" | tail -n1)" "$used_before"
api GET "$C/col"
eq "usage unchanged" "$(jbody .collection.usage.size)" 1000000

# Reads go on.
api GET "$C/col/versions/latest"
expect 200 "download while the disk was full"
check "byte-identical" cmp -s "$ITEST_DIR/body" "$ITEST_DIR/1m"
api GET "$C/col/versions"
expect 200 "listing"

# And writes resume when there is room.
api POST "$C/col/versions" --data-binary @"$ITEST_DIR/1m" -H 'Expect:'
expect 201 "a version that fits again"
eq "numbered after the refused one" "$(jbody .version.number)" 2

cofferd_stop
itest_finish
