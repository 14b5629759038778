/* \summary: decode: link types, VLANs, IPv4 options, IPv6 extension headers,
 * fragments, ICMP quotes, and truncated or invalid headers named by field. */
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
	};
	return cmocka_run_group_tests_name("decode", tests, NULL, NULL);
}
