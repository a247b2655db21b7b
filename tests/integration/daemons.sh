#!/bin/sh
# The three daemons as a service manager runs them (systemd, procd): in
# the foreground (-d) with a config file (-f), on loopback.  SIGHUP and
# SIGTERM do what mixproxy(8), SIGNALS, says: the node reloads its
# topology and the client and server ignore SIGHUP; SIGTERM stops each
# with exit status 0 (a manager counts anything else as a failure).  The
# server refuses a config directory that others may get into or that it
# cannot write, in one line naming it.  A few seconds, no network.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tools/ports.sh
. tests/integration/lib/tap.sh
BIN=${MIXPROXY:-src/mixproxy}
dir=$(mktemp -d "${TMPDIR:-/tmp}/mixproxy-daemons.XXXXXX") || exit 1
pids=
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null; done
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

wait_log() { # wait_log FILE PATTERN: until a line matches (10 s at most)
	i=0
	while ! grep -q "$2" "$1" 2>/dev/null && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
	grep -q "$2" "$1"
}
# start NAME PATTERN COMMAND ARGS...: run the binary in the background,
# logging to $dir/NAME.log, its pid in $pid; it has started when a line
# of its log matches PATTERN.
start() {
	name=$1
	pattern=$2
	shift 2
	"$BIN" "$@" >"$dir/$name.log" 2>&1 &
	pid=$!
	pids="$pids $pid"
	wait_log "$dir/$name.log" "$pattern" && ok "$name: $1 starts with $2 $3" ||
		not_ok "$name: $1 did not start: $(tail -n 2 "$dir/$name.log")"
}
# stops NAME PID: SIGTERM stops it with exit status 0 within 10 s.
stops() {
	kill -TERM "$2"
	i=0
	while kill -0 "$2" 2>/dev/null && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
	if kill -0 "$2" 2>/dev/null; then
		not_ok "$1: still running 10 s after SIGTERM"
		return
	fi
	wait "$2"
	rc=$?
	[ "$rc" = 0 ] && ok "$1: SIGTERM stops it with exit status 0" ||
		not_ok "$1: exit status $rc after SIGTERM: $(tail -n 2 "$dir/$1.log")"
}
# survives_hup NAME PID: alive a moment after SIGHUP.
survives_hup() {
	kill -HUP "$2"
	sleep 0.3
	kill -0 "$2" 2>/dev/null && ok "$1: SIGHUP leaves it running" ||
		not_ok "$1: SIGHUP stopped it: $(tail -n 2 "$dir/$1.log")"
}

# A topology whose gateway runs; the mixes need not.
gwport=$(pick_port) || exit 1
"$BIN" keygen --id gw1 --role gateway --address "127.0.0.1:$gwport" "$dir/gw1.key" >"$dir/topology"
for l in 1 2 3; do
	"$BIN" keygen --id "mix$l" --role mix --layer $l --address "127.0.0.1:$(pick_port)" \
		"$dir/mix$l.key" >>"$dir/topology"
done

# --- node ---------------------------------------------------------------------
printf 'topology = %s\nkey-file = %s\n' "$dir/topology" "$dir/gw1.key" >"$dir/gw1.conf"
start gw1 "listening on" node -d -f "$dir/gw1.conf"
gw=$pid
survives_hup gw1 $gw
wait_log "$dir/gw1.log" "topology reloaded" && ok "node: SIGHUP reloads the topology" ||
	not_ok "node: no reload logged after SIGHUP"
# A bad topology on SIGHUP is refused, and the node goes on.
cp "$dir/topology" "$dir/topology.good"
echo "garbage" >>"$dir/topology"
kill -HUP $gw
wait_log "$dir/gw1.log" "reload failed" && kill -0 $gw 2>/dev/null &&
	ok "node: a bad topology on SIGHUP is refused and the node runs on" ||
	not_ok "node: bad reload: $(tail -n 2 "$dir/gw1.log")"
cp "$dir/topology.good" "$dir/topology"

# --- server -------------------------------------------------------------------
upport=$(pick_port) || exit 1
printf 'topology = %s\nconfig-dir = %s\nupstream-tcp-address = 127.0.0.1:%s\n' \
	"$dir/topology" "$dir/srv" "$upport" >"$dir/srv.conf"
start srv "server address" server -d -f "$dir/srv.conf"
survives_hup srv $pid
stops srv $pid

# --- client -------------------------------------------------------------------
cport=$(pick_port) || exit 1
printf 'topology = %s\nserver-address = %s\nlisten-port = %s\n' \
	"$dir/topology" "$(cat "$dir/srv/address")" "$cport" >"$dir/cl.conf"
start cl "client listening" client -d -f "$dir/cl.conf"
survives_hup cl $pid
stops cl $pid
stops gw1 $gw

# --- the server's config directory ----------------------------------------------
# refused DESC DIR WANT: the server refuses DIR with exit 73, in one line
# naming it and saying WANT.
refused() {
	"$BIN" server -d -t "$dir/topology" -c "$2" -u "127.0.0.1:$upport" >"$dir/out" 2>&1
	rc=$?
	if [ $rc = 73 ] && [ "$(wc -l <"$dir/out")" = 1 ] && grep -qF "$2" "$dir/out" &&
	   grep -qF "$3" "$dir/out"; then
		ok "server: $1 is refused: $(cat "$dir/out")"
	else
		not_ok "server: $1: exit $rc, $(cat "$dir/out")"
	fi
}
chmod 750 "$dir/srv"
refused "a config dir the group may read" "$dir/srv" "run chmod 700"
chmod 500 "$dir/srv"
refused "a config dir without write permission" "$dir/srv" "not writable"
chmod 700 "$dir/srv"
# As under systemd's ProtectSystem=strict: a read-only mount, where root
# too is refused.  Needs a mount namespace (root, and a kernel that lets
# us have one).
if unshare -m true 2>/dev/null; then
	unshare -m sh -c '
		mount --bind -o ro "$1" "$1" || exit 2
		"$2" server -d -t "$3" -c "$1" -u "127.0.0.1:$4"' \
		sh "$dir/srv" "$BIN" "$dir/topology" "$upport" >"$dir/out" 2>&1
	rc=$?
	if [ $rc = 73 ] && grep -qF "$dir/srv: directory is not writable: Read-only" "$dir/out"; then
		ok "server: a config dir on a read-only mount is refused: $(cat "$dir/out")"
	else
		not_ok "server: read-only config dir: exit $rc, $(cat "$dir/out")"
	fi
else
	ok "server: a config dir on a read-only mount not tried # skip: no mount namespace (unshare -m)"
fi

finish daemons
