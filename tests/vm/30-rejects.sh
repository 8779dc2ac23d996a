# Every refusal of conn dump / conn restore gives one clear line, a
# non-zero exit, and leaves nothing behind (kmemleak checks at the end).
. /tests/vm/lib.sh
. /tests/netns/topology.sh

lsmod | grep -q '^tcpmig' || insmod /lib/modules/tcpmig.ko
topology_up
dir=/tmp/rejects
rm -rf $dir && mkdir -p $dir
SRV=192.0.2.60

expect_fail "dump of no connection" 1 "no established connection" \
	sh -c "tcpmig -n fe conn dump 192.0.2.2:7100 192.0.2.1:40000 >$dir/none.blob"
expect_fail "dump across families" 1 "one address family" \
	sh -c "tcpmig -n fe conn dump 192.0.2.2:7100 [2001:db8::1]:40000 >$dir/none.blob"
expect_fail "dump to a bad address" 2 "invalid socket address" tcpmig conn dump 192.0.2.2 192.0.2.1:1
expect_fail "unprivileged dump" 1 "permission denied" \
	n fe su nobody -s /bin/sh -c "tcpmig conn dump 192.0.2.2:7100 192.0.2.1:40000 >/dev/null"

# A real blob: one connection to SRV:7100 in fe, dumped.
ip -n fe addr add $SRV/24 dev eth0
n fe mig-peer serve $SRV:7100 1 100 100 $dir &
server=$!
until n fe netstat -ltn | grep -q ":7100 "; do sleep 0.1; done
n client mig-peer client $SRV:7100 1 200 200 4096 $dir &
client=$!
wait_for $dir/ready
port=$(ls $dir/srv-*.off | sed 's/.*srv-\(.*\)\.off/\1/')
tcpmig -n fe conn dump $SRV:7100 192.0.2.1:$port >$dir/good.blob
ok "dumped $(wc -c <$dir/good.blob) bytes"
expect_fail "dumping it again" 1 "no established connection" \
	sh -c "tcpmig -n fe conn dump $SRV:7100 192.0.2.1:$port >$dir/again.blob"
kill $server

# Restores that must be refused.
expect_fail "restore where the address is not local" 1 "not an address of this namespace" \
	sh -c "tcpmig -n be2 conn restore <$dir/good.blob"
ip -n be2 addr add $SRV/32 dev vip
expect_fail "restore without a listener" 1 "no listener" \
	sh -c "tcpmig -n be2 conn restore <$dir/good.blob"
head -c 100 $dir/good.blob >$dir/short.blob
expect_fail "restore of a truncated blob" 1 "length mismatch" \
	sh -c "tcpmig -n be2 conn restore <$dir/short.blob"
cp $dir/good.blob $dir/flipped.blob
printf 'X' | dd of=$dir/flipped.blob bs=1 seek=150 conv=notrunc 2>/dev/null
expect_fail "restore of a corrupted blob" 1 "bad checksum" \
	sh -c "tcpmig -n be2 conn restore <$dir/flipped.blob"
expect_fail "restore of something else" 1 "bad magic" \
	sh -c "echo 'GET / HTTP/1.1' | tcpmig -n be2 conn restore"
expect_fail "unprivileged restore" 1 "permission denied" \
	n be2 su nobody -s /bin/sh -c "tcpmig conn restore <$dir/good.blob"

# With a listener it works once; the same connection twice is refused
# and the refused attempt leaves nothing half-built.
n be2 mig-peer resume $SRV:7100 1 100 $dir &
resumed=$!
wait_for $dir/listening
tcpmig -n be2 conn restore <$dir/good.blob
ok "restored into be2's listener"
expect_fail "restoring the same connection twice" 1 "cannot rebuild the connection" \
	sh -c "tcpmig -n be2 conn restore <$dir/good.blob"

kill $client $resumed 2>/dev/null || true
wait 2>/dev/null || true
topology_down
rmmod tcpmig
