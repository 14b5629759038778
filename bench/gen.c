/* \summary: the benchmark's input: a deterministic, seeded capture of a
 * gateway's LAN side (Ethernet, some of it VLAN-tagged; IPv4 and IPv6) of a
 * chosen size. Many clients resolve names (UDP and TCP DNS: A, AAAA, HTTPS),
 * open TLS 1.3 and 1.2 connections (real-shaped ClientHellos, certificates
 * signed by a CA given on the command line) and stream bulk segments; some
 * speak plain HTTP, some QUIC (real Initials, protected as RFC 9001 says, with
 * a ClientHello and a ServerHello inside, then short-header packets). A few exchanges fail on purpose: the
 * generator writes each of those "planted" failures to FILE.planted, one
 * line per finding panne must report, so the benchmark checks recall too.
 *
 * Profiles (-p): "mix" (the default) gives every name one certificate, so a
 * whole capture holds a couple of hundred distinct chains. "chains" gives
 * every TLS 1.2 connection a leaf of its own (RSA, ECDSA P-256 or Ed25519
 * keys; signed by the CA or by an ECDSA intermediate the chain then carries),
 * and shorter, more frequent TLS 1.2 connections, so that verifying chains,
 * not reading packets, is what a reader pays for.
 *
 * Usage: gen [-s SEED] [-p mix|chains] -k CA.key -c CA.pem OUT.pcap BYTES
 */
#include <arpa/inet.h>
#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/pem.h>
#include <openssl/provider.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;

#define NCLIENTS 400
#define NSESS 300          /* sessions in progress at once */
#define GAP_US 100         /* mean gap between packets of the whole capture */
#define MSS 1448
#define TAIL_US 20000000u  /* quiet end: every planted timeout runs out */

/* ---- randomness (splitmix64: small, seeded, the same everywhere) ---- */
static u64 rs;
static u64 rnd(void)
{
	u64 z = (rs += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}
static u32 rn(u32 n) { return (u32)(rnd() % n); }
/* n random bytes at p (hello randoms, session ids, key shares); returns n. */
static size_t rnd_fill(u8 *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (u8)rnd();
	return n;
}
static int pct(double p) { return (double)(rnd() % 1000000) < p * 10000.0; }

static int chains; /* the "chains" profile */
/* Its mix: % of TLS 1.3 sessions made TLS 1.2 (TLS 1.3's long streams are
 * most of the bytes), % of TLS 1.2 connections short, the long ones' extra
 * segments. Seed 1 then holds over 8 000 distinct chains in 1 GiB. */
#define CH_TLS12 90
#define CH_SHORT 85
#define CH_LONG 200

/* ---- OpenSSL's randomness from the seed (chains profile) ----
 * Key generation and ECDSA signatures draw on OpenSSL's DRBGs: a built-in
 * provider whose DRBG is splitmix64 makes them, and so the capture, the same
 * on every run. Its own stream, so that OpenSSL's draws leave rnd() alone. */
static u64 krs;

static void *dr_new(void *provctx, void *parent, const OSSL_DISPATCH *pd)
{
	(void)provctx, (void)parent, (void)pd;
	return &krs; /* every DRBG shares the one stream: single-threaded, same order each run */
}
static void dr_free(void *c) { (void)c; }
static int dr_inst(void *c, unsigned st, int pr, const unsigned char *ps, size_t pl, const OSSL_PARAM *p)
{
	(void)c, (void)st, (void)pr, (void)ps, (void)pl, (void)p;
	return 1;
}
static int dr_uninst(void *c) { (void)c; return 1; }
static int dr_gen(void *c, unsigned char *out, size_t n, unsigned st, int pr, const unsigned char *a, size_t al)
{
	(void)c, (void)st, (void)pr, (void)a, (void)al;
	u64 save = rs;
	rs = krs;
	rnd_fill(out, n);
	krs = rs, rs = save;
	return 1;
}
static int dr_lock(void *c) { (void)c; return 1; }
static void dr_unlock(void *c) { (void)c; }
static int dr_get(void *c, OSSL_PARAM *p)
{
	(void)c;
	OSSL_PARAM *q;
	if ((q = OSSL_PARAM_locate(p, OSSL_RAND_PARAM_STATE)) && !OSSL_PARAM_set_int(q, EVP_RAND_STATE_READY))
		return 0;
	if ((q = OSSL_PARAM_locate(p, OSSL_RAND_PARAM_STRENGTH)) && !OSSL_PARAM_set_uint(q, 256))
		return 0;
	if ((q = OSSL_PARAM_locate(p, OSSL_RAND_PARAM_MAX_REQUEST)) && !OSSL_PARAM_set_size_t(q, 1 << 16))
		return 0;
	return 1;
}
static const OSSL_PARAM *dr_gettable(void *c, void *provctx)
{
	static const OSSL_PARAM p[] = {
		OSSL_PARAM_int(OSSL_RAND_PARAM_STATE, NULL),
		OSSL_PARAM_uint(OSSL_RAND_PARAM_STRENGTH, NULL),
		OSSL_PARAM_size_t(OSSL_RAND_PARAM_MAX_REQUEST, NULL),
		OSSL_PARAM_END,
	};
	(void)c, (void)provctx;
	return p;
}
static const OSSL_DISPATCH dr_fns[] = {
	{ OSSL_FUNC_RAND_NEWCTX, (void (*)(void))dr_new },
	{ OSSL_FUNC_RAND_FREECTX, (void (*)(void))dr_free },
	{ OSSL_FUNC_RAND_INSTANTIATE, (void (*)(void))dr_inst },
	{ OSSL_FUNC_RAND_UNINSTANTIATE, (void (*)(void))dr_uninst },
	{ OSSL_FUNC_RAND_GENERATE, (void (*)(void))dr_gen },
	{ OSSL_FUNC_RAND_ENABLE_LOCKING, (void (*)(void))dr_lock },
	{ OSSL_FUNC_RAND_LOCK, (void (*)(void))dr_lock },
	{ OSSL_FUNC_RAND_UNLOCK, (void (*)(void))dr_unlock },
	{ OSSL_FUNC_RAND_GET_CTX_PARAMS, (void (*)(void))dr_get },
	{ OSSL_FUNC_RAND_GETTABLE_CTX_PARAMS, (void (*)(void))dr_gettable },
	{ 0, NULL },
};
static const OSSL_ALGORITHM dr_algs[] = {
	{ "GEN-SPLITMIX", "provider=gen-rand", dr_fns, NULL },
	{ NULL, NULL, NULL, NULL },
};
static const OSSL_ALGORITHM *dr_query(void *provctx, int op, int *no_cache)
{
	(void)provctx;
	*no_cache = 0;
	return op == OSSL_OP_RAND ? dr_algs : NULL;
}
static const OSSL_DISPATCH dr_prov[] = {
	{ OSSL_FUNC_PROVIDER_QUERY_OPERATION, (void (*)(void))dr_query },
	{ 0, NULL },
};
static int dr_init(const OSSL_CORE_HANDLE *h, const OSSL_DISPATCH *in, const OSSL_DISPATCH **out, void **provctx)
{
	(void)in;
	*out = dr_prov;
	*provctx = (void *)h;
	return 1;
}

/* Before OpenSSL makes its first DRBG (it keeps the type it started with). */
static void seeded_openssl(u64 seed)
{
	krs = seed ^ 0x6b657973u; /* "keys" */
	/* Loading a provider by name stops the default one loading by itself. */
	if (!OSSL_PROVIDER_add_builtin(NULL, "gen-rand", dr_init) || !OSSL_PROVIDER_load(NULL, "gen-rand") ||
	    !OSSL_PROVIDER_load(NULL, "default") ||
	    !RAND_set_DRBG_type(NULL, "GEN-SPLITMIX", "provider=gen-rand", NULL, NULL)) {
		fprintf(stderr, "gen: cannot make OpenSSL's randomness deterministic\n");
		exit(1);
	}
}

/* ---- names and addresses ---- */
static const char *svc_names[] = {
	"open.spotify.com", "spclient.wg.spotify.com", "audio-fa.scdn.co", "i.scdn.co",
	"www.netflix.com", "occ-0-56-55.1.nflxso.net", "ipv4-c012-ams001-ix.1.oca.nflxvideo.net",
	"www.youtube.com", "rr3---sn-4g5e6nz7.googlevideo.com", "i.ytimg.com",
	"discord.com", "gateway.discord.gg", "cdn.discordapp.com", "media.discordapp.net",
	"x.com", "video.twimg.com", "pbs.twimg.com", "www.twitch.tv",
	"video-weaver.ams02.hls.ttvnw.net", "www.deezer.com", "e-cdns-proxy-5.dzcdn.net",
	"tv.apple.com", "play.itunes.apple.com", "www.primevideo.com", "atv-ps-eu.primevideo.com",
	"www.disneyplus.com", "disney.api.edge.bamgrid.com", "soundcloud.com", "api-v2.soundcloud.com",
	"listen.tidal.com",
};
#define NSVC (sizeof svc_names / sizeof *svc_names)
#define NOTHER 120
#define NNAMES (NSVC + NOTHER)
static const char *words[] = { "alpha", "blue", "cloud", "delta", "echo", "forge", "green", "harbor",
	"iris", "jade", "kilo", "lumen", "metro", "nova", "orbit", "pixel", "quartz", "river" };
static const char *tlds[] = { "com", "net", "org", "io", "de", "fr", "co.uk" };

struct name {
	char s[96];
	u8 v4[4], v6[16];
	u8 ttl;      /* the server's TTL as seen at the gateway */
	unsigned char *der, *old_der; /* its certificate, and an expired one */
	int derlen, old_len;
};
static struct name names[NNAMES];

struct client {
	u8 v4[4], v6[16], mac[6];
	int v6ok, vlan;
	u16 ipid;
};
static struct client clients[NCLIENTS];
static const u8 gw_mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };
static const u8 res_v4[4] = { 10, 1, 0, 1 };
static u8 res_v6[16] = { 0xfd, 0, 0, 1 };

/* ---- certificates: one per name, signed by the CA (RSA signatures are
 * deterministic, so the capture is too) ---- */
static EVP_PKEY *ca_key;
static X509 *ca_cert;
static time_t t0; /* the capture's first second */
static unsigned char *bad_der; /* a certificate for another name */
static int bad_len;

static int der_of(X509 *x, unsigned char **out)
{
	*out = NULL;
	return i2d_X509(x, out);
}

/* A leaf for cn, with key pub, signed by the issuer ic (key ik). */
static X509 *make_cert_by(const char *cn, long serial, time_t nb, time_t na, EVP_PKEY *pub, X509 *ic,
                          EVP_PKEY *ik)
{
	X509 *x = X509_new();
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
	ASN1_TIME_set(X509_getm_notBefore(x), nb);
	ASN1_TIME_set(X509_getm_notAfter(x), na);
	X509_NAME *n = X509_NAME_new();
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(x, n);
	X509_NAME_free(n);
	X509_set_issuer_name(x, X509_get_subject_name(ic));
	X509_set_pubkey(x, pub);
	char san[128];
	snprintf(san, sizeof san, "DNS:%s", cn);
	X509V3_CTX ctx;
	X509V3_set_ctx(&ctx, ic, x, NULL, NULL, 0);
	X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_alt_name, san);
	X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	if (!X509_sign(x, ik, EVP_sha256())) {
		fprintf(stderr, "gen: cannot sign the certificate of %s\n", cn);
		exit(1);
	}
	return x;
}

/* The mix profile's: one key pair for all, since only signatures are checked. */
static X509 *make_cert(const char *cn, long serial, time_t nb, time_t na)
{
	return make_cert_by(cn, serial, nb, na, ca_key, ca_cert, ca_key);
}

static void load_ca(const char *keyf, const char *certf)
{
	FILE *f = fopen(keyf, "r");
	if (!f || !(ca_key = PEM_read_PrivateKey(f, NULL, NULL, NULL))) {
		fprintf(stderr, "gen: %s: cannot read the CA's private key\n", keyf);
		exit(1);
	}
	fclose(f);
	f = fopen(certf, "r");
	if (!f || !(ca_cert = PEM_read_X509(f, NULL, NULL, NULL))) {
		fprintf(stderr, "gen: %s: cannot read the CA certificate\n", certf);
		exit(1);
	}
	fclose(f);
	/* The capture starts a day into the CA's life, so the CA is valid then. */
	struct tm tm;
	ASN1_TIME_to_tm(X509_get0_notBefore(ca_cert), &tm);
	t0 = timegm(&tm) + 86400;
}

static void make_names(void)
{
	for (size_t i = 0; i < NNAMES; i++) {
		struct name *n = &names[i];
		if (i < NSVC)
			snprintf(n->s, sizeof n->s, "%s", svc_names[i]);
		else
			snprintf(n->s, sizeof n->s, "%s.%s%s%u.%s", i % 3 ? "www" : "api",
			         words[rn(18)], words[rn(18)], (unsigned)i, tlds[rn(7)]);
		/* Public-looking addresses, outside private and documentation ranges. */
		n->v4[0] = (u8)(23 + rn(170));
		if (n->v4[0] == 100 || n->v4[0] == 127 || n->v4[0] == 169 || n->v4[0] == 172 || n->v4[0] == 192)
			n->v4[0] = 81;
		n->v4[1] = (u8)rn(256);
		n->v4[2] = (u8)rn(256);
		n->v4[3] = (u8)(1 + rn(254));
		n->v6[0] = 0x2a;
		n->v6[1] = 0x00 + (u8)rn(16);
		for (int j = 2; j < 16; j++)
			n->v6[j] = (u8)rnd();
		static const u8 inits[] = { 64, 64, 128, 255 };
		n->ttl = (u8)(inits[rn(4)] - 6 - rn(14));
		X509 *x = make_cert(n->s, (long)i + 2, t0 - 30 * 86400, t0 + 300 * 86400);
		n->derlen = der_of(x, &n->der);
		X509_free(x);
	}
	X509 *x = make_cert("unrelated.example.net", 9001, t0 - 30 * 86400, t0 + 300 * 86400);
	bad_len = der_of(x, &bad_der);
	X509_free(x);
}

/* The name's certificate of last year, made when first needed. */
static void expired_cert(struct name *n)
{
	if (n->old_der)
		return;
	X509 *x = make_cert(n->s, 10000 + (long)(n - names), t0 - 400 * 86400, t0 - 35 * 86400);
	n->old_len = der_of(x, &n->old_der);
	X509_free(x);
}

/* ---- the chains profile: a leaf per TLS 1.2 connection ---- */
#define POOL 16 /* key pairs per type: RSA generation is slow, and only certificates need to differ */
enum { K_RSA, K_EC, K_ED, NKT };
static EVP_PKEY *pool[NKT][POOL];
static EVP_PKEY *ica_key; /* the intermediate CA: ECDSA P-256, signed by the CA */
static X509 *ica_cert;
static unsigned char *ica_der;
static int ica_len;
static long leaf_serial = 100000; /* above the mix profile's serials */

static EVP_PKEY *keygen(int t)
{
	EVP_PKEY *k = t == K_RSA ? EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048)
	            : t == K_EC  ? EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")
	                         : EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	if (!k) {
		fprintf(stderr, "gen: cannot generate a key pair\n");
		exit(1);
	}
	return k;
}

static void add_ext(X509 *x, X509V3_CTX *c, int nid, const char *v)
{
	X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, c, nid, v);
	if (!e || !X509_add_ext(x, e, -1)) {
		fprintf(stderr, "gen: cannot add the extension %s\n", v);
		exit(1);
	}
	X509_EXTENSION_free(e);
}

static void make_chain_keys(void)
{
	for (int t = 0; t < NKT; t++)
		for (int i = 0; i < POOL; i++)
			pool[t][i] = keygen(t);
	ica_key = keygen(K_EC);
	X509 *x = X509_new();
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 2);
	/* From the CA's first second for a year: the capture lies inside. */
	ASN1_TIME_set(X509_getm_notBefore(x), t0 - 86400);
	ASN1_TIME_set(X509_getm_notAfter(x), t0 + 365 * 86400);
	X509_NAME *n = X509_NAME_new();
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"panne bench intermediate CA", -1, -1, 0);
	X509_set_subject_name(x, n);
	X509_NAME_free(n);
	X509_set_issuer_name(x, X509_get_subject_name(ca_cert));
	X509_set_pubkey(x, ica_key);
	X509V3_CTX c;
	X509V3_set_ctx(&c, ca_cert, x, NULL, NULL, 0);
	add_ext(x, &c, NID_basic_constraints, "critical,CA:TRUE,pathlen:0");
	add_ext(x, &c, NID_key_usage, "critical,keyCertSign,cRLSign");
	add_ext(x, &c, NID_subject_key_identifier, "hash");
	add_ext(x, &c, NID_authority_key_identifier, "keyid:always");
	if (!X509_sign(x, ca_key, EVP_sha256())) {
		fprintf(stderr, "gen: cannot sign the intermediate CA\n");
		exit(1);
	}
	ica_cert = x;
	ica_len = der_of(x, &ica_der);
}

/* The connection's own leaf for cn (the CA or the intermediate signs it,
 * about half each); its DER into *der, its key type into *kt; returns 1
 * when the intermediate signed it (the chain then carries it). */
static int chain_leaf(const char *cn, int expired, unsigned char **der, int *len, int *kt)
{
	*kt = (int)rn(NKT);
	int via = (int)rn(2);
	time_t nb = expired ? t0 - 400 * 86400 : t0 - 30 * 86400, na = expired ? t0 - 35 * 86400 : t0 + 300 * 86400;
	X509 *x = make_cert_by(cn, leaf_serial++, nb, na, pool[*kt][rn(POOL)], via ? ica_cert : ca_cert,
	                       via ? ica_key : ca_key);
	*len = der_of(x, der);
	X509_free(x);
	return via;
}

/* ---- distinct chains sent: a set of 64-bit hashes of Certificate messages ---- */
static u64 *chain_set, nchains;
static size_t chain_cap;

static int chain_add(u64 h)
{
	if (2 * (nchains + 1) > chain_cap) {
		size_t oc = chain_cap;
		u64 *old = chain_set;
		chain_cap = oc ? 2 * oc : 1024;
		chain_set = calloc(chain_cap, sizeof *chain_set);
		if (!chain_set) {
			perror("gen");
			exit(1);
		}
		nchains = 0;
		for (size_t i = 0; i < oc; i++)
			if (old[i])
				chain_add(old[i]);
		free(old);
	}
	size_t i = (size_t)(h % chain_cap);
	for (; chain_set[i]; i = (i + 1) % chain_cap)
		if (chain_set[i] == h)
			return 0;
	chain_set[i] = h;
	nchains++;
	return 1;
}

static void chain_seen(const u8 *p, size_t n)
{
	u64 h = 0xcbf29ce484222325ull; /* FNV-1a */
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	chain_add(h ? h : 1); /* 0 marks an empty slot */
}

static void make_clients(void)
{
	for (int i = 0; i < NCLIENTS; i++) {
		struct client *c = &clients[i];
		c->v4[0] = 10, c->v4[1] = 1, c->v4[2] = (u8)(1 + i / 250), c->v4[3] = (u8)(1 + i % 250);
		c->v6[0] = 0xfd, c->v6[3] = 1, c->v6[14] = (u8)(i >> 8), c->v6[15] = (u8)(i + 2);
		c->v6[8] = (u8)rnd(), c->v6[9] = (u8)rnd();
		c->mac[0] = 0x02, c->mac[1] = 0x10;
		c->mac[4] = (u8)(i >> 8), c->mac[5] = (u8)i;
		c->v6ok = pct(30);
		c->vlan = pct(7) ? 10 + rn(3) : 0;
		c->ipid = (u16)rnd();
	}
	res_v6[15] = 1;
}

/* ---- writing packets ---- */
static FILE *out, *plant;
static u64 now_us, written, npkts, nplanted;
static u8 pkt[65600];

static void put16(u8 *p, u16 v) { p[0] = (u8)(v >> 8), p[1] = (u8)v; }
static void put32(u8 *p, u32 v) { put16(p, (u16)(v >> 16)), put16(p + 2, (u16)v); }

static u32 csum_add(u32 s, const u8 *p, size_t n)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		s += (u32)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		s += (u32)(p[n - 1] << 8);
	return s;
}
static u16 csum_fold(u32 s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (u16)~s;
}

/* One endpoint pair of a packet, from the client's point of view. */
struct ends {
	int c, n, v6;
	u16 cport, sport;
	int to_server; /* 1: client -> server */
	int resolver;  /* the server is the gateway's resolver */
	u16 *sipid;
};

static void emit(const struct ends *e, u8 proto, const u8 *l4, size_t l4len)
{
	struct client *c = &clients[e->c];
	const u8 *saddr, *daddr;
	u8 ttl;
	size_t off = 0, alen = e->v6 ? 16 : 4;
	const u8 *srv = e->resolver ? (e->v6 ? res_v6 : res_v4) : (e->v6 ? names[e->n].v6 : names[e->n].v4);
	const u8 *cli = e->v6 ? c->v6 : c->v4;
	if (e->to_server) {
		saddr = cli, daddr = srv, ttl = 64;
		memcpy(pkt, gw_mac, 6), memcpy(pkt + 6, c->mac, 6);
	} else {
		saddr = srv, daddr = cli, ttl = e->resolver ? 64 : names[e->n].ttl;
		memcpy(pkt, c->mac, 6), memcpy(pkt + 6, gw_mac, 6);
	}
	off = 12;
	if (c->vlan) {
		put16(pkt + off, 0x8100), put16(pkt + off + 2, (u16)c->vlan);
		off += 4;
	}
	put16(pkt + off, e->v6 ? 0x86dd : 0x0800);
	off += 2;
	u8 *ip = pkt + off;
	if (e->v6) {
		put32(ip, 0x60000000u), put16(ip + 4, (u16)l4len), ip[6] = proto, ip[7] = ttl;
		memcpy(ip + 8, saddr, 16), memcpy(ip + 24, daddr, 16);
		off += 40;
	} else {
		u16 id = e->to_server ? c->ipid++ : (*e->sipid)++;
		memset(ip, 0, 20);
		ip[0] = 0x45, put16(ip + 2, (u16)(20 + l4len)), put16(ip + 4, id);
		ip[6] = 0x40, ip[8] = ttl, ip[9] = proto;
		memcpy(ip + 12, saddr, 4), memcpy(ip + 16, daddr, 4);
		put16(ip + 10, csum_fold(csum_add(0, ip, 20)));
		off += 20;
	}
	u8 *l = pkt + off;
	memcpy(l, l4, l4len);
	u32 s = csum_add(0, saddr, alen);
	s = csum_add(s, daddr, alen);
	s += proto + (u32)l4len;
	int ck = proto == 6 ? 16 : 6;
	l[ck] = l[ck + 1] = 0;
	u16 v = csum_fold(csum_add(s, l, l4len));
	if (proto == 17 && !v)
		v = 0xffff;
	put16(l + ck, v);
	off += l4len;

	u32 rec[4] = { (u32)(now_us / 1000000), (u32)(now_us % 1000000), (u32)off, (u32)off };
	fwrite(rec, sizeof rec, 1, out);
	fwrite(pkt, 1, off, out);
	written += sizeof rec + off;
	npkts++;
}

/* ---- TCP connections ---- */
struct conn {
	struct ends e;
	u32 cseq, sseq;
	u16 sipid;
};
static u8 l4buf[65600];
static u8 junk[4096];

static void tcp_send(struct conn *k, int to_server, u8 flags, const u8 *pl, size_t len)
{
	u8 *t = l4buf;
	k->e.to_server = to_server;
	k->e.sipid = &k->sipid;
	put16(t, to_server ? k->e.cport : k->e.sport);
	put16(t + 2, to_server ? k->e.sport : k->e.cport);
	put32(t + 4, to_server ? k->cseq : k->sseq);
	put32(t + 8, flags & 0x10 ? (to_server ? k->sseq : k->cseq) : 0);
	size_t hl = (flags & 0x02) ? 40 : 32;
	t[12] = (u8)(hl / 4) << 4, t[13] = flags;
	put16(t + 14, 64240), put16(t + 18, 0);
	u8 *o = t + 20;
	if (flags & 0x02) { /* MSS, SACK ok, timestamps, window scale */
		const u8 syn_opts[20] = { 2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7 };
		memcpy(o, syn_opts, 20);
	} else {
		const u8 ts_opts[12] = { 1, 1, 8, 10, 0, 0, 0, 2, 0, 0, 0, 1 };
		memcpy(o, ts_opts, 12);
	}
	put32(o + (flags & 0x02 ? 8 : 4), (u32)(now_us / 1000));
	memcpy(t + hl, pl, len);
	emit(&k->e, 6, t, hl + len);
	u32 adv = (u32)len + ((flags & 0x03) ? 1 : 0);
	if (to_server)
		k->cseq += adv;
	else
		k->sseq += adv;
}

/* ---- DNS ---- */
static size_t dns_name(u8 *p, const char *s)
{
	size_t o = 0;
	while (*s) {
		const char *d = strchr(s, '.');
		size_t l = d ? (size_t)(d - s) : strlen(s);
		p[o++] = (u8)l;
		memcpy(p + o, s, l);
		o += l;
		s += l + (d ? 1 : 0);
	}
	p[o++] = 0;
	return o;
}

/* A query, or its response with rcode and (for NOERROR) the answers. */
static size_t dns_msg(u8 *p, u16 id, int n, u16 qtype, int resp, int rcode)
{
	memset(p, 0, 12);
	put16(p, id);
	p[2] = resp ? 0x81 : 0x01, p[3] = resp ? (u8)(0x80 | rcode) : 0;
	put16(p + 4, 1);
	size_t o = 12 + dns_name(p + 12, names[n].s);
	put16(p + o, qtype), put16(p + o + 2, 1);
	o += 4;
	if (!resp || rcode)
		return o;
	u16 an = 0;
	if (qtype == 1 || qtype == 28) {
		p[o] = 0xc0, p[o + 1] = 12, put16(p + o + 2, qtype), put16(p + o + 4, 1);
		put32(p + o + 6, 60 + rn(240));
		put16(p + o + 10, qtype == 1 ? 4 : 16);
		memcpy(p + o + 12, qtype == 1 ? names[n].v4 : names[n].v6, qtype == 1 ? 4 : 16);
		o += 12 + (qtype == 1 ? 4 : 16);
		an = 1;
	} else if (qtype == 65) { /* HTTPS: priority 1, target ".", alpn h2,h3 */
		static const u8 rd[] = { 0, 1, 0, 0, 1, 0, 6, 2, 'h', '2', 2, 'h', '3' };
		p[o] = 0xc0, p[o + 1] = 12, put16(p + o + 2, 65), put16(p + o + 4, 1);
		put32(p + o + 6, 300), put16(p + o + 10, sizeof rd);
		memcpy(p + o + 12, rd, sizeof rd);
		o += 12 + sizeof rd;
		an = 1;
	}
	put16(p + 6, an);
	return o;
}

static void plant_line(const char *kind, const struct ends *e, const char *name)
{
	char c[64], s[64];
	struct client *cl = &clients[e->c];
	const u8 *srv = e->resolver ? (e->v6 ? res_v6 : res_v4) : (e->v6 ? names[e->n].v6 : names[e->n].v4);
	inet_ntop(e->v6 ? AF_INET6 : AF_INET, e->v6 ? cl->v6 : cl->v4, c, sizeof c);
	inet_ntop(e->v6 ? AF_INET6 : AF_INET, srv, s, sizeof s);
	fprintf(plant, "%s\t%s\t%u\t%s\t%u\t%s\n", kind, c, e->cport, s, e->sport, name);
	nplanted++;
}

/* ---- sessions: each a small state machine stepped by the scheduler ---- */
enum stype { S_DNS, S_DNSTCP, S_TLS13, S_TLS12, S_HTTP, S_QUIC, S_REFUSED, S_SYNTO };
enum fail { F_NONE, F_NX, F_SERVFAIL, F_DNSTO, F_RST, F_ALERT, F_MISMATCH, F_EXPIRED, F_503 };

struct sess {
	int type, fail, step, bulk, sent;
	u16 qid, qtype;
	u8 dcid[8], scid[8];   /* QUIC: the client's first DCID (the keys'), its SCID */
	struct conn k;
	u64 next_us;
};
static struct sess sess[NSESS];
static int draining;

static u64 gap(void) { return 1 + rnd() % (2 * GAP_US * NSESS); }

static void sess_new(struct sess *s)
{
	memset(s, 0, sizeof *s);
	u32 r = rn(1000);
	s->type = r < 300 ? S_DNS : r < 320 ? S_DNSTCP : r < 620 ? S_TLS13 : r < 750 ? S_TLS12
	        : r < 830 ? S_HTTP : r < 880 ? S_QUIC : r < 890 ? S_REFUSED : r < 897 ? S_SYNTO : S_TLS13;
	if (chains && s->type == S_TLS13 && pct(CH_TLS12))
		s->type = S_TLS12; /* more handshakes that show their chain */
	s->k.e.c = (int)rn(NCLIENTS);
	/* Streaming names dominate; other destinations are the control group. */
	s->k.e.n = pct(70) ? (int)rn(NSVC) : (int)(NSVC + rn(NOTHER));
	s->k.e.v6 = clients[s->k.e.c].v6ok && pct(60);
	s->k.e.cport = (u16)(32768 + rn(28000));
	s->k.e.sport = 443;
	s->k.cseq = (u32)rnd(), s->k.sseq = (u32)rnd(), s->k.sipid = (u16)rnd();
	s->next_us = now_us + gap();
	if (draining && s->type == S_SYNTO)
		s->type = S_TLS13; /* no timeout may run past the end of the capture */
	switch (s->type) {
	case S_DNS:
	case S_DNSTCP:
		s->k.e.resolver = 1;
		s->k.e.sport = 53;
		s->qid = (u16)rnd();
		s->qtype = (u16)(pct(45) ? 1 : pct(70) ? 28 : 65);
		if (s->type == S_DNS && !draining) {
			u32 f = rn(1000);
			s->fail = f < 30 ? F_NX : f < 45 ? F_SERVFAIL : f < 55 ? F_DNSTO : F_NONE;
		}
		break;
	case S_TLS13:
		/* Most connections are short API calls; most bytes are in streams. */
		s->bulk = pct(60) ? 2 + (int)rn(18) : pct(62) ? 20 + (int)rn(280) : 300 + (int)rn(2700);
		s->fail = pct(2) ? F_RST : pct(1.5) ? F_ALERT : F_NONE;
		break;
	case S_TLS12:
		if (chains) /* mostly short: many chains, not many bytes */
			s->bulk = pct(CH_SHORT) ? 2 + (int)rn(18) : 20 + (int)rn(CH_LONG);
		else
			s->bulk = pct(60) ? 2 + (int)rn(18) : 20 + (int)rn(600);
		s->fail = pct(2) ? F_MISMATCH : pct(1) ? F_EXPIRED : F_NONE;
		break;
	case S_HTTP:
		s->k.e.sport = 80;
		s->bulk = 2 + (int)rn(60);
		s->fail = pct(10) ? F_503 : F_NONE;
		break;
	case S_QUIC:
		s->bulk = 50 + (int)rn(400);
		rnd_fill(s->dcid, 8);
		rnd_fill(s->scid, 8);
		break;
	default:
		break;
	}
	if (draining && s->bulk > 10)
		s->bulk = 10;
}

static void udp_send(struct sess *s, int to_server, const u8 *pl, size_t len)
{
	u8 *u = l4buf;
	s->k.e.to_server = to_server;
	s->k.e.sipid = &s->k.sipid;
	put16(u, to_server ? s->k.e.cport : s->k.e.sport);
	put16(u + 2, to_server ? s->k.e.sport : s->k.e.cport);
	put16(u + 4, (u16)(8 + len)), put16(u + 6, 0);
	memcpy(u + 8, pl, len);
	emit(&s->k.e, 17, u, 8 + len);
}

static size_t client_hello(u8 *p, const char *sni, int tls13)
{
	u8 *h = p + 9, *x;
	size_t o = 0;
	h[o++] = 3, h[o++] = 3;
	o += rnd_fill(h + o, 32);
	h[o++] = 32;
	o += rnd_fill(h + o, 32);
	static const u8 cs[] = { 0, 14, 0x13, 1, 0x13, 2, 0x13, 3, 0xc0, 0x2b, 0xc0, 0x2f, 0xc0, 0x2c, 0xc0, 0x30, 1, 0 };
	memcpy(h + o, cs, sizeof cs);
	o += sizeof cs;
	size_t extl = o;
	o += 2;
	x = h + o;
	size_t e = 0, sl = strlen(sni);
	put16(x + e, 0), put16(x + e + 2, (u16)(sl + 5)), put16(x + e + 4, (u16)(sl + 3));
	x[e + 6] = 0, put16(x + e + 7, (u16)sl), memcpy(x + e + 9, sni, sl);
	e += 9 + sl;
	static const u8 fixed[] = {
		0, 23, 0, 0,                                     /* extended master secret */
		0xff, 1, 0, 1, 0,                                /* renegotiation info */
		0, 10, 0, 8, 0, 6, 0, 29, 0, 23, 0, 24,          /* groups */
		0, 11, 0, 2, 1, 0,                               /* point formats */
		0, 16, 0, 14, 0, 12, 2, 'h', '2', 8, 'h', 't', 't', 'p', '/', '1', '.', '1', /* ALPN */
	};
	memcpy(x + e, fixed, sizeof fixed);
	e += sizeof fixed;
	/* Signature algorithms; with ed25519 where some servers' keys are such. */
	static const u8 sa[] = { 0, 13, 0, 10, 0, 8, 4, 3, 8, 4, 4, 1, 5, 1 };
	static const u8 sa_ed[] = { 0, 13, 0, 12, 0, 10, 4, 3, 8, 7, 8, 4, 4, 1, 5, 1 };
	memcpy(x + e, chains ? sa_ed : sa, chains ? sizeof sa_ed : sizeof sa);
	e += chains ? sizeof sa_ed : sizeof sa;
	if (tls13) {
		static const u8 v13[] = { 0, 43, 0, 5, 4, 3, 4, 3, 3, 0, 45, 0, 2, 1, 1, 0, 51, 0, 38, 0, 36, 0, 29, 0, 32 };
		memcpy(x + e, v13, sizeof v13);
		e += sizeof v13;
		e += rnd_fill(x + e, 32);
	}
	size_t pad = o + e + 4 < 508 ? 508 - (o + e + 4) : 0; /* padding to 512 as browsers do */
	put16(x + e, 21), put16(x + e + 2, (u16)pad);
	memset(x + e + 4, 0, pad);
	e += 4 + pad;
	put16(h + extl, (u16)e);
	o += e;
	p[0] = 22, p[1] = 3, p[2] = 1, put16(p + 3, (u16)(o + 4));
	p[5] = 1, p[6] = 0, put16(p + 7, (u16)o);
	return o + 9;
}

/* The server's first flight, as one byte stream (sent in MSS segments). */
static u8 flight[16384];
static size_t server_flight(struct sess *s)
{
	u8 *p = flight;
	size_t o = 0;
	int tls13 = s->type == S_TLS13;
	/* ServerHello */
	p[o] = 22, p[o + 1] = 3, p[o + 2] = 3;
	size_t rec = o;
	o += 5;
	size_t hs = o;
	p[o] = 2;
	o += 4;
	p[o++] = 3, p[o++] = 3;
	o += rnd_fill(p + o, 32);
	p[o++] = 32;
	o += rnd_fill(p + o, 32);
	size_t suite = o;
	p[o++] = 0x13, p[o++] = tls13 ? 1 : 0, p[o++] = 0;
	if (!tls13)
		p[o - 3] = 0xc0, p[o - 2] = 0x2f;
	if (tls13) {
		static const u8 ext[] = { 0, 46, 0, 43, 0, 2, 3, 4, 0, 51, 0, 36, 0, 29, 0, 32 };
		memcpy(p + o, ext, sizeof ext);
		o += sizeof ext;
		o += rnd_fill(p + o, 32);
	} else {
		static const u8 ext[] = { 0, 9, 0xff, 1, 0, 1, 0, 0, 23, 0, 0 };
		memcpy(p + o, ext, sizeof ext);
		o += sizeof ext;
	}
	p[hs + 1] = 0, put16(p + hs + 2, (u16)(o - hs - 4));
	if (tls13) {
		put16(p + rec + 3, (u16)(o - rec - 5));
		static const u8 ccs[] = { 20, 3, 3, 0, 1, 1 };
		memcpy(p + o, ccs, 6);
		o += 6;
		size_t enc = 2500 + rn(1500); /* encrypted extensions, certificate, verify, finished */
		p[o] = 23, p[o + 1] = 3, p[o + 2] = 3, put16(p + o + 3, (u16)enc);
		o += 5;
		for (size_t i = 0; i < enc; i++)
			p[o++] = junk[i % sizeof junk];
		return o;
	}
	/* TLS 1.2: Certificate, ServerKeyExchange, ServerHelloDone in the same record */
	struct name *nm = &names[s->k.e.n];
	const unsigned char *der[2];
	unsigned char *own = NULL;
	int dl[2], nc = 1, kt = K_RSA;
	if (chains) {
		int ol;
		const char *cn = s->fail == F_MISMATCH ? "unrelated.example.net" : nm->s;
		if (chain_leaf(cn, s->fail == F_EXPIRED, &own, &ol, &kt))
			der[1] = ica_der, dl[1] = ica_len, nc = 2;
		der[0] = own, dl[0] = ol;
	} else {
		if (s->fail == F_EXPIRED)
			expired_cert(nm);
		der[0] = s->fail == F_MISMATCH ? bad_der : s->fail == F_EXPIRED ? nm->old_der : nm->der;
		dl[0] = s->fail == F_MISMATCH ? bad_len : s->fail == F_EXPIRED ? nm->old_len : nm->derlen;
	}
	/* ECDSA and Ed25519 leaves go with an ECDHE_ECDSA suite (RFC 8422). */
	if (kt != K_RSA)
		p[suite + 1] = 0x2b;
	size_t cl = 0;
	for (int i = 0; i < nc; i++)
		cl += 3 + (size_t)dl[i];
	p[o] = 11, p[o + 1] = 0, put16(p + o + 2, (u16)(cl + 3));
	p[o + 4] = 0, put16(p + o + 5, (u16)cl);
	o += 7;
	chain_seen(p + o, cl);
	for (int i = 0; i < nc; i++) {
		p[o] = 0, put16(p + o + 1, (u16)dl[i]);
		memcpy(p + o + 3, der[i], (size_t)dl[i]);
		o += 3 + (size_t)dl[i];
	}
	OPENSSL_free(own);
	/* The key exchange's signature: its scheme and length follow the
	 * leaf's key (rsa_pss_rsae_sha256, ecdsa_secp256r1_sha256, ed25519);
	 * the bytes are filler, as nobody here holds the session's secrets. */
	u16 sig = kt == K_RSA ? 0x0804 : kt == K_EC ? 0x0403 : 0x0807;
	int sl = kt == K_RSA ? 256 : kt == K_EC ? 71 : 64;
	p[o] = 12, p[o + 1] = 0, put16(p + o + 2, (u16)(4 + 32 + 4 + sl));
	p[o + 4] = 3, put16(p + o + 5, 29), p[o + 7] = 32;
	o += 8;
	o += rnd_fill(p + o, 32);
	put16(p + o, sig), put16(p + o + 2, (u16)sl);
	o += 4;
	for (int i = 0; i < sl; i++)
		p[o++] = junk[(i * 7) % sizeof junk];
	p[o] = 14, p[o + 1] = p[o + 2] = p[o + 3] = 0;
	o += 4;
	put16(p + rec + 3, (u16)(o - rec - 5));
	return o;
}

static void send_stream(struct conn *k, int to_server, const u8 *p, size_t n)
{
	for (size_t o = 0; o < n; o += MSS)
		tcp_send(k, to_server, 0x18, p + o, n - o < MSS ? n - o : MSS);
}

static u8 msg[4096];

/* ---- QUIC version 1 Initials (RFC 9001 section 5) ---- */

static int q_hkdf(int extract, const u8 *key, size_t kl, const u8 *si, size_t sl, u8 *out, size_t ol)
{
	static EVP_KDF_CTX *k;
	if (!k) {
		EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
		k = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
		EVP_KDF_free(kdf);
		if (!k) {
			fprintf(stderr, "gen: OpenSSL lacks HKDF\n");
			exit(1);
		}
	}
	int mode = extract ? EVP_KDF_HKDF_MODE_EXTRACT_ONLY : EVP_KDF_HKDF_MODE_EXPAND_ONLY;
	OSSL_PARAM p[] = {
		OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode),
		OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0),
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)key, kl),
		OSSL_PARAM_construct_octet_string(extract ? OSSL_KDF_PARAM_SALT : OSSL_KDF_PARAM_INFO, (void *)si, sl),
		OSSL_PARAM_construct_end(),
	};
	return EVP_KDF_derive(k, out, ol, p) == 1 ? 0 : -1;
}

static void q_label(const u8 *secret, const char *label, u8 *out, size_t ol)
{
	u8 info[64];
	size_t ll = strlen(label), n = 0;
	info[n++] = 0, info[n++] = (u8)ol, info[n++] = (u8)(6 + ll);
	memcpy(info + n, "tls13 ", 6), n += 6;
	memcpy(info + n, label, ll), n += ll;
	info[n++] = 0;
	q_hkdf(0, secret, 32, info, n, out, ol);
}

/* The frames f[fn] of an Initial to dcid from scid, sealed with the
 * client's (server 0) or server's keys of key_cid, padded to pad bytes of
 * payload: the packet, into out; returns its length. */
static size_t q_initial(u8 *out, int server, const u8 *key_cid, const u8 *dcid, const u8 *scid,
                        u32 pn, const u8 *f, size_t fn, size_t pad)
{
	static const u8 salt[] = { 0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17,
		                   0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad, 0xcc, 0xbb, 0x7f, 0x0a };
	u8 init[32], sec[32], key[16], iv[12], hp[16], mask[32], plain[1400] = { 0 };
	size_t o = 0, pl = fn > pad ? fn : pad;
	int l;
	q_hkdf(1, key_cid, 8, salt, sizeof salt, init, 32);
	q_label(init, server ? "server in" : "client in", sec, 32);
	q_label(sec, "quic key", key, 16);
	q_label(sec, "quic iv", iv, 12);
	q_label(sec, "quic hp", hp, 16);
	memcpy(plain, f, fn);
	out[o++] = 0xc1; /* Initial, 2-byte packet number */
	put32(out + o, 1), o += 4;
	out[o++] = 8, memcpy(out + o, dcid, 8), o += 8;
	out[o++] = 8, memcpy(out + o, scid, 8), o += 8;
	out[o++] = 0;
	put16(out + o, (u16)(0x4000 | (2 + pl + 16))), o += 2;
	size_t pn_off = o;
	put16(out + o, (u16)pn), o += 2;
	iv[10] ^= (u8)(pn >> 8), iv[11] ^= (u8)pn;
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	EVP_EncryptInit_ex(c, EVP_aes_128_gcm(), NULL, key, iv);
	EVP_EncryptUpdate(c, NULL, &l, out, (int)o);
	EVP_EncryptUpdate(c, out + o, &l, plain, (int)pl);
	EVP_EncryptFinal_ex(c, out + o + pl, &l);
	EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, out + o + pl);
	EVP_EncryptInit_ex(c, EVP_aes_128_ecb(), NULL, hp, NULL);
	EVP_EncryptUpdate(c, mask, &l, out + pn_off + 4, 16);
	EVP_CIPHER_CTX_free(c);
	out[0] ^= mask[0] & 0x0f;
	out[pn_off] ^= mask[1], out[pn_off + 1] ^= mask[2];
	return o + pl + 16;
}

/* A CRYPTO frame at offset 0 holding h[n]. */
static size_t q_crypto(u8 *f, const u8 *h, size_t n)
{
	f[0] = 6, f[1] = 0;
	put16(f + 2, (u16)(0x4000 | n));
	memcpy(f + 4, h, n);
	return 4 + n;
}

/* Step i of a close: the client's FIN, the server's, the last ack. */
static int close_step(struct conn *k, int i)
{
	if (i < 2) {
		tcp_send(k, i == 0, 0x11, NULL, 0);
		return 1;
	}
	tcp_send(k, 1, 0x10, NULL, 0);
	return 0;
}

/* One step of a session: emits its next packet(s); returns 0 when done. */
static int sess_step(struct sess *s)
{
	struct conn *k = &s->k;
	size_t n;
	int st = s->step++;
	u64 soon = gap();

	switch (s->type) {
	case S_DNS:
		if (st == 0) {
			n = dns_msg(msg, s->qid, k->e.n, s->qtype, 0, 0);
			udp_send(s, 1, msg, n);
			s->next_us = now_us + (s->fail == F_DNSTO ? 1000000 : 500 + rn(20000));
			return 1;
		}
		if (s->fail == F_DNSTO) {
			if (st == 1) {
				n = dns_msg(msg, s->qid, k->e.n, s->qtype, 0, 0); /* the retransmission */
				udp_send(s, 1, msg, n);
				plant_line("dns_timeout", &k->e, names[k->e.n].s);
			}
			return 0;
		}
		n = dns_msg(msg, s->qid, k->e.n, s->qtype, 1,
		            s->fail == F_NX ? 3 : s->fail == F_SERVFAIL ? 2 : 0);
		udp_send(s, 0, msg, n);
		if (s->fail)
			plant_line(s->fail == F_NX ? "nxdomain" : "servfail", &k->e, names[k->e.n].s);
		return 0;
	case S_QUIC: {
		static u8 fr[1400], dg[1500];
		if (st > s->bulk)
			return 0;
		s->next_us = now_us + soon;
		if (st == 0) {
			/* The client's Initial: its ClientHello (without the TLS record header). */
			size_t hn = client_hello(msg, names[k->e.n].s, 1);
			n = q_initial(dg, 0, s->dcid, s->dcid, s->scid, 0, fr, q_crypto(fr, msg + 5, hn - 5), 1162);
			udp_send(s, 1, dg, n);
			return 1;
		}
		if (st == 1) {
			/* The server's: an ACK, then its ServerHello (TLS 1.3, TLS_AES_128_GCM_SHA256). */
			u8 sh[128];
			size_t o = 0;
			sh[o++] = 2, sh[o++] = 0, o += 2;
			sh[o++] = 3, sh[o++] = 3;
			o += rnd_fill(sh + o, 32);
			sh[o++] = 0, sh[o++] = 0x13, sh[o++] = 1, sh[o++] = 0;
			static const u8 ext[] = { 0, 46, 0, 43, 0, 2, 3, 4, 0, 51, 0, 36, 0, 29, 0, 32 };
			memcpy(sh + o, ext, sizeof ext), o += sizeof ext;
			o += rnd_fill(sh + o, 32);
			put16(sh + 2, (u16)(o - 4));
			static const u8 ack[] = { 2, 0, 0, 0, 0 };
			memcpy(fr, ack, sizeof ack);
			size_t fn = sizeof ack + q_crypto(fr + sizeof ack, sh, o);
			n = q_initial(dg, 1, s->dcid, s->scid, s->dcid, 0, fr, fn, 0);
			udp_send(s, 0, dg, n);
			return 1;
		}
		/* Then short-header packets (RFC 9000 section 17.3): ciphertext to anyone here. */
		n = st % 4 == 3 ? 40 + rn(40) : 1200 + rn(150);
		memcpy(dg, junk, n);
		dg[0] = (u8)(0x40 | (dg[0] & 0x3f));
		udp_send(s, st % 4 == 3, dg, n);
		return 1;
	}
	default:
		break;
	}

	/* TCP sessions: handshake, then per type. */
	s->next_us = now_us + soon;
	if (st == 0) {
		tcp_send(k, 1, 0x02, NULL, 0);
		if (s->type == S_SYNTO)
			s->next_us = now_us + 1000000;
		return 1;
	}
	if (s->type == S_SYNTO) {
		k->cseq--; /* a retransmission: the same sequence number */
		tcp_send(k, 1, 0x02, NULL, 0);
		if (st == 1) {
			s->next_us = now_us + 2000000;
			return 1;
		}
		plant_line("syn_timeout", &k->e, names[k->e.n].s);
		return 0;
	}
	if (s->type == S_REFUSED) {
		tcp_send(k, 0, 0x14, NULL, 0);
		plant_line("refused", &k->e, names[k->e.n].s);
		return 0;
	}
	if (st == 1) {
		tcp_send(k, 0, 0x12, NULL, 0);
		return 1;
	}
	if (st == 2) {
		tcp_send(k, 1, 0x10, NULL, 0);
		return 1;
	}
	int p = st - 3; /* steps after the handshake */
	if (s->type == S_DNSTCP) {
		switch (p) {
		case 0:
			n = dns_msg(msg + 2, s->qid, k->e.n, s->qtype, 0, 0);
			put16(msg, (u16)n);
			tcp_send(k, 1, 0x18, msg, n + 2);
			return 1;
		case 1:
			n = dns_msg(msg + 2, s->qid, k->e.n, s->qtype, 1, 0);
			put16(msg, (u16)n);
			tcp_send(k, 0, 0x18, msg, n + 2);
			return 1;
		default:
			return close_step(k, p - 2);
		}
	}
	if (s->type == S_HTTP) {
		if (p == 0) {
			n = (size_t)snprintf((char *)msg, sizeof msg,
			                     "GET /seg/%u.ts HTTP/1.1\r\nHost: %s\r\nUser-Agent: Mozilla/5.0\r\n"
			                     "Accept: */*\r\n\r\n", (unsigned)rn(100000), names[k->e.n].s);
			tcp_send(k, 1, 0x18, msg, n);
			return 1;
		}
		if (p == 1) {
			if (s->fail == F_503) {
				n = (size_t)snprintf((char *)msg, sizeof msg,
				                     "HTTP/1.1 503 Service Unavailable\r\nServer: envoy\r\n"
				                     "Content-Length: 19\r\n\r\nupstream overloaded");
				s->bulk = 0;
				plant_line("http_5xx", &k->e, names[k->e.n].s);
			} else {
				n = (size_t)snprintf((char *)msg, sizeof msg,
				                     "HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: video/mp2t\r\n"
				                     "Content-Length: %d\r\n\r\n", s->bulk * MSS);
			}
			tcp_send(k, 0, 0x18, msg, n);
			return 1;
		}
	} else if (p == 0) {
		n = client_hello(msg, names[k->e.n].s, s->type == S_TLS13);
		tcp_send(k, 1, 0x18, msg, n);
		return 1;
	} else if (p == 1) {
		if (s->fail == F_ALERT) {
			static const u8 alert[] = { 21, 3, 3, 0, 2, 2, 40 };
			tcp_send(k, 0, 0x18, alert, sizeof alert);
			plant_line("tls_alert", &k->e, names[k->e.n].s);
			s->bulk = 0;
			return 1;
		}
		send_stream(k, 0, flight, server_flight(s));
		if (s->fail == F_MISMATCH || s->fail == F_EXPIRED)
			plant_line(s->fail == F_MISMATCH ? "cert_mismatch" : "cert_expired", &k->e, names[k->e.n].s);
		return 1;
	} else if (p == 3 && s->bulk && s->type == S_TLS12) {
		static const u8 ccsfin[] = { 20, 3, 3, 0, 1, 1, 22, 3, 3, 0, 40 };
		memcpy(msg, ccsfin, sizeof ccsfin);
		memcpy(msg + sizeof ccsfin, junk, 40);
		tcp_send(k, 0, 0x18, msg, sizeof ccsfin + 40);
		return 1;
	} else if (p == 2 && s->bulk) {
		/* The client's CCS and Finished (1.3), or key exchange, CCS and
		 * Finished (1.2), each record with its true length. */
		static const u8 f13[] = { 20, 3, 3, 0, 1, 1, 23, 3, 3, 0, 53 };
		static const u8 f12[] = { 22, 3, 3, 0, 37, 16, 0, 0, 33, 32 };
		static const u8 ccs[] = { 20, 3, 3, 0, 1, 1, 22, 3, 3, 0, 40 };
		static u8 fin[200];
		size_t fl;
		if (s->type == S_TLS13) {
			memcpy(fin, f13, sizeof f13);
			memcpy(fin + sizeof f13, junk, 53);
			fl = sizeof f13 + 53;
		} else {
			memcpy(fin, f12, sizeof f12);
			memcpy(fin + sizeof f12, junk, 32);
			memcpy(fin + sizeof f12 + 32, ccs, sizeof ccs);
			memcpy(fin + sizeof f12 + 32 + sizeof ccs, junk + 64, 40);
			fl = sizeof f12 + 32 + sizeof ccs + 40;
		}
		tcp_send(k, 1, 0x18, fin, fl);
		return 1;
	}
	/* Bulk: server segments, an ack every second one; then a close. */
	int b = s->sent++;
	if (draining && s->bulk > b / 2 + 10)
		s->bulk = b / 2 + 10; /* the end is near: wind down */
	if (b < 2 * s->bulk) {
		if (b % 2 == 0 || b % 4 == 3) {
			/* TLS: one application data record per segment. */
			size_t len = MSS - (rn(4) == 0 ? rn(60) : 0);
			size_t off = rn(sizeof junk - MSS);
			memcpy(msg, junk + off, len);
			if (s->type != S_HTTP)
				msg[0] = 23, msg[1] = 3, msg[2] = 3, put16(msg + 3, (u16)(len - 5));
			tcp_send(k, 0, 0x10, msg, len);
		} else {
			tcp_send(k, 1, 0x10, NULL, 0);
		}
		if (s->fail == F_RST && b == s->bulk) {
			tcp_send(k, 0, 0x14, NULL, 0);
			plant_line("rst", &k->e, names[k->e.n].s);
			return 0;
		}
		return 1;
	}
	return close_step(k, b - 2 * s->bulk);
}

/* ---- the scheduler: a binary heap of sessions by next packet time ---- */
static int heap[NSESS];
static void sift_down(int i, int n)
{
	for (;;) {
		int l = 2 * i + 1, m = i;
		if (l < n && sess[heap[l]].next_us < sess[heap[m]].next_us)
			m = l;
		if (l + 1 < n && sess[heap[l + 1]].next_us < sess[heap[m]].next_us)
			m = l + 1;
		if (m == i)
			return;
		int t = heap[i];
		heap[i] = heap[m], heap[m] = t;
		i = m;
	}
}

int main(int argc, char **argv)
{
	u64 seed = 1;
	const char *keyf = NULL, *certf = NULL;
	int o;
	while ((o = getopt(argc, argv, "s:p:k:c:")) != -1) {
		if (o == 's')
			seed = strtoull(optarg, NULL, 0);
		else if (o == 'p' && (!strcmp(optarg, "mix") || !strcmp(optarg, "chains")))
			chains = !strcmp(optarg, "chains");
		else if (o == 'k')
			keyf = optarg;
		else if (o == 'c')
			certf = optarg;
		else
			goto usage;
	}
	if (argc - optind != 2 || !keyf || !certf) {
	usage:
		fprintf(stderr, "usage: gen [-s SEED] [-p mix|chains] -k CA.key -c CA.pem OUT.pcap BYTES\n");
		return 2;
	}
	u64 target = strtoull(argv[optind + 1], NULL, 0);
	u64 margin = target / 50 + 2000000; /* what the sessions in progress still write */
	char pl[4096];
	snprintf(pl, sizeof pl, "%s.planted", argv[optind]);
	out = fopen(argv[optind], "wb");
	plant = fopen(pl, "w");
	if (!out || !plant) {
		perror(argv[optind]);
		return 1;
	}
	setvbuf(out, NULL, _IOFBF, 1 << 20);
	rs = seed;
	for (size_t i = 0; i < sizeof junk; i++)
		junk[i] = (u8)rnd();
	if (chains)
		seeded_openssl(seed);
	load_ca(keyf, certf);
	make_clients();
	make_names();
	if (chains)
		make_chain_keys();
	fprintf(plant, "# kind\tclient\tclient_port\tserver\tserver_port\tname\n");

	u32 gh[6] = { 0xa1b2c3d4, 0x00040002, 0, 0, 262144, 1 };
	fwrite(gh, sizeof gh, 1, out);
	written = sizeof gh;
	now_us = (u64)t0 * 1000000;
	for (int i = 0; i < NSESS; i++) {
		sess_new(&sess[i]);
		heap[i] = i;
	}
	for (int i = NSESS / 2 - 1; i >= 0; i--)
		sift_down(i, NSESS);
	int live = NSESS;
	while (live > 0) {
		struct sess *s = &sess[heap[0]];
		if (s->next_us > now_us)
			now_us = s->next_us;
		if (!draining && written + margin > target)
			draining = 1;
		if (sess_step(s)) {
			sift_down(0, live);
		} else if (!draining) {
			sess_new(s);
			sift_down(0, live);
		} else { /* the end: the session leaves the heap */
			heap[0] = heap[--live];
			sift_down(0, live);
		}
	}
	/* A quiet end: one client keeps resolving, so capture time moves on. */
	u64 end = now_us + TAIL_US;
	struct sess t;
	while (now_us < end) {
		sess_new(&t);
		t.type = S_DNS, t.fail = F_NONE, t.k.e.resolver = 1, t.k.e.sport = 53, t.k.e.c = 0;
		sess_step(&t);
		now_us += 300 + rn(500);
		sess_step(&t);
		now_us += 500000;
	}
	fclose(out);
	fclose(plant);
	fprintf(stderr, "gen: %s: %llu packets, %llu bytes, %llu planted findings, %llu distinct chains, %.1f s\n",
	        argv[optind], (unsigned long long)npkts, (unsigned long long)written, (unsigned long long)nplanted,
	        (unsigned long long)nchains, (double)(now_us - (u64)t0 * 1000000) / 1e6);
	return 0;
}
