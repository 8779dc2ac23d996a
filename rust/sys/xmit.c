// SPDX-License-Identifier: GPL-2.0
/*
 * Packet rewriting for xmit.rs: give a TCP packet new addresses and
 * ports in place, checksums updated incrementally, and send a rewritten
 * packet out through the local output path. The front end forwards a
 * migrated flow's packets to its back end this way (and re-delivers held
 * packets to itself on a rollback); the back end restores the original
 * 4-tuple with the same rewrite.
 */
#include "tcpmig_sys.h"

/* The TCP checksum field ends 18 bytes into the header (after the ports). */
#define TCPMIG_TCP_CHECK_END (offsetof(struct tcphdr, check) + sizeof(__sum16))

/* Rewrites the ports of the TCP header at @thoff; its checksum covers them. */
static void tcpmig_rewrite_ports(struct sk_buff *skb, unsigned int thoff,
				 const struct tcpmig_rewrite *to)
{
	struct tcphdr *th = (struct tcphdr *)(skb->data + thoff);

	/* Ports are not in the pseudo-header: a CHECKSUM_PARTIAL field
	 * (which holds only the pseudo-header sum) stays as it is.
	 */
	inet_proto_csum_replace2(&th->check, skb, th->source, to->sport, false);
	th->source = to->sport;
	inet_proto_csum_replace2(&th->check, skb, th->dest, to->dport, false);
	th->dest = to->dport;
}

static int tcpmig_rewrite_v4(struct sk_buff *skb, const struct tcpmig_rewrite *to)
{
	unsigned int noff = skb_network_offset(skb), thoff;
	__be32 saddr, daddr;
	struct iphdr *iph;
	struct tcphdr *th;
	int err;

	err = skb_ensure_writable(skb, noff + sizeof(*iph));
	if (err)
		return err;
	iph = (struct iphdr *)(skb->data + noff);
	if (iph->ihl < 5)
		return -EINVAL;
	/* Even a first fragment: its checksum covers bytes not here. */
	if (iph->protocol != IPPROTO_TCP || ip_is_fragment(iph))
		return -EPROTONOSUPPORT;
	thoff = noff + iph->ihl * 4;
	err = skb_ensure_writable(skb, thoff + TCPMIG_TCP_CHECK_END);
	if (err)
		return err;
	/* The head may have moved. */
	iph = (struct iphdr *)(skb->data + noff);
	th = (struct tcphdr *)(skb->data + thoff);

	memcpy(&saddr, to->src, 4);
	memcpy(&daddr, to->dst, 4);
	/* The addresses are in both the IP header and the TCP pseudo-header.
	 * With CHECKSUM_COMPLETE, skb->csum covers the IP header too, which
	 * still sums to zero after csum_replace4(); replace4() with
	 * pseudohdr adjusts skb->csum for the change of th->check.
	 */
	inet_proto_csum_replace4(&th->check, skb, iph->saddr, saddr, true);
	csum_replace4(&iph->check, iph->saddr, saddr);
	iph->saddr = saddr;
	inet_proto_csum_replace4(&th->check, skb, iph->daddr, daddr, true);
	csum_replace4(&iph->check, iph->daddr, daddr);
	iph->daddr = daddr;
	tcpmig_rewrite_ports(skb, thoff, to);
	return 0;
}

static int tcpmig_rewrite_v6(struct sk_buff *skb, const struct tcpmig_rewrite *to)
{
	unsigned int noff = skb_network_offset(skb);
	struct in6_addr saddr, daddr;
	struct ipv6hdr *ip6h;
	struct tcphdr *th;
	__be16 frag_off;
	u8 nexthdr;
	int thoff, err;

	err = skb_ensure_writable(skb, noff + sizeof(*ip6h));
	if (err)
		return err;
	nexthdr = ipv6_hdr(skb)->nexthdr;
	thoff = ipv6_skip_exthdr(skb, noff + sizeof(*ip6h), &nexthdr, &frag_off);
	if (thoff < 0)
		return -EINVAL;
	/* Any fragment, first or not (an atomic fragment has frag_off 0). */
	if (nexthdr != IPPROTO_TCP || (frag_off & htons(IP6_OFFSET | IP6_MF)))
		return -EPROTONOSUPPORT;
	err = skb_ensure_writable(skb, thoff + TCPMIG_TCP_CHECK_END);
	if (err)
		return err;
	ip6h = (struct ipv6hdr *)(skb->data + noff);
	th = (struct tcphdr *)(skb->data + thoff);

	memcpy(&saddr, to->src, 16);
	memcpy(&daddr, to->dst, 16);
	/* No header checksum in IPv6: with CHECKSUM_COMPLETE the address
	 * change in the header cancels the change of th->check in skb->csum,
	 * which is why replace16() leaves skb->csum alone.
	 */
	inet_proto_csum_replace16(&th->check, skb, ip6h->saddr.s6_addr32,
				  saddr.s6_addr32, true);
	ip6h->saddr = saddr;
	inet_proto_csum_replace16(&th->check, skb, ip6h->daddr.s6_addr32,
				  daddr.s6_addr32, true);
	ip6h->daddr = daddr;
	tcpmig_rewrite_ports(skb, thoff, to);
	return 0;
}

/* The IP version of the packet at the network header, or 0. */
static u8 tcpmig_skb_ip_version(struct sk_buff *skb)
{
	u8 _v, *v = skb_header_pointer(skb, skb_network_offset(skb), 1, &_v);

	return v ? *v >> 4 : 0;
}

/*
 * Rewrites the TCP packet @skb (network header set) to the addresses and
 * ports of @to, in place. Refuses another family (-EAFNOSUPPORT), another
 * protocol or a fragment (-EPROTONOSUPPORT), a malformed header (-EINVAL);
 * -ENOMEM if the header cannot be made writable. On error the packet may
 * have been made writable, but its contents are unchanged.
 */
int tcpmig_xmit_rewrite(struct sk_buff *skb, const struct tcpmig_rewrite *to)
{
	u8 version = tcpmig_skb_ip_version(skb);

	if (version != to->family)
		return -EAFNOSUPPORT;
	if (version == 4)
		return tcpmig_rewrite_v4(skb, to);
	if (version == 6)
		return tcpmig_rewrite_v6(skb, to);
	return -EAFNOSUPPORT;
}

/*
 * A route to the rewritten destination, from a source that may not be
 * ours, for a packet of @proto (TCP, or an ICMP error: no ports).
 */
static struct dst_entry *tcpmig_route(struct net *net, struct sk_buff *skb,
				      const struct tcpmig_rewrite *to, u8 proto)
{
	bool tcp = proto == IPPROTO_TCP;

	if (to->family == 4) {
		struct flowi4 fl4 = {
			.flowi4_mark = skb->mark,
			.flowi4_proto = proto,
			.flowi4_flags = FLOWI_FLAG_ANYSRC,
			.fl4_sport = tcp ? to->sport : 0,
			.fl4_dport = tcp ? to->dport : 0,
		};
		struct rtable *rt;

		memcpy(&fl4.saddr, to->src, 4);
		memcpy(&fl4.daddr, to->dst, 4);
		/* With a protocol set this also does the xfrm lookup. */
		rt = ip_route_output_flow(net, &fl4, NULL);
		return IS_ERR(rt) ? ERR_CAST(rt) : &rt->dst;
	} else {
		struct flowi6 fl6 = {
			.flowi6_mark = skb->mark,
			.flowi6_proto = proto,
			.flowi6_flags = FLOWI_FLAG_ANYSRC,
			.fl6_sport = tcp ? to->sport : 0,
			.fl6_dport = tcp ? to->dport : 0,
		};
		struct dst_entry *dst;
		int err;

		memcpy(&fl6.saddr, to->src, 16);
		memcpy(&fl6.daddr, to->dst, 16);
		dst = ip6_route_output(net, NULL, &fl6);
		err = dst->error;
		if (err) {
			dst_release(dst);
			return ERR_PTR(err);
		}
		return xfrm_lookup(net, dst, flowi6_to_flowi(&fl6), NULL, 0);
	}
}

/*
 * Whether @skb, which keeps its length when forwarded, fits the route
 * @dst. One that does not and may not be fragmented is answered, from the
 * address it was sent to, with the error that tells its sender the MTU
 * (the forwarded flow's path is the sender's path too), as a router
 * would. A held packet has no input route and no device left: no answer
 * (the sender retransmits it and hears on the next one). IPv4 without
 * DF, and IPv6 that came in fragments no larger than the MTU, is
 * fragmented by the output path. Returns 0 or -EMSGSIZE.
 */
static int tcpmig_fits(struct sk_buff *skb, struct dst_entry *dst, u8 family)
{
	unsigned int mtu = dst_mtu(dst);

	if (skb_is_gso(skb) ? skb_gso_validate_network_len(skb, mtu) : skb->len <= mtu)
		return 0;
	if (family == 4) {
		if (!(ip_hdr(skb)->frag_off & htons(IP_DF)))
			return 0;
		icmp_send(skb, ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED, htonl(mtu));
	} else {
		/* Gathered from fragments that fit (the defragmentation noted
		 * the largest): fragmented again, as a bridge would.
		 */
		if (IP6CB(skb)->frag_max_size && IP6CB(skb)->frag_max_size <= mtu) {
			skb->ignore_df = 1;
			return 0;
		}
		icmpv6_send(skb, ICMPV6_PKT_TOOBIG, 0, mtu);
	}
	return -EMSGSIZE;
}

/*
 * The route for the rx packet @skb (of @proto) to @to's destination, or an
 * error: -EINVAL unless the network header is at skb->data (ip_local_out()
 * takes skb->len as the IP packet's length), -EAFNOSUPPORT for a packet
 * of another family.
 */
static struct dst_entry *tcpmig_xmit_route(struct net *net, struct sk_buff *skb,
					   const struct tcpmig_rewrite *to, u8 proto)
{
	if (skb_network_offset(skb) != 0)
		return ERR_PTR(-EINVAL);
	if (tcpmig_skb_ip_version(skb) != to->family)
		return ERR_PTR(-EAFNOSUPPORT);
	return tcpmig_route(net, skb, to, proto);
}

/*
 * Sends @skb, rewritten, on the route @dst (ours now) through the local
 * output path. Consumes @skb.
 */
static int tcpmig_xmit_out(struct net *net, struct sk_buff *skb, struct dst_entry *dst,
			   u8 family)
{
	int err;

	/* What the packet carried in must not go out with it: */
	skb_dst_drop(skb);		/* the input route, if any */
	skb_dst_set(skb, dst);
	nf_reset_ct(skb);		/* the flow's conntrack entry */
	skb_orphan(skb);		/* an early-demuxed socket */
	/* The rx timestamp: fq would take it for a departure time. */
	skb_set_delivery_time(skb, 0, SKB_CLOCK_REALTIME);
	/* The input path's control block (IP options, flags) would be
	 * read by the output path as its own.
	 */
	if (family == 4)
		memset(IPCB(skb), 0, sizeof(*IPCB(skb)));
	else
		memset(IP6CB(skb), 0, sizeof(*IP6CB(skb)));
	/* The checksum field is complete and right (the rewrite kept it so):
	 * skb->csum or "verified" would describe the packet as received.
	 * CHECKSUM_PARTIAL stays: the field still holds the pseudo-header
	 * sum and the device (or the GSO/software fallback) finishes it.
	 */
	if (skb->ip_summed == CHECKSUM_COMPLETE || skb->ip_summed == CHECKSUM_UNNECESSARY)
		skb->ip_summed = CHECKSUM_NONE;
	skb->skb_iif = 0;
	/* skb->dev: ip_output() and ip6_output() set it from the route. */

	if (family == 4)
		err = ip_local_out(net, NULL, skb);
	else
		err = ip6_local_out(net, NULL, skb);
	/* NET_XMIT_* codes from the device queue: only CN is a success. */
	return err > 0 ? net_xmit_errno(err) : err;
}

/*
 * Rewrites @skb to @to (as tcpmig_xmit_rewrite()), routes it to its new
 * destination in @net and sends it through the local output path
 * (LOCAL_OUT, POST_ROUTING, the device; a local destination comes back
 * through loopback). The packet is an rx packet: the network header at
 * skb->data, its references dropped or not. Always consumes @skb.
 * Returns 0 or the error that stopped it before the output path
 * (a drop further on, e.g. by a netfilter rule, is not reported):
 * -EMSGSIZE for a packet too big for the new route (tcpmig_fits()).
 * From softirq or process context: the output path disables BH where
 * it needs to, as it does for TCP's own sends.
 */
int tcpmig_xmit_send(struct net *net, struct sk_buff *skb, const struct tcpmig_rewrite *to)
{
	struct dst_entry *dst = tcpmig_xmit_route(net, skb, to, IPPROTO_TCP);
	int err;

	if (IS_ERR(dst)) {
		err = PTR_ERR(dst);
		goto drop;
	}
	/* Before the rewrite: an error quotes the packet as it came. */
	err = tcpmig_fits(skb, dst, to->family);
	if (!err)
		err = tcpmig_xmit_rewrite(skb, to);
	if (err) {
		dst_release(dst);
		goto drop;
	}
	return tcpmig_xmit_out(net, skb, dst, to->family);

drop:
	kfree_skb(skb);
	return err;
}

/*
 * The ICMP error @skb (a tuple of nf.c flagged TCPMIG_ICMP) gets the
 * addresses of @to; it quotes a packet of the flow, which stays as it is.
 * The ICMPv4 checksum covers no address, ICMPv6's covers both. Returns 0
 * or an error, the addresses unchanged.
 */
int tcpmig_xmit_readdress(struct sk_buff *skb, const struct tcpmig_rewrite *to)
{
	int err = skb_ensure_writable(skb, to->family == 4 ? sizeof(struct iphdr) :
				      sizeof(struct ipv6hdr));

	if (err)
		return err;
	if (to->family == 4) {
		struct iphdr *iph = ip_hdr(skb);
		__be32 saddr, daddr;

		memcpy(&saddr, to->src, 4);
		memcpy(&daddr, to->dst, 4);
		csum_replace4(&iph->check, iph->saddr, saddr);
		iph->saddr = saddr;
		csum_replace4(&iph->check, iph->daddr, daddr);
		iph->daddr = daddr;
	} else {
		struct in6_addr saddr, daddr;
		struct icmp6hdr *ih;
		struct ipv6hdr *ip6h;
		__be16 frag_off;
		u8 nexthdr = ipv6_hdr(skb)->nexthdr;
		int off = ipv6_skip_exthdr(skb, sizeof(*ip6h), &nexthdr, &frag_off);

		if (off < 0 || nexthdr != IPPROTO_ICMPV6)
			return -EPROTONOSUPPORT;
		err = skb_ensure_writable(skb, off + sizeof(*ih));
		if (err)
			return err;
		ip6h = ipv6_hdr(skb);
		ih = (struct icmp6hdr *)(skb->data + off);
		memcpy(&saddr, to->src, 16);
		memcpy(&daddr, to->dst, 16);
		inet_proto_csum_replace16(&ih->icmp6_cksum, skb, ip6h->saddr.s6_addr32,
					  saddr.s6_addr32, true);
		ip6h->saddr = saddr;
		inet_proto_csum_replace16(&ih->icmp6_cksum, skb, ip6h->daddr.s6_addr32,
					  daddr.s6_addr32, true);
		ip6h->daddr = daddr;
	}
	return 0;
}

/*
 * Sends the ICMP error @skb about a forwarded flow on to the flow's back
 * end, from @to's source to its destination, as tcpmig_xmit_send() sends
 * the flow's packets; the back end's stack finds its socket by the
 * packet the error quotes, which is its own. Always consumes @skb.
 */
int tcpmig_xmit_send_error(struct net *net, struct sk_buff *skb,
			   const struct tcpmig_rewrite *to)
{
	u8 proto = to->family == 4 ? IPPROTO_ICMP : IPPROTO_ICMPV6;
	struct dst_entry *dst = tcpmig_xmit_route(net, skb, to, proto);
	int err;

	if (IS_ERR(dst)) {
		err = PTR_ERR(dst);
		goto drop;
	}
	/* To this host (a peer given one of its addresses), the error would
	 * come back to the hook that sent it, again and again.
	 */
	if (to->family == 4 ? dst_rtable(dst)->rt_type == RTN_LOCAL :
	    !!(dst_rt6_info(dst)->rt6i_flags & RTF_LOCAL))
		err = -ELOOP;
	else
		err = tcpmig_xmit_readdress(skb, to);
	if (err) {
		dst_release(dst);
		goto drop;
	}
	return tcpmig_xmit_out(net, skb, dst, to->family);

drop:
	kfree_skb(skb);
	return err;
}
