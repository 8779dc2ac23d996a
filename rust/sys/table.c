// SPDX-License-Identifier: GPL-2.0
/*
 * The C half of table.rs: hashing, RCU callbacks and the sweep's
 * delayed work, all static inlines or macros Rust cannot call.
 */
#include "tcpmig_sys.h"

u32 tcpmig_jhash2(const u32 *words, u32 len, u32 seed)
{
	return jhash2(words, len, seed);
}


/*
 * A delayed work item that calls @tick(@ctx) every @period jiffies for as
 * long as @tick returns true; tcpmig_ticker_arm() starts it again.
 */
struct tcpmig_ticker {
	struct delayed_work work;
	bool (*tick)(void *ctx);
	void *ctx;
	unsigned long period;
};

static void tcpmig_ticker_run(struct work_struct *work)
{
	struct tcpmig_ticker *t =
		container_of(to_delayed_work(work), struct tcpmig_ticker, work);

	if (t->tick(t->ctx))
		tcpmig_ticker_arm(t);
}

struct tcpmig_ticker *tcpmig_ticker_new(bool (*tick)(void *ctx), void *ctx, u64 period)
{
	struct tcpmig_ticker *t = kzalloc(sizeof(*t), GFP_KERNEL);

	if (!t)
		return NULL;
	INIT_DELAYED_WORK(&t->work, tcpmig_ticker_run);
	t->tick = tick;
	t->ctx = ctx;
	t->period = max_t(u64, period, 1);
	return t;
}

/* Queues the next tick unless one is queued already. */
void tcpmig_ticker_arm(struct tcpmig_ticker *t)
{
	queue_delayed_work(system_dfl_wq, &t->work, t->period);
}

/*
 * Cancels the ticker and waits for a tick that is running, then frees it;
 * cancel_delayed_work_sync() also stops a tick from queueing itself again.
 */
void tcpmig_ticker_free(struct tcpmig_ticker *t)
{
	cancel_delayed_work_sync(&t->work);
	kfree(t);
}
