/* \summary: packet sources: capture files through libpcap, with frame
 * numbers counted over every record so that they match Wireshark's. */
#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "panne/capture.h"
#include "panne/config.h"
#include "panne/decode.h"
#include "panne/util.h"

struct cap_src {
	pcap_t *p;
	FILE *fp;            /* our stdio stream with a large buffer, or NULL */
	char *buf;           /* its buffer */
	char *path;
	u16 idx;
	int linktype;
	int has_filter;
	struct bpf_program prog;
	u64 packets, bytes;
	char error[512];
};

struct cap_src *cap_open_file(const char *path, u16 file_idx, const char *bpf, char *err,
                              size_t errlen)
{
	char ebuf[PCAP_ERRBUF_SIZE] = "";
	struct cap_src *s = xcalloc(1, sizeof *s);
	const char *shown = strcmp(path, "-") == 0 ? "(stdin)" : path;

	s->path = xstrdup(path);
	s->idx = file_idx;
	if (strcmp(path, "-") == 0) {
		s->p = pcap_fopen_offline_with_tstamp_precision(stdin, PCAP_TSTAMP_PRECISION_MICRO, ebuf);
	} else {
		s->fp = fopen(path, "rb");
		if (!s->fp) {
			snprintf(err, errlen, "%s: cannot open: %s", shown, strerror(errno));
			cap_close(s);
			return NULL;
		}
		/* stdio's 4 KiB default costs more than all of decoding (PERFORMANCE.md). */
		s->buf = xmalloc(PCAP_BUFSZ);
		setvbuf(s->fp, s->buf, _IOFBF, PCAP_BUFSZ);
		s->p = pcap_fopen_offline_with_tstamp_precision(s->fp, PCAP_TSTAMP_PRECISION_MICRO, ebuf);
	}
	if (!s->p) {
		snprintf(err, errlen, "%s: not a capture file panne can read (%s); give a pcap or pcapng file",
		         shown, ebuf);
		cap_close(s);
		return NULL;
	}
	s->fp = NULL; /* pcap owns the stream now and closes it */
	s->linktype = pcap_datalink(s->p);
	if (!decode_linktype_supported(s->linktype)) {
		const char *n = pcap_datalink_val_to_name(s->linktype);
		snprintf(err, errlen, "%s: link type %d (%s) is not one panne decodes", shown, s->linktype,
		         n ? n : "unknown");
		cap_close(s);
		return NULL;
	}
	if (bpf && *bpf) {
		if (pcap_compile(s->p, &s->prog, bpf, 1, PCAP_NETMASK_UNKNOWN) < 0) {
			snprintf(err, errlen, "%s: bad filter expression '%s': %s", shown, bpf, pcap_geterr(s->p));
			cap_close(s);
			return NULL;
		}
		s->has_filter = 1;
	}
	return s;
}

int cap_run(struct cap_src *s, cap_cb cb, void *user)
{
	struct pcap_pkthdr *h;
	const u_char *data;
	struct cap_pkt cp;
	u32 frame = 0;
	int rc;

	cp.linktype = s->linktype;
	cp.file = s->idx;
	/* The filter runs here, not in libpcap, so that filtered-out records
	 * still count toward frame numbers. */
	while ((rc = pcap_next_ex(s->p, &h, &data)) == 1) {
		frame++;
		s->packets++;
		s->bytes += h->len;
		if (s->has_filter && !pcap_offline_filter(&s->prog, h, data))
			continue;
		cp.data = data;
		cp.caplen = h->caplen;
		cp.len = h->len;
		cp.ts_us = (u64)h->ts.tv_sec * 1000000u + (u64)h->ts.tv_usec;
		cp.frame = frame;
		cb(user, &cp);
	}
	if (rc == PCAP_ERROR) {
		snprintf(s->error, sizeof s->error,
		         "%s: frame %u: damaged capture (%s); results up to frame %u are reported",
		         strcmp(s->path, "-") == 0 ? "(stdin)" : s->path, frame + 1, pcap_geterr(s->p), frame);
		return 1;
	}
	return 0;
}

const char *cap_error(const struct cap_src *s) { return s->error; }
const char *cap_path(const struct cap_src *s) { return s->path; }
u64 cap_packets(const struct cap_src *s) { return s->packets; }
u64 cap_bytes(const struct cap_src *s) { return s->bytes; }
int cap_linktype(const struct cap_src *s) { return s->linktype; }

void cap_close(struct cap_src *s)
{
	if (!s)
		return;
	if (s->has_filter)
		pcap_freecode(&s->prog);
	if (s->p)
		pcap_close(s->p);
	else if (s->fp)
		fclose(s->fp);
	free(s->buf);
	free(s->path);
	free(s);
}
