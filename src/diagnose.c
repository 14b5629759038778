/* \summary: verdicts per group: status from exchange counts, attribution by
 * weighing the signals of its findings against control groups (every other
 * destination in the capture). Pure logic over findings and counters. */
#include <stdarg.h>
#include <string.h>

#include "panne/diagnose.h"
#include "panne/opts.h"
#include "panne/services.h"
#include "panne/util.h"

static const char *status_names[] = { "healthy", "degraded", "failing", "unseen" };
static const char *attr_names[] = { "none", "upstream", "local", "attack", "unknown" };

const char *status_name(int st) { return st >= 0 && st <= ST_UNSEEN ? status_names[st] : "unseen"; }
const char *attribution_name(int at) { return at >= 0 && at <= AT_UNKNOWN ? attr_names[at] : "unknown"; }

/* What one group's findings hold, gathered in one pass. */
struct gview {
	const char *group;
	u32 seen[CAT_N], failed[CAT_N];
	u32 nkind[K_N];
	const struct finding *firstk[K_N]; /* first finding of each kind */
	u32 norigin[O_N];
	u32 nfind;
	u32 *idx, nidx, capidx; /* its findings, by store index: no pass over all of them per group */
	int dom;                /* kind with most failure findings, -1 if none */
	struct addr srv[4];     /* distinct servers its failures (not DNS) went to */
	u8 nsrv;
};

/* Weights per attribution, with the reasons that gave them. */
struct tally {
	double w[AT_UNKNOWN + 1];
	json_t *reasons;
};

static void because(struct tally *t, int at, double w, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void because(struct tally *t, int at, double w, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	t->w[at] += w;
	json_array_append_new(t->reasons, json_string(buf));
}

/* "frames 12, 40, 77" of the findings of kind k in group g (at most 5). */
static void frames_of(const struct gview *g, int k, char *out, size_t n)
{
	size_t o = 0, shown = 0, total = 0;
	out[0] = 0;
	for (u32 i = 0; i < g->nidx; i++) {
		const struct finding *f = findings_get(g->idx[i]);
		if (f->kind != k)
			continue;
		total++;
		if (shown < 5 && o < n) {
			o += (size_t)snprintf(out + o, n - o, "%s%u", shown ? ", " : "", f->frame);
			shown++;
		}
	}
	if (total > shown && o < n)
		snprintf(out + o, n - o, ", ...");
}

static u32 sum(const u32 *v)
{
	u32 s = 0;
	for (int c = 0; c < CAT_N; c++)
		s += v[c];
	return s;
}

/* Exchanges of every group, summed once per run: the control group of g is
 * these minus g's own. */
static u32 tot_seen[CAT_N], tot_failed[CAT_N];

static void control(const struct gview *all, size_t n, const struct gview *g, int c, u32 *seen,
                    u32 *failed)
{
	(void)all, (void)n;
	*seen = tot_seen[c] - g->seen[c];
	*failed = tot_failed[c] - g->failed[c];
}

static int rst_by_server(const struct finding *f)
{
	json_t *s = json_object_get(f->detail, "sender");
	return !s || strcmp(json_string_value(s) ? json_string_value(s) : "", "client") != 0;
}

/* QUIC (HTTP/3 on UDP) against everything else, one rule per line of
 * reasoning:
 * - QUIC unanswered toward every destination seen (most others' QUIC failed
 *   too) while TCP/TLS works: UDP 443 blocked locally; services degraded.
 * - QUIC unanswered for this service while QUIC elsewhere completes: the
 *   service's QUIC edge (upstream), said with its TCP/TLS working or not.
 * - No other QUIC to compare with: unknown, naming what would tell.
 * - A close with a TLS alert from the server: weighed as that alert over
 *   TCP is (upstream); another error from the server: upstream; from the
 *   client: local, lightly.
 * - No common version: the server's answer (upstream), lightly. */
static void quic_signals(const struct gview *g, struct tally *t)
{
	char fr[96];
	u32 qs = tot_seen[CAT_QUIC] - g->seen[CAT_QUIC], qf = tot_failed[CAT_QUIC] - g->failed[CAT_QUIC];
	/* TCP/TLS working: this service's own handshakes, else everyone's. */
	u32 ts = g->seen[CAT_TLS] ? g->seen[CAT_TLS] : tot_seen[CAT_TLS];
	u32 tf = g->seen[CAT_TLS] ? g->failed[CAT_TLS] : tot_failed[CAT_TLS];
	int tcp_ok = ts > tf * 2;
	if (g->nkind[K_QUIC_TIMEOUT]) {
		frames_of(g, K_QUIC_TIMEOUT, fr, sizeof fr);
		if (qs && qf * 2 > qs && tcp_ok)
			because(t, AT_LOCAL, 3.0, "QUIC handshakes never got the server's hello (frames %s), and %u of %u QUIC handshakes with other destinations failed too, while %u of %u TLS handshakes over TCP completed: UDP 443 is blocked on the local path (a firewall, the router or the ISP); browsers fall back to TCP, so the service is slowed, not down",
			        fr, qf, qs, ts - tf, ts);
		else if (qs && qf * 2 > qs)
			because(t, AT_LOCAL, 2.0, "QUIC handshakes never got the server's hello (frames %s), and %u of %u QUIC handshakes with other destinations failed too: the common path drops UDP 443",
			        fr, qf, qs);
		else if (qs)
			because(t, AT_UPSTREAM, 2.5, "QUIC handshakes to this service never got its hello (frames %s) while %u of %u QUIC handshakes with other destinations completed: the service's QUIC edge fails%s",
			        fr, qs - qf, qs, tcp_ok ? ", its TLS over TCP works (browsers fall back)" : "");
		else
			because(t, AT_UNKNOWN, 1.0, "QUIC handshakes never got the server's hello (frames %s)%s; no other QUIC destination in the capture tells a block of UDP 443 from the service's QUIC edge",
			        fr, tcp_ok ? " while TLS over TCP works" : "");
	}
	const struct finding *c = g->firstk[K_QUIC_CLOSE];
	if (c) {
		json_t *al = json_object_get(c->detail, "alert"), *an = json_object_get(c->detail, "alert_name");
		json_t *en = json_object_get(c->detail, "error_name");
		frames_of(g, K_QUIC_CLOSE, fr, sizeof fr);
		if (c->origin == O_SERVER && al)
			because(t, AT_UPSTREAM, 1.5, "the server closed the QUIC handshake with TLS alert %s (%lld, frames %s), as it would end a TLS handshake over TCP",
			        json_string_value(an) ? json_string_value(an) : "?", (long long)json_integer_value(al), fr);
		else if (c->origin == O_SERVER)
			because(t, AT_UPSTREAM, 1.5, "the server closed the QUIC handshake with error %s (frames %s)",
			        json_string_value(en) ? json_string_value(en) : "(application)", fr);
		else
			because(t, AT_LOCAL, 0.5, "the client closed the QUIC handshake with error %s (frames %s)",
			        json_string_value(en) ? json_string_value(en) : "(application)", fr);
	}
	if (g->nkind[K_QUIC_VERSION]) {
		frames_of(g, K_QUIC_VERSION, fr, sizeof fr);
		because(t, AT_UPSTREAM, 1.0, "the server offered no QUIC version the client speaks (Version Negotiation, frames %s); clients fall back to TCP",
		        fr);
	}
}

/* Weighs the signals of group g; fills v's attribution, confidence, reasons. */
static void attribute(const struct gview *all, size_t n, const struct gview *g, struct verdict *v)
{
	struct tally t = { { 0 }, json_array() };
	char fr[96];
	u32 cs, cf;

	/* Attack-like signals: each is a thing an honest network does not do. */
	static const int attack_kinds[] = { K_DNS_INJECTION, K_RST_INJECTION, K_SYN_FLOOD,
		                            K_DNS_BOGUS_ANSWER, K_SNI_FILTERED, K_DNS_REFLECTION };
	for (size_t i = 0; i < sizeof attack_kinds / sizeof *attack_kinds; i++) {
		int k = attack_kinds[i];
		if (!g->nkind[k])
			continue;
		frames_of(g, k, fr, sizeof fr);
		because(&t, AT_ATTACK, 3.0, "%u %s finding%s (frames %s): %s", g->nkind[k], kind_name(k),
		        g->nkind[k] == 1 ? "" : "s", fr,
		        k == K_DNS_INJECTION ? "one query got differing answers, so something on the path answered first"
		        : k == K_RST_INJECTION ? "resets the server did not send (TTL, IP ID or sequence do not match its packets)"
		        : k == K_SYN_FLOOD ? "many half-open connections toward one server from many sources"
		        : k == K_DNS_REFLECTION ? "many large or fragmented DNS answers to queries nobody here sent: this host is the target of a reflection attack"
		        : k == K_SNI_FILTERED ? "handshakes cut right after the ClientHello while the same server completes them for other names: filtering by name on the path (censorship, or a local policy), never the service"
		                           : "a public name was answered with a private, loopback or sinkhole address");
	}
	for (int k = K_CERT_UNTRUSTED; k <= K_CERT_MISMATCH; k++) {
		const struct finding *f = g->firstk[k];
		if (!f)
			continue;
		frames_of(g, k, fr, sizeof fr);
		if (f->origin == O_ONPATH)
			because(&t, AT_ATTACK, 3.0, "%s (frames %s): the certificate for %s was presented by something on the path, not by the service",
			        kind_name(k), fr, f->name[0] ? f->name : "the service");
		else
			because(&t, AT_UPSTREAM, 1.0, "%s (frames %s): the server presented a certificate that does not verify for %s",
			        kind_name(k), fr, f->name[0] ? f->name : "its name");
	}

	/* Answers from the service itself: it is up enough to say it is not well. */
	if (g->nkind[K_HTTP_5XX]) {
		frames_of(g, K_HTTP_5XX, fr, sizeof fr);
		because(&t, AT_UPSTREAM, 2.0 + (double)g->nkind[K_HTTP_5XX] / (g->seen[CAT_HTTP] + 1),
		        "%u of %u HTTP responses were 5xx (frames %s): the service's servers answered with an error",
		        g->nkind[K_HTTP_5XX], g->seen[CAT_HTTP], fr);
	}
	if (g->nkind[K_CERT_EXPIRED]) {
		frames_of(g, K_CERT_EXPIRED, fr, sizeof fr);
		because(&t, AT_UPSTREAM, 1.0, "the certificate was outside its validity at capture time (frames %s)", fr);
	}
	if (g->nkind[K_TLS_ALERT]) {
		const struct finding *f = g->firstk[K_TLS_ALERT];
		frames_of(g, K_TLS_ALERT, fr, sizeof fr);
		if (f->origin == O_SERVER)
			because(&t, AT_UPSTREAM, 1.5, "the server ended the TLS handshake with an alert (frames %s)", fr);
		else if (f->origin == O_ONPATH)
			because(&t, AT_ATTACK, 1.5, "a TLS alert came from something on the path (frames %s)", fr);
		else
			because(&t, AT_LOCAL, 0.5, "the client ended the TLS handshake with an alert (frames %s)", fr);
	}

	/* Who sent the resets and unreachables: TTL/hop reasoning is in origin. */
	static const int path_kinds[] = { K_TCP_REFUSED, K_RST, K_ICMP_UNREACHABLE };
	for (size_t i = 0; i < sizeof path_kinds / sizeof *path_kinds; i++) {
		int k = path_kinds[i];
		const struct finding *f = g->firstk[k];
		if (!f || (k == K_RST && !rst_by_server(f)))
			continue;
		frames_of(g, k, fr, sizeof fr);
		if (k == K_ICMP_UNREACHABLE && f->cat == CAT_DNS)
			because(&t, AT_LOCAL, 2.5, "the resolver's host answered the queries with ICMP unreachable (frames %s): no DNS service is reachable there",
			        fr);
		else if (f->origin == O_LOCAL)
			because(&t, AT_LOCAL, 2.5, "%s (frames %s) came from a local device, not from the server (hop distance or reporter address)",
			        kind_name(k), fr);
		else if (f->origin == O_ONPATH)
			because(&t, AT_ATTACK, 2.0, "%s (frames %s) came from something between client and server", kind_name(k), fr);
		else {
			control(all, n, g, CAT_TCP, &cs, &cf);
			because(&t, AT_UPSTREAM, cs > cf ? 2.0 : 1.0,
			        "%s (frames %s) sent by the service's server%s", kind_name(k), fr,
			        cs > cf ? ", while connections to other destinations worked" : "");
		}
	}

	/* Silence: compare with everyone else through the same network. */
	static const struct {
		int kind, cat;
		const char *what;
	} silent[] = {
		{ K_DNS_TIMEOUT, CAT_DNS, "DNS queries went unanswered" },
		{ K_SERVFAIL, CAT_DNS, "the resolver answered SERVFAIL" },
		{ K_DNS_REFUSED, CAT_DNS, "the resolver refused the queries" },
		{ K_SYN_TIMEOUT, CAT_TCP, "connection attempts got no answer" },
		{ K_TLS_TIMEOUT, CAT_TLS, "TLS handshakes stalled" },
	};
	for (size_t i = 0; i < sizeof silent / sizeof *silent; i++) {
		int k = silent[i].kind, c = silent[i].cat;
		if (!g->nkind[k])
			continue;
		frames_of(g, k, fr, sizeof fr);
		/* Both sides of the gateway were captured: they say where it stopped. */
		json_t *gw = json_object_get(g->firstk[k]->detail, "gateway");
		if (gw && g->firstk[k]->origin == O_LOCAL) {
			because(&t, AT_LOCAL, 3.0, "%s (frames %s): %s", silent[i].what, fr, json_string_value(gw));
			continue;
		}
		if (gw) {
			because(&t, AT_UPSTREAM, 2.0, "%s (frames %s): %s", silent[i].what, fr, json_string_value(gw));
			continue;
		}
		control(all, n, g, c, &cs, &cf);
		if (cs == 0)
			because(&t, AT_UNKNOWN, 1.0, "%s (frames %s); no other destination in the capture to compare with",
			        silent[i].what, fr);
		else if (cf * 2 > cs)
			because(&t, AT_LOCAL, 2.5, "%s (frames %s), and %u of %u %s exchanges with other destinations failed too: the common path (resolver, gateway, uplink) is at fault",
			        silent[i].what, fr, cf, cs, category_name(c));
		else
			because(&t, AT_UPSTREAM, 2.0, "%s (frames %s) only for this service: %u of %u %s exchanges with other destinations succeeded",
			        silent[i].what, fr, cs - cf, cs, category_name(c));
	}
	quic_signals(g, &t);
	if (g->nkind[K_NXDOMAIN] && g->failed[CAT_DNS]) {
		frames_of(g, K_NXDOMAIN, fr, sizeof fr);
		because(&t, AT_UPSTREAM, 0.5, "names of the service do not exist (NXDOMAIN, frames %s)", fr);
	}

	/* The heaviest attribution wins; its share of the weight is the confidence. */
	int best = AT_UNKNOWN;
	double total = 0, bw = 0;
	for (int a = AT_UPSTREAM; a <= AT_UNKNOWN; a++) {
		total += t.w[a];
		if (t.w[a] > bw) {
			bw = t.w[a];
			best = a;
		}
	}
	v->attribution = (u8)best;
	v->confidence = total > 0 ? bw / total : 0.3;
	if (total < 2.0)
		v->confidence *= 0.6; /* one weak signal is not a diagnosis */
	if (v->confidence > 0.95)
		v->confidence = 0.95;
	/* An unreliable capture lowers confidence rather than mislead. */
	const struct capture_quality *q = findings_quality();
	if (q->tcp_conns >= 4 && q->tcp_one_way * 2 > q->tcp_conns) {
		v->confidence *= 0.5;
		because(&t, best, 0, "the capture looks one-directional (%llu of %llu connections show no packet back while the client kept sending): silence may be the capture's, confidence halved",
		        (unsigned long long)q->tcp_one_way, (unsigned long long)q->tcp_conns);
	}
	if (q->dropped) {
		v->confidence *= 0.8;
		because(&t, best, 0, "the kernel dropped %llu packets during the capture: some exchanges may be missing", (unsigned long long)q->dropped);
	}
	if (q->backscatter && best == AT_ATTACK)
		because(&t, best, 0, "%llu SYN-ACKs or resets answered no SYN of ours: backscatter of someone else's spoofed traffic, not a failure here", (unsigned long long)q->backscatter);
	if (!json_array_size(t.reasons))
		because(&t, AT_UNKNOWN, 0, "exchanges failed without a finding that says where");
	v->reasons = t.reasons;
}

static u64 gv_hash(const char *s)
{
	u64 h = 1469598103934665603ull;
	while (*s)
		h = (h ^ (u8)*s++) * 1099511628211ull;
	return h;
}

/* Adds the group of every counter and finding once, each with the list of
 * its findings; returns the count. One pass over the findings. */
static size_t collect(struct gview **out)
{
	size_t n = 0, cap = findings_groups() + 16, nslots = 64;
	struct gview *g = xcalloc(cap, sizeof *g);
	while (nslots < (findings_groups() + findings_count()) * 2 + 2)
		nslots <<= 1;
	u32 *slot = xcalloc(nslots, sizeof *slot); /* group index + 1 */

	for (size_t i = 0; i < findings_groups() + findings_count(); i++) {
		const struct finding *f = i >= findings_groups() ? findings_get(i - findings_groups()) : NULL;
		const char *name = f ? f->group : findings_group(i)->group;
		size_t h = gv_hash(name) & (nslots - 1);
		while (slot[h] && strcmp(g[slot[h] - 1].group, name) != 0)
			h = (h + 1) & (nslots - 1);
		if (!slot[h]) {
			if (n == cap)
				g = xrealloc(g, (cap *= 2) * sizeof *g);
			memset(&g[n], 0, sizeof g[n]);
			g[n].group = name;
			g[n].dom = -1;
			if (!f) {
				memcpy(g[n].seen, findings_group(i)->seen, sizeof g[n].seen);
				memcpy(g[n].failed, findings_group(i)->failed, sizeof g[n].failed);
			}
			slot[h] = (u32)++n;
		}
		if (!f)
			continue;
		struct gview *x = &g[slot[h] - 1];
		if (x->nidx == x->capidx)
			x->idx = xrealloc(x->idx, (x->capidx = x->capidx ? x->capidx * 2 : 8) * sizeof *x->idx);
		x->idx[x->nidx++] = (u32)(i - findings_groups());
		x->nkind[f->kind]++;
		x->norigin[f->origin]++;
		x->nfind++;
		if (!x->firstk[f->kind])
			x->firstk[f->kind] = f;
	}
	free(slot);
	*out = g;
	return n;
}

/* A failure finding, as opposed to a client's own reset (normal app behaviour). */
static int is_failure(const struct finding *f)
{
	return !(f->kind == K_RST && !rst_by_server(f));
}

static void fill(const struct gview *all, size_t n, struct gview *g, struct verdict *v)
{
	u32 nfail = 0;
	memset(v, 0, sizeof *v);
	snprintf(v->group, sizeof v->group, "%s", g->group);
	memcpy(v->seen, g->seen, sizeof v->seen);
	memcpy(v->failed, g->failed, sizeof v->failed);
	u32 nk[K_N] = { 0 };
	for (u32 i = 0; i < g->nidx; i++) {
		const struct finding *f = findings_get(g->idx[i]);
		if (!is_failure(f))
			continue;
		nfail++;
		nk[f->kind]++;
		if (f->srv.fam && f->cat != CAT_DNS && g->nsrv < 4) {
			u8 j;
			for (j = 0; j < g->nsrv && !addr_eq(&g->srv[j], &f->srv); j++)
				;
			if (j == g->nsrv)
				g->srv[g->nsrv++] = f->srv;
		}
		if (!v->first_failure || f->ts_us < v->first_failure)
			v->first_failure = f->ts_us;
		if (f->ts_us > v->last_failure)
			v->last_failure = f->ts_us;
		if (v->n_ev < FIND_EV_MAX) {
			if (!v->n_ev)
				v->ev_file = f->file;
			v->ev[v->n_ev++] = f->frame;
		}
	}
	for (int k = 0; k < K_N; k++)
		if (nk[k] && (g->dom < 0 || nk[k] > nk[g->dom]))
			g->dom = k;
	int majority = 0;
	for (int c = 0; c < CAT_N; c++)
		if (g->seen[c] && g->failed[c] * 2 > g->seen[c] &&
		    !(c == CAT_QUIC && g->seen[CAT_TLS] > g->failed[CAT_TLS] * 2)) /* falls back to TCP: slowed, not down */
			majority = 1;
	if (!nfail && !sum(g->failed)) {
		v->status = sum(g->seen) || g->nfind ? ST_HEALTHY : ST_UNSEEN;
		v->attribution = AT_NONE;
		v->confidence = 1.0;
		v->reasons = json_array();
		if (v->status == ST_HEALTHY)
			json_array_append_new(v->reasons, json_string("every exchange seen succeeded"));
		return;
	}
	/* Findings with no counted exchange (an injected answer, a flood) still degrade. */
	v->status = majority || !sum(g->seen) ? ST_FAILING : ST_DEGRADED;
	attribute(all, n, g, v);
}

/* A server address that failure findings of both groups name, if any. */
static int shared_server(const struct gview *a, const struct gview *b, struct addr *out)
{
	for (u8 i = 0; i < a->nsrv; i++)
		for (u8 j = 0; j < b->nsrv; j++)
			if (addr_eq(&a->srv[i], &b->srv[j])) {
				*out = a->srv[i];
				return 1;
			}
	return 0;
}

#define TOGETHER_US 120000000ull /* failures this close in time count as one event */

/* Several services failing at once in the same way: say so, and whether
 * they share infrastructure seen in the capture. Without attack signals,
 * that reads as one common upstream, not as each service, nor an attack. */
#define CORRELATE_MAX 512 /* failing groups compared pairwise at most */

static void correlate(struct verdict *v, struct gview **vg, size_t n)
{
	size_t nbad = 0;
	for (size_t i = 0; i < n; i++)
		nbad += v[i].status == ST_FAILING || v[i].status == ST_DEGRADED;
	if (nbad > CORRELATE_MAX)
		return;
	for (size_t i = 0; i < n; i++) {
		if (v[i].status != ST_FAILING && v[i].status != ST_DEGRADED)
			continue;
		int k = vg[i]->dom;
		char names[256] = "", shared[ADDR_STRLEN] = "";
		size_t o = 0, members = 0;
		int all_share = 1;
		for (size_t j = 0; j < n; j++) {
			if (j == i || (v[j].status != ST_FAILING && v[j].status != ST_DEGRADED) ||
			    vg[j]->dom != k)
				continue;
			u64 a0 = v[i].first_failure, a1 = v[i].last_failure, b0 = v[j].first_failure,
			    b1 = v[j].last_failure;
			if (a0 > b1 + TOGETHER_US || b0 > a1 + TOGETHER_US)
				continue;
			struct addr sa;
			if (shared_server(vg[i], vg[j], &sa))
				addr_fmt(&sa, shared);
			else
				all_share = 0;
			if (o < sizeof names)
				o += (size_t)snprintf(names + o, sizeof names - o, "%s%s", members ? ", " : "", v[j].group);
			members++;
		}
		if (!members)
			continue;
		char buf[600];
		if (all_share && shared[0]) {
			snprintf(buf, sizeof buf,
			         "%s failed at the same time and in the same way (%s) as %s, through the same server %s: one common upstream (shared hosting or CDN) is failing, not each service",
			         v[i].group, kind_name(k), names, shared);
			if (v[i].attribution != AT_ATTACK) {
				v[i].attribution = AT_UPSTREAM;
				v[i].confidence = MAX(v[i].confidence, 0.85);
			}
		} else {
			snprintf(buf, sizeof buf,
			         "%s failed at the same time and in the same way (%s) as %s; the capture shows no shared server between them",
			         v[i].group, kind_name(k), names);
		}
		json_array_append_new(v[i].reasons, json_string(buf));
	}
}

struct verdict *diagnose_run(size_t *nv)
{
	struct gview *g;
	size_t n = collect(&g), cap = n + 16, k = 0;
	struct gview **vg = xcalloc(cap, sizeof *vg);
	memset(tot_seen, 0, sizeof tot_seen);
	memset(tot_failed, 0, sizeof tot_failed);
	for (size_t i = 0; i < n; i++)
		for (int c = 0; c < CAT_N; c++)
			tot_seen[c] += g[i].seen[c], tot_failed[c] += g[i].failed[c];
	struct verdict *v = xcalloc(cap, sizeof *v);

	for (size_t i = 0; i < n; i++)
		if (services_in_scope(g[i].group)) {
			vg[k] = &g[i];
			fill(g, n, &g[i], &v[k++]);
		}
	/* Services named with -s but never seen. */
	if (g_opts.scope == SCOPE_LIST && g_opts.scope_list)
		for (char **s = g_opts.scope_list; *s; s++) {
			size_t j;
			for (j = 0; j < k; j++)
				if (strcmp(v[j].group, *s) == 0)
					break;
			if (j < k)
				continue;
			if (k == cap) {
				v = xrealloc(v, (cap *= 2) * sizeof *v);
				vg = xrealloc(vg, cap * sizeof *vg);
			}
			vg[k] = NULL;
			memset(&v[k], 0, sizeof v[k]);
			snprintf(v[k].group, sizeof v[k].group, "%s", *s);
			v[k].status = ST_UNSEEN;
			v[k].attribution = AT_NONE;
			v[k].reasons = json_array();
			json_array_append_new(v[k].reasons, json_string("no traffic of this service in the capture"));
			k++;
		}
	correlate(v, vg, k);
	for (size_t i = 0; i < n; i++)
		free(g[i].idx);
	free(g);
	free(vg);
	*nv = k;
	return v;
}

void diagnose_free(struct verdict *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		json_decref(v[i].reasons);
	free(v);
}
