/* \summary: the flow table: fixed records, open addressing with linear
 * probing and backward-shift deletion, an LRU list for eviction and idle
 * expiry, hashes seeded at random. */
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "panne/config.h"
#include "panne/flow.h"
#include "panne/util.h"

#define NIL UINT32_MAX
/* An open flow moves to the LRU head at most once per RELINK_US of capture
 * time: moving it on every packet costs cache misses on its neighbours,
 * and idle expiry needs no finer order. */
#define RELINK_US 1000000u
#define CLOSED_GRACE_US 5000000u /* keep reset/closed flows this long: late packets still tell */

struct flow_table {
	struct flow *recs;   /* cap records */
	u32 *slots;          /* record index + 1; 0 = empty */
	u32 nslots;          /* power of two >= 2 * n: the index grows with the
	                      * flows, so that it stays in cache while few */
	u32 max_slots;       /* power of two >= 2 * cap */
	u32 cap, n;
	u32 free_head;       /* free records, linked through lru_next */
	u32 fresh;           /* records below it were used once; above, never
	                      * touched, so memory grows with concurrent flows */
	u32 lru_head, lru_tail; /* open flows; head = most recently used */
	u32 cl_head, cl_tail;   /* closed flows, oldest first, kept CLOSED_GRACE_US */
	u64 idle_us;
	u64 seed;
	u64 k[4];            /* hash keys, from the seed */
	u64 total, evicted;
	flow_end_cb cb;
	void *user;
};

static u64 mix64(u64 x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	x ^= x >> 33;
	return x;
}

/* The 128-bit product of a and b, folded. */
static inline u64 mum(u64 a, u64 b)
{
	__uint128_t r = (__uint128_t)a * b;
	return (u64)r ^ (u64)(r >> 64);
}

/* One endpoint: the address's two words, each behind a secret key, then
 * the port and family folded in by a product with the address's hash
 * (wyhash's mixing step). No word enters linearly beside another one an
 * attacker also picks: XORing the same value into an address word and the
 * port, or into both words, changes the hash whatever the keys, so that
 * nobody can line up colliding tuples without knowing them. Two products
 * per endpoint, where four rounds of mix64 cost 4 % of a run. */
static inline u64 end_hash(const struct flow_table *ft, const struct addr *a, u16 port)
{
	u64 w[2];
	memcpy(w, a->b, 16);
	u64 x = mum(w[0] ^ ft->k[0], w[1] ^ ft->k[1]);
	return mum(x ^ ft->k[2], ((u64)port << 8 | a->fam) ^ ft->k[3]);
}

/* Direction-independent hash: endpoints combined with a commutative step. */
static u64 tuple_hash(const struct flow_table *ft, u8 proto, const struct addr *a, u16 pa,
                      const struct addr *b, u16 pb)
{
	u64 ha = end_hash(ft, a, pa), hb = end_hash(ft, b, pb);
	return mix64((ha + hb) ^ (ha * hb) ^ proto);
}

static int tuple_match(const struct flow *f, u8 proto, const struct addr *a, u16 pa,
                       const struct addr *b, u16 pb, int *dir)
{
	if (f->proto != proto)
		return 0;
	if (f->cport == pa && f->sport == pb && addr_eq(&f->cli, a) && addr_eq(&f->srv, b)) {
		*dir = DIR_C2S;
		return 1;
	}
	if (f->cport == pb && f->sport == pa && addr_eq(&f->cli, b) && addr_eq(&f->srv, a)) {
		*dir = DIR_S2C;
		return 1;
	}
	return 0;
}

struct flow_table *flow_table_new(u32 cap, u64 idle_us, flow_end_cb cb, void *user)
{
	struct flow_table *ft = xcalloc(1, sizeof *ft);
	if (cap < 16)
		cap = 16;
	ft->cap = cap;
	ft->max_slots = 32;
	while (ft->max_slots < cap * 2u)
		ft->max_slots <<= 1;
	ft->nslots = MIN(ft->max_slots, 1024u);
	ft->recs = xcalloc(cap, sizeof *ft->recs);
	ft->slots = xcalloc(ft->nslots, sizeof *ft->slots);
	ft->free_head = NIL;
	ft->fresh = 0;
	ft->lru_head = ft->lru_tail = NIL;
	ft->cl_head = ft->cl_tail = NIL;
	ft->idle_us = idle_us;
	ft->cb = cb;
	ft->user = user;
	/* Seeded so that an attacker cannot aim packets at one probe chain. */
	if (getrandom(&ft->seed, sizeof ft->seed, 0) != sizeof ft->seed)
		ft->seed = 0x9e3779b97f4a7c15ull ^ (u64)(uintptr_t)ft;
	for (int i = 0; i < 4; i++)
		ft->k[i] = mix64(ft->seed + 0x9e3779b97f4a7c15ull * (u64)(i + 1));
	return ft;
}

/* Unlinks record i from the list it is on: closed flows have their own, so
 * that expiry and eviction never walk past flows that are not due. */
static void lru_unlink(struct flow_table *ft, u32 i)
{
	struct flow *f = &ft->recs[i];
	u32 *head = f->in_closed ? &ft->cl_head : &ft->lru_head;
	u32 *tail = f->in_closed ? &ft->cl_tail : &ft->lru_tail;
	if (f->lru_prev != NIL)
		ft->recs[f->lru_prev].lru_next = f->lru_next;
	else
		*head = f->lru_next;
	if (f->lru_next != NIL)
		ft->recs[f->lru_next].lru_prev = f->lru_prev;
	else
		*tail = f->lru_prev;
}

/* Moves an open flow that just closed to the tail of the closed list. */
static void closed_append(struct flow_table *ft, u32 i, u64 now_us)
{
	struct flow *f = &ft->recs[i];
	lru_unlink(ft, i);
	f->in_closed = 1;
	f->closed_us = now_us;
	f->lru_next = NIL;
	f->lru_prev = ft->cl_tail;
	if (ft->cl_tail != NIL)
		ft->recs[ft->cl_tail].lru_next = i;
	ft->cl_tail = i;
	if (ft->cl_head == NIL)
		ft->cl_head = i;
}

static int is_closed(const struct flow *f)
{
	return f->tcp_state == TCPS_RESET ||
	       (f->tcp_state == TCPS_FIN && f->side[0].fin_frame && f->side[1].fin_frame) ||
	       (f->proto == IPPROTO_UDP_ && f->side[DIR_S2C].pkts && f->side[DIR_C2S].pkts);
}

static void lru_push_head(struct flow_table *ft, u32 i)
{
	struct flow *f = &ft->recs[i];
	f->lru_prev = NIL;
	f->lru_next = ft->lru_head;
	if (ft->lru_head != NIL)
		ft->recs[ft->lru_head].lru_prev = i;
	ft->lru_head = i;
	if (ft->lru_tail == NIL)
		ft->lru_tail = i;
}

static u32 slot_of(const struct flow_table *ft, u32 rec)
{
	const struct flow *f = &ft->recs[rec];
	u32 mask = ft->nslots - 1;
	u32 s = (u32)tuple_hash(ft, f->proto, &f->cli, f->cport, &f->srv, f->sport) & mask;
	while (ft->slots[s] != rec + 1)
		s = (s + 1) & mask;
	return s;
}

/* Removes record i from the index (backward-shift), the LRU, and calls the
 * end callback; the record returns to the free list. */
static void flow_end(struct flow_table *ft, u32 i, int why)
{
	struct flow *f = &ft->recs[i];
	u32 mask = ft->nslots - 1, s = slot_of(ft, i), j = s;

	if (ft->cb)
		ft->cb(ft->user, f, why);
	ft->slots[s] = 0;
	for (;;) {
		j = (j + 1) & mask;
		if (!ft->slots[j])
			break;
		struct flow *g = &ft->recs[ft->slots[j] - 1];
		u32 home = (u32)tuple_hash(ft, g->proto, &g->cli, g->cport, &g->srv, g->sport) & mask;
		/* Move g back into the hole unless its home lies cyclically in (s, j]. */
		if ((j > s && (home <= s || home > j)) || (j < s && (home <= s && home > j))) {
			ft->slots[s] = ft->slots[j];
			ft->slots[j] = 0;
			s = j;
		}
	}
	lru_unlink(ft, i);
	memset(f, 0, sizeof *f);
	f->lru_next = ft->free_head;
	ft->free_head = i;
	ft->n--;
}

static int well_known(u16 p)
{
	return p < 1024 || p == 8080 || p == 8443 || p == 3128 || p == 5353 || p == 1935;
}

/* Which endpoint of a packet is the client when no SYN says so. */
static int src_is_client(const struct packet *pk)
{
	if (pk->proto == IPPROTO_TCP_) {
		if ((pk->tcp_flags & (TH_SYN | TH_ACK)) == TH_SYN)
			return 1;
		if ((pk->tcp_flags & (TH_SYN | TH_ACK)) == (TH_SYN | TH_ACK))
			return 0;
	}
	if (well_known(pk->dport) && !well_known(pk->sport))
		return 1;
	if (well_known(pk->sport) && !well_known(pk->dport))
		return 0;
	if (well_known(pk->sport) && well_known(pk->dport))
		return pk->dport <= pk->sport;
	return 1; /* first sender */
}

/* Doubles the index and files every open record anew. */
static void index_grow(struct flow_table *ft)
{
	u32 mask;
	free(ft->slots);
	ft->nslots *= 2;
	ft->slots = xcalloc(ft->nslots, sizeof *ft->slots);
	mask = ft->nslots - 1;
	for (u32 i = 0; i < ft->fresh; i++) {
		const struct flow *f = &ft->recs[i];
		if (!f->in_use)
			continue;
		u32 s = (u32)tuple_hash(ft, f->proto, &f->cli, f->cport, &f->srv, f->sport) & mask;
		while (ft->slots[s])
			s = (s + 1) & mask;
		ft->slots[s] = i + 1;
	}
}

static struct flow *flow_new(struct flow_table *ft, const struct packet *pk, u64 h, int *dir)
{
	u32 i, s, mask;
	struct flow *f;

	if (ft->n == ft->cap) {
		ft->evicted++;
		/* A closed flow has said what it had to say: it goes first. */
		flow_end(ft, ft->cl_head != NIL ? ft->cl_head : ft->lru_tail, FLOW_END_EVICT);
	}
	if ((ft->n + 1) * 2 > ft->nslots && ft->nslots < ft->max_slots)
		index_grow(ft); /* before the new record is in use: it is filed below */
	if (ft->free_head != NIL) {
		i = ft->free_head;
		ft->free_head = ft->recs[i].lru_next;
	} else {
		i = ft->fresh++;
	}
	f = &ft->recs[i];
	memset(f, 0, sizeof *f);
	if (src_is_client(pk)) {
		f->cli = pk->src, f->srv = pk->dst, f->cport = pk->sport, f->sport = pk->dport;
		*dir = DIR_C2S;
	} else {
		f->cli = pk->dst, f->srv = pk->src, f->cport = pk->dport, f->sport = pk->sport;
		*dir = DIR_S2C;
	}
	f->proto = pk->proto;
	f->in_use = 1;
	f->file = pk->file;
	f->first_us = f->lru_us = pk->ts_us;
	f->first_frame = pk->frame;
	if (pk->tun.depth)
		f->tun = pk->tun;
	if (pk->proto == IPPROTO_TCP_ && !(pk->tcp_flags & TH_SYN))
		f->picked_up = 1;
	mask = ft->nslots - 1;
	s = (u32)h & mask;
	while (ft->slots[s])
		s = (s + 1) & mask;
	ft->slots[s] = i + 1;
	lru_push_head(ft, i);
	ft->n++;
	ft->total++;
	return f;
}

/* Sequence comparison modulo 2^32 (RFC 793 section 3.3). */
static int seq_gt(u32 a, u32 b) { return (i32)(a - b) > 0; }

static void side_update(struct flow *f, int dir, const struct packet *pk)
{
	struct flow_side *sd = &f->side[dir];
	if (!sd->pkts) {
		sd->ttl_first = sd->ttl_min = sd->ttl_max = pk->ttl;
		if (pk->ipid_valid) {
			sd->ipid_valid = 1;
			sd->ipid_first = pk->ipid;
		}
	}
	sd->pkts++;
	sd->bytes += pk->pl_wire;
	sd->last_us = pk->ts_us;
	sd->last_frame = pk->frame;
	/* A reset is judged against the profile; it does not join it. */
	if (pk->proto != IPPROTO_TCP_ || !(pk->tcp_flags & TH_RST)) {
		/* The counters stop together, so that their ratios hold; the
		 * first FLOW_PROFILE_PKTS packets of a side profile its sender
		 * (a bulk transfer need not pay for it on every segment). */
		if (sd->prof_pkts < FLOW_PROFILE_PKTS) {
			if (sd->prof_pkts && pk->ipid_valid) {
				u16 d = (u16)(pk->ipid - sd->ipid_last);
				sd->ipid_steps += d >= 1 && d <= FLOW_IPID_STEP;
			}
			sd->ipid_zero += pk->ipid_valid && !pk->ipid;
			sd->df_pkts += pk->df;
			sd->prof_pkts++;
		}
		if (pk->ipver == 6 && sd->prof_pkts < FLOW_PROFILE_PKTS) {
			if (!(sd->label & FLOW_LABEL_SET))
				sd->label = FLOW_LABEL_SET | pk->flowlabel;
			else if ((sd->label & FLOW_LABEL_MASK) != pk->flowlabel)
				sd->label |= FLOW_LABEL_MIXED;
		}
		sd->ttl_min = MIN(sd->ttl_min, pk->ttl);
		sd->ttl_max = MAX(sd->ttl_max, pk->ttl);
		sd->ipid_last = pk->ipid;
	}
	if (pk->proto != IPPROTO_TCP_)
		return;
	u32 end = pk->seq + pk->pl_wire + ((pk->tcp_flags & (TH_SYN | TH_FIN)) ? 1 : 0);
	if (pk->tcp_flags & TH_SYN) {
		sd->isn = pk->seq;
		sd->seq_valid = 1;
		sd->seq_next = end;
		sd->syn_opts = pk->tcp_opts;
	} else if (!sd->seq_valid) {
		sd->seq_valid = 1;
		sd->isn = pk->seq;
		sd->seq_next = end;
	} else if (seq_gt(end, sd->seq_next)) {
		sd->seq_next = end;
		if (pk->pl_wire && pk->ts_us >= f->first_us && pk->ts_us - f->first_us < UINT32_MAX - 1)
			sd->adv_off = (u32)(pk->ts_us - f->first_us) + 1;
	}
	if (pk->tcp_flags & TH_ACK)
		sd->ack_last = pk->ack;
	if (!(pk->tcp_flags & TH_RST))
		sd->win_last = pk->win;
	if (pk->tcp_flags & TH_FIN)
		sd->fin_frame = pk->frame;
	if ((pk->tcp_flags & TH_RST) && !sd->rst_frame)
		sd->rst_frame = pk->frame;
}

static void tcp_state_update(struct flow *f, int dir, const struct packet *pk)
{
	u8 fl = pk->tcp_flags;
	if ((fl & (TH_SYN | TH_ACK)) == TH_SYN && dir == DIR_C2S) {
		if (!f->syn_us) {
			f->syn_us = pk->ts_us;
			f->syn_frame = pk->frame;
		}
		if (f->syn_count && pk->ts_us >= flow_syn_last_us(f))
			f->syn_gap_us = (u32)MIN(pk->ts_us - flow_syn_last_us(f), (u64)UINT32_MAX);
		if (f->syn_us && pk->ts_us >= f->syn_us)
			f->syn_last_off = (u32)MIN(pk->ts_us - f->syn_us, (u64)UINT32_MAX);
		if (f->syn_count < 255)
			f->syn_count++;
		if (f->syn_count <= FLOW_SYN_FRAMES)
			f->syn_frames[f->syn_count - 1] = pk->frame;
		if (f->tcp_state == TCPS_NONE)
			f->tcp_state = TCPS_SYN;
	} else if ((fl & (TH_SYN | TH_ACK)) == (TH_SYN | TH_ACK) && dir == DIR_S2C) {
		if (!f->synack_us) {
			f->synack_us = pk->ts_us;
			f->synack_frame = pk->frame;
		}
		if (f->tcp_state < TCPS_SYNACK)
			f->tcp_state = TCPS_SYNACK;
	}
	if (fl & TH_RST) {
		f->rst_count++;
		f->tcp_state = TCPS_RESET;
		return;
	}
	if (f->tcp_state == TCPS_SYNACK && dir == DIR_C2S && (fl & TH_ACK) && !(fl & TH_SYN)) {
		f->tcp_state = TCPS_ESTABLISHED;
		f->ack_frame = pk->frame;
		if (f->synack_us && pk->ts_us >= f->synack_us)
			f->cli_rtt_us = (u32)MIN(pk->ts_us - f->synack_us, (u64)UINT32_MAX);
	}
	if (f->tcp_state == TCPS_NONE && pk->pl_len)
		f->tcp_state = TCPS_ESTABLISHED; /* picked up mid-stream */
	if ((fl & TH_FIN) && f->tcp_state != TCPS_RESET)
		f->tcp_state = TCPS_FIN;
}

struct flow *flow_update(struct flow_table *ft, const struct packet *pk, int *dir)
{
	u32 mask = ft->nslots - 1, s;
	struct flow *f = NULL;
	u64 h;

	if (pk->proto != IPPROTO_TCP_ && pk->proto != IPPROTO_UDP_)
		return NULL;
	h = tuple_hash(ft, pk->proto, &pk->src, pk->sport, &pk->dst, pk->dport);
	for (s = (u32)h & mask; ft->slots[s]; s = (s + 1) & mask) {
		struct flow *g = &ft->recs[ft->slots[s] - 1];
		if (tuple_match(g, pk->proto, &pk->src, pk->sport, &pk->dst, pk->dport, dir)) {
			f = g;
			break;
		}
	}
	/* A fresh SYN on the tuple of a finished connection starts a new one. */
	if (f && pk->proto == IPPROTO_TCP_ && (pk->tcp_flags & (TH_SYN | TH_ACK)) == TH_SYN &&
	    /* the same ISN again is a retransmission of the same attempt */
	    !(f->syn_count && f->side[DIR_C2S].isn == pk->seq && *dir == DIR_C2S) &&
	    (f->tcp_state == TCPS_RESET || f->tcp_state == TCPS_FIN ||
	     f->tcp_state >= TCPS_ESTABLISHED)) {
		flow_end(ft, (u32)(f - ft->recs), FLOW_END_CLOSED);
		f = NULL;
	}
	if (!f)
		f = flow_new(ft, pk, h, dir);
	else if (!f->in_closed && pk->ts_us >= f->lru_us + RELINK_US) {
		u32 i = (u32)(f - ft->recs);
		f->lru_us = pk->ts_us;
		if (ft->lru_head != i) {
			lru_unlink(ft, i);
			lru_push_head(ft, i);
		}
	}
	f->last_us = pk->ts_us;
	side_update(f, *dir, pk);
	if (pk->proto == IPPROTO_TCP_)
		tcp_state_update(f, *dir, pk);
	/* A closed flow stays while packets still come (data after a reset tells
	 * an injected one); it leaves a grace period after the last. */
	if (f->in_closed || is_closed(f))
		closed_append(ft, (u32)(f - ft->recs), pk->ts_us);
	return f;
}

struct flow *flow_find_inner(struct flow_table *ft, const struct pkt_inner *in, int *dir)
{
	u32 mask = ft->nslots - 1, s;
	u64 h;
	if (!in->valid || (in->proto != IPPROTO_TCP_ && in->proto != IPPROTO_UDP_))
		return NULL;
	h = tuple_hash(ft, in->proto, &in->src, in->sport, &in->dst, in->dport);
	for (s = (u32)h & mask; ft->slots[s]; s = (s + 1) & mask) {
		struct flow *g = &ft->recs[ft->slots[s] - 1];
		if (tuple_match(g, in->proto, &in->src, in->sport, &in->dst, in->dport, dir))
			return g;
	}
	return NULL;
}

void flow_expire(struct flow_table *ft, u64 now_us)
{
	/* Both lists are in time order: each walk stops at the first flow not due. */
	while (ft->cl_head != NIL && ft->recs[ft->cl_head].closed_us + CLOSED_GRACE_US <= now_us)
		flow_end(ft, ft->cl_head, FLOW_END_CLOSED);
	/* The list is in lru_us order, and last_us < lru_us + RELINK_US. */
	while (ft->lru_tail != NIL && ft->recs[ft->lru_tail].lru_us + RELINK_US + ft->idle_us <= now_us)
		flow_end(ft, ft->lru_tail, FLOW_END_IDLE);
}

void flow_flush(struct flow_table *ft)
{
	while (ft->cl_head != NIL)
		flow_end(ft, ft->cl_head, FLOW_END_FLUSH);
	while (ft->lru_tail != NIL)
		flow_end(ft, ft->lru_tail, FLOW_END_FLUSH);
}

void flow_table_free(struct flow_table *ft)
{
	if (!ft)
		return;
	flow_flush(ft);
	free(ft->recs);
	free(ft->slots);
	free(ft);
}

u32 flow_count(const struct flow_table *ft) { return ft->n; }
u64 flow_total(const struct flow_table *ft) { return ft->total; }
u64 flow_evicted(const struct flow_table *ft) { return ft->evicted; }
