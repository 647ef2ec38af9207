#!/usr/bin/env bash
# The recovery program printed in docs/format.md opens the committed files of
# format version 1 (tests/fixtures/format-v1/) without any of Coffer's code:
# the program is taken from the page itself (between the
# "<!-- coffer-recover.py: begin/end -->" markers), run with python3, ctypes
# on libsodium and the zstd command, and its output compared with the
# committed plaintext. It must also refuse altered, truncated and extended
# files, the wrong key or passphrase, and leave no output when it does.
# Needs no database (COFFER_TEST_PG is ignored).
#
# Environment (set by CMake and scripts/test): COFFER_SOURCE (the source
# tree). PYTHON may name the python3 to use.
set -uo pipefail
: "${COFFER_SOURCE:?run through ctest (scripts/test), or set COFFER_SOURCE}"
python=${PYTHON:-python3}

doc=$COFFER_SOURCE/docs/format.md
fixtures=$COFFER_SOURCE/tests/fixtures/format-v1
passed=0
failed=0
scratch=$(mktemp -d /tmp/coffer-test-format-recovery.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
program=$scratch/coffer_recover.py

pass()
{
    passed=$((passed + 1))
    echo "ok:   $1"
}

fail()
{
    failed=$((failed + 1))
    echo "FAIL: $1"
    if [[ -s $scratch/details ]]; then
        cut -c1-240 "$scratch/details" | sed 's/^/      /' | head -n 20
    fi
}

# The fenced block between the markers, without its fence lines.
extract_program()
{
    awk '
        /^<!-- coffer-recover.py: begin -->$/ { inside = 1; next }
        /^<!-- coffer-recover.py: end -->$/ { inside = 0; next }
        inside && /^```/ { next }
        inside { print }
    ' "$doc" >"$program"
    [[ -s $program ]] && grep -q 'crypto_secretstream_xchacha20poly1305_pull' "$program"
}

# recover NAME SECRET-OPTION SECRET-FILE INPUT: runs the program into
# $scratch/NAME.out; its stderr goes to $scratch/details.
recover()
{
    local name=$1
    rm -f "$scratch/$name.out"
    "$python" "$program" "$2" "$3" "$4" "$scratch/$name.out" >"$scratch/details" 2>&1
}

# expect_opens NAME SECRET-OPTION SECRET-FILE INPUT
expect_opens()
{
    local name=$1
    if recover "$@" && cmp -s "$scratch/$name.out" "$fixtures/plaintext"; then
        pass "$name: opens to the committed plaintext"
    else
        fail "$name: does not open to the committed plaintext"
    fi
    : >"$scratch/details"
}

# expect_refused NAME SECRET-OPTION SECRET-FILE INPUT MESSAGE: exit status 1,
# MESSAGE in what it says, no output and no partial output left behind.
# Quiet on success (loops call it many times); returns non-zero on failure.
expect_refused()
{
    local name=$1 message=$5 status=0
    recover "$1" "$2" "$3" "$4" || status=$?
    if ((status != 1)); then
        echo "$name: exit status $status, not 1" >>"$scratch/details"
        return 1
    fi
    if [[ -e $scratch/$name.out || -e $scratch/$name.out.partial ]]; then
        echo "$name: output left behind" >>"$scratch/details"
        return 1
    fi
    # A crash also exits with 1: only a refusal the program meant counts.
    if grep -q '^Traceback' "$scratch/details"; then
        echo "$name: the program crashed" >>"$scratch/details"
        return 1
    fi
    if ! grep -q -- "$message" "$scratch/details"; then
        echo "$name: the message lacks \"$message\"" >>"$scratch/details"
        return 1
    fi
    return 0
}

check_one_refusal()
{
    local what=$1
    shift
    if expect_refused "$@"; then
        pass "$what"
    else
        fail "$what"
    fi
    : >"$scratch/details"
}

# chunk_starts FILE HEADER-LEN: where each chunk's length field begins.
chunk_starts()
{
    "$python" - "$1" "$2" <<'PY'
import struct, sys
data = open(sys.argv[1], "rb").read()
pos = int(sys.argv[2])
while pos < len(data):
    print(pos)
    pos += 4 + struct.unpack(">I", data[pos:pos + 4])[0]
PY
}

# flip FILE OUT-PREFIX POS...: for each POS, FILE with the byte at POS
# inverted, written to OUT-PREFIX-POS.cfr.
flip()
{
    "$python" - "$@" <<'PY'
import sys
data = open(sys.argv[1], "rb").read()
for pos in map(int, sys.argv[3:]):
    copy = bytearray(data)
    copy[pos] ^= 0xFF
    open("%s-%d.cfr" % (sys.argv[2], pos), "wb").write(copy)
PY
}

if extract_program; then
    pass "docs/format.md holds the recovery program between its markers"
else
    fail "docs/format.md holds no recovery program between <!-- coffer-recover.py: begin/end -->"
    echo "$passed passed, $failed failed"
    exit 1
fi

# coffer refuses secrets open to others, and git keeps no 0600: private copies.
cp "$fixtures/key" "$fixtures/passphrase" "$scratch/"
chmod 600 "$scratch/key" "$scratch/passphrase"
key_file=$scratch/key
pass_file=$scratch/passphrase
by_key=$fixtures/sealed-with-key.cfr
by_pass=$fixtures/sealed-with-passphrase.cfr

expect_opens key --key-file "$key_file" "$by_key"
expect_opens passphrase --passphrase-file "$pass_file" "$by_pass"

# Another key, and a passphrase differing by its trailing space.
printf 'coffer-key-1:%s\n' "$("$python" -c 'import base64, os; print(base64.b64encode(os.urandom(32)).decode())')" \
    >"$scratch/other.key"
head -n 1 "$pass_file" | tr -d '\r' | sed 's/ $//' >"$scratch/other.pass"
chmod 600 "$scratch/other.key" "$scratch/other.pass"
check_one_refusal "the wrong key is refused at chunk 1" \
    wrong-key --key-file "$scratch/other.key" "$by_key" "chunk 1 does not authenticate: wrong key or passphrase"
check_one_refusal "the wrong passphrase is refused at chunk 1" \
    wrong-pass --passphrase-file "$scratch/other.pass" "$by_pass" "chunk 1 does not authenticate: wrong key"
check_one_refusal "a key for a passphrase file is refused" \
    kind --key-file "$key_file" "$by_pass" "sealed with a passphrase"

# Every header byte, every length field and a spread of bytes elsewhere,
# inverted one at a time: each refused.
mapfile -t key_starts < <(chunk_starts "$by_key" 40)
mapfile -t pass_starts < <(chunk_starts "$by_pass" 64)
size=$(stat -c %s "$by_key")
positions=$(seq 0 39; printf '%s\n' "${key_starts[@]}"; seq 41 61 $((size - 1)); echo $((size - 1)))
bad=0
# shellcheck disable=SC2086 # one position a word
flip "$by_key" "$scratch/flipped" $positions
for pos in $positions; do
    expect_refused "flip-$pos" --key-file "$key_file" "$scratch/flipped-$pos.cfr" "coffer_recover: " ||
        bad=$((bad + 1))
done
if ((bad == 0)); then
    pass "the key-sealed file with any one of $(wc -w <<<"$positions") bytes inverted is refused"
else
    fail "$bad altered key-sealed files were not refused"
fi
: >"$scratch/details"
bad=0
positions=$(seq 0 63; echo "${pass_starts[1]}" $(($(stat -c %s "$by_pass") - 1)))
# shellcheck disable=SC2086 # one position a word
flip "$by_pass" "$scratch/pflipped" $positions
for pos in $positions; do
    expect_refused "pflip-$pos" --passphrase-file "$pass_file" "$scratch/pflipped-$pos.cfr" "coffer_recover: " ||
        bad=$((bad + 1))
done
if ((bad == 0)); then
    pass "the passphrase-sealed file with any header byte inverted is refused"
else
    fail "$bad altered passphrase-sealed files were not refused"
fi
: >"$scratch/details"

# Cut short: empty, inside the header, right after it, exactly before the
# final chunk (every chunk present authenticates), one byte short.
last=${key_starts[-1]}
for cut in 0 20 40 "$last" $((size - 1)); do
    head -c "$cut" "$by_key" >"$scratch/cut.cfr"
    check_one_refusal "the key-sealed file cut at byte $cut of $size is refused" \
        "cut-$cut" --key-file "$key_file" "$scratch/cut.cfr" "truncated"
done
check_one_refusal "cut exactly before the final chunk, it says so" \
    cut-last --key-file "$key_file" <(head -c "$last" "$by_key") "without its final chunk"

# Extended: a byte, or the final chunk once more.
{ cat "$by_key"; printf 'x'; } >"$scratch/longer.cfr"
check_one_refusal "a byte after the final chunk is refused" \
    longer --key-file "$key_file" "$scratch/longer.cfr" "data after its final chunk"
{ cat "$by_key"; tail -c +$((last + 1)) "$by_key"; } >"$scratch/longer2.cfr"
check_one_refusal "the final chunk repeated is refused" \
    longer2 --key-file "$key_file" "$scratch/longer2.cfr" "data after its final chunk"

# A failure leaves an existing output as it was.
echo "older output" >"$scratch/kept.out"
"$python" "$program" --key-file "$scratch/other.key" "$by_key" "$scratch/kept.out" >"$scratch/details" 2>&1
if [[ $(cat "$scratch/kept.out") == "older output" && ! -e $scratch/kept.out.partial ]]; then
    pass "a refused file leaves an existing output untouched"
else
    fail "a refused file changed an existing output"
fi
: >"$scratch/details"

# A plain file is not taken for an encrypted one.
check_one_refusal "the plaintext itself is refused as not an encrypted file" \
    plain --key-file "$key_file" "$fixtures/plaintext" "not an encrypted coffer file"

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
