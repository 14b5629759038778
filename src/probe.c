/* \summary: panne probe: options, the capture of the probe's own traffic
 * fed through the pipeline, worker threads that probe the names, then the
 * probe's own findings (resolver comparison, certificate verdicts on the
 * live connection, HTTP status read inside TLS), each merged into the
 * finding the capture already made of the same fact, and the report. */
#include <getopt.h>
#include <ifaddrs.h>
#include <ldns/ldns.h>
#include <net/if.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "panne/capture.h"
#include "panne/cert.h"
#include "panne/config.h"
#include "panne/decode.h"
#include "panne/diagnose.h"
#include "panne/findings.h"
#include "panne/opts.h"
#include "panne/pipeline.h"
#include "panne/privs.h"
#include "panne/probe.h"
#include "panne/report.h"
#include "panne/services.h"
#include "panne/util.h"

#define PROBE_TARGETS_MAX 64  /* names probed in one run */
#define PROBE_CONVS_MAX 4096  /* probe exchanges whose frames are remembered */
#define PROBE_DRAIN_TAIL_MS 700 /* after the last probe: longer than libpcap's 200 ms buffer timeout */

static u64 now_us(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return (u64)tv.tv_sec * 1000000u + (u64)tv.tv_usec;
}

/* ---- the probe's exchanges as the capture saw them ---- */

/* One exchange of the probe on the wire: a DNS query (key: resolver, proto,
 * id) or a TCP connection to port 443 (key: server, client port). */
struct conv {
	struct addr srv, cli;
	u16 sport, key; /* key: DNS id, or the client port */
	u8 proto;
	u32 first;      /* the first packet (query, SYN) */
	u32 srv_first;  /* the first server packet with payload (answer, ServerHello) */
	u32 srv_last;   /* the last server packet with payload */
	u32 srv_rst;    /* a reset from the server's side */
};

static struct conv *convs;
static size_t nconvs;

/* Addresses the workers connect to: the capture keeps their packets. */
static pthread_mutex_t dst_lock = PTHREAD_MUTEX_INITIALIZER;
static struct addr dsts[PROBE_TARGETS_MAX * PROBE_CONNS_MAX];
static size_t ndsts;
static struct probe_cfg cfg;

static void will_connect(const struct addr *a)
{
	pthread_mutex_lock(&dst_lock);
	size_t i;
	for (i = 0; i < ndsts && !addr_eq(&dsts[i], a); i++)
		;
	if (i == ndsts && ndsts < sizeof dsts / sizeof *dsts)
		dsts[ndsts++] = *a;
	pthread_mutex_unlock(&dst_lock);
}

static int is_dst(const struct addr *a)
{
	int found = 0;
	pthread_mutex_lock(&dst_lock);
	for (size_t i = 0; i < ndsts && !found; i++)
		found = addr_eq(&dsts[i], a);
	pthread_mutex_unlock(&dst_lock);
	return found;
}

static int is_resolver(const struct addr *a)
{
	for (u8 i = 0; i < cfg.nres; i++)
		if (addr_eq(&cfg.res[i], a))
			return 1;
	return 0;
}

/* The exchange (srv, sport, proto, key), made when create is set. */
static struct conv *conv_get(const struct addr *srv, u16 sport, u8 proto, u16 key, int create)
{
	for (size_t i = 0; i < nconvs; i++)
		if (convs[i].proto == proto && convs[i].key == key && convs[i].sport == sport &&
		    addr_eq(&convs[i].srv, srv))
			return &convs[i];
	if (!create || nconvs == PROBE_CONVS_MAX)
		return NULL;
	struct conv *c = &convs[nconvs++];
	memset(c, 0, sizeof *c);
	c->srv = *srv;
	c->sport = sport;
	c->proto = proto;
	c->key = key;
	return c;
}

static struct cap_writer *writer; /* -w: the probe's packets, as numbered */
static u32 nframes;               /* the probe's packets so far: their frame numbers */

/* The capture callback: only the probe's own exchanges (and ICMP errors
 * about them) go on, numbered 1, 2, ... over every interface as one
 * capture, to -w and to the pipeline (the filter cannot name addresses
 * learnt while probing). */
static void probe_packet(void *user, const struct cap_pkt *cp)
{
	struct packet pk;
	if (decode_packet(cp, &pk) != DEC_OK)
		return;
	int to_srv = 0, icmp = pk.proto == IPPROTO_ICMP_ || pk.proto == IPPROTO_ICMPV6_;
	const struct addr *srv = NULL;
	u16 sport = 0;
	if (icmp) {
		if (!pk.inner.valid || !(is_resolver(&pk.inner.dst) || is_dst(&pk.inner.dst)))
			return;
	} else if (!pk.l4_ok || (pk.proto != IPPROTO_TCP_ && pk.proto != IPPROTO_UDP_)) {
		return;
	} else if (pk.dport == 53 && is_resolver(&pk.dst)) {
		to_srv = 1, srv = &pk.dst, sport = 53;
	} else if (pk.sport == 53 && is_resolver(&pk.src)) {
		srv = &pk.src, sport = 53;
	} else if (pk.proto == IPPROTO_TCP_ && pk.dport == 443 && is_dst(&pk.dst)) {
		to_srv = 1, srv = &pk.dst, sport = 443;
	} else if (pk.proto == IPPROTO_TCP_ && pk.sport == 443 && is_dst(&pk.src)) {
		srv = &pk.src, sport = 443;
	} else {
		return;
	}
	struct cap_pkt c2 = *cp;
	c2.frame = ++nframes;
	c2.file = 0;
	if (writer)
		cap_writer_put(writer, &c2);
	if (srv) {
		u16 key = to_srv ? pk.sport : pk.dport;
		if (sport == 53) { /* the DNS id: first bytes of the message (after TCP's length) */
			u32 off = pk.proto == IPPROTO_TCP_ ? 2 : 0;
			key = pk.pl_len >= off + 2 ? (u16)(pk.pl[off] << 8 | pk.pl[off + 1]) : 0;
		}
		struct conv *c = key || sport == 443 ? conv_get(srv, sport, pk.proto, key, to_srv) : NULL;
		if (c) {
			if (!c->first && to_srv) {
				c->first = c2.frame;
				c->cli = pk.src;
			}
			if (!to_srv && pk.pl_len) {
				if (!c->srv_first)
					c->srv_first = c2.frame;
				c->srv_last = c2.frame;
			}
			if (!to_srv && (pk.tcp_flags & TH_RST) && !c->srv_rst)
				c->srv_rst = c2.frame;
		}
	}
	pipeline_packet(user, &c2);
}

/* ---- findings of the probe ---- */

static size_t n_captured; /* findings made from packets, before the probe's own */
static u8 *claimed;       /* [n_captured]: already matched by a probe fact */

/* A finding the capture made of the same fact (kind, server, client port or
 * name and query type), not yet matched; NULL if none. kind < 0 matches
 * any kind. */
static struct finding *captured(int kind, const char *name, const struct addr *srv, u16 cport,
                                u8 proto, const char *qtype)
{
	for (size_t i = 0; i < n_captured; i++) {
		struct finding *f = findings_get_mut(i);
		if (claimed[i] || (kind >= 0 && f->kind != kind) || !addr_eq(&f->srv, srv) ||
		    (proto && f->proto != proto) || (cport && f->cport != cport) ||
		    (name && name[0] && strcasecmp(f->name, name) != 0))
			continue;
		/* DNS: the same query type too, when both say it. */
		char q1[32];
		if (qtype && finding_detail_str(f, "qtype", q1, sizeof q1) && q1[0] && strcmp(q1, qtype) != 0)
			continue;
		claimed[i] = 1;
		return f;
	}
	return NULL;
}

/* Emits fd, or, when the capture already reported the same fact, adds what
 * the probe saw to that finding (under "probe") and drops fd. */
static void emit_or_merge(struct finding *fd, const char *name, u16 cport)
{
	struct finding *old = captured(fd->kind, name, &fd->srv, cport, fd->proto,
	                               json_string_value(json_object_get(fd->detail, "qtype")));
	if (!old) {
		findings_emit(fd);
		return;
	}
	finding_detail_set(old, "probe", json_incref(fd->detail));
	if (old->origin == O_UNKNOWN)
		old->origin = fd->origin;
	json_decref(fd->detail);
	fd->detail = NULL;
}

static void base(struct finding *fd, int kind, const char *name, const struct addr *cli,
                 const struct addr *srv, u16 cport, u16 sport, u8 proto, u64 ts)
{
	finding_init(fd, kind, NULL, ts, 0, 0);
	finding_set_name(fd, name);
	if (cli && cli->fam)
		fd->cli = *cli;
	fd->srv = *srv;
	fd->cport = cport;
	fd->sport = sport;
	fd->proto = proto;
}

static json_t *addrs_json(const struct addr *a, u8 n)
{
	char b[ADDR_STRLEN];
	json_t *arr = json_array();
	for (u8 i = 0; i < n; i++)
		json_array_append_new(arr, json_string(addr_fmt(&a[i], b)));
	return arr;
}

static const char *qtype_name(int ty) { return ty == PQ_A ? "A" : "AAAA"; }

/* What the other resolvers said for the same type: {"ADDR": [addresses] or "NXDOMAIN"...}. */
static json_t *others_json(const struct probe_target *t, u8 r, int ty)
{
	char b[ADDR_STRLEN];
	json_t *o = json_object();
	for (u8 k = 0; k < cfg.nres; k++) {
		const struct probe_answer *pa = &t->ans[k][ty][PQ_UDP];
		if (k == r)
			continue;
		if (!pa->answered)
			pa = &t->ans[k][ty][PQ_TCP];
		json_object_set_new(o, addr_fmt(&cfg.res[k], b),
		                    !pa->answered ? json_string("no answer")
		                    : pa->rcode ? json_string(ldns_lookup_by_id(ldns_rcodes, pa->rcode)
		                                                  ? ldns_lookup_by_id(ldns_rcodes, pa->rcode)->name
		                                                  : "error")
		                                : addrs_json(pa->addr, pa->naddr));
	}
	return o;
}

/* 1 if another resolver answered type ty of t with public addresses. */
static int others_public(const struct probe_target *t, u8 r, int ty)
{
	for (u8 k = 0; k < cfg.nres; k++)
		for (int tr = 0; tr < PQ_NTRANS && k != r; tr++) {
			const struct probe_answer *pa = &t->ans[k][ty][tr];
			for (u8 i = 0; pa->answered && !pa->rcode && i < pa->naddr; i++)
				if (!addr_bogus(&pa->addr[i]))
					return 1;
		}
	return 0;
}

static void dns_findings(const struct probe_target *t)
{
	for (u8 r = 0; r < cfg.nres; r++)
		for (int ty = 0; ty < PQ_NTYPES; ty++)
			for (int tr = 0; tr < PQ_NTRANS; tr++) {
				const struct probe_answer *pa = &t->ans[r][ty][tr];
				u8 proto = tr == PQ_TCP ? IPPROTO_TCP_ : IPPROTO_UDP_;
				struct conv *c = pa->answered ? conv_get(&cfg.res[r], 53, proto, pa->id, 0) : NULL;
				int kind = -1;
				if (!pa->done)
					continue;
				if (!pa->answered)
					kind = K_DNS_TIMEOUT;
				else if (pa->rcode)
					kind = pa->rcode == 2 ? K_SERVFAIL : pa->rcode == 3 ? K_NXDOMAIN
					       : pa->rcode == 5 ? K_DNS_REFUSED : K_DNS_ERROR;
				else if (name_is_public(t->name))
					for (u8 i = 0; i < pa->naddr && kind < 0; i++)
						if (addr_bogus(&pa->addr[i]))
							kind = K_DNS_BOGUS_ANSWER;
				findings_probe_exchange(CAT_DNS, t->name, &cfg.res[r], NULL, pa->ts_us, kind >= 0);
				if (kind < 0)
					continue;
				struct finding fd;
				base(&fd, kind, t->name, c ? &c->cli : NULL, &cfg.res[r], 0, 53, proto,
				     pa->ts_us ? pa->ts_us : now_us());
				fd.origin = kind == K_DNS_TIMEOUT ? O_UNKNOWN : O_RESOLVER;
				if (c) {
										finding_add_ev(&fd, c->srv_first);
					finding_add_ev(&fd, c->first);
				}
				json_t *d = fd.detail;
				json_object_set_new(d, "qtype", json_string(qtype_name(ty)));
				json_object_set_new(d, "transport", json_string(tr == PQ_TCP ? "tcp" : "udp"));
				if (kind == K_DNS_TIMEOUT) {
					json_object_set_new(d, "retries", json_integer(0));
					json_object_set_new(d, "error", json_string(pa->err));
				} else if (kind == K_DNS_BOGUS_ANSWER) {
					json_object_set_new(d, "answers", addrs_json(pa->addr, pa->naddr));
					json_object_set_new(d, "ttl", json_integer(pa->ttl));
					json_object_set_new(d, "other_resolvers", others_json(t, r, ty));
					if (others_public(t, r, ty))
						json_object_set_new(d, "reason", json_string("another resolver answered the same name with public addresses: this resolver's answer is forged"));
				} else {
					const ldns_lookup_table *lt = ldns_lookup_by_id(ldns_rcodes, pa->rcode);
					json_object_set_new(d, "rcode", json_integer(pa->rcode));
					json_object_set_new(d, "rcode_name", json_string(lt ? lt->name : "?"));
					json_object_set_new(d, "other_resolvers", others_json(t, r, ty));
					if (kind == K_NXDOMAIN && others_public(t, r, ty))
						json_object_set_new(d, "reason", json_string("only this resolver says the name does not exist: another answered with addresses"));
				}
				emit_or_merge(&fd, t->name, 0);
			}
}

/* Who presented an untrusted certificate for t on connection i. */
static int untrusted_origin(const struct probe_target *t, u8 i, json_t *d)
{
	for (u8 k = 0; k < t->nconn; k++) {
		char b[ADDR_STRLEN];
		if (k != i && t->conn[k].verified) {
			json_object_set_new(d, "interception",
			                    json_sprintf("%s presented a certificate that verifies for this name",
			                                 addr_fmt(&t->conn[k].srv, b)));
			return O_ONPATH;
		}
	}
	if (services_of_name(t->name)) {
		json_object_set_new(d, "interception",
		                    json_string("a streaming service's certificate that the CA store does not vouch for, on a connection made now: something on the path presents its own"));
		return O_ONPATH;
	}
	return O_UNKNOWN;
}

static void conn_findings(const struct probe_target *t)
{
	for (u8 i = 0; i < t->nconn; i++) {
		const struct probe_conn *pc = &t->conn[i];
		struct conv *c = conv_get(&pc->srv, 443, IPPROTO_TCP_, pc->cport, 0);
		struct finding fd;
		findings_probe_exchange(CAT_TCP, t->name, &pc->srv, &pc->cli, pc->tcp_us, pc->tcp != PT_OK);
		if (pc->tcp != PT_OK) {
			int kind = pc->tcp == PT_REFUSED ? K_TCP_REFUSED : pc->tcp == PT_TIMEOUT ? K_SYN_TIMEOUT
			           : pc->tcp == PT_UNREACH ? K_ICMP_UNREACHABLE : -1;
			if (kind < 0)
				continue;
			base(&fd, kind, t->name, &pc->cli, &pc->srv, pc->cport, 443, IPPROTO_TCP_, pc->tcp_us);
			if (c) {
								finding_add_ev(&fd, c->srv_rst);
				finding_add_ev(&fd, c->first);
			}
			json_object_set_new(fd.detail, "error", json_string(strerror(pc->sys_errno)));
			if (kind == K_SYN_TIMEOUT)
				json_object_set_new(fd.detail, "retries", json_null());
			emit_or_merge(&fd, NULL, pc->cport);
			continue;
		}
		/* TLS: the handshake, then OpenSSL's chain judged as passive ones are. */
		int tls_failed = pc->tls != PT_OK;
		if (pc->tls == PT_TIMEOUT || (pc->tls == PT_ERROR && strstr(pc->tls_err, "alert"))) {
			int kind = pc->tls == PT_TIMEOUT ? K_TLS_TIMEOUT : K_TLS_ALERT;
			base(&fd, kind, t->name, &pc->cli, &pc->srv, pc->cport, 443, IPPROTO_TCP_, pc->tls_us);
			fd.origin = kind == K_TLS_ALERT ? O_SERVER : O_UNKNOWN;
			if (c) {
								finding_add_ev(&fd, c->srv_last ? c->srv_last : c->first);
			}
			json_object_set_new(fd.detail, kind == K_TLS_TIMEOUT ? "stage" : "description",
			                    json_string(kind == K_TLS_TIMEOUT ? "handshake" : pc->tls_err));
			json_object_set_new(fd.detail, "error", json_string(pc->tls_err));
			emit_or_merge(&fd, NULL, pc->cport);
		} else if (pc->tls == PT_ERROR) {
			/* A reset or a close: the capture's rst finding says who sent it. */
			struct finding *old = captured(-1, NULL, &pc->srv, pc->cport, IPPROTO_TCP_, NULL);
			if (old)
				finding_detail_set(old, "probe", json_pack("{s:s}", "tls_error", pc->tls_err));
		}
		if (pc->nchain) {
			struct cert_der der[CERT_CHAIN_MAX];
			for (u8 k = 0; k < pc->nchain; k++)
				der[k] = (struct cert_der){ pc->der[k], pc->derlen[k] };
			const struct cert_verdict *v = cert_check(der, pc->nchain, t->name, pc->tls_us);
			for (int kind = K_CERT_UNTRUSTED; v && kind <= K_CERT_EXPIRED; kind++) {
				if ((kind == K_CERT_UNTRUSTED && v->verify_err == X509_V_OK) ||
				    (kind == K_CERT_MISMATCH && v->name_ok) || (kind == K_CERT_EXPIRED && !v->expired))
					continue;
				tls_failed = 1;
				base(&fd, kind, t->name, &pc->cli, &pc->srv, pc->cport, 443, IPPROTO_TCP_, pc->tls_us);
				if (c) {
										finding_add_ev(&fd, c->srv_first);
				}
				json_t *d = fd.detail;
				json_object_set_new(d, "subject", json_string(v->subject));
				json_object_set_new(d, "issuer", json_string(v->issuer));
				if (kind == K_CERT_UNTRUSTED) {
					json_object_set_new(d, "verify_error", json_string(cert_error_string(v->verify_err)));
					fd.origin = (u8)untrusted_origin(t, i, d);
				} else if (kind == K_CERT_MISMATCH) {
					json_t *sans = json_array();
					const char *s = v->sans;
					for (u8 k = 0; k < v->n_sans; k++, s += strlen(s) + 1)
						json_array_append_new(sans, json_string(s));
					json_object_set_new(d, "sans", sans);
					json_object_set_new(d, "sni", json_string(t->name));
				} else {
					fd.origin = O_SERVER;
					json_object_set_new(d, "not_before", json_string(v->not_before));
					json_object_set_new(d, "not_after", json_string(v->not_after));
				}
				json_object_set_new(d, "tls_version", json_string(pc->tls_version));
				json_object_set_new(d, "chain_length", json_integer(pc->nchain));
				emit_or_merge(&fd, NULL, pc->cport);
			}
		}
		if (pc->tls != PT_NONE)
			findings_probe_exchange(CAT_TLS, t->name, &pc->srv, &pc->cli, pc->tls_us, tls_failed);
		/* HTTP inside TLS: the capture cannot read it, the probe can. */
		if (pc->http == PT_OK) {
			findings_probe_exchange(CAT_HTTP, t->name, &pc->srv, &pc->cli, pc->http_us,
			                        pc->status >= 500 && pc->status <= 599);
			if (pc->status < 500 || pc->status > 599)
				continue;
			base(&fd, K_HTTP_5XX, t->name, &pc->cli, &pc->srv, pc->cport, 443, IPPROTO_TCP_, pc->http_us);
			fd.origin = O_SERVER;
			if (c) {
								finding_add_ev(&fd, c->srv_last);
			}
			json_object_set_new(fd.detail, "status", json_integer(pc->status));
			json_object_set_new(fd.detail, "reason", json_string(pc->reason));
			json_object_set_new(fd.detail, "server_header", pc->server[0] ? json_string(pc->server) : json_null());
			json_object_set_new(fd.detail, "method", json_string("HEAD"));
			json_object_set_new(fd.detail, "uri", json_string("/"));
			json_object_set_new(fd.detail, "inside_tls", json_true());
			emit_or_merge(&fd, NULL, pc->cport);
		}
	}
}

/* One certificate name in RFC 2253 form, escaped. */
static json_t *name_json(const X509_NAME *n)
{
	char buf[CERT_NAME_LEN], out[CERT_NAME_LEN];
	BIO *b = BIO_new(BIO_s_mem());
	int len = b ? X509_NAME_print_ex(b, n, 0, XN_FLAG_RFC2253) : -1;
	if (len < 0) {
		BIO_free(b);
		return json_null();
	}
	len = BIO_read(b, buf, sizeof buf);
	BIO_free(b);
	str_escape((const u8 *)buf, len > 0 ? (size_t)len : 0, out, sizeof out);
	return json_string(out);
}

/* The peer's chain as the probe received it: subject and issuer of each
 * certificate, leaf first. */
static json_t *chain_json(const struct probe_conn *pc)
{
	json_t *arr = json_array();
	for (u8 k = 0; k < pc->nchain; k++) {
		const unsigned char *p = pc->der[k];
		X509 *x = d2i_X509(NULL, &p, (long)pc->derlen[k]);
		if (!x)
			continue;
		json_array_append_new(arr, json_pack("{s:o,s:o}", "subject", name_json(X509_get_subject_name(x)),
		                                     "issuer", name_json(X509_get_issuer_name(x))));
		X509_free(x);
	}
	return arr;
}

/* What was probed, for the summary: per name, each resolver's answers and
 * each connection's steps. */
static json_t *target_json(const struct probe_target *t)
{
	char b[ADDR_STRLEN];
	json_t *o = json_object(), *res = json_object(), *conns = json_array();
	json_object_set_new(o, "name", json_string(t->name));
	for (u8 r = 0; r < cfg.nres; r++) {
		json_t *ra = json_object();
		for (int ty = 0; ty < PQ_NTYPES; ty++)
			for (int tr = 0; tr < PQ_NTRANS; tr++) {
				const struct probe_answer *pa = &t->ans[r][ty][tr];
				char key[16];
				snprintf(key, sizeof key, "%s/%s", qtype_name(ty), tr == PQ_TCP ? "tcp" : "udp");
				const ldns_lookup_table *lt = ldns_lookup_by_id(ldns_rcodes, pa->rcode);
				json_object_set_new(ra, key, !pa->answered ? json_string(pa->err)
				                             : pa->rcode ? json_string(lt ? lt->name : "error")
				                                         : addrs_json(pa->addr, pa->naddr));
			}
		json_object_set_new(res, addr_fmt(&cfg.res[r], b), ra);
	}
	json_object_set_new(o, "resolvers", res);
	/* Consistency: every resolver that answered gave the same addresses. */
	int agree = 1;
	const struct probe_answer *ref[PQ_NTYPES] = { NULL, NULL };
	for (u8 r = 0; r < cfg.nres; r++)
		for (int ty = 0; ty < PQ_NTYPES; ty++) {
			const struct probe_answer *pa = &t->ans[r][ty][PQ_UDP];
			if (!pa->answered)
				pa = &t->ans[r][ty][PQ_TCP];
			if (!pa->answered)
				continue;
			if (!ref[ty]) {
				ref[ty] = pa;
				continue;
			}
			if (pa->rcode != ref[ty]->rcode || pa->naddr != ref[ty]->naddr)
				agree = 0;
			for (u8 i = 0; agree && i < pa->naddr; i++) {
				u8 j;
				for (j = 0; j < ref[ty]->naddr && !addr_eq(&ref[ty]->addr[j], &pa->addr[i]); j++)
					;
				agree = j < ref[ty]->naddr;
			}
		}
	json_object_set_new(o, "answers_agree", json_boolean(agree));
	static const char *pt[] = { "not tried", "ok", "refused", "timeout", "unreachable", "error" };
	for (u8 i = 0; i < t->nconn; i++) {
		const struct probe_conn *pc = &t->conn[i];
		json_t *c = json_pack("{s:s,s:i,s:s,s:s}", "server", addr_fmt(&pc->srv, b), "port", 443,
		                      "tcp", pt[pc->tcp], "tls", pt[pc->tls]);
		if (pc->tls_version[0])
			json_object_set_new(c, "tls_version", json_string(pc->tls_version));
		if (pc->tls_err[0])
			json_object_set_new(c, "tls_error", json_string(pc->tls_err));
		if (pc->tls == PT_OK)
			json_object_set_new(c, "verified", json_boolean(pc->verified));
		if (pc->nchain)
			json_object_set_new(c, "chain", chain_json(pc));
		json_object_set_new(c, "http", pc->http == PT_OK ? json_integer(pc->status)
		                               : pc->tls == PT_OK && !pc->verified ? json_string("not asked: the certificate did not verify")
		                               : json_string(pc->http_err[0] ? pc->http_err : pt[pc->http]));
		json_array_append_new(conns, c);
	}
	json_object_set_new(o, "connections", conns);
	return o;
}

/* ---- workers ---- */

static struct probe_target *targets;
static size_t ntargets, next_target;
static pthread_mutex_t work_lock = PTHREAD_MUTEX_INITIALIZER;
static size_t workers_done;

static void *worker(void *arg)
{
	(void)arg;
	for (;;) {
		pthread_mutex_lock(&work_lock);
		size_t i = next_target < ntargets ? next_target++ : ntargets;
		pthread_mutex_unlock(&work_lock);
		if (i == ntargets)
			break;
		probe_resolve(&targets[i], &cfg);
		probe_connect(&targets[i], &cfg);
		if (g_opts.verbose) {
			const struct probe_target *t = &targets[i];
			int ok = 0;
			for (u8 k = 0; k < t->nconn; k++)
				ok += t->conn[k].http == PT_OK;
			flockfile(stderr); /* one line per thread, not interleaved */
			warnx_("probe %s: %u resolver%s asked, %u address%s connected to, %d HTTP answer%s", t->name,
			       cfg.nres, cfg.nres == 1 ? "" : "s", t->nconn, t->nconn == 1 ? "" : "es", ok,
			       ok == 1 ? "" : "s");
			funlockfile(stderr);
		}
	}
	pthread_mutex_lock(&work_lock);
	workers_done++;
	pthread_mutex_unlock(&work_lock);
	return NULL;
}

/* ---- set-up ---- */

static void usage_probe(FILE *out)
{
	fprintf(out,
	        "usage: panne probe [NAME|SERVICE ...] [--resolver ADDR ...] [--probe-timeout SEC]\n"
	        "                   [--parallel N] [-i IFACE] [-w FILE] [-T text|json] [--ca-file PEM]\n"
	        "                   [-S FILE] [-Z USER] [-v]\n"
	        "See panne(8), PROBE MODE.\n");
}

static void add_target(const char *name)
{
	char low[NAME_MAX_LEN + 1];
	size_t n = strlen(name);
	if (!n || n > NAME_MAX_LEN)
		die(EXIT_USAGE, "probe: '%s' is not a host name", name);
	for (size_t i = 0; i <= n; i++)
		low[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] - 'A' + 'a' : name[i]);
	if (n > 1 && low[n - 1] == '.')
		low[n - 1] = 0;
	for (size_t i = 0; i < ntargets; i++)
		if (strcmp(targets[i].name, low) == 0)
			return;
	if (ntargets == PROBE_TARGETS_MAX)
		die(EXIT_USAGE, "probe: at most %d names in one run", PROBE_TARGETS_MAX);
	snprintf(targets[ntargets++].name, sizeof targets->name, "%s", low);
}

/* A catalog key expands to its main name: the first domain of its entry. */
static void add_arg(const char *arg)
{
	int k = services_find_key(arg);
	if (k < 0) {
		add_target(arg);
		return;
	}
	char first[NAME_MAX_LEN + 1];
	const char *d = services_domains((size_t)k);
	size_t n = strcspn(d, " ");
	snprintf(first, sizeof first, "%.*s", (int)MIN(n, NAME_MAX_LEN), d);
	add_target(first);
}

static void add_resolver(const struct addr *a)
{
	for (u8 i = 0; i < cfg.nres; i++)
		if (addr_eq(&cfg.res[i], a))
			return;
	if (cfg.nres == PROBE_RESOLVERS_MAX)
		die(EXIT_USAGE, "--resolver: at most %d resolvers", PROBE_RESOLVERS_MAX - 1);
	cfg.res[cfg.nres++] = *a;
}

/* The first nameserver of /etc/resolv.conf, through libldns. 0, or -1. */
static int system_resolver(struct addr *out)
{
	ldns_resolver *r = NULL;
	int rc = -1;
	if (ldns_resolver_new_frm_file(&r, NULL) != LDNS_STATUS_OK || !r)
		return -1;
	if (ldns_resolver_nameserver_count(r) > 0) {
		ldns_rdf *ns = ldns_resolver_nameservers(r)[0];
		size_t n = ldns_rdf_size(ns);
		memset(out, 0, sizeof *out);
		if (ldns_rdf_get_type(ns) == LDNS_RDF_TYPE_A && n == 4) {
			out->fam = 4;
			memcpy(out->b, ldns_rdf_data(ns), 4);
			rc = 0;
		} else if (ldns_rdf_get_type(ns) == LDNS_RDF_TYPE_AAAA && n == 16) {
			out->fam = 6;
			memcpy(out->b, ldns_rdf_data(ns), 16);
			rc = 0;
		}
	}
	ldns_resolver_deep_free(r);
	return rc;
}

/* The interface of the route toward a (a UDP connect sends nothing): its
 * local address, looked up among the interfaces. "any" when unknown. */
static void route_iface(const struct addr *a, char *out, size_t n)
{
	struct sockaddr_storage ss, local;
	socklen_t ln = sizeof local, sl;
	struct ifaddrs *ifs = NULL;
	snprintf(out, n, "any");
	memset(&ss, 0, sizeof ss);
	if (a->fam == 4) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons(53);
		memcpy(&s4->sin_addr, a->b, 4);
		sl = sizeof *s4;
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(53);
		memcpy(&s6->sin6_addr, a->b, 16);
		sl = sizeof *s6;
	}
	int fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	if (connect(fd, (struct sockaddr *)&ss, sl) < 0 ||
	    getsockname(fd, (struct sockaddr *)&local, &ln) < 0 || getifaddrs(&ifs) < 0) {
		close(fd);
		return;
	}
	close(fd);
	for (struct ifaddrs *i = ifs; i; i = i->ifa_next) {
		if (!i->ifa_addr || i->ifa_addr->sa_family != local.ss_family)
			continue;
		int same = local.ss_family == AF_INET
		           ? !memcmp(&((struct sockaddr_in *)i->ifa_addr)->sin_addr,
		                     &((struct sockaddr_in *)&local)->sin_addr, 4)
		           : !memcmp(&((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr,
		                     &((struct sockaddr_in6 *)&local)->sin6_addr, 16);
		if (same && !(i->ifa_flags & IFF_LOOPBACK)) {
			snprintf(out, n, "%s", i->ifa_name);
			break;
		}
	}
	freeifaddrs(ifs);
}

enum { PO_RESOLVER = 300, PO_TIMEOUT, PO_PARALLEL, PO_CA };

int probe_main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "resolver", required_argument, NULL, PO_RESOLVER },
		{ "probe-timeout", required_argument, NULL, PO_TIMEOUT },
		{ "parallel", required_argument, NULL, PO_PARALLEL },
		{ "ca-file", required_argument, NULL, PO_CA },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *iface = NULL, *wfile = NULL, *user = NULL;
	const char *extra[PROBE_RESOLVERS_MAX];
	size_t nextra = 0;
	unsigned long parallel = PROBE_PARALLEL_DEFAULT, timeout_s = PROBE_TIMEOUT_DEFAULT;
	char err[512];
	int c;

	memset(&cfg, 0, sizeof cfg);
	while ((c = getopt_long(argc, argv, "i:w:T:S:Z:vh", lopts, NULL)) != -1) {
		switch (c) {
		case PO_RESOLVER:
			if (nextra == PROBE_RESOLVERS_MAX - 1)
				die(EXIT_USAGE, "--resolver: at most %d resolvers", PROBE_RESOLVERS_MAX - 1);
			extra[nextra++] = optarg;
			break;
		case PO_TIMEOUT:
			timeout_s = opts_number("--probe-timeout", optarg, 120);
			break;
		case PO_PARALLEL:
			parallel = opts_number("--parallel", optarg, PROBE_PARALLEL_MAX);
			break;
		case PO_CA:
			g_opts.ca_file = optarg;
			break;
		case 'i':
			iface = optarg;
			break;
		case 'w':
			wfile = optarg;
			break;
		case 'T':
			opts_format(optarg);
			break;
		case 'S':
			g_opts.services_file = optarg;
			break;
		case 'Z':
			user = optarg;
			break;
		case 'v':
			g_opts.verbose++;
			break;
		case 'h':
			usage_probe(stdout);
			return EXIT_CLEAN;
		default:
			usage_probe(stderr);
			return EXIT_USAGE;
		}
	}
	/* Every finding is about the probe's own traffic: all of it is in scope,
	 * and the passive timeouts are the probe's. */
	g_opts.probe = 1;
	g_opts.scope = SCOPE_ALL;
	g_opts.dns_timeout_us = g_opts.syn_timeout_us = g_opts.tls_timeout_us = timeout_s * 1000000ull;
	cfg.timeout_us = timeout_s * 1000000ull;
	cfg.will_connect = will_connect;

	if (services_init(g_opts.services_file, err, sizeof err) < 0)
		die(EXIT_USAGE, "%s", err);
	targets = xcalloc(PROBE_TARGETS_MAX, sizeof *targets);
	for (int i = optind; i < argc; i++)
		add_arg(argv[i]);
	if (optind == argc)
		for (size_t k = 0; k < services_count(); k++)
			add_arg(services_key(k));

	struct addr sys;
	int have_sys = system_resolver(&sys) == 0;
	if (have_sys)
		add_resolver(&sys);
	for (size_t i = 0; i < nextra; i++) {
		struct addr a;
		if (addr_parse(extra[i], &a) < 0)
			die(EXIT_USAGE, "--resolver: '%s' is not an IPv4 or IPv6 address", extra[i]);
		add_resolver(&a);
	}
	if (!cfg.nres)
		die(EXIT_USAGE, "probe: no nameserver in /etc/resolv.conf: name one with --resolver ADDR");

	/* Everything read from disk is read now: the CA store (twice: the
	 * pipeline's for chains, OpenSSL's for the handshake), the catalog,
	 * resolv.conf. Then the capture, then privileges go. */
	if (pipeline_init(err, sizeof err) < 0)
		die(EXIT_USAGE, "%s", err);
	findings_exchanges_by_probe();
	cfg.ssl = SSL_CTX_new(TLS_client_method());
	if (!cfg.ssl || SSL_CTX_set_default_verify_paths(cfg.ssl) != 1 ||
	    (g_opts.ca_file && SSL_CTX_load_verify_locations(cfg.ssl, g_opts.ca_file, NULL) != 1))
		die(EXIT_USAGE, "probe: cannot set up TLS with the CA store%s%s", g_opts.ca_file ? " and " : "",
		    g_opts.ca_file ? g_opts.ca_file : "");
	SSL_CTX_set_min_proto_version(cfg.ssl, TLS1_2_VERSION);
	SSL_CTX_set_verify(cfg.ssl, SSL_VERIFY_NONE, NULL); /* judged after the handshake */
	static const unsigned char alpn[] = "\x08http/1.1";
	SSL_CTX_set_alpn_protos(cfg.ssl, alpn, sizeof alpn - 1);

	/* The capture: the interface of the route toward the resolvers and the
	 * services, and loopback too when a resolver listens there (a local
	 * stub), each its own source with its own frame numbers. */
	struct cap_src *src[2] = { NULL, NULL };
	const char *ifn[2] = { NULL, NULL };
	char ifb[IF_NAMESIZE + 8];
	size_t nsrc = 0;
	const char *note = NULL;
	if (geteuid() == 0) {
		if (iface) {
			ifn[nsrc++] = iface;
		} else {
			const struct addr *far = NULL;
			int on_lo = 0;
			for (u8 r = 0; r < cfg.nres; r++) {
				int lo = cfg.res[r].fam == 4 ? cfg.res[r].b[0] == 127 : addr_bogus(&cfg.res[r]);
				on_lo |= lo;
				if (!lo && !far)
					far = &cfg.res[r];
			}
			struct addr doc;
			addr_parse("192.0.2.1", &doc); /* TEST-NET-1: whatever the default route is */
			route_iface(far ? far : &doc, ifb, sizeof ifb);
			ifn[nsrc++] = ifb;
			if (on_lo && strcmp(ifb, "any") != 0)
				ifn[nsrc++] = "lo";
		}
		for (size_t k = 0; k < nsrc; k++) {
			src[k] = cap_open_live(ifn[k], (u16)k,
			                       "udp port 53 or tcp port 53 or tcp port 443 or icmp or icmp6", err,
			                       sizeof err);
			if (!src[k])
				die(EXIT_USAGE, "probe: %s", err);
		}
		/* One capture of the probe's packets: interfaces of one link type. */
		if (nsrc == 2 && cap_linktype(src[1]) != cap_linktype(src[0])) {
			if (g_opts.verbose)
				warnx_("probe: %s has another link type than %s: not captured", ifn[1], ifn[0]);
			cap_close(src[1]);
			src[1] = NULL;
			nsrc = 1;
		}
		FILE *wout = NULL;
		if (wfile && !(wout = fopen(wfile, "wb")))
			die(EXIT_USAGE, "-w %s: cannot create it", wfile);
		if (wout && !(writer = cap_writer_open(wout, cap_linktype(src[0]), err, sizeof err)))
			die(EXIT_USAGE, "-w %s: %s", wfile, err);
	} else {
		note = "not root: the probe's traffic was not captured, so its findings lack packet evidence (frames); run as root for them";
		warnx_("%s", note);
		if (wfile)
			warnx_("-w %s: nothing to write without the capture", wfile);
	}
	if (privs_drop(user, err, sizeof err) < 0)
		die(EXIT_USAGE, "%s", err);

	/* The probe: workers take names in turn; this thread reads the capture. */
	convs = xcalloc(PROBE_CONVS_MAX, sizeof *convs);
	size_t nw = MIN((size_t)parallel, ntargets);
	pthread_t th[PROBE_PARALLEL_MAX];
	u64 t0 = now_us();
	for (size_t i = 0; i < nw; i++)
		if (pthread_create(&th[i], NULL, worker, NULL) != 0)
			die(EXIT_USAGE, "probe: cannot start a worker thread");
	int cap_failed = -1; /* the source that failed */
	for (int tail_ms = -1; tail_ms != 0;) {
		if (tail_ms < 0) {
			pthread_mutex_lock(&work_lock);
			int all = workers_done == nw;
			pthread_mutex_unlock(&work_lock);
			if (all) {
				for (size_t i = 0; i < nw; i++)
					pthread_join(th[i], NULL);
				/* The last packets: libpcap hands them out in blocks. */
				tail_ms = nsrc ? PROBE_DRAIN_TAIL_MS : 0;
				continue;
			}
		}
		if (!nsrc || cap_failed >= 0) {
			usleep(100000);
		} else {
			for (size_t k = 0; k < nsrc && cap_failed < 0; k++)
				if (cap_live_drain(src[k], probe_packet, NULL, (int)(100 / nsrc)) < 0)
					cap_failed = (int)k;
		}
		if (tail_ms > 0)
			tail_ms = MAX(tail_ms - 100, 0);
	}
	if (cap_failed >= 0)
		warnx_("%s", cap_error(src[cap_failed]));
	struct run_stats *st = (struct run_stats *)pipeline_stats();
	st->dropped = 0;
	for (size_t k = 0; k < nsrc; k++)
		st->dropped += cap_dropped(src[k]);
	findings_quality()->dropped = st->dropped;
	pipeline_tick(now_us());
	pipeline_file_end();

	/* The probe's own facts, merged with what the capture showed. */
	n_captured = findings_count();
	claimed = xcalloc(n_captured + 1, 1);
	json_t *names = json_array();
	for (size_t i = 0; i < ntargets; i++) {
		dns_findings(&targets[i]);
		conn_findings(&targets[i]);
		json_array_append_new(names, target_json(&targets[i]));
	}
	pipeline_finish();

	char b[ADDR_STRLEN];
	json_t *resolvers = json_array(), *ifs = json_array();
	for (u8 r = 0; r < cfg.nres; r++)
		json_array_append_new(resolvers, json_pack("{s:s,s:s}", "address", addr_fmt(&cfg.res[r], b), "from",
		                                           have_sys && r == 0 ? "system" : "--resolver"));
	for (size_t k = 0; k < nsrc; k++)
		json_array_append_new(ifs, json_string(ifn[k]));
	json_t *probe = json_pack("{s:o,s:o,s:o,s:b,s:I,s:I,s:f}", "names", names, "resolvers", resolvers,
	                          "interfaces", ifs, "packet_evidence", nsrc > 0,
	                          "timeout", (json_int_t)timeout_s, "parallel", (json_int_t)nw,
	                          "seconds", (double)(now_us() - t0) / 1e6);
	if (!probe)
		die(EXIT_USAGE, "probe: cannot build the summary");
	if (note)
		json_object_set_new(probe, "note", json_string(note));

	char head[1024];
	size_t o = (size_t)snprintf(head, sizeof head, "panne probe: %zu name%s through %u resolver%s (", ntargets,
	                            ntargets == 1 ? "" : "s", cfg.nres, cfg.nres == 1 ? "" : "s");
	for (u8 r = 0; r < cfg.nres && o < sizeof head; r++)
		o += (size_t)snprintf(head + o, sizeof head - o, "%s%s%s", r ? ", " : "", addr_fmt(&cfg.res[r], b),
		                      have_sys && r == 0 ? " system" : "");
	if (o < sizeof head && nsrc)
		o += (size_t)snprintf(head + o, sizeof head - o, "), captured on");
	else if (o < sizeof head)
		o += (size_t)snprintf(head + o, sizeof head - o, ")\nNOTE: %s\n", note);
	for (size_t k = 0; k < nsrc && o < sizeof head; k++)
		o += (size_t)snprintf(head + o, sizeof head - o, " %s", ifn[k]);
	if (nsrc && o < sizeof head)
		snprintf(head + o, sizeof head - o, ": %llu packets\n", (unsigned long long)st->packets);

	/* Findings name the capture: the -w file, whose frame numbers they
	 * are, or the interfaces. */
	char capname[2 * IF_NAMESIZE + 8];
	snprintf(capname, sizeof capname, "%s%s%s", nsrc ? ifn[0] : "-", nsrc > 1 ? "+" : "",
	         nsrc > 1 ? ifn[1] : "");
	const char *files[1] = { wfile && writer ? wfile : capname };
	size_t nv;
	struct verdict *v = diagnose_run(&nv);
	const char *errors[1] = { cap_failed >= 0 ? cap_error(src[cap_failed]) : "" };
	struct report_input in = { .files = nsrc ? files : NULL, .nfiles = nsrc ? 1 : 0, .st = st, .v = v,
		                   .nv = nv, .damaged = cap_failed >= 0, .errors = errors,
		                   .nerrors = cap_failed >= 0, .probe = probe, .probe_text = head };
	if (writer) {
		/* The file holds every packet of the probe: frames are its own. */
		cap_writer_close(writer);
		writer = NULL;
		in.evidence_file = wfile;
		in.evidence_map = json_array();
		u8 *cited = xcalloc(nframes + 1, 1);
		for (size_t i = 0; i < findings_count(); i++)
			for (u8 e = 0; e < findings_get(i)->n_ev; e++)
				if (findings_get(i)->ev[e] <= nframes)
					cited[findings_get(i)->ev[e]] = 1;
		for (u32 fr = 1; fr <= nframes; fr++)
			if (cited[fr])
				json_array_append_new(in.evidence_map, json_pack("{s:s,s:I,s:I}", "file", wfile, "frame",
				                                                 (json_int_t)fr, "evidence_frame", (json_int_t)fr));
		free(cited);
	}
	report_write(stdout, &in);
	json_decref(in.evidence_map);
	json_decref(probe);
	int failures = 0;
	for (size_t i = 0; i < nv; i++)
		failures |= v[i].status == ST_DEGRADED || v[i].status == ST_FAILING;
	diagnose_free(v, nv);
	for (size_t i = 0; i < ntargets; i++)
		probe_target_free(&targets[i]);
	free(targets);
	free(convs);
	free(claimed);
	SSL_CTX_free(cfg.ssl);
	for (size_t k = 0; k < nsrc; k++)
		cap_close(src[k]);
	pipeline_reset();
	services_reset();
	return cap_failed >= 0 ? EXIT_DAMAGED : failures ? EXIT_FINDINGS : EXIT_CLEAN;
}
