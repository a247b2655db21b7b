# tap.sh — the "ok - ..." / "not ok - ..." lines and counters every
# integration script prints (sourced; run.sh does not run lib/).
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok - $*"; }
not_ok() { fail=$((fail + 1)); echo "not ok - $*"; }
# finish NAME: the summary line; exit status 0 when nothing failed.
finish() {
	echo "$1: $pass passed, $fail failed"
	[ "$fail" = 0 ]
}
