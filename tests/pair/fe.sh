# Guest A of tests/qemu/pair: the front-end (this guest's root namespace)
# and the client (network namespace "client"). Server A accepts the
# client's connection on the VIP, `tcpmig conn migrate` moves it to guest B
# (peer "be") over the socket link, and the client finishes the
# conversation with B's server: its packets cross fe, encapsulated, B's
# replies come straight back.
. /tests/vm/lib.sh
. /tests/pair/common.sh

# br0 enslaves eth0 (the link to guest B) and the client's veth; fe's
# addresses are on br0. The VIP is a secondary address, so fe reaches B
# from 192.0.2.2; the IPv6 VIP is deprecated (never a source).
sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
ip link add br0 type bridge
ip link set eth0 master br0
ip link set eth0 up
ip link set br0 up
ip addr add $FE/24 dev br0
ip addr add 2001:db8::2/64 dev br0 nodad
ip addr add $VIP4/24 dev br0
ip addr add 2001:db8::100/64 dev br0 nodad preferred_lft 0
ip netns add client
n client ip link set lo up
ip link add v-client type veth peer name eth0 netns client
ip link set v-client master br0 up
n client sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
n client ip addr add $CLIENT/24 dev eth0
n client ip addr add 2001:db8::1/64 dev eth0 nodad
n client ip link set eth0 up

join_cluster be $BE

# Guest B boots on its own; give it 120 s to answer at all.
i=0
until ping -c 1 -W 1 $BE >/dev/null 2>&1; do
	i=$((i + 1))
	[ $i -le 120 ] || fail "guest B ($BE) does not answer ping after 120 s"
	sleep 1
done
ok "guest B answers ping (after $i s)"

# Phase 1, all in guest A: server A on the VIP, the client connects,
# sends SEND1 bytes; server A reads READ1 and writes what it can.
scratch_dir dir pair
ep=$VIP4:$PORT
spawn_here server_a mig-peer serve "$ep" 1 $READ1 $WRITE1 "$dir"
i=0
until netstat -ltn | grep -q ":$PORT "; do
	i=$((i + 1))
	[ $i -le 600 ] || fail "server A does not listen on $PORT"
	sleep 0.1
done
spawn client_pid client mig-peer client "$ep" 1 $SEND1 $SEND 4096 "$dir"
wait_for "$dir/ready" 120
wait_for "$dir/sent" 120
sleep 1
set -- "$dir"/srv-*.off
[ $# = 1 ] && [ -e "$1" ] || fail "expected one phase-1 record, got: $*"
cport=${1##*/srv-}
cport=${cport%.off}
off=$(cat "$1")
echo "1. $CLIENT:$cport -> $ep: server A read $READ1 B and wrote $off of $WRITE1 B"

# Tell B where phase 1 stopped; B then starts its server and says so.
spawn_here ready_pid recv_line $READY 600 "$dir/be-ready"
send_line $BE $PHASE1 600 "$cport $off"
wait_pid $ready_pid 600 || fail "guest B never said its server listens"
expect_eq "guest B's server" listening "$(cat "$dir/be-ready")"

rsts() {
	echo $(( $(tcp_counter client OutRsts) +
		$(awk '/^Tcp:/ { if (!h) { for (i = 1; i <= NF; i++) c[$i] = i; h = 1 } else print $c["OutRsts"] }' /proc/net/snmp) ))
}
rsts_before=$(rsts)
tcpmig conn migrate "$ep" "$CLIENT:$cport" to be timeout 10000
expect_eq "migrations acked" 1 "$(counter migrations_ok)"
expect_eq "forwarded flows" 1 "$(counter forward_flows)"
tcpmig flow list | tee "$dir/flows"
grep -q "^forward .*$CLIENT:$cport .*$ep " "$dir/flows" ||
	fail "tcpmig flow list does not show $CLIENT:$cport -> $ep as forwarded"
# Server A's socket is frozen: closing it sends nothing.
stop $server_a

# Phase 2: the client sends the rest through fe to B, B answers it.
tx_before=$(cat /sys/class/net/br0/statistics/tx_bytes)
touch "$dir/go"
wait_pid $client_pid 600 || fail "client failed"
fe_tx=$(( $(cat /sys/class/net/br0/statistics/tx_bytes) - tx_before ))

want=$(mig-peer gen client $READ1 | sha256sum | cut -d' ' -f1)
expect_eq "server A's phase-1 bytes (sha256)" "$want" "$(sha256sum <"$dir/srv-$cport.rx" | cut -d' ' -f1)"
want=$(mig-peer gen server $WRITE | sha256sum | cut -d' ' -f1)
got=$(sha256sum <"$dir/cli-$cport.rx" | cut -d' ' -f1)
[ "$got" = "$want" ] ||
	fail "the client got $(wc -c <"$dir/cli-$cport.rx") bytes (sha256 $got), not the server stream of $WRITE ($want)"
ok "the client got the server stream: $WRITE bytes, sha256 $want"
expect_eq "RSTs sent (client, fe)" 0 $(( $(rsts) - rsts_before ))
fwd=$(counter forwarded_packets)
[ "$fwd" -gt 0 ] || fail "fe forwarded no packets"
ok "fe forwarded $fwd packets"
# fe sent the client's bytes and ACKs on to B, not B's replies (which
# cross guest A's bridge only, never fe's stack).
replies=$((WRITE - WRITE1))
bound=$(( (SEND - SEND1) * 11 / 10 + replies / 4 + 10000 ))
[ $fe_tx -lt $bound ] || fail "fe sent $fe_tx bytes after the hand-off (bound $bound): replies crossed fe"
ok "fe sent $fe_tx bytes after the hand-off (bound $bound)"

# The flow ends: once B's socket is gone (TIME_WAIT over) B drops its
# flow and tells fe over the migrator channel.
wait_counter forward_flows 0 180
tcpmig status
