// SPDX-License-Identifier: GPL-2.0
/*
 * C side of tcpmig's sys layer: wrappers for the static inline kernel
 * functions the Rust code needs, the module parameters, and C's own
 * sizeof/offsetof of every struct field the module reads, for the
 * tcpmig_sys_layout KUnit suite.
 */
#include <linux/module.h>
#include <linux/moduleparam.h>

#include "tcpmig_sys.h"

void *tcpmig_net_generic(const struct net *net, unsigned int id)
{
	return net_generic(net, id);
}

struct net *tcpmig_init_net(void)
{
	return &init_net;
}

struct net *tcpmig_genl_info_net(const struct genl_info *info)
{
	return genl_info_net(info);
}

/*
 * The number of entries of @info->attrs: the core sized it for the doit
 * op's maxattr, which only the family's op table records.
 */
unsigned int tcpmig_genl_info_attrs_len(const struct genl_info *info)
{
	const struct genl_family *family = info->family;
	unsigned int i;

	if (!info->attrs)
		return 0;
	for (i = 0; i < family->n_split_ops; i++) {
		const struct genl_split_ops *op = &family->split_ops[i];

		if (op->cmd == info->genlhdr->cmd && (op->flags & GENL_CMD_CAP_DO))
			return op->maxattr + 1;
	}
	return 0;
}

/* @msg must be a static string: extack keeps the pointer. */
void tcpmig_genl_set_err_msg(struct genl_info *info, const char *msg)
{
	/* NL_SET_ERR_MSG wants a literal; this is what it does with one. */
	if (info->extack)
		info->extack->_msg = msg;
}

struct sk_buff *tcpmig_genlmsg_new(size_t payload)
{
	return genlmsg_new(payload, GFP_KERNEL);
}

void tcpmig_genlmsg_end(struct sk_buff *skb, void *hdr)
{
	genlmsg_end(skb, hdr);
}

int tcpmig_genlmsg_reply(struct sk_buff *skb, struct genl_info *info)
{
	return genlmsg_reply(skb, info);
}

void tcpmig_nlmsg_free(struct sk_buff *skb)
{
	nlmsg_free(skb);
}

u16 tcpmig_nla_get_u16(const struct nlattr *nla)
{
	return nla_get_u16(nla);
}

u64 tcpmig_nla_get_u64(const struct nlattr *nla)
{
	return nla_get_u64(nla);
}

/* Parse the attributes of the one genetlink message in @skb (tests). */
int tcpmig_nla_parse_reply(struct nlattr **tb, int maxtype, struct sk_buff *skb)
{
	return genlmsg_parse(nlmsg_hdr(skb), &tcpmig_nl_family, tb, maxtype,
			     NULL, NULL);
}

/*
 * Module parameters live here because Rust's module! macro registers its
 * parameters with permission 0, which keeps them out of
 * /sys/module/tcpmig/parameters.
 */
static u16 migrator_port = TCPMIG_MIGRATOR_PORT_DEFAULT;

static int migrator_port_set(const char *val, const struct kernel_param *kp)
{
	u16 port;
	int err = kstrtou16(val, 0, &port);

	if (err)
		return err;
	if (!port)
		return -EINVAL;
	WRITE_ONCE(migrator_port, port);
	return 0;
}

static const struct kernel_param_ops migrator_port_ops = {
	.set = migrator_port_set,
	.get = param_get_ushort,
};
module_param_cb(migrator_port, &migrator_port_ops, &migrator_port, 0644);
MODULE_PARM_DESC(migrator_port,
		 "Migrator TCP port a new network namespace starts with (1-65535, default 4737)");

u16 tcpmig_param_migrator_port(void)
{
	return READ_ONCE(migrator_port);
}

#define SIZE(type) { #type, sizeof(struct type) }
#define FIELD(type, field) { #type "." #field, offsetof(struct type, field) }

const struct tcpmig_layout tcpmig_c_layout[] = {
	SIZE(sock),
	FIELD(sock, sk_lock),
	FIELD(sock, sk_receive_queue),
	FIELD(sock, sk_write_queue),
	FIELD(sock, sk_socket),
	FIELD(sock, sk_data_ready),
	SIZE(inet_sock),
	SIZE(inet_connection_sock),
	FIELD(inet_connection_sock, icsk_accept_queue),
	FIELD(inet_connection_sock, icsk_rto),
	FIELD(inet_connection_sock, icsk_pmtu_cookie),
	SIZE(tcp_sock),
	FIELD(tcp_sock, rcv_nxt),
	FIELD(tcp_sock, copied_seq),
	FIELD(tcp_sock, rcv_wup),
	FIELD(tcp_sock, snd_nxt),
	FIELD(tcp_sock, snd_una),
	FIELD(tcp_sock, snd_wl1),
	FIELD(tcp_sock, snd_wnd),
	FIELD(tcp_sock, max_window),
	FIELD(tcp_sock, window_clamp),
	FIELD(tcp_sock, rcv_wnd),
	FIELD(tcp_sock, write_seq),
	FIELD(tcp_sock, snd_cwnd),
	FIELD(tcp_sock, snd_ssthresh),
	FIELD(tcp_sock, srtt_us),
	FIELD(tcp_sock, mdev_us),
	FIELD(tcp_sock, tsoffset),
	FIELD(tcp_sock, rx_opt),
	FIELD(tcp_sock, mss_cache),
	SIZE(request_sock),
	FIELD(request_sock, sk),
	SIZE(net),
	FIELD(net, net_cookie),
	SIZE(genl_info),
	FIELD(genl_info, snd_seq),
	FIELD(genl_info, snd_portid),
	FIELD(genl_info, attrs),
	FIELD(genl_info, extack),
	SIZE(pernet_operations),
	FIELD(pernet_operations, init),
	FIELD(pernet_operations, exit),
	FIELD(pernet_operations, id),
	FIELD(pernet_operations, size),
};
const size_t tcpmig_c_layout_len = ARRAY_SIZE(tcpmig_c_layout);

/* ---- Sockets: lookup, locking, addresses, queues (capture, inject) ---- */

/*
 * The established TCP socket of a 4-tuple in @net, with a reference, or
 * NULL. Time-wait and request socks are not connections to move.
 * Addresses are 4 or 16 bytes by @family; ports are in network order.
 */
struct sock *tcpmig_lookup_established(struct net *net, int family,
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
	if (sk && !sk_fullsock(sk)) {
		sock_gen_put(sk);
		sk = NULL;
	}
	return sk;
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

/* This side's TSval now: what TCP_TIMESTAMP reads. */
u32 tcpmig_tcp_ts_now(const struct sock *sk)
{
	const struct tcp_sock *tp = tcp_sk(sk);

	return tcp_clock_ts(tp->tcp_usec_ts) + tp->tsoffset;
}

bool tcpmig_tcp_ecn_ok(const struct sock *sk)
{
	return tcp_ecn_mode_rfc3168(tcp_sk(sk));
}

u32 tcpmig_jiffies_to_usecs(unsigned long j)
{
	return jiffies_to_usecs(j);
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

/* ---- Injection: a kernel socket rebuilt in repair mode, then queued ---- */

struct socket *tcpmig_sock_create(struct net *net, int family)
{
	struct socket *sock;

	if (sock_create_kern(net, family, SOCK_STREAM, IPPROTO_TCP, &sock))
		return NULL;
	return sock;
}

void tcpmig_sock_release(struct socket *sock)
{
	sock_release(sock);
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
 * Fills a sockaddr of @sock's family for a blob endpoint (family 4 or 6):
 * an IPv4 endpoint on an AF_INET6 socket becomes v4-mapped.
 */
static int tcpmig_sockaddr(struct socket *sock, u8 family, const u8 *addr,
			   __be16 port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (sock->sk->sk_family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		if (family != 4)
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
		if (family == 4)
			ipv6_addr_set_v4mapped(*(const __be32 *)addr, &sin6->sin6_addr);
		else
			memcpy(&sin6->sin6_addr, addr, 16);
		return sizeof(*sin6);
	}
#else
	return -EAFNOSUPPORT;
#endif
}

int tcpmig_bind(struct socket *sock, u8 family, const u8 *addr, __be16 port)
{
	struct sockaddr_storage ss;
	int len = tcpmig_sockaddr(sock, family, addr, port, &ss);

	if (len < 0)
		return len;
	return kernel_bind(sock, (struct sockaddr_unsized *)&ss, len);
}

int tcpmig_connect(struct socket *sock, u8 family, const u8 *addr, __be16 port)
{
	struct sockaddr_storage ss;
	int len = tcpmig_sockaddr(sock, family, addr, port, &ss);

	if (len < 0)
		return len;
	return kernel_connect(sock, (struct sockaddr_unsized *)&ss, len, 0);
}

int tcpmig_send(struct socket *sock, const void *data, size_t len)
{
	struct kvec vec = { .iov_base = (void *)data, .iov_len = len };
	struct msghdr msg = { .msg_flags = MSG_DONTWAIT };
	int sent;

	sent = kernel_sendmsg(sock, &msg, &vec, 1, len);
	if (sent < 0)
		return sent;
	return sent == len ? 0 : -ENOBUFS;
}

/*
 * What TCP_REPAIR cannot set: congestion and RTT state, the peer's last
 * timestamp (so the first segments echo it) and the MSS.
 */
void tcpmig_set_cc(struct socket *sock, u32 cwnd, u32 ssthresh, u32 srtt_us,
		   u32 mdev_us, u32 rto_us, u32 ts_recent)
{
	struct sock *sk = sock->sk;
	struct tcp_sock *tp = tcp_sk(sk);

	lock_sock(sk);
	if (tp->rx_opt.tstamp_ok) {
		tp->rx_opt.ts_recent = ts_recent;
		tp->rx_opt.ts_recent_stamp = ktime_get_seconds();
	}
	if (cwnd)
		tcp_snd_cwnd_set(tp, cwnd);
	tp->snd_ssthresh = ssthresh;
	if (srtt_us) {
		tp->srtt_us = srtt_us;
		tp->mdev_us = mdev_us;
		tp->mdev_max_us = mdev_us;
		tp->rttvar_us = mdev_us;
	}
	if (rto_us)
		inet_csk(sk)->icsk_rto = clamp_t(unsigned long, usecs_to_jiffies(rto_us),
						 TCP_RTO_MIN, TCP_RTO_MAX);
	/* The repair connect sized the MSS with the default clamp: make
	 * the next transmit recompute it from the restored one.
	 */
	inet_csk(sk)->icsk_pmtu_cookie = 0;
	release_sock(sk);
}

/*
 * Hands the connected sock of the kernel socket @sock to @listener's
 * accept queue, as if the listener had completed its handshake, and
 * frees the kernel socket's shell. The request sock comes from the
 * listener's own request_sock_ops (the kernel's slab and destructor), so
 * a queued connection references no code or data of this module. On
 * error @sock is untouched.
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
	req = kmem_cache_zalloc(ops->slab, GFP_KERNEL);
	if (!req)
		return -ENOMEM;
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

void *tcpmig_nla_data(const struct nlattr *nla)
{
	return nla_data(nla);
}

int tcpmig_nla_len(const struct nlattr *nla)
{
	return nla_len(nla);
}

/* ---- Holding the packets of frozen flows (netfilter, LOCAL_IN) ---- */

/* Implemented in Rust (rust/hold.rs): takes @skb if its flow is frozen. */
bool tcpmig_hold_skb(void *table, struct sk_buff *skb, const struct tcpmig_tuple *t);

/* The TCP 4-tuple of a packet, or false if it is not TCP (or fragmented). */
static bool tcpmig_skb_tuple(struct sk_buff *skb, u8 pf, struct tcpmig_tuple *t)
{
	struct tcphdr _th;
	const struct tcphdr *th;
	unsigned int off;

	memset(t, 0, sizeof(*t));
	if (pf == NFPROTO_IPV4) {
		const struct iphdr *iph = ip_hdr(skb);

		if (iph->protocol != IPPROTO_TCP || ip_is_fragment(iph))
			return false;
		t->family = 4;
		memcpy(t->local_addr, &iph->daddr, 4);
		memcpy(t->remote_addr, &iph->saddr, 4);
		off = skb_network_offset(skb) + iph->ihl * 4;
	} else {
		const struct ipv6hdr *ip6h = ipv6_hdr(skb);

		if (ip6h->nexthdr != IPPROTO_TCP)
			return false;
		t->family = 6;
		memcpy(t->local_addr, &ip6h->daddr, 16);
		memcpy(t->remote_addr, &ip6h->saddr, 16);
		off = skb_network_offset(skb) + sizeof(*ip6h);
	}
	th = skb_header_pointer(skb, off, sizeof(_th), &_th);
	if (!th)
		return false;
	t->local_port = th->dest;
	t->remote_port = th->source;
	return true;
}

static unsigned int tcpmig_nf_hook(void *table, struct sk_buff *skb,
				   const struct nf_hook_state *state)
{
	struct tcpmig_tuple t;

	if (!tcpmig_skb_tuple(skb, state->pf, &t))
		return NF_ACCEPT;
	return tcpmig_hold_skb(table, skb, &t) ? NF_STOLEN : NF_ACCEPT;
}

struct tcpmig_hooks {
	struct nf_hook_ops ops[2];
};

/* Registers the hold hook in @net for IPv4 and IPv6, passing @table. */
struct tcpmig_hooks *tcpmig_hooks_register(struct net *net, void *table)
{
	struct tcpmig_hooks *h = kzalloc(sizeof(*h), GFP_KERNEL);
	int i;

	if (!h)
		return NULL;
	for (i = 0; i < 2; i++) {
		h->ops[i].hook = tcpmig_nf_hook;
		h->ops[i].priv = table;
		h->ops[i].hooknum = NF_INET_LOCAL_IN;
		h->ops[i].priority = INT_MIN + 1; /* before anything else */
	}
	h->ops[0].pf = NFPROTO_IPV4;
	h->ops[1].pf = NFPROTO_IPV6;
	if (nf_register_net_hooks(net, h->ops, 2)) {
		kfree(h);
		return NULL;
	}
	return h;
}

/* Unregisters; on return no hook runs any more (an RCU grace period). */
void tcpmig_hooks_unregister(struct net *net, struct tcpmig_hooks *h)
{
	nf_unregister_net_hooks(net, h->ops, 2);
	kfree(h);
}

void tcpmig_kfree_skb(struct sk_buff *skb)
{
	kfree_skb(skb);
}

u64 tcpmig_jiffies64(void)
{
	return get_jiffies_64();
}

u64 tcpmig_hz(void)
{
	return HZ;
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
