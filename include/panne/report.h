/* \summary: output: the text report for people and JSON lines (OUTPUT.md). */
#ifndef PANNE_REPORT_H
#define PANNE_REPORT_H

#include <stdio.h>
#include "panne/diagnose.h"
#include "panne/pipeline.h"

struct report_input {
	const char **files;   /* input paths, by file index */
	size_t nfiles;
	const struct run_stats *st;
	int damaged;
	const char **errors;  /* damage messages */
	size_t nerrors;
	const struct verdict *v;
	size_t nv;
};

/* Writes the whole report (findings in scope, verdicts, summary) to out in
 * g_opts.format. */
void report_write(FILE *out, const struct report_input *in);
/* One finding as a JSON object (owned by the caller). */
json_t *report_finding_json(const struct finding *f, const char **files);

#endif
