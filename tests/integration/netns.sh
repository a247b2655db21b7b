#!/bin/sh
# The mixnet across 8 network namespaces (one host per node): nothing may
# depend on loopback.  Skipped (77) where the machine refuses namespaces.
cd "$(dirname "$0")/../.." || exit 1
timeout 120 tools/netns-testnet run 300
rc=$?
[ $rc = 77 ] && exit 77
[ $rc = 0 ] && echo "netns: 1 passed, 0 failed" || echo "netns: 0 passed, 1 failed"
exit $rc
