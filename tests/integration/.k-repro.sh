set -u
. "$(dirname "$0")/lib/proxy.sh"
echo_pair
start=$(date +%s)
check "conns" "$mptcp" bulk "$T" --conns ${CONNS:-1000} --bytes 65536 --timeout 240 &
bp=$!
( while kill -0 $bp 2>/dev/null; do sleep 10; kill -USR1 $srv_pid $cli_pid $(cat $dir/net/pids); done ) &
if [ -n "${PERF:-}" ]; then
( sleep 45; perf record -F 300 -g -p $cli_pid -o /tmp/cli.perf -- sleep 50 >/dev/null 2>&1 ) &
( sleep 45; perf record -F 300 -g -p $srv_pid -o /tmp/srv.perf -- sleep 50 >/dev/null 2>&1 ) &
fi
wait $bp
echo "secs $(( $(date +%s) - start ))"
rm -rf /tmp/rep; mkdir -p /tmp/rep/net
cp "$dir"/*.log /tmp/rep/; cp "$dir"/net/*.log /tmp/rep/net/
finish k
