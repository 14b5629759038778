/* \summary: fuzz target: bytes as a whole capture file, read as panne reads
 * files (in place for classic pcap, else libpcap), through the pipeline,
 * diagnosis, the JSON and text reports and the HTML page (which must never
 * hold a script element, whatever the packets say). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <pcap/pcap.h>
#include "fuzz_common.h"
#include "panne/diagnose.h"
#include "panne/html.h"
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
	char *page = NULL;
	size_t len = 0;
	FILE *h = open_memstream(&page, &len);
	if (h) {
		html_write(h, &in);
		fclose(h);
		if (page && strstr(page, "<script"))
			abort(); /* something from the wire was not escaped */
		free(page);
	}
	diagnose_free(v, nv);
	pipeline_reset();
	return 0;
}
