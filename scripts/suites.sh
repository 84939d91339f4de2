#!/usr/bin/env bash
# Runs every suite against the server in PG* (called by scripts/test.sh inside
# pg_virtualenv); appends "passed failed name" lines to the summary file.
set -uo pipefail
summary=$1
cd "$(dirname "$0")/.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

record() { echo "$1 $2 $3" >> "$summary"; }

# record a runner's counts; a runner that failed without naming a failed test
# (it could not build or connect) counts as one failure
record_run() {   # rc passed failed name
    local failed=$3
    [ "$1" -ne 0 ] && [ "$failed" -eq 0 ] && failed=1
    record "$2" "$failed" "$4"
}

# pure-C core checks (solver, calendar, cost model): exact references, MILP comparison, fuzzing
if [ -d test/core ]; then
    make -s -C test/core check > "$out/core.out" 2>&1; rc=$?
    cat "$out/core.out"
    record_run $rc "$(grep -c '^ok ' "$out/core.out")" "$(grep -c '^not ok ' "$out/core.out")" core
fi

# pg_regress (SQL tests and the pgTAP files in regress form)
make installcheck ISOLATION= > "$out/regress.out" 2>&1; rc=$?
cat "$out/regress.out"
record_run $rc "$(grep -cE '\.\.\. ok' "$out/regress.out")" "$(grep -cE '\.\.\. (FAILED|failed)' "$out/regress.out")" pg_regress
[ -f regression.diffs ] && head -200 regression.diffs

# isolation specs
make installcheck REGRESS= > "$out/isolation.out" 2>&1; rc=$?
cat "$out/isolation.out"
record_run $rc "$(grep -cE '\.\.\. ok' "$out/isolation.out")" "$(grep -cE '\.\.\. (FAILED|failed)' "$out/isolation.out")" isolation
[ -f output_iso/regression.diffs ] && head -200 output_iso/regression.diffs

# pgTAP suites again under pg_prove, in a database of their own
dropdb --if-exists stockroute_tap >/dev/null 2>&1
createdb stockroute_tap
pg_prove -d stockroute_tap test/sql/tap_*.sql > "$out/prove.out" 2>&1; rc=$?
cat "$out/prove.out"
ok=$(grep -cE '\.\. ok' "$out/prove.out")
files=$(ls test/sql/tap_*.sql | wc -l)
record_run $rc "$ok" "$((files - ok))" pg_prove

# the ops console in a headless browser (Chromium through Selenium) and its
# webhook, in a database of its own; Debian's python3, which has the packages
/usr/bin/python3 test/browser/test_console.py > "$out/browser.out" 2>&1; rc=$?
cat "$out/browser.out"
counts=$(sed -n 's/^browser: \([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p' "$out/browser.out" | tail -1)
counts=${counts:-0 0}
record_run $rc "${counts% *}" "${counts#* }" browser

# shell-level tests (dump/restore, crash recovery, ...)
for t in test/scripts/*.sh; do
    [ -e "$t" ] || continue
    name=$(basename "$t" .sh)
    if bash "$t" > "$out/$name.out" 2>&1; then
        record 1 0 "$name"
    else
        cat "$out/$name.out"
        record 0 1 "$name"
    fi
done
exit 0
