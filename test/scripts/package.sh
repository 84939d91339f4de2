#!/usr/bin/env bash
# package: the Debian package builds as DBAs install extensions, and the
# PGXN metadata agrees with the extension.  Copies the tree to a temporary
# directory and builds postgresql-<major>-stockroute there with pg_buildext
# (dpkg-buildpackage -us -uc -b, through scripts/package.sh; the suites are
# not run again: make test runs them), then checks with dpkg-deb that the
# package holds the shared library, the control file (byte for byte) and
# every install and upgrade script the build made, at the paths of
# pg_config, that its version is the control file's default_version as is
# debian/changelog's, and that META.json is valid PGXN metadata (the keys and
# forms the PGXN meta spec 1.0.0 requires) whose version and provided
# extension version are default_version, and whose provided file exists.
set -euo pipefail
cd "$(dirname "$0")/../.."
fail() { echo "FAIL: $*"; exit 1; }
version=$(sed -n "s/^default_version *= *'\(.*\)'/\1/p" stockroute.control)
[ -n "$version" ] || fail "no default_version in stockroute.control"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# --- debian/ ------------------------------------------------------------------
changelog=$(dpkg-parsechangelog -S Version)
[ "$changelog" = "$version" ] || fail "debian/changelog is at $changelog, stockroute.control at $version"

# the install and upgrade scripts make install installs, as the Makefile lists them
scripts=$(make -s print-scripts)
echo "$scripts" | tr ' ' '\n' | grep -qx "stockroute--$version.sql" || fail "make installs no stockroute--$version.sql"
DEB_BUILD_OPTIONS=nocheck scripts/package.sh "$out" || fail "the package did not build"
majors=$(cd "$out" && ls postgresql-*-stockroute_*.deb | grep -v dbgsym | sed 's/^postgresql-\([0-9]*\)-.*/\1/')
[ -n "$majors" ] || fail "no postgresql-*-stockroute package was built"
for major in $majors; do
    deb=$(ls "$out"/postgresql-$major-stockroute_*.deb)
    pg_config=/usr/lib/postgresql/$major/bin/pg_config
    libdir=$($pg_config --pkglibdir)
    extdir=$($pg_config --sharedir)/extension
    dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|' > "$out/contents"
    want=("$libdir/stockroute.so" "$extdir/stockroute.control")
    for f in $scripts; do want+=("$extdir/$f"); done
    grep -qx "$extdir/stockroute--$version.sql" "$out/contents" ||
        fail "$(basename "$deb") lacks the install script of $version"
    for f in "${want[@]}"; do
        grep -qx "$f" "$out/contents" || fail "$(basename "$deb") lacks $f"
    done
    [ "$(dpkg-deb -f "$deb" Version)" = "$version" ] ||
        fail "$(basename "$deb") has version $(dpkg-deb -f "$deb" Version), not $version"
    dpkg-deb --fsys-tarfile "$deb" | tar -xOf - ".$extdir/stockroute.control" | cmp -s - stockroute.control ||
        fail "the control file in $(basename "$deb") differs from stockroute.control"
    echo "ok $(basename "$deb"): ${#want[@]} files checked"
done

# --- META.json (PGXN meta spec 1.0.0) ----------------------------------------------
jq -e . META.json > /dev/null || fail "META.json is not JSON"
semver='^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z-]+)?$'
problems=$(jq -r --arg semver "$semver" '
  def str: type == "string" and length > 0;
  def strs: (str) or (type == "array" and length > 0 and all(.[]; str));
  def ver: type == "string" and (test($semver) or test("^(0|[1-9][0-9]*)$"));
  def licenses: ["agpl_3", "apache_1_1", "apache_2_0", "artistic_1", "artistic_2", "bsd",
                 "freebsd", "gfdl_1_2", "gfdl_1_3", "gpl_1", "gpl_2", "gpl_3", "lgpl_2_1",
                 "lgpl_3_0", "mit", "mozilla_1_0", "mozilla_1_1", "openssl", "perl_5",
                 "postgresql", "qpl_1_0", "ssleay", "sun", "zlib", "open_source",
                 "restricted", "unrestricted", "unknown"];
  [ (if (.name | str) and (.name | test("^[A-Za-z0-9_.-]{2,}$")) then empty else "name" end),
    (if .abstract | str then empty else "abstract" end),
    (if .version | ver then empty else "version is no semantic version" end),
    (if .maintainer | strs then empty else "maintainer" end),
    (if (.license | type) == "string" then
        (.license as $l | if licenses | index($l) then empty else "license \($l) is not in the spec list" end)
     elif (.license | type) == "object" and (.license | length) > 0 then empty
     elif (.license | type) == "array" and all(.license[]; . as $l | licenses | index($l)) then empty
     else "license" end),
    (if (.provides | type) == "object" and (.provides | length) > 0 then
        (.provides | to_entries[] |
           (if .value.file | str then empty else "provides.\(.key).file" end),
           (if .value.version | ver then empty else "provides.\(.key).version" end))
     else "provides" end),
    (if .["meta-spec"].version == "1.0.0" then empty else "meta-spec.version must be 1.0.0" end),
    (if has("prereqs") then
        (.prereqs | to_entries[] | .key as $phase |
           (if ["configure", "build", "runtime", "test", "develop"] | index($phase) then empty
            else "prereqs phase \($phase)" end),
           (.value | to_entries[] | .key as $rel |
              (if ["requires", "recommends", "suggests", "conflicts"] | index($rel) then empty
               else "prereqs.\($phase).\($rel)" end),
              (.value | to_entries[] |
                 if (.value | type) == "string" and (.value | test("^([<>]=?|==|!=)?\\s*[0-9]"))
                 then empty else "prereqs.\($phase).\($rel).\(.key)" end)))
     else empty end),
    (if has("release_status") then
        (.release_status as $r | if ["stable", "testing", "unstable"] | index($r) then empty
                                 else "release_status \($r)" end)
     else empty end)
  ] | .[]' META.json)
[ -z "$problems" ] || fail "META.json breaks the PGXN meta spec: $(echo $problems)"
[ "$(jq -r .version META.json)" = "$version" ] ||
    fail "META.json's version is $(jq -r .version META.json), stockroute.control's $version"
[ "$(jq -r .provides.stockroute.version META.json)" = "$version" ] ||
    fail "META.json provides stockroute $(jq -r .provides.stockroute.version META.json), not $version"
file=$(jq -r .provides.stockroute.file META.json)
echo "$scripts" | tr ' ' '\n' | grep -qx "$(basename "$file")" || fail "META.json's provided file $file is not installed"
[ "$(dirname "$file")" = sql ] || fail "META.json's provided file $file is not in sql/"
pg=$(jq -r .prereqs.runtime.requires.PostgreSQL META.json)
[ "${pg%%.*}" = 15 ] || fail "META.json requires PostgreSQL $pg, not 15 or later"
echo "ok META.json: PGXN meta spec 1.0.0, stockroute $version"
