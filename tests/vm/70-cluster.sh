# Cluster migration: fe migrates live connections to be1 and be2 with
# `tcpmig conn migrate`; their client packets reach the back-ends encapsulated
# (the flow id in the ports), the back-ends answer the client directly.
# IPv4 and IPv6, one and 200 at once, 10 MiB each way after the
# hand-off, data sent during the hand-off,
# refusals rolled back, forged packets dropped (cluster.sh).
. /tests/vm/lib.sh
. /tests/netns/topology.sh
. /tests/vm/migrate.sh
. /tests/vm/cluster.sh

lsmod | grep -q '^tcpmig' || insmod /lib/modules/tcpmig.ko
topology_up
cluster_up
tcpmig -n fe peer list
# The events of fe and be1, for the checks at the end.
monitor mon_fe fe "$SCRATCH/fe.events"
monitor mon_be1 be1 "$SCRATCH/be1.events"
sleep 1

cluster_migrate label=v4 vip=$VIP4 to=be1
cluster_migrate label=v6 vip=$VIP6 to=be2
cluster_migrate label=v4-early vip=$VIP4 to=be1 when=early
cluster_migrate label=v4-many vip=$VIP4 to=be1,be2 count=200 write1=16384 write=40000
# 10 MiB more each way after the hand-off, through the forwarding path.
cluster_migrate label=v4-10mib vip=$VIP4 to=be2 send=10489760 write=10551296
# No server on be2's port 7000 yet: be2 refuses, fe rolls back, and the
# same connections then move to be1.
cluster_migrate label=v4-refused vip=$VIP4 to=be1 count=2 refuse=be2:"no listener"

# A back-end with another key: fe sees it before sending anything.
mig-peer gen client 32 >"$SCRATCH/other.key"
tcpmig -n be2 config set cluster-key-file "$SCRATCH/other.key"
cluster_migrate label=v4-wrong-key vip=$VIP4 to=be1 refuse=be2:"key"
tcpmig -n be2 config set cluster-key-file "$KEY"

# A back-end whose migrator is down (moved to another port): nothing
# listens where fe sends.
tcpmig -n be2 config set migrator-port 4800
cluster_migrate label=v4-migrator-down vip=$VIP4 to=be1 refuse=be2:"unreachable"
tcpmig -n be2 config set migrator-port 4737

# A back-end that does not know fe as a peer drops its connections.
tcpmig -n be2 peer del fe
cluster_migrate label=v4-not-a-peer vip=$VIP4 to=be1 refuse=be2:"unreachable"
tcpmig -n be2 peer add fe "$(node_addr4 fe)" serve $VIP4

# Flows end: once a back-end's socket is gone (TIME_WAIT over), the
# back-end drops the flow and tells fe, which drops it too.
i=0
until [ "$(counter fe forward_flows)" = 0 ] && [ "$(counter be1 decap_flows)" = 0 ] &&
	[ "$(counter be2 decap_flows)" = 0 ]; do
	i=$((i + 1))
	[ $i -le 150 ] || fail "flows still live 150 s after their connections closed: $(tcpmig -n fe flow list)"
	sleep 1
done
ok "every flow ended on both sides once its connection was gone (after ${i} s)"

# The monitors saw it all: every migration and its end on fe, the
# rollbacks, and on be1 the connections it took.
stop $mon_fe $mon_be1
events() { grep -c "\"event\":\"$2\"" "$SCRATCH/$1.events" || true; }
expect_eq "fe's migrated events" "$(counter fe migrations_ok)" "$(events fe migrated)"
expect_eq "fe's rolled-back events" "$(counter fe migrations_failed)" "$(events fe rolled-back)"
expect_eq "fe's flow-ended events" "$(counter fe migrations_ok)" "$(events fe flow-ended)"
expect_eq "be1's accepted events" "$(counter be1 accepted_migrations)" "$(events be1 accepted)"
head -n 2 "$SCRATCH/fe.events"
# Each hand-off carries its stages, in the order they happen: fe's from
# the start to done, be1's received and injected, on one clock.
stages_in_order() { # FILE EVENT STAGE...
	_file=$1 _event=$2
	shift 2
	grep "\"event\":\"$_event\"" "$_file" >"$SCRATCH/stages"
	[ -s "$SCRATCH/stages" ] || fail "no $_event events in $_file"
	while read -r line; do
		prev=0
		for stage; do
			t=$(echo "$line" | sed -n "s/.*\"$stage\":\([0-9]*\).*/\1/p")
			[ -n "$t" ] || fail "a $_event event without its $stage time: $line"
			[ "$t" -ge "$prev" ] || fail "a $_event event's $stage came before the stage ahead of it: $line"
			prev=$t
		done
	done <"$SCRATCH/stages"
}
stages_in_order "$SCRATCH/fe.events" migrated start frozen channel sent acked forwarding done
stages_in_order "$SCRATCH/be1.events" accepted received injected
# be1's injection falls inside fe's wait for the ack, on the one clock.
port=$(grep '"event":"accepted"' "$SCRATCH/be1.events" | sed -n 's/.*"client":"192.0.2.1:\([0-9]*\)".*/\1/p' | head -n 1)
fe_line=$(grep '"event":"migrated"' "$SCRATCH/fe.events" | grep '"peer":"192.0.2.3"' |
	grep "\"client\":\"192.0.2.1:$port\"" | head -n 1)
be_line=$(grep '"event":"accepted"' "$SCRATCH/be1.events" | grep "\"client\":\"192.0.2.1:$port\"" | head -n 1)
t() { echo "$1" | sed -n "s/.*\"$2\":\([0-9]*\).*/\1/p"; }
# (Not sent: be1 can read the blob before fe's send returns.)
[ "$(t "$fe_line" channel)" -le "$(t "$be_line" received)" ] &&
	[ "$(t "$be_line" injected)" -le "$(t "$fe_line" acked)" ] ||
	fail "be1's stages are not inside fe's exchange: $fe_line / $be_line"
ok "every hand-off's stages are in order, be1's inside fe's exchange"

# Forged encapsulated packets: to be1's flow port from a node that is not
# its peer, and from fe with a flow id that is not live. Both dropped and
# counted; the connection attempts get no answer at all (no RST).
flow_port=$(counter be1 flow_port)
expect_eq "be1's flow port" 4738 "$flow_port"
dropped_before=$(counter be1 decap_dropped)
! n client timeout 3 nc 192.0.2.3 $flow_port </dev/null || fail "a client reached be1's flow port"
# fe's source port is the flow number: one no live flow of fe's has
# (they are drawn at random).
forged=40000
while tcpmig -n fe -j flow list | grep -o '"flow_id":[0-9]*' | sed 's/.*://' |
	awk -v p=$forged 'int($1 / 65536) == p { found = 1 } END { exit !found }'; do
	forged=$((forged + 1))
done
! n fe timeout 3 nc -p $forged 192.0.2.3 $flow_port </dev/null ||
	fail "fe reached be1's flow port outside a flow"
! n fe timeout 3 nc -p $forged 2001:db8::3 $flow_port </dev/null ||
	fail "fe reached be1's flow port over IPv6"
dropped=$(( $(counter be1 decap_dropped) - dropped_before ))
[ $dropped -ge 3 ] || fail "be1 dropped $dropped forged packets, expected at least 3 SYNs"
ok "forged encapsulated packets dropped and counted ($dropped)"
# Ordinary traffic between the nodes is untouched.
spawn plain be1 nc -l -p 7100
sleep 1
echo hello | n fe nc -w 2 192.0.2.3 7100 || fail "plain TCP from fe to be1 failed"
wait_pid $plain 10 || true

# /proc/net/tcpmig says what status says.
for node in fe be1; do
	for field in migrations_ok accepted_migrations decapsulated_packets forwarded_packets; do
		expect_eq "$node /proc/net/tcpmig $field" "$(counter $node $field)" \
			"$(n $node cat /proc/net/tcpmig | sed -n "s/^$field //p")"
	done
done
tcpmig -n fe status
tcpmig -n be1 status
topology_down
rmmod tcpmig
