/* \summary: cert.c judges chains the same whichever way OpenSSL decodes the
 * certificates' keys: its built-in methods (the engine cert_init()
 * registers, the default) or the provider decoders (PANNE_PROVIDER_KEYS=1).
 * Certificates of every key type and many defects are made here with
 * OpenSSL; a child process judges them the provider way and the parent the
 * default way, and every field of every verdict must agree. Known verdicts
 * are asserted too, so that both ways failing alike fails the test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "panne/cert.h"

#define NOW 1893456000 /* 2030-01-01, the judged instant */
#define DAY 86400
#define MAXC 128

struct chain {
	const char *what, *name;
	int n;
	unsigned char *der[3];
	int len[3];
	int want_err;     /* expected verify_err, -1: not asserted */
	int want_name_ok; /* -1: not asserted */
	int want_expired;
};

static struct chain chains[MAXC];
static int nchains;
static char ca_path[256];

static EVP_PKEY *key(const char *type)
{
	if (!strcmp(type, "RSA"))
		return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	if (!strcmp(type, "RSA-PSS")) {
		EVP_PKEY *k = NULL;
		EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_name(NULL, "RSA-PSS", NULL);
		if (c && EVP_PKEY_keygen_init(c) == 1 && EVP_PKEY_CTX_set_rsa_keygen_bits(c, 2048) == 1)
			EVP_PKEY_generate(c, &k);
		EVP_PKEY_CTX_free(c);
		return k;
	}
	if (!strcmp(type, "P-256") || !strcmp(type, "P-384"))
		return EVP_PKEY_Q_keygen(NULL, NULL, "EC", type);
	return EVP_PKEY_Q_keygen(NULL, NULL, type);
}

/* A certificate for cn (SAN DNS:cn) with key k, signed by ik as iss (self-signed when NULL). */
static X509 *cert(const char *cn, EVP_PKEY *k, X509 *iss, EVP_PKEY *ik, int ca, long nb, long na,
                  int pss)
{
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();
	X509V3_CTX v;
	char san[128];
	static long serial = 1;

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
	ASN1_TIME_set(X509_getm_notBefore(x), NOW + nb);
	ASN1_TIME_set(X509_getm_notAfter(x), NOW + na);
	X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC, (const unsigned char *)"Panne Test", -1, -1, 0);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(x, n);
	X509_set_issuer_name(x, iss ? X509_get_subject_name(iss) : n);
	X509_NAME_free(n);
	X509_set_pubkey(x, k);
	X509V3_set_ctx(&v, iss ? iss : x, x, NULL, NULL, 0);
	const char *ext[][2] = {
		{ "basicConstraints", ca ? "critical,CA:TRUE" : "CA:FALSE" },
		{ "keyUsage", ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature,keyEncipherment" },
		{ "subjectKeyIdentifier", "hash" },
		{ "authorityKeyIdentifier", "keyid" },
		{ ca ? NULL : "subjectAltName", san },
	};
	snprintf(san, sizeof san, "DNS:%s", cn);
	for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++) {
		if (!ext[i][0])
			continue;
		X509_EXTENSION *e = X509V3_EXT_conf(NULL, &v, ext[i][0], ext[i][1]);
		assert_non_null(e);
		X509_add_ext(x, e, -1);
		X509_EXTENSION_free(e);
	}
	EVP_PKEY *sk = ik ? ik : k;
	int raw = EVP_PKEY_is_a(sk, "ED25519") || EVP_PKEY_is_a(sk, "ED448");
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pc = NULL;
	assert_int_equal(EVP_DigestSignInit(md, &pc, raw ? NULL : EVP_sha256(), NULL, sk), 1);
	if (pss && EVP_PKEY_is_a(sk, "RSA"))
		assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING), 1);
	assert_true(X509_sign_ctx(x, md) > 0);
	EVP_MD_CTX_free(md);
	return x;
}

/* Adds a chain of the given certificates (leaf first). */
static struct chain *add(const char *what, const char *name, X509 *a, X509 *b, int err, int name_ok,
                         int expired)
{
	struct chain *c = &chains[nchains++];
	X509 *xs[2] = { a, b };
	assert_true(nchains <= MAXC);
	c->what = what;
	c->name = name;
	c->want_err = err;
	c->want_name_ok = name_ok;
	c->want_expired = expired;
	for (int i = 0; i < 2 && xs[i]; i++) {
		c->der[i] = NULL;
		c->len[i] = i2d_X509(xs[i], &c->der[i]);
		assert_true(c->len[i] > 0);
		c->n++;
	}
	return c;
}

static void make_all(void)
{
	const char *types[] = { "RSA", "RSA-PSS", "P-256", "P-384", "ED25519", "ED448" };
	EVP_PKEY *rk = key("RSA"), *ek = key("P-256"), *dk = key("ED25519"), *ik = key("P-384");
	X509 *rroot = cert("Panne RSA Root", rk, NULL, NULL, 1, -DAY, 3650 * DAY, 0);
	X509 *eroot = cert("Panne EC Root", ek, NULL, NULL, 1, -DAY, 3650 * DAY, 0);
	X509 *droot = cert("Panne Ed25519 Root", dk, NULL, NULL, 1, -DAY, 3650 * DAY, 0);
	X509 *inter = cert("Panne EC Intermediate", ik, rroot, rk, 1, -DAY, 365 * DAY, 0);
	X509 *inter_old = cert("Panne EC Intermediate", ik, rroot, rk, 1, -400 * DAY, -30 * DAY, 0);
	X509 *notca = cert("leaf.example", ik, rroot, rk, 0, -DAY, 365 * DAY, 0);
	FILE *f;

	const char *tmp = getenv("TMPDIR");
	snprintf(ca_path, sizeof ca_path, "%s/test_cert_XXXXXX", tmp && *tmp ? tmp : "/tmp");
	int tfd = mkstemp(ca_path);
	assert_true(tfd >= 0);
	assert_non_null(f = fdopen(tfd, "w"));
	PEM_write_X509(f, rroot);
	PEM_write_X509(f, eroot);
	PEM_write_X509(f, droot);
	fclose(f);

	for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
		EVP_PKEY *lk = key(types[t]);
		assert_non_null(lk);
		struct {
			X509 *iss;
			EVP_PKEY *ik;
			X509 *send;
		} by[] = { { rroot, rk, NULL }, { eroot, ek, NULL }, { droot, dk, NULL }, { inter, ik, inter } };
		for (size_t b = 0; b < sizeof by / sizeof by[0]; b++) {
			X509 *l = cert("www.example.com", lk, by[b].iss, by[b].ik, 0, -DAY, 90 * DAY, 0);
			add(types[t], "www.example.com", l, by[b].send, X509_V_OK, 1, 0);
			add(types[t], "other.example.org", l, by[b].send, X509_V_OK, 0, 0);
			X509_free(l);
		}
		X509 *l = cert("www.example.com", lk, rroot, rk, 0, -100 * DAY, -10 * DAY, 0);
		add("expired leaf", "www.example.com", l, NULL, X509_V_OK, 1, 1);
		X509_free(l);
		l = cert("www.example.com", lk, inter, ik, 0, -DAY, 90 * DAY, 0);
		add("no intermediate sent", "www.example.com", l, NULL,
		    X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, 1, 0);
		add("expired intermediate", "www.example.com", l, inter_old, -1, 1, 1);
		X509_free(l);
		l = cert("www.example.com", lk, NULL, NULL, 0, -DAY, 90 * DAY, 0);
		add("self-signed", "www.example.com", l, NULL, X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT, 1, 0);
		X509_free(l);
		l = cert("www.example.com", lk, notca, ik, 0, -DAY, 90 * DAY, 0);
		add("issuer not a CA", "www.example.com", l, notca, X509_V_ERR_INVALID_CA, 1, 0);
		X509_free(l);
		/* The same leaf with a byte of its signature flipped. */
		l = cert("www.example.com", lk, rroot, rk, 0, -DAY, 90 * DAY, t == 0);
		struct chain *c = add(t == 0 ? "PSS signature, flipped" : "flipped signature",
		                      "www.example.com", l, NULL, X509_V_ERR_CERT_SIGNATURE_FAILURE, 1, 0);
		c->der[0][c->len[0] - 3] ^= 0x40;
		X509_free(l);
		EVP_PKEY_free(lk);
	}
	/* An RSA-PSS signature that holds. */
	X509 *l = cert("www.example.com", ek, rroot, rk, 0, -DAY, 90 * DAY, 1);
	add("PSS signature", "www.example.com", l, NULL, X509_V_OK, 1, 0);
	X509_free(l);
	X509_free(rroot);
	X509_free(eroot);
	X509_free(droot);
	X509_free(inter);
	X509_free(inter_old);
	X509_free(notca);
	EVP_PKEY_free(rk);
	EVP_PKEY_free(ek);
	EVP_PKEY_free(dk);
	EVP_PKEY_free(ik);
}

static void judge_all(struct cert_verdict *out)
{
	char err[256];
	assert_int_equal(cert_init(ca_path, err, sizeof err), 0);
	for (int i = 0; i < nchains; i++) {
		struct cert_der d[3];
		for (int k = 0; k < chains[i].n; k++) {
			d[k].p = chains[i].der[k];
			d[k].n = (u32)chains[i].len[k];
		}
		const struct cert_verdict *v = cert_check(d, (size_t)chains[i].n, chains[i].name, (u64)NOW * 1000000);
		assert_non_null(v);
		out[i] = *v;
	}
	cert_reset();
}

static void both_key_decoders_give_the_same_verdicts(void **s)
{
	static struct cert_verdict mine[MAXC], theirs[MAXC + 1];
	int fd[2];
	(void)s;
	make_all();
	assert_int_equal(pipe(fd), 0);
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		setenv("PANNE_PROVIDER_KEYS", "1", 1);
		judge_all(theirs);
		theirs[nchains].n_sans = (u8)cert_builtin_keys(); /* the path the child took */
		size_t o = 0, want = sizeof theirs[0] * (size_t)(nchains + 1);
		while (o < want) {
			ssize_t w = write(fd[1], (char *)theirs + o, want - o);
			if (w <= 0)
				_exit(2);
			o += (size_t)w;
		}
		_exit(0);
	}
	close(fd[1]);
	judge_all(mine);
	size_t o = 0, want = sizeof theirs[0] * (size_t)(nchains + 1);
	ssize_t r;
	while (o < want && (r = read(fd[0], (char *)theirs + o, want - o)) > 0)
		o += (size_t)r;
	close(fd[0]);
	int st;
	waitpid(pid, &st, 0);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_int_equal(o, want);
	/* the two paths were the two paths */
	assert_int_equal(cert_builtin_keys(), 1);
	assert_int_equal(theirs[nchains].n_sans, 0);

	int bad = 0;
	for (int i = 0; i < nchains; i++) {
		const struct chain *c = &chains[i];
		const struct cert_verdict *a = &mine[i], *b = &theirs[i];
		if (memcmp(a, b, sizeof *a) != 0) {
			print_error("%s for %s: built-in keys err %d name_ok %d expired %d, provider keys err %d name_ok %d expired %d\n",
			            c->what, c->name, a->verify_err, a->name_ok, a->expired, b->verify_err,
			            b->name_ok, b->expired);
			bad++;
		}
		if ((c->want_err >= 0 && a->verify_err != c->want_err) ||
		    (c->want_name_ok >= 0 && a->name_ok != c->want_name_ok) || a->expired != c->want_expired) {
			print_error("%s for %s: err %d (%s) name_ok %d expired %d, expected err %d name_ok %d expired %d\n",
			            c->what, c->name, a->verify_err, cert_error_string(a->verify_err), a->name_ok,
			            a->expired, c->want_err, c->want_name_ok, c->want_expired);
			bad++;
		}
	}
	unlink(ca_path);
	assert_int_equal(bad, 0);
	assert_true(nchains > 50);
	for (int i = 0; i < nchains; i++)
		for (int k = 0; k < chains[i].n; k++)
			OPENSSL_free(chains[i].der[k]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(both_key_decoders_give_the_same_verdicts),
	};
	return cmocka_run_group_tests_name("cert", tests, NULL, NULL);
}
