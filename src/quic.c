/* \summary: QUIC handshakes: long headers (RFC 9000 section 17.2, RFC 9369
 * section 3.2), Version Negotiation, Retry, coalesced packets; Initial
 * packets opened with the keys derived from the client's first Destination
 * Connection ID (RFC 9001 section 5), CRYPTO frames reassembled by offset
 * and handed to the TLS parser (ClientHello, ServerHello); CONNECTION_CLOSE;
 * quic_timeout, quic_close and quic_version findings. */
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "panne/config.h"
#include "panne/cursor.h"
#include "panne/findings.h"
#include "panne/opts.h"
#include "panne/quic.h"
#include "panne/services.h"
#include "panne/tls.h"
#include "panne/util.h"

/* Long packet types, as version 1 numbers them (RFC 9000 section 17.2);
 * version 2 rotates the codes (RFC 9369 section 3.2). */
enum { PT_INITIAL = 0, PT_0RTT, PT_HANDSHAKE, PT_RETRY };

/* Frame types read in Initial packets (RFC 9000 section 19). */
#define FT_PADDING 0x00
#define FT_PING 0x01
#define FT_ACK 0x02
#define FT_ACK_ECN 0x03
#define FT_CRYPTO 0x06
#define FT_CLOSE 0x1c     /* transport CONNECTION_CLOSE */
#define FT_CLOSE_APP 0x1d /* application CONNECTION_CLOSE */

#define CID_MAX 20       /* connection ID length limit (RFC 9000 section 17.2) */
#define TAG_LEN 16       /* AEAD_AES_128_GCM tag */
#define SAMPLE_LEN 16    /* header protection sample (RFC 9001 section 5.4.2) */
#define VN_KEEP 8        /* versions kept from a Version Negotiation */
#define REASON_SHOW 120  /* reason phrase bytes shown */

/* Per version: the Initial salt and the labels (RFC 9001 section 5.2,
 * RFC 9369 section 3.3). */
struct qver {
	u32 version;
	u8 salt[20];
	const char *key, *iv, *hp;
	u8 retry_key[16], retry_nonce[12]; /* RFC 9001 section 5.8, RFC 9369 section 3.3.3 */
};
static const struct qver qversions[] = {
	{ QUIC_V1,
	  { 0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17,
	    0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad, 0xcc, 0xbb, 0x7f, 0x0a },
	  "quic key", "quic iv", "quic hp",
	  { 0xbe, 0x0c, 0x69, 0x0b, 0x9f, 0x66, 0x57, 0x5a, 0x1d, 0x76, 0x6b, 0x54, 0xe3, 0x68, 0xc8, 0x4e },
	  { 0x46, 0x15, 0x99, 0xd3, 0x5d, 0x63, 0x2b, 0xf2, 0x23, 0x98, 0x25, 0xbb } },
	{ QUIC_V2,
	  { 0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6, 0xdb, 0x81, 0x93,
	    0x81, 0xbe, 0x6e, 0x26, 0x9d, 0xcb, 0xf9, 0xbd, 0x2e, 0xd9 },
	  "quicv2 key", "quicv2 iv", "quicv2 hp",
	  { 0x8f, 0xb4, 0xb0, 0x1b, 0x56, 0xac, 0x48, 0xe2, 0x60, 0xfb, 0xcb, 0xce, 0xad, 0x7c, 0xcc, 0x92 },
	  { 0xd8, 0x69, 0x69, 0xbc, 0x2d, 0x7c, 0x6d, 0x99, 0x90, 0xef, 0xb0, 0x4a } },
};

static const struct qver *qver_of(u32 v)
{
	for (size_t i = 0; i < sizeof qversions / sizeof *qversions; i++)
		if (qversions[i].version == v)
			return &qversions[i];
	return NULL;
}

/* The packet type of the long header's bits 4-5 (RFC 9369 section 3.2). */
static int pkt_type(u32 version, u8 b0)
{
	u8 bits = (b0 >> 4) & 3;
	return version == QUIC_V2 ? (bits + 3) & 3 : bits;
}

/* One direction of a connection. */
struct quic_dir {
	u32 dgrams;       /* datagrams seen */
	u32 opened;       /* Initial packets opened */
	i64 largest;      /* largest Initial packet number opened, -1 none */
	u8 hello_done;    /* its hello was read (or cannot be) */
	u32 base;         /* CRYPTO offset of the message to read: 0, or past a HelloRetryRequest */
	u8 *buf;          /* CRYPTO reassembly, QUIC_CRYPTO_MAX bytes, then a bit per byte; */
	                  /* allocated only when the hello spans frames, freed once read */
	u32 hello_frame;  /* frame that completed the hello */
};

/* Per flow, allocated at its first datagram; freed by quic_flow_end(). */
struct quic_state {
	struct quic_dir d[2];   /* by DIR_* */
	u32 version;            /* of the client's first long header */
	u8 dcid[CID_MAX];       /* the keys' connection ID: the client's first, or a Retry's */
	u8 dcid_len;
	u8 keys_ok;
	struct quic_keys k[2];  /* Initial keys, by DIR_* of the sender */
	u8 answered;            /* any datagram from the server */
	u8 server_hs;           /* Handshake packets from the server */
	u8 sh_seen, hrr;
	u8 retry;               /* a Retry was taken */
	u8 vn_seen, vn_used;    /* a Version Negotiation; a later Initial with one of its versions */
	u8 n_vn;
	u32 vn[VN_KEEP];
	u8 named;               /* its ClientHello was read */
	u8 reported;            /* a finding was emitted */
	u8 counted;             /* findings_exchange() called */
	u16 tls_version;        /* ServerHello's, else the highest offered */
	u32 client_initials;    /* the client's Initial packets */
	u32 first_frame, answer_frame, sh_frame, vn_frame, close_frame;
	u64 first_us;
	char alpn[32];          /* offered, then the server's choice */
};

/* The module's context: OpenSSL objects made once, a scratch packet. */
static struct {
	OSSL_LIB_CTX *lib;   /* QUIC's own: see quic_init() */
	EVP_MD *sha256;      /* fetched once: HKDF's HMAC is built on it */
	EVP_MD_CTX *md;
	EVP_CIPHER_CTX *gcm, *ecb;
	EVP_CIPHER *aes_gcm, *aes_ecb;
	u8 *scratch;            /* one packet being opened: QUIC_PKT_MAX bytes */
	u8 *sni_seen;           /* a bit per interned name */
	u32 n_reasm;            /* reassembly buffers held, at most QUIC_REASM_MAX */
	struct quic_stats st;
} q;

const struct quic_stats *quic_stats(void) { return &q.st; }

static void count_version(u32 v)
{
	u8 i;
	for (i = 0; i < q.st.n_versions && q.st.versions[i].version != v; i++)
		;
	if (i == q.st.n_versions) {
		if (i == QUIC_STATS_VERSIONS)
			return;
		q.st.n_versions++;
		q.st.versions[i].version = v;
	}
	q.st.versions[i].n++;
}

int quic_init(char *err, size_t errlen)
{
	quic_reset();
	/* A library context of its own: ciphers fetched into OpenSSL 3.0's
	 * default context make every later public-key decoder set-up there
	 * (one per certificate parsed) about 16 % dearer. */
	q.lib = OSSL_LIB_CTX_new();
	q.sha256 = q.lib ? EVP_MD_fetch(q.lib, "SHA256", NULL) : NULL;
	q.aes_gcm = q.lib ? EVP_CIPHER_fetch(q.lib, "AES-128-GCM", NULL) : NULL;
	q.aes_ecb = q.lib ? EVP_CIPHER_fetch(q.lib, "AES-128-ECB", NULL) : NULL;
	q.md = EVP_MD_CTX_new();
	q.gcm = EVP_CIPHER_CTX_new();
	q.ecb = EVP_CIPHER_CTX_new();
	if (!q.sha256 || !q.aes_gcm || !q.aes_ecb || !q.md || !q.gcm || !q.ecb ||
	    EVP_DecryptInit_ex(q.gcm, q.aes_gcm, NULL, NULL, NULL) != 1 ||
	    EVP_EncryptInit_ex(q.ecb, q.aes_ecb, NULL, NULL, NULL) != 1) {
		snprintf(err, errlen, "quic: OpenSSL lacks SHA-256 or AES-128-GCM/ECB");
		quic_reset();
		return -1;
	}
	EVP_CIPHER_CTX_set_padding(q.ecb, 0);
	q.scratch = xcalloc(1, QUIC_PKT_MAX);
	q.sni_seen = xcalloc(NAMES_CAP / 8 + 1, 1);
	return 0;
}

void quic_reset(void)
{
	EVP_MD_CTX_free(q.md);
	EVP_MD_free(q.sha256);
	EVP_CIPHER_CTX_free(q.gcm);
	EVP_CIPHER_CTX_free(q.ecb);
	EVP_CIPHER_free(q.aes_gcm);
	EVP_CIPHER_free(q.aes_ecb);
	OSSL_LIB_CTX_free(q.lib);
	free(q.scratch);
	free(q.sni_seen);
	memset(&q, 0, sizeof q);
}

/* ---- keys (RFC 9001 section 5, RFC 8446 section 7.1) ---- */

/* HMAC-SHA-256 (RFC 2104) of m1 || m2 under key, on OpenSSL's SHA-256
 * fetched once: EVP_KDF's HKDF fetches its digest by name at every call,
 * which made deriving a connection's keys twice as costly. */
static int hmac_sha256(const u8 *key, size_t kl, const u8 *m1, size_t n1, const u8 *m2, size_t n2,
                       u8 out[32])
{
	u8 k[64] = { 0 }, pad[64], inner[32];
	unsigned int ol;
	if (kl > sizeof k) {
		if (EVP_DigestInit_ex2(q.md, q.sha256, NULL) != 1 || EVP_DigestUpdate(q.md, key, kl) != 1 ||
		    EVP_DigestFinal_ex(q.md, k, &ol) != 1)
			return -1;
	} else if (kl) {
		memcpy(k, key, kl);
	}
	for (int i = 0; i < 64; i++)
		pad[i] = k[i] ^ 0x36;
	if (EVP_DigestInit_ex2(q.md, q.sha256, NULL) != 1 || EVP_DigestUpdate(q.md, pad, 64) != 1 ||
	    (n1 && EVP_DigestUpdate(q.md, m1, n1) != 1) || (n2 && EVP_DigestUpdate(q.md, m2, n2) != 1) ||
	    EVP_DigestFinal_ex(q.md, inner, &ol) != 1)
		return -1;
	for (int i = 0; i < 64; i++)
		pad[i] = k[i] ^ 0x5c;
	if (EVP_DigestInit_ex2(q.md, q.sha256, NULL) != 1 || EVP_DigestUpdate(q.md, pad, 64) != 1 ||
	    EVP_DigestUpdate(q.md, inner, 32) != 1 || EVP_DigestFinal_ex(q.md, out, &ol) != 1)
		return -1;
	return 0;
}

/* HKDF-Extract (mode 1: PRK = HMAC(salt, key)) or HKDF-Expand (mode 2:
 * the first outlen <= 32 bytes of HMAC(key, info || 0x01)), RFC 5869. */
static int hkdf(int mode, const u8 *key, size_t keylen, const u8 *salt_or_info, size_t sn,
                u8 *out, size_t outlen)
{
	u8 t[32];
	static const u8 one = 1;
	if (!q.md || outlen > sizeof t)
		return -1;
	if (mode == 1 ? hmac_sha256(salt_or_info, sn, key, keylen, NULL, 0, t) < 0
	              : hmac_sha256(key, keylen, salt_or_info, sn, &one, 1, t) < 0)
		return -1;
	memcpy(out, t, outlen);
	return 0;
}

/* HKDF-Expand-Label(secret, label, "", outlen) (RFC 8446 section 7.1). */
static int expand_label(const u8 secret[32], const char *label, u8 *out, size_t outlen)
{
	u8 info[2 + 1 + 6 + 32 + 1];
	size_t ll = strlen(label), n = 0;
	if (ll > 32)
		return -1;
	info[n++] = (u8)(outlen >> 8);
	info[n++] = (u8)outlen;
	info[n++] = (u8)(6 + ll);
	memcpy(info + n, "tls13 ", 6);
	n += 6;
	memcpy(info + n, label, ll);
	n += ll;
	info[n++] = 0; /* empty context */
	return hkdf(2, secret, 32, info, n, out, outlen);
}

static int keys_of(const struct qver *qv, const u8 secret[32], struct quic_keys *k)
{
	return expand_label(secret, qv->key, k->key, sizeof k->key) < 0 ||
	               expand_label(secret, qv->iv, k->iv, sizeof k->iv) < 0 ||
	               expand_label(secret, qv->hp, k->hp, sizeof k->hp) < 0
	           ? -1
	           : 0;
}

int quic_initial_keys(u32 version, const u8 *dcid, size_t n, struct quic_keys *client,
                      struct quic_keys *server)
{
	const struct qver *qv = qver_of(version);
	u8 initial[32], secret[32];
	if (!qv || n > CID_MAX || hkdf(1, dcid, n, qv->salt, sizeof qv->salt, initial, sizeof initial) < 0)
		return -1;
	if (expand_label(initial, "client in", secret, 32) < 0 || keys_of(qv, secret, client) < 0 ||
	    expand_label(initial, "server in", secret, 32) < 0 || keys_of(qv, secret, server) < 0)
		return -1;
	return 0;
}

/* ---- packet protection (RFC 9001 sections 5.3, 5.4) ---- */

/* The full packet number nearest to the expected one (RFC 9000 appendix A.3). */
static u64 pn_decode(i64 largest, u64 truncated, unsigned bits)
{
	u64 expected = (u64)(largest + 1), win = 1ull << bits, hwin = win / 2, mask = win - 1;
	u64 cand = (expected & ~mask) | truncated;
	if (cand + hwin <= expected && cand < (1ull << 62) - win)
		return cand + win;
	if (cand > expected + hwin && cand >= win)
		return cand - win;
	return cand;
}

int quic_open(const struct quic_keys *k, u8 *buf, size_t n, size_t pn_off, i64 largest,
              const u8 **payload, u64 *pn)
{
	u8 mask[32];
	int ml = 0, outl = 0;
	if (!q.gcm || n < pn_off + 4 + SAMPLE_LEN || pn_off + 4 + TAG_LEN > n)
		return -1;
	/* The sample starts 4 bytes past the packet number's start. */
	if (EVP_EncryptInit_ex(q.ecb, NULL, NULL, k->hp, NULL) != 1 ||
	    EVP_EncryptUpdate(q.ecb, mask, &ml, buf + pn_off + 4, SAMPLE_LEN) != 1 || ml != SAMPLE_LEN)
		return -1;
	u8 b0 = buf[0] ^ (mask[0] & 0x0f); /* long header: 4 bits protected */
	size_t pl = (size_t)(b0 & 3) + 1;
	u64 tpn = 0;
	for (size_t i = 0; i < pl; i++)
		tpn = tpn << 8 | (u8)(buf[pn_off + i] ^ mask[1 + i]);
	size_t hdr = pn_off + pl;
	if (n < hdr + TAG_LEN)
		return -1;
	/* Unmask in place only once the packet is known to be long enough. */
	buf[0] = b0;
	for (size_t i = 0; i < pl; i++)
		buf[pn_off + i] ^= mask[1 + i];
	u64 full = pn_decode(largest, tpn, (unsigned)(8 * pl));
	u8 nonce[12];
	memcpy(nonce, k->iv, sizeof nonce);
	for (int i = 0; i < 8; i++)
		nonce[11 - i] ^= (u8)(full >> (8 * i));
	size_t ct = n - hdr - TAG_LEN;
	if (ct > INT32_MAX ||
	    EVP_DecryptInit_ex(q.gcm, NULL, NULL, k->key, nonce) != 1 ||
	    EVP_DecryptUpdate(q.gcm, NULL, &outl, buf, (int)hdr) != 1 ||
	    EVP_DecryptUpdate(q.gcm, buf + hdr, &outl, buf + hdr, (int)ct) != 1 ||
	    EVP_CIPHER_CTX_ctrl(q.gcm, EVP_CTRL_GCM_SET_TAG, TAG_LEN, buf + hdr + ct) != 1 ||
	    EVP_DecryptFinal_ex(q.gcm, buf + hdr + ct, &outl) != 1)
		return -1;
	*payload = buf + hdr;
	*pn = full;
	return (int)ct;
}

int quic_retry_valid(u32 version, const u8 *p, size_t n, const u8 *odcid, size_t odn)
{
	const struct qver *qv = qver_of(version);
	u8 pseudo[1 + CID_MAX + 256], tag[TAG_LEN];
	int outl = 0;
	/* The Retry Pseudo-Packet: the original DCID with its length, then the
	 * Retry packet without its tag (RFC 9001 section 5.8). */
	if (!qv || !q.gcm || odn > CID_MAX || n < TAG_LEN + 7 || n - TAG_LEN > sizeof pseudo - 1 - odn)
		return 0;
	pseudo[0] = (u8)odn;
	memcpy(pseudo + 1, odcid, odn);
	memcpy(pseudo + 1 + odn, p, n - TAG_LEN);
	memcpy(tag, p + n - TAG_LEN, TAG_LEN);
	return EVP_DecryptInit_ex(q.gcm, NULL, NULL, qv->retry_key, qv->retry_nonce) == 1 &&
	       EVP_DecryptUpdate(q.gcm, NULL, &outl, pseudo, (int)(1 + odn + n - TAG_LEN)) == 1 &&
	       EVP_CIPHER_CTX_ctrl(q.gcm, EVP_CTRL_GCM_SET_TAG, TAG_LEN, tag) == 1 &&
	       EVP_DecryptFinal_ex(q.gcm, tag, &outl) == 1;
}

/* ---- names ---- */

/* Transport error codes (RFC 9000 section 20.1; RFC 9368 section 4). */
static const char *const error_names[] = {
	"NO_ERROR", "INTERNAL_ERROR", "CONNECTION_REFUSED", "FLOW_CONTROL_ERROR",
	"STREAM_LIMIT_ERROR", "STREAM_STATE_ERROR", "FINAL_SIZE_ERROR", "FRAME_ENCODING_ERROR",
	"TRANSPORT_PARAMETER_ERROR", "CONNECTION_ID_LIMIT_ERROR", "PROTOCOL_VIOLATION",
	"INVALID_TOKEN", "APPLICATION_ERROR", "CRYPTO_BUFFER_EXCEEDED", "KEY_UPDATE_ERROR",
	"AEAD_LIMIT_REACHED", "NO_VIABLE_PATH", "VERSION_NEGOTIATION_ERROR",
};

const char *quic_error_name(u64 code)
{
	if (code < sizeof error_names / sizeof *error_names)
		return error_names[code];
	return code >= 0x100 && code <= 0x1ff ? "CRYPTO_ERROR" : NULL;
}

static void version_str(u32 v, char out[11]) { snprintf(out, 11, "0x%08x", v); }

/* ---- wire helpers ---- */

/* A variable-length integer (RFC 9000 section 16). */
static int cur_varint(struct cur *c, u64 *v)
{
	u8 b;
	if (cur_u8(c, &b) < 0)
		return -1;
	size_t n = (size_t)1 << (b >> 6);
	u64 x = b & 0x3f;
	for (size_t i = 1; i < n; i++) {
		if (cur_u8(c, &b) < 0)
			return -1;
		x = x << 8 | b;
	}
	*v = x;
	return 0;
}

/* The header common to every long packet (RFC 9000 section 17.2). */
struct lhdr {
	u8 b0;
	u32 version;
	u8 dcid_len, scid_len;
	const u8 *dcid, *scid;
};

static int long_header(struct cur *c, struct lhdr *h)
{
	if (cur_u8(c, &h->b0) < 0 || cur_be32(c, &h->version) < 0 || cur_u8(c, &h->dcid_len) < 0 ||
	    cur_ptr(c, h->dcid_len, &h->dcid) < 0 || cur_u8(c, &h->scid_len) < 0 ||
	    cur_ptr(c, h->scid_len, &h->scid) < 0)
		return -1;
	/* Version 1 and 2 limit connection IDs to 20 bytes; VN may carry others. */
	if (h->version && (h->dcid_len > CID_MAX || h->scid_len > CID_MAX))
		return -1;
	return 0;
}

int quic_detect(const u8 *p, u32 n, u16 dport)
{
	struct cur c;
	struct lhdr h;
	cur_init(&c, p, n);
	if (!p || n < 7 || !(p[0] & 0x80) || long_header(&c, &h) < 0)
		return 0;
	if (h.version == QUIC_V1 || h.version == QUIC_V2) { /* fixed bit greased or not (RFC 9287) */
		int t = pkt_type(h.version, h.b0);
		return t == PT_INITIAL || t == PT_0RTT;
	}
	/* Another version: only an Initial-looking first datagram to 443 (padded
	 * to 1200 bytes, an 8-byte or longer DCID, RFC 9000 sections 7.2, 14.1). */
	return dport == 443 && n >= 1200 && (p[0] & 0x40) && h.version && h.dcid_len >= 8;
}

/* ---- findings ---- */

static const char *sender_name(int dir) { return dir == DIR_C2S ? "client" : "server"; }

static void count_once(struct flow *f, struct quic_state *s, int failed)
{
	if (s->counted)
		return;
	s->counted = 1;
	findings_exchange(CAT_QUIC, f->name_id ? names_get(f->name_id) : NULL, &f->srv, &f->cli,
	                  s->first_us ? s->first_us : f->first_us, failed);
}

/* A finding of s's handshake: the frame first, then the client's first
 * Initial and the server's answer; name = SNI; version and ALPN. */
static void finding_base(struct finding *fd, int kind, struct flow *f, struct quic_state *s,
                         u64 ts, u32 frame)
{
	char vs[11];
	finding_init(fd, kind, f, ts, f->file, frame);
	finding_add_ev(fd, s->first_frame);
	finding_add_ev(fd, s->answer_frame);
	finding_set_name(fd, f->name_id ? names_get(f->name_id) : NULL);
	version_str(s->version, vs);
	json_object_set_new(fd->detail, "version", json_string(vs));
	if (s->alpn[0])
		json_object_set_new(fd->detail, "alpn", json_string(s->alpn));
}

/* A CONNECTION_CLOSE of frame type ft read in an Initial from dir. */
static void on_close(struct flow *f, struct quic_state *s, int dir, const struct packet *pk, u8 ft,
                     u64 code, u64 frame_type, const u8 *reason, size_t rn)
{
	struct finding fd;
	char rs[REASON_SHOW * 4 + 1];
	q.st.connection_closes++;
	if (s->reported)
		return;
	s->close_frame = pk->frame;
	int hello = s->sh_seen || s->server_hs;
	/* NO_ERROR: a normal end after the handshake; before the server's
	 * hello, from the client, its idle timer ran out (it gave up). */
	if (ft == FT_CLOSE && code == 0 && (hello || dir == DIR_C2S)) {
		if (hello)
			return;
		finding_base(&fd, K_QUIC_TIMEOUT, f, s, pk->ts_us, pk->frame);
		finding_add_ev(&fd, s->first_frame);
		fd.origin = O_UNKNOWN;
		json_object_set_new(fd.detail, "retries", json_integer(s->client_initials ? s->client_initials - 1 : 0));
		json_object_set_new(fd.detail, "stage", json_string(s->answered ? "server_initial_without_hello"
		                                                                  : "no_answer"));
		json_object_set_new(fd.detail, "closed_by_client", json_integer(pk->frame));
		str_escape(reason, MIN(rn, (size_t)REASON_SHOW), rs, sizeof rs);
		json_object_set_new(fd.detail, "reason_phrase", json_string(rs));
	} else {
		finding_base(&fd, K_QUIC_CLOSE, f, s, pk->ts_us, pk->frame);
		fd.origin = dir == DIR_S2C ? O_SERVER : O_LOCAL;
		json_object_set_new(fd.detail, "error_code", json_integer((json_int_t)(code & 0x3fffffffffffffffull)));
		json_object_set_new(fd.detail, "error_space", json_string(ft == FT_CLOSE ? "transport" : "application"));
		const char *en = ft == FT_CLOSE ? quic_error_name(code) : NULL;
		json_object_set_new(fd.detail, "error_name", en ? json_string(en) : json_null());
		if (ft == FT_CLOSE && code >= 0x100 && code <= 0x1ff) {
			const char *an = tls_alert_name((u8)(code - 0x100));
			json_object_set_new(fd.detail, "alert", json_integer((json_int_t)(code - 0x100)));
			json_object_set_new(fd.detail, "alert_name", an ? json_string(an) : json_null());
		}
		if (ft == FT_CLOSE)
			json_object_set_new(fd.detail, "frame_type", json_integer((json_int_t)(frame_type & 0xffffffff)));
		str_escape(reason, MIN(rn, (size_t)REASON_SHOW), rs, sizeof rs);
		json_object_set_new(fd.detail, "reason_phrase", json_string(rs));
		json_object_set_new(fd.detail, "sender", json_string(sender_name(dir)));
		json_object_set_new(fd.detail, "ttl", json_integer(pk->ttl));
	}
	findings_emit(&fd);
	s->reported = 1;
	count_once(f, s, 1);
}

/* ---- CRYPTO reassembly and the hellos ---- */

/* Counts a ClientHello's name and first ALPN protocol among the first
 * QUIC_STATS_VERSIONS distinct ones of each. */
static void tally_hello(u32 name_id, const char *alpn)
{
	u8 i;
	if (name_id) {
		for (i = 0; i < q.st.n_names && q.st.names[i].name_id != name_id; i++)
			;
		if (i < QUIC_STATS_VERSIONS) {
			if (i == q.st.n_names)
				q.st.names[q.st.n_names++].name_id = name_id;
			q.st.names[i].n++;
		}
	}
	if (alpn[0]) {
		for (i = 0; i < q.st.n_alpns && strcmp(q.st.alpns[i].alpn, alpn) != 0; i++)
			;
		if (i < QUIC_STATS_VERSIONS) {
			if (i == q.st.n_alpns)
				snprintf(q.st.alpns[q.st.n_alpns++].alpn, sizeof q.st.alpns[0].alpn, "%s", alpn);
			q.st.alpns[i].n++;
		}
	}
}

/* A whole handshake message m[n] at offset 0 of dir's CRYPTO stream. */
static void on_hello(struct flow *f, struct quic_state *s, int dir, const u8 *m, size_t n,
                     const struct packet *pk)
{
	struct tls_hello h;
	struct quic_dir *d = &s->d[dir];
	d->hello_done = 1;
	d->hello_frame = pk->frame;
	int ht = tls_parse_hello(f, m, n, &h);
	if (dir == DIR_C2S && ht == 1) {
		q.st.client_hellos++;
		q.st.connections += !s->named;
		s->named = 1;
		if (h.alpn[0] && !s->sh_seen)
			memcpy(s->alpn, h.alpn, sizeof s->alpn);
		if (!s->tls_version)
			s->tls_version = h.version;
		if (f->name_id && q.sni_seen && !(q.sni_seen[f->name_id >> 3] & (1u << (f->name_id & 7)))) {
			q.sni_seen[f->name_id >> 3] |= (u8)(1u << (f->name_id & 7));
			q.st.server_names++;
		}
		tally_hello(f->name_id, h.alpn);
	} else if (dir == DIR_S2C && ht == 2) {
		q.st.server_hellos++;
		s->tls_version = h.version;
		if (h.hrr && !s->hrr) {
			/* A HelloRetryRequest: the real ServerHello follows it in the
			 * stream, after the client's second ClientHello. */
			s->hrr = 1;
			d->hello_done = 0;
			d->base += (u32)n;
			return;
		}
		s->sh_seen = 1;
		s->sh_frame = pk->frame;
		if (h.alpn[0])
			memcpy(s->alpn, h.alpn, sizeof s->alpn);
	}
}

/* Frees d's reassembly buffer, if any. */
static void buf_free(struct quic_dir *d)
{
	if (!d->buf)
		return;
	free(d->buf);
	d->buf = NULL;
	q.n_reasm--;
}

/* CRYPTO data p[n] at offset off of dir's Initial stream. Messages past
 * the first (the hello) are not read: the rest of the handshake travels in
 * Handshake packets. */
static void on_crypto(struct flow *f, struct quic_state *s, int dir, u64 off, const u8 *p, size_t n,
                      const struct packet *pk)
{
	struct quic_dir *d = &s->d[dir];
	if (d->hello_done || off + n <= d->base)
		return;
	/* Offsets from the message to read. */
	if (off < d->base) {
		size_t cut = (size_t)(d->base - off);
		p += cut, n -= cut, off = d->base;
	}
	off -= d->base;
	if (off >= QUIC_CRYPTO_MAX)
		return;
	/* The common case: the whole hello in one frame at its offset. */
	if (off == 0 && !d->buf && n >= 4) {
		size_t ml = 4 + ((size_t)p[1] << 16 | (size_t)p[2] << 8 | p[3]);
		if (n >= ml) {
			on_hello(f, s, dir, p, ml, pk);
			/* Past a HelloRetryRequest (once), the rest of the frame. */
			if (!d->hello_done && n > ml)
				on_crypto(f, s, dir, d->base, p + ml, n - ml, pk);
			return;
		}
	}
	if (!d->buf) {
		/* Initials are easy to forge: cap the buffers, not only the flows. */
		if (q.n_reasm >= QUIC_REASM_MAX) {
			q.st.reasm_full++;
			return;
		}
		q.n_reasm++;
		d->buf = xcalloc(1, QUIC_CRYPTO_MAX + QUIC_CRYPTO_MAX / 8);
	}
	u8 *have = d->buf + QUIC_CRYPTO_MAX;
	size_t k = MIN(n, (size_t)(QUIC_CRYPTO_MAX - off));
	memcpy(d->buf + off, p, k);
	for (size_t i = (size_t)off; i < off + k; i++)
		have[i >> 3] |= (u8)(1u << (i & 7));
	if ((have[0] & 0x0f) != 0x0f)
		return;
	size_t ml = 4 + ((size_t)d->buf[1] << 16 | (size_t)d->buf[2] << 8 | d->buf[3]);
	if (ml > QUIC_CRYPTO_MAX) {
		d->hello_done = 1; /* larger than kept: not read */
		goto done;
	}
	for (size_t i = 0; i < ml; i++)
		if (!(have[i >> 3] & (1u << (i & 7))))
			return;
	on_hello(f, s, dir, d->buf, ml, pk);
done:
	buf_free(d);
}

/* The frames of an opened Initial packet p[n] from dir (RFC 9000 section
 * 19). Stops at the first frame type an Initial may not carry. */
static void frames(struct flow *f, struct quic_state *s, int dir, const u8 *p, size_t n,
                   const struct packet *pk)
{
	struct cur c;
	cur_init(&c, p, n);
	while (cur_left(&c) && !s->reported) {
		u64 t, a, b, cnt, i;
		const u8 *data = NULL;
		if (cur_varint(&c, &t) < 0)
			return;
		switch (t) {
		case FT_PADDING:
		case FT_PING:
			break;
		case FT_ACK:
		case FT_ACK_ECN:
			/* largest, delay, range count, first range; then the ranges. */
			if (cur_varint(&c, &a) < 0 || cur_varint(&c, &a) < 0 || cur_varint(&c, &cnt) < 0 ||
			    cur_varint(&c, &a) < 0)
				return;
			for (i = 0; i < cnt && !c.err; i++)
				if (cur_varint(&c, &a) < 0 || cur_varint(&c, &b) < 0)
					return;
			if (t == FT_ACK_ECN && (cur_varint(&c, &a) < 0 || cur_varint(&c, &a) < 0 ||
			                        cur_varint(&c, &a) < 0))
				return;
			break;
		case FT_CRYPTO:
			if (cur_varint(&c, &a) < 0 || cur_varint(&c, &b) < 0 || b > cur_left(&c) ||
			    cur_ptr(&c, (size_t)b, &data) < 0)
				return;
			on_crypto(f, s, dir, a, data, (size_t)b, pk);
			break;
		case FT_CLOSE:
		case FT_CLOSE_APP: {
			u64 code, ftype = 0, rl;
			if (cur_varint(&c, &code) < 0 || (t == FT_CLOSE && cur_varint(&c, &ftype) < 0) ||
			    cur_varint(&c, &rl) < 0)
				return;
			size_t rn = (size_t)MIN(rl, (u64)cur_left(&c)); /* a claim: clamp */
			cur_ptr(&c, rn, &data);
			on_close(f, s, dir, pk, (u8)t, code, ftype, data, rn);
			return;
		}
		default:
			return;
		}
	}
}

/* ---- packets ---- */

/* Derives the keys for connection ID cid[n]. */
static void set_keys(struct quic_state *s, u32 version, const u8 *cid, u8 n)
{
	s->keys_ok = 0;
	if (n > CID_MAX)
		return; /* a Version Negotiation's IDs may be longer: no keys from those */
	memcpy(s->dcid, cid, n);
	s->dcid_len = n;
	s->keys_ok = quic_initial_keys(version, cid, n, &s->k[DIR_C2S], &s->k[DIR_S2C]) == 0;
}

/* An Initial packet pkt[n] (its header parsed up to the packet number at
 * pn_off) from dir: opened with the flow's keys, its frames read. */
static void open_initial(struct flow *f, struct quic_state *s, int dir, u32 version, const u8 *pkt,
                         size_t n, size_t pn_off, const struct packet *pk)
{
	struct quic_dir *d = &s->d[dir];
	const u8 *pl;
	u64 pn;
	if (!s->keys_ok || version != s->version || d->opened >= QUIC_OPEN_CAP || n > QUIC_PKT_MAX)
		return;
	memcpy(q.scratch, pkt, n);
	int len = quic_open(&s->k[dir], q.scratch, n, pn_off, d->largest, &pl, &pn);
	if (len < 0) {
		q.st.open_failed++;
		return;
	}
	q.st.opened++;
	d->opened++;
	if ((i64)pn > d->largest)
		d->largest = (i64)pn;
	frames(f, s, dir, pl, (size_t)len, pk);
}

/* A Version Negotiation from the server (RFC 9000 section 17.2.1): the
 * versions it supports, in the rest of the datagram. */
static void on_vn(struct quic_state *s, struct cur *c, const struct packet *pk)
{
	q.st.version_negotiations++;
	s->vn_seen = 1;
	s->vn_frame = pk->frame;
	s->n_vn = 0;
	while (cur_left(c) >= 4) {
		u32 v;
		cur_be32(c, &v);
		if (s->n_vn < VN_KEEP)
			s->vn[s->n_vn++] = v;
	}
}

/* A Retry from the server (RFC 9000 section 17.2.5): when its tag
 * verifies, the client's next Initials go to its Source Connection ID,
 * which the keys now derive from, and the handshake starts over. */
static void on_retry(struct quic_state *s, const struct lhdr *h, const u8 *p, size_t n)
{
	q.st.retries++;
	if (s->retry || h->version != s->version || !h->scid_len ||
	    !quic_retry_valid(h->version, p, n, s->dcid, s->dcid_len))
		return;
	s->retry = 1;
	set_keys(s, h->version, h->scid, h->scid_len);
	for (int i = 0; i < 2; i++) {
		buf_free(&s->d[i]);
		s->d[i].hello_done = 0;
		s->d[i].base = 0;
		s->d[i].largest = -1;
	}
}

/* One datagram's packets p[n] from dir (RFC 9000 section 12.2). */
static void datagram(struct flow *f, struct quic_state *s, int dir, const u8 *p, size_t n,
                     const struct packet *pk)
{
	struct cur c;
	cur_init(&c, p, n);
	while (cur_left(&c) >= 7) {
		const u8 *start = c.p;
		struct lhdr h;
		u64 tl, len;
		if (!(start[0] & 0x80))
			return; /* a short header runs to the end of the datagram */
		if (long_header(&c, &h) < 0)
			return;
		if (h.version == 0) {
			if (dir == DIR_S2C) {
				count_version(0);
				on_vn(s, &c, pk);
			}
			return;
		}
		const struct qver *qv = qver_of(h.version);
		/* The fixed bit may be greased to 0 (RFC 9287) once the peer allowed
		 * it; bytes with it clear and an unknown version are junk (padding). */
		if (!qv && !(h.b0 & 0x40))
			return;
		count_version(h.version);
		if (!qv)
			return; /* unknown layout past the connection IDs */
		int t = pkt_type(h.version, h.b0);
		if (t == PT_RETRY) {
			if (dir == DIR_S2C)
				on_retry(s, &h, start, n - (size_t)(start - p));
			return;
		}
		if (t == PT_INITIAL && (cur_varint(&c, &tl) < 0 || cur_skip(&c, (size_t)MIN(tl, (u64)cur_left(&c))) < 0))
			return;
		if (cur_varint(&c, &len) < 0)
			return;
		size_t pn_off = (size_t)(c.p - start);
		size_t body = (size_t)MIN(len, (u64)cur_left(&c)); /* a claim: clamp */
		cur_skip(&c, body);
		if (t == PT_INITIAL) {
			if (dir == DIR_C2S) {
				q.st.client_initials++;
				s->client_initials++;
				if (s->vn_seen && !s->vn_used)
					for (u8 i = 0; i < s->n_vn; i++)
						s->vn_used |= s->vn[i] == h.version;
				/* After a Version Negotiation the client starts over in
				 * the version it chose, with new keys. */
				if (s->vn_used && h.version != s->version) {
					s->version = h.version;
					set_keys(s, h.version, h.dcid, h.dcid_len);
				}
			} else {
				q.st.server_initials++;
			}
			if (body == len)
				open_initial(f, s, dir, h.version, start, pn_off + body, pn_off, pk);
		} else if (t == PT_HANDSHAKE) {
			q.st.handshakes++;
			if (dir == DIR_S2C)
				s->server_hs = 1;
		} else {
			q.st.zero_rtt++;
		}
		if (s->reported)
			return;
	}
}

void quic_feed(struct flow *f, int dir, const struct packet *pk)
{
	struct quic_state *s = f->app_state;
	if (f->app_done || (dir != DIR_C2S && dir != DIR_S2C) || !pk->pl || !pk->pl_len)
		return;
	if (!s) {
		struct cur c;
		struct lhdr h;
		s = f->app_state = xcalloc(1, sizeof *s);
		s->d[0].largest = s->d[1].largest = -1;
		s->first_frame = pk->frame;
		s->first_us = pk->ts_us;
		cur_init(&c, pk->pl, pk->pl_len);
		if (long_header(&c, &h) == 0) {
			s->version = h.version;
			set_keys(s, h.version, h.dcid, h.dcid_len);
		}
	}
	struct quic_dir *d = &s->d[dir];
	if (dir == DIR_S2C && !s->answered) {
		s->answered = 1;
		s->answer_frame = pk->frame;
	}
	if (++d->dgrams > QUIC_DGRAM_CAP || s->reported) {
		f->app_done = 1; /* past the handshake: nothing more to read */
		return;
	}
	datagram(f, s, dir, pk->pl, pk->pl_len, pk);
}

void quic_flow_end(struct flow *f, u64 now_us)
{
	struct quic_state *s = f->app_state;
	if (!s)
		return;
	struct finding fd;
	int hello = s->sh_seen || s->server_hs;
	if (!s->reported && s->vn_seen && !s->vn_used && !hello) {
		/* Told the server's versions and never came back with one of them. */
		char vs[11];
		finding_base(&fd, K_QUIC_VERSION, f, s, f->last_us, s->vn_frame);
		fd.origin = O_SERVER;
		version_str(s->version, vs);
		json_object_set_new(fd.detail, "offered", json_string(vs));
		json_t *sup = json_array();
		for (u8 i = 0; i < s->n_vn; i++) {
			version_str(s->vn[i], vs);
			json_array_append_new(sup, json_string(vs));
		}
		json_object_set_new(fd.detail, "supported", sup);
		findings_emit(&fd);
		s->reported = 1;
		count_once(f, s, 1);
	} else if (!s->reported && s->client_initials && !hello &&
	           now_us >= s->first_us + g_opts.syn_timeout_us) {
		finding_base(&fd, K_QUIC_TIMEOUT, f, s, s->first_us + g_opts.syn_timeout_us, s->first_frame);
		fd.origin = O_UNKNOWN;
		json_object_set_new(fd.detail, "retries", json_integer(s->client_initials - 1));
		json_object_set_new(fd.detail, "stage", json_string(s->answered ? "server_initial_without_hello"
		                                                                  : "no_answer"));
		findings_emit(&fd);
		s->reported = 1;
		count_once(f, s, 1);
	} else if (!s->reported && hello) {
		count_once(f, s, 0);
	}
	buf_free(&s->d[0]);
	buf_free(&s->d[1]);
	free(s);
	f->app_state = NULL;
}
