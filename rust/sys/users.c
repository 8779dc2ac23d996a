// SPDX-License-Identifier: GPL-2.0
/*
 * The C half of users.rs: who owns a network namespace.
 */
#include "tcpmig_sys.h"

/*
 * The owner of @net's user namespace, as a uid of the initial one, in
 * @uid; false when the initial user namespace owns @net (an admin's).
 */
bool tcpmig_net_owner(const struct net *net, u32 *uid)
{
	if (net->user_ns == &init_user_ns)
		return false;
	*uid = from_kuid_munged(&init_user_ns, net->user_ns->owner);
	return true;
}
