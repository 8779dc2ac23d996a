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
	FIELD(sock, __sk_common),
	SIZE(sock_common),
	FIELD(sock_common, skc_family),
	FIELD(sock_common, skc_state),
	SIZE(tcpmig_tcp),
	FIELD(tcpmig_tcp, usec_ts),
	FIELD(tcpmig_tcp, mss_clamp),
	FIELD(tcpmig_tcp, snd_una),
	FIELD(tcpmig_tcp, rto_us),
	SIZE(tcpmig_ip),
	FIELD(tcpmig_ip, flow_label),
	FIELD(tcpmig_ip, remote_addr),
	SIZE(tcp_repair_opt),
	SIZE(tcp_repair_window),
	FIELD(tcp_repair_window, rcv_wup),
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
