# lib/proxy.sh — what the proxy tests share (bash, sourced): a scratch
# directory, every process started recorded and killed at exit, the
# check helper, and starting upstreams (tools/mptcp), servers and clients.
# The caller sets nothing; it gets $dir, $bin, $mptcp and the functions.
cd "$(dirname "${BASH_SOURCE[0]}")/../../.." || exit 1
. tools/ports.sh
. tests/integration/lib/tap.sh
bin=${MIXPROXY:-src/mixproxy}
mptcp=tools/mptcp
dir=$(mktemp -d /tmp/mixproxy-proxy.XXXXXX)
pids=()
nets=()

cleanup() {
	# After a failed check, the last warnings of each proxy and the
	# sessions it reset, with why (their logs go with $dir).
	if [ "$fail" -gt 0 ]; then
		for f in "$dir"/*.log; do
			[ -f "$f" ] || continue
			grep -h "warning\|error\|: reset" "$f" | grep -v 'FAST PROFILE' | tail -n 8 |
				sed "s|^|# $(basename "$f"): |"
		done
	fi
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
	for n in "${nets[@]}"; do tools/localnet stop "$n" >/dev/null 2>&1; done
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

check() { # check DESCRIPTION COMMAND...: passes when COMMAND exits 0
	local d=$1 out
	shift
	if out=$("$@" 2>"$dir/err"); then ok "$d ($out)"; else not_ok "$d: $out $(tail -n 3 "$dir/err")"; fi
}

# net NAME [localnet args]: start a localnet in $dir/NAME; sets $topo.
net() {
	local name=$1
	shift
	tools/localnet start "$dir/$name" "$@" >/dev/null || { not_ok "localnet start $*"; exit 1; }
	nets+=("$dir/$name")
	topo=$dir/$name/topology
}

# upstream MODE ARGS...: start a tools/mptcp server on a free port; sets $up.
upstream() {
	local mode=$1 log=$dir/up.$RANDOM
	shift
	"$mptcp" "$mode" 127.0.0.1:0 "$@" >"$log" 2>&1 &
	pids+=($!)
	for _ in $(seq 50); do
		up=$(sed -n 's/^listening addr=//p' "$log")
		[ -n "$up" ] && return 0
		sleep 0.1
	done
	echo "upstream $mode did not start" >&2
	exit 1
}

# server NAME UPSTREAM TOPOLOGY ARGS...: sets $spid and $saddr; its
# control socket is $dir/NAME.sock.
server() {
	local name=$1 u=$2 t=$3 before
	shift 3
	# A restart appends to the same log: wait for one more line.
	before=$(grep -c "server address" "$dir/$name.log" 2>/dev/null)
	"$bin" server -d -t "$t" -c "$dir/$name" -u "$u" --control "$dir/$name.sock" "$@" \
		>>"$dir/$name.log" 2>&1 &
	spid=$!
	pids+=($spid)
	for _ in $(seq 100); do
		[ -s "$dir/$name/address" ] &&
			[ "$(grep -c "server address" "$dir/$name.log")" -gt "${before:-0}" ] && break
		sleep 0.1
	done
	saddr=$(cat "$dir/$name/address" 2>/dev/null)
}

# client NAME ADDRESS TOPOLOGY ARGS...: sets $cpid and $cport; its
# control socket is $dir/NAME.sock.
client() {
	local name=$1 a=$2 t=$3
	shift 3
	cport=$(pick_port) || exit 1
	"$bin" client -d -t "$t" -s "$a" --listen-port "$cport" --control "$dir/$name.sock" "$@" \
		>>"$dir/$name.log" 2>&1 &
	cpid=$!
	pids+=($cpid)
	wait_port "$cport" || { echo "client $name did not listen" >&2; exit 1; }
	sleep 0.3   # its pool attaches
}

# echo_pair: a localnet, an echo upstream, server "srv" and client "cli"
# (fast); sets $echo_up, $srv_pid, $cli_pid, $saddr and $T (the client's
# address).
echo_pair() {
	net net
	upstream echo
	echo_up=$up
	server srv "$echo_up" "$topo" --fast
	srv_pid=$spid
	client cli "$saddr" "$topo" --fast
	cli_pid=$cpid
	T=127.0.0.1:$cport
}

# metric_of SOCKET NAME [LABEL-MATCH]: a daemon's value of mixproxy_NAME,
# of the first series whose labels hold LABEL-MATCH if one is given.
metric_of() {
	"$bin" show --metrics "$1" |
		sed -n "s/^mixproxy_$2\({[^}]*${3:-}[^}]*}\)\{0,1\} \([0-9.e+]*\)$/\2/p" | head -n 1
}

# stop PID...: stop them and forget them (cleanup must not signal a pid
# the system may have given to another process since).
stop() {
	local p
	kill "$@" 2>/dev/null
	for p in "$@"; do wait "$p" 2>/dev/null; done
	forget "$@"
}
# await PID: wait for it and forget it; its exit status.
await() {
	wait "$1"
	local rc=$?
	forget "$1"
	return $rc
}
# forget PID...: they have ended and been waited for: cleanup must not
# signal their pids, which the system may have given to others since.
forget() {
	local p q keep=()
	for q in "${pids[@]}"; do
		for p in "$@"; do [ "$q" = "$p" ] && continue 2; done
		keep+=("$q")
	done
	pids=("${keep[@]}")
}
peak_kib() { sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\).*/\1/p' "/proc/$1/status"; }
