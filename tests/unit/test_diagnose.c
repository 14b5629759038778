/* \summary: diagnose as pure logic: findings and exchange counts in,
 * status and attribution out, with control groups. */
#include "testutil.h"

#define T0 1700000000000000ull

static void emit(int kind, const char *name, const char *srv, int origin, u32 frame)
{
	struct finding f;
	finding_init(&f, kind, NULL, T0 + frame, 0, frame);
	finding_set_name(&f, name);
	addr_parse(srv, &f.srv);
	f.origin = (u8)origin;
	findings_emit(&f);
}

static void exchanges(int cat, const char *name, const char *srv, int seen, int failed)
{
	struct addr a;
	addr_parse(srv, &a);
	for (int i = 0; i < seen; i++)
		findings_exchange(cat, name, &a, NULL, T0 + (u64)i, i < failed);
}

/* One exchange at second sec of the capture, from client cli. */
static void exchange_at(int cat, const char *name, const char *srv, const char *cli, u32 sec, int failed)
{
	struct addr a, c;
	addr_parse(srv, &a);
	addr_parse(cli, &c);
	findings_exchange(cat, name, &a, &c, T0 + (u64)sec * 1000000u, failed);
}

/* A finding at second sec, from client cli. */
static void emit_at(int kind, const char *name, const char *srv, const char *cli, int origin, u32 sec, u32 frame)
{
	struct finding f;
	finding_init(&f, kind, NULL, T0 + (u64)sec * 1000000u, 0, frame);
	finding_set_name(&f, name);
	addr_parse(srv, &f.srv);
	addr_parse(cli, &f.cli);
	f.origin = (u8)origin;
	findings_emit(&f);
}

static int reasons_say(const struct verdict *v, const char *what)
{
	for (size_t i = 0; i < json_array_size(v->reasons); i++)
		if (strstr(json_string_value(json_array_get(v->reasons, i)), what))
			return 1;
	return 0;
}

static const struct verdict *find_v(const struct verdict *v, size_t n, const char *g)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].group, g) == 0)
			return &v[i];
	return NULL;
}

/* The attribution diagnose gives group, for tests with one question. */
static int attribution_of(const char *group)
{
	size_t n;
	struct verdict *v = diagnose_run(&n);
	const struct verdict *g = find_v(v, n, group);
	int a = g ? g->attribution : -1;
	diagnose_free(v, n);
	return a;
}

static void errors_from_one_service_while_others_work_is_upstream(void **s)
{
	size_t n;
	(void)s;
	exchanges(CAT_HTTP, "www.netflix.com", "198.51.100.20", 4, 3);
	emit(K_HTTP_5XX, "www.netflix.com", "198.51.100.20", O_SERVER, 10);
	emit(K_HTTP_5XX, "www.netflix.com", "198.51.100.20", O_SERVER, 20);
	emit(K_HTTP_5XX, "www.netflix.com", "198.51.100.20", O_SERVER, 30);
	exchanges(CAT_HTTP, "open.spotify.com", "198.51.100.10", 5, 0);
	struct verdict *v = diagnose_run(&n);
	const struct verdict *nf = find_v(v, n, "netflix"), *sp = find_v(v, n, "spotify");
	assert_non_null(nf);
	assert_int_equal(nf->status, ST_FAILING);
	assert_int_equal(nf->attribution, AT_UPSTREAM);
	assert_true(nf->confidence >= 0.7);
	assert_int_equal(nf->n_ev, 3);
	/* Reasons name their frames. */
	assert_non_null(strstr(json_string_value(json_array_get(nf->reasons, 0)), "10, 20, 30"));
	assert_int_equal(sp->status, ST_HEALTHY);
	assert_int_equal(sp->attribution, AT_NONE);
	diagnose_free(v, n);
}

static void silence_everywhere_is_local(void **s)
{
	size_t n;
	(void)s;
	exchanges(CAT_DNS, "open.spotify.com", "192.168.1.1", 2, 2);
	emit(K_DNS_TIMEOUT, "open.spotify.com", "192.168.1.1", O_RESOLVER, 1);
	emit(K_DNS_TIMEOUT, "open.spotify.com", "192.168.1.1", O_RESOLVER, 2);
	exchanges(CAT_DNS, "example.org", "192.168.1.1", 3, 3);
	struct verdict *v = diagnose_run(&n);
	const struct verdict *sp = find_v(v, n, "spotify");
	assert_int_equal(sp->status, ST_FAILING);
	assert_int_equal(sp->attribution, AT_LOCAL);
	diagnose_free(v, n);
}

static void silence_for_one_service_only_is_upstream(void **s)
{
	(void)s;
	exchanges(CAT_TCP, "discord.com", "198.51.100.30", 2, 2);
	emit(K_SYN_TIMEOUT, "discord.com", "198.51.100.30", O_UNKNOWN, 5);
	exchanges(CAT_TCP, "example.org", "198.51.100.50", 6, 0);
	assert_int_equal(attribution_of("discord"), AT_UPSTREAM);
}

static void injected_answers_are_attack_like(void **s)
{
	(void)s;
	exchanges(CAT_DNS, "www.netflix.com", "192.168.1.1", 1, 1);
	emit(K_DNS_INJECTION, "www.netflix.com", "192.168.1.1", O_ONPATH, 7);
	assert_int_equal(attribution_of("netflix"), AT_ATTACK);
}

static void reset_from_near_the_client_is_local(void **s)
{
	(void)s;
	exchanges(CAT_TCP, "open.spotify.com", "198.51.100.10", 1, 1);
	emit(K_TCP_REFUSED, "open.spotify.com", "198.51.100.10", O_LOCAL, 3);
	assert_int_equal(attribution_of("spotify"), AT_LOCAL);
}

static void services_failing_together_on_one_server_share_an_upstream(void **s)
{
	size_t n;
	(void)s;
	const char *names[] = { "open.spotify.com", "www.netflix.com", "discord.com" };
	for (int i = 0; i < 3; i++) {
		exchanges(CAT_HTTP, names[i], "198.51.100.60", 1, 1);
		emit(K_HTTP_5XX, names[i], "198.51.100.60", O_SERVER, (u32)(10 + i));
	}
	struct verdict *v = diagnose_run(&n);
	const struct verdict *d = find_v(v, n, "discord");
	assert_int_equal(d->attribution, AT_UPSTREAM);
	int found = 0;
	for (size_t i = 0; i < json_array_size(d->reasons); i++)
		found |= strstr(json_string_value(json_array_get(d->reasons, i)), "common upstream") != NULL;
	assert_true(found);
	diagnose_free(v, n);
}

static void named_but_absent_service_is_unseen(void **s)
{
	size_t n;
	char *list[] = { "tidal", NULL };
	(void)s;
	g_opts.scope = SCOPE_LIST;
	g_opts.scope_list = list;
	struct verdict *v = diagnose_run(&n);
	assert_int_equal(n, 1);
	assert_int_equal(v[0].status, ST_UNSEEN);
	diagnose_free(v, n);
	g_opts.scope_list = NULL;
}

static void one_directional_capture_lowers_confidence(void **s)
{
	size_t n;
	(void)s;
	exchanges(CAT_TCP, "discord.com", "198.51.100.30", 2, 2);
	emit(K_SYN_TIMEOUT, "discord.com", "198.51.100.30", O_UNKNOWN, 5);
	exchanges(CAT_TCP, "example.org", "198.51.100.50", 6, 0);
	struct verdict *v = diagnose_run(&n);
	double sure = find_v(v, n, "discord")->confidence;
	diagnose_free(v, n);
	findings_quality()->tcp_conns = 10;
	findings_quality()->tcp_one_way = 8;
	v = diagnose_run(&n);
	const struct verdict *d = find_v(v, n, "discord");
	assert_true(d->confidence <= sure / 2 + 1e-9);
	assert_non_null(strstr(json_string_value(json_array_get(d->reasons, json_array_size(d->reasons) - 1)), "one-directional"));
	diagnose_free(v, n);
}

/* Minutes of healthy traffic, then every destination fails, DNS included:
 * what worked before the cut must not make it read as each service's. */
static void uplink_cut_mid_capture_is_local(void **s)
{
	size_t n;
	(void)s;
	const char *names[] = { "open.spotify.com", "www.netflix.com", "discord.com", "example.org" };
	const char *srvs[] = { "198.51.100.10", "198.51.100.20", "198.51.100.30", "198.51.100.50" };
	for (u32 t = 0; t < 180; t += 10)
		for (int i = 0; i < 4; i++) {
			exchange_at(CAT_DNS, names[i], "192.168.1.1", "192.168.1.20", t, 0);
			exchange_at(CAT_TCP, names[i], srvs[i], "192.168.1.20", t + 1, 0);
		}
	u32 frame = 1000;
	for (u32 t = 180; t < 240; t += 10)
		for (int i = 0; i < 4; i++) {
			exchange_at(CAT_DNS, names[i], "192.168.1.1", "192.168.1.20", t, 1);
			emit_at(K_DNS_TIMEOUT, names[i], "192.168.1.1", "192.168.1.20", O_RESOLVER, t + 5, frame++);
			exchange_at(CAT_TCP, names[i], srvs[i], "192.168.1.20", t + 1, 1);
			emit_at(K_SYN_TIMEOUT, names[i], srvs[i], "192.168.1.20", O_UNKNOWN, t + 11, frame++);
		}
	struct verdict *v = diagnose_run(&n);
	for (int i = 0; i < 3; i++) {
		const struct verdict *x = &v[i];
		assert_int_equal(x->status, ST_DEGRADED);
		assert_int_equal(x->attribution, AT_LOCAL);
		assert_true(x->onset_us == T0 + 180 * 1000000ull);
		assert_true(x->recovery_us == 0);
		assert_true(reasons_say(x, "DNS included"));
		assert_false(reasons_say(x, "only for this service"));
	}
	diagnose_free(v, n);
}

/* A failure that ends: onset at its first failure, recovery at the first
 * success after the last one. */
static void recovery_is_the_first_success_after_the_last_failure(void **s)
{
	size_t n;
	(void)s;
	for (u32 t = 0; t < 100; t += 10)
		exchange_at(CAT_HTTP, "www.netflix.com", "198.51.100.20", "192.168.1.20", t, t >= 30 && t < 70);
	emit_at(K_HTTP_5XX, "www.netflix.com", "198.51.100.20", "192.168.1.20", O_SERVER, 30, 5);
	struct verdict *v = diagnose_run(&n);
	const struct verdict *nf = find_v(v, n, "netflix");
	assert_true(nf->onset_us == T0 + 30 * 1000000ull);
	assert_true(nf->recovery_us == T0 + 70 * 1000000ull);
	diagnose_free(v, n);
}

/* One name failing for one client while it works for others at the same
 * time: the service answers; the reason says who. */
static void one_client_failing_while_others_work_is_said(void **s)
{
	size_t n;
	(void)s;
	for (u32 t = 0; t < 60; t += 10) {
		exchange_at(CAT_TCP, "api.spotify.com", "198.51.100.11", "10.0.0.5", t, 1);
		exchange_at(CAT_TCP, "api.spotify.com", "198.51.100.11", "10.0.0.6", t, 0);
		exchange_at(CAT_TCP, "api.spotify.com", "198.51.100.11", "10.0.0.7", t, 0);
	}
	emit_at(K_SYN_TIMEOUT, "api.spotify.com", "198.51.100.11", "10.0.0.5", O_UNKNOWN, 10, 9);
	struct verdict *v = diagnose_run(&n);
	const struct verdict *sp = find_v(v, n, "spotify");
	assert_int_equal(sp->status, ST_DEGRADED);
	assert_int_equal(json_integer_value(json_object_get(sp->clients, "affected_count")), 1);
	assert_int_equal(json_integer_value(json_object_get(sp->clients, "unaffected_count")), 2);
	assert_true(reasons_say(sp, "fails for 1 client while it works for 2 others"));
	diagnose_free(v, n);
}

/* attack_checks: counted by the analyzers, said in one sentence. */
static void attack_checks_are_counted_and_said(void **s)
{
	size_t n;
	struct addr a;
	(void)s;
	addr_parse("198.51.100.40", &a);
	exchanges(CAT_TCP, "www.youtube.com", "198.51.100.40", 3, 0);
	for (int i = 0; i < 12; i++)
		findings_attack_check(AC_RESETS, "www.youtube.com", &a, 0);
	for (int i = 0; i < 5; i++)
		findings_attack_check(AC_CHAINS, "www.youtube.com", &a, 0);
	struct verdict *v = diagnose_run(&n);
	const struct verdict *yt = find_v(v, n, "youtube");
	assert_int_equal(json_integer_value(json_object_get(yt->attack_checks, "resets_scored")), 12);
	assert_int_equal(json_integer_value(json_object_get(yt->attack_checks, "chains_verified")), 5);
	assert_non_null(strstr(yt->attack_text, "no sign of an attack"));
	assert_non_null(strstr(yt->attack_text, "12 resets scored"));
	diagnose_free(v, n);
	char buf[384];
	json_t *all = diagnose_attack_checks(buf, sizeof buf);
	assert_int_equal(json_integer_value(json_object_get(all, "resets_scored")), 12);
	json_decref(all);
}

static void quic_silent_everywhere_while_tls_works_is_a_local_udp_block(void **s)
{
	size_t n;
	(void)s;
	exchanges(CAT_QUIC, "www.youtube.com", "198.51.100.40", 2, 2);
	emit(K_QUIC_TIMEOUT, "www.youtube.com", "198.51.100.40", O_UNKNOWN, 5);
	emit(K_QUIC_TIMEOUT, "www.youtube.com", "198.51.100.40", O_UNKNOWN, 6);
	exchanges(CAT_TLS, "www.youtube.com", "198.51.100.40", 3, 0);
	exchanges(CAT_QUIC, "open.spotify.com", "198.51.100.10", 1, 1);
	emit(K_QUIC_TIMEOUT, "open.spotify.com", "198.51.100.10", O_UNKNOWN, 7);
	exchanges(CAT_TLS, "open.spotify.com", "198.51.100.10", 2, 0);
	struct verdict *v = diagnose_run(&n);
	const struct verdict *yt = find_v(v, n, "youtube");
	assert_non_null(yt);
	assert_int_equal(yt->status, ST_DEGRADED); /* browsers fall back to TCP: slowed, not down */
	assert_int_equal(yt->attribution, AT_LOCAL);
	assert_non_null(strstr(json_string_value(json_array_get(yt->reasons, 0)), "UDP 443 is blocked"));
	diagnose_free(v, n);
}

static void quic_silent_for_one_service_while_quic_elsewhere_works_is_its_edge(void **s)
{
	size_t n;
	(void)s;
	exchanges(CAT_QUIC, "www.youtube.com", "198.51.100.40", 2, 2);
	emit(K_QUIC_TIMEOUT, "www.youtube.com", "198.51.100.40", O_UNKNOWN, 5);
	exchanges(CAT_TLS, "www.youtube.com", "198.51.100.40", 1, 0);
	exchanges(CAT_QUIC, "open.spotify.com", "198.51.100.10", 4, 0);
	exchanges(CAT_QUIC, "www.netflix.com", "198.51.100.20", 3, 0);
	struct verdict *v = diagnose_run(&n);
	const struct verdict *yt = find_v(v, n, "youtube");
	assert_int_equal(yt->status, ST_DEGRADED);
	assert_int_equal(yt->attribution, AT_UPSTREAM);
	assert_non_null(strstr(json_string_value(json_array_get(yt->reasons, 0)), "QUIC edge"));
	/* Without TLS over TCP to fall back to, QUIC failing is failing. */
	diagnose_free(v, n);
	findings_reset();
	exchanges(CAT_QUIC, "www.youtube.com", "198.51.100.40", 2, 2);
	emit(K_QUIC_TIMEOUT, "www.youtube.com", "198.51.100.40", O_UNKNOWN, 5);
	exchanges(CAT_QUIC, "open.spotify.com", "198.51.100.10", 4, 0);
	v = diagnose_run(&n);
	assert_int_equal(find_v(v, n, "youtube")->status, ST_FAILING);
	diagnose_free(v, n);
}

static void quic_close_with_a_server_alert_is_upstream(void **s)
{
	(void)s;
	struct finding f;
	exchanges(CAT_QUIC, "www.youtube.com", "198.51.100.40", 1, 1);
	finding_init(&f, K_QUIC_CLOSE, NULL, T0, 0, 9);
	finding_set_name(&f, "www.youtube.com");
	addr_parse("198.51.100.40", &f.srv);
	f.origin = O_SERVER;
	json_object_set_new(f.detail, "alert", json_integer(40));
	json_object_set_new(f.detail, "alert_name", json_string("handshake_failure"));
	findings_emit(&f);
	exchanges(CAT_QUIC, "open.spotify.com", "198.51.100.10", 2, 0);
	assert_int_equal(attribution_of("youtube"), AT_UPSTREAM);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(errors_from_one_service_while_others_work_is_upstream, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(silence_everywhere_is_local, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(silence_for_one_service_only_is_upstream, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(injected_answers_are_attack_like, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(reset_from_near_the_client_is_local, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(services_failing_together_on_one_server_share_an_upstream, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(named_but_absent_service_is_unseen, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(quic_silent_everywhere_while_tls_works_is_a_local_udp_block, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(quic_silent_for_one_service_while_quic_elsewhere_works_is_its_edge, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(quic_close_with_a_server_alert_is_upstream, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(one_directional_capture_lowers_confidence, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(uplink_cut_mid_capture_is_local, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(recovery_is_the_first_success_after_the_last_failure, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(one_client_failing_while_others_work_is_said, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(attack_checks_are_counted_and_said, t_setup, t_teardown),
	};
	return cmocka_run_group_tests_name("diagnose", tests, NULL, NULL);
}
