// SPDX-License-Identifier: GPL-2.0
/*
 * The C half of users.rs: who owns a network namespace.
 */
#include "tcpmig_sys.h"

/*
 * Who owns @net, as a share key in @key; false when the initial user
 * namespace owns it (an admin's). The owner is the top user namespace
 * above @net's (the child of the initial one): nested ones, whatever
 * uid made them inside, count for the user who made the top one, as the
 * kernel's own ucounts do. A top one root made (a container manager's)
 * is its own owner: each such container has a share of its own.
 */
bool tcpmig_net_owner(const struct net *net, u64 *key)
{
	const struct user_namespace *ns = net->user_ns;

	if (ns == &init_user_ns)
		return false;
	while (ns->parent != &init_user_ns)
		ns = ns->parent;
	if (uid_eq(ns->owner, GLOBAL_ROOT_UID))
		*key = (1ULL << 32) | ns->ns.inum;
	else
		*key = from_kuid_munged(&init_user_ns, ns->owner);
	return true;
}
