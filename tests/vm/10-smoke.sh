# Smoke test: the module loads (its KUnit suites run), every namespace
# has its own tcpmig state, the CLI reports errors clearly, client->VIP
# traffic reaches fe, and the module unloads.
. /tests/vm/lib.sh
. /tests/netns/topology.sh

param=/sys/module/tcpmig/parameters/migrator_port

expect_fail "status before insmod" 1 "module is not loaded" tcpmig status

insmod /lib/modules/tcpmig.ko
expect_eq "migrator_port parameter" 4737 "$(cat $param)"

topology_up

# Each namespace is a node with its own state.
port=5000
for node in $NODES; do
	port=$((port + 1))
	tcpmig -n "$node" config set migrator-port $port
done
port=5000
cookies=$(tcpmig -j status | json_field netns_cookie)
for node in $NODES; do
	port=$((port + 1))
	json=$(tcpmig -n "$node" -j status)
	expect_eq "$node migrator port" $port "$(echo "$json" | json_field migrator_port)"
	cookie=$(echo "$json" | json_field netns_cookie)
	[ -n "$cookie" ] || fail "$node: no netns cookie in '$json'"
	case " $cookies " in *" $cookie "*) fail "$node shares cookie $cookie" ;; esac
	cookies="$cookies $cookie"
done
expect_eq "root namespace migrator port untouched" 4737 "$(tcpmig -j status | json_field migrator_port)"
tcpmig -n fe status

# The module parameter is the starting value of new namespaces only.
echo 4800 >$param
ip netns add fresh
expect_eq "new namespace takes the parameter" 4800 "$(tcpmig -n fresh -j status | json_field migrator_port)"
expect_eq "old namespace keeps its port" 5002 "$(tcpmig -n fe -j status | json_field migrator_port)"
ip netns del fresh
if echo 0 >$param 2>/dev/null; then fail "migrator_port accepted 0"; fi
expect_eq "parameter unchanged after bad write" 4800 "$(cat $param)"

# Bad input and missing permission: one clear line, non-zero exit.
expect_fail "port 0" 2 "migrator-port" tcpmig config set migrator-port 0
expect_fail "nothing to set" 1 "nothing to set" tcpmig config set
expect_fail "unknown netns" 1 'cannot open network namespace "nope"' tcpmig -n nope status
# (Enter fe as root, then drop to nobody: setns itself needs privilege.)
expect_fail "unprivileged change" 1 "permission denied" \
	n fe su nobody -s /bin/sh -c "tcpmig config set migrator-port 6000"
expect_eq "refused change left no trace" 5002 "$(tcpmig -n fe -j status | json_field migrator_port)"
json=$(n fe su nobody -s /bin/sh -c "tcpmig -j status")
expect_eq "unprivileged status still works" 5002 "$(echo "$json" | json_field migrator_port)"

# Client -> VIP reaches fe (not a back-end), over IPv4 and IPv6.
scratch_dir dir smoke
for vip in $VIP4 $VIP6; do
	rm -f $dir/got
	spawn listener fe sh -c "nc -l -p 8080 >$dir/got"
	wait_listening fe 8080
	i=0
	until n client sh -c "echo hello-$vip | nc -w 2 $vip 8080" 2>/dev/null; do
		i=$((i + 1))
		[ $i -lt 20 ] || fail "client cannot reach $vip:8080"
		sleep 0.2
	done
	wait_pid $listener 30 || true
	expect_eq "fe received over $vip" "hello-$vip" "$(cat $dir/got)"
done
fe_mac=$(n fe cat /sys/class/net/eth0/address)
vip_mac=$(n client ip neigh show $VIP4 | sed -n 's/.*lladdr \([0-9a-f:]*\).*/\1/p')
expect_eq "VIP resolves to fe's MAC" "$fe_mac" "$vip_mac"

topology_down
rmmod tcpmig
expect_fail "status after rmmod" 1 "module is not loaded" tcpmig status
