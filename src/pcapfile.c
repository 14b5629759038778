/* \summary: capture files read record by record through a buffer of the
 * cursor's own: classic pcap with the checks and messages of libpcap's own
 * reader (sf-pcap.c) so that either reader says the same of the same file,
 * and pcapng in full, with the checks of libpcap's and Wireshark's readers. */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "panne/pcapfile.h"
#include "panne/util.h"

#define MAGIC_US 0xa1b2c3d4u /* microsecond time stamps */
#define MAGIC_NS 0xa1b23c4du /* nanosecond time stamps */
#define FILE_HDR 24
#define REC_HDR 16
#define MAX_CAPLEN 262144u    /* libpcap's bound for every link type panne decodes */
#define RD_BUF (256u << 10) /* classic pcap: read this much at a time, which stays in
                               the core's L2 cache (mapped, 1.7 times slower: page faults) */
#define RD_CAP (RD_BUF + REC_HDR + MAX_CAPLEN) /* the buffer, which holds any record */

struct pcapfile {
	int fd;         /* the caller's, open as long as this is */
	u64 size;       /* file size, as last seen: a file being written grows */
	u64 off;        /* next record's offset in the file */
	u32 snaplen;    /* libpcap's snapshot length for the file */
	int ns;         /* time stamps in nanoseconds */
	/* read with pread(2) into a buffer of the cursor's own */
	u8 *buf;
	u32 bcap;       /* its size (pcapng: grows for a block up to NG_PARSED_MAX) */
	u32 blen, boff; /* bytes held, bytes consumed (classic pcap) */
	u64 bat;        /* file offset of buf[blen] */
	/* pcapng only */
	int ng;         /* a pcapng cursor */
	int swap;       /* the current section is in the other byte order */
	struct pcapng_ifs *ifs; /* shared by the file's cursors */
	int only;       /* interface handed out, or -1: every unclaimed one */
	u32 nif_seen;   /* interface description blocks passed */
	u32 sec_base;   /* global index of the current section's interface 0 */
	u32 sec_n;      /* interfaces of the current section so far */
	u32 frame;      /* packet blocks passed */
	u32 iface;      /* global interface of the last record */
	struct timeval last_ts; /* time of the last packet with one */
	char error[256];
};

int pcapfile_classic(int fd, struct pcapfile_hdr *out)
{
	struct {
		u32 magic;
		u16 major, minor;
		u32 zone, sigfigs, snaplen, linktype;
	} hdr;
	if (fd < 0 || pread(fd, &hdr, sizeof hdr, 0) != (ssize_t)sizeof hdr)
		return 0;
	/* Version 2.4 in this host's order only: older versions may have
	 * caplen and len swapped, and other byte orders need their fields and
	 * some pseudo-headers swapped; libpcap does all that. */
	if ((hdr.magic != MAGIC_US && hdr.magic != MAGIC_NS) || hdr.major != 2 || hdr.minor != 4)
		return 0;
	if (out) {
		out->ns = hdr.magic == MAGIC_NS;
		out->snaplen = hdr.snaplen;
		out->linktype = hdr.linktype;
		out->data_at = FILE_HDR;
	}
	return 1;
}

struct pcapfile *pcapfile_open(int fd, int snaplen)
{
	struct stat st;
	struct pcapfile_hdr hdr;

	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size < FILE_HDR ||
	    snaplen <= 0 || !pcapfile_classic(fd, &hdr))
		return NULL;
	struct pcapfile *pf = xcalloc(1, sizeof *pf);
	pf->fd = fd;
	pf->off = pf->bat = FILE_HDR;
	pf->size = (u64)st.st_size;
	pf->snaplen = (u32)snaplen;
	pf->ns = hdr.ns;
	pf->bcap = RD_CAP;
	pf->buf = xmalloc(RD_CAP);
	return pf;
}

/* Near the end: a file still being written (tcpdump -w) may have grown
 * since it was opened, and libpcap would read on. Returns 1 if it grew. */
static int grew(struct pcapfile *pf)
{
	struct stat st;
	if (fstat(pf->fd, &st) < 0 || (u64)st.st_size <= pf->size)
		return 0;
	pf->size = (u64)st.st_size;
	return 1;
}

/* 1 if the file holds need bytes from off (off <= size), looking at its
 * size again when not: it may be growing. */
static int holds(struct pcapfile *pf, u64 off, u64 need)
{
	return pf->size - off >= need || (grew(pf) && pf->size - off >= need);
}

static int shrank(struct pcapfile *pf);

__attribute__((format(printf, 2, 3))) static int fail(struct pcapfile *pf, const char *fmt, ...)
{
	va_list ap;
	struct stat st;
	/* A file cut short since it was opened reads as damage: say what it is. */
	if (pf->ng && fstat(pf->fd, &st) == 0 && (u64)st.st_size < pf->size)
		return shrank(pf);
	va_start(ap, fmt);
	vsnprintf(pf->error, sizeof pf->error, fmt, ap);
	va_end(ap);
	return -1;
}

static int shrank(struct pcapfile *pf)
{
	snprintf(pf->error, sizeof pf->error,
	         "the file shrank while panne read it: another program truncated or rewrote it; "
	         "read a copy that is not being written");
	return -1;
}

static int ng_next(struct pcapfile *pf, struct pcap_pkthdr *h, const u8 **data);

/* Keeps the last keep bytes of the buffer, moved to its start, and reads on
 * until it holds need bytes or the file ends. 0, or -1 when read(2) fails
 * (errno says why). */
static int fill(struct pcapfile *pf, u32 keep, u32 need)
{
	memmove(pf->buf, pf->buf + (pf->blen - keep), keep);
	pf->blen = keep;
	pf->boff = 0;
	while (pf->blen < need) {
		ssize_t got = pread(pf->fd, pf->buf + pf->blen, pf->bcap - pf->blen, (off_t)pf->bat);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return -1;
		if (got == 0)
			break;
		pf->blen += (u32)got;
		pf->bat += (u64)got;
	}
	if (pf->bat > pf->size)
		pf->size = pf->bat; /* a file still being written (tcpdump -w) grew */
	return 0;
}

/* Classic pcap: the buffer holds need bytes from the next record on, or
 * all the file has. 0, or -1 with the error set. */
static int refill(struct pcapfile *pf, u32 need)
{
	if (fill(pf, pf->blen - pf->boff, need) == 0)
		return 0;
	snprintf(pf->error, sizeof pf->error, "cannot read the file at offset %llu: %s",
	         (unsigned long long)pf->bat, strerror(errno));
	return -1;
}

/* The file ends short of what a record needs: cut from the start, or cut
 * since it was opened (another program truncated it). */
__attribute__((format(printf, 2, 3))) static int cut(struct pcapfile *pf, const char *fmt, ...)
{
	struct stat st;
	if (fstat(pf->fd, &st) == 0 && (u64)st.st_size < pf->size)
		return shrank(pf);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(pf->error, sizeof pf->error, fmt, ap);
	va_end(ap);
	return -1;
}

int pcapfile_next(struct pcapfile *pf, struct pcap_pkthdr *h, const u8 **data)
{
	if (pf->ng)
		return ng_next(pf, h, data);
	if (pf->blen - pf->boff < REC_HDR && refill(pf, REC_HDR) < 0)
		return -1;
	u32 have = pf->blen - pf->boff;
	if (!have) {
		struct stat st;
		return fstat(pf->fd, &st) == 0 && (u64)st.st_size < pf->size ? shrank(pf) : 0;
	}
	if (have < REC_HDR)
		return cut(pf, "truncated dump file; tried to read %d header bytes, only got %u", REC_HDR, have);
	u32 w[4];
	memcpy(w, pf->buf + pf->boff, sizeof w);
	u32 caplen = w[2];
	if (caplen > MAX_CAPLEN) {
		if (caplen > pf->snaplen)
			return fail(pf, "invalid packet capture length %u, bigger than snaplen of %u", caplen,
			            pf->snaplen);
		return fail(pf, "invalid packet capture length %u, bigger than maximum of %u", caplen,
		            MAX_CAPLEN);
	}
	if (have < REC_HDR + caplen) {
		if (refill(pf, REC_HDR + caplen) < 0)
			return -1;
		have = pf->blen - pf->boff;
		u32 take = MIN(caplen, pf->snaplen);
		if (have < REC_HDR + take)
			return cut(pf, "truncated dump file; tried to read %u captured bytes, only got %u", take,
			           have - REC_HDR);
		if (have < REC_HDR + caplen) /* libpcap keeps the first snaplen bytes and skips the rest */
			return cut(pf, "truncated dump file; tried to read %u captured bytes, only got %u", caplen,
			           have - REC_HDR);
	}
	const u8 *r = pf->buf + pf->boff;
	/* The file's fields are 32-bit signed, as libpcap reads them. */
	h->ts.tv_sec = (i32)w[0];
	h->ts.tv_usec = pf->ns ? (i32)w[1] / 1000 : (i32)w[1];
	h->caplen = MIN(caplen, pf->snaplen);
	h->len = w[3];
	*data = r + REC_HDR;
	pf->boff += REC_HDR + caplen;
	pf->off += REC_HDR + caplen;
	pf->frame++;
	return 1;
}

/* ---- pcapng ---- */

#define NG_SHB 0x0A0D0D0Au
#define NG_IDB 1u
#define NG_PB 2u  /* obsolete Packet Block */
#define NG_SPB 3u
#define NG_ISB 5u
#define NG_EPB 6u
#define NG_JOURNAL 9u   /* systemd journal export */
#define NG_CB_COPY 0x00000BADu /* custom blocks */
#define NG_CB_NOCOPY 0x40000BADu
#define NG_BOM 0x1A2B3C4Du
#define NG_MAX_BLOCK (16u << 20) /* libpcap's bound for a block */
#define NG_PARSED_MAX ((1u << 20) - 4096) /* blocks read whole: up to this long */

static inline u32 ng32(const struct pcapfile *pf, const u8 *p)
{
	u32 v;
	memcpy(&v, p, 4);
	return pf->swap ? __builtin_bswap32(v) : v;
}

static inline u16 ng16(const struct pcapfile *pf, const u8 *p)
{
	u16 v;
	memcpy(&v, p, 2);
	return pf->swap ? __builtin_bswap16(v) : v;
}

static inline u64 ng64(const struct pcapfile *pf, const u8 *p)
{
	u64 v;
	memcpy(&v, p, 8);
	return pf->swap ? __builtin_bswap64(v) : v;
}

/* The n bytes at off (off + n <= the file size, n <= NG_PARSED_MAX), in
 * the cursor's buffer, which moves on to off when they are not all in it
 * (valid until the next call). NULL when the file no longer holds them or
 * read(2) fails. */
static const u8 *ng_at(struct pcapfile *pf, u64 off, u64 n)
{
	u64 base = pf->bat - pf->blen;
	if (off >= base && off + n <= pf->bat)
		return pf->buf + (off - base);
	if (n > pf->bcap) { /* a block longer than the buffer (at most NG_PARSED_MAX) */
		pf->bcap = (u32)n;
		pf->buf = xrealloc(pf->buf, pf->bcap);
	}
	/* What the buffer already holds from off on stays; the rest is read. */
	u32 keep = off >= base && off < pf->bat ? (u32)(pf->bat - off) : 0;
	if (!keep) {
		pf->blen = 0;
		pf->bat = off;
	}
	if (fill(pf, keep, (u32)n) < 0 || pf->blen < n)
		return NULL;
	return pf->buf;
}

int pcapng_detect(int fd)
{
	u32 m;
	return pread(fd, &m, 4, 0) == 4 && m == NG_SHB;
}

struct pcapfile *pcapng_open(int fd, struct pcapng_ifs *ifs, int only, char *err, size_t errlen)
{
	struct stat st;
	u8 h[12];
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (u64)st.st_size > SIZE_MAX / 2) {
		snprintf(err, errlen, "not a regular file");
		return NULL;
	}
	if (pread(fd, h, sizeof h, 0) != (ssize_t)sizeof h) {
		snprintf(err, errlen, "truncated pcapng dump file; the section header block is cut");
		return NULL;
	}
	u32 t, bom;
	memcpy(&t, h, 4);
	memcpy(&bom, h + 8, 4);
	if (t != NG_SHB || (bom != NG_BOM && __builtin_bswap32(bom) != NG_BOM)) {
		snprintf(err, errlen, "not a pcapng file (no section header block with a byte-order magic)");
		return NULL;
	}
	struct pcapfile *pf = xcalloc(1, sizeof *pf);
	pf->fd = fd;
	pf->ng = 1;
	pf->ifs = ifs;
	pf->only = only;
	pf->size = (u64)st.st_size;
	pf->bcap = RD_CAP;
	pf->buf = xmalloc(pf->bcap);
	if (only >= 0 && (u32)only < PCAPNG_IF_MAX)
		ifs->v[only].claimed = 1;
	return pf;
}

/* Walks the options of a block, from p to end: calls back with each
 * option's code, value and length. -1 when an option runs past the end. */
static int ng_options(struct pcapfile *pf, const u8 *p, const u8 *end,
                      void (*one)(struct pcapfile *pf, void *u, u16 code, const u8 *v, u16 len), void *u)
{
	while (end - p >= 4) {
		u16 code = ng16(pf, p), len = ng16(pf, p + 2);
		p += 4;
		if (code == 0)
			return 0; /* opt_endofopt */
		if ((size_t)(end - p) < len)
			return -1;
		one(pf, u, code, p, len);
		p += (len + 3u) & ~3u;
		if (p > end)
			return 0; /* the last option's padding is cut: Wireshark takes it */
	}
	return 0;
}

struct idb_opts {
	struct pcapng_if *i;
	int bad; /* an option panne cannot use: its message */
	char why[96];
};

static void idb_option(struct pcapfile *pf, void *u, u16 code, const u8 *v, u16 len)
{
	struct idb_opts *o = u;
	struct pcapng_if *i = o->i;
	switch (code) {
	case 2: /* if_name */
	case 3: /* if_description */
	{
		char *d = code == 2 ? i->name : i->descr;
		size_t n = MIN((size_t)len, (size_t)PCAPNG_NAME_MAX - 1);
		memcpy(d, v, n);
		d[n] = 0;
		d[strnlen(d, n)] = 0;
		break;
	}
	case 9: /* if_tsresol: 10^-v, or 2^-v with the high bit set */
		if (len != 1) {
			o->bad = 1;
			snprintf(o->why, sizeof o->why, "if_tsresol option of length %u, not 1", len);
			break;
		}
		if (v[0] & 0x80) {
			if ((v[0] & 0x7f) > 63) {
				o->bad = 1;
				snprintf(o->why, sizeof o->why, "unsupported time stamp resolution 2^-%u", v[0] & 0x7f);
				break;
			}
			i->units = 1ull << (v[0] & 0x7f);
		} else {
			if (v[0] > 19) {
				o->bad = 1;
				snprintf(o->why, sizeof o->why, "unsupported time stamp resolution 10^-%u", v[0]);
				break;
			}
			u64 m = 1;
			for (u8 k = 0; k < v[0]; k++)
				m *= 10;
			i->units = m;
		}
		break;
	case 14: /* if_tsoffset, seconds */
		if (len == 8)
			i->tsoffset = (i64)ng64(pf, v);
		break;
	default:
		break;
	}
}

static void isb_option(struct pcapfile *pf, void *u, u16 code, const u8 *v, u16 len)
{
	struct pcapng_if *i = u;
	if (len != 8)
		return;
	if (code == 5) { /* isb_ifdrop */
		i->ifdrop = ng64(pf, v);
		i->has_ifdrop = 1;
	} else if (code == 7) { /* isb_osdrop */
		i->osdrop = ng64(pf, v);
		i->has_osdrop = 1;
	}
}

/* A packet's time stamp in its interface's units, as a struct timeval. */
static void ng_time(const struct pcapng_if *i, u64 t, struct timeval *tv)
{
	u64 sec, usec;
	if (i->units == 1000000u) {
		sec = t / 1000000u;
		usec = t % 1000000u;
	} else {
		sec = t / i->units;
		usec = (u64)((unsigned __int128)(t % i->units) * 1000000u / i->units);
	}
	tv->tv_sec = (time_t)((i64)sec + i->tsoffset);
	tv->tv_usec = (suseconds_t)usec;
}

static int ng_next(struct pcapfile *pf, struct pcap_pkthdr *h, const u8 **data)
{
	for (;;) {
		u64 off = pf->off;
		if (!holds(pf, off, 1))
			return 0;
		if (!holds(pf, off, 8))
			return fail(pf, "truncated pcapng dump file; tried to read 8 block header bytes, only got %llu",
			            (unsigned long long)(pf->size - off));
		const u8 *b = ng_at(pf, off, 8);
		if (!b)
			return fail(pf, "cannot read the file at offset %llu: %s", (unsigned long long)off, strerror(errno));
		u32 type, len;
		memcpy(&type, b, 4);
		if (type == NG_SHB) {
			/* The section's byte order comes before its length. */
			if (!holds(pf, off, 12))
				return fail(pf, "truncated pcapng dump file; the section header block is cut");
			b = ng_at(pf, off, 12);
			if (!b)
				return fail(pf, "cannot read the file at offset %llu", (unsigned long long)off);
			u32 bom;
			memcpy(&bom, b + 8, 4);
			if (bom == NG_BOM)
				pf->swap = 0;
			else if (__builtin_bswap32(bom) == NG_BOM)
				pf->swap = 1;
			else
				return fail(pf, "section header block with a byte-order magic 0x%08x that is not 0x1a2b3c4d "
				            "in either byte order", bom);
		} else {
			type = ng32(pf, b);
		}
		len = ng32(pf, b + 4);
		if (!type && !len) {
			struct stat st;
			if (fstat(pf->fd, &st) == 0 && (u64)st.st_size < off + 8)
				return shrank(pf);
		}
		if (len < 12)
			return fail(pf, "block in pcapng dump file has a length of %u < 12", len);
		if (len % 4)
			return fail(pf, "block in pcapng dump file has a length of %u that is not a multiple of 4", len);
		if (len > NG_MAX_BLOCK)
			return fail(pf, "pcapng block size %u > maximum %u", len, NG_MAX_BLOCK);
		if (!holds(pf, off, len))
			return fail(pf, "truncated pcapng dump file; tried to read %u block bytes, only got %llu", len,
			            (unsigned long long)(pf->size - off));
		int parse = type == NG_SHB || type == NG_IDB || type == NG_EPB || type == NG_SPB ||
		            type == NG_PB || type == NG_ISB;
		if (parse && len > NG_PARSED_MAX)
			return fail(pf, "pcapng block of type %u and %u bytes: larger than panne reads (%u)", type, len,
			            NG_PARSED_MAX);
		/* A block read whole is read once, its trailing length with it. */
		b = parse ? ng_at(pf, off, len) : NULL;
		const u8 *t = parse ? (b ? b + len - 4 : NULL) : ng_at(pf, off + len - 4, 4);
		if (!t)
			return fail(pf, "cannot read the file at offset %llu", (unsigned long long)off);
		u32 len2 = ng32(pf, t);
		if (len2 != len)
			return fail(pf, "block total lengths differ (%u at the start of the block, %u at its end)", len,
			            len2);
		if (!parse) { /* NRB, DSB, custom, unknown: skipped by length */
			/* Wireshark shows custom blocks and systemd journal entries
			 * as frames of their own: they count, as in its numbering. */
			pf->frame += type == NG_CB_COPY || type == NG_CB_NOCOPY || type == NG_JOURNAL;
			pf->off = off + len;
			continue;
		}
		const u8 *end = b + len - 4;
		pf->off = off + len;
		u32 ifc, caplen, wire, hi = 0, lo = 0;
		const u8 *pkt;
		switch (type) {
		case NG_SHB: {
			if (len < 28)
				return fail(pf, "section header block has a length of %u < 28", len);
			u16 major = ng16(pf, b + 12), minor = ng16(pf, b + 14);
			if (major != 1)
				return fail(pf, "unsupported pcapng savefile version %u.%u", major, minor);
			pf->sec_base = pf->nif_seen;
			pf->sec_n = 0;
			continue;
		}
		case NG_IDB: {
			if (len < 20)
				return fail(pf, "interface description block has a length of %u < 20", len);
			if (pf->nif_seen == PCAPNG_IF_MAX)
				return fail(pf, "more than %u interfaces in the file", PCAPNG_IF_MAX);
			u32 g = pf->nif_seen;
			struct pcapng_if tmp = { 0 }, *i = g < pf->ifs->n ? &tmp : &pf->ifs->v[g];
			u8 claimed = i->claimed;
			memset(i, 0, sizeof *i);
			i->claimed = claimed;
			i->linktype = ng16(pf, b + 8);
			i->snaplen = ng32(pf, b + 12);
			i->units = 1000000u;
			struct idb_opts o = { .i = i };
			if (ng_options(pf, b + 16, end, idb_option, &o) < 0)
				return fail(pf, "interface description block %u: an option runs past the block's end", g);
			if (o.bad)
				return fail(pf, "interface description block %u: %s", g, o.why);
			i->local = pf->sec_n;
			pf->nif_seen++;
			pf->sec_n++;
			if (g == pf->ifs->n)
				pf->ifs->n++;
			continue;
		}
		case NG_ISB: {
			if (len < 24)
				return fail(pf, "interface statistics block has a length of %u < 24", len);
			ifc = ng32(pf, b + 8);
			if (ifc >= pf->sec_n)
				return fail(pf, "an interface statistics block for interface %u, but there's no Interface "
				            "Description Block for that interface", ifc);
			struct pcapng_if *i = &pf->ifs->v[pf->sec_base + ifc];
			if (ng_options(pf, b + 20, end, isb_option, i) < 0)
				return fail(pf, "interface statistics block: an option runs past the block's end");
			continue;
		}
		case NG_EPB:
		case NG_PB:
			if (len < 32)
				return fail(pf, "%s packet block has a length of %u < 32",
				            type == NG_EPB ? "enhanced" : "obsolete", len);
			ifc = type == NG_EPB ? ng32(pf, b + 8) : ng16(pf, b + 8);
			hi = ng32(pf, b + 12);
			lo = ng32(pf, b + 16);
			caplen = ng32(pf, b + 20);
			wire = ng32(pf, b + 24);
			pkt = b + 28;
			if (caplen > (u32)(end - pkt))
				return fail(pf, "%s packet block has a captured length of %u, more than the block holds",
				            type == NG_EPB ? "enhanced" : "obsolete", caplen);
			break;
		default: /* NG_SPB */
			if (len < 16)
				return fail(pf, "simple packet block has a length of %u < 16", len);
			ifc = 0;
			wire = ng32(pf, b + 8);
			pkt = b + 12;
			caplen = MIN(wire, (u32)(end - pkt));
			break;
		}
		if (ifc >= pf->sec_n)
			return fail(pf, "a packet arrived on interface %u, but there's no Interface Description Block "
			            "for that interface", ifc);
		u32 g = pf->sec_base + ifc;
		const struct pcapng_if *i = &pf->ifs->v[g];
		if (type == NG_SPB && i->snaplen && caplen > i->snaplen)
			caplen = i->snaplen;
		if (caplen > MAX_CAPLEN)
			return fail(pf, "invalid packet capture length %u, bigger than maximum of %u", caplen, MAX_CAPLEN);
		pf->frame++;
		if ((pf->only >= 0 && g != (u32)pf->only) || (pf->only == -1 && i->claimed))
			continue;
		pf->iface = g;
		if (type == NG_SPB) {
			/* No time stamp: the cursor's last one stands, so that the
			 * packet keeps its place in time. */
			h->ts = pf->last_ts;
		} else {
			ng_time(i, ((u64)hi << 32) | lo, &h->ts);
			pf->last_ts = h->ts;
		}
		h->caplen = caplen;
		h->len = wire;
		*data = pkt;
		return 1;
	}
}

u32 pcapfile_frame(const struct pcapfile *pf) { return pf->frame; }
u32 pcapfile_iface(const struct pcapfile *pf) { return pf->iface; }

const char *pcapfile_error(const struct pcapfile *pf) { return pf->error; }
u64 pcapfile_offset(const struct pcapfile *pf) { return pf->off; }

void pcapfile_seek(struct pcapfile *pf, u64 off)
{
	if (pf->ng)
		return;
	pf->off = pf->bat = off;
	pf->blen = pf->boff = 0;
}

void pcapfile_close(struct pcapfile *pf)
{
	if (!pf)
		return;
	free(pf->buf);
	free(pf);
}
