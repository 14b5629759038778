/* \summary: helpers for unit tests: build Ethernet/IPv4/IPv6/TCP/UDP frames
 * by hand and push them through the pipeline or the decoder. */
#ifndef PANNE_TESTUTIL_H
#define PANNE_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <arpa/inet.h>

#include "panne/capture.h"
#include "panne/decode.h"
#include "panne/diagnose.h"
#include "panne/findings.h"
#include "panne/opts.h"
#include "panne/pipeline.h"
#include "panne/services.h"
#include "panne/dns.h"
#include "panne/util.h"

struct tframe {
	u8 b[4096];
	u32 n;
};

static inline void put16(u8 *p, u16 v) { p[0] = (u8)(v >> 8); p[1] = (u8)v; }
static inline void put32(u8 *p, u32 v) { put16(p, (u16)(v >> 16)); put16(p + 2, (u16)v); }

/* Ethernet + IPv4 header (no options) for proto, returns the L4 offset. */
static inline u32 t_eth_ip4(struct tframe *f, const char *src, const char *dst, u8 proto, u8 ttl,
                            u32 l4len)
{
	memset(f->b, 0, 34);
	put16(f->b + 12, 0x0800);
	u8 *ip = f->b + 14;
	ip[0] = 0x45;
	put16(ip + 2, (u16)(20 + l4len));
	put16(ip + 4, 0x1234);
	ip[8] = ttl;
	ip[9] = proto;
	inet_pton(AF_INET, src, ip + 12);
	inet_pton(AF_INET, dst, ip + 16);
	f->n = 34 + l4len;
	return 34;
}

static inline void t_udp(struct tframe *f, const char *src, u16 sp, const char *dst, u16 dp,
                         const void *pl, u32 n, u8 ttl)
{
	u32 o = t_eth_ip4(f, src, dst, 17, ttl, 8 + n);
	put16(f->b + o, sp);
	put16(f->b + o + 2, dp);
	put16(f->b + o + 4, (u16)(8 + n));
	put16(f->b + o + 6, 0);
	memcpy(f->b + o + 8, pl, n);
}

static inline void t_tcp(struct tframe *f, const char *src, u16 sp, const char *dst, u16 dp,
                         u32 seq, u32 ack, u8 flags, const void *pl, u32 n, u8 ttl)
{
	u32 o = t_eth_ip4(f, src, dst, 6, ttl, 20 + n);
	memset(f->b + o, 0, 20);
	put16(f->b + o, sp);
	put16(f->b + o + 2, dp);
	put32(f->b + o + 4, seq);
	put32(f->b + o + 8, ack);
	f->b[o + 12] = 5 << 4;
	f->b[o + 13] = flags;
	put16(f->b + o + 14, 65535);
	if (n)
		memcpy(f->b + o + 20, pl, n);
}

/* Test clock and frame counter for pipeline-level tests. */
static u32 t_frame;

static inline void t_feed(const struct tframe *f, u64 at_us)
{
	struct cap_pkt cp = { .data = f->b, .caplen = f->n, .len = f->n, .ts_us = at_us,
		              .linktype = 1, .frame = ++t_frame, .file = 0 };
	pipeline_packet(NULL, &cp);
}

static inline int t_setup(void **state)
{
	char err[256];
	(void)state;
	opts_defaults(&g_opts);
	g_opts.scope = SCOPE_ALL;
	assert_int_equal(services_init(NULL, err, sizeof err), 0);
	assert_int_equal(pipeline_init(err, sizeof err), 0);
	t_frame = 0;
	return 0;
}

static inline int t_teardown(void **state)
{
	(void)state;
	pipeline_reset();
	services_reset();
	return 0;
}

/* A stored finding's detail as a tree (the store keeps it as text), alive
 * for the next 255 calls: t_detail(f) reads as f->detail did. */
static inline json_t *t_detail(const struct finding *f)
{
	static json_t *ring[256];
	static unsigned at;
	if (!f)
		return NULL;
	json_decref(ring[at % 256]);
	return ring[at++ % 256] = finding_detail(f);
}

/* The i-th finding of a kind, or NULL. */
static inline const struct finding *t_find(int kind, int nth)
{
	for (size_t i = 0; i < findings_count(); i++) {
		const struct finding *f = findings_get(i);
		if (f->kind == kind && nth-- == 0)
			return f;
	}
	return NULL;
}

static inline size_t t_count(int kind)
{
	size_t n = 0;
	for (size_t i = 0; i < findings_count(); i++)
		n += findings_get(i)->kind == kind;
	return n;
}

/* A DNS message: header, one question, and answers of type A (addrs). */
static inline u32 t_dns(u8 *b, u16 id, int response, u8 rcode, const char *qname, u16 qtype,
                        const char **addrs, int naddr)
{
	u32 o = 12;
	memset(b, 0, 12);
	put16(b, id);
	put16(b + 2, (u16)(response ? 0x8180 | rcode : 0x0100));
	put16(b + 4, 1);
	put16(b + 6, (u16)naddr);
	const char *p = qname;
	while (*p) {
		const char *dot = strchr(p, '.');
		u32 l = dot ? (u32)(dot - p) : (u32)strlen(p);
		b[o++] = (u8)l;
		memcpy(b + o, p, l);
		o += l;
		p += l + (dot ? 1 : 0);
	}
	b[o++] = 0;
	put16(b + o, qtype);
	put16(b + o + 2, 1);
	o += 4;
	for (int i = 0; i < naddr; i++) {
		b[o++] = 0xc0;
		b[o++] = 12;
		put16(b + o, 1);
		put16(b + o + 2, 1);
		put32(b + o + 4, 300);
		put16(b + o + 8, 4);
		inet_pton(AF_INET, addrs[i], b + o + 10);
		o += 14;
	}
	return o;
}

#endif
