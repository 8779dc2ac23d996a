# The service's rules read a request as the server behind them does
# (Documentation/tcpmig/dispatch.rst): busybox httpd on be1 and be2, an
# `http /static` rule to be1, the rest to be2. A percent-encoded, a
# dot-segment and a doubled-slash path of /static go to be1 and get
# be1's file; /static/%2e%2e/private goes to be2, as the server reads
# it; two Host headers get the service's fallback (a reset).
. /tests/vm/lib.sh
. /tests/netns/topology.sh
. /tests/vm/cluster.sh

lsmod | grep -q '^tcpmig' || insmod /lib/modules/tcpmig.ko
topology_up
cluster_up
scratch_dir dir http
for be in be1 be2; do
	mkdir -p "$dir/$be/static" "$dir/$be/private"
	echo "$be static" >"$dir/$be/static/x"
	echo "$be private" >"$dir/$be/private/x"
	spawn pid $be busybox httpd -f -p $VIP4:80 -h "$dir/$be"
done
for be in be1 be2; do wait_listeners $be 80 1; done
svc=$VIP4:80
tcpmig -n fe pool add one members be1
tcpmig -n fe pool add two members be2
tcpmig -n fe service add $svc timeout 2000
tcpmig -n fe rule add $svc http /static pool one
tcpmig -n fe rule add $svc default pool two

# get REQUEST-LINE [HEADER...]: the body line of the answer (or nothing
# for a reset); the request ends with an empty line.
get() {
	_req="$1\r\n"
	shift
	for _h; do _req="$_req$_h\r\n"; done
	printf "$_req\r\n" | n client timeout 20 nc $VIP4 80 2>/dev/null | tr -d '\r' | grep 'static\|private'
}
expect_eq "GET /static/x" "be1 static" "$(get 'GET /static/x HTTP/1.0')"
expect_eq "GET /%73tatic/x (percent-encoded)" "be1 static" "$(get 'GET /%%73tatic/x HTTP/1.0')"
expect_eq "GET /a/../static/x (dot segments)" "be1 static" "$(get 'GET /a/../static/x HTTP/1.0')"
expect_eq "GET //static/x (slashes merged)" "be1 static" "$(get 'GET //static/x HTTP/1.0')"
expect_eq "GET /static/%2e%2e/private/x (encoded dot segments)" "be2 private" \
	"$(get 'GET /static/%%2e%%2e/private/x HTTP/1.0')"
fallbacks=$(tcpmig -n fe service list | awk -v s=$svc '$1 == s { print $9 }')
expect_eq "two Host headers: reset" "" \
	"$(get 'GET /static/x HTTP/1.1' 'Host: a.example' 'Host: b.example')"
expect_eq "two Host headers: the service's fallback" $((fallbacks + 1)) \
	"$(tcpmig -n fe service list | awk -v s=$svc '$1 == s { print $9 }')"
ok "each request went to the back-end whose server serves the path it names"
