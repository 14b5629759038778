/* \summary: tls: record reassembly (split, packed, retransmitted, gaps),
 * ClientHello/ServerHello fields, alerts by RFC 8446 name and who may read
 * them, completion in TLS 1.2 and 1.3, timeouts by stage, and certificates
 * of the test CA (tests/unit/data/tls, made by mkcerts.sh) judged at the
 * capture's time: untrusted, mismatch, expired told apart, verdicts cached.
 * Most tests build a struct flow and packets by hand and call tls_feed();
 * the last ones go through the whole pipeline. */
#include <stdio.h>
#include <stdlib.h>
#include "panne/anchors.h"
#include "testutil.h"
#include "panne/cert.h"
#include "panne/flow.h"
#include "panne/tls.h"

#define T0 1893456000000000ull /* 2030-01-01: inside the test certificates' 2020-2099 */
#define T2019 1561939200000000ull /* 2019-07-01: before every test certificate */
#define T2020 1590969600000000ull /* 2020-06-01: inside the short-lived ones too */
#define SEC 1000000ull

/* ---- test data ---- */

static const char *data_dir(void)
{
	const char *d = getenv("PANNE_TLS_TEST_DATA");
	return d ? d : "tests/unit/data/tls";
}

static char ca_path[512];

struct der {
	u8 b[2048];
	u32 n;
};

static void load_der(const char *name, struct der *d)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s.der", data_dir(), name);
	FILE *fp = fopen(path, "rb");
	if (!fp)
		fail_msg("cannot open %s (run the tests from the top of the tree)", path);
	d->n = (u32)fread(d->b, 1, sizeof d->b, fp);
	fclose(fp);
	assert_true(d->n > 100);
}

/* ---- a hand-made flow and its packets ---- */

struct conn {
	struct flow f;
	u32 seq[2];
	u32 frame;
	u64 ts;
};

static struct conn *conn_new(const char *cli, u16 cport, const char *srv)
{
	struct conn *c = calloc(1, sizeof *c);
	assert_non_null(c);
	assert_int_equal(addr_parse(cli, &c->f.cli), 0);
	assert_int_equal(addr_parse(srv, &c->f.srv), 0);
	c->f.cport = cport;
	c->f.sport = 443;
	c->f.proto = IPPROTO_TCP_;
	c->f.in_use = 1;
	c->f.app = APP_TLS;
	c->f.tcp_state = TCPS_ESTABLISHED;
	c->seq[DIR_C2S] = 1001;
	c->seq[DIR_S2C] = 70001;
	c->ts = T0;
	return c;
}

/* One segment from dir at sequence seq; wire is its length on the wire
 * (more than n when the snapshot length cut it). */
static void seg_raw(struct conn *c, int dir, u32 seq, const u8 *p, u32 n, u32 wire)
{
	struct packet pk;
	memset(&pk, 0, sizeof pk);
	c->ts += 1000;
	pk.ts_us = c->ts;
	pk.frame = ++c->frame;
	pk.ipver = 4;
	pk.proto = IPPROTO_TCP_;
	pk.ttl = dir == DIR_C2S ? 64 : 57;
	pk.src = dir == DIR_C2S ? c->f.cli : c->f.srv;
	pk.dst = dir == DIR_C2S ? c->f.srv : c->f.cli;
	pk.sport = dir == DIR_C2S ? c->f.cport : c->f.sport;
	pk.dport = dir == DIR_C2S ? c->f.sport : c->f.cport;
	pk.tcp_flags = TH_ACK | TH_PSH;
	pk.seq = seq;
	pk.l4_ok = 1;
	pk.pl = p;
	pk.pl_len = n;
	pk.pl_wire = wire;
	c->f.side[dir].pkts++;
	if (!c->f.app_done)
		tls_feed(&c->f, dir, &pk);
}

/* The next segment from dir. */
static void seg(struct conn *c, int dir, const u8 *p, u32 n)
{
	seg_raw(c, dir, c->seq[dir], p, n, n);
	c->seq[dir] += n;
}

/* Sends p[n] from dir in segments of at most chunk bytes. */
static void seg_split(struct conn *c, int dir, const u8 *p, u32 n, u32 chunk)
{
	for (u32 o = 0; o < n; o += chunk)
		seg(c, dir, p + o, MIN(chunk, n - o));
}

static void conn_end(struct conn *c, u64 at)
{
	tls_flow_end(&c->f, at);
	assert_null(c->f.app_state);
	free(c);
}

/* ---- TLS byte builders ---- */

struct buf {
	u8 b[16384];
	u32 n;
};

static void b_u8(struct buf *b, u8 v) { b->b[b->n++] = v; }
static void b_u16(struct buf *b, u16 v) { put16(b->b + b->n, v), b->n += 2; }
static void b_u24(struct buf *b, u32 v) { b_u8(b, (u8)(v >> 16)), b_u16(b, (u16)v); }
static void b_mem(struct buf *b, const void *p, u32 n) { memcpy(b->b + b->n, p, n), b->n += n; }
/* Reserves a length field of w bytes; b_len() fills it with what follows. */
static u32 b_mark(struct buf *b, int w) { u32 at = b->n; b->n += (u32)w; return at; }
static void b_len(struct buf *b, u32 at, int w)
{
	u32 l = b->n - at - (u32)w;
	for (int i = w - 1; i >= 0; i--, l >>= 8)
		b->b[at + (u32)i] = (u8)l;
}

/* A record of type holding p[n]. */
static void rec(struct buf *out, u8 type, const u8 *p, u32 n)
{
	b_u8(out, type), b_u16(out, 0x0303), b_u16(out, (u16)n), b_mem(out, p, n);
}

/* A handshake message (header and body) appended to out. */
static void hs_msg(struct buf *out, u8 ht, const struct buf *body)
{
	b_u8(out, ht), b_u24(out, body->n), b_mem(out, body->b, body->n);
}

/* ClientHello body: sni (NULL: none), alpn (NULL: none), versions for
 * supported_versions (nv = 0: none). */
static void ch_body(struct buf *b, const char *sni, const char *alpn, const u16 *versions, int nv)
{
	b_u16(b, 0x0303);
	for (int i = 0; i < 32; i++)
		b_u8(b, 7);
	b_u8(b, 0);
	b_u16(b, 4), b_u16(b, 0x1301), b_u16(b, 0xc02f);
	b_u8(b, 1), b_u8(b, 0);
	u32 el = b_mark(b, 2);
	if (sni) {
		b_u16(b, 0);
		u32 l1 = b_mark(b, 2), l2 = b_mark(b, 2);
		b_u8(b, 0), b_u16(b, (u16)strlen(sni)), b_mem(b, sni, (u32)strlen(sni));
		b_len(b, l2, 2), b_len(b, l1, 2);
	}
	if (alpn) {
		b_u16(b, 16);
		u32 l1 = b_mark(b, 2), l2 = b_mark(b, 2);
		b_u8(b, (u8)strlen(alpn)), b_mem(b, alpn, (u32)strlen(alpn));
		b_u8(b, 8), b_mem(b, "http/1.1", 8);
		b_len(b, l2, 2), b_len(b, l1, 2);
	}
	if (nv) {
		b_u16(b, 43);
		u32 l1 = b_mark(b, 2);
		b_u8(b, (u8)(2 * nv));
		for (int i = 0; i < nv; i++)
			b_u16(b, versions[i]);
		b_len(b, l1, 2);
	}
	b_len(b, el, 2);
}

static const u8 hrr_rand[32] = {
	0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
	0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
};

/* ServerHello body: sv is the supported_versions choice (0: none), alpn
 * the chosen protocol (NULL: none), hrr for a HelloRetryRequest. */
static void sh_body(struct buf *b, u16 sv, const char *alpn, int hrr)
{
	b_u16(b, 0x0303);
	if (hrr)
		b_mem(b, hrr_rand, 32);
	else
		for (int i = 0; i < 32; i++)
			b_u8(b, 9);
	b_u8(b, 0);
	b_u16(b, sv ? 0x1301 : 0xc02f);
	b_u8(b, 0);
	u32 el = b_mark(b, 2);
	if (sv)
		b_u16(b, 43), b_u16(b, 2), b_u16(b, sv);
	if (alpn) {
		b_u16(b, 16);
		u32 l1 = b_mark(b, 2), l2 = b_mark(b, 2);
		b_u8(b, (u8)strlen(alpn)), b_mem(b, alpn, (u32)strlen(alpn));
		b_len(b, l2, 2), b_len(b, l1, 2);
	}
	b_len(b, el, 2);
}

/* Certificate body (TLS 1.2): the given DER certificates. */
static void cert_body(struct buf *b, const struct der *const *c, int n)
{
	u32 l = b_mark(b, 3);
	for (int i = 0; i < n; i++)
		b_u24(b, c[i]->n), b_mem(b, c[i]->b, c[i]->n);
	b_len(b, l, 3);
}

/* A ClientHello record for sni. */
static void client_hello(struct buf *out, const char *sni)
{
	struct buf body = { .n = 0 }, m = { .n = 0 };
	ch_body(&body, sni, "h2", NULL, 0);
	hs_msg(&m, 1, &body);
	rec(out, 22, m.b, m.n);
}

/* The server's TLS 1.2 flight: ServerHello, Certificate (chain of n, none
 * when n = 0) and ServerHelloDone in one handshake record. */
static void server_flight12(struct buf *out, const struct der *const *chain, int n)
{
	struct buf body = { .n = 0 }, m = { .n = 0 };
	sh_body(&body, 0, NULL, 0);
	hs_msg(&m, 2, &body);
	if (n) {
		body.n = 0;
		cert_body(&body, chain, n);
		hs_msg(&m, 11, &body);
	}
	body.n = 0;
	hs_msg(&m, 14, &body);
	rec(out, 22, m.b, m.n);
}

static const u8 ccs_rec[6] = { 20, 3, 3, 0, 1, 1 };

/* The rest of a TLS 1.2 handshake: client key exchange + CCS + Finished,
 * server CCS + Finished (ciphertext: random bytes). */
static void finish12(struct conn *c)
{
	u8 kx[] = { 22, 3, 3, 0, 8, 16, 0, 0, 4, 1, 2, 3, 4 };
	u8 fin[45] = { 22, 3, 3, 0, 40 };
	for (int i = 5; i < 45; i++)
		fin[i] = (u8)(i * 37);
	seg(c, DIR_C2S, kx, sizeof kx);
	seg(c, DIR_C2S, ccs_rec, sizeof ccs_rec);
	seg(c, DIR_C2S, fin, sizeof fin);
	seg(c, DIR_S2C, ccs_rec, sizeof ccs_rec);
	seg(c, DIR_S2C, fin, sizeof fin);
}

/* Exchanges counted in category tls, and how many failed. */
static u32 tls_seen(u32 *failed)
{
	u32 s = 0, fl = 0;
	for (size_t i = 0; i < findings_groups(); i++) {
		s += findings_group(i)->seen[CAT_TLS];
		fl += findings_group(i)->failed[CAT_TLS];
	}
	if (failed)
		*failed = fl;
	return s;
}

static const char *dstr(const struct finding *f, const char *key)
{
	json_t *v = json_object_get(t_detail(f), key);
	assert_non_null(v);
	return json_string_value(v);
}

static json_int_t dint(const struct finding *f, const char *key)
{
	json_t *v = json_object_get(t_detail(f), key);
	assert_non_null(v);
	return json_integer_value(v);
}

static struct der d_good, d_inter, d_inter_exp, d_wrong, d_expired, d_self, d_self_exp;

static int setup_ca(void **state)
{
	char err[256];
	(void)state;
	opts_defaults(&g_opts);
	g_opts.scope = SCOPE_ALL;
	snprintf(ca_path, sizeof ca_path, "%s/ca.pem", data_dir());
	g_opts.ca_file = ca_path;
	assert_int_equal(services_init(NULL, err, sizeof err), 0);
	if (pipeline_init(err, sizeof err) < 0)
		fail_msg("%s", err);
	load_der("good", &d_good);
	load_der("inter", &d_inter);
	load_der("inter-expired", &d_inter_exp);
	load_der("wrongname", &d_wrong);
	load_der("expired", &d_expired);
	load_der("selfsigned", &d_self);
	load_der("selfsigned-expired", &d_self_exp);
	t_frame = 0;
	return 0;
}

static int teardown_ca(void **state)
{
	(void)state;
	pipeline_reset();
	services_reset();
	g_opts.ca_file = NULL;
	return 0;
}

/* A whole TLS 1.2 handshake for sni presenting chain; finish12 when done. */
static struct conn *handshake12(const char *sni, const struct der *const *chain, int n, u64 at,
                                int finish)
{
	struct conn *c = conn_new("192.168.1.10", 40000, "198.51.100.10");
	struct buf r = { .n = 0 };
	c->ts = at;
	client_hello(&r, sni);
	seg(c, DIR_C2S, r.b, r.n);
	r.n = 0;
	server_flight12(&r, chain, n);
	seg(c, DIR_S2C, r.b, r.n);
	if (finish)
		finish12(c);
	return c;
}

/* ---- ClientHello, ServerHello, detection ---- */

static void tls_detect_wants_a_client_hello_record(void **s)
{
	struct buf r = { .n = 0 };
	(void)s;
	client_hello(&r, "www.example.com");
	assert_int_equal(tls_detect(r.b, r.n), 1);
	assert_int_equal(tls_detect(r.b, 5), 1); /* the header alone is enough */
	r.b[5] = 2;                              /* a ServerHello first: not a client */
	assert_int_equal(tls_detect(r.b, r.n), 0);
	r.b[5] = 1;
	r.b[1] = 2; /* SSL 2 framing, or not TLS */
	assert_int_equal(tls_detect(r.b, r.n), 0);
	r.b[1] = 3;
	put16(r.b + 3, 30000); /* longer than a record may be */
	assert_int_equal(tls_detect(r.b, r.n), 0);
	put16(r.b + 3, 10); /* shorter than any ClientHello */
	assert_int_equal(tls_detect(r.b, r.n), 0);
	assert_int_equal(tls_detect((const u8 *)"GET / HTTP/1.1\r\n", 16), 0);
	assert_int_equal(tls_detect(r.b, 4), 0);
	assert_int_equal(tls_detect(NULL, 0), 0);
}

static void client_hello_names_the_flow_and_alert_detail_has_offer(void **s)
{
	struct buf body = { .n = 0 }, m = { .n = 0 }, r = { .n = 0 };
	static const u16 vers[] = { 0x3a3a, 0x0304, 0x0303 }; /* GREASE first */
	u8 alert[7] = { 21, 3, 3, 0, 2, 2, 70 };
	(void)s;
	struct conn *c = conn_new("192.168.1.10", 40000, "198.51.100.10");
	ch_body(&body, "WWW.Example.COM.", "h2", vers, 3);
	hs_msg(&m, 1, &body);
	rec(&r, 22, m.b, m.n);
	seg(c, DIR_C2S, r.b, r.n);
	assert_int_equal(c->f.name_id, names_intern("www.example.com"));
	assert_string_equal(names_get(c->f.name_id), "www.example.com");
	seg(c, DIR_S2C, alert, sizeof alert);
	assert_int_equal(c->f.app_done, 1);
	const struct finding *f = t_find(K_TLS_ALERT, 0);
	assert_non_null(f);
	assert_string_equal(f->name, "www.example.com");
	assert_int_equal(dint(f, "offered_version"), 0x0304);
	assert_null(json_object_get(t_detail(f), "version")); /* nothing negotiated */
	assert_string_equal(dstr(f, "alpn"), "h2");
	conn_end(c, T0 + 60 * SEC);
	assert_int_equal(findings_count(), 1); /* failed once: no timeout on top */
}

static void client_hello_split_byte_by_byte_is_reassembled(void **s)
{
	struct buf r = { .n = 0 };
	(void)s;
	struct conn *c = conn_new("192.168.1.10", 40000, "198.51.100.10");
	client_hello(&r, "split.example.org");
	seg_split(c, DIR_C2S, r.b, r.n, 1);
	assert_string_equal(names_get(c->f.name_id), "split.example.org");
	conn_end(c, T0 + SEC);
}

static void several_records_in_one_segment_and_a_message_over_two_records(void **s)
{
	struct buf r = { .n = 0 }, body = { .n = 0 }, m = { .n = 0 };
	const struct der *chain[] = { &d_good, &d_inter };
	u8 alert[7] = { 21, 3, 3, 0, 2, 2, 40 };
	(void)s;
	struct conn *c = conn_new("192.168.1.10", 40000, "198.51.100.10");
	client_hello(&r, "www.example.com");
	seg(c, DIR_C2S, r.b, r.n);
	/* ServerHello record, then the Certificate message cut over two
	 * records, then an alert record: all in one segment. */
	r.n = 0;
	sh_body(&body, 0, "http/1.1", 0);
	hs_msg(&m, 2, &body);
	rec(&r, 22, m.b, m.n);
	m.n = 0, body.n = 0;
	cert_body(&body, chain, 2);
	hs_msg(&m, 11, &body);
	rec(&r, 22, m.b, 100);
	rec(&r, 22, m.b + 100, m.n - 100);
	b_mem(&r, alert, sizeof alert);
	seg(c, DIR_S2C, r.b, r.n);
	/* The chain verified (no certificate finding); the alert after it was read. */
	assert_int_equal(findings_count(), 1);
	const struct finding *f = t_find(K_TLS_ALERT, 0);
	assert_non_null(f);
	assert_int_equal(dint(f, "version"), 0x0303);
	assert_string_equal(dstr(f, "alpn"), "http/1.1"); /* the server's choice wins */
	assert_string_equal(dstr(f, "description_name"), "handshake_failure");
	assert_int_equal(f->frame, 2);
	assert_int_equal(f->ev[1], 1); /* then the ClientHello */
	conn_end(c, T0 + SEC);
}

static void server_flight_in_small_segments_is_reassembled(void **s)
{
	struct buf r = { .n = 0 };
	const struct der *chain[] = { &d_wrong, &d_inter };
	(void)s;
	struct conn *c = conn_new("192.168.1.10", 40000, "198.51.100.10");
	client_hello(&r, "www.example.com");
	seg(c, DIR_C2S, r.b, r.n);
	r.n = 0;
	server_flight12(&r, chain, 2);
	seg_split(c, DIR_S2C, r.b, r.n, 7);
	const struct finding *f = t_find(K_CERT_MISMATCH, 0);
	assert_non_null(f);
	/* The frame where the Certificate message completed, as Wireshark shows it. */
	assert_int_equal(f->frame, 1 + (r.n - 4 + 6) / 7);
	conn_end(c, T0 + SEC);
}

/* ---- the TCP stream ---- */

static void retransmissions_are_skipped_and_overlaps_trimmed(void **s)
{
	struct buf r = { .n = 0 };
	u8 alert[7] = { 21, 3, 3, 0, 2, 2, 70 };
	(void)s;
	struct conn *c = conn_new("192.168.1.10", 40000, "198.51.100.10");
	client_hello(&r, "retrans.example.org");
	u32 first = c->seq[DIR_C2S];
	seg(c, DIR_C2S, r.b, 30);
	seg_raw(c, DIR_C2S, first, r.b, 30, 30);      /* the same again */
	seg_raw(c, DIR_C2S, first + 10, r.b + 10, 40, 40); /* overlaps 20, brings 20 new */
	u8 stale[20];
	memset(stale, 0xee, sizeof stale); /* bytes that would break the parse if read */
	seg_raw(c, DIR_C2S, first, stale, 20, 20);   /* an old one, late */
	c->seq[DIR_C2S] = first + 50;
	seg(c, DIR_C2S, r.b + 50, r.n - 50);
	assert_string_equal(names_get(c->f.name_id), "retrans.example.org");
	u32 aseq = c->seq[DIR_S2C];
	seg(c, DIR_S2C, alert, sizeof alert);
	c->f.app_done = 0; /* as if the pipeline kept feeding: a copy is still one alert */
	seg_raw(c, DIR_S2C, aseq, alert, sizeof alert, sizeof alert);
	assert_int_equal(t_count(K_TLS_ALERT), 1);
	conn_end(c, T0 + SEC);
}

static void a_gap_stops_parsing_without_guessing(void **s)
{
	struct buf r = { .n = 0 };
	u8 alert[7] = { 21, 3, 3, 0, 2, 2, 70 };
	(void)s;
	struct conn *c = conn_new("192.168.1.10", 40000, "198.51.100.10");
	client_hello(&r, "gap.example.org");
	seg(c, DIR_C2S, r.b, r.n);
	r.n = 0;
	server_flight12(&r, NULL, 0);
	seg(c, DIR_S2C, r.b, 20);
	c->seq[DIR_S2C] += r.n - 20 + 100; /* the rest, and 100 more bytes, lost */
	seg(c, DIR_S2C, alert, sizeof alert);
	assert_int_equal(c->f.app_done, 1);
	assert_int_equal(findings_count(), 0);
	/* Its outcome is unknown: no timeout either, however late it ends. */
	conn_end(c, T0 + 3600 * SEC);
	assert_int_equal(findings_count(), 0);
}

static void a_missing_first_segment_is_a_gap_when_the_syn_was_seen(void **s)
{
	struct buf r = { .n = 0 };
	u8 alert[7] = { 21, 3, 3, 0, 2, 2, 70 };
	(void)s;
	struct conn *c = conn_new("192.168.1.10", 40000, "198.51.100.10");
	c->f.synack_frame = 2; /* the server's SYN-ACK was at 70000 */
	c->f.side[DIR_S2C].seq_valid = 1;
	c->f.side[DIR_S2C].isn = 70000;
	client_hello(&r, "gap.example.org");
	seg(c, DIR_C2S, r.b, r.n);
	c->seq[DIR_S2C] = 70001 + 1400; /* the first 1400 bytes never made it */
	seg(c, DIR_S2C, alert, sizeof alert);
	assert_int_equal(c->f.app_done, 1);
	assert_int_equal(findings_count(), 0);
	conn_end(c, T0 + SEC);
}

static void a_segment_cut_by_the_snapshot_length_ends_parsing(void **s)
{
	struct buf r = { .n = 0 };
	(void)s;
	struct conn *c = conn_new("192.168.1.10", 40000, "198.51.100.10");
	client_hello(&r, "snap.example.org");
	seg_raw(c, DIR_C2S, c->seq[DIR_C2S], r.b, r.n, r.n + 500);
	/* What was captured is still read: the ClientHello and its name. */
	assert_string_equal(names_get(c->f.name_id), "snap.example.org");
	assert_int_equal(c->f.app_done, 1);
	conn_end(c, T0 + 3600 * SEC);
	assert_int_equal(t_count(K_TLS_TIMEOUT), 0);
}

static void a_record_that_is_not_tls_ends_parsing(void **s)
{
	struct buf r = { .n = 0 };
	(void)s;
	struct conn *c = conn_new("192.168.1.10", 40000, "198.51.100.10");
	client_hello(&r, "www.example.com");
	seg(c, DIR_C2S, r.b, r.n);
	seg(c, DIR_S2C, (const u8 *)"HTTP/1.1 400 Bad Request\r\n\r\n", 28);
	assert_int_equal(c->f.app_done, 1);
	conn_end(c, T0 + 3600 * SEC);
	assert_int_equal(findings_count(), 0);
}

/* ---- alerts ---- */

static void alert_names_follow_rfc_8446_and_the_registry(void **s)
{
	static const struct { u8 d; const char *n; } want[] = {
		{ 0, "close_notify" }, { 10, "unexpected_message" }, { 20, "bad_record_mac" },
		{ 21, "decryption_failed" }, { 22, "record_overflow" }, { 40, "handshake_failure" },
		{ 41, "no_certificate" }, { 42, "bad_certificate" }, { 43, "unsupported_certificate" },
		{ 44, "certificate_revoked" }, { 45, "certificate_expired" },
		{ 46, "certificate_unknown" }, { 47, "illegal_parameter" }, { 48, "unknown_ca" },
		{ 49, "access_denied" }, { 50, "decode_error" }, { 51, "decrypt_error" },
		{ 60, "export_restriction" }, { 70, "protocol_version" },
		{ 71, "insufficient_security" }, { 80, "internal_error" },
		{ 86, "inappropriate_fallback" }, { 90, "user_canceled" }, { 100, "no_renegotiation" },
		{ 109, "missing_extension" }, { 110, "unsupported_extension" },
		{ 111, "certificate_unobtainable" }, { 112, "unrecognized_name" },
		{ 113, "bad_certificate_status_response" }, { 114, "bad_certificate_hash_value" },
		{ 115, "unknown_psk_identity" }, { 116, "certificate_required" },
		{ 120, "no_application_protocol" },
	};
	(void)s;
	for (size_t i = 0; i < sizeof want / sizeof *want; i++)
		assert_string_equal(tls_alert_name(want[i].d), want[i].n);
	assert_null(tls_alert_name(1));
	assert_null(tls_alert_name(255));
}

static void fatal_server_alert_is_reported_with_its_facts(void **s)
{
	struct buf r = { .n = 0 };
	u8 alert[7] = { 21, 3, 3, 0, 2, 2, 70 };
	(void)s;
	struct conn *c = conn_new("192.168.1.10", 40000, "198.51.100.10");
	client_hello(&r, "www.google-analytics.com");
	seg(c, DIR_C2S, r.b, r.n);
	seg_split(c, DIR_S2C, alert, sizeof alert, 6); /* the alert's last byte comes later */
	const struct finding *f = t_find(K_TLS_ALERT, 0);
	assert_non_null(f);
	assert_int_equal(f->origin, O_SERVER);
	assert_int_equal(f->cat, CAT_TLS);
	assert_int_equal(dint(f, "level"), 2);
	assert_string_equal(dstr(f, "level_name"), "fatal");
	assert_int_equal(dint(f, "description"), 70);
	assert_string_equal(dstr(f, "description_name"), "protocol_version");
	assert_string_equal(dstr(f, "sender"), "server");
	assert_int_equal(f->frame, 3); /* where the record completed */
	assert_int_equal(f->ev[1], 1);
	u32 failed, seen = tls_seen(&failed);
	assert_int_equal(seen, 1);
	assert_int_equal(failed, 1);
	conn_end(c, T0 + 60 * SEC);
	assert_int_equal(tls_seen(NULL), 1); /* counted once */
}

static void client_alert_is_local_and_unknown_descriptions_are_null(void **s)
{
	struct buf r = { .n = 0 };
	u8 alert[7] = { 21, 3, 3, 0, 2, 2, 200 };
	(void)s;
	struct conn *c = conn_new("192.168.1.10", 40000, "198.51.100.10");
	client_hello(&r, "www.example.com");
	seg(c, DIR_C2S, r.b, r.n);
	r.n = 0;
	server_flight12(&r, NULL, 0);
	seg(c, DIR_S2C, r.b, r.n);
	seg(c, DIR_C2S, alert, sizeof alert);
	const struct finding *f = t_find(K_TLS_ALERT, 0);
	assert_non_null(f);
	assert_int_equal(f->origin, O_LOCAL);
	assert_string_equal(dstr(f, "sender"), "client");
	assert_true(json_is_null(json_object_get(t_detail(f), "description_name")));
	assert_int_equal(f->ev[1], 1);
	assert_int_equal(f->ev[2], 2); /* the ServerHello */
	conn_end(c, T0 + SEC);
}

static void warning_unrecognized_name_lets_the_handshake_go_on(void **s)
{
	const struct der *chain[] = { &d_good, &d_inter };
	u8 w112[7] = { 21, 3, 3, 0, 2, 1, 112 };
	(void)s;
	struct conn *c = conn_new("192.168.1.10", 40000, "198.51.100.10");
	struct buf r = { .n = 0 };
	client_hello(&r, "www.example.com");
	seg(c, DIR_C2S, r.b, r.n);
	seg(c, DIR_S2C, w112, sizeof w112);
	assert_int_equal(c->f.app_done, 0);
	r.n = 0;
	server_flight12(&r, chain, 2);
	seg(c, DIR_S2C, r.b, r.n);
	finish12(c);
	assert_int_equal(c->f.app_done, 1);
	assert_int_equal(findings_count(), 0);
	u32 failed, seen = tls_seen(&failed);
	assert_int_equal(seen, 1);
	assert_int_equal(failed, 0);
	conn_end(c, T0 + SEC);
}

static void warning_that_ends_an_unfinished_handshake_is_reported(void **s)
{
	struct buf r = { .n = 0 };
	u8 w[7] = { 21, 3, 3, 0, 2, 1, 0 }; /* close_notify before completion */
	(void)s;
	struct conn *c = conn_new("192.168.1.10", 40000, "198.51.100.10");
	client_hello(&r, "www.example.com");
	seg(c, DIR_C2S, r.b, r.n);
	seg(c, DIR_S2C, w, sizeof w);
	const struct finding *f = t_find(K_TLS_ALERT, 0);
	assert_non_null(f);
	assert_string_equal(dstr(f, "level_name"), "warning");
	assert_string_equal(dstr(f, "description_name"), "close_notify");
	conn_end(c, T0 + SEC);
}

static void encrypted_alerts_are_not_read(void **s)
{
	struct buf r = { .n = 0 };
	u8 enc[31] = { 21, 3, 3, 0, 26 };
	u8 clear_looking[7] = { 21, 3, 3, 0, 2, 2, 20 };
	(void)s;
	for (int i = 5; i < 31; i++)
		enc[i] = (u8)(i * 13 + 1);
	/* TLS 1.2: after the server's ChangeCipherSpec, its alerts are ciphertext. */
	struct conn *c = conn_new("192.168.1.10", 40000, "198.51.100.10");
	client_hello(&r, "www.example.com");
	seg(c, DIR_C2S, r.b, r.n);
	r.n = 0;
	server_flight12(&r, NULL, 0);
	seg(c, DIR_S2C, r.b, r.n);
	seg(c, DIR_S2C, ccs_rec, sizeof ccs_rec);
	seg(c, DIR_S2C, enc, sizeof enc);
	seg(c, DIR_S2C, clear_looking, sizeof clear_looking);
	assert_int_equal(t_count(K_TLS_ALERT), 0);
	conn_end(c, T0 + SEC);
	/* TLS 1.3: the server's alerts after its ServerHello are encrypted. */
	c = conn_new("192.168.1.10", 40001, "198.51.100.10");
	struct buf body = { .n = 0 }, m = { .n = 0 };
	r.n = 0;
	client_hello(&r, "www.example.com");
	seg(c, DIR_C2S, r.b, r.n);
	r.n = 0;
	sh_body(&body, 0x0304, NULL, 0);
	hs_msg(&m, 2, &body);
	rec(&r, 22, m.b, m.n);
	seg(c, DIR_S2C, r.b, r.n);
	seg(c, DIR_S2C, clear_looking, sizeof clear_looking);
	assert_int_equal(t_count(K_TLS_ALERT), 0);
	conn_end(c, T0 + SEC);
}

/* ---- completion and timeouts ---- */

static void tls12_completes_on_both_change_cipher_specs(void **s)
{
	const struct der *chain[] = { &d_good, &d_inter };
	(void)s;
	struct conn *c = handshake12("www.example.com", chain, 2, T0, 0);
	seg(c, DIR_C2S, ccs_rec, sizeof ccs_rec);
	assert_int_equal(c->f.app_done, 0);
	seg(c, DIR_S2C, ccs_rec, sizeof ccs_rec);
	assert_int_equal(c->f.app_done, 1);
	assert_int_equal(findings_count(), 0);
	assert_int_equal(tls_seen(NULL), 1);
	conn_end(c, T0 + 3600 * SEC);
	assert_int_equal(tls_seen(NULL), 1);
	assert_int_equal(findings_count(), 0);
}

/* ClientHello, then a TLS 1.3 ServerHello (after a HelloRetryRequest when
 * hrr), then the server's encrypted flight. */
static struct conn *hello13(int hrr)
{
	struct buf r = { .n = 0 }, body = { .n = 0 }, m = { .n = 0 };
	u8 flight[60] = { 23, 3, 3, 0, 55 };
	struct conn *c = conn_new("192.168.1.10", 40000, "198.51.100.10");
	static const u16 v13[] = { 0x0304, 0x0303 };
	ch_body(&body, "www.example.com", "h2", v13, 2);
	hs_msg(&m, 1, &body);
	rec(&r, 22, m.b, m.n);
	seg(c, DIR_C2S, r.b, r.n);
	if (hrr) {
		r.n = body.n = m.n = 0;
		sh_body(&body, 0x0304, NULL, 1);
		hs_msg(&m, 2, &body);
		rec(&r, 22, m.b, m.n);
		b_mem(&r, ccs_rec, sizeof ccs_rec); /* middlebox compatibility */
		seg(c, DIR_S2C, r.b, r.n);
		r.n = body.n = m.n = 0;
		seg(c, DIR_C2S, ccs_rec, sizeof ccs_rec);
		ch_body(&body, "www.example.com", "h2", v13, 2);
		hs_msg(&m, 1, &body);
		rec(&r, 22, m.b, m.n);
		seg(c, DIR_C2S, r.b, r.n);
	}
	r.n = body.n = m.n = 0;
	sh_body(&body, 0x0304, NULL, 0);
	hs_msg(&m, 2, &body);
	rec(&r, 22, m.b, m.n);
	b_mem(&r, ccs_rec, sizeof ccs_rec);
	b_mem(&r, flight, sizeof flight);
	seg(c, DIR_S2C, r.b, r.n);
	return c;
}

static void tls13_completes_on_client_data_after_the_server_flight(void **s)
{
	u8 fin[58] = { 23, 3, 3, 0, 53 };
	(void)s;
	struct conn *c = hello13(0);
	assert_int_equal(c->f.app_done, 0);
	seg(c, DIR_C2S, ccs_rec, sizeof ccs_rec);
	assert_int_equal(c->f.app_done, 0); /* a dummy ChangeCipherSpec says nothing */
	seg(c, DIR_C2S, fin, sizeof fin);
	assert_int_equal(c->f.app_done, 1);
	u32 failed, seen = tls_seen(&failed);
	assert_int_equal(seen, 1);
	assert_int_equal(failed, 0);
	conn_end(c, T0 + 3600 * SEC);
	assert_int_equal(findings_count(), 0);
}

static void tls13_after_hello_retry_request_still_completes(void **s)
{
	u8 fin[58] = { 23, 3, 3, 0, 53 };
	(void)s;
	struct conn *c = hello13(1);
	seg(c, DIR_C2S, fin, sizeof fin);
	assert_int_equal(c->f.app_done, 1);
	assert_int_equal(tls_seen(NULL), 1);
	conn_end(c, T0 + SEC);
}

static void tls13_record_sized_like_an_alert_is_not_completion(void **s)
{
	u8 small[24] = { 23, 3, 3, 0, 19 };
	(void)s;
	struct conn *c = hello13(0);
	seg(c, DIR_C2S, small, sizeof small);
	assert_int_equal(c->f.app_done, 0);
	conn_end(c, T0 + 3600 * SEC);
	const struct finding *f = t_find(K_TLS_TIMEOUT, 0);
	assert_non_null(f);
	assert_string_equal(dstr(f, "stage"), "server_hello_received");
	assert_int_equal(dint(f, "version"), 0x0304);
}

static void timeout_says_how_far_the_handshake_got(void **s)
{
	const struct der *chain[] = { &d_good, &d_inter };
	struct buf r = { .n = 0 };
	(void)s;
	/* ClientHello only. */
	struct conn *c = conn_new("192.168.1.10", 40000, "198.51.100.10");
	client_hello(&r, "www.example.com");
	seg(c, DIR_C2S, r.b, r.n);
	u32 ch_frame = c->frame;
	conn_end(c, T0 + 9 * SEC); /* not yet due */
	assert_int_equal(t_count(K_TLS_TIMEOUT), 0);
	c = conn_new("192.168.1.10", 40001, "198.51.100.10");
	seg(c, DIR_C2S, r.b, r.n);
	conn_end(c, T0 + 11 * SEC);
	const struct finding *f = t_find(K_TLS_TIMEOUT, 0);
	assert_non_null(f);
	assert_string_equal(dstr(f, "stage"), "client_hello_sent");
	assert_int_equal(f->frame, ch_frame);
	assert_int_equal(f->ts_us, T0 + 1000 + g_opts.tls_timeout_us);
	/* ServerHello without a certificate, then with one. */
	c = conn_new("192.168.1.10", 40002, "198.51.100.10");
	seg(c, DIR_C2S, r.b, r.n);
	struct buf sh = { .n = 0 };
	server_flight12(&sh, NULL, 0);
	seg(c, DIR_S2C, sh.b, sh.n);
	conn_end(c, T0 + 60 * SEC);
	assert_string_equal(dstr(t_find(K_TLS_TIMEOUT, 1), "stage"), "server_hello_received");
	c = handshake12("www.example.com", chain, 2, T0, 0);
	conn_end(c, T0 + 60 * SEC);
	assert_string_equal(dstr(t_find(K_TLS_TIMEOUT, 2), "stage"), "certificate_received");
	/* A reset is the tcp analyzer's finding, not a timeout. */
	c = conn_new("192.168.1.10", 40003, "198.51.100.10");
	seg(c, DIR_C2S, r.b, r.n);
	c->f.tcp_state = TCPS_RESET;
	conn_end(c, T0 + 60 * SEC);
	assert_int_equal(t_count(K_TLS_TIMEOUT), 3);
	u32 failed, seen = tls_seen(&failed);
	assert_int_equal(seen, 4); /* the one ended early was not judged */
	assert_int_equal(failed, 4);
}

/* ---- certificates ---- */

static void chain_of_the_given_ca_verifies(void **s)
{
	const struct der *chain[] = { &d_good, &d_inter };
	(void)s;
	struct conn *c = handshake12("example.com", chain, 2, T0, 1);
	assert_int_equal(findings_count(), 0);
	assert_int_equal(c->f.app_done, 1);
	/* The completed handshake vouches for the address under the name (a DNS
	 * answer pointing there is genuine), and the chain counts as checked. */
	u32 fr = 0;
	assert_int_equal(services_vouched(&c->f.srv, names_intern("example.com"), &fr), 1);
	assert_int_equal(fr, 2); /* the ServerHello */
	assert_int_equal(services_vouched(&c->f.srv, names_intern("www.example.com"), NULL), 0);
	assert_int_equal(findings_checks(0)[AC_CHAINS], 1);
	assert_int_equal(findings_checks(1)[AC_CHAINS], 0);
	conn_end(c, T0 + SEC);
}

static void trust_anchors_are_parsed_only_when_a_chain_names_them(void **s)
{
	const struct der *chain[] = { &d_good, &d_inter };
	unsigned nread, before, after;
	(void)s;
	anchors_counts(&nread, &before);
	struct conn *c = handshake12("example.com", chain, 2, T0 + 3 * SEC, 1);
	anchors_counts(&nread, &after);
	assert_int_equal(findings_count(), 0);
	assert_true(nread > 1);             /* the system bundle and the test CA were read */
	assert_true(after <= before + 1);   /* at most the one root this chain names */
	assert_true(after < nread);         /* and not the whole bundle */
	conn_end(c, T0 + 4 * SEC);
}

static void self_signed_certificate_is_untrusted(void **s)
{
	const struct der *chain[] = { &d_self };
	(void)s;
	struct conn *c = handshake12("www.example.com", chain, 1, T0, 0);
	assert_int_equal(findings_count(), 1);
	const struct finding *f = t_find(K_CERT_UNTRUSTED, 0);
	assert_non_null(f);
	assert_string_equal(dstr(f, "subject"), "CN=www.example.com");
	assert_string_equal(dstr(f, "issuer"), "CN=www.example.com");
	assert_string_equal(dstr(f, "verify_error"), "self-signed certificate");
	assert_int_equal(f->origin, O_UNKNOWN); /* not a catalog service */
	assert_int_equal(f->frame, 2);
	assert_int_equal(c->f.app_done, 1); /* failed: no more parsing */
	/* A refused certificate speaks against the address for the name. */
	assert_int_equal(services_vouched(&c->f.srv, names_intern("www.example.com"), NULL), -1);
	assert_int_equal(findings_checks(0)[AC_CHAINS], 1);
	assert_int_equal(findings_checks(1)[AC_CHAINS], 0); /* not a catalog service: not called interception */
	conn_end(c, T0 + SEC);
	u32 failed;
	assert_int_equal(tls_seen(&failed), 1);
	assert_int_equal(failed, 1);
}

static void missing_intermediate_is_an_unknown_issuer(void **s)
{
	const struct der *chain[] = { &d_good };
	(void)s;
	struct conn *c = handshake12("www.example.com", chain, 1, T0, 0);
	const struct finding *f = t_find(K_CERT_UNTRUSTED, 0);
	assert_non_null(f);
	assert_string_equal(dstr(f, "verify_error"), "unable to get local issuer certificate");
	assert_string_equal(dstr(f, "issuer"), "CN=panne test intermediate CA");
	conn_end(c, T0 + SEC);
}

static void certificate_for_another_name_is_a_mismatch_only(void **s)
{
	const struct der *chain[] = { &d_wrong, &d_inter };
	(void)s;
	struct conn *c = handshake12("www.example.com", chain, 2, T0, 0);
	assert_int_equal(findings_count(), 1);
	const struct finding *f = t_find(K_CERT_MISMATCH, 0);
	assert_non_null(f);
	assert_string_equal(dstr(f, "subject"), "CN=other.example.net");
	assert_string_equal(dstr(f, "sni"), "www.example.com");
	json_t *sans = json_object_get(t_detail(f), "sans");
	assert_int_equal(json_array_size(sans), 1);
	assert_string_equal(json_string_value(json_array_get(sans, 0)), "other.example.net");
	conn_end(c, T0 + SEC);
}

static void ip_literal_sni_is_matched_against_address_sans(void **s)
{
	const struct der *chain[] = { &d_good, &d_inter };
	(void)s;
	conn_end(handshake12("192.0.2.7", chain, 2, T0, 1), T0 + SEC);
	assert_int_equal(findings_count(), 0);
	struct conn *c = handshake12("192.0.2.8", chain, 2, T0, 0);
	const struct finding *f = t_find(K_CERT_MISMATCH, 0);
	assert_non_null(f);
	assert_string_equal(dstr(f, "sni"), "192.0.2.8");
	assert_int_equal(json_array_size(json_object_get(t_detail(f), "sans")), 2); /* DNS names only */
	conn_end(c, T0 + SEC);
}

static void unknown_issuer_in_a_capture_over_a_year_old_is_not_judged(void **s)
{
	const struct der *chain[] = { &d_good };
	(void)s;
	/* Today's store may lack the roots of then: say nothing rather than blame. */
	conn_end(handshake12("www.example.com", chain, 1, T2020, 1), T2020 + SEC);
	assert_int_equal(findings_count(), 0);
}

static void expired_leaf_is_cert_expired_only(void **s)
{
	const struct der *chain[] = { &d_expired, &d_inter };
	(void)s;
	struct conn *c = handshake12("www.example.com", chain, 2, T0, 0);
	assert_int_equal(findings_count(), 1);
	const struct finding *f = t_find(K_CERT_EXPIRED, 0);
	assert_non_null(f);
	assert_string_equal(dstr(f, "not_before"), "2020-01-01T00:00:00Z");
	assert_string_equal(dstr(f, "not_after"), "2021-01-01T12:00:00Z");
	assert_string_equal(dstr(f, "capture_time"), "2030-01-01T00:00:00.002000Z");
	assert_int_equal(dint(f, "depth"), 0);
	assert_int_equal(f->origin, O_SERVER);
	conn_end(c, T0 + SEC);
}

static void expired_intermediate_is_cert_expired_at_depth_one(void **s)
{
	const struct der *chain[] = { &d_good, &d_inter_exp };
	(void)s;
	struct conn *c = handshake12("www.example.com", chain, 2, T0, 0);
	assert_int_equal(findings_count(), 1);
	const struct finding *f = t_find(K_CERT_EXPIRED, 0);
	assert_non_null(f);
	assert_int_equal(dint(f, "depth"), 1);
	assert_string_equal(dstr(f, "subject"), "CN=panne test intermediate CA");
	assert_string_equal(dstr(f, "not_after"), "2021-01-01T12:00:00Z");
	conn_end(c, T0 + SEC);
}

static void expired_self_signed_is_two_findings_one_failed_handshake(void **s)
{
	const struct der *chain[] = { &d_self_exp };
	(void)s;
	struct conn *c = handshake12("www.example.com", chain, 1, T0, 0);
	assert_int_equal(t_count(K_CERT_EXPIRED), 1);
	assert_int_equal(t_count(K_CERT_UNTRUSTED), 1);
	assert_int_equal(t_count(K_CERT_MISMATCH), 0);
	conn_end(c, T0 + 60 * SEC);
	u32 failed;
	assert_int_equal(tls_seen(&failed), 1);
	assert_int_equal(failed, 1);
	assert_int_equal(findings_count(), 2);
}

static void validity_is_judged_at_the_capture_time(void **s)
{
	const struct der *good[] = { &d_good, &d_inter };
	const struct der *expired[] = { &d_expired, &d_inter };
	(void)s;
	/* In 2020 the short-lived certificate was fine. */
	struct conn *c = handshake12("www.example.com", expired, 2, T2020, 0);
	assert_int_equal(findings_count(), 0);
	conn_end(c, T2020 + SEC);
	/* In 2019 no test certificate was valid yet. */
	c = handshake12("www.example.com", good, 2, T2019, 0);
	const struct finding *f = t_find(K_CERT_EXPIRED, 0);
	assert_non_null(f);
	assert_string_equal(dstr(f, "not_before"), "2020-01-01T00:00:00Z");
	conn_end(c, T2019 + SEC);
}

static void repeated_chains_are_judged_once_per_day(void **s)
{
	const struct der *chain[] = { &d_self };
	u64 hits, misses;
	(void)s;
	for (int i = 0; i < 3; i++)
		conn_end(handshake12("www.example.com", chain, 1, T0 + (u64)i * 60 * SEC, 0), T0 + SEC);
	cert_cache_stats(&hits, &misses);
	assert_int_equal(misses, 1);
	assert_int_equal(hits, 2);
	assert_int_equal(t_count(K_CERT_UNTRUSTED), 3); /* each handshake still reports */
	/* Another name is another verdict. */
	conn_end(handshake12("example.com", chain, 1, T0, 0), T0 + SEC);
	cert_cache_stats(&hits, &misses);
	assert_int_equal(misses, 2);
}

static void cached_verdict_is_not_reused_across_a_validity_boundary(void **s)
{
	const struct der *chain[] = { &d_expired, &d_inter };
	const u64 end = 1609502400000000ull; /* 2021-01-01T12:00:00Z, its notAfter */
	(void)s;
	conn_end(handshake12("www.example.com", chain, 2, end - 3600 * SEC, 1), end);
	assert_int_equal(findings_count(), 0);
	conn_end(handshake12("www.example.com", chain, 2, end + 3600 * SEC, 1), end);
	assert_int_equal(t_count(K_CERT_EXPIRED), 1);
}

static void without_the_ca_file_the_test_chain_is_untrusted(void **s)
{
	const struct der *chain[] = { &d_good, &d_inter };
	char err[256];
	(void)s;
	g_opts.ca_file = NULL;
	assert_int_equal(tls_init(NULL, err, sizeof err), 0);
	struct conn *c = handshake12("www.example.com", chain, 2, T0, 0);
	const struct finding *f = t_find(K_CERT_UNTRUSTED, 0);
	assert_non_null(f);
	assert_string_equal(dstr(f, "verify_error"), "unable to get local issuer certificate");
	conn_end(c, T0 + SEC);
	assert_int_equal(tls_init("/nonexistent/ca.pem", err, sizeof err), -1);
	assert_non_null(strstr(err, "/nonexistent/ca.pem"));
	assert_int_equal(tls_init(ca_path, err, sizeof err), 0);
}

/* ---- hostile input ---- */

static void hostile_handshakes_do_not_crash_or_overreach(void **s)
{
	struct buf r = { .n = 0 };
	u8 junk[3000];
	(void)s;
	for (int round = 0; round < 40; round++) {
		struct conn *c = conn_new("192.168.1.10", (u16)(41000 + round), "198.51.100.10");
		r.n = 0;
		client_hello(&r, "x.example");
		if (round % 4 == 1)
			r.b[52] = 0xff; /* extensions claim more than the message holds */
		seg(c, DIR_C2S, r.b, r.n);
		for (u32 i = 0; i < sizeof junk; i++)
			junk[i] = (u8)(i * 131 + (u32)round * 7);
		/* A handshake record whose messages claim any length, type, chain. */
		junk[0] = 22, junk[1] = 3, junk[2] = 3, junk[3] = 0x0b, junk[4] = 0xb0;
		junk[5] = (u8)(round % 3 == 0 ? 2 : 11);
		junk[6] = (u8)(round & 1 ? 0xff : 0), junk[7] = 0x0b, junk[8] = 0xa0;
		seg_split(c, DIR_S2C, junk, sizeof junk, 1 + (u32)round * 37);
		conn_end(c, T0 + 3600 * SEC);
	}
	/* A wanted message longer than TLS_BUF_MAX is skipped, not kept. */
	struct conn *c = conn_new("192.168.1.10", 42000, "198.51.100.10");
	r.n = 0;
	client_hello(&r, "big.example");
	seg(c, DIR_C2S, r.b, r.n);
	struct buf sh = { .n = 0 }, m = { .n = 0 };
	sh_body(&sh, 0, NULL, 0);
	hs_msg(&m, 2, &sh);
	r.n = 0;
	rec(&r, 22, m.b, m.n);
	u8 big[9] = { 22, 3, 3, 0x40, 0x00, 11, 0x02, 0x00, 0x00 }; /* Certificate of 128 KiB */
	b_mem(&r, big, sizeof big);
	seg(c, DIR_S2C, r.b, r.n);
	u8 fill[1024];
	memset(fill, 0x30, sizeof fill);
	for (int i = 0; i < 15; i++)
		seg(c, DIR_S2C, fill, sizeof fill);
	seg(c, DIR_S2C, fill, 0x4000 - 4 - 15 * 1024);
	u8 next[5] = { 22, 3, 3, 0x40, 0x00 };
	seg(c, DIR_S2C, next, sizeof next); /* still in step with the records */
	assert_int_equal(c->f.app_done, 0);
	conn_end(c, T0 + SEC);
	assert_true(findings_count() < 100);
}

/* ---- through the whole pipeline ---- */

#define C "192.168.1.10"
#define S "198.51.100.10"

static u32 cseq, sseq;
static u16 cport = 40000;
static const char *srv = S; /* the server of tcp_handshake() and send_dir() */

static void tcp_handshake(void)
{
	struct tframe f;
	cport++;
	cseq = 1000, sseq = 5000;
	t_tcp(&f, C, cport, srv, 443, cseq, 0, TH_SYN, NULL, 0, 64);
	t_feed(&f, T0);
	t_tcp(&f, srv, 443, C, cport, sseq, cseq + 1, TH_SYN | TH_ACK, NULL, 0, 60);
	t_feed(&f, T0 + 100);
	cseq++, sseq++;
}

static void send_dir(int to_server, const u8 *p, u32 n, u64 at)
{
	struct tframe f;
	if (to_server) {
		t_tcp(&f, C, cport, srv, 443, cseq, sseq, TH_ACK | TH_PSH, p, n, 64);
		cseq += n;
	} else {
		t_tcp(&f, srv, 443, C, cport, sseq, cseq, TH_ACK | TH_PSH, p, n, 60);
		sseq += n;
	}
	t_feed(&f, at);
}

/* A resolver beyond the LAN answers name with the private address 10.20.0.5
 * (a company's or a lab's own DNS), then the client's TLS 1.2 handshake
 * there presents chain. */
static void split_horizon(const char *name, const struct der *const *chain, int n)
{
	u8 m[512];
	struct tframe f;
	struct buf r = { .n = 0 };
	const char *a[1] = { "10.20.0.5" };
	u32 l = t_dns(m, 7, 0, 0, name, 1, NULL, 0);
	t_udp(&f, C, 53000, "198.51.100.53", 53, m, l, 64);
	t_feed(&f, T0 - 3000);
	l = t_dns(m, 7, 1, 0, name, 1, a, 1);
	t_udp(&f, "198.51.100.53", 53, C, 53000, m, l, 58);
	t_feed(&f, T0 - 2000);
	srv = "10.20.0.5";
	tcp_handshake();
	client_hello(&r, name);
	send_dir(1, r.b, r.n, T0 + 200);
	r.n = 0;
	server_flight12(&r, chain, n);
	send_dir(0, r.b, r.n, T0 + 400);
	u8 kx[] = { 22, 3, 3, 0, 8, 16, 0, 0, 4, 1, 2, 3, 4 };
	u8 fin[45] = { 22, 3, 3, 0, 40 };
	for (int i = 5; i < 45; i++)
		fin[i] = (u8)(i * 37);
	send_dir(1, kx, sizeof kx, T0 + 500);
	send_dir(1, ccs_rec, sizeof ccs_rec, T0 + 510);
	send_dir(1, fin, sizeof fin, T0 + 520);
	send_dir(0, ccs_rec, sizeof ccs_rec, T0 + 600);
	send_dir(0, fin, sizeof fin, T0 + 610);
	srv = S;
	pipeline_file_end();
}

static void private_answer_whose_handshake_verifies_is_the_service(void **s)
{
	const struct der *chain[] = { &d_good, &d_inter };
	(void)s;
	split_horizon("example.com", chain, 2);
	assert_int_equal(findings_count(), 0);
	const struct group_stats *g = findings_group_find("example.com");
	assert_non_null(g);
	assert_int_equal(g->failed[CAT_DNS], 0);
	assert_int_equal(g->seen[CAT_TLS], 1);
	assert_int_equal(g->failed[CAT_TLS], 0);
}

static void private_answer_whose_certificate_is_refused_is_private_failed(void **s)
{
	const struct der *chain[] = { &d_self };
	(void)s;
	split_horizon("www.example.com", chain, 1);
	assert_non_null(t_find(K_CERT_UNTRUSTED, 0));
	const struct finding *b = t_find(K_DNS_BOGUS_ANSWER, 0);
	assert_non_null(b);
	assert_string_equal(dstr(b, "reason"), "private_failed");
	assert_int_equal(dint(b, "handshake_frame"), t_find(K_CERT_UNTRUSTED, 0)->frame);
	assert_int_equal(b->origin, O_RESOLVER);
}

static void streaming_service_with_a_self_made_root_is_interception(void **s)
{
	const struct der *chain[] = { &d_self };
	struct buf r = { .n = 0 };
	(void)s;
	tcp_handshake();
	client_hello(&r, "www.netflix.com");
	send_dir(1, r.b, 10, T0 + 200); /* the record split across two segments */
	send_dir(1, r.b + 10, r.n - 10, T0 + 300);
	r.n = 0;
	server_flight12(&r, chain, 1);
	send_dir(0, r.b, r.n, T0 + 400);
	pipeline_file_end();
	const struct finding *u = t_find(K_CERT_UNTRUSTED, 0);
	assert_non_null(u);
	assert_string_equal(u->group, "netflix");
	assert_int_equal(u->origin, O_ONPATH);
	assert_non_null(json_object_get(t_detail(u), "interception"));
	assert_int_equal(t_count(K_CERT_MISMATCH), 1); /* for www.example.com */
	assert_int_equal(u->frame, 5);
	assert_int_equal(u->ev[1], 4);
	assert_int_equal(findings_checks(1)[AC_CHAINS], 1); /* chains_intercepted */
	const struct group_stats *g = findings_group_find("netflix");
	assert_non_null(g);
	assert_int_equal(g->checked[AC_CHAINS], 1);
	assert_int_equal(g->found[AC_CHAINS], 1);
}

static void a_different_certificate_after_one_that_verified_is_interception(void **s)
{
	const struct der *good[] = { &d_good, &d_inter };
	const struct der *other[] = { &d_self };
	const struct der *same_leaf[] = { &d_good };
	struct buf r = { .n = 0 };
	(void)s;
	tcp_handshake();
	client_hello(&r, "www.example.com");
	send_dir(1, r.b, r.n, T0 + 200);
	r.n = 0;
	server_flight12(&r, good, 2);
	send_dir(0, r.b, r.n, T0 + 300);
	u32 good_frame = t_frame;
	send_dir(1, ccs_rec, sizeof ccs_rec, T0 + 400);
	send_dir(0, ccs_rec, sizeof ccs_rec, T0 + 500);
	/* Then someone else's certificate for the same name. */
	tcp_handshake();
	r.n = 0;
	client_hello(&r, "www.example.com");
	send_dir(1, r.b, r.n, T0 + 600);
	r.n = 0;
	server_flight12(&r, other, 1);
	send_dir(0, r.b, r.n, T0 + 700);
	/* Then the good leaf without its intermediate: the server's own mistake. */
	tcp_handshake();
	r.n = 0;
	client_hello(&r, "www.example.com");
	send_dir(1, r.b, r.n, T0 + 800);
	r.n = 0;
	server_flight12(&r, same_leaf, 1);
	send_dir(0, r.b, r.n, T0 + 900);
	pipeline_file_end();
	assert_int_equal(t_count(K_CERT_UNTRUSTED), 2);
	const struct finding *u = t_find(K_CERT_UNTRUSTED, 0);
	assert_int_equal(u->origin, O_ONPATH);
	assert_int_equal(u->ev[u->n_ev - 1], good_frame); /* the one that verified */
	assert_non_null(json_object_get(t_detail(u), "interception"));
	u = t_find(K_CERT_UNTRUSTED, 1);
	assert_int_equal(u->origin, O_UNKNOWN);
	assert_null(json_object_get(t_detail(u), "interception"));
}

static void handshake_cut_for_one_name_while_another_works_is_sni_filtering(void **s)
{
	struct buf r = { .n = 0 };
	struct tframe f;
	(void)s;
	tcp_handshake();
	client_hello(&r, "example.org");
	send_dir(1, r.b, r.n, T0 + 200);
	r.n = 0;
	server_flight12(&r, NULL, 0);
	send_dir(0, r.b, r.n, T0 + 300);
	send_dir(1, ccs_rec, 6, T0 + 400);
	send_dir(0, ccs_rec, 6, T0 + 500);
	tcp_handshake();
	r.n = 0;
	client_hello(&r, "open.spotify.com");
	send_dir(1, r.b, r.n, T0 + 600);
	t_tcp(&f, S, 443, C, cport, sseq, cseq, TH_RST | TH_ACK, NULL, 0, 60);
	t_feed(&f, T0 + 700);
	pipeline_file_end();
	const struct finding *x = t_find(K_SNI_FILTERED, 0);
	assert_non_null(x);
	assert_string_equal(x->name, "open.spotify.com");
	assert_string_equal(json_string_value(json_object_get(t_detail(x), "works_for")), "example.org");
	assert_int_equal(x->frame, 9);
	assert_int_equal(t_count(K_RST), 0);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup_ca, teardown_ca)
	const struct CMUnitTest tests[] = {
		T(tls_detect_wants_a_client_hello_record),
		T(client_hello_names_the_flow_and_alert_detail_has_offer),
		T(client_hello_split_byte_by_byte_is_reassembled),
		T(several_records_in_one_segment_and_a_message_over_two_records),
		T(server_flight_in_small_segments_is_reassembled),
		T(retransmissions_are_skipped_and_overlaps_trimmed),
		T(a_gap_stops_parsing_without_guessing),
		T(a_missing_first_segment_is_a_gap_when_the_syn_was_seen),
		T(a_segment_cut_by_the_snapshot_length_ends_parsing),
		T(a_record_that_is_not_tls_ends_parsing),
		T(alert_names_follow_rfc_8446_and_the_registry),
		T(fatal_server_alert_is_reported_with_its_facts),
		T(client_alert_is_local_and_unknown_descriptions_are_null),
		T(warning_unrecognized_name_lets_the_handshake_go_on),
		T(warning_that_ends_an_unfinished_handshake_is_reported),
		T(encrypted_alerts_are_not_read),
		T(tls12_completes_on_both_change_cipher_specs),
		T(tls13_completes_on_client_data_after_the_server_flight),
		T(tls13_after_hello_retry_request_still_completes),
		T(tls13_record_sized_like_an_alert_is_not_completion),
		T(timeout_says_how_far_the_handshake_got),
		T(chain_of_the_given_ca_verifies),
		T(trust_anchors_are_parsed_only_when_a_chain_names_them),
		T(self_signed_certificate_is_untrusted),
		T(missing_intermediate_is_an_unknown_issuer),
		T(certificate_for_another_name_is_a_mismatch_only),
		T(ip_literal_sni_is_matched_against_address_sans),
		T(unknown_issuer_in_a_capture_over_a_year_old_is_not_judged),
		T(expired_leaf_is_cert_expired_only),
		T(expired_intermediate_is_cert_expired_at_depth_one),
		T(expired_self_signed_is_two_findings_one_failed_handshake),
		T(validity_is_judged_at_the_capture_time),
		T(repeated_chains_are_judged_once_per_day),
		T(cached_verdict_is_not_reused_across_a_validity_boundary),
		T(without_the_ca_file_the_test_chain_is_untrusted),
		T(hostile_handshakes_do_not_crash_or_overreach),
		T(private_answer_whose_handshake_verifies_is_the_service),
		T(private_answer_whose_certificate_is_refused_is_private_failed),
		T(streaming_service_with_a_self_made_root_is_interception),
		T(a_different_certificate_after_one_that_verified_is_interception),
		T(handshake_cut_for_one_name_while_another_works_is_sni_filtering),
	};
#undef T
	return cmocka_run_group_tests_name("tls", tests, NULL, NULL);
}
