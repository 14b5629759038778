/* \summary: trust anchors read at start, parsed on demand by subject (see
 * anchors.h). Only the subject name is decoded up front: it is what the
 * verifier asks by. */
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "panne/anchors.h"
#include "panne/util.h"

struct anchor {
	unsigned char *der;
	long len;
	X509_NAME *subject;
	X509 *x; /* parsed, once asked for */
};

static struct anchor *an;
static unsigned n_an, cap_an, n_parsed;
static X509_LOOKUP_METHOD *meth;
/* The verifier may run on look-ahead threads too (cert_prefetch): parsing
 * an anchor on demand writes the table. */
static pthread_mutex_t an_lock = PTHREAD_MUTEX_INITIALIZER;

/* The subject Name inside a certificate's DER: Certificate ::= SEQUENCE {
 * tbs SEQUENCE { [0] version OPTIONAL, serial, signature alg, issuer,
 * validity, subject ... } ... }. Decodes only that Name. */
static X509_NAME *der_subject(const unsigned char *p, long len)
{
	const unsigned char *q = p, *end = p + len;
	long l;
	int tag, cls;
	if (ASN1_get_object(&q, &l, &tag, &cls, len) & 0x80 || tag != V_ASN1_SEQUENCE)
		return NULL;
	if (ASN1_get_object(&q, &l, &tag, &cls, end - q) & 0x80 || tag != V_ASN1_SEQUENCE)
		return NULL;
	for (int field = 0; q < end; field++) {
		const unsigned char *start = q;
		if (ASN1_get_object(&q, &l, &tag, &cls, end - q) & 0x80 || l > end - q)
			return NULL;
		if (field == 0 && cls == V_ASN1_CONTEXT_SPECIFIC) { /* [0] version */
			q += l;
			field = -1;
			continue;
		}
		if (field == 4) { /* serial, algorithm, issuer, validity, then subject */
			const unsigned char *s = start;
			return d2i_X509_NAME(NULL, &s, (q - start) + l);
		}
		q += l;
	}
	return NULL;
}

/* Reads every CERTIFICATE block of a PEM file; -1 if it cannot be opened. */
static int read_pem(const char *path)
{
	BIO *b = BIO_new_file(path, "r");
	char *name = NULL, *header = NULL;
	unsigned char *data = NULL;
	long len;
	int got = 0;
	if (!b)
		return -1;
	while (PEM_read_bio(b, &name, &header, &data, &len) == 1) {
		X509_NAME *subj = NULL;
		if ((strcmp(name, PEM_STRING_X509) == 0 || strcmp(name, PEM_STRING_X509_OLD) == 0 ||
		     strcmp(name, PEM_STRING_X509_TRUSTED) == 0) && (subj = der_subject(data, len))) {
			if (n_an == cap_an) {
				cap_an = cap_an ? cap_an * 2 : 256;
				an = xrealloc(an, cap_an * sizeof *an);
			}
			an[n_an++] = (struct anchor){ data, len, subj, NULL };
			data = NULL;
			got++;
		}
		OPENSSL_free(name);
		OPENSSL_free(header);
		OPENSSL_free(data);
		name = header = NULL;
		data = NULL;
	}
	ERR_clear_error(); /* the end of the file reads as an error */
	BIO_free(b);
	return got;
}

/* The verifier asks for certificates of a subject: every anchor of that
 * subject joins the store (parsed now), and the first is the answer. */
static int by_subject(X509_LOOKUP *lu, X509_LOOKUP_TYPE type, const X509_NAME *name, X509_OBJECT *ret)
{
	X509_STORE *st = X509_LOOKUP_get_store(lu);
	X509 *first = NULL;
	if (type != X509_LU_X509 || !name)
		return 0;
	pthread_mutex_lock(&an_lock);
	for (unsigned i = 0; i < n_an; i++) {
		if (X509_NAME_cmp(an[i].subject, name) != 0)
			continue;
		if (!an[i].x) {
			const unsigned char *p = an[i].der;
			if (!(an[i].x = d2i_X509(NULL, &p, an[i].len)))
				continue;
			/* OpenSSL caches a certificate's extensions (key ids, purposes)
			 * when first asked: done here, before other threads share it. */
			X509_check_purpose(an[i].x, -1, 0);
			n_parsed++;
			X509_STORE_add_cert(st, an[i].x); /* a duplicate is not an error here */
			ERR_clear_error();
		}
		if (!first)
			first = an[i].x;
	}
	pthread_mutex_unlock(&an_lock);
	if (!first || X509_OBJECT_set1_X509(ret, first) != 1)
		return 0;
	/* The caller (X509_STORE_CTX_get_by_subject) takes its own reference
	 * on what we return, as OpenSSL's directory lookup expects: ours is a
	 * borrowed one, kept alive by the store and by an[]. */
	X509_free(first);
	return 1;
}

static void anchors_free(void)
{
	for (unsigned i = 0; i < n_an; i++) {
		OPENSSL_free(an[i].der);
		X509_NAME_free(an[i].subject);
		X509_free(an[i].x);
	}
	free(an);
	an = NULL;
	n_an = cap_an = n_parsed = 0;
}

int anchors_attach(X509_STORE *store, const char *ca_file, char *err, size_t errlen)
{
	const char *sys = getenv(X509_get_default_cert_file_env());
	X509_LOOKUP *lu;
	anchors_free(); /* a new store: the anchors of the last one go */
	if (!sys || !*sys)
		sys = X509_get_default_cert_file();
	read_pem(sys); /* a system without the bundle still has the directory */
	if (ca_file) {
		int got = read_pem(ca_file);
		if (got <= 0) {
			snprintf(err, errlen, "--ca-file %s: %s", ca_file,
			         got < 0 ? "cannot open it" : "holds no PEM certificate");
			return -1;
		}
	}
	if (!meth) {
		meth = X509_LOOKUP_meth_new("panne trust anchors");
		if (!meth || !X509_LOOKUP_meth_set_get_by_subject(meth, by_subject))
			goto fail;
	}
	if (!(lu = X509_STORE_add_lookup(store, meth)))
		goto fail;
	/* The hashed directory, as the default paths have it (read on demand,
	 * so it only helps while panne can still see it). */
	if ((lu = X509_STORE_add_lookup(store, X509_LOOKUP_hash_dir())))
		X509_LOOKUP_add_dir(lu, NULL, X509_FILETYPE_DEFAULT);
	ERR_clear_error();
	return 0;
fail:
	snprintf(err, errlen, "cannot set up the CA store");
	ERR_clear_error();
	return -1;
}

void anchors_counts(unsigned *read, unsigned *parsed)
{
	*read = n_an;
	*parsed = n_parsed;
}
