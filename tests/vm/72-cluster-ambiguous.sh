# The migrator channel gives up after the blob went out (be1's answers
# are blackholed, so no ack can come in time): the outcome is unknown, so fe
# must not keep the connection alive next to the back-end's copy. Either
# nothing reached be1 (rolled back, the connection goes on in fe) or it
# may have (ambiguous: reset, the client sees it, and counted). Never two
# owners, never a silent loss.
. /tests/vm/lib.sh
. /tests/netns/topology.sh
. /tests/vm/migrate.sh
. /tests/vm/cluster.sh

lsmod | grep -q '^tcpmig' || insmod /lib/modules/tcpmig.ko
topology_up
cluster_up

# A first migration to be1 leaves the channel open (no connect later).
cluster_migrate label=warm vip=$VIP4 to=be1

scratch_dir dir amb
# be1 listens without accepting: an injected connection waits there.
spawn queue be1 mig-peer listen "$VIP4:7300" "$dir"
wait_for "$dir/listening"
spawn server fe mig-peer serve "$VIP4:7300" 1 1000 1000 "$dir"
wait_listening fe 7300
spawn client client mig-peer client "$VIP4:7300" 1 4000 8000 4096 "$dir"
wait_for "$dir/ready" 120
wait_for "$dir/sent" 120
port=$(ls "$dir"/srv-*.off | sed 's/.*srv-\(.*\)\.off/\1/')
# Whatever be1 sends to fe from now on is lost: the blob still arrives,
# its ack never does. The cut does not depend on how fast be1 injects.
ip -n be1 route add blackhole "$(node_addr4 fe)/32"
failed=$(counter fe migrations_failed) ambiguous=$(counter fe migrations_ambiguous)
rc=0
tcpmig -n fe conn migrate "$VIP4:7300" "$(node_addr4 client):$port" to be1 timeout 20 \
	>"$SCRATCH/out" 2>"$SCRATCH/err" || rc=$?
ip -n be1 route del blackhole "$(node_addr4 fe)/32"
cat "$SCRATCH/err"
expect_eq "a migration cut short fails" 1 "$rc"
if [ "$(counter fe migrations_ambiguous)" = $((ambiguous + 1)) ]; then
	grep -q "no answer from the peer" "$SCRATCH/err" || fail "ambiguous, but not said so"
	! n fe netstat -tn | grep -q ":$port .*ESTABLISHED" ||
		fail "ambiguous, and the connection still lives in fe"
	touch "$dir/go"
	! wait_pid $client 60 || fail "the client did not see its connection reset"
	ok "ambiguous outcome: the connection was reset in fe, the client saw it, counted"
else
	expect_eq "rolled back instead" $((failed + 1)) "$(counter fe migrations_failed)"
	n fe netstat -tn | grep -q ":$port .*ESTABLISHED" ||
		fail "rolled back, but the connection is gone from fe"
	ok "nothing reached be1 in time: rolled back, the connection goes on in fe"
fi
stop $server $queue

# A key holder hands be1 a loopback connection: be1 must not inject it
# into its loopback-only service "from 127.0.0.1" (a database, a
# container runtime's API). A loopback address is never served: it
# refuses, counted; fe rolls it back.
scratch_dir dir lo
spawn queue be1 mig-peer listen 127.0.0.1:7310 "$dir"
wait_for "$dir/listening"
spawn server fe mig-peer serve 127.0.0.1:7310 1 1000 1000 "$dir"
wait_listening fe 7310
spawn client fe mig-peer client 127.0.0.1:7310 1 4000 8000 4096 "$dir"
wait_for "$dir/sent" 120
port=$(ls "$dir"/srv-*.off | sed 's/.*srv-\(.*\)\.off/\1/')
refused=$(counter be1 refused_migrations)
expect_fail "a loopback connection to be1" 1 "serves the peer no such" \
	tcpmig -n fe conn migrate 127.0.0.1:7310 127.0.0.1:$port to be1
expect_eq "be1 refused it, counted" $((refused + 1)) "$(counter be1 refused_migrations)"
n be1 netstat -tn | grep -q "127.0.0.1:7310 .*ESTABLISHED" &&
	fail "be1 holds a loopback connection a peer handed it"
n fe netstat -tn | grep -q "127.0.0.1:7310 .*127.0.0.1:$port .*ESTABLISHED" ||
	fail "refused, but the connection is gone from fe"
ok "a peer's loopback connection is refused; it goes on in fe"
stop $client $server $queue

# held DIR BE ADDR:PORT NS SRC: BE listens at ADDR:PORT without
# accepting, fe serves it too (an HTTP server waiting for a body), and a
# client in NS connects from SRC and holds the connection open; $port is
# the client's port once fe has the connection established. (Its
# variables are its own: lib.sh's helpers use _-prefixed ones.)
held() {
	held_dir=$1 held_be=$2 held_ep=$3 held_ns=$4 held_src=$5
	spawn queue "$held_be" mig-peer listen "$held_ep" "$held_dir"
	wait_for "$held_dir/listening"
	spawn server fe mig-peer http "$held_ep" fe 0 100 "$held_dir"
	wait_listening fe "${held_ep##*:}"
	spawn client "$held_ns" sh -c "exec mig-peer request $held_ep /held -S $held_src -d 10 -k 900000 >$held_dir/req"
	held_i=0
	until port=$(sed -n 's/^port //p' "$held_dir/req" 2>/dev/null) && [ -n "$port" ] &&
		n fe netstat -tn | grep -q "$held_src:$port .*ESTABLISHED"; do
		held_i=$((held_i + 1))
		[ $held_i -le 600 ] || fail "no connection from $held_src to $held_ep"
		sleep 0.1
	done
}
# expect_refused BE WHAT MESSAGE ADDR:PORT SRC: fe's migration of the
# held connection to BE fails saying MESSAGE; BE counts the refusal, and
# the connection goes on in fe.
expect_refused() {
	refused_before=$(counter "$1" refused_migrations)
	expect_fail "$2" 1 "$3" tcpmig -n fe conn migrate "$4" "$5:$port" to "$1"
	expect_eq "$1 refused it, counted" $((refused_before + 1)) "$(counter "$1" refused_migrations)"
	n fe netstat -tn | grep -q "$5:$port .*ESTABLISHED" ||
		fail "refused, but the connection is gone from fe"
}

# At a VIP be1 serves fe, "from" 127.0.0.1 (a service that trusts
# localhost): refused as well.
scratch_dir dir lo-client
held "$dir" be1 "$VIP4:7315" fe 127.0.0.1
expect_refused be1 "a connection from 127.0.0.1 to be1's VIP" "client address is loopback" \
	"$VIP4:7315" 127.0.0.1
ok "a peer's connection from 127.0.0.1 is refused"
stop $client $server $queue

# be2 serves fe one port of the VIP: another port is not fe's to hand.
tcpmig -n be2 peer del fe
tcpmig -n be2 peer add fe "$(node_addr4 fe)" serve $VIP4:7340
tcpmig -n be2 peer list
scratch_dir dir port
cli4=$(node_addr4 client)
held "$dir" be2 "$VIP4:7341" client "$cli4"
expect_refused be2 "a connection to a port be2 does not serve fe" "serves the peer no such" \
	"$VIP4:7341" "$cli4"
ok "a peer served one port of the VIP hands no other"
stop $client $server $queue
tcpmig -n be2 peer del fe
tcpmig -n be2 peer add fe "$(node_addr4 fe)" serve $VIP4

# A key holder hands be1 a connection "from" an address of be1's own (a
# service trusting its host's addresses, as PostgreSQL's samehost does):
# refused too. be1 gets a second address; fe, which holds it on its
# loopback for the test, has a client connect from it to the VIP.
scratch_dir dir samehost
own=198.51.100.3
ip -n be1 addr add $own/32 dev lo
ip -n fe addr add $own/32 dev lo
held "$dir" be1 "$VIP4:7320" fe "$own"
expect_refused be1 "a connection from be1's own address" "this node's" "$VIP4:7320" "$own"
ok "a peer's connection from be1's own address is refused; it goes on in fe"
stop $client $server $queue

# be1 serves fe its VIPs only (cluster_up: peer add ... serve): a
# private service on be1's other address is not fe's to hand a
# connection to.
scratch_dir dir serve
fe4=$(node_addr4 fe)
held "$dir" be1 "$own:7330" fe "$fe4"
expect_refused be1 "a connection to an address be1 does not serve fe" "serves the peer no such" \
	"$own:7330" "$fe4"
ok "a peer's connection to an address be1 does not serve it is refused"
stop $client $server $queue
topology_down
rmmod tcpmig
