// SPDX-License-Identifier: GPL-2.0
/*
 * Kernel TCP sockets for socket.rs: the module's own blocking sockets
 * (the migrator's channels and listener, every service's listener and
 * the connections it accepts), with timeouts: bind, connect, listen,
 * accept, peek, exact reads and writes, addresses, and the socket that
 * reserves the flow port. Releasing one, silently for a connection that
 * may still go elsewhere.
 */
#include "tcpmig_sys.h"

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

struct sock *tcpmig_socket_sk(struct socket *sock)
{
	return sock->sk;
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
