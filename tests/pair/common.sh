# Shared by tests/pair/fe.sh and be.sh, the two guests of tests/qemu/pair
# (sourced after /tests/vm/lib.sh). Each guest is one node; they share
# one L2 link (QEMU's socket netdev over the host's loopback):
#
#   guest A (fe.sh)                                  guest B (be.sh)
#   netns client ---veth--- br0 (fe) --- eth0 ====== eth0 192.0.2.3
#   192.0.2.1               192.0.2.2                 VIP on dummy "vip"
#                           VIP 192.0.2.100           (arp_ignore)
#
# Besides the connection under test, two one-line side channels (busybox
# nc): A tells B where phase 1 stopped ("CLIENT_PORT OFFSET", for
# mig-peer resume's DIR/srv-PORT.off), B tells A its server listens.

# busybox's ip has no netns: name iproute2's explicitly.
ip() { /usr/bin/ip "$@"; }
n() { ns=$1; shift; ip netns exec "$ns" "$@"; }

CLIENT=192.0.2.1 FE=192.0.2.2 BE=192.0.2.3 VIP4=192.0.2.100
PORT=7000     # the service, on the VIP
PHASE1=7001   # B listens: A sends "CLIENT_PORT OFFSET"
READY=7002    # A listens: B says its resume server listens
# The client sends SEND1 bytes, server A reads READ1 of them and writes
# what it can of WRITE1; after the hand-off the client sends the rest up
# to SEND and B's server writes the rest up to WRITE.
SEND1=4000 READ1=1000 SEND=100000 WRITE1=65536 WRITE=300000
KEY=$SCRATCH/cluster.key

# counter FIELD: a counter of `tcpmig -j status` (this guest's root netns).
counter() { tcpmig -j status | json_field "$1"; }

# spawn_here VAR CMD...: spawn (lib.sh) in this guest's root namespace.
spawn_here() {
	_var=$1
	shift
	"$@" &
	eval "$_var=\$!"
	BG_PIDS="$BG_PIDS $!"
}

# join_cluster PEER ADDR [serve LIST]: load the module, set the cluster
# key (the same 32 bytes on both guests) and add the other guest as a
# peer (which may hand this one connections at what LIST serves it).
join_cluster() {
	lsmod | grep -q '^tcpmig' || insmod /lib/modules/tcpmig.ko
	mig-peer gen server 32 >"$KEY"
	tcpmig config set cluster-key-file "$KEY"
	tcpmig peer add "$@"
	tcpmig peer list
}

# recv_line PORT SECONDS FILE: accept one connection on PORT and write
# what it sent to FILE. nc exits at the sender's end of file; its own
# stdin is a FIFO it holds open itself, so it never shuts its writing
# side first (the sender's nc would exit at that EOF, maybe unsent).
recv_line() {
	rm -f "$SCRATCH/fifo-$1"
	mkfifo "$SCRATCH/fifo-$1"
	timeout "$2" nc -l -p "$1" <>"$SCRATCH/fifo-$1" >"$3"
}

# send_line ADDR PORT SECONDS LINE: send LINE to ADDR:PORT, retrying
# every second for at most SECONDS while nothing listens there yet.
send_line() {
	_i=0
	until echo "$4" | nc "$1" "$2" >/dev/null 2>&1; do
		_i=$((_i + 1))
		[ $_i -le "$3" ] || fail "nothing took '$4' on $1:$2 in $3 s"
		sleep 1
	done
}

# wait_counter FIELD VALUE SECONDS: until `counter FIELD` is VALUE.
wait_counter() {
	_i=0
	until [ "$(counter "$1")" = "$2" ]; do
		_i=$((_i + 1))
		[ $_i -le "$3" ] || fail "$1 still $(counter "$1") after $3 s, expected $2: $(tcpmig flow list)"
		sleep 1
	done
	ok "$1 = $2 (after $_i s)"
}
