/* \summary: certificate chains checked with OpenSSL at the capture's time:
 * trust (X509_verify_cert against the system store plus --ca-file), validity
 * time and name (X509_check_host) told apart; verdicts cached. */
/* The ENGINE calls below are deprecated in OpenSSL 3.0 but are its only way
 * to choose the built-in key methods; see fast_keys(). */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/opensslconf.h>
#ifndef OPENSSL_NO_ENGINE
#include <openssl/engine.h>
#endif
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "panne/anchors.h"
#include "panne/cert.h"
#include "panne/config.h"
#include "panne/util.h"

#define CACHE_BUCKET_S 86400 /* verdicts are keyed by the day of the capture time */

/* A cached verdict: the key is SHA-256 over the chain's DER, the name and the
 * day; it also holds the span of time around the judged instant where no
 * certificate of the chain starts or ends its validity, so that a second
 * handshake on the same day but past a notAfter is judged again. */
struct cache_ent {
	u8 key[32];
	u8 used;
	i64 stable_lo, stable_hi; /* seconds: the verdict holds for lo <= t < hi */
	struct cert_verdict v;
};

static X509_STORE *store;
static char *store_ca_file;     /* the extra PEM file the store holds, or NULL */
static struct cache_ent *cache; /* CERT_CACHE_CAP entries, direct-mapped */
static int vrun_idx = -1;       /* X509_STORE_CTX ex_data slot of struct vrun */
static u64 n_hits, n_misses;
static atomic_ullong n_own;     /* chains cert_check() judged itself: what look-ahead could have done */
static EVP_MD *sha256;          /* fetched once: an implicit fetch per call takes locks */
static EVP_MD_CTX *md;          /* reused for every cache key */

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER; /* caches, inflight, counters */

/* Issuers the servers sent, parsed once: a CA's intermediate comes with
 * every chain it signed (OpenSSL 3.0 sets up an EC group for each EC key it
 * decodes: ~30 us). Direct-mapped by SHA-256 of the DER; shared between
 * threads, so each is fully cached (extensions) before it goes in. */
#define ICACHE_CAP 256
static struct icache_ent {
	u8 h[32];
	X509 *x;
} icache[ICACHE_CAP];

static int builtin_keys; /* the engine below is registered */

#ifndef OPENSSL_NO_ENGINE
static const int fast_nids[] = { EVP_PKEY_RSA, EVP_PKEY_EC, EVP_PKEY_ED25519, EVP_PKEY_ED448 };

/* The engine's key methods: libcrypto's own built-in ones, unchanged. */
static int fast_pmeths(ENGINE *e, EVP_PKEY_METHOD **pmeth, const int **nids, int nid)
{
	(void)e;
	if (!pmeth) {
		*nids = fast_nids;
		return (int)(sizeof fast_nids / sizeof fast_nids[0]);
	}
	*pmeth = (EVP_PKEY_METHOD *)EVP_PKEY_meth_find(nid);
	return *pmeth != NULL;
}
#endif

/* OpenSSL 3.0 decodes the public key of every certificate it parses by
 * setting up a provider decoder chain, about 100 us a certificate, nine
 * tenths of d2i_X509. When an ENGINE claims a key type, it decodes the key
 * with its built-in method instead (about 10 us) and verifies signatures with
 * it too. The engine registered here hands back exactly those built-in
 * methods for RSA, EC, Ed25519 and Ed448, so keys, signatures and verdicts
 * are libcrypto's own either way (test_cert compares both paths); other key
 * types, RSA-PSS keys among them, keep the provider path. Done once per
 * process; without it everything still works, only slower. */
static void fast_keys(void)
{
#ifndef OPENSSL_NO_ENGINE
	static int done;
	static ENGINE *e; /* held for the process: the engine tables point to it */
	if (done++ || getenv("PANNE_PROVIDER_KEYS") || !(e = ENGINE_new()))
		return;
	if (ENGINE_set_id(e, "panne-builtin-keys") != 1 ||
	    ENGINE_set_name(e, "libcrypto's built-in key methods") != 1 ||
	    ENGINE_set_pkey_meths(e, fast_pmeths) != 1 || ENGINE_register_pkey_meths(e) != 1) {
		ENGINE_unregister_pkey_meths(e);
		ENGINE_free(e);
		e = NULL;
	}
	builtin_keys = e != NULL;
	ERR_clear_error();
#endif
}

int cert_builtin_keys(void) { return builtin_keys; }

int cert_init(const char *ca_file, char *err, size_t errlen)
{
	fast_keys();
	cert_reset();
	int same = ca_file ? store_ca_file && strcmp(ca_file, store_ca_file) == 0 : !store_ca_file;
	if (store && !same) {
		X509_STORE_free(store);
		store = NULL;
	}
	if (!store) {
		free(store_ca_file);
		store_ca_file = NULL;
		store = X509_STORE_new();
		if (!store || anchors_attach(store, ca_file, err, errlen) < 0) {
			if (!store)
				snprintf(err, errlen, "cannot set up the CA store");
			X509_STORE_free(store);
			store = NULL;
			return -1;
		}
		store_ca_file = ca_file ? xstrdup(ca_file) : NULL;
	}
	if (vrun_idx < 0)
		vrun_idx = X509_STORE_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
	if (!sha256 && !(sha256 = EVP_MD_fetch(NULL, "SHA256", NULL))) {
		snprintf(err, errlen, "OpenSSL offers no SHA-256");
		return -1;
	}
	if (!md && !(md = EVP_MD_CTX_new())) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	cache = xcalloc(CERT_CACHE_CAP, sizeof *cache);
	n_hits = n_misses = 0;
	return 0;
}

void cert_reset(void)
{
	free(cache);
	cache = NULL;
	for (int i = 0; i < ICACHE_CAP; i++) {
		X509_free(icache[i].x);
		icache[i].x = NULL;
	}
}

const char *cert_error_string(int verify_err) { return X509_verify_cert_error_string(verify_err); }

void cert_cache_stats(u64 *hits, u64 *misses)
{
	*hits = n_hits;
	*misses = n_misses;
}

/* ---- text forms ---- */

/* RFC 2253 text of n, escaped for printing. */
static void name_str(const X509_NAME *n, char *out, size_t outsz)
{
	char tmp[512];
	int l;
	BIO *b;

	out[0] = 0;
	if (!n || !(b = BIO_new(BIO_s_mem())))
		return;
	X509_NAME_print_ex(b, n, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
	l = BIO_read(b, tmp, sizeof tmp - 1);
	BIO_free(b);
	if (l > 0)
		str_escape((const u8 *)tmp, (size_t)l, out, outsz);
}

/* Seconds since the epoch of at; 0 with *ok = 0 when it does not parse. */
static i64 asn1_secs(const ASN1_TIME *at, int *ok)
{
	struct tm tm;
	*ok = at && ASN1_TIME_to_tm(at, &tm) == 1;
	return *ok ? (i64)timegm(&tm) : 0;
}

/* RFC 3339 text of at ("2016-10-09T15:55:47Z"), "" when it does not parse. */
static void time_str(const ASN1_TIME *at, char *out, size_t outsz)
{
	struct tm tm;
	out[0] = 0;
	if (!at || ASN1_TIME_to_tm(at, &tm) != 1)
		return;
	/* the modulos only bound the widths for the compiler: ASN1 years are 0..9999 */
	snprintf(out, outsz, "%04u-%02u-%02uT%02u:%02u:%02uZ", (unsigned)(tm.tm_year + 1900) % 10000u,
	         (unsigned)(tm.tm_mon + 1) % 100u, (unsigned)tm.tm_mday % 100u,
	         (unsigned)tm.tm_hour % 100u, (unsigned)tm.tm_min % 100u, (unsigned)tm.tm_sec % 100u);
}

/* The leaf's DNS subject alternative names into v->sans, as many as fit. */
static void sans_fill(X509 *x, struct cert_verdict *v)
{
	GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	size_t o = 0;

	v->n_sans = 0;
	if (!gens)
		return;
	for (int i = 0; i < sk_GENERAL_NAME_num(gens) && v->n_sans < 255; i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		char esc[128];
		if (g->type != GEN_DNS)
			continue;
		int l = ASN1_STRING_length(g->d.dNSName);
		str_escape(ASN1_STRING_get0_data(g->d.dNSName), (size_t)MAX(l, 0), esc, sizeof esc);
		size_t el = strlen(esc) + 1;
		if (o + el > sizeof v->sans)
			break;
		memcpy(v->sans + o, esc, el);
		o += el;
		v->n_sans++;
	}
	GENERAL_NAMES_free(gens);
}

/* First word of the O= of n, lowercased: "Netflix, Inc." -> "netflix". */
static void org_word(const X509_NAME *n, char *out, size_t outsz)
{
	char o[128] = "";
	size_t k = 0;
	out[0] = 0;
	if (!n || X509_NAME_get_text_by_NID((X509_NAME *)n, NID_organizationName, o, sizeof o) <= 0)
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

/* ---- verification ---- */

/* What the verify callback learns during one X509_verify_cert(). */
struct vrun {
	struct cert_verdict *v;
	int first_err; /* first error other than validity time */
};

/* Keeps going past every error so that all of them are seen: an untrusted
 * issuer stops OpenSSL before it looks at the dates otherwise. Validity-time
 * errors are noted apart (the nearest the leaf wins), the first other error
 * is the chain's verdict. */
static int verify_cb(int ok, X509_STORE_CTX *ctx)
{
	struct vrun *r = X509_STORE_CTX_get_ex_data(ctx, vrun_idx);
	if (ok || !r)
		return ok;
	int e = X509_STORE_CTX_get_error(ctx);
	int depth = X509_STORE_CTX_get_error_depth(ctx);
	X509 *x = X509_STORE_CTX_get_current_cert(ctx);
	if (e == X509_V_ERR_CERT_HAS_EXPIRED || e == X509_V_ERR_CERT_NOT_YET_VALID) {
		struct cert_verdict *v = r->v;
		if (x && (!v->expired || depth < v->expired_depth)) {
			v->expired = 1;
			v->not_yet_valid = e == X509_V_ERR_CERT_NOT_YET_VALID;
			v->expired_depth = (u8)MIN(MAX(depth, 0), 255);
			name_str(X509_get_subject_name(x), v->exp_subject, sizeof v->exp_subject);
			time_str(X509_get0_notBefore(x), v->not_before, sizeof v->not_before);
			time_str(X509_get0_notAfter(x), v->not_after, sizeof v->not_after);
		}
	} else if (r->first_err == X509_V_OK) {
		r->first_err = e;
	}
	return 1;
}

/* Narrows [*lo, *hi) around t to exclude the validity boundaries of x. */
static void stable_span(X509 *x, i64 t, i64 *lo, i64 *hi)
{
	int ok;
	i64 b[2];
	b[0] = asn1_secs(X509_get0_notBefore(x), &ok);
	if (!ok)
		return;
	b[1] = asn1_secs(X509_get0_notAfter(x), &ok) + 1; /* notAfter itself is still valid */
	if (!ok)
		return;
	for (int i = 0; i < 2; i++) {
		if (b[i] <= t && b[i] > *lo)
			*lo = b[i];
		if (b[i] > t && b[i] < *hi)
			*hi = b[i];
	}
}

/* 1 if name is an IPv4 or IPv6 address literal. */
static int is_ip_literal(const char *name)
{
	u8 buf[16];
	return inet_pton(AF_INET, name, buf) == 1 || inet_pton(AF_INET6, name, buf) == 1;
}

/* Judges chain (leaf first) for name at t into e. */
static void judge(STACK_OF(X509) *chain, const char *name, i64 t, struct cache_ent *e)
{
	struct cert_verdict *v = &e->v;
	X509 *leaf = sk_X509_value(chain, 0);
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	struct vrun r = { v, X509_V_OK };
	unsigned dl = 0;

	memset(v, 0, sizeof *v);
	X509_digest(leaf, sha256, v->leaf_sha256, &dl);
	name_str(X509_get_subject_name(leaf), v->subject, sizeof v->subject);
	name_str(X509_get_issuer_name(leaf), v->issuer, sizeof v->issuer);
	sans_fill(leaf, v);
	if (!name[0])
		v->name_ok = 1;
	else if (is_ip_literal(name))
		v->name_ok = X509_check_ip_asc(leaf, name, 0) == 1;
	else
		v->name_ok = X509_check_host(leaf, name, strlen(name), 0, NULL) == 1;

	/* The chain alone, at the capture's time; the name is judged above, so
	 * that "does not verify" and "not for this name" stay two findings. */
	v->verify_err = X509_V_ERR_UNSPECIFIED;
	if (ctx && X509_STORE_CTX_init(ctx, store, leaf, chain) == 1) {
		X509_VERIFY_PARAM *vp = X509_STORE_CTX_get0_param(ctx);
		X509_VERIFY_PARAM_set_time(vp, (time_t)t);
		X509_VERIFY_PARAM_set_purpose(vp, X509_PURPOSE_SSL_SERVER);
		X509_STORE_CTX_set_verify_cb(ctx, verify_cb);
		X509_STORE_CTX_set_ex_data(ctx, vrun_idx, &r);
		int rc = X509_verify_cert(ctx);
		if (r.first_err != X509_V_OK)
			v->verify_err = r.first_err;
		else if (rc == 1)
			v->verify_err = X509_V_OK;
		else if (X509_STORE_CTX_get_error(ctx) != X509_V_OK)
			v->verify_err = X509_STORE_CTX_get_error(ctx);
		/* The chain OpenSSL built (anchor included) bounds the verdict's time. */
		STACK_OF(X509) *built = X509_STORE_CTX_get0_chain(ctx);
		for (int i = 0; built && i < sk_X509_num(built); i++)
			stable_span(sk_X509_value(built, i), t, &e->stable_lo, &e->stable_hi);
	}
	for (int i = 0; i < sk_X509_num(chain); i++)
		stable_span(sk_X509_value(chain, i), t, &e->stable_lo, &e->stable_hi);
	if (!v->expired) {
		time_str(X509_get0_notBefore(leaf), v->not_before, sizeof v->not_before);
		time_str(X509_get0_notAfter(leaf), v->not_after, sizeof v->not_after);
		memcpy(v->exp_subject, v->subject, sizeof v->exp_subject);
	}
	/* An application's own PKI (a pinned private root of the same company)
	 * is not trusted publicly by design. */
	if (v->verify_err == X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN && sk_X509_num(chain) > 1) {
		char a[32], b[32];
		X509 *root = sk_X509_value(chain, sk_X509_num(chain) - 1);
		org_word(X509_get_subject_name(leaf), a, sizeof a);
		org_word(X509_get_subject_name(root), b, sizeof b);
		v->private_pki = a[0] && strcmp(a, b) == 0;
	}
	X509_STORE_CTX_free(ctx);
	ERR_clear_error();
}

/* The cache key: SHA-256 over the chain's DER, the name and the day. 0, or -1. */
static int chain_key(EVP_MD_CTX *m, const struct cert_der *c, size_t n, const char *name, u64 day,
                     u8 key[32])
{
	u32 len_be;
	if (!m || EVP_DigestInit_ex(m, sha256, NULL) != 1)
		return -1;
	for (size_t i = 0; i < n; i++) {
		len_be = htonl(c[i].n);
		EVP_DigestUpdate(m, &len_be, sizeof len_be);
		EVP_DigestUpdate(m, c[i].p, c[i].n);
	}
	EVP_DigestUpdate(m, name, strlen(name) + 1);
	EVP_DigestUpdate(m, &day, sizeof day);
	return EVP_DigestFinal_ex(m, key, NULL) == 1 ? 0 : -1;
}

static struct cache_ent *slot_of(const u8 key[32])
{
	return &cache[((u32)key[0] << 16 | (u32)key[1] << 8 | key[2]) % CERT_CACHE_CAP];
}

static int holds(const struct cache_ent *e, const u8 key[32], i64 t)
{
	return e->used && memcmp(e->key, key, 32) == 0 && t >= e->stable_lo && t < e->stable_hi;
}

static X509 *issuer_get(const u8 *der, u32 len)
{
	u8 h[32];
	unsigned hl = 0;
	X509 *x = NULL;
	if (EVP_Digest(der, len, h, &hl, sha256, NULL) != 1)
		return NULL;
	struct icache_ent *e = &icache[((u32)h[0] << 8 | h[1]) % ICACHE_CAP];
	pthread_mutex_lock(&lock);
	if (e->x && memcmp(e->h, h, sizeof h) == 0 && X509_up_ref(e->x) == 1)
		x = e->x;
	pthread_mutex_unlock(&lock);
	if (x)
		return x;
	const u8 *p = der;
	if (!(x = d2i_X509(NULL, &p, (long)len)))
		return NULL;
	X509_check_purpose(x, -1, 0);
	pthread_mutex_lock(&lock);
	if (X509_up_ref(x) == 1) {
		X509_free(e->x);
		e->x = x;
		memcpy(e->h, h, sizeof h);
	}
	pthread_mutex_unlock(&lock);
	return x;
}

/* Parses the chain and judges it into e (key set). 0, or -1 when the leaf
 * does not decode. Needs no lock: the store is OpenSSL's, thread-safe, and
 * anchors.c locks its own table. */
static int judge_der(const struct cert_der *c, size_t n, const char *name, i64 t, const u8 key[32],
                     struct cache_ent *e)
{
	STACK_OF(X509) *chain = sk_X509_new_null();
	if (!chain)
		return -1;
	for (size_t i = 0; i < n; i++) {
		const u8 *p = c[i].p;
		X509 *x = c[i].n > 0x7fffffff ? NULL : i ? issuer_get(p, c[i].n) : d2i_X509(NULL, &p, (long)c[i].n);
		if (!x)
			break; /* what follows a certificate that does not decode is not used */
		if (!sk_X509_push(chain, x)) {
			X509_free(x);
			break;
		}
	}
	ERR_clear_error();
	if (sk_X509_num(chain) == 0) {
		sk_X509_free(chain);
		return -1;
	}
	e->stable_lo = INT64_MIN;
	e->stable_hi = INT64_MAX;
	judge(chain, name, t, e);
	memcpy(e->key, key, 32);
	e->used = 1;
	sk_X509_pop_free(chain, X509_free);
	return 0;
}

/* Keys being judged now: by look-ahead thread k (cert_prefetch) in slot k,
 * by the packet thread in the last one. The packet thread waits for a
 * thread's rather than judge it a second time; a thread skips any. */
#define INFLIGHT_MAX (CERT_PREFETCH_MAX + 1)
#define OWN (INFLIGHT_MAX - 1)
static pthread_cond_t judged = PTHREAD_COND_INITIALIZER;
static u8 inflight[INFLIGHT_MAX][32];
static u8 inflight_on[INFLIGHT_MAX];

static int is_inflight(const u8 key[32])
{
	for (int i = 0; i < INFLIGHT_MAX; i++)
		if (inflight_on[i] && memcmp(inflight[i], key, 32) == 0)
			return 1;
	return 0;
}

/* What cert_check() and cert_prefetch() start with: the chain cut to
 * CERT_CHAIN_MAX, the name ("" for none), the time in seconds and the
 * cache key. 0, or -1 when there is nothing to judge. */
static int prepare(EVP_MD_CTX *m, const struct cert_der *c, size_t *n, const char **name, u64 ts_us,
                   i64 *t, u8 key[32])
{
	if (!cache || !store || !*n || !c[0].p)
		return -1;
	if (!*name)
		*name = "";
	*n = MIN(*n, (size_t)CERT_CHAIN_MAX);
	*t = (i64)(ts_us / 1000000);
	return chain_key(m, c, *n, *name, ts_us / 1000000 / CACHE_BUCKET_S, key);
}

const struct cert_verdict *cert_check(const struct cert_der *c, size_t n, const char *name,
                                      u64 ts_us)
{
	static struct cert_verdict out; /* the caller's copy: the cache may change under it */
	u8 key[32];
	i64 t;
	struct cache_ent fresh;

	/* Same chain, same name, same day: same verdict (unless a certificate's
	 * validity starts or ends in between, see stable_lo/hi). A verdict is a
	 * function of those alone, so whichever thread judged it, the report is
	 * the same. */
	if (prepare(md, c, &n, &name, ts_us, &t, key) < 0)
		return NULL;
	pthread_mutex_lock(&lock);
	for (;;) {
		struct cache_ent *e = slot_of(key);
		if (holds(e, key, t)) {
			n_hits++;
			out = e->v;
			pthread_mutex_unlock(&lock);
			return &out;
		}
		if (!is_inflight(key))
			break;
		pthread_cond_wait(&judged, &lock);
	}
	n_misses++;
	memcpy(inflight[OWN], key, 32);
	inflight_on[OWN] = 1;
	pthread_mutex_unlock(&lock);
	atomic_fetch_add_explicit(&n_own, 1, memory_order_relaxed);

	int ok = judge_der(c, n, name, t, key, &fresh) == 0;
	pthread_mutex_lock(&lock);
	if (ok)
		*slot_of(key) = fresh;
	inflight_on[OWN] = 0;
	pthread_mutex_unlock(&lock);
	if (!ok)
		return NULL;
	out = fresh.v;
	return &out;
}

u64 cert_own_judged(void) { return atomic_load_explicit(&n_own, memory_order_relaxed); }

static __thread EVP_MD_CTX *tmd; /* a look-ahead thread's own: freed by cert_thread_end() */

void cert_thread_end(void)
{
	EVP_MD_CTX_free(tmd);
	tmd = NULL;
	OPENSSL_thread_stop();
}

int cert_prefetch(int worker, const struct cert_der *c, size_t n, const char *name, u64 ts_us)
{
	u8 key[32];
	i64 t;
	struct cache_ent fresh;
	int rc = 0;

	if (worker < 0 || worker >= CERT_PREFETCH_MAX || (!tmd && !(tmd = EVP_MD_CTX_new())) ||
	    prepare(tmd, c, &n, &name, ts_us, &t, key) < 0)
		return 0;
	pthread_mutex_lock(&lock);
	if (holds(slot_of(key), key, t) || is_inflight(key)) {
		pthread_mutex_unlock(&lock);
		return 0;
	}
	memcpy(inflight[worker], key, 32);
	inflight_on[worker] = 1;
	pthread_mutex_unlock(&lock);

	int ok = judge_der(c, n, name, t, key, &fresh) == 0;
	pthread_mutex_lock(&lock);
	if (ok) {
		*slot_of(key) = fresh;
		rc = 1;
	}
	inflight_on[worker] = 0;
	pthread_cond_broadcast(&judged);
	pthread_mutex_unlock(&lock);
	return rc;
}
