/* \summary: --html FILE: one self-contained page to hand to a colleague, an
 * ISP or a service's support. Inline CSS and SVG, no script, nothing
 * fetched (the Content-Security-Policy says so to the browser); written
 * from the verdicts, findings and exchange log the text and JSON reports
 * use, analysing nothing. Every string that may come from the wire goes
 * through html_text(). */
#include <string.h>

#include "panne/explain.h"
#include "panne/findings.h"
#include "panne/html.h"
#include "panne/services.h"
#include "panne/util.h"

/* Geometry of a lane's SVG, in viewBox units. */
#define LANE_W 420.0
#define LANE_X0 34.0   /* left gutter: the category of each row */
#define LANE_X1 414.0
#define LANE_TOP 15.0  /* room for the onset and recovery labels */
#define LANE_ROW 13.0  /* one row per category */
#define LANE_BINS 190  /* columns of a lane too busy to draw mark by mark */

/* Okabe-Ito colors, distinct for color-blind readers; shape tells failed
 * from succeeded, the row tells the category. */
static const char *const cat_color[] = { "#0072B2", "#E69F00", "#009E73", "#CC79A7",
	                                 "#56B4E9", "#000000" };
#define N_COLORS (sizeof cat_color / sizeof cat_color[0])

/* The exchange log by group and the findings by verdict, each a counting
 * sort (start[k] .. start[k + 1] in order), so that a page with many
 * services reads each record once. */
struct h_index {
	u32 *xstart, *xorder; /* exchanges, by findings_group() index */
	u32 *fstart, *forder; /* findings, by verdict */
};

static void h_index_build(struct h_index *ix, const struct report_input *in)
{
	size_t ng = findings_groups(), nx = findings_exchanges(), nf = findings_count();
	ix->xstart = xcalloc(ng + 2, sizeof *ix->xstart);
	ix->xorder = xmalloc((nx ? nx : 1) * sizeof *ix->xorder);
	for (size_t i = 0; i < nx; i++) {
		u32 g = findings_exchange_at(i)->group;
		ix->xstart[(g < ng ? g : ng) + 1]++;
	}
	for (size_t g = 0; g <= ng; g++)
		ix->xstart[g + 1] += ix->xstart[g];
	u32 *fill = xmalloc((ng + 1) * sizeof *fill);
	memcpy(fill, ix->xstart, (ng + 1) * sizeof *fill);
	for (size_t i = 0; i < nx; i++) {
		u32 g = findings_exchange_at(i)->group;
		ix->xorder[fill[g < ng ? g : ng]++] = (u32)i;
	}
	free(fill);
	/* Findings: verdict of each by its group (nv: none). */
	i32 *of = xmalloc((ng ? ng : 1) * sizeof *of);
	for (size_t g = 0; g < ng; g++)
		of[g] = -1;
	for (size_t i = 0; i < in->nv; i++) {
		int gi = findings_group_index(in->v[i].group);
		if (gi >= 0)
			of[gi] = (i32)i;
	}
	u32 *fv = xmalloc((nf ? nf : 1) * sizeof *fv);
	ix->fstart = xcalloc(in->nv + 2, sizeof *ix->fstart);
	ix->forder = xmalloc((nf ? nf : 1) * sizeof *ix->forder);
	for (size_t i = 0; i < nf; i++) {
		int gi = findings_group_index(findings_get(i)->group);
		fv[i] = gi >= 0 && (size_t)gi < ng && of[gi] >= 0 ? (u32)of[gi] : (u32)in->nv;
		ix->fstart[fv[i] + 1]++;
	}
	for (size_t k = 0; k <= in->nv; k++)
		ix->fstart[k + 1] += ix->fstart[k];
	fill = xmalloc((in->nv + 1) * sizeof *fill);
	memcpy(fill, ix->fstart, (in->nv + 1) * sizeof *fill);
	for (size_t i = 0; i < nf; i++)
		ix->forder[fill[fv[i]]++] = (u32)i;
	free(fill);
	free(fv);
	free(of);
}

static void h_index_free(struct h_index *ix)
{
	free(ix->xstart);
	free(ix->xorder);
	free(ix->fstart);
	free(ix->forder);
}

/* The attack checks in words: what was examined, and what a sign is. */
static const struct {
	const char *checked, *found;
} ac_words[AC_N] = {
	[AC_DNS_ANSWERS] = { "DNS answers compared with the other answers to their query and checked for bogus addresses",
		             "injected or bogus" },
	[AC_RESETS] = { "TCP resets scored against the purported sender's own packets", "forged" },
	[AC_CHAINS] = { "certificate chains verified", "intercepted" },
	[AC_FLOODS] = { "servers watched for SYN floods", "flooded" },
	[AC_SCANS] = { "sources watched for scans", "scanning" },
};

/* Length of the valid UTF-8 sequence at p (at most n bytes), or 0. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
	size_t len = p[0] < 0x80 ? 1 : (p[0] & 0xe0) == 0xc0 ? 2 : (p[0] & 0xf0) == 0xe0 ? 3
	           : (p[0] & 0xf8) == 0xf0 ? 4 : 0;
	if (!len || len > n || (len == 2 && p[0] < 0xc2))
		return 0;
	for (size_t i = 1; i < len; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	return len;
}

void html_text(FILE *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	size_t n = strlen((const char *)p);
	while (n) {
		size_t len = 1;
		switch (*p) {
		case '&': fputs("&amp;", out); break;
		case '<': fputs("&lt;", out); break;
		case '>': fputs("&gt;", out); break;
		case '"': fputs("&quot;", out); break;
		case '\'': fputs("&#39;", out); break;
		default:
			if ((*p < 0x20 && *p != '\n' && *p != '\t') || *p == 0x7f || !(len = utf8_len(p, n))) {
				fputs("\xef\xbf\xbd", out);
				len = 1;
			} else {
				fwrite(p, 1, len, out);
			}
		}
		p += len, n -= len;
	}
}

/* "19:56:36.521", or with the date and "UTC" when full. buf: TIME_STRLEN. */
static const char *h_clock(u64 us, int full, char *buf)
{
	char t[TIME_STRLEN];
	time_fmt(us, t); /* 2026-11-28T19:56:35.584438Z */
	if (full)
		snprintf(buf, TIME_STRLEN, "%.10s %.12s UTC", t, t + 11);
	else
		snprintf(buf, TIME_STRLEN, "%.12s", t + 11);
	return buf;
}

static double h_x(u64 ts, u64 t0, u64 t1)
{
	if (t1 <= t0)
		return (LANE_X0 + LANE_X1) / 2;
	u64 t = ts < t0 ? t0 : ts > t1 ? t1 : ts;
	/* 6 units in from each edge: a mark at the start or end stays whole. */
	return LANE_X0 + 6 + (double)(t - t0) * (LANE_X1 - LANE_X0 - 12) / (double)(t1 - t0);
}

static double h_row_y(int cat)
{
	return LANE_TOP + LANE_ROW * cat + LANE_ROW / 2;
}

/* One exchange's mark: a filled circle when it succeeded, a cross when it
 * failed (n > 1: a column of a busy lane standing for n exchanges). */
static void h_mark(FILE *o, double x, int cat, int failed, u32 n)
{
	double y = h_row_y(cat);
	if (failed)
		fprintf(o, "<path class=\"m fail\" data-cat=\"%s\" d=\"M%.1f %.1fL%.1f %.1fM%.1f %.1fL%.1f %.1f\"",
		        category_name(cat), x - 4, y - 4, x + 4, y + 4, x - 4, y + 4, x + 4, y - 4);
	else
		fprintf(o, "<circle class=\"m ok c%d\" data-cat=\"%s\" cx=\"%.1f\" cy=\"%.1f\" r=\"3.4\"",
		        cat, category_name(cat), x, y);
	if (n > 1)
		fprintf(o, " data-n=\"%u\"", n);
	fputc('>', o);
}

/* Onset and recovery as drawn and written: the diagnosis's, else the first
 * and last failure, labelled so. */
struct h_times {
	u64 a, b;
	const char *la, *lb;
};

static struct h_times h_times_of(const struct verdict *v)
{
	struct h_times t = { v->onset_us, v->recovery_us, "onset", "recovery" };
	if (!v->onset_us && v->first_failure)
		t = (struct h_times){ v->first_failure, v->last_failure, "first failure", "last failure" };
	return t;
}

/* A vertical line at x across the lane, with a short label (the times are
 * written beside the lane) on the side where it fits; label NULL: none. */
static void h_vline(FILE *o, double x, double h, const char *cls, const char *label)
{
	int left = x > LANE_X1 - 70;
	fprintf(o, "<line class=\"%s\" x1=\"%.1f\" y1=\"2\" x2=\"%.1f\" y2=\"%.1f\"/>", cls, x, x, h - 2);
	if (label)
		fprintf(o, "<text class=\"vl\" x=\"%.1f\" y=\"11\" text-anchor=\"%s\">%s</text>", left ? x - 3 : x + 3,
		        left ? "end" : "start", label);
}

/* One lane: the exchanges of group gi (of one client when client != 0) as
 * marks over [t0, t1], with the onset and recovery lines of v. */
static void h_lane(FILE *o, const struct h_index *ix, const struct verdict *v, int gi, u32 client,
                   u64 t0, u64 t1)
{
	u32 j0 = gi >= 0 ? ix->xstart[gi] : 0, j1 = gi >= 0 ? ix->xstart[gi + 1] : 0;
#define LANE_EACH(x)                                                                       \
	for (u32 j_ = j0; j_ < j1; j_++)                                                   \
		for (const struct exch_rec *x = findings_exchange_at(ix->xorder[j_]); x; x = NULL) \
			if (!client || x->client == client)
	double h = LANE_TOP + LANE_ROW * CAT_N + 4;
	size_t n = 0;
	char c[TIME_STRLEN], a[ADDR_STRLEN];

	fprintf(o, "<svg class=\"tl\" viewBox=\"0 0 %.0f %.0f\" role=\"img\" aria-label=\"exchanges of ", LANE_W, h);
	html_text(o, v->group);
	fprintf(o, " over time\">");
	fprintf(o, "<rect class=\"bg\" x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\"/>", LANE_X0,
	        LANE_TOP, LANE_X1 - LANE_X0, LANE_ROW * CAT_N);
	for (int q = 1; q < 4; q++) {
		double x = LANE_X0 + (LANE_X1 - LANE_X0) * q / 4;
		fprintf(o, "<line class=\"grid\" x1=\"%.1f\" y1=\"%.0f\" x2=\"%.1f\" y2=\"%.0f\"/>", x, LANE_TOP, x,
		        LANE_TOP + LANE_ROW * CAT_N);
	}
	for (int k = 0; k < CAT_N; k++)
		fprintf(o, "<text class=\"rl\" x=\"%.0f\" y=\"%.1f\" text-anchor=\"end\">%s</text>", LANE_X0 - 4,
		        h_row_y(k) + 3, category_name(k));
	LANE_EACH(x)
		n++;
	if (n && n <= HTML_MARKS_MAX) {
		/* Succeeded first, so that failures are drawn on top. */
		for (int pass = 0; pass < 2; pass++)
			LANE_EACH(x) {
				if (x->failed != pass)
					continue;
				h_mark(o, h_x(x->ts_us, t0, t1), x->cat, x->failed, 1);
				fprintf(o, "<title>%s %s %s", h_clock(x->ts_us, 0, c), category_name(x->cat),
				        x->failed ? "failed" : "succeeded");
				if (x->name) {
					fputs(", ", o);
					html_text(o, names_get(x->name));
				}
				if (findings_client(x->client))
					fprintf(o, ", client %s", addr_fmt(findings_client(x->client), a));
				fputs("</title></", o);
				fputs(x->failed ? "path>" : "circle>", o);
			}
	} else if (n) {
		/* Too many to draw one by one: one mark per column, category and
		 * outcome, standing for the exchanges it holds (data-n). */
		u32 *bins = xcalloc((size_t)CAT_N * 2 * LANE_BINS, sizeof *bins);
		u64 span = t1 > t0 ? t1 - t0 : 1;
		LANE_EACH(x) {
			u64 t = x->ts_us < t0 ? 0 : x->ts_us - t0;
			size_t b = (size_t)((t > span ? span : t) * LANE_BINS / span);
			b = b >= LANE_BINS ? LANE_BINS - 1 : b;
			bins[((size_t)x->cat * 2 + x->failed) * LANE_BINS + b]++;
		}
		for (int pass = 0; pass < 2; pass++)
			for (int k = 0; k < CAT_N; k++)
				for (size_t b = 0; b < LANE_BINS; b++) {
					u32 m = bins[((size_t)k * 2 + pass) * LANE_BINS + b];
					if (!m)
						continue;
					double x = LANE_X0 + 6 + (LANE_X1 - LANE_X0 - 12) * ((double)b + 0.5) / LANE_BINS;
					h_mark(o, x, k, pass, m);
					fprintf(o, "<title>%u %s exchanges %s</title></%s", m, category_name(k),
					        pass ? "failed" : "succeeded", pass ? "path>" : "circle>");
				}
		free(bins);
	}
	struct h_times tm = h_times_of(v);
	if (tm.a) {
		double xa = h_x(tm.a, t0, t1), xb = tm.b ? h_x(tm.b, t0, t1) : 0;
		h_vline(o, xa, h, "onset", tm.la);
		if (tm.b) /* labelled only where the two labels cannot overlap */
			h_vline(o, xb, h, "recovery", xb - xa > 90 ? tm.lb : NULL);
	}
	fputs("</svg>\n", o);
#undef LANE_EACH
}

static const char *h_status_class(int st)
{
	return status_name(st);
}

/* "onset 19:56:36.521 UTC, recovery none by the end of the capture". */
static void h_when(FILE *o, const struct verdict *v, int full)
{
	char c[TIME_STRLEN];
	struct h_times tm = h_times_of(v);
	if (!tm.a) {
		fputs("no failure", o);
		return;
	}
	fprintf(o, "<span class=\"onset-time\">%s %s</span>", tm.la, h_clock(tm.a, full, c));
	if (tm.b)
		fprintf(o, ", %s %s%s", tm.lb, h_clock(tm.b, full, c), full ? "" : " UTC");
	else
		fprintf(o, "%s, no %s by the end of the capture", full ? "" : " UTC", tm.lb);
	if (!v->onset_us)
		fputs(" <small>(the diagnosis gave no onset)</small>", o);
}

/* The timeline section: one lane per service, then one per affected client
 * of a service that failed for some clients only. */
static void h_timeline(FILE *o, const struct report_input *in, const struct h_index *ix)
{
	u64 t0 = in->st->first_us, t1 = in->st->last_us;
	char c[TIME_STRLEN], a[ADDR_STRLEN];

	fputs("<section id=\"timeline\"><h2>Timeline</h2>\n<p class=\"legend\">"
	      "<svg class=\"key\" viewBox=\"0 0 12 12\" aria-hidden=\"true\"><circle class=\"m ok c0\" cx=\"6\" cy=\"6\" r=\"3.5\"/></svg> succeeded "
	      "<svg class=\"key\" viewBox=\"0 0 12 12\" aria-hidden=\"true\"><path class=\"m fail\" d=\"M2 2L10 10M2 10L10 2\"/></svg> failed "
	      "<svg class=\"key\" viewBox=\"0 0 12 12\" aria-hidden=\"true\"><line class=\"onset\" x1=\"6\" y1=\"0\" x2=\"6\" y2=\"12\"/></svg> onset "
	      "<svg class=\"key\" viewBox=\"0 0 12 12\" aria-hidden=\"true\"><line class=\"recovery\" x1=\"6\" y1=\"0\" x2=\"6\" y2=\"12\"/></svg> recovery; rows:", o);
	for (int k = 0; k < CAT_N; k++)
		fprintf(o, " <span class=\"cat c%d\">%s</span>", k, category_name(k));
	fputs(". Each mark is one exchange (a DNS transaction, a TCP connection, a TLS handshake, an HTTP response"
	      "...) at the time it began.</p>\n", o);
	for (size_t i = 0; i < in->nv; i++) {
		const struct verdict *v = &in->v[i];
		int gi = findings_group_index(v->group);
		u32 failed = 0;
		for (int k = 0; k < CAT_N; k++)
			failed += v->failed[k];
		fputs("<div class=\"lane service-lane\" data-service=\"", o);
		html_text(o, v->group);
		fprintf(o, "\" data-failed=\"%u\"><div class=\"ln\"><b>", failed);
		html_text(o, v->group);
		fprintf(o, "</b> <span class=\"badge %s\">%s</span> ", h_status_class(v->status), status_name(v->status));
		h_when(o, v, 0);
		fputs("</div>\n", o);
		h_lane(o, ix, v, gi, 0, t0, t1);
		fputs("</div>\n", o);
		if (gi < 0)
			continue;
		/* Clients: seen (1) and failed (2), by findings_client() index. */
		u32 maxc = 0;
		for (u32 j = ix->xstart[gi]; j < ix->xstart[gi + 1]; j++) {
			const struct exch_rec *x = findings_exchange_at(ix->xorder[j]);
			maxc = x->client > maxc ? x->client : maxc;
		}
		u8 *cl = xcalloc((size_t)maxc + 1, 1);
		for (u32 j = ix->xstart[gi]; j < ix->xstart[gi + 1]; j++) {
			const struct exch_rec *x = findings_exchange_at(ix->xorder[j]);
			if (x->client)
				cl[x->client] |= (u8)(1 | (x->failed ? 2 : 0));
		}
		size_t aff = 0, unaff = 0, drawn = 0;
		for (u32 k = 1; k <= maxc; k++)
			cl[k] & 2 ? aff++ : cl[k] ? unaff++ : 0;
		for (u32 k = 1; aff && unaff && k <= maxc && drawn < HTML_CLIENT_LANES; k++) {
			if (!(cl[k] & 2))
				continue;
			drawn++;
			fputs("<div class=\"lane client-lane\" data-service=\"", o);
			html_text(o, v->group);
			fprintf(o, "\" data-client=\"%s\"><div class=\"ln\">", addr_fmt(findings_client(k), a));
			html_text(o, v->group);
			fprintf(o, " from client <b>%s</b>: affected</div>\n", a);
			h_lane(o, ix, v, gi, k, t0, t1);
			fputs("</div>\n", o);
		}
		if (aff && unaff)
			fprintf(o, "<p class=\"note\">%zu client%s affected, %zu unaffected (all their exchanges with this service succeeded)%s.</p>\n",
			        aff, aff == 1 ? "" : "s", unaff, aff > drawn ? "; the first affected ones are drawn" : "");
		free(cl);
	}
	if (t0)
		fprintf(o, "<div class=\"axis\"><span>start %s</span>", h_clock(t0, 1, c));
	if (t1)
		fprintf(o, "<span>end %s</span></div>\n", h_clock(t1, 1, c));
	if (findings_exchange_lost())
		fprintf(o, "<p class=\"note\">%llu exchanges beyond the log's capacity are counted but not drawn.</p>\n",
		        (unsigned long long)findings_exchange_lost());
	fputs("</section>\n", o);
}

/* A JSON value from a verdict or the summary, as HTML (strings escaped). */
static void h_json(FILE *o, json_t *j, int depth)
{
	if (depth > 6) {
		fputs("...", o);
		return;
	}
	switch (json_typeof(j)) {
	case JSON_OBJECT: {
		const char *k;
		json_t *x;
		if (!json_object_size(j)) {
			fputs("none", o);
			break;
		}
		fputs("<dl class=\"j\">", o);
		json_object_foreach(j, k, x) {
			fputs("<dt>", o);
			html_text(o, k);
			fputs("</dt><dd>", o);
			h_json(o, x, depth + 1);
			fputs("</dd>", o);
		}
		fputs("</dl>", o);
		break;
	}
	case JSON_ARRAY: {
		size_t i;
		json_t *x;
		int flat = 1;
		if (!json_array_size(j)) {
			fputs("none", o);
			break;
		}
		json_array_foreach(j, i, x) flat &= !json_is_object(x) && !json_is_array(x);
		fputs(flat ? "" : "<ul class=\"j\">", o);
		json_array_foreach(j, i, x) {
			fputs(flat ? (i ? ", " : "") : "<li>", o);
			h_json(o, x, depth + 1);
			fputs(flat ? "" : "</li>", o);
		}
		fputs(flat ? "" : "</ul>", o);
		break;
	}
	case JSON_STRING:
		html_text(o, json_string_value(j));
		break;
	case JSON_INTEGER:
		fprintf(o, "%lld", (long long)json_integer_value(j));
		break;
	case JSON_REAL:
		fprintf(o, "%g", json_real_value(j));
		break;
	case JSON_TRUE:
		fputs("yes", o);
		break;
	case JSON_FALSE:
		fputs("no", o);
		break;
	default:
		fputs("&#8212;", o);
	}
}

/* The attack checks in words; checked and found are arrays of AC_N. */
static void h_checks(FILE *o, const u32 *checked, const u32 *found, int lead)
{
	u32 any = 0, signs = 0;
	for (int c = 0; c < AC_N; c++)
		any += checked[c], signs += found[c];
	if (!any) {
		fputs(lead ? "Attack checks: none was counted for this capture." : "none was counted.", o);
		return;
	}
	fputs(lead ? "Checked for signs of an attack:" : "", o);
	for (int c = 0, k = 0; c < AC_N; c++) {
		if (!checked[c])
			continue;
		fprintf(o, "%s%u %s (%u %s)", k++ ? "; " : lead ? " " : "", checked[c],
		        ac_words[c].checked ? ac_words[c].checked : attack_check_name(c, 0), found[c],
		        ac_words[c].found ? ac_words[c].found : attack_check_name(c, 1));
	}
	if (!signs)
		fputs(". <strong>None showed a sign of an attack.</strong>", o);
	else
		fprintf(o, ". <strong>%u showed a sign of an attack</strong>: see the services below.", signs);
}

/* The filter that opens a finding's frames in Wireshark. */
static void h_filter(FILE *o, const struct finding *f)
{
	if (!f->n_ev) {
		fputs("no frame", o);
		return;
	}
	fputs("<code class=\"filter\">", o);
	if (f->n_ev == 1)
		fprintf(o, "frame.number == %u", f->ev[0]);
	else
		for (u8 i = 0; i < f->n_ev; i++)
			fprintf(o, "%s%u", i ? " " : "frame.number in {", f->ev[i]);
	fputs(f->n_ev == 1 ? "</code>" : "}</code>", o);
}

static void h_finding(FILE *o, const struct finding *f, const struct report_input *in)
{
	char c[TIME_STRLEN], a[ADDR_STRLEN], b[ADDR_STRLEN];
	fputs("<li class=\"finding\" data-frames=\"", o);
	for (u8 i = 0; i < f->n_ev; i++)
		fprintf(o, "%s%u", i ? " " : "", f->ev[i]);
	fprintf(o, "\"><span class=\"t\">%s</span> ", h_clock(f->ts_us, 0, c));
	if (f->name[0]) {
		fputs("<span class=\"name\">", o);
		html_text(o, f->name);
		fputs("</span> ", o);
	}
	if (f->cli.fam || f->srv.fam)
		fprintf(o, "%s &#8594; %s:%u ", f->cli.fam ? addr_fmt(&f->cli, a) : "?",
		        f->srv.fam ? addr_fmt(&f->srv, b) : "?", f->sport);
	fprintf(o, "<span class=\"origin\">origin %s</span><br>frames <span class=\"frames\">", origin_name(f->origin));
	for (u8 i = 0; i < f->n_ev; i++)
		fprintf(o, "%s%u", i ? ", " : "", f->ev[i]);
	if (!f->n_ev)
		fputs("none", o);
	fputs("</span>", o);
	if (in->nfiles > 1 && in->files) {
		fputs(" of ", o);
		html_text(o, in->files[f->file]);
	}
	fputs(" &#183; Wireshark filter ", o);
	h_filter(o, f);
	json_t *fd = finding_detail(f);
	if (json_object_size(fd)) {
		char *d = json_dumps(fd, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_PRESERVE_ORDER);
		fputs("<div class=\"detail\"><code>", o);
		html_text(o, d);
		fputs("</code></div>", o);
		free(d);
	}
	json_decref(fd);
	fputs("</li>\n", o);
}

/* The findings of v's group, by kind, each kind with its --explain text. */
static void h_findings(FILE *o, size_t vi, const struct report_input *in, const struct h_index *ix)
{
	int any = 0;
	u32 j0 = ix->fstart[vi], j1 = ix->fstart[vi + 1];
	for (int k = 0; k < K_N; k++) {
		size_t n = 0, shown = 0;
		const struct finding *first = NULL;
		for (u32 j = j0; j < j1; j++) {
			const struct finding *f = findings_get(ix->forder[j]);
			if (f->kind == k && !n++)
				first = f;
		}
		if (!n)
			continue;
		if (!any++)
			fputs("<h3>Findings</h3>\n", o);
		const struct explain_entry *e = explain_of_kind(k);
		fprintf(o, "<div class=\"kind\"><h4>%s <span class=\"cat\">%s</span> &#215;%zu</h4>\n", kind_name(k),
		        category_name(first->cat), n);
		if (e) {
			fputs("<p class=\"brief\">", o);
			html_text(o, e->brief);
			fprintf(o, "</p>\n<details><summary>What it means and how to check it (panne --explain %s%s%s)</summary><pre>",
			        k == K_DNS_REFUSED ? "dns/" : "", k == K_TCP_REFUSED ? "tcp/" : "", kind_name(k));
			html_text(o, e->text);
			fputs("</pre></details>\n", o);
		}
		fputs("<ol class=\"findings\">\n", o);
		for (u32 j = j0; j < j1 && shown < HTML_FINDINGS_MAX; j++) {
			const struct finding *f = findings_get(ix->forder[j]);
			if (f->kind == k) {
				h_finding(o, f, in);
				shown++;
			}
		}
		fputs("</ol>\n", o);
		if (n > shown)
			fprintf(o, "<p class=\"note\">%zu more; every one is in the JSON report (-T json).</p>\n", n - shown);
		fputs("</div>\n", o);
	}
}

static int h_known_verdict_key(const char *k)
{
	static const char *const known[] = { "type", "service", "status", "attribution", "confidence", "reasons",
		                             "counts", "first_failure", "last_failure", "evidence", "onset",
		                             "recovery", NULL };
	for (const char *const *p = known; *p; p++)
		if (strcmp(*p, k) == 0)
			return 1;
	return 0;
}

static void h_service(FILE *o, const struct verdict *v, size_t idx, const struct report_input *in,
                      const struct h_index *ix)
{
	json_t *j = report_verdict_json(v), *x;
	const char *k;
	char c[TIME_STRLEN];

	fprintf(o, "<section class=\"service\" id=\"svc-%zu\"><h2>", idx);
	html_text(o, v->group);
	fprintf(o, " <span class=\"badge %s\">%s</span></h2>\n<dl class=\"facts\">", h_status_class(v->status),
	        status_name(v->status));
	fprintf(o, "<dt>Status</dt><dd>%s</dd>", status_name(v->status));
	fprintf(o, "<dt>Attribution</dt><dd>%s</dd>", attribution_name(v->attribution));
	fprintf(o, "<dt>Confidence</dt><dd>%.2f</dd>", v->confidence);
	fputs("<dt>When</dt><dd>", o);
	h_when(o, v, 1);
	fputs("</dd>", o);
	if (v->first_failure && v->onset_us)
		fprintf(o, "<dt>First failure</dt><dd>%s</dd>", h_clock(v->first_failure, 1, c));
	fputs("<dt>Exchanges</dt><dd>", o);
	for (int ct = 0; ct < CAT_N; ct++)
		fprintf(o, "%s<span class=\"cat c%d\">%s</span> %u of %u failed", ct ? " &#183; " : "", ct,
		        category_name(ct), v->failed[ct], v->seen[ct]);
	fputs("</dd>", o);
	const struct group_stats *g = findings_group_find(v->group);
	if (g) {
		fputs("<dt>Attack checks</dt><dd>", o);
		h_checks(o, g->checked, g->found, 0);
		fputs("</dd>", o);
	}
	json_object_foreach(j, k, x) {
		if (h_known_verdict_key(k))
			continue;
		fputs("<dt>", o);
		html_text(o, k);
		fputs("</dt><dd>", o);
		h_json(o, x, 0);
		fputs("</dd>", o);
	}
	fputs("</dl>\n", o);
	size_t nr = v->reasons ? json_array_size(v->reasons) : 0;
	if (nr) {
		fputs("<h3>Reasons</h3>\n<ul class=\"reasons\">\n", o);
		for (size_t r = 0; r < nr; r++) {
			fputs("<li>", o);
			html_text(o, json_string_value(json_array_get(v->reasons, r)));
			fputs("</li>\n", o);
		}
		fputs("</ul>\n", o);
	}
	h_findings(o, idx, in, ix);
	fputs("</section>\n", o);
	json_decref(j);
}

static void h_summary(FILE *o, const struct report_input *in)
{
	const struct run_stats *st = in->st;
	const struct capture_quality *q = findings_quality();
	json_t *j = report_summary_json(in), *x;
	const char *k;
	char c[TIME_STRLEN];
	static const char *const shown[] = { "type", "files", "packets", "bytes", "flows", "start", "end",
		                             "dropped", "damaged", "errors", "flows_evicted", "findings_dropped",
		                             NULL };

	fputs("<section id=\"summary\"><h2>Summary</h2>\n<dl class=\"facts\"><dt>Inputs</dt><dd>", o);
	for (size_t i = 0; i < in->nfiles; i++) {
		fputs(i ? ", <code>" : "<code>", o);
		html_text(o, in->files[i]);
		fputs("</code>", o);
	}
	fprintf(o, "</dd><dt>Packets</dt><dd>%llu (%llu bytes)</dd><dt>Flows</dt><dd>%llu</dd>",
	        (unsigned long long)st->packets, (unsigned long long)st->bytes, (unsigned long long)st->flows);
	if (st->first_us)
		fprintf(o, "<dt>Start</dt><dd>%s</dd>", h_clock(st->first_us, 1, c));
	if (st->last_us)
		fprintf(o, "<dt>End</dt><dd>%s</dd>", h_clock(st->last_us, 1, c));
	fputs("</dl>\n<h3>Capture quality</h3>\n<ul class=\"quality\">\n", o);
	fprintf(o, "<li>Drops: %s", st->dropped ? "" : "none recorded");
	if (st->dropped)
		fprintf(o, "<strong>%llu packets lost by the capture</strong>: verdicts may miss exchanges",
		        (unsigned long long)st->dropped);
	fputs(".</li>\n", o);
	fprintf(o, "<li>Directions: %llu of %llu TCP connections were seen one way only", (unsigned long long)q->tcp_one_way,
	        (unsigned long long)q->tcp_conns);
	if (q->tcp_conns >= 4 && q->tcp_one_way * 2 > q->tcp_conns)
		fputs(": <strong>the capture may miss a direction</strong> (asymmetric routing, a mirror port); failures may be the capture's", o);
	if (q->backscatter)
		fprintf(o, "; %llu SYN-ACKs or resets answered nobody's SYN", (unsigned long long)q->backscatter);
	fputs(".</li>\n<li>Damage: ", o);
	if (!in->damaged)
		fputs("none: every input was read to its end.", o);
	for (size_t i = 0; in->damaged && i < in->nerrors; i++) {
		fputs(i ? "; <strong>" : "<strong>", o);
		html_text(o, in->errors[i]);
		fputs("</strong>", o);
	}
	fputs("</li>\n", o);
	if (st->flows_evicted || st->findings_dropped || findings_exchange_lost())
		fprintf(o, "<li>Limits: %llu flows evicted under the flow cap, %llu findings beyond the cap not kept, %llu exchanges not logged.</li>\n",
		        (unsigned long long)st->flows_evicted, (unsigned long long)st->findings_dropped,
		        (unsigned long long)findings_exchange_lost());
	fputs("</ul>\n<h3>Attack checks over the whole capture</h3>\n<p>", o);
	h_checks(o, findings_checks(0), findings_checks(1), 1);
	fputs("</p>\n<h3>Counters</h3>\n<dl class=\"facts\">", o);
	json_object_foreach(j, k, x) {
		int skip = 0;
		for (const char *const *p = shown; *p; p++)
			skip |= strcmp(*p, k) == 0;
		if (skip)
			continue;
		fputs("<dt>", o);
		html_text(o, k);
		fputs("</dt><dd>", o);
		h_json(o, x, 0);
		fputs("</dd>", o);
	}
	fputs("</dl>\n</section>\n", o);
	json_decref(j);
}

static const char h_css[] =
	":root{--fg:#1a1a1a;--mut:#5a5a5a;--bg:#fff;--line:#d0d0d0;--bad:#a3001b;--warn:#8a4b00;--good:#17693a}\n"
	"*{box-sizing:border-box}\n"
	"body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:var(--fg);background:var(--bg);"
	"max-width:62rem;margin:0 auto;padding:1rem}\n"
	"h1{font-size:1.4rem;margin:.2rem 0}h2{font-size:1.2rem;margin:1.6rem 0 .5rem;border-bottom:1px solid var(--line)}"
	"h3{font-size:1rem;margin:1rem 0 .3rem}h4{font-size:.95rem;margin:.8rem 0 .2rem}\n"
	".sub,.note,small{color:var(--mut)}.note{font-size:.9rem}\n"
	"code,pre{font-family:ui-monospace,'DejaVu Sans Mono',Menlo,monospace;font-size:.85em}\n"
	"pre{white-space:pre-wrap;overflow-wrap:anywhere;background:#f6f6f6;padding:.5rem;border-radius:4px}\n"
	".verdict{border-left:6px solid var(--good);padding:.4rem .8rem;background:#f3f8f4}\n"
	".verdict.bad{border-color:var(--bad);background:#fbf2f3}\n"
	".verdict .big{font-size:1.25rem;font-weight:700;margin:.2rem 0}\n"
	".badge{display:inline-block;padding:0 .45em;border-radius:.7em;font-size:.8rem;font-weight:600;color:#fff;"
	"background:#666;vertical-align:middle}\n"
	".badge.healthy{background:var(--good)}.badge.degraded{background:var(--warn)}.badge.failing{background:var(--bad)}\n"
	"table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:.2rem .5rem .2rem 0;border-bottom:1px solid var(--line);"
	"vertical-align:top}\n.wrap{overflow-x:auto}\n"
	".lane{margin:.5rem 0 .2rem;break-inside:avoid}.ln{font-size:.9rem}.client-lane .ln{padding-left:1rem}\n"
	"svg.tl{display:block;width:100%;max-width:44rem;height:auto}\n"
	".bg{fill:#fafafa;stroke:var(--line);stroke-width:.5}.grid{stroke:#e2e2e2;stroke-width:.5}\n"
	".rl{font-size:9px;fill:var(--mut)}.vl{font-size:9.5px;fill:var(--fg)}\n"
	".m.ok{stroke:none}.m.fail{stroke:#c00000;stroke-width:2.2;fill:none;stroke-linecap:round}\n"
	".onset{stroke:#000;stroke-width:1.2}.recovery{stroke:#000;stroke-width:1.2;stroke-dasharray:3 2}\n"
	"svg.key{width:1em;height:1em;vertical-align:-.15em}\n"
	".axis{display:flex;justify-content:space-between;flex-wrap:wrap;gap:.5rem;font-size:.85rem;color:var(--mut);"
	"border-top:1px solid var(--line);margin-top:.3rem;padding-top:.2rem}\n"
	".cat{font-weight:600}\n"
	"dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.15rem 1rem;margin:.4rem 0}\n"
	"dl.facts>dt{font-weight:600}dl.facts>dd{margin:0}\n"
	"dl.j{margin:0;display:grid;grid-template-columns:max-content 1fr;gap:0 .6rem}dl.j>dd{margin:0}dl.j>dt{color:var(--mut)}\n"
	"ul.j{margin:0;padding-left:1.1rem}\n"
	"ol.findings{padding-left:1.4rem}li.finding{margin:.3rem 0;break-inside:avoid;overflow-wrap:anywhere}\n"
	".finding .t{font-variant-numeric:tabular-nums;color:var(--mut)}.finding .name{font-weight:600}\n"
	".filter{user-select:all;-webkit-user-select:all;background:#eef3fb;padding:0 .3em;border-radius:3px}\n"
	".detail code{color:var(--mut)}\n"
	"details{margin:.2rem 0}summary{cursor:pointer;color:#0b4f9c}\n"
	"footer{margin-top:2rem;font-size:.85rem;color:var(--mut);border-top:1px solid var(--line);padding-top:.4rem}\n"
	"@media (max-width:40rem){body{padding:.5rem;font-size:14px}.overview td,.overview th{padding-right:.3rem;font-size:.85rem}"
	".overview th:nth-child(4),.overview td:nth-child(4){display:none}dl.facts{grid-template-columns:1fr}"
	"dl.facts>dd{margin-bottom:.3rem}.ln{font-size:.85rem}}\n"
	"@media print{body{max-width:none;font-size:10pt;padding:0}*{-webkit-print-color-adjust:exact;print-color-adjust:exact}"
	"h2{break-after:avoid}.service,.kind{break-inside:auto}summary{color:var(--fg)}}\n";

int html_write(FILE *o, const struct report_input *in)
{
	size_t nbad = 0;
	for (size_t i = 0; i < in->nv; i++)
		nbad += in->v[i].status == ST_DEGRADED || in->v[i].status == ST_FAILING;

	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
	      "img-src data:; base-uri 'none'; form-action 'none'\">\n"
	      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	      "<meta name=\"referrer\" content=\"no-referrer\">\n<title>panne: ", o);
	if (!in->nv)
		fputs("no service in scope seen", o);
	else if (nbad)
		fprintf(o, "%zu of %zu services degraded or failing", nbad, in->nv);
	else
		fputs("every service worked", o);
	fprintf(o, "</title>\n<style>\n%s", h_css);
	for (int k = 0; k < CAT_N; k++)
		fprintf(o, ".c%d{fill:%s}span.c%d{border-bottom:3px solid %s}\n", k, cat_color[k % N_COLORS], k,
		        cat_color[k % N_COLORS]);
	fprintf(o, "</style>\n</head>\n<body>\n<header><h1>panne: what the packets say</h1>\n<p class=\"sub\">");
	for (size_t i = 0; i < in->nfiles; i++) {
		fputs(i ? ", <code>" : "<code>", o);
		html_text(o, in->files[i]);
		fputs("</code>", o);
	}
	char c1[TIME_STRLEN], c2[TIME_STRLEN];
	fprintf(o, " &#183; %llu packets", (unsigned long long)in->st->packets);
	if (in->st->first_us)
		fprintf(o, " &#183; %s to %s", h_clock(in->st->first_us, 1, c1), h_clock(in->st->last_us, 1, c2));
	fputs("</p></header>\n", o);

	/* The verdict: the text report's paragraph, then the attack checks. */
	fprintf(o, "<section id=\"verdict\" class=\"verdict%s\"><h2>Verdict</h2>\n<p class=\"big\">", nbad ? " bad" : "");
	if (!in->nv)
		fputs("No service in scope was seen.", o);
	else if (nbad)
		fprintf(o, "%zu of %zu services degraded or failing.", nbad, in->nv);
	else
		fprintf(o, "Every service in scope worked.");
	fputs("</p>\n<p class=\"says\">", o);
	if (!in->nv) {
		fputs("Try -A to report every destination.", o);
	} else {
		char *buf = NULL;
		size_t len = 0;
		FILE *m = open_memstream(&buf, &len);
		if (m) {
			report_verdict_text(m, in->v, in->nv);
			fclose(m);
			html_text(o, buf);
			free(buf);
		}
	}
	fputs("</p>\n<p class=\"attack\">", o);
	h_checks(o, findings_checks(0), findings_checks(1), 1);
	fputs("</p>\n", o);
	if (in->damaged)
		fputs("<p><strong>Damaged input</strong>: everything up to the damage is reported (see the summary).</p>\n", o);
	if (in->nv) {
		fputs("<div class=\"wrap\"><table class=\"overview\"><thead><tr><th>service</th><th>status</th><th>attribution</th>"
		      "<th>confidence</th></tr></thead><tbody>\n", o);
		for (size_t i = 0; i < in->nv; i++) {
			const struct verdict *v = &in->v[i];
			fprintf(o, "<tr><td><a href=\"#svc-%zu\">", i);
			html_text(o, v->group);
			fprintf(o, "</a></td><td><span class=\"badge %s\">%s</span></td><td>%s</td><td>%.2f</td></tr>\n",
			        h_status_class(v->status), status_name(v->status),
			        v->status == ST_HEALTHY ? "" : attribution_name(v->attribution), v->confidence);
		}
		fputs("</tbody></table></div>\n", o);
	}
	fputs("</section>\n", o);

	struct h_index ix;
	h_index_build(&ix, in);
	if (in->nv)
		h_timeline(o, in, &ix);
	for (size_t i = 0; i < in->nv; i++)
		h_service(o, &in->v[i], i, in, &ix);
	h_index_free(&ix);
	h_summary(o, in);
	fputs("<footer>Written by panne from the verdicts of its text and JSON reports; nothing on this page was "
	      "fetched from anywhere. Open a frame in Wireshark: <code>wireshark -r FILE -Y 'frame.number == N'</code>."
	      "</footer>\n</body>\n</html>\n", o);
	fflush(o);
	return ferror(o) ? -1 : 0;
}
