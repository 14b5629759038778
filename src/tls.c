/* \summary: TLS handshakes: record reassembly per direction for the first
 * records only; ClientHello (SNI, ALPN, versions), ServerHello, alerts in
 * clear, and TLS <= 1.2 certificate chains verified with OpenSSL at the
 * capture's own time, verdicts cached by certificate hash. */
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "panne/config.h"
#include "panne/cursor.h"
#include "panne/findings.h"
#include "panne/opts.h"
#include "panne/services.h"
#include "panne/tls.h"
#include "panne/util.h"

/* Record content types (RFC 8446 section 5.1). */
#define CT_CCS 20
#define CT_ALERT 21
#define CT_HANDSHAKE 22
#define CT_APPDATA 23

/* Handshake types. */
#define HT_CLIENT_HELLO 1
#define HT_SERVER_HELLO 2
#define HT_CERTIFICATE 11

#define STALE_STORE_S (365 * 86400u) /* older captures: unknown issuers not judged */

struct tls_dir {
	u8 *buf;        /* handshake message reassembly */
	u32 len, cap;
	u8 rec_hdr[5];  /* a record header split across segments */
	u8 rec_hdr_len;
	u32 rec_left;   /* bytes of the current record still to come */
	u8 rec_type;
	u8 seq_ok, broken, ccs;
	u32 next_seq;
	u32 appdata;
};

struct tls_state {
	struct tls_dir d[2];
	u8 ch_seen, sh_seen, cert_seen, done, failed, counted;
	u16 version;           /* negotiated */
	u32 ch_frame, sh_frame, cert_frame;
	u64 ch_us;
	char alpn[32];
};

/* Cached verdict of one chain for one name at (roughly) one time. */
struct cert_cache {
	u8 key[32];
	u8 used;
	int verify_err;        /* X509_V_OK or the error */
	u8 name_ok;
	u8 expired;            /* outside validity at capture time */
	char subject[160], issuer[160];
	char not_before[64], not_after[64];
	char sans[256];
	u8 private_pki;        /* the chain's own root belongs to the leaf's organisation */
};

static X509_STORE *store;
static struct cert_cache *cache;

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

static const char *alert_names[256] = {
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

/* Loading the system store reads hundreds of files: it is kept across
 * resets (tests, fuzzing) as long as the extra CA file is the same. */
static char *store_ca_file;

int tls_init(const char *ca_file, char *err, size_t errlen)
{
	tls_reset();
	if (store && !(ca_file ? store_ca_file && strcmp(ca_file, store_ca_file) == 0 : !store_ca_file)) {
		X509_STORE_free(store);
		store = NULL;
	}
	if (!store) {
		free(store_ca_file);
		store_ca_file = ca_file ? xstrdup(ca_file) : NULL;
		store = X509_STORE_new();
		if (!store || X509_STORE_set_default_paths(store) != 1) {
			snprintf(err, errlen, "cannot load the system CA store");
			return -1;
		}
		if (ca_file && X509_STORE_load_locations(store, ca_file, NULL) != 1) {
			snprintf(err, errlen, "--ca-file %s: cannot read PEM certificates from it", ca_file);
			ERR_clear_error();
			X509_STORE_free(store);
			store = NULL;
			return -1;
		}
	}
	cache = xcalloc(CERT_CACHE_CAP, sizeof *cache);
	seen = xcalloc(SEEN_CAP, sizeof *seen);
	done_on = xcalloc(DONE_CAP, sizeof *done_on);
	return 0;
}

void tls_reset(void)
{
	free(cache);
	cache = NULL;
	free(seen);
	seen = NULL;
	free(done_on);
	done_on = NULL;
}

int tls_detect(const u8 *p, u32 n)
{
	/* Handshake record, version 3.x, then a ClientHello. */
	return n >= 6 && p[0] == CT_HANDSHAKE && p[1] == 3 && p[2] <= 4 && p[5] == HT_CLIENT_HELLO;
}

static const char *sender_name(int dir) { return dir == DIR_C2S ? "client" : "server"; }

static void tls_finding_base(struct finding *fd, int kind, struct flow *f, struct tls_state *t,
                             u64 ts, u32 frame)
{
	finding_init(fd, kind, f, ts, f->file, frame);
	finding_add_ev(fd, t->ch_frame);
	finding_add_ev(fd, t->sh_frame);
	finding_set_name(fd, f->name_id ? names_get(f->name_id) : NULL);
	if (t->version)
		json_object_set_new(fd->detail, "version", json_integer(t->version));
	if (t->alpn[0])
		json_object_set_new(fd->detail, "alpn", json_string(t->alpn));
}

static void count_once(struct flow *f, struct tls_state *t, int failed)
{
	if (t->counted)
		return;
	t->counted = 1;
	findings_exchange(CAT_TLS, f->name_id ? names_get(f->name_id) : NULL, &f->srv, failed);
}

/* ---- ClientHello / ServerHello (RFC 8446 section 4.1.2, 4.1.3) ---- */

static void parse_client_hello(struct flow *f, struct tls_state *t, struct cur *c)
{
	u8 sid_len, comp_len;
	u16 cs_len, ext_len, ver;
	struct cur ext;

	if (cur_be16(c, &ver) < 0 || cur_skip(c, 32) < 0 || cur_u8(c, &sid_len) < 0 ||
	    cur_skip(c, sid_len) < 0 || cur_be16(c, &cs_len) < 0 || cur_skip(c, cs_len) < 0 ||
	    cur_u8(c, &comp_len) < 0 || cur_skip(c, comp_len) < 0)
		return;
	if (cur_be16(c, &ext_len) < 0 || cur_sub(c, ext_len, &ext) < 0)
		return;
	while (cur_left(&ext) >= 4) {
		u16 type, len;
		struct cur e;
		cur_be16(&ext, &type);
		cur_be16(&ext, &len);
		if (cur_sub(&ext, len, &e) < 0)
			return;
		if (type == 0) { /* server_name (RFC 6066 section 3) */
			u16 list_len, nl;
			u8 nt;
			const u8 *name;
			if (cur_be16(&e, &list_len) < 0 || cur_u8(&e, &nt) < 0 || cur_be16(&e, &nl) < 0 ||
			    nt != 0 || cur_ptr(&e, nl, &name) < 0 || nl > NAME_MAX_LEN)
				continue;
			char sni[NAME_MAX_LEN + 1];
			str_escape(name, nl, sni, sizeof sni);
			f->name_id = names_intern(sni);
		} else if (type == 16) { /* ALPN: first protocol */
			u16 ll;
			u8 pl;
			const u8 *pn;
			if (cur_be16(&e, &ll) < 0 || cur_u8(&e, &pl) < 0 || cur_ptr(&e, pl, &pn) < 0)
				continue;
			str_escape(pn, pl, t->alpn, sizeof t->alpn);
		}
	}
}

static void parse_server_hello(struct tls_state *t, struct cur *c)
{
	u8 sid_len;
	u16 ver, ext_len;
	struct cur ext;
	if (cur_be16(c, &ver) < 0)
		return;
	t->version = ver;
	if (cur_skip(c, 32) < 0 || cur_u8(c, &sid_len) < 0 || cur_skip(c, sid_len) < 0 ||
	    cur_skip(c, 3) < 0 || cur_be16(c, &ext_len) < 0 || cur_sub(c, ext_len, &ext) < 0)
		return;
	while (cur_left(&ext) >= 4) {
		u16 type, len, sv;
		struct cur e;
		cur_be16(&ext, &type);
		cur_be16(&ext, &len);
		if (cur_sub(&ext, len, &e) < 0)
			return;
		if (type == 43 && cur_be16(&e, &sv) == 0) /* supported_versions */
			t->version = sv;
	}
}

/* ---- certificates ---- */

static void name_str(X509_NAME *n, char *out, size_t outsz)
{
	out[0] = 0;
	if (!n)
		return;
	BIO *b = BIO_new(BIO_s_mem());
	if (!b)
		return;
	X509_NAME_print_ex(b, n, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
	char tmp[512];
	int l = BIO_read(b, tmp, sizeof tmp - 1);
	BIO_free(b);
	if (l <= 0)
		return;
	str_escape((const u8 *)tmp, (size_t)l, out, outsz);
}

static void time_str(const ASN1_TIME *at, char *out, size_t outsz)
{
	struct tm tm;
	out[0] = 0;
	if (!at || ASN1_TIME_to_tm(at, &tm) != 1)
		return;
	snprintf(out, outsz, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
	         tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static void sans_str(X509 *x, char *out, size_t outsz)
{
	GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	size_t o = 0;
	out[0] = 0;
	if (!gens)
		return;
	for (int i = 0; i < sk_GENERAL_NAME_num(gens) && o + 2 < outsz; i++) {
		GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		if (g->type != GEN_DNS)
			continue;
		const u8 *d = ASN1_STRING_get0_data(g->d.dNSName);
		int l = ASN1_STRING_length(g->d.dNSName);
		char esc[128];
		str_escape(d, (size_t)MAX(l, 0), esc, sizeof esc);
		o += (size_t)snprintf(out + o, outsz - o, "%s%s", o ? " " : "", esc);
	}
	GENERAL_NAMES_free(gens);
}

/* Verifies a chain for sni at time ts; fills a cache entry. */
/* First word of the O= of n, lowercased: "Netflix, Inc." -> "netflix". */
static void org_word(X509_NAME *n, char *out, size_t outsz)
{
	char o[128] = "";
	size_t k = 0;
	out[0] = 0;
	if (!n || X509_NAME_get_text_by_NID(n, NID_organizationName, o, sizeof o) <= 0)
		return;
	for (const char *p = o; *p && k + 1 < outsz; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9'))
			out[k++] = *p;
		else if (*p >= 'A' && *p <= 'Z')
			out[k++] = (char)(*p - 'A' + 'a');
		else if (k)
			break;
	}
	out[k] = 0;
}

static void verify_chain(STACK_OF(X509) *chain, const char *sni, u64 ts_us, struct cert_cache *cc)
{
	X509 *leaf = sk_X509_value(chain, 0);
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	time_t t = (time_t)(ts_us / 1000000);

	name_str(X509_get_subject_name(leaf), cc->subject, sizeof cc->subject);
	name_str(X509_get_issuer_name(leaf), cc->issuer, sizeof cc->issuer);
	time_str(X509_get0_notBefore(leaf), cc->not_before, sizeof cc->not_before);
	time_str(X509_get0_notAfter(leaf), cc->not_after, sizeof cc->not_after);
	sans_str(leaf, cc->sans, sizeof cc->sans);
	cc->expired = X509_cmp_time(X509_get0_notAfter(leaf), &t) < 0 ||
	              X509_cmp_time(X509_get0_notBefore(leaf), &t) > 0;
	cc->name_ok = !sni || !*sni || X509_check_host(leaf, sni, 0, 0, NULL) == 1;
	cc->verify_err = X509_V_ERR_UNSPECIFIED;
	if (ctx && X509_STORE_CTX_init(ctx, store, leaf, chain) == 1) {
		X509_VERIFY_PARAM *vp = X509_STORE_CTX_get0_param(ctx);
		X509_VERIFY_PARAM_set_time(vp, t);
		X509_VERIFY_PARAM_set_purpose(vp, X509_PURPOSE_SSL_SERVER);
		cc->verify_err = X509_verify_cert(ctx) == 1 ? X509_V_OK : X509_STORE_CTX_get_error(ctx);
	}
	/* An application's own PKI (a pinned private root of the same company)
	 * is not trusted publicly by design. */
	if (cc->verify_err == X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN && sk_X509_num(chain) > 1) {
		char a[32], b[32];
		X509 *root = sk_X509_value(chain, sk_X509_num(chain) - 1);
		org_word(X509_get_subject_name(leaf), a, sizeof a);
		org_word(X509_get_subject_name(root), b, sizeof b);
		cc->private_pki = a[0] && strcmp(a, b) == 0;
	}
	X509_STORE_CTX_free(ctx);
	ERR_clear_error();
}

static void parse_certificate(struct flow *f, struct tls_state *t, struct cur *c, u32 frame, u64 ts)
{
	u32 list_len;
	struct cur lst;
	STACK_OF(X509) *chain;
	u8 key[32];
	EVP_MD_CTX *sh;
	const char *sni = f->name_id ? names_get(f->name_id) : "";

	if (t->version == 0x0304 || cur_be24(c, &list_len) < 0 || cur_sub(c, list_len, &lst) < 0)
		return;
	chain = sk_X509_new_null();
	sh = EVP_MD_CTX_new();
	EVP_DigestInit_ex(sh, EVP_sha256(), NULL);
	while (cur_left(&lst) >= 3 && sk_X509_num(chain) < 10) {
		u32 cl;
		const u8 *der, *p;
		if (cur_be24(&lst, &cl) < 0 || cur_ptr(&lst, cl, &der) < 0)
			break;
		if (sk_X509_num(chain) == 0)
			EVP_DigestUpdate(sh, der, cl);
		p = der;
		X509 *x = d2i_X509(NULL, &p, (long)cl);
		if (!x)
			break;
		sk_X509_push(chain, x);
	}
	ERR_clear_error();
	if (sk_X509_num(chain) == 0) {
		sk_X509_free(chain);
		EVP_MD_CTX_free(sh);
		return;
	}
	/* Same leaf, same name, same day: same verdict. */
	u64 day = ts / 86400000000ull;
	EVP_DigestUpdate(sh, sni, strlen(sni));
	EVP_DigestUpdate(sh, &day, sizeof day);
	EVP_DigestFinal_ex(sh, key, NULL);
	EVP_MD_CTX_free(sh);
	struct cert_cache *cc = &cache[(key[0] | key[1] << 8) % CERT_CACHE_CAP], tmp;
	if (!(cc->used && memcmp(cc->key, key, 32) == 0)) {
		memset(&tmp, 0, sizeof tmp);
		verify_chain(chain, sni, ts, &tmp);
		memcpy(tmp.key, key, 32);
		tmp.used = 1;
		*cc = tmp;
	}
	sk_X509_pop_free(chain, X509_free);
	t->cert_seen = 1;
	t->cert_frame = frame;
	struct seen_leaf *sl = seen && f->name_id ? &seen[f->name_id % SEEN_CAP] : NULL;
	int verified = cc->verify_err == X509_V_OK && cc->name_ok && !cc->expired;
	if (sl && verified && sl->name_id != f->name_id) {
		sl->name_id = f->name_id;
		memcpy(sl->key, cc->key, 8);
		sl->frame = frame;
	}

	/* Expired and untrusted are reported apart: each is checked in Wireshark apart. */
	int failed = 0;
	struct finding fd;
	if (cc->expired) {
		tls_finding_base(&fd, K_CERT_EXPIRED, f, t, ts, frame);
		fd.origin = O_SERVER;
		json_object_set_new(fd.detail, "not_before", json_string(cc->not_before));
		json_object_set_new(fd.detail, "not_after", json_string(cc->not_after));
		json_object_set_new(fd.detail, "subject", json_string(cc->subject));
		char tb[TIME_STRLEN];
		json_object_set_new(fd.detail, "capture_time", json_string(time_fmt(ts, tb)));
		findings_emit(&fd);
		failed = 1;
	}
	/* Today's CA store no longer holds the roots of a years-old capture: an
	 * unknown issuer then says more about the store than about the server. */
	int stale = (cc->verify_err == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY ||
	             cc->verify_err == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT ||
	             cc->verify_err == X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN) &&
	            (u64)time(NULL) > ts / 1000000 + STALE_STORE_S;
	stale |= cc->private_pki;
	if (cc->verify_err != X509_V_OK && cc->verify_err != X509_V_ERR_CERT_HAS_EXPIRED &&
	    cc->verify_err != X509_V_ERR_CERT_NOT_YET_VALID && !stale) {
		tls_finding_base(&fd, K_CERT_UNTRUSTED, f, t, ts, frame);
		fd.origin = O_UNKNOWN;
		/* Interception: the name verified before with another certificate, or
		 * it is a catalog service, whose certificates verify against public CAs. */
		if (sl && sl->name_id == f->name_id && memcmp(sl->key, cc->key, 8) != 0) {
			fd.origin = O_ONPATH;
			finding_add_ev(&fd, sl->frame);
			json_object_set_new(fd.detail, "interception",
			                    json_sprintf("differs from the certificate that verified for this name in frame %u", sl->frame));
		} else if (services_of_name(sni) && (cc->verify_err == X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT ||
		                                     cc->verify_err == X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN)) {
			/* An unknown issuer alone may be an old capture read with today's
			 * CA store; a self-made root for a streaming service is not. */
			fd.origin = O_ONPATH;
			json_object_set_new(fd.detail, "interception",
			                    json_string("a streaming service's certificate that public CAs do not vouch for"));
		}
		json_object_set_new(fd.detail, "subject", json_string(cc->subject));
		json_object_set_new(fd.detail, "issuer", json_string(cc->issuer));
		json_object_set_new(fd.detail, "verify_error",
		                    json_string(X509_verify_cert_error_string(cc->verify_err)));
		findings_emit(&fd);
		failed = 1;
	}
	if (!cc->name_ok) {
		tls_finding_base(&fd, K_CERT_MISMATCH, f, t, ts, frame);
		fd.origin = O_UNKNOWN;
		json_object_set_new(fd.detail, "subject", json_string(cc->subject));
		json_t *sans = json_array();
		char s2[sizeof cc->sans], *save = NULL;
		memcpy(s2, cc->sans, sizeof s2);
		for (char *tok = strtok_r(s2, " ", &save); tok; tok = strtok_r(NULL, " ", &save))
			json_array_append_new(sans, json_string(tok));
		json_object_set_new(fd.detail, "sans", sans);
		json_object_set_new(fd.detail, "sni", json_string(sni));
		findings_emit(&fd);
		failed = 1;
	}
	if (failed) {
		t->failed = 1;
		count_once(f, t, 1);
	}
}

/* ---- records ---- */

static void on_alert(struct flow *f, struct tls_state *t, int dir, const u8 *p, u32 n,
                     const struct packet *pk)
{
	if (n < 2 || t->d[dir].ccs || (t->version == 0x0304 && t->sh_seen && dir == DIR_S2C))
		return; /* encrypted: unreadable */
	u8 level = p[0], desc = p[1];
	if (level != 1 && level != 2)
		return; /* an encrypted alert's ciphertext */
	/* A warning that does not end the handshake is not a failure. */
	if (level == 1 && (desc == 112 || (desc == 0 && t->done)))
		return;
	if (t->done && desc == 0)
		return;
	struct finding fd;
	tls_finding_base(&fd, K_TLS_ALERT, f, t, pk->ts_us, pk->frame);
	fd.origin = dir == DIR_S2C ? O_SERVER : O_LOCAL;
	const char *dn = tls_alert_name(desc);
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
}

static void on_handshake_bytes(struct flow *f, struct tls_state *t, int dir, const u8 *p, u32 n,
                               const struct packet *pk)
{
	struct tls_dir *d = &t->d[dir];
	if (d->ccs)
		return; /* encrypted handshake */
	if (d->len + n > TLS_BUF_MAX) {
		d->broken = 1;
		return;
	}
	if (d->len + n > d->cap) {
		d->cap = MIN((u32)TLS_BUF_MAX, MAX(d->cap * 2, d->len + n + 1024));
		d->buf = xrealloc(d->buf, d->cap);
	}
	memcpy(d->buf + d->len, p, n);
	d->len += n;
	/* Handshake messages: type(1) length(3) body (RFC 8446 section 4). */
	u32 off = 0;
	while (d->len - off >= 4) {
		u32 ml = (u32)d->buf[off + 1] << 16 | (u32)d->buf[off + 2] << 8 | d->buf[off + 3];
		if (ml > TLS_BUF_MAX) {
			d->broken = 1;
			return;
		}
		if (d->len - off - 4 < ml)
			break;
		struct cur c;
		cur_init(&c, d->buf + off + 4, ml);
		u8 ht = d->buf[off];
		if (ht == HT_CLIENT_HELLO && dir == DIR_C2S && !t->ch_seen) {
			t->ch_seen = 1;
			t->ch_frame = pk->frame;
			t->ch_us = pk->ts_us;
			parse_client_hello(f, t, &c);
		} else if (ht == HT_SERVER_HELLO && dir == DIR_S2C && !t->sh_seen) {
			t->sh_seen = 1;
			t->sh_frame = pk->frame;
			parse_server_hello(t, &c);
		} else if (ht == HT_CERTIFICATE && dir == DIR_S2C && !t->cert_seen) {
			parse_certificate(f, t, &c, pk->frame, pk->ts_us);
		}
		off += 4 + ml;
		/* TLS 1.3: everything after the ServerHello is encrypted. */
		if (t->version == 0x0304 && dir == DIR_S2C && t->sh_seen) {
			d->ccs = 1;
			break;
		}
	}
	memmove(d->buf, d->buf + off, d->len - off);
	d->len -= off;
}

static void check_done(struct flow *f, struct tls_state *t)
{
	if (t->done || t->failed)
		return;
	/* TLS 1.2: both sides switched ciphers. TLS 1.3: the client sent
	 * application data after the server's flight. Either way it completed. */
	if ((t->d[0].ccs && t->d[1].ccs && t->version != 0x0304) ||
	    (t->sh_seen && t->d[DIR_C2S].appdata && t->d[DIR_S2C].appdata + t->d[DIR_S2C].ccs)) {
		t->done = 1;
		count_once(f, t, 0);
		f->app_done = 1;
		if (done_on && f->name_id) {
			struct done_on *d = done_slot(&f->srv);
			d->srv = f->srv;
			d->name_id = f->name_id;
			d->frame = t->sh_frame;
		}
	}
}

static void on_record(struct flow *f, struct tls_state *t, int dir, u8 type, const u8 *p, u32 n,
                      const struct packet *pk)
{
	switch (type) {
	case CT_HANDSHAKE:
		on_handshake_bytes(f, t, dir, p, n, pk);
		break;
	case CT_ALERT:
		on_alert(f, t, dir, p, n, pk);
		break;
	case CT_CCS:
		t->d[dir].ccs = 1;
		break;
	case CT_APPDATA:
		t->d[dir].appdata++;
		break;
	default:
		t->d[dir].broken = 1; /* not TLS after all */
	}
	check_done(f, t);
}

void tls_feed(struct flow *f, int dir, const struct packet *pk)
{
	struct tls_state *t = f->app_state;
	if (!t)
		t = f->app_state = xcalloc(1, sizeof *t);
	struct tls_dir *d = &t->d[dir];
	const u8 *p = pk->pl;
	u32 n = pk->pl_len;

	if (d->broken)
		goto out;
	if (d->seq_ok) {
		i32 delta = (i32)(pk->seq - d->next_seq);
		if (delta > 0) {
			d->broken = 1; /* a gap: stop rather than misparse */
			goto out;
		}
		if ((u32)-delta >= n)
			return; /* retransmission */
		p += (u32)-delta;
		n -= (u32)-delta;
	}
	d->seq_ok = 1;
	d->next_seq = pk->seq + pk->pl_len;
	if (pk->pl_len < pk->pl_wire)
		d->broken = 1; /* snaplen: what follows is unknown */

	while (n && !d->broken && !f->app_done) {
		if (!d->rec_left) {
			/* Record header: type(1) version(2) length(2). */
			u32 take = MIN(n, 5u - d->rec_hdr_len);
			memcpy(d->rec_hdr + d->rec_hdr_len, p, take);
			d->rec_hdr_len = (u8)(d->rec_hdr_len + take);
			p += take, n -= take;
			if (d->rec_hdr_len < 5)
				break;
			d->rec_hdr_len = 0;
			d->rec_type = d->rec_hdr[0];
			d->rec_left = (u32)d->rec_hdr[3] << 8 | d->rec_hdr[4];
			if (d->rec_hdr[1] != 3 || d->rec_left > 16384 + 2048 || d->rec_left == 0) {
				d->broken = 1;
				break;
			}
		}
		u32 take = MIN(n, d->rec_left);
		on_record(f, t, dir, d->rec_type, p, take, pk);
		p += take, n -= take, d->rec_left -= take;
	}
out:
	if (t->d[0].broken && t->d[1].broken)
		f->app_done = 1;
}

void tls_flow_end(struct flow *f, u64 now_us)
{
	struct tls_state *t = f->app_state;
	if (!t)
		return;
	/* Cut right after the ClientHello (a reset, or silence) while another
	 * name completes on the same address: the name is what was refused. */
	struct done_on *d = done_on ? done_slot(&f->srv) : NULL;
	if (t->ch_seen && !t->sh_seen && !t->failed && !t->counted && d && d->name_id &&
	    d->name_id != f->name_id && f->name_id && addr_eq(&d->srv, &f->srv) &&
	    (f->tcp_state == TCPS_RESET || now_us >= t->ch_us + g_opts.tls_timeout_us)) {
		struct finding fd;
		int reset = f->tcp_state == TCPS_RESET;
		tls_finding_base(&fd, K_SNI_FILTERED, f, t, reset ? f->rst_us : t->ch_us + g_opts.tls_timeout_us,
		                 t->ch_frame);
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
	if (t->ch_seen && !t->done && !t->failed && !t->counted) {
		/* Stalled: neither completed nor failed in TLS; a reset is tcp's finding. */
		if (f->tcp_state != TCPS_RESET && now_us >= t->ch_us + g_opts.tls_timeout_us) {
			struct finding fd;
			tls_finding_base(&fd, K_TLS_TIMEOUT, f, t, t->ch_us + g_opts.tls_timeout_us, t->ch_frame);
			fd.origin = O_UNKNOWN;
			json_object_set_new(fd.detail, "stage",
			                    json_string(t->cert_seen ? "certificate_received"
			                                : t->sh_seen  ? "server_hello_received"
			                                              : "client_hello_sent"));
			findings_emit(&fd);
			count_once(f, t, 1);
		} else if (f->tcp_state == TCPS_RESET) {
			count_once(f, t, 1);
		} else if (t->sh_seen && (t->d[0].appdata || t->d[1].appdata)) {
			count_once(f, t, 0);
		}
	}
	free(t->d[0].buf);
	free(t->d[1].buf);
	free(t);
	f->app_state = NULL;
}
