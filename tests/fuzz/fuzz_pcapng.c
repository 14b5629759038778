/* \summary: fuzz target: bytes as a pcapng file read in place (pcapfile.c's
 * pcapng cursors, one per interface, merged in time order), through the
 * pipeline, the interfaces' description, a second pass naming each
 * frame's interface, diagnosis and both reports. */
#define _GNU_SOURCE
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>
#include "fuzz_common.h"
#include "panne/diagnose.h"
#include "panne/evidence.h"
#include "panne/findings.h"
#include "panne/report.h"
#include "panne/twins.h"

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	char path[64], err[512], name[300];
	int fd = memfd_create("fuzz_pcapng", 0);
	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return 0;
	}
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	fz_start();
	/* Half the inputs name an inside interface, as --inside 1 would. */
	g_opts.inside = size && (data[size - 1] & 1) ? "1" : NULL;
	struct cap_src *src = cap_open_file(path, 0, size > 64 && (data[63] & 1) ? "udp or tcp" : NULL, err, sizeof err);
	if (!src) {
		close(fd);
		pipeline_reset();
		return 0;
	}
	g_opts.format = OUT_JSON;
	u32 inside;
	int gw = cap_gateway(src, &inside, NULL);
	if (gw)
		twins_init(16);
	cap_run(src, pipeline_packet, NULL);
	pipeline_file_end();
	pipeline_finish();
	for (u32 i = 0; i < cap_interfaces(src) && i < 4; i++)
		cap_iface_name(src, i, name, sizeof name);
	(void)cap_dropped(src);
	u32 frames[4] = { 1, 2, 5, 9 }, ifc[4];
	cap_frames_iface(src, frames, 4, ifc);
	/* The evidence, both forms, read back from the same bytes. */
	for (int ng = 0; ng < 2; ng++) {
		FILE *in = fopen(path, "rb"), *ev = fopen("/dev/null", "wb");
		const char *names[1] = { "fuzz" };
		if (in && ev) {
			json_t *map = evidence_write(ev, &in, names, 1, ng ? "fuzz" : NULL, err, sizeof err);
			json_decref(map);
		} else {
			if (in)
				fclose(in);
			if (ev)
				fclose(ev);
		}
	}
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
	cap_close(src);
	close(fd);
	pipeline_reset();
	g_opts.inside = NULL;
	return 0;
}
