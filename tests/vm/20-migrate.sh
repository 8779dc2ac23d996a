# Move live connections between namespaces with `tcpmig conn capture` and
# `conn inject`, mid-conversation, with data queued both ways, over IPv4
# and IPv6, one and 100 at once (the scenario is in migrate.sh).
. /tests/vm/lib.sh
. /tests/netns/topology.sh
. /tests/vm/migrate.sh

lsmod | grep -q '^tcpmig' || insmod /lib/modules/tcpmig.ko
topology_up

migrate label=v4 srv=192.0.2.50/24 count=1 when=early
migrate label=v6 srv=2001:db8::50/64 count=1 when=early
migrate label=v4-late srv=192.0.2.52/24 count=1 when=late
migrate label=v4-many srv=192.0.2.51/24 count=100 when=late

topology_down
rmmod tcpmig
