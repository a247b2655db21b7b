#!/usr/bin/env bash
# linkwire.sh — what an observer of the client's or the server's network
# sees of their links to gateways: the proxy's client and server reach the
# gateways through a recording relay (tools/mprelay), and the recordings
# must hold no identity key (raw or Base58), no gateway key, and no fixed
# bytes: two handshakes share nothing, and no 8 bytes in a row occur twice.
# Then a recorded connection is played again to its gateway: it must not
# come up.
set -u
. "$(dirname "$0")/lib/proxy.sh"
relay=tools/mprelay
rec=$dir/rec
mkdir -p "$rec"

net net
upstream echo

# A relay in front of each gateway, for the proxy's processes only: they
# get a topology whose gateway lines name the relays; the nodes keep the
# real one.
relayed=$dir/relayed.topology
cp "$topo" "$relayed"
for gw in gw1 gw2; do
	gaddr=$(awk -v n="$gw" '$1 == n { print $3 }' "$topo")
	rport=$(pick_port) || exit 1
	"$relay" relay "127.0.0.1:$rport" "$gaddr" "$rec" "$gw" >"$dir/relay.$gw.log" 2>&1 &
	pids+=($!)
	raddr=
	for _ in $(seq 50); do
		raddr=$(sed -n 's/^listening addr=//p' "$dir/relay.$gw.log")
		[ -n "$raddr" ] && break
		sleep 0.1
	done
	[ -n "$raddr" ] || { not_ok "relay for $gw did not start"; exit 1; }
	sed -i "s|^$gw gateway $gaddr |$gw gateway $raddr |" "$relayed"
done

server srv "$up" "$relayed" --fast
srv1=$spid
client cli "$saddr" "$relayed" --fast
check "a session through the relays, byte-exact" \
	"$mptcp" sizes "127.0.0.1:$cport" --sizes 100,2000,30000 --timeout 20
# The server again (and a client that knows it restarted): its identity
# makes its handshakes anew.
stop "$srv1" "$cpid"
server srv "$up" "$relayed" --fast
client cli2 "$saddr" "$relayed" --fast
check "a session after the server's restart" \
	"$mptcp" sizes "127.0.0.1:$cport" --sizes 100,2000 --timeout 30
stop "$spid" "$cpid"

# What the recordings must not hold: the server's identity (its address
# is KEY@GATEWAY) and every key of the topology (the gateways' included:
# a responder's key is never sent either).
keys=("${saddr%@*}")
while read -r _ _ rest; do
	k=${rest##* }
	[ -n "$k" ] && keys+=("$k")
done < <(grep -v '^#' "$topo")
n_up=$(ls "$rec"/*.up 2>/dev/null | wc -l)
check "the recordings ($n_up connections) hold no key and no fixed bytes" \
	"$relay" scan "$rec" "${keys[@]}"

# A recorded connection, played again to its gateway: the hello is
# answered (a gateway cannot tell a replay), but the recorded confirming
# frame fails under the new keys, and the gateway says so.
replayed() {
	local f gw gaddr host port before after
	f=$(ls -S "$rec"/gw*.up | head -n 1)
	gw=$(basename "$f" | cut -d. -f1)
	gaddr=$(awk -v n="$gw" '$1 == n { print $3 }' "$topo")
	host=${gaddr%:*} port=${gaddr##*:}
	before=$(grep -c "authentication failed" "$dir/net/$gw.log")
	# Hold the connection open a moment after the bytes, as a replayer
	# would; the gateway answers, then refuses the frame.
	(cat "$f"; sleep 1) >"/dev/tcp/$host/$port" 2>/dev/null
	sleep 0.2
	after=$(grep -c "authentication failed" "$dir/net/$gw.log")
	echo "replayed $(basename "$f") ($(wc -c <"$f") bytes) to $gw: failures $before -> $after"
	[ "$after" -gt "$before" ]
}
check "a replayed connection does not come up" replayed

finish linkwire
