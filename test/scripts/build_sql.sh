#!/usr/bin/env bash
# build_sql: scripts/build-sql.sh builds the install and update scripts from
# the parts sql/manifest lists, and only from them:
#  1. the install script has every replace and create part, in manifest
#     order; the update script every replace part, the create and delta parts
#     of the version it updates to and nothing else; each starts with its
#     \echo guard;
#  2. it refuses, naming the culprit, a part that is not listed, listed twice
#     or missing, an unknown kind, a create or delta without a version, and a
#     replace part with a CREATE that could not run again over the release
#     before (CREATE TABLE, CREATE FUNCTION without OR REPLACE);
#  3. a create part of an older version is left out of the update.
# Needs no server.
set -euo pipefail
cd "$(dirname "$0")/../.."
top=$(pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

version=$(sed -n "s/^default_version *= *'\(.*\)'/\1/p" stockroute.control)
prev=$(sed -n 's/^PREV_VERSION *= *//p' Makefile)

# the parts each script should have, read from the manifest independently of the script
expect() {   # install|update
    sed -e 's/#.*//' -e '/^[[:space:]]*$/d' sql/manifest |
        awk -v s="$1" -v v="$version" '
            $2 == "replace" { print "sql/" $1 }
            $2 == "create" && (s == "install" || $3 == v) { print "sql/" $1 }
            $2 == "delta" && s == "update" && $3 == v { print "sql/" $1 }'
}
got() { sed -n 's/^-- ---- //p' "$1"; }

# 1. the repository's own scripts
scripts/build-sql.sh install "$version" > "$work/install.sql"
scripts/build-sql.sh update "$prev" "$version" > "$work/update.sql"
for s in install update; do
    if ! diff <(expect $s) <(got "$work/$s.sql") > "$work/diff"; then
        fail "the $s script does not have the parts the manifest gives it, in its order:"
        cat "$work/diff"
    fi
done
n=$(expect install | wc -l)
[ "$n" -ge 10 ] || fail "only $n parts in the install script"
grep -qx '\\echo Use "CREATE EXTENSION stockroute" to load this file. \\quit' "$work/install.sql" ||
    fail "the install script has no CREATE EXTENSION guard"
grep -qx '\\echo Use "ALTER EXTENSION stockroute UPDATE" to load this file. \\quit' "$work/update.sql" ||
    fail "the update script has no ALTER EXTENSION guard"
# each part's text is there whole
while read -r part; do
    grep -qF -- "$(head -1 "$part")" "$work/install.sql" || fail "$part is not in the install script"
done < <(expect install)
grep -q '^delta' <(sed -e 's/#.*//' sql/manifest | awk '{print $2}') ||
    fail "the manifest has no delta part"
if got "$work/install.sql" | grep -q '^sql/upgrade/'; then
    fail "the install script runs a delta"
fi

# 2. and 3. a copy of the sources with one defect at a time
sandbox() {
    rm -rf "$work/tree"; mkdir -p "$work/tree/scripts"
    cp -r sql "$work/tree/sql"; cp scripts/build-sql.sh "$work/tree/scripts/"
}
refuses() {   # what, expected message part; builds both scripts in the sandbox
    local what=$1 want=$2 s
    for s in "install $version" "update $prev $version"; do
        # shellcheck disable=SC2086
        if "$work/tree/scripts/build-sql.sh" $s > /dev/null 2> "$work/err"; then
            fail "$what: build-sql.sh $s succeeded"
        elif ! grep -qF -- "$want" "$work/err"; then
            fail "$what: build-sql.sh $s said \"$(cat "$work/err")\", not \"$want\""
        fi
    done
}
first_replace=$(sed -e 's/#.*//' sql/manifest | awk '$2 == "replace" { print $1; exit }')

sandbox; echo 'SELECT 1;' > "$work/tree/sql/schema/99_stray.sql"
refuses "an unlisted part" "sql/schema/99_stray.sql is not listed"

sandbox; echo "$first_replace replace" >> "$work/tree/sql/manifest"
refuses "a part listed twice" "listed more than once: sql/$first_replace"

sandbox; echo "schema/98_gone.sql create $version" >> "$work/tree/sql/manifest"
refuses "a missing part" "no such part: sql/schema/98_gone.sql"

sandbox; sed -i "s|^$first_replace .*|$first_replace frob|" "$work/tree/sql/manifest"
refuses "an unknown kind" "unknown kind \"frob\""

sandbox; echo 'SELECT 1;' > "$work/tree/sql/schema/99_new.sql"
echo "schema/99_new.sql create" >> "$work/tree/sql/manifest"
refuses "a create part without a version" "schema/99_new.sql: create needs the version"

sandbox; printf 'CREATE TABLE stockroute.t (a int);\n' >> "$work/tree/sql/$first_replace"
refuses "CREATE TABLE in a replace part" "CREATE TABLE stockroute.t"

sandbox; printf 'CREATE FUNCTION stockroute.f() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;\n' \
    >> "$work/tree/sql/$first_replace"
refuses "CREATE FUNCTION without OR REPLACE in a replace part" "CREATE FUNCTION stockroute.f()"

# 3. create parts: the current version's go into the update, an older one's not
sandbox
echo '-- an old table' > "$work/tree/sql/schema/97_old.sql"
echo '-- a new table' > "$work/tree/sql/schema/97_new.sql"
printf 'schema/97_old.sql create 0.0.1\nschema/97_new.sql create %s\n' "$version" >> "$work/tree/sql/manifest"
"$work/tree/scripts/build-sql.sh" install "$version" > "$work/i2.sql"
"$work/tree/scripts/build-sql.sh" update "$prev" "$version" > "$work/u2.sql"
got "$work/i2.sql" | grep -qx 'sql/schema/97_old.sql' || fail "an old create part is not in the install script"
got "$work/i2.sql" | grep -qx 'sql/schema/97_new.sql' || fail "a new create part is not in the install script"
if got "$work/u2.sql" | grep -qx 'sql/schema/97_old.sql'; then fail "an old create part is in the update"; fi
got "$work/u2.sql" | grep -qx 'sql/schema/97_new.sql' || fail "a new create part is not in the update"

cd "$top"
if [ "$fails" -gt 0 ]; then
    echo "$fails failure(s)"
    exit 1
fi
echo "ok: build-sql.sh builds $version ($n install parts) and its update from $prev from sql/manifest, and refuses 7 defects"
