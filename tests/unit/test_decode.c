/* \summary: decode: link types, VLANs, IPv4 options, IPv6 extension headers,
 * fragments, ICMP quotes, truncated or invalid headers named by field, and
 * the gateway encapsulations (PPP, PPPoE, MPLS, IP in IP, GRE, VXLAN, Geneve,
 * Teredo, GTP-U) built by hand from the inside out. */
#include "testutil.h"

static int dec(const u8 *b, u32 n, int lt, struct packet *pk)
{
	static struct cap_pkt cp;
	cp = (struct cap_pkt){ .data = b, .caplen = n, .len = n, .linktype = lt, .frame = 7 };
	return decode_packet(&cp, pk);
}

static void eth_ipv4_tcp_fields_are_read(void **s)
{
	struct tframe f;
	struct packet pk;
	(void)s;
	t_tcp(&f, "10.0.0.1", 40000, "192.0.2.9", 443, 1000, 2000, TH_SYN | TH_ACK, "hello", 5, 57);
	assert_int_equal(dec(f.b, f.n, 1, &pk), DEC_OK);
	assert_int_equal(pk.ipver, 4);
	assert_int_equal(pk.proto, 6);
	assert_int_equal(pk.ttl, 57);
	assert_int_equal(pk.sport, 40000);
	assert_int_equal(pk.dport, 443);
	assert_int_equal(pk.seq, 1000);
	assert_int_equal(pk.ack, 2000);
	assert_int_equal(pk.tcp_flags, TH_SYN | TH_ACK);
	assert_int_equal(pk.pl_len, 5);
	assert_memory_equal(pk.pl, "hello", 5);
	assert_int_equal(pk.frame, 7);
	assert_true(pk.l4_ok);
}

static void qinq_tags_are_skipped_and_outer_vlan_kept(void **s)
{
	struct tframe f;
	u8 b[4200];
	struct packet pk;
	(void)s;
	t_udp(&f, "10.0.0.1", 5000, "10.0.0.2", 53, "x", 1, 64);
	memcpy(b, f.b, 12);
	put16(b + 12, 0x88a8);
	put16(b + 14, 100);
	put16(b + 16, 0x8100);
	put16(b + 18, 200);
	memcpy(b + 20, f.b + 12, f.n - 12);
	assert_int_equal(dec(b, f.n + 8, 1, &pk), DEC_OK);
	assert_int_equal(pk.vlan, 100);
	assert_int_equal(pk.dport, 53);
}

static void ipv4_options_shift_the_transport_header(void **s)
{
	struct tframe f;
	u8 b[4200];
	struct packet pk;
	(void)s;
	t_udp(&f, "10.0.0.1", 5000, "10.0.0.2", 53, "abcd", 4, 64);
	memcpy(b, f.b, 34);
	b[14] = 0x46; /* ihl 6: 4 bytes of options */
	put16(b + 16, (u16)(24 + 12));
	memset(b + 34, 1, 4); /* NOPs */
	memcpy(b + 38, f.b + 34, 12);
	assert_int_equal(dec(b, 50, 1, &pk), DEC_OK);
	assert_int_equal(pk.sport, 5000);
	assert_int_equal(pk.pl_len, 4);
	assert_memory_equal(pk.pl, "abcd", 4);
}

static void ipv6_extension_headers_and_fragment_are_followed(void **s)
{
	u8 b[200] = { 0 };
	struct packet pk;
	(void)s;
	put16(b + 12, 0x86dd);
	u8 *ip = b + 14;
	ip[0] = 0x60;
	put16(ip + 4, 8 + 8 + 8 + 3); /* hop-by-hop, fragment, udp, payload */
	ip[6] = 0;                     /* hop-by-hop */
	ip[7] = 61;
	ip[8] = 0x20, ip[9] = 0x01;
	ip[24] = 0x20, ip[25] = 0x01, ip[39] = 2;
	u8 *x = ip + 40;
	x[0] = 44; /* next: fragment */
	x[1] = 0;
	u8 *fr = x + 8;
	fr[0] = 17;
	put16(fr + 2, 1); /* offset 0, M set: first fragment */
	u8 *u = fr + 8;
	put16(u, 1234);
	put16(u + 2, 53);
	put16(u + 4, 11);
	memcpy(u + 8, "abc", 3);
	assert_int_equal(dec(b, 14 + 40 + 8 + 8 + 8 + 3, 1, &pk), DEC_OK);
	assert_int_equal(pk.ipver, 6);
	assert_int_equal(pk.ttl, 61);
	assert_int_equal(pk.proto, 17);
	assert_int_equal(pk.frag, FRAG_FIRST);
	assert_int_equal(pk.dport, 53);
	assert_int_equal(pk.pl_len, 3);
	/* A later fragment has no transport header to read. */
	put16(fr + 2, 0x0100);
	assert_int_equal(dec(b, 14 + 40 + 8 + 8 + 8 + 3, 1, &pk), DEC_OK);
	assert_int_equal(pk.frag, FRAG_LATER);
	assert_false(pk.l4_ok);
}

static void every_truncation_is_reported_never_read_past(void **s)
{
	struct tframe f;
	struct packet pk;
	(void)s;
	t_tcp(&f, "10.0.0.1", 1, "10.0.0.2", 2, 0, 0, TH_SYN, NULL, 0, 64);
	for (u32 n = 0; n < f.n; n++) {
		/* A copy of exactly n bytes, so ASan sees any read past it. */
		u8 *b = malloc(n ? n : 1);
		memcpy(b, f.b, n);
		int rc = dec(b, n, 1, &pk);
		assert_int_equal(rc, DEC_TRUNC);
		assert_non_null(pk.bad_field);
		free(b);
	}
	dec(f.b, 20, 1, &pk);
	assert_string_equal(pk.bad_field, "ip.hdr");
	dec(f.b, 40, 1, &pk);
	assert_string_equal(pk.bad_field, "tcp.hdr");
}

static void tcp_data_offset_below_five_is_invalid(void **s)
{
	struct tframe f;
	struct packet pk;
	(void)s;
	t_tcp(&f, "10.0.0.1", 1, "10.0.0.2", 2, 0, 0, TH_ACK, NULL, 0, 64);
	f.b[34 + 12] = 4 << 4;
	assert_int_equal(dec(f.b, f.n, 1, &pk), DEC_BAD);
	assert_string_equal(pk.bad_field, "tcp.doff");
}

static void ip_length_is_clamped_to_the_capture(void **s)
{
	struct tframe f;
	struct packet pk;
	(void)s;
	t_udp(&f, "10.0.0.1", 1, "10.0.0.2", 53, "abcdef", 6, 64);
	put16(f.b + 16, 60000); /* claims far more than captured */
	assert_int_equal(dec(f.b, f.n, 1, &pk), DEC_OK);
	assert_int_equal(pk.pl_len, 6);
}

static void icmp_unreachable_quotes_the_udp_tuple(void **s)
{
	struct tframe q, f;
	struct packet pk;
	(void)s;
	t_udp(&q, "10.0.0.1", 5555, "10.0.0.53", 53, "12345678", 8, 64);
	u8 icmp[8 + 28] = { 3, 3 };
	memcpy(icmp + 8, q.b + 14, 28);
	u32 o = t_eth_ip4(&f, "10.0.0.53", "10.0.0.1", 1, 64, sizeof icmp);
	memcpy(f.b + o, icmp, sizeof icmp);
	assert_int_equal(dec(f.b, f.n, 1, &pk), DEC_OK);
	assert_int_equal(pk.icmp_type, 3);
	assert_int_equal(pk.icmp_code, 3);
	assert_true(pk.inner.valid);
	assert_int_equal(pk.inner.proto, 17);
	assert_int_equal(pk.inner.sport, 5555);
	assert_int_equal(pk.inner.dport, 53);
}

static void null_loopback_raw_and_sll2_link_types(void **s)
{
	struct tframe f;
	u8 b[4200];
	struct packet pk;
	(void)s;
	t_udp(&f, "127.0.0.1", 1, "127.0.0.1", 53, "q", 1, 64);
	u32 ipn = f.n - 14;
	/* DLT_NULL, family 2 in little-endian */
	b[0] = 2, b[1] = b[2] = b[3] = 0;
	memcpy(b + 4, f.b + 14, ipn);
	assert_int_equal(dec(b, ipn + 4, 0, &pk), DEC_OK);
	assert_int_equal(pk.dport, 53);
	/* raw IP */
	assert_int_equal(dec(f.b + 14, ipn, 101, &pk), DEC_OK);
	assert_int_equal(pk.dport, 53);
	/* SLL2: protocol first, 20 bytes */
	memset(b, 0, 20);
	put16(b, 0x0800);
	memcpy(b + 20, f.b + 14, ipn);
	assert_int_equal(dec(b, ipn + 20, 276, &pk), DEC_OK);
	assert_int_equal(pk.dport, 53);
	/* ARP is not IP */
	put16(f.b + 12, 0x0806);
	assert_int_equal(dec(f.b, f.n, 1, &pk), DEC_UNSUPP);
	assert_false(decode_linktype_supported(9999));
}

/* ---- encapsulations: a frame built from the inside out ---- */

struct bld {
	u8 b[2048];
	u32 off; /* the frame is b[off .. sizeof b) */
};

static void b_init(struct bld *x) { x->off = sizeof x->b; }
static u32 b_len(const struct bld *x) { return (u32)sizeof x->b - x->off; }
static u8 *b_push(struct bld *x, u32 n)
{
	x->off -= n;
	memset(x->b + x->off, 0, n);
	return x->b + x->off;
}
static void b_bytes(struct bld *x, const void *p, u32 n) { memcpy(b_push(x, n), p, n); }
static void b_16(struct bld *x, u16 v) { put16(b_push(x, 2), v); }

static void b_udp(struct bld *x, u16 sp, u16 dp)
{
	u16 n = (u16)(8 + b_len(x));
	u8 *h = b_push(x, 8);
	put16(h, sp), put16(h + 2, dp), put16(h + 4, n);
}

static void b_ip4(struct bld *x, u8 proto, const char *src, const char *dst, u8 ttl)
{
	u16 n = (u16)(20 + b_len(x));
	u8 *h = b_push(x, 20);
	h[0] = 0x45, put16(h + 2, n), h[8] = ttl, h[9] = proto;
	inet_pton(AF_INET, src, h + 12);
	inet_pton(AF_INET, dst, h + 16);
}

static void b_ip6(struct bld *x, u8 nh, const char *src, const char *dst, u8 hlim)
{
	u16 n = (u16)b_len(x);
	u8 *h = b_push(x, 40);
	h[0] = 0x60, put16(h + 4, n), h[6] = nh, h[7] = hlim;
	inet_pton(AF_INET6, src, h + 8);
	inet_pton(AF_INET6, dst, h + 24);
}

/* The type, then the MACs: call b_vlan between the two for tags. */
static void b_eth(struct bld *x, u16 et) { b_16(x, et); }
static void b_vlan(struct bld *x, u16 tpid, u16 vid) { b_16(x, vid), b_16(x, tpid); }
static void b_macs(struct bld *x) { memset(b_push(x, 12), 0x02, 12); }
static void b_ether(struct bld *x, u16 et) { b_eth(x, et), b_macs(x); }

static void b_pppoe(struct bld *x, u16 sid, u16 proto)
{
	b_16(x, proto);
	u16 n = (u16)b_len(x);
	u8 *h = b_push(x, 6);
	h[0] = 0x11, put16(h + 2, sid), put16(h + 4, n);
}

static void b_mpls(struct bld *x, u32 label, int bottom) { put32(b_push(x, 4), label << 12 | (bottom ? 0x100 : 0) | 64); }

static void b_gre(struct bld *x, u16 flags, u16 proto, u32 key, u32 seq)
{
	if (flags & 0x1000)
		put32(b_push(x, 4), seq);
	if (flags & 0x2000)
		put32(b_push(x, 4), key);
	if (flags & 0x8000)
		b_push(x, 4);
	b_16(x, proto);
	b_16(x, flags);
}

static void b_vxlan(struct bld *x, u8 flags, u32 vni)
{
	u8 *h = b_push(x, 8);
	h[0] = flags, put32(h + 4, vni << 8);
}

static void b_geneve(struct bld *x, u8 ver, u8 optwords, u16 proto, u32 vni)
{
	memset(b_push(x, optwords * 4u), 0xab, optwords * 4u);
	u8 *h = b_push(x, 8);
	h[0] = (u8)(ver << 6 | optwords), put16(h + 2, proto), put32(h + 4, vni << 8);
}

/* An inner UDP datagram 10.9.9.1:40000 -> 10.9.9.2:53 with 4 bytes. */
static void b_inner4(struct bld *x)
{
	b_init(x);
	b_bytes(x, "abcd", 4);
	b_udp(x, 40000, 53);
	b_ip4(x, 17, "10.9.9.1", "10.9.9.2", 61);
}

static void b_inner6(struct bld *x)
{
	b_init(x);
	b_bytes(x, "abcd", 4);
	b_udp(x, 40000, 53);
	b_ip6(x, 17, "2001:db8::1", "2001:db8::2", 61);
}

/* Decodes a copy of exactly the frame, so ASan sees any read past it. */
static int b_dec(const struct bld *x, u32 n, int lt, struct packet *pk)
{
	static u8 copy[2048];
	static struct cap_pkt cp;
	memcpy(copy + sizeof copy - n, x->b + x->off, n);
	cp = (struct cap_pkt){ .data = copy + sizeof copy - n, .caplen = n, .len = n, .linktype = lt, .frame = 1 };
	return decode_packet(&cp, pk);
}

/* Every cut of the frame within its first hdr bytes is DEC_TRUNC, named. */
static void b_every_cut_truncated(const struct bld *x, u32 hdr, int lt)
{
	struct packet pk;
	for (u32 n = 0; n < hdr; n++) {
		u8 *c = malloc(n ? n : 1);
		memcpy(c, x->b + x->off, n);
		struct cap_pkt cp = { .data = c, .caplen = n, .len = n, .linktype = lt, .frame = 1 };
		int rc = decode_packet(&cp, &pk);
		free(c);
		if (rc != DEC_TRUNC)
			fail_msg("cut at %u of %u: status %d (%s)", n, hdr, rc, pk.bad_field ? pk.bad_field : "-");
		assert_non_null(pk.bad_field);
	}
}

static void assert_inner4(const struct packet *pk)
{
	char a[ADDR_STRLEN];
	assert_int_equal(pk->ipver, 4);
	assert_string_equal(addr_fmt(&pk->src, a), "10.9.9.1");
	assert_int_equal(pk->sport, 40000);
	assert_int_equal(pk->dport, 53);
	assert_int_equal(pk->ttl, 61);
	assert_int_equal(pk->pl_len, 4);
	assert_memory_equal(pk->pl, "abcd", 4);
	assert_true(pk->l4_ok);
}

static void pppoe_session_carries_ip_and_names_the_rest(void **s)
{
	struct packet pk;
	char n[64];
	(void)s;
	/* QinQ, then a PPPoE session */
	struct bld y;
	b_inner4(&y);
	b_pppoe(&y, 0x0f07, 0x0021);
	b_eth(&y, 0x8864);
	b_vlan(&y, 0x8100, 2474);
	b_vlan(&y, 0x8100, 3704);
	b_macs(&y);
	assert_int_equal(b_dec(&y, b_len(&y), 1, &pk), DEC_OK);
	assert_inner4(&pk);
	assert_int_equal(pk.vlan, 3704);
	assert_int_equal(pk.vlan_tags, 2);
	assert_int_equal(pk.tun.kind, TUN_PPPOE);
	assert_int_equal(pk.tun.depth, 1);
	assert_int_equal(pk.tun.id, 0x0f07);
	assert_true(pk.tun.seen & (1u << TUN_PPP));
	assert_false(pk.tun.has_addr); /* no IP endpoints */
	b_every_cut_truncated(&y, b_len(&y) - 4, 1);
	/* IPv6 inside */
	b_inner6(&y);
	b_pppoe(&y, 17, 0x0057);
	b_ether(&y, 0x8864);
	assert_int_equal(b_dec(&y, b_len(&y), 1, &pk), DEC_OK);
	assert_int_equal(pk.ipver, 6);
	assert_true(pk.ip6_seen);
	/* LCP is counted by name */
	b_init(&y);
	b_bytes(&y, "\x01\x01\x00\x04", 4);
	b_pppoe(&y, 17, 0xc021);
	b_ether(&y, 0x8864);
	assert_int_equal(b_dec(&y, b_len(&y), 1, &pk), DEC_UNSUPP);
	decode_unsupp_name(pk.unsupp, pk.unsupp_val, n, sizeof n);
	assert_string_equal(n, "ppp 0xc021 (LCP)");
	/* a bad version/type is invalid, not truncated */
	y.b[y.off + 14] = 0x12;
	assert_int_equal(b_dec(&y, b_len(&y), 1, &pk), DEC_BAD);
	assert_string_equal(pk.bad_field, "pppoe.vertype");
	/* discovery: counted, named, skipped */
	b_init(&y);
	b_bytes(&y, "\x11\x09\x00\x00\x00\x00", 6);
	b_ether(&y, 0x8863);
	assert_int_equal(b_dec(&y, b_len(&y), 1, &pk), DEC_UNSUPP);
	assert_true(pk.tun.seen & (1u << TUN_PPPOE_DISC));
	decode_unsupp_name(pk.unsupp, pk.unsupp_val, n, sizeof n);
	assert_string_equal(n, "ethertype 0x8863 (PPPoE D)");
}

static void ppp_link_types_with_and_without_framing(void **s)
{
	struct bld x;
	struct packet pk;
	(void)s;
	/* DLT_PPP without HDLC framing: the protocol first */
	b_inner4(&x);
	b_16(&x, 0x0021);
	assert_int_equal(b_dec(&x, b_len(&x), 9, &pk), DEC_OK);
	assert_inner4(&pk);
	assert_false(pk.tun.inner_ip); /* PPP as the link is no encapsulation */
	assert_int_equal(pk.tun.depth, 0);
	assert_true(pk.tun.seen & (1u << TUN_PPP));
	b_every_cut_truncated(&x, b_len(&x) - 4, 9);
	/* with ff 03, and a one-byte (compressed) protocol */
	b_inner4(&x);
	b_bytes(&x, "\xff\x03\x21", 3);
	assert_int_equal(b_dec(&x, b_len(&x), 9, &pk), DEC_OK);
	assert_inner4(&pk);
	/* DLT_PPP_SERIAL: PPP in HDLC framing, or Cisco HDLC */
	b_inner4(&x);
	b_bytes(&x, "\xff\x03\x00\x21", 4);
	assert_int_equal(b_dec(&x, b_len(&x), 50, &pk), DEC_OK);
	assert_inner4(&pk);
	b_inner4(&x);
	b_bytes(&x, "\x0f\x00\x08\x00", 4);
	assert_int_equal(b_dec(&x, b_len(&x), 50, &pk), DEC_OK);
	assert_inner4(&pk);
	/* DLT_PPP_ETHER: a PPPoE header, no Ethernet */
	b_inner4(&x);
	b_pppoe(&x, 5, 0x0021);
	assert_int_equal(b_dec(&x, b_len(&x), 51, &pk), DEC_OK);
	assert_inner4(&pk);
	assert_int_equal(pk.tun.kind, TUN_PPPOE);
	/* DLT_PPP_WITH_DIR: a direction byte first */
	b_inner4(&x);
	b_bytes(&x, "\x01\xff\x03\x00\x21", 5);
	assert_int_equal(b_dec(&x, b_len(&x), 204, &pk), DEC_OK);
	assert_inner4(&pk);
	assert_true(decode_linktype_supported(9) && decode_linktype_supported(50) &&
	            decode_linktype_supported(51) && decode_linktype_supported(204));
}

static void mpls_stacks_and_their_guessed_payload(void **s)
{
	struct bld x;
	struct packet pk;
	char n[64];
	(void)s;
	b_inner4(&x);
	b_mpls(&x, 99, 1);
	b_mpls(&x, 254, 0);
	b_ether(&x, 0x8847);
	assert_int_equal(b_dec(&x, b_len(&x), 1, &pk), DEC_OK);
	assert_inner4(&pk);
	assert_int_equal(pk.tun.kind, TUN_MPLS);
	assert_int_equal(pk.tun.id, 254); /* the top label */
	b_every_cut_truncated(&x, b_len(&x) - 4, 1);
	/* IPv6 by its nibble, and by the IPv6 explicit null label */
	b_inner6(&x);
	b_mpls(&x, 16106, 1);
	b_ether(&x, 0x8847);
	assert_int_equal(b_dec(&x, b_len(&x), 1, &pk), DEC_OK);
	assert_int_equal(pk.ipver, 6);
	/* a payload that is no IP: named by its first byte */
	b_init(&x);
	b_bytes(&x, "\x00\x00\x00\x00", 4);
	b_mpls(&x, 7, 1);
	b_ether(&x, 0x8848);
	assert_int_equal(b_dec(&x, b_len(&x), 1, &pk), DEC_UNSUPP);
	decode_unsupp_name(pk.unsupp, pk.unsupp_val, n, sizeof n);
	assert_string_equal(n, "mpls payload 0x00");
	/* no bottom of stack within the bound: invalid */
	b_inner4(&x);
	for (int i = 0; i < 9; i++)
		b_mpls(&x, 16 + (u32)i, 0);
	b_ether(&x, 0x8847);
	assert_int_equal(b_dec(&x, b_len(&x), 1, &pk), DEC_BAD);
	assert_string_equal(pk.bad_field, "mpls.stack");
}

static void vlan_stacks_any_tpid_bounded(void **s)
{
	struct bld x;
	struct packet pk;
	(void)s;
	b_inner4(&x);
	b_eth(&x, 0x0800);
	b_vlan(&x, 0x8100, 30);
	b_vlan(&x, 0x9100, 20);
	b_vlan(&x, 0x88a8, 10);
	b_macs(&x);
	assert_int_equal(b_dec(&x, b_len(&x), 1, &pk), DEC_OK);
	assert_int_equal(pk.vlan, 10);
	assert_int_equal(pk.vlan_tags, 3);
	assert_int_equal(pk.tun.depth, 0);
	b_inner4(&x);
	b_eth(&x, 0x0800);
	for (int i = 0; i < 9; i++)
		b_vlan(&x, 0x8100, (u16)i);
	b_macs(&x);
	assert_int_equal(b_dec(&x, b_len(&x), 1, &pk), DEC_BAD);
	assert_string_equal(pk.bad_field, "vlan.depth");
}

static void ip_in_ip_four_ways_keeps_the_outer_endpoints(void **s)
{
	struct bld x;
	struct packet pk;
	char a[ADDR_STRLEN];
	(void)s;
	b_inner4(&x);
	b_ip4(&x, 4, "1.2.3.4", "5.6.7.8", 200);
	b_ether(&x, 0x0800);
	assert_int_equal(b_dec(&x, b_len(&x), 1, &pk), DEC_OK);
	assert_inner4(&pk); /* the inner TTL, 61, not the outer 200 */
	assert_int_equal(pk.tun.kind, TUN_IPIP);
	assert_true(pk.tun.inner_ip);
	assert_string_equal(addr_fmt(&pk.tun.src, a), "1.2.3.4");
	assert_string_equal(addr_fmt(&pk.tun.dst, a), "5.6.7.8");
	b_every_cut_truncated(&x, b_len(&x) - 4, 1);
	b_inner6(&x);
	b_ip4(&x, 41, "1.2.3.4", "5.6.7.8", 200);
	b_ether(&x, 0x0800);
	assert_int_equal(b_dec(&x, b_len(&x), 1, &pk), DEC_OK);
	assert_int_equal(pk.tun.kind, TUN_6IN4);
	assert_int_equal(pk.ipver, 6);
	assert_int_equal(pk.dport, 53);
	b_inner4(&x);
	b_ip6(&x, 4, "2002::1", "2001:db8::68", 200);
	b_ether(&x, 0x86dd);
	assert_int_equal(b_dec(&x, b_len(&x), 1, &pk), DEC_OK);
	assert_inner4(&pk);
	assert_int_equal(pk.tun.kind, TUN_4IN6);
	assert_true(pk.ip6_seen); /* the outer header counts as an IPv6 frame */
	assert_string_equal(addr_fmt(&pk.tun.src, a), "2002::1");
	b_inner6(&x);
	b_ip6(&x, 41, "2002::1", "2001:db8::68", 200);
	b_ether(&x, 0x86dd);
	assert_int_equal(b_dec(&x, b_len(&x), 1, &pk), DEC_OK);
	assert_int_equal(pk.tun.kind, TUN_6IN6);
	assert_int_equal(pk.ttl, 61);
	/* a first fragment's tunnel is left whole: its inner packet is cut */
	b_inner4(&x);
	b_ip4(&x, 4, "1.2.3.4", "5.6.7.8", 200);
	b_ether(&x, 0x0800);
	x.b[x.off + 14 + 6] = 0x20; /* more fragments */
	assert_int_equal(b_dec(&x, b_len(&x), 1, &pk), DEC_OK);
	assert_int_equal(pk.proto, 4);
	assert_int_equal(pk.tun.depth, 0);
}

static void gre_flags_keys_bridging_pptp_and_erspan(void **s)
{
	struct bld x;
	struct packet pk;
	char n[64];
	(void)s;
	/* checksum, key and sequence number present (RFC 2890) */
	b_inner4(&x);
	b_gre(&x, 0xb000, 0x0800, 0x01020304, 7);
	b_ip4(&x, 47, "172.27.1.66", "66.59.109.137", 200);
	b_ether(&x, 0x0800);
	assert_int_equal(b_dec(&x, b_len(&x), 1, &pk), DEC_OK);
	assert_inner4(&pk);
	assert_int_equal(pk.tun.kind, TUN_GRE);
	assert_true(pk.tun.has_id);
	assert_int_equal(pk.tun.id, 0x01020304);
	b_every_cut_truncated(&x, b_len(&x) - 4, 1);
	/* transparent Ethernet bridging, with a VLAN tag inside */
	b_inner4(&x);
	b_eth(&x, 0x0800);
	b_vlan(&x, 0x8100, 42);
	b_macs(&x);
	b_gre(&x, 0, 0x6558, 0, 0);
	b_ip4(&x, 47, "172.27.1.66", "66.59.109.137", 200);
	b_ether(&x, 0x0800);
	assert_int_equal(b_dec(&x, b_len(&x), 1, &pk), DEC_OK);
	assert_inner4(&pk);
	assert_int_equal(pk.vlan, 42);
	assert_false(pk.tun.has_id);
	/* GRE in GRE */
	b_inner4(&x);
	b_gre(&x, 0, 0x0800, 0, 0);
	b_ip4(&x, 47, "10.0.0.1", "10.0.0.2", 100);
	b_gre(&x, 0, 0x0800, 0, 0);
	b_ip4(&x, 47, "172.27.1.66", "66.59.109.137", 200);
	b_ether(&x, 0x0800);
	assert_int_equal(b_dec(&x, b_len(&x), 1, &pk), DEC_OK);
	assert_inner4(&pk);
	assert_int_equal(pk.tun.depth, 2);
	/* PPTP: enhanced GRE, version 1, PPP inside, in IPv6 */
	b_inner4(&x);
	b_bytes(&x, "\xff\x03\x00\x21", 4);
	{
		u16 plen = (u16)b_len(&x);
		put32(b_push(&x, 4), 9); /* sequence */
		u8 *h = b_push(&x, 8);
		put16(h, 0x3001), put16(h + 2, 0x880b), put16(h + 4, plen), put16(h + 6, 0x4242);
	}
	b_ip4(&x, 47, "16.0.0.200", "192.52.166.154", 200);
	b_ip6(&x, 4, "2402::5555", "2607::2a6b", 50);
	b_ether(&x, 0x86dd);
	assert_int_equal(b_dec(&x, b_len(&x), 1, &pk), DEC_OK);
	assert_inner4(&pk);
	assert_int_equal(pk.tun.kind, TUN_4IN6);
	assert_int_equal(pk.tun.kinds[1], TUN_GRE);
	assert_true(pk.tun.seen & (1u << TUN_PPP));
	/* PPTP's acknowledgment alone carries nothing: the GRE packet stays */
	b_init(&x);
	{
		u8 *h = b_push(&x, 12);
		put16(h, 0x2081), put16(h + 2, 0x880b), put16(h + 6, 0x4242), put32(h + 8, 5);
	}
	b_ip4(&x, 47, "16.0.0.200", "192.52.166.154", 200);
	b_ether(&x, 0x0800);
	assert_int_equal(b_dec(&x, b_len(&x), 1, &pk), DEC_OK);
	assert_int_equal(pk.proto, 47);
	assert_int_equal(pk.tun.depth, 0);
	/* GRE-in-UDP (RFC 8086) */
	b_inner4(&x);
	b_gre(&x, 0, 0x0800, 0, 0);
	b_udp(&x, 33333, 4754);
	b_ip4(&x, 17, "192.168.0.107", "192.168.5.1", 64);
	b_ether(&x, 0x0800);
	assert_int_equal(b_dec(&x, b_len(&x), 1, &pk), DEC_OK);
	assert_inner4(&pk);
	assert_int_equal(pk.tun.kind, TUN_GRE);
	/* ERSPAN is counted by name, and an unknown version is invalid */
	b_init(&x);
	b_bytes(&x, "\x10\x00\x00\x01\x00\x00\x00\x00", 8);
	b_gre(&x, 0x1000, 0x88be, 0, 1);
	b_ip4(&x, 47, "10.0.0.1", "10.0.0.2", 64);
	b_ether(&x, 0x0800);
	assert_int_equal(b_dec(&x, b_len(&x), 1, &pk), DEC_UNSUPP);
	decode_unsupp_name(pk.unsupp, pk.unsupp_val, n, sizeof n);
	assert_string_equal(n, "gre 0x88be (ERSPAN)");
	x.b[x.off + 34 + 1] = 0x02; /* version 2 */
	assert_int_equal(b_dec(&x, b_len(&x), 1, &pk), DEC_BAD);
	assert_string_equal(pk.bad_field, "gre.version");
}

static void vxlan_and_geneve_by_port_and_header(void **s)
{
	struct bld x;
	struct packet pk;
	(void)s;
	b_inner4(&x);
	b_ether(&x, 0x0800);
	b_vxlan(&x, 0x08, 1234);
	b_udp(&x, 50000, 4789);
	b_ip4(&x, 17, "10.1.200.131", "10.1.1.172", 64);
	b_ether(&x, 0x0800);
	assert_int_equal(b_dec(&x, b_len(&x), 1, &pk), DEC_OK);
	assert_inner4(&pk);
	assert_int_equal(pk.tun.kind, TUN_VXLAN);
	assert_int_equal(pk.tun.id, 1234);
	assert_true(pk.tun.inner_ip);
	b_every_cut_truncated(&x, b_len(&x) - 4, 1);
	/* without the I flag it is plain UDP on port 4789 */
	x.b[x.off + 42] = 0;
	assert_int_equal(b_dec(&x, b_len(&x), 1, &pk), DEC_OK);
	assert_int_equal(pk.dport, 4789);
	assert_int_equal(pk.tun.depth, 0);
	/* Geneve with two words of options, Ethernet inside */
	b_inner4(&x);
	b_ether(&x, 0x0800);
	b_geneve(&x, 0, 2, 0x6558, 4242);
	b_udp(&x, 47101, 6081);
	b_ip4(&x, 17, "127.0.0.1", "127.0.0.1", 64);
	b_ether(&x, 0x0800);
	assert_int_equal(b_dec(&x, b_len(&x), 1, &pk), DEC_OK);
	assert_inner4(&pk);
	assert_int_equal(pk.tun.kind, TUN_GENEVE);
	assert_int_equal(pk.tun.id, 4242);
	b_every_cut_truncated(&x, b_len(&x) - 4, 1);
	/* options longer than the packet: truncated, named */
	x.b[x.off + 42] = 0x3f;
	assert_int_equal(b_dec(&x, b_len(&x), 1, &pk), DEC_TRUNC);
	assert_string_equal(pk.bad_field, "geneve.options");
	x.b[x.off + 42] = 0x42; /* version 1 */
	assert_int_equal(b_dec(&x, b_len(&x), 1, &pk), DEC_BAD);
	assert_string_equal(pk.bad_field, "geneve.version");
	/* Geneve carrying IPv4 directly, then VXLAN: two deep */
	b_inner4(&x);
	b_ether(&x, 0x0800);
	b_vxlan(&x, 0x08, 4242);
	b_udp(&x, 1, 4789);
	b_ip4(&x, 17, "10.0.0.1", "10.0.0.2", 64);
	b_geneve(&x, 0, 0, 0x0800, 4242);
	b_udp(&x, 2, 6081);
	b_ip4(&x, 17, "10.5.0.1", "10.5.0.2", 64);
	b_ether(&x, 0x0800);
	assert_int_equal(b_dec(&x, b_len(&x), 1, &pk), DEC_OK);
	assert_inner4(&pk);
	assert_int_equal(pk.tun.depth, 2);
	assert_int_equal(pk.tun.kinds[1], TUN_VXLAN);
	char a[ADDR_STRLEN];
	assert_string_equal(addr_fmt(&pk.tun.src, a), "10.5.0.1"); /* the outermost */
}

static void teredo_with_indicators_or_plain_udp(void **s)
{
	struct bld x;
	struct packet pk;
	(void)s;
	/* origin indication, then IPv6 */
	b_inner6(&x);
	b_bytes(&x, "\x00\x00\xf4\x5b\x9c\x55\xf3\xa0", 8);
	b_udp(&x, 3544, 50000);
	b_ip4(&x, 17, "65.55.158.80", "192.168.1.64", 64);
	b_ether(&x, 0x0800);
	assert_int_equal(b_dec(&x, b_len(&x), 1, &pk), DEC_OK);
	assert_int_equal(pk.ipver, 6);
	assert_int_equal(pk.dport, 53);
	assert_int_equal(pk.tun.kind, TUN_TEREDO);
	/* authentication indication (id 2, auth 3 bytes), then IPv6 */
	b_inner6(&x);
	b_bytes(&x, "\x00\x01\x02\x03" "ab" "xyz" "nonce..." "\x00", 4 + 2 + 3 + 8 + 1);
	b_udp(&x, 50000, 3544);
	b_ip4(&x, 17, "192.168.1.64", "65.55.158.80", 64);
	b_ether(&x, 0x0800);
	assert_int_equal(b_dec(&x, b_len(&x), 1, &pk), DEC_OK);
	assert_int_equal(pk.tun.kind, TUN_TEREDO);
	assert_int_equal(pk.ipver, 6);
	/* an IPv6 length that is not the datagram's: plain UDP */
	b_init(&x);
	b_bytes(&x, "zz", 2); /* trailing bytes after the IPv6 packet */
	b_bytes(&x, "abcd", 4);
	b_udp(&x, 40000, 53);
	b_ip6(&x, 17, "2001:db8::1", "2001:db8::2", 61);
	put16(x.b + x.off + 4, 12); /* its own length, without the trailer */
	b_udp(&x, 3544, 50000);
	b_ip4(&x, 17, "65.55.158.80", "192.168.1.64", 64);
	b_ether(&x, 0x0800);
	assert_int_equal(b_dec(&x, b_len(&x), 1, &pk), DEC_OK);
	assert_int_equal(pk.ipver, 4);
	assert_int_equal(pk.sport, 3544);
	assert_int_equal(pk.tun.depth, 0);
	/* DNS on the port is plain UDP too */
	b_init(&x);
	b_bytes(&x, "\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00", 12);
	b_udp(&x, 3544, 53);
	b_ip4(&x, 17, "10.0.0.1", "10.0.0.2", 64);
	b_ether(&x, 0x0800);
	assert_int_equal(b_dec(&x, b_len(&x), 1, &pk), DEC_OK);
	assert_int_equal(pk.dport, 53);
	assert_int_equal(pk.tun.depth, 0);
}

static void gtpu_gpdu_with_sequence_and_extensions(void **s)
{
	struct bld x;
	struct packet pk;
	(void)s;
	/* flags 0x36: E and S; a PDU session container extension (1 word) */
	b_inner4(&x);
	{
		u16 n = (u16)(b_len(&x) + 4 + 4);
		u8 *h = b_push(&x, 8 + 4 + 4);
		h[0] = 0x36, h[1] = 0xff, put16(h + 2, n), put32(h + 4, 0x760d3bb0);
		h[11] = 0x85;                    /* next extension type */
		h[12] = 1, h[13] = 0x10, h[15] = 0; /* 1 word, no next */
	}
	b_udp(&x, 5906, 2152);
	b_ip4(&x, 17, "10.0.0.1", "10.0.0.2", 64);
	b_ether(&x, 0x0800);
	assert_int_equal(b_dec(&x, b_len(&x), 1, &pk), DEC_OK);
	assert_inner4(&pk);
	assert_int_equal(pk.tun.kind, TUN_GTPU);
	assert_int_equal(pk.tun.id, 0x760d3bb0);
	b_every_cut_truncated(&x, b_len(&x) - 4, 1);
	/* an extension of length 0 is invalid */
	x.b[x.off + 42 + 12] = 0;
	assert_int_equal(b_dec(&x, b_len(&x), 1, &pk), DEC_BAD);
	assert_string_equal(pk.bad_field, "gtp.ext.len");
	/* an echo request is no G-PDU: plain UDP */
	b_init(&x);
	b_bytes(&x, "\x32\x01\x00\x04\x00\x00\x00\x00\x00\x01\x00\x00", 12);
	b_udp(&x, 2152, 2152);
	b_ip4(&x, 17, "10.0.0.1", "10.0.0.2", 64);
	b_ether(&x, 0x0800);
	assert_int_equal(b_dec(&x, b_len(&x), 1, &pk), DEC_OK);
	assert_int_equal(pk.dport, 2152);
	assert_int_equal(pk.tun.depth, 0);
}

static void nesting_is_bounded_and_unknowns_named(void **s)
{
	struct bld x;
	struct packet pk;
	char n[64];
	(void)s;
	b_inner4(&x);
	for (int d = 0; d < TUN_DEPTH_MAX; d++)
		b_ip4(&x, 4, "10.0.0.1", "10.0.0.2", 64);
	b_ether(&x, 0x0800);
	assert_int_equal(b_dec(&x, b_len(&x), 1, &pk), DEC_OK);
	assert_int_equal(pk.tun.depth, TUN_DEPTH_MAX);
	assert_inner4(&pk);
	x.off += 14;
	b_ip4(&x, 4, "10.0.0.1", "10.0.0.2", 64);
	b_ether(&x, 0x0800);
	assert_int_equal(b_dec(&x, b_len(&x), 1, &pk), DEC_UNSUPP);
	assert_string_equal(pk.bad_field, "tunnel.depth");
	decode_unsupp_name(pk.unsupp, pk.unsupp_val, n, sizeof n);
	assert_string_equal(n, "encapsulations deeper than 4");
	decode_unsupp_name(UNS_ETHERTYPE, 0x88cc, n, sizeof n);
	assert_string_equal(n, "ethertype 0x88cc (LLDP)");
	decode_unsupp_name(UNS_ETHERTYPE, 0x1234, n, sizeof n);
	assert_string_equal(n, "ethertype 0x1234");
	decode_unsupp_name(UNS_LINKTYPE, 147, n, sizeof n);
	assert_string_equal(n, "linktype 147");
	assert_string_equal(decode_tunnel_name(TUN_6IN4), "6in4");
	assert_string_equal(decode_tunnel_name(99), "none");
	/* an unknown link type is named by its number */
	u8 b[4] = { 0 };
	struct cap_pkt cp = { .data = b, .caplen = 4, .len = 4, .linktype = 147 };
	assert_int_equal(decode_packet(&cp, &pk), DEC_UNSUPP);
	assert_int_equal(pk.unsupp, UNS_LINKTYPE);
	assert_int_equal(pk.unsupp_val, 147);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(eth_ipv4_tcp_fields_are_read),
		cmocka_unit_test(qinq_tags_are_skipped_and_outer_vlan_kept),
		cmocka_unit_test(ipv4_options_shift_the_transport_header),
		cmocka_unit_test(ipv6_extension_headers_and_fragment_are_followed),
		cmocka_unit_test(every_truncation_is_reported_never_read_past),
		cmocka_unit_test(tcp_data_offset_below_five_is_invalid),
		cmocka_unit_test(ip_length_is_clamped_to_the_capture),
		cmocka_unit_test(icmp_unreachable_quotes_the_udp_tuple),
		cmocka_unit_test(null_loopback_raw_and_sll2_link_types),
		cmocka_unit_test(pppoe_session_carries_ip_and_names_the_rest),
		cmocka_unit_test(ppp_link_types_with_and_without_framing),
		cmocka_unit_test(mpls_stacks_and_their_guessed_payload),
		cmocka_unit_test(vlan_stacks_any_tpid_bounded),
		cmocka_unit_test(ip_in_ip_four_ways_keeps_the_outer_endpoints),
		cmocka_unit_test(gre_flags_keys_bridging_pptp_and_erspan),
		cmocka_unit_test(vxlan_and_geneve_by_port_and_header),
		cmocka_unit_test(teredo_with_indicators_or_plain_udp),
		cmocka_unit_test(gtpu_gpdu_with_sequence_and_extensions),
		cmocka_unit_test(nesting_is_bounded_and_unknowns_named),
	};
	return cmocka_run_group_tests_name("decode", tests, NULL, NULL);
}
