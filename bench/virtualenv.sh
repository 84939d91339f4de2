# bench/virtualenv.sh — sourced by bench/*/run.sh for their --virtualenv mode.
#
# bench_in_virtualenv SCRIPT [ARGS...]: run SCRIPT again inside a throwaway
# cluster.  -t and a free port of its own, so concurrent throwaway clusters
# (other benchmarks and tests) collide neither on the cluster name nor on
# the port.
bench_in_virtualenv() {
    local script=$1 port=5460
    shift
    while [ $port -lt 5499 ] && { (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null ||
            [ -e "/var/run/postgresql/.s.PGSQL.$port" ]; }; do
        port=$((port + 1))
    done
    exec pg_virtualenv -t -c "-p $port --locale=C.UTF-8" bash "$script" "$@"
}
