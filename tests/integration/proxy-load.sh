#!/usr/bin/env bash
# Integration test of the TCP proxy under volume, over a real localnet in
# the fast profile: 1000 concurrent sessions of 64 KiB, each its own
# identity, all byte-exact (the reference lost server messages under
# concurrency: DESIGN.md section 3).  The bulk each way through one
# session, across the wrap of the u16 message ids, is proxy-adverse.sh's,
# under loss.  Every packet costs about 12 X25519: with proxy-adverse.sh
# and proxy-churn.sh, the longest part of make check, which run.sh runs
# two at a time (integration-parallel).  Smaller: PROXY_TEST_CONNS and
# PROXY_TEST_CONN_KIB.
# integration-timeout: 600
# integration-parallel: 70
set -u
. "$(dirname "$0")/lib/proxy.sh"
conns=${PROXY_TEST_CONNS:-1000}
conn_kib=${PROXY_TEST_CONN_KIB:-64}

echo_pair

# Concurrent sessions, each its own identity, all byte-exact.
rss_before=$(peak_kib "$cli_pid")
check "$conns concurrent sessions x $conn_kib KiB each, byte-exact" \
	"$mptcp" bulk "$T" --conns "$conns" --bytes $((conn_kib * 1024)) --timeout 240
echo "# peak RSS after $conns sessions: client $(peak_kib "$cli_pid") KiB (was $rss_before), server $(peak_kib "$srv_pid") KiB"

finish proxy-load
