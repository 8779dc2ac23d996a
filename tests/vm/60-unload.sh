# Unload and namespace deletion while packets run through the hooks: a
# namespace with a frozen flow (its packets held) and a bulk stream
# passing the hook, then `rmmod tcpmig` mid-stream; then the same again
# and the namespace deleted mid-stream. Hooks still running on another
# CPU must finish before their table goes (the verdict fails on any
# KASAN report or oops; the VM runs two vCPUs).
. /tests/vm/lib.sh
. /tests/netns/topology.sh

# bulk NS ADDR PORT: a client in NS streaming zeros to ADDR:PORT until
# killed.
bulk() {
	spawn bulk_pid "$1" sh -c "exec nc $2 $3 </dev/zero >/dev/null"
}

# frozen_flow_with_load: fe holds a frozen flow (its client keeps
# sending) and carries a bulk stream from the client.
frozen_flow_with_load() {
	scratch_dir dir "unload-$1"
	spawn sink fe sh -c "exec nc -l -p 7401 >/dev/null"
	spawn server fe mig-peer serve 192.0.2.2:7400 1 100 100 "$dir"
	wait_listening fe 7400
	wait_listening fe 7401
	spawn client client mig-peer client 192.0.2.2:7400 1 200 400000 4096 "$dir"
	wait_for "$dir/ready"
	port=$(ls "$dir"/srv-*.off | sed 's/.*srv-\(.*\)\.off/\1/')
	tcpmig -n fe conn capture 192.0.2.2:7400 192.0.2.1:$port >"$dir/conn.blob"
	touch "$dir/go" # the client sends into the frozen flow
	bulk client 192.0.2.2 7401
	wait_until 30 '[ "$(tcpmig -n fe -j status | json_field held_packets)" -gt 0 ]' || true
	held=$(tcpmig -n fe -j status | json_field held_packets)
	[ "$held" -gt 0 ] || fail "$1: no packet held"
	ok "$1: fe holds $held packet(s) of the frozen flow while a stream runs"
}

lsmod | grep -q '^tcpmig' || insmod /lib/modules/tcpmig.ko
topology_up
# A small budget for held packets: beyond it they are dropped, counted.
echo 16 >/sys/module/tcpmig/parameters/hold_kbytes
frozen_flow_with_load rmmod
status=$(tcpmig -n fe -j status)
dropped=$(echo "$status" | json_field dropped_packets)
bytes=$(echo "$status" | json_field held_bytes)
[ "$dropped" -gt 0 ] || fail "nothing dropped beyond hold_kbytes=16 ($status)"
[ "$bytes" -le 16384 ] || fail "$bytes bytes held beyond hold_kbytes=16"
ok "held $bytes bytes within hold_kbytes=16, dropped $dropped packet(s) beyond"
echo 4096 >/sys/module/tcpmig/parameters/hold_kbytes
rmmod tcpmig
ok "rmmod while packets ran through the hook"
sleep 1
stop $bulk_pid $client $server $sink

insmod /lib/modules/tcpmig.ko
frozen_flow_with_load netns-del
# The namespace goes once nothing holds it: its name now, its last
# sockets with the processes; the client keeps sending meanwhile.
ip netns del fe
stop $server $sink
ok "deleted fe while packets ran through its hook"
sleep 2
stop $bulk_pid $client
topology_down
rmmod tcpmig
ok "rmmod after the namespace went"
