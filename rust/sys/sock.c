// SPDX-License-Identifier: GPL-2.0
/*
 * TCP socks for sock.rs: lookup by 4-tuple, the socket lock, reading
 * the state capture compiles into a blob, walking the queues, and the
 * freeze after capture.
 */
#include "tcpmig_sys.h"

/*
 * The sock of a 4-tuple in @net's established hash, in any state (full,
 * time-wait or request), with a reference, or NULL. Addresses are 4 or
 * 16 bytes by @family; ports are in network order.
 */
static struct sock *tcpmig_lookup_any(struct net *net, int family,
				      const void *laddr, __be16 lport,
				      const void *raddr, __be16 rport)
{
	struct sock *sk = NULL;

	rcu_read_lock();
	if (family == AF_INET) {
		sk = __inet_lookup_established(net, *(const __be32 *)raddr, rport,
					       *(const __be32 *)laddr, ntohs(lport), 0, 0);
#if IS_ENABLED(CONFIG_IPV6)
	} else if (family == AF_INET6) {
		sk = __inet6_lookup_established(net, raddr, rport, laddr,
						ntohs(lport), 0, 0);
#endif
	}
	rcu_read_unlock();
	return sk;
}

/*
 * The established TCP socket of a 4-tuple in @net, with a reference, or
 * NULL. Time-wait and request socks are not connections to move.
 */
struct sock *tcpmig_lookup_established(struct net *net, int family,
				       const void *laddr, __be16 lport,
				       const void *raddr, __be16 rport)
{
	struct sock *sk = tcpmig_lookup_any(net, family, laddr, lport, raddr, rport);

	if (sk && !sk_fullsock(sk)) {
		sock_gen_put(sk);
		sk = NULL;
	}
	return sk;
}

/*
 * What @net has of this connection: TCPMIG_CONN_NONE, TCPMIG_CONN_FULL (a
 * full socket, in any state up to LAST_ACK) or TCPMIG_CONN_MINI (a
 * time-wait or request sock).
 */
int tcpmig_connection_state(struct net *net, int family,
			    const void *laddr, __be16 lport,
			    const void *raddr, __be16 rport)
{
	struct sock *sk = tcpmig_lookup_any(net, family, laddr, lport, raddr, rport);
	int state;

	if (!sk)
		return TCPMIG_CONN_NONE;
	state = sk_fullsock(sk) ? TCPMIG_CONN_FULL : TCPMIG_CONN_MINI;
	sock_gen_put(sk);
	return state;
}

/* The listener on @laddr:@lport for a connection from @raddr:@rport, held. */
struct sock *tcpmig_lookup_listener(struct net *net, int family,
				    const void *laddr, __be16 lport,
				    const void *raddr, __be16 rport)
{
	struct sock *sk = NULL;

	rcu_read_lock();
	if (family == AF_INET)
		sk = __inet_lookup_listener(net, NULL, 0, *(const __be32 *)raddr, rport,
					    *(const __be32 *)laddr, ntohs(lport), 0, 0);
#if IS_ENABLED(CONFIG_IPV6)
	else if (family == AF_INET6)
		sk = inet6_lookup_listener(net, NULL, 0, raddr, rport, laddr,
					   ntohs(lport), 0, 0);
#endif
	if (sk && !refcount_inc_not_zero(&sk->sk_refcnt))
		sk = NULL;
	rcu_read_unlock();
	return sk;
}

/* Whether @addr is an address of this host in @net. */
bool tcpmig_addr_is_local(struct net *net, int family, const void *addr)
{
	if (family == AF_INET)
		return inet_addr_type(net, *(const __be32 *)addr) == RTN_LOCAL;
#if IS_ENABLED(CONFIG_IPV6)
	if (family == AF_INET6)
		return ipv6_chk_addr(net, addr, NULL, 0);
#endif
	return false;
}

/*
 * Why a locked connection cannot move faithfully, or TCPMIG_MOVABLE. A
 * blob carries TCP/IP state and bytes; it cannot carry an upper-layer
 * protocol's state (kTLS records and keys, an MPTCP subflow's place in
 * its connection), signing keys (TCP-MD5, TCP-AO), urgent data, or the
 * state of a kernel user that owns the socket.
 */
int tcpmig_sk_movable(const struct sock *sk)
{
	const struct tcp_sock *tp = tcp_sk(sk);

	/* First: MPTCP subflows are kernel sockets too. */
	if (sk_is_mptcp(sk))
		return TCPMIG_MPTCP;
	if (sk->sk_kern_sock)
		return TCPMIG_KERNEL_OWNED;
	if (inet_csk(sk)->icsk_ulp_ops)
		return TCPMIG_ULP;
	if (rcu_access_pointer(sk->sk_user_data))
		return TCPMIG_KERNEL_OWNED;
#ifdef CONFIG_TCP_MD5SIG
	if (rcu_access_pointer(tp->md5sig_info))
		return TCPMIG_SIGNED;
#endif
#ifdef CONFIG_TCP_AO
	if (rcu_access_pointer(tp->ao_info))
		return TCPMIG_SIGNED;
#endif
	/* AccECN counters are not in the blob (RFC 3168 ECN is). */
	if (tcp_ecn_mode_accecn(tp))
		return TCPMIG_ACCECN;
	if ((tp->urg_data & (TCP_URG_VALID | TCP_URG_NOTYET)) ||
	    after(tp->snd_up, tp->snd_una))
		return TCPMIG_URGENT;
	return TCPMIG_MOVABLE;
}

/* Whether listener @sk can take one more connection now. */
int tcpmig_listener_can_accept(const struct sock *sk)
{
	if (READ_ONCE(sk->sk_state) != TCP_LISTEN)
		return -ECONNREFUSED;
	if (sk_acceptq_is_full(sk))
		return -ENOBUFS;
	return 0;
}

void tcpmig_sock_hold(struct sock *sk)
{
	sock_hold(sk);
}

void tcpmig_sock_put(struct sock *sk)
{
	sock_put(sk);
}

void tcpmig_lock_sock(struct sock *sk)
{
	lock_sock(sk);
}

void tcpmig_release_sock(struct sock *sk)
{
	release_sock(sk);
}

/* The IP side of a connected socket, in the blob's terms. */
void tcpmig_sk_ip(struct sock *sk, struct tcpmig_ip *ip)
{
	const struct inet_sock *inet = inet_sk(sk);

	memset(ip, 0, sizeof(*ip));
	ip->local_port = inet->inet_sport;
	ip->remote_port = inet->inet_dport;
#if IS_ENABLED(CONFIG_IPV6)
	if (sk->sk_family == AF_INET6 && !ipv6_addr_v4mapped(&sk->sk_v6_daddr)) {
		const struct ipv6_pinfo *np = inet6_sk(sk);

		ip->family = 6;
		memcpy(ip->local_addr, &sk->sk_v6_rcv_saddr, 16);
		memcpy(ip->remote_addr, &sk->sk_v6_daddr, 16);
		ip->tos = np->tclass;
		ip->ttl = np->hop_limit < 0 ? 0 : np->hop_limit;
		ip->flow_label = ntohl(np->flow_label & IPV6_FLOWLABEL_MASK);
		return;
	}
#endif
	ip->family = 4;
	memcpy(ip->local_addr, &inet->inet_rcv_saddr, 4);
	memcpy(ip->remote_addr, &inet->inet_daddr, 4);
	ip->tos = inet->tos;
	ip->ttl = inet->uc_ttl < 0 ? 0 : inet->uc_ttl;
}

/*
 * The TCP state of a locked connection, in the blob's terms. C reads the
 * fields, so Rust never forms a reference to a tcp_sock other CPUs write,
 * and never has to know the layout of its bitfields.
 */
void tcpmig_sk_tcp(const struct sock *sk, struct tcpmig_tcp *t)
{
	const struct tcp_sock *tp = tcp_sk(sk);
	const struct tcp_options_received *rx = &tp->rx_opt;

	memset(t, 0, sizeof(*t));
	t->state = READ_ONCE(sk->sk_state);
	t->sack_ok = rx->sack_ok;
	t->tstamp_ok = rx->tstamp_ok;
	t->wscale_ok = rx->wscale_ok;
	t->ecn_ok = tcp_ecn_mode_rfc3168(tp);
	t->usec_ts = tp->tcp_usec_ts;
	t->snd_wscale = rx->snd_wscale;
	t->rcv_wscale = rx->rcv_wscale;
	t->mss_clamp = rx->mss_clamp;
	t->snd_una = tp->snd_una;
	t->snd_nxt = tp->snd_nxt;
	t->write_seq = tp->write_seq;
	t->rcv_nxt = tp->rcv_nxt;
	t->copied_seq = tp->copied_seq;
	t->snd_wl1 = tp->snd_wl1;
	t->snd_wnd = tp->snd_wnd;
	t->max_window = tp->max_window;
	t->rcv_wnd = tp->rcv_wnd;
	t->rcv_wup = tp->rcv_wup;
	t->window_clamp = tp->window_clamp;
	t->ts_recent = rx->ts_recent;
	/* This side's TSval now: what getsockopt(TCP_TIMESTAMP) returns. */
	t->ts_val = tcp_clock_ts(tp->tcp_usec_ts) + tp->tsoffset;
	t->snd_cwnd = tcp_snd_cwnd(tp);
	t->snd_ssthresh = tp->snd_ssthresh;
	t->srtt_us = tp->srtt_us;
	t->mdev_us = tp->mdev_us;
	t->rto_us = jiffies_to_usecs(inet_csk(sk)->icsk_rto);
}

/*
 * Walks a queue of a locked TCP socket: the skb after @skb (the first if
 * NULL), or NULL. @seq gets its first sequence number, @len its payload.
 */
struct sk_buff *tcpmig_queue_next(struct sock *sk, int queue, struct sk_buff *skb,
				  u32 *seq, u32 *len)
{
	switch (queue) {
	case TCPMIG_RECV_QUEUE:
		skb = skb ? skb_peek_next(skb, &sk->sk_receive_queue)
			  : skb_peek(&sk->sk_receive_queue);
		break;
	case TCPMIG_RTX_QUEUE:
		skb = skb ? skb_rb_next(skb) : tcp_rtx_queue_head(sk);
		break;
	case TCPMIG_WRITE_QUEUE:
		skb = skb ? skb_peek_next(skb, &sk->sk_write_queue)
			  : skb_peek(&sk->sk_write_queue);
		break;
	default:
		skb = NULL;
	}
	if (skb) {
		*seq = TCP_SKB_CB(skb)->seq;
		*len = skb->len;
	}
	return skb;
}

/*
 * Freezes a locked connection after capture: repair mode, then the
 * protocol's disconnect, which in repair mode sends neither FIN nor RST,
 * stops the timers, purges the queues, unhashes the socket (state CLOSE)
 * and leaves sk_err = ECONNABORTED for its owner. Repair mode then goes
 * off again, so the owner's calls see that error rather than repair
 * mode's EPERM; a CLOSE socket sends nothing, on close either.
 */
void tcpmig_freeze(struct sock *sk)
{
	struct tcp_sock *tp = tcp_sk(sk);

	tp->repair = 1;
	WRITE_ONCE(tp->repair_queue, TCP_NO_QUEUE);
	sk->sk_prot->disconnect(sk, 0);
	tp->repair = 0;
	sk_error_report(sk);
}

/* Resets @sk as sock_diag's SOCK_DESTROY does; takes its lock itself. */
void tcpmig_abort(struct sock *sk)
{
	tcp_abort(sk, ECONNABORTED);
}

/*
 * The connection of the TCP socket @fd of the calling process, if it is
 * one of @net: @family 4 or 6 (a v4-mapped IPv6 socket's is IPv4), the
 * local and remote addresses (16 bytes each, IPv4 in the first 4) and
 * ports in host order.
 */
int tcpmig_sockfd_endpoints(struct net *net, int fd, u8 *family,
			    u8 *laddr, u16 *lport, u8 *raddr, u16 *rport)
{
	struct socket *sock;
	struct sock *sk;
	int err;

	sock = sockfd_lookup(fd, &err);
	if (!sock)
		return err;
	sk = sock->sk;
	err = -EOPNOTSUPP;
	if (!sk || sk->sk_type != SOCK_STREAM || sk->sk_protocol != IPPROTO_TCP ||
	    (sk->sk_family != AF_INET && sk->sk_family != AF_INET6))
		goto out;
	err = -EXDEV;
	if (!net_eq(sock_net(sk), net))
		goto out;
	err = -ENOTCONN;
	if (READ_ONCE(sk->sk_state) != TCP_ESTABLISHED &&
	    READ_ONCE(sk->sk_state) != TCP_CLOSE_WAIT)
		goto out;
	memset(laddr, 0, 16);
	memset(raddr, 0, 16);
	*lport = ntohs(inet_sk(sk)->inet_sport);
	*rport = ntohs(inet_sk(sk)->inet_dport);
#if IS_ENABLED(CONFIG_IPV6)
	if (sk->sk_family == AF_INET6 && !ipv6_addr_v4mapped(&sk->sk_v6_daddr)) {
		*family = 6;
		memcpy(laddr, &sk->sk_v6_rcv_saddr, 16);
		memcpy(raddr, &sk->sk_v6_daddr, 16);
		err = 0;
		goto out;
	}
#endif
	*family = 4;
	memcpy(laddr, &inet_sk(sk)->inet_rcv_saddr, 4);
	memcpy(raddr, &inet_sk(sk)->inet_daddr, 4);
	err = 0;
out:
	sockfd_put(sock);
	return err;
}
