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
