#!/bin/sh
# Run every built libFuzzer harness (tests/fuzz/fuzz_*) for a few seconds
# over a scratch corpus seeded from tests/fuzz/seeds/NAME/, where NAME is
# the harness name without fuzz_.  Run from the repo root after
# `make fuzz`.  FUZZ_SECONDS sets the time per harness (default 5),
# FUZZ_JOBS how many run at once (default 1); each one's line is printed
# in name order once all have run.  A crash leaves its input as ./crash-*
# (libFuzzer's artifact).

secs=${FUZZ_SECONDS:-5}
jobs=${FUZZ_JOBS:-1}
top=$(mktemp -d "${TMPDIR:-/tmp}/mixproxy-fuzz.XXXXXX") || exit 1
pids=

trap 'for p in $pids; do kill "$p" 2>/dev/null; done; rm -rf "$top"' EXIT
trap 'exit 1' HUP INT PIPE TERM

# one BIN: run it; its line in $top/NAME.line, its status in $top/NAME.rc.
one() {
	name=${1#tests/fuzz/fuzz_}
	work=$top/$name
	mkdir -p "$work/corpus"
	if [ -d "tests/fuzz/seeds/$name" ]; then
		cp "tests/fuzz/seeds/$name"/* "$work/corpus/" 2>/dev/null
	fi
	if "$1" -max_total_time="$secs" -rss_limit_mb=2048 "$work/corpus" >"$work/log" 2>&1; then
		runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$work/log")
		echo "fuzz $name: ok, ${runs:-?} runs in ${secs}s, corpus $(ls "$work/corpus" | wc -l)" \
			>"$top/$name.line"
		echo 0 >"$top/$name.rc"
	else
		{ echo "fuzz $name: FAILED"; tail -n 40 "$work/log" | sed 's/^/    /'; } >"$top/$name.line"
		echo 1 >"$top/$name.rc"
	fi
}

count=0
running=0
for bin in tests/fuzz/fuzz_*; do
	case $bin in
	*.c | *.o | *.d) continue ;;
	esac
	[ -f "$bin" ] && [ -x "$bin" ] || continue
	count=$((count + 1))
	if [ "$running" -ge "$jobs" ]; then
		wait ${pids%% *}
		pids=${pids#* }
		running=$((running - 1))
	fi
	one "$bin" &
	pids="$pids $!"
	pids=${pids# }
	running=$((running + 1))
done
wait
pids=
if [ "$count" -eq 0 ]; then
	echo "fuzz: no harness built (run make fuzz)"
	exit 1
fi
status=0
for f in "$top"/*.line; do
	cat "$f"
	[ "$(cat "${f%.line}.rc")" = 0 ] || status=1
done
exit $status
