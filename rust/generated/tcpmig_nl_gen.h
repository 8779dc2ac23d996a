/* SPDX-License-Identifier: ((GPL-2.0 WITH Linux-syscall-note) OR BSD-3-Clause) */
/* Do not edit directly, auto-generated from: */
/*	Documentation/netlink/specs/tcpmig.yaml */
/* YNL-GEN kernel header */
/* To regenerate run: tools/net/ynl/ynl-regen.sh */

#ifndef _LINUX_TCPMIG_GEN_H
#define _LINUX_TCPMIG_GEN_H

#include <net/netlink.h>
#include <net/genetlink.h>

#include "tcpmig_uapi.h"

int tcpmig_nl_admin_doit(const struct genl_split_ops *ops, struct sk_buff *skb,
			 struct genl_info *info);
int tcpmig_nl_admin_dumpit(struct netlink_callback *cb);

int tcpmig_nl_status_get_doit(struct sk_buff *skb, struct genl_info *info);
int tcpmig_nl_config_set_doit(struct sk_buff *skb, struct genl_info *info);
int tcpmig_nl_conn_capture_doit(struct sk_buff *skb, struct genl_info *info);
int tcpmig_nl_conn_inject_doit(struct sk_buff *skb, struct genl_info *info);
int tcpmig_nl_peer_add_doit(struct sk_buff *skb, struct genl_info *info);
int tcpmig_nl_peer_del_doit(struct sk_buff *skb, struct genl_info *info);
int tcpmig_nl_peer_get_dumpit(struct sk_buff *skb, struct netlink_callback *cb);
int tcpmig_nl_conn_migrate_doit(struct sk_buff *skb, struct genl_info *info);
int tcpmig_nl_flow_get_dumpit(struct sk_buff *skb, struct netlink_callback *cb);
int tcpmig_nl_service_add_doit(struct sk_buff *skb, struct genl_info *info);
int tcpmig_nl_service_del_doit(struct sk_buff *skb, struct genl_info *info);
int tcpmig_nl_service_get_dumpit(struct sk_buff *skb,
				 struct netlink_callback *cb);
int tcpmig_nl_rule_add_doit(struct sk_buff *skb, struct genl_info *info);
int tcpmig_nl_rule_del_doit(struct sk_buff *skb, struct genl_info *info);
int tcpmig_nl_rule_get_dumpit(struct sk_buff *skb, struct netlink_callback *cb);
int tcpmig_nl_pool_add_doit(struct sk_buff *skb, struct genl_info *info);
int tcpmig_nl_pool_set_doit(struct sk_buff *skb, struct genl_info *info);
int tcpmig_nl_pool_del_doit(struct sk_buff *skb, struct genl_info *info);
int tcpmig_nl_pool_get_dumpit(struct sk_buff *skb, struct netlink_callback *cb);

enum {
	TCPMIG_NLGRP_EVENTS,
};

extern struct genl_family tcpmig_nl_family;

#endif /* _LINUX_TCPMIG_GEN_H */
