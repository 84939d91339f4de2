#!/usr/bin/env bash
# Install the Debian packages stockroute builds and tests with, if missing.
set -euo pipefail
pkgs="make gcc postgresql-15 postgresql-server-dev-15 postgresql-15-pgtap postgresql-15-cron
      postgresql-15-auto-failover libtap-parser-sourcehandler-pgtap-perl coinor-cbc"
missing=""
for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "installing:$missing"
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
$sudo apt-get update -q
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing
