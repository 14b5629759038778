/* \summary: tls: ClientHello SNI, alerts by RFC 8446 name, certificates
 * checked with OpenSSL (self-signed, wrong name, expired) at capture time,
 * records split across segments, hostile records. */
#include <openssl/evp.h>
#include <openssl/x509.h>
#include "testutil.h"
#include "panne/tls.h"

#define C "192.168.1.10"
#define S "198.51.100.10"
#define T0 1700000000000000ull /* 2023-11-14 */

static u32 cseq, sseq;
static u16 cport = 40000;

static void handshake(void)
{
	struct tframe f;
	cport++;
	cseq = 1000, sseq = 5000;
	t_tcp(&f, C, cport, S, 443, cseq, 0, TH_SYN, NULL, 0, 64);
	t_feed(&f, T0);
	t_tcp(&f, S, 443, C, cport, sseq, cseq + 1, TH_SYN | TH_ACK, NULL, 0, 60);
	t_feed(&f, T0 + 100);
	cseq++, sseq++;
}

static void send_dir(int to_server, const u8 *p, u32 n, u64 at)
{
	struct tframe f;
	if (to_server) {
		t_tcp(&f, C, cport, S, 443, cseq, sseq, TH_ACK | TH_PSH, p, n, 64);
		cseq += n;
	} else {
		t_tcp(&f, S, 443, C, cport, sseq, cseq, TH_ACK | TH_PSH, p, n, 60);
		sseq += n;
	}
	t_feed(&f, at);
}

/* A handshake record holding one message of type ht with body b. */
static u32 hs_record(u8 *out, u8 ht, const u8 *b, u32 n)
{
	out[0] = 22, out[1] = 3, out[2] = 3;
	put16(out + 3, (u16)(n + 4));
	out[5] = ht;
	out[6] = (u8)(n >> 16), out[7] = (u8)(n >> 8), out[8] = (u8)n;
	memcpy(out + 9, b, n);
	return n + 9;
}

static u32 client_hello(u8 *out, const char *sni)
{
	u8 b[512];
	u32 o = 0, sl = (u32)strlen(sni);
	put16(b, 0x0303), o = 2;
	memset(b + o, 7, 32), o += 32;
	b[o++] = 0;                      /* session id */
	put16(b + o, 2), o += 2;         /* cipher suites */
	put16(b + o, 0xc02f), o += 2;
	b[o++] = 1, b[o++] = 0;          /* compression */
	put16(b + o, (u16)(sl + 9)), o += 2; /* extensions */
	put16(b + o, 0), o += 2;         /* server_name */
	put16(b + o, (u16)(sl + 5)), o += 2;
	put16(b + o, (u16)(sl + 3)), o += 2;
	b[o++] = 0;
	put16(b + o, (u16)sl), o += 2;
	memcpy(b + o, sni, sl), o += sl;
	return hs_record(out, 1, b, o);
}

static u32 server_hello(u8 *out)
{
	u8 b[64] = { 3, 3 };
	memset(b + 2, 9, 32);
	b[34] = 0;
	put16(b + 35, 0xc02f);
	b[37] = 0;
	put16(b + 38, 0);
	return hs_record(out, 2, b, 40);
}

static void sni_names_the_flow_and_a_fatal_alert_is_reported(void **s)
{
	u8 r[600];
	(void)s;
	handshake();
	u32 n = client_hello(r, "open.spotify.com");
	send_dir(1, r, 10, T0 + 200); /* the record split across two segments */
	send_dir(1, r + 10, n - 10, T0 + 300);
	u8 alert[7] = { 21, 3, 3, 0, 2, 2, 70 };
	send_dir(0, alert, 7, T0 + 400);
	pipeline_file_end();
	const struct finding *f = t_find(K_TLS_ALERT, 0);
	assert_non_null(f);
	assert_string_equal(f->name, "open.spotify.com");
	assert_string_equal(f->group, "spotify");
	assert_string_equal(json_string_value(json_object_get(f->detail, "description_name")), "protocol_version");
	assert_string_equal(json_string_value(json_object_get(f->detail, "sender")), "server");
	assert_int_equal(f->frame, 5);
	assert_int_equal(f->ev[1], 4);
}

static void warning_unrecognized_name_is_not_a_failure(void **s)
{
	u8 r[600];
	(void)s;
	handshake();
	u32 n = client_hello(r, "www.ntop.org");
	send_dir(1, r, n, T0 + 200);
	u8 alert[7] = { 21, 3, 3, 0, 2, 1, 112 };
	send_dir(0, alert, 7, T0 + 300);
	pipeline_file_end();
	assert_int_equal(t_count(K_TLS_ALERT), 0);
	assert_string_equal(tls_alert_name(112), "unrecognized_name");
	assert_null(tls_alert_name(255));
}

/* A self-signed certificate for cn, valid from nb to na (seconds from now). */
static int make_cert(const char *cn, long nb, long na, u8 **der)
{
	EVP_PKEY *k = EVP_RSA_gen(1024);
	X509 *x = X509_new();
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_time_adj_ex(X509_getm_notBefore(x), 0, nb, NULL);
	X509_time_adj_ex(X509_getm_notAfter(x), 0, na, NULL);
	X509_set_pubkey(x, k);
	X509_NAME *nm = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC, (const u8 *)cn, -1, -1, 0);
	X509_set_issuer_name(x, nm);
	X509_sign(x, k, EVP_sha256());
	*der = NULL;
	int n = i2d_X509(x, der);
	X509_free(x);
	EVP_PKEY_free(k);
	return n;
}

static void certificate_problems_are_told_apart(void **s)
{
	u8 rec[4000], body[3000], *der;
	(void)s;
	/* Self-signed, for another name, and expired a year before the capture. */
	long now = (long)time(NULL), at = (long)(T0 / 1000000);
	int n = make_cert("wrong.example", at - now - 2 * 365 * 86400L, at - now - 365 * 86400L, &der);
	assert_true(n > 0);
	handshake();
	u32 m = client_hello(rec, "www.netflix.com");
	send_dir(1, rec, m, T0 + 200);
	m = server_hello(rec);
	body[0] = 0, body[1] = (u8)((n + 3) >> 8), body[2] = (u8)(n + 3);
	body[3] = 0, body[4] = (u8)(n >> 8), body[5] = (u8)n;
	memcpy(body + 6, der, (size_t)n);
	m += hs_record(rec + m, 11, body, (u32)n + 6);
	OPENSSL_free(der);
	send_dir(0, rec, m, T0 + 300);
	pipeline_file_end();
	assert_int_equal(t_count(K_CERT_UNTRUSTED), 1);
	assert_int_equal(t_count(K_CERT_MISMATCH), 1);
	assert_int_equal(t_count(K_CERT_EXPIRED), 1);
	const struct finding *u = t_find(K_CERT_UNTRUSTED, 0);
	assert_string_equal(json_string_value(json_object_get(u->detail, "subject")), "CN=wrong.example");
	/* A streaming service whose certificate no public CA vouches for: interception. */
	assert_int_equal(u->origin, O_ONPATH);
	assert_int_equal(u->frame, 4);
}

static void handshake_cut_for_one_name_while_another_works_is_sni_filtering(void **s)
{
	u8 r[600];
	struct tframe f;
	u8 ccs[6] = { 20, 3, 3, 0, 1, 1 };
	(void)s;
	handshake();
	u32 n = client_hello(r, "example.org");
	send_dir(1, r, n, T0 + 200);
	n = server_hello(r);
	send_dir(0, r, n, T0 + 300);
	send_dir(1, ccs, 6, T0 + 400);
	send_dir(0, ccs, 6, T0 + 500);
	handshake();
	n = client_hello(r, "open.spotify.com");
	send_dir(1, r, n, T0 + 600);
	t_tcp(&f, S, 443, C, cport, sseq, cseq, TH_RST | TH_ACK, NULL, 0, 60);
	t_feed(&f, T0 + 700);
	pipeline_file_end();
	const struct finding *x = t_find(K_SNI_FILTERED, 0);
	assert_non_null(x);
	assert_string_equal(x->name, "open.spotify.com");
	assert_string_equal(json_string_value(json_object_get(x->detail, "works_for")), "example.org");
	assert_int_equal(x->frame, 9);
	assert_int_equal(t_count(K_RST), 0);
}

static void hostile_records_do_not_crash(void **s)
{
	u8 junk[3000];
	(void)s;
	for (int round = 0; round < 20; round++) {
		handshake();
		u8 r[600];
		u32 n = client_hello(r, "x.example");
		send_dir(1, r, n, T0 + 200);
		for (u32 i = 0; i < sizeof junk; i++)
			junk[i] = (u8)(i * 131 + (u32)round * 7);
		junk[0] = 22, junk[1] = 3, junk[3] = 0x3f, junk[5] = (u8)(round % 12);
		send_dir(0, junk, sizeof junk, T0 + 300);
	}
	pipeline_file_end();
	assert_true(findings_count() < 100);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(sni_names_the_flow_and_a_fatal_alert_is_reported, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(warning_unrecognized_name_is_not_a_failure, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(certificate_problems_are_told_apart, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(handshake_cut_for_one_name_while_another_works_is_sni_filtering, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(hostile_records_do_not_crash, t_setup, t_teardown),
	};
	return cmocka_run_group_tests_name("tls", tests, NULL, NULL);
}
