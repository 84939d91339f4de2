#!/bin/sh
# Builds one of stockroute's scripts from the parts sql/manifest lists, in
# its order, to stdout (called by make; sql/README.md describes the layout):
#
#   scripts/build-sql.sh install VERSION          sql/stockroute--VERSION.sql
#   scripts/build-sql.sh update PREV VERSION      sql/stockroute--PREV--VERSION.sql
#
# Fails, naming the part, when the manifest lists a file that is missing, a
# kind it does not know or a file twice, when a .sql file under sql/ (other
# than the built and the frozen scripts) is not listed, or when a "replace"
# part has a CREATE that could not run again over the release before.
set -eu
cd "$(dirname "$0")/.."
manifest=sql/manifest

case "${1-}" in
    install) [ $# -eq 2 ] || { echo "usage: $0 install VERSION" >&2; exit 2; }
             version=$2 ;;
    update)  [ $# -eq 3 ] || { echo "usage: $0 update PREV VERSION" >&2; exit 2; }
             prev=$2; version=$3 ;;
    *)       echo "usage: $0 install VERSION | update PREV VERSION" >&2; exit 2 ;;
esac
script=$1

fail() { echo "$manifest: $*" >&2; exit 1; }

# the manifest's entries, "file kind [version]", without comments and blanks
entries=$(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$manifest")

# every part listed once and present; every source listed
listed=$(echo "$entries" | awk '{ print "sql/" $1 }')
dup=$(echo "$listed" | sort | uniq -d)
[ -z "$dup" ] || fail "listed more than once: $dup"
for f in $listed; do
    [ -f "$f" ] || fail "no such part: $f"
done
for f in $(find sql -name '*.sql' ! -path 'sql/stockroute--*' | sort); do
    echo "$listed" | grep -qxF "$f" || fail "$f is not listed: add it where it must run"
done

echo "$entries" | while read -r file kind v rest; do
    part=sql/$file
    [ -z "$rest" ] || fail "$file: one kind and at most one version expected"
    case $kind in
        replace)
            [ -z "$v" ] || fail "$file: replace takes no version"
            # a statement starts at the beginning of a line; CREATEs inside
            # function bodies are indented
            bad=$(grep -n '^CREATE ' "$part" |
                  grep -vE '^[0-9]+:CREATE OR REPLACE (FUNCTION|AGGREGATE|TRIGGER|VIEW) ' || true)
            [ -z "$bad" ] || fail "$file is a replace part, but this CREATE cannot run again over the release before (make it a create or delta part): $bad"
            use=yes ;;
        create)
            [ -n "$v" ] || fail "$file: create needs the version that introduced it"
            if [ "$script" = install ] || [ "$v" = "$version" ]; then use=yes; else use=no; fi ;;
        delta)
            [ -n "$v" ] || fail "$file: delta needs the version it updates to"
            if [ "$script" = update ] && [ "$v" = "$version" ]; then use=yes; else use=no; fi ;;
        *)
            fail "$file: unknown kind \"$kind\" (replace, create <version>, delta <version>)" ;;
    esac
    echo "$use $part"
done > "${TMPDIR:-/tmp}/build-sql.$$" || { rm -f "${TMPDIR:-/tmp}/build-sql.$$"; exit 1; }
parts=$(awk '$1 == "yes" { print $2 }' "${TMPDIR:-/tmp}/build-sql.$$")
rm -f "${TMPDIR:-/tmp}/build-sql.$$"

if [ "$script" = install ]; then
    echo "-- stockroute $version, install script.  Built by make from the parts"
    echo "-- sql/manifest lists; edit those, never this file."
    echo
    printf '%s\n' '\echo Use "CREATE EXTENSION stockroute" to load this file. \quit'
else
    echo "-- stockroute $prev -> $version, update script.  Built by make from the"
    echo "-- parts sql/manifest lists; edit those, never this file."
    echo
    printf '%s\n' '\echo Use "ALTER EXTENSION stockroute UPDATE" to load this file. \quit'
fi
for part in $parts; do
    echo
    echo "-- ---- $part"
    echo
    cat "$part"
done
