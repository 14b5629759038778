/* \summary: `panne --explain`: every kind of the vocabulary has an entry
 * with every section, lookups by name and category, unknown names refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "panne/explain.h"
#include "panne/findings.h"

/* Output of explain_print / explain_list, captured through a memory stream. */
struct capture {
	char *buf;
	size_t len;
	FILE *f;
};

static FILE *cap_open(struct capture *c)
{
	c->buf = NULL;
	c->len = 0;
	c->f = open_memstream(&c->buf, &c->len);
	assert_non_null(c->f);
	return c->f;
}

static const char *cap_text(struct capture *c)
{
	fflush(c->f);
	return c->buf ? c->buf : "";
}

static void cap_close(struct capture *c)
{
	fclose(c->f);
	free(c->buf);
}

/* s with every run of blanks and newlines made one space, into out. */
static void squeeze(const char *s, char *out, size_t n)
{
	size_t o = 0;
	for (; *s && o + 1 < n; s++) {
		int blank = *s == ' ' || *s == '\n';
		if (!blank)
			out[o++] = *s;
		else if (o && out[o - 1] != ' ')
			out[o++] = ' ';
	}
	out[o] = 0;
}

static void every_kind_has_an_entry_of_its_name_and_category(void **s)
{
	(void)s;
	for (int k = 0; k < K_N; k++) {
		const struct explain_entry *e = explain_of_kind(k);
		if (!e)
			fail_msg("kind %s (%s) has no --explain entry", kind_name(k),
			         category_name(kind_category(k)));
		assert_string_equal(e->kind, kind_name(k));
		assert_string_equal(e->category, category_name(kind_category(k)));
	}
}

static void every_entry_is_a_kind_of_the_vocabulary(void **s)
{
	(void)s;
	assert_int_equal(explain_table_n, K_N);
	for (size_t i = 0; i < explain_table_n; i++) {
		const struct explain_entry *e = &explain_table[i];
		int found = 0;
		for (int k = 0; k < K_N; k++)
			found += explain_of_kind(k) == e;
		if (found != 1)
			fail_msg("entry %s/%s matches %d kinds", e->category, e->kind, found);
	}
}

static void every_entry_has_every_section_and_short_lines(void **s)
{
	static const char *heads[] = { "\nOn the wire\n", "\nCommon causes\n",
		                       "\nHow panne tells them apart\n", "\nWhat to check next\n",
		                       "\nWireshark display filter\n", "\nDetail: " };
	(void)s;
	for (size_t i = 0; i < explain_table_n; i++) {
		const struct explain_entry *e = &explain_table[i];
		assert_true(strlen(e->brief) > 10);
		assert_true(strlen(e->filter) > 3);
		/* The text opens with the kind's name and holds its filter. */
		assert_int_equal(strncmp(e->text, e->kind, strlen(e->kind)), 0);
		static char flat[16384];
		squeeze(e->text, flat, sizeof flat);
		if (!strstr(flat, e->filter))
			fail_msg("%s/%s: the filter is not in the text", e->category, e->kind);
		const char *prev = e->text;
		for (size_t h = 0; h < sizeof heads / sizeof *heads; h++) {
			const char *p = strstr(e->text, heads[h]);
			if (!p || p < prev)
				fail_msg("%s/%s: section '%s' missing or out of order", e->category, e->kind,
				         heads[h] + 1);
			prev = p;
		}
		/* Readable on an 80-column terminal; ends with a newline. */
		size_t col = 0;
		for (const char *c = e->text; *c; c++) {
			col = *c == '\n' ? 0 : col + 1;
			if (col >= 80)
				fail_msg("%s/%s: a line is 80 columns or more", e->category, e->kind);
		}
		assert_int_equal(e->text[strlen(e->text) - 1], '\n');
	}
}

static void refused_names_both_entries_and_a_category_picks_one(void **s)
{
	const struct explain_entry *e[4];
	(void)s;
	assert_int_equal(explain_lookup("refused", e, 4), 2);
	assert_string_equal(e[0]->category, "dns");
	assert_string_equal(e[1]->category, "tcp");
	assert_int_equal(explain_lookup("dns/refused", e, 4), 1);
	assert_ptr_equal(e[0], explain_of_kind(K_DNS_REFUSED));
	assert_int_equal(explain_lookup("tcp/refused", e, 4), 1);
	assert_ptr_equal(e[0], explain_of_kind(K_TCP_REFUSED));
	/* A kind found in two categories answers to either. */
	assert_int_equal(explain_lookup("dns/icmp_unreachable", e, 4), 1);
	assert_ptr_equal(e[0], explain_of_kind(K_ICMP_UNREACHABLE));
	assert_int_equal(explain_lookup("tcp/icmp_unreachable", e, 4), 1);
	/* The lookup never writes past max. */
	assert_int_equal(explain_lookup("refused", e, 1), 1);
	assert_int_equal(explain_lookup("all", e, 4), 4);
}

static void unknown_names_find_nothing(void **s)
{
	const struct explain_entry *e[2] = { NULL, NULL };
	(void)s;
	static const char *bad[] = { "", "nosuchkind", "REFUSED", "tls/refused", "/refused",
		                     "dns/", "refused/dns", "verylongcategoryname/refused",
		                     "dns/refused/x", "rst " };
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		if (explain_lookup(bad[i], e, 2) != 0)
			fail_msg("'%s' matched an entry", bad[i]);
	}
	assert_null(e[0]);
	assert_int_equal(explain_lookup(NULL, e, 2), 0);
	assert_null(explain_of_kind(-1));
	assert_null(explain_of_kind(K_N));
}

static void print_writes_the_entry_or_lists_the_kinds(void **s)
{
	struct capture out, err;
	(void)s;
	cap_open(&out);
	cap_open(&err);
	assert_int_equal(explain_print(out.f, err.f, "servfail"), 0);
	assert_string_equal(cap_text(&out), explain_of_kind(K_SERVFAIL)->text);
	assert_string_equal(cap_text(&err), "");
	cap_close(&out);
	cap_close(&err);

	cap_open(&out);
	cap_open(&err);
	assert_int_equal(explain_print(out.f, err.f, "nosuchkind"), -1);
	assert_string_equal(cap_text(&out), "");
	const char *m = cap_text(&err);
	assert_non_null(strstr(m, "'nosuchkind'"));
	/* The list names every kind, category-qualified where a name repeats. */
	assert_non_null(strstr(m, "\nkinds: nxdomain "));
	assert_non_null(strstr(m, " dns/refused "));
	assert_non_null(strstr(m, " tcp/refused "));
	char flat[2048];
	squeeze(m, flat, sizeof flat - 1);
	strcat(flat, " ");
	for (int k = 0; k < K_N; k++) {
		char w[64], q[64];
		snprintf(w, sizeof w, " %s ", kind_name(k));
		snprintf(q, sizeof q, "/%s ", kind_name(k));
		if (!strstr(flat, w) && !strstr(flat, q))
			fail_msg("kind %s missing from the list", kind_name(k));
	}
	cap_close(&out);
	cap_close(&err);
}

static void all_prints_every_entry_once(void **s)
{
	struct capture out, err;
	(void)s;
	cap_open(&out);
	cap_open(&err);
	assert_int_equal(explain_print(out.f, err.f, "all"), 0);
	const char *t = cap_text(&out);
	for (size_t i = 0; i < explain_table_n; i++) {
		const char *p = strstr(t, explain_table[i].text);
		assert_non_null(p);
		assert_null(strstr(p + 1, explain_table[i].text));
	}
	cap_close(&out);
	cap_close(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_kind_has_an_entry_of_its_name_and_category),
		cmocka_unit_test(every_entry_is_a_kind_of_the_vocabulary),
		cmocka_unit_test(every_entry_has_every_section_and_short_lines),
		cmocka_unit_test(refused_names_both_entries_and_a_category_picks_one),
		cmocka_unit_test(unknown_names_find_nothing),
		cmocka_unit_test(print_writes_the_entry_or_lists_the_kinds),
		cmocka_unit_test(all_prints_every_entry_once),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
