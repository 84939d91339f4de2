# bench/virtualenv.sh — sourced by bench/*/run.sh for their --virtualenv mode.
#
# bench_in_virtualenv SCRIPT [ARGS...]: run SCRIPT again inside a throwaway
# cluster (scripts/cluster.sh: UTF-8, a free port of its own, so concurrent
# throwaway clusters of other benchmarks and tests never collide).  It loads
# the extension installed in the server of pg_config (`make install`), or the
# one staged in $STOCKROUTE_STAGE when that is set.
bench_in_virtualenv() {
    local script=$1
    shift
    . "$(dirname "${BASH_SOURCE[0]}")/../scripts/cluster.sh"
    throwaway_cluster -- bash "$script" "$@"
    exit $?
}
