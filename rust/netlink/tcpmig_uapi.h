/* SPDX-License-Identifier: ((GPL-2.0 WITH Linux-syscall-note) OR BSD-3-Clause) */
/* Do not edit directly, auto-generated from: */
/*	Documentation/netlink/specs/tcpmig.yaml */
/* YNL-GEN uapi header */
/* To regenerate run: tools/net/ynl/ynl-regen.sh */

#ifndef _UAPI_LINUX_TCPMIG_H
#define _UAPI_LINUX_TCPMIG_H

#define TCPMIG_FAMILY_NAME	"tcpmig"
#define TCPMIG_FAMILY_VERSION	1

#define TCPMIG_MIGRATOR_PORT_DEFAULT	4737

enum {
	TCPMIG_A_STATUS_NETNS_COOKIE = 1,
	TCPMIG_A_STATUS_MIGRATOR_PORT,
	TCPMIG_A_STATUS_PAD,

	__TCPMIG_A_STATUS_MAX,
	TCPMIG_A_STATUS_MAX = (__TCPMIG_A_STATUS_MAX - 1)
};

enum {
	TCPMIG_A_CONN_LOCAL_ADDR = 1,
	TCPMIG_A_CONN_LOCAL_PORT,
	TCPMIG_A_CONN_REMOTE_ADDR,
	TCPMIG_A_CONN_REMOTE_PORT,
	TCPMIG_A_CONN_BLOB,

	__TCPMIG_A_CONN_MAX,
	TCPMIG_A_CONN_MAX = (__TCPMIG_A_CONN_MAX - 1)
};

enum {
	TCPMIG_CMD_STATUS_GET = 1,
	TCPMIG_CMD_CONFIG_SET,
	TCPMIG_CMD_CONN_DUMP,
	TCPMIG_CMD_CONN_RESTORE,

	__TCPMIG_CMD_MAX,
	TCPMIG_CMD_MAX = (__TCPMIG_CMD_MAX - 1)
};

#endif /* _UAPI_LINUX_TCPMIG_H */
