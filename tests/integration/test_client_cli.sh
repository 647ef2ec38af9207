#!/usr/bin/env bash
# The coffer command line against golden files: every help text, the usage
# and configuration errors (with file and line), and their exit statuses, as
# a user sees them. Also: `coffer help CMD` is `coffer CMD --help`, and the man
# page renders without warnings and documents every command. Needs no server.
#
# The expected outputs are tests/integration/golden/client/*.txt. After an
# intended change of a message or help text, regenerate them with
#   COFFER_GOLDEN_UPDATE=1 scripts/test -R client_cli
# (or run this script with COFFER_BIN and COFFER_SOURCE set) and review the diff.
set -uo pipefail
: "${COFFER_SOURCE:?run through ctest (scripts/test), or set COFFER_SOURCE}"
: "${COFFER_BIN:?run through ctest (scripts/test), or set COFFER_BIN}"

golden_dir=$COFFER_SOURCE/tests/integration/golden/client
update=${COFFER_GOLDEN_UPDATE:-}
passed=0
failed=0
scratch=$(mktemp -d /tmp/coffer-test-client-cli.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$scratch/home" "$scratch/cwd" "$golden_dir"

pass() { passed=$((passed + 1)); }
fail()
{
    failed=$((failed + 1))
    echo "FAIL: $1"
}

# run_clean ARGS...: coffer in a fixed directory with nothing of the caller's
# environment that coffer reads (no COFFER_*, a HOME without configuration).
run_clean()
{
    (cd "$scratch/cwd" && env -i PATH="$PATH" HOME="$scratch/home" LANG=C.UTF-8 ${EXTRA_ENV:-} \
        "$COFFER_BIN/coffer" "$@")
}

# golden NAME ARGS...: the exit status, stdout and stderr of `coffer ARGS`
# must be golden/client/NAME.txt.
golden()
{
    local name=$1 status=0
    shift
    run_clean "$@" >"$scratch/stdout" 2>"$scratch/stderr" || status=$?
    {
        echo "\$ coffer $*"
        echo "--- exit $status"
        echo "--- stdout"
        cat "$scratch/stdout"
        echo "--- stderr"
        cat "$scratch/stderr"
    } >"$scratch/actual"
    if [[ -n $update ]]; then
        cp "$scratch/actual" "$golden_dir/$name.txt"
        pass
    elif [[ ! -f $golden_dir/$name.txt ]]; then
        fail "$name: no golden file (run with COFFER_GOLDEN_UPDATE=1)"
    elif diff -u "$golden_dir/$name.txt" "$scratch/actual" >"$scratch/diff"; then
        pass
    else
        fail "$name: output differs from golden/client/$name.txt"
        head -n 40 "$scratch/diff" | sed 's/^/      /'
    fi
}

commands=(push pull restore list sync keygen decrypt admin)

# --- help texts
golden help --help
golden help-no-command
golden version --version
for c in "${commands[@]}"; do
    golden "help-$c" "$c" --help
    if [[ "$(run_clean help "$c")" == "$(run_clean "$c" --help)" ]]; then
        pass
    else
        fail "coffer help $c differs from coffer $c --help"
    fi
    if [[ "$(run_clean "$c" -h)" == "$(run_clean "$c" --help)" ]]; then pass; else fail "coffer $c -h"; fi
done
golden help-unknown help frobnicate

# --- usage errors
golden usage-unknown-command frobnicate
golden usage-unknown-option push db --bogus
golden usage-missing-value pull db -o
golden usage-push-no-name push
golden usage-push-too-many push db a b
golden usage-push-bad-collection push --collection 'no_such id' -
golden usage-push-nothing push --collection db
golden usage-push-file-and-command push --collection db file --command true
golden usage-push-missing-file push --collection db /nonexistent/file
golden usage-pull-bad-ref pull --collection db 'v1/../x'
golden usage-pull-too-many pull --collection db latest extra
golden usage-restore-no-command restore --collection db
golden usage-list-too-many list a b
golden usage-sync-names-and-spool sync db --spool /tmp
golden usage-keygen-too-many keygen a b
golden usage-decrypt-no-file decrypt
golden usage-decrypt-no-key decrypt backup.coffer
golden usage-decrypt-missing-file decrypt /nonexistent/backup.coffer --key-file /nonexistent/key
golden usage-admin-nothing admin
golden usage-admin-no-action admin account
golden usage-admin-bad-action admin account frob --url http://127.0.0.1:1 --token-file /dev/null
golden usage-admin-fields-on-list admin account list --name x

# --- configuration: what is missing, and errors with file and line
golden config-no-backup push db
golden config-no-url list --collection db
EXTRA_ENV="COFFER_URL=http://127.0.0.1:1" golden config-no-token list --collection db
golden config-missing-file --config missing.conf list
cat >"$scratch/cwd/bad-key.conf" <<'CONF'
[server]
url = http://127.0.0.1:1
# a comment
colour = red
CONF
golden config-unknown-key --config bad-key.conf list
cat >"$scratch/cwd/bad-section.conf" <<'CONF'
[server]
url = http://127.0.0.1:1

[backups db]
collection = db
CONF
golden config-unknown-section --config bad-section.conf list
cat >"$scratch/cwd/no-collection.conf" <<'CONF'
[server]
url = http://127.0.0.1:1

[backup db]
command = pg_dump mydb
CONF
golden config-no-collection --config no-collection.conf push db
cat >"$scratch/cwd/twice.conf" <<'CONF'
[backup db]
collection = db
command = a
command = b
CONF
golden config-key-twice --config twice.conf push db
cat >"$scratch/cwd/bounds.conf" <<'CONF'
[server]
url = http://127.0.0.1:1
retries = 1000
CONF
golden config-out-of-bounds --config bounds.conf list
cat >"$scratch/cwd/ok.conf" <<'CONF'
[server]
url = http://127.0.0.1:1
token_file = /nonexistent/token

[backup db]
collection = db
CONF
golden config-no-restore-command --config ok.conf restore db
golden config-no-command --config ok.conf push db
golden config-unknown-backup --config ok.conf push www
golden config-token-file-missing --config ok.conf list db

# --- secrets in files open to group or others are refused, naming the file and the chmod to run
printf 'eyJ.token.text\n' >"$scratch/cwd/open.token"
chmod 644 "$scratch/cwd/open.token"
golden config-token-file-open --url http://127.0.0.1:1 --token-file open.token list --collection db
EXTRA_ENV="COFFER_URL=http://127.0.0.1:1 COFFER_TOKEN_FILE=open.token" golden config-token-file-env-open \
    list --collection db
ln -sf open.token "$scratch/cwd/link.token"
golden config-token-file-link-open --url http://127.0.0.1:1 --token-file link.token list --collection db
cat >"$scratch/cwd/inline.conf" <<'CONF'
[server]
url = http://127.0.0.1:1
token = eyJ.token.text
CONF
chmod 640 "$scratch/cwd/inline.conf"
golden config-token-inline-open --config inline.conf list --collection db
printf 'coffer-key-1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n' >"$scratch/cwd/open.key"
chmod 640 "$scratch/cwd/open.key"
printf 'data\n' >"$scratch/cwd/data.txt"
golden config-key-file-open --url http://127.0.0.1:1 --token-file /dev/null push --collection db \
    --key-file open.key data.txt
printf 'correct horse\n' >"$scratch/cwd/open.phrase"
chmod 604 "$scratch/cwd/open.phrase"
golden config-passphrase-file-open --url http://127.0.0.1:1 --token-file /dev/null push --collection db \
    --passphrase-file open.phrase data.txt

# --- output that cannot be written (a full disk) is a failure, not exit 0
for args in --version "help push" "list --help"; do
    status=0
    # shellcheck disable=SC2086 # the words are the arguments
    run_clean $args >/dev/full 2>"$scratch/full.err" || status=$?
    if [[ $status -eq 7 ]] && grep -q "cannot write standard output: No space left on device" "$scratch/full.err"
    then
        pass
    else
        fail "coffer $args > /dev/full: exit $status, want 7 with a message ($(head -c 200 "$scratch/full.err"))"
    fi
done

# --- the process cannot dump core or be read by another process of its user
# (the kernel then gives its /proc files to root). Running it as another user
# needs root; coffer decrypt waits in open() on a FIFO with its key loaded.
if [[ $(id -u) -eq 0 ]] && command -v setpriv >/dev/null &&
    setpriv --reuid=nobody --regid=nogroup --clear-groups "$COFFER_BIN/coffer" --version >/dev/null 2>&1; then
    chmod 711 "$scratch"
    mkdir -m 777 "$scratch/nobody"
    setpriv --reuid=nobody --regid=nogroup --clear-groups "$COFFER_BIN/coffer" keygen "$scratch/nobody/key" \
        2>/dev/null
    mkfifo -m 666 "$scratch/nobody/in"
    setpriv --reuid=nobody --regid=nogroup --clear-groups "$COFFER_BIN/coffer" decrypt "$scratch/nobody/in" \
        --key-file "$scratch/nobody/key" -o - >/dev/null 2>&1 &
    pid=$!
    for ((i = 0; i < 100; i++)); do
        [[ $(cat "/proc/$pid/wchan" 2>/dev/null) == wait_for_partner ]] && break
        sleep 0.1
    done
    owner=$(stat -c %U "/proc/$pid/environ" 2>&1)
    # A reader and writer at once never blocks; coffer then reads an empty file.
    exec 3<>"$scratch/nobody/in"
    exec 3>&-
    wait "$pid" || true
    if [[ $owner == root ]]; then pass; else fail "coffer running as nobody is dumpable (/proc owner $owner)"; fi
else
    echo "skip: the core dump check needs root and setpriv"
fi

# --- the man page
man_page=$COFFER_SOURCE/docs/coffer.1
if [[ -f $man_page ]]; then
    pass
else
    fail "docs/coffer.1 exists"
fi
if command -v groff >/dev/null; then
    warnings=$(groff -man -Tutf8 -ww -z "$man_page" 2>&1)
    if [[ -z $warnings ]]; then pass; else fail "groff warns about docs/coffer.1: $warnings"; fi
fi
if command -v man >/dev/null; then
    if MANWIDTH=80 man -l "$man_page" 2>/dev/null | grep -q "coffer - the client of a Coffer backup server"; then
        pass
    else
        fail "man -l docs/coffer.1 renders the NAME line"
    fi
fi
for c in "${commands[@]}"; do
    if grep -q "^\.SS \"\?$c\b" "$man_page" 2>/dev/null; then pass; else fail "docs/coffer.1 has a section for $c"; fi
    if grep -q "^### \`coffer $c" "$COFFER_SOURCE/docs/client.md" 2>/dev/null; then
        pass
    else
        fail "docs/client.md has a section for coffer $c"
    fi
done
for status in 0 1 2 3 4 5 6 7; do
    if grep -q "^\.B $status\$\|^\.IP $status\b\|^\.TP\$" "$man_page" && grep -q "| $status |" \
        "$COFFER_SOURCE/docs/client.md"; then
        pass
    else
        fail "exit status $status is documented in docs/coffer.1 and docs/client.md"
    fi
done

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
