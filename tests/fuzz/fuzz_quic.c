/* \summary: fuzz target: bytes as the client's and server's datagrams of
 * one QUIC flow, fed to quic_feed() directly, then quic_flow_end(). Chunks
 * are [len:2][flags:1][bytes]: flags bit 0 from the server; bit 1 the bytes
 * are the frames of an Initial that the target seals itself with the
 * flow's keys (so the frame parser and the CRYPTO reassembly behind the
 * AEAD are reached), bit 2 in version 2 rather than 1; bit 6 seven seconds
 * later. The first datagram names the connection ID the keys derive from
 * when it is not sealed. */
#include <openssl/evp.h>

#include "fuzz_common.h"
#include "panne/flow.h"
#include "panne/quic.h"
#include "panne/util.h"

static const u8 FZ_DCID[8] = { 0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08 };

/* An Initial carrying frames pl[n] (padded to 1162 bytes from the
 * client), protected as RFC 9001 section 5 says. Returns its length. */
static size_t fz_seal(u8 *out, u32 ver, int server, u32 pn, const u8 *pl, size_t n)
{
	struct quic_keys k[2];
	u8 plain[1400] = { 0 };
	size_t pln = n > sizeof plain ? sizeof plain : n, o = 0;
	if (!server && pln < 1162)
		pln = 1162;
	else if (pln < 20)
		pln = 20;
	memcpy(plain, pl, n < sizeof plain ? n : sizeof plain);
	if (quic_initial_keys(ver, FZ_DCID, 8, &k[0], &k[1]) < 0)
		return 0;
	const struct quic_keys *key = &k[server];
	out[o++] = (u8)(0xc3 | (ver == QUIC_V2 ? 0x10 : 0));
	out[o++] = (u8)(ver >> 24), out[o++] = (u8)(ver >> 16), out[o++] = (u8)(ver >> 8), out[o++] = (u8)ver;
	if (server) {
		out[o++] = 0;
		out[o++] = 8, memcpy(out + o, FZ_DCID, 8), o += 8;
	} else {
		out[o++] = 8, memcpy(out + o, FZ_DCID, 8), o += 8;
		out[o++] = 0;
	}
	out[o++] = 0;
	size_t len = 4 + pln + 16;
	out[o++] = (u8)(0x40 | len >> 8), out[o++] = (u8)len;
	size_t pn_off = o;
	out[o++] = (u8)(pn >> 24), out[o++] = (u8)(pn >> 16), out[o++] = (u8)(pn >> 8), out[o++] = (u8)pn;
	u8 nonce[12];
	memcpy(nonce, key->iv, 12);
	for (int i = 0; i < 4; i++)
		nonce[11 - i] ^= (u8)(pn >> (8 * i));
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int l = 0;
	EVP_EncryptInit_ex(c, EVP_aes_128_gcm(), NULL, key->key, nonce);
	EVP_EncryptUpdate(c, NULL, &l, out, (int)o);
	EVP_EncryptUpdate(c, out + o, &l, plain, (int)pln);
	EVP_EncryptFinal_ex(c, out + o + pln, &l);
	EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, out + o + pln);
	EVP_CIPHER_CTX_free(c);
	u8 mask[32];
	c = EVP_CIPHER_CTX_new();
	EVP_EncryptInit_ex(c, EVP_aes_128_ecb(), NULL, key->hp, NULL);
	EVP_EncryptUpdate(c, mask, &l, out + pn_off + 4, 16);
	EVP_CIPHER_CTX_free(c);
	out[0] ^= mask[0] & 0x0f;
	for (int i = 0; i < 4; i++)
		out[pn_off + i] ^= mask[1 + i];
	return o + pln + 16;
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	static struct flow f;
	static u8 sealed[1600];
	struct packet pk;
	u64 ts = 1700000000000000ull;
	u32 frame = 0, pn[2] = { 0, 0 };

	fz_start();
	memset(&f, 0, sizeof f);
	addr_parse("192.168.1.10", &f.cli);
	addr_parse("198.51.100.10", &f.srv);
	f.cport = 40000;
	f.sport = 443;
	f.proto = IPPROTO_UDP_;
	f.in_use = 1;
	f.app = APP_QUIC;
	f.first_us = ts;
	while (size >= 3) {
		u32 n = (u32)data[0] << 8 | data[1];
		u8 fl = data[2];
		int dir = fl & 1;
		data += 3, size -= 3;
		if (n > size)
			n = (u32)size;
		memset(&pk, 0, sizeof pk);
		pk.ts_us = ts;
		pk.frame = ++frame;
		pk.ipver = 4;
		pk.proto = IPPROTO_UDP_;
		pk.ttl = dir ? 57 : 64;
		pk.l4_ok = 1;
		pk.pl = data; /* the fuzzer's own buffer: overreads are caught */
		pk.pl_len = pk.pl_wire = n;
		if (fl & 0x02) {
			size_t sn = fz_seal(sealed, (fl & 0x04) ? QUIC_V2 : QUIC_V1, dir, pn[dir]++, data, n);
			pk.pl = sealed;
			pk.pl_len = pk.pl_wire = (u32)sn;
		}
		if (!f.app_done && pk.pl_len)
			quic_feed(&f, dir, &pk);
		f.last_us = ts;
		ts += (fl & 0x40) ? 7000000 : 1000;
		data += n, size -= n;
	}
	quic_flow_end(&f, ts + 11000000);
	fz_end();
	return 0;
}
