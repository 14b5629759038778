/* \summary: TCP outcomes from flow state: refused, syn_timeout, rst,
 * rst_injection, icmp_unreachable, syn_flood, scan. Senders are placed
 * from the capture point (hops), resets are scored with every signal
 * their packets hold, and an unanswered SYN is decided by a rule that says
 * which: its timeout, its client giving up, or its server's round trip. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "panne/findings.h"
#include "panne/hops.h"
#include "panne/opts.h"
#include "panne/services.h"
#include "panne/tcp.h"
#include "panne/twins.h"
#include "panne/util.h"

#define PROBES 8          /* hash probes in each table */
#define CLIENT_RING 8     /* completed connections kept per client */
#define MAP_WORDS 16      /* 1024-bit maps for distinct counts */

struct server {
	struct addr a;
	u16 port;
	u8 used;
	u8 ttl;              /* TTL of its last SYN-ACK, 0 if none */
	u8 df_yes, df_no;    /* its SYN-ACKs with and without DF (saturating) */
	u8 flood;            /* decided: syn_flood */
	u8 flood_origin;
	u32 rtt_us;          /* shortest SYN -> SYN-ACK seen at the capture point; 0 unknown */
	u32 name_id;         /* the name of its last connection, as counted */
	u32 half_open, completed, single_shot;
	u32 sources;         /* distinct clients of its half-open SYNs, estimated */
	u64 srcmap[MAP_WORDS];
	u32 ev[FIND_EV_MAX]; /* its first half-open SYNs */
	u8 nev;
	u16 file;
	u64 first_us, last_us;
};

/* A completed connection of a client, to tell a fallback (another address,
 * the other family) from a client still waiting. */
struct done {
	struct addr srv;
	u16 sport;
	u32 name_id;         /* the name it was made for (SNI, Host or DNS map); 0 unknown */
	u64 syn_us, synack_us;
};

struct client {
	struct addr a;
	u8 used, nring, ring_next;
	u64 last_us;         /* its last packet in a flow that ended */
	struct done ring[CLIENT_RING];
};

/* A source of probe-shaped connections (no data either way). */
struct source {
	struct addr a;
	u8 used, scan, multi, ttl;
	u32 syns;            /* connections it opened (first SYNs) */
	u32 probes, open, refused, unanswered; /* ... that ended with no data either way */
	u32 real;            /* ... that carried data */
	u64 portmap[MAP_WORDS], addrmap[MAP_WORDS], unnamedmap[MAP_WORDS];
	u32 nports, nunnamed;  /* distinct ports and unnamed addresses (exact while few) */
	struct addr target;  /* the first target; multi when others followed */
	u16 port_lo, port_hi;
	u32 ev[FIND_EV_MAX];
	u8 nev;
	u16 file;
	u64 first_us, last_us;
};

/* A source's first SYN, until a second one (see source_syn). */
#define FIRST_CAP 4096
struct first_syn {
	struct addr a, dst;
	u16 dport, file;
	u8 ttl;
	u32 frame, name_id;
	u64 ts;
};

/* An outcome held until a scan or a flood is ruled out. */
enum { HK_TIMEOUT = 0, HK_REFUSED, HK_OK };
struct held {
	u8 what, syn_count, nframes;
	struct addr cli, srv;
	u16 cport, sport, file;
	u32 frames[FLOW_SYN_FRAMES];
	u32 syn_gap_us, name_id, isn;
	u64 syn_us, syn_last_us, end_us;
	struct finding *fd;  /* HK_REFUSED: made at flow end */
};

struct heldq {
	struct held *v;
	size_t head, n, cap;
};

static void source_syn(const struct flow *f, const struct packet *pk);
static const struct source *source_find(const struct addr *a);
static int scan_suspect(const struct source *so);
static int is_scan(const struct source *so);

static struct server *srv;
static struct client *cli_tab;
static struct first_syn *first_tab;
/* The last completed connections of every client: a client's other
 * family has another address, so a fallback to it is found here. */
#define RECENT 64
static struct done recent[RECENT];
static struct addr recent_cli[RECENT];
static u32 nrecent;
static struct source *src_tab;
static struct heldq held, kept; /* held: in flow-end order; kept: until capture end */

void tcp_init(void)
{
	tcp_reset();
	srv = xcalloc(TCP_SERVERS_CAP, sizeof *srv);
}

static void heldq_free(struct heldq *q)
{
	for (size_t i = q->head; i < q->n; i++)
		if (q->v[i].fd) {
			json_decref(q->v[i].fd->detail);
			free(q->v[i].fd);
		}
	free(q->v);
	memset(q, 0, sizeof *q);
}

void tcp_reset(void)
{
	free(srv);
	srv = NULL;
	free(cli_tab);
	cli_tab = NULL;
	free(src_tab);
	src_tab = NULL;
	free(first_tab);
	first_tab = NULL;
	heldq_free(&held);
	heldq_free(&kept);
	nrecent = 0;
}

static u32 addr_key(const struct addr *a, u16 port)
{
	u32 h = 2166136261u ^ port;
	for (int i = 0; i < 16; i++)
		h = (h ^ a->b[i]) * 16777619u;
	return h ^ a->fam;
}

static int map_set(u64 *map, u32 h)
{
	h &= MAP_WORDS * 64 - 1;
	if (map[h >> 6] & (1ull << (h & 63)))
		return 0;
	map[h >> 6] |= 1ull << (h & 63);
	return 1;
}

/* Distinct values set in a map, by linear counting (exact while few). */
static u32 map_count(const u64 *map)
{
	u32 bits = 0, m = MAP_WORDS * 64;
	for (int i = 0; i < MAP_WORDS; i++)
		bits += (u32)__builtin_popcountll(map[i]);
	if (bits < 128) /* collisions are rare: and ports below 1024 never collide */
		return bits;
	if (bits >= m)
		return m * 8;
	return (u32)(-(double)m * log(1.0 - (double)bits / m) + 0.5);
}

/* The tracking record of a server, or NULL when the table is full. */
static struct server *server_get(const struct addr *a, u16 port)
{
	if (!srv)
		return NULL;
	u32 h = addr_key(a, port);
	for (u32 n = 0; n < PROBES; n++) {
		struct server *s = &srv[(h + n) & (TCP_SERVERS_CAP - 1)];
		if (s->used && s->port == port && addr_eq(&s->a, a))
			return s;
		if (!s->used) {
			s->used = 1;
			s->a = *a;
			s->port = port;
			return s;
		}
	}
	return NULL;
}

/* A client's record; created only when create is set (a client that
 * showed two-way traffic), NULL when unknown or the table is full. */
static struct client *client_get(const struct addr *a, int create)
{
	if (!cli_tab) {
		if (!create)
			return NULL;
		cli_tab = xcalloc(TCP_CLIENTS_CAP, sizeof *cli_tab);
	}
	u32 h = addr_key(a, 0);
	for (u32 n = 0; n < PROBES; n++) {
		struct client *c = &cli_tab[(h + n) & (TCP_CLIENTS_CAP - 1)];
		if (c->used && addr_eq(&c->a, a))
			return c;
		if (!c->used) {
			if (!create)
				return NULL;
			c->used = 1;
			c->a = *a;
			return c;
		}
	}
	return NULL;
}

/* A source's record; when its probe chain is full, one that opened a
 * single connection gives way (a flood's spoofed sources have one each). */
static struct source *source_get(const struct addr *a, int create)
{
	if (!src_tab) {
		if (!create)
			return NULL;
		src_tab = xcalloc(TCP_SOURCES_CAP, sizeof *src_tab);
	}
	u32 h = addr_key(a, 1);
	struct source *weakest = NULL;
	for (u32 n = 0; n < PROBES; n++) {
		struct source *s = &src_tab[(h + n) & (TCP_SOURCES_CAP - 1)];
		if (s->used && addr_eq(&s->a, a))
			return s;
		if (!s->used) {
			if (!create)
				return NULL;
			weakest = s;
			break;
		}
		if (!s->scan && (!weakest || s->syns < weakest->syns))
			weakest = s;
	}
	if (!create || !weakest || (weakest->used && weakest->syns > 1))
		return NULL;
	memset(weakest, 0, sizeof *weakest);
	weakest->used = 1;
	weakest->a = *a;
	return weakest;
}

static const struct source *source_find(const struct addr *a) { return source_get(a, 0); }

/* An attack check counted for the group of name/a when that group exists
 * (it had exchanges), otherwise for the capture only, so that no group is
 * made of a check alone (a scanned host is no service of the capture). */
static void attack_check(int check, const char *name, const struct addr *a, int found)
{
	char g[SERVICE_KEY_LEN];
	services_group(name && name[0] ? name : NULL, a, g, sizeof g);
	if (findings_group_find(g))
		findings_attack_check(check, name, a, found);
	else
		findings_attack_check(check, NULL, NULL, found);
}

static json_t *ttl_or_null(u8 ttl) { return ttl ? json_integer(ttl) : json_null(); }

static const char *name_of(const struct flow *f)
{
	/* A shared address: the name this client resolved to it before connecting. */
	u32 id = f->name_id ? f->name_id
	                    : services_name_for(&f->srv, &f->cli, f->syn_us ? f->syn_us : f->first_us);
	return id ? names_get(id) : NULL;
}

/* The name of a connection of client cli (NULL: none) to a begun at ts_us:
 * its own (SNI, Host), else the one the DNS map credits it with. */
static const char *name_by(u32 name_id, const struct addr *a, const struct addr *cli, u64 ts_us)
{
	u32 id = name_id ? name_id : services_name_for(a, cli, ts_us);
	return id ? names_get(id) : NULL;
}

/* ---- what clients did: activity and fallbacks ---- */

void tcp_note_flow(const struct flow *f)
{
	const struct flow_side *c = &f->side[DIR_C2S];
	/* Two-way traffic, or more than SYNs: a real client, not a spoofed source. */
	if (!c->pkts || (!f->side[DIR_S2C].pkts && c->pkts <= f->syn_count))
		return;
	struct client *cl = client_get(&f->cli, 1);
	if (cl && c->last_us > cl->last_us)
		cl->last_us = c->last_us;
	if (f->proto == IPPROTO_UDP_ && f->side[DIR_S2C].pkts)
		hops_note_confirmed(f->cli.fam, c->ttl_first);
}

static void client_done(const struct flow *f, u64 synack_us)
{
	struct client *cl = client_get(&f->cli, 1);
	if (!cl || !f->syn_us)
		return;
	struct done *d = &cl->ring[cl->ring_next];
	cl->ring_next = (u8)((cl->ring_next + 1) % CLIENT_RING);
	if (cl->nring < CLIENT_RING)
		cl->nring++;
	d->srv = f->srv;
	d->sport = f->sport;
	d->name_id = f->name_id ? f->name_id : services_name_for(&f->srv, &f->cli, f->syn_us);
	d->syn_us = f->syn_us;
	d->synack_us = synack_us;
	recent[nrecent % RECENT] = *d;
	recent_cli[nrecent % RECENT] = f->cli;
	nrecent++;
}

/* ---- per packet ---- */

void tcp_feed(struct flow *f, int dir, const struct packet *pk)
{
	u8 fl = pk->tcp_flags;

	if ((fl & (TH_SYN | TH_ACK)) == TH_SYN) {
		twins_note(IPPROTO_TCP_, &pk->dst, pk->dport, pk->seq, pk->side);
		if (dir == DIR_C2S && f->syn_count == 1 && pk->frame == f->syn_frame)
			source_syn(f, pk);
	}
	/* The client completed the handshake: its distance is a real client's. */
	if (dir == DIR_C2S && pk->frame == f->ack_frame && f->syn_count)
		hops_note_confirmed(f->cli.fam, f->side[DIR_C2S].ttl_first);

	if ((fl & (TH_SYN | TH_ACK)) == (TH_SYN | TH_ACK) && dir == DIR_S2C) {
		struct server *s = server_get(&f->srv, f->sport);
		if (s) {
			s->ttl = pk->ttl;
			if (pk->ipver == 4) {
				if (pk->df && s->df_yes < 255)
					s->df_yes++;
				else if (!pk->df && s->df_no < 255)
					s->df_no++;
			}
		}
		if (pk->frame == f->synack_frame && f->syn_us) {
			u64 rtt = pk->ts_us - flow_syn_last_us(f);
			if (s && flow_syn_last_us(f) <= pk->ts_us && (!s->rtt_us || rtt < s->rtt_us))
				s->rtt_us = (u32)MIN(rtt, (u64)UINT32_MAX);
			client_done(f, pk->ts_us);
		}
	}
	if (fl & TH_RST) {
		if (!f->rst_frame) {
			const struct flow_side *own = &f->side[dir], *other = &f->side[!dir];
			f->rst_ttl = pk->ttl;
			f->rst_dir = (u8)dir;
			f->rst_frame = pk->frame;
			f->rst_seq = pk->seq;
			f->rst_us = pk->ts_us;
			f->rst_ipid = pk->ipid;
			f->rst_ipid_valid = pk->ipid_valid;
			f->rst_df = pk->df;
			f->rst_opts = pk->tcp_opts;
			f->rst_win = pk->win;
			f->rst_label = pk->flowlabel;
			f->rst_prev_ipid = own->ipid_last;
			f->rst_prev_ipid_ok = own->prof_pkts && own->ipid_valid;
			f->rst_prev_win = own->win_last;
			/* It acknowledges the other side's latest data: how soon after it? */
			u64 adv = flow_adv_us(f, !dir);
			f->rst_lag_us = (fl & TH_ACK) && adv && pk->ack == other->seq_next && pk->ts_us >= adv
			                        ? (u32)MIN(pk->ts_us - adv, (u64)UINT32_MAX - 1) : UINT32_MAX;
			f->rst_nseq = 1;
		} else if (dir == f->rst_dir && pk->frame != f->rst_frame) {
			f->rst_more += f->rst_more < UINT16_MAX;
			/* A third distinct number is counted when it differs from both kept. */
			if (pk->seq != f->rst_seq && (f->rst_nseq == 1 || pk->seq != f->rst_seq2) && f->rst_nseq < 255) {
				if (f->rst_nseq == 1)
					f->rst_seq2 = pk->seq;
				f->rst_nseq++;
			}
		}
		return;
	}
	/* Data from the reset's sender after its reset: the reset was not its own. */
	if (f->rst_frame && pk->frame != f->rst_frame && dir == f->rst_dir && pk->pl_len)
		f->post_rst_data++;
}

/* ---- reset scoring ---- */

/* The signals a reset is scored with: its weight toward forged and toward
 * genuine. Distance (TTL, timing) counts once, as the larger of the two:
 * both say the same thing, that the sender is nearer than it claims. */
enum { SG_TTL = 0, SG_TIMING, SG_IPID, SG_LABEL, SG_DF, SG_BURST, SG_WINDOW, SG_OPTIONS, SG_N };
static const struct {
	const char *name;
	double forged, genuine;
	u8 strong;             /* counts toward the two signals a forgery needs */
} sig_rules[SG_N] = {
	{ "ttl", 2.0, -2.0, 1 },     /* hops against the sender's own packets */
	{ "timing", 2.0, 0.0, 1 },   /* sooner than the round trip to the sender */
	{ "ip_id", 1.5, -1.0, 1 },   /* the sender's per-connection counter, or its zeros */
	{ "flow_label", 1.5, -1.0, 1 }, /* IPv6: the sender's per-connection flow label */
	{ "df", 1.0, -0.5, 1 },      /* the sender's Don't Fragment habit */
	{ "burst", 2.0, 0.0, 1 },    /* several resets stepping through the window */
	{ "window", 0.5, 0.0, 0 },   /* 0 or the sender's own window */
	{ "options", 0.5, 0.0, 0 },  /* options the connection did not negotiate */
};

/* What is known of a reset and of its purported sender. */
struct rst_view {
	u8 fam, ttl, df, ipid_ok, opts;
	u16 ipid, win;
	u32 label, own_label, other_label; /* IPv6 flow labels: the reset's, the sender's and the other side's profile */
	const struct flow_side *own; /* the sender's packets in this flow, or NULL */
	int own_lo, own_hi;          /* hops of the sender's packets; -1 unknown */
	u32 df_yes, df_no;           /* the sender's packets with and without DF */
	u8 prev_ipid_ok;
	u16 prev_ipid, prev_win;
	u8 nseq;
	u32 more;
	u64 lag_us;                  /* after what it answers; UINT64_MAX unknown */
	u32 rtt_us;                  /* round trip to the sender; 0 unknown */
	const char *lag_of;
	u32 data_after;
	u8 late_synack;
};

struct score {
	double total, dist;
	int strong;
	int dist_forged;
	char names[96];
	json_t *sg;
};

static void sig(struct score *sc, int s, int verdict, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void sig(struct score *sc, int s, int verdict, const char *fmt, ...)
{
	char buf[240];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	json_object_set_new(sc->sg, sig_rules[s].name, json_string(buf));
	double w = verdict > 0 ? sig_rules[s].forged : verdict < 0 ? sig_rules[s].genuine : 0.0;
	if (s == SG_TTL || s == SG_TIMING) {
		/* one distance signal: the stronger reading of the two */
		if (verdict > 0 && !sc->dist_forged) {
			sc->total += w - (sc->dist < 0 ? sc->dist : 0);
			sc->dist = w;
			sc->dist_forged = 1;
			sc->strong++;
		} else if (verdict < 0 && !sc->dist_forged && w < sc->dist) {
			sc->total += w - sc->dist;
			sc->dist = w;
		}
	} else {
		sc->total += w;
		sc->strong += verdict > 0 && sig_rules[s].strong;
	}
	if (verdict > 0) {
		size_t o = strlen(sc->names);
		snprintf(sc->names + o, sizeof sc->names - o, "%s%s", o ? ", " : "", sig_rules[s].name);
	}
}

/* Scores a reset into detail.signals and detail.score; returns 1 when it
 * is forged and sets *reason to why (a static or detail-owned string). */
static int rst_score(const struct rst_view *v, json_t *detail, const char **reason)
{
	struct score sc = { 0 };
	static char why[200];
	int h = hops_of(v->ttl);
	sc.sg = json_object();

	if (v->own_lo < 0)
		sig(&sc, SG_TTL, 0, "TTL %u (%d hop%s); no packet of its purported sender to compare with", v->ttl, h,
		    h == 1 ? "" : "s");
	else if (h >= v->own_lo && h <= v->own_hi)
		sig(&sc, SG_TTL, -1, "TTL %u: %d hop%s, as its purported sender's own packets", v->ttl, h, h == 1 ? "" : "s");
	else if (h == v->own_lo - 1 || h == v->own_hi + 1)
		sig(&sc, SG_TTL, 0, "TTL %u: %d hop%s, one from its purported sender's %d (a route may have changed)",
		    v->ttl, h, h == 1 ? "" : "s", h < v->own_lo ? v->own_lo : v->own_hi);
	else
		sig(&sc, SG_TTL, 1, "TTL %u: %d hop%s, where its purported sender's packets come from %d", v->ttl, h,
		    h == 1 ? "" : "s", h < v->own_lo ? v->own_lo : v->own_hi);

	if (v->lag_us == UINT64_MAX || !v->rtt_us)
		sig(&sc, SG_TIMING, 0, "no round trip to compare its arrival with");
	else if (v->lag_us * 2 < v->rtt_us && v->rtt_us - v->lag_us >= 1000)
		sig(&sc, SG_TIMING, 1, "%.1f ms after %s, sooner than the round trip to its purported sender (%.1f ms)",
		    v->lag_us / 1e3, v->lag_of, v->rtt_us / 1e3);
	else
		sig(&sc, SG_TIMING, 0, "%.1f ms after %s, not sooner than the round trip (%.1f ms)", v->lag_us / 1e3,
		    v->lag_of, v->rtt_us / 1e3);

	if (!v->ipid_ok)
		sig(&sc, SG_IPID, 0, "IPv6: no IP ID");
	else if (!v->own || v->own->prof_pkts < 3)
		sig(&sc, SG_IPID, 0, "IP ID %u; too few packets of its purported sender to know its counter", v->ipid);
	else if (v->own->ipid_zero + 1u >= v->own->prof_pkts)
		sig(&sc, SG_IPID, v->ipid ? 1 : -1, v->ipid ? "IP ID %u where the sender's packets carry 0"
		                                            : "IP ID %u, as the sender's packets", v->ipid);
	else if (v->own->ipid_steps >= 2 && v->own->ipid_steps * 2u + 2 >= v->own->prof_pkts) {
		u16 d = (u16)(v->ipid - v->prev_ipid);
		if (v->prev_ipid_ok && d >= 1 && d <= FLOW_IPID_STEP * 4)
			sig(&sc, SG_IPID, -1, "IP ID %u continues the sender's per-connection counter (its last packet %u)",
			    v->ipid, v->prev_ipid);
		else if (!v->ipid && v->df)
			sig(&sc, SG_IPID, 0, "IP ID 0 with DF, as a stack's reset made outside the connection");
		else
			sig(&sc, SG_IPID, 1, "IP ID %u does not continue the sender's per-connection counter (its last packet %u)",
			    v->ipid, v->prev_ipid);
	} else
		sig(&sc, SG_IPID, 0, "IP ID %u; the sender's IDs follow no per-connection counter", v->ipid);

	if (v->fam != 6)
		sig(&sc, SG_LABEL, 0, "IPv4: no flow label");
	else if (!(v->own_label & FLOW_LABEL_SET))
		sig(&sc, SG_LABEL, 0, "flow label %u; no packet of its purported sender to compare with", v->label);
	else if (v->own_label & FLOW_LABEL_MIXED)
		sig(&sc, SG_LABEL, 0, "flow label %u; the sender's labels vary", v->label);
	else if (v->label == (v->own_label & FLOW_LABEL_MASK))
		sig(&sc, SG_LABEL, -1, "flow label %u, as the sender's packets", v->label);
	else if (!v->label || ((v->other_label & FLOW_LABEL_SET) && v->label == (v->other_label & FLOW_LABEL_MASK)))
		sig(&sc, SG_LABEL, 0, "flow label %u, as a stack's reset made outside the connection may carry", v->label);
	else
		sig(&sc, SG_LABEL, 1, "flow label %u where the sender's packets carry %u", v->label,
		    v->own_label & FLOW_LABEL_MASK);

	if (v->fam != 4)
		sig(&sc, SG_DF, 0, "IPv6: no DF bit");
	else if (!v->df_yes && !v->df_no)
		sig(&sc, SG_DF, 0, "DF %s; no IPv4 packet of its purported sender to compare with", v->df ? "set" : "clear");
	else if (!v->df_no)
		sig(&sc, SG_DF, v->df ? -1 : 1, v->df ? "DF set, as every packet of the sender"
		                                       : "DF clear, where every packet of the sender set it");
	else if (!v->df_yes)
		sig(&sc, SG_DF, v->df ? 1 : -1, v->df ? "DF set, where no packet of the sender set it"
		                                       : "DF clear, as the sender's packets");
	else
		sig(&sc, SG_DF, 0, "DF %s; the sender's packets mix both", v->df ? "set" : "clear");

	if (v->nseq >= 2)
		sig(&sc, SG_BURST, 1, "%u resets with %u distinct sequence numbers, stepping through the window as injectors do",
		    v->more + 1, v->nseq);
	else if (v->more)
		sig(&sc, SG_BURST, 0, "%u resets with one sequence number", v->more + 1);
	else
		sig(&sc, SG_BURST, 0, "one reset");

	if (!v->win)
		sig(&sc, SG_WINDOW, 0, "0, as stacks send in resets");
	else if (v->own && v->win == v->prev_win)
		sig(&sc, SG_WINDOW, 0, "%u, the sender's own window", v->win);
	else
		sig(&sc, SG_WINDOW, 1, "%u: neither 0 nor the sender's own window", v->win);

	if (!v->opts)
		sig(&sc, SG_OPTIONS, 0, "none, as stacks send in resets");
	else if ((v->opts & TOPT_TS) && v->own && !(v->own->syn_opts & TOPT_TS))
		sig(&sc, SG_OPTIONS, 1, "timestamps, which the connection did not negotiate");
	else
		sig(&sc, SG_OPTIONS, 0, "present");

	const char *conclusive = NULL;
	if (v->data_after >= 2) {
		snprintf(why, sizeof why, "%u data segments from its purported sender after it", v->data_after);
		json_object_set_new(sc.sg, "data_after", json_string(why));
		conclusive = "data from the same side kept flowing after the reset";
	} else if (v->data_after) {
		json_object_set_new(sc.sg, "data_after", json_string("one data segment after it (it may have been in flight)"));
	}
	if (v->late_synack) {
		json_object_set_new(sc.sg, "synack_after", json_string("the server answered the SYN after the reset"));
		conclusive = "the server answered the SYN after the reset";
	}
	json_object_set_new(detail, "signals", sc.sg);
	json_object_set_new(detail, "score", json_real(round(sc.total * 100) / 100));
	if (conclusive) {
		*reason = conclusive;
		return 1;
	}
	if (sc.total >= RST_FORGED_SCORE && sc.strong >= 2) {
		snprintf(why, sizeof why, "its packet does not match its purported sender's (%s)", sc.names);
		*reason = why;
		return 1;
	}
	*reason = NULL;
	return 0;
}

#define FORGED_WHY "its purported sender did not send it, and its TTL does not place it nearer than the sender: something on the path forged it"

/* The view of a flow's first reset against its sender's packets in it. */
static void rst_view_of(const struct flow *f, struct rst_view *v)
{
	const struct flow_side *own = &f->side[f->rst_dir];
	memset(v, 0, sizeof *v);
	v->fam = f->cli.fam;
	v->ttl = f->rst_ttl;
	v->df = f->rst_df;
	v->ipid_ok = f->rst_ipid_valid;
	v->ipid = f->rst_ipid;
	v->opts = f->rst_opts;
	v->win = f->rst_win;
	v->label = f->rst_label;
	v->own_label = own->label;
	v->other_label = f->side[!f->rst_dir].label;
	v->own = own->prof_pkts ? own : NULL;
	v->own_lo = v->own ? hops_of(own->ttl_max) : -1;
	v->own_hi = v->own ? hops_of(own->ttl_min) : -1;
	if (v->own_lo > v->own_hi) {
		int t = v->own_lo;
		v->own_lo = v->own_hi;
		v->own_hi = t;
	}
	if (v->fam == 4 && v->own) {
		v->df_yes = own->df_pkts;
		v->df_no = own->prof_pkts - own->df_pkts;
	}
	v->prev_ipid_ok = f->rst_prev_ipid_ok;
	v->prev_ipid = f->rst_prev_ipid;
	v->prev_win = f->rst_prev_win;
	v->nseq = f->rst_nseq;
	v->more = f->rst_more;
	v->lag_us = f->rst_lag_us == UINT32_MAX ? UINT64_MAX : f->rst_lag_us;
	v->lag_of = f->rst_dir == DIR_S2C ? "the client's data it acknowledges" : "the server's data it acknowledges";
	if (f->rst_dir == DIR_S2C && f->synack_us && f->syn_us && f->synack_us >= flow_syn_last_us(f))
		v->rtt_us = (u32)MIN(f->synack_us - flow_syn_last_us(f), (u64)UINT32_MAX);
	else if (f->rst_dir == DIR_C2S)
		v->rtt_us = f->cli_rtt_us;
	v->data_after = f->post_rst_data;
}

/* ---- ICMP ---- */

void tcp_icmp(struct flow *f, int dir, const struct packet *pk)
{
	struct finding fd;
	char rep[ADDR_STRLEN];
	const char *why;
	int unreach = (pk->proto == IPPROTO_ICMP_ && pk->icmp_type == 3) ||
	              (pk->proto == IPPROTO_ICMPV6_ && pk->icmp_type == 1);
	(void)dir;
	if (!unreach || f->icmp_seen)
		return;
	f->icmp_seen = 1;
	finding_init(&fd, K_ICMP_UNREACHABLE, f, pk->ts_us, pk->file, pk->frame);
	if (f->syn_frame)
		finding_add_ev(&fd, f->syn_frame);
	if (f->app == APP_DNS || f->sport == 53)
		fd.cat = CAT_DNS;
	finding_set_name(&fd, name_of(f));
	if (addr_eq(&pk->src, &f->srv)) {
		fd.origin = O_SERVER;
		why = "reported by the server's own address";
	} else {
		/* A router: where it is, from the capture point. */
		struct server *s = server_get(&f->srv, f->sport);
		int sh = s && s->ttl ? hops_of(s->ttl) : f->side[DIR_S2C].prof_pkts ? hops_of(f->side[DIR_S2C].ttl_first) : -1;
		fd.origin = (u8)hops_place(pk->src.fam, pk->ttl, sh, &why);
	}
	static const char *v4codes[] = { "net-unreachable", "host-unreachable", "protocol-unreachable",
		"port-unreachable", "fragmentation-needed", "source-route-failed", "net-unknown",
		"host-unknown", "source-host-isolated", "net-prohibited", "host-prohibited",
		"net-unreachable-for-tos", "host-unreachable-for-tos", "admin-prohibited",
		"host-precedence-violation", "precedence-cutoff" };
	static const char *v6codes[] = { "no-route", "admin-prohibited", "beyond-scope",
		"address-unreachable", "port-unreachable", "source-policy-failed", "reject-route" };
	const char *cn = pk->proto == IPPROTO_ICMP_
	                         ? (pk->icmp_code < 16 ? v4codes[pk->icmp_code] : "unknown")
	                         : (pk->icmp_code < 7 ? v6codes[pk->icmp_code] : "unknown");
	json_object_set_new(fd.detail, "icmp_type", json_integer(pk->icmp_type));
	json_object_set_new(fd.detail, "icmp_code", json_integer(pk->icmp_code));
	json_object_set_new(fd.detail, "code_name", json_string(cn));
	json_object_set_new(fd.detail, "reporter", json_string(addr_fmt(&pk->src, rep)));
	json_object_set_new(fd.detail, "ttl", json_integer(pk->ttl));
	json_object_set_new(fd.detail, "hops", json_integer(hops_of(pk->ttl)));
	json_object_set_new(fd.detail, "origin_reason", json_string(why));
	findings_emit(&fd);
	/* UDP flows are counted by their analyzer; a TCP one counts here at its end. */
}

/* ---- held outcomes ---- */

static struct held *heldq_push(struct heldq *q)
{
	if (q->n - q->head >= TCP_HELD_CAP)
		return NULL;
	if (q->head && q->n == q->cap) { /* reuse the released front */
		memmove(q->v, q->v + q->head, (q->n - q->head) * sizeof *q->v);
		q->n -= q->head;
		q->head = 0;
	}
	if (q->n == q->cap) {
		q->cap = q->cap ? q->cap * 2 : 64;
		q->v = xrealloc(q->v, q->cap * sizeof *q->v);
	}
	struct held *h = &q->v[q->n++];
	memset(h, 0, sizeof *h);
	return h;
}

static void held_fill(struct held *h, int what, const struct flow *f, u64 now_us)
{
	h->what = (u8)what;
	h->cli = f->cli;
	h->srv = f->srv;
	h->cport = f->cport;
	h->sport = f->sport;
	h->file = f->file;
	h->syn_count = f->syn_count;
	h->syn_us = f->syn_us;
	h->syn_last_us = flow_syn_last_us(f);
	h->syn_gap_us = f->syn_gap_us;
	h->end_us = now_us;
	h->name_id = f->name_id;
	h->isn = f->side[DIR_C2S].isn;
	for (u8 i = 0; i < f->syn_count && i < FLOW_SYN_FRAMES; i++)
		h->frames[h->nframes++] = f->syn_frames[i];
}

/* Which rule says a held SYN went unanswered by now_us (capture end when
 * final): "timeout" (--syn-timeout passed), "gave_up" (its client stopped
 * retrying and went on, or fell back to another address), "rtt" (it waited
 * many times its server's round trip). NULL when none does yet; *when gets
 * the time the rule decided it. */
static const char *unanswered_rule(const struct held *h, const struct server *s, u64 now_us, u64 *when,
                                   json_t *detail)
{
	if (now_us >= h->syn_us + g_opts.syn_timeout_us) {
		*when = h->syn_us + g_opts.syn_timeout_us;
		return "timeout";
	}
	const struct client *c = client_get(&h->cli, 0);
	u32 name = h->name_id ? h->name_id : services_name_for(&h->srv, &h->cli, h->syn_us);
	/* A fallback: the same client reached the same name on the same port
	 * at another address after this SYN, and this one stopped; or, in the
	 * other family (the client's other address), right after it, as happy
	 * eyeballs do. */
	for (u32 i = 0; name && i < MIN(nrecent, (u32)RECENT); i++) {
		const struct done *d = &recent[i];
		int same = addr_eq(&recent_cli[i], &h->cli);
		if (d->sport != h->sport || d->name_id != name || addr_eq(&d->srv, &h->srv) || d->syn_us < h->syn_us ||
		    d->synack_us < h->syn_last_us || d->synack_us > h->syn_us + SYN_MOVED_US)
			continue;
		if (!same && (recent_cli[i].fam == h->cli.fam || d->syn_us > h->syn_us + SYN_FALLBACK_US))
			continue;
		char a[ADDR_STRLEN];
		json_object_set_new(detail, "moved_to", json_string(addr_fmt(&d->srv, a)));
		*when = d->synack_us;
		return "gave_up";
	}
	/* Retried, then its retransmissions stopped: the next would have come
	 * by now (twice the last interval, as backoff doubles it). */
	if (h->syn_count >= 2 && h->syn_gap_us) {
		u64 next = h->syn_last_us + 2ull * h->syn_gap_us + 500000u;
		if (now_us > next) {
			*when = next;
			return "gave_up";
		}
	}
	/* One SYN, never retransmitted, and the client went on with other traffic. */
	if (c && h->syn_count == 1 && c->last_us > h->syn_us + SYN_FIRST_RTO_US) {
		*when = h->syn_us + SYN_FIRST_RTO_US;
		return "gave_up";
	}
	if (s && s->rtt_us) {
		u64 wait = MAX((u64)s->rtt_us * SYN_RTT_FACTOR, (u64)SYN_RTT_MIN_US);
		if (now_us >= h->syn_us + wait) {
			json_object_set_new(detail, "rtt_ms", json_real(round(s->rtt_us / 10.0) / 100));
			*when = h->syn_us + wait;
			return "rtt";
		}
	}
	return NULL;
}

/* The origin of a flood: its SYNs crossed the capture point toward a
 * server farther than the clients, so they came from the local side. */
static int flood_origin(const struct server *s)
{
	int lan = hops_lan(s->a.fam);
	return s->ttl && lan >= 0 && hops_of(s->ttl) > lan ? O_LOCAL : O_UNKNOWN;
}

/* A held SYN's finding, when a rule decides it; returns 1 if emitted. */
static int emit_syn_timeout(const struct held *h, u64 now_us)
{
	struct finding fd;
	struct server *s = server_get(&h->srv, h->sport);
	json_t *d = json_object();
	u64 when = 0;
	const char *rule = unanswered_rule(h, s, now_us, &when, d);
	if (!rule) {
		json_decref(d);
		return 0;
	}
	finding_init(&fd, K_SYN_TIMEOUT, NULL, when, h->file, h->frames[0]);
	json_decref(fd.detail);
	fd.detail = d;
	fd.cli = h->cli;
	fd.cport = h->cport;
	fd.srv = h->srv;
	fd.sport = h->sport;
	fd.proto = IPPROTO_TCP_;
	for (u8 i = 1; i < h->nframes; i++)
		finding_add_ev(&fd, h->frames[i]);
	const char *name = name_by(h->name_id, &h->srv, &h->cli, h->syn_us);
	finding_set_name(&fd, name);
	json_object_set_new(d, "retries", json_integer(h->syn_count ? h->syn_count - 1 : 0));
	json_object_set_new(d, "rule", json_string(rule));
	json_object_set_new(d, "waited_s", json_real(round((double)(when - h->syn_us) / 1e3) / 1e3));
	if (s && s->flood) {
		/* The client's own connection, starved by the flood on its server. */
		json_object_set_new(d, "flood", json_integer(s->ev[0]));
		finding_add_ev(&fd, s->ev[0]);
		fd.origin = s->flood_origin;
	}
	int fate = twins_fate(IPPROTO_TCP_, &fd.srv, fd.sport, h->isn, TWIN_INSIDE);
	if (twins_word(fate)) {
		json_object_set_new(d, "gateway", json_string(twins_word(fate)));
		fd.origin = fate == TWIN_DROPPED ? O_LOCAL : O_UNKNOWN;
	}
	findings_emit(&fd);
	findings_exchange(CAT_TCP, name, &fd.srv, &h->cli, h->syn_us, 1);
	return 1;
}

static void held_drop(struct held *h)
{
	if (h->fd) {
		json_decref(h->fd->detail);
		free(h->fd);
		h->fd = NULL;
	}
}

/* The flood of a server, decided from its counts. */
static int is_flood(const struct server *s)
{
	return s->half_open >= g_opts.syn_flood_min &&
	       (s->sources >= FLOOD_MIN_SOURCES || s->single_shot >= FLOOD_SINGLE_SHOT * s->half_open);
}

/* Decides one held outcome. final: at capture end (every rule may apply);
 * else only when no scan or flood could still claim it. Returns 0 when it
 * must wait (not final). */
static int held_decide(struct held *h, u64 now_us, int final)
{
	const struct source *so = source_find(&h->cli);
	if (is_scan(so)) { /* a scanner's probe: nobody's failure */
		held_drop(h);
		return 1;
	}
	if (!final && scan_suspect(so))
		return 0;
	const char *name = name_by(h->name_id, &h->srv, &h->cli, h->syn_us);
	switch (h->what) {
	case HK_OK:
		findings_exchange(CAT_TCP, name, &h->srv, &h->cli, h->syn_us, 0);
		return 1;
	case HK_REFUSED:
		findings_attack_check(AC_RESETS, name, &h->srv, h->fd->kind == K_RST_INJECTION);
		findings_emit(h->fd);
		free(h->fd);
		h->fd = NULL;
		findings_exchange(CAT_TCP, name, &h->srv, &h->cli, h->syn_us, 1);
		return 1;
	default:
		break;
	}
	struct server *s = server_get(&h->srv, h->sport);
	if (!final && s && !s->flood && s->half_open >= g_opts.syn_flood_min / 4)
		return 0; /* a flood may still claim it */
	if (s && s->flood) {
		const struct client *c = client_get(&h->cli, 0);
		int own = c && (h->syn_count >= 2 || s->sources >= FLOOD_MIN_SOURCES);
		if (!own)
			return 1; /* one of the flood's SYNs, counted in it */
	}
	if (!emit_syn_timeout(h, now_us) && !final)
		return 0;
	return 1;
}

/* Releases held outcomes older than TCP_HOLD_US: what must wait for a
 * flood or a rule goes to the kept queue, decided at capture end. */
static void held_release(u64 now_us)
{
	while (held.head < held.n && held.v[held.head].end_us + TCP_HOLD_US <= now_us) {
		struct held *h = &held.v[held.head++];
		if (!held_decide(h, now_us, 0)) {
			struct held *k = heldq_push(&kept);
			if (k)
				*k = *h;
			else
				held_drop(h);
		}
	}
	if (held.head == held.n)
		held.head = held.n = 0;
}

static void hold(int what, const struct flow *f, u64 now_us, struct finding *fd)
{
	struct held *h = heldq_push(&held);
	if (!h) { /* too many held: decided now, with what is known */
		struct held tmp;
		memset(&tmp, 0, sizeof tmp);
		held_fill(&tmp, what, f, now_us);
		tmp.fd = fd;
		held_decide(&tmp, now_us, 1);
		return;
	}
	held_fill(h, what, f, now_us);
	h->fd = fd;
}

/* ---- scans ---- */

/* One SYN of a source: what it probes. */
static void source_add(struct source *so, const struct addr *dst, u16 dport, int named, u64 ts, u16 file, u8 ttl,
                       u32 frame)
{
	if (!so->syns++) {
		so->first_us = ts;
		so->file = file;
		so->target = *dst;
		so->ttl = ttl;
		so->port_lo = so->port_hi = dport;
	}
	so->last_us = MAX(so->last_us, ts);
	so->port_lo = MIN(so->port_lo, dport);
	so->port_hi = MAX(so->port_hi, dport);
	if (!addr_eq(&so->target, dst))
		so->multi = 1;
	if (so->nev < FIND_EV_MAX)
		so->ev[so->nev++] = frame;
	so->nports += map_set(so->portmap, dport * 2654435761u);
	u32 ah = addr_key(dst, 0);
	map_set(so->addrmap, ah);
	/* An address a name of the capture led to is a destination, not a target. */
	if (!named)
		so->nunnamed += map_set(so->unnamedmap, ah);
}

static int named(u32 name_id, const struct addr *a) { return name_id || services_name_of_addr(a); }

/* A client's first SYN of a connection. A source's first SYN waits in a
 * direct-mapped cache until a second one makes it worth a record: a
 * flood's spoofed sources, one SYN each, never get one. Many ports make a
 * scan at once; many addresses no name led to, once most of those
 * connections ended with no data. */
static void source_syn(const struct flow *f, const struct packet *pk)
{
	struct source *so = source_get(&f->cli, 0);
	if (!so) {
		if (!first_tab)
			first_tab = xcalloc(FIRST_CAP, sizeof *first_tab);
		struct first_syn *e = &first_tab[addr_key(&f->cli, 2) & (FIRST_CAP - 1)];
		if (!e->frame || !addr_eq(&e->a, &f->cli)) {
			e->a = f->cli;
			e->dst = f->srv;
			e->dport = f->sport;
			e->file = pk->file;
			e->ttl = pk->ttl;
			e->frame = pk->frame;
			e->ts = pk->ts_us;
			e->name_id = f->name_id;
			return;
		}
		so = source_get(&f->cli, 1);
		if (!so)
			return;
		source_add(so, &e->dst, e->dport, named(e->name_id, &e->dst), e->ts, e->file, e->ttl, e->frame);
		e->frame = 0;
	}
	source_add(so, &f->srv, f->sport, named(f->name_id, &f->srv), pk->ts_us, pk->file, pk->ttl, pk->frame);
}

/* A scan: many ports, or many addresses no name led to, and most of its
 * connections ended with no data (a client of many ports, FTP's data
 * connections say, carries data on them). */
static int is_scan(const struct source *so)
{
	if (!so)
		return 0;
	if (so->scan)
		return 1;
	return (so->nports >= SCAN_MIN_PORTS || so->nunnamed >= SCAN_MIN_TARGETS) &&
	       so->probes >= SCAN_MIN_PORTS && so->real * 2 <= so->probes;
}

/* Not a scan yet, but it may become one: its outcomes wait. */
static int scan_suspect(const struct source *so)
{
	return so && !is_scan(so) && (so->nports * 2 >= SCAN_MIN_PORTS || so->nunnamed * 2 >= SCAN_MIN_TARGETS);
}

/* How a connection of the source ended: a probe (no data either way:
 * answered, refused or unanswered), or a real connection. Returns the
 * source, which may now be a scan. */
static struct source *note_probe(const struct flow *f, int answered, int refused)
{
	struct source *so = source_get(&f->cli, 0);
	if (!so)
		return NULL;
	/* A retried SYN is a client waiting, not a probe. */
	if (!answered && !refused && f->syn_count > 1)
		return so;
	so->probes++;
	so->open += answered;
	so->refused += refused;
	so->unanswered += !answered && !refused;
	return so;
}

static void emit_scan(const struct source *so)
{
	struct finding fd;
	char a[ADDR_STRLEN];
	const char *why;
	finding_init(&fd, K_SCAN, NULL, so->first_us, so->file, so->ev[0]);
	for (u8 i = 1; i < so->nev; i++)
		finding_add_ev(&fd, so->ev[i]);
	/* A finding about the capture, filed under no service (as a reflection
	 * aimed at a LAN host is): the scanned host's silence is not its
	 * failure, and it gets no verdict of it. The target is in the detail. */
	fd.cli = so->a;
	fd.proto = IPPROTO_TCP_;
	fd.origin = (u8)hops_place(so->a.fam, so->ttl, -1, &why);
	json_object_set_new(fd.detail, "count", json_integer(so->syns));
	json_object_set_new(fd.detail, "ports", json_integer(map_count(so->portmap)));
	json_object_set_new(fd.detail, "targets", json_integer(map_count(so->addrmap)));
	json_object_set_new(fd.detail, "source", json_string(addr_fmt(&so->a, a)));
	if (!so->multi)
		json_object_set_new(fd.detail, "target", json_string(addr_fmt(&so->target, a)));
	json_object_set_new(fd.detail, "port_range", json_pack("[ii]", so->port_lo, so->port_hi));
	json_object_set_new(fd.detail, "open", json_integer(so->open));
	json_object_set_new(fd.detail, "refused", json_integer(so->refused));
	json_object_set_new(fd.detail, "unanswered", json_integer(so->unanswered));
	json_object_set_new(fd.detail, "duration_s", json_real((double)(so->last_us - so->first_us) / 1e6));
	json_object_set_new(fd.detail, "origin_reason", json_string(why));
	findings_emit(&fd);
}

/* ---- floods ---- */

static void emit_flood(struct server *s)
{
	struct finding fd;
	char a[ADDR_STRLEN];
	finding_init(&fd, K_SYN_FLOOD, NULL, s->first_us, s->file, s->ev[0]);
	fd.srv = s->a;
	fd.sport = s->port;
	fd.proto = IPPROTO_TCP_;
	for (u8 i = 1; i < s->nev; i++)
		finding_add_ev(&fd, s->ev[i]);
	u32 id = services_name_of_addr(&s->a);
	finding_set_name(&fd, id ? names_get(id) : NULL);
	s->flood_origin = (u8)flood_origin(s);
	fd.origin = s->flood_origin;
	u32 total = s->half_open + s->completed;
	json_object_set_new(fd.detail, "count", json_integer(s->half_open));
	json_object_set_new(fd.detail, "sources", json_integer(s->sources));
	json_object_set_new(fd.detail, "completed_ratio",
	                    json_real(total ? (double)s->completed / total : 0.0));
	json_object_set_new(fd.detail, "target", json_string(addr_fmt(&s->a, a)));
	json_object_set_new(fd.detail, "duration_s", json_real((double)(s->last_us - s->first_us) / 1e6));
	findings_emit(&fd);
}

static void note_half_open(const struct flow *f, u64 now_us)
{
	struct server *s = server_get(&f->srv, f->sport);
	struct source *so = note_probe(f, 0, 0);
	if (s) {
		u32 id = f->name_id ? f->name_id : services_name_for(&f->srv, &f->cli, f->syn_us);
		if (id)
			s->name_id = id;
		if (map_set(s->srcmap, addr_key(&f->cli, 0)))
			s->sources++;
		if (!s->half_open++) {
			s->first_us = f->syn_us;
			s->file = f->file;
		}
		if (s->nev < FIND_EV_MAX && f->syn_frame)
			s->ev[s->nev++] = f->syn_frame;
		s->single_shot += f->syn_count == 1;
		s->last_us = MAX(s->last_us, f->syn_us);
		if (!s->flood && is_flood(s))
			s->flood = 1; /* one finding at the end, with the final counts */
	}
	if (is_scan(so))
		return; /* a scanner's probe */
	/* A flood's SYN, unless a known client retried it: only counted. */
	if (s && s->flood && f->syn_count < 2 && !client_get(&f->cli, 0))
		return;
	hold(HK_TIMEOUT, f, now_us, NULL);
}

/* ---- flow end ---- */

/* The SYN was answered by a reset before any SYN-ACK: refused, unless the
 * reset is scored forged (the server's SYN-ACK after it, or its packet not
 * the server's). The finding is made here; the caller emits or holds it,
 * and counts the reset as scored when it emits it. */
static struct finding *make_refused(struct flow *f, const char *name)
{
	struct finding *fd = xmalloc(sizeof *fd);
	const char *why, *reason;
	struct rst_view v;
	struct server *s = server_get(&f->srv, f->sport);
	u8 exp = s ? s->ttl : 0;
	int sh = exp ? hops_of(exp) : -1;
	int late_synack = f->synack_us && f->synack_frame > f->rst_frame;
	json_t *d = json_object(), *scored = json_object();

	memset(&v, 0, sizeof v);
	v.fam = f->cli.fam;
	v.ttl = f->rst_ttl;
	v.df = f->rst_df;
	v.ipid_ok = f->rst_ipid_valid;
	v.ipid = f->rst_ipid;
	v.opts = f->rst_opts;
	v.win = f->rst_win;
	v.own_lo = v.own_hi = sh;
	if (s && v.fam == 4) {
		v.df_yes = s->df_yes;
		v.df_no = s->df_no;
	}
	v.nseq = f->rst_nseq;
	v.more = f->rst_more;
	v.lag_us = f->syn_us && f->rst_us >= flow_syn_last_us(f) ? f->rst_us - flow_syn_last_us(f) : UINT64_MAX;
	v.lag_of = "the SYN it answers";
	v.rtt_us = s ? s->rtt_us : 0;
	v.late_synack = (u8)late_synack;
	int forged = rst_score(&v, scored, &reason);
	int origin = hops_place(f->cli.fam, f->rst_ttl, sh, &why);
	if (forged && (origin == O_SERVER || origin == O_UNKNOWN)) {
		origin = O_ONPATH;
		why = FORGED_WHY;
	}

	finding_init(fd, forged ? K_RST_INJECTION : K_TCP_REFUSED, f, f->rst_us, f->file, f->rst_frame);
	json_t *tun = json_object_get(fd->detail, "tunnel");
	if (tun)
		json_object_set(d, "tunnel", tun); /* finding_init's, for a flow inside a tunnel */
	json_decref(fd->detail);
	fd->detail = d;
	for (u8 i = 0; i < f->syn_count && i < FLOW_SYN_FRAMES; i++)
		finding_add_ev(fd, f->syn_frames[i]);
	if (late_synack)
		finding_add_ev(fd, f->synack_frame);
	finding_set_name(fd, name);
	fd->origin = (u8)origin;
	if (forged) {
		json_object_set_new(d, "reason", json_string(reason));
		json_object_set_new(d, "sender", json_string("server"));
	}
	json_object_set_new(d, "ttl", json_integer(f->rst_ttl));
	json_object_set_new(d, "expected_ttl", ttl_or_null(exp));
	json_object_set_new(d, "hops", json_integer(hops_of(f->rst_ttl)));
	json_object_set_new(d, "origin_reason", json_string(why));
	json_object_set_new(d, "syn_retries", json_integer(f->syn_count - 1));
	json_object_update(d, scored); /* the signals last: the kind's own facts first */
	json_decref(scored);
	f->reported = 1;
	return fd;
}

/* A reset on a connection whose handshake was seen: scored; a finding
 * unless it is a normal close (after a FIN, or the client's own) that
 * nothing says was forged. Returns 1 when the exchange failed. */
static int judge_reset(struct flow *f, const char *name)
{
	struct rst_view v;
	const char *reason, *why;
	json_t *d = json_object(), *scored = json_object();
	rst_view_of(f, &v);
	int forged = rst_score(&v, scored, &reason);
	findings_attack_check(AC_RESETS, name, &f->srv, forged);

	u32 fin = 0;
	for (int i = 0; i < 2; i++)
		if (f->side[i].fin_frame && (!fin || f->side[i].fin_frame < fin))
			fin = f->side[i].fin_frame;
	if (!forged && ((fin && fin < f->rst_frame) || f->rst_dir == DIR_C2S)) {
		json_decref(d);
		json_decref(scored);
		f->reported = 1;
		return 0;
	}
	u8 exp = f->side[f->rst_dir].ttl_first;
	int origin = v.own_lo >= 0 ? hops_place(f->cli.fam, f->rst_ttl, v.own_lo, &why)
	                           : hops_place(f->cli.fam, f->rst_ttl, -1, &why);
	if (f->rst_dir == DIR_C2S && !forged)
		origin = O_LOCAL;
	if (forged && (origin == O_SERVER || origin == O_UNKNOWN)) {
		origin = O_ONPATH;
		why = FORGED_WHY;
	}
	if (!forged && origin == O_UNKNOWN)
		origin = O_SERVER; /* it claims the server and nothing says otherwise */

	struct finding fd;
	finding_init(&fd, forged ? K_RST_INJECTION : K_RST, f, f->rst_us, f->file, f->rst_frame);
	json_t *tun = json_object_get(fd.detail, "tunnel");
	if (tun)
		json_object_set(d, "tunnel", tun); /* finding_init's, for a flow inside a tunnel */
	json_decref(fd.detail);
	fd.detail = d;
	if (f->syn_frame)
		finding_add_ev(&fd, f->syn_frame);
	finding_set_name(&fd, name);
	fd.origin = (u8)origin;
	json_object_set_new(d, "sender", json_string(f->rst_dir == DIR_C2S ? "client" : "server"));
	json_object_set_new(d, "ttl", json_integer(f->rst_ttl));
	json_object_set_new(d, "expected_ttl", ttl_or_null(exp));
	json_object_set_new(d, "after_bytes", json_integer((json_int_t)f->side[DIR_S2C].bytes));
	if (reason)
		json_object_set_new(d, "reason", json_string(reason));
	if (f->post_rst_data)
		json_object_set_new(d, "data_after_reset", json_integer(f->post_rst_data));
	json_object_set_new(d, "origin_reason", json_string(why));
	json_object_update(d, scored); /* the signals last: the kind's own facts first */
	json_decref(scored);
	findings_emit(&fd);
	f->reported = 1;
	return f->rst_dir == DIR_S2C || forged;
}

void tcp_flow_end(struct flow *f, u64 now_us)
{
	const char *name = name_of(f);
	int failed = 0;
	int nodata = !f->side[DIR_C2S].bytes && !f->side[DIR_S2C].bytes;

	tcp_note_flow(f);
	held_release(now_us);
	/* No SYN of a client here (picked up mid-stream, or backscatter: an
	 * answer to a SYN nobody here sent): no connection to judge. */
	if (!f->syn_count)
		return;

	if (f->rst_frame && f->rst_dir == DIR_S2C && (!f->synack_us || f->synack_frame > f->rst_frame) &&
	    !f->reported) {
		struct finding *fd = make_refused(f, name);
		if (f->synack_us) {
			struct server *s = server_get(&f->srv, f->sport);
			if (s)
				s->completed++;
		}
		if (nodata) {
			struct source *so = note_probe(f, 0, 1);
			if (is_scan(so)) {
				json_decref(fd->detail);
				free(fd);
				return;
			}
			hold(HK_REFUSED, f, now_us, fd);
			return;
		}
		findings_attack_check(AC_RESETS, name, &f->srv, fd->kind == K_RST_INJECTION);
		findings_emit(fd);
		free(fd);
		findings_exchange(CAT_TCP, name, &f->srv, &f->cli, f->syn_us, 1);
		return;
	}

	if (!f->synack_us && !f->rst_frame && !f->icmp_seen) {
		note_half_open(f, now_us); /* counted when its finding is decided */
		return;
	}
	if (f->synack_us) {
		struct server *s = server_get(&f->srv, f->sport);
		if (s) {
			s->completed++;
			s->name_id = name ? names_intern(name) : 0;
		}
	}
	/* Answered, then nothing: the client never completed the handshake, or
	 * reset it at once (a SYN scan's open port). Held while a scan may claim it. */
	if (f->synack_us && nodata && !f->ack_frame && (!f->rst_frame || f->rst_dir == DIR_C2S) && !f->icmp_seen) {
		struct source *so = note_probe(f, 1, 0);
		if (!is_scan(so))
			hold(HK_OK, f, now_us, NULL);
		return;
	}
	if (!nodata) {
		struct source *so = source_get(&f->cli, 0);
		if (so)
			so->real++;
	} else {
		note_probe(f, 1, 0); /* handshake, then nothing: a connect scan's open port */
	}
	if (f->rst_frame && f->synack_us && !f->reported)
		failed = judge_reset(f, name);
	else if (f->reported || f->icmp_seen)
		failed = !f->synack_us;
	findings_exchange(CAT_TCP, name, &f->srv, &f->cli, f->syn_us ? f->syn_us : f->first_us, failed);
}

void tcp_finish(u64 now_us)
{
	if (!srv)
		return;
	/* Scans first: their probes are nobody's failure. */
	if (src_tab)
		for (u32 i = 0; i < TCP_SOURCES_CAP; i++) {
			struct source *so = &src_tab[i];
			if (!so->used)
				continue;
			so->scan = (u8)is_scan(so);
			if (so->scan) {
				emit_scan(so);
				attack_check(AC_SCANS, so->multi ? NULL : name_by(0, &so->target, &so->a, so->first_us),
				             so->multi ? NULL : &so->target, 1);
			} else {
				findings_attack_check(AC_SCANS, NULL, NULL, 0);
			}
		}
	/* Floods next: the held SYNs of a flooded server are its, or starved. */
	for (u32 i = 0; i < TCP_SERVERS_CAP; i++) {
		struct server *s = &srv[i];
		if (!s->used || (!s->half_open && !s->completed))
			continue;
		if (s->flood || is_flood(s)) {
			s->flood = 1;
			emit_flood(s);
		}
		u32 id = s->name_id ? s->name_id : services_name_of_addr(&s->a);
		attack_check(AC_FLOODS, id ? names_get(id) : NULL, &s->a, s->flood);
	}
	for (size_t i = held.head; i < held.n; i++)
		held_decide(&held.v[i], now_us, 1);
	for (size_t i = kept.head; i < kept.n; i++)
		held_decide(&kept.v[i], now_us, 1);
	heldq_free(&held);
	heldq_free(&kept);
	nrecent = 0;
	memset(srv, 0, TCP_SERVERS_CAP * sizeof *srv);
	free(cli_tab);
	cli_tab = NULL;
	free(src_tab);
	src_tab = NULL;
	free(first_tab);
	first_tab = NULL;
}
