/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kernel API tcpmig uses beyond the kernel crate: bindgen reads this
 * header (rust/sys/bindgen.sh) into the module's own bindings, and
 * shim.c implements the functions declared here.
 */
#ifndef TCPMIG_SYS_H
#define TCPMIG_SYS_H

#include <linux/netfilter.h>
#include <linux/netfilter_ipv4.h>
#include <linux/netfilter_ipv6.h>
#include <net/genetlink.h>
#include <net/inet_connection_sock.h>
#include <net/inet_hashtables.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>
#include <net/request_sock.h>
#include <net/sock.h>
#include <net/tcp.h>

#include "../netlink/tcpmig_nl_gen.h"

/* Static inline helpers, wrapped so Rust can call them. */
void *tcpmig_net_generic(const struct net *net, unsigned int id);
struct net *tcpmig_init_net(void);
struct net *tcpmig_genl_info_net(const struct genl_info *info);
unsigned int tcpmig_genl_info_attrs_len(const struct genl_info *info);
void tcpmig_genl_set_err_msg(struct genl_info *info, const char *msg);
struct sk_buff *tcpmig_genlmsg_new(void);
void tcpmig_genlmsg_end(struct sk_buff *skb, void *hdr);
int tcpmig_genlmsg_reply(struct sk_buff *skb, struct genl_info *info);
void tcpmig_nlmsg_free(struct sk_buff *skb);
u16 tcpmig_nla_get_u16(const struct nlattr *nla);
int tcpmig_nla_parse_reply(struct nlattr **tb, int maxtype, struct sk_buff *skb);
u64 tcpmig_nla_get_u64(const struct nlattr *nla);

/* Module parameters (declared in C: Rust's module! has no sysfs ones). */
u16 tcpmig_param_migrator_port(void);

/* C's view of every struct and field the module reads through bindgen. */
struct tcpmig_layout {
	const char *name;
	size_t value;
};
extern const struct tcpmig_layout tcpmig_c_layout[];
extern const size_t tcpmig_c_layout_len;

#endif /* TCPMIG_SYS_H */
