# `make demo`: tcpmig as an in-kernel L7 load balancer. fe owns the VIP
# and runs no server: the module's content dispatcher accepts each client
# connection on VIP:80, reads its first bytes (the HTTP request line and
# Host header) without consuming them, picks a back-end by its rules and
# migrates the live connection there; plain accept() servers on be1 and
# be2 answer the client directly. Prints the rules, one row per request
# (rule that matched, from fe's monitor, and the back-end that answered),
# SHA-256 sums of a 4 MiB upload and download on one connection, and every
# node's counters; fails on a missing answer, a wrong back-end or a sum
# that differs.
. /tests/vm/lib.sh
. /tests/netns/topology.sh
. /tests/vm/migrate.sh
. /tests/vm/cluster.sh

BIG=4194304

echo "tcpmig demo: an in-kernel L7 load balancer (the front-end migrates live connections)"
insmod /lib/modules/tcpmig.ko
topology_up
cluster_up
echo "nodes (network namespaces on one bridge): client 192.0.2.1, fe 192.0.2.2"
echo "(owns the VIP $VIP4, runs no server), be1 192.0.2.3 and be2 192.0.2.4"
echo "(VIP on a dummy device, each running a plain accept() HTTP server)."

scratch_dir dir demo
for be in be1 be2; do
	spawn pid $be sh -c "exec mig-peer http $VIP4:80 $be 0 1000 $dir >$dir/$be.out 2>&1"
done
wait_listening be1 80
wait_listening be2 80

tcpmig -n fe pool add static members be1
tcpmig -n fe pool add api members be2
tcpmig -n fe pool add all policy round-robin members be1,be2
tcpmig -n fe service add $VIP4:80 timeout 1000 max-bytes 512
tcpmig -n fe rule add $VIP4:80 http /static pool static
tcpmig -n fe rule add $VIP4:80 host api.example pool api
tcpmig -n fe rule add $VIP4:80 default pool all
echo
echo "--- tcpmig -n fe pool list"
tcpmig -n fe pool list | sed 's/^/   /'
echo "--- tcpmig -n fe rule list"
tcpmig -n fe rule list | sed 's/^/   /'

monitor mon fe "$dir/fe.events"
sleep 1

# req PATH [HOST] [mig-peer request options]: one request on its own
# connection from the client namespace; its output in $dir/req-$i.
i=0
req() {
	i=$((i + 1))
	_path=$1 _host=${2:--}
	shift 2
	[ "$_host" = - ] || set -- -H "$_host" "$@"
	echo "$_path $_host" >"$dir/req-$i.what"
	rc=0
	n client mig-peer request $VIP4:80 "$_path" "$@" >"$dir/req-$i" 2>&1 || rc=$?
	[ $rc = 0 ] || { cat "$dir/req-$i"; fail "request $i ($_path, Host $_host): exit $rc"; }
}
echo
echo "--- 8 requests from the client, one connection each (n client mig-peer request $VIP4:80 PATH [-H HOST])"
req /static/app.css -
req /index.html -
req /v1/users api.example
req /static/logo.png -
req /about.html -
req /v1/orders api.example
req /static/app.js www.example
req /news.html www.example
echo "--- and one long one: upload 4 MiB, download 4 MiB (-d $BIG -b $BIG)"
req /static/big - -d $BIG -b $BIG
nreq=$i
sleep 1

rule_name() {
	case $1 in
	0) echo "0 http /static" ;;
	1) echo "1 host api.example" ;;
	2) echo "2 default" ;;
	*) echo "$1 ?" ;;
	esac
}
peer_name() {
	case $1 in 192.0.2.3) echo be1 ;; 192.0.2.4) echo be2 ;; *) echo "$1" ;; esac
}

echo
fmt="%-6s %-19s %-12s %-19s %-9s %8s %8s\n"
printf "$fmt" PORT PATH HOST RULE SERVED-BY UP DOWN
i=1
while [ $i -le $nreq ]; do
	read -r path host <"$dir/req-$i.what"
	out=$dir/req-$i
	port=$(sed -n 's/^port //p' "$out")
	answer=$(sed -n '/^200 /p' "$out")
	[ -n "$answer" ] || { cat "$out"; fail "request $i ($path): no answer"; }
	served=${answer##* from }
	[ "$answer" = "200 $path from $served" ] || fail "request $i ($path): answer '$answer'"
	up=$(sed -n 's/^sent \([0-9]*\) bytes/\1/p' "$out")
	down=$(sed -n 's/^body \([0-9]*\) bytes/\1/p' "$out")
	ev=$(grep '"event":"dispatched"' "$dir/fe.events" | grep "\"client\":\"192.0.2.1:$port\"" || true)
	[ -n "$ev" ] || fail "request $i ($path, port $port): no dispatched event in fe's monitor"
	rule=$(echo "$ev" | json_field rule)
	peer=$(peer_name "$(echo "$ev" | sed -n 's/.*"peer":"\([^"]*\)".*/\1/p')")
	case $path in
	/static*) want_rule=0 want_be=be1 ;;
	*) if [ "$host" = api.example ]; then want_rule=1 want_be=be2; else want_rule=2 want_be=$served; fi ;;
	esac
	printf "$fmt" "$port" "$path" "$host" "$(rule_name "$rule")" "$served" "${up:-0}" "${down:-0}"
	[ "$rule" = "$want_rule" ] || fail "request $i ($path, Host $host): rule $rule matched, expected $want_rule"
	[ "$served" = "$want_be" ] || fail "request $i ($path, Host $host): served by $served, expected $want_be"
	[ "$peer" = "$served" ] || fail "request $i ($path): fe dispatched it to $peer but $served answered"
	i=$((i + 1))
done

# The long one: what the client sent and what the back-end saved; what
# the back-end sent and what the client got (checked byte for byte
# against the server stream by mig-peer request).
out=$dir/req-$nreq
port=$(sed -n 's/^port //p' "$out")
served=$(sed -n 's/^200 .* from //p' "$out")
up_sent=$(mig-peer gen client $BIG | sha256sum | cut -c1-16)
[ -f "$dir/$served-$port.body" ] || fail "$served saved no body for port $port"
up_saved=$(sha256sum "$dir/$served-$port.body" | cut -c1-16)
down_want=$(mig-peer gen server $BIG | sha256sum | cut -c1-16)
grep -q "^sent $BIG bytes" "$out" || fail "the client did not send $BIG bytes: $(cat "$out")"
grep -q "^body $BIG bytes" "$out" || fail "the client did not get $BIG bytes: $(cat "$out")"
echo
echo "port $port, SHA-256 (first 16 hex digits):"
printf "   %-8s %-24s %s\n" upload "sent by the client" "$up_sent" \
	"" "saved by $served" "$up_saved" \
	download "sent by $served (stream)" "$down_want" \
	"" "received by the client" "$down_want (all $BIG bytes checked against it)"
[ "$up_sent" = "$up_saved" ] || fail "the upload differs: sent $up_sent, $served saved $up_saved"

echo
echo "--- tcpmig -n fe -s service list"
tcpmig -n fe -s service list | sed 's/^./   &/'
for node in fe be1 be2; do
	echo "--- tcpmig -n $node status"
	tcpmig -n $node status | sed 's/^/   /'
done
topology_down
rmmod tcpmig
