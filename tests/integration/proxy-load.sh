#!/usr/bin/env bash
# Integration test of the TCP proxy under volume, over a real localnet in
# the fast profile; each check is one the reference would have failed
# (DESIGN.md section 3), at the sizes the issue asks: 88 MiB each way
# through one session (ids wrap), 1000 concurrent sessions of 64 KiB, a
# slow reader of 64 MiB, 64 MiB each way with 5% loss at every node.  Some
# 600 MB through a mixnet whose every packet costs 15 X25519: the longest
# part of make check (about 4 minutes on 2 cores, hence its own time
# bound below).  Smaller: PROXY_TEST_MIB (bulk, slow reader and lossy
# bulk), PROXY_TEST_CONNS and PROXY_TEST_CONN_KIB, PROXY_TEST_LOSS_MIB.
# integration-timeout: 600
set -u
. "$(dirname "$0")/lib/proxy.sh"
mib=${PROXY_TEST_MIB:-64}
conns=${PROXY_TEST_CONNS:-1000}
conn_kib=${PROXY_TEST_CONN_KIB:-64}
loss_mib=${PROXY_TEST_LOSS_MIB:-$mib}

echo_pair

# 1. Bulk both ways through one session; more than 70,000 messages each way
#    when at full size, so the u16 message ids wrap (the reference aborted).
big=$(( mib * 11 / 8 ))   # 88 MiB: over 65,536 full messages each way
check "bulk: $big MiB each way through one session, byte-exact, ids wrap" \
	"$mptcp" bulk "$T" --bytes $((big * 1048576)) --timeout 240

# 2. Concurrent sessions, each its own identity, all byte-exact (the
#    reference lost server messages under concurrency).
rss_before=$(peak_kib "$cli_pid")
check "$conns concurrent sessions x $conn_kib KiB each, byte-exact" \
	"$mptcp" bulk "$T" --conns "$conns" --bytes $((conn_kib * 1024)) --timeout 240
echo "# peak RSS after $conns sessions: client $(peak_kib "$cli_pid") KiB (was $rss_before), server $(peak_kib "$srv_pid") KiB"

# 3. Slow reader: the application does not read for 10 s while the upstream
#    sends; both proxies' memory stays bounded, then all arrives intact.
upstream source --bytes $((mib * 1048576)) --seed 7
server srvs "$up" "$topo" --fast
client clis "$saddr" "$topo" --fast
"$mptcp" recv "127.0.0.1:$cport" --bytes $((mib * 1048576)) --seed 7 --pause 10 --timeout 240 \
	>"$dir/slow.out" 2>&1 &
rp=$!
sleep 8
c_mid=$(grep VmRSS "/proc/$cpid/status" | awk '{print $2}')
s_mid=$(grep VmRSS "/proc/$spid/status" | awk '{print $2}')
if wait $rp; then
	c_peak=$(peak_kib "$cpid")
	s_peak=$(peak_kib "$spid")
	if [ "$c_peak" -lt 32768 ] && [ "$s_peak" -lt 32768 ]; then
		ok "slow reader: $mib MiB byte-exact after a 10 s stall; peak RSS client $c_peak KiB, server $s_peak KiB (during the stall $c_mid, $s_mid)"
	else
		not_ok "slow reader: memory not bounded: client $c_peak KiB, server $s_peak KiB"
	fi
else
	not_ok "slow reader: $(cat "$dir/slow.out")"
fi
stop "$cpid" "$spid"

# 4. Loss: the bulk test with 5% loss at every node (the issue asks it at
#    every mix; the gateways drop too here).
net lossy --node-args "--test-drop 0.05"
server srvl "$echo_up" "$topo" --fast
client clil "$saddr" "$topo" --fast
check "bulk: $loss_mib MiB each way with 5% loss at every node, byte-exact" \
	"$mptcp" bulk "127.0.0.1:$cport" --bytes $((loss_mib * 1048576)) --timeout 240
stop "$cpid" "$spid"

finish proxy-load
