// SPDX-License-Identifier: ((GPL-2.0 WITH Linux-syscall-note) OR BSD-3-Clause)
/* Do not edit directly, auto-generated from: */
/*	Documentation/netlink/specs/tcpmig.yaml */
/* YNL-GEN kernel source */
/* To regenerate run: tools/net/ynl/ynl-regen.sh */

#include <net/netlink.h>
#include <net/genetlink.h>

#include "tcpmig_nl_gen.h"

#include "tcpmig_uapi.h"

/* Integer value ranges */
static const struct netlink_range_validation tcpmig_a_service_timeout_ms_range = {
	.min	= 1ULL,
	.max	= 600000ULL,
};

static const struct netlink_range_validation tcpmig_a_conn_timeout_ms_range = {
	.min	= 1ULL,
	.max	= 60000ULL,
};

/* TCPMIG_CMD_CONFIG_SET - do */
static const struct nla_policy tcpmig_config_set_nl_policy[TCPMIG_A_CONFIG_CLUSTER_KEY + 1] = {
	[TCPMIG_A_CONFIG_MIGRATOR_PORT] = NLA_POLICY_MIN(NLA_U16, 1),
	[TCPMIG_A_CONFIG_CLUSTER_KEY] = NLA_POLICY_EXACT_LEN(32),
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

/* TCPMIG_CMD_PEER_ADD - do */
static const struct nla_policy tcpmig_peer_add_nl_policy[TCPMIG_A_PEER_SERVE + 1] = {
	[TCPMIG_A_PEER_NAME] = { .type = NLA_NUL_STRING, .len = 15, },
	[TCPMIG_A_PEER_ADDR] = NLA_POLICY_MAX_LEN(16),
	[TCPMIG_A_PEER_PORT] = NLA_POLICY_MIN(NLA_U16, 1),
	[TCPMIG_A_PEER_SERVE] = NLA_POLICY_MAX_LEN(640),
};

/* TCPMIG_CMD_PEER_DEL - do */
static const struct nla_policy tcpmig_peer_del_nl_policy[TCPMIG_A_PEER_NAME + 1] = {
	[TCPMIG_A_PEER_NAME] = { .type = NLA_NUL_STRING, .len = 15, },
};

/* TCPMIG_CMD_CONN_MIGRATE - do */
static const struct nla_policy tcpmig_conn_migrate_nl_policy[TCPMIG_A_CONN_FD + 1] = {
	[TCPMIG_A_CONN_LOCAL_ADDR] = NLA_POLICY_MAX_LEN(16),
	[TCPMIG_A_CONN_LOCAL_PORT] = NLA_POLICY_MIN(NLA_BE16, 1),
	[TCPMIG_A_CONN_REMOTE_ADDR] = NLA_POLICY_MAX_LEN(16),
	[TCPMIG_A_CONN_REMOTE_PORT] = NLA_POLICY_MIN(NLA_BE16, 1),
	[TCPMIG_A_CONN_PEER] = { .type = NLA_NUL_STRING, .len = 15, },
	[TCPMIG_A_CONN_TIMEOUT_MS] = NLA_POLICY_FULL_RANGE(NLA_U32, &tcpmig_a_conn_timeout_ms_range),
	[TCPMIG_A_CONN_ON_FAILURE] = NLA_POLICY_MAX(NLA_U8, 1),
	[TCPMIG_A_CONN_FD] = { .type = NLA_U32, },
};

/* TCPMIG_CMD_SERVICE_ADD - do */
static const struct nla_policy tcpmig_service_add_nl_policy[TCPMIG_A_SERVICE_MAX_PENDING + 1] = {
	[TCPMIG_A_SERVICE_ADDR] = NLA_POLICY_MAX_LEN(16),
	[TCPMIG_A_SERVICE_PORT] = NLA_POLICY_MIN(NLA_U16, 1),
	[TCPMIG_A_SERVICE_TIMEOUT_MS] = NLA_POLICY_FULL_RANGE(NLA_U32, &tcpmig_a_service_timeout_ms_range),
	[TCPMIG_A_SERVICE_MAX_BYTES] = NLA_POLICY_RANGE(NLA_U32, 1, 16384),
	[TCPMIG_A_SERVICE_FALLBACK] = NLA_POLICY_RANGE(NLA_U8, 1, 2),
	[TCPMIG_A_SERVICE_SILENT] = NLA_POLICY_RANGE(NLA_U8, 1, 2),
	[TCPMIG_A_SERVICE_LOCAL_PORT] = { .type = NLA_U16, },
	[TCPMIG_A_SERVICE_MAX_PENDING] = NLA_POLICY_RANGE(NLA_U32, 1, 16384),
};

/* TCPMIG_CMD_SERVICE_DEL - do */
static const struct nla_policy tcpmig_service_del_nl_policy[TCPMIG_A_SERVICE_PORT + 1] = {
	[TCPMIG_A_SERVICE_ADDR] = NLA_POLICY_MAX_LEN(16),
	[TCPMIG_A_SERVICE_PORT] = NLA_POLICY_MIN(NLA_U16, 1),
};

/* TCPMIG_CMD_RULE_ADD - do */
static const struct nla_policy tcpmig_rule_add_nl_policy[TCPMIG_A_RULE_POOL + 1] = {
	[TCPMIG_A_RULE_SERVICE_ADDR] = NLA_POLICY_MAX_LEN(16),
	[TCPMIG_A_RULE_SERVICE_PORT] = NLA_POLICY_MIN(NLA_U16, 1),
	[TCPMIG_A_RULE_INDEX] = { .type = NLA_U32, },
	[TCPMIG_A_RULE_KIND] = NLA_POLICY_RANGE(NLA_U8, 1, 5),
	[TCPMIG_A_RULE_PATTERN] = NLA_POLICY_MAX_LEN(255),
	[TCPMIG_A_RULE_METHOD] = { .type = NLA_NUL_STRING, .len = 16, },
	[TCPMIG_A_RULE_HASH_N] = { .type = NLA_U32, },
	[TCPMIG_A_RULE_HASH_M] = NLA_POLICY_MIN(NLA_U32, 1),
	[TCPMIG_A_RULE_POOL] = { .type = NLA_NUL_STRING, .len = 15, },
};

/* TCPMIG_CMD_RULE_DEL - do */
static const struct nla_policy tcpmig_rule_del_nl_policy[TCPMIG_A_RULE_INDEX + 1] = {
	[TCPMIG_A_RULE_SERVICE_ADDR] = NLA_POLICY_MAX_LEN(16),
	[TCPMIG_A_RULE_SERVICE_PORT] = NLA_POLICY_MIN(NLA_U16, 1),
	[TCPMIG_A_RULE_INDEX] = { .type = NLA_U32, },
};

/* TCPMIG_CMD_POOL_ADD - do */
static const struct nla_policy tcpmig_pool_add_nl_policy[TCPMIG_A_POOL_MEMBERS + 1] = {
	[TCPMIG_A_POOL_NAME] = { .type = NLA_NUL_STRING, .len = 15, },
	[TCPMIG_A_POOL_POLICY] = NLA_POLICY_RANGE(NLA_U8, 1, 3),
	[TCPMIG_A_POOL_MEMBERS] = { .type = NLA_NUL_STRING, .len = 511, },
};

/* TCPMIG_CMD_POOL_SET - do */
static const struct nla_policy tcpmig_pool_set_nl_policy[TCPMIG_A_POOL_MEMBERS + 1] = {
	[TCPMIG_A_POOL_NAME] = { .type = NLA_NUL_STRING, .len = 15, },
	[TCPMIG_A_POOL_POLICY] = NLA_POLICY_RANGE(NLA_U8, 1, 3),
	[TCPMIG_A_POOL_MEMBERS] = { .type = NLA_NUL_STRING, .len = 511, },
};

/* TCPMIG_CMD_POOL_DEL - do */
static const struct nla_policy tcpmig_pool_del_nl_policy[TCPMIG_A_POOL_NAME + 1] = {
	[TCPMIG_A_POOL_NAME] = { .type = NLA_NUL_STRING, .len = 15, },
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
		.pre_doit	= tcpmig_nl_admin_doit,
		.doit		= tcpmig_nl_config_set_doit,
		.policy		= tcpmig_config_set_nl_policy,
		.maxattr	= TCPMIG_A_CONFIG_CLUSTER_KEY,
		.flags		= GENL_UNS_ADMIN_PERM | GENL_CMD_CAP_DO,
	},
	{
		.cmd		= TCPMIG_CMD_CONN_CAPTURE,
		.pre_doit	= tcpmig_nl_admin_doit,
		.doit		= tcpmig_nl_conn_capture_doit,
		.policy		= tcpmig_conn_capture_nl_policy,
		.maxattr	= TCPMIG_A_CONN_BLOB_FD,
		.flags		= GENL_UNS_ADMIN_PERM | GENL_CMD_CAP_DO,
	},
	{
		.cmd		= TCPMIG_CMD_CONN_INJECT,
		.pre_doit	= tcpmig_nl_admin_doit,
		.doit		= tcpmig_nl_conn_inject_doit,
		.policy		= tcpmig_conn_inject_nl_policy,
		.maxattr	= TCPMIG_A_CONN_BLOB_FD,
		.flags		= GENL_UNS_ADMIN_PERM | GENL_CMD_CAP_DO,
	},
	{
		.cmd		= TCPMIG_CMD_PEER_ADD,
		.pre_doit	= tcpmig_nl_admin_doit,
		.doit		= tcpmig_nl_peer_add_doit,
		.policy		= tcpmig_peer_add_nl_policy,
		.maxattr	= TCPMIG_A_PEER_SERVE,
		.flags		= GENL_UNS_ADMIN_PERM | GENL_CMD_CAP_DO,
	},
	{
		.cmd		= TCPMIG_CMD_PEER_DEL,
		.pre_doit	= tcpmig_nl_admin_doit,
		.doit		= tcpmig_nl_peer_del_doit,
		.policy		= tcpmig_peer_del_nl_policy,
		.maxattr	= TCPMIG_A_PEER_NAME,
		.flags		= GENL_UNS_ADMIN_PERM | GENL_CMD_CAP_DO,
	},
	{
		.cmd	= TCPMIG_CMD_PEER_GET,
		.start	= tcpmig_nl_admin_dumpit,
		.dumpit	= tcpmig_nl_peer_get_dumpit,
		.flags	= GENL_UNS_ADMIN_PERM | GENL_CMD_CAP_DUMP,
	},
	{
		.cmd		= TCPMIG_CMD_CONN_MIGRATE,
		.pre_doit	= tcpmig_nl_admin_doit,
		.doit		= tcpmig_nl_conn_migrate_doit,
		.policy		= tcpmig_conn_migrate_nl_policy,
		.maxattr	= TCPMIG_A_CONN_FD,
		.flags		= GENL_UNS_ADMIN_PERM | GENL_CMD_CAP_DO,
	},
	{
		.cmd	= TCPMIG_CMD_FLOW_GET,
		.start	= tcpmig_nl_admin_dumpit,
		.dumpit	= tcpmig_nl_flow_get_dumpit,
		.flags	= GENL_UNS_ADMIN_PERM | GENL_CMD_CAP_DUMP,
	},
	{
		.cmd		= TCPMIG_CMD_SERVICE_ADD,
		.pre_doit	= tcpmig_nl_admin_doit,
		.doit		= tcpmig_nl_service_add_doit,
		.policy		= tcpmig_service_add_nl_policy,
		.maxattr	= TCPMIG_A_SERVICE_MAX_PENDING,
		.flags		= GENL_UNS_ADMIN_PERM | GENL_CMD_CAP_DO,
	},
	{
		.cmd		= TCPMIG_CMD_SERVICE_DEL,
		.pre_doit	= tcpmig_nl_admin_doit,
		.doit		= tcpmig_nl_service_del_doit,
		.policy		= tcpmig_service_del_nl_policy,
		.maxattr	= TCPMIG_A_SERVICE_PORT,
		.flags		= GENL_UNS_ADMIN_PERM | GENL_CMD_CAP_DO,
	},
	{
		.cmd	= TCPMIG_CMD_SERVICE_GET,
		.start	= tcpmig_nl_admin_dumpit,
		.dumpit	= tcpmig_nl_service_get_dumpit,
		.flags	= GENL_UNS_ADMIN_PERM | GENL_CMD_CAP_DUMP,
	},
	{
		.cmd		= TCPMIG_CMD_RULE_ADD,
		.pre_doit	= tcpmig_nl_admin_doit,
		.doit		= tcpmig_nl_rule_add_doit,
		.policy		= tcpmig_rule_add_nl_policy,
		.maxattr	= TCPMIG_A_RULE_POOL,
		.flags		= GENL_UNS_ADMIN_PERM | GENL_CMD_CAP_DO,
	},
	{
		.cmd		= TCPMIG_CMD_RULE_DEL,
		.pre_doit	= tcpmig_nl_admin_doit,
		.doit		= tcpmig_nl_rule_del_doit,
		.policy		= tcpmig_rule_del_nl_policy,
		.maxattr	= TCPMIG_A_RULE_INDEX,
		.flags		= GENL_UNS_ADMIN_PERM | GENL_CMD_CAP_DO,
	},
	{
		.cmd	= TCPMIG_CMD_RULE_GET,
		.dumpit	= tcpmig_nl_rule_get_dumpit,
		.flags	= GENL_CMD_CAP_DUMP,
	},
	{
		.cmd		= TCPMIG_CMD_POOL_ADD,
		.pre_doit	= tcpmig_nl_admin_doit,
		.doit		= tcpmig_nl_pool_add_doit,
		.policy		= tcpmig_pool_add_nl_policy,
		.maxattr	= TCPMIG_A_POOL_MEMBERS,
		.flags		= GENL_UNS_ADMIN_PERM | GENL_CMD_CAP_DO,
	},
	{
		.cmd		= TCPMIG_CMD_POOL_SET,
		.pre_doit	= tcpmig_nl_admin_doit,
		.doit		= tcpmig_nl_pool_set_doit,
		.policy		= tcpmig_pool_set_nl_policy,
		.maxattr	= TCPMIG_A_POOL_MEMBERS,
		.flags		= GENL_UNS_ADMIN_PERM | GENL_CMD_CAP_DO,
	},
	{
		.cmd		= TCPMIG_CMD_POOL_DEL,
		.pre_doit	= tcpmig_nl_admin_doit,
		.doit		= tcpmig_nl_pool_del_doit,
		.policy		= tcpmig_pool_del_nl_policy,
		.maxattr	= TCPMIG_A_POOL_NAME,
		.flags		= GENL_UNS_ADMIN_PERM | GENL_CMD_CAP_DO,
	},
	{
		.cmd	= TCPMIG_CMD_POOL_GET,
		.dumpit	= tcpmig_nl_pool_get_dumpit,
		.flags	= GENL_CMD_CAP_DUMP,
	},
};

static const struct genl_multicast_group tcpmig_nl_mcgrps[] = {
	[TCPMIG_NLGRP_EVENTS] = { "events", .flags = GENL_MCAST_CAP_NET_ADMIN, },
};

struct genl_family tcpmig_nl_family __ro_after_init = {
	.name		= TCPMIG_FAMILY_NAME,
	.version	= TCPMIG_FAMILY_VERSION,
	.netnsok	= true,
	.parallel_ops	= true,
	.module		= THIS_MODULE,
	.split_ops	= tcpmig_nl_ops,
	.n_split_ops	= ARRAY_SIZE(tcpmig_nl_ops),
	.mcgrps		= tcpmig_nl_mcgrps,
	.n_mcgrps	= ARRAY_SIZE(tcpmig_nl_mcgrps),
};
