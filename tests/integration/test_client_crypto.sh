#!/usr/bin/env bash
# Encrypted backups end to end: coffer keygen, a push sealed with a key file
# and one with a passphrase, the server holding only ciphertext, pulls and
# restores that decrypt, offline decryption of a raw download, and refusals
# (exit 5, no output file) for a wrong passphrase, a flipped byte and a
# truncated file.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_client.sh"
itest_begin
cofferd_start
client_setup sealed phrase

cd "$ITEST_DIR"
# A few MiB of text with a marker that compresses only in part, so that the
# sealed file spans many chunks.
{
    for ((i = 0; i < 2000; i++)); do echo "row $i: SECRET-PAYLOAD-MARKER of the encrypted test"; done
    head -c 3000000 /dev/urandom | base64
} >plain.txt
printf 'correct horse battery staple\n' >phrase.txt
printf 'wrong horse battery staple\n' >wrong.txt
chmod 600 phrase.txt wrong.txt

# --- keygen
rc "$COFFER_BIN/coffer" keygen key.file
eq "keygen writes a key file" "$RC" 0
eq "readable by its owner only" "$(stat -c %a key.file)" 600
cp key.file key.copy
rc "$COFFER_BIN/coffer" keygen key.file 2>keygen.err
eq "keygen refuses to overwrite (exit 1)" "$RC" 1
check "and leaves the key alone" cmp -s key.file key.copy
rc "$COFFER_BIN/coffer" keygen other.key
check "two keys differ" test "$(cat key.file)" != "$(cat other.key)"

cat >>"$CLIENT_CONF" <<CONF

[backup sealed]
collection = sealed
command = cat $ITEST_DIR/plain.txt
restore_command = cat > $ITEST_DIR/restored.txt
key_file = $ITEST_DIR/key.file

[backup phrase]
collection = phrase
command = cat $ITEST_DIR/plain.txt
restore_command = touch $ITEST_DIR/restore-ran; cat > $ITEST_DIR/restored2.txt
passphrase_file = $ITEST_DIR/phrase.txt
CONF

# --- key file
rc coffer push sealed
eq "encrypted push with a key file" "$RC" 0
TOKEN=$ACME api GET /api/stable/repository/collection/sealed/versions/latest
cp body stored.bin
eq "the server holds the envelope (magic)" "$(head -c 8 stored.bin | od -An -tx1 | tr -d ' \n')" 89434f464645520a
check "and no plaintext" test "$(grep -c SECRET-PAYLOAD-MARKER stored.bin)" -eq 0
check "compressed before encryption (smaller than the plaintext)" \
    test "$(stat -c %s stored.bin)" -lt "$(stat -c %s plain.txt)"

rc coffer pull sealed -o pulled.txt
eq "pull decrypts" "$RC" 0
check "to the original bytes" cmp -s plain.txt pulled.txt
rc coffer restore sealed
eq "restore decrypts" "$RC" 0
check "into the restore command" cmp -s plain.txt restored.txt

rc coffer pull sealed --raw -o raw.bin
eq "pull --raw keeps the envelope" "$RC" 0
check "as stored" cmp -s stored.bin raw.bin
rc coffer pull --collection sealed -o nokey.bin 2>nokey.err
eq "pull without a key saves the envelope (exit 0)" "$RC" 0
check "and says how to decrypt it" grep -q "coffer decrypt nokey.bin" nokey.err
rc "$COFFER_BIN/coffer" decrypt raw.bin --key-file key.file -o decrypted.txt
eq "offline decrypt" "$RC" 0
check "gives the original" cmp -s plain.txt decrypted.txt
cp raw.bin backup.coffer
rc "$COFFER_BIN/coffer" decrypt backup.coffer --key-file key.file
check "decrypt without -o writes FILE without .coffer" cmp -s plain.txt backup

# --- damaged files: exit 5 and no output file
python3 -c 'import sys; p = sys.argv[1]; b = bytearray(open(p, "rb").read()); b[len(b) // 2] ^= 0x01
open(sys.argv[2], "wb").write(b)' raw.bin flipped.bin
rc "$COFFER_BIN/coffer" decrypt flipped.bin --key-file key.file -o flipped.out 2>flipped.err
eq "a flipped byte: exit 5" "$RC" 5
check "no output file" test ! -e flipped.out
check "the message names the damaged chunk, far into the file" grep -Eq "chunk ([2-9]|[1-9][0-9]+) " flipped.err
rc "$COFFER_BIN/coffer" decrypt flipped.bin --key-file key.file
eq "a flipped byte without -o: exit 5" "$RC" 5
check "no flipped.bin.decrypted" test ! -e flipped.bin.decrypted
head -c "$(($(stat -c %s raw.bin) - 100))" raw.bin >cut.bin
rc "$COFFER_BIN/coffer" decrypt cut.bin --key-file key.file -o cut.out
eq "a truncated file: exit 5" "$RC" 5
check "no output file" test ! -e cut.out
rc "$COFFER_BIN/coffer" decrypt raw.bin --key-file other.key -o other.out
eq "another key: exit 5" "$RC" 5
check "no output file" test ! -e other.out
eq "no temporary file left" "$(find . -maxdepth 1 -name '.coffer-part-*' | wc -l)" 0
rc "$COFFER_BIN/coffer" decrypt plain.txt --key-file key.file -o plain.out 2>plain.err
eq "decrypting a plain file is refused (exit 1)" "$RC" 1
check "saying it is not encrypted" grep -q "not an encrypted coffer backup" plain.err

# --- passphrase
rc coffer push phrase
eq "encrypted push with a passphrase" "$RC" 0
rc coffer pull phrase -o phrase.out
eq "pull with the passphrase" "$RC" 0
check "gives the original" cmp -s plain.txt phrase.out
rc coffer pull phrase --passphrase-file wrong.txt -o wrong.out 2>wrong.err
eq "a wrong passphrase: exit 5" "$RC" 5
check "no output file" test ! -e wrong.out
check "the message says wrong key or passphrase" grep -q "wrong key or passphrase" wrong.err
rc coffer restore phrase --passphrase-file wrong.txt
eq "restore with a wrong passphrase: exit 5" "$RC" 5
check "the restore command never started" test ! -e restore-ran
rc coffer restore phrase
eq "restore with the passphrase" "$RC" 0
check "the restore command got the plaintext" cmp -s plain.txt restored2.txt
rc coffer restore --collection phrase --command 'cat > never.txt'
eq "restore of an encrypted backup without a key: exit 1" "$RC" 1
check "and the command never ran" test ! -e never.txt
rc "$COFFER_BIN/coffer" --config "$CLIENT_CONF" decrypt raw.bin --backup sealed -o by-name.txt
eq "decrypt --backup NAME takes the section's key" "$RC" 0
check "gives the original" cmp -s plain.txt by-name.txt

# --- push FILE with a key is sealed too
rc coffer push sealed plain.txt
eq "push FILE with a key" "$RC" 0
TOKEN=$ACME api GET /api/stable/repository/collection/sealed/versions/latest
check "is stored encrypted" test "$(grep -c SECRET-PAYLOAD-MARKER body)" -eq 0

cd /
cofferd_stop
itest_finish
