/* \summary: capture files read by panne itself, classic pcap and pcapng,
 * with libpcap's checks and messages.
 * libpcap copies every record twice (kernel to stdio, stdio to its buffer);
 * on a file in the page cache those copies cost more than all of panne's
 * analysis (bench/README.md). A file is read with pread(2) into a buffer
 * of the cursor's own that stays in the core's cache, and each record
 * handed out where it lies there (a mapping costs more in page faults than
 * the copy). pcapng is read in full (every interface, several sections,
 * both byte orders), which libpcap cannot do. Pipes, standard input, other
 * classic byte orders and versions, and BPF stay with libpcap. */
#ifndef PANNE_PCAPFILE_H
#define PANNE_PCAPFILE_H

#include <pcap/pcap.h>
#include "panne/types.h"

struct pcapfile;

/* The header of a classic pcap file as pcapfile_open() accepts it. */
struct pcapfile_hdr {
	int ns;         /* nanosecond time stamps */
	u32 snaplen;    /* as written: libpcap's pcap_snapshot() may differ */
	u32 linktype;   /* as written, FCS bits included */
	u32 data_at;    /* offset of the first record */
};

/* 1 if the file open on fd is a classic pcap file of version 2.4 in this
 * host's byte order (what pcapfile_open() reads in place), with *out set
 * when out is not NULL; 0 otherwise. */
int pcapfile_classic(int fd, struct pcapfile_hdr *out);

/* A cursor over the file open on fd when it is a classic pcap file of
 * version 2.4 written in this host's byte order; NULL otherwise, and the
 * caller reads it through libpcap. snaplen is libpcap's pcap_snapshot() of
 * the file. fd stays the caller's and must stay open while pf is used.
 * Cursors of their own over one file may be used by different threads. */
struct pcapfile *pcapfile_open(int fd, int snaplen);

/* The next record: 1 with *h and *data set (valid until the next call),
 * 0 at a clean end of file, -1 when the file is damaged or shrank while
 * being read: pcapfile_error() then says how, in libpcap's words where
 * libpcap has them. */
int pcapfile_next(struct pcapfile *pf, struct pcap_pkthdr *h, const u8 **data);

const char *pcapfile_error(const struct pcapfile *pf);
u64 pcapfile_offset(const struct pcapfile *pf); /* bytes consumed so far */

/* Classic pcap: the next record is the one at file offset off, which must
 * be a record boundary (a pcapfile_offset() of another cursor over the same
 * file). Frame numbers go on from where they were. */
void pcapfile_seek(struct pcapfile *pf, u64 off);

/* pcapng (draft-ietf-opsawg-pcapng). Interfaces are numbered across the
 * file in the order of their Interface Description Blocks, sections
 * included, as Wireshark's frame.interface_id. */
#define PCAPNG_IF_MAX 1024 /* interfaces of one file */
#define PCAPNG_NAME_MAX 64

struct pcapng_if {
	int linktype;        /* LINKTYPE_* as written */
	u32 snaplen;         /* 0: none */
	u64 units;           /* time stamp units per second (if_tsresol) */
	i64 tsoffset;        /* seconds added to every time stamp (if_tsoffset) */
	char name[PCAPNG_NAME_MAX];  /* if_name, "" when absent (raw bytes) */
	char descr[PCAPNG_NAME_MAX]; /* if_description, cut */
	u64 ifdrop, osdrop;  /* the last Interface Statistics Block's counters */
	u8 has_ifdrop, has_osdrop;
	u8 claimed;          /* a cursor of its own reads this interface */
	u32 local;           /* its index in its section (Wireshark's frame.interface_id) */
};

/* What every cursor of one file shares: its interfaces, filled as the
 * cursors meet their description blocks. */
struct pcapng_ifs {
	u32 n;
	struct pcapng_if v[PCAPNG_IF_MAX];
};

/* 1 if the file open on fd starts with a pcapng Section Header Block. */
int pcapng_detect(int fd);

/* A cursor over the pcapng file open on fd (a regular file; fd stays the
 * caller's). It walks every block, counts every packet block as a frame,
 * and hands out the packets of interface `only`, or with only = -1 of
 * every interface no other cursor claimed (see pcapng_if.claimed), or
 * with only = -2 of every interface whatever claims them. Several
 * cursors over one file, one per interface, merge dumpcap's per-interface
 * bursts into time order without reading the file into memory. ifs is
 * shared and must outlive the cursor. NULL, with err, when the file does
 * not start with a Section Header Block panne can read. Cursors of their
 * own over one file may be used by different threads (ifs is then written
 * by each: ahead.c gives each thread its own). */
struct pcapfile *pcapng_open(int fd, struct pcapng_ifs *ifs, int only, char *err, size_t errlen);

/* For the last record pcapfile_next() returned: its frame number (1-based,
 * every packet block counted) and interface (0 for classic pcap). */
u32 pcapfile_frame(const struct pcapfile *pf);
u32 pcapfile_iface(const struct pcapfile *pf);

/* Unmaps; NULL is allowed. */
void pcapfile_close(struct pcapfile *pf);

#endif
