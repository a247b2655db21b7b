#!/bin/sh
# The mixnet across 8 network namespaces (one host per node): nothing may
# depend on loopback.  Skipped (77) where the machine refuses namespaces.
cd "$(dirname "$0")/../.." || exit 1
# In the background, so that a TERM to this script (its runner's time
# bound) stops the testnet, which tears its namespaces down, at once.
timeout 120 tools/netns-testnet run 300 &
t=$!
trap 'kill $t 2>/dev/null; exit 1' INT TERM
wait $t
rc=$?
[ $rc = 77 ] && exit 77
[ $rc = 0 ] && echo "netns: 1 passed, 0 failed" || echo "netns: 0 passed, 1 failed"
exit $rc
