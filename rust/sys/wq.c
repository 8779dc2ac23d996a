// SPDX-License-Identifier: GPL-2.0
/*
 * Workqueues of the module's own for wq.rs: the migrator's workers, the
 * node's flow-end notifier and every service (all named tcpmig-mig).
 */
#include "tcpmig_sys.h"

/*
 * Unbound: the workers block in socket calls for as long as a peer or a
 * client keeps its connection, so they must not hold up a per-CPU pool.
 */
struct workqueue_struct *tcpmig_wq_alloc(void)
{
	return alloc_workqueue("tcpmig-mig", WQ_UNBOUND, 0);
}

void tcpmig_wq_destroy(struct workqueue_struct *wq)
{
	destroy_workqueue(wq);
}
