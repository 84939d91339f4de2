#!/usr/bin/env bash
# Install the Debian packages stockroute needs, if missing, as root or
# through sudo.
#
#   scripts/install-deps.sh          everything make test needs
#   scripts/install-deps.sh demo     only what make demo needs (build and run)
#   scripts/install-deps.sh console  what make console needs
#
# Quiet: apt-get's output goes to install-deps.log in the checkout (its path
# is printed, and its end is shown if apt-get fails); VERBOSE=1 shows it.
set -euo pipefail
cd "$(dirname "$0")/.."
# build the extension and run it in a throwaway cluster
pkgs="make gcc postgresql-15 postgresql-server-dev-15"
# the ops console (make console, make test): Flask, psycopg2, cryptography,
# waitress; make console runs reconcile() with pg_cron
console="python3-flask python3-psycopg2 python3-cryptography python3-waitress"
case "${1:-test}" in
demo)
    ;;
console)
    pkgs="$pkgs postgresql-15-cron $console"
    ;;
*)
    # the suites: pgTAP, pg_cron, the solver's MILP reference (CBC), automatic
    # failover (pg_auto_failover), the monitoring files (promtool, amtool, the
    # exporter, curl, jq), the Debian package build (dpkg-dev, debhelper,
    # postgresql-server-dev-all, fakeroot), the console in a headless browser
    # (Chromium driven by Selenium) and faketime, to repeat the suites under
    # another clock (test/README.md)
    pkgs="$pkgs postgresql-15-pgtap postgresql-15-cron libtap-parser-sourcehandler-pgtap-perl coinor-cbc
          postgresql-15-auto-failover
          prometheus prometheus-alertmanager prometheus-postgres-exporter curl jq
          dpkg-dev debhelper postgresql-server-dev-all fakeroot
          $console python3-selenium chromium chromium-driver faketime"
    ;;
esac
missing=""
for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

sudo=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo > /dev/null || { echo "Installing$missing needs root: run this as root, or install sudo"; exit 1; }
    sudo="sudo"
    sudo -v     # ask for the password here, not in the middle of the log
fi
log="$(pwd)/install-deps.log"
echo "Installing Debian packages:$missing"
echo "  (apt-get's output goes to $log)"
run() {
    if [ -n "${VERBOSE:-}" ]; then "$@" 2>&1 | tee -a "$log"; else "$@" >> "$log" 2>&1; fi
}
: > "$log"
if ! run $sudo apt-get update -q ||
   ! run $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing; then
    echo "apt-get failed; the end of $log:"
    tail -20 "$log"
    exit 1
fi
echo "  done."
