# The hostile corpus: every blob tests/qemu/run generates from
# rust/wire/hostile.rs (one per field and bound, each sealed with a valid
# checksum) goes to a real listener with the CLI's own checks off. The
# kernel must refuse each with the decoder's reason, warn about nothing
# (the verdict fails on any kernel report) and leave nothing behind; the
# unedited base blobs then go in. Once as root, once as nobody in a user
# and network namespace of its own (unshare -Urn) with the userns_admin
# opt-in on: an unprivileged user then reaches the same code.
. /tests/vm/lib.sh
. /tests/netns/topology.sh

lsmod | grep -q '^tcpmig' || insmod /lib/modules/tcpmig.ko
corpus=/tests/hostile
[ -f $corpus/base-v4.blob ] || fail "no hostile corpus in $corpus"
cases=$(ls $corpus/*.expect | wc -l)
[ "$cases" -ge 40 ] || fail "only $cases hostile cases"

# The run inside one fresh network namespace (this script's $1 $2).
cat >"$SCRATCH/inject-all.sh" <<'INNER'
set -e
corpus=$1 dir=$2
/usr/bin/ip link set lo up
/usr/bin/ip link add d0 type dummy
/usr/bin/ip addr add 192.0.2.50/24 dev d0
/usr/bin/ip addr add 2001:db8::50/64 dev d0 nodad
/usr/bin/ip link set d0 up
mig-peer listen [::]:8000 "$dir" &
listener=$!
trap 'kill $listener 2>/dev/null' EXIT
i=0
while [ ! -e "$dir/listening" ]; do
	i=$((i + 1)); [ $i -le 300 ] || { echo "FAIL: no listener"; exit 1; }
	sleep 0.1
done
queue() { netstat -ltn | awk '$4 ~ /:8000$/ { print $2 }'; }
refused=0
for expect in "$corpus"/*.expect; do
	name=${expect%.expect}
	rc=0
	tcpmig conn inject no-check <"$name.blob" 2>"$dir/err" || rc=$?
	[ $rc = 1 ] || { echo "FAIL: ${name##*/}: exit $rc, expected 1 ($(cat "$dir/err"))"; exit 1; }
	grep -qF -- "$(cat "$expect")" "$dir/err" ||
		{ echo "FAIL: ${name##*/}: '$(cat "$dir/err")' lacks '$(cat "$expect")'"; exit 1; }
	refused=$((refused + 1))
done
echo "ok: $refused hostile blobs refused, each with its reason, e.g. '$(cat "$dir/err")'"
[ "$(queue)" = 0 ] || { echo "FAIL: the accept queue holds $(queue)"; exit 1; }
[ -z "$(netstat -tn | grep -v LISTEN | grep ':8000 ')" ] || { echo "FAIL: sockets left behind"; netstat -tn; exit 1; }
echo "ok: nothing left behind"
tcpmig conn inject no-check <"$corpus/base-v4.blob"
tcpmig conn inject no-check <"$corpus/base-v6.blob"
# 100 KB queued each way: beyond the default buffers, sized without a
# privileged socket option.
tcpmig conn inject <"$corpus/base-big-v4.blob"
[ "$(queue)" = 3 ] || { echo "FAIL: the base blobs did not all go in ($(queue) queued)"; exit 1; }
echo "ok: the unedited base blobs went in, one with 100 KB queued each way"
INNER

scratch_dir root hostile-root
ip netns add hostile
ip netns exec hostile sh -e "$SCRATCH/inject-all.sh" $corpus $root </dev/null >"$root/log" 2>&1 &&
	rc=0 || rc=$?
sed 's/^/   root: /' "$root/log"
ip netns del hostile
[ $rc = 0 ] || fail "hostile corpus as root"
ok "hostile corpus as root"

scratch_dir user hostile-user
chown nobody "$user"
echo 1 >/sys/module/tcpmig/parameters/userns_admin
su nobody -s /bin/sh -c "unshare -Urn sh -e $SCRATCH/inject-all.sh $corpus $user" \
	</dev/null >"$user/log" 2>&1 && rc=0 || rc=$?
echo 0 >/sys/module/tcpmig/parameters/userns_admin
sed 's/^/   nobody: /' "$user/log"
[ $rc = 0 ] || fail "hostile corpus as nobody in its own user namespace"
ok "hostile corpus as nobody in its own user namespace"
