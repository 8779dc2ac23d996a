# `make demo`: a plain server and client, and one live connection moved
# mid-conversation from namespace fe to namespace be1.
. /tests/vm/lib.sh
. /tests/netns/topology.sh
. /tests/vm/migrate.sh

echo "tcpmig demo: a live TCP connection moves between network namespaces"
insmod /lib/modules/tcpmig.ko
topology_up
echo "namespaces: client 192.0.2.1, fe 192.0.2.2, be1 192.0.2.3 (one bridge);"
echo "the server address 192.0.2.50 starts in fe"
migrate label=demo srv=192.0.2.50/24 count=1 when=early
topology_down
rmmod tcpmig
