#!/usr/bin/env bash
# `make package`: build the Debian package postgresql-<major>-stockroute the
# way Debian builds PostgreSQL extensions (pg_buildext, debian/), from a copy
# of this tree, so the checkout is left as it was.
#
#   scripts/package.sh [OUTDIR]      the .deb files land in OUTDIR (default dist/)
#
# dpkg-buildpackage's output goes to OUTDIR/build.log.  With DEB_BUILD_OPTIONS
# unset the build also runs the regression suites against the staged package
# in a throwaway cluster; DEB_BUILD_OPTIONS=nocheck skips them (make test
# runs them anyway).  Needs dpkg-dev, debhelper and postgresql-server-dev-all
# (scripts/install-deps.sh installs them).
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
out=${1:-dist}
mkdir -p "$out"
out=$(cd "$out" && pwd)
version=$(sed -n "s/^default_version *= *'\(.*\)'/\1/p" stockroute.control)

work=$(mktemp -d /tmp/stockroute-package.XXXXXX)
trap 'rm -rf "$work"' EXIT
# the build's throwaway cluster runs as postgres when we are root: it must
# read the staged package
chmod 755 "$work"
src="$work/stockroute-$version"
mkdir "$src"
# the tree as it is (committed or not), without git metadata and build output
tar -C "$top" --exclude=./.git --exclude=./dist --exclude='*.o' --exclude='*.so' --exclude='*.bc' \
    --exclude=./results --exclude=./output_iso --exclude=./tmp_check --exclude=./log \
    --exclude=./install-deps.log -cf - . | tar -C "$src" -xf -

echo "Building postgresql-*-stockroute $version (log: $out/build.log) ..."
if ! (cd "$src" && dpkg-buildpackage -us -uc -b) > "$out/build.log" 2>&1; then
    tail -30 "$out/build.log"
    echo "dpkg-buildpackage failed; the whole log is $out/build.log"
    exit 1
fi
cp "$work"/*.deb "$out"/
ls "$out"/*.deb
