# Move live connections between namespaces with `tcpmig conn dump` and
# `conn restore`, mid-conversation, with data queued both ways, over IPv4
# and IPv6, one and 100 at once (the scenario is in migrate.sh).
. /tests/vm/lib.sh
. /tests/netns/topology.sh
. /tests/vm/migrate.sh

lsmod | grep -q '^tcpmig' || insmod /lib/modules/tcpmig.ko
topology_up

migrate v4 192.0.2.50 24 192.0.2.1 "%s:%s" 1 early
migrate v6 2001:db8::50 64 2001:db8::1 "[%s]:%s" 1 early
migrate v4-late 192.0.2.52 24 192.0.2.1 "%s:%s" 1 late
migrate v4-many 192.0.2.51 24 192.0.2.1 "%s:%s" 100 late

topology_down
rmmod tcpmig
