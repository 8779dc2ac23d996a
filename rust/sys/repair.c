// SPDX-License-Identifier: GPL-2.0
/*
 * Repair-mode rebuilds for repair.rs: the kernel socket a connection is
 * rebuilt in, the TCP_REPAIR socket options, what those options cannot
 * set (congestion and RTT state, the IP side, CLOSE_WAIT), and handing
 * the result to a listener's accept queue. That hand-off open-codes what
 * the kernel's unexported inet_csk_reqsk_queue_add() does; see its
 * comment.
 */
#include "tcpmig_sys.h"

/*
 * A kernel TCP socket for a connection that will be handed to a listener.
 *
 * sk_alloc() tied its sock to the memory cgroup of the task running the
 * inject, and __inet_accept() will tie it to the accepting task's,
 * overwriting sk_memcg without dropping the first css reference (a leak
 * per connection) and charging memory the first cgroup already holds. A
 * child from the listener's handshake starts with no cgroup (sk_clone_lock
 * clears sk_memcg) and is charged at accept: make this sock start the
 * same way, before anything is charged to it.
 */
struct socket *tcpmig_sock_create(struct net *net, int family)
{
	struct socket *sock;

	if (sock_create_kern(net, family, SOCK_STREAM, IPPROTO_TCP, &sock))
		return NULL;
#ifdef CONFIG_MEMCG
	if (sock->sk->sk_memcg) {
		css_put(&sock->sk->sk_memcg->css);
		sock->sk->sk_memcg = NULL;
	}
#endif
	return sock;
}

/*
 * Sends @data, a restored connection's never-sent bytes, whatever the
 * not-sent low-water mark (TCP_NOTSENT_LOWAT would refuse more than it
 * while the peer's window is closed). The buffers were sized for them.
 */
int tcpmig_send_unsent(struct socket *sock, const void *data, size_t len)
{
	struct tcp_sock *tp = tcp_sk(sock->sk);
	u32 lowat;
	int err;

	lock_sock(sock->sk);
	lowat = tp->notsent_lowat;
	WRITE_ONCE(tp->notsent_lowat, UINT_MAX);
	release_sock(sock->sk);
	err = tcpmig_send(sock, data, len);
	lock_sock(sock->sk);
	WRITE_ONCE(tp->notsent_lowat, lowat);
	release_sock(sock->sk);
	return err;
}

/*
 * Makes room for @send queued send bytes and @recv queued received bytes,
 * as SO_SNDBUF/SO_RCVBUF would without their rmem_max/wmem_max caps, and
 * without SO_*BUFFORCE's capable(CAP_NET_ADMIN) check in the initial user
 * namespace: inject needs admin rights in the namespace's own user
 * namespace only. The sizes are not locked, so autotuning goes on (it
 * only grows them). skb overhead roughly doubles the memory charged for
 * the bytes, as the socket options assume too.
 */
void tcpmig_reserve_buffers(struct socket *sock, u32 send, u32 recv)
{
	struct sock *sk = sock->sk;
	int sndbuf = min_t(u64, 2ULL * send + SZ_64K, INT_MAX);
	int rcvbuf = min_t(u64, 2ULL * recv + SZ_64K, INT_MAX);

	lock_sock(sk);
	if (sndbuf > READ_ONCE(sk->sk_sndbuf)) {
		WRITE_ONCE(sk->sk_sndbuf, sndbuf);
		sk->sk_write_space(sk);
	}
	if (rcvbuf > READ_ONCE(sk->sk_rcvbuf))
		WRITE_ONCE(sk->sk_rcvbuf, rcvbuf);
	release_sock(sk);
}

int tcpmig_setsockopt(struct socket *sock, int level, int name, const void *val,
		      unsigned int len)
{
	return do_sock_setsockopt(sock, false, level, name,
				  KERNEL_SOCKPTR((void *)val), len);
}

/*
 * Queues all of @data without waiting. In repair mode the receive queue
 * takes at most MAX_SKB_FRAGS pages per call (tcp_send_rcvq()), so this
 * loops while each call makes progress; -ENOBUFS if one makes none.
 */
int tcpmig_send(struct socket *sock, const void *data, size_t len)
{
	while (len) {
		struct kvec vec = { .iov_base = (void *)data, .iov_len = len };
		struct msghdr msg = { .msg_flags = MSG_DONTWAIT };
		int sent = kernel_sendmsg(sock, &msg, &vec, 1, len);

		if (sent < 0)
			return sent == -EAGAIN ? -ENOBUFS : sent;
		if (sent == 0)
			return -ENOBUFS;
		data += sent;
		len -= sent;
	}
	return 0;
}

/*
 * What TCP_REPAIR cannot set, on a connected socket in repair mode: the
 * congestion and RTT state, the peer's last timestamp (so the first
 * segments echo it), ECN, unscaled windows and the window clamp. The blob's
 * values were range-checked by the decoder (rust/wire), so none of these
 * stores can make the kernel warn or wrap.
 *
 * The RTO is derived here as tcp_set_rto() derives it after an RTT
 * sample: from srtt and an rttvar of at least this host's rto_min,
 * bounded by its rto_max. Without an RTT sample (srtt 0) the connect's
 * initial RTO stays.
 */
void tcpmig_set_cc(struct socket *sock, const struct tcpmig_tcp *t)
{
	struct sock *sk = sock->sk;
	struct tcp_sock *tp = tcp_sk(sk);

	lock_sock(sk);
	if (tp->rx_opt.tstamp_ok) {
		tp->rx_opt.ts_recent = t->ts_recent;
		tp->rx_opt.ts_recent_stamp = ktime_get_seconds();
	}
	/*
	 * TCP_REPAIR_OPTIONS sets the scales only when the connection has
	 * them; otherwise the repair connect left this host's default
	 * receive scale, and every advertised window would be divided by it.
	 */
	if (!tp->rx_opt.wscale_ok) {
		tp->rx_opt.snd_wscale = 0;
		tp->rx_opt.rcv_wscale = 0;
	}
	WRITE_ONCE(tp->window_clamp, t->window_clamp);
	/* RFC 3168 ECN, as the handshake would have set it. */
	if (t->ecn_ok)
		tcp_ecn_mode_set(tp, TCP_ECN_MODE_RFC3168);
	tcp_snd_cwnd_set(tp, t->snd_cwnd);
	tp->snd_ssthresh = t->snd_ssthresh;
	if (t->srtt_us) {
		tp->srtt_us = t->srtt_us;
		tp->mdev_us = t->mdev_us;
		tp->rttvar_us = max(t->mdev_us, tcp_rto_min_us(sk));
		tp->mdev_max_us = tp->rttvar_us;
		inet_csk(sk)->icsk_rto = __tcp_set_rto(tp);
		tcp_bound_rto(sk);
	}
	/* The repair connect sized the MSS with the default clamp: make
	 * the next transmit recompute it from the restored one.
	 */
	inet_csk(sk)->icsk_pmtu_cookie = 0;
	release_sock(sk);
}

/*
 * The IP side a connection had: TOS or traffic class, a TTL or hop limit
 * of its own (0: the namespace's default), the IPv6 flow label. An IPv4
 * connection on an AF_INET6 socket (v4-mapped) uses the IPv4 fields.
 */
void tcpmig_set_ip(struct socket *sock, const struct tcpmig_ip *ip)
{
	struct sock *sk = sock->sk;
	struct inet_sock *inet = inet_sk(sk);

	if (ip->family == 4)
		ip_sock_set_tos(sk, ip->tos); /* takes the socket lock itself */
	lock_sock(sk);
	if (ip->family == 4) {
		WRITE_ONCE(inet->uc_ttl, ip->ttl ? ip->ttl : -1);
	}
#if IS_ENABLED(CONFIG_IPV6)
	else if (sk->sk_family == AF_INET6) {
		struct ipv6_pinfo *np = inet6_sk(sk);

		WRITE_ONCE(np->tclass, ip->tos);
		WRITE_ONCE(np->hop_limit, ip->ttl ? ip->ttl : -1);
		np->flow_label = htonl(ip->flow_label) & IPV6_FLOWLABEL_MASK;
		sk_dst_reset(sk);
	}
#endif
	release_sock(sk);
}

/*
 * Completes a CLOSE_WAIT restore: the peer's FIN, which took a sequence
 * number and was acknowledged by the old socket, is consumed again here
 * as tcp_fin() does (RCV_SHUTDOWN, SOCK_DONE, CLOSE_WAIT). Call after the
 * received bytes are queued and before TCP_REPAIR_WINDOW.
 */
void tcpmig_set_close_wait(struct socket *sock)
{
	struct sock *sk = sock->sk;
	struct tcp_sock *tp = tcp_sk(sk);

	lock_sock(sk);
	WRITE_ONCE(tp->rcv_nxt, tp->rcv_nxt + 1);
	WRITE_ONCE(sk->sk_shutdown, sk->sk_shutdown | RCV_SHUTDOWN);
	sock_set_flag(sk, SOCK_DONE);
	/* What tcp_set_state() does for ESTABLISHED -> CLOSE_WAIT: no
	 * counter changes; the state store pairs with lockless readers.
	 */
	smp_store_release(&sk->sk_state, TCP_CLOSE_WAIT);
	release_sock(sk);
}

/*
 * Hands the connected sock of the kernel socket @sock to @listener's
 * accept queue, as if the listener had completed its handshake, and
 * frees the kernel socket's shell. The request sock comes from the
 * listener's own request_sock_ops (the kernel's slab and destructor); the
 * sock runs on a copy of its proto until it is accepted (charge.c), and
 * the module's exit puts back any still queued. On
 * error @sock is still the caller's (its sock may hold a netns reference
 * now, which its release drops).
 */
int tcpmig_accept_queue_add(struct sock *listener, struct socket *sock)
{
	const struct request_sock_ops *ops = listener->sk_prot->rsk_prot;
	struct request_sock_queue *queue = &inet_csk(listener)->icsk_accept_queue;
	struct sock *child = sock->sk;
	struct tcpmig_watched *watch;
	struct request_sock *req;
	int err = 0;

	if (child->sk_family != listener->sk_family)
		return -EAFNOSUPPORT;
	/*
	 * The request slab is SLAB_TYPESAFE_BY_RCU: a lookup in softirq may
	 * still walk a freed request's hash link, so that link must keep its
	 * nulls marker. Zero everything else, as sk_prot_clear_nulls() does.
	 */
	req = kmem_cache_alloc(ops->slab, GFP_KERNEL);
	if (!req)
		return -ENOMEM;
	/* Its send queue is charged to the acceptor (charge.c). */
	watch = tcpmig_charge_prepare(child, &err);
	if (!watch) {
		kmem_cache_free(ops->slab, req);
		return err;
	}
	memset(req, 0, offsetof(struct request_sock, __req_common.skc_node.next));
	memset(&req->__req_common.skc_node.pprev, 0,
	       ops->obj_size - offsetof(struct request_sock, __req_common.skc_node.pprev));
	req->rsk_ops = ops;
	sock_hold(listener);
	req->rsk_listener = listener;
	inet_rsk(req)->ireq_family = listener->sk_family;
	inet_rsk(req)->ireq_state = TCP_NEW_SYN_RECV;
	write_pnet(&inet_rsk(req)->ireq_net, sock_net(listener));
	refcount_set(&req->rsk_refcnt, 1);

	/* A socket handed to user space holds a netns reference. */
	sk_net_refcnt_upgrade(child);
	child->sk_kern_sock = 0;
	/*
	 * What a handshake's child inherits from its listener and the repair
	 * rebuild did not set: address reuse (leaving repair mode cleared
	 * it; without it the connection's TIME_WAIT would keep the port from
	 * a restarted server using SO_REUSEADDR), the mark and the priority.
	 */
	child->sk_reuse = listener->sk_reuse;
	child->sk_reuseport = listener->sk_reuseport;
	WRITE_ONCE(child->sk_mark, READ_ONCE(listener->sk_mark));
	WRITE_ONCE(child->sk_priority, READ_ONCE(listener->sk_priority));

	/* Softirq takes this lock too (a handshake completing). */
	spin_lock_bh(&queue->rskq_lock);
	if (listener->sk_state != TCP_LISTEN) {
		err = -ECONNREFUSED;
	} else if (sk_acceptq_is_full(listener)) {
		err = -ENOBUFS;
	} else {
		/* Detach the sock from the kernel socket's shell. */
		write_lock(&child->sk_callback_lock);
		sk_set_socket(child, NULL);
		RCU_INIT_POINTER(child->sk_wq, NULL);
		write_unlock(&child->sk_callback_lock);
		sock->sk = NULL;
		tcpmig_charge_start(watch);

		req->sk = child;
		req->dl_next = NULL;
		if (!queue->rskq_accept_head)
			WRITE_ONCE(queue->rskq_accept_head, req);
		else
			queue->rskq_accept_tail->dl_next = req;
		queue->rskq_accept_tail = req;
		sk_acceptq_added(listener);
	}
	spin_unlock_bh(&queue->rskq_lock);

	if (err) {
		sock_put(listener);
		kmem_cache_free(ops->slab, req);
		kfree(watch);
		return err;
	}
	sock_release(sock);
	listener->sk_data_ready(listener);
	return 0;
}
