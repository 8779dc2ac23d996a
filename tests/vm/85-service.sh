# The in-kernel content dispatcher: fe listens on VIP:80 itself (no
# front-end application), reads each connection's first bytes without
# consuming them, and migrates it to the back-end the rules pick; plain
# HTTP-ish servers on be1 and be2 accept() the connections.
. /tests/vm/lib.sh
. /tests/netns/topology.sh
. /tests/vm/migrate.sh
. /tests/vm/cluster.sh

lsmod | grep -q '^tcpmig' || insmod /lib/modules/tcpmig.ko
topology_up
cluster_up
scratch_dir dir service
for be in be1 be2; do
	spawn pid $be mig-peer http $VIP4:80 $be 0 100 "$dir"
done
sleep 1
tcpmig -n fe pool add static be1
tcpmig -n fe pool add api be2
tcpmig -n fe pool add all be1 be2
tcpmig -n fe service add $VIP4:80 --timeout 1000 --max-bytes 512
tcpmig -n fe service rule add $VIP4:80 http /static pool static
tcpmig -n fe service rule add $VIP4:80 default pool all
tcpmig -n fe service rule list
spawn mon fe sh -c "exec tcpmig monitor >$SCRATCH/fe.events"
sleep 1
for i in 1 2 3 4; do
	n client mig-peer request $VIP4:80 /static/$i.css || true
	n client mig-peer request $VIP4:80 /index-$i.html || true
done
tcpmig -n fe service list -s
cat $SCRATCH/fe.events
tcpmig -n fe status
topology_down
rmmod tcpmig
