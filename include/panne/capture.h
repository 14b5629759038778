/* \summary: packet sources: pcap/pcapng files (and stdin) through libpcap,
 * each packet handed out with its file index and Wireshark frame number. */
#ifndef PANNE_CAPTURE_H
#define PANNE_CAPTURE_H

#include <stdio.h>
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
	u16 iface;      /* pcapng: interface (frame.interface_id); else 0 */
	u16 side;       /* the gateway side it was seen on: 0 the analysed one (LAN),
	                 * others only paired with it (twins.h): the -i or --merge index,
	                 * or a pcapng gateway's far interfaces */
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

/* Reads several files side by side in time order, as one capture made on
 * several interfaces; each packet keeps its own file's frame number.
 * Returns 0, or 1 if a file is damaged (that file stops, the others go on;
 * cap_error() of each says where). */
int cap_run_merged(struct cap_src **srcs, size_t n, cap_cb cb, void *user);

/* The damage message, e.g. "x.pcap: frame 12: truncated record (...)", or "". */
const char *cap_error(const struct cap_src *s);
const char *cap_path(const struct cap_src *s);
u64 cap_packets(const struct cap_src *s); /* records read, filtered or not */
u64 cap_bytes(const struct cap_src *s);   /* their wire lengths */
int cap_linktype(const struct cap_src *s);

/* Opens interface iface ("any" allowed) for live capture: snaplen large
 * enough for certificates, a large kernel buffer, immediate mode off, bpf
 * applied. Needs root (or CAP_NET_RAW); on failure NULL with err. */
struct cap_src *cap_open_live(const char *iface, u16 idx, const char *bpf, char *err,
                              size_t errlen);

/* Reads every live source until *stop is set or count packets were read
 * (0: no limit), calling cb per packet and tick(user, now_us) about every
 * tick_us of wall time, packets or not. Returns 0, or -1 with cap_error(). */
int cap_live_loop(struct cap_src **srcs, size_t n, cap_cb cb, void *user,
                  void (*tick)(void *user, u64 now_us), u64 tick_us,
                  volatile int *stop, u64 count);
/* Live, for a caller with its own loop (probe): waits at most wait_ms for
 * packets of s, then hands every packet ready to cb. Returns how many, or
 * -1 with cap_error(). */
int cap_live_drain(struct cap_src *s, cap_cb cb, void *user, int wait_ms);
/* Live: keeps a copy of every packet read from s in tmp (a temporary file
 * opened by the caller before privileges were dropped), so that the
 * evidence can be written at the end; at most max_bytes of records, then it
 * stops keeping and says so on standard error. Returns 0, or -1. */
int cap_keep(struct cap_src *s, FILE *tmp, u64 max_bytes);
/* The kept copy, flushed and ready to read from its start (a new stream
 * the caller closes), or NULL. */
FILE *cap_kept(struct cap_src *s);

/* A pcap file written packet by packet (probe -w: the probe's own
 * packets, numbered as its findings cite them). Takes ownership of fp,
 * opened by the caller; NULL with err on failure. */
struct cap_writer;
struct cap_writer *cap_writer_open(FILE *fp, int linktype, char *err, size_t errlen);
void cap_writer_put(struct cap_writer *w, const struct cap_pkt *pk);
void cap_writer_close(struct cap_writer *w); /* flushes and closes; NULL allowed */

/* Kernel drops of a live source so far (pcap_stats); for a pcapng file
 * what its Interface Statistics Blocks say was lost (isb_ifdrop +
 * isb_osdrop, the last of each interface); 0 for other files. */
u64 cap_dropped(const struct cap_src *s);

/* pcapng: interfaces described in the file, and those that carry packets
 * among the first ones (1 for other inputs); cursors reading it. */
u32 cap_interfaces(const struct cap_src *s);
u32 cap_active_interfaces(const struct cap_src *s);
/* An interface's index within its section, as Wireshark's frame.interface_id. */
u32 cap_iface_local(const struct cap_src *s, u32 iface);
/* The k-th of them (k < MIN(cap_active_interfaces, 16)), by index. */
u32 cap_active_interface(const struct cap_src *s, u32 k);
/* The interface of each of frames (ascending) into out, by a new pass over
 * the file's blocks: UINT32_MAX for a frame not found, 0 for every frame
 * of a file that is not pcapng. */
void cap_frames_iface(struct cap_src *s, const u32 *frames, size_t n, u32 *out);
int cap_cursors(const struct cap_src *s);
/* An interface's if_name (escaped), or its index when it has none. */
const char *cap_iface_name(const struct cap_src *s, u32 iface, char *buf, size_t len);
/* 1 if the file's interfaces are one gateway's sides: --inside named one,
 * or its first packets show the same opening packets (SYN ISN and
 * destination, DNS query) on two interfaces. *inside: the analysed (LAN)
 * interface: --inside, else the one whose private sources open
 * connections toward public servers, else the first with packets; *why
 * says which rule chose it. */
int cap_gateway(const struct cap_src *s, u32 *inside, const char **why);

/* Closes s; NULL is allowed. */
void cap_close(struct cap_src *s);

#endif
