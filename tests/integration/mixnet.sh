#!/bin/sh
# Integration test of the mixnet: a real localnet of 8 nodes on loopback.
# Every check here would fail if its feature were missing: the counts come
# from the nodes' own counters and from what the receiving client opened.
# integration-quiet: it measures the mean delay of the mixes
set -u
cd "$(dirname "$0")/../.." || exit 1
dir=$(mktemp -d /tmp/mixproxy-mixnet.XXXXXX)

inj=
cleanup() {
	# The injector, if the script was stopped while it waited.
	[ -n "$inj" ] && kill "$inj" 2>/dev/null
	[ -f "$dir/pids" ] && tools/localnet stop "$dir" >/dev/null 2>&1
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

. tests/integration/lib/tap.sh
check() { # check DESCRIPTION COMMAND...: passes when COMMAND exits 0
	d=$1; shift
	if out=$("$@" 2>"$dir/err"); then ok "$d"; else not_ok "$d: $out $(tail -n 3 "$dir/err")"; fi
}
json() { # json KEY: value of KEY in $out
	echo "$out" | sed -n "s/.*\"$1\":\([0-9.]*\).*/\1/p"
}
wait_log() { # wait_log FILE PATTERN: until a line matches (5 s at most)
	i=0
	while ! grep -q "$2" "$1" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
	grep -q "$2" "$1"
}
counter() { # counter NODE NAME: the node's last logged value of NAME
	grep 'counters:' "$dir/$1.log" | tail -n 1 | sed -n "s/.*[{ ]$2=\([0-9]*\).*/\1/p"
}
sum_counter() { # sum_counter NAME NODE...
	name=$1; shift; t=0
	for n in "$@"; do t=$((t + $(counter "$n" "$name"))); done
	echo $t
}

tools/localnet start "$dir" --fast >/dev/null || { echo "not ok - localnet start"; exit 1; }
topo=$dir/topology

check "1000 packets client -> gw -> L1 -> L2 -> L3 -> gw -> client, each exactly once" \
	timeout 60 tools/mpclient pingpong -t "$topo" -n 1000 --rate 5000

check "an injected replay reaches the recipient once" \
	timeout 20 tools/mpclient inject -t "$topo" --kind replay
check "an injected tampered packet does not reach the recipient" \
	timeout 20 tools/mpclient inject -t "$topo" --kind tamper
tools/localnet counters "$dir" >/dev/null
r=$(sum_counter replay mix1a mix1b)
m=$(sum_counter mac mix1a mix1b)
[ "$r" = 1 ] && ok "layer 1 counted the replay (replay=$r)" || not_ok "replay counter is '$r', want 1"
[ "$m" = 1 ] && ok "layer 1 counted the tampered packet (mac=$m)" || not_ok "mac counter is '$m', want 1"

check "a stranger's node link is refused and delivers nothing" \
	timeout 20 tools/mpclient stranger -t "$topo" --target mix2a
tools/localnet counters "$dir" >/dev/null
[ "$(counter mix2a refused)" = 1 ] && ok "mix2a counted the refused link" ||
	not_ok "mix2a refused=$(counter mix2a refused)"
grep -q "refused: node key .* is not in the topology" "$dir/mix2a.log" &&
	ok "mix2a logged the stranger's key" || not_ok "no log line for the stranger"

check "mailbox: kept while the client is away, not readable by an impostor" \
	timeout 30 tools/mpclient mailbox -t "$topo" -n 50 --timeout 10
grep -q "handshake failed" "$dir"/gw*.log && ok "the gateway logged the impostor's failed handshake" ||
	not_ok "no handshake failure logged for the impostor"

# A node restart: links to it break and are re-opened on use.
tools/localnet kill "$dir" mix2a KILL
tools/localnet kill "$dir" mix2b KILL
sleep 0.3
out=$(timeout 10 tools/mpclient pingpong -t "$topo" -n 20 --timeout 2)
[ "$(json unique)" = 0 ] && ok "with layer 2 down nothing gets through" ||
	not_ok "packets passed a dead layer: $out"
tools/localnet restart "$dir" mix2a >/dev/null && tools/localnet restart "$dir" mix2b >/dev/null
check "after a restart of layer 2, 500 packets pass again exactly once" \
	timeout 60 tools/mpclient pingpong -t "$topo" -n 500 --rate 2000

# The replay memory outlives the process (mixproxy-protocol(7), REPLAY
# MEMORY): a packet captured before every mix is SIGKILLed and restarted
# is refused after, at layer 1, as a replay.  With the memory lost, layer
# 1 would pass it and only the exit gateway, which stays up, would stop it.
mixes="mix1a mix1b mix2a mix2b mix3a mix3b"
timeout 60 tools/mpclient inject -t "$topo" --kind replay --gw-a gw1 --gw-b gw2 \
	--wait-file "$dir/go" --timeout 30 >"$dir/inject.out" 2>"$dir/inject.err" &
inj=$!
i=0
while [ ! -e "$dir/go.sent" ] && [ $i -lt 300 ]; do sleep 0.05; i=$((i + 1)); done
for m in $mixes; do tools/localnet kill "$dir" $m KILL; done
for m in $mixes; do tools/localnet restart "$dir" $m >/dev/null; done
touch "$dir/go"
wait $inj
rc=$?
inj=
if [ $rc = 0 ]; then
	ok "a packet captured before all mixes were killed and restarted reaches the recipient once"
else
	not_ok "inject across the restart: $(cat "$dir/inject.out") $(tail -n 3 "$dir/inject.err")"
fi
tools/localnet counters "$dir" >/dev/null
r=$(sum_counter replay mix1a mix1b)
[ "$r" = 1 ] && ok "layer 1 refused it as a replay after its restart (replay=$r)" ||
	not_ok "layer 1 replay counter after the restart is '$r', want 1"
grep -q "replay file .*: not closed, this boot: all of it kept" "$dir/mix1a.log" &&
	ok "the restarted mixes said their replay memory was kept" ||
	not_ok "no replay file line in mix1a.log: $(grep 'replay file' "$dir/mix1a.log")"

# SIGHUP reloads the topology, and keeps the old one when the new is bad.
cp "$topo" "$dir/topology.good"
echo "# reloaded" >>"$topo"
tools/localnet kill "$dir" mix1a HUP
# mix1a must have read the good file before it is broken for mix1b.
wait_log "$dir/mix1a.log" "topology reloaded" && ok "SIGHUP reloads the topology" ||
	not_ok "no reload logged"
echo "broken line" >>"$topo"
tools/localnet kill "$dir" mix1b HUP
wait_log "$dir/mix1b.log" "reload failed, keeping the old one: .*line [0-9]*" &&
	ok "a bad topology on SIGHUP is refused with its line number" || not_ok "bad reload not logged"
cp "$dir/topology.good" "$topo"
check "the net still works after the reloads" \
	timeout 60 tools/mpclient pingpong -t "$topo" -n 200 --rate 2000

# Default timing: the delays the sender picked (mean 15 ms at each of 3
# mixes) and nothing else: mean within 20% of 3 x 15 ms + link overhead.
out=$(timeout 30 tools/mpclient pingpong -t "$topo" -n 300 --rate 500)
base=$(json lat_mean_us)
out=$(timeout 90 tools/mpclient pingpong -t "$topo" -n 1000 --rate 200 --delay-ms 15)
mean=$(json lat_mean_us)
if [ -n "$base" ] && [ -n "$mean" ] &&
   awk -v m="$mean" -v b="$base" 'BEGIN { e = 45000 + b; exit !(m > 0.8 * e && m < 1.2 * e) }'; then
	ok "mean delay ${mean} us with 15 ms/hop (expected 45000 + ${base} us overhead)"
else
	not_ok "mean delay '${mean}' us not within 20% of 45000 + '${base}' us: $out"
fi

tools/localnet stop "$dir" >/dev/null
finish mixnet
