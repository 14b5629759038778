/* \summary: tcp: refused with its origin from the TTL, syn_timeout only
 * once due, resets by sender, injected resets, floods, and the flow table's
 * bounds under many flows. */
#include "testutil.h"
#include "panne/flow.h"

#define C "192.168.1.10"
#define S "198.51.100.10"
#define T0 1700000000000000ull

static void syn(u16 cp, const char *dst, u64 at)
{
	struct tframe f;
	t_tcp(&f, C, cp, dst, 443, 100, 0, TH_SYN, NULL, 0, 64);
	t_feed(&f, at);
}

static void established(u16 cp, u8 ttl)
{
	struct tframe f;
	syn(cp, S, T0);
	t_tcp(&f, S, 443, C, cp, 900, 101, TH_SYN | TH_ACK, NULL, 0, ttl);
	t_feed(&f, T0 + 100);
	t_tcp(&f, C, cp, S, 443, 101, 901, TH_ACK, NULL, 0, 64);
	t_feed(&f, T0 + 200);
	t_tcp(&f, S, 443, C, cp, 901, 101, TH_ACK, "data", 4, ttl);
	t_feed(&f, T0 + 300);
}

static void rst_answering_syn_is_refused_by_the_server(void **s)
{
	struct tframe f;
	(void)s;
	established(40000, 57); /* another connection shows the path: 7 hops */
	syn(40001, S, T0 + 1000);
	t_tcp(&f, S, 443, C, 40001, 0, 101, TH_RST | TH_ACK, NULL, 0, 57);
	t_feed(&f, T0 + 2000);
	pipeline_file_end();
	const struct finding *r = t_find(K_TCP_REFUSED, 0);
	assert_non_null(r);
	assert_int_equal(r->frame, 6);
	assert_int_equal(r->ev[1], 5);
	assert_int_equal(r->origin, O_SERVER);
}

static void rst_nearer_than_any_server_is_local(void **s)
{
	struct tframe f;
	(void)s;
	established(40000, 57);
	syn(40002, "198.51.100.99", T0 + 1000);
	t_tcp(&f, "198.51.100.99", 443, C, 40002, 0, 101, TH_RST | TH_ACK, NULL, 0, 64);
	t_feed(&f, T0 + 2000);
	pipeline_file_end();
	assert_int_equal(t_find(K_TCP_REFUSED, 0)->origin, O_LOCAL);
}

static void unanswered_syn_times_out_only_when_due(void **s)
{
	struct tframe f;
	(void)s;
	syn(40003, S, T0);
	syn(40003, S, T0 + 1000000); /* retransmission */
	syn(40004, S, T0 + 30000000); /* too close to the end */
	t_udp(&f, C, 5000, "192.0.2.1", 9, "x", 1, 64);
	t_feed(&f, T0 + 31000000);
	pipeline_file_end();
	assert_int_equal(t_count(K_SYN_TIMEOUT), 1);
	const struct finding *t = t_find(K_SYN_TIMEOUT, 0);
	assert_int_equal(json_integer_value(json_object_get(t->detail, "retries")), 1);
	assert_int_equal(t->n_ev, 2);
}

static void reset_sender_is_told_apart(void **s)
{
	struct tframe f;
	(void)s;
	established(40005, 57);
	t_tcp(&f, C, 40005, S, 443, 101, 905, TH_RST, NULL, 0, 64); /* the client's own choice */
	t_feed(&f, T0 + 400);
	established(40006, 57);
	t_tcp(&f, S, 443, C, 40006, 905, 101, TH_RST, NULL, 0, 57);
	t_feed(&f, T0 + 500);
	established(40008, 57);
	t_tcp(&f, C, 40008, S, 443, 101, 905, TH_RST, NULL, 0, 40); /* claims the client, 24 hops away */
	t_feed(&f, T0 + 600);
	pipeline_file_end();
	assert_int_equal(t_count(K_RST), 1);
	assert_string_equal(json_string_value(json_object_get(t_find(K_RST, 0)->detail, "sender")), "server");
	assert_int_equal(t_find(K_RST, 0)->origin, O_SERVER);
	assert_int_equal(t_count(K_RST_INJECTION), 1);
	assert_string_equal(json_string_value(json_object_get(t_find(K_RST_INJECTION, 0)->detail, "sender")), "client");
}

static void reset_with_data_still_flowing_is_injected(void **s)
{
	struct tframe f;
	(void)s;
	established(40007, 57);
	t_tcp(&f, S, 443, C, 40007, 905, 101, TH_RST, NULL, 0, 40);
	t_feed(&f, T0 + 400);
	for (int i = 0; i < 3; i++) {
		t_tcp(&f, S, 443, C, 40007, 905 + 100 * (u32)i, 101, TH_ACK, "more data", 9, 57);
		t_feed(&f, T0 + 500 + (u64)i);
	}
	pipeline_file_end();
	const struct finding *r = t_find(K_RST_INJECTION, 0);
	assert_non_null(r);
	assert_int_equal(r->origin, O_ONPATH);
	assert_int_equal(t_count(K_RST), 0);
}

static void many_half_open_from_many_sources_is_one_flood(void **s)
{
	struct tframe f;
	char src[32];
	(void)s;
	for (int i = 0; i < 600; i++) {
		snprintf(src, sizeof src, "10.%d.%d.1", i / 250, i % 250);
		t_tcp(&f, src, (u16)(1024 + i), S, 443, (u32)i, 0, TH_SYN, NULL, 0, 64);
		t_feed(&f, T0 + (u64)i * 1000);
	}
	t_udp(&f, C, 5000, "192.0.2.1", 9, "x", 1, 64);
	t_feed(&f, T0 + 60000000);
	pipeline_file_end();
	assert_int_equal(t_count(K_SYN_FLOOD), 1);
	assert_int_equal(t_count(K_SYN_TIMEOUT), 0);
	assert_int_equal(json_integer_value(json_object_get(t_find(K_SYN_FLOOD, 0)->detail, "count")), 600);
}

static int ends;
static void count_end(void *u, struct flow *f, int why)
{
	(void)u, (void)f, (void)why;
	ends++;
}

static void flow_table_stays_bounded_and_evicts_oldest(void **s)
{
	struct tframe fr;
	struct packet pk;
	struct cap_pkt cp = { .linktype = 1 };
	int dir;
	(void)s;
	struct flow_table *ft = flow_table_new(1024, 120000000, count_end, NULL);
	ends = 0;
	for (u32 i = 0; i < 100000; i++) {
		char a[32];
		snprintf(a, sizeof a, "10.%u.%u.%u", (i >> 16) & 255, (i >> 8) & 255, i & 255);
		t_tcp(&fr, a, 1000, S, 443, i, 0, TH_SYN, NULL, 0, 64);
		cp.data = fr.b, cp.caplen = cp.len = fr.n, cp.ts_us = T0 + i, cp.frame = i + 1;
		assert_int_equal(decode_packet(&cp, &pk), DEC_OK);
		struct flow *f = flow_update(ft, &pk, &dir);
		assert_non_null(f);
		assert_int_equal(dir, DIR_C2S);
		assert_true(flow_count(ft) <= 1024);
	}
	assert_int_equal(flow_evicted(ft), 100000 - 1024);
	/* The newest flow is still there, found from the server's side too. */
	t_tcp(&fr, S, 443, "10.1.134.159", 1000, 5, 100000, TH_SYN | TH_ACK, NULL, 0, 60);
	cp.data = fr.b, cp.caplen = cp.len = fr.n;
	decode_packet(&cp, &pk);
	assert_non_null(flow_update(ft, &pk, &dir));
	assert_int_equal(dir, DIR_S2C);
	assert_int_equal(flow_count(ft), 1024);
	flow_table_free(ft);
	assert_int_equal(ends, 100000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(rst_answering_syn_is_refused_by_the_server, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(rst_nearer_than_any_server_is_local, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(unanswered_syn_times_out_only_when_due, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(reset_sender_is_told_apart, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(reset_with_data_still_flowing_is_injected, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(many_half_open_from_many_sources_is_one_flood, t_setup, t_teardown),
		cmocka_unit_test(flow_table_stays_bounded_and_evicts_oldest),
	};
	return cmocka_run_group_tests_name("tcp", tests, NULL, NULL);
}
