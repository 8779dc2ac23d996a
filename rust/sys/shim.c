// SPDX-License-Identifier: GPL-2.0
/*
 * C side of tcpmig's sys layer: wrappers for the static inline kernel
 * functions the Rust code needs, the module parameters, and C's own
 * sizeof/offsetof of every struct field the module reads, for the
 * tcpmig_sys_layout KUnit suite.
 */
#include <linux/module.h>
#include <linux/moduleparam.h>

#include "tcpmig_sys.h"

void *tcpmig_net_generic(const struct net *net, unsigned int id)
{
	return net_generic(net, id);
}

struct net *tcpmig_init_net(void)
{
	return &init_net;
}

struct net *tcpmig_genl_info_net(const struct genl_info *info)
{
	return genl_info_net(info);
}

/*
 * The number of entries of @info->attrs: the core sized it for the doit
 * op's maxattr, which only the family's op table records.
 */
unsigned int tcpmig_genl_info_attrs_len(const struct genl_info *info)
{
	const struct genl_family *family = info->family;
	unsigned int i;

	if (!info->attrs)
		return 0;
	for (i = 0; i < family->n_split_ops; i++) {
		const struct genl_split_ops *op = &family->split_ops[i];

		if (op->cmd == info->genlhdr->cmd && (op->flags & GENL_CMD_CAP_DO))
			return op->maxattr + 1;
	}
	return 0;
}

/* @msg must be a static string: extack keeps the pointer. */
void tcpmig_genl_set_err_msg(struct genl_info *info, const char *msg)
{
	/* NL_SET_ERR_MSG wants a literal; this is what it does with one. */
	if (info->extack)
		info->extack->_msg = msg;
}

struct sk_buff *tcpmig_genlmsg_new(void)
{
	return genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
}

void tcpmig_genlmsg_end(struct sk_buff *skb, void *hdr)
{
	genlmsg_end(skb, hdr);
}

int tcpmig_genlmsg_reply(struct sk_buff *skb, struct genl_info *info)
{
	return genlmsg_reply(skb, info);
}

void tcpmig_nlmsg_free(struct sk_buff *skb)
{
	nlmsg_free(skb);
}

u16 tcpmig_nla_get_u16(const struct nlattr *nla)
{
	return nla_get_u16(nla);
}

u64 tcpmig_nla_get_u64(const struct nlattr *nla)
{
	return nla_get_u64(nla);
}

/* Parse the attributes of the one genetlink message in @skb (tests). */
int tcpmig_nla_parse_reply(struct nlattr **tb, int maxtype, struct sk_buff *skb)
{
	return genlmsg_parse(nlmsg_hdr(skb), &tcpmig_nl_family, tb, maxtype,
			     NULL, NULL);
}

/*
 * Module parameters live here because Rust's module! macro registers its
 * parameters with permission 0, which keeps them out of
 * /sys/module/tcpmig/parameters.
 */
static u16 migrator_port = TCPMIG_MIGRATOR_PORT_DEFAULT;

static int migrator_port_set(const char *val, const struct kernel_param *kp)
{
	u16 port;
	int err = kstrtou16(val, 0, &port);

	if (err)
		return err;
	if (!port)
		return -EINVAL;
	WRITE_ONCE(migrator_port, port);
	return 0;
}

static const struct kernel_param_ops migrator_port_ops = {
	.set = migrator_port_set,
	.get = param_get_ushort,
};
module_param_cb(migrator_port, &migrator_port_ops, &migrator_port, 0644);
MODULE_PARM_DESC(migrator_port,
		 "Migrator TCP port a new network namespace starts with (1-65535, default 4737)");

u16 tcpmig_param_migrator_port(void)
{
	return READ_ONCE(migrator_port);
}

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
