# Guest B of tests/qemu/pair: the back-end. It has the VIP on a dummy
# device (arp_ignore: only guest A answers ARP for it), takes the
# connection guest A migrates with a plain accept() server (mig-peer
# resume), gets the client's packets encapsulated through A and answers
# the client directly.
. /tests/vm/lib.sh
. /tests/pair/common.sh

sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2
ip addr add $BE/24 dev eth0
ip addr add 2001:db8::3/64 dev eth0 nodad
ip link set eth0 up
ip link add vip type dummy
ip addr add $VIP4/32 dev vip
ip addr add 2001:db8::100/128 dev vip nodad preferred_lft 0
ip link set vip up

join_cluster fe $FE serve $VIP4

# Where phase 1 stopped, from guest A (which needs its own boot and the
# module's KUnit run first): then the server, then tell A.
scratch_dir dir pair
recv_line $PHASE1 600 "$dir/phase1" || fail "guest A never said where phase 1 stopped"
read -r cport off <"$dir/phase1"
echo "1. guest A: client port $cport, server A wrote $off bytes"
echo "$off" >"$dir/srv-$cport.off"
spawn_here resume mig-peer resume "$VIP4:$PORT" 1 $WRITE "$dir"
wait_for "$dir/listening"
send_line $FE $READY 60 listening

wait_pid $resume 600 || fail "the back-end's server failed"
# It read the client's stream from where server A stopped reading.
want=$(mig-peer gen client $SEND | tail -c +$((READ1 + 1)) | sha256sum | cut -d' ' -f1)
got=$(sha256sum <"$dir/srv-$cport.rx" | cut -d' ' -f1)
[ "$got" = "$want" ] ||
	fail "the back-end got $(wc -c <"$dir/srv-$cport.rx") bytes (sha256 $got), not bytes $READ1..$SEND of the client stream ($want)"
ok "the back-end got bytes $READ1..$SEND of the client stream, sha256 $want"
expect_eq "accepted migrations" 1 "$(counter accepted_migrations)"
decap=$(counter decapsulated_packets)
[ "$decap" -gt 0 ] || fail "no packet decapsulated"
ok "$decap packets decapsulated"
tcpmig flow list

# The flow goes once the socket is gone (TIME_WAIT included); fe hears.
wait_counter decap_flows 0 150
tcpmig status
