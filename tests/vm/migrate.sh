# migrate(): move live connections from fe to be1 mid-conversation (the
# scenario of 20-migrate.sh and of `make demo`). Sourced after lib.sh and
# topology.sh, with the module loaded and the topology up.
#
#   client ---- fe (server A, holds SRV first) ==> be1 (server B, gets SRV)
#
# The client sends CLIENT_SEND1 bytes, server A reads 1000 of them (the
# rest stay unread in A) and writes SERVER_WRITE1 bytes into a 4 KiB
# receive window (the client holds some unread, A's send queue holds the
# rest). Each connection is captured in fe, SRV moves to be1, the blobs
# are injected there and a plain server in be1 accept()s them. Both
# directions then finish; every stream must be SHA-256-identical to what
# was sent, and no RST may go out.

CLIENT_SEND1=4000 CLIENT_SEND=8000 SERVER_WRITE1=65536 SERVER_WRITE=100000 RCVBUF=4096

# endpoint ADDR PORT: ADDR:PORT, or [ADDR]:PORT for IPv6.
endpoint() {
	case $1 in
	*:*) echo "[$1]:$2" ;;
	*) echo "$1:$2" ;;
	esac
}

# migrate label=LABEL srv=ADDR/PREFIX [count=N] [when=early|late]
#   label  names the run in messages and its scratch directory
#   srv    the server address SRV (IPv4 or IPv6) and its prefix length; the
#          client connects from its own address of that family
#   count  connections moved at once (default 1)
#   when   early: the client sends its second part right after the
#          capture, while SRV is still in fe: fe must hold those packets
#          (no RST), and TCP retransmits them to be1. late (default): it
#          sends after the inject.
migrate() {
	label= srv= count=1 when=late
	for arg; do
		case $arg in
		label=* | srv=* | count=* | when=*) eval "${arg%%=*}=\${arg#*=}" ;;
		*) fail "migrate: unknown argument '$arg'" ;;
		esac
	done
	[ -n "$label" ] || fail "migrate: label= is required"
	case $srv in */*) ;; *) fail "migrate: srv=ADDR/PREFIX is required, got '$srv'" ;; esac
	case $when in early | late) ;; *) fail "migrate: when=$when, not early or late" ;; esac
	prefix=${srv#*/} srv=${srv%/*}
	case $srv in
	*:*) cli=$(node_addr6 client) ;;
	*) cli=$(node_addr4 client) ;;
	esac
	scratch_dir dir "mig-$label"
	ep=$(endpoint "$srv" 7000)
	echo "--- $label: $count connection(s) to $ep"

	ip -n fe addr add "$srv/$prefix" dev eth0 nodad 2>/dev/null || ip -n fe addr add "$srv/$prefix" dev eth0
	spawn server_a fe mig-peer serve "$ep" "$count" 1000 $SERVER_WRITE1 "$dir"
	wait_listening fe 7000
	spawn client_pid client mig-peer client "$ep" "$count" $CLIENT_SEND1 $CLIENT_SEND $RCVBUF "$dir"
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
		tcpmig -n fe conn capture "$ep" "$(endpoint "$cli" "$port")" >"$dir/$port.blob"
	done
	capture_ms=$(( $(now_ms) - t0 ))
	echo "2. captured $count connection(s) in fe (tcpmig -n fe conn capture); the blob of one:"
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
	stop $server_a

	# The new owner first: SRV on be1 too, its server listening, the blobs
	# injected. The client still sends to fe (its neighbour entry), which
	# holds the flows' packets. Then SRV leaves fe and the client looks
	# it up again: its retransmissions reach be1.
	ip -n be1 addr add "$srv/$prefix" dev eth0 nodad 2>/dev/null || ip -n be1 addr add "$srv/$prefix" dev eth0
	spawn server_b be1 mig-peer resume "$ep" "$count" $SERVER_WRITE "$dir"
	wait_for "$dir/listening"
	t0=$(now_ms)
	for blob in "$dir"/*.blob; do
		tcpmig -n be1 conn inject <"$blob"
	done
	inject_ms=$(( $(now_ms) - t0 ))
	echo "3. injected the blobs in be1 (tcpmig -n be1 conn inject); server B accept()ed them"
	ip -n fe addr del "$srv/$prefix" dev eth0
	ip -n client neigh flush dev eth0
	echo "4. moved $srv from fe to be1; server A's frozen sockets closed silently"
	echo "   timing (debug kernel under TCG, one CLI run per connection): capture $capture_ms ms,"
	echo "   inject $inject_ms ms for $count connection(s)"
	touch "$dir/go"
	wait_pid $client_pid 600 || fail "$label: client failed"
	wait_pid $server_b 600 || fail "$label: server B failed"

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

