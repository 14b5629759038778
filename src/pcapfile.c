/* \summary: classic pcap files read in place from a mapping, record by
 * record, with the checks and messages of libpcap's own reader
 * (sf-pcap.c) so that either reader says the same of the same file. */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "panne/pcapfile.h"
#include "panne/util.h"

#define MAGIC_US 0xa1b2c3d4u /* microsecond time stamps */
#define MAGIC_NS 0xa1b23c4du /* nanosecond time stamps */
#define FILE_HDR 24
#define REC_HDR 16
#define MAX_CAPLEN 262144u    /* libpcap's bound for every link type panne decodes */
#define WINDOW (1u << 20)    /* the mapping moves on in steps this large... */
#define OVERLAP (288u << 10) /* ...and reaches this far past them: a whole record */
#define AHEAD 4096            /* prefetch distance, bytes */
#define MAPS_MAX 64           /* files mapped at once (--merge reads at most 64) */

struct pcapfile {
	int fd;         /* the caller's, open as long as this is */
	const u8 *win;  /* the mapped window of the file, page aligned */
	u64 wbase;      /* its offset in the file */
	size_t wlen;    /* its length */
	u64 size;       /* file size when opened */
	u64 off;        /* next record's offset in the file */
	u32 snaplen;    /* libpcap's snapshot length for the file */
	int ns;         /* time stamps in nanoseconds */
	int slot;       /* index in maps[] */
	char error[256];
};

/* What the SIGBUS handler needs: a file that shrinks under its mapping
 * (another program truncating it) faults on the pages past its new end.
 * The handler puts zeros there and raises the slot's flag; the reader
 * stops at its next record with a message instead of the process dying. */
static struct {
	const u8 *volatile base;
	volatile size_t len;
	volatile sig_atomic_t shrunk;
} maps[MAPS_MAX]; /* a slot is free while its base is NULL */
static size_t page_size;

static void on_sigbus(int sig, siginfo_t *si, void *ctx)
{
	const u8 *a = si->si_addr;
	(void)ctx;
	for (int i = 0; i < MAPS_MAX; i++) {
		const u8 *b = maps[i].base;
		if (!b || a < b || a >= b + maps[i].len)
			continue;
		u8 *from = (u8 *)((uintptr_t)a & ~(uintptr_t)(page_size - 1));
		size_t end = ((uintptr_t)b + maps[i].len + page_size - 1) & ~(uintptr_t)(page_size - 1);
		if (mmap(from, end - (uintptr_t)from, PROT_READ, MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1,
		         0) != MAP_FAILED) {
			maps[i].shrunk = 1;
			return;
		}
		break;
	}
	/* Not ours, or no way to mend it: the default action on the retry. */
	signal(sig, SIG_DFL);
}

static int install_handler(void)
{
	static int done;
	if (done)
		return 0;
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_sigbus;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGBUS, &sa, NULL) < 0)
		return -1;
	page_size = (size_t)sysconf(_SC_PAGESIZE);
	done = 1;
	return 0;
}

/* Maps the window that starts at file offset at (page aligned), in place
 * of the one before. A window, not the whole file: mapped pages and their
 * page tables count in the process's memory, which must not grow with the
 * file's length. size: the file's, as known now. Returns 0, or -1 when
 * mmap fails and the old window stays. */
static int map_at(struct pcapfile *pf, u64 at, u64 size)
{
	size_t len = (size_t)MIN(size - at, (u64)WINDOW + OVERLAP);
	void *m = mmap(NULL, len, PROT_READ, MAP_PRIVATE, pf->fd, (off_t)at);
	if (m == MAP_FAILED)
		return -1;
	if (pf->win)
		munmap((void *)pf->win, pf->wlen);
	pf->win = m;
	pf->wbase = at;
	pf->wlen = len;
	pf->size = size;
	maps[pf->slot].len = len;
	maps[pf->slot].base = m;
	return 0;
}

struct pcapfile *pcapfile_open(int fd, int snaplen)
{
	struct stat st;
	struct {
		u32 magic;
		u16 major, minor;
		u32 zone, sigfigs, snaplen, linktype;
	} hdr;
	int slot;

	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size < FILE_HDR ||
	    (u64)st.st_size > SIZE_MAX / 2 || snaplen <= 0)
		return NULL;
	if (pread(fd, &hdr, sizeof hdr, 0) != (ssize_t)sizeof hdr)
		return NULL;
	/* Version 2.4 in this host's order only: older versions may have
	 * caplen and len swapped, and other byte orders need their fields and
	 * some pseudo-headers swapped; libpcap does all that. */
	if ((hdr.magic != MAGIC_US && hdr.magic != MAGIC_NS) || hdr.major != 2 || hdr.minor != 4)
		return NULL;
	for (slot = 0; slot < MAPS_MAX && maps[slot].base; slot++)
		;
	if (slot == MAPS_MAX || install_handler() < 0)
		return NULL;
	struct pcapfile *pf = xcalloc(1, sizeof *pf);
	pf->fd = fd;
	pf->off = FILE_HDR;
	pf->snaplen = (u32)snaplen;
	pf->ns = hdr.magic == MAGIC_NS;
	pf->slot = slot;
	maps[slot].shrunk = 0;
	if (map_at(pf, 0, (u64)st.st_size) < 0) {
		free(pf);
		return NULL;
	}
	return pf;
}

/* Near the end: a file still being written (tcpdump -w) may have grown
 * since it was opened, and libpcap would read on. Returns 1 if it grew. */
static int grew(struct pcapfile *pf)
{
	struct stat st;
	if (fstat(pf->fd, &st) < 0 || (u64)st.st_size <= pf->size)
		return 0;
	/* The window may end short of the new end: map it again. */
	return map_at(pf, pf->wbase, (u64)st.st_size) == 0;
}

/* 1 if the file holds need bytes from off (off <= size), looking at its
 * size again when not: it may be growing. */
static int holds(struct pcapfile *pf, u64 off, u64 need)
{
	return pf->size - off >= need || (grew(pf) && pf->size - off >= need);
}

__attribute__((format(printf, 2, 3))) static int fail(struct pcapfile *pf, const char *fmt, ...)
{
	va_list ap;
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

int pcapfile_next(struct pcapfile *pf, struct pcap_pkthdr *h, const u8 **data)
{
	u64 off = pf->off;
	if (maps[pf->slot].shrunk)
		return shrank(pf);
	if (off >= pf->wbase + WINDOW && off < pf->size &&
	    map_at(pf, off & ~(u64)(page_size - 1), pf->size) < 0) {
		snprintf(pf->error, sizeof pf->error, "cannot map the file at offset %llu: %s",
		         (unsigned long long)off, strerror(errno));
		return -1;
	}
	if (!holds(pf, off, 1))
		return 0;
	if (!holds(pf, off, REC_HDR))
		return fail(pf, "truncated dump file; tried to read %d header bytes, only got %llu", REC_HDR,
		            (unsigned long long)(pf->size - off));
	u32 w[4];
	memcpy(w, pf->win + (off - pf->wbase), sizeof w);
	if (maps[pf->slot].shrunk)
		return shrank(pf);
	/* The rest of the page where a shrunk file now ends reads as zeros
	 * without a fault: an all-zero header is worth one fstat. */
	if (!(w[0] | w[1] | w[2] | w[3])) {
		struct stat st;
		if (fstat(pf->fd, &st) == 0 && (u64)st.st_size < off + REC_HDR)
			return shrank(pf);
	}
	u32 caplen = w[2];
	if (caplen > MAX_CAPLEN) {
		if (caplen > pf->snaplen)
			return fail(pf, "invalid packet capture length %u, bigger than snaplen of %u", caplen,
			            pf->snaplen);
		return fail(pf, "invalid packet capture length %u, bigger than maximum of %u", caplen,
		            MAX_CAPLEN);
	}
	u32 take = caplen;
	if (caplen > pf->snaplen) {
		/* libpcap keeps the first snaplen bytes and skips the rest. */
		if (!holds(pf, off + REC_HDR, pf->snaplen))
			return fail(pf, "truncated dump file; tried to read %u captured bytes, only got %llu",
			            pf->snaplen, (unsigned long long)(pf->size - off - REC_HDR));
		take = pf->snaplen;
	}
	if (!holds(pf, off + REC_HDR, caplen))
		return fail(pf, "truncated dump file; tried to read %u captured bytes, only got %llu", caplen,
		            (unsigned long long)(pf->size - off - REC_HDR));
	if (off - pf->wbase + REC_HDR + caplen > pf->wlen) /* cannot be, by OVERLAP */
		return fail(pf, "record at offset %llu past the mapped window", (unsigned long long)off);
	const u8 *r = pf->win + (off - pf->wbase); /* after holds(): the window may have moved */
	/* The file's fields are 32-bit signed, as libpcap reads them. */
	h->ts.tv_sec = (i32)w[0];
	h->ts.tv_usec = pf->ns ? (i32)w[1] / 1000 : (i32)w[1];
	h->caplen = take;
	h->len = w[3];
	*data = r + REC_HDR;
	pf->off = off + REC_HDR + caplen;
	/* The next header, and the file a page ahead: memory, not the CPU,
	 * bounds a reader that touches a few lines of each record. The page
	 * ahead with low locality, so that payloads never read push less of
	 * the flow table out of the caches (3 % faster than full locality;
	 * non-temporal was 15 % slower). */
	u64 next = pf->off - pf->wbase;
	__builtin_prefetch(pf->win + next);
	for (u64 k = off - pf->wbase + AHEAD; k < next + AHEAD && k < pf->wlen; k += 64)
		__builtin_prefetch(pf->win + k, 0, 1);
	return 1;
}

const char *pcapfile_error(const struct pcapfile *pf) { return pf->error; }
u64 pcapfile_offset(const struct pcapfile *pf) { return pf->off; }

void pcapfile_close(struct pcapfile *pf)
{
	if (!pf)
		return;
	maps[pf->slot].base = NULL;
	if (pf->win)
		munmap((void *)pf->win, pf->wlen);
	free(pf);
}
