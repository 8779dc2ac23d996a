// SPDX-License-Identifier: ((GPL-2.0 WITH Linux-syscall-note) OR BSD-3-Clause)
/* Do not edit directly, auto-generated from: */
/*	Documentation/netlink/specs/tcpmig.yaml */
/* YNL-GEN kernel source */
/* To regenerate run: tools/net/ynl/ynl-regen.sh */

#include <net/netlink.h>
#include <net/genetlink.h>

#include "tcpmig_nl_gen.h"

#include "tcpmig_uapi.h"

/* TCPMIG_CMD_CONFIG_SET - do */
static const struct nla_policy tcpmig_config_set_nl_policy[TCPMIG_A_CONFIG_MIGRATOR_PORT + 1] = {
	[TCPMIG_A_CONFIG_MIGRATOR_PORT] = NLA_POLICY_MIN(NLA_U16, 1),
};

/* TCPMIG_CMD_CONN_CAPTURE - do */
static const struct nla_policy tcpmig_conn_capture_nl_policy[TCPMIG_A_CONN_BLOB_FD + 1] = {
	[TCPMIG_A_CONN_LOCAL_ADDR] = NLA_POLICY_MAX_LEN(16),
	[TCPMIG_A_CONN_LOCAL_PORT] = NLA_POLICY_MIN(NLA_BE16, 1),
	[TCPMIG_A_CONN_REMOTE_ADDR] = NLA_POLICY_MAX_LEN(16),
	[TCPMIG_A_CONN_REMOTE_PORT] = NLA_POLICY_MIN(NLA_BE16, 1),
	[TCPMIG_A_CONN_BLOB_FD] = { .type = NLA_U32, },
};

/* TCPMIG_CMD_CONN_INJECT - do */
static const struct nla_policy tcpmig_conn_inject_nl_policy[TCPMIG_A_CONN_BLOB_FD + 1] = {
	[TCPMIG_A_CONN_BLOB] = { .type = NLA_BINARY, },
	[TCPMIG_A_CONN_BLOB_FD] = { .type = NLA_U32, },
};

/* Ops table for tcpmig */
static const struct genl_split_ops tcpmig_nl_ops[] = {
	{
		.cmd	= TCPMIG_CMD_STATUS_GET,
		.doit	= tcpmig_nl_status_get_doit,
		.flags	= GENL_CMD_CAP_DO,
	},
	{
		.cmd		= TCPMIG_CMD_CONFIG_SET,
		.doit		= tcpmig_nl_config_set_doit,
		.policy		= tcpmig_config_set_nl_policy,
		.maxattr	= TCPMIG_A_CONFIG_MIGRATOR_PORT,
		.flags		= GENL_UNS_ADMIN_PERM | GENL_CMD_CAP_DO,
	},
	{
		.cmd		= TCPMIG_CMD_CONN_CAPTURE,
		.doit		= tcpmig_nl_conn_capture_doit,
		.policy		= tcpmig_conn_capture_nl_policy,
		.maxattr	= TCPMIG_A_CONN_BLOB_FD,
		.flags		= GENL_UNS_ADMIN_PERM | GENL_CMD_CAP_DO,
	},
	{
		.cmd		= TCPMIG_CMD_CONN_INJECT,
		.doit		= tcpmig_nl_conn_inject_doit,
		.policy		= tcpmig_conn_inject_nl_policy,
		.maxattr	= TCPMIG_A_CONN_BLOB_FD,
		.flags		= GENL_UNS_ADMIN_PERM | GENL_CMD_CAP_DO,
	},
};

struct genl_family tcpmig_nl_family __ro_after_init = {
	.name		= TCPMIG_FAMILY_NAME,
	.version	= TCPMIG_FAMILY_VERSION,
	.netnsok	= true,
	.parallel_ops	= true,
	.module		= THIS_MODULE,
	.split_ops	= tcpmig_nl_ops,
	.n_split_ops	= ARRAY_SIZE(tcpmig_nl_ops),
};
