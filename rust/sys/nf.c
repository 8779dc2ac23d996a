// SPDX-License-Identifier: GPL-2.0
/*
 * Netfilter for nf.rs: per-namespace hooks for IPv4 and IPv6 that parse
 * each TCP packet's 4-tuple and pass it to a Rust hook with its table.
 */
#include "tcpmig_sys.h"

/*
 * The flow an ICMP error is about, from the TCP packet it quotes at @off
 * (an IPv4 header and the ports of the TCP header after it): the quoted
 * packet was sent from here, so its source is the local end.
 */
static bool tcpmig_icmp_tuple_v4(struct sk_buff *skb, unsigned int off,
				 struct tcpmig_tuple *t)
{
	struct icmphdr _ih;
	const struct icmphdr *ih = skb_header_pointer(skb, off, sizeof(_ih), &_ih);
	struct iphdr _in;
	const struct iphdr *in;
	__be16 _ports[2];
	const __be16 *ports;

	if (!ih || (ih->type != ICMP_DEST_UNREACH && ih->type != ICMP_TIME_EXCEEDED &&
		    ih->type != ICMP_PARAMETERPROB))
		return false;
	off += sizeof(*ih);
	in = skb_header_pointer(skb, off, sizeof(_in), &_in);
	/* A quoted later fragment has no TCP header. */
	if (!in || in->ihl < 5 || in->protocol != IPPROTO_TCP ||
	    (in->frag_off & htons(IP_OFFSET)))
		return false;
	ports = skb_header_pointer(skb, off + in->ihl * 4, sizeof(_ports), _ports);
	if (!ports)
		return false;
	t->family = 4;
	memcpy(t->local_addr, &in->saddr, 4);
	memcpy(t->remote_addr, &in->daddr, 4);
	t->local_port = ports[0];
	t->remote_port = ports[1];
	t->flags = TCPMIG_ICMP;
	return true;
}

/* As tcpmig_icmp_tuple_v4(), for an ICMPv6 error at @off. */
static bool tcpmig_icmp_tuple_v6(struct sk_buff *skb, unsigned int off,
				 struct tcpmig_tuple *t)
{
	struct icmp6hdr _ih;
	const struct icmp6hdr *ih = skb_header_pointer(skb, off, sizeof(_ih), &_ih);
	struct ipv6hdr _in;
	const struct ipv6hdr *in;
	__be16 _ports[2], frag_off;
	const __be16 *ports;
	u8 nexthdr;
	int thoff;

	if (!ih || (ih->icmp6_type != ICMPV6_DEST_UNREACH &&
		    ih->icmp6_type != ICMPV6_PKT_TOOBIG &&
		    ih->icmp6_type != ICMPV6_TIME_EXCEED &&
		    ih->icmp6_type != ICMPV6_PARAMPROB))
		return false;
	off += sizeof(*ih);
	in = skb_header_pointer(skb, off, sizeof(_in), &_in);
	if (!in)
		return false;
	nexthdr = in->nexthdr;
	thoff = ipv6_skip_exthdr(skb, off + sizeof(*in), &nexthdr, &frag_off);
	if (thoff < 0 || nexthdr != IPPROTO_TCP || (frag_off & htons(IP6_OFFSET)))
		return false;
	ports = skb_header_pointer(skb, thoff, sizeof(_ports), _ports);
	if (!ports)
		return false;
	t->family = 6;
	memcpy(t->local_addr, &in->saddr, 16);
	memcpy(t->remote_addr, &in->daddr, 16);
	t->local_port = ports[0];
	t->remote_port = ports[1];
	t->flags = TCPMIG_ICMP;
	return true;
}

/*
 * The TCP 4-tuple of a packet, or of the TCP packet an ICMP error quotes
 * (flagged TCPMIG_ICMP); false for anything else, fragments included.
 */
static bool tcpmig_skb_tuple(struct sk_buff *skb, u8 pf, struct tcpmig_tuple *t)
{
	struct tcphdr _th;
	const struct tcphdr *th;
	unsigned int off;

	memset(t, 0, sizeof(*t));
	if (pf == NFPROTO_IPV4) {
		const struct iphdr *iph = ip_hdr(skb);

		if (ip_is_fragment(iph))
			return false;
		off = skb_network_offset(skb) + iph->ihl * 4;
		if (iph->protocol == IPPROTO_ICMP)
			return tcpmig_icmp_tuple_v4(skb, off, t);
		if (iph->protocol != IPPROTO_TCP)
			return false;
		t->family = 4;
		memcpy(t->local_addr, &iph->daddr, 4);
		memcpy(t->remote_addr, &iph->saddr, 4);
	} else {
		const struct ipv6hdr *ip6h = ipv6_hdr(skb);
		u8 nexthdr = ip6h->nexthdr;
		__be16 frag_off;
		int hoff;

		/* Past any extension headers. */
		hoff = ipv6_skip_exthdr(skb, skb_network_offset(skb) + sizeof(*ip6h),
					&nexthdr, &frag_off);
		/* Any fragment, the first included: only whole packets. */
		if (hoff < 0 || (frag_off & htons(IP6_OFFSET | IP6_MF)))
			return false;
		if (nexthdr == IPPROTO_ICMPV6)
			return tcpmig_icmp_tuple_v6(skb, hoff, t);
		if (nexthdr != IPPROTO_TCP)
			return false;
		t->family = 6;
		memcpy(t->local_addr, &ip6h->daddr, 16);
		memcpy(t->remote_addr, &ip6h->saddr, 16);
		off = hoff;
	}
	th = skb_header_pointer(skb, off, sizeof(_th), &_th);
	if (!th)
		return false;
	t->local_port = th->dest;
	t->remote_port = th->source;
	t->flags = th->syn && !th->ack ? TCPMIG_SYN : 0;
	return true;
}

/*
 * One registration: the hook ops for both families, and the Rust hook
 * (a trampoline monomorphized for the table's type) with its table.
 * Each op's priv points back here.
 */
struct tcpmig_hooks {
	struct nf_hook_ops ops[2];
	tcpmig_hook_fn fn;
	const void *table;
};

static unsigned int tcpmig_nf_hook(void *priv, struct sk_buff *skb,
				   const struct nf_hook_state *state)
{
	const struct tcpmig_hooks *h = priv;
	struct tcpmig_tuple t;

	if (!tcpmig_skb_tuple(skb, state->pf, &t))
		return NF_ACCEPT;
	return h->fn(h->table, skb, &t);
}

/*
 * The kernel's defragmentation, as conntrack uses it, in @net (while the
 * namespace is a cluster node, refcounted): at PRE_ROUTING (and
 * LOCAL_OUT) fragments are gathered into whole packets before the hooks
 * see them. Without it IPv4 fragments would be gathered
 * only at local delivery (after the decapsulation's PRE_ROUTING) and IPv6
 * ones only past LOCAL_IN: a migrated flow's fragmented packet would be
 * neither forwarded nor decapsulated.
 */
int tcpmig_defrag_enable(struct net *net)
{
	int err = 0;

#if IS_ENABLED(CONFIG_NF_DEFRAG_IPV4)
	err = nf_defrag_ipv4_enable(net);
	if (err)
		return err;
#endif
#if IS_ENABLED(CONFIG_NF_DEFRAG_IPV6)
	err = nf_defrag_ipv6_enable(net);
#if IS_ENABLED(CONFIG_NF_DEFRAG_IPV4)
	if (err)
		nf_defrag_ipv4_disable(net);
#endif
#endif
	return err;
}

void tcpmig_defrag_disable(struct net *net)
{
#if IS_ENABLED(CONFIG_NF_DEFRAG_IPV6)
	nf_defrag_ipv6_disable(net);
#endif
#if IS_ENABLED(CONFIG_NF_DEFRAG_IPV4)
	nf_defrag_ipv4_disable(net);
#endif
}

/*
 * Registers @fn with @table at @hooknum in @net, for IPv4 and IPv6, right
 * after the defragmentation (when tcpmig_defrag_enable() turned it on)
 * and before all else: raw tables, conntrack, filters.
 */
struct tcpmig_hooks *tcpmig_hooks_register(struct net *net, unsigned int hooknum,
					   tcpmig_hook_fn fn, const void *table)
{
	struct tcpmig_hooks *h = kzalloc(sizeof(*h), GFP_KERNEL);
	int i;

	if (!h)
		return NULL;
	h->fn = fn;
	h->table = table;
	for (i = 0; i < 2; i++) {
		h->ops[i].hook = tcpmig_nf_hook;
		h->ops[i].priv = h;
		h->ops[i].hooknum = hooknum;
		h->ops[i].priority = NF_IP_PRI_CONNTRACK_DEFRAG + 1;
	}
	h->ops[0].pf = NFPROTO_IPV4;
	h->ops[1].pf = NFPROTO_IPV6;
	if (nf_register_net_hooks(net, h->ops, 2)) {
		kfree(h);
		return NULL;
	}
	return h;
}

/*
 * Unregisters and frees @h. nf_unregister_net_hooks() only unlinks: a
 * hook already running on another CPU may still be inside @fn, so wait
 * for every such softirq (an RCU grace period) before anything goes.
 * On return no hook of @h runs, and the caller may free the table.
 */
void tcpmig_hooks_unregister(struct net *net, struct tcpmig_hooks *h)
{
	nf_unregister_net_hooks(net, h->ops, 2);
	synchronize_net();
	kfree(h);
}

/*
 * The conntrack entry (default zone) of the TCP connection @t, the client
 * its remote end, with a reference; NULL without one.
 */
#if IS_ENABLED(CONFIG_NF_CONNTRACK)
static struct nf_conn *tcpmig_ct_find(struct net *net, const struct tcpmig_tuple *t)
{
	struct nf_conntrack_tuple tuple = { };
	struct nf_conntrack_tuple_hash *h;
	size_t len = t->family == 4 ? 4 : 16;
	struct nf_conn *ct;

	tuple.src.l3num = t->family == 4 ? AF_INET : AF_INET6;
	memcpy(&tuple.src.u3, t->remote_addr, len);
	tuple.src.u.tcp.port = t->remote_port;
	memcpy(&tuple.dst.u3, t->local_addr, len);
	tuple.dst.u.tcp.port = t->local_port;
	tuple.dst.protonum = IPPROTO_TCP;
	tuple.dst.dir = IP_CT_DIR_ORIGINAL;
	h = nf_conntrack_find_get(net, &nf_ct_zone_dflt, &tuple);
	if (!h)
		return NULL;
	ct = nf_ct_tuplehash_to_ctrack(h);
	if (nf_ct_protonum(ct) != IPPROTO_TCP) {
		nf_ct_put(ct);
		return NULL;
	}
	return ct;
}
#endif

/*
 * The connection @t is about to leave: from now on this host's conntrack
 * sees only the client's half of it, whose ACKs cover data it never saw
 * and whose windows it cannot follow. Its entry, if any, stops tracking
 * windows, as entries conntrack picks up mid-stream do: the client's
 * packets stay ESTABLISHED, not INVALID, and move the entry on (a
 * client's FIN or RST ends it in minutes). The flow's end ends it too
 * (tcpmig_conntrack_end()).
 */
void tcpmig_conntrack_liberal(struct net *net, const struct tcpmig_tuple *t)
{
#if IS_ENABLED(CONFIG_NF_CONNTRACK)
	struct nf_conn *ct = tcpmig_ct_find(net, t);

	if (!ct)
		return;
	spin_lock_bh(&ct->lock);
	ct->proto.tcp.seen[IP_CT_DIR_ORIGINAL].flags |= IP_CT_TCP_FLAG_BE_LIBERAL;
	ct->proto.tcp.seen[IP_CT_DIR_REPLY].flags |= IP_CT_TCP_FLAG_BE_LIBERAL;
	spin_unlock_bh(&ct->lock);
	nf_ct_put(ct);
#endif
}

/*
 * The migrated connection @t is no longer forwarded from here (its
 * back-end said it ended, or it idled out): its conntrack entry goes,
 * which would otherwise stay established for days if the client never
 * closed its half. A packet the client still sends makes a new one,
 * picked up mid-stream. From any context.
 */
void tcpmig_conntrack_end(struct net *net, const struct tcpmig_tuple *t)
{
#if IS_ENABLED(CONFIG_NF_CONNTRACK)
	struct nf_conn *ct = tcpmig_ct_find(net, t);

	if (!ct)
		return;
	nf_ct_kill(ct);
	nf_ct_put(ct);
#endif
}

/* The source address of the packet @skb (network header at its data). */
void tcpmig_skb_saddr(const struct sk_buff *skb, u8 family, u8 *out)
{
	if (family == 4)
		memcpy(out, &ip_hdr(skb)->saddr, 4);
	else
		memcpy(out, &ipv6_hdr(skb)->saddr, 16);
}

void tcpmig_kfree_skb(struct sk_buff *skb)
{
	kfree_skb(skb);
}

/*
 * Drops what a held packet should not pin while it waits: its route,
 * its conntrack entry and its socket (early demux may have set one).
 */
unsigned int tcpmig_skb_truesize(const struct sk_buff *skb)
{
	return skb->truesize;
}

void tcpmig_skb_unref(struct sk_buff *skb)
{
	skb_dst_drop(skb);
	nf_reset_ct(skb);
	skb_orphan(skb);
	skb->dev = NULL; /* a held packet must not pin its device */
}
