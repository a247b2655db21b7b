#!/bin/sh
# The OpenWrt init script, tools/openwrt/mixproxy.init, without OpenWrt:
# procd's shell API (procd_open_instance, procd_set_param, ...) and
# logger are stand-ins that print what they are given, and the script
# runs over a scratch /etc/mixproxy.  Checks which files become which
# instances, with which command, and what is refused and logged.
# procd itself is not tried: that needs an OpenWrt system.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/integration/lib/tap.sh
BIN=${MIXPROXY:-src/mixproxy}
case $BIN in /*) ;; *) BIN=$PWD/$BIN ;; esac
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mixproxy-openwrt.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM
etc=$tmp/etc
mkdir "$etc"

key=$("$BIN" keygen "$tmp/k.key") || exit 1
printf 'topology = %s/topology\nkey-file = %s/gw1.key\n' "$etc" "$etc" >"$etc/node-gw1.conf"
printf 'topology = %s/topology\nserver-address = %s@gw1\n' "$etc" "$key" >"$etc/client-web.conf"
printf 'topology = %s/topology\nconfig-dir = %s/web\nupstream-tcp-address = 127.0.0.1:80\n' \
	"$etc" "$etc" >"$etc/server-web.conf"
printf 'topology = x\nkey-file = y\nmax-dely = 3\n' >"$etc/node-bad.conf"
printf 'topology = x\n' >"$etc/mix1.conf"
printf 'topology = x\n' >"$etc/node-.conf"
printf 'not a config\n' >"$etc/topology"
cp tools/examples/node.conf "$etc/node.conf.example"

# The script with this test's binary and directory; the stand-ins; then
# one of its functions.  run FUNCTION: its output in $tmp/out.
sed -e "s|^PROG=.*|PROG=$BIN|" -e "s|^CONFDIR=.*|CONFDIR=$etc|" \
	tools/openwrt/mixproxy.init >"$tmp/init"
run() {
	sh -c '
		procd_open_instance() { echo "instance $1"; }
		procd_set_param() { echo "param $*"; }
		procd_close_instance() { echo "close"; }
		procd_send_signal() { echo "signal $*"; }
		logger() { echo "logger $*"; }
		user_exists() { [ "$1" = "$USER_EXISTS" ]; }
		. "$1"
		start() { start_service; }
		"$2"' sh "$tmp/init" "$1" >"$tmp/out" 2>&1
}
has() { grep -qxF -- "$1" "$tmp/out"; }

USER_EXISTS=none
export USER_EXISTS
run start_service
[ "$(grep -c '^instance ' "$tmp/out")" = 3 ] && ok "three instances from the three good files" ||
	not_ok "instances: $(grep '^instance' "$tmp/out" | tr '\n' ' ')"
for i in "node gw1" "client web" "server web"; do
	role=${i% *}
	name=${i#* }
	has "instance $role-$name" && has "param command $BIN $role -d -f $etc/$role-$name.conf" &&
		ok "$role-$name.conf: mixproxy $role -d -f FILE" ||
		not_ok "$role-$name.conf: $(grep -A1 "instance $role-$name" "$tmp/out" | tr '\n' ' ')"
done
has "param respawn" && has "param stdout 1" && has "param stderr 1" &&
	ok "instances respawn and log stdout and stderr" || not_ok "respawn/stdout/stderr missing"
has "param file $etc/node-gw1.conf" && ok "an instance restarts on reload when its file changed" ||
	not_ok "no file param"
grep -q "^logger .*daemon.err.*node-bad.conf: line 3: unknown key 'max-dely'" "$tmp/out" &&
	! has "instance node-bad" && ok "a file --check-config refuses is not started, and logged" ||
	not_ok "node-bad.conf: $(grep bad "$tmp/out")"
grep -q "^logger .*mix1.conf: not started: name it node-, client- or server-NAME.conf" "$tmp/out" &&
	ok "a .conf without a role prefix is named in the log" || not_ok "mix1.conf: $(grep mix1 "$tmp/out")"
grep -q "^logger .*node-.conf: not started: no NAME" "$tmp/out" &&
	ok "a role without a name is named in the log" || not_ok "node-.conf: $(grep 'node-\.' "$tmp/out")"
grep -q "topology\|example" "$tmp/out" && not_ok "other files were looked at: $(grep 'topology\|example' "$tmp/out")" ||
	ok "the topology and *.example are left alone"
has "param user mixproxy" && not_ok "user set without a mixproxy user" ||
	ok "runs as root where there is no mixproxy user"

USER_EXISTS=mixproxy
run start_service
[ "$(grep -c '^param user mixproxy$' "$tmp/out")" = 3 ] && ok "runs as mixproxy where that user exists" ||
	not_ok "user: $(grep user "$tmp/out")"

run reload_service
[ "$(grep -c '^instance ' "$tmp/out")" = 3 ] && has "signal mixproxy node-gw1 HUP" &&
	[ "$(grep -c '^signal ' "$tmp/out")" = 1 ] &&
	ok "reload registers the instances again, then sends SIGHUP to the nodes only" ||
	not_ok "reload: $(grep '^signal\|^instance' "$tmp/out" | tr '\n' ' ')"

finish openwrt-init
