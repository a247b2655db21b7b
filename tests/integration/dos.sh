#!/usr/bin/env bash
# Integration test of denial of service: a stranger attacks gateway gw2,
# the gateway of a proxy server, or the server itself, at full strength
# while honest users go on (mixproxy-protocol(7), DENIAL OF SERVICE).  The nodes run with small link
# limits (max-links 200: 50 handshakes, 12 an address; 40 client links an
# address) so that a test can reach them.  For each attack the test
# prints the attacked process's CPU over the attack and the proxy's round
# trip beside the one without attack, and checks that:
#   - an honest client still attaches to gw2 and gets its mail exactly
#     once (tools/mpclient mailbox);
#   - an honest proxy session through gw2 is byte-exact;
#   - the attacked process keeps to its bounds and counts what it refused
#     or pushed out, and logs the cause once a second, not once a packet
#     or connection.
# Attacks (tools/mpclient):
#   1. keys: packets for 5,000 made-up keys, five times the strangers'
#      table, whose mail must not touch the clients' (issue 15, item 1);
#   2. hold: 200 client links from one address, reopened as fast as gw2
#      closes them (item 3);
#   3. hold --idle: 300 connections from one address that never say hello;
#   4. client links from five addresses, more than gw2 has: a layer-3 mix
#      that restarts still links to gw2 (clients have a class of their
#      own, which leaves handshakes and the nodes' links free);
#   5. steer: connections that never say hello, from four addresses, at
#      layer-1 mix mix1a, to make it look bad beside mix1b: routes still
#      go through both, well within the bound the route choice keeps to
#      (at most 32 to 1; item 6);
#   6. pin: 5,000 made-up sender tags write to the server, each first with
#      one reply block to learn the server's epoch for it, then naming it
#      with no block, so that the server owes acks it cannot send: more
#      than its table of 4,096 senders holds (item 4);
#   7. replay: a malicious gateway (tools/mpbadgw, with gw2's key) in
#      front of a second server plays every delivery to it twice more:
#      no reply block it used goes back into its stock, so no reply of it
#      dies as a replay at layer 1 (item 5).
# Out of descriptors (item 2) is nofile.sh's.
# integration-timeout: 300
# integration-quiet: the attacked processes' CPU and round trips are measured
set -u
. "$(dirname "$0")/lib/proxy.sh"

net net --fast --node-args "--max-links 200 --max-clients-per-address 40"
upstream echo
server srv "$up" "$topo" --fast -g gw2
client cli "$saddr" "$topo" --fast -g gw1
T=127.0.0.1:$cport
gw2_pid=$(cat "$dir/net/gw2.pid")
tck=$(getconf CLK_TCK)
# The attacked process: its name, pid, log and control socket.
victim() { vname=$1 vpid=$2 vlog=$3 vsock=$4; }
victim gw2 "$gw2_pid" "$dir/net/gw2.log" "$dir/net/gw2.sock"

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
p50() { "$mptcp" rtt "$T" --count 50 --timeout 60 | sed -n 's/.* p50_ms=\([0-9.]*\).*/\1/p'; }
metric() { # metric NAME [LABEL-MATCH] [SOCKET]: the victim's value of it
	metric_of "${3:-$vsock}" "$1" "${2:-}"
}

base_rtt=$(p50)
[ -n "$base_rtt" ] || { not_ok "round trip without attack"; finish dos; exit 1; }

# attack [--ends] [--after SECS | --ready] NAME COMMAND...: run the
# attack in the background, and after SECS (2), or once it says on
# stderr that it is "ready" (at full strength, however slow the machine),
# an honest client and a proxy session beside it.  The attack runs until SIGTERM, which it gets when they are
# done: it must still be running then, or they did not all run under it.
# With --ends, it ends by itself and what it did lasts (a table it
# filled).  Then the attack's output is in $dir/NAME.out, and the number
# of the victim's log lines since the start in $lines.
attack() {
	local ends=0 after=2 ready=0 name atk c0 c1 t0 t1 cpu under alive=1
	[ "$1" = --ends ] && { ends=1; shift; }
	[ "$1" = --after ] && { after=$2; shift 2; }
	[ "$1" = --ready ] && { ready=1; shift; }
	name=$1
	shift
	log0=$(wc -l <"$vlog")
	c0=$(cpu_ticks "$vpid") t0=$(date +%s.%N)
	"$@" >"$dir/$name.out" 2>"$dir/$name.err" &
	atk=$!
	pids+=($atk)
	if [ $ready = 1 ]; then
		for _ in $(seq 1200); do
			grep -q '^ready' "$dir/$name.err" 2>/dev/null && break
			kill -0 "$atk" 2>/dev/null || break
			sleep 0.1
		done
		check "$name: the attack reached full strength" \
			sh -c "grep '^ready' '$dir/$name.err' || { cat '$dir/$name.err'; exit 1; }"
	else
		sleep "$after"
	fi
	# The victim's own count of unfinished handshakes, the most of three
	# looks.
	hs_max=0
	for _ in 1 2 3; do
		n=$("$bin" show "$vsock" | sed -n 's/.* \([0-9]*\) in handshake$/\1/p')
		[ "${n:-0}" -gt "$hs_max" ] && hs_max=$n
		sleep 0.2
	done
	check "$name: an honest client attaches to gw2 and finds all its mail, once" \
		tools/mpclient mailbox -t "$topo" -n 200 --gw-a gw1 --gw-b gw2 --timeout 60
	check "$name: an honest proxy session is byte-exact" \
		"$mptcp" bulk "$T" --bytes 1048576 --timeout 60
	under=$(p50)
	if [ $ends = 0 ]; then
		kill -0 "$atk" 2>/dev/null || alive=0
		kill -TERM "$atk" 2>/dev/null
	fi
	if await "$atk" && [ $alive = 1 ]; then
		ok "$name: the attack ran: $(tr "\n" " " <"$dir/$name.out")"
	elif [ $alive = 0 ]; then
		not_ok "$name: the attack ended before the honest checks did:" \
			"$(cat "$dir/$name.out" "$dir/$name.err")"
	else
		not_ok "$name: the attack did not run: $(cat "$dir/$name.out" "$dir/$name.err")"
	fi
	sleep 1
	c1=$(cpu_ticks "$vpid") t1=$(date +%s.%N)
	cpu=$(awk -v c="$((c1 - c0))" -v k="$tck" -v a="$t0" -v b="$t1" \
		'BEGIN { printf "%.0f", 100 * c / k / (b - a) }')
	asecs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%d", b - a + 1 }')
	echo "# $name: $vname used ${cpu}% of a core over the attack; proxy round trip p50" \
		"${base_rtt} ms without, ${under:-?} ms under it"
	lines=$(( $(wc -l <"$vlog") - log0 ))
}
# logged NAME PATTERN: the victim's log since the attack began has the
# cause, and a few lines a second at most, however long the attack ran
# (it lasts as long as the honest checks beside it): 4 a second and 10,
# where a line a packet or a connection would be thousands.
logged() {
	local w
	w=$(tail -n "+$((log0 + 1))" "$vlog" | grep -c "$2")
	check "$1: $vname logs the cause once a second" \
		awk -v n="$lines" -v w="$w" -v s="$asecs" 'BEGIN {
			printf "%d lines in %d s, %d of them the cause", n, s, w
			exit !(w >= 1 && n <= 4 * s + 10) }'
}
# since NOW BEFORE: how much a counter of gw2 grew from BEFORE to NOW
since() { echo $(( ${1%.*} - ${2%.*} )); }

# ---- 1. made-up keys ----
e0=$(metric strangers_evicted_total)
attack --ends keys tools/mpclient keys -t "$topo" -n 5000 --rate 1000 --gw-a gw1 --gw-b gw2 --timeout 120
strangers=$(metric strangers) smail=$(metric stranger_mailbox_deliveries)
evicted=$(since "$(metric strangers_evicted_total)" "$e0")
check "keys: gw2 keeps to its bounds, counts what it pushed out" \
	awk -v s="$strangers" -v m="$smail" -v e="$evicted" 'BEGIN {
		printf "strangers %d of 1000, their mail %d of 2000, pushed out %d", s, m, e
		exit !(s <= 1000 && m <= 2000 && e >= 3500) }'
check "keys: gw2 refused no client, forgot none" \
	test "$(metric clients_forgotten_total)" = 0 -a \
	"$(metric packets_dropped_total 'reason="no_client_slot"')" = 0
logged keys "never attached at its bound"

# ---- 2. client links from one address ----
r0=$(metric client_links_refused_total)
attack hold tools/mpclient hold -t "$topo" -n 200 --gw-b gw2 --from 127.0.0.2 --seconds 600
held() { sed -n 's/.*"held":\([0-9]*\).*/\1/p' "$dir/$1.out"; }
check "hold: the address holds at most 40 client links" \
	awk -v h="$(held hold)" 'BEGIN { printf "%d held", h; exit !(h >= 1 && h <= 40) }' 
check "hold: gw2 counted the links it refused" \
	awk -v r="$(since "$(metric client_links_refused_total)" "$r0")" \
		'BEGIN { printf "%d", r; exit !(r >= 160) }'
logged hold "client links at their bound"

# ---- 3. connections that never say hello, from one address ----
o0=$(metric links_over_max_total)
attack idle tools/mpclient hold -t "$topo" --idle -n 300 --gw-b gw2 --from 127.0.0.3 --seconds 600
check "idle: gw2 holds at most 12 unfinished handshakes from the address" \
	awk -v h="$hs_max" 'BEGIN { printf "%d at most", h; exit !(h >= 1 && h <= 12) }' 
check "idle: gw2 counted the connections it refused" \
	awk -v r="$(since "$(metric links_over_max_total)" "$o0")" \
		'BEGIN { printf "%d", r; exit !(r >= 288) }'
logged idle "handshakes open"

# ---- 4. every client link taken, from five addresses: a mix still links ----
tools/mpclient hold -t "$topo" -n 200 --gw-b gw2 --seconds 600 \
	--from 127.0.0.4,127.0.0.5,127.0.0.6,127.0.0.7,127.0.0.8 >"$dir/fill.out" 2>&1 &
fill=$!
pids+=($fill)
sleep 4
# A layer-3 mix links to a gateway when it has a delivery for it: the
# proxy session's packets to the server give it some.
mix_ups() { grep -c "from mix3a (.*): up" "$dir/net/gw2.log"; }
before=$(mix_ups) refused0=$(metric client_links_refused_total)
tools/localnet kill "$dir/net" mix3a KILL
tools/localnet restart "$dir/net" mix3a >/dev/null
sleep 2
check "fill: the proxy session through gw2 still works" \
	"$mptcp" bulk "$T" --bytes 1048576 --timeout 60
links=$("$bin" show "$dir/net/gw2.sock" | grep '^links in:')
check "fill: gw2's client links all taken, a restarted layer-3 mix links to it again" \
	sh -c "echo '$links; mix3a up $(mix_ups) times'; test $(mix_ups) -gt $before"
full=$(( $(metric client_links_refused_total) - refused0 ))
check "fill: meanwhile clients were refused for want of client links" \
	awk -v r="$full" 'BEGIN { printf "%d refused", r; exit !(r > 0) }'
check "fill: the links were held throughout" kill -0 "$fill"
stop "$fill"

# ---- 5. a layer-1 mix made to look bad ----
victim mix1a "$(cat "$dir/net/mix1a.pid")" "$dir/net/mix1a.log" "$dir/net/mix1a.sock"
fresh() { metric replay_fresh_total '' "$dir/net/$1.sock"; }
a0=$(fresh mix1a) b0=$(fresh mix1b)
attack steer tools/mpclient hold -t "$topo" --idle --target mix1a -n 400 --seconds 600 \
	--from 127.0.0.9,127.0.0.10,127.0.0.11,127.0.0.12
check "steer: routes still go through the attacked mix, within the bound" \
	awk -v a="$(since "$(fresh mix1a)" "$a0")" -v b="$(since "$(fresh mix1b)" "$b0")" 'BEGIN {
		printf "layer 1: mix1a %d packets, mix1b %d", a, b
		exit !(a + b > 500 && 33 * a >= a + b && 33 * b >= a + b) }'
logged steer "handshakes open"

# ---- 6. the server's table of anonymous senders, pinned ----
victim srv "$spid" "$dir/srv.log" "$dir/srv.sock"
e0=$(metric senders_evicted_total)
# The honest checks run once every tag has asked and most learned their
# epoch.
attack --ready pin tools/mpclient pin -t "$topo" --to "$saddr" -n 5000 --rate 1000 --gw-a gw1 \
	--seconds 600
check "pin: the server holds at most 4,096 senders and pushed out the least useful" \
	awk -v s="$(metric senders)" -v e="$(since "$(metric senders_evicted_total)" "$e0")" 'BEGIN {
		printf "%d held, %d pushed out", s, e; exit !(s <= 4096 && e >= 904) }'
logged pin "anonymous senders at their bound"

# ---- 7. a malicious gateway plays deliveries again ----
# A second server attaches to gw2 through tools/mpbadgw, which holds
# gw2's key and the server's; a client of its own writes to it.
bport=$(pick_port) || exit 1
gaddr=$(awk '$1 == "gw2" { print $3 }' "$topo")
sed "s|^gw2 gateway $gaddr |gw2 gateway 127.0.0.1:$bport |" "$topo" >"$dir/bad.topology"
server srv2 "$up" "$dir/bad.topology" --fast -g gw2
tools/mpbadgw "127.0.0.1:$bport" -t "$topo" --gateway gw2 --gateway-key "$dir/net/gw2.key" \
	--client-key "$dir/srv2/identity.key" >"$dir/badgw.out" 2>"$dir/badgw.err" &
bad=$!
pids+=($bad)
client cli2 "$saddr" "$topo" --fast -g gw1
T=127.0.0.1:$cport
victim srv2 "$spid" "$dir/srv2.log" "$dir/srv2.sock"
layer1_replays() {
	local n=0 m
	for m in $(awk '$2 == "mix" && $3 == 1 { print $1 }' "$topo"); do
		n=$((n + $(metric packets_dropped_total 'reason="replay"' "$dir/net/$m.sock")))
	done
	echo "$n"
}
check "replay: a session through the malicious gateway before it replays" \
	"$mptcp" sizes "$T" --sizes 100,30000 --timeout 30
base_rtt=$(p50)
r0=$(metric packets_repeated_total) l0=$(layer1_replays)
kill -USR1 "$bad"
attack --ends replay true
check "replay: the server took no delivery twice, and no reply of it died as a replay" \
	awk -v r="$(since "$(metric packets_repeated_total)" "$r0")" \
		-v l="$(( $(layer1_replays) - l0 ))" 'BEGIN {
		printf "%d deliveries dropped as taken before; replies dropped at layer 1: %d", r, l
		exit !(r >= 100 && l == 0) }'
logged replay "taken before"
stop "$bad"
check "replay: the malicious gateway played deliveries again" \
	sh -c "cat '$dir/badgw.out' | tail -n 1; grep -q '\"played_again\":[1-9]' '$dir/badgw.out'"

finish dos
