#!/usr/bin/env bash
# monitoring_rules: monitoring/alerts.yml is a valid Prometheus rule file and
# its alerts fire when and only when they should (promtool test rules runs
# monitoring/alerts_test.yml: each alert on the series that should raise it,
# after its "for", quiet on the others); monitoring/prometheus.yml, the
# example configuration that loads them, is valid (promtool check config).
set -euo pipefail
cd "$(dirname "$0")/../../monitoring"
promtool check rules alerts.yml
promtool test rules alerts_test.yml
promtool check config prometheus.yml
amtool check-config alertmanager.yml
