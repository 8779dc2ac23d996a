// SPDX-License-Identifier: GPL-2.0
/*
 * Netfilter for nf.rs: the per-namespace LOCAL_IN hooks, the TCP
 * 4-tuple of a packet, and the trampoline into the Rust hook.
 */
#include "tcpmig_sys.h"

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
