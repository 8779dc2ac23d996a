# Blind packets on a migrated flow: a sender that knows the client's
# address and port but no sequence number forges a FIN, a RST, then a
# SYN on the flow's 4-tuple. The front-end must not end the flow on
# them: it forwards them, the back-end's TCP judges them (RFC 5961) and
# the connection lives on. A client that reuses its port after a real
# close still gets a new connection, decided by the service's rules: no
# back-end takes a connection that was not handed to it
# (Documentation/tcpmig/security.rst).
. /tests/vm/lib.sh
. /tests/netns/topology.sh
. /tests/vm/cluster.sh

lsmod | grep -q '^tcpmig' || insmod /lib/modules/tcpmig.ko
topology_up
cluster_up
scratch_dir dir blind
for be in be1 be2; do
	spawn pid $be sh -c "exec mig-peer http $VIP4:80 $be 0 100 $dir 2>/dev/null"
done
for be in be1 be2; do wait_listeners $be 80 1; done
svc=$VIP4:80
tcpmig -n fe pool add one members be1
tcpmig -n fe pool add two members be2
tcpmig -n fe service add $svc timeout 1000
tcpmig -n fe rule add $svc http /one pool one
tcpmig -n fe rule add $svc http /two pool two
cli=$(node_addr4 client)

# migrated: the service's connections handed to a back-end.
migrated() { tcpmig -n fe service list | awk -v s=$svc '$1 == s { print $8 }'; }
# forwarded PORT: whether fe forwards the client port's flow.
forwarded() { tcpmig -n fe flow list | grep -q "^forward *$cli:$1 "; }

echo "--- a forged FIN, RST and SYN do not end a migrated flow"
for forged in fin+ack rst; do
	spawn holder client sh -c "exec mig-peer request $svc /one -d 10 -k 12000 >$dir/held.$forged 2>&1"
	wait_until 30 'grep -qs "^port " "$dir/held.$forged"' || fail "$forged: the request did not start"
	port=$(sed -n 's/^port //p' "$dir/held.$forged")
	wait_until 30 "forwarded $port" || fail "$forged: fe does not forward the flow: $(tcpmig -n fe flow list)"
	n client mig-peer forge $cli:$port $svc $forged
	n client mig-peer forge $cli:$port $svc syn
	sleep 1
	forwarded $port || fail "$forged then SYN: fe stopped forwarding the flow"
	wait_pid $holder 60 || fail "$forged then SYN: the request failed: $(cat "$dir/held.$forged")"
	grep -q "^200 /one from be1" "$dir/held.$forged" ||
		fail "$forged then SYN: $(cat "$dir/held.$forged")"
	ok "a forged $forged, then a SYN: the flow is still forwarded and its request answered"
done

echo "--- a client reusing its ports gets new connections, each decided"
# Six ports for three clients at once (a port whose last connection is
# still closing cannot be reused yet): each connection reuses a port
# whose last one a back-end may still hold in TIME_WAIT.
n client sysctl -w net.ipv4.ip_local_port_range="41000 41005" >/dev/null
before=$(migrated) t0=$(date +%s)
dropped=$(($(counter be1 decap_dropped) + $(counter be2 decap_dropped)))
lines=$(cat "$dir"/be1.log "$dir"/be2.log 2>/dev/null | wc -l)
pids=
for c in 1 2 3; do
	(
		for i in 1 2 3 4 5 6; do
			want=one be=be1
			[ $(((c + i) % 2)) = 0 ] && want=two be=be2
			out=$(n client mig-peer request $svc /$want) || { echo "FAIL $c.$i: $out"; exit 1; }
			echo "$out" | grep -q "^200 /$want from $be" || { echo "FAIL $c.$i: /$want: $out"; exit 1; }
		done
	) >"$dir/reuse.$c" 2>&1 &
	pids="$pids $!"
done
for pid in $pids; do wait $pid || fail "port reuse: $(cat "$dir"/reuse.*)"; done
n client sysctl -w net.ipv4.ip_local_port_range="32768 60999" >/dev/null
echo "18 connections on 6 ports: $(($(date +%s) - t0)) s"
# The new connections' first SYNs reached a back-end's TIME_WAIT on the
# old flows: dropped there, each ending its flow.
[ $(($(counter be1 decap_dropped) + $(counter be2 decap_dropped))) -gt "$dropped" ] ||
	fail "no back-end dropped a reused port's SYN: the reuse was not tested"
expect_eq "connections the service handed off" 18 $(($(migrated) - before))
expect_eq "connections the back-ends served" 18 $(($(cat "$dir"/be1.log "$dir"/be2.log | wc -l) - lines))
ok "18 connections on 6 reused ports: each handed off by the rules, none taken by a back-end unasked"
