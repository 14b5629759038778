/* \summary: DNS over UDP and TCP: query/answer matching in a capped
 * transaction table, rcode findings, timeouts, differing answers
 * (injection), bogus answers; teaches services the address -> name map.
 * Messages are parsed with libldns; only DNS packets reach it. */
#include <ldns/ldns.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "panne/cursor.h"
#include "panne/dns.h"
#include "panne/findings.h"
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
	u32 ttl;
	struct addr addr[ANS_MAX];
};

struct txn {
	u8 used, proto, answered, icmp, reported_inj;
	struct addr cli, srv;
	u16 cport, sport, id, qtype;
	u16 file;
	u8 nqf, retries;
	u32 qframes[QFR_MAX];
	u64 q_us;          /* first query */
	u64 last_q_us;     /* last retransmission: the timeout runs from it */
	struct answer first;
	char qname[NAME_MAX_LEN + 1];
	u32 prev, next;    /* age list: head = newest */
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
}

void dns_reset(void)
{
	free(victims);
	victims = NULL;
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
}

/* Ends transaction i at time now: timeout finding when unanswered and due,
 * then the exchange count. */
static void txn_end(u32 i, u64 now_us)
{
	struct txn *t = &tx[i];
	int failed = 0;
	if (!t->answered && !t->icmp) {
		if (now_us >= t->last_q_us + g_opts.dns_timeout_us) {
			struct finding fd;
			finding_from_txn(&fd, K_DNS_TIMEOUT, t, t->last_q_us + g_opts.dns_timeout_us, t->qframes[0]);
			json_object_set_new(fd.detail, "retries", json_integer(t->retries));
			int fate = twins_fate(t->proto, &t->srv, t->sport, twin_key(t->id, t->qname), TWIN_INSIDE);
			if (twins_word(fate)) {
				json_object_set_new(fd.detail, "gateway", json_string(twins_word(fate)));
				fd.origin = fate == TWIN_DROPPED ? O_LOCAL : O_UNKNOWN;
			}
			findings_emit(&fd);
			failed = 1;
		} else {
			txn_free(i); /* the capture ended before the answer could come: no verdict */
			return;
		}
	} else if (t->answered) {
		failed = t->first.rcode != 0 || t->reported_inj;
	} else {
		failed = 1; /* ICMP error */
	}
	findings_exchange(CAT_DNS, t->qname, &t->srv, &t->cli, t->q_us, failed);
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
	t->srv = f->srv;
	t->cport = f->cport;
	t->sport = f->sport;
	t->proto = f->proto;
	t->id = id;
	t->file = pk->file;
	t->q_us = t->last_q_us = pk->ts_us;
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

/* Collects the answer addresses (CNAME chains followed) and teaches the map. */
static void collect_answers(struct msg *m, const struct txn *t, json_t **cnames)
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
				services_learn(&a, nid);
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
		t->last_q_us = pk->ts_us;
		list_unlink(i); /* back to the newest end: expiry walks from the oldest */
		list_push_head(i);
		return;
	}
	if (i != NIL)
		txn_end(i, pk->ts_us); /* the id was reused: the old exchange is over */
	i = txn_new(f, m->id, pk);
	struct txn *t = &tx[i];
	t->qtype = m->qtype;
	snprintf(t->qname, sizeof t->qname, "%s", m->qname);
	t->qframes[t->nqf++] = pk->frame;
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
			finding_set_name(&fd, v->qname[0] ? v->qname : NULL);
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

static void on_response(struct flow *f, const struct packet *pk, struct msg *m)
{
	json_t *cnames = NULL;
	stats.responses++;
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
		collect_answers(m, t->answered ? NULL : t, &cnames);
	a.naddr = m->ans.naddr;
	a.ttl = m->ans.ttl;
	memcpy(a.addr, m->ans.addr, sizeof a.addr);

	if (t->answered) {
		/* A second answer: the same is a retransmission, a different one a race. */
		if (same_answer(&t->first, &a) || t->reported_inj) {
			stats.duplicates++;
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
		findings_emit(&fd);
		t->reported_inj = 1;
		json_decref(cnames);
		return;
	}
	t->answered = 1;
	t->first = a;
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
	} else if (a.naddr && name_is_public(t->qname)) {
		u8 bogus = 0;
		for (u8 j = 0; j < a.naddr; j++)
			bogus += (u8)addr_bogus(&a.addr[j]);
		if (bogus) {
			struct finding fd;
			finding_from_txn(&fd, K_DNS_BOGUS_ANSWER, t, pk->ts_us, pk->frame);
			json_object_set_new(fd.detail, "answers", addrs_json(&a));
			json_object_set_new(fd.detail, "ttl", json_integer(a.ttl));
			findings_emit(&fd);
			t->reported_inj = 1; /* counts the exchange as failed */
		}
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
	reflection_findings();
}
