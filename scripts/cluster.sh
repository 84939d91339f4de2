# scripts/cluster.sh — sourced by the scripts that need a throwaway cluster.
#
#   stage_extension
#
# Installs the build into a fresh staging directory, as pg_buildext does
# (`make install DESTDIR=...`), exports STOCKROUTE_STAGE naming it and
# removes it when the calling script exits: no root needed, nothing of the
# machine's own installation touched, and concurrent runs of different
# checkouts never load each other's build.  The directory lives under /tmp,
# readable by the server's user whatever the checkout's path.
#
#   throwaway_cluster [pg_virtualenv options ...] -- COMMAND [ARGS ...]
#
# Runs COMMAND inside a throwaway PostgreSQL cluster (pg_virtualenv -t, PG*
# set, removed on exit) that is UTF-8 whatever LANG says, listens on a port
# no other cluster of the machine uses (so concurrent runs never collide),
# and, when STOCKROUTE_STAGE names a directory the extension was installed
# into with `make install DESTDIR=...`, loads the extension from there
# (Debian's extension_destdir, as pg_buildext does) instead of the system's.
# Under faketime (`faketime '+400 days' make test`, test/README.md) the
# server keeps the shifted clock too: pg_ctlcluster starts it with an empty
# environment but for the cluster's environment file, so faketime's two
# variables go there.
throwaway_cluster() {
    local port=5460 opts=() libdir create envfile="" rc
    while [ $# -gt 0 ] && [ "$1" != "--" ]; do
        opts+=("$1")
        shift
    done
    [ $# -gt 0 ] && shift
    while [ $port -lt 5599 ] && { (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null ||
            [ -e "/var/run/postgresql/.s.PGSQL.$port" ] || [ -e "/tmp/.s.PGSQL.$port" ]; }; do
        port=$((port + 1))
    done
    if [ -n "${STOCKROUTE_STAGE:-}" ]; then
        libdir=$(pg_config --pkglibdir)
        opts+=(-o "extension_destdir=$STOCKROUTE_STAGE"
               -o "dynamic_library_path=$STOCKROUTE_STAGE$libdir:\$libdir")
    fi
    create="-p $port --locale=C.UTF-8"
    if [ -n "${FAKETIME:-}" ] && [ -n "${LD_PRELOAD:-}" ]; then
        envfile=$(mktemp /tmp/stockroute-env.XXXXXX)
        chmod 644 "$envfile"
        printf "LD_PRELOAD = '%s'\nFAKETIME = '%s'\n" "$LD_PRELOAD" "$FAKETIME" > "$envfile"
        create="$create --environment=$envfile"
    fi
    rc=0
    pg_virtualenv -t -c "$create" "${opts[@]}" "$@" || rc=$?
    [ -z "$envfile" ] || rm -f "$envfile"
    return $rc
}

stage_extension() {
    STOCKROUTE_STAGE=$(mktemp -d /tmp/stockroute-stage.XXXXXX)
    export STOCKROUTE_STAGE
    chmod 755 "$STOCKROUTE_STAGE"
    trap 'rm -rf "$STOCKROUTE_STAGE"' EXIT
    make -s install DESTDIR="$STOCKROUTE_STAGE" >/dev/null
}
