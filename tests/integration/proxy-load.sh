#!/usr/bin/env bash
# Integration test of the TCP proxy under volume, over a real localnet in
# the fast profile; each check is one the reference would have failed
# (DESIGN.md section 3): a bulk transfer each way through one session in
# which the u16 message ids wrap, and 1000 concurrent sessions of 64 KiB.
# Every packet costs about 12 X25519: with proxy-adverse.sh, the longest part
# of make check, so run.sh runs them side by side (integration-parallel).
# Smaller: PROXY_TEST_MIB (the bulk is a quarter of it), PROXY_TEST_CONNS
# and PROXY_TEST_CONN_KIB.
# integration-timeout: 600
# integration-parallel: 100
set -u
. "$(dirname "$0")/lib/proxy.sh"
mib=${PROXY_TEST_MIB:-64}
conns=${PROXY_TEST_CONNS:-1000}
conn_kib=${PROXY_TEST_CONN_KIB:-64}

echo_pair

# 1. Bulk both ways through one session.  Ids start 1,024 messages below
#    the wrap (PMSG_ID_FIRST), so at 16 MiB (some 9,000 messages each way)
#    the u16 message ids wrap (the reference aborted), and the bulk must
#    stay byte-exact across it.  The server's count of messages (the
#    bulk's alone: it is the first session) shows that the volume was
#    enough; a bulk too small to wrap (PROXY_TEST_MIB under 8) says so.
big=$(( mib / 4 ))
check "bulk: $big MiB each way through one session, byte-exact" \
	"$mptcp" bulk "$T" --bytes $((big * 1048576)) --timeout 240
n=$(metric_of "$dir/srv.sock" messages_received_total)
if [ $((big * 1048576 / 1906)) -gt 1100 ]; then
	check "the bulk's message ids wrapped: the server took ${n:-?} messages, over 1,024" \
		test "${n:-0}" -gt 1100
else
	echo "# the bulk ($big MiB) is too small for its ids to wrap"
fi

# 2. Concurrent sessions, each its own identity, all byte-exact (the
#    reference lost server messages under concurrency).
rss_before=$(peak_kib "$cli_pid")
check "$conns concurrent sessions x $conn_kib KiB each, byte-exact" \
	"$mptcp" bulk "$T" --conns "$conns" --bytes $((conn_kib * 1024)) --timeout 240
echo "# peak RSS after $conns sessions: client $(peak_kib "$cli_pid") KiB (was $rss_before), server $(peak_kib "$srv_pid") KiB"

finish proxy-load
