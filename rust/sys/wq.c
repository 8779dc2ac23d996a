// SPDX-License-Identifier: GPL-2.0
/* A workqueue of the migrator's own, and the real-time clock (wq.rs). */
#include "tcpmig_sys.h"

/*
 * Unbound: the migrator's workers block in socket calls for as long as a
 * peer keeps its connection, so they must not hold up a per-CPU pool.
 */
struct workqueue_struct *tcpmig_wq_alloc(void)
{
	return alloc_workqueue("tcpmig-mig", WQ_UNBOUND, 0);
}

void tcpmig_wq_destroy(struct workqueue_struct *wq)
{
	destroy_workqueue(wq);
}

u64 tcpmig_real_ns(void)
{
	return ktime_get_real_ns();
}
