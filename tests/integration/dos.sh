#!/usr/bin/env bash
# Integration test of denial of service: a stranger attacks a gateway at
# full strength while honest users go on (mixproxy-protocol(7), SECURITY
# NOTES).  For each attack it prints the attacked node's CPU over the
# attack and the proxy's round trip beside the one without attack, and
# checks that:
#   - an honest client still attaches and gets its mail exactly once;
#   - an honest proxy session is byte-exact;
#   - the node's counters show what it pushed out, within its bounds, and
#     its log has a rate-limited line for the cause, not one per packet.
# Attacks:
#   1. made-up keys: tools/mpclient keys sends packets for 10,000 fresh
#      keys to the gateway of the proxy server, whose clients are away.
# integration-timeout: 300
set -u
. "$(dirname "$0")/lib/proxy.sh"

net net --fast
upstream echo
server srv "$up" "$topo" --fast -g gw2
client cli "$saddr" "$topo" --fast -g gw1
T=127.0.0.1:$cport
gw2_pid=$(cat "$dir/net/gw2.pid")
tck=$(getconf CLK_TCK)

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
p50() { "$mptcp" rtt "$T" --count 50 --timeout 60 | sed -n 's/.* p50_ms=\([0-9.]*\).*/\1/p'; }
metric() { # metric NAME: gw2's value of it
	"$bin" show --metrics "$dir/net/gw2.sock" |
		sed -n "s/^mixproxy_$1{[^}]*} \([0-9.e+]*\)$/\1/p" | head -n 1
}

base_rtt=$(p50)
[ -n "$base_rtt" ] || { not_ok "round trip without attack"; finish dos; exit 1; }

# ---- 1. made-up keys ----
log_before=$(wc -l <"$dir/net/gw2.log")
c0=$(cpu_ticks "$gw2_pid") t0=$(date +%s.%N)
tools/mpclient keys -t "$topo" -n 10000 --rate 1000 --gw-a gw1 --gw-b gw2 --timeout 120 \
	>"$dir/keys.out" 2>"$dir/keys.err" &
atk=$!
pids+=($atk)
sleep 2
check "made-up keys: an honest client away from gw2 finds all its mail, once" \
	tools/mpclient mailbox -t "$topo" -n 200 --gw-a gw1 --gw-b gw2 --timeout 60
check "made-up keys: an honest proxy session through gw2 is byte-exact" \
	"$mptcp" bulk "$T" --bytes 1048576 --timeout 60
under_rtt=$(p50)
if wait "$atk"; then
	ok "made-up keys: the attack sent $(sed -n 's/.*"sent":\([0-9]*\).*/\1/p' "$dir/keys.out") packets"
else
	not_ok "made-up keys: the attack did not run: $(cat "$dir/keys.out" "$dir/keys.err")"
fi
sleep 1
c1=$(cpu_ticks "$gw2_pid") t1=$(date +%s.%N)
cpu=$(awk -v c="$((c1 - c0))" -v k="$tck" -v a="$t0" -v b="$t1" \
	'BEGIN { printf "%.0f", 100 * c / k / (b - a) }')
echo "# made-up keys: gw2 used ${cpu}% of a core over the attack; proxy round trip p50" \
	"${base_rtt} ms without, ${under_rtt:-?} ms under it"
strangers=$(metric strangers) smail=$(metric stranger_mailbox_deliveries)
evicted=$(metric strangers_evicted_total)
check "made-up keys: gw2 answers, keeps to its bounds, counts what it pushed out" \
	awk -v s="$strangers" -v m="$smail" -v e="$evicted" 'BEGIN {
		printf "strangers %d of 1000, their mail %d of 2000, pushed out %d", s, m, e
		exit !(s <= 1000 && m <= 2000 && e >= 8000) }'
no_slot() { "$bin" show --metrics "$dir/net/gw2.sock" | grep -c 'reason="no_client_slot"} 0$'; }
check "made-up keys: gw2 refused no client, forgot none" \
	test "$(metric clients_forgotten_total)" = 0 -a "$(no_slot)" = 1
lines=$(( $(wc -l <"$dir/net/gw2.log") - log_before ))
check "made-up keys: gw2's log has rate-limited lines, not one a packet" \
	awk -v n="$lines" -v w="$(grep -c 'never attached at its bound' "$dir/net/gw2.log")" 'BEGIN {
		printf "%d lines, %d of them the cause", n, w; exit !(w >= 1 && n <= 200) }'

finish dos
