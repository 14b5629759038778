/* \summary: the finding vocabulary, the capped store of findings, and the
 * per-group exchange counters that diagnose reads. */
#include <string.h>

#include "panne/findings.h"
#include "panne/flow.h"
#include "panne/opts.h"
#include "panne/services.h"
#include "panne/util.h"

struct kind_tok {
	int kind;
	int cat;
	const char *name;
};

/* The one name table of the closed vocabulary (OUTPUT.md). */
static const struct kind_tok kinds[K_N] = {
	{ K_NXDOMAIN, CAT_DNS, "nxdomain" },
	{ K_SERVFAIL, CAT_DNS, "servfail" },
	{ K_DNS_REFUSED, CAT_DNS, "refused" },
	{ K_DNS_ERROR, CAT_DNS, "dns_error" },
	{ K_DNS_TIMEOUT, CAT_DNS, "dns_timeout" },
	{ K_DNS_BOGUS_ANSWER, CAT_DNS, "dns_bogus_answer" },
	{ K_DNS_INJECTION, CAT_DNS, "dns_injection" },
	{ K_TCP_REFUSED, CAT_TCP, "refused" },
	{ K_SYN_TIMEOUT, CAT_TCP, "syn_timeout" },
	{ K_RST, CAT_TCP, "rst" },
	{ K_RST_INJECTION, CAT_TCP, "rst_injection" },
	{ K_ICMP_UNREACHABLE, CAT_TCP, "icmp_unreachable" },
	{ K_SYN_FLOOD, CAT_TCP, "syn_flood" },
	{ K_TLS_ALERT, CAT_TLS, "tls_alert" },
	{ K_CERT_UNTRUSTED, CAT_TLS, "cert_untrusted" },
	{ K_CERT_MISMATCH, CAT_TLS, "cert_mismatch" },
	{ K_CERT_EXPIRED, CAT_TLS, "cert_expired" },
	{ K_TLS_TIMEOUT, CAT_TLS, "tls_timeout" },
	{ K_HTTP_5XX, CAT_HTTP, "http_5xx" },
	{ K_SNI_FILTERED, CAT_TLS, "sni_filtered" },
	{ K_DNS_REFLECTION, CAT_DNS, "dns_reflection" },
	{ K_SCAN, CAT_TCP, "scan" },
	{ K_QUIC_TIMEOUT, CAT_QUIC, "quic_timeout" },
	{ K_QUIC_CLOSE, CAT_QUIC, "quic_close" },
	{ K_QUIC_VERSION, CAT_QUIC, "quic_version" },
};

static const char *cat_names[CAT_N] = { "dns", "tcp", "tls", "http", "quic" };
static const char *origin_names[O_N] = { "unknown", "server", "resolver", "local", "on-path" };

const char *kind_name(int kind)
{
	return kind >= 0 && kind < K_N ? kinds[kind].name : "unknown";
}

const char *category_name(int cat)
{
	return cat >= 0 && cat < CAT_N ? cat_names[cat] : "unknown";
}

const char *origin_name(int origin)
{
	return origin >= 0 && origin < O_N ? origin_names[origin] : "unknown";
}

int kind_category(int kind)
{
	return kind >= 0 && kind < K_N ? kinds[kind].cat : CAT_TCP;
}

int kind_lookup(const char *name)
{
	for (int i = 0; i < K_N; i++)
		if (strcmp(kinds[i].name, name) == 0)
			return i;
	return -1;
}

/* ---- the store ---- */

static struct finding *store;
static size_t n_store, cap_store;
static u64 n_dropped;

static struct group_stats *groups;
static size_t n_groups, cap_groups;
/* Open-addressing index over groups by name; sized 2x the groups. */
static u32 *gidx;
static size_t gidx_size;

static struct exch_rec *xlog;
static size_t n_xlog, cap_xlog;
static u64 n_xlost;
static struct addr *clients; /* interned client addresses */
static u32 n_clients;
static u32 *cidx;            /* open addressing over clients, CLIENTS_CAP * 2 slots */

static struct capture_quality quality;
static u32 all_checked[AC_N], all_found[AC_N];
static int probe_counts; /* exchanges are the probe's to count */
struct capture_quality *findings_quality(void) { return &quality; }

void findings_init(void)
{
	findings_reset();
}

void findings_reset(void)
{
	for (size_t i = 0; i < n_store; i++)
		free(store[i].detail_s);
	free(store);
	store = NULL;
	n_store = cap_store = 0;
	n_dropped = 0;
	memset(&quality, 0, sizeof quality);
	memset(all_checked, 0, sizeof all_checked);
	memset(all_found, 0, sizeof all_found);
	free(groups);
	groups = NULL;
	n_groups = cap_groups = 0;
	free(gidx);
	gidx = NULL;
	gidx_size = 0;
	probe_counts = 0;
	free(xlog);
	xlog = NULL;
	n_xlog = cap_xlog = 0;
	n_xlost = 0;
	free(clients);
	clients = NULL;
	n_clients = 0;
	free(cidx);
	cidx = NULL;
}

void finding_init(struct finding *f, int kind, const struct flow *fl, u64 ts_us, u16 file,
                  u32 frame)
{
	memset(f, 0, sizeof *f);
	f->kind = (u8)kind;
	f->cat = (u8)kind_category(kind);
	f->ts_us = ts_us;
	f->file = file;
	f->frame = frame;
	if (frame)
		f->ev[f->n_ev++] = frame;
	if (fl) {
		f->cli = fl->cli;
		f->srv = fl->srv;
		f->cport = fl->cport;
		f->sport = fl->sport;
		f->proto = fl->proto;
	}
	f->detail = json_object();
	if (fl && fl->tun.depth)
		json_object_set_new(f->detail, "tunnel", findings_tunnel_json(&fl->tun));
}

json_t *findings_tunnel_json(const struct pkt_tunnel *t)
{
	static const char *const id_names[TUN_N] = {
		[TUN_PPPOE] = "session", [TUN_MPLS] = "label", [TUN_GRE] = "key",
		[TUN_VXLAN] = "vni", [TUN_GENEVE] = "vni", [TUN_GTPU] = "teid",
	};
	char a[ADDR_STRLEN];
	json_t *o = json_object();
	json_object_set_new(o, "kind", json_string(decode_tunnel_name(t->kind)));
	if (t->has_addr) {
		json_object_set_new(o, "outer_src", json_string(addr_fmt(&t->src, a)));
		json_object_set_new(o, "outer_dst", json_string(addr_fmt(&t->dst, a)));
	}
	if (t->has_id && t->kind < TUN_N && id_names[t->kind])
		json_object_set_new(o, id_names[t->kind], json_integer(t->id));
	if (t->depth > 1) {
		json_t *l = json_array();
		for (u8 i = 0; i < t->depth && i < TUN_DEPTH_MAX; i++)
			json_array_append_new(l, json_string(decode_tunnel_name(t->kinds[i])));
		json_object_set_new(o, "layers", l);
	}
	return o;
}

void finding_add_ev(struct finding *f, u32 frame)
{
	if (!frame)
		return;
	for (u8 i = 0; i < f->n_ev; i++)
		if (f->ev[i] == frame)
			return;
	if (f->n_ev < FIND_EV_MAX)
		f->ev[f->n_ev++] = frame;
	if (!f->frame)
		f->frame = f->ev[0];
}

void finding_set_name(struct finding *f, const char *name)
{
	if (!name) {
		f->name[0] = 0;
		return;
	}
	/* Names come escaped from their analyzer (str_escape); escaping them
	 * again would turn each \x.. into \x5cx..: only bytes that are still
	 * not printable are escaped here. */
	size_t o = 0;
	for (const u8 *p = (const u8 *)name; *p && o + 5 < sizeof f->name; p++) {
		if (*p >= 0x20 && *p < 0x7f) {
			f->name[o++] = (char)*p;
		} else {
			str_escape(p, 1, f->name + o, sizeof f->name - o);
			o += strlen(f->name + o);
		}
	}
	f->name[o] = 0;
}

/* The detail as text, and the facts diagnose tests on many findings. A
 * tree of a few keys takes ~1 KB in jansson's objects, its text ~200 bytes:
 * on a long capture the findings kept for the report are what grows. The
 * default precision of reals (17 digits) gives every double back as it was,
 * and parsing keeps the keys in their order, so reports are unchanged. */
static void freeze(struct finding *f)
{
	json_t *d = f->detail;
	if (!d)
		return;
	const char *sender = json_string_value(json_object_get(d, "sender"));
	f->facts = (sender && strcmp(sender, "client") == 0 ? FACT_SENDER_CLIENT : 0) |
	           (json_is_true(json_object_get(d, "resolver_local")) ? FACT_RESOLVER_LOCAL : 0) |
	           (json_object_get(d, "gateway") ? FACT_GATEWAY : 0) |
	           (json_object_get(d, "flood") ? FACT_FLOOD : 0);
	f->detail_s = json_object_size(d) ? json_dumps(d, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_PRESERVE_ORDER) : NULL;
	json_decref(d);
	f->detail = NULL;
}

void findings_emit(struct finding *f)
{
	/* Without a name, a shared address is credited as its client resolved it. */
	services_group_at(f->name[0] ? f->name : NULL, &f->srv, &f->cli, f->ts_us, f->group, sizeof f->group);
	if (n_store >= g_opts.findings_cap && g_opts.findings_cap) {
		n_dropped++;
		json_decref(f->detail);
		f->detail = NULL;
		return;
	}
	if (n_store == cap_store) {
		cap_store = cap_store ? cap_store * 2 : 256;
		store = xrealloc(store, cap_store * sizeof *store);
	}
	freeze(f);
	store[n_store++] = *f;
	f->detail_s = NULL; /* ownership moved to the store */
}

json_t *finding_detail(const struct finding *f)
{
	if (f->detail)
		return json_incref(f->detail);
	json_t *d = f->detail_s ? json_loads(f->detail_s, 0, NULL) : NULL;
	return d ? d : json_object();
}

int finding_detail_str(const struct finding *f, const char *key, char *out, size_t n)
{
	json_t *d = finding_detail(f), *v = json_object_get(d, key);
	snprintf(out, n, "%s", json_string_value(v) ? json_string_value(v) : "");
	json_decref(d);
	return v != NULL;
}

void finding_detail_set(struct finding *f, const char *key, json_t *v)
{
	json_t *d = finding_detail(f);
	json_object_set_new(d, key, v);
	if (f->detail) {
		json_decref(d);
		return;
	}
	free(f->detail_s);
	f->detail = d;
	freeze(f);
}

size_t findings_count(void) { return n_store; }
const struct finding *findings_get(size_t i) { return i < n_store ? &store[i] : NULL; }
struct finding *findings_get_mut(size_t i) { return i < n_store ? &store[i] : NULL; }
u64 findings_dropped(void) { return n_dropped; }

/* ---- exchange counters per group ---- */

static u64 str_hash(const char *s)
{
	u64 h = 1469598103934665603ull; /* FNV-1a: groups are few, no need for seeding */
	while (*s)
		h = (h ^ (u8)*s++) * 1099511628211ull;
	return h;
}

static void gidx_rebuild(void)
{
	free(gidx);
	gidx_size = gidx_size ? gidx_size * 2 : 64;
	gidx = xmalloc(gidx_size * sizeof *gidx);
	memset(gidx, 0xff, gidx_size * sizeof *gidx);
	for (size_t i = 0; i < n_groups; i++) {
		size_t j = str_hash(groups[i].group) & (gidx_size - 1);
		while (gidx[j] != UINT32_MAX)
			j = (j + 1) & (gidx_size - 1);
		gidx[j] = (u32)i;
	}
}

/* Returns the counters of group, creating them when create is set. */
static struct group_stats *group_get(const char *group, int create)
{
	if (gidx_size) {
		size_t j = str_hash(group) & (gidx_size - 1);
		while (gidx[j] != UINT32_MAX) {
			if (strcmp(groups[gidx[j]].group, group) == 0)
				return &groups[gidx[j]];
			j = (j + 1) & (gidx_size - 1);
		}
	}
	if (!create)
		return NULL;
	if (n_groups == cap_groups) {
		cap_groups = cap_groups ? cap_groups * 2 : 64;
		groups = xrealloc(groups, cap_groups * sizeof *groups);
	}
	struct group_stats *g = &groups[n_groups++];
	memset(g, 0, sizeof *g);
	snprintf(g->group, sizeof g->group, "%s", group);
	if (n_groups * 2 > gidx_size)
		gidx_rebuild();
	else {
		size_t j = str_hash(group) & (gidx_size - 1);
		while (gidx[j] != UINT32_MAX)
			j = (j + 1) & (gidx_size - 1);
		gidx[j] = (u32)(n_groups - 1);
	}
	return g;
}

void findings_exchanges_by_probe(void) { probe_counts = 1; }

static void exchange(int cat, const char *name, const struct addr *srv, const struct addr *cli,
                     u64 ts_us, int failed);

void findings_exchange(int cat, const char *name, const struct addr *srv, const struct addr *cli,
                       u64 ts_us, int failed)
{
	if (!probe_counts)
		exchange(cat, name, srv, cli, ts_us, failed);
}

void findings_probe_exchange(int cat, const char *name, const struct addr *srv,
                             const struct addr *cli, u64 ts_us, int failed)
{
	exchange(cat, name, srv, cli, ts_us, failed);
}

static u64 addr_hash(const struct addr *a)
{
	u64 h = 1469598103934665603ull;
	for (size_t i = 0; i < sizeof a->b; i++)
		h = (h ^ a->b[i]) * 1099511628211ull;
	return h ^ a->fam;
}

/* Index + 1 of client a, interned; 0 when none or the table is full. */
static u32 client_intern(const struct addr *a)
{
	if (!a || !a->fam)
		return 0;
	if (!cidx) {
		cidx = xcalloc(CLIENTS_CAP * 2, sizeof *cidx);
		clients = xcalloc(CLIENTS_CAP, sizeof *clients);
	}
	size_t j = addr_hash(a) & (CLIENTS_CAP * 2 - 1);
	while (cidx[j]) {
		if (addr_eq(&clients[cidx[j] - 1], a))
			return cidx[j];
		j = (j + 1) & (CLIENTS_CAP * 2 - 1);
	}
	if (n_clients == CLIENTS_CAP)
		return 0;
	clients[n_clients++] = *a;
	return cidx[j] = n_clients;
}

static void exchange(int cat, const char *name, const struct addr *srv, const struct addr *cli,
                     u64 ts_us, int failed)
{
	char group[SERVICE_KEY_LEN];
	struct addr none = { 0 };
	if (cat < 0 || cat >= CAT_N)
		return;
	services_group_at(name && name[0] ? name : NULL, srv ? srv : &none, cli, ts_us, group, sizeof group);
	struct group_stats *g = group_get(group, 1);
	g->seen[cat]++;
	if (failed)
		g->failed[cat]++;
	_Static_assert(NAMES_CAP < (1 << 17) && CLIENTS_CAP < (1 << 17) && CAT_N <= 8, "exch_rec's fields");
	if (n_xlog == EXCH_LOG_CAP || (size_t)(g - groups) >= (1u << 26)) {
		n_xlost++;
		return;
	}
	if (n_xlog == cap_xlog) {
		cap_xlog = cap_xlog ? cap_xlog * 2 : 1024;
		xlog = xrealloc(xlog, cap_xlog * sizeof *xlog);
	}
	struct exch_rec *x = &xlog[n_xlog++];
	x->ts_us = ts_us;
	x->group = (u32)(g - groups);
	x->client = client_intern(cli);
	x->name = name && name[0] ? names_intern(name) : srv ? services_name_for(srv, cli, ts_us) : 0;
	x->cat = (u8)cat;
	x->failed = failed != 0;
}

size_t findings_exchanges(void) { return n_xlog; }
const struct exch_rec *findings_exchange_at(size_t i) { return i < n_xlog ? &xlog[i] : NULL; }
u64 findings_exchange_lost(void) { return n_xlost; }
const struct addr *findings_client(u32 idx) { return idx && idx <= n_clients ? &clients[idx - 1] : NULL; }

int findings_group_index(const char *group)
{
	const struct group_stats *g = group_get(group, 0);
	return g ? (int)(g - groups) : -1;
}

size_t findings_groups(void) { return n_groups; }
const struct group_stats *findings_group(size_t i) { return i < n_groups ? &groups[i] : NULL; }
const struct group_stats *findings_group_find(const char *group) { return group_get(group, 0); }

/* ---- attack checks ---- */

const char *attack_check_name(int check, int found)
{
	static const char *names[AC_N][2] = {
		{ "dns_answers_compared", "dns_injected" },
		{ "resets_scored", "resets_forged" },
		{ "chains_verified", "chains_intercepted" },
		{ "servers_watched", "floods" },
		{ "sources_watched", "scans" },
	};
	return check >= 0 && check < AC_N ? names[check][found != 0] : "unknown";
}

void findings_attack_check(int check, const char *name, const struct addr *srv, int found)
{
	if (check < 0 || check >= AC_N)
		return;
	all_checked[check]++;
	all_found[check] += found != 0;
	if ((!name || !name[0]) && (!srv || !srv->fam))
		return;
	char group[SERVICE_KEY_LEN];
	struct addr none = { 0 };
	services_group(name && name[0] ? name : NULL, srv ? srv : &none, group, sizeof group);
	struct group_stats *g = group_get(group, 1);
	g->checked[check]++;
	g->found[check] += found != 0;
}

const u32 *findings_checks(int found) { return found ? all_found : all_checked; }
