/* \summary: pieces of panne probe that need no network: which answers are
 * bogus for a public name, which names are public, and that exchanges are
 * the probe's to count once probe mode is on. */
#include "testutil.h"

static struct addr A(const char *s)
{
	struct addr a;
	assert_int_equal(addr_parse(s, &a), 0);
	return a;
}

static void bogus_addresses(void **state)
{
	(void)state;
	static const char *bad[] = { "127.0.0.1", "10.66.0.10", "172.16.3.4", "172.31.255.1", "192.168.1.1",
		                     "169.254.1.1", "0.0.0.0", "146.112.61.104", "::1", "::", "fd00::1", "fe80::1" };
	static const char *good[] = { "198.51.100.10", "172.32.0.1", "8.8.8.8", "146.112.61.111", "2001:db8::1" };
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		struct addr a = A(bad[i]);
		if (!addr_bogus(&a))
			fail_msg("%s should be bogus", bad[i]);
	}
	for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
		struct addr a = A(good[i]);
		if (addr_bogus(&a))
			fail_msg("%s should not be bogus", good[i]);
	}
}

static void public_names(void **state)
{
	(void)state;
	assert_true(name_is_public("open.spotify.com"));
	assert_true(name_is_public("discord.com"));
	assert_false(name_is_public("router.lan"));
	assert_false(name_is_public("printer.local"));
	assert_false(name_is_public("localhost"));
	assert_false(name_is_public("x.test"));
	assert_false(name_is_public(""));
}

static void probe_counts_exchanges_once(void **state)
{
	(void)state;
	struct addr s = A("198.51.100.20");
	findings_exchange(CAT_TLS, "www.netflix.com", &s, NULL, 1, 0);
	findings_exchanges_by_probe();
	findings_exchange(CAT_TLS, "www.netflix.com", &s, NULL, 2, 1); /* an analyzer's: ignored now */
	findings_probe_exchange(CAT_HTTP, "www.netflix.com", &s, NULL, 3, 1);
	const struct group_stats *g = findings_group_find("netflix");
	assert_non_null(g);
	assert_int_equal(g->seen[CAT_TLS], 1);
	assert_int_equal(g->failed[CAT_TLS], 0);
	assert_int_equal(g->seen[CAT_HTTP], 1);
	assert_int_equal(g->failed[CAT_HTTP], 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(bogus_addresses),
		cmocka_unit_test(public_names),
		cmocka_unit_test_setup_teardown(probe_counts_exchanges_once, t_setup, t_teardown),
	};
	return cmocka_run_group_tests_name("probe", tests, NULL, NULL);
}
