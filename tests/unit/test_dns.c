/* \summary: dns: rcode findings with their evidence, retransmissions,
 * timeouts only once due, injection races, bogus answers, DNS over TCP
 * split across segments, and hostile messages. */
#include "testutil.h"

#define CLI "192.168.1.10"
#define RES "192.168.1.1"
#define T0 1700000000000000ull

static void query(u16 id, const char *name, u16 port, u64 at)
{
	u8 m[512];
	struct tframe f;
	u32 n = t_dns(m, id, 0, 0, name, 1, NULL, 0);
	t_udp(&f, CLI, port, RES, 53, m, n, 64);
	t_feed(&f, at);
}

static void answer(u16 id, const char *name, u8 rcode, const char *addr, u16 port, u64 at)
{
	u8 m[512];
	struct tframe f;
	const char *a[1] = { addr };
	u32 n = t_dns(m, id, 1, rcode, name, 1, a, addr ? 1 : 0);
	t_udp(&f, RES, 53, CLI, port, m, n, 64);
	t_feed(&f, at);
}

static void nxdomain_is_one_finding_with_response_then_query(void **s)
{
	(void)s;
	query(1, "nope.spotify.com", 40000, T0);
	answer(1, "nope.spotify.com", 3, NULL, 40000, T0 + 1000);
	pipeline_file_end();
	const struct finding *f = t_find(K_NXDOMAIN, 0);
	assert_non_null(f);
	assert_int_equal(t_count(K_NXDOMAIN), 1);
	assert_int_equal(f->frame, 2);
	assert_int_equal(f->n_ev, 2);
	assert_int_equal(f->ev[1], 1);
	assert_string_equal(f->name, "nope.spotify.com");
	assert_string_equal(f->group, "spotify");
	assert_int_equal(json_integer_value(json_object_get(f->detail, "rcode")), 3);
	const struct group_stats *g = findings_group_find("spotify");
	assert_non_null(g);
	assert_int_equal(g->seen[CAT_DNS], 1);
	assert_int_equal(g->failed[CAT_DNS], 1);
}

static void odd_bytes_in_a_name_are_escaped_as_ldns_prints_them(void **s)
{
	(void)s;
	query(2, "a;b.x\x07y.(z).spotify.com", 40002, T0);
	answer(2, "a;b.x\x07y.(z).spotify.com", 3, NULL, 40002, T0 + 1000);
	pipeline_file_end();
	const struct finding *f = t_find(K_NXDOMAIN, 0);
	assert_non_null(f);
	/* ldns's escapes (\; \DDD \( \)), whose backslash the display
	 * escaping writes as \x5c, once. */
	assert_string_equal(f->name, "a\\x5c;b.x\\x5c007y.\\x5c(z\\x5c).spotify.com");
	assert_string_equal(f->group, "spotify");
}

static void retransmitted_query_answered_servfail_counts_once(void **s)
{
	(void)s;
	query(7, "www.netflix.com", 40001, T0);
	query(7, "www.netflix.com", 40001, T0 + 2000000);
	answer(7, "www.netflix.com", 2, NULL, 40001, T0 + 3000000);
	answer(7, "www.netflix.com", 2, NULL, 40001, T0 + 3000100);
	pipeline_file_end();
	assert_int_equal(t_count(K_SERVFAIL), 1);
	assert_int_equal(t_count(K_DNS_INJECTION), 0); /* the same answer twice is no race */
	assert_int_equal(t_find(K_SERVFAIL, 0)->n_ev, 3);
}

static void unanswered_query_times_out_only_when_due(void **s)
{
	(void)s;
	query(9, "discord.com", 40002, T0);
	query(10, "discord.gg", 40003, T0 + 20000000); /* too close to the end */
	answer(11, "other.example", 0, "192.0.2.1", 40009, T0 + 21000000);
	pipeline_file_end();
	assert_int_equal(t_count(K_DNS_TIMEOUT), 1);
	const struct finding *f = t_find(K_DNS_TIMEOUT, 0);
	assert_int_equal(f->frame, 1);
	assert_int_equal(f->ts_us, T0 + g_opts.dns_timeout_us);
}

static void two_differing_answers_are_an_injection(void **s)
{
	(void)s;
	query(5, "www.netflix.com", 40004, T0);
	answer(5, "www.netflix.com", 0, "198.51.100.66", 40004, T0 + 500);
	answer(5, "www.netflix.com", 0, "198.51.100.20", 40004, T0 + 150000);
	pipeline_file_end();
	const struct finding *f = t_find(K_DNS_INJECTION, 0);
	assert_non_null(f);
	assert_int_equal(f->origin, O_ONPATH);
	json_t *ans = json_object_get(f->detail, "answers");
	assert_int_equal(json_array_size(ans), 2);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(ans, 1), "frame")), 3);
}

static void public_name_answered_with_private_address_is_bogus(void **s)
{
	(void)s;
	query(6, "open.spotify.com", 40005, T0);
	answer(6, "open.spotify.com", 0, "10.1.2.3", 40005, T0 + 500);
	query(8, "printer.local", 40006, T0 + 1000);
	answer(8, "printer.local", 0, "192.168.1.5", 40006, T0 + 1500);
	pipeline_file_end();
	assert_int_equal(t_count(K_DNS_BOGUS_ANSWER), 1);
	assert_string_equal(t_find(K_DNS_BOGUS_ANSWER, 0)->name, "open.spotify.com");
}

static void answers_teach_the_address_map(void **s)
{
	struct addr a;
	(void)s;
	query(12, "open.spotify.com", 40007, T0);
	answer(12, "open.spotify.com", 0, "198.51.100.10", 40007, T0 + 500);
	addr_parse("198.51.100.10", &a);
	assert_string_equal(names_get(services_name_of_addr(&a)), "open.spotify.com");
}

static void dns_over_tcp_split_across_segments(void **s)
{
	u8 m[600], stream[602];
	struct tframe f;
	(void)s;
	t_tcp(&f, CLI, 41000, RES, 53, 100, 0, TH_SYN, NULL, 0, 64);
	t_feed(&f, T0);
	t_tcp(&f, RES, 53, CLI, 41000, 500, 101, TH_SYN | TH_ACK, NULL, 0, 64);
	t_feed(&f, T0 + 10);
	u32 n = t_dns(m, 77, 0, 0, "www.youtube.com", 1, NULL, 0);
	put16(stream, (u16)n);
	memcpy(stream + 2, m, n);
	t_tcp(&f, CLI, 41000, RES, 53, 101, 501, TH_ACK | TH_PSH, stream, n + 2, 64);
	t_feed(&f, T0 + 20);
	n = t_dns(m, 77, 1, 3, "www.youtube.com", 1, NULL, 0);
	put16(stream, (u16)n);
	memcpy(stream + 2, m, n);
	t_tcp(&f, RES, 53, CLI, 41000, 501, 101 + n + 2, TH_ACK, stream, 5, 64);
	t_feed(&f, T0 + 30);
	t_tcp(&f, RES, 53, CLI, 41000, 506, 101 + n + 2, TH_ACK, stream + 5, n + 2 - 5, 64);
	t_feed(&f, T0 + 40);
	pipeline_file_end();
	assert_int_equal(t_count(K_NXDOMAIN), 1);
	assert_int_equal(t_find(K_NXDOMAIN, 0)->frame, 5);
	assert_int_equal(t_find(K_NXDOMAIN, 0)->proto, 6);
}

static void many_large_answers_to_no_query_are_one_reflection(void **s)
{
	u8 m[1400];
	struct tframe f;
	char res[32];
	const char *addrs[80];
	(void)s;
	for (int i = 0; i < 80; i++)
		addrs[i] = "192.0.2.7";
	u32 n = t_dns(m, 1, 1, 0, "isc.org", 255, addrs, 80); /* about 1 KB */
	for (int i = 0; i < 60; i++) {
		snprintf(res, sizeof res, "203.0.113.%d", 1 + i % 30);
		put16(m, (u16)(1000 + i));
		t_udp(&f, res, 53, CLI, (u16)(20000 + i), m, n, 50);
		t_feed(&f, T0 + (u64)i * 1000);
	}
	pipeline_file_end();
	assert_int_equal(t_count(K_DNS_REFLECTION), 1);
	const struct finding *r = t_find(K_DNS_REFLECTION, 0);
	assert_int_equal(json_integer_value(json_object_get(r->detail, "count")), 60);
	assert_int_equal(r->frame, 1);
}

static void hostile_messages_do_not_crash(void **s)
{
	u8 m[512];
	struct tframe f;
	(void)s;
	/* A name that points at itself, and counts far beyond the data. */
	memset(m, 0, sizeof m);
	put16(m, 3);
	put16(m + 2, 0x8183);
	put16(m + 4, 0xffff);
	put16(m + 6, 0xffff);
	m[12] = 0xc0, m[13] = 12;
	t_udp(&f, RES, 53, CLI, 40010, m, 20, 64);
	t_feed(&f, T0);
	for (u32 len = 0; len < 40; len++) {
		for (u32 i = 0; i < len; i++)
			m[i] = (u8)(i * 37 + len);
		t_udp(&f, CLI, (u16)(40100 + len), RES, 53, m, len, 64);
		t_feed(&f, T0 + len);
	}
	pipeline_file_end();
	assert_true(dns_stats()->parse_errors > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(nxdomain_is_one_finding_with_response_then_query, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(odd_bytes_in_a_name_are_escaped_as_ldns_prints_them, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(retransmitted_query_answered_servfail_counts_once, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(unanswered_query_times_out_only_when_due, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(two_differing_answers_are_an_injection, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(public_name_answered_with_private_address_is_bogus, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(answers_teach_the_address_map, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(dns_over_tcp_split_across_segments, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(many_large_answers_to_no_query_are_one_reflection, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(hostile_messages_do_not_crash, t_setup, t_teardown),
	};
	return cmocka_run_group_tests_name("dns", tests, NULL, NULL);
}
