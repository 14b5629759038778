/* \summary: DNS over UDP and TCP: query/answer matching in a capped
 * transaction table, rcode findings, unanswered queries (timeout, the
 * client giving up, many round trips), differing answers (injection),
 * answers that point nowhere (held until a handshake proves or refuses
 * them), reflection; teaches services the address -> names map, with
 * each answer's client and time. Messages are parsed with libldns; only
 * DNS packets reach it. */
#include <ldns/ldns.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "panne/cursor.h"
#include "panne/dns.h"
#include "panne/findings.h"
#include "panne/hops.h"
#include "panne/opts.h"
#include "panne/services.h"
#include "panne/twins.h"
#include "panne/util.h"

#define NIL UINT32_MAX
#define ANS_MAX 8   /* addresses kept per answer */
#define QFR_MAX 4   /* query frames kept per transaction */

struct answer {
	u32 frame;
	u64 ts_us;
	u8 rcode;
	u8 naddr;
	u8 ip_ttl;         /* of the packet that carried it */
	u32 ttl;           /* of its first address record */
	struct addr addr[ANS_MAX];
};

/* Why a query is taken as given up: the client asked again for the name. */
enum { SUP_NONE = 0, SUP_AGAIN, SUP_RESOLVER, SUP_FAMILY };

/* What an answer that points nowhere is (bogus_class): the first three
 * can never reach a server, the last two may be a site's own (split
 * horizon) and wait for a handshake's word. */
enum { BOG_NONE = 0, BOG_UNSPEC, BOG_LOOPBACK, BOG_LINKLOCAL, BOG_SINKHOLE, BOG_PRIVATE };

struct txn {
	u8 used, proto, answered, icmp, reported_inj;
	u8 bogus;          /* BOG_* of the first answer */
	u8 held;           /* ... awaits a handshake's word: counted by the hold */
	u8 sup_why;        /* SUP_*: the client asked for the name again later */
	u8 ac_checked, ac_found; /* answers checked (attack checks), counted at the end */
	struct addr cli, srv;
	u16 cport, sport, id, qtype;
	u16 file;
	u8 nqf, retries;
	u32 qframes[QFR_MAX];
	u32 sup_frame;     /* the later query, when sup_why */
	u64 q_us;          /* first query */
	u64 last_q_us;     /* last retransmission: the timeout runs from it */
	u64 prev_q_us;     /* the transmission before it */
	u64 sup_us;
	struct answer first;
	char qname[NAME_MAX_LEN + 1];
	u32 prev, next;    /* age list: head = newest */
	struct pkt_tunnel tun; /* what carried the query's flow (detail.tunnel) */
};

struct dns_tcp {
	u8 *buf[2];
	u32 len[2];
	u32 next_seq[2];
	u8 seq_ok[2], broken[2];
};

/* Answers nobody here asked for, per receiver: a reflection attack's victim
 * gets many, large or fragmented, from many resolvers. */
#define VICTIM_CAP 64
#define REFLECTION_MIN 50
struct victim {
	struct addr a;
	u32 count, big, sources;
	u64 bytes, first_us;
	u32 frames[FIND_EV_MAX];
	u8 nframes;
	u16 file;
	u64 srcmap[4];
	char qname[NAME_MAX_LEN + 1];
};
static struct victim *victims;

/* What each resolver's own answers show: its round trip (to queries sent
 * once), its distance, where it sits, and whether its private answers
 * proved genuine. Direct-mapped: a newcomer takes a colliding slot. */
struct resolver {
	struct addr a;
	u32 timed;          /* answers timed */
	u32 rtt_max_us;     /* the slowest of them */
	u8 hops_min, hops_max; /* hops_of() of its ordinary answers; min > max: none yet */
	u32 near, far;      /* answers sent from the LAN (hops_place), or from beyond it */
	u32 vouched;        /* its private answers a handshake proved */
	u64 last_ans_us;    /* its latest response, to anyone */
	u64 silent_us;      /* a query sent then timed out with no response since: 0 none */
	u32 silent_frame;   /* ... that query */
};
static struct resolver *resolvers;

/* Each DNS client's latest query: a client that went on asking after its
 * retransmissions stopped has given up on the query. */
struct dclient {
	struct addr a;
	u64 last_q_us;
	u32 last_frame;
};
static struct dclient *dclients;

/* The latest transaction per (client, name, qtype), index + 1: a later
 * query for the same name supersedes an unanswered one. */
static u32 *lastq;

/* Answers that point at a private address or a sinkhole, over and waiting
 * for a handshake's word: a ring, the oldest decided first when full. */
static struct txn *hold;
static u32 hold_start, hold_n;

static struct txn *tx;
static u32 *slots;      /* txn index + 1 */
static u32 nslots, cap, n, free_head, head, tail;
static u32 fresh; /* records from here on were never used (nor touched) */
static u64 seed;
static struct dns_stats stats;

void dns_init(void)
{
	dns_reset();
	cap = g_opts.dns_txn_cap ? g_opts.dns_txn_cap : DNS_TXN_CAP_DEFAULT;
	nslots = 64;
	while (nslots < cap * 2)
		nslots <<= 1;
	tx = xcalloc(cap, sizeof *tx);
	slots = xcalloc(nslots, sizeof *slots);
	free_head = NIL;
	fresh = 0;
	head = tail = NIL;
	if (getrandom(&seed, sizeof seed, 0) != sizeof seed)
		seed = 0x6a09e667f3bcc909ull;
	victims = xcalloc(VICTIM_CAP, sizeof *victims);
	resolvers = xcalloc(DNS_RESOLVER_CAP, sizeof *resolvers);
	dclients = xcalloc(DNS_CLIENT_CAP, sizeof *dclients);
	lastq = xcalloc(nslots, sizeof *lastq);
	hold = xcalloc(DNS_HOLD_CAP, sizeof *hold);
	hold_start = hold_n = 0;
}

void dns_reset(void)
{
	free(victims);
	victims = NULL;
	free(resolvers);
	free(dclients);
	free(lastq);
	free(hold);
	resolvers = NULL;
	dclients = NULL;
	lastq = NULL;
	hold = NULL;
	hold_start = hold_n = 0;
	free(tx);
	free(slots);
	tx = NULL;
	slots = NULL;
	n = 0;
	memset(&stats, 0, sizeof stats);
}

const struct dns_stats *dns_stats(void) { return &stats; }

static u64 key_hash(const struct addr *c, u16 cp, const struct addr *s, u16 sp, u16 id, u8 proto)
{
	u64 h = seed ^ ((u64)cp << 32 | (u64)sp << 16 | id) ^ ((u64)proto << 56);
	const u8 *b[2] = { c->b, s->b };
	for (int k = 0; k < 2; k++)
		for (int i = 0; i < 16; i += 8) {
			u64 w;
			memcpy(&w, b[k] + i, 8);
			h = (h ^ w) * 0x9e3779b97f4a7c15ull;
			h ^= h >> 31;
		}
	return h ^ (h >> 29);
}

static u64 txn_hash(const struct txn *t)
{
	return key_hash(&t->cli, t->cport, &t->srv, t->sport, t->id, t->proto);
}

static u32 find(const struct flow *f, u16 id)
{
	if (!tx)
		return NIL;
	u32 mask = nslots - 1;
	for (u32 s = (u32)key_hash(&f->cli, f->cport, &f->srv, f->sport, id, f->proto) & mask; slots[s];
	     s = (s + 1) & mask) {
		struct txn *t = &tx[slots[s] - 1];
		if (t->id == id && t->cport == f->cport && t->sport == f->sport && t->proto == f->proto &&
		    addr_eq(&t->cli, &f->cli) && addr_eq(&t->srv, &f->srv))
			return slots[s] - 1;
	}
	return NIL;
}

static void list_unlink(u32 i)
{
	struct txn *t = &tx[i];
	if (t->prev != NIL)
		tx[t->prev].next = t->next;
	else
		head = t->next;
	if (t->next != NIL)
		tx[t->next].prev = t->prev;
	else
		tail = t->prev;
}

/* What identifies a query on both sides of a NAT: its id and question. */
static u32 twin_key(u16 id, const char *qname)
{
	u32 h = 2166136261u ^ id;
	for (const char *p = qname; *p; p++)
		h = (h ^ (u8)(*p | 0x20)) * 16777619u;
	return h;
}

static void list_push_head(u32 i)
{
	struct txn *t = &tx[i];
	t->prev = NIL;
	t->next = head;
	if (head != NIL)
		tx[head].prev = i;
	head = i;
	if (tail == NIL)
		tail = i;
}

/* Removes transaction i from the index (backward shift) and the age list. */
static void txn_free(u32 i)
{
	u32 mask = nslots - 1, s = (u32)txn_hash(&tx[i]) & mask, j;
	while (slots[s] != i + 1)
		s = (s + 1) & mask;
	slots[s] = 0;
	for (j = (s + 1) & mask; slots[j]; j = (j + 1) & mask) {
		u32 home = (u32)txn_hash(&tx[slots[j] - 1]) & mask;
		if ((j > s && (home <= s || home > j)) || (j < s && (home <= s && home > j))) {
			slots[s] = slots[j];
			slots[j] = 0;
			s = j;
		}
	}
	list_unlink(i);
	memset(&tx[i], 0, sizeof tx[i]);
	tx[i].next = free_head;
	free_head = i;
	n--;
}

static const char *qtype_str(u16 t, char *buf, size_t n_)
{
	char *s = ldns_rr_type2str((ldns_rr_type)t);
	snprintf(buf, n_, "%s", s ? s : "?");
	free(s);
	return buf;
}

static const char *rcode_name(u8 rc)
{
	static const char *names_[] = { "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP",
		"REFUSED", "YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE" };
	return rc < sizeof names_ / sizeof *names_ ? names_[rc] : "RCODE";
}

static json_t *addrs_json(const struct answer *a)
{
	char s[ADDR_STRLEN];
	json_t *arr = json_array();
	for (u8 i = 0; i < a->naddr; i++)
		json_array_append_new(arr, json_string(addr_fmt(&a->addr[i], s)));
	return arr;
}

static u32 addr_h(const struct addr *a)
{
	u32 h = 2166136261u ^ a->fam;
	for (int k = 0; k < 16; k++)
		h = (h ^ a->b[k]) * 16777619u;
	return h;
}

/* The record of resolver a; with create, a colliding one gives way. */
static struct resolver *res_get(const struct addr *a, int create)
{
	if (!resolvers || !a->fam)
		return NULL;
	struct resolver *r = &resolvers[addr_h(a) % DNS_RESOLVER_CAP];
	if (!addr_eq(&r->a, a)) {
		if (!create)
			return NULL;
		memset(r, 0, sizeof *r);
		r->a = *a;
		r->hops_min = 255;
	}
	return r;
}

static struct dclient *client_get(const struct addr *a, int create)
{
	if (!dclients || !a->fam)
		return NULL;
	struct dclient *c = &dclients[addr_h(a) % DNS_CLIENT_CAP];
	if (!addr_eq(&c->a, a)) {
		if (!create)
			return NULL;
		memset(c, 0, sizeof *c);
		c->a = *a;
	}
	return c;
}

/* 1 if a and b share a /24 (IPv4) or a /64 (IPv6): the same subnet as far
 * as one can tell without its mask. */
static int same_subnet(const struct addr *a, const struct addr *b)
{
	return a->fam && a->fam == b->fam && memcmp(a->b, b->b, a->fam == 4 ? 3 : 8) == 0;
}

/* 1 if t's resolver is on the clients' LAN: in the client's own subnet,
 * or its ordinary answers (else this answer a) sent from no farther than
 * the clients are from the capture point. */
static int resolver_local(const struct txn *t, const struct answer *a)
{
	const char *why;
	if (same_subnet(&t->cli, &t->srv))
		return 1;
	const struct resolver *r = res_get(&t->srv, 0);
	if (r && r->near + r->far)
		return r->near > r->far;
	return a && a->frame && hops_place(t->srv.fam, a->ip_ttl, -1, &why) == O_LOCAL;
}

/* What address a, answered by resolver res for a public name, points at. */
static int bogus_class(const struct addr *a, const struct addr *res)
{
	static const u8 zero[16];
	const u8 *b = a->b;
	if (a->fam == 4) {
		if (b[0] == 0)
			return BOG_UNSPEC;
		if (b[0] == 127)
			return BOG_LOOPBACK;
		if (b[0] == 169 && b[1] == 254)
			return BOG_LINKLOCAL;
		/* OpenDNS block pages: a well-known sinkhole */
		if (b[0] == 146 && b[1] == 112 && b[2] == 61 && b[3] >= 104 && b[3] <= 110)
			return BOG_SINKHOLE;
	} else if (a->fam == 6) {
		if (!memcmp(b, zero, 16))
			return BOG_UNSPEC;
		if (!memcmp(b, zero, 15) && b[15] == 1)
			return BOG_LOOPBACK;
		if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80)
			return BOG_LINKLOCAL;
	}
	if (!addr_bogus(a))
		return BOG_NONE;
	/* A filter on the LAN pointing names at itself (its block page). */
	return addr_eq(a, res) ? BOG_SINKHOLE : BOG_PRIVATE;
}

/* The class of a whole answer: what can never be reached first, then a
 * sinkhole, then a private address. */
static int answer_class(const struct answer *a, const struct addr *res)
{
	int best = BOG_NONE;
	for (u8 i = 0; i < a->naddr; i++) {
		int c = bogus_class(&a->addr[i], res);
		if (c && (!best || c < best))
			best = c;
	}
	return best;
}

static const char *bogus_reason(int cls)
{
	switch (cls) {
	case BOG_UNSPEC: return "unspecified";
	case BOG_LOOPBACK: return "loopback";
	case BOG_LINKLOCAL: return "link_local";
	case BOG_SINKHOLE: return "sinkhole";
	default: return "private";
	}
}

static void finding_from_txn(struct finding *fd, int kind, const struct txn *t, u64 ts, u32 frame)
{
	char qt[32];
	finding_init(fd, kind, NULL, ts, t->file, frame);
	fd->cli = t->cli;
	fd->srv = t->srv;
	fd->cport = t->cport;
	fd->sport = t->sport;
	fd->proto = t->proto;
	for (u8 i = 0; i < t->nqf; i++)
		finding_add_ev(fd, t->qframes[i]);
	finding_set_name(fd, t->qname[0] ? t->qname : NULL);
	fd->origin = O_RESOLVER;
	json_object_set_new(fd->detail, "qtype", json_string(qtype_str(t->qtype, qt, sizeof qt)));
	/* Diagnose tells a LAN filter from a resolver beyond by this. */
	json_object_set_new(fd->detail, "resolver_local",
	                    json_boolean(resolver_local(t, t->answered ? &t->first : NULL)));
	if (t->tun.depth)
		json_object_set_new(fd->detail, "tunnel", findings_tunnel_json(&t->tun));
}

/* Who sent an answer that points nowhere: the LAN's own resolver (a local
 * filter), something on the path (its distance is not the resolver's
 * own, as its other answers show), or the resolver. */
static int bogus_origin(const struct txn *t, const char **why)
{
	const struct resolver *r = res_get(&t->srv, 0);
	int h = hops_of(t->first.ip_ttl);
	if (r && r->hops_min <= r->hops_max && (h < r->hops_min || h > r->hops_max)) {
		*why = "sent from another distance than the resolver's other answers";
		return O_ONPATH;
	}
	if (resolver_local(t, &t->first)) {
		*why = "the resolver is on the local network";
		return O_LOCAL;
	}
	*why = "the resolver beyond the local network gave it";
	return O_RESOLVER;
}

/* The dns_bogus_answer finding of t's first answer, for reason; bad_frame
 * is a handshake that refused the address (0: none). */
static void emit_bogus(const struct txn *t, const char *reason, u32 bad_frame)
{
	struct finding fd;
	const char *why;
	finding_from_txn(&fd, K_DNS_BOGUS_ANSWER, t, t->first.ts_us, t->first.frame);
	finding_add_ev(&fd, bad_frame);
	fd.origin = (u8)bogus_origin(t, &why);
	json_object_set_new(fd.detail, "answers", addrs_json(&t->first));
	json_object_set_new(fd.detail, "ttl", json_integer(t->first.ttl));
	json_object_set_new(fd.detail, "reason", json_string(reason));
	json_object_set_new(fd.detail, "ip_ttl", json_integer(t->first.ip_ttl));
	json_object_set_new(fd.detail, "origin_why", json_string(why));
	if (bad_frame)
		json_object_set_new(fd.detail, "handshake_frame", json_integer(bad_frame));
	findings_emit(&fd);
}

/* Counts t's answers as attack checks (after its exchange, so that groups
 * keep the order their exchanges gave them), plus one more when its first
 * answer was decided by the hold (found: a finding). */
static void count_checks(const struct txn *t, int held, int found)
{
	for (u8 k = 0; k < t->ac_checked; k++)
		findings_attack_check(AC_DNS_ANSWERS, t->qname, NULL, k < t->ac_found);
	if (held)
		findings_attack_check(AC_DNS_ANSWERS, t->qname, NULL, found);
}

/* Decides a held answer: an address of it completed a handshake for the
 * name (vouched): genuine, nothing to say. A handshake that refused it, a
 * sinkhole, or an answer sent from another distance than the resolver's
 * own: the finding. No handshake either way: a finding only when the
 * resolver is beyond the LAN, has a public address, and none of its
 * private answers proved genuine (no sign of a site's own DNS): a private
 * answer of a LAN resolver, or of one on a private address (which only
 * the site's own network reaches), is the site's own (split horizon, a
 * LAN cache). Counts the exchange. */
static void hold_decide(struct txn *t)
{
	u32 nid = names_intern(t->qname), ok = 0, bad = 0, fr;
	for (u8 i = 0; i < t->first.naddr; i++) {
		int v = services_vouched(&t->first.addr[i], nid, &fr);
		if (v > 0 && !ok)
			ok = fr;
		else if (v < 0 && !bad)
			bad = fr;
	}
	struct resolver *r = res_get(&t->srv, 0);
	const char *why;
	int failed = 0, origin = bogus_origin(t, &why);
	if (ok) {
		if (r)
			r->vouched++;
	} else if (t->bogus == BOG_SINKHOLE || bad || origin == O_ONPATH ||
	           (origin == O_RESOLVER && !(r && r->vouched) && !addr_bogus(&t->srv))) {
		emit_bogus(t, t->bogus == BOG_SINKHOLE ? "sinkhole"
		              : bad                    ? "private_failed"
		                                       : "private_unconfirmed",
		           bad);
		failed = 1;
	}
	findings_exchange(CAT_DNS, t->qname, &t->srv, &t->cli, t->q_us, failed);
	count_checks(t, 1, failed);
}

/* Holds ended transaction t until a handshake speaks for its answer (the
 * ring's oldest is decided when it is full). */
static void hold_push(const struct txn *t)
{
	if (!hold)
		return;
	if (hold_n == DNS_HOLD_CAP) {
		hold_decide(&hold[hold_start]);
		hold_start = (hold_start + 1) % DNS_HOLD_CAP;
		hold_n--;
	}
	hold[(hold_start + hold_n++) % DNS_HOLD_CAP] = *t;
}

/* Decides every held answer: those a handshake proved first, so that a
 * resolver's proven answers speak for its others. */
static void hold_flush(void)
{
	for (u32 k = 0; k < hold_n; k++) {
		struct txn *t = &hold[(hold_start + k) % DNS_HOLD_CAP];
		u32 nid = names_intern(t->qname);
		for (u8 i = 0; i < t->first.naddr; i++)
			if (services_vouched(&t->first.addr[i], nid, NULL) > 0) {
				hold_decide(t);
				t->used = 0;
				break;
			}
	}
	for (u32 k = 0; k < hold_n; k++) {
		struct txn *t = &hold[(hold_start + k) % DNS_HOLD_CAP];
		if (t->used)
			hold_decide(t);
	}
	hold_start = hold_n = 0;
}

/* Rules for a query with no answer, in order (the first that holds says
 * it, in detail.rule): it waited --dns-timeout ("timeout"); the client
 * asked again for the name under a new id, of another resolver or in the
 * other address family, or its retransmissions stopped while it went on
 * asking ("gave_up"); it waited many times the resolver's slowest measured
 * answer ("rtt"); it waited DNS_RTT_FLOOR_US after a query to the same
 * resolver had timed out, with no response from it since ("silent").
 * Returns the rule, or NULL when none holds yet; *when and *ev get the
 * time it was decided and the frame that shows it. */
static const char *unanswered(const struct txn *t, u64 now_us, u64 *when, u32 *ev, const char **how)
{
	*ev = 0;
	*how = NULL;
	if (now_us >= t->last_q_us + g_opts.dns_timeout_us) {
		*when = t->last_q_us + g_opts.dns_timeout_us;
		return "timeout";
	}
	if (t->sup_why) {
		*when = t->sup_us;
		*ev = t->sup_frame;
		*how = t->sup_why == SUP_FAMILY ? "other_family" : t->sup_why == SUP_RESOLVER ? "other_resolver" : "asked_again";
		return "gave_up";
	}
	const struct dclient *c = t->retries ? client_get(&t->cli, 0) : NULL;
	if (c) {
		u64 gap = MAX(2 * (t->last_q_us - t->prev_q_us), (u64)DNS_RETRY_GAP_US);
		if (c->last_q_us >= t->last_q_us + gap) {
			*when = c->last_q_us;
			*ev = c->last_frame;
			*how = "retransmissions_stopped";
			return "gave_up";
		}
	}
	const struct resolver *r = res_get(&t->srv, 0);
	if (r && r->timed >= DNS_RTT_SAMPLES) {
		u64 wait = MAX((u64)r->rtt_max_us * DNS_RTT_FACTOR, (u64)DNS_RTT_FLOOR_US);
		if (now_us >= t->last_q_us + wait) {
			*when = t->last_q_us + wait;
			*how = NULL;
			return "rtt";
		}
	}
	if (r && r->silent_us && r->silent_us <= t->q_us && r->last_ans_us < r->silent_us &&
	    now_us >= t->last_q_us + DNS_RTT_FLOOR_US) {
		*when = t->last_q_us + DNS_RTT_FLOOR_US;
		*ev = r->silent_frame;
		return "silent";
	}
	return NULL;
}

/* Ends transaction i at time now: an unanswered query is a dns_timeout when
 * a rule of unanswered() holds (else the capture ended before the answer
 * could come: no verdict); an answer held for a handshake's word goes to
 * the hold; then the exchange count. */
static void txn_end(u32 i, u64 now_us)
{
	struct txn *t = &tx[i];
	int failed = 0;
	if (!t->answered && !t->icmp) {
		u64 when;
		u32 ev;
		const char *how, *rule = unanswered(t, now_us, &when, &ev, &how);
		if (!rule) {
			txn_free(i);
			return;
		}
		struct finding fd;
		finding_from_txn(&fd, K_DNS_TIMEOUT, t, when, t->qframes[0]);
		finding_add_ev(&fd, ev);
		json_object_set_new(fd.detail, "retries", json_integer(t->retries));
		json_object_set_new(fd.detail, "rule", json_string(rule));
		if (how)
			json_object_set_new(fd.detail, "gave_up", json_string(how));
		if (ev)
			json_object_set_new(fd.detail, strcmp(rule, "silent") == 0 ? "timed_out_frame" : "next_query_frame",
			                    json_integer(ev));
		json_object_set_new(fd.detail, "waited_ms", json_integer((json_int_t)((when - t->last_q_us) / 1000)));
		const struct resolver *r = res_get(&t->srv, 0);
		if (r && r->timed >= DNS_RTT_SAMPLES)
			json_object_set_new(fd.detail, "resolver_rtt_max_ms", json_real(r->rtt_max_us / 1000.0));
		int fate = twins_fate(t->proto, &t->srv, t->sport, twin_key(t->id, t->qname), TWIN_INSIDE);
		if (twins_word(fate)) {
			json_object_set_new(fd.detail, "gateway", json_string(twins_word(fate)));
			fd.origin = fate == TWIN_DROPPED ? O_LOCAL : O_UNKNOWN;
		}
		findings_emit(&fd);
		failed = 1;
		struct resolver *rs = strcmp(rule, "timeout") == 0 ? res_get(&t->srv, 1) : NULL;
		if (rs && rs->last_ans_us < t->q_us && (!rs->silent_us || rs->silent_us <= rs->last_ans_us)) {
			rs->silent_us = t->q_us; /* nothing from it since this query: it is silent */
			rs->silent_frame = t->qframes[0];
		}
	} else if (t->answered) {
		if (t->held && !t->reported_inj) {
			hold_push(t);
			txn_free(i);
			return;
		}
		failed = t->first.rcode != 0 || t->reported_inj;
	} else {
		failed = 1; /* ICMP error */
	}
	findings_exchange(CAT_DNS, t->qname, &t->srv, &t->cli, t->q_us, failed);
	count_checks(t, 0, 0);
	txn_free(i);
}

static u32 txn_new(const struct flow *f, u16 id, const struct packet *pk)
{
	if (n == cap) {
		stats.evicted++;
		txn_end(tail, pk->ts_us);
	}
	u32 i, mask = nslots - 1;
	if (free_head != NIL) {
		i = free_head;
		free_head = tx[i].next;
	} else {
		i = fresh++;
	}
	struct txn *t = &tx[i];
	memset(t, 0, sizeof *t);
	t->used = 1;
	t->cli = f->cli;
	t->tun = f->tun;
	t->srv = f->srv;
	t->cport = f->cport;
	t->sport = f->sport;
	t->proto = f->proto;
	t->id = id;
	t->file = pk->file;
	t->q_us = t->last_q_us = t->prev_q_us = pk->ts_us;
	u32 s = (u32)txn_hash(t) & mask;
	while (slots[s])
		s = (s + 1) & mask;
	slots[s] = i + 1;
	list_push_head(i);
	n++;
	return i;
}

/* What one message says, from ldns or, failing that, from its header. */
struct msg {
	u16 id, qtype;
	u8 qr, rcode, parsed, opcode;
	char qname[NAME_MAX_LEN + 1];
	struct answer ans;
	ldns_pkt *pkt;
};

/* Reads the header and first question by hand: for messages ldns rejects
 * (cut by the snaplen or a first IP fragment). Returns -1 if not even a header. */
static int header_only(const u8 *p, size_t len, struct msg *m)
{
	struct cur c;
	u16 flags, qd, skip;
	cur_init(&c, p, len);
	if (cur_be16(&c, &m->id) < 0 || cur_be16(&c, &flags) < 0 || cur_be16(&c, &qd) < 0 ||
	    cur_skip(&c, 6) < 0)
		return -1;
	m->qr = flags >> 15;
	m->opcode = (flags >> 11) & 15;
	m->rcode = flags & 15;
	if (!qd)
		return 0;
	/* First question name, uncompressed labels only (a question never needs pointers). */
	size_t o = 0;
	for (int hops = 0; hops < 128; hops++) {
		u8 l;
		const u8 *lab;
		if (cur_u8(&c, &l) < 0 || (l & 0xc0))
			return 0;
		if (!l)
			break;
		if (cur_ptr(&c, l, &lab) < 0)
			return 0;
		if (o + l + 2 >= sizeof m->qname)
			return 0;
		if (o)
			m->qname[o++] = '.';
		for (u8 i = 0; i < l; i++)
			m->qname[o++] = (lab[i] >= 0x21 && lab[i] < 0x7f) ? (char)lab[i] : '?';
		m->qname[o] = 0;
	}
	if (cur_be16(&c, &m->qtype) < 0)
		m->qtype = 0;
	(void)skip;
	return 0;
}

static void rdf_addr(const ldns_rdf *rd, struct addr *a)
{
	memset(a, 0, sizeof *a);
	if (ldns_rdf_get_type(rd) == LDNS_RDF_TYPE_A && ldns_rdf_size(rd) == 4) {
		a->fam = 4;
		memcpy(a->b, ldns_rdf_data(rd), 4);
	} else if (ldns_rdf_get_type(rd) == LDNS_RDF_TYPE_AAAA && ldns_rdf_size(rd) == 16) {
		a->fam = 6;
		memcpy(a->b, ldns_rdf_data(rd), 16);
	}
}

/* A name in presentation form without the final dot, escaped as ldns does
 * (\. \; \( \) \\ and \DDD), then for display. Written here rather
 * than with ldns_rdf2str(), which goes through printf for every byte. */
static void dname_str(const ldns_rdf *d, char *out, size_t outsz)
{
	char s[4 * (NAME_MAX_LEN + 1) + 1];
	size_t l = 0;
	const u8 *w = ldns_rdf_data(d);
	size_t dl = ldns_rdf_size(d), i = 0;
	out[0] = 0;
	if (!w || ldns_rdf_get_type(d) != LDNS_RDF_TYPE_DNAME)
		return;
	while (i < dl && w[i] && l < sizeof s - 5) {
		u8 ll = w[i++];
		if (ll > 63 || ll > dl - i)
			break; /* ldns hands over uncompressed names; anything else ends here */
		if (l)
			s[l++] = '.';
		for (u8 j = 0; j < ll && l < sizeof s - 5; j++) {
			u8 c = w[i + j];
			if (c == '.' || c == ';' || c == '(' || c == ')' || c == '\\') {
				s[l++] = '\\';
				s[l++] = (char)c;
			} else if (c < 0x21 || c > 0x7e) {
				s[l++] = '\\';
				s[l++] = (char)('0' + c / 100);
				s[l++] = (char)('0' + c / 10 % 10);
				s[l++] = (char)('0' + c % 10);
			} else {
				s[l++] = (char)c;
			}
		}
		i += ll;
	}
	str_escape((const u8 *)s, l, out, outsz);
}

static int parse_msg(const u8 *p, size_t len, struct msg *m)
{
	memset(m, 0, sizeof *m);
	if (ldns_wire2pkt(&m->pkt, p, len) != LDNS_STATUS_OK) {
		m->pkt = NULL;
		stats.parse_errors++;
		return header_only(p, len, m);
	}
	m->parsed = 1;
	m->id = ldns_pkt_id(m->pkt);
	m->qr = (u8)ldns_pkt_qr(m->pkt);
	m->opcode = (u8)ldns_pkt_get_opcode(m->pkt);
	m->rcode = (u8)ldns_pkt_get_rcode(m->pkt);
	ldns_rr_list *q = ldns_pkt_question(m->pkt);
	if (q && ldns_rr_list_rr_count(q)) {
		ldns_rr *rr = ldns_rr_list_rr(q, 0);
		dname_str(ldns_rr_owner(rr), m->qname, sizeof m->qname);
		m->qtype = (u16)ldns_rr_get_type(rr);
	}
	return 0;
}

/* Collects the answer addresses (CNAME chains followed) and teaches the map,
 * each address with t's client and the answer's time ts_us. */
static void collect_answers(struct msg *m, const struct txn *t, u64 ts_us, json_t **cnames)
{
	ldns_rr_list *an = ldns_pkt_answer(m->pkt);
	u32 nid = 0;
	size_t cnt = an ? ldns_rr_list_rr_count(an) : 0;
	for (size_t i = 0; i < cnt; i++) {
		ldns_rr *rr = ldns_rr_list_rr(an, i);
		ldns_rr_type ty = ldns_rr_get_type(rr);
		if ((ty == LDNS_RR_TYPE_A || ty == LDNS_RR_TYPE_AAAA) && ldns_rr_rd_count(rr) >= 1) {
			struct addr a;
			rdf_addr(ldns_rr_rdf(rr, 0), &a);
			if (!a.fam)
				continue;
			if (m->ans.naddr < ANS_MAX) {
				if (!m->ans.naddr)
					m->ans.ttl = ldns_rr_ttl(rr);
				m->ans.addr[m->ans.naddr++] = a;
			}
			/* Every address of the chain belongs to the name the client asked. */
			if (m->rcode == 0 && t && t->qname[0]) {
				if (!nid)
					nid = names_intern(t->qname);
				services_learn(&a, nid, &t->cli, ts_us);
			}
		} else if (ty == LDNS_RR_TYPE_CNAME && ldns_rr_rd_count(rr) >= 1 && cnames) {
			char c[NAME_MAX_LEN + 1];
			dname_str(ldns_rr_rdf(rr, 0), c, sizeof c);
			if (!*cnames)
				*cnames = json_array();
			if (json_array_size(*cnames) < 8)
				json_array_append_new(*cnames, json_string(c));
		}
	}
}

static int same_answer(const struct answer *a, const struct answer *b)
{
	if (a->rcode != b->rcode || a->naddr != b->naddr)
		return 0;
	for (u8 i = 0; i < a->naddr; i++) {
		u8 j;
		for (j = 0; j < b->naddr; j++)
			if (addr_eq(&a->addr[i], &b->addr[j]))
				break;
		if (j == b->naddr)
			return 0;
	}
	return 1;
}

static json_t *answer_json(const struct answer *a, u64 q_us)
{
	return json_pack("{s:i,s:I,s:s,s:o,s:I}", "frame", (json_int_t)a->frame, "ttl",
	                 (json_int_t)a->ttl, "rcode", rcode_name(a->rcode), "addresses", addrs_json(a),
	                 "delay_us", (json_int_t)(a->ts_us - q_us));
}

/* The client sent a query in pk: it is still asking. */
static void client_seen(const struct addr *cli, const struct packet *pk)
{
	struct dclient *c = client_get(cli, 1);
	if (c && pk->ts_us >= c->last_q_us) {
		c->last_q_us = pk->ts_us;
		c->last_frame = pk->frame;
	}
}

/* lastq slot of (t's client, t's name, qtype). */
static u32 lastq_slot(const struct txn *t, u16 qtype)
{
	u32 h = addr_h(&t->cli) ^ qtype;
	for (const char *p = t->qname; *p; p++)
		h = (h ^ (u8)(*p | 0x20)) * 16777619u;
	return (h ^ (h >> 15)) & (nslots - 1);
}

/* If lastq slot sl names an unanswered query of nw's client for nw's name
 * (of qtype want), sent long enough before nw not to be a parallel one,
 * nw supersedes it: the client gave up on it. */
static void supersede(u32 sl, const struct txn *nw, u16 want, int why)
{
	u32 j = lastq[sl];
	if (!j || j - 1 >= cap)
		return;
	struct txn *o = &tx[j - 1];
	if (o == nw || !o->used || o->answered || o->icmp || o->sup_why || o->qtype != want ||
	    !addr_eq(&o->cli, &nw->cli) || strcasecmp(o->qname, nw->qname) != 0 ||
	    nw->q_us < o->last_q_us + DNS_RETRY_GAP_US)
		return;
	o->sup_why = (u8)(why == SUP_AGAIN && !addr_eq(&o->srv, &nw->srv) ? SUP_RESOLVER : why);
	o->sup_frame = nw->qframes[0];
	o->sup_us = nw->q_us;
}

/* A new query i: does it supersede the client's earlier one for the name,
 * of the same type (asked again) or of the other address family (moved)? */
static void note_retry(u32 i)
{
	const struct txn *t = &tx[i];
	u32 sl = lastq_slot(t, t->qtype);
	supersede(sl, t, t->qtype, SUP_AGAIN);
	if (t->qtype == 1 || t->qtype == 28) {
		u16 other = t->qtype == 1 ? 28 : 1;
		supersede(lastq_slot(t, other), t, other, SUP_FAMILY);
	}
	lastq[sl] = i + 1;
}

static void on_query(struct flow *f, const struct packet *pk, struct msg *m)
{
	stats.queries++;
	twins_note(f->proto, &pk->dst, pk->dport, twin_key(m->id, m->qname), pk->side);
	u32 i = find(f, m->id);
	if (i != NIL && !tx[i].answered && strcasecmp(tx[i].qname, m->qname) == 0) {
		struct txn *t = &tx[i];
		if (t->retries < 255)
			t->retries++;
		if (t->nqf < QFR_MAX)
			t->qframes[t->nqf++] = pk->frame;
		t->prev_q_us = t->last_q_us;
		t->last_q_us = pk->ts_us;
		list_unlink(i); /* back to the newest end: expiry walks from the oldest */
		list_push_head(i);
		client_seen(&f->cli, pk);
		return;
	}
	if (i != NIL)
		txn_end(i, pk->ts_us); /* the id was reused: the old exchange is over */
	i = txn_new(f, m->id, pk);
	struct txn *t = &tx[i];
	t->qtype = m->qtype;
	snprintf(t->qname, sizeof t->qname, "%s", m->qname);
	t->qframes[t->nqf++] = pk->frame;
	client_seen(&f->cli, pk);
	if (t->qname[0])
		note_retry(i);
}

static void note_unmatched(const struct flow *f, const struct packet *pk, const struct msg *m)
{
	if (!victims)
		return;
	u32 h = 2166136261u;
	for (int k = 0; k < 16; k++)
		h = (h ^ f->cli.b[k]) * 16777619u;
	struct victim *v = &victims[h % VICTIM_CAP];
	if (!addr_eq(&v->a, &f->cli)) {
		if (v->count >= REFLECTION_MIN)
			return; /* a slot already holding a victim keeps it */
		memset(v, 0, sizeof *v);
		v->a = f->cli;
		v->first_us = pk->ts_us;
		v->file = pk->file;
	}
	v->count++;
	v->bytes += pk->pl_wire;
	v->big += pk->pl_wire > 512 || pk->frag == FRAG_FIRST;
	u32 s = 2166136261u;
	for (int k = 0; k < 16; k++)
		s = (s ^ f->srv.b[k]) * 16777619u;
	if (!(v->srcmap[(s >> 6) & 3] & (1ull << (s & 63)))) {
		v->srcmap[(s >> 6) & 3] |= 1ull << (s & 63);
		v->sources++;
	}
	if (v->nframes < FIND_EV_MAX)
		v->frames[v->nframes++] = pk->frame;
	if (!v->qname[0] && m->qname[0])
		snprintf(v->qname, sizeof v->qname, "%s", m->qname);
}

static void reflection_findings(void)
{
	char a[ADDR_STRLEN];
	for (u32 i = 0; victims && i < VICTIM_CAP; i++) {
		struct victim *v = &victims[i];
		if (v->count >= REFLECTION_MIN && v->big * 2 >= v->count) {
			struct finding fd;
			finding_init(&fd, K_DNS_REFLECTION, NULL, v->first_us, v->file, v->frames[0]);
			for (u8 k = 1; k < v->nframes; k++)
				finding_add_ev(&fd, v->frames[k]);
			fd.cli = v->a;
			fd.proto = IPPROTO_UDP_;
			fd.origin = O_ONPATH;
			/* The attack is on the target, not on the name it asks for (which
			 * the attacker chose): no service is named, none fails by it. */
			if (v->qname[0])
				json_object_set_new(fd.detail, "qname", json_string(v->qname));
			json_object_set_new(fd.detail, "count", json_integer(v->count));
			json_object_set_new(fd.detail, "large_or_fragmented", json_integer(v->big));
			json_object_set_new(fd.detail, "bytes", json_integer((json_int_t)v->bytes));
			json_object_set_new(fd.detail, "sources", json_integer(v->sources));
			json_object_set_new(fd.detail, "target", json_string(addr_fmt(&v->a, a)));
			findings_emit(&fd);
		}
		memset(v, 0, sizeof *v);
	}
}

/* What t's first answer a (of class cls) teaches about its resolver. */
static void resolver_learn(const struct txn *t, const struct answer *a, int cls)
{
	struct resolver *r = res_get(&t->srv, 1);
	const char *why;
	if (!r)
		return;
	if (!t->retries && a->ts_us >= t->q_us) {
		/* Only queries sent once: a retransmission's answer has no clear start. */
		r->timed++;
		r->rtt_max_us = (u32)MIN((u64)UINT32_MAX, MAX((u64)r->rtt_max_us, a->ts_us - t->q_us));
	}
	if (cls == BOG_NONE) {
		/* Where it sits and how far, from its ordinary answers only. */
		if (hops_place(t->srv.fam, a->ip_ttl, -1, &why) == O_LOCAL)
			r->near++;
		else
			r->far++;
		u8 h = (u8)MIN(hops_of(a->ip_ttl), 254);
		r->hops_min = MIN(r->hops_min, h);
		r->hops_max = MAX(r->hops_max, h);
	}
}

static void on_response(struct flow *f, const struct packet *pk, struct msg *m)
{
	json_t *cnames = NULL;
	stats.responses++;
	struct resolver *rs = res_get(&f->srv, 0);
	if (rs && pk->ts_us > rs->last_ans_us)
		rs->last_ans_us = pk->ts_us; /* it answers: not silent */
	u32 i = find(f, m->id);
	if (i == NIL || (m->qname[0] && tx[i].qname[0] && strcasecmp(tx[i].qname, m->qname) != 0)) {
		stats.unmatched++;
		note_unmatched(f, pk, m);
		return;
	}
	struct txn *t = &tx[i];
	struct answer a = { 0 };
	a.frame = pk->frame;
	a.ts_us = pk->ts_us;
	a.rcode = m->rcode;
	if (m->parsed)
		collect_answers(m, t->answered ? NULL : t, pk->ts_us, &cnames);
	a.naddr = m->ans.naddr;
	a.ttl = m->ans.ttl;
	a.ip_ttl = pk->ttl;
	memcpy(a.addr, m->ans.addr, sizeof a.addr);

	if (t->answered) {
		/* A second answer: the same is a retransmission, a different one a race. */
		if (same_answer(&t->first, &a) || t->reported_inj) {
			stats.duplicates++;
			t->ac_checked += t->ac_checked < 255;
			json_decref(cnames);
			return;
		}
		struct finding fd;
		finding_from_txn(&fd, K_DNS_INJECTION, t, pk->ts_us, t->first.frame);
		finding_add_ev(&fd, pk->frame);
		fd.origin = O_ONPATH;
		json_t *arr = json_array();
		json_array_append_new(arr, answer_json(&t->first, t->q_us));
		json_array_append_new(arr, answer_json(&a, t->q_us));
		json_object_set_new(fd.detail, "answers", arr);
		/* The race's winner is the forger: the resolver is the later one. */
		json_object_set_new(fd.detail, "resolver_local", json_boolean(resolver_local(t, &a)));
		findings_emit(&fd);
		t->ac_checked += t->ac_checked < 255;
		t->ac_found += t->ac_found < 255;
		t->reported_inj = 1;
		json_decref(cnames);
		return;
	}
	t->answered = 1;
	t->first = a;
	int cls = a.naddr && m->rcode == 0 && name_is_public(t->qname) ? answer_class(&a, &t->srv) : BOG_NONE;
	resolver_learn(t, &a, cls);
	if (m->rcode) {
		int k = m->rcode == 2 ? K_SERVFAIL : m->rcode == 3 ? K_NXDOMAIN
		        : m->rcode == 5 ? K_DNS_REFUSED : K_DNS_ERROR;
		struct finding fd;
		/* The response is the evidence; the queries follow it. */
		finding_from_txn(&fd, k, t, pk->ts_us, pk->frame);
		json_object_set_new(fd.detail, "rcode", json_integer(m->rcode));
		json_object_set_new(fd.detail, "rcode_name", json_string(rcode_name(m->rcode)));
		if (m->opcode)
			json_object_set_new(fd.detail, "opcode", json_integer(m->opcode));
		findings_emit(&fd);
	}
	t->bogus = (u8)cls;
	if (cls == BOG_SINKHOLE || cls == BOG_PRIVATE) {
		t->held = 1; /* decided once a handshake speaks, or at the end */
	} else {
		if (cls) {
			/* Points where no server can be: no handshake can vouch for it. */
			emit_bogus(t, bogus_reason(cls), 0);
			t->reported_inj = 1; /* counts the exchange as failed */
		}
		t->ac_checked++;
		t->ac_found += cls != BOG_NONE;
	}
	json_decref(cnames);
}

static void dns_message(struct flow *f, const struct packet *pk, const u8 *p, size_t len)
{
	struct msg m;
	if (parse_msg(p, len, &m) < 0) {
		stats.parse_errors++;
		return;
	}
	if (m.qr)
		on_response(f, pk, &m);
	else
		on_query(f, pk, &m);
	if (m.pkt)
		ldns_pkt_free(m.pkt);
}

/* DNS over TCP (RFC 7766): messages prefixed by a 2-byte length, possibly
 * split across segments or several in one. */
static void tcp_stream(struct flow *f, int dir, const struct packet *pk)
{
	struct dns_tcp *st = f->app_state;
	if (!st)
		st = f->app_state = xcalloc(1, sizeof *st);
	if (st->broken[dir])
		return;
	if (st->seq_ok[dir] && pk->seq != st->next_seq[dir]) {
		if ((i32)(pk->seq - st->next_seq[dir]) < 0)
			return; /* retransmission of what we have */
		st->broken[dir] = 1; /* a gap: stop rather than misparse */
		return;
	}
	st->seq_ok[dir] = 1;
	st->next_seq[dir] = pk->seq + pk->pl_len;
	if (pk->pl_len < pk->pl_wire) {
		st->broken[dir] = 1; /* cut by the snaplen */
		return;
	}
	if (st->len[dir] + pk->pl_len > DNS_TCP_BUF_MAX) {
		st->broken[dir] = 1;
		return;
	}
	if (!st->buf[dir])
		st->buf[dir] = xmalloc(DNS_TCP_BUF_MAX);
	memcpy(st->buf[dir] + st->len[dir], pk->pl, pk->pl_len);
	st->len[dir] += pk->pl_len;
	u32 off = 0;
	while (st->len[dir] - off >= 2) {
		u32 ml = (u32)(st->buf[dir][off] << 8 | st->buf[dir][off + 1]);
		if (st->len[dir] - off - 2 < ml)
			break;
		dns_message(f, pk, st->buf[dir] + off + 2, ml);
		off += 2 + ml;
	}
	memmove(st->buf[dir], st->buf[dir] + off, st->len[dir] - off);
	st->len[dir] -= off;
}

void dns_feed(struct flow *f, int dir, const struct packet *pk)
{
	if (!tx || !pk->pl_len)
		return;
	if (pk->proto == IPPROTO_TCP_)
		tcp_stream(f, dir, pk);
	else
		dns_message(f, pk, pk->pl, pk->pl_len);
}

void dns_flow_end(struct flow *f)
{
	struct dns_tcp *st = f->app_state;
	if (!st)
		return;
	free(st->buf[0]);
	free(st->buf[1]);
	free(st);
	f->app_state = NULL;
}

void dns_twin_note(const struct packet *pk)
{
	struct msg m;
	memset(&m, 0, sizeof m);
	if (header_only(pk->pl, pk->pl_len, &m) == 0 && !m.qr)
		twins_note(pk->proto, &pk->dst, pk->dport, twin_key(m.id, m.qname), pk->side);
}

int dns_icmp(struct flow *f, const struct packet *pk)
{
	int hit = 0, scanned = 0;
	char rep[ADDR_STRLEN];
	int unreach = (pk->proto == IPPROTO_ICMP_ && pk->icmp_type == 3) ||
	              (pk->proto == IPPROTO_ICMPV6_ && pk->icmp_type == 1);
	if (!unreach)
		return 0;
	for (u32 i = head; i != NIL && scanned < 256; i = tx[i].next, scanned++) {
		struct txn *t = &tx[i];
		if (t->answered || t->icmp || t->cport != f->cport || t->sport != f->sport ||
		    !addr_eq(&t->cli, &f->cli) || !addr_eq(&t->srv, &f->srv))
			continue;
		/* The query's answer is this error: one finding per transaction. */
		struct finding fd;
		finding_from_txn(&fd, K_ICMP_UNREACHABLE, t, pk->ts_us, pk->frame);
		fd.cat = CAT_DNS;
		fd.origin = addr_eq(&pk->src, &t->srv) ? O_RESOLVER : O_LOCAL;
		json_object_set_new(fd.detail, "icmp_type", json_integer(pk->icmp_type));
		json_object_set_new(fd.detail, "icmp_code", json_integer(pk->icmp_code));
		json_object_set_new(fd.detail, "reporter", json_string(addr_fmt(&pk->src, rep)));
		json_object_set_new(fd.detail, "ttl", json_integer(pk->ttl));
		findings_emit(&fd);
		t->icmp = 1;
		hit = 1;
	}
	return hit;
}

void dns_expire(u64 now_us)
{
	if (!tx)
		return;
	/* Oldest first; answered ones linger one timeout to catch a second answer. */
	while (tail != NIL) {
		struct txn *t = &tx[tail];
		u64 since = t->answered ? t->first.ts_us : t->last_q_us;
		if (since + g_opts.dns_timeout_us > now_us)
			break;
		txn_end(tail, now_us);
	}
}

void dns_finish(u64 now_us)
{
	if (!tx)
		return;
	while (tail != NIL)
		txn_end(tail, now_us);
	hold_flush();
	reflection_findings();
	/* Clients' query times are the file's own (files need not follow each
	 * other in time); what resolvers showed still holds. */
	if (dclients)
		memset(dclients, 0, DNS_CLIENT_CAP * sizeof *dclients);
}
