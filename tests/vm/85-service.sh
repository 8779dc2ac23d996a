# The in-kernel content dispatcher: fe listens on VIP:80 itself (no
# front-end application), reads each connection's first bytes without
# consuming them, and migrates it to the back-end the rules pick; plain
# HTTP-ish servers on be1 and be2 accept() the connections
# (Documentation/tcpmig/dispatch.rst). Every rule kind, every policy,
# the edges of deciding, peers going down, the fallbacks, changes during
# traffic, IPv6, and stopping with connections undecided.
. /tests/vm/lib.sh
. /tests/netns/topology.sh
. /tests/vm/migrate.sh
. /tests/vm/cluster.sh

lsmod | grep -q '^tcpmig' || insmod /lib/modules/tcpmig.ko
topology_up
cluster_up
scratch_dir dir service
for be in be1 be2; do
	# Their log lines go to $dir/$be.log; stderr would only repeat them.
	spawn pid $be sh -c "exec mig-peer http $VIP4:80 $be 0 100 $dir 2>/dev/null"
	spawn pid $be sh -c "exec mig-peer http [$VIP6]:80 $be 0 100 $dir 2>/dev/null"
done
for be in be1 be2; do wait_listeners $be 80 2; done
svc=$VIP4:80
tcpmig -n fe pool add static members be1
tcpmig -n fe pool add api members be2
tcpmig -n fe pool add all members be1,be2
tcpmig -n fe service add $svc timeout 1000 max-bytes 512
tcpmig -n fe rule add $svc http /static pool static
tcpmig -n fe rule add $svc host api.example pool api
tcpmig -n fe rule add $svc host .cdn.example pool static
tcpmig -n fe rule add $svc prefix HELO pool api
tcpmig -n fe rule add $svc default pool all
tcpmig -n fe rule list
monitor mon fe "$SCRATCH/fe.events"

# req WANT ARGS...: one request from the client; its answer must come
# from WANT (be1, be2, or any).
req() {
	want=$1
	shift
	out=$(n client mig-peer request "$@") || fail "request $*: $out"
	from=$(echo "$out" | sed -n 's/^200 .* from \(.*\)$/\1/p')
	[ -n "$from" ] || fail "request $*: no answer: $out"
	[ "$want" = any ] || [ "$from" = "$want" ] || fail "request $* went to $from, not $want"
	echo "$from"
}
# svc_field SERVICE COLUMN: a counter of `service list` (7 accepted,
# 8 migrated, 9 fallbacks, 10 timeouts, 11 overflows, 12 failures; 13
# is the max-pending setting).
svc_field() { tcpmig -n fe service list | awk -v s="$1" -v c="$2" '$1 == s { print $c }'; }
# wait_pending SERVICE N: waits (at most 15 s, well inside the clients'
# 20 s of silence) until N connections of SERVICE are undecided.
wait_pending() {
	_i=0
	until [ "$(svc_field "$1" 6)" = "$2" ]; do
		_i=$((_i + 1))
		[ $_i -le 150 ] || break
		sleep 0.1
	done
	expect_eq "pending" "$2" "$(svc_field "$1" 6)"
}
# hits SERVICE INDEX: the hits of a rule.
hits() { tcpmig -n fe rule list "$1" | awk -v i="$2" '$1 == i { print $(NF - 2) }'; }

echo "--- every rule kind routes to its pool"
req be1 $svc /static/a.css
req be2 $svc /api/v1 -H api.example
req be2 $svc /api/v1 -H API.Example:8080
req be1 $svc /img.png -H img.cdn.example
req be2 $svc - -r 'HELO there\r\n'
ok "http path, host (case, port), host suffix and byte prefix rules"
tcpmig -n fe rule add $svc at 0 client-hash 1/1 pool api
req be2 $svc /static/a.css
tcpmig -n fe rule del $svc 0
req be1 $svc /static/a.css
ok "a client-hash rule put first takes the clients of its share; deleted, the next rule decides"
tcpmig -n fe rule add $svc at 0 http POST /upload pool api
req be2 $svc /upload/x -X POST -d 1000
req be1 $svc /static/form -X POST
tcpmig -n fe rule del $svc 0
ok "an http rule with a method takes only that method"
expect_fail "pool del while a rule names it" 1 "a rule names the pool" tcpmig -n fe pool del static
expect_fail "a rule naming no pool" 1 "no pool" tcpmig -n fe rule add $svc default pool nosuch
expect_fail "a rule past the end" 1 "index" tcpmig -n fe rule add $svc at 9 default pool all
expect_fail "a second service on one address" 1 "a service runs" tcpmig -n fe service add $svc
expect_fail "a service on an address not of fe" 1 "not an address" tcpmig -n fe service add 198.51.100.7:80
expect_fail "a pool of an unknown policy" 2 "" tcpmig -n fe pool add bad policy random members be1

echo "--- deciding: split, pipelined, silent, larger than max-bytes"
req be1 $svc /static/split -s 300
req be1 $svc /static/pipe -p
timeouts=$(svc_field $svc 10)
req any $svc /static/silent -w 4000
expect_eq "timeouts counted" $((timeouts + 1)) "$(svc_field $svc 10)"
ok "a silent client is decided at the timeout on no bytes (default rule) and served"
host_hits=$(hits $svc 1) default_hits=$(hits $svc 4)
pad=$(head -c 600 /dev/zero | tr '\0' a)
req any $svc - -r "GET /x HTTP/1.1\r\nX-Pad: $pad\r\nHost: api.example\r\n\r\n"
expect_eq "host rule hits (Host beyond max-bytes)" "$host_hits" "$(hits $svc 1)"
expect_eq "default rule hits" $((default_hits + 1)) "$(hits $svc 4)"
ok "a Host header beyond max-bytes does not decide: the default rule does"
tcpmig -n fe service add $VIP4:81 timeout 500 silent reset
tcpmig -n fe rule add $VIP4:81 default pool all
out=$(n client mig-peer request $VIP4:81 /late -w 4000) && fail "a silent client was not reset: $out"
echo "$out" | grep -q 'reset\|no answer' || fail "silent client: $out"
ok "--silent reset: a client that sent nothing is reset"

echo "--- policies"
batch() { # batch COUNT ARGS...: COUNT requests, 10 at a time; prints
	# the back-ends (and the FAIL line of a request that failed, then
	# fails)
	count=$1
	shift
	i=0 bad=0
	while [ $i -lt $count ]; do
		pids=
		for j in 0 1 2 3 4 5 6 7 8 9; do
			req any "$@" >"$dir/b.$j" &
			pids="$pids $!"
		done
		# Only these: a bare wait would wait for the servers too.
		for pid in $pids; do wait $pid || bad=1; done
		cat "$dir"/b.?
		i=$((i + 10))
	done
	return $bad
}
batch 100 $svc /rr >"$dir/rr" || fail "round-robin: $(grep FAIL "$dir/rr")"
n1=$(grep -c be1 "$dir/rr") n2=$(grep -c be2 "$dir/rr")
[ $((n1 + n2)) = 100 ] && [ $n1 -ge 49 ] && [ $n2 -ge 49 ] || fail "round-robin: be1 $n1, be2 $n2"
ok "round-robin: be1 $n1, be2 $n2 of 100"

# held_diagnosis COUNT: short, and the counters last, for a log that
# keeps only its tail: each holder's port and whether fe forwards its
# flow, the events by kind, the failures, the kernel's last words.
held_diagnosis() {
	tcpmig -n fe flow list >"$dir/flows"
	for h in $(seq 1 "$1"); do
		printf '%s:%s:%s ' "$h" "$(hold_port $h)" "$(forwarded $h)"
	done
	echo "(holder:port:forwarded by fe)"
	sed -n 's/.*"event":"\([a-z-]*\)".*/\1/p' "$SCRATCH/fe.events" | sort | uniq -c
	grep -v '"dispatched"\|"flow-ended"\|"migrated"' "$SCRATCH/fe.events" | tail -5
	dmesg | grep -i tcpmig | tail -5
	tcpmig -n fe -s peer list
	tcpmig -n fe service list
}
hold_port() { sed -n 's/^port //p' "$dir/hold.$1"; }
# forwarded HOLDER: 1 if the flow list in $dir/flows has the holder's
# flow, else 0.
forwarded() {
	_p=$(hold_port "$1")
	[ -n "$_p" ] && grep -q ":$_p " "$dir/flows" && echo 1 || echo 0
}
# 30 flows to be1 held open (their server waits for the bodies), so be1
# stays 30 ahead however long the batch takes: a closed flow lives only
# to the end of its TIME_WAIT. In waves of at most 10, each waited for
# until the service decided all its connections: the hand-offs to one
# peer share its four channels, one request each at a time
# (Documentation/tcpmig/migrator.rst), and the service gives each 5 s,
# the wait for a channel included. A hand-off that ran out of time (a
# stalled CI machine) is reset, which its holder does not see while it
# holds its body back: such holders are counted, reported and replaced,
# at most 30 of them.
# decided: the service's hand-offs that ended, migrated or failed (one
# try each: the pool has one peer).
decided() { tcpmig -n fe service list | awk -v s=$svc '$1 == s { print $8 + $12 }'; }
before=$(decided)
holders= spawned=0 held=0
while [ $held -lt 30 ]; do
	[ $spawned -lt 60 ] || {
		held_diagnosis $spawned
		fail "only $held of $spawned held connections were migrated"
	}
	wave=$((30 - held))
	[ $wave -le 10 ] || wave=10
	for i in $(seq $((spawned + 1)) $((spawned + wave))); do
		spawn pid client sh -c "exec mig-peer request $svc /static/skew -d 10 -k 900000 >$dir/hold.$i 2>&1"
		holders="$holders $pid"
	done
	spawned=$((spawned + wave))
	wait_until 60 '[ "$(decided)" -ge $((before + spawned)) ]' || {
		held_diagnosis $spawned
		fail "the service did not hand off $spawned held connections in 60 s"
	}
	tcpmig -n fe flow list >"$dir/flows"
	held=0
	for h in $(seq 1 $spawned); do held=$((held + $(forwarded $h))); done
done
[ $spawned = 30 ] || {
	echo "note: $((spawned - 30)) of $spawned held connections were not migrated:"
	held_diagnosis $spawned
}
tcpmig -n fe pool set all policy least-flows
batch 60 $svc /lf >"$dir/lf" || fail "least-flows: $(grep FAIL "$dir/lf")"
n2=$(grep -c be2 "$dir/lf")
[ $n2 -ge 40 ] || fail "least-flows: be2 took $n2 of 60 while be1 had 30 more flows"
ok "least-flows: be2, 30 flows behind, took $n2 of 60"
tcpmig -n fe peer list
stop $holders

tcpmig -n fe pool set all policy consistent-hash
for i in $(seq 50 79); do n client ip addr add 192.0.2.$i/24 dev eth0; done
owners() {
	for i in $(seq 50 79); do
		echo "$i $(req any $svc /ch -S 192.0.2.$i) $(req any $svc /ch -S 192.0.2.$i)"
	done
}
owners >"$dir/ch1"
awk '$2 != $3 { exit 1 }' "$dir/ch1" || fail "consistent-hash: a client moved between two requests: $(cat "$dir/ch1")"
n1=$(grep -c ' be1 ' "$dir/ch1") n2=$(grep -c ' be2 ' "$dir/ch1")
[ $n1 -ge 5 ] && [ $n2 -ge 5 ] || fail "consistent-hash: be1 $n1, be2 $n2 of 30 clients"
tcpmig -n fe pool set all members be1
req be1 $svc /ch -S 192.0.2.50 >/dev/null
tcpmig -n fe pool set all members be1,be2
owners >"$dir/ch2"
cmp -s "$dir/ch1" "$dir/ch2" || fail "consistent-hash: clients moved after be2 left and came back"
ok "consistent-hash: each of 30 clients stays on its peer (be1 $n1, be2 $n2), and again after be2 left and returned"
tcpmig -n fe pool set all policy round-robin

echo "--- changes during traffic"
batch 40 $svc /static/busy >"$dir/busy" &
busy=$!
for i in 1 2 3; do
	tcpmig -n fe rule add $svc at 0 http /nothing pool api
	tcpmig -n fe pool set all members be2,be1
	tcpmig -n fe rule del $svc 0
	tcpmig -n fe pool set all members be1,be2
done
wait $busy || fail "a request failed while the rules changed: $(grep FAIL "$dir/busy")"
expect_eq "answers during changes, all from be1" 40 "$(grep -c be1 "$dir/busy")"
ok "rules and pools changed under 40 requests; every one answered by its pool"

echo "--- back-ends down"
failures=$(svc_field $svc 12)
tcpmig -n be2 config set migrator-port 4800
batch 10 $svc /down | grep -q be2 && fail "a request reached be2 with its migrator down"
[ "$(svc_field $svc 12)" -gt "$failures" ] || fail "no failed hand-off counted"
ok "be2's migrator down: its hand-offs failed over to be1 (failures $(svc_field $svc 12))"
tcpmig -n fe peer list
tcpmig -n be1 config set migrator-port 4800
fallbacks=$(svc_field $svc 9)
out=$(n client mig-peer request $svc /all-down) && fail "answered with every back-end down: $out"
expect_eq "fallbacks" $((fallbacks + 1)) "$(svc_field $svc 9)"
ok "all back-ends down: the fallback reset the connection"
tcpmig -n fe service add $VIP4:82 fallback local local-port 8082
tcpmig -n fe rule add $VIP4:82 default pool all
spawn local fe sh -c "exec mig-peer http $VIP4:8082 fe-local 0 100 $dir 2>/dev/null"
wait_listening fe 8082
req fe-local $VIP4:82 /local -d 100000 -b 200000
ok "--fallback local: the connection went to fe's own listener on port 8082, with its bytes"
for be in be1 be2; do tcpmig -n $be config set migrator-port 4737; done
sleep 6
req be1 $svc /static/back

echo "--- a flow-end notice waiting in a back-end whose node restarts"
# be2 cannot tell fe (another key) that a connection ended there; its
# node then restarts twice (the migrator port moved and back) before the
# key is restored. The notice must outlive the restarts and reach fe.
spawn held client sh -c "exec mig-peer request $svc /api/held -H api.example -d 10 -k 900000 >$dir/held.out 2>&1"
wait_until 30 'grep -q "^port " "$dir/held.out"' || fail "the held request did not start"
hport=$(sed -n 's/^port //p' "$dir/held.out")
flow="192.0.2.1:$hport "
wait_until 30 'tcpmig -n be2 flow list | grep -q "$flow"' || fail "the held connection did not reach be2"
mig-peer gen client 32 >"$SCRATCH/other.key"
tcpmig -n be2 config set cluster-key-file "$SCRATCH/other.key"
# The client's FIN goes through fe to be2, whose server closes too: the
# connection ends in be2 without a TIME_WAIT there.
stop $held
wait_until 30 '! tcpmig -n be2 flow list | grep -q "$flow"' || fail "be2 kept the flow of the ended connection"
tcpmig -n fe flow list | grep -q "$flow" || fail "fe dropped the flow before be2 could tell it"
for port in 4800 4737; do tcpmig -n be2 config set migrator-port $port; done
tcpmig -n be2 config set cluster-key-file "$KEY"
wait_until 30 '! tcpmig -n fe flow list | grep -q "$flow"' ||
	fail "fe never heard that the flow ended in be2: $(tcpmig -n fe flow list | grep "$flow")"
ok "a flow-end notice waiting in be2 outlived two restarts of its node and reached fe"
sleep 2

echo "--- IPv6"
tcpmig -n fe pool add static6 members be1-6
tcpmig -n fe pool add all6 members be1-6,be2-6
tcpmig -n fe service add "[$VIP6]:80"
tcpmig -n fe rule add "[$VIP6]:80" http /static pool static6
tcpmig -n fe rule add "[$VIP6]:80" default pool all6
req be1 "[$VIP6]:80" /static/v6 -d 1000000 -b 1000000
n1=$(batch 10 "[$VIP6]:80" /v6 | grep -c be1)
expect_eq "IPv6 round-robin on be1" 5 "$n1"
ok "IPv6: rules, 1 MB each way, round-robin"

echo "--- a long upload and download on one connection"
out=$(n client mig-peer request $svc /static/big -d 10485760 -b 10485760) || fail "big: $out"
port=$(echo "$out" | sed -n 's/^port //p')
echo "$out" | grep -q 'body 10485760 bytes' || fail "big: $out"
[ "$(sha256sum <"$dir/be1-$port.body" | cut -d' ' -f1)" = "$(mig-peer gen client 10485760 | sha256sum | cut -d' ' -f1)" ] ||
	fail "big: be1 got $(wc -c <"$dir/be1-$port.body") bytes, not the client's stream"
ok "10 MiB each way through the dispatcher: SHA-256-identical"

echo "--- counters and events"
tcpmig -n fe -s service list
stop $mon
migrated=$(svc_field $svc 8)
events=$(grep '"event":"dispatched"' "$SCRATCH/fe.events" | grep -c ':80"')
expect_eq "dispatched events of $svc and [$VIP6]:80" "$(( migrated + $(svc_field "[$VIP6]:80" 8) ))" "$events"

echo "--- stopping with connections undecided"
for port in 83 84; do
	tcpmig -n fe service add $VIP4:$port timeout 60000
	tcpmig -n fe rule add $VIP4:$port default pool all
done
slow=
for i in 1 2 3; do
	spawn pid client sh -c "exec mig-peer request $VIP4:83 /slow -w 20000 >$dir/slow.$i 2>&1"
	slow="$slow $pid"
done
wait_pending $VIP4:83 3
tcpmig -n fe service del $VIP4:83
for pid in $slow; do wait_pid $pid 30 && fail "an undecided client was not reset"; done
cat "$dir"/slow.* | grep -c reset | grep -qx 3 || fail "undecided clients: $(cat "$dir"/slow.*)"
ok "service del resets its 3 undecided connections"

echo "--- max-pending"
# A service's own bound on undecided connections: with max-pending 2, a
# third is reset and counted as an overflow, and the setting is listed.
expect_eq "max-pending by default" 128 "$(svc_field $VIP4:84 13)"
tcpmig -n fe service add $VIP4:85 timeout 60000 max-pending 2
expect_eq "max-pending listed" 2 "$(svc_field $VIP4:85 13)"
for i in 1 2 3; do spawn pid client mig-peer request $VIP4:85 /slow -w 20000; done
wait_until 20 '[ "$(svc_field $VIP4:85 11)" = 1 ]' ||
	fail "overflows $(svc_field $VIP4:85 11), pending $(svc_field $VIP4:85 6): max-pending 2 did not hold"
expect_eq "pending within max-pending 2" 2 "$(svc_field $VIP4:85 6)"
expect_fail "max-pending 0" 2 'max-pending "0": expected a number from 1 to 16384' \
	tcpmig -n fe service add $VIP4:86 max-pending 0
tcpmig -n fe service del $VIP4:85
ok "max-pending bounds one service's undecided connections"

for i in 1 2 3; do spawn pid client mig-peer request $VIP4:84 /slow -w 20000; done
wait_pending $VIP4:84 3
topology_down
rmmod tcpmig
ok "namespaces deleted and the module unloaded with 3 connections undecided"
