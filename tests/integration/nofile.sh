#!/usr/bin/env bash
# Integration test of daemons short of file descriptors: a gateway under
# `ulimit -n 96` (soft and hard, so it cannot raise it: 48 links, of which
# 16 are the nodes' and 2 clients', the server and an honest one; at 64
# the server's link would be its only client slot) while a stranger
# opens 100 idle connections to it, and a proxy client under `ulimit -n
# 100` with 60 local connections at once.  Each lowers its limit (max-links,
# --max-sessions) to what its descriptors allow and says so; what is over
# it is closed (one address may hold a quarter of the handshake slots; the
# rest of its connections are closed at once), counted and logged at most
# once a second; neither
# spins (their CPU is printed and bounded); the gateway keeps relaying a
# session (its round trip is printed beside the one without the crowd),
# takes an honest client's mail and hands it over exactly once, answers
# its control socket, and the client serves a connection once the crowd
# has gone.  This is the attack of issue 15, item 2 (dos.sh has the
# others).
# integration-timeout: 180
set -u
. "$(dirname "$0")/lib/proxy.sh"

# cpu PID: its CPU time so far, in clock ticks.
cpu() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
tck=$(getconf CLK_TCK)
# crowd HOST PORT N: N idle connections, held until killed (bash's own
# descriptors, not the daemon's: sleep inherits them).
crowd() {
	local i fds=()
	for i in $(seq "$3"); do
		exec {fd}<>"/dev/tcp/$1/$2" 2>/dev/null && fds+=("$fd")
	done
	echo "${#fds[@]}" >"$dir/crowd.n"
	exec sleep 600
}

net net --fast
gw1_port=$(awk '$1 == "gw1" { sub(/.*:/, "", $3); print $3 }' "$topo")
tools/localnet kill "$dir/net" gw1 KILL
started=$(grep -c " listening on " "$dir/net/gw1.log")
(ulimit -n 96 && tools/localnet restart "$dir/net" gw1) >/dev/null
gw1_pid=$(cat "$dir/net/gw1.pid")
# Its port opens before it has sized its tables (and said so): its
# start line, logged after, is the sign (5 s at most).
for _ in $(seq 50); do
	[ "$(grep -c " listening on " "$dir/net/gw1.log")" -gt "$started" ] && break
	sleep 0.1
done
if grep -q "max-links 4096 lowered to" "$dir/net/gw1.log"; then
	ok "gateway under ulimit -n 96: $(grep -o 'max-links 4096 lowered to [0-9]*' "$dir/net/gw1.log")"
else
	not_ok "gateway under ulimit -n 96 does not say it lowered max-links"
fi
max_links=$(grep -o 'max-links 4096 lowered to [0-9]*' "$dir/net/gw1.log" | awk '{ print $NF }')

# The server behind gw1, the client at gw2: their session crosses gw1.
upstream echo
server srv "$up" "$topo" --fast --gateway gw1
client cli "$saddr" "$topo" --fast --gateway gw2
T=127.0.0.1:$cport
check "a session through gw1 before the crowd" "$mptcp" bulk "$T" --bytes 262144 --timeout 60
p50() { "$mptcp" rtt "$T" --count 50 --timeout 60 | sed -n 's/.* p50_ms=\([0-9.]*\).*/\1/p'; }
base_rtt=$(p50)

# 100 idle connections from one address (not the honest users'): over its
# share of the handshake slots (a quarter of a quarter of max-links),
# every one but one, reopened as fast as gw1 closes them.
over_log='connection from .* refused\|handshake slots full'
# Refusals are logged once a second: localnet's probes of the port may have
# had one logged just now, and the crowd's first must not fall in its second.
sleep 1.1
lines0=$(grep -c "$over_log" "$dir/net/gw1.log") s0=$(date +%s)
# It holds on until the checks under it are done.
tools/mpclient hold -t "$topo" --idle --target gw1 -n 100 --from 127.0.0.5 --seconds 600 \
	>"$dir/crowd.out" 2>&1 &
crowd_pid=$!
pids+=($crowd_pid)
sleep 0.5
c0=$(cpu "$gw1_pid")
sleep 3
c1=$(cpu "$gw1_pid")
pct=$(( (c1 - c0) * 100 / (3 * tck) ))
echo "# gw1: CPU ${pct}% of a core over 3 s under the crowd"
if [ "$pct" -le 15 ]; then ok "gateway under the crowd: CPU ${pct}% of a core"; else
	not_ok "gateway under the crowd: CPU ${pct}% of a core (spinning?)"; fi
check "a session through gw1 under the crowd" "$mptcp" bulk "$T" --bytes 262144 --timeout 60
echo "# gw1: proxy round trip p50 ${base_rtt:-?} ms without the crowd, $(p50) ms under it"
check "an honest client attaches to gw1 under the crowd and finds all its mail, once" \
	tools/mpclient mailbox -t "$topo" -n 200 --gw-a gw2 --gw-b gw1 --timeout 60
if "$bin" show "$dir/net/gw1.sock" >"$dir/gw1.show"; then ok "gateway's control socket answers under the crowd"
else not_ok "gateway's control socket does not answer under the crowd"; fi
"$bin" show --metrics "$dir/net/gw1.sock" >"$dir/gw1.prom"
over=$(sed -n 's/^mixproxy_\(links_over_max\|handshakes_pushed\)_total[{ ].* \([0-9]*\)$/\2/p' \
	"$dir/gw1.prom" | awk '{ n += $1 } END { print n + 0 }')
lines=$(( $(grep -c "$over_log" "$dir/net/gw1.log") - lines0 )) secs=$(( $(date +%s) - s0 ))
echo "# gw1: max-links $max_links, $over connections closed over the handshake slots," \
	"$lines log lines in $secs s"
if [ "${over:-0}" -ge $((100 - max_links)) ] && [ "$lines" -ge 1 ] && [ "$lines" -le $((secs + 2)) ]; then
	ok "connections over the handshake slots counted ($over) and logged once a second ($lines lines)"
else
	not_ok "connections over the handshake slots: counted ${over:-none}, logged $lines lines"
fi
check "the crowd was there throughout" kill -0 "$crowd_pid"
stop "$crowd_pid"
check "the crowd held on" sh -c "cat '$dir/crowd.out'; grep -q '\"reopened\":[1-9]' '$dir/crowd.out'"

# A proxy client with 100 descriptors: 36 sessions at most (one each).
lport=$(pick_port) || exit 1
(ulimit -n 100 && exec "$bin" client -d -t "$topo" -s "$saddr" --listen-port "$lport" \
	--control "$dir/low.sock" --fast --gateway gw2 --client-pool-reserve 1 \
	>>"$dir/low.log" 2>&1) &
low_pid=$!
pids+=($low_pid)
wait_port "$lport" || { not_ok "client under ulimit -n 100 did not listen"; exit 1; }
if grep -q -- "--max-sessions 1024 lowered to" "$dir/low.log"; then
	ok "client under ulimit -n 100: $(grep -o -- '--max-sessions 1024 lowered to [0-9]*' "$dir/low.log")"
else
	not_ok "client under ulimit -n 100 does not say it lowered --max-sessions"
fi
rm -f "$dir/crowd.n"
crowd 127.0.0.1 "$lport" 60 &
crowd_pid=$!
pids+=($crowd_pid)
for _ in $(seq 50); do [ -s "$dir/crowd.n" ] && break; sleep 0.1; done
# The sessions it took are work, not spinning: each an identity, its
# OPEN and its reply blocks (under AddressSanitizer, a good part of a
# second for 36 of them).  The bound is on the client once they are
# settled (all open, nothing pending), the crowd's other connections
# refused and still held: a loop that spins on what it cannot take (a
# listener out of descriptors) burns the core whatever the sessions do.
max=$(grep -o -- '--max-sessions 1024 lowered to [0-9]*' "$dir/low.log" | grep -o '[0-9]*$')
for _ in $(seq 200); do
	[ "$(metric_of "$dir/low.sock" sessions)" = "$max" ] &&
		[ "$(metric_of "$dir/low.sock" messages_pending)" = 0 ] && break
	sleep 0.1
done
echo "# low client: $(metric_of "$dir/low.sock" sessions) sessions open, $(metric_of "$dir/low.sock" messages_pending) messages pending"
c0=$(cpu "$low_pid")
sleep 3
c1=$(cpu "$low_pid")
pct=$(( (c1 - c0) * 100 / (3 * tck) ))
if [ "$pct" -le 15 ]; then ok "client under 60 connections: CPU ${pct}% of a core"; else
	not_ok "client under 60 connections: CPU ${pct}% of a core (spinning?)"; fi
check "the crowd was there throughout" kill -0 "$crowd_pid"
stop "$crowd_pid"
# The crowd's sessions end with their connections; then one is served.
sleep 1
check "a session through the client once the crowd has gone" \
	"$mptcp" bulk "127.0.0.1:$lport" --bytes 65536 --timeout 60
refused=$(grep -c "connection refused: --max-sessions reached" "$dir/low.log")
echo "# low client: $refused refusal lines logged for 60 connections over its limit"
if [ "$refused" -ge 1 ] && [ "$refused" -le 6 ]; then ok "refusals logged once a second"; else
	not_ok "refusals logged $refused times"; fi

finish nofile
