/* \summary: shared by the fuzz targets: a pipeline set up with small caps,
 * and a builder that wraps fuzzer bytes into TCP/UDP frames of one flow. */
#ifndef PANNE_FUZZ_COMMON_H
#define PANNE_FUZZ_COMMON_H

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "panne/capture.h"
#include "panne/decode.h"
#include "panne/opts.h"
#include "panne/pipeline.h"
#include "panne/services.h"

int LLVMFuzzerTestOneInput(const u8 *data, size_t size);

static inline void fz_start(void)
{
	char err[256];
	static int services_ready;
	opts_defaults(&g_opts);
	g_opts.scope = SCOPE_ALL;
	g_opts.flow_cap = 256;
	g_opts.dns_txn_cap = 256;
	g_opts.findings_cap = 1000;
	if (!services_ready) {
		if (services_init(NULL, err, sizeof err) < 0)
			abort();
		services_ready = 1;
	}
	if (pipeline_init(err, sizeof err) < 0)
		abort();
}

static inline void fz_end(void)
{
	pipeline_file_end();
	pipeline_finish();
	pipeline_reset();
}

/* Sends each chunk of data as one segment of a single conversation on port
 * (TCP or UDP); a chunk is [len:1][flags:1][bytes], the flag's low bit
 * picking the direction and the rest some TCP flags. Sequence numbers follow
 * so reassembly makes progress. */
static inline void fz_conversation(const u8 *data, size_t size, int tcp, u16 port)
{
	static u8 fr[2048];
	u32 seq[2] = { 1000, 90000 };
	u64 ts = 1700000000000000ull;
	u32 frame = 0;
	int first = 1;
	while (size >= 2) {
		u32 n = data[0];
		u8 fl = data[1];
		data += 2, size -= 2;
		if (n > size)
			n = (u32)size;
		int dir = fl & 1;
		const char *src = dir ? "198.51.100.10" : "192.168.1.10";
		const char *dst = dir ? "192.168.1.10" : "198.51.100.10";
		u16 sp = dir ? port : 40000, dp = dir ? 40000 : port;
		u32 l4 = tcp ? 20 : 8;
		memset(fr, 0, 34 + l4);
		fr[12] = 0x08;
		u8 *ip = fr + 14;
		ip[0] = 0x45;
		ip[2] = (u8)((20 + l4 + n) >> 8), ip[3] = (u8)(20 + l4 + n);
		ip[8] = dir ? 57 : 64;
		ip[9] = tcp ? 6 : 17;
		inet_pton(AF_INET, src, ip + 12);
		inet_pton(AF_INET, dst, ip + 16);
		u8 *l = ip + 20;
		l[0] = (u8)(sp >> 8), l[1] = (u8)sp, l[2] = (u8)(dp >> 8), l[3] = (u8)dp;
		if (tcp) {
			u8 flags = first ? 0x02 : (u8)(0x10 | ((fl >> 1) & 0x0d));
			u32 s = seq[dir] - (fl & 0x80 ? n : 0); /* sometimes a retransmission */
			l[4] = (u8)(s >> 24), l[5] = (u8)(s >> 16), l[6] = (u8)(s >> 8), l[7] = (u8)s;
			l[12] = 5 << 4;
			l[13] = flags;
			if (!(fl & 0x80))
				seq[dir] += n + (first ? 1 : 0);
		} else {
			l[4] = (u8)((8 + n) >> 8), l[5] = (u8)(8 + n);
		}
		memcpy(l + l4, data, n);
		struct cap_pkt cp = { .data = fr, .caplen = 34 + l4 + n, .len = 34 + l4 + n,
			              .ts_us = ts, .linktype = 1, .frame = ++frame, .file = 0 };
		pipeline_packet(NULL, &cp);
		ts += (fl & 0x40) ? 7000000 : 1000;
		data += n, size -= n;
		first = 0;
	}
}

#endif
