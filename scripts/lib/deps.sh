# shellcheck shell=bash
# Installs, with apt-get, whatever the project needs that is missing. Source it
# and call coffer_install_deps [EXTRA-PACKAGE...].

COFFER_BUILD_PACKAGES=(
    gcc make cmake pkg-config
    libmicrohttpd-dev libjwt-dev libpq-dev libzstd-dev libssl-dev libjansson-dev libinih-dev
    libcurl4-openssl-dev libsodium-dev libcmocka-dev
)
COFFER_RUN_PACKAGES=(postgresql-15 curl ca-certificates openssl zstd)
# Every tool a test runs: shellcheck and envsubst (gettext-base) check the
# compose files, python3 with PyYAML reads YAML and plays proxies, npm fetches
# the OpenAPI validator that Debian does not package (coffer_install_npm_tools).
COFFER_TEST_PACKAGES=(jq nginx procps prometheus influxdb docker-compose ceph-mon ceph-osd radosgw haproxy
    shellcheck gettext-base python3 python3-yaml)

coffer_install_deps()
{
    local pkg missing=()
    for pkg in "${COFFER_BUILD_PACKAGES[@]}" "${COFFER_RUN_PACKAGES[@]}" "$@"; do
        if [[ $pkg == npm ]] && command -v npm >/dev/null 2>&1; then
            continue # another packaging of Node.js (NodeSource's) has npm inside and conflicts with Debian's
        fi
        if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
            missing+=("$pkg")
        fi
    done
    ((${#missing[@]} > 0)) || return 0
    if [[ $EUID -ne 0 ]]; then
        echo "coffer: missing packages: ${missing[*]}; run this script as root to install them" >&2
        return 1
    fi
    echo "coffer: installing ${missing[*]}" >&2
    apt-get update -q >/dev/null
    # NGINX's and PostgreSQL's packages try to start services; nothing here wants them running.
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
}

# Installs the npm packages pinned in tests/tools/package-lock.json into DIR
# (npm ci checks each one against the lock file's hash) unless DIR already has
# them for this lock file. Needs npm (coffer_install_deps npm).
coffer_install_npm_tools()
{
    local dir=$1 tools
    tools=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../tests/tools" && pwd)
    if [[ -x $dir/node_modules/.bin/validate-api ]] && cmp -s "$tools/package-lock.json" "$dir/package-lock.json"; then
        return 0
    fi
    mkdir -p "$dir"
    cp "$tools/package.json" "$tools/package-lock.json" "$dir/"
    echo "coffer: installing the test tools of tests/tools/package.json into $dir" >&2
    npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error >/dev/null
}
