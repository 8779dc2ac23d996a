// SPDX-License-Identifier: GPL-2.0
/*
 * Generic netlink for genl.rs: the inline message and attribute
 * helpers of <net/genetlink.h> and <net/netlink.h>, and what a doit
 * handler needs to know about its request.
 */
#include "tcpmig_sys.h"

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

/* Like tcpmig_genl_set_err_msg(), for a message made at run time. */
void tcpmig_genl_set_err_msg_copy(struct genl_info *info, const char *msg)
{
	struct netlink_ext_ack *extack = info->extack;

	if (extack) {
		strscpy(extack->_msg_buf, msg, sizeof(extack->_msg_buf));
		extack->_msg = extack->_msg_buf;
	}
}

struct sk_buff *tcpmig_genlmsg_new(size_t payload)
{
	return genlmsg_new(payload, GFP_KERNEL);
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

/* Parse the attributes of the one genetlink message in @skb (tests). */
int tcpmig_nla_parse_reply(struct nlattr **tb, int maxtype, struct sk_buff *skb)
{
	return genlmsg_parse(nlmsg_hdr(skb), &tcpmig_nl_family, tb, maxtype,
			     NULL, NULL);
}

void *tcpmig_nla_data(const struct nlattr *nla)
{
	return nla_data(nla);
}

int tcpmig_nla_len(const struct nlattr *nla)
{
	return nla_len(nla);
}

struct net *tcpmig_genl_dump_net(const struct netlink_callback *cb)
{
	return sock_net(cb->skb->sk);
}

/* The dump's cursor: scratch space the netlink core keeps between calls. */
long *tcpmig_genl_dump_args(struct netlink_callback *cb)
{
	return cb->args;
}

/* Starts one entry of a dump; NULL if the buffer is full. */
void *tcpmig_genl_dump_put(struct sk_buff *skb, struct netlink_callback *cb, u8 cmd)
{
	return genlmsg_put(skb, NETLINK_CB(cb->skb).portid, cb->nlh->nlmsg_seq,
			   &tcpmig_nl_family, NLM_F_MULTI, cmd);
}

void tcpmig_genlmsg_cancel(struct sk_buff *skb, void *hdr)
{
	genlmsg_cancel(skb, hdr);
}

unsigned int tcpmig_skb_len(const struct sk_buff *skb)
{
	return skb->len;
}

/*
 * Drops a listener (non-zero) unless it may see the events: joining the
 * group needs CAP_NET_ADMIN over the namespace's user namespace (the
 * group's flag, checked at bind); unless userns_admin opts in, the
 * listener's opener must also have it in the initial user namespace, as
 * for the dumps. Judged by the socket's opener (its file's credentials):
 * this runs in the sender's context.
 */
static int tcpmig_genl_events_filter(struct sock *dsk, struct sk_buff *skb, void *data)
{
	const struct socket *sock = dsk->sk_socket;

	if (tcpmig_param_userns_admin())
		return 0;
	return !(sock && sock->file &&
		 file_ns_capable(sock->file, &init_user_ns, CAP_NET_ADMIN));
}

/* Sends @skb to the listeners of @group in @net; consumes it. */
int tcpmig_genl_multicast(struct net *net, struct sk_buff *skb, unsigned int group)
{
	return genlmsg_multicast_netns_filtered(&tcpmig_nl_family, net, skb, 0, group,
						GFP_KERNEL, tcpmig_genl_events_filter, NULL);
}

bool tcpmig_genl_has_listeners(struct net *net, unsigned int group)
{
	return genl_has_listeners(&tcpmig_nl_family, net, group);
}

/*
 * Who may change the cluster state, and see the connections and peers it
 * holds. The ops that do are flagged uns-admin-perm, so the core already
 * required CAP_NET_ADMIN over the namespace's user namespace; unless the
 * userns_admin parameter opts in, that must be the initial one (what the
 * core's admin-perm checks).
 */
static bool tcpmig_genl_admin(const struct sk_buff *skb)
{
	return tcpmig_param_userns_admin() || netlink_capable(skb, CAP_NET_ADMIN);
}

#define TCPMIG_GENL_NOT_ADMIN \
	"in the initial user namespace, unless the module's userns_admin parameter is on"

/* The pre_doit of every state-changing op (the spec's `pre:`). */
int tcpmig_nl_admin_doit(const struct genl_split_ops *ops, struct sk_buff *skb,
			 struct genl_info *info)
{
	if (tcpmig_genl_admin(skb))
		return 0;
	GENL_SET_ERR_MSG(info, TCPMIG_GENL_NOT_ADMIN);
	return -EPERM;
}

/* The start of every dump that shows connections or peers. */
int tcpmig_nl_admin_dumpit(struct netlink_callback *cb)
{
	if (tcpmig_genl_admin(cb->skb))
		return 0;
	NL_SET_ERR_MSG(cb->extack, TCPMIG_GENL_NOT_ADMIN);
	return -EPERM;
}
