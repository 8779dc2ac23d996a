# `make bench`, in the guest: every scenario of
# Documentation/tcpmig/performance.rst, tcpmig and the baselines side by
# side in one topology (tests/netns/topology.sh). This script measures
# only: it writes each raw result as a FILE block on the results console
# (bench_file), and tests/bench/report.py makes the tables, the JSON and
# CSV, and the plots on the host. It fails when a tool fails: a number
# from a broken run is no number.
. /tests/vm/lib.sh
. /tests/netns/topology.sh
. /tests/vm/cluster.sh

# Connections per run of scenario 1, and the quick setting for trying the
# harness (tcpmig.bench=quick on the kernel command line).
count=100 many=200 bulk=$((64 << 20)) rounds=2000
grep -q 'tcpmig.bench=quick' /proc/cmdline && count=20 many=40 bulk=$((8 << 20)) rounds=200

lsmod | grep -q '^tcpmig' || insmod /lib/modules/tcpmig.ko
topology_up
cluster_up
scratch_dir dir bench

# bench_file NAME FILE: FILE's lines, for the host.
bench_file() {
	echo "=== FILE $1"
	cat "$2"
	echo "=== END FILE"
}

# rows_since OFFSET FILE: the CSV header and the rows after byte OFFSET.
rows_since() {
	head -n 1 "$2"
	tail -c +$(($1 + 1)) "$2" | grep -v '^port,'
}

# The baselines' forwarding, as a user would set it up: an ipip tunnel
# from fe to be1, and table 100 sending the VIP into it. FIB rules steer
# a flow there: the baseline's front adds one per moved connection, the
# L4 tunnel one for its port. The local table's rule moves after them.
n fe ip link add ipip-be1 type ipip local 192.0.2.2 remote 192.0.2.3
n fe ip link set ipip-be1 up
n fe ip route add $VIP4/32 dev ipip-be1 table 100
n fe ip rule add pref 1000 lookup local
n fe ip rule del pref 0
n fe sysctl -qw net.ipv4.ip_forward=1
n fe ip rule add pref 400 iif eth0 ipproto 6 dport 81 lookup 100
n be1 ip link set tunl0 up
for k in all default tunl0; do n be1 sysctl -qw net.ipv4.conf.$k.rp_filter=0; done

# The back-end's applications: one accept()s (tcpmig, direct, ipip), one
# takes the baseline's rebuilt sockets from its daemon.
spawn serve be1 mig-bench serve --listen $VIP4:80 be1 --log "$dir/serve.csv"
spawn serve81 be1 mig-bench serve --listen $VIP4:81 be1 --log "$dir/serve81.csv"
spawn direct be1 mig-bench serve --listen 192.0.2.3:9100 be1
spawn served be1 mig-bench serve --unix /run/bench.sock be1 --log "$dir/serve-unix.csv"
spawn target be1 repair-mig target 192.0.2.3:7000 /run/bench.sock
spawn rtts be1 mig-bench rtt-server 192.0.2.3:9000
wait_listening be1 9000
wait_listening be1 7000
wait_for /run/bench.sock
# Both servers' logs start with their header, for rows_since.
wait_for "$dir/serve.csv"
wait_for "$dir/serve-unix.csv"

echo "--- 0: the front-end <-> back-end round trip"
for size in 1024 131072; do
	n fe mig-bench rtt 192.0.2.3:9000 200 $size >"$dir/rtt-$size.json"
	bench_file "rtt size=$size" "$dir/rtt-$size.json"
done

# handoffs MODE CONC LOAD COUNT: COUNT connections, CONC at once, through
# MODE's front-end (tcpmig: `mig-bench front`, which calls `tcpmig conn
# migrate`; baseline: `repair-mig front`); LOAD idle, or queued: 64 KB
# in the receive queue (the client's padding) and 64 KB in the send
# queue (the front wrote it, the client's small window holds it back).
handoffs() {
	mode=$1 conc=$2 load=$3 total=$4
	run="$mode c=$conc load=$load"
	rm -f "$dir"/front.csv "$dir"/clients.csv "$dir"/fe.events "$dir"/be1.events
	# The servers run throughout, their logs growing: this run's rows are
	# what comes after these offsets.
	serve_at=$(wc -c <"$dir/serve.csv") unix_at=$(wc -c <"$dir/serve-unix.csv")
	opts= write=
	[ $load = idle ] || { opts="--pad 65536 --rcvbuf 4096 --expect-write 65536"; write="--write 65536"; }
	if [ $mode = tcpmig ]; then
		monitor mon_fe fe "$dir/fe.events"
		monitor mon_be be1 "$dir/be1.events"
		# 10 s: at 100 at once the default 2 s can run out in the queue.
		spawn front fe mig-bench front $VIP4:80 be1 $write --timeout 10000 --log "$dir/front.csv"
	else
		spawn front fe repair-mig front $VIP4:80 192.0.2.3:7000 --tunnel-table 100 --rule-pref 500 $write --log "$dir/front.csv"
	fi
	wait_listening fe 80
	n client mig-bench clients $VIP4:80 $total $conc $opts --log "$dir/clients.csv" >"$dir/clients.json" ||
		fail "$run: clients failed: $(cat "$dir/clients.json")"
	sleep 1
	stop $front
	bench_file "handoff $run clients" "$dir/clients.csv"
	bench_file "handoff $run front" "$dir/front.csv"
	if [ $mode = tcpmig ]; then
		stop $mon_fe $mon_be
		rows_since $serve_at "$dir/serve.csv" >"$dir/serve-run.csv"
		bench_file "handoff $run serve" "$dir/serve-run.csv"
		bench_file "handoff $run fe-events" "$dir/fe.events"
		bench_file "handoff $run be-events" "$dir/be1.events"
	else
		rows_since $unix_at "$dir/serve-unix.csv" >"$dir/serve-run.csv"
		bench_file "handoff $run serve" "$dir/serve-run.csv"
		# The baseline's per-flow rules go (its front removes them when it
		# exits; whatever a killed one left, here).
		while n fe ip rule del pref 500 2>/dev/null; do :; done
	fi
	# Let the moved connections end before the next run takes ports.
	sleep 2
}

echo "--- 1, 2: hand-off latency and rate"
for mode in tcpmig baseline; do
	for conc in 1 10 100; do
		total=$count
		[ $conc != 100 ] || total=$many
		handoffs $mode $conc idle $total
	done
	handoffs $mode 10 queued $count
done

# tx_packets NODE: packets NODE's eth0 has sent.
tx_packets() { n "$1" cat /sys/class/net/eth0/statistics/tx_packets; }
# wire_gso N: at most N segments per GSO packet on the client's and fe's
# devices (1: none).
wire_gso() {
	n client ip link set dev eth0 gso_max_segs $1
	n fe ip link set dev eth0 gso_max_segs $1
	n fe ip link set dev ipip-be1 gso_max_segs $1
}

echo "--- 3: forwarding"
# Through tcpmig: the connection migrated to be1, its packets forwarded
# by fe, encapsulated in the ports. Direct: to be1's own address, no fe.
# ipip: fe routes VIP:81 into the tunnel (an L4 load balancer).
spawn front fe mig-bench front $VIP4:80 be1
wait_listening fe 80
for path in tcpmig direct ipip; do
	case $path in
	tcpmig) addr=$VIP4:80 ;;
	direct) addr=192.0.2.3:9100 ;;
	ipip) addr=$VIP4:81 ;;
	esac
	n client mig-bench bulk $addr $bulk >"$dir/bulk.json" || fail "bulk over $path: $(cat "$dir/bulk.json")"
	# Bytes on the wire per packet: another transfer with GSO off on the
	# client's and fe's devices (a GSO packet counts once in the
	# counters, with one header), so each counted packet is one on the
	# wire. What fe sends toward be1 per packet, less what the client
	# sent fe per packet, is what the path adds.
	wire_gso 1
	tx0=$(tx_bytes client) txp0=$(tx_packets client) fx0=$(tx_bytes fe) fxp0=$(tx_packets fe)
	n client mig-bench bulk $addr $((4 << 20)) >/dev/null || fail "the wire transfer over $path failed"
	tx1=$(tx_bytes client) txp1=$(tx_packets client) fx1=$(tx_bytes fe) fxp1=$(tx_packets fe)
	wire_gso 65535
	echo "{\"client_tx_bytes\":$((tx1 - tx0)),\"client_tx_packets\":$((txp1 - txp0)),\"fe_tx_bytes\":$((fx1 - fx0)),\"fe_tx_packets\":$((fxp1 - fxp0))}" >"$dir/wire.json"
	bench_file "bulk $path" "$dir/bulk.json"
	bench_file "wire $path" "$dir/wire.json"
	n client mig-bench rr $addr 100 $rounds >"$dir/rr.json" || fail "rr over $path: $(cat "$dir/rr.json")"
	bench_file "rr $path" "$dir/rr.json"
done
stop $front

echo "--- done"
ok "every scenario ran"
