# Assertions for the VM test scripts (sourced; scripts run under sh -e).

fail() { echo "FAIL: $*"; exit 1; }
ok() { echo "ok: $*"; }

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
	"$@" >/tmp/out 2>/tmp/err || rc=$?
	[ "$rc" = "$code" ] || fail "$what: exit $rc, expected $code ($(cat /tmp/err))"
	grep -qF -- "$msg" /tmp/err || fail "$what: stderr '$(cat /tmp/err)' lacks '$msg'"
	ok "$what: exit $rc, '$(cat /tmp/err)'"
}

# json_field FIELD: reads one JSON object on stdin, prints the number FIELD.
json_field() { sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p"; }

# wait_for FILE [SECONDS]: wait until FILE exists.
wait_for() {
	i=0
	while [ ! -e "$1" ]; do
		i=$((i + 1))
		[ $i -le $((${2:-60} * 10)) ] || fail "timed out waiting for $1"
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
