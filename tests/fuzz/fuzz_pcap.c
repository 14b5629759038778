/* \summary: fuzz target: bytes as a whole capture file, through libpcap,
 * the pipeline, diagnosis and the JSON report. */
#include <stdio.h>
#include <pcap/pcap.h>
#include "fuzz_common.h"
#include "panne/diagnose.h"
#include "panne/report.h"

static void on_packet(void *u, const struct cap_pkt *cp) { pipeline_packet(u, cp); }

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	char ebuf[PCAP_ERRBUF_SIZE];
	FILE *fp = fmemopen((void *)data, size, "rb");
	if (!fp)
		return 0;
	pcap_t *p = pcap_fopen_offline(fp, ebuf);
	if (!p) {
		fclose(fp);
		return 0;
	}
	if (!decode_linktype_supported(pcap_datalink(p))) {
		pcap_close(p);
		return 0;
	}
	fz_start();
	g_opts.format = OUT_JSON;
	struct pcap_pkthdr *h;
	const u_char *d;
	u32 frame = 0;
	while (pcap_next_ex(p, &h, &d) == 1) {
		struct cap_pkt cp = { .data = d, .caplen = h->caplen, .len = h->len,
			              .ts_us = (u64)h->ts.tv_sec * 1000000u + (u64)h->ts.tv_usec,
			              .linktype = pcap_datalink(p), .frame = ++frame };
		on_packet(NULL, &cp);
	}
	pcap_close(p);
	pipeline_file_end();
	pipeline_finish();
	size_t nv;
	struct verdict *v = diagnose_run(&nv);
	const char *files[1] = { "fuzz" };
	struct report_input in = { .files = files, .nfiles = 1, .st = pipeline_stats(), .v = v, .nv = nv };
	FILE *out = fopen("/dev/null", "w");
	if (out) {
		report_write(out, &in);
		g_opts.format = OUT_TEXT;
		report_write(out, &in);
		fclose(out);
	}
	diagnose_free(v, nv);
	pipeline_reset();
	return 0;
}
