# `make demo`: the cluster. fe accepts client connections on the VIP,
# reads their first bytes, and migrates them live to be1 and be2 with
# `tcpmig migrate`; plain servers there accept() them and finish the
# conversation, answering the client directly (tests/vm/cluster.sh).
. /tests/vm/lib.sh
. /tests/netns/topology.sh
. /tests/vm/migrate.sh
. /tests/vm/cluster.sh

echo "tcpmig demo: live TCP connections migrate from a front-end to two back-ends"
insmod /lib/modules/tcpmig.ko
topology_up
cluster_up
echo "nodes (network namespaces on one bridge): client 192.0.2.1, fe 192.0.2.2"
echo "(owns the VIP $VIP4), be1 192.0.2.3, be2 192.0.2.4 (VIP on a dummy device)."
echo "fe's peers:"
tcpmig -n fe peer list | sed 's/^/   /'
cluster_migrate label=demo vip=$VIP4 to=be1,be2 count=4 write=1000000
cluster_migrate label=demo-v6 vip=$VIP6 to=be2 count=1
for node in fe be1 be2; do
	echo "--- tcpmig -n $node status"
	tcpmig -n $node status | sed 's/^/   /'
done
topology_down
rmmod tcpmig
