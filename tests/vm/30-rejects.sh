# Every refusal of conn capture / conn inject gives one clear line, a
# non-zero exit, and leaves nothing behind (kmemleak checks at the end).
# The old verb names dump and restore are aliases: one refusal each goes
# through them.
. /tests/vm/lib.sh
. /tests/netns/topology.sh

lsmod | grep -q '^tcpmig' || insmod /lib/modules/tcpmig.ko
topology_up
scratch_dir dir rejects
SRV=192.0.2.60

expect_fail "capture of no connection" 1 "no established connection" \
	sh -c "tcpmig -n fe conn capture 192.0.2.2:7100 192.0.2.1:40000 >$dir/none.blob"
expect_fail "capture across families" 1 "one address family" \
	sh -c "tcpmig -n fe conn capture 192.0.2.2:7100 [2001:db8::1]:40000 >$dir/none.blob"
expect_fail "capture of a bad address" 2 "expected ADDR:PORT or [ADDR6]:PORT" tcpmig conn capture 192.0.2.2 192.0.2.1:1
expect_fail "unprivileged capture" 1 "permission denied" \
	n fe su nobody -s /bin/sh -c "tcpmig conn capture 192.0.2.2:7100 192.0.2.1:40000 >/dev/null"

# A real blob: one connection to SRV:7100 in fe, captured.
ip -n fe addr add $SRV/24 dev eth0
spawn server fe mig-peer serve $SRV:7100 1 100 100 $dir
wait_listening fe 7100
spawn client_pid client mig-peer client $SRV:7100 1 200 200 4096 $dir
wait_for $dir/ready
port=$(ls $dir/srv-*.off | sed 's/.*srv-\(.*\)\.off/\1/')
tcpmig -n fe conn capture $SRV:7100 192.0.2.1:$port >$dir/good.blob
ok "captured $(wc -c <$dir/good.blob) bytes"
expect_fail "capturing it again (by the old name, dump)" 1 "no established connection" \
	sh -c "tcpmig -n fe conn dump $SRV:7100 192.0.2.1:$port >$dir/again.blob"
stop $server

# Injects that must be refused.
expect_fail "inject where the address is not local" 1 "not an address of this namespace" \
	sh -c "tcpmig -n be2 conn inject <$dir/good.blob"
ip -n be2 addr add $SRV/32 dev vip
expect_fail "inject without a listener (by the old name, restore)" 1 "no listener" \
	sh -c "tcpmig -n be2 conn restore <$dir/good.blob"
head -c 100 $dir/good.blob >$dir/short.blob
expect_fail "inject of a truncated blob" 1 "length mismatch" \
	sh -c "tcpmig -n be2 conn inject <$dir/short.blob"
cp $dir/good.blob $dir/flipped.blob
printf 'X' | dd of=$dir/flipped.blob bs=1 seek=150 conv=notrunc 2>/dev/null
expect_fail "inject of a corrupted blob" 1 "bad checksum" \
	sh -c "tcpmig -n be2 conn inject <$dir/flipped.blob"
expect_fail "inject of something else" 1 "bad magic" \
	sh -c "echo 'GET / HTTP/1.1' | tcpmig -n be2 conn inject"
expect_fail "unprivileged inject" 1 "permission denied" \
	n be2 su nobody -s /bin/sh -c "tcpmig conn inject <$dir/good.blob"

# With a listener it works once; the same connection twice is refused
# and the refused attempt leaves nothing half-built.
spawn resumed be2 mig-peer resume $SRV:7100 1 100 $dir
wait_for $dir/listening
tcpmig -n be2 conn inject <$dir/good.blob
ok "injected into be2's listener"
expect_fail "injecting the same connection twice" 1 "cannot rebuild the connection" \
	sh -c "tcpmig -n be2 conn inject <$dir/good.blob"

stop $client_pid $resumed
topology_down
rmmod tcpmig
