/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kernel API tcpmig uses beyond the kernel crate: bindgen reads this
 * header (rust/sys/bindgen.sh) into the module's own bindings, and
 * the C files next to it (one per Rust file, and kunit.c for the KUnit
 * suites) implement the functions
 * declared here.
 */
#ifndef TCPMIG_SYS_H
#define TCPMIG_SYS_H

#include <linux/netfilter.h>
#include <linux/netfilter_ipv4.h>
#include <linux/netfilter_ipv6.h>
#include <net/netfilter/ipv4/nf_defrag_ipv4.h>
#include <net/netfilter/nf_conntrack.h>
#include <net/netfilter/nf_conntrack_core.h>
#include <net/netfilter/nf_conntrack_zones.h>
#include <net/netfilter/ipv6/nf_defrag_ipv6.h>
#include <net/genetlink.h>
#include <net/inet_connection_sock.h>
#include <net/inet_hashtables.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>
#include <net/request_sock.h>
#include <net/sock.h>
#include <net/tcp.h>
#include <net/transp_v6.h>
#include <net/inet6_hashtables.h>
#include <net/addrconf.h>
#include <net/route.h>
#include <net/ipv6.h>
#include <net/ip.h>
#include <net/ip6_route.h>
#include <net/xfrm.h>
#include <net/checksum.h>
#include <net/icmp.h>
#include <net/gso.h>
#include <linux/icmpv6.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/shmem_fs.h>
#include <linux/jhash.h>
#include <linux/random.h>
#include <linux/user_namespace.h>
#include <linux/workqueue.h>
#include <crypto/sha2.h>
#include <crypto/utils.h>

#include "../generated/tcpmig_nl_gen.h"

/* Shared by socket.c and hmac.c: bytes to send or to hash, in parts. */
struct tcpmig_slice {
	const void *data;
	size_t len;
};

/* Namespaces (net.c). */
void *tcpmig_net_generic(const struct net *net, unsigned int id);
struct net *tcpmig_init_net(void);

/* Generic netlink (genl.c): requests, replies, dumps, multicast, attributes. */
struct net *tcpmig_genl_info_net(const struct genl_info *info);
unsigned int tcpmig_genl_info_attrs_len(const struct genl_info *info);
void tcpmig_genl_set_err_msg(struct genl_info *info, const char *msg);
void tcpmig_genl_set_err_msg_copy(struct genl_info *info, const char *msg);
struct sk_buff *tcpmig_genlmsg_new(size_t payload);
void tcpmig_genlmsg_end(struct sk_buff *skb, void *hdr);
int tcpmig_genlmsg_reply(struct sk_buff *skb, struct genl_info *info);
struct net *tcpmig_genl_dump_net(const struct netlink_callback *cb);
long *tcpmig_genl_dump_args(struct netlink_callback *cb);
void *tcpmig_genl_dump_put(struct sk_buff *skb, struct netlink_callback *cb, u8 cmd);
void tcpmig_genlmsg_cancel(struct sk_buff *skb, void *hdr);
unsigned int tcpmig_skb_len(const struct sk_buff *skb);
int tcpmig_genl_multicast(struct net *net, struct sk_buff *skb, unsigned int group);
bool tcpmig_genl_has_listeners(struct net *net, unsigned int group);
void tcpmig_nlmsg_free(struct sk_buff *skb);
int tcpmig_nla_parse_reply(struct nlattr **tb, int maxtype, struct sk_buff *skb);
void *tcpmig_nla_data(const struct nlattr *nla);
int tcpmig_nla_len(const struct nlattr *nla);

/* TCP socks (sock.c): lookup, lock, state and queues for capture, freeze. */
enum { TCPMIG_RECV_QUEUE, TCPMIG_RTX_QUEUE, TCPMIG_WRITE_QUEUE };

struct tcpmig_ip {
	u8 family; /* 4 or 6 */
	u8 tos;
	u8 ttl;
	u32 flow_label;
	__be16 local_port;
	__be16 remote_port;
	u8 local_addr[16];
	u8 remote_addr[16];
};

/* The TCP state of a connection, flat (sock.c fills it under the lock). */
struct tcpmig_tcp {
	u8 state;
	bool sack_ok, tstamp_ok, wscale_ok, ecn_ok, usec_ts;
	u8 snd_wscale, rcv_wscale;
	u16 mss_clamp;
	u32 snd_una, snd_nxt, write_seq, rcv_nxt, copied_seq;
	u32 snd_wl1, snd_wnd, max_window, rcv_wnd, rcv_wup, window_clamp;
	u32 ts_recent, ts_val;
	u32 snd_cwnd, snd_ssthresh, srtt_us, mdev_us, rto_us;
};

struct sock *tcpmig_lookup_established(struct net *net, int family,
				       const void *laddr, __be16 lport,
				       const void *raddr, __be16 rport);
struct sock *tcpmig_lookup_listener(struct net *net, int family,
				    const void *laddr, __be16 lport,
				    const void *raddr, __be16 rport);
bool tcpmig_addr_is_local(struct net *net, int family, const void *addr);
enum {
	TCPMIG_MOVABLE,
	TCPMIG_KERNEL_OWNED,
	TCPMIG_MPTCP,
	TCPMIG_ULP,
	TCPMIG_SIGNED,
	TCPMIG_URGENT,
	TCPMIG_ACCECN,
};
int tcpmig_sk_movable(const struct sock *sk);
int tcpmig_listener_can_accept(const struct sock *sk);
void tcpmig_sock_hold(struct sock *sk);
void tcpmig_sock_put(struct sock *sk);
void tcpmig_abort(struct sock *sk);
int tcpmig_sockfd_endpoints(struct net *net, int fd, u8 *family,
			    u8 *laddr, u16 *lport, u8 *raddr, u16 *rport);
enum { TCPMIG_CONN_NONE, TCPMIG_CONN_FULL, TCPMIG_CONN_MINI };
int tcpmig_connection_state(struct net *net, int family,
			    const void *laddr, __be16 lport,
			    const void *raddr, __be16 rport);
void tcpmig_lock_sock(struct sock *sk);
void tcpmig_release_sock(struct sock *sk);
void tcpmig_sk_ip(struct sock *sk, struct tcpmig_ip *ip);
void tcpmig_sk_tcp(const struct sock *sk, struct tcpmig_tcp *t);
struct sk_buff *tcpmig_queue_next(struct sock *sk, int queue, struct sk_buff *skb,
				  u32 *seq, u32 *len);
void tcpmig_freeze(struct sock *sk);

/*
 * Repair-mode rebuilds (repair.c): the socket, the TCP_REPAIR options, what
 * they cannot set, the hand-off to a listener's accept queue.
 */
struct socket *tcpmig_sock_create(struct net *net, int family);
int tcpmig_send_unsent(struct socket *sock, const void *data, size_t len);
void tcpmig_reserve_buffers(struct socket *sock, u32 send, u32 recv);
int tcpmig_setsockopt(struct socket *sock, int level, int name, const void *val,
		      unsigned int len);
int tcpmig_send(struct socket *sock, const void *data, size_t len);
void tcpmig_set_cc(struct socket *sock, const struct tcpmig_tcp *t);
void tcpmig_set_ip(struct socket *sock, const struct tcpmig_ip *ip);
void tcpmig_set_close_wait(struct socket *sock);
int tcpmig_accept_queue_add(struct sock *listener, struct socket *sock);

/*
 * An injected connection's send queue, charged to its acceptor's memory
 * cgroup at accept (charge.c; the hand-off in repair.c watches it).
 */
struct tcpmig_watched;
void tcpmig_charge_init(void);
struct tcpmig_watched *tcpmig_charge_prepare(struct sock *sk, int *err);
void tcpmig_charge_start(struct tcpmig_watched *w);
void tcpmig_charge_exit(void);

/* Kernel sockets of the module's own (socket.c): blocking, with timeouts. */
void tcpmig_sock_release(struct socket *sock);
void tcpmig_sock_release_silently(struct socket *sock);
struct sock *tcpmig_socket_sk(struct socket *sock);
int tcpmig_bind(struct socket *sock, int family, const u8 *addr, __be16 port);
int tcpmig_connect(struct socket *sock, int family, const u8 *addr, __be16 port);
struct socket *tcpmig_sock_create_plain(struct net *net, int family);
struct net *tcpmig_sock_net(struct socket *sock);
int tcpmig_listen(struct socket *sock, int backlog);
int tcpmig_accept(struct socket *sock, struct socket **new);
void tcpmig_set_nodelay(struct socket *sock);
void tcpmig_set_timeouts(struct socket *sock, u32 snd_ms, u32 rcv_ms);
int tcpmig_recv_exact(struct socket *sock, void *buf, size_t len);
int tcpmig_peek(struct socket *sock, void *buf, size_t len, size_t have,
		u32 timeout_ms, bool *eof);
void tcpmig_sock_make_movable(struct socket *sock);
int tcpmig_send_all(struct socket *sock, const struct tcpmig_slice *parts,
		    size_t n, size_t *sent);
int tcpmig_shutdown(struct socket *sock);
int tcpmig_sock_addr(struct socket *sock, bool peer, u8 *family, u8 *addr, u16 *port);
bool tcpmig_sock_idle_ok(struct socket *sock);
struct socket *tcpmig_sock_reserve(struct net *net, u16 port, int *err);

/* Netfilter hooks (nf.c): a TCP packet's 4-tuple, a Rust hook per table. */
struct tcpmig_tuple {
	u8 family; /* 4 or 6 */
	u8 flags; /* TCPMIG_SYN, TCPMIG_ICMP */
	__be16 local_port;
	__be16 remote_port;
	u8 local_addr[16];
	u8 remote_addr[16];
};
/*
 * TCPMIG_SYN: a SYN without ACK, a connection's first packet.
 * TCPMIG_ICMP: an ICMP error about a TCP packet sent from here; the tuple
 * is that packet's flow.
 */
enum { TCPMIG_SYN = 1, TCPMIG_ICMP = 2 };
enum {
	TCPMIG_NF_PRE_ROUTING = NF_INET_PRE_ROUTING,
	TCPMIG_NF_LOCAL_IN = NF_INET_LOCAL_IN,
	TCPMIG_NF_FORWARD = NF_INET_FORWARD,
	TCPMIG_NF_LOCAL_OUT = NF_INET_LOCAL_OUT,
	TCPMIG_NF_POST_ROUTING = NF_INET_POST_ROUTING,
	TCPMIG_NF_DROP = NF_DROP,
	TCPMIG_NF_ACCEPT = NF_ACCEPT,
	TCPMIG_NF_STOLEN = NF_STOLEN,
};
/* The Rust side of a hook: returns an NF_* verdict for @skb. */
typedef unsigned int (*tcpmig_hook_fn)(const void *table, struct sk_buff *skb,
				       const struct tcpmig_tuple *t);
struct tcpmig_hooks;
struct tcpmig_hooks *tcpmig_hooks_register(struct net *net, unsigned int hooknum,
					   tcpmig_hook_fn fn, const void *table);
void tcpmig_hooks_unregister(struct net *net, struct tcpmig_hooks *h);
void tcpmig_kfree_skb(struct sk_buff *skb);
void tcpmig_conntrack_liberal(struct net *net, const struct tcpmig_tuple *t);
void tcpmig_conntrack_end(struct net *net, const struct tcpmig_tuple *t);
void tcpmig_skb_saddr(const struct sk_buff *skb, u8 family, u8 *out);
int tcpmig_defrag_enable(struct net *net);
void tcpmig_defrag_disable(struct net *net);
void tcpmig_skb_unref(struct sk_buff *skb);
unsigned int tcpmig_skb_truesize(const struct sk_buff *skb);

/* Rewriting and sending a TCP packet (xmit.c). */
struct tcpmig_rewrite {
	u8 family; /* 4 or 6 */
	__be16 sport;
	__be16 dport;
	u8 src[16];
	u8 dst[16];
};
int tcpmig_xmit_rewrite(struct sk_buff *skb, const struct tcpmig_rewrite *to);
int tcpmig_xmit_send(struct net *net, struct sk_buff *skb, const struct tcpmig_rewrite *to);
int tcpmig_xmit_send_error(struct net *net, struct sk_buff *skb, const struct tcpmig_rewrite *to);
int tcpmig_xmit_readdress(struct sk_buff *skb, const struct tcpmig_rewrite *to);

/* Files of the requesting process (file.c). */
struct file *tcpmig_file_get(unsigned int fd);
void tcpmig_file_put(struct file *file);
loff_t tcpmig_file_size(struct file *file);
int tcpmig_file_read(struct file *file, void *buf, size_t len, loff_t pos);
int tcpmig_file_write(struct file *file, const void *buf, size_t len, loff_t pos);
bool tcpmig_is_err(const void *ptr);
int tcpmig_ptr_err(const void *ptr);

/* The packet-path table engine (table.c). */
u32 tcpmig_jhash2(const u32 *words, u32 len, u32 seed);

/* The kernel's CRNG (random.c). */
u32 tcpmig_random_u32(void);

/* Who owns a network namespace (users.c). */
bool tcpmig_net_owner(const struct net *net, u64 *key);
struct tcpmig_ticker;
struct tcpmig_ticker *tcpmig_ticker_new(bool (*tick)(void *ctx), void *ctx, u64 period);
void tcpmig_ticker_arm(struct tcpmig_ticker *t);
void tcpmig_ticker_free(struct tcpmig_ticker *t);

/* HMAC-SHA256 over several parts (hmac.c). */
void tcpmig_hmac_sha256(const u8 *key, size_t key_len,
			const struct tcpmig_slice *parts, size_t n, u8 *out);
bool tcpmig_memneq(const void *a, const void *b, size_t len);

/* Workqueues of the module's own (wq.c). */
struct workqueue_struct *tcpmig_wq_alloc(void);
void tcpmig_wq_destroy(struct workqueue_struct *wq);

/* Clocks (time.c). */
u64 tcpmig_jiffies64(void);
u64 tcpmig_hz(void);
u32 tcpmig_ms_since(u64 then);
u64 tcpmig_mono_ns(void);
u64 tcpmig_real_ns(void);

/* Module parameters (declared in C: Rust's module! has no sysfs ones). */
u16 tcpmig_param_migrator_port(void);
u32 tcpmig_param_hold_kbytes(void);
u32 tcpmig_param_user_pending(void);
u32 tcpmig_param_flow_idle_secs(void);
bool tcpmig_param_userns_admin(void);

/* /proc/net/tcpmig (proc.c); the counters come from the Rust side. */
enum { TCPMIG_COUNTERS = 17 };
/* The Rust side of the file: fills @out with TCPMIG_COUNTERS values. */
typedef bool (*tcpmig_counters_fn)(const void *data, u64 *out);
struct tcpmig_proc;
struct tcpmig_proc *tcpmig_proc_register(struct net *net, tcpmig_counters_fn fn,
					 const void *data);
void tcpmig_proc_unregister(struct net *net, struct tcpmig_proc *p);

/* C's view of every struct and field the module reads through bindgen. */
struct tcpmig_layout {
	const char *name;
	size_t value;
};
extern const struct tcpmig_layout tcpmig_c_layout[];
extern const size_t tcpmig_c_layout_len;

/* For the KUnit suites only (kunit.c). */
int tcpmig_recv(struct socket *sock, void *buf, size_t len);
int tcpmig_shutdown_write(struct socket *sock);
struct socket *tcpmig_test_sock_create_mptcp(struct net *net, int family);
u16 tcpmig_test_local_port(struct socket *sock);
int tcpmig_test_send_oob(struct socket *sock, u8 byte);
int tcpmig_test_set_md5_key(struct socket *sock);
int tcpmig_test_set_ulp(struct socket *sock, const char *name);
/* A packet's checksum state (tests): csum for COMPLETE, start/offset for PARTIAL. */
struct tcpmig_skb_csum {
	u8 ip_summed;
	u32 csum;
	u16 start; /* from skb->data */
	u16 offset;
};
enum {
	TCPMIG_CHECKSUM_NONE = CHECKSUM_NONE,
	TCPMIG_CHECKSUM_UNNECESSARY = CHECKSUM_UNNECESSARY,
	TCPMIG_CHECKSUM_COMPLETE = CHECKSUM_COMPLETE,
	TCPMIG_CHECKSUM_PARTIAL = CHECKSUM_PARTIAL,
	TCPMIG_TCP_MIB_OUTRSTS = TCP_MIB_OUTRSTS,
	TCPMIG_TCP_MIB_CSUMERRORS = TCP_MIB_CSUMERRORS,
};
struct sk_buff *tcpmig_test_skb_new(const void *pkt, unsigned int len,
				    const struct tcpmig_skb_csum *c);
void tcpmig_test_skb_csum(const struct sk_buff *skb, struct tcpmig_skb_csum *c);
unsigned int tcpmig_test_skb_len(const struct sk_buff *skb);
bool tcpmig_test_skb_shares_head(const struct sk_buff *a, const struct sk_buff *b);
struct sk_buff *tcpmig_test_skb_clone(struct sk_buff *skb);
u64 tcpmig_test_tcp_mib(struct net *net, int field);

#endif /* TCPMIG_SYS_H */
