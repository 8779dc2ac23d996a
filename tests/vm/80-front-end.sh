# Applications migrate by fd: the sample front-end on fe accepts
# HTTP-ish connections on the VIP's port 8080, peeks at the request line
# and migrates each socket (its own descriptor, through tcpmig-client) to
# the back-end its path's rule names. The back-ends' plain servers only
# accept(), yet read the request the client sent to fe before the
# migration: the bytes travelled in the blob.
#
#   client --GET /static/..--> fe: front-end /static=be1 default=be2
#                                   | migrate_fd
#                                   +==> be1 "200 /static/.. from be1"
#                                   +==> be2 "200 /.. from be2"
. /tests/vm/lib.sh
. /tests/netns/topology.sh
. /tests/vm/migrate.sh
. /tests/vm/cluster.sh

BODY=20000

lsmod | grep -q '^tcpmig' || insmod /lib/modules/tcpmig.ko
topology_up
cluster_up

# Plain servers: be1 takes 3 IPv4 requests and 1 IPv6, be2 3 IPv4.
# be2 has no IPv6 server: the IPv6 default route's migrations fail.
servers=
for srv in be1:$VIP4:3 be1:[$VIP6]:1 be2:$VIP4:3; do
	be=${srv%%:*} rest=${srv#*:}
	count=${rest##*:} addr=${rest%:*}
	scratch_dir dir "http-$be-$count"
	spawn pid $be mig-peer http "$addr:8080" $be $count $BODY "$dir"
	servers="$servers $pid"
	wait_for "$dir/listening"
done

ok_before=$(counter fe migrations_ok)
failed_before=$(counter fe migrations_failed)
acc1_before=$(counter be1 accepted_migrations)
acc2_before=$(counter be2 accepted_migrations)

spawn fe4 fe front-end $VIP4:8080 --count 6 /static=be1 default=be2
spawn fe6 fe front-end "[$VIP6]:8080" --count 2 --timeout 10000 /static=be1-6 default=be2-6
wait_listeners fe 8080 2

# request ADDR PATH EXPECTED_FIRST_LINE: one request from the client; its
# answer must start with EXPECTED_FIRST_LINE.
request() {
	n client mig-peer request "$1" "$2" >"$SCRATCH/answer" 2>&1 ||
		fail "request $2 to $1: $(cat "$SCRATCH/answer")"
	first=$(sed -n 2p "$SCRATCH/answer") # after "port LOCALPORT"
	case $first in
	"$3"*) ;;
	*) fail "request $2 to $1: answer '$first', expected '$3'" ;;
	esac
	ok "$1 $2: $(tr '\n' ' ' <"$SCRATCH/answer")"
}

ep4=$VIP4:8080
ep6=[$VIP6]:8080
for i in 1 2 3; do
	request $ep4 /static/a$i "200 /static/a$i from be1"
	grep -q "^body $BODY bytes" "$SCRATCH/answer" || fail "/static/a$i: body missing"
	request $ep4 /page$i "200 /page$i from be2"
	grep -q "^body $BODY bytes" "$SCRATCH/answer" || fail "/page$i: body missing"
done
request $ep6 /static/v6 "200 /static/v6 from be1"
grep -q "^body $BODY bytes" "$SCRATCH/answer" || fail "/static/v6: body missing"
# No server for the VIP's IPv6 address on be2: be2 refuses, fe's kernel
# rolls the connection back and the front-end answers it itself.
request $ep6 /nowhere "503 migration to be2-6 failed"
grep -q "no listener" "$SCRATCH/answer" || fail "/nowhere: the refusal lacks the kernel's reason"

wait_pid $fe4 60 || fail "the IPv4 front-end failed"
wait_pid $fe6 60 || fail "the IPv6 front-end failed"
for pid in $servers; do wait_pid $pid 60 || fail "a back-end server failed"; done

expect_eq "fe migrations_ok" 7 $(( $(counter fe migrations_ok) - ok_before ))
expect_eq "fe migrations_failed" 1 $(( $(counter fe migrations_failed) - failed_before ))
expect_eq "be1 accepted_migrations" 4 $(( $(counter be1 accepted_migrations) - acc1_before ))
expect_eq "be2 accepted_migrations" 3 $(( $(counter be2 accepted_migrations) - acc2_before ))

tcpmig -n fe status
topology_down
rmmod tcpmig
