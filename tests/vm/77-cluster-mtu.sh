# Path MTU through a cluster (Documentation/tcpmig/cluster.rst, "Real
# networks"), on a topology of its own:
#
#   client ==1400== rt ---+--- br0 (1500) ---+--- fe (VIP) ---+--- be1
#   198.51.100.1          192.0.2.254         192.0.2.2       192.0.2.3
#                                             fe ====1280==== be1
#                                             203.0.113.2     203.0.113.3
#                                             (the peers' link)
#
# The client reaches the VIP through the router rt and announces an MSS
# for 1500-byte packets (its route's advmss). be1 answers it straight,
# through rt, whose link to the client takes 1400 bytes: rt's
# "fragmentation needed" (IPv6: "packet too big") goes to the VIP, which
# is fe's. fe must pass it on to be1, whose TCP then sends smaller
# segments, or the download stalls. The client's packets reach fe in up
# to 1400 bytes and go on, the same size, over the peers' link of 1280:
# fe must tell the client so, from the VIP, or the upload stalls. Through
# the dispatcher, IPv4 and IPv6: a download of 10 MB (4 MB for IPv6) and
# an upload of 4 MB each.
#
# Fragments: an IPv4 client that sets no DF has its 1400-byte packets
# fragmented by fe for the peers' 1280, and be1 must gather them before
# it decapsulates; and a segment forged in two fragments (IPv4, IPv6) on
# a forwarded flow must be gathered, forwarded and decapsulated.
. /tests/vm/lib.sh
. /tests/netns/topology.sh
. /tests/vm/cluster.sh

lsmod | grep -q '^tcpmig' || insmod /lib/modules/tcpmig.ko
NODES="client rt fe be1"
topology_down
ip link add br0 type bridge
ip link set br0 up
for node in $NODES; do
	ip netns add $node
	n $node ip link set lo up
	n $node sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
done
for node in rt fe be1; do
	ip link add "v-$node" type veth peer name eth0 netns $node
	ip link set "v-$node" master br0 up
	n $node ip link set eth0 up
done
# link NS1 NS2 MTU: eth1 in NS2, the other end (DEV, default eth1) in NS1.
link() {
	n "$1" ip link add "${4:-eth1}" type veth peer name eth1 netns "$2"
	n "$1" ip link set "${4:-eth1}" mtu "$3" up
	n "$2" ip link set eth1 mtu "$3" up
}
link client rt 1400 eth0
link fe be1 1280

n client ip addr add 198.51.100.1/24 dev eth0
n client ip addr add 2001:db8:1::1/64 dev eth0 nodad
n client ip route add default via 198.51.100.254 advmss 1460
n client ip -6 route add default via 2001:db8:1::fe advmss 1440
n rt ip addr add 198.51.100.254/24 dev eth1
n rt ip addr add 2001:db8:1::fe/64 dev eth1 nodad
n rt ip addr add 192.0.2.254/24 dev eth0
n rt ip addr add 2001:db8::fe/64 dev eth0 nodad
n rt sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
for node in fe be1; do
	n $node ip addr add "$(node_addr4 $node)/24" dev eth0
	n $node ip addr add "$(node_addr6 $node)/64" dev eth0 nodad
	n $node ip route add default via 192.0.2.254
	n $node ip -6 route add default via 2001:db8::fe
done
n fe ip addr add 203.0.113.2/24 dev eth1
n fe ip addr add 2001:db8:2::2/64 dev eth1 nodad
n fe ip addr add $VIP4/24 dev eth0
n fe ip addr add $VIP6/64 dev eth0 nodad preferred_lft 0
n be1 ip addr add 203.0.113.3/24 dev eth1
n be1 ip addr add 2001:db8:2::3/64 dev eth1 nodad
n be1 sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2
# The client's packets come in on the peers' link, its replies leave by eth0.
n be1 sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.eth1.rp_filter=0
n be1 ip link add vip type dummy
n be1 ip addr add $VIP4/32 dev vip
n be1 ip addr add $VIP6/128 dev vip nodad preferred_lft 0
n be1 ip link set vip up

mig-peer gen server 32 >"$KEY"
for node in fe be1; do tcpmig -n $node config set cluster-key-file "$KEY"; done
tcpmig -n fe peer add be1 203.0.113.3
tcpmig -n fe peer add be1-6 2001:db8:2::3
tcpmig -n be1 peer add fe 203.0.113.2 serve $VIP4
tcpmig -n be1 peer add fe-6 2001:db8:2::2 serve $VIP6
scratch_dir dir mtu
spawn pid be1 sh -c "exec mig-peer http $VIP4:80 be1 0 0 $dir 2>/dev/null"
spawn pid be1 sh -c "exec mig-peer http [$VIP6]:80 be1 0 0 $dir 2>/dev/null"
wait_listeners be1 80 2
tcpmig -n fe pool add one members be1
tcpmig -n fe pool add one6 members be1-6
tcpmig -n fe service add $VIP4:80
tcpmig -n fe rule add $VIP4:80 default pool one
tcpmig -n fe service add "[$VIP6]:80"
tcpmig -n fe rule add "[$VIP6]:80" default pool one6

MB10=10485760 MB4=4194304
# transfer LABEL SERVICE ARGS...: one request of the client through the
# service, which must finish within 120 s and be answered by be1.
transfer() {
	label=$1 svc=$2
	shift 2
	t0=$(now_ms)
	spawn req client sh -c "exec mig-peer request $svc $* >$dir/$label.out 2>&1"
	wait_pid $req 120 || fail "$label: the request failed: $(cat "$dir/$label.out")"
	grep -q "^200 .* from be1" "$dir/$label.out" || fail "$label: $(cat "$dir/$label.out")"
	echo "$label: $(( $(now_ms) - t0 )) ms"
}
# route_mtu NS ADDR: the path MTU NS has learnt toward ADDR (its route
# cache), or nothing.
route_mtu() { n "$1" ip route get "$2" | sed -n 's/.* mtu \([0-9]*\).*/\1/p'; }

# forwarded EP: whether fe forwards the flow of the client endpoint EP.
forwarded() { tcpmig -n fe flow list | awk -v c="$1" '$1 == "forward" && $2 == c { f = 1 } END { exit !f }'; }

for vip in $VIP4 $VIP6; do
	case $vip in
	*:*) svc="[$vip]:80" cli=2001:db8:1::1 v=6 down=$MB4 ;;
	*) svc=$vip:80 cli=198.51.100.1 v=4 down=$MB10 ;;
	esac
	if [ $v = 4 ]; then
		echo "--- IPv4 without DF: an upload of $MB4 bytes, fe fragments it for the peers' 1280"
		n client sysctl -qw net.ipv4.ip_no_pmtu_disc=1
		transfer nodf "$svc" /nodf -d $MB4
		n client sysctl -qw net.ipv4.ip_no_pmtu_disc=0
		port=$(sed -n 's/^port //p' "$dir/nodf.out")
		expect_eq "IPv4 without DF: the body be1 got" "$(mig-peer gen client $MB4 | sha256sum)" \
			"$(sha256sum <"$dir/be1-$port.body")"
		[ -z "$(route_mtu client $vip)" ] || fail "the client learnt a path MTU: $(route_mtu client $vip)"
		ok "IPv4 without DF: be1 gathered fe's fragments before decapsulating them"
	fi

	echo "--- IPv$v: a segment forged in two fragments on a forwarded flow"
	spawn held client sh -c "exec mig-peer request $svc /held -d 10 -k 15000 >$dir/held$v.out 2>&1"
	wait_until 30 'grep -qs "^port " "$dir/held$v.out"' || fail "IPv$v: the held request did not start"
	port=$(sed -n 's/^port //p' "$dir/held$v.out")
	ep=$cli:$port
	[ $v = 4 ] || ep="[$cli]:$port"
	wait_until 30 "forwarded $ep" || fail "IPv$v: fe does not forward $ep: $(tcpmig -n fe flow list)"
	fwd=$(counter fe forwarded_packets) dec=$(counter be1 decapsulated_packets)
	n client mig-peer forge "$ep" "$svc" ack 1 frag
	wait_until 10 '[ "$(counter fe forwarded_packets)" -gt "$fwd" ]' ||
		fail "IPv$v: fe did not forward the fragmented segment"
	wait_until 10 '[ "$(counter be1 decapsulated_packets)" -gt "$dec" ]' ||
		fail "IPv$v: be1 did not decapsulate the fragmented segment"
	wait_pid $held 60 || fail "IPv$v: the held request failed: $(cat "$dir/held$v.out")"
	grep -q "^200 /held from be1" "$dir/held$v.out" || fail "IPv$v: $(cat "$dir/held$v.out")"
	ok "IPv$v: the fragments were gathered, forwarded and decapsulated; the flow lives on"

	echo "--- IPv$v: a download of $down bytes, be1 -> client through rt's 1400"
	icmp=$(counter fe icmp_forwarded)
	transfer down$v "$svc" /down -b $down
	grep -q "^body $down bytes" "$dir/down$v.out" || fail "down$v: $(cat "$dir/down$v.out")"
	expect_eq "IPv$v: the path MTU be1 learnt toward the client" 1400 "$(route_mtu be1 $cli)"
	[ "$(counter fe icmp_forwarded)" -gt "$icmp" ] || fail "IPv$v: fe counted no ICMP error passed on"
	ok "IPv$v: rt's ICMP error reached be1 through fe; $down bytes downloaded"

	echo "--- IPv$v: an upload of $MB4 bytes, client -> fe -> be1 over the peers' 1280"
	too_big=$(counter fe too_big)
	transfer up$v "$svc" /up -d $MB4
	grep -q "^sent $MB4 bytes" "$dir/up$v.out" || fail "up$v: $(cat "$dir/up$v.out")"
	port=$(sed -n 's/^port //p' "$dir/up$v.out")
	expect_eq "IPv$v: the body be1 got" "$(mig-peer gen client $MB4 | sha256sum)" \
		"$(sha256sum <"$dir/be1-$port.body")"
	expect_eq "IPv$v: the path MTU the client learnt toward the VIP" 1280 "$(route_mtu client $vip)"
	[ "$(counter fe too_big)" -gt "$too_big" ] || fail "IPv$v: fe counted no packet too big"
	ok "IPv$v: fe told the client the peers' link takes 1280; $MB4 bytes uploaded"
done

# Conntrack: fe and be1 run a common firewall, dropping what conntrack
# calls invalid before routing and on input. fe's conntrack sees only the
# client's half of a migrated connection, ACKs of data be1 sent: its
# entry must not judge their windows. And be1's conntrack must relate the
# ICMP errors fe passes on to the connection (Documentation/tcpmig/
# cluster.rst): the path MTUs learnt above are forgotten first, so the
# transfers need them again.
echo "--- a firewall with ct state invalid drop on fe and be1"
for node in fe be1; do
	n $node nft -f - <<-'RULES'
	table inet fw {
		chain prerouting {
			type filter hook prerouting priority -150; policy accept;
			ct state invalid counter drop
		}
		chain input {
			type filter hook input priority 0; policy accept;
			ct state invalid counter drop
		}
	}
	RULES
done
for node in client be1; do
	n $node ip route flush cache
	n $node ip -6 route flush cache
done
for vip in $VIP4 $VIP6; do
	case $vip in
	*:*) svc="[$vip]:80" cli=2001:db8:1::1 v=6 ;;
	*) svc=$vip:80 cli=198.51.100.1 v=4 ;;
	esac
	[ -z "$(route_mtu be1 $cli)" ] || fail "IPv$v: be1 still has a path MTU toward the client"
	icmp=$(counter fe icmp_forwarded)
	transfer ct$v "$svc" /ct -d 1048576 -b 1048576
	grep -q "^body 1048576 bytes" "$dir/ct$v.out" || fail "ct$v: $(cat "$dir/ct$v.out")"
	port=$(sed -n 's/^port //p' "$dir/ct$v.out")
	expect_eq "IPv$v behind the firewall: the body be1 got" "$(mig-peer gen client 1048576 | sha256sum)" \
		"$(sha256sum <"$dir/be1-$port.body")"
	[ "$(counter fe icmp_forwarded)" -gt "$icmp" ] || fail "IPv$v: fe passed no ICMP error on"
	expect_eq "IPv$v behind the firewall: the path MTU be1 learnt toward the client" 1400 "$(route_mtu be1 $cli)"
	ok "IPv$v: a migrated connection passes ct state invalid drop on both nodes, 1 MB each way"
done
for node in fe be1; do
	echo "$node's firewall: $(n $node nft list table inet fw | grep -c 'counter packets 0') of 2 rules dropped nothing"
done
