#!/usr/bin/env bash
# `make test`: everything, on a fresh Debian 12 machine, as root or not.
# Installs missing packages, builds with warnings as errors, installs into a
# staging directory, runs every suite inside a throwaway cluster
# (pg_virtualenv, pg_cron preloaded, the staged extension)
# and ends with one line "N passed, N failed"; exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
summary="$top/.test-summary"
: > "$summary"

finish() {
    local passed failed
    passed=$(awk '{p += $1} END {print p + 0}' "$summary")
    failed=$(awk '{f += $2} END {print f + 0}' "$summary")
    echo
    awk '{printf "  %-28s %4d passed, %d failed\n", $3, $1, $2}' "$summary"
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
    exit $?
}

if ! scripts/install-deps.sh; then
    echo "0 1 install-deps" >> "$summary"; finish
fi
make clean >/dev/null
if ! make COPT=-Werror; then
    echo "0 1 build(-Werror)" >> "$summary"; finish
fi
echo "1 0 build(-Werror)" >> "$summary"

# Install into a staging directory and let the throwaway cluster load the
# extension from there (scripts/cluster.sh).
. scripts/cluster.sh
if ! stage_extension; then
    echo "0 1 install" >> "$summary"; finish
fi
recorded=$(wc -l < "$summary")
throwaway_cluster \
    -o shared_preload_libraries=pg_cron \
    -o cron.database_name=postgres \
    -o cron.use_background_workers=on \
    -o max_worker_processes=16 \
    -- bash scripts/suites.sh "$summary"
# no suite recorded anything: the throwaway cluster never started
[ "$(wc -l < "$summary")" -gt "$recorded" ] || echo "0 1 pg_virtualenv" >> "$summary"
finish
