#!/bin/sh
# The example config files, tools/examples/ROLE.conf, against the command
# they are for (mixproxy ROLE): every option that `mixproxy ROLE -h` lists
# is in the example, commented out, with a one-line comment above it, and
# with the default that -h names; the example names no key the command
# does not take (the file with every such line uncommented goes through
# the real parser: `mixproxy ROLE -f FILE --check-config`); and every key
# is documented in mixproxy.conf(5) and mixproxy(8).  A second, no network.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/integration/lib/tap.sh
BIN=${MIXPROXY:-src/mixproxy}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mixproxy-examples.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM

# Options of the command line only, which a file may not set
# (mixproxy.conf(5)): the one place to change when one is added.
CLI_ONLY='help config check-config'

for role in node client server; do
	ex=tools/examples/$role.conf
	if [ ! -f "$ex" ]; then
		not_ok "$role: $ex is missing"
		continue
	fi
	"$BIN" "$role" -h >"$tmp/help" || { not_ok "$role -h failed"; continue; }
	# The long names -h lists, and each one's help text.
	sed -n 's/^  \(-[a-zA-Z], \)\{0,1\} *--\([a-z0-9-]*\).*/\2/p' "$tmp/help" >"$tmp/flags"
	# The keys the example sets, commented out or not.
	sed -n 's/^#\{0,1\}\([a-z][a-z0-9-]*\) *=.*/\1/p' "$ex" >"$tmp/keys"

	missing='' extra='' dup=''
	for f in $(cat "$tmp/flags"); do
		case " $CLI_ONLY " in *" $f "*) continue ;; esac
		n=$(grep -cx -- "$f" "$tmp/keys")
		[ "$n" = 0 ] && missing="$missing $f"
		[ "$n" -gt 1 ] && dup="$dup $f"
	done
	for k in $(cat "$tmp/keys"); do
		grep -qx -- "$k" "$tmp/flags" || extra="$extra $k"
		case " $CLI_ONLY " in *" $k "*) extra="$extra $k" ;; esac
	done
	[ -z "$missing" ] && ok "$role: every option of -h is in $ex" ||
		not_ok "$role: $ex lacks$missing"
	[ -z "$extra" ] && ok "$role: $ex names no key the command does not take" ||
		not_ok "$role: $ex names keys that mixproxy $role does not take:$extra"
	[ -z "$dup" ] && ok "$role: no key twice in $ex" || not_ok "$role: twice in $ex:$dup"

	# Each key line: commented out, and right after exactly one comment line.
	awk -v ex="$ex" '
		/^#?[a-z][a-z0-9-]* *=/ {
			if ($0 !~ /^#/) print "uncommented: " $0
			if (prev !~ /^# / || prev2 ~ /^# /)
				print "not after a one-line comment: " $0
		}
		{ prev2 = prev; prev = $0 }' "$ex" >"$tmp/form"
	[ -s "$tmp/form" ] && not_ok "$role: $ex: $(head -n 3 "$tmp/form" | tr '\n' ';')" ||
		ok "$role: every key in $ex is commented out, under a one-line comment"

	# The defaults that -h names, "(1024)" or "(300; 0: never)", are the
	# example's values.
	wrong=
	sed -nE 's/^  (-[a-zA-Z], )? *--([a-z0-9-]+) .*\(([0-9.]+)(;[^()]*)?\)$/\2 \3/p' \
		"$tmp/help" >"$tmp/defaults"
	while read -r k want; do
		got=$(sed -n "s/^#\{0,1\}$k *= *\([^ #]*\).*/\1/p" "$ex")
		[ "$got" = "$want" ] || wrong="$wrong $k=$got(-h: $want)"
	done <"$tmp/defaults"
	[ -s "$tmp/defaults" ] || wrong=" (no defaults read from -h)"
	[ -z "$wrong" ] && ok "$role: $ex has the defaults -h names ($(wc -l <"$tmp/defaults") of them)" ||
		not_ok "$role: defaults in $ex differ from -h:$wrong"

	# Uncommented, the whole file goes through the real parser.
	sed 's/^#\([a-z][a-z0-9-]* *=\)/\1/' "$ex" >"$tmp/all.conf"
	if "$BIN" "$role" -f "$tmp/all.conf" --check-config >"$tmp/out" 2>&1; then
		ok "$role: $ex with every key uncommented passes --check-config"
	else
		not_ok "$role: $ex uncommented: $(cat "$tmp/out")"
	fi
	# As shipped, it needs only the required options from the command line.
	case $role in
	node) req="-t T -k K" ;;
	client) req="-t T -s $(sed -n 's/^#server-address *= *//p' "$ex")" ;;
	server) req="-t T -c C -u 127.0.0.1:80" ;;
	esac
	# $req is a list of words on purpose.
	# shellcheck disable=SC2086
	if "$BIN" "$role" -f "$ex" $req --check-config >"$tmp/out" 2>&1; then
		ok "$role: $ex as shipped passes --check-config"
	else
		not_ok "$role: $ex as shipped: $(cat "$tmp/out")"
	fi

	# Every key documented: mixproxy.conf(5) lists it (.It Ic KEY), and
	# mixproxy(8) describes its flag (Fl \-KEY).
	undoc5='' undoc8=''
	for k in $(cat "$tmp/keys"); do
		grep -q "^\.It Ic $k " man/mixproxy.conf.5 || undoc5="$undoc5 $k"
		grep -q "Fl \\\\-$k\( \|$\)" man/mixproxy.8 || undoc8="$undoc8 $k"
	done
	[ -z "$undoc5" ] && ok "$role: every key is in mixproxy.conf(5)" ||
		not_ok "$role: not in man/mixproxy.conf.5:$undoc5"
	[ -z "$undoc8" ] && ok "$role: every option is in mixproxy(8)" ||
		not_ok "$role: not in man/mixproxy.8:$undoc8"
done

finish examples
