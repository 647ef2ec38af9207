#!/usr/bin/env bash
# The documentation keeps up with the code: docs/openapi.yaml is valid OpenAPI
# and lists every route of server/routes.c with its method; conf/cofferd.conf is
# exactly what `cofferd --print-config` prints with nothing configured (--config /dev/null,
# so that an /etc/coffer/cofferd.conf on the machine does not count);
# docs/configuration.md names every option; docs/api.md names every API error
# code of common/error.c with its HTTP status. Needs no database.
#
# Environment (set by CMake and scripts/test): COFFER_BIN (the build's bin/),
# COFFER_SOURCE (the source tree). PYTHON may name the python3 to use.
set -uo pipefail
: "${COFFER_SOURCE:?run through ctest (scripts/test), or set COFFER_SOURCE}"
: "${COFFER_BIN:?run through ctest (scripts/test), or set COFFER_BIN}"
python=${PYTHON:-python3}

api_md=$COFFER_SOURCE/docs/api.md
openapi=$COFFER_SOURCE/docs/openapi.yaml
config_md=$COFFER_SOURCE/docs/configuration.md
conf=$COFFER_SOURCE/conf/cofferd.conf
routes_c=$COFFER_SOURCE/server/routes.c
error_c=$COFFER_SOURCE/common/error.c

passed=0
failed=0
scratch=$(mktemp -d /tmp/coffer-test-docs.XXXXXX)
trap 'rm -rf "$scratch"' EXIT

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
        cut -c1-240 "$scratch/details" | sed 's/^/      /' | head -n 40
    fi
}

# Runs "$@" with its output kept for the failure report.
run_check()
{
    local name=$1
    shift
    if "$@" >"$scratch/details" 2>&1; then
        pass "$name"
    else
        fail "$name"
    fi
    : >"$scratch/details"
}

have_files()
{
    local missing=0 file
    for file in "$@"; do
        if [[ ! -f $file ]]; then
            echo "missing: $file"
            missing=1
        fi
    done
    return $missing
}

check_openapi_valid()
{
    have_files "$openapi" || return 1
    if ! perl -MJSON::Validator::Schema::OpenAPIv3 -e 1 2>/dev/null; then
        echo "Perl's JSON::Validator is missing: scripts/test installs libjson-validator-perl"
        return 1
    fi
    # Debian's JSON::Validator reads the OpenAPI schema from openapi-specification: no network.
    perl -MJSON::Validator::Schema::OpenAPIv3 -e '
        my $schema = JSON::Validator::Schema::OpenAPIv3->new($ARGV[0]);
        print "$_\n" for @{$schema->errors};
        exit(@{$schema->errors} ? 1 : 0);' "$openapi"
}

check_conf_is_default_print()
{
    have_files "$conf" "$COFFER_BIN/cofferd" || return 1
    if ! env -i PATH="$PATH" "$COFFER_BIN/cofferd" --config /dev/null --print-config >"$scratch/printed" 2>"$scratch/stderr"; then
        echo "cofferd --print-config failed:"
        cat "$scratch/stderr"
        return 1
    fi
    if ! diff -u "$conf" "$scratch/printed"; then
        echo "conf/cofferd.conf differs from 'cofferd --print-config' (- file, + printed);"
        echo "regenerate it: env -i PATH=\$PATH build/bin/cofferd --print-config > conf/cofferd.conf"
        if [[ -e /etc/coffer/cofferd.conf ]]; then
            echo "note: /etc/coffer/cofferd.conf exists on this machine and is read by default"
        fi
        return 1
    fi
}

check_options_documented()
{
    local names name missing=0
    have_files "$config_md" "$COFFER_BIN/cofferd" || return 1
    names=$(env -i PATH="$PATH" "$COFFER_BIN/cofferd" --config /dev/null --print-config | sed -n 's/^\([a-z0-9_]*\) = .*$/\1/p')
    if [[ -z $names ]]; then
        echo "no option found in the output of cofferd --print-config"
        return 1
    fi
    for name in $names; do
        if ! grep -qF "\`$name\`" "$config_md"; then
            echo "option $name is not in docs/configuration.md (written as \`$name\`)"
            missing=1
        fi
    done
    return $missing
}

check_routes_in_openapi()
{
    have_files "$routes_c" "$openapi" || return 1
    "$python" - "$routes_c" "$openapi" <<'PY'
import re
import sys

routes_path, openapi_path = sys.argv[1], sys.argv[2]
try:
    import yaml
except ImportError:
    sys.exit("the Python module yaml (PyYAML) is needed to read docs/openapi.yaml")

source = open(routes_path, encoding="utf-8").read()
token = r'(?:[A-Za-z_][A-Za-z0-9_]*|"[^"]*")'

# String macros such as: #define COLLECTION API "/repository/collection"
defines = {}
for name, body in re.findall(r'^#define\s+([A-Za-z_][A-Za-z0-9_]*)\s+((?:%s\s*)+)$' % token, source, re.M):
    defines[name] = body


def expand(expr, depth=0):
    if depth > 10:
        raise ValueError("macro nesting too deep in " + expr)
    out = ""
    for part in re.findall(token, expr):
        if part.startswith('"'):
            out += part[1:-1]
        elif part in defines:
            out += expand(defines[part], depth + 1)
        else:
            raise ValueError("cannot expand %s in routes.c" % part)
    return out


table = re.search(r'cf_routes\[\]\s*=\s*\{(.*?)\n\};', source, re.S)
if table is None:
    sys.exit("cannot find the cf_routes table in server/routes.c")
entries = re.findall(r'(?:JSON_ROUTE\(|PUBLIC_ROUTE\(|\{)\s*"([A-Z]+)"\s*,\s*((?:%s\s*)+),' % token, table.group(1))
if not entries:
    sys.exit("no route found in server/routes.c")

doc = yaml.safe_load(open(openapi_path, encoding="utf-8"))
paths = doc.get("paths") or {}
missing = 0
for method, expr in entries:
    pattern = expand(expr)
    regex = "^" + re.escape(pattern).replace(r"\{\}", r"\{[^/{}]+\}") + "$"
    found = [p for p in paths if re.match(regex, p)]
    if not found:
        print("route %s %s is not a path of docs/openapi.yaml" % (method, pattern))
        missing += 1
    elif not any(method.lower() in (paths[p] or {}) for p in found):
        print("route %s %s: %s has no %s operation" % (method, pattern, found[0], method.lower()))
        missing += 1
print("%d routes checked" % len(entries))
sys.exit(1 if missing else 0)
PY
}

check_error_codes_documented()
{
    have_files "$error_c" "$api_md" || return 1
    "$python" - "$error_c" "$api_md" <<'PY'
import re
import sys

error_c, api_md = sys.argv[1], sys.argv[2]
source = open(error_c, encoding="utf-8").read()
doc = open(api_md, encoding="utf-8").read()
codes = re.findall(r'\[CF_E_[A-Z0-9_]+\]\s*=\s*\{\s*(\d+)\s*,\s*"([a-z0-9_]+)"\s*\}', source)
if not codes:
    sys.exit("no error code found in common/error.c")
missing = 0
for status, name in sorted(set(codes)):
    if "`%s`" % name not in doc:
        print("error code %s (%s) is not in docs/api.md (written as `%s`)" % (name, status, name))
        missing += 1
    elif not re.search(r'^\|\s*%s\s*\|\s*`%s`\s*\|' % (status, name), doc, re.M):
        print("docs/api.md has no error table row \"| %s | `%s` |\"" % (status, name))
        missing += 1
print("%d error codes checked" % len(set(codes)))
sys.exit(1 if missing else 0)
PY
}

run_check "docs/openapi.yaml is valid OpenAPI" check_openapi_valid
run_check "conf/cofferd.conf is cofferd --print-config with nothing configured" check_conf_is_default_print
run_check "docs/configuration.md names every option" check_options_documented
run_check "docs/openapi.yaml lists every route of server/routes.c" check_routes_in_openapi
run_check "docs/api.md lists every error code of common/error.c with its status" check_error_codes_documented

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
