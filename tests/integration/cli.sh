#!/bin/sh
# Command-line tests of the built binary: exit statuses (sysexits), the
# messages users see, and what keygen leaves on disk.  Run from the repo
# root after `make`:  sh tests/integration/cli.sh
# MIXPROXY overrides the binary under test.

BIN=${MIXPROXY:-src/mixproxy}
VERSION=$(sed -n 's/^VERSION *= *//p' Makefile 2>/dev/null)
B58='^[1-9A-HJ-NP-Za-km-z]{43,44}$'

if [ ! -x "$BIN" ]; then
	echo "cli: $BIN not built (run make first)" >&2
	exit 1
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mixproxy-cli.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT PIPE TERM
umask 022

pass=0
fail=0

# run ARGS...: run the binary; sets rc, stdout in $tmp/out, stderr in $tmp/err.
run() {
	"$BIN" "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
}

# t DESCRIPTION COMMAND...: count COMMAND's success as a pass.
t() {
	desc=$1
	shift
	if "$@"; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		echo "cli: FAIL: $desc (exit $rc)" >&2
		sed 's/^/    stdout: /' "$tmp/out" >&2
		sed 's/^/    stderr: /' "$tmp/err" >&2
	fi
}

rc_is() { [ "$rc" -eq "$1" ]; }
rc_nonzero() { [ "$rc" -ne 0 ]; }
out_has() { grep -qF -e "$1" "$tmp/out"; }
err_has() { grep -qF -e "$1" "$tmp/err"; }
out_empty() { [ ! -s "$tmp/out" ]; }
err_one_line() { [ "$(wc -l <"$tmp/err")" -eq 1 ] && [ -s "$tmp/err" ]; }
out_is_key() { [ "$(wc -l <"$tmp/out")" -eq 1 ] && grep -qE "$B58" "$tmp/out"; }
mode_is() { [ "$(stat -c %a "$1")" = "$2" ]; }
absent() { [ ! -e "$1" ] && [ ! -L "$1" ]; }

# --- the dispatcher ---------------------------------------------------------

run --version
t "--version exits 0" rc_is 0
t "--version prints the version" out_has "mixproxy $VERSION"

run -h
t "-h exits 0" rc_is 0
t "-h prints usage on stdout" out_has "usage: mixproxy"
t "-h lists keygen" out_has "keygen"

run --help
t "--help exits 0" rc_is 0

run
t "no arguments exits 64" rc_is 64
t "no arguments prints usage on stderr" err_has "usage: mixproxy"
t "no arguments prints nothing on stdout" out_empty

run frobnicate
t "unknown command exits 64" rc_is 64
t "unknown command is named" err_has "'frobnicate'"
t "unknown command: one line" err_one_line

run --frobnicate
t "unknown option before the command exits 64" rc_is 64
t "unknown option before the command is named" err_has "'--frobnicate'"

# --- keygen: files ----------------------------------------------------------

k1=$tmp/k1.key
run keygen "$k1"
t "keygen exits 0" rc_is 0
t "keygen prints one Base58 key" out_is_key
t "keygen creates the file" test -f "$k1"
t "keygen file is 0600" mode_is "$k1" 600
t "keygen file is one line" test "$(wc -l <"$k1")" -eq 1
pub1=$(cat "$tmp/out")
t "keygen does not print the secret" test "$pub1" != "$(cat "$k1")"

before=$(cksum <"$k1")
run keygen "$k1"
t "keygen refuses to overwrite" rc_nonzero
t "keygen overwrite: file unchanged" test "$(cksum <"$k1")" = "$before"
t "keygen overwrite: names the file" err_has "$k1"
t "keygen overwrite: one line" err_one_line
t "keygen overwrite: nothing on stdout" out_empty

run keygen --show "$k1"
t "keygen --show exits 0" rc_is 0
t "keygen --show prints the same public key" test "$(cat "$tmp/out")" = "$pub1"

k0=$tmp/k0.key
(umask 000 && "$BIN" keygen "$k0" >/dev/null 2>&1)
t "keygen under umask 000 makes a 0600 file" mode_is "$k0" 600

ln -s "$tmp/target" "$tmp/link"
run keygen "$tmp/link"
t "keygen refuses a symlink" rc_nonzero
t "keygen symlink: target not created" absent "$tmp/target"

chmod 644 "$k1"
run keygen --show "$k1"
t "keygen --show on a 0644 file fails" rc_nonzero
t "keygen --show on a 0644 file names the mode" err_has "644"
t "keygen --show on a 0644 file names the file" err_has "$k1"
t "keygen --show on a 0644 file: nothing on stdout" out_empty
chmod 600 "$k1"

run keygen --show "$tmp/missing.key"
t "keygen --show on a missing file fails" rc_nonzero
t "keygen --show on a missing file names it" err_has "$tmp/missing.key"

printf 'not a key\n' >"$tmp/junk.key"
chmod 600 "$tmp/junk.key"
run keygen --show "$tmp/junk.key"
t "keygen --show on a junk file fails" rc_nonzero
t "keygen --show on a junk file: one line" err_one_line

run keygen "$tmp/no/such/dir.key"
t "keygen in a missing directory fails" rc_nonzero

# --- keygen: topology lines -------------------------------------------------

k2=$tmp/k2.key
run keygen --id m1 --role mix --layer 2 --address 127.0.0.1:4000 "$k2"
t "keygen --id mix exits 0" rc_is 0
line=$(cat "$tmp/out")
run keygen --show "$k2"
pub2=$(cat "$tmp/out")
t "keygen --id mix prints the topology line" \
	test "$line" = "m1 mix 2 127.0.0.1:4000 $pub2"

k3=$tmp/k3.key
run keygen -i gw.1 -r gateway -a '[::1]:4001' "$k3"
t "keygen --id gateway exits 0" rc_is 0
line=$(cat "$tmp/out")
run keygen --show --id gw.1 --role gateway --address '[::1]:4001' "$k3"
t "keygen --show --id reprints the same line" test "$(cat "$tmp/out")" = "$line"
pub3=$(echo "$line" | cut -d' ' -f4)
t "keygen --id gateway prints the topology line" \
	test "$line" = "gw.1 gateway [::1]:4001 $pub3"
t "keygen --id gateway key is Base58" sh -c "echo '$pub3' | grep -qE '$B58'"

# Usage errors: exit 64, one line on stderr, nothing on stdout, no file.
# usage_error DESCRIPTION WANT ARGS...: WANT is a string stderr must hold.
usage_error() {
	desc=$1
	want=$2
	shift 2
	rm -f "$tmp/u.key"
	run keygen "$@"
	t "$desc: exits 64" rc_is 64
	t "$desc: one line on stderr" err_one_line
	t "$desc: names the problem" err_has "$want"
	t "$desc: nothing on stdout" out_empty
	t "$desc: no file" absent "$tmp/u.key"
}

U=$tmp/u.key
A=127.0.0.1:4000
usage_error "bad --id" "'bad id!'" --id 'bad id!' --role mix --layer 1 --address $A "$U"
usage_error "empty --id" "id" --id '' --role mix --layer 1 --address $A "$U"
usage_error "too long --id" "--id" --id abcdefghijklmnopqrstuvwxyz0123456 \
	--role mix --layer 1 --address $A "$U"
usage_error "--role mix without --layer" "--layer" --id m1 --role mix --address $A "$U"
usage_error "--layer with --role gateway" "--layer" --id g1 --role gateway --layer 1 \
	--address $A "$U"
usage_error "bad --role" "--role" --id m1 --role relay --layer 1 --address $A "$U"
usage_error "--id without --role" "--role" --id m1 --address $A "$U"
usage_error "--layer out of range" "layer" --id m1 --role mix --layer 4 --address $A "$U"
usage_error "--layer not a number" "layer" --id m1 --role mix --layer two --address $A "$U"
usage_error "address without port" "'127.0.0.1'" --id m1 --role mix --layer 1 \
	--address 127.0.0.1 "$U"
usage_error "address with a host name" "'localhost:80'" --id m1 --role mix --layer 1 \
	--address localhost:80 "$U"
usage_error "address with a bad port" "'127.0.0.1:99999'" --id m1 --role mix --layer 1 \
	--address 127.0.0.1:99999 "$U"
usage_error "--id without --address" "--address" --id m1 --role mix --layer 1 "$U"
usage_error "--address without --id" "--id" --address $A "$U"
usage_error "unknown flag" "'--frob'" --frob "$U"
usage_error "unknown short flag" "'-z'" -z "$U"
usage_error "--layer without a value" "'--layer'" "$U" --layer
usage_error "no key file" "KEYFILE"
usage_error "two key files" "'$tmp/v.key'" "$U" "$tmp/v.key"
t "two key files: the second not created" absent "$tmp/v.key"

run keygen -h
t "keygen -h exits 0" rc_is 0
t "keygen -h prints usage" out_has "usage: mixproxy keygen"

# --- client and server: bad input ---------------------------------------------
# A small topology (no node needs to run: every error comes before that).
for k in gw1 m1 m2 m3; do "$BIN" keygen "$tmp/$k.key" >/dev/null; done
{
	echo "gw1 gateway 127.0.0.1:1 $("$BIN" keygen --show "$tmp/gw1.key")"
	echo "m1 mix 1 127.0.0.1:2 $("$BIN" keygen --show "$tmp/m1.key")"
	echo "m2 mix 2 127.0.0.1:3 $("$BIN" keygen --show "$tmp/m2.key")"
	echo "m3 mix 3 127.0.0.1:4 $("$BIN" keygen --show "$tmp/m3.key")"
} >"$tmp/topo"
srvkey=$("$BIN" keygen --show "$tmp/m1.key")

run client -t "$tmp/topo" -s "notanaddress"
t "client: malformed --server-address is a usage error" rc_is 64
t "client: malformed --server-address: one line naming it" err_one_line
t "client: the line names the option" err_has "--server-address 'notanaddress'"
run client -t "$tmp/topo" -s "$srvkey@nogw"
t "client: an unknown gateway in the address is a config error" rc_is 78
t "client: ... and says so" err_has "gateway 'nogw' is not in"
run client -t "$tmp/topo" -s "$srvkey@gw1" --bogus
t "client: unknown flag is a usage error" rc_is 64
t "client: unknown flag named" err_has "--bogus"
run client -t "$tmp/topo"
t "client: missing -s is a usage error" rc_is 64
t "client: missing -s named" err_has "-s/--server-address is required"
printf 'listen-port = 8080\nlisten-prot = 1\n' >"$tmp/c.conf"
run client -f "$tmp/c.conf" -t "$tmp/topo" -s "$srvkey@gw1"
t "client: a bad config line is a config error" rc_is 78
t "client: ... naming the file and line" err_has "c.conf: line 2"
run client -t "$tmp/topo" -s "$srvkey@gw1" --idle-timeout 2
t "client: an idle timeout below 5 s is refused" rc_is 64
run client -t "$tmp/topo" -s "$srvkey@gw1" --send-mean 0.1 --check-config
t "client: send slots that need the gateway's frames faster than it sends them are refused" rc_is 64
t "client: ... saying what the gateway takes" err_has "--receive-mean 0.05 ms (half of --send-mean): a gateway sends a frame at most every 0.1 ms"
run client -t "$tmp/topo" -s "$srvkey@gw1" --send-mean 0.1 --receive-mean 0.1 --loop-mean 1000 --check-config
t "client: ... and a pace that could not carry the client's own cover back is refused" rc_is 64
t "client: ... saying why" err_has "10000 frames a second cannot carry our own cover coming back (10001 a second"
printf 'receive-mean = 20\n' >"$tmp/rm.conf"
run client -f "$tmp/rm.conf" -t "$tmp/topo" -s "$srvkey@gw1" --check-config
t "client: ... also from the config file" rc_is 64
t "client: ... naming the rates" err_has "--receive-mean 20 ms: 50 frames a second cannot carry our own cover coming back (55 a second: --send-mean 20, --loop-mean 200)"
run server -t "$tmp/topo" -c "$tmp/sd" -u 127.0.0.1:80 --send-mean 0.1 --check-config
t "server: send slots that need the gateway's frames faster than it sends them are refused" rc_is 64
run client -t "$tmp/topo" -s "$srvkey@gw1" --client-pool-interval 0.05
t "client: a pool interval below 0.1 s (but not 0) is refused" rc_is 64
t "client: ... saying what it takes" err_has "0, or from 0.1 to 3600 seconds"
run client -t "$tmp/topo" -s "$srvkey@gw1" --client-pool-interval -1
t "client: a negative pool interval is refused" rc_is 64
run client -h
t "client -h exits 0 and lists the pool option" out_has "--client-pool-reserve"
t "client -h lists the pool's interval" out_has "--client-pool-interval"
run server -t "$tmp/topo" -c "$tmp/sd" -u "localhost:80"
t "server: a host name as upstream is a usage error (no DNS in the loop)" rc_is 64
t "server: ... naming the option" err_has "--upstream-tcp-address 'localhost:80'"
run server -t "$tmp/topo" -u "127.0.0.1:80"
t "server: missing -c is a usage error" rc_is 64
run server -t "$tmp/topo" -c "$tmp/sd" -u "127.0.0.1:80" -g nogw
t "server: an unknown gateway is a config error" rc_is 78
run server -h
t "server -h exits 0 and lists the upstream option" out_has "--upstream-tcp-address"
run client -t "$tmp/topo" -s "$srvkey@gw1" --listen-address localhost
t "client: a host name as listen address is a usage error" rc_is 64
t "client: ... naming the option" err_has "--listen-address 'localhost'"

# --- --check-config: parse, check, exit; read no other file -------------------
printf 'listen-port = 8080\nverbose = 2\n' >"$tmp/ok.conf"
run client -f "$tmp/ok.conf" -t "$tmp/none" -s "$srvkey@nogw" --check-config
t "client --check-config: exits 0 without reading the topology" rc_is 0
t "client --check-config: says the file is ok" out_has "mixproxy client: $tmp/ok.conf: ok"
run client -f "$tmp/c.conf" -t "$tmp/topo" -s "$srvkey@gw1" --check-config
t "client --check-config: a bad key is a config error" rc_is 78
t "client --check-config: ... naming the file and line" err_has "c.conf: line 2"
t "client --check-config: ... in one line" err_one_line
run client -t "$tmp/topo" --check-config
t "client --check-config: a missing -s is a usage error" rc_is 64
run node -t "$tmp/none" -k "$tmp/none.key" -L 127.0.0.1 --check-config
t "node --check-config: a bad --listen is a usage error" rc_is 64
run node -t "$tmp/none" -k "$tmp/none.key" --check-config
t "node --check-config: exits 0 without reading the key" rc_is 0
t "node --check-config: says so" out_has "mixproxy node: options: ok"
run server -t "$tmp/topo" -c "$tmp/cc" -u 127.0.0.1:80 --check-config
t "server --check-config: exits 0" rc_is 0
t "server --check-config: makes no config dir" absent "$tmp/cc"
printf 'check-config = yes\n' >"$tmp/cc.conf"
run server -f "$tmp/cc.conf" -t "$tmp/topo" -c "$tmp/cc" -u 127.0.0.1:80
t "check-config inside a file is a config error" rc_is 78
t "... saying it is not allowed there" err_has "'check-config' is not allowed"
t "... and making no config dir" absent "$tmp/cc"

echo "cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
