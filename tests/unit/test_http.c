/* \summary: http: status lines split across segments, 5xx findings with
 * Server and request, keep-alive (Content-Length, chunked), retransmissions
 * not parsed twice, hostile heads. */
#include "testutil.h"
#include "panne/http.h"

#define C "192.168.1.10"
#define S "198.51.100.20"
#define T0 1700000000000000ull

static u32 cseq, sseq;

static void handshake(u16 cp)
{
	struct tframe f;
	cseq = 1000, sseq = 5000;
	t_tcp(&f, C, cp, S, 80, cseq, 0, TH_SYN, NULL, 0, 64);
	t_feed(&f, T0);
	t_tcp(&f, S, 80, C, cp, sseq, cseq + 1, TH_SYN | TH_ACK, NULL, 0, 60);
	t_feed(&f, T0 + 100);
	cseq++, sseq++;
	t_tcp(&f, C, cp, S, 80, cseq, sseq, TH_ACK, NULL, 0, 64);
	t_feed(&f, T0 + 200);
}

static void send_c(u16 cp, const char *s, u64 at)
{
	struct tframe f;
	t_tcp(&f, C, cp, S, 80, cseq, sseq, TH_ACK | TH_PSH, s, (u32)strlen(s), 64);
	t_feed(&f, at);
	cseq += (u32)strlen(s);
}

static void send_s(u16 cp, const char *s, u64 at)
{
	struct tframe f;
	t_tcp(&f, S, 80, C, cp, sseq, cseq, TH_ACK | TH_PSH, s, (u32)strlen(s), 60);
	t_feed(&f, at);
	sseq += (u32)strlen(s);
}

static void split_503_is_one_finding_with_server_and_request(void **s)
{
	(void)s;
	handshake(40000);
	send_c(40000, "GET /browse HTTP/1.1\r\nHost: www.netflix.com\r\n\r\n", T0 + 300);
	send_s(40000, "HTTP/1.1 50", T0 + 400);
	send_s(40000, "3 Service Unavailable\r\nServer: nginx\r\nContent-Length: 0\r\n\r\n", T0 + 500);
	pipeline_file_end();
	const struct finding *f = t_find(K_HTTP_5XX, 0);
	assert_non_null(f);
	assert_int_equal(t_count(K_HTTP_5XX), 1);
	assert_int_equal(json_integer_value(json_object_get(t_detail(f), "status")), 503);
	assert_string_equal(json_string_value(json_object_get(t_detail(f), "server_header")), "nginx");
	assert_string_equal(json_string_value(json_object_get(t_detail(f), "uri")), "/browse");
	assert_string_equal(f->group, "netflix");
	assert_int_equal(f->frame, 6);
	assert_int_equal(f->ev[1], 4);
}

static void keep_alive_bodies_are_skipped_to_the_next_status(void **s)
{
	(void)s;
	handshake(40001);
	send_c(40001, "GET /a HTTP/1.1\r\nHost: www.netflix.com\r\n\r\nGET /b HTTP/1.1\r\nHost: www.netflix.com\r\n\r\nGET /c HTTP/1.1\r\nHost: x\r\n\r\n", T0 + 300);
	send_s(40001, "HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\nHTTP/1.1 500", T0 + 400); /* body looks like a status */
	send_s(40001, "HTTP/1.1 502 Bad Gateway\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nHTTP/\r\n0\r\n\r\n", T0 + 500);
	send_s(40001, "HTTP/1.1 504 Gateway Timeout\r\nContent-Length: 0\r\n\r\n", T0 + 600);
	pipeline_file_end();
	assert_int_equal(t_count(K_HTTP_5XX), 2);
	assert_int_equal(json_integer_value(json_object_get(t_detail(t_find(K_HTTP_5XX, 0)), "status")), 502);
	assert_string_equal(json_string_value(json_object_get(t_detail(t_find(K_HTTP_5XX, 1)), "uri")), "/c");
	const struct group_stats *g = findings_group_find("netflix");
	assert_int_equal(g->seen[CAT_HTTP], 3);
	assert_int_equal(g->failed[CAT_HTTP], 2);
}

static void retransmitted_response_is_not_counted_twice(void **s)
{
	struct tframe f;
	const char *r = "HTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n";
	(void)s;
	handshake(40002);
	send_c(40002, "GET / HTTP/1.1\r\nHost: www.netflix.com\r\n\r\n", T0 + 300);
	t_tcp(&f, S, 80, C, 40002, sseq, cseq, TH_ACK, r, (u32)strlen(r), 60);
	t_feed(&f, T0 + 400);
	t_feed(&f, T0 + 900);
	pipeline_file_end();
	assert_int_equal(t_count(K_HTTP_5XX), 1);
}

static void a_503_after_lost_segments_is_still_found(void **s)
{
	(void)s;
	handshake(40002);
	send_c(40002, "GET /a HTTP/1.1\r\nHost: www.netflix.com\r\n\r\n", T0 + 300);
	send_s(40002, "HTTP/1.1 200 OK\r\nContent-Length: 3000\r\n\r\n0123456789", T0 + 400);
	sseq += 2990; /* the rest of that body was lost before the capture point */
	send_c(40002, "GET /b HTTP/1.1\r\nHost: www.netflix.com\r\n\r\n", T0 + 500);
	send_s(40002, "some bytes that start nothing", T0 + 600);          /* not a response */
	send_s(40002, "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n", T0 + 700);
	pipeline_file_end();
	assert_int_equal(t_count(K_HTTP_5XX), 1);
	assert_int_equal(t_find(K_HTTP_5XX, 0)->frame, 8);
	assert_int_equal(http_stats()->responses, 2);
}

static void body_bytes_that_look_like_a_status_line_are_body(void **s)
{
	(void)s;
	handshake(40003);
	send_c(40003, "GET /log HTTP/1.1\r\nHost: example.com\r\n\r\n", T0 + 300);
	send_s(40003, "HTTP/1.1 200 OK\r\nContent-Length: 60\r\n\r\n", T0 + 400);
	send_s(40003, "HTTP/1.1 503 Service Unavailable\r\n (a log line in the body)", T0 + 500);
	pipeline_file_end();
	assert_int_equal(t_count(K_HTTP_5XX), 0);
	assert_int_equal(http_stats()->responses, 1);
}

static int detect(const char *s) { return http_detect((const u8 *)s, (u32)strlen(s)); }

static void extension_methods_are_http_when_the_line_names_the_version(void **s)
{
	(void)s;
	assert_true(detect("GET /"));                       /* a usual method: its first bytes do */
	assert_true(detect("PROPFIND /cal/ HTTP/1.1\r\nDepth: 1\r\n"));
	assert_true(detect("CCM_POST / HTTP/1.0\r\n"));
	assert_false(detect("PROPFIND /cal/"));             /* no version yet: not enough */
	assert_false(detect("DESCRIBE rtsp://cam/ RTSP/1.0\r\n"));
	assert_false(detect("GET/ HTTP/1.1\r\n"));         /* no space after the method */
	assert_false(detect("get / HTTP/1.1\r\n"));        /* methods are upper case */
	assert_false(detect("PROPFIND /\r\nX: HTTP/1.1\r\n")); /* the version must be on the first line */
	assert_false(detect(""));
}

static void hostile_heads_do_not_crash(void **s)
{
	char junk[3000];
	(void)s;
	handshake(40003);
	send_c(40003, "GET / HTTP/1.1\r\nHost: \xff\xfe\r\n\r\n", T0 + 300);
	memset(junk, 'A', sizeof junk - 1);
	junk[sizeof junk - 1] = 0;
	send_s(40003, "HTTP/1.1 599 \x01\x02\r\nContent-Length: 99999999999999999999\r\n\r\n", T0 + 400);
	send_s(40003, junk, T0 + 500);
	pipeline_file_end();
	const struct finding *f = t_find(K_HTTP_5XX, 0);
	assert_non_null(f);
	/* Wire bytes are escaped before they reach any output. */
	assert_non_null(strstr(json_string_value(json_object_get(t_detail(f), "reason")), "\\x01"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(split_503_is_one_finding_with_server_and_request, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(keep_alive_bodies_are_skipped_to_the_next_status, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(retransmitted_response_is_not_counted_twice, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(extension_methods_are_http_when_the_line_names_the_version, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(a_503_after_lost_segments_is_still_found, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(body_bytes_that_look_like_a_status_line_are_body, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(hostile_heads_do_not_crash, t_setup, t_teardown),
	};
	return cmocka_run_group_tests_name("http", tests, NULL, NULL);
}
