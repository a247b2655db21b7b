#!/usr/bin/env bash
# Integration test of what an observer of a client's network sees, in the
# default profile (mixproxy-protocol(7), SECURITY NOTES; issue 14): the
# client process's links to gateways, and the frames on them each way,
# per second, in four phases:
#   idle           the pool only;
#   20 open        20 sessions open at once, idle;
#   moving data    one session echoing 192 KiB both ways;
#   one at a time  sessions opening and closing one after another.
# The gateway sends each link a frame at the rate the client asked for
# (--receive-mean), mail or padding, so what comes in on a link does not
# change with what the client does: the test checks that each phase's
# frames in per link and second are within Poisson noise of that rate.
# It prints the rest (the links, and the frames out), which do change
# with the sessions: each session takes an identity with a link of its
# own (mixproxy(8), CAVEATS).
# integration-timeout: 180
# integration-quiet: it measures the rates of paced frames
set -u
. "$(dirname "$0")/lib/proxy.sh"

net net
upstream echo
server srv "$up" "$topo"
# 10 ms: the gateway's frames, 100 a second a link (--receive-mean's
# default, half of --send-mean's 20 ms).
client cli "$saddr" "$topo" --client-pool-reserve 2 --client-pool-interval 0
T=127.0.0.1:$cport
cli_sock=$dir/cli.sock
gw_ports=$(awk '$2 == "gateway" { sub(/.*:/, "", $3); print $3 }' "$topo" | paste -sd'|')

metric() { metric_of "$cli_sock" "$1"; } # the client's value of mixproxy_NAME
frames_in() { echo $(( $(metric packets_received_total) + $(metric padding_received_total) )); }
links() { # the client's established TCP connections to gateways
	ss -Htnp state established 2>/dev/null |
		awk -v p="pid=$cpid," -v g=":($gw_ports)\$" 'index($0, p) && $4 ~ g' | wc -l
}

# settle N: until the client has at most N identities (20 s at most).
# Sessions that close leave their identities until their last messages
# are acknowledged: on a loaded machine some are still there seconds
# later, each with its link, and a phase that began among them would
# count their frames against too few links.
settle() {
	local i
	for i in $(seq 200); do
		[ "$(metric identities)" -le "$1" ] && return 0
		sleep 0.1
	done
	not_ok "the client still has $(metric identities) identities, not $1, after 20 s"
	return 1
}

# phase NAME SECONDS: sample the links at the start and once a second,
# count the frames; then check the frames in against the pace, and
# print the rest.
phase() {
	local name=$1 secs=$2 in0 out0 in1 out1 sum=0 n=0 lo=999999 hi=0 k t0 t1
	in0=$(frames_in) out0=$(metric packets_sent_total) t0=$(date +%s.%N)
	for i in $(seq 0 "$secs"); do
		[ "$i" -gt 0 ] && sleep 1
		k=$(links)
		sum=$((sum + k)) n=$((n + 1))
		[ "$k" -lt "$lo" ] && lo=$k
		[ "$k" -gt "$hi" ] && hi=$k
	done
	in1=$(frames_in) out1=$(metric packets_sent_total) t1=$(date +%s.%N)
	awk -v name="$name" -v i="$((in1 - in0))" -v o="$((out1 - out0))" -v s="$sum" -v n="$n" \
		-v lo="$lo" -v hi="$hi" -v a="$t0" -v b="$t1" 'BEGIN {
		secs = b - a; links = s / n
		printf "# %-13s links %d to %d (mean %.1f); per link and second: %.1f frames in, %.1f out; process: %.0f in, %.0f out a second\n",
			name, lo, hi, links, i / secs / links, o / secs / links, i / secs, o / secs }'
	# Expected: 100 a link and second.  Poisson: within 5 standard
	# deviations, and the links sampled, not counted exactly, so a
	# tenth of it besides.
	check "$name: frames in per link within Poisson noise of the pace" \
		awk -v i="$((in1 - in0))" -v s="$sum" -v n="$n" -v a="$t0" -v b="$t1" 'BEGIN {
			e = 100 * (b - a) * s / n; d = 5 * sqrt(e) + e / 10
			printf "%d in, %.0f expected", i, e; exit !(i >= e - d && i <= e + d) }'
}

sleep 2 # the pool attaches
phase idle 5

# 20 sessions open at once, idle (bash's descriptors, held by sleep).
( fds=(); for _ in $(seq 20); do exec {fd}<>"/dev/tcp/127.0.0.1/$cport" && fds+=("$fd"); done
  exec sleep 600 ) &
hold=$!
pids+=($hold)
sleep 2
phase "20 open" 5
stop "$hold"
settle 2

"$mptcp" bulk "$T" --bytes 196608 --timeout 60 >"$dir/bulk.out" 2>&1 &
bulk=$!
pids+=($bulk)
sleep 1
phase "moving data" 5
if wait "$bulk"; then ok "the session moved its data: $(cat "$dir/bulk.out")"
else not_ok "the session did not move its data: $(cat "$dir/bulk.out")"; fi
settle 2

# The loop waits on each child in the background, so that TERM (stop)
# ends it and the child it runs.
( trap 'kill $c 2>/dev/null; exit 0' TERM
  while :; do
	"$mptcp" rtt "$T" --count 1 --timeout 30 >/dev/null 2>&1 & c=$!; wait $c
	sleep 0.2 & c=$!; wait $c
  done ) &
churn=$!
pids+=($churn)
sleep 1
phase "one at a time" 5
stop "$churn"

finish edges
