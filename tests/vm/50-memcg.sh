# A connection injected by a task in one memory cgroup and accepted by a
# task in another belongs to the acceptor alone: the injecting cgroup,
# deleted afterwards, must really go (no css reference left on the
# injected socket, no memory charged to it twice). A leaked reference
# keeps the deleted cgroup "dying" forever (cgroup.stat
# nr_dying_descendants).
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
spawn server_a memcg mig-peer serve 127.0.0.1:7300 1 100 20000 "$dir"
wait_listening memcg 7300
spawn client memcg mig-peer client 127.0.0.1:7300 1 3000 6000 4096 "$dir"
wait_for "$dir/ready" 120
wait_for "$dir/sent" 120
port=$(ls "$dir"/srv-*.off | sed 's/.*srv-\(.*\)\.off/\1/')
n memcg tcpmig conn capture 127.0.0.1:7300 127.0.0.1:$port >"$dir/conn.blob"
stop $server_a
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
