# Cluster migration helpers (sourced after lib.sh, topology.sh and
# migrate.sh, with the module loaded and the topology up).
#
#   client ---> fe (VIP, server A accepts) ==blob==> be1/be2 (server B)
#      ^                      |  forwards the client's packets,        |
#      |                      +-- encapsulated (flow id in the ports) -+
#      +------------------ replies straight from the back-end, from VIP

KEY=$SCRATCH/cluster.key

# cluster_up: the cluster key everywhere; fe knows be1 and be2 as peers
# (IPv4 and IPv6), each back-end knows fe and serves it the VIP of the
# peer's family, every port.
cluster_up() {
	mig-peer gen server 32 >"$KEY"
	for node in fe be1 be2; do
		tcpmig -n $node config set cluster-key-file "$KEY"
	done
	for be in be1 be2; do
		tcpmig -n fe peer add $be "$(node_addr4 $be)"
		tcpmig -n fe peer add $be-6 "$(node_addr6 $be)"
		tcpmig -n $be peer add fe "$(node_addr4 fe)" serve $VIP4
		tcpmig -n $be peer add fe-6 "$(node_addr6 fe)" serve $VIP6
	done
}

# counter NODE FIELD: a counter of `tcpmig -n NODE -j status`.
counter() { tcpmig -n "$1" -j status | json_field "$2"; }

# tx_bytes NODE: bytes NODE's eth0 has sent.
tx_bytes() { n "$1" cat /sys/class/net/eth0/statistics/tx_bytes; }

# cluster_migrate label=LABEL vip=ADDR to=BE[,BE...] [count=N]
#                 [send1=B] [send=B] [write1=B] [write=B] [when=late|early]
#                 [refuse=PEER:MESSAGE]
#   Server A on fe accepts count connections on vip:7000, reads 1000
#   bytes of each and writes write1; each connection then migrates to the
#   next back-end of `to` (round-robin) with `tcpmig conn migrate`, where a
#   plain server accept()s it and finishes the conversation. The client
#   sends the rest after the migrations (late) or right before them
#   (early: fe holds, then forwards). Streams are SHA-256-checked, no RST
#   may go out, and the back-ends' replies must not cross fe. With
#   refuse, each connection first tries PEER, which must fail saying
#   MESSAGE and leave the connection where it was (rolled back).
cluster_migrate() {
	label= vip= to= count=1 send1=4000 send=8000 write1=65536 write=100000 when=late refuse=
	for arg; do
		case $arg in
		label=* | vip=* | to=* | count=* | send1=* | send=* | write1=* | write=* | when=* | refuse=*)
			eval "${arg%%=*}=\${arg#*=}" ;;
		*) fail "cluster_migrate: unknown argument '$arg'" ;;
		esac
	done
	case $vip in
	*:*) cli=$(node_addr6 client) suffix=-6 ;;
	*) cli=$(node_addr4 client) suffix= ;;
	esac
	scratch_dir dir "cl-$label"
	ep=$(endpoint "$vip" 7000)
	bes=$(echo "$to" | tr , ' ')
	echo "--- $label: $count connection(s) to $ep, migrated to $bes"

	spawn server_a fe mig-peer serve "$ep" "$count" 1000 $write1 "$dir"
	wait_listening fe 7000
	# Each back-end's plain server takes its share of the connections.
	nbes=$(echo $bes | wc -w)
	i=0 servers=
	for be in $bes; do
		share=$(( count / nbes + (i < count % nbes) ))
		i=$((i + 1))
		[ $share -gt 0 ] || continue
		rm -f "$dir/listening"
		spawn pid $be mig-peer resume "$ep" $share $write "$dir"
		servers="$servers $pid"
		wait_for "$dir/listening"
	done
	spawn client_pid client mig-peer client "$ep" "$count" $send1 $send 4096 "$dir"
	wait_for "$dir/ready" 120
	wait_for "$dir/sent" 120
	sleep 1
	[ "$when" = early ] && touch "$dir/go"

	rsts_before=$(( $(tcp_counter client OutRsts) + $(tcp_counter fe OutRsts) ))
	ok_before=$(counter fe migrations_ok)
	t0=$(now_ms)
	if [ -n "$refuse" ]; then
		failed_before=$(counter fe migrations_failed)
		for off in "$dir"/srv-*.off; do
			port=${off##*/srv-}
			port=${port%.off}
			expect_fail "$label: migrate to ${refuse%%:*}" 1 "${refuse#*:}" \
				tcpmig -n fe conn migrate "$ep" "$(endpoint "$cli" "$port")" to "${refuse%%:*}"
			n fe netstat -tn | grep -q ":$port .*ESTABLISHED" ||
				fail "$label: port $port is no longer established in fe after the rollback"
		done
		expect_eq "$label: rolled back" $count $(( $(counter fe migrations_failed) - failed_before ))
	fi
	set -- $bes
	for off in "$dir"/srv-*.off; do
		port=${off##*/srv-}
		port=${port%.off}
		be=$1
		shift
		[ $# -gt 0 ] || set -- $bes
		tcpmig -n fe conn migrate "$ep" "$(endpoint "$cli" "$port")" to "$be$suffix" >>"$dir/migrations"
		echo "$port $be" >>"$dir/placement"
	done
	migrate_ms=$(( $(now_ms) - t0 ))
	echo "1. migrated $count connection(s) in $migrate_ms ms; the first:"
	head -n 1 "$dir/migrations" | sed 's/^/   | /'
	expect_eq "$label: migrations acked" $count $(( $(counter fe migrations_ok) - ok_before ))
	# Server A's sockets are frozen: closing them sends nothing.
	stop $server_a

	fe_tx_before=$(tx_bytes fe)
	touch "$dir/go"
	wait_pid $client_pid 600 || fail "$label: client failed"
	for pid in $servers; do wait_pid $pid 600 || fail "$label: a back-end server failed"; done
	fe_tx=$(( $(tx_bytes fe) - fe_tx_before ))

	want_srv=$(mig-peer gen client $send | sha256sum | cut -d' ' -f1)
	want_cli=$(mig-peer gen server $write | sha256sum | cut -d' ' -f1)
	checked=0
	while read -r port be; do
		[ "$(sha256sum <"$dir/srv-$port.rx" | cut -d' ' -f1)" = "$want_srv" ] ||
			fail "$label: port $port: fe+$be got $(wc -c <"$dir/srv-$port.rx") bytes, not the client's stream"
		[ "$(sha256sum <"$dir/cli-$port.rx" | cut -d' ' -f1)" = "$want_cli" ] ||
			fail "$label: client port $port got $(wc -c <"$dir/cli-$port.rx") bytes, not the server's stream"
		[ $checked -ge 4 ] || printf '   %s -> %s: client sent %s B, fe+%s got %s B (sha256 %.16s..); %s sent, client got %s B (sha256 %.16s..)\n' \
			"$cli:$port" "$be" $send "$be" "$(wc -c <"$dir/srv-$port.rx")" "$want_srv" "$be" \
			"$(wc -c <"$dir/cli-$port.rx")" "$want_cli"
		checked=$((checked + 1))
	done <"$dir/placement"
	expect_eq "$label: connections checked" "$count" "$checked"
	rsts_after=$(( $(tcp_counter client OutRsts) + $(tcp_counter fe OutRsts) ))
	expect_eq "$label: RSTs sent" 0 $((rsts_after - rsts_before))
	# The back-ends sent about write - write1 bytes per connection to
	# the client, straight; fe forwarded only the client's bytes and ACKs
	# (a few percent of the replies). Had the replies crossed fe, it
	# would have sent them all once more.
	replies=$(( count * (write - write1) ))
	bound=$(( count * (send - send1) * 11 / 10 + replies / 4 + count * 10000 ))
	[ $fe_tx -lt $bound ] && [ $bound -lt $(( replies + count * (send - send1) )) ] ||
		fail "$label: fe sent $fe_tx bytes (bound $bound): replies crossed the front-end"
	ok "$label: streams SHA-256-identical both ways; fe sent only $fe_tx bytes after the hand-off"
}
