# Assertions and helpers for the VM test scripts (sourced first; scripts
# run under busybox sh -e, so POSIX sh only). Helpers that run something
# in a namespace use n() of tests/netns/topology.sh.

fail() { echo "FAIL: $*"; exit 1; }
ok() { echo "ok: $*"; }

# Whatever a script starts in the background or creates in /tmp goes when
# it exits, passed or failed, so a failure leaves nothing running into the
# next script (as WireGuard's netns.sh does).
BG_PIDS= SCRATCH=$(mktemp -d /tmp/vm.XXXXXX)
# mktemp makes it 0700; the tests run some commands as nobody.
chmod 755 "$SCRATCH"
cleanup() {
	set +e
	# KILL: nothing of the tests ignores it, so the waits end.
	for pid in $BG_PIDS; do kill -KILL "$pid" 2>/dev/null; done
	for pid in $BG_PIDS; do wait "$pid" 2>/dev/null; done
	! command -v topology_down >/dev/null || topology_down
	rm -rf "$SCRATCH"
}
trap cleanup EXIT

# spawn VAR NS CMD...: runs CMD in namespace NS in the background and puts
# its pid in $VAR; cleanup kills it if it still runs. (iproute2's ip
# execs CMD, so the pid is CMD's own: `n NS CMD &` would give a subshell's,
# and killing that leaves CMD running.)
spawn() {
	_var=$1 _ns=$2
	shift 2
	/usr/bin/ip netns exec "$_ns" "$@" &
	eval "$_var=\$!"
	BG_PIDS="$BG_PIDS $!"
}

# monitor VAR NS FILE: `tcpmig -j monitor` in NS, its events into FILE
# and its pid in $VAR; returns once it is subscribed (it says so on
# stderr), so no later event is missed.
monitor() {
	spawn "$1" "$2" sh -c "exec tcpmig -j monitor >$3 2>$3.err"
	_i=0
	until grep -q "monitoring events" "$3.err" 2>/dev/null; do
		_i=$((_i + 1))
		[ $_i -le 600 ] || fail "the monitor in $2 did not start: $(cat "$3.err" 2>/dev/null)"
		sleep 0.1
	done
}

# wait_listeners NS PORT COUNT: waits until COUNT TCP sockets listen on
# PORT in namespace NS (an IPv4 and an IPv6 one, say), at most 60 s.
wait_listeners() {
	_i=0
	until [ "$(n "$1" netstat -ltn | grep -c ":$2 ")" -ge "$3" ]; do
		_i=$((_i + 1))
		[ $_i -le 600 ] || fail "timed out waiting for $3 listeners on port $2 in $1"
		sleep 0.1
	done
}

# wait_until SECONDS EXPR: evaluates the shell test EXPR every 0.1 s
# until it holds, at most SECONDS; returns whether it did (the caller
# asserts what it expects).
wait_until() {
	_i=0
	until eval "$2"; do
		_i=$((_i + 1))
		[ $_i -le $(($1 * 10)) ] || return 1
		sleep 0.1
	done
}

# wait_pid PID [SECONDS]: waits for the spawned process PID to end, at most
# SECONDS (default 120); returns its exit status.
wait_pid() {
	_i=0
	# The shell reaps the process while `sleep` runs; kill -0 then fails.
	while kill -0 "$1" 2>/dev/null; do
		_i=$((_i + 1))
		[ $_i -le $((${2:-120} * 10)) ] || fail "timed out waiting for process $1 to end"
		sleep 0.1
	done
	BG_PIDS=$(echo " $BG_PIDS " | sed "s/ $1 / /")
	wait "$1"
}

# stop PID...: kills spawned processes and waits for them to end.
stop() {
	for _pid; do kill "$_pid" 2>/dev/null || true; done
	for _pid; do wait_pid "$_pid" 10 || true; done
}

# scratch_dir VAR NAME: a fresh, empty directory for NAME in $VAR, removed
# by cleanup.
scratch_dir() {
	eval "$1=\$SCRATCH/\$2"
	rm -rf "$SCRATCH/$2"
	mkdir -p "$SCRATCH/$2"
}

# expect_eq WHAT EXPECTED ACTUAL
expect_eq() {
	[ "$2" = "$3" ] || fail "$1: expected '$2', got '$3'"
	ok "$1 = '$3'"
}

# expect_fail WHAT EXPECTED_EXIT EXPECTED_STDERR_SUBSTRING CMD...
# CMD must exit with EXPECTED_EXIT and say EXPECTED_STDERR_SUBSTRING.
expect_fail() {
	what=$1 code=$2 msg=$3
	shift 3
	rc=0
	"$@" >"$SCRATCH/out" 2>"$SCRATCH/err" || rc=$?
	err=$(cat "$SCRATCH/err")
	[ "$rc" = "$code" ] || fail "$what: exit $rc, expected $code ($err)"
	grep -qF -- "$msg" "$SCRATCH/err" || fail "$what: stderr '$err' lacks '$msg'"
	ok "$what: exit $rc, '$err'"
}

# json_field FIELD: reads one JSON object on stdin, prints the number FIELD.
json_field() { sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p"; }

# wait_for FILE [SECONDS]: waits until FILE exists, at most SECONDS
# (default 60).
wait_for() {
	_i=0
	while [ ! -e "$1" ]; do
		_i=$((_i + 1))
		[ $_i -le $((${2:-60} * 10)) ] || fail "timed out waiting for $1"
		sleep 0.1
	done
}

# wait_listening NS PORT [SECONDS]: waits until a TCP socket listens on
# PORT in namespace NS, at most SECONDS (default 60).
wait_listening() {
	_i=0
	until n "$1" netstat -ltn | grep -q ":$2 "; do
		_i=$((_i + 1))
		[ $_i -le $((${3:-60} * 10)) ] || fail "timed out waiting for a listener on port $2 in $1"
		sleep 0.1
	done
}

# tcp_counter NS NAME: a Tcp counter of /proc/net/snmp in namespace NS.
tcp_counter() {
	n "$1" awk -v name="$2" '/^Tcp:/ { if (!h) { for (i = 1; i <= NF; i++) col[$i] = i; h = 1 } else print $col[name] }' /proc/net/snmp
}

# now_ms: milliseconds since boot (busybox date has no %N).
now_ms() {
	read -r up _ </proc/uptime
	cs=$(echo "${up#*.}" | sed "s/^0//")
	echo $(( ${up%.*} * 1000 + cs * 10 ))
}
