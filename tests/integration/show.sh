#!/usr/bin/env bash
# Integration test of `mixproxy show` and the daemons' control sockets,
# over a real localnet (fast profile), a server in front of an echo
# upstream and a client, each with its control socket in the scratch
# directory: what show and show --metrics print for a node, the client
# and the server; that the figures move with traffic; that the metrics
# are well-formed Prometheus text; and that garbage, a too-long line,
# silence, a reader that never reads and a crowd of connections on a
# node's socket get their error or their close while the node keeps
# forwarding and answering.
set -u
. "$(dirname "$0")/lib/proxy.sh"

command -v socat >/dev/null || { echo "show: socat not installed: skipped"; exit 77; }

echo_pair
gw1=$dir/net/gw1.sock mix1a=$dir/net/mix1a.sock
cli=$dir/cli.sock srv=$dir/srv.sock

# ask SOCKET TEXT: send TEXT (printf format) to a control socket with
# socat, print what comes back.
ask() { printf "$2" | timeout 10 socat -t 5 - "UNIX-CONNECT:$1"; }
# answers SOCKET: show gets an answer from it.
answers() { "$bin" show "$1" >/dev/null; }
# sample FILE METRIC [LABEL]: a metric's value (the first sample with LABEL).
sample() { grep "^mixproxy_$2[{ ]" "$1" | grep -F -- "${3:-}" | head -n 1 | sed 's/.* //'; }
# sum_mixes METRIC: the sum of a metric over the six mixes.
sum_mixes() {
	local t=0 m v
	for m in mix1a mix1b mix2a mix2b mix3a mix3b; do
		"$bin" show --metrics "$dir/net/$m.sock" >"$dir/m.prom" || return 1
		v=$(sample "$dir/m.prom" "$1")
		t=$((t + ${v%.*}))
	done
	echo $t
}

# prom_ok FILE: the text exposition format 0.0.4 as written: each family
# one uninterrupted group behind one HELP and one TYPE, counters named
# _total, names and labels as the format allows, a float value, no
# sample twice, and a newline at the end.
prom_ok() {
	[ -s "$1" ] && [ "$(tail -c 1 "$1" | od -An -c | tr -d ' ')" = '\n' ] || {
		echo "empty, or no newline at the end"; return 1; }
	awk '
	function bad(m) { print "line " NR ": " m ": " $0; err = 1; exit 1 }
	function family(n) {
		if (n != cur) { if (n in seen) bad("family " n " split"); cur = n; seen[n] = 1 }
	}
	/^# HELP / { if ($3 in help) bad("second HELP"); help[$3] = 1; family($3); next }
	/^# TYPE / {
		if ($3 in type) bad("second TYPE")
		if ($4 != "counter" && $4 != "gauge") bad("type " $4)
		if ($4 == "counter" && $3 !~ /_total$/) bad("a counter not named _total")
		type[$3] = $4; family($3); next
	}
	/^#/ { next }
	{
		if (!match($0, /^[a-zA-Z_:][a-zA-Z0-9_:]*/)) bad("metric name")
		n = substr($0, 1, RLENGTH); rest = substr($0, RLENGTH + 1)
		if (n != cur || !(n in type) || !(n in help)) bad("a sample outside its family")
		if (rest ~ /^\{/) {
			if (!match(rest, /^\{[a-zA-Z_][a-zA-Z0-9_]*="[^"]*"(,[a-zA-Z_][a-zA-Z0-9_]*="[^"]*")*\}/))
				bad("labels")
			key = n substr(rest, 1, RLENGTH); rest = substr(rest, RLENGTH + 1)
		} else key = n
		if (key in samples) bad("the same sample twice")
		samples[key] = 1
		if (rest !~ /^ (-?[0-9]+(\.[0-9]+)?|NaN|[+-]Inf)$/) bad("value")
		count++
	}
	END { if (!err && !count) { print "no sample"; exit 1 } }' "$1"
}

# 1. Sockets: where they were asked for, 0600.
for s in "$gw1" "$mix1a" "$cli" "$srv"; do
	check "control socket $(basename "$s") is a socket, mode 600" \
		test "$(stat -c '%F %a' "$s")" = "socket 600"
done

# 2. What show prints.  A gateway links to every mix within a second of
# its start (its monitor of the mixes); until then a mix it has not
# needed yet is not listed, so ask until mix1a is up (10 s at most).
for _ in $(seq 100); do
	"$bin" show "$gw1" >"$dir/gw1.show"
	rc=$?
	grep -q "^  mix1a: up" "$dir/gw1.show" && break
	sleep 0.1
done
check "show of a gateway exits 0" test $rc = 0
check "... with its id, role, key and links" grep -q "^node: gw1$" "$dir/gw1.show"
check "... role" grep -q "^  role: gateway$" "$dir/gw1.show"
check "... key" grep -qE "^  public key: [1-9A-HJ-NP-Za-km-z]{43,44}$" "$dir/gw1.show"
check "... outgoing links by peer" grep -q "^  mix1a: up, [0-9]* queued$" "$dir/gw1.show"
check "... incoming links by kind" grep -q "^links in: [0-9]* from nodes, [0-9]* from clients" "$dir/gw1.show"
check "... mailboxes" grep -q "^  mailboxes: " "$dir/gw1.show"
"$bin" show "$mix1a" >"$dir/mix1a.show"
check "show of a mix names its layer" grep -q "^  role: mix layer 1$" "$dir/mix1a.show"

"$bin" show "$cli" >"$dir/cli.show"
check "show of the client: its listening port" \
	grep -q "^client: listening on 127.0.0.1 port $cport$" "$dir/cli.show"
check "... the server's address" grep -qF "  server: $saddr" "$dir/cli.show"
check "... the loud fast-profile line" grep -q "FAST PROFILE: no timing anonymity" "$dir/cli.show"
check "... identities at gateways" grep -q "^identities at gateways: [1-9][0-9]* attached" "$dir/cli.show"
check "... mix health of every mix" test "$(grep -c "^  mix[123][ab] (layer [123]): weight" "$dir/cli.show")" = 6
check "... no session yet" grep -q "^sessions: 0 open$" "$dir/cli.show"
"$bin" show "$srv" >"$dir/srv.show"
check "show of the server: its address" grep -qF "server: $saddr" "$dir/srv.show"
check "... its upstream" grep -qF "  upstream: $echo_up" "$dir/srv.show"

for s in gw1 mix1a cli srv; do
	case $s in gw1|mix1a) p=$dir/net/$s.sock ;; *) p=$dir/$s.sock ;; esac
	"$bin" show --metrics "$p" >"$dir/$s.prom"
	check "metrics of $s are well-formed Prometheus text" prom_ok "$dir/$s.prom"
done
check "metrics carry role and id" grep -q '^mixproxy_packets_in_total{role="node",id="gw1"} ' "$dir/gw1.prom"
check "... and drops by reason" grep -q '^mixproxy_packets_dropped_total{role="node",id="gw1",reason="mac"} 0$' "$dir/gw1.prom"
check "... the client's, its profile" grep -q '^mixproxy_info{role="client",id="client-'"$cport"'",.*profile="fast"} 1$' "$dir/cli.prom"

# 3. The figures move with traffic.
in0=$(sum_mixes packets_in_total)
out0=$(sample "$dir/cli.prom" session_bytes_out_total)
acc0=$(sample "$dir/cli.prom" connections_accepted_total)
opened0=$(sample "$dir/srv.prom" sessions_opened_total)
check "traffic: 20 x 10 KB echoed through the client" \
	"$mptcp" sizes "$T" --sizes "$(printf '10000,%.0s' $(seq 19))10000" --timeout 30
"$bin" show --metrics "$cli" >"$dir/cli2.prom"
"$bin" show --metrics "$srv" >"$dir/srv2.prom"
in1=$(sum_mixes packets_in_total)
out1=$(sample "$dir/cli2.prom" session_bytes_out_total)
check "the mixes counted the packets ($in0 -> $in1)" test "$in1" -ge $((in0 + 3 * 150))
check "the client counted the bytes ($out0 -> $out1)" test "${out1%.*}" -ge $((${out0%.*} + 200000))
check "the client counted the connection" test "$(sample "$dir/cli2.prom" connections_accepted_total)" -gt "$acc0"
check "the server counted the session" test "$(sample "$dir/srv2.prom" sessions_opened_total)" -gt "$opened0"
check "the client's messages went out" test "$(sample "$dir/cli2.prom" messages_sent_total)" -gt 100

# A session held open is counted, with its age, on both sides; nothing
# of it is named.
exec 3<>"/dev/tcp/127.0.0.1/$cport"
printf 'hello' >&3
IFS= read -r -N 5 -t 10 echoed <&3
check "a held session echoes" test "${echoed:-}" = hello
sleep 1.2
"$bin" show "$cli" >"$dir/cli3.show"
"$bin" show "$srv" >"$dir/srv3.show"
check "the client shows it open, with its age" grep -qE "^sessions: 1 open, the oldest for [0-9]+ s$" "$dir/cli3.show"
check "the server too" grep -qE "^sessions: 1 open, the oldest for [0-9]+ s$" "$dir/srv3.show"
check "no session id in show" bash -c "! grep -qiE 'session [0-9a-f]{8}' '$dir/cli3.show' '$dir/srv3.show'"
exec 3>&-

# 4. Strangers to the protocol on a node's socket.
r=$(ask "$gw1" 'hello\n')
check "garbage gets one error line ($r)" test "$r" = "error: unknown request 'hello' (show or metrics)"
r=$(head -c 5000 /dev/zero | tr '\0' x | timeout 10 socat -t 5 - "UNIX-CONNECT:$gw1")
check "a too-long line gets one error line ($r)" test "$r" = "error: request longer than 63 bytes"
r=$(ask "$gw1" '\x16\x03\x01\x00')
check "binary gets one error line ($r)" test "$r" = "error: byte 0x16 in the request (printable ASCII only)"
t0=$(date +%s%N)
r=$(timeout 10 socat -t 1 - "UNIX-CONNECT:$gw1" < <(sleep 6))
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check "silence is closed after the request timeout ($r, ${ms} ms)" \
	test "$r" = "error: no request within 2000 ms" -a "$ms" -lt 5000

# A crowd: 20 silent connections at once, a reader that never reads,
# and traffic meanwhile.
crowd=()
for _ in $(seq 20); do
	sleep 4 | timeout 10 socat -t 1 - "UNIX-CONNECT:$gw1" >>"$dir/crowd" 2>&1 &
	crowd+=($!)
done
(printf 'metrics\n'; sleep 4) | timeout 10 socat -u - "UNIX-CONNECT:$mix1a" >/dev/null 2>&1 &
crowd+=($!)
pids+=("${crowd[@]}")
sleep 0.5
check "traffic passes while the control sockets are crowded" \
	"$mptcp" sizes "$T" --sizes 1000,20000,1000 --timeout 20
for p in "${crowd[@]}"; do await "$p"; done
check "beyond 16 at once, connections are told the node is busy" \
	test "$(grep -c '^error: busy: too many control connections$' "$dir/crowd")" -ge 4
check "the others were closed by the timeout" \
	test "$(grep -c '^error: no request within 2000 ms$' "$dir/crowd")" -ge 10
check "the node's socket answers again" answers "$gw1"
check "the mix's too" answers "$mix1a"
check "and traffic still passes" "$mptcp" sizes "$T" --sizes 5000,5000 --timeout 20
check "the node logged the bad requests" grep -q "control socket: bad request" "$dir/net/gw1.log"

# 5. The command's errors and exit statuses (mixproxy(8)).
"$bin" show "$dir/nothing.sock" 2>"$dir/show.err"
check "show of a missing socket: 66" test $? = 66
socat UNIX-LISTEN:"$dir/stale.sock" /dev/null >/dev/null 2>&1 &
sp=$!
pids+=($sp)
for _ in $(seq 50); do [ -S "$dir/stale.sock" ] && break; sleep 0.05; done
kill -KILL "$sp"; await "$sp" 2>/dev/null
"$bin" show "$dir/stale.sock" 2>"$dir/show.err"
check "show of a socket nobody answers on: 69" test $? = 69
check "... saying so" grep -q "no daemon answers" "$dir/show.err"
"$bin" show a b 2>"$dir/show.err"
check "show with two names: 64" test $? = 64

# A node whose explicit control socket cannot be made does not start;
# one whose socket another daemon holds neither.  (A second gw1 would
# first find gw1's replay file locked: --replay-file none.)
port=$(pick_port) || exit 1
timeout 10 "$bin" node -d -t "$topo" -k "$dir/net/gw1.key" -L "127.0.0.1:$port" \
	--replay-file none --control "$dir/no/such/dir/x.sock" 2>"$dir/show.err"
check "a control socket that cannot be made: 71" test $? = 71
check "... one line naming it" test "$(grep -c "control socket $dir/no/such/dir/x.sock: " "$dir/show.err")" = 1
timeout 10 "$bin" node -d -t "$topo" -k "$dir/net/gw1.key" -L "127.0.0.1:$port" \
	--replay-file none --control "$gw1" 2>"$dir/show.err"
check "a control socket in use: 71, left alone" test $? = 71 -a -S "$gw1"
check "... saying so" grep -q "in use: a daemon answers on it" "$dir/show.err"
# Nor one whose replay file another node holds: two processes would
# each take a packet once.
timeout 10 "$bin" node -d -t "$topo" -k "$dir/net/gw1.key" -L "127.0.0.1:$port" \
	--control none 2>"$dir/show.err"
check "a replay file in use: 73" test $? = 73
check "... one line naming it" \
	test "$(grep -c "replay file $dir/net/gw1.key.replay: in use by another process" "$dir/show.err")" = 1

# 6. A clean exit takes the socket away.
stop "$cli_pid"
check "the client removed its socket at exit" test ! -e "$cli"

finish show
