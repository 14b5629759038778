/* \summary: dns: rcode findings with their evidence, retransmissions,
 * timeouts only once due, the client giving up and many round trips,
 * injection races, answers that point nowhere (held for a handshake's
 * word, judged by who gave them), reflection that fails no service, the
 * address map's names per client and time, DNS over TCP split across
 * segments, and hostile messages. */
#include "testutil.h"

#define CLI "192.168.1.10"
#define CLI2 "192.168.1.11"
#define RES "192.168.1.1"      /* the LAN's resolver: in the clients' subnet */
#define FAR "198.51.100.53"    /* a resolver beyond the LAN */
#define T0 1700000000000000ull
#define MS 1000ull
#define SEC 1000000ull

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

/* A query of qtype from cli to res, and an answer (A records, or none)
 * sent with IP TTL ttl. */
static void q_at(const char *cli, const char *res, u16 id, const char *name, u16 qtype, u16 port,
                 u64 at)
{
	u8 m[512];
	struct tframe f;
	u32 n = t_dns(m, id, 0, 0, name, qtype, NULL, 0);
	t_udp(&f, cli, port, res, 53, m, n, 64);
	t_feed(&f, at);
}

static void a_at(const char *res, const char *cli, u16 id, const char *name, u8 rcode,
                 const char *addr, u16 port, u8 ttl, u64 at)
{
	u8 m[512];
	struct tframe f;
	const char *a[1] = { addr };
	u32 n = t_dns(m, id, 1, rcode, name, 1, a, addr ? 1 : 0);
	t_udp(&f, res, 53, cli, port, m, n, ttl);
	t_feed(&f, at);
}

/* A packet of nobody's exchange: the capture goes on until at. */
static void tick(u64 at)
{
	struct tframe f;
	t_udp(&f, "192.168.1.99", 5000, "192.168.1.98", 5001, "x", 1, 64);
	t_feed(&f, at);
}

static const char *dstr(const struct finding *f, const char *key)
{
	json_t *v = json_object_get(t_detail(f), key);
	return v ? json_string_value(v) : NULL;
}

static u32 dns_failed(const char *group, u32 *seen)
{
	const struct group_stats *g = findings_group_find(group);
	*seen = g ? g->seen[CAT_DNS] : 0;
	return g ? g->failed[CAT_DNS] : 0;
}

static void vouch(const char *addr, const char *name, int ok, u32 frame)
{
	struct addr a;
	assert_int_equal(addr_parse(addr, &a), 0);
	services_vouch(&a, names_intern(name), ok, frame);
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
	assert_int_equal(json_integer_value(json_object_get(t_detail(f), "rcode")), 3);
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
	json_t *ans = json_object_get(t_detail(f), "answers");
	assert_int_equal(json_array_size(ans), 2);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(ans, 1), "frame")), 3);
	/* Both answers were checked; the second one showed the race. */
	assert_int_equal(findings_checks(0)[AC_DNS_ANSWERS], 2);
	assert_int_equal(findings_checks(1)[AC_DNS_ANSWERS], 1);
	const struct group_stats *g = findings_group_find("netflix");
	assert_int_equal(g->found[AC_DNS_ANSWERS], 1);
}

static void private_answer_from_beyond_the_lan_with_no_handshake_is_tampering(void **s)
{
	u32 seen;
	(void)s;
	q_at(CLI, FAR, 6, "open.spotify.com", 1, 40005, T0);
	a_at(FAR, CLI, 6, "open.spotify.com", 0, "10.1.2.3", 40005, 58, T0 + 20 * MS);
	q_at(CLI, FAR, 8, "printer.local", 1, 40006, T0 + 30 * MS);
	a_at(FAR, CLI, 8, "printer.local", 0, "192.168.1.5", 40006, 58, T0 + 40 * MS);
	pipeline_file_end();
	assert_int_equal(t_count(K_DNS_BOGUS_ANSWER), 1); /* not the local name */
	const struct finding *f = t_find(K_DNS_BOGUS_ANSWER, 0);
	assert_string_equal(f->name, "open.spotify.com");
	assert_string_equal(dstr(f, "reason"), "private_unconfirmed");
	assert_int_equal(f->origin, O_RESOLVER);
	assert_false(json_is_true(json_object_get(t_detail(f), "resolver_local")));
	assert_int_equal(f->frame, 2);
	assert_int_equal(dns_failed("spotify", &seen), 1);
	assert_int_equal(seen, 1);
	/* Two answers checked, one of them pointing nowhere. */
	assert_int_equal(findings_checks(0)[AC_DNS_ANSWERS], 2);
	assert_int_equal(findings_checks(1)[AC_DNS_ANSWERS], 1);
}

static void private_answer_a_later_handshake_vouches_for_is_no_finding(void **s)
{
	u32 seen;
	(void)s;
	q_at(CLI, FAR, 6, "open.spotify.com", 1, 40005, T0);
	a_at(FAR, CLI, 6, "open.spotify.com", 0, "10.1.2.3", 40005, 58, T0 + 20 * MS);
	tick(T0 + 20 * SEC); /* the transaction is over and held */
	vouch("10.1.2.3", "open.spotify.com", 1, 3);
	pipeline_file_end();
	assert_int_equal(t_count(K_DNS_BOGUS_ANSWER), 0);
	assert_int_equal(dns_failed("spotify", &seen), 0);
	assert_int_equal(seen, 1);
	assert_int_equal(findings_checks(1)[AC_DNS_ANSWERS], 0);
}

static void private_answer_a_handshake_refuses_is_private_failed(void **s)
{
	(void)s;
	q_at(CLI, FAR, 6, "open.spotify.com", 1, 40005, T0);
	a_at(FAR, CLI, 6, "open.spotify.com", 0, "10.1.2.3", 40005, 58, T0 + 20 * MS);
	vouch("10.1.2.3", "open.spotify.com", 0, 77);
	vouch("10.1.2.3", "www.netflix.com", 1, 78); /* another name's proof says nothing of this one */
	pipeline_file_end();
	const struct finding *f = t_find(K_DNS_BOGUS_ANSWER, 0);
	assert_non_null(f);
	assert_string_equal(dstr(f, "reason"), "private_failed");
	assert_int_equal(json_integer_value(json_object_get(t_detail(f), "handshake_frame")), 77);
	int has77 = 0;
	for (u8 i = 0; i < f->n_ev; i++)
		has77 |= f->ev[i] == 77;
	assert_true(has77);
}

static void lan_resolver_pointing_names_nowhere_is_a_local_filter(void **s)
{
	u32 seen;
	(void)s;
	q_at(CLI, RES, 1, "www.netflix.com", 1, 40001, T0);
	a_at(RES, CLI, 1, "www.netflix.com", 0, "0.0.0.0", 40001, 64, T0 + MS);
	q_at(CLI, RES, 2, "discord.com", 1, 40002, T0 + 2 * MS);
	a_at(RES, CLI, 2, "discord.com", 0, "127.0.0.1", 40002, 64, T0 + 3 * MS);
	q_at(CLI, RES, 3, "open.spotify.com", 1, 40003, T0 + 4 * MS);
	a_at(RES, CLI, 3, "open.spotify.com", 0, RES, 40003, 64, T0 + 5 * MS); /* its own block page */
	q_at(CLI, RES, 4, "www.youtube.com", 1, 40004, T0 + 6 * MS);
	a_at(RES, CLI, 4, "www.youtube.com", 0, "10.9.9.9", 40004, 64, T0 + 7 * MS);
	pipeline_file_end();
	assert_int_equal(t_count(K_DNS_BOGUS_ANSWER), 3);
	const char *want[3][2] = { { "www.netflix.com", "unspecified" }, { "discord.com", "loopback" },
		                   { "open.spotify.com", "sinkhole" } };
	for (int i = 0; i < 3; i++) {
		const struct finding *f = NULL;
		for (int k = 0; (f = t_find(K_DNS_BOGUS_ANSWER, k)); k++)
			if (strcmp(f->name, want[i][0]) == 0)
				break;
		assert_non_null(f);
		assert_string_equal(dstr(f, "reason"), want[i][1]);
		assert_int_equal(f->origin, O_LOCAL);
		assert_true(json_is_true(json_object_get(t_detail(f), "resolver_local")));
	}
	/* A LAN resolver's private answer that no handshake spoke against: the
	 * site's own DNS (split horizon, a LAN cache), not a failure. */
	assert_int_equal(dns_failed("youtube", &seen), 0);
	assert_int_equal(seen, 1);
	assert_int_equal(dns_failed("netflix", &seen), 1);
}

static void unspecified_answer_from_beyond_the_lan_is_the_resolvers(void **s)
{
	(void)s;
	q_at(CLI, FAR, 1, "www.netflix.com", 1, 40001, T0);
	a_at(FAR, CLI, 1, "www.netflix.com", 0, "0.0.0.0", 40001, 57, T0 + 30 * MS);
	pipeline_file_end();
	const struct finding *f = t_find(K_DNS_BOGUS_ANSWER, 0);
	assert_non_null(f);
	assert_string_equal(dstr(f, "reason"), "unspecified");
	assert_int_equal(f->origin, O_RESOLVER);
}

static void a_resolver_whose_private_answers_proved_genuine_is_split_horizon(void **s)
{
	(void)s;
	/* A company resolver on a public address several routers away answering
	 * private addresses: one of them proved by a handshake speaks for the
	 * others. */
	q_at(CLI, FAR, 1, "open.spotify.com", 1, 40001, T0);
	a_at(FAR, CLI, 1, "open.spotify.com", 0, "10.1.2.3", 40001, 61, T0 + 3 * MS);
	q_at(CLI, FAR, 2, "www.netflix.com", 1, 40002, T0 + 4 * MS);
	a_at(FAR, CLI, 2, "www.netflix.com", 0, "10.1.2.4", 40002, 61, T0 + 6 * MS);
	vouch("10.1.2.3", "open.spotify.com", 1, 9);
	pipeline_file_end();
	assert_int_equal(t_count(K_DNS_BOGUS_ANSWER), 0);
}

static void a_private_resolvers_private_answers_are_the_sites_own_unless_refused(void **s)
{
	(void)s;
	/* Private addressing everywhere, the resolver three routers away, plain
	 * HTTP only: no handshake can speak, and only the site's own network
	 * reaches a resolver on a private address. */
	q_at(CLI, "10.20.0.53", 1, "open.spotify.com", 1, 40001, T0);
	a_at("10.20.0.53", CLI, 1, "open.spotify.com", 0, "10.30.0.60", 40001, 61, T0 + 3 * MS);
	q_at(CLI, "10.20.0.53", 2, "www.netflix.com", 1, 40002, T0 + 4 * MS);
	a_at("10.20.0.53", CLI, 2, "www.netflix.com", 0, "10.30.0.61", 40002, 61, T0 + 6 * MS);
	vouch("10.30.0.61", "www.netflix.com", 0, 12); /* but this one's certificate was refused */
	pipeline_file_end();
	assert_int_equal(t_count(K_DNS_BOGUS_ANSWER), 1);
	const struct finding *f = t_find(K_DNS_BOGUS_ANSWER, 0);
	assert_string_equal(f->name, "www.netflix.com");
	assert_string_equal(dstr(f, "reason"), "private_failed");
}

static void bogus_answer_from_another_distance_than_the_resolver_is_on_path(void **s)
{
	(void)s;
	q_at(CLI, FAR, 1, "www.example.com", 1, 40001, T0);
	a_at(FAR, CLI, 1, "www.example.com", 0, "198.51.100.7", 40001, 52, T0 + 30 * MS);
	q_at(CLI, FAR, 2, "open.spotify.com", 1, 40002, T0 + 40 * MS);
	a_at(FAR, CLI, 2, "open.spotify.com", 0, "10.1.2.3", 40002, 61, T0 + 42 * MS);
	pipeline_file_end();
	const struct finding *f = t_find(K_DNS_BOGUS_ANSWER, 0);
	assert_non_null(f);
	assert_int_equal(f->origin, O_ONPATH);
	assert_int_equal(json_integer_value(json_object_get(t_detail(f), "ip_ttl")), 61);
}

static const struct finding *only_timeout(void)
{
	assert_int_equal(t_count(K_DNS_TIMEOUT), 1);
	return t_find(K_DNS_TIMEOUT, 0);
}

static void asked_again_under_a_new_id_is_given_up(void **s)
{
	(void)s;
	q_at(CLI, RES, 1, "open.spotify.com", 1, 40001, T0);
	q_at(CLI, RES, 2, "open.spotify.com", 1, 40002, T0 + SEC);
	pipeline_file_end(); /* 1 s in: long before --dns-timeout */
	const struct finding *f = only_timeout(); /* the second may still be answered */
	assert_string_equal(dstr(f, "rule"), "gave_up");
	assert_string_equal(dstr(f, "gave_up"), "asked_again");
	assert_int_equal(f->frame, 1);
	assert_int_equal(f->ev[1], 2);
	assert_int_equal(f->ts_us, T0 + SEC);
}

static void asked_another_resolver_is_given_up(void **s)
{
	(void)s;
	q_at(CLI, RES, 1, "open.spotify.com", 1, 40001, T0);
	q_at(CLI, FAR, 2, "open.spotify.com", 1, 40002, T0 + 2 * SEC);
	a_at(FAR, CLI, 2, "open.spotify.com", 0, "198.51.100.9", 40002, 58, T0 + 2 * SEC + 20 * MS);
	pipeline_file_end();
	assert_string_equal(dstr(only_timeout(), "gave_up"), "other_resolver");
}

static void moving_to_the_other_family_is_given_up_but_asking_both_at_once_is_not(void **s)
{
	(void)s;
	/* Both families at once, as stub resolvers do: neither gave up. */
	q_at(CLI, RES, 1, "www.netflix.com", 1, 40001, T0);
	q_at(CLI, RES, 2, "www.netflix.com", 28, 40001, T0 + MS);
	/* An A query, then the AAAA alone a second later. */
	q_at(CLI, RES, 3, "discord.com", 1, 40003, T0 + 10 * MS);
	q_at(CLI, RES, 4, "discord.com", 28, 40004, T0 + 1010 * MS);
	pipeline_file_end();
	const struct finding *f = only_timeout();
	assert_string_equal(f->name, "discord.com");
	assert_string_equal(dstr(f, "gave_up"), "other_family");
	assert_string_equal(dstr(f, "qtype"), "A");
}

static void retransmissions_that_stopped_while_the_client_went_on_are_given_up(void **s)
{
	(void)s;
	q_at(CLI, RES, 5, "open.spotify.com", 1, 40005, T0);
	q_at(CLI, RES, 5, "open.spotify.com", 1, 40005, T0 + 200 * MS);
	q_at(CLI, RES, 6, "www.netflix.com", 1, 40006, T0 + SEC);
	a_at(RES, CLI, 6, "www.netflix.com", 0, "198.51.100.20", 40006, 64, T0 + SEC + MS);
	pipeline_file_end();
	const struct finding *f = only_timeout();
	assert_string_equal(dstr(f, "gave_up"), "retransmissions_stopped");
	assert_int_equal(json_integer_value(json_object_get(t_detail(f), "retries")), 1);
	assert_int_equal(json_integer_value(json_object_get(t_detail(f), "next_query_frame")), 3);
}

static void a_wait_of_many_round_trips_is_unanswered_once_the_round_trip_is_known(void **s)
{
	(void)s;
	q_at(CLI, RES, 1, "a.example.com", 1, 40001, T0);
	a_at(RES, CLI, 1, "a.example.com", 0, "198.51.100.1", 40001, 64, T0 + 10 * MS);
	q_at(CLI, RES, 2, "b.example.com", 1, 40002, T0 + 20 * MS);
	a_at(RES, CLI, 2, "b.example.com", 0, "198.51.100.2", 40002, 64, T0 + 28 * MS);
	q_at(CLI, RES, 9, "open.spotify.com", 1, 40009, T0 + 30 * MS);
	q_at(CLI, RES, 3, "c.example.com", 1, 40003, T0 + 40 * MS);
	a_at(RES, CLI, 3, "c.example.com", 0, "198.51.100.3", 40003, 64, T0 + 52 * MS);
	tick(T0 + 2 * SEC);
	pipeline_file_end();
	const struct finding *f = only_timeout();
	assert_string_equal(f->name, "open.spotify.com");
	assert_string_equal(dstr(f, "rule"), "rtt");
	/* The floor: max(8 x 12 ms, 1 s) after the query. */
	assert_int_equal(f->ts_us, T0 + 30 * MS + DNS_RTT_FLOOR_US);
}

static void two_round_trips_are_not_enough_to_judge_a_wait(void **s)
{
	(void)s;
	q_at(CLI, RES, 1, "a.example.com", 1, 40001, T0);
	a_at(RES, CLI, 1, "a.example.com", 0, "198.51.100.1", 40001, 64, T0 + 10 * MS);
	q_at(CLI, RES, 2, "b.example.com", 1, 40002, T0 + 20 * MS);
	a_at(RES, CLI, 2, "b.example.com", 0, "198.51.100.2", 40002, 64, T0 + 28 * MS);
	q_at(CLI, RES, 9, "open.spotify.com", 1, 40009, T0 + 30 * MS);
	tick(T0 + 3 * SEC);
	pipeline_file_end();
	assert_int_equal(t_count(K_DNS_TIMEOUT), 0);
}

static void a_resolver_silent_since_a_query_timed_out_leaves_the_later_ones_unanswered(void **s)
{
	(void)s;
	q_at(CLI, RES, 1, "open.spotify.com", 1, 40001, T0);
	q_at(CLI, RES, 2, "www.netflix.com", 1, 40002, T0 + 6 * SEC); /* the first timed out by now */
	q_at(CLI2, RES, 3, "discord.com", 1, 40003, T0 + 7 * SEC);
	q_at(CLI2, RES, 4, "www.youtube.com", 1, 40004, T0 + 7 * SEC + 500 * MS); /* too recent */
	tick(T0 + 8 * SEC);
	pipeline_file_end();
	assert_int_equal(t_count(K_DNS_TIMEOUT), 3);
	const char *rules[3] = { "timeout", "silent", "silent" };
	for (int i = 0; i < 3; i++) {
		const struct finding *f = t_find(K_DNS_TIMEOUT, i);
		assert_int_equal(f->frame, (u32)i + 1);
		assert_string_equal(dstr(f, "rule"), rules[i]);
	}
	assert_int_equal(json_integer_value(json_object_get(t_detail(t_find(K_DNS_TIMEOUT, 1)), "timed_out_frame")), 1);
}

static void a_resolver_that_answers_again_is_not_silent(void **s)
{
	(void)s;
	q_at(CLI, RES, 1, "open.spotify.com", 1, 40001, T0);
	q_at(CLI, RES, 2, "www.netflix.com", 1, 40002, T0 + 6 * SEC);
	q_at(CLI, RES, 3, "discord.com", 1, 40003, T0 + 6 * SEC + 10 * MS);
	a_at(RES, CLI, 3, "discord.com", 0, "198.51.100.30", 40003, 64, T0 + 6 * SEC + 20 * MS);
	tick(T0 + 8 * SEC);
	pipeline_file_end();
	assert_int_equal(t_count(K_DNS_TIMEOUT), 1); /* only the one that waited 5 s */
}

static void each_connection_to_a_shared_address_counts_for_its_clients_name(void **s)
{
	struct addr a, c1, c2, c3;
	struct addr_name nm[8];
	(void)s;
	addr_parse("198.51.100.80", &a);
	addr_parse(CLI, &c1);
	addr_parse(CLI2, &c2);
	addr_parse("192.168.1.12", &c3);
	u32 sp = names_intern("audio.spotify.com"), nf = names_intern("www.netflix.com"),
	    dc = names_intern("cdn.discordapp.com");
	services_learn(&a, sp, &c1, T0 + 1 * SEC);
	services_learn(&a, nf, &c2, T0 + 2 * SEC);
	services_learn(&a, dc, &c1, T0 + 5 * SEC);
	assert_int_equal(services_name_for(&a, &c1, T0 + 3 * SEC), sp); /* its own, before */
	assert_int_equal(services_name_for(&a, &c2, T0 + 10 * SEC), nf); /* not the newer one of c1 */
	assert_int_equal(services_name_for(&a, &c3, T0 + 3 * SEC), nf);  /* anyone's, before */
	assert_int_equal(services_name_for(&a, &c1, T0), dc);            /* lookup unseen: its latest */
	assert_int_equal(services_name_of_addr(&a), dc);
	assert_int_equal(services_names_of_addr(&a, nm, 8), 3);
	assert_int_equal(nm[0].name_id, dc);
	assert_int_equal(nm[2].name_id, sp);
	assert_int_equal(nm[1].clients, 1);
	u32 cur = 0, naddr = 0;
	struct addr it;
	while (services_addr_next(&cur, &it))
		naddr += addr_eq(&it, &a);
	assert_int_equal(naddr, 1);
}

static void shared_address_failures_go_to_each_clients_own_service(void **s)
{
	struct tframe f;
	(void)s;
	/* Two clients resolve their own names to one CDN address, then both
	 * connect to it and get no answer. */
	q_at(CLI, RES, 1, "audio.spotify.com", 1, 40001, T0);
	a_at(RES, CLI, 1, "audio.spotify.com", 0, "198.51.100.80", 40001, 64, T0 + MS);
	q_at(CLI2, RES, 2, "www.netflix.com", 1, 40002, T0 + 2 * MS);
	a_at(RES, CLI2, 2, "www.netflix.com", 0, "198.51.100.80", 40002, 64, T0 + 3 * MS);
	t_tcp(&f, CLI, 50001, "198.51.100.80", 443, 1000, 0, TH_SYN, NULL, 0, 64);
	t_feed(&f, T0 + 10 * MS);
	t_tcp(&f, CLI2, 50002, "198.51.100.80", 443, 2000, 0, TH_SYN, NULL, 0, 64);
	t_feed(&f, T0 + 11 * MS);
	tick(T0 + 30 * SEC);
	pipeline_file_end();
	assert_int_equal(t_count(K_SYN_TIMEOUT), 2);
	for (int i = 0; i < 2; i++) {
		const struct finding *t = t_find(K_SYN_TIMEOUT, i);
		char c[ADDR_STRLEN];
		addr_fmt(&t->cli, c);
		assert_string_equal(t->group, strcmp(c, CLI) == 0 ? "spotify" : "netflix");
	}
	const struct group_stats *g = findings_group_find("spotify");
	assert_non_null(g);
	assert_int_equal(g->failed[CAT_TCP], 1);
	g = findings_group_find("netflix");
	assert_non_null(g);
	assert_int_equal(g->failed[CAT_TCP], 1);
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
	/* The target's own lookups meanwhile, answered. */
	query(90, "open.spotify.com", 41000, T0 + 5 * MS);
	answer(90, "open.spotify.com", 0, "198.51.100.10", 41000, T0 + 6 * MS);
	pipeline_file_end();
	assert_int_equal(t_count(K_DNS_REFLECTION), 1);
	assert_int_equal(findings_count(), 1);
	const struct finding *r = t_find(K_DNS_REFLECTION, 0);
	assert_int_equal(json_integer_value(json_object_get(t_detail(r), "count")), 60);
	assert_int_equal(json_integer_value(json_object_get(t_detail(r), "sources")), 30);
	assert_string_equal(dstr(r, "target"), CLI);
	assert_string_equal(dstr(r, "qname"), "isc.org");
	assert_int_equal(r->frame, 1);
	/* An attack on a LAN host, not a failure of the name the attacker chose
	 * nor of any service the host uses. */
	assert_string_equal(r->name, "");
	assert_string_equal(r->group, "");
	size_t nv;
	struct verdict *v = diagnose_run(&nv);
	assert_false(services_in_scope(""));        /* no verdict for no service... */
	assert_true(services_finding_in_scope("")); /* ...but the finding is reported */
	for (size_t i = 0; i < nv; i++) {
		assert_true(v[i].group[0]);
		assert_int_not_equal(v[i].status, ST_FAILING);
		assert_int_not_equal(v[i].status, ST_DEGRADED);
	}
	diagnose_free(v, nv);
	assert_null(findings_group_find("isc.org"));
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
		cmocka_unit_test_setup_teardown(private_answer_from_beyond_the_lan_with_no_handshake_is_tampering, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(private_answer_a_later_handshake_vouches_for_is_no_finding, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(private_answer_a_handshake_refuses_is_private_failed, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(lan_resolver_pointing_names_nowhere_is_a_local_filter, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(unspecified_answer_from_beyond_the_lan_is_the_resolvers, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(a_resolver_whose_private_answers_proved_genuine_is_split_horizon, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(a_private_resolvers_private_answers_are_the_sites_own_unless_refused, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(bogus_answer_from_another_distance_than_the_resolver_is_on_path, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(asked_again_under_a_new_id_is_given_up, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(asked_another_resolver_is_given_up, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(moving_to_the_other_family_is_given_up_but_asking_both_at_once_is_not, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(retransmissions_that_stopped_while_the_client_went_on_are_given_up, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(a_wait_of_many_round_trips_is_unanswered_once_the_round_trip_is_known, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(two_round_trips_are_not_enough_to_judge_a_wait, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(a_resolver_silent_since_a_query_timed_out_leaves_the_later_ones_unanswered, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(a_resolver_that_answers_again_is_not_silent, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(each_connection_to_a_shared_address_counts_for_its_clients_name, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(shared_address_failures_go_to_each_clients_own_service, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(answers_teach_the_address_map, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(dns_over_tcp_split_across_segments, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(many_large_answers_to_no_query_are_one_reflection, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(hostile_messages_do_not_crash, t_setup, t_teardown),
	};
	return cmocka_run_group_tests_name("dns", tests, NULL, NULL);
}
