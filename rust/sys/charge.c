// SPDX-License-Identifier: GPL-2.0
/*
 * The send queue of an injected connection, charged where it is accepted.
 *
 * A handshake's child reaches accept() with nothing queued to send, so
 * __inet_accept() charges the acceptor's memory cgroup for what a child
 * can hold: its forward allocation and its receive queue (__sk_charge():
 * "no need to look at newsk->sk_wmem_queued"). An injected connection can
 * carry megabytes queued to send, charged to the protocol's pool but to
 * no cgroup. Once the acceptor's cgroup is attached, each byte the peer
 * acknowledges is uncharged from it: the acceptor escapes its limit by
 * the queue, and when the queue goes with it, the cgroup's counter goes
 * below zero (mm/page_counter.c warns).
 *
 * So until it is accepted, an injected sock runs on a copy of its TCP
 * proto whose release_cb notices the accept, and so does its backlog
 * handler, which release_sock() runs first. inet_accept() charges the
 * sock with its lock owned and releases it right after; while the lock
 * is owned, only the backlog and release_cb change the sock's memory. So
 * the first time either runs with the sock grafted to a socket, the sock
 * holds what it held when it was charged, and the difference is charged
 * to the acceptor's cgroup alone (the protocol's pool has it already).
 *
 * Then the sock goes back to the kernel's proto: always in release_cb
 * (or in a destroy that does not run under the sock's owner), which runs
 * with bottom halves off, so the module's exit, which waits for an RCU
 * grace period, cannot free this file's code under it. The backlog
 * handler only runs while the sock is owned, and the sock stays listed
 * until release_cb; the exit waits for socks whose lock is owned. A sock
 * still waiting in an accept queue at the exit goes back then (its queue
 * stays uncharged, as without this file). The copies refuse sockmap
 * (no psock_update_sk_prot), which would keep a pointer to them.
 *
 * A watched sock's entry is in icsk_ulp_data, a ULP's slot, free while
 * icsk_ulp_ops is NULL: no ULP can be set before accept() returns, and
 * the only readers that skip the ops check are sockmap's, which the
 * copies refuse.
 *
 * One reader is not covered by the exit's grace period: a diag destroy
 * (sock_diag_destroy()) loads sk_prot, then its diag_destroy, in
 * preemptible context; preempted for a whole grace period between the
 * two while the module goes, it would read the unloaded copy.
 */
#include "tcpmig_sys.h"
#include <linux/delay.h>

struct tcpmig_watched {
	struct list_head node;
	struct sock *sk;
	int (*backlog_rcv)(struct sock *sk, struct sk_buff *skb);
	/* The accept's charge is settled; release_cb puts the proto back. */
	bool settled;
	/* Destroyed under its owner; release_cb puts the proto back. */
	bool destroyed;
};

static DEFINE_SPINLOCK(watched_lock);
static LIST_HEAD(watched);
/* Set by the exit: release_cb puts back every sock it sees. */
static bool exiting;

/* The copies, and the protos they copy: IPv4, IPv6 (v4-mapped too). */
static struct proto watch_prot[2];
static struct proto *base_prot[2];

/*
 * @sk's entry while it runs on a copy (the two change together), else
 * NULL. The caller owns the sock's lock or holds its spinlock.
 */
static struct tcpmig_watched *watched_of(struct sock *sk)
{
	if (sk->sk_prot != &watch_prot[0] && sk->sk_prot != &watch_prot[1])
		return NULL;
	return rcu_dereference_protected(inet_csk(sk)->icsk_ulp_data, 1);
}

/* Into base_prot and watch_prot: by family (a v4-mapped sock is IPv6). */
static int prot_index(const struct sock *sk)
{
	return sk->sk_family == AF_INET6 ? 1 : 0;
}

/* The kernel's proto of a sock that runs, or ran, on a copy. */
static struct proto *base_of(struct sock *sk)
{
	return base_prot[prot_index(sk)];
}

/*
 * Puts @sk back on the kernel's proto and takes it off the list. The
 * caller owns the sock's lock, or holds its spinlock with bottom halves
 * off, and frees @w.
 */
static void unwatch(struct sock *sk, struct tcpmig_watched *w)
{
	spin_lock_bh(&watched_lock);
	list_del(&w->node);
	spin_unlock_bh(&watched_lock);
	RCU_INIT_POINTER(inet_csk(sk)->icsk_ulp_data, NULL);
	if (!w->settled)
		sk->sk_backlog_rcv = w->backlog_rcv;
	WRITE_ONCE(sk->sk_prot, base_of(sk));
}

/*
 * Charges the acceptor's cgroup for what __inet_accept() left out. The
 * bytes a sock holds are charged to the protocol's pool in whole pages:
 * forward allocation, send queue and receive queue together. The cgroup
 * got the pages of the first and the last. The rest goes to the cgroup
 * alone (sk_bypass_prot_mem: not the pool again), forced beyond a v2
 * limit as __sk_charge() forces it (an atomic charge may exceed it). A
 * v1 cgroup's tcpmem limit can refuse it; __sk_mem_schedule() then
 * moderates the send buffer, which is put back.
 */
static void charge_send_queue(struct sock *sk)
{
	int held = sk->sk_forward_alloc + atomic_read(&sk->sk_rmem_alloc);
	int pages = sk_mem_pages(held + sk->sk_wmem_queued) - sk_mem_pages(held);
	bool bypass = sk->sk_bypass_prot_mem;
	int sndbuf = sk->sk_sndbuf;

	if (!mem_cgroup_from_sk(sk) || pages <= 0)
		return;
	local_bh_disable();
	sk->sk_bypass_prot_mem = 1;
	if (__sk_mem_schedule(sk, pages << PAGE_SHIFT, SK_MEM_SEND))
		sk_forward_alloc_add(sk, -(pages << PAGE_SHIFT));
	else
		pr_warn_once("tcpmig: an accepted connection's send queue could not be charged to its memory cgroup\n");
	sk->sk_bypass_prot_mem = bypass;
	WRITE_ONCE(sk->sk_sndbuf, sndbuf);
	local_bh_enable();
}

/* Charges @w's sock once it is accepted. The caller owns the sock's lock. */
static void settle(struct sock *sk, struct tcpmig_watched *w)
{
	if (w->settled || !READ_ONCE(sk->sk_socket))
		return;
	charge_send_queue(sk);
	w->settled = true;
	sk->sk_backlog_rcv = w->backlog_rcv;
}

/* Runs only while the sock is owned; release_cb follows. */
static int watch_backlog_rcv(struct sock *sk, struct sk_buff *skb)
{
	struct tcpmig_watched *w = watched_of(sk);
	int (*rcv)(struct sock *, struct sk_buff *);

	/*
	 * Put back meanwhile, or not yet watched (the hand-off publishes
	 * this handler last, but another owner may run it unordered).
	 */
	if (!w)
		return base_of(sk)->backlog_rcv(sk, skb);
	rcv = w->backlog_rcv;
	settle(sk, w);
	return rcv(sk, skb);
}

static void watch_release_cb(struct sock *sk)
{
	struct tcpmig_watched *w = watched_of(sk);
	struct proto *base = base_of(sk);

	/* Before the kernel's, which may change the sizes charged. */
	if (w)
		settle(sk, w);
	base->release_cb(sk);
	/* Which may have destroyed the sock (tcp_write_err()). */
	w = watched_of(sk);
	if (w && (w->settled || w->destroyed || READ_ONCE(exiting))) {
		unwatch(sk, w);
		kfree(w);
	}
}

/*
 * Under the sock's owner (a backlog packet ending the connection),
 * release_cb puts it back: this file's code runs until then. Otherwise
 * (softirq, a listener closing) with bottom halves off.
 */
static void watch_destroy(struct sock *sk)
{
	struct tcpmig_watched *w = watched_of(sk);
	struct proto *base = base_of(sk);

	if (!w) {
		/* Put back meanwhile. */
	} else if (sock_owned_by_user(sk)) {
		w->destroyed = true;
	} else {
		unwatch(sk, w);
		kfree(w);
	}
	base->destroy(sk);
}

void tcpmig_charge_init(void)
{
	base_prot[0] = &tcp_prot;
#if IS_ENABLED(CONFIG_IPV6)
	base_prot[1] = &tcpv6_prot;
#endif
	for (int i = 0; i < 2; i++) {
		if (!base_prot[i])
			continue;
		watch_prot[i] = *base_prot[i];
		watch_prot[i].release_cb = watch_release_cb;
		watch_prot[i].destroy = watch_destroy;
#ifdef CONFIG_BPF_SYSCALL
		watch_prot[i].psock_update_sk_prot = NULL;
#endif
	}
}

/*
 * Watches @sk, a connected sock about to go to an accept queue, until it
 * is accepted or destroyed. Returns its entry, for tcpmig_charge_start()
 * once it is queued or kfree() if it is not; NULL if it cannot be
 * watched: -ENOMEM, or -EPROTONOSUPPORT for a proto this file does not
 * copy.
 */
struct tcpmig_watched *tcpmig_charge_prepare(struct sock *sk, int *err)
{
	struct tcpmig_watched *w;

	if (!base_of(sk) || sk->sk_prot != base_of(sk) || inet_csk(sk)->icsk_ulp_ops) {
		*err = -EPROTONOSUPPORT;
		return NULL;
	}
	w = kzalloc(sizeof(*w), GFP_KERNEL);
	if (!w) {
		*err = -ENOMEM;
		return NULL;
	}
	w->sk = sk;
	return w;
}

/* Called with the listener's accept queue locked, before the sock is in it. */
void tcpmig_charge_start(struct tcpmig_watched *w)
{
	struct sock *sk = w->sk;

	/*
	 * The sock is in the established hash: another task may own its
	 * lock now (a diag destroy). The entry, then the proto, then the
	 * backlog handler, which finds the entry or falls back to the
	 * kernel's.
	 */
	w->backlog_rcv = sk->sk_backlog_rcv;
	spin_lock(&watched_lock);
	list_add(&w->node, &watched);
	spin_unlock(&watched_lock);
	rcu_assign_pointer(inet_csk(sk)->icsk_ulp_data, w);
	smp_store_release(&sk->sk_prot, &watch_prot[prot_index(sk)]);
	WRITE_ONCE(sk->sk_backlog_rcv, watch_backlog_rcv);
}

/*
 * At the module's exit, after every namespace's state went (no inject
 * runs): puts every listed sock back on the kernel's proto. One whose
 * lock is owned is left to its release_cb (`exiting`), and waited for;
 * one that is not is put back under its spinlock, as a listener closing
 * takes it (it may not find the sock owned). Then waits until no CPU
 * runs this file's hooks.
 */
void tcpmig_charge_exit(void)
{
	struct sock *stuck = NULL;

	WRITE_ONCE(exiting, true);
	for (;;) {
		struct tcpmig_watched *w, *e;
		struct sock *sk;
		bool owned;

		spin_lock_bh(&watched_lock);
		w = list_first_entry_or_null(&watched, struct tcpmig_watched, node);
		/* Listed: not freed yet, so it still has a reference. */
		sk = w ? w->sk : NULL;
		if (sk)
			sock_hold(sk);
		spin_unlock_bh(&watched_lock);
		if (!sk)
			break;
		spin_lock_bh(&sk->sk_lock.slock);
		owned = sock_owned_by_user(sk);
		w = watched_of(sk);
		if (w && !owned) {
			unwatch(sk, w);
			kfree(w);
		} else if (!w && !owned && sk == stuck) {
			/* Listed twice yet not on a copy: cannot be; do not spin. */
			WARN_ONCE(1, "tcpmig: a listed sock is not watched\n");
			spin_lock_bh(&watched_lock);
			list_for_each_entry(e, &watched, node) {
				if (e->sk == sk) {
					list_del(&e->node);
					kfree(e);
					break;
				}
			}
			spin_unlock_bh(&watched_lock);
		}
		stuck = sk;
		spin_unlock_bh(&sk->sk_lock.slock);
		sock_put(sk);
		if (owned)
			msleep(1);
		cond_resched();
	}
	synchronize_rcu();
}
