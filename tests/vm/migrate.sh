# migrate(): move live connections from fe to be1 mid-conversation (the
# scenario of 20-migrate.sh and of `make demo`). Sourced after lib.sh and
# topology.sh, with the module loaded and the topology up.
#
#   client ---- fe (server A, holds SRV first) ==> be1 (server B, gets SRV)
#
# The client sends CLIENT_SEND1 bytes, server A reads 1000 of them (the
# rest stay unread in A) and writes SERVER_WRITE1 bytes into a 4 KiB
# receive window (the client holds some unread, A's send queue holds the
# rest). Each connection is dumped in fe, SRV moves to be1, the blobs are
# restored there and a plain server in be1 accept()s them. Both
# directions then finish; every stream must be SHA-256-identical to what
# was sent, and no RST may go out.

CLIENT_SEND1=4000 CLIENT_SEND=8000 SERVER_WRITE1=65536 SERVER_WRITE=100000 RCVBUF=4096

# migrate LABEL SRV_ADDR PREFIX CLIENT_ADDR ENDPOINT_FORMAT COUNT WHEN
# WHEN=early: the client sends its second part right after the dump,
# while SRV is still in fe: fe must hold those packets (no RST), and TCP
# retransmits them to be1. WHEN=late: it sends after the restore.
migrate() {
	label=$1 srv=$2 prefix=$3 cli=$4 fmt=$5 count=$6 when=$7
	dir=/tmp/mig-$label
	rm -rf "$dir" && mkdir -p "$dir"
	ep=$(printf "$fmt" "$srv" 7000)
	echo "--- $label: $count connection(s) to $ep"

	ip -n fe addr add "$srv/$prefix" dev eth0 nodad 2>/dev/null || ip -n fe addr add "$srv/$prefix" dev eth0
	n fe mig-peer serve "$ep" "$count" 1000 $SERVER_WRITE1 "$dir" &
	server_a=$!
	until n fe netstat -ltn | grep -q ":7000 "; do sleep 0.1; done
	n client mig-peer client "$ep" "$count" $CLIENT_SEND1 $CLIENT_SEND $RCVBUF "$dir" &
	client=$!
	wait_for "$dir/ready" 120
	wait_for "$dir/sent" 120
	sleep 1 # let ACKs and window updates settle
	first_port=$(ls "$dir"/srv-*.off | head -n 1 | sed 's/.*srv-\(.*\)\.off/\1/')
	echo "1. client sent $CLIENT_SEND1 bytes per connection; server A (fe) read 1000 and"
	echo "   wrote $(cat "$dir/srv-$first_port.off") of $SERVER_WRITE1 into the client's 4 KiB window"

	rsts_before=$(( $(tcp_counter client OutRsts) + $(tcp_counter fe OutRsts) + $(tcp_counter be1 OutRsts) ))
	t0=$(now_ms)
	for off in "$dir"/srv-*.off; do
		port=${off##*/srv-}
		port=${port%.off}
		tcpmig -n fe conn dump "$ep" "$(printf "$fmt" "$cli" "$port")" >"$dir/$port.blob"
	done
	dump_ms=$(( $(now_ms) - t0 ))
	echo "2. dumped $count connection(s) in fe (tcpmig -n fe conn dump); the blob of one:"
	tcpmig blob decode <"$dir/$first_port.blob" | sed 's/^/   | /'
	if [ "$when" = early ]; then
		held_before=$(tcpmig -n fe -j status | json_field held_packets)
		touch "$dir/go"
		sleep 1
		held=$(( $(tcpmig -n fe -j status | json_field held_packets) - held_before ))
		[ $held -gt 0 ] || fail "$label: fe held no packets of the frozen flow(s)"
		frozen=$(tcpmig -n fe -j status | json_field frozen_flows)
		# Earlier runs' flows may still be frozen (they expire after 180 s).
		[ "$frozen" -ge "$count" ] || fail "$label: $frozen frozen flows in fe, expected at least $count"
		echo "   the client sent more right away: fe held $held packet(s) instead of answering"
	fi
	# Server A's sockets are frozen now: closing them must send nothing.
	kill $server_a
	wait $server_a 2>/dev/null || true

	# The new owner first: SRV on be1 too, its server listening, the blobs
	# restored. The client still sends to fe (its neighbour entry), which
	# holds the flows' packets. Then SRV leaves fe and the client looks
	# it up again: its retransmissions reach be1.
	ip -n be1 addr add "$srv/$prefix" dev eth0 nodad 2>/dev/null || ip -n be1 addr add "$srv/$prefix" dev eth0
	n be1 mig-peer resume "$ep" "$count" $SERVER_WRITE "$dir" &
	server_b=$!
	wait_for "$dir/listening"
	t0=$(now_ms)
	for blob in "$dir"/*.blob; do
		tcpmig -n be1 conn restore <"$blob"
	done
	restore_ms=$(( $(now_ms) - t0 ))
	echo "3. restored the blobs in be1 (tcpmig -n be1 conn restore); server B accept()ed them"
	ip -n fe addr del "$srv/$prefix" dev eth0
	ip -n client neigh flush dev eth0
	echo "4. moved $srv from fe to be1; server A's frozen sockets closed silently"
	echo "   timing (debug kernel under TCG, one CLI run per connection): dump $dump_ms ms,"
	echo "   restore $restore_ms ms for $count connection(s)"
	touch "$dir/go"
	wait $client || fail "$label: client failed"
	wait $server_b || fail "$label: server B failed"

	want_srv=$(mig-peer gen client $CLIENT_SEND | sha256sum | cut -d' ' -f1)
	want_cli=$(mig-peer gen server $SERVER_WRITE | sha256sum | cut -d' ' -f1)
	checked=0
	for rx in "$dir"/srv-*.rx; do
		port=${rx##*/srv-}
		port=${port%.rx}
		[ "$(sha256sum <"$rx" | cut -d' ' -f1)" = "$want_srv" ] ||
			fail "$label: server side of port $port got $(wc -c <"$rx") bytes, not the client's stream"
		[ "$(sha256sum <"$dir/cli-$port.rx" | cut -d' ' -f1)" = "$want_cli" ] ||
			fail "$label: client port $port got $(wc -c <"$dir/cli-$port.rx") bytes, not the server's stream"
		checked=$((checked + 1))
	done
	echo "5. both directions finished:"
	echo "   client sent      $CLIENT_SEND bytes, sha256 $want_srv"
	echo "   servers A+B got  $(wc -c <"$dir/srv-$first_port.rx") bytes, sha256 $(sha256sum <"$dir/srv-$first_port.rx" | cut -d' ' -f1)"
	echo "   servers A+B sent $SERVER_WRITE bytes, sha256 $want_cli"
	echo "   client got       $(wc -c <"$dir/cli-$first_port.rx") bytes, sha256 $(sha256sum <"$dir/cli-$first_port.rx" | cut -d' ' -f1)"
	expect_eq "$label: connections checked" "$count" "$checked"
	rsts_after=$(( $(tcp_counter client OutRsts) + $(tcp_counter fe OutRsts) + $(tcp_counter be1 OutRsts) ))
	expect_eq "$label: RSTs sent" 0 $((rsts_after - rsts_before))
	ok "$label: streams SHA-256-identical both ways ($want_srv / $want_cli)"
	ip -n be1 addr del "$srv/$prefix" dev eth0
}

