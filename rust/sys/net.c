// SPDX-License-Identifier: GPL-2.0
/*
 * Network namespaces for net.rs: the per-namespace slot of the
 * module's state and the initial namespace.
 */
#include "tcpmig_sys.h"

void *tcpmig_net_generic(const struct net *net, unsigned int id)
{
	return net_generic(net, id);
}

struct net *tcpmig_init_net(void)
{
	return &init_net;
}
