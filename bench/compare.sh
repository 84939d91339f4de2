#!/usr/bin/env bash
# bench/compare.sh — one benchmark against two builds of stockroute, in turns.
#
#   bench/compare.sh OLD_STAGE NEW_STAGE BENCH [ROUNDS]
#
# OLD_STAGE and NEW_STAGE are directories each build was installed into with
# `make install DESTDIR=...`; BENCH is a benchmark's run.sh (bench/routing,
# bench/rules, bench/simulate, ...).  Runs BENCH --virtualenv ROUNDS times
# (default 2) for each build, old then new, in a throwaway cluster of its own
# each time (scripts/cluster.sh loads the staged build), so that a shared
# machine's drift falls on both alike.  Prints every run's table, headed by
# the build and the round.
#
#   git worktree add /tmp/old <commit> && make -C /tmp/old install DESTDIR=/tmp/stage-old
#   make install DESTDIR=/tmp/stage-new
#   bench/compare.sh /tmp/stage-old /tmp/stage-new bench/routing/run.sh
set -euo pipefail
old=$1 new=$2 bench=$3
rounds=${4:-2}
for d in "$old" "$new"; do
    [ -d "$d" ] || { echo "no staged build in $d" >&2; exit 1; }
done
for r in $(seq 1 "$rounds"); do
    for b in old new; do
        if [ $b = old ]; then stage=$old; else stage=$new; fi
        echo "### $b build, round $r ($stage)"
        STOCKROUTE_STAGE=$stage bash "$bench" --virtualenv 2>/dev/null
        echo
    done
done
