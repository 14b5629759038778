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
	size_t first_finding; /* findings before this one were already streamed */
	const char *evidence_file; /* -w output, or NULL */
	json_t *evidence_map;      /* its frames: [{file, frame, evidence_frame}] */
	json_t *probe;             /* panne probe: what was probed, for the summary; or NULL */
	const char *probe_text;    /* panne probe: the text report's heading; or NULL */
	const char *interfaces_text; /* the inputs' interfaces and which side each is, or NULL */
	json_t *interfaces;        /* the same for the summary: [{file, index, name, role}], or NULL */
};

/* Writes the whole report (findings in scope, verdicts, summary) to out in
 * g_opts.format. */
void report_write(FILE *out, const struct report_input *in);
/* Live: writes the findings in scope from *next on as JSON lines, and
 * advances *next. */
void report_stream_findings(FILE *out, const char **files, size_t *next);
/* Live: one compact status line per service (text), or the verdicts as
 * JSON lines; on a terminal the text block is redrawn in place. */
void report_status(FILE *out, const struct verdict *v, size_t nv, const struct run_stats *st,
                   int tty);
/* One verdict, and the summary, as the JSON objects of OUTPUT.md (owned by
 * the caller): the text, JSON and HTML reports say the same. */
json_t *report_verdict_json(const struct verdict *v);
json_t *report_summary_json(const struct report_input *in);
/* The verdict paragraph of the text report ("spotify is failing; the
 * evidence points upstream ..."), without a newline. */
void report_verdict_text(FILE *out, const struct verdict *v, size_t nv);
/* One finding as a JSON object (owned by the caller). */
json_t *report_finding_json(const struct finding *f, const char **files);

#endif
