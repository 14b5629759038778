/* \summary: TCP outcomes from flow state: refused, syn_timeout, rst,
 * rst_injection, icmp_unreachable, syn_flood; origin from hop distances. */
#include <stdlib.h>
#include <string.h>

#include "panne/findings.h"
#include "panne/opts.h"
#include "panne/services.h"
#include "panne/tcp.h"
#include "panne/twins.h"
#include "panne/util.h"

#define SRV_CAP 4096          /* servers tracked for TTL baseline and floods */
#define FLOOD_MIN_SOURCES 20  /* distinct sources before half-open SYNs are a flood */
#define PENDING_MAX 256       /* unanswered SYNs held per server before deciding */

/* An unanswered connection held until we know whether it was part of a flood. */
struct pending {
	struct addr cli;
	u16 cport, file;
	u32 frames[FLOW_SYN_FRAMES];
	u8 nframes, retries;
	u64 syn_us;
	u32 name_id;
	u32 isn;
};

struct server {
	struct addr a;
	u16 port;
	u8 used;
	u8 ttl;              /* TTL of its last SYN-ACK, 0 if none */
	u32 half_open, completed;
	u32 sources;         /* distinct clients, estimated by a bitmap */
	u64 srcmap[16];      /* 1024-bit source bitmap */
	u32 first_frame;
	u16 file;
	u64 first_us, last_us;
	struct pending *pend;
	u32 npend;
	u8 flood;            /* decided: syn_flood */
};

static struct server *srv;
static int min_hops = -1; /* fewest hops of any server's SYN-ACK: the path's baseline */

void tcp_init(void)
{
	tcp_reset();
	srv = xcalloc(SRV_CAP, sizeof *srv);
}

void tcp_reset(void)
{
	if (srv)
		for (u32 i = 0; i < SRV_CAP; i++)
			free(srv[i].pend);
	free(srv);
	srv = NULL;
	min_hops = -1;
}

/* Hops from the sender, from the initial TTL guessed among 64, 128, 255. */
static int hops(u8 ttl)
{
	if (ttl <= 64)
		return 64 - ttl;
	if (ttl <= 128)
		return 128 - ttl;
	return 255 - ttl;
}

static u32 addr_key(const struct addr *a, u16 port)
{
	u32 h = 2166136261u ^ port;
	for (int i = 0; i < 16; i++)
		h = (h ^ a->b[i]) * 16777619u;
	return h;
}

/* The tracking record of a server, or NULL when the table is full. */
static struct server *server_get(const struct addr *a, u16 port)
{
	if (!srv)
		return NULL;
	u32 h = addr_key(a, port);
	for (u32 n = 0; n < 8; n++) {
		struct server *s = &srv[(h + n) & (SRV_CAP - 1)];
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

static json_t *ttl_or_null(u8 ttl) { return ttl ? json_integer(ttl) : json_null(); }

/* Who sent a reset or refusal with this TTL, knowing the server's own TTL
 * (0 if unknown) and the path's baseline. */
static int origin_of(u8 ttl, u8 expected, const char **why)
{
	if (expected) {
		int d = (int)hops(ttl) - (int)hops(expected);
		if (d >= -1 && d <= 1) {
			*why = "its TTL matches the server's own packets";
			return O_SERVER;
		}
		if (hops(ttl) <= 1) {
			*why = "its TTL says it was sent at most one hop away, nearer than the server";
			return O_LOCAL;
		}
		*why = "its TTL differs from the server's own packets";
		return O_ONPATH;
	}
	if (min_hops > 0 && hops(ttl) < min_hops) {
		*why = "its TTL says it was sent nearer than any server seen in the capture";
		return O_LOCAL;
	}
	*why = "no other packet of the server to compare its TTL with";
	return O_UNKNOWN;
}

static const char *name_of(const struct flow *f)
{
	u32 id = f->name_id ? f->name_id : services_name_of_addr(&f->srv);
	return id ? names_get(id) : NULL;
}

void tcp_feed(struct flow *f, int dir, const struct packet *pk)
{
	u8 fl = pk->tcp_flags;

	if ((fl & (TH_SYN | TH_ACK)) == TH_SYN)
		twins_note(IPPROTO_TCP_, &pk->dst, pk->dport, pk->seq, pk->side);

	if ((fl & (TH_SYN | TH_ACK)) == (TH_SYN | TH_ACK) && dir == DIR_S2C) {
		struct server *s = server_get(&f->srv, f->sport);
		if (s)
			s->ttl = pk->ttl;
		if (min_hops < 0 || hops(pk->ttl) < min_hops)
			min_hops = hops(pk->ttl);
	}
	if ((fl & TH_RST) && f->rst_count == 1 && !f->rst_frame) {
		f->rst_ttl = pk->ttl;
		f->rst_dir = (u8)dir;
		f->rst_frame = pk->frame;
		f->rst_seq = pk->seq;
		f->rst_us = pk->ts_us;
		f->rst_ipid = pk->ipid;
		f->rst_ipid_valid = pk->ipid_valid;
		return;
	}
	/* Data from the reset's sender after its reset: the reset was not its own. */
	if (f->rst_frame && pk->frame != f->rst_frame && dir == f->rst_dir && pk->pl_len &&
	    !(fl & TH_RST))
		f->post_rst_data++;
}

void tcp_icmp(struct flow *f, int dir, const struct packet *pk)
{
	struct finding fd;
	char rep[ADDR_STRLEN];
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
	fd.origin = addr_eq(&pk->src, &f->srv) ? O_SERVER : O_LOCAL;
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
	findings_emit(&fd);
	/* UDP flows are counted by their analyzer; a TCP one counts here at its end. */
}

static void emit_syn_timeout(const struct pending *p, const struct flow *f, const struct server *s)
{
	struct finding fd;
	finding_init(&fd, K_SYN_TIMEOUT, NULL, p->syn_us + g_opts.syn_timeout_us, p->file, p->frames[0]);
	fd.cli = p->cli;
	fd.cport = p->cport;
	fd.srv = s ? s->a : f->srv;
	fd.sport = s ? s->port : f->sport;
	fd.proto = IPPROTO_TCP_;
	for (u8 i = 1; i < p->nframes; i++)
		finding_add_ev(&fd, p->frames[i]);
	u32 id = p->name_id ? p->name_id : services_name_of_addr(&fd.srv);
	finding_set_name(&fd, id ? names_get(id) : NULL);
	json_object_set_new(fd.detail, "retries", json_integer(p->retries));
	int fate = twins_fate(IPPROTO_TCP_, &fd.srv, fd.sport, p->isn, TWIN_INSIDE);
	if (twins_word(fate)) {
		json_object_set_new(fd.detail, "gateway", json_string(twins_word(fate)));
		fd.origin = fate == TWIN_DROPPED ? O_LOCAL : O_UNKNOWN;
	}
	findings_emit(&fd);
	/* Counted here, once we know it was a client's attempt and not a flood's. */
	findings_exchange(CAT_TCP, id ? names_get(id) : NULL, &fd.srv, &p->cli, p->syn_us, 1);
}

/* Emits a server's held unanswered SYNs one by one (no flood). */
static void flush_pending(struct server *s)
{
	for (u32 i = 0; i < s->npend; i++)
		emit_syn_timeout(&s->pend[i], NULL, s);
	free(s->pend);
	s->pend = NULL;
	s->npend = 0;
}

static void emit_flood(struct server *s)
{
	struct finding fd;
	char a[ADDR_STRLEN];
	finding_init(&fd, K_SYN_FLOOD, NULL, s->first_us, s->file, s->first_frame);
	fd.srv = s->a;
	fd.sport = s->port;
	fd.proto = IPPROTO_TCP_;
	for (u32 i = 0; i < s->npend && fd.n_ev < FIND_EV_MAX; i++)
		finding_add_ev(&fd, s->pend[i].frames[0]);
	u32 id = services_name_of_addr(&s->a);
	finding_set_name(&fd, id ? names_get(id) : NULL);
	fd.origin = O_UNKNOWN;
	u32 total = s->half_open + s->completed;
	json_object_set_new(fd.detail, "count", json_integer(s->half_open));
	json_object_set_new(fd.detail, "sources", json_integer(s->sources));
	json_object_set_new(fd.detail, "completed_ratio",
	                    json_real(total ? (double)s->completed / total : 0.0));
	json_object_set_new(fd.detail, "target", json_string(addr_fmt(&s->a, a)));
	json_object_set_new(fd.detail, "duration_s", json_real((double)(s->last_us - s->first_us) / 1e6));
	findings_emit(&fd);
	free(s->pend);
	s->pend = NULL;
	s->npend = 0;
}

static void note_half_open(const struct flow *f, u64 now_us)
{
	struct server *s = server_get(&f->srv, f->sport);
	struct pending p = { 0 };
	int timed_out = now_us >= f->syn_us + g_opts.syn_timeout_us;

	p.cli = f->cli;
	p.cport = f->cport;
	p.file = f->file;
	p.syn_us = f->syn_us;
	p.name_id = f->name_id;
	p.isn = f->side[DIR_C2S].isn;
	p.retries = f->syn_count ? (u8)(f->syn_count - 1) : 0;
	for (u8 i = 0; i < f->syn_count && i < FLOW_SYN_FRAMES; i++)
		p.frames[p.nframes++] = f->syn_frames[i];
	if (!s) {
		if (timed_out)
			emit_syn_timeout(&p, f, NULL);
		return;
	}
	u32 h = addr_key(&f->cli, 0) & 1023;
	if (!(s->srcmap[h >> 6] & (1ull << (h & 63)))) {
		s->srcmap[h >> 6] |= 1ull << (h & 63);
		s->sources++;
	}
	if (!s->half_open++) {
		s->first_frame = f->syn_frame;
		s->first_us = f->syn_us;
		s->file = f->file;
	}
	s->last_us = f->syn_us;
	if (s->flood)
		return;
	/* Held, not emitted: if it turns out to be a flood it becomes one finding. */
	if (!timed_out && s->half_open < g_opts.syn_flood_min)
		return; /* too recent to call a timeout; still counted for the flood */
	if (s->npend < PENDING_MAX) {
		if (!s->pend)
			s->pend = xcalloc(PENDING_MAX, sizeof *s->pend);
		s->pend[s->npend++] = p;
	} else if (s->half_open >= g_opts.syn_flood_min && s->sources >= FLOOD_MIN_SOURCES) {
		s->flood = 1; /* one finding at the end, with the final counts */
	} else {
		flush_pending(s);
		if (timed_out)
			emit_syn_timeout(&p, f, s);
	}
}

/* The SYN was answered by a reset before any SYN-ACK: refused, unless the
 * server's SYN-ACK came after all, which makes the reset someone else's. */
static void emit_refused(struct flow *f, const char *name)
{
	struct finding fd;
	const char *why;
	struct server *s = server_get(&f->srv, f->sport);
	u8 exp = s ? s->ttl : 0;
	int late_synack = f->synack_us && f->synack_frame > f->rst_frame;
	finding_init(&fd, late_synack ? K_RST_INJECTION : K_TCP_REFUSED, f, f->rst_us, f->file, f->rst_frame);
	for (u8 i = 0; i < f->syn_count && i < FLOW_SYN_FRAMES; i++)
		finding_add_ev(&fd, f->syn_frames[i]);
	if (late_synack) {
		finding_add_ev(&fd, f->synack_frame);
	}
	finding_set_name(&fd, name);
	if (late_synack) {
		fd.origin = O_ONPATH;
		json_object_set_new(fd.detail, "reason", json_string("the server answered the SYN after the reset"));
		json_object_set_new(fd.detail, "sender", json_string("server"));
		json_object_set_new(fd.detail, "ttl", json_integer(f->rst_ttl));
		json_object_set_new(fd.detail, "expected_ttl", json_null());
	} else {
		fd.origin = (u8)origin_of(f->rst_ttl, exp, &why);
		json_object_set_new(fd.detail, "ttl", json_integer(f->rst_ttl));
		json_object_set_new(fd.detail, "expected_ttl", ttl_or_null(exp));
		json_object_set_new(fd.detail, "hops", json_integer(hops(f->rst_ttl)));
		json_object_set_new(fd.detail, "origin_reason", json_string(why));
		json_object_set_new(fd.detail, "syn_retries", json_integer(f->syn_count - 1));
	}
	findings_emit(&fd);
	f->reported = 1;
}

void tcp_flow_end(struct flow *f, u64 now_us)
{
	const char *name = name_of(f);
	int failed = 0;

	if (f->rst_frame && f->rst_dir == DIR_S2C && f->syn_count &&
	    (!f->synack_us || f->synack_frame > f->rst_frame) && !f->reported) {
		emit_refused(f, name);
		if (f->synack_us) {
			struct server *s = server_get(&f->srv, f->sport);
			if (s)
				s->completed++;
		}
		findings_exchange(CAT_TCP, name, &f->srv, &f->cli, f->syn_us, 1);
		return;
	}

	if (f->syn_count && !f->synack_us && !f->rst_frame && !f->icmp_seen) {
		note_half_open(f, now_us); /* counted when its finding is decided */
		return;
	}
	if (f->synack_us) {
		struct server *s = server_get(&f->srv, f->sport);
		if (s)
			s->completed++;
	}
	/* A reset after a FIN is a way to finish, and a client's own reset is
	 * the application's choice: neither is a failure, unless the reset's
	 * TTL says its sender was not who it claims. */
	if (f->rst_frame && f->synack_us && !f->reported) {
		u32 fin = f->side[0].fin_frame ? f->side[0].fin_frame : f->side[1].fin_frame;
		if (f->side[1].fin_frame && f->side[1].fin_frame < fin)
			fin = f->side[1].fin_frame;
		u8 own = f->side[f->rst_dir].ttl_first;
		int consistent = !own || (hops(f->rst_ttl) - hops(own) <= 1 && hops(own) - hops(f->rst_ttl) <= 1);
		if (consistent && f->post_rst_data < 2 && ((fin && fin < f->rst_frame) || f->rst_dir == DIR_C2S))
			f->reported = 1;
	}
	if (f->rst_frame && f->synack_us && !f->reported) {
		struct finding fd;
		const char *why;
		u8 exp = f->side[f->rst_dir].ttl_first;
		int k = K_RST;
		const char *reason = NULL;
		int origin = origin_of(f->rst_ttl, exp, &why);
		int d = (int)hops(f->rst_ttl) - (int)hops(exp);
		/* A reset its sender did not send: TTL off by more than one hop, or
		 * the sender's data still flowing after it. */
		if (f->post_rst_data >= 2) {
			k = K_RST_INJECTION;
			reason = "data from the same side kept flowing after the reset";
		} else if (exp && (d > 1 || d < -1) && origin == O_ONPATH) {
			k = K_RST_INJECTION;
			reason = "TTL inconsistent with the server's own packets";
		}
		finding_init(&fd, k, f, f->rst_us, f->file, f->rst_frame);
		if (f->syn_frame)
			finding_add_ev(&fd, f->syn_frame);
		finding_set_name(&fd, name);
		if (k == K_RST_INJECTION)
			origin = O_ONPATH;
		else if (f->rst_dir == DIR_C2S)
			origin = O_LOCAL;
		else if (origin == O_UNKNOWN || origin == O_ONPATH)
			origin = origin == O_ONPATH ? O_ONPATH : O_SERVER;
		fd.origin = (u8)origin;
		json_object_set_new(fd.detail, "sender", json_string(f->rst_dir == DIR_C2S ? "client" : "server"));
		json_object_set_new(fd.detail, "ttl", json_integer(f->rst_ttl));
		json_object_set_new(fd.detail, "expected_ttl", ttl_or_null(exp));
		json_object_set_new(fd.detail, "after_bytes", json_integer((json_int_t)f->side[DIR_S2C].bytes));
		if (reason)
			json_object_set_new(fd.detail, "reason", json_string(reason));
		if (f->post_rst_data)
			json_object_set_new(fd.detail, "data_after_reset", json_integer(f->post_rst_data));
		findings_emit(&fd);
		f->reported = 1;
		/* A client closing with a reset is the application's choice, not a failure. */
		failed = f->rst_dir == DIR_S2C || k == K_RST_INJECTION;
	} else if (f->reported || f->icmp_seen) {
		failed = !f->synack_us;
	}
	if (f->syn_count)
		findings_exchange(CAT_TCP, name, &f->srv, &f->cli, f->syn_us ? f->syn_us : f->first_us, failed);
}

void tcp_finish(u64 now_us)
{
	(void)now_us;
	if (!srv)
		return;
	for (u32 i = 0; i < SRV_CAP; i++) {
		struct server *s = &srv[i];
		if (!s->used)
			continue;
		if (s->flood || (s->half_open >= g_opts.syn_flood_min && s->sources >= FLOOD_MIN_SOURCES)) {
			s->flood = 1;
			emit_flood(s);
		} else {
			flush_pending(s);
		}
		free(s->pend);
		memset(s, 0, sizeof *s);
	}
	min_hops = -1;
}
