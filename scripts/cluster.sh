# scripts/cluster.sh — sourced by the scripts that need a throwaway cluster.
#
#   throwaway_cluster [pg_virtualenv options ...] -- COMMAND [ARGS ...]
#
# Runs COMMAND inside a throwaway PostgreSQL cluster (pg_virtualenv -t, PG*
# set, removed on exit) that is UTF-8 whatever LANG says, listens on a port
# no other cluster of the machine uses (so concurrent runs never collide),
# and, when STOCKROUTE_STAGE names a directory the extension was installed
# into with `make install DESTDIR=...`, loads the extension from there
# (Debian's extension_destdir, as pg_buildext does) instead of the system's.
throwaway_cluster() {
    local port=5460 opts=() libdir
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
    pg_virtualenv -t -c "-p $port --locale=C.UTF-8" "${opts[@]}" "$@"
}
