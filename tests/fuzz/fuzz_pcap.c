/* \summary: fuzz target: bytes as a whole capture file, read as panne reads
 * files (in place for classic pcap, else libpcap), through the pipeline,
 * diagnosis and the JSON report. */
#define _GNU_SOURCE
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>
#include <pcap/pcap.h>
#include "fuzz_common.h"
#include "panne/diagnose.h"
#include "panne/report.h"

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	char path[64], err[512];
	/* A file in memory, so that it can be mapped like one on disk. */
	int fd = memfd_create("fuzz_pcap", 0);
	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return 0;
	}
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	struct cap_src *src = cap_open_file(path, 0, NULL, err, sizeof err);
	if (!src) {
		close(fd);
		return 0;
	}
	fz_start();
	g_opts.format = OUT_JSON;
	cap_run(src, pipeline_packet, NULL);
	cap_close(src);
	close(fd);
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
