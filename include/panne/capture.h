/* \summary: packet sources: pcap/pcapng files (and stdin) through libpcap,
 * each packet handed out with its file index and Wireshark frame number. */
#ifndef PANNE_CAPTURE_H
#define PANNE_CAPTURE_H

#include "panne/types.h"

/* One captured packet, valid only during the callback. */
struct cap_pkt {
	const u8 *data; /* caplen bytes */
	u32 caplen;     /* bytes captured */
	u32 len;        /* bytes on the wire */
	u64 ts_us;      /* capture time, us since the epoch */
	int linktype;   /* DLT_* of the source */
	u32 frame;      /* 1-based, per file, as Wireshark's frame.number */
	u16 file;       /* index of the input (order of -r options) */
};

typedef void (*cap_cb)(void *user, const struct cap_pkt *pk);

struct cap_src;

/* Opens a capture file ("-" is stdin) and compiles bpf (may be NULL) on it.
 * On failure returns NULL with a message naming the file in err. */
struct cap_src *cap_open_file(const char *path, u16 file_idx, const char *bpf,
                              char *err, size_t errlen);

/* Reads every packet, calling cb for each that passes the filter.
 * Returns 0 at a clean end of file, 1 if the file is damaged (truncated
 * record, bad record header): cap_error() then says where. */
int cap_run(struct cap_src *s, cap_cb cb, void *user);

/* The damage message, e.g. "x.pcap: frame 12: truncated record (...)", or "". */
const char *cap_error(const struct cap_src *s);
const char *cap_path(const struct cap_src *s);
u64 cap_packets(const struct cap_src *s); /* records read, filtered or not */
u64 cap_bytes(const struct cap_src *s);   /* their wire lengths */
int cap_linktype(const struct cap_src *s);

/* Closes s; NULL is allowed. */
void cap_close(struct cap_src *s);

#endif
