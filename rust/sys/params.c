// SPDX-License-Identifier: GPL-2.0
/*
 * Module parameters for params.rs.
 */
#include <linux/module.h>
#include <linux/moduleparam.h>

#include "tcpmig_sys.h"

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

/*
 * The memory the packets held for frozen flows may take, per network
 * namespace: a bound on what an admin of a namespace (in a user namespace
 * of their own, too) can pin. Beyond it held packets are dropped and
 * counted; TCP retransmits them.
 */
static uint hold_kbytes = 4096;
module_param(hold_kbytes, uint, 0644);
MODULE_PARM_DESC(hold_kbytes,
		 "KiB of packets held for frozen flows, per network namespace (default 4096)");

u32 tcpmig_param_hold_kbytes(void)
{
	return READ_ONCE(hold_kbytes);
}

/*
 * The connections the services of one user's namespaces (those user
 * namespaces of theirs own) may have undecided at once, together: a user
 * who may create namespaces gets no more by making many. The initial user
 * namespace's namespaces are bounded per service only.
 */
static uint user_pending = 1024;
module_param(user_pending, uint, 0644);
MODULE_PARM_DESC(user_pending,
		 "Undecided dispatcher connections of all the network namespaces one user owns (default 1024)");

u32 tcpmig_param_user_pending(void)
{
	return READ_ONCE(user_pending);
}

/*
 * How long a migrated flow may go without a packet before its forwarding
 * (front-end) entry goes; the back-end tells the front-end sooner when
 * the connection ends. A sysfs knob: writable at any time.
 */
static uint flow_idle_secs = 600;
module_param(flow_idle_secs, uint, 0644);
MODULE_PARM_DESC(flow_idle_secs,
		 "Seconds a forwarded flow may stay idle before it is dropped (default 600)");

u32 tcpmig_param_flow_idle_secs(void)
{
	return max(READ_ONCE(flow_idle_secs), 1U);
}

/*
 * Whether the admin of a network namespace's own user namespace may drive
 * tcpmig there (CAP_NET_ADMIN over that user namespace), as TCP_REPAIR
 * allows; off, only CAP_NET_ADMIN in the initial user namespace may. On,
 * any local user who may create user namespaces gets the state-changing
 * ops in namespaces of their own (Documentation/tcpmig/security.rst).
 * Checked on every request: writable at any time.
 */
static bool userns_admin;
module_param(userns_admin, bool, 0644);
MODULE_PARM_DESC(userns_admin,
		 "Let a network namespace's own admin (CAP_NET_ADMIN in its user namespace) configure tcpmig there (default N)");

bool tcpmig_param_userns_admin(void)
{
	return READ_ONCE(userns_admin);
}
