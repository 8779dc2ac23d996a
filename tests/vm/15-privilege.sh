# Who may drive the cluster path (Documentation/tcpmig/security.rst):
# CAP_NET_ADMIN in the initial user namespace by default. Any user can
# become an admin of a namespace of their own (unshare -Urn); that admin
# is refused every state-changing op unless the userns_admin parameter
# opts in. The dumps that show connections and the events group need the
# same privilege as a change.
. /tests/vm/lib.sh
. /tests/netns/topology.sh

lsmod | grep -q '^tcpmig' || insmod /lib/modules/tcpmig.ko
param=/sys/module/tcpmig/parameters/userns_admin
# Whatever fails, the opt-in is off again for the scripts after this one.
trap 'echo 0 >$param; cleanup' EXIT
topology_up
scratch_dir dir privilege
chown nobody "$dir"
head -c 32 /dev/urandom >"$dir/key"
chmod 644 "$dir/key"

# as_user CMD: CMD as nobody, admin of a user and network namespace of
# its own.
as_user() { su nobody -s /bin/sh -c "unshare -Urn sh -c '$*'"; }
# as_nobody CMD: CMD as nobody in fe, with no capability at all.
as_nobody() { n fe su nobody -s /bin/sh -c "$*"; }

echo "--- default: only the initial user namespace's admin"
for op in "config set migrator-port 6000" \
	"config set cluster-key-file $dir/key" \
	"peer add be1 192.0.2.3" \
	"pool add p members be1" \
	"service add 127.0.0.1:80"; do
	expect_fail "a namespace's own admin: $op" 1 "permission denied" as_user tcpmig $op
done
expect_fail "a namespace's own admin: conn inject" 1 "permission denied" \
	as_user "tcpmig conn inject no-check </dev/null"
expect_fail "a namespace's own admin: conn migrate" 1 "permission denied" \
	as_user tcpmig conn migrate 127.0.0.1:80 127.0.0.1:4000 to be1
expect_eq "userns_admin defaults to off" N "$(cat $param 2>/dev/null)"
expect_eq "their status still answers" "$(cat /sys/module/tcpmig/parameters/migrator_port)" \
	"$(as_user tcpmig -j status | json_field migrator_port)"

# What shows other connections (their 4-tuples, the peers they went
# to) needs the privilege a change does; status (counters) does not.
for list in "flow list" "peer list" "service list"; do
	expect_fail "nobody: $list" 1 "permission denied" as_nobody tcpmig $list
	tcpmig -n fe $list >/dev/null || fail "root: $list"
done
expect_fail "nobody: monitor" 1 "permission denied" as_nobody timeout 5 tcpmig monitor
as_nobody tcpmig status >/dev/null || fail "nobody: status"
ok "flows, peers, services and events are the admin's; status is anyone's"

echo "--- userns_admin=1: a namespace's own admin configures its namespace"
echo 1 >$param
expect_eq "userns_admin on" Y "$(cat $param)"
as_user "tcpmig config set migrator-port 6000 &&
	tcpmig config set cluster-key-file $dir/key &&
	tcpmig peer add be1 192.0.2.3 && tcpmig peer list && tcpmig flow list &&
	tcpmig -j status" >"$dir/user" 2>&1 || fail "userns admin with the opt-in: $(cat "$dir/user")"
expect_eq "their own namespace took it" 6000 "$(json_field migrator_port <"$dir/user")"
# Watching events in one's own namespace is an admin's there too.
rc=0
as_user timeout 3 tcpmig monitor >"$dir/mon" 2>&1 || rc=$?
# Killed by timeout (143 or 124), not refused (1).
[ $rc -gt 1 ] || fail "userns admin: monitor refused: $(cat "$dir/mon")"
# Not an admin at all is still nothing.
expect_fail "nobody, opt-in on: flow list" 1 "permission denied" as_nobody tcpmig flow list
expect_fail "nobody, opt-in on: config set" 1 "permission denied" \
	as_nobody tcpmig config set migrator-port 6000
echo 0 >$param
expect_fail "opt-in off again" 1 "permission denied" as_user tcpmig config set migrator-port 6000
ok "the opt-in opens a namespace of one's own, nothing more"

echo "--- events in a namespace its own user namespace owns"
# nobody's namespace, watched by nobody (its admin there) and by root;
# root runs a service in it whose client gets the fallback: an event.
# nobody sees it only with the opt-in on.
su nobody -s /bin/sh -c "unshare -Urn sh -c 'echo \$\$ >$dir/pid; exec tcpmig -j monitor >$dir/ev 2>$dir/ev.err'" &
BG_PIDS="$BG_PIDS $!"
wait_for "$dir/pid"
ns() { nsenter -t "$(cat "$dir/pid")" -n "$@"; }
i=0
until grep -q "monitoring events" "$dir/ev.err" 2>/dev/null; do
	i=$((i + 1))
	[ $i -le 300 ] || fail "nobody's monitor did not start: $(cat "$dir/ev.err")"
	sleep 0.1
done
ns sh -c "exec tcpmig -j monitor >$dir/root-ev 2>$dir/root-ev.err" &
BG_PIDS="$BG_PIDS $!"
i=0
until grep -q "monitoring events" "$dir/root-ev.err" 2>/dev/null; do
	i=$((i + 1))
	[ $i -le 300 ] || fail "root's monitor did not start: $(cat "$dir/root-ev.err")"
	sleep 0.1
done
ns ip link set lo up
ns tcpmig service add 127.0.0.1:8090 timeout 200
# fallbacks N: waits until root's monitor saw N fallback events.
fallbacks() {
	echo hello | ns nc -w 2 127.0.0.1 8090 >/dev/null 2>&1 || true
	_i=0
	until [ "$(grep -c '"fallback"' "$dir/root-ev")" -ge "$1" ]; do
		_i=$((_i + 1))
		[ $_i -le 100 ] || fail "no fallback event: $(cat "$dir/root-ev")"
		sleep 0.1
	done
}
fallbacks 1
sleep 1
expect_eq "nobody's monitor, opt-in off: events" 0 "$(grep -c '"fallback"' "$dir/ev")"
echo 1 >$param
fallbacks 2
sleep 1
expect_eq "nobody's monitor, opt-in on: events" 1 "$(grep -c '"fallback"' "$dir/ev")"
echo 0 >$param
ok "a namespace's own admin watches its events only with the opt-in"

echo "--- bounds per user, not per namespace"
# Namespaces owned by one user (through user namespaces of theirs)
# share that user's bounds: creating namespaces multiplies nothing.
# Two of nobody's namespaces, each a service with silent clients; with
# user_pending at 4, the second takes only what the first left.
pending_param=/sys/module/tcpmig/parameters/user_pending
echo 4 >$pending_param || fail "no user_pending parameter"
trap 'echo 0 >$param; echo 1024 >$pending_param; cleanup' EXIT
for x in a b; do
	su nobody -s /bin/sh -c "unshare -Urn sh -c 'echo \$\$ >$dir/pid.$x; exec sleep 600'" &
	BG_PIDS="$BG_PIDS $!"
	wait_for "$dir/pid.$x"
	nsenter -t "$(cat "$dir/pid.$x")" -n sh -c "ip link set lo up &&
		tcpmig service add 127.0.0.1:8091 timeout 60000"
done
# silent X N: N clients in namespace X that connect and send nothing.
silent() {
	for _k in $(seq 1 "$2"); do
		nsenter -t "$(cat "$dir/pid.$1")" -n sh -c "sleep 90 | nc 127.0.0.1 8091" >/dev/null 2>&1 &
		BG_PIDS="$BG_PIDS $!"
	done
}
# svc X COLUMN: a counter of namespace X's service (6 pending, 11
# overflows).
svc() {
	nsenter -t "$(cat "$dir/pid.$1")" -n tcpmig service list |
		awk -v c="$2" '$1 == "127.0.0.1:8091" { print $c }'
}
silent a 3
wait_until 20 '[ "$(svc a 6)" = 3 ]' || fail "a: pending $(svc a 6), not 3"
silent b 3
wait_until 20 '[ "$(svc b 11)" = 2 ]' || fail "b: overflows $(svc b 11), pending $(svc b 6): the user's bound did not hold"
expect_eq "b: pending" 1 "$(svc b 6)"
expect_eq "a: pending, untouched" 3 "$(svc a 6)"
ok "user_pending bounds nobody's undecided connections across both namespaces"
topology_down
