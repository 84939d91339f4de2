#!/usr/bin/env bash
# `make test`: everything, on a fresh Debian 12 machine, as root or not.
# Installs missing packages, builds with warnings as errors, installs, runs
# every suite inside a throwaway cluster (pg_virtualenv, pg_cron preloaded)
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
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"

make clean >/dev/null
if ! make COPT=-Werror; then
    echo "0 1 build(-Werror)" >> "$summary"; finish
fi
echo "1 0 build(-Werror)" >> "$summary"
if ! $sudo make install >/dev/null; then
    echo "0 1 install" >> "$summary"; finish
fi

# -t: the cluster's configuration lives in a temporary directory, so a run
# never collides with a cluster of the machine (or another run) named regress
pg_virtualenv -t -c "--locale=C.UTF-8" \
    -o shared_preload_libraries=pg_cron \
    -o cron.database_name=postgres \
    -o cron.use_background_workers=on \
    -o max_worker_processes=16 \
    bash scripts/suites.sh "$summary"
[ -s "$summary" ] || echo "0 1 pg_virtualenv" >> "$summary"
finish
