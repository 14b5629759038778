/* \summary: certificate chains seen on the wire, checked with OpenSSL at the
 * capture's own time against the system CA store plus an extra PEM file;
 * chain trust, validity time and the name are judged apart, and verdicts
 * are cached by chain, name and time. Used by the tls analyzer only. */
#ifndef PANNE_CERT_H
#define PANNE_CERT_H

#include "panne/types.h"

#define CERT_CHAIN_MAX 10  /* certificates of one chain examined, leaf first */
#define CERT_NAME_LEN 160  /* subject/issuer text kept, escaped */
#define CERT_SANS_LEN 256  /* DNS SANs kept, NUL-separated */

/* One certificate as it came on the wire (DER); points into the caller's
 * buffer, read only during cert_check(). */
struct cert_der {
	const u8 *p;
	u32 n;
};

struct cert_verdict {
	int verify_err;       /* first chain error other than validity time (X509_V_ERR_*),
	                         X509_V_OK when the chain verifies */
	u8 expired;           /* a certificate of the chain is outside its validity */
	u8 not_yet_valid;     /* ... because its notBefore is later than the time */
	u8 expired_depth;     /* which one: 0 the leaf, 1 its issuer, ... */
	u8 name_ok;           /* the leaf covers the name (or no name was given) */
	u8 private_pki;       /* the chain's own root names the leaf's organisation */
	u8 leaf_sha256[32];   /* identity of the leaf certificate */
	char subject[CERT_NAME_LEN], issuer[CERT_NAME_LEN]; /* of the leaf, RFC 2253 */
	char exp_subject[CERT_NAME_LEN]; /* of the certificate out of validity */
	char not_before[32], not_after[32]; /* RFC 3339: of the certificate out of
	                                       validity when expired, else of the leaf */
	char sans[CERT_SANS_LEN]; /* the leaf's DNS SANs, escaped, each NUL-terminated */
	u8 n_sans;                /* how many of them sans holds */
};

/* Builds the store: the system default paths plus ca_file (PEM, may be
 * NULL), and an empty verdict cache of CERT_CACHE_CAP entries. The store is
 * kept across cert_reset() while ca_file stays the same (loading the system
 * store reads hundreds of files). 0, or -1 with a message in err. */
int cert_init(const char *ca_file, char *err, size_t errlen);

/* 1 when certificates' keys are decoded by libcrypto's built-in methods
 * (the default), 0 on the provider path (PANNE_PROVIDER_KEYS, or an
 * OpenSSL without engines); known after cert_init(). */
int cert_builtin_keys(void);

/* Frees the verdict cache (tests, fuzzing); cert_init() makes a new one. */
void cert_reset(void);

/* Judges the chain c[0..n-1] (leaf first; the others are the untrusted
 * intermediates the server sent) for name (the SNI, "" for none; an IP
 * address literal is matched against IP SANs) at time ts_us. Returns the
 * verdict, a copy valid until the next call, or NULL when
 * the leaf does not decode or cert_init() was not called. */
const struct cert_verdict *cert_check(const struct cert_der *c, size_t n, const char *name,
                                      u64 ts_us);

#define CERT_PREFETCH_MAX 8 /* look-ahead threads cert_prefetch() serves */

/* Judges ahead of need, from a look-ahead thread (ahead.h) numbered worker
 * (0 .. CERT_PREFETCH_MAX - 1): a later cert_check() of the same chain, name and day finds the
 * verdict, or waits for it while it is being judged. Returns 1 if it judged
 * the chain, 0 if it was cached already, being judged, or not decodable.
 * cert_check() stays the packet thread's; both may run at once. */
int cert_prefetch(int worker, const struct cert_der *c, size_t n, const char *name, u64 ts_us);

/* Chains cert_check() judged itself, found neither cached nor being judged
 * (any thread may ask). */
u64 cert_own_judged(void);

/* A look-ahead thread's clean-up before it exits. */
void cert_thread_end(void);

/* OpenSSL's text for a verify_err, as X509_verify_cert_error_string(). */
const char *cert_error_string(int verify_err);

/* Cache statistics, for tests: lookups answered from the cache, and misses. */
void cert_cache_stats(u64 *hits, u64 *misses);

#endif
