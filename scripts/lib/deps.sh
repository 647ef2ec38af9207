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
# compose files, python3 with PyYAML reads YAML and plays proxies, and Perl's
# JSON::Validator checks docs/openapi.yaml against the official OpenAPI 3.0
# schema, which Debian ships in openapi-specification.
COFFER_TEST_PACKAGES=(jq nginx procps prometheus influxdb docker-compose ceph-mon ceph-osd radosgw haproxy
    shellcheck gettext-base python3 python3-yaml libjson-validator-perl openapi-specification)

coffer_install_deps()
{
    local pkg missing=()
    for pkg in "${COFFER_BUILD_PACKAGES[@]}" "${COFFER_RUN_PACKAGES[@]}" "$@"; do
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

