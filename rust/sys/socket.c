// SPDX-License-Identifier: GPL-2.0
/*
 * Kernel sockets for socket.rs: creating one, rebuilding a connection
 * in it through the TCP_REPAIR socket options, setting what those options
 * cannot (congestion and RTT state, CLOSE_WAIT), and handing the result to
 * a listener's accept queue. That hand-off open-codes what the kernel's
 * unexported inet_csk_reqsk_queue_add() does; see its comment.
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

void tcpmig_sock_release(struct socket *sock)
{
	sock_release(sock);
}

/*
 * Releases a kernel socket whose connection must end without a word to
 * the peer: in repair mode tcp_close() only disconnects, sending neither
 * FIN nor RST. Set directly, so no setsockopt hook can refuse it.
 */
void tcpmig_sock_release_silently(struct socket *sock)
{
	struct sock *sk = sock->sk;

	if (sk && sk->sk_state != TCP_LISTEN) {
		lock_sock(sk);
		tcp_sk(sk)->repair = 1;
		WRITE_ONCE(tcp_sk(sk)->repair_queue, TCP_NO_QUEUE);
		release_sock(sk);
	}
	sock_release(sock);
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

struct sock *tcpmig_socket_sk(struct socket *sock)
{
	return sock->sk;
}

int tcpmig_setsockopt(struct socket *sock, int level, int name, const void *val,
		      unsigned int len)
{
	return do_sock_setsockopt(sock, false, level, name,
				  KERNEL_SOCKPTR((void *)val), len);
}

/*
 * Fills a sockaddr of @sock's family for an endpoint of @family (AF_INET*):
 * an IPv4 endpoint on an AF_INET6 socket becomes v4-mapped.
 */
static int tcpmig_sockaddr(struct socket *sock, int family, const u8 *addr,
			   __be16 port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (sock->sk->sk_family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		if (family != AF_INET)
			return -EAFNOSUPPORT;
		sin->sin_family = AF_INET;
		sin->sin_port = port;
		memcpy(&sin->sin_addr, addr, 4);
		return sizeof(*sin);
	}
#if IS_ENABLED(CONFIG_IPV6)
	{
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = port;
		if (family == AF_INET)
			ipv6_addr_set_v4mapped(*(const __be32 *)addr, &sin6->sin6_addr);
		else
			memcpy(&sin6->sin6_addr, addr, 16);
		return sizeof(*sin6);
	}
#else
	return -EAFNOSUPPORT;
#endif
}

int tcpmig_bind(struct socket *sock, int family, const u8 *addr, __be16 port)
{
	struct sockaddr_storage ss;
	int len = tcpmig_sockaddr(sock, family, addr, port, &ss);

	if (len < 0)
		return len;
	return kernel_bind(sock, (struct sockaddr_unsized *)&ss, len);
}

int tcpmig_connect(struct socket *sock, int family, const u8 *addr, __be16 port)
{
	struct sockaddr_storage ss;
	int len = tcpmig_sockaddr(sock, family, addr, port, &ss);

	if (len < 0)
		return len;
	return kernel_connect(sock, (struct sockaddr_unsized *)&ss, len, 0);
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
 * Hands the connected sock of the kernel socket @sock to @listener's
 * accept queue, as if the listener had completed its handshake, and
 * frees the kernel socket's shell. The request sock comes from the
 * listener's own request_sock_ops (the kernel's slab and destructor), so
 * a queued connection references no code or data of this module. On
 * error @sock is still the caller's (its sock may hold a netns reference
 * now, which its release drops).
 */
int tcpmig_accept_queue_add(struct sock *listener, struct socket *sock)
{
	const struct request_sock_ops *ops = listener->sk_prot->rsk_prot;
	struct request_sock_queue *queue = &inet_csk(listener)->icsk_accept_queue;
	struct sock *child = sock->sk;
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
		return err;
	}
	sock_release(sock);
	listener->sk_data_ready(listener);
	return 0;
}

/* Reads what is queued on @sock, without waiting (tests). */
int tcpmig_recv(struct socket *sock, void *buf, size_t len)
{
	struct kvec vec = { .iov_base = buf, .iov_len = len };
	struct msghdr msg = { };

	return kernel_recvmsg(sock, &msg, &vec, 1, len, MSG_DONTWAIT);
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

/* Shuts down the sending side of @sock (tests). */
int tcpmig_shutdown_write(struct socket *sock)
{
	return kernel_sock_shutdown(sock, SHUT_WR);
}

/*
 * A plain kernel TCP socket, for the migrator's own connections. An
 * AF_INET6 one is dual-stack (IPV6_V6ONLY off, whatever the namespace's
 * bindv6only): a listener on [::] also takes IPv4 peers, v4-mapped.
 */
struct socket *tcpmig_sock_create_plain(struct net *net, int family)
{
	struct socket *sock;
	int off = 0;

	if (sock_create_kern(net, family, SOCK_STREAM, IPPROTO_TCP, &sock))
		return NULL;
	if (family == AF_INET6 &&
	    do_sock_setsockopt(sock, false, SOL_IPV6, IPV6_V6ONLY,
			       KERNEL_SOCKPTR(&off), sizeof(off))) {
		sock_release(sock);
		return NULL;
	}
	return sock;
}

struct net *tcpmig_sock_net(struct socket *sock)
{
	return sock_net(sock->sk);
}

int tcpmig_listen(struct socket *sock, int backlog)
{
	return kernel_listen(sock, backlog);
}

/*
 * Waits for a connection (as long as the receive timeout allows); a
 * shutdown of @sock ends the wait with an error.
 */
int tcpmig_accept(struct socket *sock, struct socket **new)
{
	return kernel_accept(sock, new, 0);
}

static long tcpmig_timeo(u32 ms)
{
	return ms ? (long)msecs_to_jiffies(ms) : MAX_SCHEDULE_TIMEOUT;
}

/*
 * Sends each write at once (no Nagle): a request or a reply is written in
 * pieces (header, payload, tag), and Nagle would hold the last piece until
 * the first is acked, which the other side delays by up to 40 ms.
 */
void tcpmig_set_nodelay(struct socket *sock)
{
	tcp_sock_set_nodelay(sock->sk);
}

/* Sets how long blocking sends and receives (and connect) wait; 0: forever. */
void tcpmig_set_timeouts(struct socket *sock, u32 snd_ms, u32 rcv_ms)
{
	struct sock *sk = sock->sk;

	lock_sock(sk);
	WRITE_ONCE(sk->sk_sndtimeo, tcpmig_timeo(snd_ms));
	WRITE_ONCE(sk->sk_rcvtimeo, tcpmig_timeo(rcv_ms));
	release_sock(sk);
}

/*
 * Reads exactly @len bytes: -ETIMEDOUT when no byte came for the receive
 * timeout (each read that makes progress starts it again, so a large
 * frame on a slow link is not cut off), -ECONNRESET when the peer closed
 * first.
 */
int tcpmig_recv_exact(struct socket *sock, void *buf, size_t len)
{
	while (len) {
		struct kvec vec = { .iov_base = buf, .iov_len = len };
		struct msghdr msg = { };
		int n = kernel_recvmsg(sock, &msg, &vec, 1, len, 0);

		if (n == -EAGAIN)
			return -ETIMEDOUT;
		if (n < 0)
			return n;
		if (n == 0)
			return -ECONNRESET;
		buf += n;
		len -= n;
	}
	return 0;
}

/*
 * Peeks at the first bytes of the receive queue (at most @len into @buf)
 * without consuming them, waiting at most @timeout_ms until more than
 * @have bytes are there. Returns how many are there: more than @have,
 * or not (the wait ran out, or the stream ended: *@eof), or -errno
 * (-EAGAIN: nothing came at all).
 */
int tcpmig_peek(struct socket *sock, void *buf, size_t len, size_t have,
		u32 timeout_ms, bool *eof)
{
	struct kvec vec = { .iov_base = buf, .iov_len = len };
	struct msghdr msg = { };
	struct sock *sk = sock->sk;
	int n;

	/* tcp_recvmsg() waits until sk_rcvlowat bytes are there (a peek
	 * starts from the first unread byte every time), and the wakeup
	 * waits for as many (tcp_data_ready()).
	 */
	WRITE_ONCE(sk->sk_rcvlowat, (int)min_t(size_t, have + 1, len));
	WRITE_ONCE(sk->sk_rcvtimeo, tcpmig_timeo(max_t(u32, timeout_ms, 1)));
	n = kernel_recvmsg(sock, &msg, &vec, 1, len, MSG_PEEK);
	*eof = READ_ONCE(sk->sk_shutdown) & RCV_SHUTDOWN;
	return n;
}

/*
 * Makes a connection the module accepted for a client movable: its
 * socket is a kernel socket only because no process accepted it, and
 * it belongs to whichever node the connection migrates to.
 */
void tcpmig_sock_make_movable(struct socket *sock)
{
	sock->sk->sk_kern_sock = 0;
}

/*
 * Sends the @n @parts in order, waiting as the send timeout allows;
 * @sent counts the bytes that went into the socket, even on error.
 */
int tcpmig_send_all(struct socket *sock, const struct tcpmig_slice *parts,
		    size_t n, size_t *sent)
{
	size_t i;

	*sent = 0;
	for (i = 0; i < n; i++) {
		const u8 *data = parts[i].data;
		size_t len = parts[i].len;

		while (len) {
			struct kvec vec = { .iov_base = (void *)data, .iov_len = len };
			struct msghdr msg = { .msg_flags = MSG_NOSIGNAL };
			int k = kernel_sendmsg(sock, &msg, &vec, 1, len);

			if (k == -EAGAIN)
				return -ETIMEDOUT;
			if (k < 0)
				return k;
			if (k == 0)
				return -ECONNRESET;
			data += k;
			len -= k;
			*sent += k;
		}
	}
	return 0;
}

/* Shuts down both directions: wakes every task blocked on @sock. */
int tcpmig_shutdown(struct socket *sock)
{
	return kernel_sock_shutdown(sock, SHUT_RDWR);
}

/*
 * The peer (or, without @peer, the local end) of a connected @sock:
 * @family 4 or 6, @addr (16 bytes, an IPv4 address in the first 4) and
 * @port in host order. A v4-mapped IPv6 address is reported as the IPv4
 * address it maps.
 */
int tcpmig_sock_addr(struct socket *sock, bool peer, u8 *family, u8 *addr, u16 *port)
{
	struct sockaddr_storage ss = { };
	int err = peer ? kernel_getpeername(sock, (struct sockaddr *)&ss) :
			 kernel_getsockname(sock, (struct sockaddr *)&ss);

	if (err < 0)
		return err;
	memset(addr, 0, 16);
	if (ss.ss_family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		*family = 4;
		memcpy(addr, &sin->sin_addr, 4);
		*port = ntohs(sin->sin_port);
		return 0;
	}
#if IS_ENABLED(CONFIG_IPV6)
	if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		*port = ntohs(sin6->sin6_port);
		if (ipv6_addr_v4mapped(&sin6->sin6_addr)) {
			*family = 4;
			memcpy(addr, &sin6->sin6_addr.s6_addr32[3], 4);
		} else {
			*family = 6;
			memcpy(addr, &sin6->sin6_addr, 16);
		}
		return 0;
	}
#endif
	return -EAFNOSUPPORT;
}

/*
 * Whether an idle connection can still carry a request: established, no
 * error, no FIN from the peer and nothing unasked-for queued. A peer that
 * closed an idle connection is noticed here, before a request is sent
 * into it, rather than as an ambiguous failure after.
 */
bool tcpmig_sock_idle_ok(struct socket *sock)
{
	struct sock *sk = sock->sk;

	return READ_ONCE(sk->sk_state) == TCP_ESTABLISHED && !READ_ONCE(sk->sk_err) &&
	       !(READ_ONCE(sk->sk_shutdown) & RCV_SHUTDOWN) &&
	       skb_queue_empty_lockless(&sk->sk_receive_queue);
}

#if IS_ENABLED(CONFIG_KUNIT)
/*
 * Test helpers: make a kernel socket's sock look like one a process owns
 * (capture refuses kernel users' sockets), and give a connection what
 * capture must refuse.
 */
/*
 * Not a kernel socket: MPTCP's subflows are, and lockdep would take the
 * subflow's lock under the MPTCP socket's for a recursion of one class.
 */
struct socket *tcpmig_test_sock_create_mptcp(struct net *net, int family)
{
	struct socket *sock;

	if (__sock_create(net, family, SOCK_STREAM, IPPROTO_MPTCP, &sock, 0))
		return NULL;
	return sock;
}

u16 tcpmig_test_local_port(struct socket *sock)
{
	return ntohs(inet_sk(sock->sk)->inet_sport);
}

int tcpmig_test_send_oob(struct socket *sock, u8 byte)
{
	struct kvec vec = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = { .msg_flags = MSG_OOB | MSG_DONTWAIT };

	return kernel_sendmsg(sock, &msg, &vec, 1, 1);
}

int tcpmig_test_set_md5_key(struct socket *sock)
{
	struct tcp_md5sig md5 = { .tcpm_keylen = 4, .tcpm_key = "key" };
	struct sockaddr_in *sin = (struct sockaddr_in *)&md5.tcpm_addr;

	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = inet_sk(sock->sk)->inet_daddr;
	return do_sock_setsockopt(sock, false, SOL_TCP, TCP_MD5SIG,
				  KERNEL_SOCKPTR(&md5), sizeof(md5));
}

int tcpmig_test_set_ulp(struct socket *sock, const char *name)
{
	return do_sock_setsockopt(sock, false, SOL_TCP, TCP_ULP,
				  KERNEL_SOCKPTR((void *)name), strlen(name));
}
#endif

/*
 * A socket bound to [::]:@port with IPV6_V6ONLY off and no address
 * reuse: while it lives, no other socket in @net can bind @port (IPv4 or
 * IPv6), and connect() never picks it as an ephemeral port.
 */
struct socket *tcpmig_sock_reserve(struct net *net, u16 port, int *err)
{
	struct sockaddr_in6 addr = {
		.sin6_family = AF_INET6,
		.sin6_port = htons(port),
	};
	struct socket *sock = tcpmig_sock_create(net, AF_INET6);

	if (!sock) {
		*err = -ENOMEM;
		return NULL;
	}
	sock->sk->sk_ipv6only = false;
	*err = kernel_bind(sock, (struct sockaddr_unsized *)&addr, sizeof(addr));
	if (*err) {
		sock_release(sock);
		return NULL;
	}
	return sock;
}
