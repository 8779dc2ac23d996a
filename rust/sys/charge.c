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
 * proto whose release_cb notices the accept, and so does its backlog_rcv,
 * which release_sock() runs first. inet_accept() charges the sock with
 * its lock owned and releases it right after; while the lock is owned,
 * only the backlog and release_cb change the sock's memory. So the first
 * time either runs with the sock grafted to a socket, the sock holds what
 * it held when it was charged, and the difference is charged to the
 * acceptor's cgroup alone (the protocol's pool has it already). Then the
 * sock goes back to the kernel's proto. A sock destroyed before it is
 * accepted goes back at its destroy, and the module's exit puts back any
 * still waiting (their queues stay uncharged, as without this file), so
 * no sock refers to this module once it is gone.
 */
#include "tcpmig_sys.h"

struct tcpmig_watched {
	struct list_head node;
	struct sock *sk;
	int (*backlog_rcv)(struct sock *sk, struct sk_buff *skb);
};

static DEFINE_SPINLOCK(watched_lock);
static LIST_HEAD(watched);

/* The copies, and the protos they copy: IPv4, IPv6 (v4-mapped too). */
static struct proto watch_prot[2];
static struct proto *base_prot[2];

static int watch_index(const struct proto *prot)
{
	if (prot == &watch_prot[0] || prot == base_prot[0])
		return 0;
	if (prot == &watch_prot[1] || (base_prot[1] && prot == base_prot[1]))
		return 1;
	return -1;
}

/*
 * Puts @sk back on the kernel's proto and takes it off the list; returns
 * its entry (the caller frees it), or NULL if it was not watched. The
 * caller owns the sock's lock, or holds its spinlock.
 */
static struct tcpmig_watched *unwatch(struct sock *sk)
{
	struct tcpmig_watched *w, *found = NULL;

	spin_lock_bh(&watched_lock);
	list_for_each_entry(w, &watched, node) {
		if (w->sk == sk) {
			found = w;
			break;
		}
	}
	if (found) {
		sk->sk_backlog_rcv = found->backlog_rcv;
		WRITE_ONCE(sk->sk_prot, base_prot[watch_index(sk->sk_prot)]);
		list_del(&found->node);
	}
	spin_unlock_bh(&watched_lock);
	return found;
}

/*
 * Charges the acceptor's cgroup for what __inet_accept() left out. The
 * bytes a sock holds are charged to the protocol's pool in whole pages:
 * forward allocation, send queue and receive queue together. The cgroup
 * got the pages of the first and the last. The rest goes to the cgroup
 * alone (sk_bypass_prot_mem: not the pool again) and forced beyond its
 * limit, as __sk_charge() forces it (an atomic charge may exceed it).
 */
static void charge_send_queue(struct sock *sk)
{
	int held = sk->sk_forward_alloc + atomic_read(&sk->sk_rmem_alloc);
	int pages = sk_mem_pages(held + sk->sk_wmem_queued) - sk_mem_pages(held);
	bool bypass = sk->sk_bypass_prot_mem;

	if (!mem_cgroup_from_sk(sk) || pages <= 0)
		return;
	local_bh_disable();
	sk->sk_bypass_prot_mem = 1;
	if (__sk_mem_schedule(sk, pages << PAGE_SHIFT, SK_MEM_SEND))
		sk_forward_alloc_add(sk, -(pages << PAGE_SHIFT));
	sk->sk_bypass_prot_mem = bypass;
	local_bh_enable();
}

/*
 * If @sk was accepted, charges it and puts it back. Returns the backlog
 * handler it had before it was watched. The caller owns the sock's lock.
 */
static int (*settle(struct sock *sk))(struct sock *, struct sk_buff *)
{
	int (*rcv)(struct sock *, struct sk_buff *) = NULL;
	struct tcpmig_watched *w;

	if (READ_ONCE(sk->sk_socket)) {
		w = unwatch(sk);
		if (w) {
			charge_send_queue(sk);
			rcv = w->backlog_rcv;
			kfree(w);
		}
	} else {
		spin_lock_bh(&watched_lock);
		list_for_each_entry(w, &watched, node) {
			if (w->sk == sk) {
				rcv = w->backlog_rcv;
				break;
			}
		}
		spin_unlock_bh(&watched_lock);
	}
	/* Put back meanwhile: the handler is the sock's own again. */
	return rcv ?: sk->sk_backlog_rcv;
}

static int watch_backlog_rcv(struct sock *sk, struct sk_buff *skb)
{
	int (*rcv)(struct sock *, struct sk_buff *);

	rcu_read_lock();
	rcv = settle(sk);
	rcu_read_unlock();
	return rcv(sk, skb);
}

static void watch_release_cb(struct sock *sk)
{
	struct proto *base = base_prot[watch_index(sk->sk_prot)];

	rcu_read_lock();
	settle(sk);
	rcu_read_unlock();
	base->release_cb(sk);
}

static void watch_destroy(struct sock *sk)
{
	struct proto *base = base_prot[watch_index(sk->sk_prot)];

	rcu_read_lock();
	kfree(unwatch(sk));
	rcu_read_unlock();
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
	}
}

/*
 * Watches @sk, a connected sock about to go to an accept queue, until it
 * is accepted or destroyed. Returns its entry, for tcpmig_charge_start()
 * once it is queued or kfree() if it is not; NULL if it cannot be
 * watched (no memory, or a proto this file does not know): it is then
 * accepted as the kernel's handshake children are.
 */
struct tcpmig_watched *tcpmig_charge_prepare(struct sock *sk)
{
	struct tcpmig_watched *w;
	int i = watch_index(sk->sk_prot);

	if (i < 0 || sk->sk_prot != base_prot[i])
		return NULL;
	w = kmalloc(sizeof(*w), GFP_KERNEL);
	if (w)
		w->sk = sk;
	return w;
}

/* Called with the listener's accept queue locked, before the sock is in it. */
void tcpmig_charge_start(struct tcpmig_watched *w)
{
	struct sock *sk = w->sk;

	spin_lock(&watched_lock);
	w->backlog_rcv = sk->sk_backlog_rcv;
	sk->sk_backlog_rcv = watch_backlog_rcv;
	WRITE_ONCE(sk->sk_prot, &watch_prot[watch_index(sk->sk_prot)]);
	list_add(&w->node, &watched);
	spin_unlock(&watched_lock);
}

/*
 * At the module's exit, after every namespace's state went (no inject
 * runs): puts every sock still waiting to be accepted back on the
 * kernel's proto (an accepted one is charged first), then waits until
 * no CPU runs this file's hooks.
 */
void tcpmig_charge_exit(void)
{
	for (;;) {
		struct tcpmig_watched *w;
		struct sock *sk;

		spin_lock_bh(&watched_lock);
		w = list_first_entry_or_null(&watched, struct tcpmig_watched, node);
		/* Listed: not destroyed yet, so it still has a reference. */
		sk = w ? w->sk : NULL;
		if (sk)
			sock_hold(sk);
		spin_unlock_bh(&watched_lock);
		if (!sk)
			break;
		lock_sock(sk);
		if (READ_ONCE(sk->sk_socket))
			settle(sk);
		else
			kfree(unwatch(sk));
		release_sock(sk);
		sock_put(sk);
	}
	synchronize_rcu();
}
