/* \summary: the text report for people and the JSON lines of OUTPUT.md;
 * reads findings, verdicts and run counters, analyses nothing. */
#include <langinfo.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "panne/dns.h"
#include "panne/findings.h"
#include "panne/http.h"
#include "panne/opts.h"
#include "panne/quic.h"
#include "panne/report.h"
#include "panne/services.h"
#include "panne/tls.h"
#include "panne/util.h"

static json_t *jstr_or_null(const char *s)
{
	return s && s[0] ? json_string(s) : json_null();
}

static json_t *jtime(u64 us)
{
	char t[TIME_STRLEN];
	return us ? json_string(time_fmt(us, t)) : json_null();
}

json_t *report_finding_json(const struct finding *f, const char **files)
{
	char a[ADDR_STRLEN];
	json_t *o = json_object(), *ev = json_array();

	json_object_set_new(o, "type", json_string("finding"));
	json_object_set_new(o, "time", jtime(f->ts_us));
	json_object_set_new(o, "file", json_string(files ? files[f->file] : "-"));
	json_object_set_new(o, "frame", f->frame ? json_integer(f->frame) : json_null());
	for (u8 i = 0; i < f->n_ev; i++)
		json_array_append_new(ev, json_integer(f->ev[i]));
	json_object_set_new(o, "evidence", ev);
	json_object_set_new(o, "service", jstr_or_null(f->group));
	json_object_set_new(o, "name", jstr_or_null(f->name));
	json_object_set_new(o, "category", json_string(category_name(f->cat)));
	if (f->iface)
		json_object_set_new(o, "interface", json_string(f->iface));
	json_object_set_new(o, "kind", json_string(kind_name(f->kind)));
	json_object_set_new(o, "client", f->cli.fam ? json_string(addr_fmt(&f->cli, a)) : json_null());
	json_object_set_new(o, "client_port", f->cli.fam ? json_integer(f->cport) : json_null());
	json_object_set_new(o, "server", f->srv.fam ? json_string(addr_fmt(&f->srv, a)) : json_null());
	json_object_set_new(o, "server_port", f->srv.fam ? json_integer(f->sport) : json_null());
	json_object_set_new(o, "proto", f->proto == 6 ? json_string("tcp")
	                                : f->proto == 17 ? json_string("udp") : json_null());
	json_object_set_new(o, "origin", json_string(origin_name(f->origin)));
	if (g_opts.probe) /* an addition to the contract: the probe's own traffic */
		json_object_set_new(o, "source", json_string("probe"));
	json_object_set_new(o, "detail", finding_detail(f));
	return o;
}

json_t *report_verdict_json(const struct verdict *v)
{
	json_t *o = json_object(), *counts = json_object(), *ev = json_array();

	json_object_set_new(o, "type", json_string("verdict"));
	json_object_set_new(o, "service", json_string(v->group));
	json_object_set_new(o, "status", json_string(status_name(v->status)));
	json_object_set_new(o, "attribution", json_string(attribution_name(v->attribution)));
	json_object_set_new(o, "confidence", json_real((double)(int)(v->confidence * 100 + 0.5) / 100));
	json_object_set(o, "reasons", v->reasons ? v->reasons : json_array());
	for (int c = 0; c < CAT_N; c++)
		json_object_set_new(counts, category_name(c),
		                    json_pack("{s:i,s:i}", "seen", (json_int_t)v->seen[c], "failed",
		                              (json_int_t)v->failed[c]));
	json_object_set_new(o, "counts", counts);
	json_object_set_new(o, "first_failure", jtime(v->first_failure));
	json_object_set_new(o, "last_failure", jtime(v->last_failure));
	for (u8 i = 0; i < v->n_ev; i++)
		json_array_append_new(ev, json_integer(v->ev[i]));
	json_object_set_new(o, "evidence", ev);
	json_object_set_new(o, "onset", jtime(v->onset_us));
	json_object_set_new(o, "recovery", jtime(v->recovery_us));
	if (v->clients)
		json_object_set(o, "clients", v->clients);
	else
		json_object_set_new(o, "clients", json_pack("{s:[],s:[],s:i,s:i}", "affected", "unaffected",
		                                            "affected_count", 0, "unaffected_count", 0));
	if (v->names)
		json_object_set(o, "names", v->names);
	else
		json_object_set_new(o, "names", json_array());
	if (v->attack_checks)
		json_object_set(o, "attack_checks", v->attack_checks);
	else
		json_object_set_new(o, "attack_checks", json_object());
	return o;
}


/* counters.quic (OUTPUT.md): long-header packets by type and version, the
 * hellos read from the Initials, CONNECTION_CLOSE frames. */
static json_t *quic_counters_json(void)
{
	const struct quic_stats *qs = quic_stats();
	json_t *versions = json_object(), *names = json_object(), *alpns = json_object();
	for (u8 i = 0; i < qs->n_names; i++)
		json_object_set_new(names, names_get(qs->names[i].name_id), json_integer((json_int_t)qs->names[i].n));
	for (u8 i = 0; i < qs->n_alpns; i++)
		json_object_set_new(alpns, qs->alpns[i].alpn, json_integer((json_int_t)qs->alpns[i].n));
	for (u8 i = 0; i < qs->n_versions; i++) {
		char k[16];
		snprintf(k, sizeof k, "0x%08x", qs->versions[i].version);
		json_object_set_new(versions, k, json_integer((json_int_t)qs->versions[i].n));
	}
	return json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:o,s:I,s:I,s:I,s:o,s:o,s:I,s:I,s:I,s:I}",
	                 "client_initials", (json_int_t)qs->client_initials,
	                 "server_initials", (json_int_t)qs->server_initials,
	                 "handshakes", (json_int_t)qs->handshakes,
	                 "retries", (json_int_t)qs->retries,
	                 "version_negotiations", (json_int_t)qs->version_negotiations,
	                 "connection_closes", (json_int_t)qs->connection_closes,
	                 "server_names", (json_int_t)qs->server_names, "versions", versions,
	                 "client_hellos", (json_int_t)qs->client_hellos,
	                 "server_hellos", (json_int_t)qs->server_hellos,
	                 "connections", (json_int_t)qs->connections, "names", names, "alpns", alpns,
	                 "zero_rtt", (json_int_t)qs->zero_rtt,
	                 "opened", (json_int_t)qs->opened,
	                 "open_failed", (json_int_t)qs->open_failed,
	                 "reassembly_full", (json_int_t)qs->reasm_full);
}

json_t *report_summary_json(const struct report_input *in)
{
	json_t *o = json_object(), *files = json_array(), *errs = json_array();
	const struct run_stats *st = in->st;

	json_object_set_new(o, "type", json_string("summary"));
	for (size_t i = 0; i < in->nfiles; i++)
		json_array_append_new(files, json_string(in->files[i]));
	json_object_set_new(o, "files", files);
	json_object_set_new(o, "packets", json_integer((json_int_t)st->packets));
	json_object_set_new(o, "bytes", json_integer((json_int_t)st->bytes));
	json_object_set_new(o, "flows", json_integer((json_int_t)st->flows));
	json_object_set_new(o, "start", jtime(st->first_us));
	json_object_set_new(o, "end", jtime(st->last_us));
	json_object_set_new(o, "dropped", json_integer((json_int_t)st->dropped));
	json_object_set_new(o, "damaged", json_boolean(in->damaged));
	for (size_t i = 0; i < in->nerrors; i++)
		json_array_append_new(errs, json_string(in->errors[i]));
	json_object_set_new(o, "errors", errs);
	char sentence[384];
	json_object_set_new(o, "attack_checks", diagnose_attack_checks(sentence, sizeof sentence));
	/* Additions to the contract (OUTPUT.md allows new fields). */
	json_object_set_new(o, "flows_evicted", json_integer((json_int_t)st->flows_evicted));
	json_object_set_new(o, "findings_dropped", json_integer((json_int_t)st->findings_dropped));
	if (in->probe) {
		json_object_set_new(o, "source", json_string("probe"));
		json_object_set(o, "probe", in->probe);
	}
	if (in->interfaces)
		json_object_set(o, "interfaces", in->interfaces);
	if (in->evidence_file) {
		json_object_set_new(o, "evidence_file", json_string(in->evidence_file));
		json_object_set(o, "evidence_map", in->evidence_map ? in->evidence_map : json_array());
	}
	json_t *und = json_pack("{s:I,s:I,s:I}", "truncated", (json_int_t)st->dec[1], "invalid",
	                        (json_int_t)st->dec[2], "not_ip", (json_int_t)st->dec[3]);
	for (u32 i = 0; i < st->n_unsupp; i++) { /* not_ip by what it was, as tcpdump names it */
		char k[64];
		decode_unsupp_name(st->unsupp[i].cls, st->unsupp[i].val, k, sizeof k);
		json_object_set_new(und, k, json_integer((json_int_t)st->unsupp[i].n));
	}
	if (st->unsupp_other)
		json_object_set_new(und, "other", json_integer((json_int_t)st->unsupp_other));
	json_object_set_new(o, "undecoded", und);
	json_t *encaps = json_object();
	for (int k = 1; k < TUN_N; k++)
		if (st->tun_frames[k])
			json_object_set_new(encaps, decode_tunnel_name(k), json_integer((json_int_t)st->tun_frames[k]));
	const struct dns_stats *ds = dns_stats();
	const struct tls_stats *ts = tls_stats();
	const struct http_stats *hs = http_stats();
	json_t *versions = json_object(), *codes = json_object(), *alerts = json_object();
	for (u8 i = 0; i < ts->alerts.n; i++) {
		char k[16];
		snprintf(k, sizeof k, "%u:%u", ts->alerts.v[i].key >> 8, ts->alerts.v[i].key & 0xff);
		json_object_set_new(alerts, k, json_integer((json_int_t)ts->alerts.v[i].n));
	}
	for (u8 i = 0; i < ts->versions.n; i++) {
		char k[16];
		snprintf(k, sizeof k, "0x%04x", ts->versions.v[i].key);
		json_object_set_new(versions, k, json_integer((json_int_t)ts->versions.v[i].n));
	}
	for (int c = 0; c < 1000; c++) {
		char k[16];
		if (!hs->by_code[c])
			continue;
		snprintf(k, sizeof k, "%d", c);
		json_object_set_new(codes, k, json_integer((json_int_t)hs->by_code[c]));
	}
	json_t *counters =
	                    json_pack("{s:{s:I,s:I,s:I},s:o,s:{s:I,s:I,s:I},s:{s:I,s:I,s:I,s:I,s:I},s:{s:I,s:I,s:I,s:I,s:o,s:o},s:{s:I,s:o}}",
	                              "frames", "ipv6", (json_int_t)st->ipv6_frames, "vlan",
	                              (json_int_t)st->vlan_frames, "inner_ip", (json_int_t)st->inner_ip_frames,
	                              "encapsulations", encaps, "tcp", "syn",
	                              (json_int_t)st->tcp_syn, "synack", (json_int_t)st->tcp_synack,
	                              "rst", (json_int_t)st->tcp_rst, "dns", "queries",
	                              (json_int_t)ds->queries, "responses", (json_int_t)ds->responses,
	                              "unmatched", (json_int_t)ds->unmatched, "parse_errors",
	                              (json_int_t)ds->parse_errors, "evicted", (json_int_t)ds->evicted,
	                              "tls", "client_hellos", (json_int_t)ts->client_hellos,
	                              "server_hellos", (json_int_t)ts->server_hellos, "server_names",
	                              (json_int_t)ts->server_names, "certificates",
	                              (json_int_t)ts->certificates, "versions", versions, "alerts", alerts, "http",
	                              "responses", (json_int_t)hs->responses, "codes", codes);
	json_object_set_new(counters, "quic", quic_counters_json());
	json_object_set_new(o, "counters", counters);
	return o;
}

static void put_json(FILE *out, json_t *o)
{
	char *s = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
	fputs(s, out);
	fputc('\n', out);
	free(s);
	json_decref(o);
}

void report_stream_findings(FILE *out, const char **files, size_t *next)
{
	for (; *next < findings_count(); (*next)++) {
		const struct finding *f = findings_get(*next);
		if (services_finding_in_scope(f->group))
			put_json(out, report_finding_json(f, files));
	}
	fflush(out);
}

/* ---- timeline: one line per service ---- */

/* How a timeline may be drawn on out: block characters only on a terminal
 * whose locale's character set is UTF-8, color only on a terminal and
 * without NO_COLOR (no-color.org). */
struct tl_style {
	int utf8, color;
};

static struct tl_style tl_style_of(FILE *out)
{
	struct tl_style s = { 0, 0 };
	if (!isatty(fileno(out)))
		return s;
	/* The environment's LC_CTYPE, looked at and put back: nothing else in
	 * panne depends on the locale. */
	const char *old = setlocale(LC_CTYPE, NULL);
	char keep[64];
	snprintf(keep, sizeof keep, "%s", old ? old : "C");
	if (setlocale(LC_CTYPE, "")) {
		const char *cs = nl_langinfo(CODESET);
		s.utf8 = cs && (strcmp(cs, "UTF-8") == 0 || strcmp(cs, "utf8") == 0);
	}
	setlocale(LC_CTYPE, keep);
	const char *nc = getenv("NO_COLOR"), *term = getenv("TERM");
	s.color = !(nc && nc[0]) && !(term && strcmp(term, "dumb") == 0);
	return s;
}

/* "19:56:35" (with ".mmm" when ms), or with the date when the capture spans
 * days. buf holds TIME_STRLEN. */
static const char *tl_clock(u64 us, int ms, int date, char *buf)
{
	char t[TIME_STRLEN];
	time_fmt(us, t); /* 2026-11-28T19:56:35.584438Z */
	if (date)
		snprintf(buf, TIME_STRLEN, "%.10s %.*s", t, ms ? 12 : 8, t + 11);
	else
		snprintf(buf, TIME_STRLEN, "%.*s", ms ? 12 : 8, t + 11);
	return buf;
}

/* The exchanges of each verdict's group in TIMELINE_BINS bins of [t0, t1],
 * in one pass over the exchange log. Returns nv records, owned by the
 * caller (free). */
struct tl_bins {
	u32 seen[TIMELINE_BINS], failed[TIMELINE_BINS];
};

static struct tl_bins *tl_bin_all(const struct verdict *v, size_t nv, u64 t0, u64 t1)
{
	struct tl_bins *bins = xcalloc(nv ? nv : 1, sizeof *bins);
	size_t ng = findings_groups();
	i32 *of = xmalloc((ng ? ng : 1) * sizeof *of); /* group index -> verdict, or -1 */
	for (size_t g = 0; g < ng; g++)
		of[g] = -1;
	for (size_t i = 0; i < nv; i++) {
		int gi = findings_group_index(v[i].group);
		if (gi >= 0)
			of[gi] = (i32)i;
	}
	u64 span = t1 > t0 ? t1 - t0 : 1;
	for (size_t i = 0; i < findings_exchanges(); i++) {
		const struct exch_rec *x = findings_exchange_at(i);
		if (x->group >= ng || of[x->group] < 0)
			continue;
		u64 t = x->ts_us < t0 ? t0 : x->ts_us > t1 ? t1 : x->ts_us;
		size_t b = (size_t)((t - t0) * TIMELINE_BINS / span);
		if (b >= TIMELINE_BINS)
			b = TIMELINE_BINS - 1;
		bins[of[x->group]].seen[b]++;
		bins[of[x->group]].failed[b] += x->failed;
	}
	free(of);
	return bins;
}

/* The legend of the timelines, once above them. */
static void tl_legend(FILE *out, u64 t0, u64 t1, const struct tl_style *s)
{
	double bin = (double)(t1 > t0 ? t1 - t0 : 1) / TIMELINE_BINS / 1e6;
	fprintf(out, "Timelines: %d bins of %.3g s; %s\n", TIMELINE_BINS, bin,
	        s->utf8 ? "\u00b7 none, \u2581..\u2588 exchanges that succeeded (height: how many), "
	                  "\u2592 some failed, \u2573 half or more failed"
	                : ". none, o exchanges that succeeded (O: over half the busiest bin), x some failed, X half or more failed");
}

/* "    timeline 19:56:35 [..oxX..] 19:56:37  onset 19:56:36.118, recovery -":
 * the exchanges of v's group over [t0, t1], then its onset and recovery
 * (first and last failure, so labelled, while the diagnosis has none). */
static void text_timeline(FILE *out, const struct verdict *v, const struct tl_bins *tb, u64 t0,
                          u64 t1, const struct tl_style *s)
{
	static const char *const lv[8] = { "\u2581", "\u2582", "\u2583", "\u2584",
		                           "\u2585", "\u2586", "\u2587", "\u2588" };
	const u32 *seen = tb->seen, *failed = tb->failed;
	u32 max = 0;
	char a[TIME_STRLEN], b[TIME_STRLEN];
	int date = t1 - t0 >= 86400000000ull;

	for (int i = 0; i < TIMELINE_BINS; i++)
		max = seen[i] > max ? seen[i] : max;
	fprintf(out, "    timeline %s [", tl_clock(t0, 0, date, a));
	for (int i = 0; i < TIMELINE_BINS; i++) {
		int bad = failed[i] > 0, most = 2 * failed[i] >= seen[i];
		if (bad && s->color)
			fputs("\033[1;31m", out);
		if (!seen[i])
			fputs(s->utf8 ? "\u00b7" : ".", out);
		else if (bad)
			fputs(s->utf8 ? (most ? "\u2573" : "\u2592") : (most ? "X" : "x"), out);
		else if (s->utf8)
			fputs(lv[(seen[i] * 8 - 1) / max], out);
		else
			fputc(2 * seen[i] > max && max > 1 ? 'O' : 'o', out);
		if (bad && s->color)
			fputs("\033[0m", out);
	}
	fprintf(out, "] %s", tl_clock(t1, 0, date, b));
	if (v->onset_us)
		fprintf(out, "  onset %s, recovery %s", tl_clock(v->onset_us, 1, date, a),
		        v->recovery_us ? tl_clock(v->recovery_us, 1, date, b) : "none by the end");
	else if (v->first_failure)
		fprintf(out, "  first failure %s, last %s", tl_clock(v->first_failure, 1, date, a),
		        tl_clock(v->last_failure, 1, date, b));
	fputc('\n', out);
}

void report_status(FILE *out, const struct verdict *v, size_t nv, const struct run_stats *st,
                   int tty)
{
	char t[TIME_STRLEN];
	if (g_opts.format == OUT_JSON) {
		for (size_t i = 0; i < nv; i++)
			put_json(out, report_verdict_json(&v[i]));
		fflush(out);
		return;
	}
	static size_t last_lines;
	struct tl_style sty = tl_style_of(out);
	struct tl_bins *tb = tl_bin_all(v, nv, st->first_us, st->last_us);
	if (tty && last_lines)
		fprintf(out, "\033[%zuA\033[J", last_lines); /* redraw the block in place */
	fprintf(out, "%s  %llu packets, %llu flows, %llu dropped by the kernel\n",
	        time_fmt(st->last_us, t), (unsigned long long)st->packets,
	        (unsigned long long)st->flows, (unsigned long long)st->dropped);
	for (size_t i = 0; i < nv; i++) {
		u32 seen = 0, failed = 0;
		for (int c = 0; c < CAT_N; c++)
			seen += v[i].seen[c], failed += v[i].failed[c];
		fprintf(out, "  %-14s %-9s %-9s %u/%u failed\n", v[i].group, status_name(v[i].status),
		        v[i].status == ST_HEALTHY ? "" : attribution_name(v[i].attribution), failed, seen);
		text_timeline(out, &v[i], &tb[i], st->first_us, st->last_us, &sty);
	}
	free(tb);
	last_lines = 2 * nv + 1;
	fflush(out);
}

static void write_json(FILE *out, const struct report_input *in)
{
	for (size_t i = in->first_finding; i < findings_count(); i++) {
		const struct finding *f = findings_get(i);
		if (services_finding_in_scope(f->group))
			put_json(out, report_finding_json(f, in->files));
	}
	for (size_t i = 0; i < in->nv; i++)
		put_json(out, report_verdict_json(&in->v[i]));
	put_json(out, report_summary_json(in));
}

/* ---- text ---- */

/* One line per finding kind of a group: "  http_5xx x3  frames 12 40 77". */
/* Findings sorted by group, kind and store order: each verdict's lines come
 * from its own range instead of a pass over every finding per kind. */
static int by_group_kind(const void *a, const void *b)
{
	const struct finding *x = findings_get(*(const u32 *)a), *y = findings_get(*(const u32 *)b);
	int c = strcmp(x->group, y->group);
	if (c)
		return c;
	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	return *(const u32 *)a < *(const u32 *)b ? -1 : 1;
}

static u32 *findings_sorted(void)
{
	u32 *ix = xcalloc(findings_count() + 1, sizeof *ix);
	for (size_t i = 0; i < findings_count(); i++)
		ix[i] = (u32)i;
	qsort(ix, findings_count(), sizeof *ix, by_group_kind);
	return ix;
}

/* One line per finding kind of a group: "  http_5xx x3  frames 12 40 77". */
static void text_findings(FILE *out, const char *group, const char **files, const u32 *ix)
{
	size_t lo = 0, hi = findings_count();
	while (lo < hi) { /* the group's first finding */
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(findings_get(ix[mid])->group, group) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; i < findings_count() && strcmp(findings_get(ix[i])->group, group) == 0;) {
		const struct finding *first = findings_get(ix[i]);
		int k = first->kind;
		size_t j = i, shown = 0;
		while (j < findings_count() && findings_get(ix[j])->kind == k &&
		       strcmp(findings_get(ix[j])->group, group) == 0)
			j++;
		size_t n = j - i;
		fprintf(out, "    %-17s %-5s x%-4zu frames", kind_name(k), category_name(first->cat), n);
		for (size_t m = i; m < j && shown < 12; m++, shown++) {
			const struct finding *f = findings_get(ix[m]);
			if (f->frame)
				fprintf(out, " %u", f->frame);
			else
				fprintf(out, " -");
		}
		if (n > shown)
			fprintf(out, " ...");
		fputc('\n', out);
		i = j;
		/* One example with its facts, so the line can be checked by hand. */
		char a[ADDR_STRLEN], b[ADDR_STRLEN];
		json_t *fd = finding_detail(first);
		char *d = json_dumps(fd, JSON_COMPACT | JSON_ENSURE_ASCII);
		json_decref(fd);
		char fr[16] = "-";
		if (first->frame)
			snprintf(fr, sizeof fr, "%u", first->frame);
		fprintf(out, "      e.g. %s frame %s%s%s: %s%s%s -> %s:%u, origin %s, %s\n",
		        files ? files[first->file] : "-", fr, first->iface ? " on " : "",
		        first->iface ? first->iface : "", first->name[0] ? first->name : "",
		        first->name[0] ? " " : "", addr_fmt(&first->cli, a), addr_fmt(&first->srv, b),
		        first->sport, origin_name(first->origin), d ? d : "{}");
		fprintf(out, "      (see: panne --explain %s%s%s)\n", k == K_DNS_REFUSED ? "dns/" : "",
		        k == K_TCP_REFUSED ? "tcp/" : "", kind_name(k));
		free(d);
	}
}

/* For whom, on which names, and what the attack checks found (since when
 * is the timeline's). */
static void text_when_who(FILE *out, const struct verdict *v)
{
	if (v->status == ST_DEGRADED || v->status == ST_FAILING) {
		json_t *aff = json_object_get(v->clients, "affected");
		json_int_t na = json_integer_value(json_object_get(v->clients, "affected_count"));
		json_int_t nu = json_integer_value(json_object_get(v->clients, "unaffected_count"));
		if (na && (nu || na > 1)) {
			fprintf(out, "    clients: %lld affected (", (long long)na);
			for (size_t i = 0; i < json_array_size(aff) && i < 5; i++)
				fprintf(out, "%s%s", i ? ", " : "", json_string_value(json_array_get(aff, i)));
			fprintf(out, "%s), %lld unaffected\n", na > 5 ? ", ..." : "", (long long)nu);
		}
		size_t shown = 0;
		for (size_t i = 0; i < json_array_size(v->names); i++) {
			json_t *e = json_array_get(v->names, i);
			json_int_t f = json_integer_value(json_object_get(e, "failed"));
			if (!f)
				continue;
			fprintf(out, "%s%s %lld/%lld", shown++ ? ", " : "    failing names (failed/seen): ",
			        json_string_value(json_object_get(e, "name")), (long long)f,
			        (long long)json_integer_value(json_object_get(e, "seen")));
		}
		if (shown)
			fputc('\n', out);
	}
	if (v->attack_text[0])
		fprintf(out, "    %s\n", v->attack_text);
}

/* The paragraph a person reads first when in a hurry, without a newline. */
void report_verdict_text(FILE *out, const struct verdict *vs, size_t nv)
{
	size_t nbad = 0, ngood = 0;
	for (size_t i = 0; i < nv; i++)
		vs[i].status == ST_DEGRADED || vs[i].status == ST_FAILING ? nbad++ : ngood++;
	if (!nbad)
		fprintf(out, "every service in scope worked (%zu seen).", ngood);
	for (size_t i = 0, k = 0; i < nv; i++) {
		const struct verdict *v = &vs[i];
		if (v->status != ST_DEGRADED && v->status != ST_FAILING)
			continue;
		fprintf(out, "%s%s is %s; the evidence points %s%s (confidence %.2f)", k++ ? "; " : "",
		        v->group, status_name(v->status),
		        v->attribution == AT_UPSTREAM ? "upstream, to the service's side" :
		        v->attribution == AT_LOCAL ? "to the local side (resolver, gateway, firewall or uplink)" :
		        v->attribution == AT_ATTACK ? "to something attack-like on the path" : "nowhere clear",
		        "", v->confidence);
	}
	if (nbad)
		fprintf(out, ". %zu other service%s worked.", ngood, ngood == 1 ? "" : "s");
}

static void write_text(FILE *out, const struct report_input *in)
{
	const struct run_stats *st = in->st;
	char t1[TIME_STRLEN], t2[TIME_STRLEN];

	if (in->probe_text)
		fprintf(out, "%s", in->probe_text);
	else
		fprintf(out, "panne: %zu file%s, %llu packets, %llu flows, %s .. %s\n", in->nfiles,
		        in->nfiles == 1 ? "" : "s", (unsigned long long)st->packets,
		        (unsigned long long)st->flows, st->first_us ? time_fmt(st->first_us, t1) : "-",
		        st->last_us ? time_fmt(st->last_us, t2) : "-");
	if (in->interfaces_text)
		fprintf(out, "%s", in->interfaces_text);
	if (!in->nv)
		fprintf(out, g_opts.scope == SCOPE_ALL ? "\nNo destination was seen with a complete exchange.\n"
		                                       : "\nNo service in scope was seen. Try -A to report every destination.\n");
	struct tl_style sty = tl_style_of(out);
	struct tl_bins *tb = tl_bin_all(in->v, in->nv, st->first_us, st->last_us);
	u32 *fix = findings_sorted();
	if (in->nv && st->first_us) {
		fputc('\n', out);
		tl_legend(out, st->first_us, st->last_us, &sty);
	}
	for (size_t i = 0; i < in->nv; i++) {
		const struct verdict *v = &in->v[i];
		fprintf(out, "\n%s: %s", v->group, status_name(v->status));
		if (v->status != ST_HEALTHY && v->status != ST_UNSEEN)
			fprintf(out, ", %s (confidence %.2f)", attribution_name(v->attribution), v->confidence);
		fputc('\n', out);
		fprintf(out, "    exchanges (failed/seen):");
		for (int c = 0; c < CAT_N; c++)
			fprintf(out, " %s %u/%u", category_name(c), v->failed[c], v->seen[c]);
		fputc('\n', out);
		if (st->first_us)
			text_timeline(out, v, &tb[i], st->first_us, st->last_us, &sty);
		text_when_who(out, v);
		text_findings(out, v->group, in->files, fix);
		size_t nr = v->reasons ? json_array_size(v->reasons) : 0;
		for (size_t r = 0; r < nr; r++)
			fprintf(out, "  - %s\n", json_string_value(json_array_get(v->reasons, r)));
	}
	if (findings_count() && !findings_get(fix[0])->group[0]) {
		/* Sorted by group: findings of no service come first. */
		fprintf(out, "\nNot tied to any service (traffic aimed at this network, not a service failing):\n");
		text_findings(out, "", in->files, fix);
	}
	free(fix);
	free(tb);
	if (in->nv) {
		fprintf(out, "\nVerdict: ");
		report_verdict_text(out, in->v, in->nv);
		fputc('\n', out);
	}
	if (in->damaged)
		for (size_t i = 0; i < in->nerrors; i++)
			fprintf(out, "\nDAMAGED INPUT: %s\n", in->errors[i]);
	if (st->flows_evicted || st->findings_dropped)
		fprintf(out, "\nNote: %llu flows evicted under the flow cap, %llu findings beyond the cap not kept.\n",
		        (unsigned long long)st->flows_evicted, (unsigned long long)st->findings_dropped);
	if (in->probe_text && !in->nfiles)
		fprintf(out, "\nNo frames: the probe's traffic was not captured (run as root).\n");
	else if (in->probe_text && !in->evidence_file)
		fprintf(out, "\nFrames count the probe's own capture: keep the cited ones with -w FILE to open them in Wireshark.\n");
	else
		fprintf(out, "\nOpen a frame in Wireshark: wireshark -r FILE -Y 'frame.number == N'\n");
}

void report_write(FILE *out, const struct report_input *in)
{
	if (g_opts.format == OUT_JSON)
		write_json(out, in);
	else
		write_text(out, in);
	fflush(out);
}
