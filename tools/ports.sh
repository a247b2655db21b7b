# ports.sh — free TCP ports on loopback, for scripts that start servers.
# Sourced (POSIX sh and bash) by tools/demo, tools/bench and the
# integration tests; tools/localnet keeps its own (it also avoids ports
# its topology already names, and picks below the ephemeral range).

# port_free PORT: nothing accepts connections on 127.0.0.1:PORT.
port_free() {
	if [ -n "${BASH_VERSION:-}" ]; then
		! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
	else
		# POSIX sh has no /dev/tcp; bash has (and is required).
		! bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
	fi
}

# pick_port: print a free port in 10000..29999 (random, so that parallel
# runs rarely collide); fails after 100 tries.
# (Its variables are prefixed: sourced functions share the caller's.)
pick_port() {
	for _ports_i in $(seq 100); do
		_ports_p=$(( ($(od -An -N2 -tu2 /dev/urandom) % 20000) + 10000 ))
		port_free "$_ports_p" && { echo "$_ports_p"; return 0; }
	done
	echo "no free port found" >&2
	return 1
}

# wait_port PORT [SECONDS]: until something listens there (default 10 s).
wait_port() {
	_ports_n=$(( ${2:-10} * 10 ))
	while [ "$_ports_n" -gt 0 ]; do
		port_free "$1" || return 0
		sleep 0.1
		_ports_n=$((_ports_n - 1))
	done
	return 1
}
