/* \summary: link, IPv4/IPv6, TCP/UDP/ICMP decoding into a struct packet that
 * points into the capture buffer; every read through a cursor. */
#include <string.h>

#include "panne/cursor.h"
#include "panne/decode.h"

/* Link types (pcap LINKTYPE_* / DLT_* values). */
#define LT_NULL 0
#define LT_EN10MB 1
#define LT_RAW_BSD 12
#define LT_RAW_BSD2 14
#define LT_RAW 101
#define LT_C_HDLC 104
#define LT_LOOP 108
#define LT_LINUX_SLL 113
#define LT_IPV4 228
#define LT_IPV6 229
#define LT_LINUX_SLL2 276
#define LT_NFLOG 239

#define ET_IPV4 0x0800
#define ET_IPV6 0x86dd
#define ET_VLAN 0x8100
#define ET_QINQ 0x88a8
#define ET_QINQ_OLD 0x9100

int decode_linktype_supported(int lt)
{
	switch (lt) {
	case LT_NULL: case LT_EN10MB: case LT_RAW_BSD: case LT_RAW_BSD2: case LT_RAW:
	case LT_C_HDLC: case LT_LOOP: case LT_LINUX_SLL: case LT_IPV4: case LT_IPV6:
	case LT_LINUX_SLL2: case LT_NFLOG:
		return 1;
	default:
		return 0;
	}
}

static int bad(struct packet *pk, int st, const char *field)
{
	pk->bad_field = field;
	return st;
}

/* Reads VLAN tags after an Ethernet-style type field; returns the inner type. */
static int skip_vlans(struct cur *c, struct packet *pk, u16 *et)
{
	int depth = 0;
	while (*et == ET_VLAN || *et == ET_QINQ || *et == ET_QINQ_OLD) {
		u16 tci;
		if (cur_be16(c, &tci) < 0 || cur_be16(c, et) < 0)
			return -1;
		if (!depth++)
			pk->vlan = tci & 0x0fff;
		pk->vlan_tags = (u8)depth;
		if (depth > 8)
			return -1;
	}
	return 0;
}

/* TCP/UDP/ICMP header of the quoted packet inside an ICMP error. */
static void decode_inner(struct cur *c, struct packet *pk, int v6)
{
	struct pkt_inner *in = &pk->inner;
	u8 b0, proto;
	const u8 *p;

	if (!v6) {
		u8 ihl;
		if (cur_u8(c, &b0) < 0 || (b0 >> 4) != 4)
			return;
		ihl = (u8)((b0 & 15) * 4);
		if (ihl < 20 || cur_skip(c, 8) < 0 || cur_u8(c, &proto) < 0 || cur_skip(c, 2) < 0 ||
		    cur_ptr(c, 4, &p) < 0)
			return;
		in->src.fam = in->dst.fam = 4;
		memcpy(in->src.b, p, 4);
		if (cur_ptr(c, 4, &p) < 0 || cur_skip(c, (size_t)ihl - 20) < 0)
			return;
		memcpy(in->dst.b, p, 4);
	} else {
		if (cur_u8(c, &b0) < 0 || (b0 >> 4) != 6 || cur_skip(c, 5) < 0 ||
		    cur_u8(c, &proto) < 0 || cur_skip(c, 1) < 0 || cur_ptr(c, 16, &p) < 0)
			return;
		in->src.fam = in->dst.fam = 6;
		memcpy(in->src.b, p, 16);
		if (cur_ptr(c, 16, &p) < 0)
			return;
		memcpy(in->dst.b, p, 16);
		/* Extension headers in the quote are rare; skip the common ones. */
		for (int n = 0; n < 4 && (proto == 0 || proto == 43 || proto == 60); n++) {
			u8 nh, len;
			if (cur_u8(c, &nh) < 0 || cur_u8(c, &len) < 0 || cur_skip(c, (size_t)len * 8 + 6) < 0)
				return;
			proto = nh;
		}
	}
	in->proto = proto;
	if (proto == IPPROTO_TCP_ || proto == IPPROTO_UDP_) {
		if (cur_be16(c, &in->sport) < 0 || cur_be16(c, &in->dport) < 0)
			return;
		if (proto == IPPROTO_TCP_)
			cur_be32(c, &in->seq);
	}
	in->valid = 1;
}

static int decode_l4(struct cur *c, struct packet *pk, u32 l4len)
{
	const u8 *hdr;
	struct cur h;

	switch (pk->proto) {
	case IPPROTO_TCP_: {
		u8 doff, flags;
		if (cur_left(c) < 20)
			return bad(pk, DEC_TRUNC, "tcp.hdr");
		hdr = c->p;
		doff = (u8)((hdr[12] >> 4) * 4);
		if (doff < 20)
			return bad(pk, DEC_BAD, "tcp.doff");
		if (l4len < doff)
			return bad(pk, DEC_BAD, "tcp.doff");
		if (cur_left(c) < doff)
			return bad(pk, DEC_TRUNC, "tcp.options");
		cur_init(&h, hdr, 20);
		cur_be16(&h, &pk->sport);
		cur_be16(&h, &pk->dport);
		cur_be32(&h, &pk->seq);
		cur_be32(&h, &pk->ack);
		cur_skip(&h, 1);
		cur_u8(&h, &flags);
		cur_be16(&h, &pk->win);
		pk->tcp_flags = flags;
		cur_skip(c, doff);
		pk->pl_wire = l4len - doff;
		break;
	}
	case IPPROTO_UDP_: {
		u16 ulen;
		if (cur_be16(c, &pk->sport) < 0 || cur_be16(c, &pk->dport) < 0 || cur_be16(c, &ulen) < 0 ||
		    cur_skip(c, 2) < 0)
			return bad(pk, DEC_TRUNC, "udp.hdr");
		if (ulen < 8 && !(ulen == 0 && pk->ipver == 6))
			return bad(pk, DEC_BAD, "udp.len");
		/* A first fragment carries only part of what udp.len claims. */
		pk->pl_wire = pk->frag == FRAG_FIRST ? ulen - 8u : MIN(ulen ? ulen - 8u : l4len - 8u, l4len - 8u);
		break;
	}
	case IPPROTO_ICMP_:
	case IPPROTO_ICMPV6_: {
		int v6 = pk->proto == IPPROTO_ICMPV6_;
		if (cur_u8(c, &pk->icmp_type) < 0 || cur_u8(c, &pk->icmp_code) < 0 || cur_skip(c, 6) < 0)
			return bad(pk, DEC_TRUNC, "icmp.hdr");
		pk->pl_wire = l4len - 8;
		pk->l4_ok = 1;
		pk->pl = c->p;
		pk->pl_len = (u32)MIN(cur_left(c), pk->pl_wire);
		/* Errors quote the offending packet's IP header and 8 bytes of L4. */
		if ((!v6 && (pk->icmp_type == 3 || pk->icmp_type == 4 || pk->icmp_type == 5 ||
		             pk->icmp_type == 11 || pk->icmp_type == 12)) ||
		    (v6 && pk->icmp_type >= 1 && pk->icmp_type <= 4)) {
			struct cur q;
			cur_init(&q, pk->pl, pk->pl_len);
			decode_inner(&q, pk, v6);
		}
		return DEC_OK;
	}
	default:
		pk->pl_wire = l4len;
		pk->pl = c->p;
		pk->pl_len = (u32)MIN(cur_left(c), l4len);
		return DEC_OK;
	}
	pk->l4_ok = 1;
	pk->pl = c->p;
	pk->pl_len = (u32)MIN(cur_left(c), pk->pl_wire);
	return DEC_OK;
}

static int decode_ipv4(struct cur *c, struct packet *pk)
{
	const u8 *h;
	u8 ihl;
	u16 tot, off;

	if (cur_left(c) < 20)
		return bad(pk, DEC_TRUNC, "ip.hdr");
	h = c->p;
	if ((h[0] >> 4) != 4)
		return bad(pk, DEC_BAD, "ip.version");
	ihl = (u8)((h[0] & 15) * 4);
	if (ihl < 20)
		return bad(pk, DEC_BAD, "ip.ihl");
	if (cur_left(c) < ihl)
		return bad(pk, DEC_TRUNC, "ip.options");
	tot = (u16)((h[2] << 8) | h[3]);
	if (tot < ihl) {
		/* TSO-offloaded captures carry 0 here: trust what was captured. */
		if (tot != 0)
			return bad(pk, DEC_BAD, "ip.len");
		tot = (u16)MIN(cur_left(c), 65535u);
	}
	pk->ipver = 4;
	pk->ipid = (u16)((h[4] << 8) | h[5]);
	pk->ipid_valid = 1;
	off = (u16)((h[6] << 8) | h[7]);
	pk->ttl = h[8];
	pk->proto = h[9];
	pk->src.fam = pk->dst.fam = 4;
	memcpy(pk->src.b, h + 12, 4);
	memcpy(pk->dst.b, h + 16, 4);
	if (off & 0x1fff)
		pk->frag = FRAG_LATER;
	else if (off & 0x2000)
		pk->frag = FRAG_FIRST;
	/* A length field is a claim: clamp to what was captured. */
	struct cur l4;
	cur_init(&l4, h + ihl, MIN((size_t)tot, cur_left(c)) - ihl);
	if (pk->frag == FRAG_LATER) {
		pk->pl = l4.p;
		pk->pl_len = (u32)cur_left(&l4);
		pk->pl_wire = tot - ihl;
		return DEC_OK;
	}
	return decode_l4(&l4, pk, (u32)(tot - ihl));
}

static int decode_ipv6(struct cur *c, struct packet *pk)
{
	const u8 *h;
	u16 plen;
	u8 nh;

	if (cur_left(c) < 40)
		return bad(pk, DEC_TRUNC, "ipv6.hdr");
	h = c->p;
	if ((h[0] >> 4) != 6)
		return bad(pk, DEC_BAD, "ipv6.version");
	plen = (u16)((h[4] << 8) | h[5]);
	nh = h[6];
	pk->ipver = 6;
	pk->ttl = h[7];
	pk->src.fam = pk->dst.fam = 6;
	memcpy(pk->src.b, h + 8, 16);
	memcpy(pk->dst.b, h + 24, 16);
	cur_skip(c, 40);
	u32 len = plen ? plen : (u32)cur_left(c); /* jumbograms: trust the capture */
	struct cur p;
	cur_init(&p, c->p, MIN((size_t)len, cur_left(c)));
	/* Walk extension headers (RFC 8200 section 4). */
	for (int n = 0; n < 8; n++) {
		u8 next, hlen;
		if (nh == 0 || nh == 43 || nh == 60 || nh == 51) {
			if (cur_u8(&p, &next) < 0 || cur_u8(&p, &hlen) < 0)
				return bad(pk, DEC_TRUNC, "ipv6.ext");
			size_t sz = nh == 51 ? ((size_t)hlen + 2) * 4 : ((size_t)hlen + 1) * 8;
			if (cur_skip(&p, sz - 2) < 0)
				return bad(pk, DEC_TRUNC, "ipv6.ext");
			if (len < sz)
				return bad(pk, DEC_BAD, "ipv6.ext.len");
			len -= (u32)sz;
			nh = next;
		} else if (nh == 44) {
			u16 off;
			if (cur_u8(&p, &next) < 0 || cur_skip(&p, 1) < 0 || cur_be16(&p, &off) < 0 ||
			    cur_skip(&p, 4) < 0)
				return bad(pk, DEC_TRUNC, "ipv6.frag");
			if (len < 8)
				return bad(pk, DEC_BAD, "ipv6.frag");
			len -= 8;
			nh = next;
			if (off & 0xfff8)
				pk->frag = FRAG_LATER;
			else if (off & 1)
				pk->frag = FRAG_FIRST;
		} else {
			break;
		}
	}
	pk->proto = nh;
	if (nh == 59 || nh == 50 || pk->frag == FRAG_LATER) {
		pk->pl = p.p;
		pk->pl_len = (u32)cur_left(&p);
		pk->pl_wire = len;
		return DEC_OK;
	}
	return decode_l4(&p, pk, len);
}

static int decode_ip_by_version(struct cur *c, struct packet *pk)
{
	if (cur_left(c) < 1)
		return bad(pk, DEC_TRUNC, "ip.hdr");
	switch (c->p[0] >> 4) {
	case 4:
		return decode_ipv4(c, pk);
	case 6:
		return decode_ipv6(c, pk);
	default:
		return bad(pk, DEC_BAD, "ip.version");
	}
}

static int decode_by_ethertype(struct cur *c, struct packet *pk, u16 et)
{
	if (et == ET_IPV4)
		return decode_ipv4(c, pk);
	if (et == ET_IPV6)
		return decode_ipv6(c, pk);
	return bad(pk, DEC_UNSUPP, "ethertype");
}

int decode_packet(const struct cap_pkt *cp, struct packet *pk)
{
	struct cur c;
	u16 et;
	u32 fam;

	/* A copy of a zero packet, not memset: gcc makes a memset of this size
	 * `rep stos`, whose start-up alone was a third of decoding; the copy
	 * is ten vector moves. */
	static const struct packet zero;
	*pk = zero;
	pk->cap = cp;
	pk->ts_us = cp->ts_us;
	pk->frame = cp->frame;
	pk->file = cp->file;
	pk->iface = cp->iface;
	pk->side = cp->side;
	cur_init(&c, cp->data, cp->caplen);

	switch (cp->linktype) {
	case LT_EN10MB:
		if (cur_skip(&c, 12) < 0 || cur_be16(&c, &et) < 0)
			return bad(pk, DEC_TRUNC, "eth.hdr");
		if (skip_vlans(&c, pk, &et) < 0)
			return bad(pk, DEC_TRUNC, "vlan.hdr");
		return decode_by_ethertype(&c, pk, et);
	case LT_LINUX_SLL:
		if (cur_skip(&c, 14) < 0 || cur_be16(&c, &et) < 0)
			return bad(pk, DEC_TRUNC, "sll.hdr");
		if (skip_vlans(&c, pk, &et) < 0)
			return bad(pk, DEC_TRUNC, "vlan.hdr");
		return decode_by_ethertype(&c, pk, et);
	case LT_LINUX_SLL2:
		if (cur_be16(&c, &et) < 0 || cur_skip(&c, 18) < 0)
			return bad(pk, DEC_TRUNC, "sll2.hdr");
		if (skip_vlans(&c, pk, &et) < 0)
			return bad(pk, DEC_TRUNC, "vlan.hdr");
		return decode_by_ethertype(&c, pk, et);
	case LT_NULL:
	case LT_LOOP:
		if (cur_need(&c, 4) < 0)
			return bad(pk, DEC_TRUNC, "null.hdr");
		/* DLT_NULL is in the writer's byte order, DLT_LOOP in network order. */
		if (cp->linktype == LT_LOOP)
			cur_be32(&c, &fam);
		else {
			cur_le32(&c, &fam);
			if (fam > 0xffff)
				fam = ((fam >> 24) & 0xff) | ((fam >> 8) & 0xff00);
		}
		if (fam == 2)
			return decode_ipv4(&c, pk);
		if (fam == 24 || fam == 28 || fam == 30 || fam == 10)
			return decode_ipv6(&c, pk);
		return bad(pk, DEC_UNSUPP, "null.family");
	case LT_NFLOG: {
		/* family(1) version(1) resource id(2), then TLVs whose length and
		 * type are in the writer's (little-endian) order, padded to 4. */
		u8 family;
		if (cur_u8(&c, &family) < 0 || cur_skip(&c, 3) < 0)
			return bad(pk, DEC_TRUNC, "nflog.hdr");
		while (cur_left(&c) >= 4) {
			u16 tlen, ttype;
			cur_le16(&c, &tlen);
			cur_le16(&c, &ttype);
			if (tlen < 4)
				return bad(pk, DEC_BAD, "nflog.tlv_len");
			struct cur v;
			if (cur_sub(&c, tlen - 4u, &v) < 0)
				return bad(pk, DEC_TRUNC, "nflog.tlv");
			cur_skip(&c, MIN((size_t)((4 - (tlen & 3)) & 3), cur_left(&c)));
			if ((ttype & 0x7fff) == 9) /* NFULA_PAYLOAD */
				return family == 10 ? decode_ipv6(&v, pk) : decode_ipv4(&v, pk);
		}
		return bad(pk, DEC_UNSUPP, "nflog.payload");
	}
	case LT_C_HDLC:
		if (cur_skip(&c, 2) < 0 || cur_be16(&c, &et) < 0)
			return bad(pk, DEC_TRUNC, "chdlc.hdr");
		return decode_by_ethertype(&c, pk, et);
	case LT_RAW:
	case LT_RAW_BSD:
	case LT_RAW_BSD2:
		return decode_ip_by_version(&c, pk);
	case LT_IPV4:
		return decode_ipv4(&c, pk);
	case LT_IPV6:
		return decode_ipv6(&c, pk);
	default:
		return bad(pk, DEC_UNSUPP, "linktype");
	}
}
