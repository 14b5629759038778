/* \summary: classic pcap files read in place: the file is mapped and each
 * record is handed out where it lies, with libpcap's checks and messages.
 * libpcap copies every record twice (kernel to stdio, stdio to its buffer);
 * on a file in the page cache those copies cost more than all of panne's
 * analysis (bench/README.md). Everything else (pcapng, pipes, other byte
 * orders and versions, BPF) stays with libpcap. */
#ifndef PANNE_PCAPFILE_H
#define PANNE_PCAPFILE_H

#include <pcap/pcap.h>
#include "panne/types.h"

struct pcapfile;

/* Maps the file open on fd when it is a classic pcap file of version 2.4
 * written in this host's byte order and mapping works; NULL otherwise, and
 * the caller reads it through libpcap. libpcap must already have accepted
 * the file's header: snaplen is pcap_snapshot() of it. fd stays the
 * caller's and must stay open while pf is used (windows are mapped from
 * it as the reading goes). The first call installs a SIGBUS handler for
 * files that shrink under their mapping. One thread reads files: the
 * table of mappings the handler looks at has no lock. */
struct pcapfile *pcapfile_open(int fd, int snaplen);

/* The next record: 1 with *h and *data set (valid until the next call),
 * 0 at a clean end of file, -1 when the file is damaged or shrank while
 * being read: pcapfile_error() then says how, in libpcap's words where
 * libpcap has them. */
int pcapfile_next(struct pcapfile *pf, struct pcap_pkthdr *h, const u8 **data);

const char *pcapfile_error(const struct pcapfile *pf);
u64 pcapfile_offset(const struct pcapfile *pf); /* bytes consumed so far */

/* Unmaps; NULL is allowed. */
void pcapfile_close(struct pcapfile *pf);

#endif
