#!/bin/sh
# Run every built libFuzzer harness (tests/fuzz/fuzz_*) for a few seconds
# over a scratch corpus seeded from tests/fuzz/seeds/NAME/, where NAME is
# the harness name without fuzz_.  Run from the repo root after
# `make fuzz`.  FUZZ_SECONDS sets the time per harness (default 5).
# A crash leaves its input as ./crash-* (libFuzzer's artifact).

secs=${FUZZ_SECONDS:-5}
status=0
count=0
work=

trap 'rm -rf "$work"' EXIT
trap 'exit 1' HUP INT PIPE TERM

for bin in tests/fuzz/fuzz_*; do
	case $bin in
	*.c | *.o | *.d) continue ;;
	esac
	[ -f "$bin" ] && [ -x "$bin" ] || continue
	count=$((count + 1))
	name=${bin#tests/fuzz/fuzz_}
	work=$(mktemp -d "${TMPDIR:-/tmp}/mixproxy-fuzz-$name.XXXXXX") || exit 1
	mkdir "$work/corpus"
	if [ -d "tests/fuzz/seeds/$name" ]; then
		cp "tests/fuzz/seeds/$name"/* "$work/corpus/" 2>/dev/null
	fi
	if "$bin" -max_total_time="$secs" -rss_limit_mb=2048 "$work/corpus" \
	    >"$work/log" 2>&1; then
		runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$work/log")
		echo "fuzz $name: ok, ${runs:-?} runs in ${secs}s, corpus $(ls "$work/corpus" | wc -l)"
	else
		echo "fuzz $name: FAILED"
		tail -n 40 "$work/log" | sed 's/^/    /'
		status=1
	fi
	rm -rf "$work"
	work=
done
if [ "$count" -eq 0 ]; then
	echo "fuzz: no harness built (run make fuzz)"
	exit 1
fi
exit $status
