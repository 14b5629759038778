/* \summary: link, IPv4/IPv6, TCP/UDP/ICMP decoding into a struct packet that
 * points into the capture buffer; every read through a cursor. Gateway link
 * layers (PPP, PPPoE, MPLS, VLAN stacks) and tunnels (IP in IP, GRE, VXLAN,
 * Geneve, Teredo, GTP-U) are peeled down to the innermost IP packet, which is the
 * one the packet describes; what carried it is kept in packet.tun. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "panne/cursor.h"
#include "panne/decode.h"

/* Link types (pcap LINKTYPE_* / DLT_* values). */
#define LT_NULL 0
#define LT_EN10MB 1
#define LT_PPP 9
#define LT_RAW_BSD 12
#define LT_RAW_BSD2 14
#define LT_PPP_SERIAL 50 /* PPP in HDLC-like framing, or Cisco HDLC */
#define LT_PPP_ETHER 51  /* PPPoE session header, no Ethernet */
#define LT_RAW 101
#define LT_C_HDLC 104
#define LT_LOOP 108
#define LT_LINUX_SLL 113
#define LT_IPV4 228
#define LT_IPV6 229
#define LT_PPP_WITH_DIR 204
#define LT_LINUX_SLL2 276
#define LT_NFLOG 239

#define ET_IPV4 0x0800
#define ET_IPV6 0x86dd
#define ET_VLAN 0x8100
#define ET_QINQ 0x88a8
#define ET_QINQ_OLD 0x9100
#define ET_MPLS 0x8847
#define ET_MPLS_MC 0x8848
#define ET_PPPOE_DISC 0x8863
#define ET_PPPOE_SESS 0x8864
#define ET_TEB 0x6558 /* transparent Ethernet bridging */
#define ET_PPP 0x880b

#define PPP_IPV4 0x0021
#define PPP_IPV6 0x0057
#define PPP_MPLS 0x0281

#define UDP_GTPU 2152
#define UDP_TEREDO 3544
#define UDP_GRE 4754 /* GRE-in-UDP, RFC 8086 */
#define UDP_VXLAN 4789
#define UDP_GENEVE 6081

/* The encapsulations are off the common path: kept out of line so that the
 * Ethernet/IP/TCP/UDP decoding around them stays as small as it was. */
#define COLD __attribute__((noinline, cold))

#define VLAN_TAGS_MAX 8   /* 802.1Q / 802.1ad tags in one Ethernet header */
#define MPLS_LABELS_MAX 8 /* labels in one MPLS stack */
#define GRE_SRE_MAX 8     /* RFC 1701 source route entries */
#define GTP_EXT_MAX 8     /* GTP-U extension headers */

int decode_linktype_supported(int lt)
{
	switch (lt) {
	case LT_NULL: case LT_EN10MB: case LT_RAW_BSD: case LT_RAW_BSD2: case LT_RAW:
	case LT_C_HDLC: case LT_LOOP: case LT_LINUX_SLL: case LT_IPV4: case LT_IPV6:
	case LT_LINUX_SLL2: case LT_NFLOG: case LT_PPP: case LT_PPP_SERIAL: case LT_PPP_ETHER:
	case LT_PPP_WITH_DIR:
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

COLD static int unsupp(struct packet *pk, int cls, u32 val)
{
	static const char *const field[UNS_NCLASS] = {
		[UNS_LINKTYPE] = "linktype", [UNS_ETHERTYPE] = "ethertype", [UNS_LLC] = "llc",
		[UNS_NULLFAM] = "null.family", [UNS_PPP] = "ppp.protocol", [UNS_GRE] = "gre.protocol",
		[UNS_MPLS] = "mpls.payload", [UNS_DEPTH] = "tunnel.depth", [UNS_NFLOG] = "nflog.payload",
	};
	pk->unsupp = (u8)cls;
	pk->unsupp_val = val;
	return bad(pk, DEC_UNSUPP, field[cls]);
}

static inline int is_vlan(u16 et)
{
	return et == ET_VLAN || et == ET_QINQ || et == ET_QINQ_OLD;
}

/* Reads 802.1Q / 802.1ad tags after an Ethernet-style type field, at most
 * VLAN_TAGS_MAX; *et gets the inner type. DEC_OK or an error status. */
static int skip_vlans(struct cur *c, struct packet *pk, u16 *et)
{
	int depth = 0;
	while (is_vlan(*et)) {
		u16 tci;
		if (++depth > VLAN_TAGS_MAX)
			return bad(pk, DEC_BAD, "vlan.depth");
		if (cur_be16(c, &tci) < 0 || cur_be16(c, et) < 0)
			return bad(pk, DEC_TRUNC, "vlan.hdr");
		if (!pk->vlan_tags)
			pk->vlan = tci & 0x0fff;
		pk->vlan_tags++;
	}
	return DEC_OK;
}

static int decode_ipv4(struct cur *c, struct packet *pk);
static int decode_ipv6(struct cur *c, struct packet *pk);
COLD static int decode_ipip(struct cur *c, struct packet *pk);
COLD static int decode_ether(struct cur *c, struct packet *pk);
COLD static int decode_ethertype_rare(struct cur *c, struct packet *pk, u16 et, int cls);
COLD static int decode_gre(struct cur *c, struct packet *pk);
COLD static int decode_udp_tunnel(struct packet *pk);

/* One more encapsulation around the packet: counted, and refused past
 * TUN_DEPTH_MAX. The outermost one gives tun.kind and tun.id. */
static int tun_enter(struct packet *pk, int kind, int has_id, u32 id)
{
	struct pkt_tunnel *t = &pk->tun;
	t->seen |= (u16)(1u << kind);
	if (t->depth >= TUN_DEPTH_MAX)
		return unsupp(pk, UNS_DEPTH, TUN_DEPTH_MAX);
	if (!t->depth) {
		t->kind = (u8)kind;
		t->has_id = (u8)has_id;
		t->id = id;
	}
	t->kinds[t->depth++] = (u8)kind;
	return DEC_OK;
}

/* A tunnel entered from an IP header (pk->src/dst are still the outer
 * ones): keeps the outermost endpoints and forgets the outer transport, which
 * the inner packet replaces. */
COLD static int tun_enter_ip(struct packet *pk, int kind, int has_id, u32 id)
{
	int rc = tun_enter(pk, kind, has_id, id);
	if (rc != DEC_OK)
		return rc;
	if (!pk->tun.has_addr) {
		pk->tun.has_addr = 1;
		pk->tun.src = pk->src;
		pk->tun.dst = pk->dst;
	}
	pk->frag = FRAG_NONE;
	pk->ipid_valid = 0;
	pk->ipid = 0;
	pk->sport = pk->dport = 0;
	pk->tcp_flags = 0;
	pk->seq = pk->ack = 0;
	pk->win = 0;
	pk->l4_ok = 0;
	pk->pl = NULL;
	pk->pl_len = pk->pl_wire = 0;
	pk->icmp_type = pk->icmp_code = 0;
	return DEC_OK;
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

/* Which TCP options a SYN or RST carries (RFC 9293 section 3.2): kinds
 * only, each length checked against what is left. */
static u8 tcp_options(const u8 *p, size_t n)
{
	struct cur o;
	u8 seen = 0, kind, len;
	cur_init(&o, p, n);
	while (cur_u8(&o, &kind) == 0 && kind != 0) {
		if (kind == 1)
			continue;
		if (cur_u8(&o, &len) < 0 || len < 2 || cur_skip(&o, (size_t)len - 2) < 0)
			break;
		seen |= kind == 2 ? TOPT_MSS : kind == 3 ? TOPT_WSCALE : kind == 4 ? TOPT_SACKOK
		        : kind == 8 ? TOPT_TS : TOPT_OTHER;
	}
	return seen;
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
		if (doff > 20 && (flags & (TH_SYN | TH_RST)))
			pk->tcp_opts = tcp_options(hdr + 20, (size_t)doff - 20);
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
		pk->l4_ok = 1;
		pk->pl = c->p;
		pk->pl_len = (u32)MIN(cur_left(c), pk->pl_wire);
		/* Tunnels by their assigned port; a first fragment is left whole. */
		switch (pk->dport) {
		case UDP_VXLAN: case UDP_GENEVE: case UDP_GRE: case UDP_TEREDO: case UDP_GTPU:
			break;
		default:
			if (pk->sport != UDP_TEREDO && pk->sport != UDP_GTPU)
				return DEC_OK;
		}
		return pk->frag == FRAG_NONE ? decode_udp_tunnel(pk) : DEC_OK;
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
	case IPPROTO_IPIP_:
	case IPPROTO_IPV6_:
		if (pk->frag == FRAG_NONE)
			return decode_ipip(c, pk);
		goto other;
	case IPPROTO_GRE_:
		if (pk->frag == FRAG_NONE)
			return decode_gre(c, pk);
		goto other;
	default:
	other:
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

/* IPv4 or IPv6 inside IPv4 or IPv6 (protocols 4 and 41: RFC 2003, RFC 4213). */
static int decode_ipip(struct cur *c, struct packet *pk)
{
	int inner6 = pk->proto == IPPROTO_IPV6_, rc;
	int kind = pk->ipver == 6 ? (inner6 ? TUN_6IN6 : TUN_4IN6) : (inner6 ? TUN_6IN4 : TUN_IPIP);
	if ((rc = tun_enter_ip(pk, kind, 0, 0)) != DEC_OK)
		return rc;
	return inner6 ? decode_ipv6(c, pk) : decode_ipv4(c, pk);
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
	pk->tun.inner_ip = pk->tun.depth != 0;
	pk->ipid = (u16)((h[4] << 8) | h[5]);
	pk->ipid_valid = 1;
	off = (u16)((h[6] << 8) | h[7]);
	pk->df = (off & 0x4000) != 0;
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
	pk->flowlabel = ((u32)(h[1] & 0x0f) << 16) | ((u32)h[2] << 8) | h[3];
	pk->ip6_seen = 1;
	pk->tun.inner_ip = pk->tun.depth != 0;
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

/* IP first, the rest out of the common path. cls names an unknown type. */
static inline int decode_by_ethertype(struct cur *c, struct packet *pk, u16 et, int cls)
{
	if (et == ET_IPV4)
		return decode_ipv4(c, pk);
	if (et == ET_IPV6)
		return decode_ipv6(c, pk);
	return decode_ethertype_rare(c, pk, et, cls);
}

/* From the destination MAC: an Ethernet header, its VLAN tags, its payload. */
static int decode_ether(struct cur *c, struct packet *pk)
{
	u16 et;
	int rc;
	if (cur_skip(c, 12) < 0 || cur_be16(c, &et) < 0)
		return bad(pk, DEC_TRUNC, "eth.hdr");
	if (is_vlan(et) && (rc = skip_vlans(c, pk, &et)) != DEC_OK)
		return rc;
	return decode_by_ethertype(c, pk, et, UNS_ETHERTYPE);
}

/* A PPP protocol number's payload (RFC 1661; 0x0021 IPv4, 0x0057 IPv6). */
COLD static int decode_ppp_proto(struct cur *c, struct packet *pk, u16 proto)
{
	pk->tun.seen |= 1u << TUN_PPP;
	switch (proto) {
	case PPP_IPV4:
		return decode_ipv4(c, pk);
	case PPP_IPV6:
		return decode_ipv6(c, pk);
	case PPP_MPLS:
		return decode_ethertype_rare(c, pk, ET_MPLS, UNS_PPP);
	default:
		return unsupp(pk, UNS_PPP, proto);
	}
}

/* A PPP frame: the HDLC address and control bytes (ff 03) when present,
 * then the protocol, one byte when compressed (RFC 1661 section 6.5). */
COLD static int decode_ppp(struct cur *c, struct packet *pk)
{
	u8 b0, b1;
	if (cur_left(c) >= 2 && c->p[0] == 0xff && c->p[1] == 0x03)
		cur_skip(c, 2);
	if (cur_u8(c, &b0) < 0)
		return bad(pk, DEC_TRUNC, "ppp.hdr");
	if (b0 & 1)
		return decode_ppp_proto(c, pk, b0);
	if (cur_u8(c, &b1) < 0)
		return bad(pk, DEC_TRUNC, "ppp.hdr");
	return decode_ppp_proto(c, pk, (u16)((b0 << 8) | b1));
}

/* A PPPoE session header (RFC 2516 section 4): ver/type 0x11, code 0,
 * session, length (a claim, clamped), then PPP. */
COLD static int decode_pppoe(struct cur *c, struct packet *pk)
{
	u8 vt, code;
	u16 sid, len;
	int rc;
	if (cur_u8(c, &vt) < 0 || cur_u8(c, &code) < 0 || cur_be16(c, &sid) < 0 || cur_be16(c, &len) < 0)
		return bad(pk, DEC_TRUNC, "pppoe.hdr");
	if (vt != 0x11)
		return bad(pk, DEC_BAD, "pppoe.vertype");
	if (code != 0)
		return bad(pk, DEC_BAD, "pppoe.code");
	if ((rc = tun_enter(pk, TUN_PPPOE, 1, sid)) != DEC_OK)
		return rc;
	struct cur p;
	cur_init(&p, c->p, MIN((size_t)len, cur_left(c)));
	return decode_ppp(&p, pk);
}

/* An MPLS label stack (RFC 3032), at most MPLS_LABELS_MAX labels; the
 * payload is named by the explicit-null labels (RFC 3032 section 2.1) or
 * guessed from its first byte as tcpdump does. */
COLD static int decode_mpls(struct cur *c, struct packet *pk)
{
	u32 e = 0, first = 0;
	int rc;
	for (int n = 0; n < MPLS_LABELS_MAX; n++) {
		if (cur_be32(c, &e) < 0)
			return bad(pk, DEC_TRUNC, "mpls.label");
		if (!n)
			first = e >> 12;
		if (e & 0x100) /* bottom of stack */
			break;
	}
	if (!(e & 0x100))
		return bad(pk, DEC_BAD, "mpls.stack");
	if ((rc = tun_enter(pk, TUN_MPLS, 1, first)) != DEC_OK)
		return rc;
	if (e >> 12 == 0)
		return decode_ipv4(c, pk);
	if (e >> 12 == 2)
		return decode_ipv6(c, pk);
	if (cur_left(c) < 1)
		return bad(pk, DEC_TRUNC, "mpls.payload");
	if (c->p[0] >= 0x45 && c->p[0] <= 0x4f)
		return decode_ipv4(c, pk);
	if (c->p[0] >> 4 == 6)
		return decode_ipv6(c, pk);
	return unsupp(pk, UNS_MPLS, c->p[0]);
}

static int decode_ethertype_rare(struct cur *c, struct packet *pk, u16 et, int cls)
{
	switch (et) {
	case ET_MPLS:
	case ET_MPLS_MC:
		return decode_mpls(c, pk);
	case ET_PPPOE_SESS:
		return decode_pppoe(c, pk);
	case ET_PPPOE_DISC:
		pk->tun.seen |= 1u << TUN_PPPOE_DISC;
		break;
	default:
		break;
	}
	if (cls == UNS_ETHERTYPE && et < 0x0600) /* 802.3 length: LLC follows */
		return unsupp(pk, UNS_LLC, cur_left(c) ? c->p[0] : 0);
	return unsupp(pk, cls, et);
}

/* GRE (RFC 2784 with RFC 2890's key and sequence number, RFC 1701's
 * routing) and PPTP's enhanced GRE (RFC 2637 section 4.1), in IP or UDP. */
static int decode_gre(struct cur *c, struct packet *pk)
{
	u16 fl, proto, w;
	u32 key = 0;
	int has_key = 0, rc;

	if (cur_be16(c, &fl) < 0 || cur_be16(c, &proto) < 0)
		return bad(pk, DEC_TRUNC, "gre.hdr");
	switch (fl & 7) {
	case 0:
		if (fl & 0xc000) /* checksum or routing present: checksum and offset */
			cur_skip(c, 4);
		if (fl & 0x2000)
			has_key = cur_be32(c, &key) == 0;
		if (fl & 0x1000)
			cur_skip(c, 4);
		if (fl & 0x4000) {
			int n;
			for (n = 0; n < GRE_SRE_MAX; n++) {
				u8 off, len;
				if (cur_be16(c, &w) < 0 || cur_u8(c, &off) < 0 || cur_u8(c, &len) < 0)
					break;
				if (!w && !len)
					break;
				cur_skip(c, len);
			}
			if (n == GRE_SRE_MAX)
				return bad(pk, DEC_BAD, "gre.routing");
		}
		break;
	case 1:
		if (proto != ET_PPP || !(fl & 0x2000))
			return bad(pk, DEC_BAD, "gre.v1");
		cur_skip(c, 2); /* payload length: the IP header's is used */
		if (cur_be16(c, &w) == 0) /* call id */
			key = w, has_key = 1;
		if (fl & 0x1000)
			cur_skip(c, 4);
		if (fl & 0x0080) /* acknowledgment number */
			cur_skip(c, 4);
		if (!(fl & 0x1000)) /* no sequence number: an acknowledgment alone, no payload */
			return c->err ? bad(pk, DEC_TRUNC, "gre.hdr") : DEC_OK;
		break;
	default:
		return bad(pk, DEC_BAD, "gre.version");
	}
	if (c->err)
		return bad(pk, DEC_TRUNC, "gre.hdr");
	if ((rc = tun_enter_ip(pk, TUN_GRE, has_key, key)) != DEC_OK)
		return rc;
	if (proto == ET_TEB)
		return decode_ether(c, pk);
	if (proto == ET_PPP)
		return decode_ppp(c, pk);
	return decode_by_ethertype(c, pk, proto, UNS_GRE);
}

/* Teredo (RFC 4380 section 5.1.1): optional authentication and origin
 * indicators, then exactly one IPv6 packet. Anything else on the port is
 * plain UDP. */
COLD static int decode_teredo(struct cur *c, struct packet *pk)
{
	u8 idl, aul;
	if (cur_left(c) >= 2 && c->p[0] == 0 && c->p[1] == 1) {
		cur_skip(c, 2);
		if (cur_u8(c, &idl) < 0 || cur_u8(c, &aul) < 0 || cur_skip(c, (size_t)idl + aul + 9) < 0)
			return DEC_OK;
	}
	if (cur_left(c) >= 2 && c->p[0] == 0 && c->p[1] == 0 && cur_skip(c, 8) < 0)
		return DEC_OK;
	if (cur_left(c) < 40 || c->p[0] >> 4 != 6)
		return DEC_OK;
	u32 used = pk->pl_len - (u32)cur_left(c);
	if (used + 40u + ((u32)(c->p[4] << 8) | c->p[5]) != pk->pl_wire)
		return DEC_OK;
	int rc = tun_enter_ip(pk, TUN_TEREDO, 0, 0);
	return rc != DEC_OK ? rc : decode_ipv6(c, pk);
}

/* GTP-U (3GPP TS 29.281 section 5): version 1, protocol type 1, a G-PDU
 * (type 255) carries one IP packet after the TEID, the optional sequence
 * word and the extension headers. Other messages (echo, errors) and GTP'
 * stay plain UDP. */
COLD static int decode_gtpu(struct cur *c, struct packet *pk)
{
	u8 fl, type, next;
	u16 len;
	u32 teid;
	int rc;
	if (cur_left(c) < 2) /* cut by the snaplen, or too short to be GTP */
		return pk->pl_len < pk->pl_wire ? bad(pk, DEC_TRUNC, "gtp.hdr") : DEC_OK;
	if ((c->p[0] & 0xf0) != 0x30 || c->p[1] != 0xff)
		return DEC_OK;
	if (cur_u8(c, &fl) < 0 || cur_u8(c, &type) < 0 || cur_be16(c, &len) < 0 || cur_be32(c, &teid) < 0)
		return bad(pk, DEC_TRUNC, "gtp.hdr");
	if (fl & 0x07) { /* sequence number, N-PDU number, next extension type */
		if (cur_skip(c, 3) < 0 || cur_u8(c, &next) < 0)
			return bad(pk, DEC_TRUNC, "gtp.hdr");
		int n;
		for (n = 0; (fl & 0x04) && next && n < GTP_EXT_MAX; n++) {
			u8 words;
			if (cur_u8(c, &words) < 0 || !words || cur_skip(c, (size_t)words * 4 - 2) < 0 ||
			    cur_u8(c, &next) < 0)
				return c->err ? bad(pk, DEC_TRUNC, "gtp.ext") : bad(pk, DEC_BAD, "gtp.ext.len");
		}
		if (n == GTP_EXT_MAX)
			return bad(pk, DEC_BAD, "gtp.ext");
	}
	if ((rc = tun_enter_ip(pk, TUN_GTPU, 1, teid)) != DEC_OK)
		return rc;
	return decode_ip_by_version(c, pk);
}

/* A UDP payload on a tunnel's port (pk->pl, pk->pl_len). */
static int decode_udp_tunnel(struct packet *pk)
{
	struct cur c;
	u8 b0, b1;
	u16 proto;
	u32 vni;
	int rc;

	if (!pk->pl_wire) /* an empty datagram: plain UDP */
		return DEC_OK;
	cur_init(&c, pk->pl, pk->pl_len);
	switch (pk->dport) {
	case UDP_VXLAN: /* RFC 7348 section 5: flags (I = 0x08), 24 reserved, VNI, 8 reserved */
		if (cur_left(&c) < 1)
			return bad(pk, DEC_TRUNC, "vxlan.hdr");
		if (!(c.p[0] & 0x08))
			return DEC_OK; /* not VXLAN: plain UDP */
		if (cur_skip(&c, 4) < 0 || cur_be24(&c, &vni) < 0 || cur_skip(&c, 1) < 0)
			return bad(pk, DEC_TRUNC, "vxlan.hdr");
		if ((rc = tun_enter_ip(pk, TUN_VXLAN, 1, vni)) != DEC_OK)
			return rc;
		return decode_ether(&c, pk);
	case UDP_GENEVE: /* RFC 8926 section 3.4: ver, option length in words, flags, type, VNI */
		if (cur_u8(&c, &b0) < 0 || cur_u8(&c, &b1) < 0 || cur_be16(&c, &proto) < 0 ||
		    cur_be24(&c, &vni) < 0 || cur_skip(&c, 1) < 0)
			return bad(pk, DEC_TRUNC, "geneve.hdr");
		if (b0 >> 6)
			return bad(pk, DEC_BAD, "geneve.version");
		if (cur_skip(&c, (size_t)(b0 & 0x3f) * 4) < 0)
			return bad(pk, DEC_TRUNC, "geneve.options");
		if ((rc = tun_enter_ip(pk, TUN_GENEVE, 1, vni)) != DEC_OK)
			return rc;
		if (proto == ET_TEB)
			return decode_ether(&c, pk);
		return decode_by_ethertype(&c, pk, proto, UNS_ETHERTYPE);
	case UDP_GRE:
		return decode_gre(&c, pk);
	case UDP_GTPU:
		return decode_gtpu(&c, pk);
	default:
		return pk->sport == UDP_GTPU ? decode_gtpu(&c, pk) : decode_teredo(&c, pk);
	}
}

int decode_packet(const struct cap_pkt *cp, struct packet *pk)
{
	struct cur c;
	u16 et;
	u32 fam;
	int rc;

	/* A copy of a zero packet, not memset: gcc makes a memset of this size
	 * `rep stos`, whose start-up alone was a third of decoding; the copy
	 * is ten vector moves. */
	static const struct packet zero;
	/* Up to the tunnel fields that only an encapsulation writes. */
	memcpy(pk, &zero, offsetof(struct packet, tun.kind));
	pk->cap = cp;
	pk->ts_us = cp->ts_us;
	pk->frame = cp->frame;
	pk->file = cp->file;
	pk->iface = cp->iface;
	pk->side = cp->side;
	cur_init(&c, cp->data, cp->caplen);

	switch (cp->linktype) {
	case LT_EN10MB: /* decode_ether, inline for the common case */
		if (cur_skip(&c, 12) < 0 || cur_be16(&c, &et) < 0)
			return bad(pk, DEC_TRUNC, "eth.hdr");
		if (is_vlan(et) && (rc = skip_vlans(&c, pk, &et)) != DEC_OK)
			return rc;
		return decode_by_ethertype(&c, pk, et, UNS_ETHERTYPE);
	case LT_LINUX_SLL:
		if (cur_skip(&c, 14) < 0 || cur_be16(&c, &et) < 0)
			return bad(pk, DEC_TRUNC, "sll.hdr");
		if (is_vlan(et) && (rc = skip_vlans(&c, pk, &et)) != DEC_OK)
			return rc;
		return decode_by_ethertype(&c, pk, et, UNS_ETHERTYPE);
	case LT_LINUX_SLL2:
		if (cur_be16(&c, &et) < 0 || cur_skip(&c, 18) < 0)
			return bad(pk, DEC_TRUNC, "sll2.hdr");
		if (is_vlan(et) && (rc = skip_vlans(&c, pk, &et)) != DEC_OK)
			return rc;
		return decode_by_ethertype(&c, pk, et, UNS_ETHERTYPE);
	case LT_PPP_WITH_DIR:
		if (cur_skip(&c, 1) < 0)
			return bad(pk, DEC_TRUNC, "ppp.dir");
		return decode_ppp(&c, pk);
	case LT_PPP:
		return decode_ppp(&c, pk);
	case LT_PPP_SERIAL:
		/* libpcap gives this type to Cisco HDLC frames too (RFC 1547's 0x0f/0x8f). */
		if (cur_left(&c) && (c.p[0] == 0x0f || c.p[0] == 0x8f))
			goto chdlc;
		return decode_ppp(&c, pk);
	case LT_PPP_ETHER:
		return decode_pppoe(&c, pk);
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
		return unsupp(pk, UNS_NULLFAM, fam);
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
		return unsupp(pk, UNS_NFLOG, 0);
	}
	case LT_C_HDLC:
	chdlc:
		if (cur_skip(&c, 2) < 0 || cur_be16(&c, &et) < 0)
			return bad(pk, DEC_TRUNC, "chdlc.hdr");
		return decode_by_ethertype(&c, pk, et, UNS_ETHERTYPE);
	case LT_RAW:
	case LT_RAW_BSD:
	case LT_RAW_BSD2:
		return decode_ip_by_version(&c, pk);
	case LT_IPV4:
		return decode_ipv4(&c, pk);
	case LT_IPV6:
		return decode_ipv6(&c, pk);
	default:
		return unsupp(pk, UNS_LINKTYPE, (u32)cp->linktype);
	}
}

const char *decode_tunnel_name(int kind)
{
	static const char *const names[TUN_N] = {
		[TUN_NONE] = "none", [TUN_PPPOE_DISC] = "pppoe_discovery", [TUN_PPPOE] = "pppoe",
		[TUN_PPP] = "ppp", [TUN_MPLS] = "mpls", [TUN_IPIP] = "ipip", [TUN_6IN4] = "6in4",
		[TUN_4IN6] = "4in6", [TUN_6IN6] = "6in6", [TUN_GRE] = "gre", [TUN_VXLAN] = "vxlan",
		[TUN_GENEVE] = "geneve", [TUN_TEREDO] = "teredo", [TUN_GTPU] = "gtpu",
	};
	return kind >= 0 && kind < TUN_N ? names[kind] : "none";
}

struct tok {
	u32 v;
	const char *s;
};

/* Names as tcpdump prints them (its ethertype_values, ppptype2str and llc
 * tables), for the few met on gateways; others go by number alone. */
static const struct tok ethertype_names[] = {
	{ 0x0800, "IPv4" }, { 0x0806, "ARP" }, { 0x0842, "Wake-on-LAN" }, { 0x22eb, "ERSPAN III" },
	{ 0x22f3, "TRILL" }, { 0x6558, "TEB" }, { 0x8035, "Reverse ARP" }, { 0x809b, "Appletalk" },
	{ 0x80f3, "Appletalk ARP" }, { 0x8100, "802.1Q" }, { 0x8137, "IPX" }, { 0x86dd, "IPv6" },
	{ 0x8808, "MAC control" }, { 0x8809, "Slow Protocols" }, { 0x880b, "PPP" },
	{ 0x8847, "MPLS unicast" }, { 0x8848, "MPLS multicast" }, { 0x8863, "PPPoE D" },
	{ 0x8864, "PPPoE S" }, { 0x886f, "MS NLB heartbeat" }, { 0x887b, "HomePlug" },
	{ 0x888e, "EAPOL" }, { 0x8892, "PROFINET" }, { 0x889a, "HyperSCSI" }, { 0x88a2, "AoE" },
	{ 0x88a8, "802.1Q-QinQ" }, { 0x88b5, "experimental" }, { 0x88be, "ERSPAN" }, { 0x88cc, "LLDP" },
	{ 0x88e1, "HomePlug AV" }, { 0x88e5, "802.1AE MACsec" }, { 0x88e7, "802.1ah" },
	{ 0x88f7, "PTP" }, { 0x8902, "CFM" }, { 0x8906, "FCoE" }, { 0x8914, "FIP" },
	{ 0x8915, "RoCE" }, { 0x893a, "IEEE1905.1" }, { 0x894f, "NSH" }, { 0x9000, "Loopback" },
	{ 0x9100, "802.1Q-9100" }, { 0, NULL },
};

static const struct tok ppp_names[] = {
	{ 0x0021, "IP" }, { 0x002b, "IPX" }, { 0x002d, "VJC" }, { 0x002f, "VJNC" }, { 0x003d, "ML" },
	{ 0x0057, "IPV6" }, { 0x00fd, "COMP" }, { 0x0281, "MPLS" }, { 0x8021, "IPCP" },
	{ 0x802b, "IPXCP" }, { 0x8057, "IP6CP" }, { 0x80fd, "CCP" }, { 0x8281, "MPLSCP" },
	{ 0xc021, "LCP" }, { 0xc023, "PAP" }, { 0xc025, "LQM" }, { 0xc02b, "BACP" },
	{ 0xc223, "CHAP" }, { 0xc227, "EAP" }, { 0, NULL },
};

static const struct tok llc_names[] = {
	{ 0x06, "IP" }, { 0x42, "STP" }, { 0x98, "ARP" }, { 0xaa, "SNAP" }, { 0xe0, "IPX" },
	{ 0xf0, "NetBeui" }, { 0xfe, "OSI" }, { 0, NULL },
};

static const char *tok_name(const struct tok *t, u32 v)
{
	for (; t->s; t++)
		if (t->v == v)
			return t->s;
	return NULL;
}

void decode_unsupp_name(int cls, u32 val, char *buf, size_t len)
{
	const char *what = NULL, *n = NULL;
	int width = 4;
	switch (cls) {
	case UNS_LINKTYPE:
		snprintf(buf, len, "linktype %u", val);
		return;
	case UNS_NULLFAM:
		snprintf(buf, len, "null family %u", val);
		return;
	case UNS_DEPTH:
		snprintf(buf, len, "encapsulations deeper than %u", val);
		return;
	case UNS_NFLOG:
		snprintf(buf, len, "nflog without payload");
		return;
	case UNS_ETHERTYPE:
		what = "ethertype", n = tok_name(ethertype_names, val);
		break;
	case UNS_GRE:
		what = "gre", n = tok_name(ethertype_names, val);
		break;
	case UNS_PPP:
		what = "ppp", n = tok_name(ppp_names, val);
		break;
	case UNS_LLC:
		what = "llc dsap", n = tok_name(llc_names, val), width = 2;
		break;
	case UNS_MPLS:
		what = "mpls payload", width = 2;
		break;
	default:
		snprintf(buf, len, "unknown");
		return;
	}
	if (n)
		snprintf(buf, len, "%s 0x%0*x (%s)", what, width, val, n);
	else
		snprintf(buf, len, "%s 0x%0*x", what, width, val);
}
