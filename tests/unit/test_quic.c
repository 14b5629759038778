/* \summary: quic: the Initial keys, header protection, packet opening and
 * Retry integrity of RFC 9001 appendix A (version 1) and RFC 9369 appendix A
 * (version 2), the ClientHello and ServerHello of those sample packets read
 * by the TLS parser; then whole flows through the pipeline: a handshake
 * counted and named, a ClientHello split over two Initials out of order,
 * silence (quic_timeout), a server's CONNECTION_CLOSE with a TLS alert
 * (quic_close), a Version Negotiation without a common version
 * (quic_version), a Retry that changes the keys, and hostile bytes. */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include "testutil.h"
#include "panne/quic.h"
#include "panne/tls.h"

#define T0 1700000000000000ull
#define SEC 1000000ull

/* RFC 9001 appendix A.2 and A.3: the protected client and server Initials. */
static const char V1_CLIENT_INITIAL[] =
	"c000000001088394c8f03e5157080000449e7b9aec34d1b1c98dd7689fb8ec11d242b123dc9bd8bab936b47d92ec356c"
	"0bab7df5976d27cd449f63300099f3991c260ec4c60d17b31f8429157bb35a1282a643a8d2262cad67500cadb8e7378c"
	"8eb7539ec4d4905fed1bee1fc8aafba17c750e2c7ace01e6005f80fcb7df621230c83711b39343fa028cea7f7fb5ff89"
	"eac2308249a02252155e2347b63d58c5457afd84d05dfffdb20392844ae812154682e9cf012f9021a6f0be17ddd0c208"
	"4dce25ff9b06cde535d0f920a2db1bf362c23e596d11a4f5a6cf3948838a3aec4e15daf8500a6ef69ec4e3feb6b1d98e"
	"610ac8b7ec3faf6ad760b7bad1db4ba3485e8a94dc250ae3fdb41ed15fb6a8e5eba0fc3dd60bc8e30c5c4287e53805db"
	"059ae0648db2f64264ed5e39be2e20d82df566da8dd5998ccabdae053060ae6c7b4378e846d29f37ed7b4ea9ec5d82e7"
	"961b7f25a9323851f681d582363aa5f89937f5a67258bf63ad6f1a0b1d96dbd4faddfcefc5266ba6611722395c906556"
	"be52afe3f565636ad1b17d508b73d8743eeb524be22b3dcbc2c7468d54119c7468449a13d8e3b95811a198f3491de3e7"
	"fe942b330407abf82a4ed7c1b311663ac69890f4157015853d91e923037c227a33cdd5ec281ca3f79c44546b9d90ca00"
	"f064c99e3dd97911d39fe9c5d0b23a229a234cb36186c4819e8b9c5927726632291d6a418211cc2962e20fe47feb3edf"
	"330f2c603a9d48c0fcb5699dbfe5896425c5bac4aee82e57a85aaf4e2513e4f05796b07ba2ee47d80506f8d2c25e50fd"
	"14de71e6c418559302f939b0e1abd576f279c4b2e0feb85c1f28ff18f58891ffef132eef2fa09346aee33c28eb130ff2"
	"8f5b766953334113211996d20011a198e3fc433f9f2541010ae17c1bf202580f6047472fb36857fe843b19f5984009dd"
	"c324044e847a4f4a0ab34f719595de37252d6235365e9b84392b061085349d73203a4a13e96f5432ec0fd4a1ee65accd"
	"d5e3904df54c1da510b0ff20dcc0c77fcb2c0e0eb605cb0504db87632cf3d8b4dae6e705769d1de354270123cb11450e"
	"fc60ac47683d7b8d0f811365565fd98c4c8eb936bcab8d069fc33bd801b03adea2e1fbc5aa463d08ca19896d2bf59a07"
	"1b851e6c239052172f296bfb5e72404790a2181014f3b94a4e97d117b438130368cc39dbb2d198065ae3986547926cd2"
	"162f40a29f0c3c8745c0f50fba3852e566d44575c29d39a03f0cda721984b6f440591f355e12d439ff150aab7613499d"
	"bd49adabc8676eef023b15b65bfc5ca06948109f23f350db82123535eb8a7433bdabcb909271a6ecbcb58b936a88cd4e"
	"8f2e6ff5800175f113253d8fa9ca8885c2f552e657dc603f252e1a8e308f76f0be79e2fb8f5d5fbbe2e30ecadd220723"
	"c8c0aea8078cdfcb3868263ff8f0940054da48781893a7e49ad5aff4af300cd804a6b6279ab3ff3afb64491c85194aab"
	"760d58a606654f9f4400e8b38591356fbf6425aca26dc85244259ff2b19c41b9f96f3ca9ec1dde434da7d2d392b905dd"
	"f3d1f9af93d1af5950bd493f5aa731b4056df31bd267b6b90a079831aaf579be0a39013137aac6d404f518cfd4684064"
	"7e78bfe706ca4cf5e9c5453e9f7cfd2b8b4c8d169a44e55c88d4a9a7f9474241e221af44860018ab0856972e194cd934";
static const char V1_SERVER_INITIAL[] =
	"cf000000010008f067a5502a4262b5004075c0d95a482cd0991cd25b0aac406a5816b6394100f37a1c69797554780bb3"
	"8cc5a99f5ede4cf73c3ec2493a1839b3dbcba3f6ea46c5b7684df3548e7ddeb9c3bf9c73cc3f3bded74b562bfb19fb84"
	"022f8ef4cdd93795d77d06edbb7aaf2f58891850abbdca3d20398c276456cbc42158407dd074ee";
/* RFC 9001 appendix A.2: the client Initial's CRYPTO frame (its ClientHello). */
static const char CLIENT_CRYPTO[] =
	"060040f1010000ed0303ebf8fa56f12939b9584a3896472ec40bb863cfd3e86804fe3a47f06a2b69484c000004130113"
	"02010000c000000010000e00000b6578616d706c652e636f6dff01000100000a00080006001d00170018001000070005"
	"04616c706e000500050100000000003300260024001d00209370b2c9caa47fbabaf4559fedba753de171fa71f50f1ce1"
	"5d43e994ec74d748002b0003020304000d0010000e0403050306030203080408050806002d00020101001c0002400100"
	"3900320408ffffffffffffffff05048000ffff07048000ffff0801100104800075300901100f088394c8f03e51570806"
	"048000ffff";
/* RFC 9369 appendix A.2 and A.3: the same in QUIC version 2. */
static const char V2_CLIENT_INITIAL[] =
	"d76b3343cf088394c8f03e5157080000449ea0c95e82ffe67b6abcdb4298b485dd04de806071bf03dceebfa162e75d6c"
	"96058bdbfb127cdfcbf903388e99ad049f9a3dd4425ae4d0992cfff18ecf0fdb5a842d09747052f17ac2053d21f57c5d"
	"250f2c4f0e0202b70785b7946e992e58a59ac52dea6774d4f03b55545243cf1a12834e3f249a78d395e0d18f4d766004"
	"f1a2674802a747eaa901c3f10cda5500cb9122faa9f1df66c392079a1b40f0de1c6054196a11cbea40afb6ef5253cd68"
	"18f6625efce3b6def6ba7e4b37a40f7732e093daa7d52190935b8da58976ff3312ae50b187c1433c0f028edcc4c2838b"
	"6a9bfc226ca4b4530e7a4ccee1bfa2a3d396ae5a3fb512384b2fdd851f784a65e03f2c4fbe11a53c7777c023462239dd"
	"6f7521a3f6c7d5dd3ec9b3f233773d4b46d23cc375eb198c63301c21801f6520bcfb7966fc49b393f0061d974a2706df"
	"8c4a9449f11d7f3d2dcbb90c6b877045636e7c0c0fe4eb0f697545460c806910d2c355f1d253bc9d2452aaa549e27a1f"
	"ac7cf4ed77f322e8fa894b6a83810a34b361901751a6f5eb65a0326e07de7c1216ccce2d0193f958bb3850a833f7ae43"
	"2b65bc5a53975c155aa4bcb4f7b2c4e54df16efaf6ddea94e2c50b4cd1dfe06017e0e9d02900cffe1935e0491d77ffb4"
	"fdf85290fdd893d577b1131a610ef6a5c32b2ee0293617a37cbb08b847741c3b8017c25ca9052ca1079d8b78aebd4787"
	"6d330a30f6a8c6d61dd1ab5589329de714d19d61370f8149748c72f132f0fc99f34d766c6938597040d8f9e2bb522ff9"
	"9c63a344d6a2ae8aa8e51b7b90a4a806105fcbca31506c446151adfeceb51b91abfe43960977c87471cf9ad4074d30e1"
	"0d6a7f03c63bd5d4317f68ff325ba3bd80bf4dc8b52a0ba031758022eb025cdd770b44d6d6cf0670f4e990b22347a7db"
	"848265e3e5eb72dfe8299ad7481a408322cac55786e52f633b2fb6b614eaed18d703dd84045a274ae8bfa73379661388"
	"d6991fe39b0d93debb41700b41f90a15c4d526250235ddcd6776fc77bc97e7a417ebcb31600d01e57f32162a8560cacc"
	"7e27a096d37a1a86952ec71bd89a3e9a30a2a26162984d7740f81193e8238e61f6b5b984d4d3dfa033c1bb7e4f0037fe"
	"bf406d91c0dccf32acf423cfa1e7071010d3f270121b493ce85054ef58bada42310138fe081adb04e2bd901f2f13458b"
	"3d6758158197107c14ebb193230cd1157380aa79cae1374a7c1e5bbcb80ee23e06ebfde206bfb0fcbc0edc4ebec30966"
	"1bdd908d532eb0c6adc38b7ca7331dce8dfce39ab71e7c32d318d136b6100671a1ae6a6600e3899f31f0eed19e3417d1"
	"34b90c9058f8632c798d4490da4987307cba922d61c39805d072b589bd52fdf1e86215c2d54e6670e07383a27bbffb5a"
	"ddf47d66aa85a0c6f9f32e59d85a44dd5d3b22dc2be80919b490437ae4f36a0ae55edf1d0b5cb4e9a3ecabee93dfc6e3"
	"8d209d0fa6536d27a5d6fbb17641cde27525d61093f1b28072d111b2b4ae5f89d5974ee12e5cf7d5da4d6a31123041f3"
	"3e61407e76cffcdcfd7e19ba58cf4b536f4c4938ae79324dc402894b44faf8afbab35282ab659d13c93f70412e85cb19"
	"9a37ddec600545473cfb5a05e08d0b209973b2172b4d21fb69745a262ccde96ba18b2faa745b6fe189cf772a9f84cbfc";
static const char V2_SERVER_INITIAL[] =
	"dc6b3343cf0008f067a5502a4262b5004075d92faaf16f05d8a4398c47089698baeea26b91eb761d9b89237bbf872630"
	"17915358230035f7fd3945d88965cf17f9af6e16886c61bfc703106fbaf3cb4cfa52382dd16a393e42757507698075b2"
	"c984c707f0a0812d8cd5a6881eaf21ceda98f4bd23f6fe1a3e2c43edd9ce7ca84bed8521e2e140";
/* RFC 9001 appendix A.4, RFC 9369 appendix A.4: Retry packets. */
static const char V1_RETRY[] =
	"ff000000010008f067a5502a4262b5746f6b656e04a265ba2eff4d829058fb3f0f2496ba";
static const char V2_RETRY[] =
	"cf6b3343cf0008f067a5502a4262b5746f6b656ec8646ce8bfe33952d955543665dcc7b6";

static const u8 DCID[8] = { 0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08 }; /* RFC 9001 A.1 */

static size_t unhex(const char *h, u8 *out, size_t cap)
{
	size_t n = 0;
	for (; h[0] && h[1] && n < cap; h += 2) {
		unsigned v;
		sscanf(h, "%2x", &v);
		out[n++] = (u8)v;
	}
	return n;
}

static void assert_hex(const u8 *b, size_t n, const char *want)
{
	u8 w[64];
	size_t wn = unhex(want, w, sizeof w);
	assert_int_equal(n, wn);
	assert_memory_equal(b, w, n);
}

/* ---- RFC 9001 appendix A, RFC 9369 appendix A ---- */

static void keys_of_rfc9001_a1(void **state)
{
	(void)state;
	struct quic_keys c, s;
	assert_int_equal(quic_initial_keys(QUIC_V1, DCID, sizeof DCID, &c, &s), 0);
	assert_hex(c.key, 16, "1f369613dd76d5467730efcbe3b1a22d");
	assert_hex(c.iv, 12, "fa044b2f42a3fd3b46fb255c");
	assert_hex(c.hp, 16, "9f50449e04a0e810283a1e9933adedd2");
	assert_hex(s.key, 16, "cf3a5331653c364c88f0f379b6067e37");
	assert_hex(s.iv, 12, "0ac1493ca1905853b0bba03e");
	assert_hex(s.hp, 16, "c206b8d9b9f0f37644430b490eeaa314");
	assert_int_equal(quic_initial_keys(0xff00001d, DCID, sizeof DCID, &c, &s), -1);
}

static void keys_of_rfc9369_a1(void **state)
{
	(void)state;
	struct quic_keys c, s;
	assert_int_equal(quic_initial_keys(QUIC_V2, DCID, sizeof DCID, &c, &s), 0);
	assert_hex(c.key, 16, "8b1a0bc121284290a29e0971b5cd045d");
	assert_hex(c.iv, 12, "91f73e2351d8fa91660e909f");
	assert_hex(c.hp, 16, "45b95e15235d6f45a6b19cbcb0294ba9");
	assert_hex(s.key, 16, "82db637861d55e1d011f19ea71d5d2a7");
	assert_hex(s.iv, 12, "dd13c276499c0249d3310652");
	assert_hex(s.hp, 16, "edf6d05c83121201b436e16877593c3a");
}

/* Opens a sample packet and checks its first header byte, packet number
 * and first payload bytes; returns the plaintext length. */
static int open_sample(u32 version, int server, const char *hex, u8 want_b0, u64 want_pn,
                       const char *want_start, const u8 **pl, u8 *buf)
{
	struct quic_keys k[2];
	u64 pn = 0;
	size_t n = unhex(hex, buf, 1500);
	assert_int_equal(quic_initial_keys(version, DCID, sizeof DCID, &k[0], &k[1]), 0);
	/* The other side's keys do not authenticate it. */
	u8 copy[1500];
	memcpy(copy, buf, n);
	assert_int_equal(quic_open(&k[!server], copy, n, 18, -1, pl, &pn), -1);
	int len = quic_open(&k[server], buf, n, 18, -1, pl, &pn);
	assert_true(len > 0);
	assert_int_equal(buf[0], want_b0);
	assert_int_equal(pn, want_pn);
	u8 w[64];
	size_t wn = unhex(want_start, w, sizeof w);
	assert_memory_equal(*pl, w, wn);
	return len;
}

static void client_initial_of_rfc9001_a2(void **state)
{
	(void)state;
	u8 buf[1500], crypto[300];
	const u8 *pl;
	/* Unprotected first byte c3: 4-byte packet number 2 (A.2). */
	int len = open_sample(QUIC_V1, 0, V1_CLIENT_INITIAL, 0xc3, 2, "060040f1010000ed0303", &pl, buf);
	assert_int_equal(len, 1162); /* CRYPTO and PADDING */
	size_t cn = unhex(CLIENT_CRYPTO, crypto, sizeof crypto);
	assert_memory_equal(pl, crypto, cn);
	for (int i = (int)cn; i < len; i++)
		assert_int_equal(pl[i], 0);
	/* Its ClientHello, read by the TLS parser. */
	struct flow f;
	struct tls_hello h;
	memset(&f, 0, sizeof f);
	assert_int_equal(tls_parse_hello(&f, pl + 4, cn - 4, &h), 1);
	assert_string_equal(names_get(f.name_id), "example.com");
	assert_string_equal(h.alpn, "alpn"); /* the sample offers a protocol named "alpn" */
	assert_int_equal(h.version, 0x0304);
	assert_int_equal(tls_parse_hello(&f, pl + 4, cn - 5, &h), 0); /* one byte short */
}

static void server_initial_of_rfc9001_a3(void **state)
{
	(void)state;
	u8 buf[1500];
	const u8 *pl;
	/* ACK, then CRYPTO with the ServerHello; packet number 1 on 2 bytes. */
	int len = open_sample(QUIC_V1, 1, V1_SERVER_INITIAL, 0xc1, 1, "02000000000600405a020000560303", &pl, buf);
	assert_int_equal(len, 99);
	struct flow f;
	struct tls_hello h;
	memset(&f, 0, sizeof f);
	assert_int_equal(tls_parse_hello(&f, pl + 9, (size_t)len - 9, &h), 2);
	assert_int_equal(h.version, 0x0304);
	assert_int_equal(h.hrr, 0);
}

static void initials_of_rfc9369_a2_a3(void **state)
{
	(void)state;
	u8 buf[1500], crypto[300];
	const u8 *pl;
	/* Version 2's Initial type bits are 01: d3 unprotected (A.2). */
	int len = open_sample(QUIC_V2, 0, V2_CLIENT_INITIAL, 0xd3, 2, "060040f1010000ed0303", &pl, buf);
	assert_int_equal(len, 1162);
	size_t cn = unhex(CLIENT_CRYPTO, crypto, sizeof crypto);
	assert_memory_equal(pl, crypto, cn);
	len = open_sample(QUIC_V2, 1, V2_SERVER_INITIAL, 0xd1, 1, "02000000000600405a020000560303", &pl, buf);
	assert_int_equal(len, 99);
}

static void retries_of_rfc9001_a4_rfc9369_a4(void **state)
{
	(void)state;
	u8 r1[64], r2[64];
	size_t n1 = unhex(V1_RETRY, r1, sizeof r1), n2 = unhex(V2_RETRY, r2, sizeof r2);
	assert_int_equal(quic_retry_valid(QUIC_V1, r1, n1, DCID, sizeof DCID), 1);
	assert_int_equal(quic_retry_valid(QUIC_V2, r2, n2, DCID, sizeof DCID), 1);
	assert_int_equal(quic_retry_valid(QUIC_V2, r1, n1, DCID, sizeof DCID), 0); /* wrong version's key */
	assert_int_equal(quic_retry_valid(QUIC_V1, r1, n1, DCID, 7), 0);           /* another original DCID */
	r1[n1 - 1] ^= 1;
	assert_int_equal(quic_retry_valid(QUIC_V1, r1, n1, DCID, sizeof DCID), 0); /* tag tampered */
}

/* ---- sealing, as a client or server would, for the flows below ---- */

static int seal_grease; /* clear the fixed bit, as RFC 9287 lets a peer do */

/* An Initial of version ver from the given side, to dcid from scid,
 * protected with the keys of key_cid: 4-byte packet number pn, payload
 * pl[n] padded with PADDING to pad bytes. Returns the packet length. */
static size_t seal(u8 *out, u32 ver, int server, const u8 *dcid, u8 dl, const u8 *scid, u8 sl,
                   const u8 *key_cid, u8 kl, u32 pn, const u8 *pl, size_t n, size_t pad)
{
	struct quic_keys k[2];
	assert_int_equal(quic_initial_keys(ver, key_cid, kl, &k[0], &k[1]), 0);
	const struct quic_keys *key = &k[server];
	size_t pn_len = 4, o = 0, pln = MAX(n, pad);
	out[o++] = (u8)((seal_grease ? 0x80 : 0xc0) | (ver == QUIC_V2 ? 1 : 0) << 4 | (pn_len - 1));
	put32(out + o, ver), o += 4;
	out[o++] = dl;
	if (dl)
		memcpy(out + o, dcid, dl), o += dl;
	out[o++] = sl;
	if (sl)
		memcpy(out + o, scid, sl), o += sl;
	out[o++] = 0; /* no token */
	put16(out + o, (u16)(0x4000 | (pn_len + pln + 16))), o += 2;
	size_t pn_off = o;
	put32(out + o, pn), o += 4;
	u8 plain[1500] = { 0 };
	memcpy(plain, pl, n);
	u8 nonce[12];
	memcpy(nonce, key->iv, 12);
	for (int i = 0; i < 4; i++)
		nonce[11 - i] ^= (u8)(pn >> (8 * i));
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int l = 0;
	assert_int_equal(EVP_EncryptInit_ex(c, EVP_aes_128_gcm(), NULL, key->key, nonce), 1);
	assert_int_equal(EVP_EncryptUpdate(c, NULL, &l, out, (int)o), 1);
	assert_int_equal(EVP_EncryptUpdate(c, out + o, &l, plain, (int)pln), 1);
	assert_int_equal(EVP_EncryptFinal_ex(c, out + o + pln, &l), 1);
	assert_int_equal(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, out + o + pln), 1);
	EVP_CIPHER_CTX_free(c);
	size_t total = o + pln + 16;
	u8 mask[16];
	c = EVP_CIPHER_CTX_new();
	assert_int_equal(EVP_EncryptInit_ex(c, EVP_aes_128_ecb(), NULL, key->hp, NULL), 1);
	assert_int_equal(EVP_EncryptUpdate(c, mask, &l, out + pn_off + 4, 16), 1);
	EVP_CIPHER_CTX_free(c);
	out[0] ^= mask[0] & 0x0f;
	for (size_t i = 0; i < pn_len; i++)
		out[pn_off + i] ^= mask[1 + i];
	return total;
}

static void sealing_reproduces_rfc9001_a2(void **state)
{
	(void)state;
	u8 crypto[300], out[1500], want[1500];
	size_t cn = unhex(CLIENT_CRYPTO, crypto, sizeof crypto);
	size_t n = seal(out, QUIC_V1, 0, DCID, 8, NULL, 0, DCID, 8, 2, crypto, cn, 1162);
	assert_int_equal(n, unhex(V1_CLIENT_INITIAL, want, sizeof want));
	assert_memory_equal(out, want, n);
}

/* ---- whole flows through the pipeline ---- */

#define CLI "192.0.2.10"
#define SRV "198.51.100.7"
static const u8 SCID[8] = { 0xf0, 0x67, 0xa5, 0x50, 0x2a, 0x42, 0x62, 0xb5 };

static void send_udp(const char *src, u16 sp, const char *dst, u16 dp, const u8 *p, size_t n, u64 at)
{
	struct tframe f;
	t_udp(&f, src, sp, dst, dp, p, (u32)n, 64);
	t_feed(&f, at);
}

static void client_initial_from(u16 port, u64 at)
{
	u8 b[1500];
	size_t n = unhex(V1_CLIENT_INITIAL, b, sizeof b);
	send_udp(CLI, port, SRV, 443, b, n, at);
}

static void client_initial(u64 at) { client_initial_from(50000, at); }

static const struct group_stats *group_of(const char *g)
{
	const struct group_stats *gs = findings_group_find(g);
	assert_non_null(gs);
	return gs;
}

static void handshake_is_named_and_counted(void **state)
{
	(void)state;
	u8 b[1500];
	client_initial(T0);
	size_t n = unhex(V1_SERVER_INITIAL, b, sizeof b);
	send_udp(SRV, 443, CLI, 50000, b, n, T0 + 20000);
	pipeline_file_end();
	const struct quic_stats *qs = quic_stats();
	assert_int_equal(qs->client_initials, 1);
	assert_int_equal(qs->server_initials, 1);
	assert_int_equal(qs->client_hellos, 1);
	assert_int_equal(qs->server_hellos, 1);
	assert_int_equal(qs->server_names, 1);
	assert_int_equal(qs->opened, 2);
	assert_int_equal(findings_count(), 0);
	const struct group_stats *g = group_of("example.com");
	assert_int_equal(g->seen[CAT_QUIC], 1);
	assert_int_equal(g->failed[CAT_QUIC], 0);
	assert_int_equal(tls_stats()->client_hellos, 0); /* TLS over TCP counts apart */
}

static void greased_fixed_bit_is_still_quic(void **state)
{
	(void)state;
	u8 out[1500], sh[200];
	/* The server's Initial of RFC 9001 A.3, its fixed bit cleared (RFC 9287). */
	size_t n = unhex("02000000000600405a020000560303eefce7f7b37ba1d1632e96677825ddf73988cfc79825df566dc5430b9a045a1200130100002e00330024001d00209d3c940d89690b84d08a60993c144eca684d1081287c834d5311bcf32bb9da1a002b00020304", sh, sizeof sh);
	client_initial(T0);
	seal_grease = 1;
	size_t m = seal(out, QUIC_V1, 1, NULL, 0, SCID, 8, DCID, 8, 1, sh, n, 0);
	seal_grease = 0;
	assert_int_equal(out[0] & 0x40, 0);
	send_udp(SRV, 443, CLI, 50000, out, m, T0 + 20000);
	pipeline_file_end();
	assert_int_equal(quic_stats()->server_initials, 1);
	assert_int_equal(quic_stats()->server_hellos, 1);
	assert_int_equal(group_of("example.com")->seen[CAT_QUIC], 1);
	assert_int_equal(group_of("example.com")->failed[CAT_QUIC], 0);
}

/* A ServerHello whose only extensions are supported_versions (TLS 1.3) and
 * key_share, as a handshake message (a HelloRetryRequest when hrr); returns
 * its length. */
static size_t server_hello(u8 *m, int hrr)
{
	static const u8 hrr_random[32] = {
		0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
		0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
	}; /* RFC 8446 section 4.1.3 */
	size_t o = 4;
	m[o++] = 3, m[o++] = 3;
	if (hrr)
		memcpy(m + o, hrr_random, 32);
	else
		memset(m + o, 0x42, 32);
	o += 32;
	m[o++] = 0, m[o++] = 0x13, m[o++] = 0x01, m[o++] = 0;
	static const u8 ext[] = { 0, 12, 0, 43, 0, 2, 3, 4, 0, 51, 0, 2, 0, 23 };
	memcpy(m + o, ext, sizeof ext), o += sizeof ext;
	m[0] = 2, m[1] = 0, put16(m + 2, (u16)(o - 4));
	return o;
}

static void hello_retry_request_then_server_hello(void **state)
{
	(void)state;
	u8 hrr[128], sh[128], pl[400], out[1500];
	size_t hn = server_hello(hrr, 1), sn = server_hello(sh, 0), o;
	client_initial(T0);
	/* The HelloRetryRequest at CRYPTO offset 0; the ServerHello after it. */
	o = 0;
	pl[o++] = 0x06, pl[o++] = 0x00, pl[o++] = (u8)hn;
	memcpy(pl + o, hrr, hn), o += hn;
	size_t n = seal(out, QUIC_V1, 1, NULL, 0, SCID, 8, DCID, 8, 0, pl, o, 0);
	send_udp(SRV, 443, CLI, 50000, out, n, T0 + 10000);
	assert_int_equal(quic_stats()->server_hellos, 1);
	o = 0;
	pl[o++] = 0x06, pl[o++] = (u8)hn, pl[o++] = (u8)sn;
	memcpy(pl + o, sh, sn), o += sn;
	n = seal(out, QUIC_V1, 1, NULL, 0, SCID, 8, DCID, 8, 1, pl, o, 0);
	send_udp(SRV, 443, CLI, 50000, out, n, T0 + 30000);
	assert_int_equal(quic_stats()->server_hellos, 2);
	/* Both in one frame, on another connection. */
	client_initial_from(50002, T0 + 40000);
	o = 0;
	pl[o++] = 0x06, pl[o++] = 0x00, pl[o++] = 0x40, pl[o++] = (u8)(hn + sn);
	memcpy(pl + o, hrr, hn), o += hn;
	memcpy(pl + o, sh, sn), o += sn;
	n = seal(out, QUIC_V1, 1, NULL, 0, SCID, 8, DCID, 8, 0, pl, o, 0);
	send_udp(SRV, 443, CLI, 50002, out, n, T0 + 50000);
	assert_int_equal(quic_stats()->server_hellos, 4);
	pipeline_file_end();
	assert_int_equal(group_of("example.com")->seen[CAT_QUIC], 2);
	assert_int_equal(group_of("example.com")->failed[CAT_QUIC], 0);
}

static void split_client_hello_is_reassembled(void **state)
{
	(void)state;
	u8 crypto[300], pl[300], out[1500];
	size_t cn = unhex(CLIENT_CRYPTO, crypto, sizeof crypto);
	const u8 *ch = crypto + 4; /* the ClientHello, 241 bytes */
	size_t chn = cn - 4, cut = 100;
	/* Second part first: CRYPTO offset 100, then offset 0 (as Chromium does). */
	size_t o = 0;
	pl[o++] = 0x06, pl[o++] = 0x40, pl[o++] = (u8)cut, pl[o++] = 0x40, pl[o++] = (u8)(chn - cut);
	memcpy(pl + o, ch + cut, chn - cut), o += chn - cut;
	size_t n = seal(out, QUIC_V1, 0, DCID, 8, NULL, 0, DCID, 8, 0, pl, o, 1162);
	send_udp(CLI, 50001, SRV, 443, out, n, T0);
	assert_int_equal(quic_stats()->client_hellos, 0);
	o = 0;
	pl[o++] = 0x06, pl[o++] = 0x00, pl[o++] = 0x40, pl[o++] = (u8)cut;
	memcpy(pl + o, ch, cut), o += cut;
	n = seal(out, QUIC_V1, 0, DCID, 8, NULL, 0, DCID, 8, 1, pl, o, 1162);
	send_udp(CLI, 50001, SRV, 443, out, n, T0 + 1000);
	assert_int_equal(quic_stats()->client_hellos, 1);
	assert_int_equal(quic_stats()->client_initials, 2);
	assert_int_equal(quic_stats()->opened, 2);
	assert_int_equal(quic_stats()->server_names, 1);
}

static void silence_is_quic_timeout(void **state)
{
	(void)state;
	client_initial(T0);
	client_initial(T0 + SEC);
	/* Another flow moves the clock past the timeout. */
	u8 x[4] = { 1, 2, 3, 4 };
	send_udp(CLI, 40000, "203.0.113.9", 9999, x, 4, T0 + 30 * SEC);
	pipeline_file_end();
	const struct finding *f = t_find(K_QUIC_TIMEOUT, 0);
	assert_non_null(f);
	assert_int_equal(f->cat, CAT_QUIC);
	assert_string_equal(f->name, "example.com");
	assert_int_equal(json_integer_value(json_object_get(t_detail(f), "retries")), 1);
	assert_string_equal(json_string_value(json_object_get(t_detail(f), "stage")), "no_answer");
	assert_string_equal(json_string_value(json_object_get(t_detail(f), "version")), "0x00000001");
	assert_int_equal(group_of("example.com")->failed[CAT_QUIC], 1);
}

static void a_short_capture_is_not_a_timeout(void **state)
{
	(void)state;
	client_initial(T0);
	pipeline_file_end(); /* ends 0 s later: nothing is known yet */
	assert_int_equal(findings_count(), 0);
	assert_null(findings_group_find("example.com"));
}

static void server_alert_is_quic_close(void **state)
{
	(void)state;
	u8 out[1500];
	/* CONNECTION_CLOSE 0x1c, CRYPTO_ERROR 0x100 + 120 (no_application_protocol),
	 * frame type CRYPTO, reason "no h3". */
	u8 cc[] = { 0x1c, 0x41, 0x78, 0x06, 0x05, 'n', 'o', ' ', 'h', '3' };
	client_initial(T0);
	size_t n = seal(out, QUIC_V1, 1, NULL, 0, SCID, 8, DCID, 8, 0, cc, sizeof cc, 0);
	send_udp(SRV, 443, CLI, 50000, out, n, T0 + 30000);
	const struct finding *f = t_find(K_QUIC_CLOSE, 0);
	assert_non_null(f);
	assert_int_equal(f->origin, O_SERVER);
	assert_int_equal(f->frame, 2);
	assert_int_equal(json_integer_value(json_object_get(t_detail(f), "error_code")), 0x178);
	assert_int_equal(json_integer_value(json_object_get(t_detail(f), "alert")), 120);
	assert_string_equal(json_string_value(json_object_get(t_detail(f), "alert_name")), "no_application_protocol");
	assert_string_equal(json_string_value(json_object_get(t_detail(f), "error_name")), "CRYPTO_ERROR");
	assert_string_equal(json_string_value(json_object_get(t_detail(f), "reason_phrase")), "no h3");
	assert_string_equal(json_string_value(json_object_get(t_detail(f), "sender")), "server");
	assert_int_equal(quic_stats()->connection_closes, 1);
	pipeline_file_end();
	assert_int_equal(t_count(K_QUIC_CLOSE), 1);
	assert_int_equal(t_count(K_QUIC_TIMEOUT), 0);
	assert_int_equal(group_of("example.com")->failed[CAT_QUIC], 1);
}

static void version_negotiation_without_common_version(void **state)
{
	(void)state;
	/* VN: long header, version 0, DCID = the client's SCID (none), SCID =
	 * its DCID, then the versions: a draft and a reserved one. */
	u8 vn[64];
	size_t o = 0;
	vn[o++] = 0xc5;
	put32(vn + o, 0), o += 4;
	vn[o++] = 0;
	vn[o++] = 8, memcpy(vn + o, DCID, 8), o += 8;
	put32(vn + o, 0xff00001d), o += 4;
	put32(vn + o, 0x1a2a3a4a), o += 4;
	client_initial(T0);
	send_udp(SRV, 443, CLI, 50000, vn, o, T0 + 10000);
	pipeline_file_end();
	const struct finding *f = t_find(K_QUIC_VERSION, 0);
	assert_non_null(f);
	assert_string_equal(json_string_value(json_object_get(t_detail(f), "offered")), "0x00000001");
	json_t *sup = json_object_get(t_detail(f), "supported");
	assert_int_equal(json_array_size(sup), 2);
	assert_string_equal(json_string_value(json_array_get(sup, 0)), "0xff00001d");
	assert_int_equal(quic_stats()->version_negotiations, 1);
	assert_int_equal(group_of("example.com")->failed[CAT_QUIC], 1);
}

static void retry_changes_the_keys(void **state)
{
	(void)state;
	u8 r[64], crypto[300], out[1500];
	size_t rn = unhex(V1_RETRY, r, sizeof r), cn = unhex(CLIENT_CRYPTO, crypto, sizeof crypto);
	client_initial(T0);
	send_udp(SRV, 443, CLI, 50000, r, rn, T0 + 10000);
	assert_int_equal(quic_stats()->retries, 1);
	/* The client starts over toward the Retry's SCID, with keys derived
	 * from it; packets under the old keys no longer open. */
	size_t n = seal(out, QUIC_V1, 0, SCID, 8, NULL, 0, SCID, 8, 0, crypto, cn, 1162);
	send_udp(CLI, 50000, SRV, 443, out, n, T0 + 20000);
	assert_int_equal(quic_stats()->opened, 2);
	assert_int_equal(quic_stats()->client_hellos, 2);
	n = seal(out, QUIC_V1, 0, SCID, 8, NULL, 0, DCID, 8, 1, crypto, cn, 1162);
	send_udp(CLI, 50000, SRV, 443, out, n, T0 + 30000);
	assert_int_equal(quic_stats()->open_failed, 1);
}

static void reassembly_buffers_are_capped(void **state)
{
	(void)state;
	u8 pl[64] = { 0x06, 0x40, 100, 10 }, out[1500]; /* CRYPTO at offset 100: the hello's start never comes */
	size_t n = seal(out, QUIC_V1, 0, DCID, 8, NULL, 0, DCID, 8, 0, pl, 14, 1162);
	for (u32 i = 0; i < QUIC_REASM_MAX + 10; i++) {
		char cli[32];
		snprintf(cli, sizeof cli, "10.%u.%u.%u", (i >> 16) & 255, (i >> 8) & 255, i & 255);
		send_udp(cli, 40000, SRV, 443, out, n, T0 + i);
	}
	assert_int_equal(quic_stats()->opened, QUIC_REASM_MAX + 10);
	assert_int_equal(quic_stats()->reasm_full, 10);
	pipeline_file_end(); /* every buffer freed with its flow (LeakSanitizer checks) */
}

static void hostile_datagrams_do_not_crash(void **state)
{
	(void)state;
	u8 b[1500], m[1500];
	size_t n = unhex(V1_CLIENT_INITIAL, b, sizeof b);
	/* Every truncation, and bytes flipped through the header. */
	for (size_t k = 0; k <= n; k += 7)
		send_udp(CLI, (u16)(20000 + k), SRV, 443, b, k, T0 + k);
	for (size_t i = 0; i < 64; i++) {
		memcpy(m, b, n);
		m[i] ^= 0xff;
		send_udp(CLI, (u16)(30000 + i), SRV, 443, m, n, T0 + i);
		send_udp(SRV, 443, CLI, (u16)(30000 + i), m, n, T0 + i + 1);
	}
	/* Random bytes with a long header's first byte. */
	srand(1);
	for (int i = 0; i < 200; i++) {
		for (size_t j = 0; j < 300; j++)
			m[j] = (u8)rand();
		m[0] |= 0xc0;
		put32(m + 1, i & 1 ? QUIC_V1 : QUIC_V2);
		send_udp(CLI, (u16)(40000 + i), SRV, 443, m, 300, T0 + (u64)i);
		send_udp(SRV, 443, CLI, (u16)(40000 + i), m, 300, T0 + (u64)i);
	}
	pipeline_file_end();
	assert_true(quic_stats()->client_initials > 0);
}

static void detect_needs_a_long_header_of_a_known_version(void **state)
{
	(void)state;
	u8 b[1500];
	size_t n = unhex(V1_CLIENT_INITIAL, b, sizeof b);
	assert_int_equal(quic_detect(b, (u32)n, 4433), 1);
	assert_int_equal(quic_detect(b, 6, 443), 0);
	u8 dns[12] = { 0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0 };
	assert_int_equal(quic_detect(dns, sizeof dns, 443), 0);
	put32(b + 1, 0x10010000); /* unknown version: only a padded first flight to 443 */
	assert_int_equal(quic_detect(b, (u32)n, 443), 1);
	assert_int_equal(quic_detect(b, 87, 443), 0);
	assert_int_equal(quic_detect(b, (u32)n, 4433), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(keys_of_rfc9001_a1, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(keys_of_rfc9369_a1, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(client_initial_of_rfc9001_a2, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(server_initial_of_rfc9001_a3, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(initials_of_rfc9369_a2_a3, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(retries_of_rfc9001_a4_rfc9369_a4, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(sealing_reproduces_rfc9001_a2, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(handshake_is_named_and_counted, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(greased_fixed_bit_is_still_quic, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(split_client_hello_is_reassembled, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(hello_retry_request_then_server_hello, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(silence_is_quic_timeout, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(a_short_capture_is_not_a_timeout, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(server_alert_is_quic_close, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(version_negotiation_without_common_version, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(retry_changes_the_keys, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(reassembly_buffers_are_capped, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(hostile_datagrams_do_not_crash, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(detect_needs_a_long_header_of_a_known_version, t_setup, t_teardown),
	};
	return cmocka_run_group_tests_name("quic", tests, NULL, NULL);
}
