#!/usr/bin/env bash
# docker-compose.yml and the Dockerfile, without a container engine (none runs
# here, so nothing is started): Debian's docker-compose accepts the file
# (config -q); both cofferd services use the s3 backend on one database, one
# bucket and one set of secrets; NGINX is trusted by cofferd and shares its
# temp directory with both; conf/compose/nginx.conf passes nginx -t when run
# the way the nginx service runs it (its own command, as uid 10001, with the
# service names resolvable and the volume mounted), and conf/compose/prometheus.yml
# passes promtool with the alert rules where the prometheus service mounts
# them; the secrets committed are placeholders that cofferd refuses; the
# Dockerfile's runtime stage runs as a user who is not root and installs every
# library cofferd links.
source "$(dirname "$0")/lib.sh"
itest_begin
for tool in docker-compose nginx promtool unshare setpriv readelf dpkg; do
    command -v "$tool" >/dev/null || { echo "$tool is missing (scripts/lib/deps.sh installs the test packages)"; exit 1; }
done

src=$COFFER_SOURCE
compose_file=$src/docker-compose.yml
dockerfile=$src/Dockerfile

# --- docker-compose config ---------------------------------------------------

check "docker-compose config -q accepts docker-compose.yml" \
    docker-compose -f "$compose_file" --project-directory "$src" config -q
# The file as Compose resolves it (anchors merged, env files read, paths made
# absolute), as JSON for jq. Compose prints $$ for a literal $: undo that to
# get what a container runs.
docker-compose -f "$compose_file" --project-directory "$src" config 2>"$ITEST_DIR/compose.err" |
    python3 -c 'import json, sys, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)' |
    sed 's/\$\$/$/g' >"$ITEST_DIR/compose.json" || { cat "$ITEST_DIR/compose.err"; exit 1; }
# q FILTER: jq on the resolved compose file.
q() { jq -r "$1" "$ITEST_DIR/compose.json"; }
# env SERVICE NAME: an environment variable of a service.
env_of() { q ".services[\"$1\"].environment[\"$2\"] // \"\""; }

eq "the cofferd services" "$(q '.services | keys[] | select(startswith("cofferd-"))' | tr '\n' ' ')" "cofferd-1 cofferd-2 "
for svc in cofferd-1 cofferd-2; do
    eq "$svc: storage_backend" "$(env_of "$svc" COFFER_STORAGE_BACKEND)" s3
    eq "$svc: built from the Dockerfile" "$(q ".services[\"$svc\"].build.dockerfile")" Dockerfile
    eq "$svc: waits for the migration to complete" \
        "$(q ".services[\"$svc\"].depends_on.migrate.condition")" service_completed_successfully
    eq "$svc: waits for the bucket" "$(q ".services[\"$svc\"].depends_on[\"s3-setup\"].condition")" \
        service_completed_successfully
done
eq "the migration runs cofferd migrate" "$(q '.services.migrate.command | join(" ")')" migrate
eq "the migration uses the instances' image" "$(q '.services.migrate.image')" "$(q '.services["cofferd-1"].image')"

# What must be the same in both instances (and in the migration, for the database).
for var in COFFER_DATABASE_URL PGPASSWORD COFFER_S3_ENDPOINT COFFER_S3_BUCKET COFFER_S3_REGION \
    COFFER_S3_ADDRESSING COFFER_S3_ACCESS_KEY COFFER_S3_SECRET_KEY COFFER_JWT_SECRET_FILE COFFER_PROXY_SECRET \
    COFFER_TRUSTED_PROXIES COFFER_NGINX_TEMP_DIR COFFER_HEALTH_CODE COFFER_METRICS_CODE; do
    one=$(env_of cofferd-1 "$var")
    check "$var is set" test -n "$one"
    eq "$var is the same in both instances" "$(env_of cofferd-2 "$var")" "$one"
done
eq "the migration's database" "$(env_of migrate COFFER_DATABASE_URL)" "$(env_of cofferd-1 COFFER_DATABASE_URL)"
eq "both read the same signing key" "$(q '.services["cofferd-1"].secrets[0].source')" \
    "$(q '.services["cofferd-2"].secrets[0].source')"
check "the key is where COFFER_JWT_SECRET_FILE says" \
    test "/run/secrets/$(q '.services["cofferd-1"].secrets[0].source')" = "$(env_of cofferd-1 COFFER_JWT_SECRET_FILE)"

# The database they name is the postgres service's, with its role and password.
db_url=$(env_of cofferd-1 COFFER_DATABASE_URL)
eq "the database host is the postgres service" "$(grep -o 'host=[^ ]*' <<<"$db_url")" "host=postgres"
eq "the database is the one postgres creates" "$(grep -o 'dbname=[^ ]*' <<<"$db_url")" \
    "dbname=$(env_of postgres POSTGRES_DB)"
eq "the role is the one postgres creates" "$(grep -o 'user=[^ ]*' <<<"$db_url")" "user=$(env_of postgres POSTGRES_USER)"
eq "cofferd's password is the one postgres sets" "$(env_of cofferd-1 PGPASSWORD)" "$(env_of postgres POSTGRES_PASSWORD)"

# The bucket they use is the one s3-setup makes, on the minio service, with the same user.
eq "the endpoint is the minio service" "$(env_of cofferd-1 COFFER_S3_ENDPOINT)" http://minio:9000
check "the minio service exists" test "$(q '.services.minio.image')" != null
eq "s3-setup creates that bucket" "$(env_of s3-setup COFFER_S3_BUCKET)" "$(env_of cofferd-1 COFFER_S3_BUCKET)"
eq "s3-setup creates that user" "$(env_of s3-setup COFFER_S3_ACCESS_KEY)" "$(env_of cofferd-1 COFFER_S3_ACCESS_KEY)"
check "s3-setup's script exists" test -f "$(q '.services["s3-setup"].volumes[0]' | cut -d: -f1)"
check "s3-setup's script passes shellcheck" shellcheck "$src/conf/compose/s3-setup.sh"

# cofferd ignores a COFFER_ variable that names no option: each one must name one.
"$COFFER_BIN/cofferd" --config /dev/null --print-config | sed -n 's/^\([a-z0-9_]*\) = .*/\1/p' |
    tr 'a-z' 'A-Z' | sed 's/^/COFFER_/' >"$ITEST_DIR/options"
for var in $(q '.services["cofferd-1"].environment | keys[] | select(startswith("COFFER_"))'); do
    check "$var names a cofferd option" grep -qx "$var" "$ITEST_DIR/options"
done

# --- the secrets are placeholders, and cofferd refuses them -----------------

secrets_dir=$src/conf/compose/secrets
for file in "$secrets_dir"/*.env; do
    check "$(basename "$file"): every value is the placeholder REPLACE-ME" \
        test -z "$(grep -Ev '^[[:space:]]*(#|$)' "$file" | grep -v '=REPLACE-ME$')"
done
eq "jwt.key is the placeholder" "$(cat "$secrets_dir/jwt.key")" REPLACE-ME
# The whole environment of cofferd-1, nothing from this machine or a config file.
mapfile -t cofferd_env < <(q '.services["cofferd-1"].environment | to_entries[] | "\(.key)=\(.value)"')
rc=0
timeout 30 env -i "${cofferd_env[@]}" "$COFFER_BIN/cofferd" --config /dev/null serve >"$ITEST_DIR/refusal" 2>&1 || rc=$?
eq "cofferd with the placeholders stops with a configuration error (exit 1)" "$rc" 1
check "and says which setting" grep -q 'configuration:' "$ITEST_DIR/refusal"

# --- NGINX -------------------------------------------------------------------

nginx_conf=$src/conf/compose/nginx.conf
uid=$(sed -n 's/.*useradd .*--uid \([0-9]*\).*/\1/p' "$dockerfile")
check "the Dockerfile gives coffer a fixed uid" test -n "$uid"
eq "NGINX runs as cofferd's uid (its temp files are 0600)" "$(q '.services.nginx.user')" "$uid:$uid"

# The upstream is exactly the cofferd services, on the port the image exposes.
port=$(sed -n 's/^EXPOSE \([0-9]*\).*/\1/p' "$dockerfile")
eq "the upstream's servers" "$(sed -n 's/^ *server \([a-z0-9.-]*:[0-9]*\).*/\1/p' "$nginx_conf" | sort | tr '\n' ' ')" \
    "cofferd-1:$port cofferd-2:$port "
check "the upstream balances by least_conn" grep -Eq '^ *least_conn;' "$nginx_conf"

# The handoff: NGINX's body directory is each instance's nginx_temp_dir, on one shared volume.
temp_dir=$(env_of cofferd-1 COFFER_NGINX_TEMP_DIR)
eq "client_body_temp_path is nginx_temp_dir" "$(sed -n 's/^ *client_body_temp_path \([^ ;]*\).*/\1/p' "$nginx_conf")" "$temp_dir"
volume_at() { q ".services[\"$1\"].volumes[]" | awk -F: -v dir="$2" '$2 == dir {print $1}'; }
shared=$(volume_at nginx "$temp_dir")
check "NGINX mounts a volume at $temp_dir" test -n "$shared"
check "the volume is a named one, not a host directory" test "$(q ".volumes[\"$shared\"]")" != null
eq "cofferd-1 mounts the same volume there" "$(volume_at cofferd-1 "$temp_dir")" "$shared"
eq "cofferd-2 mounts the same volume there" "$(volume_at cofferd-2 "$temp_dir")" "$shared"

# trusted_proxies: NGINX's fixed address, inside the network's subnet.
nginx_ip=$(q '.services.nginx.networks.coffer.ipv4_address')
subnet=$(q '.networks.coffer.ipam.config[0].subnet')
check "NGINX has a fixed address in the subnet, covered by trusted_proxies" python3 -c '
import ipaddress, sys
ip, subnet, trusted = ipaddress.ip_address(sys.argv[1]), ipaddress.ip_network(sys.argv[2]), sys.argv[3].split(",")
assert ip in subnet
assert any(ip in ipaddress.ip_network(t.strip(), strict=False) for t in trusted)
' "$nginx_ip" "$subnet" "$(env_of cofferd-1 COFFER_TRUSTED_PROXIES)"
# shellcheck disable=SC2016 # the literal ${...} that envsubst replaces
check "the proxy secret is sent in the upload location" grep -q 'X-Coffer-Proxy-Secret "${COFFER_PROXY_SECRET}"' "$nginx_conf"

# nginx -t, run the way the container runs it: in a mount namespace of its own,
# the template mounted where the service mounts it, the volume as the cofferd
# image leaves it (uid 10001, 0700), /tmp empty, /etc/hosts naming the services,
# as uid 10001, and the service's own command, with nginx made to test only.
template_at=$(q '.services.nginx.volumes[]' | awk -F: -v src="$nginx_conf" '$1 == src {print $2}')
check "the nginx service mounts conf/compose/nginx.conf" test -n "$template_at"
nginx_cmd=$(q '.services.nginx.command[2]')
check "the service runs the template through envsubst naming only the secret" \
    grep -q "envsubst '\${COFFER_PROXY_SECRET}' <$template_at " <<<"$nginx_cmd"
proxy_secret=$(env_of nginx COFFER_PROXY_SECRET)
eq "NGINX's secret is the instances'" "$proxy_secret" "$(env_of cofferd-1 COFFER_PROXY_SECRET)"
printf '127.0.0.1 localhost\n127.0.0.1 cofferd-1\n127.0.0.1 cofferd-2\n' >"$ITEST_DIR/hosts"
mkdir -p "$ITEST_DIR/shim"
printf '#!/bin/sh\nexec %s -t -e stderr "$@"\n' "$(command -v nginx)" >"$ITEST_DIR/shim/nginx"
chmod 755 "$ITEST_DIR/shim/nginx"
cat >"$ITEST_DIR/nginx-t.sh" <<SCRIPT
set -e
mount --make-rprivate /
mount -t tmpfs tmpfs /etc/nginx
mkdir -p "$(dirname "$template_at")"
cp "$nginx_conf" "$template_at"
mount -t tmpfs tmpfs /var/lib
install -d -m 700 -o $uid -g $uid "$temp_dir"
mount --bind "$ITEST_DIR/hosts" /etc/hosts
mount --bind "$ITEST_DIR/shim" /usr/local/sbin
mount -t tmpfs tmpfs /tmp
cd /
# The container's standard output and error belong to its user (runc chowns
# them): NGINX opens /dev/stdout for its access log.
install -m 600 -o $uid -g $uid /dev/null /tmp/.output
rc=0
setpriv --reuid=$uid --regid=$uid --clear-groups env -i PATH=/usr/local/sbin:/usr/bin:/bin \
    COFFER_PROXY_SECRET="$proxy_secret" /bin/sh -c "\$1" >/tmp/.output 2>&1 || rc=\$?
cat /tmp/.output >&2
exit \$rc
SCRIPT
check "nginx -t accepts conf/compose/nginx.conf as the nginx service runs it" \
    unshare -m bash "$ITEST_DIR/nginx-t.sh" "$nginx_cmd" 2>"$ITEST_DIR/nginx-t.out"
grep -q 'test is successful' "$ITEST_DIR/nginx-t.out" || cat "$ITEST_DIR/nginx-t.out"
check "the secret reached the rendered configuration" grep -q "X-Coffer-Proxy-Secret \"$proxy_secret\"" \
    <(sed "s|\${COFFER_PROXY_SECRET}|$proxy_secret|" "$nginx_conf")

# --- Prometheus and Grafana -------------------------------------------------------

prom_conf=$src/conf/compose/prometheus.yml
prom_at=$(q '.services.prometheus.volumes[]' | awk -F: -v src="$prom_conf" '$1 == src {print $2}')
alerts_at=$(q '.services.prometheus.volumes[]' | awk -F: -v src="$src/conf/prometheus/alerts.yml" '$1 == src {print $2}')
check "prometheus mounts conf/compose/prometheus.yml and conf/prometheus/alerts.yml" test -n "$prom_at" -a -n "$alerts_at"
check "the configuration names the alert rules where they are mounted" grep -q -- "- $alerts_at\$" "$prom_conf"
prom_cmd=$(q '.services.prometheus.entrypoint[2]')
check "the metrics code is put into the mounted configuration at start" \
    grep -q "s|REPLACE-WITH-THE-METRICS-CODE|\${COFFER_METRICS_CODE}|\" $prom_at " <<<"$prom_cmd"
check "prometheus gets the instances' metrics code" \
    test "$(env_of prometheus COFFER_METRICS_CODE)" = "$(env_of cofferd-1 COFFER_METRICS_CODE)"
eq "the scrape targets are the cofferd services" \
    "$(grep -o "targets: \[.*\]" "$prom_conf")" "targets: ['cofferd-1:$port', 'cofferd-2:$port']"
cat >"$ITEST_DIR/promtool.sh" <<SCRIPT
set -e
mount --make-rprivate /
mount -t tmpfs tmpfs /etc/prometheus
mkdir -p "$(dirname "$prom_at")" "$(dirname "$alerts_at")"
sed "s|REPLACE-WITH-THE-METRICS-CODE|metrics-code-0123456789|" "$prom_conf" >"$prom_at"
cp "$src/conf/prometheus/alerts.yml" "$alerts_at"
promtool check config "$prom_at"
SCRIPT
check "promtool accepts the configuration and its rules where the service mounts them" \
    unshare -m bash "$ITEST_DIR/promtool.sh"
ds_at=$(q '.services.grafana.volumes[]' | awk -F: -v src="$src/conf/compose/grafana-datasource.yml" '$1 == src {print $2}')
check "grafana provisions the datasource" grep -q '^/etc/grafana/provisioning/datasources/' <<<"$ds_at"
eq "the datasource is the prometheus service" "$(sed -n 's/^ *url: //p' "$src/conf/compose/grafana-datasource.yml")" \
    http://prometheus:9090
dash_path=$(sed -n 's/^ *path: //p' "$src/conf/grafana/provisioning/dashboards/coffer.yml")
eq "the dashboards are mounted where the provider reads them" \
    "$(q '.services.grafana.volumes[]' | awk -F: -v src="$src/conf/grafana/dashboards" '$1 == src {print $2}')" "$dash_path"

# --- the Dockerfile ----------------------------------------------------------------

# The runtime stage: from the last FROM on.
awk '/^FROM /{stage = ""} {stage = stage $0 "\n"} END {printf "%s", stage}' "$dockerfile" >"$ITEST_DIR/runtime"
check "two stages, both Debian 12" test "$(grep -c '^FROM debian:bookworm' "$dockerfile")" -eq 2
user=$(sed -n 's/^USER \([^: ]*\).*/\1/p' "$ITEST_DIR/runtime" | tail -n1)
check "the runtime stage names a user" test -n "$user"
check "that user is not root (got '$user')" test "$user" != root -a "$user" != 0
eq "the user is the one created with the fixed uid" "$user" coffer
# Its instructions with continuation lines joined and comments left out.
grep -v '^ *#' "$ITEST_DIR/runtime" | sed -e ':a' -e '/\\$/N; s/\\\n//; ta' >"$ITEST_DIR/runtime.joined"
check "no compiler or -dev package in the runtime stage" \
    test -z "$(grep -Eo '(^| )(gcc|cmake|[a-z0-9.+]+-dev)( |$)' "$ITEST_DIR/runtime.joined")"
check "a HEALTHCHECK on /live or /ready" grep -Eq '^HEALTHCHECK .*/(live|ready)' "$ITEST_DIR/runtime.joined"
check "ENTRYPOINT is cofferd" grep -q '^ENTRYPOINT \["/usr/local/bin/cofferd"\]' "$ITEST_DIR/runtime"
check "the shipped configuration is the default" grep -q 'conf/cofferd.conf' "$dockerfile"
for line in listen_address storage_path; do
    check "conf/cofferd.conf has the '$line = ' line the Dockerfile rewrites" grep -q "^$line = " "$src/conf/cofferd.conf"
done
# Every library cofferd (and the client, when built) links directly comes from a
# package the runtime stage installs. The release build has no sanitizer runtime.
bin_dir=${COFFER_RELEASE_BIN:-$COFFER_BIN}
runtime_packages=" $(grep -o 'apt-get install [^&]*' "$ITEST_DIR/runtime.joined" | tr -s ' ') "
# scripts/test builds only cofferd in release: the client comes from the test build.
for binary in "$bin_dir/cofferd" "$COFFER_BIN/coffer"; do
    [[ -x $binary ]] || continue
    for lib in $(readelf -d "$binary" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
        path=$(ldd "$binary" | awk -v lib="$lib" '$1 == lib {print $3}')
        path=$(readlink -f "$path")
        # dpkg knows some libraries by their /lib path, others by /usr/lib (merged /usr).
        pkg=$( (dpkg -S "$path" || dpkg -S "${path#/usr}") 2>/dev/null | head -n1 | cut -d: -f1)
        case $pkg in
            libc6 | libgcc-s1 | libasan* | libubsan*) continue ;; # in the base image, or sanitizers
        esac
        check "$(basename "$binary") links $lib: its package '$pkg' is installed by the runtime stage" \
            grep -q " $pkg " <<<"$runtime_packages"
    done
done
for pattern in .git build 'build-\*' var conf/compose/secrets; do
    check ".dockerignore leaves out $pattern" grep -qx "$pattern" "$src/.dockerignore"
done

itest_finish
