/* \summary: the evidence writer: cited frames copied, in input order, into
 * one pcap that Wireshark opens, with the map from input frames to its own. */
#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>

#include "panne/capture.h"
#include "panne/evidence.h"
#include "panne/findings.h"
#include "panne/services.h"
#include "panne/util.h"

static int cmp_u32(const void *a, const void *b)
{
	u32 x = *(const u32 *)a, y = *(const u32 *)b;
	return x < y ? -1 : x > y;
}

/* Sorted, unique frames of file idx cited by findings in scope. */
static u32 *cited(u16 idx, size_t *n)
{
	size_t cap = 64, k = 0;
	u32 *v = xmalloc(cap * sizeof *v);
	for (size_t i = 0; i < findings_count(); i++) {
		const struct finding *f = findings_get(i);
		if (f->file != idx || !services_finding_in_scope(f->group))
			continue;
		for (u8 e = 0; e < f->n_ev; e++) {
			if (k == cap)
				v = xrealloc(v, (cap *= 2) * sizeof *v);
			v[k++] = f->ev[e];
		}
	}
	qsort(v, k, sizeof *v, cmp_u32);
	size_t u = 0;
	for (size_t i = 0; i < k; i++)
		if (!u || v[u - 1] != v[i])
			v[u++] = v[i];
	*n = u;
	return v;
}

json_t *evidence_write(FILE *out, FILE **ins, const char **names, size_t n, char *err,
                       size_t errlen)
{
	char ebuf[PCAP_ERRBUF_SIZE];
	struct cap_writer *w = NULL;
	json_t *map = json_array();
	u32 written = 0;
	int linktype = -1;

	for (size_t i = 0; i < n; i++) {
		size_t nf, next = 0;
		if (!ins[i])
			continue;
		u32 *want = cited((u16)i, &nf);
		rewind(ins[i]);
		pcap_t *p = pcap_fopen_offline(ins[i], ebuf);
		ins[i] = NULL; /* pcap owns it now */
		if (!p) {
			free(want);
			continue;
		}
		if (!w) {
			char werr[256];
			linktype = pcap_datalink(p);
			if (!(w = cap_writer_open(out, linktype, werr, sizeof werr))) {
				snprintf(err, errlen, "-w: %s", werr);
				fclose(out);
				pcap_close(p);
				free(want);
				json_decref(map);
				return NULL;
			}
		}
		if (pcap_datalink(p) != linktype) {
			warnx_("-w: %s has another link type than the first input: its frames are left out", names[i]);
			nf = 0;
		}
		struct pcap_pkthdr *h;
		const u_char *data;
		u32 frame = 0;
		while (next < nf && pcap_next_ex(p, &h, &data) == 1) {
			if (++frame != want[next])
				continue;
			struct cap_pkt cp = { .data = data, .caplen = h->caplen, .len = h->len,
				              .ts_us = (u64)h->ts.tv_sec * 1000000u + (u64)h->ts.tv_usec };
			cap_writer_put(w, &cp);
			json_array_append_new(map, json_pack("{s:s,s:i,s:i}", "file", names[i], "frame",
			                                     (json_int_t)frame, "evidence_frame",
			                                     (json_int_t)++written));
			next++;
		}
		if (next < nf)
			warnx_("-w: %zu of the frames of %s cited as evidence are not in the evidence file: "
			       "they were not kept (--keep-max) or the input changed", nf - next, names[i]);
		pcap_close(p);
		free(want);
	}
	if (w)
		cap_writer_close(w);
	else
		fclose(out);
	return map;
}
