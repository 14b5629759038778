/* \summary: `panne --explain KIND`: finds and prints the entries of the
 * generated table (src/explain_text.c, from man/findings.in). */
#include <string.h>

#include "panne/explain.h"
#include "panne/findings.h"

/* 1 if the space-separated list cats holds cat. */
static int has_category(const char *cats, const char *cat)
{
	size_t n = strlen(cat);
	if (!n)
		return 0;
	for (const char *p = cats; (p = strstr(p, cat)) != NULL; p += n)
		if ((p == cats || p[-1] == ' ') && (p[n] == 0 || p[n] == ' '))
			return 1;
	return 0;
}

const struct explain_entry *explain_of_kind(int kind)
{
	if (kind < 0 || kind >= K_N)
		return NULL;
	const char *name = kind_name(kind), *cat = category_name(kind_category(kind));
	for (size_t i = 0; i < explain_table_n; i++)
		if (strcmp(explain_table[i].kind, name) == 0 && strcmp(explain_table[i].category, cat) == 0)
			return &explain_table[i];
	return NULL;
}

/* 1 if entry e is named by arg ("KIND", "CATEGORY/KIND" or "all"). */
static int matches(const struct explain_entry *e, const char *arg)
{
	const char *slash = strchr(arg, '/');
	char cat[16];

	if (!slash)
		return strcmp(arg, "all") == 0 || strcmp(e->kind, arg) == 0;
	size_t cl = (size_t)(slash - arg);
	if (cl == 0 || cl >= sizeof cat)
		return 0;
	memcpy(cat, arg, cl);
	cat[cl] = 0;
	return strcmp(e->kind, slash + 1) == 0 && has_category(e->categories, cat);
}

size_t explain_lookup(const char *arg, const struct explain_entry **out, size_t max)
{
	size_t n = 0;
	if (!arg || !*arg)
		return 0;
	for (size_t i = 0; i < explain_table_n && n < max; i++)
		if (matches(&explain_table[i], arg))
			out[n++] = &explain_table[i];
	return n;
}

void explain_list(FILE *out)
{
	/* The vocabulary itself, so that a kind without an entry still shows. */
	fputs("kinds:", out);
	for (int k = 0; k < K_N; k++) {
		int same = 0;
		for (int j = 0; j < K_N; j++)
			same += strcmp(kind_name(j), kind_name(k)) == 0;
		if (same > 1)
			fprintf(out, " %s/%s", category_name(kind_category(k)), kind_name(k));
		else
			fprintf(out, " %s", kind_name(k));
	}
	fputc('\n', out);
}

int explain_print(FILE *out, FILE *err, const char *arg)
{
	size_t n = 0;
	for (size_t i = 0; arg && *arg && i < explain_table_n; i++) {
		if (!matches(&explain_table[i], arg))
			continue;
		if (n++)
			fputs("\n\n", out);
		fputs(explain_table[i].text, out);
	}
	if (!n) {
		fprintf(err, "panne: --explain: '%s' is not a kind of finding (nor 'all')\n", arg ? arg : "");
		explain_list(err);
		return -1;
	}
	return 0;
}
