/* \summary: verdicts per group. Status from exchange counts; onset and
 * recovery, clients and names from the exchange log; attribution from a
 * table of rules (condition, attribution, weight, sentence) applied to the
 * group's findings and to every other destination in the same time window.
 * Pure logic over findings and counters. */
#include <stdlib.h>
#include <string.h>

#include "panne/diagnose.h"
#include "panne/opts.h"
#include "panne/services.h"
#include "panne/util.h"

static const char *status_names[] = { "healthy", "degraded", "failing", "unseen" };
static const char *attr_names[] = { "none", "upstream", "local", "attack", "unknown" };

const char *status_name(int st) { return st >= 0 && st <= ST_UNSEEN ? status_names[st] : "unseen"; }
const char *attribution_name(int at) { return at >= 0 && at <= AT_UNKNOWN ? attr_names[at] : "unknown"; }

#define LIST_MAX 20 /* clients and names listed per verdict */

/* What one group's findings and exchanges hold, gathered in one pass each. */
struct gview {
	const char *group;
	int gi;                 /* findings_group() index, -1 for findings only */
	u32 seen[CAT_N], failed[CAT_N];
	u32 nkind[K_N];
	const struct finding *firstk[K_N]; /* first finding of each kind */
	u32 nfind;
	u32 *idx, nidx, capidx; /* its findings, by store index */
	u32 *xs, nx;            /* its exchanges, log indices in time order */
	int dom;                /* kind with most failure findings, -1 if none */
	struct addr srv[4];     /* distinct servers its failures (not DNS) went to */
	u8 nsrv;
};

/* ---- the exchange log, in time order ---- */

static u32 *xorder;            /* log indices sorted by start time */
static u32 nxorder;
static u32 *xcat[CAT_N];       /* per category: log indices in time order */
static u32 *xcumf[CAT_N];      /* ... failed among the first i */
static u32 nxcat[CAT_N];
static u64 log_end_us;         /* newest exchange or finding */

static int by_time(const void *a, const void *b)
{
	const struct exch_rec *x = findings_exchange_at(*(const u32 *)a);
	const struct exch_rec *y = findings_exchange_at(*(const u32 *)b);
	if (x->ts_us != y->ts_us)
		return x->ts_us < y->ts_us ? -1 : 1;
	return *(const u32 *)a < *(const u32 *)b ? -1 : *(const u32 *)a > *(const u32 *)b;
}

static void log_index(void)
{
	nxorder = (u32)findings_exchanges();
	xorder = xcalloc(nxorder + 1, sizeof *xorder);
	for (u32 i = 0; i < nxorder; i++)
		xorder[i] = i;
	qsort(xorder, nxorder, sizeof *xorder, by_time);
	for (int c = 0; c < CAT_N; c++) {
		xcat[c] = xcalloc(nxorder + 1, sizeof **xcat);
		xcumf[c] = xcalloc(nxorder + 1, sizeof **xcumf);
		nxcat[c] = 0;
	}
	log_end_us = 0;
	for (u32 i = 0; i < nxorder; i++) {
		const struct exch_rec *x = findings_exchange_at(xorder[i]);
		u32 k = nxcat[x->cat]++;
		xcat[x->cat][k] = xorder[i];
		xcumf[x->cat][k + 1] = xcumf[x->cat][k] + x->failed;
		log_end_us = MAX(log_end_us, x->ts_us);
	}
	for (size_t i = 0; i < findings_count(); i++)
		log_end_us = MAX(log_end_us, findings_get(i)->ts_us);
}

static void log_free(void)
{
	free(xorder);
	xorder = NULL;
	for (int c = 0; c < CAT_N; c++) {
		free(xcat[c]);
		free(xcumf[c]);
		xcat[c] = xcumf[c] = NULL;
	}
}

/* First position in category c's list whose time is >= t (> t if after). */
static u32 pos_of(int c, u64 t, int after)
{
	u32 lo = 0, hi = nxcat[c];
	while (lo < hi) {
		u32 mid = lo + (hi - lo) / 2;
		u64 ts = findings_exchange_at(xcat[c][mid])->ts_us;
		if (ts < t || (after && ts == t))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Exchanges of category c of every group from t0 to t1 (inclusive). */
static void window_all(int c, u64 t0, u64 t1, u32 *seen, u32 *failed)
{
	u32 a = pos_of(c, t0, 0), b = pos_of(c, t1, 1);
	*seen = b > a ? b - a : 0;
	*failed = b > a ? xcumf[c][b] - xcumf[c][a] : 0;
}

/* ---- evaluating one group ---- */

/* Everything a rule may look at for one group. */
struct ctx {
	const struct gview *g;
	u64 t0, t1;                 /* the failure window: onset .. recovery or end */
	char t0s[TIME_STRLEN];      /* t0 in text */
	u32 fs[2][CAT_N], ff[2][CAT_N]; /* other destinations' exchanges in the window, by the client's family (IPv4, IPv6) */
	u8 lookback;                /* bit k: os/of[k] are other destinations' last outcomes before t0 */
	u32 ws[CAT_N], wf[CAT_N];   /* the group's own exchanges in the window */
	u32 os[CAT_N], of[CAT_N];   /* every other destination's, same window */
	u32 os_before[CAT_N];       /* ... before the window (they did work then) */
	/* clients and names, for the rules that compare them */
	u32 nclients, naffected;
	u32 nnames, nfailnames;
	u32 fail_name;              /* a name failing in the window (names id), 0 if none */
	u32 fail_name_ok_clients;   /* clients for which that name worked in the window */
	u32 fail_name_bad_clients;
	u32 other_names_ok;         /* successful exchanges with the group's other names in the window */
};

/* Weights per attribution, with the reasons that gave them. */
struct tally {
	double w[AT_UNKNOWN + 1];
	u32 nrules[AT_UNKNOWN + 1]; /* rules with weight that supported each */
	json_t *reasons;
};

static u32 sum(const u32 *v)
{
	u32 s = 0;
	for (int c = 0; c < CAT_N; c++)
		s += v[c];
	return s;
}

static int rst_by_server(const struct finding *f)
{
	return !(f->facts & FACT_SENDER_CLIENT);
}

/* Findings that say something failed, as opposed to a client's own reset
 * (normal application behaviour) or attack traffic aimed at someone that
 * is not this service's exchange failing (a reflection's target). */
static int is_failure(const struct finding *f)
{
	if (f->kind == K_RST && !rst_by_server(f))
		return 0;
	return f->kind != K_DNS_REFLECTION && f->kind != K_SCAN;
}

#define OR(o) (1u << (o))
#define ANY_ORIGIN 0u

/* The rule conditions; each row of the table names one. */
enum cond {
	C_KIND,            /* findings of the row's kind with one of its origins */
	C_STARVED,         /* syn_timeouts the tcp analyzer tied to a flood */
	C_HTTP_5XX,        /* the service answered with errors */
	C_PATH_SERVER,     /* refused/reset/unreachable from the server itself */
	C_SILENT_GW_DROP,  /* both gateway sides captured: it kept the packets */
	C_SILENT_GW_FWD,   /* ... it forwarded them and nothing came back */
	C_SILENT_ALL,      /* from the onset on, other destinations failed alike */
	C_SILENT_ONLY,     /* ... other destinations worked at the same time */
	C_SILENT_ALONE,    /* ... no other destination to compare with */
	C_FAMILY_PATH,     /* the silence is one address family's, everyone's in it, the other works */
	C_NXDOMAIN_LAN,    /* NXDOMAIN from a resolver on the local network */
	C_NXDOMAIN,        /* NXDOMAIN from beyond it */
	C_SOME_CLIENTS,    /* a failing name worked for other clients at the same time */
	C_SOME_NAMES,      /* other names of the service worked at the same time */
	C_QUIC_BLOCKED,    /* QUIC unanswered everywhere while TLS over TCP works */
	C_QUIC_COMMON,     /* QUIC unanswered everywhere, no TCP to compare */
	C_QUIC_EDGE,       /* QUIC unanswered for this service only */
	C_QUIC_ALONE,      /* QUIC unanswered, no other QUIC destination */
	C_QUIC_CLOSE,      /* the handshake closed with an error, by its sender */
};

/* The kinds the silence rules look at, with the category compared. */
static const struct { int kind, cat; const char *what; } silent[] = {
	{ K_DNS_TIMEOUT, CAT_DNS, "DNS queries went unanswered" },
	{ K_SERVFAIL, CAT_DNS, "the resolver answered SERVFAIL" },
	{ K_DNS_REFUSED, CAT_DNS, "the resolver refused the queries" },
	{ K_SYN_TIMEOUT, CAT_TCP, "connection attempts got no answer" },
	{ K_TLS_TIMEOUT, CAT_TLS, "TLS handshakes stalled" },
};
#define NSILENT (sizeof silent / sizeof *silent)

/* The rule table. Each row: a condition over the evidence, the
 * attribution it supports, its weight, and the sentence it adds, where
 * {n} is the count, {s} a plural s, {frames} the findings' frames,
 * {name} the name involved, {onset} the failure window's start, {what}
 * what the silence was, {cat} the category compared, {ok}/{seen}/{bad}
 * the other destinations' exchanges in the window, {gw} what the
 * gateway's far side showed, {clients}/{okclients} client counts.
 * panne(8) ATTRIBUTION says this table in words. */
static const struct rule {
	const char *id;
	int cond, kind;
	u32 origins;       /* C_KIND: origins that match (ANY_ORIGIN: all) */
	int at;
	double weight;
	const char *say;
} rules[] = {
	/* Attack-like: each is a thing an honest network does not do. */
	{ "dns-injection", C_KIND, K_DNS_INJECTION, ANY_ORIGIN, AT_ATTACK, 3.0,
	  "{n} dns_injection finding{s} (frames {frames}): one query got differing answers, so something on the path answered first" },
	{ "rst-injection", C_KIND, K_RST_INJECTION, ANY_ORIGIN, AT_ATTACK, 3.0,
	  "{n} rst_injection finding{s} (frames {frames}): resets the server did not send (its own packets say otherwise: see each finding's signals)" },
	{ "syn-flood", C_KIND, K_SYN_FLOOD, ANY_ORIGIN, AT_ATTACK, 3.0,
	  "{n} syn_flood finding{s} (frames {frames}): many half-open connections toward one server from many sources" },
	{ "starved", C_STARVED, K_SYN_TIMEOUT, ANY_ORIGIN, AT_ATTACK, 2.0,
	  "{n} of the clients' own connections (frames {frames}) went unanswered while the server was flooded: the flood starved them" },
	{ "sni-filtered", C_KIND, K_SNI_FILTERED, ANY_ORIGIN, AT_ATTACK, 3.0,
	  "{n} sni_filtered finding{s} (frames {frames}): handshakes cut right after the ClientHello while the same server completes them for other names: filtering by name on the path (censorship, or a policy), never the service" },
	{ "dns-filter-lan", C_KIND, K_DNS_BOGUS_ANSWER, OR(O_LOCAL), AT_LOCAL, 3.0,
	  "a resolver on the local network answered {name} with an address that points nowhere (frames {frames}): a DNS filter (Pi-hole, AdGuard, a router's parental control) blocks it, not an attack" },
	{ "dns-bogus", C_KIND, K_DNS_BOGUS_ANSWER, OR(O_UNKNOWN) | OR(O_SERVER) | OR(O_RESOLVER) | OR(O_ONPATH), AT_ATTACK, 3.0,
	  "{n} dns_bogus_answer finding{s} (frames {frames}): a resolver beyond the local network answered {name} with a private, loopback or sinkhole address that no verified handshake confirmed: tampering" },
	{ "cert-on-path", C_KIND, K_CERT_UNTRUSTED, OR(O_ONPATH), AT_ATTACK, 3.0,
	  "cert_untrusted (frames {frames}): the certificate for {name} was presented by something on the path, not by the service" },
	{ "cert-mismatch-on-path", C_KIND, K_CERT_MISMATCH, OR(O_ONPATH), AT_ATTACK, 3.0,
	  "cert_mismatch (frames {frames}): the certificate for {name} was presented by something on the path, not by the service" },
	/* The service's own answers: it is up enough to say it is not well. */
	{ "http-5xx", C_HTTP_5XX, K_HTTP_5XX, ANY_ORIGIN, AT_UPSTREAM, 2.5,
	  "{n} of {seen} HTTP responses were 5xx (frames {frames}): the service's servers answered with an error" },
	{ "cert-untrusted", C_KIND, K_CERT_UNTRUSTED, ~OR(O_ONPATH), AT_UPSTREAM, 1.0,
	  "cert_untrusted (frames {frames}): the server presented a certificate that does not verify for {name}" },
	{ "cert-mismatch", C_KIND, K_CERT_MISMATCH, ~OR(O_ONPATH), AT_UPSTREAM, 1.0,
	  "cert_mismatch (frames {frames}): the server presented a certificate that does not cover {name}" },
	{ "cert-expired", C_KIND, K_CERT_EXPIRED, ANY_ORIGIN, AT_UPSTREAM, 1.0,
	  "the certificate was outside its validity at capture time (frames {frames})" },
	{ "tls-alert-server", C_KIND, K_TLS_ALERT, OR(O_SERVER), AT_UPSTREAM, 1.5,
	  "the server ended the TLS handshake with an alert (frames {frames})" },
	{ "tls-alert-on-path", C_KIND, K_TLS_ALERT, OR(O_ONPATH), AT_ATTACK, 1.5,
	  "a TLS alert came from something on the path (frames {frames})" },
	{ "tls-alert-client", C_KIND, K_TLS_ALERT, OR(O_LOCAL) | OR(O_UNKNOWN), AT_LOCAL, 0.5,
	  "the client ended the TLS handshake with an alert (frames {frames})" },
	/* Who sent the refusals, resets and unreachables: hop distance from
	 * the capture point, learnt from the clients' own packets. */
	{ "dns-unreachable", C_KIND, K_ICMP_UNREACHABLE, ANY_ORIGIN, AT_LOCAL, 2.5,
	  "the resolver's host answered the queries with ICMP unreachable (frames {frames}): no DNS service is reachable there" },
	{ "refused-local", C_KIND, K_TCP_REFUSED, OR(O_LOCAL), AT_LOCAL, 2.5,
	  "refused (frames {frames}): the resets came from a device of the local network (as near as the clients), not from the server" },
	{ "rst-local", C_KIND, K_RST, OR(O_LOCAL), AT_LOCAL, 2.5,
	  "rst (frames {frames}): the resets came from a device of the local network (as near as the clients), not from the server" },
	{ "icmp-local", C_KIND, K_ICMP_UNREACHABLE, OR(O_LOCAL), AT_LOCAL, 2.5,
	  "icmp_unreachable (frames {frames}) came from a local device, not from the server" },
	{ "refused-on-path", C_KIND, K_TCP_REFUSED, OR(O_ONPATH), AT_ATTACK, 2.0,
	  "refused (frames {frames}): the resets came from between the local network and the server, fewer hops away than the server's own packets" },
	{ "rst-on-path", C_KIND, K_RST, OR(O_ONPATH), AT_ATTACK, 2.0,
	  "rst (frames {frames}): the resets came from between the local network and the server, fewer hops away than the server's own packets" },
	{ "icmp-on-path", C_KIND, K_ICMP_UNREACHABLE, OR(O_ONPATH), AT_UNKNOWN, 1.0,
	  "icmp_unreachable (frames {frames}): a router between the local network and the server said the destination cannot be reached" },
	{ "path-server", C_PATH_SERVER, -1, ANY_ORIGIN, AT_UPSTREAM, 2.0,
	  "{what} (frames {frames}) sent by the service's server{also}" },
	/* Silence: compare with everyone else through the same network, in the
	 * same time window. */
	{ "gateway-dropped", C_SILENT_GW_DROP, -1, ANY_ORIGIN, AT_LOCAL, 3.0, "{what} (frames {frames}): {gw}" },
	{ "gateway-forwarded", C_SILENT_GW_FWD, -1, ANY_ORIGIN, AT_UPSTREAM, 2.0, "{what} (frames {frames}): {gw}" },
	{ "same-window-all-fail", C_SILENT_ALL, -1, ANY_ORIGIN, AT_LOCAL, 2.5,
	  "{what} (frames {frames}), and {since} {bad} of {seen} {cat} exchanges with other destinations failed too{dns}: the common path (resolver, gateway, uplink) is at fault, whatever worked before" },
	{ "same-window-others-ok", C_SILENT_ONLY, -1, ANY_ORIGIN, AT_UPSTREAM, 2.0,
	  "{what} (frames {frames}) only for this service: {since} {ok} of {seen} {cat} exchanges with other destinations succeeded" },
	{ "family-path", C_FAMILY_PATH, -1, ANY_ORIGIN, AT_LOCAL, 3.0,
	  "{what} over {fam} only (frames {frames}), and {since} {bad} of {seen} {fam} {cat} exchanges with other destinations failed too while {ok} over {fam2} worked: the local {fam} path (the router's {fam} uplink or route) is broken" },
	{ "no-control", C_SILENT_ALONE, -1, ANY_ORIGIN, AT_UNKNOWN, 1.0,
	  "{what} (frames {frames}); no other destination was reached from {onset} on to compare with" },
	{ "nxdomain-lan", C_NXDOMAIN_LAN, K_NXDOMAIN, ANY_ORIGIN, AT_LOCAL, 1.5,
	  "a resolver on the local network said names of the service do not exist (NXDOMAIN, frames {frames}) while it answers other names: a DNS filter is the likelier cause" },
	{ "nxdomain", C_NXDOMAIN, K_NXDOMAIN, ANY_ORIGIN, AT_UPSTREAM, 0.5,
	  "names of the service do not exist (NXDOMAIN, frames {frames})" },
	/* Who and what: clients and names compared in the same window. */
	{ "some-clients", C_SOME_CLIENTS, -1, ANY_ORIGIN, AT_LOCAL, 1.5,
	  "{name} fails for {clients} client{s} while it works for {okclients} other{s2} at the same time: the service answers, so the failing clients' own side (device, its network path or policy) is at fault" },
	{ "some-names", C_SOME_NAMES, -1, ANY_ORIGIN, AT_UPSTREAM, 0.5,
	  "{name} fails while {ok} exchanges with the service's other names succeeded at the same time: that name's servers, not the whole service" },
	/* QUIC (HTTP/3 on UDP 443) against TCP and the other QUIC destinations,
	 * in the same window. */
	{ "quic-blocked", C_QUIC_BLOCKED, K_QUIC_TIMEOUT, ANY_ORIGIN, AT_LOCAL, 3.0,
	  "QUIC handshakes never got the server's hello (frames {frames}), and {since} {bad} of {seen} QUIC handshakes with other destinations failed too, while {ok} TLS handshakes over TCP completed: UDP 443 is blocked on the local path (a firewall, the router, the ISP); browsers fall back to TCP, so the service is slowed, not down" },
	{ "quic-common", C_QUIC_COMMON, K_QUIC_TIMEOUT, ANY_ORIGIN, AT_LOCAL, 2.0,
	  "QUIC handshakes never got the server's hello (frames {frames}), and {since} {bad} of {seen} QUIC handshakes with other destinations failed too: the common path drops UDP 443" },
	{ "quic-edge", C_QUIC_EDGE, K_QUIC_TIMEOUT, ANY_ORIGIN, AT_UPSTREAM, 2.5,
	  "QUIC handshakes to this service never got its hello (frames {frames}) while {ok} of {seen} QUIC handshakes with other destinations completed {since}: the service's QUIC edge fails{also}" },
	{ "quic-alone", C_QUIC_ALONE, K_QUIC_TIMEOUT, ANY_ORIGIN, AT_UNKNOWN, 1.0,
	  "QUIC handshakes never got the server's hello (frames {frames}){also}; no other QUIC destination at the same time tells a block of UDP 443 from the service's QUIC edge" },
	{ "quic-close-alert", C_QUIC_CLOSE, K_QUIC_CLOSE, OR(O_SERVER), AT_UPSTREAM, 1.5,
	  "the server closed the QUIC handshake with {what} (frames {frames}){also}" },
	{ "quic-close-client", C_QUIC_CLOSE, K_QUIC_CLOSE, ~OR(O_SERVER), AT_LOCAL, 0.5,
	  "the client closed the QUIC handshake with {what} (frames {frames})" },
	{ "quic-version", C_KIND, K_QUIC_VERSION, ANY_ORIGIN, AT_UPSTREAM, 1.0,
	  "the server offered no QUIC version the client speaks (Version Negotiation, frames {frames}); clients fall back to TCP" },
};

/* A named value for the sentence templates. */
struct vars {
	char since[TIME_STRLEN + 64], fam[8], fam2[8];
	char n[16], s[4], s2[4], frames[96], name[NAME_MAX_LEN + 1], onset[TIME_STRLEN], what[96],
	    cat[8], ok[16], seen[16], bad[16], gw[200], clients[16], okclients[16], dns[64], also[96];
};

static const char *var(const struct vars *v, const char *k, size_t kl)
{
#define V(f) if (kl == sizeof #f - 1 && memcmp(k, #f, kl) == 0) return v->f
	V(since); V(fam); V(fam2); V(n); V(s); V(s2); V(frames); V(name); V(onset); V(what); V(cat); V(ok); V(seen); V(bad);
	V(gw); V(clients); V(okclients); V(dns); V(also);
#undef V
	return "?";
}

/* Expands the {key}s of tmpl into out. */
static void expand(const char *tmpl, const struct vars *v, char *out, size_t n)
{
	size_t o = 0;
	for (const char *p = tmpl; *p && o + 1 < n; p++) {
		const char *e = *p == '{' ? strchr(p, '}') : NULL;
		if (!e) {
			out[o++] = *p;
			continue;
		}
		const char *val = var(v, p + 1, (size_t)(e - p - 1));
		size_t l = strlen(val);
		if (l > n - 1 - o)
			l = n - 1 - o;
		memcpy(out + o, val, l);
		o += l;
		p = e;
	}
	out[o] = 0;
}

/* "12, 40, 77" of g's failure findings of kind k with one of origins (at
 * most 5); returns how many there are. */
static u32 frames_of(const struct gview *g, int k, u32 origins, char *out, size_t n)
{
	size_t o = 0;
	u32 shown = 0, total = 0;
	out[0] = 0;
	for (u32 i = 0; i < g->nidx; i++) {
		const struct finding *f = findings_get(g->idx[i]);
		if (f->kind != k || !is_failure(f) || (origins && !(origins & OR(f->origin))))
			continue;
		total++;
		if (shown < 5 && o < n) {
			o += (size_t)snprintf(out + o, n - o, "%s%u", shown ? ", " : "", f->frame);
			shown++;
		}
	}
	if (total > shown && o < n)
		snprintf(out + o, n - o, ", ...");
	return total;
}

/* The first failure finding of kind k with one of origins. */
static const struct finding *first_of(const struct gview *g, int k, u32 origins)
{
	for (u32 i = 0; i < g->nidx; i++) {
		const struct finding *f = findings_get(g->idx[i]);
		if (f->kind == k && is_failure(f) && (!origins || (origins & OR(f->origin))))
			return f;
	}
	return NULL;
}

static int resolver_local(const struct finding *f)
{
	return (f->facts & FACT_RESOLVER_LOCAL) || f->origin == O_LOCAL;
}

static void set_num(char *buf, size_t n, u32 v) { snprintf(buf, n, "%u", v); }

/* The address family of g's findings of kind k when they are all one, else 0. */
static int one_family(const struct gview *g, int k)
{
	int fam = 0;
	for (u32 i = 0; i < g->nidx; i++) {
		const struct finding *f = findings_get(g->idx[i]);
		if (f->kind != k || !is_failure(f) || !f->srv.fam)
			continue;
		if (fam && fam != f->srv.fam)
			return 0;
		fam = f->srv.fam;
	}
	return fam;
}

/* 1 when silence of kind k in category cat is its family's on the local
 * path: the same family fails for the others in the window, the other
 * family works for them. */
static int family_path(const struct gview *g, const struct ctx *c, int k, int cat, int *fam)
{
	*fam = one_family(g, k);
	if (!*fam)
		return 0;
	int a = *fam == 6, b = !a;
	return c->fs[a][cat] && c->ff[a][cat] * 2 > c->fs[a][cat] && c->fs[b][cat] > c->ff[b][cat] * 2;
}

/* Silence of kind silent[i] that no gateway twin explains: 1 when the
 * group has such findings, with frames and what in vars. */
static int silent_plain(const struct gview *g, size_t i, struct vars *v)
{
	const struct finding *f = g->firstk[silent[i].kind];
	if (!f || (f->facts & FACT_GATEWAY))
		return 0;
	frames_of(g, silent[i].kind, ANY_ORIGIN, v->frames, sizeof v->frames);
	snprintf(v->what, sizeof v->what, "%s", silent[i].what);
	snprintf(v->cat, sizeof v->cat, "%s", category_name(silent[i].cat));
	return 1;
}

/* Row r applies: its sentence, with v's values, joins the reasons and w
 * its attribution's weight. */
static void adds(struct tally *t, const struct rule *r, const struct vars *v, double w)
{
	char buf[640];
	expand(r->say, v, buf, sizeof buf);
	t->w[r->at] += w;
	t->nrules[r->at]++;
	json_array_append_new(t->reasons, json_string(buf));
}

/* Applies the condition of row r to group context c: when it holds, the
 * row adds its sentence and weight (the weight may depend on the
 * evidence). A silence row can apply once per silent kind. */
static void apply(const struct rule *r, const struct ctx *c, struct tally *t)
{
	const struct gview *g = c->g;
	struct vars v;
	double w = r->weight;
	int hit = 0;

	memset(&v, 0, sizeof v);
	memcpy(v.onset, c->t0s, sizeof v.onset);
	snprintf(v.since, sizeof v.since, "from %s on", c->t0s);
	switch (r->cond) {
	case C_KIND: {
		u32 k = frames_of(g, r->kind, r->origins, v.frames, sizeof v.frames);
		if (!k)
			return;
		const struct finding *f = first_of(g, r->kind, r->origins);
		if (r->kind == K_ICMP_UNREACHABLE && (f->cat == CAT_DNS) != (strcmp(r->id, "dns-unreachable") == 0))
			return;
		set_num(v.n, sizeof v.n, k);
		snprintf(v.s, sizeof v.s, "%s", k == 1 ? "" : "s");
		snprintf(v.name, sizeof v.name, "%s", f->name[0] ? f->name : "the service");
		hit = 1;
		break;
	}
	case C_STARVED: {
		u32 k = 0;
		size_t o = 0;
		for (u32 i = 0; i < g->nidx; i++) {
			const struct finding *f = findings_get(g->idx[i]);
			if (f->kind != K_SYN_TIMEOUT || !(f->facts & FACT_FLOOD))
				continue;
			if (k < 5 && o < sizeof v.frames)
				o += (size_t)snprintf(v.frames + o, sizeof v.frames - o, "%s%u", k ? ", " : "", f->frame);
			k++;
		}
		if (!k)
			return;
		set_num(v.n, sizeof v.n, k);
		hit = 1;
		break;
	}
	case C_HTTP_5XX: {
		u32 k = frames_of(g, K_HTTP_5XX, ANY_ORIGIN, v.frames, sizeof v.frames);
		if (!k)
			return;
		set_num(v.n, sizeof v.n, k);
		set_num(v.seen, sizeof v.seen, g->seen[CAT_HTTP]);
		w += (double)k / (g->seen[CAT_HTTP] + 1);
		hit = 1;
		break;
	}
	case C_PATH_SERVER: {
		static const int kinds[] = { K_TCP_REFUSED, K_RST, K_ICMP_UNREACHABLE };
		for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++) {
			u32 origins = OR(O_SERVER) | OR(O_UNKNOWN) | OR(O_RESOLVER);
			const struct finding *f = first_of(g, kinds[i], origins);
			if (!f || (kinds[i] == K_ICMP_UNREACHABLE && f->cat == CAT_DNS))
				continue;
			frames_of(g, kinds[i], origins, v.frames, sizeof v.frames);
			snprintf(v.what, sizeof v.what, "%s", kind_name(kinds[i]));
			int others_ok = c->os[CAT_TCP] > c->of[CAT_TCP];
			snprintf(v.also, sizeof v.also, "%s", others_ok ? ", while connections to other destinations worked at the same time" : "");
			adds(t, r, &v, others_ok ? w : w / 2);
		}
		return;
	}
	case C_SILENT_GW_DROP:
	case C_SILENT_GW_FWD:
		for (size_t i = 0; i < NSILENT; i++) {
			const struct finding *f = g->firstk[silent[i].kind];
			if (!f || !(f->facts & FACT_GATEWAY) || (f->origin == O_LOCAL) != (r->cond == C_SILENT_GW_DROP))
				continue;
			frames_of(g, silent[i].kind, ANY_ORIGIN, v.frames, sizeof v.frames);
			snprintf(v.what, sizeof v.what, "%s", silent[i].what);
			finding_detail_str(f, "gateway", v.gw, sizeof v.gw);
			adds(t, r, &v, w);
		}
		return;
	case C_SILENT_ALL:
	case C_SILENT_ONLY:
	case C_SILENT_ALONE:
		for (size_t i = 0; i < NSILENT; i++) {
			if (!silent_plain(g, i, &v))
				continue;
			int k = silent[i].cat;
			u32 os = c->os[k], of = c->of[k];
			int which = !os ? C_SILENT_ALONE : of * 2 > os ? C_SILENT_ALL : C_SILENT_ONLY, fam;
			if (which == C_SILENT_ONLY && family_path(g, c, silent[i].kind, k, &fam))
				continue; /* said by family-path */
			if (which != r->cond)
				continue;
			set_num(v.seen, sizeof v.seen, os);
			set_num(v.bad, sizeof v.bad, of);
			if (c->lookback & (1u << k))
				snprintf(v.since, sizeof v.since, "just before %s (nothing tried since)", c->t0s);
			set_num(v.ok, sizeof v.ok, os - of);
			double ww = w;
			if (which == C_SILENT_ALL && k != CAT_DNS && c->os[CAT_DNS] && c->of[CAT_DNS] * 2 > c->os[CAT_DNS]) {
				snprintf(v.dns, sizeof v.dns, ", DNS included (%u of %u lookups)", c->of[CAT_DNS], c->os[CAT_DNS]);
				ww += 0.5;
			}
			adds(t, r, &v, ww);
		}
		return;
	case C_NXDOMAIN_LAN:
	case C_NXDOMAIN: {
		const struct finding *f = first_of(g, K_NXDOMAIN, ANY_ORIGIN);
		if (!f || !g->failed[CAT_DNS] || (resolver_local(f) != (r->cond == C_NXDOMAIN_LAN)))
			return;
		if (r->cond == C_NXDOMAIN_LAN && !c->os[CAT_DNS])
			return;
		frames_of(g, K_NXDOMAIN, ANY_ORIGIN, v.frames, sizeof v.frames);
		hit = 1;
		break;
	}
	case C_SOME_CLIENTS:
		if (!c->fail_name || !c->fail_name_ok_clients)
			return;
		snprintf(v.name, sizeof v.name, "%s", names_get(c->fail_name));
		set_num(v.clients, sizeof v.clients, c->fail_name_bad_clients);
		set_num(v.okclients, sizeof v.okclients, c->fail_name_ok_clients);
		snprintf(v.s, sizeof v.s, "%s", c->fail_name_bad_clients == 1 ? "" : "s");
		snprintf(v.s2, sizeof v.s2, "%s", c->fail_name_ok_clients == 1 ? "" : "s");
		hit = 1;
		break;
	case C_FAMILY_PATH:
		for (size_t i = 0; i < NSILENT; i++) {
			int k = silent[i].cat, fam;
			if (!silent_plain(g, i, &v) || !family_path(g, c, silent[i].kind, k, &fam))
				continue;
			int a = fam == 6;
			if (c->os[k] && c->of[k] * 2 > c->os[k])
				continue; /* everything fails alike: same-window-all-fail says it */
			snprintf(v.fam, sizeof v.fam, "%s", a ? "IPv6" : "IPv4");
			snprintf(v.fam2, sizeof v.fam2, "%s", a ? "IPv4" : "IPv6");
			set_num(v.seen, sizeof v.seen, c->fs[a][k]);
			set_num(v.bad, sizeof v.bad, c->ff[a][k]);
			set_num(v.ok, sizeof v.ok, c->fs[!a][k] - c->ff[!a][k]);
			adds(t, r, &v, w);
		}
		return;
	case C_QUIC_BLOCKED:
	case C_QUIC_COMMON:
	case C_QUIC_EDGE:
	case C_QUIC_ALONE: {
		if (!frames_of(g, K_QUIC_TIMEOUT, ANY_ORIGIN, v.frames, sizeof v.frames))
			return;
		u32 qs = c->os[CAT_QUIC], qf = c->of[CAT_QUIC];
		/* TLS over TCP working: this service's own handshakes, else everyone's in the window. */
		u32 ts = g->seen[CAT_TLS] ? g->seen[CAT_TLS] : c->os[CAT_TLS];
		u32 tf = g->seen[CAT_TLS] ? g->failed[CAT_TLS] : c->of[CAT_TLS];
		int tcp_ok = ts > tf * 2;
		int which = !qs ? C_QUIC_ALONE : qf * 2 > qs ? (tcp_ok ? C_QUIC_BLOCKED : C_QUIC_COMMON) : C_QUIC_EDGE;
		if (which != r->cond)
			return;
		set_num(v.seen, sizeof v.seen, qs);
		set_num(v.bad, sizeof v.bad, qf);
		if (c->lookback & (1u << CAT_QUIC))
			snprintf(v.since, sizeof v.since, "just before %s (nothing tried since)", c->t0s);
		set_num(v.ok, sizeof v.ok, which == C_QUIC_BLOCKED ? ts - tf : qs - qf);
		if (tcp_ok)
			snprintf(v.also, sizeof v.also, "%s", which == C_QUIC_EDGE ? ", its TLS over TCP works (browsers fall back)" : " while TLS over TCP works");
		hit = 1;
		break;
	}
	case C_QUIC_CLOSE: {
		const struct finding *f = first_of(g, K_QUIC_CLOSE, r->origins);
		if (!f)
			return;
		frames_of(g, K_QUIC_CLOSE, r->origins, v.frames, sizeof v.frames);
		json_t *d = finding_detail(f);
		json_t *al = json_object_get(d, "alert"), *an = json_object_get(d, "alert_name");
		json_t *en = json_object_get(d, "error_name");
		if (al)
			snprintf(v.what, sizeof v.what, "TLS alert %s (%lld)", json_string_value(an) ? json_string_value(an) : "?",
			         (long long)json_integer_value(al));
		else
			snprintf(v.what, sizeof v.what, "error %s", json_string_value(en) ? json_string_value(en) : "(application)");
		snprintf(v.also, sizeof v.also, "%s", al ? ", as it would end a TLS handshake over TCP" : "");
		json_decref(d);
		hit = 1;
		break;
	}
	case C_SOME_NAMES:
		if (!c->fail_name || !c->other_names_ok || c->fail_name_ok_clients)
			return;
		snprintf(v.name, sizeof v.name, "%s", names_get(c->fail_name));
		set_num(v.ok, sizeof v.ok, c->other_names_ok);
		hit = 1;
		break;
	}
	if (!hit)
		return;
	adds(t, r, &v, w);
}

/* Weighs the rules for c; fills v's attribution, confidence, reasons. */
static void attribute(const struct ctx *c, struct verdict *v)
{
	struct tally t;
	memset(&t, 0, sizeof t);
	t.reasons = json_array();
	for (size_t i = 0; i < sizeof rules / sizeof *rules; i++)
		apply(&rules[i], c, &t);

	/* The heaviest attribution wins; its share of the weight is the
	 * confidence, lowered when one signal stands alone or others conflict. */
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
	if (t.nrules[best] == 1 && bw < 2.5)
		v->confidence = MIN(v->confidence, 0.85); /* one signal, not strong alone */
	if (best == AT_UNKNOWN)
		v->confidence = MIN(v->confidence, 0.5);
	v->confidence = MIN(v->confidence, 0.95);

	/* An unreliable capture lowers confidence rather than mislead. */
	const struct capture_quality *q = findings_quality();
	char buf[400];
	if (q->tcp_conns >= 4 && q->tcp_one_way * 2 > q->tcp_conns) {
		v->confidence *= 0.5;
		snprintf(buf, sizeof buf, "the capture looks one-directional (%llu of %llu connections show no packet back while the client kept sending): silence may be the capture's, confidence halved",
		         (unsigned long long)q->tcp_one_way, (unsigned long long)q->tcp_conns);
		json_array_append_new(t.reasons, json_string(buf));
	}
	if (q->dropped) {
		v->confidence *= 0.8;
		snprintf(buf, sizeof buf, "the capture lost %llu packets: some exchanges may be missing", (unsigned long long)q->dropped);
		json_array_append_new(t.reasons, json_string(buf));
	}
	if (findings_exchange_lost()) {
		v->confidence *= 0.9;
		snprintf(buf, sizeof buf, "%llu exchanges past the log's cap were counted but not timed: time windows see the first %u only",
		         (unsigned long long)findings_exchange_lost(), (unsigned)EXCH_LOG_CAP);
		json_array_append_new(t.reasons, json_string(buf));
	}
	if (q->backscatter && best == AT_ATTACK) {
		snprintf(buf, sizeof buf, "%llu SYN-ACKs or resets answered no SYN of ours: backscatter of someone else's spoofed traffic, not a failure here",
		         (unsigned long long)q->backscatter);
		json_array_append_new(t.reasons, json_string(buf));
	}
	if (!json_array_size(t.reasons))
		json_array_append_new(t.reasons, json_string("exchanges failed without a finding that says where"));
	v->reasons = t.reasons;
}

/* ---- clients and names ---- */

struct tallyrec {
	u32 key;        /* client index or names id */
	u32 seen, failed;
	u32 win_ok;     /* successes in the failure window */
};

/* Tallies g's exchanges by client (by_name 0) or name (1) into out (sized
 * g->nx + 1); returns the count. One pass through an open-addressing
 * index: groups with many exchanges are the common case under -A. */
static u32 tally_by(const struct gview *g, int by_name, u64 t0, u64 t1, struct tallyrec *out)
{
	u32 nslots = 16, m = 0;
	while (nslots < g->nx * 2)
		nslots <<= 1;
	u32 *slot = xcalloc(nslots, sizeof *slot); /* out index + 1 */
	for (u32 i = 0; i < g->nx; i++) {
		const struct exch_rec *x = findings_exchange_at(g->xs[i]);
		u32 key = by_name ? x->name : x->client;
		u32 h = (key * 2654435761u) & (nslots - 1);
		while (slot[h] && out[slot[h] - 1].key != key)
			h = (h + 1) & (nslots - 1);
		if (!slot[h]) {
			memset(&out[m], 0, sizeof out[m]);
			out[m].key = key;
			slot[h] = ++m;
		}
		struct tallyrec *r = &out[slot[h] - 1];
		r->seen++;
		r->failed += x->failed;
		r->win_ok += !x->failed && x->ts_us >= t0 && x->ts_us <= t1;
	}
	free(slot);
	return m;
}

static int failing_first(const void *a, const void *b)
{
	const struct tallyrec *x = a, *y = b;
	if ((x->failed > 0) != (y->failed > 0))
		return x->failed ? -1 : 1;
	if (x->failed != y->failed)
		return x->failed > y->failed ? -1 : 1;
	return x->seen > y->seen ? -1 : x->seen < y->seen;
}

/* Fills v's clients and names and the context's comparisons. */
static void who_and_what(const struct gview *g, struct ctx *c, struct verdict *v)
{
	struct tallyrec *t = xcalloc(g->nx + 1, sizeof *t);
	json_t *aff = json_array(), *unaff = json_array();
	u32 naff = 0, nunaff = 0;
	char a[ADDR_STRLEN];

	u32 m = tally_by(g, 0, c->t0, c->t1, t);
	for (u32 i = 0; i < m; i++) {
		const struct addr *cl = findings_client(t[i].key);
		if (!cl)
			continue;
		if (t[i].failed) {
			if (naff++ < LIST_MAX)
				json_array_append_new(aff, json_string(addr_fmt(cl, a)));
		} else if (c->t1 && !t[i].win_ok) {
			continue; /* nothing tried while the others failed: no evidence either way */
		} else if (nunaff++ < LIST_MAX) {
			json_array_append_new(unaff, json_string(addr_fmt(cl, a)));
		}
	}
	c->nclients = naff + nunaff;
	c->naffected = naff;
	v->clients = json_pack("{s:o,s:o,s:I,s:I}", "affected", aff, "unaffected", unaff, "affected_count",
	                       (json_int_t)naff, "unaffected_count", (json_int_t)nunaff);

	/* Names: failing first. */
	m = tally_by(g, 1, c->t0, c->t1, t);
	u32 win_ok_all = 0;
	for (u32 i = 0; i < m; i++)
		win_ok_all += t[i].key ? t[i].win_ok : 0;
	qsort(t, m, sizeof *t, failing_first);
	v->names = json_array();
	for (u32 i = 0, shown = 0; i < m && shown < LIST_MAX; i++) {
		if (!t[i].key)
			continue;
		json_array_append_new(v->names, json_pack("{s:s,s:I,s:I}", "name", names_get(t[i].key), "seen",
		                                          (json_int_t)t[i].seen, "failed", (json_int_t)t[i].failed));
		shown++;
	}
	c->nnames = m;
	/* The most failing name: does it work for other clients at the same
	 * time, and do the service's other names? */
	if (m && t[0].key && t[0].failed) {
		c->fail_name = t[0].key;
		c->other_names_ok = win_ok_all - t[0].win_ok;
		/* Clients of that name, in the window: failed only, or worked only. */
		struct gview sub = *g;
		u32 *xs = xcalloc(g->nx + 1, sizeof *xs);
		sub.xs = xs;
		sub.nx = 0;
		for (u32 i = 0; i < g->nx; i++) {
			const struct exch_rec *x = findings_exchange_at(g->xs[i]);
			if (x->name == c->fail_name && x->client && x->ts_us >= c->t0 && x->ts_us <= c->t1)
				xs[sub.nx++] = g->xs[i];
		}
		u32 n = tally_by(&sub, 0, c->t0, c->t1, t), bad = 0, ok = 0;
		for (u32 i = 0; i < n; i++) {
			bad += t[i].failed > 0 && !t[i].win_ok;
			ok += t[i].win_ok > 0 && !t[i].failed;
		}
		free(xs);
		c->fail_name_bad_clients = bad;
		c->fail_name_ok_clients = bad ? ok : 0;
	}
	free(t);
}

/* ---- onset, recovery and the window ---- */

/* Per category: the failure run containing the last failure (onset), and
 * the first success after the last failure (recovery). The group's onset
 * is the earliest of its failing categories', its recovery the latest
 * when every failing category recovered. */
static void onset_of(const struct gview *g, struct verdict *v)
{
	u64 run[CAT_N] = { 0 }, onset[CAT_N] = { 0 }, rec[CAT_N] = { 0 };
	u8 anyfail[CAT_N] = { 0 };
	for (u32 i = 0; i < g->nx; i++) {
		const struct exch_rec *x = findings_exchange_at(g->xs[i]);
		int c = x->cat;
		if (x->failed) {
			if (!run[c])
				run[c] = x->ts_us ? x->ts_us : 1;
			onset[c] = run[c];
			rec[c] = 0;
			anyfail[c] = 1;
		} else {
			run[c] = 0;
			if (anyfail[c] && !rec[c])
				rec[c] = x->ts_us;
		}
	}
	u64 on = 0, re = 0;
	int all_rec = 1, any = 0;
	for (int c = 0; c < CAT_N; c++) {
		if (!anyfail[c])
			continue;
		any = 1;
		if (!on || onset[c] < on)
			on = onset[c];
		if (!rec[c])
			all_rec = 0;
		else
			re = MAX(re, rec[c]);
	}
	/* Failures that are findings without an exchange (a flood, an injected
	 * answer) still have a time. */
	if (!any || (v->first_failure && v->first_failure < on && !all_rec)) {
		if (!on || (v->first_failure && v->first_failure < on))
			on = v->first_failure;
	}
	v->onset_us = on;
	v->recovery_us = any && all_rec ? re : 0;
}

/* The failure window: from the onset to the group's last failed exchange
 * (to the end of the capture while it still fails), so that what others
 * did after it recovered is not counted as "at the same time". A window
 * that holds no other destination's exchange at all is extended forward
 * by WINDOW_SLACK_US (never past the recovery; never backward: what
 * worked before the onset says nothing of the path after it). */
#define WINDOW_SLACK_US 5000000ull

static void count_window(const struct gview *g, struct ctx *c)
{
	memset(c->ws, 0, sizeof c->ws);
	memset(c->wf, 0, sizeof c->wf);
	for (u32 i = 0; i < g->nx; i++) {
		const struct exch_rec *x = findings_exchange_at(g->xs[i]);
		if (x->ts_us < c->t0 || x->ts_us > c->t1)
			continue;
		c->ws[x->cat]++;
		c->wf[x->cat] += x->failed;
	}
	memset(c->fs, 0, sizeof c->fs);
	memset(c->ff, 0, sizeof c->ff);
	for (int k = 0; k < CAT_N; k++) {
		u32 a = pos_of(k, c->t0, 0), b = pos_of(k, c->t1, 1);
		for (u32 p = a; p < b; p++) {
			const struct exch_rec *x = findings_exchange_at(xcat[k][p]);
			const struct addr *cl = findings_client(x->client);
			if ((int)x->group == g->gi || !cl)
				continue;
			c->fs[cl->fam == 6][k]++;
			c->ff[cl->fam == 6][k] += x->failed;
		}
	}
	for (int k = 0; k < CAT_N; k++) {
		u32 s, f;
		window_all(k, c->t0, c->t1, &s, &f);
		c->os[k] = s >= c->ws[k] ? s - c->ws[k] : 0;
		c->of[k] = f >= c->wf[k] ? f - c->wf[k] : 0;
		c->os_before[k] = pos_of(k, c->t0, 0);
	}
}

/* Nothing else was tried in the window (a client that tries one service
 * after the other, the last one tried): each other destination's last
 * outcome before the onset. Failures in the LOOKBACK_US before it, with
 * nothing tried since, mean they were still failing; successes count as
 * "others work" only within WINDOW_SLACK_US of the onset: an older success
 * says nothing about the path after it (the uplink that died). */
#define LOOKBACK_US 60000000ull

static void lookback(const struct gview *g, struct ctx *c)
{
	size_t ng = findings_groups();
	u8 *seen = xcalloc(ng + 1, 1);  /* bit 0: the group's last outcome taken; 1, 2: its IPv4, IPv6 */
	for (int k = 0; k < CAT_N; k++) {
		u32 groups = 0, failed = 0, recent = 0, recent_failed = 0;
		u32 fs[2] = { 0 }, ff[2] = { 0 }, rfs[2] = { 0 }, rff[2] = { 0 };
		if (c->os[k])
			continue;
		memset(seen, 0, ng + 1);
		for (u32 p = pos_of(k, c->t0, 0); p-- > 0;) {
			const struct exch_rec *x = findings_exchange_at(xcat[k][p]);
			if (x->ts_us + LOOKBACK_US < c->t0)
				break;
			if ((int)x->group == g->gi || x->group >= ng)
				continue;
			const struct addr *cl = findings_client(x->client);
			int fb = cl && cl->fam == 6 ? 4 : 2, near = x->ts_us + WINDOW_SLACK_US >= c->t0;
			if (!(seen[x->group] & fb)) { /* its last outcome in this family */
				seen[x->group] |= (u8)fb;
				fs[fb == 4]++;
				ff[fb == 4] += x->failed;
				if (near) {
					rfs[fb == 4]++;
					rff[fb == 4] += x->failed;
				}
			}
			if (seen[x->group] & 1)
				continue;
			seen[x->group] |= 1;
			groups++;
			failed += x->failed;
			if (near) {
				recent++;
				recent_failed += x->failed;
			}
		}
		if (groups && failed * 2 > groups) {
			c->os[k] = groups;
			c->of[k] = failed;
			for (int f = 0; f < 2; f++)
				c->fs[f][k] = fs[f], c->ff[f][k] = ff[f];
		} else if (recent) {
			c->os[k] = recent;
			c->of[k] = recent_failed;
			for (int f = 0; f < 2; f++) /* a family failing in the minute before counts; successes only near */
				c->fs[f][k] = ff[f] * 2 > fs[f] ? fs[f] : rfs[f], c->ff[f][k] = ff[f] * 2 > fs[f] ? ff[f] : rff[f];
		} else {
			continue;
		}
		c->lookback |= (u8)(1u << k);
	}
	free(seen);
}

static void window_of(const struct gview *g, const struct verdict *v, struct ctx *c)
{
	u64 last_fail = 0;
	for (u32 i = 0; i < g->nx; i++) {
		const struct exch_rec *x = findings_exchange_at(g->xs[i]);
		if (x->failed)
			last_fail = MAX(last_fail, x->ts_us);
	}
	c->t0 = v->onset_us ? v->onset_us : v->first_failure;
	if (v->recovery_us)
		c->t1 = MAX(last_fail, c->t0);
	else
		c->t1 = MAX(log_end_us, c->t0);
	time_fmt(c->t0, c->t0s);
	count_window(g, c);
	if (!sum(c->os)) {
		u64 t1 = c->t1;
		c->t1 += WINDOW_SLACK_US;
		if (v->recovery_us && c->t1 >= v->recovery_us)
			c->t1 = MAX(v->recovery_us - 1, t1);
		count_window(g, c);
	}
	lookback(g, c);
}

/* ---- attack checks ---- */

/* OUTPUT.md's attack_checks object from checked/found counters and the
 * findings that show an attack; its sentence into buf. */
static json_t *checks_json(const u32 *checked, const u32 *found, const u32 *nkind, char *buf, size_t n)
{
	u32 inj = MAX(found[AC_DNS_ANSWERS], nkind[K_DNS_INJECTION]);
	u32 forged = MAX(found[AC_RESETS], nkind[K_RST_INJECTION]);
	u32 intercepted = found[AC_CHAINS];
	u32 floods = MAX(found[AC_FLOODS], nkind[K_SYN_FLOOD]);
	u32 scans = found[AC_SCANS];
	u32 answers = MAX(checked[AC_DNS_ANSWERS], inj), resets = MAX(checked[AC_RESETS], forged);
	u32 chains = MAX(checked[AC_CHAINS], intercepted);
	json_t *o = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "dns_answers_compared", (json_int_t)answers,
	                      "dns_injected", (json_int_t)inj, "resets_scored", (json_int_t)resets,
	                      "resets_forged", (json_int_t)forged, "chains_verified", (json_int_t)chains,
	                      "chains_intercepted", (json_int_t)intercepted, "floods", (json_int_t)floods,
	                      "scans", (json_int_t)scans);
	u32 other = nkind[K_DNS_BOGUS_ANSWER] + nkind[K_SNI_FILTERED] + nkind[K_DNS_REFLECTION];
	size_t o2 = 0;
	if (!inj && !forged && !intercepted && !floods && !scans && !other)
		o2 += (size_t)snprintf(buf, n, "no sign of an attack: ");
	else
		o2 += (size_t)snprintf(buf, n, "attack checks: ");
#define PART(...) do { if (o2 < n) o2 += (size_t)snprintf(buf + o2, n - o2, __VA_ARGS__); } while (0)
	PART("%u answer%s compared", answers, answers == 1 ? "" : "s");
	if (inj)
		PART(" (%u injected)", inj);
	PART(", %u reset%s scored", resets, resets == 1 ? "" : "s");
	if (forged)
		PART(" (%u forged)", forged);
	PART(", %u chain%s verified", chains, chains == 1 ? "" : "s");
	if (intercepted)
		PART(" (%u intercepted)", intercepted);
	if (floods)
		PART(", %u flood%s", floods, floods == 1 ? "" : "s");
	else
		PART(", no flood");
	if (scans)
		PART(", %u scan%s", scans, scans == 1 ? "" : "s");
	if (nkind[K_DNS_BOGUS_ANSWER])
		PART(", %u answer%s pointing nowhere", nkind[K_DNS_BOGUS_ANSWER], nkind[K_DNS_BOGUS_ANSWER] == 1 ? "" : "s");
	if (nkind[K_SNI_FILTERED])
		PART(", %u handshake%s filtered by name", nkind[K_SNI_FILTERED], nkind[K_SNI_FILTERED] == 1 ? "" : "s");
	if (nkind[K_DNS_REFLECTION])
		PART(", %u DNS reflection%s", nkind[K_DNS_REFLECTION], nkind[K_DNS_REFLECTION] == 1 ? "" : "s");
#undef PART
	return o;
}

json_t *diagnose_attack_checks(char *buf, size_t n)
{
	u32 nkind[K_N] = { 0 };
	for (size_t i = 0; i < findings_count(); i++)
		nkind[findings_get(i)->kind]++;
	return checks_json(findings_checks(0), findings_checks(1), nkind, buf, n);
}

/* ---- groups ---- */

static u64 gv_hash(const char *s)
{
	u64 h = 1469598103934665603ull;
	while (*s)
		h = (h ^ (u8)*s++) * 1099511628211ull;
	return h;
}

/* Adds the group of every counter and finding once, each with the list of
 * its findings and of its exchanges in time order; returns the count.
 * Counter groups come first, in findings_group() order. */
static size_t collect(struct gview **out)
{
	size_t ng = findings_groups(), n = 0, cap = ng + 16, nslots = 64;
	struct gview *g = xcalloc(cap, sizeof *g);
	while (nslots < (ng + findings_count()) * 2 + 2)
		nslots <<= 1;
	u32 *slot = xcalloc(nslots, sizeof *slot); /* group index + 1 */

	for (size_t i = 0; i < ng + findings_count(); i++) {
		const struct finding *f = i >= ng ? findings_get(i - ng) : NULL;
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
			g[n].gi = f ? -1 : (int)i;
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
		x->idx[x->nidx++] = (u32)(i - ng);
		x->nkind[f->kind]++;
		x->nfind++;
		if (!x->firstk[f->kind] && is_failure(f))
			x->firstk[f->kind] = f;
	}
	free(slot);

	/* Exchanges by group, in time order: count, then place. */
	for (u32 i = 0; i < nxorder; i++)
		g[findings_exchange_at(xorder[i])->group].nx++;
	u32 *all = xcalloc(nxorder + 1, sizeof *all), off = 0;
	for (size_t i = 0; i < ng; i++) {
		g[i].xs = all + off;
		off += g[i].nx;
		g[i].nx = 0;
	}
	for (u32 i = 0; i < nxorder; i++) {
		struct gview *x = &g[findings_exchange_at(xorder[i])->group];
		x->xs[x->nx++] = xorder[i];
	}
	if (!ng)
		free(all);
	*out = g;
	return n;
}

static void fill(struct gview *g, struct verdict *v)
{
	u32 nfail = 0;
	struct ctx c;
	memset(v, 0, sizeof *v);
	memset(&c, 0, sizeof c);
	c.g = g;
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

	u32 none[AC_N] = { 0 };
	const struct group_stats *gs = g->gi >= 0 ? findings_group((size_t)g->gi) : NULL;
	v->attack_checks = checks_json(gs ? gs->checked : none, gs ? gs->found : none, g->nkind,
	                               v->attack_text, sizeof v->attack_text);

	int majority = 0;
	for (int k = 0; k < CAT_N; k++)
		if (g->seen[k] && g->failed[k] * 2 > g->seen[k] &&
		    !(k == CAT_QUIC && g->seen[CAT_TLS] > g->failed[CAT_TLS] * 2)) /* falls back to TCP: slowed, not down */
			majority = 1;
	if (!nfail && !sum(g->failed)) {
		v->status = sum(g->seen) || g->nfind ? ST_HEALTHY : ST_UNSEEN;
		v->attribution = AT_NONE;
		v->confidence = 1.0;
		v->reasons = json_array();
		if (v->status == ST_HEALTHY)
			json_array_append_new(v->reasons, json_string("every exchange seen succeeded"));
		who_and_what(g, &c, v);
		c.fail_name = 0;
		return;
	}
	onset_of(g, v);
	window_of(g, v, &c);
	who_and_what(g, &c, v);
	/* Findings with no counted exchange (an injected answer, a flood) still degrade. */
	v->status = majority || !sum(g->seen) ? ST_FAILING : ST_DEGRADED;
	attribute(&c, v);
}

/* 1 when DNS answers gave address a to a name of group g. */
static int answered_for(const struct addr *a, const char *g)
{
	struct addr_name nm[16];
	size_t n = services_names_of_addr(a, nm, sizeof nm / sizeof *nm);
	for (size_t i = 0; i < n; i++) {
		char grp[SERVICE_KEY_LEN];
		services_group(names_get(nm[i].name_id), NULL, grp, sizeof grp);
		if (strcmp(grp, g) == 0)
			return 1;
	}
	return 0;
}

/* A server both groups share: one that failure findings of both name, or
 * one that the failures of a went to and DNS answers gave to a name of b
 * (a CDN address reached through each service's own CNAME). *how says
 * which. */
static int shared_server(const struct gview *a, const struct gview *b, struct addr *out, int *how)
{
	for (u8 i = 0; i < a->nsrv; i++)
		for (u8 j = 0; j < b->nsrv; j++)
			if (addr_eq(&a->srv[i], &b->srv[j])) {
				*out = a->srv[i];
				*how = 0;
				return 1;
			}
	for (u8 i = 0; i < a->nsrv; i++)
		if (answered_for(&a->srv[i], b->group)) {
			*out = a->srv[i];
			*how = 1;
			return 1;
		}
	for (u8 j = 0; j < b->nsrv; j++)
		if (answered_for(&b->srv[j], a->group)) {
			*out = b->srv[j];
			*how = 1;
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
		int all_share = 1, by_answer = 0;
		for (size_t j = 0; j < n; j++) {
			if (j == i || (v[j].status != ST_FAILING && v[j].status != ST_DEGRADED) ||
			    vg[j]->dom != k)
				continue;
			u64 a0 = v[i].onset_us ? v[i].onset_us : v[i].first_failure, a1 = v[i].last_failure;
			u64 b0 = v[j].onset_us ? v[j].onset_us : v[j].first_failure, b1 = v[j].last_failure;
			if (a0 > b1 + TOGETHER_US || b0 > a1 + TOGETHER_US)
				continue;
			struct addr sa;
			int how;
			if (shared_server(vg[i], vg[j], &sa, &how)) {
				addr_fmt(&sa, shared);
				by_answer |= how;
			} else {
				all_share = 0;
			}
			if (o < sizeof names)
				o += (size_t)snprintf(names + o, sizeof names - o, "%s%s", members ? ", " : "", v[j].group);
			members++;
		}
		if (!members)
			continue;
		char buf[600];
		if (all_share && shared[0]) {
			snprintf(buf, sizeof buf,
			         "%s failed at the same time and in the same way (%s) as %s, through the same server %s%s: one common upstream (shared hosting or CDN) is failing, not each service",
			         v[i].group, kind_name(k), names, shared,
			         by_answer ? " (DNS answers gave it to their names too)" : "");
			if (v[i].attribution != AT_ATTACK && v[i].attribution != AT_LOCAL) {
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

/* A group worth a verdict: exchanges, or a finding (attack checks alone
 * create counters with nothing seen). */
static int seen_at_all(const struct gview *g)
{
	return sum(g->seen) || g->nfind;
}

struct verdict *diagnose_run(size_t *nv)
{
	struct gview *g;
	log_index();
	size_t n = collect(&g), cap = n + 16, k = 0;
	struct gview **vg = xcalloc(cap, sizeof *vg);
	struct verdict *v = xcalloc(cap, sizeof *v);

	for (size_t i = 0; i < n; i++)
		if (services_in_scope(g[i].group) && seen_at_all(&g[i])) {
			vg[k] = &g[i];
			fill(&g[i], &v[k++]);
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
	if (n && findings_groups())
		free(g[0].xs);
	free(g);
	free(vg);
	log_free();
	*nv = k;
	return v;
}

int diagnose_anything_wrong(const struct verdict *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].status == ST_DEGRADED || v[i].status == ST_FAILING)
			return 1;
	for (size_t i = 0; i < findings_count(); i++)
		if (!findings_get(i)->group[0])
			return 1;
	return 0;
}

void diagnose_free(struct verdict *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		json_decref(v[i].reasons);
		json_decref(v[i].clients);
		json_decref(v[i].names);
		json_decref(v[i].attack_checks);
	}
	free(v);
}
