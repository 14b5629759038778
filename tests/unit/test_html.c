/* \summary: the HTML report's escaping: html_text() on markup, quotes,
 * ampersands, control bytes and broken UTF-8, and a whole page whose
 * service name and reasons hold markup. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "panne/findings.h"
#include "panne/html.h"
#include "panne/opts.h"

static char *escaped(const char *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	html_text(f, s);
	fclose(f);
	return buf;
}

static void test_markup(void **state)
{
	(void)state;
	char *e = escaped("<script>alert(\"x\")</script> & 'y'");
	assert_string_equal(e, "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;");
	free(e);
}

static void test_bytes(void **state)
{
	(void)state;
	/* A control byte and a lone continuation byte become U+FFFD; valid
	 * UTF-8 (é, a 3-byte and a 4-byte sequence) passes; an overlong
	 * two-byte form and a sequence cut short do not. */
	char *e = escaped("a\x01" "b\x80" "c\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xc0\xaf\xe2\x82");
	assert_string_equal(e, "a\xef\xbf\xbd" "b\xef\xbf\xbd" "c\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"
	                       "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	free(e);
	e = escaped(NULL);
	assert_string_equal(e, "");
	free(e);
}

static void test_page(void **state)
{
	(void)state;
	struct run_stats st = { .packets = 3, .first_us = 1764360000000000ull, .last_us = 1764360001000000ull };
	struct verdict v = { .status = ST_FAILING, .attribution = AT_UPSTREAM, .confidence = 0.9,
		             .first_failure = 1764360000500000ull, .last_failure = 1764360000500000ull };
	strcpy(v.group, "<b onmouseover=x>evil\"'&.com");
	v.reasons = json_pack("[s]", "answered <script>alert(1)</script>");
	const char *files[] = { "<i>.pcap" };
	struct report_input in = { .files = files, .nfiles = 1, .st = &st, .v = &v, .nv = 1 };
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_int_equal(html_write(f, &in), 0);
	fclose(f);
	assert_null(strstr(buf, "<b onmouseover"));
	assert_null(strstr(buf, "<script"));
	assert_null(strstr(buf, "<i>"));
	assert_non_null(strstr(buf, "&lt;b onmouseover=x&gt;evil&quot;&#39;&amp;.com"));
	assert_non_null(strstr(buf, "answered &lt;script&gt;alert(1)&lt;/script&gt;"));
	assert_non_null(strstr(buf, "Content-Security-Policy"));
	assert_non_null(strstr(buf, "first failure 20:00:00.500"));
	assert_non_null(strstr(buf, "</html>\n"));
	free(buf);
	json_decref(v.reasons);
}

int main(void)
{
	opts_defaults(&g_opts);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_markup),
		cmocka_unit_test(test_bytes),
		cmocka_unit_test(test_page),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
