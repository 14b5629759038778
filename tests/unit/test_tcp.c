/* \summary: tcp: origins placed from the capture point (servers near and
 * far, the capture on or beyond the clients' link, per family), resets
 * scored with each signal, unanswered SYNs by each rule, floods with the
 * client's starved connection, scans and backscatter as nobody's failure,
 * and the flow table's bounds under many flows. */
#include "testutil.h"
#include "panne/flow.h"
#include "panne/hops.h"

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
	assert_int_equal(json_integer_value(json_object_get(t_detail(t), "retries")), 1);
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
	/* claims the client, 24 hops away, and sets DF where the client never does */
	t_tcp(&f, C, 40008, S, 443, 101, 905, TH_RST, NULL, 0, 40);
	f.b[14 + 6] = 0x40;
	t_feed(&f, T0 + 600);
	pipeline_file_end();
	assert_int_equal(t_count(K_RST), 1);
	assert_string_equal(json_string_value(json_object_get(t_detail(t_find(K_RST, 0)), "sender")), "server");
	assert_int_equal(t_find(K_RST, 0)->origin, O_SERVER);
	assert_int_equal(t_count(K_RST_INJECTION), 1);
	assert_string_equal(json_string_value(json_object_get(t_detail(t_find(K_RST_INJECTION, 0)), "sender")), "client");
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
	assert_int_equal(json_integer_value(json_object_get(t_detail(t_find(K_SYN_FLOOD, 0)), "count")), 600);
}


/* ---- packets with the IP fields resets are scored on ---- */

/* A TCP segment with its IP ID and DF bit set as given. */
static void seg(struct tframe *f, const char *src, u16 sp, const char *dst, u16 dp, u32 seq, u32 ack, u8 flags,
                const void *pl, u32 n, u8 ttl, u16 ipid, int df)
{
	t_tcp(f, src, sp, dst, dp, seq, ack, flags, pl, n, ttl);
	put16(f->b + 14 + 4, ipid);
	f->b[14 + 6] = df ? 0x40 : 0;
}

static void feed_seg(const char *src, u16 sp, const char *dst, u16 dp, u32 seq, u32 ack, u8 flags, const void *pl,
                     u32 n, u8 ttl, u16 ipid, int df, u64 at)
{
	struct tframe f;
	seg(&f, src, sp, dst, dp, seq, ack, flags, pl, n, ttl, ipid, df);
	t_feed(&f, at);
}

/* A connection of client cli to srv:443 whose server is srv_ttl away, as
 * Linux sends: DF on every packet, the SYN-ACK's IP ID 0, then a counter
 * from 1000 (its last data packet has ID 1002). The handshake's round trip
 * is 20 ms; the client's request (10 bytes) ends at t + 50 ms and the
 * server's three data segments follow; the client's sequence is 111 after. */
static void linux_conn(const char *cli, u16 cp, const char *srv, u8 cli_ttl, u8 srv_ttl, u64 t)
{
	feed_seg(cli, cp, srv, 443, 100, 0, TH_SYN, NULL, 0, cli_ttl, 7000, 1, t);
	feed_seg(srv, 443, cli, cp, 900, 101, TH_SYN | TH_ACK, NULL, 0, srv_ttl, 0, 1, t + 20000);
	feed_seg(cli, cp, srv, 443, 101, 901, TH_ACK, NULL, 0, cli_ttl, 7001, 1, t + 20100);
	feed_seg(cli, cp, srv, 443, 101, 901, TH_ACK | TH_PSH, "GET /x\r\n\r\n", 10, cli_ttl, 7002, 1, t + 50000);
	for (u32 i = 0; i < 3; i++)
		feed_seg(srv, 443, cli, cp, 901 + 100 * i, 111, TH_ACK, "0123456789", 10, srv_ttl, (u16)(1000 + i), 1,
		         t + 70000 + i * 100);
}

static const char *signal_of(const struct finding *f, const char *name)
{
	return json_string_value(json_object_get(json_object_get(t_detail(f), "signals"), name));
}

static const char *rule_of(const struct finding *f)
{
	return json_string_value(json_object_get(t_detail(f), "rule"));
}

/* ---- where a reset comes from, counted from the capture point ---- */

static void reset_place_holds_for_near_and_far_servers(void **s)
{
	(void)s;
	/* 1 router away: the gateway's own reset (hop 0) is local, not the
	 * server's with a hop of slack. */
	linux_conn(C, 41000, S, 64, 63, T0);
	feed_seg(S, 443, C, 41000, 931, 111, TH_RST, NULL, 0, 64, 0, 1, T0 + 100000);
	/* 20 routers away: a reset from 2 hops is on the path, one from 20 the
	 * server's own, whatever the addresses. */
	linux_conn(C, 41001, "203.0.113.7", 64, 44, T0 + 200000);
	feed_seg("203.0.113.7", 443, C, 41001, 931, 111, TH_RST, NULL, 0, 62, 0, 1, T0 + 300000);
	linux_conn(C, 41002, "203.0.113.7", 64, 44, T0 + 400000);
	feed_seg("203.0.113.7", 443, C, 41002, 931, 111, TH_RST, NULL, 0, 44, 1003, 1, T0 + 500000);
	pipeline_file_end();
	assert_int_equal(t_count(K_RST), 3);
	assert_int_equal(t_count(K_RST_INJECTION), 0);
	assert_int_equal(t_find(K_RST, 0)->origin, O_LOCAL);
	assert_int_equal(t_find(K_RST, 1)->origin, O_ONPATH);
	assert_int_equal(t_find(K_RST, 2)->origin, O_SERVER);
	assert_int_equal(findings_checks(0)[AC_RESETS], 3);
	assert_int_equal(findings_checks(1)[AC_RESETS], 0);
}

static void capture_beyond_the_clients_is_learnt(void **s)
{
	(void)s;
	/* The capture is one router from the clients (their packets arrive
	 * with 63): a reset at their distance is local, and the reason says the
	 * capture is not on their link; the server is 4 hops away. */
	linux_conn(C, 41010, S, 63, 60, T0);
	linux_conn(C, 41011, S, 63, 60, T0 + 100000);
	feed_seg(S, 443, C, 41010, 931, 111, TH_RST, NULL, 0, 63, 0, 1, T0 + 300000);
	feed_seg(S, 443, C, 41011, 931, 111, TH_RST, NULL, 0, 62, 0, 1, T0 + 300100);
	pipeline_file_end();
	assert_int_equal(t_count(K_RST), 2);
	const struct finding *a = t_find(K_RST, 0), *b = t_find(K_RST, 1);
	assert_int_equal(a->origin, O_LOCAL);
	assert_non_null(strstr(json_string_value(json_object_get(t_detail(a), "origin_reason")), "not on their link"));
	assert_int_equal(b->origin, O_ONPATH);
}

static void hop_zero_is_learnt_per_family_and_from_real_clients(void **s)
{
	const char *why;
	(void)s;
	/* Nothing learnt: assumed, and the sentence says so. */
	assert_int_equal(hops_lan(4), -1);
	assert_int_equal(hops_place(4, 64, -1, &why), O_LOCAL);
	assert_non_null(strstr(why, "assumed"));
	/* A scanner's randomized TTLs teach nothing... */
	for (u8 t = 37; t < 60; t++)
		hops_note_client(4, t);
	assert_int_equal(hops_lan(4), -1);
	/* ... clients that completed an exchange do, per family. */
	hops_note_confirmed(4, 64);
	hops_note_confirmed(6, 63);
	assert_int_equal(hops_lan(4), 0);
	assert_int_equal(hops_lan(6), 1);
	assert_int_equal(hops_place(6, 63, 10, &why), O_LOCAL);
	assert_int_equal(hops_place(4, 63, 10, &why), O_ONPATH);
	assert_int_equal(hops_place(4, 54, 10, &why), O_SERVER);
	assert_int_equal(hops_place(4, 60, -1, &why), O_UNKNOWN);
}

/* ---- reset scoring ---- */

static void ttl_and_ip_id_together_make_an_injection(void **s)
{
	(void)s;
	linux_conn(C, 41020, S, 64, 57, T0);
	/* 12 hops where the server is 7, IP ID off its counter, DF kept. */
	feed_seg(S, 443, C, 41020, 931, 111, TH_RST, NULL, 0, 52, 31337, 1, T0 + 100000);
	pipeline_file_end();
	const struct finding *r = t_find(K_RST_INJECTION, 0);
	assert_non_null(r);
	assert_int_equal(r->origin, O_ONPATH);
	assert_non_null(strstr(signal_of(r, "ttl"), "12 hops"));
	assert_non_null(strstr(signal_of(r, "ip_id"), "does not continue"));
	assert_non_null(strstr(signal_of(r, "df"), "as every packet"));
	assert_true(json_real_value(json_object_get(t_detail(r), "score")) >= 2.5);
	assert_int_equal(findings_checks(1)[AC_RESETS], 1);
}

static void one_signal_alone_is_no_injection(void **s)
{
	(void)s;
	linux_conn(C, 41030, S, 64, 57, T0);
	/* TTL off, but the IP ID continues the server's counter, DF as its own. */
	feed_seg(S, 443, C, 41030, 931, 111, TH_RST, NULL, 0, 52, 1003, 1, T0 + 100000);
	pipeline_file_end();
	assert_int_equal(t_count(K_RST_INJECTION), 0);
	const struct finding *r = t_find(K_RST, 0);
	assert_non_null(r);
	assert_non_null(strstr(signal_of(r, "ip_id"), "continues"));
	assert_true(json_real_value(json_object_get(t_detail(r), "score")) < 2.5);
}

static void data_after_the_reset_is_conclusive(void **s)
{
	(void)s;
	linux_conn(C, 41040, S, 64, 57, T0);
	/* Everything matches, yet the server's data keeps coming. */
	feed_seg(S, 443, C, 41040, 1201, 111, TH_RST, NULL, 0, 57, 1003, 1, T0 + 100000);
	for (u32 i = 0; i < 2; i++)
		feed_seg(S, 443, C, 41040, 1201 + 10 * i, 111, TH_ACK, "0123456789", 10, 57, (u16)(1004 + i), 1,
		         T0 + 100100 + i);
	pipeline_file_end();
	const struct finding *r = t_find(K_RST_INJECTION, 0);
	assert_non_null(r);
	assert_non_null(signal_of(r, "data_after"));
	assert_string_equal(json_string_value(json_object_get(t_detail(r), "reason")),
	                    "data from the same side kept flowing after the reset");
}

static void resets_stepping_through_the_window_and_too_soon(void **s)
{
	(void)s;
	/* Three resets with distinct sequence numbers and a TTL 7 hops off,
	 * though their IP IDs continue the server's counter: the burst makes
	 * the second signal. One such reset alone is no injection (below). */
	linux_conn(C, 41050, S, 64, 57, T0);
	for (u32 i = 0; i < 3; i++)
		feed_seg(S, 443, C, 41050, 931 + 5000 * i, 111, TH_RST, NULL, 0, 50, (u16)(1003 + i), 1,
		         T0 + 100000 + i);
	linux_conn(C, 41052, S, 64, 57, T0);
	feed_seg(S, 443, C, 41052, 931, 111, TH_RST, NULL, 0, 50, 1003, 1, T0 + 100000);
	/* A reset acknowledging the client's request 0.1 ms after it, where the
	 * server's round trip is 20 ms, with a foreign IP ID. */
	feed_seg(C, 41051, S, 443, 100, 0, TH_SYN, NULL, 0, 64, 7000, 1, T0 + 200000);
	feed_seg(S, 443, C, 41051, 900, 101, TH_SYN | TH_ACK, NULL, 0, 57, 0, 1, T0 + 220000);
	feed_seg(C, 41051, S, 443, 101, 901, TH_ACK, NULL, 0, 64, 7001, 1, T0 + 220100);
	feed_seg(S, 443, C, 41051, 901, 101, TH_ACK, "hello12345", 10, 57, 2000, 1, T0 + 230000);
	feed_seg(S, 443, C, 41051, 911, 101, TH_ACK, "hello12345", 10, 57, 2001, 1, T0 + 230100);
	feed_seg(S, 443, C, 41051, 921, 101, TH_ACK, NULL, 0, 57, 2002, 1, T0 + 230200);
	feed_seg(C, 41051, S, 443, 101, 921, TH_ACK | TH_PSH, "GET /x\r\n\r\n", 10, 64, 7002, 1, T0 + 300000);
	feed_seg(S, 443, C, 41051, 921, 111, TH_RST | TH_ACK, NULL, 0, 57, 555, 1, T0 + 300100);
	pipeline_file_end();
	assert_int_equal(t_count(K_RST_INJECTION), 2);
	const struct finding *burst = t_find(K_RST_INJECTION, 0), *soon = t_find(K_RST_INJECTION, 1);
	assert_int_equal(burst->cport, 41050);
	assert_non_null(strstr(signal_of(burst, "burst"), "3 distinct sequence numbers"));
	assert_int_equal(soon->cport, 41051);
	assert_non_null(strstr(signal_of(soon, "timing"), "sooner than the round trip"));
	assert_int_equal(t_count(K_RST), 1);
	assert_int_equal(t_find(K_RST, 0)->cport, 41052);
}

static void local_firewall_reset_is_local_not_forged(void **s)
{
	(void)s;
	/* The gateway rejects with a reset as Linux makes it: its own TTL, ID 0
	 * with DF, window 0. Nearer than the server, and a stack's packet. */
	linux_conn(C, 41060, S, 64, 57, T0);
	feed_seg(S, 443, C, 41060, 931, 111, TH_RST, NULL, 0, 64, 0, 1, T0 + 100000);
	pipeline_file_end();
	assert_int_equal(t_count(K_RST_INJECTION), 0);
	assert_int_equal(t_find(K_RST, 0)->origin, O_LOCAL);
}

static void synack_after_the_refusal_is_conclusive(void **s)
{
	(void)s;
	feed_seg(C, 41070, S, 443, 100, 0, TH_SYN, NULL, 0, 64, 1, 1, T0);
	feed_seg(S, 443, C, 41070, 0, 101, TH_RST | TH_ACK, NULL, 0, 60, 0, 1, T0 + 1000);
	feed_seg(S, 443, C, 41070, 900, 101, TH_SYN | TH_ACK, NULL, 0, 57, 0, 1, T0 + 20000);
	pipeline_file_end();
	const struct finding *r = t_find(K_RST_INJECTION, 0);
	assert_non_null(r);
	assert_non_null(signal_of(r, "synack_after"));
	assert_int_equal(t_count(K_TCP_REFUSED), 0);
}

/* ---- unanswered SYNs at capture end ---- */

/* The capture's last packet, from a host that plays no part. */
static void end_at(u64 at)
{
	struct tframe f;
	t_udp(&f, "192.168.1.99", 5000, "192.0.2.1", 9, "x", 1, 64);
	t_feed(&f, at);
}

static void client_that_retried_and_went_on_gave_up(void **s)
{
	struct tframe f;
	(void)s;
	syn(41080, S, T0);
	syn(41080, S, T0 + 1000000);
	syn(41080, S, T0 + 3000000);
	/* 6 s after its last SYN (which would have come 4 s later), the client
	 * is busy elsewhere; the capture ends before --syn-timeout. */
	t_udp(&f, C, 5353, "192.0.2.53", 53, "q", 1, 64);
	t_feed(&f, T0 + 9000000);
	t_udp(&f, "192.0.2.53", 53, C, 5353, "a", 1, 60);
	t_feed(&f, T0 + 9010000);
	end_at(T0 + 9500000);
	pipeline_file_end();
	const struct finding *t = t_find(K_SYN_TIMEOUT, 0);
	assert_non_null(t);
	assert_string_equal(rule_of(t), "gave_up");
	assert_int_equal(json_integer_value(json_object_get(t_detail(t), "retries")), 2);
}

static void fallback_to_another_address_of_the_name_gave_up(void **s)
{
	struct tframe f;
	u8 b[512];
	const char *addrs[] = { "198.51.100.10", "198.51.100.11" };
	(void)s;
	u32 n = t_dns(b, 7, 0, 0, "www.example.com", 1, NULL, 0);
	t_udp(&f, C, 5300, "192.0.2.53", 53, b, n, 64);
	t_feed(&f, T0);
	n = t_dns(b, 7, 1, 0, "www.example.com", 1, addrs, 2);
	t_udp(&f, "192.0.2.53", 53, C, 5300, b, n, 60);
	t_feed(&f, T0 + 10000);
	/* The first address never answers; 250 ms later the second does, and
	 * the client does not come back to the first. */
	syn(41090, "198.51.100.10", T0 + 20000);
	feed_seg(C, 41091, "198.51.100.11", 443, 100, 0, TH_SYN, NULL, 0, 64, 1, 1, T0 + 270000);
	feed_seg("198.51.100.11", 443, C, 41091, 900, 101, TH_SYN | TH_ACK, NULL, 0, 57, 0, 1, T0 + 290000);
	feed_seg(C, 41091, "198.51.100.11", 443, 101, 901, TH_ACK, NULL, 0, 64, 2, 1, T0 + 290100);
	end_at(T0 + 2000000);
	pipeline_file_end();
	const struct finding *t = t_find(K_SYN_TIMEOUT, 0);
	assert_non_null(t);
	assert_string_equal(rule_of(t), "gave_up");
	assert_string_equal(json_string_value(json_object_get(t_detail(t), "moved_to")), "198.51.100.11");
	assert_int_equal(t_count(K_SYN_TIMEOUT), 1);
}

static void retransmissions_that_stopped_gave_up(void **s)
{
	(void)s;
	/* SYNs at 0, 1 and 3 s: the next was due by 7 s. The capture goes on
	 * to 8 s without it (a second client's SYNs at 5 and 6 s, whose next
	 * is due by 8 s + 0.5 s of margin, are not judged). */
	syn(41085, S, T0);
	syn(41085, S, T0 + 1000000);
	syn(41085, S, T0 + 3000000);
	feed_seg("192.168.1.12", 41086, S, 443, 5, 0, TH_SYN, NULL, 0, 64, 1, 1, T0 + 5000000);
	feed_seg("192.168.1.12", 41086, S, 443, 5, 0, TH_SYN, NULL, 0, 64, 1, 1, T0 + 6000000);
	end_at(T0 + 8000000);
	pipeline_file_end();
	assert_int_equal(t_count(K_SYN_TIMEOUT), 1);
	const struct finding *t = t_find(K_SYN_TIMEOUT, 0);
	assert_int_equal(t->cport, 41085);
	assert_string_equal(rule_of(t), "gave_up");
}

/* An IPv6 TCP segment over Ethernet, with its flow label. */
static void tcp6l(const char *src, u16 sp, const char *dst, u16 dp, u32 seq, u32 ack, u8 flags, u8 hl, u32 label,
                  u64 at)
{
	struct tframe f;
	memset(f.b, 0, 74);
	put16(f.b + 12, 0x86dd);
	u8 *ip = f.b + 14;
	ip[0] = 0x60;
	ip[1] = (u8)((label >> 16) & 0x0f);
	ip[2] = (u8)(label >> 8);
	ip[3] = (u8)label;
	put16(ip + 4, 20);
	ip[6] = 6;
	ip[7] = hl;
	inet_pton(AF_INET6, src, ip + 8);
	inet_pton(AF_INET6, dst, ip + 24);
	u8 *t = ip + 40;
	put16(t, sp);
	put16(t + 2, dp);
	put32(t + 4, seq);
	put32(t + 8, ack);
	t[12] = 5 << 4;
	t[13] = flags;
	put16(t + 14, 65535);
	f.n = 74;
	t_feed(&f, at);
}

static void tcp6(const char *src, u16 sp, const char *dst, u16 dp, u32 seq, u32 ack, u8 flags, u8 hl, u64 at)
{
	tcp6l(src, sp, dst, dp, seq, ack, flags, hl, 0, at);
}

static void ipv6_flow_label_is_a_signal(void **s)
{
	(void)s;
	/* The server's packets carry flow label 0x12345 and come from 7 hops;
	 * two resets from 12 hops: one with a foreign label (forged), one
	 * with the server's own (its TTL alone decides nothing). */
	for (u16 i = 0; i < 2; i++) {
		u16 cp = (u16)(41140 + i);
		u64 t = T0 + i * 1000000u;
		tcp6l("2001:db8:50::10", cp, "2001:db8:100::7", 443, 100, 0, TH_SYN, 64, 0x777, t);
		tcp6l("2001:db8:100::7", 443, "2001:db8:50::10", cp, 900, 101, TH_SYN | TH_ACK, 57, 0x12345, t + 20000);
		tcp6l("2001:db8:50::10", cp, "2001:db8:100::7", 443, 101, 901, TH_ACK, 64, 0x777, t + 20100);
		tcp6l("2001:db8:100::7", 443, "2001:db8:50::10", cp, 901, 101, TH_ACK, 57, 0x12345, t + 30000);
		tcp6l("2001:db8:100::7", 443, "2001:db8:50::10", cp, 901, 101, TH_RST, 52, i ? 0x12345 : 0xbeef, t + 40000);
	}
	pipeline_file_end();
	assert_int_equal(t_count(K_RST_INJECTION), 1);
	const struct finding *r = t_find(K_RST_INJECTION, 0);
	assert_int_equal(r->cport, 41140);
	assert_non_null(strstr(signal_of(r, "flow_label"), "where the sender's packets carry"));
	assert_int_equal(t_count(K_RST), 1);
	assert_non_null(strstr(signal_of(t_find(K_RST, 0), "flow_label"), "as the sender's packets"));
}

static void fallback_to_the_other_family_gave_up(void **s)
{
	struct tframe f;
	u8 b[512];
	const char *addrs[] = { "198.51.100.12" };
	(void)s;
	/* The name's A answer, then its AAAA answer (built by hand). */
	u32 n = t_dns(b, 8, 0, 0, "www.example.net", 1, NULL, 0);
	t_udp(&f, C, 5301, "192.0.2.53", 53, b, n, 64);
	t_feed(&f, T0 - 2000);
	n = t_dns(b, 9, 0, 0, "www.example.net", 28, NULL, 0);
	t_udp(&f, C, 5302, "192.0.2.53", 53, b, n, 64);
	t_feed(&f, T0 - 1000);
	n = t_dns(b, 8, 1, 0, "www.example.net", 1, addrs, 1);
	t_udp(&f, "192.0.2.53", 53, C, 5301, b, n, 60);
	t_feed(&f, T0);
	n = t_dns(b, 9, 1, 0, "www.example.net", 28, NULL, 0);
	put16(b + 6, 1);
	u8 rr[] = { 0xc0, 12, 0, 28, 0, 1, 0, 0, 1, 44, 0, 16 };
	memcpy(b + n, rr, sizeof rr);
	inet_pton(AF_INET6, "2001:db8:100::12", b + n + sizeof rr);
	n += sizeof rr + 16;
	t_udp(&f, "192.0.2.53", 53, C, 5302, b, n, 60);
	t_feed(&f, T0 + 1000);
	/* Its IPv6 address tries the AAAA, never answered; 250 ms later its
	 * IPv4 address reaches the A, and the IPv6 SYN is not sent again. */
	tcp6("2001:db8:50::10", 41120, "2001:db8:100::12", 443, 7, 0, TH_SYN, 64, T0 + 10000);
	feed_seg(C, 41121, "198.51.100.12", 443, 100, 0, TH_SYN, NULL, 0, 64, 1, 1, T0 + 260000);
	feed_seg("198.51.100.12", 443, C, 41121, 900, 101, TH_SYN | TH_ACK, NULL, 0, 57, 0, 1, T0 + 280000);
	feed_seg(C, 41121, "198.51.100.12", 443, 101, 901, TH_ACK, NULL, 0, 64, 2, 1, T0 + 280100);
	end_at(T0 + 2000000);
	pipeline_file_end();
	assert_int_equal(t_count(K_SYN_TIMEOUT), 1);
	const struct finding *t = t_find(K_SYN_TIMEOUT, 0);
	assert_int_equal(t->cli.fam, 6);
	assert_string_equal(rule_of(t), "gave_up");
	assert_string_equal(json_string_value(json_object_get(t_detail(t), "moved_to")), "198.51.100.12");
}

static void many_round_trips_of_silence_is_unanswered(void **s)
{
	(void)s;
	/* The server answers another connection in 20 ms... */
	linux_conn("192.168.1.11", 41100, S, 64, 57, T0);
	/* ... this SYN waits 2.5 s without an answer (a second one 0.5 s
	 * before the end is too recent to say). */
	syn(41101, S, T0 + 1000000);
	syn(41102, S, T0 + 3000000);
	end_at(T0 + 3500000);
	pipeline_file_end();
	assert_int_equal(t_count(K_SYN_TIMEOUT), 1);
	const struct finding *t = t_find(K_SYN_TIMEOUT, 0);
	assert_string_equal(rule_of(t), "rtt");
	assert_int_equal(t->cport, 41101);
}

/* ---- floods, scans, backscatter ---- */

static void flood_stays_one_and_the_clients_starved_syn_is_reported(void **s)
{
	struct tframe f;
	char src[32];
	(void)s;
	/* The client worked with the server before the flood. */
	linux_conn(C, 41110, S, 64, 57, T0);
	for (int i = 0; i < 600; i++) {
		snprintf(src, sizeof src, "10.%d.%d.1", i / 250, i % 250);
		t_tcp(&f, src, (u16)(1024 + i), S, 443, (u32)i, 0, TH_SYN, NULL, 0, 64);
		t_feed(&f, T0 + 1000000 + (u64)i * 1000);
	}
	/* Its own connection during the flood: retried, never answered. */
	syn(41111, S, T0 + 1200000);
	syn(41111, S, T0 + 2200000);
	syn(41111, S, T0 + 4200000);
	end_at(T0 + 60000000);
	pipeline_file_end();
	assert_int_equal(t_count(K_SYN_FLOOD), 1);
	const struct finding *fl = t_find(K_SYN_FLOOD, 0);
	assert_true(json_integer_value(json_object_get(t_detail(fl), "count")) >= 600);
	assert_int_equal(t_count(K_SYN_TIMEOUT), 1);
	const struct finding *t = t_find(K_SYN_TIMEOUT, 0);
	assert_int_equal(t->cport, 41111);
	assert_int_equal(json_integer_value(json_object_get(t_detail(t), "flood")), fl->frame);
	assert_int_equal(t->origin, fl->origin);
	assert_int_equal(findings_checks(1)[AC_FLOODS], 1);
}

static void vertical_scan_is_one_finding_and_nobodys_failure(void **s)
{
	struct tframe f;
	(void)s;
	for (u16 p = 1; p <= 40; p++) {
		t_tcp(&f, C, 50000, S, p, 100 + p, 0, TH_SYN, NULL, 0, 64);
		t_feed(&f, T0 + p * 1000u);
		if (p % 10 == 0) { /* a closed port */
			t_tcp(&f, S, p, C, 50000, 0, 101 + p, TH_RST | TH_ACK, NULL, 0, 57);
			t_feed(&f, T0 + p * 1000u + 500);
		}
	}
	end_at(T0 + 30000000);
	pipeline_file_end();
	assert_int_equal(t_count(K_SCAN), 1);
	assert_int_equal(t_count(K_SYN_TIMEOUT), 0);
	assert_int_equal(t_count(K_TCP_REFUSED), 0);
	const struct finding *sc = t_find(K_SCAN, 0);
	assert_int_equal(json_integer_value(json_object_get(t_detail(sc), "count")), 40);
	assert_int_equal(json_integer_value(json_object_get(t_detail(sc), "ports")), 40);
	assert_int_equal(json_integer_value(json_object_get(t_detail(sc), "targets")), 1);
	assert_string_equal(json_string_value(json_object_get(t_detail(sc), "source")), C);
	assert_string_equal(json_string_value(json_object_get(t_detail(sc), "target")), S);
	assert_string_equal(sc->group, ""); /* about the capture: no service's verdict */
	const struct group_stats *g = findings_group_find(S);
	assert_true(!g || g->failed[CAT_TCP] == 0);
	assert_int_equal(findings_checks(1)[AC_SCANS], 1);
}

static void horizontal_scan_and_an_outage_told_apart(void **s)
{
	struct tframe f;
	char dst[32];
	(void)s;
	/* One source tries port 22 on 30 addresses once each. */
	for (int i = 0; i < 30; i++) {
		snprintf(dst, sizeof dst, "203.0.113.%d", i + 1);
		t_tcp(&f, "192.168.1.66", 50001, dst, 22, (u32)i, 0, TH_SYN, NULL, 0, 64);
		t_feed(&f, T0 + (u64)i * 1000);
	}
	/* Another client's 25 connections during an outage: each retried. */
	for (int i = 0; i < 25; i++) {
		snprintf(dst, sizeof dst, "198.51.100.%d", i + 100);
		for (int r = 0; r < 3; r++) {
			t_tcp(&f, C, (u16)(42000 + i), dst, 443, 7, 0, TH_SYN, NULL, 0, 64);
			t_feed(&f, T0 + 100000 + (u64)i * 1000 + (u64)r * 1000000);
		}
	}
	end_at(T0 + 30000000);
	pipeline_file_end();
	assert_int_equal(t_count(K_SCAN), 1);
	assert_string_equal(json_string_value(json_object_get(t_detail(t_find(K_SCAN, 0)), "source")), "192.168.1.66");
	assert_int_equal(t_count(K_SYN_TIMEOUT), 25);
	for (size_t i = 0; i < 25; i++)
		assert_string_equal(t_find(K_SYN_TIMEOUT, (int)i)->cli.b[3] == 10 ? "ok" : "bad", "ok");
}

static void many_ports_that_carry_data_are_no_scan(void **s)
{
	(void)s;
	/* An FTP-like client: 25 data connections to 25 ports of its server. */
	for (u16 i = 0; i < 25; i++) {
		u64 t = T0 + i * 100000u;
		feed_seg(C, (u16)(43000 + i), S, (u16)(30000 + i), 100, 0, TH_SYN, NULL, 0, 64, 1, 1, t);
		feed_seg(S, (u16)(30000 + i), C, (u16)(43000 + i), 900, 101, TH_SYN | TH_ACK, NULL, 0, 57, 0, 1, t + 1000);
		feed_seg(C, (u16)(43000 + i), S, (u16)(30000 + i), 101, 901, TH_ACK, NULL, 0, 64, 2, 1, t + 1100);
		feed_seg(S, (u16)(30000 + i), C, (u16)(43000 + i), 901, 101, TH_ACK, "file data!", 10, 57, 1, 1, t + 2000);
	}
	end_at(T0 + 30000000);
	pipeline_file_end();
	assert_int_equal(t_count(K_SCAN), 0);
	assert_int_equal(findings_checks(0)[AC_SCANS] >= 1, 1);
	assert_int_equal(findings_checks(1)[AC_SCANS], 0);
}

static void backscatter_fails_nobody(void **s)
{
	struct tframe f;
	char src[32];
	(void)s;
	/* SYN-ACKs and resets toward a LAN host that sent no SYN. */
	for (int i = 0; i < 50; i++) {
		snprintf(src, sizeof src, "203.0.113.%d", i + 1);
		t_tcp(&f, src, 80, C, (u16)(30000 + i), 5, 1000, i % 2 ? TH_RST | TH_ACK : TH_SYN | TH_ACK, NULL, 0, 50);
		t_feed(&f, T0 + (u64)i * 1000);
	}
	end_at(T0 + 30000000);
	pipeline_file_end();
	assert_int_equal(findings_count(), 0);
	for (size_t i = 0; i < findings_groups(); i++)
		assert_int_equal(findings_group(i)->failed[CAT_TCP], 0);
}

static void decode_notes_df_and_the_options_of_syns_and_resets(void **s)
{
	struct tframe f;
	struct packet pk;
	(void)s;
	/* MSS, NOP, window scale, SACK permitted, timestamps; then a kind
	 * whose length runs past the header, read no further. */
	static const u8 opts[] = { 2, 4, 5, 180, 1, 3, 3, 7, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 1, 30, 9 };
	u32 o = t_eth_ip4(&f, C, S, 6, 64, 20 + sizeof opts);
	memset(f.b + o, 0, 20);
	put16(f.b + o, 5000);
	put16(f.b + o + 2, 443);
	f.b[o + 12] = (u8)((20 + sizeof opts) / 4 << 4);
	f.b[o + 13] = TH_SYN;
	memcpy(f.b + o + 20, opts, sizeof opts);
	f.b[14 + 6] = 0x40;
	struct cap_pkt cp = { .data = f.b, .caplen = f.n, .len = f.n, .linktype = 1, .frame = 1 };
	assert_int_equal(decode_packet(&cp, &pk), DEC_OK);
	assert_int_equal(pk.df, 1);
	assert_int_equal(pk.tcp_opts, TOPT_MSS | TOPT_WSCALE | TOPT_SACKOK | TOPT_TS);
	/* A data segment's options are not read; nor is DF set without the bit. */
	f.b[o + 13] = TH_ACK;
	f.b[14 + 6] = 0;
	assert_int_equal(decode_packet(&cp, &pk), DEC_OK);
	assert_int_equal(pk.df, 0);
	assert_int_equal(pk.tcp_opts, 0);
}

/* An ICMP host unreachable from router, quoting the client's SYN. */
static void icmp_unreach(const char *router, u8 ttl, const char *dst, u16 cp, u64 at)
{
	struct tframe f;
	u32 o = t_eth_ip4(&f, router, C, 1, ttl, 8 + 28);
	memset(f.b + o, 0, 36);
	f.b[o] = 3;
	f.b[o + 1] = 1;
	u8 *q = f.b + o + 8;
	q[0] = 0x45;
	put16(q + 2, 40);
	q[8] = 63;
	q[9] = 6;
	inet_pton(AF_INET, C, q + 12);
	inet_pton(AF_INET, dst, q + 16);
	put16(q + 20, cp);
	put16(q + 22, 443);
	put32(q + 24, 100);
	t_feed(&f, at);
}

static void icmp_from_a_router_is_placed_by_its_distance(void **s)
{
	(void)s;
	/* The server is 10 hops away; the gateway (hop 0) and a router 3 hops
	 * out each report a SYN they could not deliver. */
	linux_conn(C, 41130, S, 64, 54, T0);
	syn(41131, S, T0 + 100000);
	icmp_unreach("192.168.1.1", 64, S, 41131, T0 + 100100);
	syn(41132, S, T0 + 200000);
	icmp_unreach("203.0.113.254", 252, S, 41132, T0 + 200100);
	pipeline_file_end();
	assert_int_equal(t_count(K_ICMP_UNREACHABLE), 2);
	assert_int_equal(t_find(K_ICMP_UNREACHABLE, 0)->origin, O_LOCAL);
	assert_int_equal(t_find(K_ICMP_UNREACHABLE, 1)->origin, O_ONPATH);
}

static void one_source_flooding_without_retries_is_a_flood(void **s)
{
	struct tframe f;
	(void)s;
	/* 300 SYNs from one address to one port, none retransmitted: a flood
	 * (one port is no scan), not 300 unanswered connections. */
	for (int i = 0; i < 300; i++) {
		t_tcp(&f, "192.168.1.77", (u16)(20000 + i), S, 443, (u32)i, 0, TH_SYN, NULL, 0, 64);
		t_feed(&f, T0 + (u64)i * 1000);
	}
	end_at(T0 + 30000000);
	pipeline_file_end();
	assert_int_equal(t_count(K_SYN_FLOOD), 1);
	assert_int_equal(t_count(K_SYN_TIMEOUT), 0);
	assert_int_equal(t_count(K_SCAN), 0);
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
		cmocka_unit_test_setup_teardown(reset_place_holds_for_near_and_far_servers, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(capture_beyond_the_clients_is_learnt, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(hop_zero_is_learnt_per_family_and_from_real_clients, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(ttl_and_ip_id_together_make_an_injection, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(one_signal_alone_is_no_injection, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(data_after_the_reset_is_conclusive, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(resets_stepping_through_the_window_and_too_soon, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(local_firewall_reset_is_local_not_forged, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(synack_after_the_refusal_is_conclusive, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(client_that_retried_and_went_on_gave_up, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(fallback_to_another_address_of_the_name_gave_up, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(retransmissions_that_stopped_gave_up, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(fallback_to_the_other_family_gave_up, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(ipv6_flow_label_is_a_signal, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(many_round_trips_of_silence_is_unanswered, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(flood_stays_one_and_the_clients_starved_syn_is_reported, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(vertical_scan_is_one_finding_and_nobodys_failure, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(horizontal_scan_and_an_outage_told_apart, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(many_ports_that_carry_data_are_no_scan, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(backscatter_fails_nobody, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(icmp_from_a_router_is_placed_by_its_distance, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(one_source_flooding_without_retries_is_a_flood, t_setup, t_teardown),
		cmocka_unit_test(decode_notes_df_and_the_options_of_syns_and_resets),
		cmocka_unit_test(flow_table_stays_bounded_and_evicts_oldest),
	};
	return cmocka_run_group_tests_name("tcp", tests, NULL, NULL);
}
