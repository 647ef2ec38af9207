#!/usr/bin/env bash
# The metrics routes against their real consumers, from Debian's packages, on
# loopback: /metrics (access, promtool check metrics, the figures), a real
# Prometheus scraping cofferd and answering queries with the expected values,
# the InfluxDB line-protocol report (exact first line, one line per
# collection) written into a real InfluxDB 1.x and read back, and promtool
# check rules on conf/prometheus/alerts.yml.
source "$(dirname "$0")/lib.sh"

for bin in prometheus promtool influxd jq curl; do
    if ! command -v "$bin" >/dev/null 2>&1; then
        echo "FAIL: $bin is not installed: the metrics test needs the Debian packages prometheus and influxdb" \
            "(apt-get install -y --no-install-recommends prometheus influxdb; scripts/test installs them)"
        echo "0 passed, 1 failed"
        exit 1
    fi
done

itest_begin
PROM_PID=
INFLUX_PID=
# Stop the consumers by their PIDs (itest_cleanup also kill -9s ITEST_PIDS).
metrics_cleanup()
{
    local pid
    for pid in $PROM_PID $INFLUX_PID; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in $PROM_PID $INFLUX_PID; do
        for _ in $(seq 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
    done
    itest_cleanup
}
trap metrics_cleanup EXIT

METRICS_CODE=metrics-code-for-tests-0123456789
BASE_URL=http://coffer.test:8000
cofferd_start metrics_cache_seconds=1 "base_url=$BASE_URL" app_env=ci
cofferd_port=${COFFER_URL##*:}

C=/api/stable/repository/collection
ROUTE_UPLOAD='/api/stable/repository/collection/{}/versions'
api POST /api/stable/accounts -d '{"id": "acct", "name": "Metrics account"}'
expect 201 "account"
# "nightly" expects a version every second and gets three; "spare" has none.
api POST "$C" -d '{"id": "nightly", "account_id": "acct", "expected_interval": 1, "tags": ["db", "prod"],
                   "max_version_size": 4096, "max_collection_size": 1000000}'
expect 201 "collection with expected_interval and tags"
api POST "$C" -d '{"id": "spare", "account_id": "acct", "tags": ["db"]}'
expect 201 "collection without a version"

sizes=(1000 2000 3000)
total_size=0
for s in "${sizes[@]}"; do
    head -c "$s" /dev/urandom >"$ITEST_DIR/v$s"
    api POST "$C/nightly/versions" --data-binary @"$ITEST_DIR/v$s"
    expect 201 "upload of $s bytes"
    total_size=$((total_size + s))
done
head -c 5000 /dev/urandom >"$ITEST_DIR/toolarge"
api POST "$C/nightly/versions" --data-binary @"$ITEST_DIR/toolarge" -H 'Expect:'
expect 413 version_too_large "an upload over max_version_size"
api GET "$C/nightly"
stored_size=$(jbody .collection.usage.stored_size)
eq "usage of nightly" "$(jbody .collection.usage.size)" "$total_size"

# Tokens: one with metrics.view, one without (the admin token makes three active).
# The metrics.view token expires in 3 days: the soonest of acct's live tokens.
api POST /api/stable/auth/token -d '{"account_id": "acct", "permissions": ["metrics.view"], "ttl": 259200}'
expect 201 "a metrics.view token"
METRICS_TOKEN=$(jbody .token)
token_expiry=$(jbody '.expires_at | fromdateiso8601')
# Sooner ones that no longer work: one revoked, one expired.
api POST /api/stable/auth/token -d '{"account_id": "acct", "permissions": ["collections.view"], "ttl": 3600}'
expect 201 "a token to revoke"
api DELETE "/api/stable/auth/token/$(jbody .token_id)"
expect 204 "revoked"
itest_sql "INSERT INTO tokens (id, account_id, permissions, expires_at) VALUES
  (gen_random_uuid(), 'acct', '{collections.view}', now() - interval '1 hour')" >/dev/null
api POST /api/stable/auth/token -d '{"account_id": "acct", "permissions": ["collections.view"], "ttl": 604800}'
expect 201 "a token without metrics.view (7 days)"
OTHER_TOKEN=$(jbody .token)

# --- /metrics: who may read it.
TOKEN= api GET /metrics
expect 403 forbidden "/metrics without a code"
TOKEN= api GET "/metrics?code=$HEALTH_CODE"
expect 403 forbidden "/metrics with the health code"
TOKEN= api GET "/metrics?code=${METRICS_CODE}x"
expect 403 forbidden "/metrics with a wrong code"
TOKEN=$OTHER_TOKEN api GET /metrics
expect 403 permission_denied "/metrics with a token lacking metrics.view"
TOKEN=$METRICS_TOKEN api GET /metrics
expect 200 "/metrics with a metrics.view token"
check "the token's answer is the Prometheus text" grep -q '^coffer_up{dependency="database"} 1$' "$ITEST_DIR/body"
TOKEN= api GET "/metrics?code=$METRICS_CODE"
expect 200 "/metrics with the metrics code"
check "Content-Type text/plain; version=0.0.4 (got '$(header Content-Type)')" \
    grep -qi '^content-type: text/plain; version=0\.0\.4' "$ITEST_DIR/headers"
cp "$ITEST_DIR/body" "$ITEST_DIR/metrics.prom"

# --- promtool: the output parses and is lint-clean (exit 3 is a lint warning).
rc=0
promtool check metrics <"$ITEST_DIR/metrics.prom" >"$ITEST_DIR/promtool.out" 2>&1 || rc=$?
check "promtool check metrics exits 0 (exit $rc: $(head -c 400 "$ITEST_DIR/promtool.out"))" test "$rc" -eq 0

# metric FILE NAME [LABEL=VALUE...]: the value of the one sample of NAME that
# carries all the given labels (in any order); empty when there is none.
metric()
{
    local file=$1 name=$2
    shift 2
    awk -v name="$name" -v want="$*" '
        BEGIN { n = split(want, pairs, " ") }
        $0 ~ /^#/ { next }
        {
            series = $0; sub(/ [^ ]+$/, "", series)
            value = $0; sub(/^.* /, "", value)
            base = series; sub(/\{.*/, "", base)
            if (base != name) next
            for (i = 1; i <= n; i++) {
                split(pairs[i], kv, "=")
                if (index(series, kv[1] "=\"" kv[2] "\"") == 0) next
            }
            print value; found++
        }
        END { if (found > 1) print "(" found " samples)" }' "$file"
}
M=$ITEST_DIR/metrics.prom
eq "coffer_collection_versions of nightly" \
    "$(metric "$M" coffer_collection_versions collection_id=nightly account_id=acct)" 3
eq "coffer_collection_versions of spare" \
    "$(metric "$M" coffer_collection_versions collection_id=spare account_id=acct)" 0
eq "coffer_collection_size_bytes of nightly is the sum of the uploads" \
    "$(metric "$M" coffer_collection_size_bytes collection_id=nightly)" "$total_size"
eq "coffer_collection_size_bytes of spare" "$(metric "$M" coffer_collection_size_bytes collection_id=spare)" 0
eq "coffer_collection_stored_size_bytes of nightly" \
    "$(metric "$M" coffer_collection_stored_size_bytes collection_id=nightly)" "$stored_size"
eq "coffer_collection_max_size_bytes of nightly" \
    "$(metric "$M" coffer_collection_max_size_bytes collection_id=nightly)" 1000000
eq "no last-version age for a collection without versions" \
    "$(metric "$M" coffer_collection_last_version_age_seconds collection_id=spare)" ""
check "a last-version age for nightly" test -n "$(metric "$M" coffer_collection_last_version_age_seconds \
    collection_id=nightly)"
eq "coffer_uploads_refused_total{reason=version_too_large}" \
    "$(metric "$M" coffer_uploads_refused_total reason=version_too_large)" 1
eq "coffer_http_requests_total for the upload route with 201" \
    "$(metric "$M" coffer_http_requests_total "route=$ROUTE_UPLOAD" method=POST status=201)" "${#sizes[@]}"
eq "coffer_http_requests_total for the upload route with 413" \
    "$(metric "$M" coffer_http_requests_total "route=$ROUTE_UPLOAD" method=POST status=413)" 1
eq "coffer_http_request_duration_seconds_count for the upload route" \
    "$(metric "$M" coffer_http_request_duration_seconds_count "route=$ROUTE_UPLOAD" method=POST)" 4
eq "coffer_http_request_duration_seconds_bucket +Inf for the upload route" \
    "$(metric "$M" coffer_http_request_duration_seconds_bucket "route=$ROUTE_UPLOAD" method=POST le=+Inf)" 4
eq "coffer_upload_bytes_total" "$(metric "$M" coffer_upload_bytes_total)" "$total_size"
eq "coffer_up{dependency=database}" "$(metric "$M" coffer_up dependency=database)" 1
eq "coffer_up{dependency=storage}" "$(metric "$M" coffer_up dependency=storage)" 1
eq "coffer_versions" "$(metric "$M" coffer_versions)" 3
eq "coffer_collections" "$(metric "$M" coffer_collections)" 2
eq "coffer_tags (distinct)" "$(metric "$M" coffer_tags)" 2
eq "coffer_storage_declared_bytes" "$(metric "$M" coffer_storage_declared_bytes)" 1000000
eq "coffer_storage_used_bytes" "$(metric "$M" coffer_storage_used_bytes)" "$stored_size"
eq "coffer_accounts_active" "$(metric "$M" coffer_accounts_active)" 1
eq "coffer_tokens_active" "$(metric "$M" coffer_tokens_active)" 3
eq "coffer_account_used_bytes" "$(metric "$M" coffer_account_used_bytes account_id=acct)" "$total_size"
eq "coffer_account_token_expiry_timestamp_seconds: the 3-day token, not the revoked or expired one" \
    "$(metric "$M" coffer_account_token_expiry_timestamp_seconds account_id=acct)" "$token_expiry"
left=$((token_expiry - $(date +%s)))
check "which expires in 3 days ($left s)" test "$left" -gt $((259200 - 120)) -a "$left" -le 259200
check "coffer_build_info is 1" grep -q '^coffer_build_info{version="[^"]*"} 1$' "$M"
check "coffer_db_pool_in_use is there" test -n "$(metric "$M" coffer_db_pool_in_use)"
check "coffer_db_pool_waiting is there" test -n "$(metric "$M" coffer_db_pool_waiting)"
check "coffer_download_bytes_total is there" test -n "$(metric "$M" coffer_download_bytes_total)"

# Overdue: 2 s after the last version (and after the 1 s cache has expired).
sleep 2.2
TOKEN= api GET "/metrics?code=$METRICS_CODE"
expect 200 "/metrics again"
cp "$ITEST_DIR/body" "$M"
eq "coffer_collection_overdue of nightly after 2 s" \
    "$(metric "$M" coffer_collection_overdue collection_id=nightly account_id=acct)" 1
eq "coffer_collection_overdue of spare (no expected_interval)" \
    "$(metric "$M" coffer_collection_overdue collection_id=spare account_id=acct)" 0
age=$(metric "$M" coffer_collection_last_version_age_seconds collection_id=nightly)
check "the last-version age of nightly is 2 s or more (got '$age')" test "${age:-0}" -ge 2

# --- The alert rules: valid, and every coffer_ metric they use exists.
rules=$COFFER_SOURCE/conf/prometheus/alerts.yml
rc=0
promtool check rules "$rules" >"$ITEST_DIR/rules.out" 2>&1 || rc=$?
check "promtool check rules conf/prometheus/alerts.yml (exit $rc: $(tail -c 400 "$ITEST_DIR/rules.out"))" \
    test "$rc" -eq 0
# Their unit tests, when the rules come with some.
if [[ -f ${rules%.yml}_test.yml ]]; then
    rc=0
    (cd "$(dirname "$rules")" && promtool test rules "$(basename "${rules%.yml}_test.yml")") \
        >"$ITEST_DIR/rules-test.out" 2>&1 || rc=$?
    check "promtool test rules conf/prometheus/alerts_test.yml (exit $rc: $(tail -c 400 "$ITEST_DIR/rules-test.out"))" \
        test "$rc" -eq 0
fi
if [[ -f $rules ]]; then
    for name in $(grep -o 'coffer_[a-z_]*' "$rules" | sort -u); do
        family=$(sed -E 's/_(bucket|sum|count)$//' <<<"$name")
        check "alerts.yml uses $name, which /metrics exposes" \
            grep -qE "^# TYPE ($name|$family) " "$M"
    done
fi

# --- A real Prometheus scrapes cofferd and answers queries.
prom_port=$(pg_free_port)
mkdir -p "$ITEST_DIR/promdata"
cat >"$ITEST_DIR/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: coffer
    scrape_interval: 1s
    scrape_timeout: 1s
    metrics_path: /metrics
    params:
      code: ['$METRICS_CODE']
    static_configs:
      - targets: ['127.0.0.1:$cofferd_port']
EOF
# The alert rules are loaded too when they are valid, and must then evaluate cleanly.
rules_loaded=false
if [[ -f $rules ]] && promtool check rules "$rules" >/dev/null 2>&1; then
    cp "$rules" "$ITEST_DIR/alerts.yml"
    printf 'rule_files:\n  - %s\n' "$ITEST_DIR/alerts.yml" >>"$ITEST_DIR/prometheus.yml"
    rules_loaded=true
fi
rc=0
promtool check config "$ITEST_DIR/prometheus.yml" >"$ITEST_DIR/promconfig.out" 2>&1 || rc=$?
check "promtool check config on the test's prometheus.yml (exit $rc)" test "$rc" -eq 0
prom_started=$(date +%s%N)
prometheus --config.file="$ITEST_DIR/prometheus.yml" --storage.tsdb.path="$ITEST_DIR/promdata" \
    --web.listen-address="127.0.0.1:$prom_port" >"$ITEST_DIR/prometheus.log" 2>&1 &
PROM_PID=$!
ITEST_PIDS+=("$PROM_PID")
PROM=http://127.0.0.1:$prom_port

# prom_query QUERY: the value of the first result of an instant query ("" when none).
prom_query()
{
    curl -sS -G "$PROM/api/v1/query" --data-urlencode "query=$1" 2>/dev/null |
        jq -r '.data.result[0].value[1] // empty' 2>/dev/null || true
}
got_versions='' got_up='' got_size=''
while (($(date +%s%N) - prom_started < 20000000000)); do
    got_versions=$(prom_query 'coffer_collection_versions{job="coffer",collection_id="nightly",account_id="acct"}')
    got_up=$(prom_query 'up{job="coffer"}')
    [[ $got_versions == 3 && $got_up == 1 ]] && break
    kill -0 "$PROM_PID" 2>/dev/null || break
    sleep 0.1
done
prom_ms=$((($(date +%s%N) - prom_started) / 1000000))
echo "prometheus: the first coffer_ sample was queryable ${prom_ms} ms after start"
eq "Prometheus: coffer_collection_versions of nightly" "$got_versions" 3
eq "Prometheus: up of the coffer job" "$got_up" 1
check "Prometheus answered within 20 s (${prom_ms} ms)" test "$prom_ms" -lt 20000
got_size=$(prom_query 'coffer_collection_size_bytes{collection_id="nightly"}')
eq "Prometheus: coffer_collection_size_bytes of nightly" "$got_size" "$total_size"
eq "Prometheus: coffer_collection_versions of spare" \
    "$(prom_query 'coffer_collection_versions{collection_id="spare"}')" 0
eq "Prometheus: coffer_uploads_refused_total{reason=version_too_large}" \
    "$(prom_query 'coffer_uploads_refused_total{reason="version_too_large"}')" 1
eq "Prometheus: uploads answered 201" \
    "$(prom_query "coffer_http_requests_total{route=\"$ROUTE_UPLOAD\",method=\"POST\",status=\"201\"}")" \
    "${#sizes[@]}"
eq "Prometheus: coffer_collection_overdue of nightly" \
    "$(prom_query 'coffer_collection_overdue{collection_id="nightly"}')" 1
eq "Prometheus: coffer_up{dependency=database}" "$(prom_query 'coffer_up{dependency="database"}')" 1
check "Prometheus: a latency quantile of the upload route" test -n \
    "$(prom_query "histogram_quantile(0.5, coffer_http_request_duration_seconds_bucket{route=\"$ROUTE_UPLOAD\"})")"
targets=$(curl -sS "$PROM/api/v1/targets" 2>/dev/null || true)
eq "Prometheus: the target is healthy" \
    "$(jq -r '.data.activeTargets[] | select(.labels.job == "coffer") | .health' <<<"$targets" 2>/dev/null)" up
eq "Prometheus: no scrape error" \
    "$(jq -r '.data.activeTargets[] | select(.labels.job == "coffer") | .lastError' <<<"$targets" 2>/dev/null)" ""
if $rules_loaded; then
    # Rules are evaluated every second; give them a couple of rounds.
    bad=
    for ((i = 0; i < 30; i++)); do
        rules_json=$(curl -sS "$PROM/api/v1/rules" 2>/dev/null || true)
        bad=$(jq -r '[.data.groups[].rules[] | select(.health != "ok") | "\(.name): \(.health) \(.lastError)"]
                     | join("; ")' <<<"$rules_json" 2>/dev/null || echo "unreadable: $rules_json")
        evaluated=$(jq -r '[.data.groups[].rules[] | select(.lastEvaluation | startswith("0001"))] | length' \
            <<<"$rules_json" 2>/dev/null || echo 1)
        [[ -z $bad && $evaluated == 0 ]] && break
        sleep 0.2
    done
    eq "Prometheus: every alert rule evaluates cleanly" "$bad" ""
fi
check "Prometheus logged no error" bash -c "! grep -q 'level=error' '$ITEST_DIR/prometheus.log'"
kill -TERM "$PROM_PID"
rc=0
wait "$PROM_PID" || rc=$?
PROM_PID=
check "Prometheus exits cleanly on SIGTERM (exit $rc)" test "$rc" -eq 0

# --- The InfluxDB report.
# matches TEXT REGEX: bash's =~, as a command for check.
matches()
{
    [[ $1 =~ $2 ]]
}
R=/metrics/backup_repository_report/influxdb
TOKEN= api GET "$R"
expect 403 forbidden "report without a code"
TOKEN= api GET "$R?code=$HEALTH_CODE"
expect 403 forbidden "report with the health code"
TOKEN=$METRICS_TOKEN api GET "$R"
expect 403 forbidden "report with a token but no code (the report takes the code only)"
before_ns=$(date +%s%N)
sleep 1.1 # past the 1 s cache, so that the report's timestamp is taken now
TOKEN= api GET "$R?code=$METRICS_CODE"
after_ns=$(date +%s%N)
expect 200 "report with the metrics code"
check "report Content-Type text/plain (got '$(header Content-Type)')" \
    grep -qi '^content-type: text/plain' "$ITEST_DIR/headers"
cp "$ITEST_DIR/body" "$ITEST_DIR/report.txt"
first=$(head -n1 "$ITEST_DIR/report.txt")
re='^backup_repository_report,base_url=http://coffer.test:8000,app_env=ci storage_declared_space=[0-9]+,storage_used_space=[0-9]+,users_active_accounts=[0-9]+,users_active_jwt_keys=[0-9]+,backup_versions=[0-9]+,backup_collections=[0-9]+,resources_tags=[0-9]+ [0-9]{19}$'
check "the first line has the contract's form: $first" matches "$first" "$re"
want="storage_declared_space=1000000,storage_used_space=$stored_size,users_active_accounts=1,"
want+="users_active_jwt_keys=3,backup_versions=3,backup_collections=2,resources_tags=2"
eq "the report's totals" "$(cut -d' ' -f2 <<<"$first")" "$want"
report_ts=${first##* }
check "the timestamp is now, in nanoseconds ($report_ts)" \
    test "$report_ts" -ge "$before_ns" -a "$report_ts" -le "$after_ns"
eq "one backup_collection line per collection" "$(grep -c '^backup_collection,' "$ITEST_DIR/report.txt")" 2
eq "nothing but the report, the collections and the account" "$(wc -l <"$ITEST_DIR/report.txt")" 4
eq "acct's line: its soonest live token's expiry" \
    "$(grep '^backup_account,' "$ITEST_DIR/report.txt" || true)" \
    "backup_account,account_id=acct token_expiry_timestamp_seconds=$token_expiry $report_ts"
line_nightly=$(grep '^backup_collection,collection_id=nightly,account_id=acct ' "$ITEST_DIR/report.txt" || true)
line_spare=$(grep '^backup_collection,collection_id=spare,account_id=acct ' "$ITEST_DIR/report.txt" || true)
re_n="^backup_collection,collection_id=nightly,account_id=acct versions=3,size=$total_size,stored_size=$stored_size,"
re_n+="max_collection_size=1000000,last_version_age_seconds=[0-9]+,overdue=1 $report_ts\$"
check "nightly's line: $line_nightly" matches "$line_nightly" "$re_n"
eq "spare's line (no age without a version)" "$line_spare" \
    "backup_collection,collection_id=spare,account_id=acct versions=0,size=0,stored_size=0,max_collection_size=0,overdue=0 $report_ts"

# --- A real InfluxDB 1.x takes the report and gives the values back.
influx_port=$(pg_free_port)
influx_rpc_port=$(pg_free_port)
while [[ $influx_rpc_port == "$influx_port" ]]; do influx_rpc_port=$(pg_free_port); done
mkdir -p "$ITEST_DIR/influx"
cat >"$ITEST_DIR/influx.conf" <<EOF
reporting-disabled = true
bind-address = "127.0.0.1:$influx_rpc_port"
[meta]
  dir = "$ITEST_DIR/influx/meta"
[data]
  dir = "$ITEST_DIR/influx/data"
  wal-dir = "$ITEST_DIR/influx/wal"
  query-log-enabled = false
[monitor]
  store-enabled = false
[http]
  enabled = true
  bind-address = "127.0.0.1:$influx_port"
  auth-enabled = false
  log-enabled = false
[ifql]
  enabled = false
[continuous_queries]
  enabled = false
[[graphite]]
  enabled = false
[[collectd]]
  enabled = false
[[opentsdb]]
  enabled = false
[[udp]]
  enabled = false
EOF
influx_started=$(date +%s%N)
influxd -config "$ITEST_DIR/influx.conf" >"$ITEST_DIR/influxd.log" 2>&1 &
INFLUX_PID=$!
ITEST_PIDS+=("$INFLUX_PID")
INFLUX=http://127.0.0.1:$influx_port
ping=000
for ((i = 0; i < 200; i++)); do
    ping=$(curl -s -o /dev/null -w '%{http_code}' "$INFLUX/ping" 2>/dev/null || true)
    [[ $ping == 204 ]] && break
    kill -0 "$INFLUX_PID" 2>/dev/null || break
    sleep 0.05
done
eq "InfluxDB answers /ping" "$ping" 204
out=$(curl -sS -XPOST "$INFLUX/query" --data-urlencode 'q=CREATE DATABASE coffer' 2>&1 || true)
eq "InfluxDB: CREATE DATABASE coffer" "$out" '{"results":[{"statement_id":0}]}'
write_status=$(curl -sS -o "$ITEST_DIR/influx-write.out" -w '%{http_code}' -XPOST "$INFLUX/write?db=coffer" \
    --data-binary @"$ITEST_DIR/report.txt" 2>&1 || true)
check "InfluxDB accepts the report on /write: $write_status $(head -c 300 "$ITEST_DIR/influx-write.out")" \
    test "$write_status" = 204

# influx_rows MEASUREMENT: every row as one JSON object per line ({column: value}).
# jq 1.6 reads numbers as doubles, which would round the nanosecond timestamps:
# the time (first in each row) is turned into a string first.
influx_rows()
{
    curl -sS -G "$INFLUX/query" --data-urlencode db=coffer --data-urlencode epoch=ns \
        --data-urlencode "q=SELECT * FROM $1" 2>/dev/null | sed -E 's/\[([0-9]{16,}),/["\1",/g' |
        jq -c '.results[0].series[0] as $s | $s.values[]? | [$s.columns, .] | transpose
               | map({(.[0]): .[1]}) | add' 2>/dev/null || true
}
influx_rows backup_collection >"$ITEST_DIR/influx-collections.json"
influx_rows backup_repository_report >"$ITEST_DIR/influx-report.json"
influx_rows backup_account >"$ITEST_DIR/influx-accounts.json"
influx_ms=$((($(date +%s%N) - influx_started) / 1000000))
echo "influxdb: started, written and read back in ${influx_ms} ms"
ROWS=$ITEST_DIR/influx-collections.json
eq "InfluxDB: two backup_collection rows" "$(wc -l <"$ROWS")" 2
row()
{
    jq -r --arg id "$1" "select(.collection_id == \$id) | $2" "$ROWS"
}
eq "InfluxDB: nightly's versions" "$(row nightly .versions)" 3
eq "InfluxDB: nightly's size" "$(row nightly .size)" "$total_size"
eq "InfluxDB: nightly's stored_size" "$(row nightly .stored_size)" "$stored_size"
eq "InfluxDB: nightly's overdue" "$(row nightly .overdue)" 1
eq "InfluxDB: nightly's account_id" "$(row nightly .account_id)" acct
eq "InfluxDB: nightly's time" "$(row nightly .time)" "$report_ts"
eq "InfluxDB: spare's versions" "$(row spare .versions)" 0
eq "InfluxDB: spare's size" "$(row spare .size)" 0
eq "InfluxDB: spare's last_version_age_seconds (none)" "$(row spare .last_version_age_seconds)" null
TOTALS=$ITEST_DIR/influx-report.json
eq "InfluxDB: one backup_repository_report row" "$(wc -l <"$TOTALS")" 1
eq "InfluxDB: the report's tags and totals" \
    "$(jq -r '[.base_url, .app_env, .storage_declared_space, .storage_used_space, .users_active_accounts,
               .users_active_jwt_keys, .backup_versions, .backup_collections, .resources_tags, .time]
              | map(tostring) | join(" ")' "$TOTALS")" \
    "$BASE_URL ci 1000000 $stored_size 1 3 3 2 2 $report_ts"
eq "InfluxDB: acct's token expiry" \
    "$(jq -r '[.account_id, .token_expiry_timestamp_seconds, .time] | map(tostring) | join(" ")' \
        "$ITEST_DIR/influx-accounts.json")" "acct $token_expiry $report_ts"
check "InfluxDB logged no error" bash -c "! grep -qi 'lvl=error' '$ITEST_DIR/influxd.log'"
kill -TERM "$INFLUX_PID"
rc=0
wait "$INFLUX_PID" || rc=$?
INFLUX_PID=
check "InfluxDB exits cleanly on SIGTERM (exit $rc)" test "$rc" -eq 0

cofferd_stop
itest_finish
