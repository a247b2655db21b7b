#!/bin/sh
# Integration test of the mixnet client (src/mixclient) over a real
# localnet whose nodes drop 10% and duplicate 5% of what they receive.
# Not run beside other scripts (integration-parallel): at 10% loss a
# node with half the mixes dead, its checks are near the edge of what
# 30 tries do, and load makes it worse (the dead-mix check failed 1 run
# in 8 with 4 copies of this script running at once).
set -u
cd "$(dirname "$0")/../.." || exit 1
dir=$(mktemp -d /tmp/mixproxy-mixclient.XXXXXX)
cleanup() {
	[ -f "$dir/pids" ] && tools/localnet stop "$dir" >/dev/null 2>&1
	rm -rf "$dir"
}
trap cleanup EXIT INT TERM
. tests/integration/lib/tap.sh
run() { # run DESCRIPTION COMMAND...: passes when COMMAND exits 0
	d=$1; shift
	if out=$("$@" 2>"$dir/err"); then ok "$d"; else not_ok "$d: $out $(grep -v 'given up' "$dir/err" | tail -n 3)"; fi
}

tools/localnet start "$dir" --fast --node-args "--test-drop 0.1 --test-duplicate 0.05" >/dev/null ||
	{ echo "not ok - localnet start"; exit 1; }
topo=$dir/topology

# Exactly once both ways; replies through reply blocks; B never sees A's key
# (mpmix checks every message it is handed and what it says of the sender).
run "1000 messages each way with 10% loss and 5% duplication at every node" \
	timeout 120 tools/mpmix exchange -t "$topo" --fast -n 1000 --replies --timeout 110

# The same while one mix of each layer is SIGKILLed in the middle.
timeout 150 tools/mpmix exchange -t "$topo" --fast -n 1000 --replies --timeout 140 \
	>"$dir/kill.out" 2>"$dir/kill.err" &
mp=$!
sleep 4
tools/localnet kill "$dir" mix1a KILL
tools/localnet kill "$dir" mix2b KILL
tools/localnet kill "$dir" mix3a KILL
if wait $mp; then ok "the same with one mix of each layer killed mid-run"
else not_ok "with dead mixes: $(cat "$dir/kill.out") $(grep -v 'given up' "$dir/kill.err" | tail -n 3)"; fi

# Both clients on gw1, which is SIGKILLed and restarted mid-run: they
# re-attach (with backoff) and what was lost is sent again.
timeout 150 tools/mpmix exchange -t "$topo" --fast -n 1000 --replies --timeout 140 \
	--gw-a gw1 --gw-b gw1 >"$dir/gw.out" 2>"$dir/gw.err" &
mp=$!
sleep 2
tools/localnet kill "$dir" gw1 KILL
sleep 1
tools/localnet restart "$dir" gw1 >/dev/null
if wait $mp; then ok "clients re-attach after their gateway restarts; nothing lost"
else not_ok "gateway restart: $(cat "$dir/gw.out") $(grep -v 'given up' "$dir/gw.err" | tail -n 3)"; fi

# A stalled application: memory of both clients stops growing.
run "memory stays bounded while the receiving application refuses everything" \
	timeout 30 tools/mpmix stall -t "$topo" --fast --seconds 6

tools/localnet stop "$dir" >/dev/null
finish mixclient
