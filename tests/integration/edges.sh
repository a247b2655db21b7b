#!/usr/bin/env bash
# Integration test of what an observer of a client's network sees, in the
# default profile (mixproxy-protocol(7), SECURITY NOTES; issue 14): the
# client process's links to gateways, and the frames on them each way,
# per second, in four phases:
#   idle           the pool only;
#   20 open        20 sessions open at once, idle;
#   moving data    one session echoing 192 KiB both ways;
#   one at a time  sessions opening and closing one after another.
# The client holds one link (--links), whatever its sessions, and its
# identities share it and its one send schedule (mixedge.h): a frame at
# a Poisson rate out (--send-mean, plus --loop-mean's loops), whether a
# slot carries a packet, a key's ATTACH or cover; and the gateway sends
# it a frame at the rate it asked for (--receive-mean), mail or padding.
# So the test checks, in every phase, that the link is the same one
# throughout, and that the frames each way, as TCP counts their bytes,
# are within Poisson noise of those rates: the same in every phase.  It
# prints the figures.
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
gw_ports=$(awk '$2 == "gateway" { sub(/.*:/, "", $3); print $3 }' "$topo" | paste -sd'|')

links() { # the client's established TCP connections to gateways
	ss -Htnp state established 2>/dev/null |
		awk -v p="pid=$cpid," -v g=":($gw_ports)\$" 'index($0, p) && $4 ~ g' | wc -l
}

# bytes: "SENT RECEIVED SOCKETS" summed over the client's connections to
# gateways, as TCP counts them (ss -i): what an observer of its network
# sees, frames of every kind and handshakes included.  SOCKETS names the
# connections (their local ports), so that a phase can tell that its
# links lived through it.
bytes() {
	ss -Htinp state established 2>/dev/null | awk -v p="pid=$cpid," -v g=":($gw_ports)\$" '
		index($0, p) && $4 ~ g { take = 1; port = $3; sub(/.*:/, "", port); ports = ports " " port; next }
		take { for (i = 1; i <= NF; i++) {
				if ($i ~ /^bytes_sent:/) { sub(/.*:/, "", $i); s += $i }
				if ($i ~ /^bytes_received:/) { sub(/.*:/, "", $i); r += $i } }
			take = 0 }
		END { printf "%d %d%s\n", s, r, ports }'
}

# phase NAME SECONDS: sample the links at the start and once a second,
# and the bytes on them at the start and the end; then check that the
# links stayed what the client was configured for (one: --links), and
# that the frames each way are within Poisson noise of the rates the
# client asked for, whatever its sessions do.  It prints the figures.
frame=2593 # LINK_FRAME_BYTES
out_rate=55 # --send-mean 20 ms and --loop-mean 200 ms: 50 + 5 frames a second
in_rate=100 # --receive-mean: half of --send-mean, 10 ms
phase() {
	local name=$1 secs=$2 b0 b1 lo=999999 hi=0 k t0 t1
	b0=$(bytes) t0=$(date +%s.%N)
	for i in $(seq 0 "$secs"); do
		[ "$i" -gt 0 ] && sleep 1
		k=$(links)
		[ "$k" -lt "$lo" ] && lo=$k
		[ "$k" -gt "$hi" ] && hi=$k
	done
	b1=$(bytes) t1=$(date +%s.%N)
	set -- $b0; local s0=$1 r0=$2; shift 2; local p0="$*"
	set -- $b1; local s1=$1 r1=$2; shift 2; local p1="$*"
	local o=$(( (s1 - s0) / frame )) i=$(( (r1 - r0) / frame ))
	awk -v name="$name" -v i="$i" -v o="$o" -v lo="$lo" -v hi="$hi" -v a="$t0" -v b="$t1" 'BEGIN {
		secs = b - a
		printf "# %-13s links %d to %d; frames a second: %.1f out, %.1f in\n",
			name, lo, hi, o / secs, i / secs }'
	check "$name: one link to a gateway throughout, the same one ($lo to $hi; port $p0, then $p1)" \
		test "$lo" = 1 -a "$hi" = 1 -a "$p0" = "$p1"
	# Poisson: within 5 standard deviations of the rate over the
	# phase's time.
	check "$name: frames out within Poisson noise of the send rate" \
		awk -v n="$o" -v r="$out_rate" -v a="$t0" -v b="$t1" 'BEGIN {
			e = r * (b - a); d = 5 * sqrt(e)
			printf "%d out, %.0f expected", n, e; exit !(n >= e - d && n <= e + d) }'
	check "$name: frames in within Poisson noise of the pace" \
		awk -v n="$i" -v r="$in_rate" -v a="$t0" -v b="$t1" 'BEGIN {
			e = r * (b - a); d = 5 * sqrt(e)
			printf "%d in, %.0f expected", n, e; exit !(n >= e - d && n <= e + d) }'
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

"$mptcp" bulk "$T" --bytes 196608 --timeout 60 >"$dir/bulk.out" 2>&1 &
bulk=$!
pids+=($bulk)
sleep 1
phase "moving data" 5
if wait "$bulk"; then ok "the session moved its data: $(cat "$dir/bulk.out")"
else not_ok "the session did not move its data: $(cat "$dir/bulk.out")"; fi

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
