// SPDX-License-Identifier: GPL-2.0
/*
 * Helpers for the KUnit suites only, built with KUnit: sockets that
 * capture must refuse (MPTCP, urgent data, TCP-MD5, a ULP) or that act
 * like a process's (reads and half-closes without waiting), and packets
 * with a chosen checksum state, read back and cloned, and the netns TCP
 * counters.
 */
#include "tcpmig_sys.h"

#if IS_ENABLED(CONFIG_KUNIT)
/* Sockets (socket.rs, repair.rs and the suites that capture). */

/* Reads what is queued on @sock, without waiting (tests). */
int tcpmig_recv(struct socket *sock, void *buf, size_t len)
{
	struct kvec vec = { .iov_base = buf, .iov_len = len };
	struct msghdr msg = { };

	return kernel_recvmsg(sock, &msg, &vec, 1, len, MSG_DONTWAIT);
}

/* Shuts down the sending side of @sock (tests). */
int tcpmig_shutdown_write(struct socket *sock)
{
	return kernel_sock_shutdown(sock, SHUT_WR);
}

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

/*
 * Packets (xmit.rs): a synthetic rx packet with a chosen checksum state,
 * that state read back, a clone sharing the data, and the netns TCP
 * counters.
 */
struct sk_buff *tcpmig_test_skb_new(const void *pkt, unsigned int len,
				    const struct tcpmig_skb_csum *c)
{
	struct sk_buff *skb = alloc_skb(LL_MAX_HEADER + len, GFP_KERNEL);

	if (!skb)
		return NULL;
	skb_reserve(skb, LL_MAX_HEADER);
	skb_put_data(skb, pkt, len);
	skb_reset_network_header(skb);
	skb->protocol = (len && (*(const u8 *)pkt >> 4) == 6) ? htons(ETH_P_IPV6) :
								 htons(ETH_P_IP);
	skb->ip_summed = c->ip_summed;
	if (c->ip_summed == CHECKSUM_COMPLETE)
		skb->csum = (__force __wsum)c->csum;
	if (c->ip_summed == CHECKSUM_PARTIAL) {
		skb->csum_start = skb_headroom(skb) + c->start;
		skb->csum_offset = c->offset;
	}
	return skb;
}

void tcpmig_test_skb_csum(const struct sk_buff *skb, struct tcpmig_skb_csum *c)
{
	memset(c, 0, sizeof(*c));
	c->ip_summed = skb->ip_summed;
	if (skb->ip_summed == CHECKSUM_COMPLETE)
		c->csum = (__force u32)skb->csum;
	if (skb->ip_summed == CHECKSUM_PARTIAL) {
		c->start = skb_checksum_start_offset(skb);
		c->offset = skb->csum_offset;
	}
}

unsigned int tcpmig_test_skb_len(const struct sk_buff *skb)
{
	return skb->len;
}

bool tcpmig_test_skb_shares_head(const struct sk_buff *a, const struct sk_buff *b)
{
	return a->head == b->head;
}

struct sk_buff *tcpmig_test_skb_clone(struct sk_buff *skb)
{
	return skb_clone(skb, GFP_KERNEL);
}

u64 tcpmig_test_tcp_mib(struct net *net, int field)
{
	u64 sum = 0;
	int cpu;

	for_each_possible_cpu(cpu)
		sum += snmp_get_cpu_field(net->mib.tcp_statistics, cpu, field);
	return sum;
}
#endif
