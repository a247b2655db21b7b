#!/bin/sh
# make install and make uninstall into a scratch DESTDIR: the binary, the
# man pages, the systemd units (with this install's paths in them) and
# the example configs go where PREFIX, SYSCONFDIR, SYSTEMDUNITDIR and
# DOCDIR say; systemd-analyze verify passes the installed units without a
# word; make uninstall leaves nothing behind.  Where systemd-analyze is
# missing, everything else is checked and the script then skips (77).
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/integration/lib/tap.sh
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mixproxy-install.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM
MAKE=${MAKE:-make}
roles='node client server'
[ -x src/mixproxy ] || { echo "install: src/mixproxy not built (run make first)"; exit 1; }

# inst ARGS...: make install ARGS into $tmp/d; the log in $tmp/log.  The
# binary is taken as built (-o): a test must not rebuild the tree, with
# other flags than it was built with (SANITIZE=1, CFLAGS) at that.
inst() {
	$MAKE -s -o src/mixproxy install DESTDIR="$tmp/d" "$@" >"$tmp/log" 2>&1
}
uninst() {
	$MAKE -s uninstall DESTDIR="$tmp/d" "$@" >"$tmp/log" 2>&1
}
# left: what is still under $tmp/d, but directories.
left() { find "$tmp/d" ! -type d | sed "s|^$tmp/d||"; }

# --- PREFIX=/usr, as a distribution installs ----------------------------------
d=$tmp/d
inst PREFIX=/usr && ok "make install PREFIX=/usr DESTDIR=..." ||
	not_ok "make install: $(tail -n 3 "$tmp/log")"
want="/usr/bin/mixproxy
/usr/share/man/man5/mixproxy.conf.5
/usr/share/man/man7/mixproxy-protocol.7
/usr/share/man/man8/mixproxy.8"
for r in $roles; do
	want="$want
/usr/lib/systemd/system/mixproxy-$r@.service
/usr/share/doc/mixproxy/examples/$r.conf"
done
got=$(left | sort)
[ "$got" = "$(echo "$want" | sort)" ] && ok "install puts exactly the expected files" ||
	not_ok "installed files differ: $(echo "$got" | tr '\n' ' ')"
[ "$(stat -c %a "$d/usr/bin/mixproxy")" = 755 ] && ok "the binary is 0755" ||
	not_ok "the binary is $(stat -c %a "$d/usr/bin/mixproxy")"
modes=$(for f in "$d"/usr/lib/systemd/system/* "$d"/usr/share/doc/mixproxy/examples/*; do
	stat -c %a "$f"; done | sort -u)
[ "$modes" = 644 ] && ok "units and examples are 0644" || not_ok "units and examples: modes $modes"
cmp -s "$d/usr/bin/mixproxy" src/mixproxy && ok "the binary is the one built" ||
	not_ok "the installed binary is not src/mixproxy"

for r in $roles; do
	u=$d/usr/lib/systemd/system/mixproxy-$r@.service
	grep -qx "ExecStart=/usr/bin/mixproxy $r -d -f /etc/mixproxy/%i.conf" "$u" &&
		ok "mixproxy-$r@: runs /usr/bin/mixproxy $r in the foreground on /etc/mixproxy/%i.conf" ||
		not_ok "mixproxy-$r@: $(grep '^ExecStart' "$u")"
	grep -q '@[A-Z]*@' "$u" && not_ok "mixproxy-$r@: a placeholder is left: $(grep '@[A-Z]*@' "$u")" ||
		ok "mixproxy-$r@: no placeholder left"
	cmp -s "$d/usr/share/doc/mixproxy/examples/$r.conf" "tools/examples/$r.conf" &&
		ok "examples/$r.conf is tools/examples/$r.conf" || not_ok "examples/$r.conf differs"
done
# Only the node reloads (SIGHUP re-reads its topology; the others ignore it).
reloads=$(grep -l '^ExecReload=' "$d"/usr/lib/systemd/system/*.service | sed 's|.*/||')
[ "$reloads" = "mixproxy-node@.service" ] && ok "only the node's unit has ExecReload" ||
	not_ok "units with ExecReload: $reloads"

# --- systemd-analyze verify -------------------------------------------------------
# verify checks that ExecStart's binary exists and that the man pages of
# Documentation= are there, on this machine: a copy of each unit runs the
# staged binary instead (the one change, checked), and man looks in the
# staged man pages.
have_sa=0
if command -v systemd-analyze >/dev/null 2>&1; then
	have_sa=1
	mkdir "$tmp/v"
	for r in $roles; do
		sed "s|^ExecStart=/usr/bin/mixproxy |ExecStart=$d/usr/bin/mixproxy |" \
			"$d/usr/lib/systemd/system/mixproxy-$r@.service" >"$tmp/v/mixproxy-$r@.service"
		[ "$(diff "$d/usr/lib/systemd/system/mixproxy-$r@.service" "$tmp/v/mixproxy-$r@.service" |
			grep -c '^[<>]')" = 2 ] || not_ok "mixproxy-$r@: the copy for verify differs in more than ExecStart"
	done
	manopt=
	command -v man >/dev/null 2>&1 || manopt=--man=no
	# $manopt is empty or one word.
	# shellcheck disable=SC2086
	MANPATH=$d/usr/share/man systemd-analyze verify $manopt \
		"$tmp/v/mixproxy-node@test.service" "$tmp/v/mixproxy-client@test.service" \
		"$tmp/v/mixproxy-server@test.service" >"$tmp/verify" 2>&1
	rc=$?
	if [ $rc = 0 ] && [ ! -s "$tmp/verify" ]; then
		ok "systemd-analyze verify: the three units are clean${manopt:+ (man not installed: Documentation= not checked)}"
	else
		not_ok "systemd-analyze verify (exit $rc): $(head -n 5 "$tmp/verify" | tr '\n' ' ')"
	fi
fi

uninst PREFIX=/usr && ok "make uninstall PREFIX=/usr DESTDIR=..." ||
	not_ok "make uninstall: $(tail -n 3 "$tmp/log")"
[ -z "$(left)" ] && ok "uninstall leaves no file" || not_ok "left after uninstall: $(left | tr '\n' ' ')"
[ -z "$(find "$d" -name '*mixproxy*')" ] && ok "uninstall leaves no mixproxy directory" ||
	not_ok "left after uninstall: $(find "$d" -name '*mixproxy*' | tr '\n' ' ')"
rm -rf "$d"

# --- other places: every directory variable is honoured -----------------------------
inst PREFIX=/opt/mp SYSCONFDIR=/opt/mp/etc SYSTEMDUNITDIR=/opt/units DOCDIR=/opt/doc &&
	[ -x "$d/opt/mp/bin/mixproxy" ] && [ -f "$d/opt/mp/share/man/man8/mixproxy.8" ] &&
	[ -f "$d/opt/units/mixproxy-server@.service" ] && [ -f "$d/opt/doc/examples/server.conf" ] &&
	grep -qx 'ExecStart=/opt/mp/bin/mixproxy server -d -f /opt/mp/etc/mixproxy/%i.conf' \
		"$d/opt/units/mixproxy-server@.service" &&
	grep -q '/opt/doc/examples/server.conf' "$d/opt/units/mixproxy-server@.service" &&
	ok "PREFIX, SYSCONFDIR, SYSTEMDUNITDIR and DOCDIR are honoured, in the units too" ||
	not_ok "install with other directories: $(left | tr '\n' ' ') $(tail -n 3 "$tmp/log")"
uninst PREFIX=/opt/mp SYSCONFDIR=/opt/mp/etc SYSTEMDUNITDIR=/opt/units DOCDIR=/opt/doc &&
	[ -z "$(left)" ] && ok "... and uninstall removes it all" ||
	not_ok "left after uninstall: $(left | tr '\n' ' ')"

# A file of the user's in the documentation directory stays, and so does
# the directory; uninstall says so and succeeds.
inst PREFIX=/usr && echo mine >"$d/usr/share/doc/mixproxy/notes" && uninst PREFIX=/usr &&
	[ "$(left)" = /usr/share/doc/mixproxy/notes ] && grep -q 'not empty: left' "$tmp/log" &&
	ok "uninstall leaves a file it did not install, and says so" ||
	not_ok "uninstall with a file of the user's: $(left | tr '\n' ' ') $(cat "$tmp/log")"

if [ "$fail" = 0 ] && [ $have_sa = 0 ]; then
	echo "install: $pass passed"
	echo "systemd-analyze not installed: the units were not verified (apt-get install systemd)"
	exit 77
fi
finish install
