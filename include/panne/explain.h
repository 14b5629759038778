/* \summary: `panne --explain KIND`: the text of each kind of finding, as in
 * panne-findings(7). The texts are generated from man/findings.in by
 * tools/mkfindings.sh into src/explain_text.c (committed, not built). */
#ifndef PANNE_EXPLAIN_H
#define PANNE_EXPLAIN_H

#include <stddef.h>
#include <stdio.h>

struct explain_entry {
	const char *kind;       /* "refused", as kind_name() */
	const char *category;   /* "dns", as category_name(kind_category()) */
	const char *categories; /* every category it occurs in: "tcp dns" */
	const char *brief;      /* one line: what it means */
	const char *filter;     /* the Wireshark display filter */
	const char *text;       /* the whole entry, plain text, lines of < 80 */
};

/* The generated table (src/explain_text.c), in vocabulary order. */
extern const struct explain_entry explain_table[];
extern const size_t explain_table_n;

/* The entry of kind (enum kind of findings.h), or NULL when it has none. */
const struct explain_entry *explain_of_kind(int kind);

/* Entries named by arg: "KIND" (both "refused" entries for "refused"),
 * "CATEGORY/KIND", or "all". Stores up to max pointers in out (owned by
 * the table) and returns how many matched; 0 when arg names no kind. */
size_t explain_lookup(const char *arg, const struct explain_entry **out, size_t max);

/* Writes the entries named by arg to out and returns 0; when arg names no
 * kind, writes to err a message listing the kinds and returns -1. */
int explain_print(FILE *out, FILE *err, const char *arg);

/* Writes "kinds: nxdomain servfail dns/refused ..." and a newline: every
 * kind of the vocabulary (findings.h), category-qualified where a name
 * occurs in two categories. */
void explain_list(FILE *out);

#endif
