# Cluster teardown mid-flight: connections migrated from fe to be1 keep
# streaming (fe forwarding, be1 decapsulating, the migrator channel open)
# while be1's namespace is deleted, then fe's; then again while the
# module is unloaded. Hooks, the migrator's workers and the tables must
# go without an oops, a KASAN report or a leak (the verdict checks the
# kernel log and kmemleak).
. /tests/vm/lib.sh
. /tests/netns/topology.sh
. /tests/vm/migrate.sh
. /tests/vm/cluster.sh

# busy_flows LABEL: 4 connections migrated to be1, their client
# streaming into them.
busy_flows() {
	scratch_dir dir "down-$1"
	spawn server_a fe mig-peer serve "$VIP4:7000" 4 1000 1000 "$dir"
	wait_listening fe 7000
	spawn server_b be1 mig-peer resume "$VIP4:7000" 4 1000 "$dir"
	wait_for "$dir/listening"
	spawn client client mig-peer client "$VIP4:7000" 4 4000 50000000 4096 "$dir"
	# "sent" says the client wrote; "ready" that fe's server took all 4.
	wait_for "$dir/ready" 120
	wait_for "$dir/sent" 120
	expect_eq "$1: connections established in fe" 4 "$(ls "$dir"/srv-*.off | wc -l)"
	for off in "$dir"/srv-*.off; do
		port=${off##*/srv-}
		port=${port%.off}
		tcpmig -n fe conn migrate "$VIP4:7000" "$(node_addr4 client):$port" to be1 >/dev/null
	done
	touch "$dir/go"
	wait_until 30 '[ "$(counter be1 decapsulated_packets)" -gt 0 ]' || true
	flows=$(counter fe forward_flows)
	[ "$flows" = 4 ] || { tcpmig -n fe flow list; tcpmig -n fe status; tcpmig -n be1 flow list; tcpmig -n be1 status; }
	expect_eq "$1: flows forwarded by fe" 4 "$flows"
	expect_eq "$1: flows decapsulated by be1" 4 "$(counter be1 decap_flows)"
	[ "$(counter be1 decapsulated_packets)" -gt 0 ] || fail "$1: be1 decapsulated nothing"
	expect_eq "$1: fe lists its forwarded flows" 4 \
		"$(tcpmig -n fe -j flow list | grep -o '"kind":"forward"' | wc -l)"
	expect_eq "$1: be1 lists its decapsulated flows" 4 \
		"$(tcpmig -n be1 -j flow list | grep -o '"kind":"decap"' | wc -l)"
	# Each streaming flow tells when its first packet went to be1.
	expect_eq "$1: fe's flows with a first-forwarded time" 4 \
		"$(tcpmig -n fe -j flow list | grep -o '"first_forwarded_ns":[1-9]' | wc -l)"
	tcpmig -n fe flow list
}

lsmod | grep -q '^tcpmig' || insmod /lib/modules/tcpmig.ko
topology_up
cluster_up
busy_flows netns-del
ip netns del be1
sleep 2
ok "deleted be1 while its flows streamed"
ip netns del fe
sleep 2
ok "deleted fe while it forwarded"
stop $client $server_a $server_b
topology_down

topology_up
cluster_up
busy_flows rmmod
rmmod tcpmig
ok "rmmod while flows streamed"
stop $client $server_a $server_b
topology_down
