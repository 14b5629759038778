/* \summary: packet sources: capture files through libpcap, with frame
 * numbers counted over every record so that they match Wireshark's. */
#include <errno.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>

#include "panne/capture.h"
#include "panne/config.h"
#include "panne/decode.h"
#include "panne/pcapfile.h"
#include "panne/util.h"

struct cap_src {
	pcap_t *p;
	struct pcapfile *pf;  /* a classic pcap file read in place, else NULL */
	struct pcap_pkthdr ph; /* pf's current record header */
	FILE *fp;            /* our stdio stream with a large buffer, or NULL */
	char *buf;           /* its buffer */
	char *path;
	u16 idx;
	int linktype;
	int has_filter;
	int live;
	pcap_dumper_t *keep; /* live -w: every packet, for the evidence at the end */
	FILE *keep_fp;
	u64 keep_bytes, keep_max; /* what the copy holds, and its bound */
	int keep_full;       /* the bound was reached: no more packets kept */
	struct bpf_program prog;
	u64 packets, bytes;
	char error[1024];
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
		/* One thread reads it: no lock around each of libpcap's two freads
		 * per record. */
		__fsetlocking(s->fp, FSETLOCKING_BYCALLER);
		s->p = pcap_fopen_offline_with_tstamp_precision(s->fp, PCAP_TSTAMP_PRECISION_MICRO, ebuf);
	}
	if (!s->p) {
		snprintf(err, errlen, "%s: not a capture file panne can read (%s); give a pcap or pcapng file",
		         shown, ebuf);
		cap_close(s);
		return NULL;
	}
	s->fp = NULL; /* pcap owns the stream now and closes it */
	/* libpcap has checked the header; records are read in place when the
	 * file allows it (pcapfile.h says why). */
	if (strcmp(path, "-") != 0)
		s->pf = pcapfile_open(fileno(pcap_file(s->p)), pcap_snapshot(s->p));
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

/* The message for a read that failed after frame `frame`: damage, or one
 * limit of libpcap that is not damage (pcapng interfaces that differ in
 * snapshot length or link type), with what to do about it. */
static void read_error(struct cap_src *s, u32 frame)
{
	const char *shown = strcmp(s->path, "-") == 0 ? "(stdin)" : s->path;
	const char *e = s->pf ? pcapfile_error(s->pf) : pcap_geterr(s->p);
	if (strstr(e, "different from the") && strstr(e, "of the first interface"))
		snprintf(s->error, sizeof s->error,
		         "%s: frame %u: libpcap cannot read on (%s): not damage, a limit of libpcap with "
		         "pcapng interfaces that differ; convert the file first (editcap -F pcap when the "
		         "link types are the same, else one interface at a time: tshark -r FILE -Y "
		         "'frame.interface_id == N' -w part.pcap); results up to frame %u are reported",
		         shown, frame + 1, e, frame);
	else
		snprintf(s->error, sizeof s->error,
		         "%s: frame %u: damaged capture (%s); results up to frame %u are reported", shown,
		         frame + 1, e, frame);
}

/* The next record of a file, as pcap_next_ex() returns it. */
static inline int src_next(struct cap_src *s, struct pcap_pkthdr **h, const u_char **d)
{
	if (!s->pf)
		return pcap_next_ex(s->p, h, d);
	*h = &s->ph;
	int rc = pcapfile_next(s->pf, &s->ph, d);
	return rc == 1 ? 1 : rc == 0 ? PCAP_ERROR_BREAK : PCAP_ERROR;
}

/* How far into the file, for the progress line: 0 when unknown. */
static u64 src_offset(struct cap_src *s, FILE *fp)
{
	if (s->pf)
		return pcapfile_offset(s->pf);
	off_t o = fp ? ftello(fp) : -1;
	return o > 0 ? (u64)o : 0;
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
	/* Long runs show progress on a terminal, never on stdout. */
	struct stat sb;
	FILE *fp = pcap_file(s->p);
	u64 total = fp && fstat(fileno(fp), &sb) == 0 && S_ISREG(sb.st_mode) ? (u64)sb.st_size : 0;
	int progress = total > (64 << 20) && isatty(STDERR_FILENO);
	/* The filter runs here, not in libpcap, so that filtered-out records
	 * still count toward frame numbers. */
	while ((rc = src_next(s, &h, &data)) == 1) {
		frame++;
		s->packets++;
		s->bytes += h->len;
		if (progress && !(frame & 0x3ffff))
			fprintf(stderr, "\rpanne: %s %3d%%", s->path, (int)(src_offset(s, fp) * 100 / total));
		if (s->has_filter && !pcap_offline_filter(&s->prog, h, data))
			continue;
		cp.data = data;
		cp.caplen = h->caplen;
		cp.len = h->len;
		cp.ts_us = (u64)h->ts.tv_sec * 1000000u + (u64)h->ts.tv_usec;
		cp.frame = frame;
		cb(user, &cp);
	}
	if (progress)
		fprintf(stderr, "\r\033[K");
	if (rc == PCAP_ERROR) {
		read_error(s, frame);
		return 1;
	}
	return 0;
}

int cap_run_merged(struct cap_src **srcs, size_t n, cap_cb cb, void *user)
{
	struct pcap_pkthdr *h[64];
	const u_char *d[64];
	u32 frame[64] = { 0 };
	int live[64], damaged = 0;
	if (n > 64)
		n = 64;
	for (size_t i = 0; i < n; i++)
		live[i] = 0;
	/* Prime one packet per file, then always hand out the earliest. */
	for (size_t i = 0; i < n; i++) {
		int rc = src_next(srcs[i], &h[i], &d[i]);
		live[i] = rc == 1;
		if (rc == PCAP_ERROR) {
			read_error(srcs[i], 0);
			damaged = 1;
		}
	}
	for (;;) {
		size_t best = n;
		for (size_t i = 0; i < n; i++)
			if (live[i] && (best == n || timercmp(&h[i]->ts, &h[best]->ts, <)))
				best = i;
		if (best == n)
			break;
		struct cap_src *s = srcs[best];
		frame[best]++;
		s->packets++;
		s->bytes += h[best]->len;
		if (!s->has_filter || pcap_offline_filter(&s->prog, h[best], d[best])) {
			struct cap_pkt cp = { .data = d[best], .caplen = h[best]->caplen, .len = h[best]->len,
				              .ts_us = (u64)h[best]->ts.tv_sec * 1000000u + (u64)h[best]->ts.tv_usec,
				              .linktype = s->linktype, .frame = frame[best], .file = s->idx };
			cb(user, &cp);
		}
		int rc = src_next(s, &h[best], &d[best]);
		live[best] = rc == 1;
		if (rc == PCAP_ERROR) {
			read_error(s, frame[best]);
			damaged = 1;
		}
	}
	return damaged;
}

struct cap_src *cap_open_live(const char *iface, u16 idx, const char *bpf, char *err,
                              size_t errlen)
{
	char ebuf[PCAP_ERRBUF_SIZE] = "";
	struct cap_src *s = xcalloc(1, sizeof *s);
	int rc;

	s->path = xstrdup(iface);
	s->idx = idx;
	s->live = 1;
	s->p = pcap_create(iface, ebuf);
	if (!s->p) {
		snprintf(err, errlen, "-i %s: %s", iface, ebuf);
		cap_close(s);
		return NULL;
	}
	pcap_set_snaplen(s->p, SNAPLEN_LIVE);
	pcap_set_promisc(s->p, 1);
	pcap_set_timeout(s->p, 200);
	pcap_set_buffer_size(s->p, LIVE_BUFSZ);
	pcap_set_immediate_mode(s->p, 0);
	pcap_set_tstamp_precision(s->p, PCAP_TSTAMP_PRECISION_MICRO);
	rc = pcap_activate(s->p);
	if (rc < 0) {
		snprintf(err, errlen, "-i %s: cannot capture: %s%s", iface, pcap_geterr(s->p),
		         rc == PCAP_ERROR_PERM_DENIED ? " (run as root)" : "");
		cap_close(s);
		return NULL;
	}
	s->linktype = pcap_datalink(s->p);
	if (!decode_linktype_supported(s->linktype)) {
		snprintf(err, errlen, "-i %s: link type %d is not one panne decodes", iface, s->linktype);
		cap_close(s);
		return NULL;
	}
	if (bpf && *bpf) {
		if (pcap_compile(s->p, &s->prog, bpf, 1, PCAP_NETMASK_UNKNOWN) < 0 ||
		    pcap_setfilter(s->p, &s->prog) < 0) {
			snprintf(err, errlen, "-i %s: bad filter expression '%s': %s", iface, bpf, pcap_geterr(s->p));
			cap_close(s);
			return NULL;
		}
		pcap_freecode(&s->prog);
	}
	pcap_setnonblock(s->p, 1, ebuf);
	return s;
}

struct live_ctx {
	struct cap_src *s;
	cap_cb cb;
	void *user;
};

static void live_one(u_char *u, const struct pcap_pkthdr *h, const u_char *data)
{
	struct live_ctx *lc = (struct live_ctx *)u;
	struct cap_pkt cp = { .data = data, .caplen = h->caplen, .len = h->len,
		              .ts_us = (u64)h->ts.tv_sec * 1000000u + (u64)h->ts.tv_usec,
		              .linktype = lc->s->linktype, .frame = (u32)++lc->s->packets,
		              .file = lc->s->idx };
	lc->s->bytes += h->len;
	if (lc->s->keep && !lc->s->keep_full) {
		u64 rec = 16u + h->caplen;
		if (lc->s->keep_bytes + rec > lc->s->keep_max) {
			/* A long run must not fill the disk: evidence from here on is lost. */
			lc->s->keep_full = 1;
			warnx_("-w: the copy of %s's packets reached --keep-max (%llu MiB) at frame %u: "
			       "frames from there on will not be in the evidence file", lc->s->path,
			       (unsigned long long)(lc->s->keep_max >> 20), cp.frame);
		} else {
			pcap_dump((u_char *)lc->s->keep, h, data);
			lc->s->keep_bytes += rec;
		}
	}
	lc->cb(lc->user, &cp);
}

static u64 wall_us(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return (u64)tv.tv_sec * 1000000u + (u64)tv.tv_usec;
}

int cap_live_loop(struct cap_src **srcs, size_t n, cap_cb cb, void *user,
                  void (*tick)(void *user, u64 now_us), u64 tick_us,
                  volatile int *stop, u64 count)
{
	struct pollfd pf[64];
	u64 next_tick = wall_us() + tick_us, seen = 0;
	if (n > 64)
		n = 64;
	for (size_t i = 0; i < n; i++) {
		pf[i].fd = pcap_get_selectable_fd(srcs[i]->p);
		pf[i].events = POLLIN;
	}
	while (!*stop && (!count || seen < count)) {
		int r = poll(pf, (nfds_t)n, 100);
		if (r < 0 && errno != EINTR) {
			snprintf(srcs[0]->error, sizeof srcs[0]->error, "poll: %s", strerror(errno));
			return -1;
		}
		for (size_t i = 0; i < n && r > 0; i++) {
			if (!(pf[i].revents & (POLLIN | POLLERR | POLLHUP)))
				continue;
			struct live_ctx lc = { srcs[i], cb, user };
			u64 before = srcs[i]->packets;
			int k = pcap_dispatch(srcs[i]->p, count ? (int)MIN(count - seen, 10000u) : -1,
			                      live_one, (u_char *)&lc);
			if (k == PCAP_ERROR) {
				snprintf(srcs[i]->error, sizeof srcs[i]->error, "-i %s: %s", srcs[i]->path,
				         pcap_geterr(srcs[i]->p));
				return -1;
			}
			seen += srcs[i]->packets - before;
		}
		u64 now = wall_us();
		if (now >= next_tick) {
			tick(user, now);
			next_tick = now + tick_us;
		}
	}
	return 0;
}

int cap_live_drain(struct cap_src *s, cap_cb cb, void *user, int wait_ms)
{
	struct pollfd pf = { .fd = pcap_get_selectable_fd(s->p), .events = POLLIN };
	struct live_ctx lc = { s, cb, user };
	u64 before = s->packets;
	if (poll(&pf, 1, wait_ms) < 0 && errno != EINTR) {
		snprintf(s->error, sizeof s->error, "poll: %s", strerror(errno));
		return -1;
	}
	if (pcap_dispatch(s->p, -1, live_one, (u_char *)&lc) == PCAP_ERROR) {
		snprintf(s->error, sizeof s->error, "-i %s: %s", s->path, pcap_geterr(s->p));
		return -1;
	}
	return (int)MIN(s->packets - before, (u64)INT32_MAX);
}

int cap_keep(struct cap_src *s, FILE *tmp, u64 max_bytes)
{
	s->keep_max = max_bytes;
	s->keep = pcap_dump_fopen(s->p, tmp);
	if (!s->keep)
		return -1;
	s->keep_fp = tmp;
	return 0;
}

FILE *cap_kept(struct cap_src *s)
{
	if (!s->keep)
		return NULL;
	pcap_dump_flush(s->keep);
	int fd = dup(fileno(s->keep_fp));
	FILE *r = fd >= 0 ? fdopen(fd, "rb") : NULL;
	if (r)
		rewind(r);
	return r;
}

struct cap_writer {
	pcap_t *dead;
	pcap_dumper_t *d;
};

struct cap_writer *cap_writer_open(FILE *fp, int linktype, char *err, size_t errlen)
{
	struct cap_writer *w = xcalloc(1, sizeof *w);
	w->dead = pcap_open_dead_with_tstamp_precision(linktype, SNAPLEN_LIVE, PCAP_TSTAMP_PRECISION_MICRO);
	w->d = w->dead ? pcap_dump_fopen(w->dead, fp) : NULL;
	if (!w->d) {
		snprintf(err, errlen, "cannot write a pcap file: %s", w->dead ? pcap_geterr(w->dead) : "no memory");
		if (w->dead)
			pcap_close(w->dead);
		free(w);
		return NULL;
	}
	return w;
}

void cap_writer_put(struct cap_writer *w, const struct cap_pkt *pk)
{
	struct pcap_pkthdr h = { .caplen = pk->caplen, .len = pk->len };
	h.ts.tv_sec = (time_t)(pk->ts_us / 1000000u);
	h.ts.tv_usec = (suseconds_t)(pk->ts_us % 1000000u);
	pcap_dump((u_char *)w->d, &h, pk->data);
}

void cap_writer_close(struct cap_writer *w)
{
	if (!w)
		return;
	pcap_dump_close(w->d);
	pcap_close(w->dead);
	free(w);
}

u64 cap_dropped(const struct cap_src *s)
{
	struct pcap_stat ps;
	if (!s->live || pcap_stats(s->p, &ps) < 0)
		return 0;
	return (u64)ps.ps_drop + ps.ps_ifdrop;
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
	if (s->keep)
		pcap_dump_close(s->keep);
	pcapfile_close(s->pf);
	if (s->p)
		pcap_close(s->p);
	else if (s->fp)
		fclose(s->fp);
	free(s->buf);
	free(s->path);
	free(s);
}
