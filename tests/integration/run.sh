#!/bin/sh
# run.sh — run the integration tests: every tests/integration/*.sh but this
# one, each under a time bound, from the repository root.
#
#   sh tests/integration/run.sh [NAME...]
#
# NAME picks scripts by name (cli or cli.sh); none: all of them.
# A script passes with exit 0, is skipped with exit 77 (its last output
# line should say why), and fails otherwise, or when it runs past
# INTEGRATION_TIMEOUT seconds (default 300), or past its own bound if it
# has a line "# integration-timeout: SECONDS" and that is longer.
#
# Two kinds of scripts, up to INTEGRATION_JOBS (default 2) of each at once.
# The volume scripts, with a line "# integration-parallel": the long ones
# that stand load (volume, loss), each on its own localnet, which take a
# core each.  The line may give the seconds the script takes on a 2-core
# machine ("# integration-parallel: 220"): the longest start first, so
# that the others fill the slot that frees first (without it, the time
# bound stands in).  The light scripts, all others (exact delays, first
# answers within a round trip, restarts, attacks): they mostly wait on
# timers and other processes, and take a few percent of a core each.
#
# INTEGRATION_BESIDE, if set, is a shell command (make check: the unit
# tests and the fuzz smoke) run in the background from the start, as the
# CPU hog beside which every script must pass.  Its output is shown when
# it ends; a non-zero status is a failure, named "beside".  The light
# scripts run beside it, those with a line "# integration-quiet" first
# (they measure rates or delays).  A volume script is more than a hog:
# its client, server and nodes take both cores in turns.  So the volume
# scripts start once the command beside and the quiet scripts have ended,
# INTEGRATION_JOBS - 1 at once while light scripts remain, all of them
# after.  Slots are filled within a fifth of a second.
#
# Each script's output goes to a log; a failed script's log tail is shown
# (INTEGRATION_VERBOSE=1 shows everything as it runs, one script at a
# time).  The last line is the summary:
#
#   integration: N passed, M failed[, K skipped]
#
# Exit status 1 if any script failed, else 0.
set -u

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
limit=${INTEGRATION_TIMEOUT:-300}
verbose=${INTEGRATION_VERBOSE:-0}
jobs=${INTEGRATION_JOBS:-2}
case $jobs in
''|*[!0-9]*|0*)
	echo "run.sh: INTEGRATION_JOBS must be a number of scripts, 1 or more, not '$jobs'" >&2
	exit 2
	;;
esac
[ "$verbose" = 1 ] && jobs=1
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

# run_one SCRIPT: run it under its time bound; its exit status and
# seconds go to $logs/NAME.rc and $logs/NAME.secs.
run_one() {
	name=$(basename "$1")
	log=$logs/${name%.sh}.log
	# The script's own #! decides between sh and bash.
	interp='sh'
	IFS= read -r first <"$1" || true
	case $first in '#!'*bash*) interp=bash ;; esac
	start=$(date +%s)
	if [ "$verbose" = 1 ]; then
		echo "---- $name"
		# POSIX sh has no pipefail: the status comes back through a file.
		{ timeout -k 10 "$(bound "$1")" "$interp" "$1" </dev/null 2>&1; echo $? >"$log.rc"; } |
			tee "$log"
	else
		# Its pid for stop_running: this shell may be gone by then.
		timeout -k 10 "$(bound "$1")" "$interp" "$1" </dev/null >"$log" 2>&1 &
		echo $! >"$log.pid"
		wait $!
		echo $? >"$log.rc"
	fi
	echo $(( $(date +%s) - start )) >"$log.secs"
}

bound() {
	own=$(sed -n 's/^# integration-timeout: *\([0-9][0-9]*\).*/\1/p' "$1" | head -n 1)
	if [ -n "$own" ] && [ "$own" -gt "$limit" ]; then echo "$own"; else echo "$limit"; fi
}

passed=0 failed=0 skipped=0 failures=
# report SCRIPT: count and print the outcome run_one left.
report() {
	name=$(basename "$1")
	log=$logs/${name%.sh}.log
	# (A run_one that was killed wrote neither.)
	rc=$(cat "$log.rc" 2>/dev/null || echo 1)
	secs=$(cat "$log.secs" 2>/dev/null || echo '?')
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
			echo "FAIL $name (timed out after $(bound "$1")s)"
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
}

# Interrupted: stop what runs.  Jobs started in the background have
# SIGINT ignored, which a script cannot trap again: TERM to the command
# beside (its own process group: setsid, so that make's children go too)
# and to each script's timeout, which passes it on to the script (whose
# EXIT trap cleans up).  The timeout is found by the pid run_one wrote:
# a TERM to our whole process group ends the run_one shells too, and
# the timeouts, each in a process group of its own, would run on.
beside_pid=
running=
stop_running() {
	[ -n "$beside_pid" ] && kill -TERM -- "-$beside_pid" 2>/dev/null
	for r in $running; do
		n=${r#*:}
		# Once: timeout passes each TERM on, and a second one would cut
		# the script's cleanup short.
		if [ -f "$logs/${n%.sh}.log.pid" ]; then
			kill -TERM "$(cat "$logs/${n%.sh}.log.pid")" 2>/dev/null
		else
			pkill -TERM -P "${r%%:*}" 2>/dev/null
		fi
		kill "${r%%:*}" 2>/dev/null
	done
}
trap 'stop_running; exit 130' INT TERM
if [ -n "${INTEGRATION_BESIDE:-}" ]; then
	# Its status goes to a file, which says it has ended: a shell does
	# not tell whether a background job has ended without waiting for it.
	setsid -w sh -c "$INTEGRATION_BESIDE; echo \$? >'$logs/beside.rc'" \
		</dev/null >"$logs/beside.log" 2>&1 &
	beside_pid=$!
fi
# beside_end: wait for the command beside, show its output, count it.
beside_end() {
	[ -n "$beside_pid" ] || return 0
	wait "$beside_pid"
	rc=$(cat "$logs/beside.rc" 2>/dev/null || echo 1)
	beside_pid=
	echo "---- beside: $INTEGRATION_BESIDE"
	cat "$logs/beside.log"
	echo "----"
	if [ $rc -ne 0 ]; then
		failed=$((failed + 1))
		failures="$failures beside"
		echo "FAIL beside (exit $rc)"
	fi
}

# gone PID: the child has ended (a zombie until waited for), or was
# never there.  For children killed before they could say so in a file.
gone() {
	[ ! -e "/proc/$1/stat" ] || grep -q '^[0-9]* (.*) Z' "/proc/$1/stat" 2>/dev/null
}

# reap: report the scripts that have ended, keep the others.
reap() {
	still=
	for r in $running; do
		# run_one writes the seconds last: the script has ended.
		if [ -e "$logs/$(basename "${r#*:}" .sh).log.secs" ] || gone "${r%%:*}"; then
			wait "${r%%:*}"
			report "$here/${r#*:}"
		else
			still="$still $r"
		fi
	done
	running=$still
}
# count KIND: how many running scripts are of KIND (a list of names).
count() {
	c=0
	for r in $running; do
		case " $1 " in *" ${r#*:} "*) c=$((c + 1)) ;; esac
	done
	echo $c
}
# start QUEUE SLOTS KIND: start scripts from the queue named QUEUE while
# fewer than SLOTS of KIND run.
start() {
	while :; do
		eval "q=\$$1"
		[ -n "$q" ] && [ "$(count "$3")" -lt "$2" ] || return 0
		next=${q%% *}
		eval "$1=\$(echo \$q | cut -s -d' ' -f2-)"
		run_one "$here/$next" &
		running="$running $!:$next"
	done
}

quiet= serial= parallel=
for t in "$here"/*.sh; do
	[ -f "$t" ] || continue
	[ "$(basename "$t")" = run.sh ] && continue
	wanted "$@" || continue
	if grep -q '^# integration-parallel' "$t"; then
		took=$(sed -n 's/^# integration-parallel: *\([0-9][0-9]*\).*/\1/p' "$t" | head -n 1)
		parallel="$parallel
${took:-$(bound "$t")} $(basename "$t")"
	elif grep -q '^# integration-quiet' "$t"; then
		quiet="$quiet $(basename "$t")"
	else
		serial="$serial $(basename "$t")"
	fi
done
# The light scripts, the quiet ones first; the volume scripts, the
# longest first: the others fill the slot that frees first.
light=$(echo $quiet $serial)
lanes=$(echo $(echo "$parallel" | sort -s -k1,1nr | cut -d' ' -f2))
light_all=$light lanes_all=$lanes

while [ -n "$light$lanes$running" ]; do
	reap
	if [ -n "$beside_pid" ] && { [ -e "$logs/beside.rc" ] || gone "$beside_pid"; }; then
		beside_end
	fi
	start light "$jobs" "$light_all"
	# The volume scripts wait for the command beside and the quiet
	# scripts, and leave a core to the light ones while those last.
	busy=$(count "$quiet")
	for q in $quiet; do
		case " $light " in *" $q "*) busy=1 ;; esac
	done
	if [ -z "$beside_pid" ] && [ "$busy" -eq 0 ]; then
		if [ -n "$light" ] || [ "$(count "$light_all")" -gt 0 ]; then
			start lanes $((jobs - 1)) "$lanes_all"
		else
			start lanes "$jobs" "$lanes_all"
		fi
	fi
	[ -n "$light$lanes$running" ] && sleep 0.2
done
beside_end

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
