# migrate(): move live connections from fe to be1 mid-conversation (the
# scenario of 20-migrate.sh and of `make demo`). Sourced after lib.sh and
# topology.sh, with the module loaded and the topology up.
#
#   client ---- fe (server A, holds SRV first) ==> be1 (server B, gets SRV)
#
# The client sends send1 bytes, server A reads 1000 of them (the
# rest stay unread in A) and writes write1 bytes into a 4 KiB
# receive window (the client holds some unread, A's send queue holds the
# rest). Each connection is captured in fe, SRV moves to be1, the blobs
# are injected there and a plain server in be1 accept()s them. Both
# directions then finish; every stream must be SHA-256-identical to what
# was sent, and no RST may go out.

RCVBUF=4096

# endpoint ADDR PORT: ADDR:PORT, or [ADDR]:PORT for IPv6.
endpoint() {
	case $1 in
	*:*) echo "[$1]:$2" ;;
	*) echo "$1:$2" ;;
	esac
}

# migrate label=LABEL srv=ADDR/PREFIX [count=N] [when=early|late]
#         [send1=B] [send=B] [write1=B] [write=B] [buf=B] [scaling=0|1]
#   label  names the run in messages and its scratch directory
#   srv    the server address SRV (IPv4 or IPv6) and its prefix length; the
#          client connects from its own address of that family
#   count  connections moved at once (default 1)
#   when   early: the client sends its second part right after the
#          capture, while SRV is still in fe: fe must hold those packets
#          (no RST), and TCP retransmits them to be1. late (default): it
#          sends after the inject.
#   send1  bytes the client sends before the capture (default 4000; all
#          but 1000 stay unread in server A), send its total (8000)
#   write1 bytes server A writes before the capture (default 65536; most
#          stay queued in A), write what servers A and B write (100000)
#   buf    server A's SO_RCVBUF/SO_SNDBUF, for queues beyond the defaults
#   scaling 0: the client's namespace turns window scaling off for the
#          run, so the connection has none
#   within seconds both directions have to finish after the move (600)
migrate() {
	label= srv= count=1 when=late send1=4000 send=8000 write1=65536 write=100000 buf= scaling=1 within=600
	for arg; do
		case $arg in
		label=* | srv=* | count=* | when=* | send1=* | send=* | write1=* | write=* | buf=* | scaling=* | within=*)
			eval "${arg%%=*}=\${arg#*=}" ;;
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
	n client sysctl -qw net.ipv4.tcp_window_scaling=$scaling
	spawn server_a fe mig-peer serve "$ep" "$count" 1000 $write1 "$dir" $buf
	wait_listening fe 7000
	spawn client_pid client mig-peer client "$ep" "$count" $send1 $send $RCVBUF "$dir"
	wait_for "$dir/ready" 120
	wait_for "$dir/sent" 120
	sleep 1 # let ACKs and window updates settle
	first_port=$(ls "$dir"/srv-*.off | head -n 1 | sed 's/.*srv-\(.*\)\.off/\1/')
	n client sysctl -qw net.ipv4.tcp_window_scaling=1
	echo "1. client sent $send1 bytes per connection; server A (fe) read 1000 and"
	echo "   wrote $(cat "$dir/srv-$first_port.off") of $write1 into the client's 4 KiB window"

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
		wait_until 30 '[ "$(tcpmig -n fe -j status | json_field held_packets)" -gt "$held_before" ]' || true
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
	spawn server_b be1 mig-peer resume "$ep" "$count" $write "$dir"
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
	t0=$(now_ms)
	wait_pid $client_pid $within || fail "$label: client failed"
	wait_pid $server_b $within || fail "$label: server B failed"
	finish_ms=$(( $(now_ms) - t0 ))

	want_srv=$(mig-peer gen client $send | sha256sum | cut -d' ' -f1)
	want_cli=$(mig-peer gen server $write | sha256sum | cut -d' ' -f1)
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
	echo "5. both directions finished, $finish_ms ms after the move:"
	echo "   client sent      $send bytes, sha256 $want_srv"
	echo "   servers A+B got  $(wc -c <"$dir/srv-$first_port.rx") bytes, sha256 $(sha256sum <"$dir/srv-$first_port.rx" | cut -d' ' -f1)"
	echo "   servers A+B sent $write bytes, sha256 $want_cli"
	echo "   client got       $(wc -c <"$dir/cli-$first_port.rx") bytes, sha256 $(sha256sum <"$dir/cli-$first_port.rx" | cut -d' ' -f1)"
	expect_eq "$label: connections checked" "$count" "$checked"
	rsts_after=$(( $(tcp_counter client OutRsts) + $(tcp_counter fe OutRsts) + $(tcp_counter be1 OutRsts) ))
	expect_eq "$label: RSTs sent" 0 $((rsts_after - rsts_before))
	ok "$label: streams SHA-256-identical both ways ($want_srv / $want_cli)"
	ip -n be1 addr del "$srv/$prefix" dev eth0
}

