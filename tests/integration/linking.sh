#!/usr/bin/env bash
# linking.sh — can a server link consecutive sessions of one client by
# when their identities first greeted it?
#
# Each session comes from a mixnet identity of its own, but a pool
# identity greets the server when it joins the pool.  If the pool refills
# when a session starts, the new identity's greeting follows that
# session's opening within a round trip, and the next session of the same
# client uses it: "pair each session with the session opened last before
# its identity first greeted" then names a session of the same client.
#
# Two clients share a server (-v: its log says when each sender tag was
# first seen, and which tag opened each session); N sequential sessions
# each come from one of them at random.  The rule is scored against the
# clients that really ran the sessions, next to what random pairing
# scores (the share of same-client sessions among the candidates), in
# two cases at once:
#   - --client-pool-interval 0 (refill at once, the fast profile's
#     default): the rule must do far better than random (4 standard
#     deviations), which shows the test can see a link;
#   - --client-pool-interval 0.5 (a Poisson clock, as in the default
#     profile): the rule must stay within 4 standard deviations of random.
# A light script: its sessions are small and one at a time, and it mostly
# waits (about a fifth of a core).
set -u
. "$(dirname "$0")/lib/proxy.sh"
N=${LINKING_SESSIONS:-50}

net net
upstream echo

# setup NAME INTERVAL: a server and two clients (started here, so that
# cleanup knows them); their ports in $port_NAME_A and $port_NAME_B.
setup() {
	local name=$1 iv=$2
	server "srv$name" "$up" "$topo" --fast -v
	client "a$name" "$saddr" "$topo" --fast --client-pool-interval "$iv"
	eval "port_${name}_A=$cport"
	client "b$name" "$saddr" "$topo" --fast --client-pool-interval "$iv"
	eval "port_${name}_B=$cport"
}

# sessions NAME: N sessions, each from A or B at random; who ran each in
# $dir/who.NAME.
sessions() {
	local name=$1 k who port
	: >"$dir/who.$name"
	for k in $(seq "$N"); do
		if [ $((RANDOM % 2)) = 0 ]; then who=A; else who=B; fi
		eval "port=\$port_${name}_$who"
		"$mptcp" sizes "127.0.0.1:$port" --sizes 100 --timeout 10 >/dev/null ||
			{ echo "session $k failed" >&2; return 1; }
		echo "$who" >>"$dir/who.$name"
		sleep "0.$((3 + RANDOM % 4))"
	done
}

# score NAME: "hits predictions expected sd" of the rule in that case (the
# first skip.NAME sessions, opened before the test's, are left out).
score() {
	awk '
	function ms(t,  a, v) {
		split(t, a, ":")
		v = ((a[1] * 60 + a[2]) * 60 + a[3]) * 1000 + day
		if (v < last - 43200000) { day += 86400000; v += 86400000 }  # midnight
		last = v
		return v
	}
	FNR == NR { who[++nw] = $1; next }
	/ debug: sender [0-9a-f]+: new$/ {
		t = ms($1); tg = $5; sub(":", "", tg)
		if (!(tg in first)) first[tg] = t
		next
	}
	/ debug: session [0-9a-f]+: opened by sender / {
		if (++seen > skip) { n++; open[n] = ms($1); tag[n] = $NF }
		next
	}
	END {
		if (n != nw) { printf "the server opened %d sessions, the test ran %d\n", n, nw; exit 2 }
		for (k = 1; k <= n; k++) {
			if (!(tag[k] in first)) { printf "no greeting seen for session %d\n", k; exit 2 }
			g = first[tag[k]]; best = 0; cand = 0; same = 0
			for (j = 1; j <= n; j++) {
				if (j == k || open[j] >= g) continue
				cand++; same += (who[j] == who[k])
				if (!best || open[j] > open[best]) best = j
			}
			if (!cand) continue  # greeted before any session opened
			m++; hit += (who[best] == who[k]); p = same / cand; e += p; v += p * (1 - p)
		}
		printf "%d %d %.2f %.2f\n", hit, m, e, sqrt(v)
	}' skip="$(cat "$dir/skip.$1")" "$dir/who.$1" "$dir/srv$1.log"
}

setup refill 0
setup poisson 0.5
sleep 1 # every pool attached and greeted before the first session
# The sessions so far are the helper's probes of the listening ports.
for c in refill poisson; do grep -c "opened by sender" "$dir/srv$c.log" >"$dir/skip.$c"; done
sessions refill >"$dir/refill.out" 2>&1 &
p1=$!
sessions poisson >"$dir/poisson.out" 2>&1 &
p2=$!
pids+=($p1 $p2)
await "$p1" || { not_ok "the refill case's sessions: $(cat "$dir/refill.out")"; finish linking; exit; }
await "$p2" || { not_ok "the Poisson case's sessions: $(cat "$dir/poisson.out")"; finish linking; exit; }

verdict() { # verdict NAME WANT: WANT is "above" or "within"
	local s hit m e sd
	s=$(score "$1") || { echo "$s"; return 1; }
	read -r hit m e sd <<<"$s"
	echo "the rule paired $hit of $m right; random pairing: $e (sd $sd)"
	if [ "$2" = above ]; then
		awk -v h="$hit" -v e="$e" -v sd="$sd" 'BEGIN { exit !(h > e + 4 * sd) }'
	else
		awk -v h="$hit" -v e="$e" -v sd="$sd" 'BEGIN { d = h - e; if (d < 0) d = -d; exit !(d <= 4 * sd) }'
	fi
}
check "pool refilled at once: the server links consecutive sessions" verdict refill above
check "pool on a Poisson clock: the linking rule does no better than random" verdict poisson within

finish linking
