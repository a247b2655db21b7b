#!/usr/bin/env bash
# Integration test of the TCP proxy while nodes die and come back: a
# session must cost only time, never bytes, and never be reset while a
# route can carry it; when none can, it fails loudly and says why.
#   1. fast profile: 64 MiB downloaded through one session (the server
#      answers through the client's reply blocks) while a mix of each
#      layer is SIGKILLed and restarted, one after another;
#   2. default profile (Poisson sending, per-hop delays, cover): a
#      64 MiB upload (on routes the client picks) under the same churn,
#      with send slots every 1 ms at both ends and 5 ms a hop (at the
#      default timing, 20 ms slots, one connection carries about 90 KB/s:
#      64 MiB would take 12 minutes).  The server's gateway hands it
#      packets at twice its send rate (--receive-mean): a client whose
#      slots come faster than that only sends more cover, which took
#      half the CPU of the upload when the server's slots were 2 ms;
#   3. the client's and the server's gateways SIGKILLed and restarted in
#      the middle of a session;
#   4. every mix of layer 2 killed for good: the session is reset after
#      --peer-timeout, and both logs name the cause.
# Smaller: PROXY_CHURN_MIB (the fast profile's download),
# PROXY_CHURN_DEFAULT_MIB (the default profile's upload).
# integration-timeout: 600
# integration-parallel: 140
set -u
. "$(dirname "$0")/lib/proxy.sh"
mib=${PROXY_CHURN_MIB:-64}
bytes=$((mib * 1048576))
dmib=${PROXY_CHURN_DEFAULT_MIB:-64}
dbytes=$((dmib * 1048576))

# churn NET: in the background, kill and restart one mix after another
# (layers 1, 2, 3, then the other mix of each) until stopped; sets $churn.
churn() {
	local n=$1
	(
		trap 'exit 0' TERM
		while :; do
			for m in mix1a mix2a mix3a mix1b mix2b mix3b; do
				sleep 1.5
				tools/localnet kill "$n" $m KILL
				sleep 1
				tools/localnet restart "$n" $m >/dev/null
				echo "$m" >>"$n/churned"
			done
		done
	) &
	churn=$!
	pids+=($churn)
}
end_churn() {
	stop "$churn"
	churned=$(cat "$1/churned" 2>/dev/null | wc -l)
}

# 1. Fast profile: a download, which the server sends through the
#    client's reply blocks.
net fast
upstream source --bytes "$bytes" --seed 11
server sfast "$up" "$topo" --fast
client cfast "$saddr" "$topo" --fast
churn "$dir/fast"
out=$("$mptcp" recv "127.0.0.1:$cport" --bytes "$bytes" --seed 11 --timeout 300 2>"$dir/err")
rc=$?
end_churn "$dir/fast"
stop "$cpid" "$spid"
# recv checks every byte and fails on a reset.
if [ $rc = 0 ]; then
	ok "fast profile: $mib MiB down one session, byte-exact, no reset, while $churned mixes were killed and restarted ($out)"
else
	not_ok "fast profile download under churn: $out $(tail -n 2 "$dir/err")"
fi

# 2. Default profile: an upload, on routes the client picks.  The server
#    sends only acknowledgements, credit and cover.
net default
upstream sink
server sdef "$up" "$topo" --send-mean 1 --loop-mean 100 --delay-mean 5
client cdef "$saddr" "$topo" --send-mean 1 --loop-mean 100 --delay-mean 5
churn "$dir/default"
out=$("$mptcp" send "127.0.0.1:$cport" --bytes "$dbytes" --seed 12 --timeout 400 2>"$dir/err")
rc=$?
end_churn "$dir/default"
want=$("$mptcp" hash --bytes "$dbytes" --seed 12 | sed -n 's/.* hash=\([0-9a-f]*\).*/\1/p')
sleep 0.5
got=$(sed -n 's/^conn bytes=\([0-9]*\) hash=\([0-9a-f]*\) how=eof.*/\1 \2/p' "$dir"/up.* | tail -n 1)
stop "$cpid" "$spid"
if [ $rc = 0 ] && [ "$got" = "$dbytes $want" ]; then
	ok "default profile: $dmib MiB up one session, byte-exact at the upstream, no reset, while $churned mixes were killed and restarted ($out)"
else
	not_ok "default profile upload under churn: $out; upstream got '$got', want '$dbytes $want' $(tail -n 2 "$dir/err")"
fi

# 3. Gateways restart mid-session: the client attaches to gw1, the server
#    to gw2; each is killed and restarted while an echo of 8 MiB runs.
net gws
upstream echo
server sg "$up" "$topo" --fast -g gw2
client cg "$saddr" "$topo" --fast -g gw1
"$mptcp" bulk "127.0.0.1:$cport" --bytes $((8 * 1048576)) --timeout 120 >"$dir/gw.out" 2>&1 &
bp=$!
pids+=($bp)
sleep 1
tools/localnet kill "$dir/gws" gw1 KILL
sleep 1
tools/localnet restart "$dir/gws" gw1 >/dev/null
sleep 1
tools/localnet kill "$dir/gws" gw2 KILL
sleep 1
tools/localnet restart "$dir/gws" gw2 >/dev/null
if await $bp && [ "$(grep -c 'gateway link down' "$dir/sg.log")" -ge 1 ]; then
	ok "both gateways restarted in the middle of a session: it costs only time ($(cat "$dir/gw.out"))"
else
	not_ok "gateway restarts: $(cat "$dir/gw.out")"
fi
stop "$cpid" "$spid"

# 4. No route: every layer-2 mix dies for good.  The session is reset
#    (RST to the local socket) once its messages found no route for the
#    peer timeout, and each side's log says why.
net dead
upstream echo
server sd "$up" "$topo" --fast --peer-timeout 5
client cd "$saddr" "$topo" --fast --peer-timeout 5
"$mptcp" bulk "127.0.0.1:$cport" --bytes $((64 * 1048576)) --timeout 60 >"$dir/dead.out" 2>&1 &
bp=$!
pids+=($bp)
sleep 1
tools/localnet kill "$dir/dead" mix2a KILL
tools/localnet kill "$dir/dead" mix2b KILL
t0=$(date +%s)
await $bp
rc=$?
t=$(($(date +%s) - t0))
sleep 0.5
if [ $rc != 0 ] && grep -q 'reset\|Connection reset' "$dir/dead.out" &&
	grep -q 'could not be delivered: no mix of layer 2' "$dir/cd.log" && [ $t -le 30 ]; then
	ok "no live mix in layer 2: the session is reset after ${t} s; the client logs \"$(grep -o 'could not be delivered: no mix[^"]*' "$dir/cd.log" | head -n 1)\""
else
	not_ok "no route: rc=$rc after ${t} s: $(cat "$dir/dead.out"); client: $(grep -i 'reset\|deliver' "$dir/cd.log" | tail -n 2)"
fi
stop "$cpid" "$spid"

finish proxy-churn
