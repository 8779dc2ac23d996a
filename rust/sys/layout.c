// SPDX-License-Identifier: GPL-2.0
/*
 * C's sizeof/offsetof of every struct and field the Rust code reads
 * through bindgen, for the tcpmig_sys_layout KUnit suite (layout.rs).
 */
#include "tcpmig_sys.h"

#define SIZE(type) { #type, sizeof(struct type) }
#define FIELD(type, field) { #type "." #field, offsetof(struct type, field) }

const struct tcpmig_layout tcpmig_c_layout[] = {
	SIZE(sock),
	FIELD(sock, sk_lock),
	FIELD(sock, sk_receive_queue),
	FIELD(sock, sk_write_queue),
	FIELD(sock, sk_socket),
	FIELD(sock, sk_data_ready),
	SIZE(inet_sock),
	SIZE(inet_connection_sock),
	FIELD(inet_connection_sock, icsk_accept_queue),
	FIELD(inet_connection_sock, icsk_rto),
	FIELD(inet_connection_sock, icsk_pmtu_cookie),
	SIZE(tcp_sock),
	FIELD(tcp_sock, rcv_nxt),
	FIELD(tcp_sock, copied_seq),
	FIELD(tcp_sock, rcv_wup),
	FIELD(tcp_sock, snd_nxt),
	FIELD(tcp_sock, snd_una),
	FIELD(tcp_sock, snd_wl1),
	FIELD(tcp_sock, snd_wnd),
	FIELD(tcp_sock, max_window),
	FIELD(tcp_sock, window_clamp),
	FIELD(tcp_sock, rcv_wnd),
	FIELD(tcp_sock, write_seq),
	FIELD(tcp_sock, snd_cwnd),
	FIELD(tcp_sock, snd_ssthresh),
	FIELD(tcp_sock, srtt_us),
	FIELD(tcp_sock, mdev_us),
	FIELD(tcp_sock, tsoffset),
	FIELD(tcp_sock, rx_opt),
	FIELD(tcp_sock, mss_cache),
	SIZE(request_sock),
	FIELD(request_sock, sk),
	SIZE(net),
	FIELD(net, net_cookie),
	SIZE(genl_info),
	FIELD(genl_info, snd_seq),
	FIELD(genl_info, snd_portid),
	FIELD(genl_info, attrs),
	FIELD(genl_info, extack),
	SIZE(pernet_operations),
	FIELD(pernet_operations, init),
	FIELD(pernet_operations, exit),
	FIELD(pernet_operations, id),
	FIELD(pernet_operations, size),
};
const size_t tcpmig_c_layout_len = ARRAY_SIZE(tcpmig_c_layout);
