# A connection injected by a task in one memory cgroup and accepted by a
# task in another belongs to the acceptor alone: the injecting cgroup,
# deleted afterwards, must really go (no css reference left on the
# injected socket, no memory charged to it twice). A leaked reference
# keeps the deleted cgroup "dying" forever (cgroup.stat
# nr_dying_descendants).
#
# And all of it is the acceptor's: a connection accepted with 8 MiB
# queued to send is charged to the acceptor's cgroup at accept, send
# queue included (memory.stat sock), so when the acceptor is killed and
# its small cgroup deleted, releasing the queue gives back no more than
# was charged (page_counter underflow warns otherwise, and the cgroup
# would have held 8 MiB beyond its limit for free).
. /tests/vm/lib.sh
. /tests/netns/topology.sh

lsmod | grep -q '^tcpmig' || insmod /lib/modules/tcpmig.ko
cg=/sys/fs/cgroup
grep -q " $cg cgroup2 " /proc/mounts || mount -t cgroup2 none $cg
echo +memory >$cg/cgroup.subtree_control
mkdir $cg/injector
dying() { sed -n 's/^nr_dying_descendants //p' $cg/cgroup.stat; }
expect_eq "dying cgroups before" 0 "$(dying)"

scratch_dir dir memcg
ip netns add memcg
trap 'ip netns del memcg 2>/dev/null || true; rmdir $cg/injector 2>/dev/null || true; cleanup' EXIT
n memcg ip link set lo up
# captured PORT DIR WRITE [BUF]: a live connection to 127.0.0.1:PORT
# whose server wrote up to WRITE bytes (with SO_SNDBUF BUF), captured
# into DIR/conn.blob; its client (pid in $client, port in $port) waits
# for DIR/go.
captured() {
	spawn server memcg mig-peer serve 127.0.0.1:$1 1 100 $3 "$2" ${4:-}
	wait_listening memcg $1
	spawn client memcg mig-peer client 127.0.0.1:$1 1 3000 6000 4096 "$2"
	wait_for "$2/ready" 120
	wait_for "$2/sent" 120
	port=$(ls "$2"/srv-*.off | sed 's/.*srv-\(.*\)\.off/\1/')
	n memcg tcpmig conn capture 127.0.0.1:$1 127.0.0.1:$port >"$2/conn.blob"
	stop $server
}

captured 7300 "$dir" 20000
spawn server_b memcg mig-peer resume 127.0.0.1:7300 1 40000 "$dir"
wait_for "$dir/listening"
# The injecting task runs in cgroup injector; server B (the acceptor) in
# the root cgroup.
sh -c "echo \$\$ >$cg/injector/cgroup.procs && exec /usr/bin/ip netns exec memcg tcpmig conn inject" \
	<"$dir/conn.blob"
ok "injected from cgroup injector"
touch "$dir/go"
wait_pid $client 120 || fail "client failed"
wait_pid $server_b 120 || fail "server B failed"
want=$(mig-peer gen server 40000 | sha256sum | cut -d' ' -f1)
expect_eq "client's stream" "$want" "$(sha256sum <"$dir/cli-$port.rx" | cut -d' ' -f1)"

rmdir $cg/injector
i=0
while [ "$(dying)" != 0 ]; do
	i=$((i + 1))
	[ $i -le 200 ] || fail "the deleted injector cgroup is still dying after 20 s (a leaked reference)"
	sleep 0.1
done
ok "the deleted injector cgroup is gone"

# Part two: the send queue is charged where it is accepted.
sysctl -qw net.core.rmem_max=33554432 net.core.wmem_max=33554432
scratch_dir big memcg-big
queued=8388608
captured 7301 "$big" $queued 16777216
mkdir $cg/acceptor
trap 'ip netns del memcg 2>/dev/null || true; rmdir $cg/injector $cg/acceptor 2>/dev/null || true; cleanup' EXIT
echo 64M >$cg/acceptor/memory.max
# (Into the cgroup first: ip netns exec mounts a sysfs of the namespace.)
sh -c "echo \$\$ >$cg/acceptor/cgroup.procs &&
	exec /usr/bin/ip netns exec memcg mig-peer resume 127.0.0.1:7301 1 $((queued + 100000)) $big" &
server_d=$!
BG_PIDS="$BG_PIDS $server_d"
wait_for "$big/listening"
n memcg tcpmig conn inject <"$big/conn.blob"
ok "injected a connection with $(($(stat -c %s "$big/conn.blob") / 1048576)) MiB of blob"
# The listener's accept queue (Recv-Q of a LISTEN line) empties when
# server D has accepted.
backlog() { n memcg awk '$2 ~ /:1C85$/ && $4 == "0A" { split($5, q, ":"); print q[2] }' /proc/net/tcp; }
wait_until 60 '[ "$(backlog)" = 00000000 ]' || fail "server D did not accept (accept queue: $(backlog))"
# Its server wrote $wrote bytes; the client's 4 KiB window took a few.
wrote=$(cat "$big/srv-$port.off")
unsent=$((wrote - 65536))
sock() { sed -n 's/^sock //p' $cg/acceptor/memory.stat; }
wait_until 10 '[ "$(sock)" -ge $unsent ]' ||
	fail "the acceptor's cgroup is charged $(sock) bytes of socket memory for a connection with ~$wrote bytes queued to send"
ok "the acceptor's cgroup is charged $(sock) bytes of socket memory (~$wrote queued to send)"
kill -KILL $server_d
wait_pid $server_d 30 || true
# The killed acceptor's socket lingers, orphaned, with its queue to send
# (the client reads nothing); the client's end goes too and resets it.
# Gone, the connection gives back exactly what it was charged: no more
# (an underflow), no less (a charge left behind).
kill -KILL $client
wait_pid $client 30 || true
wait_until 20 '[ "$(sock)" = 0 ]' ||
	fail "the killed acceptor's closed connection left $(sock) bytes of socket memory charged"
current=$(cat $cg/acceptor/memory.current)
[ "$current" -lt 67108864 ] || fail "the killed acceptor's cgroup reads memory.current $current (an underflow)"
rmdir $cg/acceptor
! dmesg | grep -q "page_counter underflow" || fail "$(dmesg | grep -m1 "page_counter underflow")"
ok "the killed acceptor's cgroup gave back what it was charged and is gone"


# Part three: until it is accepted, an injected sock runs on the module's
# copy of its proto. A sock destroyed while it waits (its listener
# closes) goes back to the kernel's at its destroy; one still waiting
# when the module goes back at the module's exit, and is accepted and
# finishes afterwards (KASAN would catch a sock left on freed code).
scratch_dir gone memcg-gone
captured 7302 "$gone" 20000
spawn holder memcg mig-peer resume 127.0.0.1:7302 1 40000 "$gone" hold
wait_for "$gone/listening"
n memcg tcpmig conn inject <"$gone/conn.blob"
stop $holder
stop $client
ok "a connection whose listener closed before accepting it went"

scratch_dir late memcg-late
captured 7303 "$late" 20000
spawn server_e memcg mig-peer resume 127.0.0.1:7303 1 40000 "$late" hold
wait_for "$late/listening"
n memcg tcpmig conn inject <"$late/conn.blob"
rmmod tcpmig
touch "$late/accept" "$late/go"
wait_pid $client 120 || fail "client failed"
wait_pid $server_e 120 || fail "server E failed"
want=$(mig-peer gen server 40000 | sha256sum | cut -d' ' -f1)
expect_eq "client's stream, accepted after rmmod" "$want" "$(sha256sum <"$late/cli-$port.rx" | cut -d' ' -f1)"
