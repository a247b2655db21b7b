#!/bin/sh
# run.sh — run the integration tests: every tests/integration/*.sh but this
# one, in sorted order, each under a time bound, from the repository root.
#
#   sh tests/integration/run.sh [NAME...]
#
# NAME picks scripts by name (cli or cli.sh); none: all of them.
# A script passes with exit 0, is skipped with exit 77 (its last output
# line should say why), and fails otherwise, or when it runs past
# INTEGRATION_TIMEOUT seconds (default 300), or past its own bound if it
# has a line "# integration-timeout: SECONDS" and that is longer.  Each script's output goes to
# a log; a failed script's log tail is shown (INTEGRATION_VERBOSE=1 shows
# everything as it runs).  The last line is the summary:
#
#   integration: N passed, M failed[, K skipped]
#
# Exit status 1 if any script failed, else 0.
set -u

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
limit=${INTEGRATION_TIMEOUT:-300}
verbose=${INTEGRATION_VERBOSE:-0}
cd "$root" || exit 1
# The same sorted order of scripts on every machine.
LC_COLLATE=C
export LC_COLLATE

# Scripts find the binary here (tools/localnet reads the same variable).
MIXPROXY=${MIXPROXY:-$root/src/mixproxy}
export MIXPROXY

logs=$(mktemp -d "${TMPDIR:-/tmp}/mixproxy-integration.XXXXXX") || exit 1

wanted() {
	[ $# -eq 0 ] && return 0
	n=$(basename "$t" .sh)
	for w in "$@"; do
		[ "$w" = "$n" ] || [ "$w" = "$n.sh" ] && return 0
	done
	return 1
}

passed=0 failed=0 skipped=0 failures=
for t in "$here"/*.sh; do
	[ -f "$t" ] || continue
	[ "$(basename "$t")" = run.sh ] && continue
	wanted "$@" || continue
	name=$(basename "$t")
	log=$logs/${name%.sh}.log
	# The script's own #! decides between sh and bash.
	interp='sh'
	IFS= read -r first <"$t" || true
	case $first in '#!'*bash*) interp=bash ;; esac
	own=$(sed -n 's/^# integration-timeout: *\([0-9][0-9]*\).*/\1/p' "$t" | head -n 1)
	tlimit=$limit
	[ -n "$own" ] && [ "$own" -gt "$limit" ] && tlimit=$own
	start=$(date +%s)
	if [ "$verbose" = 1 ]; then
		echo "---- $name"
		# POSIX sh has no pipefail: the status comes back through a file.
		{ timeout -k 10 "$tlimit" "$interp" "$t" </dev/null 2>&1; echo $? >"$log.rc"; } |
			tee "$log"
		rc=$(cat "$log.rc")
	else
		timeout -k 10 "$tlimit" "$interp" "$t" </dev/null >"$log" 2>&1
		rc=$?
	fi
	secs=$(( $(date +%s) - start ))
	case $rc in
	0)
		passed=$((passed + 1))
		echo "PASS $name (${secs}s)"
		;;
	77)
		skipped=$((skipped + 1))
		why=$(grep -v '^[[:space:]]*$' "$log" | tail -n 1)
		echo "SKIP $name${why:+: $why}"
		;;
	*)
		failed=$((failed + 1))
		failures="$failures $name"
		if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
			echo "FAIL $name (timed out after ${tlimit}s)"
		else
			echo "FAIL $name (exit $rc, ${secs}s)"
		fi
		if [ "$verbose" != 1 ]; then
			echo "---- last lines of $log:"
			tail -n 40 "$log" | sed 's/^/    /'
			echo "----"
		fi
		;;
	esac
done

if [ $failed -eq 0 ]; then
	rm -rf "$logs"
else
	echo "failed:$failures (logs in $logs)"
fi
if [ $skipped -gt 0 ]; then
	echo "integration: $passed passed, $failed failed, $skipped skipped"
else
	echo "integration: $passed passed, $failed failed"
fi
[ $failed -eq 0 ]
