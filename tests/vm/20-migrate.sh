# Move live connections between namespaces with `tcpmig conn capture` and
# `conn inject`, mid-conversation, with data queued both ways, over IPv4
# and IPv6, one and 100 at once, with 1 MiB queued each way, and without
# window scaling (the scenario is in migrate.sh).
. /tests/vm/lib.sh
. /tests/netns/topology.sh
. /tests/vm/migrate.sh

lsmod | grep -q '^tcpmig' || insmod /lib/modules/tcpmig.ko
topology_up

migrate label=v4 srv=192.0.2.50/24 count=1 when=early
migrate label=v6 srv=2001:db8::50/64 count=1 when=early
migrate label=v4-late srv=192.0.2.52/24 count=1 when=late
migrate label=v4-many srv=192.0.2.51/24 count=100 when=late
# Queues of 1 MiB each way: a 2 MiB blob, through the memfd (a netlink
# attribute holds 64 KiB).
sysctl -qw net.core.rmem_max=8388608 net.core.wmem_max=8388608
migrate label=v4-1mib srv=192.0.2.53/24 send1=1049576 send=1100000 write1=1048576 write=1200000 \
	buf=4194304
# No window scaling: the moved connection must not divide its windows by
# a scale the peer never agreed to (with that bug, 2 MB took ~20 min).
migrate label=v4-unscaled srv=192.0.2.54/24 scaling=0 send=2000000 within=120

topology_down
rmmod tcpmig
