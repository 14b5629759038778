/* \summary: --html FILE: the report as one self-contained page (inline CSS
 * and SVG, no script, nothing fetched), from the same verdicts as the text
 * and JSON reports. */
#ifndef PANNE_HTML_H
#define PANNE_HTML_H

#include <stdio.h>
#include "panne/report.h"

/* Writes the page for in to out: the verdict and the attack checks in
 * words, a timeline with one lane per service (and per affected client
 * where only some are), each service's reasons and findings with their
 * frames and Wireshark filters, and the summary. Every string from the
 * wire is escaped. Returns 0, or -1 when out reports a write error. */
int html_write(FILE *out, const struct report_input *in);

/* Writes s to out with & < > " ' escaped, and control bytes as U+FFFD. */
void html_text(FILE *out, const char *s);

#endif
