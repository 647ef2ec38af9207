#!/usr/bin/env bash
# The shipped Prometheus alert rules parse, and fire as intended on recorded
# series (conf/prometheus/alerts_test.yml), checked by Debian's promtool.
set -euo pipefail
: "${COFFER_SOURCE:?run through ctest (scripts/test)}"
command -v promtool >/dev/null || { echo "promtool is missing (apt-get install prometheus)"; exit 1; }
passed=0
failed=0
run()
{
    if "$@" >/tmp/coffer-promtool.$$ 2>&1; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "FAIL: $*"
        cat /tmp/coffer-promtool.$$
    fi
    rm -f /tmp/coffer-promtool.$$
}
run promtool check rules "$COFFER_SOURCE/conf/prometheus/alerts.yml"
run promtool check config "$COFFER_SOURCE/conf/prometheus/prometheus.yml"
run promtool test rules "$COFFER_SOURCE/conf/prometheus/alerts_test.yml"
run jq -e .panels "$COFFER_SOURCE/conf/grafana/dashboards/coffer.json"
echo "$passed passed, $failed failed"
((failed == 0))
