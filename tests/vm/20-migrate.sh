# Move live connections between namespaces with `tcpmig conn dump` and
# `conn restore`, mid-conversation, with data queued both ways:
#
#   client ---- fe (server A, holds SRV first) ==> be1 (server B, gets SRV)
#
# The client sends 4000 bytes, server A reads 1000 of them (3000 stay
# unread in A), and writes 64 KiB into a 4 KiB receive window (the client
# holds some unread, A's send queue holds the rest). Then each connection
# is dumped in fe, SRV moves to be1, the blobs are restored there, and a
# plain server in be1 accept()s them. Both directions then finish; every
# byte stream must be SHA-256-identical to what was sent, with no RST.
. /tests/vm/lib.sh
. /tests/netns/topology.sh

lsmod | grep -q '^tcpmig' || insmod /lib/modules/tcpmig.ko
topology_up

CLIENT_SEND1=4000 CLIENT_SEND=8000 SERVER_WRITE1=65536 SERVER_WRITE=100000 RCVBUF=4096

# migrate LABEL SRV_ADDR PREFIX CLIENT_ADDR ENDPOINT_FORMAT COUNT
migrate() {
	label=$1 srv=$2 prefix=$3 cli=$4 fmt=$5 count=$6
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

	rsts_before=$(( $(tcp_counter client OutRsts) + $(tcp_counter fe OutRsts) + $(tcp_counter be1 OutRsts) ))
	start=$(now_ms)
	for off in "$dir"/srv-*.off; do
		port=${off##*/srv-}
		port=${port%.off}
		tcpmig -n fe conn dump "$ep" "$(printf "$fmt" "$cli" "$port")" >"$dir/$port.blob"
	done
	first=$(ls "$dir"/*.blob | head -n 1)
	echo "blob of one connection:"
	tcpmig blob decode <"$first"
	# Server A's sockets are frozen now: closing them must send nothing.
	kill $server_a
	wait $server_a 2>/dev/null || true

	ip -n fe addr del "$srv/$prefix" dev eth0
	ip -n be1 addr add "$srv/$prefix" dev eth0 nodad 2>/dev/null || ip -n be1 addr add "$srv/$prefix" dev eth0
	ip -n client neigh flush dev eth0

	n be1 mig-peer resume "$ep" "$count" $SERVER_WRITE "$dir" &
	server_b=$!
	wait_for "$dir/listening"
	for blob in "$dir"/*.blob; do
		tcpmig -n be1 conn restore <"$blob"
	done
	echo "dump + restore of $count connection(s): $(( $(now_ms) - start )) ms (VM under TCG)"
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
	expect_eq "$label: connections checked" "$count" "$checked"
	rsts_after=$(( $(tcp_counter client OutRsts) + $(tcp_counter fe OutRsts) + $(tcp_counter be1 OutRsts) ))
	expect_eq "$label: RSTs sent" 0 $((rsts_after - rsts_before))
	ok "$label: streams SHA-256-identical both ways ($want_srv / $want_cli)"
	ip -n be1 addr del "$srv/$prefix" dev eth0
}

migrate v4 192.0.2.50 24 192.0.2.1 "%s:%s" 1
migrate v6 2001:db8::50 64 2001:db8::1 "[%s]:%s" 1
migrate v4-many 192.0.2.51 24 192.0.2.1 "%s:%s" 100

topology_down
rmmod tcpmig
