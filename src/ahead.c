/* \summary: look-ahead threads that judge certificate chains before the
 * packet thread needs them (see ahead.h). Each thread reads every input on
 * a cursor of its own, decodes with decode_packet() (which keeps no state),
 * follows TLS handshakes in a small table of its own, and judges the chains
 * of its share of the connections (by address hash). Nothing it does
 * changes the report: it only fills the verdict cache. */
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "panne/ahead.h"
#include "panne/capture.h"
#include "panne/cert.h"
#include "panne/config.h"
#include "panne/decode.h"
#include "panne/pcapfile.h"
#include "panne/services.h"
#include "panne/util.h"

#define AHEAD_FILES 16   /* inputs looked ahead in (the first ones of --merge) */
#define FLOWS 4096       /* handshakes followed at once per thread, direct-mapped */
#define BUFS 64          /* of which this many hold reassembly buffers */
#define CH_MAX 4096      /* a ClientHello longer than this is not followed */
#define REC_MAX (16384 + 5 + 2048) /* one TLS record (RFC 8446 section 5.2) */
#define HS_MAX 16384     /* server handshake bytes up to the end of Certificate */
#define LEAD_BYTES (16u << 20) /* bytes of the file a thread may be ahead of the packet
                            thread: a few hundred chains at most, which the verdict
                            cache (CERT_CACHE_CAP) still holds when it gets there */
#define SPARSE_BYTES (32u << 20) /* a classic file's stretch with fewer than SPARSE_MIN */
#define SPARSE_MIN 8     /* chains to judge does not pay for reading it twice: the
                            thread sleeps until the packet thread judges that many
                            itself, then reads on from where the packet thread is */
#define START_BYTES (32u << 20) /* the threads start once the packet thread has judged */
#define START_CHAINS 96  /* this many chains itself within a stretch this long of one
                            input: ~10 ms of verification, where a second thread costs
                            the packet thread a few % of its time (PANNE_AHEAD_CHAINS) */
#define NEAR_BYTES (8u << 20) /* nearer than this, the thread only reads on: the packet
                            thread, about to get there, judges those chains itself,
                            and the two share the work instead of taking turns */

#define SNAP_MAX 262144  /* libpcap's largest record */

struct input {
	int fd;
	int ng;          /* pcapng */
	int snaplen;     /* classic pcap: as libpcap's pcap_snapshot() reports it */
	int linktype;    /* classic pcap: the header's */
	u16 file;
};

struct buf {
	u8 ch[CH_MAX];
	u8 rec[REC_MAX];
	u8 hs[HS_MAX];
};

struct hflow {
	struct addr cli, srv;
	u16 cport, sport;
	u8 used;
	u8 ch_done;      /* the ClientHello was read (name set) */
	u8 srv_started;
	u32 cnext, snext;  /* next sequence number expected from each side */
	u32 chlen, reclen, hslen;
	u32 hs_off;        /* handshake messages consumed from hs */
	char name[NAME_MAX_LEN + 1];
	struct buf *b;
};

struct worker {
	pthread_t th;
	int id, n;
	struct pcapfile *pf[AHEAD_FILES]; /* a cursor of the thread's own per input */
	struct pcapng_ifs *ifs[AHEAD_FILES];
	struct hflow *flows;
	struct buf *free_bufs[BUFS];
	int nfree;
	u64 seen, judged, naps, mib;
	int near;        /* the packet thread is less than NEAR_BYTES behind, or ahead */
	int next_file;   /* dormant while the packet thread went on to the next input */
	u64 win_at, win_judged; /* where the current stretch began, judged by then */
	u64 from[AHEAD_FILES];  /* where the packet thread was when the thread started */
	u64 recs;
};

static struct input ins[AHEAD_FILES];
static int nins;
static struct worker *ws;
static int nws, nstarted;
static atomic_int stopping;
static u64 tot_seen, tot_judged, tot_naps, tot_mib; /* of the threads that ran, once stopped */
static _Atomic u64 progress[AHEAD_FILES]; /* the packet thread's offset + 1; 0 unknown */
static int want_jobs;      /* threads to start once chains come thick (ahead_start) */
static u64 start_chains = START_CHAINS;
static u64 st_at[AHEAD_FILES], st_own[AHEAD_FILES]; /* the packet thread's stretch of each input */
static int launched, started_file; /* started, on which input (-1: from the start) */
static u64 started_at;              /* ...and where the packet thread was in it */

static void launch(int file, u64 off);

void ahead_progress(u16 file, u64 off)
{
	if (file >= AHEAD_FILES)
		return;
	atomic_store_explicit(&progress[file], off + 1, memory_order_relaxed);
	if (!want_jobs)
		return;
	u64 own = cert_own_judged();
	if (off < st_at[file] || off - st_at[file] >= START_BYTES) {
		st_at[file] = off;
		st_own[file] = own;
	} else if (own - st_own[file] >= start_chains) {
		launch(file, off);
	}
}

int ahead_default_jobs(void)
{
	long c = sysconf(_SC_NPROCESSORS_ONLN);
	return c <= 1 ? 0 : (int)MIN(c - 1, 4L);
}

void ahead_open(const char *path, u16 file)
{
	struct pcapfile_hdr h;
	if (nins == AHEAD_FILES || !path || strcmp(path, "-") == 0)
		return;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	struct input *in = &ins[nins];
	memset(in, 0, sizeof *in);
	in->fd = fd;
	in->file = file;
	if (pcapng_detect(fd)) {
		in->ng = 1;
	} else if (pcapfile_classic(fd, &h)) {
		/* as libpcap's pcap_snapshot() reports it */
		in->snaplen = h.snaplen == 0 || h.snaplen > SNAP_MAX ? SNAP_MAX : (int)h.snaplen;
		in->linktype = (int)(h.linktype & 0x03ffffff); /* without the FCS bits, as libpcap */
	} else {
		close(fd);
		return;
	}
	nins++;
}

/* ---- one handshake ---- */

static void release(struct worker *w, struct hflow *f)
{
	if (f->b)
		w->free_bufs[w->nfree++] = f->b;
	f->b = NULL;
	f->used = 0;
}

static u32 be16(const u8 *p) { return (u32)p[0] << 8 | p[1]; }
static u32 be24(const u8 *p) { return (u32)p[0] << 16 | (u32)p[1] << 8 | p[2]; }

/* The name of a whole ClientHello body b[n], as the tls analyzer takes it:
 * the first host_name, escaped, lowercased, without final dots. */
static void take_name(struct hflow *f, const u8 *b, u32 n)
{
	u32 o = 2 + 32;
	f->name[0] = 0;
	if (o >= n)
		return;
	o += 1 + b[o];                        /* session id */
	if (o + 2 > n)
		return;
	o += 2 + be16(b + o);                 /* cipher suites */
	if (o + 1 > n)
		return;
	o += 1 + b[o];                        /* compression methods */
	if (o + 2 > n)
		return;
	u32 end = MIN(n, o + 2 + be16(b + o));
	for (o += 2; o + 4 <= end;) {
		u32 type = be16(b + o), len = be16(b + o + 2);
		o += 4;
		if (o + len > end)
			return;
		if (type == 0 && len >= 2) {
			u32 l = o + 2, le = MIN(o + len, l + be16(b + o));
			while (l + 3 <= le) {
				u32 nt = b[l], nl = be16(b + l + 1);
				l += 3;
				if (l + nl > le)
					return;
				if (nt == 0 && nl && nl <= NAME_MAX_LEN) {
					char esc[NAME_MAX_LEN + 1];
					str_escape(b + l, nl, esc, sizeof esc);
					names_normalize(f->name, sizeof f->name, esc);
					return;
				}
				l += nl;
			}
			return;
		}
		o += len;
	}
}

/* In-order bytes of one side: appends what is new of the segment at seq.
 * Returns the bytes appended, or -1 on a gap or when buf is full. */
static int append(u32 *next, u8 *buf, u32 *len, u32 cap, u32 seq, const u8 *p, u32 n)
{
	u32 skip = *next - seq;
	if ((i32)skip < 0)
		return -1; /* a gap: the tls analyzer stops there too */
	if (skip >= n)
		return 0;  /* a retransmission */
	p += skip;
	n -= skip;
	if (*len + n > cap)
		return -1;
	memcpy(buf + *len, p, n);
	*len += n;
	*next += n;
	return (int)n;
}

/* The handshake messages of the server so far: done (release) after the
 * Certificate, a TLS 1.3 ServerHello or anything unexpected. */
static int server_messages(struct worker *w, struct hflow *f, u64 ts)
{
	u8 *hs = f->b->hs;
	while (f->hslen - f->hs_off >= 4) {
		u8 *m = hs + f->hs_off;
		u32 ml = be24(m + 1);
		if (4 + ml > HS_MAX)
			return 1;
		if (f->hslen - f->hs_off < 4 + ml)
			return 0;
		if (m[0] == 2) { /* ServerHello: TLS 1.3 sends its certificate encrypted */
			const u8 *b = m + 4;
			u32 o = 2 + 32;
			if (ml < o + 1)
				return 1;
			o += 1 + b[o] + 2 + 1;
			if (o + 2 <= ml) {
				u32 end = MIN(ml, o + 2 + be16(b + o));
				for (o += 2; o + 4 <= end; o += 4 + be16(b + o + 2))
					if (be16(b + o) == 43 && be16(b + o + 2) == 2 && o + 6 <= end && be16(b + o + 4) >= 0x0304)
						return 1;
			}
		} else if (m[0] == 11) { /* Certificate: the chain, as parse_certificate() takes it */
			struct cert_der chain[CERT_CHAIN_MAX];
			size_t n = 0;
			const u8 *b = m + 4;
			if (ml >= 3) {
				u32 ll = MIN(be24(b), ml - 3), o = 3, end = 3 + ll;
				while (end - o >= 3) {
					u32 cl = be24(b + o);
					if (cl == 0 || cl > end - o - 3)
						break;
					if (n < CERT_CHAIN_MAX)
						chain[n++] = (struct cert_der){ b + o + 3, cl };
					o += 3 + cl;
				}
			}
			if (n) {
				w->seen++;
				if (!w->near)
					w->judged += (u64)cert_prefetch(w->id, chain, n, f->name, ts);
			}
			return 1;
		}
		f->hs_off += 4 + ml;
	}
	return 0;
}

/* Records of the server so far into hs. 1 when the handshake is done with. */
static int server_records(struct worker *w, struct hflow *f, u64 ts)
{
	u8 *r = f->b->rec;
	u32 o = 0;
	int done = 0;
	while (!done && f->reclen - o >= 5) {
		u32 rl = be16(r + o + 3);
		if (r[o] != 22 || r[o + 1] != 3)
			return 1; /* not handshake before the Certificate: nothing to judge */
		if (5 + rl > REC_MAX)
			return 1;
		if (f->reclen - o < 5 + rl)
			break;
		if (f->hslen + rl > HS_MAX)
			return 1;
		memcpy(f->b->hs + f->hslen, r + o + 5, rl);
		f->hslen += rl;
		o += 5 + rl;
		done = server_messages(w, f, ts);
	}
	memmove(r, r + o, f->reclen - o);
	f->reclen -= o;
	return done;
}

static u32 flow_slot(const struct addr *a, u16 pa, const struct addr *b, u16 pb)
{
	/* the same slot from either direction */
	u32 ha = 2166136261u, hb = 2166136261u;
	for (int i = 0; i < 16; i++) {
		ha = (ha ^ a->b[i]) * 16777619u;
		hb = (hb ^ b->b[i]) * 16777619u;
	}
	ha = (ha ^ pa) * 16777619u;
	hb = (hb ^ pb) * 16777619u;
	return (ha ^ hb) * 2654435761u;
}

static void on_packet(struct worker *w, const struct packet *pk)
{
	u32 h = flow_slot(&pk->src, pk->sport, &pk->dst, pk->dport);
	struct hflow *f = &w->flows[h % FLOWS];
	int c2s;

	if (f->used && addr_eq(&f->cli, &pk->src) && addr_eq(&f->srv, &pk->dst) && f->cport == pk->sport &&
	    f->sport == pk->dport)
		c2s = 1;
	else if (f->used && addr_eq(&f->cli, &pk->dst) && addr_eq(&f->srv, &pk->src) && f->cport == pk->dport &&
	         f->sport == pk->sport)
		c2s = 0;
	else {
		/* A new handshake: a client's first record, a ClientHello, in this
		 * thread's share of the connections. */
		const u8 *p = pk->pl;
		if (pk->pl_len < 6 || p[0] != 22 || p[1] != 3 || p[5] != 1 || (h / FLOWS) % (u32)w->n != (u32)w->id)
			return;
		if (f->used)
			release(w, f);
		if (!w->nfree)
			return; /* every buffer is busy: the packet thread judges these */
		memset(f, 0, sizeof *f);
		f->b = w->free_bufs[--w->nfree];
		f->used = 1;
		f->cli = pk->src;
		f->srv = pk->dst;
		f->cport = pk->sport;
		f->sport = pk->dport;
		f->cnext = pk->seq;
		c2s = 1;
	}
	if (!pk->pl_len)
		return;
	if (c2s) {
		if (f->ch_done)
			return;
		if (append(&f->cnext, f->b->ch, &f->chlen, CH_MAX, pk->seq, pk->pl, pk->pl_len) < 0) {
			release(w, f);
			return;
		}
		/* the whole ClientHello message: within the first record */
		if (f->chlen >= 9) {
			u32 hl = be24(f->b->ch + 6);
			if (9 + hl > CH_MAX || be16(f->b->ch + 3) < 4 + hl) {
				release(w, f);
				return;
			}
			if (f->chlen >= 9 + hl) {
				take_name(f, f->b->ch + 9, hl);
				f->ch_done = 1;
			}
		}
		return;
	}
	if (!f->ch_done) {
		release(w, f);
		return;
	}
	if (!f->srv_started) {
		f->srv_started = 1;
		f->snext = pk->seq;
	}
	if (append(&f->snext, f->b->rec, &f->reclen, REC_MAX, pk->seq, pk->pl, pk->pl_len) < 0 ||
	    server_records(w, f, pk->ts_us))
		release(w, f);
}

/* Where the thread is in file i. */
static u64 offset_of(struct worker *w, int i)
{
	return w->pf[i] ? pcapfile_offset(w->pf[i]) : 0;
}

/* The thread's next record of file i is the one at at, a record boundary
 * of the packet thread's. A pcapng cursor cannot be moved (the interfaces
 * are described on the way): it reads up to there without decoding. */
static void move_to(struct worker *w, int i, u64 at)
{
	w->from[i] = at;
	if (!ins[i].ng && w->pf[i])
		pcapfile_seek(w->pf[i], at);
}

/* Sleeps while the packet thread judges few chains itself; then moves the
 * reader of file i to where the packet thread is (a record boundary) and
 * forgets the handshakes it followed. 0 to stop. */
static int dormant(struct worker *w, int i)
{
	u16 file = ins[i].file;
	if (!atomic_load_explicit(&progress[file], memory_order_relaxed))
		return 1; /* no packet thread to wait for (ahead_scan) */
	w->naps++;
	u64 p0 = atomic_load_explicit(&progress[file], memory_order_relaxed), own0 = cert_own_judged();
	while (!atomic_load_explicit(&stopping, memory_order_relaxed)) {
		struct timespec ts = { 0, 1000000 };
		nanosleep(&ts, NULL);
		u64 p = atomic_load_explicit(&progress[file], memory_order_relaxed), own = cert_own_judged();
		for (int j = i + 1; j < nins; j++)
			if (ins[j].file < AHEAD_FILES && atomic_load_explicit(&progress[ins[j].file], memory_order_relaxed))
				w->next_file = 1;
		if (w->next_file)
			return 1;
		if (own - own0 >= SPARSE_MIN && p) {
			move_to(w, i, p - 1);
			for (u32 j = 0; j < FLOWS; j++)
				release(w, &w->flows[j]);
			w->win_at = p - 1;
			w->win_judged = w->judged;
			return 1;
		}
		if (p - p0 >= SPARSE_BYTES) {
			p0 = p;
			own0 = own;
		}
	}
	return 0;
}

/* Every few records: waits while the thread is LEAD_BYTES ahead of the
 * packet thread in the file; notes whether it is near; on a sparse stretch
 * sleeps (dormant). 0 to stop. */
static int keep_distance(struct worker *w, int i)
{
	u16 file = ins[i].file;
	if (file >= AHEAD_FILES)
		return 1;
	u64 mine = offset_of(w, i);
	if (mine - w->win_at >= SPARSE_BYTES) {
		w->mib += (mine - w->win_at) >> 20;
		int sparse = w->judged - w->win_judged < SPARSE_MIN;
		w->win_at = mine;
		w->win_judged = w->judged;
		if (sparse)
			return dormant(w, i);
	}
	while (!atomic_load_explicit(&stopping, memory_order_relaxed)) {
		u64 p = atomic_load_explicit(&progress[file], memory_order_relaxed);
		w->near = p && mine + 1 < p + NEAR_BYTES;
		if (!p || mine + 1 < p + LEAD_BYTES)
			return 1;
		struct timespec ts = { 0, 1000000 }; /* 16 MiB ahead: no hurry */
		nanosleep(&ts, NULL);
	}
	return 0;
}

static void *run(void *arg)
{
	struct worker *w = arg;
	for (int i = 0; i < nins && !atomic_load(&stopping); i++) {
		struct pcapfile *pf = w->pf[i];
		struct pcap_pkthdr h;
		const u8 *d;
		struct packet pk;
		w->next_file = 0;
		w->win_at = w->from[i];
		w->win_judged = w->judged;
		while (pf && pcapfile_next(pf, &h, &d) == 1) {
			if (pcapfile_offset(pf) <= w->from[i]) {
				if (!(++w->recs & 1023) && atomic_load_explicit(&stopping, memory_order_relaxed))
					break;
				continue;
			}
			if (!(++w->recs & 63) && (!keep_distance(w, i) || w->next_file))
				break;
			u32 iface = ins[i].ng ? pcapfile_iface(pf) : 0;
			struct cap_pkt cp = {
				.data = d, .caplen = h.caplen, .len = h.len,
				.ts_us = (u64)h.ts.tv_sec * 1000000u + (u64)h.ts.tv_usec,
				.linktype = ins[i].ng ? (iface < w->ifs[i]->n ? w->ifs[i]->v[iface].linktype : -1)
				                      : ins[i].linktype,
				.frame = ins[i].ng ? pcapfile_frame(pf) : 0, .file = ins[i].file, .iface = (u16)iface,
			};
			if (cp.linktype < 0 || decode_packet(&cp, &pk) != DEC_OK || pk.proto != 6 || !pk.l4_ok)
				continue;
			on_packet(w, &pk);
			if (atomic_load_explicit(&stopping, memory_order_relaxed))
				break;
		}
	}
	cert_thread_end();
	return NULL;
}

/* A thread's cursors, table and buffers, set up before it starts. */
static void worker_init(struct worker *w, int id, int n)
{
	char e[256];
	memset(w, 0, sizeof *w);
	w->id = id;
	w->n = n;
	for (int i = 0; i < nins; i++) {
		if (ins[i].ng) {
			w->ifs[i] = xcalloc(1, sizeof *w->ifs[i]);
			w->pf[i] = pcapng_open(ins[i].fd, w->ifs[i], -2, e, sizeof e);
		} else {
			w->pf[i] = pcapfile_open(ins[i].fd, ins[i].snaplen);
		}
		/* Started late: from where the packet thread is. */
		u64 p = ins[i].file < AHEAD_FILES ? atomic_load(&progress[ins[i].file]) : 0;
		if (p)
			move_to(w, i, p - 1);
	}
	w->flows = xcalloc(FLOWS, sizeof *w->flows);
	for (int b = 0; b < BUFS; b++)
		w->free_bufs[w->nfree++] = xmalloc(sizeof(struct buf));
}

static void worker_free(struct worker *w)
{
	tot_seen += w->seen;
	tot_judged += w->judged;
	tot_naps += w->naps;
	tot_mib += w->mib;
	for (int i = 0; i < nins; i++) {
		pcapfile_close(w->pf[i]);
		free(w->ifs[i]);
	}
	for (u32 j = 0; j < FLOWS; j++)
		release(w, &w->flows[j]);
	for (int b = 0; b < w->nfree; b++)
		free(w->free_bufs[b]);
	free(w->flows);
}

static void close_inputs(void)
{
	for (int i = 0; i < nins; i++)
		close(ins[i].fd);
	nins = 0;
	for (int i = 0; i < AHEAD_FILES; i++)
		atomic_store(&progress[i], 0);
}

void ahead_start(int jobs)
{
	jobs = MIN(jobs, AHEAD_MAX);
	if (jobs <= 0 || !nins || ws)
		return;
	atomic_store(&stopping, 0);
	for (int i = 0; i < AHEAD_FILES; i++) {
		atomic_store(&progress[i], 0);
		st_at[i] = st_own[i] = 0;
	}
	const char *e = getenv("PANNE_AHEAD_CHAINS");
	start_chains = e && *e ? strtoull(e, NULL, 10) : START_CHAINS;
	launched = 0;
	want_jobs = jobs;
	if (!start_chains)
		launch(-1, 0);
}

/* The threads, on the packet thread's first stretch of START_CHAINS chains
 * to judge: on a capture with fewer chains the packet thread judges them
 * all, for less than a second thread would cost it. */
static void launch(int file, u64 off)
{
	int jobs = want_jobs;
	want_jobs = 0;
	launched = 1;
	started_file = file;
	started_at = off;
	ws = xcalloc((size_t)jobs, sizeof *ws);
	nws = jobs;
	for (int k = 0; k < jobs; k++)
		worker_init(&ws[k], k, jobs);
	for (int k = 0; k < jobs; k++) {
		if (pthread_create(&ws[k].th, NULL, run, &ws[k]) != 0)
			break; /* fewer threads: the packet thread judges the rest */
		nstarted++;
	}
}

int ahead_scan(const char *path)
{
	struct worker w;
	ahead_open(path, 0);
	if (!nins)
		return -1;
	atomic_store(&stopping, 0);
	worker_init(&w, 0, 1);
	run(&w);
	worker_free(&w);
	close_inputs();
	return 0;
}

void ahead_stop(void)
{
	want_jobs = 0;
	atomic_store(&stopping, 1);
	for (int k = 0; k < nstarted; k++)
		pthread_join(ws[k].th, NULL);
	for (int k = 0; k < nws; k++)
		worker_free(&ws[k]);
	free(ws);
	ws = NULL;
	nws = nstarted = 0;
	close_inputs();
}

int ahead_started(int *file, u64 *at)
{
	*file = started_file;
	*at = started_at;
	return launched;
}

void ahead_stats(u64 *seen, u64 *judged, u64 *naps, u64 *mib)
{
	*seen = tot_seen;
	*judged = tot_judged;
	*naps = tot_naps;
	*mib = tot_mib;
}
