# tcpmig test topology, sourced by the VM's test scripts.
#
#   client 192.0.2.1      fe 192.0.2.2          be1 192.0.2.3   be2 192.0.2.4
#          2001:db8::1       2001:db8::2            2001:db8::3     2001:db8::4
#                            VIP 192.0.2.100        VIP on dummy "vip"
#                                2001:db8::100      (arp_ignore: only fe
#      |                  |                      |           |   answers for VIP)
#   ---+------------------+----------- br0 ------+-----------+---  (VM's root ns)
#
# Helpers: n NS CMD... runs CMD in namespace NS; topology_up / topology_down.
# Inside `n NS sh -c "..."` ip is busybox's: keep ip out of such strings.

NODES="client fe be1 be2"

# busybox sh runs its own applets before searching PATH, and busybox's ip
# has no netns: name iproute2's explicitly.
ip() { /usr/bin/ip "$@"; }
VIP4=192.0.2.100
VIP6=2001:db8::100

n() { ns=$1; shift; ip netns exec "$ns" "$@"; }

node_addr4() {
	case $1 in client) echo 192.0.2.1 ;; fe) echo 192.0.2.2 ;; be1) echo 192.0.2.3 ;; be2) echo 192.0.2.4 ;; esac
}
node_addr6() {
	case $1 in client) echo 2001:db8::1 ;; fe) echo 2001:db8::2 ;; be1) echo 2001:db8::3 ;; be2) echo 2001:db8::4 ;; esac
}

topology_up() {
	topology_down # whatever an earlier, failed script left behind
	ip link add br0 type bridge
	ip link set br0 up
	for node in $NODES; do
		ip netns add "$node"
		n "$node" ip link set lo up
		ip link add "v-$node" type veth peer name eth0 netns "$node"
		ip link set "v-$node" master br0 up
		n "$node" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
		n "$node" ip addr add "$(node_addr4 "$node")/24" dev eth0
		n "$node" ip addr add "$(node_addr6 "$node")/64" dev eth0 nodad
		n "$node" ip link set eth0 up
	done
	n fe ip addr add $VIP4/24 dev eth0
	# Deprecated (preferred_lft 0): it takes connections but is never
	# picked as a source address, so fe talks to its peers from its own.
	n fe ip addr add $VIP6/64 dev eth0 nodad preferred_lft 0
	for be in be1 be2; do
		n "$be" sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2
		n "$be" ip link add vip type dummy
		n "$be" ip addr add $VIP4/32 dev vip
		n "$be" ip addr add $VIP6/128 dev vip nodad preferred_lft 0
		n "$be" ip link set vip up
	done
}

topology_down() {
	# Delete the veth pairs first, synchronously: a namespace's own
	# devices go only when its (asynchronous) cleanup runs, and the next
	# topology_up would find them still there.
	for node in $NODES; do ip link del "v-$node" 2>/dev/null || true; done
	for node in $NODES; do ip netns del "$node" 2>/dev/null || true; done
	ip link del br0 2>/dev/null || true
}
