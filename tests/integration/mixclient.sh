#!/bin/sh
# Integration test of the mixnet client (src/mixclient) over real
# localnets whose nodes drop 10% and duplicate 5% of what they receive
# (two tries in three fail on live routes: a try and its ack pass ten
# nodes).  Messages are sent again until they get through, whatever that
# takes; each check prints the tries a message took on average.
#   - exactly once both ways, replies through reply blocks;
#   - one mix of each layer SIGKILLed mid-run (their gateways report
#     them unreachable);
#   - three of four mixes of each layer dead from the start (the clients
#     draw no route before their gateway's report of them);
#   - mixes that go silent (SIGSTOP: their links stay open, they forward
#     nothing), which only failed routes tell;
#   - churn: a mix of each layer killed and restarted, one after another;
#   - the clients' gateway SIGKILLed and restarted;
#   - memory bounded while the receiving application refuses everything.
# Its runs mostly wait on delays and timeouts (36 s of CPU in 68 s
# alone): a light script for run.sh, not a volume one.
# integration-timeout: 300
set -u
cd "$(dirname "$0")/../.." || exit 1
dir=$(mktemp -d /tmp/mixproxy-mixclient.XXXXXX)
nets= mp=
cleanup() {
	# An exchange still running (the script was stopped): its timeout
	# passes the signal on to mpmix.
	[ -n "$mp" ] && kill "$mp" 2>/dev/null
	for n in $nets; do
		# Stopped mixes first go on, so that they can stop.
		[ -f "$n/pids" ] && kill -CONT $(cat "$n/pids") 2>/dev/null
		tools/localnet stop "$n" >/dev/null 2>&1
	done
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
. tests/integration/lib/tap.sh

# net NAME ARGS: a lossy localnet in $dir/NAME; sets $net and $topo.
net() {
	net=$dir/$1
	shift
	tools/localnet start "$net" --fast --node-args "--test-drop 0.1 --test-duplicate 0.05" "$@" \
		>/dev/null || { echo "not ok - localnet start $*"; exit 1; }
	nets="$nets $net"
	topo=$net/topology
}

# tries OUTFILE: mean tries a message took, both ways (mpmix's JSON).
tries() {
	sed 's/[{},]/\n/g' "$1" | awk -F: '
		/"sent"/ { sent += $2 } /"retransmitted"/ { re += $2 }
		END { if (sent) printf "%.2f", (sent + re) / sent; else printf "?" }'
}

# exchange NAME DESCRIPTION MPMIX-ARGS...: in the background; wait with check.
exchange() {
	name=$1 desc=$2
	shift 2
	timeout 150 tools/mpmix exchange -t "$topo" --fast --replies --timeout 140 "$@" \
		>"$dir/$name.out" 2>"$dir/$name.err" &
	mp=$!
}
check() {
	if wait $mp; then
		ok "$desc: $(tries "$dir/$name.out") tries a message"
	else
		not_ok "$desc: $(cat "$dir/$name.out") $(tail -n 3 "$dir/$name.err")"
	fi
	mp=
}

net two

# Exactly once both ways; replies through reply blocks; B never sees A's key
# (mpmix checks every message it is handed and what it says of the sender).
exchange plain "1000 messages each way with 10% loss and 5% duplication at every node" -n 1000
check

exchange kill "the same with one mix of each layer SIGKILLed mid-run" -n 1000
sleep 2
tools/localnet kill "$net" mix1a KILL
tools/localnet kill "$net" mix2b KILL
tools/localnet kill "$net" mix3a KILL
check

# Churn: every mix killed and back in turn, while 2000 messages go.
for m in mix1a mix2b mix3a; do tools/localnet restart "$net" $m >/dev/null; done
exchange churn "2000 messages while a mix of each layer is killed and restarted in turn" -n 2000
for m in mix1a mix2a mix3a mix1b mix2b mix3b; do
	sleep 1
	tools/localnet kill "$net" $m KILL
	sleep 1
	tools/localnet restart "$net" $m >/dev/null
done
check

# Both clients on gw1, which is SIGKILLed and restarted mid-run: they
# re-attach (with backoff) and what was lost is sent again.
exchange gw "clients re-attach after their gateway restarts; nothing lost" -n 1000 \
	--gw-a gw1 --gw-b gw1
sleep 2
tools/localnet kill "$net" gw1 KILL
sleep 1
tools/localnet restart "$net" gw1 >/dev/null
check

# A stalled application: the memory of both clients stays within what
# their caps allow (a full window; every stock, ring and list full).
if out=$(timeout 30 tools/mpmix stall -t "$topo" --fast --seconds 6 2>"$dir/err"); then
	ok "memory stays bounded while the receiving application refuses everything: $out"
else
	not_ok "memory: $out $(tail -n 3 "$dir/err")"
fi

# Three of four mixes of each layer: dead from the start, then one live
# mix of each layer goes silent instead.  The clients attach at once, to
# gateways that have not yet tried every mix link: a gateway's first
# report waits until it has, and a client draws no route before it, or
# its first reply blocks would lead through the dead (mixedge.h).
net four --mixes 4
dead="mix1a mix1b mix1c mix2b mix2c mix2d mix3a mix3c mix3d"
for m in $dead; do
	tools/localnet kill "$net" $m KILL
done
exchange four "1000 messages with 3 of 4 mixes of each layer dead" -n 1000
check
for m in $dead; do
	tools/localnet restart "$net" $m >/dev/null
done
# Silent: half the mixes stopped, their links open and mute.  Nothing
# but failed routes tells.
for m in mix1a mix1b mix2c mix2d mix3a mix3b; do tools/localnet kill "$net" $m STOP; done
exchange silent "1000 messages with 2 of 4 mixes of each layer silent (SIGSTOP)" -n 1000
check
for m in mix1a mix1b mix2c mix2d mix3a mix3b; do tools/localnet kill "$net" $m CONT; done

finish mixclient
