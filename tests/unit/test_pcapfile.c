/* \summary: the in-place pcap reader against libpcap's own: every record,
 * every damage message the same on the same file; files it leaves to
 * libpcap; files that shrink or grow while read. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <pcap/pcap.h>

#include "panne/pcapfile.h"

#define MAGIC_US 0xa1b2c3d4u
#define MAGIC_NS 0xa1b23c4du

/* A capture being built in memory. */
struct img {
	u8 *b;
	size_t n, cap;
};

static void put(struct img *m, const void *p, size_t n)
{
	if (m->n + n > m->cap) {
		m->cap = (m->n + n) * 2;
		m->b = realloc(m->b, m->cap);
		assert_non_null(m->b);
	}
	memcpy(m->b + m->n, p, n);
	m->n += n;
}

static void file_hdr(struct img *m, u32 magic, u16 major, u16 minor, u32 snaplen)
{
	u32 h[6];
	memcpy(h, &magic, 4);
	u16 v[2] = { major, minor };
	memcpy(&h[1], v, 4);
	h[2] = 0;
	h[3] = 0;
	h[4] = snaplen;
	h[5] = 1; /* Ethernet */
	put(m, h, sizeof h);
}

/* A record claiming caplen and wire, holding have bytes of a pattern. */
static void record(struct img *m, u32 sec, u32 frac, u32 caplen, u32 wire, u32 have)
{
	u32 h[4] = { sec, frac, caplen, wire };
	put(m, h, sizeof h);
	for (u32 i = 0; i < have; i++) {
		u8 c = (u8)(i * 7 + caplen + sec);
		put(m, &c, 1);
	}
}

static char *write_tmp(const struct img *m)
{
	char *path = strdup("/tmp/panne-pcapfile-XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, m->b, m->n), (ssize_t)m->n);
	close(fd);
	return path;
}

/* Reads path with both readers side by side: same records, same bytes,
 * same end (clean, or the same damage message). Returns the record count. */
static unsigned same_as_libpcap(const char *path)
{
	char eb[PCAP_ERRBUF_SIZE];
	pcap_t *p = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_MICRO, eb);
	assert_non_null(p);
	FILE *fp = fopen(path, "rb");
	assert_non_null(fp);
	struct pcapfile *pf = pcapfile_open(fileno(fp), pcap_snapshot(p));
	assert_non_null(pf);
	unsigned n = 0;
	for (;;) {
		struct pcap_pkthdr *h, mh;
		const u_char *d;
		const u8 *md;
		int a = pcap_next_ex(p, &h, &d);
		int b = pcapfile_next(pf, &mh, &md);
		if (a != 1) {
			assert_int_equal(b, a == PCAP_ERROR_BREAK ? 0 : -1);
			if (b < 0)
				assert_string_equal(pcapfile_error(pf), pcap_geterr(p));
			break;
		}
		assert_int_equal(b, 1);
		assert_int_equal(mh.ts.tv_sec, h->ts.tv_sec);
		assert_int_equal(mh.ts.tv_usec, h->ts.tv_usec);
		assert_int_equal(mh.caplen, h->caplen);
		assert_int_equal(mh.len, h->len);
		assert_memory_equal(md, d, h->caplen);
		n++;
	}
	pcapfile_close(pf);
	fclose(fp);
	pcap_close(p);
	return n;
}

/* same_as_libpcap() on the image m, written to a file; frees m. */
static unsigned same_as_libpcap_img(struct img *m)
{
	char *path = write_tmp(m);
	unsigned n = same_as_libpcap(path);
	unlink(path);
	free(path);
	free(m->b);
	return n;
}

static void reads_every_record_as_libpcap_does(void **st)
{
	(void)st;
	struct img m = { 0 };
	file_hdr(&m, MAGIC_US, 2, 4, 262144);
	srand(7);
	/* Sizes from empty to 64 KiB: records cross the 1 MiB window steps. */
	for (u32 i = 0; i < 3000; i++) {
		u32 cl = i % 50 == 0 ? 65535 : (u32)rand() % 1600;
		record(&m, 1700000000u + i, i * 331 % 1000000, cl, cl + (i & 3), cl);
	}
	assert_int_equal(same_as_libpcap_img(&m), 3000);
}

static void nanosecond_stamps_come_out_in_microseconds(void **st)
{
	(void)st;
	struct img m = { 0 };
	file_hdr(&m, MAGIC_NS, 2, 4, 65535);
	record(&m, 1700000000u, 999999999u, 60, 60, 60);
	record(&m, 1700000001u, 1500u, 60, 60, 60);
	record(&m, 0x80000001u, 5u, 60, 60, 60); /* a second field read as signed, as libpcap does */
	assert_int_equal(same_as_libpcap_img(&m), 3);
}

static void records_longer_than_the_snaplen_are_cut_to_it(void **st)
{
	(void)st;
	struct img m = { 0 };
	file_hdr(&m, MAGIC_US, 2, 4, 100);
	record(&m, 1, 0, 200, 300, 200);
	record(&m, 2, 0, 50, 50, 50);
	record(&m, 3, 0, 101, 101, 101);
	assert_int_equal(same_as_libpcap_img(&m), 3);
}

/* Each damage gives libpcap's own message, after the good records. */
static void damage_is_told_in_libpcap_words(void **st)
{
	(void)st;
	for (int kind = 0; kind < 5; kind++) {
		struct img m = { 0 };
		file_hdr(&m, MAGIC_US, 2, 4, kind == 4 ? 100 : 262144);
		record(&m, 1, 0, 80, 80, 80);
		switch (kind) {
		case 0: /* a record header cut short */
			put(&m, "\1\2\3\4\5", 5);
			break;
		case 1: /* record data cut short */
			record(&m, 2, 0, 80, 80, 30);
			break;
		case 2: /* a length no capture has, bigger than the snaplen */
			record(&m, 2, 0, 0x7fffffff, 80, 0);
			break;
		case 3: /* just over the largest snaplen */
			record(&m, 2, 0, 262145, 262145, 10);
			break;
		case 4: /* longer than the snaplen and cut inside the snaplen */
			record(&m, 2, 0, 200, 200, 60);
			break;
		}
		assert_int_equal(same_as_libpcap_img(&m), 1);
	}
}

static void other_orders_and_versions_are_left_to_libpcap(void **st)
{
	(void)st;
	u32 magics[] = { 0xd4c3b2a1u, 0x4d3cb2a1u, 0x0a0d0d0au };
	for (int i = 0; i < 4; i++) {
		struct img m = { 0 };
		if (i < 3)
			file_hdr(&m, magics[i], 2, 4, 65535);
		else
			file_hdr(&m, MAGIC_US, 2, 3, 65535); /* caplen and len may be swapped in 2.3 */
		record(&m, 1, 0, 60, 60, 60);
		char *path = write_tmp(&m);
		FILE *fp = fopen(path, "rb");
		assert_null(pcapfile_open(fileno(fp), 65535));
		fclose(fp);
		unlink(path);
		free(path);
		free(m.b);
	}
	assert_null(pcapfile_open(-1, 65535));
	int pfd[2];
	assert_int_equal(pipe(pfd), 0);
	assert_null(pcapfile_open(pfd[0], 65535)); /* a pipe cannot be mapped */
	close(pfd[0]);
	close(pfd[1]);
}

/* Another program truncating the file under the reader: a message, not
 * SIGBUS. */
static void a_file_that_shrinks_while_read_stops_with_a_message(void **st)
{
	(void)st;
	for (int cut = 0; cut < 2; cut++) {
		struct img m = { 0 };
		file_hdr(&m, MAGIC_US, 2, 4, 65535);
		for (u32 i = 0; i < 4000; i++)
			record(&m, i, 0, 1000, 1000, 1000);
		char *path = write_tmp(&m);
		FILE *fp = fopen(path, "rb");
		struct pcapfile *pf = pcapfile_open(fileno(fp), 65535);
		assert_non_null(pf);
		struct pcap_pkthdr h;
		const u8 *d;
		unsigned n = 0;
		int rc;
		/* Cut inside the window being read, or past it. */
		assert_int_equal(truncate(path, cut ? 2500000 : 400000), 0);
		while ((rc = pcapfile_next(pf, &h, &d)) == 1) {
			assert_true(h.caplen == 1000);
			n++;
		}
		assert_int_equal(rc, -1);
		assert_non_null(strstr(pcapfile_error(pf), "shrank"));
		assert_true(n < 4000);
		pcapfile_close(pf);
		fclose(fp);
		unlink(path);
		free(path);
		free(m.b);
	}
}

/* A file still being written (tcpdump -w): what was added after it was
 * opened is read, a record cut at opening time included. */
static void a_file_that_grows_while_read_is_read_to_its_new_end(void **st)
{
	(void)st;
	struct img m = { 0 };
	file_hdr(&m, MAGIC_US, 2, 4, 65535);
	for (u32 i = 0; i < 10; i++)
		record(&m, i, 0, 500, 500, 500);
	size_t half = m.n + 16 + 250;
	record(&m, 10, 0, 500, 500, 500);
	struct img first = { m.b, half, half };
	char *path = write_tmp(&first);
	FILE *fp = fopen(path, "rb");
	struct pcapfile *pf = pcapfile_open(fileno(fp), 65535);
	assert_non_null(pf);
	FILE *w = fopen(path, "ab");
	assert_int_equal(fwrite(m.b + half, 1, m.n - half, w), m.n - half);
	fclose(w);
	struct pcap_pkthdr h;
	const u8 *d;
	unsigned n = 0;
	int rc;
	while ((rc = pcapfile_next(pf, &h, &d)) == 1)
		n++;
	assert_int_equal(rc, 0);
	assert_int_equal(n, 11);
	assert_int_equal(h.ts.tv_sec, 10);
	pcapfile_close(pf);
	fclose(fp);
	unlink(path);
	free(path);
	free(m.b);
}

/* pcapng: a section header, interfaces, enhanced packet blocks. */
static void ng_block(struct img *m, u32 type, const void *body, u32 n)
{
	u32 len = 12 + ((n + 3) & ~3u);
	static const u8 zero[4];
	put(m, &type, 4);
	put(m, &len, 4);
	put(m, body, n);
	put(m, zero, (4 - n % 4) % 4);
	put(m, &len, 4);
}

static void ng_start(struct img *m, u32 nif)
{
	struct { u32 bom; u16 major, minor; u64 seclen; } __attribute__((packed)) shb = { 0x1A2B3C4Du, 1, 0, ~0ull };
	ng_block(m, 0x0A0D0D0Au, &shb, sizeof shb);
	for (u32 i = 0; i < nif; i++) {
		struct { u16 lt, res; u32 snap; } idb = { 1, 0, 0 };
		ng_block(m, 1, &idb, sizeof idb);
	}
}

static void ng_epb(struct img *m, u32 iface, u64 ts_us, u32 caplen)
{
	u8 b[20 + 2048] = { 0 };
	u32 h[5] = { iface, (u32)(ts_us >> 32), (u32)ts_us, caplen, caplen };
	memcpy(b, h, sizeof h);
	for (u32 i = 0; i < caplen; i++)
		b[20 + i] = (u8)(i * 7 + iface);
	ng_block(m, 6, b, 20 + caplen);
}

/* The same for pcapng: a shrinking file stops every cursor with a message. */
static void a_pcapng_file_that_shrinks_while_read_stops_with_a_message(void **st)
{
	(void)st;
	struct img m = { 0 };
	ng_start(&m, 1);
	for (u32 i = 0; i < 4000; i++)
		ng_epb(&m, 0, 1000000ull * i, 1000);
	char *path = write_tmp(&m);
	FILE *fp = fopen(path, "rb");
	char err[256];
	struct pcapng_ifs *ifs = calloc(1, sizeof *ifs);
	assert_true(pcapng_detect(fileno(fp)));
	struct pcapfile *pf = pcapng_open(fileno(fp), ifs, -1, err, sizeof err);
	assert_non_null(pf);
	struct pcap_pkthdr h;
	const u8 *d;
	unsigned n = 0;
	int rc;
	assert_int_equal(truncate(path, 2500000), 0);
	while ((rc = pcapfile_next(pf, &h, &d)) == 1) {
		assert_int_equal(h.caplen, 1000);
		assert_int_equal(pcapfile_frame(pf), n + 1);
		n++;
	}
	assert_int_equal(rc, -1);
	assert_non_null(strstr(pcapfile_error(pf), "shrank"));
	assert_true(n < 4000);
	pcapfile_close(pf);
	fclose(fp);
	unlink(path);
	free(path);
	free(m.b);
	free(ifs);
}

/* Two cursors over one file, one per interface: each sees its own packets
 * with the file's frame numbers; nothing else is held in memory. */
static void pcapng_cursors_share_the_frame_numbers(void **st)
{
	(void)st;
	struct img m = { 0 };
	ng_start(&m, 2);
	for (u32 i = 0; i < 3000; i++)
		ng_epb(&m, (i / 100) % 2, 1000ull * i, 600); /* bursts of 100 per interface */
	char *path = write_tmp(&m);
	FILE *fp = fopen(path, "rb");
	char err[256];
	struct pcapng_ifs *ifs = calloc(1, sizeof *ifs);
	struct pcapfile *a = pcapng_open(fileno(fp), ifs, -1, err, sizeof err);
	struct pcapfile *b = pcapng_open(fileno(fp), ifs, 1, err, sizeof err);
	assert_non_null(a);
	assert_non_null(b);
	struct pcap_pkthdr h;
	const u8 *d;
	unsigned na = 0, nb = 0;
	while (pcapfile_next(a, &h, &d) == 1) {
		u32 fr = pcapfile_frame(a);
		assert_int_equal(pcapfile_iface(a), 0);
		assert_int_equal(((fr - 1) / 100) % 2, 0);
		assert_int_equal(h.ts.tv_sec * 1000000ull + h.ts.tv_usec, 1000ull * (fr - 1));
		assert_int_equal(d[1], 7);
		na++;
	}
	while (pcapfile_next(b, &h, &d) == 1) {
		assert_int_equal(pcapfile_iface(b), 1);
		assert_int_equal(((pcapfile_frame(b) - 1) / 100) % 2, 1);
		assert_int_equal(d[1], 8);
		nb++;
	}
	assert_int_equal(na, 1500);
	assert_int_equal(nb, 1500);
	assert_int_equal(ifs->n, 2);
	pcapfile_close(a);
	pcapfile_close(b);
	fclose(fp);
	unlink(path);
	free(path);
	free(m.b);
	free(ifs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(reads_every_record_as_libpcap_does),
		cmocka_unit_test(nanosecond_stamps_come_out_in_microseconds),
		cmocka_unit_test(records_longer_than_the_snaplen_are_cut_to_it),
		cmocka_unit_test(damage_is_told_in_libpcap_words),
		cmocka_unit_test(other_orders_and_versions_are_left_to_libpcap),
		cmocka_unit_test(a_file_that_shrinks_while_read_stops_with_a_message),
		cmocka_unit_test(a_file_that_grows_while_read_is_read_to_its_new_end),
		cmocka_unit_test(a_pcapng_file_that_shrinks_while_read_stops_with_a_message),
		cmocka_unit_test(pcapng_cursors_share_the_frame_numbers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
