/* \summary: packet sources: capture files read in place (classic pcap and
 * pcapng, pcapfile.c) or through libpcap, with frame numbers counted over
 * every record so that they match Wireshark's; a pcapng file's interfaces
 * read side by side in time order. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>

#include "panne/ahead.h"
#include "panne/capture.h"
#include "panne/config.h"
#include "panne/decode.h"
#include "panne/opts.h"
#include "panne/pcapfile.h"
#include "panne/util.h"

#define CUR_MAX PCAPNG_CURSORS_MAX
#define FILT_MAX 16       /* link types a filter is compiled for */
#define PRESCAN_PKTS PCAPNG_PRESCAN
#define PAIRS_CAP 4096    /* opening packets remembered while pairing them */

/* One cursor of a pcapng file and the record it holds. */
struct ng_cur {
	struct pcapfile *pf;
	struct pcap_pkthdr h;
	const u8 *d;
	int live; /* it holds a record */
};

struct cap_src {
	pcap_t *p;            /* libpcap's reader; NULL for pcapng read in place */
	int fd;               /* pcapng: the file, ours; else -1 */
	struct pcapng_ifs *ifs; /* pcapng: its interfaces */
	struct ng_cur cur[CUR_MAX];
	size_t ncur;
	int gateway;          /* several interfaces of one gateway: far sides only paired */
	u32 inside;           /* the analysed interface of a gateway */
	const char *inside_why;
	u32 active;           /* interfaces with packets (in the first PRESCAN_PKTS) */
	u32 act[CUR_MAX];     /* the first of them, by index */
	struct { int linktype, ok; struct bpf_program prog; } filt[FILT_MAX];
	size_t nfilt;
	char *bpf;            /* the filter's text, compiled per link type */
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

/* libpcap compiles for DLT_ values; pcapng holds LINKTYPE_ ones. */
static int dlt_of(int linktype)
{
	return linktype == 101 ? DLT_RAW : linktype;
}

/* The filter for a link type, compiled on first use: NULL when it does not
 * compile for it (err says why, when given). */
static struct bpf_program *ng_filter(struct cap_src *s, int linktype, char *err, size_t errlen)
{
	for (size_t i = 0; i < s->nfilt; i++)
		if (s->filt[i].linktype == linktype)
			return s->filt[i].ok ? &s->filt[i].prog : NULL;
	if (s->nfilt == FILT_MAX)
		return NULL;
	size_t i = s->nfilt++;
	s->filt[i].linktype = linktype;
	pcap_t *dead = pcap_open_dead(dlt_of(linktype), SNAPLEN_LIVE);
	s->filt[i].ok = dead && pcap_compile(dead, &s->filt[i].prog, s->bpf, 1, PCAP_NETMASK_UNKNOWN) == 0;
	if (!s->filt[i].ok && err)
		snprintf(err, errlen, "%s", dead ? pcap_geterr(dead) : "no memory");
	if (dead)
		pcap_close(dead);
	return s->filt[i].ok ? &s->filt[i].prog : NULL;
}

/* What the first packets of a pcapng file say about its interfaces. */
struct prescan {
	u32 pkts[PCAPNG_IF_MAX];  /* packets per interface */
	u32 votes[PCAPNG_IF_MAX]; /* connections and queries opened by private sources toward public servers */
	u32 pairs;                /* packets seen on two interfaces */
	struct { u64 key; u32 iface1; } seen[PAIRS_CAP];
};

/* What NAT keeps of an opening packet: destination, port, and the TCP ISN
 * or the DNS payload (id and question). 0 when not an opening packet. */
static u64 open_key(const struct packet *pk)
{
	u64 h = 1469598103934665603ull;
	const u8 *p;
	size_t n;
	if (pk->proto == IPPROTO_TCP_ && (pk->tcp_flags & (TH_SYN | TH_ACK)) == TH_SYN) {
		p = (const u8 *)&pk->seq;
		n = sizeof pk->seq;
	} else if (pk->proto == IPPROTO_UDP_ && pk->dport == 53 && pk->pl_len >= 12) {
		p = pk->pl;
		n = MIN(pk->pl_len, 64u);
	} else {
		return 0;
	}
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 1099511628211ull;
	for (int i = 0; i < 16; i++)
		h = (h ^ pk->dst.b[i]) * 1099511628211ull;
	h = (h ^ pk->dport ^ ((u64)pk->proto << 16)) * 1099511628211ull;
	return h ? h : 1;
}

static void prescan_one(struct prescan *ps, const struct pcapng_ifs *ifs, u32 g,
                        const struct pcap_pkthdr *h, const u8 *d)
{
	struct cap_pkt cp = { .data = d, .caplen = h->caplen, .len = h->len, .linktype = ifs->v[g].linktype };
	struct packet pk;
	ps->pkts[g]++;
	if (decode_packet(&cp, &pk) != DEC_OK || !pk.l4_ok)
		return;
	u64 key = open_key(&pk);
	if (!key)
		return;
	ps->votes[g] += addr_bogus(&pk.src) && !addr_bogus(&pk.dst);
	size_t slot = key % PAIRS_CAP;
	if (ps->seen[slot].key == key && ps->seen[slot].iface1 != g + 1)
		ps->pairs++;
	ps->seen[slot].key = key;
	ps->seen[slot].iface1 = g + 1;
}

/* The interface --inside names, by if_name or index; -1 if none. */
static int inside_lookup(const struct pcapng_ifs *ifs, const char *spec)
{
	for (u32 i = 0; i < ifs->n; i++)
		if (ifs->v[i].name[0] && strcmp(ifs->v[i].name, spec) == 0)
			return (int)i;
	char *end;
	unsigned long k = strtoul(spec, &end, 10);
	if (*spec && !*end && k < ifs->n)
		return (int)k;
	return -1;
}

/* Opens a pcapng file read in place: looks at its first packets to learn
 * its interfaces (which carry packets, whether they are a gateway's sides:
 * the same opening packets seen on two of them), then opens one cursor per
 * interface with packets. 0, or -1 with err. */
static int ng_open(struct cap_src *s, const char *shown, const char *bpf, char *err, size_t errlen)
{
	char e[256];
	s->ifs = xcalloc(1, sizeof *s->ifs);
	struct pcapfile *pf = pcapng_open(s->fd, s->ifs, -1, e, sizeof e);
	if (!pf) {
		snprintf(err, errlen, "%s: not a capture file panne can read (%s); give a pcap or pcapng file", shown, e);
		return -1;
	}
	struct prescan *ps = xcalloc(1, sizeof *ps);
	struct pcap_pkthdr h;
	const u8 *d;
	for (u32 k = 0; k < PRESCAN_PKTS && pcapfile_next(pf, &h, &d) == 1; k++)
		prescan_one(ps, s->ifs, pcapfile_iface(pf), &h, d);
	pcapfile_close(pf);
	struct pcapng_ifs *ifs = s->ifs;
	u32 act[CUR_MAX], nact = 0, best = 0, supported = 0;
	for (u32 i = 0; i < ifs->n; i++) {
		supported += decode_linktype_supported(ifs->v[i].linktype);
		if (!ps->pkts[i])
			continue;
		s->active++;
		if (nact < CUR_MAX)
			s->act[nact] = i, act[nact++] = i;
		if (ps->votes[i] > ps->votes[best] || !ps->pkts[best])
			best = i;
	}
	if (ifs->n && !supported) {
		const char *n = pcap_datalink_val_to_name(dlt_of(ifs->v[0].linktype));
		snprintf(err, errlen, "%s: link type %d (%s) is not one panne decodes", shown, ifs->v[0].linktype,
		         n ? n : "unknown");
		free(ps);
		return -1;
	}
	s->linktype = ifs->n ? ifs->v[0].linktype : 1;
	if (g_opts.inside) {
		int k = inside_lookup(ifs, g_opts.inside);
		if (k < 0) {
			int o = snprintf(err, errlen, "--inside %s: no such interface in %s (interfaces:", g_opts.inside, shown);
			for (u32 i = 0; i < ifs->n && o > 0 && (size_t)o < errlen; i++)
				o += snprintf(err + o, errlen - (size_t)o, " %u %s", i, ifs->v[i].name[0] ? ifs->v[i].name : "(no name)");
			if (o > 0 && (size_t)o < errlen)
				snprintf(err + o, errlen - (size_t)o, ")");
			free(ps);
			return -1;
		}
		s->inside = (u32)k;
		s->inside_why = "named by --inside";
	} else if (ps->votes[best]) {
		s->inside = best;
		s->inside_why = "its clients' private addresses open connections toward the servers";
	} else {
		s->inside = nact ? act[0] : 0;
		s->inside_why = "the first interface with packets";
	}
	s->gateway = nact > 1 && (g_opts.inside || ps->pairs > 0);
	if (s->gateway)
		s->linktype = ifs->v[s->inside].linktype;
	free(ps);
	/* Cursor 0 reads the first interface with packets and every one without
	 * a cursor of its own (those that appear late included). */
	s->ncur = nact ? nact : 1;
	for (size_t c = 0; c < s->ncur; c++) {
		s->cur[c].pf = pcapng_open(s->fd, ifs, c ? (int)act[c] : -1, e, sizeof e);
		if (!s->cur[c].pf) {
			snprintf(err, errlen, "%s: %s", shown, e);
			return -1;
		}
	}
	if (bpf && *bpf) {
		s->bpf = xstrdup(bpf);
		s->has_filter = 1;
		for (u32 i = 0; i < ifs->n; i++) {
			if (!ng_filter(s, ifs->v[i].linktype, e, sizeof e) && s->nfilt < FILT_MAX &&
			    decode_linktype_supported(ifs->v[i].linktype)) {
				snprintf(err, errlen, "%s: bad filter expression '%s': %s", shown, bpf, e);
				return -1;
			}
		}
	}
	return 0;
}

struct cap_src *cap_open_file(const char *path, u16 file_idx, const char *bpf, char *err,
                              size_t errlen)
{
	char ebuf[PCAP_ERRBUF_SIZE] = "";
	struct cap_src *s = xcalloc(1, sizeof *s);
	const char *shown = strcmp(path, "-") == 0 ? "(stdin)" : path;

	s->path = xstrdup(path);
	s->idx = file_idx;
	s->fd = -1;
	struct stat sb;
	if (strcmp(path, "-") != 0 && stat(path, &sb) == 0 && S_ISREG(sb.st_mode) &&
	    (s->fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0) {
		/* pcapng is read here whole; libpcap cannot tell its interfaces apart. */
		if (pcapng_detect(s->fd)) {
			if (ng_open(s, shown, bpf, err, errlen) < 0) {
				cap_close(s);
				return NULL;
			}
			return s;
		}
		close(s->fd);
		s->fd = -1;
	}
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
static void read_error(struct cap_src *s, struct pcapfile *pf, u32 frame)
{
	const char *shown = strcmp(s->path, "-") == 0 ? "(stdin)" : s->path;
	const char *e = pf ? pcapfile_error(pf) : pcap_geterr(s->p);
	if (strstr(e, "different from the") && strstr(e, "of the first interface"))
		snprintf(s->error, sizeof s->error,
		         "%s: frame %u: libpcap cannot read on (%s): not damage, a limit of libpcap with "
		         "pcapng interfaces that differ, which panne reads in full from a file: give the "
		         "file's path rather than a pipe, or convert it first (editcap -F pcap when the "
		         "link types are the same, else one interface at a time: tshark -r FILE -Y "
		         "'frame.interface_id == N' -w part.pcap); results up to frame %u are reported",
		         shown, frame + 1, e, frame);
	else
		snprintf(s->error, sizeof s->error,
		         "%s: frame %u: damaged capture (%s); results up to frame %u are reported", shown,
		         frame + 1, e, frame);
}

/* The next record of a file, as pcap_next_ex() returns it. A pcapng file
 * here has one cursor (cap_run_merged refuses more). */
static inline int src_next(struct cap_src *s, struct pcap_pkthdr **h, const u_char **d)
{
	struct pcapfile *pf = s->ncur ? s->cur[0].pf : s->pf;
	if (!pf)
		return pcap_next_ex(s->p, h, d);
	*h = &s->ph;
	int rc = pcapfile_next(pf, &s->ph, d);
	return rc == 1 ? 1 : rc == 0 ? PCAP_ERROR_BREAK : PCAP_ERROR;
}

/* The side of a gateway an interface is on, for twins (0: the analysed). */
static u16 ng_side(const struct cap_src *s, u32 iface)
{
	if (!s->gateway || iface == s->inside)
		return 0;
	return (u16)MIN(iface + 1, 15u);
}

/* Hands one pcapng record to cb, through the filter of its link type. */
static inline void ng_deliver(struct cap_src *s, struct ng_cur *c, u16 side_base, cap_cb cb, void *user)
{
	u32 g = pcapfile_iface(c->pf);
	const struct pcapng_if *i = &s->ifs->v[g];
	s->packets++;
	s->bytes += c->h.len;
	if (s->has_filter) {
		const struct bpf_program *prog = ng_filter(s, i->linktype, NULL, 0);
		if (!prog || !pcap_offline_filter(prog, &c->h, c->d))
			return;
	}
	struct cap_pkt cp = { .data = c->d, .caplen = c->h.caplen, .len = c->h.len,
		              .ts_us = (u64)c->h.ts.tv_sec * 1000000u + (u64)c->h.ts.tv_usec,
		              .linktype = i->linktype, .frame = pcapfile_frame(c->pf), .file = s->idx,
		              .iface = (u16)MIN(g, 0xffffu), .side = (u16)(side_base + ng_side(s, g)) };
	cb(user, &cp);
}

/* A pcapng file: its cursors' records, earliest first (ties: file order).
 * Each cursor stops at the damage; the first to meet it says where. */
static int ng_run(struct cap_src *s, cap_cb cb, void *user)
{
	int damaged = 0;
	struct stat sb;
	u64 total = fstat(s->fd, &sb) == 0 ? (u64)sb.st_size : 0, n = 0;
	int progress = total > (64 << 20) && isatty(STDERR_FILENO);
	for (size_t k = 0; k < s->ncur; k++) {
		struct ng_cur *c = &s->cur[k];
		int rc = pcapfile_next(c->pf, &c->h, &c->d);
		c->live = rc == 1;
		if (rc < 0 && !damaged++)
			read_error(s, c->pf, pcapfile_frame(c->pf));
	}
	for (;;) {
		struct ng_cur *best = NULL;
		if (s->ncur == 1)
			best = s->cur[0].live ? &s->cur[0] : NULL;
		else
			for (size_t k = 0; k < s->ncur; k++) {
				struct ng_cur *c = &s->cur[k];
				if (c->live && (!best || timercmp(&c->h.ts, &best->h.ts, <) ||
				                (!timercmp(&c->h.ts, &best->h.ts, >) &&
				                 pcapfile_frame(c->pf) < pcapfile_frame(best->pf))))
					best = c;
			}
		if (!best)
			break;
		ng_deliver(s, best, 0, cb, user);
		if (!(++n & 63))
			ahead_progress(s->idx, pcapfile_offset(best->pf));
		if (progress && !(n & 0x3ffff))
			fprintf(stderr, "\rpanne: %s %3d%%", s->path, (int)(pcapfile_offset(best->pf) * 100 / total));
		int rc = pcapfile_next(best->pf, &best->h, &best->d);
		best->live = rc == 1;
		if (rc < 0 && !damaged++)
			read_error(s, best->pf, pcapfile_frame(best->pf));
	}
	if (progress)
		fprintf(stderr, "\r\033[K");
	return damaged ? 1 : 0;
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
	if (s->ncur)
		return ng_run(s, cb, user);
	struct pcap_pkthdr *h;
	const u_char *data;
	struct cap_pkt cp;
	u32 frame = 0;
	int rc;

	memset(&cp, 0, sizeof cp);
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
		if (s->pf && !(frame & 63))
			ahead_progress(s->idx, pcapfile_offset(s->pf));
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
		read_error(s, s->pf, frame);
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
			read_error(srcs[i], srcs[i]->ncur ? srcs[i]->cur[0].pf : srcs[i]->pf, 0);
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
		if (s->ncur) {
			/* A pcapng file of one interface: its own frames and link type. */
			struct ng_cur *c = &s->cur[0];
			c->h = *h[best];
			c->d = d[best];
			ng_deliver(s, c, s->idx, cb, user);
			frame[best] = pcapfile_frame(c->pf);
		} else {
			frame[best]++;
			s->packets++;
			s->bytes += h[best]->len;
			if (s->pf && !(frame[best] & 63))
				ahead_progress(s->idx, pcapfile_offset(s->pf));
			if (!s->has_filter || pcap_offline_filter(&s->prog, h[best], d[best])) {
				struct cap_pkt cp = { .data = d[best], .caplen = h[best]->caplen, .len = h[best]->len,
					              .ts_us = (u64)h[best]->ts.tv_sec * 1000000u + (u64)h[best]->ts.tv_usec,
					              .linktype = s->linktype, .frame = frame[best], .file = s->idx,
					              .side = s->idx };
				cb(user, &cp);
			}
		}
		int rc = src_next(s, &h[best], &d[best]);
		live[best] = rc == 1;
		if (rc == PCAP_ERROR) {
			read_error(s, s->ncur ? s->cur[0].pf : s->pf, frame[best]);
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
		              .file = lc->s->idx, .side = lc->s->idx };
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
	if (s->ifs) {
		/* What the capturing tool recorded it lost, interface by interface. */
		u64 n = 0;
		for (u32 i = 0; i < s->ifs->n; i++)
			n += s->ifs->v[i].ifdrop + s->ifs->v[i].osdrop;
		return n;
	}
	if (!s->live || pcap_stats(s->p, &ps) < 0)
		return 0;
	return (u64)ps.ps_drop + ps.ps_ifdrop;
}

u32 cap_interfaces(const struct cap_src *s) { return s->ifs ? s->ifs->n : 1; }
u32 cap_iface_local(const struct cap_src *s, u32 iface)
{
	return s->ifs && iface < s->ifs->n ? s->ifs->v[iface].local : iface;
}

u32 cap_active_interface(const struct cap_src *s, u32 k)
{
	return s->ifs && k < MIN(s->active, (u32)CUR_MAX) ? s->act[k] : 0;
}

void cap_frames_iface(struct cap_src *s, const u32 *frames, size_t n, u32 *out)
{
	char e[256];
	size_t j = 0;
	struct pcapfile *pf = s->ifs ? pcapng_open(s->fd, s->ifs, -2, e, sizeof e) : NULL;
	struct pcap_pkthdr h;
	const u8 *d;
	while (pf && j < n && pcapfile_next(pf, &h, &d) == 1) {
		u32 fr = pcapfile_frame(pf);
		for (; j < n && frames[j] < fr; j++)
			out[j] = UINT32_MAX;
		for (; j < n && frames[j] == fr; j++)
			out[j] = pcapfile_iface(pf);
	}
	for (; j < n; j++)
		out[j] = s->ifs ? UINT32_MAX : 0;
	pcapfile_close(pf);
}
u32 cap_active_interfaces(const struct cap_src *s) { return s->ifs ? s->active : 1; }
int cap_cursors(const struct cap_src *s) { return s->ncur ? (int)s->ncur : 1; }

const char *cap_iface_name(const struct cap_src *s, u32 iface, char *buf, size_t len)
{
	if (!s->ifs || iface >= s->ifs->n)
		snprintf(buf, len, "%u", iface);
	else if (s->ifs->v[iface].name[0])
		str_escape((const u8 *)s->ifs->v[iface].name, strlen(s->ifs->v[iface].name), buf, len);
	else
		snprintf(buf, len, "%u", iface);
	return buf;
}

int cap_gateway(const struct cap_src *s, u32 *inside, const char **why)
{
	if (inside)
		*inside = s->inside;
	if (why)
		*why = s->inside_why;
	return s->gateway;
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
	if (s->has_filter && !s->ifs)
		pcap_freecode(&s->prog);
	for (size_t i = 0; i < s->nfilt; i++)
		if (s->filt[i].ok)
			pcap_freecode(&s->filt[i].prog);
	for (size_t i = 0; i < s->ncur; i++)
		pcapfile_close(s->cur[i].pf);
	free(s->ifs);
	free(s->bpf);
	if (s->fd >= 0)
		close(s->fd);
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
