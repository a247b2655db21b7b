#!/usr/bin/env bash
# Integration test of the TCP proxy (mixproxy client and server) over a
# real localnet in the fast profile: what a session must do.  Each check is
# one the reference implementation would have failed (DESIGN.md section
# 3).  The traffic comes from tools/mptcp, which checks every byte against
# a seeded stream.  proxy-load.sh has the check of volume (1000
# sessions), proxy-adverse.sh a slow reader and a bulk under loss.
set -u
. "$(dirname "$0")/lib/proxy.sh"

echo_pair

# 1. The reference's example sizes, echoed byte-exact; the first answer
#    within a round trip (the reference stalled the first chunk ~7 s).
first_fast() {
	local out first
	out=$("$mptcp" sizes "$T" --sizes 158,1088,505,1001,150,200,3500,500,750,100 --timeout 20) || return 1
	first=$(echo "$out" | sed -n 's/.* first_ms=\([0-9.]*\).*/\1/p')
	echo "$out"
	awk -v f="$first" 'BEGIN { exit !(f < 500) }'
}
check "single connection: 10 messages of the reference's sizes, first answer at once" first_fast

# 2. Four connections at once, each its own answers.
multi() {
	local ps=() i rc=0
	for i in 1 2 3 4; do
		"$mptcp" sizes "$T" --sizes $((i * 100)),$((i * 333)),$((i * 1000)),$((i * 77)) \
			--timeout 30 >"$dir/multi.$i" 2>&1 &
		ps+=($!)
	done
	for i in "${ps[@]}"; do wait "$i" || rc=1; done
	cat "$dir"/multi.* | tr '\n' ' '
	return $rc
}
check "multistream: 4 concurrent connections x 4 messages" multi

# The measuring tool's held sessions (tools/bench proxy.rss_per_session_kib):
# rtt --hold keeps its connections open, idle, after its round trips, and
# ends well on SIGTERM; its new options refuse what they cannot do.
held() {
	local hp n rc
	"$mptcp" rtt "$T" --conns 3 --count 2 --hold --timeout 30 >"$dir/held" 2>&1 &
	hp=$!
	for _ in $(seq 300); do grep -q '^ok' "$dir/held" && break; sleep 0.1; done
	sleep 1
	local alive=0
	kill -0 "$hp" 2>/dev/null && alive=1
	n=$(metric_of "$dir/cli.sock" sessions)
	kill -TERM "$hp"
	wait "$hp"
	rc=$?
	echo "$(head -c 100 "$dir/held") still running 1 s later: $alive; client sessions=$n; exit=$rc"
	grep -q '^ok n=6 .* conns=3 ' "$dir/held" && [ $alive = 1 ] && [ "${n:-0}" -ge 3 ] && [ $rc = 0 ]
}
check "mptcp rtt --hold: 3 sessions held open after their round trips, exit 0 on SIGTERM" held
usage() { # usage ARGS...: mptcp exits 64 with one line on stderr
	"$mptcp" "$@" >/dev/null 2>"$dir/usage"
	local rc=$?
	cat "$dir/usage"
	[ $rc = 64 ] && [ "$(wc -l <"$dir/usage")" = 1 ]
}
check "mptcp --hold outside rtt: a usage error" usage bulk "$T" --bytes 1 --hold
check "mptcp rtt of over 100,000,000 round trips: a usage error" \
	usage rtt "$T" --count 100000 --conns 10000

# 3. Server-first upstream (SSH/SMTP-like banner).
upstream banner --text "SSH-2.0-mixproxy-test"
server srvb "$up" "$topo" --fast
client clib "$saddr" "$topo" --fast
check "a server-first upstream's banner reaches the client" \
	"$mptcp" banner-client "127.0.0.1:$cport" --text "SSH-2.0-mixproxy-test" --timeout 10
stop "$cpid" "$spid"

# 4. Half-close both ways: the client shuts down writing, the echo still
#    comes back in full, and EOF follows at once (not after a timeout).
half() {
	local out e
	out=$("$mptcp" halfclose "$T" --bytes 200000 --timeout 20) || return 1
	echo "$out"
	e=$(echo "$out" | sed -n 's/.* eof_ms=\([0-9.]*\).*/\1/p')
	awk -v e="$e" 'BEGIN { exit !(e < 2000) }'
}
check "half-close: upstream answers after the client's EOF; its EOF arrives promptly" half

# 5. Upstream refuses: the client's connection is reset within seconds and
#    both sides say why.
refused_port=$(pick_port) || exit 1
server srvr "127.0.0.1:$refused_port" "$topo" --fast
client clir "$saddr" "$topo" --fast
refused() {
	"$mptcp" expect-reset "127.0.0.1:$cport" --timeout 5 | grep 'how=reset' || return 1
	sleep 0.2
	grep -q "upstream .*refused" "$dir/srvr.log" && grep -q "reset by the server: upstream" "$dir/clir.log"
}
check "a refused upstream resets the client's connection; both sides log it" refused
stop "$cpid" "$spid"

# 6. Restart keeps the address.
a1=$(cat "$dir/srv/address")
stop "$cli_pid" "$srv_pid"
server srv "$echo_up" "$topo" --fast
if [ "$saddr" = "$a1" ]; then ok "the server keeps its address across a restart ($a1)"
else not_ok "address changed: $a1 -> $saddr"; fi
client cli2 "$saddr" "$topo" --fast
check "the restarted server serves new sessions" \
	"$mptcp" sizes "127.0.0.1:$cport" --sizes 10,2000,30 --timeout 20

# 7. Bad input: garbage on a session (a stranger writes to the server's
#     address) changes nothing for the others.
check "garbage from a stranger is dropped and logged while sessions go on" \
	bash -c "tools/mpjunk -t '$topo' --to '$saddr' -n 70 --fast --timeout 30 &&
		'$mptcp' sizes 127.0.0.1:$cport --sizes 100,5000 --timeout 20 &&
		grep -q 'dropped' '$dir/srv.log'"
stop "$cpid" "$spid"

# 8. A real client: curl through the proxy to an HTTP upstream.
upstream http --bytes 300000
server srvh "$up" "$topo" --fast
client clih "$saddr" "$topo" --fast
curl_ok() {
	local body size
	body=$(curl -sS -m 20 "http://127.0.0.1:$cport/hello") || return 1
	[ "$body" = "hello from upstream" ] || { echo "body: $body"; return 1; }
	size=$(curl -sS -m 20 -o /dev/null -w '%{http_code} %{size_download}' "http://127.0.0.1:$cport/big") ||
		return 1
	echo "$size"
	[ "$size" = "200 300000" ]
}
if command -v curl >/dev/null; then
	check "curl through the proxy gets the upstream's body" curl_ok
else
	not_ok "curl is not installed (tools/deps installs it)"
fi
stop "$cpid" "$spid"

finish proxy
