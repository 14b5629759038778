/* \summary: fuzz target: bytes as client and server segments of one TLS
 * flow, fed to tls_feed() directly, then tls_flow_end(). Chunks are
 * [len:1][flags:1][bytes] as in fuzz_common.h; flags: bit 0 from the
 * server, bit 7 a resend of earlier bytes, bit 6 seven seconds later, bit 5
 * a gap before it, bit 4 cut by the snapshot length, bit 3 the flow ends
 * reset, bit 2 (first chunk only) the SYN and SYN-ACK were seen. */
#include "fuzz_common.h"
#include "panne/flow.h"
#include "panne/tls.h"
#include "panne/util.h"

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	static struct flow f;
	struct packet pk;
	u32 seq[2] = { 1001, 90001 };
	u64 ts = 1700000000000000ull;
	u32 frame = 0;
	int reset = 0, first = 1;

	fz_start();
	memset(&f, 0, sizeof f);
	addr_parse("192.168.1.10", &f.cli);
	addr_parse("198.51.100.10", &f.srv);
	f.cport = 40000;
	f.sport = 443;
	f.proto = IPPROTO_TCP_;
	f.in_use = 1;
	f.app = APP_TLS;
	f.tcp_state = TCPS_ESTABLISHED;
	while (size >= 2) {
		u32 n = data[0];
		u8 fl = data[1];
		int dir = fl & 1;
		data += 2, size -= 2;
		if (n > size)
			n = (u32)size;
		if (first && (fl & 0x04)) {
			f.syn_count = 1;
			f.synack_frame = 2;
			f.side[DIR_C2S].seq_valid = f.side[DIR_S2C].seq_valid = 1;
			f.side[DIR_C2S].isn = seq[DIR_C2S] - 1;
			f.side[DIR_S2C].isn = seq[DIR_S2C] - 1;
		}
		first = 0;
		if (fl & 0x20)
			seq[dir] += 1 + (n & 7);
		memset(&pk, 0, sizeof pk);
		pk.ts_us = ts;
		pk.frame = ++frame;
		pk.ipver = 4;
		pk.proto = IPPROTO_TCP_;
		pk.ttl = dir ? 57 : 64;
		pk.tcp_flags = TH_ACK | TH_PSH;
		pk.seq = seq[dir] - ((fl & 0x80) ? n : 0);
		pk.l4_ok = 1;
		pk.pl = data; /* the fuzzer's own buffer: overreads are caught */
		pk.pl_len = n;
		pk.pl_wire = n + ((fl & 0x10) ? 100 : 0);
		if (!f.app_done)
			tls_feed(&f, dir, &pk);
		if (!(fl & 0x80))
			seq[dir] += pk.pl_wire;
		reset |= (fl & 0x08) != 0;
		ts += (fl & 0x40) ? 7000000 : 1000;
		data += n, size -= n;
	}
	if (reset)
		f.tcp_state = TCPS_RESET;
	tls_flow_end(&f, ts + 11000000);
	fz_end();
	return 0;
}
