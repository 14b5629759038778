/* \summary: TLS handshakes: record reassembly per direction (handshake
 * phase only, TCP retransmissions skipped, gaps end the parsing);
 * ClientHello (SNI, ALPN, versions), ServerHello, alerts in clear, TLS <= 1.2
 * certificate chains judged by cert.c at the capture's time; completion,
 * failure and timeout of each handshake. */
#include <openssl/x509_vfy.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "panne/cert.h"
#include "panne/config.h"
#include "panne/cursor.h"
#include "panne/findings.h"
#include "panne/opts.h"
#include "panne/services.h"
#include "panne/tls.h"
#include "panne/util.h"

/* Record content types (RFC 8446 section 5.1; heartbeat RFC 6520). */
#define CT_CCS 20
#define CT_ALERT 21
#define CT_HANDSHAKE 22
#define CT_APPDATA 23
#define CT_HEARTBEAT 24

/* Handshake message types (RFC 8446 section 4). */
#define HT_CLIENT_HELLO 1
#define HT_SERVER_HELLO 2
#define HT_CERTIFICATE 11

/* Extensions (RFC 6066 section 3, RFC 7301, RFC 8446 section 4.2). */
#define EXT_SERVER_NAME 0
#define EXT_ALPN 16
#define EXT_SUPPORTED_VERSIONS 43

#define REC_MAX (16384 + 2048) /* TLSCiphertext.length limit (RFC 5246 section 6.2.3) */
#define ALERT_CLEAR_MAX 8      /* a record of alerts in clear: 2 bytes each */
#define ENC_ALERT_MAX 24       /* TLS 1.3 encrypted alert: 2 + type + 16-byte tag, some slack */
#define TLS_VERSION_13 0x0304
#define STALE_STORE_S (365 * 86400u) /* older captures: unknown issuers not judged */
#define ALPN_LEN 32

/* TLS record header on the wire (RFC 8446 section 5.1). */
struct tls_rec_wire {
	u8 type;
	u8 ver[2];
	u8 len[2];
};

/* ServerHello.random of a HelloRetryRequest (RFC 8446 section 4.1.3). */
static const u8 hrr_random[32] = {
	0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
	0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
};

/* One direction of the TLS byte stream. */
struct tls_dir {
	/* TCP stream position */
	u8 seq_ok;        /* next_seq is known */
	u32 next_seq;     /* sequence number of the next new byte */
	/* record layer */
	u8 hdr[5];        /* a record header split across segments */
	u8 hdr_len;
	u8 rec_type;      /* of the current record */
	u16 rec_len;      /* its length */
	u16 rec_left;     /* bytes of it still to come */
	u8 alert[ALERT_CLEAR_MAX]; /* the current alert record's bytes */
	u8 alert_len;
	/* handshake messages (RFC 8446 section 4): type(1) length(3) body */
	u8 mh[4];         /* a message header split across records or segments */
	u8 mh_len;
	u32 skip;         /* body bytes of a message not parsed, still to pass */
	u8 msg_on;        /* the body of a parsed message is being collected */
	u8 msg_type;
	u32 msg_need, msg_have; /* its length, and bytes held */
	u8 *msg;          /* allocated when a message spans segments, sized to it */
	u32 msg_cap;
	/* state */
	u8 ccs;           /* sent ChangeCipherSpec: its later records are ciphertext */
	u8 hs_enc;        /* its handshake records are ciphertext (TLS 1.3 server after ServerHello) */
	u32 appdata;      /* application_data records begun */
};

/* Per flow, allocated at its first TLS payload; freed by tls_flow_end(). */
struct tls_state {
	struct tls_dir d[2];   /* by DIR_* */
	u8 ch_seen, sh_seen, hrr, cert_seen;
	u8 done;               /* handshake completed */
	u8 failed;             /* an alert or a certificate finding failed it */
	u8 counted;            /* findings_exchange() called */
	u8 gave_up;            /* a gap or a malformed record: outcome unknown */
	u8 c13_recs;           /* TLS 1.3: client application_data records after the
	                          server's flight (its Finished comes first) */
	u8 c13_first_small;    /* ... the first of which had the size of an encrypted alert */
	u8 not_tls;            /* a hello from another transport (QUIC): not in tstats */
	u16 client_version;    /* ClientHello.legacy_version */
	u16 offered_version;   /* highest the client offered (supported_versions) */
	u16 version;           /* negotiated: ServerHello, or its supported_versions */
	u32 ch_frame, sh_frame, cert_frame;
	u64 ch_us;
	char alpn_offer[ALPN_LEN]; /* client's first ALPN protocol, escaped */
	char alpn_sel[ALPN_LEN];   /* the server's choice (TLS <= 1.2 ServerHello) */
};

/* The leaf each name presented when it verified: a later, different leaf
 * that does not verify is someone else's (interception). */
struct seen_leaf {
	u32 name_id;
	u8 key[8];
	u32 frame;
};
#define SEEN_CAP 1024
static struct seen_leaf *seen;

/* The last handshake that completed with each server address, by name:
 * a handshake cut right after its ClientHello where another name works on
 * the same address was cut for its name (SNI filtering). */
struct done_on {
	struct addr srv;
	u32 name_id, frame;
};
#define DONE_CAP 1024
static struct done_on *done_on;

static struct done_on *done_slot(const struct addr *a)
{
	u32 h = 2166136261u;
	for (int i = 0; i < 16; i++)
		h = (h ^ a->b[i]) * 16777619u;
	return &done_on[h % DONE_CAP];
}

/* Alert descriptions: RFC 8446 section 6, and the older ones of RFC 5246,
 * RFC 6066 and the TLS registry. */
static const char *const alert_names[256] = {
	[0] = "close_notify", [10] = "unexpected_message", [20] = "bad_record_mac",
	[21] = "decryption_failed", [22] = "record_overflow", [30] = "decompression_failure",
	[40] = "handshake_failure", [41] = "no_certificate", [42] = "bad_certificate",
	[43] = "unsupported_certificate", [44] = "certificate_revoked", [45] = "certificate_expired",
	[46] = "certificate_unknown", [47] = "illegal_parameter", [48] = "unknown_ca",
	[49] = "access_denied", [50] = "decode_error", [51] = "decrypt_error",
	[60] = "export_restriction", [70] = "protocol_version", [71] = "insufficient_security",
	[80] = "internal_error", [86] = "inappropriate_fallback", [90] = "user_canceled",
	[100] = "no_renegotiation", [109] = "missing_extension", [110] = "unsupported_extension",
	[111] = "certificate_unobtainable", [112] = "unrecognized_name",
	[113] = "bad_certificate_status_response", [114] = "bad_certificate_hash_value",
	[115] = "unknown_psk_identity", [116] = "certificate_required",
	[120] = "no_application_protocol",
};

const char *tls_alert_name(u8 desc) { return alert_names[desc]; }

static struct tls_stats tstats;
static u8 *sni_seen; /* a bit per interned name: already counted as a server name */
const struct tls_stats *tls_stats(void) { return &tstats; }

static void tally(struct tls_tally *t, u16 key)
{
	u8 i;
	for (i = 0; i < t->n && t->v[i].key != key; i++)
		;
	if (i == t->n) {
		if (i == TLS_STATS_KEYS)
			return;
		t->n++;
		t->v[i].key = key;
	}
	t->v[i].n++;
}

int tls_init(const char *ca_file, char *err, size_t errlen)
{
	tls_reset();
	memset(&tstats, 0, sizeof tstats);
	if (cert_init(ca_file, err, errlen) < 0)
		return -1;
	seen = xcalloc(SEEN_CAP, sizeof *seen);
	done_on = xcalloc(DONE_CAP, sizeof *done_on);
	sni_seen = xcalloc(NAMES_CAP / 8 + 1, 1);
	return 0;
}

void tls_reset(void)
{
	cert_reset();
	free(seen);
	seen = NULL;
	free(done_on);
	done_on = NULL;
	free(sni_seen);
	sni_seen = NULL;
}

int tls_detect(const u8 *p, u32 n)
{
	/* A handshake record, version 3.x, with a length a ClientHello can have
	 * (version, random, session id, one suite, compression: 41 bytes and its
	 * 4-byte header at least), then the ClientHello type when captured. */
	if (!p || n < 5 || p[0] != CT_HANDSHAKE || p[1] != 3 || p[2] > 4)
		return 0;
	u32 len = (u32)p[3] << 8 | p[4];
	if (len < 45 || len > 16384)
		return 0;
	return n < 6 || p[5] == HT_CLIENT_HELLO;
}

/* TLS 1.3, or one of its drafts (0x7fNN). */
static int is_tls13(u16 v) { return v == TLS_VERSION_13 || (v >> 8) == 0x7f; }

/* GREASE values (RFC 8701): 0x0a0a, 0x1a1a, ... */
static int is_grease(u16 v) { return (v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff); }

/* "client" or "server", for the detail of a finding. */
static const char *sender_name(int dir) { return dir == DIR_C2S ? "client" : "server"; }

/* The flow's SNI as interned (lowercase), "" when none. */
static const char *flow_sni(const struct flow *f) { return f->name_id ? names_get(f->name_id) : ""; }

/* Starts a finding of f's handshake: frame first, then the ClientHello and
 * ServerHello frames; name = SNI; detail with the negotiated version (the
 * offered one before a ServerHello) and ALPN. */
static void tls_finding_base(struct finding *fd, int kind, struct flow *f, struct tls_state *t,
                             u64 ts, u32 frame)
{
	finding_init(fd, kind, f, ts, f->file, frame);
	finding_add_ev(fd, t->ch_frame);
	finding_add_ev(fd, t->sh_frame);
	finding_set_name(fd, f->name_id ? names_get(f->name_id) : NULL);
	if (t->version)
		json_object_set_new(fd->detail, "version", json_integer(t->version));
	else if (t->offered_version)
		json_object_set_new(fd->detail, "offered_version", json_integer(t->offered_version));
	if (t->alpn_sel[0] || t->alpn_offer[0])
		json_object_set_new(fd->detail, "alpn",
		                    json_string(t->alpn_sel[0] ? t->alpn_sel : t->alpn_offer));
}

/* Counts f's handshake for its group, once, failed or not. */
static void count_once(struct flow *f, struct tls_state *t, int failed)
{
	if (t->counted)
		return;
	t->counted = 1;
	findings_exchange(CAT_TLS, f->name_id ? names_get(f->name_id) : NULL, &f->srv, &f->cli, f->first_us, failed);
}

/* Stops parsing f: what follows cannot be read reliably (a gap in the TCP
 * stream, a record that is not TLS). The handshake's outcome stays unknown. */
static void give_up(struct flow *f, struct tls_state *t)
{
	t->gave_up = 1;
	f->app_done = 1;
}

/* ---- ClientHello / ServerHello (RFC 8446 sections 4.1.2, 4.1.3) ---- */

/* The first protocol of an ALPN extension body (RFC 7301 section 3.1). */
static void alpn_first(struct cur *e, char *out, size_t outsz)
{
	u16 ll;
	u8 pl;
	const u8 *pn;
	struct cur lst;
	if (cur_be16(e, &ll) < 0 || cur_sub(e, ll, &lst) < 0 || cur_u8(&lst, &pl) < 0 || pl == 0 ||
	    cur_ptr(&lst, pl, &pn) < 0)
		return;
	str_escape(pn, pl, out, outsz);
}

/* The host_name of a server_name extension body (RFC 6066 section 3). */
static void sni_take(struct flow *f, const struct tls_state *t, struct cur *e)
{
	u16 ll;
	struct cur lst;
	if (cur_be16(e, &ll) < 0 || cur_sub(e, ll, &lst) < 0)
		return;
	while (cur_left(&lst) >= 3) {
		u8 nt;
		u16 nl;
		const u8 *name;
		if (cur_u8(&lst, &nt) < 0 || cur_be16(&lst, &nl) < 0 || cur_ptr(&lst, nl, &name) < 0)
			return;
		if (nt != 0 || nl == 0 || nl > NAME_MAX_LEN)
			continue;
		char sni[NAME_MAX_LEN + 1];
		str_escape(name, nl, sni, sizeof sni);
		f->name_id = names_intern(sni);
		if (f->name_id && sni_seen && !t->not_tls && !(sni_seen[f->name_id >> 3] & (1u << (f->name_id & 7)))) {
			sni_seen[f->name_id >> 3] |= (u8)(1u << (f->name_id & 7));
			tstats.server_names++;
		}
		return;
	}
}

/* Rank of a version for "highest": drafts of 1.3 count as 1.3. */
static u16 version_rank(u16 v) { return (v >> 8) == 0x7f ? TLS_VERSION_13 : v; }


/* The next extension of a hello's extension block (RFC 8446 section 4.2):
 * its type, and a cursor over its body. 0 at the end or on a short one. */
static int ext_next(struct cur *ext, u16 *type, struct cur *body)
{
	u16 len;
	if (cur_left(ext) < 4)
		return 0;
	cur_be16(ext, type);
	cur_be16(ext, &len);
	return cur_sub(ext, len, body) == 0;
}

/* ClientHello body in c: legacy version, then the extensions that matter:
 * SNI (names the flow), ALPN, supported_versions. Stops quietly where the
 * message is short; what was read stays. */
static void parse_client_hello(struct flow *f, struct tls_state *t, struct cur *c)
{
	u8 sid_len, comp_len;
	u16 cs_len, ext_len;
	struct cur ext;

	if (cur_be16(c, &t->client_version) < 0)
		return;
	t->offered_version = t->client_version;
	if (cur_skip(c, 32) < 0 || cur_u8(c, &sid_len) < 0 || sid_len > 32 ||
	    cur_skip(c, sid_len) < 0 || cur_be16(c, &cs_len) < 0 || cur_skip(c, cs_len) < 0 ||
	    cur_u8(c, &comp_len) < 0 || cur_skip(c, comp_len) < 0)
		return;
	if (cur_be16(c, &ext_len) < 0)
		return; /* no extensions (allowed before TLS 1.3) */
	if (cur_sub(c, MIN((size_t)ext_len, cur_left(c)), &ext) < 0)
		return;
	u16 type;
	struct cur e;
	while (ext_next(&ext, &type, &e)) {
		if (type == EXT_SERVER_NAME && !f->name_id) {
			sni_take(f, t, &e);
		} else if (type == EXT_ALPN) {
			alpn_first(&e, t->alpn_offer, sizeof t->alpn_offer);
		} else if (type == EXT_SUPPORTED_VERSIONS) {
			u8 vl;
			struct cur vs;
			u16 best = 0;
			if (cur_u8(&e, &vl) < 0 || cur_sub(&e, vl, &vs) < 0)
				continue;
			while (cur_left(&vs) >= 2) {
				u16 v;
				cur_be16(&vs, &v);
				if (!is_grease(v) && version_rank(v) > version_rank(best))
					best = v;
			}
			if (best)
				t->offered_version = best;
		}
	}
}

/* ServerHello body in c: the negotiated version (its supported_versions
 * extension in TLS 1.3) and ALPN choice into t. Returns 1 for a HelloRetryRequest (which asks for a second ClientHello and
 * is not the ServerHello), else 0. */
static int parse_server_hello(struct tls_state *t, struct cur *c)
{
	u8 sid_len, comp;
	u16 ver, suite, ext_len, sel = 0;
	const u8 *random;
	char alpn[ALPN_LEN] = "";
	struct cur ext;

	if (cur_be16(c, &ver) < 0 || cur_ptr(c, 32, &random) < 0)
		return 0;
	int hrr = memcmp(random, hrr_random, 32) == 0;
	if (cur_u8(c, &sid_len) == 0 && sid_len <= 32 && cur_skip(c, sid_len) == 0 &&
	    cur_be16(c, &suite) == 0 && cur_u8(c, &comp) == 0 && cur_be16(c, &ext_len) == 0 &&
	    cur_sub(c, MIN((size_t)ext_len, cur_left(c)), &ext) == 0) {
		u16 type;
		struct cur e;
		while (ext_next(&ext, &type, &e)) {
			if (type == EXT_SUPPORTED_VERSIONS)
				cur_be16(&e, &sel);
			else if (type == EXT_ALPN)
				alpn_first(&e, alpn, sizeof alpn);
		}
	}
	t->version = sel ? sel : ver; /* a HelloRetryRequest selects TLS 1.3 too */
	if (hrr)
		return 1;
	memcpy(t->alpn_sel, alpn, sizeof alpn);
	return 0;
}

/* The hello parsers above over a whole message from another transport;
 * the contract is in tls.h. */
int tls_parse_hello(struct flow *f, const u8 *p, size_t n, struct tls_hello *h)
{
	struct tls_state t;
	struct cur c, body;
	u8 ht;
	u32 len;

	memset(h, 0, sizeof *h);
	cur_init(&c, p, n);
	if (cur_u8(&c, &ht) < 0 || cur_be24(&c, &len) < 0 || cur_sub(&c, len, &body) < 0)
		return 0;
	memset(&t, 0, sizeof t);
	t.not_tls = 1;
	if (ht == HT_CLIENT_HELLO) {
		parse_client_hello(f, &t, &body);
		h->legacy_version = t.client_version;
		h->version = t.offered_version;
		memcpy(h->alpn, t.alpn_offer, sizeof h->alpn);
	} else if (ht == HT_SERVER_HELLO) {
		h->hrr = (u8)parse_server_hello(&t, &body);
		h->version = t.version;
		memcpy(h->alpn, t.alpn_sel, sizeof h->alpn);
	} else {
		return -1;
	}
	return ht;
}

/* ---- certificates (RFC 5246 section 7.4.2) ---- */

/* Findings for the verdict v of f's certificate chain, seen in frame at
 * ts; remembers a leaf that verified for its name (interception check). */
static void cert_findings(struct flow *f, struct tls_state *t, const struct cert_verdict *v,
                          u32 frame, u64 ts)
{
	const char *sni = flow_sni(f);
	struct seen_leaf *sl = seen && f->name_id ? &seen[f->name_id % SEEN_CAP] : NULL;
	int verified = v->verify_err == X509_V_OK && v->name_ok && !v->expired;
	int failed = 0, intercepted = 0;
	struct finding fd;

	if (sl && verified && sl->name_id != f->name_id) {
		sl->name_id = f->name_id;
		memcpy(sl->key, v->leaf_sha256, sizeof sl->key);
		sl->frame = frame;
	}

	/* Each problem is its own finding, as each is checked apart in
	 * Wireshark and fixed apart: an expired self-signed certificate is both
	 * cert_expired and cert_untrusted. The handshake counts once. */
	if (v->expired) {
		char tb[TIME_STRLEN];
		tls_finding_base(&fd, K_CERT_EXPIRED, f, t, ts, frame);
		fd.origin = O_SERVER;
		json_object_set_new(fd.detail, "not_before", json_string(v->not_before));
		json_object_set_new(fd.detail, "not_after", json_string(v->not_after));
		json_object_set_new(fd.detail, "subject", json_string(v->exp_subject));
		json_object_set_new(fd.detail, "capture_time", json_string(time_fmt(ts, tb)));
		/* 0: the server's own certificate; more: an issuer of the chain. */
		json_object_set_new(fd.detail, "depth", json_integer(v->expired_depth));
		findings_emit(&fd);
		failed = 1;
	}
	/* Today's CA store no longer holds the roots of a years-old capture: an
	 * unknown issuer then says more about the store than about the server. */
	int stale = (v->verify_err == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY ||
	             v->verify_err == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT ||
	             v->verify_err == X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN) &&
	            (u64)time(NULL) > ts / 1000000 + STALE_STORE_S;
	stale |= v->private_pki;
	if (v->verify_err != X509_V_OK && !stale) {
		tls_finding_base(&fd, K_CERT_UNTRUSTED, f, t, ts, frame);
		fd.origin = O_UNKNOWN;
		/* Interception: the name verified before with another certificate, or
		 * it is a catalog service, whose certificates verify against public CAs. */
		if (sl && sl->name_id == f->name_id && memcmp(sl->key, v->leaf_sha256, sizeof sl->key) != 0) {
			fd.origin = O_ONPATH;
			finding_add_ev(&fd, sl->frame);
			json_object_set_new(fd.detail, "interception",
			                    json_sprintf("differs from the certificate that verified for this name in frame %u",
			                                 sl->frame));
		} else if (services_of_name(sni) &&
		           (v->verify_err == X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT ||
		            v->verify_err == X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN)) {
			/* An unknown issuer alone may be an old capture read with today's
			 * CA store; a self-made root for a streaming service is not. */
			fd.origin = O_ONPATH;
			json_object_set_new(fd.detail, "interception",
			                    json_string("a streaming service's certificate that public CAs do not vouch for"));
		}
		json_object_set_new(fd.detail, "subject", json_string(v->subject));
		json_object_set_new(fd.detail, "issuer", json_string(v->issuer));
		json_object_set_new(fd.detail, "verify_error",
		                    json_string(cert_error_string(v->verify_err)));
		intercepted = fd.origin == O_ONPATH;
		findings_emit(&fd);
		failed = 1;
	}
	if (!v->name_ok) {
		json_t *sans = json_array();
		const char *s = v->sans;
		for (u8 i = 0; i < v->n_sans; i++, s += strlen(s) + 1)
			json_array_append_new(sans, json_string(s));
		tls_finding_base(&fd, K_CERT_MISMATCH, f, t, ts, frame);
		fd.origin = O_UNKNOWN;
		json_object_set_new(fd.detail, "subject", json_string(v->subject));
		json_object_set_new(fd.detail, "sans", sans);
		json_object_set_new(fd.detail, "sni", json_string(sni));
		findings_emit(&fd);
		failed = 1;
	}
	/* Attack check, and what the chain says of the address for the name. */
	findings_attack_check(AC_CHAINS, sni, &f->srv, intercepted);
	if (failed) {
		services_vouch(&f->srv, f->name_id, 0, frame);
		t->failed = 1;
		count_once(f, t, 1);
		f->app_done = 1;
	}
}

/* Certificate body in c (TLS <= 1.2): the chain's DER, leaf first, judged
 * by cert_check() in place (c points into the packet or the buffer). */
static void parse_certificate(struct flow *f, struct tls_state *t, struct cur *c,
                              const struct packet *pk)
{
	u32 list_len;
	struct cur lst;
	struct cert_der chain[CERT_CHAIN_MAX];
	size_t n = 0;

	t->cert_seen = 1;
	t->cert_frame = pk->frame;
	if (cur_be24(c, &list_len) < 0 || cur_sub(c, MIN((size_t)list_len, cur_left(c)), &lst) < 0)
		return;
	while (cur_left(&lst) >= 3) {
		u32 cl;
		const u8 *der;
		if (cur_be24(&lst, &cl) < 0 || cl == 0 || cur_ptr(&lst, cl, &der) < 0)
			break;
		tstats.certificates++;
		if (n == CERT_CHAIN_MAX)
			continue; /* counted, not judged */
		chain[n].p = der;
		chain[n].n = cl;
		n++;
	}
	if (n == 0)
		return; /* no certificate (anonymous, or a client's empty answer) */
	const struct cert_verdict *v = cert_check(chain, n, flow_sni(f), pk->ts_us);
	if (v)
		cert_findings(f, t, v, pk->frame, pk->ts_us);
}

/* ---- handshake messages ---- */

/* 1 if a handshake message of type ht from dir is worth reassembling. */
static int msg_wanted(const struct tls_state *t, int dir, u8 ht)
{
	if (dir == DIR_C2S)
		return ht == HT_CLIENT_HELLO && !t->ch_seen;
	if (ht == HT_SERVER_HELLO)
		return !t->sh_seen;
	/* In TLS 1.3 the certificate is encrypted (and never reaches here). */
	return ht == HT_CERTIFICATE && t->sh_seen && !t->cert_seen && !is_tls13(t->version);
}

/* A whole handshake message of type ht, body b[n], completed in packet pk. */
static void on_message(struct flow *f, struct tls_state *t, u8 ht, const u8 *b, u32 n,
                       const struct packet *pk)
{
	struct cur c;
	cur_init(&c, b, n);
	if (ht == HT_CLIENT_HELLO) {
		tstats.client_hellos++;
		t->ch_seen = 1;
		t->ch_frame = pk->frame;
		t->ch_us = pk->ts_us;
		parse_client_hello(f, t, &c);
	} else if (ht == HT_SERVER_HELLO) {
		tstats.server_hellos++;
		int hrr = parse_server_hello(t, &c);
		if (t->version)
			tally(&tstats.versions, t->version);
		if (hrr) {
			t->hrr = 1; /* a second ClientHello and the real ServerHello follow */
			return;
		}
		t->sh_seen = 1;
		t->sh_frame = pk->frame;
		/* TLS 1.3: everything the server sends after its ServerHello is encrypted. */
		if (is_tls13(t->version))
			t->d[DIR_S2C].hs_enc = 1;
	} else if (ht == HT_CERTIFICATE) {
		parse_certificate(f, t, &c, pk);
	}
}

/* Bytes p[n] of a handshake record from dir: messages may span records and
 * segments, and one record may hold several. Only the messages we parse
 * are kept (in place when whole in this packet, else copied into a buffer
 * sized to the message, at most TLS_BUF_MAX); the others are skipped. */
static void hs_bytes(struct flow *f, struct tls_state *t, int dir, const u8 *p, u32 n,
                     const struct packet *pk)
{
	struct tls_dir *d = &t->d[dir];
	while (n && !f->app_done && !d->ccs && !d->hs_enc) {
		if (d->skip) {
			u32 k = MIN(n, d->skip);
			d->skip -= k, p += k, n -= k;
			continue;
		}
		if (d->msg_on) {
			u32 k = MIN(n, d->msg_need - d->msg_have);
			memcpy(d->msg + d->msg_have, p, k);
			d->msg_have += k, p += k, n -= k;
			if (d->msg_have == d->msg_need) {
				d->msg_on = 0;
				on_message(f, t, d->msg_type, d->msg, d->msg_need, pk);
			}
			continue;
		}
		u32 k = MIN(n, 4u - d->mh_len);
		memcpy(d->mh + d->mh_len, p, k);
		d->mh_len = (u8)(d->mh_len + k), p += k, n -= k;
		if (d->mh_len < 4)
			return;
		d->mh_len = 0;
		u8 ht = d->mh[0];
		u32 ml = (u32)d->mh[1] << 16 | (u32)d->mh[2] << 8 | d->mh[3];
		if (!msg_wanted(t, dir, ht) || ml > TLS_BUF_MAX) {
			d->skip = ml; /* not parsed; a wanted one this large is not kept either */
			continue;
		}
		if (n >= ml) {
			on_message(f, t, ht, p, ml, pk);
			p += ml, n -= ml;
			continue;
		}
		if (ml > d->msg_cap) {
			d->msg = xrealloc(d->msg, ml);
			d->msg_cap = ml;
		}
		d->msg_type = ht;
		d->msg_need = ml;
		d->msg_have = 0;
		d->msg_on = 1;
	}
}

/* ---- alerts (RFC 8446 section 6) ---- */

/* 1 if an alert of level and desc ends the handshake as a failure: every
 * fatal one; a warning before completion, except unrecognized_name (servers
 * send it and go on) and SSLv3's no_certificate (the handshake goes on). */
static int alert_fails(u8 level, u8 desc, int done)
{
	if (level == 2)
		return 1;
	return !done && desc != 112 && desc != 41;
}

/* The alert record just completed from dir, in packet pk. */
static void on_alert_record(struct flow *f, struct tls_state *t, int dir, const struct packet *pk)
{
	struct tls_dir *d = &t->d[dir];
	/* Readable only in clear: before the sender's ChangeCipherSpec, and for
	 * a TLS 1.3 server before its ServerHello (later alerts are encrypted).
	 * Alerts in clear are 2 bytes each; a ciphertext is longer. */
	if (d->ccs || d->hs_enc || d->rec_len > ALERT_CLEAR_MAX || d->rec_len % 2 ||
	    d->alert_len != d->rec_len)
		return;
	for (u32 i = 0; i + 1 < d->alert_len; i += 2)
		if (d->alert[i] != 1 && d->alert[i] != 2)
			return; /* not alerts in clear after all */
	for (u32 i = 0; i + 1 < d->alert_len; i += 2)
		tally(&tstats.alerts, (u16)(d->alert[i] << 8 | d->alert[i + 1]));
	for (u32 i = 0; i + 1 < d->alert_len; i += 2) {
		u8 level = d->alert[i], desc = d->alert[i + 1];
		if (!alert_fails(level, desc, t->done))
			continue;
		struct finding fd;
		const char *dn = tls_alert_name(desc);
		tls_finding_base(&fd, K_TLS_ALERT, f, t, pk->ts_us, pk->frame);
		/* Who sent it as the direction says; diagnose weighs the TTL. */
		fd.origin = dir == DIR_S2C ? O_SERVER : O_LOCAL;
		json_object_set_new(fd.detail, "level", json_integer(level));
		json_object_set_new(fd.detail, "level_name", json_string(level == 2 ? "fatal" : "warning"));
		json_object_set_new(fd.detail, "description", json_integer(desc));
		json_object_set_new(fd.detail, "description_name", dn ? json_string(dn) : json_null());
		json_object_set_new(fd.detail, "sender", json_string(sender_name(dir)));
		json_object_set_new(fd.detail, "ttl", json_integer(pk->ttl));
		findings_emit(&fd);
		t->failed = 1;
		count_once(f, t, 1);
		f->app_done = 1;
		return;
	}
}

/* ---- completion ---- */

/* Decides whether the handshake completed: TLS <= 1.2 when both sides sent
 * ChangeCipherSpec (or application data both ways: False Start); TLS 1.3
 * when the client sent application data after the server's encrypted
 * flight (its Finished, in an application_data record). */
static void check_done(struct flow *f, struct tls_state *t, u32 frame)
{
	int ok;
	if (t->done || t->failed || !t->sh_seen)
		return;
	if (is_tls13(t->version))
		ok = t->c13_recs >= 2 || (t->c13_recs == 1 && !t->c13_first_small);
	else
		ok = (t->d[0].ccs && t->d[1].ccs) || (t->d[0].appdata && t->d[1].appdata);
	if (!ok)
		return;
	t->done = 1;
	/* The server proved a key the client accepted for the name at this address. */
	services_vouch(&f->srv, f->name_id, 1, t->sh_frame ? t->sh_frame : frame);
	count_once(f, t, 0);
	f->app_done = 1;
	if (done_on && f->name_id) {
		struct done_on *d = done_slot(&f->srv);
		d->srv = f->srv;
		d->name_id = f->name_id;
		d->frame = t->sh_frame ? t->sh_frame : frame;
	}
}

/* A record from dir begins (header read). Returns -1 if it is not TLS. */
static int on_record_start(struct flow *f, struct tls_state *t, int dir, const struct packet *pk)
{
	struct tls_dir *d = &t->d[dir];
	const struct tls_rec_wire *w = (const struct tls_rec_wire *)d->hdr;
	u32 len = (u32)w->len[0] << 8 | w->len[1];

	if (w->type < CT_CCS || w->type > CT_HEARTBEAT || w->ver[0] != 3 || w->ver[1] > 4 ||
	    len > REC_MAX || (len == 0 && w->type != CT_APPDATA))
		return -1;
	d->rec_type = w->type;
	d->rec_len = d->rec_left = (u16)len;
	d->alert_len = 0;
	if (w->type == CT_CCS) {
		/* Up to TLS 1.2 what follows it is encrypted; in TLS 1.3 it is a
		 * dummy for middleboxes (RFC 8446 appendix D.4), even after a
		 * HelloRetryRequest, before the second ClientHello in clear. */
		if (!is_tls13(t->version))
			d->ccs = 1;
		check_done(f, t, pk->frame);
	} else if (w->type == CT_APPDATA) {
		d->appdata++;
		/* TLS 1.3: the client's records after the server's flight; early
		 * data before it does not count. A first one the size of an
		 * encrypted alert is not taken for its Finished (a rejection looks
		 * like that); a second one completes the handshake. */
		if (dir == DIR_C2S && t->sh_seen && is_tls13(t->version) && t->d[DIR_S2C].appdata) {
			if (t->c13_recs < 255)
				t->c13_recs++;
			if (t->c13_recs == 1)
				t->c13_first_small = len <= ENC_ALERT_MAX;
		}
		check_done(f, t, pk->frame);
	}
	return 0;
}

/* Bytes p[n] of the current record from dir. */
static void on_record_bytes(struct flow *f, struct tls_state *t, int dir, const u8 *p, u32 n,
                            const struct packet *pk)
{
	struct tls_dir *d = &t->d[dir];
	if (d->rec_type == CT_HANDSHAKE) {
		hs_bytes(f, t, dir, p, n, pk);
	} else if (d->rec_type == CT_ALERT) {
		u32 k = MIN(n, (u32)ALERT_CLEAR_MAX - d->alert_len);
		memcpy(d->alert + d->alert_len, p, k);
		d->alert_len = (u8)(d->alert_len + k);
	}
}

/* ---- the byte stream ---- */

/* Sequence number of dir's first data byte when its SYN was seen. */
static int stream_start(const struct flow *f, int dir, u32 *seq)
{
	const struct flow_side *s = &f->side[dir];
	int syn_seen = dir == DIR_C2S ? f->syn_count && !f->picked_up : f->synack_frame != 0;
	if (!syn_seen || !s->seq_valid)
		return 0;
	*seq = s->isn + 1;
	return 1;
}

void tls_feed(struct flow *f, int dir, const struct packet *pk)
{
	struct tls_state *t = f->app_state;
	const u8 *p = pk->pl;
	u32 n = pk->pl_len;

	if (f->app_done || (dir != DIR_C2S && dir != DIR_S2C) || !p || !n)
		return;
	if (!t)
		t = f->app_state = xcalloc(1, sizeof *t);
	struct tls_dir *d = &t->d[dir];

	if (pk->proto == IPPROTO_TCP_) {
		/* Data of a SYN (TCP Fast Open) starts one past its sequence number. */
		u32 seq = pk->seq + ((pk->tcp_flags & TH_SYN) ? 1 : 0);
		if (!d->seq_ok && stream_start(f, dir, &d->next_seq))
			d->seq_ok = 1;
		if (d->seq_ok) {
			i32 delta = (i32)(seq - d->next_seq);
			if (delta > 0) {
				give_up(f, t); /* bytes missing: misparsing is worse than stopping */
				return;
			}
			if ((u32)-delta >= n)
				return; /* a retransmission of what was seen */
			p += (u32)-delta, n -= (u32)-delta, seq += (u32)-delta;
		}
		d->seq_ok = 1;
		d->next_seq = seq + n;
	}

	while (n && !f->app_done) {
		if (!d->rec_left) {
			/* Record header: type(1) version(2) length(2). */
			u32 k = MIN(n, 5u - d->hdr_len);
			memcpy(d->hdr + d->hdr_len, p, k);
			d->hdr_len = (u8)(d->hdr_len + k), p += k, n -= k;
			if (d->hdr_len < 5)
				break;
			d->hdr_len = 0;
			if (on_record_start(f, t, dir, pk) < 0) {
				give_up(f, t);
				return;
			}
			if (f->app_done || !d->rec_left)
				continue;
		}
		u32 k = MIN(n, (u32)d->rec_left);
		on_record_bytes(f, t, dir, p, k, pk);
		p += k, n -= k;
		d->rec_left = (u16)(d->rec_left - k);
		if (!d->rec_left && d->rec_type == CT_ALERT && !f->app_done)
			on_alert_record(f, t, dir, pk);
	}
	/* The snapshot length cut this segment: the rest of it is unknown. */
	if (pk->pl_len < pk->pl_wire && !f->app_done)
		give_up(f, t);
}

void tls_flow_end(struct flow *f, u64 now_us)
{
	struct tls_state *t = f->app_state;
	if (!t)
		return;
	int stalled = now_us >= t->ch_us + g_opts.tls_timeout_us;
	/* Cut right after the ClientHello (a reset, or silence) while another
	 * name completes on the same address: the name is what was refused. */
	struct done_on *d = done_on ? done_slot(&f->srv) : NULL;
	if (t->ch_seen && !t->sh_seen && !t->failed && !t->counted && !t->gave_up && d &&
	    d->name_id && d->name_id != f->name_id && f->name_id && addr_eq(&d->srv, &f->srv) &&
	    (f->tcp_state == TCPS_RESET || stalled)) {
		struct finding fd;
		int reset = f->tcp_state == TCPS_RESET;
		tls_finding_base(&fd, K_SNI_FILTERED, f, t,
		                 reset ? f->rst_us : t->ch_us + g_opts.tls_timeout_us, t->ch_frame);
		if (reset)
			finding_add_ev(&fd, f->rst_frame);
		finding_add_ev(&fd, d->frame);
		fd.origin = O_ONPATH;
		json_object_set_new(fd.detail, "cut_by", json_string(reset ? "reset" : "silence"));
		json_object_set_new(fd.detail, "works_for", json_string(names_get(d->name_id)));
		json_object_set_new(fd.detail, "works_frame", json_integer(d->frame));
		findings_emit(&fd);
		count_once(f, t, 1);
		f->reported = 1; /* the reset is this finding's evidence, not a finding of its own */
	}
	if (t->ch_seen && !t->counted) {
		if (t->gave_up) {
			/* Unreadable from some point: not a failure that we saw. */
			if (t->sh_seen)
				count_once(f, t, 0);
		} else if (f->tcp_state == TCPS_RESET) {
			count_once(f, t, 1); /* the reset is the tcp analyzer's finding */
		} else if (stalled) {
			/* Neither completed nor failed within the timeout. */
			struct finding fd;
			tls_finding_base(&fd, K_TLS_TIMEOUT, f, t, t->ch_us + g_opts.tls_timeout_us,
			                 t->ch_frame);
			fd.origin = O_UNKNOWN;
			json_object_set_new(fd.detail, "stage",
			                    json_string(t->cert_seen  ? "certificate_received"
			                                : t->sh_seen ? "server_hello_received"
			                                             : "client_hello_sent"));
			findings_emit(&fd);
			count_once(f, t, 1);
		} else if (t->sh_seen && (t->d[0].appdata || t->d[1].appdata)) {
			count_once(f, t, 0); /* the input ended before the timeout could tell */
		}
	}
	free(t->d[0].msg);
	free(t->d[1].msg);
	free(t);
	f->app_state = NULL;
}
